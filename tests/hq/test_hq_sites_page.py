"""The sites page (issue 15): the site needing the manager most comes first, each count
links to exactly its tickets, alarms are open or acknowledged, the page refreshes its
table alone (htmx) and can show only the sites needing attention. Every site's events are
real signed batches fed through the ingest API, on both backends."""
from __future__ import annotations

import html as html_lib
import re
import secrets
import sqlite3
from contextlib import closing
from datetime import timedelta

import psycopg
import pytest
from helpers import CHEAP_PINS
from hq_helpers import Kiosk, add_site, csrf_token, push, raw_sql, sign_in

from hq import create_hq_app, postgres, sites, transfer
from hq import sqlite as sqlite_store
from hq.database import DB_NAME, open_store
from hq.liveness import Liveness
from hq.sqlite import ADMINS_SCHEMA, SCHEMA

#: (site id, name), in the order the page must show them (see ``urgent``)
ORDER = [("site-b", "Bravo"), ("site-a2", "Alpha two"), ("site-a", "Alpha"),
         ("site-c", "Charlie"), ("site-d", "Delta"), ("site-e", "Echo"), ("site-f", "Foxtrot")]


def _complaint(kiosk: Kiosk, ticket_id: str, sign: bool) -> None:
    kiosk.report(ticket_id, category="complaint")
    kiosk.act(ticket_id, "confirmed")
    kiosk.act(ticket_id, "investigated", {"facts": "the lift stopped twice"})
    if sign:
        kiosk.act(ticket_id, "signed_off", actor={"role": "manager", "id": "m", "name": "Wang"})


@pytest.fixture
def urgent(hq, client, store, tmp_path, clock):
    """Seven sites whose counts differ, so each rule of the order decides a pair:

    - Bravo: an open emergency (and a closed one), beating Alpha's late repairs;
    - Alpha two: 2 late repairs, beating Alpha's 1 (and Alpha's unsigned complaints);
    - Alpha: 1 late repair, a repair not yet due, a closed late repair, 2 unsigned complaints;
    - Charlie: 1 unsigned complaint (and a signed-off one, and a closed unsigned one);
    - Delta: never reached HQ (flagged), beating Echo's open alarm;
    - Echo: an open alarm (HQ holds another event at its seq 1);
    - Foxtrot: nothing waits (an inquiry; a signed-off complaint).
    """
    now = clock()
    keys = {site_id: add_site(store, site_id, name) for site_id, name in ORDER}
    kiosks = {site_id: Kiosk(tmp_path / site_id, site_id, clock) for site_id, _ in ORDER}
    b = kiosks["site-b"]
    b.report("b-em", category="emergency", due=now)
    b.report("b-em-done", category="emergency", due=now)
    b.act("b-em-done", "closed", {"reason": "duplicate"})
    a2 = kiosks["site-a2"]
    a2.report("a2-late-1", due=now - timedelta(minutes=5))
    a2.report("a2-late-2", due=now - timedelta(hours=2))
    a = kiosks["site-a"]
    a.report("a-late", due=now - timedelta(minutes=1))
    a.report("a-soon", due=now + timedelta(minutes=20))
    a.report("a-closed", due=now - timedelta(hours=1))
    a.act("a-closed", "closed", {"reason": "duplicate"})
    _complaint(a, "a-c1", sign=False)
    _complaint(a, "a-c2", sign=False)
    c = kiosks["site-c"]
    _complaint(c, "c-unsigned", sign=False)
    _complaint(c, "c-signed", sign=True)
    c.report("c-closed", category="complaint")
    c.act("c-closed", "closed", {"reason": "withdrawn"})
    e = kiosks["site-e"]
    e.report("e-1", category="inquiry")
    f = kiosks["site-f"]
    f.report("f-1", category="inquiry")
    _complaint(f, "f-signed", sign=True)
    for site_id, kiosk in kiosks.items():
        if kiosk.events:
            response, _ = push(client, keys[site_id], kiosk.events)
            assert response.status_code == 200, response.get_data(as_text=True)
    impostor = Kiosk(tmp_path / "impostor", "site-e", clock)
    impostor.report("zz")
    assert push(client, keys["site-e"], impostor.events)[0].status_code == 409  # an alarm
    sign_in(client, store)
    client.get("/lang/en")
    return keys


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr id="site-([\w-]+)"', page)


