"""Notification rules: which event reaches whom over which channel with which template, the
delivery plan (when, to whom, under which idempotency key), quiet hours, retry backoff, the
reporter's confidentiality in the log, and Standard Webhooks signatures for agencies.
Pure, no I/O and no clock: `now` comes in as an argument; the template files are read and rendered
by `services/notify/messages.py`.

Everything a person reads (subjects, bodies, labels, dates) is in Bahasa Indonesia.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import math
import random
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from contracts.catalog import EVENT_TYPES
from contracts.envelope import CloudEvent
from contracts.roles import Role
from contracts.topics import CATALOG
from services.kit.errors import InvalidInput, NotFound
from services.kit.identity import Principal
from services.kit.indonesian_dates import long_date

__all__ = [
    "CANCELLED_BY",
    "CANNOT_CONNECT",
    "DECIDER_TITLES",
    "HTTPS_REQUIRED",
    "PLATFORM_CONTACT_ONLY",
    "PLATFORM_WIDE_ROLES",
    "PUBLIC_EVENT_TYPES",
    "RULES",
    "SEALED_RECIPIENT",
    "Audience",
    "Channel",
    "DeciderScope",
    "Message",
    "QuietHours",
    "Recipient",
    "ReplayLimited",
    "Rule",
    "SubscriptionNotFound",
    "WebhookHostUnknown",
    "WebhookTarget",
    "WebhookTargetRefused",
    "WebhookVerificationError",
    "address_refusal",
    "applies",
    "case_id_of",
    "check_resolved",
    "contact_units",
    "contacts_moving",
    "deadline_warnings",
    "decided_subjects",
    "decider_recipients",
    "decider_scopes",
    "employee_recipients",
    "idempotency_key",
    "may_manage_subscription",
    "merged_recipients",
    "new_webhook_secret",
    "not_public",
    "quiet_until",
    "reporter_recipients",
    "retry_delay",
    "role_contact",
    "role_recipients",
    "rule_delivery",
    "rules_for",
    "scheduled_at",
    "scrub_contacts",
    "sealed_report_id",
    "send_not_before",
    "shown_recipient",
    "sign_webhook",
    "stale_warnings",
    "still_due",
    "structured_event",
    "subjects_concerned",
    "subscription_owner",
    "superseded_warnings",
    "template_extra",
    "unit_lineage",
    "verify_webhook",
    "webhook_delivery",
    "webhook_target",
]

Channel = Literal["email", "sms", "webhook"]

DEFAULT_TIMEZONE = "Asia/Jakarta"

# ---------------------------------------------------------------- rules


class Audience(StrEnum):
    EMPLOYEE = "employee"
    OPD_ADMIN = "opd_admin"
    BKPSDM = "bkpsdm"
    PPK = "ppk"
    REPORTER = "reporter"
    DECIDER = "decider"
    """Whoever decides each subject of the case (`decider_role` in the case snapshot): the PPK, the
    head of the OPD for non-ASN staff, the Governor or the Minister of Home Affairs for a Sekda."""


@dataclass(frozen=True)
class Rule:
    name: str  # unique; part of the idempotency key, so never rename a rule that is live
    event_type: str  # the CloudEvents type it reacts to
    audience: Audience
    channel: Channel
    template: str  # base name of templates/<template>.j2
    reminder: bool = False  # reminders wait out quiet hours; case notices go at once
    # Sent this long before the deadline `deadline_key` in case.deadlines instead of on receipt, and only
    # while the case is still in one of `open_states` (a decided case needs no warning).
    delay_before_deadline: dt.timedelta | None = None
    deadline_key: str | None = None
    open_states: frozenset[str] = frozenset()
    condition: Callable[[Mapping[str, Any]], bool] | None = None
    # For a reporter notice: only the reporters of the reports listed under this key of the event
    # data, instead of every reporter of the case (a merge tells those whose reports moved).
    reports_key: str | None = None

    def __post_init__(self) -> None:
        if self.delay_before_deadline is not None and not self.deadline_key:
            raise ValueError(f"aturan {self.name}: penundaan sebelum tenggat memerlukan deadline_key")


def _new_case_only(data: Mapping[str, Any]) -> bool:
    # A report linked into an existing case adds a channel to a case BKPSDM already knows about.
    return not bool(data.get("linked", False))


MERGED_STATE = "merged"


def _not_merged(data: Mapping[str, Any]) -> bool:
    # A case that ends by joining another is told by the merge notice (laporan_digabung), which
    # says where the report went; a "closed" notice on top would read as if the case had ended.
    return data.get("to_state") != MERGED_STATE


def _decision_deadline(data: Mapping[str, Any]) -> bool:
    return data.get("deadline") == "decision"


_REPORTER_EVENTS: tuple[str, ...] = (
    "report.verified.v1",
    "report.rejected.v1",
    "report.recommendation_issued.v1",
    "report.sanction_imposed.v1",
    "report.appeal_filed.v1",
    "report.closed.v1",
    "report.status_changed.v1",
)

# States in which the PPK's 14 working days still run (the reports service's DEADLINE_OPEN_IN for the
# decision deadline); kept here as strings because notify only reads the published events.
DECISION_OPEN_STATES: frozenset[str] = frozenset({"recommended", "examined"})


def _event_short_name(event_type: str) -> str:
    return event_type.split(".")[1]


# The one readable place for all rules: who hears about what.
RULES: tuple[Rule, ...] = (
    Rule(
        "pengingat_tanda_tangan",
        "pledge.reminder_due.v1",
        Audience.EMPLOYEE,
        "email",
        "pengingat_tanda_tangan",
        reminder=True,
    ),
    Rule(
        "terlambat_tanda_tangan_pegawai",
        "pledge.overdue.v1",
        Audience.EMPLOYEE,
        "email",
        "terlambat_tanda_tangan_pegawai",
    ),
    Rule(
        "terlambat_tanda_tangan_opd",
        "pledge.overdue.v1",
        Audience.OPD_ADMIN,
        "email",
        "terlambat_tanda_tangan_opd",
    ),
    Rule(
        "laporan_baru",
        "report.received.v1",
        Audience.BKPSDM,
        "email",
        "laporan_baru",
        condition=_new_case_only,
    ),
    *(
        Rule(
            f"perkembangan_laporan_{_event_short_name(event_type)}",
            event_type,
            Audience.REPORTER,
            "email",
            "perkembangan_laporan",
            condition=_not_merged if event_type == "report.closed.v1" else None,
        )
        for event_type in _REPORTER_EVENTS
    ),
    # Every status change carries a reason the reporter can see (SKB 2022); an extension is one
    # (issue 13 item 12), told with the new due date.
    Rule(
        "perkembangan_laporan_deadline_extended",
        "report.deadline_extended.v1",
        Audience.REPORTER,
        "email",
        "perpanjangan_tenggat",
    ),
    # A merge moves the reports of one case into another: their reporters follow the case they
    # joined from now on (usecases.plan moves their contacts), and are told so once.
    Rule(
        "laporan_digabung",
        "report.cases_merged.v1",
        Audience.REPORTER,
        "email",
        "laporan_digabung",
        reports_key="report_ids",
    ),
    # The decider of each subject learns at once that the 14 working days started ... Who that is
    # (the PPK, the OPD head for non-ASN staff, the Governor or the Minister for a Sekda) is the
    # reports service's to say (`decider_role`; the legal basis is at reports' catalogue.decider_for).
    # The rule names keep "ppk": they are part of the idempotency key of deliveries already planned.
    Rule(
        "rekomendasi_ppk",
        "report.recommendation_issued.v1",
        Audience.DECIDER,
        "email",
        "rekomendasi_ppk",
    ),
    # ... and is warned 3 days before they run out, unless the case was decided first. A reminder, so
    # a warning falling due at night waits until morning.
    Rule(
        "peringatan_tenggat_ppk",
        "report.recommendation_issued.v1",
        Audience.DECIDER,
        "email",
        "peringatan_tenggat_ppk",
        reminder=True,
        delay_before_deadline=dt.timedelta(days=3),
        deadline_key="decision",
        open_states=DECISION_OPEN_STATES,
    ),
    # An extended decision deadline moves the warning with it: the pending one is cancelled
    # (superseded_warnings) and this one is planned against the new due date.
    Rule(
        "peringatan_tenggat_ppk_diperpanjang",
        "report.deadline_extended.v1",
        Audience.DECIDER,
        "email",
        "peringatan_tenggat_ppk",
        reminder=True,
        delay_before_deadline=dt.timedelta(days=3),
        deadline_key="decision",
        open_states=DECISION_OPEN_STATES,
        condition=_decision_deadline,
    ),
    Rule("eskalasi_ppk", "report.escalated.v1", Audience.DECIDER, "email", "eskalasi_ppk"),
    Rule("eskalasi_bkpsdm", "report.escalated.v1", Audience.BKPSDM, "email", "eskalasi_bkpsdm"),
    # A late decision lifts the data block (issue 13 item 6): told to those who were told of it.
    Rule(
        "pencabutan_blokir_pemutus",
        "report.escalation_lifted.v1",
        Audience.DECIDER,
        "email",
        "pencabutan_blokir",
    ),
    Rule(
        "pencabutan_blokir_bkpsdm",
        "report.escalation_lifted.v1",
        Audience.BKPSDM,
        "email",
        "pencabutan_blokir",
    ),
    Rule(
        "tenggat_terlewati",
        "report.deadline_breached.v1",
        Audience.BKPSDM,
        "email",
        "tenggat_terlewati",
    ),
)


def _check_unique_names(rules: Sequence[Rule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise ValueError(f"nama aturan ganda: {rule.name}")
        seen.add(rule.name)


_check_unique_names(RULES)

RULE_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}


def rules_for(event_type: str) -> list[Rule]:
    return [rule for rule in RULES if rule.event_type == event_type]


def applies(rule: Rule, data: Mapping[str, Any]) -> bool:
    return rule.condition is None or rule.condition(data)


def scheduled_at(rule: Rule, data: Mapping[str, Any]) -> dt.datetime | None:
    """When a deadline-bound rule should send (the deadline minus the delay), as an aware UTC instant;
    None for rules that send on receipt. A deadline-bound rule whose deadline is missing is an error."""
    if rule.delay_before_deadline is None or rule.deadline_key is None:
        return None
    deadlines = data["case"]["deadlines"]
    if rule.deadline_key not in deadlines:
        raise KeyError(f"aturan {rule.name}: tenggat '{rule.deadline_key}' tidak ada pada kasus")
    return as_utc(deadlines[rule.deadline_key]) - rule.delay_before_deadline


def still_due(rule: Rule, case_state: str) -> bool:
    """Whether a scheduled notice should still go, given the case's latest state."""
    return not rule.open_states or case_state in rule.open_states


