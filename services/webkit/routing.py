"""Page routes: `page_router()` gives an APIRouter whose routes answer every error a person can
cause with a page in Bahasa Indonesia that says what to do, never JSON or a stack trace. The
JSON API's routers are untouched: their errors keep the kit's JSON answers (services.kit.app)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.datastructures import FormData

from contracts.roles import Role
from services.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.kit.identity import Principal
from services.kit.validation import field_errors
from services.webkit.csrf import CSRF_FIELD, CSRF_HEADER, CsrfRefused
from services.webkit.pages import Pages
from services.webkit.session import signed_in_principal

log = logging.getLogger(__name__)
SIGN_IN_PATH = "/masuk"


class SignInRequired(Exception):
    """The page needs a signed-in person: a 303 to the sign-in page, which comes back to
    `next_path` afterwards."""

    def __init__(self, next_path: str = "/") -> None:
        super().__init__(next_path)
        self.next_path = next_path


def sign_in_url(next_path: str) -> str:
    return f"{SIGN_IN_PATH}?lanjut={quote(next_path, safe='/')}"


def requested_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def error_page(request: Request, exc: Exception) -> Response:
    """The page for an error raised by a page route (or its dependencies)."""
    pages: Pages = request.app.state.pages
    if isinstance(exc, SignInRequired):
        target = sign_in_url(exc.next_path)
        if request.headers.get("HX-Request"):
            # htmx follows a 303 inside the page; this makes it load the sign-in page instead.
            return Response(status_code=204, headers={"HX-Redirect": target})
        return pages.redirect(target)
    context: dict[str, Any]
    if isinstance(exc, CsrfRefused):
        context = {
            "heading": "Formulir kedaluwarsa",
            "message": "Formulir ini sudah kedaluwarsa atau tidak dikirim dari halaman ini.",
            "advice": "Muat ulang halaman, lalu isi dan kirim formulirnya sekali lagi.",
        }
        status = 403
    elif isinstance(exc, Forbidden):
        signed_in = signed_in_principal(request, pages.settings.web_session_max_age_seconds)
        context = {
            "heading": "Anda tidak berhak membuka halaman ini",
            "message": exc.message,
            "advice": (
                "Jika menurut Anda ini keliru, hubungi admin BKPSDM. Anda juga dapat keluar dan "
                "masuk dengan akun lain."
            ),
            "show_sign_out": signed_in is not None,
        }
        status = 403
    elif isinstance(exc, NotFound):
        context = {
            "heading": "Tidak ditemukan",
            "message": f"Yang Anda cari tidak ada: {exc}.",
            "advice": "Periksa lagi kode atau alamatnya, atau kembali ke halaman awal.",
        }
        status = 404
    elif isinstance(exc, Conflict):
        context = {
            "heading": "Belum dapat dilakukan",
            "message": exc.message,
            "advice": "Muat ulang halaman untuk melihat keadaan terbaru, lalu coba lagi.",
            "allowed_actions": exc.allowed,
        }
        status = 409
    elif isinstance(exc, InvalidInput | RequestValidationError):
        errors = exc.errors if isinstance(exc, InvalidInput) else field_errors(exc.errors())
        context = {
            "heading": "Ada isian yang perlu diperbaiki",
            "message": "Data yang dikirim belum lengkap atau belum benar.",
            "advice": "Kembali ke halaman sebelumnya, perbaiki isian di bawah ini, lalu kirim lagi.",
            "field_messages": list(errors),
        }
        status = 422
    elif isinstance(exc, HTTPException) and exc.status_code == 413:
        # A body streamed past the limit (no Content-Length to refuse it by, before the route).
        context = {
            "heading": "File terlalu besar",
            "message": "Yang Anda kirim melebihi batas ukuran untuk halaman ini.",
            "advice": "Perkecil file atau kirim lebih sedikit file, lalu kirim formulirnya lagi.",
        }
        status = 413
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        context = {
            "heading": "Permintaan tidak dapat dilayani",
            "message": str(exc.detail),
            "advice": "Kembali ke halaman sebelumnya dan coba lagi.",
        }
        status = exc.status_code
    else:
        log.error("page failed", exc_info=exc, extra={"route": _route_template(request)})
        context = {
            "heading": "Maaf, terjadi kesalahan di sistem kami",
            "message": "Permintaan Anda tidak dapat diselesaikan saat ini. Ini bukan kesalahan Anda.",
            "advice": "Coba lagi beberapa menit lagi. Jika tetap gagal, hubungi admin BKPSDM.",
        }
        status = 500
    # An htmx request shows the error page in place of the whole page, not inside a fragment's
    # target (base.html lets htmx swap 4xx and 5xx answers).
    headers = {"HX-Retarget": "body", "HX-Reswap": "innerHTML"} if request.headers.get("HX-Request") else None
    try:
        values = {"status": status, **context}
        return pages.render(request, "webkit/error.html", values, status_code=status, headers=headers)
    except Exception:  # the error page itself failed: still never a trace
        log.exception("error page failed")
        return Response("Terjadi kesalahan. Coba lagi nanti.", status_code=500, media_type="text/plain")


def _route_template(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", "?"))


class PageRoute(APIRoute):
    """An APIRoute whose errors, from the endpoint or its dependencies, become pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # noqa: BLE001 - every error becomes a page
                return error_page(request, exc)

        return page_handler


def page_router(prefix: str = "") -> APIRouter:
    return APIRouter(prefix=prefix, include_in_schema=False, route_class=PageRoute)


def page_principal(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the signed-in person, who must hold one of `roles` (any role when none is
    given). Nobody signed in: SignInRequired; another role: Forbidden (the 403 page)."""

    async def dependency(request: Request) -> Principal:
        pages: Pages = request.app.state.pages
        principal = signed_in_principal(request, pages.settings.web_session_max_age_seconds)
        if principal is None:
            raise SignInRequired(requested_path(request))
        if roles and principal.role not in roles:
            names = ", ".join(sorted(role.value for role in roles))
            raise Forbidden(f"Halaman ini untuk peran {names}. Anda masuk sebagai {principal.role.value}.")
        return principal

    return dependency


def optional_page_principal() -> Callable[[Request], Awaitable[Principal | None]]:
    async def dependency(request: Request) -> Principal | None:
        pages: Pages = request.app.state.pages
        return signed_in_principal(request, pages.settings.web_session_max_age_seconds)

    return dependency


async def checked_form(request: Request) -> FormData:
    """A dependency for POST form routes: the form (urlencoded or multipart), once its CSRF
    token (the `csrf_token` field, or the X-CSRF-Token header htmx sends) matches the session."""
    form = await request.form()
    pages: Pages = request.app.state.pages
    if pages.csrf is None or "session" not in request.scope:
        raise CsrfRefused()
    submitted = form.get(CSRF_FIELD)
    token = submitted if isinstance(submitted, str) and submitted else request.headers.get(CSRF_HEADER)
    pages.csrf.check(request, token)
    return form
