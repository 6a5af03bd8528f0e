"""The signing service's pages: an employee signs the pact on a phone and keeps the receipt,
anyone verifies a receipt, and BKPSDM and OPD admins watch the progress live, see who is
missing, export them and record ceremony signatures.

Thin like the JSON API: every page calls the same SigningUseCases, which check the role and
the scope; the page only reads the form, picks the template and says the outcome in words.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import segno
from fastapi import Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from markupsafe import Markup
from starlette.datastructures import FormData

from services.kit.errors import Forbidden, InvalidInput, NotFound
from services.kit.identity import Principal
from services.kit.indonesian_dates import long_time
from services.signing.api import UseCases
from services.signing.domain import IN_PERSON, LEVEL_LABEL, ONLINE, ZONE_ABBREVIATION, Refused
from services.signing.usecases import (
    CEREMONY_RECORDERS,
    MONITORS,
    OPD_HEAD_TITLE,
    SIGNERS,
    SigningUseCases,
    WaitedLeader,
)
from services.webkit import Pages, PagesDep, checked_form, page_principal, page_router

router = page_router()

Employee = Annotated[Principal, Depends(page_principal(*SIGNERS))]
Monitor = Annotated[Principal, Depends(page_principal(*MONITORS))]
Form = Annotated[FormData, Depends(checked_form)]

MISSING_PAGE_SIZE = 25
CHART_HOURS = 24
POLL_SECONDS = 2.0
"""How often a live progress stream looks whether signatures were chained (a cached read)."""
STREAM_SECONDS = 300.0
"""A stream ends after this; the browser's EventSource reconnects on its own (`retry`), so a
proxy's idle timeout or a replica's rollout never leaves a page stuck."""
KEEPALIVE_SECONDS = 20.0
FLASH = "kilas_penandatanganan"
"""The session entry carrying a message to the next page after a form's redirect."""
CONSENT_FIELD = "persetujuan"
CEREMONY_FIELD = "hadir"

MODE_LABEL = {ONLINE: "daring (melalui ponsel atau komputer)", IN_PERSON: "langsung (upacara)"}
STAGE_LABEL = {
    "pending": "menunggu urutan rantai (biasanya kurang dari semenit)",
    "chained": "sudah masuk rantai tanda terima",
}


# ---------------------------------------------------------------- helpers


def local_time(moment: dt.datetime | str, timezone: str) -> str:
    """'2 Desember 2026 pukul 09.24 WIB': a moment as the pemda reads it."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:  # BSON dates come back naive, in UTC
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(ZoneInfo(timezone))
    zone = ZONE_ABBREVIATION.get(timezone, timezone)
    return long_time(local, zone)


def _client(request: Request) -> dict[str, Any]:
    return {
        "ip": request.client.host if request.client else None,
        "user_agent": request.headers.get("user-agent", "")[:300],
    }


def _flash(request: Request, message: str, kind: str = "info") -> None:
    request.session[FLASH] = {"message": message, "kind": kind}


def _take_flash(request: Request) -> dict[str, str] | None:
    if "session" not in request.scope:
        return None
    value = request.session.pop(FLASH, None)
    return value if isinstance(value, dict) else None


def _verification_link(pages: Pages, code: str) -> str:
    return f"{pages.settings.web_links.signing}/verifikasi/{quote(code)}"


def qr_svg(link: str) -> Markup:
    """The link as a QR code, inline SVG with one path (a few KB), drawn dark on light for any
    phone camera; medium error correction survives a scratched printout."""
    qr = segno.make(link, error="m")
    svg = qr.svg_inline(scale=4, border=2, dark="#000", light="#fff", omitsize=True)
    labelled = svg.replace("<svg ", '<svg role="img" aria-label="Kode QR tautan verifikasi" ', 1)
    # segno's own markup; the link inside it is escaped by segno.
    return Markup(labelled)


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    count: int
    label: str
    """The hour's local time, '09'."""
    title: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    peak: int
    total: int
    first: str
    last: str


