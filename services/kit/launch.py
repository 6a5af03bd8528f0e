"""Serving a service so that it is alive before its code has even been imported.

Importing a service (FastAPI, FastStream, PyMongo, its own modules) takes a second or more on
a small machine, and uvicorn binds its socket only after the app is imported and its lifespan
has started: until then every connection is refused, `/healthz` included. So uvicorn serves
`DeferredApp` instead, which imports nothing heavy. It answers `/healthz` at once, imports the
service in a thread, builds it, runs its lifespan (which itself returns at once, see
kit.startup) and from then on hands every request to it.

This module must stay light: only the standard library and uvicorn.
"""

from __future__ import annotations

import asyncio
import html
import importlib
import json
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FACTORY_ENV = "NETRAL_APP_FACTORY"
"""How `serve` tells each uvicorn worker process which service to load."""
STARTING = "layanan sedang dimulai; coba lagi sebentar lagi"
"""What a request that came too early is told (Bahasa: people may read it)."""
LOAD_FAILED_EXIT = 3


def starting_body(states: dict[str, str]) -> dict[str, Any]:
    return {"detail": STARTING, "ready": False, **states}


async def answer(send: Send, status: int, body: dict[str, Any], retry_after: bool = False) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if retry_after:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


# Paths only programs call: they keep their JSON answers whatever their Accept header says.
API_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/asyncapi.json"})
API_PREFIXES = ("/v1/", "/docs/")
STARTING_PAGE_HEADING = "Layanan sedang dinyalakan"
STARTING_PAGE_MESSAGE = "Layanan sedang dinyalakan, coba lagi sebentar lagi."
STARTING_PAGE_ADVICE = "Tunggu beberapa detik, lalu muat ulang halaman ini. Data Anda tidak hilang."


def _quality(media_range: str) -> tuple[str, float]:
    """`text/html;q=0.9` -> ("text/html", 0.9); a q that cannot be read counts as 1."""
    kind, *parameters = (part.strip() for part in media_range.split(";"))
    quality = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 1.0
    return kind.lower(), quality


def prefers_html(accept: str) -> bool:
    """A browser's Accept: HTML named explicitly, and ranked above JSON if JSON is named too.
    `*/*` alone (httpx, curl, most API clients) is not a browser's."""
    qualities: dict[str, float] = {}
    for media_range in accept.split(","):
        if media_range.strip():
            kind, quality = _quality(media_range)
            qualities[kind] = max(quality, qualities.get(kind, 0.0))
    html_quality = max(qualities.get("text/html", 0.0), qualities.get("application/xhtml+xml", 0.0))
    return html_quality > 0 and html_quality > qualities.get("application/json", 0.0)


def is_api_path(path: str) -> bool:
    return path in API_PATHS or path == "/v1" or path.startswith(API_PREFIXES)


def wants_page(scope: Scope) -> bool:
    """A person's browser asking for a page (not an API client): errors answer it with HTML."""
    if scope.get("type") != "http" or is_api_path(str(scope.get("path", ""))):
        return False
    accept = b", ".join(value for name, value in scope.get("headers", []) if name.lower() == b"accept")
    return prefers_html(accept.decode("latin-1"))


def plain_page(
    heading: str, message: str, advice: str, status: int, home: str = "/", refresh_seconds: int | None = None
) -> str:
    """A small, self-contained HTML error page in the web kit's look (services/webkit's
    error.html), for answers given before the app or its templates can run: standard library
    only, inline CSS, no script."""
    refresh = f'<meta http-equiv="refresh" content="{refresh_seconds}">' if refresh_seconds else ""
    return (
        '<!doctype html><html lang="id"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{refresh}<title>{html.escape(heading)}</title><style>"
        "body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;padding:1rem;color:#1a1a1a;"
        "background:#fff}main{max-width:40rem;margin:0 auto}"
        ".notice{border-left:4px solid #7a4b00;background:#fff4e0;padding:.75rem 1rem;margin:1rem 0}"
        ".button{display:inline-block;min-height:44px;line-height:44px;padding:0 1rem;border-radius:6px;"
        "background:#0b4f8a;color:#fff;text-decoration:none}.muted{color:#555}</style></head><body><main>"
        f"<h1>{html.escape(heading)}</h1>"
        f'<div class="notice" role="alert"><p>{html.escape(message)}</p></div>'
        f"<p><strong>Yang dapat Anda lakukan:</strong> {html.escape(advice)}</p>"
        f'<p><a class="button" href="{html.escape(home)}">Ke halaman awal</a></p>'
        f'<p class="muted">Kode status: {status}</p></main></body></html>'
    )


