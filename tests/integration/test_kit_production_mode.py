"""Outside development mode a service refuses to start without its keys or its token issuer:
the process exits at start (code 3, services.kit.launch) and its log says which setting to set,
instead of generating a DEV-ONLY key per process or trusting the local dev issuer."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from services.kit.launch import LOAD_FAILED_EXIT
from tests.processes import key_file_env, spawn_service

START_SECONDS = 60
# Every key a service reads, unset: the outer environment must not lend one to the test.
KEYS_UNSET = {
    name: ""
    for name in (
        "NIK_SECRET",
        "RECEIPT_KEY_PEM",
        "REPORTER_KEYS",
        "TRACKING_KEY",
        "NOTIFY_CONTACT_PUBLIC_KEY",
        "NOTIFY_CONTACT_PRIVATE_KEY",
        "WEBHOOK_SECRET_KEYS",
        "AUTH_JWKS_URL",
        "WEB_SESSION_KEY",
        "OIDC_CLIENT_SECRET",
        "OIDC_ISSUER",
        "OIDC_CLIENT_ID",
    )
}


def production_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    return {
        **KEYS_UNSET,
        "DEV_MODE": "false",
        "HTTP_PORT": "0",
        # Where development mode would make its DEV-ONLY key files: production must make none.
        **key_file_env(tmp_path),
        **settings,
    }


def exit_and_log(module: str, env: dict[str, str], log: Path) -> tuple[int, str]:
    process = spawn_service(module, env, log)
    try:
        code = process.wait(timeout=START_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return code, log.read_text()


@pytest.mark.parametrize("service", ["registry", "signing", "reports", "notify"])
def test_a_service_without_its_keys_refuses_to_start_outside_dev_mode(tmp_path: Path, service: str) -> None:
    code, log = exit_and_log(f"services.{service}", production_env(tmp_path), tmp_path / f"{service}.log")
    assert code == LOAD_FAILED_EXIT, log
    assert "belum di-set; di produksi kunci wajib dari secret store" in log, log
    assert "DEV_MODE=true hanya untuk pengembangan lokal" in log
    # Nothing was generated in its place: the log is all there is.
    assert [path.name for path in tmp_path.iterdir()] == [f"{service}.log"]


def test_a_service_without_a_token_issuer_refuses_to_start_outside_dev_mode(tmp_path: Path) -> None:
    env = production_env(tmp_path, NIK_SECRET=Fernet.generate_key().decode())
    code, log = exit_and_log("services.registry", env, tmp_path / "registry.log")
    assert code == LOAD_FAILED_EXIT, log
    assert "AUTH_JWKS_URL belum di-set" in log, log
