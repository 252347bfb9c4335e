"""HQ's ingest API: every row of PROTOCOL.md's table, duplicates, conflicts, one transaction."""
from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from hq_helpers import (Kiosk, add_site, batch, body_of, dump, events_rows, headers_for, post,
                        push, results, verify_answer)

from sync.events import GENESIS, event_hash
from sync import protocol
from hq import create_hq_app, ingest

UNCHANGED_BY_A_RESEND = ("events", "tickets", "alarms", "meta", "admins")


def test_a_new_batch_is_stored_folded_and_answered_signed(hq, client, store, kiosk, clock):
    key = add_site(store)
    kiosk.report("t-1")
    kiosk.act("t-1", "confirmed")
    kiosk.act("t-1", "dispatched", {"team": "maintenance"})
    body = batch("site-a", kiosk.events)
    response = post(client, key, body)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer == {"hq_epoch": store.epoch(), "site_id": "site-a", "acked_through": 3,
                      "results": [{"seq": s, "result": "stored"} for s in (1, 2, 3)]}
    assert verify_answer(response, key, headers_for(key, body)[protocol.H_SIGNATURE])
    rows = events_rows(hq)
    assert [(r["seq"], r["type"], r["applied"]) for r in rows] == [
        (1, "reported", 1), (2, "confirmed", 1), (3, "dispatched", 1)]
    assert [body_of(r) for r in rows] == kiosk.events  # stored exactly as the kiosk logged
    ticket = store.ticket("site-a", "t-1")
    assert ticket["status"] == "dispatched" and ticket["number"] == "R-1128-001"
    assert "token" not in ticket  # the visitor's status token is never handed out
    site = store.sites()[0]
    assert site["events_received"] == 3 and site["last_contact"].startswith("20")


def test_every_step_of_the_procedures_reaches_hq_and_folds_there(client, store, kiosk, clock):
    key = add_site(store)
    kiosk.report("t-1")
    for kind, data in (("confirmed", {}), ("dispatched", {"department": "maintenance"}),
                       ("arrived", {"how": "verified"}),
                       ("completed", {"result": "fixed", "fee": "35.00",
                                      "revisit_due": (clock() + timedelta(days=1)).isoformat()}),
                       ("revisited", {"outcome": "satisfied", "comment": ""}),
                       ("closed", {"reason": "done"})):
        kiosk.act("t-1", kind, data)
    kiosk.report("t-2", category="complaint")
    kiosk.act("t-2", "confirmed")
    kiosk.act("t-2", "investigated", {"facts": "noise"})
    kiosk.act("t-2", "signed_off", {"remarks": ""}, actor={"role": "manager", "id": "st-2",
                                                          "name": "Zhou"})
    kiosk.act("t-2", "transferred", {"department": "security"})
    kiosk.act(None, "department_saved", {"code": "security", "name_zh": "保安", "name_en": "",
                                         "phone": "", "members": [], "active": True})
    response = post(client, key, batch("site-a", kiosk.events))
    assert response.status_code == 200
    assert [r for r in response.get_json()["results"] if r["result"] != "stored"] == []
    repair, complaint = store.ticket("site-a", "t-1"), store.ticket("site-a", "t-2")
    assert (repair["status"], repair["close_reason"]) == ("closed", "done")
    assert complaint["status"] == "in_progress"


def test_the_answer_is_bound_to_the_request_it_answers(client, store, kiosk):
    key = add_site(store)
    kiosk.report("t-1")
    body = batch("site-a", kiosk.events)
    response = post(client, key, body)
    assert verify_answer(response, key, headers_for(key, body)[protocol.H_SIGNATURE])
    other = headers_for(key, body, timestamp="1")[protocol.H_SIGNATURE]
    assert not verify_answer(response, key, other)


def test_a_replayed_request_is_all_duplicates_and_changes_no_data(hq, client, store, kiosk):
    key = add_site(store)
    kiosk.report("t-1")
    kiosk.act("t-1", "confirmed")
    body = batch("site-a", kiosk.events)
    headers = headers_for(key, body)
    assert post(client, key, body, headers=headers).status_code == 200
    before = dump(hq)
    response = post(client, key, body, headers=headers)  # the very same bytes and headers
    assert response.status_code == 200
    assert results(response.get_json()) == ["duplicate", "duplicate"]
    assert response.get_json()["acked_through"] == 2
    after = dump(hq)
    assert {t: after[t] for t in UNCHANGED_BY_A_RESEND} == \
        {t: before[t] for t in UNCHANGED_BY_A_RESEND}
    assert store.sites()[0]["events_received"] == 2


