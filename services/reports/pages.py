"""The reports service's pages: the public report form (`/lapor`) and tracking page (`/lacak`),
and the case handlers' queue and case page (`/kasus`). Thin, as the JSON API is: each page
reads its form, calls the same `ReportsUseCases` the API calls, and renders the answer.

Confidentiality, as in the API (docs/security.md): the tracking code travels only in request
bodies and pages, never in a URL, a redirect or a log line; the page that shows a new code is
the answer to the POST itself, and no page is cached (the kit sends `no-store`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from services.kit.errors import Conflict, Forbidden, InvalidInput
from services.kit.identity import Principal
from services.kit.validation import field_errors
from services.reports.api import (
    INTERNAL_HISTORY,
    MAX_ACCUSED,
    ExtensionIn,
    RateLimits,
    ReportIn,
    ReportsMetrics,
    SubjectIn,
    TransitionIn,
)
from services.reports.catalogue import (
    CATEGORIES,
    CATEGORY_BY_CODE,
    REMEDY_LABELS,
    REMEDY_OUTCOME_LABELS,
    SANCTIONS,
    Remedy,
    RemedyOutcome,
    ViolationClass,
    legal_sanctions,
    remedies_for,
)
from services.reports.domain import (
    ACTION_LABELS,
    CASE_ACTIONS,
    DEADLINE_LABELS,
    DEADLINE_OPEN_IN,
    EVIDENCE_MAX_BYTES,
    EVIDENCE_MAX_FILES,
    EVIDENCE_TYPE_NAMES,
    EXTEND_DEADLINE,
    EXTENSIONS,
    MERGE,
    SPLIT,
    STATE_LABELS,
    SUBJECT_KIND_LABELS,
    TERMINAL_STATES,
    Action,
    CaseState,
    DeadlineBadge,
    ReportForm,
    SubjectKind,
    check_evidence_files,
    deadline_badges,
    evidence_download_name,
)
from services.reports.usecases import (
    CASE_READERS,
    EVIDENCE_READERS,
    EXTENDERS,
    IDENTITY_READERS,
    SUBJECT_ASSIGNERS,
    ReportsUseCases,
    TrackedReport,
)
from services.webkit import PagesDep, checked_form, page_principal, page_router

router = page_router()

QUEUE_PAGE_SIZE = 25
ACCUSED_ROWS = 3
"""Rows for the accused on the form: enough for most reports without JavaScript; a report about
more people says so in the description, or is filed again for the others."""
MAX_LINKS = 10
CLASS_WORDS: dict[str, str] = {
    ViolationClass.ETHICS.value: "biasanya pelanggaran kode etik, dengan sanksi moral",
    ViolationClass.DISCIPLINE.value: "biasanya pelanggaran disiplin, dengan hukuman disiplin",
}
CLASS_LABELS: dict[str, str] = {
    ViolationClass.ETHICS.value: "Kode etik",
    ViolationClass.DISCIPLINE.value: "Disiplin",
}
HISTORY_LABELS: dict[str, str] = {
    **{action.value: label for action, label in ACTION_LABELS.items()},
    EXTEND_DEADLINE: "perpanjangan tenggat",
    MERGE: "penggabungan kasus",
    SPLIT: "pemisahan laporan",
    "add_subject": "penambahan subjek",
    "assign_subject": "penetapan pegawai terlapor",
}
SUCCESS_MESSAGES: dict[str, str] = {
    action.value: f"Berhasil: {label}. Alasan Anda tercatat dan dapat dibaca pelapor."
    for action, label in ACTION_LABELS.items()
}
SUCCESS_MESSAGES["assign_subject"] = "Berhasil: pegawai terlapor ditetapkan."
SUCCESS_MESSAGES[EXTEND_DEADLINE] = "Berhasil: tenggat diperpanjang. Alasan Anda dapat dibaca pelapor."
"""The message after an action, chosen by the action's name in the redirect's query: never free
text in a URL."""
REASON_HINT = "Tulis untuk pelapor: alasan ini tampil di halaman lacak laporan."
CHANNEL_LABELS = {"public": "Masyarakat", "bawaslu": "Temuan Bawaslu", "supervisor": "Atasan"}


def _usecases(request: Request) -> ReportsUseCases:
    usecases: ReportsUseCases = request.app.state.reports_usecases
    return usecases


UseCases = Annotated[ReportsUseCases, Depends(_usecases)]
Form = Annotated[FormData, Depends(checked_form)]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _optional(form: FormData, name: str) -> str | None:
    return _text(form, name) or None


async def _uploads(form: FormData, name: str) -> list[tuple[str, bytes]]:
    """The files chosen in the form's file field `name`. A field left empty still arrives as a
    part with no name and no content; it is not a file. Each file is read only one byte past the
    limit, which is all it takes to refuse it."""
    files: list[tuple[str, bytes]] = []
    for item in form.getlist(name):
        if not isinstance(item, UploadFile):
            continue
        content = await item.read(EVIDENCE_MAX_BYTES + 1)
        if not item.filename and not content:
            continue
        files.append((item.filename or "", content))
    return files


def _file_errors(files: Sequence[tuple[str, bytes]]) -> list[dict[str, Any]]:
    try:
        check_evidence_files(files)
    except InvalidInput as invalid:
        return list(invalid.errors)
    return []


async def _limited(request: Request, endpoint: str) -> str | None:
    """The JSON API's rate limit on the same endpoint: a message when the client is over it."""
    limits: RateLimits = request.app.state.rate_limits
    metrics: ReportsMetrics = request.app.state.reports_metrics
    try:
        await limits.check(request, endpoint, metrics)
    except HTTPException as refused:
        return f"{refused.detail}. Data Anda belum terkirim."
    return None


