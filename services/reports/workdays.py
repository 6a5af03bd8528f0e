"""Working days of Indonesian government offices: Monday to Friday, minus the public holidays (hari
libur nasional) and the cuti bersama of the year.

Each year's list is official once the SKB of the Minister of Religious Affairs, the Minister of
Manpower and the Minister of PAN-RB is published. The `HolidayTable` holds those official lists, one
entry per year; a year in it replaces the `holidays` library's list for that year. A year not in it
falls back to the library, which only estimates the Islamic holidays ahead and knows no cuti bersama
before the SKB: those years are "perkiraan", and `coverage` says so.

Pure: the table comes in parsed (`parse_holiday_table` takes the file's text), the time always comes
in as an argument. Reading the file is the assembly's job (services/reports/main.py).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo

import holidays
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.kit.validation import readable_message

Coverage = Literal["resmi", "perkiraan"]
"""Of a year's list: "resmi" from the official SKB list in the table, "perkiraan" the library's."""

_SATURDAY = 5
_DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


# ---------------------------------------------------------------- the official table


@dataclass(frozen=True)
class Holiday:
    day: dt.date
    name: str


@dataclass(frozen=True)
class OfficialYear:
    """One year's official list, as decreed."""

    year: int
    decree: str
    """The SKB (and any Keppres) that fixes the list, as cited by whoever entered it."""
    decree_date: dt.date | None
    source: str
    """Where the list was copied from (the SKB's text on a JDIH, or a government page)."""
    public_holidays: tuple[Holiday, ...]
    joint_leave: tuple[Holiday, ...]
    """Cuti bersama: days off for ASN, deducted from annual leave, that are not public holidays."""

    def days_off(self) -> Mapping[dt.date, str]:
        return MappingProxyType(
            {entry.day: entry.name for entry in (*self.public_holidays, *self.joint_leave)}
        )


@dataclass(frozen=True)
class HolidayTable:
    years: Mapping[int, OfficialYear] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    """Entries that are probably mistakes but legal: they are kept, and logged at start."""

    def is_official(self, year: int) -> bool:
        return year in self.years


NO_OFFICIAL_YEARS = HolidayTable()


class HolidayTableError(ValueError):
    """A holiday table that cannot be used. Every problem is listed, so that an operator fixes the
    file in one go; the service does not start on half a table."""

    def __init__(self, source: str, problems: Iterable[str]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"- {problem}" for problem in self.problems)
        super().__init__(f"Tabel hari libur {source} tidak valid:\n{lines}")


class _Entry(BaseModel):
    # Strict: a date written in quotes is a string in TOML, and must not pass as a date.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    tanggal: dt.date
    nama: str = Field(min_length=1)


