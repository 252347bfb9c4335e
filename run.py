"""Start FrontDesk: ``python run.py`` serves the kiosk; ``python run.py --help`` lists commands."""
from kiosk.cli import cli, register_commands

register_commands(cli)

if __name__ == "__main__":
    cli()
