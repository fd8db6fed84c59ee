"""Fault checks as registries: the kinds of rule a spec may declare, and the faults the engine raises itself.

A spec's fault rule is judged by its kind (``CHECK_KINDS``): the kind says which of the rule's fields
it needs (checked when the spec loads), how it is judged (on a finished rep, or frame by frame as an
episode that must persist), and whether its limits are a target band the live overlay draws. A fault
the engine raises without a spec rule (``ENGINE_FAULTS``, e.g. ``short_hold``) is one entry with its
id, its meaning (its id is then reserved in specs) and its judgement of a finished rep. Adding
either is one entry here plus a test.

This module imports no spec: the spec imports it to validate rules, so rules are taken as they come.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from formcheck.types import Fault, FeatureFrame, feature_value

HOLD_TOLERANCE = 0.9  # a hold of at least 90% of the prescribed time is held long enough
# A rule judged from rest compares with the median of the last 2 s at rest: long enough to
# outweigh landmark noise, short enough to follow the person shifting on the mat between reps.
REST_BASELINE_S = 2.0


def seconds_text(s: float) -> str:
    """A duration as said to the patient: "4.2 s", or "12 s" once it is ten or more."""
    return f"{s:.1f} s" if s < 10 else f"{s:.0f} s"


@dataclass(frozen=True, eq=False)
class FinishedRep:
    """What a rep check sees of one counted (or about to be counted) rep."""

    side: str
    frames: Sequence[FeatureFrame]  # the rep's feature frames, start to end
    start_ms: float
    peak_ms: float
    end_ms: float
    rom_deg: float
    hold_s: float
    complete: bool  # False: the recording ended during the rep (no true duration or hold)
    index: int

    @property
    def measures(self) -> dict[str, float]:
        """The rep's own numbers a rule may name as ``rep_measure``."""
        return {"duration_s": (self.end_ms - self.start_ms) / 1000, "rom_deg": self.rom_deg, "hold_s": self.hold_s}


def breaches(rule, value: float) -> tuple[bool, float]:
    """Whether ``value`` breaks the rule, and the limit it broke (NaN never breaks a rule)."""
    if not np.isfinite(value):
        return False, np.nan
    v = abs(value) if rule.absolute else value
    if rule.above is not None and v > rule.above:
        return True, rule.above
    if rule.below is not None and v < rule.below:
        return True, rule.below
    return False, np.nan


def _worse(rule, a: float, b: float) -> float:
    """The value further past the limit."""
    if not np.isfinite(a):
        return b
    ka, kb = (abs(a), abs(b)) if rule.absolute else (a, b)
    if rule.above is not None and (rule.below is None or ka > rule.above or kb > rule.above):
        return a if ka >= kb else b
    return a if ka <= kb else b


def _rep_fault(rule, rep: FinishedRep, value: float) -> Fault | None:
    hit, limit = breaches(rule, value)
    if not hit:
        return None
    return Fault(rule.id, rule.cue, "rep", rep.side, rep.start_ms, rep.end_ms, float(value), float(limit), rep.index)


def judge_rep_feature(rule, rep: FinishedRep) -> Fault | None:
    """A feature's value over the rep (its ``stat``: at the peak, max, min or mean) against the limits."""
    series = np.array([feature_value(f, rule.feature, rep.side) for f in rep.frames])
    seen = series[np.isfinite(series)]
    if seen.size == 0:
        return None  # never seen during the rep: no judgement
    if rule.stat == "peak":
        at_peak = [feature_value(f, rule.feature, rep.side) for f in rep.frames if f.timestamp_ms == rep.peak_ms]
        value = at_peak[0] if at_peak and np.isfinite(at_peak[0]) else float(np.median(seen))
    elif rule.stat == "mean":
        value = float(np.mean(seen))
    else:
        key = np.abs(seen) if rule.absolute else seen
        value = float(seen[np.argmax(key) if rule.stat == "max" else np.argmin(key)])
    return _rep_fault(rule, rep, value)


def judge_rep_measure(rule, rep: FinishedRep) -> Fault | None:
    """One of the rep's own numbers (duration, range, hold) against the limits."""
    if not rep.complete:
        return None  # a rep cut off by the end of the recording has no true duration or hold
    return _rep_fault(rule, rep, rep.measures[rule.rep_measure])


class FrameFaultTracker:
    """One frame-scoped rule on one counter side: an episode must persist ``min_duration_s``."""

    def __init__(self, rule, side: str):
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
        return self._judge(frame, feature_value(frame, self.rule.feature, self.side), applies)

    def _judge(self, frame: FeatureFrame, value: float, applies: bool) -> Fault | None:
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


