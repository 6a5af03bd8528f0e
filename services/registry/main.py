"""Assembly of the registry service: `build_app`, which `python -m services.registry` serves."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from contracts.registry import (
    EmployeeDeactivatedV1,
    EmployeeRegisteredV1,
    EmployeeTransferredV1,
    EmployeeUpdatedV1,
    OrgUnitCreatedV1,
    OrgUnitUpdatedV1,
)
from services.kit.app import create_app
from services.kit.clock import Clock, SystemClock
from services.kit.devkeys import configured_or_dev
from services.kit.runtime import build_runtime
from services.registry import import_pages, pages
from services.registry.api import router
from services.registry.importer import ImportSettings, ImportWorker
from services.registry.nik import NikVault
from services.registry.settings import RegistrySettings
from services.registry.store import RegistryStore
from services.registry.usecases import RegistryUseCases

PAGE_TEMPLATES = Path(__file__).parent / "templates" / "pages"


def build_app(settings: RegistrySettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    clock = clock or SystemClock()
    runtime = build_runtime(settings)
    vault = NikVault(
        configured_or_dev(
            settings.nik_secret,
            settings.nik_key_file,
            NikVault.generate,
            dev_mode=settings.dev_mode,
            setting="NIK_SECRET",
        )
    )
    store = RegistryStore(runtime, clock)
    worker = ImportWorker(
        store,
        vault,
        clock,
        runtime.instance_id,
        ImportSettings(
            chunk_size=settings.import_chunk_size,
            lease_seconds=settings.import_lease_seconds,
            parallel_chunks=settings.import_parallel_chunks,
        ),
        runtime.metrics_registry,
    )
    runtime.startup_hooks.append(store.ensure_indexes)
    runtime.background_tasks += [worker.run, worker.sweep]
    app = create_app(
        runtime,
        "Netralitas ASN: registry",
        [router],
        publishes=[
            OrgUnitCreatedV1,
            OrgUnitUpdatedV1,
            EmployeeRegisteredV1,
            EmployeeUpdatedV1,
            EmployeeTransferredV1,
            EmployeeDeactivatedV1,
        ],
        # The import page takes the same files as the API.
        body_limits={"/v1/imports": settings.max_import_bytes, "/impor": settings.max_import_bytes},
        page_routers=[pages.router, import_pages.router],
        page_templates=PAGE_TEMPLATES,
        # The registry has the people: it hosts the DEV-ONLY sign-in list for every service.
        sign_in_directory=pages.dev_directory,
    )
    app.state.registry = RegistryUseCases(store, vault, clock, worker.notify)
    return app