# ---------------------------------------------------------------- labels (Bahasa Indonesia)

# Shown to reporters, so plain words rather than legal terms (same wording as the tracking page).
STATE_LABELS: dict[str, str] = {
    "received": "Laporan diterima",
    "verified": "Laporan diverifikasi satuan tugas netralitas",
    "recommended": "Rekomendasi telah dikirim ke Pejabat Pembina Kepegawaian (PPK)",
    "examined": "Pemeriksaan terhadap terlapor telah dilakukan",
    "decided": "Keputusan atas terlapor telah ditetapkan",
    "recorded": "Keputusan sanksi telah dicatat; keberatan atau banding dapat diajukan",
    "appealed": "Keberatan atau banding sedang diproses",
    "closed": "Kasus ditutup",
    "rejected": "Laporan ditolak",
    "cancelled": "Laporan dibatalkan",
    "not_proven": "Pelanggaran tidak terbukti",
    "subject_out_of_service": "Terlapor tidak lagi berstatus pegawai",
    "merged": "Laporan digabungkan ke kasus lain tentang terlapor dan kejadian yang sama",
}
UNKNOWN_STATE_LABEL = "Status laporan diperbarui"

CATEGORY_LABELS: dict[str, str] = {
    "alat_peraga_kampanye": "Memasang alat peraga kampanye",
    "kampanye_media_sosial": "Kampanye melalui media sosial",
    "interaksi_akun_kandidat": "Interaksi dengan akun calon atau tim kampanye",
    "foto_bersama_kandidat": "Berfoto bersama calon atau simbol keberpihakan",
    "hadir_deklarasi_kampanye": "Menghadiri deklarasi atau kampanye",
    "kampanye_pasangan_tanpa_cuti": "Mengikuti kampanye pasangan tanpa cuti",
    "anggota_pengurus_parpol": "Anggota atau pengurus partai politik",
    "mencalonkan_diri": "Mencalonkan diri tanpa mengundurkan diri",
    "kegiatan_keberpihakan": "Menyelenggarakan kegiatan keberpihakan",
    "tim_kampanye": "Anggota tim kampanye atau tim sukses",
    "mengumpulkan_ktp": "Mengumpulkan fotokopi KTP untuk calon",
    "keputusan_menguntungkan_merugikan": "Keputusan yang menguntungkan atau merugikan calon",
    "lainnya": "Pelanggaran netralitas lainnya",
}

