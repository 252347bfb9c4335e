"""The visitor's side of the procedures (issue 10): the public status page shows each
procedure's steps, done ones with their time and those still ahead greyed, in Chinese (the
default) and in English, never a staff name or a note; and an emergency needs no place.

Each ticket is reported through the visitor's flow (the test client) and taken through its
procedure with ``kiosk.tickets.actions``."""
from __future__ import annotations

import re

import pytest

from kiosk.departments import service as departments
from kiosk.tickets import actions

DESK = {"role": "receptionist", "id": "st-li", "name": "Li Na"}
MANAGER = {"role": "manager", "id": "st-boss", "name": "Zhou Min"}
TECHNICIAN = {"id": "st-lw", "name": "Lao Wang"}
NOTE = "Owner shouts at the desk"
#: what no status page may show: the staff's names (the chain's too) and the note
PRIVATE = ("Li Na", "Zhou Min", "Lao Wang", "Qian Jun", NOTE, "13800000001")
CHAIN = [{"title_zh": "客户服务部经理", "title_en": "Customer-service manager", "name": "Zhou Min",
          "phone": "13800000001"},
         {"title_zh": "物管中心主任", "title_en": "Property-centre director", "name": "Qian Jun",
          "phone": "13800000002"}]

ZH = {"Reported": "已登记", "Confirmed by the front desk": "前台已确认",
      "Staff have taken it on": "工作人员已响应", "Maintenance dispatched": "已派维修",
      "Maintenance on site": "维修人员已到场", "Repair completed": "维修完成",
      "Passed on to whoever is concerned": "已转交相关人员", "Handled": "已处理",
      "We told you the result": "已告知您处理结果", "Closed": "已关闭",
      "Under review by the customer-service manager": "客户服务部经理审核中",
      "Passed to the department concerned": "已转交相关部门", "Result ready": "已有处理结果",
      "We called you back": "已回访", "We called you back: reopened": "已回访：重新处理"}


def steps(html: str) -> tuple[list[str], list[str]]:
    """The status page's steps done (each with its time) and the steps still ahead."""
    done = re.search(r'<ol class="timeline">(.*?)</ol>', html, re.S).group(1)
    ahead = re.search(r'<ol class="timeline-ahead"[^>]*>(.*?)</ol>', html, re.S)
    labels = re.findall(r"<li[^>]*><time[^>]*>\d{4}-\d\d-\d\d \d\d:\d\d</time> "
                        r"<span>([^<]+)</span>", done)
    assert len(labels) == done.count("<li"), done  # every step done says when
    return labels, re.findall(r"<li>([^<]+)</li>", ahead.group(1)) if ahead else []


class Status:
    """The status page of one ticket, read by a Chinese and by an English visitor."""

    def __init__(self, app, token: str):
        self.path = f"/t/{token}"
        self.zh, self.en = app.test_client(), app.test_client()
        self.en.get("/lang/en")

    def check(self, done: list[str], ahead: list[str]) -> None:
        """Both languages show ``done`` then ``ahead`` (English msgids), nothing private."""
        for client, words in ((self.en, lambda s: s), (self.zh, ZH.get)):
            html = client.get(self.path).get_data(as_text=True)
            assert steps(html) == ([words(s) for s in done], [words(s) for s in ahead])
            for private in PRIVATE:
                assert private not in html, private


@pytest.fixture
def desk_chain(store, clock):
    departments.save_chain(store, CHAIN, actor=MANAGER, now=clock())


def test_a_repair_shows_confirmed_dispatched_on_site_completed_closed(app, visitor, client,
                                                                       store, clock):
    visitor.report(category="repair")
    token, tid = _receipt(client, store)
    page = Status(app, token)
    page.check(["Reported"], ["Confirmed by the front desk", "Maintenance dispatched",
                              "Maintenance on site", "Repair completed", "Closed"])
    actions.add_note(store, tid, NOTE, actor=DESK, now=clock())
    actions.confirm(store, tid, {}, actor=DESK, now=clock())
    actions.dispatch(store, tid, "maintenance", TECHNICIAN, actor=DESK, now=clock())
    page.check(["Reported", "Confirmed by the front desk", "Maintenance dispatched"],
               ["Maintenance on site", "Repair completed", "Closed"])
    actions.arrive(store, tid, actor=DESK, now=clock())
    actions.complete(store, tid, {"result": "Bulb replaced"}, actor=DESK, now=clock(),
                     tz=app.config["TZ"])
    done = ["Reported", "Confirmed by the front desk", "Maintenance dispatched",
            "Maintenance on site", "Repair completed"]
    page.check(done, ["Closed"])
    actions.revisit(store, tid, "unsatisfied", "Still flickers", actor=DESK, now=clock())
    page.check([*done, "We called you back: reopened"], ["Repair completed", "Closed"])
    actions.complete(store, tid, {"result": "Ballast replaced"}, actor=DESK, now=clock(),
                     tz=app.config["TZ"])
    actions.revisit(store, tid, "satisfied", "", actor=DESK, now=clock())
    actions.close(store, tid, "done", actor=DESK, now=clock())
    page.check([*done, "We called you back: reopened", "Repair completed", "We called you back",
                "Closed"], [])


