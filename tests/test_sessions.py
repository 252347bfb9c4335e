"""Staff sessions on the kiosk end on the server: a copied cookie is worth nothing after
sign-out, after the account is disabled and after its PIN is changed, also across a
restart. Over real HTTP (waitress on 127.0.0.1, ``live.py``)."""
from __future__ import annotations

import json
import os
import stat
from datetime import timedelta

import pytest
from helpers import CHEAP_PINS
from live import LiveApp

from kiosk import create_app

MANAGER = {"role": "manager", "id": "st-boss", "name": "Li Na"}


class Kiosk:
    """A kiosk on one data folder that can be stopped and started again (a restart)."""

    def __init__(self, data_dir, clock):
        self.data_dir, self.clock, self.live, self.port = data_dir, clock, None, 0

    def start(self) -> LiveApp:
        app = create_app({"TESTING": True, "DATA_DIR": str(self.data_dir), "SECRET_KEY": "live",
                          "CLOCK": self.clock, "PIN_HASH_METHOD": CHEAP_PINS,
                          "RATE_LIMIT": 1000})
        self.live = LiveApp(app, port=self.port)  # the same address after a restart
        self.port = self.live.port
        return self.live

    def stop(self) -> None:
        if self.live:
            self.live.stop()
            self.live.app.extensions["kiosk_store"].close()
            self.live = None

    def restart(self) -> LiveApp:
        self.stop()
        return self.start()

    @property
    def directory(self):
        return self.live.app.extensions["staff_directory"]


@pytest.fixture
def kiosk(tmp_path, clock):
    kiosk = Kiosk(tmp_path / "data", clock)
    kiosk.start()
    kiosk.directory.add("Li Na", "manager", "8642", actor=MANAGER, now=clock())
    kiosk.directory.add("Wang Fang", "receptionist", "2468", actor=MANAGER, now=clock())
    yield kiosk
    kiosk.stop()


def signed_in(kiosk, name="Wang Fang", pin="2468"):
    browser = kiosk.live.browser()
    reply = browser.sign_in("/staff/login", name, pin)
    assert reply.status == 303 and reply.location in ("/staff/", "/staff/orders/"), reply.text[:300]
    assert browser.get("/staff/").status == 200
    return browser


def stored_sessions(kiosk) -> dict:
    return json.loads((kiosk.data_dir / "sessions.json").read_text())["sessions"]


def is_signed_out(browser) -> bool:
    reply = browser.get("/staff/")
    return reply.status == 303 and reply.location == "/staff/login"


def test_a_copied_cookie_is_signed_out_with_its_owner(kiosk):
    tablet = signed_in(kiosk)
    thief = tablet.copy()
    assert thief.get("/staff/").status == 200
    reply = tablet.post("/staff/logout", {"csrf_token": tablet.csrf("/staff/")})
    assert reply.status == 303 and reply.location == "/"
    assert is_signed_out(tablet)
    assert is_signed_out(thief)  # the copy died with the session
    assert stored_sessions(kiosk) == {}


def test_using_a_session_does_not_hand_out_a_fresh_cookie(kiosk):
    tablet = signed_in(kiosk)
    seen = len(tablet.set_cookies)
    for path in ("/staff/", "/staff/team", "/staff/places"):
        tablet.get(path)
    assert len(tablet.set_cookies) == seen  # the cookie is an id, not a timestamp


def test_signing_out_ends_only_that_session(kiosk):
    tablet, phone = signed_in(kiosk), signed_in(kiosk)
    tablet.post("/staff/logout", {"csrf_token": tablet.csrf("/staff/")})
    assert is_signed_out(tablet)
    assert phone.get("/staff/").status == 200


def test_disabling_an_account_ends_all_its_sessions(kiosk):
    wang = signed_in(kiosk)
    copy, other = wang.copy(), signed_in(kiosk)
    boss = signed_in(kiosk, "Li Na", "8642")
    reply = boss.post("/staff/team/disable", {"csrf_token": boss.csrf("/staff/team"),
                                              "name": "Wang Fang"})
    assert reply.status == 303
    assert is_signed_out(wang) and is_signed_out(copy) and is_signed_out(other)
    assert boss.get("/staff/").status == 200


