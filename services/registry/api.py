"""The registry's HTTP API: org units, employees and bulk imports. Each endpoint parses the
request, calls its use case (`services.registry.usecases`) and shapes the answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field

from services.kit.auth import require
from services.kit.errors import InvalidInput
from services.kit.identity import Principal
from services.kit.mongo import Document
from services.kit.openapi import error_responses, json_body
from services.kit.pagination import Page, page_response
from services.registry.domain import (
    Code,
    DeactivationReason,
    EmployeeInput,
    LeaderOffice,
    Level,
    Name,
    OrgUnitKind,
    employee_snapshot,
    unit_snapshot,
)
from services.registry.usecases import (
    EMPLOYEE_LISTERS,
    EMPLOYEE_READERS,
    EMPLOYEE_WRITERS,
    IMPORTERS,
    UNIT_READERS,
    UNIT_WRITERS,
    RegistryUseCases,
)

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
    leader_office: LeaderOffice | None = None


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    to_org_unit_code: Code
    reason: str = Field(min_length=3, max_length=500)
    effective_date: dt.date | None = None
    position: str | None = Field(default=None, min_length=1, max_length=200)
    level: Level | None = None
    leader_office: LeaderOffice | None = None
    """Needed when the move is onto level REGIONAL_HEAD; a move off it ends the office."""


class DeactivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: DeactivationReason
    note: str | None = Field(default=None, max_length=500)
    effective_date: dt.date | None = None


def _registry(request: Request) -> RegistryUseCases:
    registry: RegistryUseCases = request.app.state.registry
    return registry


def public_employee(employee: Document) -> dict[str, Any]:
    """The API's view of an employee: never the NIK, only whether one is on file."""
    view = employee_snapshot(employee).model_dump(mode="json")
    view["has_nik"] = "nik_encrypted" in employee
    view["deactivation"] = employee.get("deactivation")
    view["created_at"] = employee.get("created_at")
    view["updated_at"] = employee.get("updated_at")
    return view


Registry = Annotated[RegistryUseCases, Depends(_registry)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]

router = APIRouter(prefix="/v1")


# ---------------------------------------------------------------- org units


@router.post("/org-units", status_code=status.HTTP_201_CREATED, responses=error_responses(409))
async def create_org_unit(
    body: OrgUnitIn, registry: Registry, principal: Annotated[Principal, Depends(require(*UNIT_WRITERS))]
) -> dict[str, Any]:
    unit = await registry.create_org_unit(principal, body.code, body.name, body.kind, body.parent_code)
    return unit_snapshot(unit).model_dump(mode="json")


class OrgUnitPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Name


@router.patch("/org-units/{code}", responses=error_responses(404, 409))
async def rename_org_unit(
    code: str,
    body: OrgUnitPatch,
    registry: Registry,
    principal: Annotated[Principal, Depends(require(*UNIT_WRITERS))],
) -> dict[str, Any]:
    unit = await registry.rename_org_unit(principal, code, body.name)
    return unit_snapshot(unit).model_dump(mode="json")


@router.get("/org-units/{code}", responses=error_responses(404))
async def get_org_unit(
    code: str, registry: Registry, principal: Annotated[Principal, Depends(require(*UNIT_READERS))]
) -> dict[str, Any]:
    unit, children = await registry.org_unit(principal, code)
    view = unit_snapshot(unit).model_dump(mode="json")
    view["children"] = [unit_snapshot(child).model_dump(mode="json") for child in children]
    return view


# ---------------------------------------------------------------- employees


@router.post(
    "/employees",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
    openapi_extra=json_body(EmployeeInput),
)
async def create_employee(
    request: Request, registry: Registry, principal: Annotated[Principal, Depends(require(*EMPLOYEE_WRITERS))]
) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise InvalidInput.one(None, "badan permintaan harus JSON") from None
    return public_employee(await registry.register_employee(principal, data))


@router.get("/employees", responses=error_responses(404))
async def list_employees(
    registry: Registry,
    principal: Annotated[Principal, Depends(require(*EMPLOYEE_LISTERS))],
    org_unit: Annotated[str, Query(description="kode unit organisasi")],
    include_descendants: bool = False,
    active: bool | None = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> dict[str, Any]:
    employees, total = await registry.list_employees(
        principal, org_unit, include_descendants, active, page, page_size
    )
    return page_response([public_employee(employee) for employee in employees], page, page_size, total)


@router.get("/employees/{employee_id}", responses=error_responses(404))
async def get_employee(
    employee_id: str, registry: Registry, principal: Annotated[Principal, Depends(require(*EMPLOYEE_READERS))]
) -> dict[str, Any]:
    employee, history = await registry.employee(principal, employee_id)
    return {**public_employee(employee), "history": history}


@router.patch("/employees/{employee_id}", responses=error_responses(404, 409))
async def update_employee(
    employee_id: str,
    body: EmployeePatch,
    registry: Registry,
    principal: Annotated[Principal, Depends(require(*EMPLOYEE_WRITERS))],
) -> dict[str, Any]:
    employee, changed = await registry.update_employee(
        principal, employee_id, body.model_dump(exclude_unset=True)
    )
    return {**public_employee(employee), "changed": changed}


@router.post("/employees/{employee_id}/transfer", responses=error_responses(404, 409))
async def transfer_employee(
    employee_id: str,
    body: TransferIn,
    registry: Registry,
    principal: Annotated[Principal, Depends(require(*EMPLOYEE_WRITERS))],
) -> dict[str, Any]:
    employee = await registry.transfer_employee(
        principal,
        employee_id,
        body.to_org_unit_code,
        body.reason,
        body.effective_date,
        body.position,
        body.level,
        body.leader_office,
    )
    return public_employee(employee)


@router.post("/employees/{employee_id}/deactivate", responses=error_responses(404, 409))
async def deactivate_employee(
    employee_id: str,
    body: DeactivateIn,
    registry: Registry,
    principal: Annotated[Principal, Depends(require(*EMPLOYEE_WRITERS))],
) -> dict[str, Any]:
    employee = await registry.deactivate_employee(
        principal, employee_id, body.reason, body.note, body.effective_date
    )
    return public_employee(employee)


# ---------------------------------------------------------------- imports


@router.post("/imports", status_code=status.HTTP_202_ACCEPTED, responses=error_responses(413))
async def start_import(
    registry: Registry,
    principal: Annotated[Principal, Depends(require(*IMPORTERS))],
    file: Annotated[UploadFile, File(description="CSV pegawai (ekspor SIASN atau spreadsheet)")],
) -> dict[str, Any]:
    # The upload's size limit (MAX_IMPORT_BYTES) is the kit's, met while the body arrives: an
    # oversized file is answered 413 before it is read in full (services.registry.main).
    data = await file.read()
    started = await registry.start_import(principal, data, file.filename or "import.csv")
    return {
        "import_id": started.import_id,
        "total": started.total,
        "ignored_columns": started.ignored_columns,
        "status_url": f"/v1/imports/{started.import_id}",
    }


@router.get("/imports/{import_id}", responses=error_responses(404))
async def import_status(
    import_id: str,
    registry: Registry,
    principal: Annotated[Principal, Depends(require(*IMPORTERS))],
    errors_page: Page = 1,
) -> dict[str, Any]:
    state = await registry.import_status(
        principal, import_id, (errors_page - 1) * IMPORT_ERRORS_SHOWN, IMPORT_ERRORS_SHOWN
    )
    job, progress = state.job, state.progress
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
        "errors": state.errors,
        "errors_page": errors_page,
        "errors_page_size": IMPORT_ERRORS_SHOWN,
    }
