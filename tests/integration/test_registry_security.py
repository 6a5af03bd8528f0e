"""The registry's holes of issue 12, reproduced against real engines: taking over another OPD's
employees by import, NIKs left in clear, employee tokens without an id, hostile bodies."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import bson
import httpx
import pytest
from pymongo import AsyncMongoClient

from services.registry.main import build_app
from services.registry.settings import RegistrySettings
from services.registry.store import RegistryStore
from tests.conftest import running_app
from tests.integration.test_registry_import import HEADER, run_import
from tests.kafka_reader import wait_for

VICTIM_NIP = "198503152010011002"
VICTIM_EMAIL = "siti.rahmawati@example.go.id"
VICTIM_NIK = "3201015503850001"
OTHER_NIK = "3201016607900002"
DUPLICATE_NIK = "3201014101920003"
NIK_IN_NIP_COLUMN = "3201015807880004"
UNKNOWN_UNIT_NIK = "3201010101010001"
STANDALONE_16_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")


@pytest.fixture
def settings(settings_kwargs: dict[str, object]) -> RegistrySettings:
    return RegistrySettings(relay_poll_seconds=0.05, import_chunk_size=3, **settings_kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def api(settings: RegistrySettings, mint: Callable[..., str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(build_app(settings)) as client:
        admin = bearer(mint("bkpsdm"))
        for unit in (
            {"code": "32", "name": "Provinsi Jawa Barat", "kind": "PROVINCE"},
            {"code": "32.01", "name": "Kabupaten Bogor", "kind": "REGENCY", "parent_code": "32"},
            {"code": "32.01.001", "name": "Dinas Pendidikan", "kind": "OPD", "parent_code": "32.01"},
            {"code": "32.01.002", "name": "Dinas Kesehatan", "kind": "OPD", "parent_code": "32.01"},
        ):
            assert (await client.post("/v1/org-units", json=unit, headers=admin)).status_code == 201
        yield client


@pytest.fixture
async def database(settings: RegistrySettings) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri)
    try:
        yield client[settings.database_name]
    finally:
        await client.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def csv_file(*rows: str) -> bytes:
    return "\n".join([HEADER, *rows]).encode() + b"\n"


async def register_victims(api: httpx.AsyncClient, admin: dict[str, str]) -> str:
    """A PNS and a non-ASN worker of OPD B (32.01.002); the non-ASN's employee id."""
    pns = {
        "nip": VICTIM_NIP,
        "name": "Siti Rahmawati",
        "employment_type": "PNS",
        "position": "Perawat",
        "level": "STAFF",
        "org_unit_code": "32.01.002",
        "email": VICTIM_EMAIL,
    }
    assert (await api.post("/v1/employees", json=pns, headers=admin)).status_code == 201
    non_asn = {
        "name": "Asep Sunandar",
        "employment_type": "NON_ASN",
        "position": "Pengemudi",
        "level": "STAFF",
        "org_unit_code": "32.01.002",
        "phone": "+6281211112222",
        "nik": VICTIM_NIK,
    }
    created = await api.post("/v1/employees", json=non_asn, headers=admin)
    assert created.status_code == 201, created.text
    employee_id: str = created.json()["employee_id"]
    return employee_id


# ---------------------------------------------------------------- #1 take-over by import


async def test_opd_admin_cannot_take_over_another_opds_employees_by_import(
    api: httpx.AsyncClient, mint: Callable[..., str]
) -> None:
    admin = bearer(mint("bkpsdm"))
    non_asn_id = await register_victims(api, admin)
    attack = csv_file(
        f"{VICTIM_NIP};Siti Rahmawati;PNS;Perawat;STAFF;32.01.001;;penyerang@example.com;;",
        f";Asep Sunandar;NON_ASN;Pengemudi;STAFF;32.01.001;;penyerang@example.com;;{VICTIM_NIK}",
    )
    status = await run_import(api, mint("opd_admin", org_unit="32.01.001"), attack)

    assert status["status"] == "completed"
    assert (status["imported"], status["updated"], status["failed"]) == (0, 0, 2)
    by_line = {error["line"]: error for error in status["errors"]}
    assert set(by_line) == {2, 3}
    for error in by_line.values():
        assert "di luar wewenang Anda" in error["message"]
        assert VICTIM_NIK not in str(error)
    assert by_line[2]["column"] == "nip" and by_line[3]["column"] == "nik"
    for employee_id in (VICTIM_NIP, non_asn_id):
        detail = (await api.get(f"/v1/employees/{employee_id}", headers=admin)).json()
        assert detail["org_unit_code"] == "32.01.002" and detail["email"] != "penyerang@example.com"
        assert detail["version"] == 1 and detail["history"] == []


async def test_a_move_by_import_records_the_profile_change_in_the_history(
    api: httpx.AsyncClient, mint: Callable[..., str]
) -> None:
    admin = bearer(mint("bkpsdm"))
    await register_victims(api, admin)
    moved = csv_file(f"{VICTIM_NIP};Siti Rahmawati;PNS;Perawat;STAFF;32.01.001;;siti@example.go.id;;")
    status = await run_import(api, mint("bkpsdm"), moved)
    assert status["updated"] == 1, status
    history = (await api.get(f"/v1/employees/{VICTIM_NIP}", headers=admin)).json()["history"]
    assert [entry["action"] for entry in history] == ["transfer"]
    assert history[0]["changes"] == {"email": [VICTIM_EMAIL, "siti@example.go.id"]}


# ---------------------------------------------------------------- #4 NIKs at rest and in errors