def test_an_overlapping_resend_stores_only_the_new_events(client, store, kiosk):
    key = add_site(store)
    for i in range(5):
        kiosk.report(f"t-{i}")
    push(client, key, kiosk.events[:3])
    response, answer = push(client, key, kiosk.events[1:])
    assert response.status_code == 200
    assert results(answer) == ["duplicate", "duplicate", "stored", "stored"]
    assert answer["acked_through"] == 5 and store.sites()[0]["events_received"] == 5


def test_the_same_seq_with_another_hash_is_a_conflict_that_never_overwrites(
        hq, client, store, kiosk, tmp_path, clock):
    key = add_site(store)
    kiosk.report("t-1", description="the original")
    push(client, key, kiosk.events)
    impostor = Kiosk(tmp_path / "other-log", "site-a", clock)
    impostor.report("t-9", description="another history")
    before = dump(hq, ("events", "tickets"))
    response = post(client, key, batch("site-a", impostor.events))
    assert response.status_code == 409
    answer = response.get_json()
    assert results(answer) == ["conflict"] and answer["acked_through"] == 1
    assert verify_answer(response, key, headers_for(
        key, batch("site-a", impostor.events))[protocol.H_SIGNATURE])
    assert dump(hq, ("events", "tickets")) == before
    alarms = store.alarms("site-a")
    assert [(a["seq"], a["kind"]) for a in alarms] == [(1, "conflict")]
    post(client, key, batch("site-a", impostor.events))  # a resend: one alarm, not two
    assert len(store.alarms("site-a")) == 1


def test_a_gap_stops_the_batch_and_reports_what_hq_holds(hq, client, store, kiosk):
    key = add_site(store)
    for i in range(5):
        kiosk.report(f"t-{i}")
    push(client, key, kiosk.events[:2])
    before = dump(hq, ("events", "tickets", "alarms"))
    response, answer = push(client, key, kiosk.events[3:])
    assert response.status_code == 200
    assert results(answer) == ["gap", "skipped"] and answer["acked_through"] == 2
    assert dump(hq, ("events", "tickets", "alarms")) == before


def test_a_broken_link_is_bad_chain_and_skips_the_rest(hq, client, store, kiosk):
    key = add_site(store)
    for i in range(4):
        kiosk.report(f"t-{i}")
    push(client, key, kiosk.events[:2])
    forged = {**kiosk.events[2], "prev_hash": GENESIS}
    forged["hash"] = event_hash(forged)  # self-consistent, but does not link to seq 2
    before = dump(hq, ("events", "tickets"))
    response, answer = push(client, key, [forged, kiosk.events[3]])
    assert response.status_code == 409
    assert results(answer) == ["bad_chain", "skipped"] and answer["acked_through"] == 2
    assert dump(hq, ("events", "tickets")) == before
    assert [a["kind"] for a in store.alarms("site-a")] == ["bad_chain"]


def test_changed_content_under_the_old_hash_is_bad_chain(hq, client, store, kiosk):
    key = add_site(store)
    kiosk.report("t-1")
    kiosk.report("t-2")
    changed = json.loads(json.dumps(kiosk.events[0]))
    changed["data"]["description"] = "changed after hashing"
    response, answer = push(client, key, [changed, kiosk.events[1]])
    assert response.status_code == 409
    assert results(answer) == ["bad_chain", "skipped"] and answer["acked_through"] == 0
    assert events_rows(hq) == []


def test_an_unknown_type_is_stored_not_applied_and_later_events_are_stored(
        hq, client, store, kiosk):
    key = add_site(store)
    kiosk.report("t-1")
    kiosk.act("t-1", "teleported", {"to": "mars"})
    kiosk.act("t-1", "noted", {"text": "called the tenant"})
    response, answer = push(client, key, kiosk.events)
    assert response.status_code == 200
    assert results(answer) == ["stored", "rejected", "stored"] and answer["acked_through"] == 3
    assert [(r["type"], r["applied"]) for r in events_rows(hq)] == [
        ("reported", 1), ("teleported", 0), ("noted", 1)]
    ticket_events = [e["type"] for e in store.ticket_events("site-a", "t-1")]
    assert ticket_events == ["reported", "teleported", "noted"]
    assert [a["kind"] for a in store.alarms("site-a")] == ["rejected"]


def test_an_event_the_ticket_rules_refuse_is_stored_but_not_applied(hq, client, store, kiosk):
    key = add_site(store)
    kiosk.report("t-1")
    kiosk.act("t-1", "arrived")  # nobody was dispatched
    kiosk.act("t-1", "confirmed")
    response, answer = push(client, key, kiosk.events)
    assert results(answer) == ["stored", "rejected", "stored"]
    assert [r["applied"] for r in events_rows(hq)] == [1, 0, 1]
    assert store.ticket("site-a", "t-1")["status"] == "open"


