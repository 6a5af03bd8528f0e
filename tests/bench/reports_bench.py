"""Public report intake and the deadline scan against raw MongoDB, measured together in one run.

    .venv/bin/python -m tests.bench.reports_bench [--employees N] [--cases N] [--seconds S]
                                                  [--only intake|scan]

Steps, one after the other on the same engines:
  1. the reports service as a real process (own database and topic prefix, intake rate limit
     raised); its registry projection preloaded in-process through `ReportsStore.projection`,
     in transactions of 500 like the projection consumer, from a synthetic pemda (`netral.seed.generate`);
  2. sustained intake: closed loops of 16 and 64 concurrent clients on POST /v1/reports with
     varied bodies: anonymous or with a reporter; the accused by NIP, by name and unit (names of
     the population with titles dropped, honorifics added, typos), by name alone, unknown people,
     and follow-ups about someone reported just before (linked into the same case);
  3. a fixed offered load (open loop, 500 requests/s): latency from the scheduled send time;
  4. checks: every answer 201, as many reports in MongoDB as 201s, and every intake's two
     events (internal and public) published by the outbox relay (nothing left pending);
  5. the raw baseline: MongoDB transactions of the same shape as one intake (upsert the subject,
     insert the case, the report and the sealed identity, insert_many two outbox documents),
     copies of documents the service wrote in step 2, on collections with the service's own
     indexes, at the same concurrencies, from Python (AsyncMongoClient);
  6. the deadline scan: 1,000,000 open cases built with `CaseRules.open_case` and
     `schedule` (states and deadlines as `transition` sets them), 1% with a duty due, inserted
     with insert_many into a separate database, indexes from `ReportsStore.ensure_indexes`; one
     full scan (`ReportsUseCases.scan_deadlines` until no more work) per batch size, then a scan
     with nothing due.
     The scan runs in this process with no relay: the fired events stay in the outbox and are
     counted there.

Engines: MONGODB_URI and KAFKA_BOOTSTRAP_SERVERS when both are set, otherwise a private
mongod + Tansu pair under a temp dir, stopped at the end. Not a pytest test. The load generator
runs in this process, on the same cores as the service and the engines.
Exit code 1 when the bench itself broke (errors, lost reports or events); the goals are
reported, not enforced.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import random
import shutil
import signal
import statistics
import string
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]
from bson import ObjectId
from pymongo import AsyncMongoClient, ReturnDocument

from netral import engines
from netral.devissuer import ensure_dev_keys
from netral.devstack import wait_ready
from netral.seed import EmployeeRow, OrgUnitRow, generate
from services.kit.clock import SystemClock
from services.kit.mongo import Session, in_transaction
from services.kit.runtime import build_runtime
from services.reports.domain import (
    CATEGORIES,
    DEADLINE_STARTED_BY,
    Action,
    CaseRules,
    CaseState,
    Intake,
    PreparedIntake,
    employee_ref,
    match_by_name,
    match_by_nip,
    subject_key,
)
from services.reports.main import build_usecases
from services.reports.settings import ReportsSettings
from services.reports.store import ReportsStore
from services.reports.usecases import ReportsUseCases
from tests.bench.registry_bench import (
    BenchFailure,
    cpu_snapshot,
    delete_topics,
    drop_database,
    log_problems,
    rate,
    stop_registry,
)
from tests.bench.signing_bench import (
    Connections,
    Load,
    for_duration,
    percentile,
    poll,
    skip_sniffio_search,
    start_service,
)

EMPLOYEES = 20_000
PROJECTION_BATCH = 500
"""Employees per transaction, as the projection consumer's default consumer_batch_size."""
PROJECTION_CONCURRENCY = 4
CONCURRENCIES = (16, 64)
CLOSED_SECONDS = 15.0
CLOSED_BODIES_PER_S = 1500
"""Bodies made ahead per second of a closed loop: above the raw transaction rate, so they never run out."""
OFFERED_RATE = 500.0
OFFERED_CONNECTIONS = 256
BACKLOG_S = 5.0
RAW_SECONDS = 5.0
CASES = 1_000_000
DUE_EVERY = 100
"""One case in DUE_EVERY has a duty due at scan time (1%)."""
INSERT_BATCH = 10_000
INSERT_CONCURRENCY = 3
SCAN_BATCHES = (1000, 5000)
IDLE_SCANS = 5
GOAL_REPORTS_PER_S = 500
GOAL_SCAN_S = 10.0
RATE_LIMIT_INTAKE = "10000000/minute"
DRAIN_TIMEOUT_S = 120.0
POLL_SECONDS = 0.2
JSON_HEADERS = {"Content-Type": "application/json"}
INTERNAL_RECEIVED = "report.received.v1"
PUBLIC_RECEIVED = "public.report.received.v1"

Document = dict[str, Any]


# ---------------------------------------------------------------- results


@dataclass
class IntakeLoad(Load):
    """A load phase of POST /v1/reports, with latencies also by kind of body."""

    concurrency: int = 0
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    usage: Usage = field(default_factory=lambda: Usage())

    def kind_latency(self, kind: str, latency_ms: float) -> None:
        self.by_kind.setdefault(kind, []).append(latency_ms)


@dataclass
class Scan:
    batch: int
    seconds: float = 0.0
    calls: int = 0
    fired: Counter[str] = field(default_factory=Counter)
    outbox_events: int = 0
    idle_ms: list[float] = field(default_factory=list)
    usage: Usage = field(default_factory=lambda: Usage())

    @property
    def duties(self) -> int:
        return sum(self.fired.values())


