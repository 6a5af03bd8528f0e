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
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

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
    REGIONAL_HEAD: "pimpinan daerah",
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

# Employment type and leader offices, as the registry spells them (contracts/registry.py).
PEJABAT_NEGARA = "PEJABAT_NEGARA"
KEPALA_DAERAH = "KEPALA_DAERAH"
WAKIL_KEPALA_DAERAH = "WAKIL_KEPALA_DAERAH"
PJ_KEPALA_DAERAH = "PJ_KEPALA_DAERAH"
SEKDA = "SEKDA"

# The pact is the ASN's: UU 20/2023 art. 1 angka 1 (ASN = PNS and PPPK) and the SKB 2022 on ASN
# neutrality (its scope is "Pegawai ASN"). An elected Bupati, Walikota or Gubernur and their
# deputies are pejabat negara, not ASN (UU 5/2014 art. 122 huruf l-m; UU 23/2014 art. 59, 63):
# they are not expected to sign, are not counted, and no one waits for them (platform reading:
# the SKB's pact is the ASN's; a ceremony may still show them witnessing it). An acting head (Pj)
# is a PNS appointed to the post (UU 10/2016 art. 201; Permendagri 4/2023) and signs first.
NOT_EXPECTED_EMPLOYMENT_TYPES = frozenset({PEJABAT_NEGARA})

OFFICE_LABEL = {
    PJ_KEPALA_DAERAH: "Pj kepala daerah",
    SEKDA: "Sekda",
    KEPALA_DAERAH: "kepala daerah",
    WAKIL_KEPALA_DAERAH: "wakil kepala daerah",
}
OFFICE_ORDER: tuple[str | None, ...] = (PJ_KEPALA_DAERAH, SEKDA, KEPALA_DAERAH, WAKIL_KEPALA_DAERAH, None)
UNNAMED_LEADER = "pimpinan daerah"
"""A REGIONAL_HEAD-level ASN whose office the registry did not name (records from before the
registry kept `leader_office`): still one of the leaders who sign first."""


def office_label(office: str | None) -> str:
    return OFFICE_LABEL.get(office or "", UNNAMED_LEADER)


def not_expected_to_sign(employee: Mapping[str, Any]) -> bool:
    """An elected regional head or deputy: a state official, outside the ASN pact."""
    return employee.get("employment_type") in NOT_EXPECTED_EMPLOYMENT_TYPES


def opens_the_cascade(level: str) -> bool:
    """One of the pemda's leaders who sign, the first wave: the REGIONAL_HEAD level, which the
    registry gives the pemda's leaders only, each with their office (contracts/registry.py); of
    them, the ASN sign: the Sekda and an acting head (Pj). Platform choice (DESIGN.md "Cascade",
    issue 13 item 2): the law fixes no order of signing; the cascade lets the staff see their
    leadership sign first."""
    return level == REGIONAL_HEAD


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
    leader_office: str | None = None


@dataclass(frozen=True)
class LeadersSigned:
    """The leaders a signer may have to wait for, and which of them have signed this campaign."""

    opd_head_ids: frozenset[str]  # JPT-level employees of the signer's OPD
    opd_heads_signed: frozenset[str]
    regional_head_ids: frozenset[str]  # the pemda's leaders who sign first (Sekda, Pj)
    regional_heads_signed: frozenset[str]
    regional_head_offices: Mapping[str, str | None] = field(default_factory=dict)
    """Employee id → leader office (SEKDA, PJ_KEPALA_DAERAH, None when not named): whom a
    refusal names."""


def leaders_signed(
    candidates: Iterable[Mapping[str, Any]], opd_code: str | None, pemda_code: str | None, campaign_code: str
) -> LeadersSigned:
    """Who of the active people on file at the signer's OPD and pemda units holds the signer
    back: the OPD's heads (JPT, PNS or PPPK alike: PP 49/2018 lets a PPPK hold a JPT post) and the
    pemda's leaders who sign first. Elected heads and deputies are left out (see
    NOT_EXPECTED_EMPLOYMENT_TYPES)."""
    heads: set[str] = set()
    heads_signed: set[str] = set()
    regional: dict[str, str | None] = {}
    regional_signed: set[str] = set()
    for doc in candidates:
        if not doc.get("active", True) or not_expected_to_sign(doc):
            continue
        employee_id, office = doc["_id"], doc.get("leader_office")
        signed = campaign_code in doc.get("signed_campaigns", [])
        unit = doc.get("org_unit_code")
        if pemda_code is not None and unit == pemda_code and opens_the_cascade(doc["level"]):
            regional[employee_id] = office
            if signed:
                regional_signed.add(employee_id)
        elif opd_code is not None and unit == opd_code and doc["level"] == JPT:
            heads.add(employee_id)
            if signed:
                heads_signed.add(employee_id)
    return LeadersSigned(
        frozenset(heads), frozenset(heads_signed), frozenset(regional), frozenset(regional_signed), regional
    )


