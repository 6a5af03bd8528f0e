"""DEV-ONLY keys: generated on this machine, under the git-ignored .local/dev-keys, the first time
a service starts without a key configured. Production sets the key from a secret store instead."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, generate: Callable[[], bytes]) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(generate())
        path.chmod(0o600)
    return path.read_bytes()
