"""The notify service's MongoDB store: contacts learnt from events, the contacts of roles
(BKPSDM, PPK, OPD admins) set by BKPSDM, and the delivery log, which is also the schedule.

A delivery is written in the same transaction as the consumed event's id (see kit.consumer),
under an idempotency key made of the event id, the rule and the recipient: a redelivered event
changes nothing and sends nothing twice. Sending happens later, in the dispatcher, so a slow
SMTP server or webhook never holds up a consumer.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from contracts.envelope import CloudEvent
from services.kit.clock import Clock
from services.kit.errors import NotFound
from services.kit.mongo import Document, Session, ensure_index
from services.kit.registry_view import RegistryProjection
from services.kit.runtime import Runtime
from services.kit.sealing import Sealer
from services.notify.domain import (
    RULES,
    Audience,
    Rule,
    Templates,
    applies,
    idempotency_key,
    new_webhook_secret,
    quiet_until,
    rules_for,
    scheduled_at,
    still_due,
)

log = logging.getLogger(__name__)

# Reporters are never named in the delivery log: the log shows this instead of their contact.
SEALED_RECIPIENT = "pelapor (kontak disegel)"
CANCELLED_BY = frozenset({"report.sanction_imposed.v1", "report.closed.v1", "report.status_changed.v1"})
"""Case events after which a PPK's pending deadline warning is no longer needed, when they
leave the decision open no more (checked against the case state)."""


PUBLIC_EVENT_RETENTION = dt.timedelta(days=90)
"""How far back an agency can ask for a replay."""


@dataclass(frozen=True)
class QuietHours:
    timezone: str
    start: dt.time
    end: dt.time


class NotifyStore:
    def __init__(
        self,
        runtime: Runtime,
        clock: Clock,
        templates: Templates,
        sealer: Sealer,
        quiet: QuietHours,
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.templates = templates
        self.sealer = sealer
        self.quiet = quiet
        self.db: AsyncDatabase[Document] = runtime.database
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

    # ------------------------------------------------------------ what the service learns from events

    async def apply_reporter_contact(self, session: Session, data: Mapping[str, Any]) -> None:
        """Kept sealed: opened only at the moment a message is sent."""
        await self.reporter_contacts.update_one(
            {"_id": data["report_id"]},
            {"$set": {"case_id": data["case_id"], "sealed": data["sealed_contact"]}},
            upsert=True,
            session=session,
        )

    async def set_role_contact(self, role: str, org_unit: str, email: str, name: str) -> Document:
        doc = {"_id": f"{role}:{org_unit}", "role": role, "org_unit": org_unit, "email": email, "name": name}
        await self.role_contacts.replace_one({"_id": doc["_id"]}, doc, upsert=True)
        return doc

    async def list_role_contacts(self) -> list[Document]:
        return [doc async for doc in self.role_contacts.find({}).sort("_id", ASCENDING)]

    # ------------------------------------------------------------ from an event to deliveries

    async def plan(self, session: Session, event_id: str, event_type: str, data: Mapping[str, Any]) -> int:
        """Stage the deliveries the rules ask for; returns how many."""
        now = self.clock.now()
        if event_type in CANCELLED_BY:
            await self._cancel_decision_warnings(session, data)
        staged: list[UpdateOne] = []
        for rule in rules_for(event_type):
            if not applies(rule, data):
                continue
            for recipient, name in await self._recipients(session, rule, data):
                not_before = self._not_before(rule, data, now)
                if not_before is None:
                    continue
                extra = {"nama_penerima": name, **(await self._employee_name(session, data))}
                message = self.templates.render(rule, data, extra)
                key = idempotency_key(event_id, rule.name, recipient)
                doc = {
                    "_id": key,
                    "rule": rule.name,
                    "event_id": event_id,
                    "event_type": event_type,
                    "channel": rule.channel,
                    "audience": rule.audience.value,
                    "recipient": recipient,
                    "subject": message.subject,
                    "body": message.body,
                    "case_id": (data.get("case") or {}).get("case_id"),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": not_before,
                    "created_at": now,
                    "last_error": None,
                }
                staged.append(UpdateOne({"_id": key}, {"$setOnInsert": doc}, upsert=True))
        if staged:
            await self.deliveries.bulk_write(staged, ordered=False, session=session)
        return len(staged)

    async def _employee_name(self, session: Session, data: Mapping[str, Any]) -> dict[str, str]:
        """For notices about an employee sent to someone else (their OPD admin)."""
        if "employee_id" not in data:
            return {}
        employee = await self.employees.find_one({"_id": data["employee_id"]}, {"name": 1}, session=session)
        return {"nama_pegawai": employee["name"]} if employee else {}

    def _not_before(self, rule: Rule, data: Mapping[str, Any], now: dt.datetime) -> dt.datetime | None:
        at = now
        if rule.delay_before_deadline is not None:
            try:
                scheduled = scheduled_at(rule, data)
            except KeyError:
                return None  # no such deadline on this case: nothing to warn about
            if scheduled is not None:
                at = max(now, scheduled)
        if rule.reminder:
            quiet_end = quiet_until(at, self.quiet.timezone, self.quiet.start, self.quiet.end)
            if quiet_end is not None:
                at = quiet_end
        return at

    async def _recipients(
        self, session: Session, rule: Rule, data: Mapping[str, Any]
    ) -> list[tuple[str, str]]:
        """(address, name) pairs; a reporter's address stays sealed until sending."""
        if rule.audience is Audience.EMPLOYEE:
            employee = await self.employees.find_one({"_id": data["employee_id"]}, session=session)
            if employee is None or not employee.get("email"):
                return []
            return [(employee["email"], employee["name"])]
        if rule.audience is Audience.REPORTER:
            case_id = (data.get("case") or {}).get("case_id")
            return [
                (f"sealed:{doc['_id']}", "Pelapor")
                async for doc in self.reporter_contacts.find({"case_id": case_id}, session=session)
            ]
        lineage = self._lineage(data)
        role = rule.audience.value
        contacts = [
            doc
            async for doc in self.role_contacts.find(
                {"role": role, "org_unit": {"$in": lineage}}, session=session
            )
        ]
        if rule.audience is Audience.OPD_ADMIN:
            # The admin of the nearest unit: the employee's OPD rather than the whole pemda.
            contacts.sort(key=lambda doc: lineage.index(doc["org_unit"]), reverse=True)
            contacts = contacts[:1]
        return [(doc["email"], doc["name"]) for doc in contacts]

    @staticmethod
    def _lineage(data: Mapping[str, Any]) -> list[str]:
        case = data.get("case")
        if case:
            return [
                *case.get("org_unit_path", []),
                *([case["org_unit_code"]] if case.get("org_unit_code") else []),
            ]
        return [*data.get("org_unit_path", []), data["org_unit_code"]] if "org_unit_code" in data else []

    async def _cancel_decision_warnings(self, session: Session, data: Mapping[str, Any]) -> None:
        case = data.get("case") or {}
        stale = [
            rule.name for rule in RULES if rule.open_states and not still_due(rule, case.get("state", ""))
        ]
        if not stale:
            return
        await self.deliveries.update_many(
            {"case_id": case.get("case_id"), "status": "pending", "rule": {"$in": stale}},
            {"$set": {"status": "cancelled", "last_error": "keputusan sudah ditetapkan"}},
            session=session,
        )

    # ------------------------------------------------------------ agencies

    async def subscribe(self, agency: str, event_types: Sequence[str], url: str) -> tuple[Document, str]:
        """A new subscription and its signing secret, which is shown once and kept sealed."""
        secret = new_webhook_secret()
        doc: Document = {
            "_id": str(uuid.uuid4()),
            "agency": agency,
            "event_types": sorted(set(event_types)),
            "url": url,
            "sealed_secret": self.sealer.seal({"secret": secret}).decode(),
            "created_at": self.clock.now(),
        }
        await self.subscriptions.insert_one(doc)
        return doc, secret

    async def list_subscriptions(self) -> list[Document]:
        return [
            doc
            async for doc in self.subscriptions.find({}, {"sealed_secret": 0}).sort("created_at", ASCENDING)
        ]

    async def unsubscribe(self, subscription_id: str) -> bool:
        result = await self.subscriptions.delete_one({"_id": subscription_id})
        if result.deleted_count:
            await self.deliveries.update_many(
                {"subscription_id": subscription_id, "status": "pending"},
                {"$set": {"status": "cancelled", "last_error": "langganan dihapus"}},
            )
        return bool(result.deleted_count)

    async def plan_public(self, session: Session, event: CloudEvent) -> int:
        """Keep the public event for replays, and stage a webhook for each subscription to it."""
        body = structured_event(event)
        await self.public_events.update_one(
            {"_id": event.id},
            {
                "$setOnInsert": {
                    "type": event.type,
                    "time": event.time,
                    "body": body,
                    "stored_at": self.clock.now(),
                }
            },
            upsert=True,
            session=session,
        )
        subscriptions = [
            doc async for doc in self.subscriptions.find({"event_types": event.type}, session=session)
        ]
        staged = [self._webhook(sub, event.id, event.type, body, None) for sub in subscriptions]
        if staged:
            await self.deliveries.bulk_write(staged, ordered=False, session=session)
        return len(staged)

    async def replay(self, subscription_id: str, since: dt.datetime) -> int:
        """Send a subscription again every public event of its types since `since`. A replayed
        event keeps its `webhook-id`, so the agency can drop what it already has."""
        sub = await self.subscriptions.find_one({"_id": subscription_id})
        if sub is None:
            raise NotFound(f"langganan {subscription_id} tidak ditemukan")
        replay_id = uuid.uuid4().hex
        count = 0
        batch: list[UpdateOne] = []
        query = {"type": {"$in": sub["event_types"]}, "time": {"$gte": since}}
        async for doc in self.public_events.find(query).sort("time", ASCENDING):
            batch.append(self._webhook(sub, doc["_id"], doc["type"], doc["body"], replay_id))
            count += 1
            if len(batch) >= 1000:
                await self.deliveries.bulk_write(batch, ordered=False)
                batch = []
        if batch:
            await self.deliveries.bulk_write(batch, ordered=False)
        return count

    def _webhook(
        self, sub: Document, event_id: str, event_type: str, body: bytes, replay_id: str | None
    ) -> UpdateOne:
        rule = f"webhook:{sub['_id']}" + (f":replay:{replay_id}" if replay_id else "")
        key = idempotency_key(event_id, rule, sub["url"])
        now = self.clock.now()
        doc = {
            "_id": key,
            "rule": "webhook_agensi",
            "event_id": event_id,
            "event_type": event_type,
            "channel": "webhook",
            "audience": "agency",
            "agency": sub["agency"],
            "subscription_id": sub["_id"],
            "recipient": sub["url"],
            "subject": event_type,
            "body": bytes(body),
            "webhook_id": event_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "last_error": None,
        }
        return UpdateOne({"_id": key}, {"$setOnInsert": doc}, upsert=True)

    async def webhook_secret(self, subscription_id: str) -> str | None:
        sub = await self.subscriptions.find_one({"_id": subscription_id}, {"sealed_secret": 1})
        return None if sub is None else str(self.sealer.open(sub["sealed_secret"].encode())["secret"])

    # ------------------------------------------------------------ dispatching

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

    async def finish(self, outcomes: Sequence[tuple[str, str, dt.datetime | None, str | None]]) -> None:
        """(key, status, next attempt, error) for each delivery of a claimed batch."""
        now = self.clock.now()
        updates = []
        for key, status, next_attempt, error in outcomes:
            if status == "deferred":  # held back by the per-recipient limit: not a failed attempt
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

    async def orphaned_claims(self, now: dt.datetime) -> int:
        """Deliveries a crashed dispatcher had claimed. They may have gone out just before the
        crash: e-mail is not sent again (`in_doubt`, listed in the log for a person to check),
        so a restart never sends an e-mail twice."""
        result = await self.deliveries.update_many(
            {"status": "sending", "claimed_until": {"$lt": now}},
            {"$set": {"status": "in_doubt", "last_error": "proses berhenti saat mengirim; periksa manual"}},
        )
        return int(result.modified_count)

    def open_recipient(self, recipient: str, sealed: str | None) -> str:
        if sealed is None:
            return recipient
        value = self.sealer.open(sealed.encode())
        return str(value["contact"])

    async def sealed_contact(self, recipient: str) -> str | None:
        if not recipient.startswith("sealed:"):
            return None
        doc = await self.reporter_contacts.find_one({"_id": recipient.removeprefix("sealed:")})
        return None if doc is None else str(doc["sealed"])

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
        for doc in docs:
            if doc["recipient"].startswith("sealed:"):
                doc["recipient"] = SEALED_RECIPIENT
        return docs, total


def structured_event(event: CloudEvent) -> bytes:
    """The CloudEvent in structured JSON mode, the body agencies receive."""
    envelope = {
        "specversion": "1.0",
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "subject": event.subject,
        "time": event.time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": event.data,
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
