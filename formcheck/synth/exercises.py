"""Keyframed exercise programs: time -> Pose, with rep windows and fault windows as ground truth.

A program gets a ``Plan`` (the frame times and a schedule of rep windows, jittered by the seed)
and returns a ``Motion`` (a vectorised Pose, the props to draw and the angle channels it sets
exactly). Reps are smooth min-jerk ramps: rise, hold at the top, lower, pause. Every clip
starts with a short setup movement (settling into position) that must NOT count as a rep.

Adding an exercise: write a ``_motion_xxx(body, plan) -> Motion`` and register an
``ExerciseProgram`` in ``EXERCISES``; the schedule, truth and renderer are shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from formcheck.synth.body import (SIDE_SIGN, SIDES, BodyShape, Pose, forward_kinematics, solve_arm,
                                  solve_leg)
from formcheck.synth.postures import MAT_Y_M, plant
from formcheck.synth.render import Box, body_primitives, chair, mat

FAST_REP_S = 0.6  # total rep time for the `too_fast` fault (the fault threshold is 0.8 s)

# --------------------------------------------------------------------------- timing


def min_jerk(x: np.ndarray) -> np.ndarray:
    """Minimum-jerk ramp 0 -> 1 over x in [0, 1] (clipped outside)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (10 - 15 * x + 6 * x * x)


@dataclass(frozen=True)
class RepTiming:
    """Phase durations of one rep (seconds)."""

    up_s: float
    hold_s: float
    down_s: float
    pause_s: float

    @property
    def rep_s(self) -> float:
        """One rep's duration: up, hold and down."""
        return self.up_s + self.hold_s + self.down_s

    def scaled_to(self, rep_s: float) -> "RepTiming":
        """Same proportions, total rep time ``rep_s`` (the pause is kept)."""
        k = rep_s / self.rep_s
        return replace(self, up_s=self.up_s * k, hold_s=self.hold_s * k, down_s=self.down_s * k)


@dataclass(frozen=True)
class RepWindow:
    """When one rep happens; ``amplitude`` scales its range of motion (seed jitter, ~1)."""

    index: int
    side: str  # "left" | "right" | "both"
    start_s: float
    top_start_s: float
    top_end_s: float
    end_s: float
    amplitude: float = 1.0

    @property
    def peak_s(self) -> float:
        """The middle of the rep's time at the top."""
        return 0.5 * (self.top_start_s + self.top_end_s)

    @property
    def hold_s(self) -> float:
        """How long the rep stays at the top."""
        return self.top_end_s - self.top_start_s

    def signal(self, t: np.ndarray) -> np.ndarray:
        """0 at rest, 1 at the top of this rep (min-jerk up and down)."""
        up = min_jerk((t - self.start_s) / max(self.top_start_s - self.start_s, 1e-6))
        down = min_jerk((t - self.top_end_s) / max(self.end_s - self.top_end_s, 1e-6))
        return np.where(t < self.top_end_s, up, 1.0 - down)


@dataclass(frozen=True)
class FaultSpec:
    """A fault a program can inject: which truth channel it changes and when it shows."""

    id: str
    description: str
    metric: str  # a truth channel ("{side}_hip_flexion_deg", "pelvis_drop_m", "rep_duration_s", ...)
    window: str = "top"  # "top": near the top of each rep; "rep": the whole rep
    # True: the exercise's spec has a fault rule with this id, which must flag it. False: no rule
    # can tell it (the spec says why); it is rendered to show it raises no false fault
    spec_rule: bool = True


@dataclass(frozen=True)
class Plan:
    """The schedule a motion function turns into poses."""

    t_s: np.ndarray
    reps: tuple[RepWindow, ...]
    side: str  # "left" | "right" | "both" (unilateral order) or "both" for bilateral
    fault: str | None
    setup_start_s: float
    setup_end_s: float
    rng_seed: int

    def activation(self, side: str | None = None) -> np.ndarray:
        """Rep progress per frame: 0 at rest, 1 at the top (optionally only reps of one side)."""
        a = np.zeros_like(self.t_s)
        for r in self.reps:
            if side is None or r.side == side:
                a = a + r.signal(self.t_s)
        return a

    def amplitude(self, side: str | None = None) -> np.ndarray:
        """Per-frame amplitude factor of the rep in progress (1 between reps)."""
        amp = np.ones_like(self.t_s)
        for r in self.reps:
            if side is None or r.side == side:
                inside = (self.t_s >= r.start_s) & (self.t_s <= r.end_s)
                amp[inside] = r.amplitude
        return amp

    def setup(self) -> np.ndarray:
        """0 before and 1 after the setup movement."""
        return min_jerk((self.t_s - self.setup_start_s) / (self.setup_end_s - self.setup_start_s))

    def working_side(self) -> np.ndarray:
        """Per frame, the side of the current/most recent set ("left"/"right"); first set's side before it."""
        sides = np.full(self.t_s.shape, self.reps[0].side if self.reps else "left", dtype=object)
        for prev, nxt in zip(self.reps, self.reps[1:]):
            if prev.side != nxt.side:
                sides[self.t_s > prev.end_s] = nxt.side
        return sides


