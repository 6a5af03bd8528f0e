"""Pledge reminders by e-mail: the notify service against a local SMTP server, in one run.

    .venv/bin/python -m tests.bench.notify_bench [--employees N] [--raw N] [--limit S] [--py-spy PATH]

The issue's benchmark: reminders delivered per second to the local SMTP server for a campaign
with 100,000 unsigned employees; goal: all delivered in under 2 minutes on this machine.

Steps, one after the other on the same engines:
  1. an SMTP sink (aiosmtpd) on loopback in a process of its own, so that its CPU is not this
     bench's: it accepts every message and appends `arrival, Message-ID, recipients` lines to a
     file, which this bench reads;
  2. the raw baseline: pre-rendered reminder e-mails sent with aiosmtplib's `sendmail` over 4
     connections (one sender per connection); then the service's own `SmtpChannel.send`, in this
     process, 16 at a time over 4 connections as the dispatcher uses it by default;
  3. the notify service as a real process (own database and topic prefix, quiet hours off, the
     other settings as the environment has them; started before step 2, as its one consumer
     group takes ~5 s to join, idle); its contact projection loaded the way it is
     in production: N `employee.registered.v1` events (a synthetic pemda, `netral.seed.generate`)
     published onto `<prefix>registry.employees`, timed until notify's `employees` collection
     holds all N ("projection");
  4. N `pledge.reminder_due.v1` events, one per employee, published onto `<prefix>signing.pledges`
     as the signing service would for a campaign nobody has signed yet; timed from the first
     publish until the sink has all N messages, or --limit seconds (default 180, 1.5 × the goal)
     have passed. The consumer's planning rate comes from the deliveries' `created_at` stamps,
     the dispatcher's send rate from their `sent_at` stamps;
  5. checks: N distinct messages arrived (by Message-ID and by the delivery key in it), each
     employee's address exactly once and as the delivery log addressed it, and the delivery log
     (GET /v1/deliveries, as BKPSDM) shows N `sent` and nothing else. When stopped at --limit,
     the same checks on what arrived, and no more `sent` in the log than arrived.

With --py-spy, py-spy samples the notify process during step 4 (pausing it briefly 100 times a s)
and a summary of where its time went is printed.

Engines: MONGODB_URI and KAFKA_BOOTSTRAP_SERVERS when both are set, otherwise a private
mongod + Tansu pair under a temp dir, stopped at the end. Not a pytest test. The publisher and
the poller run in this process, on the same cores as the service, the sink and the engines.
Exit code 1 when the bench itself broke (a step failed, or mail was lost, duplicated or
misaddressed); the goal is reported, not enforced.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
from aiosmtpd.smtp import SMTP, Envelope
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from contracts.envelope import CloudEvent, new_event
from contracts.registry import EmployeeRegisteredV1, EmployeeSnapshot
from contracts.signing import PledgeReminderDueV1
from netral import engines
from netral.devissuer import ensure_dev_keys, mint_token
from netral.devstack import wait_ready
from netral.seed import generate
from services.notify.channels import Outgoing, SmtpChannel
from services.notify.domain import RULE_BY_NAME
from services.notify.messages import Templates
from services.notify.settings import NotifySettings
from tests.bench.registry_bench import (
    BenchFailure,
    cpu_seconds,
    drop_database,
    log_problems,
    rate,
    stop_registry,
)
from tests.bench.reports_bench import (
    Meter,
    Usage,
    delete_prefixed_topics,
    employee_snapshots,
    unit_snapshots,
    usage_line,
)
from tests.bench.signing_bench import poll, start_service
from tests.integration.notify_setup import publish

EMPLOYEES = 100_000
RAW_MESSAGES = 5_000
RAW_CONNECTIONS = 4
CHANNEL_CONCURRENCY = 16
"""The dispatcher's default DISPATCH_CONCURRENCY."""
GOAL_SECONDS = 120.0
PROJECTION_LIMIT_S = 300.0
DELIVERY_LIMIT_S = 1.5 * GOAL_SECONDS
"""Past this (--limit) the delivery phase stops and what arrived is checked: the goal is missed
anyway, and the time all would take is extrapolated from the rate so far (steady in trials)."""
SETTLE_LIMIT_S = 30.0
POLL_SECONDS = 0.5
PROGRESS_SECONDS = 10.0
SINK_ENV = "NOTIFY_BENCH_SMTP_SINK"
"""`<port> <file>`: this module then runs as the SMTP sink process instead of the bench."""
SINK_FLUSH_SECONDS = 0.1
BASELINE_DOMAIN = "baseline.invalid"
CAMPAIGN = "pilkada-2029"
HOURS_BEFORE = 24
RULE = RULE_BY_NAME["pengingat_tanda_tangan"]
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]*>)", re.IGNORECASE | re.MULTILINE)
PROFILE_ROWS = 12

Document = dict[str, Any]


# ---------------------------------------------------------------- the SMTP sink (its own process)


