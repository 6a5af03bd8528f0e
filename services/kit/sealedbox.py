"""Values sealed for one service alone: anyone holding its public key can seal, only the holder
of the private key can open (libsodium's sealed box: X25519 + XSalsa20-Poly1305, PyNaCl).

Reports seals a reporter's contact for notify this way, so a compromise of the reports service
(or of its database) does not open the contacts it has sealed.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from pydantic import SecretStr

from services.kit.devkeys import configured_or_dev, read_or_create
from services.kit.sealing import Unsealable


def _key_bytes(text: bytes, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what}: bukan base64 yang valid") from None
    if len(raw) != 32:
        raise ValueError(f"{what}: kunci X25519 harus 32 byte, bukan {len(raw)}")
    return raw


def generate_private_key() -> bytes:
    """A new private key, base64: for the DEV-ONLY file of a machine with none configured."""
    return base64.b64encode(bytes(PrivateKey.generate()))


def dev_public_key(private_key_file: Path) -> bytes:
    """DEV-ONLY: the public half of the local private key file (created if missing), so that a
    local sealer and opener agree without configuration."""
    private = PrivateKey(_key_bytes(read_or_create(private_key_file, generate_private_key), "kunci privat"))
    return base64.b64encode(bytes(private.public_key))


class ContactSealer:
    """Seals with the recipient service's public key; cannot open what it sealed."""

    def __init__(self, public_key: bytes) -> None:
        self._box = SealedBox(PublicKey(_key_bytes(public_key, "kunci publik")))

    @classmethod
    def from_settings(
        cls, public_key: str | None, dev_private_key_file: Path, dev_mode: bool, setting: str
    ) -> ContactSealer:
        """`public_key`: base64, from the configuration. Unset: in development only, the public
        half of the DEV-ONLY private key file that the local opener reads; otherwise refused."""
        if public_key:
            return cls(public_key.encode())
        if not dev_mode:
            raise RuntimeError(
                f"{setting} belum di-set; di produksi kunci wajib dari konfigurasi "
                "(DEV_MODE=true hanya untuk pengembangan lokal)"
            )
        return cls(dev_public_key(dev_private_key_file))

    def seal(self, value: dict[str, Any]) -> bytes:
        return base64.b64encode(self._box.encrypt(json.dumps(value, ensure_ascii=False).encode()))


class ContactOpener:
    """Opens what was sealed with the public half of its private key."""

    def __init__(self, private_key: bytes, what: str) -> None:
        self._private = PrivateKey(_key_bytes(private_key, "kunci privat"))
        self._box = SealedBox(self._private)
        self.what = what

    @classmethod
    def from_settings(
        cls, private_key: SecretStr | None, dev_file: Path, what: str, **dev: Any
    ) -> ContactOpener:
        """`private_key`: base64, from a secret store; unset, the DEV-ONLY file (through
        `configured_or_dev`, which decides whether that is allowed). `dev`: passed on to it."""
        return cls(configured_or_dev(private_key, dev_file, generate_private_key, **dev), what)

    def public_key(self) -> bytes:
        return base64.b64encode(bytes(self._private.public_key))

    def open(self, token: bytes) -> dict[str, Any]:
        try:
            value: dict[str, Any] = json.loads(self._box.decrypt(base64.b64decode(token)))
        except (CryptoError, binascii.Error, ValueError):
            raise Unsealable(f"{self.what} tidak dapat dibuka dengan kunci yang dikonfigurasi") from None
        return value
