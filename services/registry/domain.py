"""Registry rules: NIP, employment types, position levels, org-unit tree. Pure, no I/O.

Messages are in Bahasa Indonesia because the people who fix the data read them.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)


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


class RuleViolation(ValueError):
    """A registry rule was broken. `field` names the input that must change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


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


def parse_nip(raw: str, today: dt.date | None = None) -> Nip:
    """Parse an 18-digit NIP, or raise RuleViolation saying which digits are wrong."""
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
    today = today or dt.date.today()
    if birth >= today:
        raise RuleViolation("nip", f"digit 1–8: tanggal lahir {birth.isoformat()} ada di masa depan")
    if (year, month) > (today.year, today.month):
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


@functools.lru_cache(maxsize=65_536)
def _checked_nip(raw: str, today: dt.date) -> str:
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
    """One employee as submitted by the API or a CSV row, before it is matched to the store."""

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
    def _nip(cls, value: str | None) -> str | None:
        return None if value is None else _as_value_error(lambda: _checked_nip(value, dt.date.today()))

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


# Fields of the employee that describe the person and their post; a change to any of
# them is an `employee.updated` event. Org unit changes go through transfer instead.
PROFILE_FIELDS = ("name", "position", "level", "employment_type", "supervisor_nip", "email", "phone")


def profile_changes(current: dict[str, object], incoming: dict[str, object]) -> dict[str, object]:
    return {
        field: incoming.get(field) for field in PROFILE_FIELDS if current.get(field) != incoming.get(field)
    }


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
