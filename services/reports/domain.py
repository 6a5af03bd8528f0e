"""Violation-report rules: the case state machine, deadlines, their extension and the escalation,
matching the accused to an employee, linking reports into one case, and the case aggregate
(`CaseRules`): a case with one subject per person it is about, each followed up on its own from
the recommendation on, applied to a case document that comes back new with the events it
publishes. The law's tables (categories, sanctions, who examines and decides, remedies) are in
`catalogue.py`, working days in `workdays.py`. Pure: no I/O, and the time always comes in as an
argument.

Messages and labels are in Bahasa Indonesia because reporters, task forces, PPKs and the public
tracking page read them.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from enum import StrEnum
from typing import Any, Literal

from dateutil.relativedelta import relativedelta
from rapidfuzz import fuzz

from contracts.envelope import EventData
from contracts.reports import (
    CaseSnapshot,
    CaseTransitionEvent,
    PublicCaseSnapshot,
    PublicReportAppealFiledV1,
    PublicReportCasesMergedV1,
    PublicReportClosedV1,
    PublicReportDeadlineBreachedV1,
    PublicReportDeadlineExtendedV1,
    PublicReportEscalatedV1,
    PublicReportEscalationLiftedV1,
    PublicReportReceivedV1,
    PublicReportRecommendationIssuedV1,
    PublicReportRejectedV1,
    PublicReportSanctionImposedV1,
    PublicReportSplitV1,
    PublicReportSubjectAddedV1,
    PublicReportSubjectAssignedV1,
    PublicReportVerifiedV1,
    PublicSubjectState,
    PublicTransitionEvent,
    ReportAppealFiledV1,
    ReportCasesMergedV1,
    ReportClosedV1,
    ReportDeadlineBreachedV1,
    ReportDeadlineExtendedV1,
    ReporterAccessHeadV1,
    ReporterContactV1,
    ReportEscalatedV1,
    ReportEscalationLiftedV1,
    ReportReceivedV1,
    ReportRecommendationIssuedV1,
    ReportRejectedV1,
    ReportSanctionImposedV1,
    ReportSplitV1,
    ReportStatusChangedV1,
    ReportSubjectAddedV1,
    ReportSubjectAssignedV1,
    ReportVerifiedV1,
    SubjectState,
)
from contracts.roles import Role
from services.kit.errors import Conflict, Forbidden, InvalidInput
from services.reports.catalogue import CATEGORIES as CATEGORIES  # tests/bench imports it from here
from services.reports.catalogue import (
    CATEGORY_BY_CODE,
    SANCTIONS,
    Authority,
    Category,
    PemdaKind,
    Remedy,
    RemedyOutcome,
    Sanction,
    SubjectFacts,
    ViolationClass,
    check_remedy,
    check_sanction,
    data_block_applies,
    decider_for,
    examiners_for,
    remedies_for,
)
from services.reports.workdays import WorkingCalendar as WorkingCalendar
from services.reports.workdays import require_aware as _require_aware

# ---------------------------------------------------------------- case state machine


class CaseState(StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"
    RECOMMENDED = "recommended"
    EXAMINED = "examined"
    DECIDED = "decided"
    RECORDED = "recorded"
    APPEALED = "appealed"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    NOT_PROVEN = "not_proven"
    SUBJECT_OUT_OF_SERVICE = "subject_out_of_service"
    MERGED = "merged"


TERMINAL_STATES: frozenset[CaseState] = frozenset(
    {
        CaseState.CLOSED,
        CaseState.REJECTED,
        CaseState.CANCELLED,
        CaseState.NOT_PROVEN,
        CaseState.SUBJECT_OUT_OF_SERVICE,
        CaseState.MERGED,
    }
)

# Shown to anonymous reporters on the public tracking page, so plain words rather than legal terms.
STATE_LABELS: dict[CaseState, str] = {
    CaseState.RECEIVED: "Laporan diterima",
    CaseState.VERIFIED: "Laporan diverifikasi satuan tugas netralitas",
    CaseState.RECOMMENDED: "Rekomendasi telah dikirim ke Pejabat Pembina Kepegawaian (PPK)",
    CaseState.EXAMINED: "Pemeriksaan terhadap terlapor telah dilakukan",
    CaseState.DECIDED: "Keputusan atas terlapor telah ditetapkan",
    CaseState.RECORDED: "Keputusan sanksi telah dicatat; keberatan atau banding dapat diajukan",
    CaseState.APPEALED: "Keberatan atau banding sedang diproses",
    CaseState.CLOSED: "Kasus ditutup",
    CaseState.REJECTED: "Laporan ditolak",
    CaseState.CANCELLED: "Laporan dibatalkan",
    CaseState.NOT_PROVEN: "Pelanggaran tidak terbukti",
    CaseState.SUBJECT_OUT_OF_SERVICE: "Terlapor tidak lagi berstatus pegawai",
    CaseState.MERGED: "Laporan digabungkan ke kasus lain tentang terlapor dan kejadian yang sama",
}


class Action(StrEnum):
    VERIFY = "verify"
    REJECT = "reject"
    RECOMMEND = "recommend"
    EXAMINE = "examine"
    DECIDE_SANCTION = "decide_sanction"
    DECIDE_NOT_PROVEN = "decide_not_proven"
    RECORD = "record"
    FILE_APPEAL = "file_appeal"
    RESOLVE_APPEAL = "resolve_appeal"
    CLOSE = "close"
    CANCEL = "cancel"
    MARK_OUT_OF_SERVICE = "mark_out_of_service"


ACTION_LABELS: dict[Action, str] = {
    Action.VERIFY: "verifikasi laporan",
    Action.REJECT: "tolak laporan",
    Action.RECOMMEND: "kirim rekomendasi ke PPK",
    Action.EXAMINE: "catat hasil pemeriksaan",
    Action.DECIDE_SANCTION: "jatuhkan sanksi",
    Action.DECIDE_NOT_PROVEN: "putuskan tidak terbukti",
    Action.RECORD: "catat keputusan sanksi",
    Action.FILE_APPEAL: "catat keberatan atau banding",
    Action.RESOLVE_APPEAL: "catat putusan keberatan atau banding",
    Action.CLOSE: "tutup kasus",
    Action.CANCEL: "batalkan laporan",
    Action.MARK_OUT_OF_SERVICE: "tandai terlapor tidak lagi berstatus pegawai",
}


@dataclass(frozen=True)
class TransitionRule:
    action: Action
    from_states: frozenset[CaseState]
    to_state: CaseState
    roles: frozenset[Role]  # everyone who may take the action from some state
    # Narrower roles for particular states. Rejection is the one case: the task force rejects what it
    # has not verified yet, Bawaslu rejects at the end of its review; neither rejects at the other's step.
    roles_by_state: tuple[tuple[CaseState, frozenset[Role]], ...] = ()

    def roles_in(self, state: CaseState) -> frozenset[Role]:
        """Who may take this action from `state` (empty when the action does not apply there)."""
        if state not in self.from_states:
            return frozenset()
        for narrowed_state, roles in self.roles_by_state:
            if narrowed_state == state:
                return roles
        return self.roles


_TASK_FORCE = frozenset({Role.BKN, Role.BKPSDM})  # the neutrality task force
_OPEN_STATES = frozenset(CaseState) - TERMINAL_STATES


def _rule(
    action: Action,
    from_states: Collection[CaseState],
    to_state: CaseState,
    roles: Collection[Role],
    roles_by_state: Mapping[CaseState, Collection[Role]] | None = None,
) -> TransitionRule:
    narrowed = tuple((state, frozenset(r)) for state, r in (roles_by_state or {}).items())
    return TransitionRule(action, frozenset(from_states), to_state, frozenset(roles), narrowed)


TRANSITIONS: dict[Action, TransitionRule] = {
    rule.action: rule
    for rule in (
        _rule(Action.VERIFY, {CaseState.RECEIVED}, CaseState.VERIFIED, _TASK_FORCE),
        _rule(
            Action.REJECT,
            {CaseState.RECEIVED, CaseState.VERIFIED},
            CaseState.REJECTED,
            _TASK_FORCE | {Role.BAWASLU},
            {CaseState.RECEIVED: _TASK_FORCE, CaseState.VERIFIED: {Role.BAWASLU}},
        ),
        _rule(Action.RECOMMEND, {CaseState.VERIFIED}, CaseState.RECOMMENDED, {Role.BAWASLU}),
        _rule(Action.EXAMINE, {CaseState.RECOMMENDED}, CaseState.EXAMINED, {Role.INSPEKTORAT, Role.BKPSDM}),
        # Only the PPK may decide: PP 94/2021 gives the power to sanction to the PPK and nobody else.
        _rule(Action.DECIDE_SANCTION, {CaseState.EXAMINED}, CaseState.DECIDED, {Role.PPK}),
        _rule(Action.DECIDE_NOT_PROVEN, {CaseState.EXAMINED}, CaseState.NOT_PROVEN, {Role.PPK}),
        _rule(Action.RECORD, {CaseState.DECIDED}, CaseState.RECORDED, {Role.BKPSDM}),
        _rule(Action.FILE_APPEAL, {CaseState.RECORDED}, CaseState.APPEALED, {Role.BKPSDM}),
        # The outcome is decided by the PPK's superior (keberatan) or BPASN (banding administratif),
        # outside the platform (PP 79/2021); BKPSDM records it.
        _rule(Action.RESOLVE_APPEAL, {CaseState.APPEALED}, CaseState.RECORDED, {Role.BKPSDM}),
        _rule(Action.CLOSE, {CaseState.RECORDED, CaseState.APPEALED}, CaseState.CLOSED, {Role.BKPSDM}),
        _rule(
            Action.CANCEL,
            {CaseState.RECEIVED, CaseState.VERIFIED, CaseState.RECOMMENDED, CaseState.EXAMINED},
            CaseState.CANCELLED,
            {Role.BKPSDM},
        ),
        _rule(Action.MARK_OUT_OF_SERVICE, _OPEN_STATES, CaseState.SUBJECT_OUT_OF_SERVICE, {Role.BKPSDM}),
    )
}


class TransitionRefused(Conflict):
    """A transition the case cannot take now (HTTP 409). Its answer always lists
    `allowed_actions`, empty when nothing is possible: the reports API has always answered so."""

    def __init__(self, message: str, allowed: Sequence[str] = ()) -> None:
        super().__init__(message, list(allowed))


class IllegalTransition(TransitionRefused):
    """The action does not apply to the case's current state (HTTP 409)."""

    def __init__(self, message: str, allowed: list[str]) -> None:
        # `allowed`: the action values possible from the state, whoever takes them.
        super().__init__(message, allowed)


class ForbiddenAction(Forbidden):
    """The action applies to the state, but not for this role (HTTP 403)."""


def allowed_actions(state: CaseState, role: Role | None = None) -> list[Action]:
    """Actions possible from `state`, for `role` when given, in Action declaration order."""
    state = CaseState(state)
    return [
        action
        for action in Action
        if (roles := TRANSITIONS[action].roles_in(state)) and (role is None or role in roles)
    ]


def _describe(actions: Sequence[Action]) -> str:
    return ", ".join(f"{ACTION_LABELS[action]} ({action.value})" for action in actions)


def next_state(state: CaseState, action: Action, role: Role) -> CaseState:
    """The state after `role` takes `action`. The state is checked before the role, so a caller who
    is wrong on both learns first that the case has moved on, which no other role can change."""
    state, action, role = CaseState(state), Action(action), Role(role)
    return _target(state, action, role, TRANSITIONS[action].roles_in(state), allowed_actions(state))


# ---------------------------------------------------------------- deadlines and escalation

VERIFICATION_DAYS = 7  # calendar days
BAWASLU_REVIEW_WORKING_DAYS = 3
DECISION_WORKING_DAYS = 14


class DeadlineKind(StrEnum):
    VERIFICATION = "verification"
    BAWASLU_REVIEW = "bawaslu_review"
    DECISION = "decision"


# Entering the state starts the deadline.
DEADLINE_STARTED_BY: dict[CaseState, DeadlineKind] = {
    CaseState.RECEIVED: DeadlineKind.VERIFICATION,
    CaseState.VERIFIED: DeadlineKind.BAWASLU_REVIEW,
    CaseState.RECOMMENDED: DeadlineKind.DECISION,
}

# The deadline still runs while the case is in one of these states; leaving them means the step is done
# (or the case ended), and nothing more is owed.
DEADLINE_OPEN_IN: dict[DeadlineKind, frozenset[CaseState]] = {
    DeadlineKind.VERIFICATION: frozenset({CaseState.RECEIVED}),
    DeadlineKind.BAWASLU_REVIEW: frozenset({CaseState.VERIFIED}),
    # The 14 working days run from the recommendation, through the examination, to the decision.
    DeadlineKind.DECISION: frozenset({CaseState.RECOMMENDED, CaseState.EXAMINED}),
}

