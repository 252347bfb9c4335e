"""The move-in hand-over (入伙手续, R24): a guided checklist for a new owner or tenant.

``DEFAULT_STEPS`` is the checklist a site starts with, until a manager saves its own:
each step a key, its label in Chinese and in English, and its kind (what the step
records). The kinds other than "confirm" appear at most once each.
"""
from __future__ import annotations

#: What a step records: a plain confirmation with a note, the keys handed over, the
#: meter readings at hand-over, the contact details, the notices shown.
STEP_KINDS = ("confirm", "keys", "readings", "contact", "notices")

DEFAULT_STEPS = (
    {"key": "identity", "label_zh": "证件核验", "label_en": "Identity checked", "kind": "confirm"},
    {"key": "documents", "label_zh": "文件签署", "label_en": "Documents signed", "kind": "confirm"},
    {"key": "keys", "label_zh": "钥匙交接", "label_en": "Keys handed over", "kind": "keys"},
    {"key": "readings", "label_zh": "水电气读数", "label_en": "Meter readings at hand-over",
     "kind": "readings"},
    {"key": "contact", "label_zh": "联系方式存档", "label_en": "Contact details into the archive",
     "kind": "contact"},
    {"key": "notices", "label_zh": "告知首批通知", "label_en": "First notices shown",
     "kind": "notices"},
)
