"""Employee CSV reading in services/registry/csvimport.py: dialects, headers, aliases, row errors."""

from __future__ import annotations

import datetime as dt

import pytest

from services.registry.csvimport import (
    CsvFileError,
    CsvLayout,
    ParsedRow,
    RowError,
    decode,
    mask_nik,
    parse_rows,
    read_layout,
)
from services.registry.domain import EmploymentType, Level

TODAY = dt.date(2024, 6, 1)
NIP = "198503152010011001"
NIP_2 = "197001012000032005"
NIP_PPPK = "198403152022212001"  # a real NI PPPK: born 1984-03-15, 2022, contract code 21, female, 001
NIK = "3201015503850001"

EN_HEADER = [
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
]
ID_HEADER = [
    "nip",
    "nama",
    "jenis_pegawai",
    "jabatan",
    "level",
    "kode_unor",
    "nip_atasan",
    "email",
    "no_hp",
    "nik",
]


def row(
    nip: str = NIP,
    name: str = "Budi Santoso",
    employment_type: str = "PNS",
    position: str = "Analis Kepegawaian",
    level: str = "STAFF",
    org_unit_code: str = "OPD-BKD",
    supervisor_nip: str = "",
    email: str = "",
    phone: str = "",
    nik: str = "",
) -> list[str]:
    return [nip, name, employment_type, position, level, org_unit_code, supervisor_nip, email, phone, nik]


def honorer(name: str = "Siti Aminah", nik: str = NIK, employment_type: str = "NON_ASN") -> list[str]:
    return row(nip="", name=name, employment_type=employment_type, position="Pramu Kantor", nik=nik)


def csv_text(header: list[str], *rows: list[str], sep: str = ",", newline: str = "\n") -> str:
    return "".join(sep.join(cells) + newline for cells in (header, *rows))


def parse(text: str) -> list[ParsedRow]:
    return list(parse_rows(text, read_layout(text), TODAY))


def parse_bytes(data: bytes) -> list[ParsedRow]:
    return parse(decode(data))


def only_error(parsed: ParsedRow) -> RowError:
    assert parsed.employee is None
    assert len(parsed.errors) == 1, parsed.errors
    return parsed.errors[0]


# ---------------------------------------------------------------- dialects and headers


def test_english_header_with_commas() -> None:
    text = csv_text(
        EN_HEADER,
        row(supervisor_nip=NIP_2, email="budi@bkd.jabarprov.go.id", phone="081234567890"),
        row(nip=NIP_2, name="Ani Lestari", level="ADMINISTRATOR"),
    )
    layout = read_layout(text)
    assert layout.dialect.delimiter == ","
    assert layout.columns == EN_HEADER
    assert layout.ignored == []
    parsed = list(parse_rows(text, layout, TODAY))
    assert [p.line for p in parsed] == [2, 3]
    assert all(p.errors == [] for p in parsed)
    first, second = (p.employee for p in parsed)
    assert first is not None and second is not None
    assert first.nip == NIP
    assert first.name == "Budi Santoso"
    assert first.employment_type is EmploymentType.PNS
    assert first.position == "Analis Kepegawaian"
    assert first.level is Level.STAFF
    assert first.org_unit_code == "OPD-BKD"
    assert first.supervisor_nip == NIP_2
    assert first.email == "budi@bkd.jabarprov.go.id"
    assert first.phone == "081234567890"
    assert first.nik is None
    assert second.nip == NIP_2
    assert second.level is Level.ADMINISTRATOR