def _local(request: Request, moment: dt.datetime | None) -> str:
    """A moment as people here read it: the date and time in the service's time zone."""
    if moment is None:
        return ""
    zone = ZoneInfo(_usecases(request).calendar.timezone)
    return moment.astimezone(zone).strftime("%d-%m-%Y %H:%M")


def _date(day: Any) -> str:
    if isinstance(day, dt.datetime | dt.date):
        return day.strftime("%d-%m-%Y")
    return ""


# ---------------------------------------------------------------- /lapor: the public report form


def _categories() -> list[dict[str, str]]:
    return [
        {"code": c.code, "name": c.name, "class_words": CLASS_WORDS[c.suggested_class.value]}
        for c in CATEGORIES
    ]


def _report_form_context(request: Request, values: Mapping[str, str] | None = None) -> dict[str, Any]:
    usecases = _usecases(request)
    return {
        "categories": _categories(),
        "values": dict(values or {}),
        "accused_rows": range(ACCUSED_ROWS),
        "max_files": EVIDENCE_MAX_FILES,
        "max_file_mb": EVIDENCE_MAX_BYTES // (1024 * 1024),
        "file_types": EVIDENCE_TYPE_NAMES,
        "today": usecases.calendar.local_date(usecases.clock.now()).isoformat(),
    }


ACCUSED_FIELDS = {"name": "nama", "nip": "nip", "org_unit_code": "unit", "position": "jabatan"}
REPORT_FIELDS = {
    "category": "kategori",
    "description": "uraian",
    "incident_date": "tanggal",
    "location": "tempat",
    "evidence": "tautan",
    "reporter": "pelapor-kontak",
}


def _form_field(error: Mapping[str, Any]) -> str:
    """The form's field name for an error of ReportIn (`accused.1.name` -> `terlapor-1-nama`)."""
    parts = str(error.get("field") or "").split(".")
    if parts[0] == "accused":
        row = parts[1] if len(parts) > 2 and parts[1].isdigit() else "0"
        return f"terlapor-{row}-{ACCUSED_FIELDS.get(parts[-1], 'nama')}"
    if parts[0] == "reporter":
        return "pelapor-nama" if parts[-1] == "name" else "pelapor-kontak"
    return REPORT_FIELDS.get(parts[0], parts[0])


def _as_form_errors(errors: Sequence[Mapping[str, Any]]) -> InvalidInput:
    return InvalidInput([{"field": _form_field(e), "message": e.get("message")} for e in errors])


