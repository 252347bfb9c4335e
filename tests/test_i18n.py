"""Every visible string is translated; Chinese by default, English one tap away."""
from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from helpers import sign_in

from common.i18n import pick
from kiosk import create_app
from kiosk.shell import site_language

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "common" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "N_": None}


def extracted_msgids() -> set[str]:
    found = set()
    for folder, pattern, method in (("kiosk", "**.py", "python"), ("common", "*.py", "python"),
                                    ("sync", "*.py", "python"), ("hq", "*.py", "python"),
                                    ("templates", "**.html", "jinja2")):
        for _, _, message, _, _ in extract_from_dir(ROOT / folder, method_map=[(pattern, method)],
                                                    keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_visible_string_has_a_chinese_translation():
    catalog = read_po(open(CATALOG / "messages.po", "rb"))
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    visible = extracted_msgids()
    assert {"Repair", "Please fill this in.", "Your ticket number"} <= visible  # extraction works
    missing = visible - translated
    assert not missing, f"untranslated: {sorted(missing)}"


def test_compiled_catalog_matches_the_po_file():
    po = {m.id: m.string for m in read_po(open(CATALOG / "messages.po", "rb")) if m.id}
    mo = {m.id: m.string for m in read_mo(BytesIO((CATALOG / "messages.mo").read_bytes())) if m.id}
    assert po == mo, "run: pybabel compile -d common/translations"


def test_chinese_is_the_default_and_english_one_tap_away(client):
    home = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in home and "报修" in home and 'href="/lang/en?next=/"' in home
    response = client.get("/lang/en", query_string={"next": "/"})
    assert response.status_code == 303
    home = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in home and "Repair" in home and "报修" not in home
    assert "中文" in home  # the way back


def test_validation_messages_follow_the_visitors_language(client, visitor):
    client.get("/lang/en")
    visitor.post("/report", {"category": "repair"})
    visitor.post("/report/place", {"location": "DEMO-LIB"})
    html = visitor.post("/report/details", {"description": "", "phone": ""}).get_data(as_text=True)
    assert "Please fill this in." in html
    assert "Please leave a phone number so we can call you back." in html


def test_error_pages_follow_the_visitors_language(client):
    assert "找不到这个页面" in client.get("/nope").get_data(as_text=True)
    client.get("/lang/en")
    assert "We could not find that page" in client.get("/nope").get_data(as_text=True)


def test_switching_language_on_the_details_step_keeps_what_was_typed(client, visitor):
    visitor.post("/report", {"category": "repair"})
    visitor.post("/report/place", {"location": "DEMO-LIB"})
    page = client.get("/report/details").get_data(as_text=True)
    assert 'form="details-form" name="switch_lang" value="en"' in page
    response = visitor.post("/report/details", {"description": "还没写完", "phone": "138",
                                                "switch_lang": "en"})
    assert response.status_code == 303 and response.location.endswith("/report/details")
    html = client.get("/report/details").get_data(as_text=True)
    assert '<html lang="en">' in html and "还没写完" in html and 'value="138"' in html
    assert "Please enter" not in html  # not checked yet: the visitor has not gone on


def test_times_are_shown_in_the_sites_zone_naive_ones_taken_as_utc(app):
    from datetime import datetime

    from kiosk.i18n import local_time
    with app.app_context():
        assert local_time("2026-11-28T16:30:00+00:00") == "2026-11-29 00:30"
        assert local_time(datetime(2026, 11, 28, 16, 30), "time") == "00:30"
        assert local_time(None) == ""


def test_html_lang_comes_back_to_chinese_on_the_start_screen_and_a_staff_page(app, client):
    """The start screen is cached per language: switching back must not serve the English
    page (or its ``<html lang="en">``) again; staff pages follow the same choice."""
    def page(path):
        return client.get(path).get_data(as_text=True)

    for path in ("/", "/staff/"):
        if path == "/staff/":
            sign_in(app, client)
        assert '<html lang="zh-CN">' in page(path)
        client.get("/lang/en", query_string={"next": path})
        assert '<html lang="en">' in page(path)
        assert client.get("/lang/zh_CN", query_string={"next": path}).status_code == 303
        html = page(path)
        assert '<html lang="zh-CN">' in html and 'English</a>' in html
        assert '<html lang="en">' not in html


def test_a_site_may_speak_english_first_and_its_shell_commands_follow(tmp_path, clock):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "CLOCK": clock,
                      "SECRET_KEY": "test", "BABEL_DEFAULT_LOCALE": "en"})
    try:
        client = app.test_client()
        home = client.get("/").get_data(as_text=True)
        assert '<html lang="en">' in home and "Repair" in home
        client.get("/lang/zh_CN", query_string={"next": "/"})
        assert "报修" in client.get("/").get_data(as_text=True)  # Chinese one tap away
        assert site_language(app.config) == "en" and site_language(app.config, "zh_CN") == "zh_CN"
    finally:
        app.extensions["kiosk_store"].close()
    assert pick(None) == pick("xx", "yy") == "zh_CN"  # nothing set, nothing known: Chinese
