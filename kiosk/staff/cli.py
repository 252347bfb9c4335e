"""``python run.py staff ...``: manage the staff accounts from the shell."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import click

from common.shell import pin_option
from common.validation import ValidationError

from ..shell import DATA_OPTION, opened_store
from ..tickets.rules import ROLES
from .accounts import PIN_LENGTHS, StaffDirectory

#: The signature of every change made from the shell (R8).
CLI_ACTOR = {"role": "system", "id": "cli", "name": "shell"}


@contextmanager
def opened_directory(data_dir: Path):
    """Open the staff directory of ``data_dir``; a refused change ends the command with
    the reasons, in English."""
    with opened_store(data_dir) as store:
        directory = StaffDirectory(store.folder / "staff.json", store)
        try:
            yield directory
        except ValidationError as exc:
            raise click.ClickException("; ".join(f"{field}: {msg.english()}"
                                                 for field, msg in exc.errors.items())) from None
        finally:
            directory.close()


@click.group("staff")
def staff_cli():
    """Manage the staff accounts that sign in to the console."""


@staff_cli.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the person does.")
@pin_option(PIN_LENGTHS)
@DATA_OPTION
def add_command(name: str, role: str, pin: str, data_dir: Path):
    """Add a staff member NAME with a role and a PIN."""
    with opened_directory(data_dir) as directory:
        staff = directory.add(name, role, pin, actor=CLI_ACTOR, now=datetime.now(timezone.utc))
    click.echo(f"added {staff['name']} ({staff['role']})")


@staff_cli.command("list")
@DATA_OPTION
def list_command(data_dir: Path):
    """List the staff: name, role, active or disabled."""
    with opened_directory(data_dir) as directory:
        accounts = directory.all()
    if not accounts:
        click.echo("no staff yet: add one with `staff add NAME --role manager`")
    for staff in accounts:
        click.echo(f"{staff['name']}\t{staff['role']}\t"
                   f"{'active' if staff['active'] else 'disabled'}")


@staff_cli.command("disable")
@click.argument("name")
@DATA_OPTION
def disable_command(name: str, data_dir: Path):
    """Stop NAME from signing in; their records keep the name."""
    with opened_directory(data_dir) as directory:
        staff = directory.disable(name, actor=CLI_ACTOR, now=datetime.now(timezone.utc))
    click.echo(f"disabled {staff['name']}")


@staff_cli.command("pin")
@click.argument("name")
@pin_option(PIN_LENGTHS, new=True)
@DATA_OPTION
def pin_command(name: str, pin: str, data_dir: Path):
    """Give NAME a new PIN; this signs them out on every device."""
    with opened_directory(data_dir) as directory:
        staff = directory.set_pin(name, pin, actor=CLI_ACTOR, now=datetime.now(timezone.utc))
    click.echo(f"new PIN for {staff['name']}; their sessions are ended")
