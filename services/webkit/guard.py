"""Where a sign-in may send the browser afterwards: a path on this host, or a page of one of
the platform's own services (locally they differ by port). Anything else would make `/masuk`
an open redirect that a phishing link could use."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

HOME = "/"


def safe_next(target: str | None, allowed_bases: Sequence[str]) -> str:
    """`target` when it is safe to redirect to, else "/"."""
    if not target or any(char in target for char in "\\\r\n\t") or len(target) > 2000:
        return HOME
    if target.startswith("/"):
        # "//host" and "/\\host" are another host to a browser.
        return target if not target.startswith("//") else HOME
    parts = urlsplit(target)
    for base in allowed_bases:
        allowed = urlsplit(base)
        if (
            allowed.scheme
            and parts.scheme == allowed.scheme
            and parts.netloc == allowed.netloc
            and not parts.username
            and not parts.password
            and parts.path.startswith("/")
        ):
            return target
    return HOME
