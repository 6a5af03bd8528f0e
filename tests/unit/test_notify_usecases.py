"""The notify use cases (services/notify/usecases.py) over an in-memory store: who may do what,
within which scope, and which deliveries an event plans, without engines."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import pytest
from cryptography.fernet import Fernet

from contracts.envelope import CloudEvent
from contracts.roles import Role
from services.kit.clock import FixedClock
from services.kit.errors import Forbidden, InvalidInput, NotFound
from services.kit.identity import Principal
from services.kit.mongo import Document, Session
from services.kit.sealing import Sealer
from services.notify.channels import WebhookTargets
from services.notify.domain import SEALED_RECIPIENT, QuietHours, structured_event
from services.notify.messages import Templates
from services.notify.ratelimits import ReplayLimit
from services.notify.usecases import NotifyUseCases
from tests.integration.notify_setup import public_received

NOW = dt.datetime(2029, 1, 15, 3, 0, tzinfo=dt.UTC)  # 10.00 WIB
SESSION = cast(Session, object())
BKPSDM = Principal("bkpsdm-1", Role.BKPSDM, "32", None)
BKPSDM_OF_OTHER_PEMDA = Principal("bkpsdm-2", Role.BKPSDM, "33", None)
BKN = Principal("bkn-1", Role.BKN, None, None)
PPK = Principal("ppk-1", Role.PPK, "32", None)
PLATFORM_BKPSDM = Principal("bkpsdm-0", Role.BKPSDM, None, None)


class FakeStore:
    """The methods the use cases call, over plain dicts and lists."""

    def __init__(self) -> None:
        self.employees: dict[str, Document] = {}
        self.reporter_contacts: dict[str, Document] = {}
        self.role_contacts: dict[str, Document] = {}
        self.deliveries: dict[str, Document] = {}
        self.subscriptions: dict[str, Document] = {}
        self.public_events: list[Document] = []
        self.employee_reads = 0
        self.stage_calls = 0

    async def save_reporter_contact(
        self, session: Session, report_id: str, case_id: str, sealed: str
    ) -> None:
        self.reporter_contacts[report_id] = {"_id": report_id, "case_id": case_id, "sealed": sealed}

    async def reporter_contact_ids(self, session: Session, case_id: str | None) -> list[str]:
        return [key for key, doc in self.reporter_contacts.items() if doc["case_id"] == case_id]

    async def known_reporter_contacts(self, session: Session, report_ids: Sequence[str]) -> list[str]:
        return sorted(key for key in self.reporter_contacts if key in report_ids)

    async def move_reporter_contacts(self, session: Session, report_ids: Sequence[str], case_id: str) -> None:
        for key in report_ids:
            if key in self.reporter_contacts:
                self.reporter_contacts[key]["case_id"] = case_id

    async def save_role_contact(self, doc: Document) -> None:
        self.role_contacts[doc["_id"]] = dict(doc)

    async def list_role_contacts(self) -> list[Document]:
        return [self.role_contacts[key] for key in sorted(self.role_contacts)]

    async def role_contacts_in(
        self, session: Session, role: str, units: Sequence[str | None]
    ) -> list[Document]:
        return [
            doc for doc in self.role_contacts.values() if doc["role"] == role and doc.get("org_unit") in units
        ]

    async def employee(self, session: Session, employee_id: str) -> Document | None:
        self.employee_reads += 1
        return self.employees.get(employee_id)

    async def stage_deliveries(self, docs: Sequence[Document], session: Session | None = None) -> None:
        self.stage_calls += 1
        for doc in docs:
            self.deliveries.setdefault(doc["_id"], dict(doc))

    async def cancel_pending_of_case(
        self, session: Session, case_id: str | None, rules: Sequence[str], reason: str
    ) -> None:
        self._cancel(lambda doc: doc.get("case_id") == case_id and doc["rule"] in rules, reason)

    async def cancel_pending_of_subjects(
        self,
        session: Session,
        case_id: str | None,
        rules: Sequence[str],
        subject_ids: Sequence[str],
        reason: str,
    ) -> None:
        self._cancel(
            lambda doc: (
                doc.get("case_id") == case_id
                and doc["rule"] in rules
                and bool(doc.get("subject_ids"))
                and set(doc["subject_ids"]) <= set(subject_ids)
            ),
            reason,
        )

    async def cancel_pending_of_subscription(self, subscription_id: str, reason: str) -> None:
        self._cancel(lambda doc: doc.get("subscription_id") == subscription_id, reason)

    def _cancel(self, matches: Any, reason: str) -> None:
        for doc in self.deliveries.values():
            if doc["status"] == "pending" and matches(doc):
                doc.update(status="cancelled", last_error=reason)

    async def delivery_log(
        self, status: str | None, audience: str | None, agency: str | None, page: int, page_size: int
    ) -> tuple[list[Document], int]:
        docs = [dict(doc) for doc in self.deliveries.values() if status is None or doc["status"] == status]
        return docs[(page - 1) * page_size : page * page_size], len(docs)

    async def insert_subscription(self, doc: Document) -> None:
        self.subscriptions[doc["_id"]] = dict(doc)

    async def subscription(self, subscription_id: str) -> Document | None:
        return self.subscriptions.get(subscription_id)

    async def list_subscriptions(self) -> list[Document]:
        return [{k: v for k, v in doc.items() if k != "sealed_secret"} for doc in self.subscriptions.values()]

    async def subscriptions_to(self, session: Session, event_type: str) -> list[Document]:
        return [doc for doc in self.subscriptions.values() if event_type in doc["event_types"]]

    async def delete_subscription(self, subscription_id: str) -> bool:
        return self.subscriptions.pop(subscription_id, None) is not None

    async def keep_public_event(
        self, session: Session, event: CloudEvent, body: bytes, now: dt.datetime
    ) -> None:
        if all(doc["_id"] != event.id for doc in self.public_events):
            self.public_events.append(
                {"_id": event.id, "type": event.type, "time": event.time, "body": body, "stored_at": now}
            )

    async def public_events_since(
        self, event_types: Sequence[str], since: dt.datetime, kept_since: dt.datetime
    ) -> AsyncIterator[Document]:
        for doc in sorted(self.public_events, key=lambda doc: doc["time"]):
            if doc["type"] in event_types and doc["time"] >= since and doc["stored_at"] >= kept_since:
                yield doc


PUBLIC_HOSTS = {"b.example": ["93.184.215.14"], "agency.example": ["93.184.215.15"]}


async def public_resolver(host: str, port: int) -> list[str]:
    """DNS for the tests: the agencies' names resolve to public addresses, nothing else resolves."""
    return PUBLIC_HOSTS.get(host, [])


