"""End to end: each service, as a real process on the engines, fuzzed by Schemathesis through its
own OpenAPI document. Every answer must be one the document declares (`status_code_conformance`),
with the body it declares (`response_schema_conformance`), and none may be a server error
(`not_a_server_error`).

Each operation gets valid and invalid input (positive and negative generation), sent without a
token and once with a token of each role the operation allows: the roles named in its security
requirement, or every role where the document names none. A caller that may not call an
operation gets its 401 or 403, which must be declared as well.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import hypothesis
import pytest
import schemathesis
from fastapi import Depends, FastAPI
from fastapi.openapi.constants import REF_PREFIX
from hypothesis import HealthCheck, Phase
from pydantic import BaseModel
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from contracts.roles import Role
from netral.engines import free_port
from services.kit.auth import UNIT_BOUND_ROLES, require
from services.kit.identity import Principal
from services.kit.launch import starting_body
from services.kit.openapi import StartingAnswer, document_error_answers, error_responses
from tests.processes import spawn_service, stop_service

SERVICES = ("registry", "signing", "reports", "notify")
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
"""`response_schema_conformance` passes over a status the document does not list at all:
`status_code_conformance` is what says that every status sent is declared."""
EXAMPLES = 5
"""Per operation and per generation mode: a small budget, each example sent once per role."""
ANONYMOUS = "tanpa token"
UNIT = "1.01"
NIP = "198503152010011005"
Operation = APIOperation[Any, Any, Any, Any]


@dataclass(frozen=True, order=True)
class Finding:
    operation: str
    status: int
    problem: str
    caller: str
    request: str


def report(findings: set[Finding]) -> str:
    """One line per operation, status and problem, with who met it and the first request that did."""
    grouped: dict[tuple[str, int, str], list[Finding]] = {}
    for finding in sorted(findings):
        grouped.setdefault((finding.operation, finding.status, finding.problem), []).append(finding)
    lines = []
    for (operation, status, problem), found in grouped.items():
        who = ", ".join(sorted({finding.caller for finding in found}))
        lines.append(f"{operation}: {status}: {problem} (as {who})\n    {found[0].request}")
    return "\n".join(lines)


def wait_until_ready(process: subprocess.Popen[bytes], base: str, log: Path, timeout: float = 60.0) -> None:
    """Until `/readyz` answers 200; at once if the process ends (another change may break it)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    with httpx.Client(base_url=base, timeout=2) as client:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = client.get("/readyz")
            except httpx.TransportError as error:
                last = repr(error)
            else:
                if response.status_code == 200:
                    return
                last = response.text
            time.sleep(0.1)
    raise AssertionError(
        f"{base} not ready (exit code {process.poll()}, last {last}):\n{log.read_text()[-3000:]}"
    )


def callers(operation: Operation, tokens: dict[Role, str]) -> dict[str, dict[str, str]]:
    """The headers to send `operation` with, by who sends them: always without a token (a 401,
    or the public side of an operation that takes a token optionally), and with a token of each
    role it names, or of every role where it names none."""
    security: list[dict[str, list[str]]] = operation.definition.raw.get("security", [])
    anonymous: dict[str, dict[str, str]] = {ANONYMOUS: {}}
    if not security:
        return anonymous
    named = {Role(role) for requirement in security for roles in requirement.values() for role in roles}
    by_role = {role.value: {"Authorization": f"Bearer {tokens[role]}"} for role in sorted(named or set(Role))}
    return anonymous | by_role


def findings_of(
    operation: Operation, mode: GenerationMode, headers_by_caller: dict[str, dict[str, str]]
) -> set[Finding]:
    found: set[Finding] = set()

    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(mode))
    def send(case: Case[Operation]) -> None:
        for caller, headers in headers_by_caller.items():
            response = case.call(headers=headers)
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Failure, FailureGroup) as error:
                failures = error.exceptions if isinstance(error, FailureGroup) else (error,)
                request = case.as_curl_command(headers=headers)  # the token in it is filtered out
                for failure in failures:
                    found.add(Finding(operation.label, response.status_code, failure.title, caller, request))

    try:
        send()
    except hypothesis.errors.Unsatisfiable:
        # Only where no input can be invalid: no parameter has a constraint to break.
        assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid input can be generated"
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_answer_is_declared_in_the_openapi_document(
    service: str,
    tmp_path: Path,
    service_env: dict[str, str],
    mint: Callable[..., str],
) -> None:
    port = free_port()
    env = {**service_env, "HTTP_PORT": str(port)}
    log = tmp_path / f"{service}.log"
    process = spawn_service(f"services.{service}", env, log)
    base = f"http://127.0.0.1:{port}"
    tokens = {
        role: mint(
            role.value,
            org_unit=UNIT if role in UNIT_BOUND_ROLES else None,
            nip=NIP if role is Role.EMPLOYEE else None,
        )
        for role in Role
    }
    findings: set[Finding] = set()
    try:
        wait_until_ready(process, base, log)
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        results = list(schema.get_all_operations())
        operations = [result.ok() for result in results if isinstance(result, Ok)]
        assert operations and len(operations) == len(results), f"unreadable document: {results}"
        for operation in operations:
            headers_by_caller = callers(operation, tokens)
            findings |= findings_of(operation, GenerationMode.POSITIVE, headers_by_caller)
            if {"parameters", "requestBody"} & operation.definition.raw.keys():
                findings |= findings_of(operation, GenerationMode.NEGATIVE, headers_by_caller)
    finally:
        stop_service(process)
    if findings:
        pytest.fail(f"{service}: {len(findings)} findings\n{report(findings)}", pytrace=False)


class ExampleItem(BaseModel):
    name: str


def test_the_document_declares_the_framework_answers_and_no_stock_422() -> None:
    """Fast, in process: the statuses from around the routes follow what each operation declares."""

    app = FastAPI()
    document_error_answers(app)

    @app.get("/open")
    async def read_open() -> dict[str, str]:
        return {}

    @app.post("/items/{code}", responses=error_responses(404, 409))
    async def create_item(
        code: str, item: ExampleItem, _principal: Annotated[Principal, Depends(require(Role.BKPSDM))]
    ) -> dict[str, str]:
        return {}

    document = app.openapi()
    assert app.openapi() is document, "built once, then cached"
    answers = {
        f"{method.upper()} {path}": set(operation["responses"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }
    assert answers == {
        "GET /open": {"200", "503"},
        "POST /items/{code}": {"200", "400", "401", "403", "404", "409", "422", "503"},
    }
    schemas = document["components"]["schemas"]
    assert not {"HTTPValidationError", "ValidationError"} & schemas.keys()
    assert {"ErrorAnswer", "FieldError", "StartingAnswer"} <= schemas.keys()
    created = document["paths"]["/items/{code}"]["post"]["responses"]
    for code in ("400", "401", "403", "404", "409", "422"):
        assert created[code]["content"]["application/json"]["schema"] == {"$ref": REF_PREFIX + "ErrorAnswer"}
    assert "WWW-Authenticate" in created["401"]["headers"]
    assert "Retry-After" in created["503"]["headers"]
    assert created["503"]["content"]["application/json"]["schema"] == {"$ref": REF_PREFIX + "StartingAnswer"}
    # The 503 the starting gate really sends is a StartingAnswer.
    StartingAnswer.model_validate(starting_body({"mongodb": "pending", "kafka": "pending"}))
