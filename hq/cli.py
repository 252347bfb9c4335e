"""``python run.py hq``: serve HQ, and manage its sites' keys and dashboard accounts.

``hq`` alone serves (waitress, 127.0.0.1:8090, data in ./hq-data); ``hq site ...`` and
``hq admin ...`` work on the same data folder (``hq --data X site list`` or
``hq site list --data X``). SQLite lets them run while the server runs. ``--database
postgresql://...`` (or ``HQ_DATABASE_URL``) puts HQ's database on PostgreSQL instead, for
the server and every command; ``hq migrate`` applies its pending schema versions.
"""
from __future__ import annotations

import json
import re
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import click

from common.files import atomic_write
from common.pins import PinHasher
from common.serve import serve
from common.shell import pin_option
from sync.protocol import new_key

from . import create_hq_app
from .accounts import PIN_LENGTHS, AccountError, add_account, set_pin
from .database import is_postgres, open_store
from .database import migrate as migrate_database
from .chain import verify_site_chain
from .storage import SiteExists, UnknownSite
from .transfer import TransferError, copy, export, import_file

DEFAULT_DATA = Path("hq-data")
SITE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
DATA_OPTION = click.option("--data", "data_dir", default=None,
                           type=click.Path(file_okay=False, path_type=Path),
                           help="HQ's data folder (default: the hq group's --data, ./hq-data).")
DATABASE_HELP = "PostgreSQL URL (postgresql://...) of HQ's database; SQLite in --data if none."


def _where(data_dir: Path | None, url: str | None = None) -> tuple[Path, str | None]:
    """HQ's database for a shell command: this command's --database or --data, else the
    group's."""
    meta = click.get_current_context().meta
    return (data_dir or meta.get("hq_data_dir") or DEFAULT_DATA,
            url or meta.get("hq_database_url"))


@contextmanager
def opened_store(data_dir: Path | None, url: str | None = None):
    """Open HQ's store for a shell command (see ``_where``)."""
    store = open_store(*_where(data_dir, url))
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
@click.option("--database", "database_url", default=None, envvar="HQ_DATABASE_URL",
              help=DATABASE_HELP + " [env: HQ_DATABASE_URL]")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--silent-minutes", default=None, type=click.IntRange(1, 7 * 24 * 60),
              help="Show a site offline after this many minutes without contact "
                   "[default: 15, or HQ_SILENT_MINUTES].")
@click.pass_context
def hq_cli(ctx: click.Context, host: str, port: int, data_dir: Path, database_url: str | None,
           threads: int, silent_minutes: int | None):
    """Serve HQ (without a command), or manage its sites and accounts (with one)."""
    ctx.meta["hq_data_dir"] = data_dir
    ctx.meta["hq_database_url"] = database_url
    if ctx.invoked_subcommand is not None:
        return
    given = {"SILENT_MINUTES": silent_minutes} if silent_minutes is not None else {}
    app = create_hq_app({"DATA_DIR": str(data_dir), "DATABASE_URL": database_url,
                         "DB_POOL_SIZE": threads, **given})
    serve(app, host, port, threads, "FrontDesk HQ", app.extensions["hq_store"].close)


@hq_cli.group("site")
def site_cli():
    """Manage the sites that push to HQ and their keys."""


def _print_key(site_id: str, key_id: str, secret: str) -> None:
    click.echo(f"key_id: {key_id}\nsecret: {secret}\n"
               f"Configure the kiosk of {site_id} with --site-id {site_id} --hq-key-id {key_id} "
               f"--hq-key <secret>. The secret is shown only this once.")


KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
KEY_OPTIONS = (
    click.option("--key-id", default=None,
                 help="Restore a kept key: its key id (with --key-secret-stdin)."),
    click.option("--key-secret-stdin", is_flag=True,
                 help="Read the kept key's secret from the first line of stdin (never "
                      "from the command line, which shell history and ps would show)."),
)


def _key_options(command):
    for option in reversed(KEY_OPTIONS):
        command = option(command)
    return command


def _kept_key(store, site_id: str, key_id: str | None, from_stdin: bool) -> tuple[str, str] | None:
    """Return the kept ``(key_id, secret)`` to restore, or None for a new key."""
    if key_id is None and not from_stdin:
        return None
    if key_id is None or not from_stdin:
        raise click.UsageError("restoring a key needs both --key-id and --key-secret-stdin")
    if not KEY_ID.fullmatch(key_id):
        raise click.BadParameter("1-64 letters, digits, '.', '_' or '-'", param_hint="--key-id")
    secret = sys.stdin.readline().strip()
    if not (32 <= len(secret) <= 256 and secret.isprintable() and " " not in secret):
        raise click.ClickException("the secret on stdin must be the kept key's secret: "
                                   "32-256 characters without spaces")
    held = store.key(key_id)
    if held is not None and held["site_id"] != site_id:
        raise click.ClickException(f"key id {key_id} is site {held['site_id']}'s")
    return key_id, secret


