"""The signing service's HTTP API: campaigns, signatures, receipts, progress."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.roles import Role
from services.kit.auth import require
from services.kit.identity import Principal
from services.kit.openapi import DESCRIPTIONS, error_responses
from services.kit.pagination import Page, page_response
from services.signing.domain import (
    CEREMONY_MODE_MESSAGE,
    IN_PERSON,
    CascadePolicy,
    Refused,
    stored_period_start,
)
from services.signing.usecases import (
    CAMPAIGN_ADMINS,
    CEREMONY_RECORDERS,
    CHAIN_AUDITORS,
    MONITORS,
    SIGNERS,
    CampaignDraft,
    SigningUseCases,
    SignResult,
)

MAX_PAGE_SIZE = 500

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9\-_.]{1,63}$")]


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: Code
    title: str = Field(min_length=3, max_length=200)
    election: str = Field(min_length=3, max_length=100)
    deadline: dt.datetime
    campaign_period_starts_on: dt.date = Field(
        description="hari pertama masa kampanye pemilu/pemilihan; tenggat paling lambat pukul 00.00 hari itu"
    )
    pact_text: str = Field(min_length=20, max_length=20_000)
    scope: list[str] = Field(min_length=1, max_length=1000)
    cascade: CascadePolicy = CascadePolicy.STRICT
    reminder_hours: list[int] = Field(default=[72, 24], max_length=10)
    """Hours before the deadline at which unsigned employees are reminded."""

    @field_validator("deadline")
    @classmethod
    def _zoned_deadline(cls, value: dt.datetime) -> dt.datetime:
        # Whether it lies in the future is the use case's check, on the service's clock.
        return _zoned(value)


def _zoned(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("tenggat harus memuat zona waktu, mis. 2029-02-01T23:59:00+07:00")
    return value


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deadline: dt.datetime | None = None
    campaign_period_starts_on: dt.date | None = None

    @field_validator("deadline")
    @classmethod
    def _zoned_deadline(cls, value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else _zoned(value)

    @model_validator(mode="after")
    def _something_to_change(self) -> ScheduleIn:
        if self.deadline is None and self.campaign_period_starts_on is None:
            raise ValueError(
                "sertakan tenggat (deadline), awal masa kampanye (campaign_period_starts_on), atau keduanya"
            )
        return self


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
    mode: Literal["in_person"] = Field(
        default="in_person", description="selalu in_person: upacara mencatat tanda tangan langsung"
    )

    @field_validator("mode", mode="before")
    @classmethod
    def _in_person(cls, value: object) -> object:
        # The use case refuses any other mode as well; said here so that the answer is the
        # rule's own message, not a bare "must be one of".
        if value != IN_PERSON:
            raise ValueError(CEREMONY_MODE_MESSAGE)
        return value


def _usecases(request: Request) -> SigningUseCases:
    usecases: SigningUseCases = request.app.state.signing_usecases
    return usecases


UseCases = Annotated[SigningUseCases, Depends(_usecases)]
router = APIRouter(prefix="/v1")


class RefusalDetail(BaseModel):
    message: str = Field(description="mengapa tanda tangan belum diterima, dalam Bahasa Indonesia")
    waiting_for: list[str] = Field(description="pimpinan yang belum menandatangani dan ditunggu")


class RefusalAnswer(BaseModel):
    """The 409 of the signing endpoints: the reason, and whom the cascade waits for."""

    detail: RefusalDetail


async def refused_answer(request: Request, exc: Exception) -> JSONResponse:
    """The app's answer to Refused: registered in the service's assembly, so that it is found
    before the kit's answer to Conflict, whose body has no `waiting_for`."""
    assert isinstance(exc, Refused)
    return JSONResponse(
        status_code=status.HTTP_409_CONFLICT,
        content={"detail": {"message": exc.message, "waiting_for": exc.waiting_for}},
    )


SIGNING_ANSWERS: dict[int | str, dict[str, Any]] = {
    201: {"description": "tanda tangan baru diterima (200: sudah menandatangani, tanda terima yang pertama)"},
    **error_responses(404),
    409: {"model": RefusalAnswer, "description": DESCRIPTIONS[409]},
}


def _campaign_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": doc["_id"],
        "title": doc["title"],
        "election": doc["election"],
        "deadline": doc["deadline"],
        # null: a campaign opened before the platform recorded it; its period is unknown.
        "campaign_period_starts_on": stored_period_start(doc),
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


