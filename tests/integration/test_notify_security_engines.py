"""Notify's holes of issue 12, against real engines: a refused reporter's address never reaches the
delivery log, webhooks go only to permitted targets, subscriptions have an owner, and a replay
covers only what the subscription was there for, a few times an hour."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from contracts.envelope import new_event
from contracts.reports import ReporterContactV1, ReportVerifiedV1
from netral.engines import free_port
from services.kit.sealedbox import ContactSealer, dev_public_key
from services.notify.main import build_app as build_notify
from services.notify.settings import NotifySettings
from tests.conftest import running_app
from tests.integration.notify_setup import Mailbox, public_received, publish, smtp_server
from tests.kafka_reader import wait_for

REPORTER_EMAIL = "rina.wulandari@example.org"
REPORTER_PHONE = "+62 812-3456-7890"
# What many servers answer: the refused address echoed, here with a number for good measure.
ECHOING_REFUSAL = "550 5.1.1 <{address}>: Recipient address rejected; hubungi " + REPORTER_PHONE
PUBLIC_TYPES = ["public.report.received.v1"]


@dataclass
class Notify:
    client: httpx.AsyncClient
    app: FastAPI
    settings: NotifySettings

    async def publish(self, events: list[Any]) -> None:
        await publish(str(self.settings.kafka_bootstrap_servers), self.settings.kafka_topic_prefix, events)


@asynccontextmanager
async def notify_alone(settings_kwargs: dict[str, object], **overrides: object) -> AsyncIterator[Notify]:
    settings = NotifySettings(
        **{"quiet_start": dt.time(0, 0), "quiet_end": dt.time(0, 0), **settings_kwargs, **overrides}  # type: ignore[arg-type]
    )
    app = build_notify(settings)
    async with running_app(app) as client:
        yield Notify(client, app, settings)


def sealed_for_notify(settings: NotifySettings, contact: str) -> str:
    """As reports seals it: with notify's public key (here the DEV-ONLY pair's)."""
    public = dev_public_key(Path(str(settings.notify_contact_private_key_file)))
    return ContactSealer(public).seal({"contact": contact}).decode()


def verified_case(case_id: str) -> ReportVerifiedV1:
    case = {
        "case_id": case_id,
        "state": "verified",
        "category": "kampanye_media_sosial",
        "violation_class": "etika",
        "channels": ["public"],
        "report_count": 1,
        "incident_date": "2029-01-10",
        "accused": {"name": "Budi Santoso", "nip": None, "org_unit_code": "32.01.001", "position": None},
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
    return ReportVerifiedV1.model_validate(
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


# ---------------------------------------------------------------- 2: the delivery log


async def test_a_refused_reporter_address_is_in_no_stored_or_returned_field(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    mailbox = Mailbox(refuse={REPORTER_EMAIL}, refusal=ECHOING_REFUSAL)
    port = free_port()
    controller = smtp_server(port, mailbox)
    try:
        async with notify_alone(settings_kwargs, smtp_port=port) as notify:
            contact = ReporterContactV1(
                report_id="r-1",
                case_id="c-1",
                sealed_contact=sealed_for_notify(notify.settings, REPORTER_EMAIL),
            )
            await notify.publish([new_event(contact, "/netral/reports")])
            store = notify.app.state.notify_store

            async def contact_known() -> bool:
                return bool(await store.reporter_contacts.count_documents({}) == 1)

            await wait_for(contact_known, timeout=60)
            await notify.publish([new_event(verified_case("c-1"), "/netral/reports")])

            async def dead() -> bool:
                return bool(await store.deliveries.count_documents({"status": "dead"}) == 1)

            await wait_for(dead, timeout=60)
            stored = [doc async for doc in store.deliveries.find({})]
            assert len(stored) == 1 and "ditolak" in stored[0]["last_error"]
            answer = await notify.client.get(
                "/v1/deliveries", headers={"Authorization": f"Bearer {mint('bkpsdm')}"}
            )
            assert answer.status_code == 200
            for text in (str(stored), answer.text):
                for secret in (REPORTER_EMAIL, "rina", "example.org", "812-3456", "8123456"):
                    assert secret not in text.lower(), secret
            assert mailbox.messages == []
    finally:
        controller.stop()


# ---------------------------------------------------------------- 8: webhook targets


REFUSED_URLS = (
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:8001/v1/reports",
    "https://127.0.0.1:8001/v1/reports",
    "https://notify.netral.svc.cluster.local/v1/deliveries",
    "https://[::1]/hook",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://[::ffff:127.0.0.1]/hook",
    "https://0x7f000001/hook",
    "https://2130706433/hook",
    "https://10.0.0.5/hook",
    "https://192.168.1.10/hook",
    "https://0.0.0.0/hook",
    "https://user:pass@93.184.215.14/hook",
    "http://93.184.215.14/hook",
    "ftp://93.184.215.14/hook",
)


async def test_webhooks_to_internal_targets_or_over_plain_http_are_refused(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    headers = {"Authorization": f"Bearer {mint('bkpsdm')}"}
    async with notify_alone(settings_kwargs, webhook_allow_private_targets=False) as notify:
        for url in REFUSED_URLS:
            body = {"agency": "bawaslu", "event_types": PUBLIC_TYPES, "url": url}
            answer = await notify.client.post("/v1/subscriptions", json=body, headers=headers)
            assert answer.status_code == 422, (url, answer.text)
            assert answer.json()["errors"][0]["field"] == "url", answer.text
        public = {"agency": "bawaslu", "event_types": PUBLIC_TYPES, "url": "https://93.184.215.14/hook"}
        assert (
            await notify.client.post("/v1/subscriptions", json=public, headers=headers)
        ).status_code == 201
        assert await notify.app.state.notify_store.subscriptions.count_documents({}) == 1


async def test_development_allows_a_loopback_receiver_over_http_but_never_metadata(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    headers = {"Authorization": f"Bearer {mint('bkpsdm')}"}
    async with notify_alone(settings_kwargs, dev_mode=True) as notify:
        local = {"agency": "bawaslu", "event_types": PUBLIC_TYPES, "url": "http://127.0.0.1:1/hook"}
        assert (await notify.client.post("/v1/subscriptions", json=local, headers=headers)).status_code == 201
        for url in (
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/hook",
            "http://[fd00:ec2::254]/latest/meta-data/",
            "http://metadata.google.internal/computeMetadata/v1/",
        ):
            body = {"agency": "bawaslu", "event_types": PUBLIC_TYPES, "url": url}
            answer = await notify.client.post("/v1/subscriptions", json=body, headers=headers)
            assert answer.status_code == 422, (url, answer.text)


async def test_an_unreachable_webhook_leaves_no_port_scan_in_the_log(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    headers = {"Authorization": f"Bearer {mint('bkpsdm')}"}
    async with notify_alone(settings_kwargs, dev_mode=True, max_attempts=1) as notify:
        body = {"agency": "bkn", "event_types": PUBLIC_TYPES, "url": f"http://127.0.0.1:{free_port()}/hook"}
        assert (await notify.client.post("/v1/subscriptions", json=body, headers=headers)).status_code == 201
        await notify.publish([public_received("case-1")])
        store = notify.app.state.notify_store

        async def dead() -> bool:
            return bool(await store.deliveries.count_documents({"status": "dead"}) == 1)

        await wait_for(dead, timeout=60)
        log = (await notify.client.get("/v1/deliveries", headers=headers)).json()
        (item,) = log["items"]
        assert "tidak dapat terhubung ke penerima" in item["last_error"]
        for leak in ("Errno", "refused", "ConnectError", "111", "ditolak"):
            assert leak not in item["last_error"], item["last_error"]


# ---------------------------------------------------------------- 8: owners and replays


async def _subscribe(notify: Notify, token: str, agency: str, port: int = 1) -> str:
    body = {"agency": agency, "event_types": PUBLIC_TYPES, "url": f"http://127.0.0.1:{port}/hook"}
    answer = await notify.client.post(
        "/v1/subscriptions", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def test_a_subscription_is_managed_within_its_owner_s_scope_only(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    async with notify_alone(settings_kwargs, dev_mode=True) as notify:
        jabar, jateng = mint("bkpsdm", org_unit="32"), mint("bkpsdm", org_unit="33")
        sub = await _subscribe(notify, jabar, "bawaslu-jabar")
        since = {"since": "2000-01-01T00:00:00+07:00"}
        other = {"Authorization": f"Bearer {jateng}"}
        assert (await notify.client.delete(f"/v1/subscriptions/{sub}", headers=other)).status_code == 403
        replay = await notify.client.post(f"/v1/subscriptions/{sub}/replay", params=since, headers=other)
        assert replay.status_code == 403
        assert (await notify.client.get("/v1/subscriptions", headers=other)).json()["items"] == []
        stored = await notify.app.state.notify_store.subscriptions.find_one({"_id": sub})
        assert stored["owner"]["org_unit"] == "32" and stored["owner"]["subject"]
        # Another BKPSDM officer of the same pemda, and a platform-wide one, may.
        colleague = {"Authorization": f"Bearer {mint('bkpsdm', org_unit='32')}"}
        replay = await notify.client.post(f"/v1/subscriptions/{sub}/replay", params=since, headers=colleague)
        assert replay.status_code == 202
        listed = (await notify.client.get("/v1/subscriptions", headers=colleague)).json()["items"]
        assert [item["id"] for item in listed] == [sub]
        platform = {"Authorization": f"Bearer {mint('bkpsdm')}"}
        assert (await notify.client.delete(f"/v1/subscriptions/{sub}", headers=platform)).status_code == 204


async def test_a_replay_covers_only_events_since_the_subscription_and_is_rate_limited(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    admin = mint("bkpsdm")
    headers = {"Authorization": f"Bearer {admin}"}
    async with notify_alone(settings_kwargs, dev_mode=True, webhook_replay_rate_limit="2/hour") as notify:
        early = await _subscribe(notify, admin, "bawaslu")
        await notify.publish([public_received(f"case-{i}") for i in range(3)])
        store = notify.app.state.notify_store

        async def kept() -> bool:
            return bool(await store.public_events.count_documents({}) == 3)

        await wait_for(kept, timeout=60)
        late = await _subscribe(notify, admin, "bkn")
        since = {"since": "2000-01-01T00:00:00+07:00"}
        # The late subscription was not there for those events: a replay cannot fetch the history.
        replay = await notify.client.post(f"/v1/subscriptions/{late}/replay", params=since, headers=headers)
        assert replay.status_code == 202 and replay.json()["queued"] == 0, replay.text
        for _ in range(2):
            replay = await notify.client.post(
                f"/v1/subscriptions/{early}/replay", params=since, headers=headers
            )
            assert replay.status_code == 202 and replay.json()["queued"] == 3, replay.text
        limited = await notify.client.post(f"/v1/subscriptions/{early}/replay", params=since, headers=headers)
        assert limited.status_code == 429, limited.text
        assert int(limited.headers["retry-after"]) > 0 and "coba lagi" in limited.json()["detail"]
