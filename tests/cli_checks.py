"""What every failing command must look like to the user: one line, the right exit code, nothing written."""

from __future__ import annotations

import subprocess
from pathlib import Path


def one_line_error(proc: subprocess.CompletedProcess, code: int, *words: str) -> str:
    """The command failed with ``code`` and one line on stderr naming every one of ``words``; no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout[-1500:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for w in words:
        assert w.lower() in lines[0].lower(), lines[0]
    return lines[0]


def nothing_written(out: Path) -> None:
    """No file under ``out`` (an empty folder or none at all)."""
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()], sorted(out.rglob("*"))
