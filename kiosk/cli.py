"""``python run.py``: serve the kiosk, and the shell commands that hang off it."""
from __future__ import annotations

import logging
import signal
from contextlib import contextmanager
from pathlib import Path

import click

from .store import Store, StoreLocked

DATA_OPTION = click.option("--data", "data_dir", default="data", show_default=True,
                           type=click.Path(file_okay=False, path_type=Path),
                           help="The kiosk's data folder.")


@contextmanager
def opened_store(data_dir: Path):
    """Open the store of ``data_dir`` for a shell command, with a clear message if busy."""
    try:
        store = Store(data_dir)
    except StoreLocked as exc:
        raise click.ClickException(str(exc)) from None
    try:
        yield store
    finally:
        store.close()


def _stop(signum, frame):
    raise KeyboardInterrupt


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
def cli(ctx: click.Context, host: str, port: int, data_dir: Path, threads: int,
        hq_url: str | None, site_id: str | None, hq_key_id: str | None, hq_key: str | None):
    """Serve the FrontDesk kiosk (without a command), or manage it (with one)."""
    if ctx.invoked_subcommand is not None:
        return
    from . import create_app

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


def serve(app, host: str, port: int, threads: int, label: str, close) -> None:
    """Serve ``app`` with waitress until Ctrl-C or SIGTERM, then ``close()`` what it holds."""
    from waitress import create_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = create_server(app, host=host, port=port, threads=threads)
    signal.signal(signal.SIGTERM, _stop)
    click.echo(f"{label} on http://{host}:{server.effective_port}/ "
               f"(data: {app.config['DATA_DIR']}); Ctrl-C stops it")
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        server.close()
        close()
        click.echo("stopped")


def register_commands(group: click.Group) -> None:
    """Attach every feature's commands to the root group."""
    from sync.cli import sync_cli
    from sync.hq.cli import hq_cli

    from .locations.cli import locations_cli
    from .staff.cli import staff_cli
    from .store_cli import verify_cli

    group.add_command(locations_cli)
    group.add_command(staff_cli)
    group.add_command(sync_cli)
    group.add_command(hq_cli)
    group.add_command(verify_cli)
