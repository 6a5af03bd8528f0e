"""The signing service's MongoDB store: its own view of employees and org units (built from
registry events), campaigns, signatures and their receipt chain."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts.envelope import CloudEvent, EventData, new_event
from contracts.signing import (
    CampaignClosedV1,
    CampaignOpenedV1,
    CampaignPactRevisedV1,
    CampaignSnapshot,
    ChainCheckpointV1,
    PledgeOverdueV1,
    PledgeReminderDueV1,
    PledgeSignedV1,
)
from services.kit.codes import new_code
from services.kit.errors import Conflict, NotFound
from services.kit.groupcommit import GroupCommit
from services.kit.mongo import Document, Session, ensure_index
from services.kit.registry_view import RegistryProjection
from services.kit.runtime import Runtime
from services.signing.domain import (
    GENESIS,
    CascadePolicy,
    LeadersSigned,
    ReceiptKey,
    Signer,
    Statement,
    apply_policy,
    cascade_gate,
    chained_receipt,
    opd_of,
    pact_sha256,
    pemda_of,
    provisional_receipt,
    utc_timestamp,
)

SOURCE = "/netral/signing"
CAMPAIGN_CACHE_SECONDS = 1.0


class Refused(RuntimeError):
    """The signature is not accepted; the message says why, in Bahasa Indonesia."""

    def __init__(self, message: str, waiting_for: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.waiting_for = list(waiting_for)


@dataclass(frozen=True)
class Pending:
    """A signature accepted by the rules, waiting for its group's transaction."""

    doc: Document
    event: CloudEvent
    warning: str | None


@dataclass(frozen=True)
class SignResult:
    receipt: dict[str, Any]
    created: bool
    warning: str | None


def campaign_snapshot(doc: Document) -> CampaignSnapshot:
    return CampaignSnapshot(
        code=doc["_id"],
        title=doc["title"],
        election=doc["election"],
        deadline=doc["deadline"],
        pact_version=doc["pact_version"],
        pact_sha256=doc["pact_sha256"],
        scope=doc["scope"],
        cascade=doc["cascade"],
    )


def checkpoint_message(campaign: str, length: int, head_hash: str) -> bytes:
    return f"{campaign}:{length}:{head_hash}".encode()


