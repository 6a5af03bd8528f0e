"""The org tree of a synthetic province, planned before anyone is placed in it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from netral.seed.organisation import OPDS, PROVINCE_NAMES, REGIONS, SPLIT_SUFFIXES, OpdSpec
from netral.seed.rows import OrgUnitRow

# Employees per kabupaten/kota; 500k employees gives the 27 real ones.
EMPLOYEES_PER_REGION = 18_500
# Employees per OPD when deciding how many OPDs a pemda runs.
EMPLOYEES_PER_OPD = 500
# Staff per sub-unit when deciding how many sub-units an OPD has; even a small dinas keeps
# its secretariat and bidang, so this is low and the OPD's list of names is the real cap.
STAFF_PER_SUB_UNIT = 30

_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV")


@dataclass
class Sub:
    code: str
    name: str
    head_position: str
    supervisor_positions: tuple[str, ...]
    weight: float
    admin_nip: str = ""
    supervisor_nips: list[str] = field(default_factory=list)


@dataclass
class Opd:
    code: str
    spec: OpdSpec
    subs: list[Sub]
    head_nip: str = ""


@dataclass
class Pemda:
    code: str
    kind: str
    label: str  # "Provinsi Jawa Barat", "Kabupaten Bogor"
    nik_region: str  # first 4 NIK digits: province + kabupaten/kota
    opds: list[Opd] = field(default_factory=list)
    sekda_nip: str = ""


def _roman(n: int) -> str:
    return _ROMAN[n - 1] if n <= len(_ROMAN) else str(n)


def _sub_positions(name: str, opd: OpdSpec) -> tuple[str, tuple[str, ...]]:
    """The ADMINISTRATOR post heading a sub-unit and its (at most two) SUPERVISOR posts."""
    first, _, topic = name.partition(" ")
    if first == "Sekretariat":
        return f"Sekretaris {opd.name}", (
            "Kepala Subbagian Umum dan Kepegawaian",
            "Kepala Subbagian Keuangan dan Aset",
        )
    if name.startswith("Inspektorat Pembantu"):
        return name.replace("Inspektorat", "Inspektur", 1), (
            f"Kepala Subbagian Tata Usaha {name}",
            f"Kepala Subbagian Evaluasi dan Pelaporan {name}",
        )
    if first in ("Bagian", "Biro"):
        return f"Kepala {name}", (f"Kepala Subbagian {topic}", f"Kepala Subbagian Evaluasi {topic}")
    if first == "Bidang":
        return f"Kepala {name}", (f"Kepala Seksi {topic}", f"Kepala Seksi Evaluasi dan Pelaporan {topic}")
    return f"Kepala {name}", (f"Kepala Subbagian Tata Usaha {name}", f"Kepala Seksi Pelayanan {name}")


def plan(employees: int, province_code: str, rng: random.Random) -> list[Pemda]:
    province_name = PROVINCE_NAMES.get(province_code, f"Provinsi {province_code}")
    pemdas = [Pemda(province_code, "PROVINCE", f"Provinsi {province_name}", "")]
    for index in range(max(1, employees // EMPLOYEES_PER_REGION)):
        code, kind, name = REGIONS[index % len(REGIONS)]
        cycle = index // len(REGIONS)
        region_code = code
        if cycle:
            suffix = SPLIT_SUFFIXES[cycle - 1] if cycle <= len(SPLIT_SUFFIXES) else str(cycle + 1)
            name = f"{name} {suffix}"
            # Real codes stop at 18 (kabupaten) and 79 (kota), so 100+ cannot clash with them.
            region_code = str(100 + index - len(REGIONS))
        label = f"{'Kabupaten' if kind == 'REGENCY' else 'Kota'} {name}"
        pemdas.append(Pemda(f"{province_code}.{region_code}", kind, label, province_code + code))

    per_pemda = employees / len(pemdas)
    specs = OPDS[: max(1, min(len(OPDS), int(per_pemda // EMPLOYEES_PER_OPD)))]
    total_weight = sum(spec.weight for spec in specs)
    for pemda in pemdas:
        at_province = pemda.kind == "PROVINCE"
        for opd_index, spec in enumerate(specs, start=1):
            opd_code = f"{pemda.code}.{opd_index:03d}"
            divisions = spec.province_divisions if at_province and spec.province_divisions else spec.divisions
            if at_province:
                divisions = tuple(
                    "Biro " + d.removeprefix("Bagian ") if spec.name == "Sekretariat Daerah" else d
                    for d in divisions
                )
            names = (("Sekretariat",) if spec.secretariat else ()) + divisions
            outpost = spec.outposts[0 if at_province else 1]
            names += tuple(outpost.format(_roman(i)) for i in range(1, spec.max_outposts + 1))
            expected_staff = per_pemda * spec.weight / total_weight
            count = max(1, min(len(names), round(expected_staff / STAFF_PER_SUB_UNIT)))
            subs = []
            for sub_index, name in enumerate(names[:count], start=1):
                head, supervisors = _sub_positions(name, spec)
                # Most sub-units keep two echelon-IV posts; some were merged after the 2021
                # delayering, which leaves one.
                kept = supervisors if rng.random() < 0.6 else supervisors[:1]
                subs.append(Sub(f"{opd_code}.{sub_index:02d}", name, head, kept, spec.weight / count))
            pemda.opds.append(Opd(opd_code, spec, subs))
    return pemdas


def unit_rows(pemdas: list[Pemda], province_code: str) -> list[OrgUnitRow]:
    province, regions = pemdas[0], pemdas[1:]
    rows = [OrgUnitRow(province.code, f"Pemerintah {province.label}", "PROVINCE", None)]
    rows += [OrgUnitRow(p.code, f"Pemerintah {p.label}", p.kind, province_code) for p in regions]
    rows += [OrgUnitRow(o.code, o.spec.name, "OPD", p.code) for p in pemdas for o in p.opds]
    rows += [OrgUnitRow(s.code, s.name, "SUB_UNIT", o.code) for p in pemdas for o in p.opds for s in o.subs]
    return rows
