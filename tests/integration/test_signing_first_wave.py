"""The pemda's leaders who sign, and the campaign period, against real engines.

The first tests publish the registry's snapshots onto its topic, as the registry would, so that
the signing service's own projection is what is tested: an elected bupati and wakil
(pejabat negara, no NIP), an acting head (Pj, a PNS) and the Sekda at the pemda's unit, a PPPK
heading an OPD, and one of its staff. The last goes through the registry's API and lifecycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from faststream.kafka import KafkaBroker

from contracts.envelope import CloudEvent, EventData, new_event
from contracts.registry import EmployeeRegisteredV1, EmployeeSnapshot, OrgUnitCreatedV1, OrgUnitSnapshot
from contracts.topics import EMPLOYEES, ORG_UNITS
from services.signing.main import build_app as build_signing
from services.signing.settings import SigningSettings
from services.signing.store import SigningStore
from tests.conftest import running_app
from tests.integration.pemda import registry_and_signing
from tests.kafka_reader import events_of, read_topic, wait_for

BUPATI = "NA0000000000000001"  # elected: a platform id, no NIP
WAKIL = "NA0000000000000002"
PJ = "196805051994031003"
SEKDA = "197001011995031001"
HEAD = "198801012019022001"  # a PPPK heading the OPD (PP 49/2018)
STAFF = "198503152010011005"
PACT = "Saya menjaga netralitas ASN sebelum, selama, dan sesudah pemilihan."
WIB = dt.timezone(dt.timedelta(hours=7))

UNITS: tuple[tuple[str, str, str, str | None, list[str]], ...] = (
    ("32", "Provinsi Jawa Barat", "PROVINCE", None, []),
    ("32.01", "Kabupaten Bogor", "REGENCY", "32", ["32"]),
    ("32.01.001", "Dinas Pendidikan", "OPD", "32.01", ["32", "32.01"]),
)
# (employee id, employment type, level, unit, leader office)
PEOPLE: tuple[tuple[str, str, str, str, str | None], ...] = (
    (BUPATI, "PEJABAT_NEGARA", "REGIONAL_HEAD", "32.01", "KEPALA_DAERAH"),
    (WAKIL, "PEJABAT_NEGARA", "REGIONAL_HEAD", "32.01", "WAKIL_KEPALA_DAERAH"),
    (PJ, "PNS", "REGIONAL_HEAD", "32.01", "PJ_KEPALA_DAERAH"),
    (SEKDA, "PNS", "REGIONAL_HEAD", "32.01", "SEKDA"),
    (HEAD, "PPPK", "JPT", "32.01.001", None),
    (STAFF, "PNS", "STAFF", "32.01.001", None),
)


def _unit_event(code: str, name: str, kind: str, parent: str | None, path: list[str]) -> CloudEvent:
    unit = OrgUnitSnapshot(code=code, name=name, kind=kind, parent_code=parent, path=path, version=1)
    return new_event(OrgUnitCreatedV1(unit=unit), ORG_UNITS.source)


def _employee_event(
    employee_id: str, employment_type: str, level: str, unit: str, office: str | None
) -> CloudEvent:
    path = {"32.01": ["32"], "32.01.001": ["32", "32.01"]}[unit]
    snapshot = EmployeeSnapshot(
        employee_id=employee_id,
        nip=None if employment_type == "PEJABAT_NEGARA" else employee_id,
        name=f"Pejabat {employee_id[-3:]}",
        employment_type=employment_type,
        position="Jabatan",
        level=level,
        org_unit_code=unit,
        org_unit_path=path,
        supervisor_nip=None,
        email=None,
        phone=None,
        active=True,
        version=1,
        leader_office=office,
    )
    data: EventData = EmployeeRegisteredV1(employee=snapshot)
    return new_event(data, EMPLOYEES.source)


@asynccontextmanager
async def signing_with_pemda(
    settings_kwargs: dict[str, object],
) -> AsyncIterator[tuple[httpx.AsyncClient, SigningSettings, SigningStore]]:
    """The signing service, with the registry's snapshots of the pemda above published, and
    its store, to read the projection as the service keeps it."""
    settings = SigningSettings(**settings_kwargs)  # type: ignore[arg-type]
    app = build_signing(settings)
    store: SigningStore = app.state.signing_store
    async with running_app(app) as signing:
        producer = KafkaBroker(settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            events = [_unit_event(*unit) for unit in UNITS] + [_employee_event(*p) for p in PEOPLE]
            for event in events:
                topic = ORG_UNITS.name if event.type.startswith("org_unit") else EMPLOYEES.name
                await producer.publish(
                    event.kafka_value(),
                    settings.topic(topic),
                    key=event.key.encode(),
                    headers=event.kafka_headers(),
                )
        finally:
            await producer.stop()
        yield signing, settings, store


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def campaign_body(code: str, deadline: dt.datetime, starts_on: dt.date) -> dict[str, Any]:
    return {
        "code": code,
        "title": "Pakta Integritas Netralitas ASN",
        "election": "Pilkada Uji",
        "deadline": deadline.isoformat(),
        "campaign_period_starts_on": starts_on.isoformat(),
        "pact_text": PACT,
        "scope": ["32.01"],
        "cascade": "strict",
    }


async def open_campaign(signing: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any]) -> None:
    async def created() -> bool:
        response = await signing.post("/v1/campaigns", json=body, headers=admin)
        assert response.status_code in (201, 422), response.text  # 422 until the units are projected
        return response.status_code == 201

    await wait_for(created, timeout=60, interval=0.3)


async def test_the_pj_and_the_sekda_sign_first_and_elected_heads_are_not_expected(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    admin = bearer(mint("bkpsdm"))
    async with signing_with_pemda(settings_kwargs) as (signing, _settings, store):
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
        await open_campaign(
            signing, admin, campaign_body("pilkada-uji", deadline, deadline.date() + dt.timedelta(days=5))
        )

        async def progress() -> dict[str, Any]:
            response = await signing.get(
                "/v1/campaigns/pilkada-uji/progress", params={"org_unit": "32.01"}, headers=admin
            )
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        async def everyone_projected() -> bool:
            # The projection holds all six; the elected bupati and wakil are not expected.
            projected = await store.employees.count_documents({})
            return projected == len(PEOPLE) and (await progress())["expected"] == 4

        await wait_for(everyone_projected, timeout=60, interval=0.3)
        pj_doc = await store.employees.find_one({"_id": PJ})
        assert pj_doc is not None
        assert (pj_doc["leader_office"], pj_doc["employment_type"]) == ("PJ_KEPALA_DAERAH", "PNS")
        unsigned = await signing.get(
            "/v1/campaigns/pilkada-uji/unsigned", params={"org_unit": "32.01"}, headers=admin
        )
        assert {item["employee_id"] for item in unsigned.json()["items"]} == {PJ, SEKDA, HEAD, STAFF}

        async def sign(employee_id: str) -> httpx.Response:
            nip = None if employee_id.startswith("NA") else employee_id
            return await signing.post(
                "/v1/campaigns/pilkada-uji/signatures",
                json={"mode": "online", "consent": True},
                headers=bearer(mint("employee", nip=nip, employee_id=employee_id)),
            )

        head_waits = await sign(HEAD)
        assert head_waits.status_code == 409, head_waits.text
        assert head_waits.json()["detail"] == {
            "message": "Pj kepala daerah dan Sekda pemda 32.01 belum menandatangani pakta (2 dari 2 belum); "
            "pejabat pimpinan tinggi (JPT) dapat menandatangani setelah Pj kepala daerah dan Sekda",
            "waiting_for": sorted([PJ, SEKDA]),  # not the elected bupati or wakil
        }
        elected = await sign(BUPATI)
        assert elected.status_code == 409 and "bukan ASN" in elected.json()["detail"]["message"]

        assert (await sign(PJ)).status_code == 201
        still_waits = await sign(HEAD)
        assert still_waits.status_code == 409
        assert still_waits.json()["detail"]["waiting_for"] == [SEKDA]
        assert still_waits.json()["detail"]["message"].startswith("Sekda pemda 32.01 belum menandatangani")
        staff_waits = await sign(STAFF)
        assert staff_waits.status_code == 409 and staff_waits.json()["detail"]["waiting_for"] == [HEAD]

        assert (await sign(SEKDA)).status_code == 201
        assert (await sign(HEAD)).status_code == 201
        assert (await sign(STAFF)).status_code == 201
        done = await progress()
        assert (done["expected"], done["signed"], done["percent"]) == (4, 4, 100.0)


async def test_the_deadline_stays_before_the_campaign_period(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    admin = bearer(mint("bkpsdm"))
    async with signing_with_pemda(settings_kwargs) as (signing, settings, store):
        starts_on = dt.date.today() + dt.timedelta(days=20)
        period_start = dt.datetime.combine(starts_on, dt.time.min, tzinfo=WIB)
        await open_campaign(signing, admin, campaign_body("pemilu-uji", period_start, starts_on))
        late = await signing.post(
            "/v1/campaigns",
            json=campaign_body("pemilu-telat", period_start + dt.timedelta(days=1), starts_on),
            headers=admin,
        )
        assert late.status_code == 422
        [error] = late.json()["errors"]
        assert error["field"] == "deadline"
        assert error["message"] == (
            f"tenggat {starts_on + dt.timedelta(days=1)} pukul 00.00 WIB melewati awal masa kampanye "
            f"{starts_on} pukul 00.00 WIB: pakta ditandatangani paling lambat saat masa kampanye dimulai"
        )
        missing = campaign_body("tanpa-masa", period_start, starts_on)
        del missing["campaign_period_starts_on"]
        assert (await signing.post("/v1/campaigns", json=missing, headers=admin)).status_code == 422

        # The KPU moves the period forward, before the deadline: refused; with the deadline: kept.
        earlier = starts_on - dt.timedelta(days=5)
        moved_alone = await signing.put(
            "/v1/campaigns/pemilu-uji/schedule",
            json={"campaign_period_starts_on": earlier.isoformat()},
            headers=admin,
        )
        assert moved_alone.status_code == 422 and "melewati awal masa kampanye" in moved_alone.text
        new_deadline = dt.datetime.combine(earlier, dt.time.min, tzinfo=WIB)
        moved = await signing.put(
            "/v1/campaigns/pemilu-uji/schedule",
            json={"campaign_period_starts_on": earlier.isoformat(), "deadline": new_deadline.isoformat()},
            headers=admin,
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["campaign_period_starts_on"] == earlier.isoformat()
        assert dt.datetime.fromisoformat(moved.json()["deadline"]) == new_deadline
        assert (
            await signing.put("/v1/campaigns/pemilu-uji/schedule", json={}, headers=admin)
        ).status_code == 422
        refused = await signing.put(
            "/v1/campaigns/pemilu-uji/schedule",
            json={"campaign_period_starts_on": starts_on.isoformat()},
            headers=bearer(mint("opd_admin", org_unit="32.01.001")),
        )
        assert refused.status_code == 403

        # An old campaign, stored before the period was recorded: unknown, shown as null.
        old_doc = await store.campaigns.find_one({"_id": "pemilu-uji"})
        assert old_doc is not None
        del old_doc["campaign_period_starts_on"]
        await store.campaigns.insert_one({**old_doc, "_id": "lama"})
        old = await signing.get("/v1/campaigns/lama", headers=admin)
        assert old.status_code == 200 and old.json()["campaign_period_starts_on"] is None
        needs_period = await signing.put(
            "/v1/campaigns/lama/schedule", json={"deadline": new_deadline.isoformat()}, headers=admin
        )
        assert needs_period.status_code == 422 and "campaign_period_starts_on" in needs_period.text

        campaigns = events_of(
            await read_topic(
                settings.kafka_bootstrap_servers, settings.topic("signing.campaigns"), lambda r: len(r) >= 2
            )
        )
    assert [event.type for event in campaigns] == ["campaign.opened.v1", "campaign.rescheduled.v1"]
    assert campaigns[0].data["campaign"]["campaign_period_starts_on"] == starts_on.isoformat()
    assert campaigns[1].data["campaign"]["campaign_period_starts_on"] == earlier.isoformat()


async def test_through_the_registry_an_elected_head_then_a_pj(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    """The registry's own lifecycle: the elected bupati in office (not expected, never waited
    for), then their term ends and a Pj is appointed, whom the OPD heads wait for."""
    admin = bearer(mint("bkpsdm"))
    people = ((SEKDA, "REGIONAL_HEAD", "32.01"), (HEAD, "JPT", "32.01.001"))
    async with registry_and_signing(settings_kwargs, mint("bkpsdm"), people) as (
        registry,
        signing,
        _,
    ):
        elected = await registry.post(
            "/v1/employees",
            json={
                "name": "Bupati Terpilih",
                "employment_type": "PEJABAT_NEGARA",
                "position": "Bupati Bogor",
                "level": "REGIONAL_HEAD",
                "org_unit_code": "32.01",
                "leader_office": "KEPALA_DAERAH",
                "nik": "3201012505700001",
            },
            headers=admin,
        )
        assert elected.status_code == 201, elected.text
        bupati = elected.json()["employee_id"]
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
        await open_campaign(
            signing, admin, campaign_body("pilkada-reg", deadline, deadline.date() + dt.timedelta(days=5))
        )

        async def expected(count: int) -> bool:
            response = await signing.get(
                "/v1/campaigns/pilkada-reg/progress", params={"org_unit": "32.01"}, headers=admin
            )
            return bool(response.json().get("expected") == count)

        async def sign(employee_id: str, nip: str | None) -> httpx.Response:
            return await signing.post(
                "/v1/campaigns/pilkada-reg/signatures",
                json={"mode": "online", "consent": True},
                headers=bearer(mint("employee", nip=nip, employee_id=employee_id)),
            )

        await wait_for(lambda: expected(2), timeout=60, interval=0.3)  # the Sekda and the JPT
        bupati_signs = await sign(bupati, None)
        assert (
            bupati_signs.status_code == 409 and "pejabat negara" in bupati_signs.json()["detail"]["message"]
        )
        jpt_waits = await sign(HEAD, HEAD)
        assert jpt_waits.json()["detail"]["waiting_for"] == [SEKDA]  # not the bupati

        ended = await registry.post(
            f"/v1/employees/{bupati}/deactivate",
            json={"reason": "TERM_ENDED", "note": "akhir masa jabatan"},
            headers=admin,
        )
        assert ended.status_code == 200, ended.text
        acting = await registry.post(
            "/v1/employees",
            json={
                "nip": PJ,
                "name": "Penjabat Bupati",
                "employment_type": "PNS",
                "position": "Penjabat Bupati Bogor",
                "level": "REGIONAL_HEAD",
                "org_unit_code": "32.01",
                "leader_office": "PJ_KEPALA_DAERAH",
            },
            headers=admin,
        )
        assert acting.status_code == 201, acting.text
        await wait_for(lambda: expected(3), timeout=60, interval=0.3)
        assert (await sign(SEKDA, SEKDA)).status_code == 201
        waits_for_pj = await sign(HEAD, HEAD)
        assert waits_for_pj.status_code == 409
        assert waits_for_pj.json()["detail"]["waiting_for"] == [PJ]
        assert waits_for_pj.json()["detail"]["message"].startswith(
            "Pj kepala daerah pemda 32.01 belum menandatangani pakta (1 dari 2 belum)"
        )
        assert (await sign(PJ, PJ)).status_code == 201
        assert (await sign(HEAD, HEAD)).status_code == 201
