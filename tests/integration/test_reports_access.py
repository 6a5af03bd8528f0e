"""Reports service, against real engines: who may call what (every endpoint × every role, and every
case action × every role in every state), and what the public endpoints answer to arbitrary input
(Hypothesis): never a 5xx, readable 422s, well-formed tracking codes, a working rate limit and
body limit.

The expected access below is written out from the design brief's roles table and case flow. It is
deliberately not computed from `services.reports.api` or `services.reports.domain`: a test that
read the service's own role tuples would agree with any mistake in them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import re
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from netral.devissuer import mint_token
from services.kit.clock import FixedClock
from services.kit.settings import ServiceSettings
from services.reports.main import build_app as build_reports
from services.reports.settings import ReportsSettings
from tests.conftest import running_app
from tests.integration.reports_pemda import registry_and_reports

NOW = dt.datetime(2024, 11, 4, 2, 0, tzinfo=dt.UTC)  # Monday 09:00 WIB
TODAY = dt.date(2024, 11, 4)  # in Asia/Jakarta, the service's calendar
BUDI = "198503152010011005"  # PNS in 32.01.001, see reports_pemda.PEOPLE
OPD_UNIT = "32.01.001"
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
HIGH_LIMIT = "100000/minute"  # the public endpoints' rate limits, out of the way

# ------------------------------------------------------------------ who may call what

ROLES = ("employee", "opd_admin", "bkpsdm", "ppk", "inspektorat", "bawaslu", "bkn", "agency")
HANDLERS = ("bkpsdm", "ppk", "inspektorat", "bawaslu", "bkn")
INVALID_TOKENS = ("garbage", "expired", "forged")
CALLERS = (*ROLES, "anonymous", *INVALID_TOKENS)
EVERYONE = frozenset(CALLERS)

# Endpoint → the callers it admits. Public GET endpoints never look at a token, so even an invalid
# one is no reason to refuse them; the public intake does look (a supervisor files with their
# token), so there an invalid token is refused and a valid one must belong to a supervisor.
ACCESS: dict[str, frozenset[str]] = {
    "GET /v1/categories": EVERYONE,
    "POST /v1/reports": frozenset({"anonymous", "employee", "opd_admin"}),
    "POST /v1/reports/bawaslu": frozenset({"bawaslu"}),
    "POST /v1/reports/track": EVERYONE,
    "GET /v1/reports/track/{code}": EVERYONE,
    "GET /v1/reports": frozenset({"opd_admin", "bkpsdm", "ppk", "inspektorat", "bawaslu", "bkn"}),
    "GET /v1/reports/{case_id}": frozenset({"opd_admin", "bkpsdm", "ppk", "inspektorat", "bawaslu", "bkn"}),
    "PUT /v1/reports/{case_id}/subject": frozenset({"bkpsdm", "bkn"}),
    "POST /v1/reports/{case_id}/transitions": frozenset(HANDLERS),
    "POST /v1/reports/{case_id}/subjects/{subject_id}/transitions": frozenset(HANDLERS),
    "POST /v1/reports/{case_id}/subjects": frozenset({"bkpsdm", "bkn"}),
    "POST /v1/reports/{case_id}/deadline-extensions": frozenset({"bawaslu", "bkpsdm", "bkn"}),
    "POST /v1/reports/{case_id}/merge": frozenset({"bkpsdm", "bkn"}),
    "POST /v1/reports/{case_id}/split": frozenset({"bkpsdm", "bkn"}),
    "POST /v1/reports/{case_id}/reporter": frozenset({"bkpsdm", "inspektorat"}),
    "GET /v1/reporter-access-log": frozenset({"bkpsdm", "inspektorat", "bkn"}),
    "POST /v1/reporter-access-log/verify": frozenset({"bkpsdm", "inspektorat", "bkn"}),
}

# What an admitted caller gets with the requests built in `_matrix_request`. The transition asks to
# close a case that was only just received: every case handler passes the role check and then
# learns that the state does not allow it (409), which the per-action matrix below goes into.
ADMITTED_STATUS = {
    "GET /v1/categories": 200,
    "POST /v1/reports": 201,
    "POST /v1/reports/bawaslu": 201,
    "POST /v1/reports/track": 200,
    "GET /v1/reports/track/{code}": 200,
    "GET /v1/reports": 200,
    "GET /v1/reports/{case_id}": 200,
    "PUT /v1/reports/{case_id}/subject": 200,
    "POST /v1/reports/{case_id}/transitions": 409,
    # The requests below pass the role check and are then refused by the rules (see _matrix_request).
    "POST /v1/reports/{case_id}/subjects/{subject_id}/transitions": 409,
    "POST /v1/reports/{case_id}/subjects": 422,
    "POST /v1/reports/{case_id}/deadline-extensions": 422,
    "POST /v1/reports/{case_id}/merge": 422,
    "POST /v1/reports/{case_id}/split": 422,
    "POST /v1/reports/{case_id}/reporter": 200,
    "GET /v1/reporter-access-log": 200,
    "POST /v1/reporter-access-log/verify": 200,
}

# State → action → the roles that may take it there. Anything not listed is illegal in that state
# (409, naming what is possible); a listed action by another role is forbidden (403).
TASK_FORCE = frozenset({"bkn", "bkpsdm"})
BKPSDM = frozenset({"bkpsdm"})
ACTION_ROLES: dict[str, dict[str, frozenset[str]]] = {
    "received": {"verify": TASK_FORCE, "reject": TASK_FORCE, "cancel": BKPSDM, "mark_out_of_service": BKPSDM},
    "verified": {
        "reject": frozenset({"bawaslu"}),
        "recommend": frozenset({"bawaslu"}),
        "cancel": BKPSDM,
        "mark_out_of_service": BKPSDM,
    },
    "recommended": {
        "examine": frozenset({"inspektorat", "bkpsdm"}),
        "cancel": BKPSDM,
        "mark_out_of_service": BKPSDM,
    },
    "examined": {
        "decide_sanction": frozenset({"ppk"}),
        "decide_not_proven": frozenset({"ppk"}),
        "cancel": BKPSDM,
        "mark_out_of_service": BKPSDM,
    },
    "decided": {"record": BKPSDM, "mark_out_of_service": BKPSDM},
    "recorded": {"file_appeal": BKPSDM, "close": BKPSDM, "mark_out_of_service": BKPSDM},
    "appealed": {"resolve_appeal": BKPSDM, "close": BKPSDM, "mark_out_of_service": BKPSDM},
    "closed": {},
    "rejected": {},
    "cancelled": {},
    "not_proven": {},
    "subject_out_of_service": {},
}
TARGET = {
    "verify": "verified",
    "reject": "rejected",
    "recommend": "recommended",
    "examine": "examined",
    "decide_sanction": "decided",
    "decide_not_proven": "not_proven",
    "record": "recorded",
    "file_appeal": "appealed",
    "resolve_appeal": "recorded",
    "close": "closed",
    "cancel": "cancelled",
    "mark_out_of_service": "subject_out_of_service",
}
ACTIONS = tuple(TARGET)
# The ordinary way from a new case to each open state: (action, role) steps.
HAPPY_PATH = (
    ("verify", "bkn"),
    ("recommend", "bawaslu"),
    ("examine", "inspektorat"),
    ("decide_sanction", "ppk"),
    ("record", "bkpsdm"),
    ("file_appeal", "bkpsdm"),
)
STEPS_TO = {
    "received": 0,
    "verified": 1,
    "recommended": 2,
    "examined": 3,
    "decided": 4,
    "recorded": 5,
    "appealed": 6,
}
# A social-media campaign that the examination decides is a discipline breach (issue 13: the class is
# the examination's): a PNS then gets a PP 94/2021 sanction, and a medium one can be objected to.
SANCTION = "potong_tukin_25_6_bulan"
# After an objection is decided, no second one can be filed: the case can only be closed.
AFTER_ACTION = {"resolve_appeal": {"close": BKPSDM, "mark_out_of_service": BKPSDM}}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def report_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "kampanye_media_sosial",
        "description": "Terlapor mengunggah ajakan memilih pasangan calon nomor 2 di akun Instagram.",
        "incident_date": "2024-11-01",
        "location": "Cibinong, Kabupaten Bogor",
        "accused": {"name": "Budi Santoso", "nip": BUDI, "org_unit_code": OPD_UNIT},
        "evidence": [{"url": "https://instagram.com/p/abc123", "media_type": "image/jpeg"}],
        "reporter": {"name": "Rina Wulandari", "contact": "rina.w@example.org"},
    }
    body.update(overrides)
    return body


def transition_body(action: str) -> dict[str, Any]:
    body: dict[str, Any] = {"action": action, "reason": f"Tindak lanjut: {action} oleh pejabat berwenang."}
    if action == "examine":
        body["violation_class"] = "disiplin"
    if action == "decide_sanction":
        body["sanction"] = SANCTION
    if action == "record":
        body |= {"decree_number": "800/1/BKPSDM/2024", "decree_date": TODAY.isoformat()}
    if action == "resolve_appeal":
        body["outcome"] = "dikuatkan"
    return body


def assert_readable_422(response: httpx.Response) -> None:
    """The kit's 422: `{detail, errors: [{field, message}]}`, field a dotted path or null."""
    body = response.json()
    assert isinstance(body.get("detail"), str) and body["detail"], body
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, body
    for error in errors:
        assert set(error) == {"field", "message"}, body
        assert error["field"] is None or isinstance(error["field"], str), body
        assert isinstance(error["message"], str) and error["message"], body


