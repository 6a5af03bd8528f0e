"""What the registry does, one method per command and query: who may do it and in which units
is checked here, once; the rules are in `services.registry.domain`, the documents in
`services.registry.store`. The HTTP API calls these; the bulk import runs in
`services.registry.importer`."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from contracts.roles import Role
from services.kit.clock import Clock
from services.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.kit.identity import Principal
from services.kit.mongo import Document
from services.kit.validation import field_errors
from services.registry.csvimport import CsvFileError, CsvLayout, count_rows, decode, read_layout
from services.registry.domain import (
    DeactivationReason,
    EmployeeChange,
    EmployeeInput,
    LeaderOffice,
    Level,
    OrgUnitKind,
    RuleViolation,
    UnitRef,
    check_changeable,
    check_leader_seat,
    check_transferable,
    employee_deactivation,
    employee_transfer,
    employee_update,
    level_fits_unit,
    local_date,
    new_employee,
    new_unit,
    revised_input,
    unit_rename,
)
from services.registry.nik import NikVault
from services.registry.store import RegistryStore

# Who may do what (DESIGN.md, Roles). A token bound to an org unit acts only inside it.
UNIT_READERS = tuple(Role)
UNIT_WRITERS = (Role.BKPSDM,)
EMPLOYEE_READERS = (Role.BKPSDM, Role.OPD_ADMIN, Role.PPK, Role.INSPEKTORAT, Role.BKN, Role.EMPLOYEE)
EMPLOYEE_LISTERS = (Role.BKPSDM, Role.OPD_ADMIN, Role.PPK, Role.INSPEKTORAT, Role.BKN)
EMPLOYEE_WRITERS = (Role.BKPSDM, Role.OPD_ADMIN)
IMPORTERS = (Role.BKPSDM, Role.OPD_ADMIN)


class UnitNotFound(NotFound):
    def __init__(self, code: str) -> None:
        super().__init__(f"unit organisasi {code} tidak ditemukan")


class EmployeeNotFound(NotFound):
    def __init__(self, employee_id: str) -> None:
        super().__init__(f"pegawai {employee_id} tidak ditemukan")


@dataclass(frozen=True)
class ImportStarted:
    import_id: str
    total: int
    ignored_columns: list[str]


@dataclass(frozen=True)
class ImportStatus:
    job: Document
    progress: dict[str, int]
    errors: list[Document]
    """One page of the per-row errors."""


@dataclass(frozen=True)
class ImportSummary:
    job: Document
    progress: dict[str, int]


def sniffed(data: bytes) -> tuple[CsvLayout, int]:
    """The file's layout and its number of data rows, or CsvFileError."""
    text = decode(data)
    layout = read_layout(text)
    return layout, count_rows(text, layout)


