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
from services.kit.errors import Conflict, InvalidInput
from services.signing.domain import (
    GENESIS,
    LEVELS,
    CascadeDecision,
    CascadePolicy,
    LeadersSigned,
    ReceiptKey,
    Refused,
    Signer,
    Statement,
    apply_policy,
    campaign_period_start,
    campaign_snapshot,
    cascade_gate,
    chained_receipt,
    check_deadline,
    check_may_sign,
    leaders_signed,
    link_hash,
    new_campaign,
    opd_of,
    pact_sha256,
    pemda_of,
    provisional_receipt,
    rescheduling,
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
    # Leaders on file without a named office (records from before the registry kept it).
    assert decision.message == (
        "Pimpinan daerah pemda 32.01 belum menandatangani pakta (1 dari 2 belum); pejabat pimpinan "
        "tinggi (JPT) dapat menandatangani setelah pimpinan daerah (2 orang)"
    )

    none_signed = cascade_gate(signer("JPT"), OPD, PEMDA, leaders(regional={"R2", "R1"}))
    assert none_signed.waiting_for == ("R1", "R2")


def test_jpt_allowed_when_all_regional_heads_signed() -> None:
    decision = cascade_gate(signer("JPT"), OPD, PEMDA, leaders(set(), set(), {"R1", "R2"}, {"R1", "R2", "X"}))
    assert decision == CascadeDecision(True, (), decision.message)
    assert "sudah menandatangani" in decision.message


def test_jpt_allowed_with_note_when_no_regional_head_registered() -> None:
    decision = cascade_gate(signer("JPT"), OPD, PEMDA, leaders())
    assert decision.allowed and decision.waiting_for == ()
    assert "Sekda atau Pj kepala daerah belum terdaftar untuk pemda 32.01" in decision.message


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
    assert "dapat menandatangani setelah pimpinan daerah" in blocked.message
    assert cascade_gate(
        signer(level, PEMDA), None, PEMDA, leaders(regional={"R1"}, regional_signed={"R1"})
    ).allowed
    no_head = cascade_gate(signer(level, PEMDA), None, None, leaders())
    assert no_head.allowed and "Sekda atau Pj kepala daerah belum terdaftar" in no_head.message


def test_unknown_level_raises() -> None:
    with pytest.raises(ValueError, match="level tidak dikenal"):
        cascade_gate(signer("INTERN"), OPD, PEMDA, leaders())


# ---------------------------------------------------------------- the first wave: Sekda and Pj

SEKDA_ID, PJ_ID, BUPATI_ID, WAKIL_ID = "S1", "P1", "NA0000000000000001", "NA0000000000000002"
CAMPAIGN = "pilkada-2029"


def person(
    employee_id: str,
    level: str,
    unit: str = PEMDA,
    office: str | None = None,
    employment_type: str = "PNS",
    signed: bool = False,
    active: bool = True,
) -> dict[str, Any]:
    return {
        "_id": employee_id,
        "level": level,
        "org_unit_code": unit,
        "employment_type": employment_type,
        "leader_office": office,
        "active": active,
        "signed_campaigns": [CAMPAIGN] if signed else [],
    }


def pemda_with(
    *, pj: bool = True, sekda_signed: bool = False, pj_signed: bool = False
) -> list[dict[str, Any]]:
    """The leaders of pemda 32.01 on file: the elected bupati and wakil bupati (pejabat negara),
    the Sekda and, during a vacancy, the Pj bupati; and the head of OPD 32.01.001."""
    people = [
        person(BUPATI_ID, "REGIONAL_HEAD", office="KEPALA_DAERAH", employment_type="PEJABAT_NEGARA"),
        person(WAKIL_ID, "REGIONAL_HEAD", office="WAKIL_KEPALA_DAERAH", employment_type="PEJABAT_NEGARA"),
        person(SEKDA_ID, "REGIONAL_HEAD", office="SEKDA", signed=sekda_signed),
        person("H1", "JPT", unit=OPD),
    ]
    if pj:
        people.append(person(PJ_ID, "REGIONAL_HEAD", office="PJ_KEPALA_DAERAH", signed=pj_signed))
    return people


def test_the_first_wave_is_the_sekda_and_the_pj_never_the_elected_heads() -> None:
    found = leaders_signed(pemda_with(), OPD, PEMDA, CAMPAIGN)
    assert found.regional_head_ids == {SEKDA_ID, PJ_ID}  # the bupati and wakil are pejabat negara
    assert found.opd_head_ids == {"H1"}
    assert dict(found.regional_head_offices) == {SEKDA_ID: "SEKDA", PJ_ID: "PJ_KEPALA_DAERAH"}


def test_a_jpt_waits_for_the_sekda_and_the_pj_named() -> None:
    none_signed = cascade_gate(signer("JPT"), OPD, PEMDA, leaders_signed(pemda_with(), OPD, PEMDA, CAMPAIGN))
    assert not none_signed.allowed and none_signed.waiting_for == (PJ_ID, SEKDA_ID)
    assert none_signed.message == (
        "Pj kepala daerah dan Sekda pemda 32.01 belum menandatangani pakta (2 dari 2 belum); "
        "pejabat pimpinan tinggi (JPT) dapat menandatangani setelah Pj kepala daerah dan Sekda"
    )
    pj_signed = leaders_signed(pemda_with(pj_signed=True), OPD, PEMDA, CAMPAIGN)
    waiting_for_sekda = cascade_gate(signer("JPT"), OPD, PEMDA, pj_signed)
    assert waiting_for_sekda.waiting_for == (SEKDA_ID,)
    assert waiting_for_sekda.message.startswith(
        "Sekda pemda 32.01 belum menandatangani pakta (1 dari 2 belum)"
    )
    sekda_signed = leaders_signed(pemda_with(sekda_signed=True), OPD, PEMDA, CAMPAIGN)
    waiting_for_pj = cascade_gate(signer("JPT"), OPD, PEMDA, sekda_signed)
    assert waiting_for_pj.waiting_for == (PJ_ID,)
    assert waiting_for_pj.message.startswith("Pj kepala daerah pemda 32.01 belum menandatangani pakta")
    both = leaders_signed(pemda_with(sekda_signed=True, pj_signed=True), OPD, PEMDA, CAMPAIGN)
    allowed = cascade_gate(signer("JPT"), OPD, PEMDA, both)
    assert (
        allowed.allowed
        and allowed.message == "Pj kepala daerah dan Sekda pemda 32.01 sudah menandatangani pakta"
    )


def test_without_a_pj_the_jpt_waits_for_the_sekda_alone() -> None:
    waiting = cascade_gate(
        signer("JPT"), OPD, PEMDA, leaders_signed(pemda_with(pj=False), OPD, PEMDA, CAMPAIGN)
    )
    assert waiting.waiting_for == (SEKDA_ID,)
    assert waiting.message == (
        "Sekda pemda 32.01 belum menandatangani pakta; pejabat pimpinan tinggi (JPT) dapat "
        "menandatangani setelah Sekda"
    )
    signed = leaders_signed(pemda_with(pj=False, sekda_signed=True), OPD, PEMDA, CAMPAIGN)
    assert cascade_gate(signer("JPT"), OPD, PEMDA, signed).allowed


def test_elected_heads_alone_hold_no_one_back() -> None:
    elected_only = [doc for doc in pemda_with(pj=False) if doc["employment_type"] == "PEJABAT_NEGARA"]
    found = leaders_signed(elected_only, OPD, PEMDA, CAMPAIGN)
    assert found.regional_head_ids == frozenset()
    decision = cascade_gate(signer("JPT"), OPD, PEMDA, found)
    assert decision.allowed and "Sekda atau Pj kepala daerah belum terdaftar" in decision.message


def test_the_sekda_and_the_pj_open_the_cascade() -> None:
    unsigned = leaders_signed(pemda_with(), OPD, PEMDA, CAMPAIGN)
    for office, named in (("SEKDA", "Sekda"), ("PJ_KEPALA_DAERAH", "Pj kepala daerah")):
        first = cascade_gate(Signer("X", "REGIONAL_HEAD", PEMDA, ("32",), office), None, PEMDA, unsigned)
        assert first == CascadeDecision(
            True, (), f"{named} membuka gelombang pertama; tidak menunggu siapa pun"
        )
    # A JPT at the pemda's own unit (an assistant to the Sekda) is no leader who opens it.
    assert not cascade_gate(Signer("X", "JPT", PEMDA, ("32",)), None, PEMDA, unsigned).allowed


def test_a_pppk_opd_head_is_an_opd_head() -> None:
    # PP 49/2018: a PPPK may hold a JPT post; the OPD's next waves wait for them like any head.
    people = [person("H-PPPK", "JPT", unit=OPD, employment_type="PPPK")]
    found = leaders_signed(people, OPD, PEMDA, CAMPAIGN)
    assert found.opd_head_ids == {"H-PPPK"}
    assert cascade_gate(signer("STAFF"), OPD, PEMDA, found).waiting_for == ("H-PPPK",)


def test_inactive_leaders_and_other_units_do_not_count() -> None:
    people = [
        person(SEKDA_ID, "REGIONAL_HEAD", office="SEKDA", active=False),
        person("S-OTHER", "REGIONAL_HEAD", unit="32.02", office="SEKDA"),
        person("H-OTHER", "JPT", unit="32.01.002"),
    ]
    found = leaders_signed(people, OPD, PEMDA, CAMPAIGN)
    assert found.regional_head_ids == frozenset() and found.opd_head_ids == frozenset()


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


# ---------------------------------------------------------------- who signs, and the campaign period

NOW = dt.datetime(2029, 1, 10, 2, 0, tzinfo=dt.UTC)
PERIOD = dt.date(2029, 1, 25)
WIB = dt.timezone(dt.timedelta(hours=7))


def campaign_doc(deadline: dt.datetime, period: dt.date | None = PERIOD) -> dict[str, Any]:
    doc = new_campaign(
        CAMPAIGN,
        "Pakta Integritas Netralitas ASN",
        "Pilkada 2029",
        deadline,
        "Saya menjaga netralitas ASN.",
        [PEMDA],
        CascadePolicy.STRICT,
        [72, 24],
        "bkpsdm-1",
        NOW,
        period or PERIOD,
    )
    if period is None:
        del doc["campaign_period_starts_on"]  # as stored before the platform recorded it
    return doc


def test_an_elected_head_is_refused_with_the_reason() -> None:
    elected = {
        "_id": BUPATI_ID,
        "active": True,
        "lineage": ["32", PEMDA],
        "employment_type": "PEJABAT_NEGARA",
    }
    with pytest.raises(Refused) as refused:
        check_may_sign(campaign_doc(NOW + dt.timedelta(days=10)), elected, NOW)
    assert refused.value.message == (
        f"{BUPATI_ID} tercatat sebagai pejabat negara (kepala daerah atau wakil kepala daerah hasil "
        "pemilihan), bukan ASN: pakta integritas netralitas ASN tidak ditandatangani pejabat negara"
    )
    check_may_sign(campaign_doc(NOW + dt.timedelta(days=10)), {**elected, "employment_type": "PNS"}, NOW)


def test_the_campaign_period_starts_at_midnight_where_the_pemda_is() -> None:
    assert campaign_period_start(PERIOD, "Asia/Jakarta") == dt.datetime(2029, 1, 24, 17, 0, tzinfo=dt.UTC)
    assert campaign_period_start(PERIOD, "Asia/Jayapura") == dt.datetime(2029, 1, 24, 15, 0, tzinfo=dt.UTC)


def test_a_deadline_at_the_start_of_the_campaign_period_is_allowed() -> None:
    check_deadline(dt.datetime(2029, 1, 25, 0, 0, tzinfo=WIB), NOW, PERIOD)
    check_deadline(dt.datetime(2029, 1, 24, 17, 0, tzinfo=dt.UTC), NOW, PERIOD)  # the same instant
    check_deadline(dt.datetime(2029, 1, 24, 23, 59, tzinfo=WIB), NOW, PERIOD)


def test_a_deadline_into_the_campaign_period_is_refused_precisely() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_deadline(dt.datetime(2029, 1, 26, 0, 0, tzinfo=WIB), NOW, PERIOD)
    assert refused.value.errors == [
        {
            "field": "deadline",
            "message": "tenggat 2029-01-26 pukul 00.00 WIB melewati awal masa kampanye 2029-01-25 pukul "
            "00.00 WIB: pakta ditandatangani paling lambat saat masa kampanye dimulai",
        }
    ]
    with pytest.raises(InvalidInput):  # one minute into the first day
        check_deadline(dt.datetime(2029, 1, 25, 0, 1, tzinfo=WIB), NOW, PERIOD)


def test_the_campaign_period_is_read_in_the_configured_zone() -> None:
    # 00.00 WIB on the first day is 02.00 WIT: already inside the period in Papua.
    deadline = dt.datetime(2029, 1, 25, 0, 0, tzinfo=WIB)
    with pytest.raises(InvalidInput, match=r"melewati awal masa kampanye 2029-01-25 pukul 00\.00 WIT"):
        check_deadline(deadline, NOW, PERIOD, "Asia/Jayapura")
    check_deadline(
        dt.datetime(2029, 1, 25, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))),
        NOW,
        PERIOD,
        "Asia/Jayapura",
    )


