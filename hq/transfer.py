"""Move a whole HQ from one database to another (SQLite to PostgreSQL): export and import.

``export(store, path)`` writes the HQ into one JSON-lines file: a first line with the
format version and the ``hq_epoch``, then one line per site (with its key's SECRET: the
file is created mode 0600 and must be kept like a password), per dashboard account (PIN
hashes included), per alarm (with its acknowledgement), per stored event (each site's
events in seq order, streamed a page at a time, the stored text as it is), and a last
line with the counts and the SHA-256 of every line before it, so a file cut short or
changed is refused.

``import_file(store, path)`` fills an EMPTY store (no site, no account) from such a file.
It first reads the whole file without writing anything: its form, its checksum, and
every site's hash chain (``verify_chain``, as HQ checks its stored chains). A file that
does not verify is refused whole, naming the site and the seq, and the target is left
untouched. Then it writes: the source's ``hq_epoch`` FIRST (so the kiosks' acked marks
stay valid and nothing is resent), the sites with their key ids and secrets (revoked
kept), the accounts, the alarms, and each site's events through the target's own
``ingest_batch`` in chunks, which links every hash again and folds the ticket tables and
desk records. A chunk the target does not store whole stops the import with the site and
the seq named (the target then holds part of the HQ: drop it and import again). Last,
every site's chain is verified on the target (``chain.verify_site_chain``).

What is not moved: dashboard sessions (accounts sign in again), when each event was
received — the target records each site's events as received at the site's last contact —
and each kiosk's last status report (``hq.liveness``): it is a moment's news, and every
kiosk sends a new one with its next request, within a minute.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from sync.events import verify_chain

from . import chain, ingest
from .storage import HQStore, iter_chain, utc_iso

FORMAT = "frontdesk_hq_export"
VERSION = 1
CHUNK = 1000
#: the kinds of line after the first, in the order they come
KINDS = ("site", "admin", "alarm", "event")
SITE_FIELDS = ("site_id", "name", "key_id", "secret", "revoked", "created_at",
               "last_contact", "events_received", "last_seq")
ALARM_FIELDS = ("site_id", "seq", "kind", "detail", "at")
#: an alarm's acknowledgement (issue 15): always written, optional in a file read
ACK_FIELDS = ("acked_at", "acked_by")
#: more alarms than any HQ holds: ``alarms()`` reads them all
ALL = 2 ** 31 - 1


class TransferError(Exception):
    """An export file that cannot be imported, or a target that cannot take it."""


@dataclass
class Export:
    """What an export file holds besides its events (read whole: these are few)."""

    header: dict
    sites: dict[str, dict] = field(default_factory=dict)
    admins: list[dict] = field(default_factory=list)
    alarms: list[dict] = field(default_factory=list)
    events: int = 0


# -- export ----------------------------------------------------------------------------------
def export(store: HQStore, path: str | Path, now: datetime | None = None) -> dict:
    """Write every site, key, account, alarm and event of ``store`` into ``path`` (mode
    0600, replaced atomically); return the counts written."""
    now = now or datetime.now(timezone.utc)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    digest, counts = hashlib.sha256(), dict.fromkeys(KINDS, 0)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o600)

            def write(kind: str | None, value: dict) -> None:
                line = _line(value if kind is None else {kind: value})
                digest.update(line)
                out.write(line)
                if kind:
                    counts[kind] += 1

            write(None, {FORMAT: VERSION, "hq_epoch": store.epoch(), "exported_at": utc_iso(now)})
            sites = _sites(store, now)
            for site in sites:
                write("site", site)
            for row in store.admin_rows():
                write("admin", row)
            for alarm in reversed(store.alarms(limit=ALL)):  # oldest first
                write("alarm", {k: alarm[k] for k in ALARM_FIELDS + ACK_FIELDS})
            for site in sites:  # up to the seq the site line holds: one cut per site
                for seq, stored_hash, body in iter_chain(store, site["site_id"]):
                    if seq > site["last_seq"]:
                        break
                    write("event", {"site_id": site["site_id"], "seq": seq,
                                    "hash": stored_hash, "body": body})
            out.write(_line({"end": {**counts, "sha256": digest.hexdigest()}}))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return counts


def _sites(store: HQStore, now: datetime) -> list[dict]:
    last = {s["site_id"]: s["last_seq"] or 0 for s in store.site_summaries(now)}
    return [{"site_id": s["site_id"], "name": s["name"], "key_id": s["key_id"],
             "secret": store.key(s["key_id"])["secret"], "revoked": bool(s["revoked"]),
             "created_at": utc_iso(s["created_at"]), "last_contact": utc_iso(s["last_contact"]),
             "events_received": s["events_received"], "last_seq": last.get(s["site_id"], 0)}
            for s in store.sites()]


def _line(value: dict) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True,
                      default=_plain).encode() + b"\n"


def _plain(value):
    """JSON for what a backend may return besides JSON's own types (its times)."""
    if isinstance(value, datetime):
        return utc_iso(value)
    raise TypeError(f"cannot write a {type(value).__name__}")


