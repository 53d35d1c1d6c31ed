"""Load and crash test of the web service on loopback.

1. Builds a clinic (one therapist, ``--clients`` clients, one form link per submission) in
   a fresh database (SQLite in a temporary folder, or ``--db`` PostgreSQL URL).
2. Starts the server (uvicorn, a subprocess on 127.0.0.1 and a free port, ``--workers``
   processes).
3. Load client: asyncio with httpx.AsyncClient, ``--concurrency`` connections (default 50)
   split over one or more client processes. First the bare ``/api/v1/health`` endpoint
   (touches nothing), the framework reference, from 1, 2 and 4 client processes; then form
   submissions from the process count that was fastest on /health. Prints throughput and
   p50/p99 latency for both, and their ratio, measured in the same run. On /health even
   four httpx processes are the bottleneck on a small machine (the server spends about
   0.4 ms of CPU per request), so /health is also measured with wrk, a C load client, when
   it is installed, and the ratio against that is printed too; so is the server's CPU time
   per request, which moves least with whatever else the machine runs.
4. Crash test: starts a second load, SIGKILLs the server mid-load, restarts it, and checks
   that every acknowledged submission (201 with a receipt) is present with its items and
   the same receipt, that none is duplicated, and that every submission in flight was
   stored completely or not at all.

Run: ``python benchmarks/web_load.py`` (``--help`` for the bounds). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ANSWERS = {
    "phq9": {str(i): (i % 3) for i in range(1, 9)} | {"9": 0},
    "sac": {"1": 4, "2": 4, "3": 3, "4": 4, "5": 3, "6": 4, "7": 1, "8": 3, "9": 0, "10": 1},
}
ITEMS_PER_FORM = 19


@dataclass
class Run:
    """Latencies (seconds) and outcomes of one load run."""

    latencies: list[float]
    statuses: list[int]
    wall: float

    def line(self, name: str) -> str:
        ordered = sorted(self.latencies)
        p50 = statistics.median(ordered) if ordered else float("nan")
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan")
        rate = len(ordered) / self.wall if self.wall else float("nan")
        return (
            f"{name:<22} {len(ordered):>6} req  {rate:8.1f} req/s  "
            f"p50 {p50 * 1000:8.1f} ms  p99 {p99 * 1000:8.1f} ms"
        )

    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall else float("nan")


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM (graceful), then SIGKILL if it has not stopped within a minute."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_clinic(url: str, clients: int, forms: int) -> list[str]:
    """A clinic with one therapist and ``forms`` open form links spread over ``clients``."""
    from bordin.storage import (
        actions,
        make_engine,
        make_session_factory,
        transaction,
        upgrade_database,
    )

    upgrade_database(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    tokens: list[str] = []
    with transaction(factory) as db:
        clinic = actions.create_clinic(db, actor=None, name="Load test clinic")
        therapist = actions.create_user(
            db,
            actor=None,
            clinic_id=clinic.id,
            username="load@bench",
            password=secrets.token_urlsafe(16),
            role="therapist",
        )
        ids = [
            actions.create_client(db, actor=therapist, code=f"c{i:04d}").id for i in range(clients)
        ]
        for n in range(forms):
            session = actions.create_session(db, actor=therapist, client_id=ids[n % clients])
            _, token = actions.create_form_request(
                db, actor=therapist, session_id=session.id, instruments=["phq9", "sac"]
            )
            tokens.append(token)
    engine.dispose()
    return tokens


def wrk_health(base: str, concurrency: int, seconds: float = 8.0) -> float | None:
    """``/health`` throughput measured with wrk (a C load client, far from being the
    bottleneck), or None when wrk is not installed (Debian package ``wrk``)."""
    if shutil.which("wrk") is None:
        return None
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", f"{base}/api/v1/health"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(f"unexpected wrk output:\n{out}")


def server_pids(server: subprocess.Popen[bytes]) -> list[int]:
    """The server process and its worker processes (uvicorn ``--workers``)."""
    pids = [server.pid]
    for task in Path(f"/proc/{server.pid}/task").glob("*/children"):
        pids += [int(pid) for pid in task.read_text().split()]
    return pids


def server_cpu_seconds(server: subprocess.Popen[bytes]) -> float:
    """CPU time (user + system) the server's processes have used so far (Linux /proc).

    Throughput on a shared machine moves with whatever else runs; the server's CPU time
    per request does much less, so it is printed beside the rates.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in server_pids(server):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def kill_server(server: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server and, with several workers, every worker process too."""
    workers = server_pids(server)[1:]
    server.send_signal(signal.SIGKILL)
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def start_server(url: str, port: int, log: Path, *, workers: int = 1) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "BORDIN_DATABASE_URL": url,
        "BORDIN_SECRET_KEY": secrets.token_urlsafe(32),
        "BORDIN_TOKEN_RATE_LIMIT": "1000000",
        "BORDIN_BASE_URL": f"http://127.0.0.1:{port}",
    }
    handle = log.open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bordin.web:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    handle.close()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the server did not start; see {log}")


async def _load(
    base: str,
    requests: list[tuple[str, str, dict | None]],
    concurrency: int,
    time_limit: float,
    acknowledged: dict[str, dict] | None = None,
    counter: Any = None,
) -> tuple[list[float], list[int], float, float]:
    """Run ``requests`` over ``concurrency`` connections; return latencies, statuses and
    the wall-clock start and end (``time.time``)."""
    queue: asyncio.Queue[tuple[str, str, dict | None]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    latencies: list[float] = []
    statuses: list[int] = []
    stop = time.monotonic() + time_limit
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:

        async def worker() -> None:
            while time.monotonic() < stop:
                try:
                    method, path, body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                try:
                    response = await client.request(method, path, json=body)
                except httpx.TransportError:
                    statuses.append(0)
                    continue
                latencies.append(time.perf_counter() - started)
                statuses.append(response.status_code)
                if acknowledged is not None and response.status_code == 201:
                    acknowledged[path.rsplit("/", 1)[1]] = response.json()
                    if counter is not None:
                        with counter.get_lock():
                            counter.value += 1

        began = time.time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        ended = time.time()
    return latencies, statuses, began, ended


def _load_process(
    base: str,
    requests: list[tuple[str, str, dict | None]],
    concurrency: int,
    time_limit: float,
    collect: bool,
    barrier: Any,
    counter: Any,
    results: Any,
) -> None:
    """One load-client process: wait for the others, run, send back what it saw."""
    acknowledged: dict[str, dict] | None = {} if collect else None
    barrier.wait()
    outcome = asyncio.run(_load(base, requests, concurrency, time_limit, acknowledged, counter))
    results.put((*outcome, acknowledged or {}))


def load(
    base: str,
    requests: list[tuple[str, str, dict | None]],
    concurrency: int,
    time_limit: float,
    acknowledged: dict[str, dict] | None = None,
    *,
    processes: int = 1,
    counter: Any = None,
) -> Run:
    """Run the load from ``processes`` client processes (``concurrency`` connections in
    all), so that the client is not what limits the throughput; the wall time runs from
    the first process's start to the last one's end.

    ``counter`` (a ``multiprocessing.Value``) counts acknowledged submissions as they come.
    """
    context = multiprocessing.get_context("spawn")
    processes = max(1, min(processes, concurrency, len(requests) or 1))
    barrier = context.Barrier(processes)
    results = context.Queue()
    workers = []
    for index in range(processes):
        share = requests[index::processes]
        connections = concurrency // processes + (1 if index < concurrency % processes else 0)
        worker = context.Process(
            target=_load_process,
            args=(
                base,
                share,
                connections,
                time_limit,
                acknowledged is not None,
                barrier,
                counter,
                results,
            ),
        )
        worker.start()
        workers.append(worker)
    latencies: list[float] = []
    statuses: list[int] = []
    starts: list[float] = []
    ends: list[float] = []
    for _ in workers:
        seen, codes, began, ended, acked = results.get()
        latencies += seen
        statuses += codes
        starts.append(began)
        ends.append(ended)
        if acknowledged is not None:
            acknowledged.update(acked)
    for worker in workers:
        worker.join()
    return Run(latencies, statuses, max(ends) - min(starts))


def check_after_crash(
    url: str, acknowledged: dict[str, dict], attempted: list[str], base: str
) -> None:
    """Every acknowledged submission is stored once with its receipt; nothing is partial."""
    from sqlalchemy import func, select

    from bordin.storage import make_engine, make_session_factory
    from bordin.storage.credentials import hash_token
    from bordin.storage.models import FormRequest, ItemResponse

    engine = make_engine(url)
    factory = make_session_factory(engine)
    problems: list[str] = []
    with factory() as db:
        counts = dict(
            db.execute(
                select(ItemResponse.form_request_id, func.count()).group_by(
                    ItemResponse.form_request_id
                )
            ).all()
        )
        for token in attempted:
            request = db.scalar(
                select(FormRequest).where(FormRequest.token_hash == hash_token(token))
            )
            if request is None:
                problems.append("a form request vanished")
                continue
            stored = counts.get(request.id, 0)
            if token in acknowledged:
                if request.receipt != acknowledged[token]:
                    problems.append(f"form {request.id}: receipt differs from the acknowledged one")
                if stored != ITEMS_PER_FORM:
                    problems.append(
                        f"form {request.id}: {stored} items stored, expected {ITEMS_PER_FORM}"
                    )
            elif stored not in (0, ITEMS_PER_FORM) or (stored == 0) != (
                request.submitted_at is None
            ):
                problems.append(f"form {request.id}: partial write ({stored} items)")
        duplicates = db.scalar(
            select(func.count()).select_from(
                select(ItemResponse.session_id, ItemResponse.instrument, ItemResponse.item)
                .group_by(ItemResponse.session_id, ItemResponse.instrument, ItemResponse.item)
                .having(func.count() > 1)
                .subquery()
            )
        )
        if duplicates:
            problems.append(f"{duplicates} duplicated item responses")
    engine.dispose()
    # A repeated submission of an acknowledged form answers 409 with the same receipt.
    sample = list(acknowledged)[:20]
    for token in sample:
        again = httpx.post(f"{base}/api/v1/forms/{token}", json={"answers": ANSWERS}, timeout=30)
        if again.status_code != 409 or again.json()["error"]["receipt"] != acknowledged[token]:
            problems.append("a repeated submission did not return the first receipt")
    if problems:
        raise SystemExit("CRASH TEST FAILED:\n  " + "\n  ".join(problems[:20]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="PostgreSQL URL (default: a temporary SQLite file).")
    parser.add_argument("--workers", type=int, default=1, help="Server worker processes.")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--client-processes",
        default="1,2,4",
        help="Load-client process counts to try on /health; the fastest is used throughout.",
    )
    parser.add_argument("--health-requests", type=int, default=4000)
    parser.add_argument("--submissions", type=int, default=400)
    parser.add_argument("--crash-submissions", type=int, default=150)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--time-limit",
        type=float,
        default=300.0,
        help="Seconds per load run (no new requests after).",
    )
    parser.add_argument(
        "--kill-after", type=int, default=10, help="Acknowledged submissions before SIGKILL."
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bordin-load-"))
    url = args.db or f"sqlite:///{folder / 'load.sqlite'}"
    log = folder / "server.log"
    total = args.submissions + args.crash_submissions
    started = time.perf_counter()
    tokens = build_clinic(url, args.clients, total)
    print(
        f"clinic built: {args.clients} clients, {total} form links "
        f"in {time.perf_counter() - started:.1f} s"
    )
    print(
        f"database: {url.split('@')[-1]}; {args.workers} server worker(s); "
        f"concurrency {args.concurrency}; loopback only\n"
    )

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(url, port, log, workers=args.workers)
    health_paths = [("GET", "/api/v1/health", None)] * args.health_requests
    try:
        load(base, health_paths[: args.concurrency * 4], args.concurrency, args.time_limit)
        # Is the load client the bottleneck? The same /health load from 1, 2, 4 processes.
        by_processes: dict[int, Run] = {}
        cpu: dict[int, float] = {}
        for count in (int(c) for c in args.client_processes.split(",")):
            before = server_cpu_seconds(server)
            by_processes[count] = load(
                base, health_paths, args.concurrency, args.time_limit, processes=count
            )
            cpu[count] = server_cpu_seconds(server) - before
            print(by_processes[count].line(f"/health, {count} client proc"))
        processes = max(by_processes, key=lambda c: by_processes[c].throughput())
        wrk_rate = wrk_health(base, args.concurrency)
        health = by_processes[processes]
        forms = [
            ("POST", f"/api/v1/forms/{t}", {"answers": ANSWERS}) for t in tokens[: args.submissions]
        ]
        acknowledged: dict[str, dict] = {}
        before = server_cpu_seconds(server)
        submit = load(
            base, forms, args.concurrency, args.time_limit, acknowledged, processes=processes
        )
        submit_cpu = server_cpu_seconds(server) - before
    finally:
        stop(server)
    print(f"\nwith {processes} load-client process(es), the fastest on /health:")
    print(health.line("bare /api/v1/health"))
    print(submit.line("form submissions"))
    counts = Counter(submit.statuses)
    print(
        "submission statuses: " + ", ".join(f"{n} x {code}" for code, n in sorted(counts.items()))
    )
    if counts.get(503):
        print("  (503: the request waited longer than the SQLite queue timeout and was shed)")
    bad = [code for code in counts if code not in (201, 503)]
    print(
        "ratio (submissions / bare endpoint throughput): "
        f"{submit.throughput() / health.throughput():.3f}"
    )
    if wrk_rate is not None:
        print(
            f"bare /api/v1/health with wrk (a C client): {wrk_rate:.1f} req/s; "
            f"ratio against it: {submit.throughput() / wrk_rate:.3f}"
        )
    else:
        print("(wrk is not installed: the ratio against a C load client is not measured)")
    health_ms = 1000 * cpu[processes] / max(1, len(health.latencies))
    submit_ms = 1000 * submit_cpu / max(1, len(submit.latencies))
    print(
        f"server CPU per request: /health {health_ms:.2f} ms, submission {submit_ms:.2f} ms "
        f"(ratio {health_ms / submit_ms:.3f}; steadier than the rates on a busy machine)\n"
    )
    if bad:
        raise SystemExit(f"unexpected statuses during the load: {sorted(bad)}")

    # Crash test: SIGKILL mid-load, restart, check.
    crash_tokens = tokens[args.submissions :]
    if not crash_tokens:
        print("crash test skipped (--crash-submissions 0)")
        return
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(url, port, log, workers=args.workers)
    crash_ack: dict[str, dict] = {}
    acked = multiprocessing.get_context("spawn").Value("i", 0)
    killed_at: list[float] = []

    def kill_later() -> None:
        began = time.monotonic()
        while acked.value < args.kill_after and time.monotonic() - began < args.time_limit:
            time.sleep(0.01)
        kill_server(server)
        killed_at.append(time.monotonic() - began)

    import threading

    killer = threading.Thread(target=kill_later)
    killer.start()
    crash_forms = [("POST", f"/api/v1/forms/{t}", {"answers": ANSWERS}) for t in crash_tokens]
    crash = load(
        base,
        crash_forms,
        args.concurrency,
        args.time_limit,
        crash_ack,
        processes=processes,
        counter=acked,
    )
    killer.join()
    server.wait(timeout=30)
    failed = sum(1 for s in crash.statuses if s == 0)
    print(
        f"crash test: server SIGKILLed {killed_at[0]:.1f} s into the load; "
        f"{len(crash_ack)} submissions acknowledged, {failed} requests cut off"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(url, port, log, workers=args.workers)
    try:
        check_after_crash(url, crash_ack, crash_tokens, base)
    finally:
        stop(server)
    print(
        "crash test: every acknowledged submission present once with its receipt; no partial writes"
    )


if __name__ == "__main__":
    main()
