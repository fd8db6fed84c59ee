"""Waiting for a child process to reach a point, by watching what it prints: never for a fixed time."""

from __future__ import annotations

import os
import re
import select
import subprocess
import time

# Rich draws the progress bar only on a terminal; these make it draw on the pipe the test reads.
PROGRESS_ENV = {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "120"}
_DONE_OF_TOTAL = re.compile(r"(\d+)/(?:\d+|\?)")


def wait_for_progress(proc: subprocess.Popen, frames: int, limit_s: float = 600) -> str:
    """Read the child's stderr until its progress bar shows at least `frames` frames done.

    Returns what was read (the caller reads the rest with ``communicate``). ``limit_s`` only stops
    a hung child from hanging the suite; the wait ends as soon as the progress line appears.
    """
    fd = proc.stderr.fileno()
    seen = b""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            raise AssertionError(f"the process ended before {frames} frames were done: {seen.decode(errors='replace')[-2000:]}")
        seen += chunk
        text = seen.decode(errors="replace")
        if any(int(m.group(1)) >= frames for m in _DONE_OF_TOTAL.finditer(text[-4000:])):
            return text
    raise AssertionError(f"no progress past {frames} frames within {limit_s:.0f} s: {seen.decode(errors='replace')[-2000:]}")
