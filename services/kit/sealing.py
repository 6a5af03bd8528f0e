"""Sealed personal data: JSON encrypted with Fernet keys from settings.

MultiFernet: the first key seals, every key opens, so keys rotate without losing what was
sealed before. In development mode, without keys configured, a DEV-ONLY key file is generated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from services.kit.devkeys import configured_or_dev


class Unsealable(RuntimeError):
    """A sealed value that the configured keys cannot open (a wrong or rotated-out key)."""


class Sealer:
    def __init__(self, keys: Sequence[bytes], what: str) -> None:
        if not keys:
            raise ValueError(f"butuh minimal satu kunci Fernet untuk {what}")
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self.what = what

    @classmethod
    def from_settings(
        cls, keys: SecretStr | None, dev_key_file: Path, what: str, *, dev_mode: bool, setting: str
    ) -> Sealer:
        """`keys`: comma-separated Fernet keys from a secret store; unset, the DEV-ONLY file in
        development mode, else refused (naming `setting`)."""
        text = configured_or_dev(keys, dev_key_file, Fernet.generate_key, dev_mode=dev_mode, setting=setting)
        return cls([key.strip() for key in text.split(b",") if key.strip()], what)

    def seal(self, value: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(value, ensure_ascii=False).encode())

    def open(self, token: bytes) -> dict[str, Any]:
        try:
            value: dict[str, Any] = json.loads(self._fernet.decrypt(token))
        except InvalidToken:
            raise Unsealable(f"{self.what} tidak dapat dibuka dengan kunci yang dikonfigurasi") from None
        return value
