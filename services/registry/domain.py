"""Registry rules: NIP, employment types, position levels, org-unit tree, and the employee's
changes with their history entries and events. Pure: no I/O and no clock; "now" and "today"
come in as arguments.

Messages are in Bahasa Indonesia because the people who fix the data read them.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts.envelope import EventData
from contracts.registry import (
    EmployeeDeactivatedV1,
    EmployeeRegisteredV1,
    EmployeeSnapshot,
    EmployeeTransferredV1,
    EmployeeUpdatedV1,
    OrgUnitCreatedV1,
    OrgUnitSnapshot,
    OrgUnitUpdatedV1,
)
from services.kit.errors import Conflict, InvalidInput


class EmploymentType(StrEnum):
    PNS = "PNS"
    PPPK = "PPPK"
    NON_ASN = "NON_ASN"


class Level(StrEnum):
    REGIONAL_HEAD = "REGIONAL_HEAD"
    JPT = "JPT"
    ADMINISTRATOR = "ADMINISTRATOR"
    SUPERVISOR = "SUPERVISOR"
    STAFF = "STAFF"


class OrgUnitKind(StrEnum):
    PROVINCE = "PROVINCE"
    REGENCY = "REGENCY"
    CITY = "CITY"
    OPD = "OPD"
    SUB_UNIT = "SUB_UNIT"


# Which kinds may sit directly under which: province → regency/city → OPD → sub-unit.
# A province also runs its own OPDs, and sub-units may nest (bidang → seksi).
ALLOWED_PARENTS: dict[OrgUnitKind, frozenset[OrgUnitKind | None]] = {
    OrgUnitKind.PROVINCE: frozenset({None}),
    OrgUnitKind.REGENCY: frozenset({OrgUnitKind.PROVINCE}),
    OrgUnitKind.CITY: frozenset({OrgUnitKind.PROVINCE}),
    OrgUnitKind.OPD: frozenset({OrgUnitKind.PROVINCE, OrgUnitKind.REGENCY, OrgUnitKind.CITY}),
    OrgUnitKind.SUB_UNIT: frozenset({OrgUnitKind.OPD, OrgUnitKind.SUB_UNIT}),
}

PEMDA_KINDS = frozenset({OrgUnitKind.PROVINCE, OrgUnitKind.REGENCY, OrgUnitKind.CITY})

KIND_LABEL = {
    OrgUnitKind.PROVINCE: "provinsi",
    OrgUnitKind.REGENCY: "kabupaten",
    OrgUnitKind.CITY: "kota",
    OrgUnitKind.OPD: "OPD",
    OrgUnitKind.SUB_UNIT: "sub-unit",
}


T = TypeVar("T")


class RuleViolation(InvalidInput):
    """A registry rule was broken. `field` names the input that must change; answered 422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__([{"field": field, "message": message}])
        self.field = field
        self.message = message


class EmployeeInactive(Conflict):
    """A deactivated employee stays as they were: answered 409."""


# ---------------------------------------------------------------- NIP

NIP_LENGTH = 18
MIN_APPOINTMENT_AGE = 18
MAX_APPOINTMENT_AGE = 60


@dataclass(frozen=True)
class Nip:
    value: str
    birth_date: dt.date
    appointment: tuple[int, int]  # (year, month) of TMT CPNS/PPPK
    gender: int  # 1 = laki-laki, 2 = perempuan
    sequence: int


