"""Codes people write down: services/kit/codes.py."""

from __future__ import annotations

import re

import pytest

from services.kit.codes import CODE_ALPHABET, new_code, normalise_code

CODE_FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


def test_code_alphabet_is_crockford() -> None:
    assert len(CODE_ALPHABET) == 32 and not set("ILOU") & set(CODE_ALPHABET)


def test_codes_have_format_and_do_not_repeat() -> None:
    codes = [new_code() for _ in range(10_000)]
    assert all(CODE_FORMAT.match(code) for code in codes)
    assert len(set(codes)) == len(codes)
    # Every symbol turns up: the codes use the whole alphabet, not a predictable part of it.
    assert set("".join(codes).replace("-", "")) == set(CODE_ALPHABET)


@pytest.mark.parametrize(
    "typed", ["AB12-CD34-EF56", "ab12cd34ef56", " ab12-cd34ef56 ", "AB12 CD34 EF56", "ab12-Cd34-eF56"]
)
def test_normalise_code_accepts_what_people_type(typed: str) -> None:
    assert normalise_code(typed) == "AB12-CD34-EF56"


def test_normalise_code_reads_confusable_letters_as_digits() -> None:
    assert normalise_code("oOiI-lL00-1111") == "0011-1100-1111"


@pytest.mark.parametrize(
    "typed", ["", "AB12-CD34-EF5", "AB12-CD34-EF567", "AB12-CD34-EFU6", "AB12-CD34-EF5!"]
)
def test_normalise_code_rejects(typed: str) -> None:
    with pytest.raises(ValueError, match="kode tanda terima"):
        normalise_code(typed, "kode tanda terima")


def test_normalise_code_keeps_generated_codes() -> None:
    for _ in range(100):
        code = new_code()
        assert normalise_code(code) == code
        assert normalise_code(code.lower().replace("-", "")) == code
