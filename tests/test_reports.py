"""The report pages over HTTP (kiosk/reports/views.py): the customer feedback report of
a period (R13) and the monthly statistics (R16) show the figures of a month whose answer
is known (``seed_october``), refuse unreadable dates with 422, are the desk's only, and
escape every text a customer or a member of staff typed, in the tables and in the SVG.

``seed_october`` is also the data of tests/test_exports.py and the browser test
(tests/e2e/test_report_page.py): the tickets go through the domain API with the clock
moved to each step's time. Its figures (October 2026, Asia/Shanghai):

- 9 matters (4 repairs, 2 complaints, 1 inquiry, 1 suggestion, 1 emergency) against 2 in
  September: +350 %; channels kiosk 5, own phone 1, phone 2, walk-in 1;
- repairs: on site after 20, 40, 10 min and 420 min (an agreed deadline, kept): median
  30 min, 90th percentile 7 h; 2 of the 3 without a deadline within 30 min (67 %);
  verified 1, declared 1, by phone 2; completed after 60, 120, 90 min: median 1 h 30;
- complaints: 2, both signed off, 1 told the result (50 %), to 保洁 and to a person
  ``@物业经理``; the one closed after a day;
- phone and walk-in records handled the same day: 2 of 3 (67 %);
- the emergency: the customer-service manager told after 3 min, the director after 8,
  acknowledged by the director after 10 min;
- revisits: 2, 1 satisfied (50 %); the other's comment is ``UNSATISFIED``;
- 6 still open on 1 November; repeat problem: 3 repairs at 图书馆 (DEMO-LIB);
- monthly statistics: maintenance received 4, completed 3, late 1, median 27 min to
  arrival (18, 35, 8, 415 after dispatch), 1 h 30 to completion; paid services 35.00 and
  120.50, total 155.50.
"""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from helpers import CHAIN, sign_in

from kiosk.departments import service as departments
from kiosk.locations import service as places
from kiosk.reports import charts
from kiosk.tickets import actions, service

TZ = ZoneInfo("Asia/Shanghai")
SYSTEM = {"role": "system", "id": "test", "name": "test"}
VISITOR = {"role": "visitor"}
#: The comment of the unsatisfied revisit: a formula for the exports, markup for the page.
UNSATISFIED = "=1+1 <script>alert('x')</script> 还是漏水"
#: Whom a complaint went to when no department was chosen (a formula start, for exports).
PERSON = "@物业经理"