def test_indonesian_header_with_semicolons() -> None:
    text = csv_text(
        ID_HEADER,
        row(position="Kepala Seksi, Bidang Umum", level="SUPERVISOR", supervisor_nip=NIP_2),
        honorer(),
        sep=";",
    )
    layout = read_layout(text)
    assert layout.dialect.delimiter == ";"
    assert layout.columns == EN_HEADER
    parsed = list(parse_rows(text, layout, TODAY))
    assert [(p.line, p.errors) for p in parsed] == [(2, []), (3, [])]
    pns, non_asn = (p.employee for p in parsed)
    assert pns is not None and non_asn is not None
    assert pns.position == "Kepala Seksi, Bidang Umum"
    assert pns.level is Level.SUPERVISOR
    assert pns.supervisor_nip == NIP_2
    assert non_asn.employment_type is EmploymentType.NON_ASN
    assert non_asn.nik == NIK
    assert non_asn.nip is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("NIP Baru", "nip", id="nip-baru"),
        pytest.param("Nama Lengkap", "name", id="nama-lengkap"),
        pytest.param("Status Kepegawaian", "employment_type", id="status-kepegawaian"),
        pytest.param("Nama Jabatan", "position", id="nama-jabatan"),
        pytest.param("Jenjang Jabatan", "level", id="jenjang"),
        pytest.param("Unor ID", "org_unit_code", id="unor-id"),
        pytest.param("E-mail", "email", id="e-mail"),
        pytest.param("No. HP", "phone", id="no-hp-dot"),
        pytest.param("  NIK  ", "nik", id="padded"),
    ],
)
def test_header_aliases_normalised(header: str, expected: str) -> None:
    names = {
        "nip": "nip",
        "name": "name",
        "employment_type": "jenis_pegawai",
        "position": "jabatan",
        "level": "level",
        "org_unit_code": "kode_unor",
        "email": "email",
        "phone": "no_hp",
        "nik": "nik",
    }
    names[expected] = header
    layout = read_layout(",".join(names.values()) + "\n")
    assert layout.columns == list(names)


def test_utf8_bom_is_dropped() -> None:
    data = ("\ufeff" + csv_text(EN_HEADER, row())).encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    text = decode(data)
    assert not text.startswith("\ufeff")
    layout = read_layout(text)
    assert layout.columns[0] == "nip"
    parsed = list(parse_rows(text, layout, TODAY))
    assert parsed[0].errors == []
    assert parsed[0].employee is not None
    assert parsed[0].employee.nip == NIP


def test_quoted_fields_with_delimiter_and_newline_keep_line_numbers() -> None:
    text = csv_text(
        EN_HEADER,
        row(position='"Kepala Bidang,\nPengembangan SDM"', level="ADMINISTRATOR"),
        row(nip=NIP_2, name='"Lestari, Ani"'),
        row(nip="198503152010011002", name="Citra Dewi"),
    )
    parsed = parse(text)
    assert [(p.line, p.errors) for p in parsed] == [(2, []), (4, []), (5, [])]
    employees = [p.employee for p in parsed]
    assert employees[0] is not None and employees[0].position == "Kepala Bidang,\nPengembangan SDM"
    assert employees[1] is not None and employees[1].name == "Lestari, Ani"
    assert employees[2] is not None and employees[2].name == "Citra Dewi"


def test_error_after_multiline_row_gets_its_own_starting_line() -> None:
    text = csv_text(
        ID_HEADER,
        row(position='"Kepala Bidang;\nPengembangan; SDM"', level="ADMINISTRATOR"),
        row(nip="198513152010011001"),
        sep=";",
    )
    parsed = parse(text)
    assert parsed[0].line == 2 and parsed[0].errors == []
    error = only_error(parsed[1])
    assert (parsed[1].line, error.line, error.column) == (4, 4, "nip")


def test_windows_crlf_line_endings() -> None:
    text = csv_text(
        EN_HEADER,
        row(position='"Kepala Bidang,\r\nUmum"', level="ADMINISTRATOR"),
        row(nip=NIP_2, name="Ani Lestari"),
        row(nip="1985"),
        newline="\r\n",
    )
    assert "\r\n" in text
    parsed = parse_bytes(text.encode("utf-8"))
    assert [p.line for p in parsed] == [2, 4, 5]
    first, second, third = parsed
    assert first.employee is not None and first.employee.position == "Kepala Bidang,\r\nUmum"
    assert second.employee is not None and second.employee.name == "Ani Lestari"
    assert second.employee.nik is None
    assert only_error(third).column == "nip"


