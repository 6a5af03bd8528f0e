"""Every list endpoint takes its page number through the kit's one bounded `Page`."""

from __future__ import annotations

import ast
from pathlib import Path

from services.kit.pagination import MAX_PAGE

SERVICES = Path(__file__).resolve().parents[2] / "services"


def test_the_bound_keeps_a_skip_within_mongodbs_8_byte_integers() -> None:
    assert (MAX_PAGE - 1) * 500 < 2**63  # 500: the largest page size of any endpoint


def test_every_page_parameter_of_every_api_is_the_bounded_one() -> None:
    unbounded = []
    for api in sorted(SERVICES.glob("*/api.py")):
        tree = ast.parse(api.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
                for argument in node.args.args + node.args.kwonlyargs:
                    if "page" in argument.arg and "size" not in argument.arg:
                        annotation = ast.unparse(argument.annotation) if argument.annotation else ""
                        if annotation != "Page":
                            unbounded.append(f"{api.parent.name}.{node.name}({argument.arg}: {annotation})")
    assert unbounded == []
