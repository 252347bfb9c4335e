"""HQ's storage interface: what the server, the dashboard and the CLI ask of a database.

``HQStore`` is the contract; ``database.open_store`` picks the backend (SQLite in WAL
mode, ``sqlite.py``, or PostgreSQL, ``postgres.py``) without touching the views.
Times passed in and returned are aware UTC datetimes or UTC ISO-8601 strings.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Iterator, Mapping, Protocol


class SiteExists(ValueError):
    """A site with this id is already registered."""


class UnknownSite(LookupError):
    """No site has this id."""


class NameTaken(ValueError):
    """An admin account with this name (in any case) exists, or setup is closed."""


class UnknownAdmin(LookupError):
    """No admin account has this name."""


class HQStore(Protocol):
    """Everything HQ stores: sites and their keys, events, ticket tables, alarms, admins."""

    # -- the database ---------------------------------------------------------------
    def epoch(self) -> str:
        """Return this database's ``hq_epoch``: a random id made when it was created."""

    def set_epoch(self, epoch: str) -> None:
        """Take over another database's ``hq_epoch`` (moving a company to this one), so its
        sites keep syncing without resending. :raises ValueError: if any site exists."""

    def close(self) -> None:
        """Close every connection."""

    # -- sites and keys -------------------------------------------------------------
    def add_site(self, site_id: str, name: str, key_id: str, secret: str,
                 now: datetime) -> None:
        """Register a site with its key. :raises SiteExists: if ``site_id`` is taken."""

    def rekey_site(self, site_id: str, key_id: str, secret: str) -> None:
        """Give a site a new key (revoked or not); the old key stops working.

        :raises UnknownSite: if no site has ``site_id``.
        """

    def revoke_site(self, site_id: str) -> None:
        """Revoke a site's key. :raises UnknownSite: if no site has ``site_id``."""

    def sites(self) -> list[dict]:
        """Return every site (never its secret), by id."""

    def key(self, key_id: str) -> dict | None:
        """Return ``{site_id, key_id, secret, revoked}`` of a key, or None if unknown."""

    # -- ingesting ------------------------------------------------------------------
    def ingest_batch(self, site_id: str, events: list[dict], now: datetime,
                     report: dict | None = None) -> tuple[int, list[dict]]:
        """Judge and store a batch in ONE transaction, committed before returning.

        Folds stored events into the ticket tables, records alarms, and updates the
        site's last contact and, if the request carried one, its status ``report``
        (``ingest.parse_status``: ``kiosk_last_seq``, ``kiosk_version``, ``kiosk_clock``,
        ``heartbeat_seconds``). Return ``(acked_through, results)`` as PROTOCOL.md says.
        """

    def refuse_batch(self, site_id: str, seq: int | None, detail: str, now: datetime,
                     report: dict | None = None) -> int:
        """Record a refused batch's malformed event as an alarm (once per seq), the
        site's last contact and its status ``report`` if any; store no event. Return the
        site's highest stored seq."""

    def restore_alarm(self, alarm: dict) -> None:
        """Record an alarm another database held, ``{site_id, seq, kind, detail, at}`` and
        its acknowledgement ``acked_at``, ``acked_by`` if any, as ``alarms`` returns it
        (moving a company); one already held for its site, seq and kind is kept."""

    def last_ingest(self) -> str | None:
        """Return when a site last reached the ingest API (its last contact, UTC ISO),
        or None if none ever did."""

    # -- reading (dashboard) --------------------------------------------------------
    def site_summaries(self, now: datetime, site_id: str | None = None) -> list[dict]:
        """Return each site (or the one ``site_id``: [] if unknown) with its counts: open
        tickets, late repairs (not closed, due before ``now``), open emergencies, unsigned
        complaints (not closed, not signed off), alarms open and acknowledged, parcels
        waiting, items overdue at ``now`` and handovers not acknowledged; and its kiosk's
        last report (``hq.liveness``)."""

    def tickets(self, site_id: str | None = None, category: str | None = None,
                status: str | None = None, reported_from: datetime | None = None,
                reported_before: datetime | None = None,
                after: tuple[str, str, str] | None = None, limit: int = 500,
                **search) -> list[dict]:
        """Return up to ``limit`` tickets across sites, newest first: by ``ticket_key``
        descending. Status ``not_closed``: any but closed; ``reported_from`` /
        ``reported_before``: reported in [from, before); ``after``: the ``ticket_key`` of
        the last ticket of the previous page, so only tickets after it (keyset paging).
        ``search``: ``number`` (its ``ticket_list.number_key``), ``phone`` (digits) or
        ``phone_last4``, ``late_at`` (not closed, due before that time), ``unsigned``
        (a complaint not closed, not signed off). Each ticket comes with ``site_name``
        and its place's names ``place_zh``, ``place_en`` (None if HQ knows no such place)."""

    def ticket_count(self, site_id: str | None = None, category: str | None = None,
                     status: str | None = None, reported_from: datetime | None = None,
                     reported_before: datetime | None = None, cap: int = 10_000,
                     **search) -> int:
        """Return how many tickets ``tickets`` would find with these filters, counted
        through the same indexes up to ``cap`` + 1 and no further (more: ``cap`` + 1)."""

    def ticket(self, site_id: str, ticket_id: str) -> dict | None:
        """Return a ticket's folded state (with ``site_id``, ``site_name``, ``place_zh``,
        ``place_en``), or None."""

    def events_at(self, site_id: str, seqs: list[int]) -> dict[int, dict]:
        """Return the stored events of a site at ``seqs`` (those it holds), by seq:
        ``{seq, hash, prev_hash, body}`` as stored (the hash and link columns, the text)."""

    def ticket_events(self, site_id: str, ticket_id: str) -> list[dict]:
        """Return every stored event of a ticket, in seq order, with ``applied``."""

    def chain(self, site_id: str, after: int = 0, limit: int = 1000) -> list[tuple]:
        """Return up to ``limit`` stored ``(seq, hash, body)`` of a site after ``after``."""

    def alarms(self, site_id: str | None = None, limit: int = 200) -> list[dict]:
        """Return the alarms, newest first: ``{id, site_id, seq, kind, detail, at,
        acked_at, acked_by}`` (``acked_at`` None while the alarm is open)."""

    def ack_alarm(self, site_id: str, alarm_id: int, name: str, now: datetime) -> dict | None:
        """Acknowledge an open alarm of a site as ``name`` at ``now``; one already
        acknowledged is left as it is. Return the alarm as ``alarms`` does, or None if the
        site has no such alarm."""

    # -- reading (reports) ----------------------------------------------------------
    def issued_reports(self, site_id: str | None = None, limit: int = 200) -> list[dict]:
        """Return the customer feedback reports the sites issued (``report_issued``
        events), the last issued first, of all sites or one: ``{site_id, site_name, seq,
        at, received_at, actor, period, figures, remarks}``."""

    def tickets_reported(self, start: datetime, end: datetime,
                         site_id: str | None = None) -> list[dict]:
        """Return the folded state of every ticket reported in [start, end), of all sites
        or one, in report order: the whole ticket with its ``events`` (never its status
        token), with ``site_id`` and ``site_name``."""

    # -- dashboard accounts ---------------------------------------------------------
    def admin_count(self) -> int:
        """Return how many dashboard accounts exist."""

    def add_admin(self, name: str, pin_hash: str, now: datetime, first: bool = False) -> None:
        """Add an account. :raises NameTaken: if the name exists, or ``first`` and any does."""

    def admin(self, name: str) -> dict | None:
        """Return ``{name, pin_hash, failures, locked_until}`` of an account (any case)."""

    def admin_failed(self, name: str, max_failures: int, lock_until: datetime) -> str | None:
        """Count a wrong PIN atomically; at ``max_failures`` lock the account.

        Return the ``locked_until`` ISO time if this failure locked it, else None.
        """

    def admin_succeeded(self, name: str) -> None:
        """Clear the failure count and any lock of an account (no write if there is none)."""

    def set_admin_pin(self, name: str, pin_hash: str) -> str:
        """Give an account a new PIN hash, clear its failures and lock, and end all its
        sessions, in one transaction; return the account's name.

        :raises UnknownAdmin: if no account has ``name``.
        """

    def admin_rows(self) -> list[dict]:
        """Return every account as stored, for a move to another database:
        ``{name, pin_hash, failures, locked_until, created_at}`` (times UTC ISO)."""

    def restore_admin(self, row: dict) -> None:
        """Add an account exported by ``admin_rows`` as it was, PIN hash included.

        :raises NameTaken: if an account has this name (in any case).
        """

    # -- dashboard sessions (``common.sessions``: only digests of session ids) ------------
    def add_admin_session(self, name: str, digest: str, pin_hash: str, now: datetime,
                          idle_before: datetime) -> bool:
        """Start a session of account ``name`` unless its PIN hash is no longer
        ``pin_hash`` (changed while it was being checked); return whether it started.
        Sessions last seen before ``idle_before`` are deleted on the way."""

    def admin_session(self, digest: str) -> dict | None:
        """Return ``{name, seen_at}`` of a live session (``seen_at`` UTC ISO), or None."""

    def touch_admin_session(self, digest: str, now: datetime) -> None:
        """Record that a session was used at ``now``."""

    def end_admin_session(self, digest: str) -> None:
        """End one session (signing out, or found idle)."""


