"""The reports pages against real engines: a citizen reports with a file through the form and
tracks it, adds information later; a handler works the queue and the case page, opens the
reporter's identity with a reason; sign-in, roles and CSRF on every page."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import logging
import re
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner

from services.kit.clock import FixedClock
from services.reports.settings import ReportsSettings
from services.webkit.session import SESSION_COOKIE, SIGNED_IN, session_key
from tests.integration.reports_pemda import registry_and_reports

NOW = dt.datetime(2024, 11, 4, 2, 0, tzinfo=dt.UTC)  # Monday 09:00 WIB
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CODE = re.compile(r'id="kode-pelacakan">([0-9A-Z-]+)<')


def png_bytes() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def sign_in(client: httpx.AsyncClient, settings: ReportsSettings, role: str, **claims: str) -> None:
    """Put a signed-in session in the client's cookies, as the kit's sign-in would (the same
    signed cookie Starlette's SessionMiddleware reads)."""
    kept = {"sub": f"uji-{role}", "role": role, "name": f"Uji {role}", **claims}
    if "org_unit" not in kept and role != "employee":
        kept["reach"] = "platform"
    session = {SIGNED_IN: {**kept, "at": int(time.time())}}
    data = base64.b64encode(json.dumps(session).encode())
    cookie = TimestampSigner(session_key(settings).decode()).sign(data).decode()
    # The app's host and path: the session the app sends back then replaces this one.
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie, domain=client.base_url.host, path="/")


def sign_out(client: httpx.AsyncClient) -> None:
    client.cookies.clear()