def hourly_chart(
    hours: Sequence[tuple[dt.datetime, int]], timezone: str, now: dt.datetime, span: int = CHART_HOURS
) -> Chart:
    """The last `span` hours up to the latest signature (or now, if later), a bar each, empty
    hours included so that a quiet night shows as one."""
    counts = {moment: count for moment, count in hours}
    end = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    if counts:
        end = max(end, max(counts))
    slots = [end - dt.timedelta(hours=span - 1 - index) for index in range(span)]
    peak = max([counts.get(slot, 0) for slot in slots] + [1])
    bar_width, gap, plot_height = 12, 2, 80
    zone = ZoneInfo(timezone)
    bars = []
    for index, slot in enumerate(slots):
        count = counts.get(slot, 0)
        height = round(plot_height * count / peak) if count else 0
        local = slot.astimezone(zone)
        bars.append(
            Bar(
                x=index * (bar_width + gap),
                y=plot_height - height,
                height=height,
                count=count,
                label=f"{local:%H}",
                title=f"{local_time(slot, timezone)}: {count} tanda tangan",
            )
        )
    return Chart(
        bars=bars,
        width=span * (bar_width + gap),
        height=plot_height,
        peak=peak,
        total=sum(counts.get(slot, 0) for slot in slots),
        first=local_time(slots[0], timezone),
        last=local_time(slots[-1], timezone),
    )


def _page_number(value: int) -> int:
    return max(1, value)


def _progress_url(code: str, unit: str | None = None, **extra: object) -> str:
    query = {"unit": unit, **extra} if unit else dict(extra)
    filled = {key: value for key, value in query.items() if value is not None}
    return f"/kemajuan/{quote(code)}" + (f"?{urlencode(filled)}" if filled else "")


def _ceremony_url(code: str, unit: str, page: int) -> str:
    return f"/kemajuan/{quote(code)}/upacara?{urlencode({'unit': unit, 'halaman': page})}"


def waiting_heading(leaders: Sequence[WaitedLeader]) -> str:
    """ "kepala OPD Anda: Budi" or "Sekda: Ani; Pj kepala daerah: Joko": each office once. Any
    one of an OPD's heads is enough (domain._after_opd_head), so two on file read "A atau B";
    every leader of the pemda must sign, so offices are listed one after another."""
    by_title: dict[str, list[str]] = {}
    for leader in leaders:
        by_title.setdefault(leader.title, []).append(leader.name)
    return "; ".join(
        f"{title}: {(' atau ' if title == OPD_HEAD_TITLE else ' dan ').join(names)}"
        for title, names in by_title.items()
    )


def _level_label(level: str) -> str:
    return LEVEL_LABEL.get(level, level.lower())


# ---------------------------------------------------------------- employee: sign


@router.get("/tanda-tangan")
async def open_campaigns(
    request: Request, pages: PagesDep, usecases: UseCases, principal: Employee
) -> Response:
    campaigns = await usecases.open_campaigns_for(principal)
    return pages.render(
        request,
        "campaigns.html",
        {
            "campaigns": [
                {
                    "code": item.campaign["_id"],
                    "title": item.campaign["title"],
                    "election": item.campaign["election"],
                    "deadline": local_time(item.campaign["deadline"], usecases.timezone),
                    "signed": item.signed,
                }
                for item in campaigns
            ],
            "flash": _take_flash(request),
        },
    )


async def _sign_page(
    request: Request,
    pages: Pages,
    usecases: SigningUseCases,
    principal: Principal,
    code: str,
    consent_missing: bool = False,
    status_code: int = 200,
) -> Response:
    chance = await usecases.signing_chance(principal, code)
    if chance.receipt is not None:
        return pages.redirect(f"/kuitansi/{quote(chance.receipt['code'])}")
    campaign = chance.campaign
    return pages.render(
        request,
        "sign.html",
        {
            "campaign": {
                "code": campaign["_id"],
                "title": campaign["title"],
                "election": campaign["election"],
                "deadline": local_time(campaign["deadline"], usecases.timezone),
                "pact_text": campaign["pact_text"],
                "pact_version": campaign["pact_version"],
                "pact_sha256": campaign["pact_sha256"],
            },
            "refusal": chance.refusal,
            "waiting_for": waiting_heading(chance.waiting_for),
            "consent_missing": consent_missing,
            "consent_field": CONSENT_FIELD,
        },
        status_code=status_code,
    )


@router.get("/tanda-tangan/{code}")
async def sign_page(
    code: str, request: Request, pages: PagesDep, usecases: UseCases, principal: Employee
) -> Response:
    return await _sign_page(request, pages, usecases, principal, code)


