"""Load the HTTP API on loopback and measure what a contact-center platform would see.

Starts `auditor serve` (the real default multilingual models) in a subprocess, then drives it from an asyncio
load generator with open-loop schedules:

- live: 50 concurrent sessions pushing turns at 100 turns/s in all (each call replays a corpus conversation,
  closes, and a new call opens), timed per pushed turn;
- whole: 20-turn conversations audited at 10 requests/s;
- soak (optional): the live load for longer, with the server's memory sampled throughout.

Server-side time is read from each response's ``Server-Timing`` header (request in to response out, queueing on
the model thread included); client-side time adds the loopback HTTP and the generator itself, which shares the
same 2 cores.

    python bench/api_load.py                      # 60 s live + 60 s whole
    python bench/api_load.py --soak-seconds 600   # adds the 10-minute soak
    python bench/api_load.py --write              # also writes the api-latency section of docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.report import replace_section  # noqa: E402

SOPS = ("complaint-handling", "service-request", "general-inbound-call", "bank-phone-service")


@dataclass
class Timings:
    server_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    alerts: int = 0

    def record(self, response: httpx.Response | None, started: float, error: str | None = None) -> None:
        if error is not None or response is None or response.status_code >= 400:
            key = error or f"HTTP {response.status_code if response is not None else '?'}"
            self.errors[key] = self.errors.get(key, 0) + 1
            return
        self.client_ms.append((time.perf_counter() - started) * 1000)
        header = response.headers.get("server-timing", "")
        if "dur=" in header:
            self.server_ms.append(float(header.split("dur=")[1].split(",")[0]))

    def row(self, name: str, rate: str, seconds: float, memory: MemorySampler) -> dict[str, object]:
        server = np.asarray(self.server_ms) if self.server_ms else np.zeros(1)
        client = np.asarray(self.client_ms) if self.client_ms else np.zeros(1)
        return {
            "scenario": name,
            "target rate": rate,
            "achieved /s": round(len(self.client_ms) / seconds, 1),
            "requests": len(self.client_ms) + sum(self.errors.values()),
            "errors": sum(self.errors.values()),
            "server p50 ms": round(float(np.percentile(server, 50)), 1),
            "server p99 ms": round(float(np.percentile(server, 99)), 1),
            "client p50 ms": round(float(np.percentile(client, 50)), 1),
            "client p99 ms": round(float(np.percentile(client, 99)), 1),
            "RSS start MiB": memory.start_mib,
            "RSS end MiB": memory.end_mib,
            "RSS max MiB": memory.max_mib,
        }


@dataclass
class MemorySampler:
    pid: int
    samples: list[tuple[float, float]] = field(default_factory=list)

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return 0.0

    async def run(self, every: float = 2.0) -> None:
        while True:
            self.samples.append((time.monotonic(), self.rss_mib()))
            await asyncio.sleep(every)

    @property
    def start_mib(self) -> float:
        return self.samples[0][1] if self.samples else 0.0

    @property
    def end_mib(self) -> float:
        return self.samples[-1][1] if self.samples else 0.0

    @property
    def max_mib(self) -> float:
        return max((rss for _, rss in self.samples), default=0.0)

    def slope_mib_per_min(self, skip_seconds: float = 60.0) -> float:
        """Growth of RSS after the first minute (warm-up), by least squares."""
        if len(self.samples) < 3:
            return 0.0
        t0 = self.samples[0][0]
        points = [(t - t0, rss) for t, rss in self.samples if t - t0 >= skip_seconds] or self.samples
        if len(points) < 3:
            return 0.0
        x = np.asarray([p[0] for p in points])
        y = np.asarray([p[1] for p in points])
        return round(float(np.polyfit(x, y, 1)[0] * 60), 2)


def corpus_calls() -> list[tuple[str, dict]]:
    """(sop id, transcript) for every bundled corpus conversation (en, zh-Hans, zh-Hant)."""
    calls = []
    for sop_id in SOPS:
        for lang in ("en", "zh-Hans", "zh-Hant"):
            path = REPO / "corpora" / lang / f"{sop_id}.jsonl"
            calls += [(sop_id, json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return calls


def twenty_turn_calls(calls: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """20-turn conversations: a corpus call followed by the opening of another call of the same SOP and script."""
    out = []
    for index, (sop_id, transcript) in enumerate(calls):
        same = [t for s, t in calls if s == sop_id and t.get("lang") == transcript.get("lang") and t is not transcript]
        extra = same[index % len(same)]["turns"] if same else transcript["turns"]
        turns = (transcript["turns"] + extra + transcript["turns"])[:20]
        out.append((sop_id, {**transcript, "id": f"{transcript['id']}-20", "turns": turns}))
    return out


async def live_load(client: httpx.AsyncClient, sessions: int, rate: float, seconds: float, timings: Timings) -> None:
    calls = corpus_calls()
    interval = sessions / rate  # each session pushes one turn every `interval` seconds
    deadline = time.perf_counter() + seconds
    counter = itertools.count()

    async def one_caller(offset: float) -> None:
        await asyncio.sleep(offset)
        next_at = time.perf_counter()
        while time.perf_counter() < deadline:
            sop_id, transcript = calls[next(counter) % len(calls)]
            body = {"sop_id": sop_id, "agent_id": transcript.get("agent_id"), "lang": transcript.get("lang")}
            try:
                opened = await client.post("/v1/sessions", json=body)
            except httpx.HTTPError as error:
                timings.record(None, 0.0, f"open {type(error).__name__}")
                await asyncio.sleep(interval)
                continue
            if opened.status_code != 201:
                timings.record(opened, 0.0)
                await asyncio.sleep(interval)
                continue
            session_id = opened.json()["session_id"]
            for turn in transcript["turns"]:
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                if time.perf_counter() >= deadline:
                    break
                started = time.perf_counter()
                try:
                    response = await client.post(f"/v1/sessions/{session_id}/turns", json=turn)
                except httpx.HTTPError as error:
                    timings.record(None, started, type(error).__name__)
                    continue
                timings.record(response, started)
                if response.status_code == 200:
                    timings.alerts += len(response.json()["alerts"])
            try:
                closed = await client.post(f"/v1/sessions/{session_id}/close")
                problem = None if closed.status_code == 200 else f"close HTTP {closed.status_code}"
            except httpx.HTTPError as error:
                problem = f"close {type(error).__name__}"
            if problem:
                timings.errors[problem] = timings.errors.get(problem, 0) + 1

    await asyncio.gather(*(one_caller(i * interval / sessions) for i in range(sessions)))


async def whole_load(client: httpx.AsyncClient, rate: float, seconds: float, timings: Timings) -> None:
    calls = twenty_turn_calls(corpus_calls())
    random.Random(0).shuffle(calls)
    tasks = []
    started_at = time.perf_counter()

    async def one(sop_id: str, transcript: dict) -> None:
        started = time.perf_counter()
        try:
            response = await client.post("/v1/audit", params={"sop": sop_id}, json=transcript)
        except httpx.HTTPError as error:
            timings.record(None, started, type(error).__name__)
            return
        timings.record(response, started)

    for index in itertools.count():
        at = started_at + index / rate
        if at >= started_at + seconds:
            break
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        tasks.append(asyncio.create_task(one(*calls[index % len(calls)])))
    await asyncio.gather(*tasks)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(
    port: int, embedder: str, database: Path, env: dict[str, str] | None = None, auth: bool = False
) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "HF_HUB_OFFLINE": "1",
        "AUDITOR_EMBEDDER": embedder,
        "AUDITOR_DATABASE_URL": f"sqlite:///{database}",
    } | (env or {})
    command = [sys.executable, "-m", "auditor.cli", "serve", "--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(command + ([] if auth else ["--no-auth"]), env=env, cwd=REPO)


async def trickle(port: int, connections: int, every: float, limit: float) -> list[float]:
    """``connections`` clients each send a request line and then one header byte every ``every`` seconds, never
    finishing the head; returns how long the server held each (``limit`` when it never closed it)."""

    async def one() -> float:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        began = time.perf_counter()
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        try:
            while time.perf_counter() - began < limit:
                await writer.drain()
                try:
                    if await asyncio.wait_for(reader.read(1024), every) == b"":
                        return time.perf_counter() - began  # closed by the server
                except TimeoutError:
                    writer.write(b"a")
            return limit
        except (ConnectionError, OSError):
            return time.perf_counter() - began
        finally:
            writer.close()

    return list(await asyncio.gather(*(one() for _ in range(connections))))


async def cold_start(args: argparse.Namespace) -> list[dict[str, object]]:
    """The first ``--cold-seconds`` of live load right after /readyz says ready (no warm-up by the generator), with
    the server's own warm-up (the default) and without it (AUDITOR_WARM_UP=false)."""
    rows = []
    for warm_up in ("true", "false"):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        database = Path(tempfile.mkdtemp(prefix="api-cold-")) / "audits.db"
        began = time.perf_counter()
        server = start_server(port, args.embedder, database, {"AUDITOR_WARM_UP": warm_up})
        try:
            await wait_ready(base)
            ready = time.perf_counter() - began
            limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:
                for window in ("first", "next"):  # the next window: the same load once everything is warm
                    timings = Timings()
                    started = time.perf_counter()
                    await live_load(client, args.sessions, args.rate, args.cold_seconds, timings)
                    row = timings.row(
                        f"{window} {args.cold_seconds:g} s after ready, warm-up {'on' if warm_up == 'true' else 'off'}",
                        f"{args.rate:g} turns/s over {args.sessions} sessions",
                        time.perf_counter() - started,
                        MemorySampler(server.pid),
                    )
                    row["ready after s"] = round(ready, 1)
                    row["error kinds"] = ", ".join(f"{k}: {v}" for k, v in timings.errors.items()) or "none"
                    rows.append(row)
                    print(json.dumps(row, ensure_ascii=False), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=60)
    return rows


