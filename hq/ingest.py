"""HQ's side of the sync protocol, in plain Python (no Flask, no SQL): see PROTOCOL.md.

``authenticate`` and ``parse_batch`` run the request checks (403, 401, 400), and
``parse_status`` reads the kiosk's status report leniently;
``malformed`` finds an event whose fields have the wrong types (422, a permanent refusal);
``plan`` judges each event of a batch against what HQ holds and ``applied`` turns a stored
event its backend cannot fold into a rejected one; ``fold`` builds ticket state with
the kiosk's own ``model.apply``; ``answer`` signs the reply. Re-checking a site's stored
chain is ``chain.py``'s.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Callable, Iterator, Mapping

from kiosk.tickets import model, rules
from sync import protocol
from sync.events import event_hash

from .storage import utc_iso

DUPLICATE, CONFLICT, STORED, REJECTED = "duplicate", "conflict", "stored", "rejected"
BAD_CHAIN, GAP, SKIPPED = "bad_chain", "gap", "skipped"
MALFORMED = "malformed"
#: Results that make the answer a 409.
REFUSED = frozenset({CONFLICT, BAD_CHAIN})
#: Results whose event HQ stores (applied or not), and results HQ raises an alarm for.
KEPT = frozenset({STORED, REJECTED})
ALARMED = frozenset({CONFLICT, BAD_CHAIN, REJECTED})

#: Site events without a ticket that HQ knows (stored and counted as applied).
SITE_EVENT_TYPES = frozenset({"staff_added", "staff_disabled", "staff_pin_changed",
                              "locations_imported", "location_saved",
                              "department_saved", "escalation_saved", "report_issued",
                              "notice_published", "notice_withdrawn",
                              "handover_signed", "handover_acknowledged", "diary_noted",
                              "meter_read", "arrears_listed", "arrears_contacted",
                              "household_saved",
                              "movein_started", "movein_step_done", "movein_completed",
                              "movein_steps_saved",
                              "plan_task_saved", "plan_task_done", "plan_task_carried",
                              "plan_task_dropped",
                              "parcel_received", "parcel_collected", "item_lent",
                              "item_returned", "fee_standard_saved",
                              "letter_template_saved", "letter_issued"})
KNOWN_TYPES = rules.EVENT_TYPES | SITE_EVENT_TYPES
MAX_SEQ = 2 ** 53
_EVENT_FIELDS = {"site_id": str, "seq": int, "event_id": str, "type": str, "at": str,
                 "actor": dict, "data": dict, "prev_hash": str, "hash": str}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TEXT, _TEXT_OR_NULL, _OBJECT = (str,), (str, type(None)), (dict,)
_LIST, _BOOL = (list,), (bool,)
_OBJECT_OR_NULL = (dict, type(None))
_INT = (int,)
#: event type -> {data field: (allowed types, required)}; other keys in ``data`` are
#: allowed (a newer kiosk may add some), their values are not used by HQ.
DATA_FIELDS: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "reported": {**{f: (_TEXT, True) for f in ("number", "token", "day", "category", "channel")},
                 **{f: (_TEXT_OR_NULL, False) for f in ("location", "description", "name",
                                                         "phone", "preferred_at", "due_at",
                                                         "request_id", "household")}},
    "closed": {"reason": (_TEXT, True)},
    "noted": {"text": (_TEXT, True)},
    "dispatched": {"department": (_TEXT_OR_NULL, False)},
    "deadline_agreed": {"due_at": (_TEXT, True), "reason": (_TEXT, True)},
    "arrived": {"how": (_TEXT_OR_NULL, False)},
    "completed": {"result": (_TEXT_OR_NULL, False), "revisit_due": (_TEXT_OR_NULL, False),
                  "fee": (_TEXT_OR_NULL, False)},
    "investigated": {"facts": (_TEXT, True)},
    "resolved": {"result": (_TEXT_OR_NULL, False)},
    "fed_back": {"how": (_TEXT, True), "revisit_due": (_TEXT_OR_NULL, False)},
    "revisited": {"outcome": (_TEXT, True)},
    # the customer feedback report a site's manager issued: period {key, first, last, ...},
    # figures (kiosk.tickets.figures.report), remarks
    "report_issued": {"period": (_OBJECT, True), "figures": (_OBJECT, True),
                      "remarks": (_TEXT_OR_NULL, False)},
    # a notice on the kiosk (R18), published again whole when changed; withdrawn by id
    "notice_published": {**{f: (_TEXT, True) for f in ("id", "title", "text", "importance",
                                                       "valid_from", "valid_to", "building")},
                         "request_id": (_TEXT_OR_NULL, False)},
    "notice_withdrawn": {"id": (_TEXT, True)},
    # a shift handover (R20): the summary as prepared, notes, for whom; acknowledged by id
    "handover_signed": {"id": (_TEXT, True), "prepared": (_OBJECT, True),
                        "notes": (_TEXT_OR_NULL, False), "to": (_TEXT, True),
                        "request_id": (_TEXT_OR_NULL, False)},
    "handover_acknowledged": {"id": (_TEXT, True), "request_id": (_TEXT_OR_NULL, False)},
    "diary_noted": {"text": (_TEXT, True), "request_id": (_TEXT_OR_NULL, False)},
    # a meter reading (抄表): the reading a decimal string, read_on a site-local day
    "meter_read": {**{f: (_TEXT, True) for f in ("meter", "kind", "reading", "read_on")},
                   **{f: (_TEXT_OR_NULL, False) for f in ("place", "household", "note",
                                                          "request_id")},
                   "confirmed": (_BOOL, False)},
    # a version of a fee standard (R25): rate and tiers' figures decimal strings, valid_from
    # a site-local day; basis area|household|reading (meter_kind for reading)
    "fee_standard_saved": {**{f: (_TEXT, True) for f in ("item_code", "name_zh", "basis",
                                                         "rate", "valid_from")},
                           **{f: (_TEXT_OR_NULL, False) for f in ("name_en", "meter_kind",
                                                                  "request_id")},
                           "tiers": (_LIST, False)},
    # letters from templates (R27): a template saved whole by code; a letter issued as
    # edited, with the household and the ticket it names, if any
    "letter_template_saved": {**{f: (_TEXT, True) for f in ("code", "name_zh", "name_en",
                                                            "subject", "body")},
                              "request_id": (_TEXT_OR_NULL, False)},
    "letter_issued": {**{f: (_TEXT, True) for f in ("id", "template", "subject", "body")},
                      **{f: (_TEXT_OR_NULL, False) for f in ("household", "ticket",
                                                             "request_id")}},
    # the households in arrears (R22), a whole list replacing the last; each contact by id
    "arrears_listed": {"list": (_LIST, True), "request_id": (_TEXT_OR_NULL, False)},
    "arrears_contacted": {**{f: (_TEXT, True) for f in ("household", "how", "said")},
                          **{f: (_TEXT_OR_NULL, False) for f in ("promised_on", "request_id")}},
    # a household of the customer archive (R17), saved whole: people [{name, phone, relation}]
    "household_saved": {**{f: (_TEXT, True) for f in ("id", "building", "unit")},
                        "people": (_LIST, True),
                        **{f: (_TEXT_OR_NULL, False) for f in ("area", "note", "request_id")}},
    # the parcel and letter register (R19): an arrival with its pickup code; its pickup
    "parcel_received": {**{f: (_TEXT, True) for f in ("id", "kind", "recipient", "code")},
                        **{f: (_TEXT_OR_NULL, False) for f in ("household", "phone", "carrier",
                                                               "tracking", "shelf",
                                                               "request_id")}},
    "parcel_collected": {**{f: (_TEXT, True) for f in ("id", "collected_by", "identified_by")},
                         "request_id": (_TEXT_OR_NULL, False)},
    # the item register (R19): lent until due_at (UTC ISO), or handed out for good (null)
    "item_lent": {**{f: (_TEXT, True) for f in ("id", "item", "to_name")},
                  "quantity": (_INT, True),
                  **{f: (_TEXT_OR_NULL, False) for f in ("household", "phone", "due_at", "note",
                                                         "request_id")}},
    "item_returned": {"id": (_TEXT, True), "request_id": (_TEXT_OR_NULL, False)},
    # the move-in hand-over (R24): started for a household and a person {name, phone,
    # relation}; each step done with what it recorded; completed; the checklist saved
    # whole: steps [{key, label_zh, label_en, kind}]
    "movein_started": {**{f: (_TEXT, True) for f in ("id", "household")},
                       "person": (_OBJECT, True), "request_id": (_TEXT_OR_NULL, False)},
    "movein_step_done": {**{f: (_TEXT, True) for f in ("id", "step")},
                         "data": (_OBJECT, True), "request_id": (_TEXT_OR_NULL, False)},
    "movein_completed": {"id": (_TEXT, True), "request_id": (_TEXT_OR_NULL, False)},
    "movein_steps_saved": {"steps": (_LIST, True), "request_id": (_TEXT_OR_NULL, False)},
    # the work plan (R26): a task saved whole, one-off (due, a day) or recurring (repeat
    # {every: week|month, weekday|day}); an occurrence (its day) done or carried over
    "plan_task_saved": {**{f: (_TEXT, True) for f in ("id", "title", "kind", "assignee")},
                        "repeat": (_OBJECT_OR_NULL, False),
                        **{f: (_TEXT_OR_NULL, False) for f in ("due", "note", "request_id")}},
    "plan_task_done": {**{f: (_TEXT, True) for f in ("id", "occurrence")},
                       "request_id": (_TEXT_OR_NULL, False)},
    "plan_task_carried": {**{f: (_TEXT, True) for f in ("id", "occurrence", "to", "reason")},
                          "request_id": (_TEXT_OR_NULL, False)},
    "plan_task_dropped": {"id": (_TEXT, True), "request_id": (_TEXT_OR_NULL, False)},
}
#: report_issued: the fields of ``data.period`` HQ shows (ISO days and the period's key)
_PERIOD_FIELDS = ("key", "first", "last")


class ApiError(Exception):
    """A request HQ refuses before touching its data; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def authenticate(headers: Mapping[str, str], body: bytes, site_id: str,
                 find_key: Callable[[str], dict | None],
                 received_path: str | None = None) -> tuple[dict, str]:
    """Return ``(key, request signature)`` of a signed request for ``site_id``.

    The signed path may be the API path or ``received_path`` (the path as HQ received
    it, with any prefix it is mounted under): a kiosk signs the path of its HQ URL.

    :raises ApiError: 403 for an unknown or revoked key or another site's key; 401 for
        a wrong body hash or signature (compared in constant time).
    """
    key = find_key(headers.get(protocol.H_KEY_ID, ""))
    if key is None or key["revoked"] or key["site_id"] != site_id:
        raise ApiError(403, "this key is unknown, revoked or not this site's")
    body_hash = protocol.body_sha256(body)
    signature = headers.get(protocol.H_SIGNATURE, "")
    timestamp = headers.get(protocol.H_TIMESTAMP, "")
    paths = {protocol.API_PATH.format(site_id=site_id), received_path or ""} - {""}
    signed = [protocol.same(signature, protocol.request_signature(
        key["secret"], "POST", path, site_id, timestamp, body_hash)) for path in sorted(paths)]
    if not (protocol.same(headers.get(protocol.H_BODY_SHA256, ""), body_hash) and any(signed)):
        raise ApiError(401, "the body hash or the signature does not verify")
    return key, signature


