"""Synthetic clip generator: truth consistency, schedules, fault injection, rendering, MediaPipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from formcheck.synth import generate, list_exercises, list_faults, load_truth, render_clip
from formcheck.synth.body import BodyShape, forward_kinematics
from formcheck.synth.postures import MAT_Y_M, POSTURES, lowest_y, posture
from formcheck.synth.truth import ANGLE_NAMES, Truth, compute_angles, pelvis_drop_m

CASES = [(ex, f) for ex in list_exercises() for f in (None, *list_faults(ex))]


def _frames_in(truth: Truth, start_s: float, end_s: float) -> np.ndarray:
    return (truth.t_s >= start_s) & (truth.t_s <= end_s)


def _working(truth: Truth, rep) -> list[str]:
    return ["left", "right"] if rep.side == "both" else [rep.side]


# --------------------------------------------------------------------------- registry and names


def test_registry_lists_the_first_two_exercises_and_their_faults():
    assert {"bridge", "standing_hip_extension"} <= set(list_exercises())
    assert set(list_faults("bridge")) == {"hips_low", "hips_uneven", "over_arch", "too_fast"}
    assert set(list_faults("standing_hip_extension")) == {"knee_bent", "trunk_lean", "too_fast"}
    assert set(list_faults("mini_squat")) == {"too_deep", "trunk_lean", "too_fast"}
    assert set(list_faults("standing_hip_flexion")) == {"trunk_lean_back", "standing_knee_bent", "too_fast"}


@pytest.mark.parametrize("call, listed", [
    (lambda: generate("no_such_exercise"), "bridge"),
    (lambda: list_faults("no_such_exercise"), "standing_hip_extension"),
    (lambda: generate("bridge", fault="knee_bent"), "hips_low"),
    (lambda: generate("standing_hip_extension", fault="hips_low"), "trunk_lean"),
    (lambda: generate("bridge", side="left"), "both"),
    (lambda: generate("standing_hip_extension", side="up"), "right"),
    (lambda: generate("bridge", view="top"), "oblique"),
])
def test_bad_names_raise_value_error_listing_valid_ones(call, listed):
    with pytest.raises(ValueError, match=listed):
        call()


def test_angled_view_is_a_little_off_the_spec_view_and_raised():
    def placement(exercise, **kw):
        v = generate(exercise, reps=1, view="angled", fps=5, **kw).view
        return v.azimuth_deg, v.elevation_deg

    assert placement("standing_hip_extension") == (70.0, 20.0)  # side-on spec: 20 deg toward the front
    assert placement("standing_hip_extension", side="right") == (-70.0, 20.0)  # from the working side
    assert placement("clamshell") == (20.0, 35.0)  # front-view spec, its own raised camera kept
    assert placement("supine_leg_raise") == (90.0, 25.0)  # its advice wants the camera square to the side


# --------------------------------------------------------------------------- truth consistency


# the fire hydrant swings the thigh out to the side: its sagittal hip angle is taken from a short
# projection of the thigh, which the sidecar's 1 mm landmarks move by up to a degree
_SIDEWAYS_THIGH = {"quadruped_hip_abduction"}


@pytest.mark.parametrize("exercise, fault", CASES)
def test_sidecar_angles_recompute_from_its_own_landmarks(exercise, fault):
    truth = generate(exercise, fault=fault, reps=2, fps=15)
    back = Truth.from_json(truth.to_json())
    again = compute_angles(back.landmarks_3d_m)
    for name in ANGLE_NAMES:
        tol = 1.0 if exercise in _SIDEWAYS_THIGH and "hip_flexion" in name else 0.5
        assert np.nanmax(np.abs(again[name] - back.angles_deg[name])) < tol, name
    assert np.max(np.abs(pelvis_drop_m(back.landmarks_3d_m) - back.pelvis_drop_m)) < 2e-3  # landmarks kept to 1 mm


# the design hip angle is taken against the pelvis; when the fault tilts the pelvis (or the leg circles
# out of the sagittal plane) the shoulder-hip-knee angle measured from landmarks differs by 6-9 deg
_PELVIS_RELATIVE = {("prone_hip_extension", "pelvis_lifts"), ("quadruped_hip_extension", "thigh_too_high"),
                    ("standing_hip_circles", "too_fast")}


@pytest.mark.parametrize("exercise, fault", [
    pytest.param(e, f, marks=pytest.mark.xfail(strict=True, reason="hip angle designed against the pelvis"))
    if (e, f) in _PELVIS_RELATIVE else (e, f) for e, f in CASES])
def test_keyframed_channels_equal_measured_angles(exercise, fault):
    truth = generate(exercise, fault=fault, reps=2, fps=15)
    assert truth.keyframed, "every program declares the channels it sets exactly"
    measured = set(truth.angles_deg) | {"pelvis_drop_m", "design_hip_flexion_deg"}
    # channels the truth does not measure (e.g. a leg's turn, a pelvis shift) are design curves only
    for name, design in truth.keyframed.items():
        if name not in measured:
            continue
        if name == "design_hip_flexion_deg":  # the bridge's keyframed target, defined during reps only
            on = np.isfinite(design)
            for side in ("left", "right"):
                got = truth.angles_deg[f"{side}_hip_flexion_deg"][on]
                assert np.max(np.abs(got - design[on])) < 0.5
            continue
        got = truth.pelvis_drop_m if name == "pelvis_drop_m" else truth.angles_deg[name]
        tol = 0.005 if name == "pelvis_drop_m" else 0.5
        assert np.max(np.abs(got - design)) < tol, name


def test_landmarks_are_in_frame_and_projection_matches_camera():
    truth = generate("standing_hip_extension", reps=1, fps=10)
    assert truth.in_frame.all()
    px, _ = truth.camera().project(truth.landmarks_3d_m)
    assert np.max(np.abs(px - truth.landmarks_2d_px)) < 0.01
    world = truth.landmarks_world_mp()
    mid_hip = 0.5 * (world[:, 23] + world[:, 24])
    assert np.allclose(mid_hip, 0, atol=1e-9)
    assert (world[:, 0, 1] < -0.5).all(), "MediaPipe world y points down: the standing nose is above the hips"


# --------------------------------------------------------------------------- schedule


@pytest.mark.parametrize("exercise, side, n_reps, by_side", [
    ("bridge", None, 3, {"left": 0, "right": 0, "both": 3}),
    ("standing_hip_extension", "both", 3, {"left": 3, "right": 3, "both": 0}),
    ("standing_hip_extension", "right", 2, {"left": 0, "right": 2, "both": 0}),
])
def test_rep_count_and_intervals_follow_the_keyframes(exercise, side, n_reps, by_side):
    truth = generate(exercise, reps=n_reps, side=side, fps=30)
    assert truth.expected["reps_total"] == sum(by_side.values()) == len(truth.reps)
    assert truth.expected["reps_by_side"] == by_side
    prev_end = 1.5  # the setup movement comes first and is not a rep
    for rep in truth.reps:
        assert prev_end < rep.start_s < rep.peak_s < rep.end_s <= truth.duration_s
        assert rep.hold_s > 0
        prev_end = rep.end_s
        for s in _working(truth, rep):
            hip = truth.angles_deg[f"{s}_hip_flexion_deg"]
            at = lambda t: hip[int(round(t * truth.fps))]  # noqa: E731
            top = hip[_frames_in(truth, rep.start_s, rep.end_s)]
            # rest at the ends (up to the slow postural sway), the extreme within the hold around peak_s
            assert abs(at(rep.start_s) - at(rep.end_s)) < 2.0
            extreme = top.min() if at(rep.start_s) > at(rep.peak_s) else top.max()
            assert abs(at(rep.peak_s) - extreme) < 0.5
            assert abs(at(rep.peak_s) - at(rep.start_s)) > 15.0
    # between reps nothing moves through a rep-sized range
    for a, b in zip(truth.reps, truth.reps[1:]):
        gap = _frames_in(truth, a.end_s + 0.05, b.start_s - 0.05)
        for s in ("left", "right"):
            between = truth.angles_deg[f"{s}_hip_flexion_deg"][gap]
            assert between.size == 0 or np.ptp(between) < 8.0


def test_rep_peaks_reach_the_declared_range():
    bridge = generate("bridge", reps=3)
    for rep in bridge.reps:
        assert abs(rep.peak_deg["left_hip_flexion_deg"]) < 5  # shoulders-hips-knees in line
    she = generate("standing_hip_extension", reps=3, side="left")
    for rep in she.reps:
        assert -23 < rep.peak_deg["left_hip_flexion_deg"] < -17
        assert rep.peak_deg["left_knee_flexion_deg"] < 5


def test_determinism_same_seed_same_truth():
    a = generate("standing_hip_extension", reps=2, seed=3, body_seed=2)
    b = generate("standing_hip_extension", reps=2, seed=3, body_seed=2)
    assert a.to_json() == b.to_json()
    c = generate("standing_hip_extension", reps=2, seed=4, body_seed=2)
    assert [r.start_s for r in a.reps] != [r.start_s for r in c.reps]


def test_rep_s_sets_the_rep_duration():
    truth = generate("bridge", reps=2, rep_s=4.0)
    for rep in truth.reps:
        assert 3.4 < rep.end_s - rep.start_s < 4.6


# --------------------------------------------------------------------------- fault injection


def _fault_case(exercise: str, fault: str):
    good = generate(exercise, reps=2, fps=30, seed=1)
    bad = generate(exercise, reps=2, fps=30, seed=1, fault=fault)
    assert bad.expected["faults"] == [fault]
    assert len(bad.faults) == len(bad.reps) and good.faults == ()
    return good, bad


@pytest.mark.parametrize("fault, low, high", [("hips_low", 20, 35), ("over_arch", -24, -15)])
def test_bridge_top_faults_move_the_hip_angle_at_the_top(fault, low, high):
    good, bad = _fault_case("bridge", fault)
    for f in bad.faults:
        assert f.metric == "hip_flexion_deg" and f.side == "both"
        win = _frames_in(bad, f.start_s, f.end_s)
        for s in ("left", "right"):
            top = bad.angles_deg[f"{s}_hip_flexion_deg"][win]
            ok_top = good.angles_deg[f"{s}_hip_flexion_deg"][_frames_in(good, *_top(good, f.rep_index))]
            assert low <= np.median(top) <= high
            assert abs(np.median(ok_top)) < 5


def _top(truth: Truth, i: int) -> tuple[float, float]:
    r = truth.reps[i]
    return r.peak_s - r.hold_s / 2, r.peak_s + r.hold_s / 2


def test_bridge_hips_uneven_drops_one_hip_at_the_top():
    good, bad = _fault_case("bridge", "hips_uneven")
    for f in bad.faults:
        assert f.metric == "pelvis_drop_m" and f.side in ("left", "right")
        drop = bad.pelvis_drop_m[_frames_in(bad, f.start_s, f.end_s)]
        sign = -1 if f.side == "left" else 1  # the named side is the lower one
        assert (sign * drop > 0.055).all() and (sign * drop < 0.085).all()
    assert np.max(np.abs(good.pelvis_drop_m)) < 0.005
    before = bad.t_s < bad.reps[0].start_s
    assert np.max(np.abs(bad.pelvis_drop_m[before])) < 0.005


def test_standing_knee_bent_bends_the_working_knee():
    good, bad = _fault_case("standing_hip_extension", "knee_bent")
    for f in bad.faults:
        side = bad.reps[f.rep_index].side
        assert f.side == side and f.metric == f"{side}_knee_flexion_deg"
        win = _frames_in(bad, f.start_s, f.end_s)
        assert bad.angles_deg[f"{side}_knee_flexion_deg"][win].min() > 24
        assert good.angles_deg[f"{side}_knee_flexion_deg"].max() < 5


def test_standing_trunk_lean_leans_forward_at_the_top():
    good, bad = _fault_case("standing_hip_extension", "trunk_lean")
    for f in bad.faults:
        win = _frames_in(bad, f.start_s, f.end_s)
        assert f.metric == "trunk_lean_deg"
        assert bad.angles_deg["trunk_lean_deg"][win].min() > 20
    assert np.max(np.abs(good.angles_deg["trunk_lean_deg"])) < 2
    before = bad.t_s < bad.reps[0].start_s
    assert np.max(np.abs(bad.angles_deg["trunk_lean_deg"][before])) < 2


@pytest.mark.parametrize("exercise", ["bridge", "standing_hip_extension", "mini_squat", "standing_hip_flexion"])
def test_too_fast_makes_every_rep_shorter_than_the_threshold(exercise):
    good, bad = _fault_case(exercise, "too_fast")
    assert all(r.end_s - r.start_s < 0.8 for r in bad.reps)
    assert all(r.end_s - r.start_s > 1.5 for r in good.reps)
    for f, r in zip(bad.faults, bad.reps):
        assert (f.start_s, f.end_s) == (r.start_s, r.end_s)


# --------------------------------------------------------------------------- standing hip flexion

# exercise_specs/standing_hip_flexion.yaml: the working thigh drives the count (enter 20 deg, 25 deg
# of range); trunk_lean_back below -10 deg held 0.3 s; standing_knee_bent when the other knee's
# angle is below 158 deg (flexion above 22) for 1.0 s; too_fast below 0.8 s


def _thigh(truth: Truth, side: str) -> np.ndarray:
    """Thigh against vertical (+ forward): hip flexion against the trunk less the trunk's lean."""
    return truth.angles_deg[f"{side}_hip_flexion_deg"] - truth.angles_deg["trunk_lean_deg"]


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


