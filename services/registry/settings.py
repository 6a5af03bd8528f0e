"""Settings of the registry service, from environment variables with local defaults. Light to
import: the process entry (`python -m services.registry`) reads them before anything heavy loads."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from services.kit.settings import LOCAL_DIR, ServiceSettings


class RegistrySettings(ServiceSettings):
    service_name: str = "registry"
    http_port: int = 8001
    nik_secret: SecretStr | None = None
    """Production: from a secret store. Unset: a DEV-ONLY key generated under .local/dev-keys."""
    nik_key_file: Path = LOCAL_DIR / "dev-keys" / "registry-nik.key"
    import_chunk_size: int = 2000
    import_lease_seconds: float = 15.0
    import_parallel_chunks: int = 3
    max_import_bytes: int = 200_000_000
