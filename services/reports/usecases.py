"""The reports service's use cases: one method per command and per query, called by the HTTP API
and the deadline scanner. Each checks the caller's role and scope once, here; loads what it
needs through the store; lets the domain's rules decide; and commits in one transaction.

Reporter confidentiality: the reporter's name, contact and token subject are sealed here
before anything is written, and only `reporter_identity` opens them, with its audit entry in
the same transaction. They reach no event, log line or metric. The contact is sealed a second
time, for notify alone, with notify's public key: this service cannot open that copy.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from contracts.envelope import EventData
from contracts.roles import Role
from services.kit.clock import Clock
from services.kit.codes import new_code, normalise_code
from services.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.kit.groupcommit import GroupCommit
from services.kit.identity import Principal
from services.kit.mongo import Document, Session
from services.kit.sealing import Sealer
from services.reports.catalogue import PemdaKind
from services.reports.domain import (
    UNIT_ADMINS,
    AccessHead,
    AccessLogCheck,
    Action,
    ActionDetails,
    CaseChange,
    CaseRules,
    CaseState,
    DeadlineKind,
    Duty,
    Intake,
    MatchResult,
    OpenCase,
    PreparedAccused,
    PreparedIntake,
    ReportForm,
    TransitionRefused,
    WorkingCalendar,
    access_head_event,
    case_allowed_actions,
    case_details,
    case_summary,
    chained_access_entry,
    check_addition,
    check_evidence_files,
    check_incident_date,
    employee_ref,
    evidence_entry,
    match_by_name,
    match_by_nip,
    name_tokens,
    pemda_kind_of,
    received_events,
    report_addition,
    report_document,
    subject_key,
    tracking_hash,
    upgraded,
    verify_access_log,
)
from services.reports.store import ReportsStore

AUTHORITY_READERS = (Role.KEPALA_OPD, Role.GUBERNUR, Role.KEMENDAGRI)
"""Roles that act on a case only when it has a subject they examine or decide (a non-ASN's OPD
head, the Governor or the Minister for a Sekda): they see those cases, within their scope
(KEPALA_OPD their unit, GUBERNUR their province, KEMENDAGRI the platform), and no other."""
CASE_READERS = (
    Role.BKPSDM,
    Role.BKN,
    Role.INSPEKTORAT,
    Role.BAWASLU,
    Role.PPK,
    Role.OPD_ADMIN,
    *AUTHORITY_READERS,
)
CASE_HANDLERS = (Role.BKPSDM, Role.BKN, Role.BAWASLU, Role.INSPEKTORAT, Role.PPK, *AUTHORITY_READERS)
"""Who may ask for a transition; which of them may take which action is the domain's TRANSITIONS
and, for a subject's examination and decision, the subject's authority (catalogue)."""
SUBJECT_ASSIGNERS = (Role.BKPSDM, Role.BKN)
"""Also who adds a supervisor as a subject, merges cases and splits a report out: the task force."""
EXTENDERS = (Role.BAWASLU, Role.BKPSDM, Role.BKN)
"""Who may ask for a deadline extension; which deadline each may extend is the domain's EXTENSIONS."""
IDENTITY_READERS = (Role.BKPSDM, Role.INSPEKTORAT)
"""Who may open a reporter's identity, always with a stated reason that is logged."""
AUDITORS = (Role.BKPSDM, Role.INSPEKTORAT, Role.BKN)
SUPERVISOR_REPORTERS = (Role.EMPLOYEE, Role.OPD_ADMIN)
"""Who files a report with their own token (a supervisor about their staff)."""
FINDING_REPORTERS = (Role.BAWASLU,)
MAX_NAME_CANDIDATES = 300
"""Employees compared by name per report: those sharing a name token, in the named unit."""
MIN_IDENTITY_REASON = 10
CONCURRENT_CHANGE = "kasus baru saja diubah oleh pengguna lain; muat ulang lalu coba lagi"
EVIDENCE_READERS = tuple(role for role in CASE_READERS if role not in UNIT_ADMINS)
"""Who downloads evidence files: those who see a case's reports (an OPD admin sees neither)."""
MAX_UNIT_OPTIONS = 20


