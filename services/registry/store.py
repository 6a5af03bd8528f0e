"""The registry's MongoDB repository: org units, employees, their history and the import jobs.

Records and the events of a change go in as the domain built them; every change writes its
outbox event in the same transaction. Missing things come back as None: what that means for
the caller, and in which words, is the use cases' business.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from bson import ObjectId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo import ASCENDING, DESCENDING, InsertOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts.envelope import CloudEvent, EventData, new_event
from services.kit.clock import Clock
from services.kit.mongo import Document, Session, ensure_index
from services.kit.runtime import Runtime
from services.registry.csvimport import RowError
from services.registry.domain import EmployeeChange, UnitRef, unit_ref

SOURCE = "/netral/registry"
FINISHED = ("completed", "failed")


class LeaseLost(RuntimeError):
    """Another replica took over this import; this one must stop writing."""


class StaleChunk(RuntimeError):
    """An employee of the chunk changed after the chunk was decided; it is decided again when
    the import resumes."""


@dataclass
class ChunkCounts:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0


@dataclass
class ChunkWrite:
    """Everything one import chunk commits together."""

    lines: tuple[int, int]
    processed: int
    inserts: list[Document] = field(default_factory=list)
    changes: list[EmployeeChange] = field(default_factory=list)
    events: list[EventData] = field(default_factory=list)
    """The registrations' and the changes' events, in the order of the rows."""
    errors: list[RowError] = field(default_factory=list)
    counts: ChunkCounts = field(default_factory=ChunkCounts)


class RegistryStore:
    def __init__(self, runtime: Runtime, clock: Clock) -> None:
        self.runtime = runtime
        self.clock = clock  # for the import jobs' own times: queued, leased, finished
        self.db: AsyncDatabase[Document] = runtime.database
        self.units = self.db["org_units"]
        self.employees = self.db["employees"]
        self.history = self.db["employee_history"]
        self.imports = self.db["imports"]
        self.import_errors = self.db["import_errors"]
        self.import_chunks = self.db["import_chunks"]
        self.files = AsyncGridFSBucket(self.db, bucket_name="import_files")

    async def ensure_indexes(self) -> None:
        await ensure_index(self.units, [("parent_code", ASCENDING)])
        await ensure_index(self.units, [("path", ASCENDING)])
        await ensure_index(self.employees, [("org_unit_path", ASCENDING), ("_id", ASCENDING)])
        await ensure_index(self.employees, [("org_unit_code", ASCENDING), ("_id", ASCENDING)])
        await ensure_index(
            self.employees, "nik_hash", unique=True, partialFilterExpression={"nik_hash": {"$exists": True}}
        )
        await ensure_index(self.history, [("employee_id", ASCENDING), ("at", ASCENDING)])
        await ensure_index(self.imports, [("status", ASCENDING), ("lease_until", ASCENDING)])
        await ensure_index(self.imports, [("scope", ASCENDING), ("created_at", DESCENDING)])
        await ensure_index(self.import_errors, [("import_id", ASCENDING), ("line", ASCENDING)])
        await ensure_index(self.import_chunks, [("import_id", ASCENDING), ("first", ASCENDING)])

    def _events(self, data: Sequence[EventData]) -> list[CloudEvent]:
        return [new_event(item, SOURCE) for item in data]

    async def _insert(
        self, collection: AsyncCollection[Document], record: Document, event: EventData
    ) -> bool:
        """Insert `record` with its event; False when a unique key says it is there already."""

        async def work(session: Session) -> None:
            await collection.insert_one(record, session=session)
            await self.runtime.outbox.add(session, self._events([event]))

        try:
            await self.runtime.commit(work)
        except DuplicateKeyError:
            return False
        return True

    # ------------------------------------------------------------ org units

    async def unit(self, code: str) -> UnitRef | None:
        doc = await self.units.find_one({"_id": code}, {"kind": 1, "path": 1})
        return None if doc is None else unit_ref(doc)

    async def units_by_code(self, codes: Sequence[str]) -> dict[str, UnitRef]:
        cursor = self.units.find({"_id": {"$in": list(codes)}}, {"kind": 1, "path": 1})
        return {doc["_id"]: unit_ref(doc) async for doc in cursor}

    async def unit_document(self, code: str) -> Document | None:
        return await self.units.find_one({"_id": code})

    async def children(self, code: str) -> list[Document]:
        return await self.units.find({"parent_code": code}, sort=[("_id", ASCENDING)]).to_list()

    async def insert_unit(self, unit: Document, event: EventData) -> bool:
        """False when a unit with this code exists already."""
        return await self._insert(self.units, unit, event)

    async def update_unit(
        self, code: str, version: int, update: Document, event: EventData
    ) -> Document | None:
        """The unit after `update`, or None when it is no longer at `version`."""

        async def work(session: Session) -> Document | None:
            doc = await self.units.find_one_and_update(
                {"_id": code, "version": version},
                {"$set": update},
                session=session,
                return_document=ReturnDocument.AFTER,
            )
            if doc is not None:
                await self.runtime.outbox.add(session, self._events([event]))
            return doc

        result: Document | None = await self.runtime.commit(work)
        return result

    # ------------------------------------------------------------ employees

    async def employee(self, employee_id: str) -> Document | None:
        return await self.employees.find_one({"_id": employee_id})

    async def employees_by_id(self, ids: Sequence[str]) -> dict[str, Document]:
        return {doc["_id"]: doc async for doc in self.employees.find({"_id": {"$in": list(ids)}})}

    async def list_employees(
        self, unit_code: str, include_descendants: bool, active: bool | None, page: int, page_size: int
    ) -> tuple[list[Document], int]:
        query: Document = (
            {"$or": [{"org_unit_code": unit_code}, {"org_unit_path": unit_code}]}
            if include_descendants
            else {"org_unit_code": unit_code}
        )
        if active is not None:
            query["active"] = active
        total = await self.employees.count_documents(query)
        docs = await self.employees.find(
            query, sort=[("_id", ASCENDING)], skip=(page - 1) * page_size, limit=page_size
        ).to_list()
        return docs, total

    async def leaders_of(self, unit_codes: Sequence[str]) -> list[Document]:
        """The active employees holding a leader office on these (pemda) units."""
        return await self.employees.find(
            {"org_unit_code": {"$in": list(unit_codes)}, "active": True, "leader_office": {"$ne": None}},
            {"leader_office": 1, "org_unit_code": 1},
        ).to_list()

    async def insert_employee(self, employee: Document, event: EventData) -> bool:
        """False when the employee (same id or same NIK) is on file already."""
        return await self._insert(self.employees, employee, event)

    async def apply_change(self, change: EmployeeChange) -> Document | None:
        """The employee after the change, with its history entry and event; None when the
        employee is no longer at the version the change was decided from."""

        async def work(session: Session) -> Document | None:
            doc = await self.employees.find_one_and_update(
                {"_id": change.employee_id, "version": change.version},
                {"$set": change.update},
                session=session,
                return_document=ReturnDocument.AFTER,
            )
            if doc is not None:
                await self.history.insert_one(change.history, session=session)
                await self.runtime.outbox.add(session, self._events([change.event]))
            return doc

        result: Document | None = await self.runtime.commit(work)
        return result

    async def employee_history(self, employee_id: str) -> list[Document]:
        return await self.history.find(
            {"employee_id": employee_id}, {"_id": 0}, sort=[("at", ASCENDING)]
        ).to_list()

    # ------------------------------------------------------------ imports

    async def create_import(
        self, data: bytes, filename: str, total: int, actor: str, role: str, scope: str | None
    ) -> str:
        """Queue the file. It holds NIKs in clear: it is kept only until the import finishes."""
        digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        file_id = await self.files.upload_from_stream(filename, data, metadata={"sha256": digest})
        now = self.clock.now()
        job: Document = {
            "_id": f"imp-{file_id}",
            "status": "queued",
            "filename": filename,
            "file_id": file_id,
            "sha256": digest,
            "total": total,
            "scope": scope,
            "role": role,
            "created_by": actor,
            "created_at": now,
            "started_at": now,
            "attempts": 0,
            "finished_at": None,
            "owner": None,
            "lease_until": None,
        }
        await self.imports.insert_one(job)
        return str(job["_id"])

    async def import_job(self, import_id: str) -> Document | None:
        return await self.imports.find_one({"_id": import_id})

    async def import_errors_page(self, import_id: str, skip: int, limit: int) -> list[Document]:
        return await self.import_errors.find(
            {"import_id": import_id},
            {"_id": 0, "import_id": 0},
            sort=[("line", ASCENDING), ("column", ASCENDING)],
            skip=skip,
            limit=limit,
        ).to_list()

    async def import_error_count(self, import_id: str) -> int:
        return await self.import_errors.count_documents({"import_id": import_id})

    async def all_import_errors(self, import_id: str) -> AsyncIterator[Document]:
        """Every error of the import, in the order of the report, read as the caller goes."""
        cursor = self.import_errors.find(
            {"import_id": import_id},
            {"_id": 0, "import_id": 0},
            sort=[("line", ASCENDING), ("column", ASCENDING)],
        )
        async for error in cursor:
            yield error

    async def recent_imports(self, scope: str | None, whole_platform: bool, limit: int) -> list[Document]:
        """The latest imports, newest first: those of `scope`, or every one for `whole_platform`.
        Without the file's references, which no page needs."""
        query: Document = {} if whole_platform else {"scope": scope}
        return await self.imports.find(
            query,
            {"file_id": 0, "sha256": 0, "owner": 0, "lease_until": 0},
            sort=[("created_at", DESCENDING)],
            limit=limit,
        ).to_list()

    async def imports_progress(self, import_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """`import_progress` of several imports in one aggregation."""
        fields = ("processed", "imported", "updated", "unchanged", "failed")
        cursor = await self.import_chunks.aggregate(
            [
                {"$match": {"import_id": {"$in": list(import_ids)}}},
                {"$group": {"_id": "$import_id", **{field: {"$sum": f"${field}"} for field in fields}}},
            ]
        )
        found = {doc["_id"]: doc async for doc in cursor}
        return {
            import_id: {field: int(found[import_id][field]) if import_id in found else 0 for field in fields}
            for import_id in import_ids
        }

    async def import_file(self, job: Document) -> bytes:
        stream = await self.files.open_download_stream(job["file_id"])
        data: bytes = await stream.read()
        return data

    async def import_progress(self, import_id: str) -> dict[str, int]:
        fields = ("processed", "imported", "updated", "unchanged", "failed")
        cursor = await self.import_chunks.aggregate(
            [
                {"$match": {"import_id": import_id}},
                {"$group": {"_id": None, **{field: {"$sum": f"${field}"} for field in fields}}},
            ]
        )
        totals = await cursor.to_list()
        return {field: int(totals[0][field]) if totals else 0 for field in fields}

    async def committed_chunks(self, import_id: str) -> list[tuple[int, int]]:
        cursor = self.import_chunks.find({"import_id": import_id}, sort=[("first", ASCENDING)])
        return [(doc["first"], doc["last"]) async for doc in cursor]

    async def claim_import(self, owner: str, lease_seconds: float) -> Document | None:
        """Take the oldest import that nobody is working on (new, or whose worker died)."""
        now = self.clock.now()
        return await self.imports.find_one_and_update(
            {
                "status": {"$in": ["queued", "running"]},
                "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}],
            },
            {
                "$set": {
                    "status": "running",
                    "owner": owner,
                    "lease_until": now + dt.timedelta(seconds=lease_seconds),
                },
                "$inc": {"attempts": 1},
            },
            sort=[("created_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def renew_import(self, import_id: str, owner: str, lease_seconds: float) -> None:
        now = self.clock.now()
        result = await self.imports.update_one(
            {"_id": import_id, "owner": owner},
            {"$set": {"lease_until": now + dt.timedelta(seconds=lease_seconds)}},
        )
        if result.matched_count == 0:
            raise LeaseLost(import_id)

    async def finish_import(
        self, import_id: str, owner: str, status: str, message: str | None = None
    ) -> None:
        """Mark the import finished, then delete its uploaded file: a finished import never
        reads it again. GridFS cannot join a transaction; a crash in between leaves the file to
        `sweep_import_files` at the next start."""
        job = await self.imports.find_one_and_update(
            {"_id": import_id, "owner": owner},
            {
                "$set": {
                    "status": status,
                    "finished_at": self.clock.now(),
                    "lease_until": None,
                    "message": message,
                }
            },
            {"file_id": 1},
        )
        if job is not None and job.get("file_id") is not None:
            await self._delete_file(job["file_id"])

    async def _delete_file(self, file_id: ObjectId) -> None:
        try:
            await self.files.delete(file_id)
        except NoFile:
            pass  # deleted already (by the sweep, or a retry); its chunks are gone all the same

    async def sweep_import_files(self, orphaned_after: dt.timedelta = dt.timedelta(hours=1)) -> None:
        """Delete uploaded files no import will read again: those of finished imports whose
        worker died before it deleted them, and those an upload left without a job (the upload
        cut short, or the job never written) once they are older than `orphaned_after`. The
        files are few: one per import still running."""
        cutoff = self.clock.now() - orphaned_after
        files_collection = self.db["import_files.files"]
        chunks_collection = self.db["import_files.chunks"]
        async for stored in files_collection.find({}, {"_id": 1, "uploadDate": 1}):
            job = await self.imports.find_one({"_id": f"imp-{stored['_id']}"}, {"status": 1})
            abandoned = job is None and stored["uploadDate"] < cutoff
            if abandoned or (job is not None and job["status"] in FINISHED):
                await self._delete_file(stored["_id"])
        # Chunks written by an upload that died before its file document.
        for files_id in await chunks_collection.distinct("files_id"):
            if isinstance(files_id, ObjectId) and files_id.generation_time < cutoff:
                if await files_collection.find_one({"_id": files_id}, {"_id": 1}) is None:
                    await chunks_collection.delete_many({"files_id": files_id})

    async def apply_import_chunk(self, import_id: str, owner: str, chunk: ChunkWrite) -> None:
        """Write one chunk of rows, their history and events, their errors, its commit marker
        and the import's progress in one transaction: a crash resumes with exactly the chunks
        that did not commit, even when several chunks were in flight."""
        writes: list[InsertOne[Document] | UpdateOne] = [InsertOne(doc) for doc in chunk.inserts]
        writes += [
            UpdateOne({"_id": change.employee_id, "version": change.version}, {"$set": change.update})
            for change in chunk.changes
        ]
        events = self._events(chunk.events)

        async def work(session: Session) -> None:
            job = await self.imports.find_one({"_id": import_id, "owner": owner}, {"_id": 1}, session=session)
            if job is None:
                raise LeaseLost(import_id)
            if writes:
                result = await self.employees.bulk_write(writes, ordered=False, session=session)
                if result.modified_count != len(chunk.changes):
                    raise StaleChunk(import_id)
            if chunk.changes:
                await self.history.insert_many([change.history for change in chunk.changes], session=session)
            await self.runtime.outbox.add(session, events)
            if chunk.errors:
                await self.import_errors.bulk_write(
                    [
                        UpdateOne(
                            {"_id": f"{import_id}:{error.line}:{error.column or '-'}:{index}"},
                            {
                                "$set": {
                                    "import_id": import_id,
                                    "line": error.line,
                                    "column": error.column,
                                    "value": error.value,
                                    "message": error.message,
                                }
                            },
                            upsert=True,
                        )
                        for index, error in enumerate(chunk.errors)
                    ],
                    session=session,
                )
            # Progress lives on the chunk's own marker, not on the import document, so
            # chunks in flight together never contend for one document.
            counts = chunk.counts
            await self.import_chunks.insert_one(
                {
                    "_id": f"{import_id}:{chunk.lines[0]}",
                    "import_id": import_id,
                    "first": chunk.lines[0],
                    "last": chunk.lines[1],
                    "processed": chunk.processed,
                    "imported": counts.imported,
                    "updated": counts.updated,
                    "unchanged": counts.unchanged,
                    "failed": counts.failed,
                },
                session=session,
            )

        await self.runtime.commit(work)
