"""Report rules in services/reports/domain.py: the case flow's table, working days, deadlines and
escalation, matching the accused, and linking reports into one case. Categories and sanctions are
the catalogue's (tests/unit/test_reports_catalogue.py); the case aggregate with several subjects
is tests/unit/test_reports_subjects.py."""

from __future__ import annotations

import datetime as dt

import pytest

from contracts.roles import Role
from services.reports.domain import (
    ACTION_LABELS,
    DEADLINE_LABELS,
    DEADLINE_OPEN_IN,
    DEADLINE_STARTED_BY,
    ESCALATION_LABELS,
    STATE_LABELS,
    TERMINAL_STATES,
    TRANSITIONS,
    Action,
    CaseState,
    DeadlineKind,
    Duty,
    EmployeeRef,
    EscalationLevel,
    ForbiddenAction,
    IllegalTransition,
    WorkingCalendar,
    allowed_actions,
    deadline_due,
    due_duties,
    duties,
    escalation_times,
    match_by_name,
    match_by_nip,
    next_due_at,
    next_state,
    normalise_person_name,
    same_incident,
    subject_key,
)

S = CaseState
A = Action
UTC = dt.UTC
WIB = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


# ---------------------------------------------------------------- state machine

# Written out independently of TRANSITIONS: (action, from state) -> roles that may take it.
TF = {Role.BKN, Role.BKPSDM}
OPEN = [S.RECEIVED, S.VERIFIED, S.RECOMMENDED, S.EXAMINED, S.DECIDED, S.RECORDED, S.APPEALED]
EXPECTED: dict[tuple[Action, CaseState], set[Role]] = {
    (A.VERIFY, S.RECEIVED): TF,
    (A.REJECT, S.RECEIVED): TF,
    (A.REJECT, S.VERIFIED): {Role.BAWASLU},
    (A.RECOMMEND, S.VERIFIED): {Role.BAWASLU},
    (A.EXAMINE, S.RECOMMENDED): {Role.INSPEKTORAT, Role.BKPSDM},
    (A.DECIDE_SANCTION, S.EXAMINED): {Role.PPK},
    (A.DECIDE_NOT_PROVEN, S.EXAMINED): {Role.PPK},
    (A.RECORD, S.DECIDED): {Role.BKPSDM},
    (A.FILE_APPEAL, S.RECORDED): {Role.BKPSDM},
    (A.RESOLVE_APPEAL, S.APPEALED): {Role.BKPSDM},
    (A.CLOSE, S.RECORDED): {Role.BKPSDM},
    (A.CLOSE, S.APPEALED): {Role.BKPSDM},
    **{(A.CANCEL, s): {Role.BKPSDM} for s in (S.RECEIVED, S.VERIFIED, S.RECOMMENDED, S.EXAMINED)},
    **{(A.MARK_OUT_OF_SERVICE, s): {Role.BKPSDM} for s in OPEN},
}
TARGET = {
    A.VERIFY: S.VERIFIED,
    A.REJECT: S.REJECTED,
    A.RECOMMEND: S.RECOMMENDED,
    A.EXAMINE: S.EXAMINED,
    A.DECIDE_SANCTION: S.DECIDED,
    A.DECIDE_NOT_PROVEN: S.NOT_PROVEN,
    A.RECORD: S.RECORDED,
    A.FILE_APPEAL: S.APPEALED,
    A.RESOLVE_APPEAL: S.RECORDED,
    A.CLOSE: S.CLOSED,
    A.CANCEL: S.CANCELLED,
    A.MARK_OUT_OF_SERVICE: S.SUBJECT_OUT_OF_SERVICE,
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(Role))
def test_every_role_and_action_from_every_state(role: Role, action: Action) -> None:
    for state in CaseState:
        roles = EXPECTED.get((action, state))
        if roles is None:
            with pytest.raises(IllegalTransition) as illegal:
                next_state(state, action, role)
            assert illegal.value.allowed == [a.value for a in Action if (a, state) in EXPECTED]
        elif role in roles:
            assert next_state(state, action, role) is TARGET[action]
        else:
            with pytest.raises(ForbiddenAction) as forbidden:
                next_state(state, action, role)
            assert role.value in forbidden.value.message
            assert all(r.value in forbidden.value.message for r in roles)


