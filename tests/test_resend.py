"""Sending twice stores once (issue 8, point 13).

A visitor's entry is named by its draft's id, a staff form by the random
``request_id`` made when it was rendered; the events a request stores carry that id,
so the same request sent again (its answer lost to a crash, a double tap, a browser
resend) answers as the first did and stores nothing new. The last test kills a real
server between the log write and the answer, restarts it and sends the same request
again over HTTP.
"""
from __future__ import annotations

import http.client
import json
import random
import re
import signal
import subprocess
import sys
import threading
import time
from zoneinfo import ZoneInfo

import pytest
from crash_submitter import Session
from helpers import csrf_token, free_port, sign_in
from test_crash import ROOT, Server, recorded

from kiosk.store import Store
from kiosk.tickets import actions, rules, service

TZ = ZoneInfo("Asia/Shanghai")
LI = {"role": "receptionist", "id": "s-li", "name": "Li"}
VISITOR = {"role": "visitor"}
ENTRY = {"category": "repair", "location": "DEMO-LIB", "description": "Broken light",
         "phone": "13812345678"}
NUMBER = re.compile(r'id="ticket-number">([^<]+)<')


def reported(store) -> list[dict]:
    return [e for e in store.events_after(0) if e["type"] == "reported"]


def of_type(store, tid: str, kind: str) -> list[dict]:
    return [e for e in store.ticket(tid)["events"] if e["type"] == kind]


# -- the domain: plain Python over a real store ----------------------------------------
def test_a_report_sent_twice_with_the_same_id_is_stored_once(store, clock):
    first = service.submit_report(store, ENTRY, channel="kiosk", actor=VISITOR, now=clock(),
                                  tz=TZ, request_id="draft-1")
    seq = store.last_seq
    again = service.submit_report(store, ENTRY, channel="kiosk", actor=VISITOR, now=clock(),
                                  tz=TZ, request_id="draft-1")
    assert again["id"] == first["id"] and again["number"] == first["number"]
    assert store.last_seq == seq and len(reported(store)) == 1
    assert reported(store)[0]["data"]["request_id"] == "draft-1"
    other = service.submit_report(store, ENTRY, channel="kiosk", actor=VISITOR, now=clock(),
                                  tz=TZ, request_id="draft-2")
    plain = service.submit_report(store, ENTRY, channel="kiosk", actor=VISITOR, now=clock(),
                                  tz=TZ)  # no id: as before, every sending is a new report
    assert len({first["id"], other["id"], plain["id"]}) == 3
    assert "request_id" not in reported(store)[-1]["data"]


def test_concurrent_resends_store_one_ticket(store, clock):
    n = 8
    barrier, results, errors = threading.Barrier(n, timeout=10), [], []

    def send():
        try:
            barrier.wait()
            results.append(service.submit_report(store, ENTRY, channel="kiosk", actor=VISITOR,
                                                 now=clock(), tz=TZ, request_id="same-draft"))
        except Exception as exc:  # told below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not errors and len(results) == n
    assert len({t["id"] for t in results}) == 1 and len(reported(store)) == 1


def test_a_resend_after_the_ticket_was_closed_still_finds_it(store, clock):
    ticket = service.submit_report(store, ENTRY, channel="phone", actor=LI, now=clock(), tz=TZ,
                                   request_id="form-1")
    actions.close(store, ticket["id"], "withdrawn", actor=LI, now=clock(), request_id="form-2")
    again = service.submit_report(store, ENTRY, channel="phone", actor=LI, now=clock(), tz=TZ,
                                  request_id="form-1")
    assert again["id"] == ticket["id"] and again["status"] == "closed"
    assert len(reported(store)) == 1


@pytest.mark.parametrize("raw, expected", [
    ("abc_DEF-123", "abc_DEF-123"), ("x" * 64, "x" * 64), ("a:b.c~d", "a:b.c~d"),
    (None, None), ("", None), ("x" * 65, None), ("two words", None), ("new\nline", None),
    ("ä", None), ("\x00", None), (["list"], None), (12, None),
])
def test_a_request_id_from_a_form_is_printable_and_bounded(raw, expected):
    assert service.check_request_id(raw) == expected


def test_a_malformed_request_id_never_reaches_the_log(store, clock):
    with pytest.raises(ValueError):
        service.submit_report(store, ENTRY, channel="kiosk", actor=VISITOR, now=clock(), tz=TZ,
                              request_id="x" * 65)
    assert reported(store) == []


