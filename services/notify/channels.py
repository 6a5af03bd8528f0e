"""Where messages leave the platform: e-mail over SMTP (aiosmtplib) on a few kept-open
connections, and agencies' webhooks over HTTP (httpx), each to an address checked when it is
resolved and then connected to as checked (see `WebhookTargets`)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib
import httpx

from services.notify.domain import (
    CANNOT_CONNECT,
    TARGET_REFUSED,
    WebhookHostUnknown,
    WebhookTargetRefused,
    check_resolved,
    sign_webhook,
    webhook_target,
)

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""A host name and port to the addresses it resolves to (the system's resolver, or a test's)."""


async def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True)
class PinnedWebhook:
    """A webhook URL with its host replaced by the one checked address it resolved to: the
    request goes there, with the original Host header and TLS server name, so the answer of a
    second DNS lookup (a rebinding) never decides where it connects."""

    url: str
    host_header: str
    sni_hostname: str | None
    """The name the certificate is checked against; None for a literal address or plain http."""


class WebhookTargets:
    """Checks webhook targets, once when a subscription is made and again at every send: the
    form of the URL (domain.webhook_target), then every address its name resolves to."""

    def __init__(self, allow_private: bool, resolver: Resolver = system_resolver) -> None:
        self.allow_private = allow_private
        self.resolver = resolver

    async def pinned(self, url: str) -> PinnedWebhook:
        """Raises WebhookTargetRefused for a target that is not permitted or does not resolve."""
        target = webhook_target(url, self.allow_private)
        if target.address is not None:
            addresses = [str(target.address)]
        else:
            addresses = await self.resolver(target.host, target.port)
        check_resolved(target, addresses, self.allow_private)
        original = httpx.URL(url)
        chosen = ipaddress.ip_address(addresses[0].split("%", 1)[0])
        literal_v6 = target.address is not None and target.address.version == 6
        host_header = f"[{target.host}]" if literal_v6 else target.host
        if original.port is not None:  # httpx leaves the scheme's default port out
            host_header = f"{host_header}:{target.port}"
        return PinnedWebhook(
            url=str(original.copy_with(host=str(chosen))),
            host_header=host_header,
            sni_hostname=target.host if target.scheme == "https" and target.address is None else None,
        )


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
        except ValueError:
            # aiosmtplib refuses a malformed address before sending; its text holds the address.
            raise DeliveryFailed("alamat e-mail tidak valid", permanent=True) from None
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
    `webhook-id` (receivers deduplicate on it) and is signed with a fresh timestamp.

    Each send resolves and checks the target again and connects to the checked address. No
    connection is kept open between sends: a kept connection is found by address, and two agencies
    behind one address must not share a TLS session made for one of them. Environment proxies
    are ignored, since a proxy would connect wherever it resolves."""

    def __init__(
        self, targets: WebhookTargets, timeout: float = 5.0, verify: ssl.SSLContext | bool = True
    ) -> None:
        """`verify`: the certificates trusted; the system's by default (a test's own CA otherwise)."""
        self.targets = targets
        self._client = httpx.AsyncClient(
            verify=verify,
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def send(self, url: str, secret: str, webhook_id: str, body: bytes) -> None:
        try:
            pinned = await self.targets.pinned(url)
        except WebhookHostUnknown:
            raise DeliveryFailed(f"webhook tidak terjangkau: {CANNOT_CONNECT}") from None
        except WebhookTargetRefused:
            # It resolves somewhere it may not go (now): nothing was sent, and trying again
            # would only probe the same place.
            raise DeliveryFailed(f"webhook tidak dikirim: {TARGET_REFUSED}", permanent=True) from None
        headers = sign_webhook(secret, webhook_id, dt.datetime.now(dt.UTC), body)
        # A structured-mode CloudEvent (CloudEvents HTTP binding): its own media type.
        headers["content-type"] = "application/cloudevents+json"
        headers["host"] = pinned.host_header
        extensions = {"sni_hostname": pinned.sni_hostname} if pinned.sni_hostname else None
        try:
            response = await self._client.post(
                pinned.url, content=body, headers=headers, extensions=extensions
            )
        except httpx.HTTPError:
            # One text for every failure: the log must not tell a closed port from a filtered one.
            raise DeliveryFailed(f"webhook tidak terjangkau: {CANNOT_CONNECT}") from None
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