@dataclass(frozen=True)
class CascadeDecision:
    allowed: bool
    waiting_for: tuple[str, ...]  # employee ids who have not signed and block this signer
    message: str


def _named(noun: str, code: str | None) -> str:
    return f"{noun} {code}" if code else noun


def _joined(labels: Sequence[str]) -> str:
    if len(labels) <= 2:
        return " dan ".join(labels)
    return ", ".join(labels[:-1]) + ", dan " + labels[-1]


def _offices_named(ids: Iterable[str], offices: Mapping[str, str | None]) -> str:
    """ "Pj kepala daerah dan Sekda": each office once, first wave order; a count when two people
    on file hold one (a stale record, or a deputy Sekda registered as one)."""
    counts: dict[str | None, int] = {}
    for employee_id in ids:
        office = offices.get(employee_id)
        office = office if office in OFFICE_LABEL else None
        counts[office] = counts.get(office, 0) + 1
    labels = [
        office_label(office) + (f" ({counts[office]} orang)" if counts[office] > 1 else "")
        for office in OFFICE_ORDER
        if office in counts
    ]
    return _joined(labels)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _after_regional_heads(label: str, pemda_code: str | None, leaders: LeadersSigned) -> CascadeDecision:
    # Every leader who signs must have signed: the Sekda and, when there is one, the Pj head both
    # lead the pemda's ASN, and the pact is meant to be seen signed by them before the next wave.
    heads = leaders.regional_head_ids
    offices = leaders.regional_head_offices
    where = _named("pemda", pemda_code)
    if not heads:
        return CascadeDecision(
            True,
            (),
            f"Boleh menandatangani: Sekda atau Pj kepala daerah belum terdaftar untuk {where}, "
            "jadi tidak ada yang ditunggu",
        )
    waiting = tuple(sorted(heads - leaders.regional_heads_signed))
    everyone = _offices_named(heads, offices)
    if not waiting:
        return CascadeDecision(True, (), f"{_capitalised(everyone)} {where} sudah menandatangani pakta")
    count = f" ({len(waiting)} dari {len(heads)} belum)" if len(heads) > 1 else ""
    return CascadeDecision(
        False,
        waiting,
        f"{_capitalised(_offices_named(waiting, offices))} {where} belum menandatangani pakta{count}; "
        f"{label} dapat menandatangani setelah {everyone}",
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
    """May this signer sign now? The pemda's leaders who sign (the Sekda, a Pj head) open the
    campaign and wait for no one; the OPD heads (JPT) wait for all of them; within an OPD the
    next waves wait for the OPD's head. Platform rule (DESIGN.md "Cascade"), not the law's."""
    if signer.level not in LEVEL_LABEL:
        raise ValueError(f"level tidak dikenal: {signer.level}")
    label = LEVEL_LABEL[signer.level]
    if opens_the_cascade(signer.level):
        who = _capitalised(office_label(signer.leader_office))
        return CascadeDecision(True, (), f"{who} membuka gelombang pertama; tidak menunggu siapa pun")
    if signer.level == JPT or opd_code is None:
        # Staff of the pemda itself (e.g. the Sekda's office staff on file outside any OPD) have
        # no OPD head to wait for; the nearest leaders above them are the pemda's leaders.
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


DEFAULT_TIMEZONE = "Asia/Jakarta"
ZONE_ABBREVIATION = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


def campaign_period_start(starts_on: dt.date, timezone: str) -> dt.datetime:
    """The first moment of the campaign period: 00.00 of its first day where the pemda is (the
    KPU fixes days, not instants; a WITA or WIT province configures its zone: Keppres 41/1987
    on the three time zones)."""
    return dt.datetime.combine(starts_on, dt.time.min, tzinfo=ZoneInfo(timezone))


def _local(moment: dt.datetime, timezone: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%Y-%m-%d} pukul {local:%H.%M} {ZONE_ABBREVIATION.get(timezone, timezone)}"


def stored_period_start(campaign: Mapping[str, Any]) -> dt.date | None:
    """The campaign period's first day as stored (an ISO date: BSON has no date type); None for a
    campaign created before the platform recorded it, whose period is unknown."""
    value = campaign.get("campaign_period_starts_on")
    return dt.date.fromisoformat(value) if isinstance(value, str) else None


def check_deadline(
    deadline: dt.datetime,
    now: dt.datetime,
    period_starts_on: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> None:
    """A deadline ahead of the clock and, when the campaign period is known, at the latest its
    first moment: the pact is signed before campaigning begins (SKB 2022 on ASN neutrality; the
    campaign period is the KPU's: UU 7/2017 art. 267 ff. and PKPU 15/2023 for a Pemilu, UU 1/2015
    jo. UU 10/2016 art. 63 ff. and PKPU 13/2024 for a Pilkada). A deadline at exactly 00.00 of
    the first day is allowed: signing stops as the period starts."""
    errors: list[dict[str, Any]] = []
    if deadline <= now:
        errors.append({"field": "deadline", "message": "tenggat harus di masa depan"})
    if period_starts_on is not None:
        starts = campaign_period_start(period_starts_on, timezone)
        if deadline > starts:
            errors.append(
                {
                    "field": "deadline",
                    "message": (
                        f"tenggat {_local(deadline, timezone)} melewati awal masa kampanye "
                        f"{_local(starts, timezone)}: pakta ditandatangani paling lambat saat masa "
                        "kampanye dimulai"
                    ),
                }
            )
    if errors:
        raise InvalidInput(errors)


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
    period_starts_on: dt.date,
) -> dict[str, Any]:
    """An open campaign, its pact at version 1 and its chain empty. Reminders go out once
    each, the earliest (most hours before the deadline) first. See check_deadline for the
    deadline's rules, checked first."""
    digest = pact_sha256(pact_text)
    return {
        "_id": code,
        "title": title,
        "election": election,
        "deadline": deadline,
        "campaign_period_starts_on": period_starts_on.isoformat(),
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
        campaign_period_starts_on=stored_period_start(campaign),
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


@dataclass(frozen=True)
class Rescheduling:
    """A new deadline or campaign period of an open campaign: the fields to set, and the
    change as audited."""

    changes: dict[str, Any]
    record: dict[str, Any]


def rescheduling(
    campaign: Mapping[str, Any],
    deadline: dt.datetime | None,
    period_starts_on: dt.date | None,
    actor: str,
    now: dt.datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> Rescheduling | None:
    """The KPU may move the campaign period, and the BKPSDM the deadline: either change keeps
    the rule of check_deadline. A campaign whose period was never recorded must record it with
    a new deadline, so that the rule holds from then on. None when nothing changes.

    Reminders already sent that are not yet due under the new deadline go out again when they
    are: a reminder "24 hours before" sent for the old deadline said the wrong time."""
    code = campaign["_id"]
    if campaign["status"] != OPEN or past_deadline(campaign, now):
        raise Conflict(f"kampanye {code} sudah ditutup")
    known_period = stored_period_start(campaign)
    if deadline is not None and period_starts_on is None and known_period is None:
        raise InvalidInput.one(
            "campaign_period_starts_on",
            f"awal masa kampanye {code} belum tercatat: sertakan campaign_period_starts_on "
            "bersama tenggat baru",
        )
    new_deadline: dt.datetime = campaign["deadline"] if deadline is None else deadline
    new_period = period_starts_on or known_period
    if new_deadline == campaign["deadline"] and new_period == known_period:
        return None
    check_deadline(new_deadline, now, new_period, timezone)
    sent = [
        hours
        for hours in campaign.get("reminders_sent", [])
        if now >= new_deadline - dt.timedelta(hours=hours)
    ]
    changes: dict[str, Any] = {
        "deadline": new_deadline,
        "campaign_period_starts_on": new_period.isoformat() if new_period else None,
        "reminders_sent": sent,
    }
    record = {
        "at": now,
        "by": actor,
        "deadline": {"from": campaign["deadline"], "to": new_deadline},
        "campaign_period_starts_on": {
            "from": campaign.get("campaign_period_starts_on"),
            "to": changes["campaign_period_starts_on"],
        },
    }
    return Rescheduling(changes, record)


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
    if not_expected_to_sign(employee):
        # See NOT_EXPECTED_EMPLOYMENT_TYPES: UU 20/2023 art. 1; the SKB 2022 binds Pegawai ASN.
        raise Refused(
            f"{employee_id} tercatat sebagai pejabat negara (kepala daerah atau wakil kepala daerah "
            "hasil pemilihan), bukan ASN: pakta integritas netralitas ASN tidak ditandatangani "
            "pejabat negara"
        )
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
        employee["_id"],
        employee["level"],
        employee["org_unit_code"],
        tuple(employee["org_unit_path"]),
        employee.get("leader_office"),  # absent from records projected before the registry kept it
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
