"""``python run.py staff ...``: manage the staff accounts from the shell.

``list`` reads a snapshot (no lock, nothing written), so it works while the server runs;
``add``, ``disable`` and ``pin`` change data, so while the server runs they say where in
the console a manager does the same, before any PIN is asked for (``kiosk.shell`` says
why they do not go through the server).
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import click

from common.messages import N_
from common.shell import pin_option
from common.validation import ValidationError

from ..permissions import ROLES
from ..shell import DATA_OPTION, ConsoleWay, Way, changing_data, opened_store
from ..snapshot import Snapshot, Unreadable
from .accounts import PIN_LENGTHS, StaffDirectory

#: The signature of every change made from the shell (R8).
CLI_ACTOR = {"role": "system", "id": "cli", "name": "shell"}
#: While the server runs: where a manager makes each change in the console.
_TEAM = ((N_("More"), N_("Staff accounts")), "/staff/team")
ADD_IN_CONSOLE = ConsoleWay(N_("Add the staff member in the console: a manager signs in, "
                               "opens %(menu)s and fills in \"Add a staff member\"."), *_TEAM)
DISABLE_IN_CONSOLE = ConsoleWay(N_("Disable the account in the console: a manager signs in, "
                                   "opens %(menu)s and presses \"Disable\" on its row."), *_TEAM)
PIN_IN_CONSOLE = ConsoleWay(N_("Give the new PIN in the console: a manager signs in, opens "
                               "%(menu)s and fills in \"Set a new PIN\"."), *_TEAM)
SETUP_IN_CONSOLE = ConsoleWay(N_("No one can sign in yet: create the first manager on the "
                                 "console's one-time setup page (the %(menu)s link on the "
                                 "start screen)."), (N_("Staff"),), "/staff/setup")


def add_way(data_dir: Path) -> ConsoleWay:
    """Return where the console adds a staff member: the first-run setup while there is
    no account yet, else the staff accounts page."""
    try:
        return ADD_IN_CONSOLE if Snapshot(data_dir).staff() else SETUP_IN_CONSOLE
    except Unreadable:
        return SETUP_IN_CONSOLE


@contextmanager
def opened_directory(data_dir: Path, way: Way):
    """Open the staff directory of ``data_dir`` to change it (``way``: where the console
    does it while the server runs); a refused change ends the command with the reasons,
    in English."""
    with opened_store(data_dir, way) as store:
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
    """Manage the staff accounts that sign in to the console.

    While the kiosk runs, list works; add, disable and pin say where the console makes
    the change instead (exit 1).
    """


@staff_cli.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the person does.")
@pin_option(PIN_LENGTHS)
@changing_data(add_way)
def add_command(name: str, role: str, pin: str, data_dir: Path):
    """Add a staff member NAME with a role and a PIN."""
    with opened_directory(data_dir, add_way) as directory:
        staff = directory.add(name, role, pin, actor=CLI_ACTOR, now=datetime.now(timezone.utc))
    click.echo(f"added {staff['name']} ({staff['role']})")


@staff_cli.command("list")
@DATA_OPTION
def list_command(data_dir: Path):
    """List the staff: name, role, active or disabled (also while the server runs)."""
    try:
        accounts = Snapshot(data_dir).staff()
    except Unreadable as exc:
        raise click.ClickException(str(exc)) from None
    if not accounts:
        click.echo("no staff yet: add one with `staff add NAME --role manager`")
    for staff in accounts:
        click.echo(f"{staff['name']}\t{staff['role']}\t"
                   f"{'active' if staff['active'] else 'disabled'}")


@staff_cli.command("disable")
@click.argument("name")
@changing_data(DISABLE_IN_CONSOLE)
def disable_command(name: str, data_dir: Path):
    """Stop NAME from signing in; their records keep the name."""
    with opened_directory(data_dir, DISABLE_IN_CONSOLE) as directory:
        staff = directory.disable(name, actor=CLI_ACTOR, now=datetime.now(timezone.utc))
    click.echo(f"disabled {staff['name']}")


@staff_cli.command("pin")
@click.argument("name")
@pin_option(PIN_LENGTHS, new=True)
@changing_data(PIN_IN_CONSOLE)
def pin_command(name: str, pin: str, data_dir: Path):
    """Give NAME a new PIN; this signs them out on every device."""
    with opened_directory(data_dir, PIN_IN_CONSOLE) as directory:
        staff = directory.set_pin(name, pin, actor=CLI_ACTOR, now=datetime.now(timezone.utc))
    click.echo(f"new PIN for {staff['name']}; their sessions are ended")