def test_standing_hip_flexion_correct_reps_stay_well_inside_the_spec_limits():
    truth = generate("standing_hip_flexion", reps=3, side="both", fps=30, seed=2, body_seed=3)
    lean = truth.angles_deg["trunk_lean_deg"]
    assert np.abs(lean).max() < 3
    for rep in truth.reps:
        win = _frames_in(truth, rep.start_s, rep.end_s)
        thigh = _thigh(truth, rep.side)
        assert 60 <= thigh[win].max() <= 76  # knee toward the chest, short of hip level
        assert 75 <= rep.peak_deg[f"{rep.side}_knee_flexion_deg"] <= 92  # the lifted knee bends
        assert truth.angles_deg[f"{_other(rep.side)}_knee_flexion_deg"][win].max() < 8  # standing leg straight
        assert np.abs(_thigh(truth, _other(rep.side))[win]).max() < 8  # and vertical
        assert rep.end_s - rep.start_s >= 2.0 and rep.hold_s >= 0.8
    for a, b in zip(truth.reps, truth.reps[1:]):  # standing between reps
        gap = _frames_in(truth, a.end_s + 0.05, b.start_s - 0.05)
        for s in ("left", "right"):
            assert np.abs(_thigh(truth, s)[gap]).max() < 8


@pytest.mark.parametrize("fault", ["trunk_lean_back", "standing_knee_bent"])
def test_standing_hip_flexion_faults_cross_only_their_own_limit(fault):
    good, bad = _fault_case("standing_hip_flexion", fault)
    lean = bad.angles_deg["trunk_lean_deg"]
    for f in bad.faults:
        rep = bad.reps[f.rep_index]
        win = _frames_in(bad, f.start_s, f.end_s)
        whole = _frames_in(bad, rep.start_s, rep.end_s)
        stance_knee = bad.angles_deg[f"{_other(rep.side)}_knee_flexion_deg"]
        assert _thigh(bad, rep.side)[win].min() > 55  # the lift itself is unchanged
        if fault == "trunk_lean_back":
            assert f.metric == "trunk_lean_deg" and f.side == "both"
            assert lean[win].max() < -15
            assert (lean[whole] < -10).sum() / bad.fps > 0.8  # held well past 0.3 s
            assert stance_knee[whole].max() < 8
        else:
            assert f.side == rep.side  # reported on the rep's side; the bent knee is the other one
            assert stance_knee[win].min() > 25
            assert (stance_knee[whole] > 22).sum() / bad.fps > 1.5  # well past the spec's 1.0 s
            assert np.abs(lean[whole]).max() < 3
            assert _thigh(bad, _other(rep.side))[whole].max() < 18  # below the spec's 20 deg rep start
    assert np.abs(good.angles_deg["trunk_lean_deg"]).max() < 3


