"""Side-lying exercises: hip abduction, clamshell, abductor stretch.

The body lies on its side along the world z axis with its front toward +x, so the "front" view
(azimuth 0) films the body's whole length from in front: the top leg lifts in the image plane.
The top leg is the working side. Between the two sets the person sits up, swings the legs round
in front and lies down on the other side, again facing the camera (the head ends up at the other
end of the mat). Sitting up takes the body out of the lying posture for about two seconds, which
resets the rep counters; rolling over across the back would not (see the report).

Lying on a side: the pelvis obliquity is 90 deg (the hip axis vertical), relaxed a few degrees
back; the waist bends toward the mat so shoulder and hip both rest on it. Legs are set in the
pelvis frame (or by leg IK for the clamshell); each frame is planted on the mat by the trunk.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from formcheck.synth.body import SIDE_SIGN, SIDES, BodyShape, Pose, forward_kinematics, solve_arm, solve_leg
from formcheck.synth.exercises import ExerciseProgram, FaultSpec, Motion, Plan, RepTiming, _sway, min_jerk
from formcheck.synth.postures import MAT_Y_M, plant
from formcheck.synth.render import Box, body_primitives

# The shoulders are wider than the hips, so lying on a side the body's long axis rises a little
# toward the head and the waist bends toward the mat: shoulder and hip both rest on it. The
# pelvis is relaxed a few degrees back. (The truth's sagittal trunk angle is ill-conditioned
# for a body whose hip axis is near vertical: the hip axis is kept leaning mostly front-back, by
# the roll, rather than head-feet, so the sidecar's 1 mm landmarks recompute it within 0.5 deg.)
_TILT_DEG = 4.0  # long axis, head up
_WAIST_DEG = 5.0  # spine side-bend toward the mat
_REST_ROLL_BACK_DEG = 6.0
_TURN_ROLL_DEG = 40.0  # sitting up in the turn the pelvis also turns back, pushed up by the arms
_TRUNK = ("pelvis", "abdomen", "chest", "yoke", "left_thigh", "right_thigh")  # what rests on the mat
_LEG_PARTS = ("shank", "calf", "foot", "shoe_top")  # below the knee: the thigh rests by the hip
_FEET_GAP = 0.05  # ankle centres of stacked feet (x height): the shoes touch
_BOTTOM_ARM = {"shoulder_flexion_deg": 170.0, "shoulder_abduction_deg": -18.0, "shoulder_rotation_deg": 0.0,
               "elbow_flexion_deg": 30.0}  # overhead on the mat, the head resting on it
_ARM_KEYS = tuple(_BOTTOM_ARM)
_SIT_ARM = {"shoulder_flexion_deg": -15.0, "shoulder_abduction_deg": 18.0, "shoulder_rotation_deg": 0.0,
            "elbow_flexion_deg": 8.0}


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


def _k(body: BodyShape) -> float:
    return body.height_m / 1.7


# --------------------------------------------------------------------------- the lying frame


@dataclass(frozen=True)
class _Lying:
    """Per-frame layout of a side-lying clip: who is on top, and the turn between the sets.

    To turn over the person sits up, swinging the legs round in front, and lies down on the
    other side, again facing the camera: the pelvis obliquity goes through 0 (sitting upright)
    while the hips flex to sitting and back. (Rolling over across the back is the other way
    people turn; the camera then sees the second set from behind.)
    """

    first: str  # top leg (working side) of the first set
    w: np.ndarray  # turn progress 0 (first set) .. 1 (second set)
    down_sign: np.ndarray  # +1 lying on the right side, -1 on the left, 0 sitting upright (mid-turn)

    def top_weight(self, side: str) -> np.ndarray:
        """1 while ``side`` is the top leg, 0 while it is underneath (blends during the turn)."""
        return 1.0 - self.w if side == self.first else self.w

    def forward_roll(self) -> np.ndarray:
        """Pelvis roll that brings the current top hip forward by 1 deg (sign per set; 0 mid-turn)."""
        return (1.0 - self.w) * SIDE_SIGN[self.first] + self.w * SIDE_SIGN[_other(self.first)]

    @property
    def obliquity(self) -> np.ndarray:
        """+90 lies on the right side (left hip up), -90 on the left; 0 = sitting."""
        return (90.0 - _TILT_DEG) * self.down_sign

    @property
    def sit(self) -> np.ndarray:
        """0 lying, 1 sitting upright in the middle of the turn."""
        return np.sin(np.pi * self.w)


def _lying(plan: Plan, settle_s: float = 0.9) -> _Lying:
    """The layout; ``settle_s``: how long the person lies still after the turn before the next set."""
    t = plan.t_s
    first = plan.reps[0].side
    w = np.zeros_like(t)
    later = [r for r in plan.reps if r.side != first]
    if later:
        last = max(r.end_s for r in plan.reps if r.side == first)
        nxt = min(r.start_s for r in later)
        a, b = last + 0.5, nxt - settle_s  # still for a moment, turn, settle before the next set
        span = max(b - a, 1.0)
        # sit up (35%), sit a moment facing the camera (30%), lie down on the other side (35%)
        w = 0.5 * (min_jerk((t - a) / (0.35 * span)) + min_jerk((t - a - 0.65 * span) / (0.35 * span)))
    return _Lying(first, w, SIDE_SIGN[_other(first)] * (1.0 - 2.0 * w))


def _base_pose(lay: _Lying, n: int, roll_extra=0.0, spine_rotation=0.0) -> Pose:
    # sitting up (and lying down) the pelvis turns back a little more; this also keeps the hip
    # axis leaning front-back while the body tilts up (see _TILT_DEG)
    turn = _TURN_ROLL_DEG * np.sqrt(np.sin(np.pi * lay.w))
    roll = -(_REST_ROLL_BACK_DEG + turn) * lay.forward_roll() + roll_extra
    # spine side-bend + bends toward the right: lying on the right the chest end bends up (-)
    return Pose(pelvis_obliquity_deg=lay.obliquity + np.zeros(n), pelvis_roll_deg=roll, root_y_m=np.full(n, 0.3),
                spine_lateral_deg=-_WAIST_DEG * lay.down_sign + np.zeros(n),
                spine_rotation_deg=spine_rotation + np.zeros(n)).broadcast(n)


def _plant(body: BodyShape, pose: Pose, lay: _Lying) -> Pose:
    """On the mat by the trunk and thighs (lying on the side, or sitting in the turn)."""
    return plant(body, pose, MAT_Y_M, _TRUNK)


def _turn_legs(lay: _Lying, vals: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """In the turn the hips flex to sitting (legs in front, toward the camera), knees a little."""
    out = dict(vals)
    out["hip_flexion_deg"] = vals["hip_flexion_deg"] + (85.0 - vals["hip_flexion_deg"]) * lay.sit
    out["knee_flexion_deg"] = vals["knee_flexion_deg"] + (20.0 - vals["knee_flexion_deg"]) * lay.sit
    return out


def _low(body: BodyShape, pose: Pose, parts: tuple[str, ...]) -> float:
    sk = forward_kinematics(body, pose)
    return float(min(pr.lowest_y()[0] for pr in body_primitives(body, sk) if pr.part in parts))


def _bisect(f, lo: float, hi: float, iters: int = 30) -> float:
    """Root of an increasing function on [lo, hi]."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
    return 0.5 * (lo + hi)