def test_transition_table_is_complete_and_consistent() -> None:
    assert set(TRANSITIONS) == set(Action)
    for action, rule in TRANSITIONS.items():
        assert rule.action is action and rule.to_state is TARGET[action]
        assert rule.from_states == {s for (a, s) in EXPECTED if a is action}
        assert rule.roles == set().union(*(EXPECTED[(action, s)] for s in rule.from_states))
    assert TERMINAL_STATES == {
        S.CLOSED,
        S.REJECTED,
        S.CANCELLED,
        S.NOT_PROVEN,
        S.SUBJECT_OUT_OF_SERVICE,
        S.MERGED,
    }
    assert set(STATE_LABELS) == set(CaseState) and STATE_LABELS[S.RECEIVED] == "Laporan diterima"
    assert set(ACTION_LABELS) == set(Action)


def test_only_the_ppk_decides() -> None:
    for action in (A.DECIDE_SANCTION, A.DECIDE_NOT_PROVEN):
        assert TRANSITIONS[action].roles == {Role.PPK}
        for role in set(Role) - {Role.PPK}:
            with pytest.raises(ForbiddenAction):
                next_state(S.EXAMINED, action, role)


@pytest.mark.parametrize("state", sorted(TERMINAL_STATES))
def test_terminal_states_allow_nothing(state: CaseState) -> None:
    assert allowed_actions(state) == []
    with pytest.raises(IllegalTransition) as illegal:
        next_state(state, A.CLOSE, Role.BKPSDM)
    assert illegal.value.allowed == []
    assert STATE_LABELS[state] in illegal.value.message
    assert "tidak ada tindakan lagi" in illegal.value.message


def test_allowed_actions_in_declaration_order_and_per_role() -> None:
    assert allowed_actions(S.RECEIVED) == [A.VERIFY, A.REJECT, A.CANCEL, A.MARK_OUT_OF_SERVICE]
    assert allowed_actions(S.RECEIVED, Role.BKN) == [A.VERIFY, A.REJECT]
    assert allowed_actions(S.RECEIVED, Role.BAWASLU) == []
    assert allowed_actions(S.VERIFIED, Role.BAWASLU) == [A.REJECT, A.RECOMMEND]
    assert allowed_actions(S.VERIFIED, Role.BKN) == []
    assert allowed_actions(S.EXAMINED, Role.PPK) == [A.DECIDE_SANCTION, A.DECIDE_NOT_PROVEN]
    assert allowed_actions(S.RECORDED, Role.BKPSDM) == [A.FILE_APPEAL, A.CLOSE, A.MARK_OUT_OF_SERVICE]
    assert allowed_actions(S.RECORDED, Role.AGENCY) == []
    for state in CaseState:
        for role in Role:
            assert allowed_actions(state, role) == [
                a for a in Action if role in EXPECTED.get((a, state), set())
            ]


def test_illegal_transition_names_the_state_and_the_allowed_actions() -> None:
    # Wrong state and wrong role: the state is reported first.
    with pytest.raises(IllegalTransition) as illegal:
        next_state(S.RECEIVED, A.DECIDE_SANCTION, Role.AGENCY)
    message = illegal.value.message
    assert illegal.value.allowed == ["verify", "reject", "cancel", "mark_out_of_service"]
    assert "Laporan diterima" in message and "received" in message
    for action in ("verify", "reject", "cancel", "mark_out_of_service"):
        assert f"({action})" in message
    assert "verifikasi laporan" in message
    assert str(illegal.value) == message


def test_forbidden_action_message_names_who_may() -> None:
    with pytest.raises(ForbiddenAction) as forbidden:
        next_state(S.VERIFIED, A.RECOMMEND, Role.BKPSDM)
    assert "bkpsdm" in forbidden.value.message and "bawaslu" in forbidden.value.message
    assert "tidak berwenang" in forbidden.value.message


