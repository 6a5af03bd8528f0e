"""Violation-report rules: categories, the case state machine, sanctions, working days, deadlines
and escalation, matching the accused to an employee, linking reports into one case, and the case
aggregate (`CaseRules`), which applies them to a case document and returns the new one with the
events it publishes. Pure: no I/O, and the time always comes in as an argument.

Messages and labels are in Bahasa Indonesia because reporters, task forces, PPKs and the public
tracking page read them.
"""

from __future__ import annotations

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
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo

import holidays
from rapidfuzz import fuzz

from contracts.envelope import EventData
from contracts.reports import (
    CaseSnapshot,
    CaseTransitionEvent,
    PublicCaseSnapshot,
    PublicReportAppealFiledV1,
    PublicReportClosedV1,
    PublicReportDeadlineBreachedV1,
    PublicReportEscalatedV1,
    PublicReportReceivedV1,
    PublicReportRecommendationIssuedV1,
    PublicReportRejectedV1,
    PublicReportSanctionImposedV1,
    PublicReportVerifiedV1,
    PublicTransitionEvent,
    ReportAppealFiledV1,
    ReportClosedV1,
    ReportDeadlineBreachedV1,
    ReporterAccessHeadV1,
    ReporterContactV1,
    ReportEscalatedV1,
    ReportReceivedV1,
    ReportRecommendationIssuedV1,
    ReportRejectedV1,
    ReportSanctionImposedV1,
    ReportStatusChangedV1,
    ReportVerifiedV1,
)
from contracts.roles import Role
from services.kit.errors import Conflict, Forbidden, InvalidInput

# ---------------------------------------------------------------- categories


class ViolationClass(StrEnum):
    ETHICS = "etika"  # moral sanction under PP 42/2004
    DISCIPLINE = "disiplin"  # PP 94/2021, medium or heavy


@dataclass(frozen=True)
class Category:
    code: str
    name: str  # Bahasa Indonesia description
    violation_class: ViolationClass


# The appendix of the SKB 5 Menteri 2022, in its order. The order is part of the interface: forms and
# reports list the categories as the SKB does.
CATEGORIES: tuple[Category, ...] = (
    Category(
        "alat_peraga_kampanye",
        "Memasang spanduk, baliho, atau alat peraga kampanye lainnya terkait calon",
        ViolationClass.ETHICS,
    ),
    Category(
        "kampanye_media_sosial",
        "Sosialisasi atau kampanye melalui media sosial untuk calon",
        ViolationClass.ETHICS,
    ),
    Category(
        "interaksi_akun_kandidat",
        "Membuat posting, komentar, membagikan, menyukai, bergabung, atau mengikuti akun calon "
        "atau tim kampanye",
        ViolationClass.ETHICS,
    ),
    Category(
        "foto_bersama_kandidat",
        "Berfoto bersama calon atau tim kampanye, atau memperlihatkan simbol keberpihakan "
        "(misalnya gerakan tangan)",
        ViolationClass.ETHICS,
    ),
    Category(
        "hadir_deklarasi_kampanye",
        "Menghadiri deklarasi, kampanye, atau kegiatan calon",
        ViolationClass.ETHICS,
    ),
    Category(
        "kampanye_pasangan_tanpa_cuti",
        "Mengikuti kampanye suami atau istri yang menjadi calon tanpa mengambil cuti "
        "di luar tanggungan negara",
        ViolationClass.ETHICS,
    ),
    Category(
        "anggota_pengurus_parpol",
        "Menjadi anggota atau pengurus partai politik",
        ViolationClass.DISCIPLINE,
    ),
    Category(
        "mencalonkan_diri",
        "Mencalonkan diri atau bersedia dicalonkan tanpa mengundurkan diri sebagai ASN",
        ViolationClass.DISCIPLINE,
    ),
    Category(
        "kegiatan_keberpihakan",
        "Membuat atau menyelenggarakan kegiatan yang mengarah pada keberpihakan kepada calon",
        ViolationClass.DISCIPLINE,
    ),
    Category(
        "tim_kampanye",
        "Menjadi anggota tim kampanye atau tim sukses calon",
        ViolationClass.DISCIPLINE,
    ),
    Category(
        "mengumpulkan_ktp",
        "Mengumpulkan fotokopi KTP atau surat keterangan penduduk untuk mendukung calon",
        ViolationClass.DISCIPLINE,
    ),
    Category(
        "keputusan_menguntungkan_merugikan",
        "Membuat keputusan atau tindakan yang menguntungkan atau merugikan calon",
        ViolationClass.DISCIPLINE,
    ),
    Category(
        "lainnya",
        "Pelanggaran netralitas lainnya",
        ViolationClass.DISCIPLINE,
    ),
)

