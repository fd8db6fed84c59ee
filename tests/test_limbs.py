"""Sides follow the physical leg (issue 17, failure mode 4), on poses built from joint angles.

Side-on, the pose model gives the lifted far leg the near leg's labels for whole lifts: the labels
move over with the leg as it leaves rest, continuously, so no per-frame check sees a jump, and
come back when it returns. The model's depth stays with each label (it believes its labels), so
the hip-depth tracker sees nothing wrong either. A set done entirely with the far leg is then
reported on the near side. The resting leg's foot keeps its place on the floor, and tells.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from formcheck import synth
from formcheck.evaluator import ExerciseEvaluator
from formcheck.limbs import SupportFootCheck
from formcheck.skeleton import Landmark
from formcheck.spec import load_spec
from formcheck.types import PoseSample, RepEvent
from test_specs_on_synth import replay

_PARTS = ("KNEE", "ANKLE", "HEEL", "FOOT_INDEX")
_LEFT = [Landmark[f"LEFT_{p}"] for p in _PARTS]
_RIGHT = [Landmark[f"RIGHT_{p}"] for p in _PARTS]
REPS = 3


def _far_leg_set(exercise: str, side: str, reps: int = REPS):
    """A one-leg set done with the leg far from the camera, and the poses the model would give."""
    program = synth.EXERCISES[exercise]
    camera_az = -90.0 if side == "left" else 90.0  # on the other leg's side: the working leg is the far one
    truth = synth.generate(exercise, reps=reps, side=side, view=(camera_az, program.side_elevation_deg), fps=15.0,
                           seed=3, body_seed=1)
    return truth, replay(truth, noise_px=1.0, drop=0.0, seed=3)


def _lifts_take_the_near_labels(poses: list[PoseSample], truth) -> list[PoseSample]:
    """Failure mode 4 injected: during each lift the working (far) leg's image points carry the other
    leg's labels and the other leg's carry its own, while every label keeps its depth and visibility."""
    lifting = np.zeros(len(poses), bool)
    t_s = np.array([p.timestamp_ms / 1000 for p in poses])
    for r in truth.reps:
        lifting |= (t_s >= r.start_s) & (t_s <= r.end_s)  # whole lifts, as the model does it side-on
    out = []
    for pose, over in zip(poses, lifting):
        if not over or not pose.detected:
            out.append(pose)
            continue
        image, world = pose.image_xyz_px.copy(), pose.world_xyz_m.copy()
        image[_LEFT + _RIGHT, :2] = pose.image_xyz_px[_RIGHT + _LEFT, :2]
        world[_LEFT + _RIGHT, :2] = pose.world_xyz_m[_RIGHT + _LEFT, :2]
        out.append(PoseSample(pose.timestamp_ms, image, world, pose.visibility, pose.frame_size_px))
    return out


def _sides(exercise: str, poses: list[PoseSample]) -> dict[str, int]:
    evaluator = ExerciseEvaluator(load_spec(exercise).with_target(hold_s=0.1))
    for pose in poses:
        evaluator.update(pose)
    return evaluator.finish().reps_by_side


def _votes(poses: list[PoseSample], truth, labelled: str) -> list[int]:
    """The check's per-rep votes, with each rep on the side the labels put it."""
    check = SupportFootCheck()
    for pose in poses:
        check.update(pose)
    reps = [RepEvent(i, labelled, r.start_s * 1000, r.peak_s * 1000, r.end_s * 1000, 20.0, {}, 0.0, 1.0)
            for i, r in enumerate(truth.reps)]
    return check.votes(reps)


