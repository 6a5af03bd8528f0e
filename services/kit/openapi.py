"""What the OpenAPI documents say about errors: the one error body every service sends, and the
statuses each endpoint can answer with.

Endpoints declare the statuses their use cases raise (`responses=error_responses(404, 409)`);
the app adds, to every operation, those that come from the framework around them.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.constants import REF_PREFIX
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

DESCRIPTIONS = {
    400: "permintaan tidak dapat dibaca",
    401: "token tidak ada atau tidak sah",
    403: "peran atau cakupan unit tidak mengizinkan ini",
    404: "tidak ditemukan",
    409: "keadaan saat ini tidak mengizinkan tindakan ini",
    413: "badan permintaan terlalu besar",
    422: "data tidak valid",
    429: "terlalu banyak permintaan; coba lagi nanti",
    503: "layanan sedang menyiapkan penyimpanan; coba lagi",
}


class FieldError(BaseModel):
    field: str | None = Field(description="kolom yang salah, dengan titik untuk kolom bertingkat")
    message: str = Field(description="apa yang salah, dalam Bahasa Indonesia")


class ErrorAnswer(BaseModel):
    """The body of every 4xx and 503 answer."""

    detail: str = Field(description="ringkasan kesalahan, dalam Bahasa Indonesia")
    errors: list[FieldError] | None = Field(default=None, description="per kolom, pada jawaban 422")
    allowed_actions: list[str] | None = Field(
        default=None, description="tindakan yang masih boleh, pada sebagian jawaban 409"
    )


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """For a route's `responses=`: these statuses answer with `ErrorAnswer`."""
    return {code: {"model": ErrorAnswer, "description": DESCRIPTIONS[code]} for code in codes}


BODY_MODELS = "x-body-models"
"""Where `json_body` leaves its models' schemas for `with_error_answers` to move to components."""


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """For the `openapi_extra=` of a route that reads its JSON body itself (to validate it with a
    context, such as today's date): the document then shows the body as if FastAPI had read it."""
    _, definitions = models_json_schema([(model, "validation")], ref_template=REF_PREFIX + "{model}")
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": _reference(model)}}},
        BODY_MODELS: definitions.get("$defs", {}),
    }


class StartingAnswer(ErrorAnswer):
    """The 503 of a process whose storage is not ready yet (kit.startup, kit.launch)."""

    ready: bool = Field(description="selalu false: layanan belum siap")
    mongodb: str = Field(description="tahap penyiapan MongoDB, atau kesalahan terakhirnya")
    kafka: str = Field(description="tahap penyiapan Kafka, atau kesalahan terakhirnya")


STOCK_SCHEMAS = ("HTTPValidationError", "ValidationError")
"""FastAPI's own 422 body, which no service sends: `ErrorAnswer` replaces it."""
METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _reference(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF_PREFIX + model.__name__}


def _answer(code: int, model: type[BaseModel], headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": DESCRIPTIONS[code],
        "content": {"application/json": {"schema": _reference(model)}},
    }
    if headers:
        answer["headers"] = headers
    return answer


WWW_AUTHENTICATE = {"description": "skema yang diminta: Bearer", "schema": {"type": "string"}}
RETRY_AFTER = {"description": "detik sebelum mencoba lagi", "schema": {"type": "integer"}}


def _framework_answers(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The statuses the app answers with around an operation's own code, by what it declares:
    a token (kit.auth: 401, and 403 for a role that may not), input (422 from validation), a
    body (400 when it cannot even be read: a broken form, JSON that is not UTF-8), and the
    503 of the starting gate, which stands before every operation."""
    answers: dict[str, dict[str, Any]] = {}
    body = operation.get("requestBody")
    if body:
        answers["400"] = _answer(400, ErrorAnswer)
    if operation.get("security"):
        answers["401"] = _answer(401, ErrorAnswer, {"WWW-Authenticate": deepcopy(WWW_AUTHENTICATE)})
        answers["403"] = _answer(403, ErrorAnswer)
    if body or operation.get("parameters"):
        answers["422"] = _answer(422, ErrorAnswer)
    answers["503"] = _answer(503, StartingAnswer, {"Retry-After": deepcopy(RETRY_AFTER)})
    return answers


def _references(document: Any, names: set[str]) -> bool:
    if isinstance(document, dict):
        ref = document.get("$ref")
        if isinstance(ref, str) and ref.removeprefix(REF_PREFIX) in names:
            return True
        return any(_references(value, names) for value in document.values())
    if isinstance(document, list):
        return any(_references(value, names) for value in document)
    return False


def with_error_answers(document: dict[str, Any]) -> dict[str, Any]:
    """`document` (FastAPI's OpenAPI output), changed in place to say what is really sent: every
    error answer is an `ErrorAnswer`, and every operation lists the statuses of the framework
    around it as well as those its route declares."""
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    _, definitions = models_json_schema(
        [(ErrorAnswer, "serialization"), (StartingAnswer, "serialization")],
        ref_template=REF_PREFIX + "{model}",
    )
    for name, definition in definitions.get("$defs", {}).items():
        schemas.setdefault(name, definition)
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in METHODS:
                continue
            for name, definition in operation.pop(BODY_MODELS, {}).items():
                schemas.setdefault(name, definition)
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if _references(responses.get("422"), set(STOCK_SCHEMAS)):
                del responses["422"]
            for code, answer in _framework_answers(operation).items():
                responses.setdefault(code, answer)
            operation["responses"] = dict(sorted(responses.items()))
    outside = [
        {key: value for key, value in document.items() if key != "components"},
        {key: value for key, value in schemas.items() if key not in STOCK_SCHEMAS},
    ]
    if not _references(outside, set(STOCK_SCHEMAS)):
        for name in STOCK_SCHEMAS:
            schemas.pop(name, None)
    return document


def document_error_answers(app: FastAPI) -> None:
    """Make `app.openapi()` return FastAPI's document once built and passed through
    `with_error_answers`, cached as FastAPI caches its own."""
    build_stock_document = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_error_answers(build_stock_document())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
