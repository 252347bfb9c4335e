"""``python run.py hq``: serve HQ, and manage its sites' keys and dashboard accounts.

``hq`` alone serves (waitress, 127.0.0.1:8090, data in ./hq-data); ``hq site ...`` and
``hq admin ...`` work on the same data folder (``hq --data X site list`` or
``hq site list --data X``). SQLite lets them run while the server runs.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import click

from common.pins import PinHasher
from common.serve import serve
from sync.protocol import new_key

from . import create_hq_app
from .auth import AccountError, add_account
from .database import open_store
from .storage import SiteExists, UnknownSite

DEFAULT_DATA = Path("hq-data")
SITE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
DATA_OPTION = click.option("--data", "data_dir", default=None,
                           type=click.Path(file_okay=False, path_type=Path),
                           help="HQ's data folder (default: the hq group's --data, ./hq-data).")


@contextmanager
def opened_store(data_dir: Path | None):
    """Open HQ's store for a shell command: this command's --data, else the group's."""
    folder = data_dir or click.get_current_context().meta.get("hq_data_dir") or DEFAULT_DATA
    store = open_store(folder)
    try:
        yield store
    finally:
        store.close()


@click.group("hq", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8090, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--data", "data_dir", default=str(DEFAULT_DATA), show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="HQ's data folder.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.pass_context
def hq_cli(ctx: click.Context, host: str, port: int, data_dir: Path, threads: int):
    """Serve HQ (without a command), or manage its sites and accounts (with one)."""
    ctx.meta["hq_data_dir"] = data_dir
    if ctx.invoked_subcommand is not None:
        return
    app = create_hq_app({"DATA_DIR": str(data_dir)})
    serve(app, host, port, threads, "FrontDesk HQ", app.extensions["hq_store"].close)


@hq_cli.group("site")
def site_cli():
    """Manage the sites that push to HQ and their keys."""


def _print_key(site_id: str, key_id: str, secret: str) -> None:
    click.echo(f"key_id: {key_id}\nsecret: {secret}\n"
               f"Configure the kiosk of {site_id} with --site-id {site_id} --hq-key-id {key_id} "
               f"--hq-key <secret>. The secret is shown only this once.")


@site_cli.command("add")
@click.argument("site_id")
@click.option("--name", required=True, help="The site's name, shown on the dashboard.")
@DATA_OPTION
def site_add(site_id: str, name: str, data_dir: Path | None):
    """Register SITE_ID and print its new key id and secret (once)."""
    name = " ".join(name.split())
    if not SITE_ID.fullmatch(site_id):
        raise click.BadParameter("1-64 letters, digits, '.', '_' or '-'", param_hint="SITE_ID")
    if not name or len(name) > 80:
        raise click.BadParameter("1-80 characters", param_hint="--name")
    key_id, secret = new_key()
    with opened_store(data_dir) as store:
        try:
            store.add_site(site_id, name, key_id, secret, datetime.now(timezone.utc))
        except SiteExists:
            raise click.ClickException(f"site {site_id} exists; `hq site rekey {site_id}` "
                                       f"gives it a new key") from None
    click.echo(f"added site {site_id} ({name})")
    _print_key(site_id, key_id, secret)


@site_cli.command("rekey")
@click.argument("site_id")
@DATA_OPTION
def site_rekey(site_id: str, data_dir: Path | None):
    """Give SITE_ID a new key (also after a revoke); the old key stops working."""
    key_id, secret = new_key()
    with opened_store(data_dir) as store:
        try:
            store.rekey_site(site_id, key_id, secret)
        except UnknownSite:
            raise click.ClickException(f"no site {site_id}") from None
    click.echo(f"new key for site {site_id}")
    _print_key(site_id, key_id, secret)


@site_cli.command("list")
@DATA_OPTION
def site_list(data_dir: Path | None):
    """List the sites: id, name, key id, state, last contact, events (never secrets)."""
    with opened_store(data_dir) as store:
        sites = store.sites()
    if not sites:
        click.echo("no sites yet: add one with `hq site add SITE_ID --name NAME`")
    for s in sites:
        click.echo("\t".join([s["site_id"], s["name"], s["key_id"],
                              "revoked" if s["revoked"] else "active",
                              s["last_contact"] or "never", f"{s['events_received']} events"]))


@site_cli.command("revoke")
@click.argument("site_id")
@DATA_OPTION
def site_revoke(site_id: str, data_dir: Path | None):
    """Revoke SITE_ID's key: HQ refuses it from now on (403); its events stay."""
    with opened_store(data_dir) as store:
        try:
            store.revoke_site(site_id)
        except UnknownSite:
            raise click.ClickException(f"no site {site_id}") from None
    click.echo(f"revoked the key of site {site_id}")


@hq_cli.group("admin")
def admin_cli():
    """Manage the accounts that sign in to the HQ dashboard."""


@admin_cli.command("add")
@click.argument("name")
@click.option("--pin", prompt="PIN (6-12 digits)", hide_input=True, confirmation_prompt=True,
              help="6-12 digits; asked for (hidden) when left out, which keeps it out of "
                   "the shell history.")
@DATA_OPTION
def admin_add(name: str, pin: str, data_dir: Path | None):
    """Add a dashboard account NAME with a PIN."""
    with opened_store(data_dir) as store:
        try:
            clean = add_account(store, PinHasher(), name, pin, datetime.now(timezone.utc))
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"added dashboard account {clean}")