# --------------------------------------------------------------------------- mini squat

# exercise_specs/mini_squat.yaml: too_deep above 45 deg thigh from vertical (rep max; knees ~75), trunk_lean above 35 deg
# held 0.4 s, too_fast below 1.0 s; the correct clip must stay well inside all three


def _knees(truth: Truth) -> np.ndarray:
    return np.maximum(truth.angles_deg["left_knee_flexion_deg"], truth.angles_deg["right_knee_flexion_deg"])


def test_mini_squat_correct_reps_stay_well_inside_the_spec_limits():
    truth = generate("mini_squat", reps=4, fps=30, seed=2, body_seed=3)
    knee, lean = _knees(truth), truth.angles_deg["trunk_lean_deg"]
    assert knee.max() <= 55 and np.abs(lean).max() <= 20
    before = truth.t_s < truth.reps[0].start_s
    assert knee[before].max() < 8, "the setup movement bends no knee"
    for rep in truth.reps:
        assert rep.end_s - rep.start_s >= 2.0 and rep.hold_s >= 0.8
        assert 40 <= rep.peak_deg["left_knee_flexion_deg"] <= 55
        assert abs(rep.peak_deg["left_knee_flexion_deg"] - rep.peak_deg["right_knee_flexion_deg"]) < 0.5
        assert 8 <= rep.peak_deg["trunk_lean_deg"] <= 20
        assert rep.peak_deg["left_hip_flexion_deg"] > 25  # the hips flex with the knees
        win = _frames_in(truth, rep.start_s, rep.end_s)
        assert abs(knee[win].max() - rep.peak_deg["left_knee_flexion_deg"]) < 0.5  # deepest at the hold
    for a, b in zip(truth.reps, truth.reps[1:]):  # standing between reps
        assert knee[_frames_in(truth, a.end_s + 0.05, b.start_s - 0.05)].max() < 8


