"""The web kit: server-rendered pages (Jinja2 + htmx) for every service. Layout, CSS, session,
CSRF, sign-in and error pages; see README "Pages" and services/kit/app.py:create_app."""

from services.webkit.csrf import CSRF_FIELD, CSRF_HEADER, CsrfRefused
from services.webkit.pages import Pages, PagesDep, pages_of
from services.webkit.routing import (
    SignInRequired,
    checked_form,
    optional_page_principal,
    page_principal,
    page_router,
)
from services.webkit.signin import DevDirectory, DevGroup, DevPerson

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "CsrfRefused",
    "DevDirectory",
    "DevGroup",
    "DevPerson",
    "Pages",
    "PagesDep",
    "SignInRequired",
    "checked_form",
    "optional_page_principal",
    "page_principal",
    "page_router",
    "pages_of",
]
