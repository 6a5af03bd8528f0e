"""Regression tests of issue 12 in the reports service, without engines: the public event leaves
the channel out, an OPD admin's view of a case, the tamper-evident log of identity reads and its
scope, the keyed tracking hash, the client address behind trusted proxies, the contact sealed
for notify alone, and keys that are refused outside development mode."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography.fernet import Fernet
from starlette.requests import Request

from contracts.reports import PublicCaseSnapshot, PublicReportReceivedV1
from contracts.roles import Role
from services.kit.clock import FixedClock
from services.kit.identity import Principal
from services.kit.sealedbox import ContactOpener, ContactSealer, generate_private_key
from services.kit.sealing import Sealer
from services.reports import domain
from services.reports.api import RateLimits
from services.reports.main import build_usecases
from services.reports.settings import ReportsSettings
from services.reports.store import ReportsStore
from services.reports.usecases import ReportsUseCases
from tests.unit.test_reports_usecases import NOW, TRACKING_KEY, FakeStore, filed_together, form

SUPERVISOR = Principal(subject="atasan-rahasia", role=Role.OPD_ADMIN, org_unit="32.01", nip=None)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def opener() -> ContactOpener:
    """Notify's side: the private key that reports never holds."""
    return ContactOpener(generate_private_key(), "kontak pelapor")


@pytest.fixture
def usecases(store: FakeStore, opener: ContactOpener) -> ReportsUseCases:
    return ReportsUseCases(
        cast(ReportsStore, store),
        Sealer([Fernet.generate_key()], "identitas pelapor"),
        ContactSealer(opener.public_key()),
        FixedClock(NOW),
        domain.WorkingCalendar(),
        tracking_key=TRACKING_KEY,
    )


def _published(events: list[Any]) -> list[dict[str, Any]]:
    return [{"type": e.event_type, **e.model_dump(mode="json")} for e in events]


# ---------------------------------------------------------------- #9 the supervisor channel