class SinkHandler:
    """aiosmtpd handler: accepts every message and keeps one line per message, written out in
    batches by `run_sink`: arrival (time.monotonic, one clock for all processes on Linux),
    Message-ID and recipients."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        found = MESSAGE_ID.search(content, 0, 8192)
        message_id = found.group(1).decode(errors="replace") if found else "-"
        self.lines.append(f"{time.monotonic():.6f}\t{message_id}\t{','.join(envelope.rcpt_tos)}\n")
        return "250 OK"


async def run_sink(port: int, path: Path) -> None:
    handler = SinkHandler()
    loop = asyncio.get_running_loop()
    # A fixed hostname: left unset, aiosmtpd looks up the FQDN for every connection.
    server = await loop.create_server(lambda: SMTP(handler, hostname="sink.bench"), "127.0.0.1", port)
    async with server:
        with path.open("a") as out:
            while True:
                await asyncio.sleep(SINK_FLUSH_SECONDS)
                if handler.lines:
                    lines, handler.lines = handler.lines, []
                    out.writelines(lines)
                    out.flush()


@dataclass
class Arrival:
    at: float
    message_id: str
    recipients: str

    @property
    def key(self) -> str:
        """The delivery key in the Message-ID: `<time.pid.random.KEY@domain>` (email.utils.make_msgid)
        or `<KEY@domain>`."""
        return self.message_id.strip("<>").split("@", 1)[0].rsplit(".", 1)[-1]


class SinkReader:
    """Reads the sink's file as it grows; keeps reminders and baseline messages apart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = ""
        self.reminders: list[Arrival] = []
        self.baseline = 0

    def read(self) -> int:
        """New lines since the last call; returns the reminders arrived so far."""
        if self.path.exists():
            with self.path.open() as source:
                source.seek(self.offset)
                text = self.partial + source.read()
                self.offset = source.tell()
            *lines, self.partial = text.split("\n")
            for line in lines:
                at, message_id, recipients = line.split("\t")
                if recipients.endswith(f"@{BASELINE_DOMAIN}"):
                    self.baseline += 1
                else:
                    self.reminders.append(Arrival(float(at), message_id, recipients))
        return len(self.reminders)


def start_sink(work: Path) -> tuple[subprocess.Popen[bytes], int, SinkReader]:
    port = engines.free_port()
    path = work / "smtp-sink.tsv"
    process = start_service(
        "tests.bench.notify_bench", {**os.environ, SINK_ENV: f"{port} {path}"}, work / "smtp-sink.log"
    )
    deadline = time.monotonic() + 30
    while not port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise BenchFailure(f"the SMTP sink did not listen on {port} (see {work / 'smtp-sink.log'})")
        time.sleep(0.05)
    return process, port, SinkReader(path)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------- results


@dataclass
class Window:
    """Something done `count` times between `first` and `last`, in seconds after the first publish."""

    count: int = 0
    first: float = 0.0
    last: float = 0.0

    @property
    def seconds(self) -> float:
        return self.last - self.first

    @property
    def per_s(self) -> float:
        return rate(self.count, self.seconds)


@dataclass
class Progress:
    at: float
    staged: int
    delivered: int
    cores: dict[str, float]


@dataclass
class Results:
    employees: int
    raw_messages: int
    limit_s: float = DELIVERY_LIMIT_S
    load_before: float = field(default_factory=lambda: os.getloadavg()[0])
    settings: str = ""
    raw_s: float = 0.0
    raw_usage: Usage = field(default_factory=Usage)
    channel_s: float = 0.0
    channel_usage: Usage = field(default_factory=Usage)
    projection_publish_s: float = 0.0
    projection_s: float = 0.0
    projection_usage: Usage = field(default_factory=Usage)
    publish_s: float = 0.0
    delivered: int = 0
    done_s: float = 0.0
    """From the first publish to the last reminder at the sink (or the limit, when not all came)."""
    arrivals: Window = field(default_factory=Window)
    staged: Window = field(default_factory=Window)
    sent: Window = field(default_factory=Window)
    sent_after_planning: Window = field(default_factory=Window)
    delivery_usage: Usage = field(default_factory=Usage)
    progress: list[Progress] = field(default_factory=list)
    log_totals: dict[str, int] = field(default_factory=dict)
    profile: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)

    @property
    def complete(self) -> bool:
        return self.delivered == self.employees

    @property
    def per_s(self) -> float:
        return rate(self.delivered, self.done_s)

    @property
    def raw_per_s(self) -> float:
        return rate(self.raw_messages, self.raw_s)


# ---------------------------------------------------------------- step 2: the raw baseline