def notify_usecases(store: FakeStore, sealer: Sealer, clock: FixedClock | None = None) -> NotifyUseCases:
    quiet = QuietHours("Asia/Jakarta", dt.time(21, 0), dt.time(6, 0))
    return NotifyUseCases(
        store,
        clock or FixedClock(NOW),
        Templates(),
        sealer,
        quiet,
        WebhookTargets(allow_private=False, resolver=public_resolver),
        ReplayLimit("5/hour"),
    )


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def sealer() -> Sealer:
    return Sealer([Fernet.generate_key()], "kontak pelapor")


@pytest.fixture
def usecases(store: FakeStore, sealer: Sealer) -> NotifyUseCases:
    return notify_usecases(store, sealer)


def _reminder(employee_id: str = "198503152010011005") -> dict[str, Any]:
    return {
        "campaign": "pemilu-2029",
        "employee_id": employee_id,
        "nip": employee_id,
        "org_unit_code": "32.01.001",
        "deadline": "2029-01-31T17:00:00Z",
        "hours_before": 24,
    }


def _case(state: str, **deadlines: str) -> dict[str, Any]:
    return {
        "case_id": "c-1",
        "state": state,
        "category": "kampanye_media_sosial",
        "violation_class": "etika",
        "channels": ["public"],
        "report_count": 1,
        "incident_date": "2029-01-10",
        "accused": {"name": "Budi Santoso", "nip": None, "org_unit_code": "32.01.001", "position": None},
        "subject": None,
        "match_status": "unmatched",
        "org_unit_code": "32.01.001",
        "org_unit_path": ["32", "32.01"],
        "bawaslu_references": [],
        "deadlines": dict(deadlines),
        "sanction": None,
        "received_at": "2029-01-11T02:00:00Z",
        "version": 3,
    }


