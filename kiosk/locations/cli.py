"""``python run.py locations ...``: manage the site's locations from the shell.

``list`` reads a snapshot (no lock, nothing written), so it works while the server
runs; ``import`` changes data, so while the server runs it says where the console
imports the same file (``kiosk.shell``).
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from common.messages import N_

from ..shell import DATA_OPTION, ConsoleWay, changing_data, opened_store
from ..snapshot import Snapshot, Unreadable
from . import service

IMPORT_IN_CONSOLE = ConsoleWay(
    N_("Import the file in the console: sign in as front-desk staff, open %(menu)s, and "
       "choose the file under \"Import from a CSV file\"."),
    (N_("More"), N_("Places")), "/staff/places")


@click.group("locations")
def locations_cli():
    """Manage the site's buildings and places."""


@locations_cli.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@changing_data(IMPORT_IN_CONSOLE)
def import_command(csv_file: Path, data_dir: Path):
    """Import places from CSV_FILE (header: code,name_zh,name_en,building).

    While the kiosk runs, says where the console imports it instead (exit 1).
    """
    try:
        rows = service.parse_csv(csv_file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise click.ClickException(f"{csv_file} is not UTF-8 text") from None
    except service.BadCSV as exc:
        for line, problem in exc.problems:
            click.echo(f"{csv_file}:{line}: {problem}", err=True)
        raise click.ClickException("nothing was imported") from None
    with opened_store(data_dir, IMPORT_IN_CONSOLE) as store:
        count = service.import_rows(store, rows, datetime.now(timezone.utc))
    click.echo(f"imported {count} location(s) into {data_dir}")


@locations_cli.command("list")
@DATA_OPTION
def list_command(data_dir: Path):
    """List the active places (also while the server runs; writes nothing)."""
    try:
        places = Snapshot(data_dir).locations()
    except Unreadable as exc:
        raise click.ClickException(str(exc)) from None
    for loc in places:
        demo = "  (demo)" if loc.get("demo") else ""
        click.echo(f"{loc['code']}\t{loc['name_zh']}\t{loc.get('name_en') or ''}{demo}")
