"""Signing rules: the signing cascade, the pact hash, receipt codes, signed and chained receipts,
and their verification; campaigns, who may sign, chain checkpoints and deadline notices. Pure:
no I/O and no clock (the time comes in as an argument).

Messages are in Bahasa Indonesia because the people who sign, and the people who check a
receipt, read them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, TypeGuard

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts.signing import (
    CampaignSnapshot,
    ChainCheckpointV1,
    PledgeOverdueV1,
    PledgeReminderDueV1,
    PledgeSignedV1,
)
from services.kit.codes import CODE_PATTERN
from services.kit.errors import Conflict, InvalidInput

# ---------------------------------------------------------------- levels and org units

# Plain strings, exactly as they arrive in registry events: the signing service keeps its own
# view of employees and does not import the registry's code.
REGIONAL_HEAD = "REGIONAL_HEAD"
JPT = "JPT"
ADMINISTRATOR = "ADMINISTRATOR"
SUPERVISOR = "SUPERVISOR"
STAFF = "STAFF"

# Signing waves, first to last.
LEVELS: tuple[str, ...] = (REGIONAL_HEAD, JPT, ADMINISTRATOR, SUPERVISOR, STAFF)

LEVEL_LABEL = {
    REGIONAL_HEAD: "kepala daerah",
    JPT: "pejabat pimpinan tinggi (JPT)",
    ADMINISTRATOR: "pejabat administrator",
    SUPERVISOR: "pejabat pengawas",
    STAFF: "staf",
}

PROVINCE = "PROVINCE"
REGENCY = "REGENCY"
CITY = "CITY"
OPD = "OPD"
SUB_UNIT = "SUB_UNIT"

PEMDA_KINDS = frozenset({PROVINCE, REGENCY, CITY})


class CascadePolicy(StrEnum):
    STRICT = "strict"
    ADVISORY = "advisory"
    OFF = "off"


@dataclass(frozen=True)
class Signer:
    employee_id: str
    level: str
    org_unit_code: str
    org_unit_path: tuple[str, ...]  # ancestor codes, root → parent


@dataclass(frozen=True)
class LeadersSigned:
    """The leaders a signer may have to wait for, and which of them have signed this campaign."""

    opd_head_ids: frozenset[str]  # JPT-level employees of the signer's OPD
    opd_heads_signed: frozenset[str]
    regional_head_ids: frozenset[str]  # REGIONAL_HEAD employees of the signer's pemda
    regional_heads_signed: frozenset[str]


@dataclass(frozen=True)
class CascadeDecision:
    allowed: bool
    waiting_for: tuple[str, ...]  # employee ids who have not signed and block this signer
    message: str


def _named(noun: str, code: str | None) -> str:
    return f"{noun} {code}" if code else noun


def _after_regional_heads(label: str, pemda_code: str | None, leaders: LeadersSigned) -> CascadeDecision:
    # Every regional head must have signed: the bupati and the wakil bupati both lead the pemda,
    # and the pact is meant to be seen signed by the whole leadership before the next wave.
    heads = leaders.regional_head_ids
    where = _named("pemda", pemda_code)
    if not heads:
        return CascadeDecision(
            True,
            (),
            f"Boleh menandatangani: kepala daerah belum terdaftar untuk {where}, "
            "jadi tidak ada yang ditunggu",
        )
    waiting = tuple(sorted(heads - leaders.regional_heads_signed))
    if not waiting:
        return CascadeDecision(True, (), f"Kepala daerah {where} sudah menandatangani pakta")
    return CascadeDecision(
        False,
        waiting,
        f"Kepala daerah {where} belum menandatangani pakta ({len(waiting)} dari {len(heads)} belum); "
        f"{label} dapat menandatangani setelah seluruh kepala daerah",
    )


def _after_opd_head(label: str, opd_code: str, leaders: LeadersSigned) -> CascadeDecision:
    # One signed head is enough: an OPD has one head, and a second JPT on file is usually the
    # acting head (Plt) or a leftover of a transfer, who must not hold the whole OPD back.
    heads = leaders.opd_head_ids
    if not heads:
        return CascadeDecision(
            True,
            (),
            f"Boleh menandatangani: kepala OPD belum terdaftar untuk OPD {opd_code}, "
            "jadi tidak ada yang ditunggu",
        )
    if heads & leaders.opd_heads_signed:
        return CascadeDecision(True, (), f"Kepala OPD {opd_code} sudah menandatangani pakta")
    return CascadeDecision(
        False,
        tuple(sorted(heads)),
        f"Kepala OPD {opd_code} belum menandatangani pakta; {label} dapat menandatangani setelah kepala OPD",
    )


def cascade_gate(
    signer: Signer, opd_code: str | None, pemda_code: str | None, leaders_signed: LeadersSigned
) -> CascadeDecision:
    """May this signer sign now? Within an OPD the next wave waits for the OPD's head; the OPD heads
    wait for the regional heads; the regional heads open the campaign and wait for no one."""
    if signer.level not in LEVEL_LABEL:
        raise ValueError(f"level tidak dikenal: {signer.level}")
    label = LEVEL_LABEL[signer.level]
    if signer.level == REGIONAL_HEAD:
        return CascadeDecision(True, (), "Kepala daerah membuka gelombang pertama; tidak menunggu siapa pun")
    if signer.level == JPT or opd_code is None:
        # Staff of the pemda itself (e.g. the Sekda's office staff on file outside any OPD) have
        # no OPD head to wait for; the nearest leaders above them are the regional heads.
        return _after_regional_heads(label, pemda_code, leaders_signed)
    return _after_opd_head(label, opd_code, leaders_signed)


def apply_policy(policy: CascadePolicy, decision: CascadeDecision) -> tuple[bool, str | None]:
    """(may sign, message to show). The campaign's policy decides whether the cascade binds."""
    policy = CascadePolicy(policy)  # a stored plain string works too; an unknown one raises
    if policy is CascadePolicy.STRICT:
        return decision.allowed, None if decision.allowed else decision.message
    if policy is CascadePolicy.ADVISORY:
        return True, None if decision.allowed else f"Peringatan (kaskade advisory): {decision.message}"
    return True, None


