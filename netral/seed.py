"""Synthetic pemda data for demos and load tests: a realistic org tree and its employees.

Everything derives from one `random.Random(seed)`, so the same (employees, seed, province_code,
today) always gives byte-identical CSV files and load-test runs stay comparable.
The CSV layout is the registry's import format, so the files double as import examples.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

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
)


@dataclass(frozen=True, slots=True)
class OrgUnitRow:
    code: str
    name: str
    kind: str
    parent_code: str | None


@dataclass(frozen=True, slots=True)
class EmployeeRow:
    """One line of employees.csv. Absent values (nip of NON_ASN, nik of ASN, supervisor of
    the Sekda) are empty strings, exactly as they appear in the file."""

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


class SeedLoadError(RuntimeError):
    """The registry refused or failed a request while loading seed data."""


# ---------------------------------------------------------------- reference data

PROVINCE_NAMES = {
    "11": "Aceh",
    "12": "Sumatera Utara",
    "13": "Sumatera Barat",
    "14": "Riau",
    "15": "Jambi",
    "16": "Sumatera Selatan",
    "17": "Bengkulu",
    "18": "Lampung",
    "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau",
    "31": "DKI Jakarta",
    "32": "Jawa Barat",
    "33": "Jawa Tengah",
    "34": "Daerah Istimewa Yogyakarta",
    "35": "Jawa Timur",
    "36": "Banten",
    "51": "Bali",
    "52": "Nusa Tenggara Barat",
    "53": "Nusa Tenggara Timur",
    "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah",
    "63": "Kalimantan Selatan",
    "64": "Kalimantan Timur",
    "65": "Kalimantan Utara",
    "71": "Sulawesi Utara",
    "72": "Sulawesi Tengah",
    "73": "Sulawesi Selatan",
    "74": "Sulawesi Tenggara",
    "75": "Gorontalo",
    "76": "Sulawesi Barat",
    "81": "Maluku",
    "82": "Maluku Utara",
    "91": "Papua",
    "92": "Papua Barat",
    "93": "Papua Selatan",
    "94": "Papua Tengah",
    "95": "Papua Pegunungan",
    "96": "Papua Barat Daya",
}

# Jawa Barat's 18 kabupaten and 9 kota with their Kemendagri codes, roughly by size, so that a
# small run gets the big pemdas and a mix of REGENCY and CITY early on. Other provinces reuse
# these names: the data is synthetic and only the shape of the tree matters there.
REGIONS: tuple[tuple[str, str, str], ...] = (
    ("01", "REGENCY", "Bogor"),
    ("73", "CITY", "Bandung"),
    ("04", "REGENCY", "Bandung"),
    ("75", "CITY", "Bekasi"),
    ("16", "REGENCY", "Bekasi"),
    ("76", "CITY", "Depok"),
    ("15", "REGENCY", "Karawang"),
    ("71", "CITY", "Bogor"),
    ("02", "REGENCY", "Sukabumi"),
    ("03", "REGENCY", "Cianjur"),
    ("05", "REGENCY", "Garut"),
    ("77", "CITY", "Cimahi"),
    ("06", "REGENCY", "Tasikmalaya"),
    ("74", "CITY", "Cirebon"),
    ("09", "REGENCY", "Cirebon"),
    ("12", "REGENCY", "Indramayu"),
    ("13", "REGENCY", "Subang"),
    ("78", "CITY", "Tasikmalaya"),
    ("17", "REGENCY", "Bandung Barat"),
    ("07", "REGENCY", "Ciamis"),
    ("08", "REGENCY", "Kuningan"),
    ("10", "REGENCY", "Majalengka"),
    ("11", "REGENCY", "Sumedang"),
    ("14", "REGENCY", "Purwakarta"),
    ("72", "CITY", "Sukabumi"),
    ("79", "CITY", "Banjar"),
    ("18", "REGENCY", "Pangandaran"),
)
# Names for the imaginary pemekaran regions needed beyond the 27 real ones.
SPLIT_SUFFIXES = ("Utara", "Selatan", "Timur", "Tengah", "Raya")

# Employees per kabupaten/kota; 500k employees gives the 27 real ones.
EMPLOYEES_PER_REGION = 18_500
# Employees per OPD when deciding how many OPDs a pemda runs.
EMPLOYEES_PER_OPD = 500
# Staff per sub-unit when deciding how many sub-units an OPD has; even a small dinas keeps
# its secretariat and bidang, so this is low and the OPD's list of names is the real cap.
STAFF_PER_SUB_UNIT = 30

# (position, academic prefix, possible degrees); "" in degrees means no degree.
Post = tuple[str, str, tuple[str, ...]]

_BACHELOR = ("S.E.", "S.Sos.", "S.H.", "S.Kom.", "S.T.", "S.AP.", "S.I.Kom.", "S.M.", "S.Ak.", "S.IP.")
_CLERK = ("", "", "", "A.Md.", "S.E.", "S.Sos.")


@dataclass(frozen=True)
class _Pool:
    pns: tuple[Post, ...]
    pppk: tuple[Post, ...]
    non_asn: tuple[Post, ...]


_NON_ASN_GENERAL: tuple[Post, ...] = (
    ("Tenaga Administrasi", "", ("", "", "A.Md.", "S.E.")),
    ("Tenaga Administrasi", "", ("", "A.Md.", "S.Kom.")),
    ("Operator Komputer", "", ("", "A.Md.", "S.Kom.")),
    ("Pramu Bakti", "", ("",)),
    ("Pengemudi", "", ("",)),
    ("Petugas Keamanan", "", ("",)),
    ("Petugas Kebersihan", "", ("",)),
)
_OFFICE: tuple[Post, ...] = (
    ("Pengadministrasi Umum", "", _CLERK),
    ("Pengadministrasi Perkantoran", "", _CLERK),
    ("Analis Kebijakan Ahli Pertama", "", _BACHELOR),
    ("Analis Kebijakan Ahli Muda", "", ("S.Sos., M.Si.", "S.E., M.M.", "S.H., M.H.", "S.IP.")),
    ("Pranata Komputer Ahli Pertama", "", ("S.Kom.", "S.T.")),
    ("Arsiparis Terampil", "", ("", "A.Md.")),
    ("Pengelola Keuangan", "", ("S.E.", "S.Ak.", "A.Md.")),
    ("Pengelola Barang Milik Daerah", "", ("", "S.E.", "A.Md.")),
)

POOLS: dict[str, _Pool] = {
    "umum": _Pool(
        pns=_OFFICE,
        pppk=(
            ("Pranata Komputer Ahli Pertama", "", ("S.Kom.", "S.T.")),
            ("Arsiparis Terampil", "", ("", "A.Md.")),
            ("Penata Layanan Operasional", "", _BACHELOR),
            ("Pengelola Layanan Operasional", "", _CLERK),
        ),
        non_asn=_NON_ASN_GENERAL,
    ),
    "pendidikan": _Pool(
        pns=(
            ("Guru Ahli Pertama", "", ("S.Pd.", "S.Pd.", "S.Pd.I.", "S.Si.")),
            ("Guru Ahli Muda", "", ("S.Pd.", "S.Pd.", "S.Pd., M.Pd.")),
            ("Guru Ahli Muda", "", ("S.Pd.", "S.Pd.I.", "S.Pd., M.Pd.")),
            ("Guru Ahli Madya", "", ("S.Pd.", "S.Pd., M.Pd.")),
            ("Pengawas Sekolah Ahli Madya", "", ("S.Pd., M.Pd.", "M.Pd.")),
            ("Pengadministrasi Umum", "", _CLERK),
        ),
        pppk=(
            ("Guru Ahli Pertama", "", ("S.Pd.", "S.Pd.", "S.Pd.I.", "S.Kom.")),
            ("Guru Ahli Pertama", "", ("S.Pd.", "S.Pd.", "S.Pd.I.", "S.Kom.")),
            ("Tenaga Kependidikan", "", _CLERK),
        ),
        non_asn=(
            ("Guru Honorer", "", ("S.Pd.", "S.Pd.I.", "")),
            ("Guru Honorer", "", ("S.Pd.", "S.Pd.I.", "")),
            ("Operator Sekolah", "", ("", "A.Md.", "S.Kom.")),
            ("Tenaga Kependidikan Honorer", "", ("", "A.Md.")),
            ("Penjaga Sekolah", "", ("",)),
        ),
    ),
    "kesehatan": _Pool(
        pns=(
            ("Dokter Ahli Pertama", "dr.", ("", "", "M.Kes.")),
            ("Dokter Ahli Muda", "dr.", ("", "M.Kes.", "Sp.PD.", "Sp.A.")),
            ("Perawat Terampil", "", ("A.Md.Kep.",)),
            ("Perawat Ahli Pertama", "", ("S.Kep., Ners",)),
            ("Bidan Terampil", "", ("A.Md.Keb.",)),
            ("Bidan Ahli Pertama", "", ("S.Tr.Keb.",)),
            ("Apoteker Ahli Pertama", "", ("S.Farm., Apt.",)),
            ("Sanitarian Terampil", "", ("A.Md.KL.",)),
            ("Nutrisionis Ahli Pertama", "", ("S.Gz.",)),
            ("Epidemiolog Kesehatan Ahli Pertama", "", ("S.K.M.",)),
            ("Pranata Laboratorium Kesehatan Terampil", "", ("A.Md.AK.",)),
        ),
        pppk=(
            ("Perawat Terampil", "", ("A.Md.Kep.",)),
            ("Perawat Ahli Pertama", "", ("S.Kep., Ners",)),
            ("Bidan Terampil", "", ("A.Md.Keb.",)),
            ("Dokter Ahli Pertama", "dr.", ("",)),
            ("Administrator Kesehatan Ahli Pertama", "", ("S.K.M.",)),
        ),
        non_asn=(
            ("Tenaga Kesehatan Honorer", "", ("A.Md.Kep.", "A.Md.Keb.", "S.Kep., Ners")),
            ("Tenaga Administrasi", "", _CLERK),
            ("Pengemudi Ambulans", "", ("",)),
            ("Petugas Kebersihan", "", ("",)),
        ),
    ),
    "kepegawaian": _Pool(
        pns=(
            ("Analis Kepegawaian Ahli Pertama", "", ("S.Sos.", "S.AP.", "S.Psi.", "S.H.")),
            ("Analis Kepegawaian Ahli Muda", "", ("S.Sos., M.Si.", "S.AP.", "S.Psi.")),
            ("Pranata Sumber Daya Manusia Aparatur Terampil", "", ("", "A.Md.")),
            ("Pranata Komputer Ahli Pertama", "", ("S.Kom.",)),
            ("Pengadministrasi Umum", "", _CLERK),
        ),
        pppk=(
            ("Analis Kepegawaian Ahli Pertama", "", ("S.Sos.", "S.AP.", "S.Psi.")),
            ("Pranata Komputer Ahli Pertama", "", ("S.Kom.",)),
        ),
        non_asn=_NON_ASN_GENERAL,
    ),
    "pengawasan": _Pool(
        pns=(
            ("Auditor Ahli Pertama", "", ("S.E.", "S.Ak.")),
            ("Auditor Ahli Muda", "", ("S.E., M.Ak.", "S.Ak.", "S.E.")),
            (
                "Pengawas Penyelenggaraan Urusan Pemerintahan di Daerah Ahli Pertama",
                "",
                ("S.H.", "S.IP.", "S.Sos."),
            ),
            ("Pengadministrasi Umum", "", _CLERK),
        ),
        pppk=(("Auditor Ahli Pertama", "", ("S.E.", "S.Ak.")),),
        non_asn=_NON_ASN_GENERAL,
    ),
    "satpol": _Pool(
        pns=(
            ("Polisi Pamong Praja Terampil", "", ("", "", "A.Md.")),
            ("Polisi Pamong Praja Ahli Pertama", "", ("S.H.", "S.Sos.")),
            ("Pengadministrasi Umum", "", _CLERK),
        ),
        pppk=(("Polisi Pamong Praja Terampil", "", ("", "A.Md.")),),
        non_asn=(
            ("Anggota Satuan Perlindungan Masyarakat", "", ("",)),
            ("Petugas Ketertiban", "", ("",)),
            ("Tenaga Administrasi", "", _CLERK),
        ),
    ),
    "keuangan": _Pool(
        pns=(
            ("Analis Keuangan Pusat dan Daerah Ahli Pertama", "", ("S.E.", "S.Ak.")),
            ("Penata Laporan Keuangan", "", ("S.E.", "S.Ak.", "A.Md.")),
            ("Bendahara", "", ("S.E.", "A.Md.", "")),
            ("Pengelola Barang Milik Daerah", "", ("", "S.E.", "A.Md.")),
            ("Pranata Komputer Ahli Pertama", "", ("S.Kom.",)),
        ),
        pppk=(("Penata Layanan Operasional", "", ("S.E.", "S.Ak.")),),
        non_asn=_NON_ASN_GENERAL,
    ),
    "perencanaan": _Pool(
        pns=(
            ("Perencana Ahli Pertama", "", ("S.T.", "S.E.", "S.P.W.K.")),
            ("Perencana Ahli Muda", "", ("S.T., M.T.", "S.E., M.Si.", "S.P.W.K.")),
            ("Statistisi Ahli Pertama", "", ("S.Si.", "S.Stat.")),
            ("Analis Kebijakan Ahli Pertama", "", _BACHELOR),
        ),
        pppk=(("Statistisi Ahli Pertama", "", ("S.Si.", "S.Stat.")),),
        non_asn=_NON_ASN_GENERAL,
    ),
    "teknik": _Pool(
        pns=(
            ("Teknik Jalan dan Jembatan Ahli Pertama", "", ("S.T.",)),
            ("Teknik Pengairan Ahli Pertama", "", ("S.T.",)),
            ("Penata Ruang Ahli Pertama", "", ("S.T.", "S.P.W.K.")),
            ("Pengawas Lapangan", "", ("", "A.Md.T.")),
            ("Pengadministrasi Umum", "", _CLERK),
        ),
        pppk=(("Teknik Jalan dan Jembatan Ahli Pertama", "", ("S.T.",)),),
        non_asn=(
            ("Petugas Lapangan", "", ("",)),
            ("Tenaga Teknis Honorer", "", ("", "A.Md.T.", "S.T.")),
            ("Pengemudi", "", ("",)),
            ("Tenaga Administrasi", "", _CLERK),
        ),
    ),
    "pertanian": _Pool(
        pns=(
            ("Penyuluh Pertanian Ahli Pertama", "", ("S.P.", "S.Pt.", "S.Pi.")),
            ("Penyuluh Pertanian Terampil", "", ("", "A.Md.")),
            ("Pengawas Mutu Hasil Pertanian Ahli Pertama", "", ("S.P.", "S.TP.")),
            ("Medik Veteriner Ahli Pertama", "drh.", ("",)),
            ("Pengadministrasi Umum", "", _CLERK),
        ),
        pppk=(("Penyuluh Pertanian Ahli Pertama", "", ("S.P.", "S.Pt.")),),
        non_asn=(
            ("Tenaga Harian Lepas Penyuluh", "", ("", "S.P.")),
            ("Tenaga Administrasi", "", _CLERK),
        ),
    ),
}


@dataclass(frozen=True)
class _OpdSpec:
    name: str
    weight: float  # share of the pemda's staff, relative to the other OPDs
    divisions: tuple[str, ...]
    pool: str
    head: str = ""  # JPT position; "" means "Kepala <name>"
    secretariat: bool = True
    province_divisions: tuple[str, ...] = ()
    # Field units added when the OPD is large: (at the province, at a kabupaten/kota).
    outposts: tuple[str, str] = ("", "")
    max_outposts: int = 0


OPDS: tuple[_OpdSpec, ...] = (
    _OpdSpec(
        "Dinas Pendidikan",
        30,
        (
            "Bidang Pembinaan Sekolah Dasar",
            "Bidang Pembinaan Sekolah Menengah Pertama",
            "Bidang Pendidikan Anak Usia Dini dan Pendidikan Nonformal",
            "Bidang Guru dan Tenaga Kependidikan",
        ),
        "pendidikan",
        province_divisions=(
            "Bidang Pembinaan Sekolah Menengah Atas",
            "Bidang Pembinaan Sekolah Menengah Kejuruan",
            "Bidang Pendidikan Khusus dan Layanan Khusus",
            "Bidang Guru dan Tenaga Kependidikan",
        ),
        outposts=("Cabang Dinas Pendidikan Wilayah {}", "UPTD Pendidikan Wilayah {}"),
        max_outposts=13,
    ),
    _OpdSpec(
        "Sekretariat Daerah",
        2,
        (
            "Bagian Tata Pemerintahan",
            "Bagian Hukum",
            "Bagian Organisasi",
            "Bagian Perekonomian dan Sumber Daya Alam",
            "Bagian Pengadaan Barang dan Jasa",
            "Bagian Umum",
        ),
        "umum",
        head="Asisten Pemerintahan dan Kesejahteraan Rakyat",
        secretariat=False,
    ),
    _OpdSpec(
        "Dinas Kesehatan",
        8,
        (
            "Bidang Kesehatan Masyarakat",
            "Bidang Pencegahan dan Pengendalian Penyakit",
            "Bidang Pelayanan Kesehatan",
            "Bidang Sumber Daya Kesehatan",
        ),
        "kesehatan",
        outposts=("UPTD Laboratorium Kesehatan Wilayah {}", "UPTD Puskesmas Wilayah {}"),
        max_outposts=10,
    ),
    _OpdSpec(
        "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia",
        1.5,
        (
            "Bidang Pengadaan, Pemberhentian dan Informasi Kepegawaian",
            "Bidang Mutasi dan Promosi",
            "Bidang Pengembangan Kompetensi Aparatur",
            "Bidang Penilaian Kinerja Aparatur dan Penghargaan",
        ),
        "kepegawaian",
    ),
    _OpdSpec(
        "Inspektorat Daerah",
        1.5,
        (
            "Inspektorat Pembantu Wilayah I",
            "Inspektorat Pembantu Wilayah II",
            "Inspektorat Pembantu Wilayah III",
            "Inspektorat Pembantu Wilayah IV",
        ),
        "pengawasan",
        head="Inspektur Daerah",
    ),
    _OpdSpec(
        "Rumah Sakit Umum Daerah",
        6,
        (
            "Bagian Umum dan Kepegawaian",
            "Bidang Pelayanan Medik",
            "Bidang Keperawatan",
            "Bidang Penunjang Medik",
            "Bagian Keuangan",
        ),
        "kesehatan",
        head="Direktur Rumah Sakit Umum Daerah",
        secretariat=False,
    ),
    _OpdSpec(
        "Badan Perencanaan Pembangunan Daerah",
        1,
        (
            "Bidang Perencanaan, Pengendalian dan Evaluasi Pembangunan Daerah",
            "Bidang Pemerintahan dan Pembangunan Manusia",
            "Bidang Perekonomian dan Sumber Daya Alam",
            "Bidang Infrastruktur dan Kewilayahan",
        ),
        "perencanaan",
    ),
    _OpdSpec(
        "Badan Pengelolaan Keuangan dan Aset Daerah",
        1.5,
        (
            "Bidang Anggaran",
            "Bidang Perbendaharaan",
            "Bidang Akuntansi dan Pelaporan",
            "Bidang Pengelolaan Barang Milik Daerah",
        ),
        "keuangan",
    ),
    _OpdSpec(
        "Satuan Polisi Pamong Praja",
        2,
        (
            "Bidang Penegakan Peraturan Daerah",
            "Bidang Ketertiban Umum dan Ketenteraman Masyarakat",
            "Bidang Perlindungan Masyarakat",
            "Bidang Sumber Daya Aparatur",
        ),
        "satpol",
    ),
    _OpdSpec(
        "Badan Kesatuan Bangsa dan Politik",
        1,
        (
            "Bidang Ideologi, Wawasan Kebangsaan dan Karakter Bangsa",
            "Bidang Politik Dalam Negeri",
            "Bidang Ketahanan Ekonomi, Sosial, Budaya dan Organisasi Kemasyarakatan",
            "Bidang Kewaspadaan Nasional dan Penanganan Konflik",
        ),
        "umum",
    ),
    _OpdSpec(
        "Sekretariat Dewan Perwakilan Rakyat Daerah",
        1,
        (
            "Bagian Umum dan Keuangan",
            "Bagian Persidangan dan Perundang-undangan",
            "Bagian Fasilitasi Penganggaran dan Pengawasan",
            "Bagian Hubungan Masyarakat dan Protokol",
        ),
        "umum",
        head="Sekretaris Dewan Perwakilan Rakyat Daerah",
        secretariat=False,
    ),
    _OpdSpec(
        "Dinas Pekerjaan Umum dan Penataan Ruang",
        1.5,
        ("Bidang Bina Marga", "Bidang Sumber Daya Air", "Bidang Cipta Karya", "Bidang Penataan Ruang"),
        "teknik",
    ),
    _OpdSpec(
        "Dinas Kependudukan dan Pencatatan Sipil",
        1,
        (
            "Bidang Pelayanan Pendaftaran Penduduk",
            "Bidang Pelayanan Pencatatan Sipil",
            "Bidang Pengelolaan Informasi Administrasi Kependudukan",
            "Bidang Pemanfaatan Data dan Inovasi Pelayanan",
        ),
        "umum",
    ),
    _OpdSpec(
        "Dinas Sosial",
        1,
        (
            "Bidang Perlindungan dan Jaminan Sosial",
            "Bidang Rehabilitasi Sosial",
            "Bidang Pemberdayaan Sosial",
            "Bidang Penanganan Fakir Miskin",
        ),
        "umum",
    ),
    _OpdSpec(
        "Dinas Perhubungan",
        1,
        ("Bidang Lalu Lintas", "Bidang Angkutan", "Bidang Prasarana", "Bidang Pengendalian dan Operasional"),
        "teknik",
    ),
    _OpdSpec(
        "Dinas Komunikasi dan Informatika",
        1,
        (
            "Bidang Informasi dan Komunikasi Publik",
            "Bidang Aplikasi Informatika",
            "Bidang Persandian dan Keamanan Informasi",
            "Bidang Statistik",
        ),
        "umum",
    ),
    _OpdSpec(
        "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
        1,
        (
            "Bidang Perencanaan dan Promosi Penanaman Modal",
            "Bidang Pelayanan Perizinan",
            "Bidang Pengendalian Pelaksanaan Penanaman Modal",
            "Bidang Pengaduan dan Informasi",
        ),
        "umum",
    ),
    _OpdSpec(
        "Dinas Lingkungan Hidup",
        1.5,
        (
            "Bidang Tata Lingkungan",
            "Bidang Pengelolaan Sampah",
            "Bidang Pengendalian Pencemaran dan Kerusakan Lingkungan",
            "Bidang Pertamanan",
        ),
        "teknik",
    ),
    _OpdSpec(
        "Badan Pendapatan Daerah",
        1,
        (
            "Bidang Pendataan dan Penetapan",
            "Bidang Penagihan",
            "Bidang Pengembangan dan Pengendalian Pendapatan",
        ),
        "keuangan",
    ),
    _OpdSpec(
        "Badan Penanggulangan Bencana Daerah",
        1,
        (
            "Bidang Pencegahan dan Kesiapsiagaan",
            "Bidang Kedaruratan dan Logistik",
            "Bidang Rehabilitasi dan Rekonstruksi",
        ),
        "umum",
    ),
    _OpdSpec(
        "Dinas Perumahan dan Kawasan Permukiman",
        1,
        ("Bidang Perumahan", "Bidang Kawasan Permukiman", "Bidang Prasarana, Sarana dan Utilitas Umum"),
        "teknik",
    ),
    _OpdSpec(
        "Dinas Tenaga Kerja",
        1,
        (
            "Bidang Pelatihan dan Produktivitas",
            "Bidang Penempatan Tenaga Kerja",
            "Bidang Hubungan Industrial dan Jaminan Sosial",
        ),
        "umum",
    ),
    _OpdSpec(
        "Dinas Koperasi dan Usaha Mikro",
        1,
        ("Bidang Kelembagaan Koperasi", "Bidang Pengawasan Koperasi", "Bidang Pemberdayaan Usaha Mikro"),
        "umum",
    ),
    _OpdSpec(
        "Dinas Perindustrian dan Perdagangan",
        1,
        ("Bidang Perindustrian", "Bidang Perdagangan", "Bidang Metrologi Legal"),
        "umum",
    ),
    _OpdSpec(
        "Dinas Pemberdayaan Perempuan dan Perlindungan Anak",
        1,
        ("Bidang Kesetaraan Gender", "Bidang Perlindungan Perempuan", "Bidang Pemenuhan Hak Anak"),
        "umum",
    ),
    _OpdSpec(
        "Dinas Pengendalian Penduduk dan Keluarga Berencana",
        1,
        (
            "Bidang Pengendalian Penduduk",
            "Bidang Keluarga Berencana",
            "Bidang Ketahanan dan Kesejahteraan Keluarga",
        ),
        "umum",
    ),
    _OpdSpec(
        "Dinas Pertanian",
        1.5,
        (
            "Bidang Tanaman Pangan",
            "Bidang Hortikultura",
            "Bidang Prasarana dan Sarana Pertanian",
            "Bidang Penyuluhan",
        ),
        "pertanian",
    ),
    _OpdSpec(
        "Dinas Ketahanan Pangan",
        1,
        (
            "Bidang Ketersediaan Pangan",
            "Bidang Distribusi dan Cadangan Pangan",
            "Bidang Konsumsi dan Keamanan Pangan",
        ),
        "pertanian",
    ),
    _OpdSpec(
        "Dinas Peternakan dan Kesehatan Hewan",
        1,
        (
            "Bidang Produksi Peternakan",
            "Bidang Kesehatan Hewan",
            "Bidang Kesehatan Masyarakat Veteriner",
        ),
        "pertanian",
    ),
    _OpdSpec(
        "Dinas Kelautan dan Perikanan",
        1,
        (
            "Bidang Perikanan Budidaya",
            "Bidang Perikanan Tangkap",
            "Bidang Pengolahan dan Pemasaran Hasil Perikanan",
        ),
        "pertanian",
    ),
    _OpdSpec(
        "Dinas Pemuda dan Olahraga",
        1,
        ("Bidang Kepemudaan", "Bidang Olahraga", "Bidang Sarana dan Prasarana Olahraga"),
        "umum",
    ),
    _OpdSpec(
        "Dinas Pariwisata dan Kebudayaan",
        1,
        ("Bidang Destinasi Pariwisata", "Bidang Pemasaran Pariwisata", "Bidang Kebudayaan"),
        "umum",
    ),
    _OpdSpec(
        "Dinas Perpustakaan dan Kearsipan",
        1,
        ("Bidang Layanan Perpustakaan", "Bidang Pengembangan Perpustakaan", "Bidang Kearsipan"),
        "umum",
    ),
    _OpdSpec(
        "Dinas Pemberdayaan Masyarakat dan Desa",
        1,
        ("Bidang Pemerintahan Desa", "Bidang Pemberdayaan Masyarakat", "Bidang Ekonomi dan Usaha Desa"),
        "umum",
    ),
    _OpdSpec(
        "Badan Riset dan Inovasi Daerah",
        0.5,
        ("Bidang Riset", "Bidang Inovasi Daerah"),
        "perencanaan",
    ),
)

_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV")


@dataclass(frozen=True)
class _Culture:
    weight: float
    male: tuple[str, ...]
    female: tuple[str, ...]
    male_last: tuple[str, ...]
    female_last: tuple[str, ...]
    haji: bool  # whether the "H."/"Hj." pilgrimage title fits


# Weighted towards Sundanese and Javanese, as in a Jawa Barat pemda.
CULTURES: tuple[_Culture, ...] = (
    _Culture(
        45,
        (
            "Asep",
            "Ujang",
            "Dadang",
            "Cecep",
            "Yayan",
            "Dede",
            "Deden",
            "Iwan",
            "Ade",
            "Engkos",
            "Ajat",
            "Maman",
            "Jajang",
            "Encep",
            "Dodi",
            "Ayi",
            "Endang",
            "Yana",
            "Wawan",
            "Aep",
            "Dadan",
            "Kurnia",
            "Rahmat",
            "Acep",
            "Ujang",
            "Hendra",
            "Rudi",
            "Gilang",
            "Rangga",
        ),
        (
            "Euis",
            "Neneng",
            "Iis",
            "Enung",
            "Imas",
            "Nining",
            "Yati",
            "Tati",
            "Ai",
            "Lilis",
            "Nia",
            "Rina",
            "Wulan",
            "Yuyun",
            "Eneng",
            "Cucu",
            "Popon",
            "Teti",
            "Lina",
            "Nenden",
            "Rani",
            "Dewi",
            "Siti",
            "Nurul",
            "Tiara",
        ),
        (
            "Saepudin",
            "Supriadi",
            "Sutisna",
            "Permana",
            "Suryana",
            "Nugraha",
            "Mulyana",
            "Sudrajat",
            "Kusnadi",
            "Priatna",
            "Rukmana",
            "Sumarna",
            "Hidayat",
            "Ramdani",
            "Sopian",
            "Gumilar",
            "Hermawan",
            "Somantri",
            "Kusumah",
            "Setiawan",
            "Sunandar",
            "Ruhiyat",
        ),
        (
            "Komalasari",
            "Nurhayati",
            "Rosmiati",
            "Maryani",
            "Kurniasih",
            "Sulastri",
            "Rahayu",
            "Hasanah",
            "Herawati",
            "Nuraeni",
            "Rosita",
            "Sumiati",
            "Kartika",
            "Mulyani",
        ),
        True,
    ),
    _Culture(
        25,
        (
            "Budi",
            "Agus",
            "Eko",
            "Joko",
            "Bambang",
            "Slamet",
            "Sugeng",
            "Hadi",
            "Wahyu",
            "Teguh",
            "Bayu",
            "Dwi",
            "Heru",
            "Sigit",
            "Tri",
            "Yudi",
            "Arif",
            "Rudi",
            "Hendro",
            "Adi",
            "Dimas",
            "Fajar",
            "Bagus",
            "Galih",
        ),
        (
            "Sri",
            "Dewi",
            "Ratna",
            "Endah",
            "Dwi",
            "Ayu",
            "Rini",
            "Yuli",
            "Kartika",
            "Tri",
            "Wulan",
            "Retno",
            "Sekar",
            "Ning",
            "Puji",
            "Lestari",
            "Indah",
            "Diah",
        ),
        (
            "Santoso",
            "Setiawan",
            "Wahyudi",
            "Kurniawan",
            "Gunawan",
            "Prasetyo",
            "Nugroho",
            "Widodo",
            "Susilo",
            "Purnomo",
            "Saputra",
            "Pratama",
            "Wibowo",
            "Hartono",
            "Sutrisno",
            "Suryadi",
            "Hidayat",
            "Wicaksono",
            "Utomo",
            "Raharjo",
        ),
        (
            "Wahyuni",
            "Lestari",
            "Wulandari",
            "Susanti",
            "Purnamasari",
            "Handayani",
            "Yuliani",
            "Rahmawati",
            "Setyaningsih",
            "Pratiwi",
            "Utami",
            "Astuti",
            "Suryani",
            "Puspitasari",
        ),
        True,
    ),
    _Culture(
        17,
        (
            "Muhammad",
            "Ahmad",
            "Abdul",
            "Rizki",
            "Fauzan",
            "Ilham",
            "Irfan",
            "Yusuf",
            "Ridwan",
            "Firman",
            "Hasan",
            "Syarif",
            "Zainal",
            "Lukman",
            "Arif",
            "Fikri",
            "Hafiz",
            "Ikhsan",
        ),
        (
            "Siti",
            "Nur",
            "Nurul",
            "Aisyah",
            "Fitri",
            "Anisa",
            "Rahma",
            "Nabila",
            "Salsabila",
            "Fatimah",
            "Khadijah",
            "Zahra",
            "Laila",
            "Annisa",
            "Hafsah",
        ),
        (
            "Hakim",
            "Rahman",
            "Fauzi",
            "Firmansyah",
            "Maulana",
            "Hidayatullah",
            "Syahputra",
            "Ramadhan",
            "Akbar",
            "Nasution",
            "Lubis",
            "Hasibuan",
            "Alfarizi",
            "Kurniawan",
        ),
        (
            "Hasanah",
            "Aulia",
            "Azzahra",
            "Rahmawati",
            "Nurjanah",
            "Fadilah",
            "Khoirunnisa",
            "Maharani",
            "Amalia",
            "Zulfa",
        ),
        True,
    ),
    _Culture(
        9,
        (
            "Yohanes",
            "Stefanus",
            "Fransiskus",
            "Paulus",
            "Andreas",
            "Daniel",
            "Yosua",
            "Hendrik",
            "Markus",
            "Petrus",
            "Samuel",
            "Timotius",
            "Robert",
            "Benediktus",
        ),
        (
            "Maria",
            "Agnes",
            "Theresia",
            "Natalia",
            "Yohana",
            "Elisabeth",
            "Margaretha",
            "Veronika",
            "Lidia",
            "Debora",
            "Ruth",
            "Christina",
        ),
        (
            "Simanjuntak",
            "Siregar",
            "Nainggolan",
            "Hutapea",
            "Sitompul",
            "Manurung",
            "Pangaribuan",
            "Tambunan",
            "Situmorang",
            "Sinaga",
            "Simatupang",
            "Panjaitan",
            "Kristianto",
            "Susanto",
        ),
        (
            "Simanjuntak",
            "Siregar",
            "Nainggolan",
            "Hutapea",
            "Sitompul",
            "Manurung",
            "Sinaga",
            "Situmorang",
            "Kristiani",
            "Panjaitan",
        ),
        False,
    ),
    _Culture(
        4,
        (
            "Hendra",
            "Kevin",
            "Michael",
            "Steven",
            "William",
            "Johan",
            "Hartanto",
            "Budiman",
            "Rudy",
            "Felix",
            "Eric",
        ),
        ("Lina", "Melinda", "Jessica", "Linda", "Susan", "Monica", "Yenny", "Stefani", "Wenny", "Cindy"),
        ("Wijaya", "Halim", "Tanuwijaya", "Gunadi", "Kusuma", "Salim", "Hartono", "Setiadi", "Gunawan"),
        ("Wijaya", "Halim", "Tanuwijaya", "Kusuma", "Salim", "Setiadi", "Lukito"),
        False,
    ),
)
_MIDDLE_MALE = ("Nur", "Dwi", "Tri", "Eka", "Adi", "Budi", "Putra", "Rahmat", "Sri", "Agung")
_MIDDLE_FEMALE = ("Nur", "Dwi", "Tri", "Eka", "Sri", "Ayu", "Dewi", "Putri", "Indah", "Rahayu")

_LEADER_DEGREES = (
    "S.E., M.Si.",
    "S.H., M.H.",
    "S.Sos., M.Si.",
    "S.T., M.T.",
    "S.IP., M.Si.",
    "S.Pd., M.Pd.",
    "S.STP., M.Si.",
    "S.Kom., M.Kom.",
    "S.Ag., M.Ag.",
    "S.E., M.M.",
    "S.AP., M.AP.",
    "S.Psi., M.Psi.",
    "M.Si.",
)
_MANAGER_DEGREES = _LEADER_DEGREES + _BACHELOR + ("S.STP.", "S.Pd.")
_HEALTH_LEADER_DEGREES = ("M.Kes.", "M.K.M.", "Sp.PD.", "M.M.R.S.", "M.Kes.")

_PHONE_PREFIXES = (
    "811",
    "812",
    "813",
    "821",
    "822",
    "823",
    "851",
    "852",
    "853",
    "855",
    "856",
    "857",
    "858",
    "877",
    "878",
    "881",
    "882",
    "895",
    "896",
    "897",
)
_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_EMAIL_DOMAIN = "example.go.id"

# Age ranges (inclusive) by role; leaders are older because they climbed the ranks.
_AGE = {
    "REGIONAL_HEAD": (50, 59),
    "JPT": (45, 59),
    "ADMINISTRATOR": (38, 57),
    "SUPERVISOR": (32, 56),
    "PNS": (23, 58),
    "PPPK": (25, 58),
    "NON_ASN": (20, 55),
}
# First PPPK intake was 2019; their NIPs cannot predate it.
_FIRST_PPPK_YEAR = 2019


# ---------------------------------------------------------------- tree plan


@dataclass
class _Sub:
    code: str
    name: str
    head_position: str
    supervisor_positions: tuple[str, ...]
    weight: float
    admin_nip: str = ""
    supervisor_nips: list[str] = field(default_factory=list)


@dataclass
class _Opd:
    code: str
    spec: _OpdSpec
    subs: list[_Sub]
    head_nip: str = ""


@dataclass
class _Pemda:
    code: str
    kind: str
    label: str  # "Provinsi Jawa Barat", "Kabupaten Bogor"
    nik_region: str  # first 4 NIK digits: province + kabupaten/kota
    opds: list[_Opd] = field(default_factory=list)
    sekda_nip: str = ""


def _roman(n: int) -> str:
    return _ROMAN[n - 1] if n <= len(_ROMAN) else str(n)


def _sub_positions(name: str, opd: _OpdSpec) -> tuple[str, tuple[str, ...]]:
    """The ADMINISTRATOR post heading a sub-unit and its (at most two) SUPERVISOR posts."""
    first, _, topic = name.partition(" ")
    if first == "Sekretariat":
        return f"Sekretaris {opd.name}", (
            "Kepala Subbagian Umum dan Kepegawaian",
            "Kepala Subbagian Keuangan dan Aset",
        )
    if name.startswith("Inspektorat Pembantu"):
        return name.replace("Inspektorat", "Inspektur", 1), (
            f"Kepala Subbagian Tata Usaha {name}",
            f"Kepala Subbagian Evaluasi dan Pelaporan {name}",
        )
    if first in ("Bagian", "Biro"):
        return f"Kepala {name}", (f"Kepala Subbagian {topic}", f"Kepala Subbagian Evaluasi {topic}")
    if first == "Bidang":
        return f"Kepala {name}", (f"Kepala Seksi {topic}", f"Kepala Seksi Evaluasi dan Pelaporan {topic}")
    return f"Kepala {name}", (f"Kepala Subbagian Tata Usaha {name}", f"Kepala Seksi Pelayanan {name}")


def _plan(employees: int, province_code: str, rng: random.Random) -> list[_Pemda]:
    province_name = PROVINCE_NAMES.get(province_code, f"Provinsi {province_code}")
    pemdas = [_Pemda(province_code, "PROVINCE", f"Provinsi {province_name}", "")]
    for index in range(max(1, employees // EMPLOYEES_PER_REGION)):
        code, kind, name = REGIONS[index % len(REGIONS)]
        cycle = index // len(REGIONS)
        region_code = code
        if cycle:
            suffix = SPLIT_SUFFIXES[cycle - 1] if cycle <= len(SPLIT_SUFFIXES) else str(cycle + 1)
            name = f"{name} {suffix}"
            # Real codes stop at 18 (kabupaten) and 79 (kota), so 100+ cannot clash with them.
            region_code = str(100 + index - len(REGIONS))
        label = f"{'Kabupaten' if kind == 'REGENCY' else 'Kota'} {name}"
        pemdas.append(_Pemda(f"{province_code}.{region_code}", kind, label, province_code + code))

    per_pemda = employees / len(pemdas)
    specs = OPDS[: max(1, min(len(OPDS), int(per_pemda // EMPLOYEES_PER_OPD)))]
    total_weight = sum(spec.weight for spec in specs)
    for pemda in pemdas:
        at_province = pemda.kind == "PROVINCE"
        for opd_index, spec in enumerate(specs, start=1):
            opd_code = f"{pemda.code}.{opd_index:03d}"
            divisions = spec.province_divisions if at_province and spec.province_divisions else spec.divisions
            if at_province:
                divisions = tuple(
                    "Biro " + d.removeprefix("Bagian ") if spec.name == "Sekretariat Daerah" else d
                    for d in divisions
                )
            names = (("Sekretariat",) if spec.secretariat else ()) + divisions
            outpost = spec.outposts[0 if at_province else 1]
            names += tuple(outpost.format(_roman(i)) for i in range(1, spec.max_outposts + 1))
            expected_staff = per_pemda * spec.weight / total_weight
            count = max(1, min(len(names), round(expected_staff / STAFF_PER_SUB_UNIT)))
            subs = []
            for sub_index, name in enumerate(names[:count], start=1):
                head, supervisors = _sub_positions(name, spec)
                # Most sub-units keep two echelon-IV posts; some were merged after the 2021
                # delayering, which leaves one.
                kept = supervisors if rng.random() < 0.6 else supervisors[:1]
                subs.append(_Sub(f"{opd_code}.{sub_index:02d}", name, head, kept, spec.weight / count))
            pemda.opds.append(_Opd(opd_code, spec, subs))
    return pemdas


def _units(pemdas: list[_Pemda], province_code: str) -> list[OrgUnitRow]:
    province, regions = pemdas[0], pemdas[1:]
    rows = [OrgUnitRow(province.code, f"Pemerintah {province.label}", "PROVINCE", None)]
    rows += [OrgUnitRow(p.code, f"Pemerintah {p.label}", p.kind, province_code) for p in regions]
    rows += [OrgUnitRow(o.code, o.spec.name, "OPD", p.code) for p in pemdas for o in p.opds]
    rows += [OrgUnitRow(s.code, s.name, "SUB_UNIT", o.code) for p in pemdas for o in p.opds for s in o.subs]
    return rows


# ---------------------------------------------------------------- people


class _People:
    """Draws names, NIPs, NIKs, e-mails and phones, keeping the unique ones unique."""

    def __init__(self, rng: random.Random, today: dt.date, province_code: str) -> None:
        self.rng = rng
        self.today = today
        self.province_code = province_code
        self.nips: set[str] = set()
        self.niks: set[str] = set()
        self.email_counts: dict[str, int] = {}
        self.culture_weights = [c.weight for c in CULTURES]
        total = sum(self.culture_weights)
        running = 0.0
        self.culture_cum: list[float] = []
        for weight in self.culture_weights:
            running += weight / total
            self.culture_cum.append(running)
        self.region_codes = tuple(province_code + code for code, _, _ in REGIONS)

    def _culture(self) -> _Culture:
        x = self.rng.random()
        for culture, edge in zip(CULTURES, self.culture_cum, strict=True):
            if x < edge:
                return culture
        return CULTURES[-1]

    def _pick(self, options: tuple[str, ...]) -> str:
        return options[int(self.rng.random() * len(options))]

    def person(
        self,
        employment_type: str,
        age_key: str,
        prefix: str,
        degrees: tuple[str, ...],
        nik_region: str,
        leader: bool = False,
    ) -> tuple[str, str, str, str, str]:
        """Return (nip, name, email, phone, nik) for one new person."""
        rand = self.rng.random
        pick = self._pick
        culture = self._culture()
        # Structural posts in Indonesian pemdas are still held mostly by men.
        male = rand() < (0.7 if leader else 0.5)
        first = pick(culture.male if male else culture.female)
        last = pick(culture.male_last if male else culture.female_last)
        shape = rand()
        if shape < 0.06:
            core, local = first, first
        elif shape < 0.3:
            middle = pick(_MIDDLE_MALE if male else _MIDDLE_FEMALE)
            core, local = f"{first} {middle} {last}", f"{first}.{last}"
        else:
            core, local = f"{first} {last}", f"{first}.{last}"

        low, high = _AGE[age_key]
        age = low + int(rand() * (high - low + 1))

        titles = []
        if prefix:
            titles.append(prefix)
        elif leader and rand() < 0.15:
            titles.append("Dr.")
        if culture.haji and age >= 40 and rand() < (0.35 if leader else 0.06):
            titles.append("H." if male else "Hj.")
        titles.append(core)
        name = " ".join(titles)
        degree = pick(degrees)
        if degree:
            name = f"{name}, {degree}"

        local = local.lower()
        count = self.email_counts.get(local, 0) + 1
        self.email_counts[local] = count
        email = f"{local}{count}@{_EMAIL_DOMAIN}"
        phone = f"+62{pick(_PHONE_PREFIXES)}{int(rand() * 100_000_000):08d}"

        today = self.today
        birth_year = today.year - age
        birth_month = 1 + int(rand() * 12)
        days = _DAYS_IN_MONTH[birth_month]
        if birth_month == 2 and (birth_year % 4 == 0 and (birth_year % 100 != 0 or birth_year % 400 == 0)):
            days = 29
        birth_day = 1 + int(rand() * days)

        if employment_type == "NON_ASN":
            return "", name, email, phone, self._nik(nik_region, birth_year, birth_month, birth_day, male)

        if employment_type == "PNS":
            # CPNS intake is open to ages 18–35; most join after a diploma or degree, and
            # structural posts need years of service first.
            latest = min(35, age - (10 if leader else 1))
            earliest = min(22 if leader else 20, latest)
            year = birth_year + earliest + int(rand() * (latest - earliest + 1))
            month = 1 + int(rand() * 12)
        else:
            start = max(min(_FIRST_PPPK_YEAR, today.year), birth_year + 20)
            year = start + int(rand() * (today.year - start + 1))
            month = 1 + int(rand() * (today.month if year == today.year else 12))
        head = f"{birth_year:04d}{birth_month:02d}{birth_day:02d}{year:04d}{month:02d}{1 if male else 2}"
        sequence = 1
        nip = f"{head}{sequence:03d}"
        while nip in self.nips:
            sequence += 1
            if sequence > 999:
                # Every sequence for this birth date/appointment/gender is taken: draw anew.
                return self.person(employment_type, age_key, prefix, degrees, nik_region, leader)
            nip = f"{head}{sequence:03d}"
        self.nips.add(nip)
        return nip, name, email, phone, ""

    def _nik(self, region: str, year: int, month: int, day: int, male: bool) -> str:
        rand = self.rng.random
        if not region:
            # Province staff come from anywhere in the province.
            region = self.region_codes[int(rand() * len(self.region_codes))]
        district = 1 + int(rand() * 40)
        birth = f"{day if male else day + 40:02d}{month:02d}{year % 100:02d}"
        head = f"{region}{district:02d}{birth}"
        sequence = 1 + int(rand() * 9)
        nik = f"{head}{sequence:04d}"
        while nik in self.niks:
            sequence = sequence % 9999 + 1
            nik = f"{head}{sequence:04d}"
        self.niks.add(nik)
        return nik


# ---------------------------------------------------------------- generate


def generate(
    employees: int,
    seed: int = 2024,
    province_code: str = "32",
    today: dt.date | None = None,
) -> tuple[list[OrgUnitRow], list[EmployeeRow]]:
    """A province with kabupaten/kota, OPDs and sub-units, and exactly `employees` people.

    Rows come leaders first, tier by tier (Sekda, OPD heads, sub-unit heads, supervisors,
    staff), so every supervisor_nip points at an earlier row and a small `employees`
    simply keeps the top of the hierarchy.
    """
    if employees < 0:
        raise ValueError("employees must not be negative")
    if len(province_code) != 2 or not province_code.isdigit():
        raise ValueError("province_code must be two digits, e.g. '32'")
    today = today or dt.date.today()
    rng = random.Random(seed)
    pemdas = _plan(employees, province_code, rng)
    units = _units(pemdas, province_code)
    people = _People(rng, today, province_code)
    rows: list[EmployeeRow] = []

    def add(
        unit: str,
        position: str,
        level: str,
        supervisor: str,
        region: str,
        prefix: str = "",
        degrees: tuple[str, ...] = _MANAGER_DEGREES,
    ) -> str:
        nip, name, email, phone, _ = people.person("PNS", level, prefix, degrees, region, leader=True)
        rows.append(EmployeeRow(nip, name, "PNS", position, level, unit, supervisor, email, phone, ""))
        return nip

    def leader_degrees(opd: _Opd) -> tuple[str, tuple[str, ...]]:
        if opd.spec.pool == "kesehatan":
            return "dr.", _HEALTH_LEADER_DEGREES
        return "", _LEADER_DEGREES

    for pemda in pemdas:
        if len(rows) == employees:
            return units, rows
        position = f"Sekretaris Daerah {pemda.label}"
        pemda.sekda_nip = add(
            pemda.code, position, "REGIONAL_HEAD", "", pemda.nik_region, degrees=_LEADER_DEGREES
        )
    for pemda in pemdas:
        for opd in pemda.opds:
            if len(rows) == employees:
                return units, rows
            prefix, degrees = leader_degrees(opd)
            position = opd.spec.head or f"Kepala {opd.spec.name}"
            opd.head_nip = add(opd.code, position, "JPT", pemda.sekda_nip, pemda.nik_region, prefix, degrees)
    for pemda in pemdas:
        for opd in pemda.opds:
            for sub in opd.subs:
                if len(rows) == employees:
                    return units, rows
                sub.admin_nip = add(
                    sub.code, sub.head_position, "ADMINISTRATOR", opd.head_nip, pemda.nik_region
                )
    for pemda in pemdas:
        for opd in pemda.opds:
            for sub in opd.subs:
                for position in sub.supervisor_positions:
                    if len(rows) == employees:
                        return units, rows
                    sub.supervisor_nips.append(
                        add(sub.code, position, "SUPERVISOR", sub.admin_nip, pemda.nik_region)
                    )

    _add_staff(rows, employees - len(rows), pemdas, people, rng)
    return units, rows


def _add_staff(
    rows: list[EmployeeRow], count: int, pemdas: list[_Pemda], people: _People, rng: random.Random
) -> None:
    placements: list[tuple[_Pemda, _Opd, _Sub]] = [
        (pemda, opd, sub) for pemda in pemdas for opd in pemda.opds for sub in opd.subs
    ]
    if count <= 0 or not placements:
        return
    cumulative: list[float] = []
    running = 0.0
    for _, _, sub in placements:
        running += sub.weight
        cumulative.append(running)
    rand = rng.random
    append = rows.append
    person = people.person
    for slot in rng.choices(range(len(placements)), cum_weights=cumulative, k=count):
        pemda, opd, sub = placements[slot]
        pool = POOLS[opd.spec.pool]
        mix = rand()
        if mix < 0.7:
            kind, posts = "PNS", pool.pns
        elif mix < 0.9:
            kind, posts = "PPPK", pool.pppk
        else:
            kind, posts = "NON_ASN", pool.non_asn
        position, prefix, degrees = posts[int(rand() * len(posts))]
        supervisors = sub.supervisor_nips
        supervisor = supervisors[int(rand() * len(supervisors))]
        nip, name, email, phone, nik = person(kind, kind, prefix, degrees, pemda.nik_region)
        append(EmployeeRow(nip, name, kind, position, "STAFF", sub.code, supervisor, email, phone, nik))


# ---------------------------------------------------------------- CSV


def write_csv(
    directory: Path, units: Iterable[OrgUnitRow], employees: Iterable[EmployeeRow]
) -> tuple[Path, Path]:
    """Write org_units.csv and employees.csv into `directory`; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    units_path = directory / "org_units.csv"
    employees_path = directory / "employees.csv"
    with units_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ORG_UNIT_COLUMNS)
        writer.writerows((u.code, u.name, u.kind, u.parent_code or "") for u in units)
    with employees_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(EMPLOYEE_COLUMNS)
        writer.writerows(
            (
                e.nip,
                e.name,
                e.employment_type,
                e.position,
                e.level,
                e.org_unit_code,
                e.supervisor_nip,
                e.email,
                e.phone,
                e.nik,
            )
            for e in employees
        )
    return units_path, employees_path


