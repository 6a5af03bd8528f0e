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
from collections.abc import Callable, Iterable, Mapping
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
    # An elected regional head or deputy: a state official, not an ASN, with no NIP
    # (UU 20/2023 art. 1; UU 23/2014 art. 59).
    PEJABAT_NEGARA = "PEJABAT_NEGARA"


# Who hold no NIP and are registered with a platform id derived from their NIK.
WITHOUT_NIP = frozenset({EmploymentType.NON_ASN, EmploymentType.PEJABAT_NEGARA})
# Whose 18-digit number the registry reads, each by its own layout.
ASN_TYPES = frozenset({EmploymentType.PNS, EmploymentType.PPPK})


class Level(StrEnum):
    REGIONAL_HEAD = "REGIONAL_HEAD"
    JPT = "JPT"
    ADMINISTRATOR = "ADMINISTRATOR"
    SUPERVISOR = "SUPERVISOR"
    STAFF = "STAFF"


class LeaderOffice(StrEnum):
    """The pemda's leaders; each one is at level REGIONAL_HEAD on the pemda's own unit."""

    KEPALA_DAERAH = "KEPALA_DAERAH"  # Gubernur, Bupati, Walikota, elected (UU 23/2014 art. 59)
    WAKIL_KEPALA_DAERAH = "WAKIL_KEPALA_DAERAH"  # their elected deputy (UU 23/2014 art. 63)
    PJ_KEPALA_DAERAH = "PJ_KEPALA_DAERAH"  # acting head, a PNS in a JPT post (UU 10/2016 art. 201)
    SEKDA = "SEKDA"  # sekretaris daerah, a PNS (UU 23/2014 art. 213-214)


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
# PNS: the age at TMT CPNS, as the platform has always checked it. PP 11/2017 art. 23 sets 18 to 35
# at application (40 for some posts); 60 is kept as the outer bound so that no real record of an
# older rule is refused.
MIN_APPOINTMENT_AGE = 18
MAX_APPOINTMENT_AGE = 60
# PPPK: at least 20 and at most one year before the retirement age of the post applied for
# (PP 49/2018 art. 16 huruf a).
PPPK_MIN_APPOINTMENT_AGE = 20
# PP 49/2018 came into force on 28 November 2018; the first PPPK were appointed after it, so no NI
# PPPK can carry an earlier year. A PNS-layout number (TMT CPNS years before) fails here.
FIRST_PPPK_YEAR = 2019
# Retirement age (batas usia pensiun) by post: 58 for administrative posts and for functional posts
# up to ahli muda, 60 for JPT and ahli madya, 65 for ahli utama (UU 5/2014 art. 90; PP 11/2017
# art. 239 as amended by PP 17/2020; kept by UU 20/2023 until its implementing regulation).
RETIREMENT_AGE_GENERAL = 58
RETIREMENT_AGE_JPT = 60
RETIREMENT_AGE_AHLI_MADYA = 60
RETIREMENT_AGE_AHLI_UTAMA = 65
HIGHEST_RETIREMENT_AGE = RETIREMENT_AGE_AHLI_UTAMA


@dataclass(frozen=True)
class Nip:
    """An 18-digit ASN number read by its layout. A PNS's NIP carries the year and month of TMT
    CPNS; a PPPK's NI PPPK the year of first appointment and a two-digit contract code instead."""

    value: str
    employment_type: EmploymentType
    birth_date: dt.date
    appointment_year: int
    appointment_month: int | None  # PNS only
    contract_code: str | None  # PPPK only: digits 13–14 (e.g. 21, 24), not a month
    gender: int  # 1 = laki-laki, 2 = perempuan
    sequence: int


def retirement_age(level: Level | None, position: str | None) -> int:
    """The retirement age of a post: by level for JPT, by the functional grade named in the post's
    title (the jabatan fungsional names end in their grade), else the general 58. Unknown post:
    the highest, so that nothing valid is refused."""
    if level is None and position is None:
        return HIGHEST_RETIREMENT_AGE
    title = (position or "").casefold()
    if "ahli utama" in title:
        return RETIREMENT_AGE_AHLI_UTAMA
    if level in (Level.JPT, Level.REGIONAL_HEAD):
        return RETIREMENT_AGE_JPT
    if "ahli madya" in title:
        return RETIREMENT_AGE_AHLI_MADYA
    return RETIREMENT_AGE_GENERAL


