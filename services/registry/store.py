"""The registry's MongoDB store. Every change writes its outbox event in the same transaction."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from gridfs import AsyncGridFSBucket
from pymongo import ASCENDING, InsertOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts.envelope import CloudEvent, EventData, new_event
from contracts.registry import (
    EmployeeDeactivatedV1,
    EmployeeRegisteredV1,
    EmployeeSnapshot,
    EmployeeTransferredV1,
    EmployeeUpdatedV1,
    OrgUnitCreatedV1,
    OrgUnitSnapshot,
    OrgUnitUpdatedV1,
)
from services.kit.errors import Conflict, NotFound
from services.kit.mongo import Document, Session, ensure_index
from services.kit.runtime import Runtime
from services.registry.csvimport import RowError
from services.registry.domain import (
    EmployeeInput,
    Level,
    OrgUnitKind,
    RuleViolation,
    check_unit_parent,
    level_fits_unit,
    nik_fingerprint,
    non_asn_id,
    profile_changes,
)

SOURCE = "/netral/registry"


class LeaseLost(RuntimeError):
    """Another replica took over this import; this one must stop writing."""


class DeactivationReason(StrEnum):
    RETIRED = "RETIRED"
    DECEASED = "DECEASED"
    RESIGNED = "RESIGNED"
    DISMISSED = "DISMISSED"
    TRANSFERRED_OUT = "TRANSFERRED_OUT"
    CONTRACT_ENDED = "CONTRACT_ENDED"


class NikVault:
    """NIK is sensitive personal data (UU 27/2022): stored encrypted, found by a keyed hash."""

    def __init__(self, secret: bytes) -> None:
        def derive(purpose: bytes) -> bytes:
            return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)

        self._fernet = Fernet(base64.urlsafe_b64encode(derive(b"netral-nik-encryption")))
        self._hash_key = derive(b"netral-nik-fingerprint")

    @staticmethod
    def generate() -> bytes:
        """A new secret, for the DEV-ONLY key file of a machine with none configured."""
        return base64.b64encode(Fernet.generate_key())

    def fingerprint(self, nik: str) -> str:
        return nik_fingerprint(nik, self._hash_key)

    def encrypt(self, nik: str) -> str:
        return self._fernet.encrypt(nik.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()


@dataclass(frozen=True)
class UnitRef:
    code: str
    kind: OrgUnitKind
    path: list[str]

    @property
    def lineage(self) -> list[str]:
        return [*self.path, self.code]


@dataclass
class ChunkCounts:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0


@dataclass(frozen=True)
class ImportRow:
    line: int
    employee: EmployeeInput
    unit: UnitRef


def unit_snapshot(doc: Document) -> OrgUnitSnapshot:
    return OrgUnitSnapshot(
        code=doc["_id"],
        name=doc["name"],
        kind=doc["kind"],
        parent_code=doc.get("parent_code"),
        path=doc["path"],
        version=doc["version"],
    )


def employee_snapshot(doc: Document) -> EmployeeSnapshot:
    # Documents are written only from validated input, so the snapshot skips validation:
    # a bulk import builds one per row.
    return EmployeeSnapshot.model_construct(
        employee_id=doc["_id"],
        nip=doc.get("nip"),
        name=doc["name"],
        employment_type=doc["employment_type"],
        position=doc["position"],
        level=doc["level"],
        org_unit_code=doc["org_unit_code"],
        org_unit_path=doc["org_unit_path"],
        supervisor_nip=doc.get("supervisor_nip"),
        email=doc.get("email"),
        phone=doc.get("phone"),
        active=doc["active"],
        version=doc["version"],
    )


def public_employee(doc: Document) -> dict[str, Any]:
    """The API's view of an employee: never the NIK, only whether one is on file."""
    view = employee_snapshot(doc).model_dump(mode="json")
    view["has_nik"] = "nik_encrypted" in doc
    view["deactivation"] = doc.get("deactivation")
    view["created_at"] = doc.get("created_at")
    view["updated_at"] = doc.get("updated_at")
    return view


