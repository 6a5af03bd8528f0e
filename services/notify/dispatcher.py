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

from prometheus_client import CollectorRegistry, Counter

from services.kit.clock import Clock
from services.kit.leases import Wakeup
from services.kit.mongo import Document
from services.notify.channels import DeliveryFailed, Outgoing, SmtpChannel
from services.notify.domain import retry_delay
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
        clock: Clock,
        metrics: DispatchMetrics,
        batch_size: int = 500,
        concurrency: int = 16,
        max_attempts: int = 6,
        retry_base: dt.timedelta = dt.timedelta(seconds=30),
        retry_cap: dt.timedelta = dt.timedelta(hours=1),
        claim_lease: dt.timedelta = dt.timedelta(minutes=5),
        poll_seconds: float = 0.5,
    ) -> None:
        self.store = store
        self.email = email
        self.clock = clock
        self.metrics = metrics
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.claim_lease = claim_lease
        self.poll_seconds = poll_seconds
        self.wakeup = Wakeup()
        self._rng = random.Random()
        self._orphans_checked = 0.0

    async def step(self) -> bool:
        now = self.clock.now()
        if time.monotonic() - self._orphans_checked > 30:
            self._orphans_checked = time.monotonic()
            orphans = await self.store.orphaned_claims(now)
            if orphans:
                log.warning("deliveries left in doubt by a stopped dispatcher", extra={"count": orphans})
        claimed = await self.store.claim(now, self.batch_size, self.claim_lease)
        gate = asyncio.Semaphore(self.concurrency)

        async def deliver(doc: Document) -> None:
            async with gate:
                outcome = await self._attempt(doc, now)
            # Recorded at once, not at the end of the batch: a crash leaves as few in doubt as possible.
            await self.store.finish([outcome])
            self.metrics.outcomes.labels(doc["channel"], outcome[1]).inc()

        await asyncio.gather(*(deliver(doc) for doc in claimed))
        return len(claimed) == self.batch_size

    async def _attempt(
        self, doc: Document, now: dt.datetime
    ) -> tuple[str, str, dt.datetime | None, str | None]:
        key = doc["_id"]
        try:
            to = self.store.open_recipient(
                doc["recipient"], await self.store.sealed_contact(doc["recipient"])
            )
            await self.email.send(Outgoing(key, to, doc["subject"], doc["body"]))
        except DeliveryFailed as exc:
            if exc.permanent or doc["attempts"] >= self.max_attempts:
                return key, "dead", None, str(exc)
            delay = retry_delay(doc["attempts"], self.retry_base, self.retry_cap, self._rng)
            return key, "pending", now + delay, str(exc)
        return key, "sent", None, None

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                more = await self.step()
                backoff = 0.1
                if not more:
                    await self.wakeup.wait(self.poll_seconds)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await self.email.close()
                raise
            except Exception:
                log.exception("dispatch failed; retrying in %.1f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