def test_both_deadline_problems_are_told_at_once() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_deadline(NOW, NOW, dt.date(2029, 1, 1))
    assert [error["message"].split(" ")[0] for error in refused.value.errors] == ["tenggat", "tenggat"]
    assert refused.value.errors[0]["message"] == "tenggat harus di masa depan"


def test_a_campaign_records_its_period_and_publishes_it() -> None:
    doc = campaign_doc(NOW + dt.timedelta(days=10))
    assert doc["campaign_period_starts_on"] == "2029-01-25"
    assert campaign_snapshot(doc).campaign_period_starts_on == PERIOD
    old = campaign_doc(NOW + dt.timedelta(days=10), period=None)
    assert campaign_snapshot(old).campaign_period_starts_on is None


def test_rescheduling_keeps_the_deadline_before_the_period() -> None:
    doc = campaign_doc(dt.datetime(2029, 1, 20, 0, 0, tzinfo=WIB))
    with pytest.raises(InvalidInput, match="melewati awal masa kampanye 2029-01-25"):
        rescheduling(doc, dt.datetime(2029, 1, 26, 0, 0, tzinfo=WIB), None, "bkpsdm-1", NOW)
    # The KPU brings the period forward to before the deadline: refused as well.
    with pytest.raises(InvalidInput, match="melewati awal masa kampanye 2029-01-18"):
        rescheduling(doc, None, dt.date(2029, 1, 18), "bkpsdm-1", NOW)
    moved = rescheduling(doc, None, dt.date(2029, 2, 1), "bkpsdm-1", NOW)
    assert moved is not None and moved.changes["campaign_period_starts_on"] == "2029-02-01"
    assert moved.record["campaign_period_starts_on"] == {"from": "2029-01-25", "to": "2029-02-01"}
    assert rescheduling(doc, doc["deadline"], PERIOD, "bkpsdm-1", NOW) is None


