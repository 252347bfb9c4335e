"""The technician's own phone (issue 10, point 2), at phone size in a browser of its own:
the printed work order's QR link asks them to sign in once and comes back to the order;
the place's poster offers "arrived" and records it as verified at the place; the repair
is completed with a short result.

The steps are helpers (``dispatched_repair``, ``technician_signs_in_from_order``,
``arrive_at_place``, ``complete_order``) for the whole repair flow to reuse. Texts are
the Chinese default UI; states are read from the page's data attributes.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from playwright.sync_api import Page, expect

from kiosk.tickets import actions, service

SHOTS = Path("/tmp/shots")
VISITOR = {"role": "visitor"}
SYSTEM = {"role": "system", "id": "e2e", "name": "e2e"}
MANAGER, TECHNICIAN = ("李娜", "8642"), ("张伟", "1357")
PHONE_NUMBER = "13812345678"


def add_staff(server, name: str, role: str, pin: str) -> dict:
    return server.app.extensions["staff_directory"].add(name, role, pin, actor=SYSTEM,
                                                        now=datetime.now(timezone.utc))


def dispatched_repair(server, desk: dict, technician: dict, location: str = "DEMO-LIB",
                      description: str = "阅览室的灯不亮了") -> dict:
    """A visitor's repair, confirmed and dispatched by ``desk`` to ``technician`` (accounts),
    through the domain API on the live server's store."""
    now, desk = datetime.now(timezone.utc), {k: desk[k] for k in ("role", "id", "name")}
    ticket = service.submit_report(
        server.store, {"category": "repair", "location": location, "description": description,
                       "name": "周先生", "phone": PHONE_NUMBER},
        channel="kiosk", actor=VISITOR, now=now, tz=server.app.config["TZ"])
    actions.confirm(server.store, ticket["id"], {}, actor=desk, now=now)
    return actions.dispatch(server.store, ticket["id"], "maintenance",
                            {"id": technician["id"], "name": technician["name"]},
                            actor=desk, now=now)


def technician_signs_in_from_order(page: Page, url: str, name: str, pin: str) -> None:
    """Open the work order's QR link, sign in on the page it leads to, land on the order."""
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text("员工登录")
    page.get_by_label("您的称呼").fill(name)
    page.get_by_label("密码").fill(pin)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(url)
    expect(page.locator(".staff-who")).to_contain_text(name)


def arrive_at_place(page: Page, base_url: str, code: str, number: str | None = None) -> None:
    """Open the place's poster link, tap "arrived" (for ``number``, or the only order
    there) and land on the order, arrival verified at the place."""
    page.goto(f"{base_url}/q/{code}")
    label = re.compile(f"已到场：{re.escape(number) if number else 'R-'}")
    page.get_by_role("button", name=label).click()
    expect(page).to_have_url(re.compile(r"/staff/orders/[^/]+$"))
    expect(page.locator("#order-arrival")).to_have_attribute("data-arrival", "verified")


def complete_order(page: Page, result: str, materials: str = "", fee: str = "") -> None:
    """On the order, record the repair done with ``result`` (and materials, fee)."""
    page.get_by_label("处理情况").fill(result)
    page.get_by_label("材料").fill(materials)
    page.get_by_label("费用（元）").fill(fee)
    page.get_by_role("button", name="提交完工").click()
    expect(page.locator("#order-status")).to_have_attribute("data-status", "resolved")


def fits_the_phone(page: Page) -> None:
    """Nothing scrolls sideways, and every button is a thumb's size."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    heights = page.evaluate("[...document.querySelectorAll('main .button')]"
                            ".map(b => b.getBoundingClientRect().height)")
    assert heights and min(heights) >= 48, heights


def test_the_technician_signs_in_from_the_order_arrives_at_the_place_and_completes(
        make_server, open_phone):
    server = make_server()
    manager = add_staff(server, MANAGER[0], "manager", MANAGER[1])
    technician = add_staff(server, TECHNICIAN[0], "maintenance", TECHNICIAN[1])
    ticket = dispatched_repair(server, manager, technician)
    SHOTS.mkdir(exist_ok=True)

    phone = open_phone(server.url)
    order_url = f"{server.url}/staff/orders/{ticket['id']}"
    technician_signs_in_from_order(phone, order_url, *TECHNICIAN)
    # the order: what, where, whom to call (the full number), by when
    expect(phone.get_by_role("heading", level=1)).to_have_text(ticket["number"])
    expect(phone.locator("main")).to_contain_text("阅览室的灯不亮了")
    expect(phone.locator("main")).to_contain_text("图书馆")
    expect(phone.locator("#order-phone")).to_have_attribute("href", f"tel:{PHONE_NUMBER}")
    expect(phone.locator("#order-status")).to_have_attribute("data-status", "dispatched")
    expect(phone.get_by_role("button", name="我已到场")).to_be_visible()
    fits_the_phone(phone)
    phone.screenshot(path=str(SHOTS / "technician-order.png"), full_page=True)

    # at the place: the poster offers "arrived" instead of the visitor's flow
    phone.goto(f"{server.url}/q/DEMO-LIB")
    expect(phone.get_by_role("button", name=f"已到场：{ticket['number']}")).to_be_visible()
    expect(phone.get_by_role("link", name="在此报告其他事项")).to_be_visible()
    fits_the_phone(phone)
    phone.screenshot(path=str(SHOTS / "technician-at-place.png"), full_page=True)
    arrive_at_place(phone, server.url, "DEMO-LIB", ticket["number"])
    expect(phone.locator("#order-arrival")).to_contain_text("现场扫码确认")
    assert server.store.ticket(ticket["id"])["arrival"] == "verified"
    phone.screenshot(path=str(SHOTS / "technician-arrived.png"), full_page=True)

    complete_order(phone, "更换了灯管", "灯管一支", "35")
    done = server.store.ticket(ticket["id"])
    assert (done["status"], done["result"], done["fee"]) == ("resolved", "更换了灯管", "35.00")
    assert done["revisit_due"]
    expect(phone.locator("#order-completed")).to_be_visible()
    phone.screenshot(path=str(SHOTS / "technician-completed.png"), full_page=True)


def test_a_visitor_at_the_same_poster_still_reports_there(make_server, open_phone):
    server = make_server()
    manager = add_staff(server, MANAGER[0], "manager", MANAGER[1])
    technician = add_staff(server, TECHNICIAN[0], "maintenance", TECHNICIAN[1])
    dispatched_repair(server, manager, technician)
    visitor = open_phone(server.url)
    visitor.goto(f"{server.url}/q/DEMO-LIB")
    expect(visitor).to_have_url(f"{server.url}/")
    expect(visitor.get_by_role("button", name=re.compile("已到场"))).to_have_count(0)