def sample_reminders(count: int, prefix: str) -> list[Outgoing]:
    """Reminders as the service renders them (one template render), to baseline addresses."""
    data = {
        "campaign": CAMPAIGN,
        "employee_id": "199001012015031001",
        "nip": "199001012015031001",
        "org_unit_code": "32.01.05.02",
        "deadline": "2029-02-01T16:59:00Z",
        "hours_before": HOURS_BEFORE,
    }
    rendered = Templates().render(RULE, data, {"nama_penerima": "Budi Santoso, S.Kom."})
    return [
        Outgoing(uuid.uuid4().hex, f"{prefix}{i}@{BASELINE_DOMAIN}", rendered.subject, rendered.body)
        for i in range(count)
    ]


async def raw_smtp(port: int, sender: str, messages: list[tuple[str, bytes]]) -> float:
    """aiosmtplib sendmail of framed messages, one sender per connection; returns seconds."""
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port) for _ in range(RAW_CONNECTIONS)]
    for client in clients:
        await client.connect()
    pending = iter(messages)

    async def sender_loop(client: aiosmtplib.SMTP) -> None:
        for recipient, message in pending:
            await client.sendmail(sender, [recipient], message)

    try:
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for client in clients:
                group.create_task(sender_loop(client))
        return time.perf_counter() - started
    finally:
        for client in clients:
            await client.quit()


async def channel_smtp(port: int, sender: str, outgoing: list[Outgoing]) -> float:
    """The service's SmtpChannel.send (message built and framed per send), as the dispatcher calls it."""
    channel = SmtpChannel("127.0.0.1", port, sender, connections=RAW_CONNECTIONS)
    gate = asyncio.Semaphore(CHANNEL_CONCURRENCY)

    async def one(message: Outgoing) -> None:
        async with gate:
            await channel.send(message)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(one(message) for message in outgoing))
        return time.perf_counter() - started
    finally:
        await channel.close()


async def baseline_steps(
    results: Results, port: int, sink: SinkReader, uri: str, pids: dict[str, int], sender: str
) -> None:
    count = results.raw_messages
    framing = SmtpChannel("127.0.0.1", port, sender)
    framed = [(message.to, framing.message(message).as_bytes()) for message in sample_reminders(count, "raw")]
    outgoing = sample_reminders(count, "channel")
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri)
    try:
        meter = await Meter.start(pids, client)
        results.raw_s = await raw_smtp(port, sender, framed)
        results.raw_usage = await meter.stop()
        meter = await Meter.start(pids, client)
        results.channel_s = await channel_smtp(port, sender, outgoing)
        results.channel_usage = await meter.stop()
    finally:
        await client.close()

    async def all_arrived() -> bool:
        sink.read()
        return sink.baseline >= 2 * count

    await poll(all_arrived, 30, 0.1, "the baseline messages at the sink")
    results.check(
        sink.baseline == 2 * count, f"baseline: {sink.baseline:,} messages at the sink, sent {2 * count:,}"
    )


# ---------------------------------------------------------------- steps 3 and 4: the service


def registered_events(snapshots: list[Document]) -> list[CloudEvent]:
    return [
        new_event(EmployeeRegisteredV1(employee=EmployeeSnapshot(**snapshot)), "/netral/registry")
        for snapshot in snapshots
    ]


def reminder_events(snapshots: list[Document], deadline: dt.datetime) -> list[CloudEvent]:
    return [
        new_event(
            PledgeReminderDueV1(
                campaign=CAMPAIGN,
                employee_id=snapshot["employee_id"],
                nip=snapshot["nip"],
                org_unit_code=snapshot["org_unit_code"],
                deadline=deadline,
                hours_before=HOURS_BEFORE,
            ),
            "/netral/signing",
        )
        for snapshot in snapshots
    ]


@dataclass
class Workload:
    """A pemda's employees as registry events and its campaign's reminders, made before timing."""

    registered: list[CloudEvent]
    reminders: list[CloudEvent]
    emails: set[str]


def make_workload(n: int) -> Workload:
    raw_units, people = generate(n)
    snapshots = employee_snapshots(people, unit_snapshots(raw_units))
    deadline = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=HOURS_BEFORE)
    return Workload(
        registered_events(snapshots),
        reminder_events(snapshots, deadline),
        {snapshot["email"] for snapshot in snapshots},
    )


