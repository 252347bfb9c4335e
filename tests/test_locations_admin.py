"""Places admin (R17) under /staff/places: add, rename, retire, restore, CSV import, posters.

Sign-in is simulated: ``load_signed_in_staff`` (called by the /staff guard on every
request) is patched to return the staff member a test wants.
"""
from __future__ import annotations

import io
import re

import pytest

from kiosk.locations import service
from kiosk.qr import qr_svg

BASE = "http://192.168.1.20:8080"
GOOD = "code,name_zh,name_en,building\nB1-101,1号楼 101室,Building 1 Room 101,1号楼\nGATE,南门,,\n"
LI = {"id": "s1", "name": "李娜", "role": "receptionist"}


class Desk:
    """A signed-in staff member at the places pages, sending real CSRF tokens."""

    def __init__(self, client, monkeypatch):
        self.client, self.monkeypatch = client, monkeypatch
        self.sign_in(**LI)
        client.get("/lang/en")  # assert on the English msgids, whatever the catalog holds
        self.token = re.search(r'name="csrf_token" value="([^"]+)"',
                               client.get("/staff/places").get_data(as_text=True)).group(1)

    def sign_in(self, **staff):
        self.monkeypatch.setattr("kiosk.staff.auth.load_signed_in_staff", lambda: dict(staff))

    def post(self, path: str, data: dict | None = None, **kwargs):
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kwargs)

    def add(self, code="B1-201", name_zh="1号楼 201室", name_en="Building 1 Room 201",
            building="1号楼"):
        return self.post("/staff/places", {"code": code, "name_zh": name_zh, "name_en": name_en,
                                           "building": building})

    def upload(self, content: bytes, filename="places.csv"):
        return self.post("/staff/places/import", {"file": (io.BytesIO(content), filename)},
                         content_type="multipart/form-data")


@pytest.fixture
def desk(client, monkeypatch):
    return Desk(client, monkeypatch)


def last_event(store) -> dict:
    return list(store.events_after(store.last_seq - 1))[-1]


def html_of(response) -> str:
    return response.get_data(as_text=True)


# -- the list ------------------------------------------------------------------------
def test_the_list_shows_every_place_with_its_code_names_building_and_demo_badge(desk, store):
    html = html_of(desk.client.get("/staff/places"))
    for place in store.locations():
        assert f'id="place-{place["code"]}"' in html and place["name_zh"] in html
    assert "Teaching Building 1, Room 201" in html and "3号学生公寓" in html
    assert html.count('<span class="badge">Demo</span>') == len(store.locations())


def test_the_list_is_in_chinese_by_default(client, monkeypatch):
    monkeypatch.setattr("kiosk.staff.auth.load_signed_in_staff", lambda: dict(LI))
    html = html_of(client.get("/staff/places"))
    assert '<html lang="zh-CN">' in html and "示例" in html


# -- add -----------------------------------------------------------------------------
def test_adding_a_place_records_an_event_signed_by_the_staff_member(desk, store, clock):
    response = desk.add()
    assert response.status_code == 303
    assert response.location.endswith("/staff/places#place-B1-201")
    assert store.location("B1-201") == {
        "code": "B1-201", "name_zh": "1号楼 201室", "name_en": "Building 1 Room 201",
        "building": "1号楼", "active": True, "demo": False}
    event = last_event(store)
    assert event["type"] == "location_saved" and event["ticket_id"] is None
    assert event["actor"] == LI and event["at"] == clock.now.isoformat()
    assert "Saved B1-201." in html_of(desk.client.get("/staff/places"))
    assert "B1-201" in [p["code"] for p in service.search(store, "201室")]  # visitors see it


@pytest.mark.parametrize("fields, field, message", [
    ({"code": ""}, "code", "Please fill this in."),
    ({"code": "B1 201"}, "code", "Use 1 to 32 letters, digits, - or _ (no spaces)."),
    ({"code": "X" * 33}, "code", "Use 1 to 32 letters, digits, - or _ (no spaces)."),
    ({"code": "DEMO-LIB"}, "code", "A place with this code exists already."),
    ({"name_zh": "  "}, "name_zh", "Please fill this in."),
    ({"name_zh": "楼" * 81}, "name_zh", "Please keep this to 80 characters or fewer."),
    ({"name_en": "Room\x07"}, "name_en", "This contains characters that cannot be used."),
    ({"building": "B" * 81}, "building", "Please keep this to 80 characters or fewer."),
])
def test_a_bad_place_is_refused_next_to_its_field_keeping_what_was_typed(desk, store, fields,
                                                                         field, message):
    typed = {"code": "B1-201", "name_zh": "1号楼 201室", "name_en": "Room 201",
             "building": "1号楼", **fields}
    seq = store.last_seq
    response = desk.add(**typed)
    assert response.status_code == 422
    html = html_of(response)
    assert re.search(rf'<p class="error" id="{field}-error">[^<]*{re.escape(message)}', html)
    assert f'id="{field}"' in html and 'aria-invalid="true"' in html
    for name, value in typed.items():
        if value.strip() and value.isprintable():
            assert f'value="{value}"' in html  # kept
    assert store.last_seq == seq  # nothing recorded


