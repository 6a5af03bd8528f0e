"""A local SMTP server (aiosmtpd) that keeps what arrives, a way to put events on the broker as
another service would have, and a public event agencies subscribe to."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import uvicorn
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request, Response

from contracts.envelope import CloudEvent, new_event
from contracts.reports import PublicReportReceivedV1
from services.notify.domain import verify_webhook
from tests.kafka_reader import wait_for


@dataclass
class Mailbox:
    """aiosmtpd handler: every accepted message, and addresses to refuse with `refusal` (a 5xx
    reply; `{address}` in it is replaced by the refused address, as many servers echo it)."""

    messages: list[Message] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    refusal: str = "550 mailbox unavailable"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refusal.replace("{address}", address)
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


@dataclass
class WebhookReceiver:
    """An agency's endpoint on loopback: verifies each signature and keeps what it accepted.
    While `down`, it answers 503 (and records nothing)."""

    secret: str = ""
    down: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            body = await request.body()
            if self.down:
                self.refused += 1
                return Response(status_code=503)
            verify_webhook(self.secret, dict(request.headers), body)
            self.received.append(
                {
                    "webhook_id": request.headers["webhook-id"],
                    "content_type": request.headers["content-type"],
                    "event": json.loads(body),
                }
            )
            return Response(status_code=204)

        return app

    def ids(self) -> list[str]:
        return [item["webhook_id"] for item in self.received]


@asynccontextmanager
async def serving(app: FastAPI, port: int, certificate: tuple[str, str] | None = None) -> AsyncIterator[None]:
    """`certificate`: (certificate file, key file) to serve https."""
    tls = {"ssl_certfile": certificate[0], "ssl_keyfile": certificate[1]} if certificate else {}
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **tls)  # type: ignore[arg-type]
    )
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: server.started, timeout=10, interval=0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


def public_received(case_id: str) -> Any:
    snapshot = {
        "case_id": case_id,
        "state": "received",
        "category": "kampanye_media_sosial",
        "violation_class": "etika",
        "channels": ["public"],
        "report_count": 1,
        "incident_date": "2029-01-10",
        "org_unit_code": "32.01.001",
        "org_unit_path": ["32", "32.01"],
        "bawaslu_references": [],
        "deadlines": {"verification": "2029-01-18T17:00:00Z"},
        "received_at": "2029-01-11T02:00:00Z",
        "version": 1,
    }
    data = PublicReportReceivedV1.model_validate({"case": snapshot, "channel": "public", "linked": False})
    return new_event(data, "/netral/reports")