def test_happy_path_to_closed() -> None:
    steps = [
        (A.VERIFY, Role.BKN, S.VERIFIED),
        (A.RECOMMEND, Role.BAWASLU, S.RECOMMENDED),
        (A.EXAMINE, Role.INSPEKTORAT, S.EXAMINED),
        (A.DECIDE_SANCTION, Role.PPK, S.DECIDED),
        (A.RECORD, Role.BKPSDM, S.RECORDED),
        (A.FILE_APPEAL, Role.BKPSDM, S.APPEALED),
        (A.CLOSE, Role.BKPSDM, S.CLOSED),
    ]
    state = S.RECEIVED
    for action, role, expected in steps:
        state = next_state(state, action, role)
        assert state is expected
    assert state in TERMINAL_STATES


def test_plain_strings_are_accepted_as_stored() -> None:
    assert next_state(CaseState("received"), Action("verify"), Role("bkpsdm")) is S.VERIFIED
    assert allowed_actions(CaseState("appealed")) == [A.RESOLVE_APPEAL, A.CLOSE, A.MARK_OUT_OF_SERVICE]


# ---------------------------------------------------------------- working days


def test_holidays_and_cuti_bersama_2024(calendar: WorkingCalendar) -> None:
    assert calendar.holiday_name(dt.date(2024, 4, 10)) == "Hari Raya Idul Fitri"
    assert calendar.holiday_name(dt.date(2024, 4, 8)) == "Cuti Bersama Hari Raya Idul Fitri"
    assert calendar.holiday_name(dt.date(2024, 12, 25)) == "Hari Raya Natal"
    assert calendar.holiday_name(dt.date(2024, 12, 26)) == "Cuti Bersama Hari Raya Natal"
    assert calendar.holiday_name(dt.date(2024, 4, 16)) is None
    off = [dt.date(2024, 4, d) for d in (8, 9, 10, 11, 12, 15)]
    assert not any(calendar.is_working_day(d) for d in off)
    assert calendar.is_working_day(dt.date(2024, 4, 5))  # Friday before the break
    assert calendar.is_working_day(dt.date(2024, 4, 16))
    assert not calendar.is_working_day(dt.date(2024, 4, 13))  # Saturday
    assert not calendar.is_working_day(dt.date(2024, 12, 26))
    assert calendar.is_working_day(dt.date(2024, 12, 27))
    assert calendar.is_working_day(dt.date(2024, 12, 31))


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (dt.date(2024, 4, 1), 1, dt.date(2024, 4, 2)),
        (dt.date(2024, 4, 5), 1, dt.date(2024, 4, 16)),  # over the whole Idul Fitri break
        (dt.date(2024, 4, 4), 3, dt.date(2024, 4, 17)),
        (dt.date(2024, 4, 10), 1, dt.date(2024, 4, 16)),  # starting on a holiday
        (dt.date(2024, 4, 6), 5, dt.date(2024, 4, 22)),  # starting on a Saturday
        (dt.date(2024, 12, 24), 1, dt.date(2024, 12, 27)),  # Natal and its cuti bersama
        (dt.date(2024, 12, 24), 3, dt.date(2024, 12, 31)),
        (dt.date(2024, 12, 24), 4, dt.date(2025, 1, 2)),  # Tahun Baru, into the next year
        (dt.date(2024, 4, 1), 0, dt.date(2024, 4, 1)),
    ],
)
def test_add_working_days(calendar: WorkingCalendar, start: dt.date, days: int, expected: dt.date) -> None:
    assert calendar.add_working_days(start, days) == expected


def test_add_working_days_refuses_negative(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="negatif"):
        calendar.add_working_days(dt.date(2024, 4, 1), -1)


