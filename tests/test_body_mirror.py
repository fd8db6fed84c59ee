"""The whole body mirrored for a moment (issue 17, failure mode 4), on poses built from joint angles.

Facing the camera, the model now and then takes the person to face away for a few samples: every
left label trades places with its right one, shoulders and hips included, so nothing inside the
skeleton looks wrong. Rendered standing hip abductions (body 1, from in front and 45 deg off) read
the raised leg as the other one for 3-4 samples as it came down: 5 and 7 right reps of 3, each a
short hold done too fast. A person cannot turn round between two samples, and a real turn (or a cut
to the back view in an edited video) must keep its labels.
"""

from __future__ import annotations

import numpy as np
import pytest

from formcheck import synth
from formcheck.evaluator import ExerciseEvaluator
from formcheck.limbs import MAX_MIRROR_S, BodyMirrorGuard
from formcheck.skeleton import MIRROR_INDEX, NUM_LANDMARKS, Landmark
from formcheck.spec import load_spec
from formcheck.types import PoseSample
from kinematics import smooth_step, truth_poses
from test_specs_on_synth import rendered_hold_s

FPS = 15.0
_LEGS = [Landmark[f"{s}_{p}"] for s in ("LEFT", "RIGHT") for p in ("HIP", "KNEE", "ANKLE", "HEEL", "FOOT_INDEX")]
_SHOULDERS = [Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER]


def _mirrored(pose: PoseSample, order: np.ndarray = MIRROR_INDEX) -> PoseSample:
    """The pose as the model gives it when it takes the body to face the other way."""
    return PoseSample(pose.timestamp_ms, pose.image_xyz_px[order], pose.world_xyz_m[order], pose.visibility[order],
                      pose.frame_size_px)


def _abduction(view: str):
    truth = synth.generate("standing_hip_abduction", reps=3, view=view, body_seed=1, fps=FPS, seed=0)
    return truth, truth_poses(truth, noise_px=0.5)


def _mirror_as_each_leg_comes_down(truth, poses: list[PoseSample], samples: int = 4) -> tuple[list[PoseSample], int]:
    """Each lift's lowering mirrored for ``samples`` samples from just after the hold (as the model did it:
    the leg on its way down, still well out)."""
    out, mirrored = list(poses), 0
    t_s = np.array([p.timestamp_ms / 1000 for p in poses])
    for rep in truth.reps:
        first = int(np.searchsorted(t_s, rep.peak_s + rep.hold_s / 2 + 0.1))  # peak_s: the middle of the hold
        for i in range(first, first + samples):
            out[i] = _mirrored(poses[i])
            mirrored += 1
    return out, mirrored


@pytest.mark.parametrize("view", ["front", "oblique"])
def test_the_body_mirrored_for_a_moment_is_put_back_label_for_label(view):
    truth, poses = _abduction(view)
    glitched, mirrored = _mirror_as_each_leg_comes_down(truth, poses)
    guard = BodyMirrorGuard()
    out = [guard.update(p) for p in glitched]
    assert guard.undone == mirrored == 4 * len(truth.reps)
    for clean, back in zip(poses, out):
        np.testing.assert_array_equal(back.image_xyz_px, clean.image_xyz_px)


@pytest.mark.parametrize("view", ["front", "oblique"])
def test_a_one_leg_lift_mirrored_as_it_comes_down_is_not_a_rep_of_the_other_leg(view):
    truth, poses = _abduction(view)
    glitched, _ = _mirror_as_each_leg_comes_down(truth, poses)
    evaluator = ExerciseEvaluator(load_spec("standing_hip_abduction").with_target(hold_s=rendered_hold_s(truth)))
    for pose in glitched:
        evaluator.update(pose)
    report = evaluator.finish()
    assert report.reps_by_side == {"left": 3, "right": 3}
    assert not {f.id for f in report.faults} & {"short_hold", "too_fast"}


def _standing_world() -> np.ndarray:
    truth = synth.generate("standing_hip_abduction", reps=1, view="front", body_seed=1, fps=FPS, seed=0)
    return truth.landmarks_world_mp()[0]


def _turned(world: np.ndarray, angle_rad: float, t_ms: float, shift_px: float = 0.0) -> PoseSample:
    """The body turned about its upright axis, seen straight on (labels as they truly are)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    x, y, z = world[:, 0], world[:, 1], world[:, 2]
    turned = np.stack([c * x + s * z, y, -s * x + c * z], axis=1)
    image = np.stack([320 + shift_px + 300 * turned[:, 0], 240 + 300 * turned[:, 1], 300 * turned[:, 2]], axis=1)
    return PoseSample(t_ms, image, turned, np.ones(NUM_LANDMARKS), (640, 480))


@pytest.mark.parametrize("turn_s", [0.6, 1.5])
def test_a_real_turn_round_keeps_its_labels(turn_s):
    """A quick pivot (180 deg in 0.6 s, 450 deg/s at its fastest) passes through side-on: no mirror."""
    world = _standing_world()
    still, n_turn = int(FPS), int(turn_s * FPS)
    angles = np.concatenate([np.zeros(still), np.pi * smooth_step(np.linspace(0, 1, n_turn)), np.full(still, np.pi)])
    guard = BodyMirrorGuard()
    for i, a in enumerate(angles):
        pose = _turned(world, a, i * 1000 / FPS)
        assert guard.update(pose) is pose
    assert guard.undone == 0


def test_a_cut_to_the_back_view_keeps_its_labels():
    """An edited video cuts from the front to the back: the body is facing away at once, but not where it was."""
    world = _standing_world()
    guard = BodyMirrorGuard()
    poses = ([_turned(world, 0.0, i * 1000 / FPS) for i in range(int(FPS))]
             + [_turned(world, np.pi, (i + FPS) * 1000 / FPS, shift_px=60.0) for i in range(int(FPS))])
    for pose in poses:
        assert guard.update(pose) is pose
    assert guard.undone == 0


def test_the_upper_body_mirrored_alone_leaves_the_legs_where_they_were():
    truth, poses = _abduction("front")
    rep = truth.reps[0]
    t_s = np.array([p.timestamp_ms / 1000 for p in poses])
    at = int(np.searchsorted(t_s, rep.peak_s))  # a leg out
    upper_only = np.where(np.isin(np.arange(NUM_LANDMARKS), _LEGS), np.arange(NUM_LANDMARKS), MIRROR_INDEX)
    guard = BodyMirrorGuard()
    out = [guard.update(_mirrored(p, upper_only) if at <= i < at + 2 else p) for i, p in enumerate(poses)]
    assert guard.undone == 2
    for i in (at, at + 1):
        np.testing.assert_array_equal(out[i].image_xyz_px, poses[i].image_xyz_px)


def test_a_mirror_the_model_keeps_up_becomes_its_view():
    """Longer than MAX_MIRROR_S the model's labels stand: the guard does not fight them for the rest of the clip."""
    truth, poses = _abduction("front")
    start = int(2 * FPS)
    guard = BodyMirrorGuard()
    out = [guard.update(_mirrored(p) if i >= start else p) for i, p in enumerate(poses)]
    assert 0 < guard.undone <= MAX_MIRROR_S * FPS + 1
    np.testing.assert_array_equal(out[-1].image_xyz_px, poses[-1].image_xyz_px[MIRROR_INDEX])
