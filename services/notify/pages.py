"""The notify service's pages (issue 14) for the agencies' and the platform's ops staff: agencies'
webhook subscriptions (create, with the signing secret shown once; delete after a confirmation;
replay since a date) and the delivery log.

Thin like the JSON API (`services.notify.api`): each route calls the same `NotifyUseCases`, which
checks the role and the owner once, and which masks every reporter's contact in the log.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from services.kit.errors import InvalidInput
from services.kit.identity import Principal
from services.kit.mongo import Document
from services.kit.pagination import MAX_PAGE
from services.kit.validation import field_errors
from services.notify.api import SubscriptionIn
from services.notify.domain import PUBLIC_EVENT_TYPES, ReplayLimited, format_datetime
from services.notify.usecases import LOG_READERS, SUBSCRIPTION_ADMINS, NotifyUseCases
from services.webkit import Pages, PagesDep, checked_form, page_principal, page_router

DELIVERIES_PER_PAGE = 50

EVENT_LABELS = {
    "pledge.checkpoint.v1": "Titik periksa rantai tanda tangan pakta integritas",
    "public.report.received.v1": "Laporan pelanggaran diterima",
    "public.report.verified.v1": "Laporan diverifikasi",
    "public.report.rejected.v1": "Laporan ditolak",
    "public.report.cases_merged.v1": "Kasus digabung",
    "public.report.split.v1": "Kasus dipisah",
    "public.report.subject_added.v1": "Terlapor ditambahkan ke kasus",
    "public.report.subject_assigned.v1": "Terlapor dicocokkan dengan data pegawai",
    "public.report.recommendation_issued.v1": "Rekomendasi diterbitkan",
    "public.report.sanction_imposed.v1": "Sanksi dijatuhkan (memuat NIP, untuk BKN)",
    "public.report.appeal_filed.v1": "Keberatan atau banding diajukan",
    "public.report.deadline_extended.v1": "Tenggat diperpanjang",
    "public.report.deadline_breached.v1": "Tenggat terlewati",
    "public.report.escalated.v1": "Kasus dieskalasi",
    "public.report.escalation_lifted.v1": "Eskalasi dicabut",
    "public.report.closed.v1": "Kasus ditutup",
}
"""Plain words for the public event catalogue; a type added later shows its code until named here."""

STATUS_LABELS = {
    "pending": "Menunggu dikirim",
    "sending": "Sedang dikirim",
    "sent": "Terkirim",
    "failed": "Gagal, akan dicoba lagi",
    "dead": "Gagal, tidak dicoba lagi",
    "in_doubt": "Belum pasti terkirim",
    "cancelled": "Dibatalkan",
}
AUDIENCE_LABELS = {
    "agency": "Instansi mitra (webhook)",
    "employee": "Pegawai",
    "opd_admin": "Admin OPD",
    "kepala_opd": "Kepala OPD",
    "bkpsdm": "BKPSDM",
    "ppk": "PPK",
    "gubernur": "Gubernur",
    "kemendagri": "Kemendagri",
    "reporter": "Pelapor",
}
CHANNEL_LABELS = {"email": "E-mail", "sms": "SMS", "webhook": "Webhook"}

SubscriptionAdmin = Annotated[Principal, Depends(page_principal(*SUBSCRIPTION_ADMINS))]
LogReader = Annotated[Principal, Depends(page_principal(*LOG_READERS))]
Form = Annotated[FormData, Depends(checked_form)]

router = page_router()


def _usecases(request: Request) -> NotifyUseCases:
    usecases: NotifyUseCases = request.app.state.notify_usecases
    return usecases


UseCases = Annotated[NotifyUseCases, Depends(_usecases)]


def event_label(event_type: str) -> str:
    return EVENT_LABELS.get(event_type, event_type)


def page_number(raw: str | None) -> int:
    """The `halaman` asked for; anything that is not a page number is the first page."""
    try:
        return max(1, min(int(raw or "1"), MAX_PAGE))
    except ValueError:
        return 1


def subscription_view(doc: Document, timezone: str) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "agency": doc["agency"],
        "url": doc["url"],
        "events": [{"type": name, "label": event_label(name)} for name in doc["event_types"]],
        "created_at": format_datetime(doc["created_at"], timezone),
    }


def catalogue(chosen: list[str]) -> list[dict[str, Any]]:
    return [
        {"type": name, "label": event_label(name), "checked": name in chosen} for name in PUBLIC_EVENT_TYPES
    ]


# ---------------------------------------------------------------- subscriptions


async def _subscriptions_page(
    request: Request,
    pages: Pages,
    usecases: NotifyUseCases,
    principal: Principal,
    entered: dict[str, Any] | None = None,
    invalid: InvalidInput | None = None,
    deleted: bool = False,
) -> HTMLResponse:
    timezone = usecases.templates.timezone
    context = {
        "subscriptions": [
            subscription_view(doc, timezone) for doc in await usecases.subscriptions(principal)
        ],
        "catalogue": catalogue((entered or {}).get("event_types", [])),
        "entered": {"agency": "", "url": "", **(entered or {})},
        "deleted": deleted,
    }
    if invalid is not None:
        return pages.render_invalid(request, "langganan.html", context, invalid)
    return pages.render(request, "langganan.html", context)


@router.get("/langganan")
async def subscriptions_page(
    request: Request, pages: PagesDep, usecases: UseCases, principal: SubscriptionAdmin, dihapus: str = ""
) -> HTMLResponse:
    return await _subscriptions_page(request, pages, usecases, principal, deleted=dihapus == "1")


@router.post("/langganan")
async def subscribe(
    request: Request, pages: PagesDep, usecases: UseCases, principal: SubscriptionAdmin, form: Form
) -> HTMLResponse:
    """The secret is on the answer to this POST only (not a redirect: nothing keeps it to show
    later); the kit's pages are never cached."""
    entered = {
        "agency": str(form.get("agency") or "").strip(),
        "url": str(form.get("url") or "").strip(),
        "event_types": [str(value) for value in form.getlist("event_types")],
    }
    try:
        body = SubscriptionIn.model_validate(entered)
    except ValidationError as exc:
        invalid = InvalidInput(field_errors(exc.errors()))
        return await _subscriptions_page(request, pages, usecases, principal, entered, invalid)
    try:
        doc, secret = await usecases.subscribe(principal, body.agency, body.event_types, body.url)
    except InvalidInput as exc:  # the URL's target is refused (not https, or not public)
        return await _subscriptions_page(request, pages, usecases, principal, entered, exc)
    return pages.render(
        request,
        "langganan_dibuat.html",
        {"subscription": subscription_view(doc, usecases.templates.timezone), "secret": secret},
    )