def test_adding_the_code_of_a_retired_place_brings_it_back_with_the_new_names(desk, store):
    desk.post("/staff/places/DEMO-LIB/retire")
    assert desk.add(code="DEMO-LIB", name_zh="新图书馆", name_en="", building="").status_code == 303
    place = store.location("DEMO-LIB")
    assert place["active"] is True and place["name_zh"] == "新图书馆"


# -- rename --------------------------------------------------------------------------
def test_renaming_keeps_the_code_and_the_old_name_stays_in_the_event_log(desk, store):
    page = html_of(desk.client.get("/staff/places/DEMO-LIB/rename"))
    assert 'value="图书馆"' in page and 'value="Library"' in page
    response = desk.post("/staff/places/DEMO-LIB/rename",
                         {"code": "HACKED", "name_zh": "逸夫图书馆", "name_en": "Yifu Library",
                          "building": "图书馆"})
    assert response.status_code == 303
    place = store.location("DEMO-LIB")
    assert (place["name_zh"], place["name_en"], place["active"]) == ("逸夫图书馆", "Yifu Library",
                                                                     True)
    assert store.location("HACKED") is None  # the code comes from the URL, never the form
    saved = [e for e in store.events_after(0) if "DEMO-LIB" in str(e["data"])]
    names = [row["name_zh"] for e in saved for row in e["data"].get("rows", [e["data"]])
             if row["code"] == "DEMO-LIB"]
    assert names == ["图书馆", "逸夫图书馆"]  # R6: the old name is still in the record
    assert last_event(store)["actor"] == LI


def test_a_bad_rename_is_refused_keeping_what_was_typed(desk, store):
    seq = store.last_seq
    response = desk.post("/staff/places/DEMO-LIB/rename",
                         {"name_zh": "", "name_en": "Library West", "building": "图书馆"})
    assert response.status_code == 422
    html = html_of(response)
    assert 'id="name_zh-error">Please fill this in.' in html and 'value="Library West"' in html
    assert store.last_seq == seq and store.location("DEMO-LIB")["name_en"] == "Library"


def test_saving_a_rename_unchanged_records_nothing(desk, store):
    seq = store.last_seq
    desk.post("/staff/places/DEMO-LIB/rename",
              {"name_zh": "图书馆", "name_en": "Library", "building": "图书馆"})
    assert store.last_seq == seq


@pytest.mark.parametrize("method, path", [
    ("get", "/staff/places/NOPE/rename"), ("post", "/staff/places/NOPE/rename"),
    ("post", "/staff/places/NOPE/retire"), ("post", "/staff/places/NOPE/restore"),
    ("get", "/staff/places/posters?code=NOPE"),
])
def test_an_unknown_code_is_404(desk, method, path):
    response = desk.client.get(path) if method == "get" else desk.post(path, {"name_zh": "x"})
    assert response.status_code == 404


# -- retire and restore ----------------------------------------------------------------
def test_a_retired_place_leaves_the_visitors_list_and_its_qr_code_is_unknown(desk, store, client):
    response = desk.post("/staff/places/DEMO-LIB/retire")
    assert response.status_code == 303
    assert store.location("DEMO-LIB")["active"] is False  # the row stays
    event = last_event(store)
    assert event["type"] == "location_saved" and event["actor"] == LI
    assert event["data"] == {"code": "DEMO-LIB", "name_zh": "图书馆", "name_en": "Library",
                             "building": "图书馆", "active": False}
    assert "DEMO-LIB" not in [p["code"] for p in service.search(store, "")]
    phone = client.application.test_client()
    qr = phone.get("/q/DEMO-LIB")
    assert qr.status_code == 404 and "无法识别这个地点编号" in html_of(qr)
    html = html_of(desk.client.get("/staff/places"))
    row = re.search(r'id="place-DEMO-LIB".*?</div>', html, re.S).group(0)
    assert "Retired" in row and "/staff/places/DEMO-LIB/restore" in row
    assert "Retired DEMO-LIB." in html


def test_restoring_brings_the_place_back(desk, store, client):
    desk.post("/staff/places/DEMO-LIB/retire")
    assert desk.post("/staff/places/DEMO-LIB/restore").status_code == 303
    assert store.location("DEMO-LIB")["active"] is True
    assert last_event(store)["actor"] == LI
    assert client.application.test_client().get("/q/DEMO-LIB").status_code == 303


