"""The signing service's HTTP API: campaigns, signatures, receipts, progress."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.roles import Role
from services.kit.auth import require
from services.kit.codes import normalise_code
from services.kit.errors import InvalidInput, NotFound
from services.kit.identity import Principal
from services.kit.pagination import Page, page_response
from services.signing.domain import CascadePolicy, verify_chain, verify_receipt
from services.signing.store import Refused, SigningStore

CAMPAIGN_ADMINS = (Role.BKPSDM,)
MONITORS = (Role.BKPSDM, Role.OPD_ADMIN, Role.BKN, Role.BAWASLU, Role.INSPEKTORAT)
CHAIN_AUDITORS = (Role.BKPSDM, Role.BKN, Role.BAWASLU, Role.INSPEKTORAT)
MAX_PAGE_SIZE = 500

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9\-_.]{1,63}$")]


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: Code
    title: str = Field(min_length=3, max_length=200)
    election: str = Field(min_length=3, max_length=100)
    deadline: dt.datetime
    pact_text: str = Field(min_length=20, max_length=20_000)
    scope: list[str] = Field(min_length=1, max_length=1000)
    cascade: CascadePolicy = CascadePolicy.STRICT
    reminder_hours: list[int] = Field(default=[72, 24], max_length=10)
    """Hours before the deadline at which unsigned employees are reminded."""

    @field_validator("deadline")
    @classmethod
    def _future_deadline(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("tenggat harus memuat zona waktu, mis. 2029-02-01T23:59:00+07:00")
        if value <= dt.datetime.now(dt.UTC):
            raise ValueError("tenggat harus di masa depan")
        return value


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["online", "in_person"] = "online"
    consent: bool

    @field_validator("consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if not value:
            raise ValueError("persetujuan (consent: true) wajib untuk menandatangani pakta")
        return value


class CeremonySignIn(SignIn):
    employee_id: str = Field(min_length=10, max_length=32)
    mode: Literal["online", "in_person"] = "in_person"


class SigningMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.signatures = Counter(
            "netral_signing_signatures", "Signatures taken", ["campaign", "mode"], registry=registry
        )
        self.refusals = Counter(
            "netral_signing_cascade_refusals",
            "Signatures refused by the cascade",
            ["campaign"],
            registry=registry,
        )


def _store(request: Request) -> SigningStore:
    store: SigningStore = request.app.state.signing_store
    return store


def _metrics(request: Request) -> SigningMetrics:
    metrics: SigningMetrics = request.app.state.signing_metrics
    return metrics


Store = Annotated[SigningStore, Depends(_store)]
Metrics = Annotated[SigningMetrics, Depends(_metrics)]
router = APIRouter(prefix="/v1")


def _campaign_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": doc["_id"],
        "title": doc["title"],
        "election": doc["election"],
        "deadline": doc["deadline"],
        "pact_text": doc["pact_text"],
        "pact_version": doc["pact_version"],
        "pact_sha256": doc["pact_sha256"],
        "scope": doc["scope"],
        "cascade": doc["cascade"],
        "status": doc["status"],
        "chain_length": doc["chain_length"],
        "reminder_hours": doc.get("reminder_hours", []),
        "pact_versions": [
            {"version": v["version"], "sha256": v["sha256"], "at": v["at"]}
            for v in doc.get("pact_versions", [])
        ],
    }


@router.post("/campaigns", status_code=status.HTTP_201_CREATED)
async def create_campaign(
    body: CampaignIn, store: Store, principal: Annotated[Principal, Depends(require(*CAMPAIGN_ADMINS))]
) -> dict[str, Any]:
    for code in body.scope:
        try:
            unit = await store.unit(code)
        except NotFound as exc:
            raise InvalidInput.one("scope", str(exc)) from None
        principal.check_access(code, unit["path"])
    doc = await store.create_campaign(
        body.code,
        body.title,
        body.election,
        body.deadline,
        body.pact_text,
        body.scope,
        body.cascade,
        principal.subject,
        sorted(set(body.reminder_hours), reverse=True),
    )
    return _campaign_view(doc)


@router.get("/campaigns/{code}")
async def get_campaign(
    code: str, store: Store, principal: Annotated[Principal, Depends(require(*Role))]
) -> dict[str, Any]:
    return _campaign_view(await store.campaign(code))


class PactIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    pact_text: str = Field(min_length=20, max_length=20_000)


@router.put("/campaigns/{code}/pact")
async def revise_pact(
    code: str, body: PactIn, store: Store, principal: Annotated[Principal, Depends(require(*CAMPAIGN_ADMINS))]
) -> dict[str, Any]:
    campaign = await store.campaign(code)
    for unit_code in campaign["scope"]:
        unit = await store.unit(unit_code)
        principal.check_access(unit_code, unit["path"])
    return _campaign_view(await store.revise_pact(code, body.pact_text, principal.subject))


async def _sign(
    store: SigningStore,
    metrics: SigningMetrics,
    response: Response,
    request: Request,
    campaign: str,
    employee_id: str,
    mode: str,
    principal: Principal,
    recorded: bool,
) -> dict[str, Any]:
    client = {
        "ip": request.client.host if request.client else None,
        "user_agent": request.headers.get("user-agent", "")[:300],
    }
    try:
        result = await store.sign(
            campaign,
            employee_id,
            mode,
            authenticated_by=f"{principal.role.value}:{principal.subject}",
            recorded_by=principal.subject if recorded else None,
            client=client,
            recorder_unit=principal.org_unit if recorded else None,
        )
    except Refused as exc:
        metrics.refusals.labels(campaign).inc()
        raise HTTPException(
            status.HTTP_409_CONFLICT, {"message": exc.message, "waiting_for": exc.waiting_for}
        ) from None
    if result.created:
        metrics.signatures.labels(campaign, mode).inc()
    response.status_code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
    return {"receipt": result.receipt, "created": result.created, "warning": result.warning}


@router.post("/campaigns/{code}/signatures")
async def sign(
    code: str,
    body: SignIn,
    request: Request,
    response: Response,
    store: Store,
    metrics: Metrics,
    principal: Annotated[Principal, Depends(require(Role.EMPLOYEE))],
) -> dict[str, Any]:
    if principal.nip is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "token pegawai tidak memuat NIP")
    return await _sign(store, metrics, response, request, code, principal.nip, body.mode, principal, False)


@router.post("/campaigns/{code}/ceremony-signatures")
async def record_ceremony_signature(
    code: str,
    body: CeremonySignIn,
    request: Request,
    response: Response,
    store: Store,
    metrics: Metrics,
    principal: Annotated[Principal, Depends(require(Role.OPD_ADMIN))],
) -> dict[str, Any]:
    return await _sign(store, metrics, response, request, code, body.employee_id, body.mode, principal, True)


@router.get("/receipts/{code}")
async def verify_public_receipt(code: str, request: Request, store: Store) -> dict[str, Any]:
    """Public: anyone holding a receipt code can check it, no login."""
    try:
        receipt = await store.receipt(normalise_code(code, "kode tanda terima"))
    except ValueError as exc:
        raise InvalidInput.one("code", str(exc)) from None
    check = verify_receipt(receipt, store.key.public_pem())
    return {
        "receipt": receipt,
        "valid": check.valid,
        "stage": check.stage,
        "problems": list(check.problems),
    }


@router.get("/keys")
async def public_keys(store: Store) -> dict[str, Any]:
    return {
        "keys": [
            {"key_id": store.key.key_id, "alg": "Ed25519", "public_pem": store.key.public_pem().decode()}
        ]
    }


@router.get("/campaigns/{code}/chain/verify")
async def verify_campaign_chain(
    code: str, store: Store, principal: Annotated[Principal, Depends(require(*CHAIN_AUDITORS))]
) -> dict[str, Any]:
    await store.campaign(code)
    links = [link async for link in store.chain_links(code)]
    # Thousands of signature checks: off the event loop, so signing goes on meanwhile.
    check = await asyncio.to_thread(verify_chain, links, store.key.public_pem())
    valid, first_broken, problem = check.valid, check.first_broken, check.problem
    recorded = await store.chain_length(code)
    if valid and check.length != recorded:
        # Records cut off the end leave a valid but shorter chain; the head kept by the
        # sequencer (and published in checkpoints) gives it away.
        valid, first_broken = False, min(check.length, recorded)
        problem = f"rantai berisi {check.length} catatan, kepala rantai mencatat {recorded}"
    return {
        "campaign": code,
        "valid": valid,
        "length": check.length,
        "recorded_length": recorded,
        "head_hash": check.head_hash,
        "first_broken": first_broken,
        "problem": problem,
    }


async def _scoped_unit(store: SigningStore, principal: Principal, org_unit: str) -> None:
    unit = await store.unit(org_unit)
    principal.check_access(org_unit, unit["path"])


@router.get("/campaigns/{code}/progress")
async def campaign_progress(
    code: str,
    store: Store,
    principal: Annotated[Principal, Depends(require(*MONITORS))],
    org_unit: Annotated[str, Query(description="kode unit organisasi")],
) -> dict[str, Any]:
    await _scoped_unit(store, principal, org_unit)
    return await store.progress(code, org_unit)


@router.get("/campaigns/{code}/unsigned")
async def campaign_unsigned(
    code: str,
    store: Store,
    principal: Annotated[Principal, Depends(require(*MONITORS))],
    org_unit: Annotated[str, Query(description="kode unit organisasi")],
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> dict[str, Any]:
    await _scoped_unit(store, principal, org_unit)
    docs, total = await store.unsigned(code, org_unit, page, page_size)
    items = [
        {
            "employee_id": doc["_id"],
            "nip": doc.get("nip"),
            "name": doc["name"],
            "level": doc["level"],
            "org_unit_code": doc["org_unit_code"],
        }
        for doc in docs
    ]
    return page_response(items, page, page_size, total)