DEADLINE_LABELS: dict[DeadlineKind, str] = {
    DeadlineKind.VERIFICATION: "Verifikasi oleh satuan tugas netralitas (7 hari)",
    DeadlineKind.BAWASLU_REVIEW: "Kajian Bawaslu (3 hari kerja)",
    DeadlineKind.DECISION: "Keputusan PPK (14 hari kerja sejak rekomendasi)",
}


@dataclass(frozen=True)
class ExtensionRule:
    """Who may extend a deadline, by how much and how often."""

    roles: frozenset[Role]
    max_working_days: int
    times: int
    basis: str


# Only Bawaslu's review may be extended, once, when Bawaslu needs more information from the reporter:
# UU 7/2017 Pasal 454 ayat (7) lets a Pemilu review run to 14 days instead of 7 (7 more), UU 10/2016
# Pasal 134 ayat (6) gives a Pilkada review 2 more days. A case does not say which election it is
# about yet, so the Pemilu maximum is the bound and Bawaslu answers for using less in a Pilkada.
# The task force's 7 days (SKB 2022) and the PPK's 14 working days have no extension in the rules:
# their lateness is what the escalation is for (platform choice, not an extension the law grants).
EXTENSIONS: dict[DeadlineKind, ExtensionRule] = {
    DeadlineKind.BAWASLU_REVIEW: ExtensionRule(
        frozenset({Role.BAWASLU}),
        max_working_days=7,
        times=1,
        basis="UU 7/2017 Pasal 454 ayat (7); UU 10/2016 Pasal 134 ayat (6)",
    ),
}


def deadline_due(kind: DeadlineKind, started_at: dt.datetime, calendar: WorkingCalendar) -> dt.datetime:
    """When the deadline of `kind`, started at `started_at`, runs out: the end of its last local day."""
    start_day = calendar.local_date(started_at)
    kind = DeadlineKind(kind)
    if kind is DeadlineKind.VERIFICATION:
        last_day = start_day + dt.timedelta(days=VERIFICATION_DAYS)
    elif kind is DeadlineKind.BAWASLU_REVIEW:
        last_day = calendar.add_working_days(start_day, BAWASLU_REVIEW_WORKING_DAYS)
    else:
        last_day = calendar.add_working_days(start_day, DECISION_WORKING_DAYS)
    return calendar.end_of_day(last_day)


class EscalationLevel(StrEnum):
    WARNING = "peringatan"
    REPRIMAND = "teguran"
    DATA_BLOCK = "blokir_data"


ESCALATION_LABELS: dict[EscalationLevel, str] = {
    EscalationLevel.WARNING: "Peringatan kepada PPK karena keputusan melewati 14 hari kerja",
    EscalationLevel.REPRIMAND: "Teguran kepada PPK karena keputusan belum juga ditetapkan",
    EscalationLevel.DATA_BLOCK: "Pemblokiran data kepegawaian terlapor sampai keputusan ditetapkan",
}

ESCALATION_STEP_WORKING_DAYS = 5


def escalation_times(
    decision_due: dt.datetime,
    calendar: WorkingCalendar,
    step_working_days: int = ESCALATION_STEP_WORKING_DAYS,
) -> list[tuple[EscalationLevel, dt.datetime]]:
    """Warning when the decision deadline passes, then a reprimand and a data block each
    `step_working_days` working days later, at the end of the day."""
    if step_working_days < 1:
        raise ValueError("jarak eskalasi minimal 1 hari kerja")
    # The due instant is the midnight that ends the last day, so the last day is the date just before it.
    due_day = calendar.local_date(_require_aware(decision_due) - dt.timedelta(microseconds=1))
    return [
        (EscalationLevel.WARNING, decision_due),
        (
            EscalationLevel.REPRIMAND,
            calendar.end_of_day(calendar.add_working_days(due_day, step_working_days)),
        ),
        (
            EscalationLevel.DATA_BLOCK,
            calendar.end_of_day(calendar.add_working_days(due_day, 2 * step_working_days)),
        ),
    ]


@dataclass(frozen=True)
class Duty:
    """Something the platform owes a case at a given time: notice of a missed deadline, or an escalation."""

    key: str  # "breach:<deadline>" or "escalation:<level>"; the store records it so each fires once
    kind: Literal["breach", "escalation"]
    deadline: DeadlineKind
    level: EscalationLevel | None
    due_at: dt.datetime


def duties(
    state: CaseState,
    deadlines: Mapping[DeadlineKind, dt.datetime],
    fired: Collection[str],
    calendar: WorkingCalendar,
    step_working_days: int = ESCALATION_STEP_WORKING_DAYS,
) -> list[Duty]:
    """Every duty not yet fired for the deadlines still open in `state`, soonest first. `deadlines` maps
    each started deadline to its due instant (see deadline_due)."""
    state = CaseState(state)
    found: list[Duty] = []
    for kind in DeadlineKind:
        due = deadlines.get(kind)
        if due is None or state not in DEADLINE_OPEN_IN[kind]:
            continue
        found.append(Duty(f"breach:{kind.value}", "breach", kind, None, due))
        if kind is DeadlineKind.DECISION:
            for level, at in escalation_times(due, calendar, step_working_days):
                found.append(Duty(f"escalation:{level.value}", "escalation", kind, level, at))
    # Stable sort: at equal times the breach notice goes before the warning it leads to.
    return sorted((d for d in found if d.key not in fired), key=lambda d: d.due_at)


def due_duties(all_duties: Sequence[Duty], now: dt.datetime) -> list[Duty]:
    _require_aware(now)
    return [d for d in all_duties if d.due_at <= now]


def next_due_at(all_duties: Sequence[Duty]) -> dt.datetime | None:
    return min((d.due_at for d in all_duties), default=None)


# ---------------------------------------------------------------- matching the accused

# Keys are the title with dots removed. Prefixes come before the name (and the honorifics reporters
# write, "Pak Budi"); degrees come after it. They are only stripped from the ends of a name, so a name
# that happens to contain one of these words in the middle keeps it.
_PREFIX_TITLES = frozenset(
    {
        "dr", "drs", "dra", "drg", "ir", "h", "hj", "haji", "hajjah", "prof", "kh", "apt", "ns",
        "bapak", "pak", "ibu", "bu", "sdr", "sdri", "saudara", "saudari",
    }
)  # fmt: skip
_SUFFIX_TITLES = frozenset(
    {
        # Bachelor (sarjana) and diploma.
        "se", "sh", "st", "sp", "ss", "sag", "sak", "sakt", "sap", "sds", "sfarm", "sgz", "shi",
        "shut", "sikom", "sip", "sked", "skep", "skes", "skg", "skm", "skom", "spd", "spdi", "spdsd",
        "spi", "spsi", "spt", "ssi", "ssn", "ssos", "sst", "sstp", "stp", "str", "sthi", "ssy", "lc",
        "amd", "ama", "amapd", "amdkep", "amdkeb", "amdkom", "amdak", "amdfarm", "amdgz",
        # Master and doctorate.
        "ma", "mag", "mak", "map", "mars", "mba", "meng", "mh", "mhum", "mkes", "mkm", "mkn", "mkom",
        "mm", "mpd", "mpdi", "mph", "ms", "msc", "msi", "mt", "phd",
        # Professional and specialist.
        "ak", "ca", "cpa", "spa", "spb", "spog", "sppd",
    }
)  # fmt: skip
# A bachelor or specialist degree written with inner dots (S.I.Kom, S.Tr.Kes, Sp.PD) even if not listed
# above. Only S. and Sp. qualify: "M.Nur" and "A.Aziz" at the end of a name are initials, not degrees.
_DOTTED_DEGREE = re.compile(r"^(?:s|sp)(?:\.[a-z]{1,4})+\.?$")
_SPLIT_DEGREE_HEAD = re.compile(r"^[a-z]{1,2}\.$")
_SEPARATORS = re.compile(r"[\s,;/]+")
_APOSTROPHES = re.compile(r"['`’‘]")
_NOT_NAME = re.compile(r"[^\w\s]|_|\d")
_SPACES = re.compile(r"\s+")


def _title_key(token: str) -> str:
    return token.strip(".-()").replace(".", "")


def _is_suffix(token: str) -> bool:
    return _title_key(token) in _SUFFIX_TITLES or bool(_DOTTED_DEGREE.match(token.strip("()")))


@functools.lru_cache(maxsize=131_072)
def normalise_person_name(name: str) -> str:
    """A name as a comparable key: lowercase, without titles, degrees, honorifics, accents or
    punctuation, single-spaced. Cached: matching compares one name against a whole unit's staff."""
    text = unicodedata.normalize("NFKD", name.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    tokens = [t for t in _SEPARATORS.split(text) if t.strip(".-")]
    # Keep at least one token: a name made only of title-like words is still the name we were given.
    while len(tokens) > 1 and _title_key(tokens[0]) in _PREFIX_TITLES:
        tokens.pop(0)
    while len(tokens) > 1:
        if _is_suffix(tokens[-1]):
            tokens.pop()
        elif len(tokens) > 2 and _SPLIT_DEGREE_HEAD.match(tokens[-2]) and _is_suffix(tokens[-2] + tokens[-1]):
            # "S. Kom", "M. Si": a degree split by a space after its first dot.
            del tokens[-2:]
        else:
            break
    joined = _APOSTROPHES.sub("", " ".join(tokens))
    return _SPACES.sub(" ", _NOT_NAME.sub(" ", joined)).strip()


@dataclass(frozen=True)
class EmployeeRef:
    employee_id: str
    name: str
    org_unit_code: str
    position: str


@dataclass(frozen=True)
class MatchCandidate:
    employee_id: str
    name: str
    org_unit_code: str
    position: str
    score: float  # 0..100


@dataclass(frozen=True)
class MatchResult:
    status: Literal["matched", "ambiguous", "unmatched"]
    employee_id: str | None  # set only when matched
    method: Literal["nip", "name_unit"] | None  # set only when matched
    candidates: tuple[MatchCandidate, ...]  # best first


UNMATCHED = MatchResult("unmatched", None, None, ())


def _candidate(employee: EmployeeRef, score: float) -> MatchCandidate:
    return MatchCandidate(
        employee.employee_id, employee.name, employee.org_unit_code, employee.position, score
    )


def match_by_nip(nip: str, employee: EmployeeRef | None) -> MatchResult:
    """The reporter gave a NIP and the registry view found `employee` for it (or nobody)."""
    if employee is None:
        return UNMATCHED
    return MatchResult("matched", employee.employee_id, "nip", (_candidate(employee, 100.0),))


def match_by_name(
    name: str,
    employees: Sequence[EmployeeRef],
    accept: float = 90.0,
    margin: float = 8.0,
    floor: float = 60.0,
    limit: int = 5,
) -> MatchResult:
    """Match a reported name against `employees` (usually the staff of the reported org unit).

    The score is token_sort_ratio on normalised names, not WRatio: WRatio scores a name contained in
    another as a near-match ("budi" against "budi santoso" gets 90, "ani" against "maryani" 90), which
    would pin an accusation on the wrong person. token_sort_ratio still forgives word order
    ("Santoso Budi") and small typos, and a wrong match costs far more than a case that a person
    resolves by hand.
    """
    query = normalise_person_name(name)
    if not query:
        return UNMATCHED
    scored = [
        (fuzz.token_sort_ratio(query, normalise_person_name(e.name), processor=None), e) for e in employees
    ]
    # Ties broken by id so that the same input always lists candidates in the same order.
    ranked = sorted(
        ((score, e) for score, e in scored if score >= floor),
        key=lambda item: (-item[0], item[1].employee_id),
    )
    if not ranked:
        return UNMATCHED
    candidates = tuple(_candidate(e, round(score, 2)) for score, e in ranked[:limit])
    best, best_employee = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    if best >= accept and best - runner_up >= margin:
        return MatchResult("matched", best_employee.employee_id, "name_unit", candidates)
    return MatchResult("ambiguous", None, None, candidates)


# ---------------------------------------------------------------- linking reports into one case


def subject_key(employee_id: str | None, name: str, org_unit_code: str | None) -> str:
    """Who a report is about, as a key that reports through different channels share. An unmatched
    subject is keyed by name and unit, so two anonymous reports about "Drs. Budi" and "budi" in the
    same unit still meet."""
    if employee_id:
        return f"emp:{employee_id}"
    return f"name:{normalise_person_name(name)}|{org_unit_code or '-'}"


INCIDENT_WINDOW_DAYS = 2


def same_incident(a: dt.date, b: dt.date, window_days: int = INCIDENT_WINDOW_DAYS) -> bool:
    """Two reports about the same subject describe one incident when their dates are this close:
    reporters misremember the day, and a campaign event is often reported the day after."""
    return abs((a - b).days) <= window_days


# ---------------------------------------------------------------- the report and its intake

MAX_INCIDENT_AGE = dt.timedelta(days=5 * 365)
"""Older incidents are outside any election the platform follows."""

Document = dict[str, Any]
"""A case, report or employee as the store keeps it: the rules below read and return these."""


def check_incident_date(incident_date: dt.date, today: dt.date) -> None:
    """A report is about something that happened, and recently enough to matter (422 otherwise)."""
    if incident_date > today:
        raise InvalidInput.one("incident_date", "tanggal kejadian tidak boleh di masa depan")
    if incident_date < today - MAX_INCIDENT_AGE:
        raise InvalidInput.one(
            "incident_date", f"tanggal kejadian terlalu lama (lebih dari {MAX_INCIDENT_AGE.days} hari lalu)"
        )


@dataclass(frozen=True)
class ReportForm:
    """A report as its reporter filed it."""

    category: str
    description: str
    incident_date: dt.date
    location: str
    accused: dict[str, Any]
    """The first person the report names; `co_accused` holds the others."""
    evidence: list[dict[str, Any]]
    reporter: dict[str, Any] | None
    """Name and contact, or None for an anonymous report. Stored only encrypted."""
    bawaslu_reference: str | None = None
    co_accused: tuple[dict[str, Any], ...] = ()
    """Everyone else the report names: one act is often done by several people together."""

    @property
    def all_accused(self) -> list[dict[str, Any]]:
        return [self.accused, *self.co_accused]


@dataclass(frozen=True)
class Intake(ReportForm):
    """A report with the channel it came through."""

    _: KW_ONLY
    channel: str


@dataclass(frozen=True)
class PreparedAccused:
    """One person a report names, matched before the group's transaction."""

    accused: dict[str, Any]
    match: MatchResult
    employee: Document | None
    pemda_kind: PemdaKind | None
    """The kind of the pemda the matched employee serves (see `pemda_kind_of`)."""
    subject_key: str


@dataclass(frozen=True)
class PreparedIntake:
    """An intake with everything worked out before its group's transaction. The fields up to
    `sealed_contact` are the first accused's; `co_accused` the others'."""

    intake: Intake
    match: MatchResult
    employee: Document | None
    unit_code: str | None
    unit_path: list[str]
    subject_key: str
    report_id: str
    new_case_id: str
    """The id of the case this report opens, if it links into none."""
    tracking_code: str
    tracking_hash: str
    """The code's keyed hash (see `tracking_hash`): all the report keeps of the code."""
    received_at: dt.datetime
    sealed_identity: bytes | None
    sealed_contact: str | None
    """The reporter's contact sealed for the notify service, for status updates."""
    co_accused: tuple[PreparedAccused, ...] = ()
    pemda_kind: PemdaKind | None = None

    # Cached: a group commit asks for them dozens of times per report (placing, writing, events).
    @functools.cached_property
    def everyone_accused(self) -> tuple[PreparedAccused, ...]:
        first = PreparedAccused(
            self.intake.accused, self.match, self.employee, self.pemda_kind, self.subject_key
        )
        return (first, *self.co_accused)

    @functools.cached_property
    def _subject_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(accused.subject_key for accused in self.everyone_accused))

    @property
    def subject_keys(self) -> list[str]:
        """Every accused's key, once each, first accused first (a new list: a case keeps it)."""
        return list(self._subject_keys)


