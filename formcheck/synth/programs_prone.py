"""Prone and all-fours exercises: prone hip extension, quadruped hip extension, prone leg abduction,
quadruped hip abduction (fire hydrant).

The first three are 30 s holds (article 002): each rep is a lift, a long hold with a little drift
and tremor, and a lowering; one set per side. The fire hydrant is a set of quick lifts. Lying and
all-fours bodies stay planted on the mat by their rest pose; only the working leg (and, for a
fault, the pelvis) moves.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from formcheck.synth.body import SIDES, BodyShape, Pose, forward_kinematics
from formcheck.synth.exercises import ExerciseProgram, FaultSpec, Motion, Plan, RepTiming, _sway
from formcheck.synth.postures import MAT_Y_M, lowest_y, posture
from formcheck.synth.render import mat

# a patient told to hold 30 s holds about that long; the plan jitters it +-10%, so aim a little over
HOLD_TIMING = RepTiming(up_s=1.6, hold_s=32.0, down_s=1.6, pause_s=2.0)


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


def _hold_drift(plan: Plan, side: str, amp_deg: float) -> np.ndarray:
    """A tiring hold sags a little and trembles: slow drift down plus tremor, only while lifted."""
    t = plan.t_s
    s = plan.activation(side)
    drift = np.zeros_like(t)
    for r in plan.reps:
        if r.side == side:
            inside = (t >= r.top_start_s) & (t <= r.top_end_s)
            frac = (t - r.top_start_s) / max(r.hold_s, 1e-6)
            drift[inside] = amp_deg * 0.6 * frac[inside]
    return s * (drift + _sway(t, plan.rng_seed + 17 + len(side), 0.4 * amp_deg, 0.7))


def _mat_props(body: BodyShape, pose: Pose) -> tuple:
    """A mat under the whole clip's extent (a little wider than the default: legs move out)."""
    sk = forward_kinematics(body, pose)
    xs = sk.landmarks_m[..., 0]
    return tuple(mat(float(xs.min()) - 0.25, float(xs.max()) + 0.25, 0.4))


# --------------------------------------------------------------------------- prone hip extension

_PHE_TOP_DEG = -16.0  # thigh about 16 deg above the mat at the top (hip extension with the pelvis down)
_PHE_KNEE_BENT_DEG = 45.0  # knee_bent: the shank lifts, the knee bends ~45 deg
# pelvis_lifts: the pelvis tips forward (the low back arches) and rolls the working hip ~4 cm off
# the mat, so the thigh goes ~40 deg up, far higher than the hip joint allows
_PHE_PELVIS_ROLL_DEG = 10.0
_PHE_PELVIS_TILT_DEG = 12.0
_PHE_PELVIS_TOP_DEG = -30.0  # hip extension relative to the pelvis


def _prone_rest(body: BodyShape, n: int) -> Pose:
    """Lying face down (head toward +x), legs straight and together, arms along the body."""
    pose, _ = posture(body, "prone")
    return pose.broadcast(n)


def _prone_common(body: BodyShape, plan: Plan, pose: Pose, face_side: str) -> Pose:
    """Setup (arms sweep from overhead down to the sides; legs close) and head sway."""
    t = plan.t_s
    setup = plan.setup()
    for side in SIDES:
        # before: arms reach overhead on the mat; they sweep down along the floor to the sides
        pose = pose.with_side(side, shoulder_abduction_deg=15.0 + (1 - setup) * 145.0,
                              elbow_flexion_deg=5.0 + (1 - setup) * 25.0 + 0 * t,
                              hip_abduction_deg=np.asarray(pose.side(side, "hip_abduction_deg")) + (1 - setup) * 6.0)
    rot = -70.0 if face_side == "left" else 70.0
    pose = replace(pose, neck_rotation_deg=rot * (0.3 + 0.7 * setup) + _sway(t, plan.rng_seed, 3.0, 0.09),
                   root_x_m=np.asarray(pose.root_x_m) + _sway(t, plan.rng_seed + 3, 0.003))
    return pose


