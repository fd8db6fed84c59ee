"""A small kinematic factory: 2D side-view landmark sequences built from joint angles.

It knows nothing of the engine; it places the 33 BlazePose points from a posture, a facing
direction and the hip/knee angles, the way a camera would see a person side-on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from formcheck.skeleton import NUM_LANDMARKS, Landmark
from formcheck.types import PoseSample

L = Landmark
SIZE = (640, 480)


def _rot(v: np.ndarray, deg: float) -> np.ndarray:
    r = np.radians(deg)
    c, s = np.cos(r), np.sin(r)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


@dataclass(frozen=True)
class Body:
    torso_px: float = 110.0
    thigh_px: float = 90.0
    shank_px: float = 85.0
    foot_px: float = 30.0
    head_px: float = 35.0


def pose_2d(
    *,
    posture: str = "standing",
    facing: int = 1,  # standing: +1 faces image-right; lying: +1 head on the image-left
    hip_flex: tuple[float, float] = (0.0, 0.0),  # (left, right), signed sagittal degrees
    knee_flex: tuple[float, float] = (0.0, 0.0),
    trunk_lean: float = 0.0,  # forward lean, degrees (standing)
    hip_drop_px: float = 0.0,  # left hip moved toward the floor / down in the image
    origin: tuple[float, float] | None = None,
    body: Body = Body(),
) -> np.ndarray:
    """(33, 2) pixel landmarks of a side view."""
    if posture == "standing":
        sup = np.array([0.0, -1.0])
        ant = np.array([float(facing), 0.0])
        sup, ant = _rot(sup, -facing * trunk_lean * -1), _rot(ant, -facing * trunk_lean * -1)
        hip = np.array(origin or (320.0, 250.0))
    elif posture == "supine":
        sup = np.array([-float(facing), 0.0])
        ant = np.array([0.0, -1.0])
        hip = np.array(origin or (330.0, 400.0))
    elif posture == "upper_body_standing":
        return pose_2d(posture="standing", facing=facing, origin=origin, body=body)
    else:
        raise ValueError(posture)
    # the rotation taking "down the trunk" (-sup) to "forward" (ant)
    cross = (-sup[0]) * ant[1] - (-sup[1]) * ant[0]
    turn = 90.0 if cross > 0 else -90.0
    pts = np.full((NUM_LANDMARKS, 2), np.nan)
    shoulder = hip + sup * body.torso_px
    head = shoulder + sup * body.head_px
    for side, off in (("LEFT", -2.0), ("RIGHT", 2.0)):
        pts[L[f"{side}_SHOULDER"]] = shoulder + off
        pts[L[f"{side}_ELBOW"]] = shoulder - sup * 50 + ant * 10 + off
        pts[L[f"{side}_WRIST"]] = shoulder - sup * 90 + ant * 25 + off
        for part in ("PINKY", "INDEX", "THUMB"):
            pts[L[f"{side}_{part}"]] = pts[L[f"{side}_WRIST"]] - sup * 8
        pts[L[f"{side}_EAR"]] = head - ant * 8 + off
        pts[L[f"{side}_EYE"]] = head + ant * 10 + sup * 4 + off
        pts[L[f"{side}_EYE_INNER"]] = pts[L[f"{side}_EYE"]] + ant * 2
        pts[L[f"{side}_EYE_OUTER"]] = pts[L[f"{side}_EYE"]] - ant * 2
    pts[L.NOSE] = head + ant * 16
    pts[L.MOUTH_LEFT] = head + ant * 12 - sup * 10 - 1
    pts[L.MOUTH_RIGHT] = head + ant * 12 - sup * 10 + 1
    for i, side in enumerate(("LEFT", "RIGHT")):
        h = hip + (-2.0 if side == "LEFT" else 2.0)
        if side == "LEFT":
            h = h - ant * hip_drop_px if posture == "supine" else h + np.array([0.0, hip_drop_px])
        thigh = _rot(-sup, turn * hip_flex[i] / 90.0)
        knee = h + thigh * body.thigh_px
        shank = _rot(thigh, -turn * knee_flex[i] / 90.0)
        ankle = knee + shank * body.shank_px
        foot = _rot(shank, turn)
        pts[L[f"{side}_HIP"]] = h
        pts[L[f"{side}_KNEE"]] = knee
        pts[L[f"{side}_ANKLE"]] = ankle
        pts[L[f"{side}_HEEL"]] = ankle - foot * 6 + shank * 4
        pts[L[f"{side}_FOOT_INDEX"]] = ankle + foot * body.foot_px
    return pts


LEFT_LEG = [L[f"LEFT_{p}"] for p in ("HIP", "KNEE", "ANKLE", "HEEL", "FOOT_INDEX")]
RIGHT_LEG = [L[f"RIGHT_{p}"] for p in ("HIP", "KNEE", "ANKLE", "HEEL", "FOOT_INDEX")]


def depth(near: str, *, swapped_labels: bool = False, gap_px: float = 30.0) -> np.ndarray:
    """MediaPipe-like relative depth: the near leg smaller. ``swapped_labels``: the model calls
    the near leg by the far leg's name."""
    z = np.zeros(NUM_LANDMARKS)
    near_idx, far_idx = (LEFT_LEG, RIGHT_LEG) if near == "left" else (RIGHT_LEG, LEFT_LEG)
    z[near_idx], z[far_idx] = -gap_px / 2, gap_px / 2
    return z


