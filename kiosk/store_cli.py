"""``python run.py verify``: check the site's own hash-chained event log, read-only.

It reads the segment files through ``kiosk.snapshot``, without opening the store: no
lock taken (works while the server runs), no torn tail dropped, nothing rebuilt, so the
evidence stays as found. A log shorter than what HQ confirmed (``data/sync.json``)
is reported as a missing tail.
"""
from __future__ import annotations

from pathlib import Path

import click

from .shell import DATA_OPTION
from .snapshot import Snapshot, Unreadable


@click.command("verify")
@DATA_OPTION
def verify_cli(data_dir: Path):
    """Check the event log's hash chain; print each problem with its seq (exit 1 if any).
    Works while the server runs; writes nothing."""
    try:
        count, problems = Snapshot(data_dir).verify()
    except Unreadable as exc:
        raise click.ClickException(str(exc)) from None
    for problem in problems:
        click.echo(f"seq {problem.seq}: {problem.problem}")
    if problems:
        click.echo(f"{len(problems)} problem(s) in {data_dir / 'log'}; the log is not intact")
        raise SystemExit(1)
    click.echo(f"ok: {count} event(s), the hash chain is intact")
