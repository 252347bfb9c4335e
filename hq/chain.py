"""A site's stored hash chain, re-checked at HQ, in plain Python (no Flask, no SQL).

``verify_site_chain`` re-checks a site's whole stored chain (``run.py hq verify``, an
import); ``ChainChecks`` keeps the dashboard's verdict per site, re-checking only what was
stored since; ``ticket_links`` checks one ticket's events and their neighbours in the
chain (``neighbours``: the seqs it reads) for the ticket's page.
"""
from __future__ import annotations

import json
import threading
from typing import Iterator, Mapping

from common.messages import N_, Message
from sync.events import GENESIS, event_hash, verify_chain

from .storage import HQStore, iter_chain


def verify_site_chain(store: HQStore, site_id: str) -> list[tuple[int, str]]:
    """Re-check every stored event of a site: seq, content hash and link.

    Return ``[(seq, problem), ...]`` in seq order; an empty list means intact.
    """
    return verify_chain(_stored(store, site_id))


class ChainChecks:
    """The dashboard's verdict on each site's chain, checked in full once per process and
    then only for the events stored since (a site with tens of thousands of events takes
    half a second to re-check whole: too slow for every page load). A change to an event
    already checked shows at the next full check: ``run.py hq verify``, or HQ's restart.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._checked: dict[str, tuple[int, str]] = {}  # site -> (seq, hash) checked up to

    def problems(self, store: HQStore, site_id: str) -> list[tuple[int, str]]:
        """Return the problems of ``site_id``'s chain (``verify_site_chain``'s shape),
        checking only what was stored after the last clean check."""
        with self._lock:
            seq, prev = self._checked.get(site_id, (0, GENESIS))
        entries = list(_stored(store, site_id, after=seq))
        problems = verify_chain(entries, start=seq + 1, prev=prev)
        if not problems and entries:
            last_seq, last = entries[-1]
            with self._lock:
                if self._checked.get(site_id, (0,))[0] == seq:
                    self._checked[site_id] = (last_seq, last["hash"])
        return problems


#: What can be wrong with one of a ticket's stored events in its site's chain (msgids).
UNREADABLE = N_("The stored event cannot be read.")
NOT_ITS_HASH = N_("Its content does not match its hash: it was changed after it was sent.")
OTHER_SEQ = N_("It is filed under seq %(seq)s but says it is seq %(said)s.")
NO_PREVIOUS = N_("The event before it (seq %(seq)s) is missing.")
NOT_LINKED = N_("It does not link to the event before it (seq %(seq)s).")
NEXT_NOT_LINKED = N_("The event after it (seq %(seq)s) does not link to it.")


def neighbours(seqs: list[int]) -> list[int]:
    """Return the seqs ``ticket_links`` reads for a ticket's events at ``seqs``: each,
    the one before and the one after it."""
    return sorted({n for seq in seqs for n in (seq - 1, seq, seq + 1) if n >= 1})


def ticket_links(seqs: list[int], stored: Mapping[int, dict]) -> dict[int, list[Message]]:
    """Check a ticket's events, at ``seqs``, in their site's chain, from ``stored``: the
    site's stored events at ``neighbours(seqs)`` (``{seq, hash, prev_hash, body}``, as
    ``HQStore.events_at`` returns them). Return each seq's problems ([]: it verifies):
    its hash recomputed from the stored body, its link to the event before it (the
    stored event at seq - 1 has the hash this one names; the first links to GENESIS),
    and the link of the event after it, if the site holds one."""
    found: dict[int, list[Message]] = {}
    for seq in seqs:
        problems = found.setdefault(seq, [])
        row = stored.get(seq)
        try:
            event = json.loads(row["body"]) if row else None
        except ValueError:
            event = None
        if not isinstance(event, dict):
            problems.append(Message(UNREADABLE))
            continue
        if event.get("seq") != seq:
            problems.append(Message(OTHER_SEQ, {"seq": seq, "said": event.get("seq")}))
        if event_hash(event) != row["hash"]:
            problems.append(Message(NOT_ITS_HASH))
        before = GENESIS if seq == 1 else (stored.get(seq - 1) or {}).get("hash")
        if before is None:
            problems.append(Message(NO_PREVIOUS, {"seq": seq - 1}))
        elif before != row["prev_hash"] or event.get("prev_hash") != row["prev_hash"]:
            problems.append(Message(NOT_LINKED, {"seq": seq - 1}))
        after = stored.get(seq + 1)
        if after is not None and after["prev_hash"] != row["hash"]:
            problems.append(Message(NEXT_NOT_LINKED, {"seq": seq + 1}))
    return found


def _stored(store: HQStore, site_id: str, after: int = 0) -> Iterator[tuple[int, dict | str]]:
    """Yield a site's stored events as HQ links them: with the hash in HQ's own column."""
    for seq, stored_hash, body in iter_chain(store, site_id, after=after):
        try:
            event = json.loads(body)
            if not isinstance(event, dict):
                raise ValueError("not an object")
        except ValueError:
            yield seq, "the stored event is unreadable"
            continue
        yield seq, {**event, "hash": stored_hash}
