"""Sitting and kneeling: butterfly stretch, seated figure four, kneeling hip flexor stretch.

All three are holds: one rep = move into the stretch, hold it (``timing.hold_s`` is the spec's
target), come back out. Each clip starts with a setup movement into the start position that
must not count.
"""

from __future__ import annotations

import numpy as np

from formcheck.synth.body import SIDE_SIGN, SIDES, BodyShape, Pose, forward_kinematics, solve_arm, solve_leg
from formcheck.synth.exercises import (ExerciseProgram, FaultSpec, Motion, Plan, RepTiming, _sway, min_jerk)
from formcheck.synth.postures import MAT_Y_M, plant
from formcheck.synth.render import chair, mat

# --------------------------------------------------------------------------- butterfly stretch

# The knees hang on the circle of points a thigh from the hip and a shank from the ankle; psi is
# where on that circle, measured from straight up toward the person's side (0 = knee straight
# up over the hip-ankle line, 90 = level with it, out to the side).
_BF_PSI_REST_DEG = 35.0  # soles together, knees up and a little open
_BF_PSI_TOP_DEG = 70.0  # knees pressed down: ~18 cm above the floor (a moderately flexible adult)
_BF_HEEL_FWD = {None: 0.30, "heels_far": 0.58}  # ankles in front of the hip joints, metres at 1.70 m
_BF_ANKLE_Z = 0.045  # half the gap between the ankles (soles touching)
_BF_LEAN_DEG = 6.0  # a little forward lean of the whole trunk as the elbows press (a straight back)
_BF_SLUMP_SPINE_DEG = 50.0  # back_rounded: the spine curls forward...
_BF_SLUMP_PELVIS_DEG = -4.0  # ...while the pelvis rolls back: trunk line ~20 deg forward (~5 correct)


def _butterfly_motion(body: BodyShape, plan: Plan) -> Motion:
    """Sitting on a mat, front view: legs slide in from outstretched to soles together, then the knees drop and hold."""
    t = plan.t_s
    n = t.size
    h = body.height_m
    k_h = h / 1.7
    s = plan.activation()
    amp = plan.amplitude()
    setup = plan.setup()
    slide = min_jerk(np.clip(1.25 * np.asarray(setup), 0, 1))  # the heels arrive first, then the knees open
    heel_fwd = _BF_HEEL_FWD.get(plan.fault, _BF_HEEL_FWD[None]) * k_h

    pitch = _BF_LEAN_DEG * s * amp + _sway(t, plan.rng_seed, 0.8)
    spine = np.zeros(n)
    neck = 5.0 + np.zeros(n)
    if plan.fault == "back_rounded":
        # a slump for the whole hold: it sets in as the knees go down and stays
        spine = _BF_SLUMP_SPINE_DEG * s
        pitch = pitch + (_BF_SLUMP_PELVIS_DEG - _BF_LEAN_DEG * amp) * s
        neck = neck - 15.0 * s  # the head juts forward, eyes on the feet
    pose = Pose(root_x_m=_sway(t, plan.rng_seed + 1, 0.004), root_y_m=0.12 * k_h, pelvis_pitch_deg=pitch,
                spine_flexion_deg=spine, neck_flexion_deg=neck,
                neck_rotation_deg=_sway(t, plan.rng_seed + 2, 3.0, 0.09)).broadcast(n)
    sk = forward_kinematics(body, pose)
    leg = body.thigh_m + body.shank_m
    psi_deg = (setup * _BF_PSI_REST_DEG + (_BF_PSI_TOP_DEG - _BF_PSI_REST_DEG) * s * amp
               + _sway(t, plan.rng_seed + 3, 1.0))
    psi = np.radians(psi_deg)
    for side in SIDES:
        sg = SIDE_SIGN[side]
        hip = sk.joints[f"{side}_hip"]
        # from outstretched (heels on the floor a leg's length ahead) to soles together
        x_far = hip[:, 0] + 0.98 * leg
        ax = x_far + (heel_fwd - x_far) * slide
        az = hip[:, 2] + (sg * _BF_ANKLE_Z * k_h - hip[:, 2]) * slide
        ay = np.full(n, 0.075 * k_h) + (0.06 - 0.075) * k_h * slide
        target = np.stack([ax, ay, az], axis=-1)
        pole = np.stack([np.full(n, 0.15), np.cos(psi), sg * np.sin(psi)], axis=-1)
        toe = np.stack([0.25 + 0.75 * slide, 1.0 - 1.1 * slide, np.zeros(n)], axis=-1)  # toes up -> forward
        pose = solve_leg(body, pose, side, target, pole, foot_dir=toe)
    pose = plant(body, pose, MAT_Y_M, ("pelvis",))
    sk = forward_kinematics(body, pose)
    # hands: on the floor beside the hips, then they take hold of the feet; the elbows rest on the thighs
    for side in SIDES:
        sg = SIDE_SIGN[side]
        ank = sk.joints[f"{side}_ankle"]
        hip = sk.joints[f"{side}_hip"]
        floor = np.stack([hip[:, 0] - 0.06 * k_h, np.full(n, MAT_Y_M + 0.10 * k_h), hip[:, 2] + sg * 0.17 * k_h], -1)
        feet = ank + np.array([0.05, 0.05, 0.0]) * k_h + np.array([0.0, 0.0, sg * 0.04 * k_h])
        reach = min_jerk(np.clip(2.0 * np.asarray(setup) - 1.0, 0, 1))
        target = floor + (feet - floor) * reach[:, None]
        pole = np.broadcast_to(np.array([0.1, -0.6, sg * 1.0]), (n, 3))
        pose = solve_arm(body, pose, side, target, pole)
    # channels set exactly: the knee bend the leg IK solved; the trunk lean is the pelvis pitch
    # while the spine is straight (a curled spine's trunk line is only measured)
    keyframed = {f"{side}_knee_flexion_deg": np.asarray(pose.side(side, "knee_flexion_deg")).copy() for side in SIDES}
    if plan.fault != "back_rounded":
        keyframed["trunk_lean_deg"] = np.asarray(pose.pelvis_pitch_deg).copy()
    props = tuple(mat(-0.55 * k_h, 1.05 * k_h))
    return Motion(pose, props, keyframed, "both" if plan.fault else None)


