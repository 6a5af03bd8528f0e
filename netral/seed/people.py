"""Synthetic people: names, NIPs, NIKs, e-mails and phones, the unique ones kept unique."""

from __future__ import annotations

import datetime as dt
import random

from netral.seed.names import CULTURES, EMAIL_DOMAIN, MIDDLE_FEMALE, MIDDLE_MALE, PHONE_PREFIXES, Culture
from netral.seed.organisation import REGIONS

_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# Age ranges (inclusive) by role; leaders are older because they climbed the ranks.
_AGE = {
    "REGIONAL_HEAD": (50, 59),
    "JPT": (45, 59),
    "ADMINISTRATOR": (38, 57),
    "SUPERVISOR": (32, 56),
    "PNS": (23, 58),
    "PPPK": (25, 58),
    "NON_ASN": (20, 55),
    # Candidates for Bupati/Walikota must be at least 25, for Gubernur 30 (UU 10/2016 art. 7).
    "PEJABAT_NEGARA": (40, 65),
}
# Digits 13–14 of an NI PPPK: the contract code, which real numbers carry as 21 or 24.
_PPPK_CONTRACT_CODES = ("21", "21", "21", "24")
# First PPPK intake was 2019; their NIPs cannot predate it.
_FIRST_PPPK_YEAR = 2019


class People:
    """Draws names, NIPs, NIKs, e-mails and phones, keeping the unique ones unique."""

    def __init__(self, rng: random.Random, today: dt.date, province_code: str) -> None:
        self.rng = rng
        self.today = today
        self.province_code = province_code
        self.nips: set[str] = set()
        self.niks: set[str] = set()
        self.email_counts: dict[str, int] = {}
        self.culture_weights = [c.weight for c in CULTURES]
        total = sum(self.culture_weights)
        running = 0.0
        self.culture_cum: list[float] = []
        for weight in self.culture_weights:
            running += weight / total
            self.culture_cum.append(running)
        self.region_codes = tuple(province_code + code for code, _, _ in REGIONS)

    def _culture(self) -> Culture:
        x = self.rng.random()
        for culture, edge in zip(CULTURES, self.culture_cum, strict=True):
            if x < edge:
                return culture
        return CULTURES[-1]

    def _pick(self, options: tuple[str, ...]) -> str:
        return options[int(self.rng.random() * len(options))]

    def person(
        self,
        employment_type: str,
        age_key: str,
        prefix: str,
        degrees: tuple[str, ...],
        nik_region: str,
        leader: bool = False,
    ) -> tuple[str, str, str, str, str]:
        """Return (nip, name, email, phone, nik) for one new person."""
        rand = self.rng.random
        pick = self._pick
        culture = self._culture()
        # Structural posts in Indonesian pemdas are still held mostly by men.
        male = rand() < (0.7 if leader else 0.5)
        first = pick(culture.male if male else culture.female)
        last = pick(culture.male_last if male else culture.female_last)
        shape = rand()
        if shape < 0.06:
            core, local = first, first
        elif shape < 0.3:
            middle = pick(MIDDLE_MALE if male else MIDDLE_FEMALE)
            core, local = f"{first} {middle} {last}", f"{first}.{last}"
        else:
            core, local = f"{first} {last}", f"{first}.{last}"

        low, high = _AGE[age_key]
        age = low + int(rand() * (high - low + 1))

        titles = []
        if prefix:
            titles.append(prefix)
        elif leader and rand() < 0.15:
            titles.append("Dr.")
        if culture.haji and age >= 40 and rand() < (0.35 if leader else 0.06):
            titles.append("H." if male else "Hj.")
        titles.append(core)
        name = " ".join(titles)
        degree = pick(degrees)
        if degree:
            name = f"{name}, {degree}"

        local = local.lower()
        count = self.email_counts.get(local, 0) + 1
        self.email_counts[local] = count
        email = f"{local}{count}@{EMAIL_DOMAIN}"
        phone = f"+62{pick(PHONE_PREFIXES)}{int(rand() * 100_000_000):08d}"

        today = self.today
        birth_year = today.year - age
        birth_month = 1 + int(rand() * 12)
        days = _DAYS_IN_MONTH[birth_month]
        if birth_month == 2 and (birth_year % 4 == 0 and (birth_year % 100 != 0 or birth_year % 400 == 0)):
            days = 29
        birth_day = 1 + int(rand() * days)

        if employment_type in ("NON_ASN", "PEJABAT_NEGARA"):
            return "", name, email, phone, self._nik(nik_region, birth_year, birth_month, birth_day, male)

        if employment_type == "PNS":
            # CPNS intake is open to ages 18–35; most join after a diploma or degree, and
            # structural posts need years of service first.
            latest = min(35, age - (10 if leader else 1))
            earliest = min(22 if leader else 20, latest)
            year = birth_year + earliest + int(rand() * (latest - earliest + 1))
            # Digits 9–14 of a NIP: year and month of TMT CPNS.
            appointment = f"{year:04d}{1 + int(rand() * 12):02d}"
        else:
            # Digits 9–14 of an NI PPPK: year of first appointment and the contract code.
            start = max(min(_FIRST_PPPK_YEAR, today.year), birth_year + 20)
            year = start + int(rand() * (today.year - start + 1))
            code = _PPPK_CONTRACT_CODES[int(rand() * len(_PPPK_CONTRACT_CODES))]
            appointment = f"{year:04d}{code}"
        head = f"{birth_year:04d}{birth_month:02d}{birth_day:02d}{appointment}{1 if male else 2}"
        sequence = 1
        nip = f"{head}{sequence:03d}"
        while nip in self.nips:
            sequence += 1
            if sequence > 999:
                # Every sequence for this birth date/appointment/gender is taken: draw anew.
                return self.person(employment_type, age_key, prefix, degrees, nik_region, leader)
            nip = f"{head}{sequence:03d}"
        self.nips.add(nip)
        return nip, name, email, phone, ""

    def _nik(self, region: str, year: int, month: int, day: int, male: bool) -> str:
        rand = self.rng.random
        if not region:
            # Province staff come from anywhere in the province.
            region = self.region_codes[int(rand() * len(self.region_codes))]
        district = 1 + int(rand() * 40)
        birth = f"{day if male else day + 40:02d}{month:02d}{year % 100:02d}"
        head = f"{region}{district:02d}{birth}"
        sequence = 1 + int(rand() * 9)
        nik = f"{head}{sequence:04d}"
        while nik in self.niks:
            sequence = sequence % 9999 + 1
            nik = f"{head}{sequence:04d}"
        self.niks.add(nik)
        return nik
