"""``python run.py sync status`` / ``sync now``: the sync state from the shell.

``status`` only reads files (``data/sync.json``, ``data/sync-settings.json``, the log's
last line), never the data-folder lock, so it works while the server runs. ``now``
pushes once from the shell when the server is stopped (a running server's worker
already syncs by itself).
"""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Config

from common.config import read_layers
from sync.state import describe, effective_settings, load_state, read_last_seq
from sync.worker import SyncWorker

from ..config import DEFAULTS
from ..shell import DATA_OPTION, opened_store


def _config(data_dir: Path) -> Config:
    """Return the kiosk's settings as the server would see them, without writing anything."""
    config = Config(str(data_dir))
    read_layers(config, DEFAULTS, "KIOSK", data_dir)
    return config


def _site_id(data_dir: Path) -> str:
    try:
        return json.loads((data_dir / "site.json").read_text())["site_id"]
    except (OSError, ValueError, KeyError):
        return "?"


def shown_settings(here: dict, used) -> dict:
    """Return the settings to report: what the kiosk's worker last ran with (``used``,
    start options included, which this shell cannot see), each field it left empty
    taken from what this shell sees (``here``)."""
    if not isinstance(used, dict):
        return here
    shown = {k: used.get(k) or here.get(k) for k in ("hq_url", "site_id", "key_id")}
    return {**shown, "key_set": bool(used.get("key_set") or here.get("key_set"))}


def status_lines(data_dir: Path) -> list[str]:
    """Return ``sync status``'s report in plain words."""
    mark, info = load_state(data_dir)
    settings = shown_settings(effective_settings(data_dir, _config(data_dir)).public(),
                              info.get("settings"))
    last_seq = read_last_seq(data_dir)
    if not (settings.get("hq_url") and settings.get("key_id") and settings.get("key_set")):
        connection = "not set up (a manager enters the HQ address and key on the console)"
    else:
        connection = {True: "online", False: "offline"}.get(info.get("online"), "not tried yet")
    lines = [
        f"site:             {_site_id(data_dir)}",
        f"HQ:               {settings.get('hq_url') or '-'} (key id "
        f"{settings.get('key_id') or '-'}, key {'set' if settings.get('key_set') else 'not set'})",
        f"connection:       {connection}",
        f"events waiting:   {max(0, last_seq - mark.acked_through)} (HQ confirmed "
        f"{mark.acked_through} of {last_seq}; HQ database {mark.hq_epoch or '-'})",
        f"last success:     {info.get('last_success') or 'never'}",
        f"last error:       {describe(info.get('error')) or '-'}",
    ]
    if info.get("next_attempt"):
        lines.append(f"next try:         {info['next_attempt']}")
    lines.append(f"ALARM:            {describe(info['alarm'])}" if info.get("alarm")
                 else "alarm:            none")
    return lines


@click.group("sync")
def sync_cli():
    """Sync the event log to headquarters (HQ)."""


@sync_cli.command("status")
@DATA_OPTION
def status(data_dir: Path):
    """Show the sync state (works while the server runs)."""
    if not data_dir.is_dir():
        raise click.ClickException(f"no data folder at {data_dir}")
    for line in status_lines(data_dir):
        click.echo(line)


@sync_cli.command("now")
@DATA_OPTION
@click.option("--rounds", default=1000, show_default=True, type=click.IntRange(1),
              help="Stop after this many batches.")
def now(data_dir: Path, rounds: int):
    """Push the backlog once, from the shell, while the server is stopped."""
    with opened_store(data_dir) as store:
        worker = SyncWorker(store, effective_settings(data_dir, _config(data_dir)))
        for _ in range(rounds):
            delay = worker.run_once()
            if delay or not worker.status()["waiting"]:
                break
    for line in status_lines(data_dir):
        click.echo(line)
    if worker.status()["alarm"] or worker.status()["waiting"]:
        raise SystemExit(1)
