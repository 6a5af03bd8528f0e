"""The one loop every background worker runs: do a step, sleep until woken or until the next
poll when there is nothing more to do, back off when an engine fails, and (when the work may
have only one doer across replicas) only while holding its lease.

Used by the outbox relay, the chain sequencer, the deadline scheduler, the notify dispatcher
and the registry's importer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.kit.leases import Leases

log = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0


class Wakeup:
    """Lets a request wake a background loop at once instead of waiting for its next poll."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        self._event.clear()


@dataclass(frozen=True)
class Lease:
    """Run only while this process holds the lease `name` (renewed every step)."""

    leases: Leases
    name: str
    seconds: float


async def poll_forever(
    name: str,
    step: Callable[[], Awaitable[bool]],
    wakeup: Wakeup,
    idle_seconds: float,
    lease: Lease | None = None,
) -> None:
    """Run `step` until cancelled. `step` returns whether more work is waiting at once;
    otherwise the loop sleeps until woken or `idle_seconds` pass. A failing step (an engine
    down) is logged and retried with doubling backoff: the work it did not finish is still
    there to do."""
    backoff = FIRST_BACKOFF_SECONDS
    while True:
        try:
            if lease is not None and not await lease.leases.acquire(lease.name, lease.seconds):
                await asyncio.sleep(lease.seconds / 3)
                continue
            more = await step()
            backoff = FIRST_BACKOFF_SECONDS
            if not more:
                await wakeup.wait(idle_seconds)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; retrying in %.1f s", name, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