def tracking_hash(code: str, key: bytes) -> str:
    """Only this hash is stored: someone reading the database cannot follow a reporter's case.
    Keyed (HMAC-SHA256): without the service's key, a copy of the database does not let anyone
    test guessed codes against it."""
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def as_datetime(day: dt.date) -> dt.datetime:
    """A date as MongoDB stores it: midnight UTC."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def name_tokens(name: str) -> list[str]:
    """The words of a person's name that matching looks employees up by."""
    return sorted(set(normalise_person_name(name).split()))


def employee_ref(doc: Document) -> EmployeeRef:
    return EmployeeRef(
        employee_id=doc["_id"],
        name=doc["name"],
        org_unit_code=doc["org_unit_code"],
        position=doc.get("position", ""),
    )


def subject_of(employee: Document) -> dict[str, Any]:
    """What a case keeps of the employee it is about."""
    return {
        "employee_id": employee["_id"],
        "nip": employee.get("nip"),
        "name": employee["name"],
        "employment_type": employee["employment_type"],
        "position": employee.get("position", ""),
        "org_unit_code": employee["org_unit_code"],
        "org_unit_path": employee["org_unit_path"],
        "leader_office": employee.get("leader_office"),
    }


PEMDA_KINDS: frozenset[str] = frozenset({"PROVINCE", "REGENCY", "CITY"})


def pemda_kind_of(lineage_kinds: Sequence[str | None]) -> PemdaKind | None:
    """The kind of the pemda an employee serves: the nearest unit above (or at) theirs that is a
    province, regency or city. `lineage_kinds` are the kinds along the unit path, root first."""
    for kind in reversed(lineage_kinds):
        if kind in PEMDA_KINDS:
            found: PemdaKind = kind  # type: ignore[assignment]
            return found
    return None


def _as_reported(accused: Mapping[str, Any]) -> Document:
    return {
        "name": accused["name"],
        "nip": accused.get("nip"),
        "org_unit_code": accused.get("org_unit_code"),
        "position": accused.get("position"),
    }


def report_document(prepared: PreparedIntake, case_id: str) -> Document:
    """The report as filed. Who filed it is not here: that is sealed, apart."""
    intake = prepared.intake
    return {
        "_id": prepared.report_id,
        "case_id": case_id,
        "tracking_hash": prepared.tracking_hash,
        "channel": intake.channel,
        "category": intake.category,
        "description": intake.description,
        "incident_date": as_datetime(intake.incident_date),
        "location": intake.location,
        "accused": intake.accused,
        "co_accused": list(intake.co_accused),
        "evidence": intake.evidence,
        "bawaslu_reference": intake.bawaslu_reference,
        "anonymous": intake.reporter is None,
        "received_at": prepared.received_at,
    }


# ---------------------------------------------------------------- linking, over a group of reports


@dataclass(frozen=True)
class OpenCase:
    """A case still open on its subject's list, as linking compares it."""

    case_id: str
    incident_date: dt.date


@dataclass(frozen=True)
class Placement:
    case_id: str
    linked: bool
    """True: the report joins a case already open (maybe opened earlier in the same group).
    False: it opens `case_id`, its own new case."""


def place_reports(
    reports: Sequence[PreparedIntake], open_cases: Mapping[str, Sequence[OpenCase]], window_days: int
) -> list[Placement]:
    """Where each report of a group goes, in order: into the first open case about one of the
    people it names (the first accused's cases first) whose incident is within `window_days` of
    its own (see same_incident), counting the cases opened by the reports before it, or else into
    a case of its own, which is then open on every accused's list."""
    known: dict[str, list[OpenCase]] = {key: list(cases) for key, cases in open_cases.items()}
    placements: list[Placement] = []
    for report in reports:
        incident = report.intake.incident_date
        keys = report.subject_keys
        case_id = next(
            (
                c.case_id
                for key in keys
                for c in known.setdefault(key, [])
                if same_incident(c.incident_date, incident, window_days)
            ),
            None,
        )
        if case_id is None:
            for key in keys:
                known[key].append(OpenCase(report.new_case_id, incident))
            placements.append(Placement(report.new_case_id, linked=False))
        else:
            for key in keys:
                if all(c.case_id != case_id for c in known[key]):
                    known[key].append(OpenCase(case_id, incident))
            placements.append(Placement(case_id, linked=True))
    return placements


# ---------------------------------------------------------------- the case's subjects


class SubjectKind(StrEnum):
    ACCUSED = "terlapor"
    # PP 94/2021 Pasal 26 ayat (1) jo. Pasal 28: a direct supervisor who knew of a suspected breach
    # and neither summoned, examined nor reported the employee is sanctioned too; the SKB 2022 has
    # the task force follow such a supervisor up as a subject of the same case.
    SUPERVISOR = "atasan_tidak_bertindak"


SUBJECT_KIND_LABELS: dict[SubjectKind, str] = {
    SubjectKind.ACCUSED: "Terlapor",
    SubjectKind.SUPERVISOR: "Atasan yang mengetahui pelanggaran dan tidak bertindak",
}

MIN_REASON = 10
"""Characters of a stated reason (an added subject, a merge, a split, an extension)."""


def _candidates(match: MatchResult) -> list[Document]:
    return [
        {
            "employee_id": c.employee_id,
            "name": c.name,
            "org_unit_code": c.org_unit_code,
            "position": c.position,
            "score": round(c.score, 1),
        }
        for c in match.candidates
    ]


def new_subject(
    subject_id: str,
    accused: PreparedAccused,
    kind: SubjectKind = SubjectKind.ACCUSED,
    added: Document | None = None,
) -> Document:
    """A subject as a case keeps it: who the report named, whom they were matched to, and their
    own follow-up from the recommendation on (`state` None until then)."""
    return {
        "id": subject_id,
        "kind": kind.value,
        "key": accused.subject_key,
        "accused": _as_reported(accused.accused),
        "employee": subject_of(accused.employee) if accused.employee else None,
        "pemda_kind": accused.pemda_kind,
        "match_status": accused.match.status,
        "candidates": _candidates(accused.match),
        "state": None,
        "examination": None,
        "violation_class": None,
        "sanction": None,
        "decided_at": None,
        "decree": None,
        "remedy": None,
        "data_block": None,
        "added": added,
    }


def _next_subject_id(case: Document) -> str:
    return f"s{len(case['subjects']) + 1}"


def subject_facts(subject: Mapping[str, Any]) -> SubjectFacts | None:
    """What decides who examines and who decides the subject; None while unmatched."""
    employee = subject.get("employee")
    if employee is None:
        return None
    return SubjectFacts(employee["employment_type"], employee.get("leader_office"), subject.get("pemda_kind"))


DEFAULT_EXAMINERS: frozenset[Role] = frozenset({Role.INSPEKTORAT, Role.BKPSDM})
DEFAULT_DECIDER = Role.PPK
"""Who examines and decides while the subject is not matched to an employee: the pemda's own
(PP 94/2021 Pasal 18-19); deciding waits for a confirmed subject anyway."""


class AuthorityUnknown(TransitionRefused):
    """Who examines or decides cannot be told (a Sekda whose pemda is not known): 409."""


def subject_examiners(subject: Mapping[str, Any]) -> frozenset[Role]:
    facts = subject_facts(subject)
    if facts is None:
        return DEFAULT_EXAMINERS
    try:
        return frozenset(a.role for a in examiners_for(facts))
    except ValueError as error:
        raise AuthorityUnknown(str(error)) from error


def subject_decider(subject: Mapping[str, Any]) -> Authority | None:
    facts = subject_facts(subject)
    if facts is None:
        return None
    try:
        return decider_for(facts)
    except ValueError as error:
        raise AuthorityUnknown(str(error)) from error


def _subject_roles(action: Action, subject: Mapping[str, Any]) -> frozenset[Role] | None:
    """Who may take a subject's `action` when the subject's authority decides it (examination and
    decision: catalogue.examiners_for / decider_for); None: the transition table's roles."""
    if action is Action.EXAMINE:
        return subject_examiners(subject)
    if action in (Action.DECIDE_SANCTION, Action.DECIDE_NOT_PROVEN):
        decider = subject_decider(subject)
        return frozenset({decider.role if decider else DEFAULT_DECIDER})
    return None


def _blocks_data(subject: Mapping[str, Any]) -> bool:
    facts = subject_facts(subject)
    return facts is not None and data_block_applies(facts)


def _legacy_subjects(case: Document) -> list[Document]:
    """The subject list of a case stored before cases had several subjects."""
    subject: Document = {
        "id": "s1",
        "kind": SubjectKind.ACCUSED.value,
        "key": case["subject_key"],
        "accused": case["accused"],
        "employee": case.get("subject"),
        "pemda_kind": None,
        "match_status": case["match_status"],
        "candidates": case.get("candidates", []),
        "state": None,
        "examination": None,
        "violation_class": None,
        "sanction": case.get("sanction"),
        "decided_at": case.get("decided_at"),
        "decree": None,
        "remedy": None,
        "data_block": None,
        "added": None,
    }
    if CaseState(case["state"]) not in _CASE_STAGES:
        subject["state"] = case["state"]
    return [subject]


def upgraded(case: Document) -> Document:
    """A stored case in today's shape: older cases had one subject in top-level fields."""
    if "subjects" in case:
        return case
    stage = case["state"] if CaseState(case["state"]) in _CASE_STAGES else CaseState.RECOMMENDED.value
    return {
        **case,
        "stage": stage,
        "subjects": _legacy_subjects(case),
        "subject_keys": [case["subject_key"]],
        "suggested_class": case["violation_class"],
        "extensions": [],
    }


# ---------------------------------------------------------------- the case's state, from its subjects

_CASE_STAGES = frozenset(
    {
        CaseState.RECEIVED,
        CaseState.VERIFIED,
        CaseState.RECOMMENDED,
        CaseState.REJECTED,
        CaseState.CANCELLED,
        CaseState.MERGED,
    }
)
"""The case's own steps, before each subject's follow-up (or instead of it)."""
_STATE_ORDER: dict[CaseState, int] = {state: index for index, state in enumerate(CaseState)}


