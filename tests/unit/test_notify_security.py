"""Notify's holes of issue 12 without engines: the error texts the log keeps, the webhook target
classifier (services/notify/domain.py) and its resolver-backed check at subscribing and at every
send (services/notify/channels.py), owners of subscriptions, the replay window and its limit
(services/notify/usecases.py), and separate keys for separate purposes (services/notify/main.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry

from contracts.roles import Role
from netral.engines import free_port
from services.kit.clock import FixedClock
from services.kit.devkeys import KeyNotConfigured
from services.kit.errors import Forbidden, InvalidInput
from services.kit.identity import Principal
from services.kit.sealedbox import ContactOpener, ContactSealer, generate_private_key
from services.kit.sealing import Sealer, Unsealable
from services.notify.channels import DeliveryFailed, Outgoing, SmtpChannel, WebhookChannel, WebhookTargets
from services.notify.dispatcher import Dispatcher, DispatchMetrics
from services.notify.domain import (
    CANNOT_CONNECT,
    HTTPS_REQUIRED,
    QuietHours,
    ReplayLimited,
    WebhookTargetRefused,
    address_refusal,
    check_resolved,
    may_manage_subscription,
    scrub_contacts,
    webhook_target,
)
from services.notify.main import build_app
from services.notify.messages import Templates
from services.notify.ratelimits import ReplayLimit
from services.notify.settings import NotifySettings
from services.notify.usecases import NotifyUseCases
from tests.integration.notify_setup import public_received, serving
from tests.unit.test_notify_dispatcher import FakeQueue, FakeWebhooks
from tests.unit.test_notify_usecases import SESSION, FakeStore

NOW = dt.datetime(2029, 1, 15, 3, 0, tzinfo=dt.UTC)
PLATFORM = Principal("bkpsdm-platform", Role.BKPSDM, None, None)
JABAR = Principal("bkpsdm-jabar-1", Role.BKPSDM, "32", None)
JABAR_COLLEAGUE = Principal("bkpsdm-jabar-2", Role.BKPSDM, "32", None)
JATENG = Principal("bkpsdm-jateng", Role.BKPSDM, "33", None)
TYPES = ["public.report.received.v1"]


# ---------------------------------------------------------------- 2: what the delivery log keeps


def test_addresses_and_numbers_are_scrubbed_from_error_texts() -> None:
    refused = (
        "alamat ditolak server SMTP: {'rina.w@example.org': (550, '5.1.1 <rina.w@example.org>: "
        "Recipient address rejected; call +62 812-3456-7890 or 081234567890, NIK 3201010101010001')}"
    )
    text = scrub_contacts(refused)
    assert text is not None
    for secret in ("rina", "example.org", "812", "3456", "081234567890", "3201010101010001"):
        assert secret not in text, secret
    assert text.startswith("alamat ditolak server SMTP") and "550" in text and "5.1.1" in text
    # A server that echoes only the local part: the contact notify opened is removed as well.
    assert scrub_contacts("550 user rina.w unknown", ["rina.w@example.org"]) == (
        "550 user [alamat disamarkan] unknown"
    )
    for kept in ("webhook menjawab 503", "SMTP gagal: TimeoutError: ", CANNOT_CONNECT):
        assert scrub_contacts(kept) == kept
    assert scrub_contacts(None) is None


class EchoingEmail:
    """An SMTP server that refuses the reporter with their address echoed, as many do."""

    def __init__(self) -> None:
        self.tried: list[str] = []

    async def send(self, outgoing: Outgoing) -> None:
        self.tried.append(outgoing.to)
        to, local = outgoing.to, outgoing.to.split("@")[0]
        reply = f"(550, '5.1.1 <{to}> ({local}) unknown')"
        raise DeliveryFailed(f"alamat ditolak server SMTP: {{'{to}': {reply}}}", permanent=True)

    async def close(self) -> None:
        return None


async def test_a_refusal_echoing_the_reporter_s_address_is_recorded_without_it() -> None:
    opener = ContactOpener(generate_private_key(), "kontak pelapor")
    doc = {
        "_id": "r",
        "channel": "email",
        "recipient": "sealed:r-1",
        "subject": "S",
        "body": "B",
        "attempts": 0,
    }
    queue = FakeQueue([doc])
    queue.contacts["r-1"] = (
        ContactSealer(opener.public_key()).seal({"contact": "rina.w@example.org"}).decode()
    )
    email = EchoingEmail()
    dispatcher = Dispatcher(
        queue,
        cast(SmtpChannel, email),
        cast(WebhookChannel, FakeWebhooks()),
        FixedClock(NOW),
        DispatchMetrics(CollectorRegistry()),
        opener,
        Sealer([Fernet.generate_key()], "secret langganan"),
    )
    await dispatcher.step()
    async with asyncio.timeout(5):
        await queue.recorded.wait()
    assert email.tried == ["rina.w@example.org"]
    _key, status, _next, error = queue.outcomes["r"]
    assert status == "dead" and error is not None and "ditolak" in error
    assert "rina" not in error and "example.org" not in error


# ---------------------------------------------------------------- 8: the target classifier

ALWAYS_REFUSED = (
    "http://169.254.169.254/latest/meta-data/",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://[fe80::1]/hook",
    "https://100.100.100.200/latest/meta-data/",
    "https://notify.netral.svc.cluster.local/v1/deliveries",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://0x7f000001/hook",
    "https://2130706433/hook",
    "https://127.1/hook",
    "https://0177.0.0.1/hook",
    "https://0.0.0.0/hook",
    "https://[::]/hook",
    "https://224.0.0.1/hook",
    "https://user:pass@hooks.example.go.id/hook",
    "ftp://hooks.example.go.id/hook",
    "https:///hook",
)
PRIVATE = (
    "https://127.0.0.1:8001/v1/reports",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://10.0.0.5/hook",
    "https://192.168.1.10/hook",
    "https://172.16.0.1/hook",
    "https://[fd12:3456::1]/hook",
    "https://localhost:8443/hook",
)


@pytest.mark.parametrize("url", ALWAYS_REFUSED)
def test_metadata_link_local_internal_names_and_disguised_addresses_are_refused_always(url: str) -> None:
    for allow_private in (False, True):
        with pytest.raises(WebhookTargetRefused):
            webhook_target(url, allow_private)


@pytest.mark.parametrize("url", PRIVATE)
def test_loopback_and_private_targets_only_where_allowed(url: str) -> None:
    with pytest.raises(WebhookTargetRefused, match="privat atau loopback"):
        webhook_target(url, allow_private=False)
    assert webhook_target(url, allow_private=True).scheme == "https"


def test_plain_http_only_to_private_targets_in_development() -> None:
    with pytest.raises(WebhookTargetRefused) as refused:
        webhook_target("http://hooks.example.go.id/hook", allow_private=False)
    assert refused.value.errors == [{"field": "url", "message": HTTPS_REQUIRED}]
    local = webhook_target("http://127.0.0.1:8001/hook", allow_private=True)
    assert (local.host, local.port) == ("127.0.0.1", 8001)
    # Over http in development, still to a private address only: a public one must use https.
    named = webhook_target("http://hooks.example.go.id/hook", allow_private=True)
    with pytest.raises(WebhookTargetRefused, match="https"):
        check_resolved(named, ["93.184.215.14"], allow_private=True)
    check_resolved(named, ["10.1.2.3"], allow_private=True)


def test_a_public_name_and_address_pass() -> None:
    target = webhook_target("https://Hooks.Bawaslu.example.go.id./netral?x=1", allow_private=False)
    assert (target.host, target.port, target.address) == ("hooks.bawaslu.example.go.id", 443, None)
    check_resolved(target, ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"], allow_private=False)
    assert address_refusal("93.184.215.14", allow_private=False) is None


def test_every_resolved_address_must_be_permitted() -> None:
    target = webhook_target("https://hooks.example.go.id/hook", allow_private=False)
    for addresses in (["93.184.215.14", "10.0.0.5"], ["169.254.169.254"], ["::ffff:10.0.0.1"], []):
        with pytest.raises(WebhookTargetRefused):
            check_resolved(target, addresses, allow_private=False)
    with pytest.raises(WebhookTargetRefused, match="metadata"):
        check_resolved(target, ["169.254.169.254"], allow_private=True)


# ---------------------------------------------------------------- 8: resolving, at subscribing and sending


class Dns:
    """A resolver the test controls, counting its lookups."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return list(self.answers.get(host, []))