def test_each_staff_action_sent_twice_is_stored_once(store, clock):
    emergency = service.submit_report(store, {**ENTRY, "category": "emergency"},
                                      channel="kiosk", actor=VISITOR, now=clock(), tz=TZ)
    tid = emergency["id"]
    steps = [
        ("acknowledged", lambda: actions.acknowledge(store, tid, actor=LI, now=clock(),
                                                     request_id="ack-1")),
        ("confirmed", lambda: actions.confirm(store, tid, {"description": "Fire alarm"},
                                              actor=LI, now=clock(), request_id="confirm-1")),
        ("noted", lambda: actions.add_note(store, tid, "Called the guard", actor=LI,
                                           now=clock(), request_id="note-1")),
        ("closed", lambda: actions.close(store, tid, "withdrawn", actor=LI, now=clock(),
                                         request_id="close-1")),
    ]
    for kind, step in steps:
        first = step()
        seq = store.last_seq
        again = step()  # the same request again: no refusal, nothing new
        assert again == first and store.last_seq == seq
        (event,) = of_type(store, tid, kind)
        assert event["data"]["request_id"].startswith(kind[:3])
    # the ticket moved on since: resending the confirmation is still a success
    assert steps[1][1]()["status"] == "closed"
    assert len(of_type(store, tid, "amended")) == 1 and len(of_type(store, tid, "confirmed")) == 1


def test_a_staff_action_with_another_id_or_none_is_a_new_request(store, clock):
    ticket = service.submit_report(store, ENTRY, channel="phone", actor=LI, now=clock(), tz=TZ)
    for request_id in ("note-1", "note-2", None, None):
        actions.add_note(store, ticket["id"], "Same words", actor=LI, now=clock(),
                         request_id=request_id)
    assert len(of_type(store, ticket["id"], "noted")) == 4
    actions.close(store, ticket["id"], "withdrawn", actor=LI, now=clock(), request_id="close-1")
    with pytest.raises(rules.RuleError):  # a second close of its own is still refused
        actions.close(store, ticket["id"], "withdrawn", actor=LI, now=clock(), request_id="close-2")


# -- the visitor's flow through the test client -----------------------------------------
@pytest.mark.parametrize("draft_left", [False, True], ids=["draft-gone", "draft-left"])
def test_a_resent_submit_gets_the_same_receipt(visitor, client, store, draft_left):
    """The answer to the first submit was lost; the browser still has the cookie of
    before it. The crash came after the draft was discarded, or before."""
    visitor.post("/report", {"category": "repair"})
    visitor.post("/report/place", {"location": "DEMO-LIB"})
    visitor.post("/report/details", {"description": "Broken light", "phone": "13812345678"})
    (draft,) = store.all_drafts()
    before = client.get_cookie("session").value
    first = visitor.post("/report/review")
    assert first.status_code == 303 and first.location.endswith("/report/receipt")
    number = NUMBER.search(client.get("/report/receipt").get_data(as_text=True)).group(1)
    client.set_cookie("session", before)  # as if the answer never came
    if draft_left:
        store.save_draft(draft["id"], draft["fields"])
    again = visitor.post("/report/review")
    assert again.status_code == 303 and again.location.endswith("/report/receipt")
    receipt = client.get("/report/receipt").get_data(as_text=True)
    assert NUMBER.search(receipt).group(1) == number
    assert len(reported(store)) == 1 and reported(store)[0]["data"]["request_id"] == draft["id"]
    assert store.all_drafts() == []


def test_a_new_entry_after_a_receipt_is_a_new_ticket(visitor, store):
    visitor.report()
    visitor.report()
    assert len(reported(store)) == 2


# -- staff forms through the test client --------------------------------------------------
@pytest.fixture
def desk(app, client):
    """A client signed in as a receptionist."""
    sign_in(app, client)
    client.token = csrf_token(client, "/staff/")
    return client


def form_request_id(html: str, action: str) -> str:
    form = html[html.index(f'data-action="{action}"'):]
    return re.search(r'name="request_id" value="([^"]+)"', form[:form.index("</form>")]).group(1)


def test_every_rendered_form_gets_its_own_request_id(desk, visitor, store):
    visitor.report(category="emergency")
    (ticket,) = store.open_tickets()
    first = desk.get(f"/staff/t/{ticket['id']}").get_data(as_text=True)
    second = desk.get(f"/staff/t/{ticket['id']}").get_data(as_text=True)
    ids = [form_request_id(first, a) for a in ("acknowledge", "confirm", "note", "close")]
    ids += [form_request_id(second, a) for a in ("acknowledge", "confirm", "note", "close")]
    assert len(set(ids)) == 8 and all(service.check_request_id(i) for i in ids)
    record = desk.get("/staff/record/phone").get_data(as_text=True)
    assert service.check_request_id(
        re.search(r'name="request_id" value="([^"]+)"', record).group(1))


