"""Shared fixtures: where the real clips and the pose model are, and skips that say why."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
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


@pytest.fixture(scope="session")
def sample_batch(model_path, tmp_path_factory) -> SampleBatch:
    """All the sample clips through the real model once, by the clinic's path (`formcheck batch`, two
    workers, one history), for every test that checks what the model makes of a sample: a model run
    is most of the suite's time, and each clip gives the same poses whichever test asks."""
    from formcheck.history import History

    work = tmp_path_factory.mktemp("sample-batch")
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
        return subprocess.run([sys.executable, "-m", "formcheck", "batch", "--manifest", str(m), "--workers", "2",
                               "--out", str(out), "--db", str(db), *args],
                              capture_output=True, text=True, env=dict(os.environ), timeout=3600)

    out, db = work / "out", work / "history.sqlite3"
    clinic = manifest(work / "clinic.csv", rows[:len(CLINIC_SAMPLES)])
    first = batch(clinic)
    rest = batch(manifest(work / "all.csv", rows), "--video", "none")
    sessions = {}
    if db.exists():
        with History(db, read_only=True) as h:
            sessions = {s.clip_name: s for s in h.sessions()}
    return SampleBatch(out, db, clinic, first, rest, entries, sessions)
