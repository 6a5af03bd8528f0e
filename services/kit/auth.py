"""JWT authentication and role checks: one dependency, used by every endpoint.

Tokens come from the configured issuer: its JWKS in production, or the local dev issuer's
public key (`netral token` mints those).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from contracts.roles import Role
from services.kit.identity import Principal
from services.kit.settings import ServiceSettings

ALGORITHMS = ["EdDSA", "RS256", "ES256"]


# Roles whose every action is bound to one org unit subtree; a token without one is refused.
UNIT_BOUND_ROLES = frozenset({Role.OPD_ADMIN})


class TokenVerifier:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings

    @cached_property
    def _jwks(self) -> jwt.PyJWKClient | None:
        url = self.settings.auth_jwks_url
        return jwt.PyJWKClient(url, cache_keys=True) if url else None

    @cached_property
    def _dev_key(self) -> bytes:
        path = self.settings.auth_public_key_file
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise RuntimeError(
                f"kunci publik JWT tidak ada di {path}: jalankan `netral token` sekali atau set AUTH_JWKS_URL"
            ) from None

    def verify(self, token: str) -> Principal:
        key: Any = self._jwks.get_signing_key_from_jwt(token).key if self._jwks is not None else self._dev_key
        claims = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=self.settings.auth_audience,
            issuer=self.settings.auth_issuer,
            options={"require": ["exp", "iss", "aud", "sub", "role"]},
        )
        try:
            role = Role(claims["role"])
        except ValueError:
            raise jwt.InvalidTokenError(f"peran tidak dikenal: {claims['role']!r}") from None
        org_unit = claims.get("org_unit") or None
        if role in UNIT_BOUND_ROLES and org_unit is None:
            raise jwt.InvalidTokenError(f"token peran {role.value} wajib memuat org_unit")
        return Principal(
            subject=str(claims["sub"]), role=role, org_unit=org_unit, nip=claims.get("nip") or None
        )


_bearer = HTTPBearer(auto_error=False)


def _verified(request: Request, credentials: HTTPAuthorizationCredentials) -> Principal:
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return verifier.verify(credentials.credentials)
    except (jwt.PyJWTError, jwt.PyJWKClientError) as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"token tidak sah: {exc}",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: the caller must hold one of `roles`. The roles are the security
    requirement's scopes in the OpenAPI document, so that a client (or a fuzzer) knows them."""
    names = sorted(role.value for role in roles)

    async def dependency(
        request: Request,
        # A default, not Annotated: the scopes are this call's, and annotations are strings here.
        credentials: HTTPAuthorizationCredentials | None = Security(_bearer, scopes=names),  # noqa: B008
    ) -> Principal:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "butuh token Bearer",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = _verified(request, credentials)
        principal.check_role(*roles)
        return principal

    return dependency


def optional(*roles: Role) -> Callable[..., Awaitable[Principal | None]]:
    """For endpoints open to the public that also take a token: no token means an anonymous
    caller (None); a token must be valid and hold one of `roles`."""
    checked = require(*roles)

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal | None:
        if credentials is None:
            return None
        return await checked(request, credentials)

    return dependency
