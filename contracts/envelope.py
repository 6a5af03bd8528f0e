"""CloudEvents 1.0 envelope in Kafka binary mode: attributes as `ce_*` headers, data as the value."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"


class EventData(BaseModel):
    """Base of every event payload. Subclasses name their CloudEvents type and topic."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[str]

    def aggregate_key(self) -> str:
        """The Kafka key: the aggregate id, so that order holds per aggregate."""
        raise NotImplementedError


class EnvelopeError(ValueError):
    """A Kafka record is not a valid CloudEvent of a type we know."""


@dataclass(frozen=True)
class CloudEvent:
    id: str
    type: str
    source: str
    time: dt.datetime
    subject: str
    payload: bytes
    """The JSON value, encoded once when the event is made and sent as it is."""
    key: str
    topic: str = ""
    extra_headers: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def data(self) -> dict[str, Any]:
        value = json.loads(self.payload)
        if not isinstance(value, dict):
            raise EnvelopeError("value must be a JSON object")
        return value

    def kafka_headers(self) -> dict[str, str]:
        return {
            "ce_specversion": SPEC_VERSION,
            "ce_id": self.id,
            "ce_type": self.type,
            "ce_source": self.source,
            "ce_time": self.time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "ce_subject": self.subject,
            "content-type": CONTENT_TYPE,
            **self.extra_headers,
        }

    def kafka_value(self) -> bytes:
        return self.payload


def new_event(
    data: EventData,
    source: str,
    subject: str | None = None,
    time: dt.datetime | None = None,
    event_id: str | None = None,
) -> CloudEvent:
    """`event_id` is for events that a retried job may emit again (reminders, overdue
    notices): the same id each time, so consumers drop the repeat."""
    key = data.aggregate_key()
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        type=data.event_type,
        source=source,
        time=time or dt.datetime.now(dt.UTC),
        subject=subject or key,
        payload=data.model_dump_json().encode(),
        key=key,
        topic=data.topic,
    )


def _header_text(headers: Iterable[tuple[str, bytes | str | None]]) -> dict[str, str]:
    text: dict[str, str] = {}
    for name, raw in headers:
        if raw is None:
            continue
        text[name] = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return text


def decode_record(
    headers: Iterable[tuple[str, bytes | str | None]], key: bytes | None, value: bytes | None, topic: str = ""
) -> CloudEvent:
    """Read a binary-mode CloudEvent from a Kafka record, or raise EnvelopeError saying why not."""
    attrs = _header_text(headers)
    missing = [name for name in ("ce_id", "ce_type", "ce_source", "ce_time") if not attrs.get(name)]
    if missing:
        raise EnvelopeError(f"missing CloudEvents headers: {', '.join(missing)}")
    if attrs.get("ce_specversion", SPEC_VERSION) != SPEC_VERSION:
        raise EnvelopeError(f"unsupported ce_specversion {attrs['ce_specversion']!r}")
    try:
        time = dt.datetime.fromisoformat(attrs["ce_time"].replace("Z", "+00:00"))
    except ValueError as exc:
        raise EnvelopeError(f"ce_time is not RFC 3339: {attrs['ce_time']!r}") from exc
    event = CloudEvent(
        id=attrs["ce_id"],
        type=attrs["ce_type"],
        source=attrs["ce_source"],
        time=time,
        subject=attrs.get("ce_subject", ""),
        payload=value or b"",
        key=(key or b"").decode("utf-8", errors="replace"),
        topic=topic,
    )
    try:
        event.data  # noqa: B018 - parsed now, so a poison value fails here and not in a handler
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError(f"value is not JSON: {exc}") from exc
    return event
