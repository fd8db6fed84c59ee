"""Lying on the back: supine leg raise, pelvic tilt, knee to chest.

All three lie on a mat with the head toward -x and the feet toward +x (pelvis pitch -90), the
trunk planted on the mat and the arms resting beside it. A leg "lying straight" rests its calf
and heel on the mat (the hip extends a few degrees for that); a leg "bent, foot flat" has its
foot planted with the knee bent (hook lying), solved by leg IK so the sole stays on the mat.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from formcheck.synth.body import SIDE_SIGN, SIDES, BodyShape, Pose, forward_kinematics, solve_arm, solve_leg
from formcheck.synth.exercises import (ExerciseProgram, FaultSpec, Motion, Plan, RepTiming, _sway, min_jerk,
                                       rest_head)
from formcheck.synth.postures import MAT_Y_M, lowest_y, plant
from formcheck.synth.render import mat

_TRUNK_PARTS = ("pelvis", "chest", "abdomen")
_STRAIGHT_DORSI_DEG = -20.0  # a relaxed foot on a straight lying leg: toes up and a little forward
_FLAT = np.array([1.0, 0.0, 0.0])  # a flat foot points along the mat toward the feet end


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


# --------------------------------------------------------------------------- shared geometry


def _supine_root_y(body: BodyShape) -> float:
    """Hip-joint height of a flat supine trunk resting on the mat."""
    rest = plant(body, Pose(pelvis_pitch_deg=-90.0, root_y_m=0.2).broadcast(1), MAT_Y_M, _TRUNK_PARTS)
    return float(rest.root_y_m[0])


def _hook_foot(body: BodyShape, hip_y: float, knee_deg: float) -> tuple[float, float, float]:
    """Hook lying with a flat trunk: (thigh elevation deg, ankle x, ankle y) with the heel on the mat."""
    lt, ls = body.thigh_m, body.shank_m
    ankle_y = MAT_Y_M + body.ankle_height_m
    k = np.radians(knee_deg)
    phis = np.radians(np.linspace(0, 90, 9001))
    ay = hip_y + lt * np.sin(phis) + ls * np.sin(phis - k)
    phi0 = phis[np.argmin(np.abs(ay - ankle_y))]
    return float(np.degrees(phi0)), float(lt * np.cos(phi0) + ls * np.cos(phi0 - k)), ankle_y


def _straight_leg_hip(body: BodyShape, root_y: float) -> float:
    """Hip flexion (a small extension) at which a straight lying leg rests its calf and heel on the mat."""
    parts = tuple(f"left_{p}" for p in ("thigh", "shank", "calf", "foot", "shoe_top"))
    lo, hi = -15.0, 10.0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        p = Pose(pelvis_pitch_deg=-90.0, root_y_m=root_y, left_hip_flexion_deg=mid,
                 left_ankle_dorsiflexion_deg=_STRAIGHT_DORSI_DEG).broadcast(1)
        if lowest_y(body, p, parts)[0] > MAT_Y_M:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def _straight_ankle(body: BodyShape, root_y: float, hip_deg: float, side: str) -> np.ndarray:
    """Ankle position of a straight leg lying at ``hip_deg`` (flat trunk)."""
    leg = body.thigh_m + body.shank_m
    a = np.radians(hip_deg)
    return np.array([leg * np.cos(a), root_y + leg * np.sin(a), SIDE_SIGN[side] * body.hip_sep_m / 2])


def _arms_on_mat(body: BodyShape, pose: Pose, n: int, sides=SIDES) -> Pose:
    """Arms resting on the mat beside the trunk, palms down."""
    sk = forward_kinematics(body, pose)
    # a chest pitched up (shoulders higher than its lower end) turns the arms toward the mat: flex them back
    chest_up = np.asarray(pose.pelvis_pitch_deg) + np.asarray(pose.spine_flexion_deg) + 90.0
    for side in sides:
        sh_y = sk.joints[f"{side}_shoulder"][:, 1]
        drop = np.degrees(np.arcsin(np.clip((sh_y - MAT_Y_M - 0.022 * body.height_m) / (0.4 * body.height_m), 0, 0.9)))
        pose = pose.with_side(side, shoulder_flexion_deg=chest_up - drop, shoulder_abduction_deg=np.full(n, 12.0),
                              elbow_flexion_deg=np.full(n, 4.0))
    return pose


def _leg_to(body: BodyShape, pose: Pose, side: str, ankle: np.ndarray, flat: np.ndarray | None = None) -> Pose:
    """IK one leg to an ankle target, knee up; ``flat`` (N,) in 0..1 blends the foot toward flat on the mat."""
    n = ankle.shape[0]
    pole = np.broadcast_to(np.array([0.35, 1.0, 0.0]), (n, 3))
    solved = solve_leg(body, pose, side, ankle, pole, foot_dir=_FLAT)
    if flat is not None:
        dorsi = np.asarray(solved.side(side, "ankle_dorsiflexion_deg"))
        solved = solved.with_side(side, ankle_dorsiflexion_deg=flat * dorsi + (1 - flat) * _STRAIGHT_DORSI_DEG)
    return solved


def _mat_props(body: BodyShape) -> tuple:
    """The exercise mat under a supine body (head toward -x)."""
    h = body.height_m
    return tuple(mat(-0.50 * h / 1.7 - 0.30, 0.95 * h / 1.7 + 0.25))


def _set_windows(plan: Plan) -> list[tuple[tuple[str, ...], float, float]]:
    """Per set: (its legs, first rep start, last rep end).

    Reps of both legs at the same time (a double-leg raise) are one set done with both legs.
    """
    moments: list[tuple[tuple[str, ...], float, float]] = []  # reps that overlap in time, together
    for r in plan.reps:
        if moments and r.start_s < moments[-1][2]:
            sides, start, end = moments[-1]
            moments[-1] = (tuple(dict.fromkeys((*sides, r.side))), start, max(end, r.end_s))
        else:
            moments.append(((r.side,), r.start_s, r.end_s))
    out: list[tuple[tuple[str, ...], float, float]] = []
    for sides, start, end in moments:
        if out and set(out[-1][0]) == set(sides):
            out[-1] = (out[-1][0], out[-1][1], end)
        else:
            out.append((sides, start, end))
    return out


def _straightness(plan: Plan) -> dict[str, np.ndarray]:
    """Per leg, 1 while it lies straight (its own set), 0 while bent with the foot flat.

    The first set's leg slides straight during the setup; at a switch the finished leg bends
    back (first half of the gap) and then the next leg slides straight (second half).
    """
    t = plan.t_s
    w = {s: np.zeros_like(t) for s in SIDES}
    sets = _set_windows(plan)
    for k, (sides, start, end) in enumerate(sets):
        if k == 0:
            up = plan.setup()
        else:
            prev_end = sets[k - 1][2]
            mid = 0.5 * (prev_end + start)
            up = min_jerk((t - mid) / max(start - 0.25 - mid, 0.2))
        if k + 1 < len(sets):
            nxt = sets[k + 1][1]
            mid = 0.5 * (end + nxt)
            down = min_jerk((t - end - 0.15) / max(mid - end - 0.15, 0.2))
        else:
            down = np.zeros_like(t)
        for side in sides:
            w[side] = np.maximum(w[side], np.clip(up - down, 0, 1) * (t >= (sets[k - 1][2] if k else -1)))
    return w


# --------------------------------------------------------------------------- supine leg raise

_SLR_SUPPORT_KNEE_DEG = 95.0  # the other leg: knee bent, foot flat on the mat
_SLR_KNEE_BENT_DEG = 35.0  # knee_bent: the lifting knee bends this much at the top
_SLR_KNEE_BENT_THIGH = 1.2  # knee_bent: ... and the thigh comes up 20% higher than the bent thigh
_SLR_FOOT_LIFT_M = 0.15  # other_foot_lifts: the support foot comes this far off the mat


def _supine_leg_raise_motion(body: BodyShape, plan: Plan) -> Motion:
    """Hook lying; the working leg slides out straight, lifts until in line with the bent thigh, holds, lowers.

    Article 002: both knees bent, feet flat; keeping one foot flat, lift the other leg until it is
    in line (the bent leg's thigh, about 45-50 deg up), hold, lower. The support foot stays planted
    (leg IK); the lifting leg is straight, its hip angle is the design curve.
    """
    t = plan.t_s
    n = t.size
    root_y = _supine_root_y(body)
    phi0, foot_x, foot_y = _hook_foot(body, root_y, _SLR_SUPPORT_KNEE_DEG)
    h_rest = _straight_leg_hip(body, root_y)
    w = _straightness(plan)
    pose = Pose(pelvis_pitch_deg=-90.0, root_y_m=root_y, neck_flexion_deg=-8.0).broadcast(n)
    keyframed: dict[str, np.ndarray] = {}
    for side in SIDES:
        other = _other(side)
        s = plan.activation(side)
        amp = plan.amplitude(side)
        s_other = plan.activation(other)
        z = SIDE_SIGN[side] * body.hip_sep_m / 2
        bent = np.array([foot_x, foot_y, z])
        straight = _straight_ankle(body, root_y, h_rest, side)
        ws = min_jerk(w[side])
        # the foot slides along the mat between planted (bent) and the straight leg's heel position
        ankle = bent + (straight - bent) * ws[:, None]
        if plan.fault == "other_foot_lifts":
            lift = s_other * plan.amplitude(other) * (1 - ws)
            ankle = ankle + lift[:, None] * np.array([-0.03, _SLR_FOOT_LIFT_M, 0.0])
        pose = _leg_to(body, pose, side, ankle, flat=1 - ws)
        # while this leg is the straight one, its angles are set directly: the lift and the hold
        tremor = _sway(t, plan.rng_seed + (3 if side == "left" else 4), 1.2, 0.31)  # a held leg trembles a little
        # bending the knee is how a stiff hamstring gets the foot up: the thigh then rises higher
        top = phi0 * (_SLR_KNEE_BENT_THIGH if plan.fault == "knee_bent" else 1.0)
        hip = h_rest + (top * amp - h_rest) * s + tremor * s
        knee = (_SLR_KNEE_BENT_DEG * amp if plan.fault == "knee_bent" else 1.5) * s
        dorsi = _STRAIGHT_DORSI_DEG + 15.0 * s
        on = ws >= 1.0 - 1e-9
        pose = pose.with_side(
            side,
            hip_flexion_deg=np.where(on, hip, pose.side(side, "hip_flexion_deg")),
            hip_abduction_deg=np.where(on, 0.0, pose.side(side, "hip_abduction_deg")),
            hip_rotation_deg=np.where(on, 0.0, pose.side(side, "hip_rotation_deg")),
            knee_flexion_deg=np.where(on, knee, pose.side(side, "knee_flexion_deg")),
            ankle_dorsiflexion_deg=np.where(on, dorsi, pose.side(side, "ankle_dorsiflexion_deg")),
        )
        keyframed[f"{side}_knee_flexion_deg"] = np.asarray(pose.side(side, "knee_flexion_deg")).copy()
        keyframed[f"{side}_hip_flexion_deg"] = np.asarray(pose.side(side, "hip_flexion_deg")).copy()
    pose = _arms_on_mat(body, pose, n)
    pose = replace(pose, neck_rotation_deg=_sway(t, plan.rng_seed, 4.0, 0.11))
    pose = rest_head(body, pose, MAT_Y_M)
    fault_side = "working" if plan.fault else None
    return Motion(pose, _mat_props(body), keyframed, fault_side)


# --------------------------------------------------------------------------- knee to chest

_KTC_HIP_DEG = 118.0  # thigh pulled toward the chest
_KTC_KNEE_DEG = 125.0
_KTC_OTHER_KNEE_DEG = 42.0  # other_leg_bent: the resting leg's knee bends, heel sliding on the mat


def _knee_to_chest_motion(body: BodyShape, plan: Plan) -> Motion:
    """Lying with both legs straight; one knee is pulled toward the chest with both hands, held, released.

    Article 004: legs straight, pull one leg toward the chest keeping the other straight, hold,
    return the leg straight. Both hands hold the thigh from behind, just below the knee (articles
    002 and 004). Setup: the person lies with the knees bent and slides both legs out straight.
    """
    t = plan.t_s
    n = t.size
    h = body.height_m
    lt, ls = body.thigh_m, body.shank_m
    root_y = _supine_root_y(body)
    phi0, foot_x, foot_y = _hook_foot(body, root_y, 95.0)
    h_rest = _straight_leg_hip(body, root_y)
    setup = min_jerk(plan.setup())
    pose = Pose(pelvis_pitch_deg=-90.0, root_y_m=root_y, neck_flexion_deg=-8.0).broadcast(n)
    keyframed: dict[str, np.ndarray] = {}
    for side in SIDES:
        other = _other(side)
        z = SIDE_SIGN[side] * body.hip_sep_m / 2
        straight = _straight_ankle(body, root_y, h_rest, side)
        bent = np.array([foot_x, foot_y, z])
        ankle = bent + (straight - bent) * setup[:, None]
        if plan.fault == "other_leg_bent":
            # while the other knee is pulled up, this one bends: the heel slides toward the buttock
            k = np.radians(_KTC_OTHER_KNEE_DEG * plan.activation(other) * plan.amplitude(other))
            d = np.sqrt(lt * lt + ls * ls + 2 * lt * ls * np.cos(k))
            dy = straight[1] - root_y
            ankle = ankle.copy()
            ankle[:, 0] = np.where(k > 1e-6, np.sqrt(np.maximum(d * d - dy * dy, 0)), ankle[:, 0])
        pose = _leg_to(body, pose, side, ankle, flat=1 - setup)
        s = plan.activation(side)
        amp = plan.amplitude(side)
        breathe = _sway(t, plan.rng_seed + (5 if side == "left" else 6), 1.5, 0.2)  # gentle pull with each breath
        hip = h_rest + (_KTC_HIP_DEG * amp - h_rest) * s + breathe * s
        knee = _KTC_KNEE_DEG * np.clip(s * 1.25, 0, 1) ** 0.8  # the knee folds early as the thigh comes up
        dorsi = _STRAIGHT_DORSI_DEG + 5.0 * s
        on = s > 1e-6
        pose = pose.with_side(
            side,
            hip_flexion_deg=np.where(on, hip, pose.side(side, "hip_flexion_deg")),
            hip_abduction_deg=np.where(on, 4.0 * s, pose.side(side, "hip_abduction_deg")),
            hip_rotation_deg=np.where(on, 0.0, pose.side(side, "hip_rotation_deg")),
            knee_flexion_deg=np.where(on, knee, pose.side(side, "knee_flexion_deg")),
            ankle_dorsiflexion_deg=np.where(on, dorsi, pose.side(side, "ankle_dorsiflexion_deg")),
        )
        keyframed[f"{side}_knee_flexion_deg"] = np.asarray(pose.side(side, "knee_flexion_deg")).copy()
    pose = _arms_on_mat(body, pose, n)
    # both hands reach behind the pulled thigh (lacing under it); the wrist path blends from the mat
    sk = forward_kinematics(body, pose)
    grab = np.zeros(n)
    thigh_pt = np.zeros((n, 3))
    thigh_frame = np.zeros((n, 3, 3))
    for side in SIDES:
        s = plan.activation(side)
        g = np.clip(1.6 * s, 0, 1)
        sel = s > 1e-6
        grab = np.where(sel, g, grab)
        r = sk.frames[f"{side}_thigh"]
        pt = sk.joints[f"{side}_hip"] + np.einsum("nij,j->ni", r, [-0.055 * h, -0.80 * lt, 0.0])
        thigh_pt[sel] = pt[sel]
        thigh_frame[sel] = r[sel]
    grab = min_jerk(grab)
    if grab.max() > 0:
        for arm in SIDES:
            wrist0 = sk.joints[f"{arm}_wrist"]
            # lateral spread of the hands across the back of the thigh
            lateral = np.einsum("nij,j->ni", thigh_frame, [0.0, 0.0, SIDE_SIGN[arm] * 0.035 * h])
            target = wrist0 + (thigh_pt + lateral - wrist0) * grab[:, None]
            pole = np.broadcast_to(np.array([0.4, 0.3, SIDE_SIGN[arm] * 1.0]), (n, 3))
            solved = solve_arm(body, pose, arm, target, pole)
            use = grab > 1e-6
            pose = pose.with_side(arm, **{k: np.where(use, solved.side(arm, k), pose.side(arm, k))
                                          for k in ("shoulder_flexion_deg", "shoulder_abduction_deg",
                                                    "shoulder_rotation_deg", "elbow_flexion_deg")})
    pose = replace(pose, neck_rotation_deg=_sway(t, plan.rng_seed, 4.0, 0.11))
    pose = rest_head(body, pose, MAT_Y_M)
    for side in SIDES:
        keyframed[f"{side}_hip_flexion_deg"] = np.asarray(pose.side(side, "hip_flexion_deg")).copy()
    fault_side = "working" if plan.fault else None
    return Motion(pose, _mat_props(body), keyframed, fault_side)


# --------------------------------------------------------------------------- pelvic tilt

_PT_KNEE_DEG = 95.0
_PT_TILT_DEG = 14.0  # posterior pelvic tilt: the lower back flattens, the pelvis rocks on the sacrum
_PT_LIFT_M = 0.075  # hips_lift: the buttocks come off the mat (a bridge, not a tilt)


def _pelvis_centre_offset(body: BodyShape) -> np.ndarray:
    """Pelvis ellipsoid centre in the pelvis frame (as drawn by the renderer)."""
    return np.array([-0.004, 0.024, 0.0]) * body.height_m


def _roll_table(body: BodyShape, max_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rolling the pelvis ellipsoid posteriorly on the mat: tilt -> (centre x, centre height).

    In the sagittal plane the pelvis is an ellipse with semi-axes b (superior, u) and a (anterior,
    v): P(s) = (b sin s, -a cos s), s = 0 at the posterior pole that rests on the mat. Supine and
    tilted posteriorly by tau, superior points along (-cos tau, -sin tau) and anterior along
    (-sin tau, cos tau); it touches the mat where its normal points straight down, tan s =
    (b/a) tan tau, and rolling without slipping moves the contact headward by the arc length.
    """
    h, g = body.height_m, body.girth
    a, b = 0.058 * g * h, 0.068 * h
    tau = np.radians(np.linspace(0.0, max_deg, 400))
    s = np.arctan((b / a) * np.tan(tau))
    fine = np.linspace(0.0, float(s.max()) + 0.01, 4000)
    pts = np.stack([b * np.sin(fine), -a * np.cos(fine)], axis=-1)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    run = np.interp(s, fine, arc)
    pu, pv = b * np.sin(s), -a * np.cos(s)
    wx = -pu * np.cos(tau) - pv * np.sin(tau)  # world offset of the contact point from the centre
    wy = -pu * np.sin(tau) + pv * np.cos(tau)
    return np.degrees(tau), -run - wx, -wy


def _pelvic_tilt_motion(body: BodyShape, plan: Plan) -> Motion:
    """Hook lying; the pelvis tilts posteriorly (lower back flat on the mat), holds, releases.

    The pelvis ellipsoid rolls on the mat (rocking on the sacrum) by ~14 deg: the hip joints move
    ~2-3 cm toward the head and ~1 cm up, the feet stay planted (leg IK), and the lumbar spine
    flexes so the chest stays on the mat. With ``hips_lift`` the buttocks also come ~7.5 cm off
    the mat, turning the tilt into a small bridge.
    """
    t = plan.t_s
    n = t.size
    h = body.height_m
    root_y = _supine_root_y(body)
    phi0, foot_x, foot_y = _hook_foot(body, root_y, _PT_KNEE_DEG)
    s = plan.activation()
    amp = plan.amplitude()
    tilt = _PT_TILT_DEG * amp * s
    tilts, cx, ch = _roll_table(body, _PT_TILT_DEG * 1.2)
    off = _pelvis_centre_offset(body)
    # the pelvis frame (pitch -90 - tilt) applied to the centre offset: superior -> (-cos, -sin), anterior -> (-sin, cos)
    tr = np.radians(tilt)
    off_x = off[1] * -np.cos(tr) + off[0] * -np.sin(tr)
    off_y = off[1] * -np.sin(tr) + off[0] * np.cos(tr)
    off0_x, off0_y = -off[1], off[0]
    centre_x = np.interp(tilt, tilts, cx) - np.interp(0.0, tilts, cx)
    centre_y = np.interp(tilt, tilts, ch) - np.interp(0.0, tilts, ch)
    lift = _PT_LIFT_M * amp * s if plan.fault == "hips_lift" else 0.0 * s
    root_x = centre_x - off_x + off0_x
    root_yy = root_y + centre_y - off_y + off0_y + lift
    pose = Pose(root_x_m=root_x, root_y_m=root_yy, pelvis_pitch_deg=-90.0 - tilt, neck_flexion_deg=-8.0).broadcast(n)
    # the lumbar spine flexes so the shoulders stay down on the mat (the mannequin's two-hinge
    # spine cannot also keep the chest flat: its lower end presses a little into the mat, which
    # is the flattened lower back; the chest pitches up a few degrees)
    sh_y0 = forward_kinematics(body, Pose(pelvis_pitch_deg=-90.0, root_y_m=root_y).broadcast(1)).joints["left_shoulder"][0, 1]
    lo, hi = np.full(n, -10.0), np.full(n, 60.0)
    for _ in range(26):
        mid = 0.5 * (lo + hi)
        sh_y = forward_kinematics(body, replace(pose, spine_flexion_deg=mid)).joints["left_shoulder"][:, 1]
        above = sh_y > sh_y0  # more flexion lifts the shoulders
        lo, hi = np.where(above, lo, mid), np.where(above, mid, hi)
    pose = replace(pose, spine_flexion_deg=0.5 * (lo + hi))
    setup = min_jerk(plan.setup())
    slide = (1 - setup) * 0.12 * h / 1.7  # setup: the feet slide in to their place
    keyframed: dict[str, np.ndarray] = {}
    for side in SIDES:
        z = SIDE_SIGN[side] * body.hip_sep_m / 2
        ankle = np.stack([np.full(n, foot_x) + slide, np.full(n, foot_y), np.full(n, z)], axis=-1)
        pose = _leg_to(body, pose, side, ankle)
        keyframed[f"{side}_knee_flexion_deg"] = np.asarray(pose.side(side, "knee_flexion_deg")).copy()
    pose = _arms_on_mat(body, pose, n)
    pose = replace(pose, neck_rotation_deg=_sway(t, plan.rng_seed, 4.0, 0.11))
    pose = rest_head(body, pose, MAT_Y_M)
    fault_side = "both" if plan.fault else None
    return Motion(pose, _mat_props(body), keyframed, fault_side)


# --------------------------------------------------------------------------- registry

SUPINE_LEG_RAISE = ExerciseProgram(
    id="supine_leg_raise",
    title="Supine leg raise",
    posture="supine",
    unilateral=True,
    faults=(
        FaultSpec("knee_bent", "the lifting knee bends ~35 deg at the top (thigh ~20% higher)", "{side}_knee_flexion_deg"),
        FaultSpec("other_foot_lifts", "the bent leg's foot comes ~15 cm off the mat while the other leg is up",
                  "{other}_hip_flexion_deg"),
    ),
    timing=RepTiming(up_s=2.0, hold_s=30.0, down_s=2.0, pause_s=2.0),
    motion=_supine_leg_raise_motion,
    setup_s=1.6,
    switch_s=3.0,
    # camera raised (~1.5 m up, 2-3 m away), looking down 35 deg: side-on from low down the lifted
    # near leg covers the far bent thigh (their knees coincide) and the model swaps the two ankles
    side_elevation_deg=35.0,
    # the other foot's lift is read against image vertical, which only a true side view keeps
    # level: 45 deg off side-on, the camera must say so and only the counts are judged
    oblique_deg=(45.0, 20.0),
    oblique_outside_spec=True,
    angled_deg=(90.0, 25.0),  # square to the side as the advice asks, from lower down than 35 deg
    view="side",
)

KNEE_TO_CHEST = ExerciseProgram(
    id="knee_to_chest",
    title="Knee to chest stretch",
    posture="supine",
    unilateral=True,
    faults=(
        FaultSpec("other_leg_bent", "the resting leg's knee bends ~42 deg while the other knee is pulled up",
                  "{other}_knee_flexion_deg"),
    ),
    timing=RepTiming(up_s=2.0, hold_s=10.0, down_s=2.0, pause_s=2.0),
    motion=_knee_to_chest_motion,
    setup_s=1.6,
    switch_s=2.0,
    side_elevation_deg=28.0,  # camera raised, looking down: the pulled knee and the other leg stay apart
    oblique_deg=(65.0, 30.0),
    view="side",
)

PELVIC_TILT = ExerciseProgram(
    id="pelvic_tilt",
    title="Pelvic tilt",
    posture="supine",
    unilateral=False,
    faults=(
        FaultSpec("hips_lift", "the buttocks come ~7.5 cm off the mat during the tilt", "hip_flexion_deg"),
    ),
    timing=RepTiming(up_s=1.5, hold_s=30.0, down_s=1.5, pause_s=3.0),
    motion=_pelvic_tilt_motion,
    setup_s=1.3,
    side_elevation_deg=12.0,
    oblique_deg=(65.0, 30.0),
    view="side",
)

PROGRAMS: tuple[ExerciseProgram, ...] = (SUPINE_LEG_RAISE, PELVIC_TILT, KNEE_TO_CHEST)
