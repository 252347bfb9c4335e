"""What the kiosk keeps on disk for sync: the acked mark and the HQ settings.

``data/sync.json`` holds the durable acked mark ``{hq_epoch, acked_through}`` (the
highest seq HQ confirmed) and the worker's last known status, so ``python run.py sync
status`` can show it while the server runs. ``data/sync-settings.json`` (mode 0600)
holds what a manager saved from the console: HQ url, site id, key id and the secret
key. Start options / ``KIOSK_*`` settings win field by field over the saved file.
Both files are written atomically (``common.files.atomic_write``).
Everything here only reads files, never the store's data-folder lock.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from common.files import atomic_write
from common.messages import N_, Message
from common.validation import REQUIRED

log = logging.getLogger(__name__)

STATE_FILE = "sync.json"
SETTINGS_FILE = "sync-settings.json"
#: app.config key -> settings field
CONFIG_KEYS = {"HQ_URL": "hq_url", "SITE_ID": "site_id", "HQ_KEY_ID": "key_id", "HQ_KEY": "key"}


BAD_URL = Message(N_("Enter the HQ address, like https://hq.example.com"))
OTHER_SITE = Message(N_("This kiosk is site %(site)s. Enter the site id HQ issued the key for; "
                        "they must be the same."))
BAD_KEY_ID = Message(N_("Enter the key id HQ printed, like k-1a2b3c4d5e6f."))


def atomic_write_json(path: Path, obj: dict) -> None:
    """Replace ``path`` with ``obj`` as JSON (0600) so a crash leaves the old or the new file."""
    atomic_write(path, json.dumps(obj, ensure_ascii=False, indent=1).encode())


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except ValueError:
        log.warning("%s is unreadable; ignoring it", path)
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class Mark:
    """The highest seq HQ (database ``hq_epoch``) confirmed under the site's key."""

    hq_epoch: str | None = None
    acked_through: int = 0


def load_state(folder: Path) -> tuple[Mark, dict]:
    """Return the acked mark and the saved status of ``folder`` (a lost file resends all)."""
    data = _read_json(Path(folder) / STATE_FILE)
    acked = data.get("acked_through")
    epoch = data.get("hq_epoch")
    mark = Mark(epoch if isinstance(epoch, str) else None,
                acked if isinstance(acked, int) and acked >= 0 else 0)
    status = data.get("status")
    return mark, status if isinstance(status, dict) else {}


def save_state(folder: Path, mark: Mark, status: dict) -> None:
    """Write the mark and the status in one atomic replace."""
    atomic_write_json(Path(folder) / STATE_FILE, {**asdict(mark), "status": status})


@dataclass(frozen=True)
class Settings:
    """Where and how to reach HQ. ``key`` is a secret: never print or render it."""

    hq_url: str = ""
    site_id: str = ""
    key_id: str = ""
    key: str = ""

    @property
    def configured(self) -> bool:
        return all((self.hq_url, self.site_id, self.key_id, self.key))

    def public(self) -> dict:
        """Return the settings fit to show: everything but the key, and whether it is set."""
        return {"hq_url": self.hq_url, "site_id": self.site_id, "key_id": self.key_id,
                "key_set": bool(self.key)}

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        return f"Settings(hq_url={self.hq_url!r}, site_id={self.site_id!r}, key_id={self.key_id!r})"


def load_saved_settings(folder: Path) -> Settings:
    """Return what a manager saved from the console (empty fields if nothing)."""
    data = _read_json(Path(folder) / SETTINGS_FILE)
    return Settings(**{f: str(data.get(f) or "") for f in CONFIG_KEYS.values()})


def effective_settings(folder: Path, config: Mapping) -> Settings:
    """Return the saved settings with every field the start options set taken from them."""
    saved = asdict(load_saved_settings(folder))
    for key, field_name in CONFIG_KEYS.items():
        if config.get(key):
            saved[field_name] = str(config[key])
    return Settings(**saved)


def overridden(config: Mapping) -> list[str]:
    """Return the settings fields set by start options or the environment."""
    return [f for k, f in CONFIG_KEYS.items() if config.get(k)]


def save_settings(folder: Path, settings: Settings) -> None:
    """Save the settings, readable by the kiosk's user only (0600)."""
    atomic_write_json(Path(folder) / SETTINGS_FILE, asdict(settings))


def check_settings(form: Mapping, site_id: str, saved: Settings) -> tuple[Settings, dict]:
    """Check the console's settings form; return ``(settings, {field: Message})``.

    A blank key keeps the saved one, so the key is typed once and never shown again.
    """
    url = form.get("hq_url", "").strip().rstrip("/")
    parts = urlsplit(url)
    errors = {}
    if not url:
        errors["hq_url"] = REQUIRED
    elif (parts.scheme not in ("http", "https") or not parts.hostname or parts.query
          or parts.fragment or "@" in parts.netloc or not url.isprintable()):
        errors["hq_url"] = BAD_URL
    else:
        try:
            parts.port
        except ValueError:
            errors["hq_url"] = BAD_URL
    claimed = form.get("site_id", "").strip()
    if not claimed:
        errors["site_id"] = REQUIRED
    elif claimed != site_id:
        errors["site_id"] = Message(OTHER_SITE.text, {"site": site_id})
    key_id = form.get("key_id", "").strip()
    if not key_id:
        errors["key_id"] = REQUIRED
    elif not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", key_id):
        errors["key_id"] = BAD_KEY_ID
    key = form.get("key", "").strip() or saved.key
    if not key:
        errors["key"] = REQUIRED
    return Settings(url, claimed, key_id, key), errors


def read_last_seq(folder: Path) -> int:
    """Return the last whole event's seq in ``<folder>/log``, read-only and lock-free."""
    segments = sorted((Path(folder) / "log").glob("events-*.jsonl"), reverse=True)
    for path in segments:
        for line in reversed(path.read_bytes().split(b"\n")[:-1]):  # complete lines only
            try:
                seq = json.loads(line).get("seq")
            except (ValueError, AttributeError):
                continue
            if isinstance(seq, int):
                return seq
    return 0


def describe(message: dict | None) -> str:
    """Return a stored ``{text, params}`` message in English plain words."""
    if not message:
        return ""
    try:
        return message["text"] % message.get("params", {})
    except (KeyError, TypeError, ValueError):
        return str(message.get("text", ""))
