"""The signing service's MongoDB store: its own view of employees and org units (built from
registry events), campaigns, signatures and their receipt chain.

A repository: documents go in and come out, events are staged in the outbox in the same
transaction. What may be signed, by whom, and what the answers say is decided in
`services.signing.usecases` and `services.signing.domain`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts.envelope import CloudEvent
from contracts.signing import ChainCheckpointV1
from services.kit.groupcommit import GroupCommit
from services.kit.mongo import Document, Session, ensure_index
from services.kit.registry_view import RegistryProjection
from services.kit.runtime import Runtime
from services.signing.domain import (
    CLOSED,
    JPT,
    NOT_EXPECTED_EMPLOYMENT_TYPES,
    OPEN,
    REGIONAL_HEAD,
    ReceiptKey,
    link_receipts,
)

CAMPAIGN_CACHE_SECONDS = 1.0


class ChainMoved(RuntimeError):
    """The chain head moved under the sequencer (another lease holder): the batch is retried."""


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


class SigningStore:
    def __init__(self, runtime: Runtime, key: ReceiptKey) -> None:
        self.runtime = runtime
        self.key = key  # the sequencer's: chained receipts are signed as they are written
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
            # Read with .get: snapshots from before the registry kept the office carry none.
            derived=lambda employee: {"leader_office": employee.get("leader_office")},
            on_insert={"signed_campaigns": []},
        )
        self.campaigns = self.db["campaigns"]
        self.signatures = self.db["signatures"]
        self.quarantine = self.db["quarantined_signatures"]
        self.checkpoints = self.db["checkpoints"]

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
        await ensure_index(self.checkpoints, [("campaign", ASCENDING), ("chain_length", DESCENDING)])

    # ------------------------------------------------------------ projection of the registry

    async def unit_kinds(self, codes: Sequence[str]) -> dict[str, str]:
        """A unit's kind never changes, so kinds are kept in memory once read."""
        missing = [code for code in codes if code not in self._kinds]
        if missing:
            async for doc in self.units.find({"_id": {"$in": missing}}, {"kind": 1}):
                self._kinds[doc["_id"]] = doc["kind"]
        return {code: self._kinds[code] for code in codes if code in self._kinds}

    async def unit(self, code: str) -> Document | None:
        return await self.units.find_one({"_id": code})

    async def employee(self, employee_id: str) -> Document | None:
        return await self.employees.find_one({"_id": employee_id})

    async def leader_candidates(self, opd_code: str | None, pemda_code: str | None) -> list[Document]:
        """The active JPT of the OPD and the active REGIONAL_HEAD people at the pemda's own unit,
        with what tells who of them the signer waits for (domain.leaders_signed): one query on
        the (org_unit_code, level) index."""
        query: list[Document] = []
        if opd_code is not None:
            query.append({"org_unit_code": opd_code, "level": JPT})
        if pemda_code is not None:
            query.append({"org_unit_code": pemda_code, "level": REGIONAL_HEAD})
        if not query:
            return []
        fields = {
            "level": 1,
            "org_unit_code": 1,
            "employment_type": 1,
            "leader_office": 1,
            "active": 1,
            "signed_campaigns": 1,
        }
        return await self.employees.find({"$or": query, "active": True}, fields).to_list()

    # ------------------------------------------------------------ campaigns

    async def campaign(self, code: str) -> Document | None:
        return await self.campaigns.find_one({"_id": code})

    async def cached_campaign(self, code: str) -> Document | None:
        """The campaign as of at most CAMPAIGN_CACHE_SECONDS ago: read on every signature
        otherwise. A pact revision or close in another replica shows here within that time."""
        now = time.monotonic()
        hit = self._campaigns.get(code)
        if hit is not None and hit[0] > now:
            return hit[1]
        doc = await self.campaign(code)
        if doc is not None:
            self._campaigns[code] = (now + CAMPAIGN_CACHE_SECONDS, doc)
        return doc

    async def insert_campaign(self, doc: Document, events: Sequence[CloudEvent]) -> bool:
        """False when a campaign with this code exists already."""

        async def work(session: Session) -> None:
            await self.campaigns.insert_one(doc, session=session)
            await self.runtime.outbox.add(session, list(events))

        try:
            await self.runtime.commit(work)
        except DuplicateKeyError:  # raised through, so that the transaction is aborted
            return False
        return True

    async def save_pact_revision(
        self, code: str, revision: Document, events: Sequence[CloudEvent]
    ) -> Document | None:
        """Write the next pact version if the campaign is still open at the version before it;
        None when it is not (closed, or revised meanwhile by another request)."""

        async def work(session: Session) -> Document | None:
            doc = await self.campaigns.find_one_and_update(
                {"_id": code, "status": OPEN, "pact_version": revision["version"] - 1},
                {
                    "$set": {
                        "pact_text": revision["text"],
                        "pact_version": revision["version"],
                        "pact_sha256": revision["sha256"],
                    },
                    "$push": {"pact_versions": revision},
                },
                session=session,
                return_document=ReturnDocument.AFTER,
            )
            if doc is not None:
                await self.runtime.outbox.add(session, list(events))
            return doc

        result: Document | None = await self.runtime.commit(work)
        self._campaigns.pop(code, None)
        return result

    async def save_rescheduling(
        self, campaign: Document, changes: Document, record: Document, events: Sequence[CloudEvent]
    ) -> Document | None:
        """Write a new schedule if the campaign is still open with the schedule it was read
        with; None when it is not (closed, or rescheduled meanwhile by another request)."""
        code = campaign["_id"]

        async def work(session: Session) -> Document | None:
            doc = await self.campaigns.find_one_and_update(
                {
                    "_id": code,
                    "status": OPEN,
                    "deadline": campaign["deadline"],
                    "campaign_period_starts_on": campaign.get("campaign_period_starts_on"),
                },
                {"$set": changes, "$push": {"schedule_changes": record}},
                session=session,
                return_document=ReturnDocument.AFTER,
            )
            if doc is not None:
                await self.runtime.outbox.add(session, list(events))
            return doc

        result: Document | None = await self.runtime.commit(work)
        self._campaigns.pop(code, None)
        return result

    # ------------------------------------------------------------ signing

    async def signed_receipt(self, signature_id: str) -> dict[str, Any] | None:
        return await self._receipt({"_id": signature_id})

    async def _receipt(self, query: Document) -> dict[str, Any] | None:
        doc = await self.signatures.find_one(query, {"receipt": 1})
        if doc is None:
            return None
        receipt: dict[str, Any] = doc["receipt"]
        return receipt

    async def add_signature(self, pending: Pending) -> SignResult:
        """Written with the signatures that arrive at the same moment, in one transaction."""
        return await self.group_commit.submit(pending)

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
        return result

    async def receipt(self, code: str) -> dict[str, Any] | None:
        return await self._receipt({"receipt.code": code})

    # ------------------------------------------------------------ chain sequencing

    async def pending_signatures(self, limit: int) -> list[Document]:
        """The oldest pending signatures, in acceptance order, with what their check reads."""
        return await self.signatures.find(
            {"pending": True},
            {"campaign": 1, "employee_id": 1, "authenticated_by": 1, "recorded_by": 1, "receipt": 1},
            sort=[("accepted", ASCENDING)],
            limit=limit,
        ).to_list()

    async def chain_signatures(self, docs: Sequence[Document]) -> None:
        """Give pending signatures their chain positions, a batch per campaign per transaction.
        Only the holder of the sequencer lease calls this, so one chain per campaign results
        however many replicas take signatures."""
        by_campaign: dict[str, list[Document]] = {}
        for doc in docs:
            by_campaign.setdefault(doc["campaign"], []).append(doc)
        for campaign_code, campaign_docs in by_campaign.items():
            await self._chain(campaign_code, campaign_docs)

    async def quarantine_signature(self, doc: Document, problems: Sequence[str], at: dt.datetime) -> str:
        """Move a pending signature out of the signatures, into the quarantine with why, in one
        transaction; the quarantine record's id. Its employee's mark for the campaign goes too,
        when the record claimed their signature's own id, so that they can still sign."""
        record_id = ObjectId()

        async def work(session: Session) -> None:
            full = await self.signatures.find_one({"_id": doc["_id"], "pending": True}, session=session)
            if full is None:
                return
            await self.quarantine.insert_one(
                {"_id": record_id, "signature": full, "problems": list(problems), "at": at}, session=session
            )
            await self.signatures.delete_one({"_id": doc["_id"]}, session=session)
            campaign, employee_id = full.get("campaign"), full.get("employee_id")
            if isinstance(campaign, str) and full["_id"] == f"{campaign}:{employee_id}":
                await self.employees.update_one(
                    {"_id": employee_id}, {"$pull": {"signed_campaigns": campaign}}, session=session
                )

        await self.runtime.commit(work)
        return str(record_id)

    async def _chain(self, campaign_code: str, docs: list[Document]) -> None:
        async def work(session: Session) -> None:
            campaign = await self.campaigns.find_one(
                {"_id": campaign_code}, {"chain_length": 1, "head_hash": 1}, session=session
            )
            if campaign is None:
                raise ChainMoved(f"campaign of {len(docs)} pending signatures is gone")
            start = campaign["chain_length"]
            chained = link_receipts([doc["receipt"] for doc in docs], self.key, start, campaign["head_hash"])
            updates = [
                UpdateOne({"_id": doc["_id"], "pending": True}, {"$set": {"receipt": link, "pending": False}})
                for doc, link in zip(docs, chained, strict=True)
            ]
            result = await self.signatures.bulk_write(updates, ordered=True, session=session)
            if result.modified_count != len(updates):
                raise ChainMoved("chain moved under the sequencer; batch retried")
            moved = await self.campaigns.update_one(
                {"_id": campaign_code, "chain_length": start},
                {"$set": {"chain_length": start + len(chained), "head_hash": chained[-1]["hash"]}},
                session=session,
            )
            if moved.modified_count != 1:
                raise ChainMoved("chain head moved under the sequencer; batch retried")

        await self.runtime.commit(work)

    async def save_checkpoint(self, head: ChainCheckpointV1, events: Sequence[CloudEvent]) -> bool:
        """Record that the chain was checkpointed at its length, keep the checkpoint and stage
        its event; False (nothing written) when the chain is no longer at that length."""

        async def work(session: Session) -> bool:
            marked = await self.campaigns.update_one(
                {"_id": head.campaign, "chain_length": head.chain_length},
                {"$set": {"checkpointed_length": head.chain_length}},
                session=session,
            )
            if marked.matched_count != 1:
                return False
            await self.checkpoints.insert_one(head.model_dump(), session=session)
            await self.runtime.outbox.add(session, list(events))
            return True

        saved: bool = await self.runtime.commit(work)
        return saved

    async def last_checkpoint(self, campaign_code: str) -> Document | None:
        """The checkpoint of the campaign's longest chain: the chain only grows, so the one
        that asks the most of it."""
        return await self.checkpoints.find_one(
            {"campaign": campaign_code}, sort=[("chain_length", DESCENDING), ("at", DESCENDING)]
        )

    async def open_campaign_codes(self) -> list[str]:
        return [doc["_id"] async for doc in self.campaigns.find({"status": OPEN}, {"_id": 1})]

    async def chained_receipts(self, campaign_code: str) -> AsyncIterator[dict[str, Any]]:
        cursor = self.signatures.find(
            {"campaign": campaign_code, "pending": False},
            {"receipt": 1},
            sort=[("receipt.chain_index", ASCENDING)],
        )
        async for doc in cursor:
            yield doc["receipt"]

    # ------------------------------------------------------------ progress

    def _expected_filter(self, campaign: Document, unit_code: str) -> Document:
        return {
            "lineage": unit_code,
            "active": True,
            "employment_type": {"$nin": sorted(NOT_EXPECTED_EMPLOYMENT_TYPES)},
            "$and": [{"lineage": {"$in": campaign["scope"]}}],
        }

    async def progress(self, campaign: Document, unit: Document) -> dict[str, Any]:
        campaign_code, unit_code = campaign["_id"], unit["_id"]
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
        self, campaign: Document, unit_code: str, page: int, page_size: int
    ) -> tuple[list[Document], int]:
        campaign_code = campaign["_id"]
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

    # ------------------------------------------------------------ the pages' queries

    async def open_campaigns_for(self, lineage: Sequence[str]) -> list[Document]:
        """Open campaigns whose scope holds one of these units, newest deadline last; without
        the pact's text, which only the campaign's own page shows."""
        return await self.campaigns.find(
            {"status": OPEN, "scope": {"$in": list(lineage)}},
            {"pact_text": 0, "pact_versions": 0, "schedule_changes": 0},
            sort=[("deadline", ASCENDING)],
        ).to_list()

    async def people_named(self, employee_ids: Sequence[str]) -> list[Document]:
        """Name, level and office of these employees, for saying whom a signer waits for."""
        return await self.employees.find(
            {"_id": {"$in": list(employee_ids)}}, {"name": 1, "level": 1, "leader_office": 1}
        ).to_list()

    async def unit_names(self, codes: Sequence[str]) -> dict[str, str]:
        return {
            doc["_id"]: doc["name"]
            async for doc in self.units.find({"_id": {"$in": list(codes)}}, {"name": 1})
        }

    async def signatures_per_hour(self, campaign_code: str, unit_code: str) -> list[tuple[str, int]]:
        """("YYYY-MM-DDTHH" in UTC, signatures accepted in that hour) for the unit's subtree,
        oldest first: the receipt's signed_at is UTC text, so its first 13 characters are the hour."""
        cursor = await self.signatures.aggregate(
            [
                {
                    "$match": {
                        "campaign": campaign_code,
                        "$or": [{"org_unit_code": unit_code}, {"org_unit_path": unit_code}],
                    }
                },
                {"$group": {"_id": {"$substrBytes": ["$receipt.signed_at", 0, 13]}, "count": {"$sum": 1}}},
                {"$sort": {"_id": 1}},
            ]
        )
        return [(str(doc["_id"]), int(doc["count"])) async for doc in cursor]

    async def unsigned_under(
        self, campaign: Document, unit_code: str, batch: int = 1000
    ) -> AsyncIterator[list[Document]]:
        """Everyone expected in the unit's subtree who has not signed, a page at a time in id
        order (by the last id, not by skipping: an export of a whole province stays linear)."""
        query = {**self._expected_filter(campaign, unit_code), "signed_campaigns": {"$ne": campaign["_id"]}}
        last_id: str | None = None
        while True:
            page_query = query if last_id is None else {**query, "_id": {"$gt": last_id}}
            people = await self.employees.find(
                page_query,
                {"nip": 1, "name": 1, "level": 1, "org_unit_code": 1},
                sort=[("_id", ASCENDING)],
                limit=batch,
            ).to_list()
            if not people:
                return
            yield people
            last_id = people[-1]["_id"]

    # ------------------------------------------------------------ deadlines

    async def open_campaigns(self) -> list[Document]:
        return await self.campaigns.find({"status": OPEN}, {"pact_text": 0}).to_list()

    async def unsigned_in_scope(self, campaign: Document, batch: int = 1000) -> AsyncIterator[list[Document]]:
        """Active employees in the campaign's scope who have not signed it, a page at a time."""
        code = campaign["_id"]
        query: Document = {
            "active": True,
            "lineage": {"$in": campaign["scope"]},
            "employment_type": {"$nin": sorted(NOT_EXPECTED_EMPLOYMENT_TYPES)},
            "signed_campaigns": {"$ne": code},
        }
        last_id: str | None = None
        while True:
            page_query = query if last_id is None else {**query, "_id": {"$gt": last_id}}
            people = await self.employees.find(
                page_query, {"nip": 1, "org_unit_code": 1}, sort=[("_id", ASCENDING)], limit=batch
            ).to_list()
            if not people:
                return
            yield people
            last_id = people[-1]["_id"]

    async def stage_events(self, events: Sequence[CloudEvent]) -> None:
        async def work(session: Session) -> None:
            await self.runtime.outbox.add(session, list(events))

        await self.runtime.commit(work)

    async def mark_reminder_sent(self, campaign_code: str, hours_before: int) -> None:
        await self.campaigns.update_one(
            {"_id": campaign_code}, {"$addToSet": {"reminders_sent": hours_before}}
        )

    async def close_campaign(
        self, final: ChainCheckpointV1, closed_at: dt.datetime, events: Sequence[CloudEvent]
    ) -> Document | None:
        """Status, final checkpoint and `campaign.closed`, together; None (nothing written) when
        the campaign is closed already or its chain is no longer at the checkpoint's length."""
        campaign_code = final.campaign

        async def work(session: Session) -> Document | None:
            doc = await self.campaigns.find_one_and_update(
                {"_id": campaign_code, "status": OPEN, "chain_length": final.chain_length},
                {"$set": {"status": CLOSED, "closed_at": closed_at}},
                session=session,
                return_document=ReturnDocument.AFTER,
            )
            if doc is not None:
                await self.checkpoints.insert_one(final.model_dump(), session=session)
                await self.runtime.outbox.add(session, list(events))
            return doc

        result: Document | None = await self.runtime.commit(work)
        self._campaigns.pop(campaign_code, None)
        return result