@dataclass(frozen=True)
class Motion:
    """What a program produces: poses for every frame, props, and exactly-set truth channels."""

    pose: Pose
    props: tuple[Box, ...] = ()
    keyframed: dict[str, np.ndarray] = field(default_factory=dict)
    fault_side: str | None = None  # which side shows the fault ("both" if not one-sided)


@dataclass(frozen=True)
class ExerciseProgram:
    """One exercise: its posture, timing, faults and the motion function."""

    id: str
    title: str
    posture: str  # standing | supine | prone | side_lying | quadruped | sitting | kneeling
    unilateral: bool
    faults: tuple[FaultSpec, ...]
    timing: RepTiming
    motion: Callable[[BodyShape, Plan], Motion]
    setup_s: float = 1.2
    lead_in_s: float = 0.4
    switch_s: float = 1.6  # pause between the left and right sets
    tail_s: float = 1.0
    side_elevation_deg: float = 5.0
    oblique_deg: tuple[float, float] = (45.0, 15.0)  # (azimuth toward the near side, elevation)
    view: str = "side"  # the view its spec asks for: "side" or "front" (what the tests and samples use)
    # where the "front" view stands: 0 = the body's front (or feet end when lying), 180 = behind it
    # (on all fours the head end hides the hips, so the fire hydrant is filmed from behind)
    front_azimuth_deg: float = 0.0
    # the "oblique" view is outside what the spec accepts (e.g. standing 45 deg off side-on): the
    # analysis must say so and judge only the faults that need no angle
    oblique_outside_spec: bool = False
    # the "angled" view, when 20 deg off the spec's view would leave its camera advice
    angled_deg: tuple[float, float] | None = None

    @property
    def fault_ids(self) -> tuple[str, ...]:
        """The ids of the faults this program can render."""
        return tuple(f.id for f in self.faults)

    def fault(self, fault_id: str) -> FaultSpec:
        """The fault with this id (the error lists the valid ones)."""
        for f in self.faults:
            if f.id == fault_id:
                return f
        raise ValueError(f"unknown fault {fault_id!r} for {self.id!r}; valid: {', '.join(self.fault_ids)}")


def make_plan(program: ExerciseProgram, reps: int, side: str, fault: str | None, rep_s: float | None,
              fps: float, seed: int, hold_s: float | None = None) -> Plan:
    """Schedule the setup, each set and each rep; the seed jitters phase times and amplitudes.

    ``rep_s`` rescales the whole rep; ``hold_s`` sets only the time held at the top (short clips
    of a 30 s stretch).
    """
    rng = np.random.default_rng([seed, 4242])
    timing = program.timing if rep_s is None else program.timing.scaled_to(rep_s)
    if hold_s is not None:
        timing = replace(timing, hold_s=hold_s)
    if fault == "too_fast":
        timing = timing.scaled_to(min(FAST_REP_S, timing.rep_s))
    sides = ([side] if side != "both" else ["left", "right"]) if program.unilateral else ["both"]
    setup_start = program.lead_in_s
    t = setup_start + program.setup_s + program.lead_in_s
    windows: list[RepWindow] = []
    for k, s in enumerate(sides):
        if k > 0:
            t += program.switch_s
        for _ in range(reps):
            j = rng.uniform(0.9, 1.1, size=3)
            up, hold, down = timing.up_s * j[0], timing.hold_s * j[1], timing.down_s * j[2]
            if fault == "too_fast":  # keep every jittered rep under the fault threshold
                up, hold, down = (x * min(1.0, 0.95 * FAST_REP_S / (up + hold + down)) for x in (up, hold, down))
            windows.append(RepWindow(len(windows), s, t, t + up, t + up + hold, t + up + hold + down,
                                     float(rng.uniform(0.93, 1.05))))
            t = windows[-1].end_s + timing.pause_s * rng.uniform(0.8, 1.2)
        t = windows[-1].end_s  # a set ends with its last rep; the switch or tail follows
    duration = t + program.tail_s
    n = int(np.ceil(duration * fps))
    return Plan(np.arange(n) / fps, tuple(windows), side, fault, setup_start, setup_start + program.setup_s, seed)


# --------------------------------------------------------------------------- shared helpers


def rest_head(body: BodyShape, pose: Pose, floor_y_m: float = 0.0, iters: int = 4) -> Pose:
    """Tilt the neck so a lying head rests on the floor (flexion lifts it when supine)."""
    lever = 0.105 * body.height_m
    for _ in range(iters):
        sk = forward_kinematics(body, pose)
        head = [pr for pr in body_primitives(body, sk) if pr.part == "head"][0]
        gap = head.lowest_y() - floor_y_m
        pose = replace(pose, neck_flexion_deg=np.asarray(pose.neck_flexion_deg) - np.degrees(gap / lever))
    return pose


