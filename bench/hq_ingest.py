#!/usr/bin/env python3
"""How many events a second does ONE HQ process store while 100 sites push at once?

For each backend, PostgreSQL first (a throwaway cluster, ``tests/pg_cluster.py``, with
fsync and synchronous_commit turned back ON: a batch is durable before its answer, as in
production) then SQLite (a fresh ``--data`` folder, WAL, synchronous=FULL):

1. registers ``--sites`` sites (default 100) with their keys, straight through the store;
2. starts ONE real HQ process: ``python run.py hq --port P [--database URL]`` (waitress,
   ``--threads``), as in production;
3. lets ``--senders`` load processes (default 4), each with one thread per site it plays,
   push every site's signed batches of 100 events (the protocol's maximum) in seq order,
   each waiting for its answer before the next, as a kiosk does, until ``--events``
   (default 1,000,000) are stored. The chains (``_hq_sites.site_chain``: ticket lives
   through their procedures) and the signed request bodies (``sync.client.build``) are
   made BEFORE the clock starts, once, and sent to both backends: the load generator
   only writes prepared bytes and reads answers, so it leaves the 2 cores to HQ;
4. checks every answer (200, ``acked_through`` = the batch's last seq, every result
   ``stored``), then every site's chain through the store: all its events, seq 1..n,
   ``hq.chain.verify_site_chain`` clean.

Prints, per backend, events/s, batch latency p50/p99, the CPU of the HQ process (and of
PostgreSQL's processes), what limits the rate, and last
``hq ingest events/s on postgresql with 100 sites: X``. Target: X >= 10,000 (2 cores).

    python bench/hq_ingest.py                          # 1,000,000 events, both backends
    python bench/hq_ingest.py --events 50000 --sites 20     # a quick run
    python bench/hq_ingest.py --backends postgresql
"""
from __future__ import annotations

import os
import sys

# bench/queue.py must not shadow the standard library's ``queue``: this script's folder
# (sys.path[0]) goes last
BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != BENCH] + [BENCH]

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import _hq_sites  # noqa: E402
from _hq_server import HOST, start_hq, stop  # noqa: E402
from _history import percentile  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


# -- the load: sender processes, one thread per site ------------------------------------------
def _prepare(sites: list[tuple[str, str, str, int]], seed: int) -> dict[str, list]:
    """Return each site's signed requests (path, body, headers, last_seq) in seq order."""
    from sync import client, protocol
    from sync.state import Settings

    out = {}
    for site_id, key_id, secret, n in sites:
        events = _hq_sites.site_chain(site_id, n, seed + zlib.crc32(site_id.encode()))
        settings = Settings(f"http://{HOST}", site_id, key_id, secret)
        requests = []
        for i in range(0, n, protocol.MAX_BATCH_EVENTS):
            chunk = events[i:i + protocol.MAX_BATCH_EVENTS]
            r = client.build(settings, None, chunk, str(int(time.time())))
            requests.append((r.path, r.body, r.headers, r.last_seq, len(chunk)))
        out[site_id] = requests
    return out


def _push_site(port: int, requests: list, latencies: list, problems: list,
               resends: list) -> None:
    """Send a site's batches in order on one keep-alive connection, each after the last
    answer; record each batch's latency (ms) and any answer that is not all stored. A
    batch whose answer was lost is sent again, as a kiosk does: then its events may come
    back ``duplicate`` (stored by the lost try), never anything else."""
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        for path, body, headers, last_seq, count in requests:
            t0 = time.perf_counter()
            for attempt in range(5):
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                    answer = response.read()
                    break
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=120)
                    resends.append(repr(exc))
                    if attempt == 4:
                        problems.append(f"{path}: {exc!r}")
                        return
            latencies.append((time.perf_counter() - t0) * 1000)
            if response.status != 200:
                problems.append(f"{path} seq {last_seq}: HTTP {response.status} {answer[:200]!r}")
                return
            parsed = json.loads(answer)
            allowed = {"stored", "duplicate"} if attempt else {"stored"}
            if (parsed.get("acked_through") != last_seq
                    or any(r["result"] not in allowed for r in parsed["results"])
                    or len(parsed["results"]) != count):
                problems.append(f"{path} seq {last_seq}: {answer[:300]!r}")
                return
    finally:
        conn.close()


