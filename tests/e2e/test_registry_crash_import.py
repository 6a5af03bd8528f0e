"""End to end: a 100k-employee import into the registry running as a real process, killed with
SIGKILL half-way, restarted, and checked on Kafka: every employee's event, once per event id."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from netral.seed import create_units, generate, unit_levels, write_csv
from tests.kafka_reader import read_topic, wait_for
from tests.processes import ServiceRunner

EMPLOYEES = 100_000


async def test_import_survives_sigkill_and_publishes_each_employee_once(
    tmp_path: Path, service_runner: ServiceRunner, mint: Callable[..., str]
) -> None:
    units, people = generate(EMPLOYEES, seed=7)
    write_csv(tmp_path, units, people)
    registry = service_runner.start(
        "services.registry", LOG_LEVEL="WARNING", IMPORT_LEASE_SECONDS="3", RELAY_LEASE_SECONDS="3"
    )
    env = registry.env
    headers = {"Authorization": f"Bearer {mint('bkpsdm')}"}
    async with httpx.AsyncClient(base_url=registry.url, headers=headers, timeout=120) as client:
        for level in unit_levels(tmp_path / "org_units.csv"):
            await create_units(client, registry.url, level)
        with (tmp_path / "employees.csv").open("rb") as handle:
            started = await client.post("/v1/imports", files={"file": ("employees.csv", handle, "text/csv")})
        assert started.status_code == 202, started.text
        status_path = started.json()["status_url"]

        async def partway() -> bool:
            body = (await client.get(status_path)).json()
            return bool(body["processed"] >= EMPLOYEES // 3)

        await wait_for(partway, timeout=120, interval=0.05)
    service_runner.kill(registry)
    at_kill = await _employee_count(env)
    assert 0 < at_kill < EMPLOYEES, "the kill must land mid-import"

    service_runner.restart(registry)  # resumes by itself: no re-submission
    await service_runner.ready(registry)
    async with httpx.AsyncClient(base_url=registry.url, headers=headers, timeout=120) as client:

        async def progress() -> dict[str, Any]:
            body: dict[str, Any] = (await client.get(status_path)).json()
            return body

        async def completed() -> bool:
            return bool((await progress())["status"] == "completed")

        await wait_for(completed, timeout=300, interval=0.5)
        final = await progress()
    assert (final["total"], final["imported"], final["failed"]) == (EMPLOYEES, EMPLOYEES, 0), final
    assert await _employee_count(env) == EMPLOYEES

    ids_by_key: dict[bytes, set[str]] = defaultdict(set)
    counted = 0

    def every_employee_seen(records: list[Any]) -> bool:
        nonlocal counted
        for record in records[counted:]:
            ids_by_key[record.key].add(dict(record.headers)["ce_id"].decode())
        counted = len(records)
        return len(ids_by_key) >= EMPLOYEES

    records = await read_topic(
        env["KAFKA_BOOTSTRAP_SERVERS"],
        f"{env['KAFKA_TOPIC_PREFIX']}registry.employees",
        every_employee_seen,
        timeout=180,
    )
    every_employee_seen(records)
    assert len(ids_by_key) == EMPLOYEES, "an employee event is missing"
    # A redelivery after the crash reuses its event id: one id per employee, however often sent.
    assert all(len(ids) == 1 for ids in ids_by_key.values())
    distinct_ids = {next(iter(ids)) for ids in ids_by_key.values()}
    assert len(distinct_ids) == EMPLOYEES
    assert len(records) >= EMPLOYEES


async def _employee_count(env: dict[str, str]) -> int:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(env["MONGODB_URI"])
    try:
        return await client[env["MONGODB_DATABASE"]]["employees"].count_documents({})
    finally:
        await client.close()