# -- reading a file ----------------------------------------------------------------------------
def _records(path: Path) -> Iterator[tuple[int, str, dict]]:
    """Yield ``(line number, kind, value)`` of every line; raise TransferError for a
    line that is not one of them, lines out of order, or a wrong or missing end line
    (checked after the last line was yielded)."""
    digest, counts, order, end = hashlib.sha256(), dict.fromkeys(KINDS, 0), 0, None
    with open(path, "rb") as lines:
        for number, line in enumerate(lines, 1):
            if end is not None:
                raise TransferError(f"line {number}: text after the end line")
            try:
                value = json.loads(line)
            except ValueError:
                raise TransferError(f"line {number}: not a JSON line") from None
            if number == 1:
                if not isinstance(value, dict) or value.get(FORMAT) != VERSION:
                    raise TransferError(f"{path} is not an `hq export` file of version "
                                        f"{VERSION}")
                digest.update(line)
                yield number, "header", value
                continue
            if not (isinstance(value, dict) and len(value) == 1
                    and isinstance(next(iter(value.values())), dict)):
                raise TransferError(f"line {number}: not one {{kind: object}}")
            (kind, record), = value.items()
            if kind == "end":
                end = record
                continue
            if kind not in KINDS or KINDS.index(kind) < order:
                raise TransferError(f"line {number}: a {kind!r} line out of place")
            order = KINDS.index(kind)
            digest.update(line)
            counts[kind] += 1
            yield number, kind, record
    if end is None:
        raise TransferError(f"{path} ends before its end line: it was cut short")
    if end != {**counts, "sha256": digest.hexdigest()}:
        raise TransferError(f"{path}: the counts or the checksum of the end line do not "
                            f"match the lines: the file was changed or cut")


def _event_groups(records) -> Iterator[tuple[str, Iterator[tuple[int, dict]]]]:
    """Group the event lines by site: ``(site_id, (line number, event line)...)``."""
    return itertools.groupby(((n, v) for n, _, v in records),
                             key=lambda item: item[1].get("site_id"))


def _events(site_id: str, lines, seen: list[int]) -> Iterator[tuple[int, dict | str]]:
    """Yield a site's events as ``verify_chain`` takes them: ``(seq, event)``, the event
    with the hash stored next to it, or why it cannot be read; count them in ``seen``."""
    for number, line in lines:
        seq = line.get("seq")
        if not (type(seq) is int and isinstance(line.get("hash"), str)
                and isinstance(line.get("body"), str)):
            raise TransferError(f"line {number}: site {site_id}: an event line without "
                                f"an integer seq, a hash and a body")
        seen[0] += 1
        try:
            event = {**json.loads(line["body"]), "hash": line["hash"]}
        except (ValueError, TypeError):
            yield seq, "the stored event is unreadable"
            continue
        problem = ingest.malformed([event], site_id)
        yield seq, f"malformed: {problem[2]}" if problem else event


def check_file(path: str | Path) -> Export:
    """Read a whole export file without writing anything: its form, its checksum and
    every site's chain. Return what it holds; raise TransferError naming the line, or
    the site and the seq, of the first problem."""
    records = _records(Path(path))
    found = Export(header=next(records)[2])
    if not isinstance(found.header.get("hq_epoch"), str) or not found.header["hq_epoch"]:
        raise TransferError("line 1: no hq_epoch")
    first_event = None
    for number, kind, value in records:
        if kind == "event":
            first_event = (number, kind, value)
            break
        if kind == "site":
            if not (set(value) == set(SITE_FIELDS) and _texts(value, "site_id", "name",
                                                             "key_id", "secret", "created_at")
                    and type(value["last_seq"]) is int) or value["site_id"] in found.sites:
                raise TransferError(f"line {number}: a malformed or repeated site")
            found.sites[value["site_id"]] = value
        elif kind == "admin":
            if not _texts(value, "name", "pin_hash"):
                raise TransferError(f"line {number}: a malformed account")
            found.admins.append(value)
        elif not set(ALARM_FIELDS) <= set(value) <= set(ALARM_FIELDS + ACK_FIELDS):
            raise TransferError(f"line {number}: a malformed alarm")
        else:
            found.alarms.append(value)
    events = itertools.chain([first_event] if first_event else [], records)
    done: set[str] = set()
    for site_id, lines in _event_groups(events):
        if site_id not in found.sites or site_id in done:
            raise TransferError(f"events of site {site_id!r} that has no site line, or "
                                f"not all together")
        done.add(site_id)
        seen = [0]
        _verify(site_id, _events(site_id, lines, seen), found.sites[site_id]["last_seq"])
        found.events += seen[0]
    for site_id in found.sites.keys() - done:
        _verify(site_id, iter(()), found.sites[site_id]["last_seq"])
    return found


