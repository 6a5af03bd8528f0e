"""How often an agency's subscription may be replayed: a moving window on the `limits` library,
in this process's memory (so per replica, like the per-recipient limit of the dispatcher)."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter


class ReplayLimit:
    """At most so many replays of one subscription per window, e.g. "5/hour"."""

    def __init__(self, rate: str) -> None:
        self.item: RateLimitItem = parse(rate)
        if self.item.amount < 1:
            raise ValueError("batas replay harus positif")
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def wait_seconds(self, subscription_id: str) -> int | None:
        """None when one more replay may go now (and it is counted); else how many seconds until
        the oldest in the window leaves it."""
        if await self._limiter.hit(self.item, "replay", subscription_id):
            return None
        stats = await self._limiter.get_window_stats(self.item, "replay", subscription_id)
        return max(1, math.ceil(stats.reset_time - time.time()))
