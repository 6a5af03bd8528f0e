"""DEV-ONLY keys: generated on this machine, under the git-ignored .local/dev-keys, the first time
a service starts without a key configured. Production sets the key from a secret store instead."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr


def read_or_create(path: Path, generate: Callable[[], bytes]) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(generate())
        path.chmod(0o600)
    return path.read_bytes()


def configured_or_dev(secret: SecretStr | None, dev_file: Path, generate: Callable[[], bytes]) -> bytes:
    """The key from the settings (a secret store in production), else the DEV-ONLY file: the one
    way every service loads its keys."""
    if secret is not None:
        return secret.get_secret_value().encode()
    return read_or_create(dev_file, generate).strip()
