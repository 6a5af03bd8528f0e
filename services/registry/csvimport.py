"""Reading employee CSVs as exported from SIASN or a spreadsheet. Pure: bytes in, rows out.

The dialect (`,` or `;`, quoting) is detected by the standard library's csv.Sniffer; a UTF-8
BOM is dropped; English and the usual Indonesian headers are both accepted. Bytes that are
not UTF-8 are kept as surrogate escapes so that the row that holds them can be reported.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from pydantic import ValidationError

from services.kit.validation import readable_message
from services.registry.domain import EmployeeInput

COLUMN_ALIASES: dict[str, str] = {
    "nip": "nip",
    "nip_baru": "nip",
    "name": "name",
    "nama": "name",
    "nama_lengkap": "name",
    "nama_pegawai": "name",
    "employment_type": "employment_type",
    "jenis_pegawai": "employment_type",
    "status_pegawai": "employment_type",
    "status_kepegawaian": "employment_type",
    "jenis_kepegawaian": "employment_type",
    "position": "position",
    "jabatan": "position",
    "nama_jabatan": "position",
    "level": "level",
    "tingkat_jabatan": "level",
    "jenjang_jabatan": "level",
    "org_unit_code": "org_unit_code",
    "kode_unor": "org_unit_code",
    "unor_id": "org_unit_code",
    "kode_unit": "org_unit_code",
    "kode_unit_kerja": "org_unit_code",
    "supervisor_nip": "supervisor_nip",
    "nip_atasan": "supervisor_nip",
    "email": "email",
    "surel": "email",
    "e_mail": "email",
    "phone": "phone",
    "telepon": "phone",
    "no_hp": "phone",
    "nomor_hp": "phone",
    "no_telepon": "phone",
    "nik": "nik",
    "leader_office": "leader_office",
    "jabatan_pimpinan": "leader_office",
    "pimpinan_daerah": "leader_office",
}
REQUIRED_COLUMNS = ("name", "employment_type", "position", "level", "org_unit_code")

EMPLOYMENT_TYPE_ALIASES = {
    "PNS": "PNS",
    "CPNS": "PNS",
    "PPPK": "PPPK",
    "P3K": "PPPK",
    "NON_ASN": "NON_ASN",
    "NONASN": "NON_ASN",
    "HONORER": "NON_ASN",
    "PEJABAT_NEGARA": "PEJABAT_NEGARA",
}
LEVEL_ALIASES = {
    "REGIONAL_HEAD": "REGIONAL_HEAD",
    "KEPALA_DAERAH": "REGIONAL_HEAD",
    "SEKDA": "REGIONAL_HEAD",
    "SEKRETARIS_DAERAH": "REGIONAL_HEAD",
    "JPT": "JPT",
    "ESELON_II": "JPT",
    "ADMINISTRATOR": "ADMINISTRATOR",
    "ESELON_III": "ADMINISTRATOR",
    "SUPERVISOR": "SUPERVISOR",
    "PENGAWAS": "SUPERVISOR",
    "ESELON_IV": "SUPERVISOR",
    "STAFF": "STAFF",
    "STAF": "STAFF",
    "PELAKSANA": "STAFF",
    "FUNGSIONAL": "STAFF",
}
LEADER_OFFICE_ALIASES = {
    "KEPALA_DAERAH": "KEPALA_DAERAH",
    "GUBERNUR": "KEPALA_DAERAH",
    "BUPATI": "KEPALA_DAERAH",
    "WALIKOTA": "KEPALA_DAERAH",
    "WALI_KOTA": "KEPALA_DAERAH",
    "WAKIL_KEPALA_DAERAH": "WAKIL_KEPALA_DAERAH",
    "WAKIL_GUBERNUR": "WAKIL_KEPALA_DAERAH",
    "WAKIL_BUPATI": "WAKIL_KEPALA_DAERAH",
    "WAKIL_WALIKOTA": "WAKIL_KEPALA_DAERAH",
    "WAKIL_WALI_KOTA": "WAKIL_KEPALA_DAERAH",
    "PJ_KEPALA_DAERAH": "PJ_KEPALA_DAERAH",
    "PENJABAT_KEPALA_DAERAH": "PJ_KEPALA_DAERAH",
    "PJ": "PJ_KEPALA_DAERAH",
    "PJ_GUBERNUR": "PJ_KEPALA_DAERAH",
    "PJ_BUPATI": "PJ_KEPALA_DAERAH",
    "PJ_WALIKOTA": "PJ_KEPALA_DAERAH",
    "PJ_WALI_KOTA": "PJ_KEPALA_DAERAH",
    "SEKDA": "SEKDA",
    "SEKRETARIS_DAERAH": "SEKDA",
}
# Files written before the leader_office column could name the Sekda in the level column: that
# level still says the office. "Kepala daerah" does not: it may be the elected head or a Pj.
OFFICE_FROM_LEVEL = {"SEKDA": "SEKDA", "SEKRETARIS_DAERAH": "SEKDA"}

SNIFF_BYTES = 64 * 1024
NOT_UTF8 = re.compile("[\udc80-\udcff]")


class CsvFileError(ValueError):
    """The file as a whole cannot be imported (empty, no usable header)."""


# Sixteen digits on their own are a NIK, or look like one: never shown in full in an import
# report, whatever the column. `NA` and sixteen digits is a non-ASN employee id, derived from a
# keyed hash of the NIK, and stays readable.
LOOSE_NIK = re.compile(r"(?<!\d)(?<!NA)\d{16}(?!\d)")


def mask_nik(value: str) -> str:
    """Import reports show only enough of a NIK to find the row."""
    return value[:4] + "*" * max(len(value) - 8, 0) + value[-4:] if len(value) > 8 else "****"


def without_niks(text: str) -> str:
    return LOOSE_NIK.sub(lambda found: mask_nik(found.group()), text)


@dataclass(frozen=True)
class RowError:
    """One problem of one row, as the import report shows it. A value of the `nik` column, and
    any NIK-like number elsewhere, is masked here, where every row error is made, so that no
    path to the report (and to the import_errors collection) can carry a NIK in clear."""

    line: int
    column: str | None
    value: str | None
    message: str

    def __post_init__(self) -> None:
        if self.value:
            shown = mask_nik(self.value) if self.column == "nik" else without_niks(self.value)
            object.__setattr__(self, "value", shown)
        object.__setattr__(self, "message", without_niks(self.message))


@dataclass(frozen=True)
class ParsedRow:
    line: int
    employee: EmployeeInput | None
    errors: list[RowError] = field(default_factory=list)
    identity: str | None = None
    """NIP, or NIK for non-ASN: what makes two rows the same person within one file."""
    identity_column: str = "nip"
    """The column `identity` came from."""


def _normalise_header(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _choice_key(value: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", value.strip().upper()).strip("_")


def _normalise_choice(value: str, aliases: dict[str, str]) -> str:
    exact = aliases.get(value)
    if exact is not None:
        return exact
    return aliases.get(_choice_key(value), value.strip())


def decode(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")


@dataclass(frozen=True)
class CsvLayout:
    dialect: type[csv.Dialect] | csv.Dialect
    columns: list[str | None]
    """Our field name for each column position; None for a column we do not use."""
    ignored: list[str]


def read_layout(text: str) -> CsvLayout:
    """Detect the dialect and map the header, or raise CsvFileError saying what is wrong."""
    if not text.strip():
        raise CsvFileError("file CSV kosong")
    sample = text[:SNIFF_BYTES]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    header = next(csv.reader(io.StringIO(sample, newline=""), dialect), [])
    columns: list[str | None] = []
    ignored: list[str] = []
    for raw in header:
        field_name = COLUMN_ALIASES.get(_normalise_header(raw))
        if field_name is not None and field_name in columns:
            raise CsvFileError(f"kolom {raw!r} muncul dua kali di header")
        columns.append(field_name)
        if field_name is None and raw.strip():
            ignored.append(raw.strip())
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise CsvFileError(
            "header tidak memuat kolom wajib: "
            + ", ".join(missing)
            + f" (header yang terbaca: {', '.join(header) or 'kosong'}; "
            "contoh header: nip,name,employment_type,position,level,org_unit_code,"
            "supervisor_nip,email,phone,nik,leader_office atau "
            "nip;nama;jenis_pegawai;jabatan;level;kode_unor;nip_atasan)"
        )
    return CsvLayout(dialect, columns, ignored)


def count_rows(text: str, layout: CsvLayout) -> int:
    """Data rows in the file, without validating them: the import's `total`."""
    reader = csv.reader(io.StringIO(text, newline=""), layout.dialect)
    next(reader, None)
    try:
        return sum(1 for cells in reader if any(cell.strip() for cell in cells))
    except csv.Error:
        # Every data row yields one ParsedRow, valid or not: no date to check NIPs against.
        return sum(1 for _ in parse_rows(text, layout, None))