@router.get("/langganan/{subscription_id}/hapus")
async def confirm_unsubscribe(
    request: Request, subscription_id: str, pages: PagesDep, usecases: UseCases, principal: SubscriptionAdmin
) -> HTMLResponse:
    doc = await usecases.subscription(principal, subscription_id)
    context = {"subscription": subscription_view(doc, usecases.templates.timezone)}
    return pages.render(request, "langganan_hapus.html", context)


@router.post("/langganan/{subscription_id}/hapus")
async def unsubscribe(
    subscription_id: str, pages: PagesDep, usecases: UseCases, principal: SubscriptionAdmin, form: Form
) -> Response:
    await usecases.unsubscribe(principal, subscription_id)
    return pages.redirect("/langganan?dihapus=1")


# ---------------------------------------------------------------- replay


def replay_since(day: str, time_of_day: str, timezone: str) -> dt.datetime:
    """The moment a replay starts from: a date, and a time of day (midnight when left out), in
    the service's time zone."""
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        raise InvalidInput.one("sejak", "isi tanggal mulai, mis. 2029-01-01") from None
    try:
        moment = dt.time.fromisoformat(time_of_day) if time_of_day else dt.time(0, 0)
    except ValueError:
        raise InvalidInput.one("jam", "isi jam sebagai JJ:MM, mis. 08:00, atau kosongkan") from None
    return dt.datetime.combine(date, moment, ZoneInfo(timezone))


async def _replay_page(
    request: Request,
    pages: Pages,
    usecases: NotifyUseCases,
    principal: Principal,
    subscription_id: str,
    extra: dict[str, Any],
    status_code: int = 200,
    invalid: InvalidInput | None = None,
) -> HTMLResponse:
    doc = await usecases.subscription(principal, subscription_id)
    context = {
        "subscription": subscription_view(doc, usecases.templates.timezone),
        "entered": {"sejak": "", "jam": ""},
        "queued": None,
        "limited": None,
        "timezone": usecases.templates.timezone,
        **extra,
    }
    name = "langganan_ulang.html"
    if invalid is not None:
        return pages.render_invalid(request, name, context, invalid)
    return pages.render(request, name, context, status_code=status_code)