def iter_chain(store: HQStore, site_id: str, page: int = 1000,
               after: int = 0) -> Iterator[tuple]:
    """Yield every stored ``(seq, hash, body)`` of a site after seq ``after`` in seq order,
    a page at a time."""
    while True:
        rows = store.chain(site_id, after, page)
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1][0]


#: what a listed ticket leaves out of its state: the visitor's status token (a bearer
#: secret for the kiosk's public status page, never shown at HQ) and its events
HIDDEN = ("token", "events")


def shown_ticket(state: dict, row: Mapping, places: dict,
                 hidden: tuple[str, ...] = HIDDEN) -> dict:
    """Return a ticket's stored ``state`` as the store's reads return it: without
    ``hidden``, with its ``row``'s ``site_id`` and ``site_name`` and its ``places``
    (``place_zh``, ``place_en``, where the read joins them)."""
    return {**{k: v for k, v in state.items() if k not in hidden},
            "site_id": row["site_id"], "site_name": row["site_name"], **places}


def issued_report(row: Mapping) -> dict:
    """Return a stored ``report_issued`` event as ``HQStore.issued_reports`` returns it,
    from a row of its ``site_id``, ``site_name``, ``seq``, ``received_at`` and ``body``."""
    event = json.loads(row["body"])
    data = event["data"]
    return {"site_id": row["site_id"], "site_name": row["site_name"], "seq": row["seq"],
            "at": event["at"], "received_at": row["received_at"], "actor": event["actor"],
            "period": data["period"], "figures": data["figures"],
            "remarks": data.get("remarks") or ""}


def ticket_key(ticket: dict) -> tuple[str, str, str]:
    """Return where a ticket stands in the ticket list: ``(reported_at, site_id, id)``."""
    return utc_iso(ticket.get("reported_at")) or "", ticket["site_id"], ticket["id"]


def utc_iso(value: datetime | str | None) -> str | None:
    """Return a time as fixed-width UTC ISO text (sortable as text), or None if unreadable."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except (OverflowError, ValueError):
        return None
