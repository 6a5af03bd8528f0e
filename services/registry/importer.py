"""The bulk-import worker: turns an uploaded CSV into employees, chunk by chunk.

Each chunk is one transaction (rows, events, errors, progress), so memory holds one
chunk's events at a time and a crash resumes after the last committed chunk. A job is
held under a lease: when its worker dies, any replica (or the restarted process) takes
it over once the lease runs out.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from contracts.roles import Role
from services.kit.clock import Clock
from services.kit.errors import Forbidden
from services.kit.identity import Principal
from services.kit.polling import Wakeup, poll_forever
from services.registry.csvimport import CsvLayout, ParsedRow, RowError, decode, parse_rows, read_layout
from services.registry.domain import (
    EmployeeInput,
    FileSeats,
    LeaderSeatTaken,
    RuleViolation,
    UnitRef,
    check_file_seat,
    check_leader_seat,
    employee_reimport,
    level_fits_unit,
    local_date,
    new_employee,
)
from services.registry.nik import NikVault
from services.registry.store import ChunkWrite, LeaseLost, RegistryStore

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass
class ImportSettings:
    chunk_size: int = 1000
    lease_seconds: float = 15.0
    idle_poll_seconds: float = 1.0
    parallel_chunks: int = 2
    sweep_seconds: float = 3600.0
    """How often uploaded files no import needs any more are looked for (see `sweep`)."""


class CommittedLines:
    """The line ranges of chunks an earlier run of this import already committed."""

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        self._firsts = [first for first, _ in ranges]
        self._ranges = ranges

    def __len__(self) -> int:
        return len(self._ranges)

    def __contains__(self, line: object) -> bool:
        if not isinstance(line, int):
            return False
        index = bisect.bisect_right(self._firsts, line) - 1
        return index >= 0 and self._ranges[index][0] <= line <= self._ranges[index][1]


@dataclass(frozen=True)
class ImportRow:
    line: int
    employee: EmployeeInput
    unit: UnitRef


@dataclass
class ChunkRows:
    valid: list[tuple[int, EmployeeInput]] = field(default_factory=list)
    """Valid rows wait for their org unit until the flush looks all of them up at once."""
    errors: list[RowError] = field(default_factory=list)
    processed: int = 0
    first_line: int = 0
    last_line: int = 0


def importer_of(job: dict[str, object]) -> Principal:
    """Who uploaded the file, as far as its rows are concerned: the unit scope of their token at
    upload time. Every row is checked against it as the same person's API call would be."""
    scope = job.get("scope")
    # Jobs queued before the role was kept: only the scope matters to the rows.
    role = Role(str(job.get("role") or (Role.OPD_ADMIN if scope else Role.BKPSDM)))
    return Principal(str(job["created_by"]), role, scope if isinstance(scope, str) else None, None)


def read_file(data: bytes) -> tuple[str, CsvLayout]:
    text = decode(data)
    return text, read_layout(text)


