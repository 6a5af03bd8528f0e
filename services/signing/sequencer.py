"""Background work of the signing service: chaining new signatures, publishing checkpoints.

Signatures are accepted by any replica; only the holder of the sequencer lease gives them
chain positions, in batches (a group commit), so the chain stays one line per campaign.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from prometheus_client import CollectorRegistry, Gauge

from services.kit.leases import Leases
from services.kit.polling import Lease, Wakeup, poll_forever
from services.signing.store import SigningStore

log = logging.getLogger(__name__)

LEASE = "chain-sequencer"
DUTY_SECONDS = 5.0


class ChainSequencer:
    def __init__(
        self,
        store: SigningStore,
        leases: Leases,
        registry: CollectorRegistry,
        batch_size: int = 2000,
        lease_seconds: float = 10.0,
        checkpoint_seconds: float = 60.0,
    ) -> None:
        self.store = store
        self.leases = leases
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.checkpoint_seconds = checkpoint_seconds
        self._wakeup = Wakeup()
        self._last_checkpoint = 0.0
        self._last_duties = 0.0
        self.chain_length = Gauge(
            "netral_signing_chain_length", "Receipts chained per campaign", ["campaign"], registry=registry
        )
        store.sequencer_wake = self.wake  # type: ignore[method-assign]

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        await poll_forever(
            "chain sequencer", self.step, self._wakeup, 0.2, Lease(self.leases, LEASE, self.lease_seconds)
        )

    async def step(self) -> bool:
        chained = await self.store.sequence_pending(self.batch_size)
        if time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds:
            await self.checkpoint_all()
        if time.monotonic() - self._last_duties >= DUTY_SECONDS:
            await self.deadline_duties()
        return chained >= self.batch_size

    async def deadline_duties(self) -> None:
        """Reminders at the campaign's configured hours before the deadline; at the deadline,
        everything still pending is chained, overdue notices go out, and the campaign closes."""
        self._last_duties = time.monotonic()
        now = dt.datetime.now(dt.UTC)
        for campaign in await self.store.due_campaigns(now):
            code, deadline = campaign["_id"], campaign["deadline"]
            if now >= deadline:
                while await self.store.sequence_pending(self.batch_size):
                    pass
                sent = await self.store.notify_unsigned(campaign, None)
                await self.store.close_campaign(code)
                log.info("campaign closed at its deadline", extra={"campaign": code, "overdue": sent})
                continue
            for hours in sorted(campaign.get("reminder_hours", []), reverse=True):
                if hours in campaign.get("reminders_sent", []) or now < deadline - dt.timedelta(hours=hours):
                    continue
                sent = await self.store.notify_unsigned(campaign, hours)
                await self.store.mark_reminder_sent(code, hours)
                log.info("reminders due", extra={"campaign": code, "hours_before": hours, "employees": sent})

    async def checkpoint_all(self) -> None:
        self._last_checkpoint = time.monotonic()
        for code in await self.store.open_campaign_codes():
            await self.store.checkpoint(code)
            self.chain_length.labels(code).set(await self.store.chain_length(code))
