"""The reports use cases (services/reports/usecases.py) over an in-memory store: who may do what
on which case, in which order the rules refuse, how reports link into cases, and that a
reporter's identity stays sealed and out of every event."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

import pytest
from cryptography.fernet import Fernet

from contracts.envelope import EventData
from contracts.reports import PublicReportVerifiedV1, ReportClosedV1, ReportVerifiedV1
from contracts.roles import Role
from services.kit.clock import FixedClock
from services.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.kit.identity import Principal
from services.kit.sealing import Sealer
from services.reports.catalogue import IllegalSanction
from services.reports.domain import (
    EMPTY_ACCESS_LOG,
    AccessHead,
    Action,
    CaseState,
    DeadlineKind,
    ForbiddenAction,
    IllegalTransition,
    OpenCase,
    ReportForm,
    TransitionRefused,
    WorkingCalendar,
)
from services.reports.store import ReportsStore
from services.reports.usecases import IntakeResult, ReportsUseCases

T = TypeVar("T")
Doc = dict[str, Any]
NOW = dt.datetime(2024, 3, 25, 2, 0, tzinfo=dt.UTC)  # Monday 09:00 WIB
TRACKING_KEY = b"kunci-uji-kode-pelacakan"
BUDI: Doc = {
    "_id": "emp-budi-0001",
    "nip": "198001012005011001",
    "name": "Budi Santoso",
    "employment_type": "PNS",
    "position": "Analis",
    "org_unit_code": "32.01.10",
    "org_unit_path": ["32", "32.01"],
}


class FakeStore:
    """The store's methods that the use cases call, over dicts."""

    def __init__(self) -> None:
        self.cases: dict[str, Doc] = {}
        self.reports: dict[str, Doc] = {}
        self.subjects: dict[str, list[Doc]] = {}
        self.identities: dict[str, Doc] = {}
        self.access_log: list[Doc] = []
        self.head = EMPTY_ACCESS_LOG
        self.employees: dict[str, Doc] = {BUDI["_id"]: BUDI}
        self.units: dict[str, Doc] = {"32.01.10": {"_id": "32.01.10", "path": ["32", "32.01"]}}
        self.events: list[EventData] = []
        self.listed: list[Sequence[str]] = []
        self.stale = False
        """True: the next replace finds the case at another version (someone else wrote it)."""

    async def transaction(self, work: Callable[[Any], Awaitable[T]]) -> T:
        return await work(None)

    async def stage(self, session: Any, events: Sequence[EventData]) -> None:
        self.events.extend(events)

    async def unit(self, code: str) -> Doc | None:
        return self.units.get(code)

    async def employee(self, employee_id: str, session: Any = None) -> Doc | None:
        return self.employees.get(employee_id)

    async def employee_by_nip(self, nip: str) -> Doc | None:
        return next((e for e in self.employees.values() if e["nip"] == nip), None)

    async def employees_named(self, tokens: Sequence[str], within: str | None, limit: int) -> dict[str, Doc]:
        return {
            e["_id"]: e
            for e in self.employees.values()
            if set(tokens) & set(e["name"].lower().split())
            and (within is None or within in [*e["org_unit_path"], e["org_unit_code"]])
        }

    async def open_subject_cases(self, session: Any, keys: Sequence[str]) -> dict[str, list[OpenCase]]:
        return {
            key: [
                OpenCase(e["case_id"], e["incident_date"].date())
                for e in self.subjects.get(key, [])
                if e["open"]
            ]
            for key in keys
        }

    async def join_case(
        self,
        session: Any,
        case_id: str,
        report_id: str,
        channel: str,
        bawaslu_reference: str | None,
        at: dt.datetime,
    ) -> Doc:
        case = self.cases[case_id]
        case["report_ids"].append(report_id)
        if channel not in case["channels"]:
            case["channels"].append(channel)
        case["version"] += 1
        case["updated_at"] = at
        return case

    async def write_intakes(
        self,
        session: Any,
        reports_per_subject: Mapping[str, int],
        opened: Mapping[str, Sequence[OpenCase]],
        new_cases: Sequence[Doc],
        reports: Sequence[Doc],
        identities: Sequence[Doc],
        events: Sequence[EventData],
    ) -> None:
        for key in reports_per_subject:
            self.subjects.setdefault(key, []).extend(
                {
                    "case_id": c.case_id,
                    "incident_date": dt.datetime.combine(c.incident_date, dt.time(), dt.UTC),
                    "open": True,
                }
                for c in opened.get(key, ())
            )
        self.cases.update({case["_id"]: case for case in new_cases})
        self.reports.update({report["_id"]: report for report in reports})
        self.identities.update({doc["_id"]: doc for doc in identities})
        self.events.extend(events)

    async def case(self, case_id: str, session: Any = None) -> Doc | None:
        return self.cases.get(case_id)

    async def case_reports(self, case_id: str) -> list[Doc]:
        return [r for r in self.reports.values() if r["case_id"] == case_id]

    async def report_by_tracking_hash(self, hashed: str) -> Doc | None:
        return next((r for r in self.reports.values() if r["tracking_hash"] == hashed), None)

    async def list_cases(
        self,
        within: Sequence[str],
        state: str | None,
        overdue: bool | None,
        page: int,
        page_size: int,
        acting_role: str | None = None,
    ) -> tuple[list[Doc], int]:
        self.listed.append(within)
        found = [
            c
            for c in self.cases.values()
            if all(unit in c["lineage"] for unit in within)
            and (acting_role is None or acting_role in c.get("authorities", []))
        ]
        return found, len(found)

    async def unit_kinds(self, codes: Sequence[str]) -> dict[str, str]:
        return {code: self.units[code]["kind"] for code in codes if "kind" in self.units.get(code, {})}

    async def report(self, report_id: str) -> Doc | None:
        return self.reports.get(report_id)

    async def link_subject_keys(
        self, session: Any, subject_keys: Sequence[str], case_id: str, incident_date: dt.date
    ) -> None:
        for key in subject_keys:
            entries = self.subjects.setdefault(key, [])
            if all(entry["case_id"] != case_id for entry in entries):
                entries.append(
                    {
                        "case_id": case_id,
                        "incident_date": dt.datetime.combine(incident_date, dt.time(), dt.UTC),
                        "open": True,
                    }
                )

    async def insert_case(self, session: Any, case: Doc) -> None:
        self.cases[case["_id"]] = case

    async def move_reports(self, session: Any, report_ids: Sequence[str], case_id: str) -> None:
        for report_id in report_ids:
            self.reports[report_id]["case_id"] = case_id
            if report_id in self.identities:
                self.identities[report_id]["case_id"] = case_id

    async def replace_case(self, session: Any, case: Doc, expected_version: int) -> Doc | None:
        if self.stale or self.cases[case["_id"]]["version"] != expected_version:
            return None
        self.cases[case["_id"]] = case
        return case

    async def close_subject_case(self, session: Any, subject_keys: Sequence[str], case_id: str) -> None:
        for key in subject_keys:
            for entry in self.subjects.get(key, []):
                if entry["case_id"] == case_id:
                    entry["open"] = False

    async def sealed_identities(self, session: Any, case_id: str) -> list[Doc]:
        return [doc for doc in self.identities.values() if doc["case_id"] == case_id]

    async def access_log_head(self, session: Any) -> AccessHead:
        return self.head

    async def append_access_entry(
        self, session: Any, entry: Doc, before: AccessHead, after: AccessHead
    ) -> None:
        assert before == self.head
        self.head = after
        self.access_log.append(entry)

    async def access_entries(
        self, within: Sequence[str], case_id: str | None, page: int, page_size: int
    ) -> tuple[list[Doc], int]:
        found = [
            e
            for e in reversed(self.access_log)
            if all(unit in e["lineage"] for unit in within) and case_id in (None, e["case_id"])
        ]
        return found, len(found)

    async def whole_access_log(self) -> tuple[list[Doc], AccessHead | None]:
        return list(self.access_log), self.head

    async def due_cases(self, session: Any, now: dt.datetime, batch: int) -> list[Doc]:
        due = [c for c in self.cases.values() if c.get("next_due_at") is not None and c["next_due_at"] <= now]
        return [dict(c) for c in due[:batch]]

    async def save_scanned(self, session: Any, scanned: Sequence[tuple[Doc, Doc, Sequence[str]]]) -> bool:
        for before, after, _fired in scanned:
            if self.cases[before["_id"]]["version"] != before["version"]:
                return False
            self.cases[before["_id"]] = after
        return True


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def reporter_vault() -> Sealer:
    return Sealer([Fernet.generate_key()], "identitas pelapor")