def _nearest(
    unit_code: str, unit_path: Sequence[str], kinds: Mapping[str, str], wanted: frozenset[str]
) -> str | None:
    for code in (unit_code, *reversed(unit_path)):
        if kinds.get(code) in wanted:
            return code
    return None


def opd_of(unit_code: str, unit_path: Sequence[str], kinds: Mapping[str, str]) -> str | None:
    """The OPD a unit belongs to: itself or its nearest OPD ancestor. None above OPD level."""
    return _nearest(unit_code, unit_path, kinds, frozenset({OPD}))


def pemda_of(unit_code: str, unit_path: Sequence[str], kinds: Mapping[str, str]) -> str | None:
    """The pemda (province, regency or city) a unit belongs to, nearest first: an OPD of a regency
    belongs to the regency, not to the province above it."""
    return _nearest(unit_code, unit_path, kinds, PEMDA_KINDS)


# ---------------------------------------------------------------- pact


def pact_sha256(text: str) -> str:
    """SHA-256 (hex) of the pact text.

    The hash names the words, not the editor that stored them: the same pact pasted from Word on
    Windows (CRLF), from an old Mac (CR) or saved by an editor that appends a final newline must
    give the same hash, or a signer's receipt would not match the published pact. Only line
    endings and trailing whitespace at the very end are normalised; everything else, including
    whitespace inside the text, counts.
    """
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").rstrip()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- statements

ONLINE = "online"
IN_PERSON = "in_person"
MODES = frozenset({ONLINE, IN_PERSON})
SIGNED_AT_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
STATEMENT_FIELDS = (
    "code",
    "campaign",
    "signer",
    "pact_sha256",
    "signed_at",
    "mode",
    "authenticated_by",
    "recorded_by",
)
# Signed too, but empty for a signature the employee made themself: no one recorded it for them.
OPTIONAL_STATEMENT_FIELDS = frozenset({"recorded_by"})
CEREMONY_MODE_MESSAGE = (
    "tanda tangan pada upacara selalu dicatat sebagai tanda tangan langsung (mode in_person); "
    "mode lain tidak diterima"
)


