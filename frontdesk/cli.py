"""The root command: ``python run.py`` serves the kiosk; ``python run.py hq`` serves HQ;
every other command hangs off one of the two (``--help`` lists them)."""
from __future__ import annotations

from hq.cli import hq_cli
from kiosk.cli import kiosk_cli

#: The kiosk's group is the root: ``run.py`` alone serves the kiosk.
cli = kiosk_cli
cli.add_command(hq_cli)


def main() -> None:
    """Run the command line."""
    cli()
