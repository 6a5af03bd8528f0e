"""The signing use cases (services/signing/usecases.py) over an in-memory store: who may do
what, within which units, the cascade and the other signing rules, and the deadline duties,
without engines."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from contracts.envelope import CloudEvent
from contracts.roles import Role
from contracts.signing import ChainCheckpointV1
from services.kit.clock import FixedClock
from services.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.kit.identity import Principal
from services.kit.mongo import Document
from services.kit.polling import Wakeup
from services.signing.domain import (
    GENESIS,
    JPT,
    REGIONAL_HEAD,
    CascadePolicy,
    ReceiptKey,
    Refused,
    checkpoint_message,
    link_receipts,
    verify_signature,
)
from services.signing.settings import SigningSettings
from services.signing.store import Pending, SignResult
from services.signing.usecases import CampaignDraft, SigningMetrics, SigningUseCases

NOW = dt.datetime(2029, 1, 10, 2, 0, tzinfo=dt.UTC)
DEADLINE = NOW + dt.timedelta(days=10)
PERIOD_STARTS_ON = dt.date(2029, 1, 25)  # the campaign period's first day, after the deadline
KEY = ReceiptKey.generate()
PACT = "Saya menjaga netralitas ASN sebelum, selama, dan sesudah pemilihan."

SEKDA = "197001011995031001"
HEAD = "197502022000031002"
STAFF = "198503152010011005"
OTHER_STAFF = "198503152010011006"  # staff of the second OPD
RETIRED = "196001011980031001"
OUTSIDER = "199001012015031001"  # another pemda, outside the campaign's scope
PJ = "196805051994031003"  # an acting regent (Pj bupati): a PNS
BUPATI = "NA0000000000000001"  # the elected regent: a state official with a platform id, no NIP

BKPSDM = Principal("bkpsdm-1", Role.BKPSDM, None, None)
BKPSDM_OF_OPD = Principal("bkpsdm-2", Role.BKPSDM, "32.01.001", None)
OPD_ADMIN = Principal("opd-admin-1", Role.OPD_ADMIN, "32.01.001", None)
PPK = Principal("ppk-1", Role.PPK, None, None)
BAWASLU = Principal("bawaslu-1", Role.BAWASLU, None, None)


def employee_of(nip: str) -> Principal:
    return Principal(f"pegawai-{nip}", Role.EMPLOYEE, None, nip)


UNITS: dict[str, Document] = {
    "32.01": {"_id": "32.01", "kind": "REGENCY", "name": "Kabupaten Bogor", "path": []},
    "32.01.001": {"_id": "32.01.001", "kind": "OPD", "name": "Dinas Pendidikan", "path": ["32.01"]},
    "32.01.002": {"_id": "32.01.002", "kind": "OPD", "name": "Dinas Kesehatan", "path": ["32.01"]},
    "32.02": {"_id": "32.02", "kind": "REGENCY", "name": "Kabupaten Sukabumi", "path": []},
}
PEOPLE = (
    (SEKDA, REGIONAL_HEAD, "32.01", True),
    (HEAD, JPT, "32.01.001", True),
    (STAFF, "STAFF", "32.01.001", True),
    (OTHER_STAFF, "STAFF", "32.01.002", True),
    (RETIRED, "STAFF", "32.01.001", False),
    (OUTSIDER, "STAFF", "32.02", True),
)


class FakeStore:
    """The methods the use cases call, over plain dicts and lists."""

    def __init__(self) -> None:
        self.units = {code: dict(doc) for code, doc in UNITS.items()}
        self.employees: dict[str, Document] = {}
        for nip, level, unit, active in PEOPLE:
            path = list(self.units[unit]["path"])
            self.employees[nip] = {
                "_id": nip,
                "nip": nip,
                "name": f"Pegawai {nip[-3:]}",
                "level": level,
                "org_unit_code": unit,
                "org_unit_path": path,
                "lineage": [*path, unit],
                "active": active,
                "signed_campaigns": [],
                "employment_type": "PNS",
                "leader_office": "SEKDA" if nip == SEKDA else None,
            }
        self.campaigns: dict[str, Document] = {}
        self.signatures: dict[str, Document] = {}
        self.events: list[CloudEvent] = []
        self.reminders_sent: list[tuple[str, int]] = []
        self.leader_queries = 0
        self.quarantined: list[tuple[Document, list[str]]] = []
        self.checkpoints: list[Document] = []

    async def campaign(self, code: str) -> Document | None:
        return self.campaigns.get(code)

    async def cached_campaign(self, code: str) -> Document | None:
        return self.campaigns.get(code)

    async def insert_campaign(self, doc: Document, events: Sequence[CloudEvent]) -> bool:
        if doc["_id"] in self.campaigns:
            return False
        self.campaigns[doc["_id"]] = dict(doc)
        self.events += events
        return True

    async def save_pact_revision(
        self, code: str, revision: Document, events: Sequence[CloudEvent]
    ) -> Document | None:
        current = self.campaigns[code]
        if current["status"] != "open" or current["pact_version"] != revision["version"] - 1:
            return None
        current.update(
            pact_text=revision["text"], pact_version=revision["version"], pact_sha256=revision["sha256"]
        )
        current["pact_versions"].append(revision)
        self.events += events
        return current

    async def unit(self, code: str) -> Document | None:
        return self.units.get(code)

    async def unit_kinds(self, codes: Sequence[str]) -> dict[str, str]:
        return {code: self.units[code]["kind"] for code in codes if code in self.units}

    async def employee(self, employee_id: str) -> Document | None:
        return self.employees.get(employee_id)

    def add_leader(self, employee_id: str, employment_type: str, office: str) -> None:
        """One of the pemda 32.01's leaders, on file at the pemda's own unit."""
        self.employees[employee_id] = {
            **self.employees[SEKDA],
            "_id": employee_id,
            "nip": None if employment_type == "PEJABAT_NEGARA" else employee_id,
            "employment_type": employment_type,
            "leader_office": office,
            "signed_campaigns": [],
        }

    async def leader_candidates(self, opd_code: str | None, pemda_code: str | None) -> list[Document]:
        self.leader_queries += 1
        return [
            dict(doc)
            for doc in self.employees.values()
            if doc["active"]
            and (
                (doc["org_unit_code"] == opd_code and doc["level"] == JPT)
                or (doc["org_unit_code"] == pemda_code and doc["level"] == REGIONAL_HEAD)
            )
        ]

    async def save_rescheduling(
        self, campaign: Document, changes: Document, record: Document, events: Sequence[CloudEvent]
    ) -> Document | None:
        current = self.campaigns[campaign["_id"]]
        if current["deadline"] != campaign["deadline"]:
            return None
        current.update(changes)
        current.setdefault("schedule_changes", []).append(record)
        self.events += events
        return current

    async def signed_receipt(self, signature_id: str) -> dict[str, Any] | None:
        found = self.signatures.get(signature_id)
        return None if found is None else dict(found["receipt"])

    async def add_signature(self, pending: Pending) -> SignResult:
        key = pending.doc["_id"]
        if key in self.signatures:
            return SignResult(self.signatures[key]["receipt"], created=False, warning=None)
        self.signatures[key] = pending.doc
        self.employees[pending.doc["employee_id"]]["signed_campaigns"].append(pending.doc["campaign"])
        self.events.append(pending.event)
        return SignResult(pending.doc["receipt"], created=True, warning=pending.warning)

    async def receipt(self, code: str) -> dict[str, Any] | None:
        for doc in self.signatures.values():
            if doc["receipt"]["code"] == code:
                return dict(doc["receipt"])
        return None

    async def chained_receipts(self, campaign_code: str) -> AsyncIterator[dict[str, Any]]:
        for doc in self.signatures.values():
            if doc["campaign"] == campaign_code and not doc["pending"]:
                yield doc["receipt"]

    async def progress(self, campaign: Document, unit: Document) -> dict[str, Any]:
        return {"campaign": campaign["_id"], "org_unit": unit["_id"]}

    async def unsigned(
        self, campaign: Document, unit_code: str, page: int, page_size: int
    ) -> tuple[list[Document], int]:
        docs = [doc for doc in self.employees.values() if unit_code in doc["lineage"]]
        return docs, len(docs)

    async def pending_signatures(self, limit: int) -> list[Document]:
        return [dict(doc) for doc in self.signatures.values() if doc["pending"]][:limit]

    async def chain_signatures(self, docs: Sequence[Document]) -> None:
        for doc in docs:
            stored = self.signatures[doc["_id"]]
            campaign = self.campaigns[doc["campaign"]]
            [link] = link_receipts([doc["receipt"]], KEY, campaign["chain_length"], campaign["head_hash"])
            stored.update(receipt=link, pending=False)
            campaign.update(chain_length=campaign["chain_length"] + 1, head_hash=link["hash"])

    async def quarantine_signature(self, doc: Document, problems: Sequence[str], at: dt.datetime) -> str:
        self.quarantined.append((self.signatures.pop(doc["_id"]), list(problems)))
        return f"q{len(self.quarantined)}"

    async def open_campaign_codes(self) -> list[str]:
        return [code for code, doc in self.campaigns.items() if doc["status"] == "open"]

    async def save_checkpoint(self, head: ChainCheckpointV1, events: Sequence[CloudEvent]) -> bool:
        self.campaigns[head.campaign]["checkpointed_length"] = head.chain_length
        self.checkpoints.append(head.model_dump())
        self.events += events
        return True

    async def last_checkpoint(self, campaign_code: str) -> Document | None:
        mine = [doc for doc in self.checkpoints if doc["campaign"] == campaign_code]
        return max(mine, key=lambda doc: doc["chain_length"], default=None)

    async def open_campaigns(self) -> list[Document]:
        return [dict(doc) for doc in self.campaigns.values() if doc["status"] == "open"]

    async def unsigned_in_scope(self, campaign: Document, batch: int = 1000) -> AsyncIterator[list[Document]]:
        people = [
            doc
            for doc in self.employees.values()
            if doc["active"]
            and doc["employment_type"] != "PEJABAT_NEGARA"
            and set(doc["lineage"]) & set(campaign["scope"])
            and campaign["_id"] not in doc["signed_campaigns"]
        ]
        for start in range(0, len(people), batch):
            yield people[start : start + batch]

    async def stage_events(self, events: Sequence[CloudEvent]) -> None:
        self.events += events

    async def mark_reminder_sent(self, campaign_code: str, hours_before: int) -> None:
        self.campaigns[campaign_code]["reminders_sent"].append(hours_before)
        self.reminders_sent.append((campaign_code, hours_before))

    async def close_campaign(
        self, final: ChainCheckpointV1, closed_at: dt.datetime, events: Sequence[CloudEvent]
    ) -> Document | None:
        campaign = self.campaigns[final.campaign]
        if campaign["status"] != "open" or campaign["chain_length"] != final.chain_length:
            return None
        campaign.update(status="closed", closed_at=closed_at)
        self.checkpoints.append(final.model_dump())
        self.events += events
        return campaign


class CountingWakeup(Wakeup):
    def __init__(self) -> None:
        super().__init__()
        self.times = 0

    def set(self) -> None:
        self.times += 1
        super().set()


class Signing:
    def __init__(self) -> None:
        self.store = FakeStore()
        self.clock = FixedClock(NOW)
        self.wakeup = CountingWakeup()
        self.registry = CollectorRegistry()
        self.usecases = SigningUseCases(
            self.store, KEY, self.clock, self.wakeup, SigningMetrics(self.registry)
        )

    def counted(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0

    def events_of(self, event_type: str) -> list[dict[str, Any]]:
        return [json.loads(event.payload) for event in self.store.events if event.type == event_type]

    async def open(
        self, cascade: CascadePolicy = CascadePolicy.STRICT, code: str = "pilkada-2029"
    ) -> Document:
        return await self.usecases.create_campaign(BKPSDM, draft(code=code, cascade=cascade))

    async def sign(self, nip: str, campaign: str = "pilkada-2029") -> SignResult:
        return await self.usecases.sign(employee_of(nip), campaign, "online", {"ip": "10.0.0.1"})


def draft(**changes: Any) -> CampaignDraft:
    fields: dict[str, Any] = {
        "code": "pilkada-2029",
        "title": "Pakta Integritas Netralitas ASN",
        "election": "Pilkada 2029",
        "deadline": DEADLINE,
        "pact_text": PACT,
        "scope": ["32.01"],
        "cascade": CascadePolicy.STRICT,
        "reminder_hours": [24, 72, 24],
        "campaign_period_starts_on": PERIOD_STARTS_ON,
    }
    return CampaignDraft(**{**fields, **changes})


@pytest.fixture
def signing() -> Signing:
    return Signing()


# ---------------------------------------------------------------- campaigns


async def test_a_campaign_opens_with_its_pact_at_version_one(signing: Signing) -> None:
    doc = await signing.open()
    assert (doc["status"], doc["pact_version"], doc["chain_length"], doc["head_hash"]) == (
        "open",
        1,
        0,
        GENESIS,
    )
    assert doc["reminder_hours"] == [72, 24]  # once each, the earliest first
    assert doc["created_by"] == "bkpsdm-1" and doc["created_at"] == NOW
    [opened] = signing.events_of("campaign.opened.v1")
    assert opened["campaign"]["code"] == "pilkada-2029" and opened["campaign"]["cascade"] == "strict"


async def test_a_campaign_code_is_taken_once(signing: Signing) -> None:
    await signing.open()
    with pytest.raises(Conflict, match="kampanye pilkada-2029 sudah ada"):
        await signing.open()
    assert len(signing.events_of("campaign.opened.v1")) == 1


async def test_the_deadline_must_be_ahead_of_the_service_clock(signing: Signing) -> None:
    with pytest.raises(InvalidInput) as refused:
        await signing.usecases.create_campaign(BKPSDM, draft(deadline=NOW))
    assert refused.value.errors == [{"field": "deadline", "message": "tenggat harus di masa depan"}]
    signing.clock.moment = NOW - dt.timedelta(days=1)
    assert (await signing.usecases.create_campaign(BKPSDM, draft(deadline=NOW)))["deadline"] == NOW


async def test_the_scope_must_be_known_units_within_the_callers_own(signing: Signing) -> None:
    with pytest.raises(InvalidInput) as unknown:
        await signing.usecases.create_campaign(BKPSDM, draft(scope=["32.01", "99.99"]))
    assert unknown.value.errors == [
        {"field": "scope", "message": "unit organisasi 99.99 belum dikenal layanan penandatanganan"}
    ]
    with pytest.raises(Forbidden, match=r"unit 32\.01 berada di luar wewenang Anda"):
        await signing.usecases.create_campaign(BKPSDM_OF_OPD, draft())
    assert signing.store.campaigns == {}


@pytest.mark.parametrize("principal", [OPD_ADMIN, PPK, BAWASLU, employee_of(STAFF)])
async def test_only_bkpsdm_opens_campaigns_and_revises_pacts(signing: Signing, principal: Principal) -> None:
    with pytest.raises(Forbidden, match="tidak boleh melakukan ini"):
        await signing.usecases.create_campaign(principal, draft())
    await signing.open()
    with pytest.raises(Forbidden, match="tidak boleh melakukan ini"):
        await signing.usecases.revise_pact(principal, "pilkada-2029", PACT + " Versi kedua.")


async def test_a_revised_pact_is_signed_from_then_on(signing: Signing) -> None:
    await signing.open(CascadePolicy.OFF)
    before = await signing.sign(STAFF)
    revised = await signing.usecases.revise_pact(BKPSDM, "pilkada-2029", PACT + " Versi kedua.")
    assert revised["pact_version"] == 2 and [v["version"] for v in revised["pact_versions"]] == [1, 2]
    after = await signing.sign(HEAD)
    assert after.receipt["pact_sha256"] == revised["pact_sha256"] != before.receipt["pact_sha256"]
    [event] = signing.events_of("campaign.pact_revised.v1")
    assert event["campaign"]["pact_version"] == 2
    # The same words again (a final newline aside) are no new version.
    same = await signing.usecases.revise_pact(BKPSDM, "pilkada-2029", PACT + " Versi kedua.\r\n")
    assert same["pact_version"] == 2 and len(signing.events_of("campaign.pact_revised.v1")) == 1


async def test_a_closed_campaigns_pact_stays(signing: Signing) -> None:
    await signing.open()
    signing.store.campaigns["pilkada-2029"]["status"] = "closed"
    with pytest.raises(Conflict, match="kampanye pilkada-2029 sudah ditutup"):
        await signing.usecases.revise_pact(BKPSDM, "pilkada-2029", PACT + " Versi kedua.")
    with pytest.raises(NotFound, match="kampanye lain tidak ditemukan"):
        await signing.usecases.revise_pact(BKPSDM, "lain", PACT)


async def test_the_deadline_is_at_the_latest_the_start_of_the_campaign_period(signing: Signing) -> None:
    starts = dt.datetime(2029, 1, 25, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    with pytest.raises(InvalidInput) as refused:
        await signing.usecases.create_campaign(BKPSDM, draft(deadline=starts + dt.timedelta(days=1)))
    assert refused.value.errors[0]["field"] == "deadline"
    assert "melewati awal masa kampanye 2029-01-25 pukul 00.00 WIB" in refused.value.errors[0]["message"]
    doc = await signing.usecases.create_campaign(BKPSDM, draft(deadline=starts))
    assert doc["campaign_period_starts_on"] == "2029-01-25"
    [opened] = signing.events_of("campaign.opened.v1")
    assert opened["campaign"]["campaign_period_starts_on"] == "2029-01-25"


async def test_a_wita_pemda_reads_the_period_in_its_own_zone() -> None:
    signing = Signing()
    signing.usecases.timezone = "Asia/Makassar"
    starts_wib = dt.datetime(2029, 1, 25, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    with pytest.raises(InvalidInput, match=r"2029-01-25 pukul 00\.00 WITA"):
        await signing.usecases.create_campaign(BKPSDM, draft(deadline=starts_wib))


async def test_rescheduling_is_the_bkpsdms_and_keeps_the_rule(signing: Signing) -> None:
    await signing.open()
    for principal in (OPD_ADMIN, PPK, employee_of(STAFF)):
        with pytest.raises(Forbidden):
            await signing.usecases.reschedule(principal, "pilkada-2029", None, dt.date(2029, 2, 1))
    with pytest.raises(Forbidden, match=r"unit 32\.01 berada di luar wewenang Anda"):
        await signing.usecases.reschedule(BKPSDM_OF_OPD, "pilkada-2029", None, dt.date(2029, 2, 1))
    with pytest.raises(InvalidInput, match="melewati awal masa kampanye 2029-01-15"):
        await signing.usecases.reschedule(BKPSDM, "pilkada-2029", None, dt.date(2029, 1, 15))
    later = DEADLINE + dt.timedelta(days=5)
    moved = await signing.usecases.reschedule(BKPSDM, "pilkada-2029", later, dt.date(2029, 2, 1))
    assert moved["deadline"] == later and moved["campaign_period_starts_on"] == "2029-02-01"
    [event] = signing.events_of("campaign.rescheduled.v1")
    assert event["campaign"]["campaign_period_starts_on"] == "2029-02-01"
    assert moved["schedule_changes"][0]["by"] == "bkpsdm-1"
    same = await signing.usecases.reschedule(BKPSDM, "pilkada-2029", later, None)
    assert same["deadline"] == later and len(signing.events_of("campaign.rescheduled.v1")) == 1
    with pytest.raises(NotFound):
        await signing.usecases.reschedule(BKPSDM, "lain", later, None)


# ---------------------------------------------------------------- signatures


async def test_an_employee_token_without_nip_cannot_sign(signing: Signing) -> None:
    await signing.open(CascadePolicy.OFF)
    without_nip = Principal("pegawai-x", Role.EMPLOYEE, None, None)
    with pytest.raises(Forbidden, match="token pegawai tidak memuat NIP"):
        await signing.usecases.sign(without_nip, "pilkada-2029", "online", {})
    with pytest.raises(Forbidden, match="tidak boleh melakukan ini"):
        await signing.usecases.sign(OPD_ADMIN, "pilkada-2029", "online", {})
    assert signing.store.signatures == {}


async def test_the_strict_cascade_goes_wave_by_wave(signing: Signing) -> None:
    await signing.open()
    with pytest.raises(Refused) as staff_waits:
        await signing.sign(STAFF)
    assert staff_waits.value.waiting_for == [HEAD] and isinstance(staff_waits.value, Conflict)
    assert "Kepala OPD 32.01.001 belum menandatangani pakta" in staff_waits.value.message
    with pytest.raises(Refused) as head_waits:
        await signing.sign(HEAD)
    assert head_waits.value.waiting_for == [SEKDA]
    assert signing.counted("netral_signing_cascade_refusals_total", campaign="pilkada-2029") == 2

    for nip in (SEKDA, HEAD, STAFF):
        result = await signing.sign(nip)
        assert result.created and result.warning is None, nip
    assert signing.wakeup.times == 3  # each new signature wakes the sequencer
    assert signing.counted("netral_signing_signatures_total", campaign="pilkada-2029", mode="online") == 3
    [signed] = [event for event in signing.events_of("pledge.signed.v1") if event["employee_id"] == STAFF]
    assert signed["org_unit_code"] == "32.01.001" and signed["recorded_by"] is None
    record = signing.store.signatures[f"pilkada-2029:{STAFF}"]
    assert record["pending"] and record["authenticated_by"] == f"employee:pegawai-{STAFF}"
    assert (
        record["receipt"]["status"] == "pending"
        and record["receipt"]["signed_at"] == "2029-01-10T02:00:00.000000Z"
    )


async def test_signing_twice_answers_the_first_receipt(signing: Signing) -> None:
    await signing.open(CascadePolicy.OFF)
    first = await signing.sign(STAFF)
    again = await signing.sign(STAFF)
    assert (again.created, again.receipt["code"]) == (False, first.receipt["code"])
    assert signing.wakeup.times == 1 and len(signing.events_of("pledge.signed.v1")) == 1


async def test_the_advisory_cascade_warns_and_off_asks_no_one(signing: Signing) -> None:
    await signing.open(CascadePolicy.ADVISORY)
    warned = await signing.sign(STAFF)
    assert warned.created and warned.warning is not None and warned.warning.startswith("Peringatan")
    await signing.open(CascadePolicy.OFF, code="pemilu-2029")
    queries = signing.store.leader_queries
    unasked = await signing.sign(OTHER_STAFF, "pemilu-2029")
    assert unasked.created and unasked.warning is None and signing.store.leader_queries == queries


@pytest.mark.parametrize(
    ("nip", "message"),
    [
        (RETIRED, f"pegawai {RETIRED} tidak aktif"),
        (OUTSIDER, f"pegawai {OUTSIDER} tidak termasuk cakupan kampanye pilkada-2029"),
    ],
)
async def test_only_active_employees_in_scope_sign(signing: Signing, nip: str, message: str) -> None:
    await signing.open(CascadePolicy.OFF)
    with pytest.raises(Refused, match=message):
        await signing.sign(nip)
    assert signing.store.signatures == {}


async def test_no_signature_at_or_after_the_deadline(signing: Signing) -> None:
    await signing.open(CascadePolicy.OFF)
    signing.clock.moment = DEADLINE
    with pytest.raises(Refused, match="kampanye pilkada-2029 sudah ditutup"):
        await signing.sign(STAFF)
    with pytest.raises(NotFound, match="kampanye lain tidak ditemukan"):
        await signing.sign(STAFF, "lain")
    with pytest.raises(NotFound, match="pegawai 1 belum dikenal layanan penandatanganan"):
        await signing.sign("1")


async def test_a_ceremony_records_signatures_of_the_admins_own_unit(signing: Signing) -> None:
    await signing.open(CascadePolicy.OFF)
    recorded = await signing.usecases.record_ceremony_signature(
        OPD_ADMIN, "pilkada-2029", STAFF, "in_person", {"ip": None}
    )
    assert recorded.created and recorded.receipt["mode"] == "in_person"
    record = signing.store.signatures[f"pilkada-2029:{STAFF}"]
    assert record["recorded_by"] == "opd-admin-1" and record["authenticated_by"] == "opd_admin:opd-admin-1"
    with pytest.raises(Forbidden, match=r"unit 32\.01\.002 berada di luar wewenang Anda"):
        await signing.usecases.record_ceremony_signature(
            OPD_ADMIN, "pilkada-2029", OTHER_STAFF, "in_person", {}
        )
    with pytest.raises(Forbidden):
        await signing.usecases.record_ceremony_signature(BKPSDM, "pilkada-2029", HEAD, "in_person", {})


async def test_the_pj_and_the_sekda_sign_first_and_the_elected_bupati_not_at_all(signing: Signing) -> None:
    signing.store.add_leader(PJ, "PNS", "PJ_KEPALA_DAERAH")
    signing.store.add_leader(BUPATI, "PEJABAT_NEGARA", "KEPALA_DAERAH")
    await signing.open()
    with pytest.raises(Refused) as head_waits:
        await signing.sign(HEAD)
    assert head_waits.value.waiting_for == sorted([PJ, SEKDA])  # not the bupati
    assert head_waits.value.message.startswith("Pj kepala daerah dan Sekda pemda 32.01 belum menandatangani")
    with pytest.raises(Refused, match="pejabat negara") as elected:
        await signing.sign(BUPATI)
    assert elected.value.waiting_for == []
    assert (await signing.sign(PJ)).created
    with pytest.raises(Refused) as still_waits:
        await signing.sign(HEAD)
    assert still_waits.value.waiting_for == [SEKDA]
    assert still_waits.value.message.startswith(
        "Sekda pemda 32.01 belum menandatangani pakta (1 dari 2 belum)"
    )
    assert (await signing.sign(SEKDA)).created
    assert (await signing.sign(HEAD)).created and (await signing.sign(STAFF)).created


async def test_advisory_lets_the_jpt_sign_before_the_pj_with_a_warning(signing: Signing) -> None:
    signing.store.add_leader(PJ, "PNS", "PJ_KEPALA_DAERAH")
    await signing.open(CascadePolicy.ADVISORY)
    await signing.sign(SEKDA)
    warned = await signing.sign(HEAD)
    assert warned.created and warned.warning == (
        "Peringatan (kaskade advisory): Pj kepala daerah pemda 32.01 belum menandatangani pakta "
        "(1 dari 2 belum); pejabat pimpinan tinggi (JPT) dapat menandatangani setelah Pj kepala daerah "
        "dan Sekda"
    )
    signing.store.add_leader(BUPATI, "PEJABAT_NEGARA", "KEPALA_DAERAH")
    with pytest.raises(Refused, match="pejabat negara"):  # whatever the policy
        await signing.sign(BUPATI)


# ---------------------------------------------------------------- receipts, chain, progress


async def test_anyone_checks_a_receipt_by_its_code(signing: Signing) -> None:
    await signing.open(CascadePolicy.OFF)
    code = (await signing.sign(STAFF)).receipt["code"]
    verdict = await signing.usecases.verify_receipt(code.lower().replace("-", ""))
    assert verdict.receipt["code"] == code and verdict.check.valid and verdict.check.stage == "pending"
    with pytest.raises(InvalidInput) as malformed:
        await signing.usecases.verify_receipt("bukan-kode!")
    assert malformed.value.errors[0]["field"] == "code"
    with pytest.raises(NotFound, match="tanda terima ZZZZ-ZZZZ-ZZZZ tidak ditemukan"):
        await signing.usecases.verify_receipt("ZZZZ-ZZZZ-ZZZZ")
    [key] = signing.usecases.receipt_keys()
    assert key["key_id"] == KEY.key_id and "BEGIN PUBLIC KEY" in key["public_pem"]


async def test_a_chain_shorter_than_its_recorded_head_is_broken(signing: Signing) -> None:
    await signing.open(CascadePolicy.OFF)
    for nip in (SEKDA, HEAD, STAFF):
        await signing.sign(nip)
    assert await signing.usecases.chain_pending(10) == 3
    whole = await signing.usecases.verify_campaign_chain(BAWASLU, "pilkada-2029")
    assert (whole.valid, whole.length, whole.recorded_length) == (True, 3, 3)
    last = max(signing.store.signatures.values(), key=lambda doc: doc["receipt"]["chain_index"])
    del signing.store.signatures[last["_id"]]
    cut = await signing.usecases.verify_campaign_chain(BAWASLU, "pilkada-2029")
    assert (cut.valid, cut.first_broken) == (False, 2)
    assert cut.problem == "rantai berisi 2 catatan, kepala rantai mencatat 3"
    with pytest.raises(Forbidden):
        await signing.usecases.verify_campaign_chain(OPD_ADMIN, "pilkada-2029")


async def test_progress_is_read_within_the_callers_units(signing: Signing) -> None:
    await signing.open()
    own = await signing.usecases.progress(OPD_ADMIN, "pilkada-2029", "32.01.001")
    assert own == {"campaign": "pilkada-2029", "org_unit": "32.01.001"}
    with pytest.raises(Forbidden, match=r"unit 32\.01 berada di luar wewenang Anda"):
        await signing.usecases.progress(OPD_ADMIN, "pilkada-2029", "32.01")
    with pytest.raises(Forbidden, match=r"unit 32\.01 berada di luar wewenang Anda"):
        await signing.usecases.unsigned(OPD_ADMIN, "pilkada-2029", "32.01", 1, 50)
    with pytest.raises(Forbidden, match="tidak boleh melakukan ini"):
        await signing.usecases.progress(PPK, "pilkada-2029", "32.01.001")
    with pytest.raises(NotFound, match="unit organisasi 99 belum dikenal"):
        await signing.usecases.progress(BKPSDM, "pilkada-2029", "99")
    docs, total = await signing.usecases.unsigned(BKPSDM, "pilkada-2029", "32.01.002", 1, 50)
    assert total == 1 and docs[0]["_id"] == OTHER_STAFF


# ---------------------------------------------------------------- the sequencer's duties


async def test_a_checkpoint_is_published_when_the_chain_moved(signing: Signing) -> None:
    await signing.open(CascadePolicy.OFF)
    assert await signing.usecases.checkpoint_open_campaigns() == {"pilkada-2029": 0}
    assert await signing.usecases.checkpoint_open_campaigns() == {"pilkada-2029": 0}
    await signing.sign(STAFF)
    await signing.usecases.chain_pending(10)
    assert await signing.usecases.checkpoint_open_campaigns() == {"pilkada-2029": 1}
    checkpoints = signing.events_of("pledge.checkpoint.v1")
    assert [(c["chain_length"], c["final"]) for c in checkpoints] == [(0, False), (1, False)]
    head = signing.store.campaigns["pilkada-2029"]["head_hash"]
    assert verify_signature(
        KEY.public_pem(), checkpoint_message("pilkada-2029", 1, head), checkpoints[1]["signature"]
    )


async def test_reminders_once_each_then_overdue_notices_and_the_close(signing: Signing) -> None:
    await signing.open(CascadePolicy.OFF)
    await signing.sign(SEKDA)
    await signing.usecases.deadline_duties(100)
    assert signing.store.events[-1].type == "pledge.signed.v1"  # nothing due ten days ahead

    signing.clock.moment = DEADLINE - dt.timedelta(hours=24)  # both reminder hours reached
    await signing.usecases.deadline_duties(100)
    await signing.usecases.deadline_duties(100)
    reminders = signing.events_of("pledge.reminder_due.v1")
    assert sorted((r["hours_before"], r["employee_id"]) for r in reminders) == [
        (24, HEAD),
        (24, STAFF),
        (24, OTHER_STAFF),
        (72, HEAD),
        (72, STAFF),
        (72, OTHER_STAFF),
    ]
    assert signing.store.reminders_sent == [("pilkada-2029", 72), ("pilkada-2029", 24)]

    signing.clock.moment = DEADLINE
    await signing.usecases.deadline_duties(100)
    assert {event["employee_id"] for event in signing.events_of("pledge.overdue.v1")} == {
        HEAD,
        STAFF,
        OTHER_STAFF,
    }
    campaign = signing.store.campaigns["pilkada-2029"]
    assert (campaign["status"], campaign["closed_at"], campaign["chain_length"]) == ("closed", DEADLINE, 1)
    [final] = [c for c in signing.events_of("pledge.checkpoint.v1") if c["final"]]
    [closed] = signing.events_of("campaign.closed.v1")
    assert final["chain_length"] == closed["chain_length"] == 1 and final["head_hash"] == closed["head_hash"]
    # A job retried after a crash before the close repeats its notices' ids: consumers drop them.
    campaign["status"] = "open"
    await signing.usecases.deadline_duties(100)
    overdue_ids = [event.id for event in signing.store.events if event.type == "pledge.overdue.v1"]
    assert len(overdue_ids) == 6 and len(set(overdue_ids)) == 3


def test_an_unknown_time_zone_stops_the_start() -> None:
    assert SigningSettings(timezone="Asia/Jayapura").timezone == "Asia/Jayapura"
    with pytest.raises(ValidationError, match="zona waktu tidak dikenal: Asia/Atlantis"):
        SigningSettings(timezone="Asia/Atlantis")
