"""The reports service's MongoDB store: reports, the cases they are linked into, the reporters'
encrypted identities with their access log, and the service's own view of the registry.

A case is the unit of follow-up: one accused person and one incident. Reports arriving
through different channels about the same person and incident are linked into one case,
serialised per subject by a `case_subjects` document that every intake for that subject
writes in its transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from contracts.envelope import CloudEvent, EventData, new_event
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
    ReporterContactV1,
    ReportEscalatedV1,
    ReportReceivedV1,
    ReportRecommendationIssuedV1,
    ReportRejectedV1,
    ReportSanctionImposedV1,
    ReportStatusChangedV1,
    ReportVerifiedV1,
)
from services.kit.clock import Clock
from services.kit.codes import new_code
from services.kit.errors import Conflict, NotFound
from services.kit.groupcommit import GroupCommit
from services.kit.identity import Principal
from services.kit.mongo import Document, Session, ensure_index, in_transaction
from services.kit.registry_view import RegistryProjection
from services.kit.runtime import Runtime
from services.kit.sealing import Sealer
from services.reports.domain import (
    CATEGORY_BY_CODE,
    DEADLINE_STARTED_BY,
    TERMINAL_STATES,
    Action,
    CaseState,
    DeadlineKind,
    Duty,
    EmployeeRef,
    MatchResult,
    WorkingCalendar,
    check_sanction,
    deadline_due,
    due_duties,
    duties,
    match_by_name,
    match_by_nip,
    next_due_at,
    next_state,
    normalise_person_name,
    same_incident,
    subject_key,
)

SOURCE = "/netral/reports"
MAX_NAME_CANDIDATES = 300
"""Employees compared by name per report: those sharing a name token, in the named unit."""
SUBJECT_FIELDS = {
    key: 1 for key in ("nip", "name", "employment_type", "position", "org_unit_code", "org_unit_path")
}
"""What matching reads of an employee: decoding whole documents was a third of intake's CPU."""


@dataclass(frozen=True)
class Intake:
    channel: str
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
class PreparedIntake:
    """An intake with everything worked out before its group's transaction."""

    intake: Intake
    match: MatchResult
    employee: Document | None
    unit_code: str | None
    unit_path: list[str]
    subject_key: str
    report_id: str
    tracking_code: str
    received_at: dt.datetime
    sealed_identity: bytes | None
    sealed_contact: str | None
    """The reporter's contact sealed for the notify service, for status updates."""


@dataclass(frozen=True)
class IntakeResult:
    report_id: str
    case_id: str
    tracking_code: str
    linked: bool


def tracking_hash(code: str) -> str:
    """Only the hash is stored: someone reading the database cannot follow a reporter's case."""
    return hashlib.sha256(code.encode()).hexdigest()


