"""Who may do what (rules.PERMISSIONS) and what may happen next (rules.allowed_actions):
tested as tables, refused on the server, and the only buttons a ticket page shows."""
from __future__ import annotations

import re
import pytest
from helpers import sign_in

from kiosk.tickets import rules
from sync.events import new as new_event

ROLES = ("receptionist", "manager", "maintenance")

#: action -> may (receptionist, manager, maintenance)
MAY = {
    "confirm": (True, True, False), "amend": (True, True, False),
    "note": (True, True, False), "acknowledge": (True, True, False),
    "close": (True, True, False), "record": (True, True, False),
    "dismiss_draft": (True, True, False),
    "edit_locations": (True, True, False),
    "manage_staff": (False, True, False), "configure_sync": (False, True, False),
}

#: status -> the ticket actions the desk may take on a ticket that is not an emergency
DESK_CAN = {
    "new": {"confirm", "note", "close"},
    "open": {"amend", "note", "close"},
    "dispatched": {"amend", "note", "close"},
    "in_progress": {"amend", "note", "close"},
    "resolved": {"amend", "note", "close"},
    "closed": {"note"},
}
#: ...and an emergency nobody has acknowledged yet may be acknowledged while new or open
ACKNOWLEDGEABLE = {"new", "open"}


def test_the_permission_table_is_every_action_of_the_rules():
    assert set(MAY) == set(rules.PERMISSIONS) and set(rules.ROLES) == set(ROLES)
    assert set(rules.TICKET_ACTIONS) <= set(rules.PERMISSIONS)


@pytest.mark.parametrize("action", MAY)
@pytest.mark.parametrize("role", ROLES)
def test_who_may_take_which_action(role, action):
    assert rules.may(role, action) is MAY[action][ROLES.index(role)]


@pytest.mark.parametrize("action", list(MAY) + ["anything"])
@pytest.mark.parametrize("role", [None, "visitor", "director"])
def test_nobody_else_may_do_anything(role, action):
    assert not rules.may(role, action)


@pytest.mark.parametrize("emergency", [False, True], ids=["ordinary", "emergency"])
@pytest.mark.parametrize("action", rules.TICKET_ACTIONS)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("status", rules.STATUSES)
def test_allowed_actions_for_every_status_role_and_action(status, role, action, emergency):
    ticket = {"status": status, "category": "emergency" if emergency else "repair",
              "acknowledged": False, "signed_off": False}
    expected = MAY[action][ROLES.index(role)] and (
        action in DESK_CAN[status]
        or (action == "acknowledge" and emergency and status in ACKNOWLEDGEABLE))
    assert (action in rules.allowed_actions(ticket, role)) is expected


def test_an_acknowledged_emergency_is_not_acknowledged_again():
    ticket = {"status": "open", "category": "emergency", "acknowledged": True}
    assert "acknowledge" not in rules.allowed_actions(ticket, "manager")
    with pytest.raises(rules.RuleError):
        rules.check_transition("open", "acknowledged", ticket)


def test_the_most_likely_next_step_comes_first():
    ticket = {"status": "new", "category": "emergency", "acknowledged": False}
    assert rules.allowed_actions(ticket, "receptionist")[:2] == ["confirm", "acknowledge"]


# -- on the server --------------------------------------------------------------------
STEPS = {"new": [], "open": ["confirmed"], "dispatched": ["confirmed", "dispatched"],
         "in_progress": ["confirmed", "dispatched", "arrived"],
         "resolved": ["confirmed", "dispatched", "arrived", "resolved"],
         "closed": ["confirmed", "closed"]}
DESK = {"role": "receptionist", "id": "st-desk", "name": "Desk"}


def ticket_in(visitor, store, clock, status: str, category: str = "repair") -> dict:
    """A visitor's ticket brought to ``status`` by signed events."""
    visitor.report(category=category)
    ticket = max(store.open_tickets(), key=lambda t: t["seq"])
    for kind in STEPS[status]:
        store.append([new_event(ticket["id"], kind, DESK, clock(),
                                {"reason": "done"} if kind == "closed" else {})])
    return store.ticket(ticket["id"])


@pytest.mark.parametrize("category", ["repair", "emergency"])
@pytest.mark.parametrize("role", ROLES)
def test_a_ticket_page_offers_exactly_the_allowed_actions(app, client, visitor, store, clock,
                                                          role, category):
    sign_in(app, client, name=f"A {role}", role=role)
    for status in rules.STATUSES:
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
    ("note", {"note": "fixed it"}), ("close", {"reason": "done"}),
])
def test_maintenance_may_not_change_a_ticket(client, visitor, store, clock, mechanic, path, data):
    ticket = ticket_in(visitor, store, clock, "new" if path == "confirm" else "open")
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
                       ("close", {"reason": "done"}), ("acknowledge", {})):
        response = client.post(f"/staff/t/{ticket['id']}/{path}",
                               data={"csrf_token": visitor.token, **data})
        assert response.status_code == 409, path
        assert "现在无法进行这一步" in response.get_data(as_text=True)
    assert store.last_seq == seq
