"""``python run.py locations ...``: manage the site's locations from the shell."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from ..shell import DATA_OPTION, opened_store
from . import service


@click.group("locations")
def locations_cli():
    """Manage the site's buildings and places."""


@locations_cli.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@DATA_OPTION
def import_command(csv_file: Path, data_dir: Path):
    """Import places from CSV_FILE (header: code,name_zh,name_en,building)."""
    try:
        rows = service.parse_csv(csv_file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise click.ClickException(f"{csv_file} is not UTF-8 text") from None
    except service.BadCSV as exc:
        for line, problem in exc.problems:
            click.echo(f"{csv_file}:{line}: {problem}", err=True)
        raise click.ClickException("nothing was imported") from None
    with opened_store(data_dir) as store:
        count = service.import_rows(store, rows, datetime.now(timezone.utc))
    click.echo(f"imported {count} location(s) into {data_dir}")


@locations_cli.command("list")
@DATA_OPTION
def list_command(data_dir: Path):
    """List the active places."""
    with opened_store(data_dir) as store:
        for loc in store.locations():
            demo = "  (demo)" if loc.get("demo") else ""
            click.echo(f"{loc['code']}\t{loc['name_zh']}\t{loc.get('name_en') or ''}{demo}")
