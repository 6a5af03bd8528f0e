"""Registry throughput against the raw limits of this machine, measured together in one run.

    .venv/bin/python -m tests.bench.registry_bench [--employees N]

Steps, one after the other on the same engines:
  1. raw pymongo insert_many (small employee-like documents, batches of 1000);
  2. raw aiokafka produce (~400-byte values, keys, six ce_* headers, acks=all);
  3. the registry as a real process: org units through the API, then a bulk import of
     employees.csv timed from the POST until the job is `completed`;
  4. the employee events end to end on Kafka (N distinct ce_id) and the outbox relay's own
     rate from the `published_at` stamps it writes;
  5. a second import of the same file, which must change nothing and emit no events.

Engines: MONGODB_URI and KAFKA_BOOTSTRAP_SERVERS when both are set, otherwise a private
mongod + Tansu pair under a temp dir, stopped at the end. Not a pytest test.
Exit code 1 when a correctness check fails; the throughput goal is reported, not enforced.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]
from pymongo import AsyncMongoClient

from netral import engines
from netral.devissuer import ensure_dev_keys, mint_token
from netral.devstack import wait_ready
from netral.seed import OrgUnitRow, generate, write_csv

RAW_COUNT = 200_000
RAW_BATCH = 1000
RAW_VALUE_BYTES = 400
ORG_UNIT_CONCURRENCY = 16
POLL_SECONDS = 0.2
GOAL_ROWS_PER_S = 10_000
GOAL_RATIO = 0.10
HTTP_TIMEOUT = 300.0

Document = dict[str, Any]


class BenchFailure(RuntimeError):
    """A step could not go on: the registry refused a request, an import failed, a timeout."""


@dataclass
class Results:
    employees: int
    raw_count: int = RAW_COUNT
    raw_insert_s: float = 0.0
    raw_produce_s: float = 0.0
    org_units: int = 0
    org_units_s: float = 0.0
    import_s: float = 0.0
    e2e_s: float = 0.0
    events_seen: int = 0
    duplicates_seen: int = 0
    relay_window_s: float = 0.0
    relay_first_batch: int = 0
    rerun_s: float = 0.0
    import_cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds per wall second of each process during the first import (1.0 = one core)."""
    load_before: float = field(default_factory=lambda: os.getloadavg()[0])
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process from /proc (Linux); None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(pids: dict[str, int]) -> dict[str, float]:
    return {name: used for name, pid in pids.items() if (used := cpu_seconds(pid)) is not None}


# ---------------------------------------------------------------- raw limits


def employee_like(index: int) -> Document:
    return {
        "nip": f"19{index:016d}",
        "name": f"Pegawai Nomor {index}",
        "employment_type": ("PNS", "PPPK", "NON_ASN")[index % 3],
        "position": "Analis Kebijakan Ahli Pertama",
        "level": "STAFF",
        "org_unit_code": f"32.01.{index % 40:02d}.{index % 7:02d}",
        "supervisor_nip": f"19{index // 30:016d}",
        "email": f"pegawai{index}@bogorkab.go.id",
        "phone": f"+62812{index:08d}",
        "active": True,
    }


async def raw_insert_many(uri: str, database: str, count: int) -> float:
    batches = [
        [employee_like(i) for i in range(start, min(start + RAW_BATCH, count))]
        for start in range(0, count, RAW_BATCH)
    ]
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri)
    try:
        collection = client[database]["scratch"]
        await collection.insert_one({"warm": True})
        started = time.perf_counter()
        for batch in batches:
            await collection.insert_many(batch)
        elapsed = time.perf_counter() - started
        await client.drop_database(database)
    finally:
        await client.close()
    return elapsed


async def create_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 3, 1)])
    finally:
        await admin.close()


async def raw_produce(bootstrap: str, topic: str, count: int) -> float:
    await create_topic(bootstrap, topic)
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    keys = [f"19{i:016d}".encode() for i in range(count)]
    headers = [
        [
            ("ce_specversion", b"1.0"),
            ("ce_id", str(uuid.uuid4()).encode()),
            ("ce_type", b"employee.registered.v1"),
            ("ce_source", b"netral/registry"),
            ("ce_time", now.encode()),
            ("ce_subject", key),
        ]
        for key in keys
    ]
    values = [json.dumps(employee_like(i)).encode().ljust(RAW_VALUE_BYTES) for i in range(count)]
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=1_048_576, acks="all"
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"warm-up", key=b"warm")
        started = time.perf_counter()
        futures: list[asyncio.Future[Any]] = []
        for i in range(count):
            futures.append(await producer.send(topic, values[i], key=keys[i], headers=headers[i]))
        await asyncio.gather(*futures)
        elapsed = time.perf_counter() - started
    finally:
        await producer.stop()
    return elapsed