def test_tab_separated() -> None:
    text = csv_text(EN_HEADER, row(), sep="\t")
    assert read_layout(text).dialect.delimiter == "\t"
    assert parse(text)[0].employee is not None


def test_classic_mac_cr_line_endings() -> None:
    text = csv_text(EN_HEADER, row(), row(nip=NIP_2), newline="\r")
    parsed = parse(text)
    assert [(p.line, p.errors) for p in parsed] == [(2, []), (3, [])]


def test_blank_lines_are_skipped() -> None:
    text = (
        csv_text(EN_HEADER)
        + "\n"
        + ",".join(row())
        + "\n\n   \n,,,,,,,,,\n"
        + ",".join(row(nip=NIP_2))
        + "\n\n"
    )
    parsed = parse(text)
    assert [(p.line, p.identity, p.errors) for p in parsed] == [(3, NIP, []), (7, NIP_2, [])]


def test_header_only_file_has_no_rows() -> None:
    assert parse(csv_text(EN_HEADER)) == []


# ---------------------------------------------------------------- value aliases


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        pytest.param("Honorer", EmploymentType.NON_ASN, id="honorer"),
        pytest.param("non asn", EmploymentType.NON_ASN, id="non-asn-space"),
        pytest.param("Non-ASN", EmploymentType.NON_ASN, id="non-asn-dash"),
        pytest.param("nonasn", EmploymentType.NON_ASN, id="nonasn"),
    ],
)
def test_employment_type_aliases_for_non_asn(written: str, expected: EmploymentType) -> None:
    parsed = parse(csv_text(EN_HEADER, honorer(employment_type=written)))
    assert parsed[0].errors == []
    assert parsed[0].employee is not None
    assert parsed[0].employee.employment_type is expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        pytest.param("CPNS", EmploymentType.PNS, id="cpns"),
        pytest.param(" pns ", EmploymentType.PNS, id="lower-padded"),
        pytest.param("P3K", EmploymentType.PPPK, id="p3k"),
    ],
)
def test_employment_type_aliases_for_asn(written: str, expected: EmploymentType) -> None:
    nip = NIP_PPPK if expected is EmploymentType.PPPK else NIP
    parsed = parse(csv_text(EN_HEADER, row(nip=nip, employment_type=written)))
    assert parsed[0].employee is not None
    assert parsed[0].employee.employment_type is expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        pytest.param("Pelaksana", Level.STAFF, id="pelaksana"),
        pytest.param("Fungsional", Level.STAFF, id="fungsional"),
        pytest.param("eselon III", Level.ADMINISTRATOR, id="eselon-iii"),
        pytest.param("Eselon II", Level.JPT, id="eselon-ii"),
        pytest.param("eselon-IV", Level.SUPERVISOR, id="eselon-iv"),
        pytest.param("Pengawas", Level.SUPERVISOR, id="pengawas"),
        pytest.param("Sekda", Level.REGIONAL_HEAD, id="sekda"),
        pytest.param("staff", Level.STAFF, id="lowercase-canonical"),
    ],
)
def test_level_aliases(written: str, expected: Level) -> None:
    # A file without the leader_office column names the Sekda in the level column (issue 13:
    # REGIONAL_HEAD needs its office); any other level is read as before.
    parsed = parse(csv_text(EN_HEADER, row(level=written, org_unit_code="32.01")))
    assert parsed[0].errors == []
    assert parsed[0].employee is not None
    assert parsed[0].employee.level is expected


def test_unknown_level_is_reported_on_level_column() -> None:
    error = only_error(parse(csv_text(EN_HEADER, row(level="Golongan IIIa")))[0])
    assert error.column == "level"
    assert error.value == "Golongan IIIa"
    assert error.message.startswith("harus salah satu dari")