@pytest.mark.parametrize("action, form, kind", [
    ("confirm", {"category": "repair", "location": "DEMO-GYM", "description": "Light out",
                 "name": "", "phone": "13812345678"}, "confirmed"),
    ("note", {"note": "Called back, no answer"}, "noted"),
    ("close", {"reason": "duplicate", "confirm": "yes"}, "closed"),
    ("dispatch", {"department": "maintenance"}, "dispatched"),
    ("acknowledge", {}, "acknowledged"),
])
def test_a_resent_staff_form_answers_as_the_first_and_stores_nothing(
        desk, visitor, store, action, form, kind):
    visitor.report(category="emergency" if action == "acknowledge" else "repair")
    (ticket,) = store.open_tickets()
    if action == "dispatch":  # a repair is dispatched once confirmed
        desk.post(f"/staff/t/{ticket['id']}/confirm", data={"csrf_token": desk.token})
    html = desk.get(f"/staff/t/{ticket['id']}").get_data(as_text=True)
    data = {"csrf_token": desk.token, "request_id": form_request_id(html, action), **form}
    first = desk.post(f"/staff/t/{ticket['id']}/{action}", data=data)
    seq = store.last_seq
    again = desk.post(f"/staff/t/{ticket['id']}/{action}", data=data)
    assert first.status_code == again.status_code == 303
    assert again.location == first.location and again.location.endswith(f"/staff/t/{ticket['id']}")
    assert store.last_seq == seq and len(of_type(store, ticket["id"], kind)) == 1


def test_a_form_without_a_request_id_works_as_before(desk, visitor, store):
    visitor.report()
    (ticket,) = store.open_tickets()
    for extra in ({}, {"request_id": "two words"}, {"request_id": "x" * 65}):
        response = desk.post(f"/staff/t/{ticket['id']}/note",
                             data={"csrf_token": desk.token, "note": "Same words", **extra})
        assert response.status_code == 303
    notes = of_type(store, ticket["id"], "noted")
    assert len(notes) == 3 and all("request_id" not in n["data"] for n in notes)


def test_a_resent_phone_record_stores_one_ticket(desk, store):
    html = desk.get("/staff/record/phone").get_data(as_text=True)
    request_id = re.search(r'name="request_id" value="([^"]+)"', html).group(1)
    data = {"csrf_token": desk.token, "request_id": request_id, "category": "inquiry",
            "location": "", "description": "Asks about the water bill", "name": "Zhang",
            "phone": "", "received_at": ""}
    first = desk.post("/staff/record/phone", data=data)
    again = desk.post("/staff/record/phone", data=data)
    assert first.status_code == again.status_code == 303
    assert again.location == first.location
    assert len(reported(store)) == 1 and reported(store)[0]["data"]["request_id"] == request_id


# -- a real server, killed between the log write and the answer ----------------------------
def walk_to_review(session: Session) -> str:
    """Walk the visitor flow up to the review step; return the CSRF token."""
    status, _, html = session.request("GET", "/")
    assert status == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    session.post_expect("/report", {"csrf_token": csrf, "category": "repair"}, "/report/place")
    session.post_expect("/report/place", {"csrf_token": csrf, "location": "DEMO-LIB"},
                        "/report/details")
    session.post_expect("/report/details", {"csrf_token": csrf, "description": "Resent report",
                                            "name": "", "phone": "13812345678",
                                            "preferred_at": ""}, "/report/review")
    return csrf


def receipt_number(session: Session) -> str:
    status, _, html = session.request("GET", "/report/receipt")
    assert status == 200, html[:300]
    return NUMBER.search(html).group(1)


def reopened(session: Session, port: int) -> Session:
    """The same browser (its cookies) on a new connection."""
    fresh = Session(port, timeout=5.0)
    fresh.cookies = dict(session.cookies)
    return fresh