def test_end_of_day_and_local_date(calendar: WorkingCalendar) -> None:
    assert calendar.end_of_day(dt.date(2024, 4, 9)) == dt.datetime(2024, 4, 9, 17, 0, tzinfo=UTC)
    assert calendar.end_of_day(dt.date(2024, 4, 9)).tzinfo is UTC
    assert calendar.local_date(dt.datetime(2024, 4, 1, 16, 59, tzinfo=UTC)) == dt.date(2024, 4, 1)
    assert calendar.local_date(dt.datetime(2024, 4, 1, 17, 0, tzinfo=UTC)) == dt.date(2024, 4, 2)
    assert calendar.local_date(dt.datetime(2024, 4, 2, 0, 30, tzinfo=WIB)) == dt.date(2024, 4, 2)
    papua = WorkingCalendar("Asia/Jayapura")
    assert papua.end_of_day(dt.date(2024, 4, 9)) == dt.datetime(2024, 4, 9, 15, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="zona waktu"):
        calendar.local_date(dt.datetime(2024, 4, 1, 10, 0))


# ---------------------------------------------------------------- deadlines


def test_deadline_started_and_open() -> None:
    assert DEADLINE_STARTED_BY == {
        S.RECEIVED: DeadlineKind.VERIFICATION,
        S.VERIFIED: DeadlineKind.BAWASLU_REVIEW,
        S.RECOMMENDED: DeadlineKind.DECISION,
    }
    assert DEADLINE_OPEN_IN == {
        DeadlineKind.VERIFICATION: {S.RECEIVED},
        DeadlineKind.BAWASLU_REVIEW: {S.VERIFIED},
        DeadlineKind.DECISION: {S.RECOMMENDED, S.EXAMINED},
    }
    assert set(DEADLINE_LABELS) == set(DeadlineKind)
    assert set(ESCALATION_LABELS) == set(EscalationLevel)


def test_verification_is_seven_calendar_days_in_local_time(calendar: WorkingCalendar) -> None:
    # 18:30 UTC on 1 April is 01:30 WIB on 2 April: the 7 days count from 2 April, over the holidays.
    started = dt.datetime(2024, 4, 1, 18, 30, tzinfo=UTC)
    assert deadline_due(DeadlineKind.VERIFICATION, started, calendar) == dt.datetime(
        2024, 4, 9, 17, 0, tzinfo=UTC
    )
    earlier = dt.datetime(2024, 4, 1, 16, 30, tzinfo=UTC)  # 23:30 WIB on 1 April
    assert deadline_due(DeadlineKind.VERIFICATION, earlier, calendar) == dt.datetime(
        2024, 4, 8, 17, 0, tzinfo=UTC
    )


def test_bawaslu_review_is_three_working_days(calendar: WorkingCalendar) -> None:
    started = dt.datetime(2024, 12, 23, 9, 0, tzinfo=WIB)  # Monday; 25 and 26 December are off
    assert deadline_due(DeadlineKind.BAWASLU_REVIEW, started, calendar) == dt.datetime(
        2024, 12, 30, 17, 0, tzinfo=UTC
    )
    before_idul_fitri = dt.datetime(2024, 4, 4, 10, 0, tzinfo=WIB)
    assert deadline_due(DeadlineKind.BAWASLU_REVIEW, before_idul_fitri, calendar) == dt.datetime(
        2024, 4, 17, 17, 0, tzinfo=UTC
    )


def test_decision_is_fourteen_working_days_from_the_recommendation(calendar: WorkingCalendar) -> None:
    # 2–5 April, then 16–29 April: the Idul Fitri break (8–15 April) does not count.
    recommended = dt.datetime(2024, 4, 1, 10, 0, tzinfo=WIB)
    assert deadline_due(DeadlineKind.DECISION, recommended, calendar) == dt.datetime(
        2024, 4, 29, 17, 0, tzinfo=UTC
    )


def test_deadline_needs_an_aware_start(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError):
        deadline_due(DeadlineKind.DECISION, dt.datetime(2024, 4, 1, 10, 0), calendar)


