"""Every public definition in formcheck/ says what it is: modules, public classes, functions and methods."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "formcheck"

# modules other engineers are editing right now; the lead removes them after merging
EXEMPT: set[str] = set()
EXEMPT_DIRS: set[str] = set()


def _public(name: str) -> bool:
    return not name.startswith("_")


def missing_docstrings(tree: ast.Module, module: str) -> list[str]:
    """``module:Name`` (``module:Class.method``) for each public definition without a docstring.

    Public: a module, and the classes, functions and methods whose names (and whose class's name)
    do not start with ``_``, at module level or in a public class. Overloads, property setters and
    a Protocol's ``...`` bodies count like any other definition.
    """
    missing = [] if ast.get_docstring(tree) else [f"{module}:<module>"]

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _public(node.name):
                if not ast.get_docstring(node):
                    missing.append(f"{module}:{prefix}{node.name}")
                if isinstance(node, ast.ClassDef):
                    visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    return missing


def _checked_modules() -> dict[str, ast.Module]:
    out = {}
    for p in sorted(PACKAGE.rglob("*.py")):
        rel = p.relative_to(PACKAGE)
        if rel.as_posix() in EXEMPT or rel.parts[0] in EXEMPT_DIRS or "specs" in rel.parts:
            continue
        out[rel.as_posix()] = ast.parse(p.read_text(encoding="utf-8"), str(p))
    return out


def test_every_public_definition_has_a_docstring():
    missing = [m for name, tree in _checked_modules().items() for m in missing_docstrings(tree, name)]
    assert missing == []


def test_the_check_finds_a_missing_docstring():
    tree = ast.parse('"""A module."""\ndef shown():\n    """Said."""\nclass Thing:\n    def update(self): pass\n'
                     "    def _private(self): pass\ndef _hidden(): pass\n")
    assert missing_docstrings(tree, "m.py") == ["m.py:Thing", "m.py:Thing.update"]
