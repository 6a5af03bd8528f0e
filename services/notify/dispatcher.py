"""The dispatcher: sends due deliveries and reschedules failed ones with exponential backoff and
full jitter; after the last attempt a delivery is dead-lettered in the log. Each replica claims
its own deliveries, so several can send at once, and no consumer ever waits on a channel."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Sequence
from typing import Any, Protocol

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from prometheus_client import CollectorRegistry, Counter

from services.kit.clock import Clock
from services.kit.mongo import Document
from services.kit.polling import Wakeup, poll_forever
from services.kit.sealing import Unsealable
from services.notify.channels import DeliveryFailed, HttpSmsGateway, Outgoing, SmtpChannel, WebhookChannel
from services.notify.domain import (
    CONTACT_MISSING,
    CONTACT_UNREADABLE,
    LEFT_IN_DOUBT,
    OVER_RECIPIENT_LIMIT,
    SECRET_UNREADABLE,
    SMS_NOT_CONFIGURED,
    SUBSCRIPTION_DELETED,
    is_phone_contact,
    retry_delay,
    scrub_contacts,
    sealed_report_id,
)
from services.notify.store import Outcome

log = logging.getLogger(__name__)

CHANNELS = ("email", "sms", "webhook")
OUTCOMES = ("sent", "pending", "deferred", "dead", "cancelled")
"""What an attempt ends in; `pending` is a failure to be retried."""


class DispatchMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.outcomes = Counter(
            "netral_notify_deliveries",
            "Delivery attempts by outcome",
            ["channel", "outcome"],
            registry=registry,
        )
        for channel in CHANNELS:  # every series exists from the start, so a first dead letter is an increase
            for outcome in OUTCOMES:
                self.outcomes.labels(channel, outcome)


class SweptMemoryStorage(MemoryStorage):
    """The `limits` memory storage, sweeping out expired entries at most once per `sweep_seconds`.

    The library starts a sweep over every key again as soon as the last one ended and a hit
    came, with a thread hop per key: with one key per recipient (100k on a signing day) that is
    about 20 s of a core's time per sweep, over and over, taken from the sends. Entries older
    than the window never count in a moving window, so sweeping once per window only bounds
    memory and changes no answer."""

    def __init__(self, sweep_seconds: float) -> None:
        super().__init__()
        self.sweep_seconds = sweep_seconds
        self._next_sweep = 0.0

    async def _MemoryStorage__schedule_expiry(self) -> None:  # the library's (private) hook
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + self.sweep_seconds
            await super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]  # mypy does not mangle


class RecipientLimit:
    """At most so many e-mails and SMS to one recipient per moving window (`limits` notation, e.g.
    "10/hour"), counted in this process's memory: the limit is per replica (see the README)."""

    def __init__(self, rate: str) -> None:
        self.item: RateLimitItem = parse(rate)
        if self.item.amount < 1:
            raise ValueError("batas pengiriman harus positif")
        self.storage = SweptMemoryStorage(sweep_seconds=max(60.0, float(self.item.get_expiry())))
        self._limiter = MovingWindowRateLimiter(self.storage)

    async def deferred_until(self, recipient: str, now: dt.datetime) -> dt.datetime | None:
        """None when one more may go now (and it is counted); else when the oldest send in the
        window leaves it. The library counts on the wall clock, so only the wait is taken from it."""
        if await self._limiter.hit(self.item, recipient):
            return None
        stats = await self._limiter.get_window_stats(self.item, recipient)
        return now + dt.timedelta(seconds=max(0.0, stats.reset_time - time.time()))


class DeliveryQueue(Protocol):
    """What the dispatcher needs of the store (services.notify.store.NotifyStore)."""

    async def claim(self, now: dt.datetime, batch: int, lease: dt.timedelta) -> list[Document]: ...
    async def finish(self, outcomes: Sequence[Outcome], now: dt.datetime) -> None: ...
    async def mark_orphaned_claims(self, now: dt.datetime, reason: str) -> int: ...
    async def sealed_contact(self, report_id: str) -> str | None: ...
    async def sealed_webhook_secret(self, subscription_id: str) -> str | None: ...


class Opener(Protocol):
    """Opens a sealed value (kit.sealedbox.ContactOpener, kit.sealing.Sealer); Unsealable if it cannot."""

    def open(self, token: bytes) -> dict[str, Any]: ...