def _prone_hip_extension_motion(body: BodyShape, plan: Plan) -> Motion:
    """Prone, side view: one straight leg lifts off the mat, holds, lowers; pelvis stays down."""
    t = plan.t_s
    n = t.size
    pose = _prone_rest(body, n)
    near = plan.reps[0].side
    pose = _prone_common(body, plan, pose, near)
    roll = np.zeros(n)
    tilt = np.zeros(n)
    keyframed: dict[str, np.ndarray] = {}
    for side in SIDES:
        s = plan.activation(side)
        amp = plan.amplitude(side)
        top = _PHE_PELVIS_TOP_DEG if plan.fault == "pelvis_lifts" else _PHE_TOP_DEG
        if plan.fault:  # a fault's size varies less (about +-2%), so it stays clear
            amp = 1.0 + 0.3 * (amp - 1.0)
        hip = s * top * amp + _hold_drift(plan, side, 2.0)  # drift: the leg sags toward the mat
        knee = 2.0 + (s * _PHE_KNEE_BENT_DEG * amp if plan.fault == "knee_bent" else 0.0)
        pose = pose.with_side(side, hip_flexion_deg=hip, knee_flexion_deg=knee + 0 * t,
                              ankle_dorsiflexion_deg=-70.0 + 25.0 * s)
        keyframed[f"{side}_knee_flexion_deg"] = knee + 0 * t
        if plan.fault == "pelvis_lifts":
            # + roll moves the right hip anterior, i.e. down when prone: lift the working hip
            roll = roll + s * _PHE_PELVIS_ROLL_DEG * amp * (1.0 if side == "left" else -1.0)
            tilt = tilt + s * _PHE_PELVIS_TILT_DEG * amp
    # the chest stays flat on the mat: the spine takes the pelvis tilt and roll back out; the
    # other thigh stays on the mat (its hip takes the tilt back out too)
    pose = replace(pose, pelvis_pitch_deg=np.asarray(pose.pelvis_pitch_deg) + tilt, spine_flexion_deg=-tilt,
                   pelvis_roll_deg=roll, spine_rotation_deg=roll)
    if plan.fault == "pelvis_lifts":
        for side in SIDES:
            pose = pose.with_side(side, hip_flexion_deg=np.asarray(pose.side(side, "hip_flexion_deg"))
                                  + tilt * (1 - plan.activation(side)))
    rest_y = float(pose.root_y_m[0])
    low = lowest_y(body, pose, ("chest", "abdomen", "pelvis", "left_thigh", "right_thigh"))
    pose = replace(pose, root_y_m=rest_y + np.maximum(0.0, (MAT_Y_M - low)))
    for side in SIDES:
        keyframed[f"{side}_hip_flexion_deg"] = np.asarray(pose.side(side, "hip_flexion_deg")).copy()
    fault_side = "working" if plan.fault else None
    return Motion(pose, _mat_props(body, pose), keyframed, fault_side)


# --------------------------------------------------------------------------- quadruped hip extension

_QHE_TOP_DEG = 0.0  # thigh in line with the trunk at the top
_QHE_KNEE_DEG = 90.0  # the knee stays bent, the sole turns to the ceiling
_QHE_HIGH_HIP_DEG = -16.0  # thigh_too_high: the hip goes past the line ...
_QHE_HIGH_TILT_DEG = 12.0  # ... helped by the pelvis tipping forward and the low back arching


def _on_all_fours(body: BodyShape, plan: Plan) -> tuple[Pose, np.ndarray, np.ndarray]:
    """The all-fours start every quadruped program shares: the resting pose, the set-up and the pelvis pitch.

    Set-up: from kneeling upright, the trunk tips forward and the hands reach the mat; then it sways a little.
    """
    rest, _ = posture(body, "quadruped")
    pitch0 = float(rest.pelvis_pitch_deg[0])
    setup = plan.setup()
    pitch = pitch0 * (0.15 + 0.85 * setup) + 0.6 * _sway(plan.t_s, plan.rng_seed, 1.0)
    return rest.broadcast(plan.t_s.size), setup, pitch


