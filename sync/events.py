"""The event format both sides share: building, chaining, hashing and verifying events.

An event is ``{site_id, seq, event_id, ticket_id, type, at, actor, data, prev_hash,
hash}``. ``new`` builds the part an app decides (ticket, type, actor, time, data);
``chain`` adds the rest after a log's last event. ``hash`` is the SHA-256 of the
event's canonical JSON without ``hash`` (with ``prev_hash``), so a site's events form
a chain that the kiosk (``run.py verify``) and HQ check with the same ``verify_chain``.
Times are stored as UTC ISO-8601 (``iso``). Plain Python: no Flask, no files.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Iterable, NamedTuple

GENESIS = "0" * 64


def iso(when: datetime) -> str:
    """Return an aware time as stored in events: UTC ISO-8601."""
    return when.astimezone(timezone.utc).isoformat()


def new(ticket_id: str | None, kind: str, actor: dict, at: datetime,
        data: dict | None = None) -> dict:
    """Return the part of an event an app decides; ``ticket_id`` None for a site event."""
    return {"ticket_id": ticket_id, "type": kind, "at": iso(at), "actor": actor,
            "data": data or {}}


def canonical(obj: dict) -> bytes:
    """Return the canonical JSON bytes of ``obj`` (sorted keys, no spaces, UTF-8)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: dict) -> str:
    """Return the chain hash of ``event``: SHA-256 over all fields but ``hash``."""
    return hashlib.sha256(canonical({k: v for k, v in event.items() if k != "hash"})).hexdigest()


def chain(partials: list[dict], site_id: str, last_seq: int, last_hash: str) -> list[dict]:
    """Return ``partials`` (from ``new``) as whole events following seq ``last_seq``."""
    events, seq, prev = [], last_seq, last_hash
    for partial in partials:
        seq += 1
        event = {**partial, "site_id": site_id, "seq": seq, "event_id": f"{site_id}:{seq}",
                 "prev_hash": prev}
        event["hash"] = prev = event_hash(event)
        events.append(event)
    return events


class ChainProblem(NamedTuple):
    """One place where a chain does not verify."""

    seq: int
    problem: str


def verify_chain(entries: Iterable[tuple[int | None, dict | str]],
                 written_through: int = 0, *, start: int = 1,
                 prev: str = GENESIS) -> list[ChainProblem]:
    """Check seqs, hashes and links; return the problems found (none: intact).

    ``entries`` yields, in order, ``(seq it is filed under or None, event)``, where
    ``event`` is a dict, or a string saying why that entry could not be read (checking
    goes on with the next). A chain that ends before ``written_through`` reports the
    missing tail. ``start`` and ``prev`` check a chain's tail: its first event must be
    ``start`` and link to the hash ``prev`` (an event checked before).
    """
    problems: list[ChainProblem] = []
    expected = start
    for filed, event in entries:
        if isinstance(event, str):
            seq = filed if filed is not None else expected
            problems.append(ChainProblem(seq, event))
            expected, prev = seq + 1, None
            continue
        seq = event.get("seq") if filed is None else filed
        if seq != expected:
            problems.append(ChainProblem(expected, f"missing: found seq {seq} next"))
        if filed is not None and event.get("seq") != filed:
            problems.append(ChainProblem(filed, "the stored event carries another seq"))
        if prev is not None and event.get("prev_hash") != prev:
            problems.append(ChainProblem(seq, "link to the previous event is broken"))
        if event_hash(event) != event.get("hash"):
            problems.append(ChainProblem(seq, "content changed: hash does not match"))
        prev = event.get("hash")
        expected = (seq if isinstance(seq, int) else expected) + 1
    if expected <= written_through:
        problems.append(ChainProblem(expected, f"missing: the log ends at seq {expected - 1}, "
                                               f"{written_through} were written"))
    return problems
