"""Issue 13 in services/registry/domain.py: the NI PPPK layout and its appointment age, the pemda's
leaders (leader offices, who may hold them, one per seat), elected heads without NIP."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.registry import EmployeeSnapshot
from services.kit.errors import Conflict
from services.kit.validation import readable_message
from services.registry.domain import (
    EmployeeInput,
    EmploymentType,
    LeaderOffice,
    LeaderSeatTaken,
    Level,
    Nip,
    OrgUnitKind,
    RuleViolation,
    UnitRef,
    check_file_seat,
    check_leader_seat,
    employee_snapshot,
    employee_transfer,
    leader_office_rule,
    level_fits_unit,
    level_rule,
    new_employee,
    parse_any_nip,
    parse_nip,
    retirement_age,
)

TODAY = dt.date(2026, 1, 15)
PPPK = EmploymentType.PPPK
REAL_2025 = "199009132025242014"  # born 1990-09-13, first appointed 2025, contract code 24, female, 014
REAL_2022 = "198403152022212001"  # born 1984-03-15, first appointed 2022, contract code 21, female, 001
PNS_NIP = "198503152010011001"  # born 1985-03-15, TMT CPNS 2010-01, male, 001
NIK = "3201015503850001"
NOW = dt.datetime(2026, 1, 15, 8, 0, tzinfo=dt.UTC)


def pppk_violation(raw: str, today: dt.date = TODAY, retirement: int = 58) -> str:
    with pytest.raises(RuleViolation) as caught:
        parse_nip(raw, today, PPPK, retirement)
    assert caught.value.field == "nip"
    return caught.value.message


# ---------------------------------------------------------------- the NI PPPK layout


def test_real_pppk_numbers_are_read_by_the_pppk_layout() -> None:
    assert parse_nip(REAL_2025, TODAY, PPPK) == Nip(
        value=REAL_2025,
        employment_type=PPPK,
        birth_date=dt.date(1990, 9, 13),
        appointment_year=2025,
        appointment_month=None,
        contract_code="24",
        gender=2,
        sequence=14,
    )
    parsed = parse_nip(REAL_2022, TODAY, PPPK)
    assert (parsed.birth_date, parsed.appointment_year, parsed.contract_code) == (
        dt.date(1984, 3, 15),
        2022,
        "21",
    )
    assert (parsed.gender, parsed.sequence) == (2, 1)


def test_real_pppk_numbers_still_fail_as_a_pns_nip() -> None:
    # A PPPK's number read as a PNS's: digits 13–14 are a contract code, not a month.
    with pytest.raises(RuleViolation, match=r"digit 13–14 \(24\) bukan bulan pengangkatan yang valid"):
        parse_nip(REAL_2025, TODAY)


def test_a_pns_layout_number_is_refused_for_a_pppk_naming_the_year() -> None:
    message = pppk_violation(PNS_NIP)
    assert message.startswith("digit 9–12 (2010) bukan tahun pengangkatan PPPK yang mungkin")
    assert "PP 49/2018" in message and "paling awal 2019" in message
    assert "2019" in pppk_violation("199001012018211001")
    assert parse_nip("199001012019211001", TODAY, PPPK).appointment_year == 2019


def test_pppk_appointment_year_after_today_is_refused_and_the_current_year_is_not() -> None:
    # The NI PPPK has no month: any day of the year of appointment will do.
    assert (
        pppk_violation(REAL_2025, dt.date(2024, 12, 31))
        == "digit 9–12: tahun pengangkatan 2025 ada di masa depan"
    )
    assert parse_nip(REAL_2025, dt.date(2025, 1, 1), PPPK).appointment_year == 2025
    assert parse_nip(REAL_2025, None, PPPK).appointment_year == 2025  # no today: no calendar check


def test_pppk_birth_date_in_the_future_is_refused() -> None:
    assert "masa depan" in pppk_violation("202602012025211001", dt.date(2026, 1, 31))


@pytest.mark.parametrize(
    ("raw", "birth"),
    [
        pytest.param("200002292021211001", dt.date(2000, 2, 29), id="feb-29-2000"),
        pytest.param("200402292024212001", dt.date(2004, 2, 29), id="feb-29-2004-age-20"),
    ],
)
def test_pppk_leap_day_birth_dates(raw: str, birth: dt.date) -> None:
    assert parse_nip(raw, TODAY, PPPK).birth_date == birth


def test_pppk_impossible_leap_day_is_refused() -> None:
    assert (
        pppk_violation("200102292021211001")
        == "digit 1–8 (20010229) bukan tanggal lahir yang valid (YYYYMMDD)"
    )


def test_pppk_minimum_age_20_in_the_year_of_appointment() -> None:
    # Born 10 June 2004: 20 from 10 June 2024, so 2024 is possible and 2023 is not.
    assert parse_nip("200406102024211001", TODAY, PPPK).appointment_year == 2024
    assert pppk_violation("200406102023211001") == (
        "digit 9–12: pengangkatan PPPK tahun 2023 terjadi pada usia paling tinggi 19 tahun, minimal 20"
    )
    # Born on 31 December: still 20 on the last day of the year.
    assert parse_nip("200312312023211001", TODAY, PPPK).appointment_year == 2023


@pytest.mark.parametrize(
    ("raw", "retirement", "accepted"),
    [
        # BUP 58: at most 57 at appointment. Born 2 January 1966, 57 until 1 January 2024.
        pytest.param("196601022024211001", 58, True, id="58-youngest-57"),
        pytest.param("196601012024211001", 58, False, id="58-born-1-jan-58-all-year"),
        pytest.param("196505012024211001", 58, False, id="58-youngest-58"),
        pytest.param("196405012024211001", 60, True, id="60-youngest-59"),
        pytest.param("196305012024211001", 60, False, id="60-youngest-60"),
        pytest.param("195905012024211001", 65, True, id="65-youngest-64"),
        pytest.param("195805012024211001", 65, False, id="65-youngest-65"),
    ],
)
def test_pppk_maximum_age_one_year_before_the_retirement_age(
    raw: str, retirement: int, accepted: bool
) -> None:
    if accepted:
        assert parse_nip(raw, TODAY, PPPK, retirement).appointment_year == 2024
        return
    message = pppk_violation(raw, retirement=retirement)
    assert message.startswith("digit 9–12: pengangkatan PPPK tahun 2024 terjadi pada usia paling rendah")
    assert message.endswith(
        f"maksimal {retirement - 1} (1 tahun sebelum batas usia pensiun {retirement} jabatan ini)"
    )


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        pytest.param("199009132025243014", "digit 15 (3)", id="gender-3"),
        pytest.param("199009132025242000", "digit 16–18", id="sequence-000"),
        pytest.param("19900913202524201", "18 digit", id="length-17"),
        pytest.param("19900913202524201X", "angka", id="letter"),
    ],
)
def test_pppk_gender_sequence_and_shape_checked_as_for_pns(raw: str, fragment: str) -> None:
    assert fragment in pppk_violation(raw)


@pytest.mark.parametrize(
    ("level", "position", "expected"),
    [
        pytest.param(Level.STAFF, "Pranata Komputer Ahli Pertama", 58, id="ahli-pertama"),
        pytest.param(Level.STAFF, "Penata Layanan Operasional", 58, id="pelaksana"),
        pytest.param(Level.STAFF, "Guru Ahli Madya", 60, id="ahli-madya"),
        pytest.param(Level.STAFF, "Analis Kebijakan Ahli Utama", 65, id="ahli-utama"),
        pytest.param(Level.JPT, "Kepala Dinas Kesehatan", 60, id="jpt"),
        pytest.param(Level.JPT, "Widyaiswara Ahli Utama", 65, id="ahli-utama-beats-jpt"),
        pytest.param(None, None, 65, id="unknown-post-the-highest"),
    ],
)
def test_retirement_age_by_post(level: Level | None, position: str | None, expected: int) -> None:
    assert retirement_age(level, position) == expected


def pppk(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "nip": REAL_2025,
        "name": "Rina Kartika",
        "employment_type": "PPPK",
        "position": "Pranata Komputer Ahli Pertama",
        "level": "STAFF",
        "org_unit_code": "32.01.001",
    }
    values.update(overrides)
    return values


def errors_of(values: dict[str, Any]) -> list[tuple[str | None, str]]:
    with pytest.raises(ValidationError) as caught:
        EmployeeInput.model_validate(values, context={"today": TODAY})
    return [
        (str(error["loc"][0]) if error["loc"] else None, readable_message(error))
        for error in caught.value.errors()
    ]


def test_employee_input_reads_the_nip_by_the_employment_type() -> None:
    for number in (REAL_2025, REAL_2022):
        assert EmployeeInput.model_validate(pppk(nip=number), context={"today": TODAY}).nip == number
    [(field, message)] = errors_of(pppk(nip=PNS_NIP))
    assert field == "nip" and message.startswith("digit 9–12 (2010)")
    [(field, message)] = errors_of({**pppk(), "employment_type": "PNS"})
    assert (field, message) == ("nip", "digit 13–14 (24) bukan bulan pengangkatan yang valid (01–12)")


def test_employee_input_bounds_a_pppk_age_by_the_post() -> None:
    # Born 1 May 1965, appointed 2024: 58 all year, too old for a post retiring at 58 or 60.
    old = "196505012024211001"
    [(field, message)] = errors_of(pppk(nip=old))
    assert field == "nip" and "maksimal 57" in message
    ahli_utama = pppk(nip=old, position="Analis Kebijakan Ahli Utama")
    assert EmployeeInput.model_validate(ahli_utama, context={"today": TODAY}).nip == old


def test_supervisor_number_may_be_a_nip_or_an_ni_pppk() -> None:
    # A PPPK in a JPT post leads staff: their number is an NI PPPK.
    worker = EmployeeInput.model_validate(pppk(supervisor_nip=REAL_2022), context={"today": TODAY})
    assert worker.supervisor_nip == REAL_2022
    assert parse_any_nip(PNS_NIP, TODAY).employment_type is EmploymentType.PNS
    assert parse_any_nip(REAL_2025, TODAY).employment_type is PPPK


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        pytest.param("198503152010011000", "digit 16–18", id="month-like-gives-the-pns-error"),
        pytest.param("199009132015242014", "digit 9–12 (2015)", id="code-like-gives-the-pppk-error"),
    ],
)
def test_supervisor_number_invalid_in_both_layouts(raw: str, fragment: str) -> None:
    [(field, message)] = errors_of(pppk(supervisor_nip=raw))
    assert field == "supervisor_nip" and fragment in message


# ---------------------------------------------------------------- levels by employment type


def test_pppk_may_hold_a_jpt_post() -> None:
    # PP 49/2018 art. 2; the STAFF-only rule is lifted by issue 13.
    head = pppk(level="JPT", position="Kepala Dinas Kesehatan", nip=REAL_2022)
    assert EmployeeInput.model_validate(head, context={"today": TODAY}).level is Level.JPT


@pytest.mark.parametrize("level", [lvl for lvl in Level if lvl is not Level.REGIONAL_HEAD], ids=str)
def test_pejabat_negara_only_as_a_regional_head(level: Level) -> None:
    with pytest.raises(RuleViolation) as caught:
        level_rule(EmploymentType.PEJABAT_NEGARA, level)
    assert (
        caught.value.message
        == f"pegawai PEJABAT_NEGARA hanya boleh berlevel REGIONAL_HEAD, bukan {level.value}"
    )


# ---------------------------------------------------------------- leader offices


VALID_OFFICES = [
    (LeaderOffice.KEPALA_DAERAH, EmploymentType.PEJABAT_NEGARA),
    (LeaderOffice.WAKIL_KEPALA_DAERAH, EmploymentType.PEJABAT_NEGARA),
    (LeaderOffice.PJ_KEPALA_DAERAH, EmploymentType.PNS),
    (LeaderOffice.SEKDA, EmploymentType.PNS),
]


@pytest.mark.parametrize(("office", "employment_type"), VALID_OFFICES, ids=str)
def test_each_leader_office_with_the_type_the_law_gives_it(
    office: LeaderOffice, employment_type: EmploymentType
) -> None:
    leader_office_rule(employment_type, Level.REGIONAL_HEAD, office)


@pytest.mark.parametrize(
    ("office", "employment_type", "fragment"),
    [
        (LeaderOffice.KEPALA_DAERAH, EmploymentType.PNS, "pejabat negara, bukan ASN"),
        (LeaderOffice.WAKIL_KEPALA_DAERAH, EmploymentType.PPPK, "pejabat negara, bukan ASN"),
        (LeaderOffice.PJ_KEPALA_DAERAH, EmploymentType.PEJABAT_NEGARA, "UU 10/2016 pasal 201"),
        (LeaderOffice.SEKDA, EmploymentType.PPPK, "UU 23/2014 pasal 213-214"),
        (LeaderOffice.SEKDA, EmploymentType.NON_ASN, "UU 23/2014 pasal 213-214"),
    ],
    ids=str,
)
def test_a_leader_office_refuses_another_employment_type(
    office: LeaderOffice, employment_type: EmploymentType, fragment: str
) -> None:
    with pytest.raises(RuleViolation) as caught:
        leader_office_rule(employment_type, Level.REGIONAL_HEAD, office)
    required = (
        "PEJABAT_NEGARA"
        if office in (LeaderOffice.KEPALA_DAERAH, LeaderOffice.WAKIL_KEPALA_DAERAH)
        else "PNS"
    )
    assert caught.value.field == "employment_type"
    assert caught.value.message.startswith(
        f"leader_office {office.value} harus berjenis pegawai {required}, bukan {employment_type.value}: "
    )
    assert fragment in caught.value.message


@pytest.mark.parametrize("level", [lvl for lvl in Level if lvl is not Level.REGIONAL_HEAD], ids=str)
def test_a_leader_office_needs_level_regional_head(level: Level) -> None:
    with pytest.raises(RuleViolation) as caught:
        leader_office_rule(EmploymentType.PNS, level, LeaderOffice.SEKDA)
    assert caught.value.message == f"leader_office SEKDA hanya untuk level REGIONAL_HEAD, bukan {level.value}"


def test_regional_head_without_an_office_is_refused() -> None:
    with pytest.raises(RuleViolation) as caught:
        leader_office_rule(EmploymentType.PNS, Level.REGIONAL_HEAD, None)
    assert caught.value.message == (
        "level REGIONAL_HEAD hanya untuk pimpinan pemda: isi leader_office "
        "(KEPALA_DAERAH, WAKIL_KEPALA_DAERAH, PJ_KEPALA_DAERAH, SEKDA)"
    )
    leader_office_rule(EmploymentType.PNS, Level.JPT, None)


def test_pejabat_negara_needs_an_elected_office() -> None:
    with pytest.raises(
        RuleViolation, match="isi leader_office dengan KEPALA_DAERAH atau WAKIL_KEPALA_DAERAH"
    ):
        leader_office_rule(EmploymentType.PEJABAT_NEGARA, Level.REGIONAL_HEAD, None)


@pytest.mark.parametrize("kind", [OrgUnitKind.OPD, OrgUnitKind.SUB_UNIT], ids=str)
def test_a_leader_sits_on_the_pemda_unit(kind: OrgUnitKind) -> None:
    # A leader office needs REGIONAL_HEAD, and REGIONAL_HEAD needs a province, regency or city.
    with pytest.raises(RuleViolation, match="REGIONAL_HEAD harus berada di unit pemda"):
        level_fits_unit(Level.REGIONAL_HEAD, kind)


def bupati(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Rudy Susmanto",
        "employment_type": "PEJABAT_NEGARA",
        "position": "Bupati Bogor",
        "level": "REGIONAL_HEAD",
        "org_unit_code": "32.01",
        "leader_office": "KEPALA_DAERAH",
        "nik": NIK,
    }
    values.update(overrides)
    return values


def test_an_elected_head_is_registered_without_nip_by_nik() -> None:
    head = EmployeeInput.model_validate(bupati(), context={"today": TODAY})
    assert head.nip is None and head.nik == NIK and head.leader_office is LeaderOffice.KEPALA_DAERAH
    record, event = new_employee(
        head, "NA0000000000000001", UnitRef("32.01", OrgUnitKind.REGENCY, ["32"]), None, "a", NOW
    )
    assert record["leader_office"] == "KEPALA_DAERAH" and record["nip"] is None
    assert event.employee.leader_office == "KEPALA_DAERAH"
    assert event.employee.employment_type == "PEJABAT_NEGARA"


def test_an_elected_head_has_no_nip_and_needs_a_nik() -> None:
    assert errors_of(bupati(nip=PNS_NIP)) == [
        (None, "pegawai PEJABAT_NEGARA tidak punya NIP; kosongkan kolom nip")
    ]
    assert errors_of(bupati(nik=None)) == [(None, "pegawai PEJABAT_NEGARA wajib punya NIK (16 digit)")]


def test_an_acting_head_is_a_pns_with_a_nip() -> None:
    pj = {
        **bupati(nik=None, employment_type="PNS", leader_office="PJ_KEPALA_DAERAH"),
        "nip": "197003151995031001",
        "position": "Penjabat Bupati Bogor",
    }
    assert (
        EmployeeInput.model_validate(pj, context={"today": TODAY}).leader_office
        is LeaderOffice.PJ_KEPALA_DAERAH
    )
    assert errors_of({**pj, "nip": None}) == [(None, "pegawai PNS wajib punya NIP 18 digit")]


def test_an_unknown_office_is_refused_on_its_field() -> None:
    [(field, message)] = errors_of(bupati(leader_office="RAJA"))
    assert field == "leader_office" and "KEPALA_DAERAH" in message


# ---------------------------------------------------------------- one per seat


def holder(employee_id: str, office: str) -> dict[str, Any]:
    return {"_id": employee_id, "leader_office": office, "org_unit_code": "32.01"}


def test_one_sekda_per_pemda() -> None:
    with pytest.raises(LeaderSeatTaken) as caught:
        check_leader_seat(
            LeaderOffice.SEKDA, "197003151995031001", "32.01", [holder("196901011990031001", "SEKDA")]
        )
    assert isinstance(caught.value, Conflict)
    assert caught.value.message == (
        "jabatan sekretaris daerah pemda 32.01 sudah dipegang pegawai aktif 196901011990031001 (SEKDA); "
        "nonaktifkan pegawai itu atau ubah leader_office-nya dulu"
    )
    # The holder themself, and the other seats, do not block.
    check_leader_seat(
        LeaderOffice.SEKDA, "196901011990031001", "32.01", [holder("196901011990031001", "SEKDA")]
    )
    check_leader_seat(
        LeaderOffice.SEKDA, "x", "32.01", [holder("a", "KEPALA_DAERAH"), holder("b", "WAKIL_KEPALA_DAERAH")]
    )


def test_an_acting_head_and_an_elected_head_share_one_seat() -> None:
    with pytest.raises(LeaderSeatTaken, match=r"kepala daerah \(terpilih atau Pj\)"):
        check_leader_seat(LeaderOffice.PJ_KEPALA_DAERAH, "pj", "32.01", [holder("NA1", "KEPALA_DAERAH")])
    with pytest.raises(LeaderSeatTaken):
        check_leader_seat(LeaderOffice.KEPALA_DAERAH, "NA2", "32.01", [holder("pj", "PJ_KEPALA_DAERAH")])
    check_leader_seat(LeaderOffice.WAKIL_KEPALA_DAERAH, "NA2", "32.01", [holder("NA1", "KEPALA_DAERAH")])


def test_one_file_seats_the_first_row_that_claims_a_seat() -> None:
    seats: dict[tuple[str, LeaderOffice], tuple[str, int]] = {}
    check_file_seat(LeaderOffice.KEPALA_DAERAH, "32.01", NIK, 7, seats)
    check_file_seat(LeaderOffice.KEPALA_DAERAH, "32.01", NIK, 7, seats)  # the same row read again on resume
    check_file_seat(LeaderOffice.SEKDA, "32.01", "196901011990031001", 6, seats)
    check_file_seat(LeaderOffice.PJ_KEPALA_DAERAH, "32", "197105051996031002", 9, seats)
    with pytest.raises(LeaderSeatTaken) as caught:
        check_file_seat(LeaderOffice.PJ_KEPALA_DAERAH, "32.01", "197105051996031002", 8, seats)
    assert caught.value.message == (
        "jabatan kepala daerah (terpilih atau Pj) pemda 32.01 sudah diisi baris 7 file ini; "
        "baris ini dilewati"
    )


# ---------------------------------------------------------------- transfers and the event


def sekda_on_file() -> dict[str, Any]:
    return {
        "_id": "197003151995031001",
        "nip": "197003151995031001",
        "name": "Ajat Sudrajat",
        "employment_type": "PNS",
        "position": "Sekretaris Daerah Kabupaten Bogor",
        "level": "REGIONAL_HEAD",
        "leader_office": "SEKDA",
        "org_unit_code": "32.01",
        "org_unit_path": ["32"],
        "supervisor_nip": None,
        "email": None,
        "phone": None,
        "active": True,
        "version": 2,
    }


def test_a_move_off_regional_head_ends_the_office() -> None:
    opd = UnitRef("32.01.001", OrgUnitKind.OPD, ["32", "32.01"])
    change = employee_transfer(sekda_on_file(), opd, "mutasi", TODAY, "Kepala Dinas", Level.JPT, "admin", NOW)
    assert change.update["leader_office"] is None and change.update["level"] == "JPT"
    assert change.history["changes"]["leader_office"] == ["SEKDA", None]


def test_a_move_between_pemdas_keeps_the_office_and_onto_regional_head_needs_one() -> None:
    province = UnitRef("32", OrgUnitKind.PROVINCE, [])
    kept = employee_transfer(sekda_on_file(), province, "mutasi", TODAY, None, None, "admin", NOW)
    assert "leader_office" not in kept.update and kept.event.employee.leader_office == "SEKDA"  # type: ignore[attr-defined]
    head = {**sekda_on_file(), "level": "JPT", "leader_office": None, "org_unit_code": "32.01.001"}
    with pytest.raises(RuleViolation, match="isi leader_office"):
        employee_transfer(head, province, "promosi", TODAY, None, Level.REGIONAL_HEAD, "admin", NOW)
    named = employee_transfer(
        head,
        province,
        "pelantikan Pj",
        TODAY,
        None,
        Level.REGIONAL_HEAD,
        "admin",
        NOW,
        LeaderOffice.PJ_KEPALA_DAERAH,
    )
    assert named.update["leader_office"] == "PJ_KEPALA_DAERAH"


def test_a_transfer_keeps_the_levels_of_the_employment_type() -> None:
    pppk_on_file = {**sekda_on_file(), "employment_type": "PPPK", "level": "STAFF", "leader_office": None}
    opd = UnitRef("32.01.001", OrgUnitKind.OPD, ["32", "32.01"])
    with pytest.raises(
        RuleViolation, match="pegawai PPPK hanya boleh berlevel JPT atau STAFF, bukan SUPERVISOR"
    ):
        employee_transfer(pppk_on_file, opd, "mutasi", TODAY, None, Level.SUPERVISOR, "admin", NOW)


def test_the_snapshot_carries_the_office_and_old_events_still_parse() -> None:
    assert employee_snapshot(sekda_on_file()).leader_office == "SEKDA"
    old_event = employee_snapshot({**sekda_on_file(), "leader_office": None}).model_dump(mode="json")
    del old_event["leader_office"]
    assert EmployeeSnapshot.model_validate(old_event).leader_office is None
