"""``python run.py verify``: check the site's own hash-chained event log, read-only.

It runs ``EventLog.verify`` over the segment files without opening the store: no lock
taken (works while the server runs), no torn tail dropped, nothing rebuilt, so the
evidence stays as found. A log shorter than what HQ confirmed (``data/sync.json``)
is reported as a missing tail.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from sync.events import GENESIS, ChainProblem

from .eventlog import EventLog
from .shell import DATA_OPTION


class ReadOnlyLog(EventLog):
    """An event log opened for ``verify`` only: no recovery, no writes."""

    def __init__(self, folder: Path, written_through: int = 0):  # noqa: super() would repair
        self.folder = Path(folder)
        self.site_id = None
        self.last_seq, self.last_hash = written_through, GENESIS
        self._file = None


def _acked_through(data_dir: Path) -> int:
    """Return the highest seq HQ confirmed, so the log must reach at least that far."""
    try:
        acked = json.loads((data_dir / "sync.json").read_text()).get("acked_through")
    except (OSError, ValueError, AttributeError):
        return 0
    return acked if isinstance(acked, int) else 0


def verify_log(data_dir: Path) -> tuple[int, list[ChainProblem]]:
    """Return ``(events checked, problems)`` for the log of ``data_dir``."""
    log = ReadOnlyLog(data_dir / "log", _acked_through(data_dir))
    count = sum(1 for path in log.segments() for line in path.read_bytes().split(b"\n")[:-1])
    return count, log.verify()


@click.command("verify")
@DATA_OPTION
def verify_cli(data_dir: Path):
    """Check the event log's hash chain; print each problem with its seq (exit 1 if any)."""
    if not (data_dir / "log").is_dir():
        raise click.ClickException(f"no event log in {data_dir}")
    count, problems = verify_log(data_dir)
    for problem in problems:
        click.echo(f"seq {problem.seq}: {problem.problem}")
    if problems:
        click.echo(f"{len(problems)} problem(s) in {data_dir / 'log'}; the log is not intact")
        raise SystemExit(1)
    click.echo(f"ok: {count} event(s), the hash chain is intact")
