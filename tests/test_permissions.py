"""Who may do what (permissions.PERMISSIONS) and what may happen next (rules.allowed_actions):
tested as tables, refused on the server, and the only buttons a ticket page shows."""
from __future__ import annotations

import re
import pytest
from helpers import sign_in

from kiosk import permissions
from kiosk.tickets import rules
from sync.events import new as new_event

ROLES = ("receptionist", "manager", "maintenance")

#: action -> may (receptionist, manager, maintenance); what may happen in which state is
#: the transition table of tests/test_rules.py
DESK_ONLY, MANAGER_ONLY, ANYONE = (True, True, False), (False, True, False), (True, True, True)
MAY = {
    **{action: DESK_ONLY for action in rules.TICKET_ACTIONS},
    "arrive": ANYONE, "complete": ANYONE,  # maintenance: their own work orders
    "record": DESK_ONLY, "dismiss_draft": DESK_ONLY, "edit_locations": DESK_ONLY,
    "read_reports": DESK_ONLY, "issue_reports": MANAGER_ONLY,
    "manage_staff": MANAGER_ONLY, "manage_departments": MANAGER_ONLY,
    "configure_sync": MANAGER_ONLY,
    "hand_over": DESK_ONLY, "write_diary": DESK_ONLY,
    "log_parcels": DESK_ONLY, "lend_items": DESK_ONLY,
    "publish_notices": DESK_ONLY,
    "read_households": DESK_ONLY, "manage_households": MANAGER_ONLY,
    "read_meters": ANYONE, "import_arrears": MANAGER_ONLY, "contact_arrears": DESK_ONLY,
    "plan_tasks": DESK_ONLY, "review_plan": MANAGER_ONLY,
    "manage_fees": MANAGER_ONLY, "compute_fees": DESK_ONLY,
    "move_in": DESK_ONLY, "edit_movein_steps": MANAGER_ONLY,
    "write_letters": DESK_ONLY, "edit_letter_templates": MANAGER_ONLY,
}


def test_the_permission_table_is_every_action_of_the_rules():
    assert set(MAY) == set(permissions.PERMISSIONS) and set(permissions.ROLES) == set(ROLES)
    assert set(rules.TICKET_ACTIONS) <= set(permissions.PERMISSIONS)


@pytest.mark.parametrize("action", MAY)
@pytest.mark.parametrize("role", ROLES)
def test_who_may_take_which_action(role, action):
    assert permissions.may(role, action) is MAY[action][ROLES.index(role)]


@pytest.mark.parametrize("action", list(MAY) + ["anything"])
@pytest.mark.parametrize("role", [None, "visitor", "director"])
def test_nobody_else_may_do_anything(role, action):
    assert not permissions.may(role, action)


def test_only_a_manager_signs_a_complaint_off_though_the_desk_brings_the_form():
    assert permissions.may("receptionist", "sign_off") and not permissions.may_sign("receptionist", "sign_off")
    assert permissions.may_sign("manager", "sign_off") and not permissions.may_sign("maintenance", "sign_off")


def test_an_acknowledged_emergency_is_not_acknowledged_again():
    ticket = {"status": "open", "category": "emergency", "acknowledged": True}
    assert "acknowledge" not in rules.allowed_actions(ticket, "manager")
    with pytest.raises(rules.RuleError):
        rules.check_transition("open", "acknowledged", ticket)


def test_the_most_likely_next_step_comes_first():
    ticket = {"status": "new", "category": "emergency", "acknowledged": False}
    assert rules.allowed_actions(ticket, "receptionist")[:2] == ["acknowledge", "confirm"]
    ticket = {"status": "open", "category": "repair"}
    assert rules.allowed_actions(ticket, "receptionist")[0] == "dispatch"


# -- on the server --------------------------------------------------------------------
STEPS = {"new": [], "open": ["confirmed"], "dispatched": ["confirmed", "dispatched"],
         "in_progress": ["confirmed", "dispatched", "arrived"],
         "resolved": ["confirmed", "dispatched", "arrived", "completed"],
         "closed": ["confirmed", "closed"]}
