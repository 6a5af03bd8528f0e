"""The notify dispatcher (services/notify/dispatcher.py) over an in-memory queue and fake channels:
the per-recipient limit on the `limits` library, outcomes of each channel, and a sealed contact
that cannot be opened."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from typing import cast

import pytest
from cryptography.fernet import Fernet
from limits.aio.storage import MemoryStorage
from prometheus_client import CollectorRegistry

from services.kit.clock import FixedClock
from services.kit.mongo import Document
from services.kit.sealedbox import ContactOpener, ContactSealer, generate_private_key
from services.kit.sealing import Sealer
from services.notify.channels import DeliveryFailed, HttpSmsGateway, Outgoing, SmtpChannel, WebhookChannel
from services.notify.dispatcher import CHANNELS, OUTCOMES, Dispatcher, DispatchMetrics, RecipientLimit
from services.notify.store import Outcome

NOW = dt.datetime(2029, 1, 15, 3, 0, tzinfo=dt.UTC)


class FakeQueue:
    def __init__(self, deliveries: Sequence[Document]) -> None:
        self.due = list(deliveries)
        self.outcomes: dict[str, Outcome] = {}
        self.contacts: dict[str, str] = {}
        self.secrets: dict[str, str] = {}
        self.recorded = asyncio.Event()

    async def claim(self, now: dt.datetime, batch: int, lease: dt.timedelta) -> list[Document]:
        claimed, self.due = self.due[:batch], self.due[batch:]
        for doc in claimed:
            doc["attempts"] += 1
        return claimed

    async def finish(self, outcomes: Sequence[Outcome], now: dt.datetime) -> None:
        for outcome in outcomes:
            self.outcomes[outcome[0]] = outcome
        self.recorded.set()

    async def mark_orphaned_claims(self, now: dt.datetime, reason: str) -> int:
        return 0

    async def sealed_contact(self, report_id: str) -> str | None:
        return self.contacts.get(report_id)

    async def sealed_webhook_secret(self, subscription_id: str) -> str | None:
        return self.secrets.get(subscription_id)


class FakeEmail:
    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.sent: list[Outgoing] = []
        self.refuse = refuse

    async def send(self, outgoing: Outgoing) -> None:
        if outgoing.to in self.refuse:
            raise DeliveryFailed("alamat ditolak server SMTP", permanent=True)
        self.sent.append(outgoing)

    async def close(self) -> None:
        return None


class FakeWebhooks:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, url: str, secret: str, webhook_id: str, body: bytes) -> None:
        self.sent.append((url, secret, webhook_id))

    async def close(self) -> None:
        return None


def _email(key: str, recipient: str) -> Document:
    return {
        "_id": key,
        "channel": "email",
        "recipient": recipient,
        "subject": "S",
        "body": "B",
        "attempts": 0,
    }


def _webhook(key: str, subscription_id: str = "sub-1") -> Document:
    return {
        "_id": key,
        "channel": "webhook",
        "recipient": "https://agency.example/hook",
        "subscription_id": subscription_id,
        "webhook_id": f"evt-{key}",
        "subject": "public.report.received.v1",
        "body": b"{}",
        "attempts": 0,
    }


OPENER = ContactOpener(generate_private_key(), "kontak pelapor")
"""Notify's private key; reports seals with its public half (CONTACTS)."""
CONTACTS = ContactSealer(OPENER.public_key())


def _dispatcher(
    queue: FakeQueue,
    sealer: Sealer,
    email: FakeEmail | None = None,
    webhooks: FakeWebhooks | None = None,
    rate: str | None = None,
) -> tuple[Dispatcher, CollectorRegistry]:
    """`sealer`: the webhook secrets' key."""
    registry = CollectorRegistry()
    dispatcher = Dispatcher(
        queue,
        cast(SmtpChannel, email or FakeEmail()),
        cast(WebhookChannel, webhooks or FakeWebhooks()),
        FixedClock(NOW),
        DispatchMetrics(registry),
        OPENER,
        sealer,
        concurrency=50,
        per_recipient=RecipientLimit(rate) if rate else None,
    )
    return dispatcher, registry


