"""In the browser: an employee signs the pact on a phone and checks the receipt (journey 1,
with the pages' transfer sizes), and the head watches the count change live (journey 2)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.browser.browser_platform import ARTIFACTS, PEOPLE, RUDI, SARI, Platform
from tests.browser.browsing import DESKTOP, PHONE, Tab, choose_on_sign_in, weigh

SIGNING_PAGE_LIMIT = 100 * 1024
RECEIPT_PAGE_LIMIT = 150 * 1024
RECEIPT_CODE = re.compile(r"/kuitansi/([A-Z0-9-]+)$")

pytestmark = pytest.mark.timeout(180)
"""A hung browser call fails its test in minutes, not at the suite's 10-minute bound."""


def test_an_employee_signs_on_a_phone(platform: Platform, open_tab: Callable[..., Tab]) -> None:
    campaign = platform.open_campaign("Pakta Integritas Netralitas ASN Pilkada 2029")
    tab = open_tab("pegawai", viewport=PHONE, has_touch=True)
    page = tab.page

    # Not signed in: the signing page sends the employee to sign in, and back after.
    page.goto(f"{platform.signing}/tanda-tangan")
    choose_on_sign_in(tab, platform.registry, f"{SARI.name} ({SARI.nip})", f"{platform.signing}/tanda-tangan")
    tab.check("daftar pakta")
    expect(page.get_by_text(SARI.name).first).to_be_visible()  # the header says who is signed in

    page.get_by_role("link", name="Pakta Integritas Netralitas ASN Pilkada 2029").click()
    page.wait_for_url(f"{platform.signing}/tanda-tangan/{campaign}")
    tab.check("pakta dan persetujuan")
    signing_weight = weigh(page)
    expect(page.get_by_text("menjaga netralitas sebelum, selama, dan sesudah")).to_be_visible()

    # Without the consent the browser itself refuses (required); with it, the receipt.
    page.get_by_label("Saya telah membaca pakta di atas dan menyetujuinya.").check()
    page.get_by_role("button", name="Tanda tangani pakta").click()
    page.wait_for_url(RECEIPT_CODE)
    tab.check("tanda terima")
    receipt_weight = weigh(page)
    found = RECEIPT_CODE.search(page.url)
    assert found is not None
    code = found.group(1)
    expect(page.get_by_text(code).first).to_be_visible()
    qr = page.locator("figure.qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 120, f"the QR code is too small to scan: {box}"
    expect(page.get_by_role("link", name=re.compile("Unduh tanda terima"))).to_have_attribute(
        "href", f"/kuitansi/{code}.json"
    )
    expect(page.get_by_text(re.compile(r"netral verify .*--public-key"))).to_be_visible()

    # The QR code's link: the public verification page, which needs no sign-in.
    page.get_by_role("link", name=f"/verifikasi/{code}").click()
    page.wait_for_url(f"{platform.signing}/verifikasi/{code}")
    tab.check("verifikasi")
    expect(page.get_by_role("heading", name="Tanda terima ini sah")).to_be_visible()

    # The figures for the closing note, measured by the browser (Performance API).
    report = f"signing page {signing_weight.describe()}\nreceipt page {receipt_weight.describe()}\n"
    print("\n" + report)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "page-weights.txt").write_text(report, encoding="utf-8")
    assert signing_weight.transferred < SIGNING_PAGE_LIMIT, signing_weight.describe()
    assert receipt_weight.transferred < RECEIPT_PAGE_LIMIT, receipt_weight.describe()


def test_the_head_sees_the_progress_change_live(platform: Platform, open_tab: Callable[..., Tab]) -> None:
    campaign = platform.open_campaign("Pakta Integritas Pilkada 2029: kemajuan langsung")
    platform.sign_by_api(campaign, SARI)
    tab = open_tab("kepala-bkpsdm", viewport=DESKTOP)
    page = tab.page

    page.goto(f"{platform.signing}/kemajuan/{campaign}")
    choose_on_sign_in(
        tab, platform.registry, "BKPSDM Kabupaten Bogor", f"{platform.signing}/kemajuan/{campaign}"
    )
    tab.check("kemajuan")
    counts = page.locator("#hitungan .total")
    expected = len(PEOPLE)
    expect(counts).to_contain_text(f"1 dari {expected} pegawai sudah menandatangani")
    # Marks this document: a reload or a navigation would lose it.
    page.evaluate("() => { window.masihHalamanSama = true; }")

    # Another employee signs (through the API, as their phone would): the page follows.
    platform.sign_by_api(campaign, RUDI)
    expect(counts).to_contain_text(f"2 dari {expected} pegawai sudah menandatangani", timeout=15_000)
    assert page.evaluate("() => window.masihHalamanSama === true"), "the page was reloaded, not updated live"
    tab.check("kemajuan setelah tanda tangan baru")

    # Drill-down: from the pemda to an OPD, whose own count includes the new signature.
    page.locator("#hitungan").get_by_role("link", name="Dinas Kesehatan").click()
    page.wait_for_url(re.compile(r"unit=32\.01\.002"))
    tab.check("kemajuan dinas kesehatan")
    expect(page.locator("#hitungan .total")).to_contain_text("1 dari 2 pegawai sudah menandatangani")