class Callers:
    """Headers for every caller in CALLERS."""

    def __init__(self, mint: Callable[..., str], key_dir: Path, other_key_dir: Path) -> None:
        self.mint = mint
        # bkpsdm may do the most, so these prove the token itself is refused, not its role.
        self._invalid = {
            "garbage": bearer("not-a-jwt.at-all"),
            "expired": bearer(mint_token("bkpsdm", hours=-1, directory=key_dir, settings=ServiceSettings())),
            "forged": bearer(mint_token("bkpsdm", directory=other_key_dir, settings=ServiceSettings())),
        }

    def headers(self, caller: str) -> dict[str, str]:
        if caller == "anonymous":
            return {}
        if caller in self._invalid:
            return self._invalid[caller]
        return bearer(self.mint(caller, org_unit=OPD_UNIT if caller == "opd_admin" else None))


class Cases:
    """Cases made through the API and moved along the happy path; each on its own incident date,
    so that no two are linked into one case."""

    def __init__(self, client: httpx.AsyncClient, callers: Callers) -> None:
        self.client = client
        self.callers = callers
        self._serial = itertools.count(1)

    async def new(self) -> dict[str, str]:
        serial = next(self._serial)
        day = dt.date(2024, 10, 31) - dt.timedelta(days=4 * serial)
        filed = await self.client.post(
            "/v1/reports/bawaslu",
            json=report_body(incident_date=day.isoformat(), bawaslu_reference=f"{serial:03d}/TM/PB/11/2024"),
            headers=self.callers.headers("bawaslu"),
        )
        assert filed.status_code == 201, filed.text
        assert filed.json()["linked"] is False
        receipt = filed.json()
        return {
            "case_id": receipt["case_id"],
            "tracking_code": receipt["tracking_code"],
            "date": day.isoformat(),
        }

    async def move(self, case_id: str, action: str, role: str) -> httpx.Response:
        return await self.client.post(
            f"/v1/reports/{case_id}/transitions",
            json=transition_body(action),
            headers=self.callers.headers(role),
        )

    async def in_state(self, state: str) -> str:
        case_id = (await self.new())["case_id"]
        for action, role in HAPPY_PATH[: STEPS_TO[state]]:
            moved = await self.move(case_id, action, role)
            assert moved.status_code == 200, moved.text
        assert await self.state(case_id) == state
        return case_id

    async def state(self, case_id: str) -> str:
        response = await self.client.get(f"/v1/reports/{case_id}", headers=self.callers.headers("bkpsdm"))
        assert response.status_code == 200, response.text
        state: str = response.json()["state"]
        return state


