"""Loading the CSV files into a running registry over its HTTP API."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx


class SeedLoadError(RuntimeError):
    """The registry refused or failed a request while loading seed data."""


ORG_UNIT_CONCURRENCY = 16
POLL_INTERVAL = 0.5
HTTP_TIMEOUT = 60.0
# Errors shown after the import finishes; the full list stays in the registry.
ERRORS_SHOWN = 5


def _number(value: int) -> str:
    """Indonesian thousands separator: 45.000."""
    return f"{value:,}".replace(",", ".")


def unit_levels(path: Path) -> list[list[dict[str, Any]]]:
    """Org units grouped by depth, because a child can only be created once its parent exists."""
    depth: dict[str, int] = {}
    levels: list[list[dict[str, Any]]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            parent = (row.get("parent_code") or "").strip() or None
            # A parent outside the file must already be in the registry: treat as a root.
            level = depth[parent] + 1 if parent in depth else 0
            depth[row["code"]] = level
            while len(levels) <= level:
                levels.append([])
            levels[level].append(
                {"code": row["code"], "name": row["name"], "kind": row["kind"], "parent_code": parent}
            )
    return levels


def _fail(what: str, response: httpx.Response) -> SeedLoadError:
    return SeedLoadError(f"{what}: HTTP {response.status_code} {response.text[:500]}")


async def create_units(
    client: httpx.AsyncClient, registry_url: str, units: list[dict[str, Any]]
) -> tuple[int, int]:
    created = existing = 0
    pending: Iterator[dict[str, Any]] = iter(units)

    async def worker() -> None:
        nonlocal created, existing
        # Workers share one iterator, so at most ORG_UNIT_CONCURRENCY requests are in flight.
        for unit in pending:
            response = await client.post(f"{registry_url}/v1/org-units", json=unit)
            if response.status_code == 201:
                created += 1
            elif response.status_code == 409:
                existing += 1
            else:
                raise _fail(f"gagal membuat unit organisasi {unit['code']}", response)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(ORG_UNIT_CONCURRENCY, len(units))):
                group.create_task(worker())
    except ExceptionGroup as failures:
        # Surface the first failure itself; the TaskGroup already cancelled the other workers.
        first = failures.exceptions[0]
        if isinstance(first, SeedLoadError):
            raise first from None
        if isinstance(first, httpx.HTTPError):
            raise SeedLoadError(f"registry di {registry_url} tidak dapat dihubungi: {first!r}") from first
        raise
    return created, existing


def _import_line(body: dict[str, Any]) -> str:
    status = str(body.get("status", ""))
    total = int(body.get("total") or 0)
    processed = int(body.get("processed") or 0)
    failed = int(body.get("failed") or 0)
    if status == "queued":
        return "impor pegawai: menunggu antrean"
    percent = f" ({processed * 100 // total}%)" if total else ""
    return f"impor pegawai: {_number(processed)}/{_number(total)} baris{percent}, gagal {_number(failed)}"


async def load(
    directory: Path, registry_url: str, token: str, on_progress: Callable[[str], None]
) -> dict[str, int]:
    """Push org_units.csv and employees.csv from `directory` into a running registry."""
    base = registry_url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}"}
    levels = unit_levels(directory / "org_units.csv")
    total_units = sum(len(level) for level in levels)
    created = existing = 0
    try:
        async with httpx.AsyncClient(headers=headers, timeout=HTTP_TIMEOUT) as client:
            for depth, units in enumerate(levels):
                made, known = await create_units(client, base, units)
                created += made
                existing += known
                on_progress(
                    f"unit organisasi: tingkat {depth + 1} selesai, {_number(created + existing)}/"
                    f"{_number(total_units)} (baru {_number(created)}, sudah ada {_number(existing)})"
                )

            employees_path = directory / "employees.csv"
            size_mb = employees_path.stat().st_size / 1_000_000
            size = f"{size_mb:.1f}".replace(".", ",")
            on_progress(f"mengunggah {employees_path.name} ({size} MB)")
            with employees_path.open("rb") as handle:
                response = await client.post(
                    f"{base}/v1/imports", files={"file": ("employees.csv", handle, "text/csv")}
                )
            if response.status_code != 202:
                raise _fail("unggah employees.csv ditolak", response)
            import_id = str(response.json()["import_id"])

            last_line = ""
            while True:
                response = await client.get(f"{base}/v1/imports/{import_id}")
                if response.status_code != 200:
                    raise _fail(f"gagal membaca status impor {import_id}", response)
                body: dict[str, Any] = response.json()
                status = body.get("status")
                if status in ("completed", "failed"):
                    break
                line = _import_line(body)
                # The CLI prints each call; repeating an unchanged line every 0.5 s is noise.
                if line != last_line:
                    on_progress(line)
                    last_line = line
                await asyncio.sleep(POLL_INTERVAL)
    except httpx.HTTPError as exc:
        raise SeedLoadError(f"registry di {registry_url} tidak dapat dihubungi: {exc!r}") from exc

    counts = {
        "org_units_created": created,
        "org_units_existing": existing,
        "imported": int(body.get("imported") or 0),
        "updated": int(body.get("updated") or 0),
        "unchanged": int(body.get("unchanged") or 0),
        "failed": int(body.get("failed") or 0),
    }
    verdict = "selesai" if status == "completed" else "GAGAL"
    on_progress(
        f"impor pegawai {verdict}: {_number(int(body.get('total') or 0))} baris, "
        f"baru {_number(counts['imported'])}, diperbarui {_number(counts['updated'])}, "
        f"tidak berubah {_number(counts['unchanged'])}, gagal {_number(counts['failed'])}"
    )
    errors = body.get("errors") or []
    for error in errors[:ERRORS_SHOWN]:
        column = error.get("column") or "-"
        # A NIK is personal data (UU 27/2022): name the column, never echo the value.
        value = "" if column == "nik" or not error.get("value") else f" (nilai: {error['value']})"
        on_progress(f"  baris {error.get('line')}, kolom {column}: {error.get('message')}{value}")
    if len(errors) > ERRORS_SHOWN:
        on_progress(f"  ... dan {_number(len(errors) - ERRORS_SHOWN)} kesalahan lain")
    return counts
