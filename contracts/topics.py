"""The topic catalog: every topic of the published language, with who may read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str
    description: str
    public: bool = False
    """Public topics are redacted and readable by other agencies (their own group and ACL)."""


ORG_UNITS = Topic("registry.org-units", "Org-unit tree changes, keyed by unit code")
EMPLOYEES = Topic("registry.employees", "Employee changes, keyed by employee id (NIP)")

CATALOG: tuple[Topic, ...] = (ORG_UNITS, EMPLOYEES)


def dead_letter_topic(consumer_group: str) -> str:
    """One dead-letter topic per consumer group, so that a group can replay its own failures."""
    return f"dlq.{consumer_group}"
