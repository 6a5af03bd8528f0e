"""The law of a neutrality case in services/reports/catalogue.py: categories, sanctions by class and
employment type, who examines and decides, the data block, and the remedies after a decision."""

from __future__ import annotations

from typing import get_args

import pytest

from contracts.registry import EmploymentTypeName
from contracts.roles import Role
from services.kit.errors import InvalidInput
from services.reports.catalogue import (
    CATEGORIES,
    CATEGORY_BY_CODE,
    SANCTIONS,
    Authority,
    Category,
    IllegalRemedy,
    IllegalSanction,
    Remedy,
    RemedyOutcome,
    SanctionLevel,
    SubjectFacts,
    ViolationClass,
    check_remedy,
    check_sanction,
    data_block_applies,
    decider_for,
    examiners_for,
    legal_sanctions,
    remedies_for,
    remedy_outcomes,
)

ETHICS, DISCIPLINE = ViolationClass.ETHICS, ViolationClass.DISCIPLINE
CLASSES = list(ViolationClass)
ASN: list[EmploymentTypeName] = ["PNS", "PPPK"]

MORAL = ["moral_pernyataan_tertutup", "moral_pernyataan_terbuka"]
LIGHT = ["teguran_lisan", "teguran_tertulis", "pernyataan_tidak_puas"]
MEDIUM = ["potong_tukin_25_6_bulan", "potong_tukin_25_9_bulan", "potong_tukin_25_12_bulan"]
PNS_HEAVY = [
    "penurunan_jabatan_12_bulan",
    "pembebasan_jabatan_12_bulan",
    "pemberhentian_tidak_atas_permintaan",
]
PNS_PARTY = "pemberhentian_tidak_dengan_hormat"
PPPK_END = "pemutusan_hubungan_perjanjian_kerja"
PPPK_PARTY = "pemutusan_hubungan_perjanjian_kerja_tidak_dengan_hormat"
CONTRACT = ["kontrak_teguran_tertulis", "kontrak_pemutusan"]

PARTY = CATEGORY_BY_CODE["anggota_pengurus_parpol"]
PHOTO = CATEGORY_BY_CODE["foto_bersama_kandidat"]
TEAM = CATEGORY_BY_CODE["tim_kampanye"]
KTP = CATEGORY_BY_CODE["mengumpulkan_ktp"]
OTHER = CATEGORY_BY_CODE["lainnya"]

# The categories the SKB counts as ethics by default: the same acts may be found discipline breaches.
SKB_ETHICS_CODES = [
    "alat_peraga_kampanye",
    "kampanye_media_sosial",
    "interaksi_akun_kandidat",
    "foto_bersama_kandidat",
    "hadir_deklarasi_kampanye",
    "kampanye_pasangan_tanpa_cuti",
]
# PP 94/2021 Pasal 5 huruf n angka 1-2: medium; angka 3-7: heavy.
MEDIUM_ONLY_CODES = [*SKB_ETHICS_CODES, "tim_kampanye", "atribut_partai_pns"]
HEAVY_ONLY_CODES = [
    "mengerahkan_pns_lain",
    "fasilitas_negara",
    "keputusan_menguntungkan_merugikan",
    "kegiatan_keberpihakan",
    "mengumpulkan_ktp",
]
MEDIUM_OR_HEAVY_CODES = ["tim_ahli_pemenangan_konsultan", "mendekati_parpol", "mencalonkan_diri", "lainnya"]


def codes(employment_type: str, violation_class: ViolationClass, category: Category) -> list[str]:
    return [s.code for s in legal_sanctions(employment_type, violation_class, category)]  # type: ignore[arg-type]


# ---------------------------------------------------------------- categories


