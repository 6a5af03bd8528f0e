"""End to end: registry and signing as real processes on real engines. A pemda signs its pact
in a strict cascade; progress is checked at every step; receipts verify publicly and offline;
tampering with the stored chain is detected; two signing processes build one chain."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from tests.kafka_reader import events_of, read_topic, wait_for
from tests.processes import ServiceRunner

SEKDA = "197001011995031001"
HEAD_1 = "197502022000031002"
HEAD_2 = "197603032001031003"
ADMIN_1 = "198004042005031004"
STAFF_1 = "198503152010011005"
STAFF_2 = "198503152010011006"
STAFF_3 = "198503152010011007"  # in OPD 2
CROWD = [f"199001012015031{i:03d}" for i in range(100, 160)]  # OPD 1 staff for the concurrency run

UNITS = [
    {"code": "32", "name": "Provinsi Jawa Barat", "kind": "PROVINCE"},
    {"code": "32.01", "name": "Kabupaten Bogor", "kind": "REGENCY", "parent_code": "32"},
    {"code": "32.01.001", "name": "Dinas Pendidikan", "kind": "OPD", "parent_code": "32.01"},
    {"code": "32.01.001.01", "name": "Sekretariat", "kind": "SUB_UNIT", "parent_code": "32.01.001"},
    {"code": "32.01.002", "name": "Dinas Kesehatan", "kind": "OPD", "parent_code": "32.01"},
]
PEOPLE = [
    (SEKDA, "Sekretaris Daerah", "REGIONAL_HEAD", "32.01"),
    (HEAD_1, "Kepala Dinas Pendidikan", "JPT", "32.01.001"),
    (HEAD_2, "Kepala Dinas Kesehatan", "JPT", "32.01.002"),
    (ADMIN_1, "Sekretaris Dinas", "ADMINISTRATOR", "32.01.001.01"),
    (STAFF_1, "Guru Ahli Pertama", "STAFF", "32.01.001.01"),
    (STAFF_2, "Pengadministrasi Umum", "STAFF", "32.01.001.01"),
    (STAFF_3, "Perawat Terampil", "STAFF", "32.01.002"),
]
PACT = (
    "Pakta Integritas Netralitas ASN: menjaga netralitas sebelum, selama, dan sesudah pemilihan; "
    "menghindari konflik kepentingan; bijak bermedia sosial; menolak politik uang."
)


def start(runner: ServiceRunner, module: str, database: str) -> str:
    return runner.start(module, database, LOG_LEVEL="WARNING", CHECKPOINT_SECONDS="1").url


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_strict_cascade_receipts_chain_and_two_replicas(
    service_runner: ServiceRunner,
    mint: Callable[..., str],
    service_env: dict[str, str],
    tmp_path: Path,
    key_dir: Path,
) -> None:
    prefix = service_env["KAFKA_TOPIC_PREFIX"]
    signing_db = f"{service_env['MONGODB_DATABASE']}_signing"
    registry = start(service_runner, "services.registry", f"{service_env['MONGODB_DATABASE']}_registry")
    signing = start(service_runner, "services.signing", signing_db)
    admin = bearer(mint("bkpsdm"))
    async with httpx.AsyncClient(timeout=60) as http:
        for unit in UNITS:
            assert (await http.post(f"{registry}/v1/org-units", json=unit, headers=admin)).status_code == 201
        people = PEOPLE + [(nip, "Guru Ahli Pertama", "STAFF", "32.01.001.01") for nip in CROWD]
        for nip, position, level, unit_code in people:
            body = {
                "nip": nip,
                "name": f"Pegawai {nip[-3:]}",
                "employment_type": "PNS",
                "position": position,
                "level": level,
                "org_unit_code": unit_code,
                # The registry names each pemda leader's office: here the Sekda, the first wave.
                "leader_office": "SEKDA" if level == "REGIONAL_HEAD" else None,
            }
            assert (await http.post(f"{registry}/v1/employees", json=body, headers=admin)).status_code == 201

        deadline = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat()
        campaign = {
            "code": "pilkada-2029",
            "title": "Pakta Integritas Netralitas ASN Pilkada 2029",
            "election": "Pilkada 2029",
            "deadline": deadline,
            "campaign_period_starts_on": (dt.date.today() + dt.timedelta(days=60)).isoformat(),
            "pact_text": PACT,
            "scope": ["32.01"],
            "cascade": "strict",
        }
        created: httpx.Response | None = None

        async def campaign_created() -> bool:
            nonlocal created
            created = await http.post(f"{signing}/v1/campaigns", json=campaign, headers=admin)
            return created.status_code == 201  # 422 until the projection knows the scope's units

        await wait_for(campaign_created, timeout=60, interval=0.5)

        async def progress(unit: str = "32.01") -> dict[str, Any]:
            response = await http.get(
                f"{signing}/v1/campaigns/pilkada-2029/progress", params={"org_unit": unit}, headers=admin
            )
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        async def all_projected() -> bool:
            return bool((await progress())["expected"] == len(people))

        await wait_for(all_projected, timeout=60, interval=0.5)

        async def sign(nip: str) -> httpx.Response:
            return await http.post(
                f"{signing}/v1/campaigns/pilkada-2029/signatures",
                json={"mode": "online", "consent": True},
                headers=bearer(mint("employee", nip=nip)),
            )

        refused = await sign(STAFF_1)
        assert refused.status_code == 409
        assert HEAD_1 in refused.json()["detail"]["waiting_for"]
        head_waits = await sign(HEAD_1)
        assert head_waits.status_code == 409  # the Sekda has not signed yet, and is named
        assert head_waits.json()["detail"]["waiting_for"] == [SEKDA]
        assert head_waits.json()["detail"]["message"].startswith(
            "Sekda pemda 32.01 belum menandatangani pakta"
        )
        assert (await progress())["signed"] == 0

        assert (await sign(SEKDA)).status_code == 201
        assert (await sign(HEAD_1)).status_code == 201
        first = await sign(STAFF_1)
        assert first.status_code == 201, first.text
        again = await sign(STAFF_1)
        assert again.status_code == 200 and again.json()["receipt"]["code"] == first.json()["receipt"]["code"]
        assert (await sign(STAFF_3)).status_code == 409  # OPD 2's head has not signed
        ceremony = await http.post(
            f"{signing}/v1/campaigns/pilkada-2029/ceremony-signatures",
            json={"employee_id": STAFF_2, "consent": True},
            headers=bearer(mint("opd_admin", org_unit="32.01.001")),
        )
        assert ceremony.status_code == 201, ceremony.text
        outside = await http.post(
            f"{signing}/v1/campaigns/pilkada-2029/ceremony-signatures",
            json={"employee_id": STAFF_3, "consent": True},
            headers=bearer(mint("opd_admin", org_unit="32.01.001")),
        )
        assert outside.status_code == 403  # another OPD's ceremony: out of the admin's scope

        totals = await progress()
        assert (totals["expected"], totals["signed"]) == (len(people), 4)
        by_child = {child["org_unit"]: (child["signed"], child["expected"]) for child in totals["children"]}
        assert by_child == {"32.01.001": (3, 4 + len(CROWD)), "32.01.002": (0, 2)}
        unsigned = await http.get(
            f"{signing}/v1/campaigns/pilkada-2029/unsigned",
            params={"org_unit": "32.01.002"},
            headers=admin,
        )
        assert {item["nip"] for item in unsigned.json()["items"]} == {HEAD_2, STAFF_3}

        # Receipts: public verification after chaining, and offline with `netral verify`.
        code = first.json()["receipt"]["code"]

        async def chained() -> bool:
            body = (await http.get(f"{signing}/v1/receipts/{code}")).json()
            return bool(body["valid"] and body["stage"] == "chained")

        await wait_for(chained, timeout=30)
        receipt = (await http.get(f"{signing}/v1/receipts/{code.lower().replace('-', '')}")).json()["receipt"]
        key_pem = (await http.get(f"{signing}/v1/keys")).json()["keys"][0]["public_pem"]
        (tmp_path / "key.pem").write_text(key_pem)
        (tmp_path / "receipt.json").write_text(json.dumps(receipt))
        assert (
            _netral("verify", str(tmp_path / "receipt.json"), "--public-key", str(tmp_path / "key.pem")) == 0
        )
        forged = dict(receipt, signer=STAFF_2)
        (tmp_path / "forged.json").write_text(json.dumps(forged))
        assert (
            _netral("verify", str(tmp_path / "forged.json"), "--public-key", str(tmp_path / "key.pem")) != 0
        )

        # Two signing processes take the crowd's signatures at once, each person twice.
        second = start(service_runner, "services.signing", signing_db)
        targets = [signing, second]
        responses = await asyncio.gather(
            *[
                http.post(
                    f"{targets[(i + twice) % 2]}/v1/campaigns/pilkada-2029/signatures",
                    json={"mode": "online", "consent": True},
                    headers=bearer(mint("employee", nip=nip)),
                )
                for twice in (0, 1)
                for i, nip in enumerate(CROWD)
            ]
        )
        assert all(response.status_code in (200, 201) for response in responses)
        codes: dict[str, set[str]] = {}
        for response, nip in zip(responses, CROWD + CROWD, strict=True):
            codes.setdefault(nip, set()).add(response.json()["receipt"]["code"])
        assert all(len(found) == 1 for found in codes.values()), "a person got two receipts"
        expected_length = 4 + len(CROWD)

        async def chain() -> dict[str, Any]:
            body: dict[str, Any] = (
                await http.get(f"{signing}/v1/campaigns/pilkada-2029/chain/verify", headers=admin)
            ).json()
            return body

        async def fully_chained() -> bool:
            return bool((await chain())["length"] == expected_length)

        await wait_for(fully_chained, timeout=30)
        verdict = await chain()
        assert verdict["valid"] and verdict["first_broken"] is None, verdict
        assert (await progress())["signed"] == expected_length

        # Tampering with the stored chain is detected and located.
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(service_env["MONGODB_URI"])
        signatures = mongo[signing_db]["signatures"]
        try:
            victim = await signatures.find_one({"receipt.chain_index": 5})
            assert victim is not None
            await signatures.update_one({"_id": victim["_id"]}, {"$set": {"receipt.signer": STAFF_3}})
            edited = await chain()
            assert not edited["valid"] and edited["first_broken"] == 5
            public = (await http.get(f"{signing}/v1/receipts/{victim['receipt']['code']}")).json()
            assert public["valid"] is False
            await signatures.update_one({"_id": victim["_id"]}, {"$set": {"receipt": victim["receipt"]}})
            assert (await chain())["valid"]

            seventh = await signatures.find_one({"receipt.chain_index": 7})
            assert seventh is not None
            await signatures.delete_one({"_id": seventh["_id"]})
            deleted = await chain()
            assert not deleted["valid"] and deleted["first_broken"] in (7, 8)
            await signatures.insert_one(seventh)
            assert (await chain())["valid"]

            a = await signatures.find_one({"receipt.chain_index": 10})
            b = await signatures.find_one({"receipt.chain_index": 11})
            assert a is not None and b is not None
            # Reorder two records (unique indexes forbid a direct swap, so go through -1).
            await signatures.update_one({"_id": a["_id"]}, {"$set": {"receipt.chain_index": -1}})
            await signatures.update_one({"_id": b["_id"]}, {"$set": {"receipt.chain_index": 10}})
            await signatures.update_one({"_id": a["_id"]}, {"$set": {"receipt.chain_index": 11}})
            swapped = await chain()
            assert not swapped["valid"] and swapped["first_broken"] in (10, 11)
        finally:
            await mongo.close()

    # Events: every signature once on Kafka, and a checkpoint matching the chain head.
    pledges = events_of(
        await read_topic(
            service_env["KAFKA_BOOTSTRAP_SERVERS"],
            f"{prefix}signing.pledges",
            lambda r: len(r) >= expected_length,
        )
    )
    signed = [event for event in pledges if event.type == "pledge.signed.v1"]
    assert len({event.id for event in signed}) == expected_length
    assert len({event.key for event in signed}) == expected_length
    checkpoints = events_of(
        await read_topic(
            service_env["KAFKA_BOOTSTRAP_SERVERS"],
            f"{prefix}signing.checkpoints",
            lambda r: any(json.loads(x.value or b"{}").get("chain_length") == expected_length for x in r),
        )
    )
    assert any(event.data["chain_length"] == expected_length for event in checkpoints)


def _netral(*args: str) -> int:
    return subprocess.run([sys.executable, "-m", "netral.cli", *args], capture_output=True).returncode