@pytest.mark.parametrize("exercise", ["standing_hip_extension", "standing_hip_flexion", "supine_leg_raise",
                                      "quadruped_hip_extension"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_a_far_leg_set_whose_lifts_take_the_near_labels_stays_on_the_far_leg(exercise, side):
    truth, poses = _far_leg_set(exercise, side)
    other = "right" if side == "left" else "left"
    assert _votes(poses, truth, side) == [-1] * REPS  # labelled right: the resting foot agrees
    assert _sides(exercise, poses) == {side: REPS, other: 0}
    swapped = _lifts_take_the_near_labels(poses, truth)
    # each lift now reads as the other leg's (without the check: {other: REPS}), yet the resting foot stood still
    assert _votes(swapped, truth, other) == [1] * REPS
    assert _sides(exercise, swapped) == {side: REPS, other: 0}


def test_the_side_the_user_names_stands():
    truth, poses = _far_leg_set("standing_hip_extension", "left")
    evaluator = ExerciseEvaluator(load_spec("standing_hip_extension").with_target(hold_s=0.1), side="right")
    for pose in _lifts_take_the_near_labels(poses, truth):
        evaluator.update(pose)
    assert evaluator.finish().reps_by_side == {"left": 0, "right": REPS}


def test_lifts_the_model_labelled_right_stay_and_the_rest_of_the_set_follows_the_resting_foot():
    """The model gets some lifts right: those stay, the ones that went over come back; one leg, one side."""
    truth, poses = _far_leg_set("standing_hip_flexion", "left", reps=4)
    first_two = replace(truth, reps=truth.reps[:2])
    assert _sides("standing_hip_flexion", _lifts_take_the_near_labels(poses, first_two)) == {"left": 4, "right": 0}


def test_marching_with_the_far_lifts_under_the_near_labels_counts_each_lift_on_its_side(monkeypatch):
    """Alternate knee lifts, every far-leg lift labelled as the near leg: all six read as one leg's,
    yet the resting foot stands on the far leg's place every other lift. 3 + 3, in turn."""
    from test_variants import _marching

    base = synth.EXERCISES["standing_hip_flexion"]
    monkeypatch.setitem(synth.EXERCISES, "marching_variant", replace(base, id="marching_variant",
                                                                     motion=_marching(base.motion)))
    # the near leg is the first lift's (left); a camera a little above the hips sees the feet apart
    truth = synth.generate("marching_variant", reps=6, side="left", view=(90.0, 15.0), rep_s=1.4, fps=15.0,
                           seed=3, body_seed=1)
    poses = replay(truth, noise_px=1.0, drop=0.0, seed=3)
    far_lifts = replace(truth, reps=truth.reps[1::2])
    evaluator = ExerciseEvaluator(load_spec("standing_hip_flexion").with_target(hold_s=0.0))
    for pose in _lifts_take_the_near_labels(poses, far_lifts):
        evaluator.update(pose)
    assert [r.side for r in evaluator.finish().reps] == ["left", "right"] * 3


def test_feet_that_never_settle_between_lifts_are_no_evidence():
    """A working foot kept hovering between reps (or labels trading places at rest) has no rest place:
    the check says nothing and the model's labels stand, right or wrong."""
    truth, poses = _far_leg_set("standing_hip_extension", "left")
    swapped = _lifts_take_the_near_labels(poses, truth)
    rng = np.random.default_rng(5)
    feet = [Landmark[f"{s}_{p}"] for s in ("LEFT", "RIGHT") for p in ("ANKLE", "HEEL", "FOOT_INDEX")]
    first = truth.landmarks_2d_px[0]
    torso_px = float(np.linalg.norm(first[Landmark.LEFT_SHOULDER] - first[Landmark.LEFT_HIP]))
    lifting = [any(r.start_s <= p.timestamp_ms / 1000 <= r.end_s for r in truth.reps) for p in swapped]
    wobbly = []
    for pose, lift in zip(swapped, lifting):
        image = pose.image_xyz_px.copy()
        if not lift:  # feet wobbling at rest by over a third of how far apart they rest (0.15 torso)
            image[feet, :2] += rng.normal(0, torso_px / 12, (len(feet), 2))
        wobbly.append(PoseSample(pose.timestamp_ms, image, pose.world_xyz_m, pose.visibility, pose.frame_size_px))
    assert _votes(swapped, truth, "right") == [1] * REPS
    assert _votes(wobbly, truth, "right") == [0] * REPS


def test_a_resting_foot_read_at_neither_rest_place_is_no_evidence():
    """At the lifts' peaks the resting foot is read past the working foot's rest place, nearer it than
    its own but at neither (the model misplaced it): no evidence, and the labels stand (a real donkey
    kick, mirrored, had all six reps put on the wrong leg by one such rep)."""
    truth, poses = _far_leg_set("standing_hip_extension", "left")
    swapped = _lifts_take_the_near_labels(poses, truth)
    feet = {s: [Landmark[f"{s}_{p}"] for p in ("ANKLE", "HEEL", "FOOT_INDEX")] for s in ("LEFT", "RIGHT")}
    lifting = [any(r.start_s <= p.timestamp_ms / 1000 <= r.end_s for r in truth.reps) for p in swapped]
    at_rest = np.array([p.image_xyz_px[:, :2] for p, lift in zip(swapped, lifting) if not lift])
    rest_left, rest_right = (np.median(at_rest[:, feet[s]], axis=0) for s in ("LEFT", "RIGHT"))
    misplaced = []
    for pose, lift in zip(swapped, lifting):
        image = pose.image_xyz_px.copy()
        if lift:  # labelled right is the lift: the left label is the resting foot
            image[feet["LEFT"], :2] = rest_right + 0.8 * (rest_right - rest_left)
        misplaced.append(PoseSample(pose.timestamp_ms, image, pose.world_xyz_m, pose.visibility, pose.frame_size_px))
    assert _votes(swapped, truth, "right") == [1] * REPS
    assert _votes(misplaced, truth, "right") == [0] * REPS