def test_nip_with_leading_apostrophe_accepted() -> None:
    text = csv_text(
        EN_HEADER,
        row(nip="'" + NIP, supervisor_nip="'" + NIP_2),
        row(nip="'" + NIP_2),
        honorer(nik="'" + NIK),
    )
    parsed = parse(text)
    assert [p.errors for p in parsed] == [[], [], []]
    employees = [p.employee for p in parsed]
    assert employees[0] is not None and employees[0].nip == NIP
    assert employees[0].supervisor_nip == NIP_2
    assert employees[1] is not None and employees[1].nip == NIP_2
    assert employees[2] is not None and employees[2].nik == NIK


# ---------------------------------------------------------------- row errors


def test_bad_nip_error_names_line_column_and_digits() -> None:
    text = csv_text(EN_HEADER, row(), row(nip="198513152010011001"), row(nip=NIP_2))
    parsed = parse(text)
    assert [p.employee is not None for p in parsed] == [True, False, True]
    error = only_error(parsed[1])
    assert (error.line, error.column, error.value) == (3, "nip", "198513152010011001")
    assert "digit" in error.message
    assert "19851315" in error.message


@pytest.mark.parametrize(
    ("cells", "count"),
    [
        pytest.param(row()[:-1], 9, id="too-few"),
        pytest.param([*row(), "extra"], 11, id="too-many"),
    ],
)
def test_wrong_column_count(cells: list[str], count: int) -> None:
    parsed = parse(csv_text(EN_HEADER, row(), cells))
    assert parsed[0].employee is not None
    error = only_error(parsed[1])
    assert (parsed[1].line, error.line, error.column, error.value) == (3, 3, None, None)
    assert str(count) in error.message
    assert "10" in error.message


@pytest.mark.parametrize(
    ("cells", "column"),
    [
        pytest.param(row(name=""), "name", id="name"),
        pytest.param(row(position=""), "position", id="position"),
        pytest.param(row(org_unit_code=""), "org_unit_code", id="org-unit"),
    ],
)
def test_missing_required_value(cells: list[str], column: str) -> None:
    error = only_error(parse(csv_text(EN_HEADER, cells))[0])
    assert (error.line, error.column, error.value) == (2, column, "")
    assert "wajib diisi" in error.message or "terlalu pendek" in error.message or "format" in error.message


def test_missing_required_value_for_choice_columns() -> None:
    parsed = parse(csv_text(EN_HEADER, row(employment_type="", level="")))[0]
    assert parsed.employee is None
    assert {(e.line, e.column) for e in parsed.errors} == {(2, "employment_type"), (2, "level")}
    assert all(e.message.startswith("harus salah satu dari") for e in parsed.errors)


def test_several_errors_in_one_row_are_all_reported() -> None:
    parsed = parse(csv_text(EN_HEADER, row(nip="1985", name="", email="budi@")))[0]
    assert parsed.employee is None
    assert [(e.line, e.column) for e in parsed.errors] == [(2, "nip"), (2, "name"), (2, "email")]
    messages = {e.column: e.message for e in parsed.errors}
    assert "18 digit" in messages["nip"]
    assert messages["email"] == "alamat email tidak valid"


def test_rule_errors_without_column() -> None:
    parsed = parse(
        csv_text(EN_HEADER, row(nip=NIP_PPPK, employment_type="PPPK", level="SUPERVISOR"), honorer(nik=""))
    )
    first = only_error(parsed[0])
    assert (first.line, first.column) == (2, None)
    assert first.message == "pegawai PPPK hanya boleh berlevel JPT atau STAFF, bukan SUPERVISOR"
    second = only_error(parsed[1])
    assert (second.line, second.column) == (3, None)
    assert second.message == "pegawai NON_ASN wajib punya NIK (16 digit)"


