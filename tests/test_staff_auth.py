"""Staff sign-in on the kiosk: first-run setup, PINs, lock-out, idle sign-out, the guard."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers import csrf_token, post_sign_in
from flask import g
from werkzeug.routing import BaseConverter, FloatConverter, IntegerConverter, UUIDConverter

from kiosk.staff.auth import PUBLIC_ENDPOINTS

MANAGER = {"role": "manager", "id": "st-boss", "name": "Li Na"}


@pytest.fixture
def directory(app):
    return app.extensions["staff_directory"]


@pytest.fixture
def wang(directory, clock):
    return directory.add("Wang Fang", "receptionist", "2468", actor=MANAGER, now=clock())


def sign_in(client, name="Wang Fang", pin="2468", next=None):
    return post_sign_in(client, "/staff/login", name, pin, next)


def who(client, **headers) -> dict | None:
    """Return whom the guard finds signed in on a staff page (the sign-in page itself)."""
    with client:
        client.get("/staff/login", headers=headers)
        return g.get("staff")


def text(response) -> str:
    return response.get_data(as_text=True)


def without_token(response) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", text(response))


# -- first run -------------------------------------------------------------------
def test_without_staff_the_sign_in_page_leads_to_the_one_time_setup(client):
    response = client.get("/staff/login")
    assert response.status_code == 303 and response.location.endswith("/staff/setup")
    page = client.get("/staff/setup")
    html = text(page)
    assert page.status_code == 200
    assert 'name="csrf_token"' in html and 'inputmode="numeric"' in html
    assert 'id="pin_again"' in html


def test_setup_creates_the_first_manager_signs_them_in_and_closes(client, directory, store, app):
    token = csrf_token(client, "/staff/setup")
    bad = client.post("/staff/setup", data={"csrf_token": token, "name": "Li Na",
                                            "pin": "8642", "pin_again": "8643"})
    assert bad.status_code == 422 and 'id="pin_again-error"' in text(bad)
    assert 'value="Li Na"' in text(bad) and directory.all() == []
    short = client.post("/staff/setup", data={"csrf_token": token, "name": "Li Na",
                                              "pin": "12", "pin_again": "12"})
    assert short.status_code == 422 and 'id="pin-error"' in text(short)

    done = client.post("/staff/setup", data={"csrf_token": token, "name": "Li Na",
                                             "pin": "8642", "pin_again": "8642"})
    assert done.status_code == 303 and urlsplit(done.location).path == "/staff/"
    boss = directory.by_name("Li Na")
    assert boss["role"] == "manager"
    assert who(client) == {"id": boss["id"], "name": "Li Na", "role": "manager"}
    event = [e for e in store.events_after(0) if e["type"] == "staff_added"][0]
    assert event["actor"] == {"role": "manager", "id": boss["id"], "name": "Li Na"}

    assert client.get("/staff/setup").status_code == 404
    again = client.post("/staff/setup", data={"csrf_token": token, "name": "Eve",
                                              "pin": "1111", "pin_again": "1111"})
    assert again.status_code == 404 and len(directory.all()) == 1
    assert app.test_client().get("/staff/setup").status_code == 404  # for everyone


# -- signing in ------------------------------------------------------------------
def test_the_sign_in_page_is_a_touch_form_with_the_staff_idle_timer(client, wang, app):
    html = text(client.get("/staff/login"))
    assert 'name="csrf_token"' in html and 'name="next"' in html
    assert re.search(r'<input id="pin"[^>]*inputmode="numeric"', html)
    assert re.search(r'<input id="pin"[^>]*type="password"', html)
    assert f'data-idle="{app.config["STAFF_IDLE_SECONDS"]}"' in html
    assert app.config["STAFF_IDLE_SECONDS"] == 120


def test_signing_in_goes_to_the_console(client, wang):
    response = sign_in(client)
    assert response.status_code == 303 and urlsplit(response.location).path == "/staff/"
    assert who(client) == {"id": wang["id"], "name": "Wang Fang", "role": "receptionist"}
    again = client.get("/staff/login")  # already signed in
    assert again.status_code == 303 and urlsplit(again.location).path == "/staff/"


@pytest.mark.parametrize("target, expected", [
    ("/staff/t/01ABC", "/staff/t/01ABC"),
    ("/staff/record/phone", "/staff/record/phone"),
    ("/staff", "/staff"),
    ("/report/details", "/staff/"),
    ("/staffroom", "/staff/"),
    ("https://evil.example/staff/", "/staff/"),
    ("//evil.example/staff/", "/staff/"),
    ("/\\evil.example", "/staff/"),
    ("", "/staff/"),
])
def test_after_signing_in_only_a_staff_page_of_this_kiosk_is_followed(client, wang, target,
                                                                      expected):
    response = sign_in(client, next=target)
    assert response.status_code == 303
    parts = urlsplit(response.location)
    assert not parts.netloc and parts.path == expected


def test_the_guard_sends_back_to_the_page_asked_for(client, wang):
    response = client.get("/staff/t/01ABC")
    assert urlsplit(response.location).path == "/staff/login"
    target = parse_qs(urlsplit(response.location).query)["next"][0]
    assert target == "/staff/t/01ABC"
    assert 'value="/staff/t/01ABC"' in text(client.get(response.location))
    assert urlsplit(sign_in(client, next=target).location).path == "/staff/t/01ABC"


def test_a_wrong_pin_or_an_unknown_name_is_refused_alike(client, wang):
    client.get("/lang/en")
    wrong = sign_in(client, pin="1111")
    unknown = sign_in(client, name="Nobody", pin="2468")
    assert wrong.status_code == unknown.status_code == 422
    for response in (wrong, unknown):
        assert "The name or the PIN is not right." in text(response)
    assert 'value="Wang Fang"' in text(wrong)  # the name is kept, the PIN is not
    assert who(client) is None


def test_empty_fields_are_marked(client, wang):
    response = sign_in(client, name="", pin="")
    assert response.status_code == 422
    assert 'id="name-error"' in text(response) and 'id="pin-error"' in text(response)


def test_five_wrong_pins_lock_the_account_for_five_minutes(client, wang, clock):
    client.get("/lang/en")
    for _ in range(4):
        assert sign_in(client, pin="0000").status_code == 422
    locked = sign_in(client, pin="0000")
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "300"
    assert "locked until 10:05" in text(locked)  # site time, Asia/Shanghai
    clock.now += timedelta(minutes=4)
    right = sign_in(client)
    assert right.status_code == 429 and "locked until 10:05" in text(right)
    assert who(client) is None
    clock.now += timedelta(minutes=1)
    assert sign_in(client).status_code == 303 and who(client)["name"] == "Wang Fang"


def test_the_lock_message_follows_the_visitors_language(client, wang):
    for _ in range(5):
        response = sign_in(client, pin="0000")
    assert '<html lang="zh-CN">' in text(response) and "10:05" in text(response)


def test_disabled_staff_cannot_sign_in_and_are_signed_out(client, wang, directory, clock):
    assert sign_in(client).status_code == 303
    directory.disable("Wang Fang", actor=MANAGER, now=clock())
    assert who(client) is None
    client.get("/lang/en")
    refused = sign_in(client)  # the right PIN: told no more than for a wrong one (8.4)
    assert refused.status_code == 422 and "The name or the PIN is not right." in text(refused)
    wrong = sign_in(client, pin="1111")
    assert wrong.status_code == 422 and without_token(refused) == without_token(wrong)
    assert who(client) is None


def test_signing_in_detaches_the_visitors_entry_but_keeps_it(client, wang, visitor, store):
    client.get("/lang/en")
    visitor.post("/report", {"category": "repair"})
    with client.session_transaction() as session:
        draft_id = session["draft"]
    assert sign_in(client).status_code == 303
    with client.session_transaction() as session:
        assert "draft" not in session and "receipt" not in session
        assert session["lang"] == "en"
    assert store.get_draft(draft_id)["category"] == "repair"  # for the receptionist (R3)


def test_signing_out_hands_the_tablet_back_to_visitors(client, wang):
    client.get("/lang/en")
    sign_in(client)
    response = client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 303 and urlsplit(response.location).path == "/"
    assert who(client) is None
    with client.session_transaction() as session:
        assert not {"staff_sid", "staff_id", "staff_seen"} & set(session)
        assert session["lang"] == "en"


# -- idle sign-out -----------------------------------------------------------------
def test_an_idle_staff_session_is_signed_out(client, wang, clock, app):
    sign_in(client)
    idle = app.config["STAFF_IDLE_SECONDS"]
    clock.now += timedelta(seconds=idle - 20)
    assert who(client) is not None  # a touch keeps the session alive...
    clock.now += timedelta(seconds=idle - 20)
    assert who(client) is not None
    clock.now += timedelta(seconds=idle + 1)  # ...a pause longer than the limit ends it
    assert who(client) is None
    with client.session_transaction() as session:
        assert "staff_id" not in session and "staff_sid" not in session
    response = client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/")})
    assert urlsplit(response.location).path == "/staff/login"


def test_background_polling_does_not_keep_a_session_alive(client, wang, clock, app):
    sign_in(client)
    idle = app.config["STAFF_IDLE_SECONDS"]
    for _ in range(3):
        clock.now += timedelta(seconds=idle // 3)
        assert who(client, **{"HX-Request": "true", "HX-Trigger": "queue-rows"}) is not None
    clock.now += timedelta(seconds=idle // 3 + 1)
    assert who(client) is None


# -- the guard covers every staff page, including those added later ------------------
def dummy(converter: BaseConverter):
    if isinstance(converter, IntegerConverter):
        return 1
    if isinstance(converter, FloatConverter):
        return 1.5
    if isinstance(converter, UUIDConverter):
        return uuid.UUID(int=1)
    return "x1"


def test_every_staff_url_sends_the_signed_out_to_the_sign_in_page(app, client, wang):
    token = csrf_token(client, "/")
    checked = set()
    for rule in app.url_map.iter_rules():
        if not (rule.rule == "/staff" or rule.rule.startswith("/staff/")):
            continue
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        values = {name: dummy(conv) for name, conv in rule._converters.items()}
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token})
            where = f"{method} {url} ({rule.endpoint})"
            assert response.status_code == 303, where
            assert urlsplit(response.location).path == "/staff/login", where
            checked.add(rule.endpoint)
    assert "staff.auth.logout" in checked
    assert {"staff.auth.login", "staff.auth.setup"} == PUBLIC_ENDPOINTS
