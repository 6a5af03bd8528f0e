"""End to end: the registry and two reports processes on real engines, with their clocks moved
by a shared clock file. A case goes from an anonymous intake to a recorded sanction, with the
reporter's view checked at every step, and the reporter's identity is then searched for in
everything the platform let out: topics, logs, metrics and API responses. Deadlines fire
exactly once although two processes scan, and a late PPK is escalated on the real working
days of the Indonesian calendar."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bson
import httpx
import jwt
import pytest
from aiokafka.structs import ConsumerRecord  # type: ignore[import-untyped]
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from contracts.envelope import CloudEvent, decode_record
from contracts.roles import Role
from contracts.topics import CATALOG, REPORT_CASES, REPORTS_PUBLIC
from netral.devstack import wait_ready
from services.kit.sealedbox import ContactOpener, generate_private_key
from services.reports.domain import (
    STATE_LABELS,
    CaseState,
    DeadlineKind,
    EscalationLevel,
    WorkingCalendar,
    deadline_due,
    escalation_times,
)
from tests.integration.pemda import UNITS
from tests.integration.reports_pemda import PEOPLE
from tests.kafka_reader import assert_agency_sdk_reads, prefixed_topics, read_all, wait_for
from tests.processes import ServiceRunner

AHMAD = "197502022000031002"  # head of the Dinas Pendidikan (JPT)
BUDI = "198503152010011005"  # Budi Santoso, S.Kom., staff
SITI = "199003032021212003"  # Siti Rahmawati, PPPK

REPORTER_NAME = "Rina Wulandari"
REPORTER_EMAIL = "rina.wulandari@example.org"
REPORTER_PHONE = "+62 812-7788-9911"
# Searched case-insensitively. Every one of these is in the decrypted identity response, which
# proves the scan would see a leak; the variants below cover re-encodings of the phone number.
NEEDLES = (
    REPORTER_NAME,
    "Wulandari",
    REPORTER_EMAIL,
    "rina.wulandari",
    "example.org",
    REPORTER_PHONE,
    "812-7788-9911",
    "7788-9911",
)
VARIANTS = ("77889911", "7788 9911", "rina%20wulandari", "rina+wulandari", "rina.wulandari%40")

TRACKING_KEYS = {
    "tracking_code",
    "status",
    "status_label",
    "category",
    "category_name",
    "received_at",
    "history",
}
HISTORY_KEYS = {"status", "status_label", "reason", "at"}
RECEIVED_REASON = "Laporan diterima dan menunggu verifikasi oleh satuan tugas netralitas."
SCAN_SECONDS = 0.5
SCANNER_LEASE = "reports.deadline-scanner"


# ---------------------------------------------------------------- processes and clock


class ClockFile:
    """The reports processes' "now". Replaced atomically, with a fresh mtime on every write: the
    processes re-read the file when its mtime changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.moment: dt.datetime | None = None
        self._stamp = 0

    def set(self, moment: dt.datetime) -> None:
        staging = self.path.with_suffix(".next")
        staging.write_text(moment.isoformat())
        self._stamp = max(time.time_ns(), self._stamp + 1_000_000)
        os.utime(staging, ns=(self._stamp, self._stamp))
        os.replace(staging, self.path)
        self.moment = moment

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        assert self.moment is not None
        self.set(self.moment + delta)
        return self.moment


@dataclass
class Pemda:
    registry: str
    reports: list[str]
    registry_db: str
    reports_db: str
    prefix: str
    bootstrap: str
    mongodb_uri: str
    clock: ClockFile
    logs: list[Path] = field(default_factory=list)


