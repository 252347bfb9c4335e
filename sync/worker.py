"""The sync worker: a daemon thread that pushes the event log to HQ (see PROTOCOL.md).

Each round reads the events after the acked mark (``store.events_after``, which holds
the store's lock only while reading), sends them signed, and moves the mark only on an
answer verified under the site key. Every request carries a small status report (the
log's highest seq, the version, the clock, the probe interval: HQ's liveness view).
Unknown outcomes back off exponentially with full jitter (``backoff_base`` 2 s), capped at
``retry_cap`` (20 s) while events wait, so queued events reach HQ within seconds of its
return; a ``Retry-After`` is honoured up to ``backoff_cap`` (10 min): a busy HQ can still
slow its kiosks down. Refusals (400/401/403/409/422) raise an alarm in plain words and are
retried every 10 minutes. With nothing to send, a round is a probe: an empty signed batch
every ``idle_wait`` seconds, so a recreated HQ database (a new ``hq_epoch``, or HQ's mark
below ours) is noticed and resent to, or a refusal alarmed, without waiting for the next
event; a failed probe is retried within ``idle_wait``. The log says when HQ became
unreachable, at most once a minute while it stays so, and when it answers again.
A store listener wakes the worker when an event is written; it only sets an Event.

The store is the kiosk's, seen only through ``folder``, ``site_id``, ``listeners``,
``last_seq`` and ``events_after(seq, limit)``: this package imports nothing of the kiosk.
"""
from __future__ import annotations

import atexit
import logging
import random
import threading
import time
from datetime import datetime, timezone

from . import client, protocol
from .events import iso
from .failpoint import failpoint
from .messages import (
    ALARMS,
    LOG_UNREADABLE,
    MALFORMED,
    NOT_CONFIGURED,
    SITE_MISMATCH,
    UNKNOWN,
)
from .state import Mark, Settings, describe, load_state, save_state

log = logging.getLogger(__name__)

#: Per-event results that stop the mark before the event (PROTOCOL.md).
_STOPS = ("conflict", "bad_chain", "malformed")
#: While HQ stays unreachable, the log says so at most this often (seconds).
OUTAGE_LOG_EVERY = 60.0


def _msg(text: str, **params) -> dict:
    return {"text": text, "params": params}


def _iso(t: float | None) -> str | None:
    return iso(datetime.fromtimestamp(t, timezone.utc)) if t is not None else None