class RegistryStore:
    def __init__(self, runtime: Runtime, vault: NikVault) -> None:
        self.runtime = runtime
        self.db: AsyncDatabase[Document] = runtime.database
        self.units = self.db["org_units"]
        self.employees = self.db["employees"]
        self.history = self.db["employee_history"]
        self.imports = self.db["imports"]
        self.import_errors = self.db["import_errors"]
        self.import_chunks = self.db["import_chunks"]
        self.files = AsyncGridFSBucket(self.db, bucket_name="import_files")
        self.vault = vault

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
        await ensure_index(self.import_errors, [("import_id", ASCENDING), ("line", ASCENDING)])
        await ensure_index(self.import_chunks, [("import_id", ASCENDING), ("first", ASCENDING)])

    def _event(self, data: EventData) -> CloudEvent:
        return new_event(data, SOURCE)

    # ------------------------------------------------------------ org units

    async def unit(self, code: str, session: Session | None = None) -> UnitRef:
        doc = await self.units.find_one({"_id": code}, session=session)
        if doc is None:
            raise NotFound(f"unit organisasi {code} tidak ditemukan")
        return UnitRef(doc["_id"], OrgUnitKind(doc["kind"]), doc["path"])

    async def units_by_code(self, codes: Sequence[str]) -> dict[str, UnitRef]:
        cursor = self.units.find({"_id": {"$in": list(codes)}}, {"kind": 1, "path": 1})
        return {
            doc["_id"]: UnitRef(doc["_id"], OrgUnitKind(doc["kind"]), doc["path"]) async for doc in cursor
        }

    async def unit_document(self, code: str) -> Document:
        doc = await self.units.find_one({"_id": code})
        if doc is None:
            raise NotFound(f"unit organisasi {code} tidak ditemukan")
        return doc

    async def children(self, code: str) -> list[Document]:
        return await self.units.find({"parent_code": code}, sort=[("_id", ASCENDING)]).to_list()

    async def create_unit(self, code: str, name: str, kind: OrgUnitKind, parent_code: str | None) -> Document:
        async def work(session: Session) -> Document:
            path: list[str] = []
            parent_kind: OrgUnitKind | None = None
            if parent_code is not None:
                parent = await self.units.find_one({"_id": parent_code}, session=session)
                if parent is None:
                    raise RuleViolation("parent_code", f"unit induk {parent_code} tidak ditemukan")
                path = [*parent["path"], parent["_id"]]
                parent_kind = OrgUnitKind(parent["kind"])
            check_unit_parent(kind, parent_kind)
            now = dt.datetime.now(dt.UTC)
            doc: Document = {
                "_id": code,
                "name": name,
                "kind": kind.value,
                "parent_code": parent_code,
                "path": path,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            try:
                await self.units.insert_one(doc, session=session)
            except DuplicateKeyError:
                raise Conflict(f"unit organisasi {code} sudah ada") from None
            await self.runtime.outbox.add(session, [self._event(OrgUnitCreatedV1(unit=unit_snapshot(doc)))])
            return doc

        result: Document = await self.runtime.commit(work)
        return result

    async def rename_unit(self, code: str, name: str) -> Document:
        async def work(session: Session) -> Document:
            current = await self.units.find_one({"_id": code}, session=session)
            if current is None:
                raise NotFound(f"unit organisasi {code} tidak ditemukan")
            if current["name"] == name:
                return current
            doc = await self.units.find_one_and_update(
                {"_id": code},
                {"$set": {"name": name, "updated_at": dt.datetime.now(dt.UTC)}, "$inc": {"version": 1}},
                session=session,
                return_document=ReturnDocument.AFTER,
            )
            assert doc is not None
            await self.runtime.outbox.add(
                session, [self._event(OrgUnitUpdatedV1(unit=unit_snapshot(doc), changed=["name"]))]
            )
            return doc

        result: Document = await self.runtime.commit(work)
        return result

    # ------------------------------------------------------------ employees

    def employee_id(self, employee: EmployeeInput) -> str:
        if employee.nip is not None:
            return employee.nip
        assert employee.nik is not None
        return non_asn_id(self.vault.fingerprint(employee.nik))

    def _new_employee_document(self, employee: EmployeeInput, unit: UnitRef, now: dt.datetime) -> Document:
        doc: Document = {
            "_id": self.employee_id(employee),
            "nip": employee.nip,
            "name": employee.name,
            "employment_type": employee.employment_type.value,
            "position": employee.position,
            "level": employee.level.value,
            "org_unit_code": unit.code,
            "org_unit_path": unit.path,
            "supervisor_nip": employee.supervisor_nip,
            "email": str(employee.email) if employee.email else None,
            "phone": employee.phone,
            "active": True,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        if employee.nik is not None:
            doc["nik_hash"] = self.vault.fingerprint(employee.nik)
            doc["nik_encrypted"] = self.vault.encrypt(employee.nik)
        return doc

    @staticmethod
    def _profile(employee: EmployeeInput) -> dict[str, object]:
        return {
            "name": employee.name,
            "position": employee.position,
            "level": employee.level.value,
            "employment_type": employee.employment_type.value,
            "supervisor_nip": employee.supervisor_nip,
            "email": str(employee.email) if employee.email else None,
            "phone": employee.phone,
        }

    async def employee(self, employee_id: str) -> Document:
        doc = await self.employees.find_one({"_id": employee_id})
        if doc is None:
            raise NotFound(f"pegawai {employee_id} tidak ditemukan")
        return doc

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

    async def create_employee(self, employee: EmployeeInput, actor: str) -> Document:
        async def work(session: Session) -> Document:
            unit = await self.unit(employee.org_unit_code, session)
            level_fits_unit(employee.level, unit.kind)
            now = dt.datetime.now(dt.UTC)
            doc = self._new_employee_document(employee, unit, now)
            doc["created_by"] = actor
            try:
                await self.employees.insert_one(doc, session=session)
            except DuplicateKeyError:
                what = f"NIP {employee.nip}" if employee.nip else "NIK ini"
                raise Conflict(f"pegawai dengan {what} sudah terdaftar") from None
            await self.runtime.outbox.add(
                session, [self._event(EmployeeRegisteredV1(employee=employee_snapshot(doc)))]
            )
            return doc

        result: Document = await self.runtime.commit(work)
        return result

    async def update_employee(
        self, employee_id: str, patch: dict[str, Any], actor: str
    ) -> tuple[Document, list[str]]:
        async def work(session: Session) -> tuple[Document, list[str]]:
            current = await self.employees.find_one({"_id": employee_id}, session=session)
            if current is None:
                raise NotFound(f"pegawai {employee_id} tidak ditemukan")
            if not current["active"]:
                raise Conflict(f"pegawai {employee_id} sudah nonaktif dan tidak bisa diubah")
            merged = {
                "nip": current.get("nip"),
                "org_unit_code": current["org_unit_code"],
                "nik": self.vault.decrypt(current["nik_encrypted"]) if "nik_encrypted" in current else None,
                **{key: current.get(key) for key in self._profile_keys()},
                **patch,
            }
            employee = EmployeeInput.model_validate(merged)
            unit = await self.unit(current["org_unit_code"], session)
            level_fits_unit(employee.level, unit.kind)
            changes = profile_changes(current, self._profile(employee))
            if not changes:
                return current, []
            return await self._write_update(session, current, changes, actor, None)

        result: tuple[Document, list[str]] = await self.runtime.commit(work)
        return result

    @staticmethod
    def _profile_keys() -> tuple[str, ...]:
        return ("name", "position", "level", "employment_type", "supervisor_nip", "email", "phone")

    async def _write_update(
        self,
        session: Session,
        current: Document,
        changes: dict[str, object],
        actor: str,
        transfer: tuple[UnitRef, str, dt.date] | None,
    ) -> tuple[Document, list[str]]:
        now = dt.datetime.now(dt.UTC)
        update: Document = {**changes, "updated_at": now, "version": current["version"] + 1}
        if transfer is not None:
            unit, _, _ = transfer
            update["org_unit_code"] = unit.code
            update["org_unit_path"] = unit.path
        doc = await self.employees.find_one_and_update(
            {"_id": current["_id"], "version": current["version"]},
            {"$set": update},
            session=session,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise Conflict(f"pegawai {current['_id']} sedang diubah proses lain; coba lagi")
        snapshot = employee_snapshot(doc)
        data: EventData
        if transfer is not None:
            unit, reason, effective = transfer
            data = EmployeeTransferredV1(
                employee=snapshot,
                from_org_unit_code=current["org_unit_code"],
                to_org_unit_code=unit.code,
                reason=reason,
                effective_date=effective,
            )
            await self.history.insert_one(
                {
                    "employee_id": doc["_id"],
                    "at": now,
                    "action": "transfer",
                    "from_org_unit_code": current["org_unit_code"],
                    "to_org_unit_code": unit.code,
                    "reason": reason,
                    "effective_date": effective.isoformat(),
                    "by": actor,
                },
                session=session,
            )
        else:
            data = EmployeeUpdatedV1(employee=snapshot, changed=sorted(changes))
            await self.history.insert_one(
                {
                    "employee_id": doc["_id"],
                    "at": now,
                    "action": "update",
                    "changes": {key: [current.get(key), value] for key, value in changes.items()},
                    "by": actor,
                },
                session=session,
            )
        await self.runtime.outbox.add(session, [self._event(data)])
        return doc, sorted(changes)

    async def transfer_employee(
        self,
        employee_id: str,
        to_unit_code: str,
        reason: str,
        effective_date: dt.date,
        position: str | None,
        level: Level | None,
        actor_may_enter: Any,
        actor: str,
    ) -> Document:
        async def work(session: Session) -> Document:
            current = await self.employees.find_one({"_id": employee_id}, session=session)
            if current is None:
                raise NotFound(f"pegawai {employee_id} tidak ditemukan")
            if not current["active"]:
                raise Conflict(f"pegawai {employee_id} sudah nonaktif dan tidak bisa dipindahkan")
            if current["org_unit_code"] == to_unit_code:
                raise RuleViolation("to_org_unit_code", f"pegawai sudah berada di unit {to_unit_code}")
            unit = await self.unit(to_unit_code, session)
            actor_may_enter(unit)
            new_level = level or Level(current["level"])
            level_fits_unit(new_level, unit.kind)
            changes: dict[str, object] = {}
            if position is not None and position != current["position"]:
                changes["position"] = position
            if new_level.value != current["level"]:
                changes["level"] = new_level.value
            doc, _ = await self._write_update(
                session, current, changes, actor, (unit, reason, effective_date)
            )
            return doc

        result: Document = await self.runtime.commit(work)
        return result

    async def deactivate_employee(
        self,
        employee_id: str,
        reason: DeactivationReason,
        note: str | None,
        effective_date: dt.date,
        actor: str,
    ) -> Document:
        async def work(session: Session) -> Document:
            now = dt.datetime.now(dt.UTC)
            deactivation = {
                "reason": reason.value,
                "note": note,
                "effective_date": effective_date.isoformat(),
                "by": actor,
                "at": now,
            }
            doc = await self.employees.find_one_and_update(
                {"_id": employee_id, "active": True},
                {
                    "$set": {"active": False, "deactivation": deactivation, "updated_at": now},
                    "$inc": {"version": 1},
                },
                session=session,
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                if await self.employees.find_one({"_id": employee_id}, {"_id": 1}, session=session) is None:
                    raise NotFound(f"pegawai {employee_id} tidak ditemukan")
                raise Conflict(f"pegawai {employee_id} sudah nonaktif")
            await self.history.insert_one(
                {"employee_id": employee_id, "action": "deactivate", **deactivation}, session=session
            )
            await self.runtime.outbox.add(
                session,
                [
                    self._event(
                        EmployeeDeactivatedV1(
                            employee=employee_snapshot(doc),
                            reason=reason.value if note is None else f"{reason.value}: {note}",
                            effective_date=effective_date,
                        )
                    )
                ],
            )
            return doc

        result: Document = await self.runtime.commit(work)
        return result

    async def employee_history(self, employee_id: str) -> list[Document]:
        return await self.history.find(
            {"employee_id": employee_id}, {"_id": 0}, sort=[("at", ASCENDING)]
        ).to_list()

    # ------------------------------------------------------------ imports

    async def create_import(
        self, data: bytes, filename: str, total: int, actor: str, scope: str | None
    ) -> str:
        digest = hashlib.sha256(data).hexdigest()
        file_id = await self.files.upload_from_stream(filename, data, metadata={"sha256": digest})
        now = dt.datetime.now(dt.UTC)
        job: Document = {
            "_id": f"imp-{file_id}",
            "status": "queued",
            "filename": filename,
            "file_id": file_id,
            "sha256": digest,
            "total": total,
            "scope": scope,
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

    async def import_job(self, import_id: str) -> Document:
        doc = await self.imports.find_one({"_id": import_id})
        if doc is None:
            raise NotFound(f"impor {import_id} tidak ditemukan")
        return doc

    async def import_errors_page(self, import_id: str, skip: int, limit: int) -> list[Document]:
        return await self.import_errors.find(
            {"import_id": import_id},
            {"_id": 0, "import_id": 0},
            sort=[("line", ASCENDING), ("column", ASCENDING)],
            skip=skip,
            limit=limit,
        ).to_list()

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
        now = dt.datetime.now(dt.UTC)
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
        now = dt.datetime.now(dt.UTC)
        result = await self.imports.update_one(
            {"_id": import_id, "owner": owner},
            {"$set": {"lease_until": now + dt.timedelta(seconds=lease_seconds)}},
        )
        if result.matched_count == 0:
            raise LeaseLost(import_id)

    async def finish_import(
        self, import_id: str, owner: str, status: str, message: str | None = None
    ) -> None:
        await self.imports.update_one(
            {"_id": import_id, "owner": owner},
            {
                "$set": {
                    "status": status,
                    "finished_at": dt.datetime.now(dt.UTC),
                    "lease_until": None,
                    "message": message,
                }
            },
        )

    async def apply_import_chunk(
        self,
        import_id: str,
        owner: str,
        rows: Sequence[ImportRow],
        row_errors: Sequence[RowError],
        lines: tuple[int, int],
        processed: int,
    ) -> ChunkCounts:
        """Write one chunk of rows, their events, their errors, its commit marker and the
        import's progress in one transaction: a crash resumes with exactly the chunks that
        did not commit, even when several chunks were in flight."""

        async def work(session: Session) -> ChunkCounts:
            job = await self.imports.find_one({"_id": import_id, "owner": owner}, {"_id": 1}, session=session)
            if job is None:
                raise LeaseLost(import_id)
            counts = ChunkCounts()
            errors = list(row_errors)
            ids = [self.employee_id(row.employee) for row in rows]
            existing = {
                doc["_id"]: doc async for doc in self.employees.find({"_id": {"$in": ids}}, session=session)
            }
            now = dt.datetime.now(dt.UTC)
            writes: list[InsertOne[Document] | UpdateOne] = []
            history: list[Document] = []
            events: list[CloudEvent] = []
            for row, employee_id in zip(rows, ids, strict=True):
                current = existing.get(employee_id)
                if current is None:
                    doc = self._new_employee_document(row.employee, row.unit, now)
                    doc["created_by"] = f"import:{import_id}"
                    writes.append(InsertOne(doc))
                    events.append(self._event(EmployeeRegisteredV1(employee=employee_snapshot(doc))))
                    counts.imported += 1
                    continue
                if not current["active"]:
                    errors.append(
                        RowError(
                            row.line,
                            "nip",
                            row.employee.nip,
                            f"pegawai {employee_id} sudah nonaktif; tidak diimpor ulang",
                        )
                    )
                    continue
                changes = profile_changes(current, self._profile(row.employee))
                moved = current["org_unit_code"] != row.unit.code
                if not changes and not moved:
                    counts.unchanged += 1
                    continue
                update: Document = {**changes, "updated_at": now, "version": current["version"] + 1}
                if moved:
                    update |= {"org_unit_code": row.unit.code, "org_unit_path": row.unit.path}
                writes.append(
                    UpdateOne({"_id": employee_id, "version": current["version"]}, {"$set": update})
                )
                after = {**current, **update}
                data: EventData
                if moved:
                    data = EmployeeTransferredV1(
                        employee=employee_snapshot(after),
                        from_org_unit_code=current["org_unit_code"],
                        to_org_unit_code=row.unit.code,
                        reason=f"impor {import_id} baris {row.line}",
                        effective_date=now.date(),
                    )
                    history.append(
                        {
                            "employee_id": employee_id,
                            "at": now,
                            "action": "transfer",
                            "from_org_unit_code": current["org_unit_code"],
                            "to_org_unit_code": row.unit.code,
                            "reason": f"impor {import_id} baris {row.line}",
                            "by": f"import:{import_id}",
                        }
                    )
                else:
                    data = EmployeeUpdatedV1(employee=employee_snapshot(after), changed=sorted(changes))
                    history.append(
                        {
                            "employee_id": employee_id,
                            "at": now,
                            "action": "update",
                            "changes": {key: [current.get(key), value] for key, value in changes.items()},
                            "by": f"import:{import_id}",
                        }
                    )
                events.append(self._event(data))
                counts.updated += 1
            if writes:
                result = await self.employees.bulk_write(writes, ordered=False, session=session)
                expected_updates = sum(1 for write in writes if isinstance(write, UpdateOne))
                if result.modified_count != expected_updates:
                    raise Conflict("pegawai diubah proses lain selama impor; bagian ini diulang")
            if history:
                await self.history.insert_many(history, session=session)
            await self.runtime.outbox.add(session, events)
            counts.failed = len({error.line for error in errors})
            if errors:
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
                        for index, error in enumerate(errors)
                    ],
                    session=session,
                )
            # Progress lives on the chunk's own marker, not on the import document, so
            # chunks in flight together never contend for one document.
            await self.import_chunks.insert_one(
                {
                    "_id": f"{import_id}:{lines[0]}",
                    "import_id": import_id,
                    "first": lines[0],
                    "last": lines[1],
                    "processed": processed,
                    "imported": counts.imported,
                    "updated": counts.updated,
                    "unchanged": counts.unchanged,
                    "failed": counts.failed,
                },
                session=session,
            )
            return counts

        result: ChunkCounts = await self.runtime.commit(work)
        return result
