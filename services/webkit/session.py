"""The session: a signed, timestamped cookie (Starlette's SessionMiddleware, itsdangerous),
one key for every service, so that a sign-in on one service's pages holds on all of them.

It carries the claims a token carries (subject, role, org_unit or reach, employee_id, nip) plus
the person's name and when they signed in; the Principal is rebuilt from them on every request
with the same scope rules as a token (services.kit.auth.principal_from_claims).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import itsdangerous
import jwt
from fastapi import FastAPI, Request
from starlette.middleware.sessions import SessionMiddleware

from contracts.roles import Role
from services.kit.auth import principal_from_claims
from services.kit.devkeys import configured_or_dev
from services.kit.identity import Principal
from services.kit.settings import ServiceSettings

SESSION_COOKIE = "netral_sesi"
SIGNED_IN = "masuk"
"""The session entry holding the signed-in person's claims."""
CLAIM_NAMES = ("sub", "role", "org_unit", "reach", "employee_id", "nip", "name")
ID_TOKEN = "id_token"
"""The session entry holding the identity provider's ID token, sent back as `id_token_hint` when
the person signs out, so that the provider ends its own session too."""


def session_key(settings: ServiceSettings) -> bytes:
    """WEB_SESSION_KEY, or in DEV_MODE only the DEV-ONLY key file (every local service reads
    the same file, so that one sign-in holds on all of them)."""
    return configured_or_dev(
        settings.web_session_key,
        settings.web_session_key_file,
        lambda: secrets.token_urlsafe(32).encode(),
        dev_mode=settings.dev_mode,
        setting="WEB_SESSION_KEY",
    )


def install_session(app: FastAPI, settings: ServiceSettings, key: bytes) -> None:
    """HttpOnly always (Starlette sets it), SameSite=Lax so that a link from elsewhere still
    arrives signed in but a cross-site POST does not, Secure outside DEV_MODE. The cookie's own
    max age is renewed with each answer; the sign-in itself expires `web_session_max_age_seconds`
    after it was made (`signed_in_principal`)."""
    app.add_middleware(
        SessionMiddleware,
        secret_key=key.decode(),
        session_cookie=SESSION_COOKIE,
        max_age=settings.web_session_max_age_seconds,
        same_site="lax",
        https_only=not settings.dev_mode,
    )


def sign_in(request: Request, claims: dict[str, Any], id_token: str | None = None) -> Principal:
    """Check the claims as a token's would be checked, then keep them in the session. A new
    sign-in replaces the whole session (no state from before it survives, against fixation)."""
    role = Role(claims["role"])
    principal = principal_from_claims(claims, role)
    kept = {name: claims[name] for name in CLAIM_NAMES if claims.get(name)}
    request.session.clear()
    request.session[SIGNED_IN] = {**kept, "at": int(time.time())}
    if id_token:
        request.session[ID_TOKEN] = id_token
    return principal


def session_cookie(
    settings: ServiceSettings, claims: dict[str, Any], id_token: str | None = None
) -> tuple[str, str]:
    """(name, value) of a session cookie signing in `claims`, exactly as SessionMiddleware
    would write it: for tests and tools that need a signed-in client without the sign-in page
    (`client.cookies.set(*session_cookie(settings, {...}))`)."""
    principal_from_claims(claims, Role(claims["role"]))
    kept = {name: claims[name] for name in CLAIM_NAMES if claims.get(name)}
    session: dict[str, Any] = {SIGNED_IN: {**kept, "at": int(time.time())}}
    if id_token:
        session[ID_TOKEN] = id_token
    data = base64.b64encode(json.dumps(session).encode())
    signer = itsdangerous.TimestampSigner(session_key(settings).decode())
    return SESSION_COOKIE, signer.sign(data).decode()


def sign_out(request: Request) -> str | None:
    """Forget the sign-in; the ID token it kept, if any, for the provider's sign-out."""
    id_token = request.session.get(ID_TOKEN)
    request.session.clear()
    return id_token if isinstance(id_token, str) else None


def signed_in_claims(
    request: Request, max_age_seconds: int, now: float | None = None
) -> dict[str, Any] | None:
    """The signed-in person's claims, or None when nobody is signed in or the sign-in is older
    than `max_age_seconds` (then it is forgotten)."""
    if "session" not in request.scope:
        return None
    claims = request.session.get(SIGNED_IN)
    if not isinstance(claims, dict):
        return None
    moment = time.time() if now is None else now
    if not isinstance(claims.get("at"), int) or moment - claims["at"] > max_age_seconds:
        request.session.pop(SIGNED_IN, None)
        return None
    return claims


def signed_in_principal(request: Request, max_age_seconds: int, now: float | None = None) -> Principal | None:
    claims = signed_in_claims(request, max_age_seconds, now)
    if claims is None:
        return None
    try:
        return principal_from_claims(claims, Role(claims["role"]))
    except (ValueError, KeyError, jwt.InvalidTokenError):
        # Claims that no longer pass the rules (a role renamed since): signed out, not an error.
        request.session.pop(SIGNED_IN, None)
        return None