def _sway(t: np.ndarray, seed: int, amp: float, hz: float = 0.23) -> np.ndarray:
    """Slow natural sway so no frame is perfectly still."""
    ph = np.random.default_rng([seed, 99]).uniform(0, 2 * np.pi, 2)
    return amp * (0.7 * np.sin(2 * np.pi * hz * t + ph[0]) + 0.3 * np.sin(2 * np.pi * hz * 2.7 * t + ph[1]))


def top_windows(plan: Plan, threshold: float = 0.9) -> list[tuple[float, float]]:
    """Per rep, the interval where its signal is >= threshold (the 'top' of the rep)."""
    out = []
    for r in plan.reps:
        # invert min-jerk numerically on a fine grid: cheap and exact enough
        x = np.linspace(0, 1, 2001)
        xt = x[np.argmax(min_jerk(x) >= threshold)]
        out.append((r.start_s + xt * (r.top_start_s - r.start_s), r.top_end_s + (1 - xt) * (r.end_s - r.top_end_s)))
    return out


# --------------------------------------------------------------------------- bridge


_BRIDGE_KNEE_START_DEG = 95.0
_BRIDGE_TOP_DEG = {None: 0.0, "hips_low": 27.0, "over_arch": -20.0, "hips_uneven": 0.0, "too_fast": 0.0}
_BRIDGE_DROP_M = 0.07


def _bridge_motion(body: BodyShape, plan: Plan) -> Motion:
    """Supine glute bridge: hips lift about the shoulders with the feet planted; IK keeps feet flat."""
    t = plan.t_s
    n = t.size
    h = body.height_m
    # lying rest pose: supine (pitch -90), head toward -x, feet toward +x
    rest = Pose(pelvis_pitch_deg=-90.0, root_y_m=0.2).broadcast(1)
    rest = plant(body, rest, MAT_Y_M, ("pelvis", "chest", "abdomen"))
    sk0 = forward_kinematics(body, rest)
    hip_y = float(rest.root_y_m[0])
    sh = 0.5 * (sk0.joints["left_shoulder"][0] + sk0.joints["right_shoulder"][0])
    hip = sk0.joints["pelvis"][0]
    trunk = float(np.hypot(hip[0] - sh[0], hip[1] - sh[1]))
    beta0 = np.arctan2(hip[1] - sh[1], hip[0] - sh[0])  # trunk angle above the floor at rest
    ankle_y = MAT_Y_M + body.ankle_height_m
    lt, ls = body.thigh_m, body.shank_m

    # where the feet rest: knee bent _BRIDGE_KNEE_START_DEG with the trunk flat and the heel down
    k = np.radians(_BRIDGE_KNEE_START_DEG)
    phis = np.radians(np.linspace(0, 90, 9001))
    ay = hip_y + lt * np.sin(phis) + ls * np.sin(phis - k)
    phi0 = phis[np.argmin(np.abs(ay - ankle_y))]
    ankle_x = hip[0] + lt * np.cos(phi0) + ls * np.cos(phi0 - k)
    theta0 = np.degrees(phi0 - beta0)  # rest hip flexion relative to the trunk

    amp = plan.amplitude()
    s = plan.activation()
    top = _BRIDGE_TOP_DEG.get(plan.fault, 0.0)
    top_j = np.where(plan.fault == "over_arch", top, theta0 + (top - theta0) * amp)  # amplitude jitter
    theta = theta0 + (top_j - theta0) * s
    # setup: feet slide in from a lower knee bend while the trunk stays flat
    setup = plan.setup()
    slide = (1 - setup) * 0.12 * h / 1.7

    # solve the trunk angle beta so that the thigh (at beta + theta) reaches a shank's length from the ankle
    th = np.radians(theta)
    lo, hi = np.full(n, beta0 - np.radians(10)), np.full(n, np.radians(80))

    def gap(beta):
        hx, hy = sh[0] + trunk * np.cos(beta), sh[1] + trunk * np.sin(beta)
        kx, ky = hx + lt * np.cos(beta + th), hy + lt * np.sin(beta + th)
        return np.hypot(kx - ankle_x, ky - ankle_y) - ls

    for _ in range(48):
        mid = 0.5 * (lo + hi)
        neg = gap(mid) < 0
        lo, hi = np.where(neg, mid, lo), np.where(neg, hi, mid)
    beta = np.where(s > 1e-9, 0.5 * (lo + hi), beta0)
    hx, hy = sh[0] + trunk * np.cos(beta), sh[1] + trunk * np.sin(beta)

    roll = np.zeros(n)
    fault_side = None
    if plan.fault == "hips_uneven":
        fault_side = ("left", "right")[np.random.default_rng([plan.rng_seed, 5]).integers(2)]
        rho = np.degrees(np.arcsin(_BRIDGE_DROP_M / (body.hip_sep_m * np.cos(np.radians(22)))))
        roll = s * rho * (1.0 if fault_side == "left" else -1.0)  # + roll lifts the right hip when supine
    elif plan.fault:
        fault_side = "both"

    pose = Pose(root_x_m=hx, root_y_m=hy, pelvis_pitch_deg=-90.0 - np.degrees(beta),
                pelvis_roll_deg=roll, spine_rotation_deg=roll).broadcast(n)
    pole = np.broadcast_to(np.array([0.35, 1.0, 0.0]), (n, 3))
    for side in SIDES:
        target = np.stack([np.full(n, ankle_x) + slide, np.full(n, ankle_y),
                           np.full(n, SIDE_SIGN[side] * body.hip_sep_m / 2)], axis=-1)
        pose = solve_leg(body, pose, side, target, pole, foot_dir=np.array([1.0, 0.0, 0.0]))
    # arms lie on the mat beside the body: undo the trunk lift at the shoulder
    arm_drop = np.degrees(np.arcsin(min(0.9, (sh[1] - MAT_Y_M - 0.022 * h) / (0.4 * h))))
    for side in SIDES:
        pose = pose.with_side(side, shoulder_flexion_deg=-(np.degrees(beta - beta0)) - arm_drop,
                              shoulder_abduction_deg=np.full(n, 12.0), elbow_flexion_deg=np.full(n, 4.0))
    pose = replace(pose, neck_rotation_deg=_sway(t, plan.rng_seed, 4.0, 0.11))
    pose = rest_head(body, pose, MAT_Y_M)

    keyframed: dict[str, np.ndarray] = {}
    if plan.fault == "hips_uneven":
        keyframed["pelvis_drop_m"] = -body.hip_sep_m * np.sin(np.radians(roll)) * np.cos(beta)
    else:
        for side in SIDES:
            keyframed[f"{side}_hip_flexion_deg"] = np.asarray(pose.side(side, "hip_flexion_deg"))
        reps_on = s > 1e-9
        keyframed["design_hip_flexion_deg"] = np.where(reps_on, theta, np.nan)
    props = tuple(mat(sh[0] - 0.45 * h / 1.7, ankle_x + 0.35 * h / 1.7))
    return Motion(pose, props, keyframed, fault_side)