@pytest.mark.parametrize("fault", ["too_deep", "trunk_lean"])
def test_mini_squat_faults_cross_only_their_own_limit(fault):
    good, bad = _fault_case("mini_squat", fault)
    knee, lean = _knees(bad), bad.angles_deg["trunk_lean_deg"]
    for f in bad.faults:
        assert f.side == "both"
        win = _frames_in(bad, f.start_s, f.end_s)
        rep = bad.reps[f.rep_index]
        whole = _frames_in(bad, rep.start_s, rep.end_s)
        if fault == "too_deep":
            assert f.metric == "knee_flexion_deg"
            assert 87 <= knee[win].max() <= 96 and knee[win].min() > 78
            assert lean[whole].max() < 28
        else:
            assert f.metric == "trunk_lean_deg"
            assert 42 < lean[win].max() < 48 and lean[win].min() > 37
            assert (lean[whole] > 35).sum() / bad.fps > 0.8  # held well past 0.4 s
            assert knee[whole].max() <= 55
        assert rep.end_s - rep.start_s >= 2.0
    assert _knees(good).max() <= 55


def _planted(truth: Truth):
    lm = truth.landmarks_3d_m
    return lm[:, [29, 30, 31, 32]]  # heels and toes


@pytest.mark.parametrize("fault", [None, "too_deep", "trunk_lean"])
def test_mini_squat_feet_stay_flat_on_the_floor_and_hands_on_the_chair(fault):
    from formcheck.synth.render import body_primitives

    truth = generate("mini_squat", reps=2, fault=fault, fps=15, body_seed=4)
    feet = _planted(truth)
    assert np.ptp(feet, axis=0).max() < 0.003, "heels and toes never move"
    assert np.ptp(feet[..., 1]) < 0.003, "feet flat: heel and toe at one height"
    sc = truth.scene
    sk = forward_kinematics(sc.body, sc.pose)
    assert np.abs(lowest_y(sc.body, sc.pose, ("left_foot", "right_foot", "left_shoe_top",
                                              "right_shoe_top")) - 0.0).max() < 0.003
    # after the setup the palms rest on the chair back's top rail: their centres barely move
    prims = {pr.part: pr for pr in body_primitives(sc.body, sk)}
    after = truth.t_s > truth.reps[0].start_s - 0.2
    rail_top = max(box.hi[1] for box in sc.props)
    for side in ("left", "right"):
        hand = prims[f"{side}_hand"].p0[after]
        assert np.ptp(hand, axis=0).max() < 0.01
        assert abs(np.median(hand[:, 1]) - rail_top) < 0.05
    # feet about shoulder-width apart
    ankles = truth.landmarks_3d_m[0, [27, 28]]
    shoulders = truth.landmarks_3d_m[0, [11, 12]]
    width = abs(ankles[0, 2] - ankles[1, 2])
    assert 0.8 < width / abs(shoulders[0, 2] - shoulders[1, 2]) < 1.1