class FromRestTracker(FrameFaultTracker):
    """A frame rule on how far the feature moved from its value at rest just before the rep.

    For a measure whose level reading depends on the camera: a camera above the mat sees level
    hips at a slant, so the pelvis is judged by how much it tilts as the hips lift.
    """

    def __init__(self, rule, side: str):
        super().__init__(rule, side)
        self._rest: deque[tuple[float, float]] = deque()

    def update(self, frame: FeatureFrame, applies: bool) -> Fault | None:
        """Feed one frame: at rest it sets the baseline; in a rep its change from it is judged."""
        value = feature_value(frame, self.rule.feature, self.side)
        if not applies:
            if np.isfinite(value):
                self._rest.append((frame.timestamp_ms, value))
                while self._rest[0][0] < frame.timestamp_ms - REST_BASELINE_S * 1000:
                    self._rest.popleft()
            return self.close()
        # no rest seen yet (the recording began mid-rep): nothing to judge the change from
        base = float(np.median([v for _, v in self._rest])) if self._rest else np.nan
        return self._judge(frame, value - base, applies)


def _from_rest_is_judged_in_reps(rule) -> None:
    if rule.when != "active":
        raise ValueError("from_rest compares a rep with the rest before it: set when: active")


def _rep_measure_is_rep_scoped(rule) -> None:
    if rule.scope != "rep":
        raise ValueError("rep_measure faults are rep-scoped: set scope: rep")


def _nothing_more(rule) -> None:
    return None


@dataclass(frozen=True)
class CheckKind:
    """One kind of fault rule a spec may declare."""

    name: str
    picks: Callable[[object], bool]  # is a spec's rule of this kind? (kinds are asked in order)
    validate: Callable[[object], None]  # raises ValueError naming the field the kind needs
    # rep scope: judges a finished rep; frame scope: None (the tracker judges frames)
    judge: Callable[[object, FinishedRep], Fault | None] | None = None
    # frame scope: a tracker per rule and counter side, fed every frame; its episodes are the faults
    tracker: Callable[[object, str], FrameFaultTracker] | None = None
    band: bool = True  # its limits on a feature are the target band the live overlay draws

    @property
    def scope(self) -> str:
        """Where it is judged: "rep" (a finished rep) or "frame" (an episode that must persist)."""
        return "frame" if self.tracker is not None else "rep"


CHECK_KINDS: tuple[CheckKind, ...] = (
    # a rep's own number (duration_s, rom_deg, hold_s): no feature, so nothing for a gauge to show
    CheckKind("rep_measure", lambda r: r.rep_measure is not None, _rep_measure_is_rep_scoped,
              judge=judge_rep_measure, band=False),
    # a frame rule on the change from rest: its limits are not values a gauge of the feature could band
    CheckKind("frame_from_rest", lambda r: r.scope == "frame" and r.from_rest, _from_rest_is_judged_in_reps,
              tracker=FromRestTracker, band=False),
    CheckKind("frame", lambda r: r.scope == "frame", _nothing_more, tracker=FrameFaultTracker),
    CheckKind("rep", lambda r: r.scope == "rep", _nothing_more, judge=judge_rep_feature),
)


def check_kind(rule) -> CheckKind:
    """The kind that judges a spec's fault rule (the first that picks it)."""
    for kind in CHECK_KINDS:
        if kind.picks(rule):
            return kind
    raise ValueError(f"fault {rule.id!r} is of no known kind; kinds: {', '.join(k.name for k in CHECK_KINDS)}")


# --- faults the engine raises itself ---------------------------------------------------------------

def judge_short_hold(spec, rep: FinishedRep) -> Fault | None:
    """Every movement cycle is a rep; one held shorter than prescribed says so, with the numbers."""
    target_s = spec.target.hold_s
    if target_s <= 0 or not rep.complete or rep.hold_s >= HOLD_TOLERANCE * target_s:
        return None
    return Fault(id=SHORT_HOLD_ID, cue=f"Hold it for {target_s:g} s: that one was {seconds_text(rep.hold_s)}",
                 scope="rep", side=rep.side, start_ms=rep.start_ms, end_ms=rep.end_ms,
                 value=rep.hold_s, limit=target_s, rep_index=rep.index)


@dataclass(frozen=True)
class EngineFault:
    """A fault formcheck raises without a spec rule; its id is reserved in specs."""

    id: str
    meaning: str  # said when a spec tries to use the id
    # judges a finished rep against the spec (its dose); None: raised elsewhere (see the comment)
    judge: Callable[[object, FinishedRep], Fault | None] | None = None


SHORT_HOLD_ID = "short_hold"  # the dose fault: every cycle is a rep, a short hold is said, not dropped
TOO_SHALLOW_ID = "too_shallow"  # a spec's position held for the dose without the driver reaching a rep's depth
ENGINE_FAULTS: dict[str, EngineFault] = {f.id: f for f in (
    EngineFault(SHORT_HOLD_ID, "held shorter than prescribed", judge_short_hold),
    # raised by the evaluator when it times a held position (spec.position) that never reached the depth
    EngineFault(TOO_SHALLOW_ID, "held in the exercise's position without reaching its depth"),
)}


def judge_finished_rep(spec, rules: Sequence, rep: FinishedRep) -> list[Fault]:
    """Every rep-scoped rule of the spec on one finished rep, then the engine's own rep checks."""
    faults = []
    for rule in rules:
        f = check_kind(rule).judge(rule, rep)
        if f is not None:
            faults.append(f)
    for engine in ENGINE_FAULTS.values():
        f = engine.judge(spec, rep) if engine.judge is not None else None
        if f is not None:
            faults.append(f)
    return faults
