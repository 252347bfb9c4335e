"""Icons are SVG symbols of the vendored Lucide sprite, never emoji: an emoji is an empty
box on a tablet without an emoji font (issue 9). The sprite holds exactly the icons the
pages use, with its licence; the rendered pages carry no emoji at all."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from helpers import csrf_token, sign_in

from kiosk.tickets.rules import CATEGORIES

ROOT = Path(__file__).resolve().parent.parent
LUCIDE = ROOT / "static" / "vendor" / "lucide"
SPRITE_URL = "/static/vendor/lucide/icons.svg"
#: Emoji and pictographs, symbols and dingbats, technical symbols, the emoji selector.
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF\uFE0F]")


def used_icons() -> set[str]:
    """Every icon a page may show: the categories' and those named in the templates."""
    named = {m for path in (ROOT / "templates").rglob("*.html")
             for m in re.findall(r'\bicon\("([a-z0-9-]+)"\)', path.read_text(encoding="utf-8"))}
    return named | {cat.icon for cat in CATEGORIES.values()}


def sprite_symbols() -> list[str]:
    return re.findall(r'<symbol id="([a-z0-9-]+)"', (LUCIDE / "icons.svg").read_text(encoding="utf-8"))


def build_script():
    spec = importlib.util.spec_from_file_location("build_icon_sprite",
                                                  ROOT / "scripts" / "build_icon_sprite.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sprite_holds_exactly_the_icons_the_pages_use():
    symbols = sprite_symbols()
    assert len(symbols) == len(set(symbols))
    assert set(symbols) == used_icons()
    assert set(build_script().ICONS) == set(symbols)  # the build script documents each one
    assert all(re.fullmatch(r"[a-z0-9-]+", cat.icon) for cat in CATEGORIES.values())


def test_the_vendored_set_carries_its_licence_and_version():
    sprite = (LUCIDE / "icons.svg").read_text(encoding="utf-8")
    version = re.search(r"lucide-static (\d+\.\d+\.\d+) \(ISC", sprite).group(1)
    readme = (LUCIDE / "README.md").read_text(encoding="utf-8")
    assert f"**{version}**" in readme and "ISC" in readme
    assert (LUCIDE / "LICENSE").read_text(encoding="utf-8").startswith("ISC License")
    assert not EMOJI.search(sprite)


def test_the_sprite_is_served_as_svg(client):
    response = client.get(SPRITE_URL)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b'<symbol id="wrench"' in response.data


def icons_in(html: str) -> set[str]:
    return set(re.findall(r'<svg class="icon" aria-hidden="true" focusable="false"><use href="'
                          + re.escape(SPRITE_URL) + r'#([a-z0-9-]+)"></use></svg>', html))


def no_emoji(html: str) -> None:
    found = sorted({f"U+{ord(c):04X} {c}" for c in EMOJI.findall(html)})
    assert not found, f"emoji in the page: {found}"


@pytest.mark.parametrize("lang", ["zh_Hans_CN", "en"])
def test_visitor_pages_show_svg_icons_and_no_emoji(client, visitor, lang):
    client.get(f"/lang/{lang}")
    home = client.get("/").get_data(as_text=True)
    no_emoji(home)
    assert icons_in(home) == {cat.icon for cat in CATEGORIES.values()}  # one per tile
    at_place = client.get("/q/DEMO-LIB", follow_redirects=True).get_data(as_text=True)
    no_emoji(at_place)
    assert "map-pin" in icons_in(at_place)  # "you are reporting at"
    visitor.report(category="emergency")
    receipt = client.get("/report/receipt").get_data(as_text=True)
    no_emoji(receipt)
    status_path = re.search(r'href="(/t/[^"]+)" id="status-link"', receipt).group(1)
    no_emoji(client.get(status_path).get_data(as_text=True))


def test_staff_pages_show_svg_icons_and_no_emoji(app, client, visitor, store):
    visitor.report(category="emergency")  # not acknowledged: the queue rings its alarm
    (emergency,) = store.open_tickets()
    sign_in(app, client, name="Wang Fang", role="manager")
    queue = client.get("/staff/").get_data(as_text=True)
    no_emoji(queue)
    assert icons_in(queue) == {"phone", "person-standing", "siren"}  # the menu's, the alarm's
    badge = re.search(r'<span class="alarm-badge" role="alert">(.*?)</span>', queue, re.S).group(1)
    assert icons_in(badge) == {"siren"}
    polled = client.get("/staff/", headers={"HX-Request": "true", "HX-Trigger": "queue-rows"})
    no_emoji(polled.get_data(as_text=True))
    assert icons_in(polled.get_data(as_text=True)) == {"siren"}
    ticket = client.get(f"/staff/t/{emergency['id']}").get_data(as_text=True)
    no_emoji(ticket)
    assert "siren" in icons_in(ticket)  # on the escalation chain
    for path in ("/staff/record/phone", "/staff/record/walk_in", "/staff/places",
                 "/staff/sync", "/staff/team"):
        response = client.get(path)
        assert response.status_code == 200, path
        no_emoji(response.get_data(as_text=True))
    client.post(f"/staff/t/{emergency['id']}/acknowledge",
                data={"csrf_token": csrf_token(client, f"/staff/t/{emergency['id']}"),
                      "request_id": "01J0000000000000000000ACK1"})
    quiet = client.get("/staff/", headers={"HX-Request": "true", "HX-Trigger": "queue-rows"})
    assert "siren" not in icons_in(quiet.get_data(as_text=True))  # the alarm is off