def test_existing_category_codes_are_kept_in_order_and_new_ones_added() -> None:
    before_issue_13 = [
        "alat_peraga_kampanye",
        "kampanye_media_sosial",
        "interaksi_akun_kandidat",
        "foto_bersama_kandidat",
        "hadir_deklarasi_kampanye",
        "kampanye_pasangan_tanpa_cuti",
        "anggota_pengurus_parpol",
        "mencalonkan_diri",
        "kegiatan_keberpihakan",
        "tim_kampanye",
        "mengumpulkan_ktp",
        "keputusan_menguntungkan_merugikan",
        "lainnya",
    ]
    all_codes = [c.code for c in CATEGORIES]
    assert [c for c in all_codes if c in before_issue_13] == before_issue_13
    assert set(all_codes) - set(before_issue_13) == {
        "mendekati_parpol",
        "tim_ahli_pemenangan_konsultan",
        "atribut_partai_pns",
        "mengerahkan_pns_lain",
        "fasilitas_negara",
    }
    assert len(all_codes) == len(set(all_codes))
    assert CATEGORY_BY_CODE == {c.code: c for c in CATEGORIES}
    assert all(c.name and c.basis for c in CATEGORIES)
    # Every category has a discipline rule: the three groups cover the catalogue exactly.
    assert sorted(MEDIUM_ONLY_CODES + HEAVY_ONLY_CODES + MEDIUM_OR_HEAVY_CODES + [PARTY.code]) == sorted(
        all_codes
    )


def test_category_only_suggests_a_class() -> None:
    assert [c.code for c in CATEGORIES if c.suggested_class is ETHICS] == SKB_ETHICS_CODES
    assert all(c.suggested_class is DISCIPLINE for c in CATEGORIES if c.code not in SKB_ETHICS_CODES)
    assert not hasattr(PHOTO, "violation_class")


def test_support_letter_category_says_giving_ones_own_ktp() -> None:
    # PP 94/2021 Pasal 5 huruf n angka 7: the code stays, the words follow the rule.
    assert KTP.name.startswith("Memberikan surat dukungan")
    assert "fotokopi KTP" in KTP.name and "Mengumpulkan" not in KTP.name
    assert "Pasal 5 huruf n angka 7" in KTP.basis


@pytest.mark.parametrize(
    ("code", "words", "basis"),
    [
        ("mendekati_parpol", "Mendekati partai politik terkait rencana pengusulan diri", "SKB 2022"),
        ("tim_ahli_pemenangan_konsultan", "tim ahli, tim pemenangan, konsultan", "SKB 2022"),
        ("atribut_partai_pns", "atribut partai politik atau atribut PNS", "Pasal 5 huruf n angka 2"),
        ("mengerahkan_pns_lain", "mengerahkan PNS lain", "Pasal 5 huruf n angka 3"),
        ("fasilitas_negara", "fasilitas negara", "Pasal 5 huruf n angka 4"),
    ],
)
def test_new_categories_of_pp_94_2021_art_5_n(code: str, words: str, basis: str) -> None:
    category = CATEGORY_BY_CODE[code]
    assert words in category.name and basis in category.basis
    assert category.suggested_class is DISCIPLINE


# ---------------------------------------------------------------- sanctions catalogue


def test_sanction_codes_levels_and_basis_are_stable() -> None:
    expected = {
        **dict.fromkeys(MORAL, SanctionLevel.MORAL),
        **dict.fromkeys(LIGHT, SanctionLevel.LIGHT),
        **dict.fromkeys(MEDIUM, SanctionLevel.MEDIUM),
        **dict.fromkeys([*PNS_HEAVY, PNS_PARTY, PPPK_END, PPPK_PARTY], SanctionLevel.HEAVY),
        **dict.fromkeys(CONTRACT, SanctionLevel.CONTRACT),
    }
    assert {code: s.level for code, s in SANCTIONS.items()} == expected
    assert list(SANCTIONS) == [
        *MORAL,
        *LIGHT,
        *MEDIUM,
        *PNS_HEAVY,
        PNS_PARTY,
        PPPK_END,
        PPPK_PARTY,
        *CONTRACT,
    ]
    assert all(code == s.code and s.name and s.basis for code, s in SANCTIONS.items())
    assert "PP 42/2004" in SANCTIONS["moral_pernyataan_terbuka"].basis
    assert "PP 94/2021" in SANCTIONS["potong_tukin_25_6_bulan"].basis
    assert "UU 5/2014 Pasal 87 ayat (4) huruf c" in SANCTIONS[PNS_PARTY].basis
    assert "UU 5/2014 Pasal 105 ayat (3) huruf c" in SANCTIONS[PPPK_PARTY].basis