def test_a_complaint_shows_review_department_result_and_feedback(app, visitor, client, store,
                                                                 clock):
    visitor.report(category="complaint")
    token, tid = _receipt(client, store)
    page = Status(app, token)
    ahead = ["Under review by the customer-service manager",
             "Passed to the department concerned", "Result ready", "We told you the result",
             "Closed"]
    page.check(["Reported"], ahead)
    actions.confirm(store, tid, {}, actor=DESK, now=clock())
    actions.investigate(store, tid, "The canteen closed early", actor=DESK, now=clock())
    actions.sign_off(store, tid, "Agreed", signer=MANAGER, actor=DESK, now=clock())
    actions.add_note(store, tid, NOTE, actor=DESK, now=clock())
    page.check(["Reported", ahead[0]], ahead[1:])  # the facts and the sign-off stay inside
    actions.transfer(store, tid, "customer_service", "Lao Wang", actor=DESK, now=clock())
    page.check(["Reported", *ahead[:2]], ahead[2:])
    actions.resolve(store, tid, "Opening hours posted", actor=DESK, now=clock())
    page.check(["Reported", *ahead[:3]], ahead[3:])
    actions.feed_back(store, tid, "phone", "Fine", actor=DESK, now=clock(), tz=app.config["TZ"])
    page.check(["Reported", *ahead[:4]], ["Closed"])
    actions.revisit(store, tid, "satisfied", "", actor=DESK, now=clock())
    actions.close(store, tid, "done", actor=DESK, now=clock())
    page.check(["Reported", *ahead[:4], "We called you back", "Closed"], [])


def test_an_inquiry_answered_at_once_skips_the_passing_on(app, visitor, client, store, clock):
    visitor.report(category="inquiry", location="")
    token, tid = _receipt(client, store)
    page = Status(app, token)
    page.check(["Reported"], ["Confirmed by the front desk", "Passed on to whoever is concerned",
                              "Handled", "We told you the result", "Closed"])
    actions.confirm(store, tid, {}, actor=DESK, now=clock())
    actions.add_note(store, tid, NOTE, actor=DESK, now=clock())
    actions.resolve(store, tid, "Open 8:00-18:00", told="phone", actor=DESK, now=clock())
    page.check(["Reported", "Confirmed by the front desk", "Handled", "We told you the result"],
               ["Closed"])
    actions.close(store, tid, "done", actor=DESK, now=clock())
    page.check(["Reported", "Confirmed by the front desk", "Handled", "We told you the result",
                "Closed"], [])


def test_an_emergency_shows_taken_on_handled_closed(app, visitor, client, store, clock,
                                                   desk_chain):
    visitor.report(category="emergency", location="", phone="")
    token, tid = _receipt(client, store)
    page = Status(app, token)
    page.check(["Reported"], ["Staff have taken it on", "Handled", "Closed"])
    actions.escalate(store, tid, 0, actor=DESK, now=clock())
    actions.acknowledge(store, tid, 1, actor=DESK, now=clock())
    page.check(["Reported", "Staff have taken it on"], ["Handled", "Closed"])
    actions.confirm(store, tid, {}, actor=DESK, now=clock())
    actions.add_note(store, tid, NOTE, actor=DESK, now=clock())
    actions.resolve(store, tid, "Fire brigade came", actor=DESK, now=clock())
    page.check(["Reported", "Staff have taken it on", "Confirmed by the front desk", "Handled"],
               ["Closed"])
    actions.close(store, tid, "done", actor=DESK, now=clock())
    page.check(["Reported", "Staff have taken it on", "Confirmed by the front desk", "Handled",
                "Closed"], [])


def _receipt(client, store) -> tuple[str, str]:
    """The status token of the receipt just shown, and its ticket's id."""
    html = client.get("/report/receipt").get_data(as_text=True)
    token = re.search(r'href="/t/([^"]+)"', html).group(1)
    return token, store.ticket_by_token(token)["id"]


# -- the visitor's emergency: no place needed ---------------------------------------------
def test_an_emergency_may_say_i_do_not_know_where_and_skip_the_phone(visitor, client, store):
    visitor.post("/report", {"category": "emergency"})
    html = client.get("/report/place").get_data(as_text=True)
    assert html.index("emergency-numbers") < html.index('name="skip"') < html.index('id="places"')
    response = visitor.post("/report/place", {"skip": "1"})
    assert response.status_code == 303 and response.location.endswith("/report/details")
    details = client.get("/report/details").get_data(as_text=True)
    assert details.index("emergency-numbers") < details.index("<h1>")  # the numbers first
    visitor.post("/report/details", {"description": "Smoke on the stairs", "phone": ""})
    assert visitor.post("/report/review").status_code == 303
    (ticket,) = store.open_tickets()
    assert (ticket["category"], ticket["location"], ticket["phone"]) == ("emergency", "", "")
    assert "110 / 119 / 120" in client.get("/report/receipt").get_data(as_text=True)


@pytest.mark.parametrize("category, skip", [("repair", False), ("complaint", False),
                                            ("inquiry", True)])
def test_other_matters_keep_their_place_rules(visitor, client, category, skip):
    visitor.post("/report", {"category": category})
    html = client.get("/report/place").get_data(as_text=True)
    assert ('name="skip"' in html) is skip and "emergency-numbers" not in html
    response = visitor.post("/report/place", {"skip": "1"})
    assert response.status_code == (303 if skip else 422)