@dataclass
class Results:
    employees: int
    cases: int
    load_before: float = field(default_factory=lambda: os.getloadavg()[0])
    org_units: int = 0
    preload_s: float = 0.0
    closed: list[IntakeLoad] = field(default_factory=list)
    offered: IntakeLoad = field(default_factory=lambda: IntakeLoad(f"offered {OFFERED_RATE:.0f}/s"))
    raw: dict[int, RawRun] = field(default_factory=dict)
    raw_shape: str = ""
    reports_in_db: int = 0
    cases_in_db: int = 0
    match_status: dict[str, int] = field(default_factory=dict)
    outbox_received: tuple[int, int] = (0, 0)
    outbox_pending: int = -1
    drain_s: float = 0.0
    scan_insert_s: float = 0.0
    scan_index_s: float = 0.0
    scan_open: int = 0
    scan_due: int = 0
    scan_due_states: dict[str, int] = field(default_factory=dict)
    scans: list[Scan] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)

    @property
    def loads(self) -> list[IntakeLoad]:
        return [*self.closed, self.offered]

    @property
    def created(self) -> int:
        return sum(load.created for load in self.loads)


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy since boot (Linux /proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class MongodWork:
    """mongod's counters: requests received (one per round trip of some client), and index keys
    and documents examined by queries and updates."""

    requests: int = 0
    keys: int = 0
    docs: int = 0

    def __sub__(self, other: MongodWork) -> MongodWork:
        return MongodWork(self.requests - other.requests, self.keys - other.keys, self.docs - other.docs)


async def mongod_work(client: AsyncMongoClient[Document]) -> MongodWork:
    status = await client.admin.command("serverStatus")
    executor = status["metrics"]["queryExecutor"]
    return MongodWork(
        int(status["network"]["numRequests"]), int(executor["scanned"]), int(executor["scannedObjects"])
    )


@dataclass
class Usage:
    """What a phase cost: cores busy per process of ours and in all other processes of the
    machine (other people's work skews every figure; this shows by how much), and mongod requests."""

    seconds: float = 0.0
    cores: dict[str, float] = field(default_factory=dict)
    mongod: MongodWork = field(default_factory=lambda: MongodWork())

    def ms_each(self, count: int) -> dict[str, float]:
        """CPU milliseconds per unit of work, per process of ours."""
        if not count:
            return {}
        return {
            name: share * self.seconds * 1000 / count
            for name, share in self.cores.items()
            if name != "others"
        }


class Meter:
    """Measures a phase: `await Meter.start(...)`, the work, then `await meter.stop()`."""

    def __init__(self, pids: dict[str, int], client: AsyncMongoClient[Document], mongod: MongodWork) -> None:
        self.pids = pids
        self.client = client
        self.mongod = mongod
        self.before = cpu_snapshot(pids)
        self.machine = machine_busy_s()
        self.started = time.perf_counter()

    @classmethod
    async def start(cls, pids: dict[str, int], client: AsyncMongoClient[Document]) -> Meter:
        return cls(pids, client, await mongod_work(client))

    async def stop(self) -> Usage:
        elapsed = time.perf_counter() - self.started
        after = cpu_snapshot(self.pids)
        machine = machine_busy_s()
        mongod = await mongod_work(self.client) - self.mongod - MongodWork(requests=1)  # less this call
        if elapsed <= 0:
            return Usage()
        cores = {
            name: (after[name] - self.before[name]) / elapsed for name in self.before.keys() & after.keys()
        }
        cores["others"] = max(0.0, (machine - self.machine) / elapsed - sum(cores.values()))
        return Usage(elapsed, cores, mongod)


# ---------------------------------------------------------------- the pemda as the projection holds it


def unit_snapshots(units: list[OrgUnitRow]) -> list[Document]:
    """Org units as registry events carry them: the path holds the codes from the root down."""
    parents = {unit.code: unit.parent_code for unit in units}

    def path(code: str) -> list[str]:
        parent = parents[code]
        return [*path(parent), parent] if parent else []

    return [
        {
            "code": unit.code,
            "name": unit.name,
            "kind": unit.kind,
            "parent_code": unit.parent_code,
            "path": path(unit.code),
            "version": 1,
        }
        for unit in units
    ]


def employee_snapshots(people: list[EmployeeRow], units: list[Document]) -> list[Document]:
    """Employees as registry events carry them (contracts.registry.EmployeeSnapshot). Non-ASN
    staff get an id of the registry's shape (NA + 16 digits); the registry derives it from a
    keyed hash of the NIK, which is not needed here."""
    paths = {unit["code"]: unit["path"] for unit in units}
    return [
        {
            "employee_id": row.nip or f"NA{int(row.nik) % 10**16:016d}",
            "nip": row.nip or None,
            "name": row.name,
            "employment_type": row.employment_type,
            "position": row.position,
            "level": row.level,
            "org_unit_code": row.org_unit_code,
            "org_unit_path": paths[row.org_unit_code],
            "supervisor_nip": row.supervisor_nip or None,
            "email": row.email or None,
            "phone": row.phone or None,
            "active": True,
            "version": 1,
        }
        for row in people
    ]


def reports_settings(uri: str, bootstrap: str, database: str, prefix: str, keys: Path) -> ReportsSettings:
    return ReportsSettings(
        mongodb_uri=uri,
        mongodb_database=database,
        kafka_bootstrap_servers=bootstrap,
        kafka_topic_prefix=prefix,
        reporter_key_file=keys / "reports-reporter.fernet",
        notify_contact_private_key_file=keys / "notify-contact.private",
        tracking_key_file=keys / "reports-tracking.key",
        auth_public_key_file=keys / "jwt-public.pem",
        dev_mode=True,
    )


def open_store(settings: ReportsSettings) -> ReportsStore:
    """A ReportsStore in this process, assembled as services.reports.main.build_app does."""
    return ReportsStore(build_runtime(settings))


def open_usecases(store: ReportsStore, settings: ReportsSettings) -> ReportsUseCases:
    """The use cases over `store`, assembled as services.reports.main.build_app does."""
    return build_usecases(store, settings, SystemClock())


async def preload(store: ReportsStore, units: list[Document], employees: list[Document]) -> float:
    """The projection through the store's own handlers, in transactions of PROJECTION_BATCH."""
    started = time.perf_counter()

    async def apply_units(session: Session) -> None:
        for unit in units:
            await store.projection.apply_unit(session, unit)

    await in_transaction(store.runtime.client, apply_units)
    chunks = iter(range(0, len(employees), PROJECTION_BATCH))

    async def worker() -> None:
        for start in chunks:
            chunk = employees[start : start + PROJECTION_BATCH]

            async def apply(session: Session, chunk: list[Document] = chunk) -> None:
                for employee in chunk:
                    await store.projection.apply_employee(session, employee)

            await in_transaction(store.runtime.client, apply)

    async with asyncio.TaskGroup() as group:
        for _ in range(PROJECTION_CONCURRENCY):
            group.create_task(worker())
    return time.perf_counter() - started


# ---------------------------------------------------------------- intake bodies

DESCRIPTIONS = (
    "Terlapor terlihat memasang baliho bergambar calon {calon} di depan kantor pada jam kerja.",
    "Terlapor membagikan unggahan kampanye calon {calon} di grup WhatsApp dinas dan meminta "
    "rekan kerja ikut menyebarkannya.",
    "Terlapor hadir dan memakai atribut tim pemenangan pada deklarasi pasangan calon {calon} di "
    "lapangan kecamatan.",
    "Terlapor berfoto bersama calon {calon} sambil mengacungkan dua jari; foto tersebar di "
    "Instagram dan Facebook.",
    "Terlapor mengumpulkan fotokopi KTP warga di kelurahan untuk mendukung pencalonan {calon}.",
    "Terlapor menyampaikan ajakan memilih calon {calon} saat apel pagi di hadapan seluruh staf, "
    "disaksikan beberapa pegawai honorer.",
    "Terlapor menjadi admin akun media sosial relawan {calon} dan mengunggah konten kampanye hampir "
    "setiap hari.",
)
CANDIDATES = ("Nomor Urut 1", "Nomor Urut 2", "Nomor Urut 3", "petahana", "pasangan independen")
LOCATIONS = (
    "Kantor Kecamatan Cibinong",
    "Lapangan Tegar Beriman, Cibinong",
    "Grup WhatsApp 'Keluarga Besar Dinas'",
    "Aula Kantor Bupati",
    "Pasar Citeureup",
    "Instagram dan Facebook",
    "Balai Desa Sukamaju",
)
REPORTER_NAMES = ("Asep Saepudin", "Dewi Lestari", "Yusuf Maulana", "Nining Kurniasih", "Eko Prabowo")
UNKNOWN_NAMES = ("Yohanes Kristanto", "Bambang Wiratmoko", "Lusiana Pardede", "Fransiskus Ndruru")
HONORIFICS = ("Pak", "Bu", "Bapak", "Ibu", "Sdr.")
KINDS = ("nip", "name+unit", "name+unit typo", "name only", "unknown", "follow-up")
KIND_WEIGHTS = (30, 30, 12, 8, 5, 15)


def typo(name: str, rng: random.Random) -> str:
    """One slip in a long word of the name: two letters swapped or one left out."""
    words = name.split(" ")
    long = [i for i, word in enumerate(words) if len(word) >= 5 and word.isalpha()]
    if not long:
        return name
    i = rng.choice(long)
    word = words[i]
    at = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        words[i] = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    else:
        words[i] = word[:at] + word[at + 1 :]
    return " ".join(words)


def as_written(name: str, rng: random.Random) -> str:
    """How a reporter writes a name: degrees often dropped, an honorific sometimes added."""
    if rng.random() < 0.5:
        name = name.split(",")[0]
    if rng.random() < 0.2:
        name = f"{rng.choice(HONORIFICS)} {name}"
    return name


class Bodies:
    """Varied, valid intake bodies from one seeded Random (see KINDS)."""

    def __init__(self, employees: list[Document], seed: int) -> None:
        self.rng = random.Random(seed)
        self.employees = employees
        self.with_nip = [employee for employee in employees if employee["nip"]]
        self.recent: list[tuple[Document, dt.date]] = []
        self.today = dt.datetime.now(dt.UTC).date()  # never after the date in Asia/Jakarta

    def accused(self, kind: str) -> tuple[Document, dt.date]:
        rng = self.rng
        day = self.today - dt.timedelta(days=rng.randint(0, 30))
        if kind == "follow-up" and self.recent:
            accused, first = rng.choice(self.recent)
            return accused, min(self.today, first + dt.timedelta(days=rng.randint(-1, 1)))
        if kind == "nip":
            employee = rng.choice(self.with_nip)
            return {"name": as_written(employee["name"], rng), "nip": employee["nip"]}, day
        employee = rng.choice(self.employees)
        # The unit as reporters know it: the employee's own, or the OPD above it.
        unit = employee["org_unit_code"]
        if len(employee["org_unit_path"]) > 1 and rng.random() < 0.4:
            unit = employee["org_unit_path"][-1]
        name = as_written(employee["name"], rng)
        if kind == "name+unit typo":
            name = typo(name, rng)
        elif kind == "name only":
            return {"name": name, "position": employee["position"]}, day
        elif kind == "unknown":
            name = rng.choice(UNKNOWN_NAMES)
        return {"name": name, "org_unit_code": unit}, day

    def make(self) -> tuple[str, bytes]:
        rng = self.rng
        kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
        accused, day = self.accused(kind)
        self.recent = [*self.recent[-199:], (accused, day)]
        evidence = [
            rng.choice(
                (
                    {
                        "url": f"https://www.instagram.com/p/{uuid.uuid4().hex[:11]}/",
                        "media_type": "image/jpeg",
                    },
                    {"sha256": uuid.uuid4().hex * 2, "media_type": "video/mp4", "note": "rekaman video"},
                    {"note": "tangkapan layar percakapan grup", "media_type": "image/png"},
                )
            )
            for _ in range(rng.randint(0, 3))
        ]
        reporter = None
        if rng.random() < 0.5:
            contact = rng.choice(
                (
                    f"+62812{rng.randint(10**7, 10**8 - 1)}",
                    f"{rng.choice(string.ascii_lowercase)}warga@mail.id",
                )
            )
            reporter = {"name": rng.choice(REPORTER_NAMES), "contact": contact}
        body = {
            "category": rng.choice(CATEGORIES).code,
            "description": rng.choice(DESCRIPTIONS).format(calon=rng.choice(CANDIDATES)),
            "incident_date": day.isoformat(),
            "location": rng.choice(LOCATIONS),
            "accused": accused,
            "evidence": evidence,
            "reporter": reporter,
        }
        return kind, json.dumps(body).encode()

    def take(self, count: int) -> list[tuple[str, bytes]]:
        return [self.make() for _ in range(count)]


# ---------------------------------------------------------------- driving the intake


async def post_report(
    connections: Connections, load: IntakeLoad, kind: str, body: bytes, started: float
) -> None:
    try:
        response = await connections.post("/v1/reports", body, JSON_HEADERS)
    except httpx.HTTPError as exc:
        latency = (time.perf_counter() - started) * 1000
        load.failed(exc, latency)
    else:
        latency = (time.perf_counter() - started) * 1000
        load.record(response.status_code, response.text, latency)
    load.kind_latency(kind, latency)


async def closed_intake(
    connections: Connections, load: IntakeLoad, bodies: list[tuple[str, bytes]], seconds: float
) -> None:
    """`load.concurrency` clients, each posting its next report as soon as the last is answered."""
    pending = iter(bodies)
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        for kind, body in pending:
            load.sent += 1
            await post_report(connections, load, kind, body, time.perf_counter())
            if time.perf_counter() >= deadline:
                return

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(load.concurrency):
            group.create_task(client())
    load.elapsed_s = time.perf_counter() - started
    if load.sent == len(bodies) and load.elapsed_s < seconds:
        load.note = f"bodies ran out after {load.elapsed_s:.1f} s"


async def open_intake(
    connections: Connections, load: IntakeLoad, bodies: list[tuple[str, bytes]], per_s: float
) -> None:
    """Report i is due at t0 + i / per_s whatever happened to the earlier ones; latency counts
    from the due time, so waiting for a free connection or for the service counts too. Offering
    stops early once BACKLOG_S seconds of reports wait unanswered: the service cannot keep up,
    and the rest would only lengthen the run."""
    tasks: list[asyncio.Task[None]] = []
    t0 = time.perf_counter() + 0.05
    for i, (kind, body) in enumerate(bodies):
        due = t0 + i / per_s
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        waiting = load.sent - len(load.latencies_ms)
        if waiting > per_s * BACKLOG_S:
            load.note = (
                f"stopped offering after {time.perf_counter() - t0:.1f} s with {waiting:,} reports "
                f"unanswered (over {BACKLOG_S:.0f} s of backlog): the service does not keep up "
                f"with {per_s:.0f}/s"
            )
            break
        load.send_lateness_ms.append((time.perf_counter() - due) * 1000)
        load.sent += 1
        tasks.append(asyncio.create_task(post_report(connections, load, kind, body, due)))
    await asyncio.gather(*tasks)
    load.elapsed_s = time.perf_counter() - t0


async def intake_steps(
    results: Results, url: str, uri: str, bodies: Bodies, pids: dict[str, int], seconds: float
) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri)
    try:
        await intake_phases(results, url, client, bodies, pids, seconds)
    finally:
        await client.close()


