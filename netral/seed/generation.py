"""A whole synthetic province: the org tree and exactly the requested number of employees."""

from __future__ import annotations

import datetime as dt
import random

from netral.seed.people import People
from netral.seed.plan import Opd, Pemda, Sub, plan, unit_rows
from netral.seed.positions import HEALTH_LEADER_DEGREES, LEADER_DEGREES, MANAGER_DEGREES, POOLS
from netral.seed.rows import EmployeeRow, OrgUnitRow

HEAD_TITLE = {"PROVINCE": "Gubernur", "REGENCY": "Bupati", "CITY": "Wali Kota"}


def generate(
    employees: int,
    seed: int = 2024,
    province_code: str = "32",
    today: dt.date | None = None,
) -> tuple[list[OrgUnitRow], list[EmployeeRow]]:
    """A province with kabupaten/kota, OPDs and sub-units, and exactly `employees` people.

    Rows come leaders first, tier by tier (Sekda, the elected regional head, OPD heads, sub-unit
    heads, supervisors, staff), so every supervisor_nip points at an earlier row and a small
    `employees` simply keeps the top of the hierarchy.
    """
    if employees < 0:
        raise ValueError("employees must not be negative")
    if len(province_code) != 2 or not province_code.isdigit():
        raise ValueError("province_code must be two digits, e.g. '32'")
    today = today or dt.date.today()
    rng = random.Random(seed)
    pemdas = plan(employees, province_code, rng)
    units = unit_rows(pemdas, province_code)
    people = People(rng, today, province_code)
    rows: list[EmployeeRow] = []

    def add(
        unit: str,
        position: str,
        level: str,
        supervisor: str,
        region: str,
        prefix: str = "",
        degrees: tuple[str, ...] = MANAGER_DEGREES,
        leader_office: str = "",
    ) -> str:
        nip, name, email, phone, _ = people.person("PNS", level, prefix, degrees, region, leader=True)
        row = EmployeeRow(
            nip, name, "PNS", position, level, unit, supervisor, email, phone, "", leader_office
        )
        rows.append(row)
        return nip

    def leader_degrees(opd: Opd) -> tuple[str, tuple[str, ...]]:
        if opd.spec.pool == "kesehatan":
            return "dr.", HEALTH_LEADER_DEGREES
        return "", LEADER_DEGREES

    for pemda in pemdas:
        if len(rows) == employees:
            return units, rows
        position = f"Sekretaris Daerah {pemda.label}"
        pemda.sekda_nip = add(
            pemda.code,
            position,
            "REGIONAL_HEAD",
            "",
            pemda.nik_region,
            degrees=LEADER_DEGREES,
            leader_office="SEKDA",
        )
    # The elected head of each pemda: a state official with no NIP, registered by NIK. After the
    # Sekda tier, so that the smallest demo keeps a leader who signs (and has a NIP).
    for pemda in pemdas:
        if len(rows) == employees:
            return units, rows
        title = f"{HEAD_TITLE[pemda.kind]} {pemda.label.split(' ', 1)[1]}"
        _, name, email, phone, nik = people.person(
            "PEJABAT_NEGARA", "PEJABAT_NEGARA", "", LEADER_DEGREES, pemda.nik_region, leader=True
        )
        rows.append(
            EmployeeRow(
                "",
                name,
                "PEJABAT_NEGARA",
                title,
                "REGIONAL_HEAD",
                pemda.code,
                "",
                email,
                phone,
                nik,
                "KEPALA_DAERAH",
            )
        )
    for pemda in pemdas:
        for opd in pemda.opds:
            if len(rows) == employees:
                return units, rows
            prefix, degrees = leader_degrees(opd)
            position = opd.spec.head or f"Kepala {opd.spec.name}"
            opd.head_nip = add(opd.code, position, "JPT", pemda.sekda_nip, pemda.nik_region, prefix, degrees)
    for pemda in pemdas:
        for opd in pemda.opds:
            for sub in opd.subs:
                if len(rows) == employees:
                    return units, rows
                sub.admin_nip = add(
                    sub.code, sub.head_position, "ADMINISTRATOR", opd.head_nip, pemda.nik_region
                )
    for pemda in pemdas:
        for opd in pemda.opds:
            for sub in opd.subs:
                for position in sub.supervisor_positions:
                    if len(rows) == employees:
                        return units, rows
                    sub.supervisor_nips.append(
                        add(sub.code, position, "SUPERVISOR", sub.admin_nip, pemda.nik_region)
                    )

    _add_staff(rows, employees - len(rows), pemdas, people, rng)
    return units, rows


def _add_staff(
    rows: list[EmployeeRow], count: int, pemdas: list[Pemda], people: People, rng: random.Random
) -> None:
    placements: list[tuple[Pemda, Opd, Sub]] = [
        (pemda, opd, sub) for pemda in pemdas for opd in pemda.opds for sub in opd.subs
    ]
    if count <= 0 or not placements:
        return
    cumulative: list[float] = []
    running = 0.0
    for _, _, sub in placements:
        running += sub.weight
        cumulative.append(running)
    rand = rng.random
    append = rows.append
    person = people.person
    for slot in rng.choices(range(len(placements)), cum_weights=cumulative, k=count):
        pemda, opd, sub = placements[slot]
        pool = POOLS[opd.spec.pool]
        mix = rand()
        if mix < 0.7:
            kind, posts = "PNS", pool.pns
        elif mix < 0.9:
            kind, posts = "PPPK", pool.pppk
        else:
            kind, posts = "NON_ASN", pool.non_asn
        position, prefix, degrees = posts[int(rand() * len(posts))]
        supervisors = sub.supervisor_nips
        supervisor = supervisors[int(rand() * len(supervisors))]
        nip, name, email, phone, nik = person(kind, kind, prefix, degrees, pemda.nik_region)
        append(EmployeeRow(nip, name, kind, position, "STAFF", sub.code, supervisor, email, phone, nik))
