"""The manager's staff-accounts page: managers only; every change signed."""
from __future__ import annotations

import pytest
from helpers import csrf_token, sign_in


@pytest.fixture
def manager(app, client):
    sign_in(app, client, name="Li Na", role="manager")
    client.token = csrf_token(client, "/staff/team")
    return client


def post(client, path, **data):
    return client.post(path, data={"csrf_token": client.token, **data})


def test_a_manager_adds_a_receptionist_who_can_then_sign_in(app, manager, store):
    assert post(manager, "/staff/team", name="Wang Fang", role="receptionist",
                pin="1357").status_code == 303
    assert "Wang Fang" in manager.get("/staff/team").get_data(as_text=True)
    added = [e for e in store.events_after(0) if e["type"] == "staff_added"][-1]
    assert added["actor"]["name"] == "Li Na" and added["data"]["name"] == "Wang Fang"
    other = app.test_client()
    sign_in(app, other, name="Wang Fang", pin="1357")


def test_a_bad_new_account_keeps_the_name_and_never_echoes_the_pin(manager):
    response = post(manager, "/staff/team", name="Wang Fang", role="receptionist", pin="12")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'value="Wang Fang"' in html
    assert 'id="pin-error"' in html and 'value="12"' not in html


def test_a_disabled_account_cannot_sign_in(app, manager):
    post(manager, "/staff/team", name="Wang Fang", role="receptionist", pin="1357")
    assert post(manager, "/staff/team/disable", name="Wang Fang").status_code == 303
    other = app.test_client()
    response = other.post("/staff/login", data={"csrf_token": csrf_token(other, "/staff/login"),
                                                "name": "Wang Fang", "pin": "1357"})
    assert response.status_code != 303


@pytest.mark.parametrize("role", ["receptionist", "maintenance"])
def test_only_a_manager_may_manage_accounts(app, client, role):
    sign_in(app, client, name="Zhao", role=role)
    token = csrf_token(client, "/staff/")
    assert client.get("/staff/team").status_code == 403
    response = client.post("/staff/team", data={"csrf_token": token, "name": "Eve",
                                                "role": "manager", "pin": "9999"})
    assert response.status_code == 403
    assert app.extensions["staff_directory"].by_name("Eve") is None
    assert "/staff/team" not in client.get("/staff/").get_data(as_text=True)
