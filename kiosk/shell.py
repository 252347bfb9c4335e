"""What the kiosk's shell commands share: the ``--data`` option and opening the store."""
from __future__ import annotations

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
