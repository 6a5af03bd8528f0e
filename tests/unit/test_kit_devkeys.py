"""DEV-ONLY key files: processes started together all read the one key the first one made."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import count
from pathlib import Path

from services.kit.devkeys import read_or_create


def test_many_starting_together_agree_on_one_key_and_leave_no_candidates(tmp_path: Path) -> None:
    path = tmp_path / "dev-keys" / "notify-contact.private"
    numbers = count()

    def make() -> bytes:
        return f"key-{next(numbers)}".encode()

    with ThreadPoolExecutor(16) as pool:
        keys = set(pool.map(lambda _: read_or_create(path, make), range(64)))
    assert keys == {path.read_bytes()}
    assert [entry.name for entry in path.parent.iterdir()] == ["notify-contact.private"]
    assert path.stat().st_mode & 0o777 == 0o600
