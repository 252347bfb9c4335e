"""Letters from templates (函件, R27): plain functions over the store, no Flask.

A template (``letter_template_saved``: code, Chinese and English names, subject, body) is
kept by managers; three are there from the start (``SEEDED``) until a manager changes
them. Its subject and body hold fields in braces, e.g. ``{住户}``: ``fill`` replaces each
known name (``FIELDS``) that has a value, from the household picked, the ticket the
letter was opened from and the arrears list, by plain string replacement in one pass (a
value is never read as a template). A field without a value, or a name not known, stays
as typed and is listed as ``missing``, for the receptionist to fill: a letter still
holding a field in braces is not issued, printed or published.

The receptionist edits the filled text, then issues it (``issue``: one ``letter_issued``
event, kept for good and listed on the household's page; it is then printed) or
publishes it as a notice (``publish``, through ``notices.service.publish``). A notice is
public: a letter naming a person of the household or the ticket, a phone number or an
amount is refused, and an arrears reminder is never published.

Every change carries the form's ``request_id``: sent again, it records nothing new.
"""
from __future__ import annotations

import re
import secrets
from datetime import date, datetime

from common.messages import N_, Message
from common.validation import REQUIRED, ValidationError, clean_text
from sync.events import new as new_event

from ..households import arrears, label
from ..notices import service as notices
from ..permissions import check_role
from ..store import Store

MAX_CODE, MAX_NAME, MAX_SUBJECT, MAX_BODY = 32, 40, 60, 1200
CODE = re.compile(r"[a-z0-9][a-z0-9_-]{1,31}")
#: A field of a template: a short name in braces, no space or brace inside.
FIELD = re.compile(r"\{([^{}\s]{1,12})\}")
#: The names a template may use, and what fills each.
FIELDS = {
    "住户": N_("the household's first person, or the ticket's name"),
    "楼栋": N_("the household's building"),
    "房号": N_("the household's unit"),
    "日期": N_("today's date"),
    "单号": N_("the ticket's number"),
    "事项": N_("what the ticket reported"),
    "处理结果": N_("the ticket's result"),
    "欠费起始": N_("since when the household is in arrears"),
}
#: The template that is never published as a notice: it is about one household's debt.
ARREARS_REMINDER = "arrears_reminder"
#: How long a letter published as a notice is shown, unless the notice is changed.
NOTICE_LENGTH = notices.DEFAULT_LENGTH

SEEDED = {
    ARREARS_REMINDER: {
        "name_zh": "欠费提醒函", "name_en": "Arrears reminder",
        "subject": "关于缴纳物业管理费的提醒",
        "body": "尊敬的{住户}：\n\n您好！据我处记录，{楼栋}{房号}自{欠费起始}起尚有物业管理费未缴纳。"
                "请您在方便时到物业服务中心前台办理，如已缴纳请忽略本函。如有疑问，欢迎来电或到前台咨询。\n\n"
                "感谢您的理解与支持！",
    },
    "maintenance_notice": {
        "name_zh": "维修通知", "name_en": "Maintenance notice",
        "subject": "维修通知",
        "body": "尊敬的{住户}：\n\n您反映的问题（单号：{单号}）：{事项}\n\n"
                "我处已安排维修人员处理。处理情况：{处理结果}\n\n"
                "施工期间如给您带来不便，敬请谅解。",
    },
    "complaint_reply": {
        "name_zh": "投诉回复函", "name_en": "Complaint reply",
        "subject": "关于您投诉事项的回复",
        "body": "尊敬的{住户}：\n\n感谢您对我们工作的监督。您于近日反映的问题（单号：{单号}）：{事项}\n\n"
                "经调查核实，处理结果如下：{处理结果}\n\n"
                "如您对处理结果仍有意见，欢迎随时与物业服务中心前台联系。",
    },
}

BAD_CODE = Message(N_("Please use 2 to 32 small letters, digits, - or _, starting with a "
                      "letter or a digit."))
