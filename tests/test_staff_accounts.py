"""Staff accounts (R8): names, roles, scrypt-hashed PINs, lock-out, audit events, the CLI."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from werkzeug.security import check_password_hash

from common import pins
from frontdesk.cli import cli
from kiosk.staff import accounts
from common.pins import BadSignIn, LockedOut
from kiosk.staff.accounts import SetupClosed, StaffDirectory
from kiosk.staff.cli import CLI_ACTOR
from kiosk.store import Store
from common.validation import ValidationError


MANAGER = {"role": "manager", "id": "st-boss", "name": "Li Na"}


@pytest.fixture
def directory(app):
    return app.extensions["staff_directory"]


def clock_now() -> datetime:
    return datetime.now(timezone.utc)


def staff_events(store) -> list[dict]:
    return [e for e in store.events_after(0) if e["type"].startswith("staff_")]


def log_text(folder) -> str:
    """Every file of the data folder but the credentials themselves."""
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*")
                   if p.is_file() and p.name != "staff.json")


def test_an_added_account_is_found_by_id_and_by_name_in_any_case(directory, clock):
    staff = directory.add("  Wang Fang ", "receptionist", "2468", actor=MANAGER, now=clock())
    assert staff == {"id": staff["id"], "name": "Wang Fang", "role": "receptionist",
                     "active": True}
    assert directory.get(staff["id"]) == staff
    assert directory.by_name("wang fang") == directory.by_name("WANG FANG ") == staff
    assert directory.by_name("Zhang") is None and directory.get("st-nobody") is None
    directory.add("An Qi", "maintenance", "13579", actor=MANAGER, now=clock())
    assert [s["name"] for s in directory.all()] == ["An Qi", "Wang Fang"]


@pytest.mark.parametrize("name, role, pin, field", [
    ("Wang", "receptionist", "123", "pin"),
    ("Wang", "receptionist", "123456789", "pin"),
    ("Wang", "receptionist", "12a4", "pin"),
    ("Wang", "receptionist", "１２３４", "pin"),  # full-width digits are not ASCII digits
    ("Wang", "receptionist", "", "pin"),
    ("", "receptionist", "1234", "name"),
    ("W" * 41, "receptionist", "1234", "name"),
    ("Wang\x07", "receptionist", "1234", "name"),
    ("Wang", "director", "1234", "role"),
])
def test_bad_accounts_are_refused_field_by_field(directory, clock, store, name, role, pin, field):
    with pytest.raises(ValidationError) as info:
        directory.add(name, role, pin, actor=MANAGER, now=clock())
    assert field in info.value.errors
    assert directory.all() == [] and staff_events(store) == []


def test_names_are_unique_whatever_their_case(directory, clock):
    directory.add("Wang Fang", "receptionist", "2468", actor=MANAGER, now=clock())
    with pytest.raises(ValidationError) as info:
        directory.add("wang FANG", "manager", "1357", actor=MANAGER, now=clock())
    assert info.value.errors["name"] is accounts.NAME_TAKEN


@pytest.mark.production_pins
def test_pins_are_stored_only_as_scrypt_hashes(directory, clock, app):
    staff = directory.add("Wang Fang", "receptionist", "2468", actor=MANAGER, now=clock())
    raw = (app.config["DATA_DIR"] + "/staff.json")
    docs = list(json.loads(open(raw).read())["staff"].values())
    assert len(docs) == 1 and docs[0]["id"] == staff["id"]
    assert docs[0]["pin_hash"].startswith("scrypt:")
    assert check_password_hash(docs[0]["pin_hash"], "2468")
    assert '"2468"' not in open(raw).read()


def test_each_change_is_audited_in_the_log_without_the_pin_hash(directory, clock, store, app):
    staff = directory.add("Wang Fang", "receptionist", "2468", actor=MANAGER, now=clock())
    directory.disable("wang fang", actor=MANAGER, now=clock())
    added, disabled = staff_events(store)
    for event, kind in ((added, "staff_added"), (disabled, "staff_disabled")):
        assert event["type"] == kind and event["ticket_id"] is None
        assert event["actor"] == MANAGER and event["at"] == clock().isoformat()
        assert event["data"] == {"id": staff["id"], "name": "Wang Fang", "role": "receptionist"}
    pin_hash = json.loads(store.folder.joinpath("staff.json").read_text())["staff"]["1"]["pin_hash"]
    everything = log_text(store.folder)
    assert "scrypt" not in everything and pin_hash.split("$")[-1] not in everything
    assert store.verify() == []
    store.rebuild()  # events without a ticket do not disturb the projections
    assert store.open_tickets() == []


def test_an_account_is_not_kept_when_its_audit_event_cannot_be_written(directory, clock, store,
                                                                      monkeypatch):
    def broken(partials):
        raise OSError("disk full")

    monkeypatch.setattr(store, "append", broken)
    with pytest.raises(OSError):
        directory.add("Wang Fang", "receptionist", "2468", actor=MANAGER, now=clock())
    assert directory.all() == []
    assert not store.folder.joinpath("staff.json").exists() or \
        "Wang" not in store.folder.joinpath("staff.json").read_text()


def test_the_first_run_setup_signs_its_own_creation_and_closes(directory, clock, store):
    boss = directory.add("Li Na", "manager", "8642", actor=None, now=clock(), first=True)
    assert staff_events(store)[0]["actor"] == {"role": "manager", "id": boss["id"],
                                               "name": "Li Na"}
    with pytest.raises(SetupClosed):
        directory.add("Zhao Lei", "manager", "1357", actor=None, now=clock(), first=True)
    assert len(directory.all()) == 1


def test_sign_in_checks_the_pin_and_says_the_same_for_an_unknown_name(directory, clock):
    staff = directory.add("Wang Fang", "receptionist", "2468", actor=MANAGER, now=clock())
    assert directory.authenticate("wang fang", "2468", clock()) == staff
    with pytest.raises(BadSignIn) as wrong:
        directory.authenticate("Wang Fang", "1111", clock())
    with pytest.raises(BadSignIn) as unknown:
        directory.authenticate("Nobody", "2468", clock())
    assert wrong.value.message == unknown.value.message == pins.WRONG_SIGN_IN


def test_five_wrong_pins_lock_the_account_for_five_minutes(directory, clock):
    directory.add("Wang Fang", "receptionist", "2468", actor=MANAGER, now=clock())
    start = clock()
    for _ in range(4):
        with pytest.raises(BadSignIn):
            directory.authenticate("Wang Fang", "0000", clock())
    with pytest.raises(LockedOut) as locked:
        directory.authenticate("Wang Fang", "0000", clock())
    assert locked.value.until == start + timedelta(minutes=5)
    clock.now += timedelta(minutes=4, seconds=59)
    with pytest.raises(LockedOut):  # the right PIN too, while locked
        directory.authenticate("Wang Fang", "2468", clock())
    clock.now = start + timedelta(minutes=5)
    assert directory.authenticate("Wang Fang", "2468", clock())["name"] == "Wang Fang"


def test_a_right_pin_resets_the_count_of_wrong_ones(directory, clock):
    directory.add("Wang Fang", "receptionist", "2468", actor=MANAGER, now=clock())
    for _ in range(4):
        with pytest.raises(BadSignIn):
            directory.authenticate("Wang Fang", "0000", clock())
    directory.authenticate("Wang Fang", "2468", clock())
    for _ in range(4):
        with pytest.raises(BadSignIn):
            directory.authenticate("Wang Fang", "0000", clock())
    assert directory.authenticate("Wang Fang", "2468", clock())


def test_a_disabled_account_cannot_sign_in(directory, clock):
    directory.add("Wang Fang", "receptionist", "2468", actor=MANAGER, now=clock())
    assert directory.disable("Wang Fang", actor=MANAGER, now=clock())["active"] is False
    with pytest.raises(BadSignIn) as info:
        directory.authenticate("Wang Fang", "2468", clock())
    assert info.value.message == pins.WRONG_SIGN_IN
    with pytest.raises(BadSignIn) as info:  # a wrong PIN learns nothing more
        directory.authenticate("Wang Fang", "1111", clock())
    assert info.value.message == pins.WRONG_SIGN_IN
    with pytest.raises(ValidationError):
        directory.disable("Nobody", actor=MANAGER, now=clock())


def test_a_disabled_account_answers_like_a_wrong_pin_whatever_the_pin(directory, clock,
                                                                     monkeypatch):
    """The right PIN of a disabled account must not tell that it was right (issue 8.4):
    the same answer as a wrong PIN or an unknown name, after one PIN hash as long."""
    directory.add("Wang Fang", "receptionist", "2468", actor=MANAGER, now=clock())
    directory.add("Zhao Lei", "receptionist", "9753", actor=MANAGER, now=clock())
    directory.disable("Wang Fang", actor=MANAGER, now=clock())
    hashed = []
    real = pins.check_password_hash
    monkeypatch.setattr(pins, "check_password_hash",
                        lambda *args: (hashed.append(args), real(*args))[1])
    answers = []
    for name, pin in (("Wang Fang", "2468"), ("Wang Fang", "1111"), ("Zhao Lei", "1111"),
                      ("Nobody", "2468")):
        hashed.clear()
        with pytest.raises(BadSignIn) as info:
            directory.authenticate(name, pin, clock())
        answers.append(info.value.message)
        assert len(hashed) == 1, (name, pin)  # one PIN hash each: as long as the others
    assert answers == [pins.WRONG_SIGN_IN] * 4


def test_a_new_pin_replaces_the_old_lifts_a_lock_and_is_audited_without_it(directory, clock,
                                                                           store):
    staff = directory.add("Wang Fang", "receptionist", "2468", actor=MANAGER, now=clock())
    for _ in range(5):
        with pytest.raises((BadSignIn, LockedOut)):
            directory.authenticate("Wang Fang", "0000", clock())
    assert directory.set_pin("wang fang", "13579", actor=MANAGER, now=clock()) == staff
    with pytest.raises(BadSignIn):
        directory.authenticate("Wang Fang", "2468", clock())
    assert directory.authenticate("Wang Fang", "13579", clock()) == staff
    changed = staff_events(store)[-1]
    assert changed["type"] == "staff_pin_changed" and changed["actor"] == MANAGER
    assert changed["data"] == {"id": staff["id"], "name": "Wang Fang", "role": "receptionist"}
    everything = log_text(store.folder)
    assert "13579" not in everything and "pbkdf2" not in everything and "scrypt" not in everything
    assert store.verify() == []


@pytest.mark.parametrize("name, pin, field", [("Wang Fang", "12", "pin"),
                                              ("Wang Fang", "12ab", "pin"),
                                              ("Nobody", "1357", "name")])
def test_a_bad_new_pin_changes_nothing(directory, clock, store, name, pin, field):
    directory.add("Wang Fang", "receptionist", "2468", actor=MANAGER, now=clock())
    with pytest.raises(ValidationError) as info:
        directory.set_pin(name, pin, actor=MANAGER, now=clock())
    assert set(info.value.errors) == {field}
    assert directory.authenticate("Wang Fang", "2468", clock())["name"] == "Wang Fang"
    assert [e["type"] for e in staff_events(store)] == ["staff_added"]


def test_wrong_pins_are_hashed_outside_the_store_lock(directory, clock, store, monkeypatch):
    """Issue 8.3: while a PIN is hashed, the rest of the kiosk can use the store."""
    directory.add("Wang Fang", "receptionist", "2468", actor=MANAGER, now=clock())
    held = []

    def check(pin_hash, pin):
        held.append(store.lock._is_owned())
        return False

    monkeypatch.setattr(directory.hasher, "check", check)
    monkeypatch.setattr(directory.hasher, "waste", lambda pin: held.append(
        store.lock._is_owned()))
    for name in ("Wang Fang", "Nobody"):
        with pytest.raises(BadSignIn):
            directory.authenticate(name, "1111", clock())
    assert held == [False, False]


def test_accounts_survive_a_restart(tmp_path, clock):
    store = Store(tmp_path / "data")
    try:
        StaffDirectory(store.folder / "staff.json", store).add(
            "Wang Fang", "receptionist", "2468", actor=MANAGER, now=clock())
        again = StaffDirectory(store.folder / "staff.json", store)
        assert again.authenticate("Wang Fang", "2468", clock())["role"] == "receptionist"
    finally:
        store.close()


# -- the shell -------------------------------------------------------------------
@pytest.fixture
def run(runner, tmp_path):
    """Run ``run.py staff ...`` on this test's data folder."""
    return lambda *args, input=None: runner.invoke("staff", *args, "--data",
                                                   str(tmp_path / "data"), input=input)