def swap_leg_labels(pts: np.ndarray) -> np.ndarray:
    out = pts.copy()
    out[LEFT_LEG + RIGHT_LEG] = pts[RIGHT_LEG + LEFT_LEG]
    return out


def sample(t_ms: float, pts: np.ndarray, *, visibility: float = 0.95, size=SIZE, z: np.ndarray | None = None) -> PoseSample:
    xyz = np.concatenate([pts, (np.zeros(NUM_LANDMARKS) if z is None else z)[:, None]], axis=1)
    # no 3D estimate in this factory: NaN world landmarks exercise the 2D paths only
    return PoseSample(t_ms, xyz, np.full((NUM_LANDMARKS, 3), np.nan), np.full(NUM_LANDMARKS, visibility), size)


def smooth_step(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def rep_wave(t_s: np.ndarray, starts: list[float], rise_s: float, hold_s: float, fall_s: float) -> np.ndarray:
    """0..1 profile: rise, hold at 1, fall, for each rep start."""
    out = np.zeros_like(t_s)
    for s in starts:
        up = smooth_step((t_s - s) / rise_s)
        down = smooth_step((t_s - s - rise_s - hold_s) / fall_s)
        out = np.maximum(out, up - down)
    return out


def stream(frames: list[np.ndarray], fps: float = 30.0, *, noise_px: float = 0.0, drop: float = 0.0, seed: int = 0,
           t0_ms: float = 0.0) -> list[PoseSample]:
    """PoseSamples from landmark frames, with pixel noise and randomly dropped frames (no person)."""
    rng = np.random.default_rng(seed)
    out = []
    for i, pts in enumerate(frames):
        t = t0_ms + i * 1000.0 / fps
        if drop and rng.random() < drop:
            out.append(PoseSample.missing(t, SIZE))
            continue
        out.append(sample(t, pts + rng.normal(0, noise_px, pts.shape) if noise_px else pts))
    return out


def truth_poses(truth, *, noise_px: float = 0.0, drop: float | None = None, seed: int = 0,
                distort: Callable[[int, np.ndarray], None] | None = None) -> list[PoseSample]:
    """A synth truth's landmarks as PoseSamples: pixel noise, randomly dropped samples (no person),
    image depth relative like MediaPipe's; ``distort(i, xy)`` then changes sample i's noisy image
    landmarks in place (a model error to inject). ``drop`` None draws nothing for dropping; a rate, 0
    included, draws once per sample (the noise stream the golden posture file was written with)."""
    rng = np.random.default_rng(seed)
    world = truth.landmarks_world_mp()
    out = []
    for i, t in enumerate(truth.t_s):
        t_ms = float(t) * 1000
        if drop is not None and rng.random() < drop:
            out.append(PoseSample.missing(t_ms, truth.size))
            continue
        xy = truth.landmarks_2d_px[i] + rng.normal(0, noise_px, (NUM_LANDMARKS, 2))  # drawn at 0 too: one stream
        if distort is not None:
            distort(i, xy)
        xyz = np.concatenate([xy, world[i][:, 2:3] * truth.size[0] / 2], axis=1)
        out.append(PoseSample(t_ms, xyz, world[i], np.ones(NUM_LANDMARKS), truth.size))
    return out


def analysed(spec_id: str, poses: list[PoseSample]):
    """The session report of the spec's evaluator over the poses."""
    from formcheck.evaluator import ExerciseEvaluator
    from formcheck.spec import load_spec

    ev = ExerciseEvaluator(load_spec(spec_id))
    for p in poses:
        ev.update(p)
    return ev.finish()
