"""MongoDB access shared by the services: the client and transactions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

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


INDEX_CONFLICTS = (85, 86)  # IndexOptionsConflict, IndexKeySpecsConflict


async def ensure_index(collection: AsyncCollection[Document], keys: Any, **options: Any) -> str:
    """Create an index, replacing an older definition of the same name: a deploy that changes
    an index (say, makes it partial) must not fail to start on an existing database."""
    try:
        name: str = await collection.create_index(keys, **options)
        return name
    except OperationFailure as exc:
        if exc.code not in INDEX_CONFLICTS:
            raise
    name = options.get("name") or _index_name(keys)
    await collection.drop_index(name)
    created: str = await collection.create_index(keys, **options)
    return created


def _index_name(keys: Any) -> str:
    if isinstance(keys, str):
        return f"{keys}_1"
    return "_".join(f"{field}_{direction}" for field, direction in keys)