def _usecases(
    store: FakeStore, dns: Dns, allow_private: bool = False, replays: str = "5/hour", now: dt.datetime = NOW
) -> NotifyUseCases:
    return NotifyUseCases(
        store,
        FixedClock(now),
        Templates(),
        Sealer([Fernet.generate_key()], "secret langganan"),
        QuietHours("Asia/Jakarta", dt.time(21, 0), dt.time(6, 0)),
        WebhookTargets(allow_private, dns),
        ReplayLimit(replays),
    )


async def test_subscribing_resolves_the_name_and_refuses_internal_targets() -> None:
    store = FakeStore()
    dns = Dns(
        {
            "hooks.bawaslu.example.go.id": ["93.184.215.14"],
            "rebind.example.com": ["127.0.0.1"],
            "mixed.example.com": ["93.184.215.14", "10.0.0.7"],
        }
    )
    usecases = _usecases(store, dns)
    for url in (
        "https://rebind.example.com/hook",
        "https://mixed.example.com/hook",
        "https://unknown.example.com/hook",
        "http://127.0.0.1:8001/v1/reports",
        "http://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://0x7f000001/hook",
        "https://notify.netral.svc.cluster.local/hook",
    ):
        with pytest.raises(InvalidInput) as refused:
            await usecases.subscribe(PLATFORM, "bawaslu", TYPES, url)
        assert refused.value.errors[0]["field"] == "url", url
    assert store.subscriptions == {}
    doc, _secret = await usecases.subscribe(
        PLATFORM, "bawaslu", TYPES, "https://hooks.bawaslu.example.go.id/h"
    )
    assert doc["url"] == "https://hooks.bawaslu.example.go.id/h"
    assert "hooks.bawaslu.example.go.id" in dns.lookups


