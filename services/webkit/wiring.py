"""What `services.kit.app.create_app` installs for a service with pages: the session, the
kit's static files, the sign-in routes and the service's page routers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from services.kit.settings import ServiceSettings
from services.webkit.csrf import CsrfTokens
from services.webkit.pages import Pages
from services.webkit.session import install_session, session_key
from services.webkit.signin import DevDirectory, sign_in_routers

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PATH = "/static/webkit"


def install_pages(
    app: FastAPI,
    settings: ServiceSettings,
    page_routers: Sequence[APIRouter],
    pages: Pages,
    sign_in_directory: DevDirectory | None = None,
    include_routers: bool = True,
) -> list[APIRouter]:
    """Returns the page routers (sign-in first). With include_routers=False the caller includes
    them itself, after its API routes: a request is matched against routes in order, so the API,
    which takes most requests, is tried first."""
    # Read at build time: without WEB_SESSION_KEY (or OIDC) in production the process exits at
    # start, not at its first visitor.
    key = session_key(settings)
    routers = sign_in_routers(settings, sign_in_directory)
    pages.csrf = CsrfTokens(key, settings.web_session_max_age_seconds)
    app.state.pages = pages
    install_session(app, settings, key)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="webkit-static")
    all_routers = [*routers, *page_routers]
    if include_routers:
        for router in all_routers:
            app.include_router(router)
    return all_routers