def test_a_submit_resent_after_the_server_was_killed_gets_one_ticket_and_its_receipt(tmp_path):
    data = tmp_path / "data"
    server = Server(free_port(), data, tmp_path / "server.log")
    server.env = {k: v for k, v in server.env.items() if not k.startswith("FRONTDESK_FAILPOINT")}
    try:
        server.env["FRONTDESK_FAILPOINT"] = "kiosk:after_submit"
        server.start()
        server.wait_ready()
        browser = Session(server.port, timeout=5.0)
        csrf = walk_to_review(browser)
        with pytest.raises((OSError, http.client.HTTPException)):  # no answer: killed
            browser.request("POST", "/report/review", {"csrf_token": csrf})
        browser.close()
        assert server.proc.wait(timeout=10) == -signal.SIGKILL, server.tail()

        del server.env["FRONTDESK_FAILPOINT"]
        server.start()
        server.wait_ready()
        browser = reopened(browser, server.port)
        status, headers, body = browser.request("POST", "/report/review", {"csrf_token": csrf})
        assert status == 303 and headers["Location"].endswith("/report/receipt"), body[:300]
        number = receipt_number(browser)
        browser.close()

        # the answer lost once the draft was gone: the cookie of before, sent again
        other = Session(server.port, timeout=5.0)
        csrf = walk_to_review(other)
        before = dict(other.cookies)
        other.post_expect("/report/review", {"csrf_token": csrf}, "/report/receipt")
        second = receipt_number(other)
        other.cookies = before
        other.post_expect("/report/review", {"csrf_token": csrf}, "/report/receipt")
        assert receipt_number(other) == second != number
        other.close()
    finally:
        server.kill()
    store = Store(data)
    try:
        events = reported(store)
        assert [e["data"]["number"] for e in events] == [number, second]
        assert len({e["data"]["request_id"] for e in events}) == 2
        assert store.verify() == []
    finally:
        store.close()


def test_under_load_every_lost_answer_is_resent_to_its_receipt_and_stored_once(tmp_path):
    """The submitter of the crash test walks the flow as fast as it can and resends the
    final POST whose answer was lost; the server dies after the log write of every
    2nd to 4th report. In the end each stored ticket is one round's, with its receipt."""
    kills, seed = 4, random.randrange(2**32)
    rng = random.Random(seed)
    data, tokens = tmp_path / "data", tmp_path / "tokens.txt"
    stop, stats = tmp_path / "stop", tmp_path / "stats.json"
    server = Server(free_port(rng), data, tmp_path / "server.log")
    server.env = {k: v for k, v in server.env.items() if not k.startswith("FRONTDESK_FAILPOINT")}
    submitter = None
    try:
        for kill in range(kills):
            server.env.update(FRONTDESK_FAILPOINT="kiosk:after_submit",
                              FRONTDESK_FAILPOINT_AFTER=str(rng.randint(2, 4)))
            server.start()
            if submitter is None:
                server.wait_ready()
                with open(tmp_path / "submitter.log", "wb") as out:
                    submitter = subprocess.Popen(
                        [sys.executable, str(ROOT / "tests" / "crash_submitter.py"),
                         "--port", str(server.port), "--out", str(tokens), "--stop", str(stop),
                         "--stats", str(stats), "--timeout", "5", "--resend-seconds", "30",
                         "--max-seconds", "60"],
                        cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            assert server.proc.wait(timeout=30) == -signal.SIGKILL, server.tail()
        for name in ("FRONTDESK_FAILPOINT", "FRONTDESK_FAILPOINT_AFTER"):
            del server.env[name]
        server.start()
        server.wait_ready()
        deadline, before = time.monotonic() + 20, len(recorded(tokens))
        while len(recorded(tokens)) < before + 2 and time.monotonic() < deadline:
            time.sleep(0.02)  # a few rounds on the server that no longer dies
        stop.touch()
        assert submitter.wait(timeout=40) == 0
    finally:
        if submitter is not None and submitter.poll() is None:
            submitter.kill()
            submitter.wait(timeout=10)
        server.kill()
    counts, receipts = json.loads(stats.read_text()), recorded(tokens)
    assert counts["flow_errors"] == counts["connection_errors"] == 0, \
        (seed, counts, (tmp_path / "submitter.log").read_text()[-2000:])
    assert counts["resent"] >= kills and counts["ok"] == len(receipts) == len(set(receipts))
    store = Store(data)
    try:
        tickets = store.open_tickets()
        descriptions = [t["description"] for t in tickets]
        assert len(set(descriptions)) == len(descriptions), f"a round stored twice (seed {seed})"
        assert sorted(t["token"] for t in tickets) == sorted(receipts), f"seed {seed}"
        assert store.verify() == []
    finally:
        store.close()
