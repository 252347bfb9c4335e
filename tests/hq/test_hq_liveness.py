"""Is a site's desk alive? ``hq.liveness.describe`` from a site's last contact and its
kiosk's last report, and the badge ``templates/hq/_liveness.html`` draws from it."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from flask import render_template
from flask_babel import gettext

from hq import create_hq_app
from hq.liveness import LIVE, NEVER, OFFLINE, SILENT, Liveness, describe

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)
QUARTER = timedelta(minutes=15)


def site(ago: timedelta | None = None, **fields) -> dict:
    """A site summary last heard from ``ago`` before NOW (None: never)."""
    contact = None if ago is None else (NOW - ago).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"site_id": "north", "last_contact": contact, "last_seq": 100,
            "kiosk_last_seq": None, "kiosk_version": None, "kiosk_clock": None,
            "heartbeat_seconds": None, **fields}


def state(ago, **fields) -> str:
    return describe(site(ago, **fields), NOW, QUARTER).state


def test_a_site_never_heard_from_is_flagged_never():
    live = describe(site(None), NOW, QUARTER)
    assert live == Liveness(NEVER, None, None, None, None) and live.flagged


@pytest.mark.parametrize("beat, live_for", [(60, 150), (None, 150), (2, 34), (300, 630)])
def test_live_lasts_two_probe_intervals_and_half_a_minute(beat, live_for):
    """An older kiosk that reports no interval is taken to probe every minute."""
    assert state(timedelta(seconds=live_for), heartbeat_seconds=beat) == LIVE
    assert state(timedelta(seconds=live_for + 1), heartbeat_seconds=beat) == SILENT


def test_silent_turns_offline_past_hqs_threshold_and_only_offline_is_flagged():
    assert state(QUARTER) == SILENT
    assert not describe(site(QUARTER), NOW, QUARTER).flagged
    offline = describe(site(QUARTER + timedelta(seconds=1)), NOW, QUARTER)
    assert offline.state == OFFLINE and offline.flagged and offline.minutes == 15
    assert describe(site(timedelta(minutes=3)), NOW, timedelta(minutes=2)).state == OFFLINE


def test_minutes_are_whole_minutes_of_silence():
    assert describe(site(timedelta(seconds=59)), NOW, QUARTER).minutes == 0
    assert describe(site(timedelta(minutes=7, seconds=59)), NOW, QUARTER).minutes == 7
    assert describe(site(timedelta(days=2)), NOW, QUARTER).minutes == 2880
    ahead = describe(site(-timedelta(minutes=5)), NOW, QUARTER)  # HQ's clock went back
    assert ahead.state == LIVE and ahead.minutes == 0


def test_waiting_is_the_reported_top_less_what_hq_holds():
    assert describe(site(QUARTER * 2, kiosk_last_seq=150), NOW, QUARTER).waiting == 50
    assert describe(site(QUARTER, kiosk_last_seq=90), NOW, QUARTER).waiting == 0
    assert describe(site(QUARTER, kiosk_last_seq=5, last_seq=None), NOW, QUARTER).waiting == 5
    assert describe(site(QUARTER), NOW, QUARTER).waiting is None  # it never said


def test_the_clock_offset_is_the_kiosks_clock_less_hqs_at_that_contact():
    contact = NOW - timedelta(minutes=1)
    ahead = site(timedelta(minutes=1), kiosk_clock=(contact + timedelta(seconds=90)).isoformat())
    behind = site(timedelta(minutes=1), kiosk_clock="2026-11-28T01:54:00.000000Z")
    assert describe(ahead, NOW, QUARTER).clock_offset == 90
    assert describe(behind, NOW, QUARTER).clock_offset == -300
    assert describe(site(timedelta(minutes=1)), NOW, QUARTER).clock_offset is None
    never = site(None, kiosk_clock=NOW.isoformat())
    assert describe(never, NOW, QUARTER).clock_offset is None


def test_times_may_be_datetimes_and_unreadable_ones_count_as_unknown():
    assert state(None, last_contact=NOW - timedelta(seconds=10)) == LIVE
    assert state(None, last_contact="not a time") == NEVER
    live = describe(site(timedelta(seconds=5), kiosk_clock="garbage", kiosk_version="0.1.0"),
                    NOW, QUARTER)
    assert live.clock_offset is None and live.version == "0.1.0"


# -- the badge -------------------------------------------------------------------------------
@pytest.fixture
def app(tmp_path):
    app = create_hq_app({"TESTING": True, "DATA_DIR": str(tmp_path / "hq")})
    yield app
    app.extensions["hq_store"].close()


def badge(app, live: Liveness, lang: str = "en") -> str:
    with app.test_request_context(headers={"Cookie": f"hq_lang={lang}"}):
        return render_template("hq/_liveness.html", s={"site_id": "north"}, live=live)


@pytest.mark.parametrize("live, words, flagged", [
    (Liveness(LIVE, 0, 0, "0.1.0", 0), "Live", False),
    (Liveness(SILENT, 0, None, None, None), "Silent for 1 min", False),
    (Liveness(SILENT, 7, 3, None, None), "Silent for 7 min · 3 waiting", False),
    (Liveness(OFFLINE, 95, 50, "0.1.0", 4), "Offline for 95 min · 50 waiting", True),
    (Liveness(NEVER, None, None, None, None), "Never connected", True),
])
def test_the_badge_says_the_state_in_words_and_flags_offline_desks(app, live, words, flagged):
    html = badge(app, live)
    assert 'id="live-north"' in html and f'data-state="{live.state}"' in html
    assert f"live-{live.state}" in html and words_of(html) == words
    assert ("live-flagged" in html and "⚠" in html) is flagged


def test_the_badge_speaks_the_dashboards_language(app):
    """Chinese by default: the words are the catalog's."""
    html = badge(app, Liveness(OFFLINE, 20, 5, None, None), lang="zh")
    with app.test_request_context(headers={"Cookie": "hq_lang=zh"}):
        expected = f"{gettext('Offline for %(minutes)s min', minutes=20)} · " \
                   f"{gettext('%(count)s waiting', count=5)}"
    assert words_of(html) == expected


def words_of(html: str) -> str:
    """The badge's text as read: tags and icons dropped, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("●", "").replace("⚠", "").split())