def _one_frame(body: BodyShape, top: str, legs: dict[str, dict[str, float]]) -> Pose:
    """A single planted frame lying with ``top`` up and the given leg angles (per side)."""
    lay = _Lying(top, np.zeros(1), np.full(1, SIDE_SIGN[_other(top)]))
    pose = _base_pose(lay, 1)
    for side, vals in legs.items():
        pose = pose.with_side(side, **{k: np.array([v]) for k, v in vals.items()})
    pose = pose.with_side(_other(top), **{k: np.array([v]) for k, v in _BOTTOM_ARM.items()})
    return _plant(body, pose, lay)


def rest_legs(body: BodyShape, bottom: dict[str, float], top: dict[str, float]) -> tuple[dict, dict]:
    """Fit the rest pose: the bottom leg's abduction lays it on the mat, the top leg's adduction
    rests its foot on the bottom foot. Returns the completed (bottom, top) angle dicts."""
    up, down = "left", "right"  # symmetric body: one side's fit serves both

    def bottom_gap(abd: float) -> float:  # more abduction lowers the bottom leg toward the mat
        legs = {down: {**bottom, "hip_abduction_deg": abd}, up: {**top, "hip_abduction_deg": 0.0}}
        p = _one_frame(body, up, legs)
        return -(_low(body, p, tuple(f"{down}_{x}" for x in _LEG_PARTS)) - MAT_Y_M)

    b_abd = _bisect(bottom_gap, -20.0, 30.0)
    bottom = {**bottom, "hip_abduction_deg": b_abd}

    def top_gap(abd: float) -> float:  # less adduction raises the top foot
        p = _one_frame(body, up, {down: bottom, up: {**top, "hip_abduction_deg": abd}})
        sk = forward_kinematics(body, p)
        return float(sk.joints[f"{up}_ankle"][0, 1] - sk.joints[f"{down}_ankle"][0, 1]) - _FEET_GAP * body.height_m

    t_abd = _bisect(top_gap, -30.0, 20.0)
    return bottom, {**top, "hip_abduction_deg": t_abd}


