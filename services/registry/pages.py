"""The registry's own pages from the web kit: the start page `/`, which links to every page of
every service, and who the DEV-ONLY sign-in page lists (the demo pemda's people, by role)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from contracts.roles import Role
from services.kit.identity import Principal
from services.kit.mongo import Document
from services.registry.usecases import RegistryUseCases
from services.webkit import DevGroup, DevPerson, PagesDep, optional_page_principal, page_router

router = page_router()

# The DEV-ONLY list stays a page, not a dump: enough people per unit to try every journey.
DEV_UNITS_SHOWN = 40
DEV_EMPLOYEES_PER_UNIT = 6
DEV_CANDIDATES_PER_UNIT = 200
"""Read per unit to pick its leaders first (the registry lists by id, not by level)."""
LEVEL_ORDER = {"REGIONAL_HEAD": 0, "JPT": 1, "ADMINISTRATOR": 2, "SUPERVISOR": 3, "STAFF": 4}
PLATFORM_ROLES = (
    (Role.BKPSDM, "BKPSDM seluruh platform", "melihat semua pemda (seperti token demo `make up`)"),
    (Role.BAWASLU, "Bawaslu", "menerima dan menangani laporan pelanggaran"),
    (Role.BKN, "BKN", "mengawasi penanganan kasus"),
    (Role.GUBERNUR, "Gubernur", "memeriksa dan memutus kasus Sekda kabupaten/kota"),
    (Role.KEMENDAGRI, "Kemendagri", "memeriksa dan memutus kasus Sekda provinsi"),
    (Role.AGENCY, "Instansi mitra", "membaca langganan lewat topik publik (hanya baca)"),
)
PEMDA_ROLES = (
    (Role.BKPSDM, "BKPSDM", "kemajuan penandatanganan, impor pegawai, antrean kasus"),
    (Role.PPK, "PPK", "memutus kasus pegawai pemda"),
    (Role.INSPEKTORAT, "Inspektorat", "memeriksa kasus"),
)
OPD_ROLES = (
    (Role.OPD_ADMIN, "Admin OPD", "kemajuan OPD, tanda tangan seremonial"),
    (Role.KEPALA_OPD, "Kepala OPD", "memutus kasus pegawai non-ASN"),
)
PEMDA_KINDS = frozenset({"PROVINCE", "REGENCY", "CITY"})


@dataclass(frozen=True)
class StartLink:
    title: str
    url: str
    explanation: str
    roles: frozenset[Role] = frozenset()
    """Who it is for (empty: everyone, no sign-in); the page itself checks."""


@dataclass(frozen=True)
class StartSection:
    title: str
    links: list[StartLink]


def start_sections(request: Request) -> list[StartSection]:
    links = request.app.state.pages.settings.web_links
    handlers = frozenset(
        {Role.BKPSDM, Role.BKN, Role.BAWASLU, Role.INSPEKTORAT, Role.PPK}
        | {Role.KEPALA_OPD, Role.GUBERNUR, Role.KEMENDAGRI}
    )
    admins = frozenset({Role.BKPSDM, Role.OPD_ADMIN})
    return [
        StartSection(
            "Untuk semua orang, tanpa akun",
            [
                StartLink(
                    "Laporkan pelanggaran netralitas",
                    f"{links.reports}/lapor",
                    "Laporkan ASN yang tidak netral. Identitas Anda dilindungi; kontak tidak wajib.",
                ),
                StartLink(
                    "Lacak laporan",
                    f"{links.reports}/lacak",
                    "Lihat perkembangan laporan Anda dengan kode lacak, dan tambahkan informasi.",
                ),
                StartLink(
                    "Periksa tanda terima",
                    f"{links.signing}/verifikasi",
                    "Pastikan tanda terima penandatanganan pakta integritas itu asli.",
                ),
            ],
        ),
        StartSection(
            "Pegawai",
            [
                StartLink(
                    "Tanda tangani pakta integritas",
                    f"{links.signing}/tanda-tangan",
                    "Baca pakta integritas, setujui, dan dapatkan tanda terima.",
                    frozenset({Role.EMPLOYEE}),
                ),
            ],
        ),
        StartSection(
            "BKPSDM dan admin OPD",
            [
                StartLink(
                    "Kemajuan penandatanganan",
                    f"{links.signing}/kemajuan",
                    "Berapa yang sudah menandatangani, per unit, langsung diperbarui; siapa yang belum.",
                    admins,
                ),
                StartLink(
                    "Impor data pegawai",
                    f"{links.registry}/impor",
                    "Unggah berkas CSV pegawai, pantau prosesnya, dan lihat baris yang salah.",
                    admins,
                ),
            ],
        ),
        StartSection(
            "Penanganan kasus",
            [
                StartLink(
                    "Antrean kasus",
                    f"{links.reports}/kasus",
                    "Kasus menurut status, tenggat dalam hari kerja, dan unit.",
                    handlers,
                ),
            ],
        ),
        StartSection(
            "Instansi mitra dan operasional",
            [
                StartLink(
                    "Langganan notifikasi",
                    f"{links.notify}/langganan",
                    "Buat dan hapus langganan webhook instansi mitra; kirim ulang event.",
                    frozenset({Role.BKPSDM}),
                ),
                StartLink(
                    "Log pengiriman",
                    f"{links.notify}/pengiriman",
                    "Notifikasi yang terkirim dan yang gagal.",
                    frozenset({Role.BKPSDM, Role.BKN, Role.INSPEKTORAT}),
                ),
            ],
        ),
    ]


@router.get("/")
async def start_page(
    request: Request,
    pages: PagesDep,
    principal: Annotated[Principal | None, Depends(optional_page_principal())],
) -> Response:
    return pages.render(request, "start.html", {"sections": start_sections(request)})


# ------------------------------------------------------------ DEV-ONLY sign-in list

# Who is listed; never used outside DEV_MODE (the kit registers the DEV page only there).
DEV_READER = Principal(subject="dev-sign-in", role=Role.BKPSDM, org_unit=None, nip=None)


def _employee_person(employee: Document, unit_name: str) -> DevPerson:
    office = employee.get("leader_office")
    detail = f"{employee.get('position') or ''} · {unit_name} · {employee['level']}"
    if office:
        detail = f"{office} · {detail}"
    claims = {"sub": f"dev:{employee['_id']}", "role": Role.EMPLOYEE.value, "employee_id": employee["_id"]}
    if employee.get("nip"):
        claims["nip"] = employee["nip"]
    claims["name"] = employee["name"]
    return DevPerson(f"{employee['name']} ({employee.get('nip') or employee['_id']})", detail, claims)


def _staff_person(role: Role, title: str, what: str, unit: Document | None) -> DevPerson:
    if unit is None:
        claims = {"sub": f"dev:{role.value}", "role": role.value, "reach": "platform", "name": title}
        return DevPerson(title, what, claims)
    name = f"{title} {unit['name']}"
    claims = {
        "sub": f"dev:{role.value}:{unit['_id']}",
        "role": role.value,
        "org_unit": unit["_id"],
        "name": name,
    }
    return DevPerson(name, f"{what} · unit {unit['_id']}", claims)


async def dev_directory(request: Request) -> list[DevGroup]:
    """The demo pemda's people by role, read through the registry's use cases (the roots
    straight from the store: no use case lists them, and only this DEV-ONLY page needs it)."""
    registry: RegistryUseCases = request.app.state.registry
    roots = await registry.store.units.find({"parent_code": None}, sort=[("_id", 1)]).to_list(10)
    pemdas: list[Document] = []
    opds: list[Document] = []
    for root in roots:
        _, children = await registry.org_unit(DEV_READER, root["_id"])
        pemdas += [root, *(child for child in children if child["kind"] in PEMDA_KINDS)]
        opds += [child for child in children if child["kind"] == "OPD"]
    for pemda in pemdas[len(roots) :]:
        _, children = await registry.org_unit(DEV_READER, pemda["_id"])
        opds += [child for child in children if child["kind"] == "OPD"]
    opds = opds[:DEV_UNITS_SHOWN]

    employees = DevGroup(
        "Pegawai",
        "Menandatangani pakta integritas dan melihat tanda terimanya. Pimpinan lebih dulu: dalam "
        "kaskade ketat, pegawai menunggu atasannya.",
    )
    for unit in [*pemdas, *opds]:
        # A pemda's own unit holds its leaders; an OPD's people are mostly in its sub-units.
        people, _ = await registry.list_employees(
            DEV_READER, unit["_id"], unit["kind"] == "OPD", True, 1, DEV_CANDIDATES_PER_UNIT
        )
        people.sort(key=lambda person: LEVEL_ORDER.get(person["level"], len(LEVEL_ORDER)))
        employees.people += [
            _employee_person(person, unit["name"]) for person in people[:DEV_EMPLOYEES_PER_UNIT]
        ]
    pemda_staff = DevGroup("Staf pemda", "Bertindak atas seluruh satu pemda.")
    for pemda in pemdas:
        pemda_staff.people += [_staff_person(role, title, what, pemda) for role, title, what in PEMDA_ROLES]
    opd_staff = DevGroup("Staf OPD", "Bertindak atas satu OPD beserta sub-unitnya.")
    for opd in opds:
        opd_staff.people += [_staff_person(role, title, what, opd) for role, title, what in OPD_ROLES]
    platform = DevGroup("Seluruh platform", "Tanpa batas unit.")
    platform.people += [_staff_person(role, title, what, None) for role, title, what in PLATFORM_ROLES]
    return [group for group in (employees, pemda_staff, opd_staff, platform) if group.people]
