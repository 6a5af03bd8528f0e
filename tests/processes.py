"""A service as a real process, for the tests and benchmarks that start one by hand."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from netral.devstack import wait_ready
from netral.engines import free_port

READY_SECONDS = 60.0


def key_file_env(key_dir: Path) -> dict[str, str]:
    """Where each service keeps its DEV-ONLY key files (made by the first process that needs one):
    one folder, so that every process of a run, and the tests, read the same keys."""
    return {
        "AUTH_PUBLIC_KEY_FILE": str(key_dir / "jwt-public.pem"),
        "NIK_KEY_FILE": str(key_dir / "registry-nik.key"),
        "RECEIPT_KEY_FILE": str(key_dir / "receipt.pem"),
        "REPORTER_KEY_FILE": str(key_dir / "reporter.fernet"),
        "NOTIFY_CONTACT_PRIVATE_KEY_FILE": str(key_dir / "notify-contact.private"),
        "WEBHOOK_SECRET_KEY_FILE": str(key_dir / "notify-webhook.fernet"),
        "TRACKING_KEY_FILE": str(key_dir / "reports-tracking.key"),
        "WEB_SESSION_KEY_FILE": str(key_dir / "web-session.key"),
    }


def spawn_service(module: str, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python -m module` with `env` over this process's environment, its output in `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_service(process: subprocess.Popen[bytes], timeout: float = 20.0) -> int:
    """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout=10)


@dataclass
class RunningService:
    """One service process of a test: where it answers, its log, and how it was started."""

    module: str
    env: dict[str, str]
    log: Path
    url: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def database(self) -> str:
        return self.env["MONGODB_DATABASE"]


class ServiceRunner:
    """The service processes of one e2e test, each on a free port of its own, all stopped when
    the test ends (the `service_runner` fixture)."""

    def __init__(self, env: Mapping[str, str], logs: Path) -> None:
        self.env = dict(env)
        self.logs = logs
        self.services: list[RunningService] = []

    def spawn(self, module: str, database: str | None = None, **extra: str) -> RunningService:
        """Start without waiting: `wait_ready` (or `ready`) when the test needs it answering."""
        env = {**self.env, **extra}
        if database is not None:
            env["MONGODB_DATABASE"] = database
        service = RunningService(module, env, self.logs / f"{module}-{len(self.services)}.log")
        self.services.append(service)
        self._launch(service)
        return service

    def start(self, module: str, database: str | None = None, **extra: str) -> RunningService:
        service = self.spawn(module, database, **extra)
        wait_ready(service.url, READY_SECONDS, service.log)
        return service

    async def ready(self, *services: RunningService) -> None:
        """Wait in a thread: the test's own servers (a webhook receiver) share its event loop."""
        for service in services:
            await asyncio.to_thread(wait_ready, service.url, READY_SECONDS, service.log)

    async def start_platform(
        self, env: Mapping[str, str], notify_env: Mapping[str, str]
    ) -> tuple[RunningService, RunningService, RunningService, RunningService]:
        """The four services together, each with its own database (`<test database>_<name>`),
        ready when this returns; `notify_env` on top of `env` for notify (its SMTP server)."""
        base = self.env["MONGODB_DATABASE"]
        registry, signing, reports = (
            self.spawn(f"services.{name}", f"{base}_{name}", **env)
            for name in ("registry", "signing", "reports")
        )
        notify = self.spawn("services.notify", f"{base}_notify", **{**env, **notify_env})
        await self.ready(registry, signing, reports, notify)
        return registry, signing, reports, notify

    def restart(self, service: RunningService) -> None:
        """Start again, on a fresh port, with the same database and environment; `ready` waits."""
        self._launch(service)

    def kill(self, service: RunningService) -> None:
        """SIGKILL, as a crash would."""
        assert service.process is not None
        service.process.send_signal(signal.SIGKILL)
        service.process.wait(timeout=10)

    def stop_all(self) -> None:
        running = [s.process for s in self.services if s.process is not None and s.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    @staticmethod
    def _launch(service: RunningService) -> None:
        port = free_port()
        service.url = f"http://127.0.0.1:{port}"
        service.process = spawn_service(service.module, {**service.env, "HTTP_PORT": str(port)}, service.log)
