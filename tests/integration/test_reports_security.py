"""Regression tests of issue 12 in the reports service, against real engines: body limits that act
before parsing, an OPD admin's view of a case, the reason of an identity read in the body, the
log of identity reads tamper-evident in MongoDB and scoped to the auditor's units, and the
tracking-code hash keyed."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.kit.clock import FixedClock
from tests.integration.reports_pemda import registry_and_reports

NOW = dt.datetime(2024, 11, 4, 2, 0, tzinfo=dt.UTC)  # Monday 09:00 WIB
OPD_UNIT = "32.01.001"
BUDI = "198503152010011005"
REASON = "Klarifikasi keterangan saksi pelapor untuk pemeriksaan"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def report_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "kampanye_media_sosial",
        "description": "Mengunggah ajakan memilih pasangan calon di akun media sosial pribadinya.",
        "incident_date": "2024-11-01",
        "location": "Cibinong",
        "accused": {"name": "Budi Santoso", "nip": BUDI},
        "evidence": [{"note": "tangkapan layar unggahan"}],
        "reporter": {"name": "Rina Wulandari", "contact": "rina.w@example.org"},
    }
    return {**body, **overrides}


async def test_an_oversized_malformed_body_is_refused_as_too_large_before_it_is_parsed(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path
) -> None:
    async with registry_and_reports(settings_kwargs, key_dir, mint("bkpsdm"), FixedClock(NOW)) as pemda:
        malformed = b"{" + b'"x":' * (2 * 1024 * 1024 // 4)
        response = await pemda.reports.post(
            "/v1/reports", content=malformed, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413, response.text[:300]
        assert "terlalu besar" in response.text


async def test_an_opd_admin_sees_their_employees_case_but_not_the_reports_nor_the_channel(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path
) -> None:
    async with registry_and_reports(settings_kwargs, key_dir, mint("bkpsdm"), FixedClock(NOW)) as pemda:
        client = pemda.reports
        supervisor = bearer(mint("opd_admin", org_unit=OPD_UNIT))
        filed = await client.post("/v1/reports", json=report_body(reporter=None), headers=supervisor)
        assert filed.status_code == 201, filed.text
        listing = (await client.get("/v1/reports", headers=supervisor)).json()
        (summary,) = listing["items"]
        case_id = summary["id"]
        detail = await client.get(f"/v1/reports/{case_id}", headers=supervisor)
        assert detail.status_code == 200
        for shown in (summary, detail.json()):
            assert shown["subject"]["employee_id"] == BUDI and shown["state"] == "received"
            assert not {"channels", "accused", "reports", "candidates", "incident_date"} & set(shown)
            for secret in ("supervisor", "Mengunggah", "Cibinong", "tangkapan"):
                assert secret not in str(shown)
        full = (await client.get(f"/v1/reports/{case_id}", headers=bearer(mint("bkpsdm")))).json()
        assert full["channels"] == ["supervisor"] and full["reports"][0]["location"] == "Cibinong"


async def test_identity_reads_are_chained_scoped_and_a_change_in_the_database_is_detected(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path
) -> None:
    async with registry_and_reports(settings_kwargs, key_dir, mint("bkpsdm"), FixedClock(NOW)) as pemda:
        client = pemda.reports
        store = pemda.app.state.reports_store
        in_unit = (await client.post("/v1/reports", json=report_body())).json()["report_id"]
        elsewhere = await client.post(
            "/v1/reports", json=report_body(accused={"name": "Orang Luar", "org_unit_code": "32.02"})
        )
        case_in_unit = (await store.reports.find_one({"_id": in_unit}))["case_id"]
        case_elsewhere = (await store.reports.find_one({"_id": elsewhere.json()["report_id"]}))["case_id"]
        reader = bearer(mint("inspektorat"))

        # The reason travels in the body; the old query-string form no longer exists.
        path = f"/v1/reports/{case_in_unit}/reporter"
        assert (await client.get(path, params={"reason": REASON}, headers=reader)).status_code == 405
        for case_id in (case_in_unit, case_elsewhere, case_in_unit):
            opened = await client.post(
                f"/v1/reports/{case_id}/reporter", json={"reason": REASON}, headers=reader
            )
            assert opened.status_code == 200, opened.text
        auditor = bearer(mint("bkn"))
        verified = await client.post("/v1/reporter-access-log/verify", headers=auditor)
        assert verified.json() | {"head_hash": None} == {
            "intact": True,
            "length": 3,
            "head_hash": None,
            "first_broken": None,
            "problem": None,
        }
        head = {"length": 3, "head_hash": verified.json()["head_hash"]}
        assert (await client.post("/v1/reporter-access-log/verify", json=head, headers=auditor)).json()[
            "intact"
        ]

        # Scoped like cases: an auditor of the OPD sees the reads of its cases only.
        scoped = bearer(mint("inspektorat", org_unit=OPD_UNIT))
        items = (await client.get("/v1/reporter-access-log", headers=scoped)).json()["items"]
        assert [item["case_id"] for item in items] == [case_in_unit, case_in_unit]
        assert [item["seq"] for item in items] == [2, 0]
        everything = (await client.get("/v1/reporter-access-log", headers=auditor)).json()
        assert everything["total"] == 3

        # A database writer edits a reason: the chain breaks at that entry.
        await store.access_log.update_one({"seq": 1}, {"$set": {"reason": "Alasan yang diganti kemudian"}})
        edited = (await client.post("/v1/reporter-access-log/verify", headers=auditor)).json()
        assert (edited["intact"], edited["first_broken"]) == (False, 1), edited
        await store.access_log.update_one({"seq": 1}, {"$set": {"reason": REASON}})
        assert (await client.post("/v1/reporter-access-log/verify", headers=auditor)).json()["intact"]

        # ... deletes the last entry and rewinds the recorded head: the published head shows it.
        last = await store.access_log.find_one({"seq": 2})
        await store.access_log.delete_one({"seq": 2})
        deleted = (await client.post("/v1/reporter-access-log/verify", headers=auditor)).json()
        assert deleted["intact"] is False
        await store.access_head.update_one(
            {"_id": "head"}, {"$set": {"length": 2, "hash": last["prev_hash"]}}
        )
        rewound = await client.post("/v1/reporter-access-log/verify", json=head, headers=auditor)
        assert rewound.json()["intact"] is False and "diterbitkan" in rewound.json()["problem"]


async def test_the_stored_tracking_hash_is_keyed(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path
) -> None:
    async with registry_and_reports(settings_kwargs, key_dir, mint("bkpsdm"), FixedClock(NOW)) as pemda:
        receipt = (await pemda.reports.post("/v1/reports", json=report_body(reporter=None))).json()
        stored = await pemda.app.state.reports_store.reports.find_one({"_id": receipt["report_id"]})
        assert stored["tracking_hash"] != hashlib.sha256(receipt["tracking_code"].encode()).hexdigest()
        tracked = await pemda.reports.post("/v1/reports/track", json={"code": receipt["tracking_code"]})
        assert tracked.status_code == 200 and tracked.json()["status"] == "received"
