"""The live display sink: each frame of an exercise, with its overlay, as a ``View`` for the window.

The session thread puts views in a newest-view slot; the main thread draws them (``live_window``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.live_telemetry import Meter
from formcheck.render import LiveOverlay
from formcheck.spec import ExerciseSpec
from formcheck.types import FeatureFrame, Frame, FrameResult, PoseSample


@dataclass(frozen=True, eq=False)
class View:
    """One frame for the window: the image, what the evaluator made of it, and the live extras."""

    image_rgb: np.ndarray
    result: FrameResult
    spec: ExerciseSpec
    overlay: LiveOverlay
    fps: float | None
    latency_ms: float | None


def preview(pose: PoseSample, last: FrameResult | None, counts: dict[str, int]) -> FrameResult:
    """A result for a frame the evaluator does not see (set-up, pause): the pose and the counts so far."""
    return FrameResult(
        pose=pose,
        features=FeatureFrame(pose.timestamp_ms, {}, False, pose.detected),
        phases=dict(last.phases) if last is not None else {},
        counts=dict(last.counts) if last is not None else dict(counts),
        hold_s=0.0,
    )


class LiveDisplay:
    """One exercise's views for the window's slot (``slot`` None: nothing is drawn, nothing is kept).

    ``counts`` are the evaluator's counts before its first result, shown while setting up.
    """

    def __init__(self, slot, spec: ExerciseSpec, counts: dict[str, int]):
        self._slot = slot
        self._spec = spec
        self._counts = dict(counts)
        self._last: tuple[Frame, FrameResult] | None = None  # the last analysed frame and its result
        self._meter = Meter()

    def update(self, frame: Frame, shown: FrameResult | PoseSample, overlay: LiveOverlay, meter: Meter) -> None:
        """Show a frame: with its result, or (set-up, pause) with its pose and the counts so far."""
        if isinstance(shown, FrameResult):
            result = shown
            self._last = (frame, shown)
        else:
            result = preview(shown, self._last[1] if self._last is not None else None, self._counts)
        self._meter = meter
        if self._slot is not None:
            self._slot.put(View(frame.image_rgb, result, self._spec, overlay, meter.fps, meter.latency_ms))

    def again(self, overlay: LiveOverlay) -> bool:
        """Show the last analysed frame again with a new overlay (the end-of-set screen); False: none yet."""
        if self._last is None:
            return False
        if self._slot is not None:
            frame, result = self._last
            self._slot.put(View(frame.image_rgb, result, self._spec, overlay, self._meter.fps, self._meter.latency_ms))
        return True


class ViewLog:
    """A view slot that keeps every view instead of only the newest: for screenshots and tests,
    which pick their moment afterwards (the window's slot is ``live_capture.NewestFrame``)."""

    def __init__(self):
        self.views: list[View] = []

    def put(self, view: View) -> None:
        """Keep this view."""
        self.views.append(view)

    def close(self) -> None:
        """Nothing to release: the views stay readable."""
