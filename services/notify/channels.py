"""Where messages leave the platform: e-mail over SMTP (aiosmtplib) on a few kept-open
connections. Webhooks and the SMS gateway adapter plug in beside it (see the issue's notes)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib


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
        message["Message-ID"] = make_msgid(idstring=outgoing.key, domain="netral.local")
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
