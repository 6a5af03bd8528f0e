"""Background work of the signing service: chaining new signatures, publishing checkpoints,
and the deadlines' reminders, overdue notices and closes.

Signatures are accepted by any replica; only the holder of the sequencer lease gives them
chain positions, in batches (a group commit), so the chain stays one line per campaign.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Gauge

from services.kit.leases import Leases
from services.kit.polling import Lease, Wakeup, poll_forever
from services.signing.usecases import SigningUseCases

LEASE = "chain-sequencer"
DUTY_SECONDS = 5.0


class ChainSequencer:
    def __init__(
        self,
        usecases: SigningUseCases,
        leases: Leases,
        wakeup: Wakeup,
        registry: CollectorRegistry,
        batch_size: int = 2000,
        lease_seconds: float = 10.0,
        checkpoint_seconds: float = 60.0,
    ) -> None:
        self.usecases = usecases
        self.leases = leases
        self.wakeup = wakeup
        """Set by the use cases after each new signature, so that it is chained at once."""
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.checkpoint_seconds = checkpoint_seconds
        self._last_checkpoint = 0.0
        self._last_duties = 0.0
        self.chain_length = Gauge(
            "netral_signing_chain_length", "Receipts chained per campaign", ["campaign"], registry=registry
        )

    async def run(self) -> None:
        await poll_forever(
            "chain sequencer", self.step, self.wakeup, 0.2, Lease(self.leases, LEASE, self.lease_seconds)
        )

    async def step(self) -> bool:
        # Intervals on the monotonic clock: the service's clock (which tests move) only decides
        # what is due, not how often the sequencer looks.
        chained = await self.usecases.chain_pending(self.batch_size)
        if time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds:
            await self.checkpoint_all()
        if time.monotonic() - self._last_duties >= DUTY_SECONDS:
            self._last_duties = time.monotonic()
            await self.usecases.deadline_duties(self.batch_size)
        return chained >= self.batch_size

    async def checkpoint_all(self) -> None:
        self._last_checkpoint = time.monotonic()
        for code, length in (await self.usecases.checkpoint_open_campaigns()).items():
            self.chain_length.labels(code).set(length)