CHANNEL_LABELS: dict[str, str] = {
    "public": "masyarakat",
    "bawaslu": "Bawaslu",
    "supervisor": "atasan langsung",
}

DEADLINE_LABELS: dict[str, str] = {
    "verification": "verifikasi oleh satuan tugas netralitas (7 hari)",
    "bawaslu_review": "kajian Bawaslu (3 hari kerja)",
    "decision": "keputusan atas terlapor (14 hari kerja sejak rekomendasi)",
}

ESCALATION_LABELS: dict[str, str] = {
    "peringatan": "Peringatan",
    "teguran": "Teguran",
    "blokir_data": "Pemblokiran data kepegawaian terlapor",
}


ZONE_ABBREVIATIONS: dict[str, str] = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


def _humanise(code: str) -> str:
    return code.replace("_", " ")


def label(labels: Mapping[str, str], code: object, fallback: str | None = None) -> str:
    # An unknown code (a newer producer) still reads as words rather than failing the notice.
    text = str(code)
    return labels.get(text, fallback if fallback is not None else _humanise(text))


# ---------------------------------------------------------------- dates


def as_utc(value: dt.datetime | str) -> dt.datetime:
    """An aware UTC datetime from a datetime or an ISO 8601 string (event data arrives as JSON).
    Naive values are taken as UTC, which is what the contracts serialise."""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _zone_suffix(zone: str) -> str:
    return ZONE_ABBREVIATIONS.get(zone, zone)


def format_date(value: dt.date | dt.datetime | str, timezone: str = DEFAULT_TIMEZONE) -> str:
    """ "29 April 2024"; a datetime is taken on its local day in `timezone`."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        value = as_utc(value).astimezone(ZoneInfo(timezone)).date()
    return long_date(value)


def format_datetime(value: dt.datetime | str, timezone: str = DEFAULT_TIMEZONE) -> str:
    """ "29 April 2024 pukul 23.59 WIB" (Indonesian style: a dot between hours and minutes)."""
    local = as_utc(value).astimezone(ZoneInfo(timezone))
    return f"{format_date(local.date())} pukul {local:%H.%M} {_zone_suffix(timezone)}"


def format_deadline(value: dt.datetime | str, timezone: str = DEFAULT_TIMEZONE) -> str:
    """Like format_datetime, but a deadline at local midnight is the end of the day before it: the
    reports service stores "through 29 April" as 30 April 00.00, and people read "29 April 23.59"."""
    local = as_utc(value).astimezone(ZoneInfo(timezone))
    if local.time() == dt.time(0, 0):
        local -= dt.timedelta(minutes=1)
    return f"{format_date(local.date())} pukul {local:%H.%M} {_zone_suffix(timezone)}"


def format_hours(hours: int) -> str:
    """ "48" hours reads better as "2 hari"."""
    if hours >= 24 and hours % 24 == 0:
        return f"{hours // 24} hari"
    return f"{hours} jam"


# ---------------------------------------------------------------- templates


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


# ---------------------------------------------------------------- quiet hours, retries, idempotency


def quiet_until(moment: dt.datetime, timezone: str, start: dt.time, end: dt.time) -> dt.datetime | None:
    """If `moment` falls in the local quiet window [start, end), the aware UTC instant the window ends;
    else None. The window may wrap midnight (21:00–06:00). start == end means no quiet hours."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("waktu harus memuat zona waktu")
    zone = ZoneInfo(timezone)
    local = moment.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    if start == end:
        return None
    if start < end:
        if not start <= now < end:
            return None
        end_day = local.date()
    elif now >= start:
        end_day = local.date() + dt.timedelta(days=1)
    elif now < end:
        end_day = local.date()
    else:
        return None
    return dt.datetime.combine(end_day, end, tzinfo=zone).astimezone(dt.UTC)


