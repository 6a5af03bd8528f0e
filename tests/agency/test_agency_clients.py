"""What agencies run, tried as an agency would: Node's `standardwebhooks` (the convention's
reference library, vendored from npm) verifies what notify's webhook channel really sends over
HTTP, and refuses a tampered delivery. (The CNCF CloudEvents SDK reading every Kafka record is
in tests/e2e/test_reports_case.py, over the records of a whole case.)"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response

from contracts.envelope import CloudEvent, new_event
from contracts.reports import PublicReportReceivedV1
from netral.engines import free_port
from services.notify.channels import WebhookChannel, WebhookTargets
from services.notify.domain import new_webhook_secret, structured_event
from tests.integration.notify_setup import serving

HERE = Path(__file__).parent
VENDOR = {
    "standardwebhooks": "standardwebhooks-1.1.1.tgz",
    "@stablelib/base64": "stablelib-base64-1.0.1.tgz",
    "fast-sha256": "fast-sha256-1.3.0.tgz",
}


@pytest.fixture(scope="module")
def node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The vendored npm tarballs unpacked as `npm install` would lay them out (no registry)."""
    if shutil.which("node") is None:
        pytest.fail("node is not installed: the agencies' Node client cannot be tried")
    root = tmp_path_factory.mktemp("agency-node")
    for name, archive in VENDOR.items():
        target = root / "node_modules" / name
        target.mkdir(parents=True)
        with tarfile.open(HERE / "vendor" / archive) as tar:
            for member in tar.getmembers():
                member.name = member.name.split("/", 1)[1] if "/" in member.name else ""
                if member.name:
                    tar.extract(member, target, filter="data")
    shutil.copy(HERE / "verify_webhooks.js", root / "verify_webhooks.js")
    return root


def verify_in_node(root: Path, deliveries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = subprocess.run(
        ["node", "verify_webhooks.js"],
        input=json.dumps(deliveries),
        capture_output=True,
        text=True,
        cwd=root,
        timeout=60,
        check=True,
    )
    answer: list[dict[str, Any]] = json.loads(result.stdout)
    return answer


def public_event(index: int) -> CloudEvent:
    """A redacted public event as reports publishes it (with a non-ASCII byte or two)."""
    case = {
        "case_id": f"case-{index}",
        "state": "received",
        "category": "kampanye_media_sosial",
        "violation_class": "etika",
        "channels": ["public"],
        "report_count": 1,
        "incident_date": "2026-11-30",
        "org_unit_code": "32.01.001",
        "org_unit_path": ["32", "32.01", "32.01.001"],
        "bawaslu_references": [f"BWS/ JABAR/ {index} — temuan"],
        "deadlines": {"verify": "2026-12-08T17:00:00+00:00"},
        "received_at": "2026-12-01T03:00:00+00:00",
        "version": 1,
    }
    data = PublicReportReceivedV1.model_validate({"case": case, "channel": "public", "linked": False})
    return new_event(data, "/netral/reports")


async def test_node_standardwebhooks_verifies_what_notify_sends(node_modules: Path) -> None:
    secret = new_webhook_secret()
    arrived: list[dict[str, Any]] = []
    receiver = FastAPI()

    @receiver.post("/hook")
    async def hook(request: Request) -> Response:
        arrived.append({"headers": dict(request.headers), "body": await request.body()})
        return Response(status_code=204)

    port = free_port()
    # A receiver on loopback, as in development (DEV_MODE allows private targets over http).
    channel = WebhookChannel(WebhookTargets(allow_private=True), timeout=5)
    events = [public_event(index) for index in range(3)]
    async with serving(receiver, port):
        for event in events:
            await channel.send(f"http://127.0.0.1:{port}/hook", secret, event.id, structured_event(event))
    assert len(arrived) == 3
    deliveries = [
        {"secret": secret, "headers": item["headers"], "body_base64": base64.b64encode(item["body"]).decode()}
        for item in arrived
    ]
    tampered = dict(
        deliveries[0], body_base64=base64.b64encode(arrived[0]["body"].replace(b"case-0", b"case-9")).decode()
    )
    wrong_secret = dict(deliveries[1], secret=new_webhook_secret())
    results = verify_in_node(node_modules, [*deliveries, tampered, wrong_secret])
    assert [result["ok"] for result in results] == [True, True, True, False, False], results
    assert [result["id"] for result in results[:3]] == [event.id for event in events]
    assert {item["headers"]["content-type"] for item in arrived} == {"application/cloudevents+json"}
