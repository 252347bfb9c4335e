"""Test-only crash points of the sync worker, HQ and the kiosk's submit path
(``tests/test_sync_faults.py``, ``tests/test_resend.py``).

With ``FRONTDESK_FAILPOINT=<step>`` in a process's environment, ``failpoint(step)``
SIGKILLs that process the Nth time it reaches ``<step>`` (N = ``FRONTDESK_FAILPOINT_AFTER``,
default 1), so a test can crash it at an exact moment of an exchange. Steps:

- ``kiosk:batch_built``      the worker read and signed a batch, nothing sent yet
- ``kiosk:request_sent``     the request is sent, its answer not read yet
- ``kiosk:answer_received``  a verified answer is in hand, the acked mark not saved yet
- ``hq:before_commit``       HQ judged and wrote a batch, its transaction not committed
- ``hq:after_commit``        HQ committed a batch, its answer not sent yet
- ``kiosk:after_submit``     a report is logged (``service.submit_report``), not answered yet

The environment is read once at import; unset (always, outside tests) a call is one
comparison with None.
"""
from __future__ import annotations

import os
import signal

ARMED = os.environ.get("FRONTDESK_FAILPOINT") or None
_AFTER = int(os.environ.get("FRONTDESK_FAILPOINT_AFTER") or 1)
_hits = 0


def failpoint(step: str) -> None:
    """SIGKILL this process if ``step`` is the armed one, reached for the Nth time."""
    global _hits
    if ARMED is None or step != ARMED:
        return
    _hits += 1
    if _hits >= _AFTER:
        os.kill(os.getpid(), signal.SIGKILL)
