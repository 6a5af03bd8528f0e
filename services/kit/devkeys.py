"""DEV-ONLY keys: generated on this machine, under the git-ignored .local/dev-keys, the first time
a service starts in development mode (DEV_MODE) without a key configured. Outside it a key that
is not configured is refused: production sets every key from a secret store."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr


def read_or_create(path: Path, generate: Callable[[], bytes]) -> bytes:
    """The file's key, made first if missing. Services started together (`make up`) may all find
    it missing: each writes its own candidate aside and links it into place, which only the
    first can do, so every process ends up reading the same key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        candidate.write_bytes(generate())
        candidate.chmod(0o600)
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass  # another process won; its key is the one
        finally:
            candidate.unlink()
    return path.read_bytes()


class KeyNotConfigured(RuntimeError):
    """A service started outside development mode without one of its keys: it must not start,
    because a key generated per process would differ between replicas and restarts."""

    def __init__(self, setting: str) -> None:
        super().__init__(
            f"{setting} belum di-set; di produksi kunci wajib dari secret store "
            "(DEV_MODE=true hanya untuk pengembangan lokal)"
        )
        self.setting = setting


def configured_or_dev(
    secret: SecretStr | None,
    dev_file: Path,
    generate: Callable[[], bytes],
    *,
    dev_mode: bool,
    setting: str,
) -> bytes:
    """The key from the settings (a secret store in production); else, in development mode only,
    the DEV-ONLY file: the one way every service loads its keys. `setting`: the environment
    variable that configures the key, named in the refusal."""
    if secret is not None and secret.get_secret_value().strip():
        return secret.get_secret_value().encode()
    if not dev_mode:
        raise KeyNotConfigured(setting)
    return read_or_create(dev_file, generate).strip()