# --------------------------------------------------------------------------- standing hip extension


_SHE_TOP_DEG = -20.0
_SHE_LEAN_DEG = 25.0
_SHE_LEAN_HIP_DEG = -12.0  # with a forward lean the hip itself extends less (the trunk does the work)
_SHE_KNEE_BENT_DEG = 30.0
_SHE_SHIFT_M = 0.03


def _standing_hip_extension_motion(body: BodyShape, plan: Plan) -> Motion:
    """Standing side-on, hands on a chair back; one straight leg swings back and returns."""
    t = plan.t_s
    n = t.size
    h = body.height_m
    leg = body.thigh_m + body.shank_m
    working = plan.working_side()
    setup = plan.setup()
    # weight shift toward the stance side; between sets it crosses over to the other side
    stance_sign = np.array([-SIDE_SIGN[w] for w in working])
    shift = np.zeros(n)
    if len(set(working)) > 1:
        first = plan.reps[0].side
        last_first = max(r.end_s for r in plan.reps if r.side == first)
        nxt = min(r.start_s for r in plan.reps if r.side != first)
        cross = min_jerk((t - last_first - 0.2) / max(nxt - last_first - 0.4, 0.2))
        shift = -SIDE_SIGN[first] * (1 - 2 * cross)
    else:
        shift = stance_sign
    shift = shift * setup * _SHE_SHIFT_M

    pitch = _sway(t, plan.rng_seed, 0.6)
    lean = np.zeros(n)
    for side in SIDES:
        s = plan.activation(side)
        if plan.fault == "trunk_lean":
            lean = lean + s * _SHE_LEAN_DEG * plan.amplitude(side)
    pitch = pitch + lean
    pose = Pose(root_x_m=_sway(t, plan.rng_seed + 1, 0.004), root_z_m=shift, pelvis_pitch_deg=pitch,
                neck_flexion_deg=-0.6 * lean + 5.0).broadcast(n)
    add = np.degrees(np.arcsin(np.clip(np.abs(shift) / leg, 0, 1)))
    keyframed: dict[str, np.ndarray] = {"trunk_lean_deg": pitch.copy()}
    for side in SIDES:
        s = plan.activation(side)
        amp = plan.amplitude(side)
        top = _SHE_LEAN_HIP_DEG if plan.fault == "trunk_lean" else _SHE_TOP_DEG
        own_lean = _SHE_LEAN_DEG if plan.fault == "trunk_lean" else 0.0
        # stance leg stays vertical (hip flexion = pelvis pitch); the working hip reaches `top`
        # relative to the trunk, so its own lean is taken back out
        hip = pitch + s * (top - own_lean) * amp
        knee = 2.0 + (s * _SHE_KNEE_BENT_DEG * amp if plan.fault == "knee_bent" else 0.0)
        # the hip on the stance side sits over the foot: adduction if the pelvis shifted toward it
        toward = np.sign(shift) == SIDE_SIGN[side]
        abd = np.where(toward, -add, add)
        pose = pose.with_side(side, hip_flexion_deg=hip, knee_flexion_deg=knee,
                              ankle_dorsiflexion_deg=-12.0 * s - knee * 0.3 + 2.0, hip_abduction_deg=abd)
        keyframed[f"{side}_hip_flexion_deg"] = hip
        keyframed[f"{side}_knee_flexion_deg"] = knee + 0 * t
    pose = replace(pose, root_y_m=np.full(n, body.hip_height_m))
    # plant on whichever foot is lower: the stance foot carries the body
    sk = forward_kinematics(body, pose)
    prims = {pr.part: pr for pr in body_primitives(body, sk)}
    low = np.minimum(np.minimum(prims["left_foot"].lowest_y(), prims["left_shoe_top"].lowest_y()),
                     np.minimum(prims["right_foot"].lowest_y(), prims["right_shoe_top"].lowest_y()))
    pose = replace(pose, root_y_m=np.asarray(pose.root_y_m) - low)
    # hands rest on the chair back, which stands in front at a comfortable reach
    chair_x = 0.30 * h / 1.7
    back_h = 0.53 * h
    for side in SIDES:
        target = np.stack([np.full(n, chair_x - 0.035 * h / 1.7), np.full(n, back_h + 0.03 * h / 1.7),
                           np.full(n, SIDE_SIGN[side] * 0.17 * h / 1.7)], axis=-1)
        pole = np.broadcast_to(np.array([-0.6, -1.0, SIDE_SIGN[side] * 0.9]), (n, 3))
        pose = solve_arm(body, pose, side, target, pole)
    # setup: the hands come up from the sides to the chair back (visible from any view)
    reach = setup
    for side in SIDES:
        hang = {"shoulder_flexion_deg": 0.0, "shoulder_abduction_deg": 6.0, "shoulder_rotation_deg": 0.0,
                "elbow_flexion_deg": 8.0}
        pose = pose.with_side(side, **{k: v + (np.asarray(pose.side(side, k)) - v) * reach for k, v in hang.items()})
    fault_side = None
    if plan.fault in ("knee_bent", "too_fast"):
        fault_side = "working"
    elif plan.fault == "trunk_lean":
        fault_side = "both"
    props = tuple(chair(chair_x, 0.0, 1.0, seat_h_m=0.27 * h, back_h_m=back_h))
    return Motion(pose, props, keyframed, fault_side)