# ---------------------------------------------------------------- the registry process


def start_registry(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.registry"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_registry(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def unit_levels(units: list[OrgUnitRow]) -> list[list[OrgUnitRow]]:
    """Org units by depth: a child can only be created once its parent exists."""
    by_code = {unit.code: unit for unit in units}
    depth: dict[str, int] = {}

    def depth_of(code: str) -> int:
        if code not in depth:
            parent = by_code[code].parent_code
            depth[code] = depth_of(parent) + 1 if parent and parent in by_code else 0
        return depth[code]

    levels: list[list[OrgUnitRow]] = []
    for unit in units:
        level = depth_of(unit.code)
        while len(levels) <= level:
            levels.append([])
        levels[level].append(unit)
    return levels


async def create_org_units(client: httpx.AsyncClient, units: list[OrgUnitRow]) -> None:
    for level in unit_levels(units):
        pending = iter(level)

        async def worker(pending: Iterator[OrgUnitRow] = pending) -> None:
            for unit in pending:
                body = {
                    "code": unit.code,
                    "name": unit.name,
                    "kind": unit.kind,
                    "parent_code": unit.parent_code,
                }
                response = await client.post("/v1/org-units", json=body)
                if response.status_code != 201:
                    raise BenchFailure(
                        f"POST /v1/org-units {unit.code}: HTTP {response.status_code} {response.text[:300]}"
                    )

        async with asyncio.TaskGroup() as group:
            for _ in range(min(ORG_UNIT_CONCURRENCY, len(level))):
                group.create_task(worker())


async def run_import(client: httpx.AsyncClient, csv_bytes: bytes) -> tuple[Document, float]:
    """POST the file and poll until the job ends; returns its final status and the duration."""
    started = time.perf_counter()
    response = await client.post("/v1/imports", files={"file": ("employees.csv", csv_bytes, "text/csv")})
    if response.status_code != 202:
        raise BenchFailure(f"POST /v1/imports: HTTP {response.status_code} {response.text[:500]}")
    import_id = str(response.json()["import_id"])
    while True:
        response = await client.get(f"/v1/imports/{import_id}")
        if response.status_code != 200:
            raise BenchFailure(
                f"GET /v1/imports/{import_id}: HTTP {response.status_code} {response.text[:500]}"
            )
        body: Document = response.json()
        if body["status"] == "completed":
            return body, time.perf_counter() - started
        if body["status"] == "failed":
            raise BenchFailure(f"import {import_id} failed: {json.dumps(body)[:1000]}")
        await asyncio.sleep(POLL_SECONDS)


async def joined_consumer(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    """A consumer already in its group and assigned, so that joining is not timed later."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:10]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
    )
    await consumer.start()
    deadline = time.monotonic() + 60
    early = 0
    while not consumer.assignment():
        if time.monotonic() > deadline:
            await consumer.stop()
            raise BenchFailure(f"consumer got no partitions of {topic} within 60 s")
        batch = await consumer.getmany(timeout_ms=200)
        early += sum(len(records) for records in batch.values())
    if early:
        await consumer.stop()
        raise BenchFailure(f"{topic} already held {early} records before the import")
    return consumer


async def read_distinct(consumer: AIOKafkaConsumer, wanted: int, limit_s: float) -> tuple[int, int]:
    """Consume until `wanted` distinct ce_id were seen; returns (distinct, duplicates)."""
    seen: set[bytes] = set()
    duplicates = 0
    deadline = time.monotonic() + limit_s
    while len(seen) < wanted and time.monotonic() < deadline:
        batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
        for records in batch.values():
            for record in records:
                ce_id = next((value for name, value in record.headers if name == "ce_id"), None)
                if ce_id is None:
                    continue
                if ce_id in seen:
                    duplicates += 1
                else:
                    seen.add(ce_id)
    return len(seen), duplicates


EMPLOYEE_EVENTS: Document = {"type": {"$regex": r"^employee\."}}


async def relay_window(uri: str, database: str) -> tuple[int, int, int, float, int]:
    """(employee events, still pending, first batch size, published_at window in s, all outbox docs)."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri)
    try:
        outbox = client[database]["outbox"]
        events = await outbox.count_documents(EMPLOYEE_EVENTS)
        pending = await outbox.count_documents({**EMPLOYEE_EVENTS, "pending": True})
        window = await outbox.aggregate(
            [
                {"$match": {**EMPLOYEE_EVENTS, "published_at": {"$ne": None}}},
                {
                    "$group": {
                        "_id": None,
                        "first": {"$min": "$published_at"},
                        "last": {"$max": "$published_at"},
                    }
                },
            ]
        )
        groups = await window.to_list()
        seconds, first_batch = 0.0, 0
        if groups:
            first, last = groups[0]["first"], groups[0]["last"]
            seconds = (last - first).total_seconds()
            first_batch = await outbox.count_documents({**EMPLOYEE_EVENTS, "published_at": first})
        total = await outbox.count_documents({})
    finally:
        await client.close()
    return events, pending, first_batch, seconds, total


async def outbox_count(uri: str, database: str) -> int:
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri)
    try:
        return await client[database]["outbox"].count_documents({})
    finally:
        await client.close()


async def registry_steps(
    results: Results,
    url: str,
    token: str,
    units: list[OrgUnitRow],
    csv_bytes: bytes,
    uri: str,
    bootstrap: str,
    database: str,
    prefix: str,
    pids: dict[str, int],
) -> None:
    n = results.employees
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=HTTP_TIMEOUT) as client:
        started = time.perf_counter()
        await create_org_units(client, units)
        results.org_units, results.org_units_s = len(units), time.perf_counter() - started

        consumer = await joined_consumer(bootstrap, f"{prefix}registry.employees")
        try:
            cpu_before = cpu_snapshot(pids)
            import_started = time.perf_counter()
            body, results.import_s = await run_import(client, csv_bytes)
            cpu_after = cpu_snapshot(pids)
            results.import_cpu = {
                name: (cpu_after[name] - cpu_before[name]) / results.import_s
                for name in cpu_before.keys() & cpu_after.keys()
            }
            for key, expected in (("imported", n), ("failed", 0), ("updated", 0), ("unchanged", 0)):
                results.check(
                    body[key] == expected, f"first import: {key} = {body[key]}, expected {expected}"
                )
            if body["failed"]:
                results.failures.append(f"first import errors: {json.dumps(body.get('errors'))[:800]}")
            results.events_seen, results.duplicates_seen = await read_distinct(
                consumer, n, limit_s=max(120.0, n / 500)
            )
            results.e2e_s = time.perf_counter() - import_started
        finally:
            await consumer.stop()
        results.check(results.events_seen == n, f"Kafka: {results.events_seen} distinct ce_id, expected {n}")

        events, pending, first_batch, seconds, before = await relay_window(uri, database)
        results.relay_window_s, results.relay_first_batch = seconds, first_batch
        results.check(events == n, f"outbox: {events} employee events, expected {n}")
        results.check(pending == 0, f"outbox: {pending} employee events still pending")

        body, results.rerun_s = await run_import(client, csv_bytes)
        for key, expected in (("unchanged", n), ("imported", 0), ("updated", 0), ("failed", 0)):
            results.check(body[key] == expected, f"re-run: {key} = {body[key]}, expected {expected}")
        after = await outbox_count(uri, database)
        results.check(after == before, f"re-run: outbox grew from {before} to {after} documents")