CATEGORY_BY_CODE: dict[str, Category] = {category.code: category for category in CATEGORIES}

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


TERMINAL_STATES: frozenset[CaseState] = frozenset(
    {
        CaseState.CLOSED,
        CaseState.REJECTED,
        CaseState.CANCELLED,
        CaseState.NOT_PROVEN,
        CaseState.SUBJECT_OUT_OF_SERVICE,
    }
)

# Shown to anonymous reporters on the public tracking page, so plain words rather than legal terms.
STATE_LABELS: dict[CaseState, str] = {
    CaseState.RECEIVED: "Laporan diterima",
    CaseState.VERIFIED: "Laporan diverifikasi satuan tugas netralitas",
    CaseState.RECOMMENDED: "Rekomendasi telah dikirim ke Pejabat Pembina Kepegawaian (PPK)",
    CaseState.EXAMINED: "Pemeriksaan terhadap terlapor telah dilakukan",
    CaseState.DECIDED: "PPK telah menjatuhkan sanksi",
    CaseState.RECORDED: "Keputusan sanksi telah dicatat; keberatan atau banding dapat diajukan",
    CaseState.APPEALED: "Keberatan atau banding sedang diproses",
    CaseState.CLOSED: "Kasus ditutup",
    CaseState.REJECTED: "Laporan ditolak",
    CaseState.CANCELLED: "Laporan dibatalkan",
    CaseState.NOT_PROVEN: "Pelanggaran tidak terbukti",
    CaseState.SUBJECT_OUT_OF_SERVICE: "Terlapor tidak lagi berstatus pegawai",
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
    rule = TRANSITIONS[action]
    roles = rule.roles_in(state)
    where = f"status '{STATE_LABELS[state]}' ({state.value})"
    if not roles:
        possible = allowed_actions(state)
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
    return rule.to_state


# ---------------------------------------------------------------- sanctions


class SanctionLevel(StrEnum):
    MORAL = "moral"
    LIGHT = "ringan"
    MEDIUM = "sedang"
    HEAVY = "berat"
    CONTRACT = "kontrak"


@dataclass(frozen=True)
class Sanction:
    code: str
    name: str
    level: SanctionLevel
    basis: str  # legal reference, shown on the decision


_PP42 = "PP 42/2004 tentang Pembinaan Jiwa Korps dan Kode Etik PNS (sanksi moral)"
_PP94_LIGHT = "PP 94/2021 tentang Disiplin PNS, Pasal 8 ayat (2)"
_PP94_MEDIUM = "PP 94/2021 tentang Disiplin PNS, Pasal 8 ayat (3)"
_PP94_HEAVY = "PP 94/2021 tentang Disiplin PNS, Pasal 8 ayat (4)"
_PPPK = "PP 49/2018 tentang Manajemen PPPK (pemutusan hubungan perjanjian kerja)"
_CONTRACT = "Perjanjian kerja pegawai non-ASN, oleh kepala OPD"

SANCTIONS: dict[str, Sanction] = {
    s.code: s
    for s in (
        Sanction(
            "moral_pernyataan_tertutup",
            "Sanksi moral: pernyataan secara tertutup",
            SanctionLevel.MORAL,
            _PP42,
        ),
        Sanction(
            "moral_pernyataan_terbuka", "Sanksi moral: pernyataan secara terbuka", SanctionLevel.MORAL, _PP42
        ),
        Sanction("teguran_lisan", "Teguran lisan", SanctionLevel.LIGHT, _PP94_LIGHT),
        Sanction("teguran_tertulis", "Teguran tertulis", SanctionLevel.LIGHT, _PP94_LIGHT),
        Sanction(
            "pernyataan_tidak_puas", "Pernyataan tidak puas secara tertulis", SanctionLevel.LIGHT, _PP94_LIGHT
        ),
        Sanction(
            "potong_tukin_25_6_bulan",
            "Pemotongan tunjangan kinerja 25% selama 6 bulan",
            SanctionLevel.MEDIUM,
            _PP94_MEDIUM,
        ),
        Sanction(
            "potong_tukin_25_9_bulan",
            "Pemotongan tunjangan kinerja 25% selama 9 bulan",
            SanctionLevel.MEDIUM,
            _PP94_MEDIUM,
        ),
        Sanction(
            "potong_tukin_25_12_bulan",
            "Pemotongan tunjangan kinerja 25% selama 12 bulan",
            SanctionLevel.MEDIUM,
            _PP94_MEDIUM,
        ),
        Sanction(
            "penurunan_jabatan_12_bulan",
            "Penurunan jabatan setingkat lebih rendah selama 12 bulan",
            SanctionLevel.HEAVY,
            _PP94_HEAVY,
        ),
        Sanction(
            "pembebasan_jabatan_12_bulan",
            "Pembebasan dari jabatan menjadi jabatan pelaksana selama 12 bulan",
            SanctionLevel.HEAVY,
            _PP94_HEAVY,
        ),
        Sanction(
            "pemberhentian_tidak_atas_permintaan",
            "Pemberhentian dengan hormat tidak atas permintaan sendiri sebagai PNS",
            SanctionLevel.HEAVY,
            _PP94_HEAVY,
        ),
        Sanction(
            "pemutusan_hubungan_perjanjian_kerja",
            "Pemutusan hubungan perjanjian kerja PPPK",
            SanctionLevel.HEAVY,
            _PPPK,
        ),
        Sanction(
            "kontrak_teguran_tertulis",
            "Teguran tertulis berdasarkan perjanjian kerja",
            SanctionLevel.CONTRACT,
            _CONTRACT,
        ),
        Sanction("kontrak_pemutusan", "Pemutusan perjanjian kerja", SanctionLevel.CONTRACT, _CONTRACT),
    )
}

EmploymentType = Literal["PNS", "PPPK", "NON_ASN"]
EMPLOYMENT_TYPES: tuple[EmploymentType, ...] = ("PNS", "PPPK", "NON_ASN")

# Demotion and moving to a non-managerial post presuppose a PNS career; a PPPK's heavy sanction is the
# end of the contract.
_PPPK_DISCIPLINE_CODES = frozenset(
    {
        "potong_tukin_25_6_bulan",
        "potong_tukin_25_9_bulan",
        "potong_tukin_25_12_bulan",
        "pemutusan_hubungan_perjanjian_kerja",
    }
)
_PNS_HEAVY_CODES = frozenset(
    {"penurunan_jabatan_12_bulan", "pembebasan_jabatan_12_bulan", "pemberhentian_tidak_atas_permintaan"}
)
_PARTY_MEMBERSHIP = "anggota_pengurus_parpol"


def legal_sanctions(employment_type: EmploymentType, category: Category) -> list[Sanction]:
    """The sanctions a decision may impose for this kind of employee and violation, in catalogue order."""
    if employment_type not in EMPLOYMENT_TYPES:
        raise ValueError(f"jenis kepegawaian tidak dikenal: {employment_type} (PNS, PPPK atau NON_ASN)")
    if employment_type == "NON_ASN":
        # The head of the OPD acts under the work contract, whatever the class of the violation.
        return [s for s in SANCTIONS.values() if s.level is SanctionLevel.CONTRACT]
    if category.violation_class is ViolationClass.ETHICS:
        return [s for s in SANCTIONS.values() if s.level is SanctionLevel.MORAL]
    if employment_type == "PNS":
        return [
            s for s in SANCTIONS.values() if s.level is SanctionLevel.MEDIUM or s.code in _PNS_HEAVY_CODES
        ]
    if category.code == _PARTY_MEMBERSHIP:
        # A PPPK who joins a party has broken the contract itself: nothing short of ending it is lawful.
        return [SANCTIONS["pemutusan_hubungan_perjanjian_kerja"]]
    return [s for s in SANCTIONS.values() if s.code in _PPPK_DISCIPLINE_CODES]


class IllegalSanction(InvalidInput):
    """The sanction is not lawful for the subject and the violation: a 422 on the `sanction` field."""

    def __init__(self, message: str, legal: list[str]) -> None:
        super().__init__([{"field": "sanction", "message": message}])
        self.message = message
        self.legal = legal  # the codes a decision may use instead


def check_sanction(code: str, employment_type: EmploymentType, category: Category) -> Sanction:
    """The sanction named by `code`, if it is lawful here; otherwise IllegalSanction listing what is."""
    legal = legal_sanctions(employment_type, category)
    for sanction in legal:
        if sanction.code == code:
            return sanction
    codes = [s.code for s in legal]
    context = (
        f"pegawai {employment_type} dengan pelanggaran '{category.code}' ({category.violation_class.value})"
    )
    if code not in SANCTIONS:
        reason = f"Sanksi '{code}' tidak dikenal"
    else:
        reason = f"Sanksi '{code}' ({SANCTIONS[code].name}) tidak sah untuk {context}"
    raise IllegalSanction(f"{reason}. Sanksi yang sah untuk {context}: {', '.join(codes)}", codes)


# ---------------------------------------------------------------- working days


@functools.lru_cache(maxsize=64)
def _holidays_of(year: int) -> Mapping[dt.date, str]:
    # Shared by every calendar: the dates do not depend on the timezone, and building a year costs
    # milliseconds that a deadline sweep over thousands of cases should not pay again.
    table = holidays.country_holidays("ID", categories=("public", "government"), language="id", years=year)
    return MappingProxyType(dict(table.items()))


class WorkingCalendar:
    """Working days of Indonesian government offices: Monday to Friday, minus public holidays and cuti
    bersama. Holiday years load on first use."""

    def __init__(self, timezone: str = "Asia/Jakarta") -> None:
        self.timezone = timezone
        self._zone = ZoneInfo(timezone)

    def holiday_name(self, day: dt.date) -> str | None:
        return _holidays_of(day.year).get(day)

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and self.holiday_name(day) is None

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The `days`-th working day after `start`; `start` itself never counts, even if it is a
        working day, because a deadline runs from the day after the event. 0 returns `start`."""
        if days < 0:
            raise ValueError("jumlah hari kerja tidak boleh negatif")
        day = start
        remaining = days
        while remaining:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def end_of_day(self, day: dt.date) -> dt.datetime:
        """The UTC instant when `day` ends locally, i.e. the next local midnight. The deadline is met by
        anything before it, so a duty due at this instant fires at midnight, not a microsecond early."""
        midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=self._zone)
        return midnight.astimezone(dt.UTC)

    def local_date(self, moment: dt.datetime) -> dt.date:
        return _require_aware(moment).astimezone(self._zone).date()


def _require_aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("waktu harus memuat zona waktu")
    return moment


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
    evidence: list[dict[str, Any]]
    reporter: dict[str, Any] | None
    """Name and contact, or None for an anonymous report. Stored only encrypted."""
    bawaslu_reference: str | None = None


@dataclass(frozen=True)
class Intake(ReportForm):
    """A report with the channel it came through."""

    _: KW_ONLY
    channel: str


@dataclass(frozen=True)
class PreparedIntake:
    """An intake with everything worked out before its group's transaction."""

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
    """Where each report of a group goes, in order: into the first open case about its subject
    whose incident is within `window_days` of its own (see same_incident), counting the cases
    opened by the reports before it, or else into a case of its own."""
    known: dict[str, list[OpenCase]] = {key: list(cases) for key, cases in open_cases.items()}
    placements: list[Placement] = []
    for report in reports:
        cases = known.setdefault(report.subject_key, [])
        incident = report.intake.incident_date
        case_id = next(
            (c.case_id for c in cases if same_incident(c.incident_date, incident, window_days)), None
        )
        if case_id is None:
            cases.append(OpenCase(report.new_case_id, incident))
            placements.append(Placement(report.new_case_id, linked=False))
        else:
            placements.append(Placement(case_id, linked=True))
    return placements


# ---------------------------------------------------------------- the case: snapshots and events


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
        sanction=case.get("sanction"),
        received_at=case["received_at"],
        version=case["version"],
    )


