"""Lying on the back and standing stretches: supine figure four, double hip rotation, standing IT band stretch.

All three are holds: one rep = move into the stretch, hold it, come back (``timing.hold_s`` is
what the patient holds, a little over the spec's target so the seed's +-10% jitter stays above
the 90% the hold timer needs).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from formcheck.synth.body import SIDE_SIGN, SIDES, BodyShape, Pose, forward_kinematics, rot_x, solve_arm, solve_leg
from formcheck.synth.exercises import ExerciseProgram, FaultSpec, Motion, Plan, RepTiming, _sway, min_jerk, rest_head
from formcheck.synth.postures import MAT_Y_M, plant
from formcheck.synth.render import chair, mat

# --------------------------------------------------------------------------- shared: lying on the back


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


def _supine_base(body: BodyShape, n: int, **extra) -> Pose:
    """Lying on the back on the mat, head toward -x, feet toward +x (body right = world +z)."""
    pose = Pose(pelvis_pitch_deg=-90.0, root_y_m=0.2, neck_flexion_deg=-8.0, **extra).broadcast(1)
    pose = plant(body, pose, MAT_Y_M, ("pelvis", "chest", "abdomen"))
    return pose.broadcast(n)


def _hook_ankle_x(body: BodyShape, pose: Pose, knee_deg, half_sep_m: float) -> np.ndarray:
    """x of the ankles for feet flat on the mat with the knees bent ``knee_deg`` (hips on the mat)."""
    lt, ls = body.thigh_m, body.shank_m
    hip_x, hip_y = float(np.asarray(pose.root_x_m).flat[0]), float(np.asarray(pose.root_y_m).flat[0])
    ankle_y = MAT_Y_M + body.ankle_height_m
    d = np.sqrt(lt * lt + ls * ls + 2 * lt * ls * np.cos(np.radians(knee_deg)))  # hip-ankle distance
    dz = half_sep_m - body.hip_sep_m / 2
    return hip_x + np.sqrt(np.maximum(d * d - (hip_y - ankle_y) ** 2 - dz * dz, 1e-6))


def _rot_about_x(p: np.ndarray, centre: np.ndarray, deg: np.ndarray) -> np.ndarray:
    """Rotate points (N,3) about the world x axis through ``centre`` by ``deg`` (N,): + turns +y toward +z."""
    return centre + np.einsum("nij,nj->ni", rot_x(np.asarray(deg)), p - centre)


# --------------------------------------------------------------------------- double hip rotation

_DHR_LEG_DEG = 68.0  # the knees turn this far toward the floor (article 004: touch the knee down if possible)
_DHR_PELVIS_SHARE = 0.5  # the pelvis rolls with the legs by about half their turn; the chest stays flat
_DHR_HEAD_DEG = 55.0  # the head turns the other way
_DHR_TOP_LAG = 0.5  # knees_apart: the top knee turns only half as far, so the knees part
_DHR_CHEST_ROLL_DEG = 24.0  # shoulders_lift: the chest rolls after the legs, lifting the far shoulder
_DHR_KNEE_HALF_SEP = 0.057  # knee centres this far from the midline (x height/1.7): knees touching
_DHR_ANKLE_HALF_SEP = 0.065


def _double_hip_rotation_motion(body: BodyShape, plan: Plan) -> Motion:
    """Hook-lying, arms out on the mat; both knees, kept together, turn to one side, the head the other way.

    The knees turn about the body's long axis at about ankle height; the pelvis rolls along by
    half the turn while the chest stays flat (spine rotation takes the rest); the feet stay on the
    mat and roll toward the turn. Leg IK places the knees.
    """
    t = plan.t_s
    n = t.size
    k_h = body.height_m / 1.7
    pose = _supine_base(body, n, left_shoulder_abduction_deg=12.0, right_shoulder_abduction_deg=12.0)
    setup = plan.setup()
    knee_deg = 95.0 - 25.0 * (1 - setup)  # the feet slide in toward the buttocks during the setup
    ankle_x = _hook_ankle_x(body, pose, knee_deg, _DHR_ANKLE_HALF_SEP * k_h)
    ankle_y = MAT_Y_M + body.ankle_height_m

    # per frame: the turn of each leg, signed + toward the body's right (+z)
    turn = {s: np.zeros(n) for s in SIDES}
    for side in SIDES:  # `side` = the way the knees drop
        a = plan.activation(side) * plan.amplitude(side)
        sgn = SIDE_SIGN[side]
        for leg in SIDES:
            lag = _DHR_TOP_LAG if plan.fault == "knees_apart" and leg != side else 1.0
            turn[leg] = turn[leg] + sgn * _DHR_LEG_DEG * lag * a
    sway = _sway(t, plan.rng_seed, 1.5)
    mean_turn = 0.5 * (turn["left"] + turn["right"])
    roll = -_DHR_PELVIS_SHARE * mean_turn  # knees to the left (-z) lift the right hip: + roll
    chest_roll = np.zeros(n)
    if plan.fault == "shoulders_lift":
        for side in SIDES:
            chest_roll = chest_roll - SIDE_SIGN[side] * _DHR_CHEST_ROLL_DEG * plan.activation(side) * plan.amplitude(side)
    pose = replace(pose, pelvis_roll_deg=roll, spine_rotation_deg=roll - chest_roll,
                   neck_rotation_deg=-np.clip(mean_turn / _DHR_LEG_DEG, -1, 1) * _DHR_HEAD_DEG
                   + _sway(t, plan.rng_seed + 3, 3.0, 0.11))
    pose = plant(body, pose, MAT_Y_M, ("pelvis", "chest", "abdomen"))

    # knee targets: the resting knees (touching) turned about the long axis at ankle height
    rest = replace(pose, pelvis_roll_deg=np.zeros(n), spine_rotation_deg=np.zeros(n))
    centre = np.stack([np.zeros(n), np.full(n, ankle_y), np.zeros(n)], axis=-1)
    mean_u = np.clip(np.abs(mean_turn) / _DHR_LEG_DEG, 0, 1.2)
    knees: dict[str, np.ndarray] = {}
    ankles: dict[str, np.ndarray] = {}
    # first pass: each leg on its own; second pass: the top leg (away from the turn) rests its knee
    # and foot on the bottom leg's, as solved in the first pass (the bottom leg comes out the same)
    bottom = np.where(mean_turn < 0, "left", "right")
    for order in (0, 1):
        for leg in SIDES:
            s = SIDE_SIGN[leg]
            is_bottom = bottom == leg
            ankle_rest = np.stack([ankle_x, np.full(n, ankle_y), np.full(n, s * _DHR_ANKLE_HALF_SEP * k_h)], axis=-1)
            # resting knee: where the leg IK puts it, pulled in to touch the other knee
            tmp = solve_leg(body, rest, leg, ankle_rest, np.broadcast_to(np.array([0.35, 1.0, 0.0]), (n, 3)))
            knee_rest = forward_kinematics(body, tmp).joints[f"{leg}_knee"].copy()
            knee_rest[:, 2] = s * _DHR_KNEE_HALF_SEP * k_h
            target = _rot_about_x(knee_rest, centre, turn[leg] + sway)
            if order == 1 and plan.fault != "knees_apart":
                # the top knee rests on the bottom one: their touching offset turns with the legs
                o = _other(leg)
                gap = np.broadcast_to(np.array([0.0, 0.0, s * 2 * _DHR_KNEE_HALF_SEP * k_h]), (n, 3))
                stacked = knees[o] + _rot_about_x(gap, np.zeros((n, 3)), turn[o] + sway)
                w = np.clip(2 * mean_u, 0, 1)[:, None]
                target = np.where(is_bottom[:, None], target, (1 - w) * target + w * stacked)
            # the feet roll onto their edges toward the turn; the top foot comes up onto the bottom one
            u = np.clip(np.abs(turn[leg]) / _DHR_LEG_DEG, 0, 1.2)[:, None]
            toward = np.sign(turn[leg])[:, None]
            ankle = ankle_rest + u * np.concatenate([np.zeros((n, 1)), np.full((n, 1), -0.015 * k_h),
                                                     toward * 0.035 * k_h], axis=-1)
            if order == 1:
                o = _other(leg)
                gap = np.broadcast_to(np.array([0.0, 0.0, s * 2 * _DHR_ANKLE_HALF_SEP * k_h]), (n, 3))
                on_top = ankles[o] + _rot_about_x(gap, np.zeros((n, 3)), 0.8 * (turn[leg] + sway))
                w = 0.7 * np.clip(u, 0, 1)
                ankle = np.where(is_bottom[:, None], ankle, (1 - w) * ankle + w * on_top)
            ankles[leg] = ankle
            hip = forward_kinematics(body, pose).joints[f"{leg}_hip"]
            pose = solve_leg(body, pose, leg, ankle, target - hip, foot_dir=np.array([1.0, 0.0, 0.0]))
            knees[leg] = forward_kinematics(body, pose).joints[f"{leg}_knee"]
    # arms out to the sides, hands resting on the mat (they slide out during the setup); the hands
    # stay put even if the chest rolls
    abd = 12.0 + 53.0 * setup
    arms = rest
    for side in SIDES:
        arms = arms.with_side(side, shoulder_abduction_deg=abd, shoulder_flexion_deg=np.full(n, -6.0),
                              elbow_flexion_deg=np.full(n, 8.0))
    wrists = forward_kinematics(body, arms).joints
    for side in SIDES:
        pole = np.broadcast_to(np.array([-0.3, 1.0, 0.0]), (n, 3))
        pose = solve_arm(body, pose, side, wrists[f"{side}_wrist"], pole)
    pose = rest_head(body, pose, MAT_Y_M)

    keyframed = {"left_leg_turn_deg": turn["left"], "right_leg_turn_deg": turn["right"],
                 "chest_roll_deg": chest_roll}
    fault_side = "working" if plan.fault else None
    sk = forward_kinematics(body, pose)
    xs = sk.landmarks_m[..., 0]
    props = tuple(mat(float(xs.min()) - 0.25, float(xs.max()) + 0.3, z_half_m=0.5 * k_h + 0.3))
    return Motion(pose, props, keyframed, fault_side)


DOUBLE_HIP_ROTATION = ExerciseProgram(
    id="double_hip_rotation",
    title="Double hip rotation",
    posture="supine",
    unilateral=True,
    faults=(
        FaultSpec("knees_apart", "the top knee turns only half as far as the bottom one: the knees part ~25 cm",
                  "{side}_leg_turn_deg"),
        FaultSpec("shoulders_lift", "the chest rolls ~24 deg after the legs: the far shoulder lifts off the mat",
                  "chest_roll_deg"),
    ),
    timing=RepTiming(up_s=3.0, hold_s=23.0, down_s=3.0, pause_s=3.0),
    motion=_double_hip_rotation_motion,
    setup_s=1.5,
    switch_s=3.0,
    side_elevation_deg=60.0,  # "front": from high up at the feet end, looking down along the body
    oblique_deg=(35.0, 55.0),
    view="front",
)

# --------------------------------------------------------------------------- supine figure four

_F4_PULL_HIP_DEG = 108.0  # the held thigh is pulled toward the chest to this hip flexion
_F4_PULL_KNEE_DEG = 95.0
_F4_CURL_DEG = 55.0  # shoulders_lift: the upper back curls up off the mat (spine flexion, neck follows)


def _figure_four_motion(body: BodyShape, plan: Plan) -> Motion:
    """Hook-lying; one ankle crosses onto the other knee, then both hands pull that (other) thigh in.

    The rep side is the crossed leg (the hip that is stretched). First half of the way up: the
    crossed foot lifts over and its ankle comes to rest on the other thigh just above the knee,
    the knee falling out to the side; second half: the other foot leaves the mat and the hands,
    behind that thigh, pull it toward the chest. Down is the reverse.
    """
    t = plan.t_s
    n = t.size
    h = body.height_m
    k_h = h / 1.7
    pose = _supine_base(body, n)
    setup = plan.setup()
    knee_rest = 95.0 - 8.0 * (1 - setup)  # the feet shuffle in a little during the setup
    half_sep = 0.085 * k_h
    ankle_x = _hook_ankle_x(body, pose, knee_rest, half_sep)
    ankle_y = MAT_Y_M + body.ankle_height_m
    curl = np.zeros(n)
    cross = {s: np.zeros(n) for s in SIDES}  # crossing progress of each leg (0..1)
    pull = {s: np.zeros(n) for s in SIDES}  # pull progress of each leg's thigh (0..1)
    for side in SIDES:
        a = plan.activation(side)
        amp = plan.amplitude(side)
        cross[side] = np.clip(2 * a, 0, 1)
        pull[_other(side)] = pull[_other(side)] + np.clip(2 * a - 1, 0, 1) * amp
        if plan.fault == "shoulders_lift":
            curl = curl + _F4_CURL_DEG * np.clip(2 * a - 1, 0, 1)
    curl = curl + np.abs(_sway(t, plan.rng_seed + 5, 1.0))
    pose = replace(pose, spine_flexion_deg=curl, neck_flexion_deg=np.asarray(pose.neck_flexion_deg) + 0.25 * curl)
    pose = plant(body, pose, MAT_Y_M, ("pelvis",))

    # every leg first as if resting in hook-lying (feet flat): the IK gives the resting angles
    rest_pole = np.broadcast_to(np.array([0.35, 1.0, 0.0]), (n, 3))
    for side in SIDES:
        target = np.stack([ankle_x, np.full(n, ankle_y), np.full(n, SIDE_SIGN[side] * half_sep)], axis=-1)
        pose = solve_leg(body, pose, side, target, rest_pole, foot_dir=np.array([1.0, 0.0, 0.0]))
    # the pulled thigh: blend the resting angles toward the pulled ones (the foot leaves the mat)
    sway = _sway(t, plan.rng_seed, 2.0)
    for side in SIDES:
        p = min_jerk(pull[side])
        hip0, knee0 = np.asarray(pose.side(side, "hip_flexion_deg")), np.asarray(pose.side(side, "knee_flexion_deg"))
        pose = pose.with_side(side, hip_flexion_deg=hip0 + (_F4_PULL_HIP_DEG + sway - hip0) * p,
                              knee_flexion_deg=knee0 + (_F4_PULL_KNEE_DEG - knee0) * p,
                              hip_abduction_deg=np.asarray(pose.side(side, "hip_abduction_deg")) * (1 - p),
                              hip_rotation_deg=np.asarray(pose.side(side, "hip_rotation_deg")) * (1 - p),
                              ankle_dorsiflexion_deg=np.asarray(pose.side(side, "ankle_dorsiflexion_deg")) * (1 - p))
    sk = forward_kinematics(body, pose)
    # the crossed leg: its ankle travels up and over onto the other thigh, just above the knee
    for side in SIDES:
        c = cross[side]
        if not np.any(c > 0):
            continue
        o = _other(side)
        s = SIDE_SIGN[side]
        thigh = sk.frames[f"{o}_thigh"]  # columns: anterior, along the thigh (toward the hip), lateral
        on_knee = sk.joints[f"{o}_knee"] + np.einsum("nij,j->ni", thigh, np.array([0.075, 0.07, 0.0]) * k_h)
        floor = np.stack([ankle_x, np.full(n, ankle_y), np.full(n, s * half_sep)], axis=-1)
        w = min_jerk(c)[:, None]
        lift = (np.sin(np.pi * np.clip(c, 0, 1)) * 0.12 * k_h)[:, None] * np.array([0.0, 1.0, 0.0])
        target = (1 - w) * floor + w * on_knee + lift
        pole = (1 - w) * np.array([0.35, 1.0, 0.0]) + w * np.array([0.25, 0.55, s * 1.0])
        crossed = solve_leg(body, pose, side, target, pole)
        # the crossed foot relaxes (a little plantar flexion) once it is off the mat
        dors = np.asarray(pose.side(side, "ankle_dorsiflexion_deg")) * (1 - w[:, 0]) + 5.0 * w[:, 0]
        sel = c > 0
        pose = pose.with_side(side, **{k: np.where(sel, np.asarray(crossed.side(side, k)), np.asarray(pose.side(side, k)))
                                       for k in ("hip_flexion_deg", "hip_abduction_deg", "hip_rotation_deg",
                                                 "knee_flexion_deg")},
                              ankle_dorsiflexion_deg=np.where(sel, dors, np.asarray(pose.side(side, "ankle_dorsiflexion_deg"))))
    sk = forward_kinematics(body, pose)
    # hands: along the body on the mat at rest; during the pull they hold the back of the pulled thigh
    held = np.zeros(n)
    grip = {sd: np.zeros((n, 3)) for sd in SIDES}
    for side in SIDES:  # `side` = the pulled (other) thigh
        p = np.clip(pull[side] * 1.6, 0, 1)
        s = SIDE_SIGN[side]
        thigh = sk.frames[f"{side}_thigh"]
        mid = sk.joints[f"{side}_hip"] + 0.62 * (sk.joints[f"{side}_knee"] - sk.joints[f"{side}_hip"])
        for hand in SIDES:
            lateral = 0.065 * k_h * (1 if hand == side else -1) * s
            g = mid + np.einsum("nij,j->ni", thigh, np.array([-0.035 * k_h, 0.0, lateral]))
            grip[hand] = grip[hand] + p[:, None] * g
        held = held + p
    arms = replace(pose, **{f"{sd}_shoulder_abduction_deg": np.full(n, 12.0) for sd in SIDES},
                   **{f"{sd}_elbow_flexion_deg": np.full(n, 8.0) for sd in SIDES})
    rest_wrists = forward_kinematics(body, arms).joints
    for hand in SIDES:
        w = min_jerk(np.clip(held, 0, 1))[:, None]
        target = (1 - w) * rest_wrists[f"{hand}_wrist"] + w * grip[hand] + (np.sin(np.pi * w) * 0.08 * k_h) * np.array([0.0, 1.0, 0.0])
        pole = np.broadcast_to(np.array([-0.2, 0.2, SIDE_SIGN[hand] * 1.0]), (n, 3))
        pose = solve_arm(body, pose, hand, target, pole)
    pose = replace(pose, neck_rotation_deg=_sway(t, plan.rng_seed + 2, 4.0, 0.11))
    pose = rest_head(body, pose, MAT_Y_M) if plan.fault != "shoulders_lift" else _curled_head(body, pose, curl)
    # between the sides the person turns round on the mat (head where the feet were), so the leg
    # that crosses is always the one nearer the camera, as the spec's camera advice asks; lying on
    # the back, the pelvis obliquity turns the whole body about the vertical
    sides = [r.side for r in plan.reps]
    if len(set(sides)) > 1:
        first_end = max(r.end_s for r in plan.reps if r.side == sides[0])
        second_start = min(r.start_s for r in plan.reps if r.side != sides[0])
        turn = 180.0 * min_jerk((t - first_end - 0.6) / max(second_start - first_end - 1.2, 0.5))
        pose = replace(pose, pelvis_obliquity_deg=np.asarray(pose.pelvis_obliquity_deg) + turn)

    keyframed = {"upper_back_curl_deg": curl}
    fault_side = "working" if plan.fault else None
    sk = forward_kinematics(body, pose)
    xs = sk.landmarks_m[..., 0]
    props = tuple(mat(float(xs.min()) - 0.25, float(xs.max()) + 0.3))
    return Motion(pose, props, keyframed, fault_side)


def _curled_head(body: BodyShape, pose: Pose, curl: np.ndarray) -> Pose:
    """With the upper back curled up the head comes up with it (chin toward the chest), off the mat."""
    flat = rest_head(body, pose, MAT_Y_M)
    w = np.clip(curl / _F4_CURL_DEG, 0, 1)
    nf = np.asarray(flat.neck_flexion_deg) * (1 - w) + np.asarray(pose.neck_flexion_deg) * w
    return replace(pose, neck_flexion_deg=nf)


SUPINE_FIGURE_FOUR = ExerciseProgram(
    id="supine_figure_four",
    title="Lying figure-four stretch",
    posture="supine",
    unilateral=True,
    faults=(
        FaultSpec("shoulders_lift", "head and shoulders curl up off the mat (upper back ~55 deg) while pulling",
                  "upper_back_curl_deg"),
    ),
    timing=RepTiming(up_s=4.0, hold_s=23.0, down_s=3.5, pause_s=3.0),
    motion=_figure_four_motion,
    setup_s=1.5,
    switch_s=6.0,  # turning round on the mat between the sides
    side_elevation_deg=30.0,
    oblique_deg=(70.0, 25.0),
    view="side",
)

# --------------------------------------------------------------------------- standing IT band stretch

_IT_CROSS_BEHIND_M = 0.13  # the crossed foot ends this far behind the standing foot
_IT_CROSS_OVER_M = 0.10  # ... and this far past it, toward the lean side
_IT_HIP_OUT_M = 0.14  # the pelvis shifts this far toward the crossed side ("push your hip out")
_IT_NO_PUSH_M = 0.0  # hip_not_pushed_out: the pelvis stays over the feet
_IT_LEAN_DEG = 16.0  # the trunk bends sideways toward the support
_IT_OBLIQUITY_DEG = 5.0  # the pelvis tilts toward the lean: the crossed side's hip rises a little
_IT_SUPPORT_Z_M = 0.62  # the supports (chair backs) stand this far to each side of the body's centre


def _it_band_motion(body: BodyShape, plan: Plan) -> Motion:
    """Standing facing the camera between two chair backs; one leg crosses behind the other, the hip
    pushes out toward it and the trunk leans the other way, the hand on that side resting on the chair.

    The rep side is the crossed leg (its hip is stretched). The feet are fixed IK targets; the hip
    height follows the crossed leg's reach (knee almost straight); the standing knee softens.
    """
    t = plan.t_s
    n = t.size
    h = body.height_m
    k_h = h / 1.7
    leg = body.thigh_m + body.shank_m
    half = body.hip_sep_m / 2 + 0.01 * k_h  # feet about hip-width apart
    ankle_y = body.ankle_height_m
    shift = np.zeros(n)
    lateral = np.zeros(n)  # spine lateral bend, + toward the right
    obliquity = np.zeros(n)
    feet = {sd: np.stack([np.zeros(n), np.full(n, ankle_y), np.full(n, SIDE_SIGN[sd] * half)], axis=-1) for sd in SIDES}
    reach = {sd: np.zeros(n) for sd in SIDES}  # how far each hand is on its way to the support
    push = _IT_NO_PUSH_M if plan.fault == "hip_not_pushed_out" else _IT_HIP_OUT_M
    for side in SIDES:
        a = plan.activation(side)
        amp = plan.amplitude(side)
        sgn = SIDE_SIGN[side]
        o = _other(side)
        step = min_jerk(np.clip(2.2 * a, 0, 1))  # the foot crosses first, then the lean
        lean = min_jerk(np.clip(2 * a - 0.8, 0, 1)) * amp
        # the crossed foot: lifted a little on the way, set down behind and past the other one
        target = np.array([-_IT_CROSS_BEHIND_M * k_h, 0.0, -sgn * (half + _IT_CROSS_OVER_M * k_h)])
        start = np.array([0.0, 0.0, sgn * half])
        path = start + step[:, None] * (target - start)
        path[:, 1] += ankle_y + 0.06 * k_h * np.sin(np.pi * step)
        on = a > 0
        feet[side] = np.where(on[:, None], path, feet[side])
        shift = shift + sgn * push * k_h * lean
        lateral = lateral - sgn * _IT_LEAN_DEG * lean
        obliquity = obliquity - sgn * _IT_OBLIQUITY_DEG * lean
        reach[o] = reach[o] + min_jerk(np.clip(2.5 * a - 0.3, 0, 1))
    sway = _sway(t, plan.rng_seed, 0.006 * k_h)
    # hip height: the crossed (longer) reach keeps its knee nearly straight
    root_z = shift + sway
    dz = np.max(np.stack([np.abs(feet[sd][:, 2] - (root_z + SIDE_SIGN[sd] * body.hip_sep_m / 2)) for sd in SIDES]), axis=0)
    dx = np.max(np.stack([np.abs(feet[sd][:, 0]) for sd in SIDES]), axis=0)
    root_y = ankle_y + np.sqrt(np.maximum((0.992 * leg) ** 2 - dz ** 2 - dx ** 2, 0.1))
    pose = Pose(root_x_m=-0.3 * np.max(np.stack([np.abs(feet[sd][:, 0]) for sd in SIDES]), axis=0),
                root_y_m=root_y, root_z_m=root_z, pelvis_obliquity_deg=obliquity,
                spine_lateral_deg=lateral + _sway(t, plan.rng_seed + 1, 0.8),
                neck_flexion_deg=np.full(n, 4.0), neck_rotation_deg=_sway(t, plan.rng_seed + 2, 3.0, 0.11)).broadcast(n)
    for sd in SIDES:
        pole = np.broadcast_to(np.array([1.0, 0.0, SIDE_SIGN[sd] * 0.1]), (n, 3))
        pose = solve_leg(body, pose, sd, feet[sd], pole, foot_dir=np.array([1.0, 0.0, 0.0]))
    # hands: hanging at the sides; on the lean side the hand rests on the chair back's rail
    back_h = 0.53 * h
    for sd in SIDES:
        hang = replace(pose, **{f"{sd}_shoulder_abduction_deg": np.full(n, 8.0), f"{sd}_elbow_flexion_deg": np.full(n, 10.0),
                                f"{sd}_shoulder_flexion_deg": np.full(n, 3.0)})
        hang_wrist = forward_kinematics(body, hang).joints[f"{sd}_wrist"]
        rail = np.broadcast_to(np.array([0.0, back_h + 0.03 * k_h, SIDE_SIGN[sd] * (_IT_SUPPORT_Z_M - 0.17) * k_h]), (n, 3))
        w = np.clip(reach[sd], 0, 1)[:, None]
        target = (1 - w) * hang_wrist + w * rail
        pole = np.broadcast_to(np.array([-0.5, -0.3, SIDE_SIGN[sd] * 1.0]), (n, 3))
        pose = solve_arm(body, pose, sd, target, pole)
    keyframed = {"pelvis_shift_m": shift, "trunk_side_bend_deg": lateral}
    fault_side = "working" if plan.fault else None
    props = tuple(b for sd in SIDES for b in chair(-0.05 * k_h, SIDE_SIGN[sd] * _IT_SUPPORT_Z_M * k_h, -1.0,
                                                    seat_h_m=0.27 * h, back_h_m=back_h))
    return Motion(pose, props, keyframed, fault_side)


STANDING_IT_BAND_STRETCH = ExerciseProgram(
    id="standing_it_band_stretch",
    title="Standing IT band stretch",
    posture="standing",
    unilateral=True,
    faults=(
        FaultSpec("hip_not_pushed_out", "leg crossed and trunk leaning, but the pelvis stays over the feet "
                  "(no 14 cm shift toward the crossed side)", "pelvis_shift_m"),
    ),
    timing=RepTiming(up_s=2.5, hold_s=23.0, down_s=2.2, pause_s=3.0),
    motion=_it_band_motion,
    setup_s=1.2,
    switch_s=3.0,
    side_elevation_deg=8.0,
    oblique_deg=(35.0, 10.0),
    view="front",
)

PROGRAMS: tuple = (SUPINE_FIGURE_FOUR, DOUBLE_HIP_ROTATION, STANDING_IT_BAND_STRETCH)
