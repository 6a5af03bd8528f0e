"""Signing throughput through HTTP against the raw two-document transaction rate, in one run.

    .venv/bin/python -m tests.bench.signing_bench [--employees N]

Steps, one after the other on the same engines:
  1. raw pymongo transactions, each inserting one ~300-byte state document and one ~600-byte
     outbox document (what a signature costs at the very least): one at a time, then 64 at once;
  2. registry and signing as real processes; a pemda loaded through the registry (org units,
     then employees.csv) and projected into signing over Kafka;
  3. sustained signatures/s: a closed loop of 64 concurrent employees, each signing once
     (campaign with cascade off);
  4. a fixed offered load (open loop, 1,000 requests/s for 10 s): latency from the scheduled
     send time, so queueing in the client or the service counts; over employees who have not
     signed the first campaign yet, or over a second cascade-off campaign when too few are left;
  5. the strict cascade's own checks: a campaign with cascade strict, leaders first, then staff;
  6. every campaign's receipt chain: how long chaining lagged behind the last signature, and
     `chain/verify` must find exactly the signatures taken, valid.

Engines: MONGODB_URI and KAFKA_BOOTSTRAP_SERVERS when both are set, otherwise a private
mongod + Tansu pair under a temp dir, stopped at the end. Not a pytest test. The load generator
runs in this process, on the same cores as the services and the engines.
Exit code 1 when a correctness check fails; the throughput goals are reported, not enforced.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from netral import engines
from netral.devissuer import ensure_dev_keys, mint_token
from netral.devstack import wait_ready
from netral.seed import EmployeeRow, OrgUnitRow, generate, write_csv
from services.kit.settings import ServiceSettings
from tests.bench.registry_bench import (
    BenchFailure,
    cpu_snapshot,
    create_org_units,
    delete_topics,
    drop_database,
    log_problems,
    rate,
    run_import,
    stop_registry,
)
from tests.processes import key_file_env

RAW_SERIAL_SECONDS = 3.0
RAW_CONCURRENT_SECONDS = 5.0
RAW_CONCURRENCY = 64
STATE_BYTES = 300
OUTBOX_BYTES = 600
CONCURRENCY = 64
SUSTAINED_SECONDS = 15.0
OFFERED_RATE = 1000.0
OFFERED_SECONDS = 10.0
OFFERED_CONNECTIONS = 256
STRICT_SECONDS = 5.0
LEADER_LEVELS = ("REGIONAL_HEAD", "JPT")
GOAL_SIGNATURES_PER_S = 1500
GOAL_P99_MS = 250.0
HTTP_TIMEOUT = 300.0
"""Long on purpose: under overload a request that timed out here may still be signed, and the
chain check would then count it against the bench."""
POLL_SECONDS = 0.5
CHAIN_POLL_SECONDS = 0.05
ERRORS_SHOWN = 5
SIGN_BODY = b'{"mode":"online","consent":true}'
PACT = (
    "Pakta Integritas Netralitas ASN: menjaga netralitas sebelum, selama, dan sesudah pemilihan; "
    "menghindari konflik kepentingan; bijak bermedia sosial; menolak politik uang."
)

Document = dict[str, Any]


# ---------------------------------------------------------------- results


@dataclass
class Load:
    """One load phase: what was sent, what came back, how long it took."""

    name: str
    campaign: str = ""
    sent: int = 0
    created: int = 0
    repeated: int = 0
    """HTTP 200: the employee had signed already. Every request here is a new employee, so > 0 is a bug."""
    refused: int = 0
    """HTTP 409 from the cascade."""
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    send_lateness_ms: list[float] = field(default_factory=list)
    """Open loop only: how late the generator sent each request against its schedule."""
    cpu: dict[str, float] = field(default_factory=dict)
    chain_lag_s: float | None = None
    note: str = ""

    @property
    def per_s(self) -> float:
        return rate(self.created, self.elapsed_s)

    def record(self, status: int, text: str, latency_ms: float) -> None:
        self.latencies_ms.append(latency_ms)
        if status == 201:
            self.created += 1
        elif status == 200:
            self.repeated += 1
        elif status == 409:
            self.refused += 1
            self.sample(f"HTTP 409 {text[:300]}")
        else:
            self.errors[f"HTTP {status}"] += 1
            self.sample(f"HTTP {status} {text[:300]}")

    def failed(self, exc: Exception, latency_ms: float) -> None:
        self.latencies_ms.append(latency_ms)
        self.errors[type(exc).__name__] += 1
        self.sample(repr(exc)[:300])

    def sample(self, text: str) -> None:
        if len(self.error_samples) < ERRORS_SHOWN:
            self.error_samples.append(text)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass
class ChainCheck:
    campaign: str
    expected: int
    length: int = -1
    recorded_length: int = -1
    valid: bool = False
    verify_s: float = 0.0
    signed_in_progress: int = -1


@dataclass
class Results:
    employees: int
    signers: int = 0
    in_scope: int = 0
    """Employees signing counts as expected: all but elected heads, who are not ASN."""
    load_before: float = field(default_factory=lambda: os.getloadavg()[0])
    raw_serial: tuple[int, float] = (0, 0.0)
    raw_concurrent: tuple[int, float] = (0, 0.0)
    org_units: int = 0
    import_s: float = 0.0
    projection_s: float = 0.0
    tokens_s: float = 0.0
    sustained: Load = field(default_factory=lambda: Load("sustained"))
    offered: Load = field(default_factory=lambda: Load("offered"))
    leaders: Load = field(default_factory=lambda: Load("leaders"))
    strict: Load = field(default_factory=lambda: Load("strict"))
    chains: list[ChainCheck] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


# ---------------------------------------------------------------- raw two-document transactions


def padded(prefix: Document, size: int) -> Document:
    """`prefix` plus a filler field so that its JSON form is about `size` bytes."""
    length = len(json.dumps(prefix, default=str))
    return {**prefix, "pad": "x" * max(0, size - length - 10)}


async def for_duration(
    concurrency: int, seconds: float, one: Callable[[], Awaitable[None]]
) -> tuple[int, float]:
    """`one` run again and again by `concurrency` tasks for `seconds`: (runs completed, elapsed)."""
    done = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await one()
            done += 1

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
    return done, time.perf_counter() - started


async def raw_transactions(uri: str, database: str, concurrency: int, seconds: float) -> tuple[int, float]:
    """Transactions committed by `concurrency` tasks in about `seconds`; returns (count, elapsed)."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri)
    try:
        db = client[database]
        existing = await db.list_collection_names()
        for name in ("state", "outbox"):
            if name not in existing:
                await db.create_collection(name)
        state, outbox = db["state"], db["outbox"]
        now = dt.datetime.now(dt.UTC)

        async def one() -> None:
            key = uuid.uuid4().hex
            state_doc = padded(
                {"_id": key, "campaign": "raw", "employee_id": key[:18], "pending": True, "at": now},
                STATE_BYTES,
            )
            outbox_doc = padded(
                {
                    "_id": str(uuid.uuid4()),
                    "type": "pledge.signed.v1",
                    "key": key[:18],
                    "topic": "signing.pledges",
                    "pending": True,
                    "created_at": now,
                    "published_at": None,
                },
                OUTBOX_BYTES,
            )

            async def work(session: AsyncClientSession) -> None:
                await state.insert_one(state_doc, session=session)
                await outbox.insert_one(outbox_doc, session=session)

            async with client.start_session() as session:
                await session.with_transaction(work)

        await one()  # warm-up: connection, collections
        return await for_duration(concurrency, seconds, one)
    finally:
        await client.close()


