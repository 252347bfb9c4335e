"""Bad input, CSRF, rate limits and headers: a clear 4xx page, never a 500, nothing changed."""
from __future__ import annotations

import os
import re
import stat

import pytest

from helpers import Visitor
from kiosk import create_app

SCRIPT = '<script>alert("x")</script>'


def fingerprint(store) -> tuple:
    """What is stored: the log's end and every projection file's bytes."""
    folder = store.folder / "projections"
    return (store.last_seq,
            tuple(sorted((p.name, p.read_bytes()) for p in folder.glob("*.json")
                         if p.name != "meta.json")))


def at_details(visitor, category="repair"):
    visitor.post("/report", {"category": category})
    visitor.post("/report/place", {"location": "DEMO-LIB"})


@pytest.mark.parametrize("fields, field", [
    ({"description": "", "phone": "13812345678"}, "description"),
    ({"description": "   \n ", "phone": "13812345678"}, "description"),
    ({"description": "x" * 2001, "phone": "13812345678"}, "description"),
    ({"description": "ok", "phone": "13812345678", "name": "n" * 41}, "name"),
    ({"description": "bad \x00 byte", "phone": "13812345678"}, "description"),
    ({"description": "escape \x1b[2J", "phone": "13812345678"}, "description"),
    ({"description": "ok", "phone": "13812345678", "name": "line\nbreak"}, "name"),
    ({"description": "ok", "phone": SCRIPT}, "phone"),
    ({"description": "ok", "phone": "12345"}, "phone"),
    ({"description": "ok", "phone": "1381234567"}, "phone"),
    ({"description": "ok", "phone": "13812345678", "preferred_at": "tomorrow"}, "preferred_at"),
    ({"description": "ok", "phone": "13812345678", "preferred_at": "2020-01-01T10:00"},
     "preferred_at"),
])
def test_bad_details_get_a_message_next_to_the_field_and_store_nothing(visitor, store, fields,
                                                                       field):
    at_details(visitor)
    before = fingerprint(store)
    response = visitor.post("/report/details", fields)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert visitor.post("/report/review").status_code == 422  # the draft is not accepted either
    assert fingerprint(store) == before


@pytest.mark.parametrize("phone, stored", [("138 1234 5678", "13812345678"),
                                           ("+86 138-1234-5678", "13812345678"),
                                           ("010-62751234", "01062751234"),
                                           ("0755 8888 1234", "075588881234"),
                                           ("62751234", "62751234")])
def test_mobile_and_landline_numbers_are_accepted(visitor, store, phone, stored):
    visitor.report(phone=phone)
    (ticket,) = store.open_tickets()
    assert ticket["phone"] == stored


def test_script_in_every_text_field_is_shown_as_text(visitor, client, store):
    visitor.report(description=SCRIPT, name=SCRIPT)
    token = re.search(r'href="/t/([^"]+)"', client.get("/report/receipt").get_data(as_text=True))
    (ticket,) = store.open_tickets()
    assert ticket["description"] == SCRIPT and ticket["name"] == SCRIPT
    visitor.post("/report", {"category": "repair"})
    visitor.post("/report/place", {"location": "DEMO-LIB"})
    visitor.post("/report/details", {"description": SCRIPT, "name": SCRIPT, "phone": "13812345678"})
    for path in ("/report/review", f"/t/{token.group(1)}", f"/q/{SCRIPT}",
                 f"/report/place?q={SCRIPT}"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html, path
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in \
        client.get("/report/review").get_data(as_text=True)


def test_unknown_place_code_in_the_form_is_refused(visitor, store):
    visitor.post("/report", {"category": "repair"})
    before = fingerprint(store)
    response = visitor.post("/report/place", {"location": SCRIPT})
    assert response.status_code == 422 and 'id="location-error"' in response.get_data(as_text=True)
    assert fingerprint(store) == before


@pytest.mark.parametrize("category", ["", "fire", SCRIPT, "repair" * 100])
def test_unknown_category_is_a_clear_400(visitor, store, category):
    before = fingerprint(store)
    response = visitor.post("/report", {"category": category})
    assert response.status_code == 400
    assert "请求有误" in response.get_data(as_text=True)
    assert fingerprint(store) == before


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_a_wrong_csrf_token_is_refused_and_nothing_is_stored(client, visitor, store, token):
    at_details(visitor)
    visitor.post("/report/details", {"description": "ok", "phone": "13812345678"})
    before = fingerprint(store)
    data = {} if token is None else {"csrf_token": token}
    response = client.post("/report/review", data=data)
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)
    assert fingerprint(store) == before


