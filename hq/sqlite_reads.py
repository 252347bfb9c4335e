"""The dashboard's reads of the SQLite backend (a mixin of ``SQLiteStore``).

Ticket state comes back without the visitor's status token: it is a bearer secret for
the kiosk's public status page and HQ never shows it.
"""
from __future__ import annotations

import json
from datetime import datetime

from .storage import utc_iso

_HIDDEN = ("token", "events")
_OPEN = "t.status != 'closed'"


def _state(row) -> dict:
    state = {k: v for k, v in json.loads(row["state"]).items() if k not in _HIDDEN}
    return {**state, "site_id": row["site_id"], "site_name": row["site_name"]}


class ReadsMixin:
    """Read-only queries for the dashboard; ``self._db()`` gives this thread's connection."""

    def site_summaries(self, now: datetime) -> list[dict]:
        return [dict(r) for r in self._db().execute(
            f"""SELECT s.site_id, s.name, s.revoked, s.last_contact, s.events_received,
              (SELECT COUNT(*) FROM tickets t WHERE t.site_id = s.site_id AND {_OPEN})
                AS open_tickets,
              (SELECT COUNT(*) FROM tickets t WHERE t.site_id = s.site_id AND {_OPEN}
                AND t.category = 'repair' AND t.due_at < ?) AS late_repairs,
              (SELECT COUNT(*) FROM tickets t WHERE t.site_id = s.site_id AND {_OPEN}
                AND t.category = 'emergency') AS emergencies,
              (SELECT COUNT(*) FROM alarms a WHERE a.site_id = s.site_id) AS alarms,
              (SELECT MAX(seq) FROM events e WHERE e.site_id = s.site_id) AS last_seq
            FROM sites s ORDER BY s.site_id""", (utc_iso(now),))]

    def tickets(self, site_id=None, category=None, status=None, limit=500) -> list[dict]:
        where, args = [], []
        if site_id:
            where.append("t.site_id = ?")
            args.append(site_id)
        if category:
            where.append("t.category = ?")
            args.append(category)
        if status == "not_closed":
            where.append(_OPEN)
        elif status:
            where.append("t.status = ?")
            args.append(status)
        sql = ("SELECT t.site_id, t.state, s.name AS site_name FROM tickets t "
               "JOIN sites s ON s.site_id = t.site_id"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY t.reported_at DESC, t.site_id, t.ticket_id LIMIT ?")
        return [_state(r) for r in self._db().execute(sql, (*args, limit))]

    def ticket(self, site_id, ticket_id) -> dict | None:
        row = self._db().execute(
            "SELECT t.site_id, t.state, s.name AS site_name FROM tickets t "
            "JOIN sites s ON s.site_id = t.site_id WHERE t.site_id = ? AND t.ticket_id = ?",
            (site_id, ticket_id)).fetchone()
        return _state(row) if row else None

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
        sql = "SELECT site_id, seq, kind, detail, at FROM alarms"
        args: tuple = (limit,)
        if site_id:
            sql += " WHERE site_id = ?"
            args = (site_id, limit)
        return [dict(r) for r in self._db().execute(sql + " ORDER BY id DESC LIMIT ?", args)]
