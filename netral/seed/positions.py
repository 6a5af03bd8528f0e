"""Positions staff hold in each kind of OPD, with the titles and degrees that go with them."""

from __future__ import annotations

from dataclasses import dataclass

# (position, academic prefix, possible degrees); "" in degrees means no degree.
Post = tuple[str, str, tuple[str, ...]]

BACHELOR = ("S.E.", "S.Sos.", "S.H.", "S.Kom.", "S.T.", "S.AP.", "S.I.Kom.", "S.M.", "S.Ak.", "S.IP.")
CLERK = ("", "", "", "A.Md.", "S.E.", "S.Sos.")


@dataclass(frozen=True)
class Pool:
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
    ("Pengadministrasi Umum", "", CLERK),
    ("Pengadministrasi Perkantoran", "", CLERK),
    ("Analis Kebijakan Ahli Pertama", "", BACHELOR),
    ("Analis Kebijakan Ahli Muda", "", ("S.Sos., M.Si.", "S.E., M.M.", "S.H., M.H.", "S.IP.")),
    ("Pranata Komputer Ahli Pertama", "", ("S.Kom.", "S.T.")),
    ("Arsiparis Terampil", "", ("", "A.Md.")),
    ("Pengelola Keuangan", "", ("S.E.", "S.Ak.", "A.Md.")),
    ("Pengelola Barang Milik Daerah", "", ("", "S.E.", "A.Md.")),
)

