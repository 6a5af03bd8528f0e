"""Bulk import against real engines: per-row reports, re-runs that change nothing, scoping."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from services.registry.main import build_app
from services.registry.settings import RegistrySettings
from tests.conftest import running_app
from tests.kafka_reader import wait_for

HEADER = "nip;nama;jenis_pegawai;jabatan;level;kode_unor;nip_atasan;email;no_hp;nik"


UNITS = (
    {"code": "32", "name": "Provinsi Jawa Barat", "kind": "PROVINCE"},
    {"code": "32.01", "name": "Kabupaten Bogor", "kind": "REGENCY", "parent_code": "32"},
    {"code": "32.01.001", "name": "Dinas Pendidikan", "kind": "OPD", "parent_code": "32.01"},
    {"code": "32.01.002", "name": "Dinas Kesehatan", "kind": "OPD", "parent_code": "32.01"},
)


async def add_units(client: httpx.AsyncClient, token: str) -> None:
    """The small pemda the import tests (and the import pages' tests) file their rows into."""
    for unit in UNITS:
        answer = await client.post("/v1/org-units", json=unit, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 201, answer.text


@pytest.fixture
def settings(settings_kwargs: dict[str, object]) -> RegistrySettings:
    return RegistrySettings(relay_poll_seconds=0.05, import_chunk_size=3, **settings_kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def api(settings: RegistrySettings, mint: Callable[..., str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(build_app(settings)) as client:
        await add_units(client, mint("bkpsdm"))
        yield client


async def run_import(api: httpx.AsyncClient, token: str, data: bytes) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    started = await api.post(
        "/v1/imports", files={"file": ("pegawai.csv", data, "text/csv")}, headers=headers
    )
    assert started.status_code == 202, started.text
    url = started.json()["status_url"]
    status: dict[str, Any] = {}

    async def finished() -> bool:
        nonlocal status
        status = (await api.get(url, headers=headers)).json()
        return status["status"] in ("completed", "failed")

    await wait_for(finished, timeout=60)
    return status


BROKEN = (
    "\n".join(
        [
            "\ufeff" + HEADER,
            "198503152010011001;Budi Santoso;PNS;Kepala Dinas;JPT;32.01.001;;budi@example.go.id;;",  # 2 ok
            "198513152010011002;Salah Tanggal;PNS;Guru;pelaksana;32.01.001;;;;",  # 3 bad NIP
            "198503152010011003;Unit Hilang;PNS;Guru;STAFF;99.99.999;;;;",  # 4 unknown unit
            "198503152010011001;Budi Lagi;PNS;Guru;STAFF;32.01.001;;;;",  # 5 duplicate of line 2
            "198503152010011004;Kurang Kolom;PNS;Guru",  # 6 column count
            '"198503152021212005";"Dewi; S.Pd.";PPPK;"Guru Ahli Pertama";STAFF;32.01.001;198503152010011001;;;',  # noqa: E501 - line 7
            ";Asep Honorer;Honorer;Pengemudi;pelaksana;32.01.002;;;+62 812-1111-2222;3201015503850001",  # 8
        ]
    ).encode()
    + b"\n198503152010011006;Rus\xe9di;PNS;Guru;STAFF;32.01.001;;;;\n"
)  # 9 latin-1 byte


async def test_broken_rows_are_reported_and_good_rows_import(
    api: httpx.AsyncClient, mint: Callable[..., str]
) -> None:
    status = await run_import(api, mint("bkpsdm"), BROKEN)
    assert status["status"] == "completed"
    assert (status["total"], status["imported"], status["failed"]) == (8, 3, 5)
    by_line = {error["line"]: error for error in status["errors"]}
    assert set(by_line) == {3, 4, 5, 6, 9}
    assert by_line[3]["column"] == "nip" and "digit 1–8" in by_line[3]["message"]
    assert by_line[4]["column"] == "org_unit_code" and by_line[4]["value"] == "99.99.999"
    assert "baris 2" in by_line[5]["message"]
    assert by_line[6]["message"] == "baris ini punya 4 kolom, header punya 10"
    assert by_line[9]["column"] == "name" and "UTF-8" in by_line[9]["message"]

    admin = {"Authorization": f"Bearer {mint('bkpsdm')}"}
    dewi = (await api.get("/v1/employees/198503152021212005", headers=admin)).json()
    assert dewi["name"] == "Dewi; S.Pd." and dewi["employment_type"] == "PPPK"
    listed = (await api.get("/v1/employees?org_unit=32.01.002", headers=admin)).json()
    assert listed["items"][0]["employment_type"] == "NON_ASN" and listed["items"][0]["has_nik"]


async def test_reimport_changes_nothing_and_publishes_nothing(
    api: httpx.AsyncClient, mint: Callable[..., str], settings: RegistrySettings
) -> None:
    first = await run_import(api, mint("bkpsdm"), BROKEN)
    assert first["imported"] == 3
    app_outbox_count = await _outbox_count(settings)
    second = await run_import(api, mint("bkpsdm"), BROKEN)
    assert (second["imported"], second["updated"], second["unchanged"], second["failed"]) == (0, 0, 3, 5)
    assert await _outbox_count(settings) == app_outbox_count
    changed = BROKEN.replace(b"Kepala Dinas;JPT", b"Kepala Dinas Pendidikan;JPT")
    third = await run_import(api, mint("bkpsdm"), changed)
    assert (third["imported"], third["updated"], third["unchanged"]) == (0, 1, 2)
    assert await _outbox_count(settings) == app_outbox_count + 1


async def _outbox_count(settings: RegistrySettings) -> int:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri)
    try:
        return await client[settings.database_name]["outbox"].count_documents(
            {"type": {"$regex": "^employee"}}
        )
    finally:
        await client.close()


async def test_opd_admin_imports_only_into_their_opd(
    api: httpx.AsyncClient, mint: Callable[..., str]
) -> None:
    status = await run_import(api, mint("opd_admin", org_unit="32.01.001"), BROKEN)
    assert status["imported"] == 2  # Asep's row is in another OPD
    assert any("di luar wewenang" in error["message"] and error["line"] == 8 for error in status["errors"])


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "kosong"),
        (b"   \n", "kosong"),
        (HEADER.encode() + b"\n", "hanya berisi header"),
        (b"a,b,c\n1,2,3\n", "kolom wajib"),
    ],
    ids=["empty", "blank", "header-only", "wrong-header"],
)
async def test_unusable_files_are_refused_at_upload(
    api: httpx.AsyncClient, mint: Callable[..., str], data: bytes, fragment: str
) -> None:
    response = await api.post(
        "/v1/imports",
        files={"file": ("x.csv", data, "text/csv")},
        headers={"Authorization": f"Bearer {mint('bkpsdm')}"},
    )
    assert response.status_code == 422
    assert fragment in response.json()["errors"][0]["message"]