def at(text: str) -> datetime:
    """A site time ``YYYY-MM-DD HH:MM`` as an aware datetime."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=TZ)


def staff_of(app) -> dict:
    """A receptionist, a manager and a technician on file: their actor signatures."""
    directory = app.extensions["staff_directory"]
    people = {}
    for name, role in (("王芳", "receptionist"), ("赵经理", "manager"), ("李师傅", "maintenance")):
        member = directory.by_name(name) or directory.add(name, role, "2468", actor=SYSTEM,
                                                          now=app.config["CLOCK"]())
        people[role] = {"role": role, "id": member["id"], "name": member["name"]}
    return people


def seed_october(app, clock) -> dict:
    """Report and handle the matters of October 2026 (and two of September, one of
    November) through the domain API, moving ``clock``; leave it at 2026-11-28 10:00.
    Return the tickets by a short name."""
    store, tz, policy = app.extensions["kiosk_store"], app.config["TZ"], app.config["POLICY"]
    people = staff_of(app)
    desk, manager, tech = people["receptionist"], people["manager"], people["maintenance"]
    technician = {"id": tech["id"], "name": tech["name"]}
    clock.now = at("2026-09-01 08:00")
    departments.save_chain(store, CHAIN, actor=manager, now=clock())
    made = {}

    def step(when: str, action, *args, **kwargs):
        clock.now = at(when)
        return action(store, *args, now=clock(), **kwargs)

    def report(name: str, when: str, category: str, channel: str = "kiosk", **fields):
        clock.now = at(when)
        data = {"category": category, "location": "DEMO-LIB", "description": f"{name} 的描述",
                "phone": "13812345678", **fields}
        if channel in ("phone", "walk_in"):
            made[name] = actions.record(store, data, channel, actor=desk, now=clock(), tz=tz,
                                        policy=policy)
        else:
            made[name] = service.submit_report(store, data, channel=channel, actor=VISITOR,
                                               now=clock(), tz=tz, policy=policy)
            if category != "emergency":
                actions.confirm(store, made[name]["id"], {}, actor=desk, now=clock())
        return made[name]["id"]

    # September: the period before
    report("S1", "2026-09-10 10:00", "inquiry", location="")
    report("S2", "2026-09-20 10:00", "repair")

    # R1: on site after 20 min (told by phone), done after 60 with a fee, satisfied, closed
    tid = report("R1", "2026-10-05 09:00", "repair")
    step("2026-10-05 09:02", actions.dispatch, tid, "maintenance", technician, actor=desk)
    step("2026-10-05 09:20", actions.arrive, tid, actor=desk)
    step("2026-10-05 10:00", actions.complete, tid, {"result": "换了灯管", "fee": "35"},
         actor=desk, tz=tz, policy=policy)
    step("2026-10-06 10:00", actions.revisit, tid, "satisfied", "", actor=desk)
    step("2026-10-06 10:05", actions.close, tid, "done", actor=desk)

    # R2: the technician declares arrival after 40 min (late), done after 120, not satisfied
    tid = report("R2", "2026-10-12 14:00", "repair")
    step("2026-10-12 14:05", actions.dispatch, tid, "maintenance", technician, actor=desk)
    step("2026-10-12 14:40", actions.arrive, tid, actor=tech)
    step("2026-10-12 16:00", actions.complete, tid,
         {"result": "修好水管", "materials": "阀门", "fee": "120.50"}, actor=tech, tz=tz,
         policy=policy)
    step("2026-10-13 10:00", actions.revisit, tid, "unsatisfied", UNSATISFIED, actor=desk)

    # R3: from a phone at the gym, verified at the place after 10 min, done after 90
    tid = report("R3", "2026-10-20 10:00", "repair", channel="qr", location="DEMO-GYM")
    step("2026-10-20 10:02", actions.dispatch, tid, "maintenance", technician, actor=desk)
    step("2026-10-20 10:10", actions.arrive, tid, actor=tech, at_place=True)
    step("2026-10-20 11:30", actions.complete, tid, {"result": "修好篮球架"}, actor=tech, tz=tz,
         policy=policy)

    # R4: a deadline agreed with maintenance (17:00), on site at 16:00: 420 min, kept
    tid = report("R4", "2026-10-25 09:00", "repair")
    step("2026-10-25 09:05", actions.dispatch, tid, "maintenance", technician, actor=desk)
    step("2026-10-25 09:06", actions.agree_deadline, tid, "2026-10-25T17:00", "需要订零件",
         actor=desk, tz=tz)
    step("2026-10-25 16:00", actions.arrive, tid, actor=desk)

    # C1: a complaint by phone through sign-off, to cleaning, told, closed a day later
    tid = report("C1", "2026-10-08 10:00", "complaint", channel="phone", location="DEMO-D3")
    step("2026-10-08 10:30", actions.investigate, tid, "三楼走廊没有打扫", actor=desk)
    step("2026-10-08 11:00", actions.sign_off, tid, "同意", signer=manager, actor=desk)
    step("2026-10-08 11:10", actions.transfer, tid, "cleaning", actor=desk)
    step("2026-10-08 15:00", actions.resolve, tid, "已打扫", actor=desk)
    step("2026-10-08 16:00", actions.feed_back, tid, "phone", "好的", actor=desk, tz=tz,
         policy=policy)
    step("2026-10-09 10:00", actions.close, tid, "done", actor=desk)

    # C2: a complaint signed off and passed to a person, still open
    tid = report("C2", "2026-10-15 10:00", "complaint")
    step("2026-10-15 10:20", actions.investigate, tid, "噪音", actor=desk)
    step("2026-10-15 10:40", actions.sign_off, tid, "", signer=manager, actor=desk)
    step("2026-10-15 10:50", actions.transfer, tid, "", PERSON, actor=desk)

    # E1: an emergency, two levels told, the second acknowledges after 10 min
    tid = report("E1", "2026-10-18 20:00", "emergency", location="DEMO-GATE-N",
                 description="<b>北门</b> 有人晕倒")
    step("2026-10-18 20:03", actions.escalate, tid, 0, actor=desk)
    step("2026-10-18 20:08", actions.escalate, tid, 1, actor=desk)
    step("2026-10-18 20:10", actions.acknowledge, tid, 1, actor=desk)

    # Q1: a walk-in inquiry answered on the spot and closed; P2: a call left for later
    tid = report("Q1", "2026-10-09 11:00", "inquiry", channel="walk_in", location="")
    step("2026-10-09 11:10", actions.resolve, tid, "告诉了开放时间", told="in_person", actor=desk)
    step("2026-10-09 11:15", actions.close, tid, "done", actor=desk)
    report("P2", "2026-10-30 17:00", "suggestion", channel="phone", location="")

    # November: outside the report
    report("N1", "2026-11-02 10:00", "repair")
    clock.now = at("2026-11-28 10:00")
    return {name: store.ticket(t["id"]) for name, t in made.items()}


@pytest.fixture
def october(app, clock):
    return seed_october(app, clock)


@pytest.fixture
def desk(app, client, october):
    """A receptionist signed in on the kiosk with October's matters."""
    sign_in(app, client, "王芳", "receptionist", "2468")
    return client


