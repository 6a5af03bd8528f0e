"""The working-day calendar with its official holiday table (services/reports/workdays.py): parsing
and strict validation of the table, the table replacing the `holidays` library for its years, the
fallback for the others, and the coverage of this year and the next.

The tables written here are made up for the tests (years and days marked "fiktif"); the shipped table
is only checked for being valid and equal to the library for the years it covers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from services.reports import workdays
from services.reports.main import load_holiday_table
from services.reports.settings import ReportsSettings
from services.reports.workdays import (
    NO_OFFICIAL_YEARS,
    HolidayTable,
    HolidayTableError,
    WorkingCalendar,
    coverage,
    coverage_notice,
    parse_holiday_table,
)

UTC = dt.UTC
SHIPPED = ReportsSettings().holiday_table_file

# 2028 as a made-up SKB would have it: the library's estimated Idul Fitri (27–28 February 2028) is left
# out on purpose, and a week of cuti bersama is added where the library has working days.
FICTIONAL_2028 = """
[2028]
skb = "SKB fiktif untuk pengujian"
tanggal_skb = 2027-09-15
sumber = "tests/unit/test_reports_workdays.py"
libur_nasional = [
    { tanggal = 2028-01-01, nama = "Tahun Baru Masehi" },
    { tanggal = 2028-03-01, nama = "Hari Raya fiktif" },
    { tanggal = 2028-03-02, nama = "Hari kedua Hari Raya fiktif" },
]
cuti_bersama = [
    { tanggal = 2028-02-29, nama = "Cuti Bersama fiktif" },
    { tanggal = 2028-03-03, nama = "Cuti Bersama fiktif" },
    { tanggal = 2028-03-06, nama = "Cuti Bersama fiktif" },
]
"""


def year_entry(year: int, *, public: str = "", joint: str = "", extra: str = "") -> str:
    public = public or f'{{ tanggal = {year}-01-01, nama = "Tahun Baru Masehi" }},'
    return (
        f'[{year}]\nskb = "SKB fiktif"\nsumber = "uji"\n{extra}\n'
        f"libur_nasional = [\n    {public}\n]\ncuti_bersama = [\n    {joint}\n]\n"
    )


def problems_of(text: str) -> list[str]:
    with pytest.raises(HolidayTableError) as raised:
        parse_holiday_table(text, "uji.toml")
    assert str(raised.value).startswith("Tabel hari libur uji.toml tidak valid:\n- ")
    return raised.value.problems


# ---------------------------------------------------------------- the shipped table


def test_the_shipped_table_covers_2024_to_2026_and_agrees_with_the_library() -> None:
    table = parse_holiday_table(SHIPPED.read_text(encoding="utf-8"), str(SHIPPED))
    assert list(table.years) == [2024, 2025, 2026]
    assert table.warnings == ()
    official = WorkingCalendar(table=table)
    library = WorkingCalendar()
    day = dt.date(2024, 1, 1)
    while day.year <= 2026:
        assert official.holiday_name(day) == library.holiday_name(day), day
        day += dt.timedelta(days=1)
    entry = table.years[2025]
    assert entry.source.startswith("https://")
    assert dt.date(2025, 8, 18) in {holiday.day for holiday in entry.joint_leave}


def test_the_default_setting_loads_the_shipped_table() -> None:
    assert list(load_holiday_table(ReportsSettings()).years) == [2024, 2025, 2026]


def test_an_unreadable_file_stops_the_start_with_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "tidak-ada.toml"
    with pytest.raises(HolidayTableError) as raised:
        load_holiday_table(ReportsSettings(holiday_table_file=missing))
    assert str(missing) in str(raised.value)
    assert "berkas tidak dapat dibaca" in str(raised.value)


# ---------------------------------------------------------------- parsing and validation


def test_a_valid_table_is_parsed_into_its_years() -> None:
    table = parse_holiday_table(FICTIONAL_2028, "uji.toml")
    entry = table.years[2028]
    assert entry.decree == "SKB fiktif untuk pengujian"
    assert entry.decree_date == dt.date(2027, 9, 15)
    assert entry.public_holidays[0].day == dt.date(2028, 1, 1)
    assert len(entry.joint_leave) == 3
    assert table.is_official(2028)
    assert not table.is_official(2027)


def test_an_empty_file_is_a_table_without_official_years() -> None:
    assert parse_holiday_table("# belum ada tahun\n", "uji.toml").years == {}


def test_text_that_is_not_toml_is_refused() -> None:
    [problem] = problems_of("[2028\nskb = 1")
    assert problem.startswith("bukan TOML yang valid")


def test_a_section_that_is_not_a_year_is_refused() -> None:
    [problem] = problems_of(year_entry(2028).replace("[2028]", "[tahun_2028]"))
    assert problem == "tahun_2028: bukan tahun; setiap bagian adalah satu tahun, misalnya [2027]"


def test_missing_fields_and_unknown_fields_are_named() -> None:
    text = '[2028]\nsumber = "uji"\ncatatan = "x"\nlibur_nasional = []\n'
    assert problems_of(text) == [
        "2028.skb: wajib diisi",
        "2028.libur_nasional: tidak boleh kosong",
        "2028.catatan: kolom ini tidak dikenal",
    ]


def test_a_date_in_quotes_is_not_a_date() -> None:
    text = year_entry(2028, public='{ tanggal = "2028-01-01", nama = "Tahun Baru Masehi" },')
    assert problems_of(text) == [
        "2028.libur_nasional.0.tanggal: harus berupa tanggal TOML tanpa tanda kutip (contoh: 2027-01-01)"
    ]


def test_a_date_outside_its_year_is_refused() -> None:
    text = year_entry(2028, joint='{ tanggal = 2029-01-02, nama = "Cuti Bersama fiktif" },')
    assert problems_of(text) == ["2028.cuti_bersama.0: 2029-01-02 (Cuti Bersama fiktif) di luar tahun 2028"]


def test_a_date_listed_twice_is_refused_even_across_the_two_lists() -> None:
    text = year_entry(2028, joint='{ tanggal = 2028-01-01, nama = "Cuti Bersama fiktif" },')
    assert problems_of(text) == [
        "2028.cuti_bersama.0: 2028-01-01 (Cuti Bersama fiktif) sudah tercantum sebagai "
        "libur_nasional (Tahun Baru Masehi); satu tanggal hanya boleh satu kali"
    ]


def test_every_problem_of_every_year_is_listed_at_once() -> None:
    text = (
        year_entry(2028, joint='{ tanggal = 2027-12-31, nama = "Cuti Bersama fiktif" },')
        + year_entry(2029, extra='tanggal_skb = "kemarin"')
        + "[catatan]\nx = 1\n"
    )
    assert problems_of(text) == [
        "2028.cuti_bersama.0: 2027-12-31 (Cuti Bersama fiktif) di luar tahun 2028",
        "2029.tanggal_skb: harus berupa tanggal TOML tanpa tanda kutip (contoh: 2027-01-01)",
        "catatan: bukan tahun; setiap bagian adalah satu tahun, misalnya [2027]",
    ]


def test_cuti_bersama_on_a_weekend_is_kept_with_a_warning() -> None:
    # 4 March 2028 is a Saturday: most likely a typing mistake, but not the table's to refuse.
    text = year_entry(2028, joint='{ tanggal = 2028-03-04, nama = "Cuti Bersama fiktif" },')
    table = parse_holiday_table(text, "uji.toml")
    assert table.warnings == (
        "2028.cuti_bersama: 2028-03-04 (Cuti Bersama fiktif) jatuh pada hari Sabtu, bukan hari kerja",
    )
    assert WorkingCalendar(table=table).holiday_name(dt.date(2028, 3, 4)) == "Cuti Bersama fiktif"


def test_a_public_holiday_on_a_weekend_is_ordinary() -> None:
    text = year_entry(2028, public='{ tanggal = 2028-01-02, nama = "Hari Minggu fiktif" },')
    assert parse_holiday_table(text, "uji.toml").warnings == ()


# ---------------------------------------------------------------- the calendar


@pytest.fixture(scope="module")
def fictional() -> WorkingCalendar:
    return WorkingCalendar(table=parse_holiday_table(FICTIONAL_2028, "uji.toml"))


def test_an_official_year_replaces_the_library_for_the_whole_year(fictional: WorkingCalendar) -> None:
    library = WorkingCalendar()
    # The library's estimate for 2028, gone: the official list does not have it.
    assert library.holiday_name(dt.date(2028, 2, 28)) == "Hari kedua dari Hari Raya Idul Fitri (perkiraan)"
    assert fictional.holiday_name(dt.date(2028, 2, 28)) is None
    assert fictional.is_working_day(dt.date(2028, 2, 28))
    # Only what the official list says is off; even a fixed holiday the list lacks (17 August) works.
    assert library.holiday_name(dt.date(2028, 8, 17)) == "Hari Kemerdekaan Republik Indonesia"
    assert fictional.is_working_day(dt.date(2028, 8, 17))
    assert fictional.holiday_name(dt.date(2028, 3, 1)) == "Hari Raya fiktif"
    assert fictional.holiday_name(dt.date(2028, 2, 29)) == "Cuti Bersama fiktif"


def test_a_year_not_in_the_table_falls_back_to_the_library(fictional: WorkingCalendar) -> None:
    assert fictional.holiday_name(dt.date(2029, 8, 17)) == "Hari Kemerdekaan Republik Indonesia"
    assert fictional.holiday_name(dt.date(2024, 4, 10)) == "Hari Raya Idul Fitri"
    assert not fictional.is_working_day(dt.date(2024, 4, 8))


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Friday 25 February 2028: 28 Feb works (no estimate), then 29 Feb–3 March and 6 March are off.
        (dt.date(2028, 2, 25), 1, dt.date(2028, 2, 28)),
        (dt.date(2028, 2, 25), 2, dt.date(2028, 3, 7)),
        (dt.date(2028, 2, 25), 5, dt.date(2028, 3, 10)),
        # Across the year boundary into a year the table does not have: 1 January 2029 by the library.
        (dt.date(2028, 12, 29), 1, dt.date(2029, 1, 2)),
    ],
)
def test_working_days_count_on_the_official_list(
    fictional: WorkingCalendar, start: dt.date, days: int, expected: dt.date
) -> None:
    assert fictional.add_working_days(start, days) == expected


def test_without_a_table_the_calendar_is_the_library_as_before() -> None:
    calendar = WorkingCalendar("Asia/Jakarta")
    assert calendar.table is NO_OFFICIAL_YEARS
    assert calendar.holiday_name(dt.date(2024, 4, 8)) == "Cuti Bersama Hari Raya Idul Fitri"
    assert calendar.add_working_days(dt.date(2024, 4, 5), 1) == dt.date(2024, 4, 16)


# ---------------------------------------------------------------- coverage


def test_coverage_is_this_year_and_the_next() -> None:
    table = parse_holiday_table(FICTIONAL_2028, "uji.toml")
    assert coverage(table, dt.date(2027, 6, 1)) == {2027: "perkiraan", 2028: "resmi"}
    assert coverage(table, dt.date(2028, 12, 31)) == {2028: "resmi", 2029: "perkiraan"}
    assert coverage(HolidayTable(), dt.date(2028, 1, 1)) == {2028: "perkiraan", 2029: "perkiraan"}


def test_coverage_turns_at_new_year_in_the_calendars_timezone() -> None:
    table = parse_holiday_table(FICTIONAL_2028, "uji.toml")
    jakarta = WorkingCalendar("Asia/Jakarta", table)
    # 16:59 UTC on 31 December is 23:59 WIB: still 2027, and 2028 is next.
    assert jakarta.coverage(dt.datetime(2027, 12, 31, 16, 59, tzinfo=UTC)) == {
        2027: "perkiraan",
        2028: "resmi",
    }
    # 17:00 UTC is midnight WIB: 2028 now, and 2029 is next, not official.
    assert jakarta.coverage(dt.datetime(2027, 12, 31, 17, 0, tzinfo=UTC)) == {
        2028: "resmi",
        2029: "perkiraan",
    }
    # Jayapura (WIT, UTC+9) has turned already at 15:00 UTC.
    jayapura = WorkingCalendar("Asia/Jayapura", table)
    assert jayapura.coverage(dt.datetime(2027, 12, 31, 15, 0, tzinfo=UTC)) == {
        2028: "resmi",
        2029: "perkiraan",
    }
    with pytest.raises(ValueError, match="zona waktu"):
        jakarta.coverage(dt.datetime(2027, 12, 31, 17, 0))


def test_the_notice_says_which_years_are_estimates_and_what_to_do() -> None:
    notice = coverage_notice({2027: "perkiraan", 2028: "perkiraan"})
    assert notice["tahun"] == {"2027": "perkiraan", "2028": "perkiraan"}
    assert notice["pesan"].startswith(
        "Daftar resmi (SKB) hari libur nasional dan cuti bersama tahun 2027 dan 2028 belum ada di tabel"
    )
    assert "HOLIDAY_TABLE_FILE" in notice["pesan"]
    assert coverage_notice({2026: "resmi", 2027: "resmi"}) == {"tahun": {"2026": "resmi", "2027": "resmi"}}


def test_the_domain_still_exports_the_calendar() -> None:
    from services.reports import domain

    assert domain.WorkingCalendar is workdays.WorkingCalendar
