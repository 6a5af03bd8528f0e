"""Assembly of the reports service: `build_app`, which `python -m services.reports` serves, and
`build_usecases`, its use cases with their keys (the benchmark assembles them alike)."""

from __future__ import annotations

import secrets

from fastapi import FastAPI

from contracts.reports import INTERNAL_EVENTS, PUBLIC_EVENTS
from services.kit.app import create_app
from services.kit.clock import Clock, FileClock, SystemClock
from services.kit.devkeys import configured_or_dev
from services.kit.runtime import build_runtime
from services.kit.sealedbox import ContactSealer
from services.kit.sealing import Sealer
from services.reports import handlers
from services.reports.api import RateLimits, ReportsMetrics, router
from services.reports.domain import WorkingCalendar
from services.reports.scheduler import DeadlineScanner
from services.reports.settings import ReportsSettings
from services.reports.store import ReportsStore
from services.reports.usecases import ReportsUseCases


def build_usecases(store: ReportsStore, settings: ReportsSettings, clock: Clock) -> ReportsUseCases:
    """The use cases with their keys from `settings` (each refused outside DEV_MODE when unset)."""
    # One key per purpose: the reporter vault (opened here, audited), the contact sealed for
    # notify (only notify's private key opens it), and the tracking-code HMAC.
    return ReportsUseCases(
        store,
        Sealer.from_settings(
            settings.reporter_keys,
            settings.reporter_key_file,
            "identitas pelapor",
            dev_mode=settings.dev_mode,
            setting="REPORTER_KEYS",
        ),
        ContactSealer.from_settings(
            settings.notify_contact_public_key,
            settings.notify_contact_private_key_file,
            settings.dev_mode,
            "NOTIFY_CONTACT_PUBLIC_KEY",
        ),
        clock,
        WorkingCalendar(settings.timezone),
        link_window_days=settings.link_window_days,
        escalation_step_days=settings.escalation_step_days,
        tracking_key=configured_or_dev(
            settings.tracking_key,
            settings.tracking_key_file,
            lambda: secrets.token_urlsafe(32).encode(),
            dev_mode=settings.dev_mode,
            setting="TRACKING_KEY",
        ),
    )


def build_app(settings: ReportsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ReportsSettings()
    clock = clock or (FileClock(settings.clock_file) if settings.clock_file else SystemClock())
    runtime = build_runtime(settings)
    store = ReportsStore(runtime)
    usecases = build_usecases(store, settings, clock)
    metrics = ReportsMetrics(runtime.metrics_registry)
    scanner = DeadlineScanner(
        usecases,
        runtime.leases,
        clock,
        metrics,
        scan_seconds=settings.deadline_scan_seconds,
        batch_size=settings.deadline_batch_size,
    )
    handlers.subscribe(runtime.consumers, store)
    runtime.startup_hooks.append(store.ensure_indexes)
    runtime.background_tasks.append(scanner.run)
    runtime.background_tasks.append(usecases.intake_commit.run)
    # Every body of this service is a small JSON document: the limit acts while it is read
    # (kit.requestlimits), so an oversized one is a 413 before anything parses it.
    app = create_app(
        runtime,
        "Netralitas ASN: reports",
        [router],
        publishes=[*INTERNAL_EVENTS, *PUBLIC_EVENTS],
        body_limits={"/v1": settings.max_body_bytes},
    )
    app.state.reports_store = store
    app.state.reports_usecases = usecases
    app.state.reports_metrics = metrics
    app.state.rate_limits = RateLimits(
        settings.rate_limit_intake, settings.rate_limit_tracking, settings.trusted_proxy_hops
    )
    app.state.deadline_scanner = scanner
    return app