@pytest.fixture
def pemda(tmp_path: Path, service_env: dict[str, str], service_runner: ServiceRunner) -> Pemda:
    """The registry and two reports processes (same database, same topics, different ports),
    started at once. The keys are written first so that both processes share them."""
    reporter_key = tmp_path / "reporter.fernet"
    reporter_key.write_bytes(Fernet.generate_key())
    reporter_key.chmod(0o600)
    tracking_key = tmp_path / "tracking.key"
    tracking_key.write_bytes(Fernet.generate_key())
    tracking_key.chmod(0o600)
    clock = ClockFile(tmp_path / "clock.txt")
    env = {
        "LOG_LEVEL": "INFO",
        "REPORTER_KEY_FILE": str(reporter_key),
        "TRACKING_KEY_FILE": str(tracking_key),
        "NOTIFY_CONTACT_PUBLIC_KEY": ContactOpener(generate_private_key(), "kontak").public_key().decode(),
        "CLOCK_FILE": str(clock.path),
        "DEADLINE_SCAN_SECONDS": str(SCAN_SECONDS),
        "RATE_LIMIT_INTAKE": "1000/minute",
        "RATE_LIMIT_TRACKING": "5000/minute",
    }
    base = service_env["MONGODB_DATABASE"]
    registry = service_runner.spawn("services.registry", f"{base}_registry", **env)
    first = service_runner.spawn("services.reports", f"{base}_reports", **env)
    second = service_runner.spawn("services.reports", f"{base}_reports", **env)
    for service in (registry, first, second):
        wait_ready(service.url, 60, service.log)
    return Pemda(
        registry=registry.url,
        reports=[first.url, second.url],
        registry_db=registry.database,
        reports_db=first.database,
        prefix=service_env["KAFKA_TOPIC_PREFIX"],
        bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"],
        mongodb_uri=service_env["MONGODB_URI"],
        clock=clock,
        logs=[registry.log, first.log, second.log],
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def populate(
    pemda: Pemda, http: httpx.AsyncClient, mongo: AsyncMongoClient[dict[str, Any]], admin_token: str
) -> None:
    """Org units and employees through the registry's API; the reports service learns them only
    from the registry's events."""
    admin = bearer(admin_token)
    for unit in UNITS:
        response = await http.post(f"{pemda.registry}/v1/org-units", json=unit, headers=admin)
        assert response.status_code == 201, response.text
    for nip, name, employment_type, level, unit_code in PEOPLE:
        body = {
            "nip": nip,
            "name": name,
            "employment_type": employment_type,
            "position": "Analis" if level == "STAFF" else "Kepala Dinas",
            "level": level,
            "org_unit_code": unit_code,
        }
        response = await http.post(f"{pemda.registry}/v1/employees", json=body, headers=admin)
        assert response.status_code == 201, response.text
    projection = mongo[pemda.reports_db]

    async def projected() -> bool:
        return await projection["employees"].count_documents({}) == len(PEOPLE) and await projection[
            "org_units"
        ].count_documents({}) == len(UNITS)

    await wait_for(projected, timeout=60, interval=0.2)


def report_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "tim_kampanye",
        "description": "Terlapor tercantum sebagai anggota tim pemenangan pasangan calon nomor 2 "
        "dan hadir dalam rapat koordinasi tim di posko pemenangan.",
        "incident_date": "2024-11-01",
        "location": "Cibinong, Kabupaten Bogor",
        "accused": {"name": "Budi Santoso", "nip": BUDI},
        "evidence": [{"url": "https://instagram.com/p/xyz789", "note": "foto rapat tim"}],
        "reporter": None,
    }
    body.update(overrides)
    return body


async def outbox_drained(mongo: AsyncMongoClient[dict[str, Any]], *databases: str) -> None:
    async def drained() -> bool:
        for database in databases:
            if await mongo[database]["outbox"].count_documents({"pending": True}):
                return False
        return True

    await wait_for(drained, timeout=30, interval=0.1)


async def published_ids(
    mongo: AsyncMongoClient[dict[str, Any]], prefix: str, *databases: str
) -> dict[str, set[str]]:
    """The ids of the events the services' outboxes published, by Kafka topic."""
    ids: dict[str, set[str]] = {}
    for database in databases:
        async for doc in mongo[database]["outbox"].find({}, {"topic": 1, "event_id": 1, "pending": 1}):
            assert "pending" not in doc, doc
            ids.setdefault(prefix + doc["topic"], set()).add(doc["event_id"])
    return ids


def ce_ids(records: list[ConsumerRecord[bytes, bytes]]) -> set[str]:
    return {decode_record(r.headers, r.key, r.value, r.topic).id for r in records}