CODE_TAKEN = Message(N_("A template has this code already. Open it from the list to edit it."))
BAD_TEMPLATE = Message(N_("Please choose a template from the list."))
BAD_HOUSEHOLD = Message(N_("Please pick the household again from the search."))
BAD_TICKET = Message(N_("This ticket was not found. Open the letter again from the ticket's "
                        "page."))
NOT_FILLED = Message(N_("Still to fill in: %(fields)s. Type what belongs there, or delete it."))
NEVER_PUBLISHED = Message(N_("An arrears reminder is never published: it concerns one "
                             "household. Issue it and print it instead."))
NAMES_PERSON = Message(N_("A notice is public: it may not name %(name)s. Take the name out, "
                          "or issue the letter instead."))
HAS_PHONE = Message(N_("A notice is public: it may not show a phone number. Take it out, or "
                       "issue the letter instead."))
HAS_AMOUNT = Message(N_("A notice is public: it may not show an amount of money. Take it "
                        "out, or issue the letter instead."))

#: A phone number: 7 digits or more, maybe split by spaces or dashes.
_PHONE = re.compile(r"\d(?:[\s\-]?\d){6,}")
#: An amount of money: a currency sign before a number, or 元 / 块 / yuan after one.
_AMOUNT = re.compile(r"[¥￥$]\s*\d|\d\s*(?:元|块|yuan\b|RMB\b)|RMB\s*\d", re.IGNORECASE)


class UnknownLetter(LookupError):
    """No letter has this id."""


class UnknownTemplate(LookupError):
    """No template has this code."""


def templates(store: Store) -> list[dict]:
    """Return every template: the seeded ones first (as a manager last saved them, if
    so), then those managers added, by code; each with ``code`` and ``seeded``."""
    saved = {t["code"]: t for t in store.letter_templates()}
    seeded = [{"code": code, **t, **saved.pop(code, {}), "seeded": True}
              for code, t in SEEDED.items()]
    return seeded + [{**t, "seeded": False} for _, t in sorted(saved.items())]


def template(store: Store, code: str) -> dict:
    """Return the template ``code``.

    :raises UnknownTemplate: no template has this code.
    """
    found = next((t for t in templates(store) if t["code"] == code), None)
    if found is None:
        raise UnknownTemplate(code)
    return found


def _text(fields: dict, name: str, limit: int, errors: dict, multiline: bool = False,
          required: bool = True) -> str:
    text, error = clean_text(fields.get(name), max_len=limit, required=required,
                             multiline=multiline)
    if error:
        errors[name] = error
    return text.replace("\r\n", "\n")


def save_template(store: Store, fields: dict, *, actor: dict, now: datetime,
                  code: str | None = None, request_id: str | None = None) -> dict:
    """Add a template (``code`` None: ``fields["code"]`` names it) or change the template
    ``code``; return it. Fields: ``name_zh`` (required), ``name_en``, ``subject`` and
    ``body`` (required; fields in braces). Sent again with the same ``request_id``,
    record nothing.

    :raises Forbidden: ``actor`` may not edit templates.
    :raises UnknownTemplate: ``code`` is no template's.
    :raises ValidationError: a bad field.
    """
    check_role(actor, "edit_letter_templates")
    with store.lock:
        if code is not None:
            template(store, code)
        if request_id and (done := store.letter_template_by_request(request_id)):
            return template(store, done)
        errors: dict[str, Message] = {}
        if code is None:
            code = fields.get("code").strip().lower() if isinstance(fields.get("code"), str) else ""
            if not code:
                errors["code"] = REQUIRED
            elif not CODE.fullmatch(code):
                errors["code"] = BAD_CODE
            elif any(t["code"] == code for t in templates(store)):
                errors["code"] = CODE_TAKEN
        clean = {"name_zh": _text(fields, "name_zh", MAX_NAME, errors),
                 "name_en": _text(fields, "name_en", MAX_NAME, errors, required=False),
                 "subject": _text(fields, "subject", MAX_SUBJECT, errors),
                 "body": _text(fields, "body", MAX_BODY, errors, multiline=True)}
        if errors:
            raise ValidationError(errors)
        store.append([new_event(None, "letter_template_saved", actor, now, {
            "code": code, **clean, "request_id": request_id})])
        return template(store, code)