BUTTERFLY_STRETCH = ExerciseProgram(
    id="butterfly_stretch",
    title="Butterfly stretch",
    posture="sitting",
    unilateral=False,
    faults=(
        FaultSpec("back_rounded", "the back curls forward (spine ~50 deg, pelvis rolled back) during the hold",
                  "trunk_lean_deg"),
        FaultSpec("heels_far", "the heels rest ~58 cm in front of the hips instead of ~30 cm",
                  "{side}_knee_flexion_deg", window="rep"),
    ),
    timing=RepTiming(up_s=2.0, hold_s=20.0, down_s=1.6, pause_s=2.5),
    motion=_butterfly_motion,
    setup_s=3.0,
    view="front",
    side_elevation_deg=20.0,  # a camera on a table or shelf, looking down at someone on the floor
    # 55 deg off the front the view check says so; the back and heel cues need the front view
    oblique_deg=(55.0, 20.0),
    oblique_outside_spec=True,
)


# --------------------------------------------------------------------------- seated figure four

_F4_LEAN_DEG = 25.0  # forward lean from the hips at the hold (pelvis and trunk tip together)
_F4_WAIST_SPINE_DEG = 50.0  # bent_at_waist: the spine curls instead...
_F4_WAIST_PELVIS_DEG = 3.0  # ...while the pelvis stays nearly upright (trunk line ~25 deg forward, as a hinge)
_F4_WAIST_NECK_DEG = 5.0  # and the head follows the curl (a hinge keeps it in line: neck -5)