def retry_delay(attempt: int, base: dt.timedelta, cap: dt.timedelta, rng: random.Random) -> dt.timedelta:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**(attempt-1))). The jitter
    spreads the retries of a burst (a signing day) instead of hammering the SMTP relay in lockstep."""
    if attempt < 1:
        raise ValueError("percobaan dimulai dari 1")
    # The exponent is bounded so a very late attempt cannot overflow; the cap wins long before.
    ceiling = min(cap.total_seconds(), base.total_seconds() * 2.0 ** min(attempt - 1, 64))
    return dt.timedelta(seconds=rng.uniform(0.0, max(ceiling, 0.0)))


def idempotency_key(event_id: str, rule_name: str, recipient: str) -> str:
    """The same event, rule and recipient always give the same key, so a redelivered event is not sent
    twice. JSON framing keeps ("a.b", "c") and ("a", "b.c") apart."""
    framed = json.dumps([event_id, rule_name, recipient], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(framed.encode("utf-8")).hexdigest()[:32]


# ---------------------------------------------------------------- webhooks (Standard Webhooks)

WEBHOOK_SECRET_PREFIX = "whsec_"
WEBHOOK_SECRET_BYTES = 24


def new_webhook_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(WEBHOOK_SECRET_BYTES)).decode("ascii")


def sign_webhook(secret: str, message_id: str, timestamp: dt.datetime, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery. Retries of a delivery keep its id (the
    receiver's dedup key) but are signed with a fresh timestamp, since receivers reject old ones."""
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        raise ValueError("waktu harus memuat zona waktu")
    # The library replaces the tzinfo with UTC instead of converting, so hand it UTC already.
    utc = timestamp.astimezone(dt.UTC)
    signature = Webhook(secret).sign(message_id, utc, body.decode("utf-8"))
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(math.floor(utc.timestamp())),
        "webhook-signature": signature,
    }


def verify_webhook(secret: str, headers: Mapping[str, str], body: bytes) -> None:
    """Raises WebhookVerificationError on a missing, malformed, stale (beyond the library's 5 minutes)
    or wrong signature."""
    try:
        Webhook(secret).verify(body, dict(headers), json_parse=False)
    except WebhookVerificationError:
        raise
    except (ValueError, TypeError) as error:  # malformed headers or a body that is not UTF-8
        raise WebhookVerificationError(f"tanda tangan webhook tidak valid: {error}") from error


def structured_event(event: CloudEvent) -> bytes:
    """The CloudEvent in structured JSON mode, the body agencies receive."""
    envelope = {
        "specversion": "1.0",
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "subject": event.subject,
        "time": event.time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": event.data,
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


PUBLIC_EVENT_TYPES: tuple[str, ...] = tuple(
    sorted(
        name
        for name, model in EVENT_TYPES.items()
        if any(t.public and t.name == model.topic for t in CATALOG)
    )
)
"""What an agency may subscribe to: the event types of the public topics."""


def not_public(event_types: Iterable[str]) -> list[str]:
    """The event types an agency may not subscribe to (unknown or internal), sorted."""
    return sorted(set(event_types) - set(PUBLIC_EVENT_TYPES))


class SubscriptionNotFound(NotFound):
    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"langganan {subscription_id} tidak ditemukan")


# ---------------------------------------------------------------- agencies' webhook targets (SSRF)

HTTPS_REQUIRED = "alamat webhook harus memakai https://"
# Cloud metadata services answer on these; refused even where private targets are allowed. Most
# are link-local already (169.254.169.254); the others are listed because they are not.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, DigitalOcean
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6 (a unique-local address)
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud (shared address space)
        ipaddress.ip_address("192.0.0.192"),  # Oracle Cloud (IETF protocol assignments)
        ipaddress.ip_address("168.63.129.16"),  # Azure's wire server (a public address)
    }
)
# Names that only mean something inside a cluster or a site: never an agency's endpoint.
INTERNAL_NAME_SUFFIXES = ("cluster.local", "svc", "internal", "local", "localdomain", "home.arpa", "intranet")
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookTargetRefused(InvalidInput):
    """A webhook URL notify will not send to: answered 422 on the `url` field."""

    def __init__(self, message: str) -> None:
        super().__init__([{"field": "url", "message": message}])
        self.message = message


class WebhookHostUnknown(WebhookTargetRefused):
    """The name resolved to nothing: refused when subscribing, but at a send perhaps a passing
    fault of DNS, so retried there."""

    def __init__(self) -> None:
        super().__init__("nama host webhook tidak dapat ditemukan")


@dataclass(frozen=True)
class WebhookTarget:
    """Where a webhook URL points, as far as can be told without resolving it."""

    scheme: str
    host: str
    """The lower-case DNS name (IDNA), or the literal address without brackets."""
    port: int
    address: IpAddress | None
    """The literal address in the URL; None for a name, which must be resolved."""


def _embedded_ipv4(address: IpAddress) -> IpAddress:
    """The IPv4 address an IPv6 one stands for (mapped, NAT64, 6to4), judged as that: otherwise
    `::ffff:127.0.0.1` would be just another IPv6 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64_PREFIX:
            return ipaddress.IPv4Address(address.packed[-4:])
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def address_refusal(address: str | IpAddress, allow_private: bool) -> str | None:
    """Why notify will not connect to this address, or None. Link-local and metadata addresses are
    refused always; loopback and private ones unless `allow_private` (local development); anything
    else that is not a public address always."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    except ValueError:
        return "alamat tujuan webhook tidak valid"
    judged = _embedded_ipv4(ip)
    if ip in METADATA_ADDRESSES or judged in METADATA_ADDRESSES or judged.is_link_local:
        return "alamat link-local atau layanan metadata tidak diizinkan sebagai tujuan webhook"
    unusable = "alamat ini tidak dapat menjadi tujuan webhook"
    if judged.is_unspecified or judged.is_multicast or (judged.version == 4 and judged.packed[0] == 0):
        return unusable
    private = "alamat privat atau loopback tidak diizinkan sebagai tujuan webhook"
    # Loopback before reserved: ::1 lies in the reserved ::/8.
    if judged.is_loopback:
        return None if allow_private else private
    if judged.is_reserved:
        return unusable
    if judged.is_private:
        return None if allow_private else private
    if not judged.is_global:
        return "tujuan webhook harus alamat publik"
    return None