def _cell_links(page: str, site_id: str) -> dict[str, str]:
    """The count links of a site's row: count name -> the href."""
    row = re.search(rf'<tr id="site-{site_id}".*?</tr>', page, re.S).group(0)
    return {name: html_lib.unescape(href) for href, name in re.findall(
        r'<a [^>]*href="(/tickets\?[^"]+)"[^>]*>(?:<svg.*?</svg>)?<span data-count="(\w+)">',
        row, re.S)}


def _counts(page: str, site_id: str) -> dict[str, int]:
    row = re.search(rf'<tr id="site-{site_id}".*?</tr>', page, re.S).group(0)
    counts = {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', row)}
    counts["acked"] = int(re.search(r'data-acked="(\d+)"', row).group(1))
    return counts


def test_the_sites_come_most_urgent_first(client, urgent):
    page = client.get("/").get_data(as_text=True)
    assert _rows(page) == [site_id for site_id, _ in ORDER]
    assert _counts(page, "site-b")["emergencies"] == 1
    assert (_counts(page, "site-a2")["late"], _counts(page, "site-a")["late"]) == (2, 1)
    assert _counts(page, "site-a")["unsigned"] == 2
    assert _counts(page, "site-c")["unsigned"] == 1  # not the signed one, not the closed one
    assert _counts(page, "site-f")["unsigned"] == 0
    assert (_counts(page, "site-e")["alarms"], _counts(page, "site-e")["acked"]) == (1, 0)


def test_the_attention_key_is_the_documented_one():
    def site(name, **counts):
        return {"site_id": name, "name": name, "open_tickets": 0, "emergencies": 0,
                "late_repairs": 0, "unsigned_complaints": 0, "alarms_open": 0, **counts}

    live = Liveness("live", 0, 0, None, None)
    offline = Liveness("offline", 90, 4, None, None)
    found = sites.rows(
        [site("z-calm"), site("y-alarm", alarms_open=3), site("x-offline"),
         site("w-unsigned", unsigned_complaints=1), site("v-late", late_repairs=1, alarms_open=9),
         site("u-emergency", emergencies=1), site("a-calm")],
        {"z-calm": live, "y-alarm": live, "x-offline": offline, "w-unsigned": live,
         "v-late": live, "u-emergency": live, "a-calm": live})
    assert [r["site_id"] for r in found] == ["u-emergency", "v-late", "w-unsigned",
                                             "x-offline", "y-alarm", "a-calm", "z-calm"]
    assert [r["needs"] for r in found] == [True] * 5 + [False] * 2


def _listed(client, href: str) -> list[str]:
    page = client.get(href).get_data(as_text=True)
    return re.findall(r'<a href="/sites/[^/]+/tickets/([^"]+)"', page)


def test_each_count_links_to_exactly_its_tickets(client, urgent):
    page = client.get("/").get_data(as_text=True)
    links = {site_id: _cell_links(page, site_id) for site_id, _ in ORDER}
    assert links["site-b"]["emergencies"] == \
        "/tickets?site=site-b&category=emergency&status=not_closed"
    assert links["site-a"]["late"] == "/tickets?site=site-a&category=repair&late=1"
    assert links["site-a"]["unsigned"] == "/tickets?site=site-a&category=complaint&unsigned=1"
    assert links["site-a"]["open"] == "/tickets?site=site-a&status=not_closed"
    assert sorted(_listed(client, links["site-b"]["emergencies"])) == ["b-em"]
    assert sorted(_listed(client, links["site-a2"]["late"])) == ["a2-late-1", "a2-late-2"]
    assert sorted(_listed(client, links["site-a"]["late"])) == ["a-late"]
    assert sorted(_listed(client, links["site-a"]["unsigned"])) == ["a-c1", "a-c2"]
    assert sorted(_listed(client, links["site-c"]["unsigned"])) == ["c-unsigned"]
    assert sorted(_listed(client, links["site-a"]["open"])) == [
        "a-c1", "a-c2", "a-late", "a-soon"]
    # a zero is plain text: Foxtrot links nothing but its open inquiry and complaint
    assert set(links["site-f"]) == {"open"} and set(links["site-d"]) == set()


def test_a_sites_page_shows_its_desk_and_links_its_counts_as_the_sites_page_does(
        client, urgent):
    links = _cell_links(client.get("/").get_data(as_text=True), "site-a")
    page = client.get("/sites/site-a").get_data(as_text=True)
    assert re.search(r'id="live-site-a" data-state="live"', page)
    hrefs = dict(re.findall(r'<a id="site-(\w+)" href="([^"]+)"', page))
    assert {k: html_lib.unescape(v) for k, v in hrefs.items()} == {
        "open_tickets": links["open"], "late_repairs": links["late"],
        "unsigned_complaints": links["unsigned"]}  # no emergency at Alpha: plain text
    assert "emergencies 0" in page
    never = client.get("/sites/site-d").get_data(as_text=True)
    assert re.search(r'id="live-site-d" data-state="never"', never)
    assert "Never connected" in never and 'id="site-open_tickets"' not in never


def _alarm_id(page: str) -> str:
    return re.search(r'<tr id="alarm-(\d+)" data-kind="conflict" data-acked="0"', page).group(1)


def test_an_admin_acknowledges_an_alarm_once(hq, client, store, urgent, clock):
    page = client.get("/sites/site-e").get_data(as_text=True)
    alarm = _alarm_id(page)
    assert f'id="ack-{alarm}"' in page and 'id="alarms-acked"' not in page
    url = f"/sites/site-e/alarms/{alarm}/ack"
    assert client.post(url).status_code == 400  # no CSRF token: refused, nothing changed
    assert store.alarms("site-e")[0]["acked_at"] is None
    token = csrf_token(client, "/sites/site-e")
    done = client.post(url, data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["Location"] == "/sites/site-e#alarms"
    [acked] = store.alarms("site-e")
    assert acked["acked_by"] == "Zhao Min" and acked["acked_at"]
    before = raw_sql(hq, "SELECT * FROM alarms")
    clock.now += timedelta(minutes=3)
    again = client.post(url, data={"csrf_token": token})  # sent again: the same answer
    assert (again.status_code, again.headers["Location"]) == (done.status_code,
                                                              done.headers["Location"])
    assert raw_sql(hq, "SELECT * FROM alarms") == before  # and nothing changed
    page = client.get("/sites/site-e").get_data(as_text=True)
    assert 'id="alarms-open"' not in page and f'<tr id="alarm-{alarm}"' in page
    assert "Zhao Min" in page and 'data-acked="1"' in page
    counts = _counts(client.get("/").get_data(as_text=True), "site-e")
    assert (counts["alarms"], counts["acked"]) == (0, 1)
    assert _rows(client.get("/").get_data(as_text=True))[-2:] == ["site-e", "site-f"]
    for nope in ("999", "9" * 30, "x", "１"):  # no such alarm, too long, not a number
        assert client.post(f"/sites/site-e/alarms/{nope}/ack", data={"csrf_token": token}
                           ).status_code == 404
    assert client.post(f"/sites/site-b/alarms/{alarm}/ack", data={"csrf_token": token}
                       ).status_code == 404  # another site's alarm


def test_only_the_sites_needing_attention_and_the_table_alone_for_htmx(client, urgent):
    page = client.get("/?attention=1").get_data(as_text=True)
    assert _rows(page) == [site_id for site_id, _ in ORDER if site_id != "site-f"]
    assert 'id="filter-attention"' in page and 'aria-current="page"' in page
    assert 'src="/static/vendor/htmx.min.js"' in page
    partial = client.get("/?attention=1", headers={"HX-Request": "true"})
    text = partial.get_data(as_text=True)
    assert partial.status_code == 200 and "<html" not in text and "<nav" not in text
    assert text.lstrip().startswith("<div id=\"sites-panel\"")
    assert 'hx-get="/?attention=1"' in text and 'hx-trigger="every 30s"' in text
    assert _rows(text) == _rows(page)
    assert "HX-Request" in partial.headers["Vary"]
    whole = client.get("/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-get="/"' in whole and "site-f" in whole


def test_the_refresh_interval_is_a_setting(backend, clock):
    app = create_hq_app({"TESTING": True, **backend.config(), "CLOCK": clock,
                         "PIN_HASH_METHOD": CHEAP_PINS, "REFRESH_SECONDS": 2})
    try:
        client = app.test_client()
        add_site(app.extensions["hq_store"])
        sign_in(client, app.extensions["hq_store"])
        assert 'hx-trigger="every 2s"' in client.get("/").get_data(as_text=True)
    finally:
        app.extensions["hq_store"].close()


def test_the_migration_backfills_signed_off_from_the_ticket_state(backend, tmp_path):
    """A database of the versions before 0003 keeps its tickets: signed off or not, as
    folded, once it opens (and applies 0003)."""
    rows = [("s", "t-signed", '{"signed_off": true}'), ("s", "t-open", '{"signed_off": false}'),
            ("s", "t-old", "{}")]
    insert = ("INSERT INTO tickets (site_id, ticket_id, state, status, category, updated_seq) "
              "VALUES (?, ?, ?, 'open', 'complaint', 1)")
    if backend.name == "sqlite":
        (tmp_path / "old").mkdir()
        path = tmp_path / "old" / DB_NAME
        with closing(sqlite3.connect(path)) as db, db:
            db.executescript(SCHEMA + ADMINS_SCHEMA)
            for version in sorted(sqlite_store.MIGRATIONS.glob("000[12]_*.sql")):
                db.executescript(version.read_text(encoding="utf-8"))
            db.execute("PRAGMA user_version = 2")
            db.executemany(insert, rows)
        open_store(tmp_path / "old").close()  # opening it applies the later versions
        with closing(sqlite3.connect(path)) as db:
            found = dict(db.execute("SELECT ticket_id, signed_off FROM tickets"))
    else:
        name = f"hq_before_0003_{secrets.token_hex(4)}"
        url = backend.databases.cluster.create_database(name)
        try:
            with psycopg.connect(url, autocommit=True) as db:
                db.execute("CREATE TABLE schema_version (version integer PRIMARY KEY, "
                           "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
                for version, stem, path in postgres.migrations():
                    if version < 3:
                        db.execute(path.read_text(encoding="utf-8"))
                        db.execute("INSERT INTO schema_version (version, name) "
                                   "VALUES (%s, %s)", (version, stem))
                for row in rows:
                    db.execute(insert.replace("?", "%s"), row)
            open_store(tmp_path / "unused", url).close()
            with psycopg.connect(url) as db:
                found = dict(db.execute("SELECT ticket_id, signed_off::int FROM tickets"))
        finally:
            backend.databases.cluster.drop_database(name)
    assert found == {"t-signed": 1, "t-open": 0, "t-old": 0}


def test_a_move_to_another_database_keeps_the_acknowledgement(hq, store, urgent, backend,
                                                               clock):
    [alarm] = store.alarms("site-e")
    acked = store.ack_alarm("site-e", alarm["id"], "Zhao Min", clock())
    target = backend.store("target")
    try:
        transfer.copy(store, target)
        [moved] = target.alarms("site-e")
        assert (moved["acked_at"], moved["acked_by"]) == (acked["acked_at"], "Zhao Min")
        counts = {s["site_id"]: (s["alarms_open"], s["alarms_acked"])
                  for s in target.site_summaries(clock())}
        assert counts["site-e"] == (0, 1)
    finally:
        target.close()