def text_of(html: str, element_id: str) -> str:
    """The text inside the element with ``element_id`` (up to its first closing tag)."""
    start = html.index(f'id="{element_id}"')
    return html[html.index(">", start) + 1:html.index("</", start)].strip()


def test_last_months_report_shows_the_known_figures(desk, october):
    response = desk.get("/staff/reports")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "客户反映情况报告" in html and "2026-10-01 至 2026-10-31" in html
    assert text_of(html, "fig-total") == "9"
    assert "+350%" in html
    assert text_of(html, "fig-arrival-median") == "30 分钟"
    assert text_of(html, "fig-arrival-p90") == "7 小时"
    assert text_of(html, "fig-completion-median").startswith("1 小时 30 分")
    assert text_of(html, "fig-in-time") == "67%"
    assert text_of(html, "fig-satisfied") == "50%"
    assert text_of(html, "fig-close-median").startswith("1 天")
    assert "2 / 3 · 67%" in html  # repairs in time, of those without a deadline
    assert "1 / 1" in html        # the agreed deadline kept
    by_category = html[html.index('id="by-category"'):html.index('id="by-channel"')]
    assert "<th scope=\"row\">报修</th><td class=\"num\">4</td>" in by_category
    assert "保洁" in html and PERSON in html            # complaints by department
    assert "图书馆" in html[html.index('id="repeats"'):]  # the repeat problem, by name
    same_day = html[html.index('id="fig-same-day"'):html.index('id="sec-emergencies"')]
    assert "<strong>67%</strong>" in same_day and "共 3 件，其中 2 件" in same_day
    emergency = html[html.index('id="emergencies"'):html.index('id="sec-revisits"')]
    assert october["E1"]["number"] in emergency and "10 分钟" in emergency
    assert "周敏" in emergency and "钱军" in emergency and "8 分钟" in emergency
    carried = html[html.index('id="carried-over"'):]
    for name in ("R2", "R3", "R4", "C2", "E1", "P2"):
        ticket = october[name]
        assert f'href="/staff/t/{ticket["id"]}">{ticket["number"]}</a>' in carried
    assert october["R1"]["number"] not in carried
    assert october["N1"]["number"] not in html