class SigningStore:
    def __init__(self, runtime: Runtime, key: ReceiptKey) -> None:
        self.runtime = runtime
        self.key = key
        self.group_commit: GroupCommit[Pending, SignResult] = GroupCommit(self._write_group)
        self._kinds: dict[str, str] = {}
        self._campaigns: dict[str, tuple[float, Document]] = {}
        self.db: AsyncDatabase[Document] = runtime.database
        self.employees = self.db["employees"]
        self.units = self.db["org_units"]
        self.projection = RegistryProjection(
            employees=self.employees,
            employee_fields=(
                "nip",
                "name",
                "level",
                "employment_type",
                "org_unit_code",
                "org_unit_path",
                "active",
            ),
            units=self.units,
            with_lineage=True,
            on_insert={"signed_campaigns": []},
        )
        self.campaigns = self.db["campaigns"]
        self.signatures = self.db["signatures"]

    async def ensure_indexes(self) -> None:
        await ensure_index(self.employees, [("lineage", ASCENDING), ("active", ASCENDING)])
        await ensure_index(self.employees, [("org_unit_code", ASCENDING), ("level", ASCENDING)])
        await ensure_index(self.signatures, "receipt.code", unique=True)
        await ensure_index(
            self.signatures,
            [("campaign", ASCENDING), ("receipt.chain_index", ASCENDING)],
            unique=True,
            partialFilterExpression={"pending": False},
        )
        await ensure_index(
            self.signatures,
            [("pending", ASCENDING), ("accepted", ASCENDING)],
            partialFilterExpression={"pending": True},
        )

    # ------------------------------------------------------------ projection of the registry

    async def unit_kinds(self, codes: Sequence[str]) -> dict[str, str]:
        """A unit's kind never changes, so kinds are kept in memory once read."""
        missing = [code for code in codes if code not in self._kinds]
        if missing:
            async for doc in self.units.find({"_id": {"$in": missing}}, {"kind": 1}):
                self._kinds[doc["_id"]] = doc["kind"]
        return {code: self._kinds[code] for code in codes if code in self._kinds}

    async def cached_campaign(self, code: str) -> Document:
        """The campaign as of at most CAMPAIGN_CACHE_SECONDS ago: read on every signature
        otherwise. A pact revision or close in another replica shows here within that time."""
        now = time.monotonic()
        hit = self._campaigns.get(code)
        if hit is not None and hit[0] > now:
            return hit[1]
        doc = await self.campaign(code)
        self._campaigns[code] = (now + CAMPAIGN_CACHE_SECONDS, doc)
        return doc

    async def unit(self, code: str) -> Document:
        doc = await self.units.find_one({"_id": code})
        if doc is None:
            raise NotFound(f"unit organisasi {code} belum dikenal layanan penandatanganan")
        return doc

    async def employee(self, employee_id: str) -> Document:
        doc = await self.employees.find_one({"_id": employee_id})
        if doc is None:
            raise NotFound(f"pegawai {employee_id} belum dikenal layanan penandatanganan")
        return doc

    # ------------------------------------------------------------ campaigns

    async def create_campaign(
        self,
        code: str,
        title: str,
        election: str,
        deadline: dt.datetime,
        pact_text: str,
        scope: list[str],
        cascade: CascadePolicy,
        actor: str,
        reminder_hours: list[int],
    ) -> Document:
        async def work(session: Session) -> Document:
            now = dt.datetime.now(dt.UTC)
            doc: Document = {
                "_id": code,
                "title": title,
                "election": election,
                "deadline": deadline,
                "pact_text": pact_text,
                "pact_version": 1,
                "pact_sha256": pact_sha256(pact_text),
                "pact_versions": [
                    {
                        "version": 1,
                        "sha256": pact_sha256(pact_text),
                        "text": pact_text,
                        "at": now,
                        "by": actor,
                    }
                ],
                "scope": scope,
                "cascade": cascade.value,
                "status": "open",
                "chain_length": 0,
                "head_hash": GENESIS,
                "checkpointed_length": -1,
                "reminder_hours": reminder_hours,
                "reminders_sent": [],
                "created_at": now,
                "created_by": actor,
            }
            try:
                await self.campaigns.insert_one(doc, session=session)
            except DuplicateKeyError:
                raise Conflict(f"kampanye {code} sudah ada") from None
            await self.runtime.outbox.add(
                session, [new_event(CampaignOpenedV1(campaign=campaign_snapshot(doc)), SOURCE)]
            )
            return doc

        result: Document = await self.runtime.commit(work)
        return result

    async def revise_pact(self, code: str, pact_text: str, actor: str) -> Document:
        """A new pact version: signatures taken so far keep the hash of the text they signed."""
        digest = pact_sha256(pact_text)

        async def work(session: Session) -> Document:
            current = await self.campaigns.find_one({"_id": code}, session=session)
            if current is None:
                raise NotFound(f"kampanye {code} tidak ditemukan")
            if current["status"] != "open":
                raise Conflict(f"kampanye {code} sudah ditutup")
            if current["pact_sha256"] == digest:
                return current
            version = current["pact_version"] + 1
            doc = await self.campaigns.find_one_and_update(
                {"_id": code, "pact_version": current["pact_version"]},
                {
                    "$set": {"pact_text": pact_text, "pact_version": version, "pact_sha256": digest},
                    "$push": {
                        "pact_versions": {
                            "version": version,
                            "sha256": digest,
                            "text": pact_text,
                            "at": dt.datetime.now(dt.UTC),
                            "by": actor,
                        }
                    },
                },
                session=session,
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                raise Conflict(f"pakta kampanye {code} sedang diubah proses lain")
            await self.runtime.outbox.add(
                session, [new_event(CampaignPactRevisedV1(campaign=campaign_snapshot(doc)), SOURCE)]
            )
            return doc

        result: Document = await self.runtime.commit(work)
        self._campaigns.pop(code, None)
        return result

    async def campaign(self, code: str) -> Document:
        doc = await self.campaigns.find_one({"_id": code})
        if doc is None:
            raise NotFound(f"kampanye {code} tidak ditemukan")
        return doc

    # ------------------------------------------------------------ signing

    async def sign(
        self,
        campaign_code: str,
        employee_id: str,
        mode: str,
        authenticated_by: str,
        recorded_by: str | None,
        client: dict[str, Any],
        recorder_unit: str | None = None,
    ) -> SignResult:
        campaign = await self.cached_campaign(campaign_code)
        employee = await self.employee(employee_id)
        if campaign_code in employee.get("signed_campaigns", []):
            existing = await self.signatures.find_one(
                {"_id": f"{campaign_code}:{employee_id}"}, {"receipt": 1}
            )
            if existing is not None:
                return SignResult(existing["receipt"], created=False, warning=None)
        now = dt.datetime.now(dt.UTC)
        if campaign["status"] != "open" or now >= campaign["deadline"]:
            raise Refused(f"kampanye {campaign_code} sudah ditutup")
        if not employee["active"]:
            raise Refused(f"pegawai {employee_id} tidak aktif")
        if not set(employee["lineage"]) & set(campaign["scope"]):
            raise Refused(f"pegawai {employee_id} tidak termasuk cakupan kampanye {campaign_code}")
        if recorder_unit is not None and recorder_unit not in employee["lineage"]:
            raise Refused(f"pegawai {employee_id} berada di luar unit {recorder_unit}")
        policy = CascadePolicy(campaign["cascade"])
        warning: str | None = None
        if policy is not CascadePolicy.OFF:
            kinds = await self.unit_kinds(employee["lineage"])
            opd, pemda, leaders = await self._leaders_for(employee, kinds, campaign_code)
            decision = cascade_gate(
                Signer(
                    employee_id,
                    employee["level"],
                    employee["org_unit_code"],
                    tuple(employee["org_unit_path"]),
                ),
                opd,
                pemda,
                leaders,
            )
            allowed, message = apply_policy(policy, decision)
            if not allowed:
                raise Refused(message or decision.message, decision.waiting_for)
            warning = message
        statement = Statement(
            code=new_code(),
            campaign=campaign_code,
            signer=employee_id,
            pact_sha256=campaign["pact_sha256"],
            signed_at=utc_timestamp(now),
            mode=mode,
        )
        receipt = provisional_receipt(statement, self.key)

        doc: Document = {
            "_id": f"{campaign_code}:{employee_id}",
            "campaign": campaign_code,
            "employee_id": employee_id,
            "nip": employee.get("nip"),
            "level": employee["level"],
            "org_unit_code": employee["org_unit_code"],
            "org_unit_path": employee["org_unit_path"],
            "receipt": receipt,
            "pending": True,
            "authenticated_by": authenticated_by,
            "recorded_by": recorded_by,
            "client": client,
            "cascade_warning": warning,
        }
        event = new_event(
            PledgeSignedV1(
                campaign=campaign_code,
                employee_id=employee_id,
                nip=employee.get("nip"),
                org_unit_code=employee["org_unit_code"],
                level=employee["level"],
                mode=mode,
                signed_at=now,
                receipt_code=statement.code,
                pact_sha256=campaign["pact_sha256"],
                recorded_by=recorded_by,
            ),
            SOURCE,
        )
        return await self.group_commit.submit(Pending(doc, event, warning))

    async def _write_group(self, batch: Sequence[Pending]) -> list[SignResult]:
        """Signatures taken together, written together (see GroupCommit)."""
        first: dict[str, Document] = {}
        unique: list[tuple[Document, CloudEvent]] = []
        for item in batch:
            if item.doc["_id"] not in first:  # the same person twice in one group: one signature
                first[item.doc["_id"]] = item.doc
                unique.append((item.doc, item.event))
        try:
            existing = await self.write_signatures(unique)
        except DuplicateKeyError:
            # Another replica inserted one of these after our look-up: look again.
            existing = await self.write_signatures(unique)
        results = []
        for item in batch:
            key = item.doc["_id"]
            if key in existing:
                results.append(SignResult(existing[key]["receipt"], created=False, warning=None))
            elif first[key] is item.doc:
                results.append(SignResult(item.doc["receipt"], created=True, warning=item.warning))
            else:
                results.append(SignResult(first[key]["receipt"], created=False, warning=None))
        return results

    async def write_signatures(self, batch: Sequence[tuple[Document, CloudEvent]]) -> dict[str, Document]:
        """Write a group of new signatures, their projection marks and their events in one
        transaction. Returns the signatures that already existed (signed meanwhile, possibly
        through another replica), whose receipts are answered instead."""

        async def work(session: Session) -> dict[str, Document]:
            ids = [doc["_id"] for doc, _ in batch]
            existing = {
                found["_id"]: found
                async for found in self.signatures.find(
                    {"_id": {"$in": ids}}, {"receipt": 1}, session=session
                )
            }
            fresh = [(doc, event) for doc, event in batch if doc["_id"] not in existing]
            if fresh:
                for doc, _ in fresh:
                    doc["accepted"] = ObjectId()  # chain order: the order of acceptance
                await self.signatures.insert_many([doc for doc, _ in fresh], ordered=True, session=session)
                for campaign_code in {doc["campaign"] for doc, _ in fresh}:
                    await self.employees.update_many(
                        {
                            "_id": {
                                "$in": [
                                    doc["employee_id"] for doc, _ in fresh if doc["campaign"] == campaign_code
                                ]
                            }
                        },
                        {"$addToSet": {"signed_campaigns": campaign_code}},
                        session=session,
                    )
                await self.runtime.outbox.add(session, [event for _, event in fresh])
            return existing

        result: dict[str, Document] = await self.runtime.commit(work)
        self.sequencer_wake()
        return result

    def sequencer_wake(self) -> None:
        """Replaced by the service's sequencer so that a new signature is chained at once."""

    async def _leaders_for(
        self, employee: Document, kinds: dict[str, str], campaign_code: str
    ) -> tuple[str | None, str | None, LeadersSigned]:
        opd = opd_of(employee["org_unit_code"], employee["org_unit_path"], kinds)
        pemda = pemda_of(employee["org_unit_code"], employee["org_unit_path"], kinds)
        query: list[Document] = []
        if opd is not None:
            query.append({"org_unit_code": opd, "level": "JPT"})
        if pemda is not None:
            query.append({"org_unit_code": pemda, "level": "REGIONAL_HEAD"})
        heads: set[str] = set()
        signed_heads: set[str] = set()
        regional: set[str] = set()
        signed_regional: set[str] = set()
        if query:
            cursor = self.employees.find({"$or": query, "active": True}, {"level": 1, "signed_campaigns": 1})
            async for doc in cursor:
                is_head = doc["level"] == "JPT"
                (heads if is_head else regional).add(doc["_id"])
                if campaign_code in doc.get("signed_campaigns", []):
                    (signed_heads if is_head else signed_regional).add(doc["_id"])
        return (
            opd,
            pemda,
            LeadersSigned(
                opd_head_ids=frozenset(heads),
                opd_heads_signed=frozenset(signed_heads),
                regional_head_ids=frozenset(regional),
                regional_heads_signed=frozenset(signed_regional),
            ),
        )

    async def receipt(self, code: str) -> dict[str, Any]:
        doc = await self.signatures.find_one({"receipt.code": code}, {"receipt": 1})
        if doc is None:
            raise NotFound(f"tanda terima {code} tidak ditemukan")
        receipt: dict[str, Any] = doc["receipt"]
        return receipt

    # ------------------------------------------------------------ chain sequencing

    async def sequence_pending(self, limit: int) -> int:
        """Give pending signatures their chain positions, a batch per campaign per transaction.
        Only the holder of the sequencer lease calls this, so one chain per campaign results
        however many replicas take signatures."""
        pending = await self.signatures.find(
            {"pending": True}, {"campaign": 1, "receipt": 1}, sort=[("accepted", ASCENDING)], limit=limit
        ).to_list()
        by_campaign: dict[str, list[Document]] = {}
        for doc in pending:
            by_campaign.setdefault(doc["campaign"], []).append(doc)
        for campaign_code, docs in by_campaign.items():
            await self._chain(campaign_code, docs)
        return len(pending)

    async def _chain(self, campaign_code: str, docs: list[Document]) -> None:
        async def work(session: Session) -> None:
            campaign = await self.campaigns.find_one(
                {"_id": campaign_code}, {"chain_length": 1, "head_hash": 1}, session=session
            )
            assert campaign is not None
            index, head = campaign["chain_length"], campaign["head_hash"]
            updates: list[UpdateOne] = []
            for doc in docs:
                receipt = doc["receipt"]
                statement = Statement(
                    code=receipt["code"],
                    campaign=receipt["campaign"],
                    signer=receipt["signer"],
                    pact_sha256=receipt["pact_sha256"],
                    signed_at=receipt["signed_at"],
                    mode=receipt["mode"],
                )
                chained = chained_receipt(statement, self.key, index, head)
                updates.append(
                    UpdateOne(
                        {"_id": doc["_id"], "pending": True}, {"$set": {"receipt": chained, "pending": False}}
                    )
                )
                head = chained["hash"]
                index += 1
            result = await self.signatures.bulk_write(updates, ordered=True, session=session)
            if result.modified_count != len(updates):
                raise Conflict("chain moved under the sequencer; batch retried")
            moved = await self.campaigns.update_one(
                {"_id": campaign_code, "chain_length": campaign["chain_length"]},
                {"$set": {"chain_length": index, "head_hash": head}},
                session=session,
            )
            if moved.modified_count != 1:
                raise Conflict("chain head moved under the sequencer; batch retried")

        await self.runtime.commit(work)

    async def checkpoint(self, campaign_code: str, final: bool = False) -> bool:
        """Publish the chain head if it moved since the last checkpoint (or always, if final)."""

        async def work(session: Session) -> bool:
            campaign = await self.campaigns.find_one({"_id": campaign_code}, session=session)
            assert campaign is not None
            length, head = campaign["chain_length"], campaign["head_hash"]
            if not final and campaign.get("checkpointed_length") == length:
                return False
            await self.campaigns.update_one(
                {"_id": campaign_code}, {"$set": {"checkpointed_length": length}}, session=session
            )
            await self.runtime.outbox.add(
                session,
                [
                    new_event(
                        ChainCheckpointV1(
                            campaign=campaign_code,
                            chain_length=length,
                            head_hash=head,
                            at=dt.datetime.now(dt.UTC),
                            key_id=self.key.key_id,
                            signature=self.key.sign(checkpoint_message(campaign_code, length, head)),
                            final=final,
                        ),
                        SOURCE,
                    )
                ],
            )
            return True

        result: bool = await self.runtime.commit(work)
        return result

    async def open_campaign_codes(self) -> list[str]:
        return [doc["_id"] async for doc in self.campaigns.find({"status": "open"}, {"_id": 1})]

    async def chain_links(self, campaign_code: str) -> AsyncIterator[dict[str, Any]]:
        cursor = self.signatures.find(
            {"campaign": campaign_code, "pending": False},
            {"receipt": 1},
            sort=[("receipt.chain_index", ASCENDING)],
        )
        async for doc in cursor:
            yield doc["receipt"]

    async def chain_length(self, campaign_code: str) -> int:
        campaign = await self.campaign(campaign_code)
        return int(campaign["chain_length"])

    # ------------------------------------------------------------ progress

    def _expected_filter(self, campaign: Document, unit_code: str) -> Document:
        return {"lineage": unit_code, "active": True, "$and": [{"lineage": {"$in": campaign["scope"]}}]}

    async def progress(self, campaign_code: str, unit_code: str) -> dict[str, Any]:
        campaign = await self.campaign(campaign_code)
        unit = await self.unit(unit_code)
        depth = len(unit["path"]) + 1
        match = self._expected_filter(campaign, unit_code)
        cursor = await self.employees.aggregate(
            [
                {"$match": match},
                {
                    "$group": {
                        "_id": {"$arrayElemAt": ["$lineage", depth]},
                        "expected": {"$sum": 1},
                        "signed": {"$sum": {"$cond": [{"$in": [campaign_code, "$signed_campaigns"]}, 1, 0]}},
                    }
                },
            ]
        )
        groups = await cursor.to_list()
        expected = sum(group["expected"] for group in groups)
        signed = sum(group["signed"] for group in groups)
        child_docs = {
            doc["_id"]: doc["name"] async for doc in self.units.find({"parent_code": unit_code}, {"name": 1})
        }
        children = []
        for group in sorted(groups, key=lambda g: str(g["_id"])):
            if group["_id"] is None:
                continue  # people working at the unit itself, counted in the unit's totals
            children.append(
                {
                    "org_unit": group["_id"],
                    "name": child_docs.get(group["_id"]),
                    "expected": group["expected"],
                    "signed": group["signed"],
                    "percent": round(100 * group["signed"] / group["expected"], 1),
                }
            )
        return {
            "campaign": campaign_code,
            "org_unit": unit_code,
            "name": unit["name"],
            "expected": expected,
            "signed": signed,
            "percent": round(100 * signed / expected, 1) if expected else 0.0,
            "children": children,
        }

    async def unsigned(
        self, campaign_code: str, unit_code: str, page: int, page_size: int
    ) -> tuple[list[Document], int]:
        campaign = await self.campaign(campaign_code)
        query = {**self._expected_filter(campaign, unit_code), "signed_campaigns": {"$ne": campaign_code}}
        total = await self.employees.count_documents(query)
        docs = await self.employees.find(
            query,
            {"nip": 1, "name": 1, "level": 1, "org_unit_code": 1},
            sort=[("_id", ASCENDING)],
            skip=(page - 1) * page_size,
            limit=page_size,
        ).to_list()
        return docs, total

    # ------------------------------------------------------------ deadlines

    async def due_campaigns(self, now: dt.datetime) -> list[Document]:
        return await self.campaigns.find({"status": "open"}, {"pact_text": 0}).to_list()

    async def notify_unsigned(self, campaign: Document, hours_before: int | None, batch: int = 1000) -> int:
        """One event per employee in scope who has not signed: a reminder `hours_before` the
        deadline, or an overdue notice (hours_before None). Event ids are derived from the
        campaign, the employee and the kind, so a job retried after a crash repeats ids."""
        code = campaign["_id"]
        kind = "overdue" if hours_before is None else f"reminder-{hours_before}h"
        query: Document = {
            "active": True,
            "lineage": {"$in": campaign["scope"]},
            "signed_campaigns": {"$ne": code},
        }
        sent = 0
        last_id: str | None = None
        while True:
            page_query = query if last_id is None else {**query, "_id": {"$gt": last_id}}
            people = await self.employees.find(
                page_query, {"nip": 1, "org_unit_code": 1}, sort=[("_id", ASCENDING)], limit=batch
            ).to_list()
            if not people:
                return sent
            events = []
            for person in people:
                data: EventData
                if hours_before is None:
                    data = PledgeOverdueV1(
                        campaign=code,
                        employee_id=person["_id"],
                        nip=person.get("nip"),
                        org_unit_code=person["org_unit_code"],
                        deadline=campaign["deadline"],
                    )
                else:
                    data = PledgeReminderDueV1(
                        campaign=code,
                        employee_id=person["_id"],
                        nip=person.get("nip"),
                        org_unit_code=person["org_unit_code"],
                        deadline=campaign["deadline"],
                        hours_before=hours_before,
                    )
                event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"netral:{code}:{kind}:{person['_id']}"))
                events.append(new_event(data, SOURCE, event_id=event_id))

            async def work(session: Session, events: list[CloudEvent] = events) -> None:
                await self.runtime.outbox.add(session, events)

            await self.runtime.commit(work)
            sent += len(people)
            last_id = people[-1]["_id"]

    async def mark_reminder_sent(self, campaign_code: str, hours_before: int) -> None:
        await self.campaigns.update_one(
            {"_id": campaign_code}, {"$addToSet": {"reminders_sent": hours_before}}
        )

    async def close_campaign(self, campaign_code: str) -> Document | None:
        """Close at the deadline: status, final checkpoint and `campaign.closed`, together."""

        async def work(session: Session) -> Document | None:
            now = dt.datetime.now(dt.UTC)
            doc = await self.campaigns.find_one_and_update(
                {"_id": campaign_code, "status": "open"},
                {"$set": {"status": "closed", "closed_at": now}},
                session=session,
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                return None
            length, head = doc["chain_length"], doc["head_hash"]
            await self.runtime.outbox.add(
                session,
                [
                    new_event(
                        ChainCheckpointV1(
                            campaign=campaign_code,
                            chain_length=length,
                            head_hash=head,
                            at=now,
                            key_id=self.key.key_id,
                            signature=self.key.sign(checkpoint_message(campaign_code, length, head)),
                            final=True,
                        ),
                        SOURCE,
                    ),
                    new_event(
                        CampaignClosedV1(
                            campaign=campaign_code, closed_at=now, chain_length=length, head_hash=head
                        ),
                        SOURCE,
                    ),
                ],
            )
            return doc

        result: Document | None = await self.runtime.commit(work)
        self._campaigns.pop(campaign_code, None)
        return result
