"""The registry's pages for importing employees (issue 14): upload a CSV, watch its progress,
read and download the per-row error report, and see the recent imports.

Thin like the JSON API (`services.registry.api`): each route calls the same `RegistryUseCases`
the API does, which checks the role and the unit once. The error report never holds a NIK: the
import masks it before it is stored (`services.registry.csvimport.RowError`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.datastructures import FormData, UploadFile

from services.kit.errors import InvalidInput
from services.kit.identity import Principal
from services.kit.indonesian_dates import long_time
from services.kit.mongo import Document
from services.kit.pagination import MAX_PAGE
from services.registry.usecases import IMPORTERS, ImportStatus, RegistryUseCases
from services.webkit import Pages, PagesDep, checked_form, page_principal, page_router

IMPORT_PAGE_PATH = "/impor"
"""The upload's path: registry main.py gives it the import's body limit (MAX_IMPORT_BYTES), as to
`/v1/imports`, since the kit's default limit is far smaller than an employee file."""
ERRORS_PER_PAGE = 50
CSV_ROWS_PER_CHUNK = 500
RECENT_IMPORTS = 20
POLL_STOPPED = 286
"""htmx stops polling an element when its fragment is answered with this status."""
FINISHED = ("completed", "failed")
STATUS_LABELS = {
    "queued": "Menunggu giliran",
    "running": "Sedang diproses",
    "completed": "Selesai",
    "failed": "Gagal",
}
COLUMN_LABELS = {
    "nip": "nip",
    "name": "nama",
    "employment_type": "jenis_pegawai",
    "position": "jabatan",
    "level": "level",
    "org_unit_code": "kode_unor",
    "supervisor_nip": "nip_atasan",
    "email": "email",
    "phone": "no_hp",
    "nik": "nik",
    "leader_office": "jabatan_pimpinan",
}
"""A column as the import's own header names it (services.registry.csvimport)."""
SPREADSHEET_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Importer = Annotated[Principal, Depends(page_principal(*IMPORTERS))]
Form = Annotated[FormData, Depends(checked_form)]

router = page_router()


def _registry(request: Request) -> RegistryUseCases:
    registry: RegistryUseCases = request.app.state.registry
    return registry


Registry = Annotated[RegistryUseCases, Depends(_registry)]


def shown_time(moment: dt.datetime | None) -> str:
    """'2 Desember 2026 pukul 09.30 WIB', in the service's time zone (as `domain.local_date`)."""
    if moment is None:
        return "-"
    local = moment.astimezone()
    return long_time(local, local.tzname())


def page_number(raw: str | None) -> int:
    """The `halaman` asked for; anything that is not a page number is the first page."""
    try:
        return max(1, min(int(raw or "1"), MAX_PAGE))
    except ValueError:
        return 1


def progress_view(job: Document, progress: dict[str, int]) -> dict[str, Any]:
    total = int(job["total"])
    processed = min(progress["processed"], total)
    return {
        "id": job["_id"],
        "filename": job["filename"],
        "status": job["status"],
        "status_label": STATUS_LABELS.get(job["status"], job["status"]),
        "finished": job["status"] in FINISHED,
        "message": job.get("message"),
        "total": total,
        "processed": processed,
        "percent": int(100 * processed / total) if total else 100,
        "created_at": shown_time(job.get("created_at")),
        "finished_at": shown_time(job.get("finished_at")),
        **{name: progress[name] for name in ("imported", "updated", "unchanged", "failed")},
    }


def column_label(column: str | None) -> str:
    return COLUMN_LABELS.get(column, column) if column else ""


def error_view(error: Document) -> dict[str, Any]:
    return {
        "line": error["line"],
        "column": column_label(error.get("column")) or "(seluruh baris)",
        "value": error.get("value") or "",
        "message": error["message"],
    }


