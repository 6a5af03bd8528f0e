"""The signing pages against real engines: an employee signs through the form and keeps the
receipt, the strict cascade names whom they wait for, anyone verifies a receipt, and admins see
the progress (live, by SSE), who is missing (CSV) and record a ceremony. Sessions are the kit's
signed cookie, made here with the same key the services read."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import re
import time
from collections.abc import Callable

import httpx
import pytest
from itsdangerous import TimestampSigner

from services.signing import pages as signing_pages
from services.signing.settings import SigningSettings
from services.webkit.session import SESSION_COOKIE, SIGNED_IN, session_key
from tests.integration.pemda import registry_and_signing
from tests.kafka_reader import wait_for

HEAD = "197502022000031002"
STAFF = "198503152010011005"
OTHER = "199001012015031007"
CAMPAIGN = "pilkada-halaman"
PACT = "Saya menjaga netralitas ASN sebelum, selama, dan sesudah pemilihan."
SIGNING_PAGE_LIMIT = 100_000
RECEIPT_PAGE_LIMIT = 150_000


def session_cookie(settings: SigningSettings, claims: dict[str, str]) -> str:
    """The cookie the kit's SessionMiddleware would set after a sign-in with these claims."""
    data = {SIGNED_IN: {**claims, "at": int(time.time())}}
    payload = base64.b64encode(json.dumps(data).encode())
    return TimestampSigner(session_key(settings).decode()).sign(payload).decode()


def signed_in(client: httpx.AsyncClient, settings: SigningSettings, **claims: str) -> httpx.AsyncClient:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, session_cookie(settings, claims))
    return client


def employee(nip: str) -> dict[str, str]:
    return {"sub": nip, "role": "employee", "employee_id": nip, "nip": nip, "name": f"Pegawai {nip[-3:]}"}


BKPSDM = {"sub": "bkpsdm-1", "role": "bkpsdm", "org_unit": "32.01", "name": "Admin BKPSDM"}
OPD_ADMIN = {"sub": "opd-1", "role": "opd_admin", "org_unit": "32.01.001", "name": "Admin OPD"}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no form token"
    return match.group(1)


async def open_campaign(signing: httpx.AsyncClient, token: str) -> None:
    body = {
        "code": CAMPAIGN,
        "title": "Pakta Integritas Netralitas ASN",
        "election": "Pilkada Uji",
        "deadline": (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).isoformat(),
        "campaign_period_starts_on": (dt.date.today() + dt.timedelta(days=40)).isoformat(),
        "pact_text": PACT,
        "scope": ["32.01"],
        "cascade": "strict",
    }
    headers = {"Authorization": f"Bearer {token}"}

    async def created() -> bool:
        return (await signing.post("/v1/campaigns", json=body, headers=headers)).status_code == 201

    await wait_for(created, timeout=60, interval=0.5)

    async def projected() -> bool:
        response = await signing.get(
            f"/v1/campaigns/{CAMPAIGN}/progress", params={"org_unit": "32.01"}, headers=headers
        )
        return bool(response.json().get("expected") == 3)

    await wait_for(projected, timeout=60, interval=0.3)


