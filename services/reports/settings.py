"""Settings of the reports service, from environment variables with local defaults. Light to
import: the process entry (`python -m services.reports`) reads them before anything heavy loads."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from services.kit.settings import LOCAL_DIR, ServiceSettings


class ReportsSettings(ServiceSettings):
    service_name: str = "reports"
    http_port: int = 8003
    reporter_keys: SecretStr | None = None
    """Production: comma-separated Fernet keys from a secret store; the first encrypts, all
    decrypt (rotation). Unset: a DEV-ONLY key generated under .local/dev-keys."""
    reporter_key_file: Path = LOCAL_DIR / "dev-keys" / "reports-reporter.fernet"
    notify_contact_public_key: str | None = None
    """Production: notify's X25519 public key (base64 of 32 bytes), to seal reporters' contacts
    so that only notify, with its private key, opens them. Not a secret; required unless DEV_MODE."""
    notify_contact_private_key_file: Path = LOCAL_DIR / "dev-keys" / "notify-contact.private"
    """DEV-ONLY: the local notify's private key file, whose public half is used when
    NOTIFY_CONTACT_PUBLIC_KEY is unset in development."""
    tracking_key: SecretStr | None = None
    """Production: the HMAC key of the stored tracking-code hashes, from a secret store;
    required unless DEV_MODE. Changing it makes every earlier tracking code unknown."""
    tracking_key_file: Path = LOCAL_DIR / "dev-keys" / "reports-tracking.key"
    timezone: str = "Asia/Jakarta"
    """Where a deadline's day ends (WIB by default; WITA/WIT provinces set theirs)."""
    holiday_table_file: Path = Path(__file__).parent / "data" / "hari_libur_resmi.toml"
    """The official lists of public holidays and cuti bersama, one per year (the SKB of each year).
    Default: the table shipped with the service. Operators point this at their own copy to add a
    year when its SKB is published; a broken file stops the start (docs/operations.md)."""
    link_window_days: int = Field(default=2, ge=0, le=30)
    """Reports on one person whose incident dates are this close are one case."""
    escalation_step_days: int = Field(default=5, ge=1, le=30)
    """Working days between a late PPK's warning, reprimand and data block."""
    deadline_scan_seconds: float = 5.0
    deadline_batch_size: int = 1000
    rate_limit_intake: str = "30/minute"
    rate_limit_tracking: str = "120/minute"
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10)
    """How many proxies in front of the service append to X-Forwarded-For (1 behind the
    ingress). The client is the address that many hops from the right; 0 ignores the header
    and uses the connection's peer. The addresses to the left are whatever the client sent."""
    max_body_bytes: int = 65_536
    """The largest request body of every /v1 path, refused with 413 while it is read."""
    clock_file: Path | None = None
    """DEV/TEST ONLY: read "now" from this file (an ISO instant) to move deadlines in tests."""