DECISION_DUE = dt.datetime(2024, 4, 29, 17, 0, tzinfo=UTC)
REPRIMAND_AT = dt.datetime(2024, 5, 7, 17, 0, tzinfo=UTC)  # 30 Apr, 2, 3, 6, 7 May (1 May is off)
DATA_BLOCK_AT = dt.datetime(2024, 5, 16, 17, 0, tzinfo=UTC)  # 8, 13, 14, 15, 16 May (9, 10 May are off)


def test_escalation_times(calendar: WorkingCalendar) -> None:
    assert escalation_times(DECISION_DUE, calendar) == [
        (EscalationLevel.WARNING, DECISION_DUE),
        (EscalationLevel.REPRIMAND, REPRIMAND_AT),
        (EscalationLevel.DATA_BLOCK, DATA_BLOCK_AT),
    ]
    assert escalation_times(DECISION_DUE, calendar, step_working_days=1) == [
        (EscalationLevel.WARNING, DECISION_DUE),
        (EscalationLevel.REPRIMAND, dt.datetime(2024, 4, 30, 17, 0, tzinfo=UTC)),
        (EscalationLevel.DATA_BLOCK, dt.datetime(2024, 5, 2, 17, 0, tzinfo=UTC)),
    ]
    with pytest.raises(ValueError):
        escalation_times(DECISION_DUE, calendar, step_working_days=0)


VERIFY_DUE = dt.datetime(2024, 4, 8, 17, 0, tzinfo=UTC)
REVIEW_DUE = dt.datetime(2024, 4, 17, 17, 0, tzinfo=UTC)
DEADLINES = {
    DeadlineKind.VERIFICATION: VERIFY_DUE,
    DeadlineKind.BAWASLU_REVIEW: REVIEW_DUE,
    DeadlineKind.DECISION: DECISION_DUE,
}


def keys(found: list[Duty]) -> list[str]:
    return [d.key for d in found]


def test_duties_follow_the_open_deadline(calendar: WorkingCalendar) -> None:
    received = duties(S.RECEIVED, {DeadlineKind.VERIFICATION: VERIFY_DUE}, (), calendar)
    assert received == [Duty("breach:verification", "breach", DeadlineKind.VERIFICATION, None, VERIFY_DUE)]
    # Verified: the verification deadline is met and owes nothing, the review deadline is open.
    assert keys(duties(S.VERIFIED, DEADLINES, (), calendar)) == ["breach:bawaslu_review"]
    for state in (S.RECOMMENDED, S.EXAMINED):
        found = duties(state, DEADLINES, (), calendar)
        assert keys(found) == [
            "breach:decision",
            "escalation:peringatan",
            "escalation:teguran",
            "escalation:blokir_data",
        ]
        assert [d.due_at for d in found] == [DECISION_DUE, DECISION_DUE, REPRIMAND_AT, DATA_BLOCK_AT]
        assert found[2] == Duty(
            "escalation:teguran", "escalation", DeadlineKind.DECISION, EscalationLevel.REPRIMAND, REPRIMAND_AT
        )
    # The PPK decided: nothing more is owed, whatever was fired.
    for state in (S.DECIDED, S.NOT_PROVEN, S.RECORDED, S.CLOSED, S.CANCELLED):
        assert duties(state, DEADLINES, (), calendar) == []


def test_duties_skip_what_already_fired(calendar: WorkingCalendar) -> None:
    fired = {"breach:decision", "escalation:peringatan"}
    found = duties(S.EXAMINED, DEADLINES, fired, calendar)
    assert keys(found) == ["escalation:teguran", "escalation:blokir_data"]
    everything = fired | {"escalation:teguran", "escalation:blokir_data"}
    assert duties(S.EXAMINED, DEADLINES, everything, calendar) == []
    assert next_due_at([]) is None


def test_duties_without_a_started_deadline(calendar: WorkingCalendar) -> None:
    assert duties(S.RECOMMENDED, {DeadlineKind.VERIFICATION: VERIFY_DUE}, (), calendar) == []


