"""Notify against real engines and a real SMTP server on loopback: reminders reach the unsigned,
a redelivered event sends nothing twice, a reporter hears of their case without their contact
ever showing, and a server that is down gets the mail once it is back."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from prometheus_client.parser import text_string_to_metric_families

from contracts.envelope import new_event
from contracts.reports import ReporterContactV1, ReportVerifiedV1
from contracts.signing import PledgeReminderDueV1
from netral.engines import free_port
from services.kit.sealedbox import ContactSealer, dev_public_key
from services.notify.channels import DeliveryFailed, HttpSmsGateway
from services.notify.main import build_app as build_notify
from services.notify.settings import NotifySettings
from services.registry.main import build_app as build_registry
from services.registry.settings import RegistrySettings
from tests.conftest import running_app
from tests.integration.notify_setup import (
    Mailbox,
    WebhookReceiver,
    public_received,
    publish,
    serving,
    smtp_server,
)
from tests.integration.pemda import UNITS
from tests.kafka_reader import wait_for

DEADLINE = dt.datetime(2029, 2, 1, 16, 59, tzinfo=dt.UTC)
STAFF = (
    ("198503152010011005", "Budi Santoso", "budi@example.go.id"),
    ("198601012010011001", "Sari Dewi", "sari@example.go.id"),
    ("199003032015032003", "Rudi Hartono", "rudi@example.go.id"),
)


@dataclass
class NotifyPemda:
    notify: httpx.AsyncClient
    app: FastAPI
    settings: NotifySettings
    bootstrap: str


@asynccontextmanager
async def registry_and_notify(
    settings_kwargs: dict[str, object], admin: str, smtp_port: int, **overrides: object
) -> AsyncIterator[NotifyPemda]:
    common = {key: value for key, value in settings_kwargs.items() if key != "mongodb_database"}
    database = str(settings_kwargs["mongodb_database"])
    registry_settings = RegistrySettings(mongodb_database=f"{database}_r", **common)  # type: ignore[arg-type]
    notify_settings = NotifySettings(
        mongodb_database=f"{database}_n",
        smtp_port=smtp_port,
        **{"quiet_start": dt.time(0, 0), "quiet_end": dt.time(0, 0), **common, **overrides},  # type: ignore[arg-type]
    )
    headers = {"Authorization": f"Bearer {admin}"}
    notify_app = build_notify(notify_settings)
    async with running_app(build_registry(registry_settings)) as registry, running_app(notify_app) as notify:
        for unit in UNITS:
            assert (await registry.post("/v1/org-units", json=unit, headers=headers)).status_code == 201
        for nip, name, email in STAFF:
            body = {
                "nip": nip,
                "name": name,
                "employment_type": "PNS",
                "position": "Analis",
                "level": "STAFF",
                "org_unit_code": "32.01.001",
                "email": email,
            }
            assert (await registry.post("/v1/employees", json=body, headers=headers)).status_code == 201
        store = notify_app.state.notify_store

        async def contacts_known() -> bool:
            return bool(await store.employees.count_documents({}) == len(STAFF))

        await wait_for(contacts_known, timeout=90, interval=0.3)
        yield NotifyPemda(
            notify, notify_app, notify_settings, str(settings_kwargs["kafka_bootstrap_servers"])
        )


def reminder(nip: str, event_id: str | None = None) -> Any:
    data = PledgeReminderDueV1(
        campaign="pemilu-2029",
        employee_id=nip,
        nip=nip,
        org_unit_code="32.01.001",
        deadline=DEADLINE,
        hours_before=24,
    )
    return new_event(data, "/netral/signing", event_id=event_id)


def consumer_outcome(metrics_text: str, outcome: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
        if sample.name == "netral_consumer_events_total" and sample.labels.get("outcome") == outcome
    )


async def test_reminders_reach_the_unsigned_once(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    mailbox = Mailbox()
    port = free_port()
    controller = smtp_server(port, mailbox)
    try:
        async with registry_and_notify(settings_kwargs, mint("bkpsdm"), port) as pemda:
            budi, sari = reminder(STAFF[0][0]), reminder(STAFF[1][0])
            # Sari's reminder arrives twice (a redelivery keeps its id): one e-mail.
            await publish(pemda.bootstrap, pemda.settings.kafka_topic_prefix, [budi, sari, sari])
            await wait_for(lambda: len(mailbox.messages) >= 2, timeout=60)
            await publish(
                pemda.bootstrap, pemda.settings.kafka_topic_prefix, [reminder(STAFF[1][0], sari.id)]
            )

            async def duplicates_consumed() -> bool:
                # Both repeats of Sari's reminder were seen (and dropped) by the consumer: only
                # then does "one e-mail each" say anything about deduplication.
                text = (await pemda.notify.get("/metrics")).text
                return consumer_outcome(text, "duplicate") >= 2

            await wait_for(duplicates_consumed, timeout=30)
            log_path = "/v1/deliveries"
            headers = {"Authorization": f"Bearer {mint('bkpsdm')}"}

            async def logged() -> bool:
                body = (await pemda.notify.get(log_path, params={"status": "sent"}, headers=headers)).json()
                return bool(body["total"] == 2)

            await wait_for(logged, timeout=30)
            assert sorted(m["To"] for m in mailbox.messages) == ["budi@example.go.id", "sari@example.go.id"]
            message = mailbox.to("budi@example.go.id")[0]
            text = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
            assert "pemilu-2029" in text and "Budi Santoso" in text
            assert message["Message-ID"]
            assert (
                await pemda.notify.get(log_path, headers={"Authorization": f"Bearer {mint('ppk')}"})
            ).status_code == 403
            assert (await pemda.notify.get(log_path)).status_code == 401
    finally:
        controller.stop()


async def test_reporter_hears_of_the_case_without_the_contact_showing(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    mailbox = Mailbox()
    port = free_port()
    controller = smtp_server(port, mailbox)
    try:
        async with registry_and_notify(settings_kwargs, mint("bkpsdm"), port) as pemda:
            # As reports seals it: with notify's public key, here the DEV-ONLY pair's.
            sealer = ContactSealer(dev_public_key(Path(str(pemda.settings.notify_contact_private_key_file))))
            contact = ReporterContactV1(
                report_id="r-1",
                case_id="c-1",
                sealed_contact=sealer.seal({"contact": "rina.w@example.org"}).decode(),
            )
            case = {
                "case_id": "c-1",
                "state": "verified",
                "category": "kampanye_media_sosial",
                "violation_class": "etika",
                "channels": ["public"],
                "report_count": 1,
                "incident_date": "2029-01-10",
                "accused": {
                    "name": "Budi Santoso",
                    "nip": STAFF[0][0],
                    "org_unit_code": "32.01.001",
                    "position": None,
                },
                "subject": None,
                "match_status": "unmatched",
                "org_unit_code": "32.01.001",
                "org_unit_path": ["32", "32.01"],
                "bawaslu_references": [],
                "deadlines": {"verification": "2029-01-18T17:00:00Z"},
                "sanction": None,
                "received_at": "2029-01-11T02:00:00Z",
                "version": 2,
            }
            verified = ReportVerifiedV1.model_validate(
                {
                    "case": case,
                    "action": "verify",
                    "from_state": "received",
                    "to_state": "verified",
                    "reason": "Bukti unggahan terverifikasi oleh satgas.",
                    "actor_role": "bkn",
                    "at": "2029-01-12T03:00:00Z",
                }
            )
            prefix = pemda.settings.kafka_topic_prefix
            await publish(pemda.bootstrap, prefix, [new_event(contact, "/netral/reports")])
            store = pemda.app.state.notify_store

            async def contact_known() -> bool:
                return bool(await store.reporter_contacts.count_documents({}) == 1)

            await wait_for(contact_known, timeout=60)
            await publish(pemda.bootstrap, prefix, [new_event(verified, "/netral/reports")])
            await wait_for(lambda: len(mailbox.messages) == 1, timeout=60)
            message = mailbox.to("rina.w@example.org")[0]
            text = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
            assert "Bukti unggahan terverifikasi" in text
            assert "Budi" not in text and STAFF[0][0] not in text
            log = (
                await pemda.notify.get("/v1/deliveries", headers={"Authorization": f"Bearer {mint('bkn')}"})
            ).json()
            assert "rina" not in str(log).lower() and log["items"][0]["audience"] == "reporter"
    finally:
        controller.stop()


async def test_a_server_that_was_down_gets_each_mail_once_and_refused_ones_end_dead(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    mailbox = Mailbox(refuse={"sari@example.go.id"})
    port = free_port()  # nothing listens yet
    async with registry_and_notify(
        settings_kwargs, mint("bkpsdm"), port, retry_base_seconds=0.2, retry_cap_seconds=1.0, max_attempts=30
    ) as pemda:
        await publish(
            pemda.bootstrap, pemda.settings.kafka_topic_prefix, [reminder(STAFF[0][0]), reminder(STAFF[1][0])]
        )
        store = pemda.app.state.notify_store

        async def retried() -> bool:
            return bool(
                await store.deliveries.count_documents({"attempts": {"$gte": 2}, "status": "pending"}) == 2
            )

        await wait_for(retried, timeout=60)
        controller = smtp_server(port, mailbox)
        try:

            async def settled() -> bool:
                statuses = {doc["recipient"]: doc["status"] async for doc in store.deliveries.find({})}
                return statuses == {"budi@example.go.id": "sent", "sari@example.go.id": "dead"}

            await wait_for(settled, timeout=60)
            assert [m["To"] for m in mailbox.messages] == ["budi@example.go.id"]
            dead = await store.deliveries.find_one({"recipient": "sari@example.go.id"})
            assert "ditolak" in dead["last_error"]
        finally:
            controller.stop()


async def test_agency_webhooks_recover_once_and_a_dead_endpoint_delays_nobody(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    bawaslu, bkn = WebhookReceiver(), WebhookReceiver()
    bawaslu_port, bkn_port = free_port(), free_port()
    headers = {"Authorization": f"Bearer {mint('bkpsdm')}"}
    async with (
        registry_and_notify(
            settings_kwargs,
            mint("bkpsdm"),
            free_port(),
            retry_base_seconds=0.2,
            retry_cap_seconds=1.0,
            max_attempts=10,
        ) as pemda,
        serving(bawaslu.app(), bawaslu_port),
    ):
        client = pemda.notify
        types = ["public.report.received.v1"]
        for agency, receiver, port in (("bawaslu", bawaslu, bawaslu_port), ("bkn", bkn, bkn_port)):
            created = await client.post(
                "/v1/subscriptions",
                json={"agency": agency, "event_types": types, "url": f"http://127.0.0.1:{port}/hook"},
                headers=headers,
            )
            assert created.status_code == 201, created.text
            receiver.secret = created.json()["secret"]
            assert created.json()["secret"].startswith("whsec_")
        listed = (await client.get("/v1/subscriptions", headers=headers)).json()
        assert len(listed["items"]) == 2 and "secret" not in str(listed["items"])
        internal = await client.post(
            "/v1/subscriptions",
            json={"agency": "x1", "event_types": ["report.received.v1"], "url": "http://127.0.0.1:1/h"},
            headers=headers,
        )
        assert internal.status_code == 422 and "publik" in internal.text
        for role in ("bawaslu", "agency", "employee"):
            denied = await client.get("/v1/subscriptions", headers={"Authorization": f"Bearer {mint(role)}"})
            assert denied.status_code == 403

        # Bawaslu's endpoint is down for a while; BKN's never comes up at all.
        bawaslu.down = True
        events = [public_received(f"case-{i}") for i in range(3)]
        await publish(pemda.bootstrap, pemda.settings.kafka_topic_prefix, events)
        await wait_for(lambda: bawaslu.refused >= 6, timeout=60)
        bawaslu.down = False
        await wait_for(lambda: len(bawaslu.received) == 3, timeout=60)
        store = pemda.app.state.notify_store

        async def bkn_dead() -> bool:
            return bool(await store.deliveries.count_documents({"agency": "bkn", "status": "dead"}) == 3)

        await wait_for(bkn_dead, timeout=60)
        assert sorted(bawaslu.ids()) == sorted(e.id for e in events)  # each once, none lost
        assert all(item["event"]["data"]["case"]["case_id"].startswith("case-") for item in bawaslu.received)
        dead_log = (
            await client.get("/v1/deliveries", params={"status": "dead", "agency": "bkn"}, headers=headers)
        ).json()
        assert dead_log["total"] == 3 and all(
            "tidak terjangkau" in item["last_error"] for item in dead_log["items"]
        )

        # A replay sends the same events again, with the same webhook-ids for the agency to drop.
        bawaslu_id = next(item["id"] for item in listed["items"] if item["agency"] == "bawaslu")
        replayed = await client.post(
            f"/v1/subscriptions/{bawaslu_id}/replay",
            params={"since": "2000-01-01T00:00:00+07:00"},
            headers=headers,
        )
        assert replayed.status_code == 202 and replayed.json()["queued"] == 3
        await wait_for(lambda: len(bawaslu.received) == 6, timeout=60)
        assert sorted(bawaslu.ids()) == sorted([e.id for e in events] * 2)
        assert (await client.delete(f"/v1/subscriptions/{bawaslu_id}", headers=headers)).status_code == 204


async def test_per_recipient_limit_defers_without_failing(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    mailbox = Mailbox()
    port = free_port()
    controller = smtp_server(port, mailbox)
    try:
        async with registry_and_notify(
            settings_kwargs, mint("bkpsdm"), port, rate_limit_per_recipient="1/hour"
        ) as pemda:
            first = reminder(STAFF[0][0])
            second = new_event(
                PledgeReminderDueV1(
                    campaign="pilkada-2029",
                    employee_id=STAFF[0][0],
                    nip=STAFF[0][0],
                    org_unit_code="32.01.001",
                    deadline=DEADLINE,
                    hours_before=24,
                ),
                "/netral/signing",
            )
            await publish(pemda.bootstrap, pemda.settings.kafka_topic_prefix, [first, second])
            store = pemda.app.state.notify_store

            async def settled() -> bool:
                docs = [doc async for doc in store.deliveries.find({})]
                return len(docs) == 2 and sorted(d["status"] for d in docs) == ["pending", "sent"]

            await wait_for(settled, timeout=60)
            held = await store.deliveries.find_one({"status": "pending"})
            assert held["attempts"] == 0 and "batas kiriman" in held["last_error"]
            assert held["next_attempt_at"] > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=50)
            assert len(mailbox.messages) == 1
    finally:
        controller.stop()


async def test_sms_gateway_adapter_over_real_http() -> None:
    calls: list[dict[str, Any]] = []
    answers = [200, 503, 400]
    app = FastAPI()

    @app.post("/sms")
    async def sms(request: Request) -> Response:
        calls.append({"body": await request.json(), "auth": request.headers.get("authorization")})
        return Response(status_code=answers[len(calls) - 1])

    port = free_port()
    async with serving(app, port):
        gateway = HttpSmsGateway(f"http://127.0.0.1:{port}/sms", "rahasia")
        await gateway.send("+6281234567890", "Pengingat: tanda tangani pakta", "ref-1")
        assert calls[0] == {
            "body": {"to": "+6281234567890", "text": "Pengingat: tanda tangani pakta", "reference": "ref-1"},
            "auth": "Bearer rahasia",
        }
        with pytest.raises(DeliveryFailed) as busy:
            await gateway.send("+6281234567890", "x", "ref-2")
        assert not busy.value.permanent
        with pytest.raises(DeliveryFailed) as bad:
            await gateway.send("bukan-nomor", "x", "ref-3")
        assert bad.value.permanent
        await gateway.close()
    unreachable = HttpSmsGateway(f"http://127.0.0.1:{free_port()}/sms", None)
    with pytest.raises(DeliveryFailed, match="tidak terjangkau") as down:
        await unreachable.send("+62812", "x", "ref-4")
    assert not down.value.permanent
    await unreachable.close()