def _day(today: date) -> str:
    return f"{today.year}年{today.month}月{today.day}日"


def values(store: Store, *, household: dict | None, ticket: dict | None,
           today: date) -> dict[str, str]:
    """Return the value of each field of ``FIELDS`` that has one, from ``household``,
    ``ticket`` and the arrears list (never an amount)."""
    found = {"日期": _day(today)}
    if ticket:
        found.update({"单号": ticket.get("number"), "事项": ticket.get("description"),
                      "处理结果": ticket.get("result"), "住户": ticket.get("name")})
    if household:
        people = household.get("people") or []
        found.update({"楼栋": household["building"], "房号": household["unit"]})
        if people and people[0].get("name"):
            found["住户"] = people[0]["name"]
        owed = arrears.for_household(store, household["id"])  # no role: no amount
        if owed:
            found["欠费起始"] = owed["since"]
    return {k: v.strip() for k, v in found.items() if isinstance(v, str) and v.strip()}


def fill(text: str, known: dict[str, str]) -> tuple[str, list[str]]:
    """Return ``text`` with each field of ``known`` replaced by its value, in one pass (a
    value holding braces is kept as it is), and the fields left in braces, in order."""
    missing: list[str] = []

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name in known:
            return known[name]
        if name not in missing:
            missing.append(name)
        return match.group(0)

    return FIELD.sub(replace, text), missing


def left_to_fill(*texts: str) -> list[str]:
    """Return the fields still in braces in ``texts``, each once, in order."""
    return list(dict.fromkeys(m for text in texts for m in FIELD.findall(text)))


def draft(store: Store, code: str, *, household: dict | None, ticket: dict | None,
          today: date) -> dict:
    """Return the letter of template ``code`` filled for ``household`` and ``ticket``:
    {template, subject, body, missing}.

    :raises UnknownTemplate: no template has this code.
    """
    chosen = template(store, code)
    known = values(store, household=household, ticket=ticket, today=today)
    subject, missing_subject = fill(chosen["subject"], known)
    body, missing_body = fill(chosen["body"], known)
    return {"template": chosen, "subject": subject, "body": body,
            "missing": list(dict.fromkeys(missing_subject + missing_body))}


def default_template(ticket: dict | None) -> str | None:
    """Return the template a letter opened from ``ticket`` starts with, or None."""
    category = ticket["category"] if ticket else None
    return {"complaint": "complaint_reply", "repair": "maintenance_notice"}.get(category)


def _letter(store: Store, fields: dict) -> tuple[dict, dict | None, dict | None]:
    """Return the checked letter of ``fields`` (template, household, ticket, subject,
    body) with its household and ticket, or raise the errors."""
    errors: dict[str, Message] = {}
    get = lambda k: fields.get(k).strip() if isinstance(fields.get(k), str) else ""  # noqa: E731
    code, hid, tid = get("template"), get("household")[:40], get("ticket")[:40]
    if not any(t["code"] == code for t in templates(store)):
        errors["template"] = BAD_TEMPLATE
    household = store.household(hid) if hid else None
    if hid and household is None:
        errors["household"] = BAD_HOUSEHOLD
    ticket = store.ticket(tid) if tid else None
    if tid and ticket is None:
        errors["ticket"] = BAD_TICKET
    subject = _text(fields, "subject", MAX_SUBJECT, errors)
    body = _text(fields, "body", MAX_BODY, errors, multiline=True)
    for name, text in (("subject", subject), ("body", body)):
        if name not in errors and (left := left_to_fill(text)):
            errors[name] = Message(NOT_FILLED.text,
                                   {"fields": "、".join(f"{{{f}}}" for f in left)})
    if errors:
        raise ValidationError(errors)
    return ({"template": code, "household": hid or None, "ticket": tid or None,
             "subject": subject, "body": body}, household, ticket)