# --------------------------------------------------------------------------- mini squat


_MS_STAND_KNEE_DEG = 3.0  # soft knees when standing
# per fault: (knee flexion at the bottom, trunk lean at the bottom, share of the knee bend taken by
# the shank tilting forward; the rest tilts the thigh back, so a smaller share sends the hips back)
_MS_BOTTOM = {None: (47.0, 13.0, 0.45), "too_deep": (92.0, 22.0, 0.33), "trunk_lean": (47.0, 45.0, 0.30),
              "too_fast": (47.0, 13.0, 0.45)}
_MS_STANCE_FRAC = 0.92  # ankle-to-ankle width / shoulder-joint width: feet about shoulder-width apart


def _mini_squat_motion(body: BodyShape, plan: Plan) -> Motion:
    """Standing side-on, hands on a chair back in front, feet shoulder-width; both knees bend, hold, rise.

    The feet stay planted flat: the ankles are fixed targets and leg IK solves hips and knees; the
    hip height follows the knee flexion exactly (hip-ankle distance) and the hips move back as
    the thighs tilt. The trunk leans forward with the bend.
    """
    t = plan.t_s
    n = t.size
    h = body.height_m
    lt, ls = body.thigh_m, body.shank_m
    knee_deg, lean_deg, shank_share = _MS_BOTTOM.get(plan.fault, _MS_BOTTOM[None])
    s = plan.activation()
    amp = plan.amplitude()
    if plan.fault in ("too_deep", "trunk_lean"):  # a fault's size varies less (about +-2%), so it stays clear
        amp = 1.0 + 0.3 * (amp - 1.0)
    setup = plan.setup()

    k = _MS_STAND_KNEE_DEG + (knee_deg * amp - _MS_STAND_KNEE_DEG) * s
    lean = lean_deg * amp * s
    pitch = lean + _sway(t, plan.rng_seed, 0.6)
    # sagittal leg geometry: shank tilts forward by a, thigh back by b, a + b = knee flexion
    a = np.radians(shank_share * k)
    b = np.radians(k) - a
    foot_z = max(_MS_STANCE_FRAC * body.shoulder_sep_m, body.hip_sep_m) / 2
    ankle_x = 0.0
    ankle_y = body.ankle_height_m
    d = np.sqrt(lt * lt + ls * ls + 2 * lt * ls * np.cos(np.radians(k)))  # hip-ankle distance
    dx = ls * np.sin(a) - lt * np.sin(b) + _sway(t, plan.rng_seed + 1, 0.004)
    dz = foot_z - body.hip_sep_m / 2
    hip_y = ankle_y + np.sqrt(d * d - dx * dx - dz * dz)
    pose = Pose(root_x_m=ankle_x + dx, root_y_m=hip_y, pelvis_pitch_deg=pitch,
                neck_flexion_deg=-0.6 * lean + 5.0).broadcast(n)
    for side in SIDES:
        target = np.stack([np.full(n, ankle_x), np.full(n, ankle_y), np.full(n, SIDE_SIGN[side] * foot_z)], axis=-1)
        pole = np.broadcast_to(np.array([1.0, 0.0, SIDE_SIGN[side] * 0.1]), (n, 3))
        pose = solve_leg(body, pose, side, target, pole, foot_dir=np.array([1.0, 0.0, 0.0]))
    # the soles rest on the floor: one constant shift (the feet never move)
    sk = forward_kinematics(body, pose)
    prims = {pr.part: pr for pr in body_primitives(body, sk)}
    low = np.min([prims[f"{sd}_{part}"].lowest_y() for sd in SIDES for part in ("foot", "shoe_top")], axis=0)
    pose = replace(pose, root_y_m=np.asarray(pose.root_y_m) - float(np.median(low)))
    # hands grip the top rail of the chair back in front: the palm (not the wrist) stays on the rail
    # while the forearm's slope changes with the depth, so the wrist target follows the forearm
    chair_x = 0.30 * h / 1.7
    back_h = 0.53 * h
    for side in SIDES:
        grip = np.broadcast_to(np.array([chair_x + 0.01 * h / 1.7, back_h + 0.015 * h / 1.7,
                                         SIDE_SIGN[side] * 0.17 * h / 1.7]), (n, 3))
        pole = np.broadcast_to(np.array([-0.6, -1.0, SIDE_SIGN[side] * 0.9]), (n, 3))
        target = grip + np.array([0.0, 0.044 * h, 0.0])  # first guess: forearm hanging straight down
        for _ in range(4):
            pose = solve_arm(body, pose, side, target, pole)
            fore = forward_kinematics(body, pose).frames[f"{side}_forearm"]
            target = grip - np.einsum("nij,j->ni", fore, np.array([0.004, -0.044, 0.0]) * h)
        pose = solve_arm(body, pose, side, target, pole)
    # setup: the hands come up from the sides to the chair back
    for side in SIDES:
        hang = {"shoulder_flexion_deg": 0.0, "shoulder_abduction_deg": 6.0, "shoulder_rotation_deg": 0.0,
                "elbow_flexion_deg": 8.0}
        pose = pose.with_side(side, **{kk: v + (np.asarray(pose.side(side, kk)) - v) * setup
                                       for kk, v in hang.items()})
    # knee flexion and trunk lean are the design curves; hip flexion is what the leg IK solved
    keyframed: dict[str, np.ndarray] = {"trunk_lean_deg": pitch.copy()}
    for side in SIDES:
        keyframed[f"{side}_knee_flexion_deg"] = k.copy()
        keyframed[f"{side}_hip_flexion_deg"] = np.asarray(pose.side(side, "hip_flexion_deg")).copy()
    props = tuple(chair(chair_x, 0.0, 1.0, seat_h_m=0.27 * h, back_h_m=back_h))
    return Motion(pose, props, keyframed, "both" if plan.fault else None)


