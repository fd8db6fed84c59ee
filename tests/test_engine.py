"""Pure engine tests on landmark sequences built from joint angles (no model, no cv2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formcheck.evaluator import ExerciseEvaluator, SideOverrideError
import yaml

from formcheck.spec import load_spec, parse_spec
from kinematics import SIZE, depth, pose_2d, rep_wave, sample, stream, swap_leg_labels
from formcheck.types import PoseSample

FPS = 30.0
_SPECS = Path(__file__).resolve().parents[1] / "exercise_specs"
# a 7 cm drop of one hip (0.17 of a 110 px torso: 19 px) makes the hip angles differ by about 25 deg
UNEVEN_DROP_PX_PER_DEG = 19 / 25


def run(spec_id: str, samples, side=None, hold_s: float | None = None):
    ev = ExerciseEvaluator(load_spec(spec_id).with_target(hold_s=hold_s), side=side)
    for s in samples:
        ev.update(s)
    return ev.finish()


def bridge_session(n_reps=10, *, top=0.0, rest=50.0, rise=1.0, hold=2.0, fall=1.0, pause=1.0, uneven=0.0,
                   setup=True, facing=1, slant_px=0.0):
    """Standing, lying down, bending the knees (setup), then n bridges.

    ``uneven``: one side of the pelvis sags at the top (degrees between the hip angles);
    ``slant_px``: the camera above the mat sees the left hip this much below the right throughout.
    """
    frames = []
    if setup:
        frames += [pose_2d(posture="standing", facing=facing)] * int(2 * FPS)
        bend = np.linspace(5, rest, int(1.5 * FPS))
        frames += [pose_2d(posture="supine", facing=facing, hip_flex=(h, h), knee_flex=(h * 1.8, h * 1.8),
                           hip_drop_px=slant_px) for h in bend]
    frames += [pose_2d(posture="supine", facing=facing, hip_flex=(rest, rest), knee_flex=(90, 90),
                       hip_drop_px=slant_px)] * int(1 * FPS)
    period = rise + hold + fall + pause
    t = np.arange(int((n_reps * period + 1.5) * FPS)) / FPS
    w = rep_wave(t, [0.5 + i * period for i in range(n_reps)], rise, hold, fall)
    for x in w:
        h = rest + (top - rest) * x
        # one side of the pelvis sagging: that hip drops toward the mat and stays bent, the other extends
        d = uneven * x / 2
        frames.append(pose_2d(posture="supine", facing=facing, hip_flex=(h + d, h - d), knee_flex=(90, 90),
                              hip_drop_px=slant_px + UNEVEN_DROP_PX_PER_DEG * uneven * x))
    return frames


def test_bridge_counts_exactly_with_noise_dropouts_and_setup():
    frames = bridge_session(10)
    # these bridges are held 2 s: prescribed so, no hold is short
    report = run("bridge", stream(frames, FPS, noise_px=1.5, drop=0.10, seed=3), hold_s=2)
    assert report.summary()["reps_total"] == 10
    assert report.reps_by_side == {"both": 10}
    assert all(r.complete for r in report.reps)
    assert report.faults == ()
    for r in report.reps:
        assert r.rom_deg == pytest.approx(50, abs=6)
        assert r.hold_s == pytest.approx(2.0, abs=0.7)


@pytest.mark.parametrize("facing", [1, -1])
def test_bridge_either_direction(facing):
    report = run("bridge", stream(bridge_session(4, facing=facing), FPS, noise_px=1.0, seed=1))
    assert report.summary()["reps_total"] == 4


def test_jitter_around_a_threshold_for_ten_seconds_counts_nothing():
    rest = [pose_2d(posture="supine", hip_flex=(50, 50), knee_flex=(90, 90))] * int(2 * FPS)
    t = np.arange(int(10 * FPS)) / FPS
    rng = np.random.default_rng(0)
    # sits right on the enter threshold (12 deg below rest), wobbling +-4 deg at 3 Hz plus noise
    hips = 50 - 12 + 4 * np.sin(2 * np.pi * 3 * t) + rng.normal(0, 1.5, t.size)
    jitter = [pose_2d(posture="supine", hip_flex=(h, h), knee_flex=(90, 90)) for h in hips]
    report = run("bridge", stream(rest + jitter, FPS))
    assert report.summary()["reps_total"] == 0


def test_jitter_around_rest_counts_nothing():
    t = np.arange(int(10 * FPS)) / FPS
    hips = 50 + 5 * np.sin(2 * np.pi * 2 * t)
    frames = [pose_2d(posture="supine", hip_flex=(h, h), knee_flex=(90, 90)) for h in hips]
    assert run("bridge", stream(frames, FPS, noise_px=1.0)).summary()["reps_total"] == 0


def test_partial_bridges_count_and_are_flagged_low():
    report = run("bridge", stream(bridge_session(5, top=28.0), FPS, noise_px=1.0))
    assert report.summary()["reps_total"] == 5
    assert all("hips_low" in [f.id for f in r.faults] for r in report.reps)


def test_tiny_lifts_do_not_count():
    report = run("bridge", stream(bridge_session(5, top=42.0), FPS, noise_px=1.0))
    assert report.summary()["reps_total"] == 0


def test_over_arch_and_too_fast():
    arch = run("bridge", stream(bridge_session(3, top=-25.0), FPS), hold_s=2)
    assert [sorted(f.id for f in r.faults) for r in arch.reps] == [["over_arch"]] * 3
    fast = run("bridge", stream(bridge_session(4, rise=0.3, hold=0.0, fall=0.3, pause=0.8), FPS), hold_s=0)
    assert fast.summary()["reps_total"] == 4
    assert all([f.id for f in r.faults] == ["too_fast"] for r in fast.reps)


def test_hips_uneven_is_a_frame_fault_attached_to_the_rep():
    report = run("bridge", stream(bridge_session(3, uneven=20.0), FPS, noise_px=0.5))
    assert report.summary()["reps_total"] == 3
    assert all("hips_uneven" in [f.id for f in r.faults] for r in report.reps)
    uneven = [f for f in report.faults if f.id == "hips_uneven"]
    assert len(uneven) == 3 and all(f.scope == "frame" and f.end_ms > f.start_ms for f in uneven)


def test_a_pelvis_seen_at_a_slant_is_level_when_it_does_not_tilt_as_the_hips_lift():
    """A camera above the mat sees level hips one above the other: hips_uneven is judged against
    the slant at rest, so only a tilt that comes with the lift is a fault."""
    # 20 px (0.18 torso lengths) on every frame: past the limit, were the slant itself judged
    level = run("bridge", stream(bridge_session(3, slant_px=20.0), FPS, noise_px=0.5), hold_s=2)
    assert level.reps_by_side == {"both": 3} and level.faults == ()
    tilted = run("bridge", stream(bridge_session(3, slant_px=20.0, uneven=25.0), FPS, noise_px=0.5), hold_s=2)
    assert [f.id for f in tilted.faults] == ["hips_uneven"] * 3
    # the same rule on the slant itself would take the camera's height for a dropped hip
    d = yaml.safe_load(open(_SPECS / "bridge.yaml"))
    next(f for f in d["faults"] if f["id"] == "hips_uneven")["from_rest"] = False
    ev = ExerciseEvaluator(parse_spec(yaml.safe_dump(d)).with_target(hold_s=2))
    for pose in stream(bridge_session(3, slant_px=20.0), FPS, noise_px=0.5):
        ev.update(pose)
    assert [f.id for f in ev.finish().faults] == ["hips_uneven"] * 3


def test_a_rule_judged_from_rest_must_be_a_frame_rule_in_the_rep():
    from formcheck.spec import SpecError

    d = yaml.safe_load(open(_SPECS / "bridge.yaml"))
    rule = next(f for f in d["faults"] if f["id"] == "hips_uneven")
    rule["when"] = "rest"
    with pytest.raises(SpecError, match="set when: active"):
        parse_spec(yaml.safe_dump(d))
    rule.update(when="active", scope="rep", stat="max")
    with pytest.raises(SpecError, match="set scope: frame"):
        parse_spec(yaml.safe_dump(d))


def test_the_planted_leg_is_both_legs_mean_until_one_is_clearly_held_up():
    from formcheck.measures import PLANTED_BLEND_DEG, planted_of

    assert planted_of(40.0, 50.0) == pytest.approx(45.0)  # both feet down: noise and a pelvis drop
    assert planted_of(45.0, 90.0) == pytest.approx(45.0)  # the free knee held at 90/90
    assert planted_of(90.0, 0.0) == pytest.approx(0.0)
    assert planted_of(np.nan, 30.0) == 30.0 and np.isnan(planted_of(np.nan, np.nan))
    lo, hi = PLANTED_BLEND_DEG
    mid = planted_of(0.0, (lo + hi) / 2)  # halfway through the blend: halfway from the mean to the smaller
    assert mid == pytest.approx(0.5 * (lo + hi) / 4)
    # continuous: no jump where the blend begins or ends
    for edge in (lo, hi):
        assert planted_of(0.0, edge - 1e-6) == pytest.approx(planted_of(0.0, edge + 1e-6), abs=1e-4)


def test_standing_person_is_not_a_bridge():
    t = np.arange(int(10 * FPS)) / FPS
    # arms and knees moving, trunk upright: an upper-body exercise, or someone walking about
    frames = [pose_2d(posture="standing", hip_flex=(30 * abs(np.sin(x)),) * 2, knee_flex=(30 * abs(np.sin(x)),) * 2) for x in t]
    report = run("bridge", stream(frames, FPS, noise_px=1.0))
    assert report.summary()["reps_total"] == 0
    assert any("did not match" in n for n in report.notices)


def test_person_leaving_mid_rep_invents_no_rep():
    frames = bridge_session(2, setup=False)
    samples = stream(frames, FPS)
    # the person is gone for 2 s from the middle of the second lift to the middle of its lowering
    cut0, cut1 = int((1 + 0.5 + 5 + 0.5) * FPS), int((1 + 0.5 + 5 + 2.5) * FPS)
    samples = [PoseSample.missing(s.timestamp_ms, SIZE) if cut0 <= i < cut1 else s for i, s in enumerate(samples)]
    report = run("bridge", samples)
    assert report.summary()["reps_total"] == 1


@pytest.mark.parametrize("upright_s, counted", [(2.0, 2), (0.2, 3)])
def test_a_rep_that_ends_while_leaving_the_posture_is_not_counted(upright_s, counted):
    """Sitting up (to turn over, to get up) swings the legs back through the rest position.

    Two bridges, then a third lift whose "lowering" is the person sitting up: the driver is back
    at rest only once the trunk is upright. Up for 2 s, that was leaving, not a rep; a 0.2 s
    wobble out of the posture (a bad estimate) is forgiven and the rep counts.
    """
    frames = bridge_session(2, setup=False)
    lift = np.linspace(50, 0, int(1.0 * FPS))
    frames += [pose_2d(posture="supine", hip_flex=(h, h), knee_flex=(90, 90)) for h in lift]
    frames += [pose_2d(posture="supine", hip_flex=(0, 0), knee_flex=(90, 90))] * int(1.0 * FPS)
    frames += [pose_2d(posture="standing", hip_flex=(50, 50), knee_flex=(90, 90))] * int(upright_s * FPS)
    frames += [pose_2d(posture="supine", hip_flex=(50, 50), knee_flex=(90, 90))] * int(2.0 * FPS)
    report = run("bridge", stream(frames, FPS, noise_px=1.0, seed=2))
    assert report.summary()["reps_total"] == counted

def test_recording_cut_at_the_top_counts_the_last_lift_as_incomplete():
    frames = bridge_session(3, setup=False)
    cut = int((1 + 0.5 + 2 * 5 + 2.0) * FPS)  # during the third rep's hold
    report = run("bridge", stream(frames[:cut], FPS))
    assert report.summary()["reps_total"] == 3
    assert [r.complete for r in report.reps] == [True, True, False]


def hip_extension_session(reps_per_side=5, *, knee_bend=0.0, lean=0.0, echo=0.3, facing=1, order=("left", "right"),
                          rise=0.8, hold=0.5, fall=0.8, pause=0.8, amplitude=-20.0):
    frames = [pose_2d(posture="standing", facing=facing)] * int(1.5 * FPS)
    period = rise + hold + fall + pause
    for side in order:
        t = np.arange(int((reps_per_side * period + 1.0) * FPS)) / FPS
        w = rep_wave(t, [0.3 + i * period for i in range(reps_per_side)], rise, hold, fall)
        for x in w:
            work, other = amplitude * x, amplitude * echo * x  # the model's far-leg estimate echoes the moving leg
            hips = (work, other) if side == "left" else (other, work)
            knees = (knee_bend * x, 0.0) if side == "left" else (0.0, knee_bend * x)
            frames.append(pose_2d(posture="standing", facing=facing, hip_flex=hips, knee_flex=knees, trunk_lean=lean * x))
    return frames


@pytest.mark.parametrize("facing", [1, -1])
def test_hip_extension_counts_each_side_from_the_moving_leg(facing):
    report = run("standing_hip_extension", stream(hip_extension_session(5, facing=facing), FPS, noise_px=1.5, drop=0.1, seed=2))
    assert report.reps_by_side == {"left": 5, "right": 5}
    assert [r.side for r in report.reps] == ["left"] * 5 + ["right"] * 5
    assert report.faults == ()


def test_hip_extension_alternating_sides():
    frames = hip_extension_session(1, order=("left", "right") * 4)
    report = run("standing_hip_extension", stream(frames, FPS, noise_px=1.0))
    assert [r.side for r in report.reps] == ["left", "right"] * 4


def test_a_far_leg_reading_that_drifts_after_the_start_does_not_swallow_the_other_legs_reps():
    """Getting into position (or a far leg the model places a few degrees off) moves one leg's
    rest reading past the start threshold and keeps it there; the other leg's reps still count,
    and the drifted leg counts its own reps from its new rest."""
    frames = [pose_2d(posture="standing")] * int(1.5 * FPS)
    frames += [pose_2d(posture="standing", hip_flex=(0, h)) for h in np.linspace(0, -10, int(0.5 * FPS))]
    frames += [pose_2d(posture="standing", hip_flex=(0, -10))] * int(1.0 * FPS)
    t = np.arange(int(3 * 2.9 * FPS + FPS)) / FPS
    w = rep_wave(t, [0.3 + i * 2.9 for i in range(3)], 0.8, 0.5, 0.8)
    frames += [pose_2d(posture="standing", hip_flex=(-20 * x, -10)) for x in w]
    frames += [pose_2d(posture="standing", hip_flex=(0, -10 - 20 * x)) for x in w]
    report = run("standing_hip_extension", stream(frames, FPS, noise_px=1.0, seed=4))
    assert report.reps_by_side == {"left": 3, "right": 3}


def test_hip_extension_side_override_counts_one_side_only():
    report = run("standing_hip_extension", stream(hip_extension_session(3), FPS), side="right")
    assert report.reps_by_side == {"left": 0, "right": 3}


def test_side_override_on_a_bilateral_exercise_is_refused():
    with pytest.raises(SideOverrideError, match="one-sided"):
        ExerciseEvaluator(load_spec("bridge"), side="left")


def test_hip_extension_faults():
    bent = run("standing_hip_extension", stream(hip_extension_session(3, knee_bend=30), FPS, noise_px=1.0))
    assert bent.summary()["reps_total"] == 6
    assert all([f.id for f in r.faults] == ["knee_bent"] for r in bent.reps)
    lean = run("standing_hip_extension", stream(hip_extension_session(3, lean=25), FPS, noise_px=1.0))
    assert lean.summary()["reps_total"] == 6
    assert all("trunk_lean" in [f.id for f in r.faults] for r in lean.reps)


def test_small_knee_wobble_and_slight_lean_are_not_faults():
    report = run("standing_hip_extension", stream(hip_extension_session(3, knee_bend=8, lean=6), FPS, noise_px=1.0))
    assert report.summary()["reps_total"] == 6
    assert report.faults == ()


def test_setup_shuffle_before_first_rep_is_not_counted():
    # weight shifts and a small step back (8 deg) before starting: not a rep
    shuffle = [pose_2d(posture="standing", hip_flex=(-6 * np.sin(x) ** 2, 3 * np.sin(x)))
               for x in np.linspace(0, 3 * np.pi, int(3 * FPS))]
    frames = shuffle + hip_extension_session(3, order=("left",))
    report = run("standing_hip_extension", stream(frames, FPS, noise_px=1.0))
    assert report.reps_by_side == {"left": 3, "right": 0}


def test_nan_and_inf_landmarks_do_not_crash_or_count():
    frames = bridge_session(2, setup=False)
    samples = stream(frames, FPS)
    bad = []
    for i, s in enumerate(samples):
        xyz = s.image_xyz_px.copy()
        if i % 7 == 0:
            xyz[i % 33] = np.nan
        if i % 11 == 0:
            xyz[(i * 3) % 33] = np.inf
        bad.append(PoseSample(s.timestamp_ms, xyz, s.world_xyz_m, s.visibility, s.frame_size_px))
    report = run("bridge", bad)
    assert report.summary()["reps_total"] == 2


def test_side_view_leg_label_swap_is_undone():
    """The model calls the working (near) leg 'left' for two reps; the reps stay on the right."""
    frames = hip_extension_session(6, order=("right",), echo=0.0)
    per_rep = int(len(frames[int(1.5 * FPS):]) / 6)
    samples = []
    for i, pts in enumerate(frames):
        rep = (i - int(1.5 * FPS)) // per_rep
        swapped = 2 <= rep <= 3
        # facing image-right, the person's right side is near the camera
        z = depth("right")
        labelled = swap_leg_labels(pts) if swapped else pts
        z_labelled = z[[*range(23), 24, 23, 26, 25, 28, 27, 30, 29, 32, 31]] if swapped else z
        samples.append(sample(i * 1000 / FPS, labelled, z=z_labelled))
    report = run("standing_hip_extension", samples)
    assert [r.side for r in report.reps] == ["right"] * 6


def test_each_fault_is_reported_once_per_frame_stream():
    """new_faults across all frames lists every fault exactly once, as the report does."""
    ev = ExerciseEvaluator(load_spec("bridge").with_target(hold_s=2))
    seen = []
    for s in stream(bridge_session(3, top=-25.0, setup=False), FPS):
        seen.extend(ev.update(s).new_faults)
    report = ev.finish()
    assert len(seen) == len(report.faults) == 3
    assert all(f.id == "over_arch" for f in seen)


def hold_spec(target_s: float = 5.0):
    """The bridge, as a hold exercise: a hold counts once the top is kept for the target time."""
    import yaml

    from formcheck.spec import parse_spec

    d = yaml.safe_load(load_spec("bridge").model_dump_json())
    d.update(id="bridge_hold", kind="hold", target={"reps": 3, "hold_s": target_s})
    return parse_spec(yaml.safe_dump(d), "bridge_hold.yaml")


def test_a_hold_shorter_than_prescribed_is_a_rep_with_a_short_hold_fault():
    """Every lift-and-return is a rep; the dose is judged separately, with the numbers in the cue."""
    frames = bridge_session(1, hold=6.5, setup=False) + bridge_session(1, hold=2.0, setup=False) + \
        bridge_session(1, hold=5.2, setup=False)
    ev = ExerciseEvaluator(hold_spec(5.0))
    for s in stream(frames, FPS, noise_px=1.0, drop=0.05):
        ev.update(s)
    report = ev.finish()
    assert report.summary()["reps_total"] == 3
    # time within the spec's band (8 deg) of the top: the true hold plus the last of the lift
    for rep, true_hold in zip(report.reps, (6.5, 2.0, 5.2)):
        assert true_hold <= rep.hold_s <= true_hold + 1.0
    assert [[f.id for f in r.faults] for r in report.reps] == [[], ["short_hold"], []]
    short = report.reps[1].faults[0]
    assert short.cue.startswith("Hold it for 5 s: that one was ") and short.limit == 5.0


@pytest.mark.parametrize("hold_s", [0.0, 0.1])
def test_quick_lifts_of_a_hold_exercise_count_and_a_zero_hold_prescription_judges_no_hold(hold_s):
    """People do quick lifts of "hold 30 s" exercises: each is a rep, and --hold 0 is a sane prescription."""
    frames = bridge_session(6, hold=0.3, rise=0.6, fall=0.6, pause=0.8, setup=False)
    ev = ExerciseEvaluator(hold_spec(30.0).with_target(hold_s=hold_s))
    for s in stream(frames, FPS, noise_px=1.0):
        ev.update(s)
    report = ev.finish()
    assert report.summary()["reps_total"] == 6
    assert report.faults == ()
    with_default = run_spec(hold_spec(30.0), stream(frames, FPS, noise_px=1.0))
    assert with_default.summary()["reps_total"] == 6
    assert with_default.summary()["faults_by_id"] == {"short_hold": 6}


def run_spec(spec, samples):
    ev = ExerciseEvaluator(spec)
    for s in samples:
        ev.update(s)
    return ev.finish()


def test_hold_timer_runs_while_holding():
    ev = ExerciseEvaluator(hold_spec(5.0))
    held = [ev.update(s).hold_s for s in stream(bridge_session(1, hold=6.0, setup=False), FPS)]
    assert max(held) == pytest.approx(6.0, abs=1.0)  # the band around the peak includes the last of the lift


def _single_pose(image_xy: np.ndarray, world: np.ndarray) -> PoseSample:
    n = image_xy.shape[0]
    return PoseSample(0.0, np.concatenate([image_xy, np.zeros((n, 1))], axis=1), world, np.ones(n), (640, 480))


def test_angle_between_and_world_space_measures():
    """The thighs 90 deg apart in depth only: flat in the image, plain in the 3D landmarks."""
    from formcheck.features import FeatureExtractor
    from formcheck.skeleton import NUM_LANDMARKS, Landmark as L

    d = yaml.safe_load(load_spec("bridge").model_dump_json())
    d["features"] = {
        "hip": {"measure": "hip_flexion", "side": "both"},
        "thighs_image": {"measure": "angle_between", "points": ["left_hip", "left_knee", "right_hip", "right_knee"]},
        "thighs_world": {"measure": "angle_between", "space": "world",
                         "points": ["left_hip", "left_knee", "right_hip", "right_knee"]},
        "knee_world": {"measure": "knee_flexion", "side": "left", "space": "world"},
        "gap_world": {"measure": "distance", "space": "world", "points": ["left_knee", "right_knee"]},
    }
    d["faults"] = []
    spec = parse_spec(yaml.safe_dump(d), "t.yaml")
    img = np.full((NUM_LANDMARKS, 2), 300.0)
    world = np.zeros((NUM_LANDMARKS, 3))
    img[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER]] = [300, 100]
    world[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER], 1] = -0.5  # torso 0.5 m
    img[[L.LEFT_HIP, L.RIGHT_HIP]] = [300, 300]
    img[[L.LEFT_KNEE, L.RIGHT_KNEE]] = [300, 400]  # both thighs straight down in the image
    world[L.LEFT_KNEE] = [0, 0.4, 0.0]
    world[L.RIGHT_KNEE] = [0, 0.0, 0.4]  # the right thigh points at the camera
    img[L.LEFT_ANKLE], world[L.LEFT_ANKLE] = [300, 500], [0.4, 0.4, 0.0]  # left knee bent 90 in depth... and x
    v = FeatureExtractor(spec).update(_single_pose(img, world)).values
    assert v["thighs_image"] == pytest.approx(0, abs=1e-6)
    assert v["thighs_world"] == pytest.approx(90, abs=1e-6)
    assert v["knee_world"] == pytest.approx(90, abs=1e-6)
    assert v["gap_world"] == pytest.approx(np.hypot(0.4, 0.4) / 0.5, rel=1e-6)


def test_a_fault_whose_landmarks_stay_hidden_is_reported_as_not_checked():
    """Side-on, the far hip is hidden: hips_uneven cannot be judged, and the report must say so."""
    from dataclasses import replace as dc_replace

    from formcheck.skeleton import Landmark as L

    def far_hip_hidden(samples):
        for s in samples:
            if s.detected:
                vis = s.visibility.copy()
                vis[L.RIGHT_HIP] = 0.1
                s = dc_replace(s, visibility=vis)
            yield s

    report = run("bridge", far_hip_hidden(stream(bridge_session(3, uneven=30), FPS, noise_px=1.0)))
    assert report.summary()["reps_total"] == 3
    assert "hips_uneven" not in {f.id for f in report.faults}
    assert report.quality["faults_not_judged"] == ["hips_uneven"]
    assert any(n.startswith("Not checked: hips_uneven") for n in report.notices)
    seen = run("bridge", stream(bridge_session(3), FPS, noise_px=1.0))
    assert seen.quality["faults_not_judged"] == [] and not any("Not checked" in n for n in seen.notices)


def test_a_fault_the_model_cannot_see_says_so_when_it_is_not_found():
    """hips_uneven has spec'd limits: a clean bridge report must not read as proof of level hips."""
    level = run("bridge", stream(bridge_session(3), FPS, noise_px=1.0))
    assert any(n.startswith("Not reliable: hips_uneven") for n in level.notices)
    tilted = run("bridge", stream(bridge_session(3, uneven=30), FPS, noise_px=1.0))
    assert "hips_uneven" in {f.id for f in tilted.faults}
    assert not any(n.startswith("Not reliable") for n in tilted.notices)