def _transition(event_type: str, to_state: str) -> dict[str, Any]:
    return {
        "case": _case(to_state, decision="2029-02-05T17:00:00Z"),
        "action": "x",
        "from_state": "verified",
        "to_state": to_state,
        "reason": "Alasan yang cukup panjang untuk dibaca.",
        "actor_role": "bkn",
        "at": NOW.isoformat(),
    }


async def _contact(store: FakeStore, role: str, unit: str, email: str, name: str) -> None:
    doc = {"_id": f"{role}:{unit}", "role": role, "org_unit": unit, "email": email, "name": name}
    await store.save_role_contact(doc)


# ---------------------------------------------------------------- contacts of roles


async def test_bkpsdm_sets_a_role_contact_within_its_pemda(
    usecases: NotifyUseCases, store: FakeStore
) -> None:
    doc = await usecases.set_role_contact(BKPSDM, "bkpsdm", "32", "bkpsdm@x.go.id", "BKPSDM")
    assert doc["_id"] == "bkpsdm:32"
    assert await usecases.role_contacts(BKPSDM) == [doc]


async def test_a_role_contact_outside_the_scope_or_by_another_role_is_refused(
    usecases: NotifyUseCases, store: FakeStore
) -> None:
    with pytest.raises(Forbidden, match="di luar wewenang"):
        await usecases.set_role_contact(BKPSDM_OF_OTHER_PEMDA, "ppk", "32", "ppk@x.go.id", "PPK")
    with pytest.raises(Forbidden, match="peran ppk"):
        await usecases.set_role_contact(PPK, "ppk", "32", "ppk@x.go.id", "PPK")
    with pytest.raises(Forbidden):
        await usecases.role_contacts(BKN)
    assert store.role_contacts == {}


# ---------------------------------------------------------------- planning from events


async def test_a_reminder_plans_one_delivery_and_a_redelivery_none_more(
    usecases: NotifyUseCases, store: FakeStore
) -> None:
    store.employees["e-1"] = {"_id": "e-1", "name": "Budi Santoso", "email": "budi@x.go.id"}
    data = _reminder("e-1")
    assert await usecases.plan(SESSION, "evt-1", "pledge.reminder_due.v1", data) == 1
    await usecases.plan(SESSION, "evt-1", "pledge.reminder_due.v1", data)
    (doc,) = store.deliveries.values()
    assert doc["recipient"] == "budi@x.go.id" and doc["next_attempt_at"] == NOW
    assert "Budi Santoso" in doc["body"] and "pemilu-2029" in doc["body"]
    assert store.employee_reads == 2  # one read per event, for all its rules


async def test_an_employee_without_an_address_gets_nothing(
    usecases: NotifyUseCases, store: FakeStore
) -> None:
    store.employees["e-1"] = {"_id": "e-1", "name": "Budi Santoso", "email": None}
    assert await usecases.plan(SESSION, "evt-1", "pledge.reminder_due.v1", _reminder("e-1")) == 0
    assert await usecases.plan(SESSION, "evt-2", "pledge.reminder_due.v1", _reminder("unknown")) == 0
    assert store.deliveries == {}


