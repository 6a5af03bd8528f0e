"""End to end: notify as a real process beside registry, signing and reports, with a real SMTP
server (aiosmtpd) and an agency's webhook endpoint on loopback.

1. Reminders reach exactly the employees who have not signed, once each; a reporter hears of
   their case's verification at the address they left, without the accused's name; an agency's
   webhook receives the public events, correctly signed and redacted.
2. Notify is SIGKILLed while a batch of 1,500 reminders is on its way and started again: no
   one receives an e-mail twice, and whatever the killed process may or may not have sent is
   left `in_doubt` for a person to check instead of being sent again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from pymongo import AsyncMongoClient

from contracts.envelope import new_event
from contracts.registry import EmployeeRegisteredV1, EmployeeSnapshot
from contracts.signing import PledgeReminderDueV1
from netral.engines import free_port
from services.notify.domain import WebhookVerificationError, new_webhook_secret, verify_webhook
from tests.integration.notify_setup import Mailbox, WebhookReceiver, publish, serving, smtp_server
from tests.kafka_reader import wait_for
from tests.processes import RunningService, ServiceRunner

UNITS = [
    {"code": "32", "name": "Provinsi Jawa Barat", "kind": "PROVINCE"},
    {"code": "32.01", "name": "Kabupaten Bogor", "kind": "REGENCY", "parent_code": "32"},
    {"code": "32.01.001", "name": "Dinas Pendidikan", "kind": "OPD", "parent_code": "32.01"},
    {"code": "32.01.002", "name": "Dinas Kesehatan", "kind": "OPD", "parent_code": "32.01"},
]
# (nip, name, level, unit, e-mail)
HEAD = ("197502022000031002", "Dr. Ahmad Hidayat, M.Si.", "JPT", "32.01.001", "ahmad.hidayat@bogorkab.go.id")
STAFF = [
    ("198503152010011005", "Budi Santoso", "STAFF", "32.01.001", "budi.santoso@bogorkab.go.id"),
    ("198601012010011001", "Sari Dewi", "STAFF", "32.01.001", "sari.dewi@bogorkab.go.id"),
    ("199003032015032003", "Siti Rahmawati", "STAFF", "32.01.001", "siti.rahmawati@bogorkab.go.id"),
    ("198704042011012004", "Rudi Hartono", "STAFF", "32.01.002", "rudi.hartono@bogorkab.go.id"),
    ("198805052012011005", "Dewi Lestari", "STAFF", "32.01.002", "dewi.lestari@bogorkab.go.id"),
    ("198906062013012006", "Joko Prasetyo", "STAFF", "32.01.002", "joko.prasetyo@bogorkab.go.id"),
]
PEOPLE = [HEAD, *STAFF]
SIGNERS = {STAFF[1][0], STAFF[4][0]}
ACCUSED = STAFF[0]
PACT = (
    "Pakta Integritas Netralitas ASN: menjaga netralitas sebelum, selama, dan sesudah pemilihan; "
    "menghindari konflik kepentingan; bijak bermedia sosial; menolak politik uang."
)
REPORTER_NAME = "Rina Wulandari"
REPORTER_EMAIL = "rina.wulandari@example.org"
DESCRIPTION = (
    "Terlapor mengunggah ajakan memilih pasangan calon nomor 2 di akun media sosial pribadinya "
    "dan membagikannya ke grup kantor."
)
VERIFY_REASON = "Unggahan terverifikasi oleh satuan tugas netralitas; laporan diteruskan ke Bawaslu."
REMINDER_MARGIN = dt.timedelta(seconds=25)
"""Signing has no test clock and no way to move a deadline: the campaign's deadline is set this
much beyond 3 h, so its 3-hour reminders fall due that long after it opens. The two signatures
go in first (well under a second; asserted), and the reminders are then waited for."""
CROWD = 1500
CONCURRENCY = 16


# ---------------------------------------------------------------- processes


FLOW_ENV = {
    "LOG_LEVEL": "INFO",
    # notify: no quiet hours (the test may run at night in WIB), quick retries.
    "QUIET_START": "00:00",
    "QUIET_END": "00:00",
    "RETRY_BASE_SECONDS": "0.5",
    "RETRY_CAP_SECONDS": "2",
}


async def start(runner: ServiceRunner, module: str, database: str, **extra: str) -> RunningService:
    service = runner.spawn(module, database, **FLOW_ENV, **extra)
    await runner.ready(service)
    return service


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def header(message: Message, name: str) -> str:
    """A header as one line: the parser keeps a long subject folded."""
    return " ".join(str(message[name]).split())


def text_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


async def count(mongo: AsyncMongoClient[dict[str, Any]], database: str, collection: str, **query: Any) -> int:
    return await mongo[database][collection].count_documents(query)


# ---------------------------------------------------------------- test 1


@dataclass
class RecordingReceiver(WebhookReceiver):
    """The agency's endpoint (it verifies every signature before accepting), also keeping the
    raw headers and body of each request, to check the signatures again afterwards."""

    raw: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = super().app()

        @app.middleware("http")
        async def keep(request: Request, call_next: Any) -> Any:
            self.raw.append((dict(request.headers), await request.body()))
            return await call_next(request)

        return app


async def test_reminders_status_updates_and_agency_webhooks(
    service_runner: ServiceRunner, service_env: dict[str, str], mint: Callable[..., str]
) -> None:
    base = service_env["MONGODB_DATABASE"]
    dbs = {name: f"{base}_{name}" for name in ("registry", "signing", "reports", "notify")}
    mailbox = Mailbox()
    smtp_port = free_port()
    controller = smtp_server(smtp_port, mailbox)
    receiver = RecordingReceiver()
    hook_port = free_port()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(service_env["MONGODB_URI"], tz_aware=True)
    admin = bearer(mint("bkpsdm"))
    try:
        async with serving(receiver.app(), hook_port), httpx.AsyncClient(timeout=30) as http:
            registry, signing, reports, notify = await service_runner.start_platform(
                FLOW_ENV, {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port)}
            )

            # The pemda, through the registry's API only; the others learn it from its events.
            for unit in UNITS:
                response = await http.post(f"{registry.url}/v1/org-units", json=unit, headers=admin)
                assert response.status_code == 201, response.text
            for nip, name, level, unit_code, email in PEOPLE:
                body = {
                    "nip": nip,
                    "name": name,
                    "employment_type": "PNS",
                    "position": "Kepala Dinas" if level == "JPT" else "Analis",
                    "level": level,
                    "org_unit_code": unit_code,
                    "email": email,
                }
                response = await http.post(f"{registry.url}/v1/employees", json=body, headers=admin)
                assert response.status_code == 201, response.text

            async def projected() -> bool:
                return all(
                    [
                        await count(mongo, dbs["signing"], "employees") == len(PEOPLE),
                        await count(mongo, dbs["signing"], "org_units") == len(UNITS),
                        await count(mongo, dbs["reports"], "employees") == len(PEOPLE),
                        await count(mongo, dbs["notify"], "employees", email={"$ne": None}) == len(PEOPLE),
                    ]
                )

            await wait_for(projected, timeout=60, interval=0.2)

            # ---- reminders: two sign before the 3-hour reminders fall due, five do not.
            deadline = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3) + REMINDER_MARGIN
            campaign = {
                "code": "pilkada-2029",
                "title": "Pakta Integritas Netralitas ASN Pilkada 2029",
                "election": "Pilkada 2029",
                "deadline": deadline.isoformat(),
                "campaign_period_starts_on": (dt.date.today() + dt.timedelta(days=40)).isoformat(),
                "pact_text": PACT,
                "scope": ["32.01"],
                "cascade": "off",
                "reminder_hours": [3],
            }
            created = await http.post(f"{signing.url}/v1/campaigns", json=campaign, headers=admin)
            assert created.status_code == 201, created.text
            for nip in sorted(SIGNERS):
                signed = await http.post(
                    f"{signing.url}/v1/campaigns/pilkada-2029/signatures",
                    json={"mode": "online", "consent": True},
                    headers=bearer(mint("employee", nip=nip)),
                )
                assert signed.status_code == 201, signed.text
            # Signed before the reminders could be computed: the test's premise, checked.
            assert dt.datetime.now(dt.UTC) < deadline - dt.timedelta(hours=3), "signing took too long"

            # ---- an agency subscribes to public report events.
            subscribed = await http.post(
                f"{notify.url}/v1/subscriptions",
                json={
                    "agency": "bawaslu-jabar",
                    "event_types": ["public.report.received.v1", "public.report.verified.v1"],
                    "url": f"http://127.0.0.1:{hook_port}/hook",
                },
                headers=admin,
            )
            assert subscribed.status_code == 201, subscribed.text
            receiver.secret = subscribed.json()["secret"]
            assert receiver.secret.startswith("whsec_")
            listed = await http.get(f"{notify.url}/v1/subscriptions", headers=admin)
            assert "secret" not in listed.text and receiver.secret not in listed.text

            # ---- a public report with the reporter's contact, then its verification.
            filed = await http.post(
                f"{reports.url}/v1/reports",
                json={
                    "category": "kampanye_media_sosial",
                    "description": DESCRIPTION,
                    "incident_date": (dt.date.today() - dt.timedelta(days=2)).isoformat(),
                    "location": "Cibinong, Kabupaten Bogor",
                    "accused": {"name": ACCUSED[1], "nip": ACCUSED[0]},
                    "evidence": [{"url": "https://instagram.com/p/xyz789", "note": "tangkapan layar"}],
                    "reporter": {"name": REPORTER_NAME, "contact": REPORTER_EMAIL},
                },
            )
            assert filed.status_code == 201, filed.text
            # Notify must hold the sealed contact before the verification reaches it (another topic).
            await wait_for(lambda: count(mongo, dbs["notify"], "reporter_contacts"), timeout=30, interval=0.1)
            listing = await http.get(f"{reports.url}/v1/reports", headers=bearer(mint("bkn")))
            assert listing.status_code == 200 and listing.json()["total"] == 1, listing.text
            case_id = listing.json()["items"][0]["id"]
            verified = await http.post(
                f"{reports.url}/v1/reports/{case_id}/transitions",
                json={"action": "verify", "reason": VERIFY_REASON},
                headers=bearer(mint("bkn")),
            )
            assert verified.status_code == 200, verified.text

            # ---- what arrived.
            unsigned = {email for nip, _, _, _, email in PEOPLE if nip not in SIGNERS}
            deliveries = mongo[dbs["notify"]]["deliveries"]

            async def settled() -> bool:
                reminders = {m["To"] for m in mailbox.messages} & unsigned
                return (
                    reminders == unsigned
                    and bool(mailbox.to(REPORTER_EMAIL))
                    and len(receiver.received) >= 2
                    and await deliveries.count_documents({"status": {"$ne": "sent"}}) == 0
                )

            # The reminder scan runs every 5 s and starts REMINDER_MARGIN after the campaign opened.
            await wait_for(settled, timeout=REMINDER_MARGIN.total_seconds() + 45, interval=0.2)
            # Signing computed the 3-hour reminders once (notify's idempotency keys do the rest).
            campaign_doc = await mongo[dbs["signing"]]["campaigns"].find_one({"_id": "pilkada-2029"})
            assert campaign_doc is not None and campaign_doc["reminders_sent"] == [3]

            reminders = [m for m in mailbox.messages if m["To"] != REPORTER_EMAIL]
            assert sorted(m["To"] for m in reminders) == sorted(unsigned)  # one each, none to signers
            assert len({m["Message-ID"] for m in reminders}) == len(unsigned)
            by_address = {email: (nip, name) for nip, name, _, _, email in PEOPLE}
            for message in reminders:
                nip, name = by_address[message["To"]]
                text = text_of(message)
                assert header(message, "Subject").startswith("Pengingat: tanda tangani Pakta Integritas")
                assert "pilkada-2029" in text and name in text and nip in text
                assert "3 jam" in text

            # The reporter: one status update, with the reason, and nothing about the accused.
            (update,) = mailbox.to(REPORTER_EMAIL)
            update_text = text_of(update)
            assert header(update, "Subject") == (
                "Perkembangan laporan Anda: Laporan diverifikasi satuan tugas netralitas"
            )
            assert VERIFY_REASON in update_text
            for secret in (ACCUSED[1], "Budi", "Santoso", ACCUSED[0], case_id, DESCRIPTION[:30]):
                assert secret not in update_text and secret not in header(update, "Subject"), secret

            # The log says the same, and never shows the reporter's address.
            log = await http.get(f"{notify.url}/v1/deliveries", params={"page_size": 200}, headers=admin)
            assert log.status_code == 200, log.text
            items = log.json()["items"]
            assert Counter((i["rule"], i["status"]) for i in items) == {
                ("pengingat_tanda_tangan", "sent"): len(unsigned),
                ("perkembangan_laporan_verified", "sent"): 1,
                ("webhook_agensi", "sent"): 2,
            }
            assert REPORTER_EMAIL not in log.text and "rina.wulandari" not in log.text
            # Each webhook went on its first attempt: the receiver verified the first signature.
            assert all(i["attempts"] == 1 for i in items if i["rule"] == "webhook_agensi")

            # The agency: both public events, once each, signed, redacted.
            assert sorted(item["event"]["type"] for item in receiver.received) == [
                "public.report.received.v1",
                "public.report.verified.v1",
            ]
            assert len(set(receiver.ids())) == 2
            assert all(item["event"]["id"] == item["webhook_id"] for item in receiver.received)
            assert {item["content_type"] for item in receiver.received} == {"application/cloudevents+json"}
            for item in receiver.received:
                event = item["event"]
                assert event["data"]["case"]["case_id"] == case_id
                assert event["specversion"] == "1.0" and event["datacontenttype"] == "application/json"
                raw = json.dumps(event, ensure_ascii=False).lower()
                for secret in (
                    ACCUSED[1],
                    "santoso",
                    DESCRIPTION[:40],
                    "media sosial pribadinya",
                    "cibinong",
                    "instagram",
                    REPORTER_NAME,
                    "wulandari",
                    REPORTER_EMAIL,
                    "example.org",
                ):
                    assert secret.lower() not in raw, f"{event['type']} carries {secret!r}"
            verified_event = next(
                i["event"] for i in receiver.received if i["event"]["type"] == "public.report.verified.v1"
            )
            assert verified_event["data"]["reason"] == VERIFY_REASON
            # The signatures as received verify with the subscription's secret, and not with another.
            assert len(receiver.raw) == 2
            for headers, raw_body in receiver.raw:
                verify_webhook(receiver.secret, headers, raw_body)
                with pytest.raises(WebhookVerificationError):
                    verify_webhook(new_webhook_secret(), headers, raw_body)
    finally:
        controller.stop()
        await mongo.close()


# ---------------------------------------------------------------- test 2


@dataclass
class SlowMailbox(Mailbox):
    """A mail server that takes a moment per message, so that a batch is always in flight."""

    delay: float = 0.03

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


def crowd_member(index: int) -> tuple[str, str]:
    return f"19900101201503{index:04d}", f"pegawai{index:04d}@bogorkab.go.id"


async def test_killing_notify_mid_batch_sends_no_email_twice(
    service_runner: ServiceRunner, service_env: dict[str, str]
) -> None:
    prefix = service_env["KAFKA_TOPIC_PREFIX"]
    bootstrap = service_env["KAFKA_BOOTSTRAP_SERVERS"]
    database = f"{service_env['MONGODB_DATABASE']}_notify"
    mailbox = SlowMailbox()
    smtp_port = free_port()
    controller = smtp_server(smtp_port, mailbox)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(service_env["MONGODB_URI"], tz_aware=True)
    deliveries = mongo[database]["deliveries"]
    try:
        notify = await start(
            service_runner,
            "services.notify",
            database,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(smtp_port),
            DISPATCH_CONCURRENCY=str(CONCURRENCY),
            CLAIM_LEASE_SECONDS="2",
        )
        crowd = [crowd_member(i) for i in range(CROWD)]
        # The test acts as the registry and the signing service here: registering 1,500 people
        # through the registry's API and computing their reminders through signing would take
        # minutes, and what is under test is notify. The events are the services' own contracts.
        await publish(
            bootstrap,
            prefix,
            [
                new_event(
                    EmployeeRegisteredV1(
                        employee=EmployeeSnapshot(
                            employee_id=nip,
                            nip=nip,
                            name=f"Pegawai {index:04d}",
                            employment_type="PNS",
                            position="Analis",
                            level="STAFF",
                            org_unit_code="32.01.001",
                            org_unit_path=["32", "32.01"],
                            supervisor_nip=None,
                            email=email,
                            phone=None,
                            active=True,
                            version=1,
                        )
                    ),
                    "/netral/registry",
                )
                for index, (nip, email) in enumerate(crowd)
            ],
        )

        async def contacts_known() -> bool:
            return await count(mongo, database, "employees", email={"$ne": None}) == CROWD

        await wait_for(contacts_known, timeout=60, interval=0.2)

        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(hours=24)
        await publish(
            bootstrap,
            prefix,
            [
                new_event(
                    PledgeReminderDueV1(
                        campaign="pilkada-2029",
                        employee_id=nip,
                        nip=nip,
                        org_unit_code="32.01.001",
                        deadline=deadline,
                        hours_before=24,
                    ),
                    "/netral/signing",
                )
                for nip, _ in crowd
            ],
        )

        # Kill notify with a batch in flight, once every reminder is planned: the kill is then
        # about sending alone (a restarted consumer group can take half a minute to take all
        # its partitions back on the local broker, which would only make the test slow).
        async def planned_and_sending() -> bool:
            return len(mailbox.messages) >= 300 and await deliveries.count_documents({}) == CROWD

        await wait_for(planned_and_sending, timeout=60, interval=0.01)
        service_runner.kill(notify)
        arrived_before_kill = len(mailbox.messages)
        in_flight = await deliveries.count_documents({"status": "sending"})
        waiting = await deliveries.count_documents({"status": "pending"})
        assert arrived_before_kill < CROWD - 100 and waiting >= 100, "the batch was over before the kill"
        assert 1 <= in_flight <= CONCURRENCY, in_flight

        # Restart once the killed process's claims have expired, so that the new one finds
        # them orphaned at its first look.
        async def claims_expired() -> bool:
            now = dt.datetime.now(dt.UTC)
            return not await deliveries.count_documents({"status": "sending", "claimed_until": {"$gte": now}})

        await wait_for(claims_expired, timeout=10, interval=0.1)
        service_runner.restart(notify)
        await service_runner.ready(notify)

        async def settled() -> bool:
            total = await deliveries.count_documents({})
            open_ = await deliveries.count_documents({"status": {"$nin": ["sent", "in_doubt"]}})
            return total == CROWD and open_ == 0

        await wait_for(settled, timeout=60, interval=0.2)
        # An e-mail recorded as sent was accepted (250) before it was recorded, so all are here.

        statuses = Counter([doc["status"] async for doc in deliveries.find({}, {"status": 1})])
        in_doubt = {doc["_id"] async for doc in deliveries.find({"status": "in_doubt"}, {"_id": 1})}
        sent = {doc["_id"] async for doc in deliveries.find({"status": "sent"}, {"_id": 1})}
        recipients = {doc["_id"]: doc["recipient"] async for doc in deliveries.find({}, {"recipient": 1})}
        assert statuses["sent"] + statuses["in_doubt"] == CROWD
        assert 1 <= len(in_doubt) <= CONCURRENCY, statuses

        messages = list(mailbox.messages)
        by_to = Counter(m["To"] for m in messages)
        by_id = Counter(m["Message-ID"] for m in messages)
        assert [to for to, n in by_to.items() if n > 1] == [], "an employee received two e-mails"
        assert [mid for mid, n in by_id.items() if n > 1] == [], "a message went twice"
        arrived = {mid.strip("<>").removesuffix("@netral.local") for mid in by_id}
        assert arrived <= sent | in_doubt

        # Every employee got exactly one e-mail, or has a delivery in doubt (which may or may
        # not have gone out before the kill: that is for a person to check).
        doubtful = {recipients[key] for key in in_doubt}
        for _, email in crowd:
            assert by_to[email] == 1 or email in doubtful, email
        assert set(by_to) <= {email for _, email in crowd}

        # The log's `sent` is every message that arrived, less those in doubt that arrived.
        arrived_in_doubt = arrived & in_doubt
        assert sent <= arrived
        assert statuses["sent"] == len(arrived) - len(arrived_in_doubt)
        print(
            f"\nkilled after {arrived_before_kill} e-mails with {in_flight} in flight and {waiting} waiting; "
            f"sent {statuses['sent']}, in doubt {len(in_doubt)} ({len(arrived_in_doubt)} of them arrived)"
        )
    finally:
        controller.stop()
        await mongo.close()
