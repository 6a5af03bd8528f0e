"""A small pemda for reports tests: registry and reports in-process on the shared engines,
the reports service on an injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from fastapi import FastAPI

from services.kit.clock import FixedClock
from services.registry.main import build_app as build_registry
from services.registry.settings import RegistrySettings
from services.reports.main import build_app as build_reports
from services.reports.settings import ReportsSettings
from tests.conftest import running_app
from tests.integration.pemda import UNITS
from tests.kafka_reader import wait_for

# (nip, name, employment type, level, unit)
PEOPLE: tuple[tuple[str, str, str, str, str], ...] = (
    ("197502022000031002", "Dr. Ahmad Hidayat, M.Si.", "PNS", "JPT", "32.01.001"),
    ("198503152010011005", "Budi Santoso, S.Kom.", "PNS", "STAFF", "32.01.001"),
    ("198601012010011001", "Budi Santosa", "PNS", "STAFF", "32.01.001"),
    ("199003032021212003", "Siti Rahmawati", "PPPK", "STAFF", "32.01.001"),
)


@dataclass
class ReportsPemda:
    registry: httpx.AsyncClient
    reports: httpx.AsyncClient
    app: FastAPI
    settings: ReportsSettings
    clock: FixedClock
    employee_ids: dict[str, str] = field(default_factory=dict)
    """Registry id of each registered person, by name (non-ASN and elected heads have no NIP)."""


@asynccontextmanager
async def registry_and_reports(
    settings_kwargs: dict[str, object],
    key_dir: Path,
    admin_token: str,
    clock: FixedClock,
    people: Sequence[tuple[str, str, str, str, str]] = PEOPLE,
    more_people: Sequence[dict[str, object]] = (),
    **reports_overrides: object,
) -> AsyncIterator[ReportsPemda]:
    common = {key: value for key, value in settings_kwargs.items() if key != "mongodb_database"}
    database = str(settings_kwargs["mongodb_database"])
    registry_settings = RegistrySettings(mongodb_database=f"{database}_r", **common)  # type: ignore[arg-type]
    reports_settings = ReportsSettings(
        mongodb_database=f"{database}_rp",
        deadline_scan_seconds=3600,  # tests drive the scanner themselves
        **{**common, **reports_overrides},  # type: ignore[arg-type]
    )
    admin = {"Authorization": f"Bearer {admin_token}"}
    reports_app = build_reports(reports_settings, clock=clock)
    async with (
        running_app(build_registry(registry_settings)) as registry,
        running_app(reports_app) as reports,
    ):
        for unit in UNITS:
            assert (await registry.post("/v1/org-units", json=unit, headers=admin)).status_code == 201
        for nip, name, employment_type, level, unit_code in people:
            body = {
                "nip": nip,
                "name": name,
                "employment_type": employment_type,
                "position": "Analis" if level == "STAFF" else "Kepala Dinas",
                "level": level,
                "org_unit_code": unit_code,
            }
            response = await registry.post("/v1/employees", json=body, headers=admin)
            assert response.status_code == 201, response.text
        # Registry bodies as they are (a non-ASN with a NIK, a Sekda with its leader_office, ...).
        employee_ids = {name: nip for nip, name, *_ in people}
        for raw in more_people:
            response = await registry.post("/v1/employees", json=raw, headers=admin)
            assert response.status_code == 201, response.text
            employee_ids[str(raw["name"])] = response.json()["employee_id"]
        store = reports_app.state.reports_store

        async def projected() -> bool:
            return bool(await store.employees.count_documents({}) == len(people) + len(more_people))

        await wait_for(projected, timeout=90, interval=0.3)
        yield ReportsPemda(registry, reports, reports_app, reports_settings, clock, employee_ids)
