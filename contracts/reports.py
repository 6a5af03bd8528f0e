"""Events published by the reports service: one case per incident and accused person.

Two topics, two audiences:
- `reports.cases` is internal (notify, the pemda's own dashboards): the case with the accused and
  the matched employee, so that notify can reach the PPK and BKPSDM.
- `reports.public` is for other agencies (Bawaslu, BKN, Inspektorat, KemenPAN-RB): the case
  without the accused's name, the incident's place, or any free text except the status reasons
  the reporter also sees. The NIP appears only where BKN must act on it: an imposed sanction and
  a data block.

Neither topic ever carries the reporter's identity, the report's description or its evidence:
those stay in the reports service's database. The public topic does not carry the channel a
report came through either: "supervisor" would say that someone close to the accused reported.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.envelope import EventData
from contracts.registry import EmploymentTypeName
from contracts.topics import REPORT_CASES, REPORTER_CONTACTS, REPORTS_PUBLIC

ChannelName = Literal["public", "bawaslu", "supervisor"]
MatchStatusName = Literal["matched", "ambiguous", "unmatched"]
ViolationClassName = Literal["etika", "disiplin"]
SubjectKindName = Literal["terlapor", "atasan_tidak_bertindak"]
"""Who a case's subject is: a person the reports name, or a supervisor who knew of the violation
and did not act, added by the task force (SKB 2022; PP 94/2021 Pasal 4 huruf f / Pasal 5)."""
RemedyName = Literal["keberatan", "banding_administratif"]
RemedyOutcomeName = Literal["dikuatkan", "diubah", "dibatalkan"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccusedAsReported(_Frozen):
    name: str
    nip: str | None
    org_unit_code: str | None
    position: str | None


class CaseSubject(_Frozen):
    """The registry employee the accused was matched to."""

    employee_id: str
    nip: str | None
    name: str
    employment_type: EmploymentTypeName
    position: str
    org_unit_code: str
    org_unit_path: list[str]
    leader_office: str | None = None
    """KEPALA_DAERAH, WAKIL_KEPALA_DAERAH, PJ_KEPALA_DAERAH or SEKDA: it moves who examines and
    decides (a Sekda's case sits above the pemda)."""


class SanctionDecision(_Frozen):
    code: str
    name: str
    level: str
    basis: str


class Decree(_Frozen):
    """The decree (surat keputusan) that imposed the sanction, and when the sanction runs."""

    number: str
    date: dt.date
    sanction_start: dt.date
    sanction_end: dt.date | None
    """Set for sanctions that run for a period (allowance cuts, 12-month demotion)."""


class RemedyRecord(_Frozen):
    """An objection (keberatan) or an administrative appeal (banding administratif to BPASN)."""

    remedy: RemedyName
    authority: str
    filed_on: dt.date
    deadline: dt.date
    outcome: RemedyOutcomeName | None = None
    decided_on: dt.date | None = None
    changed_to: str | None = None
    """The new sanction's code when the outcome changed it."""


class SubjectState(_Frozen):
    """One person a case is about, with their own step of the follow-up (from the
    recommendation on) and its result."""

    subject_id: str
    kind: SubjectKindName
    accused: AccusedAsReported
    employee: CaseSubject | None
    match_status: MatchStatusName
    state: str
    violation_class: ViolationClassName | None
    """Decided by the examination; None until then."""
    sanction: SanctionDecision | None
    decree: Decree | None = None
    remedy: RemedyRecord | None = None
    examiner_roles: list[str]
    decider_role: str
    data_blocked: bool = False


class CaseSnapshot(_Frozen):
    case_id: str
    state: str
    category: str
    violation_class: ViolationClassName
    channels: list[ChannelName]
    report_count: int
    incident_date: dt.date
    accused: AccusedAsReported
    subject: CaseSubject | None
    match_status: MatchStatusName
    org_unit_code: str | None
    """The subject's unit when matched, else the unit the reporter named."""
    org_unit_path: list[str]
    bawaslu_references: list[str]
    deadlines: dict[str, dt.datetime]
    sanction: SanctionDecision | None
    received_at: dt.datetime
    version: int
    suggested_class: ViolationClassName | None = None
    """What the category suggests; `violation_class` is the first subject's decided class once
    examined, else this suggestion."""
    subjects: list[SubjectState] = Field(default_factory=list)
    """Every person the case is about; `subject`, `accused`, `match_status` and `sanction` above
    are the first one's, for consumers of the single-subject case."""


class PublicSubjectState(_Frozen):
    """A subject as agencies see it: where it stands, no name and no NIP."""

    subject_id: str
    kind: SubjectKindName
    state: str
    violation_class: ViolationClassName | None
    sanction_code: str | None


def _without(data: object, *legacy: str) -> object:
    """Events published before a field was dropped still read: the field is ignored."""
    if isinstance(data, dict) and any(name in data for name in legacy):
        return {key: value for key, value in data.items() if key not in legacy}
    return data


class PublicCaseSnapshot(_Frozen):
    case_id: str
    state: str
    category: str
    violation_class: ViolationClassName
    report_count: int
    incident_date: dt.date
    org_unit_code: str | None
    org_unit_path: list[str]
    bawaslu_references: list[str]
    deadlines: dict[str, dt.datetime]
    received_at: dt.datetime
    version: int
    suggested_class: ViolationClassName | None = None
    subjects: list[PublicSubjectState] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _no_channels(cls, data: object) -> object:
        return _without(data, "channels")


class _CaseEvent(EventData):
    topic: ClassVar[str] = REPORT_CASES.name
    case: CaseSnapshot

    def aggregate_key(self) -> str:
        return self.case.case_id


class _PublicCaseEvent(EventData):
    topic: ClassVar[str] = REPORTS_PUBLIC.name
    case: PublicCaseSnapshot

    def aggregate_key(self) -> str:
        return self.case.case_id


class ReportReceivedV1(_CaseEvent):
    event_type: ClassVar[str] = "report.received.v1"
    report_id: str
    channel: ChannelName
    linked: bool


class CaseTransitionEvent(_CaseEvent):
    action: str
    from_state: str
    to_state: str
    reason: str
    actor_role: str
    at: dt.datetime
    subject_id: str | None = None
    """The subject the action was about (examination, decision, record, remedy, close); None for
    the case's own steps (verify, reject, recommend, cancel)."""


class ReportVerifiedV1(CaseTransitionEvent):
    event_type: ClassVar[str] = "report.verified.v1"


class ReportRejectedV1(CaseTransitionEvent):
    event_type: ClassVar[str] = "report.rejected.v1"


class ReportRecommendationIssuedV1(CaseTransitionEvent):
    """Bawaslu's review ended in a recommendation: the PPK's 14 working days start."""

    event_type: ClassVar[str] = "report.recommendation_issued.v1"


class ReportSanctionImposedV1(CaseTransitionEvent):
    event_type: ClassVar[str] = "report.sanction_imposed.v1"


class ReportAppealFiledV1(CaseTransitionEvent):
    event_type: ClassVar[str] = "report.appeal_filed.v1"


class ReportClosedV1(CaseTransitionEvent):
    """The case ended: closed after a sanction, or rejected, cancelled, not proven, or the
    subject left the service (`to_state` says which)."""

    event_type: ClassVar[str] = "report.closed.v1"


class ReportStatusChangedV1(CaseTransitionEvent):
    """Any other step (examined, recorded): every change of state has an event."""

    event_type: ClassVar[str] = "report.status_changed.v1"


class ReportDeadlineBreachedV1(_CaseEvent):
    event_type: ClassVar[str] = "report.deadline_breached.v1"
    deadline: str
    due_at: dt.datetime
    detected_at: dt.datetime


class ReportEscalatedV1(_CaseEvent):
    """A PPK late with the decision: warning, then reprimand, then the subject's personnel data
    is blocked (BKN acts on `blokir_data`)."""

    event_type: ClassVar[str] = "report.escalated.v1"
    level: str
    due_at: dt.datetime
    detected_at: dt.datetime


class ReportEscalationLiftedV1(_CaseEvent):
    """The decision came after the personnel data was blocked: BKN lifts the block."""

    event_type: ClassVar[str] = "report.escalation_lifted.v1"
    subject_id: str
    level: str
    blocked_at: dt.datetime
    lifted_at: dt.datetime
    reason: str


class ReportSubjectAssignedV1(_CaseEvent):
    """A person confirmed which employee a subject is; the case now also takes in later reports
    that name that employee by NIP."""

    event_type: ClassVar[str] = "report.subject_assigned.v1"
    subject_id: str
    actor_role: str
    at: dt.datetime


class ReportSubjectAddedV1(_CaseEvent):
    """The task force added a subject: a supervisor who knew of the violation and did not act."""

    event_type: ClassVar[str] = "report.subject_added.v1"
    subject_id: str
    kind: SubjectKindName
    reason: str
    actor_role: str
    at: dt.datetime


class ReportCasesMergedV1(_CaseEvent):
    """Case `merged_case_id`'s reports joined this case (it ends as `merged`)."""

    event_type: ClassVar[str] = "report.cases_merged.v1"
    merged_case_id: str
    report_ids: list[str]
    reason: str
    actor_role: str
    at: dt.datetime


class ReportSplitV1(_CaseEvent):
    """A report left case `from_case_id` and opened this case."""

    event_type: ClassVar[str] = "report.split.v1"
    from_case_id: str
    report_id: str
    reason: str
    actor_role: str
    at: dt.datetime


class ReportDeadlineExtendedV1(_CaseEvent):
    """A deadline moved, with the reason the reporter also reads."""

    event_type: ClassVar[str] = "report.deadline_extended.v1"
    deadline: str
    previous_due_at: dt.datetime
    due_at: dt.datetime
    reason: str
    actor_role: str
    at: dt.datetime


# ---------------------------------------------------------------- public, redacted


class PublicReportReceivedV1(_PublicCaseEvent):
    event_type: ClassVar[str] = "public.report.received.v1"
    linked: bool

    @model_validator(mode="before")
    @classmethod
    def _no_channel(cls, data: object) -> object:
        return _without(data, "channel")


class PublicTransitionEvent(_PublicCaseEvent):
    action: str
    from_state: str
    to_state: str
    reason: str
    at: dt.datetime
    subject_id: str | None = None


class PublicReportVerifiedV1(PublicTransitionEvent):
    event_type: ClassVar[str] = "public.report.verified.v1"


class PublicReportRejectedV1(PublicTransitionEvent):
    event_type: ClassVar[str] = "public.report.rejected.v1"


class PublicReportRecommendationIssuedV1(PublicTransitionEvent):
    event_type: ClassVar[str] = "public.report.recommendation_issued.v1"


class PublicReportSanctionImposedV1(PublicTransitionEvent):
    """BKN records the sanction in the personnel data: the one public event with the NIP."""

    event_type: ClassVar[str] = "public.report.sanction_imposed.v1"
    subject_employee_id: str
    sanction_code: str
    sanction_level: str


class PublicReportAppealFiledV1(PublicTransitionEvent):
    event_type: ClassVar[str] = "public.report.appeal_filed.v1"


class PublicReportClosedV1(PublicTransitionEvent):
    event_type: ClassVar[str] = "public.report.closed.v1"


class PublicReportDeadlineBreachedV1(_PublicCaseEvent):
    event_type: ClassVar[str] = "public.report.deadline_breached.v1"
    deadline: str
    due_at: dt.datetime
    detected_at: dt.datetime


class PublicReportEscalatedV1(_PublicCaseEvent):
    event_type: ClassVar[str] = "public.report.escalated.v1"
    level: str
    due_at: dt.datetime
    detected_at: dt.datetime
    subject_employee_id: str | None
    """Only for `blokir_data`, where BKN must know whose data to block (the first such subject)."""
    subject_employee_ids: list[str] = Field(default_factory=list)
    """Every subject whose data is blocked (those with a SIASN record, still undecided)."""


class PublicReportEscalationLiftedV1(_PublicCaseEvent):
    event_type: ClassVar[str] = "public.report.escalation_lifted.v1"
    subject_id: str
    level: str
    blocked_at: dt.datetime
    lifted_at: dt.datetime
    subject_employee_id: str
    """Whose personnel data BKN unblocks, as in the data-block event."""


class PublicReportSubjectAssignedV1(_PublicCaseEvent):
    event_type: ClassVar[str] = "public.report.subject_assigned.v1"
    subject_id: str
    at: dt.datetime


class PublicReportSubjectAddedV1(_PublicCaseEvent):
    event_type: ClassVar[str] = "public.report.subject_added.v1"
    subject_id: str
    kind: SubjectKindName
    at: dt.datetime


class PublicReportCasesMergedV1(_PublicCaseEvent):
    event_type: ClassVar[str] = "public.report.cases_merged.v1"
    merged_case_id: str
    at: dt.datetime


class PublicReportSplitV1(_PublicCaseEvent):
    event_type: ClassVar[str] = "public.report.split.v1"
    from_case_id: str
    at: dt.datetime


class PublicReportDeadlineExtendedV1(_PublicCaseEvent):
    event_type: ClassVar[str] = "public.report.deadline_extended.v1"
    deadline: str
    previous_due_at: dt.datetime
    due_at: dt.datetime
    reason: str
    at: dt.datetime


class ReporterContactV1(EventData):
    """Where to send a reporter the status updates of their report. The contact is sealed
    with notify's public key (a libsodium sealed box): only notify's private key opens it. The
    topic's bytes reveal nothing, even to a consumer that is not notify, nor to the reports
    service that sealed it; the reporter's name is never sent."""

    event_type: ClassVar[str] = "report.reporter_contact.v1"
    topic: ClassVar[str] = REPORTER_CONTACTS.name
    report_id: str
    case_id: str
    sealed_contact: str

    def aggregate_key(self) -> str:
        return self.case_id


class ReporterAccessHeadV1(EventData):
    """The head of the log of reporter-identity reads, after each read: an auditor who keeps
    these can show that the log was not rewritten later (`POST /v1/reporter-access-log/verify`).
    Neither the case nor who read is in it."""

    event_type: ClassVar[str] = "report.reporter_access_head.v1"
    topic: ClassVar[str] = REPORT_CASES.name
    length: int
    """Entries in the log, this read's included."""
    head_hash: str
    """The hash of the last entry (SHA-256, hex), which chains every entry before it."""
    at: dt.datetime

    def aggregate_key(self) -> str:
        return "reporter-access-log"


INTERNAL_EVENTS: tuple[type[EventData], ...] = (
    ReportReceivedV1,
    ReportVerifiedV1,
    ReportRejectedV1,
    ReportRecommendationIssuedV1,
    ReportSanctionImposedV1,
    ReportAppealFiledV1,
    ReportClosedV1,
    ReportStatusChangedV1,
    ReportDeadlineBreachedV1,
    ReportEscalatedV1,
    ReportEscalationLiftedV1,
    ReportSubjectAssignedV1,
    ReportSubjectAddedV1,
    ReportCasesMergedV1,
    ReportSplitV1,
    ReportDeadlineExtendedV1,
    ReporterContactV1,
    ReporterAccessHeadV1,
)
PUBLIC_EVENTS: tuple[type[EventData], ...] = (
    PublicReportReceivedV1,
    PublicReportVerifiedV1,
    PublicReportRejectedV1,
    PublicReportRecommendationIssuedV1,
    PublicReportSanctionImposedV1,
    PublicReportAppealFiledV1,
    PublicReportClosedV1,
    PublicReportDeadlineBreachedV1,
    PublicReportEscalatedV1,
    PublicReportEscalationLiftedV1,
    PublicReportSubjectAssignedV1,
    PublicReportSubjectAddedV1,
    PublicReportCasesMergedV1,
    PublicReportSplitV1,
    PublicReportDeadlineExtendedV1,
)