def _quadruped_hip_extension_motion(body: BodyShape, plan: Plan) -> Motion:
    """On all fours, side view: one thigh swings back until it is in line with the body, holds, lowers."""
    t = plan.t_s
    n = t.size
    pose, setup, pitch = _on_all_fours(body, plan)
    tilt = np.zeros(n)
    keyframed: dict[str, np.ndarray] = {}
    hips = {}
    for side in SIDES:
        s = plan.activation(side)
        amp = plan.amplitude(side)
        if plan.fault == "thigh_too_high":
            amp = 1.0 + 0.3 * (amp - 1.0)  # a fault's size varies less, so it stays clear
            top = _QHE_HIGH_HIP_DEG
            tilt = tilt + s * _QHE_HIGH_TILT_DEG * amp
        else:
            top = _QHE_TOP_DEG + (1 - amp) * 40.0  # a slightly short lift on a weaker rep
        hips[side] = (s, top)
    pelvis = pitch + tilt  # the pelvis tips forward (anterior tilt) in the arch
    pose = replace(pose, pelvis_pitch_deg=pelvis, spine_flexion_deg=-tilt)
    for side in SIDES:
        s, top = hips[side]
        # hip flexion = pelvis pitch keeps a thigh vertical (the supporting leg, and the lifted one at rest);
        # the lifted thigh swings to `top` relative to the pelvis
        hip = pelvis + (top - pelvis) * s + _hold_drift(plan, side, 3.0)
        knee = _QHE_KNEE_DEG + 0 * t
        pose = pose.with_side(side, hip_flexion_deg=hip, knee_flexion_deg=knee,
                              ankle_dorsiflexion_deg=-60.0 + 55.0 * s)
    # arms: shoulder flexion = chest pitch keeps them vertical; kneeling upright they hang
    chest = pelvis - tilt  # spine extension takes the pelvis tilt back out at the chest
    for side in SIDES:
        pose = pose.with_side(side, shoulder_flexion_deg=chest * setup, elbow_flexion_deg=5.0 * (1 - setup) + 0 * t)
    pose = replace(pose, neck_flexion_deg=-20.0 * setup + 5.0 * (1 - setup)
                   + _sway(t, plan.rng_seed + 5, 2.0, 0.1))
    for side in SIDES:
        keyframed[f"{side}_hip_flexion_deg"] = np.asarray(pose.side(side, "hip_flexion_deg")).copy()
    props = _mat_props(body, pose)
    fault_side = "working" if plan.fault else None
    return Motion(pose, props, keyframed, fault_side)


# --------------------------------------------------------------------------- bird dog

_BD_LEG_UP_DEG = 0.0  # the straight leg reaches back level with the floor
_BD_LEG_HIGH_DEG = 30.0  # leg_too_high: the leg goes ~30 deg above level, the low back arched
_BD_KNEE_DEG = 5.0  # the reaching leg is straight
_BD_KNEE_BENT_DEG = 55.0  # knee_bent: the knee stays half bent as the leg reaches back
_BD_ARM_DEG = 90.0  # the opposite arm reaches forward level with the floor


