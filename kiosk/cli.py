"""``python run.py``: serve the kiosk, and the kiosk's shell commands that hang off it.

``kiosk_cli`` is the kiosk's command group; ``frontdesk.cli`` adds HQ's group to it
and is what ``run.py`` runs.
"""
from __future__ import annotations

from pathlib import Path

import click

from common.netaddr import (is_http_url, is_loopback_url, listens_on_all, local_url,
                             public_base_url)
from common.serve import serve

from . import create_app
from .locations.cli import locations_cli
from .shell import DATA_OPTION
from .staff.cli import staff_cli
from .store import StoreLocked
from .store_cli import verify_cli
from .syncing.cli import sync_cli


def _check_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not is_http_url(value):
        raise click.BadParameter("give an http(s) address, e.g. http://192.168.1.20:8080")
    return value


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on: 0.0.0.0 (every interface) lets phones on the LAN "
                   "reach the kiosk; 127.0.0.1 only this machine.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@DATA_OPTION
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--public-url", metavar="URL", callback=_check_url,
              help="The address phones open, carried by every QR code, e.g. "
                   "http://192.168.1.20:8080 (or KIOSK_PUBLIC_BASE_URL). Default with --host "
                   "0.0.0.0: this machine's LAN address, detected.")
@click.option("--hq-url", help="Sync: the HQ server's address, e.g. https://hq.example.com.")
@click.option("--site-id", help="Sync: this site's id at HQ; must be the data folder's.")
@click.option("--hq-key-id", help="Sync: the key id HQ issued to this site.")
@click.option("--hq-key", help="Sync: the secret key HQ issued (prefer KIOSK_HQ_KEY or the "
                               "manager's console: a command line is visible to other users).")
@click.pass_context
def kiosk_cli(ctx: click.Context, host: str, port: int, data_dir: Path, threads: int,
              public_url: str | None, hq_url: str | None, site_id: str | None,
              hq_key_id: str | None, hq_key: str | None):
    """Serve the FrontDesk kiosk (without a command), or manage it (with one)."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        sync = {"HQ_URL": hq_url, "SITE_ID": site_id, "HQ_KEY_ID": hq_key_id, "HQ_KEY": hq_key,
                "PUBLIC_BASE_URL": public_url}
        app = create_app({"DATA_DIR": str(data_dir),
                          **{k: v for k, v in sync.items() if v is not None}})
    except (StoreLocked, ValueError) as exc:  # ValueError: --site-id is another site's
        raise click.ClickException(str(exc)) from None

    def close():
        app.extensions["sync_worker"].stop(timeout=2.0)
        app.extensions["kiosk_store"].close()

    configured = app.config.get("PUBLIC_BASE_URL")
    if configured and not (isinstance(configured, str) and is_http_url(configured)):
        close()
        raise click.ClickException(f"PUBLIC_BASE_URL (KIOSK_PUBLIC_BASE_URL or the data "
                                   f"folder's config.py) is not an http(s) address: "
                                   f"{configured!r}")
    # the address the QR codes carry: explicit, else the LAN's when listening on all
    app.config["PUBLIC_BASE_URL"] = public_base_url(configured, host, port)
    # where a shell command run meanwhile sends the user to make a change (kiosk.shell)
    app.extensions["kiosk_store"].announce(configured or local_url(host, port))
    click.echo(phones_line(app.config["PUBLIC_BASE_URL"], host, port))
    serve(app, host, port, threads, "FrontDesk kiosk", close)


def phones_line(base: str | None, host: str, port: int) -> str:
    """Say, on start, which address phones (and the QR codes) use, or why they cannot."""
    if base and not is_loopback_url(base):
        return f"Phones and QR codes use {base.rstrip('/')}/"
    if base:
        return (f"WARNING: the QR codes carry {base}, an address of this machine only: "
                f"phones cannot open it. Set --public-url to this machine's LAN address.")
    if listens_on_all(host):
        return (f"WARNING: this machine's LAN address was not found, so the QR codes carry "
                f"the address the browser uses. Give it: --public-url http://<LAN address>:{port}")
    return (f"WARNING: listening on {host} only: phones cannot reach the kiosk and the QR "
            f"codes carry a local address. For phones, start with --host 0.0.0.0 "
            f"(README: Put it on the front-desk tablet).")


for command in (locations_cli, staff_cli, sync_cli, verify_cli):
    kiosk_cli.add_command(command)
