"""The browser tests' platform: the four services as processes on the shared engines, and the
small pemda they are given (through the registry's API only, as a BKPSDM would)."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from netral.devissuer import mint_token
from services.kit.settings import ServiceSettings
from tests.browser.browsing import slug

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / ".local" / "test-artifacts" / "browser"))
"""Screenshots of every page checked, phone and desktop (git-ignored, kept after the run)."""
READY_SECONDS = 60.0
SERVICES = ("registry", "signing", "reports", "notify")

UNITS = (
    {"code": "32", "name": "Provinsi Jawa Barat", "kind": "PROVINCE"},
    {"code": "32.01", "name": "Kabupaten Bogor", "kind": "REGENCY", "parent_code": "32"},
    {"code": "32.01.001", "name": "Dinas Pendidikan", "kind": "OPD", "parent_code": "32.01"},
    {"code": "32.01.002", "name": "Dinas Kesehatan", "kind": "OPD", "parent_code": "32.01"},
)
PEMDA = "32.01"


@dataclass(frozen=True)
class Person:
    nip: str
    name: str
    level: str
    unit: str


HEAD = Person("197502022000031002", "Ahmad Hidayat", "JPT", "32.01.001")
SARI = Person("198601012010012001", "Sari Dewi", "STAFF", "32.01.001")
BUDI = Person("198503152010011005", "Budi Santoso", "STAFF", "32.01.001")
SITI = Person("199003032015032003", "Siti Rahmawati", "STAFF", "32.01.001")
RUDI = Person("198704042011011004", "Rudi Hartono", "STAFF", "32.01.002")
DEWI = Person("198805052012012005", "Dewi Lestari", "STAFF", "32.01.002")
PEOPLE = (HEAD, SARI, BUDI, SITI, RUDI, DEWI)
PACT = (
    "Saya, Aparatur Sipil Negara, berjanji menjaga netralitas sebelum, selama, dan sesudah "
    "pemilihan; menghindari konflik kepentingan; bijak bermedia sosial; menolak politik uang."
)


@dataclass(frozen=True)
class Platform:
    """The four services of the browser tests, each on its own port and database."""

    urls: dict[str, str]
    databases: dict[str, str]
    mongodb_uri: str
    key_dir: Path

    @property
    def registry(self) -> str:
        return self.urls["registry"]

    @property
    def signing(self) -> str:
        return self.urls["signing"]

    @property
    def reports(self) -> str:
        return self.urls["reports"]

    @property
    def notify(self) -> str:
        return self.urls["notify"]

    def token(self, role: str, nip: str | None = None, org_unit: str | None = None) -> str:
        return mint_token(
            role, org_unit=org_unit, nip=nip, directory=self.key_dir, settings=ServiceSettings()
        )

    def bearer(self, role: str, nip: str | None = None, org_unit: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, nip, org_unit)}"}

    def open_campaign(self, title: str) -> str:
        """A campaign over the whole pemda, without a cascade (everyone may sign at once)."""
        code = f"pilkada-{uuid.uuid4().hex[:8]}"
        body = {
            "code": code,
            "title": title,
            "election": "Pilkada 2029",
            "deadline": (dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).isoformat(),
            "campaign_period_starts_on": (dt.date.today() + dt.timedelta(days=40)).isoformat(),
            "pact_text": PACT,
            "scope": [PEMDA],
            "cascade": "off",
        }
        created = httpx.post(
            f"{self.signing}/v1/campaigns", json=body, headers=self.bearer("bkpsdm"), timeout=30
        )
        assert created.status_code == 201, created.text
        return code

    def sign_by_api(self, campaign: str, person: Person) -> None:
        signed = httpx.post(
            f"{self.signing}/v1/campaigns/{campaign}/signatures",
            json={"mode": "online", "consent": True},
            headers=self.bearer("employee", nip=person.nip),
            timeout=30,
        )
        assert signed.status_code == 201, signed.text


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.2)


def load_pemda(platform: Platform) -> None:
    """Through the registry's API only: the other services learn the pemda from its events."""
    admin = platform.bearer("bkpsdm")
    with httpx.Client(timeout=30, headers=admin) as http:
        for unit in UNITS:
            response = http.post(f"{platform.registry}/v1/org-units", json=unit)
            assert response.status_code == 201, response.text
        for person in PEOPLE:
            body = {
                "nip": person.nip,
                "name": person.name,
                "employment_type": "PNS",
                "position": "Kepala Dinas" if person.level == "JPT" else "Analis",
                "level": person.level,
                "org_unit_code": person.unit,
                "email": f"{slug(person.name).replace('-', '.')}@bogorkab.go.id",
            }
            response = http.post(f"{platform.registry}/v1/employees", json=body)
            assert response.status_code == 201, response.text
    mongo: MongoClient[dict[str, Any]] = MongoClient(platform.mongodb_uri)
    try:

        def projected() -> bool:
            return all(
                mongo[platform.databases[service]][collection].count_documents({}) >= expected
                for service, collection, expected in (
                    ("signing", "employees", len(PEOPLE)),
                    ("signing", "org_units", len(UNITS)),
                    ("reports", "employees", len(PEOPLE)),
                    ("reports", "org_units", len(UNITS)),
                )
            )

        wait_for(projected, "signing and reports have the pemda")
    finally:
        mongo.close()
