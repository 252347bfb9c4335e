"""HQ sign-in under parallel requests over real HTTP, with the production PIN hash: at most
five PINs are judged before the lock however many arrive at once, a burst with the right
PIN never both locks and signs in, and each client's attempts are throttled too."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hq_helpers import CHEAP_PINS, PIN
from live import Counted, LiveApp, burst

from common import pins
from hq import create_hq_app
from hq.accounts import add_account

WRONG = [f"{n:06d}" for n in range(100000, 100030)]


@pytest.fixture
def start(backend, clock):
    """Start HQ over HTTP (production PIN hash unless asked otherwise)."""
    started = []

    def start_hq(**config) -> LiveApp:
        app = create_hq_app({"TESTING": True, **backend.config(f"hq{len(started)}"),
                             "CLOCK": clock, **config})
        started.append(LiveApp(app))
        return started[-1]

    yield start_hq
    for live in started:
        live.stop()
        live.app.extensions["hq_store"].close()


def add(live, name, pin=PIN):
    """Add an account, its PIN hashed as the app hashes (scrypt: each check takes a while,
    so the attempts of a burst are judged at the same time, not one after the other)."""
    add_account(live.app.extensions["hq_store"], live.app.extensions["hq_pins"], name, pin,
                live.app.config["CLOCK"]())


def ready_browsers(live, count, source="127.0.0.1"):
    browsers = [live.browser(source=source) for _ in range(count)]
    for b in browsers:
        b.get("/lang/en")
    return [(b, b.csrf("/login")) for b in browsers]


def send(browser, token, name, pin):
    return browser.post("/login", {"csrf_token": token, "name": name, "pin": pin})


def locked_now(live, name) -> bool:
    until = live.app.extensions["hq_store"].admin(name)["locked_until"]
    return bool(until and until > live.app.config["CLOCK"]().isoformat())


def says_locked(reply) -> bool:
    return reply.status == 429 and "this account is locked" in reply.text


def test_wrong_pins_sent_eight_at_a_time_are_judged_at_most_five_times(start):
    live = start(SIGN_IN_LIMIT=1000)
    add(live, "Zhao Min")
    judged = Counted(live.app.extensions["hq_pins"], "check", delay=0.3)
    wrong = iter(WRONG)
    replies = []
    for _ in range(3):
        ready = ready_browsers(live, 8)
        replies += burst([lambda b=b, t=t, p=next(wrong): send(b, t, "Zhao Min", p)
                          for b, t in ready])
    assert judged.calls <= pins.MAX_FAILURES, judged.calls
    assert not any(r.status == 303 for r in replies)
    assert locked_now(live, "Zhao Min")


def test_a_burst_with_the_right_pin_never_both_locks_and_signs_in(start):
    live = start(SIGN_IN_LIMIT=1000)
    judged = Counted(live.app.extensions["hq_pins"], "check", delay=0.3)
    rng = random.Random(8)
    for round_ in range(3):
        name = f"Admin {round_}"
        add(live, name)
        sent = WRONG[:7] + [PIN]
        rng.shuffle(sent)
        before = judged.calls
        ready = ready_browsers(live, 8)
        replies = burst([lambda b=b, t=t, p=p: send(b, t, name, p)
                         for (b, t), p in zip(ready, sent)])
        signed_in = any(r.status == 303 for r in replies)
        locked = any(says_locked(r) for r in replies) or locked_now(live, name)
        assert judged.calls - before <= pins.MAX_FAILURES, round_
        assert not (signed_in and locked), (round_, [r.status for r in replies])
        assert signed_in or locked


def test_each_client_is_throttled_with_a_clear_429(start, clock):
    live = start(PIN_HASH_METHOD=CHEAP_PINS, SIGN_IN_LIMIT=4, SIGN_IN_WINDOW_SECONDS=120)
    add(live, "Zhao Min")
    (browser, token), = ready_browsers(live, 1)
    assert send(browser, token, "Zhao Min", PIN).status == 303  # a success is not counted
    browser.post("/logout", {"csrf_token": browser.csrf("/")})
    token = browser.csrf("/login")
    replies = [send(browser, token, f"Made Up {n}", "123456") for n in range(6)]
    assert [r.status for r in replies] == [422] * 4 + [429] * 2
    refused = replies[-1]
    assert refused.headers["retry-after"] == "120"
    assert "Too many sign-in attempts from this device. Please try again after 10:02." \
        in refused.text  # HQ's time zone, Asia/Shanghai
    chinese = live.browser()
    assert "登录尝试次数过多" in send(chinese, chinese.csrf("/login"), "Zhao Min", PIN).text
    elsewhere = live.browser(source="127.0.0.2")
    assert send(elsewhere, elsewhere.csrf("/login"), "Zhao Min", PIN).status == 303
    clock.now += timedelta(seconds=120)
    assert send(browser, token, "Zhao Min", PIN).status == 303
