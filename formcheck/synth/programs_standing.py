"""Standing exercises beyond the first three: hip abduction (front view) and hip circles (side view).

(Standing hip flexion keeps its program in ``exercises.py``; its spec asks for the working leg
nearest the camera, see ``exercise_specs/standing_hip_flexion.yaml``.)

Hip abduction is filmed from the front, standing between two chairs with a hand on each chair
back (article 001: "grab a steady object ... by extending your arm"; 003: "hold onto a support").
The chairs stand beside and a little behind the body with their seats toward the back, so a leg
swinging out to the side passes in front of them and the camera sees both legs whole: a single
chair beside the body would be in the way of one leg, and a chair in front (the usual "stand
behind a chair") would hide the hips and knees from a front camera.

Hip circles are filmed side-on, one hand on a kitchen counter beside the body on the far side
(003: "a countertop or chair"). The working leg is always the one nearest the camera: after the
first set the person turns round on the spot, and the counter, running front to back, is still
on the far side for the other hand.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from formcheck.synth.body import (SIDE_SIGN, SIDES, BodyShape, Pose, forward_kinematics, rot_z, solve_arm,
                                  solve_leg)
from formcheck.synth.exercises import (ExerciseProgram, FaultSpec, Motion, Plan, RepTiming, _sway, min_jerk)
from formcheck.synth.render import Box, body_primitives, chair

_SHIFT_M = 0.03  # the pelvis moves this far over the standing foot during a set
_STANCE_KNEE_DEG = 3.0  # soft standing knees
_CHAIR_X_M = -0.13  # chair backs stand just behind the heels (scaled by height / 1.7 m) ...
_CHAIR_Z_M = 0.43  # ... with their centres this far to each side of the body's midline
_FRONT_OBLIQUE = (30.0, 12.0)  # a phone a little off to one side, a little above hip height


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


def _stance_shift(plan: Plan) -> np.ndarray:
    """Lateral pelvis shift (+ = toward the body's right) over the standing foot; crosses over between sets."""
    t = plan.t_s
    first = plan.reps[0].side
    sides = [r.side for r in plan.reps]
    if len(set(sides)) > 1:
        last_first = max(r.end_s for r in plan.reps if r.side == first)
        nxt = min(r.start_s for r in plan.reps if r.side != first)
        cross = min_jerk((t - last_first - 0.2) / max(nxt - last_first - 0.4, 0.2))
        shift = -SIDE_SIGN[first] * (1 - 2 * cross)
    else:
        shift = np.full(t.shape, -SIDE_SIGN[first])
    return shift * plan.setup() * _SHIFT_M


def _standing_base(body: BodyShape, plan: Plan, lateral_lean_deg: np.ndarray) -> tuple[Pose, np.ndarray]:
    """Both feet planted hip-width apart, soft knees, weight over the standing foot; (pose, foot_z).

    ``lateral_lean_deg`` (+ = toward the body's right) tilts the trunk line by about that much: a
    sideways lean comes from the pelvis tipping (the far hip rises) and the spine bending with it;
    the planted legs take up the pelvis tilt.
    """
    t = plan.t_s
    n = t.size
    lt, ls = body.thigh_m, body.shank_m
    shift = _stance_shift(plan)
    pitch = 1.5 + _sway(t, plan.rng_seed, 0.6)
    foot_z = body.hip_sep_m / 2 + 0.01 * body.height_m / 1.7
    d = np.sqrt(lt * lt + ls * ls + 2 * lt * ls * np.cos(np.radians(_STANCE_KNEE_DEG)))
    dz = foot_z - body.hip_sep_m / 2 + np.abs(shift)
    hip_y = body.ankle_height_m + np.sqrt(d * d - dz * dz)
    pose = Pose(root_x_m=_sway(t, plan.rng_seed + 1, 0.004), root_y_m=hip_y, root_z_m=shift,
                pelvis_pitch_deg=pitch, pelvis_obliquity_deg=0.55 * lateral_lean_deg,
                spine_lateral_deg=0.9 * lateral_lean_deg + _sway(t, plan.rng_seed + 2, 0.5),
                neck_flexion_deg=np.full(n, 4.0) - 0.5 * pitch,
                neck_rotation_deg=_sway(t, plan.rng_seed + 3, 3.0, 0.09)).broadcast(n)
    for side in SIDES:
        target = np.stack([np.zeros(n), np.full(n, body.ankle_height_m), np.full(n, SIDE_SIGN[side] * foot_z)], -1)
        pole = np.broadcast_to(np.array([1.0, 0.0, SIDE_SIGN[side] * 0.05]), (n, 3))
        pose = solve_leg(body, pose, side, target, pole, foot_dir=np.array([1.0, 0.0, 0.0]))
    return pose, foot_z


def _plant_and_hold_chairs(body: BodyShape, plan: Plan, pose: Pose) -> tuple[Pose, tuple[Box, ...]]:
    """Rest the standing sole on the floor, put a hand on each chair back, and build the chairs."""
    n = plan.t_s.size
    h = body.height_m
    k_h = h / 1.7
    sk = forward_kinematics(body, pose)
    prims = {pr.part: pr for pr in body_primitives(body, sk)}
    low = np.min([np.minimum(prims[f"{sd}_foot"].lowest_y(), prims[f"{sd}_shoe_top"].lowest_y()) for sd in SIDES],
                 axis=0)
    pose = replace(pose, root_y_m=np.asarray(pose.root_y_m) - low)
    back_h = 0.53 * h
    chair_x = _CHAIR_X_M * k_h
    props: list[Box] = []
    setup = plan.setup()
    for side in SIDES:
        cz = SIDE_SIGN[side] * _CHAIR_Z_M * k_h
        props += chair(chair_x, cz, -1.0, seat_h_m=0.27 * h, back_h_m=back_h)
        # the hand grips the top rail at its inner third
        grip = np.broadcast_to(np.array([chair_x - 0.01 * k_h, back_h + 0.035 * k_h, cz - SIDE_SIGN[side] * 0.07 * k_h]),
                               (n, 3))
        pole = np.broadcast_to(np.array([-0.3, -0.4, SIDE_SIGN[side] * 1.0]), (n, 3))
        pose = solve_arm(body, pose, side, grip, pole)
        # setup: the hands come out from the sides to the chair backs
        hang = {"shoulder_flexion_deg": 0.0, "shoulder_abduction_deg": 6.0, "shoulder_rotation_deg": 0.0,
                "elbow_flexion_deg": 8.0}
        pose = pose.with_side(side, **{k: v + (np.asarray(pose.side(side, k)) - v) * setup for k, v in hang.items()})
    return pose, tuple(props)


# --------------------------------------------------------------------------- standing hip abduction


_ABD_TOP_DEG = 30.0  # "as far as comfortable": 25-35 deg of abduction for most patients
_ABD_LEAN_DEG = 15.0  # trunk_lean: the trunk leans sideways toward the standing leg


def _standing_hip_abduction_motion(body: BodyShape, plan: Plan) -> Motion:
    """Facing the camera between two chairs; one straight leg lifts out to the side, holds, returns."""
    t = plan.t_s
    fault = plan.fault
    lean = np.zeros_like(t)
    if fault == "trunk_lean":
        for side in SIDES:  # toward the standing leg, i.e. away from the working one
            lean = lean - SIDE_SIGN[side] * plan.activation(side) * _ABD_LEAN_DEG * plan.amplitude(side)
    pose, _ = _standing_base(body, plan, lean)
    keyframed: dict[str, np.ndarray] = {}
    for side in SIDES:
        s = plan.activation(side)
        amp = plan.amplitude(side)
        if fault == "trunk_lean":  # a fault's size varies less, so it stays clear
            amp = 1.0 + 0.3 * (amp - 1.0)
        abd = np.asarray(pose.side(side, "hip_abduction_deg")) + s * _ABD_TOP_DEG * amp
        # the lifted foot relaxes a little (points slightly down)
        ankle = np.asarray(pose.side(side, "ankle_dorsiflexion_deg")) - 8.0 * s
        pose = pose.with_side(side, hip_abduction_deg=abd, ankle_dorsiflexion_deg=ankle)
        keyframed[f"{side}_hip_abduction_deg"] = abd.copy()
    pose, props = _plant_and_hold_chairs(body, plan, pose)
    keyframed["trunk_lateral_lean_deg"] = lean.copy()
    fault_side = None
    if fault in ("trunk_lean", "too_fast"):
        fault_side = "working"
    return Motion(pose, props, keyframed, fault_side)


# --------------------------------------------------------------------------- standing hip circles


_CIRC_LIFT_DEG = 65.0  # thigh elevation when the knee comes up in front ("toward your chest")
_CIRC_OUT_DEG = 75.0  # how far the knee swings out: direction of the thigh, 0 = forward, 90 = sideways
_CIRC_SIDE_DROP = 0.85  # the knee sinks a little as it opens out to the side
_CIRC_LOW_LIFT_DEG = 35.0  # knee_low: the knee comes only halfway up before the leg swings out
_CIRC_LEAN_BACK_DEG = -18.0  # trunk_lean: the trunk leans back as the knee comes up
_COUNTER_Z_M = 0.40  # the countertop's near edge, this far beside the body's midline (scaled by height)
_COUNTER_H = 0.53  # countertop height, fraction of body height (about 0.9 m)
_TURN_STEP_DEG = 10.0  # small stepping-round lifts of the thigh while turning (well below a rep)


def _circle_path(phase: np.ndarray, lift_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thigh elevation and swing direction (deg) along one circle, phase 0..1."""
    up = min_jerk(phase / 0.38)
    out = min_jerk((phase - 0.30) / 0.38)
    down = min_jerk((phase - 0.62) / 0.38)
    elev = lift_deg * up * (1 - (1 - _CIRC_SIDE_DROP) * out) * (1 - down)
    swing = _CIRC_OUT_DEG * out
    return elev, swing


def counter(z_near_m: float, far_sign: float, height_m: float, x0_m: float = -0.7, x1_m: float = 0.7,
            depth_m: float = 0.55) -> list[Box]:
    """A kitchen counter running front-to-back beside the body: cabinet plus a darker worktop."""
    z0, z1 = sorted((z_near_m, z_near_m + far_sign * depth_m))
    return [Box((x0_m, 0.0, z0 + 0.03), (x1_m, height_m - 0.04, z1), (0.82, 0.78, 0.70)),
            Box((x0_m - 0.02, height_m - 0.04, z0), (x1_m + 0.02, height_m, z1), (0.35, 0.30, 0.27))]


def _turn(plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """(heading deg, turning 0..1): the second set is done after turning round on the spot."""
    t = plan.t_s
    sides = [r.side for r in plan.reps]
    if len(set(sides)) == 1:
        return np.zeros_like(t), np.zeros_like(t)
    first = sides[0]
    t0 = max(r.end_s for r in plan.reps if r.side == first) + 0.3
    t1 = min(r.start_s for r in plan.reps if r.side != first) - 0.5
    u = np.clip((t - t0) / max(t1 - t0, 0.3), 0.0, 1.0)
    # half way round the person faces the camera, hands off the counter, stepping on the spot
    return 180.0 * min_jerk(u), np.sin(np.pi * u)


def _standing_hip_circles_motion(body: BodyShape, plan: Plan) -> Motion:
    """Side-on, one hand on a counter beside the body; the near knee lifts, opens out to the side, lowers.

    The working leg is always the one nearest the camera (the spec's camera advice): after the first
    set the person turns round on the spot, so the other leg is near and the other hand takes the
    counter, which stays on the far side. The knee's path is the design (thigh elevation and swing
    direction); the shank hangs below the knee, tilted a little back, and leg IK turns that into
    hip flexion, abduction and the external rotation that opening the knee out needs.
    """
    t = plan.t_s
    n = t.size
    h = body.height_m
    k_h = h / 1.7
    fault = plan.fault
    lt, ls = body.thigh_m, body.shank_m
    leg = lt + ls
    first = plan.reps[0].side
    far_sign = -SIDE_SIGN[first]  # world z of the far side (the camera looks at the first set's leg)
    heading, turning = _turn(plan)
    setup = plan.setup()
    # per frame: which rep (if any) is running, and how far through it
    phase = np.zeros(n)
    rep_side = np.full(n, "", dtype=object)
    amp = np.ones(n)
    for r in plan.reps:
        inside = (t >= r.start_s) & (t <= r.end_s)
        phase[inside] = (t[inside] - r.start_s) / (r.end_s - r.start_s)
        rep_side[inside] = r.side
        amp[inside] = r.amplitude
    lift = (_CIRC_LOW_LIFT_DEG if fault == "knee_low" else _CIRC_LIFT_DEG) * amp
    elev, swing = _circle_path(phase, lift)
    working = plan.working_side()
    # weight over the standing (far) foot: the pelvis shifts toward the counter, less while turning
    shift_body = np.array([-SIDE_SIGN[w] for w in working]) * _SHIFT_M * setup * (1 - turning)
    # body lateral (+z of the body) in world: +z at heading 0, -z at 180
    lat_world = np.cos(np.radians(heading))
    pitch = 1.0 + _sway(t, plan.rng_seed, 0.6)
    if fault == "trunk_lean":
        pitch = pitch + _CIRC_LEAN_BACK_DEG * min_jerk(elev / 30.0) * np.clip(amp, 0.95, 1.05)
    # the pelvis pitch turns about the world's horizontal axis (pelvis_rotation applies it last): flip it
    # with the heading so + still tips the body toward its own front after turning round
    pose = Pose(root_x_m=_sway(t, plan.rng_seed + 1, 0.004), root_y_m=body.hip_height_m, root_z_m=shift_body * lat_world,
                pelvis_pitch_deg=pitch * lat_world, pelvis_roll_deg=heading,
                neck_flexion_deg=4.0 - 0.6 * (pitch - 1.0),
                neck_rotation_deg=_sway(t, plan.rng_seed + 3, 3.0, 0.09)).broadcast(n)
    add = np.degrees(np.arcsin(np.clip(np.abs(shift_body) / leg, 0, 1)))
    # small steps while turning round: first leg, other leg, first leg
    for side in SIDES:
        stance = np.array([w != side for w in working])
        abd = np.where(stance, -add, add)
        bump = np.zeros(n)
        sides_turn = [r.side for r in plan.reps]
        if len(set(sides_turn)) > 1:
            t0 = max(r.end_s for r in plan.reps if r.side == first) + 0.3
            t1 = min(r.start_s for r in plan.reps if r.side != first) - 0.5
            centres = np.linspace(t0, t1, 5)[1:-1] if side == first else np.linspace(t0, t1, 4)[1:-1] + 0.1
            for c in centres:
                bump = bump + np.exp(-0.5 * ((t - c) / 0.12) ** 2)
        thigh = pitch + _TURN_STEP_DEG * bump
        pose = pose.with_side(side, hip_flexion_deg=thigh, knee_flexion_deg=2.0 + 2.0 * _TURN_STEP_DEG * bump,
                              hip_abduction_deg=abd, ankle_dorsiflexion_deg=np.full(n, 2.0))
    sk = forward_kinematics(body, pose)
    keyframed: dict[str, np.ndarray] = {}
    for side in SIDES:
        mine = rep_side == side
        e = np.radians(np.where(mine, elev, 0.0))
        a = np.radians(np.where(mine, swing, 0.0))
        sg = SIDE_SIGN[side]
        rp = sk.frames["pelvis"]
        hip = sk.joints[f"{side}_hip"]
        thigh_b = np.stack([np.sin(e) * np.cos(a), -np.cos(e), sg * np.sin(e) * np.sin(a)], -1)
        tilt = np.radians(12.0) * np.clip(np.degrees(e) / _CIRC_LIFT_DEG, 0, 1)  # shank hangs a little back
        shank_b = np.stack([-np.sin(tilt) * np.cos(a), -np.cos(tilt), -sg * np.sin(tilt) * np.sin(a)], -1)
        # the circle is drawn relative to an upright trunk: undo the pitch so a lean back moves only the trunk
        yaw_only = np.einsum("nij,njk->nik", rot_z(pitch * lat_world), rp)
        knee_pt = hip + lt * np.einsum("nij,nj->ni", yaw_only, thigh_b)
        ankle_c = knee_pt + ls * np.einsum("nij,nj->ni", yaw_only, shank_b)
        ankle_rest = sk.joints[f"{side}_ankle"]
        w = min_jerk(np.degrees(e) / 10.0)[:, None]  # leave the planted foot smoothly
        target = (1 - w) * ankle_rest + w * ankle_c
        pole = np.einsum("nij,nj->ni", yaw_only, thigh_b * np.array([1.0, 0.0, 1.0]) + np.array([0.25, 0.0, 0.0]))
        sol = solve_leg(body, pose, side, target, pole)
        ankle = np.asarray(pose.side(side, "ankle_dorsiflexion_deg")) - 15.0 * w[:, 0]
        pose = pose.with_side(side, **{k: np.where(mine, np.asarray(sol.side(side, k)), np.asarray(pose.side(side, k)))
                                       for k in ("hip_flexion_deg", "hip_abduction_deg", "hip_rotation_deg",
                                                 "knee_flexion_deg")}, ankle_dorsiflexion_deg=ankle)
        keyframed[f"{side}_thigh_elevation_deg"] = np.degrees(e)
    # plant on whichever foot is lower
    sk = forward_kinematics(body, pose)
    prims = {pr.part: pr for pr in body_primitives(body, sk)}
    low = np.min([np.minimum(prims[f"{sd}_foot"].lowest_y(), prims[f"{sd}_shoe_top"].lowest_y()) for sd in SIDES],
                 axis=0)
    pose = replace(pose, root_y_m=np.asarray(pose.root_y_m) - low)
    # the far hand rests on the counter's edge; it changes hands while turning round
    top = _COUNTER_H * h
    grip = np.broadcast_to(np.array([0.02 * k_h, top + 0.03 * k_h, far_sign * (_COUNTER_Z_M + 0.05) * k_h]), (n, 3))
    hang = {"shoulder_flexion_deg": 4.0, "shoulder_abduction_deg": 10.0, "shoulder_rotation_deg": 0.0,
            "elbow_flexion_deg": 12.0}
    sk = forward_kinematics(body, pose)
    rp = sk.frames["pelvis"]
    for side in SIDES:
        holds = np.array([(w != side) for w in working], dtype=float)  # the standing (far) side's hand
        holds = holds * (1 - turning) * setup
        pole = np.stack([np.full(n, -0.6), np.full(n, -1.0), np.full(n, far_sign * 0.9)], -1)
        sol = solve_arm(body, pose, side, grip, pole)
        # the near hand rests on the hip (a hanging hand would lie across the rising thigh)
        on_hip = np.array([(w == side) for w in working], dtype=float) * (1 - turning) * setup
        crest = sk.joints[f"{side}_hip"] + np.einsum("nij,j->ni", rp, np.array([0.0, 0.11, SIDE_SIGN[side] * 0.07]) * k_h)
        out = np.einsum("nij,j->ni", rp, np.array([-0.4, 0.0, SIDE_SIGN[side] * 1.0]))
        akimbo = solve_arm(body, pose, side, crest, out)
        mix = {k: hang[k] + (np.asarray(sol.side(side, k)) - hang[k]) * holds
               + (np.asarray(akimbo.side(side, k)) - hang[k]) * on_hip for k in hang}
        pose = pose.with_side(side, **mix)
    keyframed["trunk_lean_deg"] = pitch.copy()
    props = tuple(counter(far_sign * _COUNTER_Z_M * k_h, far_sign, top))
    fault_side = "working" if fault else None
    return Motion(pose, props, keyframed, fault_side)


# --------------------------------------------------------------------------- registry

STANDING_HIP_ABDUCTION = ExerciseProgram(
    id="standing_hip_abduction",
    title="Standing hip abduction",
    posture="standing",
    unilateral=True,
    faults=(
        FaultSpec("trunk_lean", "trunk leans ~15 deg sideways toward the standing leg at the top",
                  "trunk_lateral_lean_deg"),
        FaultSpec("too_fast", "each rep takes ~0.6 s", "rep_duration_s", window="rep"),
    ),
    timing=RepTiming(up_s=1.0, hold_s=1.4, down_s=1.0, pause_s=0.8),
    motion=_standing_hip_abduction_motion,
    setup_s=1.2,
    switch_s=2.0,
    view="front",
    oblique_deg=_FRONT_OBLIQUE,
    side_elevation_deg=5.0,
)

STANDING_HIP_CIRCLES = ExerciseProgram(
    id="standing_hip_circles",
    title="Standing hip circles",
    posture="standing",
    unilateral=True,
    faults=(
        FaultSpec("knee_low", "the knee comes up only ~35 deg (instead of ~65) before circling out",
                  "{side}_thigh_elevation_deg"),
        FaultSpec("trunk_lean", "trunk leans back ~18 deg while the knee is up", "trunk_lean_deg"),
        FaultSpec("too_fast", "each circle takes ~0.6 s instead of ~3", "rep_duration_s", window="rep"),
    ),
    # one circle: the plan's up/hold/down windows only time it; the path is a phase over the whole rep
    timing=RepTiming(up_s=1.2, hold_s=0.8, down_s=1.2, pause_s=0.8),
    motion=_standing_hip_circles_motion,
    setup_s=1.2,
    switch_s=3.2,  # turning round on the spot between the sets
    view="side",
    oblique_outside_spec=True,
    side_elevation_deg=5.0,
)

PROGRAMS: tuple[ExerciseProgram, ...] = (STANDING_HIP_ABDUCTION, STANDING_HIP_CIRCLES)