def test_retiring_twice_records_once(desk, store):
    desk.post("/staff/places/DEMO-LIB/retire")
    seq = store.last_seq
    assert desk.post("/staff/places/DEMO-LIB/retire").status_code == 303
    assert store.last_seq == seq


def test_the_places_are_rebuilt_the_same_from_the_event_log(desk, store):
    desk.add()
    desk.post("/staff/places/DEMO-LIB/rename", {"name_zh": "逸夫图书馆", "building": "图书馆"})
    desk.post("/staff/places/DEMO-GYM/retire")
    before = store.locations(active_only=False)
    store.rebuild()
    assert store.locations(active_only=False) == before


# -- CSV import ------------------------------------------------------------------------
def test_uploading_a_good_csv_imports_it_and_retires_the_demo_places(desk, store):
    response = desk.upload(("\ufeff" + GOOD).encode())  # Excel's BOM is fine
    assert response.status_code == 303
    assert [p["code"] for p in store.locations()] == ["GATE", "B1-101"]
    assert store.location("DEMO-LIB")["active"] is False
    event = last_event(store)
    assert event["type"] == "locations_imported" and event["actor"] == LI
    assert "Places imported: 2." in html_of(desk.client.get("/staff/places"))


def test_uploading_a_bad_csv_lists_the_bad_lines_and_imports_nothing(desk, store):
    seq = store.last_seq
    response = desk.upload((GOOD + "bad code!,名,,\nB1-101,again,,\n").encode())
    assert response.status_code == 422
    html = html_of(response)
    assert "Nothing was imported" in html
    assert "Line 4: code &#39;bad code!&#39; must be 1-32 letters" in html
    assert "Line 5: code B1-101 already on line 2" in html
    assert store.last_seq == seq and store.location("GATE") is None


@pytest.mark.parametrize("content, message", [
    (b"", "choose a CSV file first"),
    (GOOD.encode("gb18030"), "the file is not UTF-8 text"),
    (b"name,code\nx,y\n", "Line 1: the header must be code,name_zh,name_en,building"),
])
def test_an_unusable_upload_says_why(desk, store, content, message):
    seq = store.last_seq
    response = desk.upload(content)
    assert response.status_code == 422 and message in html_of(response)
    assert store.last_seq == seq


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"], ids=["old Mac", "Windows", "Unix"])
def test_a_csv_with_any_line_ends_is_imported(desk, store, newline):
    response = desk.upload(GOOD.replace("\n", newline).encode())
    assert response.status_code == 303
    assert [p["code"] for p in store.locations()] == ["GATE", "B1-101"]


def test_bad_lines_of_an_old_mac_csv_are_reported_by_their_number(desk, store):
    seq = store.last_seq
    response = desk.upload((GOOD + "bad code!,名,,\n").replace("\n", "\r").encode())
    assert response.status_code == 422
    assert "Line 4: code &#39;bad code!&#39; must be 1-32 letters" in html_of(response)
    assert store.last_seq == seq


def test_a_line_the_csv_reader_cannot_read_is_reported_not_a_crash():
    with pytest.raises(service.BadCSV) as caught:
        service.parse_csv(GOOD + "X1," + "名" * 140_000 + ",,\n")  # over the csv field limit
    (line, problem), = caught.value.problems
    assert line == 4 and "cannot be read as CSV" in problem


# -- QR posters ------------------------------------------------------------------------
def test_posters_show_one_qr_code_per_active_place_carrying_its_q_url(desk, store, app):
    app.config["PUBLIC_BASE_URL"] = BASE + "/"
    desk.post("/staff/places/DEMO-GYM/retire")
    active = store.locations()
    response = desk.client.get("/staff/places/posters")
    assert response.status_code == 200
    html = html_of(response)
    assert html.count('<svg class="qr"') == len(active) == 7
    for place in active:
        url = f"{BASE}/q/{place['code']}"
        assert str(qr_svg(url)) in html  # the code encodes exactly this URL
        assert f'<p class="poster-url">{url}</p>' in html  # ...printed under it
    assert "/q/DEMO-GYM" not in html
    assert "css/print.css" in html and "KIOSK_PUBLIC_BASE_URL" not in html


def test_a_poster_url_starts_a_report_at_that_place(desk, app):
    app.config["PUBLIC_BASE_URL"] = BASE
    html = html_of(desk.client.get("/staff/places/posters", query_string={"code": "DEMO-T1-201"}))
    assert html.count('<svg class="qr"') == 1
    url = re.search(r'<p class="poster-url">([^<]+)</p>', html).group(1)
    assert url == f"{BASE}/q/DEMO-T1-201"
    phone = app.test_client()
    response = phone.get(url.removeprefix(BASE))
    assert response.status_code == 303 and response.location == "/"
    home = html_of(phone.get("/"))
    assert "1号教学楼 201教室" in home
    token = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)
    response = phone.post("/report", data={"csrf_token": token, "category": "repair"})
    assert response.status_code == 303 and response.location.endswith("/report/details")


