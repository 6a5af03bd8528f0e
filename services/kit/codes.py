"""Short codes that people write down and type back: receipt codes, report tracking codes."""

from __future__ import annotations

import re
import secrets

from services.kit.errors import InvalidInput

# Crockford base32: no I, L, O or U, so a code read aloud or copied by hand survives.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 60 bits: not guessable, yet short enough to write down
CODE_PATTERN = re.compile(rf"^[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}$")
_CODE_FIXES = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})


def _group(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def new_code() -> str:
    """XXXX-XXXX-XXXX from a cryptographic random source: the code alone opens what it names."""
    return _group("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)))


def normalise_code(text: str, what: str = "kode", field: str = "code") -> str:
    """The canonical form of a code as typed by a person: any case, dashes or spaces optional,
    and the letters people confuse with digits (O, I, L) read as the digits. Anything else is
    invalid input in `field` (a 422)."""
    raw = text.strip().upper().translate(_CODE_FIXES)
    if len(raw) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in raw):
        message = f"{what} harus 12 karakter huruf/angka dengan format XXXX-XXXX-XXXX (tanpa huruf U)"
        raise InvalidInput.one(field, message)
    return _group(raw)
