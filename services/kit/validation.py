"""Validation errors in Bahasa Indonesia, for the API's 422 answers and import reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TEMPLATES = {
    "missing": "wajib diisi",
    "string_too_short": "terlalu pendek (minimal {min_length} karakter)",
    "string_too_long": "terlalu panjang (maksimal {max_length} karakter)",
    "string_pattern_mismatch": "format tidak sesuai (pola {pattern})",
    "string_type": "harus berupa teks",
    "enum": "harus salah satu dari: {expected}",
    "literal_error": "harus salah satu dari: {expected}",
    "extra_forbidden": "kolom ini tidak dikenal",
    "date_from_datetime_parsing": "bukan tanggal yang valid (YYYY-MM-DD)",
    "date_parsing": "bukan tanggal yang valid (YYYY-MM-DD)",
    "int_parsing": "harus berupa bilangan bulat",
    "bool_parsing": "harus true atau false",
    "greater_than_equal": "minimal {ge}",
    "less_than_equal": "maksimal {le}",
    "json_invalid": "JSON tidak valid",
    "model_attributes_type": "harus berupa objek JSON",
}


def readable_message(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    message = str(error.get("msg", ""))
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
        if "email address" in message:
            return "alamat email tidak valid"
        return message
    if kind == "string_pattern_mismatch" and error.get("loc") and error["loc"][-1] == "email":
        return "alamat email tidak valid"
    template = _TEMPLATES.get(kind)
    if template is None:
        return message
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return message


def field_errors(errors: list[Mapping[str, Any]] | Any) -> list[dict[str, Any]]:
    readable = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        readable.append({"field": ".".join(location) or None, "message": readable_message(error)})
    return readable