async def test_an_event_no_rule_reacts_to_reads_nothing(usecases: NotifyUseCases, store: FakeStore) -> None:
    assert await usecases.plan(SESSION, "evt-1", "pledge.signed.v1", _reminder("e-1")) == 0
    assert store.employee_reads == 0 and store.stage_calls == 0


async def test_a_reminder_at_night_waits_until_morning(store: FakeStore, sealer: Sealer) -> None:
    night = dt.datetime(2029, 1, 15, 15, 0, tzinfo=dt.UTC)  # 22.00 WIB
    usecases = notify_usecases(store, sealer, FixedClock(night))
    store.employees["e-1"] = {"_id": "e-1", "name": "Budi Santoso", "email": "budi@x.go.id"}
    await usecases.plan(SESSION, "evt-1", "pledge.reminder_due.v1", _reminder("e-1"))
    (doc,) = store.deliveries.values()
    assert doc["next_attempt_at"] == dt.datetime(2029, 1, 15, 23, 0, tzinfo=dt.UTC)  # 06.00 WIB


async def test_an_overdue_pledge_reaches_the_employee_and_the_nearest_opd_admin(
    usecases: NotifyUseCases, store: FakeStore
) -> None:
    store.employees["e-1"] = {"_id": "e-1", "name": "Budi Santoso", "email": "budi@x.go.id"}
    await _contact(store, "opd_admin", "32.01.001", "opd@x.go.id", "Admin Dinas")
    await _contact(store, "opd_admin", "32", "pemda@x.go.id", "Admin Pemda")
    data = {**_reminder("e-1"), "org_unit_path": ["32", "32.01"]}
    data.pop("hours_before")
    assert await usecases.plan(SESSION, "evt-1", "pledge.overdue.v1", data) == 2
    by_recipient = {doc["recipient"]: doc for doc in store.deliveries.values()}
    assert set(by_recipient) == {"budi@x.go.id", "opd@x.go.id"}
    assert "Budi Santoso" in by_recipient["opd@x.go.id"]["body"]  # the employee it is about
    assert store.employee_reads == 1


async def test_a_reporter_hears_by_sealed_reference_and_the_log_never_shows_it(
    usecases: NotifyUseCases, store: FakeStore, sealer: Sealer
) -> None:
    await usecases.keep_reporter_contact(
        SESSION,
        {
            "report_id": "r-1",
            "case_id": "c-1",
            "sealed_contact": sealer.seal({"contact": "rina@x.org"}).decode(),
        },
    )
    data = _transition("report.verified.v1", "verified")
    assert await usecases.plan(SESSION, "evt-1", "report.verified.v1", data) == 1
    (doc,) = store.deliveries.values()
    assert doc["recipient"] == "sealed:r-1" and doc["audience"] == "reporter"
    items, total = await usecases.delivery_log(BKN, None, None, None, 1, 50)
    assert total == 1 and items[0]["recipient"] == SEALED_RECIPIENT
    assert "rina" not in str(items)


async def test_the_log_is_for_its_readers_only(usecases: NotifyUseCases) -> None:
    with pytest.raises(Forbidden, match="peran ppk"):
        await usecases.delivery_log(PPK, None, None, None, 1, 50)
    assert await usecases.delivery_log(BKPSDM, None, None, None, 1, 50) == ([], 0)