def issue(store: Store, fields: dict, *, actor: dict, now: datetime,
          request_id: str | None = None) -> dict:
    """Issue a letter as edited (``fields``: template, household, ticket, subject, body):
    one ``letter_issued`` event; return it as stored. Sent again with the same
    ``request_id``, return the letter issued then and record nothing.

    :raises Forbidden: ``actor`` may not write letters.
    :raises ValidationError: a bad field, or a field still in braces.
    """
    check_role(actor, "write_letters")
    with store.lock:
        if request_id and (done := store.letter_by_request(request_id)):
            return done
        letter = _letter(store, fields)[0]
        lid = f"l-{secrets.token_hex(6)}"
        store.append([new_event(None, "letter_issued", actor, now, {
            "id": lid, **letter, "request_id": request_id})])
        return store.letter(lid)


def _private(text: str, household: dict | None, ticket: dict | None) -> Message | None:
    """Return why ``text`` may not be shown in public, or None."""
    names = [p.get("name", "") for p in (household or {}).get("people", [])]
    names.append((ticket or {}).get("name") or "")
    for name in names:
        if len(name.strip()) >= 2 and name.strip() in text:
            return Message(NAMES_PERSON.text, {"name": name.strip()})
    if _PHONE.search(text):
        return HAS_PHONE
    if _AMOUNT.search(text):
        return HAS_AMOUNT
    return None


def publish(store: Store, fields: dict, *, actor: dict, now: datetime, tz,
            request_id: str | None = None) -> dict:
    """Publish a letter as edited as a notice (the subject its title, the body its text),
    shown from now for ``NOTICE_LENGTH``; return the notice. A notice is public: a letter
    naming a person of its household or ticket, holding a phone number or an amount,
    or from the arrears reminder is refused. Sent again with the same ``request_id``,
    return the notice published then and record nothing.

    :raises Forbidden: ``actor`` may not write letters or publish notices.
    :raises ValidationError: a bad field, a field still in braces, or private content.
    """
    check_role(actor, "write_letters")
    with store.lock:
        if request_id and (done := store.notice_by_request(request_id)):
            return done
        letter, household, ticket = _letter(store, fields)
        if letter["template"] == ARREARS_REMINDER:
            raise ValidationError({"template": NEVER_PUBLISHED})
        errors = {name: problem for name in ("subject", "body")
                  if (problem := _private(letter[name], household, ticket))}
        if errors:
            raise ValidationError(errors)
        start = now.astimezone(tz)
        try:
            return notices.publish(store, {
                "title": letter["subject"], "text": letter["body"], "importance": "normal",
                "valid_from": start.strftime(notices.LOCAL_FORMAT),
                "valid_to": (start + NOTICE_LENGTH).strftime(notices.LOCAL_FORMAT)},
                actor=actor, now=now, tz=tz, request_id=request_id)
        except ValidationError as exc:  # the notice's own limits, said of the letter's fields
            names = {"title": "subject", "text": "body"}
            raise ValidationError({names.get(k, "subject"): v
                                   for k, v in exc.errors.items()}) from exc


def _listed(store: Store, found: dict, names: dict[str, dict]) -> dict:
    """``found`` (a letter as stored) with its template's names (``names`` by code), its
    household (``household_obj``) and ``household_label``, and its ``ticket_number``."""
    household = store.household(found["household"]) if found["household"] else None
    ticket = store.ticket(found["ticket"]) if found["ticket"] else None
    return {**found, "template_names": names.get(found["template"]),
            "household_obj": household,
            "household_label": label(household) if household else "",
            "ticket_number": ticket["number"] if ticket else ""}


def letters(store: Store, household: str | None = None) -> list[dict]:
    """Return the letters issued (to ``household``, or all), the newest first, each with
    its template's names, its household's ``household_label`` and its ticket's
    ``ticket_number`` where known (``_listed``)."""
    names = {t["code"]: t for t in templates(store)}
    return [_listed(store, found, names) for found in store.letters(household)]


def letter(store: Store, lid: str) -> dict:
    """Return the letter ``lid`` as ``letters`` lists it.

    :raises UnknownLetter: no letter has this id.
    """
    found = store.letter(lid)
    if found is None:
        raise UnknownLetter(lid)
    return _listed(store, found, {t["code"]: t for t in templates(store)})