@router.post("/tanda-tangan/{code}")
async def sign(
    code: str, request: Request, form: Form, pages: PagesDep, usecases: UseCases, principal: Employee
) -> Response:
    if form.get(CONSENT_FIELD) != "ya":
        return await _sign_page(
            request, pages, usecases, principal, code, consent_missing=True, status_code=422
        )
    try:
        result = await usecases.sign(principal, code, ONLINE, _client(request))
    except Refused:
        # The cascade closed meanwhile (or the campaign did): the page says why and whom for.
        return await _sign_page(request, pages, usecases, principal, code, status_code=409)
    if result.created:
        _flash(request, "Terima kasih. Tanda tangan Anda sudah diterima.", "ok")
    else:
        _flash(request, "Anda sudah menandatangani pakta ini sebelumnya. Ini tanda terima Anda.")
    if result.warning:
        _flash(request, f"Tanda tangan Anda diterima. {result.warning}", "warning")
    return pages.redirect(f"/kuitansi/{quote(result.receipt['code'])}")


# ---------------------------------------------------------------- employee: receipt


def _receipt_document(
    receipt: Mapping[str, Any], valid: bool, stage: str, problems: Sequence[str]
) -> dict[str, Any]:
    """The document of GET /v1/receipts/{code}, byte for byte the same fields."""
    return {"receipt": dict(receipt), "valid": valid, "stage": stage, "problems": list(problems)}


