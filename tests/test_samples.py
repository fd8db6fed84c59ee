"""The bundled sample clips, through the real model, give what their ground-truth sidecars say.

These need no ../shared: they are what a fresh clone analyses with the README's command.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from formcheck.pipeline import analyze, build_evaluator

SAMPLES = Path(__file__).resolve().parents[1] / "sample_videos"
CLIPS = sorted(SAMPLES.glob("*.mp4"))

pytestmark = pytest.mark.model


def test_there_is_a_correct_and_a_faulty_sample_for_every_synthesised_spec():
    from formcheck import synth
    from formcheck.spec import spec_ids

    names = {c.stem for c in CLIPS}
    for exercise in set(synth.list_exercises()) & set(spec_ids()):
        assert f"{exercise}_correct" in names
        assert any(n.startswith(exercise + "_") and not n.endswith("_correct") for n in names)
    assert sum(p.stat().st_size for p in SAMPLES.iterdir()) < 15 * 2**20


@pytest.mark.parametrize("clip", CLIPS, ids=[c.stem for c in CLIPS])
def test_sample_clip_counts_and_faults_match_its_truth(clip, model_path, tmp_path):
    truth = json.loads(clip.with_suffix(".json").read_text())
    spec, evaluator = build_evaluator(truth["exercise"], None)
    report = analyze(clip, spec, evaluator, tmp_path, model_path=model_path)
    expected = {k: truth["expected"]["reps_by_side"].get(k, 0) for k in report.reps_by_side}
    assert report.reps_by_side == expected
    assert {f.id for f in report.faults} == set(truth["expected"]["faults"])
    assert (tmp_path / "report.json").is_file() and (tmp_path / "reps.csv").is_file()