def _top_arm(body: BodyShape, bottom: dict, top: dict) -> dict[str, float]:
    """Top hand on the mat in front of the chest (steadies the body): solved once, body-relative."""
    up, down = "left", "right"
    p = _one_frame(body, up, {down: bottom, up: top})
    sk = forward_kinematics(body, p)
    chest = sk.joints["chest"][0]
    fwd = sk.frames["chest"][0][:, 0]  # anterior
    target = chest + 0.30 * _k(body) * fwd
    target[1] = MAT_Y_M + 0.045 * _k(body)
    pole = np.array([[0.0, 1.0, 0.0]])  # the elbow points up
    p = solve_arm(body, p, up, target[None], pole)
    return {k: float(np.asarray(p.side(up, k))[0]) for k in _ARM_KEYS}


def _blend_side(lay: _Lying, side: str, top_vals: dict, bottom_vals: dict, n: int) -> dict[str, np.ndarray]:
    wt = lay.top_weight(side)
    return {k: wt * top_vals[k] + (1.0 - wt) * bottom_vals[k] + np.zeros(n) for k in top_vals}


def _common(plan: Plan, lay: _Lying, pose: Pose, top_arm: dict) -> Pose:
    """Arms (with the setup: the top hand comes from the flank to the mat), neck sway."""
    t = plan.t_s
    n = t.size
    setup = plan.setup()
    resting = {"shoulder_flexion_deg": 4.0, "shoulder_abduction_deg": 0.0, "shoulder_rotation_deg": 0.0,
               "elbow_flexion_deg": 10.0}
    for side in SIDES:
        arm_top = {k: resting[k] + (top_arm[k] - resting[k]) * setup for k in _ARM_KEYS}
        arm = _blend_side(lay, side, arm_top, _BOTTOM_ARM, n)
        # sitting up in the turn, the hands push on the mat beside the hips
        arm = {k: v + (_SIT_ARM[k] - v) * lay.sit for k, v in arm.items()}
        pose = pose.with_side(side, **arm)
    return replace(pose, neck_flexion_deg=8.0 + _sway(t, plan.rng_seed + 5, 3.0, 0.13),
                   neck_rotation_deg=_sway(t, plan.rng_seed, 4.0, 0.11))


def _mat(body: BodyShape, pose: Pose) -> tuple[Box, ...]:
    sk = forward_kinematics(body, pose)
    lm = sk.landmarks_m
    z0, z1 = float(lm[..., 2].min()) - 0.2, float(lm[..., 2].max()) + 0.2
    x0, x1 = float(lm[..., 0].min()) - 0.25, float(lm[..., 0].max()) + 0.25
    return (Box((x0, 0.0, z0), (x1, MAT_Y_M, z1), (0.30, 0.45, 0.55)),)


def _keyframed(pose: Pose) -> dict[str, np.ndarray]:
    return {f"{s}_knee_flexion_deg": np.asarray(pose.side(s, "knee_flexion_deg"), float).copy() for s in SIDES}


# --------------------------------------------------------------------------- side-lying hip abduction


_SLA_TOP_DEG = 30.0  # abduction at the top (normal range 30-45; patients often less)
_SLA_KNEE_BENT_DEG = 40.0
_SLA_BOTTOM = {"hip_flexion_deg": 6.0, "hip_rotation_deg": 0.0, "knee_flexion_deg": 5.0,
               "ankle_dorsiflexion_deg": -15.0}