@dataclass(frozen=True)
class EvidenceDownload:
    content: bytes
    media_type: str
    sha256: str


@dataclass(frozen=True)
class IntakeResult:
    report_id: str
    case_id: str
    tracking_code: str
    linked: bool
    channel: str


@dataclass(frozen=True)
class TrackedReport:
    tracking_code: str
    report: Document
    case: Document


@dataclass(frozen=True)
class CaseView:
    """A case as one caller sees it: with the actions their role may take on it now."""

    case: Document
    allowed_actions: list[Action]
    reports: list[Document]
    shown: Document = field(default_factory=dict)
    """What the caller's role may see of it (see domain.case_details)."""


class ContactSealing(Protocol):
    """Seals a reporter's contact for the notify service (kit.sealedbox.ContactSealer)."""

    def seal(self, value: dict[str, Any]) -> bytes: ...


def check_case_scope(principal: Principal, case: Document) -> None:
    """A unit-bound caller handles only the cases of their unit and the units below it; an
    authority above or beside the pemda only the cases with a subject they act on."""
    if principal.org_unit is not None and principal.org_unit not in case.get("lineage", []):
        raise Forbidden(f"kasus ini berada di luar wewenang Anda (unit {principal.org_unit})")
    if principal.role in AUTHORITY_READERS and principal.role.value not in upgraded(case).get(
        "authorities", []
    ):
        raise Forbidden(
            f"kasus ini tidak memiliki subjek yang diperiksa atau diputus oleh {principal.role.value}"
        )


def case_not_found(case_id: str) -> NotFound:
    return NotFound(f"kasus {case_id} tidak ditemukan")


