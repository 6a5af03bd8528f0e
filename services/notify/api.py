"""The notify service's HTTP API: the delivery log, the contacts of roles and agencies'
subscriptions. It only translates HTTP to the use cases (services.notify.usecases) and back."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.kit.auth import require
from services.kit.identity import Principal
from services.kit.mongo import Document
from services.kit.openapi import error_responses
from services.kit.pagination import Page, page_response
from services.notify.domain import PUBLIC_EVENT_TYPES, ReplayLimited, not_public
from services.notify.usecases import CONTACT_ADMINS, LOG_READERS, SUBSCRIPTION_ADMINS, NotifyUseCases

MAX_PAGE_SIZE = 200
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PUBLIC_TYPES = list(PUBLIC_EVENT_TYPES)


class RoleContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    role: Literal["bkpsdm", "ppk", "opd_admin", "kepala_opd", "gubernur", "kemendagri"]
    org_unit: str | None = Field(default=None, min_length=1, max_length=64)
    """The unit served (and its subtree); the province's for `gubernur`; left out for `kemendagri`,
    whose one contact serves the whole platform."""
    email: str = Field(max_length=254, pattern=EMAIL)
    name: str = Field(min_length=2, max_length=200)


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    agency: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9\-_.]*$")
    event_types: list[str] = Field(min_length=1, max_length=50)
    url: str = Field(max_length=2000, pattern=r"^https?://\S+$")
    """Whether notify may send there (https, public addresses only) is the use case's to say."""

    @field_validator("event_types")
    @classmethod
    def _public_only(cls, value: list[str]) -> list[str]:
        unknown = not_public(value)
        if unknown:
            raise ValueError(
                "hanya peristiwa publik yang bisa dilanggan; tidak dikenal atau tidak publik: "
                + ", ".join(unknown)
            )
        return value


def _usecases(request: Request) -> NotifyUseCases:
    usecases: NotifyUseCases = request.app.state.notify_usecases
    return usecases


UseCases = Annotated[NotifyUseCases, Depends(_usecases)]
ContactAdmin = Annotated[Principal, Depends(require(*CONTACT_ADMINS))]
LogReader = Annotated[Principal, Depends(require(*LOG_READERS))]
SubscriptionAdmin = Annotated[Principal, Depends(require(*SUBSCRIPTION_ADMINS))]
router = APIRouter(prefix="/v1")


@router.put("/role-contacts")
async def set_role_contact(
    body: RoleContactIn, usecases: UseCases, principal: ContactAdmin
) -> dict[str, Any]:
    """Who receives a role's notices for a unit (and its subtree): BKPSDM and PPK per pemda,
    an admin and a head (`kepala_opd`, who decides on non-ASN staff) per OPD, the Governor per
    province (a regency or city Sekda's decider), and the Minister of Home Affairs (`kemendagri`, a
    provincial Sekda's) once for the platform, without `org_unit`."""
    return await usecases.set_role_contact(principal, body.role, body.org_unit, body.email, body.name)


@router.get("/role-contacts")
async def list_role_contacts(usecases: UseCases, principal: ContactAdmin) -> dict[str, Any]:
    return {"items": await usecases.role_contacts(principal)}


def _delivery_view(doc: Document) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "rule": doc["rule"],
        "event_type": doc["event_type"],
        "channel": doc["channel"],
        "audience": doc["audience"],
        "agency": doc.get("agency"),
        "recipient": doc["recipient"],
        "subject": doc["subject"],
        "status": doc["status"],
        "attempts": doc["attempts"],
        "last_error": doc.get("last_error"),
        "next_attempt_at": doc.get("next_attempt_at"),
        "created_at": doc["created_at"],
        "sent_at": doc.get("sent_at"),
    }


@router.get("/deliveries")
async def deliveries(
    usecases: UseCases,
    principal: LogReader,
    status: Literal["pending", "sending", "sent", "failed", "dead", "in_doubt", "cancelled"] | None = None,
    audience: str | None = Query(default=None, max_length=32),
    agency: str | None = Query(default=None, max_length=64),
    page: Page = 1,
    page_size: int = Query(default=50, ge=1, le=MAX_PAGE_SIZE),
) -> dict[str, Any]:
    """The delivery log: every message with its attempts and last error. A reporter's contact
    never appears here."""
    docs, total = await usecases.delivery_log(principal, status, audience, agency, page, page_size)
    return page_response([_delivery_view(doc) for doc in docs], page, page_size, total)


def _subscription_view(doc: Document) -> dict[str, Any]:
    return {k: doc[k] for k in ("agency", "event_types", "url", "created_at")} | {"id": doc["_id"]}


@router.post("/subscriptions", status_code=status.HTTP_201_CREATED)
async def subscribe(body: SubscriptionIn, usecases: UseCases, principal: SubscriptionAdmin) -> dict[str, Any]:
    """Register an agency's webhook. The signing secret is in this answer only: keep it."""
    doc, secret = await usecases.subscribe(principal, body.agency, body.event_types, body.url)
    return {
        **_subscription_view(doc),
        "secret": secret,
        "notice": "Simpan secret ini sekarang: ia tidak akan ditampilkan lagi.",
    }


@router.get("/subscriptions")
async def subscriptions(usecases: UseCases, principal: SubscriptionAdmin) -> dict[str, Any]:
    return {
        "items": [_subscription_view(doc) for doc in await usecases.subscriptions(principal)],
        "event_types": PUBLIC_TYPES,
    }


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404),
)
async def unsubscribe(subscription_id: str, usecases: UseCases, principal: SubscriptionAdmin) -> None:
    await usecases.unsubscribe(principal, subscription_id)


@router.post(
    "/subscriptions/{subscription_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(404, 429),
)
async def replay(
    subscription_id: str,
    usecases: UseCases,
    principal: SubscriptionAdmin,
    since: Annotated[
        dt.datetime, Query(description="ISO 8601 dengan zona waktu, mis. 2029-01-01T00:00+07:00")
    ],
) -> dict[str, Any]:
    """Send again every public event of the subscription's types since `since` (and since the
    subscription was made), a few times an hour at most."""
    count = await usecases.replay(principal, subscription_id, since)
    return {"subscription_id": subscription_id, "queued": count}


async def replay_limited(request: Request, exc: Exception) -> JSONResponse:
    """The app's answer to ReplayLimited (registered in services.notify.main): 429 with Retry-After."""
    if not isinstance(exc, ReplayLimited):
        raise exc
    return JSONResponse(
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        content={"detail": exc.message},
        headers={"Retry-After": str(exc.retry_after)},
    )
