"""The manager's staff-accounts page: managers only; every change signed."""
from __future__ import annotations

import pytest
from helpers import csrf_token, post_sign_in, sign_in


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


def test_a_manager_sets_a_new_pin_and_the_person_is_signed_out(app, manager, store):
    post(manager, "/staff/team", name="Wang Fang", role="receptionist", pin="1357")
    wang = app.test_client()
    sign_in(app, wang, name="Wang Fang", pin="1357")
    page = manager.get("/staff/team").get_data(as_text=True)
    assert 'action="/staff/team/pin"' in page and 'id="new_pin_again"' in page
    manager.get("/lang/en")
    response = post(manager, "/staff/team/pin", name="Wang Fang", pin="24680",
                    pin_again="24680")
    assert response.status_code == 303 and response.location.endswith("/staff/team")
    page = manager.get("/staff/team").get_data(as_text=True)
    assert "Wang Fang has a new PIN and was signed out everywhere." in page
    assert wang.get("/staff/").status_code == 303  # signed out at once
    changed = [e for e in store.events_after(0) if e["type"] == "staff_pin_changed"]
    assert len(changed) == 1 and changed[0]["actor"]["name"] == "Li Na"
    assert "24680" not in str(changed)
    assert post_sign_in(app.test_client(), "/staff/login", "Wang Fang", "1357").status_code == 422
    sign_in(app, app.test_client(), name="Wang Fang", pin="24680")


@pytest.mark.parametrize("fields, field", [
    ({"name": "Wang Fang", "pin": "12", "pin_again": "12"}, "new_pin"),
    ({"name": "Wang Fang", "pin": "2468", "pin_again": "2469"}, "new_pin_again"),
    ({"name": "Nobody", "pin": "2468", "pin_again": "2468"}, "pin_name"),
])
def test_a_bad_new_pin_is_marked_next_to_its_field_and_never_echoed(app, manager, store,
                                                                    fields, field):
    post(manager, "/staff/team", name="Wang Fang", role="receptionist", pin="1357")
    before = store.last_seq
    response = post(manager, "/staff/team/pin", **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and f'id="{field}-error"' in html
    assert f'aria-describedby="{field}-error' in html
    assert f'value="{fields["pin"]}"' not in html
    assert store.last_seq == before
    sign_in(app, app.test_client(), name="Wang Fang", pin="1357")  # the old PIN still works


def test_setting_a_pin_needs_the_forms_csrf_token(app, manager):
    post(manager, "/staff/team", name="Wang Fang", role="receptionist", pin="1357")
    response = manager.post("/staff/team/pin", data={"name": "Wang Fang", "pin": "2468",
                                                     "pin_again": "2468"})
    assert response.status_code == 400
    sign_in(app, app.test_client(), name="Wang Fang", pin="1357")


@pytest.mark.parametrize("role", ["receptionist", "maintenance"])
def test_only_a_manager_may_set_a_pin(app, client, role):
    sign_in(app, client, name="Zhao", role=role)
    token = csrf_token(client, "/staff/")
    response = client.post("/staff/team/pin", data={"csrf_token": token, "name": "Zhao",
                                                    "pin": "9999", "pin_again": "9999"})
    assert response.status_code == 403
    assert post_sign_in(app.test_client(), "/staff/login", "Zhao", "9999").status_code == 422