def test_non_utf8_byte_reported_on_its_column() -> None:
    text = csv_text(EN_HEADER, row(), row(nip=NIP_2, name="Siti Nur\xe9"))
    parsed = parse_bytes(text.encode("latin-1"))
    assert parsed[0].employee is not None
    error = only_error(parsed[1])
    assert (parsed[1].line, error.line, error.column) == (3, 3, "name")
    assert error.value == "Siti Nur\xe9"
    assert "UTF-8" in error.message
    assert parsed[1].identity == NIP_2


def test_valid_utf8_accents_are_accepted() -> None:
    parsed = parse_bytes(csv_text(EN_HEADER, row(name="Siti Nuré")).encode("utf-8"))
    assert parsed[0].employee is not None
    assert parsed[0].employee.name == "Siti Nuré"


@pytest.mark.parametrize(
    "nik",
    [
        pytest.param("3201010000000001", id="zero-birth-part"),
        pytest.param("32010155038500A1", id="letter"),
        pytest.param("32010155038500011", id="17-digits"),
    ],
)
def test_invalid_nik_is_masked_in_error(nik: str) -> None:
    parsed = parse(csv_text(EN_HEADER, honorer(nik=nik)))[0]
    error = only_error(parsed)
    assert (error.line, error.column) == (2, "nik")
    assert error.value == mask_nik(nik)
    assert error.value is not None
    assert nik not in error.value
    assert error.value.startswith(nik[:4]) and error.value.endswith(nik[-4:])
    assert "*" in error.value
    assert nik not in error.message


def test_non_utf8_nik_is_masked_in_error() -> None:
    text = csv_text(EN_HEADER, honorer(nik=NIK + "\xa0"))
    error = only_error(parse_bytes(text.encode("latin-1"))[0])
    assert error.column == "nik"
    assert error.value is not None
    assert NIK not in error.value


def test_a_nik_in_another_column_is_masked_in_its_error() -> None:
    parsed = parse(csv_text(EN_HEADER, row(nip=NIK)))[0]
    error = only_error(parsed)
    assert (error.column, error.value) == ("nip", "3201********0001")
    assert parsed.identity_column == "nip"


def test_no_row_error_carries_a_sixteen_digit_identity() -> None:
    error = RowError(7, "org_unit_code", f"X{NIK}", f"unit organisasi {NIK} tidak ditemukan")
    assert (error.value, error.message) == (
        "X3201********0001",
        "unit organisasi 3201********0001 tidak ditemukan",
    )
    # NIPs (18 digits) and non-ASN employee ids (NA + 16) are shown as they are.
    kept = RowError(7, "nip", NIP, f"pegawai NA{NIK} sudah nonaktif")
    assert (kept.value, kept.message) == (NIP, f"pegawai NA{NIK} sudah nonaktif")
    assert RowError(7, "nik", NIK, "x").value == "3201********0001"


def test_an_invalid_non_asn_row_names_its_nik_column_for_the_duplicate_check() -> None:
    parsed = parse(csv_text(EN_HEADER, honorer(employment_type="PNS")))[0]
    assert parsed.employee is None and (parsed.identity, parsed.identity_column) == (NIK, "nik")


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        pytest.param(NIK, "3201********0001", id="16"),
        pytest.param("123456789", "1234*6789", id="9"),
        pytest.param("12345678", "****", id="8"),
        pytest.param("", "****", id="empty"),
    ],
)
def test_mask_nik(value: str, masked: str) -> None:
    assert mask_nik(value) == masked


# ---------------------------------------------------------------- read_layout


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "\r\n"], ids=["empty", "spaces", "newlines", "crlf"])
def test_empty_file_rejected(text: str) -> None:
    with pytest.raises(CsvFileError, match="kosong"):
        read_layout(text)


def test_empty_file_after_bom_rejected() -> None:
    with pytest.raises(CsvFileError, match="kosong"):
        read_layout(decode(b"\xef\xbb\xbf"))