async def abuse(args: argparse.Namespace) -> dict[str, object]:
    """The slow-client and brute-force cases against `auditor serve` with its defaults (hashing embedder: what is
    measured here is the HTTP layer): how long trickling connections are held while a normal client is served, and
    how many wrong keys and failed review logins one address gets before 429."""
    from auditor.api.settings import hash_key

    key = "bench-key"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = Path(tempfile.mkdtemp(prefix="api-abuse-")) / "audits.db"
    server = start_server(port, "hashing", database, {"AUDITOR_API_KEYS": f"sha256:{hash_key(key)}"}, auth=True)
    row: dict[str, object] = {}
    try:
        await wait_ready(base)
        async with httpx.AsyncClient(base_url=base, timeout=30.0) as client:
            slow = asyncio.create_task(trickle(port, args.slow_clients, 1.0, 90.0))
            await asyncio.sleep(2.0)
            began = time.perf_counter()
            served = (await client.get("/v1/sops", headers={"X-API-Key": key})).status_code
            row["normal request during the trickle"] = f"{served} in {1000 * (time.perf_counter() - began):.0f} ms"
            held = await slow
            row["trickling connections"] = args.slow_clients
            row["held s (min / median / max)"] = (
                f"{min(held):.1f} / {float(np.median(held)):.1f} / {max(held):.1f}"
            )
            statuses = [(await client.get("/v1/sops", headers={"X-API-Key": "guess"})).status_code for _ in range(12)]
            row["wrong keys: statuses"] = " ".join(map(str, statuses))
            row["wrong keys before 429"] = statuses.index(429) if 429 in statuses else "never"
            blocked = await client.get("/v1/sops", headers={"X-API-Key": key})
            row["right key while blocked"] = f"{blocked.status_code}, Retry-After {blocked.headers.get('retry-after')}"
            await asyncio.sleep(float(blocked.headers.get("retry-after", "0")) + 0.2)
            assert (await client.get("/v1/sops", headers={"X-API-Key": key})).status_code == 200  # clears the address
            form = {"reviewer": "Mei", "key": "guess", "next": "/review"}
            logins = [(await client.post("/review/login", data=form)).status_code for _ in range(12)]
            row["failed logins: statuses"] = " ".join(map(str, logins))
            row["failed logins before 429"] = logins.index(429) if 429 in logins else "never"
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(json.dumps(row, ensure_ascii=False), flush=True)
    return row