def starting_page(scope: Scope) -> str:
    # A GET reloads itself: the person just waits. A form's POST is not re-sent behind their back.
    reload = 2 if scope.get("method") in ("GET", "HEAD") else None
    return plain_page(
        STARTING_PAGE_HEADING, STARTING_PAGE_MESSAGE, STARTING_PAGE_ADVICE, 503, refresh_seconds=reload
    )


async def answer_page(send: Send, status: int, page: str, retry_after: bool = False) -> None:
    payload = page.encode()
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if retry_after:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def answer_starting(scope: Scope, send: Send, states: dict[str, str]) -> None:
    """The 503 of a service still starting: a page for a browser, the JSON states otherwise."""
    if wants_page(scope):
        await answer_page(send, 503, starting_page(scope), retry_after=True)
    else:
        await answer(send, 503, starting_body(states), retry_after=True)


def load_factory(path: str) -> Callable[[], ASGIApp]:
    """`module:function`, imported: run in a thread, so that the event loop answers meanwhile."""
    module_name, _, attribute = path.partition(":")
    factory: Callable[[], ASGIApp] = getattr(importlib.import_module(module_name), attribute)
    return factory


class Lifespan:
    """Drives an ASGI app's lifespan as a server would."""

    def __init__(self, app: ASGIApp, scope: Scope) -> None:
        self.app = app
        self.scope = scope
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _reply(self, task: asyncio.Task[None]) -> Message:
        getting = asyncio.ensure_future(self.outbox.get())
        done, _ = await asyncio.wait({getting, task}, return_when=asyncio.FIRST_COMPLETED)
        if getting in done:
            return getting.result()
        getting.cancel()
        task.result()  # raises what ended the app's lifespan
        raise RuntimeError("the app's lifespan ended without answering")

    async def startup(self) -> None:
        async def run() -> None:
            await self.app(self.scope, self.inbox.get, self.outbox.put)

        self.task = asyncio.create_task(run())
        await self.inbox.put({"type": "lifespan.startup"})
        reply = await self._reply(self.task)
        if reply["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"startup failed: {reply.get('message', reply['type'])}")

    async def shutdown(self) -> None:
        if self.task is None or self.task.done():
            return
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self._reply(self.task)
        await self.task


class DeferredApp:
    def __init__(self, factory: str) -> None:
        self.factory = factory
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
        elif self.app is not None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            if scope["path"] == "/healthz":
                await answer(send, 200, {"status": "ok"})
            else:
                await answer_starting(scope, send, {"mongodb": "pending", "kafka": "pending"})

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        loading = asyncio.create_task(self._load(scope))
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        loading.cancel()
        lifespan = await asyncio.gather(loading, return_exceptions=True)
        if isinstance(lifespan[0], Lifespan):
            await lifespan[0].shutdown()
        await send({"type": "lifespan.shutdown.complete"})

    async def _load(self, scope: Scope) -> Lifespan:
        try:
            factory = await asyncio.to_thread(load_factory, self.factory)
            app = factory()
            lifespan = Lifespan(app, scope)
            await lifespan.startup()
        except Exception:  # noqa: BLE001 - any failure here is fatal, reported below
            # A service that cannot even be built is a broken release: exit, loudly, so that
            # the orchestrator shows it instead of a process that is alive and never ready.
            traceback.print_exc()
            sys.stderr.flush()
            os._exit(LOAD_FAILED_EXIT)
        self.app = app
        return lifespan


def deferred() -> DeferredApp:
    """The uvicorn factory: in every worker process, the service named by `serve`."""
    return DeferredApp(os.environ[FACTORY_ENV])


def serve(factory: str, host: str, port: int, workers: int = 1) -> None:
    """Run a service: `factory` is the import path of its `build_app`. With several workers,
    each process is a full replica of the service."""
    os.environ[FACTORY_ENV] = factory
    uvicorn.run(
        "services.kit.launch:deferred",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_config=None,
        # Its lines hold the client's address and the raw path (a tracking code): the service
        # logs requests itself instead, without either (kit.accesslog).
        access_log=False,
        loop="uvloop",
        http="httptools",
    )
