"""Drafts: bounded in size, number and rate; one small file each; kept across a restart."""
from __future__ import annotations

import json
import time

from helpers import CHEAP_PINS, Visitor
from store_helpers import folder, opened  # noqa: F401 (fixtures)

from kiosk import create_app, drafts


def draft_files(folder) -> dict[str, tuple[bytes, int]]:
    """The drafts' files: name -> (content, modification time)."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted((folder / "drafts").iterdir())}


FIELDS = {"category": "repair", "location": "DEMO-LIB", "description": "门锁坏了" * 50,
          "phone": "13812345678"}


def test_a_save_writes_one_small_file_whatever_the_number_of_drafts(opened, folder):
    store = opened()
    store.save_draft("first", FIELDS)
    alone = draft_files(folder)
    for i in range(300):
        store.save_draft(f"visitor-{i}", {**FIELDS, "name": f"n{i}"})
    before = draft_files(folder)
    assert len(before) == 301
    store.save_draft("first", {**FIELDS, "name": "Li"})
    after = draft_files(folder)
    changed = [name for name in after if after[name] != before[name]]
    assert len(changed) == 1 and set(after) == set(before)  # one file written, no other
    doc = json.loads(after[changed[0]][0])
    assert doc["id"] == "first" and doc["fields"] == {**FIELDS, "name": "Li"}
    # the bytes written for a save do not depend on how many drafts exist
    store.save_draft("first", FIELDS)
    written, before_others = draft_files(folder)[changed[0]][0], alone[changed[0]][0]
    assert abs(len(written) - len(before_others)) <= 8  # only the time's digits may differ
    assert {**json.loads(written), "touched": 0} == {**json.loads(before_others), "touched": 0}
    assert not (folder / "drafts.json").exists()


def test_beyond_the_limit_the_least_recently_saved_drafts_go(opened, folder, monkeypatch):
    monkeypatch.setattr(drafts, "MAX_DRAFTS", 5)
    store = opened()
    for i in range(5):
        store.save_draft(f"d{i}", {"category": "repair", "n": str(i)})
    store.save_draft("d0", {"category": "inquiry"})  # touched again: now the newest
    store.save_draft("d5", {"category": "repair"})
    store.save_draft("d6", {"category": "repair"})
    assert [d["id"] for d in store.all_drafts()] == ["d6", "d5", "d0", "d4", "d3"]
    assert store.get_draft("d1") == store.get_draft("d2") == {}
    assert store.get_draft("d0") == {"category": "inquiry"}
    assert len(draft_files(folder)) == 5
    store.close()
    again = opened()  # the files hold the same drafts, in the same order
    assert [d["id"] for d in again.all_drafts()] == ["d6", "d5", "d0", "d4", "d3"]


def test_a_huge_draft_is_cut_to_the_limits(opened, folder):
    store = opened()
    store.save_draft("big", {"category": "repair", "description": "x" * 60_000,
                             "name": "名" * 60_000, "phone": "1" * 60_000,
                             **{f"extra{i}": "y" for i in range(40)}})
    kept = store.get_draft("big")
    assert kept["category"] == "repair"
    assert kept["description"] == "x" * len(kept["description"])
    assert 0 < len(kept["description"]) <= drafts.DRAFT_FIELD_CHARS
    assert len(kept) <= drafts.DRAFT_FIELDS
    (name,) = draft_files(folder)
    assert len(draft_files(folder)[name][0]) <= drafts.MAX_DRAFT_BYTES


def test_120_sessions_of_60_kb_stay_small(opened, folder):
    store = opened()
    for i in range(120):
        store.save_draft(f"anon-{i}", {"category": "repair", "description": "垃圾" * 30_000})
    sizes = [len(content) for content, _ in draft_files(folder).values()]
    assert len(sizes) == 120 and max(sizes) <= drafts.MAX_DRAFT_BYTES
    assert sum(sizes) <= 120 * (3 * drafts.DRAFT_FIELD_CHARS + 200)  # was 7.2 MB


def test_drafts_survive_a_restart_and_the_old_single_file_is_taken_over(opened, folder):
    store = opened()
    store.save_draft("kept", {"category": "repair", "description": "漏水"})
    store.save_draft("gone", {"category": "inquiry"})
    store.discard_draft("gone")
    store.close()
    (folder / "drafts.json").write_text(json.dumps({"drafts": {"1": {
        "id": "from-before", "fields": {"category": "complaint"}, "touched": time.time()}}}))
    again = opened()
    assert again.get_draft("kept") == {"category": "repair", "description": "漏水"}
    assert again.get_draft("gone") == {}
    assert again.get_draft("from-before") == {"category": "complaint"}
    assert not (folder / "drafts.json").exists()
    assert len(draft_files(folder)) == 2


def test_an_unreadable_draft_file_is_forgotten_not_fatal(opened, folder):
    store = opened()
    store.save_draft("ok", {"category": "repair"})
    store.close()
    (folder / "drafts" / "broken.json").write_bytes(b"\x00{{{")
    again = opened()
    assert [d["id"] for d in again.all_drafts()] == ["ok"]
    assert not (folder / "drafts" / "broken.json").exists()


# -- through the app ------------------------------------------------------------------
def test_a_visitor_typing_too_much_gets_the_field_error_and_keeps_the_start(visitor, client,
                                                                            store):
    visitor.post("/report", {"category": "repair"})
    visitor.post("/report/place", {"location": "DEMO-LIB"})
    response = visitor.post("/report/details", {"description": "坏" + "x" * 60_000,
                                                 "phone": "13812345678"})  # 60 KB
    assert response.status_code == 422
    assert "2000" in response.get_data(as_text=True)  # the field's own error
    (draft,) = store.all_drafts()
    assert draft["fields"]["description"] == "坏" + "x" * (drafts.DRAFT_FIELD_CHARS - 1)
    assert draft["fields"]["phone"] == "13812345678"
    page = client.get("/report/details")
    assert page.status_code == 200 and "坏" + "x" * 2000 in page.get_data(as_text=True)


def test_draft_saves_are_rate_limited_per_client(tmp_path):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "t",
                      "RATE_LIMIT": 1, "RATE_WINDOW_SECONDS": 3600,
                      "PIN_HASH_METHOD": CHEAP_PINS})
    try:
        store = app.extensions["kiosk_store"]
        flood = Visitor(app.test_client())
        codes = [flood.post("/report", {"category": "repair"}).status_code for _ in range(25)]
        assert codes == [303] * 20 + [429] * 5  # 20 steps per entry a client may send
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
        assert Visitor(other).post("/report", {"category": "inquiry"}).status_code == 303
        assert len(store.all_drafts()) == 2
    finally:
        app.extensions["kiosk_store"].close()