_SLA_TOP = {"hip_flexion_deg": -3.0, "hip_rotation_deg": 0.0, "knee_flexion_deg": 2.0,
            "ankle_dorsiflexion_deg": -10.0}


def _side_lying_hip_abduction_motion(body: BodyShape, plan: Plan) -> Motion:
    """Lying on one side, legs straight; the top leg lifts out to ~30 deg and lowers."""
    t = plan.t_s
    n = t.size
    # the legs swing from in front (sitting, in the turn) back along the floor: a movement the
    # rep counter's rest baseline remembers for 3 s, so the person lies still a little longer
    lay = _lying(plan, settle_s=3.6)
    bottom, top = rest_legs(body, _SLA_BOTTOM, _SLA_TOP)
    top_arm = _top_arm(body, bottom, top)
    pose = _base_pose(lay, n, _sway(t, plan.rng_seed + 2, 1.2, 0.17))
    setup = plan.setup()
    for side in SIDES:
        s = plan.activation(side)
        amp = plan.amplitude(side)
        top_s = dict(top)
        # setup: the top leg slides back from a little forward and bent into line with the body
        top_s["hip_flexion_deg"] = top["hip_flexion_deg"] + (1 - setup) * 18.0
        top_s["knee_flexion_deg"] = top["knee_flexion_deg"] + (1 - setup) * 20.0
        top_s["hip_abduction_deg"] = top["hip_abduction_deg"] + (_SLA_TOP_DEG * amp - top["hip_abduction_deg"]) * s
        if plan.fault == "knee_bent":
            top_s["knee_flexion_deg"] = top_s["knee_flexion_deg"] + _SLA_KNEE_BENT_DEG * amp * s
        bot_s = dict(bottom)
        bot_s["knee_flexion_deg"] = bottom["knee_flexion_deg"] + (1 - setup) * 30.0
        bot_s["hip_flexion_deg"] = bottom["hip_flexion_deg"] + (1 - setup) * 15.0
        pose = pose.with_side(side, **_turn_legs(lay, _blend_side(lay, side, top_s, bot_s, n)))
    pose = _common(plan, lay, pose, top_arm)
    pose = _plant(body, pose, lay)
    fault_side = None
    if plan.fault in ("knee_bent", "too_fast"):
        fault_side = "working"
    return Motion(pose, _mat(body, pose), _keyframed(pose), fault_side)


SIDE_LYING_HIP_ABDUCTION = ExerciseProgram(
    id="side_lying_hip_abduction",
    title="Side-lying hip abduction",
    posture="side_lying",
    unilateral=True,
    faults=(
        FaultSpec("knee_bent", "the top knee bends ~40 deg during the lift", "{side}_knee_flexion_deg"),
        FaultSpec("too_fast", "each rep takes < 0.8 s", "rep_duration_s", window="rep"),
    ),
    timing=RepTiming(up_s=1.1, hold_s=0.6, down_s=1.2, pause_s=0.8),
    motion=_side_lying_hip_abduction_motion,
    setup_s=1.2,
    switch_s=7.7,
    side_elevation_deg=35.0,  # a camera raised in front, looking down (see the specs)
    oblique_deg=(30.0, 35.0),
    view="front",
)


# --------------------------------------------------------------------------- clamshell


# hips bent 45 deg (article 003); knees a little more, 70, so the feet sit in line with the back
_CS_LEG = {"hip_flexion_deg": 45.0, "hip_rotation_deg": 0.0, "knee_flexion_deg": 70.0,
           "ankle_dorsiflexion_deg": -10.0}
_CS_OPEN_DEG = 50.0  # the top knee turns this far about the hip-ankle line (knees ~20 cm apart)
_CS_APART_LIFT_DEG = 11.0  # feet_apart: while the knee opens the whole bent leg lifts too (hip
# abduction): the top foot comes ~15 cm off the bottom one