def test_due_duties_and_next_due_at(calendar: WorkingCalendar) -> None:
    found = duties(S.RECOMMENDED, DEADLINES, (), calendar)
    assert next_due_at(found) == DECISION_DUE
    assert due_duties(found, DECISION_DUE - dt.timedelta(microseconds=1)) == []
    assert keys(due_duties(found, DECISION_DUE)) == ["breach:decision", "escalation:peringatan"]
    assert keys(due_duties(found, REPRIMAND_AT + dt.timedelta(hours=1))) == [
        "breach:decision",
        "escalation:peringatan",
        "escalation:teguran",
    ]
    later = duties(S.RECOMMENDED, DEADLINES, {"breach:decision", "escalation:peringatan"}, calendar)
    assert next_due_at(later) == REPRIMAND_AT
    assert len(due_duties(found, DATA_BLOCK_AT)) == 4


# ---------------------------------------------------------------- names and matching


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Dr. H. Budi Santoso, S.H., M.H.", "budi santoso"),
        ("Hj. Siti Aminah, S.Pd", "siti aminah"),
        ("Drs Ahmad Yani SE MM", "ahmad yani"),
        ("Ir. Ahmad Yani, M.Si.", "ahmad yani"),
        ("Prof. Dr. Ir. Bambang Wijaya, M.Kom", "bambang wijaya"),
        ("Dra. Sri Wahyuni, A.Md.Kep", "sri wahyuni"),
        ("Andi Pratama, A.Md.", "andi pratama"),
        ("Andi Pratama Amd", "andi pratama"),
        ("Ma'ruf Amin, S.Sos., M.A.P.", "maruf amin"),
        ("Rudi Hartono S. Kom", "rudi hartono"),
        ("Rudi Hartono,S.T.,M.T", "rudi hartono"),
        ("dr. Rina Kurnia, Sp.PD", "rina kurnia"),
        ("Dewi Lestari, S.IP", "dewi lestari"),
        ("Pak Budi", "budi"),
        ("  BUDI   santoso  ", "budi santoso"),
        ("Siti-Aminah", "siti aminah"),
        ("Réné Putri", "rene putri"),
        ("Ahmad M.Yusuf", "ahmad m yusuf"),  # an initial at the end is not a degree
        ("Muhammad Se Hadi", "muhammad se hadi"),  # a degree-like word inside the name stays
        ("Haji", "haji"),  # never strip a name away entirely
        ("", ""),
    ],
)
def test_normalise_person_name(raw: str, expected: str) -> None:
    assert normalise_person_name(raw) == expected


BUDI = EmployeeRef("199001012015031001", "Drs. Budi Santoso, M.Si.", "32.01.001", "Kepala Bidang")
BUDIMAN = EmployeeRef("199202022016042002", "Budiman Santosa", "32.01.001", "Analis")
SITI = EmployeeRef("198503032010012003", "Hj. Siti Aminah, S.Pd.", "32.01.001", "Guru")
AGUS_S = EmployeeRef("198704042012011004", "Agus Salim", "32.01.002", "Staf")
AGUS_H = EmployeeRef("198805052013011005", "Agus Halim", "32.01.002", "Staf")
STAFF = [BUDI, BUDIMAN, SITI, AGUS_S, AGUS_H]


def test_match_by_nip() -> None:
    found = match_by_nip(BUDI.employee_id, BUDI)
    assert (found.status, found.employee_id, found.method) == ("matched", BUDI.employee_id, "nip")
    assert found.candidates[0].score == 100.0 and found.candidates[0].position == "Kepala Bidang"
    missing = match_by_nip("199001012015031999", None)
    assert (missing.status, missing.employee_id, missing.method, missing.candidates) == (
        "unmatched",
        None,
        None,
        (),
    )


