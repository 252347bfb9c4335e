#!/bin/sh
# Run the tests: creates .venv on first use, (re)installs the project with its `test`
# extra when pyproject.toml changed, then runs pytest with any arguments given, e.g.
#   sh scripts/test.sh -m "not e2e"
set -eu
cd "$(dirname "$0")/.."
. scripts/venv.sh
frontdesk_venv test
exec .venv/bin/python -m pytest "$@"
