"""The fire hydrant's form rules on landmarks built from joint angles (issue 17).

The generator poses its body by forward kinematics from joint angles; these replays take its
image and 3D landmarks, add a little noise and, where a test says so, change them the way a
camera or the pose model does.
"""

from __future__ import annotations

import numpy as np
import pytest

from formcheck import synth
from formcheck.skeleton import Landmark as L
from formcheck.types import PoseSample
from kinematics import analysed, truth_poses

# a camera a little to one side of straight behind sees level shoulders at a slant: through the
# model, filmed 30 deg off behind, the line read 78-81 on one side, 99-102 on the other, at rest
CAMERA_SLANT_DEG = 12.0


def replay(truth, *, slant_deg: float = 0.0, seed: int = 0) -> list[PoseSample]:
    """The truth's landmarks with a little noise; ``slant_deg``: the shoulder line tilted by the camera."""
    def slant(i: int, xy: np.ndarray) -> None:
        left, right = xy[L.LEFT_SHOULDER], xy[L.RIGHT_SHOULDER]
        xy[L.RIGHT_SHOULDER, 1] -= np.tan(np.radians(slant_deg)) * abs(right[0] - left[0])

    return truth_poses(truth, noise_px=1.0, seed=seed, distort=slant)


def analyse(poses: list[PoseSample]):
    return analysed("quadruped_hip_abduction", poses)


def generate(view: str, fault: str | None = None):
    return synth.generate("quadruped_hip_abduction", reps=2, side="both", view=view, body_seed=1, fps=15, seed=1,
                          fault=fault)


def flagged_sides(report, fault: str) -> set[str]:
    return {r.side for r in report.reps if any(f.id == fault for f in r.faults)}


@pytest.mark.parametrize("view", ["front", "oblique"])
def test_a_knee_that_opens_as_the_leg_goes_out_is_flagged(view):
    report = analyse(replay(generate(view, "knee_straightens")))
    assert report.reps_by_side == {"left": 2, "right": 2}
    assert flagged_sides(report, "knee_straightens") == {"left", "right"}
    assert {f.id for f in report.faults} == {"knee_straightens"}


@pytest.mark.parametrize("view", ["front", "oblique"])
def test_a_knee_held_at_a_right_angle_is_no_fault(view):
    report = analyse(replay(generate(view)))
    assert report.reps_by_side == {"left": 2, "right": 2}
    assert report.faults == ()


@pytest.mark.parametrize("view", ["front", "oblique"])
def test_shoulders_the_camera_sees_at_a_slant_are_no_roll(view):
    poses = replay(generate(view), slant_deg=CAMERA_SLANT_DEG)
    # the slant is real: a level body's shoulder line reads past a fixed 78 on one side at rest
    report = analyse(poses)
    at_rest = report.series.values["shoulder_line.right"][:10]
    assert float(np.nanmedian(at_rest)) < 81
    assert report.reps_by_side == {"left": 2, "right": 2}
    assert not [f for f in report.faults if f.id == "trunk_tips"]


@pytest.mark.parametrize("view", ["front", "oblique"])
def test_a_roll_is_flagged_on_both_legs_whatever_the_slant(view):
    report = analyse(replay(generate(view, "trunk_tips"), slant_deg=CAMERA_SLANT_DEG))
    assert report.reps_by_side == {"left": 2, "right": 2}
    assert flagged_sides(report, "trunk_tips") == {"left", "right"}
