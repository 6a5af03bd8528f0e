"""In the browser: a page that needs a sign-in sends the visitor to it (and back after); a
role that may not see a page gets a clear 403 page; the start page and the staff pages the
journeys do not walk are checked like every other page (axe-core, console, outside hosts)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.browser_platform import SARI, Platform
from tests.browser.browsing import DESKTOP, Tab, choose_on_sign_in

FORBIDDEN_HEADING = "Anda tidak berhak membuka halaman ini"
FORBIDDEN_CONSOLE = "status of 403"
"""Chromium logs every 4xx document in the console; on a 403 page that is expected."""

pytestmark = pytest.mark.timeout(180)
"""A hung browser call fails its test in minutes, not at the suite's 10-minute bound."""


def protected_pages(platform: Platform, campaign: str) -> list[str]:
    """One page of each service that needs a sign-in (and that an employee may not see)."""
    return [
        f"{platform.signing}/kemajuan/{campaign}",
        f"{platform.reports}/kasus",
        f"{platform.registry}/impor",
        f"{platform.notify}/langganan",
        f"{platform.notify}/pengiriman",
    ]


def test_pages_that_need_a_sign_in_send_the_visitor_to_it(
    platform: Platform, open_tab: Callable[..., Tab]
) -> None:
    campaign = platform.open_campaign("Pakta Integritas Pilkada 2029: masuk dulu")
    tab = open_tab("tamu", viewport=DESKTOP)
    page = tab.page
    for url in [f"{platform.signing}/tanda-tangan", *protected_pages(platform, campaign)]:
        page.goto(url)
        landed = urlsplit(page.url)
        assert f"{landed.scheme}://{landed.netloc}{landed.path}" == f"{platform.registry}/masuk", (
            f"{url} did not send the visitor to sign in: {page.url}"
        )
        # Back to where they were going, after signing in (the journeys follow that through).
        (back,) = parse_qs(landed.query)["lanjut"]
        assert urljoin(platform.registry, back) == url, page.url
    tab.check("masuk (dari halaman yang perlu masuk)")
    expect(page.get_by_role("button", name=f"{SARI.name} ({SARI.nip})").first).to_be_visible()


def test_a_role_that_may_not_see_a_page_gets_a_clear_403_page(
    platform: Platform, open_tab: Callable[..., Tab]
) -> None:
    campaign = platform.open_campaign("Pakta Integritas Pilkada 2029: bukan untuk pegawai")
    tab = open_tab("pegawai-salah-halaman", viewport=DESKTOP)
    page = tab.page
    page.goto(f"{platform.signing}/tanda-tangan")
    choose_on_sign_in(tab, platform.registry, f"{SARI.name} ({SARI.nip})", f"{platform.signing}/tanda-tangan")
    tab.check("daftar pakta")
    for url in protected_pages(platform, campaign):
        response = page.goto(url)
        assert response is not None and response.status == 403, f"{url}: {response and response.status}"
        expect(page.get_by_role("heading", name=FORBIDDEN_HEADING)).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("Anda masuk sebagai employee")
        # What to do next: sign out and in as someone else, or go back to the start page.
        expect(page.get_by_role("button", name="Keluar dan masuk dengan akun lain")).to_be_visible()
        expect(page.get_by_role("link", name="Ke halaman awal")).to_have_attribute(
            "href", f"{platform.registry}/"
        )
        tab.check(f"403 {urlsplit(url).path.split('/')[1]}", status=403, allow_console=[FORBIDDEN_CONSOLE])

    # Signing out from the 403 page, as it offers.
    page.get_by_role("button", name="Keluar dan masuk dengan akun lain").click()
    page.wait_for_url(f"{platform.notify}/keluar")
    tab.check("keluar")
    page.goto(f"{platform.signing}/tanda-tangan")
    assert page.url.startswith(f"{platform.registry}/masuk"), page.url


def test_the_start_page_and_the_staff_pages(platform: Platform, open_tab: Callable[..., Tab]) -> None:
    campaign = platform.open_campaign("Pakta Integritas Pilkada 2029: halaman staf")
    tab = open_tab("bkpsdm", viewport=DESKTOP)
    page = tab.page
    tab.open(f"{platform.registry}/", "halaman awal")
    # Every service's pages are reachable from the one start page.
    for target in (
        f"{platform.reports}/lapor",
        f"{platform.reports}/lacak",
        f"{platform.signing}/verifikasi",
        f"{platform.signing}/tanda-tangan",
        f"{platform.signing}/kemajuan",
        f"{platform.registry}/impor",
        f"{platform.reports}/kasus",
        f"{platform.notify}/langganan",
        f"{platform.notify}/pengiriman",
    ):
        expect(page.locator(f"a[href='{target}']").first).to_be_attached()

    page.goto(f"{platform.signing}/kemajuan")
    choose_on_sign_in(tab, platform.registry, "BKPSDM Kabupaten Bogor", f"{platform.signing}/kemajuan")
    tab.check("daftar kampanye untuk kemajuan")
    expect(page.get_by_role("link", name="Pakta Integritas Pilkada 2029: halaman staf")).to_be_visible()
    for url, name in (
        (f"{platform.signing}/kemajuan/{campaign}?unit=32.01.001", "kemajuan satu OPD"),
        (f"{platform.registry}/impor", "impor pegawai"),
        (f"{platform.reports}/kasus", "antrean kasus bkpsdm"),
        (f"{platform.notify}/langganan", "langganan"),
        (f"{platform.notify}/pengiriman", "log pengiriman"),
        (f"{platform.signing}/verifikasi", "verifikasi (formulir)"),
        (f"{platform.reports}/lacak", "lacak (formulir)"),
    ):
        tab.open(url, name)
