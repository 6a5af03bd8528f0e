"""The reports service's HTTP API: public intake and tracking, case handling by role, and the
audited read of a reporter's identity."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.kit.auth import optional, require
from services.kit.identity import Principal
from services.kit.openapi import error_responses
from services.kit.pagination import Page, page_response
from services.reports.catalogue import CATEGORIES, CATEGORY_BY_CODE, Remedy, RemedyOutcome, ViolationClass
from services.reports.domain import (
    STATE_LABELS,
    AccessHead,
    Action,
    ActionDetails,
    CaseState,
    DeadlineKind,
    EscalationLevel,
    ReportForm,
    case_summary,
)
from services.reports.usecases import (
    AUDITORS,
    CASE_HANDLERS,
    CASE_READERS,
    EXTENDERS,
    FINDING_REPORTERS,
    IDENTITY_READERS,
    SUBJECT_ASSIGNERS,
    SUPERVISOR_REPORTERS,
    CaseView,
    IntakeResult,
    ReportsUseCases,
    TrackedReport,
)

MAX_PAGE_SIZE = 200
MAX_ACCUSED = 20

NIP = Annotated[str, Field(pattern=r"^\d{18}$")]
UnitCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-_]*$")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AccusedIn(_Input):
    name: str = Field(min_length=2, max_length=200)
    nip: NIP | None = None
    org_unit_code: UnitCode | None = None
    position: str | None = Field(default=None, max_length=200)


class EvidenceIn(_Input):
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    media_type: str | None = Field(default=None, max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _something(self) -> EvidenceIn:
        if not (self.url or self.sha256 or self.note):
            raise ValueError("bukti harus memuat minimal salah satu dari url, sha256 atau note")
        return self


class ReporterIn(_Input):
    name: str = Field(min_length=2, max_length=200)
    contact: str = Field(min_length=5, max_length=200)
    """An e-mail address or a phone number, for status updates."""


class ReportIn(_Input):
    category: str = Field(max_length=64)
    description: str = Field(min_length=20, max_length=5000)
    incident_date: dt.date
    location: str = Field(min_length=2, max_length=300)
    accused: AccusedIn | list[AccusedIn]
    """One person, or everyone the report names (up to 20): each becomes a subject of the case."""
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=10)
    reporter: ReporterIn | None = None
    """null (or absent) files the report anonymously."""

    @field_validator("accused")
    @classmethod
    def _someone_accused(cls, value: AccusedIn | list[AccusedIn]) -> AccusedIn | list[AccusedIn]:
        if isinstance(value, list) and not 1 <= len(value) <= MAX_ACCUSED:
            raise ValueError(f"sebutkan 1 sampai {MAX_ACCUSED} terlapor")
        return value

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in CATEGORY_BY_CODE:
            raise ValueError(f"kategori tidak dikenal; pilih salah satu dari: {', '.join(CATEGORY_BY_CODE)}")
        return value


class BawasluReportIn(ReportIn):
    bawaslu_reference: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9./\-_ ]+$")
    """Bawaslu's own number for the finding (nomor temuan/register)."""


class SubjectActionIn(_Input):
    action: Action
    reason: str = Field(min_length=5, max_length=2000)
    """Shown to the reporter on the tracking page: write it for them."""
    sanction: str | None = Field(default=None, max_length=64)
    """Required for decide_sanction: a sanction code from the legal list for the subject."""
    bawaslu_reference: str | None = Field(default=None, max_length=64)
    violation_class: ViolationClass | None = None
    """examine: the class the examination decides (etika or disiplin); default the category's suggestion."""
    class_reason: str | None = Field(default=None, min_length=5, max_length=2000)
    """examine: why this class; default the reason above."""
    decree_number: str | None = Field(default=None, min_length=3, max_length=100)
    decree_date: dt.date | None = None
    """record: the decree (surat keputusan) imposing the sanction; both required."""
    sanction_start: dt.date | None = None
    """record: when the sanction starts (default the decree's date); its end follows from its months."""
    remedy: Remedy | None = None
    """file_appeal: keberatan or banding_administratif (default the one the sanction allows)."""
    filed_on: dt.date | None = None
    outcome: RemedyOutcome | None = None
    """resolve_appeal: dikuatkan, diubah (with new_sanction) or dibatalkan."""
    decided_on: dt.date | None = None
    new_sanction: str | None = Field(default=None, max_length=64)

    def details(self) -> ActionDetails:
        return ActionDetails(
            violation_class=self.violation_class,
            class_reason=self.class_reason,
            decree_number=self.decree_number,
            decree_date=self.decree_date,
            sanction_start=self.sanction_start,
            remedy=self.remedy,
            filed_on=self.filed_on,
            outcome=self.outcome,
            decided_on=self.decided_on,
            new_sanction=self.new_sanction,
        )


