"""Each package's ``__all__`` is sorted and names only what the package defines or re-exports."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import bordin


def _packages() -> list[str]:
    names = ["bordin"]
    for info in pkgutil.walk_packages(bordin.__path__, prefix="bordin."):
        # Alembic's migration scripts are data for Alembic, not a public API.
        if ".migrations" in info.name:
            continue
        if info.ispkg and not info.name.rsplit(".", 1)[-1].startswith("_"):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _packages())
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert list(exported) == sorted(exported), f"{name}.__all__ is not sorted"
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == []
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_")
        and (isinstance(v, type) or callable(v))
        and str(getattr(v, "__module__", "")).startswith(name + ".")
    }
    assert sorted(public - set(exported)) == [], f"{name} imports public names it does not export"