def test_rescheduling_an_old_campaign_records_its_period_first() -> None:
    old = campaign_doc(dt.datetime(2029, 1, 20, 0, 0, tzinfo=WIB), period=None)
    with pytest.raises(InvalidInput) as refused:
        rescheduling(old, dt.datetime(2029, 1, 21, 0, 0, tzinfo=WIB), None, "bkpsdm-1", NOW)
    assert refused.value.errors[0]["field"] == "campaign_period_starts_on"
    recorded = rescheduling(old, None, PERIOD, "bkpsdm-1", NOW)
    assert recorded is not None and recorded.changes["campaign_period_starts_on"] == "2029-01-25"


def test_rescheduling_sends_again_the_reminders_not_yet_due() -> None:
    deadline = NOW + dt.timedelta(hours=30)
    doc = {**campaign_doc(deadline), "reminders_sent": [72]}
    later = rescheduling(doc, NOW + dt.timedelta(days=4), None, "bkpsdm-1", NOW)
    assert later is not None and later.changes["reminders_sent"] == []  # 72 h before is ahead again
    sooner = rescheduling(doc, NOW + dt.timedelta(hours=20), None, "bkpsdm-1", NOW)
    assert sooner is not None and sooner.changes["reminders_sent"] == [72]


def test_a_closed_or_past_campaign_is_not_rescheduled() -> None:
    doc = campaign_doc(NOW + dt.timedelta(days=1))
    with pytest.raises(Conflict, match="sudah ditutup"):
        rescheduling({**doc, "status": "closed"}, None, dt.date(2029, 2, 1), "bkpsdm-1", NOW)
    with pytest.raises(Conflict, match="sudah ditutup"):
        rescheduling(doc, None, dt.date(2029, 2, 1), "bkpsdm-1", NOW + dt.timedelta(days=1))