# ---------------------------------------------------------------- load

ORG_UNIT_CONCURRENCY = 16
POLL_INTERVAL = 0.5
HTTP_TIMEOUT = 60.0
# Errors shown after the import finishes; the full list stays in the registry.
ERRORS_SHOWN = 5


def _number(value: int) -> str:
    """Indonesian thousands separator: 45.000."""
    return f"{value:,}".replace(",", ".")


def _unit_levels(path: Path) -> list[list[dict[str, Any]]]:
    """Org units grouped by depth, because a child can only be created once its parent exists."""
    depth: dict[str, int] = {}
    levels: list[list[dict[str, Any]]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            parent = (row.get("parent_code") or "").strip() or None
            # A parent outside the file must already be in the registry: treat as a root.
            level = depth[parent] + 1 if parent in depth else 0
            depth[row["code"]] = level
            while len(levels) <= level:
                levels.append([])
            levels[level].append(
                {"code": row["code"], "name": row["name"], "kind": row["kind"], "parent_code": parent}
            )
    return levels


def _fail(what: str, response: httpx.Response) -> SeedLoadError:
    return SeedLoadError(f"{what}: HTTP {response.status_code} {response.text[:500]}")


async def _create_units(
    client: httpx.AsyncClient, registry_url: str, units: list[dict[str, Any]]
) -> tuple[int, int]:
    created = existing = 0
    pending: Iterator[dict[str, Any]] = iter(units)

    async def worker() -> None:
        nonlocal created, existing
        # Workers share one iterator, so at most ORG_UNIT_CONCURRENCY requests are in flight.
        for unit in pending:
            response = await client.post(f"{registry_url}/v1/org-units", json=unit)
            if response.status_code == 201:
                created += 1
            elif response.status_code == 409:
                existing += 1
            else:
                raise _fail(f"gagal membuat unit organisasi {unit['code']}", response)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(ORG_UNIT_CONCURRENCY, len(units))):
                group.create_task(worker())
    except ExceptionGroup as failures:
        # Surface the first failure itself; the TaskGroup already cancelled the other workers.
        first = failures.exceptions[0]
        if isinstance(first, SeedLoadError):
            raise first from None
        if isinstance(first, httpx.HTTPError):
            raise SeedLoadError(f"registry di {registry_url} tidak dapat dihubungi: {first!r}") from first
        raise
    return created, existing


