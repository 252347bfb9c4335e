"""HQ's dashboard: sign-in on every page, first-run setup, lock-out, the site summary,
the ticket list and timeline, and the hash chain shown verified or broken."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hq_helpers import PIN, Kiosk, add_site, csrf_token, push, raw_sql, sign_in

from hq.chain import verify_site_chain
from sync.events import iso

PUBLIC = {"hq_auth.login", "hq_auth.setup", "static", "hq_i18n.switch", "hq_health.healthz"}


def _url(rule) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: f"x-{m.group(1)}", rule.rule)


def _protected_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or rule.endpoint.startswith("hq_api."):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, _url(rule)


def test_every_page_but_sign_in_setup_and_the_api_needs_a_signed_in_account(hq, client, store):
    sign_in(hq.test_client(), store)  # an account exists; this client is not signed in
    routes = list(_protected_routes(hq))
    assert {("GET", "/"), ("GET", "/tickets"), ("POST", "/logout"),
            ("GET", "/sites/x-site_id/tickets/x-ticket_id")} <= set(routes)
    for method, url in routes:
        response = client.open(url, method=method)
        assert response.status_code == 303, (method, url)
        assert response.headers["Location"].startswith("/login"), (method, url)


@pytest.mark.production_pins
def test_first_run_opens_setup_once_and_signs_the_new_account_in(client, store):
    client.get("/lang/en")
    assert client.get("/").headers["Location"].startswith("/login")
    assert client.get("/login").headers["Location"] == "/setup"
    token = csrf_token(client, "/setup")
    bad = client.post("/setup", data={"csrf_token": token, "name": "", "pin": "12",
                                      "pin_again": "12"})
    assert bad.status_code == 422 and "6 to 12 digits" in bad.get_data(as_text=True)
    differ = client.post("/setup", data={"csrf_token": token, "name": "Zhao Min", "pin": PIN,
                                         "pin_again": "999999"})
    assert differ.status_code == 422 and "not the same" in differ.get_data(as_text=True)
    # every field's problem at once: the name, the PIN, and a mismatch even of a bad PIN
    page = client.post("/setup", data={"csrf_token": token, "name": "", "pin": "12",
                                       "pin_again": "13"}).get_data(as_text=True)
    assert all(f'id="{f}-error"' in page for f in ("name", "pin", "pin_again"))
    assert "not the same" in page
    page = client.post("/setup", data={"csrf_token": token, "name": "Zhao Min", "pin": PIN,
                                       "pin_again": ""}).get_data(as_text=True)
    assert 'id="pin_again-error"' in page and "a second time" in page
    response = client.post("/setup", data={"csrf_token": token, "name": "Zhao Min", "pin": PIN,
                                           "pin_again": PIN})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/setup").status_code == 404
    assert store.admin("zhao min")["pin_hash"].startswith("scrypt:")


def test_five_wrong_pins_lock_the_account_for_five_minutes(hq, client, store, clock):
    sign_in(hq.test_client(), store)
    token = csrf_token(client, "/login")

    def attempt(pin):
        return client.post("/login", data={"csrf_token": token, "name": "Zhao Min", "pin": pin})

    for _ in range(4):
        assert attempt("000000").status_code == 422
    locked = attempt("000000")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) == 300
    assert attempt(PIN).status_code == 429  # even the right PIN, while locked
    clock.now += timedelta(minutes=5, seconds=1)
    assert attempt(PIN).status_code == 303
    assert store.admin("Zhao Min")["failures"] == 0


def test_an_unknown_name_and_a_wrong_pin_read_the_same(hq, client, store):
    sign_in(hq.test_client(), store)
    client.get("/lang/en")
    token = csrf_token(client, "/login")
    unknown = client.post("/login", data={"csrf_token": token, "name": "Nobody", "pin": PIN})
    wrong = client.post("/login", data={"csrf_token": token, "name": "Zhao Min", "pin": "111111"})
    assert unknown.status_code == wrong.status_code == 422
    assert "The name or the PIN is not right." in unknown.get_data(as_text=True)
    assert "The name or the PIN is not right." in wrong.get_data(as_text=True)


def test_dashboard_forms_need_a_csrf_token(hq, client, store):
    sign_in(hq.test_client(), store)
    client.get("/lang/en")
    response = client.post("/login", data={"name": "Zhao Min", "pin": PIN})
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)


def test_sign_in_returns_only_to_a_page_of_this_server(hq, client, store):
    sign_in(hq.test_client(), store)
    token = csrf_token(client, "/login")
    for target, expected in (("/tickets?site=a", "/tickets?site=a"), ("//evil.example/", "/"),
                             ("https://evil.example/", "/")):
        client.post("/logout", data={"csrf_token": token})
        response = client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                               "name": "Zhao Min", "pin": PIN, "next": target})
        assert response.headers["Location"] == expected


def test_an_idle_session_is_signed_out(client, store, clock):
    sign_in(client, store)
    assert client.get("/").status_code == 200
    clock.now += timedelta(hours=2)
    assert client.get("/").headers["Location"].startswith("/login")


def test_signing_out_ends_the_session(client, store):
    sign_in(client, store)
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 303
    assert client.get("/").status_code == 303


def test_pages_carry_the_kiosks_security_headers(client, store):
    sign_in(client, store)
    for response in (client.get("/"), client.get("/login"),
                     client.post("/api/v1/sites/nope/events", data=b"{}")):
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.fixture
def two_sites(hq, client, store, kiosk, tmp_path, clock):
    """Site A: 2 late repairs, 1 repair not yet due, 1 closed late repair, 1 emergency, an
    inquiry, a conflict alarm. Site B: one closed complaint."""
    key_a, key_b = add_site(store), add_site(store, "site-b", "Campus B")
    now = clock()
    kiosk.report("a-late-1", due=now - timedelta(minutes=10))
    kiosk.report("a-late-2", due=now - timedelta(hours=3))
    kiosk.act("a-late-2", "confirmed")
    kiosk.act("a-late-2", "dispatched")
    kiosk.report("a-soon", due=now + timedelta(minutes=20))
    kiosk.report("a-closed", due=now - timedelta(hours=1))
    kiosk.act("a-closed", "closed", {"reason": "duplicate"})
    kiosk.report("a-emergency", category="emergency", due=now)
    kiosk.report("a-inquiry", category="inquiry", due=now - timedelta(hours=5))
    push(client, key_a, kiosk.events)
    impostor = Kiosk(tmp_path / "impostor", "site-a", clock)
    impostor.report("zz")
    push(client, key_a, impostor.events)  # a conflict at seq 1
    site_b = Kiosk(tmp_path / "kiosk-b", "site-b", clock)
    site_b.report("b-1", category="complaint")
    site_b.act("b-1", "closed", {"reason": "withdrawn"})
    push(client, key_b, site_b.events)
    sign_in(client, store)
    client.get("/lang/en")  # the words these tests read; Chinese is tested in test_hq_i18n
    return kiosk


def _row(html: str, site_id: str) -> dict:
    row = re.search(rf'<tr id="site-{site_id}".*?</tr>', html, re.S).group(0)
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(?:<a [^>]*>)?(\d+)', row)}


def test_the_overview_counts_each_sites_tickets_and_alarms(client, two_sites):
    html = client.get("/").get_data(as_text=True)
    desk = {"parcels": 0, "overdue": 0, "handovers": 0}
    assert _row(html, "site-a") == {"events": 9, "open": 5, "late": 2, "emergencies": 1,
                                    "alarms": 1, "unsigned": 0, **desk}
    assert _row(html, "site-b") == {"events": 2, "open": 0, "late": 0, "emergencies": 0,
                                    "alarms": 0, "unsigned": 0, **desk}
    assert "Campus A" in html and "Campus B" in html


def test_the_ticket_list_filters_by_site_category_and_status(client, two_sites):
    def numbers(**query):
        html = client.get("/tickets", query_string=query).get_data(as_text=True)
        return len(re.findall(r'<a href="/sites/[^"]+/tickets/', html))

    assert numbers() == 7
    assert numbers(site="site-a") == 6
    assert numbers(site="site-a", category="repair", status="not_closed") == 3
    assert numbers(status="dispatched") == 1 and numbers(status="new") == 4
    assert numbers(status="closed") == 2
    assert numbers(site="site-b", category="complaint") == 1
    assert numbers(category="nonsense") == 7  # an unknown filter value is ignored


def test_a_ticket_page_shows_its_timeline_and_a_verified_chain(client, two_sites):
    response = client.get("/sites/site-a/tickets/a-late-2")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.findall(r'<li class="event-(\w+)"', html) == ["reported", "confirmed", "dispatched"]
    assert "Li Na (receptionist)" in html and "Visitor" in html
    assert 'data-chain="verified"' in html
    assert "secret-token" not in html  # the visitor's status token stays at the site
    assert re.search(r"<time [^>]*>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ·", html)  # to the second
    assert ">Due<" in html  # open: its due time
    assert ">Due<" not in client.get("/sites/site-a/tickets/a-closed").get_data(as_text=True)
    assert client.get("/sites/site-a/tickets/nope").status_code == 404


def test_a_tampered_stored_event_shows_the_chain_broken_at_its_seq(hq, client, store, two_sites):
    raw_sql(hq, "UPDATE events SET body = replace(body, 'R-1128-003', 'R-1128-999') "
                "WHERE site_id = 'site-a' AND seq = 5")
    assert verify_site_chain(store, "site-a") == [(5, "content changed: hash does not match")]
    assert verify_site_chain(store, "site-b") == []
    html = client.get("/sites/site-a/tickets/a-late-1").get_data(as_text=True)
    assert 'data-chain="broken"' in html and "BROKEN at seq 5" in html
    assert 'data-chain="verified"' in client.get("/sites/site-b/tickets/b-1").get_data(
        as_text=True)


def test_the_pages_check_once_whole_then_only_the_events_stored_since(hq, client, store,
                                                                     two_sites, clock):
    """A page load re-reads only what came after the last clean check; a change among
    the new events shows, a change to one checked before waits for the full check."""
    [site] = [s for s in store.sites() if s["site_id"] == "site-a"]
    key = {"site_id": "site-a", "key_id": site["key_id"],
           "secret": store.key(site["key_id"])["secret"]}
    calls = []
    real = store.chain
    store.chain = lambda site_id, after=0, limit=1000: calls.append(after) or real(
        site_id, after, limit)
    try:
        assert 'data-chain="verified"' in client.get("/sites/site-a").get_data(as_text=True)
        assert calls[0] == 0  # the first check reads the whole chain
        calls.clear()
        two_sites.report("a-new", due=clock())
        push(client, key, two_sites.events[-1:])
        assert 'data-chain="verified"' in client.get("/sites/site-a").get_data(as_text=True)
        assert calls == [9]  # only seq 10, the one stored since
        two_sites.report("a-newer", due=clock())
        push(client, key, two_sites.events[-1:])
        raw_sql(hq, "UPDATE events SET body = replace(body, '\"x\"', '\"y\"') "
                    "WHERE site_id = 'site-a' AND seq = 11")
        html = client.get("/sites/site-a").get_data(as_text=True)
        assert 'data-chain="broken"' in html and "BROKEN at seq 11" in html
    finally:
        store.chain = real
    assert verify_site_chain(store, "site-a") == [(11, "content changed: hash does not match")]


def test_verify_reports_a_removed_event_and_a_rehashed_one(hq, store, two_sites):
    raw_sql(hq, "DELETE FROM events WHERE site_id = 'site-a' AND seq = 3")
    assert verify_site_chain(store, "site-a") == [
        (3, "missing: found seq 4 next"), (4, "link to the previous event is broken")]


def test_a_site_page_lists_its_alarms(client, two_sites):
    html = client.get("/sites/site-a").get_data(as_text=True)
    assert "conflict" in html and "HQ holds another event at seq 1" in html
    assert 'data-chain="verified"' in html
    assert client.get("/sites/nowhere").status_code == 404


def test_the_overview_counts_each_sites_parcels_waiting_items_overdue_and_open_handovers(
        hq, client, store, kiosk, clock):
    """The desk's registers (R19) and handovers (R20) reach HQ as site events: a parcel is
    waiting until collected, an item overdue once its due time passed and it is not back,
    a handover open until acknowledged; a resent batch counts nothing twice."""
    key = add_site(store)
    now = clock()
    for pid in ("p1", "p2", "p3"):
        kiosk.act(None, "parcel_received", {"id": pid, "kind": "parcel", "recipient": "张三",
                                            "code": "123456"})
    kiosk.act(None, "parcel_collected", {"id": "p2", "collected_by": "张三",
                                         "identified_by": "code"})
    kiosk.act(None, "item_lent", {"id": "i1", "item": "钥匙", "quantity": 1, "to_name": "李四",
                                  "due_at": iso(now - timedelta(hours=1))})
    kiosk.act(None, "item_lent", {"id": "i2", "item": "梯子", "quantity": 1, "to_name": "王五",
                                  "due_at": iso(now + timedelta(hours=1))})
    kiosk.act(None, "item_lent", {"id": "i3", "item": "钳子", "quantity": 1, "to_name": "赵六",
                                  "due_at": iso(now - timedelta(days=1))})
    kiosk.act(None, "item_returned", {"id": "i3"})
    kiosk.act(None, "item_lent", {"id": "i4", "item": "材料", "quantity": 2, "to_name": "赵六",
                                  "due_at": None})  # handed out for good: never overdue
    for hid in ("h1", "h2"):
        kiosk.act(None, "handover_signed", {"id": hid, "prepared": {}, "to": "security"})
    kiosk.act(None, "handover_acknowledged", {"id": "h1"})
    push(client, key, kiosk.events)
    push(client, key, kiosk.events)  # sent again: duplicates, nothing counted twice
    sign_in(client, store)
    counts = _row(client.get("/").get_data(as_text=True), "site-a")
    assert (counts["parcels"], counts["overdue"], counts["handovers"]) == (2, 1, 1)
    clock.now += timedelta(hours=2)  # the ladder is now overdue too
    sign_in(client, store)  # the session of two hours ago ended
    counts = _row(client.get("/").get_data(as_text=True), "site-a")
    assert (counts["parcels"], counts["overdue"], counts["handovers"]) == (2, 2, 1)
    client.get("/lang/en")
    page = client.get("/sites/site-a").get_data(as_text=True)
    assert "parcels waiting 2" in page and "handovers not acknowledged 1" in page
