"""RepCounter: rest -> active -> rest cycles of one driver value, with hysteresis and dwell.

The thresholds are excursions from the person's own rest position (the most rest-like value of
the last few seconds spent at rest), so a shallow squat or a short-range hip extension still
counts, and jitter around any single value never does: entering needs ``enter_deg`` of
excursion, leaving needs the value to come back within ``exit_deg`` (or most of the way), each
held for ``min_dwell_s``. A rest beyond the spec's rest range, away from the rep's side (leaning
on a support), starts a rep only once the driver is past the whole range. Losing the person or
the posture for longer than ``max_gap_s`` drops the rep in progress, so no rep is invented across
a gap. A rep held at its top survives a dip that is brief (HOLD_DIP_MAX_S) and does not settle at
rest (on consecutive samples): a wobble in the hold, or the model exchanging the legs' labels for a
frame, not a lowering and a new lift; its hold is the time in position.

Recordings start wherever the person pressed record. A rep already under way in the first frames
is counted once the rest position is seen, if its working half was seen: for a lift, its top was
reached inside the recording (the value still moved toward it after the first frame) or it was
held there; for a squat (``effort: back``), the way back up; a recording that starts
in the position itself (a stretch already held, beyond where the spec says rest can be) counts
that hold from the first frame. Both are marked as having begun before the recording.
Movements that leave rest but do not qualify are kept as ``RejectedMovement`` with the reason,
so a report never shows a bare 0.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from formcheck.spec import RepSpec

BASELINE_WINDOW_S = 3.0  # how far back the rest position is looked for
MAX_GAP_S = 1.0  # longer without a usable value: start afresh
REST_SETTLE_S = 0.2  # the driver must have been still at rest this long before a rep can start
# Back after a gap (out of sight, or out of the posture: turning over, kneeling back down), the
# coming back is a movement of its own that slows before it ends; a pause of REST_SETTLE_S in it
# is no rest, and a rest taken there makes the rest of the movement a rep. Still this long is.
AFRESH_SETTLE_S = 0.5
# A rep that began before the recording counts when held at least this long in the frames seen
# (a stretch already held); a mere lowering from the top in the first frames is not a rep.
BEGUN_HOLD_MIN_S = 1.0
# Counted both ways: a whole rep the other way done while a rep is still out, at most half as far
# as that rep still was from its rest, shows the "rep" was a move to a new position (getting set
# up: the feet slide in), not a rep; a wobble in a hold comes back most of the way toward rest.
NEW_POSITION_RATIO = 2.0
# A held rep survives a dip out of the position this brief that does not reach rest: the pose
# jitters and a patient wobbles in a long hold; a dip this short is no lowering and lifting
# again (a real rep takes longer), so the hold goes on, timed only while in position.
HOLD_DIP_MAX_S = 0.5
# Only a rep already held at its top at least as long as the longest dip it may survive is a hold
# a dip can interrupt: held less, a "dip" as long as the hold itself is a lowering and a new lift.
# A quick lift and a touch-and-go rep that turns back part way still end where they turn. (At 1 s,
# a rep prescribed a 1-2 s hold, split a moment by the model, lost both halves to short_hold.)
HELD_BEFORE_DIP_S = HOLD_DIP_MAX_S
# A limb held out is held while it stays out and still, wherever the reading settles: the pose
# model's depth drifts 10-15 deg during a held reach seen off side-on (a bird dog's hip from the 3D
# landmarks), which leaves a band around the first peak while the leg has not moved. Out: past half
# the rep's range from rest (a lowering passes it); still: moved less than the hold band over the
# last wobble's time (HOLD_DIP_MAX_S), far slower than a reach or a return (a whole rep in a second).
HOLD_OUT_FRACTION = 0.5


def held_samples(t_ms: np.ndarray, e: np.ndarray, level: float, peak: float, band: float, start_ms: float) -> np.ndarray:
    """Which samples of a rep begun at ``start_ms`` (excursions ``e`` at ``t_ms``) are held: in the band of its held peak, or out and still."""
    near = e >= level
    window_ms = HOLD_DIP_MAX_S * 1000
    still = np.zeros_like(near)
    # a full wobble's time seen since the rep began: its first samples say nothing yet about stillness
    for i in np.flatnonzero((e >= HOLD_OUT_FRACTION * peak) & ~near & (t_ms - start_ms >= window_ms)):
        recent = e[np.searchsorted(t_ms, t_ms[i] - window_ms):i + 1]
        still[i] = recent.max() - recent.min() < band
    return near | still


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
    began_before: bool = False  # True: under way (or held) when the recording started
    direction: str = "increase"  # which way the driver went: increase or decrease
    found_late: bool = False  # found only once a later rest showed it: counted at the end of the recording


# Why a movement that left rest did not count; the report groups them by kind.
REJECTION_KINDS = {
    "too_small": "too small",
    "small_next_to_set": "much smaller than the set's other reps (settling, or the model echoing the working leg)",
    "echo": "began while the other leg was in a rep twice its size (that leg's movement, echoed)",
    "echo_return": "began while the other leg was up and rose no further than where it rested before (the model had moved it)",
    "other_leg_working": "began before the recording, and the other leg did a larger or whole rep meanwhile (only one leg works at a time)",
    "too_quick": "too quick",
    "peak_not_reached": "did not reach the position",
    "began_before": "began before the recording, and was not seen as a rep of this set",
    "ended_before_back": "the recording ended before it came back down",
    "too_long": "held longer than a rep lasts: taken as a new position",
    "out_of_sight": "the leg was out of sight or out of position for too long",
    "left_posture": "ended while leaving the exercise position",
    "position_too_short": "held the position without the depth, too briefly to count as a hold",
    "wrong_posture": "not done in the exercise's position",
    "posture_not_seen": "the exercise's position was never seen",
    "against_set": "went the other way from the set's reps",
    "new_position": "stayed in a new position, from which the next reps went: taken as the new rest",
}


@dataclass(frozen=True)
class RejectedMovement:
    """A movement that left rest but did not count, and why (for the report: never a bare 0)."""

    side: str
    start_ms: float
    end_ms: float
    rom_deg: float
    kind: str  # a REJECTION_KINDS key
    detail: str = ""  # the numbers, e.g. "9.5 of the 12 needed"
    # a complete cycle that fell short only in size: counted after all if the whole set is that small
    candidate: RepCandidate | None = None

    @property
    def reason(self) -> str:
        """Why the movement did not count, in words (with the detail, if any)."""
        return REJECTION_KINDS[self.kind] + (f" ({self.detail})" if self.detail else "")

    def to_dict(self) -> dict:
        """The movement as plain JSON-ready values (times in seconds, ROM rounded; None when unseen)."""
        return {"side": self.side, "start_s": round(self.start_ms / 1000, 3), "end_s": round(self.end_ms / 1000, 3),
                "rom_deg": round(float(self.rom_deg), 1) if np.isfinite(self.rom_deg) else None,
                "kind": self.kind, "reason": self.reason}


@dataclass(frozen=True)
class CounterState:
    """A counter after one frame: its phase, excursion from rest, hold time, and the rep it just completed (if any)."""

    phase: str
    excursion_deg: float
    hold_s: float  # time near the peak in the current hold, paused by a brief dip (0 at rest)
    completed: RepCandidate | None = None


class RepCounter:
    """Counts cycles of one driver for one side; ``update`` once per frame."""

    def __init__(self, rep: RepSpec, side: str, *, two_way: bool = False, afresh: bool = False):
        """``two_way``: one of a TwoWayCounter's pair, which counts the other way at the same time.
        ``afresh``: started in the middle of a recording (see ``SettlingCounter``), at a still position
        whose first samples are its rest: no lead-in, nothing begun before it.

        Counted one way, the rest is the most rest-like value of the last seconds (the lowest,
        for an increase); a driver that moves from the first frame to a still level away from it
        is a rep begun just after the recording started, and a movement the other way is a
        return to rest. Counted both ways, the jitter's extreme one way would be the rest the
        other way measures from (a rep's start from the jitter's whole range), so the rest is
        a robust extreme (10th percentile); and the recording's first movement is as much a rep's
        start as a return to rest, and a settling movement that slows down could start a rep
        either way: the first rest is taken only once the driver is as quiet as at rest (within
        ``max(exit_deg, 1)`` for REST_SETTLE_S), and the movement before it starts no rep. That
        first rest is trusted once held for a rep's shortest duration (``min_duration_s``): left
        sooner (the person still getting into position: the feet slide in), it is dropped and the
        rest is taken afresh where the driver settles next.
        """
        if rep.direction not in ("increase", "decrease"):
            raise ValueError(f"a RepCounter counts one way: increase or decrease, not {rep.direction!r} (see TwoWayCounter)")
        self.rep = rep
        self.side = side
        self._two_way = two_way
        # two-way: when the recording's first rest began, until it has been held a rep's shortest duration
        self._first_still_ms: float | None = None
        self._sign = 1.0 if rep.direction == "increase" else -1.0
        self.rejected: list[RejectedMovement] = []  # drained by the evaluator
        # samples seen before the first rest: a rep the recording started in the middle of
        self._lead_in: list[tuple[float, float]] | None = []
        self._began_before = False
        self._began_in_position = False
        # the recording's first rep, too small from its first rest: judged once still at the rest it came back to
        self._awaiting: RepCandidate | None = None
        # reps found at once in the samples before the first rest, given one a frame (_count_lead_in_cycles)
        self._queued: deque[RepCandidate] = deque()
        # the samples since the first frame while the first still moment may be the top of a rep under
        # way, not the rest (_rest_found_further_back)
        self._since_first_frame: list[tuple[float, float]] | None = None
        self._first_still_value = np.nan
        self.reset()
        if afresh:
            self._lead_in = None

    # --- state -------------------------------------------------------------------------------
    def reset(self, settle_s: float = REST_SETTLE_S) -> None:
        """Forget the rest position and any rep in progress; the next rest is where the driver is still ``settle_s``."""
        self._active = False
        self._rest: deque[tuple[float, float]] = deque()
        self._pending_since: float | None = None
        self._dip_in_hold = False  # the return under way interrupts a hold (see HOLD_DIP_MAX_S)
        self._rest_since: float | None = None  # a return under way has been back at rest since then
        self._last_usable_ms: float | None = None
        self._last_quiet_ms: float | None = None
        self._quiet_run_ms: float | None = None  # start of the current run of samples at rest
        self._settled = False
        self._settle_s = settle_s  # how long still makes a rest when starting afresh
        self._series: list[tuple[float, float]] = []  # (t_ms, excursion) while active
        self._frames = 0
        self._seen = 0
        self._peak = (np.nan, -np.inf, np.nan)  # (t_ms, excursion, value)
        self._held: deque[tuple[float, float]] = deque()  # (t_ms, excursion) over the last min_dwell_s
        self._held_peak = -np.inf
        self._hold_run_s = 0.0
        self._out_of_hold_ms: float | None = None  # when the rep in progress last left its hold band
        self._baseline = np.nan
        self._rest_in_range_deg = np.nan  # the last rest inside the spec's rest range
        self._began_before = False
        if self._awaiting is not None:
            self._drop_awaiting()
        self._rest_unseen = False  # the rest is the recording's first still moment, maybe not a rest
        self._since_first_frame = None

    @property
    def active(self) -> bool:
        """Whether a rep is in progress."""
        return self._active

    @property
    def active_since_ms(self) -> float:
        """When the rep in progress left rest (nan at rest)."""
        return self._series_start if self._active else np.nan

    @property
    def unresolved_since_ms(self) -> float:
        """The first moment not yet told rest or rep: the samples before the first rest, or a queued
        rep, that may hold a larger movement than another leg's rep at the time (NaN: none)."""
        if self._lead_in:
            return self._lead_in[0][0]
        return self._queued[0].start_ms if self._queued else np.nan

    @property
    def peak_excursion_deg(self) -> float:
        """The largest excursion of the rep in progress so far (nan at rest)."""
        return self._peak[1] if self._active else np.nan

    @property
    def phase(self) -> str:
        """The phase name now: the spec's rest phase, or its active one during a rep."""
        return self.rep.phase_names[1] if self._active else self.rep.phase_names[0]

    def excursion(self, value: float) -> float:
        """How far the value is from the rest baseline, in the rep's direction (NaN before a baseline)."""
        return (value - self._baseline) * self._sign if np.isfinite(self._baseline) else np.nan

    def cancel(self, kind: str | None = None, detail: str = "") -> None:
        """Drop the rep in progress (another side is the one moving, or it lasted too long) and re-baseline.

        With a rejection ``kind`` the dropped movement is kept as rejected (an echo of another leg is not).
        """
        if kind is not None and self._active and self._series:
            self._reject(self._series[-1][0], kind, detail)
        if self._awaiting is not None:
            self._drop_awaiting()
        self._since_first_frame = None
        self._active = False
        self._began_before = False
        self._settled = False
        self._quiet_run_ms = None
        self._rest.clear()
        self._series = []
        self._pending_since = None
        self._rest_since = None
        self._hold_run_s = 0.0

    # --- the verb ----------------------------------------------------------------------------
    def update(self, t_ms: float, value: float, usable: bool = True, may_start: bool = True,
               in_view: bool = True) -> CounterState:
        """One frame. ``may_start`` False: follow the rest position but start no rep (another leg works).
        ``in_view`` False: nobody was found in the frame (not merely out of the position)."""
        seen = usable and bool(np.isfinite(value))
        if self._active:
            self._frames += 1
            self._seen += seen
        if not seen:
            if self._last_usable_ms is not None and t_ms - self._last_usable_ms > MAX_GAP_S * 1000:
                self._out_of_sight(in_view)
            state = CounterState(self.phase, np.nan, 0.0)
        else:
            dt_s = 0.0 if self._last_usable_ms is None else (t_ms - self._last_usable_ms) / 1000
            self._last_usable_ms = t_ms
            state = self._update_active(t_ms, value, dt_s) if self._active else self._update_rest(t_ms, value, may_start)
        if self._queued:  # the lead-in's reps go first: they came before anything completed now
            if state.completed is not None:
                self._queued.append(state.completed)
            state = replace(state, completed=self._queued.popleft())
        return state

    def _out_of_sight(self, in_view: bool) -> None:
        """No usable value for longer than MAX_GAP_S: what was under way ends there.

        The rep in progress is judged as one cut off by the end of a recording: it counts if its
        top was seen (it was on its way back) or it was held, else it is listed as out of sight.
        Nobody in view (``in_view`` False: the person left, or the model lost them), counting then
        starts again as at the start of a recording: the driver's first still moment is looked
        for, and the reps before it, one under way then, or a position held from the first frame
        back count (``_first_rest``). Out of the position in view (turning over, sitting up), the
        way back into it is no rep: the rest is where the driver settles (AFRESH_SETTLE_S), as it
        is for a counter of either way (``two_way``) in both cases.
        """
        if self._active and self._series:
            cand = self._cut_off(self.rep.max_duration_s, unfinished="out_of_sight")
            if cand is not None:
                self._queued.append(cand)
        self.reset(settle_s=AFRESH_SETTLE_S)
        if not in_view and not self._two_way:
            self._lead_in = []

    def _update_rest(self, t_ms: float, value: float, may_start: bool = True) -> CounterState:
        self._rest.append((t_ms, value))
        while self._rest and t_ms - self._rest[0][0] > BASELINE_WINDOW_S * 1000:
            self._rest.popleft()
        one_way = not self._two_way and self._lead_in is None
        if self._since_first_frame is not None:
            self._rest_found_further_back(t_ms, value, may_start)
        if not self._settled and one_way:
            self._settle_where_still()
        ranged = one_way and self.rep.rest_range_deg is not None
        leaned_away = ranged and self._rest_beyond_away_side()
        self._baseline = self._rest_extreme()
        if leaned_away and self._rest_in_range():
            self._back_from_leaning_away(value)
        if ranged and self._rest_in_range() and self._still_since(list(self._rest)) is not None:
            # where the driver rests: the middle of the window (its extreme may be a lean's first degrees)
            self._rest_in_range_deg = float(np.median([v for _, v in self._rest]))
        e = self.excursion(value)
        if e <= max(self.rep.exit_deg, 1.0):
            self._last_quiet_ms = t_ms
            self._quiet_run_ms = t_ms if self._quiet_run_ms is None else self._quiet_run_ms
            # a recording that starts mid-movement has no rest yet: wait until the person is still
            self._settled = self._settled or t_ms - self._quiet_run_ms >= REST_SETTLE_S * 1000
        else:
            self._quiet_run_ms = None
        if self._lead_in is not None:
            self._lead_in.append((t_ms, value))
            still_from = self._still_since(self._lead_in)
            if still_from is None:
                return CounterState(self.phase, e, 0.0)  # no rep starts before the first still moment
            lead_in, self._lead_in = self._lead_in, None
            completed = self._first_rest(lead_in, still_from, may_start)
            if completed is not None or self._active:
                return CounterState(self.phase, self.excursion(value), 0.0, completed)
            e = self.excursion(value)
        if self._first_still_ms is not None:
            if t_ms - self._first_still_ms >= self.rep.min_duration_s * 1000:
                self._first_still_ms = None  # held long enough: the rest is trusted
            elif e >= self.rep.enter_deg:
                # left sooner than a rep could last: getting into position; the rest is taken afresh
                self._first_still_ms = None
                self._settled = False
                self._quiet_run_ms = None
                self._pending_since = None
                self._rest.clear()
                self._rest.append((t_ms, value))
                return CounterState(self.phase, np.nan, 0.0)
        if e >= self.rep.enter_deg and self._settled and self._may_start_from(self._baseline, value) and may_start:
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
        completed = self._judge_awaiting() if self._awaiting is not None and not self._active else None
        return CounterState(self.phase, e, 0.0, completed)

    def _settle_where_still(self) -> None:
        """Starting afresh (after a gap or a dropped rep): the rest is where the driver comes to rest.

        The most rest-like value since starting afresh may belong to the movement that brought the
        person back (turning over onto the other side); a rest a few degrees from it would then
        never look quiet, and the next rep would not start. Once the driver has been still for
        REST_SETTLE_S (AFRESH_SETTLE_S back after a gap), the rest is taken from that still run, as
        at the start of a recording.
        """
        still_from = self._still_since(list(self._rest), self._settle_s)
        if still_from is None:
            return
        while self._rest[0][0] < still_from:
            self._rest.popleft()
        self._settled = True
        self._settle_s = REST_SETTLE_S  # back after the gap: later fresh starts need no more than usual

    def _back_from_leaning_away(self, value: float) -> None:
        """The rest comes back into the rest range after the driver leaned the other way beyond it.

        Leaning the other way is not a rep (the shins while the other side turns); the rest then
        was out of the range, where no rep starts. Back still where it rested before (within a
        rep's start), the most rest-like values in the window are the way back, not a rest: measured
        from them, the rest itself would read as a rep. The rest is where the driver is still. (A
        driver that rested beyond the range and moves into it, or is still moving, is left alone:
        a rep from a rest beyond the range, see ``_may_start_from``.)
        """
        before = self._rest_in_range_deg
        if not np.isfinite(before) or abs(value - before) >= self.rep.enter_deg:
            return
        still_from = self._still_since(list(self._rest))
        if still_from is None:
            return
        while self._rest[0][0] < still_from:
            self._rest.popleft()
        self._baseline = self._rest_extreme()

    def _rest_extreme(self) -> float:
        """The most rest-like value of the rest window (counted both ways, a robust extreme)."""
        vals = np.array([v for _, v in self._rest])
        if self._two_way:
            return float(np.percentile(vals, 10 if self._sign > 0 else 90))
        return float(vals.min() if self._sign > 0 else vals.max())

    def _rest_in_range(self) -> bool:
        lim = self.rep.rest_range_deg
        return lim is None or lim[0] <= self._baseline <= lim[1]

    def _rest_beyond_away_side(self) -> bool:
        """The rest so far lies beyond the spec's rest range on the side away from the rep."""
        lim = self.rep.rest_range_deg
        if lim is None or not np.isfinite(self._baseline):
            return False
        near = lim[0] if self._sign > 0 else lim[1]
        return (self._baseline - near) * self._sign < 0

    def _may_start_from(self, rest: float, value: float) -> bool:
        """May a rep from a rest at ``rest`` be under way now that the driver reads ``value``?

        From inside the spec's rest range, yes. From beyond it on the side away from the rep (a
        person leaning on a support rests the working thigh well forward), only once the driver is
        past the range's far edge by a rep's start, where no rest can be: a move from such a
        reading back into the range is a change of position (standing up out of a squat), not a
        rep. Counted both ways, either side of the range is on some rep's side: in range only.
        """
        lim = self.rep.rest_range_deg
        if lim is None or lim[0] <= rest <= lim[1]:
            return True
        if self._two_way:
            return False
        near, far = (lim[0], lim[1]) if self._sign > 0 else (lim[1], lim[0])
        return (rest - near) * self._sign < 0 and (value - far) * self._sign >= self.rep.enter_deg

    def _still_since(self, samples: list[tuple[float, float]], span_s: float = REST_SETTLE_S) -> float | None:
        """Start of the trailing run of samples that spans ``span_s`` and moves less than the hysteresis gap.

        Counted both ways (``two_way``), less than the quiet of a rest, for as long as the rest position
        is looked for (BASELINE_WINDOW_S); a driver that never gets that quiet (a noisy model)
        then falls back to the hysteresis gap rather than never counting.
        """
        t_last = samples[-1][0]
        tol = self._stillness_deg
        if self._two_way and t_last - samples[0][0] < BASELINE_WINDOW_S * 1000:
            tol = max(self.rep.exit_deg, 1.0)
        lo = hi = samples[-1][1]
        for t, v in reversed(samples):
            lo, hi = min(lo, v), max(hi, v)
            if hi - lo > tol:
                return None
            if t_last - t >= span_s * 1000:
                return t
        return None

    def _first_rest(self, lead_in: list[tuple[float, float]], still_from: float, may_start: bool) -> RepCandidate | None:
        """The first still moment of the recording: was the person mid-rep, or in position, before it?

        Still where the spec says rest cannot be, past it on the rep's side: the recording started
        in the position (a stretch already held; past the edge of the rest range by a rep's start);
        that hold runs from the first frame, measured from the edge of the rest range. Still at rest: the frames before may be the end of a rep
        that was under way when the recording started.
        """
        still = [v for t, v in lead_in if t >= still_from]
        self._baseline = float(np.median(still))
        # 0.2 s that moved less than the hysteresis gap: a slow movement passes for it, so the first
        # rep is measured from a moment, maybe not the rest (see _judge_awaiting)
        self._rest_unseen = not self._two_way
        self._rest.clear()
        self._rest.extend((t, v) for t, v in lead_in if t >= still_from)
        self._settled = True
        if self._two_way:
            self._first_still_ms = still_from
        lim = self.rep.rest_range_deg
        if not may_start:
            return None
        i_rest = int(np.argmin([self.excursion(v) for _, v in lead_in]))
        rest_value = lead_in[i_rest][1]
        if (not self._two_way and self.excursion(rest_value) <= -self.rep.enter_deg
                and self._may_start_from(rest_value, self._baseline)):
            # the recording was at rest, nearer it than this first still moment: a rep whose start
            # was seen (too soon to have settled), and this stillness is its top; reps out and back
            # to that rest before it, without a pause, count first
            self._baseline = rest_value
            open_start, closed = self._count_lead_in_cycles(lead_in, last_ends_ms=None)
            if closed == 0 or open_start is None:
                # rising from the first frame: the rep was under way before it, and is seen only in part
                self._active_from(lead_in[i_rest:], began_before=i_rest == 0 and self._moving_at_first(lead_in))
            else:  # from its own start, after the reps before it
                self._active_from(lead_in[open_start:], began_before=False)
            return None
        if not self._rest_in_range():
            edge = lim[1] if self._sign > 0 else lim[0]
            # past the edge by a rep's start: unmistakably not at rest
            if (self._baseline - edge) * self._sign >= self.rep.enter_deg:
                self._baseline = edge
                self._begin_before_recording(lead_in)
            elif not self._two_way:
                self._look_further_back(lead_in)
            return None
        moving = [(t, v) for t, v in lead_in if t < still_from]
        if not self._two_way:
            # every cycle out and back before this rest counts (reps without a pause), the last
            # ending where the driver came to rest
            _, closed = self._count_lead_in_cycles(moving, last_ends_ms=still_from)
            if closed == 0:
                self._look_further_back(lead_in)
            return None
        if len(moving) < 2 or self.excursion(moving[0][1]) < self.rep.enter_deg:
            return None  # the recording started at rest (or barely off it)
        return self._judged_as_a_rep(moving, began_before=True, end_ms=still_from)

    def _look_further_back(self, lead_in: list[tuple[float, float]]) -> None:
        """The first still moment may be the top of a rep under way when the recording started (a
        slow rise, or the hold, is as still as a rest): keep the samples from the first frame until
        the driver is seen still somewhere further back (``_rest_found_further_back``)."""
        self._since_first_frame = list(lead_in)
        self._first_still_value = self._baseline

    def _rest_found_further_back(self, t_ms: float, value: float, may_start: bool) -> None:
        """The driver, since the recording's first still moment, is still again further back from it
        than a rep's start, inside the spec's rest range: that moment was no rest but the top of a
        rep under way as the recording started, and this is the rest it came back to.

        The samples from the first frame to this rest are cut into reps as a lead-in is, measured
        from this rest; the first began before the recording and counts only if its work was seen
        (``_work_seen``: it still rose to its top). They are queued marked ``found_late``: the caller
        counts them at the end of the recording, as found this late another leg's reps meanwhile may
        already be counted and shown (see ``ExerciseEvaluator._count_found_late``). The search ends
        with a rep from the first still moment (it was a rest), with another leg working
        (``may_start`` False), with a gap, or once the samples since the first frame span longer
        than a rep can last.
        """
        samples = self._since_first_frame
        samples.append((t_ms, value))
        if not may_start or t_ms - samples[0][0] > self.rep.max_duration_s * 1000:
            self._since_first_frame = None
            return
        still_from = self._still_since(list(self._rest))
        if still_from is None:
            return
        rest = float(np.median([v for t, v in self._rest if t >= still_from]))
        lim = self.rep.rest_range_deg
        if (rest - self._first_still_value) * self._sign > -self.rep.enter_deg:
            return
        if lim is not None and not lim[0] <= rest <= lim[1]:
            return
        self._since_first_frame = None
        self._rest_unseen = False
        while self._rest[0][0] < still_from:
            self._rest.popleft()
        self._baseline = rest
        before = [(t, v) for t, v in samples if t < still_from]
        found: deque[RepCandidate] = deque()
        self._count_lead_in_cycles(before, last_ends_ms=still_from, into=found)
        self._queued.extend(replace(c, found_late=True) for c in found)
        self._last_quiet_ms = self._quiet_run_ms = t_ms
        self._pending_since = None

    def _count_lead_in_cycles(self, samples: list[tuple[float, float]], last_ends_ms: float | None,
                              into: deque[RepCandidate] | None = None) -> tuple[int | None, int]:
        """The reps among the samples before the first rest, measured from the rest now known; queued.

        A cycle starts where the driver passes a rep's start (from its last moment at rest, or from
        the first frame: then it began before the recording) and ends once back as a rep in progress
        ends (``_exit_threshold`` for ``min_dwell_s``), as the reps after the first rest are told
        apart: quick reps without a pause at the bottom are still reps. Each is judged as any rep
        (too quick, too small, its top unseen), and queued, or put ``into`` the deque given.
        ``last_ends_ms``: the last cycle ends there (the driver is at rest then); None: a cycle
        still out at the end is left to the caller, who gets the index of its first sample (None if
        every cycle came back), with how many cycles came back.
        """
        cycles: list[tuple[int, int]] = []
        start: int | None = None
        quiet_i, peak_e, back_i = 0, -np.inf, None
        gap = self.rep.enter_deg - self.rep.exit_deg
        for i, (t, v) in enumerate(samples):
            e = self.excursion(v)
            if start is None:
                if cycles:
                    # back from a cycle, the next starts once the driver turns out again from its lowest
                    # since (a slow way down to rest, still past a rep's start, is no new cycle)
                    if e <= self.excursion(samples[quiet_i][1]):
                        quiet_i = i
                    elif e >= self.rep.enter_deg and e - self.excursion(samples[quiet_i][1]) >= gap:
                        start, peak_e, back_i = quiet_i, e, None
                elif e <= self.rep.exit_deg:
                    quiet_i = i
                elif e >= self.rep.enter_deg:
                    start, peak_e, back_i = quiet_i, e, None
                continue
            peak_e = max(peak_e, e)
            if e <= max(self.rep.exit_deg, (1.0 - self.rep.return_fraction) * peak_e):
                back_i = i if back_i is None else back_i
                if t - samples[back_i][0] >= self.rep.min_dwell_s * 1000:
                    cycles.append((start, back_i))
                    start, quiet_i = None, i
            else:
                back_i = None
        open_start = start if last_ends_ms is None else None
        if start is not None and last_ends_ms is not None:
            cycles.append((start, len(samples) - 1))
        rest_unseen = self._rest_unseen
        for n, (i0, i1) in enumerate(cycles):
            at_rest = last_ends_ms is not None and n == len(cycles) - 1
            if at_rest:  # it ends where the driver came to rest, as a rep begun before always has
                i1 = len(samples) - 1
            end_ms = last_ends_ms if at_rest else samples[i1][0]
            # only the cycle ending at the first still moment is measured from a moment that may
            # not be the rest (the others came back to it before): it may wait to be judged
            self._rest_unseen = rest_unseen and at_rest
            cycle = samples[i0:i1 + 1]
            completed = self._judged_as_a_rep(cycle, began_before=i0 == 0 and self._off_rest(cycle[0][1]), end_ms=end_ms)
            if completed is not None:
                (self._queued if into is None else into).append(completed)
        # the first rest's own rep (in the normal way, or the one now under way) may still wait to be judged
        self._rest_unseen = rest_unseen and not (cycles and last_ends_ms is not None)
        return open_start, len(cycles)

    def _judged_as_a_rep(self, samples: list[tuple[float, float]], began_before: bool,
                         end_ms: float) -> RepCandidate | None:
        """Samples seen before the first rest, judged as one whole rep ending at ``end_ms``; none is
        left in progress."""
        self._active_from(samples, began_before=began_before)
        completed = self._complete(end_ms=end_ms, complete=True)
        self._active = False
        self._began_before = False
        self._series = []
        return completed

    def _off_rest(self, value: float) -> bool:
        """Out beyond where a rep ends: a cycle seen from such a first frame began before the recording."""
        return self.excursion(value) > self.rep.exit_deg

    def _moving_at_first(self, samples: list[tuple[float, float]]) -> bool:
        """The driver moved from the first frame on, further in REST_SETTLE_S than a rest's stillness allows."""
        t_first = samples[0][0]
        first = [v for t, v in samples if t - t_first <= REST_SETTLE_S * 1000]
        return len(first) >= 2 and max(first) - min(first) >= self._stillness_deg

    @property
    def _stillness_deg(self) -> float:
        """How far a still driver may move: the hysteresis gap, at least 2 deg."""
        return max(self.rep.enter_deg - self.rep.exit_deg, 2.0)

    def _begin_before_recording(self, samples: list[tuple[float, float]], in_position: bool = True) -> None:
        """A rep in progress since the first frame: its samples so far, against the current baseline.

        ``in_position``: the recording started still in the position (a held stretch), not moving.
        """
        self._active_from(samples, began_before=True, in_position=in_position)

    def _active_from(self, samples: list[tuple[float, float]], began_before: bool, in_position: bool = False) -> None:
        """A rep in progress over these samples, measured from the current baseline."""
        self._start_active(samples[-1][0], start_ms=samples[0][0])
        self._began_before = began_before
        self._began_in_position = in_position
        self._frames = self._seen = len(samples)
        for t, v in samples:
            self._series.append((t, self.excursion(v)))
            self._note_peak(t, self.excursion(v), v)

    def _start_active(self, t_ms: float, start_ms: float | None = None) -> None:
        """Enter the active phase at ``t_ms``; the rep began at ``start_ms`` (default: when rest was last left)."""
        if self._awaiting is not None:
            self._drop_awaiting()
        self._since_first_frame = None  # a rep from the first still moment: it was a rest
        self._active = True
        if start_ms is None:
            start_ms = self._last_quiet_ms if self._last_quiet_ms is not None else t_ms
        self._series_start = start_ms
        self._series = []
        self._peak = (t_ms, -np.inf, np.nan)
        self._held.clear()
        self._held_peak = -np.inf
        self._frames = self._seen = 1
        self._pending_since = None
        self._dip_in_hold = False
        self._rest_since = None
        self._hold_run_s = 0.0
        self._out_of_hold_ms = None

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

    def _held_now(self) -> bool:
        """Is the latest sample of the rep in progress held (see ``held_samples``)?"""
        recent = []
        for x in reversed(self._series):  # the last wobble's time is all stillness needs
            if x[0] < self._series[-1][0] - HOLD_DIP_MAX_S * 1000:
                break
            recent.append(x)
        t = np.array([x[0] for x in reversed(recent)])
        e = np.array([x[1] for x in reversed(recent)])
        return bool(held_samples(t, e, self._hold_level(), self._peak[1], self.rep.hold_band_deg, self._series[0][0])[-1])

    def _dip_outlasted(self, t_ms: float) -> bool:
        """The dip out of a hold, under way since ``_pending_since``, is longer than a wobble."""
        return t_ms - self._pending_since >= max(self.rep.min_dwell_s, HOLD_DIP_MAX_S) * 1000

    def _exit_threshold(self) -> float:
        return max(self.rep.exit_deg, (1.0 - self.rep.return_fraction) * self._peak[1])

    def _update_active(self, t_ms: float, value: float, dt_s: float) -> CounterState:
        e = self.excursion(value)
        self._series.append((t_ms, e))
        self._note_peak(t_ms, e, value)
        if self._held_now():
            self._hold_run_s += dt_s
            self._out_of_hold_ms = None
        else:  # a brief dip pauses the running hold (shown live) rather than restarting it
            self._out_of_hold_ms = t_ms if self._out_of_hold_ms is None else self._out_of_hold_ms
            if t_ms - self._out_of_hold_ms > HOLD_DIP_MAX_S * 1000:
                self._hold_run_s = 0.0
        if t_ms - self._series_start > self.rep.max_duration_s * 1000:
            # held far too long for a rep: a new position, not a rep; it becomes the new rest
            self.cancel("too_long", f"over {self.rep.max_duration_s:g} s")
            return CounterState(self.phase, np.nan, 0.0)
        completed = None
        done = False
        if e <= self._exit_threshold():
            if self._pending_since is None:
                self._pending_since = t_ms
                self._dip_in_hold = self._hold_time_s() >= HELD_BEFORE_DIP_S
            if e > self.rep.exit_deg:
                self._rest_since = None
            elif self._rest_since is None:
                self._rest_since = t_ms
            done = t_ms - self._pending_since >= self.rep.min_dwell_s * 1000
            if self._dip_in_hold:
                # a dip in the hold ends it once it outlasts a wobble, or once it is back at rest on
                # consecutive samples: one sample there alone (the model gave the legs each other's
                # labels for a frame) is no lowering
                rested = self._rest_since is not None and t_ms > self._rest_since
                done = (rested and done) or self._dip_outlasted(t_ms)
        elif self._dip_in_hold and self._pending_since is not None and e < self._hold_level():
            # still out of the hold: a return that hovers about the exit threshold (the pose
            # jitters; the rest it settles at sits near the threshold) goes on being the dip
            self._rest_since = None
            done = self._dip_outlasted(t_ms)
        else:
            self._pending_since = None
            self._rest_since = None
        if done:
            completed = self._complete(end_ms=self._pending_since, complete=True)
            self._active = False
            self._began_before = False
            self._rest.clear()
            self._rest.append((t_ms, value))
            self._baseline = value
            self._pending_since = None
            self._hold_run_s = 0.0
            self._last_quiet_ms = t_ms
            self._quiet_run_ms = t_ms
        return CounterState(self.phase, e, self._hold_run_s, completed)

    def _reject(self, end_ms: float, kind: str, detail: str = "", candidate: RepCandidate | None = None) -> None:
        self.rejected.append(RejectedMovement(self.side, self._series_start, end_ms, float(self._peak[1]), kind,
                                              detail, candidate))

    def _complete(self, end_ms: float, complete: bool) -> RepCandidate | None:
        peak_t, peak_e, peak_v = self._peak
        rest_unseen, self._rest_unseen = self._rest_unseen, False
        duration_s = (end_ms - self._series_start) / 1000
        if duration_s < self.rep.min_duration_s:
            self._reject(end_ms, "too_quick", f"{duration_s:.1f} s, under {self.rep.min_duration_s:g} s")
            return None
        if self.rep.peak_limit_deg is not None and (peak_v - self.rep.peak_limit_deg) * self._sign < 0:
            self._reject(end_ms, "peak_not_reached", f"{peak_v:.0f} against {self.rep.peak_limit_deg:g}")
            return None
        if self._began_before and not self._work_seen():
            self._reject(end_ms, "began_before")
            return None
        cand = RepCandidate(
            side=self.side,
            start_ms=self._series_start,
            peak_ms=peak_t,
            end_ms=end_ms,
            rom_deg=peak_e,
            peak_value=peak_v,
            hold_s=self._hold_time_s(),
            seen_fraction=self._seen / max(self._frames, 1),
            complete=complete,
            began_before=self._began_before,
            direction=self.rep.direction,
        )
        # held from the first frame, measured from the edge of the rest range: a lower bound of its
        # range, which passed a rep's start to be taken for one
        min_rom = self.rep.enter_deg if self._began_before and self._began_in_position else self.rep.min_rom_deg
        if peak_e < min_rom:
            if rest_unseen and complete:
                self._awaiting = cand  # judged from the rest it comes back to (_judge_awaiting)
                return None
            self._reject(end_ms, "too_small", f"{peak_e:.1f} of the {min_rom:g} needed", candidate=cand)
            return None
        return cand

    def _judge_awaiting(self) -> RepCandidate | None:
        """A rep measured from the first moments seen, too small from them: once the driver is still at
        the rest it came back to, its range is measured from that rest (it was under way when the
        counting began, and its start lay further back)."""
        if self._still_since(list(self._rest)) is None:
            return None
        rom = self.excursion(self._awaiting.peak_value)
        if rom < self.rep.min_rom_deg:
            self._drop_awaiting()
            return None
        cand, self._awaiting = self._awaiting, None
        return replace(cand, rom_deg=rom, began_before=True)

    def _drop_awaiting(self) -> None:
        """The awaiting rep is judged as measured: too small."""
        cand, self._awaiting = self._awaiting, None
        self.rejected.append(RejectedMovement(cand.side, cand.start_ms, cand.end_ms, cand.rom_deg, "too_small",
                                              f"{cand.rom_deg:.1f} of the {self.rep.min_rom_deg:g} needed", cand))

    def _work_seen(self) -> bool:
        """A rep that began before the recording: was its working half seen?

        Out (a lift): it still rose to its top, or held it, in the frames seen. Back (a squat):
        its return to rest, which a completed rep has by definition.
        """
        if self.rep.effort == "back":
            return True
        first_e = self._series[0][1] if self._series else np.nan
        rose = self._peak[1] - first_e >= self.rep.enter_deg - self.rep.exit_deg and self._peak[0] > self._series[0][0]
        # held: only a recording that started still in the position; moving back to rest from the
        # first frame is getting into position, however long it lingered on the way
        return bool(rose or (self._began_in_position and self._hold_time_s() >= BEGUN_HOLD_MIN_S))

    def _hold_time_s(self) -> float:
        """Total time this rep was held: within the hold band of its held peak, or out and still (``held_samples``)."""
        if len(self._series) < 2:
            return 0.0
        t = np.array([s[0] for s in self._series])
        e = np.array([s[1] for s in self._series])
        near = held_samples(t, e, self._hold_level(), self._peak[1], self.rep.hold_band_deg, t[0])[1:]
        return float(np.sum(np.diff(t)[near]) / 1000)

    def finish(self, max_active_s: float) -> RepCandidate | None:
        """At the end of the recording: a rep cut off after its top still counts, marked incomplete.

        Only if it has been active no longer than ``max_active_s`` (about a rep's usual length):
        a value parked past the threshold for the rest of the clip is a position, not a rep; and
        only if its top was inside the recording (it was on its way back) or, for a lift, it was
        held there: a recording that ends on the way up has not shown a rep (nor, for a squat, one
        that ends at the bottom: its work is the way back up). Called until it gives None: reps
        found before the first rest may still be waiting to be given.
        """
        if self._awaiting is not None:
            self._drop_awaiting()  # never seen still at a rest after it: judged as measured
        if self._lead_in is not None and not self._two_way and len(self._lead_in) >= 2 and max_active_s > 0:
            self._never_still()  # in position to the end (the caller's max_active_s): reps without a pause
        if self._active and self._series:
            cand = self._cut_off(max_active_s)
            self._active = False
            if cand is not None:
                self._queued.append(cand)
        return self._queued.popleft() if self._queued else None

    def _cut_off(self, max_active_s: float, unfinished: str = "ended_before_back") -> RepCandidate | None:
        """The rep in progress when the recording ended, judged (see ``finish``); ``unfinished``:
        the kind it is listed as when its top was not seen."""
        end_ms = self._series[-1][0]
        if end_ms - self._series_start > max_active_s * 1000:
            self._reject(end_ms, "too_long", "still in position when the recording ended")
            return None
        held = self.rep.effort == "out" and self._hold_time_s() >= BEGUN_HOLD_MIN_S
        if not (self._came_back() or held):
            self._reject(end_ms, unfinished)
            return None
        return self._complete(end_ms=end_ms, complete=False)

    def _never_still(self) -> None:
        """The recording ended, the person still in position, before the driver was ever still:
        reps without a pause from start to end (one who left the position before settling in it
        was not doing the exercise).

        The rest is the lead-in's most rest-like value; its cycles count as before a first rest,
        and one still out at the end is the rep in progress, judged as any cut off by the end.
        """
        lead_in, self._lead_in = self._lead_in, None
        self._baseline = self._sign * min(self._sign * v for _, v in lead_in)
        open_start, _ = self._count_lead_in_cycles(lead_in, last_ends_ms=None)
        if open_start is not None:
            out = lead_in[open_start:]
            self._active_from(out, began_before=open_start == 0 and self._off_rest(out[0][1]))

    def _came_back(self) -> bool:
        """Past its top and on the way back by at least the hysteresis gap: the top was inside the recording."""
        last_e = self._series[-1][1]
        return bool(self._peak[1] - last_e >= self.rep.enter_deg - self.rep.exit_deg)


