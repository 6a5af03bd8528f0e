"""The synthetic pemda must pass the same rules the registry enforces on a real import."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from netral.seed import EMPLOYEE_COLUMNS, ORG_UNIT_COLUMNS, EmployeeRow, OrgUnitRow, generate, write_csv
from services.registry.domain import (
    EmployeeInput,
    EmploymentType,
    Level,
    OrgUnitKind,
    check_nik,
    check_unit_parent,
    level_fits_unit,
    parse_nip,
)

TODAY = dt.date(2024, 6, 1)
RANK = {"REGIONAL_HEAD": 5, "JPT": 4, "ADMINISTRATOR": 3, "SUPERVISOR": 2, "STAFF": 1}
PEMDA_KINDS = {"PROVINCE", "REGENCY", "CITY"}


@cache
def sample(employees: int, seed: int = 2024) -> tuple[list[OrgUnitRow], list[EmployeeRow]]:
    # Generation is deterministic, so tests may share one result per size.
    return generate(employees, seed=seed, today=TODAY)


@pytest.mark.parametrize("employees", [0, 1, 10, 250, 5000])
def test_exact_row_count(employees: int) -> None:
    _, rows = sample(employees)
    assert len(rows) == employees


def test_every_nip_is_valid_for_the_same_today() -> None:
    _, rows = sample(5000)
    for row in rows:
        if row.employment_type in ("NON_ASN", "PEJABAT_NEGARA"):
            assert row.nip == ""
            continue
        # Each number by its own layout: a PPPK's carries a contract code (21, 24), not a month.
        nip = parse_nip(row.nip, TODAY, EmploymentType(row.employment_type))
        if row.employment_type == "PPPK":
            assert nip.appointment_year >= 2019 and nip.contract_code in ("21", "24")
        else:
            assert nip.appointment_month is not None
    assert sum(1 for row in rows if row.nip) > 4000
    assert sum(1 for row in rows if row.employment_type == "PPPK") > 500


def test_nik_only_for_non_asn_and_well_formed() -> None:
    _, rows = sample(5000)
    non_asn = [row for row in rows if row.employment_type == "NON_ASN"]
    assert non_asn
    for row in rows:
        if row.employment_type not in ("NON_ASN", "PEJABAT_NEGARA"):
            assert row.nik == ""
            continue
        assert check_nik(row.nik) == row.nik
        assert row.nik.startswith("32")
        day, month = int(row.nik[6:8]), int(row.nik[8:10])
        assert 1 <= day <= 31 or 41 <= day <= 71
        assert 1 <= month <= 12
        assert row.nik[12:] != "0000"


def test_identifiers_and_emails_are_unique() -> None:
    _, rows = sample(50_000)
    nips = [row.nip for row in rows if row.nip]
    niks = [row.nik for row in rows if row.nik]
    emails = [row.email for row in rows]
    assert len(set(nips)) == len(nips)
    assert len(set(niks)) == len(niks)
    assert len(set(emails)) == len(emails)


def test_contacts_look_real() -> None:
    _, rows = sample(5000)
    for row in rows:
        assert row.email.isascii()
        assert re.fullmatch(r"[a-z]+(\.[a-z]+)?\d+@example\.go\.id", row.email), row.email
        assert re.fullmatch(r"\+628\d{10}", row.phone), row.phone


def test_rows_pass_the_registry_input_model_with_the_real_today() -> None:
    # The registry validates NIPs against the actual date, so the default `today` must agree.
    _, rows = generate(300, seed=5)
    for row in rows:
        EmployeeInput.model_validate(dataclasses.asdict(row), context={"today": dt.date.today()})


def test_same_inputs_same_output_and_seed_matters() -> None:
    first = generate(400, seed=7, today=TODAY)
    assert generate(400, seed=7, today=TODAY) == first
    assert generate(400, seed=8, today=TODAY) != first


def test_only_pns_hold_structural_levels() -> None:
    _, rows = sample(5000)
    by_type = Counter((row.employment_type, row.level) for row in rows)
    for (employment_type, level), _count in by_type.items():
        if employment_type == "PEJABAT_NEGARA":
            assert level == "REGIONAL_HEAD"
        elif employment_type != "PNS":
            assert level == "STAFF"
    staff = [row for row in rows if row.level == "STAFF"]
    mix = Counter(row.employment_type for row in staff)
    assert 0.65 < mix["PNS"] / len(staff) < 0.75
    assert 0.16 < mix["PPPK"] / len(staff) < 0.24
    assert 0.07 < mix["NON_ASN"] / len(staff) < 0.13


@pytest.mark.parametrize("employees", [10, 250, 5000])
def test_supervisor_chain_points_up_and_units_exist(employees: int) -> None:
    units, rows = sample(employees)
    unit_by_code = {unit.code: unit for unit in units}
    seen: dict[str, EmployeeRow] = {}
    for row in rows:
        unit = unit_by_code[row.org_unit_code]
        level_fits_unit(Level(row.level), OrgUnitKind(unit.kind))
        if row.level == "REGIONAL_HEAD":
            assert row.supervisor_nip == ""
            assert unit.kind in PEMDA_KINDS
        else:
            # Leaders come first, so a supervisor is always an earlier row.
            boss = seen[row.supervisor_nip]
            assert RANK[boss.level] > RANK[row.level]
            assert boss.employment_type == "PNS"
            if row.level in ("STAFF", "SUPERVISOR"):
                assert boss.org_unit_code == row.org_unit_code
                assert boss.level == ("SUPERVISOR" if row.level == "STAFF" else "ADMINISTRATOR")
            else:
                assert boss.org_unit_code == unit.parent_code
                assert boss.level == ("JPT" if row.level == "ADMINISTRATOR" else "REGIONAL_HEAD")
        if row.nip:
            seen[row.nip] = row


def test_leaders_sit_where_they_belong() -> None:
    units, rows = sample(5000)
    kind_of = {unit.code: unit.kind for unit in units}
    expected = {"REGIONAL_HEAD": PEMDA_KINDS, "JPT": {"OPD"}, "ADMINISTRATOR": {"SUB_UNIT"}}
    expected |= {"SUPERVISOR": {"SUB_UNIT"}, "STAFF": {"SUB_UNIT"}}
    for row in rows:
        assert kind_of[row.org_unit_code] in expected[row.level]
    # Exactly one head per unit: Sekda per pemda, JPT per OPD, administrator per sub-unit.
    head_levels = ("JPT", "ADMINISTRATOR")
    heads = Counter(
        row.org_unit_code for row in rows if row.level in head_levels or row.leader_office == "SEKDA"
    )
    assert sorted(heads) == sorted(unit.code for unit in units)
    assert set(heads.values()) == {1}
    # And one elected head per pemda, a state official without NIP: the pemda's leaders are the
    # only REGIONAL_HEAD rows, each with its office.
    elected = Counter(row.org_unit_code for row in rows if row.leader_office == "KEPALA_DAERAH")
    assert sorted(elected) == sorted(unit.code for unit in units if unit.kind in PEMDA_KINDS)
    assert set(elected.values()) == {1}
    for row in rows:
        assert (row.level == "REGIONAL_HEAD") == (row.leader_office in ("SEKDA", "KEPALA_DAERAH"))
        if row.leader_office == "KEPALA_DAERAH":
            assert row.employment_type == "PEJABAT_NEGARA" and row.nip == "" and check_nik(row.nik)
            assert row.position.split(" ")[0] in ("Gubernur", "Bupati", "Wali")
        if row.leader_office == "SEKDA":
            assert row.employment_type == "PNS" and row.position.startswith("Sekretaris Daerah")
    supervisors = Counter(row.org_unit_code for row in rows if row.level == "SUPERVISOR")
    assert set(supervisors.values()) <= {1, 2}
    assert len(supervisors) == sum(1 for unit in units if unit.kind == "SUB_UNIT")


def test_small_counts_keep_the_top_of_the_hierarchy() -> None:
    _, rows = sample(10)
    ranks = [RANK[row.level] for row in rows]
    assert ranks == sorted(ranks, reverse=True)
    _, single = sample(1)
    assert single[0].level == "REGIONAL_HEAD"
    assert single[0].org_unit_code == "32"
    assert single[0].position == "Sekretaris Daerah Provinsi Jawa Barat"


@pytest.mark.parametrize("employees", [1, 5000, 40_000])
def test_org_tree_is_well_formed(employees: int) -> None:
    units, _ = sample(employees)
    kinds: dict[str, str] = {}
    for unit in units:
        assert unit.code not in kinds, unit.code
        parent_kind = None
        if unit.parent_code is not None:
            assert unit.parent_code in kinds, f"{unit.code} before its parent"
            parent_kind = OrgUnitKind(kinds[unit.parent_code])
            assert unit.code.startswith(unit.parent_code + ".")
        check_unit_parent(OrgUnitKind(unit.kind), parent_kind)
        kinds[unit.code] = unit.kind
    root = units[0]
    assert root == OrgUnitRow("32", "Pemerintah Provinsi Jawa Barat", "PROVINCE", None)
    assert sum(1 for unit in units if unit.parent_code is None) == 1
    assert units[1] == OrgUnitRow("32.01", "Pemerintah Kabupaten Bogor", "REGENCY", "32")
    assert "32.001" in kinds and "32.01.001" in kinds and "32.01.001.01" in kinds
    assert set(kinds.values()) >= {"PROVINCE", "REGENCY", "OPD", "SUB_UNIT"}


def test_tree_grows_with_the_workforce() -> None:
    small, _ = sample(5000)
    larger, _ = sample(40_000)
    regions = [unit for unit in larger if unit.kind in ("REGENCY", "CITY")]
    assert [unit.name for unit in regions] == ["Pemerintah Kabupaten Bogor", "Pemerintah Kota Bandung"]
    assert sum(1 for unit in small if unit.kind in ("REGENCY", "CITY")) == 1
    assert sum(1 for unit in larger if unit.kind == "OPD") > sum(1 for unit in small if unit.kind == "OPD")
    names = {unit.name for unit in larger}
    assert {"Dinas Pendidikan", "Sekretariat Daerah", "Inspektorat Daerah", "Sekretariat"} <= names


def test_other_province_codes() -> None:
    units, rows = generate(300, province_code="33", today=TODAY)
    assert units[0].name == "Pemerintah Provinsi Jawa Tengah"
    assert all(unit.code.startswith("33") for unit in units)
    assert all(row.nik.startswith("33") for row in rows if row.nik)
    with pytest.raises(ValueError):
        generate(10, province_code="3")


def test_write_csv_roundtrip(tmp_path: Path) -> None:
    units, rows = sample(250)
    tricky = dataclasses.replace(rows[-1], name='Budi "Ucok" Santoso, S.E., M.Si.')
    rows = [*rows[:-1], tricky]
    units_path, employees_path = write_csv(tmp_path / "out", units, rows)
    assert units_path.name == "org_units.csv" and employees_path.name == "employees.csv"

    with units_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == ORG_UNIT_COLUMNS
        read_units = [OrgUnitRow(r["code"], r["name"], r["kind"], r["parent_code"] or None) for r in reader]
    assert read_units == units

    with employees_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == EMPLOYEE_COLUMNS
        read_rows = [EmployeeRow(**r) for r in reader]
    assert read_rows == rows
    assert read_rows[-1].name == 'Budi "Ucok" Santoso, S.E., M.Si.'