def parse_nip(
    raw: str,
    today: dt.date | None,
    employment_type: EmploymentType = EmploymentType.PNS,
    retirement: int = HIGHEST_RETIREMENT_AGE,
) -> Nip:
    """Parse an 18-digit NIP (PNS) or NI PPPK (PPPK), or raise RuleViolation saying which digits
    are wrong. Without `today` the dates are checked for sense and age but not against the
    calendar. `retirement` is the retirement age of the PPPK's post (see `retirement_age`)."""
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
    if employment_type is EmploymentType.PPPK:
        year, month, code = _pppk_appointment(value, birth, today, retirement)
    else:
        year, month, code = _pns_appointment(value, birth, today), int(value[12:14]), None
    gender = int(value[14])
    if gender not in (1, 2):
        raise RuleViolation("nip", f"digit 15 ({value[14]}) harus 1 (laki-laki) atau 2 (perempuan)")
    sequence = int(value[15:18])
    if sequence == 0:
        raise RuleViolation("nip", "digit 16–18 (nomor urut) tidak boleh 000")
    return Nip(value, employment_type, birth, year, month, code, gender, sequence)


def _pns_appointment(value: str, birth: dt.date, today: dt.date | None) -> int:
    """Digits 9–14 of a PNS's NIP: year and month of TMT CPNS (PP 11/2017 art. 23 for the age)."""
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
    return year


def _pppk_appointment(
    value: str, birth: dt.date, today: dt.date | None, retirement: int
) -> tuple[int, None, str]:
    """Digits 9–14 of an NI PPPK: the year of first appointment as a PPPK candidate and a
    two-digit contract code. The number carries no month, so the age is bounded by what the person
    was on 1 January and on 31 December of that year: only an age impossible all year is refused."""
    year, code = int(value[8:12]), value[12:14]
    if year < FIRST_PPPK_YEAR:
        raise RuleViolation(
            "nip",
            f"digit 9–12 ({value[8:12]}) bukan tahun pengangkatan PPPK yang mungkin: PPPK baru ada sejak "
            f"PP 49/2018, jadi paling awal {FIRST_PPPK_YEAR} (NIP PNS memuat tahun-bulan TMT CPNS di sini)",
        )
    if today is not None and birth >= today:
        raise RuleViolation("nip", f"digit 1–8: tanggal lahir {birth.isoformat()} ada di masa depan")
    if today is not None and year > today.year:
        raise RuleViolation("nip", f"digit 9–12: tahun pengangkatan {year:04d} ada di masa depan")
    oldest_that_year = year - birth.year  # on 31 December, the birthday has passed
    if oldest_that_year < PPPK_MIN_APPOINTMENT_AGE:
        raise RuleViolation(
            "nip",
            f"digit 9–12: pengangkatan PPPK tahun {year:04d} terjadi pada usia paling tinggi "
            f"{oldest_that_year} tahun, minimal {PPPK_MIN_APPOINTMENT_AGE}",
        )
    youngest_that_year = oldest_that_year - (0 if (birth.month, birth.day) == (1, 1) else 1)
    if youngest_that_year > retirement - 1:
        raise RuleViolation(
            "nip",
            f"digit 9–12: pengangkatan PPPK tahun {year:04d} terjadi pada usia paling rendah "
            f"{youngest_that_year} tahun, maksimal {retirement - 1} (1 tahun sebelum batas usia "
            f"pensiun {retirement} jabatan ini)",
        )
    return year, None, code


def parse_any_nip(raw: str, today: dt.date | None) -> Nip:
    """A number whose employment type is not known here (a supervisor's): valid if it is a valid
    NIP or a valid NI PPPK. When it is neither, the error is that of the layout its digits 13–14
    suggest: a month for a NIP, anything else for an NI PPPK."""
    try:
        return parse_nip(raw, today)
    except RuleViolation as pns_error:
        try:
            return parse_nip(raw, today, EmploymentType.PPPK)
        except RuleViolation as pppk_error:
            digits = raw.strip().replace(" ", "")[12:14]
            raise (pns_error if digits.isdigit() and 1 <= int(digits) <= 12 else pppk_error) from None