def subject_state(case: Mapping[str, Any], subject: Mapping[str, Any]) -> CaseState:
    """Where a subject stands: its own step once the recommendation went out, else the case's."""
    return CaseState(subject["state"] or case["stage"])


def case_state(case: Mapping[str, Any]) -> CaseState:
    """The case's state: its own step until the recommendation; from then on the least advanced
    of its subjects still followed up, and when every subject is finished, their common end (or
    `closed` when they ended differently)."""
    stage = CaseState(case["stage"])
    if stage in (CaseState.REJECTED, CaseState.CANCELLED, CaseState.MERGED):
        return stage
    states = [subject_state(case, subject) for subject in case["subjects"]]
    live = [state for state in states if state not in TERMINAL_STATES]
    if live:
        return min(live, key=_STATE_ORDER.__getitem__)
    if len(set(states)) == 1:
        return states[0]
    return CaseState.CLOSED


def _live_subjects(case: Mapping[str, Any]) -> list[Document]:
    return [s for s in case["subjects"] if subject_state(case, s) not in TERMINAL_STATES]


def _first(case: Mapping[str, Any]) -> Document:
    subject: Document = case["subjects"][0]
    return subject


def _refresh(case: Document) -> None:
    """Keep the top-level fields (the first subject's, for single-subject readers and queries)
    and the state in step with the subjects."""
    first = _first(case)
    case["state"] = case_state(case).value
    case["accused"] = first["accused"]
    case["subject"] = first["employee"]
    case["match_status"] = first["match_status"]
    case["candidates"] = first["candidates"]
    case["sanction"] = first["sanction"]
    case["violation_class"] = first["violation_class"] or case["suggested_class"]
    if first.get("decided_at") is not None:
        case["decided_at"] = first["decided_at"]
    # Who acts on some subject above or beside the pemda's own: the case queue shows these
    # roles the cases they act on (see usecases.AUTHORITY_READERS).
    case["authorities"] = sorted({role.value for s in case["subjects"] for role in _acting_roles(s)})


def _acting_roles(subject: Mapping[str, Any]) -> frozenset[Role]:
    """Who examines or decides the subject; the pemda's own when that cannot be told yet."""
    try:
        decider = subject_decider(subject)
        return subject_examiners(subject) | {decider.role if decider else DEFAULT_DECIDER}
    except AuthorityUnknown:
        return DEFAULT_EXAMINERS | {DEFAULT_DECIDER}


# ---------------------------------------------------------------- the case: snapshots and events


def _decree_view(decree: Mapping[str, Any] | None) -> Document | None:
    if decree is None:
        return None
    return {
        "number": decree["number"],
        "date": decree["date"].date(),
        "sanction_start": decree["sanction_start"].date(),
        "sanction_end": decree["sanction_end"].date() if decree.get("sanction_end") else None,
    }


def _remedy_view(remedy: Mapping[str, Any] | None) -> Document | None:
    if remedy is None:
        return None
    return {
        "remedy": remedy["remedy"],
        "authority": remedy["authority"],
        "filed_on": remedy["filed_on"].date(),
        "deadline": remedy["deadline"].date(),
        "outcome": remedy.get("outcome"),
        "decided_on": remedy["decided_on"].date() if remedy.get("decided_on") else None,
        "changed_to": remedy.get("changed_to"),
    }


def _sanction_view(sanction: Mapping[str, Any] | None) -> Document | None:
    if sanction is None:
        return None
    return {key: sanction[key] for key in ("code", "name", "level", "basis")}


def subject_view(case: Mapping[str, Any], subject: Mapping[str, Any]) -> Document:
    """A subject as snapshots and handlers see it."""
    roles = _acting_roles(subject)
    try:
        examiners, decider = subject_examiners(subject), subject_decider(subject)
    except AuthorityUnknown:
        examiners, decider = roles - {DEFAULT_DECIDER}, None
    block = subject.get("data_block")
    return {
        "subject_id": subject["id"],
        "kind": subject["kind"],
        "accused": subject["accused"],
        "employee": subject["employee"],
        "match_status": subject["match_status"],
        "state": subject_state(case, subject).value,
        "violation_class": subject["violation_class"],
        "sanction": _sanction_view(subject["sanction"]),
        "decree": _decree_view(subject.get("decree")),
        "remedy": _remedy_view(subject.get("remedy")),
        "examiner_roles": sorted(role.value for role in examiners),
        "decider_role": (decider.role if decider else DEFAULT_DECIDER).value,
        "data_blocked": bool(block and block.get("lifted_at") is None),
    }


def case_snapshot(case: Document) -> CaseSnapshot:
    return CaseSnapshot(
        case_id=case["_id"],
        state=case["state"],
        category=case["category"],
        violation_class=case["violation_class"],
        channels=case["channels"],
        report_count=len(case["report_ids"]),
        incident_date=case["incident_date"].date(),
        accused=case["accused"],
        subject=case["subject"],
        match_status=case["match_status"],
        org_unit_code=case["org_unit_code"],
        org_unit_path=case["org_unit_path"],
        bawaslu_references=case["bawaslu_references"],
        deadlines=case["deadlines"],
        sanction=_sanction_view(case.get("sanction")),
        received_at=case["received_at"],
        version=case["version"],
        suggested_class=case.get("suggested_class"),
        subjects=[SubjectState(**subject_view(case, s)) for s in case["subjects"]],
    )


def public_snapshot(case: Document) -> PublicCaseSnapshot:
    """The case as agencies see it: the internal snapshot less what identifies the accused."""
    internal = case_snapshot(case)
    fields = {name: getattr(internal, name) for name in PublicCaseSnapshot.model_fields if name != "subjects"}
    subjects = [
        PublicSubjectState(
            subject_id=s.subject_id,
            kind=s.kind,
            state=s.state,
            violation_class=s.violation_class,
            sanction_code=s.sanction.code if s.sanction else None,
        )
        for s in internal.subjects
    ]
    return PublicCaseSnapshot(**fields, subjects=subjects)


def received_events(case: Document, prepared: PreparedIntake, linked: bool) -> list[EventData]:
    """What a new report publishes. The reporter's identity is in none of them; their contact
    only sealed, for the notify service alone."""
    channel = prepared.intake.channel
    events: list[EventData] = [
        ReportReceivedV1(
            case=case_snapshot(case), report_id=prepared.report_id, channel=channel, linked=linked
        ),
        PublicReportReceivedV1(case=public_snapshot(case), linked=linked),
    ]
    if prepared.sealed_contact is not None:
        events.append(
            ReporterContactV1(
                report_id=prepared.report_id, case_id=case["_id"], sealed_contact=prepared.sealed_contact
            )
        )
    return events


# Which event a transition publishes, internally and to agencies.
TRANSITION_EVENTS: dict[Action, tuple[type[CaseTransitionEvent], type[PublicTransitionEvent]]] = {
    Action.VERIFY: (ReportVerifiedV1, PublicReportVerifiedV1),
    Action.REJECT: (ReportRejectedV1, PublicReportRejectedV1),
    Action.RECOMMEND: (ReportRecommendationIssuedV1, PublicReportRecommendationIssuedV1),
    Action.DECIDE_SANCTION: (ReportSanctionImposedV1, PublicReportSanctionImposedV1),
    Action.FILE_APPEAL: (ReportAppealFiledV1, PublicReportAppealFiledV1),
    Action.CLOSE: (ReportClosedV1, PublicReportClosedV1),
    Action.CANCEL: (ReportClosedV1, PublicReportClosedV1),
    Action.DECIDE_NOT_PROVEN: (ReportClosedV1, PublicReportClosedV1),
    Action.MARK_OUT_OF_SERVICE: (ReportClosedV1, PublicReportClosedV1),
}


def transition_events(
    case: Document,
    action: Action,
    from_state: CaseState,
    to_state: CaseState,
    reason: str,
    role: Role,
    now: dt.datetime,
    subject: Mapping[str, Any] | None = None,
) -> list[EventData]:
    internal_type: type[CaseTransitionEvent] = ReportStatusChangedV1
    public_type: type[PublicTransitionEvent] | None = None
    if action in TRANSITION_EVENTS:
        internal_type, public_type = TRANSITION_EVENTS[action]
    common: dict[str, Any] = {
        "action": action.value,
        "from_state": from_state.value,
        "to_state": to_state.value,
        "reason": reason,
        "at": now,
        "subject_id": subject["id"] if subject else None,
    }
    events: list[EventData] = [internal_type(case=case_snapshot(case), actor_role=role.value, **common)]
    if public_type is not None:
        extra: dict[str, Any] = {}
        if public_type is PublicReportSanctionImposedV1:
            assert subject is not None and subject["employee"] is not None and subject["sanction"]
            extra = {
                "subject_employee_id": subject["employee"]["employee_id"],
                "sanction_code": subject["sanction"]["code"],
                "sanction_level": subject["sanction"]["level"],
            }
        events.append(public_type(case=public_snapshot(case), **common, **extra))
    return events


def duty_events(case: Document, duty: Duty, now: dt.datetime, blocked: Sequence[str] = ()) -> list[EventData]:
    """What a fired duty publishes. `blocked`: the employee ids whose data a data block names."""
    if duty.kind == "breach":
        return [
            ReportDeadlineBreachedV1(
                case=case_snapshot(case), deadline=duty.deadline.value, due_at=duty.due_at, detected_at=now
            ),
            PublicReportDeadlineBreachedV1(
                case=public_snapshot(case), deadline=duty.deadline.value, due_at=duty.due_at, detected_at=now
            ),
        ]
    assert duty.level is not None
    return [
        ReportEscalatedV1(
            case=case_snapshot(case), level=duty.level.value, due_at=duty.due_at, detected_at=now
        ),
        PublicReportEscalatedV1(
            case=public_snapshot(case),
            level=duty.level.value,
            due_at=duty.due_at,
            detected_at=now,
            subject_employee_id=blocked[0] if blocked else None,
            subject_employee_ids=list(blocked),
        ),
    ]


def lifted_events(case: Document, subject: Mapping[str, Any], reason: str) -> list[EventData]:
    """The data block on `subject` ends: the decision it waited for came."""
    block = subject["data_block"]
    common: dict[str, Any] = {
        "subject_id": subject["id"],
        "level": EscalationLevel.DATA_BLOCK.value,
        "blocked_at": block["blocked_at"],
        "lifted_at": block["lifted_at"],
    }
    return [
        ReportEscalationLiftedV1(case=case_snapshot(case), reason=reason, **common),
        PublicReportEscalationLiftedV1(
            case=public_snapshot(case), subject_employee_id=subject["employee"]["employee_id"], **common
        ),
    ]


# ---------------------------------------------------------------- the case aggregate

RECEIVED_REASON = "Laporan diterima dan menunggu verifikasi oleh satuan tugas netralitas."
"""The first line of every case's history, on the reporter's tracking page."""
SANCTION_REQUIRED = "wajib diisi untuk decide_sanction: kode sanksi yang dijatuhkan"
SUBJECT_UNCONFIRMED = (
    "terlapor belum dipastikan sebagai pegawai; tetapkan subjek kasus "
    "(PUT /v1/reports/{id}/subject) sebelum memutus sanksi"
)
CASE_FINISHED = "kasus sudah selesai; subjek tidak dapat diubah"
CASE_READ_ONLY = "kasus sudah selesai dan hanya dapat dibaca; tidak ada perubahan yang dapat dilakukan"
SUBJECT_DECIDED = "subjek ini sudah diputus; pegawainya tidak dapat diganti lagi"
BLOCK_LIFTED_REASON = "Keputusan telah ditetapkan; pemblokiran data kepegawaian dicabut."

CASE_ACTIONS: frozenset[Action] = frozenset({Action.VERIFY, Action.REJECT, Action.RECOMMEND, Action.CANCEL})
"""Actions on the case as a whole; every other action is on one subject."""


@dataclass(frozen=True)
class ActionDetails:
    """What some actions record besides their reason (each is checked by its action)."""

    violation_class: ViolationClass | None = None
    """examine: the class the examination decides (default: the category's suggestion)."""
    class_reason: str | None = None
    """examine: why this class (default: the transition's reason)."""
    decree_number: str | None = None
    decree_date: dt.date | None = None
    sanction_start: dt.date | None = None
    """record: the decree (surat keputusan) and when the sanction starts (default: its date)."""
    remedy: Remedy | None = None
    filed_on: dt.date | None = None
    """file_appeal: which remedy and when it was filed (default: the only one allowed; today)."""
    outcome: RemedyOutcome | None = None
    decided_on: dt.date | None = None
    new_sanction: str | None = None
    """resolve_appeal: the outcome, when it was decided, and the new sanction if it changed."""


NO_DETAILS = ActionDetails()


