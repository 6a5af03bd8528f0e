"""The local dev token issuer. DEV ONLY: its Ed25519 key is generated on this machine under
.local/dev-keys (git-ignored) and must never be trusted outside local development."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.kit.settings import LOCAL_DIR, ServiceSettings

DEV_KEY_DIR = LOCAL_DIR / "dev-keys"


def ensure_dev_keys(directory: Path = DEV_KEY_DIR) -> tuple[Path, Path]:
    private_path = directory / "jwt-private.pem"
    public_path = directory / "jwt-public.pem"
    if private_path.exists() and public_path.exists():
        return private_path, public_path
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    private_path.chmod(0o600)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path


def mint_token(
    role: str,
    org_unit: str | None = None,
    nip: str | None = None,
    subject: str | None = None,
    employee_id: str | None = None,
    hours: float = 12,
    directory: Path = DEV_KEY_DIR,
    settings: ServiceSettings | None = None,
) -> str:
    settings = settings or ServiceSettings()
    private_path, _ = ensure_dev_keys(directory)
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, object] = {
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "sub": subject or nip or f"dev-{role}-{uuid.uuid4().hex[:8]}",
        "role": role,
        "iat": now,
        "exp": now + dt.timedelta(hours=hours),
    }
    if org_unit:
        claims["org_unit"] = org_unit
    elif role != "employee":
        # Tokens without a unit reach the whole platform only by saying so (services.kit.auth).
        claims["reach"] = "platform"
    if nip:
        claims["nip"] = nip
    if role == "employee":
        # An ASN employee's registry id is the NIP; a non-ASN's (`NA…`) must be given.
        claims["employee_id"] = employee_id or nip or claims["sub"]
    elif employee_id:
        claims["employee_id"] = employee_id
    return jwt.encode(claims, private_path.read_bytes(), algorithm="EdDSA")
