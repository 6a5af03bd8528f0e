"""The notify service's HTTP API: the delivery log and the contacts of roles."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services.kit.auth import Principal, Role, require
from services.kit.pagination import page_response
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
    status: Literal["pending", "sending", "sent", "dead", "in_doubt", "cancelled"] | None = None,
    audience: str | None = Query(default=None, max_length=32),
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=50, ge=1, le=MAX_PAGE_SIZE),
) -> dict[str, Any]:
    """The delivery log: every message with its attempts and last error. A reporter's contact
    never appears here."""
    docs, total = await store.delivery_log(status, audience, page, page_size)
    items = [
        {
            "id": doc["_id"],
            "rule": doc["rule"],
            "event_type": doc["event_type"],
            "channel": doc["channel"],
            "audience": doc["audience"],
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