def test_changing_a_pin_ends_all_sessions_of_that_person(kiosk):
    wang = signed_in(kiosk)
    copy, other = wang.copy(), signed_in(kiosk)
    boss = signed_in(kiosk, "Li Na", "8642")
    reply = boss.post("/staff/team/pin", {"csrf_token": boss.csrf("/staff/team"),
                                          "name": "Wang Fang", "pin": "1357",
                                          "pin_again": "1357"})
    assert reply.status == 303 and reply.location == "/staff/team"
    assert is_signed_out(wang) and is_signed_out(copy) and is_signed_out(other)
    assert boss.get("/staff/").status == 200  # the manager's own session goes on
    assert kiosk.live.browser().sign_in("/staff/login", "Wang Fang", "2468").status == 422
    signed_in(kiosk, "Wang Fang", "1357")


def test_a_restart_never_brings_back_an_ended_session(kiosk, clock):
    ended, disabled = signed_in(kiosk), signed_in(kiosk, "Li Na", "8642")
    kiosk.directory.add("Zhao Lei", "maintenance", "9753", actor=MANAGER, now=clock())
    kept = signed_in(kiosk, "Zhao Lei", "9753")
    ended_copy = ended.copy()
    ended.post("/staff/logout", {"csrf_token": ended.csrf("/staff/")})
    disabled_copy = disabled.copy()
    kiosk.directory.disable("Li Na", actor=MANAGER, now=clock())
    kiosk.restart()
    assert is_signed_out(ended_copy) and is_signed_out(disabled_copy)
    assert kept.get("/staff/").status == 200  # a restart may keep a live session


def test_a_restart_never_revives_a_session_that_went_idle(kiosk, clock):
    idle = kiosk.live.app.config["STAFF_IDLE_SECONDS"]
    tablet = signed_in(kiosk)
    for _ in range(3):  # used for longer than the idle limit, never idle that long
        clock.now += timedelta(seconds=idle - 10)
        assert tablet.get("/staff/").status == 200
    clock.now += timedelta(seconds=idle + 1)
    copy = tablet.copy()
    assert is_signed_out(tablet)
    kiosk.restart()
    assert is_signed_out(copy)


def test_background_polling_never_keeps_a_session_alive(kiosk, clock):
    idle = kiosk.live.app.config["STAFF_IDLE_SECONDS"]
    tablet = signed_in(kiosk)
    for _ in range(3):
        clock.now += timedelta(seconds=idle // 3)
        assert tablet.get("/staff/", **{"HX-Request": "true", "HX-Trigger": "queue-rows"}
                          ).status == 200
    clock.now += timedelta(seconds=idle // 3 + 1)
    assert tablet.get("/staff/", **{"HX-Request": "true", "HX-Trigger": "queue-rows"}
                      ).status == 204  # the poll sends the tablet home
    assert is_signed_out(tablet)


@pytest.mark.parametrize("command", [("pin", "Wang Fang"), ("disable", "Wang Fang")])
def test_the_shell_ends_the_sessions_it_revokes(kiosk, runner, command):
    tablet = signed_in(kiosk)
    kiosk.stop()  # the shell works on a stopped kiosk's data folder
    result = runner.invoke("staff", *command, "--data", str(kiosk.data_dir),
                           input="1357\n1357\n")
    assert result.exit_code == 0, result.output
    kiosk.start()
    assert is_signed_out(tablet)


def test_the_session_file_holds_digests_never_a_usable_session_id(kiosk):
    tablet = signed_in(kiosk)
    app = kiosk.live.app
    cookie = app.session_interface.get_signing_serializer(app).loads(tablet.cookies["session"])
    assert set(cookie) >= {"staff_sid"} and not set(cookie) & {"staff_id", "staff_seen"}
    path = kiosk.data_dir / "sessions.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert cookie["staff_sid"] not in path.read_text()
    (entry,) = stored_sessions(kiosk).values()
    assert entry["staff_id"] == kiosk.directory.by_name("Wang Fang")["id"]