def test_header_missing_required_columns_lists_them() -> None:
    with pytest.raises(CsvFileError) as caught:
        read_layout("nip,nama,jabatan,email\n" + f"{NIP},Budi,Staf,budi@bkd.go.id\n")
    message = str(caught.value)
    listed = message.split("header tidak memuat kolom wajib: ", 1)[1].split(" (", 1)[0]
    assert listed.split(", ") == ["employment_type", "level", "org_unit_code"]
    assert "nip,nama,jabatan,email".replace(",", ", ") in message


def test_header_of_unrelated_file_lists_all_required_columns() -> None:
    with pytest.raises(CsvFileError) as caught:
        read_layout("nip,tanggal\n198503152010011001,2024-01-01\n")
    listed = str(caught.value).split("kolom wajib: ", 1)[1].split(" (", 1)[0]
    assert listed.split(", ") == ["name", "employment_type", "position", "level", "org_unit_code"]


@pytest.mark.parametrize(
    "header",
    [
        pytest.param([*EN_HEADER, "nip"], id="same-name"),
        pytest.param([*EN_HEADER, "NIP Baru"], id="alias-of-same-field"),
        pytest.param(["nama", *EN_HEADER], id="nama-and-name"),
    ],
)
def test_duplicate_column_rejected(header: list[str]) -> None:
    with pytest.raises(CsvFileError, match="dua kali"):
        read_layout(csv_text(header))


def test_unknown_extra_column_is_ignored_and_reported() -> None:
    header = [*EN_HEADER[:3], "Golongan", *EN_HEADER[3:]]
    cells = row()
    text = csv_text(header, [*cells[:3], "III/a", *cells[3:]])
    layout = read_layout(text)
    assert layout.ignored == ["Golongan"]
    assert layout.columns == [*EN_HEADER[:3], None, *EN_HEADER[3:]]
    parsed = list(parse_rows(text, layout, TODAY))
    assert parsed[0].errors == []
    assert parsed[0].employee is not None
    assert parsed[0].employee.position == "Analis Kepegawaian"


def test_optional_columns_may_be_absent() -> None:
    header = ["nama", "jenis_pegawai", "jabatan", "level", "kode_unor", "nik"]
    text = csv_text(header, ["Siti Aminah", "Honorer", "Pramu Kantor", "Pelaksana", "OPD-1", NIK])
    layout = read_layout(text)
    assert layout == CsvLayout(
        layout.dialect, ["name", "employment_type", "position", "level", "org_unit_code", "nik"], []
    )
    parsed = list(parse_rows(text, layout, TODAY))
    assert parsed[0].employee is not None
    assert parsed[0].identity == NIK


def test_two_unknown_extra_columns_are_both_ignored() -> None:
    header = [*EN_HEADER, "Golongan", "Keterangan"]
    layout = read_layout(csv_text(header, [*row(), "III/a", "pindahan"]))
    assert layout.ignored == ["Golongan", "Keterangan"]


# ---------------------------------------------------------------- identity


def test_identity_is_nip_for_asn_and_nik_for_non_asn() -> None:
    parsed = parse(
        csv_text(
            EN_HEADER,
            row(nip="19850315 201001 1 001"),
            row(nip=NIP_PPPK, employment_type="PPPK"),
            honorer(nik="3201 0155 0385 0001"),
        )
    )
    assert [p.errors for p in parsed] == [[], [], []]
    assert [p.identity for p in parsed] == [NIP, NIP_PPPK, NIK]


def test_identity_kept_for_rows_with_errors() -> None:
    parsed = parse(csv_text(EN_HEADER, row(name=""), honorer(name="")))
    assert [p.employee for p in parsed] == [None, None]
    assert [p.identity for p in parsed] == [NIP, NIK]


def test_identity_none_when_neither_nip_nor_nik() -> None:
    parsed = parse(csv_text(EN_HEADER, honorer(nik="")))
    assert parsed[0].identity is None


# ---------------------------------------------------------------- the pemda's leaders (issue 13)

LEADER_HEADER = [*EN_HEADER, "leader_office"]