def read_back(tmp_path):
    store = Store(tmp_path / "data")
    try:
        return StaffDirectory(store.folder / "staff.json", store).all(), staff_events(store)
    finally:
        store.close()


def test_cli_adds_lists_and_disables_staff(tmp_path, run):
    result = run("add", "Li Na", "--role", "manager", "--pin", "8642")
    assert result.exit_code == 0, result.output
    assert "added Li Na (manager)" in result.output
    result = run("add", "Wang Fang", "--role", "receptionist", input="2468\n2468\n")
    assert result.exit_code == 0, result.output
    assert "2468" not in result.output  # the prompt hides what is typed
    assert run("disable", "wang fang").exit_code == 0
    listing = run("list")
    assert listing.exit_code == 0
    assert listing.output.splitlines() == ["Li Na\tmanager\tactive",
                                           "Wang Fang\treceptionist\tdisabled"]
    staff, events = read_back(tmp_path)
    assert [e["type"] for e in events] == ["staff_added", "staff_added", "staff_disabled"]
    assert all(e["actor"] == CLI_ACTOR for e in events)
    assert "scrypt" not in log_text(tmp_path / "data")


def test_cli_asks_for_the_pin_twice(tmp_path, run):
    result = run("add", "Wang Fang", "--role", "receptionist", input="2468\n1357\n"
                 "2468\n2468\n")
    assert result.exit_code == 0 and "do not match" in result.output.lower()


