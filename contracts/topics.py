"""The topic catalog: every topic of the published language, who produces it and who may read it."""

from __future__ import annotations

from dataclasses import dataclass

SOURCE_PREFIX = "/netral/"


@dataclass(frozen=True)
class Topic:
    name: str
    description: str
    owner: str
    """The one service that produces this topic; its events carry `source` as `ce_source`."""
    public: bool = False
    """Public topics are redacted and readable by other agencies (their own group and ACL)."""

    @property
    def source(self) -> str:
        """The CloudEvents source of every event on this topic: consumers refuse any other."""
        return f"{SOURCE_PREFIX}{self.owner}"


ORG_UNITS = Topic("registry.org-units", "Org-unit tree changes, keyed by unit code", "registry")
EMPLOYEES = Topic("registry.employees", "Employee changes, keyed by employee id (NIP)", "registry")

CAMPAIGNS = Topic(
    "signing.campaigns", "Pledge campaigns opened and closed, keyed by campaign code", "signing"
)
PLEDGES = Topic("signing.pledges", "Signatures and overdue pledges, keyed by employee id (NIP)", "signing")
CHECKPOINTS = Topic(
    "signing.checkpoints", "Signed chain heads per campaign, keyed by campaign code", "signing", public=True
)

REPORT_CASES = Topic(
    "reports.cases", "Violation cases, internal: accused and matched employee, keyed by case id", "reports"
)
REPORTS_PUBLIC = Topic(
    "reports.public",
    "Violation cases, redacted for agencies: no reporter, no accused name, no free text, keyed by case id",
    "reports",
    public=True,
)

REPORTER_CONTACTS = Topic(
    "reports.reporter-contacts",
    "A reporter's contact for status updates, sealed with the notify service's key: notify alone reads it",
    "reports",
)

CATALOG: tuple[Topic, ...] = (
    ORG_UNITS,
    EMPLOYEES,
    CAMPAIGNS,
    PLEDGES,
    CHECKPOINTS,
    REPORT_CASES,
    REPORTS_PUBLIC,
    REPORTER_CONTACTS,
)


BY_NAME: dict[str, Topic] = {topic.name: topic for topic in CATALOG}


def dead_letter_topic(consumer_group: str) -> str:
    """One dead-letter topic per consumer group, so that a group can replay its own failures."""
    return f"dlq.{consumer_group}"