class Dispatcher:
    def __init__(
        self,
        store: DeliveryQueue,
        email: SmtpChannel,
        webhooks: WebhookChannel,
        clock: Clock,
        metrics: DispatchMetrics,
        contacts: Opener,
        secrets: Opener,
        batch_size: int = 500,
        concurrency: int = 16,
        max_attempts: int = 6,
        retry_base: dt.timedelta = dt.timedelta(seconds=30),
        retry_cap: dt.timedelta = dt.timedelta(hours=1),
        claim_lease: dt.timedelta = dt.timedelta(minutes=5),
        poll_seconds: float = 0.5,
        sms: HttpSmsGateway | None = None,
        per_recipient: RecipientLimit | None = None,
    ) -> None:
        self.store = store
        self.email = email
        self.webhooks = webhooks
        self.clock = clock
        self.metrics = metrics
        self.contacts = contacts
        """Opens reporters' contacts: notify's private key, which reports does not have."""
        self.secrets = secrets
        """Opens agencies' webhook secrets: a key of their own."""
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.claim_lease = claim_lease
        self.poll_seconds = poll_seconds
        self.sms = sms
        self.per_recipient = per_recipient
        self.wakeup = Wakeup()
        self._rng = random.Random()
        self._orphans_checked = 0.0
        self._inflight: set[asyncio.Task[None]] = set()

    async def step(self) -> bool:
        """Claim as many due deliveries as there are free sending slots and start them. A slow
        endpoint holds only its own slots: the next claims do not wait for it."""
        now = self.clock.now()
        if time.monotonic() - self._orphans_checked > min(30.0, self.claim_lease.total_seconds()):
            self._orphans_checked = time.monotonic()
            # They may have gone out just before the stop: e-mail is not sent again but listed
            # in the log for a person to check, so a restart never sends an e-mail twice.
            orphans = await self.store.mark_orphaned_claims(now, LEFT_IN_DOUBT)
            if orphans:
                log.warning("deliveries left in doubt by a stopped dispatcher", extra={"count": orphans})
        free = self.concurrency - len(self._inflight)
        if free <= 0:
            await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
            return True
        claimed = await self.store.claim(now, min(free, self.batch_size), self.claim_lease)
        for doc in claimed:
            task = asyncio.create_task(self._deliver(doc, now))
            self._inflight.add(task)
            task.add_done_callback(self._done)
        return len(claimed) == free

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self.wakeup.set()  # a slot is free
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    async def _deliver(self, doc: Document, now: dt.datetime) -> None:
        key, status, next_attempt, error = await self._attempt(doc, now)
        # Whatever a channel answered, the log keeps no address or number from it.
        outcome = (key, status, next_attempt, scrub_contacts(error))
        # Recorded at once, not at the end of a batch: a crash leaves as few in doubt as possible.
        await self.store.finish([outcome], self.clock.now())
        self.metrics.outcomes.labels(doc["channel"], outcome[1]).inc()

    async def _attempt(self, doc: Document, now: dt.datetime) -> Outcome:
        key = doc["_id"]
        opened: list[str] = []
        if self.per_recipient is not None and doc["channel"] != "webhook":
            later = await self.per_recipient.deferred_until(doc["recipient"], now)
            if later is not None:
                return key, "deferred", later, OVER_RECIPIENT_LIMIT
        try:
            if doc["channel"] == "webhook":
                sealed_secret = await self.store.sealed_webhook_secret(doc["subscription_id"])
                if sealed_secret is None:
                    return key, "cancelled", None, SUBSCRIPTION_DELETED
                secret = self._unseal(self.secrets, sealed_secret, "secret")
                await self.webhooks.send(doc["recipient"], secret, doc["webhook_id"], bytes(doc["body"]))
            elif doc["channel"] == "sms":
                if self.sms is None:
                    return key, "dead", None, SMS_NOT_CONFIGURED
                await self.sms.send(doc["recipient"], f"{doc['subject']}\n{doc['body']}", key)
            else:
                to = doc["recipient"]
                report_id = sealed_report_id(to)
                if report_id is not None:
                    sealed = await self.store.sealed_contact(report_id)
                    if sealed is None:
                        return key, "dead", None, CONTACT_MISSING
                    to = self._unseal(self.contacts, sealed, "contact")
                    opened.append(to)
                    if is_phone_contact(to):
                        if self.sms is None:
                            return key, "dead", None, SMS_NOT_CONFIGURED
                        await self.sms.send(to, f"{doc['subject']}\n{doc['body']}", key)
                        return key, "sent", None, None
                await self.email.send(Outgoing(key, to, doc["subject"], doc["body"]))
        except Unsealable:
            # Only the delivery's key is logged: neither the contact nor the sealed token.
            log.error("a sealed contact or secret could not be opened", extra={"delivery": key})
            return key, "dead", None, SECRET_UNREADABLE if doc["channel"] == "webhook" else CONTACT_UNREADABLE
        except DeliveryFailed as exc:
            # A server may echo the reporter's address in any form: the opened contact goes too.
            error = scrub_contacts(str(exc), opened)
            if exc.permanent or doc["attempts"] >= self.max_attempts:
                return key, "dead", None, error
            delay = retry_delay(doc["attempts"], self.retry_base, self.retry_cap, self._rng)
            return key, "pending", now + delay, error
        return key, "sent", None, None

    def _unseal(self, opener: Opener, sealed: str, field: str) -> str:
        try:
            return str(opener.open(sealed.encode())[field])
        # A wrong key is the Sealer's Unsealable; a value that opens to something else, the others.
        except (ValueError, KeyError, TypeError):
            raise Unsealable(f"{field} tidak dapat dibaca") from None

    async def run(self) -> None:
        try:
            await poll_forever("dispatch", self.step, self.wakeup, self.poll_seconds)
        finally:
            for task in self._inflight:
                task.cancel()
            with contextlib.suppress(Exception):
                await self.email.close()
                await self.webhooks.close()
                if self.sms is not None:
                    await self.sms.close()