async def _progress_context(
    registry: RegistryUseCases, principal: Principal, import_id: str, page: int
) -> dict[str, Any]:
    status: ImportStatus = await registry.import_status(
        principal, import_id, (page - 1) * ERRORS_PER_PAGE, ERRORS_PER_PAGE
    )
    error_total = await registry.import_error_count(principal, import_id)
    pages = max(1, (error_total + ERRORS_PER_PAGE - 1) // ERRORS_PER_PAGE)
    return {
        "job": progress_view(status.job, status.progress),
        "row_errors": [error_view(error) for error in status.errors],
        "error_total": error_total,
        "page": page,
        "pages": pages,
    }


@router.get(IMPORT_PAGE_PATH)
async def import_home(
    request: Request, pages: PagesDep, registry: Registry, principal: Importer
) -> HTMLResponse:
    return await _import_home(request, pages, registry, principal)


async def _import_home(
    request: Request,
    pages: Pages,
    registry: RegistryUseCases,
    principal: Principal,
    invalid: InvalidInput | None = None,
) -> HTMLResponse:
    recent = await registry.recent_imports(principal, RECENT_IMPORTS)
    context = {"imports": [progress_view(item.job, item.progress) for item in recent]}
    if invalid is not None:
        return pages.render_invalid(request, "impor.html", context, invalid)
    return pages.render(request, "impor.html", context)


@router.post(IMPORT_PAGE_PATH, response_model=None)
async def start_import(
    request: Request, pages: PagesDep, registry: Registry, principal: Importer, form: Form
) -> Response:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        missing = InvalidInput.one("file", "pilih file CSV pegawai terlebih dahulu")
        return await _import_home(request, pages, registry, principal, missing)
    data = await upload.read()
    try:
        started = await registry.start_import(principal, data, upload.filename)
    except InvalidInput as exc:
        # The file as a whole is unusable (empty, not CSV, missing columns): say so on the form.
        return await _import_home(request, pages, registry, principal, exc)
    return pages.redirect(f"{IMPORT_PAGE_PATH}/{started.import_id}")


@router.get(IMPORT_PAGE_PATH + "/{import_id}")
async def import_progress_page(
    request: Request,
    import_id: str,
    pages: PagesDep,
    registry: Registry,
    principal: Importer,
    halaman: str | None = None,
) -> HTMLResponse:
    context = await _progress_context(registry, principal, import_id, page_number(halaman))
    return pages.render(request, "impor_kemajuan.html", context)


@router.get(IMPORT_PAGE_PATH + "/{import_id}/kemajuan")
async def import_progress_fragment(
    request: Request,
    import_id: str,
    pages: PagesDep,
    registry: Registry,
    principal: Importer,
    halaman: str | None = None,
) -> HTMLResponse:
    """What the progress page polls every second; once the import is finished, answered with
    POLL_STOPPED so that the page stops asking."""
    context = await _progress_context(registry, principal, import_id, page_number(halaman))
    status_code = POLL_STOPPED if context["job"]["finished"] else 200
    return pages.render(request, "impor_kemajuan_isi.html", context, status_code=status_code)


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (the values come from the
    uploaded file)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(SPREADSHEET_FORMULA_STARTS) else text


@router.get(IMPORT_PAGE_PATH + "/{import_id}/kesalahan.csv")
async def import_errors_csv(import_id: str, registry: Registry, principal: Importer) -> StreamingResponse:
    """The whole error report, `;`-separated with a BOM as the import files are (so that a
    spreadsheet set to Indonesian opens it in columns)."""
    job, errors = await registry.import_error_report(principal, import_id)

    async def rows() -> AsyncIterator[bytes]:
        buffer = io.StringIO()
        buffer.write("\ufeff")
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(["baris", "kolom", "nilai", "pesan"])
        written = 0
        async for error in errors:
            writer.writerow(
                [
                    error["line"],
                    column_label(error.get("column")),
                    csv_cell(error.get("value")),
                    csv_cell(error["message"]),
                ]
            )
            written += 1
            if written % CSV_ROWS_PER_CHUNK == 0:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="kesalahan-{job["_id"]}.csv"',
            "Cache-Control": "no-store",
        },
    )
