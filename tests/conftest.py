"""Shared fixtures: where the real clips and the pose model are, and skips that say why."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_videos"
CLIPS = ROOT.parent / "shared" / "clips"
CHROMIUM = Path("/usr/bin/chromium")
sys.path.insert(0, str(Path(__file__).parent))  # tests/kinematics.py


def clip_catalog() -> dict[str, dict]:
    if not (CLIPS / "catalog.csv").is_file():
        return {}
    with open(CLIPS / "catalog.csv", newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's browser is the system Chromium: no browser is ever downloaded."""
    if not CHROMIUM.exists():
        pytest.skip(f"no system Chromium at {CHROMIUM} (apt-get install -y chromium); Playwright downloads none")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM)}


@pytest.fixture(scope="session")
def clips_dir() -> Path:
    if not CLIPS.is_dir():
        pytest.skip(f"real clips not found at {CLIPS} (they live in ../shared/clips beside the project)")
    return CLIPS


@pytest.fixture(scope="session")
def model_path() -> Path:
    from formcheck.models import ModelError, resolve_model

    try:
        return resolve_model("full")
    except ModelError as e:
        pytest.skip(f"pose model not installed ({e})")


# --- model work started early, on the second core -------------------------------------------------------

# pytest runs one test at a time, on one core; the model's work for a fixture (a batch, a clip's poses)
# runs in its own processes. Started as soon as collection ends, it runs beside the tests that need no
# model, and the fixture that asks for it waits for it to finish (the work itself, not a guess of how long).
EARLY: dict[str, Callable[[Path], object]] = {}  # fixture name -> its work (given a fresh folder)


class EarlyWork:
    """One fixture's work, run by the early thread (or by the fixture itself when nothing started it)."""

    def __init__(self, work: Callable[[Path], object], folder: Path):
        self.folder, self._work, self._result, self._error = folder, work, None, None
        self._done = threading.Event()

    def run(self) -> None:
        try:
            self._result = self._work(self.folder)
        except BaseException as e:  # re-raised in the fixture that waits for it
            self._error = e
        finally:
            self._done.set()

    def result(self):
        """Wait for the work to finish and return what it made (or raise what it raised)."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result


_started: dict[str, EarlyWork] = {}
_running: set[subprocess.Popen] = set()
_closing = threading.Event()  # the session has ended: start nothing more
# The environment the session started with. Early work runs in a thread beside the tests, and a test's
# monkeypatch.setenv (an isolated model cache, say) changes os.environ for the whole process while it
# runs: a command started then would inherit it (a clip's poses once failed with "model not installed").
_SESSION_ENV = dict(os.environ)


def run_command(args: list[str], timeout_s: float = 3600) -> subprocess.CompletedProcess:
    """`subprocess.run` for early work: the process is killed if the session ends while it runs."""
    if _closing.is_set():
        raise RuntimeError("the test session has ended")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_SESSION_ENV)
    _running.add(proc)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    finally:
        _running.discard(proc)
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)


def pytest_collection_finish(session) -> None:
    """Start the model's work of every early fixture a selected test uses (when the model is installed)."""
    first_use = {}
    for i, item in enumerate(session.items):
        for name in EARLY:
            if name in getattr(item, "fixturenames", ()):
                first_use.setdefault(name, i)
    wanted = sorted(first_use, key=first_use.get)
    if not wanted or session.config.option.collectonly:
        return
    from formcheck.models import ModelError, resolve_model

    try:
        resolve_model("full")
    except ModelError:
        return  # the fixtures skip, saying why
    for name in wanted:
        _started[name] = EarlyWork(EARLY[name], session.config._tmp_path_factory.mktemp(name))
    # one after another, in the order the tests need them: the model's work then keeps the second
    # core busy without crowding the tests that run meanwhile
    queue = [_started[name] for name in wanted]
    threading.Thread(target=lambda: [w.run() for w in queue], name="early model work", daemon=True).start()


def pytest_sessionfinish(session) -> None:
    _closing.set()
    for proc in list(_running):  # interrupted: no batch left running after pytest
        proc.kill()


def early_result(name: str, tmp_path_factory):
    """The early work of fixture ``name``: started at collection's end, or now if it was not."""
    work = _started.get(name)
    if work is None:
        work = EarlyWork(EARLY[name], tmp_path_factory.mktemp(name))
        work.run()
    return work.result()


# --- the bundled sample clips through the real model, once per session ---------------------------------

# the two samples the clinic test opens in a browser: batched first, with their annotated video
CLINIC_SAMPLES = ("bridge_correct.mp4", "standing_hip_extension_knee_bent.mp4")


@dataclass(frozen=True)
class SampleBatch:
    """Every sample clip batched once: the two CLI runs, their folders, each clip's session row."""
    out: Path
    db: Path
    clinic_manifest: Path  # the CLINIC_SAMPLES rows
    first: subprocess.CompletedProcess  # `formcheck batch` of the CLINIC_SAMPLES (video embedded)
    rest: subprocess.CompletedProcess  # then every sample (video none): the first two are skipped
    manifest: dict  # clip name -> its sample_videos/manifest.json entry
    sessions: dict  # clip name -> its history.SessionRow (any status)


def sample_hold_s(entry: dict) -> str:
    """The prescription a sample was rendered to (its analyze_args' --hold), as a manifest cell."""
    args = entry["analyze_args"]
    return args[args.index("--hold") + 1] if "--hold" in args else ""


def _sample_batch(work: Path) -> SampleBatch:
    """All the sample clips through the real model once, by the clinic's path (`formcheck batch`, two
    workers, one history), for every test that checks what the model makes of a sample: a model run
    is most of the suite's time, and each clip gives the same poses whichever test asks."""
    from formcheck.history import History

    entries = {e["clip"]: e for e in json.loads((SAMPLES / "manifest.json").read_text())}
    order = [*CLINIC_SAMPLES, *(n for n in entries if n not in CLINIC_SAMPLES)]
    rows = [{"clip": str(SAMPLES / n), "exercise": entries[n]["exercise"], "patient": "sample",
             "date": f"2025-05-{i % 28 + 1:02d}", "hold_s": sample_hold_s(entries[n])} for i, n in enumerate(order)]

    def manifest(path: Path, chosen: list[dict]) -> Path:
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, list(chosen[0]))
            writer.writeheader()
            writer.writerows(chosen)
        return path

    def batch(m: Path, *args: str) -> subprocess.CompletedProcess:
        return run_command([sys.executable, "-m", "formcheck", "batch", "--manifest", str(m), "--workers", "2",
                            "--out", str(out), "--db", str(db), *args])

    out, db = work / "out", work / "history.sqlite3"
    clinic = manifest(work / "clinic.csv", rows[:len(CLINIC_SAMPLES)])
    first = batch(clinic)
    rest = batch(manifest(work / "all.csv", rows), "--video", "none")
    sessions = {}
    if db.exists():
        with History(db, read_only=True) as h:
            sessions = {s.clip_name: s for s in h.sessions()}
    return SampleBatch(out, db, clinic, first, rest, entries, sessions)


EARLY["sample_batch"] = _sample_batch


@pytest.fixture(scope="session")
def sample_batch(model_path, tmp_path_factory) -> SampleBatch:
    """Every sample clip through the real model once (_sample_batch), started when collection ended."""
    return early_result("sample_batch", tmp_path_factory)
