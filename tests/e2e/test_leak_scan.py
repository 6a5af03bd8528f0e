"""The leak scan (issue 12): after a walk through all four services as real processes, nothing a
service wrote holds a raw NIK, a reporter's name or contact, a tracking code or an agency's
webhook secret, except in sealed or encrypted form.

The walk: org units; a CSV import of ASN and NON_ASN staff (NIKs), with a repeated NIK on a
broken row and a NIK typed into the NIP column; public reports with reporters' names, e-mail
addresses and a phone number, tracked by their codes; an agency webhook on the public events; a
verification, which sends each reporter a status update by e-mail: one delivered, one refused
by the mail server with the address in its reply, and one to the phone number; an audited read
of the reporters' identities; and a forged employee event carrying personal data, which every
consumer dead-letters.

The scan: every document of every collection of the test's databases (GridFS files put back
together too), every record of every topic of the test's prefix including `dlq.*` (keys, values,
headers), every line the processes logged, each `/metrics`, and the API answers that must not
carry these values (the import's errors, the delivery log, the subscriptions, the employees).
Each value is searched as written, without its separators, URL-encoded, in base64 and as an
unkeyed hash. The only records skipped are the test's own forged ones: no service wrote them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from contracts.envelope import CloudEvent, new_event
from contracts.registry import EmployeeRegisteredV1, EmployeeSnapshot
from contracts.topics import CATALOG, EMPLOYEES
from netral.engines import free_port
from tests.e2e.leak_scan_setup import (
    EchoingMailbox,
    Leak,
    LeakScanner,
    Needle,
    header,
    log_leaks,
    phone_needle,
    scan_databases,
)
from tests.integration.notify_setup import WebhookReceiver, publish, serving, smtp_server
from tests.kafka_reader import prefixed_topics, read_all, read_topic, wait_for
from tests.processes import ServiceRunner

UNITS = [
    {"code": "32", "name": "Provinsi Jawa Barat", "kind": "PROVINCE"},
    {"code": "32.01", "name": "Kabupaten Bogor", "kind": "REGENCY", "parent_code": "32"},
    {"code": "32.01.001", "name": "Dinas Pendidikan", "kind": "OPD", "parent_code": "32.01"},
    {"code": "32.01.002", "name": "Dinas Kesehatan", "kind": "OPD", "parent_code": "32.01"},
]
HEAD_NIP = "197502022000031002"
ACCUSED_NIP = "198503152010011005"
NIKS = ("3201016404910007", "3201015708880013", "3201014112930021")
NIK_AS_NIP = "3201012209950031"
"""A NON_ASN worker's NIK typed into the NIP column: an error must not echo it either."""
CSV = "\n".join(
    [
        "nip;nama;jenis_pegawai;jabatan;level;kode_unor;nip_atasan;email;no_hp;nik",
        f"{HEAD_NIP};Dr. Ahmad Hidayat, M.Si.;PNS;Kepala Dinas;JPT;32.01.001;;ahmad.hidayat@bogorkab.go.id;;",
        f"{ACCUSED_NIP};Budi Santoso;PNS;Analis;STAFF;32.01.001;{HEAD_NIP};budi.santoso@bogorkab.go.id;;",
        "198704042021212004;Rudi Hartono;PPPK;Analis;STAFF;32.01.002;;rudi.hartono@bogorkab.go.id;;",
        f";Asep Sunandar;Honorer;Pengemudi;pelaksana;32.01.002;;;+62 812-1111-2222;{NIKS[0]}",
        f";Euis Komalasari;NON_ASN;Petugas Kebersihan;STAFF;32.01.002;;euis.k@bogorkab.go.id;;{NIKS[1]}",
        f";Ujang Permana;Honorer;Satpam;STAFF;32.01.001;;;;{NIKS[2]}",
        f";Asep Sunandar;Honorer;Pengemudi;bukan_level;32.01.002;;;;{NIKS[0]}",  # repeated and broken
        f"{NIK_AS_NIP};Dadang Suryadi;PNS;Analis;STAFF;32.01.001;;;;",  # a NIK in the NIP column
    ]
).encode()
IMPORTED = 6