async def test_a_decision_cancels_the_pending_deadline_warning(
    usecases: NotifyUseCases, store: FakeStore
) -> None:
    await _contact(store, "ppk", "32", "ppk@x.go.id", "Bupati")
    recommended = _transition("report.recommendation_issued.v1", "recommended")
    assert await usecases.plan(SESSION, "evt-1", "report.recommendation_issued.v1", recommended) == 2
    warning = next(doc for doc in store.deliveries.values() if doc["rule"] == "peringatan_tenggat_ppk")
    # Three days before the deadline is 00.00 WIB: a reminder, so it waits until 06.00 WIB.
    assert warning["next_attempt_at"] == dt.datetime(2029, 2, 2, 23, 0, tzinfo=dt.UTC)
    # Still being examined: the warning stays.
    await usecases.plan(SESSION, "evt-2", "report.status_changed.v1", _transition("x", "examined"))
    assert warning["status"] == "pending"
    await usecases.plan(SESSION, "evt-3", "report.sanction_imposed.v1", _transition("x", "decided"))
    assert (warning["status"], warning["last_error"]) == ("cancelled", "keputusan sudah ditetapkan")
    notice = next(doc for doc in store.deliveries.values() if doc["rule"] == "rekomendasi_ppk")
    assert notice["status"] == "pending"


# ---------------------------------------------------------------- agencies' subscriptions


async def test_a_subscription_keeps_its_secret_sealed_and_receives_public_events(
    usecases: NotifyUseCases, store: FakeStore, sealer: Sealer
) -> None:
    doc, secret = await usecases.subscribe(
        BKPSDM, "bawaslu", ["public.report.received.v1", "public.report.received.v1"], "https://b.example/h"
    )
    assert secret.startswith("whsec_") and doc["event_types"] == ["public.report.received.v1"]
    assert sealer.open(store.subscriptions[doc["_id"]]["sealed_secret"].encode()) == {"secret": secret}
    assert "sealed_secret" not in str(await usecases.subscriptions(BKPSDM))
    event = public_received("c-9")
    assert await usecases.plan_public(SESSION, event) == 1
    (delivery,) = store.deliveries.values()
    assert delivery["body"] == structured_event(event) and delivery["webhook_id"] == event.id


async def test_subscriptions_are_bkpsdm_s_only(usecases: NotifyUseCases) -> None:
    for call in (
        usecases.subscribe(BKN, "bkn", ["public.report.received.v1"], "https://b.example/h"),
        usecases.subscriptions(PPK),
        usecases.unsubscribe(BKN, "sub-1"),
        usecases.replay(BKN, "sub-1", NOW),
    ):
        with pytest.raises(Forbidden):
            await call


async def test_an_unknown_subscription_is_not_found(usecases: NotifyUseCases) -> None:
    with pytest.raises(NotFound, match="langganan sub-x tidak ditemukan"):
        await usecases.unsubscribe(BKPSDM, "sub-x")
    with pytest.raises(NotFound, match="langganan sub-x tidak ditemukan"):
        await usecases.replay(BKPSDM, "sub-x", NOW)


async def test_a_replay_needs_a_zone_and_queues_the_events_since(
    usecases: NotifyUseCases, store: FakeStore
) -> None:
    doc, _secret = await usecases.subscribe(
        BKPSDM, "bawaslu", ["public.report.received.v1"], "https://b.example/h"
    )
    events = [public_received(f"c-{i}") for i in range(3)]
    for event in events:
        await usecases.plan_public(SESSION, event)
    with pytest.raises(InvalidInput) as naive:
        await usecases.replay(BKPSDM, doc["_id"], dt.datetime(2000, 1, 1))
    assert naive.value.errors[0]["field"] == "since"
    assert await usecases.replay(BKPSDM, doc["_id"], dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) == 3
    assert len(store.deliveries) == 6
    assert sorted(d["webhook_id"] for d in store.deliveries.values()) == sorted([e.id for e in events] * 2)
    future = NOW + dt.timedelta(days=3650)
    assert await usecases.replay(BKPSDM, doc["_id"], future) == 0


async def test_unsubscribing_cancels_its_pending_webhooks(usecases: NotifyUseCases, store: FakeStore) -> None:
    doc, _secret = await usecases.subscribe(
        BKPSDM, "bawaslu", ["public.report.received.v1"], "https://b.example/h"
    )
    await usecases.plan_public(SESSION, public_received("c-1"))
    await usecases.unsubscribe(BKPSDM, doc["_id"])
    (delivery,) = store.deliveries.values()
    assert (delivery["status"], delivery["last_error"]) == ("cancelled", "langganan dihapus")
    assert await usecases.subscriptions(BKPSDM) == []


