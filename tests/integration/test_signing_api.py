"""Signing API against real engines: each role on each endpoint, pact versions, bad input."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tests.integration.pemda import registry_and_signing
from tests.kafka_reader import wait_for

HEAD = "197502022000031002"
STAFF = "198503152010011005"
PACT = "Saya menjaga netralitas ASN sebelum, selama, dan sesudah pemilihan."


async def test_roles_pact_versions_and_receipt_codes(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    admin = {"Authorization": f"Bearer {mint('bkpsdm')}"}
    people = ((HEAD, "JPT", "32.01.001"), (STAFF, "STAFF", "32.01.001"))
    async with registry_and_signing(settings_kwargs, mint("bkpsdm"), people) as (
        _,
        signing,
        _settings,
    ):
        campaign = {
            "code": "pemilu-2029",
            "title": "Pakta Integritas Netralitas ASN",
            "election": "Pemilu 2029",
            "deadline": (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).isoformat(),
            "campaign_period_starts_on": (dt.date.today() + dt.timedelta(days=40)).isoformat(),
            "pact_text": PACT,
            "scope": ["32.01"],
            "cascade": "advisory",
        }
        for role in ("opd_admin", "ppk", "employee", "bawaslu", "bkn", "agency", "inspektorat"):
            token = mint(role, org_unit="32.01.001" if role == "opd_admin" else None, nip=STAFF)
            response = await signing.post(
                "/v1/campaigns", json=campaign, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 403, role
        assert (await signing.post("/v1/campaigns", json=campaign)).status_code == 401

        async def created() -> bool:
            return (await signing.post("/v1/campaigns", json=campaign, headers=admin)).status_code == 201

        await wait_for(created, timeout=60, interval=0.5)
        duplicate = await signing.post("/v1/campaigns", json=campaign, headers=admin)
        assert duplicate.status_code == 409
        past = await signing.post(
            "/v1/campaigns",
            json={**campaign, "code": "lama", "deadline": "2020-01-01T00:00:00+07:00"},
            headers=admin,
        )
        assert past.status_code == 422 and "masa depan" in past.text

        async def projected() -> bool:
            response = await signing.get(
                "/v1/campaigns/pemilu-2029/progress", params={"org_unit": "32.01"}, headers=admin
            )
            return bool(response.json().get("expected") == 2)

        await wait_for(projected, timeout=60, interval=0.3)

        staff = {"Authorization": f"Bearer {mint('employee', nip=STAFF)}"}
        no_consent = await signing.post(
            "/v1/campaigns/pemilu-2029/signatures", json={"mode": "online", "consent": False}, headers=staff
        )
        assert no_consent.status_code == 422 and "persetujuan" in no_consent.text
        advisory = await signing.post(
            "/v1/campaigns/pemilu-2029/signatures", json={"mode": "online", "consent": True}, headers=staff
        )
        assert advisory.status_code == 201 and advisory.json()["warning"].startswith("Peringatan")
        first_hash = advisory.json()["receipt"]["pact_sha256"]

        revised = await signing.put(
            "/v1/campaigns/pemilu-2029/pact", json={"pact_text": PACT + " Versi kedua."}, headers=admin
        )
        assert revised.status_code == 200 and revised.json()["pact_version"] == 2
        assert [v["version"] for v in revised.json()["pact_versions"]] == [1, 2]
        head = await signing.post(
            "/v1/campaigns/pemilu-2029/signatures",
            json={"mode": "in_person", "consent": True},
            headers={"Authorization": f"Bearer {mint('employee', nip=HEAD)}"},
        )
        assert head.json()["receipt"]["pact_sha256"] == revised.json()["pact_sha256"] != first_hash

        for role, expected in {
            "bkpsdm": 200,
            "opd_admin": 200,
            "bkn": 200,
            "bawaslu": 200,
            "inspektorat": 200,
            "ppk": 403,
            "employee": 403,
            "agency": 403,
        }.items():
            token = mint(role, org_unit="32.01.001" if role == "opd_admin" else None, nip=STAFF)
            headers = {"Authorization": f"Bearer {token}"}
            progress = await signing.get(
                "/v1/campaigns/pemilu-2029/progress", params={"org_unit": "32.01.001"}, headers=headers
            )
            assert progress.status_code == expected, role
            chain = await signing.get("/v1/campaigns/pemilu-2029/chain/verify", headers=headers)
            assert chain.status_code == (expected if role != "opd_admin" else 403), role
            sign_as = await signing.post(
                "/v1/campaigns/pemilu-2029/signatures",
                json={"mode": "online", "consent": True},
                headers=headers,
            )
            assert sign_as.status_code == (200 if role == "employee" else 403), role
        other_opd = await signing.get(
            "/v1/campaigns/pemilu-2029/progress",
            params={"org_unit": "32.01"},
            headers={"Authorization": f"Bearer {mint('opd_admin', org_unit='32.01.001')}"},
        )
        assert other_opd.status_code == 403

        code = advisory.json()["receipt"]["code"]
        assert (await signing.get(f"/v1/receipts/{code}")).status_code == 200  # public, no login
        assert (await signing.get("/v1/receipts/ZZZZ-ZZZZ-ZZZZ")).status_code == 404
        assert (await signing.get("/v1/receipts/not-a-code!")).status_code == 422
        keys = (await signing.get("/v1/keys")).json()["keys"]
        assert keys[0]["alg"] == "Ed25519" and "BEGIN PUBLIC KEY" in keys[0]["public_pem"]
        metrics = (await signing.get("/metrics")).text
        assert 'netral_signing_signatures_total{campaign="pemilu-2029",mode="online"} 1.0' in metrics
