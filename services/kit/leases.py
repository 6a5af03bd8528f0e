"""Leases in MongoDB: at most one holder at a time for a named piece of work, across replicas."""

from __future__ import annotations

import datetime as dt

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.kit.mongo import Document


class Leases:
    def __init__(self, database: AsyncDatabase[Document], owner: str) -> None:
        self._collection = database["leases"]
        self.owner = owner

    async def acquire(self, name: str, seconds: float) -> bool:
        """Take or renew the lease `name`. False while another owner holds an unexpired one."""
        now = dt.datetime.now(dt.UTC)
        try:
            await self._collection.find_one_and_update(
                {"_id": name, "$or": [{"owner": self.owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "expires_at": now + dt.timedelta(seconds=seconds)}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def release(self, name: str) -> None:
        await self._collection.delete_one({"_id": name, "owner": self.owner})
