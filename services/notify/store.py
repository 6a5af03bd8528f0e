"""The notify service's MongoDB store: contacts learnt from events, the contacts of roles
(BKPSDM, PPK, OPD admins) set by BKPSDM, agencies' subscriptions and the public events kept for
their replays, and the delivery log, which is also the schedule.

A repository only: documents go in and come out; what to send to whom, and why a delivery did
not go, is decided by the use cases and the domain. Deliveries are upserted by their idempotency
key with `$setOnInsert`, in the same transaction as the consumed event's id (see kit.consumer):
a redelivered event changes nothing and sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from contracts.envelope import CloudEvent
from services.kit.mongo import Document, Session, ensure_index
from services.kit.registry_view import RegistryProjection

PUBLIC_EVENT_RETENTION = dt.timedelta(days=90)
"""How far back an agency can ask for a replay."""

Outcome = tuple[str, str, dt.datetime | None, str | None]
"""(key, status, next attempt, error) of one claimed delivery; status `deferred` puts it back
as pending without counting the attempt."""


class NotifyStore:
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self.db = database
        self.employees = self.db["employees"]
        # Units are not needed for contacts: an OPD's admin is found by the unit path.
        self.projection = RegistryProjection(
            employees=self.employees,
            employee_fields=("nip", "name", "email", "phone", "org_unit_code", "org_unit_path", "active"),
        )
        self.role_contacts = self.db["role_contacts"]
        self.reporter_contacts = self.db["reporter_contacts"]
        self.deliveries = self.db["deliveries"]
        self.subscriptions = self.db["subscriptions"]
        self.public_events = self.db["public_events"]

    async def ensure_indexes(self) -> None:
        await ensure_index(
            self.deliveries,
            [("status", ASCENDING), ("next_attempt_at", ASCENDING)],
            name="due_deliveries",
            partialFilterExpression={"status": "pending"},
        )
        await ensure_index(self.deliveries, [("created_at", DESCENDING)])
        await ensure_index(self.deliveries, [("case_id", ASCENDING), ("status", ASCENDING)])
        await ensure_index(self.deliveries, "claim", sparse=True)
        # The orphaned-claims check reads only deliveries being sent, not the whole log.
        await ensure_index(
            self.deliveries,
            "claimed_until",
            name="claims_in_flight",
            partialFilterExpression={"status": "sending"},
        )
        await ensure_index(self.reporter_contacts, "case_id")
        await ensure_index(self.deliveries, [("agency", ASCENDING), ("status", ASCENDING)], sparse=True)
        await ensure_index(self.public_events, [("type", ASCENDING), ("time", ASCENDING)])
        await ensure_index(
            self.public_events, "stored_at", expireAfterSeconds=int(PUBLIC_EVENT_RETENTION.total_seconds())
        )

    # ------------------------------------------------------------ contacts

    async def save_reporter_contact(
        self, session: Session, report_id: str, case_id: str, sealed: str
    ) -> None:
        await self.reporter_contacts.update_one(
            {"_id": report_id},
            {"$set": {"case_id": case_id, "sealed": sealed}},
            upsert=True,
            session=session,
        )

    async def reporter_contact_ids(self, session: Session, case_id: str | None) -> list[str]:
        return [
            str(doc["_id"])
            async for doc in self.reporter_contacts.find({"case_id": case_id}, {"_id": 1}, session=session)
        ]

    async def known_reporter_contacts(self, session: Session, report_ids: Sequence[str]) -> list[str]:
        return [
            str(doc["_id"])
            async for doc in self.reporter_contacts.find(
                {"_id": {"$in": list(report_ids)}}, {"_id": 1}, session=session
            ).sort("_id", ASCENDING)
        ]

    async def move_reporter_contacts(self, session: Session, report_ids: Sequence[str], case_id: str) -> None:
        if report_ids:
            await self.reporter_contacts.update_many(
                {"_id": {"$in": list(report_ids)}}, {"$set": {"case_id": case_id}}, session=session
            )

    async def sealed_contact(self, report_id: str) -> str | None:
        doc = await self.reporter_contacts.find_one({"_id": report_id})
        return None if doc is None else str(doc["sealed"])

    async def save_role_contact(self, doc: Document) -> None:
        await self.role_contacts.replace_one({"_id": doc["_id"]}, doc, upsert=True)

    async def list_role_contacts(self) -> list[Document]:
        return [doc async for doc in self.role_contacts.find({}).sort("_id", ASCENDING)]

    async def role_contacts_in(
        self, session: Session, role: str, units: Sequence[str | None]
    ) -> list[Document]:
        # None in `units` finds the platform-wide contact (org_unit null).
        return [
            doc
            async for doc in self.role_contacts.find(
                {"role": role, "org_unit": {"$in": list(units)}}, session=session
            )
        ]

    async def employee(self, session: Session, employee_id: str) -> Document | None:
        return await self.employees.find_one({"_id": employee_id}, session=session)

    # ------------------------------------------------------------ deliveries

    async def stage_deliveries(self, docs: Sequence[Document], session: Session | None = None) -> None:
        """Insert the deliveries not yet planned; one already there (a redelivered event) stays as it is."""
        if docs:
            staged = [UpdateOne({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True) for doc in docs]
            await self.deliveries.bulk_write(staged, ordered=False, session=session)

    async def cancel_pending_of_case(
        self, session: Session, case_id: str | None, rules: Sequence[str], reason: str
    ) -> None:
        await self._cancel_pending({"case_id": case_id, "rule": {"$in": list(rules)}}, reason, session)

    async def cancel_pending_of_subjects(
        self,
        session: Session,
        case_id: str | None,
        rules: Sequence[str],
        subject_ids: Sequence[str],
        reason: str,
    ) -> None:
        """Those about subjects of the case that are all among `subject_ids` (deliveries planned
        before they named their subjects are left to cancel_pending_of_case)."""
        about_these_only = {"$exists": True, "$ne": [], "$not": {"$elemMatch": {"$nin": list(subject_ids)}}}
        query = {"case_id": case_id, "rule": {"$in": list(rules)}, "subject_ids": about_these_only}
        await self._cancel_pending(query, reason, session)

    async def cancel_pending_of_subscription(self, subscription_id: str, reason: str) -> None:
        await self._cancel_pending({"subscription_id": subscription_id}, reason, None)

    async def _cancel_pending(self, query: Document, reason: str, session: Session | None) -> None:
        await self.deliveries.update_many(
            {**query, "status": "pending"},
            {"$set": {"status": "cancelled", "last_error": reason}},
            session=session,
        )

    async def claim(self, now: dt.datetime, batch: int, lease: dt.timedelta) -> list[Document]:
        """Take up to `batch` due deliveries for this process: marked `sending` with a claim
        token, so another replica's dispatcher passes them by."""
        ids = [
            doc["_id"]
            async for doc in self.deliveries.find(
                {"status": "pending", "next_attempt_at": {"$lte": now}}, {"_id": 1}
            )
            .sort("next_attempt_at", ASCENDING)
            .limit(batch)
        ]
        if not ids:
            return []
        token = uuid.uuid4().hex
        await self.deliveries.update_many(
            {"_id": {"$in": ids}, "status": "pending"},
            {
                "$set": {"status": "sending", "claim": token, "claimed_until": now + lease},
                "$inc": {"attempts": 1},
            },
        )
        return [doc async for doc in self.deliveries.find({"claim": token})]

    async def finish(self, outcomes: Sequence[Outcome], now: dt.datetime) -> None:
        """Record the outcomes of claimed deliveries; `now` stamps those sent."""
        updates = []
        for key, status, next_attempt, error in outcomes:
            if status == "deferred":
                updates.append(
                    UpdateOne(
                        {"_id": key},
                        {
                            "$set": {
                                "status": "pending",
                                "next_attempt_at": next_attempt,
                                "last_error": error,
                            },
                            "$inc": {"attempts": -1},
                            "$unset": {"claim": "", "claimed_until": ""},
                        },
                    )
                )
                continue
            sets: Document = {"status": status, "last_error": error}
            if status == "sent":
                sets["sent_at"] = now
            if next_attempt is not None:
                sets["next_attempt_at"] = next_attempt
            updates.append(
                UpdateOne({"_id": key}, {"$set": sets, "$unset": {"claim": "", "claimed_until": ""}})
            )
        if updates:
            await self.deliveries.bulk_write(updates, ordered=False)

    async def mark_orphaned_claims(self, now: dt.datetime, reason: str) -> int:
        """Deliveries whose claim ran out (a dispatcher that stopped) become `in_doubt`; how many."""
        result = await self.deliveries.update_many(
            {"status": "sending", "claimed_until": {"$lt": now}},
            {"$set": {"status": "in_doubt", "last_error": reason}},
        )
        return int(result.modified_count)

    async def delivery_log(
        self, status: str | None, audience: str | None, agency: str | None, page: int, page_size: int
    ) -> tuple[list[Document], int]:
        query: Document = {}
        if status:
            query["status"] = status
        if audience:
            query["audience"] = audience
        if agency:
            query["agency"] = agency
        total = await self.deliveries.count_documents(query)
        cursor = self.deliveries.find(query, {"body": 0}).sort("created_at", DESCENDING)
        docs = [doc async for doc in cursor.skip((page - 1) * page_size).limit(page_size)]
        return docs, total

    # ------------------------------------------------------------ agencies

    async def insert_subscription(self, doc: Document) -> None:
        await self.subscriptions.insert_one(doc)

    async def subscription(self, subscription_id: str) -> Document | None:
        return await self.subscriptions.find_one({"_id": subscription_id})

    async def list_subscriptions(self) -> list[Document]:
        """Without their sealed secrets."""
        return [
            doc
            async for doc in self.subscriptions.find({}, {"sealed_secret": 0}).sort("created_at", ASCENDING)
        ]

    async def subscriptions_to(self, session: Session, event_type: str) -> list[Document]:
        return [doc async for doc in self.subscriptions.find({"event_types": event_type}, session=session)]

    async def delete_subscription(self, subscription_id: str) -> bool:
        result = await self.subscriptions.delete_one({"_id": subscription_id})
        return bool(result.deleted_count)

    async def sealed_webhook_secret(self, subscription_id: str) -> str | None:
        sub = await self.subscriptions.find_one({"_id": subscription_id}, {"sealed_secret": 1})
        return None if sub is None else str(sub["sealed_secret"])

    async def keep_public_event(
        self, session: Session, event: CloudEvent, body: bytes, now: dt.datetime
    ) -> None:
        """Kept for replays, once per event id."""
        await self.public_events.update_one(
            {"_id": event.id},
            {"$setOnInsert": {"type": event.type, "time": event.time, "body": body, "stored_at": now}},
            upsert=True,
            session=session,
        )

    async def public_events_since(
        self, event_types: Sequence[str], since: dt.datetime, kept_since: dt.datetime
    ) -> AsyncIterator[Document]:
        """Of these types, with an event time from `since`, and kept (received) from `kept_since`."""
        query = {
            "type": {"$in": list(event_types)},
            "time": {"$gte": since},
            "stored_at": {"$gte": kept_since},
        }
        async for doc in self.public_events.find(query).sort("time", ASCENDING):
            yield doc