def _rotate_about(v: np.ndarray, axis: np.ndarray, deg: np.ndarray) -> np.ndarray:
    """Rodrigues: rotate vectors v (N,3) about unit axes (N,3) by deg (N,)."""
    a = np.radians(deg)[:, None]
    along = axis * np.sum(axis * v, axis=-1, keepdims=True)
    return v * np.cos(a) + np.cross(axis, v) * np.sin(a) + along * (1 - np.cos(a))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _clamshell_motion(body: BodyShape, plan: Plan) -> Motion:
    """Lying on one side, hips and knees bent, feet together; the top knee opens and closes.

    The rest pose is set by angles; a rep turns the top knee about the hip-ankle line (leg IK with
    the ankle held where the rest pose puts it), so the feet stay together.
    """
    t = plan.t_s
    n = t.size
    lay = _lying(plan)
    bottom, top = rest_legs(body, _CS_LEG, _CS_LEG)
    top_arm = _top_arm(body, bottom, top)
    setup = plan.setup()
    pose = _base_pose(lay, n, _sway(t, plan.rng_seed + 2, 1.2, 0.17))
    for side in SIDES:
        # setup: the knees draw up from nearly straight legs into the clamshell position
        top_s = {k: v * (0.3 + 0.7 * setup) if k in ("hip_flexion_deg", "knee_flexion_deg") else v + 0 * t
                 for k, v in top.items()}
        bot_s = {k: v * (0.3 + 0.7 * setup) if k in ("hip_flexion_deg", "knee_flexion_deg") else v + 0 * t
                 for k, v in bottom.items()}
        pose = pose.with_side(side, **_turn_legs(lay, _blend_side(lay, side, top_s, bot_s, n)))
    pose = _common(plan, lay, pose, top_arm)
    pose = _plant(body, pose, lay)
    # where the rest pose puts hips, knees and ankles, then the reps by leg IK
    sk = forward_kinematics(body, pose)
    moved = pose
    up = np.array([0.0, 1.0, 0.0])
    for side in SIDES:
        s = plan.activation(side) * plan.amplitude(side)
        hip, knee, ankle = (sk.joints[f"{side}_{j}"] for j in ("hip", "knee", "ankle"))
        if plan.fault == "feet_apart":
            # the whole bent leg lifts about the hip's front-back axis as the knee opens
            fwd = sk.frames["pelvis"][:, :, 0]
            sgn = np.sign(np.sum(np.cross(fwd, ankle - hip) * up, axis=-1))
            lift = _CS_APART_LIFT_DEG * s * sgn
            knee = hip + _rotate_about(knee - hip, fwd, lift)
            ankle = hip + _rotate_about(ankle - hip, fwd, lift)
        open_deg = _CS_OPEN_DEG * s
        axis = _unit(ankle - hip)
        v = knee - hip
        v = v - np.sum(v * axis, axis=-1, keepdims=True) * axis
        sgn = np.sign(np.sum(np.cross(axis, v) * up, axis=-1))  # the knee turns up, away from the other
        pole = _rotate_about(v, axis, open_deg * sgn)
        moved = solve_leg(body, moved, side, ankle, pole)  # the rest pose's ankle angle is kept
    fault_side = "working" if plan.fault else None
    return Motion(moved, _mat(body, moved), _keyframed(moved), fault_side)


CLAMSHELL = ExerciseProgram(
    id="clamshell",
    title="Clamshell",
    posture="side_lying",
    unilateral=True,
    faults=(
        FaultSpec("feet_apart", "the top foot lifts ~15 cm off the bottom one as the knee opens",
                  "{side}_knee_flexion_deg"),
        FaultSpec("too_fast", "each rep takes < 0.8 s", "rep_duration_s", window="rep"),
    ),
    timing=RepTiming(up_s=1.0, hold_s=0.8, down_s=1.1, pause_s=0.8),
    motion=_clamshell_motion,
    setup_s=1.3,
    switch_s=5.0,
    side_elevation_deg=35.0,  # a camera raised in front, looking down (see the specs)
    # 30 deg off the front: from 45 deg toward the head the bottom shin points nearly at the
    # camera, a few pixels long, and its angle jitters by more than a rep's threshold
    oblique_deg=(30.0, 35.0),
    view="front",
)


# --------------------------------------------------------------------------- side-lying abductor stretch


_SAS_FLEX_DEG = 55.0  # the top leg comes forward over the bottom one ...
_SAS_BUMP_DEG = 6.0  # ... lifting a little to clear it ...
_SAS_KNEE_BENT_DEG = 35.0  # knee_bent: the top knee bends while held
HOLD_TIMING = RepTiming(up_s=2.0, hold_s=30.0, down_s=2.0, pause_s=2.5)


