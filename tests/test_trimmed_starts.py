"""Recordings trimmed part way up their first rep, on every exercise's synthetic landmarks.

People press record when they are already moving. Each exercise's clip (4 reps a side, the
generator's landmarks with pixel noise and dropped frames) is cut where the driver has gone 40%
of the way to its first peak: the rest of the rise, the top and the return are in the recording,
so a clinician counts that rep. The cut is found on the driver the engine reads, so it falls part
way up whatever the exercise's timing. (Before, 7 of these 23 lost that rep without listing it:
the first still moment, near the top, was taken for the rest.)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from formcheck import synth
from formcheck.evaluator import ExerciseEvaluator
from formcheck.spec import load_spec, spec_ids
from formcheck.types import feature_value
from kinematics import truth_poses

EXERCISES = [e for e in synth.list_exercises() if e in spec_ids()]
UP_FRACTION = 0.4


def _driver(spec, poses, side: str) -> list[tuple[float, float]]:
    ev = ExerciseEvaluator(spec)
    return [(p.timestamp_ms / 1000, feature_value(ev.update(p).features, spec.rep.driver, side)) for p in poses]


def _cut_part_way_up(truth, driver: list[tuple[float, float]], fraction: float) -> float:
    """The first moment the driver is ``fraction`` of the way from its rest to the first rep's peak."""
    first = truth.reps[0]
    before = [v for t, v in driver if first.start_s - 0.6 <= t <= first.start_s and np.isfinite(v)]
    rising = [(t, v) for t, v in driver if first.start_s <= t <= first.peak_s and np.isfinite(v)]
    rest = float(np.median(before))
    peak = max(abs(v - rest) for _, v in rising)
    return next(t for t, v in rising if abs(v - rest) >= fraction * peak) - 0.001


@pytest.mark.parametrize("exercise", EXERCISES)
def test_a_recording_cut_part_way_up_the_first_rep_counts_it_as_begun_before(exercise):
    spec = load_spec(exercise)
    truth = synth.generate(exercise, reps=4, side="both" if spec.sides == "per_side" else None,
                           view=synth.EXERCISES[exercise].view, body_seed=2, fps=15, seed=3,
                           hold_s=3.0 if spec.kind == "hold" else None)
    poses = truth_poses(truth, noise_px=1.5, drop=0.03, seed=1)
    working = truth.reps[0].side if truth.reps[0].side in ("left", "right") else "both"
    cut_ms = 1000 * _cut_part_way_up(truth, _driver(spec, poses, working), UP_FRACTION)
    ev = ExerciseEvaluator(spec.with_target(hold_s=2.4) if spec.target.hold_s else spec)
    for p in poses:
        if p.timestamp_ms >= cut_ms:
            ev.update(replace(p, timestamp_ms=p.timestamp_ms - cut_ms))
    report = ev.finish()
    expected = {k: truth.expected["reps_by_side"].get(k, 0) for k in report.reps_by_side}
    assert report.reps_by_side == expected, [(m.side, m.kind, round(m.start_ms)) for m in report.rejected]
