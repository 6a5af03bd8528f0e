"""Sign-in on the registry's pages against real engines: the DEV-ONLY list of the pemda's
people, the session cookie it sets, the start page; and in production mode no DEV sign-in at
all, only a redirect to the OpenID Connect issuer."""

from __future__ import annotations

import html as html_module
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from services.registry.main import build_app
from services.registry.settings import RegistrySettings
from services.webkit.session import SESSION_COOKIE, session_cookie
from tests.conftest import running_app

STAFF_NIP = "198503152010011002"
UNITS = (
    {"code": "32", "name": "Provinsi Jawa Barat", "kind": "PROVINCE"},
    {"code": "32.01", "name": "Kabupaten Bogor", "kind": "REGENCY", "parent_code": "32"},
    {"code": "32.01.001", "name": "Dinas Pendidikan", "kind": "OPD", "parent_code": "32.01"},
)


def csrf_of(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def choice_of(html: str, label: str) -> str:
    """The `pilihan` value of the button whose text is `label` (HTML-unescaped)."""
    end = html.index(f">{label}</button>")
    start = html.rindex('value="', 0, end) + len('value="')
    return html_module.unescape(html[start : html.index('"', start)])


@pytest.fixture
async def registry(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> AsyncIterator[httpx.AsyncClient]:
    settings = RegistrySettings(**settings_kwargs)  # type: ignore[arg-type]
    async with running_app(build_app(settings)) as client:
        admin = {"Authorization": f"Bearer {mint('bkpsdm')}"}
        for unit in UNITS:
            assert (await client.post("/v1/org-units", json=unit, headers=admin)).status_code == 201
        person = {
            "nip": STAFF_NIP,
            "name": "Siti Rahmawati",
            "employment_type": "PNS",
            "position": "Guru Ahli Pertama",
            "level": "STAFF",
            "org_unit_code": "32.01.001",
        }
        assert (await client.post("/v1/employees", json=person, headers=admin)).status_code == 201
        yield client


async def test_the_dev_page_lists_the_pemdas_people_by_role(registry: httpx.AsyncClient) -> None:
    page = await registry.get("/masuk")
    assert page.status_code == 200
    assert "DEV-ONLY" in page.text
    for heading in ("Pegawai", "Staf pemda", "Staf OPD", "Seluruh platform"):
        assert f">{heading}</h2>" in page.text
    assert f"Siti Rahmawati ({STAFF_NIP})" in page.text
    assert "Admin OPD Dinas Pendidikan" in page.text and "BKPSDM Kabupaten Bogor" in page.text
    claims = json.loads(choice_of(page.text, "Admin OPD Dinas Pendidikan"))
    assert claims["role"] == "opd_admin" and claims["org_unit"] == "32.01.001"


async def test_choosing_a_person_sets_an_httponly_samesite_cookie_and_goes_on(
    registry: httpx.AsyncClient,
) -> None:
    page = await registry.get("/masuk?lanjut=/impor")
    choice = choice_of(page.text, f"Siti Rahmawati ({STAFF_NIP})")
    answer = await registry.post(
        "/masuk/dev", data={"csrf_token": csrf_of(page.text), "lanjut": "/impor", "pilihan": choice}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/impor"
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "httponly" in cookie and "samesite=lax" in cookie
    start = await registry.get("/")
    assert "Masuk sebagai <strong>Siti Rahmawati</strong> (employee)" in start.text
    # An employee may not import employees: the import page answers with the 403 page.
    refused = await registry.get("/impor")
    assert refused.status_code == 403 and "Anda tidak berhak membuka halaman ini" in refused.text


async def test_the_dev_sign_in_refuses_an_outside_redirect_and_a_missing_token(
    registry: httpx.AsyncClient,
) -> None:
    page = await registry.get("/masuk?lanjut=https://evil.example/")
    assert 'name="lanjut" value="/"' in page.text
    choice = choice_of(page.text, "Bawaslu")
    without_token = await registry.post("/masuk/dev", data={"lanjut": "/", "pilihan": choice})
    assert without_token.status_code == 403 and "Formulir kedaluwarsa" in without_token.text
    forged = await registry.post(
        "/masuk/dev",
        data={"csrf_token": csrf_of(page.text), "lanjut": "https://evil.example/", "pilihan": choice},
    )
    assert forged.status_code == 303 and forged.headers["location"] == "/"


async def test_a_page_needing_sign_in_redirects_to_it(registry: httpx.AsyncClient) -> None:
    answer = await registry.get("/impor")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/masuk?lanjut=/impor"


async def test_the_start_page_links_to_every_page_of_every_service(registry: httpx.AsyncClient) -> None:
    page = await registry.get("/")
    assert page.status_code == 200
    for url in (
        "http://127.0.0.1:8002/tanda-tangan",
        "http://127.0.0.1:8002/verifikasi",
        "http://127.0.0.1:8002/kemajuan",
        "http://127.0.0.1:8001/impor",
        "http://127.0.0.1:8003/lapor",
        "http://127.0.0.1:8003/lacak",
        "http://127.0.0.1:8003/kasus",
        "http://127.0.0.1:8004/langganan",
        "http://127.0.0.1:8004/pengiriman",
    ):
        assert f'href="{url}"' in page.text, url
    assert 'href="/masuk"' in page.text


# ------------------------------------------------------------ production mode


@pytest.fixture
def issuer() -> Iterator[str]:
    """A local OpenID Connect issuer: only its discovery document, which Authlib reads when
    someone signs in."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    base = f"http://127.0.0.1:{server.server_address[1]}"

    class Discovery(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(
                {
                    "issuer": base,
                    "authorization_endpoint": f"{base}/authorize",
                    "token_endpoint": f"{base}/token",
                    "jwks_uri": f"{base}/jwks",
                    "end_session_endpoint": f"{base}/logout",
                    "response_types_supported": ["code"],
                    "code_challenge_methods_supported": ["S256"],
                }
            ).encode()
            self.send_response(200 if self.path == "/.well-known/openid-configuration" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server.RequestHandlerClass = Discovery
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


def production_settings(settings_kwargs: dict[str, object], issuer: str) -> RegistrySettings:
    return RegistrySettings(
        **{**settings_kwargs, "dev_mode": False},  # type: ignore[arg-type]
        nik_secret=SecretStr("nik-" + "n" * 40),
        auth_jwks_url=f"{issuer}/jwks",
        web_session_key=SecretStr("sesi-" + "s" * 40),
        oidc_issuer=issuer,
        oidc_client_id="netral-pages",
        oidc_client_secret=SecretStr("rahasia"),
        web_public_url="https://netral.test/",
    )


async def test_in_production_mode_there_is_no_dev_sign_in_only_the_issuer(
    settings_kwargs: dict[str, object], issuer: str
) -> None:
    settings = production_settings(settings_kwargs, issuer)
    async with running_app(build_app(settings)) as registry:
        answer = await registry.get("/masuk?lanjut=/impor")
        assert answer.status_code == 302, answer.text
        assert "DEV-ONLY" not in answer.text and "Pegawai" not in answer.text
        target = urlsplit(answer.headers["location"])
        assert f"{target.scheme}://{target.netloc}{target.path}" == f"{issuer}/authorize"
        query = parse_qs(target.query)
        assert query["client_id"] == ["netral-pages"] and query["response_type"] == ["code"]
        assert query["redirect_uri"] == ["https://netral.test/masuk/callback"]
        assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
        assert "openid" in query["scope"][0]
        assert "secure" in answer.headers["set-cookie"].lower()
        # No DEV route answers, whatever is posted to it.
        assert (await registry.post("/masuk/dev", data={"pilihan": "{}"})).status_code in (404, 405)
        # A callback without the state Authlib kept is refused with a page, not a trace.
        callback = await registry.get("/masuk/callback?code=x&state=y")
        assert callback.status_code == 403 and "Gagal masuk" in callback.text


@dataclass
class SignOut:
    form_page: httpx.Response
    answer: httpx.Response
    page_after: httpx.Response


async def sign_out_in_production(settings: RegistrySettings) -> SignOut:
    """A signed-in person (with the provider's ID token in the session) confirms "Keluar"."""
    claims = {"sub": "bkpsdm-1", "role": "bkpsdm", "org_unit": "32.01", "name": "Dewi"}
    async with running_app(build_app(settings)) as app_client:
        # Production cookies are Secure: the browser is on https.
        async with httpx.AsyncClient(
            transport=app_client._transport, base_url="https://netral.test"
        ) as browser:
            browser.cookies.set(*session_cookie(settings, claims, id_token="token-id-penyedia"))
            page = await browser.get("/keluar")
            assert page.status_code == 200 and "Dewi" in page.text
            answer = await browser.post("/keluar", data={"csrf_token": csrf_of(page.text)})
            assert answer.status_code == 303, answer.text
            browser.cookies.set(SESSION_COOKIE, answer.cookies.get(SESSION_COOKIE) or "")
            return SignOut(page, answer, await browser.get("/keluar"))


async def test_signing_out_in_production_ends_the_identity_providers_session_too(
    settings_kwargs: dict[str, object], issuer: str
) -> None:
    signed_out = await sign_out_in_production(production_settings(settings_kwargs, issuer))
    policy = signed_out.form_page.headers["content-security-policy"]
    assert issuer in policy.split("form-action ")[1].split(";")[0].split()  # the answer leads there
    target = urlsplit(signed_out.answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{issuer}/logout"
    assert parse_qs(target.query) == {
        "client_id": ["netral-pages"],
        "post_logout_redirect_uri": ["https://netral.test/keluar"],
        "id_token_hint": ["token-id-penyedia"],
    }
    # Signed out here as well: the page no longer knows the person.
    assert "Anda sudah keluar" in signed_out.page_after.text and "Dewi" not in signed_out.page_after.text


async def test_signing_out_while_the_provider_is_unreachable_still_signs_out_here(
    settings_kwargs: dict[str, object], unused_tcp_port: int
) -> None:
    gone = f"http://127.0.0.1:{unused_tcp_port}"  # nothing listens there
    signed_out = await sign_out_in_production(production_settings(settings_kwargs, gone))
    assert signed_out.answer.headers["location"] == "/keluar"
    assert "Anda sudah keluar" in signed_out.page_after.text and "Dewi" not in signed_out.page_after.text