def utc_timestamp(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with 'Z' and microseconds: one spelling per instant, so hashes agree."""
    if moment.tzinfo is None:
        raise ValueError("waktu harus memuat zona waktu")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _statement_problems(fields: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for name in STATEMENT_FIELDS:
        if name not in fields:
            problems.append(f"kolom {name} tidak ada")
            continue
        if name in OPTIONAL_STATEMENT_FIELDS and fields[name] is None:
            continue
        if not isinstance(fields.get(name), str) or not fields[name]:
            problems.append(f"kolom {name} harus berupa teks yang tidak kosong")
    if problems:
        return problems
    if not CODE_PATTERN.match(fields["code"]):
        problems.append("kode tanda terima tidak berformat XXXX-XXXX-XXXX")
    if not SHA256_PATTERN.match(fields["pact_sha256"]):
        problems.append("pact_sha256 harus 64 digit heksadesimal huruf kecil")
    if not _valid_timestamp(fields["signed_at"]):
        problems.append("signed_at harus RFC 3339 UTC, misalnya 2024-01-31T08:00:00.000000Z")
    if fields["mode"] not in MODES:
        problems.append("mode harus online atau in_person")
    if fields.get("recorded_by") is not None and fields["mode"] != IN_PERSON:
        problems.append("tanda tangan yang dicatat petugas harus bermode in_person")
    return problems


def _valid_timestamp(text: str) -> bool:
    if not SIGNED_AT_PATTERN.match(text):
        return False
    try:
        dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Statement:
    """What a signer states: this person signed this pact version, in this campaign, at this time;
    and who vouched for it: whose token was used, and the admin who recorded it at a ceremony."""

    code: str
    campaign: str
    signer: str  # employee id
    pact_sha256: str
    signed_at: str  # RFC 3339 UTC with 'Z' and microseconds, see utc_timestamp
    mode: str  # "online" | "in_person"
    authenticated_by: str  # "{role}:{subject}" of the token the signature came with
    recorded_by: str | None  # the recording OPD admin's subject at a ceremony; None otherwise

    def __post_init__(self) -> None:
        # Refuse to sign what a verifier would later call malformed.
        problems = _statement_problems(asdict(self))
        if problems:
            raise ValueError("; ".join(problems))


def _canonical(fields: Mapping[str, Any]) -> bytes:
    # One byte sequence per statement, whatever the dict order or the platform.
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _statement_fields(s: Statement) -> dict[str, Any]:
    return {name: getattr(s, name) for name in STATEMENT_FIELDS}


def statement_bytes(s: Statement) -> bytes:
    """Canonical JSON of the statement: sorted keys, no spaces, UTF-8."""
    return _canonical(_statement_fields(s))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def statement_hash(s: Statement) -> str:
    return _sha256(statement_bytes(s))


# ---------------------------------------------------------------- chain

GENESIS = "0" * 64


def link_hash(prev_hash: str, chain_index: int, stmt_hash: str) -> str:
    """The chain link: binds a statement to its position and to everything signed before it, so
    an edit, a deletion or a reordering changes every hash from that point on."""
    return _sha256(f"{chain_index}:{prev_hash}:{stmt_hash}".encode())


# ---------------------------------------------------------------- keys and signatures


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
ED25519_SIGNATURE_LENGTH = 64


def _b64decode_strict(text: str) -> bytes | None:
    """Decode base64url without padding, or None. Strict: the unused low bits of the last
    character would otherwise let several spellings decode to the same signature, and a receipt
    with any altered character must not verify."""
    if not _B64URL.match(text):
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64encode(data) == text else None


def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key_id(public: Ed25519PublicKey) -> str:
    return _sha256(_raw_public(public))[:16]


class ReceiptKey:
    """The service's Ed25519 receipt key."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self._public = private.public_key()
        self.key_id = _key_id(self._public)  # names the key on every receipt, for rotation

    @classmethod
    def generate(cls) -> ReceiptKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes) -> ReceiptKey:
        private = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError("kunci tanda terima harus kunci privat Ed25519")
        return cls(private)

    def to_pem(self) -> bytes:
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def public_pem(self) -> bytes:
        return self._public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, data: bytes) -> str:
        """Ed25519 signature, base64url without padding (fits in a URL or a QR code as is)."""
        return _b64encode(self._private.sign(data))

    def __repr__(self) -> str:  # never print key material
        return f"ReceiptKey(key_id={self.key_id!r})"