@pytest.fixture
def usecases(store: FakeStore, reporter_vault: Sealer) -> ReportsUseCases:
    return ReportsUseCases(
        cast(ReportsStore, store),
        reporter_vault,
        Sealer([Fernet.generate_key()], "kontak pelapor"),
        FixedClock(NOW),
        WorkingCalendar(),
        tracking_key=TRACKING_KEY,
    )


def principal(role: Role, org_unit: str | None = None, subject: str = "petugas-1") -> Principal:
    return Principal(subject=subject, role=role, org_unit=org_unit, nip=None)


def form(
    incident: dt.date = dt.date(2024, 3, 22), reporter: Doc | None = None, name: str = "Budi Santoso"
) -> ReportForm:
    accused: Doc = {"name": name, "nip": BUDI["nip"] if name == BUDI["name"] else None}
    return ReportForm(
        category="kampanye_media_sosial",
        description="Mengunggah ajakan memilih calon di media sosial.",
        incident_date=incident,
        location="Bandung",
        accused={**accused, "org_unit_code": None, "position": None},
        evidence=[],
        reporter=reporter,
    )


async def filed_together(
    usecases: ReportsUseCases, forms: Sequence[ReportForm], by: Principal | None = None
) -> list[IntakeResult]:
    """File the forms at once, so that the group commit writes them in one transaction."""
    runner = asyncio.create_task(usecases.intake_commit.run())
    try:
        return list(await asyncio.gather(*(usecases.file_report(by, f) for f in forms)))
    finally:
        runner.cancel()


