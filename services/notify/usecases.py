"""The notify service's use cases: one method per command and query of the API, and the planning
of deliveries from the events the Kafka handlers receive. Authorization and scope are checked
here, once; the rules are the domain's; the store only reads and writes.

Agencies' subscriptions: only BKPSDM manages them (an agency's own token cannot), each has an
owner (the registering principal's subject and unit), and deleting or replaying one is for its
owner, another BKPSDM officer of the owner's unit, or a platform-wide BKPSDM. A webhook URL must
be https and must resolve to public addresses only (services.notify.channels.WebhookTargets).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

from contracts.envelope import CloudEvent
from contracts.roles import Role
from services.kit.clock import Clock
from services.kit.errors import Forbidden, InvalidInput
from services.kit.identity import Principal
from services.kit.mongo import Document, Session
from services.kit.sealing import Sealer
from services.notify.domain import (
    CANCELLED_BY,
    DEADLINE_MOVED,
    DECISION_TAKEN,
    PLATFORM_CONTACT_ONLY,
    SUBSCRIPTION_DELETED,
    SUBSCRIPTION_OF_ANOTHER_UNIT,
    Audience,
    QuietHours,
    Recipient,
    ReplayLimited,
    Rule,
    SubscriptionNotFound,
    applies,
    case_id_of,
    contacts_moving,
    deadline_warnings,
    decided_subjects,
    decider_recipients,
    decider_scopes,
    employee_recipients,
    may_manage_subscription,
    merged_recipients,
    new_webhook_secret,
    reporter_recipients,
    role_contact,
    role_recipients,
    rule_delivery,
    rules_for,
    scrub_contacts,
    send_not_before,
    shown_recipient,
    stale_warnings,
    structured_event,
    subscription_owner,
    superseded_warnings,
    template_extra,
    unit_lineage,
    webhook_delivery,
)
from services.notify.messages import Templates

LOG_READERS = (Role.BKPSDM, Role.BKN, Role.INSPEKTORAT)
CONTACT_ADMINS = (Role.BKPSDM,)
SUBSCRIPTION_ADMINS = (Role.BKPSDM,)
REPLAY_BATCH = 1000


class NotifyRepository(Protocol):
    """What the use cases need of the store (services.notify.store.NotifyStore)."""

    async def save_reporter_contact(
        self, session: Session, report_id: str, case_id: str, sealed: str
    ) -> None: ...
    async def reporter_contact_ids(self, session: Session, case_id: str | None) -> list[str]: ...
    async def known_reporter_contacts(self, session: Session, report_ids: Sequence[str]) -> list[str]: ...
    async def move_reporter_contacts(
        self, session: Session, report_ids: Sequence[str], case_id: str
    ) -> None: ...
    async def save_role_contact(self, doc: Document) -> None: ...
    async def list_role_contacts(self) -> list[Document]: ...
    async def role_contacts_in(
        self, session: Session, role: str, units: Sequence[str | None]
    ) -> list[Document]: ...
    async def employee(self, session: Session, employee_id: str) -> Document | None: ...
    async def stage_deliveries(self, docs: Sequence[Document], session: Session | None = None) -> None: ...
    async def cancel_pending_of_case(
        self, session: Session, case_id: str | None, rules: Sequence[str], reason: str
    ) -> None: ...
    async def cancel_pending_of_subjects(
        self,
        session: Session,
        case_id: str | None,
        rules: Sequence[str],
        subject_ids: Sequence[str],
        reason: str,
    ) -> None: ...
    async def cancel_pending_of_subscription(self, subscription_id: str, reason: str) -> None: ...
    async def delivery_log(
        self, status: str | None, audience: str | None, agency: str | None, page: int, page_size: int
    ) -> tuple[list[Document], int]: ...
    async def insert_subscription(self, doc: Document) -> None: ...
    async def subscription(self, subscription_id: str) -> Document | None: ...
    async def list_subscriptions(self) -> list[Document]: ...
    async def subscriptions_to(self, session: Session, event_type: str) -> list[Document]: ...
    async def delete_subscription(self, subscription_id: str) -> bool: ...
    async def keep_public_event(
        self, session: Session, event: CloudEvent, body: bytes, now: dt.datetime
    ) -> None: ...
    def public_events_since(
        self, event_types: Sequence[str], since: dt.datetime, kept_since: dt.datetime
    ) -> AsyncIterator[Document]: ...


class WebhookTargetCheck(Protocol):
    """Refuses (domain.WebhookTargetRefused) a webhook URL notify may not send to
    (services.notify.channels.WebhookTargets)."""

    async def pinned(self, url: str) -> object: ...


class ReplayAllowance(Protocol):
    """How long until a subscription may be replayed again; None: now, and counted
    (services.notify.ratelimits.ReplayLimit)."""

    async def wait_seconds(self, subscription_id: str) -> int | None: ...


class NotifyUseCases:
    def __init__(
        self,
        store: NotifyRepository,
        clock: Clock,
        templates: Templates,
        secrets: Sealer,
        quiet: QuietHours,
        webhook_targets: WebhookTargetCheck,
        replays: ReplayAllowance,
    ) -> None:
        self.store = store
        self.clock = clock
        self.templates = templates
        self.secrets = secrets
        """Seals agencies' webhook secrets: a key of notify's own, not the reporters' contacts'."""
        self.quiet = quiet
        self.webhook_targets = webhook_targets
        self.replays = replays

    # ------------------------------------------------------------ contacts of roles

    async def set_role_contact(
        self, principal: Principal, role: str, org_unit: str | None, email: str, name: str
    ) -> Document:
        """Who receives a role's notices for a unit and its subtree, within the caller's scope; for
        a platform-wide role (the Minister of Home Affairs), once for the whole platform, by a
        platform-wide BKPSDM only."""
        principal.check_role(*CONTACT_ADMINS)
        doc = role_contact(role, org_unit, email, name)
        if doc["org_unit"] is None:
            if principal.org_unit is not None:
                raise Forbidden(PLATFORM_CONTACT_ONLY)
        else:
            principal.check_access(doc["org_unit"], [])
        await self.store.save_role_contact(doc)
        return doc

    async def role_contacts(self, principal: Principal) -> list[Document]:
        principal.check_role(*CONTACT_ADMINS)
        return await self.store.list_role_contacts()

    # ------------------------------------------------------------ the delivery log

    async def delivery_log(
        self,
        principal: Principal,
        status: str | None,
        audience: str | None,
        agency: str | None,
        page: int,
        page_size: int,
    ) -> tuple[list[Document], int]:
        """One page of the log, newest first; a reporter's contact never appears in it. Errors are
        stored scrubbed; scrubbed again here for entries written before that."""
        principal.check_role(*LOG_READERS)
        docs, total = await self.store.delivery_log(status, audience, agency, page, page_size)
        for doc in docs:
            doc["recipient"] = shown_recipient(doc["recipient"])
            doc["last_error"] = scrub_contacts(doc.get("last_error"))
        return docs, total

    # ------------------------------------------------------------ agencies' subscriptions

    async def subscribe(
        self, principal: Principal, agency: str, event_types: Sequence[str], url: str
    ) -> tuple[Document, str]:
        """A new subscription and its signing secret, which is shown once and kept sealed. The
        URL's target is checked (resolved) here, and again at every send."""
        principal.check_role(*SUBSCRIPTION_ADMINS)
        await self.webhook_targets.pinned(url)
        secret = new_webhook_secret()
        doc: Document = {
            "_id": str(uuid.uuid4()),
            "agency": agency,
            "event_types": sorted(set(event_types)),
            "url": url,
            "sealed_secret": self.secrets.seal({"secret": secret}).decode(),
            "owner": subscription_owner(principal),
            "created_at": self.clock.now(),
        }
        await self.store.insert_subscription(doc)
        return doc, secret

    async def subscriptions(self, principal: Principal) -> list[Document]:
        """Those the caller may manage."""
        principal.check_role(*SUBSCRIPTION_ADMINS)
        return [
            doc for doc in await self.store.list_subscriptions() if may_manage_subscription(principal, doc)
        ]

    async def _managed(self, principal: Principal, subscription_id: str) -> Document:
        principal.check_role(*SUBSCRIPTION_ADMINS)
        sub = await self.store.subscription(subscription_id)
        if sub is None:
            raise SubscriptionNotFound(subscription_id)
        if not may_manage_subscription(principal, sub):
            raise Forbidden(SUBSCRIPTION_OF_ANOTHER_UNIT)
        return sub

    async def subscription(self, principal: Principal, subscription_id: str) -> Document:
        """One subscription the caller may manage (to confirm its deletion, or replay it); the
        sealed secret is left out: nobody sees it again."""
        sub = await self._managed(principal, subscription_id)
        return {key: value for key, value in sub.items() if key != "sealed_secret"}

    async def unsubscribe(self, principal: Principal, subscription_id: str) -> None:
        """Its webhooks not yet sent are cancelled."""
        await self._managed(principal, subscription_id)
        if not await self.store.delete_subscription(subscription_id):
            raise SubscriptionNotFound(subscription_id)
        await self.store.cancel_pending_of_subscription(subscription_id, SUBSCRIPTION_DELETED)

    async def replay(self, principal: Principal, subscription_id: str, since: dt.datetime) -> int:
        """Send a subscription again every kept public event of its types since `since`, of those
        kept since the subscription was made (what it was there for, not the history before it);
        how many. A few times per window only (ReplayLimited)."""
        principal.check_role(*SUBSCRIPTION_ADMINS)
        if since.tzinfo is None:
            raise InvalidInput.one("since", "waktu harus memuat zona waktu, mis. 2029-01-01T00:00:00+07:00")
        sub = await self._managed(principal, subscription_id)
        wait = await self.replays.wait_seconds(subscription_id)
        if wait is not None:
            raise ReplayLimited(wait)
        replay_id = uuid.uuid4().hex
        now = self.clock.now()
        count = 0
        batch: list[Document] = []
        async for doc in self.store.public_events_since(sub["event_types"], since, sub["created_at"]):
            batch.append(webhook_delivery(sub, doc["_id"], doc["type"], doc["body"], replay_id, now))
            count += 1
            if len(batch) >= REPLAY_BATCH:
                await self.store.stage_deliveries(batch)
                batch = []
        await self.store.stage_deliveries(batch)
        return count

    # ------------------------------------------------------------ from events (the Kafka handlers)

    async def keep_reporter_contact(self, session: Session, data: Mapping[str, Any]) -> None:
        """Kept sealed: opened only at the moment a message is sent."""
        await self.store.save_reporter_contact(
            session, data["report_id"], data["case_id"], data["sealed_contact"]
        )

    async def plan(self, session: Session, event_id: str, event_type: str, data: Mapping[str, Any]) -> int:
        """Stage the deliveries the rules ask for, in the consumer's transaction; how many."""
        now = self.clock.now()
        if event_type in CANCELLED_BY:
            stale = stale_warnings((data.get("case") or {}).get("state", ""))
            if stale:
                await self.store.cancel_pending_of_case(session, case_id_of(data), stale, DECISION_TAKEN)
            decided = decided_subjects(data)
            if decided:
                await self.store.cancel_pending_of_subjects(
                    session, case_id_of(data), deadline_warnings(), decided, DECISION_TAKEN
                )
        superseded = superseded_warnings(event_type, data)
        if superseded:
            await self.store.cancel_pending_of_case(session, case_id_of(data), superseded, DEADLINE_MOVED)
        moving = contacts_moving(event_type, data)
        if moving is not None:
            await self.store.move_reporter_contacts(session, *moving)
        due: list[tuple[Rule, dt.datetime]] = []
        for rule in rules_for(event_type):
            if (
                applies(rule, data)
                and (not_before := send_not_before(rule, data, now, self.quiet)) is not None
            ):
                due.append((rule, not_before))
        if not due:
            return 0
        # Read once for all of the event's rules: the recipient of a reminder, and the one an
        # OPD admin's notice is about.
        employee = await self.store.employee(session, data["employee_id"]) if "employee_id" in data else None
        staged: list[Document] = []
        for rule, not_before in due:
            for recipient in await self._recipients(session, rule, data, employee):
                message = self.templates.render(rule, data, template_extra(recipient, employee, data))
                staged.append(
                    rule_delivery(rule, event_id, event_type, data, recipient, message, not_before, now)
                )
        await self.store.stage_deliveries(staged, session)
        return len(staged)

    async def _recipients(
        self, session: Session, rule: Rule, data: Mapping[str, Any], employee: Document | None
    ) -> list[Recipient]:
        if rule.audience is Audience.EMPLOYEE:
            return employee_recipients(employee)
        if rule.audience is Audience.REPORTER:
            if rule.reports_key is not None:
                report_ids = list(data.get(rule.reports_key, []))
                return reporter_recipients(await self.store.known_reporter_contacts(session, report_ids))
            return reporter_recipients(await self.store.reporter_contact_ids(session, case_id_of(data)))
        if rule.audience is Audience.DECIDER:
            found: list[Recipient] = []
            for scope in decider_scopes(data):
                contacts = await self.store.role_contacts_in(session, scope.role, scope.units)
                found.extend(decider_recipients(scope, contacts))
            return merged_recipients(found)
        lineage = unit_lineage(data)
        contacts = await self.store.role_contacts_in(session, rule.audience.value, lineage)
        return role_recipients(rule.audience, contacts, lineage)

    async def plan_public(self, session: Session, event: CloudEvent) -> int:
        """Keep a public event for replays, and stage a webhook for each subscription to it."""
        now = self.clock.now()
        body = structured_event(event)
        await self.store.keep_public_event(session, event, body, now)
        staged = [
            webhook_delivery(sub, event.id, event.type, body, None, now)
            for sub in await self.store.subscriptions_to(session, event.type)
        ]
        await self.store.stage_deliveries(staged, session)
        return len(staged)