def test_the_summary_and_the_charts_are_on_the_page(desk, october):
    html = desk.get("/staff/reports?preset=last_month").get_data(as_text=True)
    summary = html[html.index('class="report-summary"'):html.index("</ul>")]
    assert "9" in summary and "350" in summary
    for chart in ("chart-categories", "chart-daily", "chart-on-time"):
        assert f'id="{chart}" viewBox=' in html
    assert html.count('role="img"') == 3 and html.count("<title>") == 4  # the page's own too
    assert not re.search(r"<script(?! src=)", html)  # no inline script: the charts need none
    assert "data-print" in html  # the Print button, handled by kiosk.js on every page


def test_a_period_of_chosen_days_counts_only_those(desk, october):
    html = desk.get("/staff/reports?preset=custom&first=2026-10-01&last=2026-10-10").get_data(
        as_text=True)
    assert text_of(html, "fig-total") == "3"  # R1, C1, Q1
    assert 'value="2026-10-01"' in html and 'value="2026-10-10"' in html


@pytest.mark.parametrize("query, field", [
    ("first=2026-10-10&last=2026-10-01", "last"),
    ("first=2026-10-32&last=2026-10-31", "first"),
    ("first=&last=2026-10-31", "first"),
    ("first=2026-10-01&last=soon", "last"),
    ("first=0001-01-01&last=0001-01-02", "first"),
    ("first=2024-01-01&last=2026-10-31", "last"),
])
def test_bad_custom_dates_answer_422_with_the_message_and_the_dates_kept(desk, query, field):
    response = desk.get(f"/staff/reports?preset=custom&{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in html
    first = query.split("&")[0].split("=", 1)[1]
    assert f'value="{first}"' in html  # what was typed stays
    assert 'id="report-title"' not in html
    assert desk.get(f"/staff/reports/export.csv?preset=custom&{query}").status_code == 422


def test_the_exports_use_the_same_period_and_name_the_file(desk, october):
    csv = desk.get("/staff/reports/export.csv?preset=last_month&what=tickets")
    assert csv.status_code == 200
    assert csv.headers["Content-Disposition"] == 'attachment; filename="report-2026-10-tickets.csv"'
    assert csv.headers["Content-Type"].startswith("text/csv")
    text = csv.data.decode("utf-8-sig")
    numbers = {t["number"] for name, t in october.items() if name not in ("S1", "S2", "N1")}
    assert {line.split(",")[0] for line in text.splitlines()[1:]} == numbers
    figures = desk.get("/staff/reports/export.csv?preset=custom&first=2026-10-01&last=2026-10-10")
    assert figures.headers["Content-Disposition"] == \
        'attachment; filename="report-2026-10-01_2026-10-10.csv"'
    xlsx = desk.get("/staff/reports/export.xlsx")
    assert xlsx.headers["Content-Disposition"] == 'attachment; filename="report-2026-10.xlsx"'
    assert xlsx.data[:2] == b"PK"


def test_the_monthly_statistics_and_paid_services(desk, october):
    response = desk.get("/staff/reports/monthly?month=2026-10")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "2026-10-01 至 2026-10-31" in html
    row = html[html.index('id="dispatch"'):]
    row = row[row.index("维修部"):row.index("</tr>", row.index("维修部"))]
    assert [cell.split(">")[-1] for cell in row.split("</td>")[:-1]] == \
        ["4", "3", "1", "27 分钟", "1 小时 30 分"]
    paid = html[html.index('id="paid"'):]
    assert october["R1"]["number"] in paid and october["R2"]["number"] in paid
    assert "35.00" in paid and "120.50" in paid and text_of(html, "paid-total") == "155.50"
    assert desk.get("/staff/reports/monthly").get_data(as_text=True).count("2026-10-31") >= 1
    export = desk.get("/staff/reports/monthly/export.csv?month=2026-10&what=paid")
    assert export.headers["Content-Disposition"] == \
        'attachment; filename="monthly-2026-10-paid.csv"'
    assert "155.5" in export.data.decode("utf-8-sig")


@pytest.mark.parametrize("month", ["2026-13", "10/2026", "1999-12", "x"])
def test_a_bad_month_answers_422_and_keeps_it(desk, month):
    response = desk.get("/staff/reports/monthly", query_string={"month": month})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="month-error"' in html and f'value="{month}"' in html


def test_maintenance_may_not_read_the_reports(app, client, october):
    sign_in(app, client, "李师傅", "maintenance", "2468")
    for path in ("/staff/reports", "/staff/reports/export.csv", "/staff/reports/export.xlsx",
                 "/staff/reports/monthly", "/staff/reports/monthly/export.xlsx"):
        assert client.get(path).status_code == 403, path


def test_signed_out_is_sent_to_sign_in(client):
    response = client.get("/staff/reports")
    assert response.status_code == 303 and "/staff/login" in response.location


def test_what_people_typed_is_escaped_in_the_page_and_the_charts(app, desk, october, clock):
    store = app.extensions["kiosk_store"]
    # a place whose name is markup, reported at in October: in the tables and the chart
    places.save_location(store, {"code": "EVIL", "name_zh": "<svg onload=alert(1)>",
                                 "name_en": "<svg onload=alert(1)>"}, clock(),
                         staff_of(app)["manager"], new=True)
    clock.now = at("2026-10-28 10:00")
    for _ in range(2):
        service.submit_report(store, {"category": "other", "location": "EVIL",
                                      "description": "<script>alert(2)</script>"},
                              channel="kiosk", actor=VISITOR, now=clock(), tz=TZ)
    clock.now = at("2026-11-28 10:00")
    html = desk.get("/staff/reports").get_data(as_text=True)
    assert "<script>alert('x')</script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html  # the unsatisfied comment
    assert "<svg onload" not in html and "&lt;svg onload=alert(1)&gt;" in html
    assert "<b>北门</b>" not in html and "&lt;b&gt;北门&lt;/b&gt; 有人晕倒" in html  # the emergency


def test_the_charts_escape_their_texts():
    svg = charts.category_bars([("<b>x</b>", 1, 2)], chart_id='c"1', title="<t>",
                               now_label="&now", before_label="'b'")
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    assert 'id="c&#34;1"' in svg and "<title>&lt;t&gt;</title>" in svg
    assert 'aria-label="&lt;t&gt;"' in svg and "&amp;now" in svg
    line = charts.trend_line([("2026-10-01", 0), ("2026-10-02", 3)], chart_id="d",
                             title="<x>", total_label="<y>")
    assert "<x>" not in line and "<y>" not in line and ">3</text>" in line
    bars = charts.stacked_bars([("<r>", [("<in>", 2), ("<late>", 1)])], chart_id="s",
                               title="t", empty_label="<none>")
    assert "<in>" not in bars and "&lt;in&gt; 2 (67%)" in bars and ">67%</text>" in bars
    empty = charts.stacked_bars([("r", [("a", 0), ("b", 0)])], chart_id="e", title="t",
                                empty_label="<none>")
    assert "&lt;none&gt;" in empty


def test_an_empty_period_shows_dashes_not_errors(app, client):
    sign_in(app, client)
    response = client.get("/staff/reports?preset=this_month")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and text_of(html, "fig-total") == "0"
    assert text_of(html, "fig-arrival-median") == "—"
    assert client.get("/staff/reports/monthly").status_code == 200
    assert client.get("/staff/reports/export.xlsx").status_code == 200


def test_a_boosted_link_loads_the_report_as_a_whole_page(desk):
    response = desk.get("/staff/reports?preset=last_month",
                        headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert response.headers["HX-Redirect"] == "/staff/reports?preset=last_month"


def test_the_report_reads_in_english(desk):
    desk.get("/lang/en")
    html = desk.get("/staff/reports").get_data(as_text=True)
    assert "Customer feedback report" in html and "2026-10-01 to 2026-10-31" in html
    assert text_of(html, "fig-arrival-p90") == "7 h"
