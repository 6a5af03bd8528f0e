"""Settings of the signing service, from environment variables with local defaults. Light to
import: the process entry (`python -m services.signing`) reads them before anything heavy loads."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr, field_validator

from services.kit.settings import LOCAL_DIR, ServiceSettings


class SigningSettings(ServiceSettings):
    service_name: str = "signing"
    http_port: int = 8002
    receipt_key_pem: SecretStr | None = None
    """Production: the Ed25519 receipt key from a secret store. Unset: DEV-ONLY key file."""
    receipt_key_file: Path = LOCAL_DIR / "dev-keys" / "signing-receipt-ed25519.pem"
    http_workers: int = 1
    chain_batch_size: int = 2000
    checkpoint_seconds: float = 60.0
    timezone: str = "Asia/Jakarta"
    """Where the campaign period's first day begins, for the deadline rule (WIB by default;
    WITA/WIT provinces set theirs)."""
    clock_file: Path | None = None
    """DEV/TEST ONLY: "now" read from this file (see kit.clock.FileClock). Never in production."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # Refused at start-up, not at the first campaign.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"zona waktu tidak dikenal: {value}") from exc
        return value
