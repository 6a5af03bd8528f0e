"""MongoDB access shared by the services: the client and transactions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.settings import ServiceSettings

Document = dict[str, Any]
Session = AsyncClientSession
T = TypeVar("T")


def connect(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(
        settings.mongodb_uri,
        serverSelectionTimeoutMS=settings.mongodb_timeout_ms,
        tz_aware=True,
        appname=settings.service_name,
    )


async def in_transaction(client: AsyncMongoClient[Document], work: Callable[[Session], Awaitable[T]]) -> T:
    """Run `work` in one transaction; the driver retries it on transient errors and
    unknown commit results, so `work` must be safe to run again."""
    async with client.start_session() as session:
        return await session.with_transaction(work)


async def ping(database: AsyncDatabase[Document]) -> None:
    await database.command("ping")