def test_match_exact_name_with_titles() -> None:
    found = match_by_name("Budi Santoso, S.H.", STAFF)
    assert (found.status, found.employee_id, found.method) == ("matched", BUDI.employee_id, "name_unit")
    assert found.candidates[0].employee_id == BUDI.employee_id and found.candidates[0].score == 100.0
    assert found.candidates[0].org_unit_code == "32.01.001"
    # "Budiman Santosa" is close enough to be listed, far enough not to block the match.
    assert [c.employee_id for c in found.candidates] == [BUDI.employee_id, BUDIMAN.employee_id]


def test_match_with_typo_and_word_order() -> None:
    typo = match_by_name("Siti Amina", STAFF)
    assert (typo.status, typo.employee_id) == ("matched", SITI.employee_id)
    assert 90 <= typo.candidates[0].score < 100
    swapped = match_by_name("Aminah Siti", STAFF)
    assert (swapped.status, swapped.employee_id) == ("matched", SITI.employee_id)


def test_two_similar_names_are_ambiguous() -> None:
    found = match_by_name("Agus Alim", STAFF)
    assert (found.status, found.employee_id, found.method) == ("ambiguous", None, None)
    assert {c.employee_id for c in found.candidates[:2]} == {AGUS_S.employee_id, AGUS_H.employee_id}
    assert found.candidates[0].score >= found.candidates[1].score
    # The same name twice in the unit: a perfect score is still no clear winner.
    twin = EmployeeRef("199909092020121009", "Siti Aminah", "32.01.003", "Staf")
    assert match_by_name("Siti Aminah", [*STAFF, twin]).status == "ambiguous"


def test_a_lone_close_name_below_accept_is_ambiguous() -> None:
    found = match_by_name("Budi Susanto", [BUDI])  # 83: worth a look, not enough to decide
    assert (found.status, found.employee_id) == ("ambiguous", None)
    assert [c.employee_id for c in found.candidates] == [BUDI.employee_id]
    assert 60 <= found.candidates[0].score < 90


def test_partial_name_is_not_matched() -> None:
    # WRatio would score "Budi" 90 against "Budi Santoso"; a bare first name must not pin an accusation.
    assert match_by_name("Budi", [BUDI]).status == "unmatched"


def test_nobody_matches() -> None:
    assert match_by_name("Joko Widodo", STAFF).status == "unmatched"
    assert match_by_name("Joko Widodo", STAFF).candidates == ()
    assert match_by_name("Budi Santoso", []).status == "unmatched"
    assert match_by_name("Dr.", STAFF).status == "unmatched"


def test_candidates_are_limited_and_floored() -> None:
    many = [EmployeeRef(f"id{i}", f"Agus Salim{'m' * i}", "u", "Staf") for i in range(8)]
    found = match_by_name("Agus Salim", many, limit=3)
    assert len(found.candidates) == 3
    assert [c.employee_id for c in found.candidates] == ["id0", "id1", "id2"]
    assert all(c.score >= 60 for c in match_by_name("Agus Salim", many, limit=50).candidates)
    assert match_by_name("Agus Salim", many, floor=99.0, limit=50).candidates[-1].employee_id == "id0"


def test_subject_key() -> None:
    assert subject_key("199001012015031001", "Drs. Budi", "32.01.001") == "emp:199001012015031001"
    assert subject_key(None, "Drs. Budi Santoso, M.Si.", "32.01.001") == "name:budi santoso|32.01.001"
    assert subject_key(None, "budi santoso", None) == "name:budi santoso|-"
    assert subject_key(None, "Pak Budi Santoso", "32.01.001") == subject_key(
        None, "BUDI SANTOSO", "32.01.001"
    )


def test_same_incident() -> None:
    day = dt.date(2024, 2, 10)
    assert same_incident(day, day)
    assert same_incident(day, dt.date(2024, 2, 12)) and same_incident(dt.date(2024, 2, 8), day)
    assert not same_incident(day, dt.date(2024, 2, 13))
    assert not same_incident(dt.date(2024, 2, 7), day)
    assert same_incident(day, dt.date(2024, 2, 15), window_days=5)
    assert not same_incident(day, dt.date(2024, 2, 11), window_days=0)