@dataclass(frozen=True)
class PositionRun:
    """A stretch of time one side spent in a spec's held position (see ``PositionSpec``)."""

    side: str
    start_ms: float
    end_ms: float
    deepest_deg: float  # the driver's largest excursion held for min_dwell_s in it (-inf: none measured)
    deepest_ms: float  # when that depth was first held
    seen_fraction: float  # share of its frames where the driver was measured
    open: bool = False  # still held when the recording ended

    @property
    def duration_s(self) -> float:
        """How long the run lasted, in seconds."""
        return (self.end_ms - self.start_ms) / 1000


class PositionTracker:
    """Times one side's runs in the held position; ``update`` once per frame.

    A run counts once the position has been held for ``dwell_s``. It survives lapses out of the
    position shorter than ``grace_s`` (a wobble, a frame the model misplaces a leg), and frames that
    cannot be told (a measure unseen, ``None``: the far leg hidden) for up to ``gap_s``, as a rep
    survives its driver unseen. Alongside, it keeps how deep the driver went while in the position,
    as held depth (the excursion kept for ``dwell_s``), so a frame of jitter is not taken for the
    stretch being reached.
    """

    def __init__(self, side: str, dwell_s: float, grace_s: float, gap_s: float = MAX_GAP_S):
        self.side = side
        self._dwell_ms = dwell_s * 1000
        self._grace_ms = grace_s * 1000
        self._gap_ms = max(gap_s, grace_s) * 1000
        self.runs: list[PositionRun] = []  # closed runs, oldest first
        self._reset()

    def _reset(self) -> None:
        self._since: float | None = None
        self._out = False  # seen out of the position since the last frame in it
        self._last_in_ms = np.nan
        self._frames = self._seen = 0
        self._window: deque[tuple[float, float]] = deque()
        self._deepest = (-np.inf, np.nan)  # (excursion, t_ms)

    def update(self, t_ms: float, in_position: bool | None, excursion_deg: float) -> None:
        """One frame: whether the side is in the position (None: cannot tell) and its excursion from rest."""
        if not in_position:
            self._out = self._out or in_position is False
            # seen out of the position: it ends after a moment's grace; only unseen: after the longer gap
            lapse_ms = self._grace_ms if self._out else self._gap_ms
            if self._since is not None and t_ms - self._last_in_ms > lapse_ms:
                self._close(open_=False)
            return
        self._out = False
        if self._since is None:
            self._since = t_ms
        self._last_in_ms = t_ms
        self._frames += 1
        if not np.isfinite(excursion_deg):
            return
        self._seen += 1
        self._window.append((t_ms, excursion_deg))
        while len(self._window) > 1 and self._window[1][0] <= t_ms - self._dwell_ms:
            self._window.popleft()
        if t_ms - self._window[0][0] >= self._dwell_ms:
            held = min(e for _, e in self._window)
            if held > self._deepest[0]:
                self._deepest = (held, t_ms)

    def finish(self) -> None:
        """The recording ended: a run still going is closed, marked open."""
        if self._since is not None:
            self._close(open_=True)

    def _close(self, open_: bool) -> None:
        if self._last_in_ms - self._since >= self._dwell_ms:
            self.runs.append(PositionRun(self.side, self._since, self._last_in_ms, self._deepest[0], self._deepest[1],
                                         self._seen / max(self._frames, 1), open_))
        self._reset()


