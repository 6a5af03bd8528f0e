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
    notify_contact_keys: SecretStr | None = None
    """Production: the notify service's Fernet key(s), to seal reporters' contacts for it alone.
    Unset: the DEV-ONLY key file that a local notify service reads too."""
    notify_contact_key_file: Path = LOCAL_DIR / "dev-keys" / "notify-contact.fernet"
    timezone: str = "Asia/Jakarta"
    """Where a deadline's day ends (WIB by default; WITA/WIT provinces set theirs)."""
    link_window_days: int = Field(default=2, ge=0, le=30)
    """Reports on one person whose incident dates are this close are one case."""
    escalation_step_days: int = Field(default=5, ge=1, le=30)
    """Working days between a late PPK's warning, reprimand and data block."""
    deadline_scan_seconds: float = 5.0
    deadline_batch_size: int = 1000
    rate_limit_intake: str = "30/minute"
    rate_limit_tracking: str = "120/minute"
    trust_forwarded_for: bool = False
    """Behind the ingress, the client is the first X-Forwarded-For address."""
    max_body_bytes: int = 65_536
    clock_file: Path | None = None
    """DEV/TEST ONLY: read "now" from this file (an ISO instant) to move deadlines in tests."""