def test_site_events_without_a_ticket_are_stored_and_applied(hq, client, store, kiosk):
    key = add_site(store)
    kiosk.act(None, "staff_added", {"id": "st-2", "name": "Wang Fang", "role": "receptionist"})
    kiosk.act(None, "location_saved", {"code": "B1", "name_zh": "一号楼", "active": True})
    response, answer = push(client, key, kiosk.events)
    assert results(answer) == ["stored", "stored"]
    assert [r["applied"] for r in events_rows(hq)] == [1, 1]
    assert store.tickets() == []


def test_an_empty_batch_is_answered_with_what_hq_holds(client, store, kiosk):
    key = add_site(store)
    kiosk.report("t-1")
    push(client, key, kiosk.events)
    response, answer = push(client, key, [])
    assert response.status_code == 200 and answer["acked_through"] == 1 and answer["results"] == []


def test_a_batch_is_one_transaction(hq, client, store, kiosk, monkeypatch):
    key = add_site(store)
    for i in range(3):
        kiosk.report(f"t-{i}")
    original, calls = ingest.fold, []

    def failing(state, event):  # both backends fold each stored event with ingest.fold
        calls.append(event["seq"])
        if len(calls) == 3:
            raise OSError("disk full")
        return original(state, event)

    before = dump(hq)
    monkeypatch.setattr(ingest, "fold", failing)
    with pytest.raises(OSError):
        push(client, key, kiosk.events)
    assert calls == [1, 2, 3] and dump(hq) == before
    monkeypatch.setattr(ingest, "fold", original)
    assert results(push(client, key, kiosk.events)[1]) == ["stored"] * 3


def test_concurrent_resends_store_each_event_exactly_once(hq, store, kiosk):
    key = add_site(store)
    for i in range(60):
        kiosk.report(f"t-{i}")
    answers, errors = [], []

    def send():
        try:
            answers.append(push(hq.test_client(), key, kiosk.events)[1])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(answers) == 4
    stored = [r["seq"] for a in answers for r in a["results"] if r["result"] == "stored"]
    assert sorted(stored) == list(range(1, 61))
    assert all(a["acked_through"] == 60 for a in answers)
    assert len(events_rows(hq)) == 60 and store.sites()[0]["events_received"] == 60


def test_a_new_hq_database_has_a_new_epoch_and_a_reopened_one_keeps_it(backend, clock):
    first = create_hq_app({"TESTING": True, **backend.config("one")})
    epoch = first.extensions["hq_store"].epoch()
    first.extensions["hq_store"].close()
    again = create_hq_app({"TESTING": True, **backend.config("one")})
    assert again.extensions["hq_store"].epoch() == epoch
    again.extensions["hq_store"].close()
    other = create_hq_app({"TESTING": True, **backend.config("two")})
    assert other.extensions["hq_store"].epoch() != epoch and len(epoch) >= 32
    other.extensions["hq_store"].close()


def test_a_kiosk_resends_everything_to_a_recreated_hq(backend, kiosk, clock):
    kiosk.report("t-1")
    kiosk.report("t-2")
    answers = []
    for db in ("old", "new"):
        app = create_hq_app({"TESTING": True, **backend.config(db)})
        key = add_site(app.extensions["hq_store"])
        answers.append(push(app.test_client(), key, kiosk.events)[1])
        app.extensions["hq_store"].close()
    assert answers[0]["hq_epoch"] != answers[1]["hq_epoch"]
    assert results(answers[1]) == ["stored", "stored"]


def test_late_events_fold_in_after_a_later_report_time(client, store, kiosk, clock):
    key = add_site(store)
    kiosk.report("t-1", due=clock() - timedelta(minutes=5))
    kiosk.act("t-1", "confirmed")
    kiosk.act("t-1", "closed", {"reason": "withdrawn"})
    push(client, key, kiosk.events)
    assert store.ticket("site-a", "t-1")["status"] == "closed"
    assert [t["id"] for t in store.tickets(status="not_closed")] == []


def test_a_signature_over_the_path_hq_is_mounted_under_is_accepted(client, store, kiosk):
    key = add_site(store)
    kiosk.report("t-1")
    body = batch("site-a", kiosk.events)

    def send(signed_prefix):
        headers = headers_for(key, body)
        headers[protocol.H_SIGNATURE] = protocol.request_signature(
            key["secret"], "POST", signed_prefix + "/api/v1/sites/site-a/events", "site-a",
            headers[protocol.H_TIMESTAMP], headers[protocol.H_BODY_SHA256])
        return client.post("/api/v1/sites/site-a/events", data=body, headers=headers,
                           base_url="http://hq.example/frontdesk")

    assert send("/elsewhere").status_code == 401
    assert send("/frontdesk").status_code == 200
    assert results(send("").get_json()) == ["duplicate"]
