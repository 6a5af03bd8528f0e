"""Reports service against real engines: intake, linking, the case flow with what the reporter
sees, sanctions, the audited identity read, and the events for agencies."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from contracts.topics import REPORT_CASES, REPORTER_CONTACTS, REPORTS_PUBLIC
from services.kit.clock import FixedClock
from services.kit.sealedbox import ContactOpener
from tests.integration.reports_pemda import registry_and_reports
from tests.kafka_reader import events_of, read_topic

NOW = dt.datetime(2024, 11, 4, 2, 0, tzinfo=dt.UTC)  # Monday 09:00 WIB
BUDI = "198503152010011005"
REPORTER = {"name": "Rina Wulandari", "contact": "rina.w@example.org"}


def report_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "kampanye_media_sosial",
        "description": "Terlapor mengunggah ajakan memilih pasangan calon nomor 2 di akun Instagram.",
        "incident_date": "2024-11-01",
        "location": "Cibinong, Kabupaten Bogor",
        "accused": {"name": "Budi Santoso", "org_unit_code": "32.01.001", "position": "Analis"},
        "evidence": [
            {"url": "https://instagram.com/p/abc123", "media_type": "image/jpeg", "note": "tangkapan layar"}
        ],
        "reporter": None,
    }
    body.update(overrides)
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def tracked_status(client: httpx.AsyncClient, code: str) -> tuple[str, list[dict[str, Any]]]:
    response = await client.get(f"/v1/reports/track/{code}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "tracking_code",
        "status",
        "status_label",
        "category",
        "category_name",
        "received_at",
        "history",
    }
    return body["status"], body["history"]


async def test_case_from_anonymous_intake_to_closed(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path
) -> None:
    clock = FixedClock(NOW)
    async with registry_and_reports(settings_kwargs, key_dir, mint("bkpsdm"), clock) as pemda:
        client = pemda.reports
        categories = (await client.get("/v1/categories")).json()["items"]
        assert {c["class"] for c in categories} == {"etika", "disiplin"} and len(categories) == 18
        assert all(c["suggested_class"] == c["class"] and c["basis"] for c in categories)

        # Anonymous public report, matched by name within the unit despite the title and typo.
        filed = await client.post(
            "/v1/reports",
            json=report_body(accused={"name": "budi santoso s.kom", "org_unit_code": "32.01.001"}),
        )
        assert filed.status_code == 201, filed.text
        code = filed.json()["tracking_code"]
        status, history = await tracked_status(client, code)
        assert status == "received" and history[0]["reason"]

        # Bawaslu files its own finding on the same person and incident: one case, not two.
        finding = await client.post(
            "/v1/reports/bawaslu",
            json=report_body(
                accused={"name": "Budi Santoso", "nip": BUDI},
                incident_date="2024-11-02",
                bawaslu_reference="001/TM/PB/Kab.Bogor/11/2024",
            ),
            headers=bearer(mint("bawaslu")),
        )
        assert finding.status_code == 201, finding.text
        assert finding.json()["linked"] is True
        case_id = finding.json()["case_id"]

        bkpsdm = bearer(mint("bkpsdm"))
        case = (await client.get(f"/v1/reports/{case_id}", headers=bkpsdm)).json()
        assert case["match_status"] == "matched" and case["subject"]["employee_id"] == BUDI
        assert sorted(case["channels"]) == ["bawaslu", "public"] and case["report_count"] == 2
        assert case["allowed_actions"] == ["verify", "reject", "cancel", "mark_out_of_service"]

        async def move(role: str, action: str, reason: str, **extra: Any) -> httpx.Response:
            return await client.post(
                f"/v1/reports/{case_id}/transitions",
                json={"action": action, "reason": reason, **extra},
                headers=bearer(mint(role)),
            )

        illegal = await move("ppk", "decide_sanction", "terlalu dini", sanction="teguran_tertulis")
        assert illegal.status_code == 409
        assert "verify" in illegal.json()["allowed_actions"]

        steps = [
            ("bkn", "verify", "Bukti unggahan terverifikasi oleh satgas netralitas.", "verified"),
            ("bawaslu", "recommend", "Bawaslu merekomendasikan penjatuhan sanksi kepada PPK.", "recommended"),
            (
                "inspektorat",
                "examine",
                "Pemeriksaan oleh Inspektorat selesai; pelanggaran terbukti.",
                "examined",
            ),
        ]
        for role, action, reason, state in steps:
            clock.advance(dt.timedelta(days=1))
            response = await move(role, action, reason)
            assert response.status_code == 200, response.text
            status, history = await tracked_status(client, code)
            assert status == state and history[-1]["reason"] == reason

        # The decision is the PPK's alone, and the sanction must fit: moral for an ethics breach.
        assert (
            await move("bkpsdm", "decide_sanction", "Sanksi moral", sanction="moral_pernyataan_terbuka")
        ).status_code == 403
        wrong = await move("ppk", "decide_sanction", "Potong tunjangan", sanction="potong_tukin_25_6_bulan")
        assert wrong.status_code == 422 and "moral_pernyataan_terbuka" in wrong.text
        decided = await move(
            "ppk",
            "decide_sanction",
            "Dijatuhi sanksi moral pernyataan terbuka.",
            sanction="moral_pernyataan_terbuka",
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["sanction"]["code"] == "moral_pernyataan_terbuka"
        # Recording needs the decree (issue 13): its number and date.
        undated = await move("bkpsdm", "record", "Sanksi dicatat dalam data kepegawaian.")
        assert undated.status_code == 422 and "decree_number" in undated.text
        decree = {"decree_number": "800/123/BKPSDM/2024", "decree_date": "2024-11-07"}
        for role, action, reason, state, extra in (
            ("bkpsdm", "record", "Sanksi dicatat dalam data kepegawaian.", "recorded", decree),
            ("bkpsdm", "close", "Kasus selesai tanpa keberatan.", "closed", {}),
        ):
            response = await move(role, action, reason, **extra)
            assert response.status_code == 200, response.text
            status, history = await tracked_status(client, code)
            assert status == state
        assert [h["status"] for h in history] == [
            "received",
            "verified",
            "recommended",
            "examined",
            "decided",
            "recorded",
            "closed",
        ]
        assert (await move("bkpsdm", "close", "ditutup lagi")).status_code == 409

        # A new report on the same person after the case closed opens a new case.
        again = await client.post(
            "/v1/reports", json=report_body(accused={"name": "Budi Santoso", "nip": BUDI})
        )
        assert again.status_code == 201

        records = await read_topic(
            str(settings_kwargs["kafka_bootstrap_servers"]),
            pemda.settings.topic(REPORTS_PUBLIC.name),
            lambda rs: len(rs) >= 7,
        )
        public = [event for event in events_of(records) if event.data["case"]["case_id"] == case_id]
        assert [e.type for e in public] == [
            "public.report.received.v1",
            "public.report.received.v1",
            "public.report.verified.v1",
            "public.report.recommendation_issued.v1",
            "public.report.sanction_imposed.v1",
            "public.report.closed.v1",
        ]
        for event in public:
            text = event.payload.decode()
            assert "Budi" not in text and "Instagram" not in text and "Cibinong" not in text
        assert public[4].data["subject_employee_id"] == BUDI
        internal = events_of(
            await read_topic(
                str(settings_kwargs["kafka_bootstrap_servers"]),
                pemda.settings.topic(REPORT_CASES.name),
                lambda rs: len(rs) >= 9,
            )
        )
        assert [e.type for e in internal if e.data["case"]["case_id"] == case_id] == [
            "report.received.v1",
            "report.received.v1",
            "report.verified.v1",
            "report.recommendation_issued.v1",
            "report.status_changed.v1",
            "report.sanction_imposed.v1",
            "report.status_changed.v1",
            "report.closed.v1",
        ]


async def test_reporter_identity_is_sealed_and_every_read_is_audited(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path
) -> None:
    clock = FixedClock(NOW)
    async with registry_and_reports(settings_kwargs, key_dir, mint("bkpsdm"), clock) as pemda:
        client = pemda.reports
        filed = await client.post("/v1/reports", json=report_body(reporter=REPORTER))
        assert filed.status_code == 201
        store = pemda.app.state.reports_store
        report = await store.reports.find_one({"_id": filed.json()["report_id"]})
        case_id = report["case_id"]
        assert "Rina" not in str(report)
        sealed = await store.identities.find_one({"_id": report["_id"]})
        assert b"Rina" not in sealed["sealed"]

        path = f"/v1/reports/{case_id}/reporter"
        assert (await client.post(path, headers=bearer(mint("bkpsdm")))).status_code == 422
        # The reason is never taken from the URL, whose query string reaches logs.
        in_query = await client.get(
            path, params={"reason": "Klarifikasi saksi"}, headers=bearer(mint("bkpsdm"))
        )
        assert in_query.status_code == 405
        assert (
            await client.post(path, json={"reason": "x"}, headers=bearer(mint("bkpsdm")))
        ).status_code == 422
        for role in ("bkn", "bawaslu", "ppk", "employee", "agency"):
            denied = await client.post(
                path, json={"reason": "ingin tahu saja ya"}, headers=bearer(mint(role))
            )
            assert denied.status_code == 403, role
        assert await store.access_log.count_documents({}) == 0
        reason = "Klarifikasi keterangan saksi pelapor untuk pemeriksaan"
        opened = await client.post(path, json={"reason": reason}, headers=bearer(mint("inspektorat")))
        assert opened.status_code == 200
        assert opened.json()["reporters"][0]["name"] == "Rina Wulandari"
        log = await client.get("/v1/reporter-access-log", headers=bearer(mint("bkn")))
        assert log.status_code == 200
        entries = log.json()["items"]
        assert (
            len(entries) == 1 and entries[0]["reason"] == reason and entries[0]["actor_role"] == "inspektorat"
        )

        detail = (await client.get(f"/v1/reports/{case_id}", headers=bearer(mint("bkpsdm")))).json()
        assert "Rina" not in str(detail) and detail["reports"][0]["anonymous"] is False
        listing = (await client.get("/v1/reports", headers=bearer(mint("bkpsdm")))).json()
        assert listing["total"] == 1 and "Rina" not in str(listing)

        # The contact goes to notify alone: sealed with notify's key on its own topic, no name.
        records = await read_topic(
            str(settings_kwargs["kafka_bootstrap_servers"]),
            pemda.settings.topic(REPORTER_CONTACTS.name),
            lambda rs: len(rs) >= 1,
        )
        assert len(records) == 1 and b"rina" not in records[0].value.lower()
        contact = events_of(records)[0].data
        assert contact["report_id"] == report["_id"] and contact["case_id"] == case_id
        # Opened with notify's private key (the DEV-ONLY file whose public half reports sealed with).
        opener = ContactOpener(pemda.settings.notify_contact_private_key_file.read_bytes(), "kontak")
        assert opener.open(contact["sealed_contact"].encode()) == {"contact": REPORTER["contact"]}


async def test_matching_by_name_shows_candidates_when_unsure(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path
) -> None:
    clock = FixedClock(NOW)
    async with registry_and_reports(settings_kwargs, key_dir, mint("bkpsdm"), clock) as pemda:
        client = pemda.reports
        bkpsdm = bearer(mint("bkpsdm"))
        filed = await client.post(
            "/v1/reports", json=report_body(accused={"name": "Budi Santos", "org_unit_code": "32.01"})
        )
        assert filed.status_code == 201
        store = pemda.app.state.reports_store
        case_id = (await store.reports.find_one({"_id": filed.json()["report_id"]}))["case_id"]
        case = (await client.get(f"/v1/reports/{case_id}", headers=bkpsdm)).json()
        assert case["match_status"] == "ambiguous"
        assert {c["employee_id"] for c in case["candidates"]} >= {BUDI, "198601012010011001"}

        # Deciding needs a confirmed subject; BKPSDM picks the candidate.
        for action, role, reason in (
            ("verify", "bkn", "Bukti cukup untuk diteruskan."),
            ("recommend", "bawaslu", "Direkomendasikan kepada PPK."),
            ("examine", "bkpsdm", "Pemeriksaan selesai."),
        ):
            response = await client.post(
                f"/v1/reports/{case_id}/transitions",
                json={"action": action, "reason": reason},
                headers=bearer(mint(role)),
            )
            assert response.status_code == 200, response.text
        decide = {
            "action": "decide_sanction",
            "reason": "Sanksi moral.",
            "sanction": "moral_pernyataan_tertutup",
        }
        blocked = await client.post(
            f"/v1/reports/{case_id}/transitions", json=decide, headers=bearer(mint("ppk"))
        )
        assert blocked.status_code == 409 and "subjek" in blocked.text
        assigned = await client.put(
            f"/v1/reports/{case_id}/subject", json={"employee_id": BUDI}, headers=bkpsdm
        )
        assert assigned.status_code == 200 and assigned.json()["match_status"] == "matched"
        decided = await client.post(
            f"/v1/reports/{case_id}/transitions", json=decide, headers=bearer(mint("ppk"))
        )
        assert decided.status_code == 200, decided.text

        # Scoped roles see only their units' cases.
        other = bearer(mint("opd_admin", org_unit="32.02"))
        assert (await client.get(f"/v1/reports/{case_id}", headers=other)).json()["detail"]
        assert (await client.get("/v1/reports", headers=other)).json()["total"] == 0
        mine = bearer(mint("opd_admin", org_unit="32.01.001"))
        assert (await client.get("/v1/reports", headers=mine)).json()["total"] == 1


async def test_reports_arriving_together_are_linked_into_one_case(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path
) -> None:
    """Group commit writes concurrent intakes in one transaction: those about one person and
    incident must still end in one case, and the others in their own."""
    clock = FixedClock(NOW)
    async with registry_and_reports(settings_kwargs, key_dir, mint("bkpsdm"), clock) as pemda:
        client = pemda.reports
        same = [
            client.post("/v1/reports", json=report_body(accused={"name": "Budi", "nip": BUDI}))
            for _ in range(12)
        ]
        others = [
            client.post("/v1/reports", json=report_body(accused={"name": name}))
            for name in (
                "Agus Salim",
                "Dewi Lestari",
                "Eko Prasetyo",
                "Fitri Handayani",
                "Gilang Ramadhan",
                "Hana",
            )
        ]
        responses = await asyncio.gather(*same, *others)
        assert all(r.status_code == 201 for r in responses), [
            r.text for r in responses if r.status_code != 201
        ]
        store = pemda.app.state.reports_store
        same_cases = {
            (await store.reports.find_one({"_id": r.json()["report_id"]}))["case_id"] for r in responses[:12]
        }
        assert len(same_cases) == 1
        case = await store.cases.find_one({"_id": same_cases.pop()})
        assert len(case["report_ids"]) == 12 and case["version"] == 12
        assert await store.cases.count_documents({}) == 1 + 6
        codes = {r.json()["tracking_code"] for r in responses}
        assert len(codes) == 18
        for code in codes:
            assert (await client.get(f"/v1/reports/track/{code}")).status_code == 200