def _seated_figure_four_motion(body: BodyShape, plan: Plan) -> Motion:
    """Sitting on a chair, front view: one ankle comes up onto the other knee, lean forward, hold, back.

    The first half of each rep's rise lifts the ankle onto the other knee (the hands help it up),
    the second half leans the trunk forward; the hold keeps both, and the way down reverses them.
    The crossed leg is the rep's side.
    """
    t = plan.t_s
    n = t.size
    k_h = body.height_m / 1.7
    setup = plan.setup()
    sw = _sway(t, plan.rng_seed, 0.8)
    cross = {}
    lean_s = np.zeros(n)
    for side in SIDES:
        s = plan.activation(side)
        cross[side] = min_jerk(np.clip(2.0 * s, 0, 1))
        lean_s = lean_s + min_jerk(np.clip(2.0 * s - 1.0, 0, 1)) * plan.amplitude(side)
    # setup: sitting back against the backrest with the feet forward -> upright, feet under the knees
    slouch = 1.0 - setup
    pitch = -12.0 * slouch + sw
    spine = np.zeros(n)
    neck = 5.0 + np.zeros(n)
    if plan.fault == "bent_at_waist":
        pitch = pitch + _F4_WAIST_PELVIS_DEG * lean_s
        spine = _F4_WAIST_SPINE_DEG * lean_s
        neck = neck + (_F4_WAIST_NECK_DEG - 5.0) * lean_s
    else:
        pitch = pitch + _F4_LEAN_DEG * lean_s
        neck = neck - 10.0 * lean_s  # eyes stay forward
    thigh_h = 0.60 * k_h  # hip joint height when seated (seat ~0.47 m)
    pose = Pose(root_x_m=-0.02 * k_h * slouch + _sway(t, plan.rng_seed + 1, 0.003), root_y_m=thigh_h,
                pelvis_pitch_deg=pitch, spine_flexion_deg=spine, neck_flexion_deg=neck,
                neck_rotation_deg=_sway(t, plan.rng_seed + 2, 3.0, 0.09)).broadcast(n)
    sk = forward_kinematics(body, pose)
    knee_of = {}
    lt = body.thigh_m
    # the standing legs first: thighs level on the seat, shanks vertical, feet flat
    for side in SIDES:
        sg = SIDE_SIGN[side]
        hip = sk.joints[f"{side}_hip"]
        foot_x = hip[:, 0] + lt + 0.14 * k_h * slouch  # feet forward while slouched
        target = np.stack([foot_x, np.full(n, body.ankle_height_m), hip[:, 2] + sg * 0.03 * k_h], -1)
        pole = np.broadcast_to(np.array([1.0, 0.2, sg * 0.15]), (n, 3))
        pose_side = solve_leg(body, pose, side, target, pole, foot_dir=np.array([1.0, 0.0, 0.0]))
        pose = pose.with_side(side, **{k: np.asarray(pose_side.side(side, k)) for k in
                                       ("hip_flexion_deg", "hip_abduction_deg", "hip_rotation_deg",
                                        "knee_flexion_deg", "ankle_dorsiflexion_deg")})
    sk = forward_kinematics(body, pose)
    for side in SIDES:
        knee_of[side] = sk.joints[f"{side}_knee"].copy()
    # the crossed leg: its ankle goes onto the top of the other thigh, just behind the knee
    for side in SIDES:
        c = cross[side]
        if not np.any(c > 0):
            continue
        sg = SIDE_SIGN[side]
        other = "right" if side == "left" else "left"
        ank0 = sk.joints[f"{side}_ankle"]
        on_knee = knee_of[other] + np.array([-0.05 * k_h, 0.085 * k_h, 0.0])
        # the foot rises in an arc (up first, then across) so it clears the other knee
        lift = np.sin(np.pi * np.clip(c, 0, 1)) * 0.08 * k_h
        target = ank0 + (on_knee - ank0) * c[:, None] + np.stack([np.zeros(n), lift, np.zeros(n)], -1)
        pole = np.stack([np.full(n, 1.0), 0.2 + 0.3 * c, sg * (0.15 + 1.2 * c)], -1)
        foot = np.stack([np.ones(n), -0.3 * c, -sg * 0.6 * c], -1)
        pose_side = solve_leg(body, pose, side, target, pole, foot_dir=foot)
        on = c > 0
        for k in ("hip_flexion_deg", "hip_abduction_deg", "hip_rotation_deg", "knee_flexion_deg",
                  "ankle_dorsiflexion_deg"):
            v = np.asarray(pose.side(side, k)).copy()
            v[on] = np.asarray(pose_side.side(side, k))[on]
            pose = pose.with_side(side, **{k: v})
    sk = forward_kinematics(body, pose)
    # hands: on the thighs at rest; with a leg crossed, one presses its knee, the other holds its ankle
    for side in SIDES:
        sg = SIDE_SIGN[side]
        rest = sk.joints[f"{side}_knee"] + np.array([-0.12 * k_h, 0.08 * k_h, 0.0])
        target = rest.copy()
        for crossed in SIDES:
            c = cross[crossed]
            if not np.any(c > 0):
                continue
            if side == crossed:
                goal = sk.joints[f"{crossed}_knee"] + np.array([-0.02, 0.09, 0.0]) * k_h
            else:
                goal = sk.joints[f"{crossed}_ankle"] + np.array([0.0, 0.07, 0.0]) * k_h
            target = target + (goal - target) * c[:, None]
        pole = np.broadcast_to(np.array([-0.3, -0.5, sg * 1.0]), (n, 3))
        pose = solve_arm(body, pose, side, target, pole)
    # channels set exactly: the knee bends the leg IK solved; the trunk lean is the pelvis pitch
    # while the spine is straight (a curled spine's trunk line is only measured)
    keyframed = {f"{side}_knee_flexion_deg": np.asarray(pose.side(side, "knee_flexion_deg")).copy() for side in SIDES}
    if plan.fault != "bent_at_waist":
        keyframed["trunk_lean_deg"] = np.asarray(pitch).copy()
    props = tuple(chair(-0.16 * k_h, 0.0, 1.0, seat_h_m=thigh_h - 0.09 * k_h, back_h_m=thigh_h + 0.40 * k_h,
                        depth_m=0.42 * k_h))
    fault_side = "working" if plan.fault else None
    return Motion(pose, props, keyframed, fault_side)