class TransitionIn(SubjectActionIn):
    subject_id: str | None = Field(default=None, max_length=16)
    """Which subject a subject's action is about; not needed when the case has one subject."""


SubjectId = Annotated[str, Field(pattern=r"^s[0-9]{1,3}$")]


class SupervisorIn(_Input):
    employee_id: str = Field(min_length=10, max_length=32)
    reason: str = Field(min_length=10, max_length=2000)
    """Why this supervisor is a subject: they knew of the violation and did not act."""


class ExtensionIn(_Input):
    deadline: DeadlineKind
    working_days: int = Field(ge=1, le=30)
    reason: str = Field(min_length=10, max_length=2000)
    """Shown to the reporter on the tracking page."""


class MergeIn(_Input):
    from_case_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=10, max_length=2000)


class SplitIn(_Input):
    report_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=10, max_length=2000)


class SubjectIn(_Input):
    employee_id: str = Field(min_length=10, max_length=32)
    subject_id: SubjectId | None = None
    """Which subject is confirmed; not needed when the case has one subject."""


class TrackIn(_Input):
    code: str
    """The tracking code from the intake's answer, in the body so that no URL (and so no log
    line of a proxy or of this service) ever holds it."""


class IdentityReasonIn(_Input):
    reason: str | None = Field(default=None, max_length=500)
    """Why the identity is opened: logged with the read, and required (at least 10 characters)."""


class PublishedHeadIn(_Input):
    length: int = Field(ge=1)
    head_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    """From a `report.reporter_access_head.v1` event the auditor kept."""


class ReportsMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.received = Counter(
            "netral_reports_received",
            "Reports received, by channel",
            ["channel", "linked"],
            registry=registry,
        )
        self.transitions = Counter(
            "netral_reports_transitions", "Case transitions, by action", ["action"], registry=registry
        )
        self.breaches = Counter(
            "netral_reports_deadline_breaches", "Deadlines breached", ["deadline"], registry=registry
        )
        self.escalations = Counter(
            "netral_reports_escalations", "PPK escalations", ["level"], registry=registry
        )
        # Every series from the start, so that the first breach is an increase for the alerts.
        for kind in DeadlineKind:
            self.breaches.labels(kind.value)
        for level in EscalationLevel:
            self.escalations.labels(level.value)
        self.cases = Gauge("netral_reports_cases", "Cases by state", ["state"], registry=registry)
        self.time_to_decision = Histogram(
            "netral_reports_time_to_decision_days",
            "Days from the recommendation to the PPK's decision",
            buckets=(1, 3, 7, 14, 21, 28, 42, 60, 90, 180),
            registry=registry,
        )
        self.rate_limited = Counter(
            "netral_reports_rate_limited",
            "Public requests refused by the rate limit",
            ["endpoint"],
            registry=registry,
        )


class RateLimits:
    """Per-client limits on the public endpoints, in this process's memory: with several
    replicas each counts on its own, so the effective limit is replicas × the setting. The
    client's address is only a key of the limiter's memory: it is never logged nor a label."""

    def __init__(self, intake: str, tracking: str, trusted_proxy_hops: int = 0) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self.items: dict[str, RateLimitItem] = {"intake": parse(intake), "tracking": parse(tracking)}
        self.trusted_proxy_hops = trusted_proxy_hops

    def client(self, request: Request) -> str:
        """The address the nearest untrusted hop connected from. Each trusted proxy appends the
        address it was connected from to X-Forwarded-For, so the client is the entry that many
        hops from the right; anything further left was written by the client and is not read.
        A header shorter than the proxies (a misconfiguration) falls back to the peer."""
        peer = request.client.host if request.client else "unknown"
        if self.trusted_proxy_hops == 0:
            return peer
        hops = [
            hop.strip()
            for header in request.headers.getlist("x-forwarded-for")
            for hop in header.split(",")
            if hop.strip()
        ]
        return hops[-self.trusted_proxy_hops] if len(hops) >= self.trusted_proxy_hops else peer

    async def check(self, request: Request, endpoint: str, metrics: ReportsMetrics) -> None:
        item = self.items[endpoint]
        if not await self._limiter.hit(item, endpoint, self.client(request)):
            metrics.rate_limited.labels(endpoint).inc()
            stats = await self._limiter.get_window_stats(item, endpoint, self.client(request))
            retry = max(1, int(stats.reset_time - dt.datetime.now(dt.UTC).timestamp()))
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"terlalu banyak permintaan dari alamat Anda; coba lagi dalam {retry} detik",
                headers={"Retry-After": str(retry)},
            )