def events_in(records: list[ConsumerRecord[bytes, bytes]], case_id: str) -> list[CloudEvent]:
    """The case's events; the topic also carries the heads of the identity-read log, of no case."""
    events = [decode_record(r.headers, r.key, r.value, r.topic) for r in records]
    return [event for event in events if event.data.get("case", {}).get("case_id") == case_id]


def found(haystack: bytes | str, needles: tuple[str, ...] = NEEDLES + VARIANTS) -> list[str]:
    text = haystack.decode("utf-8", errors="replace") if isinstance(haystack, bytes) else haystack
    lowered = text.lower()
    return [needle for needle in needles if needle.lower() in lowered]


def record_bytes(record: ConsumerRecord[bytes, bytes]) -> bytes:
    parts = [record.key or b"", record.value or b""]
    for name, value in record.headers:
        parts += [name.encode(), value or b""]
    return b"\n".join(parts)


def metric_sum(text: str, sample_name: str, **labels: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def strings_and_keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_and_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_and_keys(item)
    elif isinstance(value, str):
        yield value


# ---------------------------------------------------------------- test 1: the full case


async def test_anonymous_intake_to_recorded_sanction_leaks_no_reporter(
    pemda: Pemda, mint: Callable[..., str]
) -> None:
    clock = pemda.clock
    clock.set(dt.datetime(2024, 11, 4, 2, 0, tzinfo=dt.UTC))  # Monday 09:00 WIB
    first, second = pemda.reports
    tokens = {role: mint(role) for role in ("bkpsdm", "bkn", "bawaslu", "inspektorat", "ppk")}
    tokens["opd_admin"] = mint("opd_admin", org_unit="32.01.001")
    subjects = [jwt.decode(token, options={"verify_signature": False})["sub"] for token in tokens.values()]
    roles = {role.value for role in Role}
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(pemda.mongodb_uri, tz_aware=True)
    responses: list[tuple[str, str]] = []  # (what, body) of every response the leak scan covers
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            await populate(pemda, http, mongo, tokens["bkpsdm"])

            # 1. Anonymous public intake on the first process.
            filed = await http.post(f"{first}/v1/reports", json=report_body())
            assert filed.status_code == 201, filed.text
            assert set(filed.json()) == {"report_id", "tracking_code", "message", "track_url"}
            codes = [filed.json()["tracking_code"]]
            case_id = ""

            async def tracked(status: str, reason: str) -> None:
                """What each reporter sees, alternately through both processes: the status, its
                label, the reason of the last change, and nothing internal."""
                for index, code in enumerate(codes):
                    url = pemda.reports[index % 2]
                    response = await http.get(f"{url}/v1/reports/track/{code}")
                    assert response.status_code == 200, response.text
                    responses.append((f"track {code} on {url}", response.text))
                    body = response.json()
                    assert set(body) == TRACKING_KEYS
                    assert body["status"] == status
                    assert body["status_label"] == STATE_LABELS[CaseState(status)]
                    assert body["category"] == "tim_kampanye"
                    assert all(set(entry) == HISTORY_KEYS for entry in body["history"])
                    assert body["history"][-1]["status"] == status
                    assert body["history"][-1]["reason"] == reason
                    assert [e["status_label"] for e in body["history"]] == [
                        STATE_LABELS[CaseState(e["status"])] for e in body["history"]
                    ]
                    text = response.text
                    for internal in ("Budi", "Santoso", BUDI, AHMAD, "32.01.001", "dev-", *subjects):
                        assert internal not in text, f"tracking shows {internal!r}"
                    if case_id:
                        assert case_id not in text
                    assert not roles & set(strings_and_keys(body)), "tracking shows a role"
                    assert not {"actor", "actor_role", "case_id", "report_id"} & set(strings_and_keys(body))
                    assert found(text) == []

            await tracked("received", RECEIVED_REASON)

            # 2. The same person and incident, reported with an identity through the other
            # process: by name and unit, without the NIP, a day later. Then once more by phone.
            clock.advance(dt.timedelta(hours=3))
            named = await http.post(
                f"{second}/v1/reports",
                json=report_body(
                    incident_date="2024-11-02",
                    accused={"name": "Budi Santoso", "org_unit_code": "32.01.001", "position": "Analis"},
                    reporter={"name": REPORTER_NAME, "contact": REPORTER_EMAIL},
                ),
            )
            assert named.status_code == 201, named.text
            by_phone = await http.post(
                f"{first}/v1/reports",
                json=report_body(reporter={"name": REPORTER_NAME, "contact": REPORTER_PHONE}),
            )
            assert by_phone.status_code == 201, by_phone.text
            codes += [named.json()["tracking_code"], by_phone.json()["tracking_code"]]
            # A refused intake with an identity: the error path must not leak it either.
            future = await http.post(
                f"{second}/v1/reports",
                json=report_body(
                    incident_date="2024-11-30", reporter={"name": REPORTER_NAME, "contact": REPORTER_EMAIL}
                ),
            )
            assert future.status_code == 422 and "incident_date" in future.text

            listing = await http.get(f"{second}/v1/reports", headers=bearer(tokens["bkpsdm"]))
            assert listing.status_code == 200 and listing.json()["total"] == 1, listing.text
            summary = listing.json()["items"][0]
            case_id = summary["id"]
            assert summary["report_count"] == 3 and summary["channels"] == ["public"]
            assert summary["match_status"] == "matched" and summary["subject"]["employee_id"] == BUDI
            await tracked("received", RECEIVED_REASON)

            async def move(url: str, role: str, action: str, reason: str, **extra: Any) -> httpx.Response:
                return await http.post(
                    f"{url}/v1/reports/{case_id}/transitions",
                    json={"action": action, "reason": reason, **extra},
                    headers=bearer(tokens[role]),
                )

            # 3. The walk, each call on the other process than the one before.
            steps = [
                (
                    first,
                    "bkn",
                    "verify",
                    "Bukti foto rapat tim telah diverifikasi satgas netralitas.",
                    "verified",
                ),
                (
                    second,
                    "bawaslu",
                    "recommend",
                    "Hasil kajian: direkomendasikan penjatuhan sanksi.",
                    "recommended",
                ),
                (
                    first,
                    "inspektorat",
                    "examine",
                    "Pemeriksaan selesai; keanggotaan tim kampanye terbukti.",
                    "examined",
                ),
            ]
            for url, role, action, reason, state in steps:
                clock.advance(dt.timedelta(days=1))
                moved = await move(url, role, action, reason)
                assert moved.status_code == 200, moved.text
                assert moved.json()["state"] == state
                await tracked(state, reason)

            clock.advance(dt.timedelta(days=1))
            decision = "Dijatuhi pemotongan tunjangan kinerja 25% selama 12 bulan."
            assert (
                await move(second, "bkpsdm", "decide_sanction", decision, sanction="potong_tukin_25_12_bulan")
            ).status_code == 403
            illegal = await move(
                first, "ppk", "decide_sanction", "Teguran tertulis saja.", sanction="teguran_tertulis"
            )
            assert illegal.status_code == 422 and "potong_tukin_25_12_bulan" in illegal.text, illegal.text
            await tracked("examined", steps[-1][3])  # refusals change nothing the reporter sees
            decided = await move(
                second, "ppk", "decide_sanction", decision, sanction="potong_tukin_25_12_bulan"
            )
            assert decided.status_code == 200, decided.text
            assert decided.json()["state"] == "decided"
            assert decided.json()["sanction"]["code"] == "potong_tukin_25_12_bulan"
            await tracked("decided", decision)

            clock.advance(dt.timedelta(days=1))
            recording = "Keputusan sanksi dicatat dalam data kepegawaian; keberatan dapat diajukan."
            assert clock.moment is not None
            decree = {
                "decree_number": "800.1.6/017/BKPSDM/2024",
                "decree_date": (clock.moment + dt.timedelta(hours=7)).date().isoformat(),  # WIB
            }
            recorded = await move(first, "bkpsdm", "record", recording, **decree)
            assert recorded.status_code == 200, recorded.text
            assert recorded.json()["state"] == "recorded"
            await tracked("recorded", recording)
            history = (await http.get(f"{second}/v1/reports/track/{codes[0]}")).json()["history"]
            assert [entry["status"] for entry in history] == [
                "received", "verified", "recommended", "examined", "decided", "recorded"
            ]  # fmt: skip

            # 4. One audited read of the identities, with a reason; the log lists it.
            reason = "Klarifikasi keterangan pelapor untuk berita acara pemeriksaan"
            identity = await http.post(
                f"{second}/v1/reports/{case_id}/reporter",
                json={"reason": reason},
                headers=bearer(tokens["inspektorat"]),
            )
            assert identity.status_code == 200, identity.text
            reporters = identity.json()["reporters"]
            assert sorted((r["name"], r["contact"]) for r in reporters) == sorted(
                [(REPORTER_NAME, REPORTER_EMAIL), (REPORTER_NAME, REPORTER_PHONE)]
            )
            # The scanner sees every needle where the identity really is (not counted in the scan).
            assert found(identity.text, NEEDLES) == list(NEEDLES)
            for params in ({}, {"case_id": case_id}):
                log = await http.get(
                    f"{first}/v1/reporter-access-log", params=params, headers=bearer(tokens["bkn"])
                )
                assert log.status_code == 200, log.text
                entries = log.json()["items"]
                assert len(entries) == 1
                assert entries[0]["case_id"] == case_id and entries[0]["reason"] == reason
                assert entries[0]["actor_role"] == "inspektorat" and entries[0]["identities_read"] == 2

            # 5. The leak scan. First every list endpoint, through both processes and roles.
            filters: list[dict[str, Any]] = [
                {},
                {"state": "recorded"},
                {"org_unit": "32.01"},
                {"org_unit": "32.01.001", "state": "recorded"},
                {"overdue": "false"},
                {"page_size": 1},
            ]
            for url in pemda.reports:
                for role, token in tokens.items():
                    for params in filters:
                        if role == "opd_admin" and params.get("org_unit") == "32.01":
                            continue  # above the unit admin's own OPD: refused, not a listing
                        response = await http.get(f"{url}/v1/reports", params=params, headers=bearer(token))
                        assert response.status_code == 200, (role, params, response.text)
                        assert response.json()["total"] == 1, (role, params)
                        responses.append((f"GET {url}/v1/reports {params} as {role}", response.text))
                    detail = await http.get(f"{url}/v1/reports/{case_id}", headers=bearer(token))
                    assert detail.status_code == 200, detail.text
                    assert "Budi Santoso" in detail.text
                    # The unit admin sees their employee's case, not the reports (issue 12, #9).
                    assert len(detail.json().get("reports", [])) == (0 if role == "opd_admin" else 3)
                    responses.append((f"GET {url}/v1/reports/{case_id} as {role}", detail.text))
                for role in ("bkpsdm", "bkn", "inspektorat"):
                    for params in ({}, {"case_id": case_id}):
                        log = await http.get(
                            f"{url}/v1/reporter-access-log", params=params, headers=bearer(tokens[role])
                        )
                        assert log.status_code == 200, log.text
                        responses.append((f"GET {url}/v1/reporter-access-log {params} as {role}", log.text))
            await tracked("recorded", recording)
            assert len(responses) > 80

            metrics: list[tuple[str, str]] = []
            for url in [*pemda.reports, pemda.registry]:
                response = await http.get(f"{url}/metrics")
                assert response.status_code == 200
                metrics.append((f"{url}/metrics", response.text))
            received = sum(metric_sum(text, "netral_reports_received_total") for _, text in metrics)
            assert received == 3  # the metrics are real: every intake counted once
            assert sum(metric_sum(text, "netral_reports_transitions_total") for _, text in metrics) == 5

        leaks: list[str] = []
        for what, text in [*responses, *metrics]:
            leaks += [f"{what}: {needle}" for needle in found(text)]

        # Every record on every topic of this test: keys, values and headers.
        await outbox_drained(mongo, pemda.reports_db, pemda.registry_db)
        topics = await prefixed_topics(pemda.bootstrap, pemda.prefix)
        expected = {pemda.prefix + topic.name for topic in CATALOG}
        assert expected <= set(topics), topics
        assert any(topic.startswith(f"{pemda.prefix}dlq.") for topic in topics), topics
        by_topic: dict[str, list[ConsumerRecord[bytes, bytes]]] = {}
        for topic in topics:
            by_topic[topic] = await read_all(pemda.bootstrap, topic)
            for record in by_topic[topic]:
                if not topic.startswith(f"{pemda.prefix}dlq."):
                    assert_agency_sdk_reads(record, decode_record(record.headers, record.key, record.value))
                leaks += [
                    f"{topic}@{record.partition}:{record.offset}: {needle}"
                    for needle in found(record_bytes(record))
                ]
        # The scan read every record the services published (the event ids in their outboxes).
        published = await published_ids(mongo, pemda.prefix, pemda.reports_db, pemda.registry_db)
        for topic, records in by_topic.items():
            assert ce_ids(records) == published.get(topic, set()), topic
        # One event per change, in the order of the changes on Kafka (one partition per case),
        # although the two replicas made the changes in turn.
        internal = events_in(by_topic[pemda.prefix + REPORT_CASES.name], case_id)
        # The one identity read published the head of its log, with neither case nor reader.
        heads = [
            decode_record(r.headers, r.key, r.value, r.topic)
            for r in by_topic[pemda.prefix + REPORT_CASES.name]
            if decode_record(r.headers, r.key, r.value, r.topic).type == "report.reporter_access_head.v1"
        ]
        assert [(head.data["length"], case_id in head.payload.decode()) for head in heads] == [(1, False)]
        assert [(event.type, event.data["case"]["version"]) for event in internal] == [
            ("report.received.v1", 1),
            ("report.received.v1", 2),
            ("report.received.v1", 3),
            ("report.verified.v1", 4),
            ("report.recommendation_issued.v1", 5),
            ("report.status_changed.v1", 6),
            ("report.sanction_imposed.v1", 7),
            ("report.status_changed.v1", 8),
        ]
        assert [event.data["to_state"] for event in internal[3:]] == [
            "verified", "recommended", "examined", "decided", "recorded"
        ]  # fmt: skip
        assert "Budi Santoso" in internal[0].payload.decode()  # the scan reads the values
        public = events_in(by_topic[pemda.prefix + REPORTS_PUBLIC.name], case_id)
        assert [(event.type, event.data["case"]["version"]) for event in public] == [
            ("public.report.received.v1", 1),
            ("public.report.received.v1", 2),
            ("public.report.received.v1", 3),
            ("public.report.verified.v1", 4),
            ("public.report.recommendation_issued.v1", 5),
            ("public.report.sanction_imposed.v1", 7),
        ]
        assert public[-1].data["subject_employee_id"] == BUDI
        assert len(by_topic[pemda.prefix + "registry.employees"]) == len(PEOPLE)

        # Every line the three processes logged.
        for path in pemda.logs:
            lines = path.read_bytes().splitlines()
            assert lines, f"{path} is empty"
            leaks += [
                f"{path.name} line {n}: {needle}" for n, line in enumerate(lines, 1) for needle in found(line)
            ]
        reports_log = b"".join(path.read_bytes() for path in pemda.logs[1:])
        assert b"/v1/reports/track/" in reports_log  # the requests were logged, and scanned

        # And, beyond the brief of "what leaves the service": every document both services stored.
        # Only the sealed identities hold the reporter, and sealed means no plaintext.
        for database in (pemda.reports_db, pemda.registry_db):
            for name in await mongo[database].list_collection_names():
                async for doc in mongo[database][name].find():
                    leaks += [
                        f"{database}.{name} {doc['_id']}: {needle}" for needle in found(bson.encode(doc))
                    ]
        assert await mongo[pemda.reports_db]["reporter_identities"].count_documents({"case_id": case_id}) == 2

        assert leaks == [], "the reporter's identity leaked:\n" + "\n".join(leaks)
    finally:
        await mongo.close()


# ---------------------------------------------------------------- test 2: deadlines


async def scan_cycles(mongo: AsyncMongoClient[dict[str, Any]], pemda: Pemda, cycles: int = 3) -> None:
    """Wait until the scanner's lease was renewed `cycles` more times: the leader renews it before
    every scan, so that many full scans began after this call, on the clock as it is now."""
    leases = mongo[pemda.reports_db]["leases"]
    start = await leases.find_one({"_id": SCANNER_LEASE})
    assert start is not None, "no process is scanning"

    async def renewed() -> bool:
        now = await leases.find_one({"_id": SCANNER_LEASE})
        assert now is not None
        return bool((now["expires_at"] - start["expires_at"]).total_seconds() >= cycles * SCAN_SECONDS)

    await wait_for(renewed, timeout=30, interval=0.1)


async def test_deadlines_fire_exactly_once_with_two_scanning_processes(
    pemda: Pemda, mint: Callable[..., str]
) -> None:
    clock = pemda.clock
    filed_at = dt.datetime(2024, 3, 25, 2, 0, tzinfo=dt.UTC)  # Monday 09:00 WIB
    clock.set(filed_at)
    first, second = pemda.reports
    calendar = WorkingCalendar("Asia/Jakarta")
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(pemda.mongodb_uri, tz_aware=True)
    cases = mongo[pemda.reports_db]["cases"]
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            await populate(pemda, http, mongo, mint("bkpsdm"))
            await wait_for(
                lambda: mongo[pemda.reports_db]["leases"].find_one({"_id": SCANNER_LEASE}), timeout=30
            )

            async def file(url: str, nip: str, name: str) -> str:
                body = report_body(
                    category="kampanye_media_sosial",
                    incident_date="2024-03-22",
                    accused={"name": name, "nip": nip},
                )
                response = await http.post(f"{url}/v1/reports", json=body)
                assert response.status_code == 201, response.text
                report = await mongo[pemda.reports_db]["reports"].find_one(
                    {"_id": response.json()["report_id"]}
                )
                assert report is not None and report["received_at"] == filed_at
                return str(report["case_id"])

            # Case A waits for verification; case B goes on to the PPK.
            ignored = await file(first, SITI, "Siti Rahmawati")
            late = await file(second, AHMAD, "Ahmad Hidayat")
            verification_due = deadline_due(DeadlineKind.VERIFICATION, filed_at, calendar)
            assert verification_due == dt.datetime(2024, 4, 1, 17, 0, tzinfo=dt.UTC)

            async def move(url: str, role: str, action: str, reason: str) -> None:
                response = await http.post(
                    f"{url}/v1/reports/{late}/transitions",
                    json={"action": action, "reason": reason},
                    headers=bearer(mint(role)),
                )
                assert response.status_code == 200, response.text

            clock.set(dt.datetime(2024, 3, 26, 2, 0, tzinfo=dt.UTC))
            await move(first, "bkn", "verify", "Unggahan terverifikasi oleh satgas netralitas.")
            # Bawaslu's 3 working days from 26 March end on 1 April: Good Friday and a weekend.
            recommended_at = dt.datetime(2024, 4, 1, 2, 0, tzinfo=dt.UTC)
            clock.set(recommended_at)
            await move(second, "bawaslu", "recommend", "Direkomendasikan kepada PPK untuk dijatuhi sanksi.")
            decision_due = deadline_due(DeadlineKind.DECISION, recommended_at, calendar)
            ladder = dict(escalation_times(decision_due, calendar))
            # Idul Fitri 1445 H and its cuti bersama (8-15 April), Ascension Day (9 May), cuti
            # bersama (10 May) and Waisak (23-24 May) are not working days.
            assert decision_due == dt.datetime(2024, 4, 29, 17, 0, tzinfo=dt.UTC)
            assert ladder[EscalationLevel.REPRIMAND] == dt.datetime(2024, 5, 7, 17, 0, tzinfo=dt.UTC)
            assert ladder[EscalationLevel.DATA_BLOCK] == dt.datetime(2024, 5, 16, 17, 0, tzinfo=dt.UTC)
            late_doc = await cases.find_one({"_id": late})
            assert late_doc is not None and late_doc["deadlines"]["decision"] == decision_due
            await scan_cycles(mongo, pemda)
            assert (await cases.find_one({"_id": late}) or {}).get("fired") == []

            async def fired(case_id: str) -> list[str]:
                doc = await cases.find_one({"_id": case_id})
                assert doc is not None
                return list(doc["fired"])

            async def fires(case_id: str, *keys: str) -> None:
                async def done() -> bool:
                    return set(keys) <= set(await fired(case_id))

                await wait_for(done, timeout=30, interval=0.1)

            # The verification deadline passes for case A: one breach, however long both scan.
            clock.set(dt.datetime(2024, 4, 2, 2, 0, tzinfo=dt.UTC))
            await fires(ignored, "breach:verification")
            for _ in range(2):
                clock.advance(dt.timedelta(minutes=1))
                await scan_cycles(mongo, pemda)
                assert await fired(ignored) == ["breach:verification"]
                assert await fired(late) == []

            # The PPK's 14 working days: nothing a second early, then the ladder step by step.
            clock.set(decision_due - dt.timedelta(seconds=1))
            await scan_cycles(mongo, pemda)
            assert await fired(late) == []
            clock.set(decision_due)
            await fires(late, "breach:decision", "escalation:peringatan")
            clock.set(ladder[EscalationLevel.REPRIMAND] - dt.timedelta(seconds=1))
            await scan_cycles(mongo, pemda)
            assert await fired(late) == ["breach:decision", "escalation:peringatan"]
            clock.set(ladder[EscalationLevel.REPRIMAND])
            await fires(late, "escalation:teguran")
            clock.set(ladder[EscalationLevel.DATA_BLOCK])
            await fires(late, "escalation:blokir_data")
            for _ in range(2):
                clock.advance(dt.timedelta(days=1))
                await scan_cycles(mongo, pemda)
            assert await fired(ignored) == ["breach:verification"]
            assert await fired(late) == [
                "breach:decision",
                "escalation:peringatan",
                "escalation:teguran",
                "escalation:blokir_data",
            ]
            for case_id in (ignored, late):
                doc = await cases.find_one({"_id": case_id})
                assert doc is not None and doc["overdue"] is True and "next_due_at" not in doc

            overdue = await http.get(
                f"{first}/v1/reports", params={"overdue": "true"}, headers=bearer(mint("bkn"))
            )
            assert {item["id"] for item in overdue.json()["items"]} == {ignored, late}

            # The processes' counters add up to one of each, wherever the lease was.
            texts = [(await http.get(f"{url}/metrics")).text for url in (first, second)]
            for deadline in ("verification", "decision"):
                total = sum(
                    metric_sum(t, "netral_reports_deadline_breaches_total", deadline=deadline) for t in texts
                )
                assert total == 1, deadline
            for level in EscalationLevel:
                total = sum(
                    metric_sum(t, "netral_reports_escalations_total", level=level.value) for t in texts
                )
                assert total == 1, level

        # Exactly one event per duty on each topic.
        await outbox_drained(mongo, pemda.reports_db)
        internal = await read_all(pemda.bootstrap, pemda.prefix + REPORT_CASES.name)
        public = await read_all(pemda.bootstrap, pemda.prefix + REPORTS_PUBLIC.name)
        published = await published_ids(mongo, pemda.prefix, pemda.reports_db)
        for topic, records in ((REPORT_CASES.name, internal), (REPORTS_PUBLIC.name, public)):
            assert len(records) == len(ce_ids(records)), f"{topic}: an event published twice"
            assert ce_ids(records) == published[pemda.prefix + topic], topic

        def instant(text: str) -> dt.datetime:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)

        def duties_of(
            events: list[CloudEvent], breach: str, escalated: str
        ) -> list[tuple[str, Any, dt.datetime]]:
            return [
                (
                    event.type,
                    event.data.get("deadline") or event.data.get("level"),
                    instant(event.data["due_at"]),
                )
                for event in events
                if event.type in (breach, escalated)
            ]

        for records, prefix in ((internal, ""), (public, "public.")):
            breach, escalated = f"{prefix}report.deadline_breached.v1", f"{prefix}report.escalated.v1"
            assert duties_of(events_in(records, ignored), breach, escalated) == [
                (breach, "verification", verification_due)
            ]
            assert duties_of(events_in(records, late), breach, escalated) == [
                (breach, "decision", decision_due),
                (escalated, "peringatan", decision_due),
                (escalated, "teguran", ladder[EscalationLevel.REPRIMAND]),
                (escalated, "blokir_data", ladder[EscalationLevel.DATA_BLOCK]),
            ]
        # Agencies learn the NIP only when BKN must block the data.
        subjects = {
            event.data["level"]: event.data["subject_employee_id"]
            for event in events_in(public, late)
            if event.type == "public.report.escalated.v1"
        }
        assert subjects == {"peringatan": None, "teguran": None, "blokir_data": AHMAD}
    finally:
        await mongo.close()
