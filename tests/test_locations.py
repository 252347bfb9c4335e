"""Places (R17): demo places on a first start, CSV import all-or-nothing, the CLI."""
from __future__ import annotations

import pytest

from kiosk.locations import service
from kiosk.store import Store


GOOD = "code,name_zh,name_en,building\nB1-101,1号楼 101室,Building 1 Room 101,1号楼\nGATE,南门,,\n"


def test_a_first_start_shows_clearly_marked_demo_places(store, client):
    demo = store.locations()
    assert demo and all(p["demo"] and p["code"].startswith("DEMO-") for p in demo)


def test_importing_real_places_replaces_the_demo_ones(store, clock):
    service.import_rows(store, service.parse_csv(GOOD), clock())
    assert [p["code"] for p in store.locations()] == ["GATE", "B1-101"]
    assert store.location("DEMO-LIB")["active"] is False  # retired, not erased


@pytest.mark.parametrize("text, line, fragment", [
    ("name,code\nx,y\n", 1, "header"),
    (GOOD + "bad code!,名,,\n", 4, "code"),
    (GOOD + "B1-101,again,,\n", 4, "already on line 2"),
    (GOOD + "X1,,,\n", 4, "name_zh"),
    (GOOD + "X2,名\x07,,\n", 4, "control"),
    (GOOD + "X3,名,too,many,cols\n", 4, "columns"),
    ("code,name_zh,name_en,building\n", 1, "no locations"),
])
def test_bad_rows_are_reported_by_line(text, line, fragment):
    with pytest.raises(service.BadCSV) as info:
        service.parse_csv(text)
    assert any(n == line and fragment in problem for n, problem in info.value.problems)


def test_cli_import_loads_places(tmp_path, runner):
    csv_file = tmp_path / "places.csv"
    csv_file.write_text("\ufeff" + GOOD, encoding="utf-8")  # Excel's BOM is fine
    result = runner.invoke("locations", "import", str(csv_file), "--data", str(tmp_path / "data"))
    assert result.exit_code == 0, result.output
    assert "imported 2 location(s)" in result.output
    store = Store(tmp_path / "data")
    try:
        assert store.location("B1-101")["name_en"] == "Building 1 Room 101"
    finally:
        store.close()


def test_cli_import_of_a_bad_file_imports_nothing(tmp_path, runner):
    csv_file = tmp_path / "places.csv"
    csv_file.write_text(GOOD + "bad code!,名,,\n", encoding="utf-8")
    result = runner.invoke("locations", "import", str(csv_file), "--data", str(tmp_path / "data"))
    assert result.exit_code != 0
    assert "places.csv:4:" in result.output and "nothing was imported" in result.output
    store = Store(tmp_path / "data")
    try:
        assert store.locations() == [] and store.last_seq == 0
    finally:
        store.close()


def test_cli_refuses_a_data_folder_in_use(tmp_path, app, runner):
    csv_file = tmp_path / "places.csv"
    csv_file.write_text(GOOD, encoding="utf-8")
    result = runner.invoke("locations", "import", str(csv_file), "--data", app.config["DATA_DIR"])
    assert result.exit_code == 1 and "更多 → 地点" in result.output  # where the console does it