def local_date(moment: dt.datetime) -> dt.date:
    """The calendar date of `moment` in the service's time zone: for the clock's "now", the
    `today` that NIPs are checked against."""
    return moment.astimezone().date()


@functools.lru_cache(maxsize=65_536)
def _checked_nip(
    raw: str, employment_type: EmploymentType | None, retirement: int, today: dt.date | None
) -> str:
    """parse_nip for input validation, cached: a bulk import repeats each supervisor's NIP on
    every row of their staff. `today` is part of the key so the cache never goes stale. Without
    an employment type (a supervisor's number) either ASN layout is accepted."""
    if employment_type is None:
        return parse_any_nip(raw, today).value
    return parse_nip(raw, today, employment_type, retirement).value


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


# Levels each employment type may hold. PPPK fill functional posts and JPT (PP 49/2018 art. 2,
# kept under UU 20/2023 until its implementing regulation), not administrator or supervisor posts;
# the functional posts sign in the staff wave. Non-ASN staff work under a contract, never in a post
# (platform choice). An elected head or deputy is a pemda leader only (UU 23/2014 art. 59, 63).
LEVELS_BY_TYPE: dict[EmploymentType, frozenset[Level]] = {
    EmploymentType.PNS: frozenset(Level),
    EmploymentType.PPPK: frozenset({Level.JPT, Level.STAFF}),
    EmploymentType.NON_ASN: frozenset({Level.STAFF}),
    EmploymentType.PEJABAT_NEGARA: frozenset({Level.REGIONAL_HEAD}),
}


def level_rule(employment_type: EmploymentType, level: Level) -> None:
    allowed = LEVELS_BY_TYPE[employment_type]
    if level not in allowed:
        names = " atau ".join(item.value for item in Level if item in allowed)
        raise RuleViolation(
            "level", f"pegawai {employment_type.value} hanya boleh berlevel {names}, bukan {level.value}"
        )


# Who may hold each leader office (LeaderOffice gives the sources).
LEADER_OFFICE_TYPE: dict[LeaderOffice, EmploymentType] = {
    LeaderOffice.KEPALA_DAERAH: EmploymentType.PEJABAT_NEGARA,
    LeaderOffice.WAKIL_KEPALA_DAERAH: EmploymentType.PEJABAT_NEGARA,
    LeaderOffice.PJ_KEPALA_DAERAH: EmploymentType.PNS,
    LeaderOffice.SEKDA: EmploymentType.PNS,
}
LEADER_OFFICE_NAMES = ", ".join(office.value for office in LeaderOffice)


