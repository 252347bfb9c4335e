"""The site's places (R17): import, demo places, search. Plain functions over the store."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime

from ..store import Store
from ..validation import clean_text

HEADER = ["code", "name_zh", "name_en", "building"]
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
SYSTEM = {"role": "system", "id": "system", "name": "system"}

DEMO = [
    {"code": "DEMO-T1", "name_zh": "1号教学楼", "name_en": "Teaching Building 1", "building": "1号教学楼"},
    {"code": "DEMO-T1-201", "name_zh": "1号教学楼 201教室", "name_en": "Teaching Building 1, Room 201", "building": "1号教学楼"},
    {"code": "DEMO-D3", "name_zh": "3号学生公寓", "name_en": "Student Residence 3", "building": "3号学生公寓"},
    {"code": "DEMO-D3-LOBBY", "name_zh": "3号学生公寓 大堂", "name_en": "Student Residence 3, Lobby", "building": "3号学生公寓"},
    {"code": "DEMO-LIB", "name_zh": "图书馆", "name_en": "Library", "building": "图书馆"},
    {"code": "DEMO-CANTEEN", "name_zh": "第一食堂", "name_en": "Canteen 1", "building": "第一食堂"},
    {"code": "DEMO-GYM", "name_zh": "体育馆", "name_en": "Gymnasium", "building": "体育馆"},
    {"code": "DEMO-GATE-N", "name_zh": "北门", "name_en": "North Gate", "building": ""},
]


class BadCSV(ValueError):
    """A CSV with bad rows: ``problems`` lists (line number, what is wrong)."""

    def __init__(self, problems: list[tuple[int, str]]):
        super().__init__("; ".join(f"line {n}: {p}" for n, p in problems))
        self.problems = problems


def parse_csv(text: str) -> list[dict]:
    """Parse and check a locations CSV (header ``code,name_zh,name_en,building``).

    :raises BadCSV: listing every bad row by line number; nothing is imported.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    problems: list[tuple[int, str]] = []
    header = next(reader, None)
    if [h.strip() for h in header or []] != HEADER:
        raise BadCSV([(1, f"the header must be {','.join(HEADER)}")])
    rows, seen = [], {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(HEADER):
            problems.append((line, f"expected {len(HEADER)} columns, found {len(row)}"))
            continue
        code, name_zh, name_en, building = (cell.strip() for cell in row)
        if not CODE.fullmatch(code):
            problems.append((line, f"code {code!r} must be 1-32 letters, digits, - or _"))
        elif code in seen:
            problems.append((line, f"code {code} already on line {seen[code]}"))
        seen.setdefault(code, line)
        for label, value, required in (("name_zh", name_zh, True), ("name_en", name_en, False),
                                       ("building", building, False)):
            if clean_text(value, max_len=80, required=required)[1]:
                problems.append((line, f"{label} is empty, too long or has control characters"))
        rows.append({"code": code, "name_zh": name_zh, "name_en": name_en, "building": building})
    if problems:
        raise BadCSV(problems)
    if not rows:
        raise BadCSV([(1, "no locations in the file")])
    return rows


def import_rows(store: Store, rows: list[dict], now: datetime, actor: dict = SYSTEM) -> int:
    """Record the rows as one event (all or nothing); replace demo places. Return the count."""
    with store.lock:
        replace_demo = any(loc.get("demo") for loc in store.locations.all())
        store.append([{"ticket_id": None, "type": "locations_imported", "at": now.isoformat(),
                       "actor": actor, "data": {"rows": rows, "replace_demo": replace_demo}}])
    return len(rows)


def ensure_demo(store: Store, now: datetime) -> None:
    """On a first start with no places at all, add the clearly marked demo places."""
    with store.lock:
        if store.locations.all(active_only=False):
            return
        store.append([{"ticket_id": None, "type": "locations_imported", "at": now.isoformat(),
                       "actor": SYSTEM,
                       "data": {"rows": [{**r, "demo": True} for r in DEMO],
                                "replace_demo": False}}])


def search(store: Store, query: str, limit: int = 60) -> list[dict]:
    """Return active places whose code, names or building contain ``query``."""
    q = query.strip().casefold()[:40]
    with store.lock:
        places = store.locations.all()
    if q:
        places = [p for p in places
                  if any(q in (p.get(k) or "").casefold()
                         for k in ("code", "name_zh", "name_en", "building"))]
    return places[:limit]
