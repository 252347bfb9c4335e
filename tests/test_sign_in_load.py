"""Staff sign-in on the kiosk under parallel requests over real HTTP, with the production
PIN hash: at most five PINs are judged before the lock, a burst never both locks and
signs in, the public status page stays fast while PINs are hashed, and each client's
attempts are throttled too."""
from __future__ import annotations

import gc
import random
import threading
import time
from datetime import timedelta

import pytest
from helpers import CHEAP_PINS, Visitor
from live import Counted, LiveApp, burst

from common import pins
from kiosk import create_app

MANAGER = {"role": "manager", "id": "st-boss", "name": "Li Na"}
PIN = "2468"
WRONG = [f"{n:04d}" for n in range(1000, 1030)]


@pytest.fixture
def start(tmp_path, clock):
    """Start a kiosk over HTTP (production PIN hash unless asked otherwise)."""
    started = []

    def start_kiosk(**config) -> LiveApp:
        app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / f"data{len(started)}"),
                          "SECRET_KEY": "live", "CLOCK": clock, "RATE_LIMIT": 1000, **config})
        started.append(LiveApp(app))
        return started[-1]

    yield start_kiosk
    for live in started:
        live.stop()
        live.app.extensions["kiosk_store"].close()


def add(live, name, pin=PIN, role="receptionist"):
    directory = live.app.extensions["staff_directory"]
    return directory.add(name, role, pin, actor=MANAGER, now=live.app.config["CLOCK"]())


def ready_browsers(live, count, source="127.0.0.1"):
    """Browsers each holding the sign-in page's CSRF token, ready to send the form."""
    browsers = [live.browser(source=source) for _ in range(count)]
    return [(b, b.csrf("/staff/login")) for b in browsers]


def send(browser, token, name, pin):
    return browser.post("/staff/login", {"csrf_token": token, "name": name, "pin": pin})


def locked_now(live, name) -> bool:
    record = live.app.extensions["staff_directory"].pin_record(name)
    until = record and record["locked_until"]
    return bool(until and until > live.app.config["CLOCK"]())


def says_locked(reply) -> bool:
    return reply.status == 429 and "已锁定" in reply.text


def test_wrong_pins_sent_eight_at_a_time_are_judged_at_most_five_times(start):
    live = start(SIGN_IN_LIMIT=1000)
    add(live, "Wang Fang")
    judged = Counted(live.app.extensions["staff_directory"].hasher, "check", delay=0.3)
    wrong = iter(WRONG)
    replies = []
    for _ in range(3):
        ready = ready_browsers(live, 8)
        replies += burst([lambda b=b, t=t, p=next(wrong): send(b, t, "Wang Fang", p)
                          for b, t in ready])
    assert judged.calls <= pins.MAX_FAILURES
    assert not any(r.status == 303 for r in replies)
    assert locked_now(live, "Wang Fang")
    assert sum(says_locked(r) for r in replies) >= len(replies) - pins.MAX_FAILURES - 8


def test_a_burst_with_the_right_pin_never_both_locks_and_signs_in(start):
    live = start(SIGN_IN_LIMIT=1000)
    directory = live.app.extensions["staff_directory"]
    judged = Counted(directory.hasher, "check", delay=0.3)
    rng = random.Random(8)
    for round_ in range(3):
        name = f"Staff {round_}"
        add(live, name)
        pins_sent = WRONG[:7] + [PIN]
        rng.shuffle(pins_sent)
        before = judged.calls
        ready = ready_browsers(live, 8)
        replies = burst([lambda b=b, t=t, p=p: send(b, t, name, p)
                         for (b, t), p in zip(ready, pins_sent)])
        signed_in = any(r.status == 303 for r in replies)
        locked = any(says_locked(r) for r in replies) or locked_now(live, name)
        assert judged.calls - before <= pins.MAX_FAILURES, round_
        assert not (signed_in and locked), (round_, [r.status for r in replies])
        assert signed_in or locked, [r.status for r in replies]


def status_page_times(browser, path, while_running) -> list[float]:
    times = []
    while any(t.is_alive() for t in while_running) or not times:
        reply = browser.get(path)
        assert reply.status == 200
        times.append(reply.seconds)
    return times