def leader_office_rule(employment_type: EmploymentType, level: Level, office: LeaderOffice | None) -> None:
    """A leader office goes with level REGIONAL_HEAD and the employment type the law gives it, and
    level REGIONAL_HEAD is held only by the pemda's leaders, each named by their office."""
    if office is None:
        if employment_type is EmploymentType.PEJABAT_NEGARA:
            raise RuleViolation(
                "leader_office",
                "pejabat negara dicatat sebagai kepala daerah terpilih atau wakilnya: "
                "isi leader_office dengan KEPALA_DAERAH atau WAKIL_KEPALA_DAERAH",
            )
        if level is Level.REGIONAL_HEAD:
            raise RuleViolation(
                "leader_office",
                f"level REGIONAL_HEAD hanya untuk pimpinan pemda: isi leader_office ({LEADER_OFFICE_NAMES})",
            )
        return
    if level is not Level.REGIONAL_HEAD:
        raise RuleViolation(
            "leader_office",
            f"leader_office {office.value} hanya untuk level REGIONAL_HEAD, bukan {level.value}",
        )
    required = LEADER_OFFICE_TYPE[office]
    if employment_type is not required:
        why = {
            LeaderOffice.KEPALA_DAERAH: "kepala daerah terpilih adalah pejabat negara, bukan ASN "
            "(Pj kepala daerah dicatat sebagai PJ_KEPALA_DAERAH)",
            LeaderOffice.WAKIL_KEPALA_DAERAH: "wakil kepala daerah terpilih adalah pejabat negara, bukan ASN",
            LeaderOffice.PJ_KEPALA_DAERAH: "Pj kepala daerah adalah PNS yang menduduki JPT madya/pratama "
            "(UU 10/2016 pasal 201)",
            LeaderOffice.SEKDA: "sekretaris daerah adalah PNS (UU 23/2014 pasal 213-214)",
        }[office]
        raise RuleViolation(
            "employment_type",
            f"leader_office {office.value} harus berjenis pegawai {required.value}, bukan "
            f"{employment_type.value}: {why}",
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


# One holder per seat and pemda at a time. One Sekda leads the secretariat (UU 23/2014 art. 213(1));
# one head: an acting head (Pj) is appointed only while the elected head's office is vacant
# (UU 10/2016 art. 201(9)-(10)), so the two share a seat; one deputy (UU 23/2014 art. 63(1)).
LEADER_SEAT: dict[LeaderOffice, LeaderOffice] = {
    LeaderOffice.KEPALA_DAERAH: LeaderOffice.KEPALA_DAERAH,
    LeaderOffice.PJ_KEPALA_DAERAH: LeaderOffice.KEPALA_DAERAH,
    LeaderOffice.WAKIL_KEPALA_DAERAH: LeaderOffice.WAKIL_KEPALA_DAERAH,
    LeaderOffice.SEKDA: LeaderOffice.SEKDA,
}
SEAT_LABEL = {
    LeaderOffice.KEPALA_DAERAH: "kepala daerah (terpilih atau Pj)",
    LeaderOffice.WAKIL_KEPALA_DAERAH: "wakil kepala daerah",
    LeaderOffice.SEKDA: "sekretaris daerah",
}


class LeaderSeatTaken(Conflict):
    """The pemda's seat is held by another active employee: answered 409."""


def check_leader_seat(
    office: LeaderOffice, employee_id: str, unit_code: str, holders: Iterable[Mapping[str, Any]]
) -> None:
    """`holders`: the active leaders on file at `unit_code` (`leader_office` and `_id` of each)."""
    seat = LEADER_SEAT[office]
    for holder in holders:
        held = holder.get("leader_office")
        if holder["_id"] == employee_id or not held or LEADER_SEAT[LeaderOffice(held)] is not seat:
            continue
        raise LeaderSeatTaken(
            f"jabatan {SEAT_LABEL[seat]} pemda {unit_code} sudah dipegang pegawai aktif "
            f"{holder['_id']} ({held}); nonaktifkan pegawai itu atau ubah leader_office-nya dulu"
        )


FileSeats = dict[tuple[str, LeaderOffice], tuple[str, int]]
"""Within one import file: (pemda unit, seat) -> (identity, line) of the row that took it."""


def check_file_seat(office: LeaderOffice, unit_code: str, identity: str, line: int, seats: FileSeats) -> None:
    """One file seats one leader per seat and pemda: the first row in the file that claims the
    seat keeps it, whichever chunk is committed first."""
    seat = LEADER_SEAT[office]
    taken = seats.setdefault((unit_code, seat), (identity, line))
    if taken[0] != identity:
        raise LeaderSeatTaken(
            f"jabatan {SEAT_LABEL[seat]} pemda {unit_code} sudah diisi baris {taken[1]} file ini; "
            "baris ini dilewati"
        )


class EmployeeInput(BaseModel):
    """One employee as submitted by the API or a CSV row, before it is matched to the store.

    Validate with `EmployeeInput.model_validate(data, context={"today": today})`: NIPs must not
    lie in the future. Built without that context (test data), the NIP's dates are checked for
    sense and age only.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # The NIP is read by the employment type's layout, and a PPPK's age by the post's retirement
    # age: those fields come first, so that the NIP's validator finds them in `info.data`.
    employment_type: EmploymentType
    level: Level
    position: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    nip: str | None = None
    name: Name
    org_unit_code: Code
    supervisor_nip: str | None = None
    email: Email | None = None
    phone: Phone | None = None
    nik: str | None = Field(default=None, repr=False)
    leader_office: LeaderOffice | None = None

    @field_validator("nip", "supervisor_nip", "email", "phone", "nik", "leader_office", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("nip")
    @classmethod
    def _nip(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        today = (info.context or {}).get("today")
        # Absent when it failed its own check, which is reported: then either layout will do.
        employment_type = info.data.get("employment_type")
        if employment_type is not None and employment_type not in ASN_TYPES:
            return value  # refused as a whole below: this type has no NIP
        retirement = retirement_age(info.data.get("level"), info.data.get("position"))
        return _as_value_error(lambda: _checked_nip(value, employment_type, retirement, today))

    @field_validator("supervisor_nip")
    @classmethod
    def _supervisor_nip(cls, value: str | None, info: ValidationInfo) -> str | None:
        today = (info.context or {}).get("today")
        return (
            None
            if value is None
            else _as_value_error(lambda: _checked_nip(value, None, HIGHEST_RETIREMENT_AGE, today))
        )

    @field_validator("nik")
    @classmethod
    def _nik(cls, value: str | None) -> str | None:
        return None if value is None else _as_value_error(lambda: check_nik(value))

    @model_validator(mode="after")
    def _type_rules(self) -> EmployeeInput:
        kind = self.employment_type.value
        if self.employment_type in WITHOUT_NIP:
            # No NIP: a platform id from the NIK's keyed hash, so that a re-import of the same
            # person lands on the same record (services.registry.nik).
            if self.nip is not None:
                raise ValueError(f"pegawai {kind} tidak punya NIP; kosongkan kolom nip")
            if self.nik is None:
                raise ValueError(f"pegawai {kind} wajib punya NIK (16 digit)")
        else:
            if self.nip is None:
                raise ValueError(f"pegawai {kind} wajib punya NIP 18 digit")
            if self.nik is not None:
                raise ValueError(
                    "NIK hanya dicatat untuk pegawai NON_ASN dan PEJABAT_NEGARA; kosongkan kolom nik"
                )
        if self.supervisor_nip is not None and self.supervisor_nip == self.nip:
            raise ValueError("nip_atasan tidak boleh sama dengan NIP pegawai itu sendiri")
        _as_value_error(lambda: level_rule(self.employment_type, self.level))
        _as_value_error(lambda: leader_office_rule(self.employment_type, self.level, self.leader_office))
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
    TERM_ENDED = "TERM_ENDED"  # an elected head's or a Pj's term of office ends (UU 23/2014 art. 78)


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
        leader_office=employee.get("leader_office"),
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
        "leader_office": None if employee.leader_office is None else employee.leader_office.value,
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
PROFILE_FIELDS = (
    "name",
    "position",
    "level",
    "employment_type",
    "supervisor_nip",
    "email",
    "phone",
    "leader_office",
)


def profile(employee: EmployeeInput) -> dict[str, object]:
    return {
        "name": employee.name,
        "position": employee.position,
        "level": employee.level.value,
        "employment_type": employee.employment_type.value,
        "supervisor_nip": employee.supervisor_nip,
        "email": str(employee.email) if employee.email else None,
        "phone": employee.phone,
        "leader_office": None if employee.leader_office is None else employee.leader_office.value,
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
    leader_office: LeaderOffice | None = None,
) -> EmployeeChange:
    """A move ordered by someone (mutasi), optionally to a new post; `check_transferable` first.
    A move off level REGIONAL_HEAD ends the leader office; a move onto it needs one."""
    new_level = level or Level(current["level"])
    level_fits_unit(new_level, unit.kind)
    level_rule(EmploymentType(current["employment_type"]), new_level)
    held = current.get("leader_office")
    new_office = leader_office or (LeaderOffice(held) if held and new_level is Level.REGIONAL_HEAD else None)
    leader_office_rule(EmploymentType(current["employment_type"]), new_level, new_office)
    changes: dict[str, object] = {}
    if position is not None and position != current["position"]:
        changes["position"] = position
    if new_level.value != current["level"]:
        changes["level"] = new_level.value
    if (None if new_office is None else new_office.value) != held:
        changes["leader_office"] = None if new_office is None else new_office.value
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