async def _dispatch_all(dispatcher: Dispatcher, queue: FakeQueue, expected: int) -> None:
    await dispatcher.step()
    async with asyncio.timeout(5):
        while len(queue.outcomes) < expected:
            queue.recorded.clear()
            await queue.recorded.wait()


@pytest.fixture
def sealer() -> Sealer:
    return Sealer([Fernet.generate_key()], "secret langganan")


# ---------------------------------------------------------------- the per-recipient limit


async def test_the_limit_lets_n_through_and_defers_the_next_until_the_window_frees() -> None:
    limit = RecipientLimit("3/hour")
    assert [await limit.deferred_until("budi@x.go.id", NOW) for _ in range(3)] == [None, None, None]
    later = await limit.deferred_until("budi@x.go.id", NOW)
    assert later is not None
    assert NOW + dt.timedelta(minutes=59) < later <= NOW + dt.timedelta(hours=1)
    # Counted per recipient.
    assert await limit.deferred_until("sari@x.go.id", NOW) is None


async def test_the_limit_sweeps_its_memory_at_most_once_per_window() -> None:
    # The hook SweptMemoryStorage overrides: a `limits` upgrade that renames it fails here.
    assert hasattr(MemoryStorage, "_MemoryStorage__schedule_expiry")
    limit = RecipientLimit("3/hour")
    await limit.deferred_until("budi@x.go.id", NOW)
    first = limit.storage.timer
    assert first is not None
    await first  # the first sweep is over
    await limit.deferred_until("sari@x.go.id", NOW)
    assert limit.storage.timer is first


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positif"):
        RecipientLimit("0/hour")
    with pytest.raises(ValueError):
        RecipientLimit("sepuluh per jam")


async def test_the_fourth_mail_to_one_recipient_is_deferred_and_webhooks_are_not_limited(
    sealer: Sealer,
) -> None:
    deliveries = [_email(f"m{i}", "budi@x.go.id") for i in range(4)] + [_webhook(f"w{i}") for i in range(4)]
    queue = FakeQueue(deliveries)
    queue.secrets["sub-1"] = sealer.seal({"secret": "whsec_abc"}).decode()
    email, webhooks = FakeEmail(), FakeWebhooks()
    dispatcher, _registry = _dispatcher(queue, sealer, email, webhooks, rate="3/hour")
    await _dispatch_all(dispatcher, queue, len(deliveries))
    statuses = sorted(outcome[1] for outcome in queue.outcomes.values())
    assert statuses == ["deferred"] + ["sent"] * 7
    (deferred,) = [outcome for outcome in queue.outcomes.values() if outcome[1] == "deferred"]
    _key, _status, later, error = deferred
    assert later is not None and later > NOW + dt.timedelta(minutes=59)
    assert error == "batas kiriman per penerima; ditunda"
    assert len(email.sent) == 3 and len(webhooks.sent) == 4
    assert {secret for _url, secret, _id in webhooks.sent} == {"whsec_abc"}


# ---------------------------------------------------------------- outcomes


async def test_a_reporter_s_sealed_contact_is_opened_only_to_send(sealer: Sealer) -> None:
    queue = FakeQueue([_email("r", "sealed:r-1")])
    queue.contacts["r-1"] = CONTACTS.seal({"contact": "rina@x.org"}).decode()
    email = FakeEmail()
    dispatcher, _registry = _dispatcher(queue, sealer, email)
    await _dispatch_all(dispatcher, queue, 1)
    assert queue.outcomes["r"][1] == "sent"
    assert [outgoing.to for outgoing in email.sent] == ["rina@x.org"]