@pytest.mark.parametrize(
    ("code", "months"),
    [
        ("potong_tukin_25_6_bulan", 6),
        ("potong_tukin_25_9_bulan", 9),
        ("potong_tukin_25_12_bulan", 12),
        ("penurunan_jabatan_12_bulan", 12),
        ("pembebasan_jabatan_12_bulan", 12),
    ],
)
def test_sanctions_with_a_period(code: str, months: int) -> None:
    assert SANCTIONS[code].months == months
    assert f"{months} bulan" in SANCTIONS[code].name


def test_other_sanctions_have_no_period() -> None:
    with_period = {"potong_tukin_25_6_bulan", "potong_tukin_25_9_bulan", "potong_tukin_25_12_bulan"}
    with_period |= {"penurunan_jabatan_12_bulan", "pembebasan_jabatan_12_bulan"}
    assert all(s.months is None for code, s in SANCTIONS.items() if code not in with_period)


# ---------------------------------------------------------------- lawful sanctions


@pytest.mark.parametrize("violation_class", CLASSES)
def test_party_membership_of_a_pns_is_dismissal_without_honour_only(violation_class: ViolationClass) -> None:
    assert codes("PNS", violation_class, PARTY) == [PNS_PARTY]


@pytest.mark.parametrize("violation_class", CLASSES)
def test_party_membership_of_a_pppk_ends_the_contract_without_honour(violation_class: ViolationClass) -> None:
    assert codes("PPPK", violation_class, PARTY) == [PPPK_PARTY]


@pytest.mark.parametrize("pay_cut", MEDIUM)
def test_a_pay_cut_for_party_membership_is_refused_precisely(pay_cut: str) -> None:
    with pytest.raises(IllegalSanction) as refused:
        check_sanction(pay_cut, "PNS", DISCIPLINE, PARTY)
    message = refused.value.message
    assert refused.value.legal == [PNS_PARTY]
    assert f"Sanksi '{pay_cut}' ({SANCTIONS[pay_cut].name}) tidak sah" in message
    assert "pegawai PNS dengan pelanggaran 'anggota_pengurus_parpol' (disiplin)" in message
    assert "diberhentikan tidak dengan hormat" in message and "UU 5/2014 Pasal 87 ayat (4) huruf c" in message
    assert message.endswith(
        f"Sanksi yang sah untuk pegawai PNS dengan pelanggaran "
        f"'anggota_pengurus_parpol' (disiplin): {PNS_PARTY}"
    )
    assert refused.value.errors == [{"field": "sanction", "message": message}]
    assert isinstance(refused.value, InvalidInput)


def test_dismissal_without_honour_is_only_for_party_membership() -> None:
    for category in CATEGORIES:
        if category is PARTY:
            continue
        for employment_type in ASN:
            for violation_class in CLASSES:
                assert PNS_PARTY not in codes(employment_type, violation_class, category)
                assert PPPK_PARTY not in codes(employment_type, violation_class, category)


@pytest.mark.parametrize("category", [c for c in CATEGORIES if c is not PARTY], ids=lambda c: c.code)
@pytest.mark.parametrize("employment_type", ASN)
def test_ethics_gets_moral_sanctions_only(employment_type: EmploymentTypeName, category: Category) -> None:
    assert codes(employment_type, ETHICS, category) == MORAL


@pytest.mark.parametrize("code", MEDIUM_ONLY_CODES)
def test_pns_discipline_medium_acts(code: str) -> None:
    assert codes("PNS", DISCIPLINE, CATEGORY_BY_CODE[code]) == MEDIUM


@pytest.mark.parametrize("code", HEAVY_ONLY_CODES)
def test_pns_discipline_heavy_acts(code: str) -> None:
    assert codes("PNS", DISCIPLINE, CATEGORY_BY_CODE[code]) == PNS_HEAVY