def _usecases(request: Request) -> ReportsUseCases:
    usecases: ReportsUseCases = request.app.state.reports_usecases
    return usecases


def _metrics(request: Request) -> ReportsMetrics:
    metrics: ReportsMetrics = request.app.state.reports_metrics
    return metrics


def _limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


async def _intake_limit(request: Request) -> None:
    await _limits(request).check(request, "intake", _metrics(request))


async def _tracking_limit(request: Request) -> None:
    await _limits(request).check(request, "tracking", _metrics(request))


UseCases = Annotated[ReportsUseCases, Depends(_usecases)]
Metrics = Annotated[ReportsMetrics, Depends(_metrics)]
Limits = Annotated[RateLimits, Depends(_limits)]
router = APIRouter(prefix="/v1")


def _form(body: ReportIn) -> ReportForm:
    accused = body.accused if isinstance(body.accused, list) else [body.accused]
    return ReportForm(
        category=body.category,
        description=body.description,
        incident_date=body.incident_date,
        location=body.location,
        accused=accused[0].model_dump(),
        co_accused=tuple(person.model_dump() for person in accused[1:]),
        evidence=[item.model_dump(exclude_none=True) for item in body.evidence],
        reporter=body.reporter.model_dump() if body.reporter is not None else None,
        bawaslu_reference=getattr(body, "bawaslu_reference", None),
    )


INTERNAL_HISTORY = frozenset({"add_subject"})
"""History entries the reporter's tracking page leaves out."""

TRACK_URL = "/v1/reports/track"
"""Where a reporter follows their report: POST the code as `{"code": ...}`. The older
`GET /v1/reports/track/{code}` still answers, but puts the code in a URL."""


def _receipt(result: IntakeResult) -> dict[str, Any]:
    return {
        "report_id": result.report_id,
        "tracking_code": result.tracking_code,
        "message": (
            "Laporan diterima. Simpan kode pelacakan ini: hanya dengan kode ini Anda dapat mengikuti "
            "perkembangan laporan, dan kode ini tidak dapat dipulihkan bila hilang."
        ),
        "track_url": TRACK_URL,
    }


@router.get("/categories")
async def categories() -> dict[str, Any]:
    """The SKB's categories. `class` is the class the category suggests (also `suggested_class`):
    the examination decides the class of each subject's violation."""
    return {
        "items": [
            {
                "code": c.code,
                "name": c.name,
                "class": c.suggested_class.value,
                "suggested_class": c.suggested_class.value,
                "basis": c.basis,
            }
            for c in CATEGORIES
        ]
    }


# The limits are dependencies so that they count every request, invalid ones included:
# FastAPI answers a dependency's 429 before the body's validation errors.
@router.post(
    "/reports",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(_intake_limit)],
    responses=error_responses(413, 429),
)
async def file_report(
    body: ReportIn,
    usecases: UseCases,
    metrics: Metrics,
    principal: Annotated[Principal | None, Depends(optional(*SUPERVISOR_REPORTERS))],
) -> dict[str, Any]:
    """Public intake: anonymous (`reporter: null`) or with a contact. A supervisor files with
    their own token: their identity is then kept, encrypted, as the reporter's."""
    result = await usecases.file_report(principal, _form(body))
    metrics.received.labels(result.channel, str(result.linked).lower()).inc()
    return _receipt(result)


@router.post(
    "/reports/bawaslu",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(413),
)
async def file_bawaslu_finding(
    body: BawasluReportIn,
    usecases: UseCases,
    metrics: Metrics,
    principal: Annotated[Principal, Depends(require(*FINDING_REPORTERS))],
) -> dict[str, Any]:
    result = await usecases.file_bawaslu_finding(principal, _form(body))
    metrics.received.labels(result.channel, str(result.linked).lower()).inc()
    return {**_receipt(result), "case_id": result.case_id, "linked": result.linked}


@router.post(
    "/reports/track",
    dependencies=[Depends(_tracking_limit)],
    responses=error_responses(404, 413, 429),
)
async def track(body: TrackIn, usecases: UseCases) -> dict[str, Any]:
    """What the reporter sees: the status and every change with its reason. Nothing internal.
    The code travels in the body, never in a URL."""
    return _tracking_page(await usecases.track(body.code))


