"""The deadline scanner: one replica at a time (a lease) fires every duty that has come due:
breaches of the verification, Bawaslu-review and decision deadlines, and the escalation of a
PPK late with the decision. Each duty fires once even if two scanners overlap (see
`ReportsUseCases.scan_deadlines`)."""

from __future__ import annotations

import time

from services.kit.clock import Clock
from services.kit.leases import Leases
from services.kit.polling import Lease, Wakeup, poll_forever
from services.reports.api import ReportsMetrics
from services.reports.usecases import ReportsUseCases

LEASE = "reports.deadline-scanner"


class DeadlineScanner:
    def __init__(
        self,
        usecases: ReportsUseCases,
        leases: Leases,
        clock: Clock,
        metrics: ReportsMetrics,
        scan_seconds: float,
        batch_size: int = 1000,
        gauge_seconds: float = 60.0,
        lease_seconds: float = 15.0,
    ) -> None:
        self.usecases = usecases
        self.leases = leases
        self.clock = clock
        self.metrics = metrics
        self.scan_seconds = scan_seconds
        self.batch_size = batch_size
        self.gauge_seconds = gauge_seconds
        self.lease_seconds = lease_seconds
        self.wakeup = Wakeup()
        self._gauge_due = 0.0

    async def step(self) -> bool:
        fired, more = await self.usecases.scan_deadlines(self.clock.now(), self.batch_size)
        for duty in fired:
            if duty.level is None:
                self.metrics.breaches.labels(duty.deadline.value).inc()
            else:
                self.metrics.escalations.labels(duty.level.value).inc()
        if time.monotonic() >= self._gauge_due:
            self._gauge_due = time.monotonic() + self.gauge_seconds
            for state, count in (await self.usecases.cases_by_state()).items():
                self.metrics.cases.labels(state).set(count)
        return more

    async def run(self) -> None:
        await poll_forever(
            "deadline scheduler",
            self.step,
            self.wakeup,
            self.scan_seconds,
            Lease(self.leases, LEASE, self.lease_seconds),
        )