@dataclass(frozen=True)
class CaseChange:
    """A case after a change: its new state (the whole document), and what it publishes."""

    case: Document
    events: list[EventData]
    closed: bool
    """The case left the open ones: its subjects' lists no longer link reports into it."""
    linked_keys: tuple[str, ...] = ()
    """Subject keys the case is now also open under (a confirmed employee, an added subject)."""


@dataclass(frozen=True)
class FiredDuties:
    """A case after a deadline scan reached it."""

    case: Document
    fired: list[Duty]
    events: list[EventData]


def _case_action_roles(case: Mapping[str, Any], action: Action) -> frozenset[Role]:
    if case_state(case) in TERMINAL_STATES:
        return frozenset()
    rule = TRANSITIONS[action]
    if action is Action.CANCEL:
        # Cancelling drops the whole case: only while no subject has been decided.
        live = [subject_state(case, s) for s in _live_subjects(case)]
        return rule.roles if live and all(state in rule.from_states for state in live) else frozenset()
    return rule.roles_in(CaseState(case["stage"]))


def _subject_action_roles(
    case: Mapping[str, Any], subject: Mapping[str, Any], action: Action
) -> frozenset[Role]:
    if case_state(case) in TERMINAL_STATES:
        return frozenset()
    roles = TRANSITIONS[action].roles_in(subject_state(case, subject))
    if roles and action is Action.FILE_APPEAL and _remedy_closed(subject):
        return frozenset()
    if roles:
        override = _subject_roles(action, subject)
        if override is not None:
            return override
    return roles


def _remedy_closed(subject: Mapping[str, Any]) -> str | None:
    """Why no objection or appeal can be filed for the subject now (None: one can)."""
    if subject.get("remedy") is not None:
        return "upaya administratif atas sanksi ini sudah diajukan; kasus dapat ditutup setelah diputus"
    sanction = SANCTIONS.get(subject["sanction"]["code"]) if subject.get("sanction") else None
    if sanction is None or subject.get("employee") is None:
        return "tidak ada sanksi yang dapat diajukan keberatan atau banding; kasus dapat ditutup"
    if not remedies_for(sanction, subject["employee"]["employment_type"]):
        return (
            f"Tidak ada upaya administratif (keberatan atau banding) atas '{sanction.name}': keputusan ini "
            "final; kasus dapat ditutup"
        )
    return None


def subject_allowed_actions(
    case: Mapping[str, Any], subject: Mapping[str, Any], role: Role | None = None
) -> list[Action]:
    """Actions possible on `subject` now (for `role` when given), the case's own included."""
    return [
        action
        for action in Action
        if (
            roles := _case_action_roles(case, action)
            if action in CASE_ACTIONS
            else _subject_action_roles(case, subject, action)
        )
        and (role is None or role in roles)
    ]


def case_allowed_actions(case: Mapping[str, Any], role: Role | None = None) -> list[Action]:
    """Actions possible on the case now, on itself or on any of its subjects, for `role` when
    given, in Action declaration order. A one-subject case lists what it always listed."""
    found = {
        action for subject in case["subjects"] for action in subject_allowed_actions(case, subject, role)
    }
    return [action for action in Action if action in found]


def _target(
    state: CaseState, action: Action, role: Role, roles: frozenset[Role], possible: Sequence[Action]
) -> CaseState:
    """The state after `role` takes `action` from `state`, or the refusal: the state is checked
    before the role, so a caller wrong on both learns first that the case has moved on."""
    where = f"status '{STATE_LABELS[state]}' ({state.value})"
    if not roles:
        if possible:
            message = (
                f"Tindakan '{ACTION_LABELS[action]}' ({action.value}) tidak dapat dilakukan pada {where}. "
                f"Tindakan yang dapat dilakukan: {_describe(possible)}"
            )
        else:
            message = (
                f"Tindakan '{ACTION_LABELS[action]}' ({action.value}) tidak dapat dilakukan pada {where}: "
                "kasus sudah selesai dan tidak ada tindakan lagi"
            )
        raise IllegalTransition(message, [a.value for a in possible])
    if role not in roles:
        who = ", ".join(sorted(r.value for r in roles))
        raise ForbiddenAction(
            f"Peran {role.value} tidak berwenang untuk '{ACTION_LABELS[action]}' ({action.value}) "
            f"pada {where}; yang berwenang: {who}"
        )
    return TRANSITIONS[action].to_state


def find_subject(case: Mapping[str, Any], subject_id: str | None, action: Action | None = None) -> Document:
    """The subject `subject_id` names; without one, the case's only subject, or the only one the
    action is possible on now (a one-subject case never needs the id)."""
    subjects: list[Document] = case["subjects"]
    if subject_id is not None:
        for subject in subjects:
            if subject["id"] == subject_id:
                return subject
        known = ", ".join(s["id"] for s in subjects)
        raise InvalidInput.one(
            "subject_id", f"subjek {subject_id} tidak ada pada kasus ini (subjek: {known})"
        )
    if len(subjects) == 1:
        return subjects[0]
    if action is not None:
        possible = [s for s in subjects if _subject_action_roles(case, s, action)]
        if len(possible) == 1:
            return possible[0]
    known = ", ".join(f"{s['id']} ({s['accused']['name']})" for s in subjects)
    raise InvalidInput.one(
        "subject_id",
        f"kasus ini memiliki {len(subjects)} subjek; sebutkan subject_id salah satu dari: {known}",
    )


def _check_reason(field: str, reason: str | None, what: str) -> str:
    if reason is None or len(reason.strip()) < MIN_REASON:
        raise InvalidInput.one(
            field, f"alasan {what} wajib diisi (minimal {MIN_REASON} karakter) dan dicatat"
        )
    return reason.strip()


def _check_open(case: Mapping[str, Any]) -> None:
    """A finished case is read-only: every change is refused, naming that nothing is possible."""
    if case_state(case) in TERMINAL_STATES:
        raise TransitionRefused(CASE_READ_ONLY, [])


def add_months(day: dt.date, months: int) -> dt.date:
    """`months` calendar months after `day`, on the same day of the month or the month's last
    day when it is shorter (31 January + 1 month is 28 or 29 February)."""
    moved: dt.date = day + relativedelta(months=months)
    return moved


def _sanction_doc(sanction: Sanction) -> Document:
    return {
        "code": sanction.code,
        "name": sanction.name,
        "level": sanction.level.value,
        "basis": sanction.basis,
        "months": sanction.months,
    }


def _sanction_end(start: dt.date, sanction: Mapping[str, Any]) -> dt.datetime | None:
    # A sanction with a period ends that many months after it starts (PP 94/2021 Pasal 8 ayat (3)
    # and (4): 6, 9 or 12 months of allowance cuts, 12 months of demotion or of a non-managerial post).
    months = sanction.get("months")
    return as_datetime(add_months(start, months)) if months else None