# --------------------------------------------------------------------------- standing hip flexion


_SHF_THIGH_DEG = 70.0  # working thigh against vertical at the top (hip level would be 90)
_SHF_KNEE_DEG = 85.0  # the lifted knee bends; the shank hangs a little behind vertical
_SHF_LEAN_BACK_DEG = -20.0  # trunk_lean_back: trunk leans back at the top
_SHF_STANCE_KNEE_DEG = 30.0  # standing_knee_bent: the standing knee bends during the lift
_SHF_CHAIR_Z_M = 0.47  # chair beside the body (its centre), on the side away from the camera


def _standing_hip_flexion_motion(body: BodyShape, plan: Plan) -> Motion:
    """Standing side-on, one hand on a chair beside the body; one knee lifts toward the chest, holds, lowers.

    The chair stands beside the body on the side away from the camera (article 004: "extend one
    arm out to the side and hold onto your support"): a chair in front would be hit by the rising
    knee. The thigh angle against vertical is the design curve; the standing thigh stays vertical
    (or, with ``standing_knee_bent``, tilts forward by half the knee bend so the foot stays under the hip).
    """
    t = plan.t_s
    n = t.size
    h = body.height_m
    k_h = h / 1.7
    leg = body.thigh_m + body.shank_m
    working = plan.working_side()
    setup = plan.setup()
    first = plan.reps[0].side  # the first set's leg is the one nearest the camera
    far = "right" if first == "left" else "left"
    # weight shift toward the stance side; between sets it crosses over to the other side
    if len(set(working)) > 1:
        last_first = max(r.end_s for r in plan.reps if r.side == first)
        nxt = min(r.start_s for r in plan.reps if r.side != first)
        cross = min_jerk((t - last_first - 0.2) / max(nxt - last_first - 0.4, 0.2))
        shift = -SIDE_SIGN[first] * (1 - 2 * cross)
    else:
        shift = np.array([-SIDE_SIGN[w] for w in working], dtype=float)
    shift = shift * setup * _SHE_SHIFT_M

    pitch = _sway(t, plan.rng_seed, 0.6)
    if plan.fault == "trunk_lean_back":
        for side in SIDES:
            pitch = pitch + plan.activation(side) * _SHF_LEAN_BACK_DEG * plan.amplitude(side)
    pose = Pose(root_x_m=_sway(t, plan.rng_seed + 1, 0.004), root_z_m=shift, pelvis_pitch_deg=pitch,
                neck_flexion_deg=-0.6 * (pitch - _sway(t, plan.rng_seed, 0.6)) + 5.0).broadcast(n)
    add = np.degrees(np.arcsin(np.clip(np.abs(shift) / leg, 0, 1)))
    keyframed: dict[str, np.ndarray] = {"trunk_lean_deg": pitch.copy()}
    for side in SIDES:
        s = plan.activation(side)
        amp = plan.amplitude(side)
        other = "right" if side == "left" else "left"
        s_other = plan.activation(other)  # this leg stands while the other one lifts
        bend = s_other * _SHF_STANCE_KNEE_DEG * plan.amplitude(other) if plan.fault == "standing_knee_bent" else 0 * t
        # thigh against vertical = hip flexion - pitch: the working thigh reaches its angle whatever
        # the trunk does; the standing thigh stays vertical (tilts forward by half a bent knee)
        thigh = s * _SHF_THIGH_DEG * amp + 0.5 * bend
        hip = pitch + thigh
        knee = 2.0 + s * (_SHF_KNEE_DEG - 2.0) * amp + bend
        toward = np.sign(shift) == SIDE_SIGN[side]
        abd = np.where(toward, -add, add)
        pose = pose.with_side(side, hip_flexion_deg=hip, knee_flexion_deg=knee,
                              ankle_dorsiflexion_deg=2.0 - 15.0 * s + 0.5 * bend, hip_abduction_deg=abd)
        keyframed[f"{side}_hip_flexion_deg"] = hip
        keyframed[f"{side}_knee_flexion_deg"] = knee + 0 * t
    pose = replace(pose, root_y_m=np.full(n, body.hip_height_m))
    # plant on whichever foot is lower: the stance foot carries the body
    sk = forward_kinematics(body, pose)
    prims = {pr.part: pr for pr in body_primitives(body, sk)}
    low = np.minimum(np.minimum(prims["left_foot"].lowest_y(), prims["left_shoe_top"].lowest_y()),
                     np.minimum(prims["right_foot"].lowest_y(), prims["right_shoe_top"].lowest_y()))
    pose = replace(pose, root_y_m=np.asarray(pose.root_y_m) - low)
    # the far hand rests on the chair back's rail beside the body; the near hand hangs at the side
    chair_z = SIDE_SIGN[far] * _SHF_CHAIR_Z_M * k_h
    back_h = 0.53 * h
    chair_x = -0.02 * k_h
    grip = np.stack([np.full(n, chair_x + 0.02 * k_h), np.full(n, back_h + 0.03 * k_h),
                     np.full(n, chair_z - SIDE_SIGN[far] * 0.17 * k_h)], axis=-1)
    pole = np.broadcast_to(np.array([-0.6, -1.0, SIDE_SIGN[far] * 0.9]), (n, 3))
    pose = solve_arm(body, pose, far, grip, pole)
    hang = {"shoulder_flexion_deg": 0.0, "shoulder_abduction_deg": 6.0, "shoulder_rotation_deg": 0.0,
            "elbow_flexion_deg": 8.0}
    # setup: the far hand comes up from the side to the chair back
    pose = pose.with_side(far, **{kk: v + (np.asarray(pose.side(far, kk)) - v) * setup for kk, v in hang.items()})
    near = "left" if far == "right" else "right"
    pose = pose.with_side(near, shoulder_flexion_deg=np.full(n, 4.0), shoulder_abduction_deg=np.full(n, 12.0),
                          elbow_flexion_deg=np.full(n, 12.0))
    fault_side = None
    if plan.fault in ("standing_knee_bent", "too_fast"):
        fault_side = "working"  # reported on the rep's side; the bent knee is the other leg's
    elif plan.fault == "trunk_lean_back":
        fault_side = "both"
    props = tuple(chair(chair_x, chair_z, 1.0, seat_h_m=0.27 * h, back_h_m=back_h))
    return Motion(pose, props, keyframed, fault_side)


