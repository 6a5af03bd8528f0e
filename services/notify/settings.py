"""Settings of the notify service, from environment variables with local defaults. Light to
import: the process entry (`python -m services.notify`) reads them before anything heavy loads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field, SecretStr

from services.kit.settings import LOCAL_DIR, ServiceSettings


class NotifySettings(ServiceSettings):
    service_name: str = "notify"
    http_port: int = 8004
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    """Locally `make up` runs an SMTP sink there (aiosmtpd)."""
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_start_tls: bool | None = None
    smtp_connections: int = Field(default=4, ge=1, le=64)
    mail_from: str = "Netralitas ASN <no-reply@netral.local>"
    notify_contact_private_key: SecretStr | None = None
    """Production: base64 of notify's X25519 private key, which alone opens the reporters' contacts
    that reports seals with its public half (reports' NOTIFY_CONTACT_PUBLIC_KEY). Unset, in
    development only: the DEV-ONLY file below, whose public half reports reads."""
    notify_contact_private_key_file: Path = LOCAL_DIR / "dev-keys" / "notify-contact.private"
    webhook_secret_keys: SecretStr | None = None
    """Production: the Fernet key(s) sealing agencies' webhook secrets, notify's alone (never the
    reporters' contact key). Unset, in development only: a DEV-ONLY file."""
    webhook_secret_key_file: Path = LOCAL_DIR / "dev-keys" / "notify-webhook.fernet"
    webhook_allow_private_targets: bool | None = None
    """Webhooks to loopback and private addresses, over plain http too, for a local receiver.
    Unset: on in development (DEV_MODE), off otherwise. Link-local and cloud metadata addresses
    are refused even when on."""
    webhook_replay_rate_limit: str = "5/hour"
    """At most this many replays of one subscription per moving window (`limits` notation)."""
    timezone: str = "Asia/Jakarta"
    quiet_start: dt.time = dt.time(21, 0)
    quiet_end: dt.time = dt.time(6, 0)
    """Reminders are not sent between these local times; case notices are."""
    dispatch_batch_size: int = Field(default=500, ge=1)
    dispatch_concurrency: int = Field(default=16, ge=1)
    max_attempts: int = Field(default=6, ge=1)
    retry_base_seconds: float = 30.0
    retry_cap_seconds: float = 3600.0
    webhook_timeout_seconds: float = 5.0
    rate_limit_per_recipient: str | None = "10/hour"
    """At most this many messages to one recipient (e-mail, SMS) per window, e.g. "10/hour";
    empty for none. Webhooks are not limited."""
    sms_gateway_url: str | None = None
    """An HTTP SMS/WhatsApp gateway (POST {to, text, reference}); unset, SMS rules dead-letter."""
    sms_gateway_token: SecretStr | None = None
    claim_lease_seconds: float = 300.0
    """After this, deliveries claimed by a dispatcher that stopped are marked in doubt."""
    clock_file: Path | None = None
    """DEV/TEST ONLY: read "now" from this file (an ISO instant)."""

    @property
    def webhooks_to_private_targets(self) -> bool:
        if self.webhook_allow_private_targets is not None:
            return self.webhook_allow_private_targets
        return self.dev_mode
