"""LegMergeGuard: samples where the model put both knees at one place, with one leg out, show neither leg."""

from __future__ import annotations

import numpy as np

from formcheck.limbs import MAX_MERGE_S, LegMergeGuard
from formcheck.skeleton import NUM_LANDMARKS, Landmark as L
from formcheck.types import PoseSample

DT_MS = 1000 / 15
HIPS = {L.LEFT_HIP: (351.0, 286.0), L.RIGHT_HIP: (357.0, 273.0)}
# on all fours side-on: the near (left) knee planted under the hip, the far leg reaching back (thigh ~95 px)
APART = {L.LEFT_KNEE: (351.0, 380.0), L.RIGHT_KNEE: (446.0, 275.0), L.LEFT_ANKLE: (440.0, 374.0), L.RIGHT_ANKLE: (500.0, 213.0)}
# as the model read a far leg reaching back with its knee bent: both knees half way between the legs
MERGED = {L.LEFT_KNEE: (404.0, 314.0), L.RIGHT_KNEE: (403.0, 331.0), L.LEFT_ANKLE: (465.0, 277.0), L.RIGHT_ANKLE: (472.0, 327.0)}


def pose(t_ms: float, legs: dict) -> PoseSample:
    xy = np.zeros((NUM_LANDMARKS, 3))
    for lm, p in {**HIPS, **legs}.items():
        xy[lm, :2] = p
    return PoseSample(t_ms, xy, np.zeros((NUM_LANDMARKS, 3)), np.full(NUM_LANDMARKS, 0.9), (640, 480))


def run(sequence: list[dict]) -> list[PoseSample]:
    guard = LegMergeGuard()
    return [guard.update(pose(i * DT_MS, legs)) for i, legs in enumerate(sequence)]


def hidden(p: PoseSample) -> bool:
    return bool(np.isnan(p.image_xyz_px[[L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE]]).all())


def test_both_knees_jumping_to_one_place_are_hidden_and_the_legs_come_back():
    out = run([APART] * 5 + [MERGED] * 3 + [APART] * 3)
    assert [hidden(p) for p in out] == [False] * 5 + [True] * 3 + [False] * 3
    assert np.isnan(out[5].world_xyz_m[L.RIGHT_KNEE]).all()
    assert np.isfinite(out[5].image_xyz_px[L.LEFT_HIP]).all()  # the hips stay: only the legs are lost


def test_the_working_knee_coming_back_to_the_planted_one_is_a_movement_not_a_merge():
    back = {**APART, L.RIGHT_KNEE: (360.0, 372.0), L.RIGHT_ANKLE: (445.0, 370.0)}
    out = run([APART] * 5 + [back] * 3)
    assert not any(hidden(p) for p in out)


def test_a_merge_the_model_keeps_is_its_settled_view():
    n = int(MAX_MERGE_S * 1000 / DT_MS) + 4
    out = run([APART] * 5 + [MERGED] * n)
    assert hidden(out[5])
    assert not hidden(out[-1])


def test_legs_together_at_rest_are_never_a_merge():
    together = {**APART, L.RIGHT_KNEE: (356.0, 376.0), L.RIGHT_ANKLE: (444.0, 370.0)}
    out = run([together] * 5 + [MERGED] * 2)
    assert not any(hidden(p) for p in out)
