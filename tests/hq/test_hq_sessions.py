"""HQ dashboard sessions end on the server: a copied cookie is worth nothing after sign-out
or a PIN change, also across a restart; cookies are ``Secure`` when HQ is served over
HTTPS. Over real HTTP (waitress on 127.0.0.1, ``live.py``)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hq_helpers import CHEAP_PINS, PIN, csrf_token, sign_in
from live import LiveApp

from common.pins import PinHasher
from hq import create_hq_app
from hq.accounts import add_account


@pytest.fixture
def live(hq, store):
    add_account(store, PinHasher(CHEAP_PINS), "Zhao Min", PIN, hq.config["CLOCK"]())
    add_account(store, PinHasher(CHEAP_PINS), "Qian Li", "135790", hq.config["CLOCK"]())
    server = LiveApp(hq)
    yield server
    server.stop()


def signed_in(live, name="Zhao Min", pin=PIN):
    browser = live.browser()
    reply = browser.sign_in("/login", name, pin)
    assert reply.status == 303 and reply.location == "/", reply.text[:300]
    assert browser.get("/").status == 200
    return browser


def is_signed_out(browser) -> bool:
    reply = browser.get("/")
    return reply.status == 303 and reply.location == "/login"


def test_a_copied_cookie_is_signed_out_with_its_owner(live):
    desk = signed_in(live)
    thief, other = desk.copy(), signed_in(live)
    assert thief.get("/").status == 200
    reply = desk.post("/logout", {"csrf_token": desk.csrf("/")})
    assert reply.status == 303 and reply.location == "/login"
    assert is_signed_out(desk) and is_signed_out(thief)
    assert other.get("/").status == 200  # only that session ended


def test_using_a_session_does_not_hand_out_a_fresh_cookie(live):
    desk = signed_in(live)
    seen = len(desk.set_cookies)
    for path in ("/", "/tickets", "/"):
        assert desk.get(path).status == 200
    assert len(desk.set_cookies) == seen


def test_a_new_pin_ends_every_session_of_that_account_at_once(live, runner, backend):
    zhao = signed_in(live)
    copy, qian = zhao.copy(), signed_in(live, "Qian Li", "135790")
    result = runner.invoke("hq", *backend.args(), "admin", "pin", "zhao min", "--pin",
                           "97531246")  # while the server runs
    assert result.exit_code == 0, result.output
    assert "Zhao Min" in result.output and "97531246" not in result.output
    assert is_signed_out(zhao) and is_signed_out(copy)
    assert qian.get("/").status == 200
    assert live.browser().sign_in("/login", "Zhao Min", PIN).status == 422
    signed_in(live, "Zhao Min", "97531246")


def test_the_pin_command_checks_what_it_is_given(runner, hq, store, backend):
    sign_in(hq.test_client(), store)
    data = backend.args()
    short = runner.invoke("hq", *data, "admin", "pin", "Zhao Min", "--pin", "12")
    assert short.exit_code == 1 and "6 to 12 digits" in short.output
    nobody = runner.invoke("hq", *data, "admin", "pin", "Nobody", "--pin", "123456")
    assert nobody.exit_code == 1 and "No account" in nobody.output
    prompted = runner.invoke("hq", *data, "admin", "pin", "Zhao Min",
                             input="135791\n135792\n135791\n135791\n")
    assert prompted.exit_code == 0 and "do not match" in prompted.output.lower()
    assert "135791" not in prompted.output
    assert store.admin("Zhao Min")["pin_hash"].startswith("scrypt:")


def test_a_new_pin_clears_a_lock(hq, client, store, clock):
    sign_in(hq.test_client(), store)
    token = csrf_token(client, "/login")
    for _ in range(5):
        client.post("/login", data={"csrf_token": token, "name": "Zhao Min", "pin": "000000"})
    assert store.admin("Zhao Min")["locked_until"]
    store.set_admin_pin("Zhao Min", PinHasher(CHEAP_PINS).hash("112233"))
    assert store.admin("Zhao Min")["locked_until"] is None
    reply = client.post("/login", data={"csrf_token": token, "name": "Zhao Min",
                                        "pin": "112233"})
    assert reply.status_code == 303


def test_a_restart_never_brings_back_an_ended_session(hq, live, clock, backend):
    ended, kept = signed_in(live), signed_in(live, "Qian Li", "135790")
    copy = ended.copy()
    ended.post("/logout", {"csrf_token": ended.csrf("/")})
    live.stop()
    hq.extensions["hq_store"].close()
    again = create_hq_app({"TESTING": True, **backend.config(), "CLOCK": clock,
                           "PIN_HASH_METHOD": CHEAP_PINS, "SECRET_KEY": hq.config["SECRET_KEY"]})
    restarted = LiveApp(again, port=live.port)
    try:
        assert is_signed_out(copy)
        assert kept.get("/").status == 200
        clock.now += timedelta(seconds=again.config["IDLE_SECONDS"] + 61)
        assert is_signed_out(kept)  # idle, also after a restart
    finally:
        restarted.stop()
        again.extensions["hq_store"].close()


def test_an_idle_session_ends_on_the_server_too(live, clock, hq):
    desk = signed_in(live)
    idle = hq.config["IDLE_SECONDS"]
    for _ in range(3):
        clock.now += timedelta(seconds=idle - 120)
        assert desk.get("/").status == 200
    copy = desk.copy()
    clock.now += timedelta(seconds=idle + 1)
    assert is_signed_out(desk) and is_signed_out(copy)
    clock.now -= timedelta(seconds=idle)  # even if the clock went back, it stays ended
    assert is_signed_out(copy)


# -- cookies over HTTPS --------------------------------------------------------------
@pytest.mark.parametrize("env, config, secure", [
    ({}, {}, False),
    ({"HQ_PUBLIC_BASE_URL": "https://hq.example.com"}, {}, True),
    ({"HQ_PUBLIC_BASE_URL": "http://10.0.0.5:8090"}, {}, False),
    ({}, {"PUBLIC_BASE_URL": "https://hq.example.com"}, True),
    ({"HQ_PUBLIC_BASE_URL": "https://hq.example.com", "HQ_SESSION_COOKIE_SECURE": "false"},
     {}, False),
])
def test_cookies_are_secure_when_hq_is_served_over_https(tmp_path, monkeypatch, env, config,
                                                         secure):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    app = create_hq_app({"TESTING": True, "DATA_DIR": str(tmp_path / "hq"), **config})
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is secure
        cookie = app.test_client().get("/setup").headers["Set-Cookie"]
        assert ("; Secure" in cookie) is secure
    finally:
        app.extensions["hq_store"].close()


def test_the_sites_page_refresh_after_the_session_ended_sends_the_page_to_sign_in(hq):
    anonymous = hq.test_client()
    refresh = anonymous.get("/?attention=1", headers={"HX-Request": "true"})
    assert refresh.status_code == 204  # nothing swapped into the table...
    assert refresh.headers["HX-Redirect"] == "/login?next=/?attention%3D1"  # ...the page goes
    page = anonymous.get("/?attention=1")
    assert page.status_code == 303 and "HX-Redirect" not in page.headers
