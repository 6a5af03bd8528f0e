"""A small pemda for signing tests: registry and signing in-process on the shared engines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx

from services.registry.main import build_app as build_registry
from services.registry.settings import RegistrySettings
from services.signing.main import build_app as build_signing
from services.signing.settings import SigningSettings
from tests.conftest import running_app

UNITS = (
    {"code": "32", "name": "Provinsi Jawa Barat", "kind": "PROVINCE"},
    {"code": "32.01", "name": "Kabupaten Bogor", "kind": "REGENCY", "parent_code": "32"},
    {"code": "32.01.001", "name": "Dinas Pendidikan", "kind": "OPD", "parent_code": "32.01"},
)


@asynccontextmanager
async def registry_and_signing(
    settings_kwargs: dict[str, object],
    admin_token: str,
    people: Sequence[tuple[str, str, str]],
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, SigningSettings]]:
    """Both services, each with its own database, the org units above and `people` as
    (nip, level, org unit) registered through the registry's API; a REGIONAL_HEAD is the Sekda."""
    common = {key: value for key, value in settings_kwargs.items() if key != "mongodb_database"}
    database = str(settings_kwargs["mongodb_database"])
    registry_settings = RegistrySettings(mongodb_database=f"{database}_r", **common)  # type: ignore[arg-type]
    signing_settings = SigningSettings(mongodb_database=f"{database}_s", **common)  # type: ignore[arg-type]
    admin = {"Authorization": f"Bearer {admin_token}"}
    async with (
        running_app(build_registry(registry_settings)) as registry,
        running_app(build_signing(signing_settings)) as signing,
    ):
        for unit in UNITS:
            assert (await registry.post("/v1/org-units", json=unit, headers=admin)).status_code == 201
        for nip, level, unit_code in people:
            body = {
                "nip": nip,
                "name": f"Pegawai {nip[-3:]}",
                "employment_type": "PNS",
                "position": "Jabatan",
                "level": level,
                "org_unit_code": unit_code,
                # A PNS at level REGIONAL_HEAD is the pemda's Sekda (issue 13: the office is named).
                "leader_office": "SEKDA" if level == "REGIONAL_HEAD" else None,
            }
            assert (await registry.post("/v1/employees", json=body, headers=admin)).status_code == 201
        yield registry, signing, signing_settings
