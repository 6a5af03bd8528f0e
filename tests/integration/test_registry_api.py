"""The registry API in-process against real MongoDB and Kafka: roles, rules, events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from services.registry.main import build_app
from services.registry.settings import RegistrySettings
from tests.conftest import running_app
from tests.kafka_reader import events_of, read_topic

HEAD_NIP = "197003151995031001"
STAFF_NIP = "198503152010011002"
OTHER_NIP = "199001012015032003"


@pytest.fixture
def settings(settings_kwargs: dict[str, object]) -> RegistrySettings:
    return RegistrySettings(relay_poll_seconds=0.05, **settings_kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def api(settings: RegistrySettings, mint: Callable[..., str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(build_app(settings)) as client:
        admin = {"Authorization": f"Bearer {mint('bkpsdm')}"}
        for unit in (
            {"code": "32", "name": "Provinsi Jawa Barat", "kind": "PROVINCE"},
            {"code": "32.01", "name": "Kabupaten Bogor", "kind": "REGENCY", "parent_code": "32"},
            {"code": "32.01.001", "name": "Dinas Pendidikan", "kind": "OPD", "parent_code": "32.01"},
            {"code": "32.01.001.01", "name": "Sekretariat", "kind": "SUB_UNIT", "parent_code": "32.01.001"},
            {"code": "32.01.002", "name": "Dinas Kesehatan", "kind": "OPD", "parent_code": "32.01"},
        ):
            response = await client.post("/v1/org-units", json=unit, headers=admin)
            assert response.status_code == 201, response.text
        yield client


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
        "phone": "+6281234567890",
    }
    body.update(changes)
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_employee_lifecycle_publishes_every_change(
    api: httpx.AsyncClient, mint: Callable[..., str], settings: RegistrySettings
) -> None:
    admin = bearer(mint("bkpsdm"))
    created = await api.post("/v1/employees", json=employee(), headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["org_unit_path"] == ["32", "32.01", "32.01.001"]

    duplicate = await api.post("/v1/employees", json=employee(), headers=admin)
    assert duplicate.status_code == 409
    assert STAFF_NIP in duplicate.json()["detail"]

    patched = await api.patch(
        f"/v1/employees/{STAFF_NIP}", json={"position": "Guru Ahli Muda"}, headers=admin
    )
    assert patched.status_code == 200 and patched.json()["changed"] == ["position"]
    same = await api.patch(f"/v1/employees/{STAFF_NIP}", json={"position": "Guru Ahli Muda"}, headers=admin)
    assert same.json()["changed"] == []  # no change, no event

    moved = await api.post(
        f"/v1/employees/{STAFF_NIP}/transfer",
        json={"to_org_unit_code": "32.01.002", "reason": "mutasi SK Bupati 821/123"},
        headers=admin,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["org_unit_code"] == "32.01.002"

    gone = await api.post(
        f"/v1/employees/{STAFF_NIP}/deactivate", json={"reason": "RETIRED", "note": "BUP"}, headers=admin
    )
    assert gone.status_code == 200 and gone.json()["active"] is False
    again = await api.post(f"/v1/employees/{STAFF_NIP}/deactivate", json={"reason": "RETIRED"}, headers=admin)
    assert again.status_code == 409

    detail = await api.get(f"/v1/employees/{STAFF_NIP}", headers=admin)
    assert [entry["action"] for entry in detail.json()["history"]] == ["update", "transfer", "deactivate"]

    records = await read_topic(
        settings.kafka_bootstrap_servers, settings.topic("registry.employees"), lambda r: len(r) >= 4
    )
    events = events_of(records)
    assert [event.type for event in events] == [
        "employee.registered.v1",
        "employee.updated.v1",
        "employee.transferred.v1",
        "employee.deactivated.v1",
    ]
    assert {event.key for event in events} == {STAFF_NIP}
    assert [event.data["employee"]["version"] for event in events] == [1, 2, 3, 4]
    assert events[2].data["from_org_unit_code"] == "32.01.001.01"
    renamed = await api.patch(
        "/v1/org-units/32.01.002", json={"name": "Dinas Kesehatan Kab. Bogor"}, headers=admin
    )
    assert renamed.status_code == 200 and renamed.json()["version"] == 2
    units = events_of(
        await read_topic(
            settings.kafka_bootstrap_servers, settings.topic("registry.org-units"), lambda r: len(r) >= 6
        )
    )
    assert len({event.key for event in units}) == 5
    renames = [event for event in units if event.key == "32.01.002"]  # order holds per key only
    assert [event.type for event in renames] == ["org_unit.created.v1", "org_unit.updated.v1"]
    assert renames[1].data["changed"] == ["name"]


async def test_non_asn_nik_is_protected_and_never_published(
    api: httpx.AsyncClient, mint: Callable[..., str], settings: RegistrySettings
) -> None:
    nik = "3201015503850001"
    admin = bearer(mint("bkpsdm"))
    body = employee(None, employment_type="NON_ASN", nik=nik, supervisor_nip=None)
    created = await api.post("/v1/employees", json=body, headers=admin)
    assert created.status_code == 201, created.text
    view = created.json()
    assert view["employee_id"].startswith("NA") and view["nip"] is None
    assert view["has_nik"] is True and nik not in created.text
    assert (await api.post("/v1/employees", json=body, headers=admin)).status_code == 409
    records = await read_topic(
        settings.kafka_bootstrap_servers, settings.topic("registry.employees"), lambda r: len(r) >= 1
    )
    assert all(nik.encode() not in (record.value or b"") for record in records)


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        (employee("198513152010011001"), "nip", "digit 1–8"),
        (employee("19850315201001100"), "nip", "18 digit"),
        (
            employee("198403152022212001", level="SUPERVISOR", employment_type="PPPK"),
            "",
            "hanya boleh berlevel JPT atau STAFF",
        ),
        (employee(email="bukan-email"), "email", "email"),
        (employee(org_unit_code="99.99"), "org_unit_code", "tidak ditemukan"),
        (employee(level="REGIONAL_HEAD", leader_office="SEKDA"), "org_unit_code", "REGIONAL_HEAD"),
        (employee(None, employment_type="NON_ASN"), "", "NIK"),
    ],
    ids=["birth-date", "length", "pppk-level", "email", "unknown-unit", "head-in-subunit", "non-asn-nik"],
)
async def test_invalid_employee_gets_a_readable_422(
    api: httpx.AsyncClient, mint: Callable[..., str], body: dict[str, object], field: str, fragment: str
) -> None:
    response = await api.post("/v1/employees", json=body, headers=bearer(mint("bkpsdm")))
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(fragment in error["message"] and (not field or error["field"] == field) for error in errors), (
        errors
    )


async def test_each_role_on_each_endpoint(api: httpx.AsyncClient, mint: Callable[..., str]) -> None:
    admin = bearer(mint("bkpsdm"))
    assert (await api.post("/v1/employees", json=employee(), headers=admin)).status_code == 201
    other = employee(OTHER_NIP, org_unit_code="32.01.002", supervisor_nip=None)
    assert (await api.post("/v1/employees", json=other, headers=admin)).status_code == 201

    tokens = {
        "bkpsdm": mint("bkpsdm"),
        "bkpsdm_of_other_pemda": mint("bkpsdm", org_unit="32.02"),
        "opd_admin": mint("opd_admin", org_unit="32.01.001"),
        "opd_admin_elsewhere": mint("opd_admin", org_unit="32.01.002"),
        "ppk": mint("ppk"),
        "inspektorat": mint("inspektorat"),
        "bawaslu": mint("bawaslu"),
        "bkn": mint("bkn"),
        "agency": mint("agency"),
        "employee_self": mint("employee", nip=STAFF_NIP),
        "employee_other": mint("employee", nip=OTHER_NIP),
    }
    readers = {"bkpsdm", "opd_admin", "ppk", "inspektorat", "bkn", "employee_self"}
    writers = {"bkpsdm", "opd_admin"}
    listers = {"bkpsdm", "opd_admin", "ppk", "inspektorat", "bkn"}
    unit_creators = {"bkpsdm"}
    for name, token in tokens.items():
        headers = bearer(token)
        got = await api.get(f"/v1/employees/{STAFF_NIP}", headers=headers)
        assert got.status_code == (200 if name in readers else 403), (name, got.text)
        listed = await api.get("/v1/employees?org_unit=32.01.001&include_descendants=true", headers=headers)
        assert listed.status_code == (200 if name in listers else 403), (name, listed.text)
        patched = await api.patch(
            f"/v1/employees/{STAFF_NIP}", json={"phone": "+62811000111"}, headers=headers
        )
        assert patched.status_code == (200 if name in writers else 403), (name, patched.text)
        unit = await api.post(
            "/v1/org-units",
            json={
                "code": f"32.01.9{len(name):02d}",
                "name": f"Unit {name}",
                "kind": "OPD",
                "parent_code": "32.01",
            },
            headers=headers,
        )
        assert unit.status_code in ((201, 409) if name in unit_creators else (403,)), (name, unit.text)
        tree = await api.get("/v1/org-units/32.01", headers=headers)
        assert tree.status_code == 200, name  # the org tree is not personal data
        upload = await api.post(
            "/v1/imports", files={"file": ("e.csv", b"nip,name\n", "text/csv")}, headers=headers
        )
        may_import = name.startswith(("bkpsdm", "opd_admin"))  # a role check; rows are scoped later
        assert upload.status_code == (422 if may_import else 403), (name, upload.text)

    assert (await api.get(f"/v1/employees/{STAFF_NIP}")).status_code == 401
    assert (await api.get(f"/v1/employees/{STAFF_NIP}", headers=bearer("not.a.jwt"))).status_code == 401
    forged = mint("bkpsdm")[:-4] + "AAAA"
    assert (await api.get(f"/v1/employees/{STAFF_NIP}", headers=bearer(forged))).status_code == 401
    listed = await api.get(
        "/v1/employees?org_unit=32.01&include_descendants=true", headers=bearer(tokens["opd_admin"])
    )
    assert listed.status_code == 403  # the pemda is above an OPD admin's unit


async def test_list_is_paginated_and_scoped(api: httpx.AsyncClient, mint: Callable[..., str]) -> None:
    admin = bearer(mint("bkpsdm"))
    nips = [f"1985031520100110{i:02d}" for i in range(1, 8)]
    for nip in nips:
        assert (await api.post("/v1/employees", json=employee(nip), headers=admin)).status_code == 201
    first = (
        await api.get("/v1/employees?org_unit=32.01&include_descendants=true&page_size=3", headers=admin)
    ).json()
    assert first["total"] == 7 and first["pages"] == 3 and len(first["items"]) == 3
    last = (
        await api.get(
            "/v1/employees?org_unit=32.01&include_descendants=true&page_size=3&page=3", headers=admin
        )
    ).json()
    assert [item["nip"] for item in last["items"]] == nips[6:]
    direct = (await api.get("/v1/employees?org_unit=32.01", headers=admin)).json()
    assert direct["total"] == 0  # nobody works at the pemda unit itself


async def test_health_readiness_metrics_and_asyncapi(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True, "mongodb": "ok", "kafka": "ok"}
    metrics = (await api.get("/metrics")).text
    assert "netral_outbox_oldest_pending_seconds" in metrics
    assert "netral_outbox_published_events_total" in metrics
    spec = (await api.get("/asyncapi.json")).json()
    assert set(spec["channels"]) == {
        "org_unit.created.v1",
        "org_unit.updated.v1",
        "employee.registered.v1",
        "employee.updated.v1",
        "employee.transferred.v1",
        "employee.deactivated.v1",
    }


async def test_a_page_beyond_any_list_is_a_readable_422_not_a_server_error(
    api: httpx.AsyncClient, mint: Callable[..., str]
) -> None:
    admin = {"Authorization": f"Bearer {mint('bkpsdm')}"}
    huge = "200000000000000000"
    for path in (f"/v1/employees?org_unit=32.01&page={huge}", f"/v1/imports/x?errors_page={huge}"):
        response = await api.get(path, headers=admin)
        assert response.status_code == 422, (path, response.text)
        body = response.json()
        assert body["detail"] == "data tidak valid"
        assert [error["field"] for error in body["errors"]] == [
            path.rsplit("?", 1)[1].split("&")[-1].split("=")[0]
        ]
    last = await api.get("/v1/employees?org_unit=32.01&page=1000000", headers=admin)
    assert last.status_code == 200 and last.json()["items"] == []
