"""Startup benchmark: how soon each service, started alone against running engines, answers
`/healthz` and then `/readyz`, and how long a graceful stop takes.

For each service it runs `--runs` starts: the first on a new database and a new consumer
group (a first deploy), the others on the same ones (a restart or a rollout). Times are from
just before the process is spawned to the first 200, polled every 10 ms. It also times the
bare imports of the service module (`python -c "import ..."`), the floor under `/healthz`.
Goals (issue 9): `/healthz` within 1 s, `/readyz` within 10 s on Tansu.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from netral import engines
from netral.devissuer import ensure_dev_keys
from tests.processes import key_file_env, spawn_service, stop_service

SERVICES = (
    ("registry", "services.registry"),
    ("signing", "services.signing"),
    ("reports", "services.reports"),
    ("notify", "services.notify"),
)
HEALTHZ_GOAL = 1.0
READYZ_GOAL = 10.0
POLL = 0.01


@dataclass
class Run:
    healthz: float
    readyz: float
    stop: float


@dataclass
class ServiceFigures:
    name: str
    imports: list[float] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)


async def first_200(client: httpx.AsyncClient, url: str, began: float, timeout: float) -> float:
    while time.perf_counter() - began < timeout:
        try:
            if (await client.get(url)).status_code == 200:
                return time.perf_counter() - began
        except httpx.TransportError:
            pass
        await asyncio.sleep(POLL)
    raise RuntimeError(f"{url}: no 200 within {timeout:.0f} s")


async def one_start(module: str, env: dict[str, str], log: Path) -> Run:
    port = engines.free_port()
    base = f"http://127.0.0.1:{port}"
    began = time.perf_counter()
    process = spawn_service(module, {**env, "HTTP_PORT": str(port)}, log)
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            healthz = await first_200(client, f"{base}/healthz", began, 30)
            readyz = await first_200(client, f"{base}/readyz", began, 60)
    finally:
        stopping = time.perf_counter()
        code = stop_service(process)
        stop = time.perf_counter() - stopping
    if code not in (0, -15):
        raise RuntimeError(f"{module} exited with {code}; see {log}")
    return Run(healthz, readyz, stop)


def import_seconds(module: str) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}.main"], check=True)
    return time.perf_counter() - began


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):5.2f} / {max(values):5.2f}"


def report(figures: list[ServiceFigures]) -> bool:
    print()
    print("seconds from spawn, median / max; first start = new database and consumer group")
    header = (
        f"{'service':<9} {'imports':>13} {'/healthz':>13} {'/readyz first':>13} "
        f"{'/readyz again':>13} {'stop':>13}"
    )
    print(header)
    print("-" * len(header))
    met = True
    for item in figures:
        first, again = item.runs[:1], item.runs[1:] or item.runs[:1]
        healthz = [run.healthz for run in item.runs]
        readyz = [run.readyz for run in item.runs]
        print(
            f"{item.name:<9} {summary(item.imports):>13} {summary(healthz):>13} "
            f"{summary([run.readyz for run in first]):>13} {summary([run.readyz for run in again]):>13} "
            f"{summary([run.stop for run in item.runs]):>13}"
        )
        met &= max(healthz) <= HEALTHZ_GOAL and max(readyz) <= READYZ_GOAL
    print()
    for item in figures:
        worst_healthz = max(run.healthz for run in item.runs)
        worst_readyz = max(run.readyz for run in item.runs)
        print(
            f"{item.name:<9} /healthz max {worst_healthz:.2f} s = "
            f"{worst_healthz / HEALTHZ_GOAL:.2f} x goal ({HEALTHZ_GOAL:.0f} s); /readyz max "
            f"{worst_readyz:.2f} s = {worst_readyz / READYZ_GOAL:.2f} x goal "
            f"({READYZ_GOAL:.0f} s)"
        )
    print("all goals met" if met else "GOAL MISSED")
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.startup_bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="starts per service (default 5)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="netral-startbench-"))
    external = bool(os.environ.get("MONGODB_URI") and os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    engine_root = work / "engines"
    try:
        if external:
            uri, bootstrap = os.environ["MONGODB_URI"], os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        else:
            running = engines.start(engine_root)
            uri, bootstrap = running.mongodb_uri, running.kafka_bootstrap
        print(f"engines: {uri}, {bootstrap}; work dir {work}", flush=True)
        keys = work / "keys"
        ensure_dev_keys(keys)
        (keys / "reporter.fernet").write_bytes(Fernet.generate_key())
        unique = f"b{uuid.uuid4().hex[:8]}"
        common = {
            "MONGODB_URI": uri,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC_PREFIX": f"{unique}.",
            "DEV_MODE": "true",
            # Those not made above are made by the first service that needs them (atomically).
            **key_file_env(keys),
            "LOG_LEVEL": "WARNING",
        }
        figures: list[ServiceFigures] = []
        for name, module in SERVICES:
            item = ServiceFigures(name)
            env = {**common, "MONGODB_DATABASE": f"{unique}_{name}"}
            for index in range(args.runs):
                item.imports.append(import_seconds(module))
                run = asyncio.run(one_start(module, env, work / f"{name}.log"))
                item.runs.append(run)
                print(
                    f"{name} run {index + 1}: imports {item.imports[-1]:.2f} s, "
                    f"/healthz {run.healthz:.2f} s, /readyz {run.readyz:.2f} s, stop {run.stop:.2f} s",
                    flush=True,
                )
            figures.append(item)
        return 0 if report(figures) else 1
    finally:
        if not external:
            engines.stop(engine_root)
        shutil.rmtree(work / "engines", ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