@site_cli.command("add")
@click.argument("site_id")
@click.option("--name", required=True, help="The site's name, shown on the dashboard.")
@_key_options
@DATA_OPTION
def site_add(site_id: str, name: str, key_id: str | None, key_secret_stdin: bool,
             data_dir: Path | None):
    """Register SITE_ID and print its new key id and secret (once).

    After HQ's database was lost, restore the site with the key its kiosk still has:
    ``--key-id K --key-secret-stdin`` (the secret on stdin); the kiosk needs no change.
    """
    name = " ".join(name.split())
    if not SITE_ID.fullmatch(site_id):
        raise click.BadParameter("1-64 letters, digits, '.', '_' or '-'", param_hint="SITE_ID")
    if not name or len(name) > 80:
        raise click.BadParameter("1-80 characters", param_hint="--name")
    with opened_store(data_dir) as store:
        kept = _kept_key(store, site_id, key_id, key_secret_stdin)
        key_id, secret = kept or new_key()
        try:
            store.add_site(site_id, name, key_id, secret, datetime.now(timezone.utc))
        except SiteExists:
            raise click.ClickException(f"site {site_id} exists; `hq site rekey {site_id}` "
                                       f"gives it a new key") from None
    click.echo(f"added site {site_id} ({name})")
    if kept:
        click.echo(f"with the kept key {key_id}: its kiosk syncs again as it is set up")
    else:
        _print_key(site_id, key_id, secret)


@site_cli.command("rekey")
@click.argument("site_id")
@_key_options
@DATA_OPTION
def site_rekey(site_id: str, key_id: str | None, key_secret_stdin: bool,
               data_dir: Path | None):
    """Give SITE_ID a new key (also after a revoke); the old key stops working.

    With ``--key-id K --key-secret-stdin`` it takes that kept key instead of a new one.
    """
    with opened_store(data_dir) as store:
        kept = _kept_key(store, site_id, key_id, key_secret_stdin)
        key_id, secret = kept or new_key()
        try:
            store.rekey_site(site_id, key_id, secret)
        except UnknownSite:
            raise click.ClickException(f"no site {site_id}") from None
    if kept:
        click.echo(f"site {site_id} uses the kept key {key_id} again")
    else:
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


@hq_cli.command("verify")
@DATA_OPTION
def verify(data_dir: Path | None):
    """Re-check every site's stored hash chain: seq, content hash and link of each event.

    Prints one line per site; exits 1 if any chain does not verify.
    """
    broken = []
    with opened_store(data_dir) as store:
        for site in store.sites():
            problems = verify_site_chain(store, site["site_id"])
            click.echo(f"{site['site_id']}\t" + ("verified" if not problems else
                       f"BROKEN at seq {problems[0][0]}: {problems[0][1]}"))
            broken += [site["site_id"]] if problems else []
    if broken:
        raise click.ClickException(f"the chains of {', '.join(broken)} do not verify")


KEYS_WARNING = ("{file} holds the secret key of every site: keep it offline and private, "
                "like a password (anyone with it can push records as those sites).")


@site_cli.command("export-keys")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@DATA_OPTION
def site_export_keys(file: Path, data_dir: Path | None):
    """Back up every site's key into FILE (mode 0600), for `import-keys` after a loss."""
    with opened_store(data_dir) as store:
        sites = [{"site_id": s["site_id"], "name": s["name"], "key_id": s["key_id"],
                  "secret": store.key(s["key_id"])["secret"], "revoked": bool(s["revoked"])}
                 for s in store.sites()]
    atomic_write(file, json.dumps({"frontdesk_hq_keys": 1, "sites": sites}, indent=1,
                                  ensure_ascii=False).encode())
    click.echo(f"wrote the keys of {len(sites)} sites to {file}")
    click.echo("WARNING: " + KEYS_WARNING.format(file=file), err=True)


@site_cli.command("import-keys")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@DATA_OPTION
def site_import_keys(file: Path, data_dir: Path | None):
    """Restore the sites and keys of an `export-keys` FILE; sites HQ has are left as they are."""
    try:
        backup = json.loads(file.read_bytes())
        entries = backup["sites"]
        entries = [{k: e[k] for k in ("site_id", "name", "key_id", "secret", "revoked")}
                   for e in entries]
    except (ValueError, KeyError, TypeError):
        raise click.ClickException(f"{file} is not a key backup of `hq site export-keys`") \
            from None
    for e in entries:  # all checked before any is added
        if not (isinstance(e["site_id"], str) and SITE_ID.fullmatch(e["site_id"])
                and isinstance(e["key_id"], str) and KEY_ID.fullmatch(e["key_id"])
                and isinstance(e["secret"], str) and len(e["secret"]) >= 32
                and isinstance(e["name"], str) and e["name"]):
            raise click.ClickException(f"{file}: a malformed entry ({e['site_id']!r})")
    added, kept = 0, []
    with opened_store(data_dir) as store:
        for e in entries:
            held = store.key(e["key_id"])
            if held is not None or any(s["site_id"] == e["site_id"] for s in store.sites()):
                kept.append(e["site_id"])
                continue
            store.add_site(e["site_id"], e["name"][:80], e["key_id"], e["secret"],
                           datetime.now(timezone.utc))
            if e["revoked"]:
                store.revoke_site(e["site_id"])
            added += 1
    click.echo(f"restored {added} sites with their keys from {file}")
    if kept:
        click.echo(f"left as they are (HQ has them, or their key id): {', '.join(kept)}")


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
@pin_option(PIN_LENGTHS)
@DATA_OPTION
def admin_add(name: str, pin: str, data_dir: Path | None):
    """Add a dashboard account NAME with a PIN."""
    with opened_store(data_dir) as store:
        try:
            clean = add_account(store, PinHasher(), name, pin, datetime.now(timezone.utc))
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"added dashboard account {clean}")