@router.get("/kuitansi/{code}.json")
async def receipt_json(code: str, usecases: UseCases, principal: Employee) -> Response:
    verdict = await usecases.own_receipt(principal, code)
    document = _receipt_document(
        verdict.receipt, verdict.check.valid, verdict.check.stage, verdict.check.problems
    )
    filename = f"tanda-terima-{verdict.receipt['code']}.json"
    return JSONResponse(
        document,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.get("/kuitansi/{code}")
async def receipt_page(
    code: str, request: Request, pages: PagesDep, usecases: UseCases, principal: Employee
) -> Response:
    verdict = await usecases.own_receipt(principal, code)
    receipt = verdict.receipt
    campaign = await usecases.campaign(principal, receipt["campaign"])
    link = _verification_link(pages, receipt["code"])
    return pages.render(
        request,
        "receipt.html",
        {
            "receipt": receipt,
            "campaign_title": campaign["title"],
            "signed_at": local_time(receipt["signed_at"], usecases.timezone),
            "mode": MODE_LABEL.get(receipt["mode"], receipt["mode"]),
            "stage": STAGE_LABEL.get(verdict.check.stage, verdict.check.stage),
            "chained": verdict.check.stage == "chained",
            "valid": verdict.check.valid,
            "verification_link": link,
            "qr": qr_svg(link),
            "keys_link": f"{pages.settings.web_links.signing}/v1/keys",
            "flash": _take_flash(request),
        },
    )


# ---------------------------------------------------------------- public: verify


@router.get("/verifikasi")
async def verification_form(request: Request, pages: PagesDep, kode: str | None = None) -> Response:
    """A plain GET form: the code typed in lands on the code's own page, like the QR link."""
    if kode and kode.strip():
        return pages.redirect(f"/verifikasi/{quote(kode.strip(), safe='')}")
    return pages.render(request, "verify.html", {"code": "", "verdict": None})


@router.get("/verifikasi/{code}")
async def verification_page(code: str, request: Request, pages: PagesDep, usecases: UseCases) -> Response:
    try:
        verdict = await usecases.verify_receipt(code)
    except NotFound:
        return pages.render(
            request, "verify.html", {"code": code, "verdict": None, "unknown": True}, status_code=404
        )
    except InvalidInput as invalid:
        message = "; ".join(str(error.get("message")) for error in invalid.errors)
        return pages.render(
            request, "verify.html", {"code": code, "verdict": None, "malformed": message}, status_code=422
        )
    receipt = verdict.receipt
    checkpoint = await usecases.latest_checkpoint(receipt["campaign"])
    index = receipt.get("chain_index")
    covered = checkpoint is not None and isinstance(index, int) and index < int(checkpoint["chain_length"])
    return pages.render(
        request,
        "verify.html",
        {
            "code": receipt["code"],
            "verdict": {
                "valid": verdict.check.valid,
                "stage": STAGE_LABEL.get(verdict.check.stage, verdict.check.stage),
                "chained": verdict.check.stage == "chained",
                "problems": list(verdict.check.problems),
                "campaign": receipt["campaign"],
                "signed_at": local_time(receipt["signed_at"], usecases.timezone),
                "mode": MODE_LABEL.get(receipt["mode"], receipt["mode"]),
                # Shown 1-based: "the 12th receipt of the chain".
                "position": index + 1 if isinstance(index, int) else None,
                "hash": receipt.get("hash"),
                "pact_sha256": receipt["pact_sha256"],
            },
            "checkpoint": None
            if checkpoint is None
            else {
                "length": checkpoint["chain_length"],
                "head_hash": checkpoint["head_hash"],
                "at": local_time(checkpoint["at"], usecases.timezone),
                "final": bool(checkpoint.get("final")),
                "covered": covered,
            },
            "keys_link": f"{pages.settings.web_links.signing}/v1/keys",
        },
    )


# ---------------------------------------------------------------- admins: progress


@router.get("/kemajuan")
async def progress_campaigns(
    request: Request, pages: PagesDep, usecases: UseCases, principal: Monitor
) -> Response:
    campaigns = await usecases.open_campaigns(principal)
    return pages.render(
        request,
        "progress_campaigns.html",
        {
            "campaigns": [
                {
                    "title": doc["title"],
                    "deadline": local_time(doc["deadline"], usecases.timezone),
                    "url": _progress_url(doc["_id"], principal.org_unit),
                }
                for doc in campaigns
            ]
        },
    )


def _start_unit(principal: Principal, campaign: Mapping[str, Any], unit: str | None) -> str:
    """The unit asked for, else the admin's own unit, else (platform reach) the campaign's first."""
    return unit or principal.org_unit or str(campaign["scope"][0])


def _progress_view(code: str, progress: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **progress,
        "missing": progress["expected"] - progress["signed"],
        "children": [
            {
                **child,
                "name": child["name"] or child["org_unit"],
                "url": _progress_url(code, child["org_unit"]),
                "missing": child["expected"] - child["signed"],
            }
            for child in progress["children"]
        ],
    }


@router.get("/kemajuan/{code}")
async def progress_page(
    code: str,
    request: Request,
    pages: PagesDep,
    usecases: UseCases,
    principal: Monitor,
    unit: Annotated[str | None, Query(max_length=64)] = None,
    halaman: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    campaign = await usecases.campaign(principal, code)
    unit_code = _start_unit(principal, campaign, unit)
    progress = await usecases.progress(principal, code, unit_code)
    trail = await usecases.unit_trail(principal, unit_code)
    hours = await usecases.signatures_per_hour(principal, code, unit_code)
    page = _page_number(halaman)
    missing, total = await usecases.unsigned(principal, code, unit_code, page, MISSING_PAGE_SIZE)
    pages_count = max(1, -(-total // MISSING_PAGE_SIZE))
    query = urlencode({"unit": unit_code})
    return pages.render(
        request,
        "progress.html",
        {
            "campaign": {"code": code, "title": campaign["title"], "status": campaign["status"]},
            "progress": _progress_view(code, progress),
            "trail": [{"code": c, "name": n, "url": _progress_url(code, c)} for c, n in trail],
            "chart": hourly_chart(hours, usecases.timezone, usecases.clock.now()),
            "missing": [
                {
                    "employee_id": doc["_id"],
                    "nip": doc.get("nip") or "-",
                    "name": doc["name"],
                    "level": _level_label(doc["level"]),
                    "org_unit": doc["org_unit_code"],
                }
                for doc in missing
            ],
            "missing_total": total,
            "page": page,
            "pages_count": pages_count,
            "previous_url": _progress_url(code, unit_code, halaman=page - 1) if page > 1 else None,
            "next_url": _progress_url(code, unit_code, halaman=page + 1) if page < pages_count else None,
            "stream_url": f"/kemajuan/{quote(code)}/aliran?{query}",
            "csv_url": f"/kemajuan/{quote(code)}/belum.csv?{query}",
            "ceremony_url": _ceremony_url(code, unit_code, page),
            "may_record": principal.role in CEREMONY_RECORDERS and campaign["status"] == "open",
            "ceremony_field": CEREMONY_FIELD,
            "flash": _take_flash(request),
        },
    )


def sse_event(event: str, html: str) -> str:
    """One server-sent event: every line of the fragment its own `data:` line."""
    lines = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


@dataclass
class _Counted:
    version: int
    progress: dict[str, Any]


class ProgressCounts:
    """The last count of each (campaign, unit), shared by every stream of this process: a
    hundred heads watching one pemda cost one count per change, not a hundred."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], _Counted] = {}

    async def get(
        self, usecases: SigningUseCases, principal: Principal, code: str, unit: str
    ) -> dict[str, Any]:
        version = await usecases.progress_version(code)
        known = self._counts.get((code, unit))
        if known is not None and known.version == version:
            return known.progress
        # The use case again, scope and all: a count is only ever made for someone allowed it.
        progress = await usecases.progress(principal, code, unit)
        if len(self._counts) > 1000:  # units of finished campaigns are not kept forever
            self._counts.clear()
        self._counts[(code, unit)] = _Counted(version, progress)
        return progress


PROGRESS_COUNTS = ProgressCounts()


@router.get("/kemajuan/{code}/aliran")
async def progress_stream(
    code: str,
    request: Request,
    pages: PagesDep,
    usecases: UseCases,
    principal: Monitor,
    unit: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Server-sent events for the htmx SSE extension: the progress fragment at once, then again
    whenever the count changes. Access is checked here, before the stream starts, so that a
    refusal is a page and not a broken stream."""
    campaign = await usecases.campaign(principal, code)
    unit_code = _start_unit(principal, campaign, unit)
    first = await usecases.progress(principal, code, unit_code)
    fragment = pages.environment.get_template("_progress_counts.html")

    def render(progress: Mapping[str, Any]) -> str:
        return fragment.render({"progress": _progress_view(code, progress)})

    async def events() -> AsyncIterator[str]:
        yield f"retry: {int(POLL_SECONDS * 1000)}\n\n"
        shown = render(first)
        yield sse_event("kemajuan", shown)
        began = last_sent = time.monotonic()
        while time.monotonic() - began < STREAM_SECONDS:
            await asyncio.sleep(POLL_SECONDS)
            if await request.is_disconnected():
                return
            html = render(await PROGRESS_COUNTS.get(usecases, principal, code, unit_code))
            if html != shown:
                shown = html
                last_sent = time.monotonic()
                yield sse_event("kemajuan", html)
            elif time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
                last_sent = time.monotonic()
                yield ": masih tersambung\n\n"  # a comment: keeps proxies from closing an idle stream

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


CSV_HEADER = ("NIP", "ID pegawai", "Nama", "Jenjang jabatan", "Kode unit")


@router.get("/kemajuan/{code}/belum.csv")
async def missing_csv(
    code: str,
    usecases: UseCases,
    principal: Monitor,
    unit: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Everyone not yet signed in the unit's subtree, streamed a thousand at a time (a whole
    province is several hundred thousand rows). Opens in a spreadsheet: UTF-8 with a BOM."""
    campaign = await usecases.campaign(principal, code)
    unit_code = _start_unit(principal, campaign, unit)
    batches = await usecases.unsigned_export(principal, code, unit_code)

    async def rows() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_HEADER)
        yield "\ufeff" + buffer.getvalue()
        async for people in batches:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for person in people:
                writer.writerow(
                    (
                        # A leading apostrophe would show; a NIP is text, so it is quoted as text.
                        person.get("nip") or "",
                        person["_id"],
                        _spreadsheet_safe(person["name"]),
                        _level_label(person["level"]),
                        person["org_unit_code"],
                    )
                )
            yield buffer.getvalue()

    filename = f"belum-tanda-tangan-{code}-{unit_code}.csv"
    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet would run as a formula ("=HYPERLINK(...)") is kept as text."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.post("/kemajuan/{code}/upacara")
async def record_ceremony(
    code: str,
    request: Request,
    form: Form,
    pages: PagesDep,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(page_principal(*CEREMONY_RECORDERS))],
    unit: Annotated[str | None, Query(max_length=64)] = None,
    halaman: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """An OPD admin ticks the people who signed in front of them, each having consented; each
    is recorded by the ceremony use case, which checks they are in the admin's OPD."""
    chosen = [str(value) for value in form.getlist(CEREMONY_FIELD) if str(value)]
    back = _progress_url(code, unit, halaman=halaman)
    if not chosen:
        _flash(
            request, "Belum ada yang dicentang. Centang pegawai yang hadir dan menyetujui pakta.", "warning"
        )
        return pages.redirect(back)
    recorded, refused = 0, []
    for employee_id in dict.fromkeys(chosen):  # each once, in the order ticked
        try:
            result = await usecases.record_ceremony_signature(
                principal, code, employee_id, IN_PERSON, _client(request)
            )
        except (Refused, NotFound, InvalidInput, Forbidden) as exc:
            refused.append(f"{employee_id}: {getattr(exc, 'message', None) or exc}")
            continue
        recorded += 1 if result.created else 0
    message = f"{recorded} tanda tangan upacara dicatat."
    if refused:
        message += " Belum dapat dicatat: " + "; ".join(refused)
    _flash(request, message, "warning" if refused else "ok")
    return pages.redirect(back)