@pytest.mark.parametrize("code", MEDIUM_OR_HEAVY_CODES)
def test_pns_discipline_left_to_the_examination(code: str) -> None:
    assert codes("PNS", DISCIPLINE, CATEGORY_BY_CODE[code]) == MEDIUM + PNS_HEAVY


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        *((c, MEDIUM) for c in MEDIUM_ONLY_CODES),
        *((c, [PPPK_END]) for c in HEAVY_ONLY_CODES),
        *((c, [*MEDIUM, PPPK_END]) for c in MEDIUM_OR_HEAVY_CODES),
    ],
)
def test_pppk_discipline_is_pay_cut_or_end_of_contract(code: str, expected: list[str]) -> None:
    assert codes("PPPK", DISCIPLINE, CATEGORY_BY_CODE[code]) == expected


def test_the_same_act_gets_what_the_decided_class_allows() -> None:
    # SKB 2022: a photo with a candidate may be an ethics or a discipline breach.
    assert codes("PNS", ETHICS, PHOTO) == MORAL
    assert codes("PNS", DISCIPLINE, PHOTO) == MEDIUM
    assert check_sanction("potong_tukin_25_6_bulan", "PNS", DISCIPLINE, PHOTO).level is SanctionLevel.MEDIUM
    with pytest.raises(IllegalSanction):
        check_sanction("potong_tukin_25_6_bulan", "PNS", ETHICS, PHOTO)


def test_light_sanctions_are_never_lawful_for_a_neutrality_breach() -> None:
    for category in CATEGORIES:
        for employment_type in get_args(EmploymentTypeName):
            for violation_class in CLASSES:
                assert not set(LIGHT) & set(codes(employment_type, violation_class, category))


@pytest.mark.parametrize("category", CATEGORIES, ids=lambda c: c.code)
@pytest.mark.parametrize("violation_class", CLASSES)
def test_non_asn_gets_contract_sanctions(violation_class: ViolationClass, category: Category) -> None:
    assert codes("NON_ASN", violation_class, category) == CONTRACT


@pytest.mark.parametrize("category", CATEGORIES, ids=lambda c: c.code)
@pytest.mark.parametrize("violation_class", CLASSES)
def test_elected_head_gets_no_asn_sanction(violation_class: ViolationClass, category: Category) -> None:
    assert legal_sanctions("PEJABAT_NEGARA", violation_class, category) == []


@pytest.mark.parametrize("code", ["moral_pernyataan_terbuka", "potong_tukin_25_6_bulan", PNS_PARTY])
def test_elected_head_refusal_says_where_the_case_goes(code: str) -> None:
    with pytest.raises(IllegalSanction) as refused:
        check_sanction(code, "PEJABAT_NEGARA", DISCIPLINE, KTP)
    message = refused.value.message
    assert refused.value.legal == []
    assert f"Sanksi '{code}'" in message and "tidak sah untuk pejabat negara" in message
    assert "bukan pegawai ASN" in message and "Bawaslu" in message and "Menteri Dalam Negeri" in message
    assert "UU 10/2016 Pasal 71" in message and "UU 23/2014 Pasal 76-78" in message
    assert "Sanksi yang sah" not in message


@pytest.mark.parametrize(
    ("code", "employment_type", "violation_class", "category", "legal", "why"),
    [
        ("potong_tukin_25_6_bulan", "PNS", ETHICS, PHOTO, MORAL, "sanksi moral (PP 42/2004"),
        ("moral_pernyataan_terbuka", "PNS", DISCIPLINE, TEAM, MEDIUM, "hukuman disiplin sedang"),
        ("teguran_tertulis", "PNS", DISCIPLINE, TEAM, MEDIUM, "Pasal 5 huruf n angka 1"),
        ("potong_tukin_25_12_bulan", "PNS", DISCIPLINE, KTP, PNS_HEAVY, "hukuman disiplin berat"),
        ("potong_tukin_25_12_bulan", "PPPK", DISCIPLINE, PARTY, [PPPK_PARTY], "tidak dengan hormat"),
        (PPPK_END, "PPPK", DISCIPLINE, PARTY, [PPPK_PARTY], "PP 49/2018 Pasal 52 ayat (3) huruf c"),
        ("penurunan_jabatan_12_bulan", "PPPK", DISCIPLINE, OTHER, [*MEDIUM, PPPK_END], "bagi PPPK"),
        (PPPK_END, "PNS", DISCIPLINE, OTHER, MEDIUM + PNS_HEAVY, "sedang atau berat"),
        ("pemberhentian_tidak_atas_permintaan", "PNS", ETHICS, PARTY, [PNS_PARTY], "apa pun kelas"),
        ("teguran_tertulis", "NON_ASN", DISCIPLINE, TEAM, CONTRACT, "perjanjian kerja"),
        ("kontrak_pemutusan", "PNS", DISCIPLINE, OTHER, MEDIUM + PNS_HEAVY, "PP 94/2021"),
    ],
)
def test_check_sanction_refuses_says_why_and_lists_the_legal_codes(
    code: str,
    employment_type: EmploymentTypeName,
    violation_class: ViolationClass,
    category: Category,
    legal: list[str],
    why: str,
) -> None:
    with pytest.raises(IllegalSanction) as refused:
        check_sanction(code, employment_type, violation_class, category)
    assert refused.value.legal == legal
    message = refused.value.message
    assert f"'{code}'" in message and "tidak sah" in message and why in message
    assert message.endswith(", ".join(legal))


