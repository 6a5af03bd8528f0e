"""Issue 13 on real engines: a PPPK import with real NI PPPK numbers, and the pemda's leaders (an
elected head without NIP, a Pj with one, the Sekda) registered and published with their office."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from netral.seed import generate, write_csv
from services.registry.main import build_app
from services.registry.settings import RegistrySettings
from tests.conftest import running_app
from tests.kafka_reader import events_of, read_topic, wait_for

PNS_HEAD = "197003151995031001"
PPPK_2025 = "199009132025242014"
PPPK_2022 = "198403152022212001"
PNS_LAYOUT_FOR_PPPK = "198503152010011005"
PJ_NIP = "197105051996031002"
SEKDA_NIP = "196901011990031001"
BUPATI_NIK = "3201012505700001"


@pytest.fixture
def settings(settings_kwargs: dict[str, object]) -> RegistrySettings:
    return RegistrySettings(relay_poll_seconds=0.05, import_chunk_size=2, **settings_kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def api(settings: RegistrySettings, mint: Callable[..., str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(build_app(settings)) as client:
        for unit in (
            {"code": "32", "name": "Provinsi Jawa Barat", "kind": "PROVINCE"},
            {"code": "32.01", "name": "Kabupaten Bogor", "kind": "REGENCY", "parent_code": "32"},
            {"code": "32.01.001", "name": "Dinas Kesehatan", "kind": "OPD", "parent_code": "32.01"},
        ):
            response = await client.post("/v1/org-units", json=unit, headers=bearer(mint("bkpsdm")))
            assert response.status_code == 201, response.text
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def run_import(api: httpx.AsyncClient, token: str, data: bytes) -> dict[str, Any]:
    started = await api.post(
        "/v1/imports", files={"file": ("pppk.csv", data, "text/csv")}, headers=bearer(token)
    )
    assert started.status_code == 202, started.text
    url = started.json()["status_url"]
    status: dict[str, Any] = {}

    async def finished() -> bool:
        nonlocal status
        status = (await api.get(url, headers=bearer(token))).json()
        return status["status"] in ("completed", "failed")

    await wait_for(finished, timeout=60)
    return status


# The registry's header with the new last column; the PPPK head of the OPD (a JPT post) leads two
# PPPK staff; the Sekda row names its office in the new column, the Bupati has a NIK and no NIP.
PPPK_FILE = "\n".join(
    [
        "nip,name,employment_type,position,level,org_unit_code,supervisor_nip,email,phone,nik,leader_office",
        f"{PNS_HEAD},Asep Saepudin,PNS,Kepala Dinas Kesehatan,JPT,32.01.001,,,,,",  # line 2
        f"{PPPK_2025},Rina Kartika,PPPK,Perawat Ahli Pertama,STAFF,32.01.001,{PNS_HEAD},,,,",  # 3
        f"{PPPK_2022},Dewi Lestari,P3K,Kepala Puskesmas,JPT,32.01.001,{PNS_HEAD},,,,",  # 4
        f"{PNS_LAYOUT_FOR_PPPK},Budi Santoso,PPPK,Perawat Terampil,STAFF,32.01.001,{PPPK_2022},,,,",  # 5
        f"{SEKDA_NIP},Ajat Sudrajat,PNS,Sekretaris Daerah,REGIONAL_HEAD,32.01,,,,,Sekretaris Daerah",  # 6
        f",Rudy Susmanto,PEJABAT_NEGARA,Bupati Bogor,REGIONAL_HEAD,32.01,,,,{BUPATI_NIK},Bupati",  # 7
        f"{PJ_NIP},Iwan Setiawan,PNS,Penjabat Bupati Bogor,REGIONAL_HEAD,32.01,,,,,PJ_KEPALA_DAERAH",  # 8
    ]
).encode()


async def test_a_pppk_import_reads_each_number_by_its_layout(
    api: httpx.AsyncClient, mint: Callable[..., str], settings: RegistrySettings
) -> None:
    status = await run_import(api, mint("bkpsdm"), PPPK_FILE)
    assert status["status"] == "completed", status
    assert (status["total"], status["imported"], status["failed"]) == (7, 5, 2), status["errors"]
    by_line = {error["line"]: error for error in status["errors"]}
    assert set(by_line) == {5, 8}
    refused = by_line[5]
    assert (refused["column"], refused["value"]) == ("nip", PNS_LAYOUT_FOR_PPPK)
    assert refused["message"] == (
        "digit 9–12 (2010) bukan tahun pengangkatan PPPK yang mungkin: PPPK baru ada sejak PP 49/2018, "
        "jadi paling awal 2019 (NIP PNS memuat tahun-bulan TMT CPNS di sini)"
    )
    # The elected Bupati holds the head's seat: a Pj is appointed only while it is vacant. Decided
    # in file order, though lines 7 and 8 are in chunks committed concurrently.
    assert (by_line[8]["column"], by_line[8]["value"]) == ("leader_office", "PJ_KEPALA_DAERAH")
    assert by_line[8]["message"] == (
        "jabatan kepala daerah (terpilih atau Pj) pemda 32.01 sudah diisi baris 7 file ini; "
        "baris ini dilewati"
    )

    admin = bearer(mint("bkpsdm"))
    dewi = (await api.get(f"/v1/employees/{PPPK_2022}", headers=admin)).json()
    assert (dewi["employment_type"], dewi["level"], dewi["leader_office"]) == ("PPPK", "JPT", None)
    rina = (await api.get(f"/v1/employees/{PPPK_2025}", headers=admin)).json()
    assert rina["nip"] == PPPK_2025 and rina["supervisor_nip"] == PNS_HEAD
    leaders = (await api.get("/v1/employees?org_unit=32.01", headers=admin)).json()["items"]
    assert sorted((item["employment_type"], item["leader_office"]) for item in leaders) == [
        ("PEJABAT_NEGARA", "KEPALA_DAERAH"),
        ("PNS", "SEKDA"),
    ]
    records = await read_topic(
        settings.kafka_bootstrap_servers, settings.topic("registry.employees"), lambda r: len(r) >= 5
    )
    offices = {
        event.data["employee"]["position"]: event.data["employee"]["leader_office"]
        for event in events_of(records)
    }
    assert offices["Bupati Bogor"] == "KEPALA_DAERAH" and offices["Sekretaris Daerah"] == "SEKDA"
    assert offices["Perawat Ahli Pertama"] is None
    assert all(BUPATI_NIK.encode() not in (record.value or b"") for record in records)


async def test_an_elected_head_and_then_a_pj_registered_through_the_api(
    api: httpx.AsyncClient, mint: Callable[..., str], settings: RegistrySettings
) -> None:
    admin = bearer(mint("bkpsdm"))
    bupati = {
        "name": "Rudy Susmanto",
        "employment_type": "PEJABAT_NEGARA",
        "position": "Bupati Bogor",
        "level": "REGIONAL_HEAD",
        "org_unit_code": "32.01",
        "leader_office": "KEPALA_DAERAH",
        "nik": BUPATI_NIK,
    }
    refused = await api.post("/v1/employees", json={**bupati, "nip": PJ_NIP}, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": None, "message": "pegawai PEJABAT_NEGARA tidak punya NIP; kosongkan kolom nip"}
    ]
    created = await api.post("/v1/employees", json=bupati, headers=admin)
    assert created.status_code == 201, created.text
    head = created.json()
    assert head["employee_id"].startswith("NA") and head["nip"] is None and head["has_nik"] is True
    assert head["leader_office"] == "KEPALA_DAERAH" and BUPATI_NIK not in created.text

    pj = {
        "nip": PJ_NIP,
        "name": "Iwan Setiawan",
        "employment_type": "PNS",
        "position": "Penjabat Bupati Bogor",
        "level": "REGIONAL_HEAD",
        "org_unit_code": "32.01",
        "leader_office": "PJ_KEPALA_DAERAH",
    }
    taken = await api.post("/v1/employees", json=pj, headers=admin)
    assert taken.status_code == 409
    assert head["employee_id"] in taken.json()["detail"]
    ended = await api.post(
        f"/v1/employees/{head['employee_id']}/deactivate",
        json={"reason": "TERM_ENDED", "note": "akhir masa jabatan"},
        headers=admin,
    )
    assert ended.status_code == 200, ended.text
    acting = await api.post("/v1/employees", json=pj, headers=admin)
    assert acting.status_code == 201, acting.text
    assert (acting.json()["employee_id"], acting.json()["leader_office"]) == (PJ_NIP, "PJ_KEPALA_DAERAH")
    as_elected = await api.post(
        "/v1/employees", json={**pj, "nip": SEKDA_NIP, "leader_office": "KEPALA_DAERAH"}, headers=admin
    )
    assert as_elected.status_code == 422
    assert "harus berjenis pegawai PEJABAT_NEGARA, bukan PNS" in as_elected.json()["errors"][0]["message"]

    records = await read_topic(
        settings.kafka_bootstrap_servers, settings.topic("registry.employees"), lambda r: len(r) >= 3
    )
    published: dict[str, list[tuple[str, str | None, str | None]]] = {}
    for event in events_of(records):  # the order holds per key only
        employee = event.data["employee"]
        published.setdefault(event.key, []).append((event.type, employee["nip"], employee["leader_office"]))
    assert published == {
        head["employee_id"]: [
            ("employee.registered.v1", None, "KEPALA_DAERAH"),
            ("employee.deactivated.v1", None, "KEPALA_DAERAH"),
        ],
        PJ_NIP: [("employee.registered.v1", PJ_NIP, "PJ_KEPALA_DAERAH")],
    }
    assert all(BUPATI_NIK.encode() not in (record.value or b"") for record in records)


async def test_the_demo_seed_imports_whole_with_its_leaders(
    api: httpx.AsyncClient, mint: Callable[..., str], tmp_path: Path
) -> None:
    # The seed's PPPK carry PPPK-layout numbers and each pemda an elected head and a Sekda: every
    # row must pass the registry as it is now, twice (the second run changes nothing).
    units, people = generate(400, seed=13)
    _, employees_csv = write_csv(tmp_path, units, people)
    admin = bearer(mint("bkpsdm"))
    made_by_the_fixture = {"32", "32.01", "32.01.001"}
    for unit in units:
        body = {"code": unit.code, "name": unit.name, "kind": unit.kind, "parent_code": unit.parent_code}
        created = await api.post("/v1/org-units", json=body, headers=admin)
        assert created.status_code == (409 if unit.code in made_by_the_fixture else 201), created.text
    first = await run_import(api, mint("bkpsdm"), employees_csv.read_bytes())
    assert (first["status"], first["imported"], first["failed"]) == ("completed", 400, 0), first["errors"][:3]
    again = await run_import(api, mint("bkpsdm"), employees_csv.read_bytes())
    assert (again["unchanged"], again["failed"]) == (400, 0), again["errors"][:3]
    leaders = (await api.get("/v1/employees?org_unit=32.01", headers=admin)).json()["items"]
    assert sorted(item["leader_office"] for item in leaders) == ["KEPALA_DAERAH", "SEKDA"]
    assert sum(1 for row in people if row.employment_type == "PPPK") > 20