class _Year(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    skb: str = Field(min_length=1)
    tanggal_skb: dt.date | None = None
    sumber: str = Field(min_length=1)
    # Every year has public holidays (1 January, 17 August); an empty list is a broken entry. A year
    # may have no cuti bersama at all (2021 kept only one).
    libur_nasional: list[_Entry] = Field(min_length=1)
    cuti_bersama: list[_Entry] = Field(default_factory=list)


# Only the strict-mode types the kit's general templates do not word for a file's author.
_TYPE_MESSAGES = {
    "date_type": "harus berupa tanggal TOML tanpa tanda kutip (contoh: 2027-01-01)",
    "string_type": "harus berupa teks dalam tanda kutip",
    "list_type": "harus berupa daftar [ ... ]",
    "model_type": "harus berupa tabel { ... }",
    "too_short": "tidak boleh kosong",
}


def _message(error: Mapping[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"])
    return f"{location}: {_TYPE_MESSAGES.get(str(error['type'])) or readable_message(error)}"


def parse_holiday_table(text: str, source: str) -> HolidayTable:
    """The table in `text` (TOML: one `[YYYY]` table per year, see services/reports/data/), checked
    strictly; `source` names the file in the messages. Raises `HolidayTableError` with every problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise HolidayTableError(source, [f"bukan TOML yang valid: {exc}"]) from exc
    problems: list[str] = []
    warnings: list[str] = []
    years: dict[int, OfficialYear] = {}
    for key, value in document.items():
        if not re.fullmatch(r"[12]\d{3}", key):
            problems.append(f"{key}: bukan tahun; setiap bagian adalah satu tahun, misalnya [2027]")
            continue
        try:
            entry = _Year.model_validate(value)
        except ValidationError as exc:
            problems += [_message({**error, "loc": (key, *error["loc"])}) for error in exc.errors()]
            continue
        year = int(key)
        problems += _problems_of(year, entry)
        warnings += _warnings_of(year, entry)
        years[year] = OfficialYear(
            year=year,
            decree=entry.skb,
            decree_date=entry.tanggal_skb,
            source=entry.sumber,
            public_holidays=tuple(Holiday(item.tanggal, item.nama) for item in entry.libur_nasional),
            joint_leave=tuple(Holiday(item.tanggal, item.nama) for item in entry.cuti_bersama),
        )
    if problems:
        raise HolidayTableError(source, problems)
    return HolidayTable(MappingProxyType(dict(sorted(years.items()))), tuple(warnings))


def _problems_of(year: int, entry: _Year) -> list[str]:
    problems = []
    seen: dict[dt.date, str] = {}
    for list_name, items in (("libur_nasional", entry.libur_nasional), ("cuti_bersama", entry.cuti_bersama)):
        for index, item in enumerate(items):
            where = f"{year}.{list_name}.{index}"
            if item.tanggal.year != year:
                problems.append(f"{where}: {item.tanggal.isoformat()} ({item.nama}) di luar tahun {year}")
            if item.tanggal in seen:
                problems.append(
                    f"{where}: {item.tanggal.isoformat()} ({item.nama}) sudah tercantum sebagai "
                    f"{seen[item.tanggal]}; satu tanggal hanya boleh satu kali"
                )
            seen.setdefault(item.tanggal, f"{list_name} ({item.nama})")
    return problems


def _warnings_of(year: int, entry: _Year) -> list[str]:
    # A public holiday on a weekend is ordinary (17 August 2025 was a Sunday); cuti bersama is leave
    # from a working day, so one on a weekend is most likely a typing mistake.
    return [
        f"{year}.cuti_bersama: {item.tanggal.isoformat()} ({item.nama}) jatuh pada hari "
        f"{_DAY_NAMES[item.tanggal.weekday()]}, bukan hari kerja"
        for item in entry.cuti_bersama
        if item.tanggal.weekday() >= _SATURDAY
    ]


def coverage(table: HolidayTable, today: dt.date) -> dict[int, Coverage]:
    """Whether the lists of this year and the next, the ones deadlines are counted on now, are
    official. `today` is the local date (the calendar's `local_date`)."""
    return {
        year: "resmi" if table.is_official(year) else "perkiraan" for year in (today.year, today.year + 1)
    }


def coverage_notice(years: Mapping[int, Coverage]) -> dict[str, Any]:
    """What `/readyz` shows about the holiday lists: each year's coverage and, when a year is not
    official, what that means and what to do."""
    notice: dict[str, Any] = {"tahun": {str(year): status for year, status in years.items()}}
    estimated = [str(year) for year, status in years.items() if status != "resmi"]
    if estimated:
        notice["pesan"] = (
            f"Daftar resmi (SKB) hari libur nasional dan cuti bersama tahun {' dan '.join(estimated)} "
            "belum ada di tabel hari libur: tenggat pada tahun itu dihitung dengan perkiraan pustaka "
            "holidays. Tambahkan daftar dari SKB ke tabel (HOLIDAY_TABLE_FILE)."
        )
    return notice


# ---------------------------------------------------------------- the calendar


@functools.lru_cache(maxsize=64)
def _holidays_of(year: int) -> Mapping[dt.date, str]:
    # Shared by every calendar: the dates do not depend on the timezone, and building a year costs
    # milliseconds that a deadline sweep over thousands of cases should not pay again.
    # Public holidays by Keppres (Keppres 8/2024 on hari libur nasional) and, in the "government"
    # category, the cuti bersama ASN of each year's SKB 3 Menteri, as far as the library knows them.
    table = holidays.country_holidays("ID", categories=("public", "government"), language="id", years=year)
    return MappingProxyType(dict(table.items()))


class WorkingCalendar:
    """Working days of Indonesian government offices: Monday to Friday, minus public holidays and cuti
    bersama. A year in `table` uses its official list; any other year, the `holidays` library's
    (loaded on first use)."""

    def __init__(self, timezone: str = "Asia/Jakarta", table: HolidayTable = NO_OFFICIAL_YEARS) -> None:
        self.timezone = timezone
        self.table = table
        self._zone = ZoneInfo(timezone)
        self._official = {year: entry.days_off() for year, entry in table.years.items()}

    def holiday_name(self, day: dt.date) -> str | None:
        # The SKB's list replaces the library's for its whole year, so that a day the library has
        # wrong (an estimated Idul Fitri) is not a holiday next to the official one.
        days_off = self._official.get(day.year)
        if days_off is None:
            days_off = _holidays_of(day.year)
        return days_off.get(day)

    def is_working_day(self, day: dt.date) -> bool:
        # Five working days a week for government offices: Perpres 21/2023 (hari kerja dan jam kerja
        # instansi pemerintah dan pegawai ASN). A pemda on a six-day week is not modelled.
        return day.weekday() < _SATURDAY and self.holiday_name(day) is None

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The `days`-th working day after `start`; `start` itself never counts, even if it is a
        working day, because a deadline runs from the day after the event. 0 returns `start`."""
        if days < 0:
            raise ValueError("jumlah hari kerja tidak boleh negatif")
        day = start
        remaining = days
        while remaining:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def end_of_day(self, day: dt.date) -> dt.datetime:
        """The UTC instant when `day` ends locally, i.e. the next local midnight. The deadline is met by
        anything before it, so a duty due at this instant fires at midnight, not a microsecond early."""
        midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=self._zone)
        return midnight.astimezone(dt.UTC)

    def local_date(self, moment: dt.datetime) -> dt.date:
        return require_aware(moment).astimezone(self._zone).date()

    def coverage(self, now: dt.datetime) -> dict[int, Coverage]:
        """`coverage` of this calendar's table for the local year of `now` and the next."""
        return coverage(self.table, self.local_date(now))


def require_aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("waktu harus memuat zona waktu")
    return moment
