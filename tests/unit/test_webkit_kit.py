"""The web kit without engines: a bare FastAPI app with the kit installed, driven through httpx.
Session signing, expiry and tampering; the open-redirect guard; the error pages; CSRF."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from pydantic import SecretStr
from starlette.datastructures import FormData

from contracts.roles import Role
from services.kit.devkeys import KeyNotConfigured
from services.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.kit.identity import Principal
from services.kit.settings import ServiceSettings
from services.webkit import (
    Pages,
    PagesDep,
    checked_form,
    optional_page_principal,
    page_principal,
    page_router,
)
from services.webkit.guard import safe_next
from services.webkit.session import SESSION_COOKIE, SIGNED_IN, session_cookie, sign_in, signed_in_principal
from services.webkit.signin import OidcNotConfigured
from services.webkit.wiring import install_pages

ROOT = Path(__file__).resolve().parents[2]
KEY = "kunci-uji-" + "x" * 32
BASE = "http://signing.test"


def kit_settings(**overrides: object) -> ServiceSettings:
    values: dict[str, object] = {
        "dev_mode": True,
        "service_name": "signing",
        "web_session_key": SecretStr(KEY),
        "web_registry_url": "http://127.0.0.1:8001",
        "web_signing_url": BASE,
        "web_session_key_file": Path("/nonexistent/web-session.key"),
        **overrides,
    }
    return ServiceSettings(**values)  # type: ignore[arg-type]


def make_app(tmp_path: Path, settings: ServiceSettings | None = None) -> FastAPI:
    """A service with one template and page routes that raise each kit error."""
    settings = settings or kit_settings()
    (tmp_path / "halo.html").write_text(
        '{% extends "webkit/base.html" %}{% import "webkit/forms.html" as forms with context %}'
        "{% block content %}<p>Halo {{ principal.role.value if principal else 'tamu' }}</p>"
        '<form method="post" action="/kirim">{{ forms.csrf() }}'
        "{{ forms.field('nama', 'Nama', errors=field_errors, required=True) }}</form>{% endblock %}"
    )
    router = page_router()

    @router.get("/halo")
    async def hello(
        request: Request,
        pages: PagesDep,
        principal: Annotated[Principal | None, Depends(optional_page_principal())],
    ) -> Response:
        return pages.render(request, "halo.html")

    @router.get("/khusus")
    async def bkpsdm_only(
        request: Request,
        pages: PagesDep,
        principal: Annotated[Principal, Depends(page_principal(Role.BKPSDM))],
    ) -> Response:
        return pages.render(request, "halo.html")

    @router.post("/kirim")
    async def submit(
        request: Request, pages: PagesDep, form: Annotated[FormData, Depends(checked_form)]
    ) -> Response:
        if not form.get("nama"):
            return pages.render_invalid(
                request, "halo.html", {}, InvalidInput.one("nama", "nama wajib diisi")
            )
        return pages.redirect("/halo")

    @router.post("/masuk-uji")
    async def test_sign_in(request: Request, pages: PagesDep) -> Response:
        sign_in(request, {"sub": "u1", "role": "bkpsdm", "reach": "platform", "name": "Bu Uji"})
        return pages.redirect("/halo")

    @router.post("/masuk-pegawai")
    async def employee_sign_in(request: Request, pages: PagesDep) -> Response:
        sign_in(request, {"sub": "e1", "role": "employee", "employee_id": "199001012020011001"})
        return pages.redirect("/halo")

    @router.get("/gagal/{what}")
    async def failing(what: str) -> Response:
        errors: dict[str, Exception] = {
            "tidak-ada": NotFound("kampanye K-1"),
            "dilarang": Forbidden("unit 32.01 di luar wewenang Anda"),
            "bentrok": Conflict("kasus sudah ditutup", allowed=["buka kembali"]),
            "isian": InvalidInput.one("alasan", "alasan wajib diisi"),
            "rusak": RuntimeError("rahasia-jejak-tumpukan"),
        }
        raise errors[what]

    api = APIRouter()

    @api.get("/v1/gagal")
    async def api_failing() -> Response:
        raise NotFound("x")

    app = FastAPI()
    app.include_router(api)

    @app.exception_handler(NotFound)
    async def json_not_found(request: Request, exc: NotFound) -> Response:
        return Response('{"detail": "json"}', status_code=404, media_type="application/json")

    install_pages(app, settings, [router], Pages(settings, [tmp_path]))
    return app


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http


def csrf_of(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


async def test_a_page_renders_in_the_base_layout_with_the_kit_assets(client: httpx.AsyncClient) -> None:
    answer = await client.get("/halo")
    assert answer.status_code == 200
    assert '<html lang="id">' in answer.text
    assert "/static/webkit/netral.css" in answer.text and "/static/webkit/htmx.min.js" in answer.text
    assert "Halo tamu" in answer.text
    assert answer.headers["cache-control"] == "no-store"
    token = csrf_of(answer.text)
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in answer.text
    for asset in ("netral.css", "htmx.min.js", "htmx-ext-sse.js"):
        assert (await client.get(f"/static/webkit/{asset}")).status_code == 200


async def test_signing_in_sets_a_signed_httponly_samesite_cookie(client: httpx.AsyncClient) -> None:
    answer = await client.post("/masuk-uji")
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # DEV_MODE: plain http on 127.0.0.1
    assert "Halo bkpsdm" in (await client.get("/halo")).text


async def test_outside_dev_mode_the_cookie_is_secure(tmp_path: Path) -> None:
    settings = kit_settings(dev_mode=False, oidc_issuer="https://idp.test", oidc_client_id="netral")
    transport = httpx.ASGITransport(app=make_app(tmp_path, settings))
    async with httpx.AsyncClient(transport=transport, base_url="https://signing.test") as http:
        answer = await http.post("/masuk-uji")
    assert "secure" in answer.headers["set-cookie"].lower()


async def test_a_tampered_session_cookie_signs_nobody_in(client: httpx.AsyncClient) -> None:
    await client.post("/masuk-uji")
    value = client.cookies[SESSION_COOKIE]
    payload, _, signature = value.partition(".")
    client.cookies.clear()
    # Another payload under the same signature, and a cookie signed with another key.
    client.cookies.set(SESSION_COOKIE, f"{payload[:-2]}AA.{signature}", domain="signing.test")
    assert "Halo tamu" in (await client.get("/halo")).text
    assert (await client.get("/khusus")).status_code == 303


async def test_a_session_signed_with_another_key_is_ignored(tmp_path: Path) -> None:
    other = make_app(tmp_path, kit_settings(web_session_key=SecretStr("kunci-lain-" + "y" * 32)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url=BASE) as foreign:
        await foreign.post("/masuk-uji")
        stolen = foreign.cookies[SESSION_COOKIE]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=make_app(tmp_path)), base_url=BASE
    ) as http:
        http.cookies.set(SESSION_COOKIE, stolen, domain="signing.test")
        assert "Halo tamu" in (await http.get("/halo")).text


async def test_a_session_cookie_made_for_a_test_signs_in_like_the_sign_in_page(
    client: httpx.AsyncClient,
) -> None:
    name, value = session_cookie(kit_settings(), {"sub": "b", "role": "bkpsdm", "org_unit": "32.01"})
    client.cookies.set(name, value, domain="signing.test")
    assert (await client.get("/khusus")).status_code == 200


def test_a_sign_in_expires_after_the_max_age_from_when_it_was_made() -> None:
    request = Request({"type": "http", "session": {}})
    sign_in(request, {"sub": "u1", "role": "bkpsdm", "reach": "platform"})
    made = request.session[SIGNED_IN]["at"]
    assert signed_in_principal(request, 3600, now=made + 3599) == Principal("u1", Role.BKPSDM, None, None)
    assert signed_in_principal(request, 3600, now=made + 3601) is None
    assert SIGNED_IN not in request.session  # forgotten, not only refused


def test_sign_in_checks_the_claims_like_a_token() -> None:
    request = Request({"type": "http", "session": {"csrf": "lama"}})
    with pytest.raises(Exception, match="org_unit"):
        sign_in(request, {"sub": "a", "role": "opd_admin"})
    with pytest.raises(Exception, match="reach"):
        sign_in(request, {"sub": "a", "role": "bkn"})
    principal = sign_in(request, {"sub": "a", "role": "opd_admin", "org_unit": "32.01.001", "x": "y"})
    assert principal.org_unit == "32.01.001"
    assert set(request.session) == {SIGNED_IN}  # the session before it is gone (no fixation)
    assert "x" not in request.session[SIGNED_IN]


async def test_a_page_that_needs_a_sign_in_redirects_to_it_and_comes_back(client: httpx.AsyncClient) -> None:
    answer = await client.get("/khusus?unit=32.01")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/masuk?lanjut=/khusus%3Funit%3D32.01"
    htmx = await client.get("/khusus", headers={"HX-Request": "true"})
    assert htmx.headers["hx-redirect"] == "/masuk?lanjut=/khusus"


async def test_another_role_gets_the_403_page(client: httpx.AsyncClient) -> None:
    await client.post("/masuk-pegawai")
    answer = await client.get("/khusus")
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "Anda tidak berhak membuka halaman ini" in answer.text
    assert "Halaman ini untuk peran bkpsdm. Anda masuk sebagai employee." in answer.text
    assert 'action="/keluar"' in answer.text


@pytest.mark.parametrize(
    ("what", "status", "says"),
    [
        ("tidak-ada", 404, "Yang Anda cari tidak ada: kampanye K-1."),
        ("dilarang", 403, "unit 32.01 di luar wewenang Anda"),
        ("bentrok", 409, "Yang masih dapat dilakukan sekarang: buka kembali."),
        ("isian", 422, "alasan wajib diisi"),
        ("rusak", 500, "Ini bukan kesalahan Anda."),
    ],
)
async def test_errors_on_page_routes_are_pages_in_bahasa_indonesia(
    client: httpx.AsyncClient, what: str, status: int, says: str
) -> None:
    answer = await client.get(f"/gagal/{what}")
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert says in answer.text
    assert "rahasia-jejak-tumpukan" not in answer.text and "Traceback" not in answer.text
    from_htmx = await client.get(f"/gagal/{what}", headers={"HX-Request": "true"})
    assert from_htmx.status_code == status and from_htmx.headers["hx-retarget"] == "body"


async def test_json_routes_keep_their_json_errors(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/gagal")
    assert answer.status_code == 404 and answer.json() == {"detail": "json"}


async def test_a_form_without_or_with_a_wrong_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    token = csrf_of((await client.get("/halo")).text)
    for form in ({"nama": "Ani"}, {"nama": "Ani", "csrf_token": "palsu"}, {"nama": "Ani", "csrf_token": ""}):
        answer = await client.post("/kirim", data=form)
        assert answer.status_code == 403
        assert "Formulir kedaluwarsa" in answer.text and "Muat ulang halaman" in answer.text
    accepted = await client.post("/kirim", data={"nama": "Ani", "csrf_token": token})
    assert accepted.status_code == 303 and accepted.headers["location"] == "/halo"
    # htmx sends it in a header instead; a multipart form is checked the same way.
    by_header = await client.post("/kirim", data={"nama": "Ani"}, headers={"X-CSRF-Token": token})
    assert by_header.status_code == 303
    multipart = await client.post(
        "/kirim", data={"nama": "Ani", "csrf_token": token}, files={"bukti": ("a.txt", b"isi")}
    )
    assert multipart.status_code == 303


async def test_a_csrf_token_of_another_session_is_refused(tmp_path: Path, client: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=make_app(tmp_path)), base_url=BASE
    ) as other:
        foreign_token = csrf_of((await other.get("/halo")).text)
    await client.get("/halo")
    assert (await client.post("/kirim", data={"nama": "A", "csrf_token": foreign_token})).status_code == 403


async def test_a_form_page_renders_again_with_its_field_errors(client: httpx.AsyncClient) -> None:
    token = csrf_of((await client.get("/halo")).text)
    answer = await client.post("/kirim", data={"nama": "", "csrf_token": token})
    assert answer.status_code == 422
    assert 'id="isian-nama-salah">nama wajib diisi' in answer.text
    assert 'aria-invalid="true"' in answer.text


async def test_sign_in_elsewhere_than_the_registry_goes_to_the_registrys_page(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/masuk?lanjut=/kemajuan")
    assert answer.status_code == 303
    assert answer.headers["location"] == ("http://127.0.0.1:8001/masuk?lanjut=http://signing.test/kemajuan")


async def test_sign_out_clears_the_session(client: httpx.AsyncClient) -> None:
    await client.post("/masuk-uji")
    confirm = await client.get("/keluar")  # a GET only asks: a link from anywhere signs nobody out
    assert "Keluar dari Netralitas ASN?" in confirm.text
    assert "Halo bkpsdm" in (await client.get("/halo")).text
    token = csrf_of(confirm.text)
    answer = await client.post("/keluar", data={"csrf_token": token})
    assert answer.status_code == 303
    assert "Halo tamu" in (await client.get("/halo")).text
    assert "Anda sudah keluar" in (await client.get("/keluar")).text


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/kemajuan?unit=32", "/kemajuan?unit=32"),
        ("http://127.0.0.1:8002/tanda-tangan", "http://127.0.0.1:8002/tanda-tangan"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("http://127.0.0.1:8002@evil.example/", "/"),
        ("http://127.0.0.1:8009/", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        (None, "/"),
        ("/a\r\nSet-Cookie: x", "/"),
    ],
)
def test_only_local_paths_and_the_platforms_own_pages_are_followed(target: str | None, expected: str) -> None:
    bases = ["http://127.0.0.1:8001", "http://127.0.0.1:8002"]
    assert safe_next(target, bases) == expected


def test_outside_dev_mode_pages_refuse_to_start_without_the_session_key_or_the_issuer(tmp_path: Path) -> None:
    with pytest.raises(KeyNotConfigured, match="WEB_SESSION_KEY"):
        make_app(tmp_path, kit_settings(dev_mode=False, web_session_key=None))
    with pytest.raises(OidcNotConfigured, match="OIDC_ISSUER"):
        make_app(tmp_path, kit_settings(dev_mode=False))
    assert not (tmp_path / "web-session.key").exists()


def test_the_vendored_files_match_their_recorded_checksums() -> None:
    table = (ROOT / "services/webkit/static/VENDORED.md").read_text()
    rows = [line.split("|") for line in table.splitlines() if line.startswith("| ") and "`" in line]
    checked = 0
    for row in rows:
        path = row[4].strip().split("`")[1]
        digest = row[6].strip().strip("`")
        assert hashlib.sha256((ROOT / path).read_bytes()).hexdigest() == digest, path
        checked += 1
    assert checked == 3


def test_the_stylesheet_stays_small() -> None:
    assert (ROOT / "services/webkit/static/netral.css").stat().st_size < 10_000


async def test_every_page_forbids_inline_code_other_sites_scripts_and_framing(
    client: httpx.AsyncClient,
) -> None:
    answers = [
        await client.get("/halo"),
        await client.get("/gagal/tidak-ada"),  # an error page
    ]
    assert [answer.status_code for answer in answers] == [200, 404]
    for answer in answers:
        policy = dict(
            part.strip().split(" ", 1) for part in answer.headers["content-security-policy"].split(";")
        )
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
        # The DEV-ONLY sign-in form sends people back to another service's page.
        form_action = policy["form-action"].split()
        assert form_action[0] == "'self'" and {"http://127.0.0.1:8001", BASE} <= set(form_action)
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "same-origin"


def test_no_template_holds_inline_script_or_style() -> None:
    """The CSP would block them: a browser would show the page unstyled, or without its script."""
    templates = sorted((ROOT / "services").glob("*/templates/**/*.html"))
    assert len(templates) > 20
    for template in templates:
        text = template.read_text(encoding="utf-8")
        assert "<style" not in text and " style=" not in text, template
        assert " on" + "click=" not in text and "hx-on" not in text, template
        for tag in text.split("<script")[1:]:
            assert tag.split(">", 1)[0].strip().startswith("src="), template