@functools.lru_cache(maxsize=16)
def _load_public(public_pem: bytes) -> Ed25519PublicKey:
    # Cached: verifying a chain checks two signatures per record against the same key.
    try:
        public = serialization.load_pem_public_key(public_pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError("kunci publik tidak dapat dibaca sebagai PEM") from exc
    if not isinstance(public, Ed25519PublicKey):
        raise ValueError("kunci publik harus kunci Ed25519")
    return public


def public_key_id(public_pem: bytes) -> str:
    return _key_id(_load_public(public_pem))


def verify_signature(public_pem: bytes, data: bytes, signature: str) -> bool:
    """True when `signature` is a valid signature of `data`. A malformed signature is simply not
    valid; a malformed key raises ValueError, because that is a configuration error to surface."""
    public = _load_public(public_pem)
    raw = _b64decode_strict(signature)
    if raw is None or len(raw) != ED25519_SIGNATURE_LENGTH:
        return False
    try:
        public.verify(raw, data)
    except InvalidSignature:
        return False
    return True


# ---------------------------------------------------------------- receipts

PENDING = "pending"
CHAINED = "chained"
CHAIN_FIELDS = ("chain_index", "prev_hash", "hash", "signature")


def provisional_receipt(stmt: Statement, key: ReceiptKey) -> dict[str, Any]:
    """The receipt handed out at once: the statement signed, its place in the chain not yet
    fixed. The sequencer later replaces it with chained_receipt."""
    data = statement_bytes(stmt)
    return {
        **_statement_fields(stmt),
        "statement_hash": _sha256(data),
        "statement_signature": key.sign(data),
        "key_id": key.key_id,
        "chain_index": None,
        "prev_hash": None,
        "hash": None,
        "signature": None,
        "status": PENDING,
    }


def chained_receipt(stmt: Statement, key: ReceiptKey, chain_index: int, prev_hash: str) -> dict[str, Any]:
    return _linked(provisional_receipt(stmt, key), key, chain_index, prev_hash)


def _linked(
    provisional: Mapping[str, Any], key: ReceiptKey, chain_index: int, prev_hash: str
) -> dict[str, Any]:
    """The provisional receipt given its place in the chain. Its statement signature is carried
    over, never made anew: re-signing here would turn a statement the service never signed
    into one it did."""
    if isinstance(chain_index, bool) or not isinstance(chain_index, int) or chain_index < 0:
        raise ValueError("chain_index harus bilangan bulat ≥ 0")
    if not SHA256_PATTERN.match(prev_hash):
        raise ValueError("prev_hash harus 64 digit heksadesimal huruf kecil")
    statement = Statement(**{name: provisional[name] for name in STATEMENT_FIELDS})
    receipt = {
        **_statement_fields(statement),
        "statement_hash": statement_hash(statement),
        "statement_signature": provisional["statement_signature"],
        "key_id": provisional["key_id"],
    }
    hash_ = link_hash(prev_hash, chain_index, receipt["statement_hash"])
    receipt.update(
        chain_index=chain_index,
        prev_hash=prev_hash,
        hash=hash_,
        signature=key.sign(hash_.encode()),
        status=CHAINED,
    )
    return receipt


@dataclass(frozen=True)
class ReceiptCheck:
    valid: bool
    stage: str  # "pending" | "chained"
    problems: tuple[str, ...]


def _is_index(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_hash(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and SHA256_PATTERN.match(value) is not None


def _signed(public_pem: bytes, data: bytes, signature: Any) -> bool:
    # Stored receipts come back from a database: a signature that is not even text is not valid.
    return isinstance(signature, str) and verify_signature(public_pem, data, signature)


def verify_receipt(receipt: Mapping[str, Any], public_pem: bytes) -> ReceiptCheck:
    """Check a receipt against the service's public key. Everything is recomputed from the
    receipt's own fields, so a change to any character of any field makes it invalid. Extra
    fields (a database id, say) are ignored: they are not part of what was signed."""
    status = receipt.get("status")
    if status in (PENDING, CHAINED):
        stage = status
    else:
        stage = PENDING if receipt.get("chain_index") is None else CHAINED
    problems = _statement_problems(receipt)
    statement = {name: receipt.get(name) for name in STATEMENT_FIELDS}
    data = _canonical(statement)
    stmt_hash = _sha256(data)
    if status not in (PENDING, CHAINED):
        problems.append(f"status tidak dikenal: {status!r}")
    if receipt.get("key_id") != public_key_id(public_pem):
        problems.append("key_id tidak cocok dengan kunci publik layanan")
    if receipt.get("statement_hash") != stmt_hash:
        problems.append("statement_hash tidak cocok dengan isi pernyataan: isi tanda terima telah diubah")
    if not _signed(public_pem, data, receipt.get("statement_signature")):
        problems.append("tanda tangan pernyataan tidak sah")
    if stage == PENDING:
        for name in CHAIN_FIELDS:
            if receipt.get(name) is not None:
                problems.append(f"tanda terima sementara tidak boleh memuat {name}")
    else:
        index, prev, hash_ = receipt.get("chain_index"), receipt.get("prev_hash"), receipt.get("hash")
        if not _is_index(index):
            problems.append("chain_index harus bilangan bulat ≥ 0")
        if not _is_hash(prev):
            problems.append("prev_hash harus 64 digit heksadesimal huruf kecil")
        if _is_index(index) and _is_hash(prev) and hash_ != link_hash(prev, index, stmt_hash):
            problems.append("hash rantai tidak cocok dengan posisi dan isi tanda terima")
        if not isinstance(hash_, str) or not _signed(public_pem, hash_.encode(), receipt.get("signature")):
            problems.append("tanda tangan rantai tidak sah")
    return ReceiptCheck(not problems, stage, tuple(problems))


@dataclass(frozen=True)
class ChainCheck:
    valid: bool
    length: int  # records intact from the start (all of them when valid)
    head_hash: str  # hash of the last intact record; GENESIS when none
    first_broken: int | None  # chain position where the chain first breaks
    problem: str | None


def _sort_key(link: Mapping[str, Any]) -> tuple[int, int]:
    index = link.get("chain_index")
    # Stable sort: records that claim the same index keep the order they were given in.
    return (0, index) if _is_index(index) else (1, 0)  # malformed indexes last, reported there


def verify_chain(links: Iterable[Mapping[str, Any]], public_pem: bytes) -> ChainCheck:
    """Verify a campaign's chain of receipts, in chain_index order, stopping at the first break.

    A deletion shows as a gap in the indexes, a reordering as a link whose prev_hash or hash no
    longer fits its position, an edit as a statement that no longer matches its hash. Removing
    records from the end leaves a shorter valid chain: compare length and head_hash with the
    published checkpoints to catch that.
    """
    ordered = sorted(links, key=_sort_key)
    head = GENESIS
    campaign: Any = None

    def broken(position: int, problem: str) -> ChainCheck:
        return ChainCheck(False, position, head, position, problem)

    for position, link in enumerate(ordered):
        index = link.get("chain_index")
        if not _is_index(index):
            return broken(position, f"catatan nomor {position}: chain_index tidak valid ({index!r})")
        if index < position:
            # Only the records before the duplicate are known good.
            known_head = ordered[index - 1]["hash"] if index else GENESIS
            return ChainCheck(
                False, index, known_head, index, f"catatan nomor {index}: nomor urut muncul lebih dari sekali"
            )
        if index > position:
            return broken(position, f"catatan nomor {position}: hilang (urutan melompat ke {index})")
        check = verify_receipt(link, public_pem)
        if check.stage != CHAINED:
            return broken(position, f"catatan nomor {position}: belum dirantai")
        if not check.valid:
            return broken(position, f"catatan nomor {position}: " + "; ".join(check.problems))
        if position == 0:
            campaign = link["campaign"]
        elif link["campaign"] != campaign:
            other = link["campaign"]
            return broken(position, f"catatan nomor {position}: berasal dari kampanye lain ({other})")
        if link["prev_hash"] != head:
            return broken(
                position,
                f"catatan nomor {position}: prev_hash tidak sama dengan hash catatan sebelumnya "
                "(catatan dihapus, disisipkan atau ditukar)",
            )
        head = link["hash"]
    return ChainCheck(True, len(ordered), head, None, None)


# ---------------------------------------------------------------- campaigns

# Campaigns, signatures and employees are the store's plain documents: the rules below read
# and build them without copying them into classes first (signing takes hundreds a second).

OPEN = "open"
CLOSED = "closed"


class Refused(Conflict):
    """The signature is not accepted: answered 409 with the reason, in Bahasa Indonesia, and the
    leaders the signer waits for (see the service's app assembly for the answer's shape)."""

    def __init__(self, message: str, waiting_for: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.waiting_for = list(waiting_for)


def check_deadline(deadline: dt.datetime, now: dt.datetime) -> None:
    if deadline <= now:
        raise InvalidInput.one("deadline", "tenggat harus di masa depan")


def new_campaign(
    code: str,
    title: str,
    election: str,
    deadline: dt.datetime,
    pact_text: str,
    scope: list[str],
    cascade: CascadePolicy,
    reminder_hours: Iterable[int],
    actor: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """An open campaign, its pact at version 1 and its chain empty. Reminders go out once
    each, the earliest (most hours before the deadline) first."""
    digest = pact_sha256(pact_text)
    return {
        "_id": code,
        "title": title,
        "election": election,
        "deadline": deadline,
        "pact_text": pact_text,
        "pact_version": 1,
        "pact_sha256": digest,
        "pact_versions": [{"version": 1, "sha256": digest, "text": pact_text, "at": now, "by": actor}],
        "scope": scope,
        "cascade": cascade.value,
        "status": OPEN,
        "chain_length": 0,
        "head_hash": GENESIS,
        "checkpointed_length": -1,
        "reminder_hours": sorted(set(reminder_hours), reverse=True),
        "reminders_sent": [],
        "created_at": now,
        "created_by": actor,
    }


def campaign_snapshot(campaign: Mapping[str, Any]) -> CampaignSnapshot:
    return CampaignSnapshot(
        code=campaign["_id"],
        title=campaign["title"],
        election=campaign["election"],
        deadline=campaign["deadline"],
        pact_version=campaign["pact_version"],
        pact_sha256=campaign["pact_sha256"],
        scope=campaign["scope"],
        cascade=campaign["cascade"],
    )


def pact_revision(
    campaign: Mapping[str, Any], pact_text: str, actor: str, now: dt.datetime
) -> dict[str, Any] | None:
    """The next pact version of an open campaign; None when the text is the one in force.
    Signatures taken so far keep the hash of the text they signed."""
    if campaign["status"] != OPEN:
        raise Conflict(f"kampanye {campaign['_id']} sudah ditutup")
    digest = pact_sha256(pact_text)
    if campaign["pact_sha256"] == digest:
        return None
    version = campaign["pact_version"] + 1
    return {"version": version, "sha256": digest, "text": pact_text, "at": now, "by": actor}


def revised_campaign(campaign: Mapping[str, Any], revision: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **campaign,
        "pact_text": revision["text"],
        "pact_version": revision["version"],
        "pact_sha256": revision["sha256"],
        "pact_versions": [*campaign.get("pact_versions", []), dict(revision)],
    }


# ---------------------------------------------------------------- signatures


def check_may_sign(campaign: Mapping[str, Any], employee: Mapping[str, Any], now: dt.datetime) -> None:
    """Open campaign before its deadline, and an active employee in its scope. Whether a
    ceremony's admin may record this employee is their scope, checked by the use case before
    anything about the employee's signature is answered; the cascade is checked after, see
    cascade_warning."""
    code, employee_id = campaign["_id"], employee["_id"]
    if campaign["status"] != OPEN or now >= campaign["deadline"]:
        raise Refused(f"kampanye {code} sudah ditutup")
    if not employee["active"]:
        raise Refused(f"pegawai {employee_id} tidak aktif")
    if not set(employee["lineage"]) & set(campaign["scope"]):
        raise Refused(f"pegawai {employee_id} tidak termasuk cakupan kampanye {code}")


def check_ceremony_mode(mode: str) -> None:
    """A ceremony records people signing in front of the admin: never an online signature,
    which the employee makes themself with their own token."""
    if mode != IN_PERSON:
        raise InvalidInput.one("mode", CEREMONY_MODE_MESSAGE)


def cascade_units(employee: Mapping[str, Any], kinds: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(OPD, pemda) of the employee: whose leaders the cascade may make them wait for."""
    code, path = employee["org_unit_code"], employee["org_unit_path"]
    return opd_of(code, path, kinds), pemda_of(code, path, kinds)


def cascade_warning(
    policy: CascadePolicy,
    employee: Mapping[str, Any],
    opd_code: str | None,
    pemda_code: str | None,
    leaders: LeadersSigned,
) -> str | None:
    """The cascade under the campaign's policy: raises Refused when it binds and the signer
    must wait; otherwise the warning to show with the receipt, if any."""
    signer = Signer(
        employee["_id"], employee["level"], employee["org_unit_code"], tuple(employee["org_unit_path"])
    )
    decision = cascade_gate(signer, opd_code, pemda_code, leaders)
    allowed, message = apply_policy(policy, decision)
    if not allowed:
        raise Refused(message or decision.message, decision.waiting_for)
    return message


@dataclass(frozen=True)
class Signing:
    """A signature accepted by the rules: the record to store and the event to publish."""

    record: dict[str, Any]
    event: PledgeSignedV1
    warning: str | None


def signature_id(campaign_code: str, employee_id: str) -> str:
    return f"{campaign_code}:{employee_id}"


def new_signature(
    campaign: Mapping[str, Any],
    employee: Mapping[str, Any],
    receipt_code: str,
    mode: str,
    now: dt.datetime,
    key: ReceiptKey,
    authenticated_by: str,
    recorded_by: str | None,
    client: Mapping[str, Any],
    warning: str | None,
) -> Signing:
    """The signature of the pact version in force, with its provisional receipt; the sequencer
    later gives it its place in the chain (link_receipts)."""
    code, employee_id = campaign["_id"], employee["_id"]
    statement = Statement(
        code=receipt_code,
        campaign=code,
        signer=employee_id,
        pact_sha256=campaign["pact_sha256"],
        signed_at=utc_timestamp(now),
        mode=mode,
        authenticated_by=authenticated_by,
        recorded_by=recorded_by,
    )
    record: dict[str, Any] = {
        "_id": signature_id(code, employee_id),
        "campaign": code,
        "employee_id": employee_id,
        "nip": employee.get("nip"),
        "level": employee["level"],
        "org_unit_code": employee["org_unit_code"],
        "org_unit_path": employee["org_unit_path"],
        "receipt": provisional_receipt(statement, key),
        "pending": True,
        "authenticated_by": authenticated_by,
        "recorded_by": recorded_by,
        "client": dict(client),
        "cascade_warning": warning,
    }
    event = PledgeSignedV1(
        campaign=code,
        employee_id=employee_id,
        nip=employee.get("nip"),
        org_unit_code=employee["org_unit_code"],
        level=employee["level"],
        mode=mode,
        signed_at=now,
        receipt_code=receipt_code,
        pact_sha256=campaign["pact_sha256"],
        recorded_by=recorded_by,
    )
    return Signing(record, event, warning)


# ---------------------------------------------------------------- the chain's sequencing and checks


def pending_problems(signature: Mapping[str, Any], public_pem: bytes) -> tuple[str, ...]:
    """Why a pending signature read back from the database must not be chained; () when it may.

    Its receipt must be a provisional receipt this service signed, and the record around it
    must say the same as the signed statement: whoever can write to the database, but does not
    hold the receipt key, cannot get a signature of their own making into the chain."""
    receipt = signature.get("receipt")
    if not isinstance(receipt, Mapping):
        return ("catatan tanda tangan tidak memuat tanda terima",)
    check = verify_receipt(receipt, public_pem)
    problems = list(check.problems)
    if check.stage != PENDING:
        problems.append("tanda terima bukan tanda terima sementara")
    claimed = {
        "campaign": receipt.get("campaign"),
        "employee_id": receipt.get("signer"),
        "authenticated_by": receipt.get("authenticated_by"),
        "recorded_by": receipt.get("recorded_by"),
    }
    for name, value in claimed.items():
        if signature.get(name) != value:
            problems.append(f"kolom {name} catatan tidak sama dengan pernyataan yang ditandatangani")
    if signature.get("_id") != signature_id(str(receipt.get("campaign")), str(receipt.get("signer"))):
        problems.append("id catatan tidak sesuai dengan kampanye dan penanda tangan pernyataan")
    return tuple(problems)


@dataclass(frozen=True)
class PendingSorted:
    """Pending signatures as read, in acceptance order: those that may be chained, and the
    others with why not."""

    chainable: list[Mapping[str, Any]]
    refused: list[tuple[Mapping[str, Any], tuple[str, ...]]]


def sort_pending(signatures: Iterable[Mapping[str, Any]], public_pem: bytes) -> PendingSorted:
    chainable: list[Mapping[str, Any]] = []
    refused: list[tuple[Mapping[str, Any], tuple[str, ...]]] = []
    for signature in signatures:
        problems = pending_problems(signature, public_pem)
        if problems:
            refused.append((signature, problems))
        else:
            chainable.append(signature)
    return PendingSorted(chainable, refused)


def link_receipts(
    receipts: Iterable[Mapping[str, Any]], key: ReceiptKey, chain_index: int, head_hash: str
) -> list[dict[str, Any]]:
    """Provisional receipts, in acceptance order, chained after position `chain_index` - 1
    whose hash is `head_hash`. Each keeps its own statement signature (see sort_pending for the
    check that comes first), so a receipt the service never signed stays invalid in the chain."""
    chained: list[dict[str, Any]] = []
    for receipt in receipts:
        link = _linked(receipt, key, chain_index, head_hash)
        chained.append(link)
        head_hash, chain_index = link["hash"], chain_index + 1
    return chained


def checkpoint_message(campaign: str, length: int, head_hash: str) -> bytes:
    return f"{campaign}:{length}:{head_hash}".encode()


def checkpoint(
    campaign_code: str, length: int, head_hash: str, at: dt.datetime, key: ReceiptKey, final: bool
) -> ChainCheckpointV1:
    """The chain head, signed, for agencies to keep their own copy of."""
    return ChainCheckpointV1(
        campaign=campaign_code,
        chain_length=length,
        head_hash=head_hash,
        at=at,
        key_id=key.key_id,
        signature=key.sign(checkpoint_message(campaign_code, length, head_hash)),
        final=final,
    )


def checkpoint_due(campaign: Mapping[str, Any], final: bool) -> bool:
    """A checkpoint when the chain moved since the last one, and always a final one."""
    return final or campaign.get("checkpointed_length") != campaign["chain_length"]


@dataclass(frozen=True)
class CheckpointCheck:
    """The chain held against the last checkpoint published for it."""

    length: int | None  # the chain length the checkpoint names; None when there is none yet
    problem: str | None
    first_broken: int | None


def held_against_checkpoint(
    campaign_code: str,
    links: Iterable[Mapping[str, Any]],
    check: ChainCheck,
    last_checkpoint: Mapping[str, Any] | None,
    public_pem: bytes,
) -> CheckpointCheck:
    """Does the chain still hold what the last published checkpoint signed? A database writer
    can cut records off the end and move the head kept next to the chain to match; agencies
    hold the checkpoint, so the chain must still contain it: at least as long, and the same
    record at its last position."""
    if last_checkpoint is None:
        return CheckpointCheck(None, None, None)
    length, head = last_checkpoint.get("chain_length"), last_checkpoint.get("head_hash")
    if (
        not _is_index(length)
        or not _is_hash(head)
        or last_checkpoint.get("campaign") != campaign_code
        or not _signed(
            public_pem, checkpoint_message(campaign_code, length, head), last_checkpoint.get("signature")
        )
    ):
        return CheckpointCheck(
            None, "checkpoint terakhir yang tersimpan tidak sah: catatan checkpoint telah diubah", None
        )
    if length == 0:
        return CheckpointCheck(length, None, None)
    if check.length < length:
        return CheckpointCheck(
            length,
            f"rantai berisi {check.length} catatan utuh, checkpoint terakhir yang diterbitkan "
            f"mencatat {length} (catatan dihapus dari ujung rantai)",
            check.length,
        )
    at_checkpoint = next((link for link in links if link.get("chain_index") == length - 1), None)
    if at_checkpoint is None or at_checkpoint.get("hash") != head:
        return CheckpointCheck(
            length,
            f"catatan nomor {length - 1} tidak sama dengan kepala rantai pada checkpoint terakhir "
            "yang diterbitkan (rantai ditulis ulang)",
            length - 1,
        )
    return CheckpointCheck(length, None, None)


@dataclass(frozen=True)
class ChainVerdict:
    valid: bool
    length: int
    recorded_length: int
    head_hash: str
    first_broken: int | None
    problem: str | None
    checkpoint_length: int | None = None


def chain_verdict(
    check: ChainCheck, recorded_length: int, checkpointed: CheckpointCheck | None = None
) -> ChainVerdict:
    """The chain's own check, held against the head kept by the sequencer and against the last
    published checkpoint: records cut off the end leave a valid but shorter chain, which the
    recorded head gives away, and when the recorded head was moved too, the checkpoint."""
    checkpointed = checkpointed or CheckpointCheck(None, None, None)
    valid, first_broken, problem = check.valid, check.first_broken, check.problem
    if valid and check.length != recorded_length:
        valid, first_broken = False, min(check.length, recorded_length)
        problem = f"rantai berisi {check.length} catatan, kepala rantai mencatat {recorded_length}"
    if valid and checkpointed.problem is not None:
        valid, first_broken, problem = False, checkpointed.first_broken, checkpointed.problem
    return ChainVerdict(
        valid, check.length, recorded_length, check.head_hash, first_broken, problem, checkpointed.length
    )


# ---------------------------------------------------------------- deadlines


def past_deadline(campaign: Mapping[str, Any], now: dt.datetime) -> bool:
    deadline: dt.datetime = campaign["deadline"]
    return now >= deadline


def reminders_due(campaign: Mapping[str, Any], now: dt.datetime) -> list[int]:
    """The reminder hours reached and not yet sent, earliest first."""
    sent = campaign.get("reminders_sent", [])
    deadline = campaign["deadline"]
    return [
        hours
        for hours in sorted(campaign.get("reminder_hours", []), reverse=True)
        if hours not in sent and now >= deadline - dt.timedelta(hours=hours)
    ]


def unsigned_notice(
    campaign: Mapping[str, Any], person: Mapping[str, Any], hours_before: int | None
) -> tuple[PledgeReminderDueV1 | PledgeOverdueV1, str]:
    """A reminder `hours_before` the deadline, or the overdue notice (hours_before None), and
    its event id. The id is derived from the campaign, the employee and the kind, so a job
    retried after a crash repeats ids and consumers drop the repeats."""
    code = campaign["_id"]
    kind = "overdue" if hours_before is None else f"reminder-{hours_before}h"
    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"netral:{code}:{kind}:{person['_id']}"))
    fields: dict[str, Any] = {
        "campaign": code,
        "employee_id": person["_id"],
        "nip": person.get("nip"),
        "org_unit_code": person["org_unit_code"],
        "deadline": campaign["deadline"],
    }
    data: PledgeReminderDueV1 | PledgeOverdueV1
    if hours_before is None:
        data = PledgeOverdueV1(**fields)
    else:
        data = PledgeReminderDueV1(**fields, hours_before=hours_before)
    return data, event_id