def test_a_ten_megabyte_body_is_refused_with_413(visitor, store):
    at_details(visitor)
    before = fingerprint(store)
    response = visitor.post("/report/details", {"description": "x" * (10 * 1024 * 1024),
                                                "phone": "13812345678"})
    assert response.status_code == 413
    assert "提交的内容太多了" in response.get_data(as_text=True)
    assert fingerprint(store) == before


@pytest.mark.parametrize("method, path", [("get", "/report"), ("get", "/reset"),
                                          ("post", "/healthz"), ("get", "/nope"),
                                          ("get", "/t/%00%ff"), ("get", "/q/" + "x" * 500)])
def test_odd_requests_get_a_friendly_4xx(client, method, path):
    response = getattr(client, method)(path)
    assert 400 <= response.status_code < 500
    assert "<!doctype html>" in response.get_data(as_text=True).lower()


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "javascript:x",
                                    "\\\\evil"])
def test_language_switch_never_redirects_off_site(client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 303 and response.location == "/"


def test_submissions_are_rate_limited_per_client_and_keep_the_entry(tmp_path):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "d"), "SECRET_KEY": "t",
                      "RATE_LIMIT": 2, "RATE_WINDOW_SECONDS": 3600})
    try:
        visitor = Visitor(app.test_client())
        assert visitor.report().status_code == 303
        assert visitor.report().status_code == 303
        response = visitor.report(description="the third one")
        assert response.status_code == 429
        assert "请稍等片刻" in response.get_data(as_text=True)
        assert "the third one" in visitor.client.get("/report/review").get_data(as_text=True)
        other = app.test_client()
        other_visitor = Visitor(other)
        other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
        assert other_visitor.report().status_code == 303
    finally:
        app.extensions["kiosk_store"].close()


def test_pages_carry_the_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]


def test_no_page_loads_anything_from_another_host(client, visitor):
    visitor.report()
    for path in ("/", "/report/receipt"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//', html), path


def test_secret_key_is_generated_into_the_data_folder(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path / "d")})
    try:
        key_file = tmp_path / "d" / "secret_key"
        assert app.config["SECRET_KEY"] == key_file.read_text().strip()
        assert len(app.config["SECRET_KEY"]) >= 64
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    finally:
        app.extensions["kiosk_store"].close()


@pytest.mark.parametrize("env, config, secure", [
    ({}, {}, False),
    ({"KIOSK_PUBLIC_BASE_URL": "https://desk.example.com"}, {}, True),
    ({"KIOSK_PUBLIC_BASE_URL": "http://192.168.1.20:8080"}, {}, False),
    ({}, {"PUBLIC_BASE_URL": "HTTPS://desk.example.com/"}, True),
    ({"KIOSK_PUBLIC_BASE_URL": "https://desk.example.com",
      "KIOSK_SESSION_COOKIE_SECURE": "false"}, {}, False),
    ({"KIOSK_SESSION_COOKIE_SECURE": "true"}, {}, True),
])
def test_cookies_are_secure_when_the_kiosk_is_served_over_https(tmp_path, monkeypatch, env,
                                                               config, secure):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "d"), **config})
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is secure
        cookie = app.test_client().get("/lang/en").headers["Set-Cookie"]
        assert ("; Secure" in cookie) is secure
    finally:
        app.extensions["kiosk_store"].close()
