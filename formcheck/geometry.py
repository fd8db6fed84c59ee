"""Angles and distances on landmark coordinates; NaN in, NaN out, no exceptions.

Image coordinates have y pointing down; "up" below means -y.
"""

from __future__ import annotations

import numpy as np

UP_2D = np.array([0.0, -1.0])


def _unit(v: np.ndarray) -> np.ndarray:
    # called a dozen times a frame on 2- and 3-vectors: plain ufuncs, no linalg.norm or errstate
    # overhead; dividing by NaN is quiet, so zero-length vectors become NaN without a warning
    n = np.sqrt((v * v).sum(axis=-1, keepdims=True))
    return v / np.where(n > 1e-9, n, np.nan)


def joint_angle_deg(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray | float:
    """Unsigned angle at ``b`` between b->a and b->c, in degrees (0..180)."""
    u, v = _unit(np.asarray(a, float) - b), _unit(np.asarray(c, float) - b)
    cos = np.clip((u * v).sum(axis=-1), -1.0, 1.0)
    return np.degrees(np.arccos(cos))


def signed_angle_about_deg(reference: np.ndarray, vector: np.ndarray, axis: np.ndarray) -> np.ndarray | float:
    """Angle from ``reference`` to ``vector`` in 3D, both seen in the plane normal to ``axis``.

    Positive for a right-handed turn about ``axis``; ranges over (-180, 180], so a limb swinging
    past the reference line reads past zero rather than folding back (as an unsigned angle would).
    """
    n = _unit(np.asarray(axis, float))
    d, v = np.asarray(reference, float), np.asarray(vector, float)
    d = d - (d * n).sum(axis=-1, keepdims=True) * n
    v = v - (v * n).sum(axis=-1, keepdims=True) * n
    return np.degrees(np.arctan2((np.cross(d, v) * n).sum(axis=-1), (d * v).sum(axis=-1)))


def signed_angle_deg(reference: np.ndarray, vector: np.ndarray, positive_dir: np.ndarray) -> np.ndarray | float:
    """Angle from ``reference`` to ``vector`` in 2D, positive when it turns toward ``positive_dir``.

    Ranges over (-180, 180], so a limb swinging past the reference line never folds back.
    """
    ref = _unit(np.asarray(reference, float))
    pos = np.asarray(positive_dir, float)
    # the axis perpendicular to the reference, oriented to the positive side
    perp = pos - (pos * ref).sum(axis=-1, keepdims=True) * ref
    perp = _unit(perp)
    v = np.asarray(vector, float)
    return np.degrees(np.arctan2((v * perp).sum(axis=-1), (v * ref).sum(axis=-1)))


def angle_between_deg(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> np.ndarray | float:
    """Unsigned angle between the vectors a0->a1 and b0->b1 (0..180), in 2D or 3D."""
    a = np.asarray(a1, float) - a0
    return joint_angle_deg(a, np.zeros_like(a), np.asarray(b1, float) - b0)


def segment_angle_from_vertical_deg(lower: np.ndarray, upper: np.ndarray) -> np.ndarray | float:
    """Unsigned angle of the segment lower->upper against image-up (0 upright, 90 horizontal)."""
    return joint_angle_deg(np.asarray(lower, float) + UP_2D, lower, upper)


def segment_angle_3d_from_vertical_deg(vector: np.ndarray) -> np.ndarray | float:
    """Unsigned angle of a 3D vector against up (-y, as in MediaPipe world landmarks); NaN if zero-length."""
    return joint_angle_deg(np.array([0.0, -1.0, 0.0]), np.zeros(3), vector)


def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """Euclidean distance between points (last axis), for single points or arrays of them."""
    return np.linalg.norm(np.asarray(a, float) - b, axis=-1)


def midpoint(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The point halfway between ``a`` and ``b``."""
    return (np.asarray(a, float) + b) / 2