# --------------------------------------------------------------------------- views


def test_views_record_camera_side_and_facing():
    side = generate("standing_hip_extension", reps=1, side="right")
    assert side.view.near_side == "right" and side.view.azimuth_deg == -90
    assert side.view.facing in ("left", "right") and side.view.head == "up"
    lying = generate("bridge", reps=1)
    assert lying.view.facing == "up" and lying.view.head in ("left", "right")
    front = generate("standing_hip_extension", reps=1, view="front")
    assert front.view.near_side == "none" and front.view.facing == "toward"
    custom = generate("bridge", reps=1, view=(135, 25))
    assert (custom.view.azimuth_deg, custom.view.elevation_deg) == (135, 25)
    for t in (side, lying, front, custom):
        assert t.in_frame.mean() > 0.98


def _peak_frame(truth, rep_index=0) -> int:
    return int(round(truth.reps[rep_index].peak_s * truth.fps))


def _deg(u: np.ndarray, v: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v), -1, 1))))


def test_fire_hydrant_is_filmed_from_behind_and_swings_the_bent_knee_out_to_the_side():
    from formcheck.skeleton import Landmark as L

    truth = generate("quadruped_hip_abduction", reps=1, side="left", view="front", fps=10)
    assert truth.view.azimuth_deg == 180.0  # its "front" view stands behind the body
    lm = truth.landmarks_3d_m[_peak_frame(truth)]
    down = np.array([0.0, -1.0, 0.0])
    thigh = lm[L.LEFT_KNEE] - lm[L.LEFT_HIP]
    assert 40.0 < _deg(thigh, down) < 50.0  # swung out ~45 deg
    assert abs(thigh[0]) < 0.02, "out to the side, not back or forward"
    assert _deg(lm[L.RIGHT_KNEE] - lm[L.RIGHT_HIP], down) < 3.0, "the supporting thigh stays under the hip"
    assert abs(truth.angles_deg["left_knee_flexion_deg"][_peak_frame(truth)] - 90.0) < 1.0
    hips = lm[L.RIGHT_HIP] - lm[L.LEFT_HIP]
    assert abs(90.0 - _deg(hips, down)) < 1.0, "the pelvis stays level"
    tipped = generate("quadruped_hip_abduction", reps=1, side="left", fault="trunk_tips", view="front", fps=10)
    lm = tipped.landmarks_3d_m[_peak_frame(tipped)]
    # the working (left) hip hikes up: the line from the right hip to the left one points up ~24 deg
    assert 20.0 < 90.0 - _deg(lm[L.LEFT_HIP] - lm[L.RIGHT_HIP], -down) < 28.0
    # within a few degrees: the body rolls about its sloping trunk, the hip turns back about the floor's axis
    assert _deg(lm[L.RIGHT_KNEE] - lm[L.RIGHT_HIP], down) < 6.0, "the supporting thigh still stands under the hip"