def _bird_dog_motion(body: BodyShape, plan: Plan) -> Motion:
    """On all fours, side view: one leg reaches straight back and the opposite arm forward, both level."""
    t = plan.t_s
    pose, setup, pitch = _on_all_fours(body, plan)
    pose = replace(pose, pelvis_pitch_deg=pitch)
    keyframed: dict[str, np.ndarray] = {}
    for side in SIDES:
        s = plan.activation(side)
        amp = plan.amplitude(side)
        if plan.fault == "leg_too_high":
            amp = 1.0 + 0.3 * (amp - 1.0)  # a fault's size varies less, so it stays clear
            above = _BD_LEG_HIGH_DEG * amp
        else:
            above = _BD_LEG_UP_DEG - (1 - amp) * 40.0  # a little short of level on a weaker rep
        # hip flexion = pelvis pitch hangs the thigh straight down; 90 less points it straight back
        hip = pitch - (90.0 + above) * s + _hold_drift(plan, side, 3.0)
        top_knee = _BD_KNEE_BENT_DEG if plan.fault == "knee_bent" else _BD_KNEE_DEG
        knee = 90.0 + (top_knee - 90.0) * s
        pose = pose.with_side(side, hip_flexion_deg=hip, knee_flexion_deg=knee, ankle_dorsiflexion_deg=-60.0 + 40.0 * s)
        keyframed[f"{side}_knee_flexion_deg"] = knee.copy()
    # arms: shoulder flexion = pitch keeps them vertical (kneeling upright they hang); the arm
    # opposite the working leg reaches forward
    for side in SIDES:
        other = "right" if side == "left" else "left"
        reach = _BD_ARM_DEG * plan.activation(other)
        pose = pose.with_side(side, shoulder_flexion_deg=pitch * setup + reach,
                              elbow_flexion_deg=5.0 * (1 - setup) + 0 * t)
    pose = replace(pose, neck_flexion_deg=-20.0 * setup + 5.0 * (1 - setup)
                   + _sway(t, plan.rng_seed + 5, 2.0, 0.1))
    for side in SIDES:
        keyframed[f"{side}_hip_flexion_deg"] = np.asarray(pose.side(side, "hip_flexion_deg")).copy()
    fault_side = "working" if plan.fault else None
    return Motion(pose, _mat_props(body, pose), keyframed, fault_side)


# --------------------------------------------------------------------------- prone leg abduction

_PLA_ABD_DEG = 28.0  # the straight leg slides out ~28 deg along the mat
_PLA_KNEE_BENT_DEG = 55.0  # knee_bent: the knee bends and the shank comes up as the leg moves out


def _prone_leg_abduction_motion(body: BodyShape, plan: Plan) -> Motion:
    """Prone, camera to the side and high, looking down: one straight leg slides out to the side, holds, returns."""
    t = plan.t_s
    n = t.size
    pose = _prone_rest(body, n)
    # the head rests turned away from the camera: MediaPipe, seeing a face from above, takes a
    # face-down body for a face-up one and swaps its legs; the back of the head keeps them right
    away = _other(plan.reps[0].side)
    pose = _prone_common(body, plan, pose, away)
    keyframed: dict[str, np.ndarray] = {}
    for side in SIDES:
        s = plan.activation(side)
        amp = plan.amplitude(side)
        abd = s * _PLA_ABD_DEG * amp - _hold_drift(plan, side, 2.5)  # drift: the leg creeps back in
        # the leg slides out parallel to the mat, hovering a hair above it (a little hip extension)
        lift = -3.0 * s
        knee = 3.0 + 0 * t
        if plan.fault == "knee_bent":
            knee = knee + s * _PLA_KNEE_BENT_DEG * (1.0 + 0.3 * (amp - 1.0))
        pose = pose.with_side(side, hip_abduction_deg=np.asarray(pose.side(side, "hip_abduction_deg")) + abd,
                              hip_flexion_deg=lift, knee_flexion_deg=knee,
                              ankle_dorsiflexion_deg=-70.0 + 20.0 * s)
        keyframed[f"{side}_hip_abduction_deg"] = abd.copy()
        keyframed[f"{side}_hip_flexion_deg"] = np.asarray(lift, float).copy()
        keyframed[f"{side}_knee_flexion_deg"] = knee.copy()
    fault_side = "working" if plan.fault else None
    return Motion(pose, _mat_props(body, pose), keyframed, fault_side)


# --------------------------------------------------------------------------- quadruped hip abduction

_QHA_ABD_DEG = 45.0  # the bent leg swings out to the side about 45 deg (thigh toward level with the hip)
_QHA_KNEE_DEG = 90.0  # the knee stays bent at a right angle, the shin parallel to the mat
_QHA_KNEE_STRAIGHT_DEG = 20.0  # knee_straightens: the knee opens to ~20 deg, the foot kicks out
_QHA_ROLL_DEG = 24.0  # trunk_tips: the whole body rolls away from the lifted leg, hiking its hip