def _dns_name(host: str) -> str:
    try:
        name = host.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise WebhookTargetRefused("nama host webhook tidak valid") from None
    labels = name.split(".")
    if not name or not all(_DNS_LABEL.match(label) for label in labels):
        raise WebhookTargetRefused("nama host webhook tidak valid")
    # No top-level domain is numeric: "0x7f000001", "2130706433" or "127.1" are addresses in
    # disguise, which the system resolver would read as 127.0.0.1.
    if _NUMERIC_LABEL.match(labels[-1]):
        raise WebhookTargetRefused("alamat IP webhook harus ditulis dalam bentuk baku (mis. 203.0.113.7)")
    return name


def webhook_target(url: str, allow_private: bool) -> WebhookTarget:
    """The target of a webhook URL, refused (WebhookTargetRefused) when its form alone rules it
    out: not https (plain http only where private targets are allowed), credentials in it, an
    address in disguise, an internal name or a literal address that is not permitted."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise WebhookTargetRefused("alamat webhook tidak valid") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or (scheme == "http" and not allow_private):
        raise WebhookTargetRefused(HTTPS_REQUIRED)
    if parts.username is not None or parts.password is not None:
        raise WebhookTargetRefused("alamat webhook tidak boleh memuat nama pengguna atau kata sandi")
    if not parts.hostname:
        raise WebhookTargetRefused("alamat webhook tidak memuat nama host")
    port = port or (443 if scheme == "https" else 80)
    try:
        address: IpAddress | None = ipaddress.ip_address(parts.hostname)
    except ValueError:
        address = None
    if address is not None:
        refusal = address_refusal(address, allow_private)
        if refusal:
            raise WebhookTargetRefused(refusal)
        return WebhookTarget(scheme, str(address), port, address)
    name = _dns_name(parts.hostname)
    if name == "localhost" or name.endswith(".localhost"):
        if not allow_private:
            raise WebhookTargetRefused("alamat privat atau loopback tidak diizinkan sebagai tujuan webhook")
    elif any(name == suffix or name.endswith("." + suffix) for suffix in INTERNAL_NAME_SUFFIXES):
        raise WebhookTargetRefused("nama host internal tidak diizinkan sebagai tujuan webhook")
    return WebhookTarget(scheme, name, port, None)


def check_resolved(target: WebhookTarget, addresses: Sequence[str], allow_private: bool) -> None:
    """Every address the target's name resolves to must be permitted (a name with one private
    record among public ones is refused), and plain http goes to private targets only."""
    if not addresses:
        raise WebhookHostUnknown
    for address in addresses:
        refusal = address_refusal(address, allow_private)
        if refusal:
            raise WebhookTargetRefused(refusal)
    if target.scheme == "http" and any(address_refusal(a, allow_private=False) is None for a in addresses):
        raise WebhookTargetRefused(HTTPS_REQUIRED)


# ---------------------------------------------------------------- owners of subscriptions, replays

SUBSCRIPTION_OF_ANOTHER_UNIT = (
    "langganan ini didaftarkan oleh unit lain; hanya unit pemiliknya atau BKPSDM tingkat platform "
    "yang boleh mengelolanya"
)


def subscription_owner(principal: Principal) -> dict[str, str | None]:
    """Who registered a subscription: kept with it, and what its management is checked against."""
    return {"subject": principal.subject, "role": principal.role.value, "org_unit": principal.org_unit}


def may_manage_subscription(principal: Principal, subscription: Mapping[str, Any]) -> bool:
    """Its owner, an officer of the owner's unit (BKPSDM work is shared within a pemda), or a
    platform-wide principal. A subscription from before owners were kept is the platform's."""
    owner = subscription.get("owner") or {}
    if principal.org_unit is None:
        return True
    if owner.get("subject") == principal.subject:
        return True
    return owner.get("org_unit") is not None and owner.get("org_unit") == principal.org_unit