class SyncWorker:
    """Pushes ``store``'s log to HQ in a background thread; ``run_once`` is one round."""

    def __init__(self, store, settings: Settings, clock=time.time, rng: random.Random | None = None,
                 *, backoff_base: float = 2.0, backoff_cap: float = 600.0,
                 retry_cap: float = 20.0, alarm_retry: float = 600.0, idle_wait: float = 60.0,
                 timeouts: tuple[float, float] = (client.CONNECT_TIMEOUT, client.READ_TIMEOUT)):
        self.store, self.settings, self.clock = store, settings, clock
        self.rng = rng or random.Random()
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.retry_cap = retry_cap  # the longest backoff while events wait
        self.alarm_retry, self.idle_wait, self.timeouts = alarm_retry, idle_wait, timeouts
        self.mark, saved = load_state(store.folder)
        self._info = {k: saved.get(k) for k in ("online", "last_success", "last_attempt",
                                                "error", "alarm", "next_attempt")}
        self.failures = 0          # unknown outcomes in a row
        self.last_delay: float | None = None
        self.hold = False          # Retry-After or alarm: a new event does not cut the wait
        self.refused_seq: int | None = None  # HQ's last 422 named this seq malformed
        self.unreachable_since: float | None = None  # the first failure of this outage
        self._outage_tries = 0
        self._outage_logged = 0.0  # when the log last said HQ is unreachable
        self.autostart = True
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._forced = self._exit_hook = False
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()  # status vs. the worker thread

    # -- control ------------------------------------------------------------------
    def _on_event(self, seq: int) -> None:
        """Store listener: called after an append; must never block or raise."""
        self._wake.set()

    def wake(self) -> None:
        """Try at once ("sync now"), even during a Retry-After or an alarm's slow retry."""
        self._forced = True
        self._wake.set()

    def start(self) -> None:
        """Start the daemon thread (once) and listen for new events."""
        if self._thread and self._thread.is_alive():
            return
        if self._on_event not in self.store.listeners:
            self.store.listeners.append(self._on_event)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="sync-worker", daemon=True)
        self._thread.start()
        if not self._exit_hook:
            atexit.register(self.stop, 2.0)
            self._exit_hook = True

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the thread (waits for a request in flight, up to ``timeout``)."""
        self._stopping.set()
        self._wake.set()
        if self._on_event in self.store.listeners:
            self.store.listeners.remove(self._on_event)
        if self._thread:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    @property
    def waiting(self) -> int:
        """How many events of the log HQ has not confirmed yet."""
        return max(0, self.store.last_seq - self.mark.acked_through)

    def configure(self, settings: Settings) -> None:
        """Use new settings (saved from the console): clear the alarm, start, try at once."""
        self.settings = settings
        with self._guard:
            self._info["alarm"] = self._info["error"] = None
        self.failures, self.hold = 0, False
        if settings.configured and self.autostart:
            self.start()
        self.wake()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                delay = self.run_once()
            except Exception as exc:  # never let the thread die: note it and back off
                log.exception("sync round failed")
                delay = self._unknown(_msg(UNKNOWN["internal"], detail=type(exc).__name__), None)
            if delay > 0:
                self._sleep(delay)

    def _sleep(self, delay: float) -> None:
        deadline = time.monotonic() + delay
        while not self._stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._wake.wait(remaining):
                return
            if self._forced or not self.hold or self._stopping.is_set():
                return
            self._wake.clear()  # a new event during a hold: the wait stands...
            if self._forced:  # ...unless "sync now" came in meanwhile
                return

    # -- one round ------------------------------------------------------------------
    def run_once(self) -> float:
        """Send one batch if there is one; return the seconds to wait before the next round."""
        self._wake.clear()
        self._forced = False
        settings, now = self.settings, self.clock()
        if not settings.configured:
            return self._record(now, self.idle_wait, error=_msg(NOT_CONFIGURED))
        if settings.site_id != self.store.site_id:
            return self._alarm(now, _msg(SITE_MISMATCH, configured=settings.site_id,
                                         site=self.store.site_id))
        try:
            events = client.batch(self.store.events_after(self.mark.acked_through,
                                                          protocol.MAX_BATCH_EVENTS))
        except (OSError, ValueError) as exc:
            return self._alarm(now, _msg(LOG_UNREADABLE, detail=str(exc)[:200]))
        if self.refused_seq is not None and events and events[0]["seq"] < self.refused_seq:
            events = [e for e in events if e["seq"] < self.refused_seq]  # what precedes it
        # no events: an empty batch probes HQ's epoch and mark (PROTOCOL.md)
        report = client.status_report(self.store.last_seq, _iso(now), self.idle_wait)
        request = client.build(settings, self.mark.hq_epoch, events, str(int(now)), report)
        failpoint("kiosk:batch_built")
        reply = client.send(settings, request, *self.timeouts)
        answer = client.verified_answer(settings, request, reply)
        if answer is not None:
            self._reachable(now)
            return self._verified(now, request, reply, answer)
        if reply.status in ALARMS:
            self._reachable(now)
            return self._alarm(now, _msg(ALARMS[reply.status], seq=request.first_seq),
                               online=False)
        if reply.failure:
            problem = _msg(UNKNOWN[reply.failure])
        elif reply.status == 200 or reply.status == 409:
            problem = _msg(UNKNOWN["unverified"])
        elif reply.status == 429:
            problem = _msg(UNKNOWN["busy"])
        elif reply.status >= 500:
            problem = _msg(UNKNOWN["server"], status=reply.status)
        else:
            problem = _msg(UNKNOWN["status"], status=reply.status)
        # a failed probe is tried again within the probe interval: HQ's return is noticed
        delay = self._unknown(problem, reply.retry_after(), now,
                              cap=None if events else self.idle_wait)
        self._unreachable(now, problem, delay)
        return delay

    def _verified(self, now: float, request, reply, answer: dict) -> float:
        old = self.mark
        bad = next((r["seq"] for r in answer.get("results", []) if isinstance(r, dict)
                    and r.get("result") in _STOPS and type(r.get("seq")) is int), None)
        # never past the highest seq sent (a probe sent none: our mark), nor past an
        # event HQ holds differently or refuses
        sent = request.last_seq or old.acked_through
        top = sent if bad is None else max(0, min(sent, bad - 1))
        new = Mark(answer["hq_epoch"], min(answer["acked_through"], top))
        if new.hq_epoch != old.hq_epoch and old.hq_epoch is not None:
            log.warning("HQ database changed (epoch %s -> %s): resending from seq %d",
                        old.hq_epoch, new.hq_epoch, new.acked_through + 1)
        elif new.acked_through < old.acked_through:
            log.warning("HQ holds less than it confirmed (seq %d, we had %d): resending",
                        new.acked_through, old.acked_through)
        progress = new != old
        alarm, hold, failures = None, False, 0
        self.refused_seq = bad if reply.status == 422 else None
        if reply.status == 422:  # permanent: the event is what it is in our log
            alarm = _msg(MALFORMED, seq=bad if bad is not None else request.first_seq,
                         detail=str(answer.get("error") or "")[:300])
            if bad is not None and bad > request.first_seq:
                delay = 0.0  # send what precedes it at once; the alarm stays until then
            else:
                hold, delay = True, self.alarm_retry
        elif reply.status == 409 or bad is not None:
            alarm = _msg(ALARMS[409], seq=bad if bad is not None else request.first_seq)
            hold, delay = True, self.alarm_retry
        elif new.acked_through >= self.store.last_seq:
            delay = self.idle_wait
        elif progress:
            delay = 0.0  # a backlog remains: go on at once
        else:  # HQ took nothing: do not spin
            failures = self.failures + 1
            delay = self.backoff_delay(failures)
        if alarm is not None:
            log.error("sync alarm: %s", describe(alarm))
        with self._guard:
            info = {**self._info, "online": True,
                    "last_success": _iso(now) if alarm is None else self._info["last_success"],
                    "last_attempt": _iso(now), "error": None, "alarm": alarm,
                    "next_attempt": _iso(now + delay) if delay else None}
        failpoint("kiosk:answer_received")
        try:
            self._save(new, info)
        except OSError as exc:
            return self._unknown(_msg(UNKNOWN["save"], detail=str(exc)[:200]), None, now)
        with self._guard:
            self.mark, self._info = new, info
        self.failures, self.last_delay, self.hold = failures, delay, hold
        return delay

    # -- outcomes -------------------------------------------------------------------
    def backoff_delay(self, failures: int, retry_after: float | None = None,
                      cap: float | None = None) -> float:
        """Full jitter: uniform(0, min(cap, base * 2**(failures-1))), at least Retry-After
        (honoured up to ``backoff_cap``); ``cap`` is ``retry_cap`` unless given."""
        top = min(self.retry_cap if cap is None else cap, self.backoff_cap)
        delay = self.rng.uniform(0, min(top, self.backoff_base * 2 ** min(failures - 1, 60)))
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_cap))
        return delay

    def _unknown(self, problem: dict, retry_after: float | None, now: float | None = None,
                 cap: float | None = None) -> float:
        """An unknown outcome: back off (a probe: within ``cap``, its interval)."""
        self.failures += 1
        now = self.clock() if now is None else now
        if cap is None:  # events wait: retried within retry_cap, HQ's return is seen fast
            delay = self.backoff_delay(self.failures, retry_after)
        else:
            delay = self.backoff_delay(self.failures, retry_after, self.backoff_cap)
            delay = max(min(delay, cap), min(retry_after or 0, self.backoff_cap))
        return self._record(now, delay, hold=retry_after is not None, online=False,
                            error=problem)

    def _unreachable(self, now: float, problem: dict, delay: float) -> None:
        """Log that HQ cannot be reached: a warning when it starts, then a line at most
        every OUTAGE_LOG_EVERY seconds while it lasts."""
        self._outage_tries += 1
        waiting = self.waiting
        reason = describe(problem)
        if self.unreachable_since is None:
            self.unreachable_since = self._outage_logged = now
            log.warning("HQ unreachable: %s Next try in %.0f s; %d events waiting",
                        reason, delay, waiting)
        elif now - self._outage_logged >= OUTAGE_LOG_EVERY:
            self._outage_logged = now
            log.info("HQ still unreachable after %.0f s and %d tries: %s Next try in %.0f s; "
                     "%d events waiting", now - self.unreachable_since, self._outage_tries,
                     reason, delay, waiting)

    def _reachable(self, now: float) -> None:
        """Log that HQ answers again after an outage (a verified answer or a refusal)."""
        if self.unreachable_since is None:
            return
        log.warning("HQ reachable again after %.0f s and %d tries: %d events to send now",
                    now - self.unreachable_since, self._outage_tries,
                    self.waiting)
        self.unreachable_since, self._outage_tries = None, 0

    def _alarm(self, now: float, alarm: dict, online: bool | None = None) -> float:
        log.error("sync alarm: %s", describe(alarm))
        fields = {"alarm": alarm} if online is None else {"alarm": alarm, "online": online}
        return self._record(now, self.alarm_retry, hold=True, **fields)

    def _record(self, now: float, delay: float, hold: bool = False, **fields) -> float:
        """Remember a round's outcome and when the next is due, and save it.

        Saved after every round, changed or not, so ``sync status`` (another process)
        never shows a next attempt in the past: one small atomic file write a round,
        a minute apart when idle, which is nothing for the disk."""
        self.last_delay, self.hold = delay, hold
        with self._guard:
            self._info.update(fields, next_attempt=_iso(now + delay) if delay else None)
            if fields:
                self._info["last_attempt"] = _iso(now)
            info = dict(self._info)
        try:
            self._save(self.mark, info)
        except OSError:
            log.exception("could not save the sync status")
        return delay

    def _save(self, mark: Mark, info: dict) -> None:
        """Write the mark and the status, with the settings in use (not the key) for
        ``sync status``, which cannot see the server's start options, and when
        (``saved_at``), so it can tell a stale status from a live one."""
        save_state(self.store.folder, mark, {**info, "settings": self.settings.public(),
                                             "saved_at": _iso(self.clock())})

    # -- status ---------------------------------------------------------------------
    def status(self) -> dict:
        """Return what the console and ``sync status`` show (never the key)."""
        with self._guard:
            info = dict(self._info)
        return {**info, **self.settings.public(), "configured": self.settings.configured,
                "running": self.running, "hq_epoch": self.mark.hq_epoch,
                "acked_through": self.mark.acked_through,
                "waiting": self.waiting}
