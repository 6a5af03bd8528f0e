"""The registry's HTTP API: org units, employees and bulk imports."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.roles import Role
from services.kit.auth import require
from services.kit.errors import InvalidInput, NotFound
from services.kit.identity import Principal
from services.kit.pagination import Page, page_response
from services.kit.validation import field_errors
from services.registry.csvimport import CsvFileError, count_rows, decode, read_layout
from services.registry.domain import Code, EmployeeInput, Level, Name, OrgUnitKind, RuleViolation
from services.registry.importer import ImportWorker
from services.registry.store import (
    DeactivationReason,
    RegistryStore,
    UnitRef,
    public_employee,
    unit_snapshot,
)

# Who may do what (DESIGN.md, Roles). A token bound to an org unit acts only inside it.
UNIT_READERS = tuple(Role)
UNIT_WRITERS = (Role.BKPSDM,)
EMPLOYEE_READERS = (Role.BKPSDM, Role.OPD_ADMIN, Role.PPK, Role.INSPEKTORAT, Role.BKN, Role.EMPLOYEE)
EMPLOYEE_WRITERS = (Role.BKPSDM, Role.OPD_ADMIN)
IMPORTERS = (Role.BKPSDM, Role.OPD_ADMIN)

MAX_PAGE_SIZE = 500
IMPORT_ERRORS_SHOWN = 1000


class OrgUnitIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: Code
    name: Name
    kind: OrgUnitKind
    parent_code: Code | None = None


class EmployeePatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = None
    position: str | None = None
    level: Level | None = None
    supervisor_nip: str | None = None
    email: str | None = None
    phone: str | None = None


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    to_org_unit_code: Code
    reason: str = Field(min_length=3, max_length=500)
    effective_date: dt.date | None = None
    position: str | None = Field(default=None, min_length=1, max_length=200)
    level: Level | None = None


class DeactivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: DeactivationReason
    note: str | None = Field(default=None, max_length=500)
    effective_date: dt.date | None = None


def _store(request: Request) -> RegistryStore:
    store: RegistryStore = request.app.state.registry_store
    return store


def _rule_error(exc: RuleViolation) -> InvalidInput:
    return InvalidInput.one(exc.field, exc.message)


Store = Annotated[RegistryStore, Depends(_store)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]

router = APIRouter(prefix="/v1")


# ---------------------------------------------------------------- org units


@router.post("/org-units", status_code=status.HTTP_201_CREATED)
async def create_org_unit(
    body: OrgUnitIn, store: Store, principal: Annotated[Principal, Depends(require(*UNIT_WRITERS))]
) -> dict[str, Any]:
    if body.parent_code is None:
        if principal.org_unit is not None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "unit akar hanya boleh dibuat tanpa batas unit")
    else:
        try:
            parent = await store.unit(body.parent_code)
        except NotFound:
            raise _rule_error(
                RuleViolation("parent_code", f"unit induk {body.parent_code} tidak ditemukan")
            ) from None
        principal.check_access(parent.code, parent.path)
    try:
        doc = await store.create_unit(body.code, body.name, body.kind, body.parent_code)
    except RuleViolation as exc:
        raise _rule_error(exc) from None
    return unit_snapshot(doc).model_dump(mode="json")


class OrgUnitPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Name


@router.patch("/org-units/{code}")
async def rename_org_unit(
    code: str,
    body: OrgUnitPatch,
    store: Store,
    principal: Annotated[Principal, Depends(require(*UNIT_WRITERS))],
) -> dict[str, Any]:
    unit = await store.unit(code)
    principal.check_access(unit.code, unit.path)
    doc = await store.rename_unit(code, body.name)
    return unit_snapshot(doc).model_dump(mode="json")


@router.get("/org-units/{code}")
async def get_org_unit(
    code: str, store: Store, principal: Annotated[Principal, Depends(require(*UNIT_READERS))]
) -> dict[str, Any]:
    doc = await store.unit_document(code)
    view = unit_snapshot(doc).model_dump(mode="json")
    view["children"] = [unit_snapshot(child).model_dump(mode="json") for child in await store.children(code)]
    return view


# ---------------------------------------------------------------- employees


async def _visible_employee(store: RegistryStore, principal: Principal, employee_id: str) -> dict[str, Any]:
    doc = await store.employee(employee_id)
    if principal.role is Role.EMPLOYEE and principal.nip != doc.get("nip"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "pegawai hanya boleh melihat datanya sendiri")
    principal.check_access(doc["org_unit_code"], doc["org_unit_path"])
    return doc


@router.post("/employees", status_code=status.HTTP_201_CREATED)
async def create_employee(
    request: Request, store: Store, principal: Annotated[Principal, Depends(require(*EMPLOYEE_WRITERS))]
) -> dict[str, Any]:
    try:
        employee = EmployeeInput.model_validate(await request.json())
    except ValidationError as exc:
        raise InvalidInput(field_errors(exc.errors())) from None
    except ValueError:
        raise InvalidInput.one(None, "badan permintaan harus JSON") from None
    try:
        unit = await store.unit(employee.org_unit_code)
    except NotFound as exc:
        raise _rule_error(RuleViolation("org_unit_code", str(exc))) from None
    principal.check_access(unit.code, unit.path)
    try:
        doc = await store.create_employee(employee, principal.subject)
    except RuleViolation as exc:
        raise _rule_error(exc) from None
    return public_employee(doc)


@router.get("/employees")
async def list_employees(
    store: Store,
    principal: Annotated[
        Principal, Depends(require(*EMPLOYEE_WRITERS, Role.PPK, Role.INSPEKTORAT, Role.BKN))
    ],
    org_unit: Annotated[str, Query(description="kode unit organisasi")],
    include_descendants: bool = False,
    active: bool | None = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> dict[str, Any]:
    unit = await store.unit(org_unit)
    principal.check_access(unit.code, unit.path)
    docs, total = await store.list_employees(org_unit, include_descendants, active, page, page_size)
    return page_response([public_employee(doc) for doc in docs], page, page_size, total)


@router.get("/employees/{employee_id}")
async def get_employee(
    employee_id: str, store: Store, principal: Annotated[Principal, Depends(require(*EMPLOYEE_READERS))]
) -> dict[str, Any]:
    doc = await _visible_employee(store, principal, employee_id)
    view = public_employee(doc)
    view["history"] = await store.employee_history(employee_id)
    return view


@router.patch("/employees/{employee_id}")
async def update_employee(
    employee_id: str,
    body: EmployeePatch,
    store: Store,
    principal: Annotated[Principal, Depends(require(*EMPLOYEE_WRITERS))],
) -> dict[str, Any]:
    await _visible_employee(store, principal, employee_id)
    patch = body.model_dump(exclude_unset=True)
    if not patch:
        raise InvalidInput.one(None, "tidak ada kolom yang diubah")
    try:
        doc, changed = await store.update_employee(employee_id, patch, principal.subject)
    except ValidationError as exc:
        raise InvalidInput(field_errors(exc.errors())) from None
    except RuleViolation as exc:
        raise _rule_error(exc) from None
    return {**public_employee(doc), "changed": changed}


@router.post("/employees/{employee_id}/transfer")
async def transfer_employee(
    employee_id: str,
    body: TransferIn,
    store: Store,
    principal: Annotated[Principal, Depends(require(*EMPLOYEE_WRITERS))],
) -> dict[str, Any]:
    await _visible_employee(store, principal, employee_id)

    def may_enter(unit: UnitRef) -> None:
        principal.check_access(unit.code, unit.path)

    try:
        doc = await store.transfer_employee(
            employee_id,
            body.to_org_unit_code,
            body.reason,
            body.effective_date or dt.date.today(),
            body.position,
            body.level,
            may_enter,
            principal.subject,
        )
    except RuleViolation as exc:
        raise _rule_error(exc) from None
    return public_employee(doc)


@router.post("/employees/{employee_id}/deactivate")
async def deactivate_employee(
    employee_id: str,
    body: DeactivateIn,
    store: Store,
    principal: Annotated[Principal, Depends(require(*EMPLOYEE_WRITERS))],
) -> dict[str, Any]:
    await _visible_employee(store, principal, employee_id)
    doc = await store.deactivate_employee(
        employee_id, body.reason, body.note, body.effective_date or dt.date.today(), principal.subject
    )
    return public_employee(doc)


# ---------------------------------------------------------------- imports


@router.post("/imports", status_code=status.HTTP_202_ACCEPTED)
async def start_import(
    request: Request,
    store: Store,
    principal: Annotated[Principal, Depends(require(*IMPORTERS))],
    file: Annotated[UploadFile, File(description="CSV pegawai (ekspor SIASN atau spreadsheet)")],
) -> dict[str, Any]:
    limit: int = request.app.state.max_import_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"file lebih besar dari {limit // 1_000_000} MB"
        )
    text = decode(data)
    try:
        layout = read_layout(text)
    except CsvFileError as exc:
        raise InvalidInput.one("file", str(exc)) from None
    total = count_rows(text, layout)
    if total == 0:
        raise InvalidInput.one("file", "file CSV hanya berisi header, tanpa baris data")
    import_id = await store.create_import(
        data, file.filename or "import.csv", total, principal.subject, principal.org_unit
    )
    worker: ImportWorker = request.app.state.import_worker
    worker.notify()
    return {
        "import_id": import_id,
        "total": total,
        "ignored_columns": layout.ignored,
        "status_url": f"/v1/imports/{import_id}",
    }


@router.get("/imports/{import_id}")
async def import_status(
    import_id: str,
    store: Store,
    principal: Annotated[Principal, Depends(require(*IMPORTERS))],
    errors_page: Page = 1,
) -> dict[str, Any]:
    job = await store.import_job(import_id)
    if job.get("scope") != principal.org_unit and principal.org_unit is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "impor ini milik unit lain")
    errors = await store.import_errors_page(
        import_id, (errors_page - 1) * IMPORT_ERRORS_SHOWN, IMPORT_ERRORS_SHOWN
    )
    progress = await store.import_progress(import_id)
    total = int(job["total"])
    processed = progress["processed"]
    return {
        "import_id": import_id,
        "status": job["status"],
        "filename": job["filename"],
        "total": total,
        "processed": processed,
        "percent": round(100 * processed / total, 1) if total else 100.0,
        "imported": progress["imported"],
        "updated": progress["updated"],
        "unchanged": progress["unchanged"],
        "failed": progress["failed"],
        "message": job.get("message"),
        "created_at": job["created_at"],
        "finished_at": job.get("finished_at"),
        "errors": errors,
        "errors_page": errors_page,
        "errors_page_size": IMPORT_ERRORS_SHOWN,
    }
