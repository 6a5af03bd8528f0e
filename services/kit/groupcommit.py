"""Group commit: requests that arrive together are written in one MongoDB transaction.

On a signing morning or an election day thousands of writes come per second; a transaction
per request would cap a service at the engine's transaction rate (a few hundred per second on
a small node). A request waits at most `max_wait` for company.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

BatchWriter = Callable[[Sequence[In]], Awaitable[Sequence[Out]]]


class GroupCommit(Generic[In, Out]):
    def __init__(self, write: BatchWriter[In, Out], max_batch: int = 500, max_wait: float = 0.004) -> None:
        """`write` takes a batch and returns one result per item, in order; if it raises, every
        request of the batch gets the error."""
        self.write = write
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: asyncio.Queue[tuple[In, asyncio.Future[Out]]] = asyncio.Queue()

    async def submit(self, item: In) -> Out:
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def run(self) -> None:
        """Until cancelled: collect a batch, write it, answer its requests."""
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.max_wait
            while len(batch) < self.max_batch:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), timeout))
                except TimeoutError:
                    break
            await self._write(batch)

    async def _write(self, batch: list[tuple[In, asyncio.Future[Out]]]) -> None:
        try:
            results = await self.write([item for item, _ in batch])
        except Exception as exc:  # noqa: BLE001 - every waiting request gets the error
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
