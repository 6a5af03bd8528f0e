"""Where messages leave the platform: e-mail over SMTP (aiosmtplib) on a few kept-open
connections, and agencies' webhooks over HTTP (httpx)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib
import httpx

from services.notify.domain import sign_webhook


@dataclass(frozen=True)
class Outgoing:
    key: str
    """The delivery's idempotency key, also the Message-ID: a receiving system can deduplicate."""
    to: str
    subject: str
    body: str


class DeliveryFailed(Exception):
    """The channel refused or could not take the message; `permanent` ones are not retried."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class SmtpChannel:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        connections: int = 4,
        username: str | None = None,
        password: str | None = None,
        start_tls: bool | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.start_tls = start_tls
        self.timeout = timeout
        self._pool: asyncio.Queue[aiosmtplib.SMTP | None] = asyncio.Queue()
        for _ in range(connections):
            self._pool.put_nowait(None)

    def message(self, outgoing: Outgoing) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = outgoing.to
        message["Subject"] = outgoing.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<{outgoing.key}@netral.local>"
        message.set_content(outgoing.body)
        return message

    async def send(self, outgoing: Outgoing) -> None:
        client = await self._pool.get()
        try:
            if client is None or not client.is_connected:
                client = aiosmtplib.SMTP(
                    hostname=self.host,
                    port=self.port,
                    username=self.username,
                    password=self.password,
                    start_tls=self.start_tls,
                    timeout=self.timeout,
                )
                await client.connect()
            await client.send_message(self.message(outgoing))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(f"alamat ditolak server SMTP: {exc}", permanent=True) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
            client = None
            raise DeliveryFailed(f"SMTP gagal: {type(exc).__name__}: {exc}") from None
        finally:
            self._pool.put_nowait(client)

    async def close(self) -> None:
        while not self._pool.empty():
            client = self._pool.get_nowait()
            if client is not None and client.is_connected:
                with contextlib.suppress(Exception):
                    await client.quit()


class WebhookChannel:
    """Agency webhooks, signed by the Standard Webhooks convention. A retry keeps the
    `webhook-id` (receivers deduplicate on it) and is signed with a fresh timestamp."""

    def __init__(self, timeout: float = 5.0) -> None:
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def send(self, url: str, secret: str, webhook_id: str, body: bytes) -> None:
        headers = sign_webhook(secret, webhook_id, dt.datetime.now(dt.UTC), body)
        # A structured-mode CloudEvent (CloudEvents HTTP binding): its own media type.
        headers["content-type"] = "application/cloudevents+json"
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook tidak terjangkau: {type(exc).__name__}: {exc}") from None
        if response.is_success:
            return
        # The receiver says the request itself is wrong (and would stay wrong): no retries.
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 409, 425, 429)
        raise DeliveryFailed(f"webhook menjawab {response.status_code}", permanent=permanent)

    async def close(self) -> None:
        await self._client.aclose()


class HttpSmsGateway:
    """A pluggable SMS/WhatsApp gateway over HTTP: POST `{to, text, reference}` as JSON with a
    bearer token. Most Indonesian gateways take this shape; another one needs only its own
    subclass of `payload`."""

    def __init__(self, url: str, token: str | None, timeout: float = 10.0) -> None:
        self.url = url
        self._headers = {"authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(timeout=timeout)

    def payload(self, to: str, text: str, reference: str) -> dict[str, str]:
        return {"to": to, "text": text, "reference": reference}

    async def send(self, to: str, text: str, reference: str) -> None:
        try:
            response = await self._client.post(
                self.url, json=self.payload(to, text, reference), headers=self._headers
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"gateway SMS tidak terjangkau: {type(exc).__name__}: {exc}") from None
        if not response.is_success:
            permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
            raise DeliveryFailed(f"gateway SMS menjawab {response.status_code}", permanent=permanent)

    async def close(self) -> None:
        await self._client.aclose()
