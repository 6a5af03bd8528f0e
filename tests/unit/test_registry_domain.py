"""Registry rules in services/registry/domain.py: NIP, NIK, employee input, org-unit tree."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.registry import EmployeeTransferredV1, EmployeeUpdatedV1
from services.kit.errors import InvalidInput
from services.kit.validation import readable_message
from services.registry.domain import (
    ALLOWED_PARENTS,
    KIND_LABEL,
    PROFILE_FIELDS,
    EmployeeInactive,
    EmployeeInput,
    EmploymentType,
    Level,
    Nip,
    OrgUnitKind,
    RuleViolation,
    UnitRef,
    check_nik,
    check_unit_parent,
    employee_reimport,
    employee_transfer,
    employee_update,
    level_fits_unit,
    level_rule,
    nik_fingerprint,
    non_asn_id,
    parse_nip,
    profile_changes,
)

VALID_NIP = "198503152010011001"  # born 1985-03-15, appointed 2010-01, male, sequence 001
OTHER_NIP = "197001012000032005"  # born 1970-01-01, appointed 2000-03, female, sequence 005
VALID_NIK = "3201015503850001"
TODAY = dt.date(2024, 6, 1)


def nip_violation(raw: str, today: dt.date = TODAY) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        parse_nip(raw, today=today)
    assert caught.value.field == "nip"
    assert str(caught.value) == caught.value.message
    return caught.value


def employee(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "nip": VALID_NIP,
        "name": "Budi Santoso",
        "employment_type": "PNS",
        "position": "Analis Kepegawaian",
        "level": "STAFF",
        "org_unit_code": "OPD-BKD",
    }
    values.update(overrides)
    return values


def non_asn(**overrides: Any) -> dict[str, Any]:
    values = employee(nip=None, employment_type="NON_ASN", nik=VALID_NIK)
    values.update(overrides)
    return values


def rejection(values: dict[str, Any]) -> list[tuple[str | None, str]]:
    """(field, Indonesian message) for every error EmployeeInput reports on `values`."""
    with pytest.raises(ValidationError) as caught:
        EmployeeInput.model_validate(values, context={"today": TODAY})
    return [
        (str(error["loc"][0]) if error["loc"] else None, readable_message(error))
        for error in caught.value.errors()
    ]


# ---------------------------------------------------------------- parse_nip


def test_parse_nip_splits_a_valid_nip_into_its_parts() -> None:
    nip = parse_nip(VALID_NIP, today=TODAY)
    assert nip == Nip(
        value=VALID_NIP,
        employment_type=EmploymentType.PNS,
        birth_date=dt.date(1985, 3, 15),
        appointment_year=2010,
        appointment_month=1,
        contract_code=None,
        gender=1,
        sequence=1,
    )


def test_parse_nip_reads_female_gender_and_sequence() -> None:
    nip = parse_nip(OTHER_NIP, today=TODAY)
    assert nip.birth_date == dt.date(1970, 1, 1)
    assert (nip.appointment_year, nip.appointment_month) == (2000, 3)
    assert nip.gender == 2
    assert nip.sequence == 5


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(" 198503152010011001 ", id="outer-spaces"),
        pytest.param("19850315 201001 1 001", id="grouped-with-spaces"),
        pytest.param("\t198503152010011001\n", id="tab-and-newline"),
    ],
)
def test_parse_nip_strips_spaces(raw: str) -> None:
    assert parse_nip(raw, today=TODAY).value == VALID_NIP


@pytest.mark.parametrize(
    ("raw", "today", "expected"),
    [
        pytest.param("19850315201001100X", TODAY, ["hanya boleh berisi angka"], id="letter"),
        pytest.param("1985-0315201001100", TODAY, ["hanya boleh berisi angka"], id="dash"),
        pytest.param("１98503152010011001", TODAY, ["hanya boleh berisi angka"], id="fullwidth-digit"),
        pytest.param("", TODAY, ["hanya boleh berisi angka"], id="empty"),
        pytest.param("19850315201001100", TODAY, ["18 digit", "bukan 17"], id="length-17"),
        pytest.param("1985031520100110011", TODAY, ["18 digit", "bukan 19"], id="length-19"),
        pytest.param("198513152010011001", TODAY, ["digit 1–8", "(19851315)", "tanggal"], id="birth-m13"),
        pytest.param("198500152010011001", TODAY, ["digit 1–8", "(19850015)"], id="birth-m00"),
        pytest.param("198502302010011001", TODAY, ["digit 1–8", "(19850230)"], id="feb-30"),
        pytest.param("198502292010011001", TODAY, ["digit 1–8", "(19850229)"], id="feb-29-non-leap"),
        pytest.param("190002292010011001", TODAY, ["digit 1–8", "(19000229)"], id="feb-29-1900"),
        pytest.param(
            "202501012010011001", TODAY, ["digit 1–8", "2025-01-01", "masa depan"], id="birth-in-future"
        ),
        pytest.param("198503152010001001", TODAY, ["digit 13–14", "(00)", "01–12"], id="appt-month-00"),
        pytest.param("198503152010131001", TODAY, ["digit 13–14", "(13)", "01–12"], id="appt-month-13"),
        pytest.param(
            "198503152024071001", TODAY, ["digit 9–14", "2024-07", "masa depan"], id="appointment-next-month"
        ),
        pytest.param(
            "198503152025011001", TODAY, ["digit 9–14", "2025-01", "masa depan"], id="appointment-next-year"
        ),
        pytest.param(
            "198503152003021001", TODAY, ["digit 9–14", "2003-02", "usia 17", "minimal 18"], id="age-17"
        ),
        pytest.param("198503152000011001", TODAY, ["digit 9–14", "usia 14", "minimal 18"], id="age-14"),
        pytest.param(
            "195003152011031001", TODAY, ["digit 9–14", "2011-03", "usia 61", "maksimal 60"], id="age-61"
        ),
        pytest.param("198503152010010001", TODAY, ["digit 15", "(0)"], id="gender-0"),
        pytest.param("198503152010013001", TODAY, ["digit 15", "(3)"], id="gender-3"),
        pytest.param("198503152010019001", TODAY, ["digit 15", "(9)"], id="gender-9"),
        pytest.param("198503152010011000", TODAY, ["digit 16–18", "000"], id="sequence-000"),
    ],
)
def test_parse_nip_rejects_with_message_naming_the_digits(
    raw: str, today: dt.date, expected: list[str]
) -> None:
    message = nip_violation(raw, today).message
    for fragment in expected:
        assert fragment in message


@pytest.mark.parametrize(
    ("raw", "birth"),
    [
        pytest.param("198402292010011001", dt.date(1984, 2, 29), id="feb-29-1984"),
        pytest.param("200002292018031001", dt.date(2000, 2, 29), id="feb-29-2000"),
    ],
)
def test_parse_nip_accepts_feb_29_on_leap_year(raw: str, birth: dt.date) -> None:
    assert parse_nip(raw, today=TODAY).birth_date == birth


@pytest.mark.parametrize(
    ("raw", "appointment"),
    [
        pytest.param("198503152003031001", (2003, 3), id="age-18-exact-month"),
        pytest.param("198503152003121001", (2003, 12), id="age-18-later-month"),
        pytest.param("195003152010031001", (2010, 3), id="age-60-exact-month"),
        pytest.param("195003152011021001", (2011, 2), id="age-60-month-before-61"),
    ],
)
def test_parse_nip_accepts_age_boundaries_18_and_60(raw: str, appointment: tuple[int, int]) -> None:
    nip = parse_nip(raw, today=TODAY)
    assert (nip.appointment_year, nip.appointment_month) == appointment


def test_parse_nip_accepts_appointment_in_the_current_month() -> None:
    assert parse_nip("198503152024061001", today=TODAY).appointment_month == 6
    nip_violation("198503152024061001", today=dt.date(2024, 5, 31))


def test_parse_nip_future_check_follows_today() -> None:
    nip = "198503152030011001"
    nip_violation(nip, today=TODAY)
    assert parse_nip(nip, today=dt.date(2030, 1, 1)).appointment_year == 2030


# ---------------------------------------------------------------- NIK and platform ids


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(VALID_NIK, VALID_NIK, id="plain"),
        pytest.param(" 3201 0155 0385 0001 ", VALID_NIK, id="spaces"),
        pytest.param("3201011201900002", "3201011201900002", id="male-birth-part"),
    ],
)
def test_check_nik_accepts_16_digits(raw: str, expected: str) -> None:
    assert check_nik(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        pytest.param("320101550385000", "16 digit", id="length-15"),
        pytest.param("32010155038500011", "16 digit", id="length-17"),
        pytest.param("", "16 digit", id="empty"),
        pytest.param("320101550385000A", "16 digit", id="letter"),
        pytest.param("3201-01550385000", "16 digit", id="dash"),
        pytest.param("3201010000000001", "000000", id="zero-birth-part"),
    ],
)
def test_check_nik_rejects(raw: str, fragment: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        check_nik(raw)
    assert caught.value.field == "nik"
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("３２０１０１５５０３８５０００１", id="fullwidth"),
        pytest.param("٣٢٠١٠١٥٥٠٣٨٥٠٠٠١", id="arabic-indic"),
    ],
)
def test_check_nik_rejects_non_ascii_digits(raw: str) -> None:
    with pytest.raises(RuleViolation):
        check_nik(raw)


def test_nik_fingerprint_is_a_keyed_sha256_hex() -> None:
    fingerprint = nik_fingerprint(VALID_NIK, b"key-one")
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint)
    assert fingerprint == nik_fingerprint(VALID_NIK, b"key-one")
    assert fingerprint != nik_fingerprint(VALID_NIK, b"key-two")
    assert fingerprint != nik_fingerprint("3201015503850002", b"key-one")
    assert VALID_NIK not in fingerprint


def test_non_asn_id_is_deterministic_and_formatted() -> None:
    first = non_asn_id(nik_fingerprint(VALID_NIK, b"key-one"))
    assert re.fullmatch(r"NA\d{16}", first)
    assert first == non_asn_id(nik_fingerprint(VALID_NIK, b"key-one"))
    assert first != non_asn_id(nik_fingerprint(VALID_NIK, b"key-two"))
    assert first != non_asn_id(nik_fingerprint("3201015503850002", b"key-one"))


def test_non_asn_ids_differ_across_many_niks() -> None:
    ids = {non_asn_id(nik_fingerprint(f"320101550385{n:04d}", b"key")) for n in range(1, 501)}
    assert len(ids) == 500
    assert all(re.fullmatch(r"NA\d{16}", value) for value in ids)


@pytest.mark.parametrize(
    ("nik_hash", "expected"),
    [
        pytest.param("0" * 64, "NA" + "0" * 16, id="zero-pads"),
        pytest.param("00000000000000000001" + "f" * 44, "NA0000000000000001", id="small-value"),
        pytest.param("f" * 64, "NA" + str(int("f" * 20, 16))[:16], id="max-truncates"),
    ],
)
def test_non_asn_id_always_has_16_digits(nik_hash: str, expected: str) -> None:
    assert non_asn_id(nik_hash) == expected


# ---------------------------------------------------------------- level_rule and EmployeeInput


@pytest.mark.parametrize("level", list(Level), ids=lambda level: level.value)
def test_level_rule_pns_may_hold_any_level(level: Level) -> None:
    level_rule(EmploymentType.PNS, level)


@pytest.mark.parametrize("level", [lvl for lvl in Level if lvl is not Level.STAFF], ids=str)
def test_level_rule_non_asn_only_staff(level: Level) -> None:
    level_rule(EmploymentType.NON_ASN, Level.STAFF)
    with pytest.raises(RuleViolation) as caught:
        level_rule(EmploymentType.NON_ASN, level)
    assert caught.value.field == "level"
    assert caught.value.message == f"pegawai NON_ASN hanya boleh berlevel STAFF, bukan {level.value}"


# Issue 13 changed this rule: a PPPK may hold a JPT post (PP 49/2018 art. 2), no longer STAFF only.
@pytest.mark.parametrize("level", [Level.JPT, Level.STAFF], ids=str)
def test_level_rule_pppk_may_hold_jpt_and_functional_posts(level: Level) -> None:
    level_rule(EmploymentType.PPPK, level)


@pytest.mark.parametrize("level", [Level.REGIONAL_HEAD, Level.ADMINISTRATOR, Level.SUPERVISOR], ids=str)
def test_level_rule_pppk_not_in_administrative_posts_or_leader(level: Level) -> None:
    with pytest.raises(RuleViolation) as caught:
        level_rule(EmploymentType.PPPK, level)
    assert caught.value.message == f"pegawai PPPK hanya boleh berlevel JPT atau STAFF, bukan {level.value}"


@pytest.mark.parametrize("level", list(Level), ids=str)
def test_employee_pns_any_level(level: Level) -> None:
    office = "SEKDA" if level is Level.REGIONAL_HEAD else None
    assert EmployeeInput.model_validate(employee(level=level.value, leader_office=office)).level is level


PPPK_NIP = "199009132025242014"  # a real NI PPPK: born 1990-09-13, 2025, contract code 24, female, 014
PPPK_TODAY = dt.date(2026, 1, 15)


def test_employee_pppk_jpt_is_valid() -> None:
    pppk = employee(employment_type="PPPK", nip=PPPK_NIP, level="JPT", position="Kepala Dinas Kesehatan")
    worker = EmployeeInput.model_validate(pppk, context={"today": PPPK_TODAY})
    assert worker.employment_type is EmploymentType.PPPK and worker.level is Level.JPT


@pytest.mark.parametrize("level", [Level.ADMINISTRATOR, Level.SUPERVISOR], ids=str)
def test_employee_pppk_not_administrator_or_supervisor(level: Level) -> None:
    pppk = employee(employment_type="PPPK", nip=PPPK_NIP, level=level.value)
    with pytest.raises(ValidationError) as caught:
        EmployeeInput.model_validate(pppk, context={"today": PPPK_TODAY})
    assert [readable_message(error) for error in caught.value.errors()] == [
        f"pegawai PPPK hanya boleh berlevel JPT atau STAFF, bukan {level.value}"
    ]


@pytest.mark.parametrize("level", [lvl for lvl in Level if lvl is not Level.STAFF], ids=str)
def test_employee_non_asn_only_staff(level: Level) -> None:
    errors = rejection(non_asn(level=level.value))
    assert errors == [(None, f"pegawai NON_ASN hanya boleh berlevel STAFF, bukan {level.value}")]


def test_employee_non_asn_with_nik_and_no_nip_is_valid() -> None:
    worker = EmployeeInput.model_validate(non_asn(nik=" 3201 0155 0385 0001 "))
    assert worker.nip is None
    assert worker.nik == VALID_NIK
    assert worker.employment_type is EmploymentType.NON_ASN
    assert VALID_NIK not in repr(worker)


def test_employee_non_asn_without_nik_rejected() -> None:
    assert rejection(non_asn(nik=None)) == [(None, "pegawai NON_ASN wajib punya NIK (16 digit)")]


def test_employee_non_asn_with_nip_rejected() -> None:
    errors = rejection(non_asn(nip=VALID_NIP))
    assert errors == [(None, "pegawai NON_ASN tidak punya NIP; kosongkan kolom nip")]


@pytest.mark.parametrize("employment_type", ["PNS", "PPPK"])
def test_employee_asn_without_nip_rejected(employment_type: str) -> None:
    errors = rejection(employee(employment_type=employment_type, nip=None))
    assert errors == [(None, f"pegawai {employment_type} wajib punya NIP 18 digit")]


@pytest.mark.parametrize("employment_type", ["PNS", "PPPK"])
def test_employee_asn_with_nik_rejected(employment_type: str) -> None:
    nip = "198403152022212001" if employment_type == "PPPK" else VALID_NIP
    errors = rejection(employee(employment_type=employment_type, nip=nip, nik=VALID_NIK))
    message = "NIK hanya dicatat untuk pegawai NON_ASN dan PEJABAT_NEGARA; kosongkan kolom nik"
    assert errors == [(None, message)]


def test_employee_invalid_nip_reported_on_nip_field() -> None:
    errors = rejection(employee(nip="198513152010011001"))
    assert len(errors) == 1
    field, message = errors[0]
    assert field == "nip"
    assert "digit 1–8" in message


def test_employee_invalid_nik_reported_on_nik_field() -> None:
    assert rejection(non_asn(nik="3201010000000001")) == [
        ("nik", "digit 7–12 NIK (tanggal lahir) tidak boleh 000000")
    ]


def test_employee_nip_is_normalised() -> None:
    assert EmployeeInput.model_validate(employee(nip="19850315 201001 1 001")).nip == VALID_NIP


def test_employee_supervisor_nip_valid() -> None:
    worker = EmployeeInput.model_validate(employee(supervisor_nip=" 19700101 200003 2 005 "))
    assert worker.supervisor_nip == OTHER_NIP


@pytest.mark.parametrize(
    "supervisor",
    [pytest.param(VALID_NIP, id="same"), pytest.param("19850315 201001 1 001", id="same-with-spaces")],
)
def test_employee_supervisor_nip_equal_to_own_rejected(supervisor: str) -> None:
    errors = rejection(employee(supervisor_nip=supervisor))
    assert errors == [(None, "nip_atasan tidak boleh sama dengan NIP pegawai itu sendiri")]


@pytest.mark.parametrize(
    ("supervisor", "fragment"),
    [
        pytest.param("1985", "18 digit", id="short"),
        pytest.param("19850315201001100X", "angka", id="letter"),
        pytest.param("198503152010011000", "digit 16–18", id="sequence-000"),
    ],
)
def test_employee_invalid_supervisor_nip_rejected(supervisor: str, fragment: str) -> None:
    errors = rejection(employee(supervisor_nip=supervisor))
    assert len(errors) == 1
    assert errors[0][0] == "supervisor_nip"
    assert fragment in errors[0][1]


@pytest.mark.parametrize("blank", ["", "   ", "\t"], ids=["empty", "spaces", "tab"])
def test_employee_blank_optional_strings_become_none(blank: str) -> None:
    worker = EmployeeInput.model_validate(employee(supervisor_nip=blank, email=blank, phone=blank, nik=blank))
    assert worker.supervisor_nip is None
    assert worker.email is None
    assert worker.phone is None
    assert worker.nik is None
    worker = EmployeeInput.model_validate(non_asn(nip=blank))
    assert worker.nip is None


@pytest.mark.parametrize(
    "email", ["budi.santoso@bkd.jabarprov.go.id", "budi+ortala@gmail.com"], ids=["go-id", "plus"]
)
def test_employee_valid_email(email: str) -> None:
    assert EmployeeInput.model_validate(employee(email=email)).email == email


@pytest.mark.parametrize(
    "email", ["budi", "budi@", "@bkd.go.id", "budi@@bkd.go.id", "budi santoso@bkd.go.id"], ids=str
)
def test_employee_invalid_email(email: str) -> None:
    assert rejection(employee(email=email)) == [("email", "alamat email tidak valid")]


def test_employee_phone_pattern() -> None:
    assert EmployeeInput.model_validate(employee(phone="+62 812-3456-7890")).phone == "+62 812-3456-7890"
    errors = rejection(employee(phone="telp 0812"))
    assert [field for field, _ in errors] == ["phone"]
    assert "format tidak sesuai" in errors[0][1]


def test_employee_unknown_field_rejected() -> None:
    assert rejection(employee(golongan="III/a")) == [("golongan", "kolom ini tidak dikenal")]


def test_employee_short_name_rejected() -> None:
    assert rejection(employee(name=" B ")) == [("name", "terlalu pendek (minimal 2 karakter)")]


# ---------------------------------------------------------------- level_fits_unit

PEMDA = [OrgUnitKind.PROVINCE, OrgUnitKind.REGENCY, OrgUnitKind.CITY]


@pytest.mark.parametrize("kind", PEMDA, ids=str)
def test_regional_head_fits_pemda(kind: OrgUnitKind) -> None:
    level_fits_unit(Level.REGIONAL_HEAD, kind)


@pytest.mark.parametrize("kind", [OrgUnitKind.OPD, OrgUnitKind.SUB_UNIT], ids=str)
def test_regional_head_rejected_below_pemda(kind: OrgUnitKind) -> None:
    with pytest.raises(RuleViolation) as caught:
        level_fits_unit(Level.REGIONAL_HEAD, kind)
    assert caught.value.field == "org_unit_code"
    assert "REGIONAL_HEAD" in caught.value.message
    assert KIND_LABEL[kind] in caught.value.message


@pytest.mark.parametrize("kind", [*PEMDA, OrgUnitKind.OPD], ids=str)
def test_jpt_fits_opd_or_pemda(kind: OrgUnitKind) -> None:
    level_fits_unit(Level.JPT, kind)


def test_jpt_rejected_in_sub_unit() -> None:
    with pytest.raises(RuleViolation) as caught:
        level_fits_unit(Level.JPT, OrgUnitKind.SUB_UNIT)
    assert caught.value.field == "org_unit_code"
    assert "JPT" in caught.value.message
    assert "sub-unit" in caught.value.message


@pytest.mark.parametrize("kind", list(OrgUnitKind), ids=str)
@pytest.mark.parametrize("level", [Level.ADMINISTRATOR, Level.SUPERVISOR, Level.STAFF], ids=str)
def test_other_levels_fit_anywhere(level: Level, kind: OrgUnitKind) -> None:
    level_fits_unit(level, kind)


# ---------------------------------------------------------------- check_unit_parent

ALLOWED_PAIRS = [(kind, parent) for kind, parents in ALLOWED_PARENTS.items() for parent in parents]
DISALLOWED_PAIRS = [
    (kind, parent)
    for kind in OrgUnitKind
    for parent in [*OrgUnitKind, None]
    if parent not in ALLOWED_PARENTS[kind]
]


def test_allowed_parents_table_is_the_documented_tree() -> None:
    assert sorted(ALLOWED_PAIRS, key=str) == sorted(
        [
            (OrgUnitKind.PROVINCE, None),
            (OrgUnitKind.REGENCY, OrgUnitKind.PROVINCE),
            (OrgUnitKind.CITY, OrgUnitKind.PROVINCE),
            (OrgUnitKind.OPD, OrgUnitKind.PROVINCE),
            (OrgUnitKind.OPD, OrgUnitKind.REGENCY),
            (OrgUnitKind.OPD, OrgUnitKind.CITY),
            (OrgUnitKind.SUB_UNIT, OrgUnitKind.OPD),
            (OrgUnitKind.SUB_UNIT, OrgUnitKind.SUB_UNIT),
        ],
        key=str,
    )


@pytest.mark.parametrize(("kind", "parent"), ALLOWED_PAIRS, ids=lambda value: str(value))
def test_check_unit_parent_accepts_allowed_pairs(kind: OrgUnitKind, parent: OrgUnitKind | None) -> None:
    check_unit_parent(kind, parent)


@pytest.mark.parametrize(
    ("kind", "parent"),
    [pair for pair in DISALLOWED_PAIRS if pair[1] is not None and pair[0] is not OrgUnitKind.PROVINCE],
    ids=lambda value: str(value),
)
def test_check_unit_parent_rejects_and_names_valid_parents(kind: OrgUnitKind, parent: OrgUnitKind) -> None:
    with pytest.raises(RuleViolation) as caught:
        check_unit_parent(kind, parent)
    message = caught.value.message
    assert caught.value.field == "parent_code"
    assert f"unit {KIND_LABEL[kind]} tidak boleh berada di bawah {KIND_LABEL[parent]}" in message
    valid_part = message.split("induk yang sah: ", 1)[1]
    named = set(valid_part.split(", "))
    assert named == {KIND_LABEL[p] for p in ALLOWED_PARENTS[kind] if p is not None}


@pytest.mark.parametrize("parent", list(OrgUnitKind), ids=str)
def test_check_unit_parent_province_has_no_parent(parent: OrgUnitKind) -> None:
    with pytest.raises(RuleViolation) as caught:
        check_unit_parent(OrgUnitKind.PROVINCE, parent)
    assert "unit provinsi tidak boleh berada di bawah" in caught.value.message
    assert caught.value.message.endswith("induk yang sah: tidak ada")


@pytest.mark.parametrize(
    "kind", [OrgUnitKind.REGENCY, OrgUnitKind.CITY, OrgUnitKind.OPD, OrgUnitKind.SUB_UNIT], ids=str
)
def test_check_unit_parent_requires_parent(kind: OrgUnitKind) -> None:
    with pytest.raises(RuleViolation) as caught:
        check_unit_parent(kind, None)
    assert caught.value.field == "parent_code"
    assert caught.value.message == f"unit {KIND_LABEL[kind]} wajib punya induk"


# ---------------------------------------------------------------- profile_changes


def test_profile_changes_returns_only_changed_fields() -> None:
    current: dict[str, object] = {
        "name": "Budi Santoso",
        "position": "Analis",
        "level": Level.STAFF,
        "employment_type": EmploymentType.PNS,
        "supervisor_nip": OTHER_NIP,
        "email": "budi@bkd.go.id",
        "phone": None,
        "org_unit_code": "OPD-1",
    }
    incoming: dict[str, object] = {
        **current,
        "position": "Kepala Seksi",
        "level": "SUPERVISOR",
        "phone": "0812345678",
        "org_unit_code": "OPD-2",
    }
    assert profile_changes(current, incoming) == {
        "position": "Kepala Seksi",
        "level": "SUPERVISOR",
        "phone": "0812345678",
    }


def test_profile_changes_empty_when_nothing_changed() -> None:
    current: dict[str, object] = {"name": "Budi", "level": Level.STAFF, "email": None}
    assert profile_changes(current, {"name": "Budi", "level": "STAFF"}) == {}


def test_profile_changes_reports_cleared_field_as_none() -> None:
    assert profile_changes({"email": "budi@bkd.go.id"}, {}) == {"email": None}
    assert profile_changes({}, {"email": "budi@bkd.go.id"}) == {"email": "budi@bkd.go.id"}


def test_profile_changes_ignores_non_profile_fields() -> None:
    assert "org_unit_code" not in PROFILE_FIELDS
    assert profile_changes({"org_unit_code": "A", "nik": "1"}, {"org_unit_code": "B", "nik": "2"}) == {}


# ---------------------------------------------------------------- today comes in, changes go out


def test_future_nip_is_judged_by_the_today_in_the_context() -> None:
    appointed_2030 = "198503152030011001"
    with pytest.raises(ValidationError, match="2030-01 ada di masa depan"):
        EmployeeInput.model_validate(employee(nip=appointed_2030), context={"today": TODAY})
    later = EmployeeInput.model_validate(employee(nip=appointed_2030), context={"today": dt.date(2030, 1, 1)})
    assert later.nip == appointed_2030
    # Without a today (test data built directly) only the calendar comparison is skipped.
    assert EmployeeInput.model_validate(employee(nip=appointed_2030)).nip == appointed_2030
    assert rejection(employee(nip="198513152010011001"))[0][0] == "nip"


def on_file(**changes: Any) -> dict[str, Any]:
    record = {
        "_id": VALID_NIP,
        **employee(),
        "org_unit_path": ["32", "OPD-BKD"],
        "email": None,
        "supervisor_nip": None,
        "phone": None,
        "active": True,
        "version": 3,
    }
    record.update(changes)
    return record


NOW = dt.datetime(2024, 6, 1, 8, 0, tzinfo=dt.UTC)


def test_reimport_into_another_unit_is_a_transfer_dated_the_day_of_the_import() -> None:
    incoming = EmployeeInput.model_validate(employee(org_unit_code="OPD-DINKES", position="Perawat"))
    unit = UnitRef("OPD-DINKES", OrgUnitKind.OPD, ["32"])
    change = employee_reimport(on_file(), incoming, unit, "impor imp-1 baris 2", "import:imp-1", NOW)
    assert change is not None and change.version == 3 and change.changed == ["position"]
    assert change.update == {
        "position": "Perawat",
        "updated_at": NOW,
        "version": 4,
        "org_unit_code": "OPD-DINKES",
        "org_unit_path": ["32"],
    }
    assert change.history["action"] == "transfer" and "effective_date" not in change.history
    assert change.history["changes"] == {"position": ["Analis Kepegawaian", "Perawat"]}
    assert isinstance(change.event, EmployeeTransferredV1)
    assert change.event.effective_date == NOW.date() and change.event.employee.version == 4


def test_a_move_that_changes_the_profile_keeps_every_change_in_the_history() -> None:
    incoming = EmployeeInput.model_validate(employee(org_unit_code="OPD-DINKES", email="baru@example.go.id"))
    unit = UnitRef("OPD-DINKES", OrgUnitKind.OPD, ["32"])
    reimported = employee_reimport(on_file(), incoming, unit, "impor", "import:imp-1", NOW)
    assert reimported is not None and reimported.history["changes"] == {"email": [None, "baru@example.go.id"]}
    ordered = employee_transfer(on_file(), unit, "mutasi", NOW.date(), "Kepala Seksi", None, "admin", NOW)
    assert ordered.history["changes"] == {"position": ["Analis Kepegawaian", "Kepala Seksi"]}
    plain = employee_transfer(on_file(), unit, "mutasi", NOW.date(), None, None, "admin", NOW)
    assert "changes" not in plain.history


def test_reimport_of_the_same_details_changes_nothing() -> None:
    incoming = EmployeeInput.model_validate(employee())
    unit = UnitRef("OPD-BKD", OrgUnitKind.OPD, ["32"])
    assert employee_reimport(on_file(), incoming, unit, "impor", "import:imp-1", NOW) is None


def test_update_lists_old_and_new_values_in_its_history() -> None:
    revised = EmployeeInput.model_validate(employee(phone="+6281234567890"))
    change = employee_update(on_file(), revised, OrgUnitKind.OPD, "admin", NOW)
    assert change is not None and change.history["changes"] == {"phone": [None, "+6281234567890"]}
    assert isinstance(change.event, EmployeeUpdatedV1) and change.event.changed == ["phone"]
    with pytest.raises(EmployeeInactive):
        employee_update(on_file(active=False), revised, OrgUnitKind.OPD, "admin", NOW)


def test_rule_violation_is_an_invalid_input_on_its_field() -> None:
    violation = RuleViolation("parent_code", "unit induk X tidak ditemukan")
    assert isinstance(violation, InvalidInput)
    assert violation.errors == [{"field": "parent_code", "message": "unit induk X tidak ditemukan"}]