def test_the_status_page_stays_fast_while_pins_are_hashed(start):
    live = start()  # the production hash, scrypt
    add(live, "Wang Fang")
    visitor = Visitor(live.app.test_client())
    visitor.report()
    (ticket,) = live.app.extensions["kiosk_store"].open_tickets()
    path = f"/t/{ticket['token']}"
    phone = live.browser(source="127.0.0.9")
    # the server runs in this process: a collection of the whole test run's heap would
    # stop it as well, and that is not what this test measures
    gc.collect()
    gc.disable()
    try:
        quiet, busy, replies = _status_page_while_pins_are_hashed(live, phone, path)
    finally:
        gc.enable()
    assert [r.status for r in replies] == [422] * 6
    slowest_sign_in = max(r.seconds for r in replies)
    assert slowest_sign_in > 0.1  # they did hash, and the page was asked meanwhile
    assert max(busy) < 0.2, (quiet, busy)


def _status_page_while_pins_are_hashed(live, phone, path):
    """Time the status page alone, then while six sign-ins hash their PINs at once."""
    quiet = [phone.get(path).seconds for _ in range(5)]

    ready = ready_browsers(live, 6)
    replies = []
    gate = threading.Barrier(len(ready) + 1)

    def attempt(browser, token, n):
        gate.wait()
        replies.append(send(browser, token, f"Made Up {n}", "1234"))

    threads = [threading.Thread(target=attempt, args=(b, t, n))
               for n, (b, t) in enumerate(ready)]
    for t in threads:
        t.start()
    gate.wait()
    time.sleep(0.02)
    busy = status_page_times(phone, path, threads)
    for t in threads:
        t.join()
    return quiet, busy, replies


def test_each_client_is_throttled_with_a_clear_429(start, clock):
    live = start(PIN_HASH_METHOD=CHEAP_PINS, SIGN_IN_LIMIT=6, SIGN_IN_WINDOW_SECONDS=300)
    add(live, "Wang Fang")
    judged = Counted(live.app.extensions["staff_directory"].hasher, "waste")
    (browser, token), = ready_browsers(live, 1)
    browser.get("/lang/en")
    assert send(browser, token, "Wang Fang", PIN).status == 303  # a success costs nothing
    browser.post("/staff/logout", {"csrf_token": browser.csrf("/staff/")})
    token = browser.csrf("/staff/login")
    replies = [send(browser, token, f"Made Up {n}", "1234") for n in range(8)]
    assert [r.status for r in replies] == [422] * 6 + [429] * 2
    assert judged.calls == 6  # a throttled attempt is not hashed
    refused = replies[-1]
    assert 0 < int(refused.headers["retry-after"]) <= 300
    assert "Too many sign-in attempts from this device" in refused.text
    assert 'id="sign-in-error"' in refused.text and 'name="pin"' in refused.text
    assert send(browser, token, "Wang Fang", PIN).status == 429  # the right PIN waits too
    chinese = live.browser()
    token = chinese.csrf("/staff/login")
    assert send(chinese, token, "Made Up", "1234").status == 429  # the same client address
    assert "登录尝试次数过多" in send(chinese, token, "Made Up", "1234").text
    elsewhere = live.browser(source="127.0.0.2")
    assert send(elsewhere, elsewhere.csrf("/staff/login"), "Wang Fang", PIN).status == 303


def test_a_throttled_client_may_try_again_after_the_window(start, clock):
    live = start(PIN_HASH_METHOD=CHEAP_PINS, SIGN_IN_LIMIT=2, SIGN_IN_WINDOW_SECONDS=60)
    add(live, "Wang Fang")
    (browser, token), = ready_browsers(live, 1)
    for _ in range(2):
        assert send(browser, token, "Wang Fang", "1111").status == 422
    refused = send(browser, token, "Wang Fang", PIN)
    assert refused.status == 429 and refused.headers["retry-after"] == "60"
    clock.now += timedelta(seconds=59)
    assert send(browser, token, "Wang Fang", PIN).status == 429
    clock.now += timedelta(seconds=1)
    assert send(browser, token, "Wang Fang", PIN).status == 303