@pytest.mark.parametrize("args, fragment", [
    (("add", "Wang", "--role", "receptionist", "--pin", "12"), "4 to 8 digits"),
    (("add", "Wang", "--role", "boss", "--pin", "1234"), "receptionist"),
    (("disable", "Nobody"), "No staff member"),
])
def test_cli_reports_what_is_wrong(tmp_path, args, fragment, run):
    result = run(*args)
    assert result.exit_code != 0 and fragment in result.output
    assert read_back(tmp_path) == ([], [])


def test_cli_gives_a_new_pin_asked_for_twice(tmp_path, run):
    run("add", "Wang Fang", "--role", "receptionist", "--pin", "2468")
    result = run("pin", "wang fang", input="1357\n1375\n1357\n1357\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output.lower() and "1357" not in result.output
    assert "new PIN for Wang Fang" in result.output
    staff, events = read_back(tmp_path)
    assert [e["type"] for e in events] == ["staff_added", "staff_pin_changed"]
    assert events[-1]["actor"] == CLI_ACTOR
    store = Store(tmp_path / "data")
    try:
        directory = StaffDirectory(store.folder / "staff.json", store)
        assert directory.authenticate("Wang Fang", "1357", clock_now())["name"] == "Wang Fang"
    finally:
        store.close()
    assert "4 to 8 digits" in run("pin", "Wang Fang", "--pin", "12").output
    assert "No staff member" in run("pin", "Nobody", "--pin", "1234").output


def test_cli_commands_say_what_they_do():
    group = cli.commands["staff"]
    for name in ("add", "list", "disable", "pin"):
        help_text = group.commands[name].help
        assert help_text and len(help_text.strip().splitlines()) == 1
