"""What the signing service does, one method per command and query: who may do it and in which
units is checked here, once; the rules are in `services.signing.domain`, the documents in
`services.signing.store`. The HTTP API and the chain sequencer call these."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, Counter

from contracts.envelope import CloudEvent, EventData, new_event
from contracts.roles import Role
from contracts.signing import (
    CampaignClosedV1,
    CampaignOpenedV1,
    CampaignPactRevisedV1,
    CampaignRescheduledV1,
    ChainCheckpointV1,
)
from services.kit.clock import Clock
from services.kit.codes import new_code, normalise_code
from services.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.kit.identity import Principal
from services.kit.mongo import Document
from services.kit.polling import Wakeup
from services.signing.domain import (
    DEFAULT_TIMEZONE,
    REGIONAL_HEAD,
    CascadePolicy,
    ChainVerdict,
    ReceiptCheck,
    ReceiptKey,
    Refused,
    campaign_snapshot,
    cascade_units,
    cascade_warning,
    chain_verdict,
    check_ceremony_mode,
    check_deadline,
    check_may_sign,
    checkpoint,
    checkpoint_due,
    held_against_checkpoint,
    leaders_signed,
    new_campaign,
    new_signature,
    office_label,
    pact_revision,
    past_deadline,
    reminders_due,
    rescheduling,
    revised_campaign,
    signature_id,
    sort_pending,
    unsigned_notice,
    verify_chain,
    verify_receipt,
)
from services.signing.store import Pending
from services.signing.store import SignResult as SignResult  # what a sign returns, for the api

log = logging.getLogger(__name__)

SOURCE = "/netral/signing"

CAMPAIGN_ADMINS = (Role.BKPSDM,)
MONITORS = (Role.BKPSDM, Role.OPD_ADMIN, Role.BKN, Role.BAWASLU, Role.INSPEKTORAT)
CHAIN_AUDITORS = (Role.BKPSDM, Role.BKN, Role.BAWASLU, Role.INSPEKTORAT)
SIGNERS = (Role.EMPLOYEE,)
CEREMONY_RECORDERS = (Role.OPD_ADMIN,)


def unknown_unit(code: str) -> str:
    return f"unit organisasi {code} belum dikenal layanan penandatanganan"


class SigningRepository(Protocol):
    """What the use cases need of the store (services.signing.store.SigningStore)."""

    async def campaign(self, code: str) -> Document | None: ...
    async def cached_campaign(self, code: str) -> Document | None: ...
    async def insert_campaign(self, doc: Document, events: Sequence[CloudEvent]) -> bool: ...
    async def save_pact_revision(
        self, code: str, revision: Document, events: Sequence[CloudEvent]
    ) -> Document | None: ...
    async def unit(self, code: str) -> Document | None: ...
    async def unit_kinds(self, codes: Sequence[str]) -> dict[str, str]: ...
    async def employee(self, employee_id: str) -> Document | None: ...
    async def leader_candidates(self, opd_code: str | None, pemda_code: str | None) -> list[Document]: ...
    async def save_rescheduling(
        self, campaign: Document, changes: Document, record: Document, events: Sequence[CloudEvent]
    ) -> Document | None: ...
    async def signed_receipt(self, signature_id: str) -> dict[str, Any] | None: ...
    async def add_signature(self, pending: Pending) -> SignResult: ...
    async def receipt(self, code: str) -> dict[str, Any] | None: ...
    def chained_receipts(self, campaign_code: str) -> AsyncIterator[dict[str, Any]]: ...
    async def progress(self, campaign: Document, unit: Document) -> dict[str, Any]: ...
    async def unsigned(
        self, campaign: Document, unit_code: str, page: int, page_size: int
    ) -> tuple[list[Document], int]: ...
    async def pending_signatures(self, limit: int) -> list[Document]: ...
    async def chain_signatures(self, docs: Sequence[Document]) -> None: ...
    async def quarantine_signature(self, doc: Document, problems: Sequence[str], at: dt.datetime) -> str: ...
    async def open_campaign_codes(self) -> list[str]: ...
    async def save_checkpoint(self, head: ChainCheckpointV1, events: Sequence[CloudEvent]) -> bool: ...
    async def last_checkpoint(self, campaign_code: str) -> Document | None: ...
    async def open_campaigns(self) -> list[Document]: ...
    def unsigned_in_scope(self, campaign: Document, batch: int = 1000) -> AsyncIterator[list[Document]]: ...
    async def stage_events(self, events: Sequence[CloudEvent]) -> None: ...
    async def mark_reminder_sent(self, campaign_code: str, hours_before: int) -> None: ...
    async def close_campaign(
        self, final: ChainCheckpointV1, closed_at: dt.datetime, events: Sequence[CloudEvent]
    ) -> Document | None: ...


@runtime_checkable
class SigningPageQueries(Protocol):
    """What the pages' queries need of the store besides SigningRepository; apart, so that a
    store for the commands alone (a test's) is still a whole repository."""

    async def open_campaigns_for(self, lineage: Sequence[str]) -> list[Document]: ...
    async def people_named(self, employee_ids: Sequence[str]) -> list[Document]: ...
    async def unit_names(self, codes: Sequence[str]) -> dict[str, str]: ...
    async def signatures_per_hour(self, campaign_code: str, unit_code: str) -> list[tuple[str, int]]: ...
    def unsigned_under(
        self, campaign: Document, unit_code: str, batch: int = 1000
    ) -> AsyncIterator[list[Document]]: ...


class SigningMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.signatures = Counter(
            "netral_signing_signatures", "Signatures taken", ["campaign", "mode"], registry=registry
        )
        self.refusals = Counter(
            "netral_signing_cascade_refusals",
            "Signatures refused by the cascade",
            ["campaign"],
            registry=registry,
        )
        # No label: what a forged record names is not to become a metric's label.
        self.quarantined = Counter(
            "netral_signing_quarantined_signatures",
            "Pending signatures that failed verification and were not chained",
            registry=registry,
        )


@dataclass(frozen=True)
class CampaignDraft:
    code: str
    title: str
    election: str
    deadline: dt.datetime
    pact_text: str
    scope: list[str]
    cascade: CascadePolicy
    reminder_hours: list[int]
    campaign_period_starts_on: dt.date


@dataclass(frozen=True)
class ReceiptVerdict:
    receipt: dict[str, Any]
    check: ReceiptCheck


@dataclass(frozen=True)
class OpenCampaign:
    campaign: Document
    signed: bool


@dataclass(frozen=True)
class WaitedLeader:
    employee_id: str
    name: str
    title: str
    """"kepala OPD Anda", "Sekda", "Pj kepala daerah": what the signer knows them as."""


@dataclass(frozen=True)
class SigningChance:
    campaign: Document
    receipt: dict[str, Any] | None
    """Their receipt when they have signed already."""
    refusal: str | None
    """Why they may not sign now (the rule's message), None when they may."""
    waiting_for: tuple[WaitedLeader, ...]


OPD_HEAD_TITLE = "kepala OPD Anda"


def _leader_title(person: Mapping[str, Any]) -> str:
    if person.get("level") == REGIONAL_HEAD:
        return office_label(person.get("leader_office"))
    return OPD_HEAD_TITLE


class SigningUseCases:
    def __init__(
        self,
        store: SigningRepository,
        key: ReceiptKey,
        clock: Clock,
        wakeup: Wakeup,
        metrics: SigningMetrics,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        self.store = store
        self.key = key
        self.clock = clock
        self.timezone = timezone
        """Where the campaign period's first day begins (see domain.campaign_period_start)."""
        self.wakeup = wakeup
        """Set after each new signature: the chain sequencer waits on it."""
        self.metrics = metrics
        self.page_queries = store if isinstance(store, SigningPageQueries) else None

    def _queries(self) -> SigningPageQueries:
        if self.page_queries is None:
            raise RuntimeError("this store does not answer the pages' queries (SigningPageQueries)")
        return self.page_queries

    def _event(self, data: EventData, now: dt.datetime, event_id: str | None = None) -> CloudEvent:
        return new_event(data, SOURCE, time=now, event_id=event_id)

    async def _campaign(self, code: str) -> Document:
        doc = await self.store.campaign(code)
        if doc is None:
            raise NotFound(f"kampanye {code} tidak ditemukan")
        return doc

    async def _unit(self, code: str) -> Document:
        doc = await self.store.unit(code)
        if doc is None:
            raise NotFound(unknown_unit(code))
        return doc

    async def _scoped_unit(self, principal: Principal, code: str) -> Document:
        unit = await self._unit(code)
        principal.check_access(code, unit["path"])
        return unit

    # ------------------------------------------------------------ campaigns

    async def create_campaign(self, principal: Principal, draft: CampaignDraft) -> Document:
        principal.check_role(*CAMPAIGN_ADMINS)
        now = self.clock.now()
        check_deadline(draft.deadline, now, draft.campaign_period_starts_on, self.timezone)
        for code in draft.scope:
            unit = await self.store.unit(code)
            if unit is None:
                # A scope names units of the registry: one not projected here yet is bad input.
                raise InvalidInput.one("scope", unknown_unit(code))
            principal.check_access(code, unit["path"])
        doc = new_campaign(
            draft.code,
            draft.title,
            draft.election,
            draft.deadline,
            draft.pact_text,
            draft.scope,
            draft.cascade,
            draft.reminder_hours,
            principal.subject,
            now,
            draft.campaign_period_starts_on,
        )
        opened = self._event(CampaignOpenedV1(campaign=campaign_snapshot(doc)), now)
        if not await self.store.insert_campaign(doc, [opened]):
            raise Conflict(f"kampanye {draft.code} sudah ada")
        return doc

    async def campaign(self, principal: Principal, code: str) -> Document:
        """Any signed-in role may read a campaign and its pact."""
        return await self._campaign(code)

    async def revise_pact(self, principal: Principal, code: str, pact_text: str) -> Document:
        principal.check_role(*CAMPAIGN_ADMINS)
        campaign = await self._campaign(code)
        for unit_code in campaign["scope"]:
            await self._scoped_unit(principal, unit_code)
        now = self.clock.now()
        revision = pact_revision(campaign, pact_text, principal.subject, now)
        if revision is None:
            return campaign
        revised = revised_campaign(campaign, revision)
        event = self._event(CampaignPactRevisedV1(campaign=campaign_snapshot(revised)), now)
        saved = await self.store.save_pact_revision(code, revision, [event])
        if saved is None:
            raise Conflict(f"pakta kampanye {code} sedang diubah proses lain")
        return saved

    async def reschedule(
        self,
        principal: Principal,
        code: str,
        deadline: dt.datetime | None,
        campaign_period_starts_on: dt.date | None,
    ) -> Document:
        """A new deadline, a new campaign period start, or both; the deadline stays at the
        latest the start of the period."""
        principal.check_role(*CAMPAIGN_ADMINS)
        campaign = await self._campaign(code)
        for unit_code in campaign["scope"]:
            await self._scoped_unit(principal, unit_code)
        now = self.clock.now()
        change = rescheduling(
            campaign, deadline, campaign_period_starts_on, principal.subject, now, self.timezone
        )
        if change is None:
            return campaign
        event = self._event(
            CampaignRescheduledV1(campaign=campaign_snapshot({**campaign, **change.changes})), now
        )
        saved = await self.store.save_rescheduling(campaign, change.changes, change.record, [event])
        if saved is None:
            raise Conflict(f"jadwal kampanye {code} sedang diubah proses lain")
        return saved

    # ------------------------------------------------------------ signatures

    async def sign(
        self, principal: Principal, campaign_code: str, mode: str, client: Mapping[str, Any]
    ) -> SignResult:
        """An employee signs for themself, as the employee id of their token (a token from
        before `employee_id` was required names an ASN by the NIP, which is their id)."""
        principal.check_role(*SIGNERS)
        employee_id = principal.employee_id or principal.nip
        if employee_id is None:
            raise Forbidden("token pegawai tidak memuat NIP")
        return await self._take(principal, campaign_code, employee_id, mode, client, recorded=False)

    async def record_ceremony_signature(
        self,
        principal: Principal,
        campaign_code: str,
        employee_id: str,
        mode: str,
        client: Mapping[str, Any],
    ) -> SignResult:
        """An OPD admin records the signature of an employee of their unit, signed in person."""
        principal.check_role(*CEREMONY_RECORDERS)
        check_ceremony_mode(mode)
        return await self._take(principal, campaign_code, employee_id, mode, client, recorded=True)

    async def _take(
        self,
        principal: Principal,
        campaign_code: str,
        employee_id: str,
        mode: str,
        client: Mapping[str, Any],
        recorded: bool,
    ) -> SignResult:
        # Hundreds a second on a signing morning: the campaign comes from a short cache, unit
        # kinds from memory, and the leaders in one query; the write joins a group commit.
        campaign = await self.store.cached_campaign(campaign_code)
        if campaign is None:
            raise NotFound(f"kampanye {campaign_code} tidak ditemukan")
        employee = await self.store.employee(employee_id)
        if employee is None:
            raise NotFound(f"pegawai {employee_id} belum dikenal layanan penandatanganan")
        if recorded:
            # Before anything about their signature is answered, the first receipt included.
            principal.check_access(employee["org_unit_code"], employee["org_unit_path"])
        if campaign_code in employee.get("signed_campaigns", []):
            receipt = await self.store.signed_receipt(signature_id(campaign_code, employee_id))
            if receipt is not None:  # signing twice answers the first receipt
                return SignResult(receipt, created=False, warning=None)
        now = self.clock.now()
        try:
            warning = await self._admit(campaign, employee, now)
        except Refused:
            self.metrics.refusals.labels(campaign_code).inc()
            raise
        signing = new_signature(
            campaign,
            employee,
            new_code(),
            mode,
            now,
            self.key,
            authenticated_by=f"{principal.role.value}:{principal.subject}",
            recorded_by=principal.subject if recorded else None,
            client=client,
            warning=warning,
        )
        pending = Pending(signing.record, self._event(signing.event, now), warning)
        result = await self.store.add_signature(pending)
        if result.created:
            self.metrics.signatures.labels(campaign_code, mode).inc()
            self.wakeup.set()
        return result

    async def _admit(self, campaign: Document, employee: Document, now: dt.datetime) -> str | None:
        """The rules a signature must pass, the cascade included: raises Refused, or answers
        the warning to show with the receipt (an advisory cascade's), if any."""
        check_may_sign(campaign, employee, now)
        policy = CascadePolicy(campaign["cascade"])
        if policy is CascadePolicy.OFF:
            return None
        kinds = await self.store.unit_kinds(employee["lineage"])
        opd, pemda = cascade_units(employee, kinds)
        candidates = await self.store.leader_candidates(opd, pemda)
        leaders = leaders_signed(candidates, opd, pemda, campaign["_id"])
        return cascade_warning(policy, employee, opd, pemda, leaders)

    # ------------------------------------------------------------ the employee's pages

    async def open_campaigns_for(self, principal: Principal) -> list[OpenCampaign]:
        """The open campaigns whose scope holds the signed-in employee, and whether they signed."""
        principal.check_role(*SIGNERS)
        employee = await self._signer(principal)
        signed = set(employee.get("signed_campaigns", []))
        return [
            OpenCampaign(doc, doc["_id"] in signed)
            for doc in await self._queries().open_campaigns_for(employee["lineage"])
        ]

    async def signing_chance(self, principal: Principal, code: str) -> SigningChance:
        """What the signing page shows the employee, without signing: their receipt if they
        signed, else whether they may sign now and, if not, why and whom they wait for."""
        principal.check_role(*SIGNERS)
        employee = await self._signer(principal)
        # From the short cache, as a signature reads it: on signing morning this page is read
        # as often as signatures are taken.
        campaign = await self.store.cached_campaign(code)
        if campaign is None:
            raise NotFound(f"kampanye {code} tidak ditemukan")
        if code in employee.get("signed_campaigns", []):
            receipt = await self.store.signed_receipt(signature_id(code, employee["_id"]))
            if receipt is not None:
                return SigningChance(campaign, receipt, None, ())
        try:
            await self._admit(campaign, employee, self.clock.now())
        except Refused as refused:
            people = await self._queries().people_named(refused.waiting_for) if refused.waiting_for else []
            named = {doc["_id"]: doc for doc in people}
            waited = tuple(
                WaitedLeader(
                    employee_id,
                    str(named.get(employee_id, {}).get("name") or employee_id),
                    _leader_title(named.get(employee_id, {})),
                )
                for employee_id in refused.waiting_for
            )
            return SigningChance(campaign, None, refused.message, waited)
        return SigningChance(campaign, None, None, ())

    async def own_receipt(self, principal: Principal, code: str) -> ReceiptVerdict:
        """The signed-in employee's own receipt; someone else's is not found for them (whether
        a code exists is said only by the public verification, which shows no name)."""
        principal.check_role(*SIGNERS)
        verdict = await self.verify_receipt(code)
        signer = principal.employee_id or principal.nip
        if verdict.receipt.get("signer") != signer:
            raise NotFound(f"tanda terima {verdict.receipt.get('code')} bukan milik Anda")
        return verdict

    async def _signer(self, principal: Principal) -> Document:
        employee_id = principal.employee_id or principal.nip
        if employee_id is None:
            raise Forbidden("sesi pegawai tidak memuat NIP")
        employee = await self.store.employee(employee_id)
        if employee is None:
            raise NotFound(f"pegawai {employee_id} belum dikenal layanan penandatanganan")
        return employee

    # ------------------------------------------------------------ receipts and the chain

    async def verify_receipt(self, code: str) -> ReceiptVerdict:
        """Public: anyone holding a receipt code can check it, no login."""
        canonical = normalise_code(code, "kode tanda terima")
        receipt = await self.store.receipt(canonical)
        if receipt is None:
            raise NotFound(f"tanda terima {canonical} tidak ditemukan")
        return ReceiptVerdict(receipt, verify_receipt(receipt, self.key.public_pem()))

    def receipt_keys(self) -> list[dict[str, str]]:
        """Public: the keys receipts and checkpoints are signed with."""
        return [{"key_id": self.key.key_id, "alg": "Ed25519", "public_pem": self.key.public_pem().decode()}]

    async def verify_campaign_chain(self, principal: Principal, code: str) -> ChainVerdict:
        principal.check_role(*CHAIN_AUDITORS)
        await self._campaign(code)
        # The checkpoint before the links: it names only a chain already committed, so a
        # checkpoint taken while the links are read cannot make a sound chain look short.
        last = await self.store.last_checkpoint(code)
        links = [link async for link in self.store.chained_receipts(code)]
        public_pem = self.key.public_pem()
        # Thousands of signature checks: off the event loop, so signing goes on meanwhile.
        check = await asyncio.to_thread(verify_chain, links, public_pem)
        recorded = (await self._campaign(code))["chain_length"]
        checkpointed = held_against_checkpoint(code, links, check, last, public_pem)
        return chain_verdict(check, int(recorded), checkpointed)

    # ------------------------------------------------------------ progress

    async def progress(self, principal: Principal, code: str, org_unit: str) -> dict[str, Any]:
        principal.check_role(*MONITORS)
        unit = await self._scoped_unit(principal, org_unit)
        return await self.store.progress(await self._campaign(code), unit)

    async def unsigned(
        self, principal: Principal, code: str, org_unit: str, page: int, page_size: int
    ) -> tuple[list[Document], int]:
        principal.check_role(*MONITORS)
        await self._scoped_unit(principal, org_unit)
        return await self.store.unsigned(await self._campaign(code), org_unit, page, page_size)

    async def open_campaigns(self, principal: Principal) -> list[Document]:
        """The open campaigns, for a monitor to choose one (any signed-in role may read a
        campaign; the progress inside it is scoped)."""
        principal.check_role(*MONITORS)
        return await self.store.open_campaigns()

    async def progress_version(self, code: str) -> int:
        """Moves whenever signatures are chained (within the campaign cache's second): what a
        live progress page watches before it recounts. Read after `progress` checked access."""
        campaign = await self.store.cached_campaign(code)
        return int(campaign["chain_length"]) if campaign is not None else -1

    async def signatures_per_hour(
        self, principal: Principal, code: str, org_unit: str
    ) -> list[tuple[dt.datetime, int]]:
        """Signatures in the unit's subtree per hour (UTC hours, oldest first), for the chart."""
        principal.check_role(*MONITORS)
        await self._scoped_unit(principal, org_unit)
        campaign = await self._campaign(code)
        hours = await self._queries().signatures_per_hour(campaign["_id"], org_unit)
        return [
            (dt.datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=dt.UTC), count) for hour, count in hours
        ]

    async def unsigned_export(
        self, principal: Principal, code: str, org_unit: str
    ) -> AsyncIterator[list[Document]]:
        """Everyone in the unit's subtree who has not signed, a page at a time: access is
        checked here, before the first page is read, so a refusal is an answer, not a cut CSV."""
        principal.check_role(*MONITORS)
        await self._scoped_unit(principal, org_unit)
        campaign = await self._campaign(code)
        return self._queries().unsigned_under(campaign, org_unit)

    async def unit_trail(self, principal: Principal, org_unit: str) -> list[tuple[str, str]]:
        """(code, name) from the highest unit the principal may see down to `org_unit`: the
        drill-down's way back up."""
        principal.check_role(*MONITORS)
        unit = await self._scoped_unit(principal, org_unit)
        codes = [*unit["path"], unit["_id"]]
        if principal.org_unit is not None:
            codes = codes[codes.index(principal.org_unit) :] if principal.org_unit in codes else [unit["_id"]]
        names = await self._queries().unit_names(codes)
        return [(unit_code, names.get(unit_code, unit_code)) for unit_code in codes]

    async def latest_checkpoint(self, campaign_code: str) -> Document | None:
        """Public, like the checkpoint events agencies keep: the campaign's longest checkpoint."""
        return await self.store.last_checkpoint(campaign_code)

    # ------------------------------------------------------------ the sequencer's duties

    async def chain_pending(self, limit: int) -> int:
        """Chain up to `limit` pending signatures, each only once its statement is verified as
        this service's; how many were taken off the pending list. A signature that fails is
        quarantined, not chained, and the chain goes on with the rest."""
        docs = await self.store.pending_signatures(limit)
        if not docs:
            return 0
        # One Ed25519 check per signature (50 to 150 µs): a full batch takes a tenth of a second
        # or more, which would otherwise hold up every request of this replica.
        pending = await asyncio.to_thread(sort_pending, docs, self.key.public_pem())
        refused = list(pending.refused)
        chainable: list[Document] = []
        known: dict[str, bool] = {}
        for doc in pending.chainable:
            code = doc["campaign"]
            if code not in known:
                known[code] = await self.store.cached_campaign(code) is not None
            if known[code]:
                chainable.append(dict(doc))
            else:
                refused.append((doc, ("kampanye tanda tangan ini tidak ditemukan",)))
        now = self.clock.now()
        for doc, problems in refused:
            record_id = await self.store.quarantine_signature(dict(doc), problems, now)
            self.metrics.quarantined.inc()
            # The record's own fields are not logged: they name a person, or are a forger's text.
            log.warning(
                "pending signature failed verification: quarantined, not chained",
                extra={"quarantine_id": record_id, "problems": len(problems)},
            )
        if chainable:
            await self.store.chain_signatures(chainable)
        return len(docs)

    async def checkpoint_open_campaigns(self) -> dict[str, int]:
        """Publish each open campaign's chain head if it moved; the chain lengths."""
        lengths: dict[str, int] = {}
        for code in await self.store.open_campaign_codes():
            campaign = await self.store.campaign(code)
            if campaign is None:
                continue
            length = int(campaign["chain_length"])
            if checkpoint_due(campaign, final=False):
                now = self.clock.now()
                head = checkpoint(code, length, campaign["head_hash"], now, self.key, final=False)
                await self.store.save_checkpoint(head, [self._event(head, now)])
            lengths[code] = length
        return lengths

    async def deadline_duties(self, batch_size: int) -> None:
        """Reminders at the campaign's configured hours before the deadline; at the deadline,
        everything still pending is chained, overdue notices go out, and the campaign closes."""
        now = self.clock.now()
        for campaign in await self.store.open_campaigns():
            code = campaign["_id"]
            if past_deadline(campaign, now):
                while await self.chain_pending(batch_size):
                    pass
                sent = await self._notify_unsigned(campaign, None, now)
                await self._close(code, now)
                log.info("campaign closed at its deadline", extra={"campaign": code, "overdue": sent})
                continue
            for hours in reminders_due(campaign, now):
                sent = await self._notify_unsigned(campaign, hours, now)
                await self.store.mark_reminder_sent(code, hours)
                log.info("reminders due", extra={"campaign": code, "hours_before": hours, "employees": sent})

    async def _notify_unsigned(self, campaign: Document, hours_before: int | None, now: dt.datetime) -> int:
        """One event per employee in scope who has not signed, a transaction per page."""
        sent = 0
        async for people in self.store.unsigned_in_scope(campaign):
            notices = [unsigned_notice(campaign, person, hours_before) for person in people]
            await self.store.stage_events([self._event(data, now, event_id) for data, event_id in notices])
            sent += len(people)
        return sent

    async def _close(self, code: str, now: dt.datetime) -> Document | None:
        """Closed with the final checkpoint of its chain, as it stands after the last chaining."""
        campaign = await self._campaign(code)
        length, head = int(campaign["chain_length"]), campaign["head_hash"]
        final = checkpoint(code, length, head, now, self.key, final=True)
        events: Sequence[EventData] = (
            final,
            CampaignClosedV1(campaign=code, closed_at=now, chain_length=length, head_hash=head),
        )
        return await self.store.close_campaign(final, now, [self._event(data, now) for data in events])
