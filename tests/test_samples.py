"""The bundled sample clips, through the real model, give what their ground-truth sidecars say.

These need no ../shared: they are what a fresh clone analyses with the README's command.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest


SAMPLES = Path(__file__).resolve().parents[1] / "sample_videos"
MANIFEST = json.loads((SAMPLES / "manifest.json").read_text())

pytestmark = pytest.mark.model

# Samples the real model is known to get wrong, with the reason; strict, so a fix shows up as a failure
# to update this list. (The spec's own comments and the README's accuracy notes say the same.)
KNOWN_WRONG: dict[str, str] = {}  # none at present


def _case(entry: dict):
    reason = KNOWN_WRONG.get(entry["clip"])
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(entry, marks=marks, id=entry["clip"][:-4])


def test_there_is_a_correct_and_a_faulty_sample_for_every_synthesised_spec():
    from formcheck import synth
    from formcheck.spec import spec_ids

    names = {e["clip"] for e in MANIFEST}
    assert names == {p.name for p in SAMPLES.glob("*.mp4")}
    for exercise in set(synth.list_exercises()) & set(spec_ids()):
        faults = [e["fault"] for e in MANIFEST if e["exercise"] == exercise]
        assert None in faults and any(faults), exercise
    assert sum(p.stat().st_size for p in SAMPLES.iterdir()) < 15 * 2**20


def test_every_sidecar_matches_its_manifest_entry():
    from formcheck.synth import load_truth

    for e in MANIFEST:
        truth = load_truth(SAMPLES / e["truth"])
        assert (truth.exercise, truth.fault, truth.expected) == (e["exercise"], e["fault"], e["expected"])


@pytest.mark.parametrize("entry", [_case(e) for e in MANIFEST])
def test_sample_clip_counts_and_faults_match_its_truth(entry, sample_batch):
    """Each sample as the session-wide batch of every sample analysed it (conftest.sample_batch)."""
    session = sample_batch.sessions.get(entry["clip"])
    assert session is not None, sample_batch.first.stderr + sample_batch.rest.stderr
    assert session.status == "done", session.error
    report_dir = Path(session.report_dir)
    report = json.loads((report_dir / "report.json").read_text())
    by_side = report["summary"]["reps_by_side"]
    assert by_side == {k: entry["expected"]["reps_by_side"].get(k, 0) for k in by_side}
    assert set(report["summary"]["faults_by_id"]) == set(entry["expected"]["faults"])
    assert (report_dir / "reps.csv").is_file() and (report_dir / "report.html").is_file()
