"""Dates and times as Indonesian readers write them ("2 Desember 2026 pukul 09.30 WIB"): one
table of month names for the pages and the notify templates. Pure: the moment comes in already
in the zone it is shown in."""

from __future__ import annotations

import datetime as dt

MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def long_date(day: dt.date) -> str:
    """'2 Desember 2026'."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def long_time(local: dt.datetime, zone: str | None) -> str:
    """'2 Desember 2026 pukul 09.30 WIB', for a moment already in its local zone."""
    return f"{long_date(local)} pukul {local:%H.%M} {zone or ''}".rstrip()