def _stretch_drop(body: BodyShape, bottom: dict, top: dict) -> float:
    """... and down until its foot rests on the mat in front: the hip abduction (negative) that does it."""
    up, down = "left", "right"

    def gap(abd: float) -> float:  # more abduction lifts the top foot off the mat
        legs = {down: bottom, up: {**top, "hip_flexion_deg": _SAS_FLEX_DEG, "hip_abduction_deg": abd}}
        p = _one_frame(body, up, legs)
        return _low(body, p, tuple(f"{up}_{x}" for x in _LEG_PARTS)) - MAT_Y_M

    return _bisect(gap, -60.0, 0.0)


def _hold_tremor(plan: Plan, side: str, amp_deg: float) -> np.ndarray:
    """A long hold is not still: a slow drift and a little tremor, only while held."""
    t = plan.t_s
    return plan.activation(side) * (_sway(t, plan.rng_seed + 17 + len(side), amp_deg, 0.5)
                                    + _sway(t, plan.rng_seed + 23, 0.3 * amp_deg, 1.7))


def _side_lying_abductor_stretch_motion(body: BodyShape, plan: Plan) -> Motion:
    """Lying on one side, legs straight; the top leg comes forward over the bottom one, down to
    the mat in front of it, and is held there (article 002: 30 s), then goes back."""
    t = plan.t_s
    n = t.size
    lay = _lying(plan)
    bottom, top = rest_legs(body, _SLA_BOTTOM, _SLA_TOP)
    top_arm = _top_arm(body, bottom, top)
    drop = _stretch_drop(body, bottom, top)
    pose = _base_pose(lay, n, _sway(t, plan.rng_seed + 2, 1.2, 0.17))
    setup = plan.setup()
    for side in SIDES:
        s = plan.activation(side)
        amp = 1.0 + 0.5 * (plan.amplitude(side) - 1.0)  # the mat stops the foot: less jitter
        top_s = dict(top)
        top_s["hip_flexion_deg"] = top["hip_flexion_deg"] + (1 - setup) * 18.0 + \
            (_SAS_FLEX_DEG * amp - top["hip_flexion_deg"]) * s
        top_s["hip_abduction_deg"] = top["hip_abduction_deg"] + (drop - top["hip_abduction_deg"]) * s + \
            _SAS_BUMP_DEG * np.sin(np.pi * s) + _hold_tremor(plan, side, 1.0)
        top_s["knee_flexion_deg"] = top["knee_flexion_deg"] + (1 - setup) * 20.0 + \
            (_SAS_KNEE_BENT_DEG * s * amp if plan.fault == "knee_bent" else 0.0)
        bot_s = dict(bottom)
        bot_s["knee_flexion_deg"] = bottom["knee_flexion_deg"] + (1 - setup) * 30.0
        bot_s["hip_flexion_deg"] = bottom["hip_flexion_deg"] + (1 - setup) * 15.0
        pose = pose.with_side(side, **_turn_legs(lay, _blend_side(lay, side, top_s, bot_s, n)))
    pose = _common(plan, lay, pose, top_arm)
    pose = _plant(body, pose, lay)
    return Motion(pose, _mat(body, pose), _keyframed(pose), "working" if plan.fault else None)


SIDE_LYING_ABDUCTOR_STRETCH = ExerciseProgram(
    id="side_lying_abductor_stretch",
    title="Side-lying abductor stretch",
    posture="side_lying",
    unilateral=True,
    faults=(
        FaultSpec("knee_bent", "the top knee bends ~35 deg while the stretch is held", "{side}_knee_flexion_deg"),
    ),
    timing=HOLD_TIMING,
    motion=_side_lying_abductor_stretch_motion,
    setup_s=1.2,
    switch_s=5.0,
    side_elevation_deg=35.0,  # a camera raised in front, looking down (see the specs)
    # 30 deg off the front: from 45 deg toward the feet the leg swings through pointing at the
    # camera on its way over, which reads deeper than the held stretch (the hold is timed near
    # the deepest point), so one set would show no hold
    oblique_deg=(30.0, 35.0),
    view="front",
)

PROGRAMS: tuple = (SIDE_LYING_HIP_ABDUCTION, CLAMSHELL, SIDE_LYING_ABDUCTOR_STRETCH)
