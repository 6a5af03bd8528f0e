"""Who is calling: the verified token's subject, role and scope. Pure, so that the use cases
check authorization without importing the web layer (`services.kit.auth` builds these)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from contracts.roles import Role
from services.kit.errors import Forbidden


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    org_unit: str | None
    """Root of the subtree this principal may act on; None means the whole platform, which a
    token grants only by the explicit claim `"reach": "platform"` (see `services.kit.auth`)."""
    nip: str | None
    employee_id: str | None = None
    """The registry id of the employee behind an `employee` token (an ASN's NIP, a non-ASN's
    `NA…` id): what an employee's own records are compared on. None for other roles."""

    def may_access(self, unit_code: str, unit_path: Sequence[str]) -> bool:
        return self.org_unit is None or self.org_unit == unit_code or self.org_unit in unit_path

    def check_access(self, unit_code: str, unit_path: Sequence[str]) -> None:
        if not self.may_access(unit_code, unit_path):
            raise Forbidden(f"unit {unit_code} berada di luar wewenang Anda (unit {self.org_unit})")

    def check_role(self, *roles: Role) -> None:
        """For a rule inside a use case that only some of the endpoint's roles may pass."""
        if self.role not in roles:
            names = ", ".join(sorted(role.value for role in roles))
            raise Forbidden(f"peran {self.role.value} tidak boleh melakukan ini; peran yang boleh: {names}")