def _import_line(body: dict[str, Any]) -> str:
    status = str(body.get("status", ""))
    total = int(body.get("total") or 0)
    processed = int(body.get("processed") or 0)
    failed = int(body.get("failed") or 0)
    if status == "queued":
        return "impor pegawai: menunggu antrean"
    percent = f" ({processed * 100 // total}%)" if total else ""
    return f"impor pegawai: {_number(processed)}/{_number(total)} baris{percent}, gagal {_number(failed)}"


async def load(
    directory: Path, registry_url: str, token: str, on_progress: Callable[[str], None]
) -> dict[str, int]:
    """Push org_units.csv and employees.csv from `directory` into a running registry."""
    base = registry_url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}"}
    levels = _unit_levels(directory / "org_units.csv")
    total_units = sum(len(level) for level in levels)
    created = existing = 0
    try:
        async with httpx.AsyncClient(headers=headers, timeout=HTTP_TIMEOUT) as client:
            for depth, units in enumerate(levels):
                made, known = await _create_units(client, base, units)
                created += made
                existing += known
                on_progress(
                    f"unit organisasi: tingkat {depth + 1} selesai, {_number(created + existing)}/"
                    f"{_number(total_units)} (baru {_number(created)}, sudah ada {_number(existing)})"
                )

            employees_path = directory / "employees.csv"
            size_mb = employees_path.stat().st_size / 1_000_000
            size = f"{size_mb:.1f}".replace(".", ",")
            on_progress(f"mengunggah {employees_path.name} ({size} MB)")
            with employees_path.open("rb") as handle:
                response = await client.post(
                    f"{base}/v1/imports", files={"file": ("employees.csv", handle, "text/csv")}
                )
            if response.status_code != 202:
                raise _fail("unggah employees.csv ditolak", response)
            import_id = str(response.json()["import_id"])

            last_line = ""
            while True:
                response = await client.get(f"{base}/v1/imports/{import_id}")
                if response.status_code != 200:
                    raise _fail(f"gagal membaca status impor {import_id}", response)
                body: dict[str, Any] = response.json()
                status = body.get("status")
                if status in ("completed", "failed"):
                    break
                line = _import_line(body)
                # The CLI prints each call; repeating an unchanged line every 0.5 s is noise.
                if line != last_line:
                    on_progress(line)
                    last_line = line
                await asyncio.sleep(POLL_INTERVAL)
    except httpx.HTTPError as exc:
        raise SeedLoadError(f"registry di {registry_url} tidak dapat dihubungi: {exc!r}") from exc

    counts = {
        "org_units_created": created,
        "org_units_existing": existing,
        "imported": int(body.get("imported") or 0),
        "updated": int(body.get("updated") or 0),
        "unchanged": int(body.get("unchanged") or 0),
        "failed": int(body.get("failed") or 0),
    }
    verdict = "selesai" if status == "completed" else "GAGAL"
    on_progress(
        f"impor pegawai {verdict}: {_number(int(body.get('total') or 0))} baris, "
        f"baru {_number(counts['imported'])}, diperbarui {_number(counts['updated'])}, "
        f"tidak berubah {_number(counts['unchanged'])}, gagal {_number(counts['failed'])}"
    )
    errors = body.get("errors") or []
    for error in errors[:ERRORS_SHOWN]:
        column = error.get("column") or "-"
        # A NIK is personal data (UU 27/2022): name the column, never echo the value.
        value = "" if column == "nik" or not error.get("value") else f" (nilai: {error['value']})"
        on_progress(f"  baris {error.get('line')}, kolom {column}: {error.get('message')}{value}")
    if len(errors) > ERRORS_SHOWN:
        on_progress(f"  ... dan {_number(len(errors) - ERRORS_SHOWN)} kesalahan lain")
    return counts
