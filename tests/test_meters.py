"""Meter readings (抄表) under /staff/meters: every staff role records them; a reading
lower than the meter's last needs a "replaced or rolled over" tick and stays marked; a day
in the future is refused with everything typed kept; the same day again corrects; a
resend stores nothing; rebuilt from the log; accepted by HQ."""
from __future__ import annotations

import pytest
from helpers import csrf_token, sign_in

from hq import ingest
from kiosk.meters import service


def readings(store) -> list[dict]:
    return [e for e in store.events_after(0) if e["type"] == "meter_read"]


class Reader:
    """A signed-in staff member at the meters page, sending real CSRF tokens."""

    def __init__(self, app, client, role="maintenance"):
        sign_in(app, client, name=f"A {role}", role=role)
        client.get("/lang/en")
        self.client, self.token, self.n = client, csrf_token(client, "/staff/meters"), 0

    def read(self, reading, read_on="2026-11-28", meter="W-3-101", kind="water", **extra):
        self.n += 1
        data = {"csrf_token": self.token, "meter": meter, "kind": kind, "reading": reading,
                "read_on": read_on, "place": "3号楼 101", "request_id": f"rq-meter-{self.n}",
                **extra}
        return self.client.post("/staff/meters", data=data)


@pytest.fixture
def reader(app, client):
    return Reader(app, client)


def test_a_reading_is_saved_and_listed_with_the_meter_offered_next_time(store, reader):
    assert reader.read("1234.5", read_on="2026-11-27").status_code == 303
    [event] = readings(store)
    assert event["data"]["reading"] == "1234.5" and event["data"]["read_on"] == "2026-11-27"
    assert event["actor"]["role"] == "maintenance"
    page = reader.client.get("/staff/meters").get_data(as_text=True)
    assert '<option value="W-3-101">' in page and "1234.5 (2026-11-27)" in page  # the datalist
    assert 'value="2026-11-28"' in page  # the day defaults to today
    assert "household_q" not in page  # maintenance does not see the customer archive


def test_a_lower_reading_warns_and_needs_the_tick_then_stays_marked(store, reader):
    reader.read("1234.5", read_on="2026-11-27")
    refused = reader.read("12.0")
    assert refused.status_code == 422 and len(readings(store)) == 1
    page = refused.get_data(as_text=True)
    assert "Lower than the last reading (1234.5 on 2026-11-27)" in page
    assert 'name="confirm_lower"' in page and 'value="12.0"' in page
    assert reader.read("12.0", confirm_lower="yes").status_code == 303
    assert readings(store)[-1]["data"]["confirmed"] is True
    listed = reader.client.get("/staff/meters").get_data(as_text=True)
    assert "lower than last" in listed


def test_a_day_in_the_future_is_refused_and_the_input_kept(store, reader):
    response = reader.read("99.125", read_on="2026-11-29")
    assert response.status_code == 422 and readings(store) == []
    page = response.get_data(as_text=True)
    assert "This day has not come yet." in page
    assert 'value="99.125"' in page and 'value="2026-11-29"' in page


@pytest.mark.parametrize("reading", ["", "-3", "1.2345", "abc", "1e5"])
def test_a_malformed_reading_is_a_422(store, reader, reading):
    assert reader.read(reading).status_code == 422 and readings(store) == []


def test_a_resend_stores_nothing(store, reader):
    data = {"csrf_token": reader.token, "meter": "E-1", "kind": "electricity", "reading": "7",
            "read_on": "2026-11-28", "request_id": "rq-meter-same"}
    assert reader.client.post("/staff/meters", data=data).status_code == 303
    last = store.last_seq
    assert reader.client.post("/staff/meters", data=data).status_code == 303
    assert store.last_seq == last


def test_the_same_day_again_corrects_and_history_keeps_both(store, reader):
    reader.read("100", read_on="2026-11-27")
    reader.read("150")
    reader.read("120")  # a correction of today's, not lower than yesterday's
    assert len(readings(store)) == 3
    [meter] = service.meters(store)
    assert [r["reading"] for r in meter["readings"]] == ["120", "100"]
    assert meter["readings"][0]["corrects"] == "150"
    reader.read("90")  # lower than the day before: the correction is checked too
    assert len(readings(store)) == 3


def test_the_desk_reads_meters_too_and_a_stranger_is_sent_to_sign_in(app, client):
    assert client.get("/staff/meters").status_code in (302, 303)
    Reader(app, client, role="receptionist")
    assert client.get("/staff/meters").status_code == 200


def test_readings_are_rebuilt_from_the_log_and_accepted_by_hq(store, reader):
    reader.read("5.5")
    for event in store.events_after(0):
        assert ingest._shape_problem(event, store.site_id) is None, event["type"]
    store.rebuild()
    assert service.meters(store)[0]["last"]["reading"] == "5.5"