def parse_rows(text: str, layout: CsvLayout, today: dt.date | None) -> Iterator[ParsedRow]:
    """Yield every data row with its starting line number, valid or not. NIPs must not lie
    after `today` (see EmployeeInput)."""
    reader = csv.reader(io.StringIO(text, newline=""), layout.dialect)
    next(reader, None)  # the header
    width = len(layout.columns)
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield ParsedRow(line, None, [RowError(line, None, None, f"baris CSV rusak: {exc}")])
            continue
        if not cells or all(not cell.strip() for cell in cells):
            continue
        yield parse_row(line, cells, layout.columns, width, today)


def parse_row(
    line: int, cells: list[str], columns: list[str | None], width: int, today: dt.date | None
) -> ParsedRow:
    if len(cells) != width:
        return ParsedRow(
            line,
            None,
            [RowError(line, None, None, f"baris ini punya {len(cells)} kolom, header punya {width}")],
        )
    values: dict[str, str] = {}
    errors: list[RowError] = []
    suspect = NOT_UTF8.search("".join(cells)) is not None  # one scan per row; cells only if needed
    for name, cell in zip(columns, cells, strict=True):
        if name is None:
            continue
        if suspect and NOT_UTF8.search(cell):
            shown = cell.encode("utf-8", errors="surrogateescape").decode("latin-1")
            errors.append(
                RowError(line, name, shown, "berisi byte yang bukan UTF-8; simpan file sebagai CSV UTF-8")
            )
            continue
        values[name] = cell.strip().removeprefix("'")  # spreadsheets prefix ' to keep NIP as text
    if "employment_type" in values:
        values["employment_type"] = _normalise_choice(values["employment_type"], EMPLOYMENT_TYPE_ALIASES)
    if "level" in values:
        if not values.get("leader_office"):
            office = OFFICE_FROM_LEVEL.get(_choice_key(values["level"]))
            if office is not None:
                values["leader_office"] = office
        values["level"] = _normalise_choice(values["level"], LEVEL_ALIASES)
    if values.get("leader_office"):
        values["leader_office"] = _normalise_choice(values["leader_office"], LEADER_OFFICE_ALIASES)
    identity_column = "nip" if values.get("nip") else "nik"
    identity = values.get(identity_column) or None
    if errors:
        return ParsedRow(line, None, errors, identity, identity_column)
    try:
        employee = EmployeeInput.model_validate(values, context={"today": today})
    except ValidationError as exc:
        for error in exc.errors():
            column = str(error["loc"][0]) if error["loc"] else None
            errors.append(RowError(line, column, values.get(column or ""), readable_message(error)))
        return ParsedRow(line, None, errors, identity, identity_column)
    if employee.nip is not None:
        return ParsedRow(line, employee, [], employee.nip, "nip")
    return ParsedRow(line, employee, [], employee.nik, "nik")
