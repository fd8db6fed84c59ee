"""Live telemetry: the frame rate and latency shown in the window's corner, and each exercise's frame
and timing counts that its report keeps under ``source.live``."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from formcheck.live_capture import LiveFrame

FPS_SMOOTHING = 0.1  # weight of the newest frame in the FPS and latency shown in the corner
MAX_LATENCIES = 10_000  # latencies kept for the mean and 95th percentile (about 5 minutes at 30 fps)


@dataclass(frozen=True)
class Meter:
    """The corner's smoothed frame rate and latency (None until there is one)."""

    fps: float | None = None
    latency_ms: float | None = None


@dataclass(frozen=True)
class FrameCounts:
    """The frames of one exercise's stream: captured while counting, analysed, and shown while paused."""

    captured: int
    analysed: int
    paused: int


class Telemetry:
    """One exercise's timing tallies, updated with every frame shown and every result analysed.

    ``timings`` (when given) is the session's list of per-result times: captured, picked, estimated, result (s).
    """

    def __init__(self, timings: list[tuple[float, float, float, float]] | None = None):
        self._timings = timings
        self._latencies_ms: deque[float] = deque(maxlen=MAX_LATENCIES)
        self._model_ms_sum = 0.0
        self._first_result_s: float | None = None
        self._last_result_s: float | None = None
        self._tick_s: float | None = None
        self._meter = Meter()

    def update(self, frame: LiveFrame, now_s: float, *, analysed: bool = False) -> Meter:
        """Count a frame shown at ``now_s`` (``analysed``: its result is ready now); the corner's new meter."""
        if analysed:
            self._latencies_ms.append((now_s - frame.captured_s) * 1000)
            self._model_ms_sum += (frame.estimated_s - frame.picked_s) * 1000
            if self._timings is not None:
                self._timings.append((frame.captured_s, frame.picked_s, frame.estimated_s, now_s))
        fps, latency_ms = self._meter.fps, self._meter.latency_ms
        if self._tick_s is not None and now_s > self._tick_s:
            new = 1.0 / (now_s - self._tick_s)
            fps = new if fps is None else fps + FPS_SMOOTHING * (new - fps)
        self._tick_s = now_s
        new_ms = (now_s - frame.captured_s) * 1000
        latency_ms = new_ms if latency_ms is None else latency_ms + FPS_SMOOTHING * (new_ms - latency_ms)
        self._meter = Meter(fps, latency_ms)
        if analysed:
            self._first_result_s = now_s if self._first_result_s is None else self._first_result_s
            self._last_result_s = now_s
        return self._meter

    def stats(self, counts: FrameCounts) -> dict:
        """The report's live figures: frames captured, analysed, dropped and paused, rate, latency, model time."""
        dropped = max(0, counts.captured - counts.analysed)
        span_s = (self._last_result_s - self._first_result_s) if self._first_result_s is not None else 0.0
        lat = np.array(self._latencies_ms)
        return {
            "frames_captured": counts.captured,
            "frames_analysed": counts.analysed,
            "frames_dropped": dropped,
            "dropped_fraction": round(dropped / counts.captured, 4) if counts.captured else 0.0,
            "frames_paused": counts.paused,
            "analysed_fps": round((counts.analysed - 1) / span_s, 2) if span_s > 0 else None,
            "latency_ms_mean": _r(float(np.mean(lat))) if len(lat) else None,
            "latency_ms_p95": _r(float(np.percentile(lat, 95))) if len(lat) else None,
            "model_ms_mean": _r(self._model_ms_sum / counts.analysed) if counts.analysed else None,
        }


def _r(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, 1)