@router.get(
    "/reports/track/{code}", dependencies=[Depends(_tracking_limit)], responses=error_responses(404, 429)
)
async def track_by_path(code: str, usecases: UseCases) -> dict[str, Any]:
    """The older form of `POST /v1/reports/track`, kept for links already given out: the same
    answer. Only the route's template is logged, never the path with the code."""
    return _tracking_page(await usecases.track(code))


def _tracking_page(tracked: TrackedReport) -> dict[str, Any]:
    report, case = tracked.report, tracked.case
    state = CaseState(case["state"])
    category = CATEGORY_BY_CODE[report["category"]]
    return {
        "tracking_code": tracked.tracking_code,
        "status": state.value,
        "status_label": STATE_LABELS[state],
        "category": category.code,
        "category_name": category.name,
        "received_at": report["received_at"],
        "history": [
            {
                "status": entry["state"],
                "status_label": STATE_LABELS[CaseState(entry["state"])],
                "reason": entry["reason"],
                "at": entry["at"],
            }
            for entry in case["history"]
            # Adding a supervisor as a subject is the handlers' business: its reason is about a
            # person the reporter did not name. Every change of state, and an extension, is shown.
            if entry["action"] not in INTERNAL_HISTORY
        ],
    }


def _allowed(view: CaseView) -> list[str]:
    return [action.value for action in view.allowed_actions]


@router.get("/reports")
async def list_reports(
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*CASE_READERS))],
    state: CaseState | None = None,
    overdue: bool | None = None,
    org_unit: str | None = Query(default=None, max_length=64),
    page: Page = 1,
    page_size: int = Query(default=50, ge=1, le=MAX_PAGE_SIZE),
) -> dict[str, Any]:
    summaries, total = await usecases.list_cases(principal, state, overdue, org_unit, page, page_size)
    return page_response(summaries, page, page_size, total)


@router.get("/reports/{case_id}", responses=error_responses(404))
async def get_report(
    case_id: str, usecases: UseCases, principal: Annotated[Principal, Depends(require(*CASE_READERS))]
) -> dict[str, Any]:
    """The case as the caller's role may see it: an OPD admin sees where a case about their
    unit's employee stands, not the reports, their channels or who acted."""
    view = await usecases.case_detail(principal, case_id)
    return {**view.shown, "allowed_actions": _allowed(view)}


@router.put("/reports/{case_id}/subject", responses=error_responses(404, 409))
async def assign_subject(
    case_id: str,
    body: SubjectIn,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*SUBJECT_ASSIGNERS))],
) -> dict[str, Any]:
    """Confirm which employee the accused (or one of them, `subject_id`) is, when matching was
    unsure: later reports naming that employee by NIP about the same incident join this case."""
    saved = await usecases.assign_subject(principal, case_id, body.employee_id, body.subject_id)
    return case_summary(saved, principal.role)


def _moved(view: CaseView, action: Action, metrics: ReportsMetrics) -> dict[str, Any]:
    case = view.case
    metrics.transitions.labels(action.value).inc()
    if action in (Action.DECIDE_SANCTION, Action.DECIDE_NOT_PROVEN) and case.get("decided_at"):
        recommended = next((h["at"] for h in case["history"] if h["action"] == Action.RECOMMEND.value), None)
        if recommended is not None:
            metrics.time_to_decision.observe((case["decided_at"] - recommended).total_seconds() / 86400)
    return {**view.shown, "sanction": case.get("sanction"), "allowed_actions": _allowed(view)}


@router.post("/reports/{case_id}/transitions", responses=error_responses(404, 409))
async def transition(
    case_id: str,
    body: TransitionIn,
    usecases: UseCases,
    metrics: Metrics,
    principal: Annotated[Principal, Depends(require(*CASE_HANDLERS))],
) -> dict[str, Any]:
    """Move the case, or one of its subjects (`subject_id`, needed only when it has several)."""
    return await _step(usecases, metrics, principal, case_id, body, body.subject_id)


@router.post("/reports/{case_id}/subjects/{subject_id}/transitions", responses=error_responses(404, 409))
async def subject_transition(
    case_id: str,
    subject_id: SubjectId,
    body: SubjectActionIn,
    usecases: UseCases,
    metrics: Metrics,
    principal: Annotated[Principal, Depends(require(*CASE_HANDLERS))],
) -> dict[str, Any]:
    """One subject's step: examination (with the class it decides), decision, record of the
    decree, objection or appeal and its outcome, closing."""
    return await _step(usecases, metrics, principal, case_id, body, subject_id)