async def wait_ready(base: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise SystemExit("the server did not become ready")


async def run(args: argparse.Namespace) -> list[dict[str, object]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port, args.embedder, Path(tempfile.mkdtemp(prefix="api-load-")) / "audits.db")
    rows = []
    try:
        await wait_ready(base)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:
            warm = Timings()
            await live_load(client, 10, 20, 5, warm)  # model and code paths warm before measuring
            scenarios = [
                ("live turns", f"{args.rate:g} turns/s over {args.sessions} sessions", args.live_seconds, "live"),
                ("whole conversation (20 turns)", f"{args.whole_rate:g} requests/s", args.whole_seconds, "whole"),
            ]
            if args.soak_seconds:
                scenarios.append(
                    (
                        "soak: live turns",
                        f"{args.rate:g} turns/s, {args.soak_seconds / 60:g} min",
                        args.soak_seconds,
                        "live",
                    )
                )
            for name, rate, seconds, kind in scenarios:
                if seconds <= 0:
                    continue
                memory = MemorySampler(server.pid)
                sampler = asyncio.create_task(memory.run())
                timings = Timings()
                began = time.perf_counter()
                if kind == "live":
                    await live_load(client, args.sessions, args.rate, seconds, timings)
                else:
                    await whole_load(client, args.whole_rate, seconds, timings)
                elapsed = time.perf_counter() - began
                memory.samples.append((time.monotonic(), memory.rss_mib()))
                sampler.cancel()
                row = timings.row(name, rate, elapsed, memory)
                row["RSS growth MiB/min"] = memory.slope_mib_per_min()
                row["error kinds"] = ", ".join(f"{k}: {v}" for k, v in timings.errors.items()) or "none"
                rows.append(row)
                print(json.dumps(row, ensure_ascii=False), flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            print("the server did not stop within 60 s of SIGTERM; killed", file=sys.stderr)
            server.kill()
            server.wait()
    return rows


def markdown(rows: list[dict[str, object]], args: argparse.Namespace) -> str:
    columns = [
        "scenario",
        "target rate",
        "achieved /s",
        "requests",
        "errors",
        "server p50 ms",
        "server p99 ms",
        "client p50 ms",
        "client p99 ms",
        "RSS start MiB",
        "RSS max MiB",
        "RSS end MiB",
        "RSS growth MiB/min",
    ]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows]
    notes = (
        f"\n`auditor serve` with the `{args.embedder}` embedder, one uvicorn worker, models on one thread; the load "
        "generator runs on the same 2 cores. Server time is the `Server-Timing` header (request in to response "
        "out, queueing included). Live calls replay the bundled corpus conversations (en, zh-Hans, zh-Hant) "
        "against their SOPs, closing each call and opening the next. Targets (issue 5): live p50 <= 10 ms and "
        "p99 <= 40 ms at 100 turns/s over 50 sessions; whole 20-turn conversation p99 <= 150 ms at 10 requests/s; "
        "zero errors; memory flat over a 10-minute soak."
    )
    return "\n".join(lines) + "\n" + notes + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--embedder", default="use-m")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--rate", type=float, default=100.0, help="live turns per second in all")
    parser.add_argument("--live-seconds", type=float, default=60.0)
    parser.add_argument("--whole-rate", type=float, default=10.0)
    parser.add_argument("--whole-seconds", type=float, default=60.0)
    parser.add_argument("--soak-seconds", type=float, default=0.0)
    parser.add_argument("--write", action="store_true", help="write docs/benchmarks.md (section api-latency)")
    parser.add_argument("--save", type=Path, help="also save the rows as JSON here")
    parser.add_argument("--include", type=Path, action="append", default=[], help="rows saved by an earlier run")
    parser.add_argument("--abuse", action="store_true", help="only the slow-client and failed sign-in cases")
    parser.add_argument("--slow-clients", type=int, default=300, help="trickling connections (with --abuse)")
    parser.add_argument("--cold-seconds", type=float, default=0.0, help="only the first seconds after ready")
    args = parser.parse_args()
    if args.cold_seconds:
        asyncio.run(cold_start(args))
        return
    if args.abuse:
        asyncio.run(abuse(args))
        return
    rows = asyncio.run(run(args))
    if args.save:
        args.save.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
    for earlier in args.include:
        rows += json.loads(earlier.read_text(encoding="utf-8"))
    if args.write:
        command = "python bench/api_load.py --write" + (
            f" --soak-seconds {args.soak_seconds:g}" if args.soak_seconds else ""
        )
        if args.include:
            command += " --include soak.json; soak.json from: python bench/api_load.py --live-seconds 0 "
            command += "--whole-seconds 0 --soak-seconds 600 --save soak.json"
        replace_section("api-latency", command, markdown(rows, args))


if __name__ == "__main__":
    main()
