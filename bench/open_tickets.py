#!/usr/bin/env python3
"""Does the public status page cost the same with 100 or 10,000 open tickets?

For each size, a fresh data folder (under the system temp folder, removed at the end)
gets a realistic history from ``bench/_history.py``: the demo places, 100,000 closed
tickets reported over the past ~24 months, and an open backlog of 100, then 10,000,
tickets at every stage of their life; the projections are built from the log by
``Store.rebuild()``. Each size is filled in its own fresh process.

Then one fresh process per size opens its data folder through ``create_app`` (like a
restarted kiosk) and, with the Flask test client, times the public status page
(``GET /t/<token>`` of an open ticket picked at random) and the submit of one more
ticket (``POST /report/review``, after walking category, place and details with a
fresh draft), alternating between the sizes so both see the same machine load.

Prints p50/p99 (ms, wall clock; thread CPU time too) of each at both sizes and, last,
``status page p99 ratio 10k/100 open: X``. Targets: X <= 1.5, and the status page's
p99 <= 10 ms at 10,000 open.

    python bench/open_tickets.py             # 100 and 10k open, about 2 minutes
    python bench/open_tickets.py --open 100,2000 --closed 20000 --pages 300 --submits 50
"""
from __future__ import annotations

import os
import sys

# bench/queue.py must not shadow the standard library's ``queue`` for anything this script
# imports: the script's own folder (sys.path[0]) goes last, after the standard library
BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != BENCH] + [BENCH]

import argparse
import json
import random
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from _history import ROOT, child_args, config, fill, label, percentile, run_child  # noqa: E501 (bench/ is on sys.path, last)
from store_scaling import submit as submit_one

CLOSED = 100_000
WARMUPS = 20
PAGES = 2000                # status pages timed per size
SUBMITS = 200               # submits timed per size
BURST = 10                  # status pages asked of a server process at a time
STEP_TIMEOUT = 170          # seconds; every child process is killed past this


# -- measuring -------------------------------------------------------------------------
def status_page(client, token: str) -> tuple[float, float]:
    """Fetch one public status page; return its wall and CPU milliseconds."""
    t, c = time.perf_counter(), time.thread_time()
    r = client.get(f"/t/{token}")
    dt, dc = time.perf_counter() - t, time.thread_time() - c
    assert r.status_code == 200, r.status_code
    return dt * 1000, dc * 1000


def serve(data_dir: Path, warmups: int) -> None:
    """Open the store through the app, warm up, then answer the driver's lines on stdin:
    ``p`` times ``BURST`` status pages, ``s`` one submit; each line answered with the
    timings, ``wall cpu`` pairs."""
    from kiosk import create_app

    t0 = time.perf_counter()
    app = create_app(config(data_dir))
    open_s = time.perf_counter() - t0
    store = app.extensions["kiosk_store"]
    client = app.test_client()
    tokens = [t["token"] for t in store.open_summaries()]
    rng = random.Random(7)
    before = store.status()
    for i in range(warmups):
        submit_one(client, i)
        status_page(client, rng.choice(tokens))
    print(json.dumps({"open_s": open_s, "open_tickets": before["open_tickets"]}), flush=True)
    count = warmups
    for line in sys.stdin:
        if line.strip() == "p":
            times = [status_page(client, rng.choice(tokens)) for _ in range(BURST)]
        elif line.strip() == "s":
            times = [submit_one(client, count)]
            count += 1
        else:
            break
        print(" ".join("%.4f %.4f" % t for t in times), flush=True)
    after = store.status()
    assert after["last_seq"] == before["last_seq"] + count, (before, after)
    store.close()
    print(json.dumps({"submitted": count, "open_tickets_after": after["open_tickets"]}),
          flush=True)


