"""A local SMTP server (aiosmtpd) that keeps what arrives, and a way to put events on the
broker as another service would have."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from contracts.envelope import CloudEvent


@dataclass
class Mailbox:
    """aiosmtpd handler: every accepted message, and addresses to refuse (550)."""

    messages: list[Message] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


def smtp_server(port: int, mailbox: Mailbox) -> Controller:
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


async def publish(bootstrap: str, prefix: str, events: Iterable[CloudEvent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        sent = [
            await producer.send(
                prefix + event.topic,
                event.kafka_value(),
                key=event.key.encode(),
                headers=[(name, value.encode()) for name, value in event.kafka_headers().items()],
            )
            for event in events
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
