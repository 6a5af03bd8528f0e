"""Notification rules in services/notify/domain.py: rules and conditions, templates in Bahasa
Indonesia, quiet hours, retry backoff, idempotency keys, the delivery plan and webhook signatures."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from services.kit.errors import InvalidInput
from services.notify.domain import (
    PUBLIC_EVENT_TYPES,
    RULE_BY_NAME,
    RULES,
    SEALED_RECIPIENT,
    STATE_LABELS,
    Audience,
    DeciderScope,
    Message,
    QuietHours,
    Recipient,
    Rule,
    WebhookVerificationError,
    applies,
    contact_units,
    contacts_moving,
    decider_recipients,
    decider_scopes,
    employee_recipients,
    format_datetime,
    format_deadline,
    idempotency_key,
    merged_recipients,
    new_webhook_secret,
    not_public,
    quiet_until,
    reporter_recipients,
    retry_delay,
    role_contact,
    role_recipients,
    rule_delivery,
    rules_for,
    scheduled_at,
    sealed_report_id,
    send_not_before,
    shown_recipient,
    sign_webhook,
    stale_warnings,
    still_due,
    subjects_concerned,
    superseded_warnings,
    template_extra,
    unit_lineage,
    verify_webhook,
    webhook_delivery,
)
from services.notify.messages import Templates

UTC = dt.UTC
JAKARTA = "Asia/Jakarta"
ACCUSED_NAME = "Drs. Bambang Sutrisno"
SUBJECT_NAME = "Bambang Sutrisno"


def _at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


# ---------------------------------------------------------------- realistic event data (as JSON decodes it)


def _case(state: str = "received", *, matched: bool = True, **deadlines: str) -> dict[str, Any]:
    return {
        "case_id": "KSS-2024-000123",
        "state": state,
        "category": "kampanye_media_sosial",
        "violation_class": "etika",
        "channels": ["public", "bawaslu"],
        "report_count": 2,
        "incident_date": "2024-11-02",
        "accused": {
            "name": ACCUSED_NAME,
            "nip": None,
            "org_unit_code": "DINKES",
            "position": "Kepala Seksi",
        },
        "subject": (
            {
                "employee_id": "emp-42",
                "nip": "198503122010011002",
                "name": SUBJECT_NAME,
                "employment_type": "PNS",
                "position": "Kepala Seksi Promosi Kesehatan",
                "org_unit_code": "DINKES.PK",
                "org_unit_path": ["PEMKAB", "DINKES", "DINKES.PK"],
            }
            if matched
            else None
        ),
        "match_status": "matched" if matched else "unmatched",
        "org_unit_code": "DINKES.PK" if matched else "DINKES",
        "org_unit_path": ["Pemerintah Kabupaten Sleman", "Dinas Kesehatan", "Seksi Promosi Kesehatan"],
        "bawaslu_references": ["BWS/123/XI/2024"],
        "deadlines": dict(deadlines),
        "sanction": None,
        "received_at": "2024-11-04T02:15:00Z",
        "version": 3,
    }


def _transition(event_type: str) -> dict[str, Any]:
    action, to_state = {
        "report.verified.v1": ("verify", "verified"),
        "report.rejected.v1": ("reject", "rejected"),
        "report.recommendation_issued.v1": ("recommend", "recommended"),
        "report.sanction_imposed.v1": ("decide_sanction", "decided"),
        "report.appeal_filed.v1": ("file_appeal", "appealed"),
        "report.closed.v1": ("close", "closed"),
        "report.status_changed.v1": ("examine", "examined"),
    }[event_type]
    return {
        "case": _case(to_state, decision="2024-11-29T17:00:00Z", verification="2024-11-11T17:00:00Z"),
        "action": action,
        "from_state": "received",
        "to_state": to_state,
        "reason": "Bukti tangkapan layar unggahan media sosial telah dikonfirmasi.",
        "actor_role": "bkn",
        "at": "2024-11-08T03:30:00Z",
    }


PLEDGE = {
    "campaign": "PILKADA-2024-SLEMAN",
    "employee_id": "emp-42",
    "nip": "198503122010011002",
    "org_unit_code": "DINKES.PK",
    "deadline": "2024-04-29T17:00:00Z",  # 30 April 00.00 WIB: the end of 29 April
}


def _data_for(event_type: str) -> dict[str, Any]:
    if event_type == "pledge.reminder_due.v1":
        return {**PLEDGE, "hours_before": 48}
    if event_type == "pledge.overdue.v1":
        return dict(PLEDGE)
    if event_type == "report.received.v1":
        return {
            "case": _case(verification="2024-11-11T17:00:00Z"),
            "report_id": "RPT-1",
            "channel": "public",
            "linked": False,
        }
    if event_type == "report.escalated.v1":
        return {
            "case": _case("recommended", decision="2024-11-29T17:00:00Z"),
            "level": "teguran",
            "due_at": "2024-11-29T17:00:00Z",
            "detected_at": "2024-12-06T17:00:05Z",
        }
    if event_type == "report.escalation_lifted.v1":
        return {
            "case": _case("decided", decision="2024-11-29T17:00:00Z"),
            "subject_id": "s1",
            "level": "blokir_data",
            "blocked_at": "2024-12-20T17:00:05Z",
            "lifted_at": "2025-01-06T04:00:00Z",
            "reason": "Keputusan telah ditetapkan; pemblokiran data kepegawaian dicabut.",
        }
    if event_type == "report.deadline_extended.v1":
        return {
            "case": _case("recommended", decision="2024-12-06T17:00:00Z"),
            "deadline": "decision",
            "previous_due_at": "2024-11-29T17:00:00Z",
            "due_at": "2024-12-06T17:00:00Z",
            "reason": "Bawaslu meminta keterangan tambahan dari saksi.",
            "actor_role": "bkpsdm",
            "at": "2024-11-25T03:00:00Z",
        }
    if event_type == "report.cases_merged.v1":
        return {
            "case": _case("verified", verification="2024-11-11T17:00:00Z"),
            "merged_case_id": "KSS-2024-000124",
            "report_ids": ["RPT-7"],
            "reason": "Laporan tentang Drs. Bambang Sutrisno dari kanal Bawaslu, kejadian yang sama.",
            "actor_role": "bkpsdm",
            "at": "2024-11-09T03:00:00Z",
        }
    if event_type == "report.deadline_breached.v1":
        return {
            "case": _case(verification="2024-11-11T17:00:00Z"),
            "deadline": "verification",
            "due_at": "2024-11-11T17:00:00Z",
            "detected_at": "2024-11-11T17:00:03Z",
        }
    return _transition(event_type)


@pytest.fixture(scope="module")
def templates() -> Templates:
    return Templates()


# ---------------------------------------------------------------- rules


def test_rule_names_are_unique_and_every_template_exists(templates: Templates) -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert {rule.template for rule in RULES} == set(templates.names())
    assert all(rule.channel == "email" for rule in RULES)


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("pledge.reminder_due.v1", {Audience.EMPLOYEE}),
        ("pledge.overdue.v1", {Audience.EMPLOYEE, Audience.OPD_ADMIN}),
        ("report.received.v1", {Audience.BKPSDM}),
        ("report.verified.v1", {Audience.REPORTER}),
        ("report.rejected.v1", {Audience.REPORTER}),
        ("report.recommendation_issued.v1", {Audience.REPORTER, Audience.DECIDER}),
        ("report.sanction_imposed.v1", {Audience.REPORTER}),
        ("report.appeal_filed.v1", {Audience.REPORTER}),
        ("report.closed.v1", {Audience.REPORTER}),
        ("report.status_changed.v1", {Audience.REPORTER}),
        ("report.escalated.v1", {Audience.DECIDER, Audience.BKPSDM}),
        ("report.escalation_lifted.v1", {Audience.DECIDER, Audience.BKPSDM}),
        ("report.deadline_extended.v1", {Audience.REPORTER, Audience.DECIDER}),
        ("report.cases_merged.v1", {Audience.REPORTER}),
        ("report.subject_assigned.v1", set()),
        ("report.deadline_breached.v1", {Audience.BKPSDM}),
        ("pledge.signed.v1", set()),
    ],
)
def test_rules_for_reach_the_right_audiences(event_type: str, expected: set[Audience]) -> None:
    assert {rule.audience for rule in rules_for(event_type)} == expected


def test_only_reminders_respect_quiet_hours() -> None:
    reminders = {rule.name for rule in RULES if rule.reminder}
    assert reminders == {
        "pengingat_tanda_tangan",
        "peringatan_tenggat_ppk",
        "peringatan_tenggat_ppk_diperpanjang",
    }


def test_new_report_alert_only_for_a_new_case() -> None:
    (rule,) = rules_for("report.received.v1")
    data = _data_for("report.received.v1")
    assert applies(rule, data)
    assert not applies(rule, {**data, "linked": True})
    assert all(applies(rule, _data_for("report.verified.v1")) for rule in rules_for("report.verified.v1"))


def test_ppk_deadline_warning_is_scheduled_three_days_before_the_decision() -> None:
    (warning,) = [rule for rule in rules_for("report.recommendation_issued.v1") if rule.delay_before_deadline]
    assert warning.audience is Audience.DECIDER
    assert warning.delay_before_deadline == dt.timedelta(days=3)
    data = _data_for("report.recommendation_issued.v1")
    assert scheduled_at(warning, data) == _at(2024, 11, 26, 17)
    immediate = [rule for rule in RULES if rule.delay_before_deadline is None]
    assert all(scheduled_at(rule, _data_for(rule.event_type)) is None for rule in immediate)
    assert still_due(warning, "recommended") and still_due(warning, "examined")
    assert not still_due(warning, "decided") and not still_due(warning, "not_proven")
    with pytest.raises(KeyError):
        scheduled_at(warning, {**data, "case": _case("recommended")})


def test_a_deadline_bound_rule_must_name_its_deadline() -> None:
    with pytest.raises(ValueError):
        Rule("x", "y", Audience.PPK, "email", "x", delay_before_deadline=dt.timedelta(days=1))


# ---------------------------------------------------------------- templates


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_every_rule_renders_in_bahasa(templates: Templates, rule: Rule) -> None:
    message = templates.render(rule, _data_for(rule.event_type))
    assert isinstance(message, Message)
    assert message.subject and "\n" not in message.subject
    assert message.body.endswith("\n") and "\n\n\n" not in message.body
    assert "Platform Netralitas ASN" in message.body
    assert "None" not in message.subject + message.body
    assert "{{" not in message.body and "{%" not in message.body


def test_every_rule_renders_with_optional_extras(templates: Templates) -> None:
    extra = {
        "nama_penerima": "Ibu Sri Wahyuni",
        "tautan_tanda_tangan": "https://netral.example.go.id/tanda-tangan",
        "tautan_pelacakan": "https://netral.example.go.id/lacak",
        "nama_pegawai": SUBJECT_NAME,
    }
    for rule in RULES:
        message = templates.render(rule, _data_for(rule.event_type), extra)
        assert message.body


def test_sign_reminder_content(templates: Templates) -> None:
    (rule,) = rules_for("pledge.reminder_due.v1")
    message = templates.render(rule, _data_for(rule.event_type), {"nama_penerima": "Ibu Sri Wahyuni"})
    assert "29 April 2024 pukul 23.59 WIB" in message.subject
    assert "Yth. Ibu Sri Wahyuni" in message.body
    assert "2 hari" in message.body
    assert "Pakta Integritas Netralitas ASN" in message.body
    assert "PILKADA-2024-SLEMAN" in message.body


def test_overdue_notice_for_opd_admin_names_the_employee(templates: Templates) -> None:
    rule = next(rule for rule in rules_for("pledge.overdue.v1") if rule.audience is Audience.OPD_ADMIN)
    message = templates.render(rule, {**PLEDGE, "nip": None})
    assert "ID pegawai: emp-42" in message.body
    assert "belum menandatangani" in message.body


def test_new_report_alert_content(templates: Templates) -> None:
    (rule,) = rules_for("report.received.v1")
    message = templates.render(rule, _data_for(rule.event_type))
    assert "KSS-2024-000123" in message.subject
    assert "kanal masyarakat" in message.body
    assert "Kampanye melalui media sosial" in message.body
    assert "2 November 2024" in message.body
    assert SUBJECT_NAME in message.body
    assert "Laporan diterima" in message.body
    assert "11 November 2024 pukul 23.59 WIB" in message.body  # the end of the 7th day
    unmatched = {**_data_for(rule.event_type), "case": _case(matched=False)}
    message = templates.render(rule, unmatched)
    assert ACCUSED_NAME in message.body
    assert "belum dapat dicocokkan" in message.body


@pytest.mark.parametrize(
    "event_type",
    sorted(
        {
            rule.event_type
            for rule in RULES
            if rule.audience == "reporter" and rule.template == "perkembangan_laporan"
        }
    ),
)
def test_reporter_update_shows_only_status_reason_and_tracking_hint(
    templates: Templates, event_type: str
) -> None:
    (rule,) = [rule for rule in rules_for(event_type) if rule.audience is Audience.REPORTER]
    data = _data_for(event_type)
    message = templates.render(rule, data)
    text = message.subject + message.body
    for secret in (
        ACCUSED_NAME,
        SUBJECT_NAME,
        "Bambang",
        data["case"]["case_id"],
        data["case"]["subject"]["nip"],
        "Dinas Kesehatan",
        "DINKES",
        "Kepala Seksi",
        "BWS/123",
        data["actor_role"],
        data["action"],
    ):
        assert secret not in text, secret
    assert data["reason"] in message.body
    assert "kode pelacakan" in message.body
    assert "Status terbaru:" in message.body


def test_reporter_status_labels(templates: Templates) -> None:
    rule = next(rule for rule in rules_for("report.rejected.v1") if rule.audience is Audience.REPORTER)
    message = templates.render(rule, _data_for("report.rejected.v1"))
    assert message.subject == "Perkembangan laporan Anda: Laporan ditolak"
    odd = {**_data_for("report.status_changed.v1"), "to_state": "some_future_state"}
    assert "Status laporan diperbarui" in templates.render(rule, odd).body


def test_escalation_and_breach_content(templates: Templates) -> None:
    ppk = next(rule for rule in rules_for("report.escalated.v1") if rule.audience is Audience.DECIDER)
    message = templates.render(ppk, _data_for("report.escalated.v1"))
    assert message.subject.startswith("Teguran:")
    assert "29 November 2024 pukul 23.59 WIB" in message.body
    blocked = {**_data_for("report.escalated.v1"), "level": "blokir_data"}
    bkpsdm = next(rule for rule in rules_for("report.escalated.v1") if rule.audience is Audience.BKPSDM)
    assert "BKN" in templates.render(bkpsdm, blocked).body
    (breach,) = rules_for("report.deadline_breached.v1")
    message = templates.render(breach, _data_for("report.deadline_breached.v1"))
    assert "verifikasi oleh satuan tugas netralitas" in message.subject


def test_missing_data_fails_loudly(templates: Templates) -> None:
    (rule,) = rules_for("pledge.reminder_due.v1")
    with pytest.raises(Exception, match="hours_before"):
        templates.render(rule, PLEDGE)


def test_dates_in_bahasa() -> None:
    assert format_datetime("2024-04-29T16:59:00Z") == "29 April 2024 pukul 23.59 WIB"
    assert format_datetime(_at(2024, 8, 16, 20, 5), "Asia/Makassar") == "17 Agustus 2024 pukul 04.05 WITA"
    assert format_deadline(_at(2024, 4, 29, 17)) == "29 April 2024 pukul 23.59 WIB"
    assert format_deadline(_at(2024, 4, 29, 10)) == "29 April 2024 pukul 17.00 WIB"


# ---------------------------------------------------------------- quiet hours

NIGHT = (dt.time(21, 0), dt.time(6, 0))


@pytest.mark.parametrize(
    ("local", "until_local"),
    [
        (dt.datetime(2024, 4, 29, 22, 30), dt.datetime(2024, 4, 30, 6, 0)),  # before midnight
        (dt.datetime(2024, 4, 29, 21, 0), dt.datetime(2024, 4, 30, 6, 0)),  # the start is quiet
        (dt.datetime(2024, 4, 30, 2, 0), dt.datetime(2024, 4, 30, 6, 0)),  # after midnight
        (dt.datetime(2024, 12, 31, 23, 0), dt.datetime(2025, 1, 1, 6, 0)),  # over the year end
        (dt.datetime(2024, 4, 30, 6, 0), None),  # the end is not quiet
        (dt.datetime(2024, 4, 30, 12, 0), None),
        (dt.datetime(2024, 4, 30, 20, 59), None),
    ],
)
def test_quiet_hours_wrapping_midnight(local: dt.datetime, until_local: dt.datetime | None) -> None:
    wib = dt.timezone(dt.timedelta(hours=7))
    moment = local.replace(tzinfo=wib).astimezone(UTC)
    expected = None if until_local is None else until_local.replace(tzinfo=wib).astimezone(UTC)
    result = quiet_until(moment, JAKARTA, *NIGHT)
    assert result == expected
    assert result is None or result.tzinfo is UTC


def test_quiet_hours_within_one_day_and_empty_window() -> None:
    lunch = (dt.time(12, 0), dt.time(13, 0))
    assert quiet_until(_at(2024, 4, 30, 5, 30), JAKARTA, *lunch) == _at(2024, 4, 30, 6)  # 12.30 WIB
    assert quiet_until(_at(2024, 4, 30, 6), JAKARTA, *lunch) is None
    assert quiet_until(_at(2024, 4, 30, 15), JAKARTA, dt.time(9), dt.time(9)) is None


def test_jakarta_has_no_daylight_saving() -> None:
    # 06.00 WIB is 23.00 UTC the day before, all year round.
    for month in range(1, 13):
        moment = _at(2024, month, 15, 16)  # 23.00 WIB
        assert quiet_until(moment, JAKARTA, *NIGHT) == _at(2024, month, 15, 23)


def test_quiet_hours_need_an_aware_moment() -> None:
    with pytest.raises(ValueError):
        quiet_until(dt.datetime(2024, 4, 30, 2), JAKARTA, *NIGHT)


# ---------------------------------------------------------------- retries

BASE = dt.timedelta(seconds=2)
CAP = dt.timedelta(minutes=5)


def test_retry_delay_stays_within_the_growing_ceiling_and_the_cap() -> None:
    rng = random.Random(7)
    previous_max = dt.timedelta(0)
    for attempt in range(1, 16):
        ceiling = min(CAP, BASE * 2 ** (attempt - 1))
        delays = [retry_delay(attempt, BASE, CAP, rng) for _ in range(200)]
        assert all(dt.timedelta(0) <= delay <= ceiling for delay in delays)
        assert max(delays) > ceiling * 0.9  # full jitter uses the whole range
        assert max(delays) >= previous_max * 0.9
        previous_max = max(delays)
    assert retry_delay(10_000, BASE, CAP, rng) <= CAP


def test_retry_delay_is_deterministic_with_a_seeded_rng() -> None:
    first = [retry_delay(n, BASE, CAP, random.Random(42)) for n in range(1, 10)]
    second = [retry_delay(n, BASE, CAP, random.Random(42)) for n in range(1, 10)]
    assert first == second


def test_retry_attempts_start_at_one() -> None:
    with pytest.raises(ValueError):
        retry_delay(0, BASE, CAP, random.Random(1))


# ---------------------------------------------------------------- idempotency


def test_idempotency_key_is_stable_and_distinct() -> None:
    key = idempotency_key("evt-1", "laporan_baru", "bkpsdm@sleman.go.id")
    assert key == idempotency_key("evt-1", "laporan_baru", "bkpsdm@sleman.go.id")
    assert len(key) == 32 and int(key, 16) >= 0
    assert key != idempotency_key("evt-2", "laporan_baru", "bkpsdm@sleman.go.id")
    assert key != idempotency_key("evt-1", "eskalasi_bkpsdm", "bkpsdm@sleman.go.id")
    assert key != idempotency_key("evt-1", "laporan_baru", "ppk@sleman.go.id")
    assert idempotency_key("a.b", "c", "d") != idempotency_key("a", "b.c", "d")
    # Pinned: a changed derivation would resend everything that is redelivered after a deploy.
    assert key == "ec4a66fd7ac46792b048fc1536af04f0"


# ---------------------------------------------------------------- the delivery plan

NO_QUIET = QuietHours(JAKARTA, dt.time(0, 0), dt.time(0, 0))
NIGHTS = QuietHours(JAKARTA, dt.time(21, 0), dt.time(6, 0))


def test_a_notice_goes_at_once_even_at_night() -> None:
    night = _at(2024, 11, 8, 16)  # 23.00 WIB
    rule = RULE_BY_NAME["eskalasi_bkpsdm"]
    assert send_not_before(rule, _data_for("report.escalated.v1"), night, NIGHTS) == night


def test_a_reminder_at_night_waits_for_the_morning() -> None:
    night = _at(2024, 4, 27, 16)  # 23.00 WIB
    rule = RULE_BY_NAME["pengingat_tanda_tangan"]
    data = _data_for("pledge.reminder_due.v1")
    assert send_not_before(rule, data, night, NIGHTS) == _at(2024, 4, 27, 23)  # 06.00 WIB
    assert send_not_before(rule, data, night, NO_QUIET) == night


def test_a_deadline_warning_waits_for_its_moment_or_is_not_planned_without_the_deadline() -> None:
    rule = RULE_BY_NAME["peringatan_tenggat_ppk"]
    data = _data_for("report.recommendation_issued.v1")
    early = _at(2024, 11, 8, 3)
    assert send_not_before(rule, data, early, NO_QUIET) == _at(2024, 11, 26, 17)
    late = _at(2024, 11, 28, 3)  # already inside the last three days: at once
    assert send_not_before(rule, data, late, NO_QUIET) == late
    no_decision = {**data, "case": _case("recommended", verification="2024-11-11T17:00:00Z")}
    assert send_not_before(rule, no_decision, early, NO_QUIET) is None


def test_recipients_of_an_employee_and_of_reporters() -> None:
    assert employee_recipients(None) == []
    assert employee_recipients({"name": "Budi", "email": None}) == []
    assert employee_recipients({"name": "Budi", "email": "budi@x.go.id"}) == [
        Recipient("budi@x.go.id", "Budi")
    ]
    assert reporter_recipients(["r-1", "r-2"]) == [
        Recipient("sealed:r-1", "Pelapor"),
        Recipient("sealed:r-2", "Pelapor"),
    ]


def test_the_opd_admin_is_the_one_of_the_nearest_unit_and_bkpsdm_all_of_them() -> None:
    data = {**PLEDGE, "org_unit_path": ["PEMKAB", "DINKES"]}
    lineage = unit_lineage(data)
    assert lineage == ["PEMKAB", "DINKES", "DINKES.PK"]
    contacts = [
        {"org_unit": "PEMKAB", "email": "pemda@x.go.id", "name": "Admin Pemda"},
        {"org_unit": "DINKES", "email": "dinkes@x.go.id", "name": "Admin Dinkes"},
    ]
    assert role_recipients(Audience.OPD_ADMIN, contacts, lineage) == [
        Recipient("dinkes@x.go.id", "Admin Dinkes")
    ]
    assert len(role_recipients(Audience.BKPSDM, contacts, lineage)) == 2
    assert role_recipients(Audience.OPD_ADMIN, [], lineage) == []
    case = _data_for("report.received.v1")
    assert unit_lineage(case) == [*case["case"]["org_unit_path"], "DINKES.PK"]


def test_a_rule_delivery_is_keyed_by_event_rule_and_recipient(templates: Templates) -> None:
    rule = RULE_BY_NAME["terlambat_tanda_tangan_opd"]
    data = _data_for("pledge.overdue.v1")
    admin = Recipient("dinkes@x.go.id", "Admin Dinkes")
    extra = template_extra(admin, {"name": SUBJECT_NAME})
    assert extra == {"nama_penerima": "Admin Dinkes", "nama_pegawai": SUBJECT_NAME}
    assert template_extra(admin, None) == {"nama_penerima": "Admin Dinkes"}
    message = templates.render(rule, data, extra)
    now = _at(2024, 4, 30)
    doc = rule_delivery(rule, "evt-1", rule.event_type, data, admin, message, now, now)
    assert doc["_id"] == idempotency_key("evt-1", rule.name, "dinkes@x.go.id")
    assert (doc["status"], doc["attempts"], doc["audience"], doc["case_id"]) == (
        "pending",
        0,
        "opd_admin",
        None,
    )
    assert doc["subject"] == message.subject and doc["next_attempt_at"] == now


def test_a_replay_is_a_new_delivery_with_the_same_webhook_id() -> None:
    sub = {"_id": "sub-1", "agency": "bawaslu", "url": "https://bawaslu.example/hook"}
    now = _at(2029, 1, 1)
    first = webhook_delivery(sub, "evt-1", "public.report.received.v1", b"{}", None, now)
    again = webhook_delivery(sub, "evt-1", "public.report.received.v1", b"{}", None, now)
    replayed = webhook_delivery(sub, "evt-1", "public.report.received.v1", b"{}", "r1", now)
    assert first["_id"] == again["_id"] != replayed["_id"]
    assert first["webhook_id"] == replayed["webhook_id"] == "evt-1"
    assert (first["channel"], first["agency"], first["subscription_id"]) == ("webhook", "bawaslu", "sub-1")


def test_a_decided_case_needs_no_deadline_warning() -> None:
    assert stale_warnings("recommended") == []
    assert stale_warnings("examined") == []
    assert stale_warnings("decided") == ["peringatan_tenggat_ppk", "peringatan_tenggat_ppk_diperpanjang"]
    assert stale_warnings("closed") == ["peringatan_tenggat_ppk", "peringatan_tenggat_ppk_diperpanjang"]


def test_a_reporter_is_never_shown_in_the_log() -> None:
    assert shown_recipient("sealed:r-1") == SEALED_RECIPIENT
    assert shown_recipient("budi@x.go.id") == "budi@x.go.id"
    assert sealed_report_id("sealed:r-1") == "r-1"
    assert sealed_report_id("budi@x.go.id") is None


def test_only_public_events_may_be_subscribed() -> None:
    assert "public.report.received.v1" in PUBLIC_EVENT_TYPES
    assert not_public(["public.report.received.v1"]) == []
    assert not_public(["report.received.v1", "zzz", "public.report.received.v1"]) == [
        "report.received.v1",
        "zzz",
    ]


# ---------------------------------------------------------------- webhooks

BODY = (
    b'{"type":"public.report.received.v1","data":{"case_id":"KSS-2024-000123","kota":"Sleman \xc2\xb7 DIY"}}'
)


def test_new_webhook_secret_format() -> None:
    secret = new_webhook_secret()
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 32
    assert secret != new_webhook_secret()


def test_sign_then_verify_roundtrip() -> None:
    secret = new_webhook_secret()
    now = dt.datetime.now(UTC)
    headers = sign_webhook(secret, "msg_01HX", now, BODY)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == "msg_01HX"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")
    verify_webhook(secret, headers, BODY)
    verify_webhook(secret, {key.upper(): value for key, value in headers.items()}, BODY)


def test_signature_does_not_depend_on_the_timestamps_zone() -> None:
    secret = new_webhook_secret()
    now = dt.datetime.now(UTC)
    wib = now.astimezone(dt.timezone(dt.timedelta(hours=7)))
    assert sign_webhook(secret, "m", now, BODY) == sign_webhook(secret, "m", wib, BODY)
    verify_webhook(secret, sign_webhook(secret, "m", wib, BODY), BODY)
    with pytest.raises(ValueError):
        sign_webhook(secret, "m", now.replace(tzinfo=None), BODY)


def test_tampering_is_detected() -> None:
    secret = new_webhook_secret()
    headers = sign_webhook(secret, "msg_01HX", dt.datetime.now(UTC), BODY)
    for index in (0, len(BODY) // 2, len(BODY) - 1):
        tampered = bytearray(BODY)
        tampered[index] ^= 0x01
        with pytest.raises(WebhookVerificationError):
            verify_webhook(secret, headers, bytes(tampered))
    with pytest.raises(WebhookVerificationError):
        verify_webhook(new_webhook_secret(), headers, BODY)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, {**headers, "webhook-id": "msg_other"}, BODY)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, {**headers, "webhook-signature": "v1"}, BODY)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, {key: value for key, value in headers.items() if key != "webhook-id"}, BODY)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, headers, b"\xff" + BODY)


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (dt.timedelta(minutes=-4), True),
        (dt.timedelta(minutes=4), True),
        (dt.timedelta(minutes=-6), False),  # the library tolerates 5 minutes either way
        (dt.timedelta(minutes=6), False),
    ],
)
def test_timestamp_tolerance(offset: dt.timedelta, accepted: bool) -> None:
    secret = new_webhook_secret()
    headers = sign_webhook(secret, "msg_01HX", dt.datetime.now(UTC) + offset, BODY)
    if accepted:
        verify_webhook(secret, headers, BODY)
    else:
        with pytest.raises(WebhookVerificationError, match="too"):
            verify_webhook(secret, headers, BODY)


# ---------------------------------------------------------------- the case of issue 13: deciders, subjects


def _subject(
    subject_id: str,
    decider: str,
    unit: str,
    path: list[str],
    *,
    state: str = "recommended",
    name: str = SUBJECT_NAME,
    employment_type: str = "PNS",
    blocked: bool = False,
) -> dict[str, Any]:
    return {
        "subject_id": subject_id,
        "kind": "terlapor",
        "accused": {"name": name, "nip": None, "org_unit_code": unit, "position": None},
        "employee": {
            "employee_id": f"emp-{subject_id}",
            "nip": None if employment_type == "NON_ASN" else "198503122010011002",
            "name": name,
            "employment_type": employment_type,
            "position": "Pengadministrasi",
            "org_unit_code": unit,
            "org_unit_path": path,
        },
        "match_status": "matched",
        "state": state,
        "violation_class": None,
        "sanction": None,
        "examiner_roles": ["bkpsdm", "inspektorat"],
        "decider_role": decider,
        "data_blocked": blocked,
    }


def _with_subjects(event_type: str, *subjects: dict[str, Any], **fields: Any) -> dict[str, Any]:
    data = _data_for(event_type)
    return {**data, "case": {**data["case"], "subjects": list(subjects)}, **fields}


def test_each_subject_goes_to_its_own_decider_and_where_its_contact_is_found() -> None:
    data = _with_subjects(
        "report.escalated.v1",
        _subject("s1", "ppk", "DINKES.PK", ["PEMKAB", "DINKES"]),
        _subject("s2", "kepala_opd", "DINKES.PK", ["PEMKAB", "DINKES"], employment_type="NON_ASN"),
        _subject("s3", "ppk", "DISDIK", ["PEMKAB"]),
        _subject("s4", "ppk", "DINKES.PK", ["PEMKAB", "DINKES"], state="decided"),
    )
    scopes = {(scope.role, scope.lineage): scope.subject_ids for scope in decider_scopes(data)}
    # A decided subject is not the escalation's business; two PPK subjects of different units
    # are two lookups, which the same PPK contact answers once (merged_recipients).
    assert scopes == {
        ("ppk", ("PEMKAB", "DINKES", "DINKES.PK")): ("s1",),
        ("kepala_opd", ("PEMKAB", "DINKES", "DINKES.PK")): ("s2",),
        ("ppk", ("PEMKAB", "DISDIK")): ("s3",),
    }


def test_an_event_about_one_subject_concerns_that_subject_only() -> None:
    data = _with_subjects(
        "report.escalation_lifted.v1",
        _subject("s1", "ppk", "DINKES.PK", ["PEMKAB", "DINKES"], state="decided"),
        _subject("s2", "ppk", "DINKES.PK", ["PEMKAB", "DINKES"]),
        subject_id="s1",
    )
    assert [s["subject_id"] for s in subjects_concerned(data)] == ["s1"]


def test_a_case_without_subjects_goes_to_the_ppk_of_its_units() -> None:
    (scope,) = decider_scopes(_data_for("report.recommendation_issued.v1"))
    assert scope.role == "ppk"
    assert scope.lineage == (
        "Pemerintah Kabupaten Sleman",
        "Dinas Kesehatan",
        "Seksi Promosi Kesehatan",
        "DINKES.PK",
    )


def test_contacts_of_the_governor_are_the_province_s_and_the_minister_s_the_platform_s() -> None:
    lineage = ["32", "32.01", "32.01.001"]
    assert contact_units("ppk", lineage) == lineage
    assert contact_units("kepala_opd", lineage) == lineage
    assert contact_units("gubernur", lineage) == ["32"]
    assert contact_units("kemendagri", lineage) == [None]
    platform = role_contact("kemendagri", None, "ditjen.otda@kemendagri.example.go.id", "Ditjen Otda")
    assert platform["_id"] == "kemendagri:platform" and platform["org_unit"] is None
    assert role_contact("gubernur", "32", "gub@example.go.id", "Gubernur")["_id"] == "gubernur:32"
    with pytest.raises(InvalidInput):
        role_contact("kemendagri", "32", "x@example.go.id", "Menteri")
    with pytest.raises(InvalidInput):
        role_contact("kepala_opd", None, "x@example.go.id", "Kepala Dinas")


def test_the_opd_head_is_the_nearest_unit_s_and_one_contact_deciding_two_subjects_gets_one_notice() -> None:
    lineage = ("PEMKAB", "DINKES", "DINKES.PK")
    heads = [
        {"role": "kepala_opd", "org_unit": "PEMKAB", "email": "setda@example.go.id", "name": "Setda"},
        {"role": "kepala_opd", "org_unit": "DINKES", "email": "kadinkes@example.go.id", "name": "Kadinkes"},
    ]
    (head,) = decider_recipients(DeciderScope("kepala_opd", lineage, ("s2",)), heads)
    assert (head.address, head.role, head.subject_ids) == ("kadinkes@example.go.id", "kepala_opd", ("s2",))
    ppk = {"role": "ppk", "org_unit": "PEMKAB", "email": "bupati@example.go.id", "name": "Bupati"}
    first = decider_recipients(DeciderScope("ppk", lineage, ("s1",)), [ppk])
    second = decider_recipients(DeciderScope("ppk", ("PEMKAB", "DISDIK"), ("s3",)), [ppk])
    (merged,) = merged_recipients([*first, *second])
    assert merged.subject_ids == ("s1", "s3")


def test_a_decider_s_notice_greets_their_office_and_names_their_subjects(templates: Templates) -> None:
    data = _with_subjects(
        "report.escalated.v1",
        _subject(
            "s1",
            "kepala_opd",
            "DINKES.PK",
            ["PEMKAB", "DINKES"],
            name="Joko Widodo S",
            employment_type="NON_ASN",
        ),
        _subject("s2", "ppk", "DINKES.PK", ["PEMKAB", "DINKES"], name="Siti Aminah", blocked=True),
        level="blokir_data",
    )
    rule = RULE_BY_NAME["eskalasi_ppk"]
    head = Recipient("kadinkes@example.go.id", "Kadinkes", "kepala_opd", ("s1",))
    message = templates.render(rule, data, template_extra(head, None, data))
    assert "Yth. Kepala Perangkat Daerah," in message.body
    assert "- Joko Widodo S, Pengadministrasi" in message.body
    assert "Siti Aminah" not in message.body
    ppk = Recipient("bupati@example.go.id", "Bupati", "ppk", ("s2",))
    message = templates.render(rule, data, template_extra(ppk, None, data))
    assert "Yth. Pejabat Pembina Kepegawaian," in message.body
    assert "Siti Aminah (NIP 198503122010011002), Pengadministrasi; data kepegawaian diblokir" in message.body
    governor = Recipient("gub@example.go.id", "Gubernur", "gubernur", ("s2",))
    assert "Yth. Gubernur," in templates.render(rule, data, template_extra(governor, None, data)).body
    bkpsdm = templates.render(RULE_BY_NAME["eskalasi_bkpsdm"], data).body
    assert "PPK belum" not in bkpsdm and "Pejabat yang berwenang belum menetapkan" in bkpsdm


def test_a_decider_s_delivery_is_logged_under_their_role() -> None:
    rule = RULE_BY_NAME["eskalasi_ppk"]
    head = Recipient("kadinkes@example.go.id", "Kadinkes", "kepala_opd", ("s1",))
    now = _at(2024, 12, 6, 17)
    doc = rule_delivery(
        rule, "evt-9", rule.event_type, _data_for(rule.event_type), head, Message("s", "b"), now, now
    )
    assert doc["audience"] == "kepala_opd"


def test_the_lifted_block_is_told_to_the_decider_and_bkpsdm(templates: Templates) -> None:
    data = _with_subjects(
        "report.escalation_lifted.v1",
        _subject("s1", "ppk", "DINKES.PK", ["PEMKAB", "DINKES"], state="decided"),
        subject_id="s1",
    )
    (decider,) = [r for r in rules_for("report.escalation_lifted.v1") if r.audience is Audience.DECIDER]
    ppk = Recipient("bupati@example.go.id", "Bupati", "ppk", ("s1",))
    message = templates.render(decider, data, template_extra(ppk, None, data))
    assert "dicabut" in message.subject
    assert (
        "21 Desember 2024 pukul 00.00 WIB" in message.body
        and "6 Januari 2025 pukul 11.00 WIB" in message.body
    )
    assert SUBJECT_NAME in message.body
    (bkpsdm,) = [r for r in rules_for("report.escalation_lifted.v1") if r.audience is Audience.BKPSDM]
    assert "Yth. BKPSDM," in templates.render(bkpsdm, data).body


def test_an_extension_tells_the_reporter_the_new_date_and_the_reason_only(templates: Templates) -> None:
    data = _data_for("report.deadline_extended.v1")
    (rule,) = [r for r in rules_for("report.deadline_extended.v1") if r.audience is Audience.REPORTER]
    message = templates.render(rule, data)
    text = message.subject + message.body
    assert "6 Desember 2024 pukul 23.59 WIB" in message.body
    assert "29 November 2024 pukul 23.59 WIB" in message.body
    assert data["reason"] in message.body and "kode pelacakan" in message.body
    for secret in (
        SUBJECT_NAME,
        "Bambang",
        data["case"]["case_id"],
        "DINKES",
        "Dinas Kesehatan",
        "bkpsdm",
        "PPK",
    ):
        assert secret not in text, secret


def test_an_extended_decision_deadline_moves_the_decider_s_warning() -> None:
    data = _data_for("report.deadline_extended.v1")
    (warning,) = [r for r in rules_for("report.deadline_extended.v1") if r.audience is Audience.DECIDER]
    assert applies(warning, data) and scheduled_at(warning, data) == _at(2024, 12, 3, 17)
    assert superseded_warnings("report.deadline_extended.v1", data) == [
        "peringatan_tenggat_ppk",
        "peringatan_tenggat_ppk_diperpanjang",
    ]
    other = {**data, "deadline": "bawaslu_review"}
    assert not applies(warning, other) and superseded_warnings("report.deadline_extended.v1", other) == []
    assert superseded_warnings("report.escalated.v1", data) == []


def test_a_merge_tells_the_reporters_of_the_moved_reports_without_the_other_case(
    templates: Templates,
) -> None:
    data = _data_for("report.cases_merged.v1")
    (rule,) = rules_for("report.cases_merged.v1")
    assert rule.audience is Audience.REPORTER and rule.reports_key == "report_ids"
    message = templates.render(rule, data)
    text = message.subject + message.body
    assert "digabungkan ke kasus lain" in text and "Laporan diverifikasi satuan tugas netralitas" in text
    assert "kode pelacakan" in message.body.lower()
    for secret in (
        "Bambang",
        data["case"]["case_id"],
        data["merged_case_id"],
        data["reason"],
        "DINKES",
        "bkpsdm",
    ):
        assert secret not in text, secret
    assert contacts_moving("report.cases_merged.v1", data) == (["RPT-7"], "KSS-2024-000123")
    split = {
        "case": _case(),
        "from_case_id": "KSS-1",
        "report_id": "RPT-3",
        "reason": "x",
        "actor_role": "bkpsdm",
    }
    assert contacts_moving("report.split.v1", split) == (["RPT-3"], "KSS-2024-000123")
    assert contacts_moving("report.verified.v1", _data_for("report.verified.v1")) is None


def test_a_case_ending_by_merge_sends_the_merge_notice_not_a_closing_one() -> None:
    (closed,) = rules_for("report.closed.v1")
    assert applies(closed, _data_for("report.closed.v1"))
    assert not applies(closed, {**_data_for("report.closed.v1"), "to_state": "merged"})


def test_state_labels_follow_the_reports_service() -> None:
    from services.reports.domain import STATE_LABELS as REPORTS_LABELS

    assert STATE_LABELS == {state.value: text for state, text in REPORTS_LABELS.items()}
    assert "PPK" not in STATE_LABELS["decided"]


def test_agencies_may_subscribe_to_the_new_public_events() -> None:
    for event_type in (
        "public.report.escalation_lifted.v1",
        "public.report.subject_assigned.v1",
        "public.report.subject_added.v1",
        "public.report.cases_merged.v1",
        "public.report.split.v1",
        "public.report.deadline_extended.v1",
    ):
        assert event_type in PUBLIC_EVENT_TYPES
    assert not_public(["report.deadline_extended.v1"]) == ["report.deadline_extended.v1"]