def parse_batch(body: bytes, site_id: str) -> tuple[list[dict], dict | None]:
    """Return the events of a request body after the strict checks, and its status
    report as ``parse_status`` reads it.

    :raises ApiError: 400 for bad JSON, a wrong shape, another site or too many events.
    """
    try:
        payload = protocol.loads(body)
    except protocol.BadBody as exc:
        raise ApiError(400, f"the body is not strict JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise ApiError(400, "the body must be an object with a list of events")
    if payload.get("site_id") != site_id:
        raise ApiError(400, "the body's site_id is not the URL's")
    if not isinstance(payload.get("hq_epoch"), (str, type(None))):
        raise ApiError(400, "hq_epoch must be a string or null")
    events = payload["events"]
    if len(events) > protocol.MAX_BATCH_EVENTS:
        raise ApiError(400, f"more than {protocol.MAX_BATCH_EVENTS} events")
    return events, parse_status(payload.get("status"))


#: the longest kiosk version HQ keeps (a longer one is cut)
MAX_VERSION = 40


def parse_status(value: object) -> dict | None:
    """Return a kiosk's status report as HQ stores it, ``{kiosk_last_seq, kiosk_version,
    kiosk_clock, heartbeat_seconds}``, or None if there is none to keep.

    Lenient, never a refusal (a newer kiosk's report must not stop its events): a field
    of the wrong type, or a clock that does not parse as an aware time, is None; integers
    are clamped to 0..2**53, the version cut to MAX_VERSION printable characters and the
    clock stored as UTC ISO text. A report without any usable
    field, or not an object, is None: HQ keeps the last one it had.
    """
    if not isinstance(value, dict):
        return None
    version, clock = value.get("version"), value.get("clock")
    if isinstance(version, str):
        version = "".join(c for c in version[:MAX_VERSION] if c.isprintable()) or None
    report = {"kiosk_last_seq": _count(value.get("last_seq")),
              "kiosk_version": version if isinstance(version, str) else None,
              "kiosk_clock": utc_iso(clock) if isinstance(clock, str) and len(clock) <= 64
              and _is_time(clock) else None,
              "heartbeat_seconds": _count(value.get("heartbeat"))}
    return report if any(v is not None for v in report.values()) else None


def _count(value: object) -> int | None:
    """Return an integer clamped to 0..MAX_SEQ, or None if ``value`` is not one."""
    return min(max(value, 0), MAX_SEQ) if type(value) is int else None


def malformed(events: list, site_id: str) -> tuple[int, int | None, str] | None:
    """Return ``(index, seq or None, problem)`` of the first malformed event, or None.

    Malformed: a field missing or of the wrong type, in the envelope or in the ``data``
    fields HQ uses for the event's type. HQ refuses such a batch whole (422): its
    fields are what they are in the site's hash-chained log, so a resend never helps.
    """
    for i, event in enumerate(events):
        problem = _shape_problem(event, site_id)
        if problem:
            seq = event.get("seq") if isinstance(event, dict) else None
            return i, seq if type(seq) is int and 1 <= seq < MAX_SEQ else None, problem
    return None


def _shape_problem(event: object, site_id: str) -> str | None:
    if not isinstance(event, dict):
        return "the event is not an object"
    for field, kind in _EVENT_FIELDS.items():
        value = event.get(field)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"{field} missing or not a {_KIND_NAMES[kind]}"
    if event["site_id"] != site_id:
        return "site_id is not the URL's"
    if not 1 <= event["seq"] < MAX_SEQ:
        return "seq out of range"
    if not isinstance(event.get("ticket_id"), (str, type(None))):
        return "ticket_id must be a string or null"
    if not event["type"] or len(event["type"]) > 64:
        return "type must be 1-64 characters"
    if not (_HEX64.fullmatch(event["hash"]) and _HEX64.fullmatch(event["prev_hash"])):
        return "hash and prev_hash must be 64 lower-case hex digits"
    try:
        datetime.fromisoformat(event["at"])
    except ValueError:
        return "at is not an ISO-8601 time"
    actor = event["actor"]
    if not isinstance(actor.get("role"), str):
        return "actor.role missing or not a string"
    for field in ("id", "name"):
        if not isinstance(actor.get(field), (str, type(None))):
            return f"actor.{field} must be a string or null"
    return _data_problem(event["type"], event["data"])


def _data_problem(kind: str, data: dict) -> str | None:
    """Return what is wrong with the types of the ``data`` fields HQ uses, or None."""
    for field, (types, required) in DATA_FIELDS.get(kind, {}).items():
        if field not in data:
            if required:
                return f"data.{field} is missing"
        elif not isinstance(data[field], types):
            return f"data.{field} must be {_TYPE_WORDS[types]}"
    if kind == "report_issued":
        for field in _PERIOD_FIELDS:
            if not isinstance(data["period"].get(field), str):
                return f"data.period.{field} must be a string"
    if kind == "amended":
        for field, change in data.items():
            if not (isinstance(change, dict) and "old" in change and "new" in change):
                return f"data.{field} must be an object with old and new"
            if not all(isinstance(change[k], _TEXT_OR_NULL) for k in ("old", "new")):
                return f"data.{field}.old and .new must be strings or null"
    return None


_KIND_NAMES = {str: "string", int: "integer", dict: "object"}
_TYPE_WORDS = {_TEXT: "a string", _TEXT_OR_NULL: "a string or null", _OBJECT: "an object",
               _OBJECT_OR_NULL: "an object or null",
               _LIST: "a list", _BOOL: "true or false", _INT: "an integer"}


def plan(events: list[dict], last: int, last_hash: str,
         stored_hashes: Mapping[int, str]) -> list[tuple[dict, str, str]]:
    """Judge each event in order; return ``(event, result, detail)`` per event.

    ``last``/``last_hash``: HQ's highest stored seq of the site and its hash (0 and
    GENESIS when none); ``stored_hashes``: HQ's hashes of the batch's seqs <= ``last``.
    """
    hashes, out, stopped = dict(stored_hashes), [], False
    for event in events:
        seq = event["seq"]
        if stopped:
            out.append((event, SKIPPED, ""))
        elif seq <= last:
            held = hashes.get(seq)
            if held is not None and protocol.same(held, event["hash"]):
                out.append((event, DUPLICATE, ""))
            else:
                out.append((event, CONFLICT, f"HQ holds another event at seq {seq} "
                                             f"(hash {str(held)[:12]}, sent {event['hash'][:12]})"))
        elif seq > last + 1:
            out.append((event, GAP, f"expected seq {last + 1}"))
            stopped = True
        elif event["prev_hash"] != last_hash:
            out.append((event, BAD_CHAIN, f"prev_hash does not link to seq {last}"))
            stopped = True
        elif event_hash(event) != event["hash"]:
            out.append((event, BAD_CHAIN, "hash does not match the event's content"))
            stopped = True
        else:
            known = event["type"] in KNOWN_TYPES
            out.append((event, STORED if known else REJECTED,
                        "" if known else f"unknown event type {event['type']!r}"))
            last, last_hash, hashes[seq] = seq, event["hash"], event["hash"]
    return out


def applied(judged: list[tuple[dict, str, str]],
            apply: Callable[[dict], str | None]) -> Iterator[tuple[dict, str, str]]:
    """Yield ``plan``'s ``(event, result, detail)`` in order, each STORED event first
    given to ``apply`` (a backend folding it into its tables, in the batch's transaction):
    one it cannot apply (``apply`` returns why) is REJECTED with that detail. An event
    whose result is in ``KEPT`` is then stored, one in ``ALARMED`` raises an alarm."""
    for event, result, detail in judged:
        problem = apply(event) if result == STORED else None
        yield (event, REJECTED, problem) if problem else (event, result, detail)


def fold(ticket: dict | None, event: dict) -> tuple[dict | None, str | None]:
    """Return ``(ticket after event, None)``, or ``(None, why)`` if it cannot apply."""
    if event["type"] in SITE_EVENT_TYPES:
        return None, None  # a site event: nothing to fold
    if not event.get("ticket_id"):
        return None, "a ticket event without a ticket_id"
    unknown = _unknown_code(event)
    if unknown:
        return None, f"the ticket rules refuse it: {unknown}"
    try:
        return model.apply(ticket, event), None
    except (rules.RuleError, KeyError, TypeError, ValueError, AttributeError) as exc:
        return None, f"the ticket rules refuse it: {exc}"


#: The desk's records that HQ counts per site (R19, R20), by the site events that open and
#: close them: event type -> (kind, opens). A record is open until its closing event.
DESK_RECORDS = {"parcel_received": ("parcel", True), "parcel_collected": ("parcel", False),
                "item_lent": ("item", True), "item_returned": ("item", False),
                "handover_signed": ("handover", True),
                "handover_acknowledged": ("handover", False)}


def desk_record(event: dict) -> tuple[str, str, bool, str | None] | None:
    """Return ``(kind, record id, opens, due_at)`` if ``event`` opens or closes one of the
    desk's records HQ counts (a parcel waiting, an item out, a handover not acknowledged),
    else None. ``due_at`` is when an item lent is due back (UTC ISO), or None."""
    kind = DESK_RECORDS.get(event["type"])
    record_id = event["data"].get("id")
    if kind is None or not isinstance(record_id, str):
        return None
    due = event["data"].get("due_at") if kind == ("item", True) else None
    return kind[0], record_id, kind[1], due if isinstance(due, str) and _is_time(due) else None


def places(event: dict) -> list[tuple[str, str | None, str | None]]:
    """Return ``(code, name_zh, name_en)`` of each place ``event`` adds, renames, retires
    or restores (R17), in order: the rows of ``locations_imported``, the one place of
    ``location_saved``; [] for any other event. HQ keeps each code's newest names (a
    retired place still names its old tickets); a row without a text code is skipped, a
    name that is not text is None."""
    if event["type"] == "locations_imported":
        rows = event["data"].get("rows")
        found = rows if isinstance(rows, list) else []
    elif event["type"] == "location_saved":
        found = [event["data"]]
    else:
        return []

    def text(value) -> str | None:
        return value if isinstance(value, str) else None

    return [(row["code"], text(row.get("name_zh")), text(row.get("name_en")))
            for row in found if isinstance(row, dict) and isinstance(row.get("code"), str)]


def _unknown_code(event: dict) -> str | None:
    """Return which code of a ticket event HQ's rules do not know, or None."""
    data = event["data"]
    if event["type"] == "reported":
        if data["category"] not in rules.CATEGORIES:
            return f"unknown category {data['category']!r}"
        if data["channel"] not in rules.CHANNELS:
            return f"unknown channel {data['channel']!r}"
    elif event["type"] == "amended" and "category" in data:
        if data["category"]["new"] not in rules.CATEGORIES:
            return f"unknown category {data['category']['new']!r}"
    elif event["type"] == "closed" and data["reason"] not in rules.CLOSE_REASONS:
        return f"unknown close reason {data['reason']!r}"
    elif event["type"] == "revisited" and data["outcome"] not in rules.REVISIT_OUTCOMES:
        return f"unknown revisit outcome {data['outcome']!r}"
    elif event["type"] == "deadline_agreed" and not _is_time(data["due_at"]):
        return f"deadline {data['due_at']!r} is not a time"
    return None


def _is_time(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def refusal_results(events: list, index: int, seq: int | None) -> list[dict]:
    """Return the results of a batch refused for its malformed event ``index``."""
    out = []
    for i, event in enumerate(events):
        sent = event.get("seq") if isinstance(event, dict) else None
        out.append({"seq": seq if i == index else sent if type(sent) is int else None,
                    "result": MALFORMED if i == index else SKIPPED})
    return out


def answer(key: dict, request_sig: str, epoch: str, acked_through: int,
           results: list[dict], error: str | None = None) -> tuple[int, bytes, dict]:
    """Return ``(status, body, headers)`` of the signed answer to a batch.

    With ``error`` (a malformed event) the answer is a signed 422 carrying it.
    """
    payload = {"hq_epoch": epoch, "site_id": key["site_id"],
               "acked_through": acked_through, "results": results}
    if error:
        payload["error"] = error
    body = protocol.dumps(payload)
    body_hash = protocol.body_sha256(body)
    status = 422 if error else 409 if any(r["result"] in REFUSED for r in results) else 200
    return status, body, {
        "Content-Type": "application/json", protocol.H_BODY_SHA256: body_hash,
        protocol.H_SIGNATURE: protocol.answer_signature(key["secret"], key["site_id"],
                                                        request_sig, body_hash)}
