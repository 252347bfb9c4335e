"""The dashboard's reads of the PostgreSQL backend (a mixin of ``PostgresStore``).

The same answers as ``sqlite_reads.py``: times as ``utc_iso`` text, ticket state without
the visitor's status token. A site summary reads the site's ``last_seq`` from its row and
counts open tickets through the partial index of open tickets: no page scans ``events``.
"""
from __future__ import annotations

import json

from . import ticket_list
from .sqlite_reads import ALARM_COLUMNS
from .storage import HIDDEN, issued_report, shown_ticket

_OPEN = "t.status <> 'closed'"
_DESK_OPEN = ("SELECT COUNT(*) FROM desk_records d WHERE d.site_id = s.site_id "
              "AND d.closed_at IS NULL")
_TICKETS = ("SELECT t.site_id, t.state, s.name AS site_name FROM tickets t "
            "JOIN sites s ON s.site_id = t.site_id")


def pg_text(value):
    """Return a string PostgreSQL can hold: U+0000 (which no text or jsonb value may
    contain) as U+FFFD. The columns and read model derived from an event are stored so,
    and every lookup passes its arguments here, so a name with U+0000 finds the same row
    (or none); an event's body keeps its exact JSON (U+0000 escaped), so its chain still
    verifies."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


#: a listed ticket: its state, its site's name and its place's names (``places``)
_LISTED = ("SELECT t.site_id, t.state, s.name AS site_name, p.name_zh AS place_zh, "
           "p.name_en AS place_en FROM tickets t JOIN sites s ON s.site_id = t.site_id "
           "LEFT JOIN places p ON p.site_id = t.site_id AND p.code = t.state ->> 'location'")


def _state(row, hidden: tuple[str, ...] = HIDDEN) -> dict:
    places = {k: row[k] for k in ("place_zh", "place_en") if k in row}
    return shown_ticket(row["state"], row, places, hidden)


def tickets_query(site_id=None, category=None, status=None, reported_from=None,
                  reported_before=None, after=None, limit=500, **search) -> tuple[str, list]:
    """Return the SQL and arguments of ``tickets`` (bench/hq_dashboard.py EXPLAINs it).

    Every filter and search has an index ending in (reported_at, site_id, ticket_id)
    (0001_initial.sql, 0004_ticket_search.sql), walked backwards from the cursor: a page
    reads its rows and stops, however deep it is and whatever the filters; late tickets
    are the few open ones due before now (``tickets_late``).
    """
    where, args = ticket_list.conditions(site_id, category, status, reported_from,
                                         reported_before, after, **search, mark="%s",
                                         cast="::timestamptz")
    sql = (_LISTED + (" WHERE " + " AND ".join(where) if where else "")
           + ticket_list.ORDER + " LIMIT %s")
    return sql, [*args, limit]


def count_query(site_id=None, category=None, status=None, reported_from=None,
                reported_before=None, cap=ticket_list.COUNT_CAP, **search) -> tuple[str, list]:
    """Return the SQL and arguments of ``ticket_count``: the rows ``tickets_query``'s
    conditions find through the same indexes, counted up to ``cap`` + 1 and no further."""
    where, args = ticket_list.conditions(site_id, category, status, reported_from,
                                         reported_before, **search, mark="%s")
    return ("SELECT COUNT(*) AS n FROM (SELECT 1 FROM tickets t"
            + (" WHERE " + " AND ".join(where) if where else "") + " LIMIT %s) found",
            [*args, cap + 1])


class ReadsMixin:
    """Read-only queries for the dashboard; ``self._rows(sql, args)`` runs one."""

    def site_summaries(self, now, site_id=None) -> list[dict]:
        return self._rows(
            f"""SELECT s.site_id, s.name, s.revoked::int AS revoked, s.last_contact,
              s.events_received, s.kiosk_last_seq, s.kiosk_version, s.kiosk_clock,
              s.heartbeat_seconds,
              (SELECT COUNT(*) FROM tickets t WHERE t.site_id = s.site_id AND {_OPEN})
                AS open_tickets,
              (SELECT COUNT(*) FROM tickets t WHERE t.site_id = s.site_id AND {_OPEN}
                AND t.category = 'repair' AND t.due_at < %(now)s) AS late_repairs,
              (SELECT COUNT(*) FROM tickets t WHERE t.site_id = s.site_id AND {_OPEN}
                AND t.category = 'emergency') AS emergencies,
              (SELECT COUNT(*) FROM tickets t WHERE t.site_id = s.site_id AND {_OPEN}
                AND t.category = 'complaint' AND NOT t.signed_off) AS unsigned_complaints,
              (SELECT COUNT(*) FROM alarms a WHERE a.site_id = s.site_id
                AND a.acked_at IS NULL) AS alarms_open,
              (SELECT COUNT(*) FROM alarms a WHERE a.site_id = s.site_id
                AND a.acked_at IS NOT NULL) AS alarms_acked,
              ({_DESK_OPEN} AND d.kind = 'parcel') AS parcels_waiting,
              ({_DESK_OPEN} AND d.kind = 'item' AND d.due_at < %(now)s) AS items_overdue,
              ({_DESK_OPEN} AND d.kind = 'handover') AS handovers_pending,
              NULLIF(s.last_seq, 0) AS last_seq
            FROM sites s {"WHERE s.site_id = %(site_id)s" if site_id else ""}
            ORDER BY s.site_id""", {"now": now, "site_id": site_id})

    def tickets(self, site_id=None, category=None, status=None, reported_from=None,
                reported_before=None, after=None, limit=500, **search) -> list[dict]:
        sql, args = tickets_query(site_id, category, status, reported_from, reported_before,
                                  after, limit, **search)
        return [_state(r) for r in self._rows(sql, args)]

    def ticket_count(self, site_id=None, category=None, status=None, reported_from=None,
                     reported_before=None, cap=ticket_list.COUNT_CAP, **search) -> int:
        sql, args = count_query(site_id, category, status, reported_from, reported_before,
                                cap, **search)
        return self._rows(sql, args)[0]["n"]

    def ticket(self, site_id, ticket_id) -> dict | None:
        rows = self._rows(_LISTED + " WHERE t.site_id = %s AND t.ticket_id = %s",
                          (site_id, ticket_id))
        return _state(rows[0]) if rows else None

    def events_at(self, site_id, seqs) -> dict[int, dict]:
        return {r["seq"]: r for r in self._rows(
            "SELECT seq, hash, prev_hash, body FROM events WHERE site_id = %s "
            "AND seq = ANY(%s)", (site_id, list(seqs)))} if seqs else {}

    def ticket_events(self, site_id, ticket_id) -> list[dict]:
        return [{**json.loads(r["body"]), "applied": r["applied"],
                 "received_at": r["received_at"]} for r in self._rows(
            "SELECT body, applied, received_at FROM events WHERE site_id = %s "
            "AND ticket_id = %s ORDER BY seq", (site_id, ticket_id))]

    def chain(self, site_id, after=0, limit=1000) -> list[tuple]:
        return [(r["seq"], r["hash"], r["body"]) for r in self._rows(
            "SELECT seq, hash, body FROM events WHERE site_id = %s AND seq > %s "
            "ORDER BY seq LIMIT %s", (site_id, after, limit))]

    def alarms(self, site_id=None, limit=200) -> list[dict]:
        sql = f"SELECT {ALARM_COLUMNS} FROM alarms"
        args: tuple = (limit,)
        if site_id:
            sql += " WHERE site_id = %s"
            args = (site_id, limit)
        return self._rows(sql + " ORDER BY id DESC LIMIT %s", args)

    def issued_reports(self, site_id=None, limit=200) -> list[dict]:
        sql = ("SELECT e.site_id, e.seq, e.body, e.received_at, s.name AS site_name "
               "FROM events e JOIN sites s ON s.site_id = e.site_id "
               "WHERE e.type = 'report_issued' AND e.applied")
        args: tuple = (limit,)
        if site_id:
            sql += " AND e.site_id = %s"
            args = (site_id, limit)
        return [issued_report(r) for r in self._rows(
            sql + " ORDER BY e.at DESC, e.site_id, e.seq DESC LIMIT %s", args)]

    def tickets_reported(self, start, end, site_id=None) -> list[dict]:
        sql = _TICKETS + " WHERE t.reported_at >= %s AND t.reported_at < %s"
        args: tuple = (start, end)
        if site_id:
            sql += " AND t.site_id = %s"
            args = (*args, site_id)
        return [_state(r, ("token",)) for r in self._rows(
            sql + " ORDER BY t.reported_at, t.site_id, t.ticket_id", args)]
