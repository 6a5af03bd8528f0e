"""Every event type of the published language, by CloudEvents type name."""

from __future__ import annotations

from contracts.envelope import EventData
from contracts.registry import (
    EmployeeDeactivatedV1,
    EmployeeRegisteredV1,
    EmployeeTransferredV1,
    EmployeeUpdatedV1,
    OrgUnitCreatedV1,
    OrgUnitUpdatedV1,
)
from contracts.reports import INTERNAL_EVENTS, PUBLIC_EVENTS
from contracts.signing import (
    CampaignClosedV1,
    CampaignOpenedV1,
    CampaignPactRevisedV1,
    CampaignRescheduledV1,
    ChainCheckpointV1,
    PledgeOverdueV1,
    PledgeReminderDueV1,
    PledgeSignedV1,
)

_MODELS: tuple[type[EventData], ...] = (
    OrgUnitCreatedV1,
    OrgUnitUpdatedV1,
    EmployeeRegisteredV1,
    EmployeeUpdatedV1,
    EmployeeTransferredV1,
    EmployeeDeactivatedV1,
    CampaignOpenedV1,
    CampaignPactRevisedV1,
    CampaignRescheduledV1,
    CampaignClosedV1,
    PledgeSignedV1,
    PledgeOverdueV1,
    PledgeReminderDueV1,
    ChainCheckpointV1,
    *INTERNAL_EVENTS,
    *PUBLIC_EVENTS,
)
EVENT_TYPES: dict[str, type[EventData]] = {model.event_type: model for model in _MODELS}


def json_schemas() -> dict[str, dict[str, object]]:
    """JSON Schema of each event's data, keyed by type name, for other agencies' consumers."""
    schemas: dict[str, dict[str, object]] = {}
    for type_name, model in EVENT_TYPES.items():
        schema = model.model_json_schema()
        schema["$id"] = f"urn:netral:event:{type_name}"
        schema["x-topic"] = model.topic
        schemas[type_name] = schema
    return schemas
