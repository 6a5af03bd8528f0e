"""The registry's import format: the CSV columns and one typed row per line."""

from __future__ import annotations

from dataclasses import dataclass

ORG_UNIT_COLUMNS = ("code", "name", "kind", "parent_code")
EMPLOYEE_COLUMNS = (
    "nip",
    "name",
    "employment_type",
    "position",
    "level",
    "org_unit_code",
    "supervisor_nip",
    "email",
    "phone",
    "nik",
    "leader_office",
)


@dataclass(frozen=True, slots=True)
class OrgUnitRow:
    code: str
    name: str
    kind: str
    parent_code: str | None


@dataclass(frozen=True, slots=True)
class EmployeeRow:
    """One line of employees.csv. Absent values (nip of NON_ASN and of an elected head, nik of
    ASN, supervisor of the Sekda, leader_office of everyone but the pemda's leaders) are empty
    strings, exactly as they appear in the file."""

    nip: str
    name: str
    employment_type: str
    position: str
    level: str
    org_unit_code: str
    supervisor_nip: str
    email: str
    phone: str
    nik: str
    leader_office: str = ""