def _matrix_request(endpoint: str, case: dict[str, str], serial: int) -> tuple[str, str, dict[str, Any]]:
    method, template = endpoint.split(" ", 1)
    path = template.format(case_id=case["case_id"], code=case["tracking_code"], subject_id="s1")
    kwargs: dict[str, Any] = {}
    # Filings are about the case's person and incident, so they are linked to it.
    if endpoint == "POST /v1/reports":
        kwargs["json"] = report_body(incident_date=case["date"])
    elif endpoint == "POST /v1/reports/bawaslu":
        kwargs["json"] = report_body(incident_date=case["date"], bawaslu_reference=f"M{serial:03d}/TM/2024")
    elif endpoint == "PUT /v1/reports/{case_id}/subject":
        kwargs["json"] = {"employee_id": BUDI}
    elif endpoint in (
        "POST /v1/reports/{case_id}/transitions",
        "POST /v1/reports/{case_id}/subjects/{subject_id}/transitions",
    ):
        kwargs["json"] = transition_body("close")
    elif endpoint == "POST /v1/reports/{case_id}/subjects":
        kwargs["json"] = {
            "employee_id": "199999999999999999",
            "reason": "Atasan mengetahui dan tidak bertindak.",
        }
    elif endpoint == "POST /v1/reports/{case_id}/deadline-extensions":
        kwargs["json"] = {
            "deadline": "verification",
            "working_days": 2,
            "reason": "Perlu keterangan tambahan.",
        }
    elif endpoint == "POST /v1/reports/{case_id}/merge":
        kwargs["json"] = {"from_case_id": case["case_id"], "reason": "Laporan tentang kejadian yang sama."}
    elif endpoint == "POST /v1/reports/{case_id}/split":
        kwargs["json"] = {"report_id": "tidak-ada", "reason": "Laporan ini tentang kejadian lain."}
    elif endpoint == "POST /v1/reports/track":
        kwargs["json"] = {"code": case["tracking_code"]}
    elif endpoint == "POST /v1/reports/{case_id}/reporter":
        kwargs["json"] = {"reason": "Klarifikasi keterangan pelapor untuk pemeriksaan"}
    return method, path, kwargs