class ReportsUseCases:
    def __init__(
        self,
        store: ReportsStore,
        vault: Sealer,
        contact_sealer: ContactSealing,
        clock: Clock,
        calendar: WorkingCalendar,
        link_window_days: int = 2,
        escalation_step_days: int = 5,
        *,
        tracking_key: bytes,
    ) -> None:
        self.store = store
        self.vault = vault
        self.contact_sealer = contact_sealer
        self.tracking_key = tracking_key
        self.clock = clock
        self.calendar = calendar
        self.rules = CaseRules(calendar, link_window_days, escalation_step_days)
        self.intake_commit: GroupCommit[PreparedIntake, IntakeResult] = GroupCommit(self._commit_intakes)

    # ------------------------------------------------------------ intake

    async def file_report(self, principal: Principal | None, form: ReportForm) -> IntakeResult:
        """Public intake, anonymous or with a contact. A supervisor files with their own token:
        who they are is then kept, sealed, as the reporter's identity."""
        reporter = form.reporter
        channel = "public"
        if principal is not None:
            channel = "supervisor"
            reporter = {**(reporter or {}), "subject": principal.subject, "nip": principal.nip}
        return await self._receive(form, channel, reporter)

    async def file_bawaslu_finding(self, principal: Principal, form: ReportForm) -> IntakeResult:
        reporter = {**(form.reporter or {}), "subject": principal.subject}
        return await self._receive(form, "bawaslu", reporter)

    async def _receive(self, form: ReportForm, channel: str, reporter: dict[str, Any] | None) -> IntakeResult:
        """Match everyone accused, then write the report with the reports that arrive with it
        (one transaction per group, see GroupCommit)."""
        check_incident_date(form.incident_date, self.calendar.local_date(self.clock.now()))
        intake = Intake(**{**vars(form), "reporter": reporter}, channel=channel)
        first, *others = [await self._prepare_accused(accused) for accused in intake.all_accused]
        tracking_code = new_code()
        employee = first.employee
        unit_code = employee["org_unit_code"] if employee else intake.accused.get("org_unit_code")
        unit = await self.store.unit(unit_code) if unit_code and employee is None else None
        unit_path: list[str] = employee["org_unit_path"] if employee else (unit["path"] if unit else [])
        return await self.intake_commit.submit(
            PreparedIntake(
                intake=intake,
                match=first.match,
                employee=employee,
                unit_code=unit_code,
                unit_path=unit_path,
                subject_key=first.subject_key,
                report_id=str(uuid.uuid4()),
                new_case_id=str(uuid.uuid4()),
                tracking_code=tracking_code,
                tracking_hash=tracking_hash(tracking_code, self.tracking_key),
                received_at=self.clock.now(),
                sealed_identity=self.vault.seal(reporter) if reporter is not None else None,
                sealed_contact=(
                    self.contact_sealer.seal({"contact": reporter["contact"]}).decode()
                    if reporter is not None and reporter.get("contact")
                    else None
                ),
                co_accused=tuple(others),
                pemda_kind=first.pemda_kind,
            )
        )

    async def _prepare_accused(self, accused: dict[str, Any]) -> PreparedAccused:
        result, employee = await self._match(accused)
        return PreparedAccused(
            accused,
            result,
            employee,
            await self._pemda_kind(employee),
            subject_key(result.employee_id, accused["name"], accused.get("org_unit_code")),
        )

    async def _pemda_kind(self, employee: Document | None) -> PemdaKind | None:
        """The kind of the pemda the employee serves, read only where it moves the authority (a
        Sekda, an elected head): the unit tree is the registry's, kept in this service's view."""
        if employee is None:
            return None
        if not employee.get("leader_office") and employee["employment_type"] != "PEJABAT_NEGARA":
            return None
        lineage = [*employee["org_unit_path"], employee["org_unit_code"]]
        kinds = await self.store.unit_kinds(lineage)
        return pemda_kind_of([kinds.get(code) for code in lineage])

    async def _match(self, accused: dict[str, Any]) -> tuple[MatchResult, Document | None]:
        """The employee the accused most likely is, by NIP, else by name within the named unit."""
        nip = accused.get("nip")
        if nip:
            doc = await self.store.employee_by_nip(nip)
            return match_by_nip(nip, employee_ref(doc) if doc else None), doc
        tokens = name_tokens(accused["name"])
        if not tokens:
            return match_by_name(accused["name"], []), None
        docs = await self.store.employees_named(tokens, accused.get("org_unit_code"), MAX_NAME_CANDIDATES)
        result = match_by_name(accused["name"], [employee_ref(doc) for doc in docs.values()])
        return result, docs.get(result.employee_id) if result.employee_id else None

    async def _commit_intakes(self, batch: Sequence[PreparedIntake]) -> list[IntakeResult]:
        """A group of reports in one transaction, linked by the domain's rule. Every intake
        writes the documents of everyone it accuses, so concurrent groups about one person
        conflict and the one retried sees the case the other opened: a later report joins it
        instead of opening another."""
        store, rules = self.store, self.rules

        async def work(session: Session) -> list[IntakeResult]:
            keys = sorted({key for p in batch for key in p.subject_keys})
            open_cases = await store.open_subject_cases(session, keys)
            placements = rules.place(batch, open_cases)
            opened: dict[str, list[OpenCase]] = {key: [] for key in keys}
            new_cases: dict[str, Document] = {}
            reports: list[Document] = []
            identities: list[Document] = []
            events: list[EventData] = []
            results: list[IntakeResult] = []
            for p, placement in zip(batch, placements, strict=True):
                case_id = placement.case_id
                if not placement.linked:
                    case = rules.open_case(case_id, p)
                    new_cases[case_id] = case
                elif case_id in new_cases:
                    case = new_cases[case_id]
                    rules.join(case, p)
                elif p.co_accused:
                    # A report naming several people may bring new subjects: the case is rewritten.
                    found = await store.case(case_id, session)
                    assert found is not None  # open on a subject's list, so stored
                    stored = upgraded(found)
                    added = rules.joining_subjects(stored, p)
                    case = {
                        **stored,
                        "subjects": list(stored["subjects"]),
                        "subject_keys": list(stored["subject_keys"]),
                    }
                    rules.join(case, p)
                    if await store.replace_case(session, case, stored["version"]) is None:
                        raise Conflict(CONCURRENT_CHANGE)
                    incident = case["incident_date"].date()
                    for subject in added:
                        opened[subject["key"]].append(OpenCase(case_id, incident))
                else:
                    intake = p.intake
                    case = await store.join_case(
                        session, case_id, p.report_id, intake.channel, intake.bawaslu_reference, p.received_at
                    )
                reports.append(report_document(p, case_id))
                if p.sealed_identity is not None:
                    identities.append({"_id": p.report_id, "case_id": case_id, "sealed": p.sealed_identity})
                events.extend(received_events(case, p, placement.linked))
                results.append(
                    IntakeResult(p.report_id, case_id, p.tracking_code, placement.linked, p.intake.channel)
                )
            for case in new_cases.values():
                rules.schedule(case)
                for key in case["subject_keys"]:
                    opened[key].append(OpenCase(case["_id"], case["incident_date"].date()))
            per_subject = {key: sum(key in p.subject_keys for p in batch) for key in keys}
            await store.write_intakes(
                session, per_subject, opened, list(new_cases.values()), reports, identities, events
            )
            return results

        return await store.transaction(work)

    async def file_report_with_files(
        self, principal: Principal | None, form: ReportForm, files: Sequence[tuple[str, bytes]]
    ) -> IntakeResult:
        """`file_report` with evidence files: each checked by its content, stored, and named on
        the report with its SHA-256. Files of a report that then fails are deleted again."""
        stored = await self._store_evidence(files)
        try:
            return await self.file_report(principal, replace(form, evidence=[*stored, *form.evidence]))
        except BaseException:
            await self.store.delete_evidence([entry["file_id"] for entry in stored])
            raise

    async def _store_evidence(self, files: Sequence[tuple[str, bytes]]) -> list[Document]:
        checked = check_evidence_files(files)
        entries: list[Document] = []
        try:
            for evidence in checked:
                entry = evidence_entry(str(uuid.uuid4()), evidence)
                await self.store.put_evidence(
                    entry["file_id"], evidence.content, evidence.media_type, evidence.sha256
                )
                entries.append(entry)
        except BaseException:
            await self.store.delete_evidence([entry["file_id"] for entry in entries])
            raise
        return entries

    async def units_matching(self, text: str) -> list[Document]:
        """The org units a reporter may mean by `text` (a code's start or part of a name), from
        this service's view of the registry: for the report form's unit picker."""
        if len(text.strip()) < 2:
            return []
        return await self.store.search_units(text, MAX_UNIT_OPTIONS)

    async def resolve_unit(self, text: str) -> str | None:
        """The unit code a reporter means by what they typed into the form's unit field without
        the picker: a known code, or a name that only one unit has. None for an empty field."""
        text = text.strip()
        if not text:
            return None
        if await self.store.unit(text) is not None:
            return text
        named = await self.store.units_named(text, 2)
        if len(named) == 1:
            return str(named[0]["_id"])
        options = await self.store.search_units(text, 4)
        hint = "; ".join(f"{doc['name']} ({doc['_id']})" for doc in options)
        raise InvalidInput.one(
            "org_unit_code",
            f"unit kerja '{text[:80]}' tidak ditemukan tepat satu; "
            + (
                f"maksud Anda salah satu ini? {hint}"
                if hint
                else "tulis kode unit atau nama lengkapnya, atau kosongkan"
            ),
        )

    # ------------------------------------------------------------ the reporter's view

    async def add_information(
        self, code: str, text: str | None, files: Sequence[tuple[str, bytes]]
    ) -> TrackedReport:
        """The reporter adds text or evidence files to their report later, with its tracking
        code. It is appended to the report, where handlers see it; the case's history (the
        handlers' steps, each with its event) is not changed, so no event is published."""
        tracked = await self.track(code)
        checked_text = check_addition(text, len(files))
        stored = await self._store_evidence(files)
        report = tracked.report
        now = self.clock.now()
        addition = report_addition(checked_text, stored, now)

        async def work(session: Session) -> bool:
            return await self.store.add_to_report(session, report["_id"], report["case_id"], addition, now)

        try:
            added = await self.store.transaction(work)
        except BaseException:
            await self.store.delete_evidence([entry["file_id"] for entry in stored])
            raise
        if not added:
            # The report moved to another case meanwhile (a split or a merge): try again there.
            await self.store.delete_evidence([entry["file_id"] for entry in stored])
            raise Conflict("laporan Anda baru saja dipindahkan ke kasus lain; kirim sekali lagi")
        return await self.track(tracked.tracking_code)

    async def track(self, code: str) -> TrackedReport:
        """What the reporter follows with their code: the report and its case."""
        normalised = normalise_code(code, "kode pelacakan")
        report = await self.store.report_by_tracking_hash(tracking_hash(normalised, self.tracking_key))
        if report is None:
            raise NotFound("kode pelacakan tidak ditemukan; periksa kembali kode Anda")
        case = await self.store.case(report["case_id"])
        if case is None:
            raise case_not_found(report["case_id"])
        return TrackedReport(normalised, report, case)

    # ------------------------------------------------------------ case handling

    async def list_cases(
        self,
        principal: Principal,
        state: CaseState | None,
        overdue: bool | None,
        org_unit: str | None,
        page: int,
        page_size: int,
    ) -> tuple[list[Document], int]:
        """The cases in the caller's scope, each as their role may see it."""
        if org_unit and principal.org_unit is not None:
            unit = await self.store.unit(org_unit)
            principal.check_access(org_unit, unit["path"] if unit else [])
        within = [unit for unit in (principal.org_unit, org_unit) if unit]
        acting = principal.role.value if principal.role in AUTHORITY_READERS else None
        docs, total = await self.store.list_cases(
            within, state.value if state else None, overdue, page, page_size, acting
        )
        return [case_summary(doc, principal.role) for doc in docs], total

    async def case_detail(self, principal: Principal, case_id: str) -> CaseView:
        case = upgraded(await self._scoped_case(principal, case_id))
        reports = await self.store.case_reports(case_id)
        allowed = case_allowed_actions(case, principal.role)
        return CaseView(case, allowed, reports, case_details(case, reports, principal.role))

    async def _scoped_case(
        self, principal: Principal, case_id: str, session: Session | None = None
    ) -> Document:
        case = await self.store.case(case_id, session)
        if case is None:
            raise case_not_found(case_id)
        check_case_scope(principal, case)
        return case

    async def _known_employee(self, employee_id: str, session: Session) -> Document:
        employee = await self.store.employee(employee_id, session)
        if employee is None:
            raise InvalidInput.one("employee_id", f"pegawai {employee_id} belum dikenal layanan pelaporan")
        return employee

    async def _save(self, session: Session, change: CaseChange, expected_version: int) -> Document:
        """Write a changed case with its events; a case written meanwhile by someone else is a
        conflict. A case that finished leaves its subjects' lists; keys it gained join them."""
        case = change.case
        saved = await self.store.replace_case(session, case, expected_version)
        if saved is None:
            raise TransitionRefused(CONCURRENT_CHANGE)
        if change.closed:
            await self.store.close_subject_case(session, case["subject_keys"], case["_id"])
        elif change.linked_keys:
            await self.store.link_subject_keys(
                session, change.linked_keys, case["_id"], case["incident_date"].date()
            )
        await self.store.stage(session, change.events)
        return saved

    async def assign_subject(
        self, principal: Principal, case_id: str, employee_id: str, subject_id: str | None = None
    ) -> Document:
        """Confirm which employee a subject is, when matching was unsure. Later reports naming
        that employee by NIP about the same incident join this case."""
        now = self.clock.now()

        async def work(session: Session) -> Document:
            case = await self._scoped_case(principal, case_id, session)
            employee = await self._known_employee(employee_id, session)
            change = self.rules.assign_subject(
                case,
                employee,
                await self._pemda_kind(employee),
                principal.role,
                principal.subject,
                now,
                subject_id,
            )
            return await self._save(session, change, case["version"])

        return await self.store.transaction(work)

    async def add_supervisor(
        self, principal: Principal, case_id: str, employee_id: str, reason: str
    ) -> CaseView:
        """The task force adds a supervisor who knew of the violation and did not act."""
        now = self.clock.now()

        async def work(session: Session) -> Document:
            case = await self._scoped_case(principal, case_id, session)
            employee = await self._known_employee(employee_id, session)
            change = self.rules.add_supervisor(
                case,
                employee,
                await self._pemda_kind(employee),
                reason,
                principal.role,
                principal.subject,
                now,
            )
            return await self._save(session, change, case["version"])

        return self._view(principal, await self.store.transaction(work))

    async def evidence_file(self, principal: Principal, case_id: str, file_id: str) -> EvidenceDownload:
        """An evidence file of one of the case's reports (or of what its reporter added later),
        for a handler who may see the case and its reports."""
        principal.check_role(*EVIDENCE_READERS)
        await self._scoped_case(principal, case_id)
        for report in await self.store.case_reports(case_id):
            entries = [*report["evidence"], *(e for a in report.get("additions", []) for e in a["evidence"])]
            for entry in entries:
                if entry.get("file_id") == file_id:
                    content = await self.store.evidence_content(file_id)
                    if content is None:
                        break
                    return EvidenceDownload(content, entry["media_type"], entry["sha256"])
        raise NotFound(f"berkas bukti {file_id} tidak ada pada kasus ini")

    def _view(self, principal: Principal, case: Document) -> CaseView:
        case = upgraded(case)
        return CaseView(
            case, case_allowed_actions(case, principal.role), [], case_summary(case, principal.role)
        )

    async def transition(
        self,
        principal: Principal,
        case_id: str,
        action: Action,
        reason: str,
        sanction_code: str | None = None,
        bawaslu_reference: str | None = None,
        subject_id: str | None = None,
        details: ActionDetails | None = None,
    ) -> CaseView:
        """Move the case, or one of its subjects, by `action`, with the caller's role, in one
        transaction with its events."""
        now = self.clock.now()

        async def work(session: Session) -> Document:
            case = await self._scoped_case(principal, case_id, session)
            change = self.rules.transition(
                case,
                action,
                principal.role,
                principal.subject,
                reason,
                now,
                sanction_code,
                bawaslu_reference,
                subject_id=subject_id,
                details=details or ActionDetails(),
            )
            return await self._save(session, change, case["version"])

        return self._view(principal, await self.store.transaction(work))

    async def extend_deadline(
        self, principal: Principal, case_id: str, deadline: DeadlineKind, working_days: int, reason: str
    ) -> CaseView:
        now = self.clock.now()

        async def work(session: Session) -> Document:
            case = await self._scoped_case(principal, case_id, session)
            change = self.rules.extend_deadline(
                case, deadline, working_days, reason, principal.role, principal.subject, now
            )
            return await self._save(session, change, case["version"])

        return self._view(principal, await self.store.transaction(work))

    async def merge(self, principal: Principal, case_id: str, from_case_id: str, reason: str) -> CaseView:
        """Case `from_case_id`'s reports and subjects join case `case_id` (the task force, with a
        reason; both audited in their history)."""
        now = self.clock.now()

        async def work(session: Session) -> Document:
            into = await self._scoped_case(principal, case_id, session)
            merged = await self._scoped_case(principal, from_case_id, session)
            kept, ended = self.rules.merge(into, merged, reason, principal.role, principal.subject, now)
            saved = await self._save(session, kept, into["version"])
            await self._save(session, ended, merged["version"])
            await self.store.move_reports(session, merged["report_ids"], case_id)
            return saved

        return self._view(principal, await self.store.transaction(work))

    async def split(self, principal: Principal, case_id: str, report_id: str, reason: str) -> CaseView:
        """A report leaves the case and opens its own, about the person it names first."""
        now = self.clock.now()
        report = await self.store.report(report_id)
        if report is None or report["case_id"] != case_id:
            raise InvalidInput.one("report_id", f"laporan {report_id} tidak ada pada kasus ini")
        accused = await self._prepare_accused(report["accused"])
        employee = accused.employee
        unit_code = employee["org_unit_code"] if employee else report["accused"].get("org_unit_code")
        unit = await self.store.unit(unit_code) if unit_code and employee is None else None
        unit_path: list[str] = employee["org_unit_path"] if employee else (unit["path"] if unit else [])
        new_case_id = str(uuid.uuid4())

        async def work(session: Session) -> Document:
            case = await self._scoped_case(principal, case_id, session)
            left, opened = self.rules.split(
                case,
                report,
                new_case_id,
                accused,
                unit_code,
                unit_path,
                reason,
                principal.role,
                principal.subject,
                now,
            )
            await self._save(session, left, case["version"])
            await self.store.insert_case(session, opened.case)
            await self.store.link_subject_keys(
                session, opened.case["subject_keys"], new_case_id, opened.case["incident_date"].date()
            )
            await self.store.move_reports(session, [report_id], new_case_id)
            await self.store.stage(session, opened.events)
            return opened.case

        return self._view(principal, await self.store.transaction(work))

    # ------------------------------------------------------------ reporter identity

    async def reporter_identity(
        self, principal: Principal, case_id: str, reason: str | None
    ) -> list[dict[str, Any]]:
        """The identities of the case's reporters: only with a stated reason, and the read is
        logged in the same transaction, so there is no read without its audit entry."""
        if reason is None or len(reason.strip()) < MIN_IDENTITY_REASON:
            raise InvalidInput.one(
                "reason",
                "alasan membuka identitas pelapor wajib diisi (minimal 10 karakter) dan akan dicatat",
            )
        case = await self._scoped_case(principal, case_id)
        now = self.clock.now()

        async def work(session: Session) -> list[Document]:
            sealed = await self.store.sealed_identities(session, case_id)
            head = await self.store.access_log_head(session)
            entry, new_head = chained_access_entry(
                head,
                str(uuid.uuid4()),
                case,
                principal.subject,
                principal.role,
                reason.strip(),
                len(sealed),
                now,
            )
            await self.store.append_access_entry(session, entry, head, new_head)
            await self.store.stage(session, [access_head_event(new_head, entry["at"])])
            return sealed

        sealed = await self.store.transaction(work)
        return [{"report_id": doc["_id"], **self.vault.open(doc["sealed"])} for doc in sealed]

    async def access_entries(
        self, principal: Principal, case_id: str | None, page: int, page_size: int
    ) -> tuple[list[Document], int]:
        """The log of identity reads (only AUDITORS ask): a unit-bound auditor sees the entries
        of their units' cases only, as they see those cases only."""
        within = [principal.org_unit] if principal.org_unit is not None else []
        return await self.store.access_entries(within, case_id, page, page_size)

    async def verify_access_log(self, published: AccessHead | None = None) -> AccessLogCheck:
        """Whether the log is as it was written: every entry against its hash and the one before
        it, and the end against the recorded head and, if given, a head published earlier."""
        entries, recorded = await self.store.whole_access_log()
        return verify_access_log(entries, recorded, published)

    # ------------------------------------------------------------ deadlines

    async def scan_deadlines(self, now: dt.datetime, batch: int = 1000) -> tuple[list[Duty], bool]:
        """Fire every duty due by `now` in up to `batch` cases: (the duties fired, more waiting).

        Each case update is conditional on the version read, inside one transaction with the
        events: a second scanner running at the same time (a replica whose lease had lapsed)
        conflicts and, on retry, finds the duties already fired. So each fires once."""

        async def work(session: Session) -> tuple[list[Duty], bool]:
            due = await self.store.due_cases(session, now, batch)
            scanned: list[tuple[Document, Document, list[str]]] = []
            events: list[EventData] = []
            fired_all: list[Duty] = []
            for case in due:
                outcome = self.rules.fire_due_duties(case, now)
                scanned.append((case, outcome.case, [duty.key for duty in outcome.fired]))
                events.extend(outcome.events)
                fired_all.extend(outcome.fired)
            if not await self.store.save_scanned(session, scanned):
                raise Conflict("kasus berubah selama pemindaian tenggat; diulang")
            await self.store.stage(session, events)
            return fired_all, len(due) == batch

        return await self.store.transaction(work)

    async def cases_by_state(self) -> dict[str, int]:
        return await self.store.cases_by_state()
