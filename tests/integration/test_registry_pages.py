"""The registry's import pages against real engines: a CSV uploaded through the form runs to 100%
with its per-row error report (paginated, downloadable, never a NIK), and the page's guards
(sign-in, role, unit, CSRF)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from services.registry.main import build_app
from services.registry.settings import RegistrySettings
from tests.conftest import running_app
from tests.integration.test_registry_import import BROKEN, HEADER, add_units
from tests.kafka_reader import wait_for

PLATFORM_BKPSDM = {"sub": "bkpsdm-prov", "role": "bkpsdm", "reach": "platform", "name": "Sri Rahayu"}
BOGOR_EDUCATION_ADMIN = {"sub": "admin-disdik", "role": "opd_admin", "org_unit": "32.01.001", "name": "Agus"}
BOGOR_PPK = {"sub": "ppk-bogor", "role": "ppk", "org_unit": "32.01", "name": "Hendra"}
BAD_NIK = "320101550385000"  # 15 digits: refused, and shown masked
WITH_BAD_NIK = BROKEN + f";Nia Honorer;Honorer;Pengemudi;pelaksana;32.01.002;;;;{BAD_NIK}\n".encode()


@pytest.fixture
def settings(settings_kwargs: dict[str, object]) -> RegistrySettings:
    return RegistrySettings(relay_poll_seconds=0.05, import_chunk_size=3, **settings_kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def web(settings: RegistrySettings, mint: Callable[..., str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(build_app(settings)) as client:
        await add_units(client, mint("bkpsdm"))
        yield client


def csrf_of(html: str) -> str:
    """The page's CSRF token: from a form's hidden field, else from <body hx-headers>."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r"X-CSRF-Token&#34;: &#34;([^&]+)&#34;|\"X-CSRF-Token\": \"([^\"]+)\"", html
    )
    assert found, "no CSRF token on the page"
    return next(group for group in found.groups() if group)


async def sign_in(client: httpx.AsyncClient, claims: dict[str, str]) -> None:
    """Through the DEV-ONLY sign-in form, as a person would."""
    page = await client.get("/masuk")
    assert page.status_code == 200, page.text
    answer = await client.post(
        "/masuk/dev",
        data={"csrf_token": csrf_of(page.text), "pilihan": json.dumps(claims), "lanjut": "/impor"},
    )
    assert answer.status_code == 303, answer.text


async def upload(client: httpx.AsyncClient, data: bytes, filename: str = "pegawai.csv") -> httpx.Response:
    form = await client.get("/impor")
    assert form.status_code == 200, form.text
    return await client.post(
        "/impor",
        data={"csrf_token": csrf_of(form.text)},
        files={"file": (filename, data, "text/csv")},
    )


async def finished_import(client: httpx.AsyncClient, data: bytes) -> str:
    """Upload through the form, follow the redirect, poll the fragment as htmx does until it
    says stop (286); the import's page URL."""
    started = await upload(client, data)
    assert started.status_code == 303, started.text
    page_url = started.headers["location"]
    assert re.fullmatch(r"/impor/imp-[0-9a-f]{24}", page_url), page_url

    async def stopped() -> bool:
        fragment = await client.get(page_url + "/kemajuan", headers={"HX-Request": "true"})
        assert fragment.status_code in (200, 286), fragment.text
        assert "<html" not in fragment.text  # a fragment, not a page
        return fragment.status_code == 286

    await wait_for(stopped, timeout=60, interval=0.2)
    return page_url


async def test_a_page_needs_a_sign_in_and_an_importer_role(web: httpx.AsyncClient) -> None:
    for path in (
        "/impor",
        "/impor/imp-000000000000000000000000",
        "/impor/x/kemajuan",
        "/impor/x/kesalahan.csv",
    ):
        answer = await web.get(path)
        assert answer.status_code == 303, (path, answer.text)
        assert answer.headers["location"] == f"/masuk?lanjut={path}"
    await sign_in(web, BOGOR_PPK)
    refused = await web.get("/impor")
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"]
    assert "Anda tidak berhak membuka halaman ini" in refused.text and "bkpsdm, opd_admin" in refused.text


async def test_an_import_through_the_form_reaches_100_percent_with_its_row_errors(
    web: httpx.AsyncClient,
) -> None:
    await sign_in(web, PLATFORM_BKPSDM)
    page_url = await finished_import(web, WITH_BAD_NIK)

    page = await web.get(page_url)
    assert page.status_code == 200
    text = page.text
    assert "Baris diproses: 9 dari 9 (100%)" in text
    assert '<progress id="batang-kemajuan" max="9" value="9">' in text
    assert "hx-trigger" not in text and 'http-equiv="refresh"' not in text  # finished: no more polling
    assert "Impor selesai." in text
    assert re.search(r"<dt>Baru didaftarkan</dt><dd>3</dd>", text)
    assert re.search(r"<dt>Gagal</dt><dd>6</dd>", text)
    # Each error: line, the column as the file names it, and what to fix.
    assert "<td>3</td><td>nip</td>" in text and "digit 1–8" in text
    assert "<td>4</td><td>kode_unor</td><td>99.99.999</td>" in text
    assert "<td>6</td><td>(seluruh baris)</td>" in text and "baris ini punya 4 kolom, header punya 10" in text
    assert "<td>10</td><td>nik</td><td>3201*******5000</td>" in text
    assert BAD_NIK not in text
    assert 'href="' + page_url + '/kesalahan.csv"' in text

    listing = await web.get("/impor")
    assert 'href="' + page_url + '">pegawai.csv</a>' in listing.text
    assert "9 dari 9" in listing.text


