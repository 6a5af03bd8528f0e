"""Issue 12 in the signing service, without engines: what the signed statement covers, the
check before chaining, the chain held against its last checkpoint, and the ceremony's mode and
scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from contracts.roles import Role
from services.kit.errors import Forbidden, InvalidInput
from services.kit.identity import Principal
from services.signing.domain import (
    CEREMONY_MODE_MESSAGE,
    GENESIS,
    CascadePolicy,
    ChainCheck,
    ReceiptKey,
    Statement,
    chain_verdict,
    checkpoint,
    held_against_checkpoint,
    link_receipts,
    pending_problems,
    provisional_receipt,
    signature_id,
    sort_pending,
    verify_chain,
    verify_receipt,
)
from tests.unit.test_signing_usecases import (
    BAWASLU,
    HEAD,
    KEY,
    OPD_ADMIN,
    OTHER_STAFF,
    SEKDA,
    STAFF,
    Signing,
)

PUBLIC = KEY.public_pem()
PACT = "ab" * 32
CAMPAIGN = "pilkada-2029"
ADMIN_OF_OTHER_OPD = Principal("opd-admin-2", Role.OPD_ADMIN, "32.01.002", None)


def statement(signer: str = STAFF, code: str = "AB12-CD34-EF56", **changes: Any) -> Statement:
    fields: dict[str, Any] = {
        "code": code,
        "campaign": CAMPAIGN,
        "signer": signer,
        "pact_sha256": PACT,
        "signed_at": "2029-01-10T02:00:00.000000Z",
        "mode": "in_person",
        "authenticated_by": "opd_admin:opd-admin-1",
        "recorded_by": "opd-admin-1",
    }
    return Statement(**(fields | changes))


def record(receipt: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A pending signature as the store keeps it (the fields the sequencer reads)."""
    fields = {
        "_id": signature_id(receipt["campaign"], receipt["signer"]),
        "campaign": receipt["campaign"],
        "employee_id": receipt["signer"],
        "authenticated_by": receipt["authenticated_by"],
        "recorded_by": receipt["recorded_by"],
        "receipt": receipt,
        "pending": True,
    }
    return fields | changes


def forged(signer: str = STAFF, code: str = "FAKE-2345-6789") -> dict[str, Any]:
    """What a database writer without the receipt key can make: our key id, their signature."""
    receipt = provisional_receipt(statement(signer, code), ReceiptKey.generate())
    receipt["key_id"] = KEY.key_id
    return receipt


# ---------------------------------------------------------------- the signed statement


@pytest.mark.parametrize(
    "change",
    [
        {"recorded_by": "opd-admin-2"},  # someone else recorded it
        {"recorded_by": None},  # nobody recorded it: made to look like the employee's own
        {"authenticated_by": "employee:pegawai-x"},
        {"authenticated_by": "opd_admin:opd-admin-2"},
    ],
)
def test_who_recorded_and_who_authenticated_are_signed(change: dict[str, Any]) -> None:
    receipt = provisional_receipt(statement(), KEY)
    assert verify_receipt(receipt, PUBLIC).valid
    assert {receipt["authenticated_by"], receipt["recorded_by"]} == {"opd_admin:opd-admin-1", "opd-admin-1"}
    check = verify_receipt(receipt | change, PUBLIC)
    assert not check.valid and "tanda tangan pernyataan tidak sah" in check.problems


def test_an_online_signature_names_no_recorder() -> None:
    own = provisional_receipt(
        statement(mode="online", authenticated_by=f"employee:pegawai-{STAFF}", recorded_by=None), KEY
    )
    assert verify_receipt(own, PUBLIC).valid and own["recorded_by"] is None
    with pytest.raises(ValueError, match="harus bermode in_person"):
        statement(mode="online")
    claimed = verify_receipt(own | {"recorded_by": "opd-admin-1"}, PUBLIC)
    assert not claimed.valid


# ---------------------------------------------------------------- the check before chaining


def test_a_pending_signature_of_our_own_passes() -> None:
    assert pending_problems(record(provisional_receipt(statement(), KEY)), PUBLIC) == ()


def test_a_forged_statement_is_refused() -> None:
    problems = pending_problems(record(forged()), PUBLIC)
    assert "tanda tangan pernyataan tidak sah" in problems


