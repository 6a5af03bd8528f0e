"""Assembly of the reports service: `build_app`, which `python -m services.reports` serves, and
`build_usecases`, its use cases with their keys (the benchmark assembles them alike)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from contracts.reports import INTERNAL_EVENTS, PUBLIC_EVENTS
from services.kit.app import create_app
from services.kit.clock import Clock, FileClock, SystemClock
from services.kit.devkeys import configured_or_dev
from services.kit.runtime import build_runtime
from services.kit.sealedbox import ContactSealer
from services.kit.sealing import Sealer
from services.reports import handlers
from services.reports.api import RateLimits, ReportsMetrics, router
from services.reports.domain import EVIDENCE_MAX_BYTES, EVIDENCE_MAX_FILES
from services.reports.pages import router as page_router
from services.reports.scheduler import DeadlineScanner
from services.reports.settings import ReportsSettings
from services.reports.store import ReportsStore
from services.reports.usecases import ReportsUseCases
from services.reports.workdays import (
    HolidayTable,
    HolidayTableError,
    WorkingCalendar,
    coverage_notice,
    parse_holiday_table,
)

log = logging.getLogger(__name__)
PAGE_TEMPLATES = Path(__file__).parent / "templates" / "pages"
UPLOAD_BODY_BYTES = EVIDENCE_MAX_FILES * EVIDENCE_MAX_BYTES + 1024 * 1024
"""The largest body of the pages that take evidence files: every file at its limit, and the
form's text fields."""


def load_holiday_table(settings: ReportsSettings) -> HolidayTable:
    """The official holiday table of HOLIDAY_TABLE_FILE. A missing or broken file stops the start
    (`HolidayTableError` lists every problem): deadlines are never counted on half a table."""
    path = settings.holiday_table_file
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HolidayTableError(str(path), [f"berkas tidak dapat dibaca: {exc}"]) from exc
    return parse_holiday_table(text, str(path))


class HolidayCoverageCollector(Collector):
    """`netral_holiday_list_official{year}`: 1 when the year's list is the official one from the
    table, 0 when it is the library's estimate. Computed on each scrape from the clock, so the
    years move on at New Year without any task keeping them up to date."""

    def __init__(self, calendar: WorkingCalendar, clock: Clock) -> None:
        self.calendar = calendar
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "netral_holiday_list_official",
            "1 when the holidays and cuti bersama of the year (this one and the next) come from the "
            "official SKB list in the holiday table, 0 when they are the holidays library's estimate",
            labels=["year"],
        )
        for year, status in self.calendar.coverage(self.clock.now()).items():
            family.add_metric([str(year)], 1.0 if status == "resmi" else 0.0)
        yield family


def warn_of_estimated_holidays(calendar: WorkingCalendar, clock: Clock) -> None:
    """At start: the table's doubtful entries, and the years this one and the next whose deadlines
    count on an estimate."""
    for warning in calendar.table.warnings:
        log.warning("holiday table: %s", warning)
    years = calendar.coverage(clock.now())
    estimated = [str(year) for year, status in years.items() if status != "resmi"]
    if estimated:
        log.warning(
            "no official holiday list for %s: deadlines in those years count on the holidays "
            "library's estimate; add the SKB's list to HOLIDAY_TABLE_FILE",
            " and ".join(estimated),
            extra={"official_years": list(calendar.table.years)},
        )


def holiday_notices(calendar: WorkingCalendar, clock: Clock) -> dict[str, Any]:
    """`/readyz` "notices": whether this year's and next year's holiday lists are official."""
    return {"hari_libur": coverage_notice(calendar.coverage(clock.now()))}


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
        WorkingCalendar(settings.timezone, load_holiday_table(settings)),
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

    async def warn_at_start() -> None:
        # A hook rather than at build: the log is configured by then, and the hooks before it have
        # succeeded, so a retried start does not repeat the warning.
        warn_of_estimated_holidays(usecases.calendar, clock)

    runtime.startup_hooks.append(warn_at_start)
    runtime.metrics_registry.register(HolidayCoverageCollector(usecases.calendar, clock))
    runtime.background_tasks.append(scanner.run)
    runtime.background_tasks.append(usecases.intake_commit.run)
    # Every body of the API is a small JSON document: the limit acts while it is read
    # (kit.requestlimits), so an oversized one is a 413 before anything parses it. The two pages
    # that take evidence files take up to EVIDENCE_MAX_FILES of them.
    app = create_app(
        runtime,
        "Netralitas ASN: reports",
        [router],
        publishes=[*INTERNAL_EVENTS, *PUBLIC_EVENTS],
        body_limits={
            "/v1": settings.max_body_bytes,
            "/lapor": UPLOAD_BODY_BYTES,
            "/lacak/tambah": UPLOAD_BODY_BYTES,
        },
        notices=lambda: holiday_notices(usecases.calendar, clock),
        page_routers=[page_router],
        page_templates=PAGE_TEMPLATES,
    )
    app.state.reports_store = store
    app.state.reports_usecases = usecases
    app.state.reports_metrics = metrics
    app.state.rate_limits = RateLimits(
        settings.rate_limit_intake, settings.rate_limit_tracking, settings.trusted_proxy_hops
    )
    app.state.deadline_scanner = scanner
    return app
