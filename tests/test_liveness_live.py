"""Issue 15, point 1, end to end: a real HQ (SQLite) and two real kiosks on 127.0.0.1.

HQ's sites page tells an idle desk (live: its probes are its heartbeat) from a stopped one
(silent, with the backlog it last reported); and after an HQ outage a kiosk's queued
tickets reach HQ within 30 s of HQ answering again, with nobody pressing "sync now".
The kiosks run the real backoff (2 s base, default caps), probing every 2 s.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time

import sync_harness
from crash_submitter import CSRF, Session
from sync_harness import (HQ, ROOT, Kiosk, add_site_api, base_env, fill, hq_last, submit,
                          wait_until)

from sync.state import read_last_seq

ADMIN, ADMIN_PIN = "Zhao Min", "246810"
#: the backoff a kiosk runs with by default (instead of the harness's FAST_SYNC)
REAL_BACKOFF = {"KIOSK_SYNC_BACKOFF_BASE": "2", "KIOSK_SYNC_BACKOFF_CAP": "600"}
PROBE = {"KIOSK_SYNC_IDLE_PROBE": "2"}
BACKLOG = 150  # events in the stopped kiosk's log; HQ stores its first batch of 100
CATCH_UP = 30.0  # seconds from HQ's return to the queue stored there
OUTAGE = 25.0  # seconds HQ is down: the old backoff (10 min cap) was far past 30 s by then


def badges(port: int) -> dict[str, tuple[str, str]]:
    """Sign in to HQ's dashboard over HTTP and return each site's liveness badge on the
    sites page (in English): ``{site_id: (data-state, its words)}``."""
    session = Session(port, 10.0)
    try:
        session.cookies["hq_lang"] = "en"
        status, _, html = session.request("GET", "/login")
        assert status == 200, html[:300]
        status, _, html = session.request("POST", "/login", {
            "csrf_token": CSRF.search(html).group(1), "name": ADMIN, "pin": ADMIN_PIN})
        assert status == 303, html[:300]
        status, _, html = session.request("GET", "/")
        assert status == 200, html[:300]
    finally:
        session.close()
    found = {}
    for site_id, state, inner in re.findall(
            r'<span id="live-([\w-]+)" data-state="(\w+)"[^>]*>(.*?)</span>\s*(?=<|$)', html,
            re.S):
        words = re.sub(r"<[^>]+>", " ", inner).replace("●", "").replace("⚠", "")
        found[site_id] = (state, " ".join(words.split()))
    return found


def test_hq_tells_a_live_desk_from_a_stopped_one_and_a_queue_arrives_soon_after_an_outage(
        tmp_path, monkeypatch):
    for name, value in REAL_BACKOFF.items():
        monkeypatch.setitem(sync_harness.FAST_SYNC, name, value)
    hq = HQ(tmp_path / "hq-data", tmp_path / "hq.log")
    key_a, key_b = add_site_api(hq.data, "north"), add_site_api(hq.data, "south")
    subprocess.run([sys.executable, "run.py", "hq", "admin", "add", ADMIN, "--pin", ADMIN_PIN,
                    "--data", str(hq.data)], cwd=ROOT, env=base_env(), check=True,
                   capture_output=True, timeout=60)
    a = Kiosk(tmp_path / "a", tmp_path / "a.log", "north", hq.url, key_a)
    b = Kiosk(tmp_path / "b", tmp_path / "b.log", "south", hq.url, key_b)
    fill(b.data, "south", BACKLOG)
    try:
        hq.start()
        # B sends its first batch of 100, HQ stores it, and B dies before saving its mark
        b.start(wait=False, FRONTDESK_FAILPOINT="kiosk:answer_received", **PROBE)
        assert b.wait_exit(30) == -9, b.tail()
        assert hq_last(hq.data, "south") == 100
        top_b = read_last_seq(b.data)  # the backlog and what B wrote as it started
        a.start(**PROBE)
        a.wait_drained()
        seen = wait_until(lambda: badges(hq.port), 10)
        assert seen["north"] == ("live", "Live"), seen
        assert seen["south"] == ("live", f"Live · {top_b - 100} waiting"), seen

        hq.stop()
        down = time.monotonic()
        assert wait_until(lambda: "HQ unreachable:" in a.tail(), 10), a.tail()
        time.sleep(8)  # idle: A's probes fail every 2 s at most
        submit(a.port, 3)  # tickets while HQ is down: they wait at A
        assert a.health()["sync"]["waiting"] > 0
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - down)))

        hq.start()  # on the same data; it answers from here on
        back = time.monotonic()
        health = a.wait_drained(timeout=CATCH_UP)
        took = time.monotonic() - back
        assert took <= CATCH_UP and hq_last(hq.data, "north") == a.mark(), health
        back_line = re.findall(r"HQ reachable again after \d+ s and \d+ tries", a.tail(20000))
        assert back_line, a.tail()
        print(f"\nqueue stored at HQ {took:.1f} s after HQ's return ({back_line[-1]})")

        def shown():
            found = badges(hq.port)
            return found if found.get("north", ("",))[0] == "live" and \
                found.get("south", ("",))[0] == "silent" else None
        seen = wait_until(shown, 30, step=0.5)  # B's silence passes 2 probes and 30 s
        assert seen, badges(hq.port)
        assert seen["north"] == ("live", "Live")
        assert re.fullmatch(rf"Silent for \d+ min · {top_b - 100} waiting", seen["south"][1])
    finally:
        for proc in (a, b, hq):
            proc.stop()