async def test_no_raw_nik_is_left_anywhere_but_the_encrypted_field_after_an_import(
    api: httpx.AsyncClient, mint: Callable[..., str], database: Any
) -> None:
    rows = csv_file(
        f";Asep Sunandar;NON_ASN;Pengemudi;STAFF;32.01.002;;;;{VICTIM_NIK}",  # 2 imported
        f";Ujang Honorer;Honorer;Satpam;STAFF;32.01.002;;;;{OTHER_NIK}",  # 3 imported
        f";Dedi Kurniawan;NON_ASN;Tukang Kebun;STAFF;32.01.002;;;;{DUPLICATE_NIK}",  # 4 imported
        f";Dedi Lagi;NON_ASN;Tukang Kebun;JPT;32.01.002;;bukan-email;;{DUPLICATE_NIK}",  # 5 dup + invalid
        f"{NIK_IN_NIP_COLUMN};Salah Kolom;PNS;Guru;STAFF;32.01.001;;;;",  # 6 a NIK in the nip column
        f";Unit Salah;NON_ASN;Satpam;STAFF;{OTHER_NIK[:-1]}9;;;;{UNKNOWN_UNIT_NIK}",  # 7 unknown unit
    )
    status = await run_import(api, mint("bkpsdm"), rows)
    assert status["status"] == "completed"
    assert (status["imported"], status["failed"]) == (3, 3), status

    for error in status["errors"]:
        assert not STANDALONE_16_DIGITS.search(str(error["value"] or "")), error
        assert not STANDALONE_16_DIGITS.search(error["message"]), error
    used = (VICTIM_NIK, OTHER_NIK, DUPLICATE_NIK, NIK_IN_NIP_COLUMN, UNKNOWN_UNIT_NIK)
    raw = [nik.encode() for nik in used]
    for name in await database.list_collection_names():
        async for document in database[name].find():
            stored = bson.encode(document)
            leaked = [nik.decode() for nik in raw if nik in stored]
            assert not leaked, f"raw NIK in {name}: {document.get('_id')}"
    assert await database["import_files.files"].count_documents({}) == 0


async def test_files_left_by_a_crash_are_swept_at_start(settings: RegistrySettings, database: Any) -> None:
    """A file whose import finished before it could be deleted, one an upload left without its
    job and the chunks of an upload cut short: the next start deletes them all, and keeps the
    file of an import still running."""
    app = build_app(settings)
    store: RegistryStore = app.state.registry.store
    raw = csv_file(f";Asep Sunandar;NON_ASN;Pengemudi;STAFF;32.01.002;;;;{VICTIM_NIK}")
    finished = await store.create_import(raw, "a.csv", 1, "bkpsdm-1", "bkpsdm", None)
    await database["imports"].update_one({"_id": finished}, {"$set": {"status": "completed"}})
    running = await store.create_import(raw, "b.csv", 1, "bkpsdm-1", "bkpsdm", None)
    in_an_hour = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    held = {"status": "running", "owner": "another-replica", "lease_until": in_an_hour}
    await database["imports"].update_one({"_id": running}, {"$set": held})
    orphan = await store.files.upload_from_stream("c.csv", raw)
    hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    await database["import_files.files"].update_one({"_id": orphan}, {"$set": {"uploadDate": hours_ago}})
    kept = await store.files.upload_from_stream("d.csv", raw)  # a job may still be on its way
    cut_short = {"files_id": bson.ObjectId.from_datetime(hours_ago), "n": 0, "data": raw}
    await database["import_files.chunks"].insert_one(cut_short)

    running_file = (await database["imports"].find_one({"_id": running}))["file_id"]

    async def swept() -> bool:
        remaining = {doc["_id"] async for doc in database["import_files.files"].find()}
        chunks = {doc["files_id"] async for doc in database["import_files.chunks"].find()}
        return remaining == chunks == {running_file, kept}

    async with running_app(app):
        await wait_for(swept, timeout=30)


# ---------------------------------------------------------------- #6 employee tokens


async def test_employee_token_without_an_employee_id_cannot_read_a_non_asn_record(
    api: httpx.AsyncClient, mint: Callable[..., str]
) -> None:
    non_asn_id = await register_victims(api, bearer(mint("bkpsdm")))
    stranger = await api.get(f"/v1/employees/{non_asn_id}", headers=bearer(mint("employee")))
    assert stranger.status_code == 403, stranger.text
    own = await api.get(
        f"/v1/employees/{non_asn_id}", headers=bearer(mint("employee", employee_id=non_asn_id))
    )
    assert own.status_code == 200 and own.json()["employee_id"] == non_asn_id


# ---------------------------------------------------------------- hostile bodies


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
async def test_deeply_nested_json_is_refused_not_a_server_error(
    api: httpx.AsyncClient, mint: Callable[..., str], content_type: str
) -> None:
    """With a JSON type the kit's depth limit stops it while it arrives; without one the body
    still reaches the registry's own `request.json()`, whose RecursionError the kit answers."""
    depth = 100_000
    response = await api.post(
        "/v1/employees",
        content=b"[" * depth + b"]" * depth,
        headers={**bearer(mint("bkpsdm")), "Content-Type": content_type},
    )
    assert response.status_code == 422, response.text
    assert "terlalu dalam" in response.json()["errors"][0]["message"]


async def test_an_upload_over_the_import_limit_is_refused_with_413(
    settings: RegistrySettings, mint: Callable[..., str]
) -> None:
    limited = settings.model_copy(update={"max_import_bytes": 10_000})
    async with running_app(build_app(limited)) as client:
        big = csv_file(*[f"{VICTIM_NIP};Siti Rahmawati;PNS;Perawat;STAFF;32.01.002;;;;"] * 500)
        response = await client.post(
            "/v1/imports", files={"file": ("big.csv", big, "text/csv")}, headers=bearer(mint("bkpsdm"))
        )
    assert response.status_code == 413
    assert response.json() == {"detail": "isi permintaan terlalu besar (maksimal 10000 bita)"}
