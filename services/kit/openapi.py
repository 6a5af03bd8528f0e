"""What the OpenAPI documents say about errors: the one error body every service sends, and the
statuses each endpoint can answer with.

Endpoints declare the statuses their use cases raise (`responses=error_responses(404, 409)`);
the app adds, to every operation, those that come from the framework around them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

DESCRIPTIONS = {
    400: "permintaan tidak dapat dibaca",
    401: "token tidak ada atau tidak sah",
    403: "peran atau cakupan unit tidak mengizinkan ini",
    404: "tidak ditemukan",
    409: "keadaan saat ini tidak mengizinkan tindakan ini",
    413: "badan permintaan terlalu besar",
    422: "data tidak valid",
    429: "terlalu banyak permintaan; coba lagi nanti",
    503: "layanan sedang menyiapkan penyimpanan; coba lagi",
}


class FieldError(BaseModel):
    field: str | None = Field(description="kolom yang salah, dengan titik untuk kolom bertingkat")
    message: str = Field(description="apa yang salah, dalam Bahasa Indonesia")


class ErrorAnswer(BaseModel):
    """The body of every 4xx and 503 answer."""

    detail: str = Field(description="ringkasan kesalahan, dalam Bahasa Indonesia")
    errors: list[FieldError] | None = Field(default=None, description="per kolom, pada jawaban 422")
    allowed_actions: list[str] | None = Field(
        default=None, description="tindakan yang masih boleh, pada sebagian jawaban 409"
    )


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """For a route's `responses=`: these statuses answer with `ErrorAnswer`."""
    return {code: {"model": ErrorAnswer, "description": DESCRIPTIONS[code]} for code in codes}