class CaseRules:
    """The case's rules with this deployment's calendar and settings: how a case opens, takes
    in reports, moves by transitions, and owes its deadlines. Each method takes the case
    document and returns the new one; `now` always comes in."""

    def __init__(
        self,
        calendar: WorkingCalendar,
        link_window_days: int = INCIDENT_WINDOW_DAYS,
        escalation_step_days: int = ESCALATION_STEP_WORKING_DAYS,
    ) -> None:
        self.calendar = calendar
        self.link_window_days = link_window_days
        self.escalation_step_days = escalation_step_days

    def due(self, kind: DeadlineKind, started_at: dt.datetime) -> dt.datetime:
        return deadline_due(kind, started_at, self.calendar)

    def duties(self, case: Document) -> list[Duty]:
        deadlines = {DeadlineKind(kind): due for kind, due in case["deadlines"].items()}
        return duties(
            CaseState(case["state"]), deadlines, case["fired"], self.calendar, self.escalation_step_days
        )

    def schedule(self, case: Document) -> None:
        """Set `next_due_at`, the one field the deadline scan looks at."""
        due = next_due_at(self.duties(case))
        if due is None:
            case.pop("next_due_at", None)
        else:
            case["next_due_at"] = due

    def place(
        self, reports: Sequence[PreparedIntake], open_cases: Mapping[str, Sequence[OpenCase]]
    ) -> list[Placement]:
        return place_reports(reports, open_cases, self.link_window_days)

    def open_case(self, case_id: str, prepared: PreparedIntake) -> Document:
        """The case a report opens when it links into none: received, its verification running,
        with a subject for each person the report names."""
        intake, now = prepared.intake, prepared.received_at
        suggested = CATEGORY_BY_CODE[intake.category].suggested_class.value
        subjects: list[Document] = []
        for accused in prepared.everyone_accused:
            if all(s["key"] != accused.subject_key for s in subjects):
                subjects.append(new_subject(f"s{len(subjects) + 1}", accused))
        case: Document = {
            "_id": case_id,
            "subject_key": prepared.subject_key,
            "subject_keys": prepared.subject_keys,
            "stage": CaseState.RECEIVED.value,
            "state": CaseState.RECEIVED.value,
            "category": intake.category,
            "suggested_class": suggested,
            "violation_class": suggested,
            "channels": [intake.channel],
            "incident_date": as_datetime(intake.incident_date),
            "subjects": subjects,
            "org_unit_code": prepared.unit_code,
            "org_unit_path": prepared.unit_path,
            "lineage": [*prepared.unit_path, prepared.unit_code] if prepared.unit_code else [],
            "report_ids": [prepared.report_id],
            "bawaslu_references": [intake.bawaslu_reference] if intake.bawaslu_reference else [],
            "deadlines": {
                DeadlineKind.VERIFICATION.value: self.due(DeadlineKind.VERIFICATION, now),
            },
            "extensions": [],
            "fired": [],
            "overdue": False,
            "history": [
                {
                    "state": CaseState.RECEIVED.value,
                    "action": None,
                    "reason": RECEIVED_REASON,
                    "actor_role": None,
                    "actor": None,
                    "at": now,
                }
            ],
            "received_at": now,
            "updated_at": now,
            "version": 1,
        }
        _refresh(case)
        return case

    @staticmethod
    def joining_subjects(case: Mapping[str, Any], prepared: PreparedIntake) -> list[Document]:
        """The people a joining report names whom the case does not hold yet: they become its
        subjects (numbered after the case's own)."""
        keys = set(case["subject_keys"])
        added: list[Document] = []
        for accused in prepared.everyone_accused:
            if accused.subject_key not in keys:
                keys.add(accused.subject_key)
                added.append(new_subject(f"s{len(case['subjects']) + len(added) + 1}", accused))
        return added

    @classmethod
    def join(cls, case: Document, prepared: PreparedIntake) -> None:
        """A report joins `case`, which its group opened (the store joins stored cases alike)."""
        intake = prepared.intake
        added = cls.joining_subjects(case, prepared)
        case["subjects"].extend(added)
        case["subject_keys"].extend(s["key"] for s in added)
        case["report_ids"].append(prepared.report_id)
        if intake.channel not in case["channels"]:
            case["channels"].append(intake.channel)
        if intake.bawaslu_reference and intake.bawaslu_reference not in case["bawaslu_references"]:
            case["bawaslu_references"].append(intake.bawaslu_reference)
        if added:
            _refresh(case)
        case["version"] += 1

    def _finish(
        self,
        before: Document,
        moved: Document,
        entry: Document,
        now: dt.datetime,
    ) -> None:
        """What every change does last: state, deadlines' schedule, history and version."""
        _refresh(moved)
        self.schedule(moved)
        moved["overdue"] = any(duty.kind == "breach" for duty in due_duties(self.duties(moved), now))
        moved["version"] = before["version"] + 1
        moved["updated_at"] = now
        moved["history"] = [*before["history"], {**entry, "state": moved["state"], "at": now}]

    def transition(
        self,
        case: Document,
        action: Action,
        role: Role,
        actor: str,
        reason: str,
        now: dt.datetime,
        sanction_code: str | None = None,
        bawaslu_reference: str | None = None,
        *,
        subject_id: str | None = None,
        details: ActionDetails = NO_DETAILS,
    ) -> CaseChange:
        """Move the case, or one of its subjects, by `action`. Raises InvalidInput (no sanction
        named, no subject named where several could be meant), IllegalTransition, ForbiddenAction,
        TransitionRefused (no confirmed subject, no remedy) or IllegalSanction, in that order."""
        action, role = Action(action), Role(role)
        if action is Action.DECIDE_SANCTION and not sanction_code:
            raise InvalidInput.one("sanction", SANCTION_REQUIRED)
        case = upgraded(case)
        moved: Document = copy.deepcopy(case)
        possible = case_allowed_actions(case)
        subject: Document | None = None
        lifted: list[Document] = []
        if action in CASE_ACTIONS:
            state = case_state(case)
            target = _target(state, action, role, _case_action_roles(case, action), possible)
            moved["stage"] = target.value
            if action is Action.CANCEL:
                lifted = self._lift_blocks(moved["subjects"], now)
            kind = DEADLINE_STARTED_BY.get(target)
            if kind is not None:
                moved["deadlines"] = {**case["deadlines"], kind.value: self.due(kind, now)}
            from_state, to_state = state, target
        else:
            subject = find_subject(moved, subject_id, action)
            state = subject_state(moved, subject)
            closed_remedy = _remedy_closed(subject) if action is Action.FILE_APPEAL else None
            if closed_remedy and state is CaseState.RECORDED:
                raise TransitionRefused(closed_remedy, [a.value for a in possible])
            target = _target(state, action, role, _subject_action_roles(moved, subject, action), possible)
            self._apply(moved, subject, action, target, reason, role, now, sanction_code or "", details)
            subject["state"] = target.value
            if action in (Action.DECIDE_SANCTION, Action.DECIDE_NOT_PROVEN, Action.MARK_OUT_OF_SERVICE):
                lifted = self._lift_blocks([subject], now)
            from_state, to_state = state, target
        if bawaslu_reference and bawaslu_reference not in case["bawaslu_references"]:
            moved["bawaslu_references"] = [*case["bawaslu_references"], bawaslu_reference]
        entry: Document = {
            "action": action.value,
            "reason": reason,
            "actor_role": role.value,
            "actor": actor,
            "subject_id": subject["id"] if subject else None,
        }
        self._finish(case, moved, entry, now)
        if lifted:
            moved["audit"] = [
                *moved.get("audit", []),
                *(
                    {"action": "lift_data_block", "subject_id": s["id"], "actor": actor, "at": now}
                    for s in lifted
                ),
            ]
        events = transition_events(moved, action, from_state, to_state, reason, role, now, subject)
        for lifted_subject in lifted:
            events.extend(lifted_events(moved, lifted_subject, BLOCK_LIFTED_REASON))
        return CaseChange(moved, events, closed=CaseState(moved["state"]) in TERMINAL_STATES)

    def _apply(
        self,
        case: Document,
        subject: Document,
        action: Action,
        target: CaseState,
        reason: str,
        role: Role,
        now: dt.datetime,
        sanction_code: str,
        details: ActionDetails,
    ) -> None:
        """What a subject's action records, beyond its new state."""
        category = CATEGORY_BY_CODE[case["category"]]
        today = self.calendar.local_date(now)
        if action is Action.EXAMINE:
            # SKB 2022: the same act can be an ethics breach (PP 42/2004) or a discipline breach
            # (PP 94/2021); the category only suggests, the examination decides, with a reason.
            decided = details.violation_class or ViolationClass(case["suggested_class"])
            subject["violation_class"] = decided.value
            subject["examination"] = {
                "class": decided.value,
                "reason": (details.class_reason or reason).strip(),
                "by_role": role.value,
                "at": now,
            }
        elif action is Action.DECIDE_SANCTION:
            if subject["employee"] is None:
                raise TransitionRefused(SUBJECT_UNCONFIRMED)
            sanction = check_sanction(
                sanction_code,
                subject["employee"]["employment_type"],
                ViolationClass(subject["violation_class"] or case["suggested_class"]),
                category,
            )
            subject["sanction"] = _sanction_doc(sanction)
            subject["decided_at"] = now
        elif action is Action.DECIDE_NOT_PROVEN:
            subject["decided_at"] = now
        elif action is Action.RECORD:
            decided_on = (
                self.calendar.local_date(subject["decided_at"]) if subject.get("decided_at") else today
            )
            subject["decree"] = self._decree(subject, details, decided_on, today)
        elif action is Action.FILE_APPEAL:
            subject["remedy"] = self._remedy(subject, details, today)
        elif action is Action.RESOLVE_APPEAL:
            self._resolve(case, subject, details, today, category)

    @staticmethod
    def _decree(
        subject: Mapping[str, Any], details: ActionDetails, decided_on: dt.date, today: dt.date
    ) -> Document:
        missing = [
            {"field": field, "message": "wajib diisi untuk record: nomor dan tanggal surat keputusan sanksi"}
            for field, value in (
                ("decree_number", details.decree_number),
                ("decree_date", details.decree_date),
            )
            if not value
        ]
        if missing:
            raise InvalidInput(missing)
        assert details.decree_date is not None and details.decree_number is not None
        if not decided_on <= details.decree_date <= today:
            raise InvalidInput.one(
                "decree_date",
                f"tanggal surat keputusan harus antara tanggal keputusan ({decided_on.isoformat()}) "
                "dan hari ini",
            )
        start = details.sanction_start or details.decree_date
        if start < details.decree_date:
            raise InvalidInput.one(
                "sanction_start", "sanksi tidak dapat berlaku sebelum tanggal surat keputusan"
            )
        return {
            "number": details.decree_number,
            "date": as_datetime(details.decree_date),
            "sanction_start": as_datetime(start),
            "sanction_end": _sanction_end(start, subject["sanction"] or {}),
        }

    def _remedy(self, subject: Mapping[str, Any], details: ActionDetails, today: dt.date) -> Document:
        sanction = SANCTIONS[subject["sanction"]["code"]]
        employment_type = subject["employee"]["employment_type"]
        rules = remedies_for(sanction, employment_type)
        rule = check_remedy(details.remedy, sanction, employment_type) if details.remedy else rules[0]
        decree_date = subject["decree"]["date"].date()
        filed_on = details.filed_on or today
        # The period runs in working days from the day the subject receives the decision (catalogue
        # RemedyRule, PP 79/2021); the platform knows the decree's date only, the earlier and so the
        # safer day to count from.
        deadline = self.calendar.add_working_days(decree_date, rule.filing_days)
        if filed_on > today:
            raise InvalidInput.one("filed_on", "tanggal pengajuan tidak boleh di masa depan")
        if filed_on < decree_date:
            raise InvalidInput.one(
                "filed_on", "upaya administratif tidak dapat diajukan sebelum tanggal surat keputusan"
            )
        if filed_on > deadline:
            raise InvalidInput.one(
                "filed_on",
                f"{rule.remedy.value} diajukan {filed_on.isoformat()}, melewati batas {rule.filing_days} "
                f"hari kerja sejak surat keputusan ({deadline.isoformat()}; {rule.basis})",
            )
        return {
            "remedy": rule.remedy.value,
            "authority": rule.authority_label,
            "basis": rule.basis,
            "filed_on": as_datetime(filed_on),
            "deadline": as_datetime(deadline),
            "outcome": None,
            "decided_on": None,
            "changed_to": None,
            "original_sanction": subject["sanction"],
        }

    @staticmethod
    def _resolve(
        case: Mapping[str, Any], subject: Document, details: ActionDetails, today: dt.date, category: Category
    ) -> None:
        if details.outcome is None:
            outcomes = ", ".join(o.value for o in RemedyOutcome)
            raise InvalidInput.one("outcome", f"wajib diisi untuk resolve_appeal: salah satu dari {outcomes}")
        remedy = dict(subject["remedy"])
        decided_on = details.decided_on or today
        if decided_on < remedy["filed_on"].date() or decided_on > today:
            raise InvalidInput.one("decided_on", "tanggal putusan harus antara pengajuan dan hari ini")
        if details.outcome is RemedyOutcome.CHANGED:
            if not details.new_sanction:
                raise InvalidInput.one(
                    "new_sanction", "wajib diisi bila sanksi diubah: kode sanksi yang baru"
                )
            # The new sanction must be as lawful as a first decision's would be.
            sanction = check_sanction(
                details.new_sanction,
                subject["employee"]["employment_type"],
                ViolationClass(subject["violation_class"] or case["suggested_class"]),
                category,
            )
            subject["sanction"] = _sanction_doc(sanction)
            remedy["changed_to"] = sanction.code
            decree = dict(subject["decree"])
            decree["sanction_end"] = _sanction_end(decree["sanction_start"].date(), subject["sanction"])
            subject["decree"] = decree
        elif details.outcome is RemedyOutcome.CANCELLED:
            subject["sanction"] = None
            decree = dict(subject["decree"])
            decree["sanction_end"] = as_datetime(decided_on)
            subject["decree"] = decree
        remedy["outcome"] = details.outcome.value
        remedy["decided_on"] = as_datetime(decided_on)
        subject["remedy"] = remedy

    @staticmethod
    def _lift_blocks(subjects: Sequence[Document], now: dt.datetime) -> list[Document]:
        """Lift every data block still on `subjects`; the subjects whose block was lifted."""
        lifted = []
        for subject in subjects:
            block = subject.get("data_block")
            if block and block.get("lifted_at") is None:
                subject["data_block"] = {**block, "lifted_at": now}
                lifted.append(subject)
        return lifted

    def assign_subject(
        self,
        case: Document,
        employee: Document,
        pemda_kind: PemdaKind | None,
        role: Role,
        actor: str,
        now: dt.datetime,
        subject_id: str | None = None,
    ) -> CaseChange:
        """The subject is `employee`, as a person confirmed where matching was unsure. From now on
        the case is also open under that employee's key: a later report naming them by NIP about
        the same incident joins it."""
        case = upgraded(case)
        if case_state(case) in TERMINAL_STATES:
            raise Conflict(CASE_FINISHED)
        moved = copy.deepcopy(case)
        subject = find_subject(moved, subject_id)
        if subject_state(moved, subject) not in (
            CaseState.RECEIVED,
            CaseState.VERIFIED,
            CaseState.RECOMMENDED,
            CaseState.EXAMINED,
        ):
            raise Conflict(SUBJECT_DECIDED)
        subject["employee"] = subject_of(employee)
        subject["pemda_kind"] = pemda_kind
        subject["match_status"] = "matched"
        key = subject_key(employee["_id"], employee["name"], employee["org_unit_code"])
        new_keys = tuple(k for k in (key,) if k not in moved["subject_keys"])
        moved["subject_keys"] = [*moved["subject_keys"], *new_keys]
        if subject is moved["subjects"][0]:
            moved["org_unit_code"] = employee["org_unit_code"]
            moved["org_unit_path"] = employee["org_unit_path"]
            moved["lineage"] = [*employee["org_unit_path"], employee["org_unit_code"]]
        _refresh(moved)
        self.schedule(moved)
        moved["updated_at"] = now
        moved["audit"] = [
            *case.get("audit", []),
            {"action": "assign_subject", "subject_id": subject["id"], "actor": actor, "at": now},
        ]
        moved["version"] = case["version"] + 1
        events: list[EventData] = [
            ReportSubjectAssignedV1(
                case=case_snapshot(moved), subject_id=subject["id"], actor_role=role.value, at=now
            ),
            PublicReportSubjectAssignedV1(case=public_snapshot(moved), subject_id=subject["id"], at=now),
        ]
        return CaseChange(moved, events, closed=False, linked_keys=new_keys)

    def add_supervisor(
        self,
        case: Document,
        employee: Document,
        pemda_kind: PemdaKind | None,
        reason: str,
        role: Role,
        actor: str,
        now: dt.datetime,
    ) -> CaseChange:
        """A supervisor who knew of the violation and did not act becomes a subject of the case
        (PP 94/2021 Pasal 26 ayat (1) jo. Pasal 28), with the stated reason. Their follow-up
        starts where the case stands: after the recommendation, at the examination."""
        reason = _check_reason("reason", reason, "menambahkan atasan sebagai subjek")
        case = upgraded(case)
        _check_open(case)
        if any(s["employee"] and s["employee"]["employee_id"] == employee["_id"] for s in case["subjects"]):
            raise Conflict(f"pegawai {employee['_id']} sudah menjadi subjek kasus ini")
        moved = copy.deepcopy(case)
        key = subject_key(employee["_id"], employee["name"], employee["org_unit_code"])
        accused = PreparedAccused(
            {
                "name": employee["name"],
                "nip": employee.get("nip"),
                "org_unit_code": employee["org_unit_code"],
                "position": employee.get("position"),
            },
            MatchResult("matched", employee["_id"], "nip", ()),
            employee,
            pemda_kind,
            key,
        )
        added = {"reason": reason, "by_role": role.value, "actor": actor, "at": now}
        subject = new_subject(_next_subject_id(moved), accused, SubjectKind.SUPERVISOR, added)
        if CaseState(moved["stage"]) is CaseState.RECOMMENDED:
            subject["state"] = CaseState.RECOMMENDED.value
        moved["subjects"].append(subject)
        new_keys = tuple(k for k in (key,) if k not in moved["subject_keys"])
        moved["subject_keys"] = [*moved["subject_keys"], *new_keys]
        entry = {
            "action": "add_subject",
            "reason": reason,
            "actor_role": role.value,
            "actor": actor,
            "subject_id": subject["id"],
        }
        self._finish(case, moved, entry, now)
        events: list[EventData] = [
            ReportSubjectAddedV1(
                case=case_snapshot(moved),
                subject_id=subject["id"],
                kind=SubjectKind.SUPERVISOR.value,
                reason=reason,
                actor_role=role.value,
                at=now,
            ),
            PublicReportSubjectAddedV1(
                case=public_snapshot(moved),
                subject_id=subject["id"],
                kind=SubjectKind.SUPERVISOR.value,
                at=now,
            ),
        ]
        return CaseChange(moved, events, closed=False, linked_keys=new_keys)

    # ------------------------------------------------------------ deadline extension

    def extend_deadline(
        self,
        case: Document,
        kind: DeadlineKind,
        working_days: int,
        reason: str,
        role: Role,
        actor: str,
        now: dt.datetime,
    ) -> CaseChange:
        """Move a running deadline by `working_days`, where EXTENSIONS allows it: by whom, by how
        much and how often. The reporter sees the reason in the tracking history, and the breach
        clock (deadlines, duties, next_due_at) follows the new due date."""
        reason = _check_reason("reason", reason, "perpanjangan tenggat")
        case = upgraded(case)
        _check_open(case)
        kind = DeadlineKind(kind)
        rule = EXTENSIONS.get(kind)
        if rule is None:
            extendable = ", ".join(k.value for k in EXTENSIONS)
            raise InvalidInput.one(
                "deadline",
                f"tenggat '{DEADLINE_LABELS[kind]}' tidak dapat diperpanjang; yang dapat: {extendable}",
            )
        state = case_state(case)
        due = case["deadlines"].get(kind.value)
        if due is None or state not in DEADLINE_OPEN_IN[kind]:
            raise TransitionRefused(
                f"tenggat '{DEADLINE_LABELS[kind]}' tidak sedang berjalan pada status {state.value}"
            )
        if role not in rule.roles:
            who = ", ".join(sorted(r.value for r in rule.roles))
            raise Forbidden(
                f"Peran {role.value} tidak berwenang memperpanjang tenggat ini; yang berwenang: {who}"
            )
        if not 1 <= working_days <= rule.max_working_days:
            raise InvalidInput.one(
                "working_days",
                f"perpanjangan paling banyak {rule.max_working_days} hari kerja ({rule.basis})",
            )
        used = sum(1 for e in case.get("extensions", []) if e["deadline"] == kind.value)
        if used >= rule.times:
            raise TransitionRefused(
                f"tenggat ini sudah diperpanjang {used} kali; batasnya {rule.times} kali ({rule.basis})"
            )
        if due <= now:
            raise TransitionRefused(
                "tenggat sudah lewat; perpanjangan hanya dapat diminta sebelum tenggat berakhir"
            )
        last_day = self.calendar.local_date(due - dt.timedelta(microseconds=1))
        new_due = self.calendar.end_of_day(self.calendar.add_working_days(last_day, working_days))
        moved = copy.deepcopy(case)
        moved["deadlines"] = {**case["deadlines"], kind.value: new_due}
        moved["extensions"] = [
            *case.get("extensions", []),
            {
                "deadline": kind.value,
                "previous_due_at": due,
                "due_at": new_due,
                "working_days": working_days,
                "reason": reason,
                "by_role": role.value,
                "actor": actor,
                "at": now,
            },
        ]
        entry = {
            "action": EXTEND_DEADLINE,
            "reason": reason,
            "actor_role": role.value,
            "actor": actor,
            "subject_id": None,
        }
        self._finish(case, moved, entry, now)
        events: list[EventData] = [
            ReportDeadlineExtendedV1(
                case=case_snapshot(moved),
                deadline=kind.value,
                previous_due_at=due,
                due_at=new_due,
                reason=reason,
                actor_role=role.value,
                at=now,
            ),
            PublicReportDeadlineExtendedV1(
                case=public_snapshot(moved),
                deadline=kind.value,
                previous_due_at=due,
                due_at=new_due,
                reason=reason,
                at=now,
            ),
        ]
        return CaseChange(moved, events, closed=False)

    # ------------------------------------------------------------ merge and split

    def merge(
        self, into: Document, merged: Document, reason: str, role: Role, actor: str, now: dt.datetime
    ) -> tuple[CaseChange, CaseChange]:
        """Case `merged`'s reports and subjects join case `into`, which keeps its own step; `merged`
        ends as such. Both must be open: a finished case is read-only."""
        reason = _check_reason("reason", reason, "penggabungan kasus")
        into, merged = upgraded(into), upgraded(merged)
        if into["_id"] == merged["_id"]:
            raise InvalidInput.one("from_case_id", "kasus tidak dapat digabungkan dengan dirinya sendiri")
        _check_open(into)
        _check_open(merged)
        target = copy.deepcopy(into)
        known = {s["employee"]["employee_id"] for s in target["subjects"] if s["employee"]}
        for subject in merged["subjects"]:
            if subject["key"] in target["subject_keys"] or (
                subject["employee"] and subject["employee"]["employee_id"] in known
            ):
                continue
            moved_subject = {**copy.deepcopy(subject), "id": _next_subject_id(target)}
            if moved_subject["state"] is None and CaseState(target["stage"]) is CaseState.RECOMMENDED:
                moved_subject["state"] = CaseState.RECOMMENDED.value
            target["subjects"].append(moved_subject)
        new_keys = tuple(k for k in merged["subject_keys"] if k not in target["subject_keys"])
        target["subject_keys"] = [*target["subject_keys"], *new_keys]
        target["report_ids"] = [*target["report_ids"], *merged["report_ids"]]
        target["channels"] = [
            *target["channels"],
            *(c for c in merged["channels"] if c not in target["channels"]),
        ]
        target["bawaslu_references"] = [
            *target["bawaslu_references"],
            *(r for r in merged["bawaslu_references"] if r not in target["bawaslu_references"]),
        ]
        entry = {
            "action": MERGE,
            "reason": reason,
            "actor_role": role.value,
            "actor": actor,
            "subject_id": None,
            "merged_case_id": merged["_id"],
        }
        self._finish(into, target, entry, now)
        ended = copy.deepcopy(merged)
        ended["stage"] = CaseState.MERGED.value
        ended["merged_into"] = into["_id"]
        lifted = self._lift_blocks(ended["subjects"], now)
        # The merged case's reporters follow the case their reports joined: its history tells them so.
        self._finish(
            merged,
            ended,
            {
                "action": MERGE,
                "reason": reason,
                "actor_role": role.value,
                "actor": actor,
                "subject_id": None,
                "merged_into": into["_id"],
            },
            now,
        )
        events: list[EventData] = [
            ReportCasesMergedV1(
                case=case_snapshot(target),
                merged_case_id=merged["_id"],
                report_ids=merged["report_ids"],
                reason=reason,
                actor_role=role.value,
                at=now,
            ),
            PublicReportCasesMergedV1(case=public_snapshot(target), merged_case_id=merged["_id"], at=now),
        ]
        closing: dict[str, Any] = {
            "action": MERGE,
            "from_state": case_state(merged).value,
            "to_state": CaseState.MERGED.value,
            "reason": reason,
            "at": now,
        }
        ended_events: list[EventData] = [
            ReportClosedV1(case=case_snapshot(ended), actor_role=role.value, **closing),
            PublicReportClosedV1(case=public_snapshot(ended), **closing),
        ]
        for subject in lifted:
            ended_events.extend(lifted_events(ended, subject, BLOCK_LIFTED_REASON))
        return (
            CaseChange(target, events, closed=False, linked_keys=new_keys),
            CaseChange(ended, ended_events, closed=True),
        )

    def split(
        self,
        case: Document,
        report: Document,
        new_case_id: str,
        accused: PreparedAccused,
        unit_code: str | None,
        unit_path: list[str],
        reason: str,
        role: Role,
        actor: str,
        now: dt.datetime,
    ) -> tuple[CaseChange, CaseChange]:
        """`report` leaves `case` and opens a case of its own, about the person it names first
        (matched again), received anew with its own verification deadline."""
        reason = _check_reason("reason", reason, "pemisahan laporan")
        case = upgraded(case)
        _check_open(case)
        if report["_id"] not in case["report_ids"]:
            raise InvalidInput.one("report_id", f"laporan {report['_id']} tidak ada pada kasus ini")
        if len(case["report_ids"]) < 2:
            raise TransitionRefused("kasus ini hanya memiliki satu laporan; tidak ada yang dapat dipisahkan")
        left = copy.deepcopy(case)
        left["report_ids"] = [r for r in case["report_ids"] if r != report["_id"]]
        self._finish(
            case,
            left,
            {
                "action": SPLIT,
                "reason": reason,
                "actor_role": role.value,
                "actor": actor,
                "subject_id": None,
                "report_id": report["_id"],
                "new_case_id": new_case_id,
            },
            now,
        )
        prepared = PreparedIntake(
            intake=Intake(
                category=report["category"],
                description=report["description"],
                incident_date=report["incident_date"].date(),
                location=report["location"],
                accused=report["accused"],
                evidence=report["evidence"],
                reporter=None,
                bawaslu_reference=report.get("bawaslu_reference"),
                channel=report["channel"],
            ),
            match=accused.match,
            employee=accused.employee,
            unit_code=unit_code,
            unit_path=unit_path,
            subject_key=accused.subject_key,
            report_id=report["_id"],
            new_case_id=new_case_id,
            tracking_code="",
            tracking_hash=report["tracking_hash"],
            received_at=now,
            sealed_identity=None,
            sealed_contact=None,
            pemda_kind=accused.pemda_kind,
        )
        opened = self.open_case(new_case_id, prepared)
        opened["split_from"] = case["_id"]
        opened["history"].append(
            {
                "state": opened["state"],
                "action": SPLIT,
                "reason": reason,
                "actor_role": role.value,
                "actor": actor,
                "subject_id": None,
                "at": now,
                "from_case_id": case["_id"],
            }
        )
        self.schedule(opened)
        events: list[EventData] = [
            ReportSplitV1(
                case=case_snapshot(opened),
                from_case_id=case["_id"],
                report_id=report["_id"],
                reason=reason,
                actor_role=role.value,
                at=now,
            ),
            PublicReportSplitV1(case=public_snapshot(opened), from_case_id=case["_id"], at=now),
        ]
        return CaseChange(left, [], closed=False), CaseChange(opened, events, closed=False)

    # ------------------------------------------------------------ deadlines

    def fire_due_duties(self, case: Document, now: dt.datetime) -> FiredDuties:
        """The duties due by `now` fire, once each; the case then waits for its next one. A data
        block names the undecided subjects with a SIASN record (catalogue.data_block_applies):
        BKN has no personnel data to block for a non-ASN or an elected head."""
        case = upgraded(case)
        fired = due_duties(self.duties(case), now)
        after = copy.deepcopy(case)
        blocked: list[str] = []
        if fired:
            after["fired"] = [*case["fired"], *(duty.key for duty in fired)]
            after["version"] = case["version"] + 1
            if any(duty.kind == "breach" for duty in fired):
                after["overdue"] = True
            if any(duty.level is EscalationLevel.DATA_BLOCK for duty in fired):
                for subject in _live_subjects(after):
                    undecided = subject_state(after, subject) in DEADLINE_OPEN_IN[DeadlineKind.DECISION]
                    if undecided and _blocks_data(subject) and not subject.get("data_block"):
                        subject["data_block"] = {"blocked_at": now, "lifted_at": None}
                        blocked.append(subject["employee"]["employee_id"])
        self.schedule(after)
        events = [
            event
            for duty in fired
            for event in duty_events(
                after, duty, now, blocked if duty.level is EscalationLevel.DATA_BLOCK else ()
            )
        ]
        return FiredDuties(after, fired, events)


