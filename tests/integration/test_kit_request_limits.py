"""The kit's request limits, through a service built by `create_app`: a body over its path's
limit is refused with a 413 in Bahasa Indonesia while it is still arriving, and JSON nested too
deep with a 422 before anything parses it (it used to end in a RecursionError and a 500)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request

from services.kit.app import create_app
from services.kit.requestlimits import JsonDepth, JsonTooDeep
from services.kit.runtime import build_runtime
from services.kit.settings import ServiceSettings
from services.registry.main import build_app as build_registry
from services.registry.settings import RegistrySettings
from tests.conftest import running_app

DEFAULT_LIMIT = 4096
UPLOAD_LIMIT = 64 * 1024
JSON = {"Content-Type": "application/json"}


class Sent:
    """A chunked body that counts what the client really sent."""

    def __init__(self, total: int, chunk: bytes) -> None:
        self.total = total
        self.chunk = chunk
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += len(self.chunk)
            yield self.chunk


def service(settings_kwargs: dict[str, Any], reached: list[str]) -> Any:
    settings = ServiceSettings(
        service_name="kit-limits", http_max_body_bytes=DEFAULT_LIMIT, **settings_kwargs
    )
    router = APIRouter(prefix="/v1")

    @router.post("/notes")
    async def note(body: dict[str, Any]) -> dict[str, int]:
        reached.append("notes")
        return {"keys": len(body)}

    @router.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        # Reads its JSON itself, as some services' endpoints do (json.loads recursed here).
        value = json.loads(await request.body())
        reached.append("raw")
        return {"keys": len(value)}

    @router.post("/uploads")
    async def upload(request: Request) -> dict[str, int]:
        reached.append("uploads")
        return {"bytes": len(await request.body())}

    return create_app(
        build_runtime(settings),
        "kit limits",
        [router],
        publishes=[],
        body_limits={"/v1/uploads": UPLOAD_LIMIT},
    )


async def test_a_body_over_the_limit_is_refused_while_it_arrives(settings_kwargs: dict[str, Any]) -> None:
    reached: list[str] = []
    async with running_app(service(settings_kwargs, reached)) as client:
        # Announced: refused before a byte is read, and before the endpoint runs.
        announced = await client.post("/v1/notes", content=b"{" + b" " * DEFAULT_LIMIT + b"}", headers=JSON)
        assert announced.status_code == 413
        assert announced.json() == {"detail": f"isi permintaan terlalu besar (maksimal {DEFAULT_LIMIT} bita)"}
        assert reached == []

        # Streamed without a length: refused once the limit is passed, the rest never sent.
        streamed = Sent(10 * 1024 * 1024, b" " * 1024)
        answer = await client.post("/v1/uploads", content=streamed, headers={"Content-Type": "text/csv"})
        assert "content-length" not in answer.request.headers
        assert answer.status_code == 413, answer.text
        assert answer.json()["detail"] == f"isi permintaan terlalu besar (maksimal {UPLOAD_LIMIT} bita)"
        assert streamed.sent <= UPLOAD_LIMIT + 2 * 1024, streamed.sent

        # The prefix has its own, larger limit; other paths keep the default.
        allowed = await client.post("/v1/uploads", content=b"x" * (UPLOAD_LIMIT - 1))
        assert allowed.status_code == 200 and allowed.json() == {"bytes": UPLOAD_LIMIT - 1}
        chunked_small = await client.post("/v1/notes", content=Sent(2048, b" " * 1024), headers=JSON)
        assert chunked_small.status_code == 422  # only spaces: not JSON, but not too large
        assert (await client.post("/v1/notes", json={"a": 1})).json() == {"keys": 1}


async def test_json_nested_too_deep_is_refused_before_it_is_parsed(settings_kwargs: dict[str, Any]) -> None:
    reached: list[str] = []
    depth = ServiceSettings().http_max_json_depth
    async with running_app(service(settings_kwargs, reached)) as client:
        for path in ("/v1/notes", "/v1/raw"):
            deep = await client.post(path, content=b'{"a":' + b"[" * 2000 + b"]" * 2000 + b"}", headers=JSON)
            assert deep.status_code == 422, deep.text
            assert deep.json() == {
                "detail": "data tidak valid",
                "errors": [
                    {"field": None, "message": f"JSON terlalu dalam: maksimal {depth} tingkat bertingkat"}
                ],
            }
        assert reached == []
        # At the limit, brackets inside strings and escaped quotes are not nesting.
        fine = {"a": json.loads("[" * (depth - 1) + "]" * (depth - 1)), "b": '[[[[[[\\"{{{{{{' * 100}
        answer = await client.post("/v1/notes", content=json.dumps(fine).encode(), headers=JSON)
        assert answer.status_code == 200, answer.text


def test_the_depth_counter_reads_across_chunks() -> None:
    text = json.dumps({"s": 'x\\"[[[[' * 20, "t": [[["ok"]]]}).encode()
    for size in (1, 2, 3, 7):
        counter = JsonDepth(4)
        for start in range(0, len(text), size):
            counter.feed(text[start : start + size])
        assert counter.depth == 0 and not counter.in_string
    too_deep = JsonDepth(4)
    try:
        for byte in b'{"a":[[[[':
            too_deep.feed(bytes([byte]))
    except JsonTooDeep as refused:
        assert refused.status_code == 422
    else:
        raise AssertionError("not refused")


async def test_deep_json_to_the_registry_is_a_422_not_a_server_error(
    settings_kwargs: dict[str, Any], mint: Callable[..., str]
) -> None:
    """The case the review found: `POST /v1/employees` with deeply nested JSON ended in a 500."""
    registry = build_registry(RegistrySettings(**settings_kwargs))
    async with running_app(registry) as client:
        deep = b'{"nip":' + b"[" * 50_000 + b"]" * 50_000 + b"}"
        answer = await client.post(
            "/v1/employees", content=deep, headers={**JSON, "Authorization": f"Bearer {mint('bkpsdm')}"}
        )
    assert answer.status_code == 422, answer.text[:300]
    assert "JSON terlalu dalam" in answer.json()["errors"][0]["message"]
