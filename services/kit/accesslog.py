"""One log line per HTTP request, written by the service instead of uvicorn (whose access log is
off, see kit.launch): method, route template, status and duration, and nothing that names a
person or a report. Never the raw path (it can hold a tracking or receipt code), never the query
string, never the client's address: together with a report's time, an address identifies the
reporter."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kit.startup import OPEN_PATHS

log = logging.getLogger("netral.access")

UNMATCHED = "(tanpa rute)"
"""What a request that matched no route (or was answered before routing) is logged as."""


def route_template(scope: Scope) -> str:
    """The path as declared (`/v1/reports/track/{code}`), set by the router on the scope."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class AccessLog:
    """ASGI middleware, outermost: it sees every answer, the kit's early ones (413, 503) too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:  # probes and scrapes: noise
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route_template(scope),
                    "status": status,
                    "ms": round((time.perf_counter() - began) * 1000, 1),
                },
            )
