"""CSRF protection for forms that work without JavaScript: the synchronizer-token pattern.

The session holds a random secret; every form carries a token derived from it (signed and
timestamped with itsdangerous, the library that already signs the session), in a hidden
`csrf_token` field, and htmx requests carry it in the `X-CSRF-Token` header (`hx-headers` on
<body>). A POST whose token does not match the session's secret is refused. A cross-site page
can neither read the token nor, with SameSite=Lax, send the session cookie with its POST.
"""

from __future__ import annotations

import secrets

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECRET = "csrf"


class CsrfRefused(Exception):
    """The form's token is missing, wrong or expired: answered with a 403 page that asks to
    reload the page (services.webkit.errors)."""


class CsrfTokens:
    def __init__(self, key: bytes, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="netral-csrf")
        self.max_age_seconds = max_age_seconds

    def token(self, request: Request) -> str:
        """The token for the forms of this page; makes the session's secret on first use, so an
        anonymous visitor gets one too (the public report form)."""
        secret = request.session.get(SESSION_SECRET)
        if not isinstance(secret, str):
            secret = secrets.token_urlsafe(16)
            request.session[SESSION_SECRET] = secret
        return self._serializer.dumps(secret)

    def check(self, request: Request, submitted: str | None) -> None:
        secret = request.session.get(SESSION_SECRET)
        if not submitted or not isinstance(secret, str):
            raise CsrfRefused()
        try:
            carried = self._serializer.loads(submitted, max_age=self.max_age_seconds)
        except BadSignature:
            raise CsrfRefused() from None
        if not isinstance(carried, str) or not secrets.compare_digest(carried, secret):
            raise CsrfRefused()
