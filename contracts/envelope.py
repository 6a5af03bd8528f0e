"""CloudEvents 1.0 envelope in Kafka binary mode: attributes as `ce_*` headers, data as the value."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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
    data: dict[str, Any]
    key: str
    topic: str = ""
    extra_headers: Mapping[str, str] = field(default_factory=dict)

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
        return json.dumps(self.data, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def new_event(
    data: EventData, source: str, subject: str | None = None, time: dt.datetime | None = None
) -> CloudEvent:
    key = data.aggregate_key()
    return CloudEvent(
        id=str(uuid.uuid4()),
        type=data.event_type,
        source=source,
        time=time or dt.datetime.now(dt.UTC),
        subject=subject or key,
        data=data.model_dump(mode="json"),
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
    try:
        data = json.loads(value or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError(f"value is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise EnvelopeError("value must be a JSON object")
    return CloudEvent(
        id=attrs["ce_id"],
        type=attrs["ce_type"],
        source=attrs["ce_source"],
        time=time,
        subject=attrs.get("ce_subject", ""),
        data=data,
        key=(key or b"").decode("utf-8", errors="replace"),
        topic=topic,
    )