def test_check_sanction_accepts_what_is_lawful() -> None:
    assert check_sanction(PNS_PARTY, "PNS", DISCIPLINE, PARTY).code == PNS_PARTY
    assert check_sanction(PNS_PARTY, "PNS", ETHICS, PARTY).code == PNS_PARTY
    assert check_sanction(PPPK_PARTY, "PPPK", DISCIPLINE, PARTY).code == PPPK_PARTY
    assert check_sanction("moral_pernyataan_tertutup", "PPPK", ETHICS, TEAM).level is SanctionLevel.MORAL
    assert check_sanction("kontrak_pemutusan", "NON_ASN", ETHICS, PHOTO).level is SanctionLevel.CONTRACT
    assert check_sanction("penurunan_jabatan_12_bulan", "PNS", DISCIPLINE, KTP).months == 12


def test_stored_strings_are_accepted() -> None:
    assert codes("PNS", "disiplin", TEAM) == MEDIUM  # type: ignore[arg-type]
    assert check_sanction("moral_pernyataan_terbuka", "PNS", "etika", TEAM).level is SanctionLevel.MORAL  # type: ignore[arg-type]


def test_unknown_sanction_code() -> None:
    with pytest.raises(IllegalSanction) as refused:
        check_sanction("hukuman_mati", "PNS", DISCIPLINE, OTHER)
    assert "Sanksi 'hukuman_mati' tidak dikenal" in refused.value.message
    assert refused.value.legal == MEDIUM + PNS_HEAVY


def test_unknown_employment_type_and_class() -> None:
    with pytest.raises(ValueError, match="jenis kepegawaian tidak dikenal: HONORER"):
        legal_sanctions("HONORER", DISCIPLINE, OTHER)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        legal_sanctions("PNS", "pidana", OTHER)  # type: ignore[arg-type]


# ---------------------------------------------------------------- who examines and who decides


def facts(
    employment_type: EmploymentTypeName, leader_office: str | None = None, pemda_kind: str | None = "REGENCY"
) -> SubjectFacts:
    return SubjectFacts(employment_type, leader_office, pemda_kind)  # type: ignore[arg-type]


def roles(authorities: tuple[Authority, ...]) -> list[Role]:
    return [a.role for a in authorities]


@pytest.mark.parametrize("employment_type", ASN)
@pytest.mark.parametrize("pemda_kind", ["PROVINCE", "REGENCY", "CITY", None])
def test_an_asn_is_examined_in_the_pemda_and_decided_by_the_ppk(
    employment_type: EmploymentTypeName, pemda_kind: str | None
) -> None:
    subject = facts(employment_type, None, pemda_kind)
    assert roles(examiners_for(subject)) == [Role.INSPEKTORAT, Role.BKPSDM]
    assert decider_for(subject).role is Role.PPK
    assert data_block_applies(subject)


