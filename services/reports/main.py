"""The reports service process: `python -m services.reports.main`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from pydantic import Field, SecretStr

from contracts.reports import INTERNAL_EVENTS, PUBLIC_EVENTS
from services.kit.app import build_runtime, create_app, serve
from services.kit.clock import Clock, FileClock, SystemClock
from services.kit.sealing import Sealer
from services.kit.settings import LOCAL_DIR, ServiceSettings
from services.reports import handlers
from services.reports.api import RateLimits, ReportsMetrics, router
from services.reports.domain import WorkingCalendar
from services.reports.scheduler import DeadlineScanner
from services.reports.store import ReportsStore


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


def build_app(settings: ReportsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ReportsSettings()
    clock = clock or (FileClock(settings.clock_file) if settings.clock_file else SystemClock())
    runtime = build_runtime(settings)
    store = ReportsStore(
        runtime,
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
        store,
        runtime.leases,
        clock,
        metrics,
        scan_seconds=settings.deadline_scan_seconds,
        batch_size=settings.deadline_batch_size,
    )
    handlers.subscribe(runtime.consumers, store)
    runtime.startup_hooks.append(store.ensure_indexes)
    runtime.background_tasks.append(scanner.run)
    runtime.background_tasks.append(store.intake_commit.run)
    app = create_app(
        runtime, "Netralitas ASN: reports", [router], publishes=[*INTERNAL_EVENTS, *PUBLIC_EVENTS]
    )
    app.state.reports_store = store
    app.state.reports_metrics = metrics
    app.state.rate_limits = RateLimits(
        settings.rate_limit_intake, settings.rate_limit_tracking, settings.trust_forwarded_for
    )
    app.state.max_body_bytes = settings.max_body_bytes
    app.state.deadline_scanner = scanner
    return app


def main() -> None:
    serve("services.reports.main:build_app", ReportsSettings())


if __name__ == "__main__":
    main()