EXTEND_DEADLINE = "extend_deadline"
MERGE = "merge"
SPLIT = "split"
"""History actions besides the transitions: the reporter's page shows them with their reason."""


# ---------------------------------------------------------------- what each role sees of a case

UNIT_ADMINS: frozenset[Role] = frozenset({Role.OPD_ADMIN})
"""Roles that see a case only as far as their unit's follow-up needs: which of their employees
it is about, where it stands and its deadlines. Not the reports (description, evidence,
place), not the channels, not the accused as reported, not who acted: a supervisor's report
about their own staff would otherwise point at the supervisor."""


def _unit_admin_subject(case: Mapping[str, Any], subject: Mapping[str, Any]) -> Document:
    return {
        "subject_id": subject["id"],
        "employee": subject["employee"],
        "state": subject_state(case, subject).value,
        "violation_class": subject["violation_class"],
        "sanction": _sanction_view(subject["sanction"]),
    }


def case_summary(case: Document, role: Role) -> Document:
    """A case in a list, or after a change, as `role` may see it."""
    case = upgraded(case)
    state = CaseState(case["state"])
    if role in UNIT_ADMINS:
        return {
            "id": case["_id"],
            "state": state.value,
            "state_label": STATE_LABELS[state],
            "category": case["category"],
            "class": case["violation_class"],
            "subject": case["subject"],
            "subjects": [_unit_admin_subject(case, s) for s in case["subjects"]],
            "org_unit_code": case["org_unit_code"],
            "deadlines": case["deadlines"],
            "overdue": case.get("overdue", False),
            "received_at": case["received_at"],
            "updated_at": case["updated_at"],
        }
    return {
        "id": case["_id"],
        "state": state.value,
        "state_label": STATE_LABELS[state],
        "category": case["category"],
        "class": case["violation_class"],
        "suggested_class": case["suggested_class"],
        "channels": case["channels"],
        "report_count": len(case["report_ids"]),
        "incident_date": case["incident_date"].date(),
        "accused": case["accused"],
        "subject": case["subject"],
        "subjects": [subject_view(case, s) for s in case["subjects"]],
        "match_status": case["match_status"],
        "org_unit_code": case["org_unit_code"],
        "deadlines": case["deadlines"],
        "overdue": case.get("overdue", False),
        "received_at": case["received_at"],
        "updated_at": case["updated_at"],
    }