# (name, contact): status updates go by e-mail, to a phone number too (which then fails).
DELIVERED = ("Kartika Sembiring", "kartika.sembiring@example.org")
BOUNCED = ("Yohanes Manurung", "yohanes.manurung@example.net")
BY_PHONE = ("Ratna Pardede", "+62 813-4455-6677")
REPORTERS = (DELIVERED, BOUNCED, BY_PHONE)

# The forged employee event: personal data that no service may keep in its dead letters.
FORGED_NAME = "Lina Siregar"
FORGED_EMAIL = "lina.siregar@example.com"
FORGED_PHONE = "+62 811-2020-3030"

DESCRIPTION = (
    "Terlapor mengunggah ajakan memilih pasangan calon nomor 2 di akun media sosial pribadinya "
    "dan membagikannya ke grup kantor."
)
VERIFY_REASON = "Unggahan terverifikasi oleh satuan tugas netralitas."
IDENTITY_REASON = "Klarifikasi keterangan pelapor untuk berita acara pemeriksaan"
DEAD_LETTER_GROUPS = ("signing", "reports", "notify")

FLOW_ENV = {
    "LOG_LEVEL": "INFO",
    "QUIET_START": "00:00",
    "QUIET_END": "00:00",
    "RETRY_BASE_SECONDS": "0.2",
    "RETRY_CAP_SECONDS": "1",
    "MAX_ATTEMPTS": "2",
    "RATE_LIMIT_INTAKE": "1000/minute",
    "RATE_LIMIT_TRACKING": "5000/minute",
    "RELAY_POLL_SECONDS": "0.05",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def needles(codes: list[str], webhook_secret: str) -> list[Needle]:
    found = [Needle("NIK", nik) for nik in (*NIKS, NIK_AS_NIP)]
    for name, contact in REPORTERS:
        found.append(Needle("reporter name", name))
        phone = contact.startswith("+")
        found.append(phone_needle("reporter phone", contact) if phone else Needle("reporter e-mail", contact))
    found += [
        Needle("forged name", FORGED_NAME),
        Needle("forged e-mail", FORGED_EMAIL),
        phone_needle("forged phone", FORGED_PHONE),
    ]
    found += [Needle("tracking code", code, (code.replace("-", ""),)) for code in codes]
    found.append(Needle("webhook secret", webhook_secret, (webhook_secret.removeprefix("whsec_"),)))
    return found


def forged_employee() -> CloudEvent:
    """An event as the registry would publish it, but one no consumer may take (a field is
    missing, and its version is far beyond any real one) and full of personal data: it must end
    in every group's dead letters."""
    event = new_event(
        EmployeeRegisteredV1(
            employee=EmployeeSnapshot(
                employee_id="NA0000000000004242",
                nip=None,
                name=FORGED_NAME,
                employment_type="NON_ASN",
                position="Pramu Kantor",
                level="STAFF",
                org_unit_code="32.01.002",
                org_unit_path=["32", "32.01"],
                supervisor_nip=None,
                email=FORGED_EMAIL,
                phone=FORGED_PHONE,
                active=True,
                version=1,
            )
        ),
        "/netral/registry",
    )
    payload = json.loads(event.payload)
    payload["employee"]["version"] = 10**12
    del payload["employee"]["org_unit_path"]
    return dataclasses.replace(event, payload=json.dumps(payload).encode())


def body_fields(document: dict[str, Any], path: str, method: str) -> set[str] | None:
    """The JSON body's properties of an operation in an OpenAPI document; None without it."""
    operation = document["paths"].get(path, {}).get(method)
    if operation is None:
        return None
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return set(schema.get("properties", {}))


async def test_nothing_a_service_wrote_holds_a_nik_a_reporter_or_a_tracking_code(
    service_runner: ServiceRunner, service_env: dict[str, str], mint: Callable[..., str]
) -> None:
    base = service_env["MONGODB_DATABASE"]
    prefix = service_env["KAFKA_TOPIC_PREFIX"]
    bootstrap = service_env["KAFKA_BOOTSTRAP_SERVERS"]
    dbs = {name: f"{base}_{name}" for name in ("registry", "signing", "reports", "notify")}
    mailbox = EchoingMailbox(refuse={BOUNCED[1]})
    smtp_port, agency_port = free_port(), free_port()
    controller = smtp_server(smtp_port, mailbox)
    agency = WebhookReceiver()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(service_env["MONGODB_URI"], tz_aware=True)
    admin = bearer(mint("bkpsdm"))
    answers: list[tuple[str, str]] = []  # API answers that must not carry any needle
    try:
        async with serving(agency.app(), agency_port), httpx.AsyncClient(timeout=30) as http:
            registry, signing, reports, notify = await service_runner.start_platform(
                FLOW_ENV, {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port)}
            )
            services = {"registry": registry, "signing": signing, "reports": reports, "notify": notify}

            # ---- the forged event first: the consumers dead-letter it while the walk goes on.
            forged = forged_employee()
            await publish(bootstrap, prefix, [forged])

            # ---- the pemda and its staff, by CSV.
            for unit in UNITS:
                response = await http.post(f"{registry.url}/v1/org-units", json=unit, headers=admin)
                assert response.status_code == 201, response.text
            started = await http.post(
                f"{registry.url}/v1/imports",
                files={"file": ("pegawai.csv", CSV, "text/csv")},
                headers=admin,
            )
            assert started.status_code == 202, started.text
            status_url = f"{registry.url}{started.json()['status_url']}"
            job: dict[str, Any] = {}
            job_text = ""

            async def imported() -> bool:
                nonlocal job, job_text
                response = await http.get(status_url, headers=admin)
                job, job_text = response.json(), response.text
                return job["status"] in ("completed", "failed")

            await wait_for(imported, timeout=30, interval=0.1)
            answers.append(("GET /v1/imports/{id}", job_text))
            assert job["status"] == "completed" and job["imported"] == IMPORTED, job
            assert {error["line"] for error in job["errors"]} == {8, 9}, job["errors"]
            for unit_code in ("32.01.001", "32.01.002"):
                listed = await http.get(
                    f"{registry.url}/v1/employees", params={"org_unit": unit_code}, headers=admin
                )
                assert listed.status_code == 200, listed.text
                answers.append((f"GET /v1/employees?org_unit={unit_code}", listed.text))
            non_asn = [
                item
                for _, text in answers[-2:]
                for item in json.loads(text)["items"]
                if item["employment_type"] == "NON_ASN"
            ]
            assert len(non_asn) == len(NIKS) and all(item["has_nik"] for item in non_asn)

            projections: dict[str, int] = {}

            async def projected() -> bool:
                for name in ("signing", "reports", "notify"):
                    projections[name] = await mongo[dbs[name]]["employees"].count_documents({})
                return set(projections.values()) == {IMPORTED}

            try:
                await wait_for(projected, timeout=60, interval=0.2)
            except AssertionError as exc:
                raise AssertionError(f"{exc}: employees projected {projections}") from None

            # ---- an agency subscribes to the public report events.
            subscribed = await http.post(
                f"{notify.url}/v1/subscriptions",
                json={
                    "agency": "bawaslu-jabar",
                    "event_types": ["public.report.received.v1", "public.report.verified.v1"],
                    "url": f"http://127.0.0.1:{agency_port}/hook",
                },
                headers=admin,
            )
            assert subscribed.status_code == 201, subscribed.text
            agency.secret = subscribed.json()["secret"]

            # ---- the reports: three reporters who leave a contact, and one who does not.
            # The walk follows the API as it is: the tracking code and the reason for reading an
            # identity go in a body where the service takes them there (a path or query is logged).
            api = (await http.get(f"{reports.url}/openapi.json")).json()
            tracking_fields = body_fields(api, "/v1/reports/track", "post")
            identity_fields = body_fields(api, "/v1/reports/{case_id}/reporter", "post")
            incident = (dt.date.today() - dt.timedelta(days=2)).isoformat()
            codes: list[str] = []
            receipts: list[str] = []
            for reporter in (*({"name": name, "contact": contact} for name, contact in REPORTERS), None):
                filed = await http.post(
                    f"{reports.url}/v1/reports",
                    json={
                        "category": "kampanye_media_sosial",
                        "description": DESCRIPTION,
                        "incident_date": incident,
                        "location": "Cibinong, Kabupaten Bogor",
                        "accused": {"name": "Budi Santoso", "nip": ACCUSED_NIP},
                        "evidence": [{"url": "https://instagram.com/p/xyz789", "note": "tangkapan layar"}],
                        "reporter": reporter,
                    },
                )
                assert filed.status_code == 201, filed.text
                codes.append(filed.json()["tracking_code"])
                receipts.append(filed.text)

            old_path = "get" in api["paths"].get("/v1/reports/track/{code}", {})

            async def track(code: str, status: str) -> None:
                """By the body where the service takes it, and by the old path where it is still
                served (an old link): whichever is offered must not log the code."""
                tracked: list[httpx.Response] = []
                if tracking_fields is not None:
                    (name,) = tracking_fields & {"code", "tracking_code"}
                    tracked.append(await http.post(f"{reports.url}/v1/reports/track", json={name: code}))
                if old_path:
                    tracked.append(await http.get(f"{reports.url}/v1/reports/track/{code}"))
                assert tracked, "no way to track a report"
                for response in tracked:
                    assert response.status_code == 200, response.text
                    assert response.json()["status"] == status

            for code in codes:
                await track(code, "received")

            async def contacts_kept() -> bool:
                return await mongo[dbs["notify"]]["reporter_contacts"].count_documents({}) == len(REPORTERS)

            await wait_for(contacts_kept, timeout=30, interval=0.1)
            listing = await http.get(f"{reports.url}/v1/reports", headers=bearer(mint("bkn")))
            assert listing.status_code == 200 and listing.json()["total"] == 1, listing.text
            case_id = listing.json()["items"][0]["id"]
            verified = await http.post(
                f"{reports.url}/v1/reports/{case_id}/transitions",
                json={"action": "verify", "reason": VERIFY_REASON},
                headers=bearer(mint("bkn")),
            )
            assert verified.status_code == 200, verified.text
            for code in codes:
                await track(code, "verified")

            # ---- an audited read of the reporters' identities, with its reason.
            reader = bearer(mint("inspektorat"))
            if identity_fields is not None:
                identity = await http.post(
                    f"{reports.url}/v1/reports/{case_id}/reporter",
                    json={"reason": IDENTITY_REASON},
                    headers=reader,
                )
            else:
                identity = await http.get(
                    f"{reports.url}/v1/reports/{case_id}/reporter",
                    params={"reason": IDENTITY_REASON},
                    headers=reader,
                )
            assert identity.status_code == 200, identity.text

            # ---- what reached the outside world: the status updates and the agency's webhooks.
            deliveries = mongo[dbs["notify"]]["deliveries"]

            # The status updates have all been tried (one to a phone number may be stuck in
            # `sending`: that is notify's to fix, not this test's to wait out), the refused one
            # is dead, and the agency has both kinds of event.
            progress: dict[str, object] = {}

            async def settled() -> bool:
                updates = {"rule": {"$regex": "^perkembangan_laporan"}}
                progress.update(
                    delivered=bool(mailbox.to(DELIVERED[1])),
                    refused=mailbox.refused_attempts,
                    webhooks=sorted({item["event"]["type"] for item in agency.received}),
                    updates=await deliveries.count_documents(updates),
                    updates_pending=await deliveries.count_documents({**updates, "status": "pending"}),
                    dead=await deliveries.count_documents({**updates, "status": "dead"}),
                    webhooks_open=await deliveries.count_documents(
                        {"channel": "webhook", "status": {"$in": ["pending", "sending"]}}
                    ),
                )
                return (
                    progress
                    == {
                        **progress,
                        "delivered": True,
                        "webhooks": ["public.report.received.v1", "public.report.verified.v1"],
                        "updates": len(REPORTERS),
                        "updates_pending": 0,
                        "webhooks_open": 0,
                    }
                    and bool(progress["refused"])
                    and bool(progress["dead"])
                )

            try:
                await wait_for(settled, timeout=30, interval=0.2)
            except AssertionError as exc:
                raise AssertionError(f"{exc}: {progress}") from None
            log = await http.get(f"{notify.url}/v1/deliveries", params={"page_size": 200}, headers=admin)
            assert log.status_code == 200, log.text
            answers.append(("GET /v1/deliveries", log.text))
            subscriptions = await http.get(f"{notify.url}/v1/subscriptions", headers=admin)
            answers.append(("GET /v1/subscriptions", subscriptions.text))

            # ---- the forged event in every group's dead letters.
            for group in DEAD_LETTER_GROUPS:
                await read_topic(
                    bootstrap, f"{prefix}dlq.{group}", lambda records: len(records) >= 1, timeout=30
                )

            # ---- everything is written: the outboxes are drained, the metrics are final.
            async def drained() -> bool:
                for database in dbs.values():
                    if await mongo[database]["outbox"].count_documents({"pending": True}):
                        return False
                return True

            await wait_for(drained, timeout=30, interval=0.1)
            metrics = {name: (await http.get(f"{s.url}/metrics")).text for name, s in services.items()}

        scanner = LeakScanner(needles(codes, agency.secret))

        # The scanner sees each needle where it really is, so a silent scan means no leak.
        assert scanner.found(CSV.decode()) >= {n for n in scanner.needles if n.kind == "NIK"}
        assert scanner.found(identity.text) >= {n for n in scanner.needles if n.kind.startswith("reporter")}
        assert scanner.found("\n".join(receipts)) == {n for n in scanner.needles if n.kind == "tracking code"}
        assert scanner.found(subscribed.text) == {n for n in scanner.needles if n.kind == "webhook secret"}
        assert scanner.found(forged.payload.decode()) == {
            n for n in scanner.needles if n.kind.startswith("forged")
        }

        leaks: list[Leak] = []
        for what, text in answers:
            leaks += scanner.leaks(what, text)
        for name, text in metrics.items():
            leaks += scanner.in_lines(f"{name} /metrics", text)
        leaks += log_leaks([s.log for s in service_runner.services], scanner)

        stored, collections = await scan_databases(mongo, base, scanner)
        leaks += stored
        assert set(dbs.values()) <= set(collections), collections

        # Every record of every topic of this test, the dead letters included.
        topics = await prefixed_topics(bootstrap, prefix)
        assert {prefix + topic.name for topic in CATALOG} <= set(topics), topics
        published: dict[str, set[str]] = {}
        for database in dbs.values():
            async for doc in mongo[database]["outbox"].find({}, {"topic": 1, "event_id": 1}):
                published.setdefault(prefix + doc["topic"], set()).add(doc["event_id"])
        dead_letters = 0
        for topic in topics:
            records = await read_all(bootstrap, topic)
            ids = {header(record, "ce_id") for record in records}
            assert published.get(topic, set()) <= ids, f"{topic}: not every published event was read"
            for record in records:
                if topic == prefix + EMPLOYEES.name and header(record, "ce_id") == forged.id:
                    continue  # the test's own forged record: no service wrote it
                dead_letters += topic.startswith(f"{prefix}dlq.")
                leaks += scanner.in_record(record)
        assert dead_letters >= len(DEAD_LETTER_GROUPS)

        assert leaks == [], f"{len(leaks)} leaks:\n" + "\n".join(str(leak) for leak in leaks)
    finally:
        controller.stop()
        await mongo.close()