async def test_the_progress_page_polls_while_the_import_runs(web: httpx.AsyncClient) -> None:
    await sign_in(web, PLATFORM_BKPSDM)
    rows = "\n".join(
        f"198503152010011{i:03d};Pegawai {i};PNS;Guru;STAFF;32.01.001;;;;" for i in range(1, 200)
    )
    started = await upload(web, (HEADER + "\n" + rows + "\n").encode())
    page = await web.get(started.headers["location"])
    if "Impor selesai." not in page.text:  # the worker can be faster than this request
        assert 'hx-trigger="every 1s"' in page.text
        assert f'hx-get="{started.headers["location"]}/kemajuan"' in page.text
        assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page.text


async def test_the_errors_download_as_csv_and_page_by_page(web: httpx.AsyncClient) -> None:
    await sign_in(web, PLATFORM_BKPSDM)
    rows = "\n".join(
        f"198503152010011{i:03d};Pegawai {i};PNS;Guru;STAFF;99.99.{i:03d};;;;" for i in range(1, 61)
    )
    rows += "\n198503152010011099;Rumus;PNS;Guru;STAFF;=1+1;;;;"  # a spreadsheet formula, line 62
    rows += f"\n;Nia Honorer;Honorer;Pengemudi;pelaksana;32.01.002;;;;{BAD_NIK}"
    page_url = await finished_import(web, (HEADER + "\n" + rows + "\n").encode())

    download = await web.get(page_url + "/kesalahan.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    assert download.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig")), delimiter=";"))
    assert table[0] == ["baris", "kolom", "nilai", "pesan"]
    assert len(table) == 1 + 62
    assert table[1][:3] == ["2", "kode_unor", "99.99.001"]
    assert table[-2][:3] == ["62", "kode_unor", "'=1+1"]  # shown as text, never run
    assert table[-1][:3] == ["63", "nik", "3201*******5000"]
    assert BAD_NIK not in download.text

    first = await web.get(page_url)
    assert "62 kesalahan." in first.text and "halaman 1 dari 2" in first.text
    assert first.text.count("<td>kode_unor</td>") == 50
    assert f'href="{page_url}?halaman=2"' in first.text
    second = await web.get(page_url, params={"halaman": "2"})
    assert "halaman 2 dari 2" in second.text and "<td>63</td><td>nik</td>" in second.text
    assert f'href="{page_url}?halaman=1"' in second.text
    # Not a page number: the first page, not an error.
    assert "halaman 1 dari 2" in (await web.get(page_url, params={"halaman": "dua"})).text


async def test_an_unusable_file_is_explained_on_the_form(web: httpx.AsyncClient) -> None:
    await sign_in(web, PLATFORM_BKPSDM)
    header_only = await upload(web, HEADER.encode() + b"\n")
    assert header_only.status_code == 422
    assert "hanya berisi header" in header_only.text and 'aria-invalid="true"' in header_only.text
    empty = await upload(web, b"")
    assert empty.status_code == 422 and "kosong" in empty.text
    form = await web.get("/impor")
    no_file = await web.post("/impor", data={"csrf_token": csrf_of(form.text)})
    assert no_file.status_code == 422 and "pilih file CSV" in no_file.text


async def test_an_upload_without_a_valid_csrf_token_is_refused(web: httpx.AsyncClient) -> None:
    await sign_in(web, PLATFORM_BKPSDM)
    files = {"file": ("pegawai.csv", BROKEN, "text/csv")}
    for data in ({}, {"csrf_token": "palsu"}):
        refused = await web.post("/impor", data=data, files=files)
        assert refused.status_code == 403, refused.text
        assert "Formulir kedaluwarsa" in refused.text
    assert "Belum ada impor." in (await web.get("/impor")).text


async def test_an_opd_admin_sees_only_the_imports_of_their_unit(web: httpx.AsyncClient) -> None:
    await sign_in(web, PLATFORM_BKPSDM)
    platform_import = await finished_import(web, BROKEN)
    await sign_in(web, BOGOR_EDUCATION_ADMIN)
    assert platform_import not in (await web.get("/impor")).text
    refused = await web.get(platform_import)
    assert refused.status_code == 403 and "impor ini milik unit lain" in refused.text
    assert (await web.get(platform_import + "/kesalahan.csv")).status_code == 403
    own = await finished_import(web, BROKEN)
    page = await web.get(own)
    assert "<td>8</td>" in page.text and "di luar wewenang" in page.text  # Asep is in another OPD
    assert own in (await web.get("/impor")).text
    missing = await web.get("/impor/imp-000000000000000000000000")
    assert missing.status_code == 404 and "tidak ditemukan" in missing.text
