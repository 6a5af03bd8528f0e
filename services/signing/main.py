"""Assembly of the signing service: `build_app`, which `python -m services.signing` serves."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from contracts.signing import (
    CampaignClosedV1,
    CampaignOpenedV1,
    CampaignPactRevisedV1,
    CampaignRescheduledV1,
    ChainCheckpointV1,
    PledgeOverdueV1,
    PledgeReminderDueV1,
    PledgeSignedV1,
)
from services.kit.app import create_app
from services.kit.clock import Clock, FileClock, SystemClock
from services.kit.devkeys import configured_or_dev
from services.kit.polling import Wakeup
from services.kit.runtime import build_runtime
from services.signing import handlers
from services.signing import pages as signing_pages
from services.signing.api import refused_answer, router
from services.signing.domain import ReceiptKey, Refused
from services.signing.sequencer import ChainSequencer
from services.signing.settings import SigningSettings
from services.signing.store import SigningStore
from services.signing.usecases import SigningMetrics, SigningUseCases

PAGE_TEMPLATES = Path(__file__).parent / "templates" / "pages"


def load_key(settings: SigningSettings) -> ReceiptKey:
    pem = configured_or_dev(
        settings.receipt_key_pem,
        settings.receipt_key_file,
        lambda: ReceiptKey.generate().to_pem(),
        dev_mode=settings.dev_mode,
        setting="RECEIPT_KEY_PEM",
    )
    return ReceiptKey.from_pem(pem)


def build_app(settings: SigningSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or SigningSettings()
    clock = clock or (FileClock(settings.clock_file) if settings.clock_file else SystemClock())
    runtime = build_runtime(settings)
    key = load_key(settings)
    store = SigningStore(runtime, key)
    wakeup = Wakeup()  # a new signature wakes the chain sequencer
    usecases = SigningUseCases(
        store, key, clock, wakeup, SigningMetrics(runtime.metrics_registry), timezone=settings.timezone
    )
    sequencer = ChainSequencer(
        usecases,
        runtime.leases,
        wakeup,
        runtime.metrics_registry,
        batch_size=settings.chain_batch_size,
        checkpoint_seconds=settings.checkpoint_seconds,
    )
    handlers.subscribe(runtime.consumers, store)
    runtime.startup_hooks.append(store.ensure_indexes)
    runtime.background_tasks.append(sequencer.run)
    runtime.background_tasks.append(store.group_commit.run)
    app = create_app(
        runtime,
        "Netralitas ASN: signing",
        [router],
        publishes=[
            CampaignOpenedV1,
            CampaignPactRevisedV1,
            CampaignRescheduledV1,
            CampaignClosedV1,
            PledgeSignedV1,
            PledgeOverdueV1,
            PledgeReminderDueV1,
            ChainCheckpointV1,
        ],
        page_routers=[signing_pages.router],
        page_templates=PAGE_TEMPLATES,
    )
    app.add_exception_handler(Refused, refused_answer)
    app.state.signing_store = store
    app.state.signing_usecases = usecases
    app.state.sequencer = sequencer
    return app
