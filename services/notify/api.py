"""The notify service's HTTP API: the delivery log and the contacts of roles."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.catalog import EVENT_TYPES
from contracts.roles import Role
from contracts.topics import CATALOG
from services.kit.auth import require
from services.kit.errors import InvalidInput
from services.kit.identity import Principal
from services.kit.pagination import Page, page_response
from services.notify.store import NotifyStore

LOG_READERS = (Role.BKPSDM, Role.BKN, Role.INSPEKTORAT)
CONTACT_ADMINS = (Role.BKPSDM,)
MAX_PAGE_SIZE = 200
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class RoleContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    role: Literal["bkpsdm", "ppk", "opd_admin"]
    org_unit: str = Field(min_length=1, max_length=64)
    email: str = Field(max_length=254, pattern=EMAIL)
    name: str = Field(min_length=2, max_length=200)


def _store(request: Request) -> NotifyStore:
    store: NotifyStore = request.app.state.notify_store
    return store


Store = Annotated[NotifyStore, Depends(_store)]
router = APIRouter(prefix="/v1")


@router.put("/role-contacts")
async def set_role_contact(
    body: RoleContactIn, store: Store, principal: Annotated[Principal, Depends(require(*CONTACT_ADMINS))]
) -> dict[str, Any]:
    """Who receives a role's notices for a unit (and its subtree): BKPSDM and PPK per pemda,
    an admin per OPD."""
    principal.check_access(body.org_unit, [])
    return await store.set_role_contact(body.role, body.org_unit, body.email, body.name)


@router.get("/role-contacts")
async def list_role_contacts(
    store: Store, _principal: Annotated[Principal, Depends(require(*CONTACT_ADMINS))]
) -> dict[str, Any]:
    return {"items": await store.list_role_contacts()}


@router.get("/deliveries")
async def deliveries(
    store: Store,
    _principal: Annotated[Principal, Depends(require(*LOG_READERS))],
    status: Literal["pending", "sending", "sent", "failed", "dead", "in_doubt", "cancelled"] | None = None,
    audience: str | None = Query(default=None, max_length=32),
    agency: str | None = Query(default=None, max_length=64),
    page: Page = 1,
    page_size: int = Query(default=50, ge=1, le=MAX_PAGE_SIZE),
) -> dict[str, Any]:
    """The delivery log: every message with its attempts and last error. A reporter's contact
    never appears here."""
    docs, total = await store.delivery_log(status, audience, agency, page, page_size)
    items = [
        {
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
        for doc in docs
    ]
    return page_response(items, page, page_size, total)


PUBLIC_TYPES = sorted(
    name for name, model in EVENT_TYPES.items() if any(t.public and t.name == model.topic for t in CATALOG)
)
SUBSCRIPTION_ADMINS = (Role.BKPSDM,)


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    agency: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9\-_.]*$")
    event_types: list[str] = Field(min_length=1, max_length=50)
    url: str = Field(max_length=2000, pattern=r"^https?://\S+$")

    @field_validator("event_types")
    @classmethod
    def _public_only(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(PUBLIC_TYPES))
        if unknown:
            raise ValueError(
                "hanya peristiwa publik yang bisa dilanggan; tidak dikenal atau tidak publik: "
                + ", ".join(unknown)
            )
        return value


def _subscription_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in ("agency", "event_types", "url", "created_at")} | {"id": doc["_id"]}


@router.post("/subscriptions", status_code=status.HTTP_201_CREATED)
async def subscribe(
    body: SubscriptionIn,
    store: Store,
    _principal: Annotated[Principal, Depends(require(*SUBSCRIPTION_ADMINS))],
) -> dict[str, Any]:
    """Register an agency's webhook. The signing secret is in this answer only: keep it."""
    doc, secret = await store.subscribe(body.agency, body.event_types, body.url)
    return {
        **_subscription_view(doc),
        "secret": secret,
        "notice": "Simpan secret ini sekarang: ia tidak akan ditampilkan lagi.",
    }


@router.get("/subscriptions")
async def subscriptions(
    store: Store, _principal: Annotated[Principal, Depends(require(*SUBSCRIPTION_ADMINS))]
) -> dict[str, Any]:
    return {
        "items": [_subscription_view(doc) for doc in await store.list_subscriptions()],
        "event_types": PUBLIC_TYPES,
    }


@router.delete("/subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
async def unsubscribe(
    subscription_id: str,
    store: Store,
    _principal: Annotated[Principal, Depends(require(*SUBSCRIPTION_ADMINS))],
) -> None:
    if not await store.unsubscribe(subscription_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"langganan {subscription_id} tidak ditemukan")


@router.post("/subscriptions/{subscription_id}/replay", status_code=status.HTTP_202_ACCEPTED)
async def replay(
    subscription_id: str,
    store: Store,
    _principal: Annotated[Principal, Depends(require(*SUBSCRIPTION_ADMINS))],
    since: Annotated[
        dt.datetime, Query(description="ISO 8601 dengan zona waktu, mis. 2029-01-01T00:00+07:00")
    ],
) -> dict[str, Any]:
    """Send again every public event of the subscription's types since `since`."""
    if since.tzinfo is None:
        raise InvalidInput.one("since", "waktu harus memuat zona waktu, mis. 2029-01-01T00:00:00+07:00")
    count = await store.replay(subscription_id, since)
    return {"subscription_id": subscription_id, "queued": count}
