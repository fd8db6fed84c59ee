"""LimbSwapGuard: undoes the pose model's brief swaps of the knee and foot labels, by continuity.

Side-on, the model now and then calls the working leg's knee and foot by the other leg's names
for a sample or two, while the hips keep their labels (so the hip-depth swap tracker in
``features`` never sees it; a swap the hips share, in place or in depth, is left to it). Between neighbouring samples a knee or a foot travels a short way;
swapped, each label jumps across to the other leg. When the labels as given travel several times
further than the same points crossed over, and the labels had been plainly continuous for a
moment before (``TRUST_S``: just after the legs separate, the model's first labelling is as often
the one it then corrects), the labels are put back. A swap the model keeps up for longer than
``MAX_SWAP_S`` is its settled view, not a glitch: from then on its labels stand, and the
hip-depth tracker judges whole-leg swaps.
"""

from __future__ import annotations

import numpy as np

from formcheck.skeleton import NUM_LANDMARKS, Landmark
from formcheck.types import PoseSample

# the joints whose travel decides; the heel and toes go with the ankle
_LEFT_TRACKED = [Landmark.LEFT_KNEE, Landmark.LEFT_ANKLE]
_RIGHT_TRACKED = [Landmark.RIGHT_KNEE, Landmark.RIGHT_ANKLE]
_HIPS = [Landmark.LEFT_HIP, Landmark.RIGHT_HIP]
_LEFT_LOWER = [Landmark[f"LEFT_{p}"] for p in ("KNEE", "ANKLE", "HEEL", "FOOT_INDEX")]
_RIGHT_LOWER = [Landmark[f"RIGHT_{p}"] for p in ("KNEE", "ANKLE", "HEEL", "FOOT_INDEX")]
_ORDER = np.arange(NUM_LANDMARKS)
_SWAPPED = _ORDER.copy()
_SWAPPED[_LEFT_LOWER + _RIGHT_LOWER] = _ORDER[_RIGHT_LOWER + _LEFT_LOWER]
# travel as labelled this many times the crossed travel: a swap. Continuous motion between
# neighbouring samples keeps each joint far nearer its own last place than the other leg's;
# legs together (crossing, or side by side at rest) give ratios near 1 and decide nothing.
SWAP_RATIO = 3.0
MAX_SWAP_S = 0.25  # the model's glitches last a sample or two (0.07-0.13 s); longer is its settled view
MAX_STEP_S = 0.2  # samples further apart than this are not neighbours: motion between them is unknown
TRUST_S = 0.1  # labels plainly continuous this long are the reference a jump is judged against


class LimbSwapGuard:
    """``update`` once per pose: the pose with a brief knee-and-foot label swap undone."""

    def __init__(self) -> None:
        self._last: np.ndarray | None = None  # the previous output's tracked points, (2 legs, 2 joints, 2)
        self._last_hips: np.ndarray | None = None  # the previous hips, x y and depth, (2, 3)
        self._last_ms = -np.inf
        self._clear_since_ms: float | None = None  # the outputs have been plainly continuous since then
        self._swapped_since_ms: float | None = None
        self.undone = 0  # samples put back, for the curious

    def update(self, pose: PoseSample) -> PoseSample:
        """The pose with left and right limbs swapped back when the model swapped them briefly."""
        t = pose.timestamp_ms
        points = np.stack([pose.image_xyz_px[_LEFT_TRACKED, :2], pose.image_xyz_px[_RIGHT_TRACKED, :2]])
        hips, last_hips = pose.image_xyz_px[_HIPS], self._last_hips
        self._last_hips = hips
        if not np.isfinite(points).all() or t - self._last_ms > MAX_STEP_S * 1000 or self._last is None:
            self._remember(points, t, clear=False)
            return pose
        kept = _travel(points, self._last)
        crossed = _travel(points[::-1], self._last)
        # the hips swapped too: the whole leg's labels, the hip-depth tracker's to judge
        hips_kept = last_hips is None or not np.isfinite([hips, last_hips]).all() or (
            _travel(hips, last_hips) <= _travel(hips[::-1], last_hips))
        glitch = self._swapped_since_ms is None or t - self._swapped_since_ms <= MAX_SWAP_S * 1000
        trusted = self._clear_since_ms is not None and self._last_ms - self._clear_since_ms >= TRUST_S * 1000
        if trusted and kept > SWAP_RATIO * crossed and glitch and hips_kept:
            self._swapped_since_ms = t if self._swapped_since_ms is None else self._swapped_since_ms
            self.undone += 1
            self._remember(points[::-1], t, clear=True)
            return PoseSample(t, pose.image_xyz_px[_SWAPPED], pose.world_xyz_m[_SWAPPED], pose.visibility[_SWAPPED],
                              pose.frame_size_px)
        if kept <= SWAP_RATIO * crossed:
            self._swapped_since_ms = None  # the model's labels agree with the last output again
        self._remember(points, t, clear=crossed > SWAP_RATIO * kept)
        return pose

    def _remember(self, points: np.ndarray, t_ms: float, clear: bool) -> None:
        """The output's tracked points; ``clear``: plainly continuous with the previous output."""
        if not clear:
            self._clear_since_ms = None
        elif self._clear_since_ms is None:
            self._clear_since_ms = self._last_ms  # continuous from the previous sample on
        self._last, self._last_ms = points, t_ms


def _travel(points: np.ndarray, last: np.ndarray) -> float:
    """Total distance the tracked points moved from ``last``, pixels."""
    return float(np.linalg.norm(points - last, axis=-1).sum())
