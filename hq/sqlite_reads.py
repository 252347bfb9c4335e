"""The dashboard's reads of the SQLite backend (a mixin of ``SQLiteStore``).

Ticket state comes back without the visitor's status token: it is a bearer secret for
the kiosk's public status page and HQ never shows it.
"""
from __future__ import annotations

import json
from datetime import datetime

from . import ticket_list
from .storage import HIDDEN, issued_report, shown_ticket, utc_iso

_OPEN = "t.status != 'closed'"
#: the desk's records of a site still open (a parcel waiting, an item out, a handover not
#: acknowledged); a site summary adds the kind
_DESK_OPEN = ("SELECT COUNT(*) FROM desk_records d WHERE d.site_id = s.site_id "
              "AND d.closed_at IS NULL")
#: what ``alarms`` returns of an alarm (both backends)
ALARM_COLUMNS = "id, site_id, seq, kind, detail, at, acked_at, acked_by"


#: a listed ticket: its state, its site's name and its place's names (``places``)
LISTED = ("SELECT t.site_id, t.state, s.name AS site_name, p.name_zh AS place_zh, "
          "p.name_en AS place_en FROM tickets t JOIN sites s ON s.site_id = t.site_id "
          "LEFT JOIN places p ON p.site_id = t.site_id "
          "AND p.code = json_extract(t.state, '$.location')")


def _state(row, hidden: tuple[str, ...] = HIDDEN) -> dict:
    places = {k: row[k] for k in ("place_zh", "place_en") if k in row.keys()}
    return shown_ticket(json.loads(row["state"]), row, places, hidden)


class ReadsMixin:
    """Read-only queries for the dashboard; ``self._db()`` gives this thread's connection."""

    def site_summaries(self, now: datetime, site_id=None) -> list[dict]:
        return [dict(r) for r in self._db().execute(
            f"""SELECT s.site_id, s.name, s.revoked, s.last_contact, s.events_received,
              s.kiosk_last_seq, s.kiosk_version, s.kiosk_clock, s.heartbeat_seconds,
              (SELECT COUNT(*) FROM tickets t WHERE t.site_id = s.site_id AND {_OPEN})
                AS open_tickets,
              (SELECT COUNT(*) FROM tickets t WHERE t.site_id = s.site_id AND {_OPEN}
                AND t.category = 'repair' AND t.due_at < :now) AS late_repairs,
              (SELECT COUNT(*) FROM tickets t WHERE t.site_id = s.site_id AND {_OPEN}
                AND t.category = 'emergency') AS emergencies,
              (SELECT COUNT(*) FROM tickets t WHERE t.site_id = s.site_id AND {_OPEN}
                AND t.category = 'complaint' AND t.signed_off = 0) AS unsigned_complaints,
              (SELECT COUNT(*) FROM alarms a WHERE a.site_id = s.site_id
                AND a.acked_at IS NULL) AS alarms_open,
              (SELECT COUNT(*) FROM alarms a WHERE a.site_id = s.site_id
                AND a.acked_at IS NOT NULL) AS alarms_acked,
              ({_DESK_OPEN} AND d.kind = 'parcel') AS parcels_waiting,
              ({_DESK_OPEN} AND d.kind = 'item' AND d.due_at < :now) AS items_overdue,
              ({_DESK_OPEN} AND d.kind = 'handover') AS handovers_pending,
              (SELECT MAX(seq) FROM events e WHERE e.site_id = s.site_id) AS last_seq
            FROM sites s {"WHERE s.site_id = :site_id" if site_id else ""}
            ORDER BY s.site_id""", {"now": utc_iso(now), "site_id": site_id})]

    def tickets(self, site_id=None, category=None, status=None, reported_from=None,
                reported_before=None, after=None, limit=500, **search) -> list[dict]:
        where, args = ticket_list.conditions(site_id, category, status, reported_from,
                                             reported_before, after, **search, mark="?",
                                             time=utc_iso)
        sql = (LISTED + (" WHERE " + " AND ".join(where) if where else "")
               + ticket_list.ORDER + " LIMIT ?")
        return [_state(r) for r in self._db().execute(sql, (*args, limit))]

    def ticket_count(self, site_id=None, category=None, status=None, reported_from=None,
                     reported_before=None, cap=ticket_list.COUNT_CAP, **search) -> int:
        where, args = ticket_list.conditions(site_id, category, status, reported_from,
                                             reported_before, **search, mark="?",
                                             time=utc_iso)
        return self._db().execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM tickets t"
            + (" WHERE " + " AND ".join(where) if where else "") + " LIMIT ?)",
            (*args, cap + 1)).fetchone()[0]

    def ticket(self, site_id, ticket_id) -> dict | None:
        row = self._db().execute(LISTED + " WHERE t.site_id = ? AND t.ticket_id = ?",
                                 (site_id, ticket_id)).fetchone()
        return _state(row) if row else None

    def events_at(self, site_id, seqs) -> dict[int, dict]:
        marks = ", ".join("?" * len(seqs))
        return {r["seq"]: dict(r) for r in self._db().execute(
            f"SELECT seq, hash, prev_hash, body FROM events WHERE site_id = ? "
            f"AND seq IN ({marks})", (site_id, *seqs))} if seqs else {}

    def ticket_events(self, site_id, ticket_id) -> list[dict]:
        return [{**json.loads(r["body"]), "applied": bool(r["applied"]),
                 "received_at": r["received_at"]} for r in self._db().execute(
            "SELECT body, applied, received_at FROM events WHERE site_id = ? AND ticket_id = ? "
            "ORDER BY seq", (site_id, ticket_id))]

    def chain(self, site_id, after=0, limit=1000) -> list[tuple]:
        return [tuple(r) for r in self._db().execute(
            "SELECT seq, hash, body FROM events WHERE site_id = ? AND seq > ? "
            "ORDER BY seq LIMIT ?", (site_id, after, limit))]

    def alarms(self, site_id=None, limit=200) -> list[dict]:
        sql = f"SELECT {ALARM_COLUMNS} FROM alarms"
        args: tuple = (limit,)
        if site_id:
            sql += " WHERE site_id = ?"
            args = (site_id, limit)
        return [dict(r) for r in self._db().execute(sql + " ORDER BY id DESC LIMIT ?", args)]

    def issued_reports(self, site_id=None, limit=200) -> list[dict]:
        sql = ("SELECT e.site_id, e.seq, e.body, e.received_at, s.name AS site_name "
               "FROM events e JOIN sites s ON s.site_id = e.site_id "
               "WHERE e.type = 'report_issued' AND e.applied = 1")
        args: tuple = (limit,)
        if site_id:
            sql += " AND e.site_id = ?"
            args = (site_id, limit)
        return [issued_report(r) for r in self._db().execute(
            sql + " ORDER BY e.at DESC, e.site_id, e.seq DESC LIMIT ?", args)]

    def tickets_reported(self, start, end, site_id=None) -> list[dict]:
        sql = ("SELECT t.site_id, t.state, s.name AS site_name FROM tickets t "
               "JOIN sites s ON s.site_id = t.site_id "
               "WHERE t.reported_at >= ? AND t.reported_at < ?")
        args: tuple = (utc_iso(start), utc_iso(end))
        if site_id:
            sql += " AND t.site_id = ?"
            args = (*args, site_id)
        return [_state(r, ("token",)) for r in self._db().execute(
            sql + " ORDER BY t.reported_at, t.site_id, t.ticket_id", args)]
