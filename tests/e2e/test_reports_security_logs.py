"""Issue 12, #3: the reports service as a real process (uvicorn and all) logs nothing that links a
person to a report: after an intake and tracking, in both forms, its log holds neither the
tracking code nor the client's address."""

from __future__ import annotations

import re

import httpx

from tests.processes import ServiceRunner


def _without_known_endpoints(log: str, *endpoints: str) -> str:
    """The log less the service's own and its engines' addresses, which it may name."""
    for endpoint in endpoints:
        log = log.replace(endpoint, "")
    return log


async def test_the_reports_log_holds_no_tracking_code_and_no_client_address(
    service_runner: ServiceRunner, service_env: dict[str, str]
) -> None:
    reports = service_runner.start("services.reports", LOG_LEVEL="INFO")
    body = {
        "category": "kampanye_media_sosial",
        "description": "Mengunggah ajakan memilih pasangan calon di akun media sosial pribadinya.",
        "incident_date": "2024-11-01",
        "location": "Cibinong",
        "accused": {"name": "Budi Santoso", "org_unit_code": "32.01.001"},
        "reporter": {"name": "Rina Wulandari", "contact": "rina.w@example.org"},
    }
    async with httpx.AsyncClient(base_url=reports.url, timeout=30) as http:
        filed = await http.post("/v1/reports", json=body)
        assert filed.status_code == 201, filed.text
        receipt = filed.json()
        code = receipt["tracking_code"]
        # The reporter is sent to a URL without their code in it.
        assert code not in receipt["track_url"]
        tracked = await http.post(receipt["track_url"], json={"code": code})
        assert tracked.status_code == 200 and tracked.json()["tracking_code"] == code
        legacy = await http.get(f"/v1/reports/track/{code}")
        assert legacy.status_code == 200
    service_runner.stop_all()

    log = reports.log.read_text()
    assert "/v1/reports" in log, "no request was logged: the test would prove nothing"
    for form in (code, code.replace("-", ""), code.lower()):
        assert form not in log, f"tracking code in the log: {form}"
    engines = re.findall(
        r"\d+\.\d+\.\d+\.\d+:\d+", service_env["MONGODB_URI"] + " " + service_env["KAFKA_BOOTSTRAP_SERVERS"]
    )
    rest = _without_known_endpoints(log, reports.url.removeprefix("http://"), *engines)
    leaked = [line for line in rest.splitlines() if "127.0.0.1" in line]
    assert leaked == [], f"client address in the log: {leaked[:3]}"
