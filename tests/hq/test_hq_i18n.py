"""HQ speaks Chinese by default and English one tap away; ``/healthz`` answers monitors."""
from __future__ import annotations

import json

from hq_helpers import Kiosk, add_site, csrf_token, push, sign_in

from hq.i18n import COOKIE


def test_hq_pages_are_chinese_by_default_and_english_after_the_switch(client, store):
    sign_in(client, store)
    home = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in home and "物业前台总部" in home and "站点" in home
    assert 'href="/lang/en?next=/"' in home and ">English</a>" in home
    assert "Sites" not in home and "Sign out" not in home
    response = client.get("/lang/en", query_string={"next": "/tickets?site=x"})
    assert response.status_code == 303 and response.location == "/tickets?site=x"
    page = client.get("/tickets").get_data(as_text=True)
    assert '<html lang="en">' in page and "All sites" in page and "Sign out" in page
    assert "全部站点" not in page and 'href="/lang/zh_CN?next=/tickets"' in page  # the way back
    client.get("/lang/zh_CN")
    assert "全部站点" in client.get("/tickets").get_data(as_text=True)


def test_the_language_switch_works_before_sign_in_and_outlives_signing_out(client, store):
    sign_in(client, store)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get("/lang/en").status_code == 303  # no sign-in needed
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)
    sign_in(client, store)  # signing in clears the session, not the language
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_the_switch_goes_back_only_within_hq_and_knows_its_languages(client):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil", "javascript:x"):
        assert client.get("/lang/en", query_string={"next": target}).location == "/"
    assert client.get_cookie(COOKIE).value == "en"
    client.get("/lang/xx")  # not a language: the choice stands
    assert client.get_cookie(COOKIE).value == "en"
    client.get("/lang/zh_CN")
    assert client.get_cookie(COOKIE).value == "zh_CN"


def test_error_pages_follow_the_language_and_the_api_answers_in_english(client, store):
    sign_in(client, store)
    assert "找不到页面" in client.get("/sites/nope").get_data(as_text=True)
    client.get("/lang/en")
    assert "Not found" in client.get("/sites/nope").get_data(as_text=True)
    assert client.get("/api/v1/nothing").get_json() == {"error": "Not Found"}


def test_the_site_page_names_alarm_kinds_in_the_pages_language(client, store, kiosk, tmp_path,
                                                                 clock):
    key = add_site(store)
    kiosk.report("t-1")
    push(client, key, kiosk.events)
    impostor = Kiosk(tmp_path / "impostor", "site-a", clock)
    impostor.report("zz")
    push(client, key, impostor.events)  # a conflict
    sign_in(client, store)
    html = client.get("/sites/site-a").get_data(as_text=True)
    assert "冲突：总部在此编号下存有另一条记录" in html and "哈希链已验证" in html


def test_healthz_answers_without_sign_in_and_shows_no_secret(client, store, kiosk):
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json() == {"ok": True, "store": {"ok": True}, "sites": 0,
                                 "last_ingest": None}
    key = add_site(store)
    kiosk.report("t-1")
    push(client, key, kiosk.events)
    body = client.get("/healthz").get_data(as_text=True)
    answer = json.loads(body)
    assert answer["sites"] == 1 and answer["last_ingest"].startswith("2026-11-28T02:00")
    assert key["secret"] not in body and key["key_id"] not in body and store.epoch() not in body


def test_healthz_says_503_when_the_store_does_not_answer(backend, client, store):
    store.close()
    backend.wipe()  # gone: a fresh SQLite file has no tables; a dropped database no server
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["store"] == {"ok": False}
