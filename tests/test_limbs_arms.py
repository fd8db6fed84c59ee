"""The arms' labels by continuity (issue 17), on poses built from joint angles (no model).

Through the model, a double hip rotation filmed from high at the feet end had its upper body
mirrored every other sample for seconds of a held turn (left and right elbows, wrists and hands
exchanged), and now and then both arms drawn in toward the middle. Smoothed as given, the wrists
are averaged with each other: the line across the body (the wrists') that the turn is measured
against shrinks and swings, and the held turn reads as rest. A pair of points that exchange
places for a sample and come back is a swap, not a movement; wrists resting out on the floor
cannot close half their span faster than hands can clap.
"""

from __future__ import annotations

import numpy as np
import pytest

from formcheck import synth
from formcheck.evaluator import ExerciseEvaluator
from formcheck.limbs import ArmMergeGuard, LimbSwapGuard
from formcheck.skeleton import Landmark
from formcheck.spec import load_spec
from formcheck.types import PoseSample
from test_specs_on_synth import replay

FPS = 15.0
_PARTS = ("ELBOW", "WRIST", "PINKY", "INDEX", "THUMB")
_LEFT = [Landmark[f"LEFT_{p}"] for p in _PARTS]
_RIGHT = [Landmark[f"RIGHT_{p}"] for p in _PARTS]


def _arms_swapped(pose: PoseSample) -> PoseSample:
    order = np.arange(len(pose.visibility))
    order[_LEFT + _RIGHT] = order[_RIGHT + _LEFT]
    return PoseSample(pose.timestamp_ms, pose.image_xyz_px[order], pose.world_xyz_m[order], pose.visibility[order],
                      pose.frame_size_px)


def _arms_drawn_in(pose: PoseSample, keep: float = 0.3) -> PoseSample:
    """Both forearms drawn toward the middle between the shoulders, to ``keep`` of their reach."""
    image = pose.image_xyz_px.copy()
    middle = (image[Landmark.LEFT_SHOULDER] + image[Landmark.RIGHT_SHOULDER]) / 2
    image[_LEFT + _RIGHT] = middle + keep * (image[_LEFT + _RIGHT] - middle)
    return PoseSample(pose.timestamp_ms, image, pose.world_xyz_m, pose.visibility, pose.frame_size_px)


# per sample in turn: mirrored, drawn in, as it is, half drawn in (as the model did it, seconds on end)
_GLITCHES = (_arms_swapped, _arms_drawn_in, lambda p: p, lambda p: _arms_drawn_in(p, 0.5))


def _clip(view: str):
    truth = synth.generate("double_hip_rotation", reps=1, side="both", view=view, body_seed=0, fps=FPS, seed=0,
                           hold_s=6.0)
    return truth, replay(truth, noise_px=0.5, drop=0.0)


def _glitched(truth, poses: list[PoseSample]) -> list[PoseSample]:
    """The middle 3 s of each held turn with the upper body mirrored or drawn in, sample by sample."""
    out = []
    for i, pose in enumerate(poses):
        t_s = pose.timestamp_ms / 1000
        held = any(r.start_s + 1.5 <= t_s <= r.start_s + 4.5 for r in truth.reps)
        out.append(_GLITCHES[i % len(_GLITCHES)](pose) if held else pose)
    return out


def _run(poses: list[PoseSample]):
    """The report and the per-sample turn (both sides) and shoulder tilt."""
    ev = ExerciseEvaluator(load_spec("double_hip_rotation").with_target(hold_s=5.0))
    keys = ("turn.left", "turn.right", "shoulder_tilt")
    series = np.array([[ev.update(p).features.values[k] for k in keys] for p in poses])
    return ev.finish(), series


