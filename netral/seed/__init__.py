"""Synthetic pemda data for demos and load tests: a realistic org tree and its employees.

Everything derives from one `random.Random(seed)`, so the same (employees, seed, province_code,
today) always gives byte-identical CSV files and load-test runs stay comparable.
The CSV layout is the registry's import format, so the files double as import examples.
"""

from netral.seed.csvfile import write_csv
from netral.seed.generation import generate
from netral.seed.loading import SeedLoadError, create_units, load, unit_levels
from netral.seed.rows import EMPLOYEE_COLUMNS, ORG_UNIT_COLUMNS, EmployeeRow, OrgUnitRow

__all__ = [
    "EMPLOYEE_COLUMNS",
    "ORG_UNIT_COLUMNS",
    "EmployeeRow",
    "OrgUnitRow",
    "SeedLoadError",
    "create_units",
    "generate",
    "load",
    "unit_levels",
    "write_csv",
]