def start_profiler(py_spy: str, pid: int, output: Path) -> subprocess.Popen[bytes]:
    with output.with_suffix(".log").open("ab") as log:
        return subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(pid),
                "--rate",
                "100",
                "--format",
                "raw",
                "--output",
                str(output),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop_profiler(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    stop_registry(process)  # only when it did not stop by itself


def wait_idle(pid: int, limit_s: float = 30.0) -> None:
    """Until the process uses under 5% of a core for half a second (its imports are done)."""
    deadline, before = time.monotonic() + limit_s, cpu_seconds(pid) or 0.0
    while time.monotonic() < deadline:
        time.sleep(0.5)
        used = cpu_seconds(pid) or 0.0
        if used - before < 0.025:
            return
        before = used


def check_running(pid: int, during: str) -> None:
    """Raises when the process has exited (a zombie not yet reaped counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        state = "gone"
    if state in ("Z", "gone"):
        raise BenchFailure(f"notify exited during {during} (see its log)")


async def project(
    results: Results,
    bootstrap: str,
    prefix: str,
    events: list[CloudEvent],
    store: AsyncDatabase[Document],
    pids: dict[str, int],
) -> None:
    meter = await Meter.start(pids, store.client)
    started = time.perf_counter()
    await publish(bootstrap, prefix, events)
    results.projection_publish_s = time.perf_counter() - started

    async def projected() -> bool:
        check_running(pids["notify"], "the projection")
        return int(await store.employees.estimated_document_count()) >= len(events)

    await poll(projected, PROJECTION_LIMIT_S, POLL_SECONDS, f"{len(events):,} employees in notify")
    results.projection_s = time.perf_counter() - started
    results.projection_usage = await meter.stop()
    held = await store.employees.count_documents({"email": {"$ne": None}})
    results.check(held == len(events), f"projection: {held:,} employees with an address in notify")


async def deliver(
    results: Results,
    bootstrap: str,
    prefix: str,
    events: list[CloudEvent],
    store: AsyncDatabase[Document],
    sink: SinkReader,
    pids: dict[str, int],
) -> float:
    """Publishes the reminders and waits for them at the sink; returns the wall clock of the first publish."""
    n = len(events)
    meter = await Meter.start(pids, store.client)
    wall, started = time.time(), time.monotonic()
    await publish(bootstrap, prefix, events)
    results.publish_s = time.monotonic() - started
    print(f"    published {n:,} reminders in {results.publish_s:.1f} s", flush=True)
    interval, last_at = await Meter.start(pids, store.client), started
    while sink.read() < n and time.monotonic() - started < results.limit_s:
        await asyncio.sleep(POLL_SECONDS)
        check_running(pids["notify"], "the delivery")
        if time.monotonic() - last_at >= PROGRESS_SECONDS:
            usage = await interval.stop()
            staged = int(await store.deliveries.estimated_document_count())
            sample = Progress(time.monotonic() - started, staged, len(sink.reminders), usage.cores)
            results.progress.append(sample)
            print(f"    {progress_line(sample)}", flush=True)
            interval, last_at = await Meter.start(pids, store.client), time.monotonic()
    results.delivery_usage = await meter.stop()
    results.delivered = len(sink.reminders)
    if sink.reminders:
        results.arrivals = Window(
            len(sink.reminders),
            sink.reminders[0].at - started,
            max(arrival.at for arrival in sink.reminders) - started,
        )
    results.done_s = results.arrivals.last if results.complete else time.monotonic() - started
    return wall


def progress_line(sample: Progress) -> str:
    cores = ", ".join(f"{name} {share:.2f}" for name, share in sorted(sample.cores.items()))
    return (
        f"t={sample.at:5.1f} s: staged {sample.staged:7,}, delivered {sample.delivered:7,}; "
        f"cores busy: {cores}"
    )


async def stamps(store: AsyncDatabase[Document], name: str, wall: float, match: Document) -> Window:
    """Count and first/last of the `name` stamps of matching deliveries, in s after `wall`."""
    groups = await (
        await store.deliveries.aggregate(
            [
                {"$match": match},
                {
                    "$group": {
                        "_id": None,
                        "n": {"$sum": 1},
                        "first": {"$min": f"${name}"},
                        "last": {"$max": f"${name}"},
                    }
                },
            ]
        )
    ).to_list()
    if not groups:
        return Window()
    group = groups[0]
    return Window(group["n"], group["first"].timestamp() - wall, group["last"].timestamp() - wall)


async def log_totals(url: str, keys: Path) -> dict[str, int]:
    """Deliveries by status as the delivery log (GET /v1/deliveries) shows them to BKPSDM."""
    totals: dict[str, int] = {}
    token = mint_token("bkpsdm", directory=keys)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        for status in ("sent", "pending", "sending", "in_doubt", "dead", "cancelled"):
            response = await client.get("/v1/deliveries", params={"status": status, "page_size": 1})
            if response.status_code != 200:
                raise BenchFailure(f"GET /v1/deliveries: HTTP {response.status_code} {response.text[:300]}")
            totals[status] = int(response.json()["total"])
    return totals


def check_arrivals(
    results: Results, arrivals: list[Arrival], addressed: dict[str, str], emails: set[str]
) -> None:
    """Each message once, each employee once, and each as the delivery log addressed it."""
    by_id = Counter(arrival.message_id for arrival in arrivals)
    by_key = Counter(arrival.key for arrival in arrivals)
    by_address = Counter(arrival.recipients for arrival in arrivals)
    results.check(len(by_id) == len(arrivals), f"sink: {len(arrivals) - len(by_id):,} repeated Message-IDs")
    results.check(
        len(by_key) == len(arrivals),
        f"sink: {len(arrivals) - len(by_key):,} deliveries arrived twice or more",
    )
    twice = [address for address, count in by_address.items() if count > 1]
    results.check(not twice, f"sink: {len(twice):,} employees got more than one reminder, e.g. {twice[:3]}")
    strangers = set(by_address) - emails
    results.check(
        not strangers, f"sink: {len(strangers):,} addresses of no employee, e.g. {list(strangers)[:3]}"
    )
    wrong = [arrival for arrival in arrivals if addressed.get(arrival.key) != arrival.recipients]
    results.check(
        not wrong, f"sink: {len(wrong):,} messages not as the delivery log addressed them, e.g. {wrong[:2]}"
    )


async def verify(
    results: Results,
    store: AsyncDatabase[Document],
    sink: SinkReader,
    url: str,
    keys: Path,
    emails: set[str],
    wall: float,
) -> None:
    """When not all arrived, the service is still sending: the log is read before the sink, so
    that every delivery it shows as sent must be at the sink by then."""
    n = len(emails)
    if results.complete:

        async def logged() -> bool:
            return int(await store.deliveries.count_documents({"status": "sent"})) >= n

        try:
            await poll(logged, SETTLE_LIMIT_S, POLL_SECONDS, "the delivery log to record every message sent")
        except BenchFailure as exc:
            results.failures.append(str(exc))
    results.log_totals = await log_totals(url, keys)
    results.staged = await stamps(store, "created_at", wall, {})
    results.sent = await stamps(store, "sent_at", wall, {"status": "sent"})
    planned = dt.datetime.fromtimestamp(results.staged.last + wall, dt.UTC)
    results.sent_after_planning = await stamps(
        store, "sent_at", wall, {"status": "sent", "sent_at": {"$gt": planned}}
    )
    await asyncio.sleep(2 * SINK_FLUSH_SECONDS)  # what the sink took before the log was read is written
    arrived = sink.read()
    addressed = {doc["_id"]: doc["recipient"] async for doc in store.deliveries.find({}, {"recipient": 1})}
    check_arrivals(results, sink.reminders, addressed, emails)
    sent = results.log_totals["sent"]
    if results.complete:
        results.check(len(addressed) == n, f"delivery log: {len(addressed):,} deliveries, expected {n:,}")
        results.check(sent == n, f"delivery log: {sent:,} sent, expected {n:,}")
        others = {status: count for status, count in results.log_totals.items() if status != "sent" and count}
        results.check(not others, f"delivery log: deliveries not sent: {others}")
    else:
        results.check(sent <= arrived, f"delivery log: {sent:,} sent, but {arrived:,} at the sink")


async def service_steps(
    results: Results,
    url: str,
    uri: str,
    bootstrap: str,
    settings: NotifySettings,
    workload: Workload,
    sink: SinkReader,
    keys: Path,
    pids: dict[str, int],
    profile: tuple[str, Path] | None,
) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri, tz_aware=True)
    store = client[settings.database_name]
    try:
        print(
            f"3/5 projection: publishing {len(workload.registered):,} employee.registered.v1, "
            "waiting for notify ...",
            flush=True,
        )
        await project(results, bootstrap, settings.kafka_topic_prefix, workload.registered, store, pids)
        print(
            f"    published in {results.projection_publish_s:.1f} s, all projected after "
            f"{results.projection_s:.1f} s",
            flush=True,
        )
        events = workload.reminders
        print(f"4/5 {len(events):,} pledge.reminder_due.v1 → e-mail ...", flush=True)
        profiler = start_profiler(profile[0], pids["notify"], profile[1]) if profile else None
        if profiler:
            pids["py-spy"] = profiler.pid
        try:
            wall = await deliver(results, bootstrap, settings.kafka_topic_prefix, events, store, sink, pids)
        finally:
            if profiler:
                stop_profiler(profiler)
                pids.pop("py-spy", None)
        print(f"5/5 checks ({results.delivered:,} arrived after {results.done_s:.1f} s) ...", flush=True)
        await verify(results, store, sink, url, keys, workload.emails, wall)
    finally:
        await client.close()
    if profile and profile[1].exists():
        results.profile = profile_summary(profile[1])


# ---------------------------------------------------------------- the profile


def frame_parts(frame: str) -> tuple[str, str]:
    """py-spy's `function (file:line)` → (function, file)."""
    function, _, where = frame.rpartition(" (")
    return function, where.rsplit(":", 1)[0]


LOOP = "event loop itself (uvloop, C: callbacks, socket I/O)"


def package(function: str, path: str) -> str:
    if (function, path) == ("Runner.run", "asyncio/runners.py"):
        return LOOP  # the leaf Python frame while uvloop's C code runs
    if path.startswith("services/"):
        return ".".join(path.split("/")[:2])
    return path.split("/", 1)[0].removesuffix(".py")


def task_of(frames: list[tuple[str, str]]) -> str:
    """The coroutine a task was started with: the frame right below the event loop's."""
    below = [i for i, (_, path) in enumerate(frames) if path == "asyncio/runners.py"]
    if not below:
        return "(outside the event loop: start-up or shutdown)"
    if below[-1] + 1 == len(frames):
        return LOOP
    function, path = frames[below[-1] + 1]
    return f"{function} ({path})"


def ours(frames: list[tuple[str, str]]) -> str:
    """The innermost frame of the service's own code below the server's start-up frames."""
    for function, path in reversed(frames):
        if path.startswith("services/") and function not in ("serve", "main", "<module>"):
            return f"{function} ({path})"
    return "(none: event loop, FastStream, aiokafka, uvicorn)"


def profile_summary(path: Path) -> list[str]:
    """Where the notify process spent its samples: by task, by the service's own function
    (inclusive: what it called counts), by package of the frame on CPU."""
    tables: dict[str, Counter[str]] = {"task": Counter(), "ours": Counter(), "package": Counter()}
    total = other_threads = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count, frames = int(count_text), [frame_parts(frame) for frame in stack.split(";")]
        if frames[0][0] != "_run_module_as_main":
            # Executor and anyio worker threads: py-spy counts them waiting on their queues.
            other_threads += count
            continue
        total += count
        tables["task"][task_of(frames)] += count
        tables["ours"][ours(frames)] += count
        tables["package"][package(*frames[-1])] += count
    if not total:
        return ["(no samples)"]
    titles = {
        "task": "by task (the coroutine it runs):",
        "ours": "by innermost function of the service's code (inclusive):",
        "package": "by package of the frame on CPU (self):",
    }
    lines = [
        f"{total:,} samples of the main thread at 100/s while on CPU (waiting for I/O is not sampled; "
        f"{other_threads:,} samples of idle worker threads left out)"
    ]
    for name, counter in tables.items():
        lines.append(titles[name])
        lines += [
            f"    {100 * count / total:5.1f}%  {what}" for what, count in counter.most_common(PROFILE_ROWS)
        ]
    return lines


# ---------------------------------------------------------------- report


def unfinished(results: Results) -> str:
    return (
        f"stopped after {results.done_s:.0f} s (--limit); at this rate all {results.employees:,} "
        f"would take ~{rate(results.employees, results.per_s):,.0f} s"
    )


def report(results: Results, cores: int) -> dict[str, Any]:
    n, raw = results.employees, results.raw_per_s
    channel = rate(results.raw_messages, results.channel_s)

    def of_raw(value: float) -> str:
        return f"{value / raw if raw else 0:6.1%} of raw SMTP"

    rows = [
        (
            f"raw aiosmtplib sendmail, {RAW_CONNECTIONS} connections ({results.raw_messages:,})",
            results.raw_s,
            raw,
            "msg/s",
            "",
        ),
        (
            f"SmtpChannel.send, {CHANNEL_CONCURRENCY} tasks ({results.raw_messages:,})",
            results.channel_s,
            channel,
            "msg/s",
            of_raw(channel),
        ),
        (
            f"projection: employee events → notify ({n:,})",
            results.projection_s,
            rate(n, results.projection_s),
            "emp/s",
            f"publishing took {results.projection_publish_s:.1f} s of it",
        ),
        (f"reminder events published ({n:,})", results.publish_s, rate(n, results.publish_s), "ev/s", ""),
        (
            f"planning: deliveries staged ({results.staged.count:,})",
            results.staged.seconds,
            results.staged.per_s,
            "del/s",
            f"first {results.staged.first:.1f} s, last {results.staged.last:.1f} s after the first publish",
        ),
        (
            f"dispatcher: sent ({results.sent.count:,})",
            results.sent.seconds,
            results.sent.per_s,
            "msg/s",
            f"first {results.sent.first:.1f} s, last {results.sent.last:.1f} s; {of_raw(results.sent.per_s)}",
        ),
        (
            f"dispatcher after planning ended ({results.sent_after_planning.count:,})",
            results.sent_after_planning.seconds,
            results.sent_after_planning.per_s,
            "msg/s",
            "sent after the last delivery was staged: the dispatcher alone",
        ),
        (
            f"end to end: first publish → last at SMTP ({results.delivered:,})",
            results.done_s,
            results.per_s,
            "msg/s",
            of_raw(results.per_s) + ("" if results.complete else f"; INCOMPLETE: {unfinished(results)}"),
        ),
    ]
    print()
    print(
        f"Notify benchmark: {n:,} pledge reminders to {n:,} unsigned employees, {cores} cores, one run; "
        f"1-min load average at start {results.load_before:.2f}"
    )
    print(
        "notify, mongod, tansu, the SMTP sink (aiosmtpd, own process) and this bench (publisher, "
        "poller, baseline client) share the same cores."
    )
    print(f"notify settings: {results.settings}")
    print(f"{'measure':<58} {'seconds':>8} {'rate':>10}  {'unit':<6} ratio / notes")
    print("-" * 150)
    for what, seconds, value, unit, note in rows:
        print(f"{what:<58} {seconds:8.2f} {value:10,.0f}  {unit:<6} {note}")
    print("-" * 150)
    print("CPU cost per unit of work ('others': processes on the machine that are not this bench's):")
    print(f"    raw SMTP: {usage_line(results.raw_usage, results.raw_messages, 'msg', 'msgs', 'bench')}")
    print(
        f"    SmtpChannel: {usage_line(results.channel_usage, results.raw_messages, 'msg', 'msgs', 'bench')}"
    )
    print(f"    projection: {usage_line(results.projection_usage, n, 'employee', 'employees', 'bench')}")
    if results.delivered:
        line = usage_line(results.delivery_usage, results.delivered, "reminder", "reminders", "bench")
        print(f"    delivery: {line}")
    if results.progress:
        print("delivery progress (cores busy in each interval):")
        for sample in results.progress:
            print(f"    {progress_line(sample)}")
    print(f"delivery log totals: {', '.join(f'{k} {v:,}' for k, v in results.log_totals.items())}")
    if results.profile:
        print("notify process profile (py-spy) during the delivery phase:")
        for line in results.profile:
            print(f"  {line}")
    met = results.complete and results.done_s < GOAL_SECONDS
    print()
    print(f"{'goal':<52} {'target':>10}  {'measured':<28} verdict")
    measured = f"{results.done_s:.1f} s ({results.per_s:,.0f}/s)"
    if not results.complete:
        measured = f"{results.delivered:,} in {results.done_s:.0f} s (all: ~{rate(n, results.per_s):,.0f} s)"
    goal, target = f"all {n:,} reminders at the SMTP server", f"< {GOAL_SECONDS:.0f} s"
    print(f"{goal:<52} {target:>10}  {measured:<28} {'PASS' if met else 'MISS'}")
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
        "raw_smtp_per_s": round(raw),
        "smtp_channel_per_s": round(channel),
        "projection_s": round(results.projection_s, 1),
        "publish_s": round(results.publish_s, 1),
        "planning_per_s": round(results.staged.per_s),
        "dispatch_per_s": round(results.sent.per_s),
        "dispatch_after_planning_per_s": round(results.sent_after_planning.per_s),
        "delivered": results.delivered,
        "all_delivered_s": round(results.done_s, 1),
        "delivered_per_s": round(results.per_s),
        "vs_raw_smtp": round(results.per_s / raw, 4) if raw else 0,
        "cpu_cores_delivery": {k: round(v, 2) for k, v in sorted(results.delivery_usage.cores.items())},
        "goal_met": met,
        "checks_passed": not results.failures,
    }
    print(json.dumps(summary, separators=(",", ":")))
    return summary


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.notify_bench", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument(
        "--employees", type=int, default=EMPLOYEES, help=f"unsigned employees (default {EMPLOYEES})"
    )
    parser.add_argument(
        "--raw", type=int, default=RAW_MESSAGES, help=f"messages per SMTP baseline (default {RAW_MESSAGES})"
    )
    parser.add_argument(
        "--limit",
        type=float,
        default=DELIVERY_LIMIT_S,
        help=f"stop waiting for the reminders after this many seconds (default {DELIVERY_LIMIT_S:.0f})",
    )
    parser.add_argument("--py-spy", metavar="PATH", help="py-spy binary: profile notify during delivery")
    args = parser.parse_args(argv)
    if args.employees < 1 or args.raw < RAW_CONNECTIONS or args.limit <= 0:
        parser.error(f"--employees ≥ 1, --raw ≥ {RAW_CONNECTIONS} and --limit > 0")
    return args


