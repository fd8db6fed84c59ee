"""The measure registry: every measure a spec may name, as one entry read by the spec, features and render.

An entry says what the measure needs (a body side, how many landmark points), what its numbers are
(the unit, whether they are an angle a gauge can show), where it can be taken (the image, and the 3D
world landmarks when ``world`` is given) and how: ``image`` and ``world`` compute it from one frame's
gated points. Adding a measure is one entry here (and a spec that names it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from formcheck.geometry import (
    UP_2D,
    angle_between_deg,
    distance,
    joint_angle_deg,
    segment_angle_3d_from_vertical_deg,
    segment_angle_from_vertical_deg,
    signed_angle_about_deg,
    signed_angle_deg,
)
from formcheck.skeleton import SIDES, Landmark, landmark_by_name

L = Landmark
# Both feet planted, the two hip angles differ by landmark noise and a pelvis drop (under 11 deg
# side-on in the image, about 25 in 3D for a 7 cm drop); a leg held off the mat bent at the hip
# (a single-leg bridge's free knee at 90/90) differs from the planted one by 40 deg or more. Between
# the two the planted measure moves smoothly from the legs' mean to the more extended leg.
PLANTED_BLEND_DEG = (25.0, 40.0)

# compute(extractor, feature spec, side or None, gated points, per-frame context) -> value; the
# extractor lends the state a measure keeps between frames (angle_between's lines across the body)
Compute = Callable[[object, object, "str | None", np.ndarray, dict], float]


@dataclass(frozen=True)
class Measure:
    """One kind of measurement a spec's feature can take."""

    name: str
    image: Compute  # from the 2D image landmarks (pixels)
    sided: bool = False  # taken on one leg: a feature using it needs a side
    n_points: int = 0  # landmark points the spec names (0: the measure knows its own)
    chain: bool = False  # n_points is a minimum (a chain of joints), not an exact number
    unit: str = "deg"
    world: Compute | None = None  # from the 3D world landmarks (metres); None: image-only
    joint: str | None = None  # the landmark part (HIP, KNEE) the overlay writes the value beside

    @property
    def angle(self) -> bool:
        """Its numbers are degrees: a gauge with a target band can show it."""
        return self.unit == "deg"

    @property
    def world_capable(self) -> bool:
        """It can be taken from the 3D world landmarks (``space: world``)."""
        return self.world is not None


# --- helpers the measures share with the feature extractor --------------------------------------

def side_landmark(side: str, part: str) -> Landmark:
    """The landmark of one side's body part: ("left", "HIP") -> LEFT_HIP."""
    return Landmark[f"{side.upper()}_{part}"]


def other_side(side: str) -> str:
    """The other leg."""
    return "right" if side == "left" else "left"


def nanmean2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean of two points; either one alone when the other is unseen."""
    if not np.isfinite(a).all():
        return b
    if not np.isfinite(b).all():
        return a
    return (a + b) / 2


def is_across(start: str, end: str) -> bool:
    """A line from one side's landmark to the other side's (left_wrist -> right_wrist)."""
    a, b = start.split("_")[0], end.split("_")[0]
    return a in SIDES and b in SIDES and a != b


def joint_angle_sum_deg(points: list[np.ndarray]) -> float:
    """The sum of the angles at the inner points of a chain (NaN when any point is unseen)."""
    return float(sum(joint_angle_deg(a, b, c) for a, b, c in zip(points, points[1:], points[2:])))


def point_names(fs, side: str) -> list[str]:
    """A feature's landmark names with {side} and {other} filled in."""
    return [p.replace("{side}", side).replace("{other}", other_side(side)) for p in fs.points]


def _at(fs, side: str | None, pts: np.ndarray) -> list[np.ndarray]:
    return [pts[landmark_by_name(n)] for n in point_names(fs, side or "left")]


def _torso_m(pts: np.ndarray) -> float:
    trunk = nanmean2(pts[L.LEFT_SHOULDER], pts[L.RIGHT_SHOULDER]) - nanmean2(pts[L.LEFT_HIP], pts[L.RIGHT_HIP])
    return float(np.linalg.norm(trunk))


# --- the measures --------------------------------------------------------------------------------

def _hip_flexion(fx, fs, side, pts, ctx) -> float:
    hip, knee = pts[side_landmark(side, "HIP")], pts[side_landmark(side, "KNEE")]
    return float(signed_angle_deg(ctx["trunk_down"], knee - hip, ctx["anterior"]))


