"""Rendering pages: one Jinja2 environment per service, over the service's own templates and
the kit's (`webkit/base.html`, `webkit/forms.html`, `webkit/error.html`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.kit.errors import InvalidInput
from services.kit.settings import ServiceSettings, WebLinks
from services.webkit.csrf import CsrfTokens
from services.webkit.session import signed_in_claims, signed_in_principal

KIT_TEMPLATES = Path(__file__).parent / "templates"


def page_security_headers(links: WebLinks, identity_provider: str | None = None) -> dict[str, str]:
    """Headers of every page. The CSP allows only this platform's own files: no inline script or
    style, no other site's script, no framing. Forms may post to the other services' pages,
    since the DEV-ONLY sign-in form lands on the page it came from, on another port locally, and
    the sign-out form leads on to the identity provider's own sign-out."""
    addresses = [*links.bases(), *([identity_provider] if identity_provider else [])]
    origins = sorted(
        {f"{parts.scheme}://{parts.netloc}" for parts in map(urlsplit, addresses) if parts.netloc}
    )
    policy = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            " ".join(["form-action 'self'", *origins]),
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        # A page's address can hold a receipt code; other sites are not told it.
        "Referrer-Policy": "same-origin",
    }


class Pages:
    """Built once per service; routes get it as `PagesDep`."""

    def __init__(
        self, settings: ServiceSettings, template_dirs: Sequence[Path] = (), csrf: CsrfTokens | None = None
    ) -> None:
        self.settings = settings
        self.csrf: CsrfTokens | None = csrf
        """Set by the kit's wiring (create_app), which holds the session key."""
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader([*template_dirs, KIT_TEMPLATES]),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.globals["links"] = settings.web_links
        self.environment.globals["dev_mode"] = settings.dev_mode
        self.security_headers = page_security_headers(
            settings.web_links, None if settings.dev_mode else settings.oidc_issuer
        )

    def context(self, request: Request, values: Mapping[str, Any]) -> dict[str, Any]:
        max_age = self.settings.web_session_max_age_seconds
        claims = signed_in_claims(request, max_age)
        csrf_token = self.csrf.token(request) if self.csrf is not None and "session" in request.scope else ""
        return {
            "request": request,
            "principal": signed_in_principal(request, max_age),
            "signed_in_name": (claims or {}).get("name") or (claims or {}).get("sub"),
            "csrf_token": csrf_token,
            "links": self.settings.web_links,
            "dev_mode": self.settings.dev_mode,
            "errors": [],
            "field_errors": {},
            **values,
        }

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        template = self.environment.get_template(name)
        html = template.render(self.context(request, context or {}))
        # Pages show personal data: never kept by a shared cache or the browser's back cache.
        answer_headers = {"Cache-Control": "no-store", **self.security_headers, **(headers or {})}
        return HTMLResponse(html, status_code=status_code, headers=answer_headers)

    def render_invalid(
        self, request: Request, name: str, context: Mapping[str, Any] | None, invalid: InvalidInput
    ) -> HTMLResponse:
        """A form page again, with what to fix (422): `errors` (every message) and `field_errors`
        (field name -> message, for `forms.field(..., errors=field_errors)`)."""
        by_field: dict[str, str] = {}
        for error in invalid.errors:
            field = str(error.get("field") or "")
            by_field.setdefault(field.split(".")[-1], str(error.get("message")))
        values = {**(context or {}), "errors": invalid.errors, "field_errors": by_field}
        return self.render(request, name, values, status_code=422)

    @staticmethod
    def redirect(url: str) -> RedirectResponse:
        """After a POST: 303, so that the browser GETs the next page (and a reload does not
        send the form again)."""
        return RedirectResponse(url, status_code=303)


def pages_of(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


PagesDep = Annotated[Pages, Depends(pages_of)]
