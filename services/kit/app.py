"""Assembly of one service process: FastAPI for HTTP and a FastStream Kafka broker for events,
sharing one lifespan, one MongoDB client, one outbox relay and one metrics registry.

FastStream's own `faststream.kafka.fastapi.KafkaRouter` is deprecated in 0.7 (moved out of
the package), so the broker is started and stopped by the FastAPI lifespan instead: behind
it, in a supervised task (`start_behind`), so that HTTP answers before any engine does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_fastapi_instrumentator import Instrumentator
from prometheus_fastapi_instrumentator import metrics as http_metrics
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY

from contracts.envelope import EventData
from contracts.topics import CATALOG
from services.kit.accesslog import AccessLog
from services.kit.auth import TokenVerifier
from services.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.kit.launch import wants_page
from services.kit.logs import configure_logging
from services.kit.mongo import ping
from services.kit.openapi import document_error_answers
from services.kit.outbox import OutboxRelay
from services.kit.requestlimits import (
    JsonTooDeep,
    RequestLimits,
    browser_error,
    too_large_body,
    too_large_page,
)
from services.kit.runtime import Runtime, ensure_topics
from services.kit.startup import OK, OPEN_PATHS, Readiness, StartingGate, run_step
from services.kit.validation import field_errors
from services.webkit.pages import Pages
from services.webkit.signin import DevDirectory
from services.webkit.wiring import install_pages

log = logging.getLogger(__name__)
T = TypeVar("T")

SHUTDOWN_SECONDS = 10.0
HTTP_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


async def start_behind(
    runtime: Runtime, readiness: Readiness, relay: OutboxRelay, tasks: list[asyncio.Task[None]]
) -> None:
    """Start everything that needs an engine, each step retried until it succeeds. Background
    tasks are appended to `tasks` as they start, so that shutdown stops exactly those."""
    settings = runtime.settings

    async def prepare_storage() -> None:
        await ping(runtime.database)
        await runtime.outbox.ensure_indexes()
        await runtime.consumers.ensure_indexes()
        for hook in runtime.startup_hooks:
            await hook()

    await run_step(readiness, "mongodb", "connecting, creating indexes", prepare_storage)
    readiness.done("mongodb")
    readiness.storage_ready.set()
    # These need only MongoDB: with Kafka down, writes still land in the outbox.
    tasks += [asyncio.create_task(task(), name=task.__qualname__) for task in runtime.background_tasks]

    topics = [settings.topic(name) for name in runtime.topics] + runtime.consumers.dead_letter_topics
    if settings.kafka_create_topics:  # locally: every topic, so that no service waits for another
        topics = [settings.topic(topic.name) for topic in CATALOG] + topics
    await run_step(readiness, "kafka", "creating topics", lambda: ensure_topics(settings, topics))
    await run_step(readiness, "kafka", "connecting the outbox relay", relay.start)
    tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))

    async def start_broker() -> None:
        try:
            await runtime.broker.start()
        except Exception:
            # Never left half-started: the next attempt begins from a stopped broker.
            with contextlib.suppress(Exception):
                await runtime.broker.stop()
            raise

    joining = "joining consumer group" if runtime.consumers.has_subscriber else "connecting"
    await run_step(readiness, "kafka", joining, start_broker)
    readiness.done("kafka")
    readiness.started.set()
    log.info(
        "service ready",
        extra={"instance": runtime.instance_id, "port": settings.http_port, "seconds": readiness.took},
    )


def _log_crash(task: asyncio.Task[None]) -> None:
    """Every step retries engine failures; what ends the start otherwise is a bug: say so."""
    if not task.cancelled() and task.exception() is not None:
        log.error("startup stopped: the service will not become ready", exc_info=task.exception())


def create_app(
    runtime: Runtime,
    title: str,
    routers: Sequence[APIRouter],
    publishes: Sequence[type[EventData]],
    body_limits: Mapping[str, int] | None = None,
    notices: Callable[[], Mapping[str, Any]] | None = None,
    page_routers: Sequence[APIRouter] | None = None,
    page_templates: Path | Sequence[Path] | None = None,
    pages: Pages | None = None,
    sign_in_directory: DevDirectory | None = None,
) -> FastAPI:
    """`body_limits`: the largest request body, in bytes, per path prefix (the longest prefix
    wins; `{"/v1/imports": 200 * 2**20}`); every other path has `settings.http_max_body_bytes`.
    Enforced while the body is read, before FastAPI parses it (kit.requestlimits).

    `notices`: what an operator should know about the service that does not make it unready
    (a holiday list that is only an estimate); called on every `/readyz`, shown under "notices".

    Pages (services.webkit): `page_routers` (from `webkit.page_router()`) and the service's
    `page_templates` folder(s), or a ready `pages`; with any of them the app also gets the
    session, `/static/webkit/`, `/masuk` and `/keluar`. `sign_in_directory`: who the DEV-ONLY
    sign-in page lists (the registry only). A service without pages passes none of these."""
    settings = runtime.settings
    # Built first: a service without its issuer must exit at start, not at its first request.
    token_verifier = TokenVerifier(settings)
    for model in publishes:
        # Documentation only: the relay publishes; these make the AsyncAPI document complete.
        runtime.broker.publisher(settings.topic(model.topic), title=f"{model.event_type}", schema=model)
    runtime.topics = sorted({model.topic for model in publishes} | set(runtime.consumers.topics))

    readiness = Readiness()
    relay = OutboxRelay(runtime.outbox, settings, runtime.leases, runtime.metrics)
    runtime.consumers.attach()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level)
        tasks: list[asyncio.Task[None]] = []
        # Nothing here waits on an engine: uvicorn binds as soon as this yields.
        starting = asyncio.create_task(start_behind(runtime, readiness, relay, tasks), name="startup")
        starting.add_done_callback(_log_crash)
        try:
            yield
        finally:
            starting.cancel()
            for task in tasks:
                task.cancel()
            _, stuck = await asyncio.wait([starting, *tasks], timeout=SHUTDOWN_SECONDS)
            if stuck:
                log.error("tasks did not stop", extra={"tasks": [task.get_name() for task in stuck]})
            # Shutdown must not hang: a replica that cannot stop blocks a rollout.
            for step in (relay.stop(), runtime.broker.stop(), runtime.client.close()):
                try:
                    await asyncio.wait_for(step, SHUTDOWN_SECONDS)
                except Exception:  # logged; the next step still runs
                    log.exception("shutdown step failed")

    app = FastAPI(title=title, lifespan=lifespan)
    # The OpenAPI document: every error answer as sent, with the statuses from around the routes.
    document_error_answers(app)
    app.state.runtime = runtime
    app.state.readiness = readiness
    installed_pages: list[APIRouter] = []
    with_pages = page_routers is not None or page_templates is not None or pages is not None
    if with_pages or sign_in_directory is not None:
        if pages is None:
            folders = [page_templates] if isinstance(page_templates, Path) else list(page_templates or [])
            pages = Pages(settings, template_dirs=folders)
        installed_pages = install_pages(
            app, settings, page_routers or [], pages, sign_in_directory, include_routers=False
        )
    app.add_middleware(StartingGate, readiness=readiness)
    app.add_middleware(
        RequestLimits,
        default_limit=settings.http_max_body_bytes,
        limits=dict(body_limits or {}),
        max_json_depth=settings.http_max_json_depth,
    )
    if settings.http_access_log:
        app.add_middleware(AccessLog)  # added last: outermost, it sees every answer
    # Request counts and latency by route template (never the raw path: it can hold a
    # tracking or receipt code), into the service's own registry.
    # Two metrics only: the library's default set (sizes, a second histogram) cost signing about
    # a sixth of its throughput in the benchmark. Buckets include the 250 ms signing goal.
    instrumentator = Instrumentator(registry=runtime.metrics_registry, excluded_handlers=list(OPEN_PATHS))
    instrumentator.add(
        http_metrics.requests(registry=runtime.metrics_registry),
        http_metrics.latency(
            buckets=HTTP_LATENCY_BUCKETS, should_include_status=False, registry=runtime.metrics_registry
        ),
    ).instrument(app)
    app.state.token_verifier = token_verifier

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """The kit's limits in Bahasa Indonesia; every other HTTPException as FastAPI answers it."""
        if isinstance(exc, JsonTooDeep):
            return JSONResponse(status_code=422, content=exc.body())
        if exc.status_code == 413:
            limit = int(request.scope.get(MAX_BODY_SIZE_SCOPE_KEY, settings.http_max_body_bytes))
            if wants_page(request.scope):  # a form's upload, streamed past the limit
                return too_large_page(request.scope, limit)
            return JSONResponse(status_code=413, content=too_large_body(limit))
        if exc.status_code == 404 and wants_page(request.scope):
            # A path no route has: a person followed an old link or mistyped the address.
            return browser_error(
                request.scope,
                404,
                "Halaman tidak ditemukan",
                "Halaman tidak ditemukan: alamat ini tidak ada atau sudah dipindahkan.",
                "Periksa lagi alamatnya, atau mulai lagi dari halaman awal.",
            )
        return await http_exception_handler(request, exc)

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError) -> JSONResponse:
        """Behind the JSON depth limit: a structure nested past Python's stack, however it came."""
        return JSONResponse(status_code=422, content=JsonTooDeep(settings.http_max_json_depth).body())

    @app.exception_handler(RequestValidationError)
    async def readable_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={"detail": "data tidak valid", "errors": field_errors(exc.errors())},
        )

    # The rules' and use cases' errors, answered once here instead of in every endpoint.
    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse(status_code=403, content={"detail": exc.message})

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> JSONResponse:
        content: dict[str, Any] = {"detail": exc.message}
        if exc.allowed is not None:
            content["allowed_actions"] = exc.allowed
        return JSONResponse(status_code=409, content=content)

    @app.exception_handler(InvalidInput)
    async def invalid_input(request: Request, exc: InvalidInput) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": "data tidak valid", "errors": exc.errors})

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        """503 with what is still pending until the start is complete, then live checks."""
        checks = dict(readiness.states)
        if checks["mongodb"] == OK:
            try:
                await asyncio.wait_for(ping(runtime.database), 2)
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                checks["mongodb"] = f"error: {type(exc).__name__}"
        if checks["kafka"] == OK and not await runtime.broker.ping(timeout=2):
            checks["kafka"] = "error: no answer"
        ready = readiness.started.is_set() and all(value == OK for value in checks.values())
        content: dict[str, Any] = {"ready": ready, **checks}
        if notices is not None:
            try:
                content["notices"] = dict(notices())
            except Exception as exc:  # logged, and a notice never decides readiness
                log.exception("readiness notices failed")
                content["notices"] = {"error": type(exc).__name__}
        return JSONResponse(status_code=200 if ready else 503, content=content)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(runtime.metrics_registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi() -> Any:
        spec = AsyncAPI(runtime.broker, title=title, version="1.0.0")
        return spec.to_specification().to_jsonable()

    for router in [*routers, *installed_pages]:
        app.include_router(router)
    return app
