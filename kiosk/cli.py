"""``python run.py``: serve the kiosk, and the kiosk's shell commands that hang off it.

``kiosk_cli`` is the kiosk's command group; ``frontdesk.cli`` adds HQ's group to it
and is what ``run.py`` runs.
"""
from __future__ import annotations

from pathlib import Path

import click

from common.serve import serve

from . import create_app
from .locations.cli import locations_cli
from .shell import DATA_OPTION
from .staff.cli import staff_cli
from .store import StoreLocked
from .store_cli import verify_cli
from .syncing.cli import sync_cli


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@DATA_OPTION
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--hq-url", help="Sync: the HQ server's address, e.g. https://hq.example.com.")
@click.option("--site-id", help="Sync: this site's id at HQ; must be the data folder's.")
@click.option("--hq-key-id", help="Sync: the key id HQ issued to this site.")
@click.option("--hq-key", help="Sync: the secret key HQ issued (prefer KIOSK_HQ_KEY or the "
                               "manager's console: a command line is visible to other users).")
@click.pass_context
def kiosk_cli(ctx: click.Context, host: str, port: int, data_dir: Path, threads: int,
              hq_url: str | None, site_id: str | None, hq_key_id: str | None,
              hq_key: str | None):
    """Serve the FrontDesk kiosk (without a command), or manage it (with one)."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        sync = {"HQ_URL": hq_url, "SITE_ID": site_id, "HQ_KEY_ID": hq_key_id, "HQ_KEY": hq_key}
        app = create_app({"DATA_DIR": str(data_dir),
                          **{k: v for k, v in sync.items() if v is not None}})
    except (StoreLocked, ValueError) as exc:  # ValueError: --site-id is another site's
        raise click.ClickException(str(exc)) from None

    def close():
        app.extensions["sync_worker"].stop(timeout=2.0)
        app.extensions["kiosk_store"].close()

    serve(app, host, port, threads, "FrontDesk kiosk", close)


for command in (locations_cli, staff_cli, sync_cli, verify_cli):
    kiosk_cli.add_command(command)
