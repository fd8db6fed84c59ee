"""Shared fixtures: where the real clips and the pose model are, and skips that say why."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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