# --------------------------------------------------------------------------- registry

BRIDGE = ExerciseProgram(
    id="bridge",
    title="Glute bridge",
    posture="supine",
    unilateral=False,
    faults=(
        FaultSpec("hips_low", "top stops at ~27 deg hip flexion instead of ~0", "{side}_hip_flexion_deg"),
        FaultSpec("hips_uneven", "pelvis rolls: one hip ~7 cm lower at the top", "pelvis_drop_m"),
        FaultSpec("over_arch", "hips pushed to ~-20 deg hip extension at the top", "{side}_hip_flexion_deg"),
        FaultSpec("too_fast", "each rep takes < 0.8 s", "rep_duration_s", window="rep"),
    ),
    timing=RepTiming(up_s=1.0, hold_s=1.0, down_s=1.1, pause_s=1.0),
    motion=_bridge_motion,
    setup_s=1.3,
    side_elevation_deg=12.0,
    oblique_deg=(65.0, 30.0),  # lying: mostly side-on and from above; from the feet end hides the trunk
)

STANDING_HIP_EXTENSION = ExerciseProgram(
    id="standing_hip_extension",
    title="Standing hip extension",
    posture="standing",
    unilateral=True,
    faults=(
        FaultSpec("knee_bent", "working knee bends ~30 deg during the extension", "{side}_knee_flexion_deg"),
        FaultSpec("trunk_lean", "trunk leans forward ~25 deg at the top of each rep", "trunk_lean_deg"),
        FaultSpec("too_fast", "each rep takes < 0.8 s", "rep_duration_s", window="rep"),
    ),
    timing=RepTiming(up_s=0.9, hold_s=0.5, down_s=0.9, pause_s=0.8),
    motion=_standing_hip_extension_motion,
    setup_s=1.2,
    oblique_outside_spec=True,
    side_elevation_deg=5.0,
)