async def raw_steps(results: Results, uri: str, database: str) -> None:
    results.raw_serial = await raw_transactions(uri, database, 1, RAW_SERIAL_SECONDS)
    results.raw_concurrent = await raw_transactions(uri, database, RAW_CONCURRENCY, RAW_CONCURRENT_SECONDS)
    await drop_database(uri, database)


# ---------------------------------------------------------------- service processes


def start_service(module: str, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


# ---------------------------------------------------------------- driving the services


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def poll(check: Callable[[], Awaitable[bool]], timeout: float, interval: float, what: str) -> float:
    """Call `check` until it answers True; returns the seconds waited."""
    started = time.perf_counter()
    while not await check():
        if time.perf_counter() - started > timeout:
            raise BenchFailure(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(interval)
    return time.perf_counter() - started


async def create_campaign(admin: httpx.AsyncClient, code: str, root: str, cascade: str) -> None:
    body = {
        "code": code,
        "title": f"Pakta Integritas Netralitas ASN ({code})",
        "election": "Pilkada 2029",
        "deadline": (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat(),
        "campaign_period_starts_on": (dt.date.today() + dt.timedelta(days=60)).isoformat(),
        "pact_text": PACT,
        "scope": [root],
        "cascade": cascade,
    }
    last = ""

    async def created() -> bool:
        nonlocal last
        response = await admin.post("/v1/campaigns", json=body)
        if response.status_code == 201:
            return True
        if response.status_code != 422:  # 422 until the projection knows the scope's unit
            raise BenchFailure(
                f"POST /v1/campaigns {code}: HTTP {response.status_code} {response.text[:500]}"
            )
        last = response.text[:300]
        return False

    try:
        await poll(created, 120, POLL_SECONDS, f"campaign {code} to be accepted")
    except BenchFailure as exc:
        raise BenchFailure(f"{exc}; last answer {last}") from None


async def progress(admin: httpx.AsyncClient, code: str, root: str) -> Document:
    response = await admin.get(f"/v1/campaigns/{code}/progress", params={"org_unit": root})
    if response.status_code != 200:
        raise BenchFailure(f"progress of {code}: HTTP {response.status_code} {response.text[:300]}")
    body: Document = response.json()
    return body


async def chain_length(admin: httpx.AsyncClient, code: str) -> int:
    response = await admin.get(f"/v1/campaigns/{code}")
    if response.status_code != 200:
        raise BenchFailure(f"GET /v1/campaigns/{code}: HTTP {response.status_code} {response.text[:300]}")
    return int(response.json()["chain_length"])


async def wait_chained(admin: httpx.AsyncClient, code: str, expected: int) -> float:
    """Seconds until the sequencer has chained `expected` receipts of `code`."""

    async def chained() -> bool:
        return await chain_length(admin, code) >= expected

    return await poll(chained, 120, CHAIN_POLL_SECONDS, f"{expected:,} chained receipts in {code}")


class Connections:
    """Keep-alive HTTP connections to one service, each its own single-connection httpx client,
    handed out one request at a time.

    One httpx.AsyncClient with a 64-connection pool is not used: httpcore (1.0.x) rescans every
    connection of its pool, polling each socket, whenever a request starts or ends, which made
    this load generator the bottleneck (about 30 signatures/s at 64 in flight in a trial run)."""

    def __init__(self, url: str, size: int) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=120)
        self.clients = [
            httpx.AsyncClient(base_url=url, limits=limits, timeout=HTTP_TIMEOUT) for _ in range(size)
        ]
        self.idle: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in self.clients:
            self.idle.put_nowait(client)

    async def post(self, path: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        client = await self.idle.get()
        try:
            return await client.post(path, content=content, headers=headers)
        finally:
            self.idle.put_nowait(client)

    async def __aenter__(self) -> Connections:
        """Opens every connection first (GET /healthz), so that TCP set-up is not timed."""
        try:
            await asyncio.gather(*(client.get("/healthz") for client in self.clients))
        except httpx.HTTPError as exc:
            await self.__aexit__()
            raise BenchFailure(f"could not open {len(self.clients)} connections: {exc!r}") from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in self.clients:
            await client.aclose()


async def sign_once(connections: Connections, path: str, token: str, load: Load, started: float) -> None:
    try:
        response = await connections.post(
            path, SIGN_BODY, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        )
    except httpx.HTTPError as exc:
        load.failed(exc, (time.perf_counter() - started) * 1000)
        return
    load.record(response.status_code, response.text, (time.perf_counter() - started) * 1000)


async def closed_loop(
    connections: Connections, load: Load, tokens: list[str], seconds: float, concurrency: int
) -> int:
    """`concurrency` workers sign for distinct employees until `seconds` pass or the tokens run
    out; returns how many tokens were used."""
    path = f"/v1/campaigns/{load.campaign}/signatures"
    next_index = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        nonlocal next_index
        while next_index < len(tokens) and time.perf_counter() < deadline:
            token = tokens[next_index]
            next_index += 1
            load.sent += 1
            await sign_once(connections, path, token, load, time.perf_counter())

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
    load.elapsed_s = time.perf_counter() - started
    return next_index


async def open_loop(connections: Connections, load: Load, tokens: list[str], per_s: float) -> None:
    """Request i is due at t0 + i / per_s whatever happened to the earlier ones; latency counts
    from the due time, so waiting for a free connection or for the service counts too."""
    path = f"/v1/campaigns/{load.campaign}/signatures"
    tasks: list[asyncio.Task[None]] = []
    t0 = time.perf_counter() + 0.05
    for i, token in enumerate(tokens):
        due = t0 + i / per_s
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        load.send_lateness_ms.append((time.perf_counter() - due) * 1000)
        load.sent += 1
        tasks.append(asyncio.create_task(sign_once(connections, path, token, load, due)))
    await asyncio.gather(*tasks)
    load.elapsed_s = time.perf_counter() - t0


def with_cpu(load: Load, pids: dict[str, int], before: dict[str, float]) -> None:
    after = cpu_snapshot(pids)
    load.cpu = {
        name: (after[name] - before[name]) / load.elapsed_s
        for name in before.keys() & after.keys()
        if load.elapsed_s > 0
    }


def mint_all(people: list[EmployeeRow], keys: Path) -> dict[str, str]:
    settings = ServiceSettings()
    return {
        person.nip: mint_token("employee", nip=person.nip, directory=keys, settings=settings)
        for person in people
        if person.nip
    }


async def signing_steps(
    results: Results,
    registry_url: str,
    signing_url: str,
    keys: Path,
    units: list[OrgUnitRow],
    people: list[EmployeeRow],
    csv_bytes: bytes,
    unique: str,
    pids: dict[str, int],
) -> None:
    admin_headers = bearer(mint_token("bkpsdm", directory=keys))
    root = next(unit.code for unit in units if unit.parent_code is None)
    n = len(people)
    campaigns: dict[str, int] = {}
    """Campaign code → signatures taken in it (HTTP 201)."""

    async with (
        httpx.AsyncClient(base_url=registry_url, headers=admin_headers, timeout=300) as registry,
        httpx.AsyncClient(base_url=signing_url, headers=admin_headers, timeout=300) as admin,
    ):
        # -------- the pemda through the registry, projected into signing
        await create_org_units(registry, units)
        results.org_units = len(units)
        body, results.import_s = await run_import(registry, csv_bytes)
        results.check(
            body["imported"] == n and body["failed"] == 0,
            f"import: imported {body['imported']}, failed {body['failed']}, expected {n} and 0",
        )
        print(f"    imported {body['imported']:,} employees in {results.import_s:.1f} s", flush=True)

        projection_started = time.perf_counter()
        off = f"{unique}-off"
        await create_campaign(admin, off, root, "off")
        seen = 0

        async def projected() -> bool:
            nonlocal seen
            seen = int((await progress(admin, off, root))["expected"])
            return seen >= results.in_scope

        try:
            await poll(
                projected, max(300.0, n / 50), POLL_SECONDS, f"{results.in_scope:,} employees in signing"
            )
        except BenchFailure as exc:
            raise BenchFailure(f"{exc} (projected so far: {seen:,})") from None
        results.projection_s = time.perf_counter() - projection_started
        results.check(
            seen == results.in_scope,
            f"signing projects {seen:,} employees in scope, expected {results.in_scope:,} "
            f"(the {n - results.in_scope} elected heads are not ASN)",
        )
        print(
            f"    signing projected {seen:,} employees ({results.signers:,} with a NIP can sign) "
            f"{results.projection_s:.1f} s after the import",
            flush=True,
        )

        minted = time.perf_counter()
        tokens_by_nip = mint_all(people, keys)
        results.tokens_s = time.perf_counter() - minted
        tokens = [tokens_by_nip[person.nip] for person in people if person.nip]

        # -------- sustained, closed loop, cascade off
        print(
            f"4/7 sustained: {CONCURRENCY} concurrent signers, cascade off, up to {SUSTAINED_SECONDS:.0f} s "
            f"or {len(tokens):,} employees ...",
            flush=True,
        )
        sustained = results.sustained
        sustained.campaign = off
        async with Connections(signing_url, CONCURRENCY) as connections:
            before = cpu_snapshot(pids)
            used = await closed_loop(connections, sustained, tokens, SUSTAINED_SECONDS, CONCURRENCY)
            with_cpu(sustained, pids, before)
        if used == len(tokens) and sustained.elapsed_s < SUSTAINED_SECONDS:
            sustained.note = f"employees ran out after {sustained.elapsed_s:.1f} s"
        campaigns[off] = sustained.created
        sustained.chain_lag_s = await wait_chained(admin, off, sustained.created)

        # -------- fixed offered load, open loop
        wanted = round(OFFERED_RATE * OFFERED_SECONDS)
        remaining = tokens[used:]
        offered = results.offered
        if len(remaining) >= wanted:
            offered.campaign = off
            batch = remaining[:wanted]
        else:
            offered.campaign = f"{unique}-offered"
            await create_campaign(admin, offered.campaign, root, "off")
            batch = tokens[:wanted]
            offered.note = (
                f"only {len(remaining):,} employees left unsigned in {off}: a second cascade-off campaign "
                f"{offered.campaign} gives {len(batch):,} fresh (employee, campaign) pairs"
            )
        if len(batch) < wanted:
            offered.note += (
                f"; only {len(batch):,} signers, so {len(batch) / OFFERED_RATE:.1f} s "
                f"instead of {OFFERED_SECONDS:.0f} s"
            )
        print(
            f"5/7 offered load: {OFFERED_RATE:,.0f}/s for {len(batch) / OFFERED_RATE:.1f} s "
            f"({len(batch):,} employees, campaign {offered.campaign}) ...",
            flush=True,
        )
        async with Connections(signing_url, OFFERED_CONNECTIONS) as connections:
            before = cpu_snapshot(pids)
            await open_loop(connections, offered, batch, OFFERED_RATE)
            with_cpu(offered, pids, before)
        campaigns[offered.campaign] = campaigns.get(offered.campaign, 0) + offered.created
        offered.chain_lag_s = await wait_chained(admin, offered.campaign, campaigns[offered.campaign])

        # -------- strict cascade: leaders first, then staff
        strict_code = f"{unique}-strict"
        await create_campaign(admin, strict_code, root, "strict")
        print(f"6/7 strict cascade: leaders, then staff for {STRICT_SECONDS:.0f} s ...", flush=True)
        leaders = results.leaders
        leaders.campaign = strict_code
        async with Connections(signing_url, CONCURRENCY) as connections:
            started = time.perf_counter()
            for level in LEADER_LEVELS:
                wave = [tokens_by_nip[p.nip] for p in people if p.nip and p.level == level]
                await closed_loop(connections, leaders, wave, 600, CONCURRENCY)
            leaders.elapsed_s = time.perf_counter() - started
            staff = [tokens_by_nip[p.nip] for p in people if p.nip and p.level not in LEADER_LEVELS]
            strict = results.strict
            strict.campaign = strict_code
            before = cpu_snapshot(pids)
            await closed_loop(connections, strict, staff, STRICT_SECONDS, CONCURRENCY)
            with_cpu(strict, pids, before)
        campaigns[strict_code] = leaders.created + strict.created
        strict.chain_lag_s = await wait_chained(admin, strict_code, campaigns[strict_code])

        for load in (sustained, offered, leaders, strict):
            results.check(
                load.error_count == 0, f"{load.name}: {load.error_count} errors {dict(load.errors)}"
            )
            results.check(load.repeated == 0, f"{load.name}: {load.repeated} answers 200 (signed already)")
            results.check(load.refused == 0, f"{load.name}: {load.refused} refused by the cascade (409)")
            results.check(
                load.created == load.sent,
                f"{load.name}: {load.created:,} signatures taken of {load.sent:,} requests",
            )

        # -------- every chain, verified
        print("7/7 chain verification ...", flush=True)
        for code, expected in campaigns.items():
            check = ChainCheck(code, expected)
            results.chains.append(check)
            started = time.perf_counter()
            response = await admin.get(f"/v1/campaigns/{code}/chain/verify")
            check.verify_s = time.perf_counter() - started
            if response.status_code != 200:
                results.failures.append(
                    f"chain/verify {code}: HTTP {response.status_code} {response.text[:300]}"
                )
                continue
            verdict: Document = response.json()
            check.length, check.recorded_length = verdict["length"], verdict["recorded_length"]
            check.valid = bool(verdict["valid"])
            check.signed_in_progress = int((await progress(admin, code, root))["signed"])
            results.check(
                check.valid and check.length == expected and check.recorded_length == expected,
                f"chain of {code}: valid {check.valid}, length {check.length:,}, "
                f"recorded {check.recorded_length:,}, expected {expected:,} ({json.dumps(verdict)[:300]})",
            )
            results.check(
                check.signed_in_progress == expected,
                f"progress of {code}: signed {check.signed_in_progress:,}, expected {expected:,}",
            )


# ---------------------------------------------------------------- report


def cpu_line(load: Load) -> str:
    shares = ", ".join(f"{name} {share:.2f}" for name, share in sorted(load.cpu.items()))
    total = sum(load.cpu.values())
    return f"{shares} (sum {total:.2f})"


def report(results: Results, cores: int) -> dict[str, Any]:
    serial = rate(*results.raw_serial)
    concurrent = rate(*results.raw_concurrent)
    sustained, offered, leaders, strict = results.sustained, results.offered, results.leaders, results.strict
    p50 = percentile(offered.latencies_ms, 0.50)
    p95 = percentile(offered.latencies_ms, 0.95)
    p99 = percentile(offered.latencies_ms, 0.99)
    worst = max(offered.latencies_ms, default=0.0)
    ratio = sustained.per_s / concurrent if concurrent else 0.0
    throughput_met = sustained.per_s >= GOAL_SIGNATURES_PER_S
    latency_met = bool(offered.latencies_ms) and p99 < GOAL_P99_MS and offered.error_count == 0

    def vs_raw(value: float) -> str:
        return f"{value / concurrent if concurrent else 0:6.1%} of raw tx ×{RAW_CONCURRENCY}"

    rows = [
        (
            f"raw 2-doc tx, one at a time ({results.raw_serial[0]:,})",
            results.raw_serial[1],
            serial,
            "tx/s",
            "",
        ),
        (
            f"raw 2-doc tx, {RAW_CONCURRENCY} concurrent ({results.raw_concurrent[0]:,})",
            results.raw_concurrent[1],
            concurrent,
            "tx/s",
            "",
        ),
        (
            f"sustained, {CONCURRENCY} closed-loop, off ({sustained.created:,})",
            sustained.elapsed_s,
            sustained.per_s,
            "sig/s",
            vs_raw(sustained.per_s),
        ),
        (
            f"offered {OFFERED_RATE:,.0f}/s open loop ({offered.created:,})",
            offered.elapsed_s,
            offered.per_s,
            "sig/s",
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms, max {worst:.0f} ms",
        ),
        (
            f"strict cascade: leaders first ({leaders.created:,})",
            leaders.elapsed_s,
            leaders.per_s,
            "sig/s",
            "",
        ),
        (
            f"strict cascade: staff, {CONCURRENCY} closed-loop ({strict.created:,})",
            strict.elapsed_s,
            strict.per_s,
            "sig/s",
            f"{vs_raw(strict.per_s)}; {strict.per_s / sustained.per_s if sustained.per_s else 0:.1%} of off",
        ),
    ]
    rows += [
        (
            f"chain/verify {check.campaign.split('-', 1)[-1]} ({check.length:,} links)",
            check.verify_s,
            rate(max(check.length, 0), check.verify_s),
            "links/s",
            "valid" if check.valid else "INVALID",
        )
        for check in results.chains
    ]
    print()
    print(
        f"Signing benchmark: {results.employees:,} employees ({results.signers:,} with a NIP sign), "
        f"{cores} cores, one run; 1-min load average at start {results.load_before:.2f}"
    )
    print(
        "Registry, signing, mongod, tansu and this load generator (httpx, one process) share the "
        "same cores; other work on the machine skews every row."
    )
    print(f"{'measure':<52} {'seconds':>8} {'rate':>10}  {'unit':<7} ratio")
    print("-" * 118)
    for what, seconds, value, unit, note in rows:
        print(f"{what:<52} {seconds:8.2f} {value:10,.0f}  {unit:<7} {note}")
    print("-" * 118)
    print(
        f"setup: {results.org_units:,} org units; import {results.import_s:.1f} s; projection into signing "
        f"{results.projection_s:.1f} s after it; {results.signers:,} employee tokens minted in "
        f"{results.tokens_s:.1f} s"
    )
    print(
        "throughput runs use cascade off (no leader look-ups); the cascade's cost is the strict rows, "
        "measured after the leaders signed"
    )
    sustained_p50 = percentile(sustained.latencies_ms, 0.50)
    sustained_p99 = percentile(sustained.latencies_ms, 0.99)
    print(
        f"sustained: latency p50 {sustained_p50:.0f} ms, p99 {sustained_p99:.0f} ms at {CONCURRENCY} in "
        f"flight{'; ' + sustained.note if sustained.note else ''}"
    )
    lateness = percentile(offered.send_lateness_ms, 0.99)
    print(
        f"offered: {offered.sent:,} requests scheduled, {offered.created:,} signed, "
        f"{offered.error_count} errors; up to {OFFERED_CONNECTIONS} connections; generator p99 lateness "
        f"{lateness:.1f} ms, max {max(offered.send_lateness_ms, default=0.0):.1f} ms"
    )
    if offered.note:
        print(f"offered: {offered.note}")
    print(f"strict: {strict.refused} refusals after the leaders signed; {strict.error_count} errors")
    lags = ", ".join(
        f"{load.name} {load.chain_lag_s:.2f} s"
        for load in (sustained, offered, strict)
        if load.chain_lag_s is not None
    )
    print(f"chaining lag after each phase's last signature: {lags}")
    for load in (sustained, offered, strict):
        if load.cpu:
            print(f"CPU during {load.name}, in cores busy ({cores} = whole machine): {cpu_line(load)}")
    for load in (sustained, offered, leaders, strict):
        for sample in load.error_samples:
            print(f"  {load.name} error: {sample}")
    print(
        f"goal: ≥ {GOAL_SIGNATURES_PER_S:,} signatures/s sustained → "
        f"{'met' if throughput_met else 'NOT MET'} ({sustained.per_s:,.0f}/s)"
    )
    print(
        f"goal: p99 < {GOAL_P99_MS:.0f} ms at {OFFERED_RATE:,.0f}/s offered → "
        f"{'met' if latency_met else 'NOT MET'} (p99 {p99:.0f} ms, achieved {offered.per_s:,.0f}/s)"
    )
    if results.failures:
        print("CHECKS FAILED:")
        for failure in results.failures:
            print(f"  - {failure}")
    else:
        print("checks: all passed")
    summary = {
        "employees": results.employees,
        "signers": results.signers,
        "cores": cores,
        "load_average_at_start": round(results.load_before, 2),
        "import_s": round(results.import_s, 1),
        "projection_done_after_import_s": round(results.projection_s, 1),
        "raw_tx_per_s_serial": round(serial),
        f"raw_tx_per_s_{RAW_CONCURRENCY}": round(concurrent),
        "sustained_signatures_per_s": round(sustained.per_s),
        "sustained_vs_raw_tx": round(ratio, 4),
        "sustained_p50_ms": round(sustained_p50, 1),
        "sustained_p99_ms": round(sustained_p99, 1),
        "offered_per_s": OFFERED_RATE,
        "offered_achieved_per_s": round(offered.per_s),
        "offered_p50_ms": round(p50, 1),
        "offered_p95_ms": round(p95, 1),
        "offered_p99_ms": round(p99, 1),
        "offered_max_ms": round(worst, 1),
        "offered_errors": offered.error_count,
        "strict_signatures_per_s": round(strict.per_s),
        "strict_refusals": strict.refused,
        "chain_lag_s": {
            load.name: round(load.chain_lag_s, 3)
            for load in (sustained, offered, strict)
            if load.chain_lag_s is not None
        },
        "chain_verify_s": {check.campaign: round(check.verify_s, 3) for check in results.chains},
        "cpu_cores_sustained": {name: round(share, 2) for name, share in sorted(sustained.cpu.items())},
        "goal_signatures_met": throughput_met,
        "goal_p99_met": latency_met,
        "checks_passed": not results.failures,
    }
    print(json.dumps(summary, separators=(",", ":")))
    return summary


# ---------------------------------------------------------------- main


def skip_sniffio_search() -> None:
    """httpcore tries `import sniffio` for every lock it creates, several per request; without
    sniffio installed every try searches sys.path on disk, about 1 ms of this process's CPU per
    request in a trial run. A None entry in sys.modules makes the failed import immediate, and
    httpcore then assumes asyncio as it does anyway."""
    if importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.signing_bench", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--employees", type=int, default=20_000, help="rows in employees.csv (default 20000)")
    args = parser.parse_args(argv)
    if args.employees < 1:
        parser.error("--employees must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    skip_sniffio_search()
    n: int = args.employees
    results = Results(employees=n)
    work = Path(tempfile.mkdtemp(prefix="netral-signbench-"))
    unique = f"s{uuid.uuid4().hex[:10]}"
    prefix = f"{unique}."
    logs = {"registry": work / "registry.log", "signing": work / "signing.log"}
    engine_root = work / "engines"
    external = bool(os.environ.get("MONGODB_URI") and os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    print(f"work dir: {work} (logs: {logs['registry']}, {logs['signing']})", flush=True)

    exit_code = 0
    pids: dict[str, int] = {"bench": os.getpid()}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        if external:
            uri, bootstrap = os.environ["MONGODB_URI"], os.environ["KAFKA_BOOTSTRAP_SERVERS"]
            print("engines: external (MONGODB_URI, KAFKA_BOOTSTRAP_SERVERS)", flush=True)
        else:
            running = engines.start(engine_root)
            uri, bootstrap = running.mongodb_uri, running.kafka_bootstrap
            pids |= {"mongod": running.mongo_pid, "tansu": running.kafka_pid}
            print(f"engines: local mongod {uri}, tansu {bootstrap}", flush=True)

        print(
            f"1/7 raw two-document transactions: one at a time {RAW_SERIAL_SECONDS:.0f} s, "
            f"{RAW_CONCURRENCY} concurrent {RAW_CONCURRENT_SECONDS:.0f} s ...",
            flush=True,
        )
        asyncio.run(raw_steps(results, uri, f"{unique}_raw"))

        print(f"2/7 generating {n:,} employees, starting registry and signing ...", flush=True)
        units, people = generate(n)
        results.signers = sum(1 for person in people if person.nip)
        results.in_scope = sum(1 for person in people if person.employment_type != "PEJABAT_NEGARA")
        _, employees_csv = write_csv(work / "data", units, people)
        csv_bytes = employees_csv.read_bytes()
        keys = work / "keys"
        ensure_dev_keys(keys)
        base_env = {
            **os.environ,
            "MONGODB_URI": uri,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC_PREFIX": prefix,
            "DEV_MODE": "true",
            **key_file_env(keys),
            "LOG_LEVEL": "WARNING",
        }
        urls: dict[str, str] = {}
        try:
            for name, module in (
                ("registry", "services.registry"),
                ("signing", "services.signing"),
            ):
                port = engines.free_port()
                env = {**base_env, "MONGODB_DATABASE": f"{unique}_{name}", "HTTP_PORT": str(port)}
                processes[name] = start_service(module, env, logs[name])
                pids[name] = processes[name].pid
                urls[name] = f"http://127.0.0.1:{port}"
            for name, url in urls.items():
                wait_ready(url, 60, logs[name])
                print(f"    {name} pid {pids[name]} ready at {url}", flush=True)
            print(
                f"3/7 loading {len(units):,} org units and {n:,} employees through the registry ...",
                flush=True,
            )
            asyncio.run(
                signing_steps(
                    results, urls["registry"], urls["signing"], keys, units, people, csv_bytes, unique, pids
                )
            )
        finally:
            for name, process in processes.items():
                stop_registry(process)
                if process.returncode not in (0, -signal.SIGTERM):
                    results.failures.append(f"{name} exited with code {process.returncode}")
        if external:
            for name in ("registry", "signing"):
                asyncio.run(drop_database(uri, f"{unique}_{name}"))
            asyncio.run(
                delete_topics(
                    bootstrap,
                    [
                        f"{prefix}{topic}"
                        for topic in (
                            "registry.employees",
                            "registry.org-units",
                            "signing.campaigns",
                            "signing.pledges",
                            "signing.checkpoints",
                        )
                    ],
                )
            )
    except BenchFailure as exc:
        results.failures.append(f"aborted: {exc}")
        exit_code = 1
    finally:
        if not external:
            engines.stop(engine_root)
            shutil.rmtree(engine_root / "mongo", ignore_errors=True)
        shutil.rmtree(work / "data", ignore_errors=True)

    print("done", flush=True)
    for name, path in logs.items():
        problems = log_problems(path)
        if problems:
            print(f"{name} log ({path}) has warnings/errors:")
            for line in problems:
                print(f"  {line}")
    report(results, os.cpu_count() or 0)
    return 1 if exit_code or results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
