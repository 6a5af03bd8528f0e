"""The reports service's MongoDB store: reports, the cases they are linked into, the reporters'
encrypted identities with their access log, and the service's own view of the registry.

A repository: it reads and writes documents, stages events in the outbox and runs transactions.
The rules that decide what is written are in `domain.py`, and the use cases that apply them
in `usecases.py`. Reports about one subject are serialised by a `case_subjects` document that
every intake for that subject writes in its transaction (see `ReportsUseCases`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from contracts.envelope import EventData, new_event
from services.kit.mongo import Document, Session, ensure_index
from services.kit.registry_view import RegistryProjection
from services.kit.runtime import Runtime
from services.reports.domain import EMPTY_ACCESS_LOG, AccessHead, OpenCase, as_datetime, name_tokens

SOURCE = "/netral/reports"
SUBJECT_FIELDS = {
    key: 1
    for key in (
        "nip",
        "name",
        "employment_type",
        "position",
        "org_unit_code",
        "org_unit_path",
        "leader_office",
    )
}
"""What matching reads of an employee: decoding whole documents was a third of intake's CPU."""

T = TypeVar("T")


class ReportsStore:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
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
            # leader_office is optional in the registry's snapshot (older events have none); a Sekda's
            # case is examined and decided above the pemda.
            derived=lambda employee: {
                "name_tokens": name_tokens(employee["name"]),
                "leader_office": employee.get("leader_office"),
            },
        )
        self.cases = self.db["cases"]
        self.reports = self.db["reports"]
        self.subjects = self.db["case_subjects"]
        self.identities = self.db["reporter_identities"]
        self.access_log = self.db["reporter_access_log"]
        self.access_head = self.db["reporter_access_head"]
        """One document: the log's length and last hash, which every append writes (so that
        appends are serialised) and verification compares with the entries."""
        self.evidence = AsyncGridFSBucket(self.db, bucket_name="evidence")
        """Evidence files reporters upload, in this service's own database: reports name them by
        id with their SHA-256, and only case handlers download them (never the public)."""

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
        await ensure_index(self.access_log, "seq", unique=True)
        await ensure_index(self.access_log, [("lineage", ASCENDING), ("at", DESCENDING)])

    async def transaction(self, work: Callable[[Session], Awaitable[T]]) -> T:
        """Run `work` in one transaction (retried by the driver on transient errors), then wake
        the outbox relay for the events it staged."""
        return await self.runtime.commit(work)

    async def stage(self, session: Session, events: Sequence[EventData]) -> None:
        await self.runtime.outbox.add(session, [new_event(data, SOURCE) for data in events])

    # ------------------------------------------------------------ projection of the registry

    async def unit(self, code: str) -> Document | None:
        return await self.units.find_one({"_id": code})

    async def unit_kinds(self, codes: Sequence[str]) -> dict[str, str]:
        """The kind (PROVINCE, REGENCY, CITY, OPD, SUB_UNIT) of each known unit of `codes`."""
        return {
            doc["_id"]: str(doc.get("kind")) async for doc in self.units.find({"_id": {"$in": list(codes)}})
        }

    async def employee(self, employee_id: str, session: Session | None = None) -> Document | None:
        return await self.employees.find_one({"_id": employee_id}, session=session)

    async def employee_by_nip(self, nip: str) -> Document | None:
        return await self.employees.find_one({"nip": nip})

    async def employees_named(
        self, tokens: Sequence[str], within: str | None, limit: int
    ) -> dict[str, Document]:
        """Up to `limit` employees sharing a name token, in the unit `within` (and below) if given."""
        query: Document = {"name_tokens": {"$in": list(tokens)}}
        if within:
            query["lineage"] = within
        return {doc["_id"]: doc async for doc in self.employees.find(query, SUBJECT_FIELDS).limit(limit)}

    async def search_units(self, text: str, limit: int) -> list[Document]:
        """Units whose code starts with `text` or whose name contains it (any case), by code."""
        pattern = re.escape(text.strip())
        query = {"$or": [{"_id": {"$regex": f"^{pattern}"}}, {"name": {"$regex": pattern, "$options": "i"}}]}
        return [doc async for doc in self.units.find(query, {"name": 1, "kind": 1}).sort("_id").limit(limit)]

    async def units_named(self, name: str, limit: int) -> list[Document]:
        """Units whose name is `name`, in any case."""
        query = {"name": {"$regex": f"^{re.escape(name.strip())}$", "$options": "i"}}
        return [doc async for doc in self.units.find(query, {"name": 1}).limit(limit)]

    # ------------------------------------------------------------ evidence files

    async def put_evidence(self, file_id: str, content: bytes, media_type: str, sha256: str) -> None:
        """Store one file under `file_id`. Outside the report's transaction (a transaction is no
        place for megabytes): the use case deletes what it stored when the report then fails."""
        await self.evidence.upload_from_stream_with_id(
            file_id, file_id, content, metadata={"media_type": media_type, "sha256": sha256}
        )

    async def delete_evidence(self, file_ids: Sequence[str]) -> None:
        for file_id in file_ids:
            try:
                await self.evidence.delete(file_id)
            except NoFile:
                pass

    async def evidence_content(self, file_id: str) -> bytes | None:
        try:
            stream = await self.evidence.open_download_stream(file_id)
        except NoFile:
            return None
        content: bytes = await stream.read()
        return content

    async def add_to_report(
        self, session: Session, report_id: str, case_id: str, addition: Document, at: dt.datetime
    ) -> bool:
        """Append the reporter's `addition` to their report, and mark its case changed (a new
        version, so that a handler acting on what they read before is told to reload)."""
        updated = await self.reports.update_one(
            {"_id": report_id, "case_id": case_id}, {"$push": {"additions": addition}}, session=session
        )
        if updated.matched_count != 1:
            return False
        await self.cases.update_one(
            {"_id": case_id},
            {"$inc": {"version": 1, "additions": 1}, "$set": {"updated_at": at, "last_addition_at": at}},
            session=session,
        )
        return True

    # ------------------------------------------------------------ intake

    async def open_subject_cases(self, session: Session, keys: Sequence[str]) -> dict[str, list[OpenCase]]:
        """The open cases on each subject's list. Reading the subject documents in the intake's
        transaction is what serialises intakes about one subject: each also writes them."""
        found: dict[str, list[OpenCase]] = {key: [] for key in keys}
        async for doc in self.subjects.find({"_id": {"$in": list(keys)}}, session=session):
            found[doc["_id"]] = [
                OpenCase(entry["case_id"], entry["incident_date"].date())
                for entry in doc["cases"]
                if entry["open"]
            ]
        return found

    async def join_case(
        self,
        session: Session,
        case_id: str,
        report_id: str,
        channel: str,
        bawaslu_reference: str | None,
        at: dt.datetime,
    ) -> Document:
        """Add a report to a stored case (as `CaseRules.join` does to one in memory)."""
        update: Document = {
            "$push": {"report_ids": report_id},
            "$addToSet": {"channels": channel},
            "$inc": {"version": 1},
            "$set": {"updated_at": at},
        }
        if bawaslu_reference:
            update["$addToSet"]["bawaslu_references"] = bawaslu_reference
        joined = await self.cases.find_one_and_update(
            {"_id": case_id}, update, return_document=True, session=session
        )
        assert joined is not None
        return joined

    async def write_intakes(
        self,
        session: Session,
        reports_per_subject: Mapping[str, int],
        opened: Mapping[str, Sequence[OpenCase]],
        new_cases: Sequence[Document],
        reports: Sequence[Document],
        identities: Sequence[Document],
        events: Sequence[EventData],
    ) -> None:
        """A group's writes: every subject's document (also those with no new case, so that
        concurrent groups about one subject conflict), then cases, reports, sealed identities
        and events."""
        await self.subjects.bulk_write(
            [
                UpdateOne(
                    {"_id": key},
                    {
                        "$inc": {"reports": count},
                        "$push": {
                            "cases": {
                                "$each": [
                                    {
                                        "case_id": c.case_id,
                                        "incident_date": as_datetime(c.incident_date),
                                        "open": True,
                                    }
                                    for c in opened.get(key, ())
                                ]
                            }
                        },
                    },
                    upsert=True,
                )
                for key, count in reports_per_subject.items()
            ],
            ordered=False,
            session=session,
        )
        if new_cases:
            await self.cases.insert_many(list(new_cases), session=session)
        await self.reports.insert_many(list(reports), session=session)
        if identities:
            await self.identities.insert_many(list(identities), session=session)
        await self.stage(session, events)

    # ------------------------------------------------------------ cases

    async def case(self, case_id: str, session: Session | None = None) -> Document | None:
        return await self.cases.find_one({"_id": case_id}, session=session)

    async def case_reports(self, case_id: str) -> list[Document]:
        return [doc async for doc in self.reports.find({"case_id": case_id}).sort("received_at", ASCENDING)]

    async def report(self, report_id: str) -> Document | None:
        return await self.reports.find_one({"_id": report_id})

    async def report_by_tracking_hash(self, hashed: str) -> Document | None:
        return await self.reports.find_one({"tracking_hash": hashed})

    async def list_cases(
        self,
        within: Sequence[str],
        state: str | None,
        overdue: bool | None,
        page: int,
        page_size: int,
        acting_role: str | None = None,
    ) -> tuple[list[Document], int]:
        """Cases in every unit of `within` (each a unit or one above it), newest first; with
        `acting_role`, only those with a subject that role examines or decides."""
        conditions: list[Document] = [{"lineage": unit} for unit in within]
        if acting_role:
            conditions.append({"authorities": acting_role})
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

    async def replace_case(self, session: Session, case: Document, expected_version: int) -> Document | None:
        """Write the case's new state if it is still at `expected_version`; None if it is not."""
        saved: Document | None = await self.cases.find_one_and_replace(
            {"_id": case["_id"], "version": expected_version},
            case,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return saved

    async def close_subject_case(
        self, session: Session, subject_keys: Sequence[str] | str, case_id: str
    ) -> None:
        """Later reports about the case's subjects no longer link into this case."""
        keys = [subject_keys] if isinstance(subject_keys, str) else list(subject_keys)
        await self.subjects.update_many(
            {"_id": {"$in": keys}, "cases.case_id": case_id},
            {"$set": {"cases.$.open": False}},
            session=session,
        )

    async def link_subject_keys(
        self, session: Session, subject_keys: Sequence[str], case_id: str, incident_date: dt.date
    ) -> None:
        """The case is open under these subject keys too: a later report about one of them, on the
        same incident, joins it."""
        entry = {"case_id": case_id, "incident_date": as_datetime(incident_date), "open": True}
        await self.subjects.bulk_write(
            [
                *(
                    UpdateOne({"_id": key}, {"$setOnInsert": {"reports": 0, "cases": []}}, upsert=True)
                    for key in subject_keys
                ),
                *(
                    UpdateOne({"_id": key, "cases.case_id": {"$ne": case_id}}, {"$push": {"cases": entry}})
                    for key in subject_keys
                ),
            ],
            ordered=True,
            session=session,
        )

    async def insert_case(self, session: Session, case: Document) -> None:
        await self.cases.insert_one(case, session=session)

    async def move_reports(self, session: Session, report_ids: Sequence[str], case_id: str) -> None:
        """The reports (and their sealed reporters) now belong to `case_id`."""
        await self.reports.update_many(
            {"_id": {"$in": list(report_ids)}}, {"$set": {"case_id": case_id}}, session=session
        )
        await self.identities.update_many(
            {"_id": {"$in": list(report_ids)}}, {"$set": {"case_id": case_id}}, session=session
        )

    async def cases_by_state(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        async for row in await self.cases.aggregate([{"$group": {"_id": "$state", "n": {"$sum": 1}}}]):
            counts[row["_id"]] = row["n"]
        return counts

    # ------------------------------------------------------------ reporter identity

    async def sealed_identities(self, session: Session, case_id: str) -> list[Document]:
        return [doc async for doc in self.identities.find({"case_id": case_id}, session=session)]

    async def access_log_head(self, session: Session) -> AccessHead:
        doc = await self.access_head.find_one({"_id": "head"}, session=session)
        return AccessHead(doc["length"], doc["hash"]) if doc else EMPTY_ACCESS_LOG

    async def append_access_entry(
        self, session: Session, entry: Document, before: AccessHead, after: AccessHead
    ) -> None:
        """Append `entry` and move the head from `before` to `after`. Two reads at once both
        write the head document: one transaction conflicts and is retried on the new head.
        The log has no update or delete: entries are only ever appended."""
        await self.access_head.update_one(
            {"_id": "head", "length": before.length},
            {"$set": {"length": after.length, "hash": after.hash}},
            upsert=True,
            session=session,
        )
        await self.access_log.insert_one(entry, session=session)

    async def access_entries(
        self, within: Sequence[str], case_id: str | None, page: int, page_size: int
    ) -> tuple[list[Document], int]:
        """Entries of cases in every unit of `within` (and of `case_id` if given), newest first."""
        conditions: list[Document] = [{"lineage": unit} for unit in within]
        if case_id:
            conditions.append({"case_id": case_id})
        query: Document = {"$and": conditions} if conditions else {}
        total = await self.access_log.count_documents(query)
        cursor = (
            self.access_log.find(query).sort("seq", DESCENDING).skip((page - 1) * page_size).limit(page_size)
        )
        return [doc async for doc in cursor], total

    async def whole_access_log(self) -> tuple[list[Document], AccessHead | None]:
        """Every entry in order, and the recorded head (None if there is none), read together."""

        async def read(session: Session) -> tuple[list[Document], AccessHead | None]:
            entries = [doc async for doc in self.access_log.find({}, session=session).sort("seq", ASCENDING)]
            head = await self.access_head.find_one({"_id": "head"}, session=session)
            return entries, AccessHead(head["length"], head["hash"]) if head else None

        return await self.transaction(read)

    # ------------------------------------------------------------ deadlines

    async def due_cases(self, session: Session, now: dt.datetime, batch: int) -> list[Document]:
        """Up to `batch` cases with a duty due by `now`, soonest first."""
        # "$type" repeats the due_duties index's partial filter: without it the planner cannot use
        # that index and reads every case (a collection scan and an in-memory sort).
        query = {"next_due_at": {"$type": "date", "$lte": now}}
        return [
            doc
            async for doc in self.cases.find(query, session=session)
            .sort("next_due_at", ASCENDING)
            .limit(batch)
        ]

    async def save_scanned(
        self, session: Session, scanned: Sequence[tuple[Document, Document, Sequence[str]]]
    ) -> bool:
        """Write each (case as read, case after the scan, duty keys fired), conditional on the
        version read. False if any case had changed meanwhile."""
        if not scanned:
            return True
        updates = [self._scanned_update(before, after, fired) for before, after, fired in scanned]
        result = await self.cases.bulk_write(updates, ordered=False, session=session)
        return result.matched_count == len(updates)

    @staticmethod
    def _scanned_update(before: Document, after: Document, fired_keys: Sequence[str]) -> UpdateOne:
        update: Document = {"$set": {"overdue": after.get("overdue", False)}}
        if fired_keys:
            update["$push"] = {"fired": {"$each": list(fired_keys)}}
            update["$inc"] = {"version": 1}
        if after.get("subjects") != before.get("subjects"):
            # A data block is recorded on the subjects it names (a case stored before cases had
            # several subjects gets its subjects' shape with it).
            for key in ("stage", "subjects", "subject_keys", "suggested_class", "extensions"):
                update["$set"][key] = after[key]
        if "next_due_at" in after:
            update["$set"]["next_due_at"] = after["next_due_at"]
        else:
            update["$unset"] = {"next_due_at": ""}
        return UpdateOne({"_id": before["_id"], "version": before["version"]}, update)
