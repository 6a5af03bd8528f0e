"""The shape of a pemda: provinces, kabupaten/kota, and the OPDs each one runs."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class OpdSpec:
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


OPDS: tuple[OpdSpec, ...] = (
    OpdSpec(
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
    OpdSpec(
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
    OpdSpec(
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
    OpdSpec(
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
    OpdSpec(
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
    OpdSpec(
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
    OpdSpec(
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
    OpdSpec(
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
    OpdSpec(
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
    OpdSpec(
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
    OpdSpec(
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
    OpdSpec(
        "Dinas Pekerjaan Umum dan Penataan Ruang",
        1.5,
        ("Bidang Bina Marga", "Bidang Sumber Daya Air", "Bidang Cipta Karya", "Bidang Penataan Ruang"),
        "teknik",
    ),
    OpdSpec(
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
    OpdSpec(
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
    OpdSpec(
        "Dinas Perhubungan",
        1,
        ("Bidang Lalu Lintas", "Bidang Angkutan", "Bidang Prasarana", "Bidang Pengendalian dan Operasional"),
        "teknik",
    ),
    OpdSpec(
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
    OpdSpec(
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
    OpdSpec(
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
    OpdSpec(
        "Badan Pendapatan Daerah",
        1,
        (
            "Bidang Pendataan dan Penetapan",
            "Bidang Penagihan",
            "Bidang Pengembangan dan Pengendalian Pendapatan",
        ),
        "keuangan",
    ),
    OpdSpec(
        "Badan Penanggulangan Bencana Daerah",
        1,
        (
            "Bidang Pencegahan dan Kesiapsiagaan",
            "Bidang Kedaruratan dan Logistik",
            "Bidang Rehabilitasi dan Rekonstruksi",
        ),
        "umum",
    ),
    OpdSpec(
        "Dinas Perumahan dan Kawasan Permukiman",
        1,
        ("Bidang Perumahan", "Bidang Kawasan Permukiman", "Bidang Prasarana, Sarana dan Utilitas Umum"),
        "teknik",
    ),
    OpdSpec(
        "Dinas Tenaga Kerja",
        1,
        (
            "Bidang Pelatihan dan Produktivitas",
            "Bidang Penempatan Tenaga Kerja",
            "Bidang Hubungan Industrial dan Jaminan Sosial",
        ),
        "umum",
    ),
    OpdSpec(
        "Dinas Koperasi dan Usaha Mikro",
        1,
        ("Bidang Kelembagaan Koperasi", "Bidang Pengawasan Koperasi", "Bidang Pemberdayaan Usaha Mikro"),
        "umum",
    ),
    OpdSpec(
        "Dinas Perindustrian dan Perdagangan",
        1,
        ("Bidang Perindustrian", "Bidang Perdagangan", "Bidang Metrologi Legal"),
        "umum",
    ),
    OpdSpec(
        "Dinas Pemberdayaan Perempuan dan Perlindungan Anak",
        1,
        ("Bidang Kesetaraan Gender", "Bidang Perlindungan Perempuan", "Bidang Pemenuhan Hak Anak"),
        "umum",
    ),
    OpdSpec(
        "Dinas Pengendalian Penduduk dan Keluarga Berencana",
        1,
        (
            "Bidang Pengendalian Penduduk",
            "Bidang Keluarga Berencana",
            "Bidang Ketahanan dan Kesejahteraan Keluarga",
        ),
        "umum",
    ),
    OpdSpec(
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
    OpdSpec(
        "Dinas Ketahanan Pangan",
        1,
        (
            "Bidang Ketersediaan Pangan",
            "Bidang Distribusi dan Cadangan Pangan",
            "Bidang Konsumsi dan Keamanan Pangan",
        ),
        "pertanian",
    ),
    OpdSpec(
        "Dinas Peternakan dan Kesehatan Hewan",
        1,
        (
            "Bidang Produksi Peternakan",
            "Bidang Kesehatan Hewan",
            "Bidang Kesehatan Masyarakat Veteriner",
        ),
        "pertanian",
    ),
    OpdSpec(
        "Dinas Kelautan dan Perikanan",
        1,
        (
            "Bidang Perikanan Budidaya",
            "Bidang Perikanan Tangkap",
            "Bidang Pengolahan dan Pemasaran Hasil Perikanan",
        ),
        "pertanian",
    ),
    OpdSpec(
        "Dinas Pemuda dan Olahraga",
        1,
        ("Bidang Kepemudaan", "Bidang Olahraga", "Bidang Sarana dan Prasarana Olahraga"),
        "umum",
    ),
    OpdSpec(
        "Dinas Pariwisata dan Kebudayaan",
        1,
        ("Bidang Destinasi Pariwisata", "Bidang Pemasaran Pariwisata", "Bidang Kebudayaan"),
        "umum",
    ),
    OpdSpec(
        "Dinas Perpustakaan dan Kearsipan",
        1,
        ("Bidang Layanan Perpustakaan", "Bidang Pengembangan Perpustakaan", "Bidang Kearsipan"),
        "umum",
    ),
    OpdSpec(
        "Dinas Pemberdayaan Masyarakat dan Desa",
        1,
        ("Bidang Pemerintahan Desa", "Bidang Pemberdayaan Masyarakat", "Bidang Ekonomi dan Usaha Desa"),
        "umum",
    ),
    OpdSpec(
        "Badan Riset dan Inovasi Daerah",
        0.5,
        ("Bidang Riset", "Bidang Inovasi Daerah"),
        "perencanaan",
    ),
)
