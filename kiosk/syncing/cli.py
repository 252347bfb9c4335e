"""``python run.py sync status`` / ``sync now``: the sync state from the shell.

``status`` only reads files (``data/sync.json``, ``data/sync-settings.json``, the log's
last line), never takes the data-folder lock and writes nothing, so it works while the
server runs. It speaks the site's language (``--lang`` to choose) with the console's
own messages, shows times in the site's zone and names it, says whether the kiosk
server is running (its lock is held), and words the next try honestly: when it is
due, that the kiosk is trying; a time long past while the server runs means the
status file is stale, never a "next try" in the past. ``now`` pushes once from the
shell while the server is stopped; while it runs (its worker already syncs), it says
where the console's "sync now" is.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import click

from common.messages import N_
from sync.state import effective_settings, load_state, read_last_seq
from sync.worker import SyncWorker

from ..shell import (DATA_OPTION, LANG_OPTION, ConsoleWay, changing_data, opened_store,
                     server_pid, site_config, site_language, translator)

SYNC_IN_CONSOLE = ConsoleWay(N_("The running kiosk sends by itself. To send at once, sign in "
                                "to the console, open %(menu)s and press \"Sync now\"."),
                             (N_("More"), N_("Sync")), "/staff/sync")

#: A next try up to this late is the round in progress; up to STALE, a slow answer.
DUE = timedelta(seconds=10)
STALE = timedelta(seconds=60)

SERVER_RUNNING = N_("running (process %(pid)s)")
SERVER_STOPPED = N_("not running")
NEXT_IN = N_("%(time)s, in %(seconds)s s")
NEXT_DUE = N_("due now — the kiosk is trying")
NEXT_OVERDUE = N_("overdue since %(time)s — the kiosk is still trying (HQ is slow to answer)")
NEXT_STALE = N_("unknown: the status file is stale (it says %(time)s, %(minutes)s min ago); "
                "the running kiosk has not saved its status since, see its log")
NEXT_STOPPED = N_("none while the kiosk server is stopped: it tries as soon as it starts")
KEY_SET = N_("%(key_id)s (key set)")
KEY_NOT_SET = N_("%(key_id)s (key not set)")
LINE = N_("%(label)s: %(value)s")
CONFIRMED = N_("%(waiting)s (HQ confirmed %(acked)s of %(last)s; HQ database %(epoch)s)")


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


def _when(value) -> datetime | None:
    """Return a saved UTC ISO time as an aware datetime, or None if there is none."""
    try:
        when = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def local(when: datetime, tz: ZoneInfo) -> str:
    """Format ``when`` in the site's zone, to the second."""
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def next_try(saved, now: datetime, running: bool, tz: ZoneInfo,
             _: Callable[..., str]) -> str | None:
    """Word the worker's saved next try (``saved``, UTC ISO) at ``now``; None if there is
    none to tell."""
    if not running:
        return _(NEXT_STOPPED)
    when = _when(saved)
    if when is None:
        return None
    ahead = when - now
    if ahead >= timedelta(seconds=1):
        return _(NEXT_IN, time=local(when, tz), seconds=int(ahead.total_seconds()))
    if -ahead <= DUE:
        return _(NEXT_DUE)
    if -ahead <= STALE:
        return _(NEXT_OVERDUE, time=local(when, tz))
    return _(NEXT_STALE, time=local(when, tz), minutes=int(-ahead.total_seconds() // 60))


def status_lines(data_dir: Path, now: datetime, lang: str | None = None) -> list[str]:
    """Return ``sync status``'s report at ``now``, in the site's language (or ``lang``)."""
    config = site_config(data_dir)
    _, tz = translator(config, site_language(config, lang)), ZoneInfo(config["SITE_TZ"])
    mark, info = load_state(data_dir)
    settings = shown_settings(effective_settings(data_dir, config).public(),
                              info.get("settings"))
    configured = bool(settings.get("hq_url") and settings.get("key_id")
                      and settings.get("key_set"))
    pid = server_pid(data_dir)
    last_seq = read_last_seq(data_dir)
    if not configured:
        connection = _("Not set up")
    else:
        connection = {True: _("Online"), False: _("Offline")}.get(info.get("online"),
                                                                   _("Not tried yet"))
    last_success, last_attempt = _when(info.get("last_success")), _when(info.get("last_attempt"))
    offset = now.astimezone(tz).strftime("%z")
    rows = [
        (_("Site"), _site_id(data_dir)),
        (_("Kiosk server"), _(SERVER_RUNNING, pid=pid) if pid else _(SERVER_STOPPED)),
        (_("Time zone"), f"{config['SITE_TZ']} (UTC{offset[:3]}:{offset[3:]})"),
        (_("Connection"), connection),
        (_("HQ address"), settings.get("hq_url") or "—"),
        (_("Key id"), _(KEY_SET if settings.get("key_set") else KEY_NOT_SET,
                        key_id=settings.get("key_id") or "—")),
        (_("Records waiting to be sent"),
         _(CONFIRMED, waiting=max(0, last_seq - mark.acked_through), acked=mark.acked_through,
           last=last_seq, epoch=mark.hq_epoch or "—")),
        (_("Last sent"), local(last_success, tz) if last_success else _("Never")),
        (_("Last try"), local(last_attempt, tz) if last_attempt else _("Never")),
        (_("Last problem"), _message(info.get("error"), _) or "—"),
    ]
    saved_at = _when(info.get("saved_at"))
    if saved_at:  # the worker saves its status after every round
        rows.append((_("Status saved"), local(saved_at, tz)))
    if configured:
        wording = next_try(info.get("next_attempt"), now, bool(pid), tz, _)
        if wording:
            rows.append((_("Next try"), wording))
    rows.append((_("Alarm"), _message(info.get("alarm"), _) or _("None")))
    return [_(LINE, label=label, value=value) for label, value in rows]


def _message(message, _: Callable[..., str]) -> str:
    """Return a saved ``{text, params}`` message as the console shows it, translated."""
    if not isinstance(message, dict) or not message.get("text"):
        return ""
    try:
        return _(str(message["text"]), **(message.get("params") or {}))
    except (KeyError, TypeError, ValueError):
        return str(message["text"])


@click.group("sync")
def sync_cli():
    """Sync the event log to headquarters (HQ)."""


@sync_cli.command("status")
@DATA_OPTION
@LANG_OPTION
def status(data_dir: Path, lang: str | None):
    """Show the sync state in local time (works while the server runs; writes nothing)."""
    if not data_dir.is_dir():
        raise click.ClickException(f"no data folder at {data_dir}")
    for line in status_lines(data_dir, datetime.now(timezone.utc), lang):
        click.echo(line)


@sync_cli.command("now")
@changing_data(SYNC_IN_CONSOLE)
@click.option("--rounds", default=1000, show_default=True, type=click.IntRange(1),
              help="Stop after this many batches.")
@LANG_OPTION
def now(data_dir: Path, rounds: int, lang: str | None):
    """Push the backlog once, from the shell, while the server is stopped."""
    with opened_store(data_dir, SYNC_IN_CONSOLE) as store:
        worker = SyncWorker(store, effective_settings(data_dir, site_config(data_dir)))
        for _ in range(rounds):
            delay = worker.run_once()
            if delay or not worker.status()["waiting"]:
                break
    for line in status_lines(data_dir, datetime.now(timezone.utc), lang):
        click.echo(line)
    if worker.status()["alarm"] or worker.status()["waiting"]:
        raise SystemExit(1)
