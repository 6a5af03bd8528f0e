"""A process is alive at once and ready when its engines are.

Uvicorn binds its socket before any engine is touched: `/healthz` answers from the first
moment. The engines, the consumer group and the background tasks start behind it, in one
supervised task whose steps are retried with backoff until they succeed. `/readyz` reports
each step until then. Requests that need the database wait for nothing: until the database
step is done (indexes included, so that no unique rule is bypassed) they get a 503.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from services.kit.launch import answer_starting

log = logging.getLogger(__name__)

OK = "ok"
PENDING = "pending"

RETRY_WAIT = wait_exponential(multiplier=0.2, max=5)
"""0.2 s, 0.4 s, … up to 5 s between attempts of a failed startup step."""


class Readiness:
    """The state of each part of the start (`mongodb`, `kafka`), as `/readyz` shows it."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {"mongodb": PENDING, "kafka": PENDING}
        self.storage_ready = asyncio.Event()
        """Set once MongoDB answers and every index exists: requests may use the database."""
        self.started = asyncio.Event()
        """Set once every step is done, the consumer group joined included."""
        self.began = time.monotonic()
        self.took: dict[str, float] = {}
        """Seconds from the start of the app to the end of each part: logged, not timed."""

    def set(self, part: str, state: str) -> None:
        self.states[part] = state

    def done(self, part: str) -> None:
        self.states[part] = OK
        self.took[part] = round(time.monotonic() - self.began, 3)


async def run_step(readiness: Readiness, part: str, doing: str, work: Callable[[], Awaitable[Any]]) -> None:
    """Run `work` until it succeeds, showing `doing` (or the last error) for `part`. Only
    cancellation stops it: a process that cannot reach an engine keeps trying, and says so."""

    def report(retry: RetryCallState) -> None:
        error = retry.outcome.exception() if retry.outcome else None
        text = f"{type(error).__name__}: {error}"[:300] if error else "unknown error"
        wait = retry.next_action.sleep if retry.next_action else 0.0
        readiness.set(part, f"error: {text} (attempt {retry.attempt_number}, retrying)")
        log.warning(
            "startup step failed; retrying",
            extra={"part": part, "step": doing, "error": text, "attempt": retry.attempt_number, "wait": wait},
        )

    readiness.set(part, doing)
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(Exception), wait=RETRY_WAIT, before_sleep=report, reraise=True
    ):
        with attempt:
            await work()  # the last error stays on /readyz until an attempt succeeds


OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/asyncapi.json", "/docs", "/openapi.json"})


class StartingGate:
    """ASGI middleware: a 503 with Retry-After for every request that would touch the
    database before it is ready; the operational endpoints always pass."""

    def __init__(self, app: ASGIApp, readiness: Readiness) -> None:
        self.app = app
        self.readiness = readiness

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and not self.readiness.storage_ready.is_set()
            and scope["path"] not in OPEN_PATHS
        ):
            await answer_starting(scope, send, self.readiness.states)
            return
        await self.app(scope, receive, send)
