"""One Euro filter over landmark arrays, with a gap policy for frames where nobody was seen."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from formcheck.types import PoseSample


def _alpha(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    tau = 1.0 / (2 * math.pi * np.asarray(cutoff_hz))
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """Casiez et al. 2012: low lag when moving fast, low jitter when still. Works on any array shape.

    A NaN input element passes through as NaN and leaves that element's state untouched, so one
    unseen landmark does not drag the others.
    """

    def __init__(self, min_cutoff_hz: float = 1.2, beta: float = 4.0, d_cutoff_hz: float = 1.0):
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.d_cutoff_hz = d_cutoff_hz
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t_s: float | None = None

    def reset(self) -> None:
        """Forget the past: the next value passes unfiltered."""
        self._x = self._dx = self._t_s = None

    def update(self, x: np.ndarray, t_s: float) -> np.ndarray:
        """The filtered value at time ``t_s``."""
        x = np.asarray(x, float)
        if self._x is None or self._t_s is None or t_s <= self._t_s:
            # first sample, or a timestamp that does not advance: nothing to filter against
            if self._x is None:
                self._x, self._dx = x.copy(), np.zeros_like(x)
            else:
                self._x = np.where(np.isfinite(x), np.where(np.isfinite(self._x), self._x, x), self._x)
            self._t_s = t_s if self._t_s is None else max(self._t_s, t_s)
            return np.where(np.isfinite(x), self._x, np.nan)
        dt = t_s - self._t_s
        seen = np.isfinite(x)
        fresh = seen & ~np.isfinite(self._x)  # seen now, never (or not since a reset) before
        prev = np.where(np.isfinite(self._x), self._x, x)
        dx = np.where(seen, (x - prev) / dt, 0.0)
        dx_hat = self._dx + _alpha(self.d_cutoff_hz, dt) * (dx - self._dx)
        cutoff = self.min_cutoff_hz + self.beta * np.abs(dx_hat)
        x_hat = prev + _alpha(cutoff, dt) * (x - prev)
        x_hat = np.where(fresh, x, x_hat)
        self._x = np.where(seen, x_hat, self._x)
        self._dx = np.where(seen & ~fresh, dx_hat, np.where(fresh, 0.0, self._dx))
        self._t_s = t_s
        return np.where(seen, self._x, np.nan)


@dataclass(frozen=True)
class SmoothingConfig:
    """The One Euro filter's settings for landmarks."""
    min_cutoff_hz: float = 1.2
    beta: float = 4.0  # per (frame heights / s) for image points, per (m / s) for world points
    reset_after_gap_ms: float = 500.0  # a longer absence starts the filter afresh


class PoseSmoother:
    """Smooths image and world landmarks of successive PoseSamples."""

    def __init__(self, config: SmoothingConfig = SmoothingConfig()):
        self.config = config
        self._image = OneEuroFilter(config.min_cutoff_hz, config.beta)
        self._world = OneEuroFilter(config.min_cutoff_hz, config.beta)
        self._last_seen_ms: float | None = None

    def update(self, pose: PoseSample) -> PoseSample:
        """The pose with its landmarks smoothed (an undetected pose resets the filters)."""
        if not pose.detected:
            return pose
        if self._last_seen_ms is not None and pose.timestamp_ms - self._last_seen_ms > self.config.reset_after_gap_ms:
            self._image.reset()
            self._world.reset()
        self._last_seen_ms = pose.timestamp_ms
        t_s = pose.timestamp_ms / 1000
        # filter in frame heights so the filter behaves the same at any resolution
        scale = float(pose.frame_size_px[1]) or 1.0
        image = self._image.update(pose.image_xyz_px / scale, t_s) * scale
        world = self._world.update(pose.world_xyz_m, t_s)
        return PoseSample(pose.timestamp_ms, image, world, pose.visibility, pose.frame_size_px)