POOLS: dict[str, Pool] = {
    "umum": Pool(
        pns=_OFFICE,
        pppk=(
            ("Pranata Komputer Ahli Pertama", "", ("S.Kom.", "S.T.")),
            ("Arsiparis Terampil", "", ("", "A.Md.")),
            ("Penata Layanan Operasional", "", BACHELOR),
            ("Pengelola Layanan Operasional", "", CLERK),
        ),
        non_asn=_NON_ASN_GENERAL,
    ),
    "pendidikan": Pool(
        pns=(
            ("Guru Ahli Pertama", "", ("S.Pd.", "S.Pd.", "S.Pd.I.", "S.Si.")),
            ("Guru Ahli Muda", "", ("S.Pd.", "S.Pd.", "S.Pd., M.Pd.")),
            ("Guru Ahli Muda", "", ("S.Pd.", "S.Pd.I.", "S.Pd., M.Pd.")),
            ("Guru Ahli Madya", "", ("S.Pd.", "S.Pd., M.Pd.")),
            ("Pengawas Sekolah Ahli Madya", "", ("S.Pd., M.Pd.", "M.Pd.")),
            ("Pengadministrasi Umum", "", CLERK),
        ),
        pppk=(
            ("Guru Ahli Pertama", "", ("S.Pd.", "S.Pd.", "S.Pd.I.", "S.Kom.")),
            ("Guru Ahli Pertama", "", ("S.Pd.", "S.Pd.", "S.Pd.I.", "S.Kom.")),
            ("Tenaga Kependidikan", "", CLERK),
        ),
        non_asn=(
            ("Guru Honorer", "", ("S.Pd.", "S.Pd.I.", "")),
            ("Guru Honorer", "", ("S.Pd.", "S.Pd.I.", "")),
            ("Operator Sekolah", "", ("", "A.Md.", "S.Kom.")),
            ("Tenaga Kependidikan Honorer", "", ("", "A.Md.")),
            ("Penjaga Sekolah", "", ("",)),
        ),
    ),
    "kesehatan": Pool(
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
            ("Tenaga Administrasi", "", CLERK),
            ("Pengemudi Ambulans", "", ("",)),
            ("Petugas Kebersihan", "", ("",)),
        ),
    ),
    "kepegawaian": Pool(
        pns=(
            ("Analis Kepegawaian Ahli Pertama", "", ("S.Sos.", "S.AP.", "S.Psi.", "S.H.")),
            ("Analis Kepegawaian Ahli Muda", "", ("S.Sos., M.Si.", "S.AP.", "S.Psi.")),
            ("Pranata Sumber Daya Manusia Aparatur Terampil", "", ("", "A.Md.")),
            ("Pranata Komputer Ahli Pertama", "", ("S.Kom.",)),
            ("Pengadministrasi Umum", "", CLERK),
        ),
        pppk=(
            ("Analis Kepegawaian Ahli Pertama", "", ("S.Sos.", "S.AP.", "S.Psi.")),
            ("Pranata Komputer Ahli Pertama", "", ("S.Kom.",)),
        ),
        non_asn=_NON_ASN_GENERAL,
    ),
    "pengawasan": Pool(
        pns=(
            ("Auditor Ahli Pertama", "", ("S.E.", "S.Ak.")),
            ("Auditor Ahli Muda", "", ("S.E., M.Ak.", "S.Ak.", "S.E.")),
            (
                "Pengawas Penyelenggaraan Urusan Pemerintahan di Daerah Ahli Pertama",
                "",
                ("S.H.", "S.IP.", "S.Sos."),
            ),
            ("Pengadministrasi Umum", "", CLERK),
        ),
        pppk=(("Auditor Ahli Pertama", "", ("S.E.", "S.Ak.")),),
        non_asn=_NON_ASN_GENERAL,
    ),
    "satpol": Pool(
        pns=(
            ("Polisi Pamong Praja Terampil", "", ("", "", "A.Md.")),
            ("Polisi Pamong Praja Ahli Pertama", "", ("S.H.", "S.Sos.")),
            ("Pengadministrasi Umum", "", CLERK),
        ),
        pppk=(("Polisi Pamong Praja Terampil", "", ("", "A.Md.")),),
        non_asn=(
            ("Anggota Satuan Perlindungan Masyarakat", "", ("",)),
            ("Petugas Ketertiban", "", ("",)),
            ("Tenaga Administrasi", "", CLERK),
        ),
    ),
    "keuangan": Pool(
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
    "perencanaan": Pool(
        pns=(
            ("Perencana Ahli Pertama", "", ("S.T.", "S.E.", "S.P.W.K.")),
            ("Perencana Ahli Muda", "", ("S.T., M.T.", "S.E., M.Si.", "S.P.W.K.")),
            ("Statistisi Ahli Pertama", "", ("S.Si.", "S.Stat.")),
            ("Analis Kebijakan Ahli Pertama", "", BACHELOR),
        ),
        pppk=(("Statistisi Ahli Pertama", "", ("S.Si.", "S.Stat.")),),
        non_asn=_NON_ASN_GENERAL,
    ),
    "teknik": Pool(
        pns=(
            ("Teknik Jalan dan Jembatan Ahli Pertama", "", ("S.T.",)),
            ("Teknik Pengairan Ahli Pertama", "", ("S.T.",)),
            ("Penata Ruang Ahli Pertama", "", ("S.T.", "S.P.W.K.")),
            ("Pengawas Lapangan", "", ("", "A.Md.T.")),
            ("Pengadministrasi Umum", "", CLERK),
        ),
        pppk=(("Teknik Jalan dan Jembatan Ahli Pertama", "", ("S.T.",)),),
        non_asn=(
            ("Petugas Lapangan", "", ("",)),
            ("Tenaga Teknis Honorer", "", ("", "A.Md.T.", "S.T.")),
            ("Pengemudi", "", ("",)),
            ("Tenaga Administrasi", "", CLERK),
        ),
    ),
    "pertanian": Pool(
        pns=(
            ("Penyuluh Pertanian Ahli Pertama", "", ("S.P.", "S.Pt.", "S.Pi.")),
            ("Penyuluh Pertanian Terampil", "", ("", "A.Md.")),
            ("Pengawas Mutu Hasil Pertanian Ahli Pertama", "", ("S.P.", "S.TP.")),
            ("Medik Veteriner Ahli Pertama", "drh.", ("",)),
            ("Pengadministrasi Umum", "", CLERK),
        ),
        pppk=(("Penyuluh Pertanian Ahli Pertama", "", ("S.P.", "S.Pt.")),),
        non_asn=(
            ("Tenaga Harian Lepas Penyuluh", "", ("", "S.P.")),
            ("Tenaga Administrasi", "", CLERK),
        ),
    ),
}


LEADER_DEGREES = (
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
MANAGER_DEGREES = LEADER_DEGREES + BACHELOR + ("S.STP.", "S.Pd.")
HEALTH_LEADER_DEGREES = ("M.Kes.", "M.K.M.", "Sp.PD.", "M.M.R.S.", "M.Kes.")
