#!/usr/bin/env python3
"""Does submitting a ticket cost the same with 1,000 or 100,000 tickets of history?

For each size, a fresh data folder (under the system temp folder, removed at the end)
gets a realistic history from ``bench/_history.py``: the demo places (via
``create_app``), tickets reported over the past ~24 months written straight into the
event log in big batches, nearly all closed, plus an open backlog of ~300 recent
tickets (the same at both sizes); the projections are then built from the log by
``Store.rebuild()``. Each size is filled in its own fresh process.

Then one fresh process per size opens its data folder through ``create_app`` (like a
restarted kiosk) and walks the visitor flow with the Flask test client: category,
place, details, timing only the final ``POST /report/review`` (the submit), each with
a fresh draft: a few warm-ups, then ``SUBMITS`` timed submits, alternating between the
sizes so both see the same machine load.

Prints fill/open times and p50/p99 (ms, wall clock; thread CPU time too, which the
load of other processes on the machine disturbs less) per size and, last,
``submit p99 ratio 100k/1k: X``. Targets: X <= 1.5 and p99 <= 25 ms at 100k.

    python bench/store_scaling.py            # 1k and 100k, about 1-2 minutes
    python bench/store_scaling.py --sizes 1000,20000 --submits 100
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
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from _history import ROOT, child_args, config, fill, label, percentile, run_child  # noqa: E501 (bench/ is on sys.path, last)

WARMUPS = 5
SUBMITS = 200
STEP_TIMEOUT = 170          # seconds; every child process is killed past this


# -- measuring a submit ------------------------------------------------------------------
def submit(client, i: int) -> tuple[float, float]:
    """Walk one visitor entry; return the wall and CPU milliseconds of the submit alone."""
    r = client.post("/report", data={"category": "repair"})
    assert r.status_code == 303, r.status_code
    r = client.post("/report/place", data={"location": "DEMO-LIB"})
    assert r.status_code == 303, r.status_code
    r = client.post("/report/details", data={"description": f"bench ticket {i}: 灯坏了",
                                             "phone": "13812345678"})
    assert r.status_code == 303 and r.location.endswith("/report/review"), r.status_code
    t, c = time.perf_counter(), time.thread_time()
    r = client.post("/report/review")
    dt, dc = time.perf_counter() - t, time.thread_time() - c
    assert r.status_code == 303 and r.location.endswith("/report/receipt"), r.status_code
    return dt * 1000, dc * 1000


def serve_submits(data_dir: Path, warmups: int) -> None:
    """Open the store through the app, warm up, then submit once per "s" line on stdin."""
    from kiosk import create_app

    t0 = time.perf_counter()
    app = create_app(config(data_dir))
    open_s = time.perf_counter() - t0
    store = app.extensions["kiosk_store"]
    client = app.test_client()
    before = store.status()
    for i in range(warmups):
        submit(client, i)
    print(json.dumps({"open_s": open_s, "open_tickets": before["open_tickets"]}), flush=True)
    count = warmups
    for line in sys.stdin:
        if line.strip() != "s":
            break
        print("%.4f %.4f" % submit(client, count), flush=True)
        count += 1
    after = store.status()
    assert after["last_seq"] == before["last_seq"] + count, (before, after)
    store.close()
    print(json.dumps({"submitted": count, "open_tickets_after": after["open_tickets"]}),
          flush=True)


# -- driver ----------------------------------------------------------------------------
def measure_interleaved(dirs: dict[int, Path], warmups: int, submits: int) -> dict:
    """Time submits on every store, alternating between them (same machine load for all).

    Each store is served by its own fresh process (its own heap, like a restarted
    kiosk); the driver asks each in turn for one submit, order alternating per round.
    """
    procs = {n: subprocess.Popen(child_args(__file__, "--phase", "serve", "--dir", str(d),
                                            "--warmups", str(warmups)),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                 cwd=ROOT) for n, d in dirs.items()}
    killer = threading.Timer(STEP_TIMEOUT, lambda: [p.kill() for p in procs.values()])
    killer.start()
    try:
        info = {n: json.loads(p.stdout.readline()) for n, p in procs.items()}
        times: dict[int, list[float]] = {n: [] for n in procs}
        cpu: dict[int, list[float]] = {n: [] for n in procs}
        order = list(procs)
        for r in range(submits):
            for n in (order if r % 2 == 0 else order[::-1]):
                procs[n].stdin.write("s\n")
                procs[n].stdin.flush()
                wall, used = procs[n].stdout.readline().split()
                times[n].append(float(wall))
                cpu[n].append(float(used))
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
    for n, ms in times.items():
        ms.sort()
        cpu[n].sort()
        info[n].update(p50=statistics.median(ms), p99=percentile(ms, 0.99), max=ms[-1],
                       mean=statistics.fmean(ms), cpu_p50=statistics.median(cpu[n]),
                       cpu_p99=percentile(cpu[n], 0.99))
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000",
                        help="ticket counts, smallest first (default: %(default)s)")
    parser.add_argument("--submits", type=int, default=SUBMITS)
    parser.add_argument("--warmups", type=int, default=WARMUPS)
    parser.add_argument("--phase", choices=["fill", "serve"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--tickets", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "fill":
        print(json.dumps(fill(Path(args.dir), args.tickets)))
        return
    if args.phase == "serve":
        serve_submits(Path(args.dir), args.warmups)
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    try:
        dirs = {}
        for n in sizes:
            dirs[n] = tmp / f"data-{n}"
            f = run_child(__file__, "--phase", "fill", "--dir", str(dirs[n]),
                          "--tickets", str(n), timeout=STEP_TIMEOUT)
            print(f"{label(n):>5} tickets: {f['events']} events, {f['open']} open, "
                  f"{f['disk_mb']:.0f} MB on disk; generate {f['generate_s']:.1f} s, "
                  f"log {f['log_s']:.1f} s, Store.rebuild() {f['rebuild_s']:.1f} s "
                  f"(CPU {f['rebuild_cpu_s']:.1f} s), reopen {f['reopen_s']:.2f} s", flush=True)
        results = measure_interleaved(dirs, args.warmups, args.submits)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for n in sizes:
        m = results[n]
        print(f"{label(n):>5} app open {m['open_s']:.2f} s; submit (POST /report/review, "
              f"n={args.submits}, {m['open_tickets']}->{m['open_tickets_after']} open): "
              f"p50 {m['p50']:.2f} ms  p99 {m['p99']:.2f} ms  max {m['max']:.2f} ms  "
              f"mean {m['mean']:.2f} ms (CPU: p50 {m['cpu_p50']:.2f} ms  "
              f"p99 {m['cpu_p99']:.2f} ms)", flush=True)
    if len(sizes) >= 2:
        small, big = results[sizes[0]], results[sizes[-1]]
        print(f"submit CPU-time ratios {label(sizes[-1])}/{label(sizes[0])} (less sensitive to "
              f"machine load): p50 {big['cpu_p50'] / small['cpu_p50']:.2f}  "
              f"p99 {big['cpu_p99'] / small['cpu_p99']:.2f}")
        print(f"submit p99 ratio {label(sizes[-1])}/{label(sizes[0])}: "
              f"{big['p99'] / small['p99']:.2f}")


if __name__ == "__main__":
    main()
