"""The one page shape of every list endpoint, and the one bound on page numbers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

MAX_PAGE = 1_000_000
"""No list has this many pages; beyond it (page - 1) * page_size would no longer fit the
8-byte integer MongoDB takes for a skip, and the request would end in a server error."""

Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description="halaman, mulai dari 1")]


def page_response(items: list[Any], page: int, page_size: int, total: int) -> dict[str, Any]:
    return {
        "items": items,
        "page": page,
        "page_size": page_size,
        "total": total,
        "pages": (total + page_size - 1) // page_size,
    }