async def one_case(usecases: ReportsUseCases, store: FakeStore) -> str:
    (result,) = await filed_together(usecases, [form()])
    return str(result.case_id)


def in_state(store: FakeStore, case_id: str, state: CaseState) -> None:
    """Put the case (and its one subject) in `state`, as if the steps before had been taken."""
    case = store.cases[case_id]
    case_steps = (
        CaseState.RECEIVED,
        CaseState.VERIFIED,
        CaseState.RECOMMENDED,
        CaseState.REJECTED,
        CaseState.CANCELLED,
    )
    case["stage"] = state.value if state in case_steps else CaseState.RECOMMENDED.value
    for subject in case["subjects"]:
        subject["state"] = None if state in case_steps else state.value
        if state in (CaseState.DECIDED, CaseState.RECORDED, CaseState.APPEALED, CaseState.CLOSED):
            subject["sanction"] = {
                "code": "moral_pernyataan_terbuka",
                "name": "Sanksi moral",
                "level": "moral",
                "basis": "PP 42/2004",
                "months": None,
            }
    case["state"] = state.value


# ---------------------------------------------------------------- intake and linking


async def test_an_anonymous_report_opens_a_case_awaiting_verification(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    (result,) = await filed_together(usecases, [form()])
    assert (result.channel, result.linked) == ("public", False)
    case = store.cases[result.case_id]
    assert case["state"] == "received" and case["subject"]["employee_id"] == BUDI["_id"]
    assert case["lineage"] == ["32", "32.01", "32.01.10"]
    assert set(case["deadlines"]) == {DeadlineKind.VERIFICATION.value}
    assert case["next_due_at"] == case["deadlines"]["verification"]
    assert store.reports[result.report_id]["anonymous"] is True
    assert store.identities == {}
    assert [e.event_type for e in store.events] == ["report.received.v1", "public.report.received.v1"]


async def test_reports_about_one_person_and_incident_link_into_one_case(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    first, same, later = await filed_together(
        usecases, [form(), form(dt.date(2024, 3, 23)), form(dt.date(2024, 3, 1))]
    )
    assert same.case_id == first.case_id and same.linked and not first.linked
    assert later.case_id != first.case_id and not later.linked
    assert store.cases[first.case_id]["report_ids"] == [first.report_id, same.report_id]
    # A report in a later group joins the stored case.
    (again,) = await filed_together(usecases, [form(dt.date(2024, 3, 21))])
    assert again.case_id == first.case_id and again.linked
    assert len(store.cases[first.case_id]["report_ids"]) == 3
    # Once the case is finished, the next report about the incident opens a new one.
    in_state(store, first.case_id, CaseState.RECORDED)
    await usecases.transition(principal(Role.BKPSDM), first.case_id, Action.CLOSE, "Selesai ditangani.")
    (after_close,) = await filed_together(usecases, [form(dt.date(2024, 3, 22))])
    assert after_close.case_id not in (first.case_id, later.case_id) and not after_close.linked


async def test_a_later_report_naming_more_people_joins_and_adds_them_as_subjects(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    (first,) = await filed_together(usecases, [form()])
    both = dataclasses.replace(form(dt.date(2024, 3, 23)), co_accused=({"name": "Ani Wulandari"},))
    (joined,) = await filed_together(usecases, [both])
    assert joined.case_id == first.case_id and joined.linked
    case = store.cases[first.case_id]
    assert [s["accused"]["name"] for s in case["subjects"]] == ["Budi Santoso", "Ani Wulandari"]
    assert case["subjects"][1]["match_status"] == "unmatched" and case["version"] == 2
    # Ani's key now leads to the case too: a report about her alone joins it.
    (ani,) = await filed_together(
        usecases, [dataclasses.replace(form(dt.date(2024, 3, 22)), accused={"name": "Ani Wulandari"})]
    )
    assert ani.case_id == first.case_id


async def test_a_supervisors_identity_is_sealed_and_reaches_no_event(
    usecases: ReportsUseCases, store: FakeStore, reporter_vault: Sealer
) -> None:
    nip = "197001011990011001"
    supervisor = Principal(subject="atasan-rahasia", role=Role.OPD_ADMIN, org_unit="32.01", nip=nip)
    reporter = {"name": "Siti", "contact": "siti@contoh.id"}
    (result,) = await filed_together(usecases, [form(reporter=reporter)], by=supervisor)
    assert result.channel == "supervisor"
    opened = reporter_vault.open(store.identities[result.report_id]["sealed"])
    assert opened == {
        "name": "Siti",
        "contact": "siti@contoh.id",
        "subject": "atasan-rahasia",
        "nip": nip,
    }
    published = json.dumps([e.model_dump(mode="json") for e in store.events])
    for secret in ("atasan-rahasia", nip, "Siti", "siti@contoh.id"):
        assert secret not in published
    assert [e.event_type for e in store.events][-1] == "report.reporter_contact.v1"


async def test_incident_dates_in_the_future_or_too_old_are_refused(usecases: ReportsUseCases) -> None:
    for day in (dt.date(2024, 3, 26), dt.date(2018, 1, 1)):
        with pytest.raises(InvalidInput) as refused:
            await usecases.file_report(None, form(day))
        assert refused.value.errors[0]["field"] == "incident_date"


async def test_tracking_reads_the_case_by_the_code_only(usecases: ReportsUseCases) -> None:
    (result,) = await filed_together(usecases, [form()])
    tracked = await usecases.track(result.tracking_code.lower())
    assert tracked.tracking_code == result.tracking_code and tracked.case["_id"] == result.case_id
    with pytest.raises(InvalidInput) as malformed:
        await usecases.track("bukan-kode")
    assert malformed.value.errors[0]["field"] == "code"
    with pytest.raises(NotFound, match="kode pelacakan tidak ditemukan"):
        await usecases.track("2345-6789-ABCD")


# ---------------------------------------------------------------- scope


async def test_a_unit_bound_caller_is_kept_to_their_units_cases(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    case_id = await one_case(usecases, store)
    outsider = principal(Role.BKPSDM, org_unit="32.02")
    with pytest.raises(Forbidden, match=r"kasus ini berada di luar wewenang Anda \(unit 32.02\)"):
        await usecases.case_detail(outsider, case_id)
    with pytest.raises(Forbidden):
        await usecases.transition(outsider, case_id, Action.VERIFY, "Sudah diverifikasi.")
    with pytest.raises(Forbidden):
        await usecases.reporter_identity(outsider, case_id, "Pemeriksaan saksi pelapor.")
    assert store.cases[case_id]["state"] == "received" and store.access_log == [] and len(store.events) == 2
    inside = await usecases.case_detail(principal(Role.BKN, org_unit="32.01"), case_id)
    assert inside.allowed_actions == [Action.VERIFY, Action.REJECT]
    with pytest.raises(NotFound, match="kasus tidak-ada tidak ditemukan"):
        await usecases.case_detail(principal(Role.BKN), "tidak-ada")


async def test_listing_filters_by_the_callers_unit_and_refuses_other_units(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    await one_case(usecases, store)
    _cases, total = await usecases.list_cases(principal(Role.PPK, "32.01"), None, None, "32.01.10", 1, 50)
    assert total == 1 and store.listed[-1] == ["32.01", "32.01.10"]
    await usecases.list_cases(principal(Role.BKN), None, None, None, 1, 50)
    assert store.listed[-1] == []
    with pytest.raises(Forbidden, match=r"unit 32\.01\.10 berada di luar wewenang Anda"):
        await usecases.list_cases(principal(Role.PPK, "32.02"), None, None, "32.01.10", 1, 50)


# ---------------------------------------------------------------- transitions


async def test_a_transition_moves_the_case_and_publishes_it(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    case_id = await one_case(usecases, store)
    store.events.clear()
    view = await usecases.transition(
        principal(Role.BKN), case_id, Action.VERIFY, "Bukti cukup.", None, "TM-1"
    )
    case = store.cases[case_id]
    assert view.case is case and case["state"] == "verified" and case["version"] == 2
    assert case["history"][-1] | {"at": None} == {
        "state": "verified",
        "action": "verify",
        "reason": "Bukti cukup.",
        "actor_role": "bkn",
        "actor": "petugas-1",
        "subject_id": None,
        "at": None,
    }
    assert "bawaslu_review" in case["deadlines"] and case["bawaslu_references"] == ["TM-1"]
    assert view.allowed_actions == []  # BKN has nothing more to do on a verified case
    assert [type(e) for e in store.events] == [ReportVerifiedV1, PublicReportVerifiedV1]
    assert cast(ReportVerifiedV1, store.events[0]).case.version == 2


async def test_a_transition_is_refused_state_first_then_role(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    case_id = await one_case(usecases, store)
    with pytest.raises(IllegalTransition) as illegal:
        await usecases.transition(principal(Role.PPK), case_id, Action.CLOSE, "Tutup saja.")
    assert isinstance(illegal.value, Conflict)
    assert illegal.value.allowed == ["verify", "reject", "cancel", "mark_out_of_service"]
    with pytest.raises(ForbiddenAction) as forbidden:
        await usecases.transition(principal(Role.PPK), case_id, Action.VERIFY, "Saya verifikasi.")
    assert isinstance(forbidden.value, Forbidden) and "ppk" in forbidden.value.message
    assert store.cases[case_id]["version"] == 1


async def test_deciding_a_sanction_needs_a_code_a_subject_and_a_lawful_sanction(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    case_id = await one_case(usecases, store)
    in_state(store, case_id, CaseState.EXAMINED)
    ppk = principal(Role.PPK)
    with pytest.raises(InvalidInput) as missing:
        await usecases.transition(ppk, case_id, Action.DECIDE_SANCTION, "Diputus.")
    assert missing.value.errors[0]["field"] == "sanction"
    with pytest.raises(IllegalSanction) as unlawful:
        await usecases.transition(ppk, case_id, Action.DECIDE_SANCTION, "Diputus.", "teguran_lisan")
    assert (
        unlawful.value.errors[0]["field"] == "sanction"
        and "moral_pernyataan_terbuka" in unlawful.value.message
    )
    subject = store.cases[case_id]["subjects"][0]["employee"]
    store.cases[case_id]["subjects"][0]["employee"] = None
    with pytest.raises(TransitionRefused, match="terlapor belum dipastikan") as unconfirmed:
        await usecases.transition(
            ppk, case_id, Action.DECIDE_SANCTION, "Diputus.", "moral_pernyataan_terbuka"
        )
    assert unconfirmed.value.allowed == []
    store.cases[case_id]["subjects"][0]["employee"] = subject
    decided = await usecases.transition(
        ppk, case_id, Action.DECIDE_SANCTION, "Diputus.", "moral_pernyataan_terbuka"
    )
    assert (
        decided.case["state"] == "decided" and decided.case["sanction"]["code"] == "moral_pernyataan_terbuka"
    )
    assert decided.case["decided_at"] == NOW


async def test_a_finished_case_closes_on_its_subject_and_a_stale_write_is_refused(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    case_id = await one_case(usecases, store)
    store.stale = True
    with pytest.raises(TransitionRefused, match="baru saja diubah"):
        await usecases.transition(principal(Role.BKPSDM), case_id, Action.CANCEL, "Dicabut pelapor.")
    store.stale = False
    store.events.clear()
    await usecases.transition(principal(Role.BKPSDM), case_id, Action.CANCEL, "Dicabut pelapor.")
    (entry,) = next(iter(store.subjects.values()))
    assert entry["open"] is False and "next_due_at" not in store.cases[case_id]
    assert type(store.events[0]) is ReportClosedV1


# ---------------------------------------------------------------- subject and identity


async def test_assigning_the_subject_needs_a_known_employee_and_an_open_case(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    (result,) = await filed_together(usecases, [form(name="Pak Joko")])
    case_id = result.case_id
    assert store.cases[case_id]["subject"] is None
    with pytest.raises(InvalidInput) as unknown:
        await usecases.assign_subject(principal(Role.BKN), case_id, "emp-tidak-dikenal")
    assert unknown.value.errors == [
        {"field": "employee_id", "message": "pegawai emp-tidak-dikenal belum dikenal layanan pelaporan"}
    ]
    assigned = await usecases.assign_subject(principal(Role.BKN), case_id, BUDI["_id"])
    assert assigned["subject"]["nip"] == BUDI["nip"] and assigned["lineage"] == ["32", "32.01", "32.01.10"]
    assert assigned["audit"][-1]["actor"] == "petugas-1" and assigned["version"] == 2
    in_state(store, case_id, CaseState.CLOSED)
    with pytest.raises(Conflict, match="kasus sudah selesai"):
        await usecases.assign_subject(principal(Role.BKN), case_id, BUDI["_id"])


async def test_a_reporters_identity_opens_only_with_a_reason_and_every_read_is_logged(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    (result,) = await filed_together(usecases, [form(reporter={"name": "Siti", "contact": "0812345678"})])
    reader = principal(Role.INSPEKTORAT, subject="inspektur-7")
    for reason in (None, "singkat", "   pendek   "):
        with pytest.raises(InvalidInput):
            await usecases.reporter_identity(reader, result.case_id, reason)
    assert store.access_log == []
    opened = await usecases.reporter_identity(reader, result.case_id, "  Pemanggilan saksi pelapor.  ")
    assert opened == [{"report_id": result.report_id, "name": "Siti", "contact": "0812345678"}]
    (entry,) = store.access_log
    assert (entry["actor"], entry["actor_role"], entry["reason"], entry["identities_read"]) == (
        "inspektur-7",
        "inspektorat",
        "Pemanggilan saksi pelapor.",
        1,
    )


# ---------------------------------------------------------------- deadlines


async def test_a_due_deadline_fires_once_and_marks_the_case_overdue(
    usecases: ReportsUseCases, store: FakeStore
) -> None:
    case_id = await one_case(usecases, store)
    due = store.cases[case_id]["deadlines"]["verification"]
    store.events.clear()
    assert await usecases.scan_deadlines(due - dt.timedelta(seconds=1)) == ([], False)
    fired, more = await usecases.scan_deadlines(due)
    assert [duty.key for duty in fired] == ["breach:verification"] and not more
    case = store.cases[case_id]
    assert case["overdue"] is True and case["fired"] == ["breach:verification"] and "next_due_at" not in case
    assert [e.event_type for e in store.events] == [
        "report.deadline_breached.v1",
        "public.report.deadline_breached.v1",
    ]
    assert await usecases.scan_deadlines(due + dt.timedelta(days=30)) == ([], False)