def _as_datetime(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _name_tokens(name: str) -> list[str]:
    return sorted(set(normalise_person_name(name).split()))


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


class ReportsStore:
    def __init__(
        self,
        runtime: Runtime,
        vault: Sealer,
        contact_sealer: Sealer,
        clock: Clock,
        calendar: WorkingCalendar,
        link_window_days: int = 2,
        escalation_step_days: int = 5,
    ) -> None:
        self.runtime = runtime
        self.vault = vault
        self.contact_sealer = contact_sealer
        self.clock = clock
        self.calendar = calendar
        self.link_window_days = link_window_days
        self.escalation_step_days = escalation_step_days
        self.db: AsyncDatabase[Document] = runtime.database
        self.units = self.db["org_units"]
        self.employees = self.db["employees"]
        self.projection = RegistryProjection(
            employees=self.employees,
            employee_fields=(
                "nip",
                "name",
                "employment_type",
                "position",
                "level",
                "org_unit_code",
                "org_unit_path",
                "active",
            ),
            units=self.units,
            with_lineage=True,
            derived=lambda employee: {"name_tokens": _name_tokens(employee["name"])},
        )
        self.cases = self.db["cases"]
        self.reports = self.db["reports"]
        self.subjects = self.db["case_subjects"]
        self.identities = self.db["reporter_identities"]
        self.access_log = self.db["reporter_access_log"]
        self.intake_commit: GroupCommit[PreparedIntake, IntakeResult] = GroupCommit(self._write_intakes)

    async def ensure_indexes(self) -> None:
        await ensure_index(self.employees, "nip")
        await ensure_index(self.employees, "name_tokens")
        await ensure_index(self.reports, "tracking_hash", unique=True)
        await ensure_index(self.reports, "case_id")
        await ensure_index(self.cases, [("state", ASCENDING), ("received_at", DESCENDING)])
        await ensure_index(self.cases, [("lineage", ASCENDING), ("received_at", DESCENDING)])
        await ensure_index(self.cases, [("received_at", DESCENDING)])
        # Only cases with a duty still to fire are in this index: a scan touches nothing else.
        await ensure_index(
            self.cases,
            "next_due_at",
            name="due_duties",
            partialFilterExpression={"next_due_at": {"$type": "date"}},
        )
        await ensure_index(self.access_log, [("at", DESCENDING)])

    # ------------------------------------------------------------ projection of the registry

    async def unit(self, code: str) -> Document | None:
        return await self.units.find_one({"_id": code})

    # ------------------------------------------------------------ matching

    async def match(self, accused: dict[str, Any]) -> tuple[MatchResult, Document | None]:
        """The employee the accused most likely is, by NIP, else by name within the named unit."""
        nip = accused.get("nip")
        if nip:
            doc = await self.employees.find_one({"nip": nip})
            return match_by_nip(nip, _employee_ref(doc) if doc else None), doc
        tokens = _name_tokens(accused["name"])
        if not tokens:
            return match_by_name(accused["name"], []), None
        query: Document = {"name_tokens": {"$in": tokens}}
        if accused.get("org_unit_code"):
            query["lineage"] = accused["org_unit_code"]
        docs = {
            doc["_id"]: doc
            async for doc in self.employees.find(query, SUBJECT_FIELDS).limit(MAX_NAME_CANDIDATES)
        }
        result = match_by_name(accused["name"], [_employee_ref(doc) for doc in docs.values()])
        return result, docs.get(result.employee_id) if result.employee_id else None

    # ------------------------------------------------------------ intake

    async def receive(self, intake: Intake) -> IntakeResult:
        """Match the accused, then write the report with the reports that arrive with it (one
        transaction per group, see GroupCommit)."""
        result, employee = await self.match(intake.accused)
        unit_code = employee["org_unit_code"] if employee else intake.accused.get("org_unit_code")
        unit = await self.unit(unit_code) if unit_code and employee is None else None
        unit_path: list[str] = employee["org_unit_path"] if employee else (unit["path"] if unit else [])
        return await self.intake_commit.submit(
            PreparedIntake(
                intake=intake,
                match=result,
                employee=employee,
                unit_code=unit_code,
                unit_path=unit_path,
                subject_key=subject_key(
                    result.employee_id, intake.accused["name"], intake.accused.get("org_unit_code")
                ),
                report_id=str(uuid.uuid4()),
                tracking_code=new_code(),
                received_at=self.clock.now(),
                sealed_identity=self.vault.seal(intake.reporter) if intake.reporter is not None else None,
                sealed_contact=(
                    self.contact_sealer.seal({"contact": intake.reporter["contact"]}).decode()
                    if intake.reporter is not None and intake.reporter.get("contact")
                    else None
                ),
            )
        )

    async def _write_intakes(self, batch: Sequence[PreparedIntake]) -> list[IntakeResult]:
        """Write a group of reports in one transaction. Every intake writes its subject's
        document, so concurrent groups about one person conflict and the one retried sees the
        case the other opened: a later report joins the case instead of opening another."""

        async def work(session: Session) -> list[IntakeResult]:
            keys = sorted({p.subject_key for p in batch})
            subjects = {
                doc["_id"]: doc async for doc in self.subjects.find({"_id": {"$in": keys}}, session=session)
            }
            open_cases: dict[str, list[Document]] = {
                key: [e for e in subjects.get(key, {}).get("cases", []) if e["open"]] for key in keys
            }
            new_entries: dict[str, list[Document]] = {key: [] for key in keys}
            new_cases: dict[str, Document] = {}
            reports: list[Document] = []
            identities: list[Document] = []
            events: list[CloudEvent] = []
            results: list[IntakeResult] = []
            for p in batch:
                intake = p.intake
                case_id = next(
                    (
                        e["case_id"]
                        for e in open_cases[p.subject_key]
                        if same_incident(
                            e["incident_date"].date(), intake.incident_date, self.link_window_days
                        )
                    ),
                    None,
                )
                linked = case_id is not None
                if case_id is None:
                    case_id = str(uuid.uuid4())
                    case = self._new_case(case_id, p)
                    new_cases[case_id] = case
                    entry = {
                        "case_id": case_id,
                        "incident_date": _as_datetime(intake.incident_date),
                        "open": True,
                    }
                    open_cases[p.subject_key].append(entry)
                    new_entries[p.subject_key].append(entry)
                elif case_id in new_cases:
                    case = new_cases[case_id]
                    case["report_ids"].append(p.report_id)
                    if intake.channel not in case["channels"]:
                        case["channels"].append(intake.channel)
                    if (
                        intake.bawaslu_reference
                        and intake.bawaslu_reference not in case["bawaslu_references"]
                    ):
                        case["bawaslu_references"].append(intake.bawaslu_reference)
                    case["version"] += 1
                else:
                    case = await self._join(session, case_id, p)
                reports.append(self._report(p, case_id))
                if p.sealed_identity is not None:
                    identities.append({"_id": p.report_id, "case_id": case_id, "sealed": p.sealed_identity})
                channel = intake.channel
                events.append(
                    self._event(
                        ReportReceivedV1(
                            case=case_snapshot(case), report_id=p.report_id, channel=channel, linked=linked
                        )
                    )
                )
                events.append(
                    self._event(
                        PublicReportReceivedV1(case=public_snapshot(case), channel=channel, linked=linked)
                    )
                )
                if p.sealed_contact is not None:
                    events.append(
                        self._event(
                            ReporterContactV1(
                                report_id=p.report_id, case_id=case_id, sealed_contact=p.sealed_contact
                            )
                        )
                    )
                results.append(IntakeResult(p.report_id, case_id, p.tracking_code, linked))
            await self.subjects.bulk_write(
                [
                    UpdateOne(
                        {"_id": key},
                        {
                            "$inc": {"reports": sum(p.subject_key == key for p in batch)},
                            "$push": {"cases": {"$each": entries}},
                        },
                        upsert=True,
                    )
                    for key, entries in new_entries.items()
                ],
                ordered=False,
                session=session,
            )
            if new_cases:
                for case in new_cases.values():
                    self._schedule(case)
                await self.cases.insert_many(list(new_cases.values()), session=session)
            await self.reports.insert_many(reports, session=session)
            if identities:
                await self.identities.insert_many(identities, session=session)
            await self.runtime.outbox.add(session, events)
            return results

        results: list[IntakeResult] = await self.runtime.commit(work)
        return results

    async def _join(self, session: Session, case_id: str, p: PreparedIntake) -> Document:
        update: Document = {
            "$push": {"report_ids": p.report_id},
            "$addToSet": {"channels": p.intake.channel},
            "$inc": {"version": 1},
            "$set": {"updated_at": p.received_at},
        }
        if p.intake.bawaslu_reference:
            update["$addToSet"]["bawaslu_references"] = p.intake.bawaslu_reference
        joined = await self.cases.find_one_and_update(
            {"_id": case_id}, update, return_document=True, session=session
        )
        assert joined is not None
        return joined

    def _report(self, p: PreparedIntake, case_id: str) -> Document:
        intake = p.intake
        return {
            "_id": p.report_id,
            "case_id": case_id,
            "tracking_hash": tracking_hash(p.tracking_code),
            "channel": intake.channel,
            "category": intake.category,
            "description": intake.description,
            "incident_date": _as_datetime(intake.incident_date),
            "location": intake.location,
            "accused": intake.accused,
            "evidence": intake.evidence,
            "bawaslu_reference": intake.bawaslu_reference,
            "anonymous": intake.reporter is None,
            "received_at": p.received_at,
        }

    def _new_case(self, case_id: str, p: PreparedIntake) -> Document:
        intake, now = p.intake, p.received_at
        return {
            "_id": case_id,
            "subject_key": p.subject_key,
            "state": CaseState.RECEIVED.value,
            "category": intake.category,
            "violation_class": CATEGORY_BY_CODE[intake.category].violation_class.value,
            "channels": [intake.channel],
            "incident_date": _as_datetime(intake.incident_date),
            "accused": {
                "name": intake.accused["name"],
                "nip": intake.accused.get("nip"),
                "org_unit_code": intake.accused.get("org_unit_code"),
                "position": intake.accused.get("position"),
            },
            "subject": _subject(p.employee) if p.employee else None,
            "match_status": p.match.status,
            "candidates": [
                {
                    "employee_id": c.employee_id,
                    "name": c.name,
                    "org_unit_code": c.org_unit_code,
                    "position": c.position,
                    "score": round(c.score, 1),
                }
                for c in p.match.candidates
            ],
            "org_unit_code": p.unit_code,
            "org_unit_path": p.unit_path,
            "lineage": [*p.unit_path, p.unit_code] if p.unit_code else [],
            "report_ids": [p.report_id],
            "bawaslu_references": [intake.bawaslu_reference] if intake.bawaslu_reference else [],
            "deadlines": {
                DeadlineKind.VERIFICATION.value: self._due(DeadlineKind.VERIFICATION, now),
            },
            "fired": [],
            "overdue": False,
            "sanction": None,
            "history": [
                {
                    "state": CaseState.RECEIVED.value,
                    "action": None,
                    "reason": "Laporan diterima dan menunggu verifikasi oleh satuan tugas netralitas.",
                    "actor_role": None,
                    "actor": None,
                    "at": now,
                }
            ],
            "received_at": now,
            "updated_at": now,
            "version": 1,
        }

    def _due(self, kind: DeadlineKind, started_at: dt.datetime) -> dt.datetime:
        return deadline_due(kind, started_at, self.calendar)

    def _duties(self, case: Document) -> list[Duty]:
        deadlines = {DeadlineKind(kind): due for kind, due in case["deadlines"].items()}
        return duties(
            CaseState(case["state"]), deadlines, case["fired"], self.calendar, self.escalation_step_days
        )

    def _schedule(self, case: Document) -> None:
        """Set `next_due_at`, the one field the deadline scan looks at."""
        due = next_due_at(self._duties(case))
        if due is None:
            case.pop("next_due_at", None)
        else:
            case["next_due_at"] = due

    def _event(self, data: EventData) -> CloudEvent:
        return new_event(data, SOURCE)

    # ------------------------------------------------------------ reading

    async def case(self, case_id: str) -> Document:
        doc = await self.cases.find_one({"_id": case_id})
        if doc is None:
            raise NotFound(f"kasus {case_id} tidak ditemukan")
        return doc

    async def case_reports(self, case_id: str) -> list[Document]:
        return [doc async for doc in self.reports.find({"case_id": case_id}).sort("received_at", ASCENDING)]

    async def tracked(self, code: str) -> tuple[Document, Document]:
        report = await self.reports.find_one({"tracking_hash": tracking_hash(code)})
        if report is None:
            raise NotFound("kode pelacakan tidak ditemukan; periksa kembali kode Anda")
        return report, await self.case(report["case_id"])

    async def list_cases(
        self,
        principal: Principal,
        state: str | None,
        overdue: bool | None,
        org_unit: str | None,
        page: int,
        page_size: int,
    ) -> tuple[list[Document], int]:
        conditions: list[Document] = []
        if principal.org_unit is not None:
            conditions.append({"lineage": principal.org_unit})
        if org_unit:
            conditions.append({"lineage": org_unit})
        if state:
            conditions.append({"state": state})
        if overdue is not None:
            conditions.append({"overdue": overdue})
        query: Document = {"$and": conditions} if conditions else {}
        total = await self.cases.count_documents(query)
        cursor = (
            self.cases.find(query)
            .sort("received_at", DESCENDING)
            .skip((page - 1) * page_size)
            .limit(page_size)
        )
        return [doc async for doc in cursor], total

    # ------------------------------------------------------------ reporter identity

    async def reporter_identity(
        self, case_id: str, principal: Principal, reason: str
    ) -> list[dict[str, Any]]:
        """The identities of the case's reporters. The read is logged in the same transaction,
        so there is no read without its audit entry."""
        now = self.clock.now()

        async def work(session: Session) -> list[dict[str, Any]]:
            sealed = [doc async for doc in self.identities.find({"case_id": case_id}, session=session)]
            await self.access_log.insert_one(
                {
                    "_id": str(uuid.uuid4()),
                    "case_id": case_id,
                    "actor": principal.subject,
                    "actor_role": principal.role.value,
                    "reason": reason,
                    "identities_read": len(sealed),
                    "at": now,
                },
                session=session,
            )
            return sealed

        sealed = await in_transaction(self.runtime.client, work)
        return [{"report_id": doc["_id"], **self.vault.open(doc["sealed"])} for doc in sealed]

    async def access_entries(
        self, case_id: str | None, page: int, page_size: int
    ) -> tuple[list[Document], int]:
        query: Document = {"case_id": case_id} if case_id else {}
        total = await self.access_log.count_documents(query)
        cursor = (
            self.access_log.find(query).sort("at", DESCENDING).skip((page - 1) * page_size).limit(page_size)
        )
        return [doc async for doc in cursor], total

    # ------------------------------------------------------------ case flow

    async def assign_subject(self, case_id: str, employee_id: str, principal: Principal) -> Document:
        employee = await self.employees.find_one({"_id": employee_id})
        if employee is None:
            raise NotFound(f"pegawai {employee_id} belum dikenal layanan pelaporan")
        now = self.clock.now()

        async def work(session: Session) -> Document:
            case = await self.cases.find_one({"_id": case_id}, session=session)
            if case is None:
                raise NotFound(f"kasus {case_id} tidak ditemukan")
            if CaseState(case["state"]) in TERMINAL_STATES:
                raise Conflict("kasus sudah selesai; subjek tidak dapat diubah")
            updated = await self.cases.find_one_and_update(
                {"_id": case_id},
                {
                    "$set": {
                        "subject": _subject(employee),
                        "match_status": "matched",
                        "org_unit_code": employee["org_unit_code"],
                        "org_unit_path": employee["org_unit_path"],
                        "lineage": [*employee["org_unit_path"], employee["org_unit_code"]],
                        "updated_at": now,
                    },
                    "$push": {"audit": {"action": "assign_subject", "actor": principal.subject, "at": now}},
                    "$inc": {"version": 1},
                },
                return_document=True,
                session=session,
            )
            assert updated is not None
            return updated

        result: Document = await in_transaction(self.runtime.client, work)
        return result

    async def transition(
        self,
        case_id: str,
        action: Action,
        reason: str,
        principal: Principal,
        sanction_code: str | None = None,
        bawaslu_reference: str | None = None,
    ) -> Document:
        """Move the case by `action`. Raises the domain's IllegalTransition / ForbiddenAction,
        IllegalSanction, or Conflict; the API maps them to 409, 403 and 422."""
        now = self.clock.now()

        async def work(session: Session) -> Document:
            case = await self.cases.find_one({"_id": case_id}, session=session)
            if case is None:
                raise NotFound(f"kasus {case_id} tidak ditemukan")
            if principal.org_unit is not None and principal.org_unit not in case.get("lineage", []):
                raise PermissionError(
                    f"kasus {case_id} berada di luar wewenang Anda (unit {principal.org_unit})"
                )
            state = CaseState(case["state"])
            target = next_state(state, action, principal.role)
            sets: Document = {"state": target.value, "updated_at": now}
            if action is Action.DECIDE_SANCTION:
                if case["subject"] is None:
                    raise Conflict(
                        "terlapor belum dipastikan sebagai pegawai; tetapkan subjek kasus "
                        "(PUT /v1/reports/{id}/subject) sebelum memutus sanksi"
                    )
                sanction = check_sanction(
                    sanction_code or "",
                    case["subject"]["employment_type"],
                    CATEGORY_BY_CODE[case["category"]],
                )
                sets["sanction"] = {
                    "code": sanction.code,
                    "name": sanction.name,
                    "level": sanction.level.value,
                    "basis": sanction.basis,
                }
            if action in (Action.DECIDE_SANCTION, Action.DECIDE_NOT_PROVEN):
                sets["decided_at"] = now
            case.update(sets)
            kind = DEADLINE_STARTED_BY.get(target)
            if kind is not None:
                case["deadlines"][kind.value] = self._due(kind, now)
                sets["deadlines"] = case["deadlines"]
            self._schedule(case)
            sets["overdue"] = any(duty.kind == "breach" for duty in due_duties(self._duties(case), now))
            case["overdue"] = sets["overdue"]
            update: Document = {
                "$set": sets,
                "$inc": {"version": 1},
                "$push": {
                    "history": {
                        "state": target.value,
                        "action": action.value,
                        "reason": reason,
                        "actor_role": principal.role.value,
                        "actor": principal.subject,
                        "at": now,
                    }
                },
            }
            if "next_due_at" in case:
                sets["next_due_at"] = case["next_due_at"]
            else:
                update["$unset"] = {"next_due_at": ""}
            if bawaslu_reference:
                update["$addToSet"] = {"bawaslu_references": bawaslu_reference}
            updated = await self.cases.find_one_and_update(
                {"_id": case_id, "version": case["version"]}, update, return_document=True, session=session
            )
            if updated is None:
                raise Conflict("kasus baru saja diubah oleh pengguna lain; muat ulang lalu coba lagi")
            if target in TERMINAL_STATES:
                await self.subjects.update_one(
                    {"_id": case["subject_key"], "cases.case_id": case_id},
                    {"$set": {"cases.$.open": False}},
                    session=session,
                )
            await self.runtime.outbox.add(
                session, self._transition_events(updated, action, state, target, reason, principal, now)
            )
            return updated

        result: Document = await self.runtime.commit(work)
        return result

    def _transition_events(
        self,
        case: Document,
        action: Action,
        from_state: CaseState,
        to_state: CaseState,
        reason: str,
        principal: Principal,
        now: dt.datetime,
    ) -> list[CloudEvent]:
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
        events = [
            self._event(internal_type(case=case_snapshot(case), actor_role=principal.role.value, **common))
        ]
        if public_type is not None:
            extra: dict[str, Any] = {}
            if public_type is PublicReportSanctionImposedV1:
                extra = {
                    "subject_employee_id": case["subject"]["employee_id"],
                    "sanction_code": case["sanction"]["code"],
                    "sanction_level": case["sanction"]["level"],
                }
            events.append(self._event(public_type(case=public_snapshot(case), **common, **extra)))
        return events

    # ------------------------------------------------------------ deadlines

    async def scan_deadlines(self, now: dt.datetime, batch: int = 1000) -> tuple[list[Duty], bool]:
        """Fire every duty due by `now` in up to `batch` cases: (the duties fired, more waiting).

        Each case update is conditional on the version read, inside one transaction with the
        events: a second scanner running at the same time (a replica whose lease had lapsed)
        conflicts and, on retry, finds the duties already fired. So each fires once."""

        # "$type" repeats the due_duties index's partial filter: without it the planner cannot use
        # that index and reads every case (a collection scan and an in-memory sort).
        query = {"next_due_at": {"$type": "date", "$lte": now}}

        async def work(session: Session) -> tuple[list[Duty], bool]:
            due = [
                doc
                async for doc in self.cases.find(query, session=session)
                .sort("next_due_at", ASCENDING)
                .limit(batch)
            ]
            updates: list[UpdateOne] = []
            events: list[CloudEvent] = []
            fired_all: list[Duty] = []
            for case in due:
                fired = due_duties(self._duties(case), now)
                if not fired:
                    case_copy = dict(case)
                    self._schedule(case_copy)
                    updates.append(self._scheduled_update(case, case_copy, []))
                    continue
                case_copy = dict(case)
                case_copy["fired"] = [*case["fired"], *(duty.key for duty in fired)]
                case_copy["version"] = case["version"] + 1
                if any(duty.kind == "breach" for duty in fired):
                    case_copy["overdue"] = True
                self._schedule(case_copy)
                updates.append(self._scheduled_update(case, case_copy, [duty.key for duty in fired]))
                for duty in fired:
                    events.extend(self._duty_events(case_copy, duty, now))
                fired_all.extend(fired)
            if updates:
                result = await self.cases.bulk_write(updates, ordered=False, session=session)
                if result.matched_count != len(updates):
                    raise Conflict("kasus berubah selama pemindaian tenggat; diulang")
            await self.runtime.outbox.add(session, events)
            return fired_all, len(due) == batch

        result: tuple[list[Duty], bool] = await self.runtime.commit(work)
        return result

    @staticmethod
    def _scheduled_update(before: Document, after: Document, fired_keys: list[str]) -> UpdateOne:
        update: Document = {"$set": {"overdue": after.get("overdue", False)}}
        if fired_keys:
            update["$push"] = {"fired": {"$each": fired_keys}}
            update["$inc"] = {"version": 1}
        if "next_due_at" in after:
            update["$set"]["next_due_at"] = after["next_due_at"]
        else:
            update["$unset"] = {"next_due_at": ""}
        return UpdateOne({"_id": before["_id"], "version": before["version"]}, update)

    def _duty_events(self, case: Document, duty: Duty, now: dt.datetime) -> list[CloudEvent]:
        if duty.kind == "breach":
            return [
                self._event(
                    ReportDeadlineBreachedV1(
                        case=case_snapshot(case),
                        deadline=duty.deadline.value,
                        due_at=duty.due_at,
                        detected_at=now,
                    )
                ),
                self._event(
                    PublicReportDeadlineBreachedV1(
                        case=public_snapshot(case),
                        deadline=duty.deadline.value,
                        due_at=duty.due_at,
                        detected_at=now,
                    )
                ),
            ]
        assert duty.level is not None
        subject = case.get("subject")
        blocks = duty.level.value == "blokir_data"
        return [
            self._event(
                ReportEscalatedV1(
                    case=case_snapshot(case), level=duty.level.value, due_at=duty.due_at, detected_at=now
                )
            ),
            self._event(
                PublicReportEscalatedV1(
                    case=public_snapshot(case),
                    level=duty.level.value,
                    due_at=duty.due_at,
                    detected_at=now,
                    subject_employee_id=subject["employee_id"] if blocks and subject else None,
                )
            ),
        ]

    async def cases_by_state(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        async for row in await self.cases.aggregate([{"$group": {"_id": "$state", "n": {"$sum": 1}}}]):
            counts[row["_id"]] = row["n"]
        return counts


def _employee_ref(doc: Document) -> EmployeeRef:
    return EmployeeRef(
        employee_id=doc["_id"],
        name=doc["name"],
        org_unit_code=doc["org_unit_code"],
        position=doc.get("position", ""),
    )


def _subject(employee: Document) -> dict[str, Any]:
    return {
        "employee_id": employee["_id"],
        "nip": employee.get("nip"),
        "name": employee["name"],
        "employment_type": employee["employment_type"],
        "position": employee.get("position", ""),
        "org_unit_code": employee["org_unit_code"],
        "org_unit_path": employee["org_unit_path"],
    }
