"""Writing the generated rows as the registry's import files."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from netral.seed.rows import EMPLOYEE_COLUMNS, ORG_UNIT_COLUMNS, EmployeeRow, OrgUnitRow


def write_csv(
    directory: Path, units: Iterable[OrgUnitRow], employees: Iterable[EmployeeRow]
) -> tuple[Path, Path]:
    """Write org_units.csv and employees.csv into `directory`; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    units_path = directory / "org_units.csv"
    employees_path = directory / "employees.csv"
    with units_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ORG_UNIT_COLUMNS)
        writer.writerows((u.code, u.name, u.kind, u.parent_code or "") for u in units)
    with employees_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(EMPLOYEE_COLUMNS)
        writer.writerows(
            (
                e.nip,
                e.name,
                e.employment_type,
                e.position,
                e.level,
                e.org_unit_code,
                e.supervisor_nip,
                e.email,
                e.phone,
                e.nik,
                e.leader_office,
            )
            for e in employees
        )
    return units_path, employees_path