async def test_every_endpoint_and_every_case_action_admits_exactly_the_roles_of_the_brief(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path, tmp_path: Path
) -> None:
    callers = Callers(mint, key_dir, tmp_path / "other-issuer")
    clock = FixedClock(NOW)
    async with registry_and_reports(
        settings_kwargs,
        key_dir,
        mint("bkpsdm"),
        clock,
        rate_limit_intake=HIGH_LIMIT,
        rate_limit_tracking=HIGH_LIMIT,
    ) as pemda:
        client = pemda.reports
        cases = Cases(client, callers)

        # The table covers every endpoint the service has, so a new one cannot skip this test.
        routes = {
            f"{method.upper()} {path}"
            for path, operations in pemda.app.openapi()["paths"].items()
            if path.startswith("/v1/")
            for method in operations
        }
        assert routes == set(ACCESS)

        # ---- endpoint × caller
        case = await cases.new()
        refused: list[str] = []
        serial = itertools.count(1)
        for endpoint, admitted in ACCESS.items():
            for caller in CALLERS:
                method, path, kwargs = _matrix_request(endpoint, case, next(serial))
                response = await client.request(method, path, headers=callers.headers(caller), **kwargs)
                where = f"{endpoint} as {caller}: {response.status_code} {response.text[:300]}"
                if caller in admitted:
                    assert response.status_code == ADMITTED_STATUS[endpoint], where
                elif caller in ("anonymous", *INVALID_TOKENS):
                    assert response.status_code == 401, where
                    assert response.headers["www-authenticate"].startswith("Bearer"), where
                    refused.append(endpoint)
                else:
                    assert response.status_code == 403, where
                    assert response.json()["detail"], where
                    refused.append(endpoint)
        assert len(refused) == sum(len(EVERYONE - admitted) for admitted in ACCESS.values())
        # The supervisors' filings were linked to the case (same person, same incident).
        detail = (
            await client.get(f"/v1/reports/{case['case_id']}", headers=callers.headers("bkpsdm"))
        ).json()
        assert sorted(set(detail["channels"])) == ["bawaslu", "public", "supervisor"]
        assert detail["state"] == "received"
        # Only the reporter-identity reads that were admitted are in the audit log.
        log = await client.get("/v1/reporter-access-log", headers=callers.headers("bkn"))
        assert sorted(item["actor_role"] for item in log.json()["items"]) == ["bkpsdm", "inspektorat"]
        # A case id does not open the public tracking page.
        assert (await client.get(f"/v1/reports/track/{case['case_id']}")).status_code == 422
        # A unit-bound admin sees nothing outside their unit, even with the right role.
        outsider = bearer(mint("opd_admin", org_unit="32.02"))
        assert (await client.get(f"/v1/reports/{case['case_id']}", headers=outsider)).status_code == 403
        assert (await client.get("/v1/reports", headers=outsider)).json()["total"] == 0

        # ---- case action × role × state
        terminal_checked: set[str] = set()

        async def check_illegal_actions(case_id: str, state: str) -> None:
            """Every action not listed for `state` is a 409 naming the listed ones, whichever case
            handler asks: the state is checked before the role."""
            listed = ACTION_ROLES[state]

            async def illegal(action: str, role: str) -> None:
                response = await cases.move(case_id, action, role)
                where = f"{action} by {role} in {state}: {response.status_code} {response.text[:300]}"
                assert response.status_code == 409, where
                body = response.json()
                assert set(body["allowed_actions"]) == set(listed), where
                for named in listed:
                    assert f"({named})" in body["detail"], where
                if not listed:
                    assert "sudah selesai" in body["detail"], where

            await asyncio.gather(
                *(illegal(action, role) for action in ACTIONS if action not in listed for role in HANDLERS)
            )

        transitions = 0
        for state, listed in ACTION_ROLES.items():
            if not listed:
                continue  # terminal: checked when a transition first reaches it
            probe = await cases.in_state(state)
            # What a reader is told they may do matches what they may really do.
            for role in ACCESS["GET /v1/reports/{case_id}"]:
                shown = await client.get(f"/v1/reports/{probe}", headers=callers.headers(role))
                expected = {action for action, roles in listed.items() if role in roles}
                assert set(shown.json()["allowed_actions"]) == expected, (state, role, shown.text)
            await check_illegal_actions(probe, state)

            async def forbidden(case_id: str, state: str, action: str, role: str) -> None:
                denied = await cases.move(case_id, action, role)
                assert denied.status_code == 403, f"{action} by {role} in {state}: {denied.text}"
                assert denied.json()["detail"], denied.text

            await asyncio.gather(
                *(
                    forbidden(probe, state, action, role)
                    for action, allowed in listed.items()
                    for role in ROLES
                    if role not in allowed
                )
            )
            assert await cases.state(probe) == state  # nothing refused changed the case
            history = (await client.get(f"/v1/reports/{probe}", headers=callers.headers("bkpsdm"))).json()
            assert len(history["history"]) == STEPS_TO[state] + 1

            for action, allowed in listed.items():
                for role in sorted(allowed):
                    case_id = probe if probe else await cases.in_state(state)
                    probe = ""  # the probe case serves the first success; the rest need their own
                    moved = await cases.move(case_id, action, role)
                    where = f"{action} by {role} in {state}: {moved.status_code} {moved.text[:300]}"
                    assert moved.status_code == 200, where
                    target = TARGET[action]
                    assert moved.json()["state"] == target, where
                    after = AFTER_ACTION.get(action, ACTION_ROLES[target])
                    expected = {a for a, roles in after.items() if role in roles}
                    assert set(moved.json()["allowed_actions"]) == expected, where
                    transitions += 1
                    if not ACTION_ROLES[target] and target not in terminal_checked:
                        terminal_checked.add(target)
                        await check_illegal_actions(case_id, target)
        assert transitions == sum(len(roles) for listed in ACTION_ROLES.values() for roles in listed.values())
        assert terminal_checked == {state for state, listed in ACTION_ROLES.items() if not listed}


