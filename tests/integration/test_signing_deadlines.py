"""Signing deadlines against real engines: reminders before, overdue notices and the close at
the deadline, each once, with the final checkpoint. Registry and signing run in-process here;
the e2e test runs them as processes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import httpx

from tests.integration.pemda import registry_and_signing
from tests.kafka_reader import events_of, read_topic, wait_for

SEKDA = "197001011995031001"
HEAD = "197502022000031002"
STAFF = "198503152010011005"


async def test_reminders_overdue_and_close_at_deadline(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    admin = {"Authorization": f"Bearer {mint('bkpsdm')}"}
    people = ((SEKDA, "REGIONAL_HEAD", "32.01"), (HEAD, "JPT", "32.01.001"), (STAFF, "STAFF", "32.01.001"))
    async with registry_and_signing(settings_kwargs, mint("bkpsdm"), people) as (
        _,
        signing,
        signing_settings,
    ):
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=6)
        campaign = {
            "code": "pemilu-uji",
            "title": "Pakta Integritas Netralitas ASN",
            "election": "Pemilu Uji",
            "deadline": deadline.isoformat(),
            "campaign_period_starts_on": (dt.date.today() + dt.timedelta(days=40)).isoformat(),
            "pact_text": "Saya menjaga netralitas ASN sebelum, selama, dan sesudah pemilihan.",
            "scope": ["32.01"],
            "cascade": "off",
            "reminder_hours": [1],
        }

        async def created() -> bool:
            return (await signing.post("/v1/campaigns", json=campaign, headers=admin)).status_code == 201

        await wait_for(created, timeout=60, interval=0.5)

        async def projected() -> bool:
            response = await signing.get(
                "/v1/campaigns/pemilu-uji/progress", params={"org_unit": "32.01"}, headers=admin
            )
            return bool(response.json().get("expected") == 3)

        await wait_for(projected, timeout=60, interval=0.3)
        signed = await signing.post(
            "/v1/campaigns/pemilu-uji/signatures",
            json={"mode": "online", "consent": True},
            headers={"Authorization": f"Bearer {mint('employee', nip=SEKDA)}"},
        )
        assert signed.status_code == 201, signed.text

        async def closed() -> bool:
            response = await signing.get("/v1/campaigns/pemilu-uji", headers=admin)
            return bool(response.json()["status"] == "closed")

        await wait_for(closed, timeout=60, interval=0.5)
        late = await signing.post(
            "/v1/campaigns/pemilu-uji/signatures",
            json={"mode": "online", "consent": True},
            headers={"Authorization": f"Bearer {mint('employee', nip=STAFF)}"},
        )
        assert late.status_code == 409 and "ditutup" in late.text
        assert isinstance(signing, httpx.AsyncClient)

    bootstrap = signing_settings.kafka_bootstrap_servers
    pledges = events_of(
        await read_topic(bootstrap, signing_settings.topic("signing.pledges"), lambda r: len(r) >= 5)
    )
    by_type: dict[str, set[str]] = {}
    for event in pledges:
        by_type.setdefault(event.type, set()).add(event.key)
    assert by_type == {
        "pledge.signed.v1": {SEKDA},
        "pledge.reminder_due.v1": {HEAD, STAFF},
        "pledge.overdue.v1": {HEAD, STAFF},
    }
    assert len(pledges) == 5
    campaigns = events_of(
        await read_topic(bootstrap, signing_settings.topic("signing.campaigns"), lambda r: len(r) >= 2)
    )
    assert [event.type for event in campaigns] == ["campaign.opened.v1", "campaign.closed.v1"]
    assert campaigns[1].data["chain_length"] == 1
    checkpoints = events_of(
        await read_topic(
            bootstrap,
            signing_settings.topic("signing.checkpoints"),
            lambda r: any(b'"final":true' in (x.value or b"") for x in r),
        )
    )
    final = [event for event in checkpoints if event.data["final"]]
    assert len(final) == 1 and final[0].data["chain_length"] == 1
