"""The case aggregate of issue 13 (services/reports/domain.py, CaseRules): several subjects with
their own follow-up, the class decided by the examination, who examines and decides each subject,
the data block and its lifting, a confirmed subject's key, a supervisor added, merge and split,
the decree and the sanction's period, objection and appeal, a read-only closed case, and the
deadline extension. Pure: documents in, documents and events out."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from contracts.reports import (
    PublicReportEscalatedV1,
    PublicReportEscalationLiftedV1,
    PublicReportSanctionImposedV1,
    ReportEscalationLiftedV1,
    ReportSubjectAssignedV1,
)
from contracts.roles import Role
from services.kit.errors import Conflict, Forbidden, InvalidInput
from services.reports.catalogue import (
    IllegalRemedy,
    IllegalSanction,
    PemdaKind,
    Remedy,
    RemedyOutcome,
    ViolationClass,
)
from services.reports.domain import (
    CASE_READ_ONLY,
    EXTENSIONS,
    UNMATCHED,
    Action,
    ActionDetails,
    AuthorityUnknown,
    CaseRules,
    CaseState,
    DeadlineKind,
    ForbiddenAction,
    Intake,
    MatchResult,
    OpenCase,
    PreparedAccused,
    PreparedIntake,
    TransitionRefused,
    WorkingCalendar,
    add_months,
    case_allowed_actions,
    case_state,
    pemda_kind_of,
    place_reports,
    subject_key,
    upgraded,
)

A, S = Action, CaseState
NOW = dt.datetime(2024, 11, 4, 2, 0, tzinfo=dt.UTC)  # Monday 09:00 WIB
Doc = dict[str, Any]


def employee(
    employee_id: str,
    name: str,
    employment_type: str = "PNS",
    unit: str = "32.01.001",
    path: tuple[str, ...] = ("32", "32.01"),
    leader_office: str | None = None,
) -> Doc:
    return {
        "_id": employee_id,
        "nip": employee_id if employment_type in ("PNS", "PPPK") else None,
        "name": name,
        "employment_type": employment_type,
        "position": "Analis",
        "org_unit_code": unit,
        "org_unit_path": list(path),
        "leader_office": leader_office,
    }


BUDI = employee("198503152010011005", "Budi Santoso")
ANI = employee("199001012015012001", "Ani Lestari")
AHMAD = employee("197502022000031002", "Ahmad Hidayat")
DEWI = employee("NA0000000000000001", "Dewi Lestari", "NON_ASN")
SEKDA = employee("196805121990031004", "Hendra Wijaya", unit="32.01", path=("32",), leader_office="SEKDA")
SEKDA_PROV = employee("196501011990011001", "Agus Salim", unit="32", path=(), leader_office="SEKDA")
PPPK = employee("199009132025242014", "Sari Dewi", "PPPK")


def accused(person: Doc | None, name: str | None = None, pemda: PemdaKind | None = None) -> PreparedAccused:
    if person is None:
        return PreparedAccused(
            {"name": name or "Pak Budi"}, UNMATCHED, None, None, subject_key(None, name or "Pak Budi", None)
        )
    match = MatchResult("matched", person["_id"], "nip", ())
    return PreparedAccused(
        {"name": person["name"], "nip": person["nip"]},
        match,
        person,
        pemda,
        subject_key(person["_id"], "", None),
    )


def intake(
    *people: PreparedAccused,
    category: str = "kampanye_media_sosial",
    incident: dt.date = dt.date(2024, 11, 1),
    report_id: str = "r1",
    case_id: str = "c1",
) -> PreparedIntake:
    first, *others = people
    return PreparedIntake(
        intake=Intake(
            category,
            "Mengunggah ajakan memilih calon di media sosial.",
            incident,
            "Cibinong",
            first.accused,
            [],
            None,
            co_accused=tuple(p.accused for p in others),
            channel="public",
        ),
        match=first.match,
        employee=first.employee,
        unit_code="32.01.001",
        unit_path=["32", "32.01"],
        subject_key=first.subject_key,
        report_id=report_id,
        new_case_id=case_id,
        tracking_code="",
        tracking_hash=f"hash-{report_id}",
        received_at=NOW,
        sealed_identity=None,
        sealed_contact=None,
        co_accused=tuple(others),
        pemda_kind=first.pemda_kind,
    )


@pytest.fixture(scope="module")
def rules() -> CaseRules:
    return CaseRules(WorkingCalendar())


def moved(rules: CaseRules, case: Doc, *steps: tuple[Action, Role], **kwargs: Any) -> Doc:
    for action, role in steps:
        case = rules.transition(
            case, action, role, "petugas", f"Tindak lanjut {action.value}.", NOW, **kwargs
        ).case
    return case


def recommended(rules: CaseRules, *people: PreparedAccused, **kwargs: Any) -> Doc:
    case = rules.open_case("c1", intake(*people, **kwargs))
    return moved(rules, case, (A.VERIFY, Role.BKN), (A.RECOMMEND, Role.BAWASLU))


def act(
    rules: CaseRules,
    case: Doc,
    action: Action,
    role: Role,
    subject: str | None = None,
    sanction: str | None = None,
    now: dt.datetime = NOW,
    **details: Any,
) -> Doc:
    change = rules.transition(
        case,
        action,
        role,
        "petugas",
        "Alasan tindakan ini.",
        now,
        sanction,
        subject_id=subject,
        details=ActionDetails(**details),
    )
    return change.case


# ---------------------------------------------------------------- several subjects


def test_a_report_naming_several_people_opens_one_case_with_a_subject_each(rules: CaseRules) -> None:
    case = rules.open_case("c1", intake(accused(BUDI), accused(ANI), accused(BUDI)))
    assert [s["id"] for s in case["subjects"]] == ["s1", "s2"]  # the same person once
    assert [s["employee"]["employee_id"] for s in case["subjects"]] == [BUDI["_id"], ANI["_id"]]
    assert case["subject"]["employee_id"] == BUDI["_id"]  # the first, for single-subject readers
    assert case["subject_keys"] == [f"emp:{BUDI['_id']}", f"emp:{ANI['_id']}"]
    assert case["state"] == "received" and case["suggested_class"] == "etika"


def test_the_case_state_is_its_own_step_then_the_least_advanced_subject(rules: CaseRules) -> None:
    case = recommended(rules, accused(BUDI), accused(ANI))
    assert case_state(case) is S.RECOMMENDED
    with pytest.raises(InvalidInput) as which:
        act(rules, case, A.EXAMINE, Role.INSPEKTORAT)
    assert (
        which.value.errors[0]["field"] == "subject_id"
        and "s1" in str(which.value)
        and "s2" in str(which.value)
    )
    case = act(rules, case, A.EXAMINE, Role.INSPEKTORAT, "s1")
    assert case["state"] == "recommended"  # s2 is not examined yet
    case = act(rules, case, A.EXAMINE, Role.INSPEKTORAT, "s2")
    case = act(rules, case, A.DECIDE_SANCTION, Role.PPK, "s1", "moral_pernyataan_terbuka")
    assert case["state"] == "examined"
    case = act(rules, case, A.DECIDE_NOT_PROVEN, Role.PPK, "s2")
    assert case["state"] == "decided"
    # Only s1 can be recorded now: the id is not needed.
    case = act(
        rules, case, A.RECORD, Role.BKPSDM, decree_number="800/1/2024", decree_date=dt.date(2024, 11, 4)
    )
    change = rules.transition(case, A.CLOSE, Role.BKPSDM, "petugas", "Selesai.", NOW)
    assert change.case["state"] == "closed" and change.closed  # not proven and closed end as closed
    assert [s["state"] for s in change.case["subjects"]] == ["closed", "not_proven"]


def test_a_one_subject_case_lists_the_actions_it_always_listed(rules: CaseRules) -> None:
    case = rules.open_case("c1", intake(accused(BUDI)))
    assert case_allowed_actions(case) == [A.VERIFY, A.REJECT, A.CANCEL, A.MARK_OUT_OF_SERVICE]
    case = moved(rules, recommended(rules, accused(BUDI)), (A.EXAMINE, Role.BKPSDM))
    assert case_allowed_actions(case) == [
        A.DECIDE_SANCTION,
        A.DECIDE_NOT_PROVEN,
        A.CANCEL,
        A.MARK_OUT_OF_SERVICE,
    ]
    assert case_allowed_actions(case, Role.PPK) == [A.DECIDE_SANCTION, A.DECIDE_NOT_PROVEN]
    cancelled = act(rules, case, A.CANCEL, Role.BKPSDM)
    assert cancelled["state"] == "cancelled" and case_allowed_actions(cancelled) == []


def test_cancel_is_refused_once_a_subject_is_decided(rules: CaseRules) -> None:
    case = recommended(rules, accused(BUDI), accused(ANI))
    case = act(rules, case, A.EXAMINE, Role.BKPSDM, "s1")
    case = act(rules, case, A.DECIDE_SANCTION, Role.PPK, "s1", "moral_pernyataan_terbuka")
    assert A.CANCEL not in case_allowed_actions(case)


def test_a_report_naming_someone_with_an_open_case_joins_it_and_brings_the_others(rules: CaseRules) -> None:
    known = {f"emp:{ANI['_id']}": [OpenCase("c-ani", dt.date(2024, 11, 1))]}
    both = intake(accused(BUDI), accused(ANI), case_id="c-new")
    (placement,) = place_reports([both], known, 2)
    assert placement.case_id == "c-ani" and placement.linked
    case = rules.open_case("c-ani", intake(accused(ANI)))
    rules.join(case, both)
    assert [s["employee"]["employee_id"] for s in case["subjects"]] == [ANI["_id"], BUDI["_id"]]
    assert f"emp:{BUDI['_id']}" in case["subject_keys"] and case["report_ids"] == ["r1", "r1"]


# ---------------------------------------------------------------- the class and the sanction


def test_the_examination_decides_the_class_and_the_sanctions_follow(rules: CaseRules) -> None:
    case = recommended(rules, accused(BUDI))  # social-media campaigning: suggested ethics
    ethics = act(rules, case, A.EXAMINE, Role.INSPEKTORAT)
    assert ethics["subjects"][0]["examination"]["class"] == "etika"
    with pytest.raises(IllegalSanction):
        act(rules, ethics, A.DECIDE_SANCTION, Role.PPK, sanction="potong_tukin_25_6_bulan")
    discipline = act(
        rules,
        case,
        A.EXAMINE,
        Role.INSPEKTORAT,
        violation_class=ViolationClass.DISCIPLINE,
        class_reason="Kampanye terorganisasi dengan fasilitas kantor.",
    )
    examination = discipline["subjects"][0]["examination"]
    assert (examination["class"], examination["reason"]) == (
        "disiplin",
        "Kampanye terorganisasi dengan fasilitas kantor.",
    )
    assert discipline["violation_class"] == "disiplin" and discipline["suggested_class"] == "etika"
    decided = act(rules, discipline, A.DECIDE_SANCTION, Role.PPK, sanction="potong_tukin_25_6_bulan")
    assert decided["subjects"][0]["sanction"]["months"] == 6


def test_party_membership_dismisses_a_pns_and_ends_a_pppks_contract(rules: CaseRules) -> None:
    for person, lawful in (
        (BUDI, "pemberhentian_tidak_dengan_hormat"),
        (PPPK, "pemutusan_hubungan_perjanjian_kerja_tidak_dengan_hormat"),
    ):
        case = act(
            rules,
            recommended(rules, accused(person), category="anggota_pengurus_parpol"),
            A.EXAMINE,
            Role.BKPSDM,
        )
        with pytest.raises(IllegalSanction) as cut:
            act(rules, case, A.DECIDE_SANCTION, Role.PPK, sanction="potong_tukin_25_6_bulan")
        assert cut.value.legal == [lawful]
        assert act(rules, case, A.DECIDE_SANCTION, Role.PPK, sanction=lawful)["sanction"]["code"] == lawful


def test_deciding_needs_a_confirmed_subject(rules: CaseRules) -> None:
    case = act(rules, recommended(rules, accused(None, "Pak Budi")), A.EXAMINE, Role.BKPSDM)
    with pytest.raises(TransitionRefused, match="belum dipastikan"):
        act(rules, case, A.DECIDE_SANCTION, Role.PPK, sanction="moral_pernyataan_terbuka")


# ---------------------------------------------------------------- who examines and who decides


@pytest.mark.parametrize(
    ("person", "pemda", "examiner", "decider", "not_them"),
    [
        (DEWI, None, Role.KEPALA_OPD, Role.KEPALA_OPD, Role.PPK),
        (SEKDA, "REGENCY", Role.GUBERNUR, Role.GUBERNUR, Role.PPK),
        (SEKDA_PROV, "PROVINCE", Role.KEMENDAGRI, Role.KEMENDAGRI, Role.GUBERNUR),
        (BUDI, None, Role.INSPEKTORAT, Role.PPK, Role.KEPALA_OPD),
    ],
)
def test_each_subject_is_examined_and_decided_by_their_authority(
    rules: CaseRules, person: Doc, pemda: PemdaKind | None, examiner: Role, decider: Role, not_them: Role
) -> None:
    case = recommended(rules, accused(person, pemda=pemda))
    assert examiner.value in case["authorities"] and decider.value in case["authorities"]
    if person is SEKDA:
        with pytest.raises(ForbiddenAction, match="gubernur"):
            act(rules, case, A.EXAMINE, Role.INSPEKTORAT)
    examined = act(rules, case, A.EXAMINE, examiner)
    with pytest.raises(ForbiddenAction) as forbidden:
        act(rules, examined, A.DECIDE_NOT_PROVEN, not_them)
    assert decider.value in forbidden.value.message
    assert act(rules, examined, A.DECIDE_NOT_PROVEN, decider)["state"] == "not_proven"


def test_a_sekda_whose_pemda_is_unknown_is_refused_not_routed_to_the_ppk(rules: CaseRules) -> None:
    case = recommended(rules, accused(SEKDA, pemda=None))
    with pytest.raises(AuthorityUnknown):
        act(rules, case, A.EXAMINE, Role.INSPEKTORAT)


def test_pemda_kind_is_the_nearest_pemda_unit_above_the_employee() -> None:
    assert pemda_kind_of(["PROVINCE", "REGENCY", "OPD"]) == "REGENCY"
    assert pemda_kind_of(["PROVINCE"]) == "PROVINCE"
    assert pemda_kind_of(["PROVINCE", "CITY", "OPD", "SUB_UNIT"]) == "CITY"
    assert pemda_kind_of([None, "OPD"]) is None


# ---------------------------------------------------------------- the data block, and its lifting

DATA_BLOCK_AT = dt.datetime(2024, 12, 10, 17, 0, tzinfo=dt.UTC)


def test_the_data_block_names_only_subjects_with_a_siasn_record_and_a_decision_lifts_it(
    rules: CaseRules,
) -> None:
    case = recommended(rules, accused(BUDI), accused(DEWI))
    fired = rules.fire_due_duties(case, DATA_BLOCK_AT)
    assert "escalation:blokir_data" in [d.key for d in fired.fired]
    (block,) = [
        e for e in fired.events if isinstance(e, PublicReportEscalatedV1) and e.level == "blokir_data"
    ]
    assert block.subject_employee_id == BUDI["_id"] and block.subject_employee_ids == [BUDI["_id"]]
    after = fired.case
    assert after["subjects"][0]["data_block"]["blocked_at"] == DATA_BLOCK_AT
    assert after["subjects"][1]["data_block"] is None  # a non-ASN has no SIASN record to block
    later = DATA_BLOCK_AT + dt.timedelta(days=3)
    after = act(rules, after, A.EXAMINE, Role.BKPSDM, "s1", now=later)
    change = rules.transition(
        after, A.DECIDE_NOT_PROVEN, Role.PPK, "ppk-1", "Tidak terbukti.", later, subject_id="s1"
    )
    internal = [e for e in change.events if isinstance(e, ReportEscalationLiftedV1)]
    public = [e for e in change.events if isinstance(e, PublicReportEscalationLiftedV1)]
    assert len(internal) == 1 and internal[0].subject_id == "s1" and internal[0].level == "blokir_data"
    assert len(public) == 1 and public[0].subject_employee_id == BUDI["_id"] and public[0].lifted_at == later
    assert change.case["subjects"][0]["data_block"]["lifted_at"] == later
    assert change.case["audit"][-1]["action"] == "lift_data_block"
    assert change.case["state"] == "recommended"  # Dewi's decision is still owed


def test_a_subject_decided_before_the_block_is_never_blocked(rules: CaseRules) -> None:
    case = act(rules, recommended(rules, accused(BUDI), accused(ANI)), A.EXAMINE, Role.BKPSDM, "s1")
    case = act(rules, case, A.DECIDE_NOT_PROVEN, Role.PPK, "s1")
    fired = rules.fire_due_duties(case, DATA_BLOCK_AT)
    assert fired.case["subjects"][0]["data_block"] is None and fired.case["subjects"][1]["data_block"]


def test_the_sanction_event_names_its_subject(rules: CaseRules) -> None:
    case = act(rules, recommended(rules, accused(BUDI), accused(ANI)), A.EXAMINE, Role.BKPSDM, "s2")
    change = rules.transition(
        case, A.DECIDE_SANCTION, Role.PPK, "ppk", "Diputus.", NOW, "moral_pernyataan_terbuka", subject_id="s2"
    )
    public = next(e for e in change.events if isinstance(e, PublicReportSanctionImposedV1))
    assert public.subject_id == "s2" and public.subject_employee_id == ANI["_id"]
    assert "Ani" not in public.model_dump_json()


# ---------------------------------------------------------------- subjects confirmed and added


def test_confirming_a_subject_opens_the_case_under_the_employees_key_and_publishes(rules: CaseRules) -> None:
    case = rules.open_case("c1", intake(accused(None, "Pak Budi")))
    change = rules.assign_subject(case, BUDI, None, Role.BKPSDM, "petugas", NOW)
    assert change.linked_keys == (f"emp:{BUDI['_id']}",)
    assert change.case["subject"]["employee_id"] == BUDI["_id"] and change.case["match_status"] == "matched"
    assert [type(e).__name__ for e in change.events] == [
        "ReportSubjectAssignedV1",
        "PublicReportSubjectAssignedV1",
    ]
    assert isinstance(change.events[0], ReportSubjectAssignedV1) and change.events[0].subject_id == "s1"
    decided = act(
        rules,
        moved(
            rules, change.case, (A.VERIFY, Role.BKN), (A.RECOMMEND, Role.BAWASLU), (A.EXAMINE, Role.BKPSDM)
        ),
        A.DECIDE_NOT_PROVEN,
        Role.PPK,
    )
    with pytest.raises(Conflict):
        rules.assign_subject(decided, ANI, None, Role.BKPSDM, "petugas", NOW)


def test_a_supervisor_who_did_not_act_is_added_with_a_reason(rules: CaseRules) -> None:
    case = recommended(rules, accused(BUDI))
    with pytest.raises(InvalidInput):
        rules.add_supervisor(case, AHMAD, None, "pendek", Role.BKPSDM, "petugas", NOW)
    change = rules.add_supervisor(
        case, AHMAD, None, "Mengetahui unggahan dan tidak menindak.", Role.BKPSDM, "petugas", NOW
    )
    added = change.case["subjects"][1]
    assert (added["id"], added["kind"], added["state"]) == ("s2", "atasan_tidak_bertindak", "recommended")
    assert added["added"]["reason"] == "Mengetahui unggahan dan tidak menindak."
    assert change.linked_keys == (f"emp:{AHMAD['_id']}",)
    assert change.case["history"][-1]["action"] == "add_subject"
    with pytest.raises(Conflict, match="sudah menjadi subjek"):
        rules.add_supervisor(
            change.case, AHMAD, None, "Mengetahui unggahan dan tidak menindak.", Role.BKPSDM, "p", NOW
        )


# ---------------------------------------------------------------- merge and split


def test_merge_joins_reports_and_subjects_and_ends_the_other_case(rules: CaseRules) -> None:
    into = rules.open_case("c1", intake(accused(BUDI)))
    other = rules.open_case("c2", intake(accused(ANI), report_id="r2", case_id="c2"))
    kept, ended = rules.merge(into, other, "Laporan tentang kejadian yang sama.", Role.BKN, "petugas", NOW)
    assert kept.case["report_ids"] == ["r1", "r2"] and [s["id"] for s in kept.case["subjects"]] == [
        "s1",
        "s2",
    ]
    assert kept.linked_keys == (f"emp:{ANI['_id']}",) and ended.closed
    assert ended.case["state"] == "merged" and ended.case["merged_into"] == "c1"
    assert [e.event_type for e in ended.events] == ["report.closed.v1", "public.report.closed.v1"]
    with pytest.raises(TransitionRefused) as read_only:
        rules.merge(into, ended.case, "Laporan tentang kejadian yang sama.", Role.BKN, "petugas", NOW)
    assert read_only.value.message == CASE_READ_ONLY and read_only.value.allowed == []


def test_split_takes_a_report_out_into_a_new_case(rules: CaseRules) -> None:
    case = rules.open_case("c1", intake(accused(BUDI)))
    rules.join(case, intake(accused(BUDI), report_id="r2"))
    report = {
        "_id": "r2",
        "category": "kampanye_media_sosial",
        "description": "Unggahan lain.",
        "incident_date": dt.datetime(2024, 10, 1, tzinfo=dt.UTC),
        "location": "Bogor",
        "accused": {"name": "Budi Santoso"},
        "evidence": [],
        "channel": "public",
        "tracking_hash": "h2",
    }
    left, opened = rules.split(
        case,
        report,
        "c3",
        accused(BUDI),
        "32.01.001",
        ["32", "32.01"],
        "Kejadian yang berbeda.",
        Role.BKPSDM,
        "petugas",
        NOW,
    )
    assert left.case["report_ids"] == ["r1"] and left.case["history"][-1]["action"] == "split"
    assert (
        opened.case["_id"] == "c3"
        and opened.case["report_ids"] == ["r2"]
        and opened.case["split_from"] == "c1"
    )
    assert opened.case["state"] == "received" and "verification" in opened.case["deadlines"]
    with pytest.raises(TransitionRefused, match="satu laporan"):
        rules.split(
            left.case,
            {**report, "_id": "r1"},
            "c4",
            accused(BUDI),
            None,
            [],
            "Kejadian yang berbeda.",
            Role.BKPSDM,
            "p",
            NOW,
        )


# ---------------------------------------------------------------- decree, sanction period, remedies


def test_months_are_calendar_months_clamped_to_the_months_end() -> None:
    assert add_months(dt.date(2024, 12, 1), 12) == dt.date(2025, 12, 1)
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 8, 31), 6) == dt.date(2025, 2, 28)


def decided(
    rules: CaseRules, sanction: str = "potong_tukin_25_12_bulan", category: str = "tim_kampanye"
) -> Doc:
    case = act(rules, recommended(rules, accused(BUDI), category=category), A.EXAMINE, Role.BKPSDM)
    return act(rules, case, A.DECIDE_SANCTION, Role.PPK, sanction=sanction)


def test_the_record_needs_the_decree_and_sets_the_sanctions_end(rules: CaseRules) -> None:
    case = decided(rules)
    with pytest.raises(InvalidInput) as missing:
        act(rules, case, A.RECORD, Role.BKPSDM)
    assert {e["field"] for e in missing.value.errors} == {"decree_number", "decree_date"}
    with pytest.raises(InvalidInput, match="tanggal surat keputusan"):
        act(rules, case, A.RECORD, Role.BKPSDM, decree_number="1/2024", decree_date=dt.date(2024, 11, 5))
    recorded = act(
        rules,
        case,
        A.RECORD,
        Role.BKPSDM,
        decree_number="1/2024",
        decree_date=dt.date(2024, 11, 4),
        sanction_start=dt.date(2024, 12, 1),
    )
    decree = recorded["subjects"][0]["decree"]
    assert decree["sanction_end"] == dt.datetime(2025, 12, 1, tzinfo=dt.UTC) and decree["number"] == "1/2024"


def recorded(
    rules: CaseRules, sanction: str = "potong_tukin_25_12_bulan", category: str = "tim_kampanye"
) -> Doc:
    return act(
        rules,
        decided(rules, sanction, category),
        A.RECORD,
        Role.BKPSDM,
        decree_number="1/2024",
        decree_date=dt.date(2024, 11, 4),
    )


def test_an_objection_is_filed_in_time_and_its_outcome_may_change_the_sanction(rules: CaseRules) -> None:
    case = recorded(rules)
    with pytest.raises(IllegalRemedy):
        act(rules, case, A.FILE_APPEAL, Role.BKPSDM, remedy=Remedy.APPEAL)
    late = NOW + dt.timedelta(days=40)
    with pytest.raises(InvalidInput, match="melewati batas"):
        act(rules, case, A.FILE_APPEAL, Role.BKPSDM, now=late)
    filed = act(rules, case, A.FILE_APPEAL, Role.BKPSDM)
    remedy = filed["subjects"][0]["remedy"]
    assert remedy["remedy"] == "keberatan" and remedy["deadline"] > remedy["filed_on"]
    assert filed["state"] == "appealed"
    with pytest.raises(InvalidInput) as no_outcome:
        act(rules, filed, A.RESOLVE_APPEAL, Role.BKPSDM)
    assert no_outcome.value.errors[0]["field"] == "outcome"
    with pytest.raises(IllegalSanction):  # the new sanction is checked as a first decision's is
        act(
            rules,
            filed,
            A.RESOLVE_APPEAL,
            Role.BKPSDM,
            outcome=RemedyOutcome.CHANGED,
            new_sanction="teguran_lisan",
        )
    changed = act(
        rules,
        filed,
        A.RESOLVE_APPEAL,
        Role.BKPSDM,
        outcome=RemedyOutcome.CHANGED,
        new_sanction="potong_tukin_25_6_bulan",
    )
    subject = changed["subjects"][0]
    assert subject["state"] == "recorded" and subject["sanction"]["code"] == "potong_tukin_25_6_bulan"
    assert subject["decree"]["sanction_end"] == dt.datetime(2025, 5, 4, tzinfo=dt.UTC)
    assert (
        subject["remedy"]["outcome"] == "diubah"
        and subject["remedy"]["original_sanction"]["code"] == "potong_tukin_25_12_bulan"
    )
    with pytest.raises(TransitionRefused, match="sudah diajukan"):
        act(rules, changed, A.FILE_APPEAL, Role.BKPSDM)
    cancelled = act(rules, filed, A.RESOLVE_APPEAL, Role.BKPSDM, outcome=RemedyOutcome.CANCELLED)
    assert cancelled["subjects"][0]["sanction"] is None


def test_a_moral_sanction_has_no_remedy_and_a_dismissal_goes_to_bpasn(rules: CaseRules) -> None:
    moral = recorded(rules, "moral_pernyataan_terbuka", "kampanye_media_sosial")
    assert A.FILE_APPEAL not in case_allowed_actions(moral)
    with pytest.raises(TransitionRefused, match="final") as final:
        act(rules, moral, A.FILE_APPEAL, Role.BKPSDM)
    assert final.value.allowed is not None and "close" in final.value.allowed
    dismissal = recorded(rules, "pemberhentian_tidak_dengan_hormat", "anggota_pengurus_parpol")
    appeal = act(rules, dismissal, A.FILE_APPEAL, Role.BKPSDM)["subjects"][0]["remedy"]
    assert appeal["remedy"] == "banding_administratif" and "BPASN" in appeal["authority"]


def test_a_closed_case_is_read_only(rules: CaseRules) -> None:
    closed = act(rules, recorded(rules), A.CLOSE, Role.BKPSDM)
    assert closed["state"] == "closed"
    reason = "Perlu keterangan tambahan dari pelapor."
    with pytest.raises(TransitionRefused) as extension:
        rules.extend_deadline(closed, DeadlineKind.BAWASLU_REVIEW, 1, reason, Role.BAWASLU, "b", NOW)
    with pytest.raises(TransitionRefused) as supervisor:
        rules.add_supervisor(closed, AHMAD, None, reason, Role.BKPSDM, "p", NOW)
    assert extension.value.message == supervisor.value.message == CASE_READ_ONLY
    with pytest.raises(Conflict):
        rules.assign_subject(closed, ANI, None, Role.BKPSDM, "p", NOW)
    with pytest.raises(TransitionRefused, match="sudah selesai"):
        act(rules, closed, A.CLOSE, Role.BKPSDM)


# ---------------------------------------------------------------- deadline extension


def test_bawaslus_review_is_extended_once_and_the_breach_clock_follows(rules: CaseRules) -> None:
    assert set(EXTENSIONS) == {DeadlineKind.BAWASLU_REVIEW}
    case = moved(rules, rules.open_case("c1", intake(accused(BUDI))), (A.VERIFY, Role.BKN))
    due = case["deadlines"]["bawaslu_review"]
    assert due == dt.datetime(2024, 11, 7, 17, 0, tzinfo=dt.UTC) and case["next_due_at"] == due
    reason = "Bawaslu memerlukan keterangan tambahan dari pelapor."
    with pytest.raises(Forbidden):
        rules.extend_deadline(case, DeadlineKind.BAWASLU_REVIEW, 2, reason, Role.BKPSDM, "p", NOW)
    with pytest.raises(InvalidInput, match="paling banyak 7"):
        rules.extend_deadline(case, DeadlineKind.BAWASLU_REVIEW, 8, reason, Role.BAWASLU, "b", NOW)
    with pytest.raises(InvalidInput, match="tidak dapat diperpanjang"):
        rules.extend_deadline(case, DeadlineKind.VERIFICATION, 2, reason, Role.BAWASLU, "b", NOW)
    with pytest.raises(TransitionRefused, match="sudah lewat"):
        rules.extend_deadline(case, DeadlineKind.BAWASLU_REVIEW, 2, reason, Role.BAWASLU, "b", due)
    change = rules.extend_deadline(case, DeadlineKind.BAWASLU_REVIEW, 2, reason, Role.BAWASLU, "b", NOW)
    extended = change.case
    new_due = dt.datetime(2024, 11, 11, 17, 0, tzinfo=dt.UTC)  # Friday 8, Monday 11
    assert extended["deadlines"]["bawaslu_review"] == new_due and extended["next_due_at"] == new_due
    assert extended["history"][-1] | {"at": None} == {
        "state": "verified",
        "action": "extend_deadline",
        "reason": reason,
        "actor_role": "bawaslu",
        "actor": "b",
        "subject_id": None,
        "at": None,
    }
    assert [e.event_type for e in change.events] == [
        "report.deadline_extended.v1",
        "public.report.deadline_extended.v1",
    ]
    assert rules.fire_due_duties(extended, due).fired == []  # the old due date no longer breaches
    assert [d.key for d in rules.fire_due_duties(extended, new_due).fired] == ["breach:bawaslu_review"]
    with pytest.raises(TransitionRefused, match="1 kali"):
        rules.extend_deadline(extended, DeadlineKind.BAWASLU_REVIEW, 1, reason, Role.BAWASLU, "b", NOW)


def test_a_case_stored_before_subjects_is_read_as_one_subject(rules: CaseRules) -> None:
    legacy = rules.open_case("c1", intake(accused(BUDI)))
    for key in ("subjects", "stage", "subject_keys", "suggested_class", "extensions"):
        legacy.pop(key)
    legacy["state"] = "examined"
    case = upgraded(legacy)
    assert case["stage"] == "recommended" and case["subjects"][0]["state"] == "examined"
    assert act(rules, legacy, A.DECIDE_NOT_PROVEN, Role.PPK)["state"] == "not_proven"
