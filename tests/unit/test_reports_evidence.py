"""Evidence files (type by content, limits), what a reporter adds later, and deadline badges in
working days: the pure rules behind the reports pages."""

from __future__ import annotations

import datetime as dt

import pytest

from services.kit.errors import InvalidInput
from services.reports.domain import (
    EVIDENCE_MAX_BYTES,
    EVIDENCE_MAX_FILES,
    DeadlineKind,
    check_addition,
    check_evidence_files,
    deadline_badges,
    deadline_due,
    evidence_download_name,
    evidence_entry,
    sniff_evidence_type,
)
from services.reports.workdays import WorkingCalendar

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20
PDF = b"%PDF-1.7\n"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 12


def test_the_type_is_read_from_the_content_not_the_name() -> None:
    assert sniff_evidence_type(PNG) == "image/png"
    assert sniff_evidence_type(JPEG) == "image/jpeg"
    assert sniff_evidence_type(PDF) == "application/pdf"
    assert sniff_evidence_type(MP4) == "video/mp4"
    assert sniff_evidence_type(b"ini bukan gambar") is None
    assert sniff_evidence_type(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
    with pytest.raises(InvalidInput) as refused:
        check_evidence_files([("foto.png", b"ini bukan gambar")])
    assert "'foto.png' bukan berkas JPEG, PNG, PDF atau MP4" in refused.value.errors[0]["message"]


def test_every_bad_file_is_named_at_once_and_the_limits_hold() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_evidence_files(
            [
                ("a.png", PNG),
                ("kosong.jpg", b""),
                ("besar.mp4", MP4 + b"\x00" * EVIDENCE_MAX_BYTES),
                ("x.txt", b"teks"),
            ]
        )
    messages = [error["message"] for error in refused.value.errors]
    assert len(messages) == 3
    assert (
        "'kosong.jpg' kosong" in messages[0]
        and "lebih dari 10 MB" in messages[1]
        and "'x.txt'" in messages[2]
    )
    with pytest.raises(InvalidInput, match="paling banyak 5 berkas"):
        check_evidence_files([("a.png", PNG)] * (EVIDENCE_MAX_FILES + 1))
    checked = check_evidence_files([("C:\\Users\\rina\\bukti.pdf", PDF), ("", JPEG)])
    assert [(f.media_type, f.number, f.size) for f in checked] == [
        ("application/pdf", 1, len(PDF)),
        ("image/jpeg", 2, 24),
    ]


def test_the_report_keeps_the_hash_and_type_but_never_the_file_name() -> None:
    (checked,) = check_evidence_files([("IMG_rina_hp.png", PNG)])
    entry = evidence_entry("f1", checked)
    assert entry == {"file_id": "f1", "sha256": checked.sha256, "media_type": "image/png", "size": len(PNG)}
    assert "rina" not in str(entry)
    assert evidence_download_name(entry) == f"bukti-{checked.sha256[:12]}.png"


def test_an_addition_needs_some_text_or_a_file() -> None:
    assert check_addition("  Ada saksi lain di lokasi.  ", 0) == "Ada saksi lain di lokasi."
    assert check_addition("", 1) == ""
    with pytest.raises(InvalidInput, match="minimal 10 karakter"):
        check_addition("oke", 0)
    with pytest.raises(InvalidInput, match="terlalu panjang"):
        check_addition("x" * 5001, 1)


def test_deadline_badges_count_working_days_left_and_late() -> None:
    calendar = WorkingCalendar("Asia/Jakarta")
    received = dt.datetime(2024, 11, 4, 2, 0, tzinfo=dt.UTC)  # Monday 09:00 WIB
    due = deadline_due(DeadlineKind.VERIFICATION, received, calendar)  # end of Monday 11 November
    case = {"state": "received", "deadlines": {"verification": due}}
    (badge,) = deadline_badges(case, received, calendar)
    assert (badge.working_days, badge.late) == (6, False)  # Mon 4 to Mon 11, weekend out
    on_the_last_day = dt.datetime(2024, 11, 11, 10, 0, tzinfo=dt.UTC)
    assert deadline_badges(case, on_the_last_day, calendar)[0].working_days == 1
    (late,) = deadline_badges(case, dt.datetime(2024, 11, 14, 3, 0, tzinfo=dt.UTC), calendar)
    assert (late.working_days, late.late) == (3, True)  # Tue 12, Wed 13, Thu 14
    assert deadline_badges({**case, "state": "verified"}, received, calendar) == []
