"""The image recipe, proved without a container engine: every Deployment of the rendered dev
overlay is started here as its manifest says (its command, the ConfigMap values as rendered,
Secret references replaced by local dev values) against the local engines, and its liveness
and readiness probes answer at the paths and port the manifest names. A manifest that drifts
from the code (a wrong module, port, path or setting) fails here."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from netral import engines, k8scheck
from services.kit.sealedbox import ContactOpener, generate_private_key
from services.signing.domain import ReceiptKey
from tests.processes import stop_service

# What this machine has instead of the cluster's: its engines (no TLS, no SCRAM: Tansu has
# neither), a single broker without an idempotent producer or Strimzi-managed topics, and the
# short session Tansu needs to join quickly. Everything else is the manifest's.
LOCAL_ENGINE_SETTINGS = {
    "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
    "KAFKA_CREATE_TOPICS": "true",
    "KAFKA_REPLICATION_FACTOR": "1",
    "KAFKA_ENABLE_IDEMPOTENCE": "false",
    "KAFKA_SESSION_TIMEOUT_MS": "6000",
    "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
    "KAFKA_REBALANCE_TIMEOUT_MS": "10000",
}
DROPPED = {"KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CAFILE"}


# notify's contact key pair: the private half for notify, the public half for reports.
NOTIFY_CONTACT_PRIVATE_KEY = generate_private_key().decode()
NOTIFY_CONTACT_PUBLIC_KEY = ContactOpener(NOTIFY_CONTACT_PRIVATE_KEY.encode(), "kontak").public_key().decode()


def dev_secret(name: str, service_env: dict[str, str]) -> str | None:
    """A local value for a Secret reference; None for an optional one left unset. The services
    run here as in the cluster, outside development mode: every key must be given."""
    values = {
        "MONGODB_URI": service_env["MONGODB_URI"],
        "NIK_SECRET": Fernet.generate_key().decode(),
        "RECEIPT_KEY_PEM": ReceiptKey.generate().to_pem().decode(),
        "REPORTER_KEYS": Fernet.generate_key().decode(),
        "TRACKING_KEY": secrets.token_urlsafe(32),
        "NOTIFY_CONTACT_PUBLIC_KEY": NOTIFY_CONTACT_PUBLIC_KEY,
        "NOTIFY_CONTACT_PRIVATE_KEY": NOTIFY_CONTACT_PRIVATE_KEY,
        "WEBHOOK_SECRET_KEYS": Fernet.generate_key().decode(),
        "WEB_SESSION_KEY": secrets.token_urlsafe(32),
        "OIDC_CLIENT_SECRET": secrets.token_urlsafe(24),
    }
    return values.get(name)


def probe_port(container: dict[str, Any], probe: dict[str, Any]) -> int:
    port = probe["httpGet"]["port"]
    if isinstance(port, int):
        return port
    return int(next(item["containerPort"] for item in container["ports"] if item["name"] == port))


async def answers_200(client: httpx.AsyncClient, url: str, timeout: float) -> float:
    began = time.monotonic()
    last = "no answer"
    while time.monotonic() - began < timeout:
        try:
            response = await client.get(url)
            if response.status_code == 200:
                return time.monotonic() - began
            last = f"{response.status_code} {response.text[:300]}"
        except httpx.TransportError as exc:
            last = repr(exc)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url}: no 200 within {timeout} s ({last})")


def launch(
    name: str,
    deployment: dict[str, Any],
    resources: list[dict[str, Any]],
    service_env: dict[str, str],
    log: Path,
) -> tuple[subprocess.Popen[bytes], str, dict[str, Any]]:
    """Start the Deployment's container command here; its URL and container spec."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, str] = {}
    for key, item in k8scheck.container_env(deployment, resources).items():
        value = item.get("value")
        if value is None and "valueFrom" in item:
            value = dev_secret(key, service_env)
            optional = item["valueFrom"].get("secretKeyRef", {}).get("optional", False)
            assert value is not None or optional or key in DROPPED, f"{name}: no dev value for {key}"
        if value is not None and key not in DROPPED:
            env[key] = str(value)
    # The probes name the container port; the service must listen where HTTP_PORT says.
    for probe in ("livenessProbe", "readinessProbe"):
        assert probe_port(container, container[probe]) == int(env["HTTP_PORT"]), (name, probe)
    port = engines.free_port()  # 8080 in the pod; a free loopback port here
    env |= LOCAL_ENGINE_SETTINGS | {
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "KAFKA_BOOTSTRAP_SERVERS": service_env["KAFKA_BOOTSTRAP_SERVERS"],
        "KAFKA_TOPIC_PREFIX": service_env["KAFKA_TOPIC_PREFIX"],
        "MONGODB_DATABASE": f"{service_env['MONGODB_DATABASE']}_{name}",
        "PATH": str(Path(sys.executable).parent),
    }
    command = [*container["command"], *container.get("args", [])]
    assert command[0] == "python", command
    with log.open("ab") as out:
        # Only what the manifest gives (plus PATH): a setting it forgets is missed here too.
        process = subprocess.Popen(
            [sys.executable, *command[1:]], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return process, f"http://127.0.0.1:{port}", container


async def test_every_deployment_runs_from_its_manifest_and_its_probes_answer(
    tmp_path: Path, service_env: dict[str, str]
) -> None:
    resources = k8scheck.render(k8scheck.DEPLOY / "overlays" / "dev")
    deployments = k8scheck.deployments_by_service(resources)
    assert set(deployments) == set(k8scheck.SERVICES)
    started: list[tuple[str, subprocess.Popen[bytes], str, dict[str, Any]]] = []
    exported: set[str] = set()
    try:
        for name, deployment in deployments.items():
            started.append(
                (name, *launch(name, deployment, resources, service_env, tmp_path / f"{name}.log"))
            )
        async with httpx.AsyncClient(timeout=5) as client:
            for name, process, base, container in started:
                live = container["livenessProbe"]["httpGet"]["path"]
                ready = container["readinessProbe"]["httpGet"]["path"]
                await answers_200(client, f"{base}{live}", 30)
                await answers_200(client, f"{base}{ready}", 90)
                assert process.poll() is None, (tmp_path / f"{name}.log").read_text()[-2000:]
                exported |= k8scheck.exported_families((await client.get(f"{base}/metrics")).text)
    finally:
        for _, process, _, _ in started:
            stop_service(process)
    # Every metric the alerts and the dashboard read is in what the running services serve.
    found = k8scheck.Findings()
    province = k8scheck.render(k8scheck.DEPLOY / "overlays" / "province")
    k8scheck.check_metrics(province, exported, k8scheck.MONITORING, "province", found)
    assert found.problems == []
    assert {"netral_signing_chain_length", "netral_notify_deliveries", "http_requests"} <= exported
