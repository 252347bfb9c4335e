"""``python run.py``: serve the kiosk, and the shell commands that hang off it."""
from __future__ import annotations

import logging
import signal
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


def _stop(signum, frame):
    raise KeyboardInterrupt


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@DATA_OPTION
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.pass_context
def cli(ctx: click.Context, host: str, port: int, data_dir: Path, threads: int):
    """Serve the FrontDesk kiosk (without a command), or manage it (with one)."""
    if ctx.invoked_subcommand is not None:
        return
    from waitress import create_server

    from . import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app({"DATA_DIR": str(data_dir)})
    except StoreLocked as exc:
        raise click.ClickException(str(exc)) from None
    server = create_server(app, host=host, port=port, threads=threads)
    signal.signal(signal.SIGTERM, _stop)
    click.echo(f"FrontDesk kiosk on http://{host}:{server.effective_port}/ "
               f"(data: {app.config['DATA_DIR']}); Ctrl-C stops it")
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        server.close()
        app.extensions["kiosk_store"].close()
        click.echo("stopped")


def register_commands(group: click.Group) -> None:
    """Attach every feature's commands to the root group."""
    from .locations.cli import locations_cli

    group.add_command(locations_cli)
