"""The code's structure, checked: one module writes files atomically, hashes and locks them; no import cycles."""

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


def _import_graph() -> dict[str, set[str]]:
    """formcheck module -> the formcheck modules it imports anywhere (lazy imports included)."""
    def name(p: Path) -> str:
        parts = list(p.relative_to(PACKAGE.parent).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    modules = {name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for mod, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("formcheck"):
                deps |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        graph[mod] = {d for d in deps if d in modules and d not in (mod, "formcheck")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_one_that_imports_it_back():
    """The command modules share cli_common; none imports another (lazily or not)."""
    assert _cycles(_import_graph()) == []
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]  # the check can fail


# the session sinks that write a command's outputs: only the output factory chooses and builds them
OUTPUT_SINKS = {"ReportFilesSink", "AnnotatedVideoSink", "ReviewMediaSink", "ClipPageSink", "PosesFileSink"}


def _constructed(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "")
    return names


def test_outputs_are_chosen_in_one_place():
    """analyze, batch, live and poses get their sinks from ``outputs.build_sinks``; none builds its own."""
    offenders = {name: sorted(_constructed(tree) & OUTPUT_SINKS) for name, tree in _modules().items()
                 if name != "outputs.py"}
    assert {k: v for k, v in offenders.items() if v} == {}
    rogue = ast.parse("from formcheck import sinks\nsinks.ReportFilesSink(out).close(report)\n")
    assert _constructed(rogue) & OUTPUT_SINKS == {"ReportFilesSink"}  # the check can fail


# the files a session writes; reading one back to build another output is what the output factory
# replaced (the clip page and the history row come from the report object)
REPORT_FILES = {"report.json", "reps.csv"}
FILE_READS = {"read_text", "read_bytes", "load", "loads", "DictReader", "reader", "read_csv"}  # and builtin open()
# the only legitimate readers: the public API's ``read_report``, and the history import of a folder
# `formcheck analyze` wrote (`formcheck review FOLDER`)
REPORT_READERS = {"api.py:read_report", "cli_clinic.py:_import_report"}


def _own_nodes(fn: ast.AST):
    """The nodes of a function's own body: a nested function is judged on its own."""
    todo = list(ast.iter_child_nodes(fn))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))


def _report_file_readers(tree: ast.AST, module: str) -> set[str]:
    """``module:function`` for each function that names a report file and reads a file."""
    found = set()
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        own = list(_own_nodes(fn))
        doc = fn.body[0].value if fn.body and isinstance(fn.body[0], ast.Expr) else None
        names = {n.value for n in own if isinstance(n, ast.Constant) and isinstance(n.value, str) and n is not doc}
        reads = {n.func.attr for n in own if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)} & FILE_READS
        reads |= {n.func.id for n in own if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)} & (FILE_READS | {"open"})
        if any(f in s for s in names for f in REPORT_FILES) and reads:
            found.add(f"{module}:{fn.name}")
    return found


def test_no_output_is_built_from_a_report_file_read_back():
    """Only ``read_report`` and the history import read report.json or reps.csv."""
    readers = set().union(*(_report_file_readers(tree, name) for name, tree in _modules().items()))
    assert readers == REPORT_READERS
    # the check can fail: batch once built the clip page from report.json as written
    rogue = ast.parse("def page(staging):\n    report = json.loads((staging / 'report.json').read_text())\n")
    assert _report_file_readers(rogue, "batch.py") == {"batch.py:page"}
