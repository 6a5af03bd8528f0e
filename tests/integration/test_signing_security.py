"""Signing against a database writer (issue 12, item 11), on real engines: a signature written
straight into MongoDB without the receipt key is never chained, and a chain cut back after a
published checkpoint is reported by `/chain/verify`."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from bson import ObjectId
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.signing.settings import SigningSettings
from tests.integration.pemda import registry_and_signing
from tests.kafka_reader import events_of, read_topic, wait_for

SEKDA = "197001011995031001"
HEAD = "197502022000031002"
STAFF = "198503152010011005"
PEOPLE = ((SEKDA, "REGIONAL_HEAD", "32.01"), (HEAD, "JPT", "32.01.001"), (STAFF, "STAFF", "32.01.001"))
CAMPAIGN = "pemilu-uji"
PACT = "Saya menjaga netralitas ASN sebelum, selama, dan sesudah pemilihan."


@asynccontextmanager
async def campaign_open(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncDatabase[dict[str, Any]], SigningSettings]]:
    """Registry and signing with the people above projected, a campaign without cascade open,
    and the signing service's own database, as a writer who has its credentials sees it."""
    admin = {"Authorization": f"Bearer {mint('bkpsdm')}"}
    kwargs = {**settings_kwargs, "checkpoint_seconds": 0.3}
    async with registry_and_signing(kwargs, mint("bkpsdm"), PEOPLE) as (_, signing, settings):
        campaign = {
            "code": CAMPAIGN,
            "title": "Pakta Integritas Netralitas ASN",
            "election": "Pemilu Uji",
            "deadline": (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).isoformat(),
            "campaign_period_starts_on": (dt.date.today() + dt.timedelta(days=40)).isoformat(),
            "pact_text": PACT,
            "scope": ["32.01"],
            "cascade": "off",
        }

        async def created() -> bool:
            return (await signing.post("/v1/campaigns", json=campaign, headers=admin)).status_code == 201

        await wait_for(created, timeout=60, interval=0.5)

        async def projected() -> bool:
            response = await signing.get(
                f"/v1/campaigns/{CAMPAIGN}/progress", params={"org_unit": "32.01"}, headers=admin
            )
            return bool(response.json().get("expected") == len(PEOPLE))

        await wait_for(projected, timeout=60, interval=0.3)
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri)
        try:
            yield signing, client[settings.database_name], settings
        finally:
            await client.close()


async def sign(signing: httpx.AsyncClient, mint: Callable[..., str], nip: str) -> dict[str, Any]:
    response = await signing.post(
        f"/v1/campaigns/{CAMPAIGN}/signatures",
        json={"mode": "online", "consent": True},
        headers={"Authorization": f"Bearer {mint('employee', nip=nip)}"},
    )
    assert response.status_code == 201, response.text
    receipt: dict[str, Any] = response.json()["receipt"]
    return receipt


async def wait_chained(signing: httpx.AsyncClient, code: str) -> None:
    async def chained() -> bool:
        return bool((await signing.get(f"/v1/receipts/{code}")).json()["stage"] == "chained")

    await wait_for(chained, timeout=30, interval=0.2)


def forged_receipt(code: str, signer: str, pact_sha256: str, key_id: str) -> dict[str, Any]:
    """What a writer without the receipt key can make: a well-formed statement with the
    service's key id, signed with a key of its own."""
    statement = {
        "code": code,
        "campaign": CAMPAIGN,
        "signer": signer,
        "pact_sha256": pact_sha256,
        "signed_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "mode": "online",
        "authenticated_by": f"employee:pegawai-{signer}",
        "recorded_by": None,
    }
    data = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    signature = base64.urlsafe_b64encode(Ed25519PrivateKey.generate().sign(data)).rstrip(b"=").decode()
    return {
        **statement,
        "statement_hash": hashlib.sha256(data).hexdigest(),
        "statement_signature": signature,
        "key_id": key_id,
        "chain_index": None,
        "prev_hash": None,
        "hash": None,
        "signature": None,
        "status": "pending",
    }


