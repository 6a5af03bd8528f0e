"""Events published by the registry service (org units and employees).

Personal data: e-mail and phone are on the internal employee topic because the notify
service sends reminders; NIK never leaves the registry.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from contracts.envelope import EventData
from contracts.topics import EMPLOYEES, ORG_UNITS

# PEJABAT_NEGARA: an elected regional head (Bupati, Walikota, Gubernur, their deputies), a state
# official and not an ASN (UU 20/2023 art. 1; UU 23/2014 art. 59), with no NIP. An acting head (Pj)
# is a PNS and is registered as one.
EmploymentTypeName = Literal["PNS", "PPPK", "NON_ASN", "PEJABAT_NEGARA"]
LevelName = Literal["REGIONAL_HEAD", "JPT", "ADMINISTRATOR", "SUPERVISOR", "STAFF"]
# The pemda's leaders, all at level REGIONAL_HEAD on the pemda's own unit: the elected head and
# deputy (PEJABAT_NEGARA; UU 23/2014 art. 59, 63), an acting head (Pj, a PNS in a JPT post;
# UU 10/2016 art. 201) and the Sekda (a PNS; UU 23/2014 art. 213-214).
LeaderOfficeName = Literal["KEPALA_DAERAH", "WAKIL_KEPALA_DAERAH", "PJ_KEPALA_DAERAH", "SEKDA"]
OrgUnitKindName = Literal["PROVINCE", "REGENCY", "CITY", "OPD", "SUB_UNIT"]


class OrgUnitSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str
    kind: OrgUnitKindName
    parent_code: str | None
    path: list[str]
    """Codes from the root down to the parent: lets consumers answer subtree queries."""
    version: int


class EmployeeSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    employee_id: str
    """The NIP (NI PPPK for a PPPK) for ASN; a platform id (NA + 16 digits) for non-ASN staff and
    elected regional heads, who have no NIP."""
    nip: str | None
    name: str
    employment_type: EmploymentTypeName
    position: str
    level: LevelName
    org_unit_code: str
    org_unit_path: list[str]
    supervisor_nip: str | None
    email: str | None
    phone: str | None
    active: bool
    version: int
    """Increases by one with every change; consumers drop snapshots older than what they hold."""
    leader_office: LeaderOfficeName | None = None
    """Which of the pemda's leaders this is, for level REGIONAL_HEAD; None for everyone else.
    Optional so that events published before the field existed still parse."""


class _OrgUnitEvent(EventData):
    topic: ClassVar[str] = ORG_UNITS.name
    unit: OrgUnitSnapshot

    def aggregate_key(self) -> str:
        return self.unit.code


class OrgUnitCreatedV1(_OrgUnitEvent):
    event_type: ClassVar[str] = "org_unit.created.v1"


class OrgUnitUpdatedV1(_OrgUnitEvent):
    event_type: ClassVar[str] = "org_unit.updated.v1"
    changed: list[str]


class _EmployeeEvent(EventData):
    topic: ClassVar[str] = EMPLOYEES.name
    employee: EmployeeSnapshot

    def aggregate_key(self) -> str:
        return self.employee.employee_id


class EmployeeRegisteredV1(_EmployeeEvent):
    event_type: ClassVar[str] = "employee.registered.v1"


class EmployeeUpdatedV1(_EmployeeEvent):
    event_type: ClassVar[str] = "employee.updated.v1"
    changed: list[str]


class EmployeeTransferredV1(_EmployeeEvent):
    event_type: ClassVar[str] = "employee.transferred.v1"
    from_org_unit_code: str
    to_org_unit_code: str
    reason: str
    effective_date: dt.date


class EmployeeDeactivatedV1(_EmployeeEvent):
    event_type: ClassVar[str] = "employee.deactivated.v1"
    reason: str
    effective_date: dt.date