async def _step(
    usecases: ReportsUseCases,
    metrics: ReportsMetrics,
    principal: Principal,
    case_id: str,
    body: TransitionIn | SubjectActionIn,
    subject_id: str | None,
) -> dict[str, Any]:
    view = await usecases.transition(
        principal,
        case_id,
        body.action,
        body.reason,
        body.sanction,
        body.bawaslu_reference,
        subject_id,
        body.details(),
    )
    return _moved(view, body.action, metrics)


@router.post("/reports/{case_id}/subjects", responses=error_responses(404, 409))
async def add_supervisor(
    case_id: str,
    body: SupervisorIn,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*SUBJECT_ASSIGNERS))],
) -> dict[str, Any]:
    """Add a supervisor who knew of the violation and did not act as a subject (PP 94/2021
    Pasal 26 ayat (1) jo. Pasal 28), with the reason."""
    view = await usecases.add_supervisor(principal, case_id, body.employee_id, body.reason)
    return {**view.shown, "allowed_actions": _allowed(view)}


@router.post("/reports/{case_id}/deadline-extensions", responses=error_responses(404, 409))
async def extend_deadline(
    case_id: str,
    body: ExtensionIn,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*EXTENDERS))],
) -> dict[str, Any]:
    """Extend a running deadline where the rules allow it; the reporter sees the reason."""
    view = await usecases.extend_deadline(principal, case_id, body.deadline, body.working_days, body.reason)
    return {**view.shown, "allowed_actions": _allowed(view)}


@router.post("/reports/{case_id}/merge", responses=error_responses(404, 409))
async def merge(
    case_id: str,
    body: MergeIn,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*SUBJECT_ASSIGNERS))],
) -> dict[str, Any]:
    """Case `from_case_id`'s reports and subjects join this case; that case ends as merged."""
    view = await usecases.merge(principal, case_id, body.from_case_id, body.reason)
    return {**view.shown, "allowed_actions": _allowed(view)}


@router.post(
    "/reports/{case_id}/split", status_code=status.HTTP_201_CREATED, responses=error_responses(404, 409)
)
async def split(
    case_id: str,
    body: SplitIn,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*SUBJECT_ASSIGNERS))],
) -> dict[str, Any]:
    """A report leaves this case and opens its own (answered with the new case)."""
    view = await usecases.split(principal, case_id, body.report_id, body.reason)
    return {**view.shown, "allowed_actions": _allowed(view)}


@router.post("/reports/{case_id}/reporter", responses=error_responses(404, 413))
async def reporter_identity(
    case_id: str,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*IDENTITY_READERS))],
    body: IdentityReasonIn | None = None,
) -> dict[str, Any]:
    """The reporters' identities: only with a stated reason, and every read is logged. The
    reason is in the body: a URL's query string reaches logs."""
    identities = await usecases.reporter_identity(principal, case_id, body.reason if body else None)
    return {
        "case_id": case_id,
        "reporters": identities,
        "notice": "Akses ini dicatat dalam log audit beserta alasan yang Anda berikan.",
    }


@router.get("/reporter-access-log")
async def reporter_access_log(
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*AUDITORS))],
    case_id: str | None = Query(default=None, max_length=64),
    page: Page = 1,
    page_size: int = Query(default=50, ge=1, le=MAX_PAGE_SIZE),
) -> dict[str, Any]:
    """The log of identity reads, newest first: for a unit-bound auditor, of their units' cases."""
    docs, total = await usecases.access_entries(principal, case_id, page, page_size)
    items = [
        {
            "seq": d["seq"],
            "case_id": d["case_id"],
            "actor": d["actor"],
            "actor_role": d["actor_role"],
            "reason": d["reason"],
            "identities_read": d["identities_read"],
            "at": d["at"],
            "hash": d["hash"],
        }
        for d in docs
    ]
    return page_response(items, page, page_size, total)


@router.post("/reporter-access-log/verify", responses=error_responses(413))
async def verify_reporter_access_log(
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*AUDITORS))],
    body: PublishedHeadIn | None = None,
) -> dict[str, Any]:
    """Whether the log is as written: each entry against its hash chain, the end against the
    recorded head and, if given, a head the auditor kept from a published event."""
    published = AccessHead(body.length, body.head_hash) if body else None
    check = await usecases.verify_access_log(published)
    return {
        "intact": check.intact,
        "length": check.length,
        "head_hash": check.head_hash,
        "first_broken": check.first_broken,
        "problem": check.problem,
    }