EMERGENCY_STEPS = {**STEPS, "dispatched": None, "in_progress": None,
                   "resolved": ["confirmed", "acknowledged", "resolved"]}
DESK = {"role": "receptionist", "id": "st-desk", "name": "Desk"}


def ticket_in(visitor, store, clock, status: str, category: str = "repair") -> dict:
    """A visitor's ticket brought to ``status`` by signed events."""
    visitor.report(category=category)
    ticket = max(store.open_tickets(), key=lambda t: t["seq"])
    for kind in (EMERGENCY_STEPS if category == "emergency" else STEPS)[status]:
        store.append([new_event(ticket["id"], kind, DESK, clock(),
                                {"reason": "withdrawn"} if kind == "closed" else {})])
    return store.ticket(ticket["id"])


@pytest.mark.parametrize("category", ["repair", "emergency"])
@pytest.mark.parametrize("role", ROLES)
def test_a_ticket_page_offers_exactly_the_allowed_actions(app, client, visitor, store, clock,
                                                          role, category):
    sign_in(app, client, name=f"A {role}", role=role)
    for status in rules.STATUSES:
        if (EMERGENCY_STEPS if category == "emergency" else STEPS)[status] is None:
            continue  # an emergency is never dispatched
        ticket = ticket_in(visitor, store, clock, status, category)
        assert ticket["status"] == status
        html = client.get(f"/staff/t/{ticket['id']}").get_data(as_text=True)
        shown = set(re.findall(r'data-action="([a-z_]+)"', html))
        assert shown == set(rules.allowed_actions(ticket, role)), (status, role)


@pytest.fixture
def mechanic(app, client):
    return sign_in(app, client, name="An Qi", role="maintenance")


@pytest.mark.parametrize("path, data", [
    ("confirm", {"description": "x"}), ("amend", {"description": "changed"}),
    ("note", {"note": "fixed it"}), ("close", {"reason": "withdrawn", "confirm": "yes"}),
    ("dispatch", {"department": "maintenance"}), ("revisit", {"outcome": "satisfied"}),
])
def test_maintenance_may_not_change_a_ticket(client, visitor, store, clock, mechanic, path, data):
    status = {"confirm": "new", "revisit": "resolved"}.get(path, "open")
    ticket = ticket_in(visitor, store, clock, status)
    seq, token = store.last_seq, visitor.token
    response = client.post(f"/staff/t/{ticket['id']}/{path}", data={"csrf_token": token, **data})
    assert response.status_code == 403
    assert store.last_seq == seq and store.ticket(ticket["id"]) == ticket


@pytest.mark.parametrize("channel", ["phone", "walk_in"])
def test_maintenance_may_not_record_calls_or_visits(client, store, visitor, mechanic, channel):
    seq = store.last_seq
    assert client.get(f"/staff/record/{channel}").status_code == 403
    response = client.post(f"/staff/record/{channel}", data={
        "csrf_token": visitor.token, "category": "inquiry", "description": "Hours?"})
    assert response.status_code == 403 and store.last_seq == seq


def test_a_step_the_state_refuses_is_a_409_that_writes_nothing(app, client, visitor, store,
                                                               clock):
    sign_in(app, client)
    ticket = ticket_in(visitor, store, clock, "closed")
    seq = store.last_seq
    for path, data in (("confirm", {}), ("amend", {"description": "y"}),
                       ("close", {"reason": "withdrawn", "confirm": "yes"}),
                       ("acknowledge", {}), ("dispatch", {"department": "maintenance"})):
        response = client.post(f"/staff/t/{ticket['id']}/{path}",
                               data={"csrf_token": visitor.token, **data})
        assert response.status_code == 409, path
        assert "现在无法进行这一步" in response.get_data(as_text=True)
    assert store.last_seq == seq
