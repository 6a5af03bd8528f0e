"""Leases in MongoDB: at most one holder at a time for a named piece of work, across replicas."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.kit.mongo import Document

log = logging.getLogger(__name__)


class Leases:
    def __init__(self, database: AsyncDatabase[Document], owner: str) -> None:
        self._collection = database["leases"]
        self.owner = owner

    async def acquire(self, name: str, seconds: float) -> bool:
        """Take or renew the lease `name`. False while another owner holds an unexpired one."""
        now = dt.datetime.now(dt.UTC)
        try:
            await self._collection.find_one_and_update(
                {"_id": name, "$or": [{"owner": self.owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "expires_at": now + dt.timedelta(seconds=seconds)}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def release(self, name: str) -> None:
        await self._collection.delete_one({"_id": name, "owner": self.owner})


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


async def run_as_leader(
    leases: Leases,
    name: str,
    lease_seconds: float,
    step: Callable[[], Awaitable[bool]],
    wakeup: Wakeup,
    idle_seconds: float,
) -> None:
    """Run `step` for as long as this process holds the lease `name`, until cancelled.
    `step` returns whether more work is waiting; otherwise the loop sleeps until woken or
    `idle_seconds` pass. A failing step (an engine down) is retried with backoff: the work
    it did not finish is still there to do."""
    backoff = 0.1
    while True:
        try:
            if not await leases.acquire(name, lease_seconds):
                await asyncio.sleep(lease_seconds / 3)
                continue
            more = await step()
            backoff = 0.1
            if not more:
                await wakeup.wait(idle_seconds)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; retrying in %.1f s", name, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
