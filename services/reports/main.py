"""Assembly of the reports service: `build_app`, which `python -m services.reports` serves."""

from __future__ import annotations

from fastapi import FastAPI

from contracts.reports import INTERNAL_EVENTS, PUBLIC_EVENTS
from services.kit.app import create_app
from services.kit.clock import Clock, FileClock, SystemClock
from services.kit.runtime import build_runtime
from services.kit.sealing import Sealer
from services.reports import handlers
from services.reports.api import RateLimits, ReportsMetrics, router
from services.reports.domain import WorkingCalendar
from services.reports.scheduler import DeadlineScanner
from services.reports.settings import ReportsSettings
from services.reports.store import ReportsStore
from services.reports.usecases import ReportsUseCases


def build_app(settings: ReportsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ReportsSettings()
    clock = clock or (FileClock(settings.clock_file) if settings.clock_file else SystemClock())
    runtime = build_runtime(settings)
    store = ReportsStore(runtime)
    usecases = ReportsUseCases(
        store,
        Sealer.from_settings(settings.reporter_keys, settings.reporter_key_file, "identitas pelapor"),
        Sealer.from_settings(
            settings.notify_contact_keys, settings.notify_contact_key_file, "kontak pelapor"
        ),
        clock,
        WorkingCalendar(settings.timezone),
        link_window_days=settings.link_window_days,
        escalation_step_days=settings.escalation_step_days,
    )
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
    app = create_app(
        runtime, "Netralitas ASN: reports", [router], publishes=[*INTERNAL_EVENTS, *PUBLIC_EVENTS]
    )
    app.state.reports_store = store
    app.state.reports_usecases = usecases
    app.state.reports_metrics = metrics
    app.state.rate_limits = RateLimits(
        settings.rate_limit_intake, settings.rate_limit_tracking, settings.trust_forwarded_for
    )
    app.state.max_body_bytes = settings.max_body_bytes
    app.state.deadline_scanner = scanner
    return app