async def drop_database(uri: str, database: str) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri)
    try:
        await client.drop_database(database)
    finally:
        await client.close()


async def delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(names)
    except KafkaError as exc:
        print(f"(could not delete topics {names}: {exc!r})", file=sys.stderr)
    finally:
        await admin.close()


# ---------------------------------------------------------------- report


def log_problems(log_path: Path, shown: int = 8) -> list[str]:
    """WARNING/ERROR lines and tracebacks from the registry's log."""
    if not log_path.exists():
        return []
    problems: list[str] = []
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            if "Traceback" in line or "Error" in line:
                problems.append(line[:300])
            continue
        if isinstance(entry, dict) and entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            problems.append(f"{entry.get('level')} {entry.get('logger')}: {entry.get('message')}"[:300])
    return problems[:shown] + ([f"... and {len(problems) - shown} more"] if len(problems) > shown else [])


def report(results: Results, cores: int) -> dict[str, Any]:
    n = results.employees
    insert = rate(results.raw_count, results.raw_insert_s)
    produce = rate(results.raw_count, results.raw_produce_s)
    imported = rate(n, results.import_s)
    e2e = rate(n, results.e2e_s)
    relay = rate(n, results.relay_window_s)
    relay_strict = rate(n - results.relay_first_batch, results.relay_window_s)
    rerun = rate(n, results.rerun_s)
    import_ratio = imported / insert if insert else 0.0
    relay_ratio = relay / produce if produce else 0.0
    goal_met = import_ratio >= GOAL_RATIO and imported >= GOAL_ROWS_PER_S

    rows = [
        (
            f"raw insert_many ({results.raw_count:,} docs, {RAW_BATCH}/batch)",
            results.raw_insert_s,
            insert,
            "docs/s",
            "",
        ),
        (
            f"raw aiokafka produce ({results.raw_count:,} × ~{RAW_VALUE_BYTES} B)",
            results.raw_produce_s,
            produce,
            "msg/s",
            "",
        ),
        (
            f"org units via API ({results.org_units:,}, 16 at a time)",
            results.org_units_s,
            rate(results.org_units, results.org_units_s),
            "units/s",
            "",
        ),
        (
            f"import {n:,} rows with events (POST → completed)",
            results.import_s,
            imported,
            "rows/s",
            f"{import_ratio:6.1%} of raw insert_many",
        ),
        (
            f"events on Kafka end-to-end ({results.events_seen:,} distinct ce_id)",
            results.e2e_s,
            e2e,
            "events/s",
            f"{e2e / produce if produce else 0:6.1%} of raw produce",
        ),
        (
            "relay alone (N / published_at window)",
            results.relay_window_s,
            relay,
            "events/s",
            f"{relay_ratio:6.1%} of raw produce",
        ),
        (
            f"re-run of the same file ({n:,} unchanged)",
            results.rerun_s,
            rerun,
            "rows/s",
            f"{rerun / insert if insert else 0:6.1%} of raw insert_many",
        ),
    ]
    print()
    print(
        f"Registry benchmark: {n:,} employees, {cores} cores, one run; 1-min load average at start "
        f"{results.load_before:.2f} (other work on the machine skews every row)"
    )
    print(f"{'measure':<52} {'seconds':>8} {'rate':>10}  {'unit':<9} ratio")
    print("-" * 110)
    for what, seconds, value, unit, ratio in rows:
        print(f"{what:<52} {seconds:8.2f} {value:10,.0f}  {unit:<9} {ratio}")
    print("-" * 110)
    print(
        f"relay without its first batch ({results.relay_first_batch:,} events): "
        f"{relay_strict:,.0f} events/s; duplicate events read from Kafka: {results.duplicates_seen:,}"
    )
    if results.import_cpu:
        shares = ", ".join(f"{name} {share:.2f}" for name, share in sorted(results.import_cpu.items()))
        print(f"CPU during the first import, in cores busy (2 = whole machine): {shares}")
    print(
        f"goal: ≥ {GOAL_ROWS_PER_S:,} rows/s imported with events (≥ {GOAL_RATIO:.0%} of raw insert_many) "
        f"→ {'MET' if goal_met else 'NOT MET'} ({imported:,.0f} rows/s, {import_ratio:.1%})"
    )
    if results.failures:
        print("CHECKS FAILED:")
        for failure in results.failures:
            print(f"  - {failure}")
    else:
        print("checks: all passed")
    summary = {
        "employees": n,
        "cores": cores,
        "load_average_at_start": round(results.load_before, 2),
        "raw_insert_many_docs_per_s": round(insert),
        "raw_produce_msg_per_s": round(produce),
        "import_rows_per_s": round(imported),
        "events_on_kafka_per_s_e2e": round(e2e),
        "relay_events_per_s": round(relay),
        "relay_events_per_s_excl_first_batch": round(relay_strict),
        "rerun_rows_per_s": round(rerun),
        "import_vs_insert_many": round(import_ratio, 4),
        "relay_vs_produce": round(relay_ratio, 4),
        "import_cpu_cores": {name: round(share, 2) for name, share in sorted(results.import_cpu.items())},
        "goal_met": goal_met,
        "checks_passed": not results.failures,
    }
    print(json.dumps(summary, separators=(",", ":")))
    return summary


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.registry_bench", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument(
        "--employees", type=int, default=100_000, help="rows in employees.csv (default 100000)"
    )
    parser.add_argument("--raw-count", type=int, default=RAW_COUNT, help="docs/messages for the raw figures")
    args = parser.parse_args(argv)
    if args.employees < 1 or args.raw_count < 1:
        parser.error("--employees and --raw-count must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    n: int = args.employees
    results = Results(employees=n, raw_count=args.raw_count)
    work = Path(tempfile.mkdtemp(prefix="netral-bench-"))
    unique = f"b{uuid.uuid4().hex[:10]}"
    database = f"netral_{unique}"
    prefix = f"{unique}."
    registry_log = work / "registry.log"
    engine_root = work / "engines"
    external = bool(os.environ.get("MONGODB_URI") and os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    print(f"work dir: {work} (registry log: {registry_log})", flush=True)

    exit_code = 0
    pids: dict[str, int] = {}
    try:
        if external:
            uri, bootstrap = os.environ["MONGODB_URI"], os.environ["KAFKA_BOOTSTRAP_SERVERS"]
            print("engines: external (MONGODB_URI, KAFKA_BOOTSTRAP_SERVERS)", flush=True)
        else:
            running = engines.start(engine_root)
            uri, bootstrap = running.mongodb_uri, running.kafka_bootstrap
            pids |= {"mongod": running.mongo_pid, "tansu": running.kafka_pid}
            print(f"engines: local mongod {uri}, tansu {bootstrap}", flush=True)

        print(f"1/6 raw insert_many of {args.raw_count:,} docs ...", flush=True)
        results.raw_insert_s = asyncio.run(raw_insert_many(uri, f"{unique}_raw", args.raw_count))
        print(f"2/6 raw aiokafka produce of {args.raw_count:,} messages ...", flush=True)
        results.raw_produce_s = asyncio.run(raw_produce(bootstrap, f"{prefix}bench.raw", args.raw_count))

        print(f"3/6 generating {n:,} employees ...", flush=True)
        units, people = generate(n)
        _, employees_csv = write_csv(work / "data", units, people)
        csv_bytes = employees_csv.read_bytes()
        keys = work / "keys"
        ensure_dev_keys(keys)
        token = mint_token("bkpsdm", directory=keys)
        port = engines.free_port()
        env = {
            **os.environ,
            "MONGODB_URI": uri,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "MONGODB_DATABASE": database,
            "KAFKA_TOPIC_PREFIX": prefix,
            "HTTP_PORT": str(port),
            "DEV_MODE": "true",
            "AUTH_PUBLIC_KEY_FILE": str(keys / "jwt-public.pem"),
            "NIK_KEY_FILE": str(keys / "registry-nik.key"),
            "LOG_LEVEL": "WARNING",
        }
        url = f"http://127.0.0.1:{port}"
        process = start_registry(env, registry_log)
        pids["registry"] = process.pid
        try:
            wait_ready(url, 60, registry_log)
            print(
                f"    registry pid {process.pid} ready at {url}; {len(units):,} org units, "
                f"employees.csv {len(csv_bytes) / 1e6:.1f} MB",
                flush=True,
            )
            print("4/6 org units, import, events on Kafka, relay; 5/6 re-run ...", flush=True)
            asyncio.run(
                registry_steps(results, url, token, units, csv_bytes, uri, bootstrap, database, prefix, pids)
            )
        finally:
            stop_registry(process)
            if process.returncode not in (0, -signal.SIGTERM):
                results.failures.append(f"registry exited with code {process.returncode}")
        if external:
            asyncio.run(drop_database(uri, database))
            asyncio.run(
                delete_topics(
                    bootstrap,
                    [f"{prefix}bench.raw", f"{prefix}registry.employees", f"{prefix}registry.org-units"],
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

    print("6/6 done", flush=True)
    problems = log_problems(registry_log)
    if problems:
        print(f"registry log ({registry_log}) has warnings/errors:")
        for line in problems:
            print(f"  {line}")
    report(results, os.cpu_count() or 0)
    return 1 if exit_code or results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
