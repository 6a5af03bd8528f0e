"""Assembly of the notify service: `build_app`, which `python -m services.notify` serves."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import FastAPI

from services.kit.app import create_app
from services.kit.clock import Clock, FileClock, SystemClock
from services.kit.runtime import build_runtime
from services.kit.sealedbox import ContactOpener
from services.kit.sealing import Sealer
from services.notify import handlers, pages
from services.notify.api import replay_limited, router
from services.notify.channels import HttpSmsGateway, SmtpChannel, WebhookChannel, WebhookTargets
from services.notify.dispatcher import Dispatcher, DispatchMetrics, RecipientLimit
from services.notify.domain import QuietHours, ReplayLimited
from services.notify.messages import Templates
from services.notify.ratelimits import ReplayLimit
from services.notify.settings import NotifySettings
from services.notify.store import NotifyStore
from services.notify.usecases import NotifyUseCases

PAGE_TEMPLATES = Path(__file__).parent / "templates" / "pages"


def build_app(settings: NotifySettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    clock = clock or (FileClock(settings.clock_file) if settings.clock_file else SystemClock())
    runtime = build_runtime(settings)
    store = NotifyStore(runtime.database)
    # Two keys for two purposes: a compromise of reports (which seals contacts with the public
    # half of the first) neither opens the contacts nor forges agencies' webhooks.
    contacts = ContactOpener.from_settings(
        settings.notify_contact_private_key,
        settings.notify_contact_private_key_file,
        "kontak pelapor",
        dev_mode=settings.dev_mode,
        setting="NOTIFY_CONTACT_PRIVATE_KEY",
    )
    secrets = Sealer.from_settings(
        settings.webhook_secret_keys,
        settings.webhook_secret_key_file,
        "secret langganan",
        dev_mode=settings.dev_mode,
        setting="WEBHOOK_SECRET_KEYS",
    )
    webhook_targets = WebhookTargets(allow_private=settings.webhooks_to_private_targets)
    usecases = NotifyUseCases(
        store,
        clock,
        Templates(timezone=settings.timezone),
        secrets,
        QuietHours(settings.timezone, settings.quiet_start, settings.quiet_end),
        webhook_targets,
        ReplayLimit(settings.webhook_replay_rate_limit),
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
        WebhookChannel(webhook_targets, settings.webhook_timeout_seconds),
        clock,
        DispatchMetrics(runtime.metrics_registry),
        contacts,
        secrets,
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
    app = create_app(
        runtime,
        "Netralitas ASN: notify",
        [router],
        publishes=[],
        page_routers=[pages.router],
        page_templates=PAGE_TEMPLATES,
    )
    app.add_exception_handler(ReplayLimited, replay_limited)
    app.state.notify_usecases = usecases
    app.state.notify_store = store
    app.state.dispatcher = dispatcher
    return app