def sender(sites, seed, pipe) -> None:
    """A load process: prepare, say ready, then push to each port it is given."""
    prepared = _prepare(sites, seed)
    pipe.send(("ready", sum(len(r) for r in prepared.values())))
    while True:
        port = pipe.recv()
        if port is None:
            return
        latencies: list[float] = []
        problems: list[str] = []
        resends: list[str] = []
        threads = [threading.Thread(target=_push_site,
                                    args=(port, reqs, latencies, problems, resends))
                   for reqs in prepared.values()]
        pipe.recv()  # "go": every sender starts together
        c0 = time.process_time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        pipe.send((latencies, problems, resends, time.process_time() - c0))


# -- HQ and PostgreSQL ---------------------------------------------------------------------------
def cpu_seconds(pids) -> dict[int, float]:
    """Return the user + system CPU seconds each live process of ``pids`` used so far."""
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def cpu_since(before: dict[int, float], now: dict[int, float]) -> float:
    """CPU seconds used between two readings (a process started since counts whole)."""
    return sum(v - before.get(pid, 0.0) for pid, v in now.items())


def postgres_pids(cluster) -> list[int]:
    """The postmaster and every process it started (backends, writer, WAL writer)."""
    master = int((cluster.data / "postmaster.pid").read_text().split()[0])
    pids = [master]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def durable(url: str) -> None:
    """Turn the test cluster's durability back on: fsync, full pages, synchronous commit."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        for name in ("fsync", "full_page_writes", "synchronous_commit"):
            db.execute(f"ALTER SYSTEM SET {name} = on")
        db.execute("ALTER SYSTEM SET max_wal_size = '4GB'")  # fewer checkpoints mid-run
        db.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)
        shown = {n: db.execute(f"SHOW {n}").fetchone()[0]
                 for n in ("fsync", "synchronous_commit", "full_page_writes")}
    assert set(shown.values()) == {"on"}, shown


# -- one backend ----------------------------------------------------------------------------------
def run_backend(name: str, folder: Path, url: str | None, keys: dict, per_site: dict,
                senders: list, args, cluster=None) -> dict:
    from hq.database import open_store
    from hq.chain import verify_site_chain

    data = folder / f"hq-{name}"
    store = open_store(data, url)
    try:
        for site_id, (key_id, secret) in keys.items():
            store.add_site(site_id, f"Campus {site_id}", key_id, secret,
                           datetime.now(timezone.utc))
    finally:
        store.close()
    hq, port = start_hq(data, folder / f"hq-{name}.log", "--threads", str(args.threads),
                        *(["--database", url] if url else []))
    try:
        for proc, pipe in senders:
            pipe.send(port)
        cpu0 = cpu_seconds([hq.pid])
        pg0 = cpu_seconds(postgres_pids(cluster)) if cluster else {}
        t0 = time.perf_counter()
        for proc, pipe in senders:
            pipe.send("go")
        latencies, problems, resends, load_cpu = [], [], [], 0.0
        for proc, pipe in senders:
            lat, prob, again, cpu = pipe.recv()
            latencies += lat
            problems += prob
            resends += again
            load_cpu += cpu
        wall = time.perf_counter() - t0
        hq_cpu = cpu_since(cpu0, cpu_seconds([hq.pid]))  # the pool's backends still live:
        pg_cpu = cpu_since(pg0, cpu_seconds(postgres_pids(cluster))) if cluster else 0.0
    finally:
        stop(hq)
    if problems:
        raise SystemExit(f"{name}: {len(problems)} sites failed, e.g. {problems[:3]}")
    t1 = time.perf_counter()
    store = open_store(data, url)
    try:
        held = {s["site_id"]: s["events_received"] for s in store.sites()}
        assert held == per_site, "events_received differs from what was sent"
        for site_id, n in per_site.items():
            last = store.chain(site_id, n - 1, 5)
            assert [r[0] for r in last] == [n], (site_id, [r[0] for r in last])
            problems = verify_site_chain(store, site_id)
            assert not problems, (site_id, problems[:3])
    finally:
        store.close()
    verify_s = time.perf_counter() - t1
    total = sum(per_site.values())
    latencies.sort()
    return {"events": total, "wall": wall, "rate": total / wall, "batches": len(latencies),
            "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
            "hq_cpu": hq_cpu, "pg_cpu": pg_cpu, "load_cpu": load_cpu, "verify_s": verify_s,
            "resends": resends}


def explain_limit(name: str, r: dict) -> str:
    """Say what limited a run, from where the CPU went."""
    cores = os.cpu_count() or 2
    hq_share, db_share = r["hq_cpu"] / r["wall"], r["pg_cpu"] / r["wall"]
    busy = (r["hq_cpu"] + r["pg_cpu"] + r["load_cpu"]) / r["wall"]
    where = (f"HQ process {hq_share:.2f} cores, PostgreSQL {db_share:.2f} cores, load "
             f"generator {r['load_cpu'] / r['wall']:.2f} cores, of {cores}")
    if hq_share > 0.75:
        why = ("HQ's one Python process (the GIL: parsing, signature and hash checks, the "
               "fold of each event run on one core at a time)")
    elif busy > cores * 0.85:
        why = "the machine's CPU, shared by HQ, the database and the load generator"
    else:
        why = ("waiting, not CPU: each batch's commit (fsync of the WAL or of SQLite's file) "
               "and, on SQLite, one writer at a time")
    return f"{name}: limited by {why}; {where}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--senders", type=int, default=4, help="load processes")
    parser.add_argument("--threads", type=int, default=8, help="HQ's waitress threads")
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b]

    from sync import protocol

    tmp = Path(tempfile.mkdtemp(prefix="hq-ingest-"))
    cluster, senders = None, []
    try:
        cluster_url = None
        if "postgresql" in backends:
            from pg_cluster import Cluster, find_server

            reason = find_server()
            if reason:
                raise SystemExit(f"PostgreSQL cannot run here: {reason}")
            cluster = Cluster.start()  # its own folder, which the server user can reach
            cluster_url = cluster.create_database("hq_bench")
            durable(cluster.url())
        sites = [f"site-{i:03d}" for i in range(args.sites)]
        keys = {s: protocol.new_key() for s in sites}
        base, extra = divmod(args.events, args.sites)
        per_site = {s: base + (i < extra) for i, s in enumerate(sites)}
        t0 = time.perf_counter()
        ctx = multiprocessing.get_context("fork")
        for k in range(args.senders):
            mine = [(s, *keys[s], per_site[s]) for s in sites[k::args.senders]]
            here, there = ctx.Pipe()
            proc = ctx.Process(target=sender, args=(mine, 1000 + k, there), daemon=True)
            proc.start()
            senders.append((proc, here))
        batches = sum(pipe.recv()[1] for _, pipe in senders)
        print(f"prepared before timing: {args.sites} sites, {args.events:,} events in "
              f"{batches:,} signed batches, in {time.perf_counter() - t0:.1f} s "
              f"({args.senders} load processes)", flush=True)
        results = {}
        for name in backends:
            url = cluster_url if name == "postgresql" else None
            r = results[name] = run_backend(name, tmp, url, keys, per_site, senders, args,
                                            cluster if url else None)
            db_cpu = f", PostgreSQL CPU {r['pg_cpu']:.1f} s" if url else ""
            print(f"{name}: {r['events']:,} events from {args.sites} sites in {r['wall']:.1f} s "
                  f"= {r['rate']:,.0f} events/s; batch of 100 latency p50 {r['p50']:.0f} ms, "
                  f"p99 {r['p99']:.0f} ms ({r['batches']:,} batches); HQ process CPU "
                  f"{r['hq_cpu']:.1f} s ({r['hq_cpu'] / r['wall'] * 100:.0f}% of one core)"
                  f"{db_cpu}; every chain complete and verified ({r['verify_s']:.1f} s)",
                  flush=True)
            if r["resends"]:
                print(f"  {len(r['resends'])} batches sent again after a lost answer (then "
                      f"acknowledged as duplicates, stored once), e.g. {r['resends'][0]}")
            print("  " + explain_limit(name, r), flush=True)
        for _, pipe in senders:
            pipe.send(None)
        if "postgresql" in results:
            print(f"hq ingest events/s on postgresql with {args.sites} sites: "
                  f"{results['postgresql']['rate']:.0f}")
        return 0
    finally:
        for proc, _ in senders:
            if proc.is_alive():
                proc.terminate()
        if cluster is not None:
            cluster.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