async def intake_phases(
    results: Results,
    url: str,
    client: AsyncMongoClient[Document],
    bodies: Bodies,
    pids: dict[str, int],
    seconds: float,
) -> None:
    for concurrency in CONCURRENCIES:
        load = IntakeLoad(f"closed loop, {concurrency} clients", concurrency=concurrency)
        results.closed.append(load)
        batch = bodies.take(math.ceil(seconds * CLOSED_BODIES_PER_S))
        print(f"    {load.name}, {seconds:.0f} s ...", flush=True)
        async with Connections(url, concurrency) as connections:
            meter = await Meter.start(pids, client)
            await closed_intake(connections, load, batch, seconds)
            load.usage = await meter.stop()
        print(
            f"    {load.created:,} reports in {load.elapsed_s:.1f} s: {load.per_s:,.0f}/s, "
            f"p99 {percentile(load.latencies_ms, 0.99):.0f} ms",
            flush=True,
        )
    offered = results.offered
    batch = bodies.take(round(OFFERED_RATE * seconds))
    print(f"    offered load {OFFERED_RATE:.0f}/s for {len(batch) / OFFERED_RATE:.0f} s ...", flush=True)
    async with Connections(url, OFFERED_CONNECTIONS) as connections:
        meter = await Meter.start(pids, client)
        await open_intake(connections, offered, batch, OFFERED_RATE)
        offered.usage = await meter.stop()


