"""The languages both apps speak, without Flask: Simplified Chinese first, English one tap
away. Each app keeps the visitor's choice its own way (``kiosk.i18n``, ``hq.i18n``)."""
from __future__ import annotations

from pathlib import Path

#: The one translation catalog of both apps (Simplified Chinese; msgids are English).
TRANSLATIONS = str(Path(__file__).resolve().parent / "translations")
LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT = "zh_CN"


def pick(chosen: str | None, site_default: str | None = None) -> str:
    """Return the language to speak: the one ``chosen`` (a visitor's switch, a command's
    ``--lang``) if it is one of ours, else the site's (its ``BABEL_DEFAULT_LOCALE``)
    if it is, else Simplified Chinese."""
    for code in (chosen, site_default):
        if code in LANGUAGES:
            return code
    return DEFAULT


def html_lang(language: str) -> str:
    """Return the BCP 47 tag for ``<html lang>`` of a Babel language (``zh``, ``en``)."""
    return "zh-CN" if language == "zh" else "en"


def other_language(language: str) -> str:
    """Return the code of the language a page's switch offers (the one not shown)."""
    return "en" if language == "zh" else DEFAULT
