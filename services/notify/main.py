"""Assembly of the notify service: `build_app`, which `python -m services.notify` serves."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI

from services.kit.app import create_app
from services.kit.clock import Clock, FileClock, SystemClock
from services.kit.runtime import build_runtime
from services.kit.sealing import Sealer
from services.notify import handlers
from services.notify.api import router
from services.notify.channels import HttpSmsGateway, SmtpChannel, WebhookChannel
from services.notify.dispatcher import Dispatcher, DispatchMetrics, RecipientLimit
from services.notify.domain import QuietHours, Templates
from services.notify.settings import NotifySettings
from services.notify.store import NotifyStore
from services.notify.usecases import NotifyUseCases


def build_app(settings: NotifySettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    clock = clock or (FileClock(settings.clock_file) if settings.clock_file else SystemClock())
    runtime = build_runtime(settings)
    store = NotifyStore(runtime.database)
    sealer = Sealer.from_settings(
        settings.notify_contact_keys, settings.notify_contact_key_file, "kontak pelapor"
    )
    usecases = NotifyUseCases(
        store,
        clock,
        Templates(timezone=settings.timezone),
        sealer,
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
        sealer,
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
        per_recipient=RecipientLimit(settings.rate_limit_per_recipient)
        if settings.rate_limit_per_recipient
        else None,
    )
    handlers.subscribe(runtime.consumers, usecases, store.projection, dispatcher.wakeup)
    runtime.startup_hooks.append(store.ensure_indexes)
    runtime.background_tasks.append(dispatcher.run)
    app = create_app(runtime, "Netralitas ASN: notify", [router], publishes=[])
    app.state.notify_usecases = usecases
    app.state.notify_store = store
    app.state.dispatcher = dispatcher
    return app