def case_details(case: Document, reports: Sequence[Document], role: Role) -> Document:
    """One case with its reports, as `role` may see it (no reports at all for a unit admin)."""
    case = upgraded(case)
    summary = case_summary(case, role)
    if role in UNIT_ADMINS:
        return {
            **summary,
            "sanction": _sanction_view(case.get("sanction")),
            "history": [
                {"state": entry["state"], "action": entry["action"], "at": entry["at"]}
                for entry in case["history"]
            ],
        }
    subjects = [
        {
            **subject_view(case, s),
            "candidates": s["candidates"],
            "examination": s.get("examination"),
            "added": s.get("added"),
            "allowed_actions": [
                a.value for a in subject_allowed_actions(case, s, role) if a not in CASE_ACTIONS
            ],
        }
        for s in case["subjects"]
    ]
    return {
        **summary,
        "subjects": subjects,
        "bawaslu_references": case["bawaslu_references"],
        "candidates": case.get("candidates", []),
        "sanction": _sanction_view(case.get("sanction")),
        "extensions": case.get("extensions", []),
        "history": case["history"],
        "reports": [
            {
                "id": r["_id"],
                "channel": r["channel"],
                "category": r["category"],
                "description": r["description"],
                "incident_date": r["incident_date"].date(),
                "location": r["location"],
                "accused": r["accused"],
                "co_accused": r.get("co_accused", []),
                "evidence": r["evidence"],
                "bawaslu_reference": r.get("bawaslu_reference"),
                "anonymous": r["anonymous"],
                "received_at": r["received_at"],
            }
            for r in reports
        ],
    }


# ---------------------------------------------------------------- the log of identity reads

ACCESS_GENESIS = "0" * 64
"""The `prev_hash` of the first entry of the reporter-access log."""
ACCESS_HASHED_FIELDS = ("seq", "case_id", "lineage", "actor", "actor_role", "reason", "identities_read", "at")
"""What an entry's hash covers, with the previous entry's hash."""


def access_time(moment: dt.datetime) -> dt.datetime:
    """`moment` as MongoDB keeps it (UTC, milliseconds), so that a stored entry hashes as written."""
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def access_entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    """The chain link: binds the entry's content to its place and to every entry before it, so
    an edit, a deletion or a reordering changes every hash from that point on."""
    fields = {name: entry.get(name) for name in ACCESS_HASHED_FIELDS}
    at = fields["at"]
    fields["at"] = access_time(at).isoformat(timespec="milliseconds") if isinstance(at, dt.datetime) else at
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{prev_hash}:{canonical}".encode()).hexdigest()


@dataclass(frozen=True)
class AccessHead:
    """The last entry of the access log: how many there are, and the last one's hash."""

    length: int
    hash: str


EMPTY_ACCESS_LOG = AccessHead(0, ACCESS_GENESIS)


def chained_access_entry(
    head: AccessHead,
    entry_id: str,
    case: Document,
    actor: str,
    actor_role: Role,
    reason: str,
    identities_read: int,
    at: dt.datetime,
) -> tuple[Document, AccessHead]:
    """The next entry of the access log after `head`, and the head it makes. The case's lineage
    is kept in the entry, so that auditors see the entries of their units' cases only."""
    entry: Document = {
        "_id": entry_id,
        "seq": head.length,
        "case_id": case["_id"],
        "lineage": list(case.get("lineage", [])),
        "actor": actor,
        "actor_role": actor_role.value,
        "reason": reason,
        "identities_read": identities_read,
        "at": access_time(at),
        "prev_hash": head.hash,
    }
    entry["hash"] = access_entry_hash(head.hash, entry)
    return entry, AccessHead(head.length + 1, entry["hash"])


def access_head_event(head: AccessHead, at: dt.datetime) -> ReporterAccessHeadV1:
    """What is published after each read: the head only, so that the log's content stays here."""
    return ReporterAccessHeadV1(length=head.length, head_hash=head.hash, at=at)


@dataclass(frozen=True)
class AccessLogCheck:
    intact: bool
    length: int
    """Entries checked intact, from the first."""
    head_hash: str
    """The hash of the last intact entry (ACCESS_GENESIS when none)."""
    first_broken: int | None
    problem: str | None


def _link_problem(
    position: int, prev: str, entry: Mapping[str, Any], published: AccessHead | None
) -> str | None:
    if entry.get("seq") != position:
        return f"catatan nomor {position} hilang atau nomor urutnya diubah"
    if entry.get("prev_hash") != prev:
        return f"catatan nomor {position}: rantai terputus (prev_hash tidak cocok)"
    if entry.get("hash") != access_entry_hash(prev, entry):
        return f"catatan nomor {position}: isi catatan telah diubah"
    if published is not None and position == published.length - 1 and entry["hash"] != published.hash:
        return f"catatan nomor {position} tidak cocok dengan kepala log yang diterbitkan"
    return None


def verify_access_log(
    entries: Sequence[Mapping[str, Any]],
    recorded_head: AccessHead | None,
    published: AccessHead | None = None,
) -> AccessLogCheck:
    """Check the whole log in `seq` order against its hashes, the head recorded with it, and a
    head published earlier (an auditor's copy of a `report.reporter_access_head.v1` event).
    An edited entry breaks its own hash, a deleted one leaves a gap, a reordering breaks a
    `prev_hash`; a deleted tail shows against the recorded or the published head."""
    prev = ACCESS_GENESIS
    for position, entry in enumerate(sorted(entries, key=lambda e: int(e.get("seq", -1)))):
        problem = _link_problem(position, prev, entry, published)
        if problem is not None:
            return AccessLogCheck(False, position, prev, position, problem)
        prev = entry["hash"]
    length = len(entries)
    if recorded_head is not None and (recorded_head.length, recorded_head.hash) != (length, prev):
        return AccessLogCheck(
            False, length, prev, length, "kepala log tidak cocok dengan catatan: ada catatan yang dihapus"
        )
    if published is not None and published.length > length:
        return AccessLogCheck(
            False,
            length,
            prev,
            length,
            f"log lebih pendek ({length}) daripada kepala yang diterbitkan ({published.length})",
        )
    return AccessLogCheck(True, length, prev, None, None)


# ---------------------------------------------------------------- evidence files and additions

EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
"""The largest evidence file: a phone photo or a short clip; a longer video goes in as a link."""
EVIDENCE_MAX_FILES = 5
"""Files per report, and per addition to it."""
EVIDENCE_TYPES: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "application/pdf": "pdf",
    "video/mp4": "mp4",
}
"""What evidence files may be, with the extension a handler's download is named with."""
EVIDENCE_TYPE_NAMES = "JPEG, PNG, PDF atau MP4"
MIN_ADDITION = 10
"""Characters of the text a reporter adds later (files alone need none)."""
MAX_ADDITION = 5000


def sniff_evidence_type(content: bytes) -> str | None:
    """The media type of an evidence file from its first bytes (its magic number), never from its
    name or the type the browser declared: a text file named `foto.png` is not a PNG."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    # ISO base media: a box size, then "ftyp" and a brand (isom, mp41, mp42, avc1, M4V ...).
    if len(content) >= 12 and content[4:8] == b"ftyp":
        return "video/mp4"
    return None


@dataclass(frozen=True)
class EvidenceFile:
    """An uploaded evidence file that passed the checks, with what the report records of it."""

    content: bytes
    media_type: str
    sha256: str
    number: int
    """Its place among the files of one upload, from 1: what it is called in messages."""

    @property
    def size(self) -> int:
        return len(self.content)


def check_evidence_files(files: Sequence[tuple[str, bytes]], field: str = "berkas") -> list[EvidenceFile]:
    """Every `(name as sent, content)` checked at once, so that a reporter learns of every bad
    file in one answer: at most EVIDENCE_MAX_FILES, each non-empty, within EVIDENCE_MAX_BYTES and
    of an allowed type by its content. The name is used in messages only, and never stored: a
    file's name ("IMG_rina_hp.jpg") can say who took it."""
    if len(files) > EVIDENCE_MAX_FILES:
        raise InvalidInput.one(
            field, f"paling banyak {EVIDENCE_MAX_FILES} berkas; kirim sisanya sebagai tautan"
        )
    problems: list[dict[str, Any]] = []
    checked: list[EvidenceFile] = []
    limit_mb = EVIDENCE_MAX_BYTES // (1024 * 1024)
    for number, (name, content) in enumerate(files, start=1):
        shown = _shown_name(name) or f"berkas ke-{number}"
        if not content:
            problems.append({"field": field, "message": f"{shown} kosong; pilih berkas lain"})
            continue
        if len(content) > EVIDENCE_MAX_BYTES:
            problems.append(
                {
                    "field": field,
                    "message": f"{shown} lebih dari {limit_mb} MB; perkecil atau kirim sebagai tautan",
                }
            )
            continue
        media_type = sniff_evidence_type(content)
        if media_type is None:
            problems.append(
                {
                    "field": field,
                    "message": (
                        f"{shown} bukan berkas {EVIDENCE_TYPE_NAMES} (isinya diperiksa, bukan hanya "
                        "namanya); pilih foto, PDF atau video yang benar"
                    ),
                }
            )
            continue
        checked.append(EvidenceFile(content, media_type, hashlib.sha256(content).hexdigest(), number))
    if problems:
        raise InvalidInput(problems)
    return checked


def _shown_name(name: str) -> str:
    """A file's name as a message may quote it: its last part, printable, short."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    printable = "".join(char for char in base if char.isprintable())
    return f"'{printable[:80]}'" if printable else ""


def evidence_entry(file_id: str, evidence: EvidenceFile) -> Document:
    """What a report records of a stored file: its id in the service's file store, its SHA-256
    (so that a handler can show the file is the one received), type and size. Not its name."""
    return {
        "file_id": file_id,
        "sha256": evidence.sha256,
        "media_type": evidence.media_type,
        "size": evidence.size,
    }


def evidence_download_name(entry: Mapping[str, Any]) -> str:
    return f"bukti-{str(entry['sha256'])[:12]}.{EVIDENCE_TYPES.get(str(entry.get('media_type')), 'bin')}"


def check_addition(text: str | None, files: int) -> str:
    """What a reporter adds later: some text, or at least one file (then the text may be empty)."""
    text = (text or "").strip()
    if len(text) > MAX_ADDITION:
        raise InvalidInput.one("keterangan", f"keterangan terlalu panjang (maksimal {MAX_ADDITION} karakter)")
    if files == 0 and len(text) < MIN_ADDITION:
        raise InvalidInput.one(
            "keterangan",
            f"tulis keterangan tambahan (minimal {MIN_ADDITION} karakter) atau lampirkan berkas",
        )
    return text


def report_addition(text: str, evidence: Sequence[Document], at: dt.datetime) -> Document:
    """Information the reporter added to their report after filing it."""
    return {"text": text, "evidence": list(evidence), "at": at}


# ---------------------------------------------------------------- deadline badges


@dataclass(frozen=True)
class DeadlineBadge:
    """A running deadline as a queue shows it: working days left, or working days late."""

    kind: DeadlineKind
    label: str
    due_at: dt.datetime
    working_days: int
    late: bool


def working_days_between(calendar: WorkingCalendar, first: dt.date, last: dt.date) -> int:
    """Working days from `first` to `last`, both counted; 0 when `last` is before `first`."""
    count, day = 0, first
    while day <= last:
        count += calendar.is_working_day(day)
        day += dt.timedelta(days=1)
    return count


def deadline_badges(
    case: Mapping[str, Any], now: dt.datetime, calendar: WorkingCalendar
) -> list[DeadlineBadge]:
    """The deadlines still running in the case's state: how many working days are left (today
    included when it is one), or, once passed, how many working days it is late."""
    state = CaseState(case["state"])
    today = calendar.local_date(now)
    badges: list[DeadlineBadge] = []
    for kind in DeadlineKind:
        due = case.get("deadlines", {}).get(kind.value)
        if due is None or state not in DEADLINE_OPEN_IN[kind]:
            continue
        # The due instant is the midnight that ends the last day (see deadline_due).
        last_day = calendar.local_date(_require_aware(due) - dt.timedelta(microseconds=1))
        if now < due:
            left = working_days_between(calendar, today, last_day)
            badges.append(DeadlineBadge(kind, DEADLINE_LABELS[kind], due, left, late=False))
        else:
            late = working_days_between(calendar, last_day + dt.timedelta(days=1), today)
            badges.append(DeadlineBadge(kind, DEADLINE_LABELS[kind], due, late, late=True))
    return badges
