"""Which requests are a person's browser (they get an error page in Bahasa Indonesia) and which
are a program's (they keep the JSON answers), and the 503 of a service still starting."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.kit.launch import DeferredApp, Message, Scope, plain_page, prefers_html, wants_page
from services.kit.requestlimits import readable_size

CHROME = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (CHROME, True),
        ("text/html", True),
        ("application/xhtml+xml;q=0.9, */*;q=0.1", True),
        ("*/*", False),
        ("", False),
        ("application/json", False),
        ("application/json, text/html;q=0.5", False),
        ("text/html, application/json", False),  # a tie: a program that takes both gets JSON
        ("text/html;q=0", False),
        ("text/html;q=abc", True),
    ],
)
def test_a_browser_is_told_by_its_accept_header(accept: str, expected: bool) -> None:
    assert prefers_html(accept) is expected


def scope(path: str, accept: str | None = CHROME, method: str = "GET") -> Scope:
    headers = [] if accept is None else [(b"accept", accept.encode())]
    return {"type": "http", "method": method, "path": path, "headers": headers}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/lapor", True),
        ("/halaman-tidak-ada", True),
        ("/", True),
        ("/v1/reports", False),
        ("/v1", False),
        ("/healthz", False),
        ("/readyz", False),
        ("/metrics", False),
        ("/docs", False),
        ("/openapi.json", False),
        ("/asyncapi.json", False),
    ],
)
def test_api_paths_keep_json_even_for_a_browser(path: str, expected: bool) -> None:
    assert wants_page(scope(path)) is expected
    assert wants_page(scope(path, accept=None)) is False
    assert wants_page(scope(path, accept="*/*")) is False


def test_sizes_are_said_as_people_read_them() -> None:
    assert readable_size(50 * 2**20) == "50 MB"
    assert readable_size(64 * 1024) == "64 KB"
    assert readable_size(1536 * 1024) == "1,5 MB"
    assert readable_size(900) == "900 bita"


def test_the_plain_page_escapes_what_it_shows() -> None:
    page = plain_page("<b>judul</b>", "pesan & isi", "saran", 404, home="/awal?a=1&b=2")
    assert "<b>judul</b>" not in page and "&lt;b&gt;judul&lt;/b&gt;" in page
    assert "pesan &amp; isi" in page and 'href="/awal?a=1&amp;b=2"' in page
    assert 'lang="id"' in page and "Kode status: 404" in page and "<script" not in page


async def call(app: DeferredApp, request_scope: Scope) -> tuple[int, dict[str, str], bytes]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(request_scope, receive, send)
    headers = {name.decode(): value.decode() for name, value in sent[0]["headers"]}
    return int(sent[0]["status"]), headers, b"".join(message.get("body", b"") for message in sent[1:])


async def test_a_starting_service_tells_a_browser_with_a_page_and_a_program_with_json() -> None:
    starting = DeferredApp("services.registry.main:build_app")  # never loaded: no lifespan runs

    status, headers, body = await call(starting, scope("/lapor"))
    assert status == 503 and headers["retry-after"] == "1"
    assert headers["content-type"].startswith("text/html")
    page = body.decode()
    assert "Layanan sedang dinyalakan, coba lagi sebentar lagi." in page
    assert 'http-equiv="refresh"' in page  # a GET reloads itself
    assert int(headers["content-length"]) == len(body)

    _, _, posted = await call(starting, scope("/lapor", method="POST"))
    assert b'http-equiv="refresh"' not in posted  # a form is not re-sent behind the person's back

    for program in (scope("/lapor", accept="*/*"), scope("/v1/reports"), scope("/readyz")):
        status, headers, body = await call(starting, program)
        assert status == 503 and headers["retry-after"] == "1"
        assert headers["content-type"] == "application/json"
        answer: dict[str, Any] = json.loads(body)
        assert answer["ready"] is False and answer["mongodb"] == "pending"

    status, headers, body = await call(starting, scope("/healthz"))
    assert status == 200 and json.loads(body) == {"status": "ok"}
