"""Errors no page route takes, met from a browser: a body over the limit and a path that does
not exist answer with a page in Bahasa Indonesia; API clients keep exactly the JSON answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request

from services.kit.app import create_app
from services.kit.runtime import build_runtime
from services.kit.settings import ServiceSettings
from services.registry.main import build_app as build_registry
from services.registry.settings import RegistrySettings
from tests.conftest import running_app

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
IMPORT_LIMIT = 64 * 1024
DEFAULT_LIMIT = 4096


class Streamed:
    """A chunked body without a Content-Length: refused as it streams, by the app's handler."""

    def __init__(self, total: int) -> None:
        self.total = total

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.total // 1024):
            yield b"x" * 1024


def is_page(answer: Any) -> str:
    assert answer.headers["content-type"].startswith("text/html"), answer.text
    text: str = answer.text
    assert 'lang="id"' in text and "Traceback" not in text and '"detail"' not in text
    return text


async def test_a_browser_gets_pages_for_a_body_too_large_and_an_unknown_path(
    settings_kwargs: dict[str, Any],
) -> None:
    registry = build_registry(RegistrySettings(**{**settings_kwargs, "max_import_bytes": IMPORT_LIMIT}))
    async with running_app(registry) as client:
        form = {**BROWSER, "Content-Type": "multipart/form-data; boundary=x"}
        announced = await client.post("/impor", content=b"x" * (IMPORT_LIMIT + 1), headers=form)
        assert announced.status_code == 413
        page = is_page(announced)
        assert "64 KB" in page and "Perkecil file atau kirim lebih sedikit file" in page
        assert "webkit/netral.css" in page  # the kit's own error page, in the kit's style

        missing = await client.get("/halaman-tidak-ada", headers=BROWSER)
        assert missing.status_code == 404
        page = is_page(missing)
        assert "Halaman tidak ditemukan" in page and "Ke halaman awal" in page
        assert f'href="{registry.state.pages.settings.web_links.registry}/"' in page

        # Programs keep exactly today's JSON answers.
        api_large = await client.post("/impor", content=b"x" * (IMPORT_LIMIT + 1))
        assert api_large.status_code == 413
        assert api_large.json() == {"detail": f"isi permintaan terlalu besar (maksimal {IMPORT_LIMIT} bita)"}
        api_missing = await client.get("/halaman-tidak-ada")
        assert api_missing.status_code == 404 and api_missing.json() == {"detail": "Not Found"}
        under_v1 = await client.get("/v1/tidak-ada", headers=BROWSER)
        assert under_v1.status_code == 404 and under_v1.json() == {"detail": "Not Found"}
        v1_large = await client.post(
            "/v1/imports", content=b"x" * (IMPORT_LIMIT + 1), headers={**BROWSER, "Content-Type": "text/csv"}
        )
        assert v1_large.status_code == 413 and v1_large.json()["detail"].startswith("isi permintaan")


async def test_a_service_without_pages_answers_a_browser_with_the_plain_page(
    settings_kwargs: dict[str, Any],
) -> None:
    settings = ServiceSettings(service_name="kit-plain", http_max_body_bytes=DEFAULT_LIMIT, **settings_kwargs)
    form_router = APIRouter()

    @form_router.post("/kirim")
    async def send_form(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app = create_app(build_runtime(settings), "kit plain", [form_router], publishes=[])
    async with running_app(app) as client:
        # Streamed without a length: refused while it arrives, by the app's handler.
        streamed = await client.post("/kirim", content=Streamed(4 * DEFAULT_LIMIT), headers=BROWSER)
        assert streamed.status_code == 413
        assert "Perkecil file atau kirim lebih sedikit file" in is_page(streamed)
        api_streamed = await client.post("/kirim", content=Streamed(4 * DEFAULT_LIMIT))
        assert api_streamed.json() == {
            "detail": f"isi permintaan terlalu besar (maksimal {DEFAULT_LIMIT} bita)"
        }
        large = await client.post("/kirim", content=b"x" * (DEFAULT_LIMIT + 1), headers=BROWSER)
        assert large.status_code == 413
        page = is_page(large)
        assert "4 KB" in page and "Perkecil file atau kirim lebih sedikit file" in page
        missing = await client.get("/tidak-ada", headers=BROWSER)
        assert missing.status_code == 404 and "Halaman tidak ditemukan" in is_page(missing)
        assert (await client.get("/tidak-ada")).json() == {"detail": "Not Found"}
