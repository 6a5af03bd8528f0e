"""A real service process, served as in production (kit.launch, uvicorn): its log holds no client
address and no raw path, and an upload over its limit is answered 413 while the client is still
sending it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx

from tests.processes import ServiceRunner

CLIENT_ADDRESS = "203.0.113.77"
CODE_LIKE = "NTR-7Q2K-9XW4-SECRET"
IMPORT_LIMIT = 1_000_000


async def test_the_log_holds_neither_the_client_address_nor_the_raw_path(
    service_runner: ServiceRunner, mint: Callable[..., str]
) -> None:
    registry = service_runner.start("services.registry")
    headers = {"Authorization": f"Bearer {mint('bkpsdm')}", "X-Forwarded-For": CLIENT_ADDRESS}
    async with httpx.AsyncClient(base_url=registry.url, timeout=30) as client:
        # uvicorn trusts X-Forwarded-For from loopback by default: this is the client's address.
        missing = await client.get(f"/v1/employees/{CODE_LIKE}?q={CODE_LIKE}", headers=headers)
        assert missing.status_code == 404, missing.text
        unrouted = await client.get(f"/v1/reports/track/{CODE_LIKE}", headers=headers)
        assert unrouted.status_code == 404
    service_runner.stop_all()
    log = registry.log.read_text()
    assert CLIENT_ADDRESS not in log
    assert CODE_LIKE not in log
    assert "127.0.0.1:" not in log  # no client address:port, the proxy's neither
    requests = [
        line
        for line in map(json.loads, filter(None, log.splitlines()))
        if line.get("logger") == "netral.access"
    ]
    assert {(line["method"], line["route"], line["status"]) for line in requests} >= {
        ("GET", "/v1/employees/{employee_id}", 404),
        ("GET", "(tanpa rute)", 404),
    }
    assert all(
        set(line) <= {"time", "level", "logger", "message", "service", "method", "route", "status", "ms"}
        for line in requests
    )


async def test_an_upload_over_the_limit_is_refused_while_it_is_being_sent(
    service_runner: ServiceRunner, mint: Callable[..., str]
) -> None:
    """A raw HTTP/1.1 client, because httpx reads the answer only once it has sent everything.
    It sends twice the limit, then holds the rest back until the answer comes: a service that
    waited for the whole body would never answer (the wait times out), one that counts while
    reading answers 413 with most of the upload never sent. The outcome does not depend on how
    fast loopback drains, which a free-running sender did (it could finish before the reader ran)."""
    registry = service_runner.start("services.registry", MAX_IMPORT_BYTES=str(IMPORT_LIMIT))
    total = 64 * IMPORT_LIMIT
    held_back_from = 2 * IMPORT_LIMIT
    row = b"199001012020011001,Pegawai Contoh,PNS,Analis,STAFF,32.01.001,,,\n" * 1000
    host, port = registry.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    answered = asyncio.Event()
    sent = 0

    async def send_upload() -> None:
        nonlocal sent
        writer.write(
            b"POST /v1/imports HTTP/1.1\r\n"
            + f"Host: {host}\r\nAuthorization: Bearer {mint('bkpsdm')}\r\n".encode()
            + b"Content-Type: multipart/form-data; boundary=netral\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        part = b'--netral\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        for chunk in (part, *(row for _ in range(total // len(row)))):
            if sent >= held_back_from:
                await answered.wait()
                return
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            sent += len(chunk)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    sending = asyncio.create_task(send_upload())
    try:
        status_line = await asyncio.wait_for(reader.readline(), 60)
        sent_when_answered = sent
        answered.set()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = int(
            next(
                line.split(b":")[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
        )
        body = json.loads(await asyncio.wait_for(reader.readexactly(length), 10))
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        writer.close()
    assert status_line.startswith(b"HTTP/1.1 413"), status_line
    assert body == {"detail": f"isi permintaan terlalu besar (maksimal {IMPORT_LIMIT} bita)"}
    # Answered once past the limit, with 62 of the 64 MB never sent: the service never waited for it.
    assert IMPORT_LIMIT <= sent_when_answered <= held_back_from + len(row), (sent_when_answered, total)
