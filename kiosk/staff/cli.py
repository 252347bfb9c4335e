"""``python run.py staff ...``: manage the staff accounts from the shell."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from common.validation import ValidationError

from ..shell import DATA_OPTION, opened_store
from ..tickets.rules import ROLES
from .accounts import StaffDirectory

#: The signature of every change made from the shell (R8).
CLI_ACTOR = {"role": "system", "id": "cli", "name": "shell"}


def _problem(exc: ValidationError) -> click.ClickException:
    return click.ClickException("; ".join(f"{field}: {msg.english()}"
                                          for field, msg in exc.errors.items()))


@click.group("staff")
def staff_cli():
    """Manage the staff accounts that sign in to the console."""


@staff_cli.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the person does.")
@click.option("--pin", prompt="PIN (4-8 digits)", hide_input=True, confirmation_prompt=True,
              help="4-8 digits; asked for (hidden) when left out, which keeps it out of "
                   "the shell history.")
@DATA_OPTION
def add_command(name: str, role: str, pin: str, data_dir: Path):
    """Add a staff member NAME with a role and a PIN."""
    with opened_store(data_dir) as store:
        directory = StaffDirectory(store.folder / "staff.json", store)
        try:
            staff = directory.add(name, role, pin, actor=CLI_ACTOR,
                                  now=datetime.now(timezone.utc))
        except ValidationError as exc:
            raise _problem(exc) from None
        finally:
            directory.close()
    click.echo(f"added {staff['name']} ({staff['role']})")


@staff_cli.command("list")
@DATA_OPTION
def list_command(data_dir: Path):
    """List the staff: name, role, active or disabled."""
    with opened_store(data_dir) as store:
        directory = StaffDirectory(store.folder / "staff.json", store)
        try:
            accounts = directory.all()
        finally:
            directory.close()
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
    with opened_store(data_dir) as store:
        directory = StaffDirectory(store.folder / "staff.json", store)
        try:
            staff = directory.disable(name, actor=CLI_ACTOR, now=datetime.now(timezone.utc))
        except ValidationError as exc:
            raise _problem(exc) from None
        finally:
            directory.close()
    click.echo(f"disabled {staff['name']}")
