"""Violation-report rules: categories, the case state machine, sanctions, working days, deadlines
and escalation, matching the accused to an employee, and linking reports into one case. Pure, no I/O.

Messages and labels are in Bahasa Indonesia because reporters, task forces, PPKs and the public
tracking page read them.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

import holidays
from rapidfuzz import fuzz

from contracts.roles import Role

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


class IllegalTransition(Exception):
    """The action does not apply to the case's current state (HTTP 409)."""

    def __init__(self, message: str, allowed: list[str]) -> None:
        super().__init__(message)
        self.message = message
        self.allowed = allowed  # action values possible from the state, whoever takes them


class ForbiddenAction(Exception):
    """The action applies to the state, but not for this role (HTTP 403)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


class IllegalSanction(ValueError):
    def __init__(self, message: str, legal: list[str]) -> None:
        super().__init__(message)
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