# ---------------------------------------------------------------- the case of issue 13


def _subject(subject_id: str, decider: str, unit: str, path: list[str], **fields: Any) -> dict[str, Any]:
    return {
        "subject_id": subject_id,
        "kind": "terlapor",
        "accused": {"name": f"Terlapor {subject_id}", "nip": None, "org_unit_code": unit, "position": None},
        "employee": {
            "employee_id": f"e-{subject_id}",
            "nip": None,
            "name": f"Pegawai {subject_id}",
            "employment_type": fields.pop("employment_type", "PNS"),
            "position": "Pengadministrasi",
            "org_unit_code": unit,
            "org_unit_path": path,
        },
        "match_status": "matched",
        "state": fields.pop("state", "recommended"),
        "violation_class": None,
        "sanction": None,
        "examiner_roles": ["bkpsdm", "inspektorat"],
        "decider_role": decider,
        "data_blocked": False,
        **fields,
    }


def _escalated(*subjects: dict[str, Any]) -> dict[str, Any]:
    case = {**_case("recommended", decision="2029-02-05T17:00:00Z"), "subjects": list(subjects)}
    return {
        "case": case,
        "level": "peringatan",
        "due_at": "2029-02-05T17:00:00Z",
        "detected_at": NOW.isoformat(),
    }


async def test_the_deciders_roles_get_contacts_the_minister_s_once_for_the_platform(
    usecases: NotifyUseCases, store: FakeStore
) -> None:
    doc = await usecases.set_role_contact(BKPSDM, "kepala_opd", "32", "kadis@x.go.id", "Kepala Dinas")
    assert doc["_id"] == "kepala_opd:32"
    assert (await usecases.set_role_contact(BKPSDM, "gubernur", "32", "gub@x.go.id", "Gubernur"))[
        "org_unit"
    ] == "32"
    with pytest.raises(Forbidden, match="seluruh platform"):
        await usecases.set_role_contact(BKPSDM, "kemendagri", None, "otda@x.go.id", "Ditjen Otda")
    with pytest.raises(InvalidInput):
        await usecases.set_role_contact(PLATFORM_BKPSDM, "kemendagri", "32", "otda@x.go.id", "Ditjen Otda")
    doc = await usecases.set_role_contact(PLATFORM_BKPSDM, "kemendagri", None, "otda@x.go.id", "Ditjen Otda")
    assert (doc["_id"], doc["org_unit"]) == ("kemendagri:platform", None)


async def test_an_escalation_reaches_each_subject_s_decider_and_bkpsdm_as_before(
    usecases: NotifyUseCases, store: FakeStore
) -> None:
    await _contact(store, "ppk", "32", "bupati@x.go.id", "Bupati")
    await _contact(store, "kepala_opd", "32.01.001", "kadis@x.go.id", "Kepala Dinas")
    await _contact(store, "kepala_opd", "32.01.002", "kadis2@x.go.id", "Kepala Dinas Lain")
    await _contact(store, "gubernur", "32", "gub@x.go.id", "Gubernur")
    await _contact(store, "bkpsdm", "32", "bkpsdm@x.go.id", "BKPSDM")
    await store.save_role_contact(
        {
            "_id": "kemendagri:platform",
            "role": "kemendagri",
            "org_unit": None,
            "email": "otda@x.go.id",
            "name": "Otda",
        }
    )
    data = _escalated(
        _subject("s1", "kepala_opd", "32.01.001", ["32", "32.01"], employment_type="NON_ASN"),
        _subject("s2", "gubernur", "32.01", ["32"]),
        _subject("s3", "kemendagri", "32", []),
        _subject("s4", "ppk", "32.01.001", ["32", "32.01"], state="decided"),
    )
    assert await usecases.plan(SESSION, "evt-1", "report.escalated.v1", data) == 4
    by_recipient = {doc["recipient"]: doc for doc in store.deliveries.values()}
    assert set(by_recipient) == {"kadis@x.go.id", "gub@x.go.id", "otda@x.go.id", "bkpsdm@x.go.id"}
    head = by_recipient["kadis@x.go.id"]
    assert head["audience"] == "kepala_opd" and "Yth. Kepala Perangkat Daerah," in head["body"]
    assert "Pegawai s1" in head["body"] and "Pegawai s2" not in head["body"]
    assert (
        by_recipient["gub@x.go.id"]["audience"] == "gubernur"
        and "Pegawai s2" in by_recipient["gub@x.go.id"]["body"]
    )
    assert "Yth. Menteri Dalam Negeri," in by_recipient["otda@x.go.id"]["body"]
    assert by_recipient["bkpsdm@x.go.id"]["audience"] == "bkpsdm"


