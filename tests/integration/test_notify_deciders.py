"""Notify follows the case of issue 13 on real engines and a real SMTP server on loopback: an
escalation about a non-ASN subject reaches the head of the subject's OPD (not the PPK), with
BKPSDM's copy as before; an extended deadline reaches the reporter with the new date and the
reason only; the Minister's contact is the platform's; and an agency receives one of the new
public events by webhook."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts.envelope import new_event
from contracts.reports import (
    PublicReportDeadlineExtendedV1,
    ReportDeadlineExtendedV1,
    ReporterContactV1,
    ReportEscalatedV1,
)
from netral.engines import free_port
from services.kit.sealedbox import ContactSealer, dev_public_key
from services.notify.main import build_app as build_notify
from services.notify.settings import NotifySettings
from tests.conftest import running_app
from tests.integration.notify_setup import Mailbox, WebhookReceiver, publish, serving, smtp_server
from tests.kafka_reader import wait_for

NON_ASN_NAME = "Asep Suryana"
DECISION_DUE = "2029-02-05T17:00:00Z"
EXTENDED_DUE = "2029-02-12T17:00:00Z"
REASON = "Bawaslu meminta keterangan tambahan dari saksi."


def _case(state: str, deadlines: dict[str, str]) -> dict[str, Any]:
    employee = {
        "employee_id": "NA-000123",
        "nip": None,
        "name": NON_ASN_NAME,
        "employment_type": "NON_ASN",
        "position": "Tenaga Administrasi",
        "org_unit_code": "32.01.001",
        "org_unit_path": ["32", "32.01"],
    }
    accused = {"name": NON_ASN_NAME, "nip": None, "org_unit_code": "32.01.001", "position": None}
    return {
        "case_id": "c-law-1",
        "state": state,
        "category": "kampanye_media_sosial",
        "violation_class": "etika",
        "suggested_class": "etika",
        "channels": ["public"],
        "report_count": 1,
        "incident_date": "2029-01-10",
        "accused": accused,
        "subject": employee,
        "match_status": "matched",
        "org_unit_code": "32.01.001",
        "org_unit_path": ["32", "32.01"],
        "bawaslu_references": [],
        "deadlines": deadlines,
        "sanction": None,
        "received_at": "2029-01-11T02:00:00Z",
        "version": 5,
        "subjects": [
            {
                "subject_id": "s1",
                "kind": "terlapor",
                "accused": accused,
                "employee": employee,
                "match_status": "matched",
                "state": state,
                "violation_class": None,
                "sanction": None,
                "examiner_roles": ["bkpsdm", "inspektorat", "kepala_opd"],
                "decider_role": "kepala_opd",
                "data_blocked": False,
            }
        ],
    }


def _text(message: Any) -> str:
    return str(message.get_payload(decode=True).decode())


async def test_a_non_asn_escalation_reaches_the_opd_head_and_an_extension_the_reporter(
    settings_kwargs: dict[str, object], mint: Callable[..., str]
) -> None:
    mailbox = Mailbox()
    smtp_port, hook_port = free_port(), free_port()
    controller = smtp_server(smtp_port, mailbox)
    settings = NotifySettings(
        smtp_port=smtp_port,
        **{"quiet_start": dt.time(0, 0), "quiet_end": dt.time(0, 0), **settings_kwargs},  # type: ignore[arg-type]
    )
    platform = {"Authorization": f"Bearer {mint('bkpsdm')}"}
    bawaslu = WebhookReceiver()
    app = build_notify(settings)
    try:
        async with running_app(app) as notify, serving(bawaslu.app(), hook_port):
            for role, unit, email in (
                ("kepala_opd", "32.01.001", "kadisdik@example.go.id"),
                ("ppk", "32.01", "bupati@example.go.id"),
                ("bkpsdm", "32.01", "bkpsdm@example.go.id"),
            ):
                body = {"role": role, "org_unit": unit, "email": email, "name": f"Kontak {role}"}
                answer = await notify.put("/v1/role-contacts", json=body, headers=platform)
                assert answer.status_code == 200, answer.text
            minister = {"role": "kemendagri", "email": "otda@example.go.id", "name": "Ditjen Otda"}
            pemda = {"Authorization": f"Bearer {mint('bkpsdm', org_unit='32')}"}
            assert (await notify.put("/v1/role-contacts", json=minister, headers=pemda)).status_code == 403
            answer = await notify.put("/v1/role-contacts", json=minister, headers=platform)
            assert answer.status_code == 200 and answer.json()["org_unit"] is None
            subscribed = await notify.post(
                "/v1/subscriptions",
                json={
                    "agency": "bawaslu",
                    "event_types": ["public.report.deadline_extended.v1"],
                    "url": f"http://127.0.0.1:{hook_port}/hook",
                },
                headers=platform,
            )
            assert subscribed.status_code == 201, subscribed.text
            bawaslu.secret = subscribed.json()["secret"]

            sealer = ContactSealer(dev_public_key(Path(str(settings.notify_contact_private_key_file))))
            contact = ReporterContactV1(
                report_id="r-law-1",
                case_id="c-law-1",
                sealed_contact=sealer.seal({"contact": "pelapor.warga@example.org"}).decode(),
            )
            prefix = settings.kafka_topic_prefix
            bootstrap = str(settings_kwargs["kafka_bootstrap_servers"])
            await publish(bootstrap, prefix, [new_event(contact, "/netral/reports")])
            store = app.state.notify_store

            async def contact_known() -> bool:
                return bool(await store.reporter_contacts.count_documents({}) == 1)

            await wait_for(contact_known, timeout=60)

            escalated = ReportEscalatedV1.model_validate(
                {
                    "case": _case("recommended", {"decision": DECISION_DUE}),
                    "level": "peringatan",
                    "due_at": DECISION_DUE,
                    "detected_at": "2029-02-06T01:00:00Z",
                }
            )
            extension = {
                "deadline": "decision",
                "previous_due_at": DECISION_DUE,
                "due_at": EXTENDED_DUE,
                "reason": REASON,
                "at": "2029-02-01T03:00:00Z",
            }
            extended = ReportDeadlineExtendedV1.model_validate(
                {
                    "case": _case("recommended", {"decision": EXTENDED_DUE}),
                    "actor_role": "bkpsdm",
                    **extension,
                }
            )
            public_case = {
                key: value
                for key, value in _case("recommended", {"decision": EXTENDED_DUE}).items()
                if key not in ("accused", "subject", "match_status", "sanction", "channels", "subjects")
            }
            public_extended = PublicReportDeadlineExtendedV1.model_validate(
                {"case": public_case, **extension}
            )
            events = [
                new_event(escalated, "/netral/reports"),
                new_event(extended, "/netral/reports"),
                new_event(public_extended, "/netral/reports"),
            ]
            await publish(bootstrap, prefix, events)
            await wait_for(lambda: len(mailbox.messages) >= 3 and len(bawaslu.received) == 1, timeout=90)

            head = mailbox.to("kadisdik@example.go.id")
            assert len(head) == 1
            assert "Peringatan" in head[0]["Subject"]
            head_text = _text(head[0])
            assert "Yth. Kepala Perangkat Daerah," in head_text and NON_ASN_NAME in head_text
            (copy,) = mailbox.to("bkpsdm@example.go.id")
            assert "Pejabat yang berwenang belum menetapkan" in _text(copy)
            assert mailbox.to("bupati@example.go.id") == [] and mailbox.to("otda@example.go.id") == []

            (update,) = mailbox.to("pelapor.warga@example.org")
            text = _text(update)
            assert "Tenggat baru: 12 Februari 2029 pukul 23.59 WIB" in text and REASON in text
            assert NON_ASN_NAME not in text and "c-law-1" not in text and "32.01" not in text

            assert bawaslu.received[0]["event"]["type"] == "public.report.deadline_extended.v1"
            assert bawaslu.received[0]["event"]["data"]["reason"] == REASON

            log = (await notify.get("/v1/deliveries", headers=platform)).json()
            audiences = sorted(item["audience"] for item in log["items"] if item["channel"] == "email")
            # The decider's warning against the new due date waits for its moment; nothing else.
            assert audiences == ["bkpsdm", "kepala_opd", "kepala_opd", "reporter"]
            assert "pelapor.warga" not in str(log)
    finally:
        controller.stop()


async def test_a_subject_s_decision_cancels_only_the_warnings_about_decided_subjects_in_mongodb(
    settings_kwargs: dict[str, object],
) -> None:
    settings = NotifySettings(**settings_kwargs)  # type: ignore[arg-type]
    app = build_notify(settings)
    async with running_app(app):
        store = app.state.notify_store
        base = {"case_id": "c-law-2", "rule": "peringatan_tenggat_ppk", "status": "pending"}
        await store.deliveries.insert_many(
            [
                {**base, "_id": "only-s1", "subject_ids": ["s1"]},
                {**base, "_id": "s1-and-s2", "subject_ids": ["s1", "s2"]},
                {**base, "_id": "planned-before-subjects"},
                {**base, "_id": "none-named", "subject_ids": []},
                {**base, "_id": "other-case", "case_id": "c-law-3", "subject_ids": ["s1"]},
            ]
        )
        await store.cancel_pending_of_subjects(
            None, "c-law-2", ["peringatan_tenggat_ppk"], ["s1"], "keputusan sudah ditetapkan"
        )
        statuses = {doc["_id"]: doc["status"] async for doc in store.deliveries.find({})}
        assert statuses == {
            "only-s1": "cancelled",
            "s1-and-s2": "pending",
            "planned-before-subjects": "pending",
            "none-named": "pending",
            "other-case": "pending",
        }
