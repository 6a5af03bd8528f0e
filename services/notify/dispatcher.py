"""The dispatcher: sends due deliveries and reschedules failed ones with exponential backoff and
full jitter; after the last attempt a delivery is dead-lettered in the log. Each replica claims
its own deliveries, so several can send at once, and no consumer ever waits on a channel."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import random
import time

from prometheus_client import CollectorRegistry, Counter

from services.kit.clock import Clock
from services.kit.mongo import Document
from services.kit.polling import Wakeup, poll_forever
from services.notify.channels import DeliveryFailed, HttpSmsGateway, Outgoing, SmtpChannel, WebhookChannel
from services.notify.domain import RateLimit, next_allowed, retry_delay
from services.notify.store import NotifyStore

log = logging.getLogger(__name__)


class DispatchMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.outcomes = Counter(
            "netral_notify_deliveries",
            "Delivery attempts by outcome",
            ["channel", "outcome"],
            registry=registry,
        )


class Dispatcher:
    def __init__(
        self,
        store: NotifyStore,
        email: SmtpChannel,
        webhooks: WebhookChannel,
        clock: Clock,
        metrics: DispatchMetrics,
        batch_size: int = 500,
        concurrency: int = 16,
        max_attempts: int = 6,
        retry_base: dt.timedelta = dt.timedelta(seconds=30),
        retry_cap: dt.timedelta = dt.timedelta(hours=1),
        claim_lease: dt.timedelta = dt.timedelta(minutes=5),
        poll_seconds: float = 0.5,
        sms: HttpSmsGateway | None = None,
        per_recipient: RateLimit | None = None,
    ) -> None:
        self.store = store
        self.email = email
        self.webhooks = webhooks
        self.clock = clock
        self.metrics = metrics
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.claim_lease = claim_lease
        self.poll_seconds = poll_seconds
        self.sms = sms
        self.per_recipient = per_recipient
        # Sends per recipient in this process: the limit is per replica (see the README).
        self._recent: dict[str, collections.deque[dt.datetime]] = collections.defaultdict(collections.deque)
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
            orphans = await self.store.orphaned_claims(now)
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
        outcome = await self._attempt(doc, now)
        # Recorded at once, not at the end of a batch: a crash leaves as few in doubt as possible.
        await self.store.finish([outcome])
        self.metrics.outcomes.labels(doc["channel"], outcome[1]).inc()

    async def _attempt(
        self, doc: Document, now: dt.datetime
    ) -> tuple[str, str, dt.datetime | None, str | None]:
        key = doc["_id"]
        if self.per_recipient is not None and doc["channel"] != "webhook":
            recent = self._recent[doc["recipient"]]
            while recent and recent[0] <= now - self.per_recipient.per:
                recent.popleft()
            later = next_allowed(list(recent), now, self.per_recipient)
            if later is not None:
                return key, "deferred", later, "batas kiriman per penerima; ditunda"
            recent.append(now)
        try:
            if doc["channel"] == "webhook":
                secret = await self.store.webhook_secret(doc["subscription_id"])
                if secret is None:
                    return key, "cancelled", None, "langganan dihapus"
                await self.webhooks.send(doc["recipient"], secret, doc["webhook_id"], bytes(doc["body"]))
            elif doc["channel"] == "sms":
                if self.sms is None:
                    return key, "dead", None, "gateway SMS belum dikonfigurasi (SMS_GATEWAY_URL)"
                await self.sms.send(doc["recipient"], f"{doc['subject']}\n{doc['body']}", key)
            else:
                sealed = await self.store.sealed_contact(doc["recipient"])
                to = self.store.open_recipient(doc["recipient"], sealed)
                await self.email.send(Outgoing(key, to, doc["subject"], doc["body"]))
        except DeliveryFailed as exc:
            if exc.permanent or doc["attempts"] >= self.max_attempts:
                return key, "dead", None, str(exc)
            delay = retry_delay(doc["attempts"], self.retry_base, self.retry_cap, self._rng)
            return key, "pending", now + delay, str(exc)
        return key, "sent", None, None

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