async def test_a_lifted_block_is_told_once_per_subject_to_its_decider_and_bkpsdm(
    usecases: NotifyUseCases, store: FakeStore
) -> None:
    await _contact(store, "ppk", "32", "bupati@x.go.id", "Bupati")
    await _contact(store, "bkpsdm", "32", "bkpsdm@x.go.id", "BKPSDM")
    subjects = [
        _subject("s1", "ppk", "32.01.001", ["32", "32.01"], state="decided"),
        _subject("s2", "ppk", "32.01.001", ["32", "32.01"], state="decided"),
    ]
    for number, subject in enumerate(subjects, start=1):
        data = {
            "case": {**_case("decided", decision="2029-02-05T17:00:00Z"), "subjects": subjects},
            "subject_id": subject["subject_id"],
            "level": "blokir_data",
            "blocked_at": "2029-02-20T17:00:00Z",
            "lifted_at": NOW.isoformat(),
            "reason": "Keputusan telah ditetapkan; pemblokiran data kepegawaian dicabut.",
        }
        assert await usecases.plan(SESSION, f"evt-{number}", "report.escalation_lifted.v1", data) == 2
    notices = [doc for doc in store.deliveries.values() if doc["rule"] == "pencabutan_blokir_pemutus"]
    assert len(notices) == 2
    assert {("Pegawai s1" in doc["body"], "Pegawai s2" in doc["body"]) for doc in notices} == {
        (True, False),
        (False, True),
    }


async def test_an_extension_tells_the_reporter_and_moves_the_decider_s_warning(
    usecases: NotifyUseCases, store: FakeStore, sealer: Sealer
) -> None:
    await _contact(store, "ppk", "32", "ppk@x.go.id", "Bupati")
    await usecases.keep_reporter_contact(
        SESSION,
        {
            "report_id": "r-1",
            "case_id": "c-1",
            "sealed_contact": sealer.seal({"contact": "a@x.org"}).decode(),
        },
    )
    recommended = _transition("report.recommendation_issued.v1", "recommended")
    await usecases.plan(SESSION, "evt-1", "report.recommendation_issued.v1", recommended)
    old = next(doc for doc in store.deliveries.values() if doc["rule"] == "peringatan_tenggat_ppk")
    extended = {
        "case": _case("recommended", decision="2029-02-12T17:00:00Z"),
        "deadline": "decision",
        "previous_due_at": "2029-02-05T17:00:00Z",
        "due_at": "2029-02-12T17:00:00Z",
        "reason": "Bawaslu meminta keterangan tambahan.",
        "actor_role": "bkpsdm",
        "at": NOW.isoformat(),
    }
    assert await usecases.plan(SESSION, "evt-2", "report.deadline_extended.v1", extended) == 2
    assert (old["status"], old["last_error"]) == (
        "cancelled",
        "tenggat diperpanjang; peringatan dijadwalkan ulang",
    )
    new = next(
        doc for doc in store.deliveries.values() if doc["rule"] == "peringatan_tenggat_ppk_diperpanjang"
    )
    assert new["status"] == "pending" and new["next_attempt_at"] == dt.datetime(
        2029, 2, 9, 23, 0, tzinfo=dt.UTC
    )
    notice = next(
        doc
        for doc in store.deliveries.values()
        if doc["event_id"] == "evt-2" and doc["audience"] == "reporter"
    )
    assert notice["recipient"] == "sealed:r-1" and "Bawaslu meminta keterangan tambahan." in notice["body"]