def _hip_flexion_world(fx, fs, side, pts, ctx) -> float:
    hip, knee = pts[side_landmark(side, "HIP")], pts[side_landmark(side, "KNEE")]
    trunk_down = nanmean2(pts[L.LEFT_HIP], pts[L.RIGHT_HIP]) - nanmean2(pts[L.LEFT_SHOULDER], pts[L.RIGHT_SHOULDER])
    # signed like the image measure (+ knee in front of the trunk line): unsigned, a leg reaching
    # past the trunk line (bird dog, prone extension) folds back, so its top reads as a return and
    # the pass through the line as the peak its hold is timed against. The sign is the turn about
    # the hip axis pointing to the body's right, which is anterior in a right-handed frame.
    right = pts[L.RIGHT_HIP] - pts[L.LEFT_HIP]
    return float(signed_angle_about_deg(trunk_down, knee - hip, right))


def planted_of(left_deg: float, right_deg: float) -> float:
    """The planted leg's hip angle from both legs': their mean when they agree, the more extended
    (smaller) one when the other is clearly held up bent; either alone when the other is unseen."""
    seen = [v for v in (left_deg, right_deg) if np.isfinite(v)]
    if len(seen) < 2:
        return seen[0] if seen else np.nan
    lo, hi = PLANTED_BLEND_DEG
    weight = float(np.clip((abs(left_deg - right_deg) - lo) / (hi - lo), 0.0, 1.0))
    return (1 - weight) * (left_deg + right_deg) / 2 + weight * min(left_deg, right_deg)


def _planted_hip_flexion(fx, fs, side, pts, ctx) -> float:
    return planted_of(*(_hip_flexion(fx, fs, s, pts, ctx) for s in SIDES))


def _planted_hip_flexion_world(fx, fs, side, pts, ctx) -> float:
    return planted_of(*(_hip_flexion_world(fx, fs, s, pts, ctx) for s in SIDES))


def _knee_flexion(fx, fs, side, pts, ctx) -> float:
    # the same in the image and in the world: 180 minus the angle at the knee
    hip, knee = pts[side_landmark(side, "HIP")], pts[side_landmark(side, "KNEE")]
    return float(180.0 - joint_angle_deg(hip, knee, pts[side_landmark(side, "ANKLE")]))


def _thigh_angle(fx, fs, side, pts, ctx) -> float:
    hip, knee = pts[side_landmark(side, "HIP")], pts[side_landmark(side, "KNEE")]
    # against the vertical, not the trunk: a trunk that leans does not move the standing leg
    return float(signed_angle_deg(-UP_2D, knee - hip, ctx["facing_x"]))


def _trunk_lean(fx, fs, side, pts, ctx) -> float:
    return float(signed_angle_deg(UP_2D, ctx["trunk_up"], ctx["facing_x"]))


def _trunk_incline(fx, fs, side, pts, ctx) -> float:
    return ctx["trunk_incline"]


def _pelvis_tilt(fx, fs, side, pts, ctx) -> float:
    return float(pts[L.RIGHT_HIP][1] - pts[L.LEFT_HIP][1]) / ctx["torso_px"]


def _foot_height(fx, fs, side, pts, ctx) -> float:
    hip = nanmean2(pts[L.LEFT_HIP], pts[L.RIGHT_HIP])
    # image up, not the trunk's front: curling the shoulders up must not raise the feet
    heights = [float(np.dot(pts[a] - hip, UP_2D)) for a in (L.LEFT_ANKLE, L.RIGHT_ANKLE)]
    seen = [h for h in heights if np.isfinite(h)]
    return 100.0 * max(seen) / ctx["torso_px"] if seen else np.nan


def _joint_angle(fx, fs, side, pts, ctx) -> float:
    return float(joint_angle_deg(*_at(fs, side, pts)))


def _joint_angle_sum(fx, fs, side, pts, ctx) -> float:
    return joint_angle_sum_deg(_at(fs, side, pts))


def _segment_angle(fx, fs, side, pts, ctx) -> float:
    return float(segment_angle_from_vertical_deg(*_at(fs, side, pts)))


def _segment_angle_world(fx, fs, side, pts, ctx) -> float:
    p = _at(fs, side, pts)
    return float(segment_angle_3d_from_vertical_deg(p[1] - p[0]))


