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

from pydantic import BaseModel, ConfigDict, model_validator

from contracts.envelope import EventData
from contracts.topics import REPORT_CASES, REPORTER_CONTACTS, REPORTS_PUBLIC

ChannelName = Literal["public", "bawaslu", "supervisor"]
MatchStatusName = Literal["matched", "ambiguous", "unmatched"]
ViolationClassName = Literal["etika", "disiplin"]


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
    employment_type: Literal["PNS", "PPPK", "NON_ASN"]
    position: str
    org_unit_code: str
    org_unit_path: list[str]


class SanctionDecision(_Frozen):
    code: str
    name: str
    level: str
    basis: str


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
    """Only for `blokir_data`, where BKN must know whose data to block."""


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
)
