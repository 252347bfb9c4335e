"""The report exports (kiosk/reports/exports.py): CSV in UTF-8 with a BOM so Excel reads
the Chinese, .xlsx through openpyxl with the same cells, and no cell that a spreadsheet
would run as a formula, in either; phone numbers masked. Over HTTP on October's matters
(``seed_october`` of tests/test_reports.py), and on hand-made rows."""
from __future__ import annotations

import csv
import io

import pytest
from helpers import sign_in
from openpyxl import load_workbook
from test_reports import PERSON, UNSATISFIED, seed_october

from common import spreadsheets

ATTACKS = ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"]


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "no BOM: Excel would not read UTF-8"
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def read_xlsx(data: bytes) -> dict[str, list[list]]:
    book = load_workbook(io.BytesIO(data))
    return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book}


@pytest.mark.parametrize("text", ATTACKS)
def test_a_cell_that_starts_like_a_formula_gets_a_quote(text):
    assert spreadsheets.neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["报修", "a=1", "12.50", "", 3, -2, 1.5])
def test_other_cells_stay_as_they_are(value):
    assert spreadsheets.neutralise(value) == value


def test_hand_made_rows_are_neutralised_in_both_formats():
    sheet = spreadsheets.Sheet("汇总", ["=H", "名称"], [[a, "中文"] for a in ATTACKS] + [[-3, 2.5]])
    rows = read_csv(spreadsheets.to_csv(sheet))
    assert rows[0] == ["'=H", "名称"]
    assert [r[0] for r in rows[1:-1]] == ["'" + a for a in ATTACKS]
    assert rows[-1] == ["-3", "2.5"]  # numbers are never formulas
    book = load_workbook(io.BytesIO(spreadsheets.to_xlsx([sheet])))
    ws = book["汇总"]
    assert ws["A1"].value == "'=H" and ws["A1"].font.bold and ws.freeze_panes == "A2"
    # (XML reads a carriage return back as a line feed: still after the quote)
    assert [ws.cell(row=i + 2, column=1).value for i in range(len(ATTACKS))] == \
        ["'" + a.replace("\r", "\n") for a in ATTACKS]
    assert all(ws.cell(row=i + 2, column=1).data_type == "s" for i in range(len(ATTACKS)))
    assert ws.cell(row=len(ATTACKS) + 2, column=1).value == -3
    assert ws.column_dimensions["B"].width >= 6


@pytest.fixture
def desk(app, client, clock):
    tickets = seed_october(app, clock)
    sign_in(app, client, "王芳", "receptionist", "2468")
    client.tickets = tickets
    return client


def test_the_figures_csv_reads_back_in_chinese_with_formulas_neutralised(desk):
    response = desk.get("/staff/reports/export.csv?preset=last_month&what=figures")
    rows = read_csv(response.data)
    assert rows[0] == ["部分", "指标", "数值"]
    figures = {(r[0], r[1]): r[2] for r in rows[1:]}
    assert figures[("总数", "反映事项")] == "9"
    assert figures[("按类别", "报修")] == "4"
    assert figures[("报修", "到场时间中位数（分钟）")] == "30"
    assert figures[("总数", "变化（%）")] == "350"
    assert figures[("投诉按部门", "保洁")] == "1"
    assert figures[("投诉按部门", "'" + PERSON)] == "1"  # a name that starts with @
    number = desk.tickets["R2"]["number"]
    assert figures[("不满意", number)] == "'" + UNSATISFIED  # the customer's words, defused
    assert ("期末未关闭", desk.tickets["E1"]["number"]) in figures
    assert not any(cell.startswith(tuple(spreadsheets.FORMULA_STARTS)) for row in rows for cell in row)


def test_the_tickets_csv_masks_phones_and_names_places_in_chinese(desk):
    rows = read_csv(desk.get("/staff/reports/export.csv?what=tickets").data)
    header, body = rows[0], rows[1:]
    assert header[:6] == ["单号", "反映时间", "类别", "渠道", "地点", "电话（已隐去）"]
    assert len(body) == 9
    r1 = next(r for r in body if r[0] == desk.tickets["R1"]["number"])
    assert r1[1] == "2026-10-05 09:00" and r1[2] == "报修" and r1[4] == "图书馆 (DEMO-LIB)"
    assert r1[5] == "*******5678" and "13812345678" not in "".join(map(str, sum(rows, [])))
    assert r1[7] == "维修部" and r1[8] == "2026-10-05 09:20" and r1[11] == "35.00"
    assert r1[12] == "2026-10-06 10:05" and r1[13] == "完成"


def test_the_xlsx_has_both_sheets_with_the_same_neutralised_values(desk):
    response = desk.get("/staff/reports/export.xlsx?preset=last_month")
    assert response.headers["Content-Type"] == exports_type()
    sheets = read_xlsx(response.data)
    assert list(sheets) == ["汇总", "报事单"]
    figures = {(r[0], r[1]): r[2] for r in sheets["汇总"][1:]}
    assert figures[("总数", "反映事项")] == 9 and figures[("按类别", "报修")] == 4
    assert figures[("不满意", desk.tickets["R2"]["number"])] == "'" + UNSATISFIED
    assert figures[("投诉按部门", "'" + PERSON)] == 1
    tickets = sheets["报事单"]
    assert tickets[0][0] == "单号" and len(tickets) == 10
    csv_rows = read_csv(desk.get("/staff/reports/export.csv?what=tickets").data)
    fee = csv_rows[0].index("费用（元）")
    assert [[c for i, c in enumerate(row) if i != fee] for row in csv_rows] == \
        [["" if c is None else c for i, c in enumerate(row) if i != fee] for row in tickets]
    assert [float(row[fee]) for row in csv_rows[1:] if row[fee]] == \
        [row[fee] for row in tickets[1:] if row[fee] is not None] == [35, 120.5]
    fee_cell = book_of(response.data)["报事单"].cell(row=2, column=fee + 1)
    assert fee_cell.value == 35 and fee_cell.number_format == "0.00"
    book = book_of(response.data)
    assert all(ws.freeze_panes == "A2" and ws["A1"].font.bold for ws in book)


def test_the_monthly_xlsx_and_csv(desk):
    sheets = read_xlsx(desk.get("/staff/reports/monthly/export.xlsx?month=2026-10").data)
    assert list(sheets) == ["派工统计", "有偿服务"]
    assert sheets["派工统计"][1] == ["维修部", 4, 3, 1, 26.5, 90]
    assert sheets["有偿服务"][-1][0] == "合计" and sheets["有偿服务"][-1][-1] == 155.5
    rows = read_csv(desk.get("/staff/reports/monthly/export.csv?month=2026-10").data)
    assert rows[1] == ["维修部", "4", "3", "1", "26.5", "90"]


def book_of(data: bytes):
    return load_workbook(io.BytesIO(data))


def exports_type() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
