"""Reading an uploaded CSV file, all or nothing, without Flask: the plumbing the imports
share. Each import checks its own cells, adds its problems to those found here and
raises ``BadCSV`` with all of them.

Problems are lower case, as the command line prints them after "places.csv:4: ".
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from common.messages import N_, Message

BAD_HEADER = N_("the header must be %(header)s")
BAD_HEADERS = N_("the header must be %(header)s (or %(header_zh)s)")
BAD_COLUMNS = N_("expected %(expected)s columns, found %(found)s")
BAD_CELL = N_("%(column)s is empty, too long or has control characters")
NO_FILE = N_("choose a CSV file first")
NOT_UTF8 = N_("the file is not UTF-8 text (in Excel, save it as \"CSV UTF-8\")")
NOT_CSV = N_("this line cannot be read as CSV (%(problem)s); in Excel, save the file as "
             "\"CSV UTF-8\"")


class BadCSV(ValueError):
    """A CSV with bad rows: ``messages`` lists (line number, Message) for the screen,
    ``problems`` the same in English for the shell. Line 0 is the file as a whole.
    ``filename`` is the uploaded file's name, where the page shows it."""

    def __init__(self, messages: list[tuple[int, Message]], filename: str = ""):
        self.messages, self.filename = messages, filename
        self.problems = [(n, m.english()) for n, m in messages]
        super().__init__("; ".join(f"line {n}: {p}" for n, p in self.problems))


def problem(text: str, **params) -> Message:
    """Return the problem ``text`` (an ``N_`` msgid) with its parameters."""
    return Message(text, params)


def decode(data: bytes) -> str:
    """Return an uploaded file as text.

    :raises BadCSV: no file, or not UTF-8.
    """
    if not data:
        raise BadCSV([(0, problem(NO_FILE))])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadCSV([(0, problem(NOT_UTF8))]) from None


def read(text: str, headers: Sequence[Sequence[str]], *, optional: int = 0,
         max_rows: int | None = None, too_many: str = ""
         ) -> tuple[list[tuple[int, list[str]]], list[tuple[int, Message]]]:
    """Read a CSV whose first line is one of ``headers`` (lower case; a BOM and the
    header's case and spaces do not matter). Return its non-blank rows as (line number,
    stripped cells) and the problems found: a wrong number of columns (a row may leave
    off its last ``optional`` ones), a line that is not CSV (reading stops there), more
    than ``max_rows`` rows (``too_many``; reading stops).

    :raises BadCSV: the header cannot be read or is not one of ``headers``.
    """
    # newline="": the csv module reads \n, \r\n and old Macs' lone \r line ends alike
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = tuple(cell.strip().lower() for cell in next(reader, None) or [])
    except csv.Error as exc:
        raise BadCSV([(1, problem(NOT_CSV, problem=str(exc)))]) from None
    if header not in {tuple(h) for h in headers}:
        first, *other = (",".join(h) for h in headers)
        raise BadCSV([(1, problem(BAD_HEADERS, header=first, header_zh=other[0]) if other
                       else problem(BAD_HEADER, header=first))])
    width = len(headers[0])
    rows: list[tuple[int, list[str]]] = []
    problems: list[tuple[int, Message]] = []
    found = 0
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as exc:  # a stray quote or NUL: the file cannot be read on from here
            problems.append((reader.line_num, problem(NOT_CSV, problem=str(exc))))
            break
        if cells is None:
            break
        if not any(cell.strip() for cell in cells):
            continue
        found += 1
        if max_rows is not None and found > max_rows:
            problems.append((reader.line_num, problem(too_many, n=max_rows)))
            break
        if width - optional <= len(cells) < width:
            cells += [""] * (width - len(cells))
        if len(cells) != width:
            problems.append((reader.line_num,
                             problem(BAD_COLUMNS, expected=width, found=len(cells))))
            continue
        rows.append((reader.line_num, [cell.strip() for cell in cells]))
    return rows, problems
