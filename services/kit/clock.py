"""The service's sense of "now", injectable so that deadlines are tested without sleeping."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """For in-process tests: time moves only when the test moves it."""

    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def now(self) -> dt.datetime:
        return self.moment

    def advance(self, delta: dt.timedelta) -> None:
        self.moment += delta


class FileClock:
    """DEV/TEST ONLY (setting CLOCK_FILE): "now" is the ISO instant written in a file, so that a
    test can move the clock of several running processes at once. Without the file it is the
    system clock. Never set in production."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cached: tuple[float, dt.datetime] | None = None

    def now(self) -> dt.datetime:
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return dt.datetime.now(dt.UTC)
        if self._cached is None or self._cached[0] != stamp:
            moment = dt.datetime.fromisoformat(self.path.read_text().strip())
            if moment.tzinfo is None:
                raise ValueError(f"{self.path}: waktu harus memuat zona waktu")
            self._cached = (stamp, moment.astimezone(dt.UTC))
        return self._cached[1]