def notify_env(uri: str, bootstrap: str, unique: str, smtp_port: int, keys: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MONGODB_URI": uri,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MONGODB_DATABASE": f"{unique}_notify",
        "KAFKA_TOPIC_PREFIX": f"{unique}.",
        "HTTP_PORT": str(engines.free_port()),
        "DEV_MODE": "true",
        "AUTH_PUBLIC_KEY_FILE": str(keys / "jwt-public.pem"),
        "NOTIFY_CONTACT_PRIVATE_KEY_FILE": str(keys / "notify-contact.private"),
        "WEBHOOK_SECRET_KEY_FILE": str(keys / "notify-webhook.fernet"),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "QUIET_START": "00:00",
        "QUIET_END": "00:00",
        "LOG_LEVEL": "WARNING",
    }


def settings_line(settings: NotifySettings) -> str:
    names = ("smtp_connections", "dispatch_batch_size", "dispatch_concurrency", "consumer_batch_size")
    quiet = "off" if settings.quiet_start == settings.quiet_end else "ON"
    return ", ".join(f"{name} {getattr(settings, name)}" for name in names) + (
        f", quiet hours {settings.quiet_start:%H:%M}-{settings.quiet_end:%H:%M} ({quiet})"
    )


def start_engines(root: Path, pids: dict[str, int]) -> tuple[str, str, bool]:
    """(MongoDB URI, Kafka bootstrap, external?): MONGODB_URI and KAFKA_BOOTSTRAP_SERVERS when
    both are set, otherwise a private mongod + Tansu pair under `root`."""
    given = os.environ.get("MONGODB_URI", ""), os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if all(given):
        print("engines: external (MONGODB_URI, KAFKA_BOOTSTRAP_SERVERS)", flush=True)
        return given[0], given[1], True
    running = engines.start(root)
    pids.update(mongod=running.mongo_pid, tansu=running.kafka_pid)
    print(f"engines: local mongod {running.mongodb_uri}, tansu {running.kafka_bootstrap}", flush=True)
    return running.mongodb_uri, running.kafka_bootstrap, False


