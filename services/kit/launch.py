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
                await answer(
                    send, 503, starting_body({"mongodb": "pending", "kafka": "pending"}), retry_after=True
                )

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
