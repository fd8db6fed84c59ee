"""The code's structure, checked: one module writes files atomically, hashes files and locks them."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "formcheck"

# calls that only formcheck/io.py may make: renaming into place, temp files, file locks
ONLY_IN_IO = {("os", "replace"), ("os", "rename"), ("tempfile", "mkstemp"), ("tempfile", "NamedTemporaryFile"),
              ("fcntl", "flock")}


def _calls(tree: ast.AST) -> set[tuple[str, str]]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            out.add((node.func.value.id, node.func.attr))
    return out


def _modules() -> dict[str, ast.AST]:
    return {str(p.relative_to(PACKAGE)): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def test_only_the_io_module_renames_files_into_place_makes_temp_files_or_locks():
    offenders = {name: sorted(f"{a}.{b}" for a, b in _calls(tree) & ONLY_IN_IO)
                 for name, tree in _modules().items() if name != "io.py"}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_files_are_hashed_in_one_place():
    """``io.sha256_file`` is the one file hash (a download is hashed as it streams in, once)."""
    defs = [name for name, tree in _modules().items() for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and "sha256" in node.name]
    assert defs == ["io.py"]


def test_the_io_rules_catch_a_second_atomic_writer():
    """The check above can fail: a module that renames a temp file itself is found."""
    rogue = ast.parse("import os, tempfile\nfd, tmp = tempfile.mkstemp()\nos.replace(tmp, 'out.json')\n")
    assert _calls(rogue) & ONLY_IN_IO == {("os", "replace"), ("tempfile", "mkstemp")}
