"""The notify pages against real engines: a subscription made through the form shows its secret
once, is deleted after a confirmation and replayed since a date; the delivery log filters and
pages, never showing a reporter's contact; and the guards (sign-in, role, CSRF)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.notify.domain import SEALED_PREFIX, SEALED_RECIPIENT
from services.notify.main import build_app
from services.notify.settings import NotifySettings
from tests.conftest import running_app

PLATFORM_BKPSDM = {"sub": "bkpsdm-prov", "role": "bkpsdm", "reach": "platform", "name": "Sri Rahayu"}
JABAR_BKPSDM = {"sub": "bkpsdm-jabar", "role": "bkpsdm", "org_unit": "32", "name": "Dedi"}
JATENG_BKPSDM = {"sub": "bkpsdm-jateng", "role": "bkpsdm", "org_unit": "33", "name": "Wati"}
BKN = {"sub": "bkn-pusat", "role": "bkn", "reach": "platform", "name": "Rudi"}
PPK = {"sub": "ppk-bogor", "role": "ppk", "org_unit": "32.01", "name": "Hendra"}
HOOK = "http://127.0.0.1:1/hook"  # DEV_MODE lets a loopback receiver over http through
TYPES = ["public.report.received.v1", "public.report.verified.v1"]
REPORTER_EMAIL = "rina.wulandari@example.org"


@pytest.fixture
async def web(settings_kwargs: dict[str, object]) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    settings = NotifySettings(**{**settings_kwargs, "dev_mode": True, "webhook_replay_rate_limit": "2/hour"})  # type: ignore[arg-type]
    app = build_app(settings)
    async with running_app(app) as client:
        yield client, app


def csrf_of(html: str) -> str:
    """The page's CSRF token: from a form's hidden field, else from <body hx-headers>."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r"X-CSRF-Token&#34;: &#34;([^&]+)&#34;|\"X-CSRF-Token\": \"([^\"]+)\"", html
    )
    assert found, "no CSRF token on the page"
    return next(group for group in found.groups() if group)


async def sign_in(client: httpx.AsyncClient, claims: dict[str, str]) -> None:
    """Through the DEV-ONLY sign-in form (notify hosts its POST; the list itself is the
    registry's, and any page of this service carries a CSRF token)."""
    page = await client.get("/keluar")
    answer = await client.post(
        "/masuk/dev", data={"csrf_token": csrf_of(page.text), "pilihan": json.dumps(claims), "lanjut": "/"}
    )
    assert answer.status_code == 303, answer.text


