"""Sign-in and sign-out pages, on every service.

- DEV_MODE: `/masuk` is a DEV-ONLY page listing the demo pemda's people by role; the registry
  hosts it (it has the people), every other service sends the browser there.
- Production: OpenID Connect authorization code with PKCE through Authlib against OIDC_ISSUER;
  the ID token's claims are checked like an access token's (services.kit.auth). The DEV routes
  are not even registered.
"""

from __future__ import annotations

import importlib
import json
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import jwt
from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from services.kit.settings import ServiceSettings
from services.webkit.guard import safe_next
from services.webkit.pages import Pages
from services.webkit.routing import checked_form, page_router
from services.webkit.session import sign_in, sign_out

with warnings.catch_warnings():
    # Authlib 1.9 warns at import that its httpx integration is moving to "httpx2": nothing
    # this code can act on, and it would be in every service's log and test run.
    # Loaded first: it installs an "always" filter for its warnings, which ours must come before.
    importlib.import_module("authlib.deprecate")
    warnings.filterwarnings("ignore", message="The httpx module is deprecated", category=DeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.starlette_client import OAuth

log = logging.getLogger(__name__)
CALLBACK_PATH = "/masuk/callback"
NEXT_AFTER_CALLBACK = "lanjut"


@dataclass(frozen=True)
class DevPerson:
    """One person a developer can sign in as: what the list shows and the claims it grants."""

    label: str
    detail: str
    claims: dict[str, str]


@dataclass
class DevGroup:
    title: str
    explanation: str
    people: list[DevPerson] = field(default_factory=list)


DevDirectory = Callable[[Request], Awaitable[list[DevGroup]]]
"""Who the DEV-ONLY sign-in page lists: the registry builds it from its own data."""


class OidcNotConfigured(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "OIDC_ISSUER dan OIDC_CLIENT_ID belum di-set; di produksi halaman masuk wajib memakai "
            "penerbit OpenID Connect (DEV_MODE=true hanya untuk pengembangan lokal)"
        )


def allowed_bases(settings: ServiceSettings) -> list[str]:
    return [base for base in settings.web_links.bases() if base]


ProviderSignOut = Callable[[str | None], Awaitable[str | None]]
"""Given the ID token kept at sign-in, the provider's end-session URL to send the browser to, or
None when there is none (development, or a provider without RP-initiated logout)."""


def provider_sign_out(settings: ServiceSettings, client: Any) -> ProviderSignOut:
    """OpenID Connect RP-initiated logout: without it, signing out here would leave the
    provider's session open, and the next "Masuk" would sign the same person in silently."""
    back = settings.web_links.of(settings.service_name) + "/keluar"

    async def end_session_url(id_token: str | None) -> str | None:
        try:
            metadata = await client.load_server_metadata()
        except (httpx.HTTPError, ValueError) as exc:  # the provider is down: signed out here all the same
            log.warning(
                "identity provider metadata unavailable at sign-out", extra={"reason": type(exc).__name__}
            )
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            return None
        query = {"client_id": settings.oidc_client_id or "", "post_logout_redirect_uri": back}
        if id_token:
            query["id_token_hint"] = id_token
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    return end_session_url


def sign_out_router(settings: ServiceSettings, provider: ProviderSignOut | None = None) -> APIRouter:
    router = page_router()

    @router.get("/keluar")
    async def sign_out_page(request: Request) -> Response:
        """A confirmation while signed in (a GET must not sign out: any page could link here),
        then the "signed out" page the POST leads to."""
        pages: Pages = request.app.state.pages
        return pages.render(request, "webkit/signed_out.html")

    @router.post("/keluar")
    async def sign_out_form(request: Request, form: FormData = Depends(checked_form)) -> Response:  # noqa: B008
        pages: Pages = request.app.state.pages
        id_token = sign_out(request)
        provider_url = await provider(id_token) if provider is not None else None
        return pages.redirect(provider_url or "/keluar")

    return router


def dev_sign_in_router(settings: ServiceSettings, directory: DevDirectory | None) -> APIRouter:
    """DEV_MODE only (see `sign_in_routers`)."""
    router = page_router()

    @router.get("/masuk")
    async def dev_sign_in_page(request: Request, lanjut: str = "/") -> Response:
        pages: Pages = request.app.state.pages
        if directory is None:
            # Only the registry knows the people: sign in there, then come back here.
            back = safe_next(lanjut, allowed_bases(settings))
            if back.startswith("/"):
                back = settings.web_links.of(settings.service_name) + back
            return pages.redirect(f"{settings.web_links.registry}/masuk?lanjut={quote(back, safe='/:')}")
        groups = await directory(request)
        return pages.render(
            request,
            "webkit/dev_sign_in.html",
            {"groups": groups, "lanjut": safe_next(lanjut, allowed_bases(settings))},
        )

    @router.post("/masuk/dev")
    async def dev_sign_in(request: Request, form: FormData = Depends(checked_form)) -> Response:  # noqa: B008
        pages: Pages = request.app.state.pages
        try:
            claims = json.loads(str(form.get("pilihan") or ""))
            if not isinstance(claims, dict):
                raise ValueError("bukan objek")
            sign_in(request, {str(key): str(value) for key, value in claims.items()})
        except (ValueError, KeyError, jwt.InvalidTokenError) as exc:
            return pages.render(
                request,
                "webkit/error.html",
                {
                    "status": 422,
                    "heading": "Pilihan tidak dikenal",
                    "message": f"Orang yang dipilih tidak dapat dipakai untuk masuk: {exc}.",
                    "advice": "Kembali ke halaman masuk dan pilih orang dari daftar.",
                },
                status_code=422,
            )
        return pages.redirect(safe_next(str(form.get("lanjut") or "/"), allowed_bases(settings)))

    return router


def oidc_client(settings: ServiceSettings) -> Any:
    if not settings.oidc_issuer or not settings.oidc_client_id:
        raise OidcNotConfigured()
    oauth = OAuth()
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
    # register() returns the client (create_client() would find the same one by name).
    client: Any = oauth.register(
        name="netral",
        server_metadata_url=f"{settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration",
        client_id=settings.oidc_client_id,
        client_secret=secret,
        client_kwargs={"scope": settings.oidc_scope, "code_challenge_method": "S256"},
    )
    return client


def oidc_sign_in_router(settings: ServiceSettings, client: Any) -> APIRouter:
    router = page_router()
    redirect_uri = settings.web_links.of(settings.service_name) + CALLBACK_PATH

    @router.get("/masuk")
    async def oidc_sign_in(request: Request, lanjut: str = "/") -> Response:
        # Kept in the session (signed) with Authlib's state, nonce and PKCE verifier.
        request.session[NEXT_AFTER_CALLBACK] = safe_next(lanjut, allowed_bases(settings))
        answer: Response = await client.authorize_redirect(request, redirect_uri)
        return answer

    @router.get(CALLBACK_PATH)
    async def oidc_callback(request: Request) -> Response:
        pages: Pages = request.app.state.pages
        next_target = safe_next(request.session.get(NEXT_AFTER_CALLBACK), allowed_bases(settings))
        try:
            token = await client.authorize_access_token(request)
            claims = dict(token.get("userinfo") or {})
            sign_in(request, claims, token.get("id_token"))
        except (OAuthError, ValueError, KeyError, jwt.InvalidTokenError) as exc:
            log.warning("sign-in refused", extra={"reason": type(exc).__name__})
            return pages.render(
                request,
                "webkit/error.html",
                {
                    "status": 403,
                    "heading": "Gagal masuk",
                    "message": (
                        "Penyedia identitas tidak mengonfirmasi akun Anda, atau akun Anda belum "
                        "diberi peran di Netralitas ASN."
                    ),
                    "advice": "Coba masuk lagi. Jika tetap gagal, minta admin BKPSDM memeriksa peran akun.",
                    "retry_sign_in": True,
                },
                status_code=403,
            )
        return pages.redirect(next_target)

    return router


def sign_in_routers(settings: ServiceSettings, directory: DevDirectory | None) -> list[APIRouter]:
    """The DEV-ONLY page only in DEV_MODE; OIDC otherwise (refusing to start unconfigured)."""
    if settings.dev_mode:
        return [dev_sign_in_router(settings, directory), sign_out_router(settings)]
    client = oidc_client(settings)
    return [
        oidc_sign_in_router(settings, client),
        sign_out_router(settings, provider_sign_out(settings, client)),
    ]
