"""Contacts sealed for notify alone: the sealer cannot open, a wrong key cannot open."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.kit.sealedbox import ContactOpener, ContactSealer, dev_public_key, generate_private_key
from services.kit.sealing import Unsealable


def test_only_the_private_key_opens_what_the_public_key_sealed(tmp_path: Path) -> None:
    opener = ContactOpener(generate_private_key(), "kontak pelapor")
    sealed = ContactSealer(opener.public_key()).seal({"email": "rina@example.org"})
    assert b"rina" not in sealed
    assert opener.open(sealed) == {"email": "rina@example.org"}
    with pytest.raises(Unsealable, match="kontak pelapor tidak dapat dibuka"):
        ContactOpener(generate_private_key(), "kontak pelapor").open(sealed)
    with pytest.raises(Unsealable):
        opener.open(b"not a sealed box")


def test_the_dev_key_pair_is_one_file_and_production_needs_the_public_key(tmp_path: Path) -> None:
    key_file = tmp_path / "notify-contact.private"
    sealer = ContactSealer.from_settings(None, key_file, dev_mode=True, setting="NOTIFY_CONTACT_PUBLIC_KEY")
    opener = ContactOpener(key_file.read_bytes(), "kontak pelapor")
    assert opener.public_key() == dev_public_key(key_file)
    assert opener.open(sealer.seal({"phone": "+6281234567890"})) == {"phone": "+6281234567890"}
    with pytest.raises(RuntimeError, match="NOTIFY_CONTACT_PUBLIC_KEY belum di-set"):
        ContactSealer.from_settings(None, key_file, dev_mode=False, setting="NOTIFY_CONTACT_PUBLIC_KEY")
    with pytest.raises(ValueError, match="32 byte"):
        ContactSealer(b"c2hvcnQ=")