async def create(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    form = await client.get("/langganan")
    assert form.status_code == 200, form.text
    data = {"csrf_token": csrf_of(form.text), "agency": "bawaslu-jabar", "event_types": TYPES, "url": HOOK}
    return await client.post("/langganan", data={**data, **fields})


def subscription_ids(html: str) -> list[str]:
    return re.findall(r'href="/langganan/([0-9a-f-]{36})/hapus"', html)


async def test_the_pages_need_a_sign_in_and_the_api_s_roles(web: tuple[httpx.AsyncClient, FastAPI]) -> None:
    client, _ = web
    for path in ("/langganan", "/pengiriman", "/langganan/x/hapus", "/langganan/x/ulang"):
        answer = await client.get(path)
        assert answer.status_code == 303, (path, answer.text)
        assert answer.headers["location"] == f"/masuk?lanjut={path}"
    await sign_in(client, BKN)
    refused = await client.get("/langganan")
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert "Anda tidak berhak membuka halaman ini" in refused.text and "peran bkpsdm" in refused.text
    assert (await client.get("/pengiriman")).status_code == 200  # BKN reads the log
    await sign_in(client, PPK)
    assert (await client.get("/pengiriman")).status_code == 403


async def test_a_subscription_shows_its_secret_once_and_is_deleted_after_a_confirmation(
    web: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, app = web
    await sign_in(client, JABAR_BKPSDM)
    form = await client.get("/langganan")
    assert "Belum ada langganan" in form.text
    for event_type in TYPES:  # the catalogue, as checkboxes
        assert f'name="event_types" value="{event_type}"' in form.text

    created = await create(client)
    assert created.status_code == 200, created.text
    assert created.headers["cache-control"] == "no-store"
    secret = re.search(r'id="secret"[^>]* value="(whsec_[^"]+)"', created.text)
    assert secret, created.text
    assert "hanya ditampilkan sekali" in created.text
    stored = await app.state.notify_store.subscriptions.find_one({})
    assert stored["agency"] == "bawaslu-jabar" and stored["event_types"] == TYPES
    assert stored["owner"]["org_unit"] == "32"
    assert secret.group(1) not in json.dumps(stored, default=str)  # kept sealed only

    listing = await client.get("/langganan")
    assert "bawaslu-jabar" in listing.text and HOOK in listing.text
    assert secret.group(1) not in listing.text and "whsec_" not in listing.text
    (sub_id,) = subscription_ids(listing.text)

    # Another pemda's BKPSDM neither sees it nor reaches its pages.
    await sign_in(client, JATENG_BKPSDM)
    assert subscription_ids((await client.get("/langganan")).text) == []
    refused = await client.get(f"/langganan/{sub_id}/hapus")
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]

    await sign_in(client, JABAR_BKPSDM)
    confirm = await client.get(f"/langganan/{sub_id}/hapus")
    assert confirm.status_code == 200 and "Hapus langganan bawaslu-jabar?" in confirm.text
    assert await app.state.notify_store.subscriptions.count_documents({}) == 1  # asking deletes nothing
    without_token = await client.post(f"/langganan/{sub_id}/hapus", data={})
    assert without_token.status_code == 403 and "Formulir kedaluwarsa" in without_token.text
    assert await app.state.notify_store.subscriptions.count_documents({}) == 1
    deleted = await client.post(f"/langganan/{sub_id}/hapus", data={"csrf_token": csrf_of(confirm.text)})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/langganan?dihapus=1"
    after = await client.get(deleted.headers["location"])
    assert "Langganan telah dihapus" in after.text and subscription_ids(after.text) == []
    assert await app.state.notify_store.subscriptions.count_documents({}) == 0
    gone = await client.get(f"/langganan/{sub_id}/hapus")
    assert gone.status_code == 404 and "tidak ditemukan" in gone.text


async def test_a_subscription_form_with_mistakes_says_what_to_fix(
    web: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, app = web
    await sign_in(client, PLATFORM_BKPSDM)
    no_events = await create(client, event_types=[])
    assert no_events.status_code == 422
    assert 'id="isian-event_types-salah"' in no_events.text
    assert 'value="bawaslu-jabar"' in no_events.text  # what was entered stays
    bad_agency = await create(client, agency="Bawaslu Jabar")
    assert bad_agency.status_code == 422 and 'id="isian-agency-salah"' in bad_agency.text
    metadata = await create(client, url="http://169.254.169.254/latest/meta-data/")
    assert metadata.status_code == 422 and 'id="isian-url-salah"' in metadata.text
    not_public = await create(client, event_types=["report.received.v1"])
    assert not_public.status_code == 422 and "hanya peristiwa publik" in not_public.text
    form = await client.get("/langganan")
    forged = await client.post(
        "/langganan", data={"csrf_token": "palsu", "agency": "bkn", "event_types": TYPES, "url": HOOK}
    )
    assert forged.status_code == 403 and "Formulir kedaluwarsa" in forged.text
    assert "whsec_" not in forged.text and "whsec_" not in form.text
    assert await app.state.notify_store.subscriptions.count_documents({}) == 0


async def test_a_replay_since_a_date_is_queued_and_limited(web: tuple[httpx.AsyncClient, FastAPI]) -> None:
    client, _ = web
    await sign_in(client, PLATFORM_BKPSDM)
    assert (await create(client)).status_code == 200
    (sub_id,) = subscription_ids((await client.get("/langganan")).text)
    url = f"/langganan/{sub_id}/ulang"
    page = await client.get(url)
    assert page.status_code == 200 and "Kirim ulang peristiwa untuk bawaslu-jabar" in page.text
    token = csrf_of(page.text)

    missing_date = await client.post(url, data={"csrf_token": token, "sejak": ""})
    assert missing_date.status_code == 422 and 'id="isian-sejak-salah"' in missing_date.text
    bad_time = await client.post(url, data={"csrf_token": token, "sejak": "2029-01-01", "jam": "25:00"})
    assert bad_time.status_code == 422 and 'id="isian-jam-salah"' in bad_time.text
    forged = await client.post(url, data={"csrf_token": "palsu", "sejak": "2029-01-01"})
    assert forged.status_code == 403

    for _ in range(2):
        queued = await client.post(url, data={"csrf_token": token, "sejak": "2000-01-01", "jam": "08:00"})
        assert queued.status_code == 303 and queued.headers["location"] == f"{url}?antre=0"
    shown = await client.get(f"{url}?antre=0")
    assert "0 peristiwa dijadwalkan untuk dikirim ulang" in shown.text
    limited = await client.post(url, data={"csrf_token": token, "sejak": "2000-01-01"})
    assert limited.status_code == 429 and "Coba lagi" in limited.text and "detik" in limited.text


def delivery(number: int, **fields: Any) -> dict[str, Any]:
    created = dt.datetime(2029, 1, 10, 3, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=number)
    return {
        "_id": f"delivery-{number}",
        "rule": "laporan_baru",
        "event_id": f"event-{number}",
        "event_type": "report.received.v1",
        "channel": "email",
        "audience": "bkpsdm",
        "recipient": "bkpsdm@jabarprov.go.id",
        "subject": "Laporan baru",
        "body": "isi",
        "status": "sent",
        "attempts": 1,
        "next_attempt_at": created,
        "created_at": created,
        "sent_at": created,
        "last_error": None,
        **fields,
    }


async def test_the_delivery_log_filters_pages_and_hides_reporters(
    web: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, app = web
    docs = [delivery(number) for number in range(55)]
    docs += [
        delivery(
            100,
            audience="reporter",
            recipient=SEALED_PREFIX + "report-1",
            status="dead",
            last_error=f"550 <{REPORTER_EMAIL}> ditolak",
        ),
        delivery(
            101,
            channel="webhook",
            audience="agency",
            agency="bawaslu-jabar",
            recipient="https://bawaslu.example.org/hook",
            event_type="public.report.received.v1",
            status="dead",
            attempts=8,
            last_error="tidak dapat terhubung ke penerima",
        ),
    ]
    await app.state.notify_store.deliveries.insert_many(docs)
    await sign_in(client, BKN)

    everything = await client.get("/pengiriman")
    assert everything.status_code == 200
    assert "57 pesan." in everything.text and "halaman 1 dari 2" in everything.text
    assert REPORTER_EMAIL not in everything.text and SEALED_PREFIX not in everything.text
    assert SEALED_RECIPIENT in everything.text
    assert 'href="/pengiriman?halaman=2"' in everything.text
    second = await client.get("/pengiriman", params={"halaman": "2"})
    assert "halaman 2 dari 2" in second.text and second.text.count("<tr>") == 1 + 7

    dead = await client.get("/pengiriman", params={"status": "dead"})
    assert "2 pesan sesuai saringan." in dead.text
    assert '<option value="dead" selected>' in dead.text
    assert REPORTER_EMAIL not in dead.text
    agency = await client.get("/pengiriman", params={"audience": "agency", "agency": "bawaslu-jabar"})
    assert "1 pesan sesuai saringan." in agency.text
    assert (
        "tidak dapat terhubung ke penerima" in agency.text and "Laporan pelanggaran diterima" in agency.text
    )
    nothing = await client.get("/pengiriman", params={"status": "sent", "agency": "bkn"})
    assert "0 pesan sesuai saringan." in nothing.text and "coba saringan lain" in nothing.text
    # A filter nobody could have chosen is left out rather than answered with an error.
    odd = await client.get("/pengiriman", params={"status": "apa saja", "halaman": "-3"})
    assert odd.status_code == 200 and "57 pesan." in odd.text
    paged = await client.get("/pengiriman", params={"status": "sent", "halaman": "1"})
    assert 'href="/pengiriman?status=sent&amp;halaman=2"' in paged.text