class TwoWayCounter:
    """Counts a driver that may go either way (``direction: either``): one counter each way, one rep at a time.

    A pelvic tilt shows in the camera as the hip and knee angles opening or closing, depending on
    how the person tilts and where the camera stands, so no one way can be written in the spec.
    Both ways are followed from the same rest; one rep is counted at a time: while one counter is
    in a rep, what the other sees is part of it (the rep's own way back, a wobble in the hold),
    and when a rep ends the other counter takes the rest afresh (its last seconds of "rest" were
    the held position). Unless the other counter completes a whole rep while the first is still
    far out (NEW_POSITION_RATIO): then the first was a move to a new position, and the rep counts.
    Which way the set goes is judged from its reps (``set_direction``); reps the other way are
    listed, not counted.
    """

    def __init__(self, rep: RepSpec, side: str):
        self.rep = rep
        self.side = side
        self._ways = tuple(RepCounter(rep.model_copy(update={"direction": d}), side, two_way=True)
                           for d in ("increase", "decrease"))
        self._rejected: list[RejectedMovement] = []
        self._queued: list[RepCandidate] = []  # a second rep completed in the same frame, given next frame
        self._closest_deg = np.inf  # while the other counter is in a rep: how near its rest the first came

    @property
    def rejected(self) -> list[RejectedMovement]:
        """Both counters' rejected movements; the evaluator drains this list."""
        for way in self._ways:
            self._rejected.extend(way.rejected)
            way.rejected.clear()
        return self._rejected

    def _busy(self) -> RepCounter | None:
        """The counter in a rep (the earlier one, while the other follows a rep inside it)."""
        active = [w for w in self._ways if w.active]
        return min(active, key=lambda w: w.active_since_ms) if active else None

    @property
    def active(self) -> bool:
        """Whether a rep is in progress either way."""
        return self._busy() is not None

    @property
    def active_since_ms(self) -> float:
        """When the rep in progress began (NaN at rest)."""
        busy = self._busy()
        return busy.active_since_ms if busy else np.nan

    @property
    def unresolved_since_ms(self) -> float:
        """As ``RepCounter.unresolved_since_ms``, either way (or a rep queued here)."""
        times = [w.unresolved_since_ms for w in self._ways] + [c.start_ms for c in self._queued]
        return float(np.nanmin(times)) if np.isfinite(times).any() else np.nan

    @property
    def peak_excursion_deg(self) -> float:
        """The furthest excursion of the rep in progress (NaN at rest)."""
        busy = self._busy()
        return busy.peak_excursion_deg if busy else np.nan

    @property
    def phase(self) -> str:
        """The phase name now: the spec's rest phase, or its active one during a rep."""
        return self.rep.phase_names[1] if self.active else self.rep.phase_names[0]

    def cancel(self, kind: str | None = None, detail: str = "") -> None:
        """Drop any rep in progress either way; with a ``kind`` the active one is kept as rejected."""
        for way in self._ways:
            way.cancel(kind if way.active else None, detail)

    def update(self, t_ms: float, value: float, usable: bool = True, may_start: bool = True,
               in_view: bool = True) -> CounterState:
        """One frame, as ``RepCounter.update``: the busy way leads and a rep inside its rep may start a new
        position. Out of view or out of the position, its ways start afresh alike (``in_view`` unused)."""
        busy = self._busy()
        if busy is not None:
            other = self._ways[1] if busy is self._ways[0] else self._ways[0]
            state = busy.update(t_ms, value, usable)
            inner = other.update(t_ms, value, usable)
            other.rejected.clear()  # movements inside the rep are part of it
            if not busy.active:
                other.cancel()  # the held position was no rest: take it afresh from here
                self._closest_deg = np.inf
                return self._with_queued(state)
            if other.active and np.isfinite(state.excursion_deg):
                self._closest_deg = min(self._closest_deg, state.excursion_deg)
            if inner.completed is not None:
                moved = self._closest_deg >= NEW_POSITION_RATIO * inner.completed.rom_deg
                self._closest_deg = np.inf
                if moved:
                    busy.cancel("new_position", f"{inner.completed.rom_deg:.1f} {self.rep.driver} reps from it")
                    return CounterState(self.phase, inner.excursion_deg, 0.0, inner.completed)
            if not other.active:
                self._closest_deg = np.inf
            return self._with_queued(state)
        states = []
        for way in self._ways:
            states.append(way.update(t_ms, value, usable, may_start=may_start and not self.active))
        started = self._busy()
        done = [s.completed for s in states if s.completed is not None]
        self._queued.extend(done[1:])
        if started is not None:
            state = states[self._ways.index(started)]
        else:
            seen = [s.excursion_deg for s in states if np.isfinite(s.excursion_deg)]
            state = CounterState(self.phase, max(seen) if seen else np.nan, 0.0)
        if done:
            state = CounterState(state.phase, state.excursion_deg, state.hold_s, done[0])
        return self._with_queued(state)

    def _with_queued(self, state: CounterState) -> CounterState:
        if state.completed is None and self._queued:
            return CounterState(state.phase, state.excursion_deg, state.hold_s, self._queued.pop(0))
        return state

    def finish(self, max_active_s: float) -> RepCandidate | None:
        """At the end of the recording: the rep still waiting or cut off, as ``RepCounter.finish``, or None."""
        busy = self._busy()
        if busy is not None:
            other = self._ways[1] if busy is self._ways[0] else self._ways[0]
            if other.active:  # a rep inside the rep when the recording ended: which one was it?
                if self._closest_deg >= NEW_POSITION_RATIO * other.peak_excursion_deg:
                    busy.cancel("new_position", f"{other.peak_excursion_deg:.1f} {self.rep.driver} reps from it")
                else:
                    other.cancel()
        self._queued.extend(c for c in (way.finish(max_active_s) for way in self._ways) if c is not None)
        return self._queued.pop(0) if self._queued else None


