"""The package's imports go one way: docs/architecture.md lists the modules so that each imports only those above it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "helpers"


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports anywhere in it, inside functions too."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "helpers":
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("helpers."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("helpers.")}
    return found - {path.stem}


def documented_order() -> list[str]:
    """The modules in the order docs/architecture.md numbers them."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    return re.findall(r"^\d+\. `(\w+)`", text, flags=re.M)


def test_the_architecture_page_lists_every_module_once() -> None:
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    order = documented_order()
    assert sorted(order) == modules and len(order) == len(set(order))


def test_every_module_imports_only_modules_listed_above_it() -> None:
    order = documented_order()
    rank = {name: k for k, name in enumerate(order)}
    upward = [(name, other) for name in order for other in imports_of(PACKAGE / f"{name}.py", set(order))
              if rank[other] > rank[name]]
    assert upward == [], "these imports point down the list (a circle, or the page is out of date): " + str(upward)


def test_the_package_map_names_every_module() -> None:
    text = (PACKAGE / "__init__.py").read_text(encoding="utf-8")
    assert [name for name in documented_order() if f"``{name}``" not in text] == []
