"""Fault rules: rep-scoped (judged on a finished rep) and frame-scoped (must persist)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from formcheck.types import feature_value
from formcheck.spec import FaultSpec
from formcheck.types import Fault, FeatureFrame


def breaches(rule: FaultSpec, value: float) -> tuple[bool, float]:
    """Whether ``value`` breaks the rule, and the limit it broke (NaN never breaks a rule)."""
    if not np.isfinite(value):
        return False, np.nan
    v = abs(value) if rule.absolute else value
    if rule.above is not None and v > rule.above:
        return True, rule.above
    if rule.below is not None and v < rule.below:
        return True, rule.below
    return False, np.nan


def _worse(rule: FaultSpec, a: float, b: float) -> float:
    """The value further past the limit."""
    if not np.isfinite(a):
        return b
    ka, kb = (abs(a), abs(b)) if rule.absolute else (a, b)
    if rule.above is not None and (rule.below is None or ka > rule.above or kb > rule.above):
        return a if ka >= kb else b
    return a if ka <= kb else b


def rep_fault(
    rule: FaultSpec,
    side: str,
    frames: Sequence[FeatureFrame],
    peak_ms: float,
    rep_measures: dict[str, float],
    span_ms: tuple[float, float],
    rep_index: int,
) -> Fault | None:
    """Judge one finished rep against a rep-scoped rule."""
    if rule.rep_measure is not None:
        value = rep_measures[rule.rep_measure]
    else:
        series = np.array([feature_value(f, rule.feature, side) for f in frames])
        seen = series[np.isfinite(series)]
        if seen.size == 0:
            return None  # never seen during the rep: no judgement
        if rule.stat == "peak":
            at_peak = [feature_value(f, rule.feature, side) for f in frames if f.timestamp_ms == peak_ms]
            value = at_peak[0] if at_peak and np.isfinite(at_peak[0]) else float(np.median(seen))
        elif rule.stat == "mean":
            value = float(np.mean(seen))
        else:
            key = np.abs(seen) if rule.absolute else seen
            value = float(seen[np.argmax(key) if rule.stat == "max" else np.argmin(key)])
    hit, limit = breaches(rule, value)
    if not hit:
        return None
    return Fault(rule.id, rule.cue, "rep", side, span_ms[0], span_ms[1], float(value), float(limit), rep_index)


class FrameFaultTracker:
    """One frame-scoped rule on one counter side: an episode must persist ``min_duration_s``."""

    def __init__(self, rule: FaultSpec, side: str):
        self.rule = rule
        self.side = side
        self._since_ms: float | None = None
        self._last_ms: float | None = None
        self._worst = np.nan
        self._limit = np.nan

    @property
    def firing(self) -> bool:
        """The rule has been broken for long enough to tell the person."""
        return (
            self._since_ms is not None
            and self._last_ms is not None
            and self._last_ms - self._since_ms >= self.rule.min_duration_s * 1000
        )

    def update(self, frame: FeatureFrame, applies: bool) -> Fault | None:
        """Feed one frame; returns the finished episode when one ends."""
        value = feature_value(frame, self.rule.feature, self.side)
        if not np.isfinite(value) and applies and self._since_ms is not None:
            return None  # unseen for a moment: neither extends nor ends the episode
        hit, limit = breaches(self.rule, value) if applies else (False, np.nan)
        if hit:
            if self._since_ms is None:
                self._since_ms, self._worst = frame.timestamp_ms, value
            self._worst = _worse(self.rule, self._worst, value)
            self._limit = limit
            self._last_ms = frame.timestamp_ms
            return None
        return self.close()

    def close(self) -> Fault | None:
        """End the current episode; it becomes a Fault only if it persisted long enough."""
        fault = None
        if self.firing:
            fault = Fault(
                self.rule.id, self.rule.cue, "frame", self.side, self._since_ms, self._last_ms,
                float(self._worst), float(self._limit),
            )
        self._since_ms = self._last_ms = None
        self._worst = np.nan
        return fault