def test_a_hold_is_timed_against_the_position_held_not_a_single_deeper_reading():
    """The model now and then reads a held leg a few degrees further for a frame; the hold time
    (report and live timer) must not restart from that frame."""
    from formcheck.phases import RepCounter

    counter = RepCounter(load_spec("prone_hip_extension").rep, "left")
    rng = np.random.default_rng(5)
    t = np.arange(0, 10, 1 / 15)
    lift = np.clip((t - 1.0) / 0.5, 0, 1) - np.clip((t - 7.5) / 0.5, 0, 1)  # held from 1.5 s to 7.5 s
    hip = -24 * lift + rng.normal(0, 0.8, t.size)
    hip[[45, 75]] -= 7  # two single frames read 7 deg further
    live, done = [], []
    for ts, v in zip(t, hip):
        st = counter.update(ts * 1000, float(v))
        live.append(st.hold_s)
        done += [st.completed] if st.completed else []
    assert len(done) == 1
    assert done[0].hold_s == pytest.approx(6.0, abs=0.6)
    assert max(live) == pytest.approx(6.0, abs=0.6)


def test_after_losing_the_person_the_rest_is_where_the_leg_comes_to_rest():
    """Turning over onto the other side, the person is lost for over a second; the leg is first
    seen again on its way down and comes to rest a few degrees from there. The rest is where it
    came to rest, so the first rep of the new side counts."""
    from formcheck.phases import RepCounter

    counter = RepCounter(load_spec("clamshell").rep, "right")
    rng = np.random.default_rng(3)
    t = np.arange(0, 10, 1 / 15)
    back = np.clip((t - 3.5) / 0.4, 0, 1)  # seen again at 3.5 s coming down from 116, at rest (108) by 3.9 s
    rep = np.clip((t - 5.0) / 0.5, 0, 1) - np.clip((t - 6.5) / 0.5, 0, 1)  # open 28 deg from 5.0 s to 7.0 s
    value = np.where(t < 2.0, 124.0, 116.0 - 8.0 * back - 28.0 * rep) + rng.normal(0, 0.5, t.size)
    value[(t >= 2.0) & (t < 3.5)] = np.nan  # lost for 1.5 s: the counter starts afresh
    done = [st.completed for ts, v in zip(t, value) if (st := counter.update(ts * 1000, float(v))).completed]
    assert len(done) == 1
    assert done[0].start_ms == pytest.approx(5000, abs=300)
    # from where it came to rest, give or take the stillness a rest allows (the hysteresis gap)
    rep_spec = counter.rep
    assert 28 - 2 <= done[0].rom_deg <= 28 + rep_spec.enter_deg - rep_spec.exit_deg + 2