@pytest.mark.parametrize("fault, above_level", [(None, (-8.0, 3.0)), ("leg_too_high", (25.0, 35.0))])
def test_bird_dog_reaches_a_straight_leg_back_and_the_opposite_arm_forward(fault, above_level):
    from formcheck.skeleton import Landmark as L

    truth = generate("bird_dog", reps=1, side="left", fault=fault, fps=10)
    k = _peak_frame(truth)
    lm = truth.landmarks_3d_m[k]
    thigh = lm[L.LEFT_KNEE] - lm[L.LEFT_HIP]
    rise = float(np.degrees(np.arctan2(thigh[1], abs(thigh[0]))))  # above level with the floor (y up)
    assert above_level[0] < rise < above_level[1]
    assert truth.angles_deg["left_knee_flexion_deg"][k] < 8.0
    arm = lm[L.RIGHT_WRIST] - lm[L.RIGHT_SHOULDER]
    assert arm[0] > 0.9 * np.linalg.norm(arm), "the opposite arm reaches forward, toward the head"
    assert truth.angles_deg["right_knee_flexion_deg"][k] > 80.0, "the supporting knee stays on the mat"


def test_generate_needs_neither_opencv_nor_mediapipe():
    code = ("import sys; sys.modules['cv2'] = None; sys.modules['mediapipe'] = None\n"
            "from formcheck.synth import generate\n"
            "assert generate('standing_hip_extension', reps=1, fault='knee_bent').n_frames > 0")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