async def test_the_public_received_event_does_not_say_a_supervisor_reported(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    await filed_together(usecases, [form()], by=SUPERVISOR)
    (public,) = [e for e in _published(store.events) if e["type"].startswith("public.")]
    assert "supervisor" not in json.dumps(public)
    assert "channel" not in public and "channels" not in public["case"]
    assert not {"channel", "channels"} & set(PublicReportReceivedV1.model_json_schema()["properties"])
    assert "channels" not in PublicCaseSnapshot.model_json_schema()["properties"]


def test_events_published_with_the_channel_before_still_read() -> None:
    old = json.loads(
        json.dumps(
            {
                "case": {
                    "case_id": "c-1",
                    "state": "received",
                    "category": "lainnya",
                    "violation_class": "disiplin",
                    "channels": ["supervisor"],
                    "report_count": 1,
                    "incident_date": "2024-03-22",
                    "org_unit_code": "32.01",
                    "org_unit_path": ["32"],
                    "bawaslu_references": [],
                    "deadlines": {},
                    "received_at": "2024-03-25T02:00:00Z",
                    "version": 1,
                },
                "channel": "supervisor",
                "linked": False,
            }
        )
    )
    event = PublicReportReceivedV1.model_validate(old)
    assert "supervisor" not in event.model_dump_json()


async def test_an_opd_admin_sees_where_their_employees_case_stands_and_nothing_of_the_reports(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    (result,) = await filed_together(usecases, [form()], by=SUPERVISOR)
    admin = Principal(subject="admin-opd", role=Role.OPD_ADMIN, org_unit="32.01.10", nip=None)
    shown = (await usecases.case_detail(admin, result.case_id)).shown
    assert set(shown) == {
        "id",
        "state",
        "state_label",
        "category",
        "class",
        "subject",
        "subjects",
        "org_unit_code",
        "deadlines",
        "overdue",
        "received_at",
        "updated_at",
        "sanction",
        "history",
    }
    assert shown["subject"]["employee_id"] == "emp-budi-0001"
    assert all(set(entry) == {"state", "action", "at"} for entry in shown["history"])
    text = json.dumps(shown, default=str)
    for secret in ("supervisor", "Mengunggah ajakan", "Bandung"):
        assert secret not in text
    (listed,), _total = await usecases.list_cases(admin, None, None, None, 1, 50)
    assert "channels" not in listed and "accused" not in listed
    # A task force member still sees the whole case.
    full = (await usecases.case_detail(Principal("bkn-1", Role.BKN, None, None), result.case_id)).shown
    assert full["channels"] == ["supervisor"] and full["reports"][0]["description"].startswith("Mengunggah")


# ---------------------------------------------------------------- #10 the log of identity reads


async def test_every_identity_read_is_chained_and_its_head_published(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    (result,) = await filed_together(usecases, [form(reporter={"name": "Siti", "contact": "0812345678"})])
    reader = Principal("inspektur-7", Role.INSPEKTORAT, None, None)
    store.events.clear()
    for _ in range(3):
        await usecases.reporter_identity(reader, result.case_id, "Pemanggilan saksi pelapor.")
    assert [e["seq"] for e in store.access_log] == [0, 1, 2]
    assert store.access_log[0]["prev_hash"] == domain.ACCESS_GENESIS
    assert [e["prev_hash"] for e in store.access_log[1:]] == [e["hash"] for e in store.access_log[:2]]
    heads = [e for e in _published(store.events) if e["type"] == "report.reporter_access_head.v1"]
    assert [(h["length"], h["head_hash"]) for h in heads] == [
        (i + 1, store.access_log[i]["hash"]) for i in range(3)
    ]
    assert "Siti" not in json.dumps(heads) and result.case_id not in json.dumps(heads)
    assert (await usecases.verify_access_log()).intact


def _log(length: int) -> tuple[list[dict[str, Any]], domain.AccessHead]:
    head = domain.EMPTY_ACCESS_LOG
    entries = []
    case = {"_id": "case-a", "lineage": ["32", "32.01"]}
    for i in range(length):
        at = dt.datetime(2024, 3, 25, 2, 0, i, 123456, tzinfo=dt.UTC)
        entry, head = domain.chained_access_entry(
            head, f"e{i}", case, "inspektur", Role.INSPEKTORAT, "Pemanggilan saksi.", 1, at
        )
        entries.append(entry)
    return entries, head


def test_an_edited_deleted_or_reordered_entry_breaks_the_chain() -> None:
    entries, head = _log(4)
    assert domain.verify_access_log(entries, head).intact
    # As MongoDB gives them back: naive UTC datetimes with milliseconds.
    stored = [{**e, "at": e["at"].replace(tzinfo=None)} for e in entries]
    assert domain.verify_access_log(stored, head).intact

    edited = [dict(e) for e in entries]
    edited[1]["reason"] = "Alasan lain."
    check = domain.verify_access_log(edited, head)
    assert (check.intact, check.first_broken) == (False, 1) and "diubah" in (check.problem or "")

    assert domain.verify_access_log([entries[0], *entries[2:]], head).first_broken == 1
    swapped = [{**entries[1], "seq": 0}, {**entries[0], "seq": 1}, *entries[2:]]
    assert domain.verify_access_log(swapped, head).first_broken == 0
    # The last entry deleted, and the recorded head rewritten to match: the published head shows it.
    rewritten = domain.AccessHead(3, entries[2]["hash"])
    assert domain.verify_access_log(entries[:3], head).intact is False
    assert domain.verify_access_log(entries[:3], rewritten).intact
    assert domain.verify_access_log(entries[:3], rewritten, published=head).intact is False
    forged = domain.AccessHead(2, "f" * 64)
    assert domain.verify_access_log(entries, head, published=forged).first_broken == 1


async def test_an_auditor_bound_to_a_unit_sees_the_reads_of_that_units_cases_only(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    (in_a,) = await filed_together(usecases, [form(reporter={"name": "Siti", "contact": "0812345678"})])
    (elsewhere,) = await filed_together(usecases, [form(name="Orang Lain")])  # unmatched: no unit
    reader = Principal("inspektur-7", Role.INSPEKTORAT, None, None)
    await usecases.reporter_identity(reader, in_a.case_id, "Pemanggilan saksi pelapor.")
    await usecases.reporter_identity(reader, elsewhere.case_id, "Pemanggilan saksi pelapor.")
    scoped = Principal("auditor-a", Role.INSPEKTORAT, "32.01.10", None)
    entries, total = await usecases.access_entries(scoped, None, 1, 50)
    assert total == 1 and [e["case_id"] for e in entries] == [in_a.case_id]
    other_unit = Principal("auditor-b", Role.INSPEKTORAT, "32.02", None)
    assert await usecases.access_entries(other_unit, None, 1, 50) == ([], 0)
    _entries, everything = await usecases.access_entries(Principal("bkn", Role.BKN, None, None), None, 1, 50)
    assert everything == 2


async def test_only_notify_opens_the_sealed_contact(
    usecases: ReportsUseCases, store: FakeStore, opener: ContactOpener
) -> None:
    await filed_together(usecases, [form(reporter={"name": "Siti", "contact": "siti@contoh.id"})])
    (contact,) = [e for e in store.events if e.event_type == "report.reporter_contact.v1"]
    sealed = contact.model_dump()["sealed_contact"]
    assert opener.open(sealed.encode()) == {"contact": "siti@contoh.id"}
    # The reports side holds a public key only: nothing in it can open what it sealed.
    assert not hasattr(usecases.contact_sealer, "open")


def test_the_contact_is_sealed_with_notifys_public_key_not_a_shared_secret(tmp_path: Path) -> None:
    private = generate_private_key()
    public = ContactOpener(private, "kontak").public_key().decode()
    settings = ReportsSettings(
        dev_mode=True,
        notify_contact_public_key=public,
        reporter_key_file=tmp_path / "reporter.fernet",
        tracking_key_file=tmp_path / "tracking.key",
    )
    built = build_usecases(cast(ReportsStore, FakeStore()), settings, FixedClock(NOW))
    sealed = built.contact_sealer.seal({"contact": "siti@contoh.id"})
    assert ContactOpener(private, "kontak").open(sealed) == {"contact": "siti@contoh.id"}


@pytest.mark.parametrize("missing", ["REPORTER_KEYS", "NOTIFY_CONTACT_PUBLIC_KEY", "TRACKING_KEY"])
def test_outside_development_a_missing_key_refuses_to_start(missing: str, tmp_path: Path) -> None:
    configured: dict[str, Any] = {
        "reporter_keys": Fernet.generate_key().decode(),
        "notify_contact_public_key": ContactOpener(generate_private_key(), "k").public_key().decode(),
        "tracking_key": "kunci-hmac-produksi",
    }
    configured[missing.lower()] = None
    settings = ReportsSettings(dev_mode=False, reporter_key_file=tmp_path / "never", **configured)
    with pytest.raises(RuntimeError, match=missing):
        build_usecases(cast(ReportsStore, FakeStore()), settings, FixedClock(NOW))
    assert not (tmp_path / "never").exists()


# ---------------------------------------------------------------- low: tracking hash, proxies


def test_the_tracking_hash_is_keyed() -> None:
    code = "2345-6789-ABCD"
    assert domain.tracking_hash(code, b"kunci-a") != hashlib.sha256(code.encode()).hexdigest()
    assert domain.tracking_hash(code, b"kunci-a") != domain.tracking_hash(code, b"kunci-b")
    assert domain.tracking_hash(code, b"kunci-a") == domain.tracking_hash(code, b"kunci-a")


async def test_the_stored_hash_is_not_the_codes_plain_sha256(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    (result,) = await filed_together(usecases, [form()])
    stored = store.reports[result.report_id]["tracking_hash"]
    assert stored != hashlib.sha256(result.tracking_code.encode()).hexdigest()
    assert stored == domain.tracking_hash(result.tracking_code, TRACKING_KEY)


def _request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request(
        {"type": "http", "method": "POST", "path": "/", "headers": headers, "client": (peer, 5000)}
    )


@pytest.mark.parametrize(
    ("hops", "forwarded", "client"),
    [
        (0, ("6.6.6.6, 1.2.3.4",), "10.0.0.9"),  # no proxy trusted: the peer, whatever the header
        (1, ("6.6.6.6, 1.2.3.4",), "1.2.3.4"),  # the ingress appended the client: the rightmost
        (1, ("6.6.6.6", "1.2.3.4"), "1.2.3.4"),  # the same split over two header lines
        (2, ("6.6.6.6, 1.2.3.4, 10.1.1.1",), "1.2.3.4"),  # a CDN, then the ingress
        (2, ("1.2.3.4",), "10.0.0.9"),  # shorter than the proxies: not trusted
        (1, (), "10.0.0.9"),
    ],
)
def test_the_client_address_is_read_only_as_far_as_proxies_are_trusted(
    hops: int, forwarded: tuple[str, ...], client: str
) -> None:
    limits = RateLimits("30/minute", "120/minute", hops)
    assert limits.client(_request("10.0.0.9", *forwarded)) == client