def _distance(fx, fs, side, pts, ctx) -> float:
    return float(distance(*_at(fs, side, pts))) / ctx["torso_px"]


def _distance_world(fx, fs, side, pts, ctx) -> float:
    p = _at(fs, side, pts)
    torso_m = _torso_m(pts)
    return float(distance(*p)) / torso_m if torso_m > 1e-6 else np.nan


def _angle_between(fx, fs, side, pts, ctx) -> float:
    names = point_names(fs, side or "left")
    p = _at(fs, side, pts)
    across = [is_across(names[0], names[1]), is_across(names[2], names[3])]
    # a line across the body against a limb: a mirrored model would turn the angle round (x -> 180 - x).
    # Two lines across the body: the model mirrors them together, or (its wrists' labels put back by
    # limbs.LimbSwapGuard, its shoulders left where it drew them) only one: each keeps its own direction.
    # Only the direction counts: against a limb, the line kept stands in when an end is unseen (a wrist
    # lying still on the floor, the model unsure); two lines across are measured only as seen, since
    # the model's shoulders shift a few degrees as the head turns and a held line would not follow.
    for i in (0, 2):
        if across[i // 2]:
            line = fx.steady_across(names[i], names[i + 1], p[i + 1] - p[i], keep_unseen=across[0] != across[1])
            p[i], p[i + 1] = np.zeros_like(line), line
    return float(angle_between_deg(*p))


def _angle_between_world(fx, fs, side, pts, ctx) -> float:
    return float(angle_between_deg(*_at(fs, side, pts)))


_ENTRIES = (
    # signed sagittal: + thigh in front of the trunk line, - behind it
    Measure("hip_flexion", _hip_flexion, sided=True, world=_hip_flexion_world, joint="HIP"),
    Measure("knee_flexion", _knee_flexion, sided=True, world=_knee_flexion, joint="KNEE"),  # 0 = straight
    # signed thigh against vertical-down: + forward, - behind (standing)
    Measure("thigh_angle", _thigh_angle, sided=True),
    Measure("trunk_lean", _trunk_lean),  # signed: + leaning forward (anterior), against image vertical
    Measure("trunk_incline", _trunk_incline),  # unsigned: 0 upright, 90 lying
    # left hip minus right hip height, in torso lengths (+ = left higher)
    Measure("pelvis_tilt", _pelvis_tilt, unit="torso lengths"),
    Measure("joint_angle", _joint_angle, n_points=3, world=_joint_angle),  # angle at the middle point, 0..180
    # a chain of points (shoulder, hip, knee, ankle): the sum of the angles at its inner points.
    # Joints that move together (both open as the pelvis tilts with the feet planted) add their
    # signals while their landmark noise, independent, grows only as the square root.
    Measure("joint_angle_sum", _joint_angle_sum, n_points=4, chain=True, world=_joint_angle_sum),
    Measure("segment_angle", _segment_angle, n_points=2, world=_segment_angle_world),  # against vertical, 0..180
    Measure("distance", _distance, n_points=2, unit="torso lengths", world=_distance_world),
    # unsigned angle between p0->p1 and p2->p3, 0..180
    Measure("angle_between", _angle_between, n_points=4, world=_angle_between_world),
    # the higher ankle's height above the hips in the image, in percent of the torso length;
    # whichever leg the model calls it, for knots of limbs it mislabels (lying on the back)
    Measure("foot_height", _foot_height, unit="% torso"),
    # hip_flexion of the leg that carries the body (a bridge's planted foot): see planted_of
    Measure("planted_hip_flexion", _planted_hip_flexion, world=_planted_hip_flexion_world, joint="HIP"),
)
MEASURES: dict[str, Measure] = {m.name: m for m in _ENTRIES}


def measure(name: str) -> Measure:
    """The registry entry for a measure name; a bad name lists the valid ones."""
    try:
        return MEASURES[name]
    except KeyError:
        raise ValueError(f"unknown measure {name!r}; valid: {', '.join(MEASURES)}") from None


def unit_of(name: str) -> str:
    """The unit a measure is reported in: "deg", or a length unit."""
    return MEASURES[name].unit


def world_measures() -> tuple[str, ...]:
    """The measures that can be taken from the 3D world landmarks, in registry order."""
    return tuple(m.name for m in _ENTRIES if m.world_capable)
