"""The reports service's holiday table on real engines: `/readyz` notices and the
`netral_holiday_list_official` gauge say when this year's or next year's list is only the library's
estimate (without making the service unready), an operator's table (HOLIDAY_TABLE_FILE) makes a year
official and the deadlines count on it, and a broken table stops the start.

The operator tables here are made up for the tests: their days are marked "fiktif"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.kit.clock import FixedClock
from services.kit.launch import LOAD_FAILED_EXIT
from services.reports.main import build_app
from services.reports.settings import ReportsSettings
from tests.conftest import running_app
from tests.integration.reports_pemda import PEOPLE, registry_and_reports
from tests.integration.test_reports_flow import BUDI, bearer, report_body
from tests.processes import ServiceRunner, spawn_service

START_SECONDS = 60
SHIPPED = ReportsSettings().holiday_table_file
FICTIONAL_2027 = """
[2027]
skb = "SKB fiktif untuk pengujian"
sumber = "tests/integration/test_reports_calendar.py"
libur_nasional = [
    { tanggal = 2027-01-01, nama = "Tahun Baru Masehi" },
]
cuti_bersama = [
    { tanggal = 2027-03-03, nama = "Cuti Bersama fiktif" },
    { tanggal = 2027-03-04, nama = "Cuti Bersama fiktif" },
]
"""


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def official_gauge(metrics_text: str) -> dict[str, float]:
    [family] = [
        f for f in text_string_to_metric_families(metrics_text) if f.name == "netral_holiday_list_official"
    ]
    return {sample.labels["year"]: sample.value for sample in family.samples}


def operator_table(tmp_path: Path) -> Path:
    """The shipped table with one more year, as an operator's copy would be."""
    path = tmp_path / "hari_libur_operator.toml"
    path.write_text(SHIPPED.read_text(encoding="utf-8") + FICTIONAL_2027, encoding="utf-8")
    return path


async def test_the_service_process_warns_and_reports_estimated_years(
    service_runner: ServiceRunner, tmp_path: Path
) -> None:
    clock_file = tmp_path / "clock"
    clock_file.write_text("2027-06-01T09:00:00+07:00")
    reports = service_runner.start("services.reports", CLOCK_FILE=str(clock_file))
    async with httpx.AsyncClient(base_url=reports.url, timeout=10) as client:
        ready = await client.get("/readyz")
        # Ready all the same: an estimated list is a notice for operators, not a failure.
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["ready"] is True
        notice = body["notices"]["hari_libur"]
        assert notice["tahun"] == {"2027": "perkiraan", "2028": "perkiraan"}
        assert "tahun 2027 dan 2028 belum ada di tabel" in notice["pesan"]
        assert official_gauge((await client.get("/metrics")).text) == {"2027": 0.0, "2028": 0.0}
    log = reports.log.read_text()
    assert "no official holiday list for 2027 and 2028" in log, log
    assert '"level": "WARNING"' in log


async def test_the_notices_and_the_gauge_follow_the_clock_over_new_year(
    settings_kwargs: dict[str, object],
) -> None:
    clock = FixedClock(utc("2026-12-31T16:59:00+00:00"))  # 23:59 WIB on the last day of 2026
    app = build_app(ReportsSettings(**settings_kwargs, deadline_scan_seconds=3600), clock)  # type: ignore[arg-type]
    async with running_app(app) as client:
        body = (await client.get("/readyz")).json()
        assert body["notices"]["hari_libur"]["tahun"] == {"2026": "resmi", "2027": "perkiraan"}
        assert official_gauge((await client.get("/metrics")).text) == {"2026": 1.0, "2027": 0.0}

        clock.moment = utc("2026-12-31T17:00:00+00:00")  # midnight WIB: 2027 has begun
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["notices"]["hari_libur"]["tahun"] == {"2027": "perkiraan", "2028": "perkiraan"}
        # The series of 2026 is gone, not left behind at its last value.
        assert official_gauge((await client.get("/metrics")).text) == {"2027": 0.0, "2028": 0.0}


async def test_an_operator_table_makes_a_year_official_and_deadlines_count_on_it(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path, tmp_path: Path
) -> None:
    clock = FixedClock(utc("2027-03-01T02:00:00+00:00"))  # Monday 1 March 2027, 09:00 WIB
    async with registry_and_reports(
        settings_kwargs,
        key_dir,
        mint("bkpsdm"),
        clock,
        people=[person for person in PEOPLE if person[0] == BUDI],
        holiday_table_file=operator_table(tmp_path),
    ) as pemda:
        client = pemda.reports
        notice = (await client.get("/readyz")).json()["notices"]["hari_libur"]
        assert notice["tahun"] == {"2027": "resmi", "2028": "perkiraan"}
        assert "tahun 2028 belum ada di tabel" in notice["pesan"]
        assert official_gauge((await client.get("/metrics")).text) == {"2027": 1.0, "2028": 0.0}

        filed = await client.post(
            "/v1/reports/bawaslu",
            json={
                **report_body(incident_date="2027-02-26", accused={"name": "Budi Santoso", "nip": BUDI}),
                "bawaslu_reference": "TM-0001",
            },
            headers=bearer(mint("bawaslu")),
        )
        assert filed.status_code == 201, filed.text
        clock.moment = utc("2027-03-02T03:00:00+00:00")  # Tuesday 2 March
        verified = await client.post(
            f"/v1/reports/{filed.json()['case_id']}/transitions",
            json={"action": "verify", "reason": "Laporan lengkap"},
            headers=bearer(mint("bkn")),
        )
        assert verified.status_code == 200, verified.text
        # 3 working days from 2 March on the operator's list: 3 and 4 March are its cuti bersama, so
        # 5, 8 and 9 March. The library's 2027 (Nyepi on 8 March, cuti bersama on 9 March) is replaced.
        assert utc(verified.json()["deadlines"]["bawaslu_review"]) == utc("2027-03-09T17:00:00+00:00")


def test_a_broken_operator_table_stops_the_start_with_its_problems(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    table = tmp_path / "hari_libur_rusak.toml"
    table.write_text(FICTIONAL_2027.replace("2027-03-04", "2028-03-04"), encoding="utf-8")
    log = tmp_path / "reports.log"
    process = spawn_service(
        "services.reports", {**service_env, "HTTP_PORT": "0", "HOLIDAY_TABLE_FILE": str(table)}, log
    )
    try:
        code = process.wait(timeout=START_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log.read_text()
    assert code == LOAD_FAILED_EXIT, text
    assert f"Tabel hari libur {table} tidak valid" in text, text
    assert "2027.cuti_bersama.1: 2028-03-04 (Cuti Bersama fiktif) di luar tahun 2027" in text