def _quadruped_hip_abduction_motion(body: BodyShape, plan: Plan) -> Motion:
    """On all fours, seen from behind: one bent leg swings out to the side and back (fire hydrant).

    Hip abduction with the thigh hanging straight down turns it about the trunk's long axis, so
    the knee rises sideways in the plane a camera behind the body sees; the shin stays back along
    the mat. The supporting limbs stay vertical.
    """
    t = plan.t_s
    n = t.size
    pose, setup, pitch = _on_all_fours(body, plan)
    roll = np.zeros(n)
    keyframed: dict[str, np.ndarray] = {}
    for side in SIDES:
        s = plan.activation(side)
        amp = plan.amplitude(side)
        if plan.fault:  # a fault's size varies less (about +-2%), so it stays clear
            amp = 1.0 + 0.3 * (amp - 1.0)
        if plan.fault == "trunk_tips":
            # + roll moves the right hip anterior (down on all fours): lifting the left leg, the
            # left hip hikes up and the body rolls onto the right side
            roll = roll + s * _QHA_ROLL_DEG * amp * (1.0 if side == "left" else -1.0)
    pose = replace(pose, pelvis_pitch_deg=pitch, pelvis_roll_deg=roll)
    for side in SIDES:
        s = plan.activation(side)
        amp = plan.amplitude(side)
        if plan.fault:
            amp = 1.0 + 0.3 * (amp - 1.0)
        # trunk_tips keeps the same lift: the fault clip differs from the correct one only by the roll
        abd = s * _QHA_ABD_DEG * amp + _hold_drift(plan, side, 1.5)
        knee = _QHA_KNEE_DEG + 0 * t
        if plan.fault == "knee_straightens":
            knee = knee - s * (_QHA_KNEE_DEG - _QHA_KNEE_STRAIGHT_DEG) * amp
        # hip flexion = pelvis pitch keeps the thigh vertical before it swings out
        pose = pose.with_side(side, hip_flexion_deg=pitch + 0 * t, hip_abduction_deg=abd, knee_flexion_deg=knee,
                              ankle_dorsiflexion_deg=-60.0 + 20.0 * s)
        keyframed[f"{side}_hip_abduction_deg"] = abd.copy()
        keyframed[f"{side}_knee_flexion_deg"] = knee.copy()
    for side in SIDES:
        # the supporting hip takes the roll back out, so its thigh stays vertical under the body
        other_roll = roll * (-1.0 if side == "left" else 1.0)
        lifted = plan.activation(side) > 1e-6
        pose = pose.with_side(side, hip_abduction_deg=np.where(lifted, np.asarray(pose.side(side, "hip_abduction_deg")),
                                                               np.asarray(pose.side(side, "hip_abduction_deg")) + other_roll))
    # arms: shoulder flexion = chest pitch keeps them vertical; kneeling upright they hang
    for side in SIDES:
        pose = pose.with_side(side, shoulder_flexion_deg=pitch * setup, elbow_flexion_deg=5.0 * (1 - setup) + 0 * t)
    pose = replace(pose, neck_flexion_deg=-20.0 * setup + 5.0 * (1 - setup)
                   + _sway(t, plan.rng_seed + 5, 2.0, 0.1))
    fault_side = "working" if plan.fault else None
    return Motion(pose, _mat_props(body, pose), keyframed, fault_side)


# --------------------------------------------------------------------------- registry

PRONE_HIP_EXTENSION = ExerciseProgram(
    id="prone_hip_extension",
    title="Prone hip extension",
    posture="prone",
    unilateral=True,
    faults=(
        FaultSpec("knee_bent", "working knee bends ~45 deg while the leg is up", "{side}_knee_flexion_deg"),
        FaultSpec("pelvis_lifts", "pelvis tips and rolls the working hip off the mat; the thigh rises to ~40 deg",
                  "{side}_hip_flexion_deg"),
    ),
    timing=HOLD_TIMING,
    motion=_prone_hip_extension_motion,
    setup_s=1.4,
    switch_s=2.0,
    side_elevation_deg=12.0,
    oblique_deg=(65.0, 25.0),  # lying: mostly side-on and from a little above
    view="side",
)

