"""Limits a request meets while its body is still arriving, before FastAPI parses any of it: a
maximum size per path prefix, and a maximum nesting depth of JSON.

The size is counted by Starlette's own `RequestBodyLimitMiddleware` (Content-Length is refused
at once, a chunked body as it streams); this module only chooses the limit by path and answers
in Bahasa Indonesia. The depth is checked on the same chunks, so a body of a million `[` is
refused after the first few dozen instead of making the JSON parser recurse until it fails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kit.launch import answer

BODY_TOO_LARGE = "isi permintaan terlalu besar (maksimal {limit} bita)"
JSON_TOO_DEEP = "JSON terlalu dalam: maksimal {depth} tingkat bertingkat"


def too_large_body(limit: int) -> dict[str, Any]:
    return {"detail": BODY_TOO_LARGE.format(limit=limit)}


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
