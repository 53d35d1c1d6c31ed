"""The core never imports the adapters (DESIGN.md, STYLE.md: core by domain, adapters by layer)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "bordin"
CORE = ("instruments", "scoring", "feedback", "analytics", "simulate", "validation")
ADAPTERS = ("storage", "web", "cli", "reports")
FORBIDDEN_IN_CORE = ("fastapi", "sqlalchemy", "alembic", "starlette", "uvicorn", "typer", "jinja2")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("domain", CORE)
def test_core_does_not_import_adapters(domain: str) -> None:
    offenders = []
    for path in sorted((SRC / domain).rglob("*.py")):
        for name in _imports(path):
            top = name.split(".")
            if top[0] == "bordin" and len(top) > 1 and top[1] in ADAPTERS:
                offenders.append(f"{path.relative_to(SRC)} imports {name}")
            if top[0] in FORBIDDEN_IN_CORE:
                offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert offenders == []


def test_no_utils_grab_bag() -> None:
    assert not list(SRC.rglob("utils.py"))
