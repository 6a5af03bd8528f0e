"""The registry's use cases (services/registry/usecases.py) and the import's decisions
(services/registry/importer.py) on an in-memory store: roles, unit scope, rules, what is written."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import pytest
from prometheus_client import CollectorRegistry

from contracts.envelope import EventData
from contracts.registry import (
    EmployeeDeactivatedV1,
    EmployeeRegisteredV1,
    EmployeeTransferredV1,
    EmployeeUpdatedV1,
    OrgUnitCreatedV1,
    OrgUnitUpdatedV1,
)
from contracts.roles import Role
from services.kit.clock import FixedClock
from services.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.kit.identity import Principal
from services.registry import usecases
from services.registry.csvimport import RowError
from services.registry.domain import (
    DeactivationReason,
    EmployeeChange,
    EmployeeInactive,
    EmployeeInput,
    Level,
    OrgUnitKind,
    RuleViolation,
    UnitRef,
    unit_ref,
)
from services.registry.importer import ChunkRows, ImportRow, ImportSettings, ImportWorker
from services.registry.nik import NikVault
from services.registry.store import RegistryStore
from services.registry.usecases import RegistryUseCases

NOW = dt.datetime(2024, 6, 1, 3, 0, tzinfo=dt.UTC)
TODAY = NOW.astimezone().date()
STAFF_NIP = "198503152010011002"
HEAD_NIP = "197003151995031001"
NIK = "3201015503850001"

Record = dict[str, Any]
T = TypeVar("T")


class FakeStore:
    """The store methods the use cases and the importer call, on dictionaries."""

    def __init__(self) -> None:
        self.units: dict[str, Record] = {}
        self.employees: dict[str, Record] = {}
        self.history: list[Record] = []
        self.events: list[EventData] = []
        self.imports: dict[str, Record] = {}
        self.queued: list[tuple[str, int, str, str, str | None]] = []

    async def unit(self, code: str) -> UnitRef | None:
        unit = self.units.get(code)
        return None if unit is None else unit_ref(unit)

    async def unit_document(self, code: str) -> Record | None:
        return self.units.get(code)

    async def children(self, code: str) -> list[Record]:
        return sorted(
            (unit for unit in self.units.values() if unit["parent_code"] == code), key=lambda u: u["_id"]
        )

    async def insert_unit(self, unit: Record, event: EventData) -> bool:
        if unit["_id"] in self.units:
            return False
        self.units[unit["_id"]] = unit
        self.events.append(event)
        return True

    async def update_unit(self, code: str, version: int, update: Record, event: EventData) -> Record | None:
        if self.units[code]["version"] != version:
            return None
        self.units[code] = {**self.units[code], **update}
        self.events.append(event)
        return self.units[code]

    async def employee(self, employee_id: str) -> Record | None:
        return self.employees.get(employee_id)

    async def employees_by_id(self, ids: Sequence[str]) -> dict[str, Record]:
        return {key: self.employees[key] for key in ids if key in self.employees}

    async def list_employees(
        self, unit_code: str, include_descendants: bool, active: bool | None, page: int, page_size: int
    ) -> tuple[list[Record], int]:
        found = [
            employee
            for employee in self.employees.values()
            if employee["org_unit_code"] == unit_code
            or (include_descendants and unit_code in employee["org_unit_path"])
        ]
        return found[(page - 1) * page_size : page * page_size], len(found)

    async def leaders_of(self, unit_codes: Sequence[str]) -> list[Record]:
        return [
            employee
            for employee in self.employees.values()
            if employee["org_unit_code"] in unit_codes
            and employee["active"]
            and employee.get("leader_office")
        ]

    async def insert_employee(self, employee: Record, event: EventData) -> bool:
        hashes = {other.get("nik_hash") for other in self.employees.values()} - {None}
        if employee["_id"] in self.employees or employee.get("nik_hash") in hashes:
            return False
        self.employees[employee["_id"]] = employee
        self.events.append(event)
        return True

    async def apply_change(self, change: EmployeeChange) -> Record | None:
        current = self.employees[change.employee_id]
        if current["version"] != change.version:
            return None
        self.employees[change.employee_id] = {**current, **change.update}
        self.history.append(change.history)
        self.events.append(change.event)
        return self.employees[change.employee_id]

    async def employee_history(self, employee_id: str) -> list[Record]:
        return [entry for entry in self.history if entry["employee_id"] == employee_id]

    async def create_import(
        self, data: bytes, filename: str, total: int, actor: str, role: str, scope: str | None
    ) -> str:
        import_id = f"imp-{len(self.imports) + 1}"
        self.imports[import_id] = {
            "_id": import_id,
            "total": total,
            "scope": scope,
            "role": role,
            "created_by": actor,
        }
        self.queued.append((filename, total, actor, role, scope))
        return import_id

    async def import_job(self, import_id: str) -> Record | None:
        return self.imports.get(import_id)

    async def import_errors_page(self, import_id: str, skip: int, limit: int) -> list[Record]:
        return [{"line": 2, "message": "contoh"}][skip : skip + limit]

    async def import_progress(self, import_id: str) -> dict[str, int]:
        return {"processed": 1, "imported": 1, "updated": 0, "unchanged": 0, "failed": 0}


def principal(
    role: Role = Role.BKPSDM,
    org_unit: str | None = None,
    nip: str | None = None,
    employee_id: str | None = None,
) -> Principal:
    return Principal(f"{role.value}-1", role, org_unit, nip, employee_id)


ADMIN = principal()
OPD_ADMIN = principal(Role.OPD_ADMIN, "32.01.001")
OTHER_OPD_ADMIN = principal(Role.OPD_ADMIN, "32.01.002")
SCOPED_BKPSDM = principal(org_unit="32.01.001")


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def woken() -> list[bool]:
    return []


@pytest.fixture
def vault() -> NikVault:
    return NikVault(b"unit-test-secret")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def registry(
    store: FakeStore, vault: NikVault, clock: FixedClock, woken: list[bool]
) -> RegistryUseCases:
    cases = RegistryUseCases(cast(RegistryStore, store), vault, clock, lambda: woken.append(True))
    for code, kind, parent in (
        ("32", OrgUnitKind.PROVINCE, None),
        ("32.01", OrgUnitKind.REGENCY, "32"),
        ("32.01.001", OrgUnitKind.OPD, "32.01"),
        ("32.01.001.01", OrgUnitKind.SUB_UNIT, "32.01.001"),
        ("32.01.002", OrgUnitKind.OPD, "32.01"),
    ):
        await cases.create_org_unit(ADMIN, code, f"Unit {code}", kind, parent)
    store.events.clear()
    return cases


def employee(nip: str | None = STAFF_NIP, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "nip": nip,
        "name": "Siti Rahmawati, S.Pd.",
        "employment_type": "PNS",
        "position": "Guru Ahli Pertama",
        "level": "STAFF",
        "org_unit_code": "32.01.001.01",
        "supervisor_nip": HEAD_NIP,
        "email": "siti.rahmawati@example.go.id",
    }
    body.update(changes)
    return body


async def registered(registry: RegistryUseCases, store: FakeStore, **changes: object) -> Record:
    record = await registry.register_employee(ADMIN, {**employee(), **changes})
    store.events.clear()
    return record


# ---------------------------------------------------------------- org units


async def test_unit_path_comes_from_the_parent_and_the_creation_is_published(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    unit = await registry.create_org_unit(
        SCOPED_BKPSDM, "32.01.001.02", "Bidang", OrgUnitKind.SUB_UNIT, "32.01.001"
    )
    assert unit["path"] == ["32", "32.01", "32.01.001"] and unit["version"] == 1
    assert unit["created_at"] == NOW
    [event] = store.events
    assert isinstance(event, OrgUnitCreatedV1) and event.unit.code == "32.01.001.02"


async def test_only_an_unscoped_principal_creates_a_root_unit(registry: RegistryUseCases) -> None:
    with pytest.raises(Forbidden, match="unit akar hanya boleh dibuat tanpa batas unit"):
        await registry.create_org_unit(
            principal(org_unit="32"), "33", "Provinsi Jawa Tengah", OrgUnitKind.PROVINCE, None
        )
    assert (await registry.create_org_unit(ADMIN, "33", "Jawa Tengah", OrgUnitKind.PROVINCE, None))[
        "path"
    ] == []


async def test_unknown_parent_is_a_field_error(registry: RegistryUseCases) -> None:
    with pytest.raises(RuleViolation) as caught:
        await registry.create_org_unit(ADMIN, "99.01", "Kab. X", OrgUnitKind.REGENCY, "99")
    assert caught.value.errors == [{"field": "parent_code", "message": "unit induk 99 tidak ditemukan"}]
    assert isinstance(caught.value, InvalidInput)


async def test_unit_outside_scope_refused_before_any_write(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    with pytest.raises(Forbidden, match=r"unit 32.01.002 berada di luar wewenang Anda \(unit 32.01.001\)"):
        await registry.create_org_unit(
            SCOPED_BKPSDM, "32.01.002.01", "Bidang", OrgUnitKind.SUB_UNIT, "32.01.002"
        )
    assert "32.01.002.01" not in store.units and not store.events


async def test_unit_kind_must_fit_under_its_parent(registry: RegistryUseCases) -> None:
    with pytest.raises(RuleViolation, match="tidak boleh berada di bawah OPD") as caught:
        await registry.create_org_unit(ADMIN, "32.01.001.99", "Kota", OrgUnitKind.CITY, "32.01.001")
    assert caught.value.field == "parent_code"


async def test_duplicate_unit_code_is_a_conflict(registry: RegistryUseCases) -> None:
    with pytest.raises(Conflict, match=r"unit organisasi 32\.01 sudah ada"):
        await registry.create_org_unit(ADMIN, "32.01", "Lagi", OrgUnitKind.REGENCY, "32")


async def test_only_bkpsdm_writes_units(registry: RegistryUseCases) -> None:
    with pytest.raises(Forbidden, match="peran opd_admin tidak boleh"):
        await registry.rename_org_unit(principal(Role.OPD_ADMIN), "32", "Jabar")


async def test_rename_publishes_only_a_real_change(
    registry: RegistryUseCases, store: FakeStore, clock: FixedClock
) -> None:
    same = await registry.rename_org_unit(ADMIN, "32.01", "Unit 32.01")
    assert same["version"] == 1 and not store.events
    clock.advance(dt.timedelta(hours=1))
    renamed = await registry.rename_org_unit(ADMIN, "32.01", "Kabupaten Bogor")
    assert renamed["version"] == 2 and renamed["updated_at"] == NOW + dt.timedelta(hours=1)
    [event] = store.events
    assert isinstance(event, OrgUnitUpdatedV1) and event.changed == ["name"] and event.unit.version == 2


async def test_rename_of_missing_or_foreign_unit(registry: RegistryUseCases) -> None:
    with pytest.raises(NotFound, match="unit organisasi 77 tidak ditemukan"):
        await registry.rename_org_unit(ADMIN, "77", "X")
    with pytest.raises(Forbidden):
        await registry.rename_org_unit(principal(org_unit="32.01.002"), "32.01.001", "Dinas")


async def test_every_role_reads_a_unit_with_its_children(registry: RegistryUseCases) -> None:
    unit, children = await registry.org_unit(principal(Role.AGENCY), "32.01")
    assert unit["_id"] == "32.01"
    assert [child["_id"] for child in children] == ["32.01.001", "32.01.002"]


# ---------------------------------------------------------------- registering employees


async def test_register_writes_the_record_and_its_event(registry: RegistryUseCases, store: FakeStore) -> None:
    record = await registry.register_employee(OPD_ADMIN, employee())
    assert record["_id"] == STAFF_NIP and record["org_unit_path"] == ["32", "32.01", "32.01.001"]
    assert record["created_by"] == OPD_ADMIN.subject and record["created_at"] == NOW
    assert store.employees[STAFF_NIP] is record
    [event] = store.events
    assert isinstance(event, EmployeeRegisteredV1) and event.employee.version == 1


async def test_nip_is_checked_against_the_clock(registry: RegistryUseCases, clock: FixedClock) -> None:
    appointed_next_month = "198503152024071001"
    with pytest.raises(InvalidInput) as caught:
        await registry.register_employee(ADMIN, employee(appointed_next_month))
    assert caught.value.errors == [
        {"field": "nip", "message": "digit 9–14: tahun-bulan pengangkatan 2024-07 ada di masa depan"}
    ]
    clock.advance(dt.timedelta(days=31))
    assert (await registry.register_employee(ADMIN, employee(appointed_next_month)))[
        "_id"
    ] == appointed_next_month


async def test_invalid_body_lists_every_field(registry: RegistryUseCases) -> None:
    with pytest.raises(InvalidInput) as caught:
        await registry.register_employee(ADMIN, employee(email="bukan-email", level="RAJA"))
    assert {error["field"] for error in caught.value.errors} == {"email", "level"}


async def test_unknown_unit_is_a_field_error(registry: RegistryUseCases) -> None:
    with pytest.raises(RuleViolation) as caught:
        await registry.register_employee(ADMIN, employee(org_unit_code="99.99"))
    assert caught.value.errors == [
        {"field": "org_unit_code", "message": "unit organisasi 99.99 tidak ditemukan"}
    ]


async def test_register_outside_scope_is_forbidden(registry: RegistryUseCases, store: FakeStore) -> None:
    with pytest.raises(Forbidden):
        await registry.register_employee(OTHER_OPD_ADMIN, employee())
    assert not store.employees


async def test_level_must_fit_the_unit(registry: RegistryUseCases) -> None:
    with pytest.raises(RuleViolation, match="REGIONAL_HEAD harus berada di unit pemda") as caught:
        await registry.register_employee(ADMIN, employee(level="REGIONAL_HEAD", leader_office="SEKDA"))
    assert caught.value.field == "org_unit_code"


async def test_registering_twice_is_a_conflict(registry: RegistryUseCases) -> None:
    await registry.register_employee(ADMIN, employee())
    with pytest.raises(Conflict, match=f"pegawai dengan NIP {STAFF_NIP} sudah terdaftar"):
        await registry.register_employee(ADMIN, employee())


async def test_non_asn_nik_is_kept_only_sealed(
    registry: RegistryUseCases, store: FakeStore, vault: NikVault
) -> None:
    body = employee(None, employment_type="NON_ASN", nik=NIK, supervisor_nip=None)
    record = await registry.register_employee(ADMIN, body)
    assert record["_id"].startswith("NA") and record["nip"] is None
    assert NIK not in str(record) and vault.opened(record) == NIK
    with pytest.raises(Conflict, match="pegawai dengan NIK ini sudah terdaftar"):
        await registry.register_employee(ADMIN, body)


async def test_readers_outside_the_writers_cannot_register(registry: RegistryUseCases) -> None:
    with pytest.raises(Forbidden):
        await registry.register_employee(principal(Role.PPK), employee())


# ---------------------------------------------------------------- reading employees


async def test_an_employee_sees_only_their_own_record(registry: RegistryUseCases, store: FakeStore) -> None:
    await registered(registry, store)
    own, history = await registry.employee(
        principal(Role.EMPLOYEE, nip=STAFF_NIP, employee_id=STAFF_NIP), STAFF_NIP
    )
    assert own["_id"] == STAFF_NIP and history == []
    with pytest.raises(Forbidden, match="pegawai hanya boleh melihat datanya sendiri"):
        await registry.employee(principal(Role.EMPLOYEE, nip=HEAD_NIP, employee_id=HEAD_NIP), STAFF_NIP)
    # The NIP alone proves nothing: the comparison is on the employee id.
    with pytest.raises(Forbidden, match="pegawai hanya boleh melihat datanya sendiri"):
        await registry.employee(principal(Role.EMPLOYEE, nip=STAFF_NIP), STAFF_NIP)


async def test_an_employee_token_without_an_employee_id_sees_no_non_asn_worker(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    worker = await registered(
        registry, store, nip=None, employment_type="NON_ASN", supervisor_nip=None, nik=NIK
    )
    with pytest.raises(Forbidden, match="pegawai hanya boleh melihat datanya sendiri"):
        await registry.employee(principal(Role.EMPLOYEE), worker["_id"])
    own, _ = await registry.employee(principal(Role.EMPLOYEE, employee_id=worker["_id"]), worker["_id"])
    assert own["_id"] == worker["_id"]


async def test_reading_a_missing_or_foreign_employee(registry: RegistryUseCases, store: FakeStore) -> None:
    await registered(registry, store)
    with pytest.raises(NotFound, match="pegawai 1 tidak ditemukan"):
        await registry.employee(ADMIN, "1")
    with pytest.raises(Forbidden):
        await registry.employee(OTHER_OPD_ADMIN, STAFF_NIP)


async def test_listing_is_scoped_to_the_principal_unit(registry: RegistryUseCases, store: FakeStore) -> None:
    await registered(registry, store)
    found, total = await registry.list_employees(OPD_ADMIN, "32.01.001", True, None, 1, 50)
    assert total == 1 and found[0]["_id"] == STAFF_NIP
    with pytest.raises(Forbidden):
        await registry.list_employees(OPD_ADMIN, "32.01", True, None, 1, 50)
    with pytest.raises(NotFound):
        await registry.list_employees(ADMIN, "77", True, None, 1, 50)
    with pytest.raises(Forbidden):
        await registry.list_employees(principal(Role.EMPLOYEE, nip=STAFF_NIP), "32.01.001", True, None, 1, 50)


# ---------------------------------------------------------------- changing employees


async def test_update_records_history_and_event(
    registry: RegistryUseCases, store: FakeStore, clock: FixedClock
) -> None:
    await registered(registry, store)
    clock.advance(dt.timedelta(minutes=5))
    record, changed = await registry.update_employee(OPD_ADMIN, STAFF_NIP, {"position": "Guru Ahli Muda"})
    assert changed == ["position"] and record["version"] == 2 and record["position"] == "Guru Ahli Muda"
    assert store.history == [
        {
            "employee_id": STAFF_NIP,
            "at": NOW + dt.timedelta(minutes=5),
            "action": "update",
            "changes": {"position": ["Guru Ahli Pertama", "Guru Ahli Muda"]},
            "by": OPD_ADMIN.subject,
        }
    ]
    [event] = store.events
    assert (
        isinstance(event, EmployeeUpdatedV1) and event.changed == ["position"] and event.employee.version == 2
    )


async def test_update_without_a_difference_writes_nothing(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    await registered(registry, store)
    record, changed = await registry.update_employee(ADMIN, STAFF_NIP, {"position": "Guru Ahli Pertama"})
    assert changed == [] and record["version"] == 1 and not store.history and not store.events


async def test_empty_patch_is_refused(registry: RegistryUseCases, store: FakeStore) -> None:
    await registered(registry, store)
    with pytest.raises(InvalidInput) as caught:
        await registry.update_employee(ADMIN, STAFF_NIP, {})
    assert caught.value.errors == [{"field": None, "message": "tidak ada kolom yang diubah"}]


async def test_update_is_validated_with_the_fields_left_alone(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    await registered(registry, store)
    with pytest.raises(InvalidInput) as caught:
        await registry.update_employee(ADMIN, STAFF_NIP, {"supervisor_nip": STAFF_NIP})
    assert "nip_atasan tidak boleh sama" in caught.value.errors[0]["message"]
    with pytest.raises(RuleViolation, match="level JPT memimpin OPD"):
        await registry.update_employee(ADMIN, STAFF_NIP, {"level": "JPT"})


async def test_update_of_non_asn_keeps_the_nik_rules(registry: RegistryUseCases, store: FakeStore) -> None:
    await registry.register_employee(
        ADMIN, employee(None, employment_type="NON_ASN", nik=NIK, supervisor_nip=None)
    )
    [employee_id] = store.employees
    record, changed = await registry.update_employee(ADMIN, employee_id, {"phone": "+6281234567890"})
    assert changed == ["phone"] and record["nik_hash"] == store.employees[employee_id]["nik_hash"]


async def test_a_deactivated_employee_cannot_change(registry: RegistryUseCases, store: FakeStore) -> None:
    await registered(registry, store)
    await registry.deactivate_employee(ADMIN, STAFF_NIP, DeactivationReason.RETIRED, None, None)
    with pytest.raises(EmployeeInactive, match="sudah nonaktif dan tidak bisa diubah"):
        await registry.update_employee(ADMIN, STAFF_NIP, {"email": "bukan-email"})
    with pytest.raises(EmployeeInactive, match="sudah nonaktif dan tidak bisa dipindahkan"):
        await registry.transfer_employee(ADMIN, STAFF_NIP, "32.01.002", "mutasi", None, None, None)
    with pytest.raises(Conflict, match=f"pegawai {STAFF_NIP} sudah nonaktif$"):
        await registry.deactivate_employee(ADMIN, STAFF_NIP, DeactivationReason.RETIRED, None, None)


async def test_a_change_decided_on_an_old_version_is_a_conflict(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    await registered(registry, store)
    original = store.apply_change

    async def changed_meanwhile(change: EmployeeChange) -> Record | None:
        store.employees[STAFF_NIP] = {**store.employees[STAFF_NIP], "version": 9}
        return await original(change)

    store.apply_change = changed_meanwhile  # type: ignore[method-assign]
    with pytest.raises(Conflict, match="sedang diubah proses lain; coba lagi"):
        await registry.update_employee(ADMIN, STAFF_NIP, {"position": "Guru Ahli Muda"})
    assert not store.history and not store.events


async def test_transfer_moves_with_an_effective_date_from_the_clock(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    await registered(registry, store)
    record = await registry.transfer_employee(
        ADMIN, STAFF_NIP, "32.01.002", "mutasi SK 821/1", None, "Perawat Ahli", Level.SUPERVISOR
    )
    assert record["org_unit_code"] == "32.01.002" and record["org_unit_path"] == ["32", "32.01"]
    assert record["position"] == "Perawat Ahli" and record["level"] == "SUPERVISOR" and record["version"] == 2
    [entry] = store.history
    assert entry["action"] == "transfer" and entry["effective_date"] == TODAY.isoformat()
    assert entry["from_org_unit_code"] == "32.01.001.01" and entry["to_org_unit_code"] == "32.01.002"
    [event] = store.events
    assert isinstance(event, EmployeeTransferredV1) and event.effective_date == TODAY
    assert event.reason == "mutasi SK 821/1" and event.employee.org_unit_code == "32.01.002"


async def test_transfer_to_the_same_unit_is_a_field_error(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    await registered(registry, store)
    with pytest.raises(RuleViolation, match=r"pegawai sudah berada di unit 32\.01\.001\.01") as caught:
        await registry.transfer_employee(ADMIN, STAFF_NIP, "32.01.001.01", "mutasi", None, None, None)
    assert caught.value.field == "to_org_unit_code"


async def test_transfer_needs_scope_over_both_units(registry: RegistryUseCases, store: FakeStore) -> None:
    await registered(registry, store)
    with pytest.raises(Forbidden, match=r"unit 32\.01\.002 berada di luar wewenang Anda"):
        await registry.transfer_employee(OPD_ADMIN, STAFF_NIP, "32.01.002", "mutasi", None, None, None)
    with pytest.raises(Forbidden, match=r"unit 32\.01\.001\.01 berada di luar wewenang Anda"):
        await registry.transfer_employee(OTHER_OPD_ADMIN, STAFF_NIP, "32.01.002", "mutasi", None, None, None)
    with pytest.raises(NotFound, match="unit organisasi 77 tidak ditemukan"):
        await registry.transfer_employee(ADMIN, STAFF_NIP, "77", "mutasi", None, None, None)
    assert store.employees[STAFF_NIP]["version"] == 1 and not store.events


async def test_transfer_keeps_the_level_fitting_the_new_unit(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    await registered(registry, store, org_unit_code="32.01.001", level="JPT", supervisor_nip=None)
    with pytest.raises(RuleViolation, match="level JPT memimpin OPD, bukan sub-unit"):
        await registry.transfer_employee(ADMIN, STAFF_NIP, "32.01.001.01", "mutasi", None, None, None)


async def test_deactivation_records_reason_note_and_date(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    await registered(registry, store)
    record = await registry.deactivate_employee(
        OPD_ADMIN, STAFF_NIP, DeactivationReason.RETIRED, "BUP", dt.date(2024, 7, 1)
    )
    assert record["active"] is False and record["version"] == 2
    assert record["deactivation"] == {
        "reason": "RETIRED",
        "note": "BUP",
        "effective_date": "2024-07-01",
        "by": OPD_ADMIN.subject,
        "at": NOW,
    }
    assert store.history == [{"employee_id": STAFF_NIP, "action": "deactivate", **record["deactivation"]}]
    [event] = store.events
    assert isinstance(event, EmployeeDeactivatedV1) and event.reason == "RETIRED: BUP"
    assert event.employee.active is False


async def test_deactivation_without_date_counts_from_today(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    await registered(registry, store)
    await registry.deactivate_employee(ADMIN, STAFF_NIP, DeactivationReason.RESIGNED, None, None)
    [event] = store.events
    assert isinstance(event, EmployeeDeactivatedV1)
    assert event.effective_date == TODAY and event.reason == "RESIGNED"


# ---------------------------------------------------------------- imports

CSV = b"nip;nama;jenis_pegawai;jabatan;level;kode_unor\n198503152010011002;Siti;PNS;Guru;STAFF;32.01.001\n"


async def test_start_import_queues_the_file_with_the_principal_scope(
    registry: RegistryUseCases, store: FakeStore, woken: list[bool]
) -> None:
    started = await registry.start_import(
        OPD_ADMIN,
        CSV.replace(b"kode_unor", b"kode_unor;catatan").replace(b"32.01.001\n", b"32.01.001;x\n"),
        "a.csv",
    )
    assert started.total == 1 and started.ignored_columns == ["catatan"]
    assert store.queued == [("a.csv", 1, OPD_ADMIN.subject, "opd_admin", "32.01.001")] and woken == [True]


async def test_an_upload_is_decoded_and_sniffed_off_the_event_loop(
    registry: RegistryUseCases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 50 MB file takes about a second to decode, sniff and count: never on the loop's thread."""
    threads: dict[str, int] = {}

    def recorded(name: str, work: Callable[..., T]) -> Callable[..., T]:
        def run(*args: Any) -> T:
            threads[name] = threading.get_ident()
            return work(*args)

        return run

    for name in ("decode", "read_layout", "count_rows"):
        monkeypatch.setattr(usecases, name, recorded(name, getattr(usecases, name)))
    await registry.start_import(OPD_ADMIN, CSV, "a.csv")
    assert set(threads) == {"decode", "read_layout", "count_rows"}
    assert threading.get_ident() not in threads.values()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file CSV kosong"),
        (
            b"nip;nama;jenis_pegawai;jabatan;level;kode_unor\n",
            "file CSV hanya berisi header, tanpa baris data",
        ),
    ],
)
async def test_unusable_file_is_refused_on_the_file_field(
    registry: RegistryUseCases, store: FakeStore, woken: list[bool], data: bytes, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await registry.start_import(ADMIN, data, "a.csv")
    assert caught.value.errors == [{"field": "file", "message": message}]
    assert not store.queued and not woken


async def test_import_status_is_for_its_own_unit_only(registry: RegistryUseCases) -> None:
    started = await registry.start_import(OPD_ADMIN, CSV, "a.csv")
    status = await registry.import_status(OPD_ADMIN, started.import_id, 0, 1000)
    assert status.job["total"] == 1 and status.progress["imported"] == 1 and status.errors[0]["line"] == 2
    assert (await registry.import_status(ADMIN, started.import_id, 0, 1000)).job["scope"] == "32.01.001"
    with pytest.raises(Forbidden, match="impor ini milik unit lain"):
        await registry.import_status(OTHER_OPD_ADMIN, started.import_id, 0, 1000)
    with pytest.raises(NotFound, match="impor imp-9 tidak ditemukan"):
        await registry.import_status(ADMIN, "imp-9", 0, 1000)


# ---------------------------------------------------------------- import decisions


def import_row(line: int, **changes: object) -> ImportRow:
    values = {**employee(), **changes}
    unit_code = str(values["org_unit_code"])
    path = {"32.01.001.01": ["32", "32.01", "32.01.001"], "32.01.002": ["32", "32.01"]}[unit_code]
    kind = OrgUnitKind.SUB_UNIT if unit_code.count(".") == 3 else OrgUnitKind.OPD
    return ImportRow(line, EmployeeInput.model_validate(values), UnitRef(unit_code, kind, path))


async def test_import_chunk_registers_updates_moves_and_skips(
    registry: RegistryUseCases, store: FakeStore, vault: NikVault, clock: FixedClock
) -> None:
    await registered(registry, store)
    await registered(registry, store, nip=HEAD_NIP, supervisor_nip=None)
    await registered(registry, store, nip="199001012015032003", supervisor_nip=None)
    await registry.deactivate_employee(ADMIN, "199001012015032003", DeactivationReason.RETIRED, None, None)
    worker = ImportWorker(
        cast(RegistryStore, store), vault, clock, "worker-1", ImportSettings(), CollectorRegistry()
    )
    chunk = ChunkRows(processed=5, first_line=2, last_line=6, errors=[RowError(6, "nip", "1", "rusak")])
    rows = [
        import_row(2, nip="198503152010011001"),  # new
        import_row(3, position="Guru Ahli Muda"),  # changed details
        import_row(4, nip=HEAD_NIP, supervisor_nip=None, org_unit_code="32.01.002"),  # moved
        import_row(5, nip="199001012015032003", supervisor_nip=None),  # deactivated
    ]
    write = await worker.decide("imp-1", rows, chunk, ADMIN)
    assert [record["_id"] for record in write.inserts] == ["198503152010011001"]
    assert write.inserts[0]["created_by"] == "import:imp-1"
    assert [change.history["action"] for change in write.changes] == ["update", "transfer"]
    moved = write.changes[1].history
    assert moved["reason"] == "impor imp-1 baris 4" and "effective_date" not in moved
    assert [type(event) for event in write.events] == [
        EmployeeRegisteredV1,
        EmployeeUpdatedV1,
        EmployeeTransferredV1,
    ]
    assert [(error.line, error.message) for error in write.errors] == [
        (6, "rusak"),
        (5, "pegawai 199001012015032003 sudah nonaktif; tidak diimpor ulang"),
    ]
    assert (write.counts.imported, write.counts.updated, write.counts.unchanged, write.counts.failed) == (
        1,
        2,
        0,
        2,
    )
    assert write.lines == (2, 6) and write.processed == 5
    assert len(chunk.errors) == 1  # the chunk's own list is left as it was


async def test_identical_import_row_changes_nothing(
    registry: RegistryUseCases, store: FakeStore, vault: NikVault, clock: FixedClock
) -> None:
    await registered(registry, store)
    worker = ImportWorker(
        cast(RegistryStore, store), vault, clock, "worker-1", ImportSettings(), CollectorRegistry()
    )
    write = await worker.decide(
        "imp-1", [import_row(2)], ChunkRows(processed=1, first_line=2, last_line=2), ADMIN
    )
    assert not write.inserts and not write.changes and not write.events
    assert write.counts.unchanged == 1 and write.counts.failed == 0


async def test_import_row_may_not_take_over_an_employee_of_another_unit(
    registry: RegistryUseCases, store: FakeStore, vault: NikVault, clock: FixedClock
) -> None:
    # Both on file in OPD 32.01.002; the importer is OPD 32.01.001's admin, the rows say 32.01.001.
    await registered(registry, store, org_unit_code="32.01.002", supervisor_nip=None)
    worker_record = await registered(
        registry,
        store,
        nip=None,
        employment_type="NON_ASN",
        org_unit_code="32.01.002",
        supervisor_nip=None,
        nik=NIK,
    )
    worker = ImportWorker(
        cast(RegistryStore, store), vault, clock, "worker-1", ImportSettings(), CollectorRegistry()
    )
    rows = [
        import_row(2, org_unit_code="32.01.001.01", email="penyerang@example.com", supervisor_nip=None),
        import_row(
            3,
            nip=None,
            employment_type="NON_ASN",
            org_unit_code="32.01.001.01",
            supervisor_nip=None,
            email="penyerang@example.com",
            nik=NIK,
        ),
    ]
    write = await worker.decide("imp-1", rows, ChunkRows(processed=2, first_line=2, last_line=3), OPD_ADMIN)
    assert not write.inserts and not write.changes and not write.events
    assert [(error.line, error.column, error.value) for error in write.errors] == [
        (2, "nip", STAFF_NIP),
        (3, "nik", "3201********0001"),
    ]
    assert all("di luar wewenang Anda (unit 32.01.001)" in error.message for error in write.errors)
    assert write.counts.failed == 2 and write.counts.updated == 0
    assert store.employees[worker_record["_id"]]["org_unit_code"] == "32.01.002"


# ---------------------------------------------------------------- the pemda's leaders (issue 13)

SEKDA_NIP = "196901011990031001"


def sekda(nip: str = SEKDA_NIP, **changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "position": "Sekretaris Daerah Kabupaten Bogor",
        "level": "REGIONAL_HEAD",
        "leader_office": "SEKDA",
        "org_unit_code": "32.01",
        "supervisor_nip": None,
    }
    return employee(nip, **{**values, **changes})


def elected_head(**changes: object) -> dict[str, object]:
    return employee(
        None,
        name="Rudy Susmanto",
        employment_type="PEJABAT_NEGARA",
        position="Bupati Bogor",
        level="REGIONAL_HEAD",
        leader_office="KEPALA_DAERAH",
        org_unit_code="32.01",
        supervisor_nip=None,
        nik=NIK,
        **changes,
    )


async def test_an_elected_head_gets_a_platform_id_and_the_office_in_the_event(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    record = await registry.register_employee(ADMIN, elected_head())
    assert (
        record["_id"].startswith("NA")
        and record["nip"] is None
        and record["leader_office"] == "KEPALA_DAERAH"
    )
    assert "nik" not in record and record["nik_hash"]
    [event] = store.events
    assert isinstance(event, EmployeeRegisteredV1) and event.employee.leader_office == "KEPALA_DAERAH"


async def test_a_second_sekda_of_the_same_pemda_is_a_conflict_until_the_first_leaves(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    await registry.register_employee(ADMIN, sekda())
    with pytest.raises(
        Conflict, match=f"sekretaris daerah pemda 32.01 sudah dipegang pegawai aktif {SEKDA_NIP}"
    ):
        await registry.register_employee(ADMIN, sekda(HEAD_NIP))
    assert HEAD_NIP not in store.employees
    await registry.register_employee(ADMIN, sekda(HEAD_NIP, org_unit_code="32", position="Sekda Provinsi"))
    await registry.deactivate_employee(ADMIN, SEKDA_NIP, DeactivationReason.RETIRED, None, None)
    await registry.register_employee(ADMIN, sekda(STAFF_NIP))
    assert store.employees[STAFF_NIP]["leader_office"] == "SEKDA"


async def test_a_pj_takes_the_seat_only_after_the_elected_head_term_ended(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    head = await registry.register_employee(ADMIN, elected_head())
    pj = sekda(HEAD_NIP, leader_office="PJ_KEPALA_DAERAH", position="Penjabat Bupati Bogor")
    with pytest.raises(Conflict, match=r"kepala daerah \(terpilih atau Pj\) pemda 32.01"):
        await registry.register_employee(ADMIN, pj)
    await registry.deactivate_employee(
        ADMIN, head["_id"], DeactivationReason.TERM_ENDED, "masa jabatan", None
    )
    assert (await registry.register_employee(ADMIN, pj))["leader_office"] == "PJ_KEPALA_DAERAH"


async def test_updating_an_office_checks_the_seat_and_a_regional_head_needs_one(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    await registry.register_employee(ADMIN, sekda())
    await registry.register_employee(ADMIN, sekda(HEAD_NIP, leader_office="PJ_KEPALA_DAERAH"))
    with pytest.raises(Conflict, match="sekretaris daerah"):
        await registry.update_employee(ADMIN, HEAD_NIP, {"leader_office": "SEKDA"})
    with pytest.raises(InvalidInput) as caught:
        await registry.update_employee(ADMIN, HEAD_NIP, {"leader_office": None})
    assert "isi leader_office" in caught.value.errors[0]["message"]
    updated, changed = await registry.update_employee(ADMIN, SEKDA_NIP, {"phone": "+6281100000001"})
    assert changed == ["phone"] and updated["leader_office"] == "SEKDA"


async def test_a_transfer_into_a_held_seat_is_a_conflict(
    registry: RegistryUseCases, store: FakeStore
) -> None:
    await registry.register_employee(ADMIN, sekda())
    await registry.register_employee(ADMIN, sekda(HEAD_NIP, org_unit_code="32", position="Sekda Provinsi"))
    with pytest.raises(Conflict, match=r"sekretaris daerah pemda 32\.01"):
        await registry.transfer_employee(ADMIN, HEAD_NIP, "32.01", "mutasi", None, None, None)
    moved = await registry.transfer_employee(
        ADMIN, SEKDA_NIP, "32.01.002", "mutasi", None, "Kepala Dinas", Level.JPT
    )
    assert moved["leader_office"] is None and moved["level"] == "JPT"
    assert (await registry.transfer_employee(ADMIN, HEAD_NIP, "32.01", "mutasi", None, None, None))[
        "leader_office"
    ] == "SEKDA"


async def test_an_import_chunk_seats_one_sekda_per_pemda(
    registry: RegistryUseCases, store: FakeStore, vault: NikVault, clock: FixedClock
) -> None:
    worker = ImportWorker(
        cast(RegistryStore, store), vault, clock, "worker-1", ImportSettings(), CollectorRegistry()
    )
    pemda = UnitRef("32.01", OrgUnitKind.REGENCY, ["32"])
    rows = [
        ImportRow(2, EmployeeInput.model_validate(sekda()), pemda),
        ImportRow(3, EmployeeInput.model_validate(sekda(HEAD_NIP)), pemda),
        ImportRow(4, EmployeeInput.model_validate(elected_head()), pemda),
    ]
    write = await worker.decide("imp-1", rows, ChunkRows(processed=3, first_line=2, last_line=4), ADMIN)
    assert [record["leader_office"] for record in write.inserts] == ["SEKDA", "KEPALA_DAERAH"]
    [error] = write.errors
    assert (error.line, error.column, error.value) == (3, "leader_office", "SEKDA")
    assert f"sudah dipegang pegawai aktif {SEKDA_NIP}" in error.message
    # The same file again: each leader is in their own seat already, nothing is refused.
    for record in write.inserts:
        store.employees[record["_id"]] = record
    again = await worker.decide(
        "imp-2", rows[:1] + rows[2:], ChunkRows(processed=2, first_line=2, last_line=4), ADMIN
    )
    assert not again.errors and again.counts.unchanged == 2
