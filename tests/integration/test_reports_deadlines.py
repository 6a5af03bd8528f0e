"""Deadlines on real engines, driven by an injected clock: working days across Good Friday and
Idul Fitri with its cuti bersama, breaches and a late PPK's escalation, each fired exactly once
even when scans overlap."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts.topics import REPORT_CASES, REPORTS_PUBLIC
from services.kit.clock import FixedClock
from services.reports.store import ReportsStore
from services.reports.usecases import ReportsUseCases
from tests.integration.reports_pemda import registry_and_reports
from tests.integration.test_reports_flow import BUDI, bearer, report_body
from tests.kafka_reader import events_of, read_topic

FILED = dt.datetime(2024, 3, 25, 2, 0, tzinfo=dt.UTC)  # Monday 25 March 2024, 09:00 WIB


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


async def overlapping_scans(usecases: ReportsUseCases, now: dt.datetime) -> list[str]:
    """Three scans at once, as if leases had lapsed: the duties they fired, together."""
    results = await asyncio.gather(*(usecases.scan_deadlines(now, batch=10) for _ in range(3)))
    return sorted(duty.key for fired, _more in results for duty in fired)


async def test_deadlines_follow_the_holiday_calendar_and_fire_once(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path
) -> None:
    clock = FixedClock(FILED)
    async with registry_and_reports(settings_kwargs, key_dir, mint("bkpsdm"), clock) as pemda:
        client = pemda.reports
        store: ReportsStore = pemda.app.state.reports_store
        usecases: ReportsUseCases = pemda.app.state.reports_usecases

        async def file(nip: str, name: str) -> str:
            body = report_body(incident_date="2024-03-22", accused={"name": name, "nip": nip})
            response = await client.post(
                "/v1/reports/bawaslu",
                json={**body, "bawaslu_reference": f"TM-{nip[-4:]}"},
                headers=bearer(mint("bawaslu")),
            )
            assert response.status_code == 201, response.text
            return str(response.json()["case_id"])

        async def move(case_id: str, role: str, action: str) -> dict[str, Any]:
            response = await client.post(
                f"/v1/reports/{case_id}/transitions",
                json={"action": action, "reason": f"Tindak lanjut: {action}"},
                headers=bearer(mint(role)),
            )
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        ignored = await file("198601012010011001", "Budi Santosa")  # nobody verifies this one
        followed = await file(BUDI, "Budi Santoso")
        case = (await client.get(f"/v1/reports/{ignored}", headers=bearer(mint("bkpsdm")))).json()
        # 7 calendar days: to the end of Monday 1 April, WIB.
        assert utc(case["deadlines"]["verification"]) == utc("2024-04-01T17:00:00+00:00")

        clock.moment = utc("2024-03-26T03:00:00+00:00")
        verified = await move(followed, "bkn", "verify")
        # 3 working days from Tuesday 26 March: 27, 28, (Good Friday 29 March is a holiday), 1 April.
        assert utc(verified["deadlines"]["bawaslu_review"]) == utc("2024-04-01T17:00:00+00:00")

        clock.moment = utc("2024-04-01T02:00:00+00:00")
        recommended = await move(followed, "bawaslu", "recommend")
        # 14 working days from 1 April skip Idul Fitri (10–11 April) and its cuti bersama
        # (8, 9, 12 and 15 April): the PPK has until the end of Monday 29 April.
        assert utc(recommended["deadlines"]["decision"]) == utc("2024-04-29T17:00:00+00:00")

        # Just before the verification deadline ends nothing fires; at its end it fires once.
        assert await overlapping_scans(usecases, utc("2024-04-01T16:59:59+00:00")) == []
        assert await overlapping_scans(usecases, utc("2024-04-01T17:00:00+00:00")) == ["breach:verification"]
        assert await overlapping_scans(usecases, utc("2024-04-02T00:00:00+00:00")) == []
        listed = (
            await client.get("/v1/reports", params={"overdue": "true"}, headers=bearer(mint("bkpsdm")))
        ).json()
        assert [item["id"] for item in listed["items"]] == [ignored]

        # The PPK lets the decision deadline pass: warning, reprimand, then the data block.
        await move(followed, "inspektorat", "examine")
        assert await overlapping_scans(usecases, utc("2024-04-29T16:59:59+00:00")) == []
        assert await overlapping_scans(usecases, utc("2024-04-29T17:00:00+00:00")) == [
            "breach:decision",
            "escalation:peringatan",
        ]
        # Five working days on: 30 April, 2, 3, 6, 7 May (1 May is Labour Day).
        assert await overlapping_scans(usecases, utc("2024-05-07T16:59:59+00:00")) == []
        assert await overlapping_scans(usecases, utc("2024-05-07T17:00:00+00:00")) == ["escalation:teguran"]
        # Five more: 8, 13, 14, 15, 16 May (9 May Ascension, 10 May cuti bersama).
        assert await overlapping_scans(usecases, utc("2024-05-16T17:00:00+00:00")) == [
            "escalation:blokir_data"
        ]
        assert await overlapping_scans(usecases, utc("2025-01-01T00:00:00+00:00")) == []

        # Once decided, nothing more is owed on the case.
        clock.moment = utc("2024-05-20T03:00:00+00:00")
        decided = await client.post(
            f"/v1/reports/{followed}/transitions",
            json={
                "action": "decide_sanction",
                "reason": "Sanksi moral",
                "sanction": "moral_pernyataan_terbuka",
            },
            headers=bearer(mint("ppk")),
        )
        assert decided.status_code == 200, decided.text
        followed_case = await store.cases.find_one({"_id": followed})
        assert followed_case is not None and "next_due_at" not in followed_case

        bootstrap = str(settings_kwargs["kafka_bootstrap_servers"])
        internal = events_of(
            await read_topic(bootstrap, pemda.settings.topic(REPORT_CASES.name), lambda rs: len(rs) >= 11)
        )
        duties = [
            (e.data["case"]["case_id"], e.data.get("deadline") or e.data.get("level"))
            for e in internal
            if e.type in ("report.deadline_breached.v1", "report.escalated.v1")
        ]
        assert sorted(duties) == sorted(
            [
                (ignored, "verification"),
                (followed, "decision"),
                (followed, "peringatan"),
                (followed, "teguran"),
                (followed, "blokir_data"),
            ]
        )
        public = events_of(
            await read_topic(bootstrap, pemda.settings.topic(REPORTS_PUBLIC.name), lambda rs: len(rs) >= 10)
        )
        blocks = [
            e for e in public if e.type == "public.report.escalated.v1" and e.data["level"] == "blokir_data"
        ]
        assert len(blocks) == 1 and blocks[0].data["subject_employee_id"] == BUDI
        warnings = [
            e for e in public if e.type == "public.report.escalated.v1" and e.data["level"] != "blokir_data"
        ]
        assert all(e.data["subject_employee_id"] is None for e in warnings)