QUADRUPED_HIP_EXTENSION = ExerciseProgram(
    id="quadruped_hip_extension",
    title="Quadruped hip extension",
    posture="quadruped",
    unilateral=True,
    faults=(
        FaultSpec("thigh_too_high", "thigh ~20-25 deg above the trunk line: hip past neutral, pelvis tipped, "
                  "low back arched", "{side}_hip_flexion_deg"),
    ),
    timing=HOLD_TIMING,
    motion=_quadruped_hip_extension_motion,
    setup_s=1.6,
    switch_s=2.0,
    # a camera a little above hip height, looking down 20 deg: from hip height MediaPipe sometimes
    # gives the lifted far leg the near leg's label
    side_elevation_deg=20.0,
    oblique_deg=(65.0, 25.0),
    view="side",
)

PRONE_LEG_ABDUCTION = ExerciseProgram(
    id="prone_leg_abduction",
    title="Prone leg abduction",
    posture="prone",
    unilateral=True,
    # "thigh lifted off the mat" is not injected: no camera MediaPipe tracks this from can tell a
    # lifted thigh from a wider one (see the spec's notes)
    faults=(
        FaultSpec("knee_bent", "working knee bends ~55 deg (shank comes up) while the leg is out",
                  "{side}_knee_flexion_deg"),
    ),
    timing=HOLD_TIMING,
    motion=_prone_leg_abduction_motion,
    setup_s=1.4,
    switch_s=2.0,
    # seen from the side and from high up (a phone on a shelf looking down at the mat): the only
    # camera MediaPipe tracks a face-down body from (at the feet or head end it mislabels the legs)
    side_elevation_deg=60.0,
    oblique_deg=(55.0, 50.0),
    view="side",
)

QUADRUPED_HIP_ABDUCTION = ExerciseProgram(
    id="quadruped_hip_abduction",
    title="Quadruped hip abduction (fire hydrant)",
    posture="quadruped",
    unilateral=True,
    faults=(
        FaultSpec("knee_straightens", "working knee opens from 90 to ~20 deg as the leg swings out",
                  "{side}_knee_flexion_deg"),
        FaultSpec("trunk_tips", "the body rolls ~24 deg away from the lifted leg, hiking its hip", "pelvis_roll_deg"),
        FaultSpec("too_fast", "each rep takes < 0.8 s", "rep_duration_s", window="rep"),
    ),
    timing=RepTiming(up_s=1.0, hold_s=0.8, down_s=1.1, pause_s=0.8),
    motion=_quadruped_hip_abduction_motion,
    setup_s=1.6,
    switch_s=2.0,
    # from behind (at the feet end), a little above hip height: the knee swings out in the image
    # plane and the shoulders show beyond the hips (the trunk slopes up to them). Not much higher:
    # seen from above the back, the trunk points along the view and stops looking like all fours
    front_azimuth_deg=180.0,
    side_elevation_deg=4.0,
    oblique_deg=(150.0, 8.0),  # 30 deg off behind, toward the first working side
    angled_deg=(160.0, 8.0),
    view="front",
)

BIRD_DOG = ExerciseProgram(
    id="bird_dog",
    title="Bird dog",
    posture="quadruped",
    unilateral=True,
    faults=(
        FaultSpec("leg_too_high", "the straight leg goes ~30 deg above level with the floor", "{side}_hip_flexion_deg"),
        FaultSpec("knee_bent", "the knee stays bent ~55 deg as the leg reaches back", "{side}_knee_flexion_deg"),
        FaultSpec("too_fast", "each rep takes < 0.8 s", "rep_duration_s", window="rep"),
    ),
    timing=RepTiming(up_s=1.2, hold_s=3.0, down_s=1.2, pause_s=1.0),
    motion=_bird_dog_motion,
    setup_s=1.6,
    switch_s=2.0,
    side_elevation_deg=20.0,  # as for the quadruped hip extension: a camera a little above hip height
    oblique_deg=(65.0, 25.0),
    view="side",
)

PROGRAMS: tuple[ExerciseProgram, ...] = (PRONE_HIP_EXTENSION, QUADRUPED_HIP_EXTENSION, PRONE_LEG_ABDUCTION,
                                         QUADRUPED_HIP_ABDUCTION, BIRD_DOG)