def bench_steps(
    args: argparse.Namespace, results: Results, work: Path, uri: str, bootstrap: str, pids: dict[str, int]
) -> None:
    """Steps 1 to 5; the sink and the service are stopped before it returns."""
    unique, keys = f"n{uuid.uuid4().hex[:10]}", work / "keys"
    ensure_dev_keys(keys)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        processes["smtp-sink"], smtp_port, sink = start_sink(work)
        pids["smtp-sink"] = processes["smtp-sink"].pid
        env = notify_env(uri, bootstrap, unique, smtp_port, keys)
        # What the service will read: these variables over the rest of the environment.
        overrides: dict[str, Any] = {
            key.lower(): value for key, value in env.items() if key.lower() in NotifySettings.model_fields
        }
        settings = NotifySettings(**overrides)
        results.settings = settings_line(settings)
        print(f"1/5 SMTP sink pid {pids['smtp-sink']} on 127.0.0.1:{smtp_port}", flush=True)
        # The service starts meanwhile: its consumer group joins (~5 s on Tansu), which takes it
        # no CPU to speak of.
        url = f"http://127.0.0.1:{env['HTTP_PORT']}"
        processes["notify"] = start_service("services.notify", env, work / "notify.log")
        pids["notify"] = processes["notify"].pid
        started = time.perf_counter()
        workload = make_workload(results.employees)
        print(
            f"    notify pid {pids['notify']} starting; {results.employees:,} employees and their events "
            f"made in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        wait_idle(pids["notify"])
        print(
            f"2/5 SMTP baseline: {args.raw:,} raw sendmail over {RAW_CONNECTIONS} connections, "
            f"{args.raw:,} through SmtpChannel ...",
            flush=True,
        )
        asyncio.run(baseline_steps(results, smtp_port, sink, uri, pids, settings.mail_from))
        channel = rate(args.raw, results.channel_s)
        print(f"    raw {results.raw_per_s:,.0f} msg/s, SmtpChannel {channel:,.0f} msg/s", flush=True)
        wait_ready(url, 120, work / "notify.log")
        print(f"    notify ready at {url}; {results.settings}", flush=True)
        profile = (args.py_spy, work / "notify-profile.txt") if args.py_spy else None
        asyncio.run(
            service_steps(results, url, uri, bootstrap, settings, workload, sink, keys, pids, profile)
        )
    finally:
        for name, process in processes.items():
            stop_registry(process)
            if name == "notify" and process.returncode not in (0, -signal.SIGTERM):
                results.failures.append(f"notify exited with code {process.returncode}")
    if all(os.environ.get(name) for name in ("MONGODB_URI", "KAFKA_BOOTSTRAP_SERVERS")):
        asyncio.run(drop_database(uri, f"{unique}_notify"))
        asyncio.run(delete_prefixed_topics(bootstrap, f"{unique}."))


def main(argv: list[str] | None = None) -> int:
    if os.environ.get(SINK_ENV):
        port, path = os.environ[SINK_ENV].split(" ", 1)
        asyncio.run(run_sink(int(port), Path(path)))
        return 0
    args = parse_args(argv)
    results = Results(employees=args.employees, raw_messages=args.raw, limit_s=args.limit)
    work = Path(tempfile.mkdtemp(prefix="netral-notifybench-"))
    logs = [work / "notify.log", work / "smtp-sink.log"]
    print(f"work dir: {work} (logs: {', '.join(str(log) for log in logs)})", flush=True)
    pids: dict[str, int] = {"bench": os.getpid()}
    broke, external = False, False
    try:
        uri, bootstrap, external = start_engines(work / "engines", pids)
        bench_steps(args, results, work, uri, bootstrap, pids)
    except BenchFailure as exc:
        results.failures.append(f"aborted: {exc}")
        broke = True
    finally:
        if not external:
            engines.stop(work / "engines")
            shutil.rmtree(work / "engines" / "mongo", ignore_errors=True)
    print("done", flush=True)
    for log in logs:
        problems = log_problems(log)
        if problems:
            print(f"{log.name} has warnings/errors:", *(f"  {line}" for line in problems), sep="\n")
    report(results, os.cpu_count() or 0)
    return 1 if broke or results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