@pytest.mark.parametrize("employment_type", ASN)
@pytest.mark.parametrize("pemda_kind", ["REGENCY", "CITY"])
def test_a_regency_or_city_sekda_goes_to_the_governor(
    employment_type: EmploymentTypeName, pemda_kind: str
) -> None:
    subject = facts(employment_type, "SEKDA", pemda_kind)
    decider = decider_for(subject)
    assert decider.role is Role.GUBERNUR and "Gubernur" in decider.label
    assert "UU 23/2014 Pasal 214 ayat (2)" in decider.basis
    assert examiners_for(subject) == (decider,)
    assert data_block_applies(subject)


@pytest.mark.parametrize("employment_type", ASN)
def test_a_provincial_sekda_goes_to_the_minister(employment_type: EmploymentTypeName) -> None:
    subject = facts(employment_type, "SEKDA", "PROVINCE")
    decider = decider_for(subject)
    assert decider.role is Role.KEMENDAGRI and "Menteri Dalam Negeri" in decider.label
    assert "UU 23/2014 Pasal 214 ayat (1)" in decider.basis
    assert examiners_for(subject) == (decider,)


def test_sekda_office_is_read_whatever_its_case() -> None:
    assert decider_for(facts("PNS", "sekda", "CITY")).role is Role.GUBERNUR
    assert decider_for(facts("PNS", "KEPALA_DAERAH", "CITY")).role is Role.PPK


def test_a_sekda_with_no_known_pemda_kind_is_not_guessed() -> None:
    with pytest.raises(ValueError, match="jenis pemda terlapor"):
        decider_for(facts("PNS", "SEKDA", None))
    with pytest.raises(ValueError, match="PROVINCE, REGENCY atau CITY"):
        examiners_for(facts("PNS", "SEKDA", "OPD"))


@pytest.mark.parametrize("pemda_kind", ["PROVINCE", "REGENCY", "CITY", None])
def test_non_asn_is_decided_by_the_opd_head_with_no_data_block(pemda_kind: str | None) -> None:
    subject = facts("NON_ASN", None, pemda_kind)
    decider = decider_for(subject)
    assert decider.role is Role.KEPALA_OPD and decider.label == "Kepala OPD (perjanjian kerja)"
    assert roles(examiners_for(subject)) == [Role.KEPALA_OPD, Role.INSPEKTORAT, Role.BKPSDM]
    assert not data_block_applies(subject)


@pytest.mark.parametrize(
    ("pemda_kind", "role"),
    [("REGENCY", Role.GUBERNUR), ("CITY", Role.GUBERNUR), ("PROVINCE", Role.KEMENDAGRI)],
)
def test_an_elected_head_goes_above_the_pemda_with_no_data_block(pemda_kind: str, role: Role) -> None:
    subject = facts("PEJABAT_NEGARA", None, pemda_kind)
    assert decider_for(subject).role is role
    assert "UU 23/2014" in decider_for(subject).basis
    assert roles(examiners_for(subject)) == [role]
    assert not data_block_applies(subject)


def test_every_authority_has_a_label_and_a_basis() -> None:
    subjects = [
        facts(t, office, kind)
        for t in get_args(EmploymentTypeName)
        for office in (None, "SEKDA")
        for kind in ("PROVINCE", "REGENCY")
    ]
    for subject in subjects:
        for authority in (*examiners_for(subject), decider_for(subject)):
            assert authority.label and authority.basis


def test_unknown_employment_type_has_no_route() -> None:
    with pytest.raises(ValueError, match="jenis kepegawaian"):
        decider_for(facts("HONORER"))  # type: ignore[arg-type]


# ---------------------------------------------------------------- remedies


@pytest.mark.parametrize(
    ("code", "employment_type", "remedy"),
    [
        *(
            (c, "PNS", Remedy.OBJECTION)
            for c in [*MEDIUM, "penurunan_jabatan_12_bulan", "pembebasan_jabatan_12_bulan"]
        ),
        *((c, "PPPK", Remedy.OBJECTION) for c in MEDIUM),
        ("pemberhentian_tidak_atas_permintaan", "PNS", Remedy.APPEAL),
        (PNS_PARTY, "PNS", Remedy.APPEAL),
        (PPPK_END, "PPPK", Remedy.APPEAL),
        (PPPK_PARTY, "PPPK", Remedy.APPEAL),
    ],
)
def test_remedies_against_a_sanction(code: str, employment_type: EmploymentTypeName, remedy: Remedy) -> None:
    (rule,) = remedies_for(SANCTIONS[code], employment_type)
    assert rule.remedy is remedy
    assert rule.filing_days == 14
    assert "UU 5/2014 Pasal 129" in rule.basis and "PP 79/2021" in rule.basis
    if remedy is Remedy.APPEAL:
        assert "BPASN" in rule.authority_label
    else:
        assert rule.authority_label == "Atasan pejabat yang berwenang menghukum"


