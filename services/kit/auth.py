"""JWT authentication and role checks: one dependency, used by every endpoint.

Tokens come from the configured issuer: its JWKS in production, or the local dev issuer's
public key (`netral token` mints those).
"""

from __future__ import annotations

import asyncio
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
UNIT_BOUND_ROLES = frozenset({Role.OPD_ADMIN, Role.KEPALA_OPD})
# Roles that act on their own records, named by the `employee_id` claim, not on a unit subtree.
SELF_BOUND_ROLES = frozenset({Role.EMPLOYEE})
# The claim, and its one value, that grants a token without `org_unit` the whole platform. A token
# that merely lacks `org_unit` is refused: platform-wide reach is never the default.
REACH_CLAIM = "reach"
PLATFORM_REACH = "platform"


class TokenVerifier:
    """Built with the service: outside development it refuses to exist without an issuer's JWKS,
    so that a misconfigured service exits at start instead of trusting a local key."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        url = settings.auth_jwks_url
        if not url and not settings.dev_mode:
            raise RuntimeError(
                "AUTH_JWKS_URL belum di-set; di produksi token wajib dari penerbit yang dikonfigurasi "
                "(DEV_MODE=true hanya untuk pengembangan lokal)"
            )
        self._jwks = jwt.PyJWKClient(url, cache_keys=True) if url else None

    @cached_property
    def _dev_key(self) -> bytes:
        path = self.settings.auth_public_key_file
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise RuntimeError(
                f"kunci publik JWT tidak ada di {path}: jalankan `netral token` sekali atau set AUTH_JWKS_URL"
            ) from None

    async def verify_async(self, token: str) -> Principal:
        """`verify` for a request: the JWKS lookup may fetch over the network (PyJWKClient is
        synchronous), so it runs in a thread and never blocks the event loop."""
        if self._jwks is None:
            return self.verify(token)
        key = (await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)).key
        return self._decode(token, key)

    def verify(self, token: str) -> Principal:
        key: Any = self._jwks.get_signing_key_from_jwt(token).key if self._jwks is not None else self._dev_key
        return self._decode(token, key)

    def _decode(self, token: str, key: Any) -> Principal:
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
        return principal_from_claims(claims, role)


def principal_from_claims(claims: dict[str, Any], role: Role) -> Principal:
    """The scope rules of a verified token's claims: a unit-bound role needs `org_unit`, an
    employee needs `employee_id`, and any other token without `org_unit` needs the explicit
    platform reach claim."""
    org_unit = claims.get("org_unit") or None
    employee_id = claims.get("employee_id") or None
    reach = claims.get(REACH_CLAIM)
    if org_unit is not None and reach is not None:
        raise jwt.InvalidTokenError(f"token memuat org_unit sekaligus {REACH_CLAIM}; pilih salah satu")
    if reach is not None and reach != PLATFORM_REACH:
        raise jwt.InvalidTokenError(f"nilai {REACH_CLAIM} tidak dikenal: {reach!r}")
    if role in UNIT_BOUND_ROLES and org_unit is None:
        raise jwt.InvalidTokenError(f"token peran {role.value} wajib memuat org_unit")
    if role in SELF_BOUND_ROLES:
        if employee_id is None:
            raise jwt.InvalidTokenError(f"token peran {role.value} wajib memuat employee_id")
    elif org_unit is None and reach != PLATFORM_REACH:
        raise jwt.InvalidTokenError(
            f"token peran {role.value} tanpa org_unit wajib memuat {REACH_CLAIM}={PLATFORM_REACH!r}"
        )
    return Principal(
        subject=str(claims["sub"]),
        role=role,
        org_unit=org_unit,
        nip=claims.get("nip") or None,
        employee_id=str(employee_id) if employee_id is not None else None,
    )


_bearer = HTTPBearer(auto_error=False)


async def _verified(request: Request, credentials: HTTPAuthorizationCredentials) -> Principal:
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return await verifier.verify_async(credentials.credentials)
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
        principal = await _verified(request, credentials)
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