SEATED_FIGURE_FOUR = ExerciseProgram(
    id="seated_figure_four",
    title="Seated figure four stretch",
    posture="sitting",
    unilateral=True,
    faults=(
        FaultSpec("bent_at_waist", "the lean comes from the spine curling (~50 deg) with the pelvis upright, "
                  "head following", "trunk_lean_deg"),
    ),
    timing=RepTiming(up_s=3.0, hold_s=30.0, down_s=2.5, pause_s=2.0),
    motion=_seated_figure_four_motion,
    setup_s=1.5,
    switch_s=2.0,
    # from the front the crossed shank lies across the other knee, whichever leg it is; from the
    # side the far leg's crossing hides behind the near knee and MediaPipe mixes the legs up
    view="front",
    side_elevation_deg=8.0,
)


# --------------------------------------------------------------------------- kneeling hip flexor stretch

# the kneeling (back) thigh against the vertical, + = the hips ahead of the knee
_KHF_THIGH_REST_DEG = 3.0
_KHF_THIGH_TOP_DEG = {None: 24.0, "trunk_lean": 18.0}  # leaning the trunk, the hips move forward less
_KHF_LEAN_DEG = 32.0  # trunk_lean: the trunk tips forward at the hold instead of staying upright


def _kneeling_hip_flexor_motion(body: BodyShape, plan: Plan) -> Motion:
    """Half-kneeling on a mat, side view: the hips glide forward over the front foot, hold, glide back.

    The rep's side is the kneeling (back) leg, whose hip is stretched. The clip starts in tall
    kneeling and steps the front foot forward; between sides the front leg kneels back down and
    the other foot steps forward.
    """
    t = plan.t_s
    n = t.size
    h = body.height_m
    k_h = h / 1.7
    lt, ls = body.thigh_m, body.shank_m
    first = plan.reps[0].side
    second = "right" if first == "left" else "left"
    # kneel weight per leg: 1 = knee down on the mat (the back leg), 0 = foot planted in front
    kneel = {first: np.ones(n), second: np.ones(n)}
    setup = plan.setup()
    kneel[second] = 1.0 - setup  # the setup: from tall kneeling the front foot steps forward
    if any(r.side == second for r in plan.reps):
        end1 = max(r.end_s for r in plan.reps if r.side == first)
        start2 = min(r.start_s for r in plan.reps if r.side == second)
        gap = start2 - end1
        # the front leg kneels back down, then the other foot steps forward, then a few seconds
        # to settle before the hips move
        down = min_jerk((t - end1 - 0.03 * gap) / (0.2 * gap))
        up = min_jerk((t - end1 - 0.23 * gap) / (0.2 * gap))
        kneel[second] = np.where(t > end1, down, kneel[second])
        kneel[first] = 1.0 - up
    # the hips glide forward over the kneeling knee (its thigh tilts forward by phi)
    phi = np.full(n, _KHF_THIGH_REST_DEG) + _sway(t, plan.rng_seed, 0.6)
    top = _KHF_THIGH_TOP_DEG.get(plan.fault, _KHF_THIGH_TOP_DEG[None])
    lean = np.zeros(n)
    for side in SIDES:
        s = plan.activation(side)
        phi = phi + (top - _KHF_THIGH_REST_DEG) * s * plan.amplitude(side)
        if plan.fault == "trunk_lean":
            lean = lean + _KHF_LEAN_DEG * s * plan.amplitude(side)
    knee_h = MAT_Y_M + 0.05 * k_h  # knee joint centre above the mat
    rad = np.radians(phi)
    hip_x, hip_y = lt * np.sin(rad), knee_h + lt * np.cos(rad)
    pitch = lean + _sway(t, plan.rng_seed + 1, 0.8)
    pose = Pose(root_x_m=hip_x, root_y_m=hip_y, pelvis_pitch_deg=pitch, neck_flexion_deg=5.0 - 0.6 * lean,
                neck_rotation_deg=_sway(t, plan.rng_seed + 2, 3.0, 0.09)).broadcast(n)
    sk = forward_kinematics(body, pose)
    front_x = lt + 0.02 * k_h  # the front foot: its shank upright at rest, the thigh about level
    for side in SIDES:
        sg = SIDE_SIGN[side]
        w = kneel[side]
        hip = sk.joints[f"{side}_hip"]
        z = sg * (body.hip_sep_m / 2 + 0.02 * k_h)
        knee_pt = np.stack([np.zeros(n), np.full(n, knee_h), np.full(n, z)], -1)
        back = knee_pt + np.array([-np.sqrt(ls ** 2 - (0.025 * k_h) ** 2), 0.025 * k_h, 0.0])
        front = np.array([front_x, body.ankle_height_m + MAT_Y_M, 0.0]) + np.array([0.0, 0.0, z + sg * 0.03 * k_h])
        lift = np.sin(np.pi * w) * 0.15 * k_h
        target = front + (back - front) * w[:, None] + np.stack([np.zeros(n), lift, np.zeros(n)], -1)
        pole_back = knee_pt - hip
        pole_front = np.broadcast_to(np.array([1.0, 0.4, 0.0]), (n, 3))
        pole = pole_front + (pole_back - pole_front) * w[:, None]
        foot = np.array([1.0, 0.0, 0.0]) + (np.array([-1.0, -0.35, 0.0]) - np.array([1.0, 0.0, 0.0])) * w[:, None]
        foot = foot + np.array([0.0, 0.6, 0.0]) * np.sin(np.pi * w)[:, None]  # no zero vector mid-way
        pose = solve_leg(body, pose, side, target, pole, foot_dir=foot)
    sk = forward_kinematics(body, pose)
    # hands rest on the front knee (both); in tall kneeling, on the hips
    for side in SIDES:
        sg = SIDE_SIGN[side]
        target = sk.joints["pelvis"] + np.array([0.02, 0.10, sg * 0.20]) * k_h
        for leg in SIDES:
            f = (1.0 - kneel[leg])[:, None]
            on_knee = sk.joints[f"{leg}_knee"] + np.array([-0.03, 0.09, sg * 0.05]) * k_h
            target = target + (on_knee - target) * f
        pole = np.broadcast_to(np.array([-0.5, -0.3, sg * 1.0]), (n, 3))
        pose = solve_arm(body, pose, side, target, pole)
    keyframed = {"trunk_lean_deg": np.asarray(pitch).copy()}
    for side in SIDES:
        keyframed[f"{side}_hip_flexion_deg"] = np.asarray(pose.side(side, "hip_flexion_deg")).copy()
    props = tuple(mat(-0.75 * k_h, 0.85 * k_h))
    fault_side = "working" if plan.fault else None
    return Motion(pose, props, keyframed, fault_side)


KNEELING_HIP_FLEXOR_STRETCH = ExerciseProgram(
    id="kneeling_hip_flexor_stretch",
    title="Kneeling hip flexor stretch",
    posture="kneeling",
    unilateral=True,
    faults=(
        FaultSpec("trunk_lean", "the trunk tips ~32 deg forward at the hold while the hips glide forward less",
                  "trunk_lean_deg"),
    ),
    timing=RepTiming(up_s=2.0, hold_s=30.0, down_s=1.8, pause_s=2.0),
    motion=_kneeling_hip_flexor_motion,
    setup_s=1.8,
    switch_s=7.5,  # kneel down, step the other foot forward, settle ~4 s
    view="side",
    side_elevation_deg=8.0,
    # kneeling upright is judged side-on (within ~35 deg); 45 deg off, the view check objects
    oblique_deg=(62.0, 15.0),
)


PROGRAMS: tuple[ExerciseProgram, ...] = (BUTTERFLY_STRETCH, SEATED_FIGURE_FOUR, KNEELING_HIP_FLEXOR_STRETCH)