# ------------------------------------------------------------------ the public endpoints, fuzzed

T = TypeVar("T")


def examples(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """`count` inputs drawn by Hypothesis (its edge cases included), for the test to send.

    Drawn up front, before the services start: Hypothesis reseeds the global `random` and checks
    that nothing else touched it while drawing, which the services' own tasks would do if they ran
    meanwhile; and an async test cannot await inside a @given function. The price is Hypothesis's
    shrinking, so `replay` reports the shortest failing input instead."""
    drawn: list[T] = []

    @settings(
        deadline=None,
        database=None,
        max_examples=count,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )
    @given(strategy)
    def collect(value: T) -> None:
        drawn.append(value)

    collect()
    assert len(drawn) >= count // 2, f"only {len(drawn)} examples drawn"
    return drawn


async def replay(inputs: list[T], check: Callable[[T], Awaitable[None]]) -> None:
    """Check every input; on failure, report how many failed and the shortest of them."""
    failures: list[tuple[str, Exception]] = []
    for value in inputs:
        try:
            await check(value)
        except Exception as exc:  # noqa: BLE001 - collected, then raised with the input that caused it
            failures.append((repr(value), exc))
    if failures:
        shown, error = min(failures, key=lambda failure: len(failure[0]))
        raise AssertionError(
            f"{len(failures)} of {len(inputs)} inputs failed; shortest: {shown[:3000]}\n{error}"
        ) from error


# Any character, now and then a lone surrogate: JSON may carry them as \\udXXX escapes.
any_char = st.one_of(st.characters(), st.characters(categories=["Cs"]))
word_char = st.characters(categories=["L", "N"])


def any_text(max_size: int = 40, long: int = 6_000) -> st.SearchStrategy[str]:
    """Any text: short, blank-looking, or one character repeated up to `long` times (past the limits)."""
    return st.one_of(
        st.text(any_char, max_size=max_size),
        st.text(st.sampled_from(" \t\n\u00a0\u200b\x00"), max_size=8),
        st.builds(lambda ch, n: ch * n, any_char, st.integers(0, long)),
    )


def words(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """Text the service must accept for a field of these bounds: letters and digits of any script,
    with spaces inside but none to strip."""
    return st.text(word_char, min_size=min_size, max_size=max_size).flatmap(
        lambda text: st.sets(st.integers(1, max(1, len(text) - 2)), max_size=len(text) // 5).map(
            lambda spaces: "".join(
                " " if i in spaces and 0 < i < len(text) - 1 else c for i, c in enumerate(text)
            )
        )
    )


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),
    st.text(any_char, max_size=20),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(any_char, max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)

CATEGORY_CODES = (
    "alat_peraga_kampanye",
    "kampanye_media_sosial",
    "interaksi_akun_kandidat",
    "foto_bersama_kandidat",
    "hadir_deklarasi_kampanye",
    "kampanye_pasangan_tanpa_cuti",
    "anggota_pengurus_parpol",
    "mendekati_parpol",
    "mencalonkan_diri",
    "kegiatan_keberpihakan",
    "tim_kampanye",
    "tim_ahli_pemenangan_konsultan",
    "atribut_partai_pns",
    "mengerahkan_pns_lain",
    "fasilitas_negara",
    "mengumpulkan_ktp",
    "keputusan_menguntungkan_merugikan",
    "lainnya",
)
# The class each category suggests (the examination decides): the SKB appendix's six acts that are
# usually ethics breaches, then PP 94/2021 Pasal 5 huruf n's discipline breaches (issue 13).
CLASSES = ("etika",) * 6 + ("disiplin",) * 12
nip = st.from_regex(r"\A[0-9]{18}\Z")
unit_code = st.one_of(
    st.sampled_from(["32", "32.01", OPD_UNIT, "32.02", "99.99.999"]),
    st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9.\-_]{0,30}\Z"),
)
past_date = st.dates(min_value=dt.date(1, 1, 1), max_value=TODAY)
recent_date = st.dates(min_value=dt.date(2023, 1, 1), max_value=TODAY)
valid_accused = st.fixed_dictionaries(
    {"name": words(2, 200)},
    optional={"nip": nip, "org_unit_code": unit_code, "position": st.one_of(st.none(), words(1, 200))},
)
valid_evidence = st.fixed_dictionaries(
    {},
    optional={
        "url": st.from_regex(r"\Ahttps?://[!-~]{1,200}\Z"),
        "sha256": st.from_regex(r"\A[0-9a-fA-F]{64}\Z"),
        "media_type": st.sampled_from(["image/jpeg", "video/mp4", "application/pdf", "text/plain"]),
        "note": words(1, 500),
    },
).filter(lambda item: bool({"url", "sha256", "note"} & set(item)))
valid_reporter = st.fixed_dictionaries({"name": words(2, 200), "contact": words(5, 200)})
valid_report = st.fixed_dictionaries(
    {
        "category": st.sampled_from(CATEGORY_CODES),
        "description": words(20, 1500),
        "incident_date": recent_date.map(dt.date.isoformat),
        "location": words(2, 300),
        # One person, or several (issue 13: a report may name several accused).
        "accused": st.one_of(valid_accused, st.lists(valid_accused, min_size=1, max_size=3)),
    },
    optional={"evidence": st.lists(valid_evidence, max_size=10), "reporter": st.none() | valid_reporter},
)


