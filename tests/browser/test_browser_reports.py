"""In the browser: a citizen reports with a file and tracks the report (journey 3); a handler
verifies a case with a reason, and the citizen sees that reason (journey 4)."""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import FilePayload, expect

from tests.browser.browser_platform import BUDI, SITI, Platform
from tests.browser.browsing import DESKTOP, PHONE, Tab, choose_on_sign_in

TRACKING_CODE = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4})+$")
DESCRIPTION = (
    "Terlapor mengunggah ajakan memilih pasangan calon nomor 2 di akun media sosial pribadinya "
    "dan membagikannya ke grup kantor Dinas Pendidikan."
)
VERIFY_REASON = "Unggahan terverifikasi oleh satuan tugas netralitas; laporan diteruskan ke Bawaslu."

pytestmark = pytest.mark.timeout(180)
"""A hung browser call fails its test in minutes, not at the suite's 10-minute bound."""


def small_png() -> bytes:
    """A real 2×2 PNG (the reports service checks the file's magic bytes, not its name)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\xc0\x20\x20" * 2 for _ in range(2)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def track(tab: Tab, platform: Platform, code: str, name: str) -> None:
    """The public tracking page: the code goes in the form's body, never in a URL."""
    page = tab.page
    tab.open(f"{platform.reports}/lacak", f"{name}: formulir lacak")
    page.get_by_label("Kode pelacakan").fill(code)
    page.get_by_role("button", name="Lihat perkembangan").click()
    expect(page.get_by_role("heading", name="Perkembangan laporan Anda")).to_be_visible()
    assert code not in page.url
    tab.check(f"{name}: perkembangan")


def test_a_citizen_reports_with_a_file_and_tracks_it(
    platform: Platform, open_tab: Callable[..., Tab]
) -> None:
    tab = open_tab("warga", viewport=PHONE, has_touch=True)
    page = tab.page
    tab.open(f"{platform.reports}/lapor", "formulir laporan")

    page.get_by_label("Sosialisasi atau kampanye melalui media sosial untuk calon").check()
    accused = page.get_by_role("group", name="Terlapor 1")
    accused.get_by_label("Nama", exact=True).fill(BUDI.name)
    # The unit picker searches the reports service's own units as the citizen types.
    unit = accused.get_by_label("Unit kerja (nama atau kode)")
    unit.press_sequentially("Pendidikan", delay=20)
    expect(page.locator("datalist option[value='32.01.001']")).to_have_count(1, timeout=10_000)
    unit.fill("32.01.001")
    page.get_by_label("Tanggal kejadian").fill((dt.date.today() - dt.timedelta(days=2)).isoformat())
    page.get_by_label("Tempat kejadian").fill("Akun Instagram pribadi terlapor")
    page.get_by_label("Ceritakan kejadiannya").fill(DESCRIPTION)
    evidence: FilePayload = {"name": "tangkapan-layar.png", "mimeType": "image/png", "buffer": small_png()}
    page.get_by_label("Berkas bukti").set_input_files(evidence)
    tab.check("formulir laporan terisi")
    page.get_by_role("button", name="Kirim laporan").click()

    expect(page.get_by_role("heading", name="Laporan Anda sudah kami terima")).to_be_visible()
    tab.check("laporan diterima")
    code = page.locator("#kode-pelacakan").inner_text().strip()
    assert TRACKING_CODE.match(code), code
    assert code not in page.url  # shown once, on the answer itself
    expect(page.get_by_text("1 berkas bukti tersimpan")).to_be_visible()
    expect(page.get_by_text("Kode ini hanya ditampilkan sekali")).to_be_visible()

    # Later, in another browser (nothing kept but the code on paper): the report's status.
    later = open_tab("warga-kemudian", viewport=PHONE)
    track(later, platform, code, "warga melacak")
    expect(later.page.locator("#status")).to_have_text(re.compile(r"\S"))
    expect(later.page.locator("#riwayat li")).to_have_count(1)


def test_a_handler_verifies_and_the_citizen_sees_the_reason(
    platform: Platform, open_tab: Callable[..., Tab]
) -> None:
    # A report filed anonymously (through the public JSON intake: journey 3 covers the form).
    filed = httpx.post(
        f"{platform.reports}/v1/reports",
        json={
            "category": "kampanye_media_sosial",
            "description": DESCRIPTION.replace("nomor 2", "nomor 3"),
            "incident_date": (dt.date.today() - dt.timedelta(days=1)).isoformat(),
            "location": "Grup WhatsApp kantor",
            "accused": {"name": SITI.name, "nip": SITI.nip},
            "reporter": None,
        },
        timeout=30,
    )
    assert filed.status_code == 201, filed.text
    code = filed.json()["tracking_code"]

    handler = open_tab("penangan-bkn", viewport=DESKTOP)
    page = handler.page
    page.goto(f"{platform.reports}/kasus")
    choose_on_sign_in(handler, platform.registry, "BKN", f"{platform.reports}/kasus")
    handler.check("antrean kasus")
    row = page.get_by_role("row").filter(has_text=SITI.name)
    expect(row).to_have_count(1)
    row.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/kasus/[^/]+$"))
    handler.check("halaman kasus")

    verify = page.locator("form#aksi-verify-kasus")
    verify.get_by_label("Alasan").fill(VERIFY_REASON)
    verify.get_by_role("button").click()
    expect(page.locator("#berhasil")).to_be_visible()
    handler.check("kasus diverifikasi")
    expect(page.locator("#riwayat")).to_contain_text(VERIFY_REASON)
    expect(page.locator("form#aksi-verify-kasus")).to_have_count(0)  # no longer an allowed action

    citizen = open_tab("warga-melihat-alasan", viewport=PHONE)
    track(citizen, platform, code, "warga melihat alasan")
    expect(citizen.page.locator("#riwayat")).to_contain_text(VERIFY_REASON)
