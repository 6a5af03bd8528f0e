"""The errors of the rules and the use cases, answered once by every service's app
(`services.kit.app`): 403, 404, 409 and 422, with their messages in Bahasa Indonesia.

Pure: domains and stores raise these without importing any web framework.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class NotFound(LookupError):
    """Answered 404 with the message."""


class Forbidden(PermissionError):
    """The caller may not do this (role, scope or ownership): answered 403 with the message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Conflict(RuntimeError):
    """The thing is not in a state for this: answered 409 with the message and, where it helps,
    what is allowed instead (`allowed_actions`, present whenever `allowed` is given, even empty:
    "nothing more is allowed" is an answer too)."""

    def __init__(self, message: str, allowed: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.allowed = None if allowed is None else list(allowed)


class InvalidInput(ValueError):
    """Answered as 422 `{detail, errors: [{field, message}]}`."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(error.get("message")) for error in errors))
        self.errors = errors

    @classmethod
    def one(cls, field: str | None, message: str) -> InvalidInput:
        return cls([{"field": field, "message": message}])
