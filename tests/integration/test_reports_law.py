"""Issue 13 on real engines: the case as the law has it. Party membership ends in dismissal
without honour (a pay cut is refused), a non-ASN is decided by the OPD head, a Sekda above the
pemda, several subjects in one case (a supervisor added), a confirmed subject takes in later
reports, merge and split, an objection that changes a sanction, a closed case read-only, a
deadline extension the reporter sees, and a data block lifted by a late decision."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from contracts.topics import REPORT_CASES, REPORTS_PUBLIC
from services.kit.clock import FixedClock
from services.reports.usecases import ReportsUseCases
from tests.integration.reports_pemda import registry_and_reports
from tests.integration.test_reports_flow import bearer, report_body
from tests.kafka_reader import events_of, read_topic

NOW = dt.datetime(2024, 11, 4, 2, 0, tzinfo=dt.UTC)  # Monday 09:00 WIB
TODAY = "2024-11-04"
AHMAD = "197502022000031002"  # head of the Dinas Pendidikan
BUDI = "198503152010011005"
BUDI_SANTOSA = "198601012010011001"
SEKDA_KAB = "196805121990031004"
SEKDA_PROV = "196501011990011001"
OPD = "32.01.001"
DEWI = "Dewi Lestari"
MORE_PEOPLE: tuple[dict[str, object], ...] = (
    {
        "nip": None,
        "nik": "3201015503850001",
        "name": DEWI,
        "employment_type": "NON_ASN",
        "position": "Tenaga Administrasi",
        "level": "STAFF",
        "org_unit_code": OPD,
    },
    {
        "nip": SEKDA_KAB,
        "name": "Drs. Hendra Wijaya, M.Si.",
        "employment_type": "PNS",
        "position": "Sekretaris Daerah",
        "level": "REGIONAL_HEAD",
        "org_unit_code": "32.01",
        "leader_office": "SEKDA",
    },
    {
        "nip": SEKDA_PROV,
        "name": "Ir. Agus Salim",
        "employment_type": "PNS",
        "position": "Sekretaris Daerah Provinsi",
        "level": "REGIONAL_HEAD",
        "org_unit_code": "32",
        "leader_office": "SEKDA",
    },
)


class Desk:
    """The reports API as each role uses it."""

    def __init__(self, client: httpx.AsyncClient, mint: Callable[..., str]) -> None:
        self.client = client
        self.mint = mint

    def as_(self, role: str, org_unit: str | None = None) -> dict[str, str]:
        return bearer(self.mint(role, org_unit=org_unit))

    async def finding(self, accused: Any, incident: str, reference: str, **body: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/reports/bawaslu",
            json=report_body(accused=accused, incident_date=incident, bawaslu_reference=reference, **body),
            headers=self.as_("bawaslu"),
        )
        assert response.status_code == 201, response.text
        receipt: dict[str, Any] = response.json()
        return receipt

    async def act(
        self, case_id: str, role: str, action: str, org_unit: str | None = None, **body: Any
    ) -> httpx.Response:
        path = f"/v1/reports/{case_id}/transitions"
        if "subject" in body:
            path = f"/v1/reports/{case_id}/subjects/{body.pop('subject')}/transitions"
        return await self.client.post(
            path,
            json={"action": action, "reason": f"Tindak lanjut {action} oleh pejabat berwenang.", **body},
            headers=self.as_(role, org_unit),
        )

    async def ok(self, case_id: str, role: str, action: str, org_unit: str | None = None, **body: Any) -> Any:
        response = await self.act(case_id, role, action, org_unit, **body)
        assert response.status_code == 200, response.text
        return response.json()

    async def to_recommended(self, case_id: str) -> None:
        await self.ok(case_id, "bkn", "verify")
        await self.ok(case_id, "bawaslu", "recommend")

    async def case(self, case_id: str, role: str = "bkpsdm", org_unit: str | None = None) -> Any:
        response = await self.client.get(f"/v1/reports/{case_id}", headers=self.as_(role, org_unit))
        assert response.status_code == 200, response.text
        return response.json()


DECREE = {"decree_number": "800.1.6/2024/BKPSDM", "decree_date": TODAY}


async def test_sanctions_follow_the_class_the_employee_type_and_the_authority(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path
) -> None:
    clock = FixedClock(NOW)
    async with registry_and_reports(
        settings_kwargs, key_dir, mint("bkpsdm"), clock, more_people=MORE_PEOPLE
    ) as pemda:
        desk = Desk(pemda.reports, mint)

        # ---- party membership: a PNS is dismissed without honour; a pay cut is refused.
        party = (
            await desk.finding(
                {"name": "Budi Santoso", "nip": BUDI},
                "2024-10-01",
                "001/TM/2024",
                category="anggota_pengurus_parpol",
            )
        )["case_id"]
        assert (await desk.case(party))["suggested_class"] == "disiplin"
        await desk.to_recommended(party)
        examined = await desk.ok(
            party,
            "inspektorat",
            "examine",
            violation_class="disiplin",
            class_reason="Terbukti pengurus partai.",
        )
        assert examined["subjects"][0]["violation_class"] == "disiplin"
        cut = await desk.act(party, "ppk", "decide_sanction", sanction="potong_tukin_25_6_bulan")
        assert cut.status_code == 422 and "pemberhentian_tidak_dengan_hormat" in cut.text, cut.text
        dismissed = await desk.ok(
            party, "ppk", "decide_sanction", sanction="pemberhentian_tidak_dengan_hormat"
        )
        assert dismissed["sanction"]["code"] == "pemberhentian_tidak_dengan_hormat"
        recorded = await desk.ok(party, "bkpsdm", "record", **DECREE)
        assert recorded["subjects"][0]["decree"]["sanction_end"] is None  # a dismissal has no period
        # A dismissal is appealed to BPASN, not objected to.
        objection = await desk.act(party, "bkpsdm", "file_appeal", remedy="keberatan")
        assert objection.status_code == 422 and "banding_administratif" in objection.text, objection.text
        appealed = await desk.ok(
            party, "bkpsdm", "file_appeal", remedy="banding_administratif", filed_on=TODAY
        )
        remedy = appealed["subjects"][0]["remedy"]
        assert remedy["remedy"] == "banding_administratif" and "BPASN" in remedy["authority"]
        assert remedy["deadline"] > TODAY
        await desk.ok(party, "bkpsdm", "resolve_appeal", outcome="dikuatkan")
        closed = await desk.ok(party, "bkpsdm", "close")
        assert closed["state"] == "closed"
        # A closed case is read-only.
        for refused in (
            await desk.act(party, "bkpsdm", "close"),
            await pemda.reports.put(
                f"/v1/reports/{party}/subject", json={"employee_id": BUDI}, headers=desk.as_("bkpsdm")
            ),
            await pemda.reports.post(
                f"/v1/reports/{party}/subjects",
                json={"employee_id": AHMAD, "reason": "Atasan mengetahui dan diam saja."},
                headers=desk.as_("bkpsdm"),
            ),
        ):
            assert refused.status_code == 409, refused.text
            assert "selesai" in refused.json()["detail"]

        # ---- an objection that changes the sanction (re-checked against the law).
        medium = (
            await desk.finding(
                {"name": "Budi Santoso", "nip": BUDI}, "2024-10-10", "002/TM/2024", category="tim_kampanye"
            )
        )["case_id"]
        await desk.to_recommended(medium)
        await desk.ok(medium, "bkpsdm", "examine")
        await desk.ok(medium, "ppk", "decide_sanction", sanction="potong_tukin_25_12_bulan")
        recorded = await desk.ok(medium, "bkpsdm", "record", **DECREE, sanction_start="2024-12-01")
        assert recorded["subjects"][0]["decree"]["sanction_end"] == "2025-12-01"
        await desk.ok(medium, "bkpsdm", "file_appeal")  # the one remedy open: keberatan
        unlawful = await desk.act(
            medium, "bkpsdm", "resolve_appeal", outcome="diubah", new_sanction="teguran_lisan"
        )
        assert unlawful.status_code == 422 and "potong_tukin_25_6_bulan" in unlawful.text, unlawful.text
        changed = await desk.ok(
            medium, "bkpsdm", "resolve_appeal", outcome="diubah", new_sanction="potong_tukin_25_6_bulan"
        )
        subject = changed["subjects"][0]
        assert subject["sanction"]["code"] == "potong_tukin_25_6_bulan" and subject["state"] == "recorded"
        assert (
            subject["remedy"]["outcome"] == "diubah"
            and subject["remedy"]["changed_to"] == "potong_tukin_25_6_bulan"
        )
        assert subject["decree"]["sanction_end"] == "2025-06-01"
        assert "file_appeal" not in changed["allowed_actions"]  # one remedy per decision

        # ---- a non-ASN: examined and decided by the head of their OPD, under the work contract.
        non_asn = (await desk.finding({"name": DEWI, "org_unit_code": OPD}, "2024-10-12", "003/TM/2024"))[
            "case_id"
        ]
        detail = await desk.case(non_asn)
        assert detail["subjects"][0]["employee"]["employment_type"] == "NON_ASN"
        assert detail["subjects"][0]["decider_role"] == "kepala_opd"
        await desk.to_recommended(non_asn)
        queue = await pemda.reports.get("/v1/reports", headers=desk.as_("kepala_opd", OPD))
        assert [item["id"] for item in queue.json()["items"]] == [non_asn]
        other_head = await pemda.reports.get(
            f"/v1/reports/{non_asn}", headers=desk.as_("kepala_opd", "32.02")
        )
        assert other_head.status_code == 403
        await desk.ok(non_asn, "kepala_opd", "examine", OPD)
        assert (
            await desk.act(non_asn, "ppk", "decide_sanction", sanction="kontrak_teguran_tertulis")
        ).status_code == 403
        assert (await desk.case(non_asn, "kepala_opd", OPD))["allowed_actions"] == [
            "decide_sanction",
            "decide_not_proven",
        ]
        decided = await desk.ok(
            non_asn, "kepala_opd", "decide_sanction", OPD, sanction="kontrak_teguran_tertulis"
        )
        assert decided["state"] == "decided"

        # ---- a Sekda: above the pemda. A regency's with the Governor, the province's with the Minister.
        sekda = (
            await desk.finding({"name": "Hendra Wijaya", "nip": SEKDA_KAB}, "2024-10-14", "004/TM/2024")
        )["case_id"]
        province_sekda = (
            await desk.finding({"name": "Agus Salim", "nip": SEKDA_PROV}, "2024-10-14", "005/TM/2024")
        )["case_id"]
        for case_id in (sekda, province_sekda):
            await desk.to_recommended(case_id)
        assert (await desk.act(sekda, "inspektorat", "examine")).status_code == 403
        assert (await desk.act(sekda, "bkpsdm", "examine")).status_code == 403
        await desk.ok(sekda, "gubernur", "examine", "32")
        assert (await desk.act(sekda, "ppk", "decide_not_proven")).status_code == 403
        assert (await desk.ok(sekda, "gubernur", "decide_not_proven", "32"))["state"] == "not_proven"
        assert (await desk.act(province_sekda, "gubernur", "examine", "32")).status_code == 403
        await desk.ok(province_sekda, "kemendagri", "examine", violation_class="disiplin")
        await desk.ok(province_sekda, "kemendagri", "decide_sanction", sanction="potong_tukin_25_6_bulan")
        governors = await pemda.reports.get("/v1/reports", headers=desk.as_("gubernur", "32"))
        ministers = await pemda.reports.get("/v1/reports", headers=desk.as_("kemendagri"))
        assert [item["id"] for item in governors.json()["items"]] == [sekda]
        assert [item["id"] for item in ministers.json()["items"]] == [province_sekda]

        internal = events_of(
            await read_topic(
                str(settings_kwargs["kafka_bootstrap_servers"]),
                pemda.settings.topic(REPORT_CASES.name),
                lambda rs: (
                    sum(b"sanction_imposed" in (dict(r.headers).get("ce_type") or b"") for r in rs) >= 4
                ),
            )
        )
        imposed = [e for e in internal if e.type == "report.sanction_imposed.v1"]
        assert {e.data["subject_id"] for e in imposed} == {"s1"}


async def test_several_subjects_a_confirmed_subject_merge_split_and_an_extension(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path
) -> None:
    clock = FixedClock(NOW)
    async with registry_and_reports(settings_kwargs, key_dir, mint("bkpsdm"), clock) as pemda:
        desk = Desk(pemda.reports, mint)
        client = pemda.reports

        # ---- one report, two accused; then their supervisor is added by the task force.
        filed = await client.post(
            "/v1/reports",
            json=report_body(
                accused=[
                    {"name": "Budi Santoso", "nip": BUDI},
                    {"name": "Budi Santosa", "nip": BUDI_SANTOSA},
                ],
                incident_date="2024-10-20",
            ),
        )
        assert filed.status_code == 201, filed.text
        listing = (await client.get("/v1/reports", headers=desk.as_("bkpsdm"))).json()["items"]
        (case_id,) = [item["id"] for item in listing]
        both = await desk.case(case_id)
        assert [s["employee"]["employee_id"] for s in both["subjects"]] == [BUDI, BUDI_SANTOSA]
        short = await client.post(
            f"/v1/reports/{case_id}/subjects",
            json={"employee_id": AHMAD, "reason": "singkat"},
            headers=desk.as_("bkpsdm"),
        )
        assert short.status_code == 422
        added = await client.post(
            f"/v1/reports/{case_id}/subjects",
            json={
                "employee_id": AHMAD,
                "reason": "Kepala dinas mengetahui unggahan stafnya dan tidak menindak.",
            },
            headers=desk.as_("bkn"),
        )
        assert added.status_code == 200, added.text
        assert [s["kind"] for s in added.json()["subjects"]] == [
            "terlapor",
            "terlapor",
            "atasan_tidak_bertindak",
        ]
        # The reporter's page shows no reason about a person they did not name.
        page = (await client.post("/v1/reports/track", json={"code": filed.json()["tracking_code"]})).json()
        assert "Kepala dinas" not in str(page["history"]) and len(page["history"]) == 1
        await desk.to_recommended(case_id)
        unnamed = await desk.act(case_id, "inspektorat", "examine")
        assert unnamed.status_code == 422 and "subject_id" in unnamed.text
        for subject in ("s1", "s2", "s3"):
            await desk.ok(case_id, "inspektorat", "examine", subject=subject)
        await desk.ok(case_id, "ppk", "decide_sanction", subject="s1", sanction="moral_pernyataan_terbuka")
        assert (await desk.case(case_id))["state"] == "examined"  # s2 and s3 still wait
        await desk.ok(case_id, "ppk", "decide_not_proven", subject="s2")
        await desk.ok(case_id, "ppk", "decide_sanction", subject="s3", sanction="moral_pernyataan_tertutup")
        await desk.ok(case_id, "bkpsdm", "record", subject="s1", **DECREE)
        assert (await desk.case(case_id))["state"] == "decided"
        await desk.ok(case_id, "bkpsdm", "record", subject="s3", **DECREE)
        await desk.ok(case_id, "bkpsdm", "close", subject="s1")
        final = await desk.ok(case_id, "bkpsdm", "close", subject="s3")
        assert final["state"] == "closed"
        assert [s["state"] for s in final["subjects"]] == ["closed", "not_proven", "closed"]

        # ---- an unsure match confirmed by hand: a later report naming that person by NIP joins.
        unsure = await client.post(
            "/v1/reports",
            json=report_body(accused={"name": "Pak Budi", "org_unit_code": OPD}, incident_date="2024-10-25"),
        )
        assert unsure.status_code == 201
        listing = (
            await client.get("/v1/reports", params={"state": "received"}, headers=desk.as_("bkpsdm"))
        ).json()
        (unsure_id,) = [item["id"] for item in listing["items"]]
        assert (await desk.case(unsure_id))["match_status"] != "matched"
        confirmed = await client.put(
            f"/v1/reports/{unsure_id}/subject", json={"employee_id": BUDI}, headers=desk.as_("bkpsdm")
        )
        assert confirmed.status_code == 200, confirmed.text
        later = await desk.finding({"name": "Budi Santoso", "nip": BUDI}, "2024-10-26", "010/TM/2024")
        assert later["linked"] is True and later["case_id"] == unsure_id

        # ---- merge and split, by the task force, with a reason, refused on a finished case.
        other = await desk.finding({"name": "Budi Santosa", "nip": BUDI_SANTOSA}, "2024-09-01", "011/TM/2024")
        no_reason = await client.post(
            f"/v1/reports/{unsure_id}/merge",
            json={"from_case_id": other["case_id"], "reason": "x"},
            headers=desk.as_("bkn"),
        )
        assert no_reason.status_code == 422
        merged = await client.post(
            f"/v1/reports/{unsure_id}/merge",
            json={"from_case_id": other["case_id"], "reason": "Kejadian yang sama, tanggal keliru ditulis."},
            headers=desk.as_("bkn"),
        )
        assert merged.status_code == 200, merged.text
        assert merged.json()["report_count"] == 3 and len(merged.json()["subjects"]) == 2
        assert (await desk.case(other["case_id"]))["state"] == "merged"
        tracked = await client.post("/v1/reports/track", json={"code": other["tracking_code"]})
        assert tracked.json()["status"] == "received"  # the reporter follows the case it joined
        again = await client.post(
            f"/v1/reports/{other['case_id']}/merge",
            json={"from_case_id": unsure_id, "reason": "Mencoba menggabungkan ke kasus yang selesai."},
            headers=desk.as_("bkn"),
        )
        assert again.status_code == 409
        split = await client.post(
            f"/v1/reports/{unsure_id}/split",
            json={"report_id": other["report_id"], "reason": "Ternyata kejadian yang berbeda."},
            headers=desk.as_("bkpsdm"),
        )
        assert split.status_code == 201, split.text
        assert split.json()["id"] not in (unsure_id, other["case_id"]) and split.json()["report_count"] == 1
        assert (await desk.case(unsure_id))["report_count"] == 2

        # ---- Bawaslu needs more information: its review is extended once, the reporter sees why.
        await desk.ok(unsure_id, "bkn", "verify")
        before = (await desk.case(unsure_id))["deadlines"]["bawaslu_review"]
        reason = "Bawaslu memerlukan keterangan tambahan dari pelapor."
        forbidden = await client.post(
            f"/v1/reports/{unsure_id}/deadline-extensions",
            json={"deadline": "bawaslu_review", "working_days": 2, "reason": reason},
            headers=desk.as_("bkpsdm"),
        )
        assert forbidden.status_code == 403
        extended = await client.post(
            f"/v1/reports/{unsure_id}/deadline-extensions",
            json={"deadline": "bawaslu_review", "working_days": 2, "reason": reason},
            headers=desk.as_("bawaslu"),
        )
        assert extended.status_code == 200, extended.text
        after = extended.json()["deadlines"]["bawaslu_review"]
        # 3 working days from Monday 4 November end on Thursday 7; two more end on Monday 11.
        assert before.startswith("2024-11-07T17:00") and after.startswith("2024-11-11T17:00"), (before, after)
        twice = await client.post(
            f"/v1/reports/{unsure_id}/deadline-extensions",
            json={"deadline": "bawaslu_review", "working_days": 1, "reason": reason},
            headers=desk.as_("bawaslu"),
        )
        assert twice.status_code == 409
        history = (await client.post("/v1/reports/track", json={"code": later["tracking_code"]})).json()[
            "history"
        ]
        assert history[-1]["reason"] == reason and history[-1]["status"] == "verified"
        stored = await pemda.app.state.reports_store.cases.find_one({"_id": unsure_id})
        assert stored is not None
        assert stored["next_due_at"].replace(tzinfo=None) == dt.datetime(2024, 11, 11, 17, 0)

        internal = events_of(
            await read_topic(
                str(settings_kwargs["kafka_bootstrap_servers"]),
                pemda.settings.topic(REPORT_CASES.name),
                lambda rs: any(dict(r.headers).get("ce_type") == b"report.deadline_extended.v1" for r in rs),
            )
        )
        types = {e.type for e in internal}
        assert {
            "report.subject_added.v1",
            "report.subject_assigned.v1",
            "report.cases_merged.v1",
            "report.split.v1",
            "report.deadline_extended.v1",
        } <= types


async def test_a_late_decision_lifts_the_data_block(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path
) -> None:
    filed = dt.datetime(2024, 3, 25, 2, 0, tzinfo=dt.UTC)  # Monday 25 March 2024, 09:00 WIB
    clock = FixedClock(filed)
    async with registry_and_reports(
        settings_kwargs, key_dir, mint("bkpsdm"), clock, more_people=MORE_PEOPLE[:1]
    ) as pemda:
        desk = Desk(pemda.reports, mint)
        usecases: ReportsUseCases = pemda.app.state.reports_usecases
        pns = (await desk.finding({"name": "Budi Santoso", "nip": BUDI}, "2024-03-22", "020/TM/2024"))[
            "case_id"
        ]
        non_asn = (await desk.finding({"name": DEWI, "org_unit_code": OPD}, "2024-03-22", "021/TM/2024"))[
            "case_id"
        ]
        clock.moment = dt.datetime(2024, 3, 26, 3, 0, tzinfo=dt.UTC)
        for case_id in (pns, non_asn):
            await desk.ok(case_id, "bkn", "verify")
        clock.moment = dt.datetime(2024, 4, 1, 2, 0, tzinfo=dt.UTC)
        for case_id in (pns, non_asn):
            await desk.ok(case_id, "bawaslu", "recommend")
        # The decision deadline (29 April) passes; the data block falls due on 16 May.
        fired, _more = await usecases.scan_deadlines(dt.datetime(2024, 5, 16, 17, 0, tzinfo=dt.UTC))
        assert sorted(d.key for d in fired).count("escalation:blokir_data") == 2
        blocked = await desk.case(pns)
        assert blocked["subjects"][0]["data_blocked"] is True
        assert (await desk.case(non_asn))["subjects"][0]["data_blocked"] is False  # no SIASN record

        clock.moment = dt.datetime(2024, 5, 20, 3, 0, tzinfo=dt.UTC)
        await desk.ok(pns, "inspektorat", "examine")
        decided = await desk.ok(pns, "ppk", "decide_sanction", sanction="moral_pernyataan_terbuka")
        assert decided["subjects"][0]["data_blocked"] is False

        bootstrap = str(settings_kwargs["kafka_bootstrap_servers"])
        public = events_of(
            await read_topic(
                bootstrap,
                pemda.settings.topic(REPORTS_PUBLIC.name),
                lambda rs: any(
                    dict(r.headers).get("ce_type") == b"public.report.escalation_lifted.v1" for r in rs
                ),
            )
        )
        blocks = {
            e.data["case"]["case_id"]: e.data
            for e in public
            if e.type == "public.report.escalated.v1" and e.data["level"] == "blokir_data"
        }
        assert blocks[pns]["subject_employee_id"] == BUDI and blocks[pns]["subject_employee_ids"] == [BUDI]
        assert (
            blocks[non_asn]["subject_employee_id"] is None and blocks[non_asn]["subject_employee_ids"] == []
        )
        (lifted,) = [e for e in public if e.type == "public.report.escalation_lifted.v1"]
        assert lifted.data["case"]["case_id"] == pns and lifted.data["subject_employee_id"] == BUDI
        assert lifted.data["level"] == "blokir_data"
        internal = events_of(
            await read_topic(
                bootstrap,
                pemda.settings.topic(REPORT_CASES.name),
                lambda rs: any(dict(r.headers).get("ce_type") == b"report.escalation_lifted.v1" for r in rs),
            )
        )
        assert [e.data["subject_id"] for e in internal if e.type == "report.escalation_lifted.v1"] == ["s1"]