@router.post("/campaigns", status_code=status.HTTP_201_CREATED, responses=error_responses(409))
async def create_campaign(
    body: CampaignIn,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*CAMPAIGN_ADMINS))],
) -> dict[str, Any]:
    draft = CampaignDraft(
        code=body.code,
        title=body.title,
        election=body.election,
        deadline=body.deadline,
        pact_text=body.pact_text,
        scope=body.scope,
        cascade=body.cascade,
        reminder_hours=body.reminder_hours,
        campaign_period_starts_on=body.campaign_period_starts_on,
    )
    return _campaign_view(await usecases.create_campaign(principal, draft))


@router.get("/campaigns/{code}", responses=error_responses(404))
async def get_campaign(
    code: str, usecases: UseCases, principal: Annotated[Principal, Depends(require(*Role))]
) -> dict[str, Any]:
    return _campaign_view(await usecases.campaign(principal, code))


class PactIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    pact_text: str = Field(min_length=20, max_length=20_000)


@router.put("/campaigns/{code}/pact", responses=error_responses(404, 409))
async def revise_pact(
    code: str,
    body: PactIn,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*CAMPAIGN_ADMINS))],
) -> dict[str, Any]:
    return _campaign_view(await usecases.revise_pact(principal, code, body.pact_text))


@router.put("/campaigns/{code}/schedule", responses=error_responses(404, 409))
async def reschedule_campaign(
    code: str,
    body: ScheduleIn,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*CAMPAIGN_ADMINS))],
) -> dict[str, Any]:
    """A new deadline or campaign period start (the KPU may move it): the deadline stays at the
    latest the period's first moment."""
    doc = await usecases.reschedule(principal, code, body.deadline, body.campaign_period_starts_on)
    return _campaign_view(doc)


def _client(request: Request) -> dict[str, Any]:
    return {
        "ip": request.client.host if request.client else None,
        "user_agent": request.headers.get("user-agent", "")[:300],
    }


def _signed(result: SignResult, response: Response) -> dict[str, Any]:
    response.status_code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
    return {"receipt": result.receipt, "created": result.created, "warning": result.warning}


@router.post("/campaigns/{code}/signatures", responses=SIGNING_ANSWERS)
async def sign(
    code: str,
    body: SignIn,
    request: Request,
    response: Response,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*SIGNERS))],
) -> dict[str, Any]:
    return _signed(await usecases.sign(principal, code, body.mode, _client(request)), response)


@router.post("/campaigns/{code}/ceremony-signatures", responses=SIGNING_ANSWERS)
async def record_ceremony_signature(
    code: str,
    body: CeremonySignIn,
    request: Request,
    response: Response,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*CEREMONY_RECORDERS))],
) -> dict[str, Any]:
    result = await usecases.record_ceremony_signature(
        principal, code, body.employee_id, body.mode, _client(request)
    )
    return _signed(result, response)


@router.get("/receipts/{code}", responses=error_responses(404))
async def verify_public_receipt(code: str, usecases: UseCases) -> dict[str, Any]:
    """Public: anyone holding a receipt code can check it, no login."""
    verdict = await usecases.verify_receipt(code)
    return {
        "receipt": verdict.receipt,
        "valid": verdict.check.valid,
        "stage": verdict.check.stage,
        "problems": list(verdict.check.problems),
    }


@router.get("/keys")
async def public_keys(usecases: UseCases) -> dict[str, Any]:
    return {"keys": usecases.receipt_keys()}


@router.get("/campaigns/{code}/chain/verify", responses=error_responses(404))
async def verify_campaign_chain(
    code: str, usecases: UseCases, principal: Annotated[Principal, Depends(require(*CHAIN_AUDITORS))]
) -> dict[str, Any]:
    verdict = await usecases.verify_campaign_chain(principal, code)
    return {
        "campaign": code,
        "valid": verdict.valid,
        "length": verdict.length,
        "recorded_length": verdict.recorded_length,
        "head_hash": verdict.head_hash,
        "first_broken": verdict.first_broken,
        "problem": verdict.problem,
        "checkpoint_length": verdict.checkpoint_length,
    }


OrgUnit = Annotated[str, Query(description="kode unit organisasi")]


@router.get("/campaigns/{code}/progress", responses=error_responses(404))
async def campaign_progress(
    code: str,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*MONITORS))],
    org_unit: OrgUnit,
) -> dict[str, Any]:
    return await usecases.progress(principal, code, org_unit)


@router.get("/campaigns/{code}/unsigned", responses=error_responses(404))
async def campaign_unsigned(
    code: str,
    usecases: UseCases,
    principal: Annotated[Principal, Depends(require(*MONITORS))],
    org_unit: OrgUnit,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> dict[str, Any]:
    docs, total = await usecases.unsigned(principal, code, org_unit, page, page_size)
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