def public_snapshot(case: Document) -> PublicCaseSnapshot:
    """The case as agencies see it: the internal snapshot less what identifies the accused."""
    internal = case_snapshot(case)
    return PublicCaseSnapshot(**{name: getattr(internal, name) for name in PublicCaseSnapshot.model_fields})


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
) -> list[EventData]:
    internal_type: type[CaseTransitionEvent] = ReportStatusChangedV1
    public_type: type[PublicTransitionEvent] | None = None
    if action in TRANSITION_EVENTS:
        internal_type, public_type = TRANSITION_EVENTS[action]
    common = {
        "action": action.value,
        "from_state": from_state.value,
        "to_state": to_state.value,
        "reason": reason,
        "at": now,
    }
    events: list[EventData] = [internal_type(case=case_snapshot(case), actor_role=role.value, **common)]
    if public_type is not None:
        extra: dict[str, Any] = {}
        if public_type is PublicReportSanctionImposedV1:
            extra = {
                "subject_employee_id": case["subject"]["employee_id"],
                "sanction_code": case["sanction"]["code"],
                "sanction_level": case["sanction"]["level"],
            }
        events.append(public_type(case=public_snapshot(case), **common, **extra))
    return events


def duty_events(case: Document, duty: Duty, now: dt.datetime) -> list[EventData]:
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
    subject = case.get("subject")
    blocks = duty.level.value == "blokir_data"
    return [
        ReportEscalatedV1(
            case=case_snapshot(case), level=duty.level.value, due_at=duty.due_at, detected_at=now
        ),
        PublicReportEscalatedV1(
            case=public_snapshot(case),
            level=duty.level.value,
            due_at=duty.due_at,
            detected_at=now,
            subject_employee_id=subject["employee_id"] if blocks and subject else None,
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


@dataclass(frozen=True)
class CaseChange:
    """A case after a transition: its new state (the whole document), and what it publishes."""

    case: Document
    events: list[EventData]
    closed: bool
    """The case left the open ones: its subject's list no longer links reports into it."""


@dataclass(frozen=True)
class FiredDuties:
    """A case after a deadline scan reached it."""

    case: Document
    fired: list[Duty]
    events: list[EventData]


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
        """The case a report opens when it links into none: received, its verification running."""
        intake, now = prepared.intake, prepared.received_at
        return {
            "_id": case_id,
            "subject_key": prepared.subject_key,
            "state": CaseState.RECEIVED.value,
            "category": intake.category,
            "violation_class": CATEGORY_BY_CODE[intake.category].violation_class.value,
            "channels": [intake.channel],
            "incident_date": as_datetime(intake.incident_date),
            "accused": {
                "name": intake.accused["name"],
                "nip": intake.accused.get("nip"),
                "org_unit_code": intake.accused.get("org_unit_code"),
                "position": intake.accused.get("position"),
            },
            "subject": subject_of(prepared.employee) if prepared.employee else None,
            "match_status": prepared.match.status,
            "candidates": [
                {
                    "employee_id": c.employee_id,
                    "name": c.name,
                    "org_unit_code": c.org_unit_code,
                    "position": c.position,
                    "score": round(c.score, 1),
                }
                for c in prepared.match.candidates
            ],
            "org_unit_code": prepared.unit_code,
            "org_unit_path": prepared.unit_path,
            "lineage": [*prepared.unit_path, prepared.unit_code] if prepared.unit_code else [],
            "report_ids": [prepared.report_id],
            "bawaslu_references": [intake.bawaslu_reference] if intake.bawaslu_reference else [],
            "deadlines": {
                DeadlineKind.VERIFICATION.value: self.due(DeadlineKind.VERIFICATION, now),
            },
            "fired": [],
            "overdue": False,
            "sanction": None,
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

    @staticmethod
    def join(case: Document, prepared: PreparedIntake) -> None:
        """A report joins `case`, which its group opened (the store joins stored cases alike)."""
        intake = prepared.intake
        case["report_ids"].append(prepared.report_id)
        if intake.channel not in case["channels"]:
            case["channels"].append(intake.channel)
        if intake.bawaslu_reference and intake.bawaslu_reference not in case["bawaslu_references"]:
            case["bawaslu_references"].append(intake.bawaslu_reference)
        case["version"] += 1

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
    ) -> CaseChange:
        """Move the case by `action`. Raises InvalidInput (no sanction named), IllegalTransition,
        ForbiddenAction, TransitionRefused (no confirmed subject) or IllegalSanction, in that order."""
        if action is Action.DECIDE_SANCTION and not sanction_code:
            raise InvalidInput.one("sanction", SANCTION_REQUIRED)
        state = CaseState(case["state"])
        target = next_state(state, action, role)
        moved: Document = {**case, "state": target.value, "updated_at": now}
        if action is Action.DECIDE_SANCTION:
            if case["subject"] is None:
                raise TransitionRefused(SUBJECT_UNCONFIRMED)
            sanction = check_sanction(
                sanction_code or "", case["subject"]["employment_type"], CATEGORY_BY_CODE[case["category"]]
            )
            moved["sanction"] = {
                "code": sanction.code,
                "name": sanction.name,
                "level": sanction.level.value,
                "basis": sanction.basis,
            }
        if action in (Action.DECIDE_SANCTION, Action.DECIDE_NOT_PROVEN):
            moved["decided_at"] = now
        kind = DEADLINE_STARTED_BY.get(target)
        if kind is not None:
            moved["deadlines"] = {**case["deadlines"], kind.value: self.due(kind, now)}
        self.schedule(moved)
        moved["overdue"] = any(duty.kind == "breach" for duty in due_duties(self.duties(moved), now))
        moved["version"] = case["version"] + 1
        moved["history"] = [
            *case["history"],
            {
                "state": target.value,
                "action": action.value,
                "reason": reason,
                "actor_role": role.value,
                "actor": actor,
                "at": now,
            },
        ]
        if bawaslu_reference and bawaslu_reference not in case["bawaslu_references"]:
            moved["bawaslu_references"] = [*case["bawaslu_references"], bawaslu_reference]
        events = transition_events(moved, action, state, target, reason, role, now)
        return CaseChange(moved, events, closed=target in TERMINAL_STATES)

    @staticmethod
    def assign_subject(case: Document, employee: Document, actor: str, now: dt.datetime) -> Document:
        """The case is about `employee`, as a person confirmed where matching was unsure."""
        if CaseState(case["state"]) in TERMINAL_STATES:
            raise Conflict(CASE_FINISHED)
        return {
            **case,
            "subject": subject_of(employee),
            "match_status": "matched",
            "org_unit_code": employee["org_unit_code"],
            "org_unit_path": employee["org_unit_path"],
            "lineage": [*employee["org_unit_path"], employee["org_unit_code"]],
            "updated_at": now,
            "audit": [*case.get("audit", []), {"action": "assign_subject", "actor": actor, "at": now}],
            "version": case["version"] + 1,
        }

    def fire_due_duties(self, case: Document, now: dt.datetime) -> FiredDuties:
        """The duties due by `now` fire, once each; the case then waits for its next one."""
        fired = due_duties(self.duties(case), now)
        after = dict(case)
        if fired:
            after["fired"] = [*case["fired"], *(duty.key for duty in fired)]
            after["version"] = case["version"] + 1
            if any(duty.kind == "breach" for duty in fired):
                after["overdue"] = True
        self.schedule(after)
        events = [event for duty in fired for event in duty_events(after, duty, now)]
        return FiredDuties(after, fired, events)


# ---------------------------------------------------------------- what each role sees of a case

UNIT_ADMINS: frozenset[Role] = frozenset({Role.OPD_ADMIN})
"""Roles that see a case only as far as their unit's follow-up needs: which of their employees
it is about, where it stands and its deadlines. Not the reports (description, evidence,
place), not the channels, not the accused as reported, not who acted: a supervisor's report
about their own staff would otherwise point at the supervisor."""


def case_summary(case: Document, role: Role) -> Document:
    """A case in a list, or after a change, as `role` may see it."""
    state = CaseState(case["state"])
    if role in UNIT_ADMINS:
        return {
            "id": case["_id"],
            "state": state.value,
            "state_label": STATE_LABELS[state],
            "category": case["category"],
            "class": case["violation_class"],
            "subject": case["subject"],
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
        "channels": case["channels"],
        "report_count": len(case["report_ids"]),
        "incident_date": case["incident_date"].date(),
        "accused": case["accused"],
        "subject": case["subject"],
        "match_status": case["match_status"],
        "org_unit_code": case["org_unit_code"],
        "deadlines": case["deadlines"],
        "overdue": case.get("overdue", False),
        "received_at": case["received_at"],
        "updated_at": case["updated_at"],
    }


def case_details(case: Document, reports: Sequence[Document], role: Role) -> Document:
    """One case with its reports, as `role` may see it (no reports at all for a unit admin)."""
    summary = case_summary(case, role)
    if role in UNIT_ADMINS:
        return {
            **summary,
            "sanction": case.get("sanction"),
            "history": [
                {"state": entry["state"], "action": entry["action"], "at": entry["at"]}
                for entry in case["history"]
            ],
        }
    return {
        **summary,
        "bawaslu_references": case["bawaslu_references"],
        "candidates": case.get("candidates", []),
        "sanction": case.get("sanction"),
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
