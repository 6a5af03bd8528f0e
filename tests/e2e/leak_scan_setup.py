"""The leak scan's instruments: the personal values it looks for, in every spelling a careless
writer could give them, and readers for everything a service writes (MongoDB documents and
GridFS files, Kafka records, log lines, `/metrics`).

Nothing is whitelisted. Sealed and encrypted fields pass because they do not contain the value in
any of its spellings, not because the scan skips them."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from aiokafka.structs import ConsumerRecord  # type: ignore[import-untyped]
from pymongo import AsyncMongoClient

from tests.integration.notify_setup import Mailbox

NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")
SHORTEST_COMPACT = 8
"""Shorter values without their separators could match by chance (in ciphertext, say)."""
EXCERPT = 48


def compact(text: str) -> str:
    """Lower case, letters and digits only: `0812-7788 9911`, `AB12-CD34` and `ab12cd34` alike."""
    return NOT_ALPHANUMERIC.sub("", text.lower())


def base64_spellings(value: str) -> set[str]:
    """The characters every base64 encoding of a blob containing `value` must contain, at each
    of the three byte alignments, in both alphabets."""
    raw = value.encode()
    spellings: set[str] = set()
    for offset, head in ((0, 0), (1, 2), (2, 3)):
        encoded = base64.b64encode(b"\0" * offset + raw).decode().rstrip("=")
        tail = 0 if (offset + len(raw)) % 3 == 0 else 1
        core = encoded[head : len(encoded) - tail]
        if len(core) >= SHORTEST_COMPACT:
            spellings |= {core, core.replace("+", "-").replace("/", "_")}
    return spellings


def unkeyed_digests(value: str) -> set[str]:
    """Hex digests anyone can recompute: for a NIK, a phone number or a 60-bit code, a lookup
    table away from the value itself."""
    return {
        algorithm(text.encode()).hexdigest()
        for text in {value, value.lower(), value.upper()}
        for algorithm in (hashlib.sha256, hashlib.sha1, hashlib.md5)
    }


@dataclass(frozen=True)
class Needle:
    """One personal value. `spellings` are other ways of writing the same value (a phone
    number in its national form, a code without dashes)."""

    kind: str
    value: str
    spellings: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.kind} {self.value!r}"


def phone_needle(kind: str, number: str) -> Needle:
    """An Indonesian number (`+62 8…`) also as written at home: `08…`, or without either prefix."""
    digits = re.sub(r"\D", "", number)
    national = digits.removeprefix("62")
    return Needle(kind, number, (digits, f"0{national}", national))


@dataclass(frozen=True)
class Hit:
    needle: Needle
    form: str
    """How it was written: as is, without separators, URL-encoded, base64, or an unkeyed hash."""
    excerpt: str


@dataclass(frozen=True)
class Leak:
    where: str
    hit: Hit

    def __str__(self) -> str:
        shown = f" …{self.hit.excerpt}…" if self.hit.excerpt else ""
        return f"{self.where}: {self.hit.needle} ({self.hit.form}){shown}"


@dataclass
class _Forms:
    lowered: set[str] = field(default_factory=set)
    compacted: set[str] = field(default_factory=set)
    encoded: set[str] = field(default_factory=set)
    digests: set[str] = field(default_factory=set)


class LeakScanner:
    """Finds any of the needles in a text, in any of their spellings; at most one hit per needle
    and text, the plainest form first."""

    def __init__(self, needles: Iterable[Needle]) -> None:
        self.needles = list(needles)
        self._forms: dict[Needle, _Forms] = {}
        for needle in self.needles:
            forms = _Forms()
            for spelling in (needle.value, *needle.spellings):
                forms.lowered.add(spelling.lower())
                if len(compact(spelling)) >= SHORTEST_COMPACT:
                    forms.compacted.add(compact(spelling))
                forms.encoded |= base64_spellings(spelling)
                forms.digests |= unkeyed_digests(spelling)
            self._forms[needle] = forms

    def hits(self, text: str) -> list[Hit]:
        if not text:
            return []
        lowered = text.lower()
        compacted = compact(text)
        decoded = compact(unquote_plus(text)) if "%" in text or "+" in text else compacted
        found: list[Hit] = []
        for needle, forms in self._forms.items():
            hit = self._first(needle, forms, text, lowered, compacted, decoded)
            if hit is not None:
                found.append(hit)
        return found

    @staticmethod
    def _first(
        needle: Needle, forms: _Forms, text: str, lowered: str, compacted: str, decoded: str
    ) -> Hit | None:
        for form in forms.lowered:
            at = lowered.find(form)
            if at >= 0:
                return Hit(needle, "as written", _excerpt(text, at, len(form)))
        if any(form in compacted for form in forms.compacted):
            return Hit(needle, "without separators", "")
        if any(form in decoded for form in forms.compacted):
            return Hit(needle, "URL-encoded", "")
        if any(form in text for form in forms.encoded):
            return Hit(needle, "in base64", "")
        if any(form in lowered for form in forms.digests):
            return Hit(needle, "as an unkeyed hash", "")
        return None

    def leaks(self, where: str, text: str) -> list[Leak]:
        return [Leak(where, hit) for hit in self.hits(text)]

    def found(self, text: str) -> set[Needle]:
        return {hit.needle for hit in self.hits(text)}

    # ------------------------------------------------------------ structured values

    def in_value(self, where: str, value: Any) -> list[Leak]:
        """Every key and leaf of a decoded document or JSON value, each with its path."""
        return [leak for path, text in _leaves(value, "") for leak in self.leaks(f"{where}{path}", text)]

    def in_record(self, record: ConsumerRecord[bytes, bytes]) -> list[Leak]:
        where = f"{record.topic}:{record.partition}:{record.offset}"
        leaks = self.leaks(f"{where} key", _text(record.key))
        value = _text(record.value)
        try:
            decoded = json.loads(value)
        except ValueError:
            leaks += self.leaks(f"{where} value", value)
        else:
            leaks += self.in_value(f"{where} value", decoded)
        for name, header in record.headers:
            leaks += self.leaks(f"{where} header {name}", f"{name}\n{_text(header)}")
        return leaks

    def in_lines(self, where: str, text: str) -> list[Leak]:
        return [
            leak for n, line in enumerate(text.splitlines(), 1) for leak in self.leaks(f"{where}:{n}", line)
        ]


def _text(raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw


def _excerpt(text: str, at: int, length: int) -> str:
    start, end = max(0, at - EXCERPT), min(len(text), at + length + EXCERPT)
    return " ".join(text[start:end].split())


def _leaves(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key} (key)", str(key)
            yield from _leaves(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    elif isinstance(value, bytes):
        yield path, value.decode("utf-8", errors="replace")
    elif value is not None:
        yield path, str(value)


# ---------------------------------------------------------------- what the services wrote


async def scan_databases(
    mongo: AsyncMongoClient[dict[str, Any]], prefix: str, scanner: LeakScanner
) -> tuple[list[Leak], dict[str, list[str]]]:
    """Every document of every collection of every database named `prefix…`, field by field,
    and every GridFS file put back together (a value could straddle two chunks). Returns the
    leaks and the collections read, by database."""
    leaks: list[Leak] = []
    collections: dict[str, list[str]] = {}
    for database in sorted(name for name in await mongo.list_database_names() if name.startswith(prefix)):
        names = sorted(await mongo[database].list_collection_names())
        collections[database] = names
        for name in names:
            async for doc in mongo[database][name].find():
                leaks += scanner.in_value(f"{database}.{name}[{doc.get('_id')!s}]", doc)
            if name.endswith(".chunks"):
                leaks += await _gridfs_files(mongo, database, name, scanner, leaks)
    return leaks, collections


async def _gridfs_files(
    mongo: AsyncMongoClient[dict[str, Any]],
    database: str,
    chunks: str,
    scanner: LeakScanner,
    known: list[Leak],
) -> list[Leak]:
    files: dict[Any, list[tuple[int, bytes]]] = {}
    async for chunk in mongo[database][chunks].find({}, {"files_id": 1, "n": 1, "data": 1}):
        files.setdefault(chunk["files_id"], []).append((chunk["n"], bytes(chunk["data"])))
    leaks: list[Leak] = []
    for files_id, parts in files.items():
        content = b"".join(data for _, data in sorted(parts)).decode("utf-8", errors="replace")
        already = {leak.hit.needle for leak in known if leak.where.startswith(f"{database}.{chunks}[")}
        where = f"{database}.{chunks.removesuffix('.chunks')} file {files_id!s} (chunks joined)"
        leaks += [leak for leak in scanner.leaks(where, content) if leak.hit.needle not in already]
    return leaks


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers:
        if key == name:
            return _text(value)
    return None


def log_leaks(paths: Iterable[Path], scanner: LeakScanner) -> list[Leak]:
    return [leak for path in paths for leak in scanner.in_lines(path.name, path.read_text(errors="replace"))]


# ---------------------------------------------------------------- the outside world


@dataclass
class EchoingMailbox(Mailbox):
    """An SMTP server that refuses some recipients the way real ones do, naming the address in
    its 5xx reply (which aiosmtplib then carries in its exception text)."""

    refused_attempts: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            self.refused_attempts += 1
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
        return await super().handle_RCPT(server, session, envelope, address, options)
