"""The token claim rules: platform-wide reach is an explicit claim, employees carry their id,
and outside development the verifier needs an issuer."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from contracts.roles import Role
from netral.devissuer import mint_token
from services.kit.auth import TokenVerifier
from services.kit.identity import Principal
from services.kit.settings import ServiceSettings


def verifier(key_dir: Path) -> TokenVerifier:
    return TokenVerifier(ServiceSettings(dev_mode=True, auth_public_key_file=key_dir / "jwt-public.pem"))


def test_a_token_without_org_unit_reaches_the_platform_only_by_the_explicit_claim(tmp_path: Path) -> None:
    settings = ServiceSettings(dev_mode=True, auth_public_key_file=tmp_path / "jwt-public.pem")
    private = mint_token("bkpsdm", directory=tmp_path, settings=settings)  # makes the key pair
    private_key = (tmp_path / "jwt-private.pem").read_bytes()
    claims = jwt.decode(private, options={"verify_signature": False})
    assert claims["reach"] == "platform"
    assert verifier(tmp_path).verify(private).org_unit is None

    for role in ("bkpsdm", "ppk", "bawaslu", "inspektorat", "bkn", "agency"):
        without_reach = {key: value for key, value in claims.items() if key != "reach"} | {"role": role}
        with pytest.raises(jwt.InvalidTokenError, match="wajib memuat reach='platform'"):
            verifier(tmp_path).verify(jwt.encode(without_reach, private_key, algorithm="EdDSA"))

    wrong_reach = claims | {"reach": "everything"}
    with pytest.raises(jwt.InvalidTokenError, match="nilai reach tidak dikenal"):
        verifier(tmp_path).verify(jwt.encode(wrong_reach, private_key, algorithm="EdDSA"))
    both = claims | {"org_unit": "32.01"}
    with pytest.raises(jwt.InvalidTokenError, match="sekaligus reach"):
        verifier(tmp_path).verify(jwt.encode(both, private_key, algorithm="EdDSA"))


def test_unit_bound_and_unit_scoped_tokens(tmp_path: Path) -> None:
    settings = ServiceSettings(dev_mode=True)
    scoped = verifier(tmp_path).verify(
        mint_token("bawaslu", org_unit="32.01", directory=tmp_path, settings=settings)
    )
    assert scoped.org_unit == "32.01"
    assert "reach" not in jwt.decode(
        mint_token("opd_admin", org_unit="32.01.001", directory=tmp_path, settings=settings),
        options={"verify_signature": False},
    )
    claims = jwt.decode(
        mint_token("opd_admin", org_unit="32.01.001", directory=tmp_path, settings=settings),
        options={"verify_signature": False},
    )
    # Even an explicit platform reach does not free an OPD admin from its unit.
    unbound = {key: value for key, value in claims.items() if key != "org_unit"} | {"reach": "platform"}
    with pytest.raises(jwt.InvalidTokenError, match="wajib memuat org_unit"):
        verifier(tmp_path).verify(
            jwt.encode(unbound, (tmp_path / "jwt-private.pem").read_bytes(), algorithm="EdDSA")
        )


def test_an_employee_token_carries_the_employee_id(tmp_path: Path) -> None:
    settings = ServiceSettings(dev_mode=True)
    asn = verifier(tmp_path).verify(
        mint_token("employee", nip="199001012020011001", directory=tmp_path, settings=settings)
    )
    assert asn == Principal(
        subject="199001012020011001",
        role=Role.EMPLOYEE,
        org_unit=None,
        nip="199001012020011001",
        employee_id="199001012020011001",
    )
    non_asn = verifier(tmp_path).verify(
        mint_token("employee", employee_id="NA0000000000000042", directory=tmp_path, settings=settings)
    )
    assert (non_asn.nip, non_asn.employee_id) == (None, "NA0000000000000042")

    claims = jwt.decode(
        mint_token("employee", nip="199001012020011001", directory=tmp_path, settings=settings),
        options={"verify_signature": False},
    )
    without_id = {key: value for key, value in claims.items() if key != "employee_id"}
    with pytest.raises(jwt.InvalidTokenError, match="wajib memuat employee_id"):
        verifier(tmp_path).verify(
            jwt.encode(without_id, (tmp_path / "jwt-private.pem").read_bytes(), algorithm="EdDSA")
        )


def test_outside_dev_mode_the_verifier_needs_an_issuer(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="AUTH_JWKS_URL belum di-set"):
        TokenVerifier(ServiceSettings(dev_mode=False, auth_jwks_url=None))
    # With one, nothing is fetched until a token comes.
    TokenVerifier(ServiceSettings(dev_mode=False, auth_jwks_url="https://sso.example.go.id/jwks"))


async def test_the_jwks_is_fetched_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = ServiceSettings(dev_mode=False, auth_jwks_url="https://sso.example.go.id/jwks")
    token = mint_token("bkpsdm", directory=tmp_path, settings=settings)
    public_key = load_pem_public_key((tmp_path / "jwt-public.pem").read_bytes())
    verifier = TokenVerifier(settings)
    fetched_on: list[int] = []

    def fetch(_token: str) -> SimpleNamespace:
        # PyJWKClient blocks on the network here, when the key set is not cached.
        fetched_on.append(threading.get_ident())
        return SimpleNamespace(key=public_key)

    assert verifier._jwks is not None
    monkeypatch.setattr(verifier._jwks, "get_signing_key_from_jwt", fetch)
    principal = await verifier.verify_async(token)
    assert principal.role is Role.BKPSDM and principal.org_unit is None
    assert fetched_on and fetched_on[0] != threading.get_ident()
