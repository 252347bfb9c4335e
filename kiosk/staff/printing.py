"""The printed forms of a ticket, as on the desk's paper: the repair work order
(维修通知单, on A4 or on an 80 mm receipt roll) and the complaint record
(顾客投诉处理记录表, on A4).

Each is one page of print CSS (``static/css/print-forms.css``) with a Print button on
screen. They are for staff: the contact's full phone number is on them, and every step
carries the name of who took it, from the signed events of the ticket's timeline. A
text too long for its box is cut, with a note: the whole text stays on the ticket's page.
"""
from __future__ import annotations

from unicodedata import east_asian_width

from flask import Blueprint, abort, render_template, request, url_for

from common.messages import N_

from .. import web
from ..errors import render_error
from ..extensions import get_store, htmx
from ..qr import public_url
from ..tickets import rules
from .auth import STAFF_PREFIX, current_staff

bp = Blueprint("printing", __name__)

#: The work order's layouts: A4, and the 80 mm roll of a receipt printer.
LAYOUTS = ("a4", "80mm")
#: What the box of each text holds on its form's one page: (characters a row, rows).
WORK_ORDER_FITS = {
    "a4": {"description": (38, 10), "reason": (38, 2), "result": (38, 4), "materials": (38, 2)},
    "80mm": {"description": (15, 8), "reason": (15, 3), "result": (15, 3), "materials": (15, 2)},
}
COMPLAINT_FITS = {"description": (38, 5), "facts": (38, 3), "remarks": (38, 2),
                  "result": (38, 3), "said": (34, 2), "comment": (34, 2)}
NOT_DISPATCHED = (N_("This repair has not been dispatched yet"),
                  N_("Dispatch it to a department first; then its work order can be printed."))


def _ticket(tid: str, category: str) -> dict:
    """Return the ticket ``tid`` of ``category``, or answer 404."""
    ticket = get_store().ticket(tid[:40])
    if ticket is None or ticket["category"] != category:
        abort(404)
    return ticket


def _render(template: str, ticket: dict, **context):
    """Render a form of ``ticket``. A boosted link (htmx swaps the body only, and
    keeps the head) is told to load it as a page of its own, with its print stylesheet."""
    if htmx.boosted:
        return web.whole_page()
    return render_template(template, ticket=ticket, steps=latest_steps(ticket), fitted=fitted,
                           location=get_store().location(ticket["location"] or ""),
                           printed_at=web.now(), printed_by=current_staff()["name"],
                           ARRIVALS=rules.ARRIVALS, FEEDBACK_WAYS=rules.FEEDBACK_WAYS,
                           REVISIT_OUTCOMES=rules.REVISIT_OUTCOMES, **context)


def latest_steps(ticket: dict) -> dict[str, dict]:
    """Return the latest event of each type in the ticket's timeline (a step taken again,
    after a revisit reopened the ticket, shows as it was last taken)."""
    return {event["type"]: event for event in ticket["events"]}


def fitted(text: str | None, fits: tuple[int, int]) -> tuple[str, bool]:
    """Return ``text`` cut to what a box of ``fits`` (wide characters a row, rows) holds,
    and whether it was cut; then its last row is left for a note saying so.

    A Chinese character is wide; a small letter, a digit or a space counts as half of
    one, about what it takes on average.
    """
    per_row, rows = fits
    text, room = text or "", per_row * 2  # in half-widths
    lines = text.split("\n")
    if sum(_rows(line, room) for line in lines) <= rows:
        return text, False
    kept, left = [], (rows - 1) * room
    for line in lines:
        used = _rows(line, room) * room
        if used > left:
            if left:
                kept.append(_cut(line, left))
            break
        kept.append(line)
        left -= used
    return "\n".join(kept), True


def _width(text: str) -> int:
    """Return the half-widths ``text`` takes: a capital letter and a tab (tab-size 4) as
    much as a Chinese character."""
    return sum(2 if ch.isupper() or ch == "\t" or east_asian_width(ch) in "WF" else 1
               for ch in text)


def _rows(line: str, room: int) -> int:
    return max(1, -(-_width(line) // room))


def _cut(line: str, room: int) -> str:
    """Return the start of ``line`` that takes at most ``room`` half-widths."""
    for end, ch in enumerate(line):
        room -= _width(ch)
        if room < 0:
            return line[:end]
    return line


@bp.get("/t/<tid>/work-order")
def work_order(tid: str):
    """The repair work order of a dispatched repair, for the technician (R9)."""
    ticket = _ticket(tid, "repair")
    if not ticket.get("dispatched_at"):
        return render_error(409, *NOT_DISPATCHED)
    layout = request.args.get("layout", "a4")
    layout = layout if layout in LAYOUTS else "a4"
    department = get_store().department(ticket["department"]) if ticket["department"] else None
    # the technician's own page of the order (it asks them to sign in on their phone)
    order_url = public_url(f"{STAFF_PREFIX}/orders/{ticket['id']}")
    return _render("print/work_order.html", ticket, layout=layout,
                   fits=WORK_ORDER_FITS[layout], department=department, order_url=order_url)


@bp.get("/t/<tid>/complaint-record")
def complaint_record(tid: str):
    """The complaint record: every step of the complaint and who took it (R10)."""
    ticket = _ticket(tid, "complaint")
    transferred = latest_steps(ticket).get("transferred")
    code = transferred["data"].get("department") if transferred else None
    return _render("print/complaint_record.html", ticket, layout="a4", fits=COMPLAINT_FITS,
                   transferred_department=get_store().department(code) if code else None,
                   ticket_url=public_url(url_for("staff.console.ticket", tid=ticket["id"])))