async def test_a_name_that_resolves_privately_at_send_time_gets_nothing() -> None:
    # Public when the subscription was made; the agency's DNS then points it at the cluster.
    dns = Dns({"hooks.example.go.id": ["10.0.0.5"], "gone.example.go.id": []})
    channel = WebhookChannel(WebhookTargets(allow_private=False, resolver=dns), timeout=1)
    with pytest.raises(DeliveryFailed) as refused:
        await channel.send("https://hooks.example.go.id/hook", "whsec_" + "A" * 32, "evt-1", b"{}")
    assert refused.value.permanent and "tidak diizinkan" in str(refused.value)
    assert "10.0.0.5" not in str(refused.value)
    # A name that resolves to nothing (for now) is a passing fault: retried, with the one text.
    with pytest.raises(DeliveryFailed) as unknown:
        await channel.send("https://gone.example.go.id/hook", "whsec_" + "A" * 32, "evt-2", b"{}")
    assert not unknown.value.permanent and CANNOT_CONNECT in str(unknown.value)
    await channel.close()


async def test_a_send_connects_to_the_address_it_checked_with_the_original_host() -> None:
    seen: list[dict[str, Any]] = []
    receiver = FastAPI()

    @receiver.post("/hook")
    async def hook(request: Request) -> Response:
        seen.append({"host": request.headers["host"], "client": request.client})
        return Response(status_code=204)

    port = free_port()
    dns = Dns({"hooks.agency.test": ["127.0.0.1"]})
    channel = WebhookChannel(WebhookTargets(allow_private=True, resolver=dns), timeout=5)
    async with serving(receiver, port):
        await channel.send(f"http://hooks.agency.test:{port}/hook", "whsec_" + "A" * 32, "evt-1", b"{}")
        # The name is looked up again at each send: a changed answer is checked again.
        dns.answers["hooks.agency.test"] = ["169.254.169.254"]
        with pytest.raises(DeliveryFailed) as refused:
            await channel.send(f"http://hooks.agency.test:{port}/hook", "whsec_" + "A" * 32, "evt-2", b"{}")
    await channel.close()
    assert refused.value.permanent
    assert [item["host"] for item in seen] == [f"hooks.agency.test:{port}"]
    assert dns.lookups == ["hooks.agency.test", "hooks.agency.test"]


