"""A service process is alive at once and ready when its engines are: `/healthz` answers
while the consumer group joins and while an engine is down, `/readyz` says what is pending,
and the process becomes ready by itself once the engine comes up. Real processes, real
engines; nothing here is timed, every wait is on a condition."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from netral import engines
from tests.kafka_reader import events_of, read_topic
from tests.processes import spawn_service, stop_service

Sample = tuple[int, int, dict[str, Any]]
JOINING = "joining consumer group"


async def first_answer(client: httpx.AsyncClient, url: str, timeout: float = 30.0) -> httpx.Response:
    """The first answer of `url`, retrying while the socket is not bound yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await client.get(url)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.01)


async def sample_until_ready(client: httpx.AsyncClient, base: str, timeout: float = 60.0) -> list[Sample]:
    """(healthz status, readyz status, readyz body) from the first answer until ready."""
    samples: list[Sample] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = await first_answer(client, f"{base}/healthz")
        ready = await client.get(f"{base}/readyz")
        samples.append((health.status_code, ready.status_code, ready.json()))
        if ready.status_code == 200:
            return samples
        await asyncio.sleep(0.02)
    raise AssertionError(f"not ready within {timeout} s; last: {samples[-1] if samples else None}")


async def until_readyz(
    client: httpx.AsyncClient, base: str, holds: Callable[[dict[str, Any]], bool], timeout: float = 60.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = (await first_answer(client, f"{base}/readyz")).json()
        if holds(body):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"/readyz never matched within {timeout} s; last: {body}")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_healthz_answers_while_the_consumer_group_joins(
    tmp_path: Path, service_env: dict[str, str]
) -> None:
    port = engines.free_port()
    env = {**service_env, "HTTP_PORT": str(port)}
    process = spawn_service("services.signing", env, tmp_path / "signing.log")
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            samples = await sample_until_ready(client, base)
            keys = await client.get(f"{base}/v1/keys")
    finally:
        code = stop_service(process)
    joining = [
        body for _, ready, body in samples if ready == 503 and body["kafka"] == "joining consumer group"
    ]
    assert joining, samples  # Tansu takes seconds for a group's first join: it is seen
    assert joining[0] == {"ready": False, "mongodb": "ok", "kafka": JOINING}
    assert all(health == 200 for health, _, _ in samples)  # alive all along
    assert samples[-1] == (200, 200, {"ready": True, "mongodb": "ok", "kafka": "ok"})
    assert keys.status_code == 200
    # Uvicorn finishes its graceful shutdown, then re-raises the signal it caught.
    assert code in (0, -signal.SIGTERM), code
    assert "Application shutdown complete." in (tmp_path / "signing.log").read_text()


async def test_mongodb_down_at_start_then_ready_by_itself(
    tmp_path: Path, service_env: dict[str, str], mint: Callable[..., str]
) -> None:
    mongo_port = engines.free_port()
    port = engines.free_port()
    env = {
        **service_env,
        "HTTP_PORT": str(port),
        "MONGODB_URI": f"mongodb://127.0.0.1:{mongo_port}/?replicaSet={engines.REPLICA_SET}",
        "MONGODB_TIMEOUT_MS": "500",
    }
    log = tmp_path / "signing.log"
    process = spawn_service("services.signing", env, log)
    base = f"http://127.0.0.1:{port}"
    admin = bearer(mint("bkpsdm"))
    mongod: int | None = None
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            assert (await first_answer(client, f"{base}/healthz")).status_code == 200
            down = await until_readyz(client, base, lambda body: body["mongodb"].startswith("error:"))
            assert down["ready"] is False
            assert "ServerSelectionTimeoutError" in down["mongodb"] and "retrying" in down["mongodb"]
            assert (await client.get(f"{base}/healthz")).status_code == 200
            refused = await client.get(f"{base}/v1/campaigns/pemilu-2029", headers=admin)
            assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
            assert "sedang dimulai" in refused.json()["detail"]

            mongod = engines.start_mongod(tmp_path / "late-mongo", mongo_port)
            samples = await sample_until_ready(client, base)
            assert samples[-1][2] == {"ready": True, "mongodb": "ok", "kafka": "ok"}
            missing = await client.get(f"{base}/v1/campaigns/pemilu-2029", headers=admin)
            assert missing.status_code == 404, missing.text
    finally:
        stop_service(process)
        if mongod is not None:
            engines.terminate(mongod)
    assert "startup step failed; retrying" in log.read_text()


async def test_kafka_down_at_start_keeps_writes_and_publishes_them_later(
    tmp_path: Path, service_env: dict[str, str], mint: Callable[..., str]
) -> None:
    kafka_port = engines.free_port()
    bootstrap = f"127.0.0.1:{kafka_port}"
    port = engines.free_port()
    env = {**service_env, "HTTP_PORT": str(port), "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    process = spawn_service("services.registry", env, tmp_path / "registry.log")
    base = f"http://127.0.0.1:{port}"
    tansu: int | None = None
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            down = await until_readyz(client, base, lambda body: body["kafka"].startswith("error:"))
            assert down["ready"] is False and down["mongodb"] == "ok"
            unit = {"code": "32", "name": "Provinsi Jawa Barat", "kind": "PROVINCE"}
            created = await client.post(f"{base}/v1/org-units", json=unit, headers=bearer(mint("bkpsdm")))
            assert created.status_code == 201, created.text  # kept in the outbox meanwhile

            tansu = engines.start_tansu(tmp_path, kafka_port)
            await sample_until_ready(client, base)
        topic = f"{service_env['KAFKA_TOPIC_PREFIX']}registry.org-units"
        records = await read_topic(bootstrap, topic, lambda got: len(got) >= 1)
        assert [event.data["unit"]["code"] for event in events_of(records)] == ["32"]
    finally:
        stop_service(process)
        if tansu is not None:
            engines.terminate(tansu)
