"""`make up` / `make down`: local engines plus every service as a background process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from netral import engines
from services.kit.settings import DEFAULT_KAFKA_PORT, DEFAULT_MONGO_PORT, LOCAL_DIR


@dataclass(frozen=True)
class ServiceProcess:
    name: str
    module: str
    default_port: int

    @property
    def port(self) -> int:
        return int(os.environ.get(f"NETRAL_{self.name.upper()}_PORT", self.default_port))


SERVICES = (
    ServiceProcess("registry", "services.registry.main", 8001),
    ServiceProcess("signing", "services.signing.main", 8002),
    ServiceProcess("reports", "services.reports.main", 8003),
)

RUN_DIR = LOCAL_DIR / "run"
LOG_DIR = LOCAL_DIR / "logs"
ENGINE_DIR = LOCAL_DIR / "engines"


def engine_environment() -> dict[str, str]:
    """External engines when both variables are set; otherwise the local ones, started now."""
    if os.environ.get("MONGODB_URI") and os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return {
            "MONGODB_URI": os.environ["MONGODB_URI"],
            "KAFKA_BOOTSTRAP_SERVERS": os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        }
    if engines.read_state(ENGINE_DIR) is None:
        # Tansu keeps topics in memory, so a restarted broker has no history: start MongoDB
        # empty too, or the services' projections could never catch up with old state.
        shutil.rmtree(ENGINE_DIR / "mongo", ignore_errors=True)
    running = engines.start(
        ENGINE_DIR,
        int(os.environ.get("NETRAL_MONGO_PORT", DEFAULT_MONGO_PORT)),
        int(os.environ.get("NETRAL_KAFKA_PORT", DEFAULT_KAFKA_PORT)),
    )
    return {"MONGODB_URI": running.mongodb_uri, "KAFKA_BOOTSTRAP_SERVERS": running.kafka_bootstrap}


def _pid_file(service: ServiceProcess) -> Path:
    return RUN_DIR / f"{service.name}.pid"


def _running_pid(service: ServiceProcess) -> int | None:
    path = _pid_file(service)
    if not path.exists():
        return None
    pid = int(path.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        path.unlink()
        return None
    return pid


def wait_ready(url: str, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{url}/readyz", timeout=2)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{url} tidak siap dalam {timeout:.0f} s ({last})\n{tail}")


def start_service(service: ServiceProcess, environment: Mapping[str, str]) -> str:
    url = f"http://127.0.0.1:{service.port}"
    if _running_pid(service) is not None:
        return url
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"{service.name}.log"
    env = {**os.environ, **environment, "HTTP_PORT": str(service.port)}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", service.module],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _pid_file(service).write_text(str(process.pid))
    wait_ready(url, 60, log)
    return url


def up() -> dict[str, str]:
    environment = engine_environment()
    return {service.name: start_service(service, environment) for service in SERVICES} | environment


def down() -> list[str]:
    stopped = []
    for service in SERVICES:
        pid = _running_pid(service)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
            _pid_file(service).unlink(missing_ok=True)
            stopped.append(service.name)
    if engines.stop(ENGINE_DIR):
        stopped.append("engines")
    return stopped