async def test_a_merge_tells_the_moved_reporters_once_and_they_follow_the_new_case(
    usecases: NotifyUseCases, store: FakeStore, sealer: Sealer
) -> None:
    for report_id, case_id in (("r-1", "c-1"), ("r-2", "c-2"), ("r-3", "c-2")):
        sealed = sealer.seal({"contact": f"{report_id}@x.org"}).decode()
        await usecases.keep_reporter_contact(
            SESSION, {"report_id": report_id, "case_id": case_id, "sealed_contact": sealed}
        )
    merged = {
        "case": _case("verified"),
        "merged_case_id": "c-2",
        "report_ids": ["r-2", "r-3", "r-without-contact"],
        "reason": "Kejadian dan terlapor sama.",
        "actor_role": "bkpsdm",
        "at": NOW.isoformat(),
    }
    assert await usecases.plan(SESSION, "evt-1", "report.cases_merged.v1", merged) == 2
    assert {doc["recipient"] for doc in store.deliveries.values()} == {"sealed:r-2", "sealed:r-3"}
    assert {doc["case_id"] for doc in store.reporter_contacts.values()} == {"c-1"}
    # The merged case's own closing says nothing more; the next step of the joined case reaches all.
    closed = {**_transition("report.closed.v1", "merged"), "case": {**_case("merged"), "case_id": "c-2"}}
    assert await usecases.plan(SESSION, "evt-2", "report.closed.v1", closed) == 0
    verified = _transition("report.status_changed.v1", "examined")
    assert await usecases.plan(SESSION, "evt-3", "report.status_changed.v1", verified) == 3


async def test_a_subject_s_decision_cancels_its_decider_s_warning_while_another_subject_waits(
    usecases: NotifyUseCases, store: FakeStore
) -> None:
    await _contact(store, "ppk", "32", "bupati@x.go.id", "Bupati")
    await _contact(store, "kepala_opd", "32.01.001", "kadis@x.go.id", "Kepala Dinas")
    s1 = _subject("s1", "kepala_opd", "32.01.001", ["32", "32.01"], employment_type="NON_ASN")
    s2 = _subject("s2", "ppk", "32.01.001", ["32", "32.01"])
    recommended = _transition("report.recommendation_issued.v1", "recommended")
    recommended["case"]["subjects"] = [s1, s2]
    await usecases.plan(SESSION, "evt-1", "report.recommendation_issued.v1", recommended)
    warnings = {
        doc["recipient"]: doc for doc in store.deliveries.values() if doc["rule"] == "peringatan_tenggat_ppk"
    }
    assert set(warnings) == {"kadis@x.go.id", "bupati@x.go.id"}
    # The OPD head decides s1; the case stays open (examined) for s2.
    decided = _transition("report.sanction_imposed.v1", "examined")
    decided["subject_id"] = "s1"
    decided["case"]["subjects"] = [{**s1, "state": "decided"}, {**s2, "state": "examined"}]
    await usecases.plan(SESSION, "evt-2", "report.sanction_imposed.v1", decided)
    assert warnings["kadis@x.go.id"]["status"] == "cancelled"
    assert warnings["bupati@x.go.id"]["status"] == "pending"