@admin_cli.command("pin")
@click.argument("name")
@pin_option(PIN_LENGTHS, new=True)
@DATA_OPTION
def admin_pin(name: str, pin: str, data_dir: Path | None):
    """Set a new PIN for NAME; ends its sessions."""
    with opened_store(data_dir) as store:
        try:
            clean = set_pin(store, PinHasher(), name, pin)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"new PIN for dashboard account {clean}; its sessions are ended")


@hq_cli.command("migrate")
@click.option("--database", "database_url", default=None, help=DATABASE_HELP)
@DATA_OPTION
def migrate(database_url: str | None, data_dir: Path | None):
    """Apply the pending schema versions of HQ's database and print them (idempotent)."""
    folder, url = _where(data_dir, database_url)
    applied = migrate_database(folder, url)
    if not is_postgres(url):
        click.echo("SQLite: the schema is made when the database opens; nothing to apply")
        return
    for name in applied:
        click.echo(f"applied {name}")
    click.echo(f"{len(applied)} schema versions applied" if applied
               else "the schema is up to date: nothing to apply")


# -- moving a company's HQ to another database (SQLite to PostgreSQL) --------------------------
EXPORT_WARNING = ("{file} holds every site's secret key and every account's PIN hash, and "
                  "all records: keep it private like a password, and delete it after the move.")


def _report(sites: list[dict]) -> None:
    """Print what the target holds of each site; exit 1 if any chain does not verify."""
    for s in sites:
        click.echo(f"{s['site_id']}\t{s['events']} events\tlast seq {s['last_seq']}\t"
                   + ("verified" if s["verified"] else "NOT VERIFIED"))
    bad = [s["site_id"] for s in sites if not s["verified"]]
    if bad:
        raise click.ClickException(f"the chains of {', '.join(bad)} do not verify on the target")
    click.echo(f"moved {len(sites)} sites; every chain verified; the sites keep syncing "
               f"without resending")


@hq_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--database", "database_url", default=None, help=DATABASE_HELP)
@DATA_OPTION
def hq_export(file: Path, database_url: str | None, data_dir: Path | None):
    """Write the whole HQ into FILE (JSON lines, mode 0600), for `hq import` elsewhere.

    Every site with its key, every dashboard account, the alarms and every site's events
    in seq order. Stop HQ first, or sites pushing meanwhile resend what came after.
    """
    with opened_store(data_dir, database_url) as store:
        counts = export(store, file)
    click.echo(f"wrote {counts['site']} sites, {counts['admin']} accounts, {counts['alarm']} "
               f"alarms and {counts['event']} events to {file}")
    click.echo("WARNING: " + EXPORT_WARNING.format(file=file), err=True)


@hq_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--database", "database_url", default=None, help=DATABASE_HELP)
@DATA_OPTION
def hq_import(file: Path, database_url: str | None, data_dir: Path | None):
    """Fill an EMPTY HQ database from an `hq export` FILE, verifying every chain.

    The file is checked whole first (nothing is written if a chain does not verify);
    then the HQ's epoch, sites, keys, accounts, alarms and events go in, and every
    site's chain is verified on the target.
    """
    with opened_store(data_dir, database_url) as store:
        try:
            sites = import_file(store, file, progress=click.echo)
        except TransferError as exc:
            raise click.ClickException(str(exc)) from None
    _report(sites)


@hq_cli.command("copy")
@click.option("--from-data", "from_data", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The data folder of the SQLite HQ to move.")
@click.option("--to-database", "to_url", required=True,
              help="PostgreSQL URL of the EMPTY database to move it into.")
def hq_copy(from_data: Path, to_url: str):
    """Move the SQLite HQ in --from-data into the empty PostgreSQL --to-database: an export
    into a private temporary file, then its import, verifying every chain."""
    if not is_postgres(to_url):
        raise click.BadParameter("a postgresql:// URL", param_hint="--to-database")
    source = open_store(from_data)  # SQLite, whatever the group's --database says
    try:
        with opened_store(None, to_url) as target:
            sites = copy(source, target, progress=click.echo)
    except TransferError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        source.close()
    _report(sites)