class ReplayLimited(Exception):
    """Too many replays of one subscription in the window: answered 429 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        self.message = (
            f"terlalu banyak permintaan replay untuk langganan ini; coba lagi dalam {self.retry_after} detik"
        )
        super().__init__(self.message)


# ---------------------------------------------------------------- what the delivery log may say

ADDRESS_HIDDEN = "[alamat disamarkan]"
NUMBER_HIDDEN = "[nomor disamarkan]"
_EMAIL_ADDRESS = re.compile(r"[^\s<>()\[\]{},;:'\"@]+@[^\s<>()\[\]{},;:'\"@]+")
_LONG_NUMBER = re.compile(r"\+?\d[\d\s().\-/]{6,}\d")
LONG_NUMBER_DIGITS = 8
"""A run of at least this many digits is a phone number, a NIK or a NIP: hidden. SMTP codes
("550 5.1.1") and HTTP statuses stay."""


def _hide_number(match: re.Match[str]) -> str:
    text = match.group()
    return NUMBER_HIDDEN if sum(char.isdigit() for char in text) >= LONG_NUMBER_DIGITS else text


def scrub_contacts(text: str | None, known: Iterable[str] = ()) -> str | None:
    """An error text as it may be stored and shown: without e-mail addresses, long numbers, or any
    of the `known` contacts (and an address's local part, which servers echo on its own too)."""
    if text is None:
        return None
    known = [contact for contact in known if len(contact) >= 3]
    for contact in known:
        text = re.sub(re.escape(contact), ADDRESS_HIDDEN, text, flags=re.IGNORECASE)
    text = _EMAIL_ADDRESS.sub(ADDRESS_HIDDEN, text)
    # Then the local parts alone, once whole addresses are gone.
    for local_part in {contact.split("@", 1)[0] for contact in known if "@" in contact}:
        if len(local_part) >= 3:
            text = re.sub(re.escape(local_part), ADDRESS_HIDDEN, text, flags=re.IGNORECASE)
    return _LONG_NUMBER.sub(_hide_number, text)


# ---------------------------------------------------------------- the delivery plan


@dataclass(frozen=True)
class QuietHours:
    timezone: str
    start: dt.time
    end: dt.time


class Recipient(NamedTuple):
    address: str
    """An e-mail address, or `sealed:<report id>` for a reporter, whose contact stays sealed."""
    name: str
    role: str | None = None
    """The role whose contact this is, for a decider's notice: what the delivery log shows as the
    audience (`ppk`, `kepala_opd`, ...)."""
    subject_ids: tuple[str, ...] = ()
    """The subjects of the case a decider's notice is about: those this recipient decides."""


SEALED_PREFIX = "sealed:"
REPORTER_NAME = "Pelapor"
SEALED_RECIPIENT = "pelapor (kontak disegel)"
"""Reporters are never named in the delivery log: the log shows this instead of their contact."""

CANCELLED_BY = frozenset({"report.sanction_imposed.v1", "report.closed.v1", "report.status_changed.v1"})
"""Case events after which a PPK's pending deadline warning is no longer needed, when they
leave the decision open no more (checked against the case state)."""

# Why a delivery did not go, as the delivery log shows it.
DECISION_TAKEN = "keputusan sudah ditetapkan"
DEADLINE_MOVED = "tenggat diperpanjang; peringatan dijadwalkan ulang"
SUBSCRIPTION_DELETED = "langganan dihapus"
LEFT_IN_DOUBT = "proses berhenti saat mengirim; periksa manual"
OVER_RECIPIENT_LIMIT = "batas kiriman per penerima; ditunda"
SMS_NOT_CONFIGURED = "gateway SMS belum dikonfigurasi (SMS_GATEWAY_URL)"
CONTACT_MISSING = "kontak pelapor tidak ditemukan"
CONTACT_UNREADABLE = (
    "kontak pelapor tidak dapat dibuka dengan kunci yang dikonfigurasi (NOTIFY_CONTACT_PRIVATE_KEY)"
)
SECRET_UNREADABLE = (
    "secret langganan tidak dapat dibuka dengan kunci yang dikonfigurasi (WEBHOOK_SECRET_KEYS)"
)
CANNOT_CONNECT = "tidak dapat terhubung ke penerima"
"""Every way a connection to an agency fails reads the same: the log must not tell a closed port
from a filtered one or a name that does not resolve."""
TARGET_REFUSED = "tujuan webhook tidak diizinkan"


def send_not_before(
    rule: Rule, data: Mapping[str, Any], now: dt.datetime, quiet: QuietHours
) -> dt.datetime | None:
    """When a rule's message may go: at once, or so long before its deadline, and a reminder not
    in quiet hours. None when the case has no such deadline, so there is nothing to warn about."""
    at = now
    if rule.delay_before_deadline is not None:
        try:
            scheduled = scheduled_at(rule, data)
        except KeyError:
            return None
        if scheduled is not None:
            at = max(now, scheduled)
    if rule.reminder:
        quiet_end = quiet_until(at, quiet.timezone, quiet.start, quiet.end)
        if quiet_end is not None:
            at = quiet_end
    return at


def case_id_of(data: Mapping[str, Any]) -> str | None:
    case_id: str | None = (data.get("case") or {}).get("case_id")
    return case_id


def unit_lineage(data: Mapping[str, Any]) -> list[str]:
    """The units above and including the one the event is about (the case's or the employee's),
    from the root: a role's contact for any of them hears about it."""
    case = data.get("case")
    if case:
        return [
            *case.get("org_unit_path", []),
            *([case["org_unit_code"]] if case.get("org_unit_code") else []),
        ]
    return [*data.get("org_unit_path", []), data["org_unit_code"]] if "org_unit_code" in data else []


def employee_recipients(employee: Mapping[str, Any] | None) -> list[Recipient]:
    """An employee the registry has no e-mail address for hears nothing."""
    if employee is None or not employee.get("email"):
        return []
    return [Recipient(employee["email"], employee["name"])]


def is_phone_contact(contact: str) -> bool:
    """A reporter leaves one contact, an e-mail address or a phone number: a number goes by SMS."""
    return "@" not in contact


def reporter_recipients(report_ids: Iterable[str]) -> list[Recipient]:
    """Every reporter of the case, by sealed reference: the contact is opened only to send."""
    return [Recipient(SEALED_PREFIX + report_id, REPORTER_NAME) for report_id in report_ids]


NEAREST_UNIT_ROLES = frozenset({Audience.OPD_ADMIN.value, Role.KEPALA_OPD.value})
"""Roles held per OPD: the contact of the nearest unit only, the employee's own OPD rather than
every OPD contact up the tree."""
PLATFORM_WIDE_ROLES = frozenset({Role.KEMENDAGRI.value})
"""Roles with one contact for the whole platform (the Minister of Home Affairs acts for every
province): stored without a unit (`org_unit` None) and found for any case."""


PROVINCE_ROLES = frozenset({Role.GUBERNUR.value})
"""Roles held per province, the root of the unit tree: the Governor's contact is the province's,
and a contact of that role set on a regency or an OPD is never used (so a pemda cannot put itself
in the place of the Governor who examines its own Sekda)."""
PLATFORM_CONTACT = "platform"


def contact_units(role: str, lineage: Sequence[str]) -> list[str | None]:
    """The units whose contacts of `role` hear about an event of these units: the lineage, its
    root (the province) for a provincial role, or the platform's one contact (None) for a
    platform-wide role."""
    if role in PLATFORM_WIDE_ROLES:
        return [None]
    if role in PROVINCE_ROLES:
        return list(lineage[:1])
    return list(lineage)


PLATFORM_CONTACT_ONLY = (
    "kontak peran ini berlaku untuk seluruh platform; hanya BKPSDM tingkat platform yang boleh menetapkannya"
)


def role_contact(role: str, org_unit: str | None, email: str, name: str) -> dict[str, Any]:
    """A role's contact as kept: per unit, or once for the platform for a platform-wide role."""
    if role in PLATFORM_WIDE_ROLES:
        if org_unit is not None:
            raise InvalidInput.one(
                "org_unit", f"kontak peran {role} berlaku untuk seluruh platform; kosongkan org_unit"
            )
        return {
            "_id": f"{role}:{PLATFORM_CONTACT}",
            "role": role,
            "org_unit": None,
            "email": email,
            "name": name,
        }
    if org_unit is None:
        raise InvalidInput.one("org_unit", f"wajib diisi untuk peran {role}: unit yang dilayani kontak ini")
    return {"_id": f"{role}:{org_unit}", "role": role, "org_unit": org_unit, "email": email, "name": name}


def role_recipients(
    audience: Audience | str, contacts: Sequence[Mapping[str, Any]], lineage: Sequence[str]
) -> list[Recipient]:
    """The role contacts of the event's units; for a role held per OPD (an OPD admin, an OPD
    head), the contact of the nearest unit only: the employee's OPD rather than the whole pemda."""
    role = str(audience)
    chosen = [doc for doc in contacts if doc.get("org_unit") is None or doc["org_unit"] in lineage]
    if role in NEAREST_UNIT_ROLES:
        chosen.sort(
            key=lambda doc: lineage.index(doc["org_unit"]) if doc["org_unit"] in lineage else -1, reverse=True
        )
        chosen = chosen[:1]
    return [Recipient(doc["email"], doc["name"]) for doc in chosen]


# ---------------------------------------------------------------- who decides each subject

DECIDER_TITLES: dict[str, str] = {
    Role.PPK.value: "Pejabat Pembina Kepegawaian",
    Role.KEPALA_OPD.value: "Kepala Perangkat Daerah",
    Role.GUBERNUR.value: "Gubernur",
    Role.KEMENDAGRI.value: "Menteri Dalam Negeri",
}
DEFAULT_DECIDER_ROLE = Role.PPK.value
"""The decider of a case published before cases had subjects, and of an unmatched subject (as
the reports service's DEFAULT_DECIDER)."""


@dataclass(frozen=True)
class DeciderScope:
    """One decider role of a case and where its contact is looked up, with the subjects it
    decides there."""

    role: str
    lineage: tuple[str, ...]
    """The units of the subjects it decides (the subject's employee's, else the case's)."""
    subject_ids: tuple[str, ...]

    @property
    def units(self) -> list[str | None]:
        return contact_units(self.role, self.lineage)


def _case_subjects(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    case = data.get("case") or {}
    subjects: list[Mapping[str, Any]] = case.get("subjects") or []
    if subjects:
        return subjects
    # A case of one subject as published before `subjects`: its PPK decides.
    return [{"subject_id": "s1", "state": case.get("state", ""), "decider_role": DEFAULT_DECIDER_ROLE}]


def subjects_concerned(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The subjects a decider's notice is about: the event's own subject where it names one (a
    lifted data block), else those still waiting for a decision (a recommendation, an escalation,
    an extended decision deadline)."""
    subjects = _case_subjects(data)
    subject_id = data.get("subject_id")
    if subject_id:
        return [s for s in subjects if s.get("subject_id") == subject_id]
    return [s for s in subjects if s.get("state") in DECISION_OPEN_STATES]


def _subject_lineage(data: Mapping[str, Any], subject: Mapping[str, Any]) -> tuple[str, ...]:
    employee = subject.get("employee")
    if employee:
        return (*employee.get("org_unit_path", []), employee["org_unit_code"])
    return tuple(unit_lineage(data))


def decider_scopes(data: Mapping[str, Any]) -> list[DeciderScope]:
    """Who decides the subjects concerned, grouped by role and units: one lookup each."""
    grouped: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for subject in subjects_concerned(data):
        role = subject.get("decider_role") or DEFAULT_DECIDER_ROLE
        grouped.setdefault((role, _subject_lineage(data, subject)), []).append(subject["subject_id"])
    return [DeciderScope(role, lineage, tuple(ids)) for (role, lineage), ids in grouped.items()]


def decider_recipients(scope: DeciderScope, contacts: Sequence[Mapping[str, Any]]) -> list[Recipient]:
    """The contacts of one scope, each told which of its subjects the notice is about."""
    return [
        Recipient(r.address, r.name, scope.role, scope.subject_ids)
        for r in role_recipients(scope.role, contacts, scope.lineage)
    ]


def merged_recipients(recipients: Iterable[Recipient]) -> list[Recipient]:
    """One notice per address: a contact that decides several subjects (or answers for two roles)
    gets one notice naming all of them, since the idempotency key is per recipient."""
    merged: dict[str, Recipient] = {}
    for recipient in recipients:
        known = merged.get(recipient.address)
        if known is None:
            merged[recipient.address] = recipient
            continue
        ids = (*known.subject_ids, *(i for i in recipient.subject_ids if i not in known.subject_ids))
        merged[recipient.address] = known._replace(subject_ids=ids)
    return list(merged.values())


def _subject_line(subject: Mapping[str, Any]) -> dict[str, Any]:
    person = subject.get("employee") or subject.get("accused") or {}
    return {
        "name": person.get("name", ""),
        "nip": person.get("nip"),
        "position": person.get("position"),
        "state": subject.get("state", ""),
        "data_blocked": bool(subject.get("data_blocked", False)),
        "supervisor": subject.get("kind") == "atasan_tidak_bertindak",
    }


def template_extra(
    recipient: Recipient, employee: Mapping[str, Any] | None, data: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What a template gets beyond the event: whom it greets, the employee a notice sent to
    someone else (their OPD admin) is about, and for a decider, their title and the subjects
    they decide (`terlapor_diputus`)."""
    extra: dict[str, Any] = {"nama_penerima": recipient.name}
    if employee:
        extra["nama_pegawai"] = employee["name"]
    if recipient.role is not None:
        extra["pemutus"] = DECIDER_TITLES.get(recipient.role, _humanise(recipient.role))
    if recipient.subject_ids and data is not None:
        by_id = {s.get("subject_id"): s for s in _case_subjects(data)}
        extra["terlapor_diputus"] = [
            _subject_line(by_id[i]) for i in recipient.subject_ids if i in by_id and "accused" in by_id[i]
        ]
    return extra


def contacts_moving(event_type: str, data: Mapping[str, Any]) -> tuple[list[str], str] | None:
    """Reports whose reporters now follow another case, and that case: a merge moves the merged
    case's reports into the case that took them, a split moves one report into its new case."""
    case_id = case_id_of(data)
    if case_id is None:
        return None
    if event_type == "report.cases_merged.v1":
        return list(data.get("report_ids", [])), case_id
    if event_type == "report.split.v1":
        return [data["report_id"]], case_id
    return None


def decided_subjects(data: Mapping[str, Any]) -> list[str]:
    """The case's subjects whose decision is no longer awaited: a warning about these alone is
    not needed, even while another subject of the case still waits (and keeps the case open)."""
    case = data.get("case") or {}
    return [s["subject_id"] for s in case.get("subjects") or [] if s.get("state") not in DECISION_OPEN_STATES]


def superseded_warnings(event_type: str, data: Mapping[str, Any]) -> list[str]:
    """Pending deadline warnings an event replaces: an extended decision deadline plans its own
    warning against the new due date (peringatan_tenggat_ppk_diperpanjang)."""
    if event_type == "report.deadline_extended.v1" and _decision_deadline(data):
        return [rule.name for rule in RULES if rule.deadline_key == "decision"]
    return []


def rule_delivery(
    rule: Rule,
    event_id: str,
    event_type: str,
    data: Mapping[str, Any],
    recipient: Recipient,
    message: Message,
    not_before: dt.datetime,
    now: dt.datetime,
) -> dict[str, Any]:
    """A rule's delivery to one recipient, keyed so that a redelivered event plans it once."""
    return {
        "_id": idempotency_key(event_id, rule.name, recipient.address),
        "rule": rule.name,
        "event_id": event_id,
        "event_type": event_type,
        "channel": rule.channel,
        "audience": recipient.role or rule.audience.value,
        "recipient": recipient.address,
        "subject": message.subject,
        "body": message.body,
        "case_id": case_id_of(data),
        "subject_ids": list(recipient.subject_ids),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": not_before,
        "created_at": now,
        "last_error": None,
    }


def webhook_delivery(
    subscription: Mapping[str, Any],
    event_id: str,
    event_type: str,
    body: bytes,
    replay_id: str | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """A public event for one agency's webhook. A replay is a new delivery (its own key) that keeps
    the event's `webhook-id`, so the agency can drop what it already has."""
    rule = f"webhook:{subscription['_id']}" + (f":replay:{replay_id}" if replay_id else "")
    return {
        "_id": idempotency_key(event_id, rule, subscription["url"]),
        "rule": "webhook_agensi",
        "event_id": event_id,
        "event_type": event_type,
        "channel": "webhook",
        "audience": "agency",
        "agency": subscription["agency"],
        "subscription_id": subscription["_id"],
        "recipient": subscription["url"],
        "subject": event_type,
        "body": bytes(body),
        "webhook_id": event_id,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "last_error": None,
    }


def deadline_warnings() -> list[str]:
    """The rules whose pending notices a decision makes needless (those bound to open states)."""
    return [rule.name for rule in RULES if rule.open_states]


def stale_warnings(case_state: str) -> list[str]:
    """The deadline-bound rules whose pending warnings a case in this state no longer needs."""
    return [rule.name for rule in RULES if rule.open_states and not still_due(rule, case_state)]


def sealed_report_id(recipient: str) -> str | None:
    """The report whose sealed contact a delivery goes to; None for a plain address."""
    return recipient.removeprefix(SEALED_PREFIX) if recipient.startswith(SEALED_PREFIX) else None


def shown_recipient(recipient: str) -> str:
    """The recipient as the delivery log shows it: never a reporter's contact or reference."""
    return SEALED_RECIPIENT if recipient.startswith(SEALED_PREFIX) else recipient