def parse_nip(raw: str, today: dt.date | None) -> Nip:
    """Parse an 18-digit NIP, or raise RuleViolation saying which digits are wrong. Without
    `today` the dates are checked for sense and age but not against the calendar."""
    value = raw.strip().replace(" ", "")
    if not value.isdigit() or not value.isascii():
        raise RuleViolation("nip", "NIP hanya boleh berisi angka")
    if len(value) != NIP_LENGTH:
        raise RuleViolation("nip", f"NIP harus 18 digit, bukan {len(value)}")
    try:
        birth = dt.date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise RuleViolation(
            "nip", f"digit 1–8 ({value[0:8]}) bukan tanggal lahir yang valid (YYYYMMDD)"
        ) from None
    year, month = int(value[8:12]), int(value[12:14])
    if not 1 <= month <= 12:
        raise RuleViolation(
            "nip", f"digit 13–14 ({value[12:14]}) bukan bulan pengangkatan yang valid (01–12)"
        )
    if today is not None and birth >= today:
        raise RuleViolation("nip", f"digit 1–8: tanggal lahir {birth.isoformat()} ada di masa depan")
    if today is not None and (year, month) > (today.year, today.month):
        raise RuleViolation(
            "nip", f"digit 9–14: tahun-bulan pengangkatan {year:04d}-{month:02d} ada di masa depan"
        )
    age_at_appointment = year - birth.year - (1 if month < birth.month else 0)
    if age_at_appointment < MIN_APPOINTMENT_AGE:
        raise RuleViolation(
            "nip",
            f"digit 9–14: pengangkatan {year:04d}-{month:02d} terjadi pada usia "
            f"{age_at_appointment} tahun, minimal {MIN_APPOINTMENT_AGE}",
        )
    if age_at_appointment > MAX_APPOINTMENT_AGE:
        raise RuleViolation(
            "nip",
            f"digit 9–14: pengangkatan {year:04d}-{month:02d} terjadi pada usia "
            f"{age_at_appointment} tahun, maksimal {MAX_APPOINTMENT_AGE}",
        )
    gender = int(value[14])
    if gender not in (1, 2):
        raise RuleViolation("nip", f"digit 15 ({value[14]}) harus 1 (laki-laki) atau 2 (perempuan)")
    sequence = int(value[15:18])
    if sequence == 0:
        raise RuleViolation("nip", "digit 16–18 (nomor urut) tidak boleh 000")
    return Nip(value, birth, (year, month), gender, sequence)


def local_date(moment: dt.datetime) -> dt.date:
    """The calendar date of `moment` in the service's time zone: for the clock's "now", the
    `today` that NIPs are checked against."""
    return moment.astimezone().date()


@functools.lru_cache(maxsize=65_536)
def _checked_nip(raw: str, today: dt.date | None) -> str:
    """parse_nip for input validation, cached: a bulk import repeats each supervisor's NIP
    on every row of their staff. `today` is part of the key so the cache never goes stale."""
    return parse_nip(raw, today).value


# ---------------------------------------------------------------- NIK and platform ids

NIK_PATTERN = re.compile(r"^[0-9]{16}$")


def check_nik(raw: str) -> str:
    value = raw.strip().replace(" ", "")
    if not NIK_PATTERN.match(value):
        raise RuleViolation("nik", "NIK harus 16 digit angka")
    if value[6:12] == "000000":
        raise RuleViolation("nik", "digit 7–12 NIK (tanggal lahir) tidak boleh 000000")
    return value


def nik_fingerprint(nik: str, key: bytes) -> str:
    """Keyed hash of a NIK: lets us find a person again without storing the NIK in clear."""
    return hmac.new(key, nik.encode(), hashlib.sha256).hexdigest()


def non_asn_id(nik_hash: str) -> str:
    """Platform id for a non-ASN worker, derived from the keyed NIK hash so that re-imports
    of the same person land on the same record."""
    return "NA" + str(int(nik_hash[:20], 16))[:16].zfill(16)


# ---------------------------------------------------------------- employee

Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-_]{0,63}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
# The WHATWG HTML "valid e-mail address" rule, the one browsers apply to <input type=email>.
# email-validator (pydantic's EmailStr) caps a bulk import at ~15k rows/s on this machine;
# this pattern costs almost nothing and rejects the same typos people make in spreadsheets.
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=254,
        pattern=r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
        r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$",
    ),
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 \-]{6,19}$")]


def level_rule(employment_type: EmploymentType, level: Level) -> None:
    """Only PNS hold structural levels; PPPK and non-ASN staff sign in the staff wave."""
    if employment_type is not EmploymentType.PNS and level is not Level.STAFF:
        raise RuleViolation(
            "level",
            f"pegawai {employment_type.value} hanya boleh berlevel STAFF, bukan {level.value}",
        )


def level_fits_unit(level: Level, unit_kind: OrgUnitKind) -> None:
    """Regional heads and Sekda sit at the pemda itself; everyone else works in an OPD or below."""
    if level is Level.REGIONAL_HEAD and unit_kind not in PEMDA_KINDS:
        raise RuleViolation(
            "org_unit_code",
            f"level REGIONAL_HEAD harus berada di unit pemda (provinsi/kabupaten/kota), "
            f"bukan {KIND_LABEL[unit_kind]}",
        )
    if level is Level.JPT and unit_kind is not OrgUnitKind.OPD and unit_kind not in PEMDA_KINDS:
        raise RuleViolation("org_unit_code", f"level JPT memimpin OPD, bukan {KIND_LABEL[unit_kind]}")