def test_posters_warn_when_no_public_address_is_configured(desk):
    html = html_of(desk.client.get("/staff/places/posters"))
    assert "KIOSK_PUBLIC_BASE_URL" in html and '<p class="poster-url">http://localhost/q/' in html


def import_places(store, clock, buildings: dict[str, int]) -> None:
    service.import_rows(store, [{"code": f"{b}-{i:04d}", "name_zh": f"{b} {i}室", "name_en": "",
                                 "building": b} for b, n in buildings.items() for i in range(n)],
                        clock(), LI)


def test_posters_come_a_page_at_a_time(desk, store, clock):
    import_places(store, clock, {"B1": 45, "B2": 5})  # 50 places: pages of 20, 20 and 10
    first = html_of(desk.client.get("/staff/places/posters"))
    assert first.count('<svg class="qr"') == service.POSTERS_PER_PAGE == 20
    assert "Page 1 of 3: 50 places in all, 20 posters on this page." in first
    assert 'rel="next" href="/staff/places/posters?page=2"' in first and 'rel="prev"' not in first
    last = html_of(desk.client.get("/staff/places/posters?page=3"))
    assert last.count('<svg class="qr"') == 10 and "/q/B2-0004" in last and 'rel="next"' not in last
    assert html_of(desk.client.get("/staff/places/posters?page=99")).count('<svg class="qr"') == 10
    assert html_of(desk.client.get("/staff/places/posters?page=x")).count('<svg class="qr"') == 20


def test_posters_of_one_building(desk, store, clock):
    import_places(store, clock, {"B1": 45, "B2": 5})
    html = html_of(desk.client.get("/staff/places/posters?building=B2"))
    assert html.count('<svg class="qr"') == 5 and "/q/B1-" not in html
    assert '<option value="B2" selected>B2</option>' in html
    assert "Page 1 of 1: 5 places in all" in html


def test_thousands_of_places_still_print_one_page_per_request(desk, store, clock):
    import_places(store, clock, {f"B{b}": 250 for b in range(8)})  # 2,000 places
    html = html_of(desk.client.get("/staff/places/posters"))
    assert html.count('<svg class="qr"') == 20 and "Page 1 of 100: 2000 places in all" in html
    assert 'rel="next" href="/staff/places/posters?page=2"' in html


def test_a_retired_place_has_no_poster(desk):
    desk.post("/staff/places/DEMO-LIB/retire")
    assert desk.client.get("/staff/places/posters?code=DEMO-LIB").status_code == 404


# -- who may do what -------------------------------------------------------------------
def test_the_places_pages_need_a_signed_in_staff_member(client):
    response = client.get("/staff/places/posters")
    assert response.status_code == 303 and "/staff/login" in response.location


@pytest.mark.parametrize("role", ["receptionist", "manager"])
def test_receptionists_and_managers_manage_places(desk, store, role):
    who = {"id": "s2", "name": "王芳", "role": role}
    desk.sign_in(**who)
    assert 'action="/staff/places"' in html_of(desk.client.get("/staff/places"))
    assert desk.add().status_code == 303
    assert last_event(store)["actor"] == who


@pytest.mark.parametrize("path, data", [
    ("/staff/places", {"code": "B1-201", "name_zh": "x"}),
    ("/staff/places/DEMO-LIB/rename", {"name_zh": "x"}),
    ("/staff/places/DEMO-LIB/retire", {}),
    ("/staff/places/DEMO-LIB/restore", {}),
    ("/staff/places/import", {"file": (io.BytesIO(GOOD.encode()), "p.csv")}),
])
def test_maintenance_may_look_but_not_change(desk, store, path, data):
    desk.sign_in(id="s3", name="张工", role="maintenance")
    seq = store.last_seq
    assert desk.post(path, data).status_code == 403
    assert store.last_seq == seq


def test_maintenance_sees_the_list_and_posters_without_the_controls(desk):
    desk.sign_in(id="s3", name="张工", role="maintenance")
    html = html_of(desk.client.get("/staff/places"))
    assert "DEMO-LIB" in html
    assert 'action="/staff/places"' not in html and "/retire" not in html and "/rename" not in html
    assert desk.client.get("/staff/places/DEMO-LIB/rename").status_code == 403
    assert desk.client.get("/staff/places/posters").status_code == 200


# -- the service on its own ----------------------------------------------------------------
def test_renaming_a_code_no_place_has_is_refused(store, clock):
    with pytest.raises(service.UnknownLocation):
        service.save_location(store, {"code": "NOPE", "name_zh": "x"}, clock(), LI)