async def verify_intake(results: Results, uri: str, database: str) -> None:
    """Every 201 is a report in MongoDB, and both of its events left the outbox."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri)
    try:
        db = client[database]
        outbox = db["outbox"]

        async def drained() -> bool:
            return await outbox.count_documents({"pending": True}) == 0

        try:
            results.drain_s = await poll(drained, DRAIN_TIMEOUT_S, POLL_SECONDS, "the outbox relay")
        except BenchFailure as exc:
            results.failures.append(str(exc))
        results.outbox_pending = await outbox.count_documents({"pending": True})
        results.reports_in_db = await db["reports"].count_documents({})
        results.cases_in_db = await db["cases"].count_documents({})
        published = {"pending": {"$exists": False}, "published_at": {"$type": "date"}}
        results.outbox_received = (
            await outbox.count_documents({"type": INTERNAL_RECEIVED, **published}),
            await outbox.count_documents({"type": PUBLIC_RECEIVED, **published}),
        )
        groups = await db["cases"].aggregate([{"$group": {"_id": "$match_status", "n": {"$sum": 1}}}])
        results.match_status = {row["_id"]: row["n"] async for row in groups}
    finally:
        await client.close()
    created = results.created
    for load in results.loads:
        results.check(load.error_count == 0, f"{load.name}: {load.error_count} errors {dict(load.errors)}")
        results.check(
            load.created == load.sent, f"{load.name}: {load.created:,} answers 201 of {load.sent:,} requests"
        )
    results.check(
        results.reports_in_db == created,
        f"{results.reports_in_db:,} reports in MongoDB, {created:,} answers 201",
    )
    internal, public = results.outbox_received
    results.check(
        internal == created and public == created,
        f"published events: {internal:,} {INTERNAL_RECEIVED} and {public:,} {PUBLIC_RECEIVED}, "
        f"expected {created:,} each",
    )
    results.check(results.outbox_pending == 0, f"{results.outbox_pending:,} outbox events still pending")


# ---------------------------------------------------------------- raw transactions of the intake's shape


@dataclass(frozen=True)
class IntakeShape:
    """Documents one intake wrote (a new case, with a reporter), to be copied under new ids."""

    case: Document
    report: Document
    identity: Document
    outbox: list[Document]

    def describe(self) -> str:
        sizes = [len(json.dumps(doc, default=str)) for doc in (self.case, self.report, self.identity)]
        events = "+".join(str(len(json.dumps(doc, default=str))) for doc in self.outbox)
        return f"case ~{sizes[0]} B, report ~{sizes[1]} B, identity ~{sizes[2]} B, outbox {events} B (JSON)"


async def sample_shape(uri: str, database: str) -> IntakeShape:
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri, tz_aware=True)
    try:
        db = client[database]
        identity = await db["reporter_identities"].find_one({})
        if identity is None:
            raise BenchFailure("no reporter identity was stored: cannot copy an intake's documents")
        report = await db["reports"].find_one({"_id": identity["_id"]})
        case = await db["cases"].find_one({"_id": identity["case_id"]})
        events = [
            await db["outbox"].find_one({"type": kind}) for kind in (INTERNAL_RECEIVED, PUBLIC_RECEIVED)
        ]
    finally:
        await client.close()
    if report is None or case is None or None in events:
        raise BenchFailure("the sampled intake's report, case or events are missing")
    fresh = [{key: value for key, value in doc.items() if key != "published_at"} for doc in events if doc]
    return IntakeShape(case, report, identity, [{**doc, "pending": True} for doc in fresh])


@dataclass
class RawRun:
    count: int = 0
    seconds: float = 0.0
    usage: Usage = field(default_factory=lambda: Usage())

    @property
    def per_s(self) -> float:
        return rate(self.count, self.seconds)


async def raw_intake_transactions(
    settings: ReportsSettings, shape: IntakeShape, seconds: float, pids: dict[str, int]
) -> dict[int, RawRun]:
    store = open_store(settings)
    client = store.runtime.client
    try:
        await store.ensure_indexes()
        await store.runtime.outbox.ensure_indexes()
        outbox = store.runtime.outbox.collection

        async def one() -> None:
            key = f"emp:{uuid.uuid4().hex}"
            case_id, report_id = str(uuid.uuid4()), str(uuid.uuid4())

            async def work(session: Session) -> None:
                await store.subjects.find_one_and_update(
                    {"_id": key},
                    {"$inc": {"reports": 1}, "$setOnInsert": {"cases": []}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                    session=session,
                )
                await store.cases.insert_one(
                    {**shape.case, "_id": case_id, "subject_key": key}, session=session
                )
                await store.reports.insert_one(
                    {**shape.report, "_id": report_id, "case_id": case_id, "tracking_hash": uuid.uuid4().hex},
                    session=session,
                )
                await store.identities.insert_one(
                    {**shape.identity, "_id": report_id, "case_id": case_id}, session=session
                )
                await outbox.insert_many(
                    [{**doc, "_id": ObjectId()} for doc in shape.outbox], session=session
                )

            await in_transaction(client, work)

        await one()  # warm-up: connections, collections
        runs: dict[int, RawRun] = {}
        for concurrency in CONCURRENCIES:
            meter = await Meter.start(pids, client)
            count, elapsed = await for_duration(concurrency, seconds, one)
            runs[concurrency] = RawRun(count, elapsed, await meter.stop())
        return runs
    finally:
        await client.close()


# ---------------------------------------------------------------- the deadline scan


def transition_entry(state: CaseState, action: Action, role: str, at: dt.datetime) -> Document:
    return {
        "state": state.value,
        "action": action.value,
        "reason": "Tindak lanjut sesuai prosedur satuan tugas netralitas.",
        "actor_role": role,
        "actor": f"{role}-bench",
        "at": at,
    }


# (state reached, actions that lead there with their roles)
PATHS: dict[CaseState, tuple[tuple[Action, str], ...]] = {
    CaseState.RECEIVED: (),
    CaseState.VERIFIED: ((Action.VERIFY, "bkpsdm"),),
    CaseState.RECOMMENDED: ((Action.VERIFY, "bkpsdm"), (Action.RECOMMEND, "bawaslu")),
}
REACHES = {Action.VERIFY: CaseState.VERIFIED, Action.RECOMMEND: CaseState.RECOMMENDED}
# (state, days since the last step) for cases still within their deadline, and for overdue ones.
FUTURE_AGES = [(CaseState.RECEIVED, d) for d in range(7)] * 3 + [
    *((CaseState.VERIFIED, d) for d in range(2)),
    *((CaseState.RECOMMENDED, d) for d in range(10)),
]
DUE_AGES = [(CaseState.RECEIVED, d) for d in range(8, 40)] * 2 + [
    *((CaseState.VERIFIED, d) for d in range(8, 25)),
    *((CaseState.RECOMMENDED, d) for d in range(25, 60)),
]


class CaseFactory:
    """Open cases exactly as the intake writes them. Per employee, `CaseRules.open_case` gives the
    subject's fields; per (state, age), `open_case` then the deadline `transition` starts and
    `schedule` give the rest. A case is the two merged under a new id."""

    def __init__(self, rules: CaseRules, employees: list[Document], now: dt.datetime, seed: int) -> None:
        self.rules = rules
        self.now = now
        self.rng = random.Random(seed)
        self.subjects = [self.subject_fields(employee) for employee in employees]
        templates = [self.template(state, age, employees[0]) for state, age in FUTURE_AGES + DUE_AGES]
        self.due = [t for t in templates if t["next_due_at"] <= now]
        self.future = [t for t in templates if t["next_due_at"] > now]
        if not self.due or not self.future:
            raise BenchFailure("could not build both due and not-yet-due case templates")

    def intake(self, employee: Document, category: str, incident: dt.date) -> Intake:
        accused = {
            "name": employee["name"],
            "nip": employee["nip"],
            "org_unit_code": employee["org_unit_code"],
        }
        return Intake(category, DESCRIPTIONS[0], incident, LOCATIONS[0], accused, [], None, channel="public")

    def new_case(self, employee: Document, category: str, incident: dt.date, at: dt.datetime) -> Document:
        """What the intake inserts for a new case about `employee`."""
        ref = employee_ref(employee)
        if employee["nip"]:
            result = match_by_nip(employee["nip"], ref)
        else:
            result = match_by_name(employee["name"], [ref])
        key = subject_key(result.employee_id, employee["name"], employee["org_unit_code"])
        prepared = PreparedIntake(
            intake=self.intake(employee, category, incident),
            match=result,
            employee=employee,
            unit_code=employee["org_unit_code"],
            unit_path=employee["org_unit_path"],
            subject_key=key,
            report_id=str(uuid.uuid4()),
            new_case_id=str(uuid.uuid4()),
            tracking_code="",
            tracking_hash="",
            received_at=at,
            sealed_identity=None,
            sealed_contact=None,
        )
        case = self.rules.open_case(prepared.new_case_id, prepared)
        return case

    def subject_fields(self, employee: Document) -> Document:
        case = self.new_case(employee, CATEGORIES[0].code, self.now.date(), self.now)
        keys = (
            "subject_key",
            "subject_keys",
            "accused",
            "subject",
            "subjects",
            "match_status",
            "candidates",
            "org_unit_code",
        )
        return {key: case[key] for key in (*keys, "org_unit_path", "lineage")}

    def template(self, state: CaseState, age_days: int, employee: Document) -> Document:
        """A case whose last step (`state`) was `age_days` ago, with the deadlines that steps start."""
        steps = PATHS[state]
        last_step = self.now - dt.timedelta(days=age_days, hours=self.rng.uniform(0, 8))
        received = last_step - dt.timedelta(days=2 * len(steps), hours=self.rng.uniform(0, 8))
        category = self.rng.choice(CATEGORIES).code
        incident = received.date() - dt.timedelta(days=self.rng.randint(0, 3))
        case = self.new_case(employee, category, incident, received)
        for i, (action, role) in enumerate(steps, start=1):
            at = received + (last_step - received) * i / len(steps)
            reached = REACHES[action]
            case["state"] = reached.value
            case["history"].append(transition_entry(reached, action, role, at))
            kind = DEADLINE_STARTED_BY.get(reached)
            if kind is not None:
                case["deadlines"][kind.value] = self.rules.due(kind, at)
            case["version"] += 1
            case["updated_at"] = at
            # The bench's states are all the case's own steps (up to the recommendation), so the
            # case's stage moves with them and its subjects have no state of their own yet.
            case["stage"] = reached.value
        self.rules.schedule(case)
        return case

    def batch(self, start: int, count: int) -> list[Document]:
        rng = self.rng
        cases = []
        for i in range(start, start + count):
            template = rng.choice(self.due if i % DUE_EVERY == 0 else self.future)
            cases.append(
                {
                    **template,
                    **rng.choice(self.subjects),
                    "_id": str(uuid.uuid4()),
                    "report_ids": [str(uuid.uuid4())],
                }
            )
        return cases


async def insert_cases(store: ReportsStore, factory: CaseFactory, count: int) -> None:
    starts: Iterator[int] = iter(range(0, count, INSERT_BATCH))

    async def worker() -> None:
        for start in starts:
            await store.cases.insert_many(
                factory.batch(start, min(INSERT_BATCH, count - start)), ordered=False
            )

    async with asyncio.TaskGroup() as group:
        for _ in range(INSERT_CONCURRENCY):
            group.create_task(worker())


async def scan_steps(
    results: Results, settings: ReportsSettings, employees: list[Document], pids: dict[str, int]
) -> None:
    store = open_store(settings)
    usecases = open_usecases(store, settings)
    client = store.runtime.client
    try:
        now = dt.datetime.now(dt.UTC)
        await store.runtime.outbox.ensure_indexes()
        factory = CaseFactory(usecases.rules, employees, now, seed=7)
        started = time.perf_counter()
        await insert_cases(store, factory, results.cases)
        results.scan_insert_s = time.perf_counter() - started
        print(
            f"    inserted {results.cases:,} cases in {results.scan_insert_s:.1f} s; indexes ...", flush=True
        )
        started = time.perf_counter()
        await store.ensure_indexes()
        results.scan_index_s = time.perf_counter() - started
        due_query = {"next_due_at": {"$lte": now}}
        results.scan_open = await store.cases.count_documents({"next_due_at": {"$type": "date"}})
        saved = [doc async for doc in store.cases.find(due_query)]
        results.scan_due = len(saved)
        results.scan_due_states = dict(Counter(doc["state"] for doc in saved))
        for batch in SCAN_BATCHES:
            if results.scans:  # the previous scan fired them: put the due cases back as they were
                await store.cases.delete_many({"_id": {"$in": [doc["_id"] for doc in saved]}})
                await store.cases.insert_many(saved)
                await store.runtime.outbox.collection.delete_many({})
            scan = Scan(batch)
            results.scans.append(scan)
            print(f"    full scan, batch {batch:,} ...", flush=True)
            meter = await Meter.start(pids, client)
            started = time.perf_counter()
            more = True
            while more:
                fired, more = await usecases.scan_deadlines(now, batch)
                scan.calls += 1
                scan.fired.update(duty.key for duty in fired)
            scan.seconds = time.perf_counter() - started
            scan.usage = await meter.stop()
            scan.outbox_events = await store.runtime.outbox.collection.count_documents({})
            for _ in range(IDLE_SCANS):
                started = time.perf_counter()
                fired, more = await usecases.scan_deadlines(now, batch)
                scan.idle_ms.append((time.perf_counter() - started) * 1000)
                results.check(
                    not fired and not more, f"a second scan (batch {batch}) still fired {len(fired)} duties"
                )
            left = await store.cases.count_documents(due_query)
            results.check(left == 0, f"after the scan (batch {batch}) {left:,} cases still have a duty due")
            results.check(
                scan.outbox_events == 2 * scan.duties,
                f"scan (batch {batch}): {scan.outbox_events:,} outbox events for {scan.duties:,} duties "
                "(2 each)",
            )
    finally:
        await client.close()


# ---------------------------------------------------------------- report


def latency_note(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5):.0f} ms, p99 {percentile(values, 0.99):.0f} ms, "
        f"max {max(values, default=0):.0f} ms"
    )


def usage_line(usage: Usage, count: int, unit: str, units: str, generator: str | None = None) -> str:
    """CPU ms and mongod requests per unit of work, and the rate that CPU cost would allow on the
    whole machine without other processes (and without the load generator `generator`)."""
    each = usage.ms_each(count)
    if not each:
        return "-"
    ms = ", ".join(f"{name} {value:.2f}" for name, value in sorted(each.items()))
    doing = sum(value for name, value in each.items() if name != generator)
    cores = os.cpu_count() or 1
    ceiling = cores * 1000 / doing if doing else 0.0
    ours = sum(share for name, share in usage.cores.items() if name != "others")
    without = f", {generator} excluded" if generator else ""
    requests, docs = usage.mongod.requests / count, usage.mongod.docs / count
    return (
        f"CPU ms/{unit}: {ms} → at most {ceiling:,.0f} {units}/s on {cores} free cores{without}; "
        f"mongod per {unit}: {requests:.2f} requests, {docs:,.1f} docs examined; "
        f"cores busy: ours {ours:.2f}, other processes {usage.cores.get('others', 0):.2f}"
    )


Row = tuple[str, float, float, str, str]


def table_rows(results: Results) -> list[Row]:
    rows: list[Row] = []
    for concurrency, raw in sorted(results.raw.items()):
        rows.append(
            (
                f"raw intake-shaped tx, {concurrency} concurrent ({raw.count:,})",
                raw.seconds,
                raw.per_s,
                "tx/s",
                "",
            )
        )
    for load in results.closed:
        raw_rate = results.raw[load.concurrency].per_s if load.concurrency in results.raw else 0.0
        share = f"{load.per_s / raw_rate:6.1%} of raw tx ×{load.concurrency}; " if raw_rate else ""
        what = f"intake, {load.name} ({load.created:,})"
        rows.append((what, load.elapsed_s, load.per_s, "rep/s", share + latency_note(load.latencies_ms)))
    offered = results.offered
    if offered.sent:
        what = f"intake, {offered.name} open loop ({offered.created:,})"
        rows.append((what, offered.elapsed_s, offered.per_s, "rep/s", latency_note(offered.latencies_ms)))
    if results.scans:
        what = f"insert {results.cases:,} cases (insert_many ×{INSERT_BATCH:,})"
        rows.append(
            (what, results.scan_insert_s, rate(results.cases, results.scan_insert_s), "docs/s", "setup")
        )
        rows.append(("build the cases' indexes (ensure_indexes)", results.scan_index_s, 0.0, "", "setup"))
    for scan in results.scans:
        what = f"deadline scan, batch {scan.batch:,} ({scan.calls} calls)"
        note = (
            f"{scan.duties:,} duties fired, {scan.outbox_events:,} outbox events; mongod examined "
            f"{scan.usage.mongod.docs:,} docs, {scan.usage.mongod.keys:,} keys"
        )
        rows.append((what, scan.seconds, rate(scan.duties, scan.seconds), "duty/s", note))
    for scan in results.scans:
        if scan.idle_ms:
            what = f"deadline scan with nothing due, batch {scan.batch:,}"
            idle = statistics.median(scan.idle_ms)
            note = f"{idle:.1f} ms (median of {len(scan.idle_ms)}; max {max(scan.idle_ms):.1f} ms)"
            rows.append((what, idle / 1000, 0.0, "", note))
    return rows


Goal = tuple[str, str, str, bool]


def goal_rows(results: Results) -> list[Goal]:
    goals: list[Goal] = []
    if results.closed:
        best = max(results.closed, key=lambda load: load.per_s)
        what = f"intake reports/s, best closed loop (C={best.concurrency})"
        goals.append(
            (what, f"≥ {GOAL_REPORTS_PER_S}/s", f"{best.per_s:,.0f}/s", best.per_s >= GOAL_REPORTS_PER_S)
        )
    offered = results.offered
    if offered.sent:
        measured = f"{offered.per_s:,.0f}/s, p99 {percentile(offered.latencies_ms, 0.99):,.0f} ms"
        met = offered.per_s >= GOAL_REPORTS_PER_S * 0.99 and offered.error_count == 0 and not offered.note
        goals.append((f"intake at {OFFERED_RATE:.0f}/s offered", f"≥ {GOAL_REPORTS_PER_S}/s", measured, met))
    for scan in results.scans:
        what = f"one scan of {results.cases:,} open cases, batch {scan.batch:,}"
        goals.append((what, f"< {GOAL_SCAN_S:.0f} s", f"{scan.seconds:.2f} s", scan.seconds < GOAL_SCAN_S))
    return goals


def print_intake_details(results: Results, cores: int) -> None:
    print(
        f"projection: {results.org_units:,} org units and {results.employees:,} employees written through "
        f"ReportsStore.projection, {PROJECTION_BATCH} per transaction, "
        f"{PROJECTION_CONCURRENCY} at a time, in {results.preload_s:.1f} s"
    )
    print(
        "raw tx: subject upsert, insert case, report and identity, insert_many 2 outbox docs, on the "
        f"service's indexes; copies of one intake's documents: {results.raw_shape}"
    )
    print(
        "(intake also does, outside its transaction, the match (1 find, up to 5 batches for a name) and "
        "the unit look-up, and inside it an update_one ($push onto the subject) for a new case)"
    )
    first = results.closed[0] if results.closed else None
    if first is not None:
        print(f"latency by kind of body, {first.name} (the least queueing):")
        for kind in KINDS:
            values = first.by_kind.get(kind, [])
            print(
                f"    {kind:<16} {len(values):6,} reports  p50 {percentile(values, 0.5):6.0f} ms  "
                f"p99 {percentile(values, 0.99):6.0f} ms"
            )
    linked = results.reports_in_db - results.cases_in_db
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(results.match_status.items()))
    print(
        f"stored: {results.reports_in_db:,} reports in {results.cases_in_db:,} cases ({linked:,} linked "
        f"into an existing case); cases by match status: {statuses}"
    )
    internal, public = results.outbox_received
    print(
        f"events: {internal:,} {INTERNAL_RECEIVED} + {public:,} {PUBLIC_RECEIVED} published by the relay, "
        f"{results.outbox_pending} pending; outbox empty {results.drain_s:.1f} s after the last answer"
    )
    offered = results.offered
    if offered.sent:
        lateness = percentile(offered.send_lateness_ms, 0.99)
        print(
            f"offered: {offered.sent:,} requests sent, {offered.created:,} answered 201, "
            f"{offered.error_count} errors; up to {OFFERED_CONNECTIONS} connections; generator p99 lateness "
            f"{lateness:.1f} ms"
        )
    print("CPU cost per unit of work ('other processes': work on the machine that is not this bench's):")
    for concurrency, raw in sorted(results.raw.items()):
        print(f"    raw tx ×{concurrency}: {usage_line(raw.usage, raw.count, 'tx', 'tx')}")
    for load in results.loads:
        if load.created:
            line = usage_line(load.usage, load.created, "report", "reports", "bench")
            print(f"    intake, {load.name}: {line}")
    for load in results.loads:
        if load.note:
            print(f"{load.name}: {load.note}")
        for sample in load.error_samples:
            print(f"  {load.name} error: {sample}")


def print_scan_details(results: Results) -> None:
    states = ", ".join(f"{k} {v:,}" for k, v in sorted(results.scan_due_states.items()))
    print(
        f"scan set: {results.scan_open:,} cases with a duty pending (in the due_duties partial index), "
        f"{results.scan_due:,} due at scan time ({states}); the scan runs in this process with no relay: "
        "its events stay in the outbox"
    )
    for scan in results.scans:
        fired = ", ".join(f"{k} {v:,}" for k, v in sorted(scan.fired.items()))
        idle = "-"
        if scan.idle_ms:
            idle = f"median {statistics.median(scan.idle_ms):.1f} ms, max {max(scan.idle_ms):.1f} ms"
        print(f"scan batch {scan.batch:,}: fired {fired}")
        print(f"    CPU: {usage_line(scan.usage, scan.duties, 'duty', 'duties')}")
        per_case = scan.usage.mongod.docs / results.scan_due if results.scan_due else 0.0
        verdict = "reads only due cases" if per_case < 3 else "READS CASES THAT ARE NOT DUE (index unused?)"
        print(f"    mongod examined {per_case:.1f} documents per due case: the scan {verdict}")
        print(f"    then a scan with nothing due: {idle} ({len(scan.idle_ms)} runs)")


def report(results: Results, cores: int, seconds: float) -> dict[str, Any]:
    rows, goals = table_rows(results), goal_rows(results)
    print()
    cases = f", {results.cases:,} open cases" if results.scans else ""
    print(
        f"Reports benchmark: {results.employees:,} employees in the projection{cases}, {cores} cores, "
        f"one run; 1-min load average at start {results.load_before:.2f}"
    )
    print(
        "The reports service, mongod, tansu and this load generator (httpx, one process) share the "
        "same cores; other work on the machine skews every row (see 'other processes' below)."
    )
    print(f"{'measure':<56} {'seconds':>8} {'rate':>10}  {'unit':<6} ratio / notes")
    print("-" * 150)
    for what, elapsed, value, unit, note in rows:
        shown = f"{value:10,.0f}" if unit else f"{'':10}"
        print(f"{what:<56} {elapsed:8.2f} {shown}  {unit:<6} {note}")
    print("-" * 150)
    if results.closed or results.offered.sent:
        print_intake_details(results, cores)
    if results.scans:
        print_scan_details(results)
    print()
    print(f"{'goal':<52} {'target':>10}  {'measured':<28} verdict")
    for what, target, measured, met in goals:
        print(f"{what:<52} {target:>10}  {measured:<28} {'PASS' if met else 'MISS'}")
    if results.failures:
        print("CHECKS FAILED:")
        for failure in results.failures:
            print(f"  - {failure}")
    else:
        print("checks: all passed")
    summary = {
        "employees": results.employees,
        "cores": cores,
        "phase_seconds": seconds,
        "load_average_at_start": round(results.load_before, 2),
        "raw_tx_per_s": {str(c): round(raw.per_s) for c, raw in results.raw.items()},
        "intake_per_s": {str(load.concurrency): round(load.per_s) for load in results.closed},
        "intake_p99_ms": {
            str(load.concurrency): round(percentile(load.latencies_ms, 0.99), 1) for load in results.closed
        },
        "offered_per_s": OFFERED_RATE,
        "offered_achieved_per_s": round(results.offered.per_s),
        "offered_p50_ms": round(percentile(results.offered.latencies_ms, 0.5), 1),
        "offered_p99_ms": round(percentile(results.offered.latencies_ms, 0.99), 1),
        "reports_created": results.created,
        "cases": results.cases,
        "cases_due": results.scan_due,
        "insert_cases_s": round(results.scan_insert_s, 1),
        "scan_s": {str(scan.batch): round(scan.seconds, 2) for scan in results.scans},
        "scan_duties": {str(scan.batch): scan.duties for scan in results.scans},
        "idle_scan_ms": {
            str(scan.batch): round(statistics.median(scan.idle_ms), 1)
            for scan in results.scans
            if scan.idle_ms
        },
        "goals_met": {what: met for what, _, _, met in goals},
        "checks_passed": not results.failures,
    }
    print(json.dumps(summary, separators=(",", ":")))
    return summary


# ---------------------------------------------------------------- main


async def delete_prefixed_topics(bootstrap: str, prefix: str) -> None:
    """The topics the service created under this run's prefix (catalog and dead letters)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [name for name in await admin.list_topics() if name.startswith(prefix)]
    finally:
        await admin.close()
    if names:
        await delete_topics(bootstrap, names)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.reports_bench", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument(
        "--employees", type=int, default=EMPLOYEES, help=f"projected employees (default {EMPLOYEES})"
    )
    parser.add_argument("--cases", type=int, default=CASES, help=f"open cases for the scan (default {CASES})")
    parser.add_argument(
        "--seconds",
        type=float,
        default=CLOSED_SECONDS,
        help=f"length of each intake phase (default {CLOSED_SECONDS:.0f})",
    )
    parser.add_argument(
        "--only",
        choices=("intake", "scan"),
        help="run only the intake part (with its raw baseline) or the scan",
    )
    args = parser.parse_args(argv)
    if args.employees < 10 or args.cases < DUE_EVERY or args.seconds <= 0:
        parser.error(f"--employees ≥ 10, --cases ≥ {DUE_EVERY} and --seconds > 0")
    return args