class EmployeeInput(BaseModel):
    """One employee as submitted by the API or a CSV row, before it is matched to the store.

    Validate with `EmployeeInput.model_validate(data, context={"today": today})`: NIPs must not
    lie in the future. Built without that context (test data), the NIP's dates are checked for
    sense and age only.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    nip: str | None = None
    name: Name
    employment_type: EmploymentType
    position: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    level: Level
    org_unit_code: Code
    supervisor_nip: str | None = None
    email: Email | None = None
    phone: Phone | None = None
    nik: str | None = Field(default=None, repr=False)

    @field_validator("nip", "supervisor_nip", "email", "phone", "nik", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("nip", "supervisor_nip")
    @classmethod
    def _nip(cls, value: str | None, info: ValidationInfo) -> str | None:
        today = (info.context or {}).get("today")
        return None if value is None else _as_value_error(lambda: _checked_nip(value, today))

    @field_validator("nik")
    @classmethod
    def _nik(cls, value: str | None) -> str | None:
        return None if value is None else _as_value_error(lambda: check_nik(value))

    @model_validator(mode="after")
    def _type_rules(self) -> EmployeeInput:
        if self.employment_type is EmploymentType.NON_ASN:
            if self.nip is not None:
                raise ValueError("pegawai NON_ASN tidak punya NIP; kosongkan kolom nip")
            if self.nik is None:
                raise ValueError("pegawai NON_ASN wajib punya NIK (16 digit)")
        else:
            if self.nip is None:
                raise ValueError(f"pegawai {self.employment_type.value} wajib punya NIP 18 digit")
            if self.nik is not None:
                raise ValueError("NIK hanya dicatat untuk pegawai NON_ASN; kosongkan kolom nik")
        if self.supervisor_nip is not None and self.supervisor_nip == self.nip:
            raise ValueError("nip_atasan tidak boleh sama dengan NIP pegawai itu sendiri")
        _as_value_error(lambda: level_rule(self.employment_type, self.level))
        return self


def _as_value_error(produce: Callable[[], T]) -> T:
    """Pydantic reports ValueError as a field error; RuleViolation carries our message."""
    try:
        return produce()
    except RuleViolation as exc:
        raise ValueError(exc.message) from None


def check_unit_parent(kind: OrgUnitKind, parent_kind: OrgUnitKind | None) -> None:
    if parent_kind not in ALLOWED_PARENTS[kind]:
        if parent_kind is None:
            raise RuleViolation("parent_code", f"unit {KIND_LABEL[kind]} wajib punya induk")
        allowed = ", ".join(KIND_LABEL[k] for k in ALLOWED_PARENTS[kind] if k is not None) or "tidak ada"
        raise RuleViolation(
            "parent_code",
            f"unit {KIND_LABEL[kind]} tidak boleh berada di bawah {KIND_LABEL[parent_kind]}; "
            f"induk yang sah: {allowed}",
        )


# ---------------------------------------------------------------- org units and employees as stored

Record = dict[str, Any]
"""An org unit or employee as the store keeps it (its MongoDB document)."""


@dataclass(frozen=True)
class UnitRef:
    code: str
    kind: OrgUnitKind
    path: list[str]

    @property
    def lineage(self) -> list[str]:
        return [*self.path, self.code]


class DeactivationReason(StrEnum):
    RETIRED = "RETIRED"
    DECEASED = "DECEASED"
    RESIGNED = "RESIGNED"
    DISMISSED = "DISMISSED"
    TRANSFERRED_OUT = "TRANSFERRED_OUT"
    CONTRACT_ENDED = "CONTRACT_ENDED"


def unit_ref(unit: Record) -> UnitRef:
    return UnitRef(unit["_id"], OrgUnitKind(unit["kind"]), unit["path"])


def unit_snapshot(unit: Record) -> OrgUnitSnapshot:
    return OrgUnitSnapshot(
        code=unit["_id"],
        name=unit["name"],
        kind=unit["kind"],
        parent_code=unit.get("parent_code"),
        path=unit["path"],
        version=unit["version"],
    )


def employee_snapshot(employee: Record) -> EmployeeSnapshot:
    # Records are written only from validated input, so the snapshot skips validation:
    # a bulk import builds one per row.
    return EmployeeSnapshot.model_construct(
        employee_id=employee["_id"],
        nip=employee.get("nip"),
        name=employee["name"],
        employment_type=employee["employment_type"],
        position=employee["position"],
        level=employee["level"],
        org_unit_code=employee["org_unit_code"],
        org_unit_path=employee["org_unit_path"],
        supervisor_nip=employee.get("supervisor_nip"),
        email=employee.get("email"),
        phone=employee.get("phone"),
        active=employee["active"],
        version=employee["version"],
    )


def new_unit(
    code: str, name: str, kind: OrgUnitKind, parent: UnitRef | None, now: dt.datetime
) -> tuple[Record, OrgUnitCreatedV1]:
    check_unit_parent(kind, None if parent is None else parent.kind)
    unit: Record = {
        "_id": code,
        "name": name,
        "kind": kind.value,
        "parent_code": None if parent is None else parent.code,
        "path": [] if parent is None else parent.lineage,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    return unit, OrgUnitCreatedV1(unit=unit_snapshot(unit))


def unit_rename(current: Record, name: str, now: dt.datetime) -> tuple[Record, OrgUnitUpdatedV1] | None:
    """The fields to set and the event, or None when the name is already this one."""
    if current["name"] == name:
        return None
    update: Record = {"name": name, "updated_at": now, "version": current["version"] + 1}
    return update, OrgUnitUpdatedV1(unit=unit_snapshot({**current, **update}), changed=["name"])


def new_employee(
    employee: EmployeeInput,
    employee_id: str,
    unit: UnitRef,
    sealed_nik: Mapping[str, str] | None,
    created_by: str,
    now: dt.datetime,
) -> tuple[Record, EmployeeRegisteredV1]:
    """A new employee record and its event. `sealed_nik` holds the NIK's hash and ciphertext,
    never the NIK itself."""
    record: Record = {
        "_id": employee_id,
        "nip": employee.nip,
        "name": employee.name,
        "employment_type": employee.employment_type.value,
        "position": employee.position,
        "level": employee.level.value,
        "org_unit_code": unit.code,
        "org_unit_path": unit.path,
        "supervisor_nip": employee.supervisor_nip,
        "email": str(employee.email) if employee.email else None,
        "phone": employee.phone,
        "active": True,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        **(sealed_nik or {}),
        "created_by": created_by,
    }
    return record, EmployeeRegisteredV1(employee=employee_snapshot(record))


# Fields of the employee that describe the person and their post; a change to any of
# them is an `employee.updated` event. Org unit changes go through transfer instead.
PROFILE_FIELDS = ("name", "position", "level", "employment_type", "supervisor_nip", "email", "phone")


def profile(employee: EmployeeInput) -> dict[str, object]:
    return {
        "name": employee.name,
        "position": employee.position,
        "level": employee.level.value,
        "employment_type": employee.employment_type.value,
        "supervisor_nip": employee.supervisor_nip,
        "email": str(employee.email) if employee.email else None,
        "phone": employee.phone,
    }


def profile_changes(current: Mapping[str, object], incoming: Mapping[str, object]) -> dict[str, object]:
    return {
        field: incoming.get(field) for field in PROFILE_FIELDS if current.get(field) != incoming.get(field)
    }


def revised_input(current: Record, nik: str | None, patch: Mapping[str, object]) -> dict[str, object]:
    """The employee as input again, with `patch` applied: validated as a whole, so that a
    change cannot break a rule that involves the fields left alone."""
    return {
        "nip": current.get("nip"),
        "org_unit_code": current["org_unit_code"],
        "nik": nik,
        **{field: current.get(field) for field in PROFILE_FIELDS},
        **patch,
    }


@dataclass(frozen=True)
class EmployeeChange:
    """One change to an employee as it is recorded: the fields to set on the version it was
    decided from, the history entry and the event. The API and the import record changes
    through the same functions below."""

    employee_id: str
    version: int
    """The version the change was decided from: the write must fail if it moved on."""
    update: Record
    history: Record
    event: EventData
    changed: list[str]
    """The profile fields that change, sorted."""


def _before_and_after(current: Record, changes: Mapping[str, object]) -> dict[str, list[object]]:
    return {key: [current.get(key), value] for key, value in changes.items()}


def _updated(current: Record, changes: Mapping[str, object], actor: str, now: dt.datetime) -> EmployeeChange:
    update: Record = {**changes, "updated_at": now, "version": current["version"] + 1}
    history: Record = {
        "employee_id": current["_id"],
        "at": now,
        "action": "update",
        "changes": _before_and_after(current, changes),
        "by": actor,
    }
    changed = sorted(changes)
    event = EmployeeUpdatedV1(employee=employee_snapshot({**current, **update}), changed=changed)
    return EmployeeChange(current["_id"], current["version"], update, history, event, changed)


def _transferred(
    current: Record,
    unit: UnitRef,
    changes: Mapping[str, object],
    reason: str,
    effective_date: dt.date | None,
    actor: str,
    now: dt.datetime,
) -> EmployeeChange:
    """A move to `unit`, with the profile `changes` that come with it. Without an effective
    date (a re-import) the history has none and the event says the day of the change."""
    update: Record = {
        **changes,
        "updated_at": now,
        "version": current["version"] + 1,
        "org_unit_code": unit.code,
        "org_unit_path": unit.path,
    }
    history: Record = {
        "employee_id": current["_id"],
        "at": now,
        "action": "transfer",
        "from_org_unit_code": current["org_unit_code"],
        "to_org_unit_code": unit.code,
        "reason": reason,
    }
    if effective_date is not None:
        history["effective_date"] = effective_date.isoformat()
    if changes:
        # A move that also changes the profile (a new post, a re-import with a new e-mail)
        # leaves every changed field in the history, as an update would.
        history["changes"] = _before_and_after(current, changes)
    history["by"] = actor
    event = EmployeeTransferredV1(
        employee=employee_snapshot({**current, **update}),
        from_org_unit_code=current["org_unit_code"],
        to_org_unit_code=unit.code,
        reason=reason,
        effective_date=effective_date or now.date(),
    )
    return EmployeeChange(current["_id"], current["version"], update, history, event, sorted(changes))


def check_changeable(current: Record) -> None:
    if not current["active"]:
        raise EmployeeInactive(f"pegawai {current['_id']} sudah nonaktif dan tidak bisa diubah")


def employee_update(
    current: Record, revised: EmployeeInput, unit_kind: OrgUnitKind, actor: str, now: dt.datetime
) -> EmployeeChange | None:
    """The change from `current` to `revised`, or None when nothing differs."""
    check_changeable(current)
    level_fits_unit(revised.level, unit_kind)
    changes = profile_changes(current, profile(revised))
    return _updated(current, changes, actor, now) if changes else None


def check_transferable(current: Record, to_unit_code: str) -> None:
    if not current["active"]:
        raise EmployeeInactive(f"pegawai {current['_id']} sudah nonaktif dan tidak bisa dipindahkan")
    if current["org_unit_code"] == to_unit_code:
        raise RuleViolation("to_org_unit_code", f"pegawai sudah berada di unit {to_unit_code}")


def employee_transfer(
    current: Record,
    unit: UnitRef,
    reason: str,
    effective_date: dt.date,
    position: str | None,
    level: Level | None,
    actor: str,
    now: dt.datetime,
) -> EmployeeChange:
    """A move ordered by someone (mutasi), optionally to a new post; `check_transferable` first."""
    new_level = level or Level(current["level"])
    level_fits_unit(new_level, unit.kind)
    changes: dict[str, object] = {}
    if position is not None and position != current["position"]:
        changes["position"] = position
    if new_level.value != current["level"]:
        changes["level"] = new_level.value
    return _transferred(current, unit, changes, reason, effective_date, actor, now)


def employee_reimport(
    current: Record, incoming: EmployeeInput, unit: UnitRef, reason: str, actor: str, now: dt.datetime
) -> EmployeeChange | None:
    """What a bulk import row changes on an active employee already on file: a row in another
    unit is a transfer, one with other details an update, an identical one nothing."""
    changes = profile_changes(current, profile(incoming))
    if current["org_unit_code"] != unit.code:
        return _transferred(current, unit, changes, reason, None, actor, now)
    return _updated(current, changes, actor, now) if changes else None


def employee_deactivation(
    current: Record,
    reason: DeactivationReason,
    note: str | None,
    effective_date: dt.date,
    actor: str,
    now: dt.datetime,
) -> EmployeeChange:
    if not current["active"]:
        raise EmployeeInactive(f"pegawai {current['_id']} sudah nonaktif")
    deactivation: Record = {
        "reason": reason.value,
        "note": note,
        "effective_date": effective_date.isoformat(),
        "by": actor,
        "at": now,
    }
    update: Record = {
        "active": False,
        "deactivation": deactivation,
        "updated_at": now,
        "version": current["version"] + 1,
    }
    event = EmployeeDeactivatedV1(
        employee=employee_snapshot({**current, **update}),
        reason=reason.value if note is None else f"{reason.value}: {note}",
        effective_date=effective_date,
    )
    history: Record = {"employee_id": current["_id"], "action": "deactivate", **deactivation}
    return EmployeeChange(current["_id"], current["version"], update, history, event, [])
