"""Signing rules in services/signing/domain.py: cascade, pact hash, receipt codes, receipts, chain."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from typing import Any

import pytest

from services.kit.codes import new_code
from services.signing.domain import (
    GENESIS,
    LEVELS,
    CascadeDecision,
    CascadePolicy,
    LeadersSigned,
    ReceiptKey,
    Signer,
    Statement,
    apply_policy,
    cascade_gate,
    chained_receipt,
    link_hash,
    opd_of,
    pact_sha256,
    pemda_of,
    provisional_receipt,
    statement_bytes,
    statement_hash,
    utc_timestamp,
    verify_chain,
    verify_receipt,
    verify_signature,
)

OPD = "32.01.001"
PEMDA = "32.01"
# One key for the whole module: generating keys is cheap, but there is no reason to repeat it.
KEY = ReceiptKey.generate()
PUBLIC = KEY.public_pem()
PACT = pact_sha256("Saya berjanji untuk bersikap netral.")


# ---------------------------------------------------------------- cascade


def leaders(
    opd_heads: Iterable[str] = (),
    opd_signed: Iterable[str] = (),
    regional: Iterable[str] = (),
    regional_signed: Iterable[str] = (),
) -> LeadersSigned:
    return LeadersSigned(
        frozenset(opd_heads), frozenset(opd_signed), frozenset(regional), frozenset(regional_signed)
    )


def signer(level: str, unit: str = OPD) -> Signer:
    return Signer("E1", level, unit, ("32", PEMDA))


def test_levels_are_the_waves_in_order() -> None:
    assert LEVELS == ("REGIONAL_HEAD", "JPT", "ADMINISTRATOR", "SUPERVISOR", "STAFF")


@pytest.mark.parametrize(
    "signed",
    [leaders(), leaders({"H1"}, set(), {"R1", "R2"}, set()), leaders({"H1"}, {"H1"}, {"R1"}, {"R1"})],
)
def test_regional_head_always_allowed(signed: LeadersSigned) -> None:
    decision = cascade_gate(signer("REGIONAL_HEAD", PEMDA), None, PEMDA, signed)
    assert decision.allowed and decision.waiting_for == ()


def test_jpt_waits_for_every_regional_head() -> None:
    decision = cascade_gate(signer("JPT"), OPD, PEMDA, leaders({"H1"}, set(), {"R2", "R1"}, {"R1"}))
    assert not decision.allowed
    assert decision.waiting_for == ("R2",)
    assert "Kepala daerah pemda 32.01 belum menandatangani pakta" in decision.message
    assert "1 dari 2" in decision.message

    none_signed = cascade_gate(signer("JPT"), OPD, PEMDA, leaders(regional={"R2", "R1"}))
    assert none_signed.waiting_for == ("R1", "R2")


def test_jpt_allowed_when_all_regional_heads_signed() -> None:
    decision = cascade_gate(signer("JPT"), OPD, PEMDA, leaders(set(), set(), {"R1", "R2"}, {"R1", "R2", "X"}))
    assert decision == CascadeDecision(True, (), decision.message)
    assert "sudah menandatangani" in decision.message


def test_jpt_allowed_with_note_when_no_regional_head_registered() -> None:
    decision = cascade_gate(signer("JPT"), OPD, PEMDA, leaders())
    assert decision.allowed and decision.waiting_for == ()
    assert "kepala daerah belum terdaftar" in decision.message


def test_jpt_ignores_opd_heads() -> None:
    # A JPT is the OPD head: the other heads of the OPD do not hold them back.
    decision = cascade_gate(signer("JPT"), OPD, PEMDA, leaders({"H1", "H2"}, set(), {"R1"}, {"R1"}))
    assert decision.allowed


@pytest.mark.parametrize(
    ("level", "label"),
    [("ADMINISTRATOR", "pejabat administrator"), ("SUPERVISOR", "pejabat pengawas"), ("STAFF", "staf")],
)
def test_opd_wave_waits_for_opd_head(level: str, label: str) -> None:
    decision = cascade_gate(signer(level), OPD, PEMDA, leaders({"H2", "H1"}, set(), {"R1"}, {"R1"}))
    assert not decision.allowed
    assert decision.waiting_for == ("H1", "H2")
    assert decision.message == (
        f"Kepala OPD 32.01.001 belum menandatangani pakta; {label} dapat menandatangani setelah kepala OPD"
    )


@pytest.mark.parametrize("level", ["ADMINISTRATOR", "SUPERVISOR", "STAFF"])
def test_opd_wave_allowed_after_one_opd_head(level: str) -> None:
    # Regional heads unsigned do not matter below the OPD head: each wave waits for the one above.
    decision = cascade_gate(signer(level), OPD, PEMDA, leaders({"H1", "H2"}, {"H2"}, {"R1"}, set()))
    assert decision.allowed and decision.waiting_for == ()


@pytest.mark.parametrize("level", ["ADMINISTRATOR", "SUPERVISOR", "STAFF"])
def test_opd_wave_allowed_with_note_when_no_opd_head_registered(level: str) -> None:
    decision = cascade_gate(signer(level), OPD, PEMDA, leaders(set(), {"stray"}, {"R1"}, set()))
    assert decision.allowed and decision.waiting_for == ()
    assert "kepala OPD belum terdaftar" in decision.message
    assert OPD in decision.message


def test_opd_head_signed_counts_only_if_head_of_this_opd() -> None:
    decision = cascade_gate(signer("STAFF"), OPD, PEMDA, leaders({"H1"}, {"other-opd-head"}))
    assert not decision.allowed and decision.waiting_for == ("H1",)


@pytest.mark.parametrize("level", ["ADMINISTRATOR", "SUPERVISOR", "STAFF"])
def test_outside_any_opd_waits_for_regional_heads(level: str) -> None:
    blocked = cascade_gate(signer(level, PEMDA), None, PEMDA, leaders(regional={"R1"}))
    assert not blocked.allowed and blocked.waiting_for == ("R1",)
    assert "setelah seluruh kepala daerah" in blocked.message
    assert cascade_gate(
        signer(level, PEMDA), None, PEMDA, leaders(regional={"R1"}, regional_signed={"R1"})
    ).allowed
    no_head = cascade_gate(signer(level, PEMDA), None, None, leaders())
    assert no_head.allowed and "kepala daerah belum terdaftar" in no_head.message


def test_unknown_level_raises() -> None:
    with pytest.raises(ValueError, match="level tidak dikenal"):
        cascade_gate(signer("INTERN"), OPD, PEMDA, leaders())


REFUSED = CascadeDecision(False, ("H1",), "Kepala OPD 32.01.001 belum menandatangani pakta")
ALLOWED = CascadeDecision(True, (), "Kepala OPD 32.01.001 sudah menandatangani pakta")


def test_policy_strict() -> None:
    assert apply_policy(CascadePolicy.STRICT, REFUSED) == (False, REFUSED.message)
    assert apply_policy(CascadePolicy.STRICT, ALLOWED) == (True, None)


def test_policy_advisory() -> None:
    allowed, warning = apply_policy(CascadePolicy.ADVISORY, REFUSED)
    assert allowed and warning is not None and REFUSED.message in warning and warning.startswith("Peringatan")
    assert apply_policy(CascadePolicy.ADVISORY, ALLOWED) == (True, None)


def test_policy_off() -> None:
    assert apply_policy(CascadePolicy.OFF, REFUSED) == (True, None)
    assert apply_policy(CascadePolicy.OFF, ALLOWED) == (True, None)


def test_policy_accepts_stored_string_and_rejects_unknown() -> None:
    assert apply_policy("strict", REFUSED) == (False, REFUSED.message)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        apply_policy("lenient", REFUSED)  # type: ignore[arg-type]


# ---------------------------------------------------------------- org units

KINDS = {
    "32": "PROVINCE",
    "32.01": "REGENCY",
    "32.01.001": "OPD",
    "32.01.001.01": "SUB_UNIT",
    "32.01.001.01.1": "SUB_UNIT",
    "32.900": "OPD",  # a province's own OPD
}


@pytest.mark.parametrize(
    ("code", "path", "opd", "pemda"),
    [
        ("32.01.001.01.1", ("32", "32.01", "32.01.001", "32.01.001.01"), "32.01.001", "32.01"),
        ("32.01.001.01", ("32", "32.01", "32.01.001"), "32.01.001", "32.01"),
        ("32.01.001", ("32", "32.01"), "32.01.001", "32.01"),
        ("32.01", ("32",), None, "32.01"),
        ("32", (), None, "32"),
        ("32.900", ("32",), "32.900", "32"),
        ("unknown", ("also-unknown",), None, None),
    ],
)
def test_opd_and_pemda_of(code: str, path: tuple[str, ...], opd: str | None, pemda: str | None) -> None:
    assert opd_of(code, path, KINDS) == opd
    assert pemda_of(code, path, KINDS) == pemda
    assert opd_of(code, list(path), KINDS) == opd  # any sequence, as stored


# ---------------------------------------------------------------- pact


def test_pact_hash_is_sha256_of_utf8() -> None:
    text = "Netral sebelum, selama dan sesudah pemilu."
    assert pact_sha256(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_pact_hash_ignores_line_endings_and_trailing_whitespace() -> None:
    unix = "Pakta\n1. Netral\n2. Tolak politik uang"
    same = [unix, unix.replace("\n", "\r\n"), unix.replace("\n", "\r"), unix + "\n", unix + " \r\n\t\n"]
    assert {pact_sha256(text) for text in same} == {pact_sha256(unix)}


def test_pact_hash_counts_everything_else() -> None:
    base = pact_sha256("Pakta\n1. Netral")
    assert pact_sha256(" Pakta\n1. Netral") != base
    assert pact_sha256("Pakta \n1. Netral") != base
    assert pact_sha256("Pakta\n\n1. Netral") != base
    assert pact_sha256("pakta\n1. Netral") != base


# ---------------------------------------------------------------- codes

# ---------------------------------------------------------------- statements and keys


def statement(signer_id: str = "198503152010011001", **overrides: Any) -> Statement:
    values: dict[str, Any] = {
        "code": new_code(),
        "campaign": "pemilu-2024",
        "signer": signer_id,
        "pact_sha256": PACT,
        "signed_at": "2024-01-31T08:00:00.123456Z",
        "mode": "online",
        "authenticated_by": f"employee:pegawai-{signer_id}",
        "recorded_by": None,
    }
    values.update(overrides)
    return Statement(**values)


def ceremony_statement(signer_id: str = "198503152010011001", **overrides: Any) -> Statement:
    """Recorded by an OPD admin at a ceremony: every statement field is text."""
    return statement(
        signer_id,
        **{"mode": "in_person", "authenticated_by": "opd_admin:opd-admin-1", "recorded_by": "opd-admin-1"}
        | overrides,
    )


def test_statement_bytes_are_canonical_json() -> None:
    s = statement(code="AB12-CD34-EF56", campaign="pemilu-2024-jabar", signer="Ñ1")
    assert (
        statement_bytes(s)
        == (
            '{"authenticated_by":"employee:pegawai-198503152010011001","campaign":"pemilu-2024-jabar",'
            '"code":"AB12-CD34-EF56","mode":"online",'
            f'"pact_sha256":"{PACT}","recorded_by":null,"signed_at":"2024-01-31T08:00:00.123456Z",'
            '"signer":"Ñ1"}'
        ).encode()
    )
    assert statement_hash(s) == hashlib.sha256(statement_bytes(s)).hexdigest()


@pytest.mark.parametrize(
    "overrides",
    [
        {"mode": "phone"},
        {"signed_at": "2024-01-31T08:00:00Z"},
        {"signed_at": "2024-02-30T08:00:00.000000Z"},
        {"pact_sha256": "ABC"},
        {"code": "ab12-cd34-ef56"},
        {"campaign": ""},
        {"authenticated_by": ""},
        {"recorded_by": ""},
        {"recorded_by": "opd-admin-1"},  # recorded by an admin, yet online
    ],
)
def test_statement_refuses_malformed_fields(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        statement(**overrides)


def test_utc_timestamp() -> None:
    moment = dt.datetime(2024, 1, 31, 15, 0, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert utc_timestamp(moment) == "2024-01-31T08:00:00.000005Z"
    with pytest.raises(ValueError):
        utc_timestamp(dt.datetime(2024, 1, 31))


def test_link_hash() -> None:
    expected = hashlib.sha256(f"3:{GENESIS}:{'a' * 64}".encode()).hexdigest()
    assert link_hash(GENESIS, 3, "a" * 64) == expected
    assert GENESIS == "0" * 64


def test_key_pem_round_trip() -> None:
    again = ReceiptKey.from_pem(KEY.to_pem())
    assert again.key_id == KEY.key_id and len(KEY.key_id) == 16
    assert again.public_pem() == PUBLIC
    assert b"PRIVATE KEY" in KEY.to_pem() and b"PUBLIC KEY" in PUBLIC
    signature = again.sign(b"data")
    assert "=" not in signature and verify_signature(PUBLIC, b"data", signature)
    assert "PRIVATE" not in repr(KEY)


def test_verify_signature_rejects() -> None:
    signature = KEY.sign(b"data")
    assert not verify_signature(PUBLIC, b"datA", signature)
    assert not verify_signature(ReceiptKey.generate().public_pem(), b"data", signature)
    assert not verify_signature(PUBLIC, b"data", signature + "=")
    assert not verify_signature(PUBLIC, b"data", "not base64!")
    assert not verify_signature(PUBLIC, b"data", "")
    with pytest.raises(ValueError):
        verify_signature(b"not a key", b"data", signature)


def test_from_pem_refuses_other_key_types() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="Ed25519"):
        ReceiptKey.from_pem(pem)


# ---------------------------------------------------------------- receipts

STATEMENT_KEYS = [
    "code",
    "campaign",
    "signer",
    "pact_sha256",
    "signed_at",
    "mode",
    "authenticated_by",
    "recorded_by",
]
PENDING_FIELDS = [*STATEMENT_KEYS, "statement_hash", "statement_signature", "key_id", "status"]
CHAINED_FIELDS = [*PENDING_FIELDS, "chain_index", "prev_hash", "hash", "signature"]


def test_provisional_receipt_round_trip() -> None:
    s = statement()
    receipt = provisional_receipt(s, KEY)
    assert set(receipt) == set(CHAINED_FIELDS)
    assert {k: receipt[k] for k in STATEMENT_KEYS} == dataclasses.asdict(s)
    assert receipt["statement_hash"] == statement_hash(s)
    assert receipt["status"] == "pending" and receipt["key_id"] == KEY.key_id
    assert all(receipt[k] is None for k in ("chain_index", "prev_hash", "hash", "signature"))
    check = verify_receipt(receipt, PUBLIC)
    assert check.valid and check.stage == "pending" and check.problems == ()


def test_chained_receipt_round_trip() -> None:
    s = statement()
    prev = "ab" * 32
    receipt = chained_receipt(s, KEY, 7, prev)
    assert receipt["status"] == "chained" and receipt["chain_index"] == 7 and receipt["prev_hash"] == prev
    assert receipt["hash"] == link_hash(prev, 7, statement_hash(s))
    assert verify_signature(PUBLIC, receipt["hash"].encode(), receipt["signature"])
    # Chaining keeps what the signer was given: the same statement, hash and statement signature.
    provisional = provisional_receipt(s, KEY)
    assert receipt["statement_hash"] == provisional["statement_hash"]
    check = verify_receipt(receipt, PUBLIC)
    assert check.valid and check.stage == "chained" and check.problems == ()


def test_receipt_extra_fields_are_ignored() -> None:
    receipt = {**chained_receipt(statement(), KEY, 0, GENESIS), "_id": "db-id"}
    assert verify_receipt(receipt, PUBLIC).valid


def test_chained_receipt_refuses_bad_position() -> None:
    with pytest.raises(ValueError):
        chained_receipt(statement(), KEY, -1, GENESIS)
    with pytest.raises(ValueError):
        chained_receipt(statement(), KEY, 0, "xyz")


def _other_char(c: str) -> str:
    if c.isdigit():
        return str((int(c) + 1) % 10)
    if c.isalpha():
        nxt = chr(ord(c) + 1)
        return nxt if nxt.isalpha() else chr(ord(c) - 1)
    return "x" if c != "x" else "y"


def altered(value: Any, where: str) -> Any:
    """The value with one character (or the number) changed, at the start, middle or end; an
    empty field filled in."""
    if value is None:
        return "opd-admin-1"
    if isinstance(value, int):
        return value + 1
    position = {"first": 0, "middle": len(value) // 2, "last": len(value) - 1}[where]
    return value[:position] + _other_char(value[position]) + value[position + 1 :]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("field", PENDING_FIELDS)
def test_pending_receipt_with_one_character_altered_is_invalid(field: str, where: str) -> None:
    receipt = provisional_receipt(ceremony_statement(), KEY)
    receipt[field] = altered(receipt[field], where)
    check = verify_receipt(receipt, PUBLIC)
    assert not check.valid and check.problems


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("field", CHAINED_FIELDS)
def test_chained_receipt_with_one_character_altered_is_invalid(field: str, where: str) -> None:
    receipt = chained_receipt(ceremony_statement(), KEY, 12, "cd" * 32)
    receipt[field] = altered(receipt[field], where)
    check = verify_receipt(receipt, PUBLIC)
    assert not check.valid and check.problems


@pytest.mark.parametrize("field", ["chain_index", "prev_hash", "hash", "signature"])
def test_pending_receipt_claiming_a_chain_field_is_invalid(field: str) -> None:
    receipt = provisional_receipt(statement(), KEY)
    receipt[field] = 0 if field == "chain_index" else GENESIS
    assert not verify_receipt(receipt, PUBLIC).valid


@pytest.mark.parametrize("field", CHAINED_FIELDS)
def test_receipt_with_a_field_missing_or_of_wrong_type_is_invalid(field: str) -> None:
    receipt = chained_receipt(statement(), KEY, 3, GENESIS)
    assert not verify_receipt({k: v for k, v in receipt.items() if k != field}, PUBLIC).valid
    assert not verify_receipt({**receipt, field: ["x"]}, PUBLIC).valid


def test_statement_signature_survives_only_for_the_statement() -> None:
    # Re-hashing an edited statement does not help: the signature is over the statement itself.
    receipt = provisional_receipt(statement(), KEY)
    receipt["signer"] = "197001012000032005"
    receipt["statement_hash"] = hashlib.sha256(
        statement_bytes(Statement(**{k: receipt[k] for k in STATEMENT_KEYS}))
    ).hexdigest()
    check = verify_receipt(receipt, PUBLIC)
    assert not check.valid
    assert check.problems == ("tanda tangan pernyataan tidak sah",)


@pytest.mark.parametrize("stage", ["pending", "chained"])
def test_receipt_verified_with_the_wrong_key_is_invalid(stage: str) -> None:
    s = statement()
    receipt = provisional_receipt(s, KEY) if stage == "pending" else chained_receipt(s, KEY, 0, GENESIS)
    other = ReceiptKey.generate().public_pem()
    check = verify_receipt(receipt, other)
    assert not check.valid and check.stage == stage
    assert "key_id tidak cocok dengan kunci publik layanan" in check.problems
    assert "tanda tangan pernyataan tidak sah" in check.problems


def test_receipt_signed_by_another_key_claiming_our_key_id_is_invalid() -> None:
    forger = ReceiptKey.generate()
    receipt = chained_receipt(statement(), forger, 0, GENESIS)
    receipt["key_id"] = KEY.key_id
    check = verify_receipt(receipt, PUBLIC)
    assert not check.valid
    assert set(check.problems) == {"tanda tangan pernyataan tidak sah", "tanda tangan rantai tidak sah"}


# ---------------------------------------------------------------- chain


def build_chain(length: int, key: ReceiptKey = KEY) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = []
    head = GENESIS
    for index in range(length):
        receipt = chained_receipt(statement(f"E{index:03d}"), key, index, head)
        links.append(receipt)
        head = receipt["hash"]
    return links


CHAIN = build_chain(50)


def fresh() -> list[dict[str, Any]]:
    return [dict(link) for link in CHAIN]


def test_chain_of_fifty_is_valid() -> None:
    check = verify_chain(fresh(), PUBLIC)
    assert check.valid and check.first_broken is None and check.problem is None
    assert check.length == 50 and check.head_hash == CHAIN[-1]["hash"]


def test_chain_order_given_does_not_matter() -> None:
    check = verify_chain(reversed(fresh()), PUBLIC)
    assert check.valid and check.length == 50


def test_empty_chain() -> None:
    assert verify_chain([], PUBLIC) == verify_chain(iter(()), PUBLIC)
    check = verify_chain([], PUBLIC)
    assert check.valid and check.length == 0 and check.head_hash == GENESIS


def broken_at(links: list[dict[str, Any]], position: int) -> None:
    check = verify_chain(links, PUBLIC)
    assert not check.valid
    assert check.first_broken == position, check.problem
    assert check.problem is not None and f"catatan nomor {position}" in check.problem
    # What comes before the break is still vouched for: it matches a checkpoint of that length.
    assert check.length == position
    assert check.head_hash == (CHAIN[position - 1]["hash"] if position else GENESIS)


@pytest.mark.parametrize("index", [0, 17, 49])
def test_edited_signer_breaks_at_that_record(index: int) -> None:
    links = fresh()
    links[index]["signer"] = "E999"
    broken_at(links, index)


@pytest.mark.parametrize("field", STATEMENT_KEYS)
def test_edited_field_rehashed_still_breaks(field: str) -> None:
    # The forger recomputes every hash they can; they cannot recompute the signatures.
    links = fresh()
    link = links[20]
    link[field] = altered(link[field], "middle")
    link["statement_hash"] = hashlib.sha256(_raw_statement(link)).hexdigest()
    link["hash"] = link_hash(link["prev_hash"], 20, link["statement_hash"])
    broken_at(links, 20)


def _raw_statement(link: dict[str, Any]) -> bytes:
    # Built by hand: an edited field may no longer pass Statement's own checks.
    fields = {k: link[k] for k in STATEMENT_KEYS}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize("index", [0, 23, 48])
def test_deleted_record_breaks_at_the_gap(index: int) -> None:
    links = fresh()
    del links[index]
    broken_at(links, index)
    assert "hilang" in (verify_chain(links, PUBLIC).problem or "")


def test_deleting_the_tail_shortens_the_chain_visibly() -> None:
    # Not a break in itself; the published checkpoint (length 50, head hash) tells it apart.
    check = verify_chain(fresh()[:45], PUBLIC)
    assert check.valid and check.length == 45 and check.head_hash != CHAIN[-1]["hash"]


@pytest.mark.parametrize(("i", "j"), [(10, 30), (10, 11), (0, 49)])
def test_swapped_indexes_break_at_the_earlier(i: int, j: int) -> None:
    links = fresh()
    links[i]["chain_index"], links[j]["chain_index"] = j, i
    broken_at(links, i)


@pytest.mark.parametrize(("i", "j"), [(10, 30), (10, 11), (0, 49)])
def test_swapped_contents_break_at_the_earlier(i: int, j: int) -> None:
    links = fresh()
    a, b = links[i], links[j]
    links[i] = {**b, "chain_index": i}
    links[j] = {**a, "chain_index": j}
    broken_at(links, i)


@pytest.mark.parametrize(("i", "j"), [(10, 30), (10, 11)])
def test_swapped_statements_break_at_the_earlier(i: int, j: int) -> None:
    # Only who signed moves; chain fields stay in place.
    links = fresh()
    for key in [*STATEMENT_KEYS, "statement_hash", "statement_signature"]:
        links[i][key], links[j][key] = links[j][key], links[i][key]
    broken_at(links, i)


def test_duplicate_index_is_detected() -> None:
    links = fresh()
    links.insert(6, dict(CHAIN[5]))
    check = verify_chain(links, PUBLIC)
    assert not check.valid and check.first_broken == 5
    assert check.problem is not None and "lebih dari sekali" in check.problem


def test_forged_record_with_a_taken_index_is_detected() -> None:
    links = fresh()
    forged = chained_receipt(statement("E777"), ReceiptKey.generate(), 5, CHAIN[4]["hash"])
    forged["key_id"] = KEY.key_id
    links.insert(5, forged)
    check = verify_chain(links, PUBLIC)
    assert not check.valid and check.first_broken == 5


def test_replaced_record_is_detected() -> None:
    links = fresh()
    links[5] = dict(chained_receipt(statement("E777"), KEY, 5, GENESIS))
    broken_at(links, 5)


def test_pending_record_in_chain_is_detected() -> None:
    links = fresh()
    links.append(provisional_receipt(statement("E050"), KEY))
    check = verify_chain(links, PUBLIC)
    assert not check.valid and check.first_broken == 50 and check.length == 50


def test_record_from_another_campaign_is_detected() -> None:
    links = fresh()
    other = chained_receipt(statement("E050", campaign="pilkada-2024"), KEY, 50, CHAIN[-1]["hash"])
    links.append(other)
    check = verify_chain(links, PUBLIC)
    assert not check.valid and check.first_broken == 50
    assert check.problem is not None and "kampanye lain" in check.problem


def test_chain_verified_with_the_wrong_key_breaks_at_zero() -> None:
    check = verify_chain(fresh(), ReceiptKey.generate().public_pem())
    assert not check.valid and check.first_broken == 0 and check.length == 0
