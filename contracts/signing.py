"""Events published by the signing service (campaigns, pledges, chain checkpoints).

`signing.checkpoints` is public: Bawaslu and other agencies keep an independent copy of
every campaign's chain head, so that a rewritten chain would not match their copy.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from contracts.envelope import EventData
from contracts.topics import CAMPAIGNS, CHECKPOINTS, PLEDGES

CascadeName = Literal["strict", "advisory", "off"]
ModeName = Literal["online", "in_person"]


class CampaignSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    title: str
    election: str
    deadline: dt.datetime
    campaign_period_starts_on: dt.date | None = None
    """First day of the election's campaign period; the deadline is at the latest its 00.00
    local time. None for a campaign opened before the platform recorded it (unknown)."""
    pact_version: int
    pact_sha256: str
    scope: list[str]
    cascade: CascadeName


class CampaignOpenedV1(EventData):
    event_type: ClassVar[str] = "campaign.opened.v1"
    topic: ClassVar[str] = CAMPAIGNS.name
    campaign: CampaignSnapshot

    def aggregate_key(self) -> str:
        return self.campaign.code


class CampaignPactRevisedV1(EventData):
    """A new version of the pact text; later signatures carry its hash."""

    event_type: ClassVar[str] = "campaign.pact_revised.v1"
    topic: ClassVar[str] = CAMPAIGNS.name
    campaign: CampaignSnapshot

    def aggregate_key(self) -> str:
        return self.campaign.code


class CampaignRescheduledV1(EventData):
    """A new deadline or campaign period start (see CampaignSnapshot); reminders follow it."""

    event_type: ClassVar[str] = "campaign.rescheduled.v1"
    topic: ClassVar[str] = CAMPAIGNS.name
    campaign: CampaignSnapshot

    def aggregate_key(self) -> str:
        return self.campaign.code


class CampaignClosedV1(EventData):
    event_type: ClassVar[str] = "campaign.closed.v1"
    topic: ClassVar[str] = CAMPAIGNS.name
    campaign: str
    closed_at: dt.datetime
    chain_length: int
    head_hash: str

    def aggregate_key(self) -> str:
        return self.campaign


class PledgeSignedV1(EventData):
    event_type: ClassVar[str] = "pledge.signed.v1"
    topic: ClassVar[str] = PLEDGES.name
    campaign: str
    employee_id: str
    nip: str | None
    org_unit_code: str
    level: str
    mode: ModeName
    signed_at: dt.datetime
    receipt_code: str
    pact_sha256: str
    recorded_by: str | None
    """Who recorded an in-person signature at the ceremony (an OPD admin); None online."""

    def aggregate_key(self) -> str:
        return self.employee_id


class PledgeOverdueV1(EventData):
    event_type: ClassVar[str] = "pledge.overdue.v1"
    topic: ClassVar[str] = PLEDGES.name
    campaign: str
    employee_id: str
    nip: str | None
    org_unit_code: str
    deadline: dt.datetime

    def aggregate_key(self) -> str:
        return self.employee_id


class PledgeReminderDueV1(EventData):
    """An employee in scope has not signed and the deadline is `hours_before` away: the
    notify service reminds them (e-mail address and phone come from the registry topic)."""

    event_type: ClassVar[str] = "pledge.reminder_due.v1"
    topic: ClassVar[str] = PLEDGES.name
    campaign: str
    employee_id: str
    nip: str | None
    org_unit_code: str
    deadline: dt.datetime
    hours_before: int

    def aggregate_key(self) -> str:
        return self.employee_id


class ChainCheckpointV1(EventData):
    event_type: ClassVar[str] = "pledge.checkpoint.v1"
    topic: ClassVar[str] = CHECKPOINTS.name
    campaign: str
    chain_length: int
    head_hash: str
    at: dt.datetime
    key_id: str
    signature: str
    """Ed25519 over `"{campaign}:{chain_length}:{head_hash}"`, base64url."""
    final: bool
    """True for the checkpoint taken at the deadline."""

    def aggregate_key(self) -> str:
        return self.campaign
