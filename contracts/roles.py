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
    # The deciders the law names beyond the pemda's PPK (issue 13): the head of an OPD, who decides
    # on non-ASN staff under their work contract; the Governor, who examines and decides on a
    # regency or city Sekda; and the Minister of Home Affairs, who does so for a provincial Sekda.
    KEPALA_OPD = "kepala_opd"
    GUBERNUR = "gubernur"
    KEMENDAGRI = "kemendagri"