async def csrf_of(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found, "the page has no CSRF token"
    return found.group(1)


def report_form(csrf: str, **overrides: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "kategori": "kampanye_media_sosial",
        "terlapor-0-nama": "Budi Santoso",
        "terlapor-0-unit": "Dinas Pendidikan",  # a name, as typed without the picker
        "terlapor-0-jabatan": "Analis",
        "tanggal": "2024-11-01",
        "tempat": "Cibinong, Kabupaten Bogor",
        "uraian": "Terlapor mengunggah ajakan memilih pasangan calon nomor 2 di akun Instagram.",
        "tautan": "https://instagram.com/p/abc123",
        "pelapor-nama": "Rina Wulandari",
        "pelapor-kontak": "rina.w@example.org",
    }
    form.update(overrides)
    return form


def action_buttons(page: str) -> set[str]:
    return set(re.findall(r'name="action" value="([a-z_]+)"', page))


def shown(response: httpx.Response) -> str:
    """The page's text as a person reads it (entities such as &#39; decoded)."""
    return html.unescape(response.text)


async def test_a_citizen_reports_with_a_file_tracks_it_and_a_handler_works_the_case(
    settings_kwargs: dict[str, object],
    mint: Callable[..., str],
    key_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FixedClock(NOW)
    async with registry_and_reports(settings_kwargs, key_dir, mint("bkpsdm"), clock) as pemda:
        client, store, settings = pemda.reports, pemda.app.state.reports_store, pemda.settings

        # The form: categories in plain words with the class they suggest, no sign-in.
        page = await client.get("/lapor")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "Sosialisasi atau kampanye melalui media sosial" in shown(page)
        assert "biasanya pelanggaran kode etik" in shown(page)
        assert 'enctype="multipart/form-data"' in shown(page)
        csrf = CSRF.search(page.text)
        assert csrf is not None
        token = csrf.group(1)

        # The unit picker searches the service's own view of the org units.
        options = await client.get("/lapor/unit", params={"terlapor-0-unit": "pendidikan"})
        assert options.status_code == 200 and 'value="32.01.001"' in shown(options)
        assert (await client.get("/lapor/unit", params={"q": "32.01"})).text.count("<option") == 2

        # Without the CSRF token: refused with a page that says what to do.
        refused = await client.post("/lapor", data=report_form(""))
        assert refused.status_code == 403 and "Muat ulang halaman" in shown(refused)

        # A text file named .png is refused by its content, with the rest of the form kept.
        fake = await client.post(
            "/lapor",
            data=report_form(token),
            files=[("berkas", ("bukti.png", b"ini bukan gambar", "image/png"))],
        )
        assert fake.status_code == 422, fake.text
        assert "'bukti.png' bukan berkas JPEG, PNG, PDF atau MP4" in shown(fake)
        assert "Cibinong, Kabupaten Bogor" in shown(fake)
        assert await store.reports.count_documents({}) == 0
        assert await store.evidence.find({}).to_list() == []

        # Other mistakes are named next to their fields.
        wrong = await client.post(
            "/lapor", data=report_form(token, **{"uraian": "pendek", "terlapor-0-unit": "Dinas Tidak Ada"})
        )
        assert wrong.status_code == 422
        assert "minimal 20 karakter" in shown(wrong) and "tidak ditemukan tepat satu" in shown(wrong)

        # The report with a real PNG: stored, its hash on the report, the code shown once.
        png = png_bytes()
        filed = await client.post(
            "/lapor", data=report_form(token), files=[("berkas", ("foto layar.png", png, "image/png"))]
        )
        assert filed.status_code == 200, filed.text
        assert "location" not in filed.headers
        found = CODE.search(filed.text)
        assert found is not None
        code = found.group(1)
        assert "Simpan kode ini sekarang" in shown(filed) and "hanya ditampilkan sekali" in shown(filed)
        assert filed.headers["cache-control"] == "no-store"
        report = await store.reports.find_one({})
        assert report is not None and report["anonymous"] is False
        stored_file = next(e for e in report["evidence"] if "file_id" in e)
        assert stored_file["sha256"] == hashlib.sha256(png).hexdigest()
        assert stored_file["media_type"] == "image/png" and "name" not in stored_file
        assert {"url": "https://instagram.com/p/abc123"} in report["evidence"]
        assert await store.evidence_content(stored_file["file_id"]) == png
        assert report["accused"]["org_unit_code"] == "32.01.001"
        case_id = report["case_id"]

        # Tracking: the code in the body, the history with its reasons.
        track_token = await csrf_of(client, "/lacak")
        tracked = await client.post("/lacak", data={"csrf_token": track_token, "kode": code.lower()})
        assert tracked.status_code == 200 and "Laporan diterima" in shown(tracked)
        assert "menunggu verifikasi" in shown(tracked)
        unknown = await client.post("/lacak", data={"csrf_token": track_token, "kode": "0000-0000-0000"})
        assert unknown.status_code == 404 and "kode pelacakan tidak ditemukan" in shown(unknown)
        malformed = await client.post("/lacak", data={"csrf_token": track_token, "kode": "abc"})
        assert malformed.status_code == 422 and "XXXX-XXXX-XXXX" in shown(malformed)

        # Adding information later: text and a file, kept on the report for the handlers.
        added = await client.post(
            "/lacak/tambah",
            data={"csrf_token": track_token, "kode": code, "keterangan": "Unggahan kedua pada 2 November."},
            files=[("berkas", ("surat.pdf", b"%PDF-1.4\n%test\n", "application/pdf"))],
        )
        assert added.status_code == 200, added.text
        assert "Informasi tambahan Anda sudah kami terima" in shown(added)
        assert "Unggahan kedua pada 2 November." in shown(added)
        empty = await client.post("/lacak/tambah", data={"csrf_token": track_token, "kode": code})
        assert empty.status_code == 422 and "tulis keterangan tambahan" in shown(empty)
        report = await store.reports.find_one({"_id": report["_id"]})
        assert report is not None and len(report["additions"]) == 1
        added_file = report["additions"][0]["evidence"][0]
        assert added_file["media_type"] == "application/pdf"

        # The case pages need a sign-in, and a case handler's role.
        to_sign_in = await client.get("/kasus")
        assert to_sign_in.status_code == 303 and to_sign_in.headers["location"] == "/masuk?lanjut=/kasus"
        to_sign_in = await client.get(f"/kasus/{case_id}/bukti/{stored_file['file_id']}")
        assert to_sign_in.status_code == 303 and to_sign_in.headers["location"].startswith("/masuk?lanjut=")
        sign_in(client, settings, "employee", employee_id="198503152010011005")
        wrong_role = await client.get("/kasus")
        assert wrong_role.status_code == 403 and "Anda tidak berhak membuka halaman ini" in shown(wrong_role)
        sign_in(client, settings, "opd_admin", org_unit="32.01.001")
        assert (await client.get(f"/kasus/{case_id}/bukti/{stored_file['file_id']}")).status_code == 403
        admin_view = await client.get(f"/kasus/{case_id}")
        assert admin_view.status_code == 200 and "Laporan (" not in shown(admin_view)
        assert "instagram.com" not in shown(admin_view) and action_buttons(admin_view.text) == set()

        # The queue, with its filters and the verification deadline in working days.
        sign_in(client, settings, "bkpsdm")
        queue = await client.get("/kasus")
        assert queue.status_code == 200 and f"/kasus/{case_id}" in shown(queue)
        assert "sisa 6 hari kerja" in shown(queue)  # 7 calendar days from Monday: Mon to Mon, 6 working days
        assert f"/kasus/{case_id}" not in (await client.get("/kasus", params={"status": "verified"})).text
        assert f"/kasus/{case_id}" in (await client.get("/kasus", params={"unit": "32.01.001"})).text
        assert f"/kasus/{case_id}" not in (await client.get("/kasus", params={"terlambat": "ya"})).text

        # The case page: the reports with their evidence, and a form for exactly the allowed actions.
        case_page = await client.get(f"/kasus/{case_id}")
        assert case_page.status_code == 200
        api_view = await client.get(
            f"/v1/reports/{case_id}", headers={"Authorization": f"Bearer {mint('bkpsdm')}"}
        )
        assert action_buttons(case_page.text) == set(api_view.json()["allowed_actions"])
        assert stored_file["sha256"] in shown(case_page) and "Unggahan kedua pada 2 November." in shown(
            case_page
        )
        download = await client.get(f"/kasus/{case_id}/bukti/{stored_file['file_id']}")
        assert download.status_code == 200 and download.content == png
        assert download.headers["content-disposition"].startswith("attachment;")
        assert download.headers["x-content-type-options"] == "nosniff"
        pdf = await client.get(f"/kasus/{case_id}/bukti/{added_file['file_id']}")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        assert (await client.get(f"/kasus/{case_id}/bukti/tidak-ada")).status_code == 404

        # An action without its CSRF token, or with a reason too short: refused, said in the form.
        case_token = CSRF.search(case_page.text)
        assert case_token is not None
        no_csrf = await client.post(
            f"/kasus/{case_id}/tindakan", data={"action": "verify", "reason": "x" * 20}
        )
        assert no_csrf.status_code == 403
        short = await client.post(
            f"/kasus/{case_id}/tindakan",
            data={"csrf_token": case_token.group(1), "action": "verify", "reason": "ok"},
        )
        assert short.status_code == 422 and "terlalu pendek" in shown(short)
        assert 'id="aksi-verify-kasus"' in shown(short)

        # The handler verifies the case; the citizen reads the reason on the tracking page.
        reason = "Bukti unggahan Instagram terverifikasi oleh satgas netralitas."
        verified = await client.post(
            f"/kasus/{case_id}/tindakan",
            data={"csrf_token": case_token.group(1), "action": "verify", "reason": reason},
        )
        assert verified.status_code == 303
        assert verified.headers["location"] == f"/kasus/{case_id}?berhasil=verify"
        after = await client.get(verified.headers["location"])
        assert "Berhasil: verifikasi laporan" in shown(after) and reason in shown(after)
        assert "verify" not in action_buttons(after.text)
        sign_out(client)
        track_token = await csrf_of(client, "/lacak")
        tracked = await client.post("/lacak", data={"csrf_token": track_token, "kode": code})
        assert "Laporan diverifikasi satuan tugas netralitas" in shown(tracked) and reason in shown(tracked)

        # Lateness: Bawaslu's 3 working days pass; the queue shows it late and filters on it.
        clock.advance(dt.timedelta(days=8))
        await pemda.app.state.reports_usecases.scan_deadlines(clock.now())
        sign_in(client, settings, "bkpsdm")
        late = await client.get("/kasus", params={"terlambat": "ya"})
        assert f"/kasus/{case_id}" in shown(late) and "terlambat 3 hari kerja" in shown(late)
        assert f"/kasus/{case_id}" not in (await client.get("/kasus", params={"terlambat": "tidak"})).text

        # Opening the reporter's identity: a reason first, then shown once and audited.
        case_page = await client.get(f"/kasus/{case_id}")
        case_token = CSRF.search(case_page.text)
        assert case_token is not None and 'id="buka-identitas"' in shown(case_page)
        no_reason = await client.post(
            f"/kasus/{case_id}/identitas", data={"csrf_token": case_token.group(1), "alasan": "perlu"}
        )
        assert no_reason.status_code == 422 and "minimal 10 karakter" in shown(no_reason)
        assert await store.access_log.count_documents({}) == 0
        opened = await client.post(
            f"/kasus/{case_id}/identitas",
            data={"csrf_token": case_token.group(1), "alasan": "Meminta keterangan tambahan dari pelapor."},
        )
        assert (
            opened.status_code == 200
            and "Rina Wulandari" in shown(opened)
            and "rina.w@example.org" in shown(opened)
        )
        assert "dicatat dalam log audit" in shown(opened)
        entries = await store.access_log.find({}).to_list()
        assert len(entries) == 1 and entries[0]["reason"] == "Meminta keterangan tambahan dari pelapor."
        assert "Rina Wulandari" not in (await client.get(f"/kasus/{case_id}")).text
        sign_in(client, settings, "ppk")
        ppk_page = await client.get(f"/kasus/{case_id}")
        assert ppk_page.status_code == 200 and 'id="buka-identitas"' not in shown(ppk_page)
        ppk_token = CSRF.search(ppk_page.text)
        assert ppk_token is not None
        forbidden = await client.post(
            f"/kasus/{case_id}/identitas",
            data={"csrf_token": ppk_token.group(1), "alasan": "Meminta keterangan tambahan dari pelapor."},
        )
        assert forbidden.status_code == 403 and "Anda tidak berhak" in shown(forbidden)
        assert await store.access_log.count_documents({}) == 1

    # The tracking code is in no log line, and in no URL any request was sent to.
    assert code not in caplog.text
    for record in caplog.records:
        assert code not in json.dumps(record.__dict__, default=str)


async def test_the_case_page_offers_each_role_its_allowed_actions_with_their_fields(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path
) -> None:
    clock = FixedClock(NOW)
    async with registry_and_reports(
        settings_kwargs, key_dir, mint("bkpsdm"), clock, rate_limit_tracking="2/minute"
    ) as pemda:
        client, settings = pemda.reports, pemda.settings
        token = await csrf_of(client, "/lapor")

        # Tracking has the JSON API's rate limit, said on the page.
        for _ in range(2):
            assert (
                await client.post("/lacak", data={"csrf_token": token, "kode": "0000-0000-0000"})
            ).status_code == 404
        limited = await client.post("/lacak", data={"csrf_token": token, "kode": "0000-0000-0000"})
        assert limited.status_code == 429 and "terlalu banyak permintaan" in shown(limited)
        filed = await client.post(
            "/lapor",
            data=report_form(
                token,
                **{"terlapor-0-unit": "32.01.001", "pelapor-nama": "", "pelapor-kontak": "", "tautan": ""},
            ),
        )
        assert filed.status_code == 200, filed.text
        case_id = (await pemda.app.state.reports_store.reports.find_one({}))["case_id"]

        async def page_of(role: str) -> str:
            sign_in(client, settings, role)
            page = await client.get(f"/kasus/{case_id}")
            assert page.status_code == 200, page.text
            return page.text

        async def api_allowed(role: str) -> set[str]:
            answer = await client.get(
                f"/v1/reports/{case_id}", headers={"Authorization": f"Bearer {mint(role)}"}
            )
            return set(answer.json()["allowed_actions"])

        async def act(role: str, action: str, **fields: str) -> httpx.Response:
            sign_in(client, settings, role)
            page = await client.get(f"/kasus/{case_id}")
            found = CSRF.search(page.text)
            assert found is not None
            data: dict[str, Any] = {"csrf_token": found.group(1), "action": action, **fields}
            return await client.post(f"/kasus/{case_id}/tindakan", data=data)

        for role in ("bkpsdm", "bkn", "bawaslu", "inspektorat", "ppk"):
            assert action_buttons(await page_of(role)) == await api_allowed(role), role
        assert (
            await act("bkn", "verify", reason="Bukti cukup untuk diteruskan ke Bawaslu.")
        ).status_code == 303
        bawaslu = await page_of("bawaslu")
        assert action_buttons(bawaslu) == {"reject", "recommend"} and 'name="bawaslu_reference"' in bawaslu

        async def post(role: str, path: str, **fields: str) -> httpx.Response:
            sign_in(client, settings, role)
            found = CSRF.search((await client.get(f"/kasus/{case_id}")).text)
            assert found is not None
            return await client.post(
                f"/kasus/{case_id}/{path}", data={"csrf_token": found.group(1), **fields}
            )

        # Bawaslu extends its review once, with a reason; the form is gone afterwards.
        assert 'id="perpanjang-bawaslu_review"' in bawaslu
        too_long = await post(
            "bawaslu", "tenggat", deadline="bawaslu_review", working_days="30", reason="x" * 12
        )
        assert too_long.status_code == 422
        extended = await post(
            "bawaslu",
            "tenggat",
            deadline="bawaslu_review",
            working_days="2",
            reason="Menunggu keterangan saksi.",
        )
        assert extended.status_code == 303 and extended.headers["location"].endswith(
            "berhasil=extend_deadline"
        )
        assert 'id="perpanjang-bawaslu_review"' not in await page_of("bawaslu")
        assert (
            await post("bkn", "tenggat", deadline="bawaslu_review", working_days="1", reason="x" * 12)
        ).status_code == 403

        # The task force confirms who the subject is; an unknown employee is refused on the page.
        assert 'id="subjek-s1-tetapkan"' in await page_of("bkpsdm")
        unknown = await post("bkpsdm", "subjek", employee_id="199999999999999999", subject_id="s1")
        assert unknown.status_code == 422 and "belum dikenal" in shown(unknown)
        assigned = await post("bkpsdm", "subjek", employee_id="198503152010011005", subject_id="s1")
        assert assigned.status_code == 303 and assigned.headers["location"].endswith(
            "berhasil=assign_subject"
        )
        assert (await post("bawaslu", "subjek", employee_id="198503152010011005")).status_code == 403
        assert (
            await act("bawaslu", "recommend", reason="Rekomendasi Bawaslu kepada PPK.")
        ).status_code == 303
        inspektorat = await page_of("inspektorat")
        assert "examine" in action_buttons(inspektorat) and 'name="violation_class"' in inspektorat
        examined = await act(
            "inspektorat",
            "examine",
            reason="Pemeriksaan selesai; terbukti.",
            violation_class="etika",
            subject_id="s1",
        )
        assert examined.status_code == 303, examined.text
        ppk = await page_of("ppk")
        assert {"decide_sanction", "decide_not_proven"} <= action_buttons(ppk)
        assert 'name="sanction"' in ppk and 'value="moral_pernyataan_tertutup"' in ppk
        # Only the lawful sanctions are offered; one from elsewhere is refused in the form.
        assert 'value="pemberhentian_tidak_atas_permintaan"' not in ppk
        unlawful = await act(
            "ppk",
            "decide_sanction",
            reason="Sanksi dijatuhkan.",
            sanction="pemberhentian_tidak_atas_permintaan",
        )
        assert unlawful.status_code == 422 and "tidak sah" in shown(unlawful)
        decided = await act(
            "ppk",
            "decide_sanction",
            reason="Sanksi moral dijatuhkan.",
            sanction="moral_pernyataan_tertutup",
            subject_id="s1",
        )
        assert decided.status_code == 303, decided.text
        bkpsdm = await page_of("bkpsdm")
        assert "record" in action_buttons(bkpsdm) and 'name="decree_number"' in bkpsdm
        missing_decree = await act("bkpsdm", "record", reason="Keputusan dicatat.", subject_id="s1")
        assert missing_decree.status_code == 422 and "nomor dan tanggal surat keputusan" in shown(
            missing_decree
        )
        # A role the action is not for: the domain's refusal, in the form (403).
        refused = await act("bawaslu", "close", reason="Kasus ditutup oleh Bawaslu.")
        assert refused.status_code in (403, 409) and "tidak" in shown(refused)