def _certificate(directory: Path, name: str) -> tuple[str, str]:
    """A self-signed certificate for `name` (the test's CA is the certificate itself)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file)


async def test_over_https_the_pinned_address_is_verified_against_the_name(tmp_path: Path) -> None:
    seen: list[str] = []
    receiver = FastAPI()

    @receiver.post("/hook")
    async def hook(request: Request) -> Response:
        seen.append(request.headers["host"])
        return Response(status_code=204)

    certificate = _certificate(tmp_path, "hooks.agency.test")
    trusted = ssl.create_default_context(cafile=certificate[0])
    port = free_port()
    dns = Dns({"hooks.agency.test": ["127.0.0.1"], "impostor.agency.test": ["127.0.0.1"]})
    channel = WebhookChannel(WebhookTargets(allow_private=True, resolver=dns), timeout=5, verify=trusted)
    async with serving(receiver, port, certificate):
        await channel.send(f"https://hooks.agency.test:{port}/hook", "whsec_" + "A" * 32, "evt-1", b"{}")
        # The same address under another name: its certificate does not match, nothing is sent.
        with pytest.raises(DeliveryFailed, match=CANNOT_CONNECT):
            await channel.send(f"https://impostor.agency.test:{port}/hook", "whsec_" + "A" * 32, "e-2", b"{}")
    await channel.close()
    assert seen == [f"hooks.agency.test:{port}"]


async def test_connection_errors_read_the_same_whatever_the_port() -> None:
    channel = WebhookChannel(WebhookTargets(allow_private=True), timeout=1)
    texts = set()
    for port in (free_port(), 1):
        with pytest.raises(DeliveryFailed) as failed:
            await channel.send(f"http://127.0.0.1:{port}/hook", "whsec_" + "A" * 32, "evt", b"{}")
        texts.add(str(failed.value))
    await channel.close()
    assert texts == {f"webhook tidak terjangkau: {CANNOT_CONNECT}"}


# ---------------------------------------------------------------- 8: owners, replay window, limit


async def test_a_subscription_is_managed_by_its_owner_s_unit_or_the_platform_only() -> None:
    store = FakeStore()
    usecases = _usecases(store, Dns({"b.example.go.id": ["93.184.215.14"]}))
    doc, _secret = await usecases.subscribe(JABAR, "bawaslu-jabar", TYPES, "https://b.example.go.id/h")
    assert store.subscriptions[doc["_id"]]["owner"] == {
        "subject": "bkpsdm-jabar-1",
        "role": "bkpsdm",
        "org_unit": "32",
    }
    for call in (usecases.unsubscribe(JATENG, doc["_id"]), usecases.replay(JATENG, doc["_id"], NOW)):
        with pytest.raises(Forbidden, match="unit lain"):
            await call
    assert await usecases.subscriptions(JATENG) == []
    assert [sub["_id"] for sub in await usecases.subscriptions(JABAR_COLLEAGUE)] == [doc["_id"]]
    assert await usecases.replay(JABAR_COLLEAGUE, doc["_id"], NOW) == 0
    agency = Principal("bawaslu-jabar", Role.AGENCY, None, None)
    with pytest.raises(Forbidden):
        await usecases.unsubscribe(agency, doc["_id"])
    await usecases.unsubscribe(PLATFORM, doc["_id"])
    assert store.subscriptions == {}
    # One made before owners were kept is the platform's.
    legacy = {"_id": "old", "agency": "bkn", "event_types": TYPES, "url": "https://b.example.go.id/h"}
    assert may_manage_subscription(PLATFORM, legacy) and not may_manage_subscription(JABAR, legacy)


async def test_a_replay_covers_only_what_was_kept_since_the_subscription_and_is_limited() -> None:
    store = FakeStore()
    dns = Dns({"b.example.go.id": ["93.184.215.14"]})
    before = _usecases(store, dns, replays="2/hour", now=NOW - dt.timedelta(days=30))
    old_sub, _secret = await before.subscribe(PLATFORM, "bawaslu", TYPES, "https://b.example.go.id/h")
    for i in range(3):
        await before.plan_public(SESSION, public_received(f"old-{i}"))
    usecases = _usecases(store, dns, replays="2/hour")
    new_sub, _secret = await usecases.subscribe(PLATFORM, "bkn", TYPES, "https://b.example.go.id/h")
    await usecases.plan_public(SESSION, public_received("new-0"))
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    assert await usecases.replay(PLATFORM, new_sub["_id"], since) == 1
    assert await usecases.replay(PLATFORM, old_sub["_id"], since) == 4
    assert await usecases.replay(PLATFORM, new_sub["_id"], since) == 1
    with pytest.raises(ReplayLimited) as limited:
        await usecases.replay(PLATFORM, new_sub["_id"], since)
    assert 3500 < limited.value.retry_after <= 3600 and "coba lagi" in limited.value.message
    # Counted per subscription.
    assert await usecases.replay(PLATFORM, old_sub["_id"], since) == 4


# ---------------------------------------------------------------- 10: a key of its own for each purpose


def _production(**keys: Any) -> NotifySettings:
    return NotifySettings(
        dev_mode=False,
        auth_jwks_url="https://idp.example.go.id/jwks",
        # The pages' session key and sign-in client, which production requires like the other keys.
        web_session_key="kunci-sesi-uji-" + "x" * 32,
        oidc_issuer="https://idp.example.go.id",
        oidc_client_id="netral-web",
        oidc_client_secret="rahasia-klien-uji",
        **keys,
    )


def test_webhook_secrets_have_their_own_key_and_contacts_notify_s_private_key() -> None:
    webhook_key, contact_key = Fernet.generate_key(), generate_private_key()
    app = build_app(
        _production(webhook_secret_keys=webhook_key.decode(), notify_contact_private_key=contact_key.decode())
    )
    usecases: NotifyUseCases = app.state.notify_usecases
    sealed = usecases.secrets.seal({"secret": "whsec_x"})
    assert Sealer([webhook_key], "secret langganan").open(sealed) == {"secret": "whsec_x"}
    # What reports can do with notify's public key: seal a contact, never open a secret.
    opener = ContactOpener(contact_key, "kontak pelapor")
    with pytest.raises(Unsealable):
        opener.open(sealed)
    dispatcher: Dispatcher = app.state.dispatcher
    contact = ContactSealer(opener.public_key()).seal({"contact": "rina@example.org"})
    assert dispatcher.contacts.open(contact) == {"contact": "rina@example.org"}


@pytest.mark.parametrize(
    ("missing", "keys"),
    [
        ("WEBHOOK_SECRET_KEYS", {"notify_contact_private_key": generate_private_key().decode()}),
        ("NOTIFY_CONTACT_PRIVATE_KEY", {"webhook_secret_keys": Fernet.generate_key().decode()}),
    ],
)
def test_production_refuses_to_start_without_each_key(missing: str, keys: dict[str, str]) -> None:
    with pytest.raises(KeyNotConfigured, match=missing):
        build_app(_production(**keys))


def test_private_targets_follow_development_unless_set() -> None:
    assert NotifySettings(dev_mode=True).webhooks_to_private_targets
    assert not NotifySettings(dev_mode=False).webhooks_to_private_targets
    assert not NotifySettings(dev_mode=True, webhook_allow_private_targets=False).webhooks_to_private_targets