async def test_a_contact_sealed_with_another_key_is_dead_and_never_logged(
    sealer: Sealer, caplog: pytest.LogCaptureFixture
) -> None:
    other = Sealer([Fernet.generate_key()], "secret langganan")
    other_notify = ContactSealer(ContactOpener(generate_private_key(), "kontak pelapor").public_key())
    queue = FakeQueue([_email("r", "sealed:r-1"), _email("gone", "sealed:r-2"), _webhook("w")])
    sealed = other_notify.seal({"contact": "rina@x.org"}).decode()
    queue.contacts["r-1"] = sealed
    queue.secrets["sub-1"] = other.seal({"secret": "whsec_abc"}).decode()
    email = FakeEmail()
    dispatcher, _registry = _dispatcher(queue, sealer, email)
    with caplog.at_level(logging.DEBUG):
        await _dispatch_all(dispatcher, queue, 3)
    assert queue.outcomes["r"][1:3] == ("dead", None)
    assert "kontak pelapor tidak dapat dibuka" in str(queue.outcomes["r"][3])
    assert queue.outcomes["gone"][1:] == ("dead", None, "kontak pelapor tidak ditemukan")
    assert "secret langganan tidak dapat dibuka" in str(queue.outcomes["w"][3])
    assert email.sent == []
    logged = caplog.text + " ".join(str(record.__dict__) for record in caplog.records)
    assert "rina" not in logged and sealed not in logged and "r-1" not in logged


async def test_a_refused_address_is_dead_a_deleted_subscription_cancelled_and_sms_without_gateway_dead(
    sealer: Sealer,
) -> None:
    sms = {**_email("s", "+62812"), "channel": "sms"}
    queue = FakeQueue([_email("x", "salah@x.go.id"), _webhook("w", "sub-gone"), sms])
    dispatcher, registry = _dispatcher(queue, sealer, FakeEmail(refuse=frozenset({"salah@x.go.id"})))
    await _dispatch_all(dispatcher, queue, 3)
    assert queue.outcomes["x"][1] == "dead" and "ditolak" in str(queue.outcomes["x"][3])
    assert queue.outcomes["w"][1:] == ("cancelled", None, "langganan dihapus")
    assert queue.outcomes["s"][1] == "dead" and "SMS_GATEWAY_URL" in str(queue.outcomes["s"][3])
    counted = registry.get_sample_value
    assert counted("netral_notify_deliveries_total", {"channel": "email", "outcome": "dead"}) == 1.0


class FakeSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, to: str, text: str, key: str) -> None:
        self.sent.append((to, key))

    async def close(self) -> None:
        return None


async def test_a_reporter_who_left_a_phone_number_is_texted_not_mailed(
    sealer: Sealer, caplog: pytest.LogCaptureFixture
) -> None:
    queue = FakeQueue([_email("r", "sealed:r-1")])
    queue.contacts["r-1"] = CONTACTS.seal({"contact": "+62 813-4455-6677"}).decode()
    email, sms = FakeEmail(), FakeSms()
    dispatcher, _registry = _dispatcher(queue, sealer, email)
    dispatcher.sms = cast(HttpSmsGateway, sms)
    await _dispatch_all(dispatcher, queue, 1)
    assert queue.outcomes["r"][1] == "sent"
    assert email.sent == [] and sms.sent == [("+62 813-4455-6677", "r")]

    # Without a gateway: dead, with a reason that names no number, and nothing in the log.
    queue = FakeQueue([_email("q", "sealed:r-1")])
    queue.contacts["r-1"] = CONTACTS.seal({"contact": "+62 813-4455-6677"}).decode()
    dispatcher, _registry = _dispatcher(queue, sealer, email)
    with caplog.at_level(logging.DEBUG):
        await _dispatch_all(dispatcher, queue, 1)
    assert queue.outcomes["q"][1:3] == ("dead", None) and "SMS_GATEWAY_URL" in str(queue.outcomes["q"][3])
    assert "4455" not in caplog.text and email.sent == []


def test_every_outcome_series_starts_at_zero() -> None:
    registry = CollectorRegistry()
    DispatchMetrics(registry)
    for channel in CHANNELS:
        for outcome in OUTCOMES:
            labels = {"channel": channel, "outcome": outcome}
            assert registry.get_sample_value("netral_notify_deliveries_total", labels) == 0.0