async def setup_projection(
    results: Results, settings: ReportsSettings, units: list[Document], employees: list[Document]
) -> list[Document]:
    """Preloads the projection; returns the employee documents as the store keeps them."""
    store = open_store(settings)
    try:
        results.preload_s = await preload(store, units, employees)
        return [doc async for doc in store.employees.find({})]
    finally:
        await store.runtime.client.close()


def run_intake(
    results: Results,
    settings: ReportsSettings,
    env: dict[str, str],
    log_path: Path,
    units: list[Document],
    snapshots: list[Document],
    pids: dict[str, int],
    seconds: float,
) -> list[Document]:
    """Steps 1 to 5; returns the projected employees."""
    url = f"http://127.0.0.1:{env['HTTP_PORT']}"
    print("1/6 starting the reports service ...", flush=True)
    process = start_service("services.reports", env, log_path)
    pids["reports"] = process.pid
    try:
        wait_ready(url, 60, log_path)
        print(f"    reports pid {process.pid} ready at {url}", flush=True)
        print(f"    projecting {len(units):,} org units and {len(snapshots):,} employees ...", flush=True)
        employees = asyncio.run(setup_projection(results, settings, units, snapshots))
        results.check(len(employees) == len(snapshots), f"the projection holds {len(employees):,} employees")
        print(f"    done in {results.preload_s:.1f} s", flush=True)
        print("2/6 and 3/6 intake: closed loops, then the offered load ...", flush=True)
        asyncio.run(
            intake_steps(results, url, settings.mongodb_uri, Bodies(employees, seed=11), pids, seconds)
        )
        print("4/6 checking reports and events ...", flush=True)
        asyncio.run(verify_intake(results, settings.mongodb_uri, settings.database_name))
        shape = asyncio.run(sample_shape(settings.mongodb_uri, settings.database_name))
        results.raw_shape = shape.describe()
    finally:
        stop_registry(process)
        pids.pop("reports", None)
        if process.returncode not in (0, -signal.SIGTERM):
            results.failures.append(f"reports exited with code {process.returncode}")
    print(
        f"5/6 raw intake-shaped transactions, {RAW_SECONDS:.0f} s at each of {CONCURRENCIES} ...", flush=True
    )
    raw_settings = settings.model_copy(update={"mongodb_database": f"{settings.database_name}_raw"})
    results.raw = asyncio.run(raw_intake_transactions(raw_settings, shape, RAW_SECONDS, pids))
    return employees


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    skip_sniffio_search()
    seconds: float = args.seconds
    results = Results(employees=args.employees, cases=args.cases)
    work = Path(tempfile.mkdtemp(prefix="netral-reportsbench-"))
    unique = f"r{uuid.uuid4().hex[:10]}"
    prefix = f"{unique}."
    log_path = work / "reports.log"
    engine_root = work / "engines"
    keys = work / "keys"
    external = bool(os.environ.get("MONGODB_URI") and os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    print(f"work dir: {work} (log: {log_path})", flush=True)

    exit_code = 0
    pids: dict[str, int] = {"bench": os.getpid()}
    try:
        if external:
            uri, bootstrap = os.environ["MONGODB_URI"], os.environ["KAFKA_BOOTSTRAP_SERVERS"]
            print("engines: external (MONGODB_URI, KAFKA_BOOTSTRAP_SERVERS)", flush=True)
        else:
            running = engines.start(engine_root)
            uri, bootstrap = running.mongodb_uri, running.kafka_bootstrap
            pids |= {"mongod": running.mongo_pid, "tansu": running.kafka_pid}
            print(f"engines: local mongod {uri}, tansu {bootstrap}", flush=True)
        ensure_dev_keys(keys)
        settings = reports_settings(uri, bootstrap, f"{unique}_reports", prefix, keys)
        raw_units, people = generate(args.employees)
        units = unit_snapshots(raw_units)
        snapshots = employee_snapshots(people, units)
        results.org_units = len(units)
        env = {
            **os.environ,
            "MONGODB_URI": uri,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "MONGODB_DATABASE": settings.database_name,
            "KAFKA_TOPIC_PREFIX": prefix,
            "HTTP_PORT": str(engines.free_port()),
            "DEV_MODE": "true",
            "AUTH_PUBLIC_KEY_FILE": str(settings.auth_public_key_file),
            "REPORTER_KEY_FILE": str(settings.reporter_key_file),
            "NOTIFY_CONTACT_PRIVATE_KEY_FILE": str(settings.notify_contact_private_key_file),
            "TRACKING_KEY_FILE": str(settings.tracking_key_file),
            "RATE_LIMIT_INTAKE": RATE_LIMIT_INTAKE,
            "LOG_LEVEL": "WARNING",
        }
        if args.only == "scan":
            employees = asyncio.run(setup_projection(results, settings, units, snapshots))
        else:
            employees = run_intake(results, settings, env, log_path, units, snapshots, pids, seconds)
        if args.only != "intake":
            print(f"6/6 deadline scan over {args.cases:,} open cases ...", flush=True)
            scan_settings = settings.model_copy(update={"mongodb_database": f"{unique}_scan"})
            asyncio.run(scan_steps(results, scan_settings, employees, pids))
        if external:
            for database in (settings.database_name, f"{unique}_reports_raw", f"{unique}_scan"):
                asyncio.run(drop_database(uri, database))
            asyncio.run(delete_prefixed_topics(bootstrap, prefix))
    except BenchFailure as exc:
        results.failures.append(f"aborted: {exc}")
        exit_code = 1
    finally:
        if not external:
            engines.stop(engine_root)
            shutil.rmtree(engine_root / "mongo", ignore_errors=True)

    print("done", flush=True)
    problems = log_problems(log_path)
    if problems:
        print(f"reports log ({log_path}) has warnings/errors:")
        for line in problems:
            print(f"  {line}")
    report(results, os.cpu_count() or 0, seconds)
    return 1 if exit_code or results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