async def test_employee_signs_on_the_page_and_keeps_the_receipt(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    people = ((HEAD, "JPT", "32.01.001"), (STAFF, "STAFF", "32.01.001"), (OTHER, "STAFF", "32.01.001"))
    async with registry_and_signing(settings_kwargs, mint("bkpsdm"), people) as (
        _,
        signing,
        settings,
    ):
        await open_campaign(signing, mint("bkpsdm"))

        # Nobody signed in: to the sign-in page, and back here afterwards.
        signing.cookies.clear()
        anonymous = await signing.get("/tanda-tangan")
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == "/masuk?lanjut=/tanda-tangan"

        # The staff member waits for the head of their OPD, named.
        signed_in(signing, settings, **employee(STAFF))
        listed = await signing.get("/tanda-tangan")
        assert listed.status_code == 200 and f"/tanda-tangan/{CAMPAIGN}" in listed.text
        assert "Belum ditandatangani" in listed.text
        waiting = await signing.get(f"/tanda-tangan/{CAMPAIGN}")
        assert waiting.status_code == 200
        assert "Menunggu kepala OPD Anda: Pegawai 002" in waiting.text
        assert "Tanda tangani pakta" not in waiting.text
        assert "Versi 1" in waiting.text and PACT in waiting.text
        refused = await signing.post(
            f"/tanda-tangan/{CAMPAIGN}",
            data={"csrf_token": csrf_of(waiting.text), "persetujuan": "ya"},
        )
        assert refused.status_code == 409 and "Menunggu kepala OPD Anda: Pegawai 002" in refused.text

        # The head signs: a form with CSRF and consent, then the receipt.
        signed_in(signing, settings, **employee(HEAD))
        page = await signing.get(f"/tanda-tangan/{CAMPAIGN}")
        assert page.status_code == 200 and "Tanda tangani pakta" in page.text
        print(f"signing page: {len(page.content)} bytes of HTML")
        assert len(page.content) < 20_000  # plus the shared CSS (no script on this page)
        css = await signing.get("/static/webkit/netral.css")
        assert len(page.content) + len(css.content) < SIGNING_PAGE_LIMIT
        assert "htmx.min.js" not in page.text
        token = csrf_of(page.text)
        forged = await signing.post(f"/tanda-tangan/{CAMPAIGN}", data={"persetujuan": "ya"})
        assert forged.status_code == 403 and "kedaluwarsa" in forged.text
        no_consent = await signing.post(f"/tanda-tangan/{CAMPAIGN}", data={"csrf_token": token})
        assert no_consent.status_code == 422 and "Centang persetujuan" in no_consent.text
        done = await signing.post(
            f"/tanda-tangan/{CAMPAIGN}", data={"csrf_token": token, "persetujuan": "ya"}
        )
        assert done.status_code == 303 and done.headers["location"].startswith("/kuitansi/")
        code = done.headers["location"].removeprefix("/kuitansi/")

        receipt_page = await signing.get(done.headers["location"])
        assert receipt_page.status_code == 200
        assert code in receipt_page.text and "Tanda tangan Anda sudah diterima" in receipt_page.text
        assert "<svg" in receipt_page.text and 'aria-label="Kode QR tautan verifikasi"' in receipt_page.text
        assert f"{settings.web_links.signing}/verifikasi/{code}" in receipt_page.text
        assert "netral verify" in receipt_page.text and "/v1/keys" in receipt_page.text
        print(f"receipt page: {len(receipt_page.content)} bytes of HTML with its QR code")
        assert len(receipt_page.content) + len(css.content) < RECEIPT_PAGE_LIMIT
        # Signed already: the signing page leads to the receipt.
        again = await signing.get(f"/tanda-tangan/{CAMPAIGN}")
        assert again.status_code == 303 and again.headers["location"] == f"/kuitansi/{code}"

        async def chained() -> bool:
            return bool((await signing.get(f"/v1/receipts/{code}")).json()["stage"] == "chained")

        await wait_for(chained, timeout=30, interval=0.2)
        download = await signing.get(f"/kuitansi/{code}.json")
        assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
        assert download.json() == (await signing.get(f"/v1/receipts/{code}")).json()
        assert download.json()["valid"] is True

        # The staff member's turn now; someone else's receipt is not theirs to open.
        signed_in(signing, settings, **employee(STAFF))
        assert "Tanda tangani pakta" in (await signing.get(f"/tanda-tangan/{CAMPAIGN}")).text
        assert (await signing.get(f"/kuitansi/{code}")).status_code == 404
        assert (await signing.get(f"/kuitansi/{code}.json")).status_code == 404

        # Anyone verifies, without signing in.
        signing.cookies.clear()
        verified = await signing.get(f"/verifikasi/{code}")
        assert verified.status_code == 200
        assert "Tanda terima ini sah" in verified.text and "tanda terima ke-1" in verified.text
        assert "Titik periksa terakhir" in verified.text
        unknown = await signing.get("/verifikasi/ZZZZ-ZZZZ-ZZZZ")
        assert unknown.status_code == 404 and "Kode tidak ditemukan" in unknown.text
        malformed = await signing.get("/verifikasi/bukan-kode!")
        assert malformed.status_code == 422 and "Kode belum benar" in malformed.text
        typed = await signing.get("/verifikasi", params={"kode": code.lower()})
        assert typed.status_code == 303 and typed.headers["location"] == f"/verifikasi/{code.lower()}"
        assert (await signing.get("/verifikasi")).status_code == 200


async def test_admins_watch_progress_export_the_missing_and_record_a_ceremony(
    settings_kwargs: dict[str, object],
    mint: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    people = ((HEAD, "JPT", "32.01.001"), (STAFF, "STAFF", "32.01.001"), (OTHER, "STAFF", "32.01.001"))
    async with registry_and_signing(settings_kwargs, mint("bkpsdm"), people) as (
        _,
        signing,
        settings,
    ):
        await open_campaign(signing, mint("bkpsdm"))
        head_signs = await signing.post(
            f"/v1/campaigns/{CAMPAIGN}/signatures",
            json={"mode": "online", "consent": True},
            headers={"Authorization": f"Bearer {mint('employee', nip=HEAD)}"},
        )
        assert head_signs.status_code == 201

        signing.cookies.clear()
        anonymous = await signing.get(f"/kemajuan/{CAMPAIGN}", params={"unit": "32.01"})
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/masuk?lanjut=")

        signed_in(signing, settings, **employee(STAFF))
        wrong_role = await signing.get(f"/kemajuan/{CAMPAIGN}", params={"unit": "32.01"})
        assert wrong_role.status_code == 403 and "text/html" in wrong_role.headers["content-type"]
        assert "Anda tidak berhak" in wrong_role.text

        signed_in(signing, settings, **BKPSDM)
        listed = await signing.get("/kemajuan")
        assert listed.status_code == 200 and f"/kemajuan/{CAMPAIGN}?unit=32.01" in listed.text
        page = await signing.get(f"/kemajuan/{CAMPAIGN}", params={"unit": "32.01"})
        assert page.status_code == 200
        assert "<strong>1</strong> dari <strong>3</strong>" in page.text
        assert f"/kemajuan/{CAMPAIGN}?unit=32.01.001" in page.text  # the drill-down to the OPD
        assert "Dinas Pendidikan" in page.text
        assert 'sse-connect="/kemajuan/' in page.text and "<rect" in page.text
        assert "Pegawai 005" in page.text and "Pegawai 007" in page.text  # who is missing
        assert "Catat tanda tangan upacara" not in page.text  # BKPSDM watches; an OPD admin records
        drilled = await signing.get(f"/kemajuan/{CAMPAIGN}", params={"unit": "32.01.001"})
        assert drilled.status_code == 200 and f"/kemajuan/{CAMPAIGN}?unit=32.01" in drilled.text

        exported = await signing.get(f"/kemajuan/{CAMPAIGN}/belum.csv", params={"unit": "32.01"})
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        lines = exported.text.lstrip("\ufeff").splitlines()
        assert lines[0] == "NIP,ID pegawai,Nama,Jenjang jabatan,Kode unit"
        assert sorted(line.split(",")[0] for line in lines[1:]) == sorted([STAFF, OTHER])

        # Live: the stream sends the count at once, and again when a signature arrives.
        monkeypatch.setattr(signing_pages, "STREAM_SECONDS", 4.0)
        monkeypatch.setattr(signing_pages, "POLL_SECONDS", 0.1)

        async def staff_signs_meanwhile() -> httpx.Response:
            await asyncio.sleep(0.5)
            return await signing.post(
                f"/v1/campaigns/{CAMPAIGN}/signatures",
                json={"mode": "online", "consent": True},
                headers={"Authorization": f"Bearer {mint('employee', nip=STAFF)}"},
            )

        stream, staff_signed = await asyncio.gather(
            signing.get(f"/kemajuan/{CAMPAIGN}/aliran", params={"unit": "32.01"}), staff_signs_meanwhile()
        )
        assert staff_signed.status_code == 201
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        assert stream.text.startswith("retry: ")
        events = [block for block in stream.text.split("\n\n") if block.startswith("event: kemajuan\n")]
        assert len(events) >= 2, stream.text
        assert "<strong>1</strong> dari <strong>3</strong>" in events[0] and 'id="hitungan"' in events[0]
        assert "<strong>2</strong> dari <strong>3</strong>" in events[-1]
        assert all(line.startswith("data: ") for line in events[-1].splitlines()[1:])

        # An OPD admin: their own OPD only, and the ceremony form.
        signed_in(signing, settings, **OPD_ADMIN)
        outside = await signing.get(f"/kemajuan/{CAMPAIGN}", params={"unit": "32.01"})
        assert outside.status_code == 403
        own = await signing.get(f"/kemajuan/{CAMPAIGN}")
        assert own.status_code == 200 and "Catat tanda tangan upacara" in own.text
        assert f'value="{OTHER}"' in own.text
        recorded = await signing.post(
            f"/kemajuan/{CAMPAIGN}/upacara",
            params={"unit": "32.01.001"},
            data={"csrf_token": csrf_of(own.text), "hadir": OTHER},
        )
        assert recorded.status_code == 303
        after = await signing.get(recorded.headers["location"])
        assert "1 tanda tangan upacara dicatat" in after.text
        assert "<strong>3</strong> dari <strong>3</strong>" in after.text
        assert "Semua pegawai di unit ini sudah menandatangani" in after.text
        no_token = await signing.post(
            f"/kemajuan/{CAMPAIGN}/upacara", params={"unit": "32.01.001"}, data={"hadir": STAFF}
        )
        assert no_token.status_code == 403

        # A BKPSDM admin may not record a ceremony: the page for the role, not the use case's JSON.
        signed_in(signing, settings, **BKPSDM)
        page = await signing.get(f"/kemajuan/{CAMPAIGN}", params={"unit": "32.01"})
        not_recorder = await signing.post(
            f"/kemajuan/{CAMPAIGN}/upacara", data={"csrf_token": csrf_of(page.text), "hadir": STAFF}
        )
        assert not_recorder.status_code == 403 and "text/html" in not_recorder.headers["content-type"]
