"""What the kiosk's shell commands share: the ``--data`` and ``--lang`` options, the
settings and language of the site, whether its server runs, and opening the store.

Reading commands never open the store (``kiosk.snapshot``), so they work while the server
runs. A command that changes data opens the store, which takes the data-folder lock;
while the server holds it, the command says where in the console the same change is
made, in the site's language, and exits 1 (``opened_store``'s ``way``).

Why the console, and not the running server on the shell's behalf: the console records
who made each change (a signed-in manager's name is on the audit event, R8), and the
server trusts nobody who has not signed in. A shell is not a signed-in manager; a local
door into the server that takes changes without a PIN would let anyone with a shell
account (or a process on the machine) add a manager unrecorded. The console is already
open on the desk, so the directions name the exact page.
"""
from __future__ import annotations

import fcntl
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import click
from babel import Locale, support
from flask import Config

from common.config import read_layers
from common.i18n import LANGUAGES, pick
from common.messages import N_

from .config import DEFAULTS
from .store import Store, StoreLocked

DATA_OPTION = click.option("--data", "data_dir", default="data", show_default=True,
                           type=click.Path(file_okay=False, path_type=Path),
                           help="The kiosk's data folder.")
LANG_OPTION = click.option("--lang", type=click.Choice(sorted(LANGUAGES)),
                           help="The language to answer in (default: the site's, "
                                "Simplified Chinese unless BABEL_DEFAULT_LOCALE says otherwise).")

RUNNING = N_("The front desk is running (process %(pid)s), so this change is made in the "
             "console.")
ADDRESS = N_("Address: %(url)s")


def site_config(data_dir: Path) -> Config:
    """Return the kiosk's settings as the server would see them, without writing anything."""
    config = Config(str(data_dir))
    read_layers(config, DEFAULTS, "KIOSK", data_dir)
    return config


def site_language(config: Config, chosen: str | None = None) -> str:
    """Return the language to answer in: ``chosen``, else the site's, as the console."""
    return pick(chosen, config.get("BABEL_DEFAULT_LOCALE"))


def translator(config: Config, language: str) -> Callable[..., str]:
    """Return ``gettext(msgid, **params)`` in ``language`` from the catalogs the server
    uses (``BABEL_TRANSLATION_DIRECTORIES``), outside any request."""
    catalog = support.Translations()
    for folder in str(config["BABEL_TRANSLATION_DIRECTORIES"]).split(";"):
        found = support.Translations.load(folder, [Locale.parse(language)])
        catalog.merge(found)
        if hasattr(found, "plural"):
            catalog.plural = found.plural

    def gettext(msgid: str, **params) -> str:
        text = catalog.gettext(msgid)
        return text % params if params else text

    return gettext


def _lock_lines(data_dir: Path) -> list[str] | None:
    """Return the lines of ``data_dir``'s lock file while a process holds the lock (its
    pid, and the console's address if it serves one: ``Store.announce``), or None if none
    does. Tested with a shared lock on a separate open of the lock file, released at once;
    nothing is created or written."""
    try:
        f = open(Path(data_dir) / ".lock", "rb")
    except FileNotFoundError:
        return None
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return f.read().decode(errors="replace").splitlines()
        fcntl.flock(f, fcntl.LOCK_UN)
        return None


def server_pid(data_dir: Path) -> str | None:
    """Return the pid of the process holding ``data_dir``'s lock ("?" if it did not
    write it), or None if none does."""
    lines = _lock_lines(data_dir)
    return None if lines is None else (lines[0].strip() if lines else "") or "?"


def served_at(data_dir: Path) -> str | None:
    """Return the console's address the server holding ``data_dir``'s lock announced, or
    None (no server, or a shell command holds the lock)."""
    lines = _lock_lines(data_dir) or []
    return lines[1].strip().rstrip("/") or None if len(lines) > 1 else None


@dataclass(frozen=True)
class ConsoleWay:
    """Where in the console a change is made while the server runs: ``text`` (a msgid
    with ``%(menu)s``), the menu labels to tap in order (msgids), and the page's path."""

    text: str
    menu: tuple[str, ...]
    path: str


#: A command's way, or a function of the data folder that returns it.
Way = ConsoleWay | Callable[[Path], ConsoleWay]


class InConsole(click.ClickException):
    """The server runs: the directions to the console, shown as they are (no "Error:")."""

    def show(self, file=None) -> None:
        click.echo(self.message, err=True)


def directions(data_dir: Path, pid: str, way: Way) -> str:
    """Return, in the site's language, why the command stops and where to go instead."""
    way = way(data_dir) if callable(way) else way
    config = site_config(data_dir)
    _ = translator(config, site_language(config))
    menu = " → ".join(_(label) for label in way.menu)
    lines = [_(RUNNING, pid=pid), _(way.text, menu=menu)]
    base = served_at(data_dir)
    if base:
        lines.append(_(ADDRESS, url=base + way.path))
    return "\n".join(lines)


def changing_data(way: Way):
    """Return the ``--data`` option of a command that changes data: checked before the
    other options (a PIN is not asked for in vain), it ends the command with the
    directions to ``way`` while the server runs."""
    def refuse_while_served(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
        pid = server_pid(value)
        if pid:
            raise InConsole(directions(value, pid, way))
        return value

    return click.option("--data", "data_dir", default="data", show_default=True,
                        type=click.Path(file_okay=False, path_type=Path), is_eager=True,
                        callback=refuse_while_served, help="The kiosk's data folder.")


@contextmanager
def opened_store(data_dir: Path, way: Way):
    """Open the store of ``data_dir`` for a shell command that changes data; while the
    server runs, end with the directions to do it in the console (``way``), exit 1."""
    try:
        store = Store(data_dir)
    except StoreLocked:
        raise InConsole(directions(data_dir, server_pid(data_dir) or "?", way)) from None
    try:
        yield store
    finally:
        store.close()
