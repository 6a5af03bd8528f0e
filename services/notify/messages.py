"""The rules' message templates, read from `templates/<name>.j2` and rendered in Bahasa Indonesia.

Kept out of `domain.py` because it reads files. One file per rule template, defining
`{% block subject %}` and `{% block body %}`. Files whose name starts with `_` are partials
(included, never a rule's template). The render context is the event data's top-level keys, plus
`data` (the whole mapping) and whatever the caller passes as `extra` (recipient name, links);
templates test optional extras with `is defined`, everything else must be present
(StrictUndefined). The labels and date formats the filters use are the domain's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from services.notify.domain import (
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    DEADLINE_LABELS,
    DEFAULT_TIMEZONE,
    ESCALATION_LABELS,
    STATE_LABELS,
    UNKNOWN_STATE_LABEL,
    Message,
    Rule,
    format_date,
    format_datetime,
    format_deadline,
    format_hours,
    label,
)

TEMPLATE_DIR = Path(__file__).parent / "templates"


class Templates:
    def __init__(self, directory: Path | None = None, timezone: str = DEFAULT_TIMEZONE) -> None:
        ZoneInfo(timezone)  # fail at start-up, not at the first notice
        self.timezone = timezone
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory or TEMPLATE_DIR),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # plain-text e-mail; nothing is rendered into HTML
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters.update(
            tanggal=lambda value: format_date(value, self.timezone),
            tanggal_waktu=lambda value: format_datetime(value, self.timezone),
            batas_waktu=lambda value: format_deadline(value, self.timezone),
            durasi_jam=format_hours,
            status=lambda code: label(STATE_LABELS, code, UNKNOWN_STATE_LABEL),
            kategori=lambda code: label(CATEGORY_LABELS, code),
            kanal=lambda code: label(CHANNEL_LABELS, code),
            tenggat=lambda code: label(DEADLINE_LABELS, code),
            eskalasi=lambda code: label(ESCALATION_LABELS, code),
        )

    def names(self) -> list[str]:
        """Rule template names found in the directory (partials excluded)."""
        return sorted(
            name.removesuffix(".j2")
            for name in self.env.list_templates(extensions=["j2"])
            if not Path(name).name.startswith("_")
        )

    def render(self, rule: Rule, data: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> Message:
        template = self.env.get_template(f"{rule.template}.j2")
        for block in ("subject", "body"):
            if block not in template.blocks:
                raise ValueError(f"templat {rule.template}: blok '{block}' tidak ada")
        context = template.new_context({**data, **(extra or {}), "data": data, "rule": rule})
        subject = "".join(template.blocks["subject"](context))
        body = "".join(template.blocks["body"](context))
        # A subject is one header line; template line breaks there are layout, not content.
        subject = re.sub(r"\s+", " ", subject).strip()
        body = re.sub(r"\n{3,}", "\n\n", body.strip()) + "\n"
        return Message(subject=subject, body=body)
