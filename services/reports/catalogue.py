"""The law of a neutrality case, as data and pure functions: the categories of violation (SKB 2022),
the sanctions each kind of person may lawfully receive for a class of violation, who examines and who
decides, whether BKN's personnel-data block can apply, and the administrative remedies after a
decision. No I/O, no clock.

Each rule carries its legal basis in a comment, and `docs/rules.md` lists them for an audit. Where a
rule is a platform choice rather than the letter of a regulation, the comment says so.

Abbreviations used in the comments:
- SKB 2022: Keputusan Bersama MenPANRB, Mendagri, Kepala BKN, Ketua KASN dan Ketua Bawaslu tentang
  Pedoman Pembinaan dan Pengawasan Netralitas Pegawai ASN dalam Penyelenggaraan Pemilu dan Pemilihan
  (2022), and its appendix of violations;
- PP 42/2004 (kode etik PNS, sanksi moral), PP 94/2021 (disiplin PNS), PP 49/2018 (manajemen PPPK),
  PP 11/2017 (manajemen PNS), PP 79/2021 (upaya administratif dan BPASN);
- UU 5/2014 and UU 20/2023 (ASN), UU 23/2014 (pemerintahan daerah), UU 10/2016 (pilkada),
  UU 7/2017 (pemilu). UU 20/2023 replaced UU 5/2014; the implementing PPs above stay in force until
  replaced (UU 20/2023, ketentuan peralihan), so both are cited.

Texts people read are in Bahasa Indonesia: the PPK, the reporter and the public see them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, get_args

from contracts.registry import EmploymentTypeName
from contracts.roles import Role
from services.kit.errors import InvalidInput

EMPLOYMENT_TYPES: tuple[EmploymentTypeName, ...] = get_args(EmploymentTypeName)
PemdaKind = Literal["PROVINCE", "REGENCY", "CITY"]
PEMDA_KINDS: tuple[PemdaKind, ...] = get_args(PemdaKind)

# ---------------------------------------------------------------- categories


class ViolationClass(StrEnum):
    # SKB 2022: the same act may be a breach of the code of ethics or of discipline; the examination
    # decides which, the category only suggests it.
    ETHICS = "etika"  # kode etik: sanksi moral, PP 42/2004 Pasal 15-16
    DISCIPLINE = "disiplin"  # disiplin: PP 94/2021 (PNS), PP 49/2018 (PPPK)


@dataclass(frozen=True)
class Category:
    code: str  # stored in cases and sent in events: never renamed
    name: str  # Bahasa Indonesia, as the rule words the act
    suggested_class: ViolationClass  # what the act usually is; the examination decides
    basis: str  # the rule that forbids the act


_SKB = "SKB 2022, Lampiran"
_PP94_5N = "PP 94/2021 Pasal 5 huruf n"
# The acts the SKB counts as ethics breaches are, when the examination finds them to be discipline
# breaches, "ikut kampanye" of PP 94/2021 Pasal 5 huruf n angka 1.
_ETHICS_OR_CAMPAIGNING = (
    f"{_SKB}; PP 42/2004 Pasal 11 huruf c; {_PP94_5N} angka 1 bila diputus sebagai pelanggaran disiplin"
)

# The appendix of the SKB 2022, in its order, then the acts of PP 94/2021 Pasal 5 huruf n that the
# appendix words differently. The order is part of the interface: forms and reports list the
# categories so.
CATEGORIES: tuple[Category, ...] = (
    Category(
        "alat_peraga_kampanye",
        "Memasang spanduk, baliho, atau alat peraga kampanye lainnya terkait calon",
        ViolationClass.ETHICS,
        _ETHICS_OR_CAMPAIGNING,
    ),
    Category(
        "kampanye_media_sosial",
        "Sosialisasi atau kampanye melalui media sosial untuk calon",
        ViolationClass.ETHICS,
        _ETHICS_OR_CAMPAIGNING,
    ),
    Category(
        "interaksi_akun_kandidat",
        "Membuat posting, komentar, membagikan, menyukai, bergabung, atau mengikuti akun calon "
        "atau tim kampanye",
        ViolationClass.ETHICS,
        _ETHICS_OR_CAMPAIGNING,
    ),
    Category(
        "foto_bersama_kandidat",
        "Berfoto bersama calon atau tim kampanye, atau memperlihatkan simbol keberpihakan "
        "(misalnya gerakan tangan)",
        ViolationClass.ETHICS,
        _ETHICS_OR_CAMPAIGNING,
    ),
    Category(
        "hadir_deklarasi_kampanye",
        "Menghadiri deklarasi, kampanye, atau kegiatan calon",
        ViolationClass.ETHICS,
        _ETHICS_OR_CAMPAIGNING,
    ),
    Category(
        "kampanye_pasangan_tanpa_cuti",
        "Mengikuti kampanye suami atau istri yang menjadi calon tanpa mengambil cuti "
        "di luar tanggungan negara",
        ViolationClass.ETHICS,
        _ETHICS_OR_CAMPAIGNING,
    ),
    Category(
        "anggota_pengurus_parpol",
        "Menjadi anggota atau pengurus partai politik",
        ViolationClass.DISCIPLINE,
        "UU 5/2014 Pasal 9 ayat (2), Pasal 87 ayat (4) huruf c, Pasal 105 ayat (3) huruf c; "
        "UU 20/2023 Pasal 52 ayat (3) huruf c; PP 11/2017 Pasal 250 huruf c; "
        "PP 49/2018 Pasal 52 ayat (3) huruf c",
    ),
    Category(
        "mendekati_parpol",
        "Mendekati partai politik terkait rencana pengusulan diri atau orang lain sebagai bakal calon",
        ViolationClass.DISCIPLINE,
        f"{_SKB}; UU 5/2014 Pasal 9 ayat (2)",
    ),
    Category(
        "mencalonkan_diri",
        "Mencalonkan diri atau bersedia dicalonkan tanpa mengundurkan diri sebagai ASN",
        ViolationClass.DISCIPLINE,
        f"{_SKB}; UU 5/2014 Pasal 119 dan Pasal 123 ayat (3)",
    ),
    Category(
        "kegiatan_keberpihakan",
        "Membuat atau menyelenggarakan kegiatan yang mengarah pada keberpihakan kepada calon, "
        "termasuk pertemuan, ajakan, imbauan, seruan, atau pemberian barang",
        ViolationClass.DISCIPLINE,
        f"{_SKB}; {_PP94_5N} angka 6",
    ),
    Category(
        "tim_kampanye",
        "Menjadi anggota tim kampanye atau tim sukses calon",
        ViolationClass.DISCIPLINE,
        f"{_SKB}; {_PP94_5N} angka 1",
    ),
    Category(
        "tim_ahli_pemenangan_konsultan",
        "Menjadi tim ahli, tim pemenangan, konsultan, atau sebutan lain bagi bakal calon atau calon",
        ViolationClass.DISCIPLINE,
        f"{_SKB}; {_PP94_5N} angka 1 atau angka 6",
    ),
    Category(
        "atribut_partai_pns",
        "Menjadi peserta kampanye dengan menggunakan atribut partai politik atau atribut PNS",
        ViolationClass.DISCIPLINE,
        f"{_SKB}; {_PP94_5N} angka 2",
    ),
    Category(
        "mengerahkan_pns_lain",
        "Menjadi peserta kampanye dengan mengerahkan PNS lain",
        ViolationClass.DISCIPLINE,
        f"{_SKB}; {_PP94_5N} angka 3",
    ),
    Category(
        "fasilitas_negara",
        "Menjadi peserta kampanye dengan menggunakan fasilitas negara",
        ViolationClass.DISCIPLINE,
        f"{_SKB}; {_PP94_5N} angka 4",
    ),
    # The code stays (it is stored in cases and sent in events); only the words are corrected. The
    # rule forbids GIVING a support letter with a copy of one's OWN KTP, not collecting other people's.
    Category(
        "mengumpulkan_ktp",
        "Memberikan surat dukungan kepada calon disertai fotokopi KTP atau Surat Keterangan Tanda Penduduk",
        ViolationClass.DISCIPLINE,
        f"{_SKB}; {_PP94_5N} angka 7",
    ),
    Category(
        "keputusan_menguntungkan_merugikan",
        "Membuat keputusan atau tindakan yang menguntungkan atau merugikan calon "
        "sebelum, selama, atau sesudah masa kampanye",
        ViolationClass.DISCIPLINE,
        f"{_SKB}; {_PP94_5N} angka 5; UU 10/2016 Pasal 71 ayat (1); UU 7/2017 Pasal 283",
    ),
    Category(
        "lainnya",
        "Pelanggaran netralitas lainnya",
        ViolationClass.DISCIPLINE,
        "UU 5/2014 Pasal 2 huruf f dan Pasal 9 ayat (2); SKB 2022",
    ),
)

CATEGORY_BY_CODE: dict[str, Category] = {category.code: category for category in CATEGORIES}

# ---------------------------------------------------------------- sanctions


class SanctionLevel(StrEnum):
    MORAL = "moral"  # PP 42/2004
    LIGHT = "ringan"  # PP 94/2021 Pasal 8 ayat (2)
    MEDIUM = "sedang"  # PP 94/2021 Pasal 8 ayat (3)
    HEAVY = "berat"  # PP 94/2021 Pasal 8 ayat (4); also the dismissals of UU 5/2014 and PP 49/2018
    CONTRACT = "kontrak"  # the work contract of a non-ASN


@dataclass(frozen=True)
class Sanction:
    code: str  # stored in cases and sent in events: never renamed
    name: str  # Bahasa Indonesia, shown on the decision
    level: SanctionLevel
    basis: str  # legal reference, shown on the decision
    months: int | None  # how long the sanction runs, from its start; None when it has no period


_PP42 = "PP 42/2004 tentang Pembinaan Jiwa Korps dan Kode Etik PNS, Pasal 15-16 (sanksi moral)"
_PP94_LIGHT = "PP 94/2021 tentang Disiplin PNS, Pasal 8 ayat (2)"
_PP94_MEDIUM = "PP 94/2021 tentang Disiplin PNS, Pasal 8 ayat (3)"
_PP94_HEAVY = "PP 94/2021 tentang Disiplin PNS, Pasal 8 ayat (4)"
_PNS_PARTY = (
    "UU 5/2014 Pasal 87 ayat (4) huruf c; UU 20/2023 Pasal 52 ayat (3) huruf c; PP 11/2017 Pasal 250 huruf c "
    "(anggota dan/atau pengurus partai politik)"
)
_PPPK_HEAVY = "PP 49/2018 tentang Manajemen PPPK, Pasal 52 ayat (2) (pelanggaran disiplin tingkat berat)"
_PPPK_PARTY = (
    "UU 5/2014 Pasal 105 ayat (3) huruf c; UU 20/2023 Pasal 52 ayat (3) huruf c; "
    "PP 49/2018 Pasal 52 ayat (3) huruf c (anggota dan/atau pengurus partai politik)"
)
_CONTRACT = "Perjanjian kerja pegawai non-ASN, oleh kepala OPD"

SANCTIONS: dict[str, Sanction] = {
    s.code: s
    for s in (
        Sanction(
            "moral_pernyataan_tertutup",
            "Sanksi moral: pernyataan secara tertutup",
            SanctionLevel.MORAL,
            _PP42,
            None,
        ),
        Sanction(
            "moral_pernyataan_terbuka",
            "Sanksi moral: pernyataan secara terbuka",
            SanctionLevel.MORAL,
            _PP42,
            None,
        ),
        Sanction("teguran_lisan", "Teguran lisan", SanctionLevel.LIGHT, _PP94_LIGHT, None),
        Sanction("teguran_tertulis", "Teguran tertulis", SanctionLevel.LIGHT, _PP94_LIGHT, None),
        Sanction(
            "pernyataan_tidak_puas",
            "Pernyataan tidak puas secara tertulis",
            SanctionLevel.LIGHT,
            _PP94_LIGHT,
            None,
        ),
        Sanction(
            "potong_tukin_25_6_bulan",
            "Pemotongan tunjangan kinerja 25% selama 6 bulan",
            SanctionLevel.MEDIUM,
            _PP94_MEDIUM,
            6,
        ),
        Sanction(
            "potong_tukin_25_9_bulan",
            "Pemotongan tunjangan kinerja 25% selama 9 bulan",
            SanctionLevel.MEDIUM,
            _PP94_MEDIUM,
            9,
        ),
        Sanction(
            "potong_tukin_25_12_bulan",
            "Pemotongan tunjangan kinerja 25% selama 12 bulan",
            SanctionLevel.MEDIUM,
            _PP94_MEDIUM,
            12,
        ),
        Sanction(
            "penurunan_jabatan_12_bulan",
            "Penurunan jabatan setingkat lebih rendah selama 12 bulan",
            SanctionLevel.HEAVY,
            _PP94_HEAVY,
            12,
        ),
        Sanction(
            "pembebasan_jabatan_12_bulan",
            "Pembebasan dari jabatan menjadi jabatan pelaksana selama 12 bulan",
            SanctionLevel.HEAVY,
            _PP94_HEAVY,
            12,
        ),
        Sanction(
            "pemberhentian_tidak_atas_permintaan",
            "Pemberhentian dengan hormat tidak atas permintaan sendiri sebagai PNS",
            SanctionLevel.HEAVY,
            _PP94_HEAVY,
            None,
        ),
        Sanction(
            "pemberhentian_tidak_dengan_hormat",
            "Pemberhentian tidak dengan hormat sebagai PNS",
            SanctionLevel.HEAVY,
            _PNS_PARTY,
            None,
        ),
        Sanction(
            "pemutusan_hubungan_perjanjian_kerja",
            "Pemutusan hubungan perjanjian kerja PPPK dengan hormat tidak atas permintaan sendiri",
            SanctionLevel.HEAVY,
            _PPPK_HEAVY,
            None,
        ),
        Sanction(
            "pemutusan_hubungan_perjanjian_kerja_tidak_dengan_hormat",
            "Pemutusan hubungan perjanjian kerja PPPK tidak dengan hormat",
            SanctionLevel.HEAVY,
            _PPPK_PARTY,
            None,
        ),
        Sanction(
            "kontrak_teguran_tertulis",
            "Teguran tertulis berdasarkan perjanjian kerja",
            SanctionLevel.CONTRACT,
            _CONTRACT,
            None,
        ),
        Sanction("kontrak_pemutusan", "Pemutusan perjanjian kerja", SanctionLevel.CONTRACT, _CONTRACT, None),
    )
}

_PARTY_MEMBERSHIP = "anggota_pengurus_parpol"
_PNS_DISMISSAL_PARTY = "pemberhentian_tidak_dengan_hormat"
_PPPK_END_PARTY = "pemutusan_hubungan_perjanjian_kerja_tidak_dengan_hormat"
_PPPK_END = "pemutusan_hubungan_perjanjian_kerja"

# The PP 94/2021 heavy sanctions a PNS may receive for a neutrality breach. The dismissal without
# honour is not among them: the law reserves it for party membership (UU 5/2014 Pasal 87 ayat (4)).
_PNS_HEAVY_CODES = (
    "penurunan_jabatan_12_bulan",
    "pembebasan_jabatan_12_bulan",
    "pemberhentian_tidak_atas_permintaan",
)

# A PPPK has the PNS discipline procedure, but no career to demote or move (platform reading of
# PP 49/2018 Pasal 52 ayat (2), kept from before issue 13): the heavy sanction is ending the contract.
_PPPK_HEAVY_CODES = (_PPPK_END,)


@dataclass(frozen=True)
class _DisciplineLevels:
    levels: frozenset[SanctionLevel]  # MEDIUM and/or HEAVY
    basis: str  # why these levels, shown in the refusal


_MEDIUM = frozenset({SanctionLevel.MEDIUM})
_HEAVY = frozenset({SanctionLevel.HEAVY})
_MEDIUM_OR_HEAVY = frozenset({SanctionLevel.MEDIUM, SanctionLevel.HEAVY})

# The level of hukuman disiplin for each neutrality breach, when the examination decides it is a
# discipline breach. PP 94/2021 fixes the level per act of Pasal 5 huruf n: angka 1-2 (joining a
# campaign, with party or PNS attributes) medium; angka 3-7 heavy (Pasal 14 huruf i). NOTE for the
# audit: the article numbers were checked against secondary sources only (the text of Pasal 13-14
# should be read once more against the Lembaran Negara copy).
_UNNUMBERED = _DisciplineLevels(
    _MEDIUM_OR_HEAVY,
    "hukuman disiplin sedang atau berat sesuai hasil pemeriksaan (PP 94/2021 Pasal 13-14; SKB 2022)",
)
_CAMPAIGNING = _DisciplineLevels(
    _MEDIUM, "hukuman disiplin sedang (PP 94/2021 Pasal 13 jo. Pasal 5 huruf n angka 1: ikut kampanye)"
)
_DISCIPLINE_LEVELS: dict[str, _DisciplineLevels] = {
    **dict.fromkeys(
        (
            "alat_peraga_kampanye",
            "kampanye_media_sosial",
            "interaksi_akun_kandidat",
            "foto_bersama_kandidat",
            "hadir_deklarasi_kampanye",
            "kampanye_pasangan_tanpa_cuti",
            "tim_kampanye",
        ),
        _CAMPAIGNING,
    ),
    "atribut_partai_pns": _DisciplineLevels(
        _MEDIUM,
        "hukuman disiplin sedang (PP 94/2021 Pasal 13 jo. Pasal 5 huruf n angka 2: atribut partai atau PNS)",
    ),
    "mengerahkan_pns_lain": _DisciplineLevels(
        _HEAVY, "hukuman disiplin berat (PP 94/2021 Pasal 14 huruf i jo. Pasal 5 huruf n angka 3)"
    ),
    "fasilitas_negara": _DisciplineLevels(
        _HEAVY, "hukuman disiplin berat (PP 94/2021 Pasal 14 huruf i jo. Pasal 5 huruf n angka 4)"
    ),
    "keputusan_menguntungkan_merugikan": _DisciplineLevels(
        _HEAVY, "hukuman disiplin berat (PP 94/2021 Pasal 14 huruf i jo. Pasal 5 huruf n angka 5)"
    ),
    "kegiatan_keberpihakan": _DisciplineLevels(
        _HEAVY, "hukuman disiplin berat (PP 94/2021 Pasal 14 huruf i jo. Pasal 5 huruf n angka 6)"
    ),
    "mengumpulkan_ktp": _DisciplineLevels(
        _HEAVY, "hukuman disiplin berat (PP 94/2021 Pasal 14 huruf i jo. Pasal 5 huruf n angka 7)"
    ),
    # Platform choice: these acts are not one numbered act of Pasal 5 huruf n. An expert or winning
    # team member may be "ikut kampanye" (angka 1, medium) or organising partisan activity (angka 6,
    # heavy); approaching a party, running without resigning and the rest are left to the
    # examination between medium and heavy, as before issue 13.
    **dict.fromkeys(
        ("tim_ahli_pemenangan_konsultan", "mendekati_parpol", "mencalonkan_diri", "lainnya"), _UNNUMBERED
    ),
}


@dataclass(frozen=True)
class _Lawful:
    sanctions: list[Sanction]
    why: str  # Bahasa Indonesia: the rule that makes these, and only these, lawful


def _by_codes(codes: Collection[str]) -> list[Sanction]:
    return [s for s in SANCTIONS.values() if s.code in codes]  # catalogue order, whatever `codes`' order


def _by_levels(levels: Collection[SanctionLevel]) -> list[Sanction]:
    return [s for s in SANCTIONS.values() if s.level in levels]


def _check_employment_type(employment_type: str) -> EmploymentTypeName:
    if employment_type not in EMPLOYMENT_TYPES:
        raise ValueError(
            f"jenis kepegawaian tidak dikenal: {employment_type} ({', '.join(EMPLOYMENT_TYPES)})"
        )
    return employment_type


_NOT_ASN = (
    "terlapor adalah pejabat negara (kepala daerah atau wakil kepala daerah hasil pemilihan), bukan "
    "pegawai ASN, sehingga tidak ada sanksi ASN yang dapat dijatuhkan. Pelanggaran netralitasnya "
    "ditangani Bawaslu (UU 10/2016 Pasal 71; UU 7/2017 Pasal 281-283) dan sanksinya oleh Menteri Dalam "
    "Negeri untuk gubernur, atau oleh gubernur selaku wakil Pemerintah Pusat untuk bupati/wali kota "
    "(UU 23/2014 Pasal 76-78); kasus diteruskan kepada pejabat tersebut"
)


def _lawful(employment_type: str, violation_class: str, category: Category) -> _Lawful:
    employment_type = _check_employment_type(employment_type)
    violation_class = ViolationClass(violation_class)  # plain strings, as stored, are accepted
    if employment_type == "PEJABAT_NEGARA":
        # UU 5/2014 Pasal 1 angka 1-4 and Pasal 6: ASN are PNS and PPPK; an elected regional head is
        # a pejabat negara (UU 5/2014 Pasal 122 huruf l-m), outside PP 42/2004, PP 94/2021, PP 49/2018.
        return _Lawful([], _NOT_ASN)
    if employment_type == "NON_ASN":
        # Platform rule kept from before issue 13: no ASN regulation applies to non-ASN staff; the
        # head of the OPD acts under the work contract, whatever the class of the violation.
        return _Lawful(
            _by_levels({SanctionLevel.CONTRACT}),
            "pegawai non-ASN tidak tunduk pada PP 42/2004 maupun PP 94/2021; kepala OPD menjatuhkan sanksi "
            "berdasarkan perjanjian kerja",
        )
    if category.code == _PARTY_MEMBERSHIP:
        # The law leaves no choice and no class: membership or office in a party ends the service
        # without honour. An examination that finds it has found a discipline breach, so a recorded
        # "ethics" class does not soften it.
        if employment_type == "PNS":
            return _Lawful(
                _by_codes({_PNS_DISMISSAL_PARTY}),
                "PNS yang menjadi anggota dan/atau pengurus partai politik diberhentikan tidak dengan hormat "
                "(UU 5/2014 Pasal 87 ayat (4) huruf c; UU 20/2023 Pasal 52 ayat (3) huruf c; PP 11/2017 "
                "Pasal 250 huruf c), apa pun kelas pelanggaran yang dicatat",
            )
        return _Lawful(
            _by_codes({_PPPK_END_PARTY}),
            "perjanjian kerja PPPK yang menjadi anggota dan/atau pengurus partai politik diputus "
            "tidak dengan hormat (UU 5/2014 Pasal 105 ayat (3) huruf c; UU 20/2023 Pasal 52 ayat (3) "
            "huruf c; PP 49/2018 Pasal 52 ayat (3) huruf c), apa pun kelas pelanggaran yang dicatat",
        )
    if violation_class is ViolationClass.ETHICS:
        # PP 42/2004 Pasal 15-16: a breach of the code of ethics gets a moral sanction, a closed or an
        # open statement. The code of ethics binds every ASN (UU 5/2014 Pasal 5), so a PPPK too.
        return _Lawful(
            _by_levels({SanctionLevel.MORAL}),
            "pelanggaran kode etik hanya dikenai sanksi moral (PP 42/2004 Pasal 15-16)",
        )
    discipline = _DISCIPLINE_LEVELS.get(category.code, _UNNUMBERED)
    medium = _by_levels({SanctionLevel.MEDIUM}) if SanctionLevel.MEDIUM in discipline.levels else []
    if employment_type == "PNS":
        heavy = _by_codes(_PNS_HEAVY_CODES) if SanctionLevel.HEAVY in discipline.levels else []
        return _Lawful(medium + heavy, f"pelanggaran ini diancam {discipline.basis}")
    # PPPK: PP 49/2018 applies the PNS discipline mutatis mutandis; the heavy sanction is ending the
    # contract with honour, not at the PPPK's own request.
    heavy = _by_codes(_PPPK_HEAVY_CODES) if SanctionLevel.HEAVY in discipline.levels else []
    return _Lawful(
        medium + heavy,
        f"pelanggaran ini diancam {discipline.basis}; bagi PPPK hukuman berat berupa pemutusan hubungan "
        "perjanjian kerja (PP 49/2018 Pasal 52 ayat (2))",
    )


def legal_sanctions(
    employment_type: EmploymentTypeName, violation_class: ViolationClass, category: Category
) -> list[Sanction]:
    """The sanctions a decision may impose on this kind of person for a violation of this category,
    of the class the examination decided, in catalogue order. Empty for an elected regional head,
    who is not an ASN."""
    return _lawful(employment_type, violation_class, category).sanctions


class IllegalSanction(InvalidInput):
    """The sanction is not lawful for the subject and the violation: a 422 on the `sanction` field."""

    def __init__(self, message: str, legal: list[str]) -> None:
        super().__init__([{"field": "sanction", "message": message}])
        self.message = message
        self.legal = legal  # the codes a decision may use instead; empty when none may


def check_sanction(
    code: str, employment_type: EmploymentTypeName, violation_class: ViolationClass, category: Category
) -> Sanction:
    """The sanction named by `code`, if it is lawful here; otherwise IllegalSanction saying why and
    listing what is."""
    lawful = _lawful(employment_type, violation_class, category)
    for sanction in lawful.sanctions:
        if sanction.code == code:
            return sanction
    codes = [s.code for s in lawful.sanctions]
    context = (
        f"{'pejabat negara' if employment_type == 'PEJABAT_NEGARA' else 'pegawai ' + employment_type} "
        f"dengan pelanggaran '{category.code}' ({ViolationClass(violation_class).value})"
    )
    if code not in SANCTIONS:
        reason = f"Sanksi '{code}' tidak dikenal"
    else:
        reason = f"Sanksi '{code}' ({SANCTIONS[code].name}) tidak sah untuk {context}"
    if codes:
        message = f"{reason}: {lawful.why}. Sanksi yang sah untuk {context}: {', '.join(codes)}"
    else:
        message = f"{reason}: {lawful.why}"
    raise IllegalSanction(message, codes)


# ---------------------------------------------------------------- who examines and who decides


@dataclass(frozen=True)
class SubjectFacts:
    """What the registry knows of the accused that decides the route of the case."""

    employment_type: EmploymentTypeName
    leader_office: str | None  # "SEKDA" for a regional secretary; None for everyone else
    pemda_kind: PemdaKind | None  # the kind of the subject's pemda, needed for a Sekda or a regional head


@dataclass(frozen=True)
class Authority:
    role: Role
    label: str  # Bahasa Indonesia, shown to handlers and in escalations
    basis: str


SEKDA = "SEKDA"

_PPK = Authority(
    Role.PPK,
    "Pejabat Pembina Kepegawaian (PPK)",
    # The pemda's PPK is the regional head (UU 5/2014 Pasal 53 huruf d-e; PP 11/2017 Pasal 3); PP 94/2021
    # names the officials authorised to sanction in Bab IV (Pasal 18-23; numbers to verify).
    "UU 5/2014 Pasal 53; PP 94/2021 Bab IV (pejabat yang berwenang menghukum)",
)
_INSPEKTORAT = Authority(
    Role.INSPEKTORAT,
    "Inspektorat daerah (unsur pengawasan tim pemeriksa)",
    "PP 94/2021 Pasal 27 (tim pemeriksa: atasan langsung, unsur pengawasan, unsur kepegawaian)",
)
_BKPSDM = Authority(
    Role.BKPSDM,
    "BKPSDM (unsur kepegawaian tim pemeriksa)",
    "PP 94/2021 Pasal 27 (tim pemeriksa: atasan langsung, unsur pengawasan, unsur kepegawaian)",
)
_KEPALA_OPD = Authority(
    Role.KEPALA_OPD,
    "Kepala OPD (perjanjian kerja)",
    # Platform rule: a non-ASN is bound to the pemda by a work contract signed by the head of the OPD,
    # not by an ASN appointment, so the PPK's disciplinary power (PP 94/2021) does not reach them.
    "Perjanjian kerja pegawai non-ASN; bukan kewenangan PPK menurut PP 94/2021",
)
_GUBERNUR_FOR_SEKDA = Authority(
    Role.GUBERNUR,
    "Gubernur selaku wakil Pemerintah Pusat (Sekda kabupaten/kota)",
    # A regency or city Sekda (JPT pratama) is appointed by the Governor as the central government's
    # representative, on the regional head's proposal; the discipline follows the appointment.
    "UU 23/2014 Pasal 214 ayat (2); PP 94/2021 Bab IV (pejabat yang berwenang menghukum JPT pratama)",
)
_KEMENDAGRI_FOR_SEKDA = Authority(
    Role.KEMENDAGRI,
    "Menteri Dalam Negeri (Sekda provinsi)",
    # A provincial Sekda (JPT madya) is appointed by the President on the Governor's proposal through
    # the Minister of Home Affairs; the platform routes the case to the Minister, who acts or proposes
    # to the President where the sanction is the President's (dismissal of a JPT madya).
    "UU 23/2014 Pasal 214 ayat (1); PP 94/2021 Bab IV (pejabat yang berwenang menghukum JPT madya)",
)
_GUBERNUR_FOR_HEAD = Authority(
    Role.GUBERNUR,
    "Gubernur selaku wakil Pemerintah Pusat (pembinaan dan pengawasan bupati/wali kota)",
    "UU 23/2014 Pasal 76-78 dan Pasal 91",
)
_KEMENDAGRI_FOR_HEAD = Authority(
    Role.KEMENDAGRI,
    "Menteri Dalam Negeri (pembinaan dan pengawasan gubernur)",
    "UU 23/2014 Pasal 76-78",
)


def _is_sekda(subject: SubjectFacts) -> bool:
    return subject.employment_type in ("PNS", "PPPK") and (subject.leader_office or "").upper() == SEKDA


def _above_the_pemda(subject: SubjectFacts, regency: Authority, province: Authority) -> Authority:
    kind = subject.pemda_kind
    if kind not in PEMDA_KINDS:
        raise ValueError(
            f"jenis pemda terlapor ({kind}) harus PROVINCE, REGENCY atau CITY untuk menentukan pejabat "
            "yang berwenang di atas pemda"
        )
    return province if kind == "PROVINCE" else regency


def examiners_for(subject: SubjectFacts) -> tuple[Authority, ...]:
    """Who may record the examination of this subject, the first being the one the law names."""
    _check_employment_type(subject.employment_type)
    if subject.employment_type == "PEJABAT_NEGARA":
        # Platform choice: an elected head is examined by whoever supervises them, not by the pemda's
        # own Inspektorat, which answers to the same head.
        return (_above_the_pemda(subject, _GUBERNUR_FOR_HEAD, _KEMENDAGRI_FOR_HEAD),)
    if _is_sekda(subject):
        # Issue 13: the pemda's Inspektorat and BKPSDM answer to the Sekda, so the examination sits with
        # the official who decides.
        return (_above_the_pemda(subject, _GUBERNUR_FOR_SEKDA, _KEMENDAGRI_FOR_SEKDA),)
    if subject.employment_type == "NON_ASN":
        # The OPD head examines under the contract. Inspektorat and BKPSDM keep the examination they
        # could record before issue 13 (the pemda's supervision and the neutrality task force still
        # reach every person working for it; platform choice).
        return (_KEPALA_OPD, _INSPEKTORAT, _BKPSDM)
    return (_INSPEKTORAT, _BKPSDM)


def decider_for(subject: SubjectFacts) -> Authority:
    """Who may decide the case of this subject; also the one a missed decision deadline escalates."""
    _check_employment_type(subject.employment_type)
    if subject.employment_type == "PEJABAT_NEGARA":
        return _above_the_pemda(subject, _GUBERNUR_FOR_HEAD, _KEMENDAGRI_FOR_HEAD)
    if _is_sekda(subject):
        return _above_the_pemda(subject, _GUBERNUR_FOR_SEKDA, _KEMENDAGRI_FOR_SEKDA)
    if subject.employment_type == "NON_ASN":
        return _KEPALA_OPD
    return _PPK


def data_block_applies(subject: SubjectFacts) -> bool:
    """Whether BKN's personnel-data block can end the escalation of a missed decision. The block acts
    on the subject's SIASN record, which only PNS and PPPK have (UU 5/2014 Pasal 127-128 on the ASN
    information system); for anyone else there is nothing to block."""
    _check_employment_type(subject.employment_type)
    return subject.employment_type in ("PNS", "PPPK")


# ---------------------------------------------------------------- remedies after a decision


class Remedy(StrEnum):
    OBJECTION = "keberatan"
    APPEAL = "banding_administratif"


class RemedyOutcome(StrEnum):
    UPHELD = "dikuatkan"
    CHANGED = "diubah"
    CANCELLED = "dibatalkan"


REMEDY_LABELS: dict[Remedy, str] = {Remedy.OBJECTION: "Keberatan", Remedy.APPEAL: "Banding administratif"}
REMEDY_OUTCOME_LABELS: dict[RemedyOutcome, str] = {
    RemedyOutcome.UPHELD: "Sanksi dikuatkan",
    RemedyOutcome.CHANGED: "Sanksi diubah",
    RemedyOutcome.CANCELLED: "Sanksi dibatalkan",
}


@dataclass(frozen=True)
class RemedyRule:
    remedy: Remedy
    authority_label: str  # who decides the remedy, in Bahasa Indonesia
    filing_days: int  # working days (hari kerja) from the day the subject receives the decision
    basis: str


# UU 5/2014 Pasal 129 ayat (2)-(4): keberatan to the superior of the official who imposed the
# sanction, banding administratif to the BPASN. PP 79/2021 splits them by object: keberatan for
# decisions other than a dismissal (PNS) or the end of a contract (PPPK), banding for those.
# NOTE for the audit: the 14 working days of both were not checked against the text of PP 79/2021;
# PP 94/2021 and PP 79/2021 should be read for the exact period and its start.
_OBJECTION = RemedyRule(
    Remedy.OBJECTION,
    "Atasan pejabat yang berwenang menghukum",
    14,
    "UU 5/2014 Pasal 129 ayat (3); PP 79/2021 (keberatan); PP 94/2021 Bab upaya administratif",
)
_APPEAL = RemedyRule(
    Remedy.APPEAL,
    "Badan Pertimbangan Aparatur Sipil Negara (BPASN)",
    14,
    "UU 5/2014 Pasal 129 ayat (4); PP 79/2021 (banding administratif kepada BPASN)",
)
_DISMISSALS = frozenset(
    {"pemberhentian_tidak_atas_permintaan", _PNS_DISMISSAL_PARTY, _PPPK_END, _PPPK_END_PARTY}
)


def remedies_for(sanction: Sanction, employment_type: EmploymentTypeName) -> tuple[RemedyRule, ...]:
    """The administrative remedies open against this sanction, empty when the decision is final."""
    employment_type = _check_employment_type(employment_type)
    if employment_type not in ("PNS", "PPPK"):
        # Upaya administratif is a remedy of ASN (UU 5/2014 Pasal 129); a non-ASN disputes the work
        # contract outside this procedure, and an elected head has no ASN sanction to contest.
        return ()
    if sanction.code in _DISMISSALS:
        return (_APPEAL,)
    if sanction.level in (SanctionLevel.MEDIUM, SanctionLevel.HEAVY):
        return (_OBJECTION,)
    # Moral sanctions (PP 42/2004 provides no remedy) and light sanctions (PP 94/2021 opens upaya
    # administratif to medium and heavy ones only; platform reading to verify) are final.
    return ()


def remedy_outcomes() -> tuple[RemedyOutcome, ...]:
    """What a remedy may end in: the sanction upheld, changed to another, or cancelled
    (PP 79/2021: the deciding authority may uphold, change or cancel the decision)."""
    return tuple(RemedyOutcome)


class IllegalRemedy(InvalidInput):
    """The remedy is not open against this sanction: a 422 on the `remedy` field."""

    def __init__(self, message: str, open_remedies: list[str]) -> None:
        super().__init__([{"field": "remedy", "message": message}])
        self.message = message
        self.open_remedies = open_remedies  # the remedy values open instead; empty when the decision is final


def check_remedy(remedy: Remedy, sanction: Sanction, employment_type: EmploymentTypeName) -> RemedyRule:
    """The rule of `remedy` against `sanction`, if that remedy is open; otherwise IllegalRemedy saying
    which is (a dismissal is appealed to the BPASN, not objected to) or that the decision is final.
    An outcome that changes the sanction must still pass `check_sanction`: the deciding authority may
    make it lighter or heavier, but not unlawful."""
    remedy = Remedy(remedy)
    rules = remedies_for(sanction, employment_type)
    for rule in rules:
        if rule.remedy is remedy:
            return rule
    what = f"{REMEDY_LABELS[remedy].lower()} ({remedy.value})"
    against = f"sanksi '{sanction.code}' ({sanction.name}) bagi {employment_type}"
    if rules:
        instead = ", ".join(
            f"{REMEDY_LABELS[r.remedy].lower()} ({r.remedy.value}) kepada {r.authority_label}" for r in rules
        )
        message = (
            f"Upaya administratif {what} tidak dapat diajukan terhadap {against}; "
            f"yang dapat diajukan: {instead}"
        )
    else:
        message = (
            f"Upaya administratif {what} tidak dapat diajukan terhadap {against}: "
            "tidak ada upaya administratif terhadap sanksi ini"
        )
    raise IllegalRemedy(message, [r.remedy.value for r in rules])
