"""Serve a WSGI app with waitress until Ctrl-C or SIGTERM (``run.py`` and ``run.py hq``)."""
from __future__ import annotations

import logging
import signal
from typing import Callable

import click


def _stop(signum, frame):
    raise KeyboardInterrupt


def serve(app, host: str, port: int, threads: int, label: str, close: Callable[[], None]) -> None:
    """Serve ``app`` until Ctrl-C or SIGTERM, then ``close()`` what it holds."""
    from waitress import create_server

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = create_server(app, host=host, port=port, threads=threads)
    signal.signal(signal.SIGTERM, _stop)
    click.echo(f"{label} on http://{host}:{server.effective_port}/ "
               f"(data: {app.config['DATA_DIR']}); Ctrl-C stops it")
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        server.close()
        close()
        click.echo("stopped")