@pytest.mark.parametrize(
    "change",
    [
        {"authenticated_by": "employee:pegawai-x"},
        {"recorded_by": None},
        {"employee_id": OTHER_STAFF},
        {"campaign": "lain"},
        {"_id": f"{CAMPAIGN}:{OTHER_STAFF}"},
        {"receipt": None},
    ],
)
def test_a_record_that_says_other_than_its_statement_is_refused(change: dict[str, Any]) -> None:
    genuine = record(provisional_receipt(statement(), KEY))
    assert pending_problems(genuine | change, PUBLIC)


def test_a_chained_receipt_put_back_as_pending_is_refused() -> None:
    [link] = link_receipts([provisional_receipt(statement(), KEY)], KEY, 0, GENESIS)
    assert "tanda terima bukan tanda terima sementara" in pending_problems(record(link), PUBLIC)


def test_sorting_keeps_the_acceptance_order_of_the_good_ones() -> None:
    good = [
        record(provisional_receipt(statement(nip, f"AB12-CD34-EF5{i}"), KEY)) for i, nip in enumerate("12")
    ]
    bad = record(forged())
    result = sort_pending([good[0], bad, good[1]], PUBLIC)
    assert result.chainable == good and [doc for doc, _ in result.refused] == [bad]


def test_chaining_never_signs_a_statement_anew() -> None:
    # Before: the sequencer re-signed every statement it chained, so a forgery came out valid.
    [link] = link_receipts([forged()], KEY, 0, GENESIS)
    check = verify_receipt(link, PUBLIC)
    assert not check.valid and check.problems == ("tanda tangan pernyataan tidak sah",)


# ---------------------------------------------------------------- the last checkpoint


def chain(signers: str, start: int = 0, head: str = GENESIS) -> list[dict[str, Any]]:
    receipts = [
        provisional_receipt(statement(f"E{signer}", f"AB12-CD34-E{signer:0>3}"), KEY) for signer in signers
    ]
    return link_receipts(receipts, KEY, start, head)


def held(links: list[dict[str, Any]], last: dict[str, Any] | None) -> Any:
    check = verify_chain(links, PUBLIC)
    return chain_verdict(check, check.length, held_against_checkpoint(CAMPAIGN, links, check, last, PUBLIC))


AT = dt.datetime(2029, 1, 10, 3, 0, tzinfo=dt.UTC)
FIVE = chain("ABCDE")
AT_FIVE = checkpoint(CAMPAIGN, 5, FIVE[-1]["hash"], AT, KEY, final=False).model_dump()


def test_a_chain_that_holds_its_checkpoint_is_valid() -> None:
    assert held(FIVE, AT_FIVE).valid and held(FIVE, AT_FIVE).checkpoint_length == 5
    longer = FIVE + chain("FG", 5, FIVE[-1]["hash"])
    assert held(longer, AT_FIVE).valid
    assert held(FIVE, None).valid and held(FIVE, None).checkpoint_length is None


def test_a_chain_cut_back_behind_its_checkpoint_is_invalid() -> None:
    verdict = held(FIVE[:3], AT_FIVE)
    assert (verdict.valid, verdict.length, verdict.first_broken) == (False, 3, 3)
    assert (
        verdict.problem is not None and "checkpoint terakhir yang diterbitkan mencatat 5" in verdict.problem
    )


def test_a_chain_rewritten_behind_its_checkpoint_is_invalid() -> None:
    # Cut back to three, then new signatures chained from there: as long as before, but not it.
    rewritten = FIVE[:3] + chain("XYZ", 3, FIVE[2]["hash"])
    verdict = held(rewritten, AT_FIVE)
    assert (verdict.valid, verdict.first_broken) == (False, 4)
    assert verdict.problem is not None and "rantai ditulis ulang" in verdict.problem


@pytest.mark.parametrize(
    "change",
    [{"chain_length": 3}, {"head_hash": FIVE[2]["hash"]}, {"signature": "AAAA"}, {"campaign": "lain"}],
)
def test_an_altered_checkpoint_is_reported(change: dict[str, Any]) -> None:
    verdict = held(FIVE[:3], AT_FIVE | change)
    assert not verdict.valid and verdict.problem is not None and "tidak sah" in verdict.problem


