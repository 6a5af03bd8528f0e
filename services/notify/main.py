"""The notify service process: `python -m services.notify.main`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import FastAPI
from limits import parse
from pydantic import Field, SecretStr

from services.kit.app import build_runtime, create_app, serve
from services.kit.clock import Clock, FileClock, SystemClock
from services.kit.sealing import Sealer
from services.kit.settings import LOCAL_DIR, ServiceSettings
from services.notify import handlers
from services.notify.api import router
from services.notify.channels import HttpSmsGateway, SmtpChannel, WebhookChannel
from services.notify.dispatcher import Dispatcher, DispatchMetrics
from services.notify.domain import RateLimit, Templates
from services.notify.store import NotifyStore, QuietHours


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
    notify_contact_keys: SecretStr | None = None
    """Production: the Fernet key(s) reports seals reporters' contacts with. Unset: DEV-ONLY file."""
    notify_contact_key_file: Path = LOCAL_DIR / "dev-keys" / "notify-contact.fernet"
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


def parse_rate(text: str | None) -> RateLimit | None:
    """ "10/hour" → RateLimit(10, 1 h), with the `limits` library's notation."""
    if not text:
        return None
    item = parse(text)
    return RateLimit(item.amount, dt.timedelta(seconds=item.get_expiry()))


def build_app(settings: NotifySettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    clock = clock or (FileClock(settings.clock_file) if settings.clock_file else SystemClock())
    runtime = build_runtime(settings)
    store = NotifyStore(
        runtime,
        clock,
        Templates(timezone=settings.timezone),
        Sealer.from_settings(
            settings.notify_contact_keys, settings.notify_contact_key_file, "kontak pelapor"
        ),
        QuietHours(settings.timezone, settings.quiet_start, settings.quiet_end),
    )
    email = SmtpChannel(
        settings.smtp_host,
        settings.smtp_port,
        settings.mail_from,
        connections=settings.smtp_connections,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        start_tls=settings.smtp_start_tls,
    )
    dispatcher = Dispatcher(
        store,
        email,
        WebhookChannel(settings.webhook_timeout_seconds),
        clock,
        DispatchMetrics(runtime.metrics_registry),
        batch_size=settings.dispatch_batch_size,
        concurrency=settings.dispatch_concurrency,
        max_attempts=settings.max_attempts,
        retry_base=dt.timedelta(seconds=settings.retry_base_seconds),
        retry_cap=dt.timedelta(seconds=settings.retry_cap_seconds),
        claim_lease=dt.timedelta(seconds=settings.claim_lease_seconds),
        sms=HttpSmsGateway(
            settings.sms_gateway_url,
            settings.sms_gateway_token.get_secret_value() if settings.sms_gateway_token else None,
        )
        if settings.sms_gateway_url
        else None,
        per_recipient=parse_rate(settings.rate_limit_per_recipient),
    )
    handlers.subscribe(runtime.consumers, store, dispatcher.wakeup)
    runtime.startup_hooks.append(store.ensure_indexes)
    runtime.background_tasks.append(dispatcher.run)
    app = create_app(runtime, "Netralitas ASN: notify", [router], publishes=[])
    app.state.notify_store = store
    app.state.dispatcher = dispatcher
    return app


def main() -> None:
    serve("services.notify.main:build_app", NotifySettings())


if __name__ == "__main__":
    main()
