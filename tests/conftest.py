"""Shared fixtures: real engines for the whole session, unique names for every test."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI

from netral import engines
from netral.devissuer import ensure_dev_keys, mint_token
from services.kit.sealedbox import generate_private_key
from services.kit.settings import ServiceSettings
from tests.processes import ServiceRunner, key_file_env

# The tests run in development mode: keys from DEV-ONLY files, tokens from the local dev issuer.
# Set here, at import, so that every settings object and every service process of the session
# has it; the production-mode tests turn it off explicitly.
os.environ["DEV_MODE"] = "true"


@pytest.fixture(scope="session")
def engine_env() -> Iterator[dict[str, str]]:
    """MONGODB_URI and KAFKA_BOOTSTRAP_SERVERS: external when both are set, else local engines
    started by the project's own code for this session and stopped after it."""
    if os.environ.get("MONGODB_URI") and os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield {
            "MONGODB_URI": os.environ["MONGODB_URI"],
            "KAFKA_BOOTSTRAP_SERVERS": os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        }
        return
    root = Path(tempfile.mkdtemp(prefix="netral-engines-"))
    running = engines.start(root)
    try:
        yield {"MONGODB_URI": running.mongodb_uri, "KAFKA_BOOTSTRAP_SERVERS": running.kafka_bootstrap}
    finally:
        engines.stop(root)


@pytest.fixture(scope="session")
def key_dir() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="netral-keys-"))
    ensure_dev_keys(directory)
    # Made once here, so that service processes started together never race to create them.
    for name in ("reporter.fernet", "notify-webhook.fernet"):
        (directory / name).write_bytes(Fernet.generate_key())
    (directory / "notify-contact.private").write_bytes(generate_private_key())
    (directory / "reports-tracking.key").write_bytes(secrets.token_urlsafe(32).encode())
    (directory / "web-session.key").write_bytes(secrets.token_urlsafe(32).encode())
    return directory


@pytest.fixture
def unique() -> str:
    """A short name no other test uses: for databases, topic prefixes and groups."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def service_env(engine_env: dict[str, str], key_dir: Path, unique: str) -> dict[str, str]:
    """Environment for one test's services: its own database and topics on the shared engines."""
    return {
        **engine_env,
        "MONGODB_DATABASE": f"netral_{unique}",
        "KAFKA_TOPIC_PREFIX": f"{unique}.",
        "DEV_MODE": "true",
        **key_file_env(key_dir),
        "KAFKA_PARTITIONS": "3",
    }


@pytest.fixture
def service_runner(tmp_path: Path, service_env: dict[str, str]) -> Iterator[ServiceRunner]:
    """Real service processes for an e2e test, on this test's database and topics; each log is
    in the test's tmp_path. Stopped (SIGTERM, then SIGKILL) when the test ends."""
    runner = ServiceRunner(service_env, tmp_path)
    try:
        yield runner
    finally:
        runner.stop_all()


@pytest.fixture
def settings_kwargs(service_env: dict[str, str]) -> dict[str, object]:
    return {key.lower(): value for key, value in service_env.items()}


@pytest.fixture
def mint(key_dir: Path) -> Callable[..., str]:
    def issue(
        role: str, org_unit: str | None = None, nip: str | None = None, employee_id: str | None = None
    ) -> str:
        return mint_token(
            role,
            org_unit=org_unit,
            nip=nip,
            employee_id=employee_id,
            directory=key_dir,
            settings=ServiceSettings(),
        )

    return issue


async def wait_until_ready(client: httpx.AsyncClient, timeout: float = 60.0) -> None:
    """Poll `/readyz` as Kubernetes would, until 200; fail with what was still pending."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        response = await client.get("/readyz")
        if response.status_code == 200:
            return
        last = response.text
        await asyncio.sleep(0.05)
    raise AssertionError(f"not ready within {timeout} s: {last}")


@asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan as uvicorn would and talk to it in-process once `/readyz` says
    its engines, consumer group and workers are up."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://registry.test", timeout=60
        ) as client:
            await wait_until_ready(client)
            yield client