class RegistryUseCases:
    def __init__(
        self, store: RegistryStore, vault: NikVault, clock: Clock, import_queued: Callable[[], None]
    ) -> None:
        self.store = store
        self.vault = vault
        self.clock = clock
        self.import_queued = import_queued  # wakes the import worker for a file just queued

    # ------------------------------------------------------------ org units

    async def create_org_unit(
        self, principal: Principal, code: str, name: str, kind: OrgUnitKind, parent_code: str | None
    ) -> Document:
        principal.check_role(*UNIT_WRITERS)
        parent: UnitRef | None = None
        if parent_code is None:
            if principal.org_unit is not None:
                raise Forbidden("unit akar hanya boleh dibuat tanpa batas unit")
        else:
            parent = await self.store.unit(parent_code)
            if parent is None:
                raise RuleViolation("parent_code", f"unit induk {parent_code} tidak ditemukan")
            principal.check_access(parent.code, parent.path)
        unit, created = new_unit(code, name, kind, parent, self.clock.now())
        if not await self.store.insert_unit(unit, created):
            raise Conflict(f"unit organisasi {code} sudah ada")
        return unit

    async def rename_org_unit(self, principal: Principal, code: str, name: str) -> Document:
        principal.check_role(*UNIT_WRITERS)
        current = await self._unit_document(code)
        principal.check_access(current["_id"], current["path"])
        renamed = unit_rename(current, name, self.clock.now())
        if renamed is None:
            return current
        update, event = renamed
        unit = await self.store.update_unit(code, current["version"], update, event)
        if unit is None:
            raise Conflict(f"unit organisasi {code} sedang diubah proses lain; coba lagi")
        return unit

    async def org_unit(self, principal: Principal, code: str) -> tuple[Document, list[Document]]:
        """The unit and its direct children. Every role may read the tree."""
        principal.check_role(*UNIT_READERS)
        return await self._unit_document(code), await self.store.children(code)

    async def _unit_document(self, code: str) -> Document:
        unit = await self.store.unit_document(code)
        if unit is None:
            raise UnitNotFound(code)
        return unit

    async def _unit(self, code: str) -> UnitRef:
        unit = await self.store.unit(code)
        if unit is None:
            raise UnitNotFound(code)
        return unit

    # ------------------------------------------------------------ employees

    def _today(self) -> dt.date:
        return local_date(self.clock.now())

    def _employee_input(self, data: object) -> EmployeeInput:
        try:
            return EmployeeInput.model_validate(data, context={"today": self._today()})
        except ValidationError as exc:
            raise InvalidInput(field_errors(exc.errors())) from None

    async def _visible_employee(self, principal: Principal, employee_id: str) -> Document:
        employee = await self.store.employee(employee_id)
        if employee is None:
            raise EmployeeNotFound(employee_id)
        # Compared on the registry id, which every employee has (a non-ASN has no NIP): a token
        # without an employee id sees nobody.
        if principal.role is Role.EMPLOYEE and (
            principal.employee_id is None or principal.employee_id != employee["_id"]
        ):
            raise Forbidden("pegawai hanya boleh melihat datanya sendiri")
        principal.check_access(employee["org_unit_code"], employee["org_unit_path"])
        return employee

    async def _apply(self, change: EmployeeChange) -> Document:
        employee = await self.store.apply_change(change)
        if employee is None:
            raise Conflict(f"pegawai {change.employee_id} sedang diubah proses lain; coba lagi")
        return employee

    async def register_employee(self, principal: Principal, data: object) -> Document:
        """`data` is the request's JSON as sent: NIPs are checked against the clock's today."""
        principal.check_role(*EMPLOYEE_WRITERS)
        employee = self._employee_input(data)
        unit = await self.store.unit(employee.org_unit_code)
        if unit is None:
            raise RuleViolation("org_unit_code", str(UnitNotFound(employee.org_unit_code)))
        principal.check_access(unit.code, unit.path)
        level_fits_unit(employee.level, unit.kind)
        employee_id = self.vault.employee_id(employee)
        await self._check_seat(employee.leader_office, employee_id, unit.code)
        record, registered = new_employee(
            employee,
            employee_id,
            unit,
            self.vault.sealed(employee.nik),
            principal.subject,
            self.clock.now(),
        )
        if not await self.store.insert_employee(record, registered):
            what = f"NIP {employee.nip}" if employee.nip else "NIK ini"
            raise Conflict(f"pegawai dengan {what} sudah terdaftar")
        return record

    async def list_employees(
        self,
        principal: Principal,
        unit_code: str,
        include_descendants: bool,
        active: bool | None,
        page: int,
        page_size: int,
    ) -> tuple[list[Document], int]:
        principal.check_role(*EMPLOYEE_LISTERS)
        unit = await self._unit(unit_code)
        principal.check_access(unit.code, unit.path)
        return await self.store.list_employees(unit_code, include_descendants, active, page, page_size)

    async def employee(self, principal: Principal, employee_id: str) -> tuple[Document, list[Document]]:
        """The employee and their history, oldest first."""
        principal.check_role(*EMPLOYEE_READERS)
        employee = await self._visible_employee(principal, employee_id)
        return employee, await self.store.employee_history(employee_id)

    async def update_employee(
        self, principal: Principal, employee_id: str, patch: dict[str, Any]
    ) -> tuple[Document, list[str]]:
        """The employee after `patch`, and the fields that changed (none: nothing written)."""
        principal.check_role(*EMPLOYEE_WRITERS)
        current = await self._visible_employee(principal, employee_id)
        if not patch:
            raise InvalidInput.one(None, "tidak ada kolom yang diubah")
        check_changeable(current)
        revised = self._employee_input(revised_input(current, self.vault.opened(current), patch))
        unit = await self._unit(current["org_unit_code"])
        change = employee_update(current, revised, unit.kind, principal.subject, self.clock.now())
        if change is None:
            return current, []
        if "leader_office" in change.changed:
            await self._check_seat(revised.leader_office, employee_id, unit.code)
        return await self._apply(change), change.changed

    async def _check_seat(self, office: LeaderOffice | None, employee_id: str, unit_code: str) -> None:
        """A pemda leader's seat must be free: only that seat at that pemda is looked up."""
        if office is not None:
            check_leader_seat(office, employee_id, unit_code, await self.store.leaders_of([unit_code]))

    async def transfer_employee(
        self,
        principal: Principal,
        employee_id: str,
        to_unit_code: str,
        reason: str,
        effective_date: dt.date | None,
        position: str | None,
        level: Level | None,
        leader_office: LeaderOffice | None = None,
    ) -> Document:
        """Without `effective_date`, the move counts from today."""
        principal.check_role(*EMPLOYEE_WRITERS)
        current = await self._visible_employee(principal, employee_id)
        check_transferable(current, to_unit_code)
        unit = await self._unit(to_unit_code)
        principal.check_access(unit.code, unit.path)
        change = employee_transfer(
            current,
            unit,
            reason,
            effective_date or self._today(),
            position,
            level,
            principal.subject,
            self.clock.now(),
            leader_office,
        )
        office = change.update.get("leader_office", current.get("leader_office"))
        await self._check_seat(None if office is None else LeaderOffice(office), employee_id, unit.code)
        return await self._apply(change)

    async def deactivate_employee(
        self,
        principal: Principal,
        employee_id: str,
        reason: DeactivationReason,
        note: str | None,
        effective_date: dt.date | None,
    ) -> Document:
        """Without `effective_date`, the deactivation counts from today."""
        principal.check_role(*EMPLOYEE_WRITERS)
        current = await self._visible_employee(principal, employee_id)
        change = employee_deactivation(
            current, reason, note, effective_date or self._today(), principal.subject, self.clock.now()
        )
        return await self._apply(change)

    # ------------------------------------------------------------ imports

    async def start_import(self, principal: Principal, data: bytes, filename: str) -> ImportStarted:
        """Queue a CSV for the import worker; its rows are checked there, the file as a whole here."""
        principal.check_role(*IMPORTERS)
        try:
            # Decoding and sniffing a file of many MB takes a while: off the event loop.
            layout, total = await asyncio.to_thread(sniffed, data)
        except CsvFileError as exc:
            raise InvalidInput.one("file", str(exc)) from None
        if total == 0:
            raise InvalidInput.one("file", "file CSV hanya berisi header, tanpa baris data")
        import_id = await self.store.create_import(
            data, filename, total, principal.subject, principal.role.value, principal.org_unit
        )
        self.import_queued()
        return ImportStarted(import_id, total, layout.ignored)

    async def _visible_import(self, principal: Principal, import_id: str) -> Document:
        principal.check_role(*IMPORTERS)
        job = await self.store.import_job(import_id)
        if job is None:
            raise NotFound(f"impor {import_id} tidak ditemukan")
        if job.get("scope") != principal.org_unit and principal.org_unit is not None:
            raise Forbidden("impor ini milik unit lain")
        return job

    async def import_status(
        self, principal: Principal, import_id: str, errors_skip: int, errors_limit: int
    ) -> ImportStatus:
        job = await self._visible_import(principal, import_id)
        errors = await self.store.import_errors_page(import_id, errors_skip, errors_limit)
        return ImportStatus(job, await self.store.import_progress(import_id), errors)

    async def import_error_count(self, principal: Principal, import_id: str) -> int:
        """How many errors the import's report holds (a row can have several)."""
        await self._visible_import(principal, import_id)
        return await self.store.import_error_count(import_id)

    async def import_error_report(
        self, principal: Principal, import_id: str
    ) -> tuple[Document, AsyncIterator[Document]]:
        """The import and all its errors, read as they are sent (a report can be long)."""
        job = await self._visible_import(principal, import_id)
        return job, self.store.all_import_errors(import_id)

    async def recent_imports(self, principal: Principal, limit: int) -> list[ImportSummary]:
        """The latest imports the caller may see, newest first: those made within the caller's
        unit (as `import_status` allows), every one for a platform-wide caller."""
        principal.check_role(*IMPORTERS)
        jobs = await self.store.recent_imports(principal.org_unit, principal.org_unit is None, limit)
        progress = await self.store.imports_progress([job["_id"] for job in jobs])
        return [ImportSummary(job, progress[job["_id"]]) for job in jobs]