def leader(office: str, **changes: str) -> list[str]:
    values = {"level": "REGIONAL_HEAD", "org_unit_code": "32.01", "position": "Sekretaris Daerah", **changes}
    return [*row(**values), office]


def bupati(office: str = "Bupati") -> list[str]:
    return leader(office, nip="", employment_type="Pejabat Negara", position="Bupati Bogor", nik=NIK)


def test_leader_office_is_an_optional_last_column() -> None:
    text = csv_text(LEADER_HEADER, leader("SEKDA"), [*row(nip=NIP_2), ""])
    assert read_layout(text).columns == LEADER_HEADER
    sekda, staff = parse(text)
    assert sekda.employee is not None and sekda.employee.leader_office == "SEKDA"
    assert staff.employee is not None and staff.employee.leader_office is None


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        pytest.param("Bupati", "KEPALA_DAERAH", id="bupati"),
        pytest.param("Wali Kota", "KEPALA_DAERAH", id="wali-kota"),
        pytest.param("Gubernur", "KEPALA_DAERAH", id="gubernur"),
        pytest.param("Wakil Bupati", "WAKIL_KEPALA_DAERAH", id="wakil-bupati"),
        pytest.param("kepala_daerah", "KEPALA_DAERAH", id="canonical-lower"),
    ],
)
def test_elected_office_aliases_with_pejabat_negara(written: str, expected: str) -> None:
    [parsed] = parse(csv_text(LEADER_HEADER, bupati(written)))
    assert parsed.errors == [] and parsed.employee is not None
    assert parsed.employee.employment_type is EmploymentType.PEJABAT_NEGARA
    assert parsed.employee.leader_office == expected
    assert (parsed.identity_column, parsed.identity) == ("nik", NIK)


@pytest.mark.parametrize("written", ["Pj. Bupati", "Penjabat Kepala Daerah", "PJ_KEPALA_DAERAH"])
def test_acting_head_aliases(written: str) -> None:
    [parsed] = parse(csv_text(LEADER_HEADER, leader(written, position="Penjabat Bupati Bogor")))
    assert parsed.employee is not None and parsed.employee.leader_office == "PJ_KEPALA_DAERAH"


def test_an_old_file_naming_the_sekda_in_the_level_column_still_imports() -> None:
    [parsed] = parse(csv_text(EN_HEADER, row(level="Sekretaris Daerah", org_unit_code="32.01")))
    assert parsed.employee is not None
    assert (parsed.employee.level, parsed.employee.leader_office) == (Level.REGIONAL_HEAD, "SEKDA")


def test_a_regional_head_without_office_and_a_wrong_office_are_row_errors() -> None:
    parsed = parse(csv_text(LEADER_HEADER, leader(""), bupati("Sekda"), leader("Raja")))
    assert [(error.line, error.column) for p in parsed for error in p.errors] == [
        (2, None),
        (3, None),
        (4, "leader_office"),
    ]
    assert "isi leader_office" in parsed[0].errors[0].message
    assert (
        parsed[1]
        .errors[0]
        .message.startswith("leader_office SEKDA harus berjenis pegawai PNS, bukan PEJABAT_NEGARA")
    )


def test_a_pppk_row_is_read_by_the_pppk_layout() -> None:
    ok, refused = parse(
        csv_text(EN_HEADER, row(nip=NIP_PPPK, employment_type="PPPK"), row(employment_type="PPPK"))
    )
    assert ok.employee is not None and ok.employee.nip == NIP_PPPK
    error = only_error(refused)
    assert (error.line, error.column, error.value) == (3, "nip", NIP)
    assert error.message.startswith("digit 9–12 (2010) bukan tahun pengangkatan PPPK yang mungkin")


def test_the_header_hint_names_the_leader_office_column() -> None:
    with pytest.raises(CsvFileError, match="supervisor_nip,email,phone,nik,leader_office"):
        read_layout("nama,jabatan\nBudi,Guru\n")