async def _report_body(
    form: FormData, usecases: ReportsUseCases
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The JSON intake's body from the form, and the errors found on the way (units first)."""
    errors: list[dict[str, Any]] = []
    accused: list[dict[str, Any]] = []
    for row in range(MAX_ACCUSED):
        name = _text(form, f"terlapor-{row}-nama")
        unit_text = _text(form, f"terlapor-{row}-unit")
        nip = _text(form, f"terlapor-{row}-nip")
        position = _text(form, f"terlapor-{row}-jabatan")
        if not (name or unit_text or nip or position):
            continue
        person: dict[str, Any] = {"name": name}
        if nip:
            person["nip"] = nip
        if position:
            person["position"] = position
        try:
            unit = await usecases.resolve_unit(unit_text)
        except InvalidInput as invalid:
            errors += [{"field": f"terlapor-{row}-unit", "message": e["message"]} for e in invalid.errors]
            unit = None
        if unit:
            person["org_unit_code"] = unit
        accused.append(person)
    links = [line.strip() for line in _text(form, "tautan").splitlines() if line.strip()]
    reporter_name, contact = _text(form, "pelapor-nama"), _text(form, "pelapor-kontak")
    reporter: dict[str, str] | None = None
    if reporter_name or contact:
        if not contact:
            errors.append(
                {
                    "field": "pelapor-kontak",
                    "message": (
                        "isi kontak (email atau nomor ponsel), atau kosongkan nama untuk melapor anonim"
                    ),
                }
            )
        reporter = {"name": reporter_name or "Pelapor", "contact": contact}
    body = {
        "category": _text(form, "kategori"),
        "description": _text(form, "uraian"),
        "incident_date": _text(form, "tanggal") or None,
        "location": _text(form, "tempat"),
        "accused": accused if accused else [{"name": ""}],
        "evidence": [{"url": link} for link in links[:MAX_LINKS]],
        "reporter": reporter if reporter and contact else None,
    }
    if len(links) > MAX_LINKS:
        errors.append({"field": "tautan", "message": f"paling banyak {MAX_LINKS} tautan"})
    return body, errors


def _form_values(form: FormData) -> dict[str, str]:
    """What the person typed, to fill the form again (files must be chosen again)."""
    return {key: value for key, value in form.multi_items() if isinstance(value, str) and key != "csrf_token"}


@router.get("/lapor", response_class=HTMLResponse)
async def report_form(request: Request, pages: PagesDep) -> Response:
    return pages.render(request, "lapor.html", _report_form_context(request))


@router.get("/lapor/unit", response_class=HTMLResponse)
async def unit_options(request: Request, pages: PagesDep, usecases: UseCases) -> Response:
    """The unit picker's options (htmx): the field's own value arrives under its own name."""
    params = request.query_params
    text = params.get("q") or next((v for k, v in params.items() if k.endswith("-unit")), "")
    units = await usecases.units_matching(text[:100])
    return pages.render(request, "unit_pilihan.html", {"units": units})


@router.post("/lapor", response_class=HTMLResponse)
async def file_report(request: Request, pages: PagesDep, usecases: UseCases, form: Form) -> Response:
    """A public report; on success the answer itself shows the tracking code, once."""
    values = _form_values(form)
    refused = await _limited(request, "intake")
    if refused:
        page = pages.render_invalid(
            request, "lapor.html", _report_form_context(request, values), InvalidInput.one(None, refused)
        )
        page.status_code = 429
        return page
    files = await _uploads(form, "berkas")
    body, errors = await _report_body(form, usecases)
    parsed: ReportIn | None = None
    try:
        parsed = ReportIn.model_validate(body)
    except ValidationError as invalid:
        errors += _as_form_errors(field_errors(invalid.errors())).errors
    errors += _file_errors(files)
    if errors or parsed is None:
        return pages.render_invalid(
            request, "lapor.html", _report_form_context(request, values), InvalidInput(errors)
        )
    accused = parsed.accused if isinstance(parsed.accused, list) else [parsed.accused]
    report = ReportForm(
        category=parsed.category,
        description=parsed.description,
        incident_date=parsed.incident_date,
        location=parsed.location,
        accused=accused[0].model_dump(),
        co_accused=tuple(person.model_dump() for person in accused[1:]),
        evidence=[item.model_dump(exclude_none=True) for item in parsed.evidence],
        reporter=parsed.reporter.model_dump() if parsed.reporter is not None else None,
    )
    try:
        # Always the public channel: the page is for citizens, and a signed-in employee who
        # reports here is no more identified than any other reporter.
        result = await usecases.file_report_with_files(None, report, files)
    except InvalidInput as invalid:
        return pages.render_invalid(
            request, "lapor.html", _report_form_context(request, values), _as_form_errors(invalid.errors)
        )
    metrics: ReportsMetrics = request.app.state.reports_metrics
    metrics.received.labels(result.channel, str(result.linked).lower()).inc()
    return pages.render(
        request,
        "lapor_diterima.html",
        {"tracking_code": result.tracking_code, "files": len(files), "anonymous": report.reporter is None},
        headers={"Referrer-Policy": "no-referrer"},
    )


# ---------------------------------------------------------------- /lacak: tracking a report


def _tracking_context(request: Request, tracked: TrackedReport) -> dict[str, Any]:
    report, case = tracked.report, tracked.case
    state = CaseState(case["state"])
    history = [
        {
            "label": STATE_LABELS[CaseState(entry["state"])],
            "reason": entry["reason"],
            "at": _local(request, entry["at"]),
        }
        for entry in case["history"]
        if entry["action"] not in INTERNAL_HISTORY
    ]
    additions = [
        {"at": _local(request, a["at"]), "text": a["text"], "files": len(a["evidence"])}
        for a in report.get("additions", [])
    ]
    return {
        "code": tracked.tracking_code,
        "status_label": STATE_LABELS[state],
        "category_name": CATEGORY_BY_CODE[report["category"]].name,
        "received_at": _local(request, report["received_at"]),
        "history": list(reversed(history)),
        "additions": additions,
        "max_files": EVIDENCE_MAX_FILES,
        "max_file_mb": EVIDENCE_MAX_BYTES // (1024 * 1024),
        "file_types": EVIDENCE_TYPE_NAMES,
        "added": False,
        "values": {},
    }


@router.get("/lacak", response_class=HTMLResponse)
async def track_form(request: Request, pages: PagesDep) -> Response:
    return pages.render(request, "lacak.html", {"values": {}})


async def _tracked(
    request: Request, pages: PagesDep, usecases: ReportsUseCases, code: str
) -> TrackedReport | Response:
    refused = await _limited(request, "tracking")
    if refused:
        page = pages.render_invalid(request, "lacak.html", {"values": {}}, InvalidInput.one("kode", refused))
        page.status_code = 429
        return page
    try:
        return await usecases.track(code)
    except InvalidInput as invalid:
        return pages.render_invalid(
            request, "lacak.html", {"values": {}}, InvalidInput.one("kode", str(invalid.errors[0]["message"]))
        )
    except LookupError as missing:
        page = pages.render_invalid(
            request, "lacak.html", {"values": {}}, InvalidInput.one("kode", str(missing))
        )
        page.status_code = 404
        return page


@router.post("/lacak", response_class=HTMLResponse)
async def track(request: Request, pages: PagesDep, usecases: UseCases, form: Form) -> Response:
    """The report's status and history, for the code in the form's body."""
    tracked = await _tracked(request, pages, usecases, _text(form, "kode"))
    if isinstance(tracked, Response):
        return tracked
    return pages.render(
        request,
        "lacak_hasil.html",
        _tracking_context(request, tracked),
        headers={"Referrer-Policy": "no-referrer"},
    )


@router.post("/lacak/tambah", response_class=HTMLResponse)
async def add_information(request: Request, pages: PagesDep, usecases: UseCases, form: Form) -> Response:
    """The reporter adds text or files to their report; the tracking page again, saying so."""
    tracked = await _tracked(request, pages, usecases, _text(form, "kode"))
    if isinstance(tracked, Response):
        return tracked
    files = await _uploads(form, "berkas")
    text = _text(form, "keterangan")
    try:
        updated = await usecases.add_information(tracked.tracking_code, text, files)
    except (InvalidInput, Conflict) as refused:
        invalid = (
            refused if isinstance(refused, InvalidInput) else InvalidInput.one("keterangan", refused.message)
        )
        context = {**_tracking_context(request, tracked), "values": {"keterangan": text}}
        return pages.render_invalid(request, "lacak_hasil.html", context, invalid)
    context = {**_tracking_context(request, updated), "added": True}
    return pages.render(request, "lacak_hasil.html", context, headers={"Referrer-Policy": "no-referrer"})


# ---------------------------------------------------------------- /kasus: the case handlers' pages


def _badges(request: Request, case: Mapping[str, Any]) -> list[dict[str, Any]]:
    usecases = _usecases(request)
    found: list[DeadlineBadge] = deadline_badges(case, usecases.clock.now(), usecases.calendar)
    return [
        {
            "label": badge.label,
            "due": _local(request, badge.due_at),
            "text": (
                f"terlambat {badge.working_days} hari kerja"
                if badge.late
                else f"sisa {badge.working_days} hari kerja"
            ),
            "late": badge.late,
            "urgent": not badge.late and badge.working_days <= 2,
        }
        for badge in found
    ]


def _subject_names(summary: Mapping[str, Any]) -> str:
    names = []
    for subject in summary.get("subjects", []):
        employee = subject.get("employee")
        accused = subject.get("accused")
        names.append(employee["name"] if employee else (accused or {}).get("name", "belum dipastikan"))
    return ", ".join(names) or "-"


@router.get("/kasus", response_class=HTMLResponse)
async def case_queue(
    request: Request,
    pages: PagesDep,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(page_principal(*CASE_READERS))],
) -> Response:
    """The cases in the handler's scope, newest first, filtered by state, lateness and unit."""
    params = request.query_params
    state_value = params.get("status", "")
    overdue_value = params.get("terlambat", "")
    unit = params.get("unit", "").strip()[:64]
    page_text = params.get("halaman", "1")
    page = int(page_text) if page_text.isdigit() and 0 < int(page_text) < 100_000 else 1
    state = CaseState(state_value) if state_value in CaseState.__members__.values() else None
    overdue = {"ya": True, "tidak": False}.get(overdue_value)
    summaries, total = await usecases.list_cases(
        principal, state, overdue, unit or None, page, QUEUE_PAGE_SIZE
    )
    cases = [
        {
            "id": summary["id"],
            "short_id": summary["id"][:8],
            "state_label": summary["state_label"],
            "category": CATEGORY_BY_CODE[summary["category"]].name,
            "subjects": _subject_names(summary),
            "unit": summary.get("org_unit_code") or "-",
            "received": _local(request, summary["received_at"]),
            "overdue": summary.get("overdue", False),
            "badges": _badges(request, summary),
        }
        for summary in summaries
    ]
    filters = {"status": state.value if state else "", "terlambat": overdue_value, "unit": unit}

    def page_link(number: int) -> str:
        return "/kasus?" + urlencode({**{k: v for k, v in filters.items() if v}, "halaman": number})

    pages_total = max(1, -(-total // QUEUE_PAGE_SIZE))
    return pages.render(
        request,
        "kasus_antrean.html",
        {
            "cases": cases,
            "total": total,
            "page": page,
            "pages_total": pages_total,
            "previous_link": page_link(page - 1) if page > 1 else None,
            "next_link": page_link(page + 1) if page < pages_total else None,
            "filters": filters,
            "states": [(s.value, STATE_LABELS[s]) for s in CaseState],
        },
    )


@dataclass
class FormField:
    """One input of an action's form."""

    name: str
    label: str
    kind: str  # "textarea", "text", "date", "select"
    required: bool = False
    hint: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    value: str = ""


@dataclass
class ActionForm:
    """A form for one allowed action, on the case or on one of its subjects."""

    action: str
    label: str
    subject_id: str | None
    fields: list[FormField]
    note: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.action}-{self.subject_id or 'kasus'}"


def _reason_field(values: Mapping[str, str]) -> FormField:
    return FormField("reason", "Alasan", "textarea", True, REASON_HINT, value=values.get("reason", ""))


def _sanction_options(case: Mapping[str, Any], subject: Mapping[str, Any]) -> list[tuple[str, str]]:
    employee = subject.get("employee")
    if employee is None:
        return []
    violation_class = ViolationClass(subject.get("violation_class") or case["suggested_class"])
    category = CATEGORY_BY_CODE[case["category"]]
    return [(s.code, s.name) for s in legal_sanctions(employee["employment_type"], violation_class, category)]


def _action_form(
    action: Action, case: Mapping[str, Any], subject: Mapping[str, Any] | None, values: Mapping[str, str]
) -> ActionForm:
    """The form of `action` with the fields it requires (see api.SubjectActionIn)."""
    fields = [_reason_field(values)]
    note = ""
    if action is Action.RECOMMEND:
        fields.append(FormField("bawaslu_reference", "Nomor rekomendasi Bawaslu (bila ada)", "text"))
    elif action is Action.EXAMINE and subject is not None:
        current = subject.get("violation_class") or case["suggested_class"]
        fields += [
            FormField(
                "violation_class",
                "Jenis pelanggaran menurut hasil pemeriksaan",
                "select",
                True,
                f"Kategori laporan menyarankan: {CLASS_LABELS[case['suggested_class']]}.",
                [(v, CLASS_LABELS[v]) for v in CLASS_LABELS],
                values.get("violation_class", current),
            ),
            FormField(
                "class_reason", "Alasan jenis pelanggaran (bila berbeda dari alasan di atas)", "textarea"
            ),
        ]
    elif action is Action.DECIDE_SANCTION and subject is not None:
        options = _sanction_options(case, subject)
        if not options:
            note = (
                "Pegawai terlapor belum dipastikan, atau tidak ada sanksi yang sah baginya: "
                "pastikan subjek dahulu."
            )
        fields.append(
            FormField(
                "sanction",
                "Sanksi (hanya yang sah untuk terlapor dan jenis pelanggarannya)",
                "select",
                True,
                options=options,
                value=values.get("sanction", ""),
            )
        )
    elif action is Action.RECORD:
        fields += [
            FormField(
                "decree_number", "Nomor surat keputusan", "text", True, value=values.get("decree_number", "")
            ),
            FormField(
                "decree_date", "Tanggal surat keputusan", "date", True, value=values.get("decree_date", "")
            ),
            FormField(
                "sanction_start",
                "Sanksi berlaku mulai (bila bukan tanggal surat)",
                "date",
                False,
                value=values.get("sanction_start", ""),
            ),
        ]
    elif action is Action.FILE_APPEAL and subject is not None:
        sanction = SANCTIONS.get((subject.get("sanction") or {}).get("code", ""))
        employee = subject.get("employee")
        rules = remedies_for(sanction, employee["employment_type"]) if sanction and employee else ()
        fields += [
            FormField(
                "remedy",
                "Upaya administratif",
                "select",
                True,
                options=[
                    (r.remedy.value, f"{REMEDY_LABELS[r.remedy]} kepada {r.authority_label}") for r in rules
                ]
                or [(r.value, REMEDY_LABELS[r]) for r in Remedy],
            ),
            FormField(
                "filed_on", "Tanggal diajukan (kosong: hari ini)", "date", value=values.get("filed_on", "")
            ),
        ]
    elif action is Action.RESOLVE_APPEAL and subject is not None:
        fields += [
            FormField(
                "outcome",
                "Putusan",
                "select",
                True,
                options=[(o.value, REMEDY_OUTCOME_LABELS[o]) for o in RemedyOutcome],
                value=values.get("outcome", ""),
            ),
            FormField(
                "decided_on", "Tanggal putusan (kosong: hari ini)", "date", value=values.get("decided_on", "")
            ),
            FormField(
                "new_sanction",
                "Sanksi baru (hanya bila sanksi diubah)",
                "select",
                options=[("", "-"), *_sanction_options(case, subject)],
                value=values.get("new_sanction", ""),
            ),
        ]
    return ActionForm(
        action.value, ACTION_LABELS[action].capitalize(), subject["id"] if subject else None, fields, note
    )


def _subject_view(case: Mapping[str, Any], subject: Mapping[str, Any]) -> dict[str, Any]:
    accused = subject.get("accused") or {}
    employee = subject.get("employee")
    sanction = subject.get("sanction")
    decree = subject.get("decree")
    remedy = subject.get("remedy")
    return {
        "id": subject["subject_id"],
        "kind": SUBJECT_KIND_LABELS.get(SubjectKind(subject["kind"]), subject["kind"])
        if subject.get("kind")
        else "Terlapor",
        "reported_name": accused.get("name"),
        "reported_unit": accused.get("org_unit_code"),
        "employee": employee,
        "match_status": subject.get("match_status"),
        "state_label": STATE_LABELS[CaseState(subject["state"])],
        "class_label": CLASS_LABELS.get(subject.get("violation_class") or "", ""),
        "sanction": sanction["name"] if sanction else None,
        "decree": decree,
        "remedy": remedy,
        "candidates": subject.get("candidates", []),
        "data_blocked": subject.get("data_blocked", False),
        "decided": subject["state"] in DECIDED_OR_LATER,
    }


DECIDED_OR_LATER = frozenset(
    state.value for state in (CaseState.DECIDED, CaseState.RECORDED, CaseState.APPEALED, *TERMINAL_STATES)
)


def _extension_forms(principal: Principal, case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A form for each running deadline this role may still extend (EXTENSIONS)."""
    state = CaseState(case["state"])
    forms = []
    for kind, rule in EXTENSIONS.items():
        used = sum(1 for e in case.get("extensions", []) if e["deadline"] == kind.value)
        if principal.role in rule.roles and state in DEADLINE_OPEN_IN[kind] and used < rule.times:
            forms.append(
                {
                    "deadline": kind.value,
                    "label": DEADLINE_LABELS[kind],
                    "max_days": rule.max_working_days,
                    "basis": rule.basis,
                }
            )
    return forms


def _case_page_context(
    request: Request,
    principal: Principal,
    view_case: Mapping[str, Any],
    shown: Mapping[str, Any],
    allowed: Sequence[Action],
    values: Mapping[str, str] | None = None,
    failed: str | None = None,
    errors: Sequence[str] = (),
) -> dict[str, Any]:
    """The case page: what the role may see of it (`shown`, from the use case) and a form for
    each action the role may take now (`allowed`)."""
    values = values or {}
    case_forms = [
        _action_form(action, view_case, None, values if failed == f"{action.value}-kasus" else {})
        for action in allowed
        if action in CASE_ACTIONS
    ]
    stored_subjects = {s["id"]: s for s in view_case["subjects"]}
    subjects = []
    for subject in shown.get("subjects", []):
        forms = []
        for name in subject.get("allowed_actions", []):
            action = Action(name)
            key = f"{action.value}-{subject['subject_id']}"
            forms.append(
                _action_form(
                    action, view_case, stored_subjects[subject["subject_id"]], values if failed == key else {}
                )
            )
        subjects.append({**_subject_view(view_case, subject), "forms": forms})
    placed = False
    for form in [*case_forms, *(f for s in subjects for f in s["forms"])]:
        if failed == form.key:
            form.errors = list(errors)
            placed = True
    success = request.query_params.get("berhasil", "")
    reports = [
        {
            "id": r["id"],
            "channel": CHANNEL_LABELS.get(r["channel"], r["channel"]),
            "description": r["description"],
            "incident_date": _date(r["incident_date"]),
            "location": r["location"],
            "accused": [r["accused"], *r.get("co_accused", [])],
            "links": [e for e in r["evidence"] if e.get("url")],
            "files": [e for e in r["evidence"] if e.get("file_id")],
            # Evidence the JSON intake described without a link (a hash, a note).
            "described": [e for e in r["evidence"] if not e.get("url") and not e.get("file_id")],
            "anonymous": r["anonymous"],
            "received": _local(request, r["received_at"]),
        }
        for r in shown.get("reports", [])
    ]
    stored_reports = {r["_id"]: r for r in view_case.get("_reports", [])}
    for report in reports:
        stored = stored_reports.get(report["id"], {})
        report["additions"] = [
            {"at": _local(request, a["at"]), "text": a["text"], "files": a["evidence"]}
            for a in stored.get("additions", [])
        ]
    history = [
        {
            "label": HISTORY_LABELS.get(entry.get("action") or "", "laporan diterima"),
            "state": STATE_LABELS[CaseState(entry["state"])],
            "reason": entry.get("reason"),
            "role": entry.get("actor_role"),
            "subject_id": entry.get("subject_id"),
            "at": _local(request, entry["at"]),
        }
        for entry in reversed(shown.get("history", []))
    ]
    category = CATEGORY_BY_CODE[view_case["category"]]
    return {
        "case_id": view_case["_id"],
        "state_label": STATE_LABELS[CaseState(view_case["state"])],
        "category": category.name,
        "class_label": CLASS_LABELS.get(view_case.get("violation_class") or "", ""),
        "unit": view_case.get("org_unit_code") or "-",
        "badges": _badges(request, view_case),
        "subjects": subjects,
        "reports": reports,
        "sees_reports": principal.role in EVIDENCE_READERS,
        "history": history,
        "case_forms": case_forms,
        "allowed_actions": [action.value for action in allowed],
        "may_open_identity": principal.role in IDENTITY_READERS,
        "may_assign": principal.role in SUBJECT_ASSIGNERS
        and CaseState(view_case["state"]) not in TERMINAL_STATES,
        "extension_forms": _extension_forms(principal, view_case),
        "identity_errors": list(errors) if failed == "identitas" else [],
        # Errors of the subject and extension forms, and of a form no longer on the page (the
        # case moved on meanwhile): on top.
        "page_errors": list(errors) if failed and failed != "identitas" and not placed else [],
        "success": SUCCESS_MESSAGES.get(success, ""),
        "reason_value": values.get("alasan", "") if failed == "identitas" else "",
    }


async def _case_page(
    request: Request,
    pages: PagesDep,
    usecases: ReportsUseCases,
    principal: Principal,
    case_id: str,
    *,
    status_code: int = 200,
    values: Mapping[str, str] | None = None,
    failed: str | None = None,
    errors: Sequence[str] = (),
) -> Response:
    view = await usecases.case_detail(principal, case_id)
    case = {**view.case, "_reports": view.reports}
    context = _case_page_context(
        request, principal, case, view.shown, view.allowed_actions, values, failed, errors
    )
    return pages.render(request, "kasus.html", context, status_code=status_code)


@router.get("/kasus/{case_id}", response_class=HTMLResponse)
async def case_page(
    case_id: str,
    request: Request,
    pages: PagesDep,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(page_principal(*CASE_READERS))],
) -> Response:
    return await _case_page(request, pages, usecases, principal, case_id[:64])


def _messages(error: InvalidInput | Conflict | Forbidden) -> list[str]:
    if isinstance(error, InvalidInput):
        return [str(e.get("message")) for e in error.errors]
    return [error.message]


ERROR_STATUS: dict[type[Exception], int] = {InvalidInput: 422, Conflict: 409, Forbidden: 403}


def _status_of(error: Exception) -> int:
    return next(code for kind, code in ERROR_STATUS.items() if isinstance(error, kind))


@router.post("/kasus/{case_id}/tindakan", response_class=HTMLResponse)
async def case_action(
    case_id: str,
    request: Request,
    pages: PagesDep,
    usecases: UseCases,
    form: Form,
    principal: Annotated[Principal, Depends(page_principal(*CASE_READERS))],
) -> Response:
    """One action from the case page: 303 back to the case with a success message, or the case
    page again with the error in that action's form."""
    case_id = case_id[:64]
    values = {k: v.strip() for k, v in form.multi_items() if isinstance(v, str) and k != "csrf_token"}
    body = {k: v for k, v in values.items() if v and k in TransitionIn.model_fields}
    failed = f"{values.get('action', '')}-{values.get('subject_id') or 'kasus'}"
    try:
        parsed = TransitionIn.model_validate(body)
    except ValidationError as invalid:
        messages = [f"{e['field'] or 'isian'}: {e['message']}" for e in field_errors(invalid.errors())]
        return await _case_page(
            request,
            pages,
            usecases,
            principal,
            case_id,
            status_code=422,
            values=values,
            failed=failed,
            errors=messages,
        )
    try:
        view = await usecases.transition(
            principal,
            case_id,
            parsed.action,
            parsed.reason,
            parsed.sanction,
            parsed.bawaslu_reference,
            parsed.subject_id,
            parsed.details(),
        )
    except (InvalidInput, Conflict, Forbidden) as refused:
        return await _case_page(
            request,
            pages,
            usecases,
            principal,
            case_id,
            status_code=_status_of(refused),
            values=values,
            failed=failed,
            errors=_messages(refused),
        )
    metrics: ReportsMetrics = request.app.state.reports_metrics
    metrics.transitions.labels(parsed.action.value).inc()
    case = view.case
    if parsed.action in (Action.DECIDE_SANCTION, Action.DECIDE_NOT_PROVEN) and case.get("decided_at"):
        recommended = next((h["at"] for h in case["history"] if h["action"] == Action.RECOMMEND.value), None)
        if recommended is not None:
            metrics.time_to_decision.observe((case["decided_at"] - recommended).total_seconds() / 86400)
    return pages.redirect(f"/kasus/{case_id}?{urlencode({'berhasil': parsed.action.value})}")


async def _refused_page(
    request: Request,
    pages: PagesDep,
    usecases: ReportsUseCases,
    principal: Principal,
    case_id: str,
    refused: InvalidInput | Conflict | Forbidden | ValidationError,
    failed: str,
) -> Response:
    if isinstance(refused, ValidationError):
        messages = [f"{e['field'] or 'isian'}: {e['message']}" for e in field_errors(refused.errors())]
        status_code = 422
    else:
        messages, status_code = _messages(refused), _status_of(refused)
    return await _case_page(
        request, pages, usecases, principal, case_id, status_code=status_code, failed=failed, errors=messages
    )


@router.post("/kasus/{case_id}/subjek", response_class=HTMLResponse)
async def assign_subject(
    case_id: str,
    request: Request,
    pages: PagesDep,
    usecases: UseCases,
    form: Form,
    principal: Annotated[Principal, Depends(page_principal(*SUBJECT_ASSIGNERS))],
) -> Response:
    """Confirm which employee a subject is (from the candidates, or by registry id)."""
    case_id = case_id[:64]
    try:
        body = SubjectIn.model_validate(
            {"employee_id": _text(form, "employee_id"), "subject_id": _optional(form, "subject_id")}
        )
        await usecases.assign_subject(principal, case_id, body.employee_id, body.subject_id)
    except (InvalidInput, Conflict, Forbidden, ValidationError) as refused:
        return await _refused_page(request, pages, usecases, principal, case_id, refused, "subjek")
    return pages.redirect(f"/kasus/{case_id}?{urlencode({'berhasil': 'assign_subject'})}")


@router.post("/kasus/{case_id}/tenggat", response_class=HTMLResponse)
async def extend_deadline(
    case_id: str,
    request: Request,
    pages: PagesDep,
    usecases: UseCases,
    form: Form,
    principal: Annotated[Principal, Depends(page_principal(*EXTENDERS))],
) -> Response:
    """Extend a running deadline where the rules allow it, with the reason the reporter reads."""
    case_id = case_id[:64]
    try:
        body = ExtensionIn.model_validate(
            {
                "deadline": _text(form, "deadline"),
                "working_days": _text(form, "working_days") or "0",
                "reason": _text(form, "reason"),
            }
        )
        await usecases.extend_deadline(principal, case_id, body.deadline, body.working_days, body.reason)
    except (InvalidInput, Conflict, Forbidden, ValidationError) as refused:
        return await _refused_page(request, pages, usecases, principal, case_id, refused, "tenggat")
    return pages.redirect(f"/kasus/{case_id}?{urlencode({'berhasil': EXTEND_DEADLINE})}")


@router.post("/kasus/{case_id}/identitas", response_class=HTMLResponse)
async def reporter_identity(
    case_id: str,
    request: Request,
    pages: PagesDep,
    usecases: UseCases,
    form: Form,
    principal: Annotated[Principal, Depends(page_principal(*IDENTITY_READERS))],
) -> Response:
    """The reporters' identities, shown in this answer only, after the audited read."""
    case_id = case_id[:64]
    reason = _text(form, "alasan")[:500]
    try:
        identities = await usecases.reporter_identity(principal, case_id, reason)
    except InvalidInput as invalid:
        return await _case_page(
            request,
            pages,
            usecases,
            principal,
            case_id,
            status_code=422,
            values={"alasan": reason},
            failed="identitas",
            errors=_messages(invalid),
        )
    return pages.render(
        request,
        "identitas.html",
        {"case_id": case_id, "identities": identities, "reason": reason},
        headers={"Referrer-Policy": "no-referrer"},
    )


@router.get("/kasus/{case_id}/bukti/{file_id}")
async def evidence_file(
    case_id: str,
    file_id: str,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(page_principal(*EVIDENCE_READERS))],
) -> Response:
    """An evidence file, as a download only: never shown inline, never cached."""
    found = await usecases.evidence_file(principal, case_id[:64], file_id[:64])
    name = evidence_download_name({"sha256": found.sha256, "media_type": found.media_type})
    return Response(
        found.content,
        media_type=found.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "no-store",
        },
    )