MINI_SQUAT = ExerciseProgram(
    id="mini_squat",
    title="Mini squat",
    posture="standing",
    unilateral=False,
    faults=(
        FaultSpec("too_deep", "knees bend to ~90-94 deg instead of ~47 at the bottom", "{side}_knee_flexion_deg"),
        FaultSpec("trunk_lean", "trunk leans forward ~45 deg at the bottom (instead of ~13)", "trunk_lean_deg"),
        FaultSpec("too_fast", "each rep takes < 0.8 s", "rep_duration_s", window="rep"),
    ),
    timing=RepTiming(up_s=1.0, hold_s=1.0, down_s=1.1, pause_s=1.0),
    motion=_mini_squat_motion,
    setup_s=1.2,
    oblique_outside_spec=True,
    side_elevation_deg=5.0,
)

STANDING_HIP_FLEXION = ExerciseProgram(
    id="standing_hip_flexion",
    title="Standing hip flexion",
    posture="standing",
    unilateral=True,
    faults=(
        FaultSpec("trunk_lean_back", "trunk leans back ~20 deg at the top of each rep", "trunk_lean_deg"),
        FaultSpec("standing_knee_bent", "the standing (other) knee bends ~30 deg during the lift",
                  "{other}_knee_flexion_deg"),
        FaultSpec("too_fast", "each rep takes < 0.8 s", "rep_duration_s", window="rep"),
    ),
    timing=RepTiming(up_s=1.0, hold_s=1.0, down_s=1.0, pause_s=0.8),
    motion=_standing_hip_flexion_motion,
    setup_s=1.2,
    oblique_outside_spec=True,
    side_elevation_deg=5.0,
)

# Programs grouped by posture live in their own modules (each exports PROGRAMS); they import the
# shared helpers above, so they are collected here, after everything they need is defined.
_PROGRAM_MODULES = ("standing", "side_lying", "prone", "supine", "supine_more", "seated")


def _collect() -> dict[str, ExerciseProgram]:
    from importlib import import_module

    programs = [BRIDGE, STANDING_HIP_EXTENSION, MINI_SQUAT, STANDING_HIP_FLEXION]
    for name in _PROGRAM_MODULES:
        programs.extend(import_module(f"formcheck.synth.programs_{name}").PROGRAMS)
    ids = [p.id for p in programs]
    assert len(ids) == len(set(ids)), f"duplicate synth program ids: {ids}"
    return {p.id: p for p in programs}


EXERCISES: dict[str, ExerciseProgram] = _collect()