class SettlingCounter:
    """Counts one way, as ``RepCounter``, and sees a rest the driver settles at in the middle of a "rep".

    A person getting into position (lying down, turning over) moves the driver past a rep's start
    and settles a few degrees from where it began: one-way, that "rep" waits for a return that never
    comes, and the real reps go from the new position inside it, all merged into it. So while a rep
    is out, once the driver has come back from its top (out of the hold band) and stayed still for
    AFRESH_SETTLE_S, an inner counter takes that position as a rest. If a whole rep goes from it
    (out by a rep's start and back, as any rep), the position was a new rest: the outer "rep" is
    listed as ``new_position`` and the inner one counts, and goes on as the counter. A hold is at
    its top, inside the band, and a return to rest ends the outer rep first, so neither starts one.
    """

    def __init__(self, rep: RepSpec, side: str):
        self.rep = rep
        self.side = side
        self._outer = RepCounter(rep, side)
        self._inner: RepCounter | None = None
        self._recent: deque[tuple[float, float]] = deque()  # the outer rep's last samples, for stillness
        self._rejected: list[RejectedMovement] = []

    @property
    def rejected(self) -> list[RejectedMovement]:
        """The counter's rejected movements (and the new positions it left); the evaluator drains this list."""
        self._rejected.extend(self._outer.rejected)
        self._outer.rejected.clear()
        return self._rejected

    @property
    def active(self) -> bool:
        """Whether a rep is in progress."""
        return self._outer.active

    @property
    def active_since_ms(self) -> float:
        """When the rep in progress left rest (nan at rest)."""
        return self._outer.active_since_ms

    @property
    def unresolved_since_ms(self) -> float:
        """As ``RepCounter.unresolved_since_ms``."""
        return self._outer.unresolved_since_ms

    @property
    def peak_excursion_deg(self) -> float:
        """The largest excursion of the rep in progress so far (nan at rest)."""
        return self._outer.peak_excursion_deg

    @property
    def phase(self) -> str:
        """The phase name now: the spec's rest phase, or its active one during a rep."""
        return self._outer.phase

    def cancel(self, kind: str | None = None, detail: str = "") -> None:
        """Drop the rep in progress, as ``RepCounter.cancel``."""
        self._outer.cancel(kind, detail)
        self._forget_inner()

    def _forget_inner(self) -> None:
        self._inner = None
        self._recent.clear()

    def update(self, t_ms: float, value: float, usable: bool = True, may_start: bool = True,
               in_view: bool = True) -> CounterState:
        """One frame, as ``RepCounter.update``."""
        state = self._outer.update(t_ms, value, usable, may_start, in_view)
        if not self._outer.active:
            self._forget_inner()
            return state
        if self._inner is None:
            if not (usable and np.isfinite(value)):
                return state
            self._recent.append((t_ms, value))
            if not self._settled_back_from_top():
                return state
            self._inner = RepCounter(self.rep, self.side, afresh=True)
            for t, v in self._recent:  # the still run is the inner counter's rest
                self._inner.update(t, v)
            return state
        inner = self._inner.update(t_ms, value, usable, may_start, in_view)
        self._inner.rejected.clear()  # movements inside the rep are part of it
        if inner.completed is None:
            return state
        self._new_position(f"{inner.completed.rom_deg:.1f} {self.rep.driver} rep from it")
        return inner

    def _settled_back_from_top(self) -> bool:
        """The outer rep came back out of its hold band and has been still there AFRESH_SETTLE_S."""
        while len(self._recent) > 1 and self._recent[-1][0] - self._recent[1][0] >= AFRESH_SETTLE_S * 1000:
            self._recent.popleft()
        if self._outer._still_since(list(self._recent), AFRESH_SETTLE_S) is None:  # the counter's own stillness
            return False
        furthest = max(self._outer.excursion(v) for _, v in self._recent)
        return bool(furthest <= self._outer.peak_excursion_deg - self.rep.hold_band_deg)

    def _new_position(self, detail: str) -> None:
        """The outer "rep" was a move to a new position; the inner counter goes on as the counter."""
        self._outer.cancel("new_position", detail)
        self._rejected.extend(self._outer.rejected)
        self._outer.rejected.clear()
        self._inner._queued.extendleft(reversed(self._outer._queued))  # found before: still to be given
        self._outer, self._inner = self._inner, None
        self._recent.clear()

    def finish(self, max_active_s: float) -> RepCandidate | None:
        """At the end of the recording, as ``RepCounter.finish``: a rep from the new position under way counts instead."""
        if self._inner is not None and self._inner.active:
            self._new_position(f"{self._inner.peak_excursion_deg:.1f} {self.rep.driver} rep from it")
        return self._outer.finish(max_active_s)


def make_counter(rep: RepSpec, side: str) -> SettlingCounter | TwoWayCounter:
    """The counter a spec's rep block asks for: one way, or both ways (``direction: either``)."""
    return TwoWayCounter(rep, side) if rep.direction == "either" else SettlingCounter(rep, side)


def set_direction(reps) -> str | None:
    """Which way a set of reps (candidates or events, each with ``direction``) goes.

    The way most of them go; on a tie, the way of the first one (the set was established that
    way before the other showed up). None without reps.
    """
    if not reps:
        return None
    ways = [r.direction for r in sorted(reps, key=lambda r: r.start_ms)]
    return max(dict.fromkeys(ways), key=ways.count)  # max keeps the first of equal counts
