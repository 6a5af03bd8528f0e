"""The signing pages' own helpers: the chart, the waiting heading, the SSE framing, times in the
pemda's zone, CSV cells and the QR code's size."""

from __future__ import annotations

import datetime as dt

from services.signing.pages import (
    _spreadsheet_safe,
    hourly_chart,
    local_time,
    qr_svg,
    sse_event,
    waiting_heading,
)
from services.signing.usecases import OPD_HEAD_TITLE, WaitedLeader

NOW = dt.datetime(2026, 12, 2, 2, 40, tzinfo=dt.UTC)


def test_the_chart_has_a_bar_per_hour_quiet_hours_included() -> None:
    hours = [
        (dt.datetime(2026, 12, 2, 0, tzinfo=dt.UTC), 10),
        (dt.datetime(2026, 12, 2, 2, tzinfo=dt.UTC), 5),
    ]
    chart = hourly_chart(hours, "Asia/Jakarta", NOW, span=4)
    assert [bar.count for bar in chart.bars] == [0, 10, 0, 5]
    assert [bar.label for bar in chart.bars] == ["06", "07", "08", "09"]  # WIB
    assert chart.bars[1].height == chart.height and chart.bars[3].height == chart.height // 2
    assert chart.total == 15 and chart.peak == 10
    assert chart.last == "2 Desember 2026 pukul 09.00 WIB"


def test_an_empty_chart_ends_now_and_draws_nothing() -> None:
    chart = hourly_chart([], "Asia/Makassar", NOW)
    assert len(chart.bars) == 24 and all(bar.height == 0 for bar in chart.bars)
    assert chart.last.endswith("10.00 WITA")


def test_the_heading_names_whom_the_signer_waits_for() -> None:
    one = (WaitedLeader("1", "Budi", OPD_HEAD_TITLE),)
    assert waiting_heading(one) == "kepala OPD Anda: Budi"
    two_heads = (WaitedLeader("1", "Budi", OPD_HEAD_TITLE), WaitedLeader("2", "Sari", OPD_HEAD_TITLE))
    assert waiting_heading(two_heads) == "kepala OPD Anda: Budi atau Sari"  # one of them is enough
    pemda = (WaitedLeader("3", "Ani", "Sekda"), WaitedLeader("4", "Joko", "Pj kepala daerah"))
    assert waiting_heading(pemda) == "Sekda: Ani; Pj kepala daerah: Joko"  # both must sign


def test_an_event_carries_every_line_of_the_fragment() -> None:
    assert (
        sse_event("kemajuan", "<p>\n1 dari 3\n</p>")
        == "event: kemajuan\ndata: <p>\ndata: 1 dari 3\ndata: </p>\n\n"
    )
    assert sse_event("kemajuan", "") == "event: kemajuan\ndata: \n\n"


def test_times_read_as_the_pemda_reads_them() -> None:
    assert local_time("2026-12-02T02:05:00.000000Z", "Asia/Jakarta") == "2 Desember 2026 pukul 09.05 WIB"
    assert local_time(dt.datetime(2026, 1, 31, 20, 0), "Asia/Jayapura") == "1 Februari 2026 pukul 05.00 WIT"


def test_a_name_is_never_a_spreadsheet_formula() -> None:
    assert _spreadsheet_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _spreadsheet_safe("Budi") == "Budi"


def test_the_qr_code_is_small_inline_svg() -> None:
    svg = str(qr_svg("http://127.0.0.1:8002/verifikasi/QCPH-JNWK-BCPZ"))
    assert svg.startswith('<svg role="img"') and len(svg) < 5000
