#!/bin/sh
# Start the kiosk: creates .venv on first use, (re)installs the project when
# pyproject.toml changed, then runs `run.py` with any arguments given, e.g.
#   sh scripts/start.sh --host 0.0.0.0 --port 8080
set -eu
cd "$(dirname "$0")/.."
. scripts/venv.sh
frontdesk_venv ""
exec .venv/bin/python run.py "$@"
