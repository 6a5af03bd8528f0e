"""The roles of the brief: vocabulary shared by the tokens (kit.auth) and the rules (domains)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    EMPLOYEE = "employee"
    OPD_ADMIN = "opd_admin"
    BKPSDM = "bkpsdm"
    PPK = "ppk"
    INSPEKTORAT = "inspektorat"
    BAWASLU = "bawaslu"
    BKN = "bkn"
    AGENCY = "agency"