@pytest.mark.parametrize("view", ["front", "oblique"])
def test_an_upper_body_mirrored_and_drawn_in_sample_by_sample_reads_as_the_body_does(view):
    """Without the guards the turn swings by 7-10 deg (oblique) and the shoulder tilt reads 180 on mirrored samples."""
    truth, poses = _clip(view)
    clean, clean_series = _run(poses)
    assert clean.reps_by_side == {"left": 1, "right": 1}
    report, series = _run(_glitched(truth, poses))
    # the turn: the line last seen stands in for hidden arms; the shoulder tilt is unseen on those samples
    assert (np.isnan(series[:, :2]) == np.isnan(clean_series[:, :2])).all()
    assert np.nanmax(np.abs(series - clean_series)) < 1.0
    assert report.reps_by_side == {"left": 1, "right": 1}
    assert [f.id for f in report.faults] == [f.id for f in clean.faults]


def test_the_swap_guard_puts_back_a_brief_arm_swap_and_keeps_a_settled_one():
    _, poses = _clip("front")
    guard = LimbSwapGuard("arms")
    outs = [guard.update(_arms_swapped(p) if i == 40 else p) for i, p in enumerate(poses[:41])]
    assert np.allclose(outs[40].image_xyz_px, poses[40].image_xyz_px)
    # the model's view held for long is its view: its labels stand
    guard = LimbSwapGuard("arms")
    outs = [guard.update(_arms_swapped(p) if i >= 40 else p) for i, p in enumerate(poses[:60])]
    assert np.allclose(outs[59].image_xyz_px, _arms_swapped(poses[59]).image_xyz_px)


def test_arms_drawn_in_show_no_forearm_and_a_slow_clap_stands():
    _, poses = _clip("front")
    guard = ArmMergeGuard()
    outs = [guard.update(_arms_drawn_in(p) if i == 40 else p) for i, p in enumerate(poses[:42])]
    assert not np.isfinite(outs[40].image_xyz_px[_LEFT + _RIGHT]).any()
    assert np.isfinite(outs[40].image_xyz_px[Landmark.LEFT_SHOULDER]).all()
    assert np.allclose(outs[41].image_xyz_px, poses[41].image_xyz_px)
    # the same closing over a second is a movement
    guard = ArmMergeGuard()
    slow = [p if i < 30 else _arms_drawn_in(p) if i >= 45 else p for i, p in enumerate(poses[:50])]
    slow = [_part_way(p, (i - 30) / 15) if 30 <= i < 45 else p for i, p in enumerate(slow)]
    outs = [guard.update(p) for p in slow]
    assert np.isfinite(outs[-1].image_xyz_px[_LEFT + _RIGHT]).all()


def _part_way(pose: PoseSample, share: float) -> PoseSample:
    drawn = _arms_drawn_in(pose).image_xyz_px
    image = pose.image_xyz_px + share * (drawn - pose.image_xyz_px)
    return PoseSample(pose.timestamp_ms, image, pose.world_xyz_m, pose.visibility, pose.frame_size_px)


def test_an_unknown_limb_lists_the_valid_ones():
    with pytest.raises(ValueError, match="legs, arms"):
        LimbSwapGuard("tail")


def test_a_shoulder_line_the_model_mirrored_alone_keeps_its_direction():
    """The wrists' labels put back by the guard, the shoulders left as the model drew them (mirrored):
    the tilt of one line across the body against the other still reads as the body's (not 180 - x)."""
    from formcheck.features import FeatureExtractor

    _, poses = _clip("front")
    shoulders = [Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER]
    fx = FeatureExtractor(load_spec("double_hip_rotation"))
    for pose in poses[:30]:
        fx.update(pose)
    pose = poses[30]
    image = pose.image_xyz_px.copy()
    image[shoulders] = image[shoulders[::-1]]
    mirrored = PoseSample(pose.timestamp_ms, image, pose.world_xyz_m, pose.visibility, pose.frame_size_px)
    tilt = FeatureExtractor(load_spec("double_hip_rotation"))
    for p in poses[:31]:
        as_given = tilt.update(p).values["shoulder_tilt"]
    assert as_given < 10
    assert fx.update(mirrored).values["shoulder_tilt"] == pytest.approx(as_given, abs=1e-6)