# --------------------------------------------------------------------------- postures


@pytest.mark.parametrize("name", POSTURES)
def test_postures_rest_on_the_floor_or_mat(name):
    body = BodyShape.from_seed(3)
    pose, props = posture(body, name)
    floor = 0.0 if name in ("standing", "sitting") else MAT_Y_M
    assert abs(float(lowest_y(body, pose)[0]) - floor) < 1e-6
    lm = forward_kinematics(body, pose).landmarks_m[0]
    assert lm[:, 1].min() > floor - 0.01, "no landmark sinks into the floor"
    if name == "sitting":
        assert props, "sitting needs its chair"


def test_unknown_posture_lists_the_valid_ones():
    with pytest.raises(ValueError, match="quadruped"):
        posture(BodyShape(), "handstand")


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_render_clip_writes_video_and_sidecar(tmp_path: Path, suffix: str):
    cv2 = pytest.importorskip("cv2")
    truth = generate("bridge", reps=1, fps=6, size=(160, 120))
    out = render_clip(truth, tmp_path / f"clip{suffix}", noise=3.0, compression=85)
    cap = cv2.VideoCapture(str(out))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == truth.n_frames
    assert frames[0].shape == (120, 160, 3)
    assert float(np.std(frames[len(frames) // 2])) > 10  # a picture, not a blank
    side = json.loads((tmp_path / "clip.json").read_text())
    assert side["schema_version"] == 1 and side["generator"] == "formcheck.synth"
    assert side["n_frames"] == truth.n_frames and side["size"] == [160, 120]
    assert len(side["frames"]["landmarks_2d_px"]) == truth.n_frames
    assert len(side["frames"]["landmarks_2d_px"][0]) == 33
    assert set(side["view"]) >= {"azimuth_deg", "elevation_deg", "facing", "near_side"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"clip{suffix}", "clip.json"])  # no temp files
    back = load_truth(out)
    assert back.reps == Truth.from_json(truth.to_json()).reps


def test_render_clip_outputs_get_normal_permissions(tmp_path: Path):
    pytest.importorskip("cv2")
    truth = generate("mini_squat", reps=1, fps=4, size=(64, 48))
    out = render_clip(truth, tmp_path / "clip.mp4")
    saved = truth.save(tmp_path / "again.json")
    umask = os.umask(0)
    os.umask(umask)
    for p in (out, tmp_path / "clip.json", saved):
        assert p.stat().st_mode & 0o777 == 0o666 & ~umask, p


def test_render_clip_rebuilds_the_scene_of_a_loaded_sidecar(tmp_path: Path):
    truth = generate("standing_hip_extension", reps=1, side="left", fps=5, size=(96, 72))
    (tmp_path / "a.json").write_text(truth.to_json())
    loaded = load_truth(tmp_path / "a.json")
    assert loaded.scene is None
    out = render_clip(loaded, tmp_path / "b.mp4")
    assert out.exists() and (tmp_path / "b.json").exists()


def test_render_clip_rejects_unknown_container(tmp_path: Path):
    truth = generate("bridge", reps=1, fps=5, size=(64, 48))
    with pytest.raises(ValueError, match=".mp4"):
        render_clip(truth, tmp_path / "clip.gif")


# --------------------------------------------------------------------------- real model

MODEL = Path.home() / ".cache" / "formcheck" / "models" / "pose_landmarker_full.task"


@pytest.mark.model
@pytest.mark.skipif(not MODEL.exists(), reason=f"MediaPipe model missing: {MODEL} (run `formcheck model fetch`)")
def test_mediapipe_sees_the_rendered_bridge():
    from formcheck.synth.check import check_truth

    truth = generate("bridge", reps=2, fps=15, size=(480, 360))
    result = check_truth(truth, MODEL)
    assert result.detection_rate >= 0.95, result.row()
    assert result.hip_err_deg <= 6.0, result.row()