# -- driver ----------------------------------------------------------------------------
def summary(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {"p50": statistics.median(ms), "p99": percentile(ms, 0.99), "max": ms[-1]}


def measure_interleaved(dirs: dict[int, Path], warmups: int, pages: int,
                        submits: int) -> dict:
    """Time status pages and submits on every store, alternating between them.

    Each store is served by its own fresh process; the driver asks each in turn for a
    burst of status pages (and, every few rounds, one submit), order alternating per round.
    """
    procs = {n: subprocess.Popen(child_args(__file__, "--phase", "serve", "--dir", str(d),
                                            "--warmups", str(warmups)),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                 cwd=ROOT) for n, d in dirs.items()}
    killer = threading.Timer(STEP_TIMEOUT, lambda: [p.kill() for p in procs.values()])
    killer.start()
    kinds = ("page", "page_cpu", "submit", "submit_cpu")
    times = {n: {k: [] for k in kinds} for n in procs}

    def ask(n: int, what: str) -> None:
        procs[n].stdin.write(what + "\n")
        procs[n].stdin.flush()
        values = [float(v) for v in procs[n].stdout.readline().split()]
        kind = "page" if what == "p" else "submit"
        times[n][kind] += values[0::2]
        times[n][kind + "_cpu"] += values[1::2]

    try:
        info = {n: json.loads(p.stdout.readline()) for n, p in procs.items()}
        order = list(procs)
        rounds = max(-(-pages // BURST), submits)
        for r in range(rounds):
            for n in (order if r % 2 == 0 else order[::-1]):
                if r * BURST < pages:
                    ask(n, "p")
                if r * submits // rounds != (r + 1) * submits // rounds:
                    ask(n, "s")
        for n, p in procs.items():
            p.stdin.close()
            info[n].update(json.loads(p.stdout.readline()))
            if p.wait(timeout=60):
                raise SystemExit(f"bench: the {label(n)} server process failed")
    except (ValueError, json.JSONDecodeError):
        raise SystemExit("bench: a server process died or timed out (see its stderr above)")
    finally:
        killer.cancel()
        for p in procs.values():
            if p.poll() is None:
                p.kill()
    for n in procs:
        info[n].update({k: summary(v) for k, v in times[n].items()},
                       pages=len(times[n]["page"]), submits=len(times[n]["submit"]))
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", default="100,10000",
                        help="open tickets, smallest first (default: %(default)s)")
    parser.add_argument("--closed", type=int, default=CLOSED,
                        help="closed tickets of history (default: %(default)s)")
    parser.add_argument("--pages", type=int, default=PAGES)
    parser.add_argument("--submits", type=int, default=SUBMITS)
    parser.add_argument("--warmups", type=int, default=WARMUPS)
    parser.add_argument("--phase", choices=["fill", "serve"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--tickets", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--backlog", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "fill":
        print(json.dumps(fill(Path(args.dir), args.tickets, open_backlog=args.backlog)))
        return
    if args.phase == "serve":
        serve(Path(args.dir), args.warmups)
        return

    sizes = [int(s) for s in args.open.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    try:
        dirs = {}
        for n in sizes:
            dirs[n] = tmp / f"data-{n}"
            f = run_child(__file__, "--phase", "fill", "--dir", str(dirs[n]),
                          "--tickets", str(args.closed + n), "--backlog", str(n),
                          timeout=STEP_TIMEOUT)
            print(f"{label(n):>5} open: {f['open']} open of {args.closed + n} tickets, "
                  f"{f['events']} events, {f['disk_mb']:.0f} MB on disk; "
                  f"filled in {f['generate_s'] + f['log_s'] + f['rebuild_s']:.1f} s, "
                  f"reopen {f['reopen_s']:.2f} s", flush=True)
        results = measure_interleaved(dirs, args.warmups, args.pages, args.submits)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for n in sizes:
        m = results[n]
        print(f"{label(n):>5} open (app open {m['open_s']:.2f} s): "
              f"status page (GET /t/<token>, n={m['pages']}): p50 {m['page']['p50']:.2f} ms  "
              f"p99 {m['page']['p99']:.2f} ms  max {m['page']['max']:.2f} ms "
              f"(CPU p50 {m['page_cpu']['p50']:.2f}  p99 {m['page_cpu']['p99']:.2f})", flush=True)
        print(f"{label(n):>5} open: submit (POST /report/review, n={m['submits']}, "
              f"{m['open_tickets']}->{m['open_tickets_after']} open): "
              f"p50 {m['submit']['p50']:.2f} ms  p99 {m['submit']['p99']:.2f} ms  "
              f"max {m['submit']['max']:.2f} ms (CPU p50 {m['submit_cpu']['p50']:.2f}  "
              f"p99 {m['submit_cpu']['p99']:.2f})", flush=True)
    if len(sizes) >= 2:
        small, big = results[sizes[0]], results[sizes[-1]]
        print(f"submit p99 ratio {label(sizes[-1])}/{label(sizes[0])} open: "
              f"{big['submit']['p99'] / small['submit']['p99']:.2f}")
        print(f"status page p99 ratio {label(sizes[-1])}/{label(sizes[0])} open: "
              f"{big['page']['p99'] / small['page']['p99']:.2f}")


if __name__ == "__main__":
    main()
