"""Submit visitor reports through the real HTTP flow as fast as possible (stdlib only).

Run by ``tests/test_crash.py`` as its own process while the server is killed again and
again. Each round starts a fresh session: ``GET /`` for the cookie and the CSRF token,
then the category, place, details and review steps, then the receipt, whose status link
carries the ticket's token. Only after that whole answer is a token appended to the
output file (flushed and fsynced line by line): a recorded token is a promise the
server made, which must survive any crash. When the answer to the final "send" or to
the receipt is lost (the connection drops), the same request is sent again with the
same cookie, as a browser does, until an answer comes (at most ``--resend-seconds``):
the receipt of the same entry, stored once. On any other error the round is abandoned
and, after a short pause, a new one starts, until the stop file appears or time runs
out. While the hold file exists no new round starts (the test is checking the tokens).

    python tests/crash_submitter.py --port 8080 --out tokens.txt --stop stop.flag
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import sys
import time
from http.cookies import SimpleCookie
from urllib.parse import urlencode

HOST = "127.0.0.1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STATUS_LINK = re.compile(r'href="/t/([A-Za-z0-9_-]{20,64})"')


class FlowError(Exception):
    """The server answered, but not as the flow expects."""


def expect_redirect(path: str, answer: tuple[int, dict, str], target: str) -> None:
    """Raise FlowError unless the answer to a POST to ``path`` is a 303 to ``target``."""
    status, headers, _ = answer
    location = headers.get("Location", "")
    if status != 303 or not location.endswith(target):
        raise FlowError(f"POST {path}: {status} -> {location!r}, expected 303 -> {target}")


class Session:
    """One visitor: a keep-alive connection and the session cookie."""

    def __init__(self, port: int, timeout: float):
        self.port, self.timeout = port, timeout
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        self.cookies: dict[str, str] = {}

    def reconnect(self) -> None:
        """Drop the connection; the next request opens a new one (cookies kept)."""
        self.conn.close()
        self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, str]:
        headers = {"Host": f"{HOST}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for raw in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        return response.status, dict(response.headers), text

    def post_expect(self, path: str, form: dict, target: str) -> None:
        expect_redirect(path, self.request("POST", path, form), target)

    def close(self) -> None:
        self.conn.close()


def surely(session: Session, method: str, path: str, form: dict | None, seconds: float,
           pause: float, counts: dict) -> tuple[int, dict, str]:
    """Send a request; if its answer is lost, send it again on a new connection (the
    server may be restarting) until one comes, for at most ``seconds`` (0: never)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return session.request(method, path, form)
        except (OSError, http.client.HTTPException):
            if time.monotonic() >= deadline:
                raise
            time.sleep(pause)
        session.reconnect()
        counts["resent"] = counts.get("resent", 0) + 1


def submit_once(port: int, timeout: float, n: int, resend_seconds: float = 0.0,
                pause: float = 0.02, counts: dict | None = None) -> str:
    """Walk the whole flow once; return the status token the receipt links to.

    With ``resend_seconds`` > 0, the final POST and the receipt are sent again when
    their answer is lost.
    """
    counts = {} if counts is None else counts
    session = Session(port, timeout)
    try:
        status, _, html = session.request("GET", "/")
        match = CSRF.search(html)
        if status != 200 or not match:
            raise FlowError(f"GET /: {status}, csrf token {'found' if match else 'missing'}")
        csrf = match.group(1)
        session.post_expect("/report", {"csrf_token": csrf, "category": "repair"},
                            "/report/place")
        session.post_expect("/report/place", {"csrf_token": csrf, "location": "DEMO-LIB"},
                            "/report/details")
        session.post_expect("/report/details",
                            {"csrf_token": csrf, "description": f"Crash test report {n}",
                             "name": "", "phone": "13812345678", "preferred_at": ""},
                            "/report/review")
        expect_redirect("/report/review", surely(session, "POST", "/report/review",
                                                 {"csrf_token": csrf}, resend_seconds, pause,
                                                 counts), "/report/receipt")
        status, _, html = surely(session, "GET", "/report/receipt", None, resend_seconds, pause,
                                 counts)
        match = STATUS_LINK.search(html)
        if status != 200 or not match:
            raise FlowError(f"GET /report/receipt: {status}, "
                            f"status link {'found' if match else 'missing'}")
        return match.group(1)
    finally:
        session.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True, help="file the confirmed tokens go to")
    parser.add_argument("--stop", required=True, help="stop once this file exists")
    parser.add_argument("--stats", help="write counts here (JSON) when stopping")
    parser.add_argument("--timeout", type=float, default=2.0, help="per request, seconds")
    parser.add_argument("--hold", help="start no new round while this file exists")
    parser.add_argument("--retry-pause", type=float, default=0.02,
                        help="after an error, seconds")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="hard stop")
    parser.add_argument("--resend-seconds", type=float, default=10.0,
                        help="resend a lost final POST or receipt for this long (0: never)")
    args = parser.parse_args(argv)

    deadline = time.monotonic() + args.max_seconds
    counts = {"ok": 0, "connection_errors": 0, "flow_errors": 0, "resent": 0}
    last_flow_error = ""
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        n = 0
        while not os.path.exists(args.stop) and time.monotonic() < deadline:
            if args.hold and os.path.exists(args.hold):
                time.sleep(0.005)  # the test is checking the tokens recorded so far
                continue
            n += 1
            try:
                token = submit_once(args.port, args.timeout, n, args.resend_seconds,
                                    args.retry_pause, counts)
            except (OSError, http.client.HTTPException):  # refused, reset, timed out
                counts["connection_errors"] += 1
                time.sleep(args.retry_pause)
                continue
            except Exception as exc:  # a wrong answer (FlowError) or anything unforeseen:
                counts["flow_errors"] += 1  # counted and told, never fatal
                last_flow_error = f"{type(exc).__name__}: {exc}"
                print(f"round {n}: {last_flow_error}", file=sys.stderr, flush=True)
                time.sleep(args.retry_pause)
                continue
            os.write(fd, f"{token}\n".encode())
            os.fsync(fd)
            counts["ok"] += 1
    finally:
        os.close(fd)
        if args.stats:
            with open(args.stats, "w") as f:
                json.dump({**counts, "last_flow_error": last_flow_error}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
