# Shared by start.sh and test.sh (sourced, POSIX sh): make sure ./.venv exists and holds
# the project as pyproject.toml describes it now, with the extra named in $1 ("" or "test").
# Uses `python3` from PATH, or the interpreter named in $PYTHON (e.g. PYTHON=python3.12).

frontdesk_venv() {
    extra=$1
    py=${PYTHON:-python3}
    if ! command -v "$py" >/dev/null 2>&1; then
        echo "FrontDesk needs Python 3.11 or newer, but '$py' was not found." >&2
        echo "On Debian or Ubuntu: sudo apt-get install python3 python3-venv" >&2
        exit 1
    fi
    if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "FrontDesk needs Python 3.11 or newer; '$py' is $("$py" -V 2>&1)." >&2
        echo "Install a newer one and run again with PYTHON=python3.11 (or newer)." >&2
        exit 1
    fi

    if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c '' 2>/dev/null; then
        if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
            echo "'$py -m venv' is not available, so .venv cannot be created." >&2
            echo "On Debian or Ubuntu: sudo apt-get install python3-venv" >&2
            exit 1
        fi
        echo "Creating .venv with $("$py" -V 2>&1) ..."
        rm -rf .venv
        if ! "$py" -m venv .venv; then
            rm -rf .venv
            echo "Could not create .venv (see the message above)." >&2
            exit 1
        fi
    fi

    # Reinstall only when pyproject.toml changed since the last install (or the extra is new).
    stamp=.venv/frontdesk-installed
    sum=$(cksum < pyproject.toml)
    if [ -f "$stamp" ]; then
        installed=$(cat "$stamp")
        if [ "$installed" = "$sum test" ] || [ "$installed" = "$sum $extra" ]; then
            return 0
        fi
    fi
    rm -f "$stamp"
    target=.
    if [ -n "$extra" ]; then
        target=".[$extra]"
    fi
    echo "Installing $target into .venv (from PyPI; about a minute the first time) ..."
    if ! .venv/bin/python -m pip install -q -e "$target"; then
        echo "Installing into .venv failed (see pip's message above)." >&2
        exit 1
    fi
    echo "$sum $extra" > "$stamp"
}
