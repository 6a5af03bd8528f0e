"""Limits a request meets while its body is still arriving, before FastAPI parses any of it: a
maximum size per path prefix, and a maximum nesting depth of JSON.

The size is counted by Starlette's own `RequestBodyLimitMiddleware` (Content-Length is refused
at once, a chunked body as it streams); this module only chooses the limit by path and answers
in Bahasa Indonesia. The depth is checked on the same chunks, so a body of a million `[` is
refused after the first few dozen instead of making the JSON parser recurse until it fails.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kit.launch import answer, plain_page, wants_page

BODY_TOO_LARGE = "isi permintaan terlalu besar (maksimal {limit} bita)"
JSON_TOO_DEEP = "JSON terlalu dalam: maksimal {depth} tingkat bertingkat"
log = logging.getLogger(__name__)


def too_large_body(limit: int) -> dict[str, Any]:
    return {"detail": BODY_TOO_LARGE.format(limit=limit)}


def readable_size(size: int) -> str:
    """Bytes as a person reads them: "50 MB", "64 KB" (1 MB = 2**20 bytes, as the limits are set)."""
    for unit, scale in (("MB", 2**20), ("KB", 2**10)):
        if size >= scale:
            amount = size / scale
            return (
                f"{amount:.0f} {unit}" if amount == int(amount) else f"{amount:.1f} {unit}".replace(".", ",")
            )
    return f"{size} bita"


def browser_error(scope: Scope, status: int, heading: str, message: str, advice: str) -> Response:
    """An error page for a browser's request, also one no route has taken (a body too large, a
    path that does not exist): the web kit's error page when the service has pages (its
    `app.state.pages`, duck-typed so that this module does not import the web kit), else the
    small standard page of kit.launch."""
    app = scope.get("app")
    pages = getattr(getattr(app, "state", None), "pages", None)
    headers = {"Cache-Control": "no-store"}
    if pages is not None:
        try:
            context = {"status": status, "heading": heading, "message": message, "advice": advice}
            rendered: Response = pages.render(
                Request(scope), "webkit/error.html", context, status_code=status
            )
            return rendered
        except Exception:  # logged; the plain page below still says what to do
            log.exception("error page failed")
    home = "/"
    links = getattr(getattr(pages, "settings", None), "web_links", None)
    if links is not None:
        home = f"{links.registry}/"
    return HTMLResponse(plain_page(heading, message, advice, status, home=home), status, headers=headers)


def too_large_page(scope: Scope, limit: int) -> Response:
    return browser_error(
        scope,
        413,
        "File terlalu besar",
        f"Yang Anda kirim melebihi batas {readable_size(limit)} untuk halaman ini.",
        "Perkecil file atau kirim lebih sedikit file, lalu kirim formulirnya lagi.",
    )


class JsonTooDeep(HTTPException):
    """Raised while the body is read: an HTTPException, because FastAPI lets only those pass
    out of its body reading unchanged; the app answers it as its other 422s."""

    def __init__(self, depth: int) -> None:
        super().__init__(status_code=422, detail=JSON_TOO_DEEP.format(depth=depth))
        self.depth = depth

    def body(self) -> dict[str, Any]:
        return {"detail": "data tidak valid", "errors": [{"field": None, "message": self.detail}]}


# What changes the depth of JSON: brackets, and quotes (inside a string brackets do not count).
# A backslash takes the byte after it along, so that an escaped quote does not end a string; a
# backslash at the end of a chunk is carried over to the next one.
_JSON_TOKENS = re.compile(rb'\\.?|["\[\]{}]', re.DOTALL)
_JSON_TYPES = re.compile(r"^application/(.+\+)?json\s*(;|$)", re.IGNORECASE)


class JsonDepth:
    """The nesting depth of a JSON text read in chunks; `feed` raises past `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.depth = 0
        self.in_string = False
        self.escape_pending = False

    def feed(self, chunk: bytes) -> None:
        start = 0
        if self.escape_pending and chunk:
            start, self.escape_pending = 1, False
        for token in _JSON_TOKENS.finditer(chunk, start):
            char = token.group()
            if char[0] == 0x5C:  # backslash
                self.escape_pending = len(char) == 1
            elif char == b'"':
                self.in_string = not self.in_string
            elif self.in_string:
                continue
            elif char in (b"[", b"{"):
                self.depth += 1
                if self.depth > self.limit:
                    raise JsonTooDeep(self.limit)
            else:
                self.depth -= 1


class RequestLimits:
    """ASGI middleware: the body size limit of the longest matching path prefix (else the
    default) and, for JSON bodies, the depth limit."""

    def __init__(
        self, app: ASGIApp, default_limit: int, limits: Mapping[str, int], max_json_depth: int
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        # Longest prefix first, so that "/v1/imports" wins over "/v1".
        self.limits = sorted(limits.items(), key=lambda item: len(item[0]), reverse=True)
        self.max_json_depth = max_json_depth
        self._counted = {
            limit: RequestBodyLimitMiddleware(app, limit) for limit in {default_limit, *limits.values()}
        }

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            # Refused before a byte of the body is read, and before the app sees the request.
            if wants_page(scope):
                await too_large_page(scope, limit)(scope, receive, send)
            else:
                await answer(send, 413, too_large_body(limit))
            return
        if _JSON_TYPES.match(headers.get("content-type", "")):
            receive = self._depth_checked(receive)
        await self._counted[limit](scope, receive, send)

    def _depth_checked(self, receive: Receive) -> Receive:
        depth = JsonDepth(self.max_json_depth)

        async def checked() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                depth.feed(message.get("body", b""))
            return message

        return checked