@router.get("/langganan/{subscription_id}/ulang")
async def replay_page(
    request: Request,
    subscription_id: str,
    pages: PagesDep,
    usecases: UseCases,
    principal: SubscriptionAdmin,
    antre: str = "",
) -> HTMLResponse:
    queued = int(antre) if antre.isdigit() else None
    return await _replay_page(request, pages, usecases, principal, subscription_id, {"queued": queued})


@router.post("/langganan/{subscription_id}/ulang", response_model=None)
async def replay(
    request: Request,
    subscription_id: str,
    pages: PagesDep,
    usecases: UseCases,
    principal: SubscriptionAdmin,
    form: Form,
) -> Response:
    entered = {"sejak": str(form.get("sejak") or "").strip(), "jam": str(form.get("jam") or "").strip()}
    try:
        since = replay_since(entered["sejak"], entered["jam"], usecases.templates.timezone)
        queued = await usecases.replay(principal, subscription_id, since)
    except InvalidInput as exc:
        return await _replay_page(
            request, pages, usecases, principal, subscription_id, {"entered": entered}, invalid=exc
        )
    except ReplayLimited as exc:
        extra = {"entered": entered, "limited": exc.retry_after}
        return await _replay_page(request, pages, usecases, principal, subscription_id, extra, 429)
    return pages.redirect(f"/langganan/{subscription_id}/ulang?antre={queued}")


# ---------------------------------------------------------------- the delivery log


def delivery_view(doc: Document, timezone: str) -> dict[str, Any]:
    """What a row of the log shows; the use case has already masked every reporter's contact."""
    status = doc["status"]
    return {
        "created_at": format_datetime(doc["created_at"], timezone),
        "sent_at": format_datetime(doc["sent_at"], timezone) if doc.get("sent_at") else None,
        "event": event_label(doc["event_type"]),
        "event_type": doc["event_type"],
        "channel": CHANNEL_LABELS.get(doc["channel"], doc["channel"]),
        "audience": AUDIENCE_LABELS.get(doc["audience"], doc["audience"]),
        "agency": doc.get("agency"),
        "recipient": doc["recipient"],
        "subject": doc.get("subject"),
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "attempts": doc.get("attempts", 0),
        "last_error": doc.get("last_error"),
    }


@router.get("/pengiriman")
async def delivery_log_page(
    request: Request,
    pages: PagesDep,
    usecases: UseCases,
    principal: LogReader,
    status: str = "",
    audience: str = "",
    agency: str = "",
    halaman: str | None = None,
) -> HTMLResponse:
    """Filters people cannot have meant (a status or an audience not on the list) are left out
    rather than answered with an error: the log is shown unfiltered on that point."""
    chosen = {
        "status": status if status in STATUS_LABELS else "",
        "audience": audience if audience in AUDIENCE_LABELS else "",
        "agency": agency.strip()[:64],
    }
    page = page_number(halaman)
    docs, total = await usecases.delivery_log(
        principal,
        chosen["status"] or None,
        chosen["audience"] or None,
        chosen["agency"] or None,
        page,
        DELIVERIES_PER_PAGE,
    )
    filters = {key: value for key, value in chosen.items() if value}
    page_count = max(1, (total + DELIVERIES_PER_PAGE - 1) // DELIVERIES_PER_PAGE)
    context = {
        "deliveries": [delivery_view(doc, usecases.templates.timezone) for doc in docs],
        "total": total,
        "page": page,
        "pages": page_count,
        "chosen": chosen,
        "statuses": list(STATUS_LABELS.items()),
        "audiences": list(AUDIENCE_LABELS.items()),
        "filtered": bool(filters),
        "previous_url": "/pengiriman?" + urlencode({**filters, "halaman": page - 1}) if page > 1 else None,
        "next_url": "/pengiriman?" + urlencode({**filters, "halaman": page + 1})
        if page < page_count
        else None,
    }
    return pages.render(request, "pengiriman.html", context)