async def test_a_signature_written_without_the_receipt_key_is_never_chained(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    auditor = {"Authorization": f"Bearer {mint('bawaslu')}"}
    async with campaign_open(settings_kwargs, mint) as (signing, db, _settings):
        key_id = (await signing.get("/v1/keys")).json()["keys"][0]["key_id"]
        pact = (await signing.get(f"/v1/campaigns/{CAMPAIGN}", headers=auditor)).json()["pact_sha256"]
        forged = forged_receipt("FAKE-2345-6789", HEAD, pact, key_id)
        await db["signatures"].insert_one(
            {
                "_id": f"{CAMPAIGN}:{HEAD}",
                "campaign": CAMPAIGN,
                "employee_id": HEAD,
                "nip": HEAD,
                "level": "JPT",
                "org_unit_code": "32.01.001",
                "org_unit_path": ["32", "32.01"],
                "receipt": forged,
                "pending": True,
                "authenticated_by": forged["authenticated_by"],
                "recorded_by": None,
                "client": {},
                "cascade_warning": None,
                "accepted": ObjectId(),
            }
        )
        genuine = await sign(signing, mint, STAFF)
        await wait_chained(signing, genuine["code"])

        chain = (await signing.get(f"/v1/campaigns/{CAMPAIGN}/chain/verify", headers=auditor)).json()
        assert (chain["valid"], chain["length"]) == (True, 1), chain
        left = await signing.get(f"/v1/receipts/{forged['code']}")
        assert left.status_code == 404 or left.json()["stage"] == "pending", left.text
        stored = await db["signatures"].find_one({"receipt.code": forged["code"]})
        assert stored is None or stored["pending"] is not False
        metrics = (await signing.get("/metrics")).text
        assert "netral_signing_quarantined_signatures_total 1.0" in metrics
        # A ceremony records in-person signatures only, and only of the admin's own unit, even
        # for an employee who signed already.
        ceremony = f"/v1/campaigns/{CAMPAIGN}/ceremony-signatures"
        own_admin = {"Authorization": f"Bearer {mint('opd_admin', org_unit='32.01.001')}"}
        online = await signing.post(
            ceremony, json={"employee_id": HEAD, "mode": "online", "consent": True}, headers=own_admin
        )
        assert online.status_code == 422 and "mode in_person" in online.text, online.text
        other_admin = {"Authorization": f"Bearer {mint('opd_admin', org_unit='32.01.002')}"}
        outside = await signing.post(
            ceremony, json={"employee_id": STAFF, "consent": True}, headers=other_admin
        )
        assert outside.status_code == 403 and genuine["code"] not in outside.text, outside.text
        # The employee whose name the forgery used can still sign, and gets a receipt of their own.
        own = await sign(signing, mint, HEAD)
        assert own["code"] != forged["code"]
        await wait_chained(signing, own["code"])


async def test_a_chain_cut_back_after_its_checkpoint_is_reported(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    auditor = {"Authorization": f"Bearer {mint('bawaslu')}"}
    async with campaign_open(settings_kwargs, mint) as (signing, db, settings):
        receipts = [await sign(signing, mint, nip) for nip in (SEKDA, HEAD, STAFF)]
        for receipt in receipts:
            await wait_chained(signing, receipt["code"])
        await read_topic(
            settings.kafka_bootstrap_servers,
            settings.topic("signing.checkpoints"),
            lambda records: any(event.data["chain_length"] == 3 for event in events_of(records)),
        )
        whole = (await signing.get(f"/v1/campaigns/{CAMPAIGN}/chain/verify", headers=auditor)).json()
        assert (whole["valid"], whole["length"]) == (True, 3), whole

        # A writer removes the last signature and moves the head back to match: the chain left
        # is internally sound, and only the published checkpoint still knows its length.
        last = await db["signatures"].find_one({"campaign": CAMPAIGN, "receipt.chain_index": 2})
        second = await db["signatures"].find_one({"campaign": CAMPAIGN, "receipt.chain_index": 1})
        assert last is not None and second is not None
        await db["signatures"].delete_one({"_id": last["_id"]})
        await db["campaigns"].update_one(
            {"_id": CAMPAIGN}, {"$set": {"chain_length": 2, "head_hash": second["receipt"]["hash"]}}
        )
        cut = (await signing.get(f"/v1/campaigns/{CAMPAIGN}/chain/verify", headers=auditor)).json()
        assert (cut["valid"], cut["length"], cut["first_broken"]) == (False, 2, 2), cut
        assert "checkpoint" in cut["problem"], cut
