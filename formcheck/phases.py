"""RepCounter: rest -> active -> rest cycles of one driver value, with hysteresis and dwell.

The thresholds are excursions from the person's own rest position (the most rest-like value of
the last few seconds spent at rest), so a shallow squat or a short-range hip extension still
counts, and jitter around any single value never does: entering needs ``enter_deg`` of
excursion, leaving needs the value to come back within ``exit_deg`` (or most of the way), each
held for ``min_dwell_s``. Losing the person or the posture for longer than ``max_gap_s`` drops
the rep in progress, so no rep is invented across a gap.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from formcheck.spec import RepSpec

BASELINE_WINDOW_S = 3.0  # how far back the rest position is looked for
MAX_GAP_S = 1.0  # longer without a usable value: start afresh
REST_SETTLE_S = 0.2  # the driver must have been still at rest this long before a rep can start


@dataclass(frozen=True)
class RepCandidate:
    """A completed cycle of one counter, before faults and numbering."""

    side: str
    start_ms: float
    peak_ms: float
    end_ms: float
    rom_deg: float
    peak_value: float
    hold_s: float
    seen_fraction: float
    complete: bool = True  # False: the recording ended while the rep was at its peak


@dataclass(frozen=True)
class CounterState:
    phase: str
    excursion_deg: float
    hold_s: float  # current continuous time near the peak (0 at rest)
    completed: RepCandidate | None = None


class RepCounter:
    """Counts cycles of one driver for one side; ``update`` once per frame."""

    def __init__(self, rep: RepSpec, side: str):
        self.rep = rep
        self.side = side
        self._sign = 1.0 if rep.direction == "increase" else -1.0
        self.reset()

    # --- state -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the rest position and any rep in progress."""
        self._active = False
        self._rest: deque[tuple[float, float]] = deque()
        self._pending_since: float | None = None
        self._last_usable_ms: float | None = None
        self._last_quiet_ms: float | None = None
        self._quiet_run_ms: float | None = None  # start of the current run of samples at rest
        self._settled = False
        self._series: list[tuple[float, float]] = []  # (t_ms, excursion) while active
        self._frames = 0
        self._seen = 0
        self._peak = (np.nan, -np.inf, np.nan)  # (t_ms, excursion, value)
        self._held: deque[tuple[float, float]] = deque()  # (t_ms, excursion) over the last min_dwell_s
        self._held_peak = -np.inf
        self._hold_run_s = 0.0
        self._baseline = np.nan

    @property
    def active(self) -> bool:
        return self._active

    @property
    def active_since_ms(self) -> float:
        """When the rep in progress left rest (nan at rest)."""
        return self._series_start if self._active else np.nan

    @property
    def peak_excursion_deg(self) -> float:
        """The largest excursion of the rep in progress so far (nan at rest)."""
        return self._peak[1] if self._active else np.nan

    @property
    def phase(self) -> str:
        return self.rep.phase_names[1] if self._active else self.rep.phase_names[0]

    def excursion(self, value: float) -> float:
        return (value - self._baseline) * self._sign if np.isfinite(self._baseline) else np.nan

    def cancel(self) -> None:
        """Drop the rep in progress (another side is the one moving, or it lasted too long) and re-baseline."""
        self._active = False
        self._settled = False
        self._quiet_run_ms = None
        self._rest.clear()
        self._series = []
        self._pending_since = None
        self._hold_run_s = 0.0

    # --- the verb ----------------------------------------------------------------------------
    def update(self, t_ms: float, value: float, usable: bool = True, may_start: bool = True) -> CounterState:
        """One frame. ``may_start`` False: follow the rest position but start no rep (another leg works)."""
        seen = usable and bool(np.isfinite(value))
        if self._active:
            self._frames += 1
            self._seen += seen
        if not seen:
            if self._last_usable_ms is not None and t_ms - self._last_usable_ms > MAX_GAP_S * 1000:
                self.reset()
            return CounterState(self.phase, np.nan, 0.0)
        dt_s = 0.0 if self._last_usable_ms is None else (t_ms - self._last_usable_ms) / 1000
        self._last_usable_ms = t_ms
        return self._update_active(t_ms, value, dt_s) if self._active else self._update_rest(t_ms, value, may_start)

    def _update_rest(self, t_ms: float, value: float, may_start: bool = True) -> CounterState:
        self._rest.append((t_ms, value))
        while self._rest and t_ms - self._rest[0][0] > BASELINE_WINDOW_S * 1000:
            self._rest.popleft()
        vals = np.array([v for _, v in self._rest])
        self._baseline = float(vals.min() if self._sign > 0 else vals.max())
        e = self.excursion(value)
        if e <= max(self.rep.exit_deg, 1.0):
            self._last_quiet_ms = t_ms
            self._quiet_run_ms = t_ms if self._quiet_run_ms is None else self._quiet_run_ms
            # a recording that starts mid-movement has no rest yet: wait until the person is still
            self._settled = self._settled or t_ms - self._quiet_run_ms >= REST_SETTLE_S * 1000
        else:
            self._quiet_run_ms = None
        if e >= self.rep.enter_deg and self._settled and self._rest_in_range() and may_start:
            if self._pending_since is None:
                self._pending_since = t_ms
            if t_ms - self._pending_since >= self.rep.min_dwell_s * 1000:
                self._start_active(t_ms)
                for t, v in self._rest:  # the climb since leaving rest belongs to the rep
                    if t >= self._series_start:
                        self._series.append((t, self.excursion(v)))
                        self._note_peak(t, self.excursion(v), v)
        else:
            self._pending_since = None
        return CounterState(self.phase, e, 0.0)

    def _rest_in_range(self) -> bool:
        lim = self.rep.rest_range_deg
        return lim is None or lim[0] <= self._baseline <= lim[1]

    def _start_active(self, t_ms: float) -> None:
        self._active = True
        self._series_start = self._last_quiet_ms if self._last_quiet_ms is not None else t_ms
        self._series = []
        self._peak = (t_ms, -np.inf, np.nan)
        self._held.clear()
        self._held_peak = -np.inf
        self._frames = self._seen = 1
        self._pending_since = None
        self._hold_run_s = 0.0

    def _note_peak(self, t_ms: float, e: float, value: float) -> None:
        if e > self._peak[1]:
            self._peak = (t_ms, e, value)
        # the held peak: the furthest position kept for min_dwell_s. Holds are timed against it,
        # so a frame or two the model reads a few degrees further does not cut the hold short.
        self._held.append((t_ms, e))
        while len(self._held) > 1 and self._held[1][0] <= t_ms - self.rep.min_dwell_s * 1000:
            self._held.popleft()
        if t_ms - self._held[0][0] >= self.rep.min_dwell_s * 1000:
            self._held_peak = max(self._held_peak, min(x for _, x in self._held))

    def _hold_level(self) -> float:
        """Excursions at or past this count as holding (within the hold band of the held peak)."""
        peak = self._held_peak if np.isfinite(self._held_peak) else self._peak[1]
        return peak - self.rep.hold_band_deg

    def _exit_threshold(self) -> float:
        return max(self.rep.exit_deg, (1.0 - self.rep.return_fraction) * self._peak[1])

    def _update_active(self, t_ms: float, value: float, dt_s: float) -> CounterState:
        e = self.excursion(value)
        self._series.append((t_ms, e))
        self._note_peak(t_ms, e, value)
        self._hold_run_s = self._hold_run_s + dt_s if e >= self._hold_level() else 0.0
        if t_ms - self._series_start > self.rep.max_duration_s * 1000:
            # held far too long for a rep: a new position, not a rep; it becomes the new rest
            self.cancel()
            return CounterState(self.phase, np.nan, 0.0)
        completed = None
        if e <= self._exit_threshold():
            if self._pending_since is None:
                self._pending_since = t_ms
            if t_ms - self._pending_since >= self.rep.min_dwell_s * 1000:
                completed = self._complete(end_ms=self._pending_since, complete=True)
                self._active = False
                self._rest.clear()
                self._rest.append((t_ms, value))
                self._baseline = value
                self._pending_since = None
                self._hold_run_s = 0.0
                self._last_quiet_ms = t_ms
                self._quiet_run_ms = t_ms
        else:
            self._pending_since = None
        return CounterState(self.phase, e, self._hold_run_s, completed)

    def _complete(self, end_ms: float, complete: bool) -> RepCandidate | None:
        peak_t, peak_e, peak_v = self._peak
        duration_s = (end_ms - self._series_start) / 1000
        if peak_e < self.rep.min_rom_deg or duration_s < self.rep.min_duration_s:
            return None
        if self.rep.peak_limit_deg is not None and (peak_v - self.rep.peak_limit_deg) * self._sign < 0:
            return None
        return RepCandidate(
            side=self.side,
            start_ms=self._series_start,
            peak_ms=peak_t,
            end_ms=end_ms,
            rom_deg=peak_e,
            peak_value=peak_v,
            hold_s=self._hold_time_s(),
            seen_fraction=self._seen / max(self._frames, 1),
            complete=complete,
        )

    def _hold_time_s(self) -> float:
        """Total time the driver spent within the hold band of this rep's held peak."""
        if len(self._series) < 2:
            return 0.0
        t = np.array([s[0] for s in self._series])
        e = np.array([s[1] for s in self._series])
        near = e[1:] >= self._hold_level()
        return float(np.sum(np.diff(t)[near]) / 1000)

    def finish(self, max_active_s: float) -> RepCandidate | None:
        """At the end of the recording: a rep cut off at its peak still counts, marked incomplete.

        Only if it has been active no longer than ``max_active_s`` (about a rep's usual length):
        a value parked past the threshold for the rest of the clip is a position, not a rep.
        """
        if not self._active or not self._series:
            return None
        end_ms = self._series[-1][0]
        if end_ms - self._series_start > max_active_s * 1000:
            self._active = False
            return None
        cand = self._complete(end_ms=end_ms, complete=False)
        self._active = False
        return cand