def test_the_chains_own_break_is_reported_first() -> None:
    broken = ChainCheck(False, 2, FIVE[1]["hash"], 2, "catatan nomor 2: hilang")
    verdict = chain_verdict(broken, 5, held_against_checkpoint(CAMPAIGN, FIVE, broken, AT_FIVE, PUBLIC))
    assert (verdict.first_broken, verdict.problem) == (2, "catatan nomor 2: hilang")


# ---------------------------------------------------------------- the use cases


@pytest.fixture
def signing() -> Signing:
    return Signing()


async def test_the_sequencer_quarantines_a_forgery_and_chains_the_rest(signing: Signing) -> None:
    await signing.open(CascadePolicy.OFF)
    before = await signing.sign(SEKDA)
    fake = forged(HEAD)
    signing.store.signatures[signature_id(CAMPAIGN, HEAD)] = record(fake) | {"nip": HEAD}
    after = await signing.sign(STAFF)
    assert await signing.usecases.chain_pending(10) == 3
    links = [link async for link in signing.store.chained_receipts(CAMPAIGN)]
    assert [link["code"] for link in links] == [before.receipt["code"], after.receipt["code"]]
    [(moved, problems)] = signing.store.quarantined
    assert moved["receipt"]["code"] == fake["code"] and "tanda tangan pernyataan tidak sah" in problems
    assert signing.counted("netral_signing_quarantined_signatures_total") == 1
    verdict = await signing.usecases.verify_campaign_chain(BAWASLU, CAMPAIGN)
    assert (verdict.valid, verdict.length) == (True, 2)
    own = await signing.sign(HEAD)  # the employee the forgery named still signs for real
    assert own.created and own.receipt["code"] != fake["code"]


async def test_a_pending_signature_of_an_unknown_campaign_is_quarantined(signing: Signing) -> None:
    await signing.open(CascadePolicy.OFF)
    await signing.sign(STAFF)
    del signing.store.campaigns[CAMPAIGN]
    assert await signing.usecases.chain_pending(10) == 1
    [(_, problems)] = signing.store.quarantined
    assert problems == ["kampanye tanda tangan ini tidak ditemukan"]


async def test_a_ceremony_records_in_person_signatures_only(signing: Signing) -> None:
    await signing.open(CascadePolicy.OFF)
    with pytest.raises(InvalidInput) as refused:
        await signing.usecases.record_ceremony_signature(OPD_ADMIN, CAMPAIGN, STAFF, "online", {})
    assert refused.value.errors == [{"field": "mode", "message": CEREMONY_MODE_MESSAGE}]
    assert signing.store.signatures == {}


async def test_a_ceremony_checks_the_unit_before_answering_a_receipt(signing: Signing) -> None:
    await signing.open(CascadePolicy.OFF)
    await signing.sign(STAFF)
    with pytest.raises(Forbidden, match=r"unit 32\.01\.001 berada di luar wewenang Anda"):
        await signing.usecases.record_ceremony_signature(ADMIN_OF_OTHER_OPD, CAMPAIGN, STAFF, "in_person", {})
    again = await signing.usecases.record_ceremony_signature(OPD_ADMIN, CAMPAIGN, STAFF, "in_person", {})
    assert not again.created  # the admin of the employee's own unit is answered the first receipt


async def test_chain_verify_holds_the_chain_against_the_last_checkpoint(signing: Signing) -> None:
    await signing.open(CascadePolicy.OFF)
    for nip in (SEKDA, HEAD, STAFF):
        await signing.sign(nip)
    await signing.usecases.chain_pending(10)
    await signing.usecases.checkpoint_open_campaigns()
    whole = await signing.usecases.verify_campaign_chain(BAWASLU, CAMPAIGN)
    assert (whole.valid, whole.checkpoint_length) == (True, 3)
    # A writer cuts the last record off and moves the head back to match.
    last = max(signing.store.signatures.values(), key=lambda doc: doc["receipt"]["chain_index"])
    del signing.store.signatures[last["_id"]]
    second = max(signing.store.signatures.values(), key=lambda doc: doc["receipt"]["chain_index"])
    signing.store.campaigns[CAMPAIGN].update(chain_length=2, head_hash=second["receipt"]["hash"])
    cut = await signing.usecases.verify_campaign_chain(BAWASLU, CAMPAIGN)
    assert (cut.valid, cut.length, cut.recorded_length, cut.first_broken) == (False, 2, 2, 2)
    assert cut.problem is not None and "checkpoint terakhir yang diterbitkan mencatat 3" in cut.problem
