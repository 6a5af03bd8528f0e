"""The errors every service's store raises and its API answers: 404 and 409."""

from __future__ import annotations

from collections.abc import Sequence


class NotFound(LookupError):
    """Answered 404 with the message (Bahasa Indonesia)."""


class Conflict(RuntimeError):
    """The thing is not in a state for this: answered 409 with the message and, where it helps,
    what is allowed instead."""

    def __init__(self, message: str, allowed: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.allowed = list(allowed)
