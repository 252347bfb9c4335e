"""Who may do what (R8), in plain Python: the staff roles, and for every action of the
site (a ticket's steps, and each feature's: places, staff, reports, registers, fees,
letters, the plan, ...) the roles that may take it. Services call ``check_role`` before
they write; pages ask ``may`` what to offer. Flask-free: HQ's ticket rules use it too.
"""
from __future__ import annotations

from common.messages import N_

ROLE_LABELS = {"receptionist": N_("Receptionist"), "manager": N_("Manager"),
               "maintenance": N_("Maintenance staff")}
ROLES = tuple(ROLE_LABELS)
DESK = frozenset({"receptionist", "manager"})
MANAGERS = frozenset({"manager"})
FIELD = frozenset({"receptionist", "manager", "maintenance"})

#: action -> the roles that may take it. Every role may look at the queue, tickets and
#: places; maintenance staff report only their own work orders' arrival and completion.
PERMISSIONS: dict[str, frozenset[str]] = {
    "confirm": DESK, "amend": DESK, "note": DESK, "close": DESK,
    "acknowledge": DESK, "escalate": DESK, "raise": DESK,
    "dispatch": DESK, "agree_deadline": DESK,
    "arrive": FIELD, "complete": FIELD,  # the desk records them from a phone call
    "investigate": DESK, "sign_off": DESK, "transfer": DESK, "resolve": DESK,
    "feed_back": DESK, "revisit": DESK,
    "record": DESK,            # record a phone call or a walk-in (R1, R2)
    "dismiss_draft": DESK,     # drop a visitor's abandoned entry from the queue (R3)
    "edit_locations": DESK,    # add, rename, retire, import places (R17)
    "manage_staff": MANAGERS,  # add and disable staff accounts
    "manage_departments": MANAGERS,  # departments and the escalation chain (R11, R12)
    "configure_sync": MANAGERS,  # the connection to HQ
    "read_reports": DESK,      # the customer feedback report, the monthly statistics (R13, R16)
    "issue_reports": MANAGERS,  # sign and send the periodic report to HQ (R13)
    "hand_over": DESK,         # prepare, sign and acknowledge a shift handover (R20)
    "write_diary": DESK,       # read and write the work diary (R20)
    "log_parcels": DESK,       # the parcel and letter register: arrivals, pickups (R19)
    "lend_items": DESK,        # the item register: lent, handed out, returned (R19)
    "publish_notices": DESK,   # write, change and withdraw the kiosk's notices (R18)
    "read_households": DESK,   # find a household, see its people, phones, tickets (R17)
    "manage_households": MANAGERS,  # a household's area and note; edit, import (R17, R21)
    "read_meters": FIELD,      # record meter readings; maintenance reads them too (抄表)
    "import_arrears": MANAGERS,  # import the list of households in arrears (R22)
    "contact_arrears": DESK,   # see the arrears list and record a contact (R22)
    "write_letters": DESK,     # fill, issue, print letters; publish one as a notice (R27)
    "edit_letter_templates": MANAGERS,  # add and change the letter templates (R27)
    "manage_fees": MANAGERS,   # keep the fee standards: a change is a new version (R25)
    "compute_fees": DESK,      # compute a unit's fee with the rule shown (R25)
    "move_in": DESK,           # the move-in hand-over checklist (R24)
    "edit_movein_steps": MANAGERS,  # the move-in checklist's steps (R24)
    "plan_tasks": DESK,        # the work plan's tasks: add, mark done, carry over (R26)
    "review_plan": MANAGERS,   # what slipped in the work plan (R26)
}
#: Actions a desk member brings to the screen but another role signs with their own PIN:
#: a complaint is signed off by a manager, even while a receptionist is signed in (R10).
SIGNERS = {"sign_off": MANAGERS}


class Forbidden(PermissionError):
    """The actor's role may not take this action at all."""


def may(role: str | None, action: str) -> bool:
    """Tell whether ``role`` may take ``action`` at all (whatever the ticket's state)."""
    return role in PERMISSIONS.get(action, ())


def may_sign(role: str | None, action: str) -> bool:
    """Tell whether ``role`` may put its name under ``action`` (``SIGNERS``, else ``may``)."""
    return role in SIGNERS[action] if action in SIGNERS else may(role, action)


def check_role(actor: dict, action: str) -> None:
    """Raise Forbidden unless ``actor``'s role may take ``action`` (``PERMISSIONS``)."""
    if not may(actor.get("role"), action):
        raise Forbidden(action)