class ImportWorker:
    def __init__(
        self,
        store: RegistryStore,
        vault: NikVault,
        clock: Clock,
        owner: str,
        settings: ImportSettings,
        registry: CollectorRegistry,
    ) -> None:
        self.store = store
        self.vault = vault
        self.clock = clock
        self.owner = owner
        self.settings = settings
        self._wake = Wakeup()
        self.rows_total = Counter(
            "netral_registry_import_rows",
            "CSV rows processed by bulk imports, by outcome",
            ["outcome"],
            registry=registry,
        )

    def notify(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await poll_forever("import", self.step, self._wake, self.settings.idle_poll_seconds)

    async def sweep(self) -> None:
        """Delete, at start and then periodically, the uploaded files (NIKs in clear) that a crash
        left behind: of an import that finished, or of an upload that never became one."""

        async def step() -> bool:
            await self.store.sweep_import_files()
            return False

        await poll_forever("import file sweep", step, Wakeup(), self.settings.sweep_seconds)

    async def step(self) -> bool:
        """Import the next waiting file, if any; True when there may be another."""
        job = await self.store.claim_import(self.owner, self.settings.lease_seconds)
        if job is None:
            return False
        await self.process(job)
        return True

    async def process(self, job: dict[str, object]) -> None:
        import_id = str(job["_id"])
        if int(str(job.get("attempts", 1))) > MAX_ATTEMPTS:
            await self.store.finish_import(
                import_id, self.owner, "failed", f"gagal setelah {MAX_ATTEMPTS} percobaan; lihat log layanan"
            )
            return
        try:
            await self._import(import_id, job)
        except LeaseLost:
            log.warning("import taken over by another worker", extra={"import_id": import_id})
        except asyncio.CancelledError:
            raise
        except Exception:
            # Left running: the lease runs out and the job is retried from its checkpoint.
            log.exception("import interrupted", extra={"import_id": import_id})

    async def _import(self, import_id: str, job: dict[str, object]) -> None:
        # Decoding and sniffing a large file takes a while: off the event loop.
        text, layout = await asyncio.to_thread(read_file, await self.store.import_file(job))
        committed = CommittedLines(await self.store.committed_chunks(import_id))
        importer = importer_of(job)
        units: dict[str, UnitRef | None] = {}
        rows = iter(parse_rows(text, layout, local_date(self.clock.now())))
        first_seen: dict[str, int] = {}
        seats: FileSeats = {}
        log.info("import started", extra={"import_id": import_id, "committed_chunks": len(committed)})
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while True:
                # Parsing (Python, in a thread) overlaps the transactions in flight (MongoDB).
                chunk, more = await asyncio.to_thread(self._next_chunk, rows, first_seen, seats, committed)
                if chunk.processed:
                    in_flight.add(asyncio.create_task(self._flush(import_id, chunk, units, importer)))
                if in_flight and (len(in_flight) >= self.settings.parallel_chunks or not more):
                    done, in_flight = await asyncio.wait(
                        in_flight, return_when=asyncio.FIRST_COMPLETED if more else asyncio.ALL_COMPLETED
                    )
                    for task in done:
                        task.result()
                if not more:
                    break
        finally:
            for task in in_flight:
                task.cancel()
        await self.store.finish_import(import_id, self.owner, "completed")
        log.info("import completed", extra={"import_id": import_id})

    def _next_chunk(
        self,
        rows: Iterator[ParsedRow],
        first_seen: dict[str, int],
        seats: FileSeats,
        committed: CommittedLines,
    ) -> tuple[ChunkRows, bool]:
        """Up to chunk_size rows not yet committed, and whether the file has more. Committed
        rows only feed the duplicate and seat checks, so a resumed import reports the same errors."""
        chunk = ChunkRows()
        for parsed in rows:
            duplicate_of = self._remember(first_seen, parsed)
            seat_taken = None if duplicate_of is not None else self._claim_seat(seats, parsed)
            if parsed.line in committed:
                continue
            chunk.processed += 1
            chunk.first_line = chunk.first_line or parsed.line
            chunk.last_line = parsed.line
            if duplicate_of is not None:
                chunk.errors.append(
                    RowError(
                        parsed.line,
                        parsed.identity_column,
                        parsed.identity,
                        f"pegawai yang sama sudah ada di baris {duplicate_of}; baris ini dilewati",
                    )
                )
            elif parsed.employee is None:
                chunk.errors.extend(parsed.errors)
            elif seat_taken is not None:
                chunk.errors.append(seat_taken)
            else:
                chunk.valid.append((parsed.line, parsed.employee))
            if chunk.processed >= self.settings.chunk_size:
                return chunk, True
        return chunk, False

    @staticmethod
    def _claim_seat(seats: FileSeats, parsed: ParsedRow) -> RowError | None:
        """Decided in file order, here, because chunks are decided and committed concurrently."""
        employee = parsed.employee
        if employee is None or employee.leader_office is None or parsed.identity is None:
            return None
        try:
            check_file_seat(
                employee.leader_office, employee.org_unit_code, parsed.identity, parsed.line, seats
            )
        except LeaderSeatTaken as exc:
            return RowError(parsed.line, "leader_office", employee.leader_office.value, exc.message)
        return None

    @staticmethod
    def _remember(first_seen: dict[str, int], parsed: ParsedRow) -> int | None:
        if parsed.identity is None:
            return None
        earlier = first_seen.get(parsed.identity)
        if earlier is None:
            first_seen[parsed.identity] = parsed.line
        return earlier

    async def _flush(
        self,
        import_id: str,
        chunk: ChunkRows,
        units: dict[str, UnitRef | None],
        importer: Principal,
    ) -> None:
        if chunk.processed == 0:
            return
        await self.store.renew_import(import_id, self.owner, self.settings.lease_seconds)
        unknown = sorted({employee.org_unit_code for _, employee in chunk.valid} - units.keys())
        if unknown:
            found = await self.store.units_by_code(unknown)
            for code in unknown:
                units[code] = found.get(code)
        rows: list[ImportRow] = []
        for line, employee in chunk.valid:
            code = employee.org_unit_code
            unit = units[code]
            if unit is None:
                chunk.errors.append(
                    RowError(
                        line, "org_unit_code", code, f"unit organisasi {code} tidak ditemukan; daftarkan dulu"
                    )
                )
                continue
            try:
                importer.check_access(unit.code, unit.path)
            except Forbidden as exc:
                chunk.errors.append(RowError(line, "org_unit_code", code, exc.message))
                continue
            try:
                level_fits_unit(employee.level, unit.kind)
            except RuleViolation as exc:
                chunk.errors.append(RowError(line, "level", employee.level.value, exc.message))
                continue
            rows.append(ImportRow(line, employee, unit))
        write = await self.decide(import_id, rows, chunk, importer)
        await self.store.apply_import_chunk(import_id, self.owner, write)
        counts = write.counts
        self.rows_total.labels("imported").inc(counts.imported)
        self.rows_total.labels("updated").inc(counts.updated)
        self.rows_total.labels("unchanged").inc(counts.unchanged)
        self.rows_total.labels("failed").inc(counts.failed)

    async def decide(
        self, import_id: str, rows: list[ImportRow], chunk: ChunkRows, importer: Principal
    ) -> ChunkWrite:
        """What the chunk's rows do to the employees on file. A row may change or move only an
        employee the importer may act on where they are now, as for a transfer by the API (the
        row's own unit is checked before). The write is conditional on the versions read here,
        so a change made in between makes the chunk retry, never lose it."""
        write = ChunkWrite((chunk.first_line, chunk.last_line), chunk.processed, errors=list(chunk.errors))
        ids = [self.vault.employee_id(row.employee) for row in rows]
        existing = await self.store.employees_by_id(ids)
        leader_units = sorted({row.unit.code for row in rows if row.employee.leader_office is not None})
        # The pemdas' leaders on file, kept up to date as this chunk's rows take their seats.
        leaders = await self.store.leaders_of(leader_units) if leader_units else []
        now = self.clock.now()
        actor = f"import:{import_id}"

        def seat_refused(row: ImportRow, employee_id: str) -> bool:
            office = row.employee.leader_office
            if office is None:
                return False
            here = [leader for leader in leaders if leader["org_unit_code"] == row.unit.code]
            try:
                check_leader_seat(office, employee_id, row.unit.code, here)
            except LeaderSeatTaken as exc:
                write.errors.append(RowError(row.line, "leader_office", office.value, exc.message))
                return True
            return False

        for row, employee_id in zip(rows, ids, strict=True):
            current = existing.get(employee_id)
            if current is None:
                if seat_refused(row, employee_id):
                    continue
                record, registered = new_employee(
                    row.employee, employee_id, row.unit, self.vault.sealed(row.employee.nik), actor, now
                )
                write.inserts.append(record)
                write.events.append(registered)
                write.counts.imported += 1
                self._seated(leaders, record)
                continue
            identity_column, identity = (
                ("nip", row.employee.nip) if row.employee.nip is not None else ("nik", row.employee.nik)
            )
            if not importer.may_access(current["org_unit_code"], current["org_unit_path"]):
                # Neither the employee's unit nor their state is told: they are not the importer's.
                write.errors.append(
                    RowError(
                        row.line,
                        identity_column,
                        identity,
                        f"pegawai ini terdaftar di unit di luar wewenang Anda (unit {importer.org_unit}); "
                        "baris ini dilewati",
                    )
                )
                continue
            if not current["active"]:
                write.errors.append(
                    RowError(
                        row.line,
                        identity_column,
                        identity,
                        f"pegawai {employee_id} sudah nonaktif; tidak diimpor ulang",
                    )
                )
                continue
            if seat_refused(row, employee_id):
                continue
            change = employee_reimport(
                current, row.employee, row.unit, f"impor {import_id} baris {row.line}", actor, now
            )
            if change is None:
                write.counts.unchanged += 1
                continue
            write.changes.append(change)
            write.events.append(change.event)
            write.counts.updated += 1
            self._seated(leaders, {**current, **change.update})
        write.counts.failed = len({error.line for error in write.errors})
        return write

    @staticmethod
    def _seated(leaders: list[dict[str, Any]], employee: dict[str, Any]) -> None:
        """`employee` as a later row of the chunk must see them: in their seat, or in none."""
        leaders[:] = [leader for leader in leaders if leader["_id"] != employee["_id"]]
        if employee.get("leader_office"):
            leaders.append(
                {
                    "_id": employee["_id"],
                    "leader_office": employee["leader_office"],
                    "org_unit_code": employee["org_unit_code"],
                }
            )