@pytest.mark.parametrize("code", [*MORAL, *LIGHT])
@pytest.mark.parametrize("employment_type", ASN)
def test_moral_and_light_sanctions_are_final(code: str, employment_type: EmploymentTypeName) -> None:
    assert remedies_for(SANCTIONS[code], employment_type) == ()


@pytest.mark.parametrize("code", CONTRACT)
def test_contract_sanctions_of_a_non_asn_have_no_asn_remedy(code: str) -> None:
    assert remedies_for(SANCTIONS[code], "NON_ASN") == ()


def test_no_remedy_outside_asn_whatever_the_sanction() -> None:
    for sanction in SANCTIONS.values():
        assert remedies_for(sanction, "NON_ASN") == ()
        assert remedies_for(sanction, "PEJABAT_NEGARA") == ()


def test_every_lawful_asn_sanction_has_a_defined_remedy_answer() -> None:
    for category in CATEGORIES:
        for employment_type in ASN:
            for violation_class in CLASSES:
                for sanction in legal_sanctions(employment_type, violation_class, category):
                    rules = remedies_for(sanction, employment_type)
                    assert len(rules) <= 1
                    assert bool(rules) == (sanction.level is not SanctionLevel.MORAL)


def test_remedy_outcomes() -> None:
    assert remedy_outcomes() == (RemedyOutcome.UPHELD, RemedyOutcome.CHANGED, RemedyOutcome.CANCELLED)
    assert [o.value for o in remedy_outcomes()] == ["dikuatkan", "diubah", "dibatalkan"]
    assert [r.value for r in Remedy] == ["keberatan", "banding_administratif"]


def test_check_remedy_accepts_the_open_remedy() -> None:
    assert check_remedy(Remedy.APPEAL, SANCTIONS[PNS_PARTY], "PNS").authority_label.endswith("(BPASN)")
    assert check_remedy("keberatan", SANCTIONS["potong_tukin_25_9_bulan"], "PPPK").filing_days == 14  # type: ignore[arg-type]


def test_a_dismissal_is_appealed_not_objected_to() -> None:
    with pytest.raises(IllegalRemedy) as refused:
        check_remedy(Remedy.OBJECTION, SANCTIONS[PNS_PARTY], "PNS")
    message = refused.value.message
    assert refused.value.open_remedies == ["banding_administratif"]
    assert f"keberatan (keberatan) tidak dapat diajukan terhadap sanksi '{PNS_PARTY}'" in message
    assert "yang dapat diajukan: banding administratif (banding_administratif) kepada" in message
    assert "BPASN" in message
    assert refused.value.errors == [{"field": "remedy", "message": message}]


def test_a_pay_cut_is_objected_to_not_appealed() -> None:
    with pytest.raises(IllegalRemedy) as refused:
        check_remedy(Remedy.APPEAL, SANCTIONS["potong_tukin_25_6_bulan"], "PNS")
    assert refused.value.open_remedies == ["keberatan"]
    assert "Atasan pejabat yang berwenang menghukum" in refused.value.message


@pytest.mark.parametrize(
    ("code", "employment_type"),
    [("moral_pernyataan_terbuka", "PNS"), ("teguran_lisan", "PPPK"), ("kontrak_pemutusan", "NON_ASN")],
)
def test_no_remedy_against_a_final_decision(code: str, employment_type: EmploymentTypeName) -> None:
    for remedy in Remedy:
        with pytest.raises(IllegalRemedy) as refused:
            check_remedy(remedy, SANCTIONS[code], employment_type)
        assert refused.value.open_remedies == []
        assert "tidak ada upaya administratif terhadap sanksi ini" in refused.value.message
