"""The app's sync worker: built from the app's settings, started when configured."""
from __future__ import annotations

from flask import Flask, current_app

from common.config import wall_time
from sync.state import effective_settings
from sync.worker import SyncWorker

from ..store import Store

def init_sync(app: Flask, store: Store) -> SyncWorker:
    """Build the app's worker; start it if configured (under TESTING only if asked)."""
    cfg = app.config
    worker = SyncWorker(store, effective_settings(store.folder, cfg), clock=wall_time,
                        backoff_base=float(cfg["SYNC_BACKOFF_BASE"]),
                        backoff_cap=float(cfg["SYNC_BACKOFF_CAP"]),
                        retry_cap=float(cfg["SYNC_RETRY_CAP"]),
                        alarm_retry=float(cfg["SYNC_ALARM_RETRY"]),
                        idle_wait=float(cfg["SYNC_IDLE_PROBE"]))
    autostart = cfg.get("SYNC_AUTOSTART")
    worker.autostart = (not cfg.get("TESTING")) if autostart is None else bool(autostart)
    app.extensions["sync_worker"] = worker
    if worker.autostart and worker.settings.configured:
        worker.start()
    return worker


def get_worker() -> SyncWorker:
    """Return the current app's sync worker."""
    return current_app.extensions["sync_worker"]