def _texts(record: dict, *fields: str) -> bool:
    return all(isinstance(record.get(f), str) and record[f] for f in fields)


def _verify(site_id: str, entries, last_seq: int) -> None:
    problems = verify_chain(entries, written_through=last_seq)
    if problems:
        seq, problem = problems[0]
        raise TransferError(f"site {site_id}: seq {seq}: {problem} (refused whole: nothing "
                            f"was imported)")


# -- import ----------------------------------------------------------------------------------
def import_file(store: HQStore, path: str | Path, chunk: int = CHUNK,
                progress: Callable[[str], None] = lambda line: None) -> list[dict]:
    """Fill the empty ``store`` from an export file (see the module's docstring).

    Return per site ``{site_id, events, last_seq, verified}``, as verified on ``store``.
    :raises TransferError: the target is not empty, the file does not verify (nothing
        written), or the target did not store a chunk whole (site and seq named).
    """
    require_empty(store)
    found = check_file(path)
    progress(f"checked {path}: {len(found.sites)} sites, {found.events} events, every "
             f"chain verified")
    store.set_epoch(found.header["hq_epoch"])
    for site in found.sites.values():
        store.add_site(site["site_id"], site["name"], site["key_id"], site["secret"],
                       _when(site["created_at"]))
        if site["revoked"]:
            store.revoke_site(site["site_id"])
    for row in found.admins:
        store.restore_admin(row)
    for alarm in found.alarms:  # before the events: a refusal they record again keeps these
        store.restore_alarm(alarm)
    records = _records(Path(path))
    for site_id, lines in _event_groups(r for r in records if r[1] == "event"):
        site = found.sites[site_id]
        received = _when(site["last_contact"] or found.header["exported_at"])
        batch: list[dict] = []
        for _, line in lines:
            batch.append({**json.loads(line["body"]), "hash": line["hash"]})
            if len(batch) == chunk:
                _ingest(store, site_id, batch, received)
                batch = []
        if batch:
            _ingest(store, site_id, batch, received)
        progress(f"site {site_id}: {site['last_seq']} events imported")
    return _verified(store, found)


def require_empty(store: HQStore) -> None:
    """Raise TransferError unless ``store`` has no site and no dashboard account."""
    if store.sites() or store.admin_count():
        raise TransferError("the target HQ is not empty: import only into a new database "
                            "(no site, no dashboard account)")


def _ingest(store: HQStore, site_id: str, events: list[dict], received: datetime) -> None:
    acked, results = store.ingest_batch(site_id, events, received)
    for result in results:
        if result["result"] not in ingest.KEPT:
            raise TransferError(f"site {site_id}: seq {result['seq']}: the target did not "
                                f"store it ({result['result']}); the target holds part of "
                                f"the HQ: drop it before importing again")
    if acked != events[-1]["seq"]:
        raise TransferError(f"site {site_id}: seq {events[-1]['seq']}: the target holds "
                            f"the site through seq {acked} only")


def _verified(store: HQStore, found: Export) -> list[dict]:
    held = {s["site_id"]: s for s in store.site_summaries(_when(found.header["exported_at"]))}
    out = []
    for site_id, site in found.sites.items():
        problems = chain.verify_site_chain(store, site_id)
        last = held[site_id]["last_seq"] or 0
        out.append({"site_id": site_id, "events": held[site_id]["events_received"],
                    "last_seq": last,
                    "verified": not problems and last == site["last_seq"]})
    return out


def _when(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def copy(source: HQStore, target: HQStore, progress: Callable[[str], None] = lambda line: None
         ) -> list[dict]:
    """Move ``source`` into the empty ``target``: an export into a private temporary file
    (deleted after), then its import; return what ``import_file`` returns."""
    require_empty(target)
    with tempfile.TemporaryDirectory(prefix="hq-copy-") as folder:  # mode 0700
        path = Path(folder) / "hq-export.jsonl"
        counts = export(source, path)
        progress(f"exported {counts['site']} sites and {counts['event']} events")
        return import_file(target, path, progress=progress)