def or_junk(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the valid value, often a wrong one of any JSON type."""
    return st.one_of(valid, valid, any_text(), json_value)


any_date = st.one_of(
    past_date.map(dt.date.isoformat),
    st.dates().map(dt.date.isoformat),  # far future included
    st.datetimes().map(dt.datetime.isoformat),
    st.sampled_from(["2024-02-30", "2023-02-29", "2024-13-01", "0000-01-01", "10000-01-01", "01-11-2024"]),
    st.from_regex(r"\A[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}\Z"),
    st.integers(),
)
fuzzed_accused = st.one_of(
    st.fixed_dictionaries(
        {"name": or_junk(words(2, 200))},
        optional={
            "nip": or_junk(nip),
            "org_unit_code": or_junk(unit_code),
            "position": or_junk(words(1, 200)),
            "extra": json_value,
        },
    ),
    json_value,
)
fuzzed_evidence = st.one_of(
    st.lists(
        st.one_of(
            valid_evidence,
            st.fixed_dictionaries(
                {},
                optional={
                    "url": or_junk(st.just("https://example.org/a")),
                    "sha256": any_text(),
                    "media_type": any_text(),
                    "note": any_text(),
                },
            ),
            json_value,
        ),
        max_size=12,
    ),
    json_value,
)
fuzzed_report = st.fixed_dictionaries(
    {},
    optional={
        "category": st.one_of(st.sampled_from(CATEGORY_CODES), any_text(), json_value),
        "description": or_junk(words(20, 300)),
        "incident_date": any_date,
        "location": or_junk(words(2, 100)),
        "accused": fuzzed_accused,
        "evidence": fuzzed_evidence,
        "reporter": st.one_of(st.none(), valid_reporter, json_value),
        "bawaslu_reference": any_text(),
    },
).flatmap(
    lambda body: st.dictionaries(st.text(any_char, max_size=15), json_value, max_size=3).map(
        lambda extra: {**extra, **body}
    )
)


def encoded(body: Any) -> bytes:
    """JSON as a client may send it: ASCII with escapes, which also carries lone surrogates."""
    return json.dumps(body, ensure_ascii=True).encode()


JSON = {"content-type": "application/json"}


# How a person types a code back: a choice per character among its spellings (any case, and O
# for 0, I or L for 1), and any separator.
typing_style = st.tuples(
    st.lists(st.integers(0, 4), min_size=12, max_size=12), st.sampled_from(["-", "", " ", "--"])
)


def typed_back(code: str, style: tuple[list[int], str]) -> str:
    picks, separator = style
    spellings = [{"0": "0oO", "1": "1iIlL"}.get(c, c + c.lower()) for c in code.replace("-", "")]
    chars = [options[pick % len(options)] for options, pick in zip(spellings, picks, strict=True)]
    return separator.join("".join(chars[i : i + 4]) for i in range(0, 12, 4))


code_like = st.builds(
    lambda chars, separator: separator.join("".join(chars[i : i + 4]) for i in range(0, 12, 4)),
    st.lists(st.sampled_from(CODE_ALPHABET + CODE_ALPHABET.lower()), min_size=12, max_size=12),
    st.sampled_from(["-", "", " "]),
)
not_quite_code = st.one_of(
    code_like.map(lambda code: code[:-1]),
    code_like.map(lambda code: code + "7"),
    code_like.map(lambda code: "U" + code[1:]),
    st.text(st.sampled_from(CODE_ALPHABET + "-"), min_size=1, max_size=30).filter(
        lambda t: len(t.replace("-", "")) != 12
    ),
)


printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
authorization = st.one_of(
    st.text(printable, min_size=1, max_size=60),
    st.text(printable, min_size=1, max_size=300).map(lambda token: f"Bearer {token}"),
    st.sampled_from(["Bearer", "Basic dXNlcjpwYXNz", "bearer x.y.z", "Bearer eyJhbGciOiJub25lIn0.e30."]),
)


raw_body = st.one_of(
    st.binary(max_size=400),
    st.text(any_char, max_size=400).map(lambda text: text.encode("utf-8", "surrogatepass")),
    json_value.map(lambda value: json.dumps(value)[:-1].encode()),  # cut short
)
content_type = st.sampled_from(
    ["application/json", "application/problem+json", "text/plain", "multipart/form-data", None]
)
query = st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3)


async def test_public_endpoints_answer_any_input_without_a_server_error(
    settings_kwargs: dict[str, object], mint: Callable[..., str], key_dir: Path
) -> None:
    valid_inputs = examples(st.tuples(valid_report, typing_style), 200)
    json_inputs = examples(st.one_of(fuzzed_report, fuzzed_report, json_value), 300)
    raw_inputs = examples(st.tuples(raw_body, content_type), 150)
    header_inputs = examples(authorization, 100)
    code_inputs = examples(st.one_of(any_text(60, long=4000), code_like, not_quite_code), 250)
    shaped_inputs = examples(st.one_of(code_like, not_quite_code), 150)
    query_inputs = examples(st.tuples(query, st.none() | authorization), 100)

    clock = FixedClock(NOW)
    async with registry_and_reports(
        settings_kwargs,
        key_dir,
        mint("bkpsdm"),
        clock,
        rate_limit_intake=HIGH_LIMIT,
        rate_limit_tracking=HIGH_LIMIT,
    ) as pemda:
        client = pemda.reports
        limit = pemda.settings.max_body_bytes
        received: list[str] = []

        catalogue = await client.get("/v1/categories")
        assert catalogue.status_code == 200
        items = catalogue.json()["items"]
        assert [(c["code"], c["class"]) for c in items] == list(zip(CATEGORY_CODES, CLASSES, strict=True))
        assert all(isinstance(c["name"], str) and c["name"] for c in items)

        async def check_receipt(response: httpx.Response, style: tuple[list[int], str]) -> None:
            receipt = response.json()
            code = receipt["tracking_code"]
            assert CODE.match(code), receipt
            assert receipt["track_url"] == "/v1/reports/track" and receipt["message"]
            typed = typed_back(code, style)
            tracked = await client.get(f"/v1/reports/track/{urllib.parse.quote(typed, safe='')}")
            assert tracked.status_code == 200, f"{typed}: {tracked.text}"
            assert tracked.json()["tracking_code"] == code
            posted = await client.post(receipt["track_url"], json={"code": typed})
            assert posted.status_code == 200 and posted.json() == tracked.json(), f"{typed}: {posted.text}"
            assert tracked.json()["status"] == "received"  # nobody moves a case in this test
            received.append(code)

        async def valid_report_is_received_and_trackable(case: tuple[dict[str, Any], Any]) -> None:
            body, style = case
            content = encoded(body)
            response = await client.post("/v1/reports", content=content, headers=JSON)
            if len(content) > limit:
                assert response.status_code == 413, response.text
                return
            assert response.status_code == 201, f"{response.status_code} {response.text[:500]}"
            await check_receipt(response, style)

        async def any_json_is_received_or_refused_readably(body: Any) -> None:
            content = encoded(body)
            response = await client.post("/v1/reports", content=content, headers=JSON)
            assert response.status_code in (201, 413, 422), f"{response.status_code} {response.text[:500]}"
            if response.status_code == 413:
                assert len(content) > limit
            elif response.status_code == 422:
                assert_readable_422(response)
            else:
                await check_receipt(response, ([0] * 12, "-"))

        async def any_bytes_are_refused_readably(case: tuple[bytes, str | None]) -> None:
            raw, content_type = case
            headers = {} if content_type is None else {"content-type": content_type}
            response = await client.post("/v1/reports", content=raw, headers=headers)
            # 400: a body that is not even text, answered by FastAPI before any validation.
            assert response.status_code in (400, 422), f"{response.status_code} {response.text[:500]}"
            if response.status_code == 422:
                assert_readable_422(response)
            else:
                assert response.json()["detail"]

        async def intake_token_is_checked(header: str) -> None:
            response = await client.post("/v1/reports", json=report_body(), headers={"Authorization": header})
            # Nobody can make up a valid token: anonymous (not a Bearer header) or refused.
            assert response.status_code in (201, 401), f"{response.status_code} {response.text[:500]}"
            if response.status_code == 401:
                assert response.headers["www-authenticate"].startswith("Bearer")

        async def any_tracking_code_is_answered(code: str) -> None:
            path = "/v1/reports/track/" + urllib.parse.quote(code, safe="", errors="surrogatepass")
            response = await client.get(path)
            # Not only 200/404/422: "" or ".." make another path (a redirect, the case list).
            assert response.status_code < 500, f"{response.status_code} {response.text[:500]}"
            if response.status_code == 422:
                assert_readable_422(response)
            elif response.status_code == 200:
                assert CODE.match(response.json()["tracking_code"])

        async def code_shaped_input_is_unknown_or_invalid(code: str) -> None:
            response = await client.get("/v1/reports/track/" + urllib.parse.quote(code, safe=""))
            raw = code.replace("-", "").replace(" ", "").upper()
            if len(raw) == 12 and all(c in CODE_ALPHABET for c in raw):
                assert response.status_code == 404, response.text  # 2^60 codes; none guessed
                assert "kode pelacakan tidak ditemukan" in response.json()["detail"]
            else:
                assert response.status_code == 422, response.text
                assert_readable_422(response)
                assert [e["field"] for e in response.json()["errors"]] == ["code"]

        async def categories_are_public_and_constant(case: tuple[dict[str, str], str | None]) -> None:
            params, header = case
            headers = {} if header is None else {"Authorization": header}
            response = await client.get("/v1/categories", params=params, headers=headers)
            assert response.status_code == 200 and response.json()["items"] == items

        await replay(valid_inputs, valid_report_is_received_and_trackable)
        assert len(received) >= len(valid_inputs) // 2, "most valid reports should fit the body limit"
        await replay(json_inputs, any_json_is_received_or_refused_readably)
        await replay(raw_inputs, any_bytes_are_refused_readably)
        await replay(header_inputs, intake_token_is_checked)
        await replay(code_inputs + received[:50], any_tracking_code_is_answered)
        await replay(shaped_inputs, code_shaped_input_is_unknown_or_invalid)
        await replay(query_inputs, categories_are_public_and_constant)


def _padded(body: dict[str, Any], size: int) -> bytes:
    content = json.dumps(body).encode()
    return content + b" " * (size - len(content))  # JSON allows any whitespace after the value


async def test_rate_limits_answer_429_in_bahasa_and_oversized_bodies_413(
    settings_kwargs: dict[str, object], key_dir: Path
) -> None:
    common = {key: value for key, value in settings_kwargs.items() if key != "mongodb_database"}
    reports_settings = ReportsSettings(
        mongodb_database=f"{settings_kwargs['mongodb_database']}_rp",
        deadline_scan_seconds=3600,
        rate_limit_intake="3/minute",
        rate_limit_tracking="3/minute",
        **common,  # type: ignore[arg-type]
    )
    limit = reports_settings.max_body_bytes
    # The reports service alone: these checks need no registry, and starting one costs ~10 s.
    async with running_app(build_reports(reports_settings, clock=FixedClock(NOW))) as client:
        # Oversized: refused whether the size is announced or the body is streamed in chunks, while
        # it is read and before anything parses it (so before the rate limit sees the request).
        oversized = _padded(report_body(), limit + 1)
        announced = await client.post("/v1/reports", content=oversized, headers=JSON)
        assert announced.status_code == 413, announced.text
        assert "terlalu besar" in announced.json()["detail"] and str(limit) in announced.json()["detail"]

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(oversized), 8192):
                yield oversized[start : start + 8192]

        streamed = await client.post("/v1/reports", content=chunks(), headers=JSON)
        assert "content-length" not in streamed.request.headers
        assert streamed.status_code == 413, streamed.text

        # Exactly at the limit is still accepted. Every request that reaches the service counts
        # against the intake limit, invalid ones included (abuse is what it is for): with two
        # invalid ones "3/minute" is used up, and the next invalid body is refused by the limit
        # before its validation.
        at_limit = await client.post("/v1/reports", content=_padded(report_body(), limit), headers=JSON)
        assert at_limit.status_code == 201, at_limit.text
        code = at_limit.json()["tracking_code"]
        for expected in (422, 422, 429):
            invalid = await client.post("/v1/reports", json={"category": "tidak ada"})
            assert invalid.status_code == expected, invalid.text
        for headers in ({}, {"X-Forwarded-For": "203.0.113.9"}):  # not trusted unless configured
            refused = await client.post("/v1/reports", json=report_body(), headers=headers)
            assert refused.status_code == 429, refused.text
            retry = int(refused.headers["retry-after"])
            assert 1 <= retry <= 60
            detail = refused.json()["detail"]
            assert detail.startswith("terlalu banyak permintaan dari alamat Anda")
            assert f"coba lagi dalam {retry} detik" in detail

        # Tracking has its own allowance, and categories none.
        for _ in range(3):
            assert (await client.get(f"/v1/reports/track/{code}")).status_code == 200
        refused = await client.get(f"/v1/reports/track/{code}")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "terlalu banyak permintaan" in refused.json()["detail"]
        for _ in range(10):
            assert (await client.get("/v1/categories")).status_code == 200

        metrics = (await client.get("/metrics")).text
        assert 'netral_reports_rate_limited_total{endpoint="intake"} 3.0' in metrics
        assert 'netral_reports_rate_limited_total{endpoint="tracking"} 1.0' in metrics
