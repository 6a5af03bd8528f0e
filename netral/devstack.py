"""`make up` / `make down`: local engines plus every service as a background process, the
services started in parallel."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
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
    ServiceProcess("registry", "services.registry", 8001),
    ServiceProcess("signing", "services.signing", 8002),
    ServiceProcess("reports", "services.reports", 8003),
    ServiceProcess("notify", "services.notify", 8004),
)

RUN_DIR = LOCAL_DIR / "run"
LOG_DIR = LOCAL_DIR / "logs"
ENGINE_DIR = LOCAL_DIR / "engines"
MAIL_DIR = LOCAL_DIR / "mail"
"""Maildir of the local SMTP sink: every message notify sends lands in `new/`."""
SMTP_SINK = "smtp"
"""Name of the sink's pid file and log, next to the services'."""
SMTP_SINK_HOST = "127.0.0.1"
DEFAULT_SMTP_PORT = 1025
DEFAULT_UP_TIMEOUT = 90.0
"""Seconds `up` waits for all four services together (NETRAL_UP_TIMEOUT)."""


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


def smtp_port() -> int:
    return int(os.environ.get("NETRAL_SMTP_PORT", DEFAULT_SMTP_PORT))


def _pid_file(name: str) -> Path:
    return RUN_DIR / f"{name}.pid"


def _running_pid(name: str) -> int | None:
    path = _pid_file(name)
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
    tail = _log_tail(log) if log else ""
    raise RuntimeError(f"{url} tidak siap dalam {timeout:.0f} s ({last})\n{tail}")


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


def smtp_environment() -> dict[str, str]:
    """External SMTP when `SMTP_HOST` is set; otherwise the local sink (aiosmtpd), started now.

    The sink stores every message in the maildir `MAIL_DIR` and delivers nothing.
    """
    if os.environ.get("SMTP_HOST"):
        return {}
    port = smtp_port()
    environment = {"SMTP_HOST": SMTP_SINK_HOST, "SMTP_PORT": str(port)}
    log = LOG_DIR / f"{SMTP_SINK}.log"
    running = _running_pid(SMTP_SINK)
    if running is not None:
        if _accepts_connections(SMTP_SINK_HOST, port):
            return environment
        raise RuntimeError(
            f"penampung SMTP lokal sudah berjalan (PID {running}) tetapi tidak di "
            f"{SMTP_SINK_HOST}:{port}; jalankan `netral down` dulu, lalu `netral up` lagi "
            f"(log: {log})"
        )
    if _accepts_connections(SMTP_SINK_HOST, port):
        raise RuntimeError(
            f"port SMTP {SMTP_SINK_HOST}:{port} sudah dipakai proses lain; pilih port lain dengan "
            "NETRAL_SMTP_PORT, atau pakai server SMTP itu dengan SMTP_HOST (dan SMTP_PORT)"
        )
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for part in ("tmp", "new", "cur"):
        # Maildir(create=True) makes these only when MAIL_DIR itself is missing.
        (MAIL_DIR / part).mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"{SMTP_SINK_HOST}:{port}"]
    command += ["-c", "aiosmtpd.handlers.Mailbox", str(MAIL_DIR)]
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    _pid_file(SMTP_SINK).write_text(str(process.pid))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _accepts_connections(SMTP_SINK_HOST, port):
            return environment
        if process.poll() is not None:
            _pid_file(SMTP_SINK).unlink(missing_ok=True)
            raise RuntimeError(
                f"penampung SMTP lokal (aiosmtpd) berhenti dengan kode {process.returncode} "
                f"sebelum mendengarkan di {SMTP_SINK_HOST}:{port}; lihat {log}\n{_log_tail(log)}"
            )
        time.sleep(0.1)
    raise RuntimeError(
        f"penampung SMTP lokal (aiosmtpd) tidak mendengarkan di {SMTP_SINK_HOST}:{port} dalam "
        f"15 s; lihat {log}\n{_log_tail(log)}"
    )


@dataclass(frozen=True)
class Started:
    """A service process `up` launched or found running, and where to look when it fails."""

    service: ServiceProcess
    url: str
    log: Path
    pid: int


def launch_service(service: ServiceProcess, environment: Mapping[str, str]) -> Started:
    """Start the service's process (unless it runs already) without waiting for it."""
    url = f"http://127.0.0.1:{service.port}"
    log = LOG_DIR / f"{service.name}.log"
    running = _running_pid(service.name)
    if running is not None:
        return Started(service, url, log, running)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **environment, "HTTP_PORT": str(service.port)}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", service.module],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _pid_file(service.name).write_text(str(process.pid))
    return Started(service, url, log, process.pid)


class NotReady(RuntimeError):
    """A service did not become ready: the message names it and ends with its log tail."""


async def wait_all_ready(
    started: Sequence[Started], timeout: float, report: Callable[[str], None] = lambda _: None
) -> None:
    """Wait for every service's `/readyz` under one deadline, reporting each as it becomes
    ready. Fails at once when a process exits, and at the deadline naming what is pending."""
    began = time.monotonic()
    deadline = began + timeout
    last: dict[str, str] = {item.service.name: "belum menjawab" for item in started}

    async def one(client: httpx.AsyncClient, item: Started) -> None:
        name = item.service.name
        while time.monotonic() < deadline:
            if not engines.alive(item.pid):
                raise NotReady(
                    f"layanan {name} berhenti sebelum siap; lihat {item.log}\n{_log_tail(item.log)}"
                )
            try:
                response = await client.get(f"{item.url}/readyz", timeout=2)
                if response.status_code == 200:
                    report(f"  siap  {name:<9} {item.url}  ({time.monotonic() - began:.1f} s)")
                    return
                last[name] = response.text
            except httpx.HTTPError as exc:
                last[name] = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(0.1)
        raise NotReady(
            f"layanan {name} tidak siap dalam {timeout:.0f} s ({last[name]}); lihat {item.log}\n"
            f"{_log_tail(item.log)}"
        )

    async with httpx.AsyncClient() as client:
        tasks = [asyncio.create_task(one(client, item)) for item in started]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def up(report: Callable[[str], None] = lambda _: None) -> dict[str, str]:
    """Start what is not running yet, the four services in parallel, and wait for all of
    them; the services' URLs by name plus the environment they got."""
    # Local development: DEV-ONLY keys and the local dev token issuer (services.kit.settings).
    environment = {"DEV_MODE": "true"} | engine_environment()
    environment |= smtp_environment()
    started = [launch_service(service, environment) for service in SERVICES]
    asyncio.run(wait_all_ready(started, up_timeout(), report))
    urls = {item.service.name: item.url for item in started}
    report(f"  Halaman awal (semua halaman, masuk DEV-ONLY): {start_page_url(urls)}")
    return urls | environment


def start_page_url(urls: Mapping[str, str]) -> str:
    """The registry's start page, which links to every page of every service."""
    return f"{urls['registry']}/"


def up_timeout() -> float:
    return float(os.environ.get("NETRAL_UP_TIMEOUT", DEFAULT_UP_TIMEOUT))


def _stop(name: str) -> bool:
    pid = _running_pid(name)
    if pid is None:
        return False
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
    _pid_file(name).unlink(missing_ok=True)
    return True


def down() -> list[str]:
    stopped = [service.name for service in SERVICES if _stop(service.name)]
    if _stop(SMTP_SINK):
        stopped.append(SMTP_SINK)
    if engines.stop(ENGINE_DIR):
        stopped.append("engines")
    return stopped
