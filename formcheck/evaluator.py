"""ExerciseEvaluator: PoseSample in, FrameResult out; ``finish`` gives the SessionReport."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from formcheck.faults import HOLD_TOLERANCE, TOO_SHALLOW_ID, FinishedRep, check_kind, judge_finished_rep, judge_short_hold
from formcheck.faults import seconds_text as _seconds
from formcheck.features import VISIBILITY_MIN, FeatureExtractor
from formcheck.limbs import ArmMergeGuard, BodyMirrorGuard, LegMergeGuard, LimbSwapGuard, SupportFootCheck, other_side
from formcheck.measures import MEASURES, unit_of
from formcheck.phases import (
    MAX_GAP_S,
    REJECTION_KINDS,
    CounterState,
    PositionRun,
    PositionTracker,
    RejectedMovement,
    RepCandidate,
    SettlingCounter,
    TwoWayCounter,
    make_counter,
    set_direction,
)
from formcheck.posture import PLAIN_NAMES, POSTURES, PostureGuess, alike, classify_pose, mean_guess, rules_out
from formcheck.report import FeatureSeries, SessionReport
from formcheck.skeleton import SIDES, Landmark
from formcheck.smoothing import PoseSmoother, SmoothingConfig
from formcheck.spec import ExerciseSpec
from formcheck.types import Fault, FeatureFrame, FeatureKey, FrameResult, PoseSample, RepEvent, feature_value

POSTURE_GRACE_S = 0.5  # a moment out of posture (a wobble, a bad estimate) does not reset counting
POSTURE_SETTLE_S = 0.2  # in the posture this long before counting: passing through it is not doing the exercise
PARKED_LEAD_S = 1.0  # a leg active this long before another leg's rep began is not echoing it
# a leg's own rest before another leg's rep: its most rest-like reading this long before that rep began
ECHO_REST_S = 2.0
SHORT_CLIP_S = 1.0  # no rehab rep is done in under a second
# A spec's position held without the depth counts as one hold once it lasted the prescribed hold,
# or this long if that is less: a stretch held shorter than prescribed is still a stretch (flagged
# short_hold), and 6 s in the position is more than kneeling down, settling and getting up take.
POSITION_HOLD_MIN_S = 6.0
# Both legs in a rep at once is one of two things. The model echoing one leg: the far leg's estimate
# follows the working leg, partly (on the real clips every such pair moved 9-48% as far as the
# working leg), briefly, or with both legs' labels on the one leg (the two coincide in 3D). A double
# lift (both legs raised together): two legs, apart in 3D, moving alike for the whole rep. It takes
# all three to be a double lift; anything less stays an echo, as before:
DOUBLE_APART_MIN = 0.3  # knees and ankles a third of the hips' width apart in 3D: two legs, even touching
DOUBLE_ROM_MIN = 0.6  # the smaller lift at least 60% of the larger: an echo is partial
DOUBLE_TOGETHER_MIN = 0.7  # sharing 70% of the time either leg was in the rep: an echo is brief
NOT_JUDGED_BELOW = 0.5  # a fault's feature seen in under half of the rep frames was not really checked
# Judged against the set, at the end: a rep under a third of its side's typical range is a settling
# movement or the model echoing the working leg, not a rep ...
SET_SMALL_FRACTION = 1 / 3
# ... the typical range of a side that did at least this many whole reps; a side with fewer has no
# typical of its own and is judged against the whole set (both legs do the same exercise), but only
# a rep that its own side also dwarfs: a weak leg whose every lift is small keeps them all.
SET_TYPICAL_MIN = 3
# ... while cycles that fell short of the spec's minimum range count when they are the whole set
# (at least this many, of a like size): a patient who can only lift a little is told "higher", not 0.
SMALL_SET_MIN = 2
# A rep the recording started in is seen only in part: it counts when its top is where the set's
# other reps peak (every angle within half their typical range); elsewhere it was a different
# position (sitting with the legs out before a butterfly), not a rep of this set.
BEGUN_PEAK_TOLERANCE = 0.5
VIEW_DECISION_S = 3.0  # look this long before judging the camera view
VIEW_JUDGE_EVERY_S = 1.0  # then judge again at this pace, not every frame
VIEW_WINDOW = 900  # judge on the latest samples (30 s at 30 fps): memory and time stay flat on long clips
# How side-on the camera sees the body: |depth part| of the body's left-right axis (3D landmarks),
# 1 = exactly side-on at eye level, 0 = facing the camera; a camera raised 30 deg gives at most
# 0.87. 0.75 is about 40 deg away from side-on: on rendered clips a bridge filmed 25 deg toward the
# feet from 30 deg up still measures well, while a standing person filmed 45 deg off has sagittal
# angles shortened by a quarter and legs the model mirrors.
MIN_SIDE_ON = 0.75
MAX_SIDE_ON_FOR_FRONT = 0.7
# Lying on the side, the body's left-right axis stands upright, so its depth share is the camera's
# height angle, not its angle round the body, and the model reads that depth on stacked hips and
# shoulders loosely: the advised camera (raised in front, looking down the mat; rendered 35 deg up,
# 0.47 from the rendered landmarks) reads 0.45-0.77 through the model, across the limit above. Too
# side-on lying is a camera nearly overhead (65 deg up reads 0.85 rendered), where the lift comes
# straight at it.
MAX_SIDE_ON_FOR_FRONT_SIDE_LYING = 0.8


def max_side_on_for_front(spec: ExerciseSpec) -> float:
    """How side-on a front-view spec's camera may read (see MAX_SIDE_ON_FOR_FRONT_SIDE_LYING)."""
    return MAX_SIDE_ON_FOR_FRONT_SIDE_LYING if spec.posture == "side_lying" else MAX_SIDE_ON_FOR_FRONT


# The camera's angle is read from the person between reps, in the exercise's start position: while a
# limb lifts, the model's depth of the hip and shoulder on its side moves with it (a bird dog's near
# leg reaching back, filmed 25 deg off side-on from above, reads 0.65 while the body stays square
# and reads 0.85 at rest), and a set of such reps would tip the judgement to "not side-on".
# Between reps stands for the clip only while it says about what every frame says: a rep twists the
# trunk some 30 deg at most, which moves the reading (the sine of the body's angle to the camera) by
# up to 0.5; frames between reps that differ by more come from another camera shot of an edited clip
# (a front-on cable abduction read side-on in its few frames between "reps" of a hip extension).
REST_VIEW_MAX_SHIFT = 0.5
# Without 3D landmarks: shoulder width / torso length in the image, small when seen side-on.
SIDE_VIEW_MAX_RATIO = 0.45
FRONT_VIEW_MIN_RATIO = 0.6
KEY_LANDMARKS = {
    "shoulders": (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER),
    "hips": (Landmark.LEFT_HIP, Landmark.RIGHT_HIP),
    "knees": (Landmark.LEFT_KNEE, Landmark.RIGHT_KNEE),
    "feet": (Landmark.LEFT_ANKLE, Landmark.RIGHT_ANKLE),
}

_KEY_INDEX = np.array(list(KEY_LANDMARKS.values()))


class SideOverrideError(ValueError):
    """--side given for an exercise that is not counted per side."""


class ViewCheck:
    """Says once when the camera sees the person from the wrong angle or not whole."""

    def __init__(self, spec: ExerciseSpec):
        self.spec = spec
        self._ratios: deque[float] = deque(maxlen=VIEW_WINDOW)
        self._side_on: deque[float] = deque(maxlen=VIEW_WINDOW)
        # the same, only from frames between reps (see the note at MIN_SIDE_ON)
        self._ratios_rest: deque[float] = deque(maxlen=VIEW_WINDOW)
        self._side_on_rest: deque[float] = deque(maxlen=VIEW_WINDOW)
        self._judged_ms = -np.inf
        self._out: dict[str, int] = {k: 0 for k in KEY_LANDMARKS}
        self._frames = 0
        self._start_ms: float | None = None
        self._said: set[str] = set()
        self.view_mismatch = False

    def update(self, pose: PoseSample, in_rep: bool = False) -> tuple[str, ...]:
        """Take one pose; return any new notices about the view (judged now and then, once the first seconds are seen).

        ``in_rep``: a rep is under way; the view is judged from the frames between reps when there are any.
        """
        if not pose.detected:
            return ()
        self._start_ms = pose.timestamp_ms if self._start_ms is None else self._start_ms
        self._frames += 1
        xy, (w, h) = pose.image_xyz_px[:, :2], pose.frame_size_px
        p = xy[_KEY_INDEX]  # every part's landmarks at once: (parts, landmarks per part, 2)
        seen = (p[..., 0] >= 0) & (p[..., 0] < w) & (p[..., 1] >= 0) & (p[..., 1] < h)
        seen &= pose.visibility[_KEY_INDEX] >= VISIBILITY_MIN
        for part, part_seen in zip(KEY_LANDMARKS, seen.any(axis=1)):
            self._out[part] += int(not part_seen)
        sh = xy[Landmark.LEFT_SHOULDER] - xy[Landmark.RIGHT_SHOULDER]
        torso = (xy[Landmark.LEFT_SHOULDER] + xy[Landmark.RIGHT_SHOULDER] - xy[Landmark.LEFT_HIP] - xy[Landmark.RIGHT_HIP]) / 2
        ratio = np.linalg.norm(sh) / max(np.linalg.norm(torso), 1e-6)
        if np.isfinite(ratio):
            self._ratios.append(float(ratio))
            if not in_rep:
                self._ratios_rest.append(float(ratio))
        world = pose.world_xyz_m
        lateral = (world[Landmark.LEFT_HIP] - world[Landmark.RIGHT_HIP]
                   + world[Landmark.LEFT_SHOULDER] - world[Landmark.RIGHT_SHOULDER])
        norm = float(np.linalg.norm(lateral))
        if np.isfinite(norm) and norm > 1e-6:
            side_on = abs(float(lateral[2])) / norm
            self._side_on.append(side_on)
            if not in_rep:
                self._side_on_rest.append(side_on)
        if pose.timestamp_ms - self._start_ms < VIEW_DECISION_S * 1000:
            return ()
        if pose.timestamp_ms - self._judged_ms < VIEW_JUDGE_EVERY_S * 1000:
            return ()
        self._judged_ms = pose.timestamp_ms
        return self._judge()

    def _judge(self) -> tuple[str, ...]:
        notes = []
        ratios = self._ratios_rest or self._ratios
        if self._side_on:
            side_on = float(np.median(self._side_on))
            if self._side_on_rest and abs(float(np.median(self._side_on_rest)) - side_on) <= REST_VIEW_MAX_SHIFT:
                side_on = float(np.median(self._side_on_rest))
            too_frontal, too_side_on = side_on < MIN_SIDE_ON, side_on > max_side_on_for_front(self.spec)
        else:
            ratio = float(np.median(ratios)) if ratios else np.nan
            too_frontal, too_side_on = ratio > FRONT_VIEW_MIN_RATIO, ratio < SIDE_VIEW_MAX_RATIO
        if self.spec.view == "side" and too_frontal:
            notes.append(("view", "The camera is not side-on: this exercise is checked from the side. Turn side-on to the camera."))
        if self.spec.view == "front" and too_side_on:
            notes.append(("view", "The camera sees you side-on: this exercise is checked from the front. Face the camera."))
        missing = [p for p, n in self._out.items() if n > 0.3 * self._frames]
        if missing:
            notes.append(("frame", f"Your {' and '.join(missing)} are often out of view: move back so your whole body is visible."))
        # sticky: once the person has been told the view is wrong, the report agrees with it
        self.view_mismatch = self.view_mismatch or any(key == "view" for key, _ in notes)
        fresh = tuple(text for key, text in notes if key not in self._said)
        self._said.update(key for key, _ in notes)
        return fresh

    def finish(self) -> tuple[str, ...]:
        """Judge the view one last time when the poses end; return any new notices."""
        return self._judge() if self._frames else ()


class ExerciseEvaluator:
    """Runs one exercise spec over a stream of poses: smoothing, features, reps, holds, faults."""

    def __init__(self, spec: ExerciseSpec, side: str | None = None, smoothing: SmoothingConfig = SmoothingConfig(),
                 classify_posture: Callable[[PoseSample], PostureGuess] = classify_pose):
        if side is not None and spec.sides != "per_side":
            raise SideOverrideError(f"{spec.id} is done with both legs together; --side applies only to one-sided exercises")
        if side is not None and side not in SIDES:
            raise SideOverrideError(f"unknown side {side!r}; valid: {', '.join(SIDES)}")
        self.spec = spec
        self.prescribed_by = "spec"  # pipeline.build_evaluator says when options or a programme set the dose
        self.sets: int | None = None
        self.side_override = side
        # The same exercise counted from the 3D world landmarks, which a camera in front does not
        # flatten: its count stands in when the camera turns out not to be side-on.
        world = world_driver_variant(spec)
        self._world_twin = ExerciseEvaluator(world, side, smoothing, classify_posture) if world is not None else None
        # before smoothing: a swapped sample smoothed would smear each leg toward the other
        self._mirror = BodyMirrorGuard()  # the whole body first: the limbs are then judged against it
        self._limbs = LimbSwapGuard("legs")
        # the model mirrors the upper body now and then, or draws both arms in, for a sample or two
        self._arm_merge = ArmMergeGuard()
        self._arms = LimbSwapGuard("arms")
        # on all fours the supporting knee is planted: both knees cannot jump together (see LegMergeGuard)
        self._merge = LegMergeGuard() if spec.posture == "quadruped" else None
        # a whole lift's labels gone over with the far leg: judged per set at the end, from the resting foot
        self._support = SupportFootCheck()
        self._smoother = PoseSmoother(smoothing)
        self._features = FeatureExtractor(spec, classify_posture)
        sides = (side,) if side else spec.counter_sides
        self._counters = {s: make_counter(spec.rep, s) for s in sides}
        # near_camera: only the leg facing the camera is counted (unless the user named the side)
        self._near_only = spec.working_side == "near_camera" and side is None
        self._frame_rules = [r for r in spec.faults if check_kind(r).scope == "frame"]
        self._rep_rules = [r for r in spec.faults if check_kind(r).scope == "rep"]
        self._trackers = {s: [check_kind(r).tracker(r, s) for r in self._frame_rules] for s in sides}
        # the held position itself (half-kneeling), timed per side, for a hold that never reached the depth
        self._positions = ({s: PositionTracker(s, spec.rep.min_dwell_s, POSTURE_GRACE_S, MAX_GAP_S) for s in sides}
                           if spec.position is not None else {})
        self._first_usable_ms: float | None = None
        self._view = ViewCheck(spec)
        history_s = spec.rep.max_duration_s + 2.0
        self._history: deque[FeatureFrame] = deque()
        self._frame_postures: deque[tuple[float, PostureGuess]] = deque()  # each detected frame's own posture guess
        self._legs_apart: deque[tuple[float, float]] = deque()  # each detected frame's legs_apart
        # reps whose frames did not show the spec's posture, kept until the session shows it (or ends)
        self._awaiting_posture: list[tuple[RepEvent, PostureGuess]] = []
        self._history_ms = history_s * 1000
        self._pending: list[RepCandidate] = []
        self._reps: list[RepEvent] = []
        self._faults: list[Fault] = []
        self._unattached: list[Fault] = []
        self._notices: list[str] = []
        self._rejected: list[RejectedMovement] = []
        # full cycles short of min_rom, judged at the end, with the posture their frames showed
        self._small: list[tuple[RejectedMovement, RepEvent, PostureGuess]] = []
        # reps a counter found only once a later rest showed them (RepCandidate.found_late), judged
        # when found, with the posture their frames showed, and counted at the end (_count_found_late)
        self._found_late: list[tuple[RepEvent, PostureGuess]] = []
        self._largest_excursion = -np.inf  # of any counter while usable: says how far from a rep a 0 was
        self._not_judged: tuple[str, ...] = ()
        self._series_t: list[float] = []
        self._series: dict[str, list[float]] = {}
        self._frames = self._detected = self._unseen = self._posture_bad = 0
        self._posture_bad_since: float | None = None
        self._posture_ok_since: float | None = None
        self._settled = False
        self._last_detected_ms: float | None = None
        # the frames in posture while it settles: once it has, the counters get them first
        self._settling: list[FeatureFrame] = []
        self._first_ms: float | None = None
        self._last_ms: float | None = None
        self._shown_counts: dict[str, int] = {}  # the counts the last frame's result showed
        # the counts shown when the view was judged wrong: the twin's count shown from then on is never below them
        self._floor_counts: dict[str, int] | None = None

    # --- the verb ----------------------------------------------------------------------------
    def update(self, pose: PoseSample) -> FrameResult:
        """Take one pose and return the frame's result: phases, counts, hold, new reps, faults and notices."""
        twin = self._world_twin.update(pose) if self._world_twin is not None else None
        t = pose.timestamp_ms
        self._first_ms = t if self._first_ms is None else self._first_ms
        self._last_ms = t
        guarded = self._arms.update(self._arm_merge.update(self._limbs.update(self._mirror.update(pose))))
        guarded = self._merge.update(guarded) if self._merge is not None else guarded
        smoothed = self._smoother.update(guarded)
        ff = self._features.update(smoothed)
        # unsmoothed: smoothing drags a foot through the places between its rest and its lift
        self._support.update(guarded, legs_swapped=self._features.legs_swapped)
        self._record(ff)
        if ff.detected:
            self._frame_postures.append((t, self._features.posture.frame))
            if self.spec.double_lift and len(self._counters) > 1:  # read only to tell a double lift
                self._legs_apart.append((t, legs_apart(smoothed)))
        for kept in (self._frame_postures, self._legs_apart):
            while kept and t - kept[0][0] > self._history_ms:
                kept.popleft()
        usable = self._usable(ff)
        faults_before = len(self._faults)
        states = {}
        near = self._features.near_side
        if usable and self._settling:
            self._replay_settling(near)
        for side, counter in self._counters.items():
            value = feature_value(ff, self.spec.rep.driver, side)
            if ff.detected and usable and not np.isfinite(value):
                self._unseen += 1 / len(self._counters)
            st = states[side] = self._feed(side, counter, t, value, usable, near, in_view=ff.detected)
            if usable and np.isfinite(st.excursion_deg):
                self._largest_excursion = max(self._largest_excursion, st.excursion_deg)
        if usable and self._first_usable_ms is None:
            self._first_usable_ms = t
        if self._posture_ok_since is None:
            self._settling.clear()
        elif not usable and ff.posture_ok:
            self._settling.append(ff)
        for side, tracker in self._positions.items():
            tracker.update(t, in_position(self.spec, ff, side) if usable else False, states[side].excursion_deg)
        leader = self._leading_side(states)
        for side, trackers in self._trackers.items():
            if not ff.detected:
                break  # a frame without the person neither extends nor ends a fault episode
            applies_active = self._counters[side].active and side == leader
            for tr in trackers:
                applies = {"active": applies_active, "rest": not self._counters[side].active, "always": True}[tr.rule.when]
                fault = tr.update(ff, applies and usable)
                if fault is not None:
                    self._add_fault(fault)
        new_reps = self._resolve_pending()
        # a held exercise's position is the hold itself: only reps are left out of the view's judgement
        in_rep = self.spec.kind == "reps" and any(c.active for c in self._counters.values())
        notices = self._view.update(smoothed, in_rep)
        self._notices.extend(notices)
        cues = tuple(tr.rule.cue for trs in self._trackers.values() for tr in trs if tr.firing)
        hold = max((s.hold_s for s in states.values()), default=0.0)
        result = FrameResult(
            pose=smoothed,
            features=ff,
            phases={s: c.phase for s, c in self._counters.items()},
            counts=self.counts(),
            hold_s=hold,
            new_reps=tuple(new_reps),
            new_faults=tuple(self._faults[faults_before:]),
            active_cues=cues,
            notices=notices,
        )
        if twin is not None and self._view.view_mismatch:
            result = self._counted_by_the_twin(result, twin)
        self._shown_counts = result.counts
        return result

    def _counted_by_the_twin(self, result: FrameResult, twin: FrameResult) -> FrameResult:
        """Judged filmed from the wrong side, the report will be the 3D twin's (``finish``): from then on
        the count shown, its new reps, phases and hold are the twin's too, so the report does not take
        back a rep shown live from the flattened image. Never below what was already shown (a count
        does not go down live): the image's reps before the judgement stand as a floor."""
        if self._floor_counts is None:
            self._floor_counts = dict(self._shown_counts)
        counts = {s: max(twin.counts.get(s, 0), self._floor_counts.get(s, 0))
                  for s in dict.fromkeys([*twin.counts, *self._floor_counts])}
        return replace(result, phases=twin.phases, counts=counts, hold_s=twin.hold_s, new_reps=twin.new_reps)

    @property
    def view_mismatch(self) -> bool:
        """The camera has been seen to be at the wrong angle for this spec."""
        return self._view.view_mismatch

    def counts(self) -> dict[str, int]:
        """Reps counted so far per side."""
        out = {s: 0 for s in self._counters}
        for side in self._counters:
            out[side] = len(self._with_the_set(side))
        for r in self._reps:
            out.setdefault(r.side, 0)
        return out

    def _with_the_set(self, side: str) -> list[RepEvent]:
        """A side's reps that go the set's way (all of them, unless the spec counts either way)."""
        reps = [r for r in self._reps if r.side == side]
        if self.spec.rep.direction != "either":
            return reps
        way = set_direction(reps)
        return [r for r in reps if r.direction == way]

    # --- pieces ------------------------------------------------------------------------------
    def _record(self, ff: FeatureFrame) -> None:
        self._frames += 1
        self._detected += ff.detected
        self._history.append(ff)
        while self._history and ff.timestamp_ms - self._history[0].timestamp_ms > self._history_ms:
            self._history.popleft()
        self._series_t.append(ff.timestamp_ms / 1000)
        for k, v in ff.values.items():
            self._series.setdefault(k, []).append(v)

    def _replay_settling(self, near: str | None) -> None:
        """The posture has just settled: its frames since it began count, as they would have.

        Waiting for the posture to settle tells a held posture from passing through it; the frames
        it held meanwhile were the exercise all along. Without them, a rep under way as a recording
        starts is first seen near its top, and is lost (failure mode 2 of the count). Not for a
        counter that goes either way: it counts no movement from before its first rest, so these
        frames would only move that rest earlier, and its rule that a first rest left sooner than a
        rep lasts is getting into position would then take a slide into position for a rep.
        """
        frames, self._settling = self._settling, []
        one_way = {s: c for s, c in self._counters.items() if not isinstance(c, TwoWayCounter)}
        for frame in frames:
            for side, counter in one_way.items():
                self._feed(side, counter, frame.timestamp_ms, feature_value(frame, self.spec.rep.driver, side), True, near)

    def _feed(self, side: str, counter: SettlingCounter | TwoWayCounter, t_ms: float, value: float, usable: bool,
              near: str | None, in_view: bool = True) -> CounterState:
        """One value to one side's counter; its completed rep is kept pending and its rejections taken.
        ``in_view`` False: nobody was found in the frame."""
        st = counter.update(t_ms, value, usable, may_start=not self._near_only or side == near, in_view=in_view)
        if st.completed is not None:
            self._pending.append(st.completed)
        if counter.rejected:
            self._take_rejected(counter)
        return st

    def _usable(self, ff: FeatureFrame) -> bool:
        """Detected, and settled in the spec's posture (brief lapses forgiven)."""
        t = ff.timestamp_ms
        if not ff.detected:
            return False
        if self._last_detected_ms is not None and t - self._last_detected_ms > MAX_GAP_S * 1000:
            # nobody in view for longer than the counters bridge: the posture settles afresh, as at
            # the start of a recording (the first frames back may be the model guessing in the dark)
            self._settled = False
            self._posture_ok_since = None
        self._last_detected_ms = t
        if ff.posture_ok:
            self._posture_bad_since = None
            if self._posture_ok_since is None:
                self._posture_ok_since = t
            self._settled = self._settled or t - self._posture_ok_since >= POSTURE_SETTLE_S * 1000
            return self._settled
        self._posture_bad += 1
        if self._posture_bad_since is None:
            self._posture_bad_since = t
        if t - self._posture_bad_since >= POSTURE_GRACE_S * 1000:
            if self._settled:
                # the lapse was the person leaving the posture (sitting up to turn over, getting
                # up): a "rep" that ended during it was that movement, not the exercise
                for c in self._pending:
                    if c.end_ms >= self._posture_bad_since:
                        self._rejected.append(RejectedMovement(c.side, c.start_ms, c.end_ms, c.rom_deg, "left_posture"))
                self._pending = [c for c in self._pending if c.end_ms < self._posture_bad_since]
            self._settled = False
            self._posture_ok_since = None
        return self._settled

    def _in_posture_at_end(self) -> bool:
        return self._settled and self._posture_bad_since is None

    def _leading_side(self, states: dict) -> str | None:
        """The active counter with the largest excursion: the limb that is actually moving."""
        active = [(st.excursion_deg, s) for s, st in states.items() if self._counters[s].active and np.isfinite(st.excursion_deg)]
        return max(active)[1] if active else None

    def _resolve_pending(self) -> list[RepEvent]:
        """Accept finished reps; when both legs "moved" at once, keep the one that moved more."""
        accepted = []
        still = []
        for cand in self._pending:
            if self._posture_bad_since is not None and cand.end_ms >= self._posture_bad_since:
                still.append(cand)  # ended while out of posture: wait to see whether the person is back
                continue
            others = [c for c in self._pending if c is not cand and c.side != cand.side and _overlap(c, cand)
                      and not self._lifted_together(c, cand)]
            if any(c.rom_deg > cand.rom_deg for c in others):
                continue  # the other leg moved more: this was the model echoing it
            if self._began_inside_a_larger_rep(cand):
                self._rejected.append(RejectedMovement(cand.side, cand.start_ms, cand.end_ms, cand.rom_deg, "echo"))
                continue
            if self._echo_in_posture(cand):
                self._rejected.append(RejectedMovement(cand.side, cand.start_ms, cand.end_ms, cand.rom_deg, "echo_return"))
                continue
            for s in self._parked_counters(cand):
                self._counters[s].cancel()
            # another leg in a rep, or not yet past its first rest: it may have moved more meanwhile
            if any(self._counters[s].active or self._counters[s].unresolved_since_ms <= cand.end_ms
                   for s in self._counters if s != cand.side):
                still.append(cand)
                continue
            if cand.found_late:  # judged now, while its frames are at hand; counted at the end
                self._found_late.append((self._to_event(cand, record=False), self._posture_during(cand)))
                continue
            accepted.append(cand)
        self._pending = [c for c in still if not any(c2.side != c.side and _overlap(c, c2) and not self._lifted_together(c, c2)
                                                     for c2 in accepted)]
        return self._take_in_posture(accepted)

    def _lifted_together(self, a: RepCandidate, b: RepCandidate) -> bool:
        """Two legs' reps at once that are a double lift, not the model echoing one leg (see DOUBLE_APART_MIN).

        Only where the spec has a double-lift variant (``double_lift``): through the model, a hidden
        far leg can echo a small lift alike in size for the whole rep, which nothing in one camera's
        landmarks tells from a second leg.
        """
        if not self.spec.double_lift:
            return False
        small, large = sorted((a.rom_deg, b.rom_deg))
        if not large > 0 or small < DOUBLE_ROM_MIN * large:
            return False
        start, end = max(a.start_ms, b.start_ms), min(a.end_ms, b.end_ms)
        if end - start < DOUBLE_TOGETHER_MIN * (max(a.end_ms, b.end_ms) - min(a.start_ms, b.start_ms)):
            return False
        apart = [v for t, v in self._legs_apart if start <= t <= end and np.isfinite(v)]
        # no 3D landmarks (an older poses file): nothing shows two legs, so it stays an echo
        return bool(apart) and float(np.median(apart)) >= DOUBLE_APART_MIN

    def _posture_during(self, cand: RepCandidate) -> PostureGuess:
        return mean_guess(g for t, g in self._frame_postures if cand.start_ms <= t <= cand.end_ms)

    def _in_posture(self, seen: PostureGuess) -> bool:
        """Frames that show the spec's posture, or do not rule it out once the session has shown it."""
        fx = self._features
        return fx.supports(seen) or (fx.posture_established and not rules_out(seen, self.spec.posture, **fx.posture_terms))

    def _take_in_posture(self, cands: list[RepCandidate], final: bool = False) -> list[RepEvent]:
        """Count the reps done in the spec's posture; say why the others did not count.

        A rep counts when its own frames show the spec's posture, or when they are ambiguous and the
        session has shown that posture (a squat's bottom reads half sitting; a stray second reads
        odd). Ambiguous frames alone are not enough: a clip that starts straight into a movement
        gives the tracker a second of "unknown", in which a squat, a push-up or a side-lying
        clamshell would pass for a bridge. Such a rep waits until the posture is seen, or the end.
        """
        fx = self._features
        ready = []
        for cand in cands:
            seen = self._posture_during(cand)
            if fx.supports(seen):
                ready.append(self._to_event(cand, record=False))
            elif rules_out(seen, self.spec.posture, **fx.posture_terms):
                self._rejected.append(RejectedMovement(cand.side, cand.start_ms, cand.end_ms, cand.rom_deg, "wrong_posture",
                                                       f"it looked like {PLAIN_NAMES[seen.posture]}"))
            else:
                self._awaiting_posture.append((self._to_event(cand, record=False), seen))
        if self._awaiting_posture and (fx.posture_established or final):
            for event, seen in self._awaiting_posture:
                if fx.posture_established:
                    ready.append(event)
                else:
                    looks = f"it looked most like {PLAIN_NAMES[seen.posture]}" if seen.posture in POSTURES else ""
                    self._rejected.append(RejectedMovement(event.side, event.start_ms, event.end_ms, event.rom_deg,
                                                           "posture_not_seen", looks))
            self._awaiting_posture = []
        return [self._record_event(e) for e in sorted(ready, key=lambda e: e.end_ms)]

    def _began_inside_a_larger_rep(self, cand: RepCandidate) -> bool:
        """Began while another leg was in a rep at least twice its size: that leg's return overshooting.

        Only one leg works at a time; a real next rep of the other leg (marching, alternating
        sides) is about as large as the one it follows.
        """
        others = [*self._reps, *self._pending]
        return any(o.side != cand.side and o.start_ms <= cand.start_ms <= o.end_ms and o.rom_deg >= 2 * cand.rom_deg
                   for o in others if o is not cand)

    def _echo_in_posture(self, cand: RepCandidate) -> bool:
        """An echo's return (``_came_back_from_an_echo``) in frames that show the spec's posture.

        Out of posture, or before the posture is known, the movement goes the posture's way
        (wrong_posture, or waiting to see it): for a clip in another posture the posture is the
        reason worth telling, whatever else the movement was.
        """
        return self._in_posture(self._posture_during(cand)) and self._came_back_from_an_echo(cand)

    def _came_back_from_an_echo(self, cand: RepCandidate) -> bool:
        """Began inside another leg's rep, and its top is no rep's start beyond where it rested before that rep.

        Only one leg works at a time. While it lifts, the model can move the resting leg's landmarks
        the other way (from behind on all fours it stands the supporting thigh upright, 13-22 deg
        from its rest reading); the reading comes back as the lifted leg lands, and from the lowered
        value that return looks like a lift. Measured from where the leg rested before the other
        leg began (the last ECHO_REST_S in which no leg was in a rep), it never left rest. A real
        next rep (marching, alternating sides) rises from the leg's own rest, wherever the other
        leg is.
        """
        sign = 1.0 if cand.direction == "increase" else -1.0
        driver = self.spec.rep.driver
        reps = [o for o in (*self._reps, *self._pending) if o is not cand]
        for other in reps:
            if other.side == cand.side or not other.start_ms <= cand.start_ms <= other.end_ms:
                continue
            busy = [(o.start_ms, o.end_ms) for o in reps if o.start_ms <= other.start_ms]
            free = [(f.timestamp_ms, v) for f in self._history if f.timestamp_ms <= other.start_ms
                    and not any(a <= f.timestamp_ms <= b for a, b in busy)
                    and np.isfinite(v := feature_value(f, driver, cand.side))]
            if not free:
                continue  # not seen at rest (or no longer kept): no rest to judge from
            last_ms = free[-1][0]
            before = [v for t, v in free if t >= last_ms - ECHO_REST_S * 1000]
            rest = min(before) if sign > 0 else max(before)
            if (cand.peak_value - rest) * sign < self.spec.rep.enter_deg:
                return True
        return False

    def _parked_counters(self, cand: RepCandidate) -> list[str]:
        """Other legs "in a rep" since well before this one began, and by less than it moved.

        Only one leg works at a time. A model echo starts with the real rep; a leg whose rest
        reading drifted after the start (getting into position, a far leg the model places a few
        degrees off) sits past its threshold for as long as it likes and would hold this rep back,
        then outweigh it. Such a leg is re-based at its new position instead.
        """
        out = []
        for side, counter in self._counters.items():
            if side == cand.side or not counter.active:
                continue
            if counter.active_since_ms < cand.start_ms - PARKED_LEAD_S * 1000 and counter.peak_excursion_deg < cand.rom_deg:
                out.append(side)
        return out

    def _take_rejected(self, counter: SettlingCounter | TwoWayCounter) -> None:
        """Keep a counter's rejected movements; a too-small full cycle is judged now, while its frames are at hand."""
        for r in counter.rejected:
            if r.candidate is not None and self._echo_in_posture(r.candidate):
                # not a small lift a weak leg could make the whole set of: the leg never left its rest
                self._rejected.append(RejectedMovement(r.side, r.start_ms, r.end_ms, r.rom_deg, "echo_return"))
                continue
            self._rejected.append(r)
            if r.candidate is not None:
                self._small.append((r, self._to_event(r.candidate, record=False), self._posture_during(r.candidate)))
        counter.rejected.clear()

    def _to_event(self, cand: RepCandidate, record: bool = True) -> RepEvent:
        """The rep with its peak values and faults; ``record`` False: judged, but not (yet) counted."""
        index = len(self._reps)
        frames = [f for f in self._history if cand.start_ms <= f.timestamp_ms <= cand.end_ms]
        peak_frame = next((f for f in frames if f.timestamp_ms == cand.peak_ms), None)
        peak_values = {}
        if peak_frame is not None:
            for name in self.spec.features:
                peak_values[name] = feature_value(peak_frame, name, cand.side)
        finished = FinishedRep(cand.side, frames, cand.start_ms, cand.peak_ms, cand.end_ms, cand.rom_deg, cand.hold_s,
                               cand.complete, index)
        faults = judge_finished_rep(self.spec, self._rep_rules, finished)
        event = RepEvent(
            index=index,
            side=cand.side,
            start_ms=cand.start_ms,
            peak_ms=cand.peak_ms,
            end_ms=cand.end_ms,
            rom_deg=cand.rom_deg,
            peak_values=peak_values,
            hold_s=cand.hold_s,
            confidence=cand.seen_fraction,
            faults=tuple(faults),
            complete=cand.complete,
            began_before=cand.began_before,
            direction=cand.direction,
        )
        return self._record_event(event) if record else event

    def _record_event(self, event: RepEvent) -> RepEvent:
        """Count a judged rep: number it, keep its faults and the frame faults that happened during it."""
        index = len(self._reps)
        faults = [replace(f, rep_index=index) for f in event.faults]
        self._faults.extend(faults)
        for f in list(self._unattached):
            if f.side == event.side and f.start_ms <= event.end_ms and f.end_ms >= event.start_ms:
                faults.append(f)
                self._unattached.remove(f)
        event = replace(event, index=index, faults=tuple(faults))
        self._reps.append(event)
        return event

    def _add_fault(self, fault: Fault) -> None:
        self._faults.append(fault)
        self._unattached.append(fault)

    # --- the end -----------------------------------------------------------------------------
    def finish(self, source: dict | None = None, incomplete: bool = False) -> SessionReport:
        """Close open episodes, count a rep that ended the recording at its peak, build the report.

        Filmed from the wrong side, the image angles are flattened: the count from the 3D landmarks
        is reported instead, saying so.
        """
        report = self._finish(source, incomplete)
        if self._world_twin is None or not self._view.view_mismatch:
            return report
        world = self._world_twin._finish(source, incomplete)
        note = (f"The camera is not side-on, which flattens the {self.spec.rep.driver} angle in the image: the reps "
                "were counted from the pose model's 3D landmarks instead (less precise; turn side-on for the best count).")
        return replace(world, notices=(note, *world.notices))

    def _finish(self, source: dict | None, incomplete: bool) -> SessionReport:
        for trackers in self._trackers.values():
            for tr in trackers:
                fault = tr.close()
                if fault is not None:
                    self._add_fault(fault)
        durations = [r.duration_s for r in self._reps]
        usual_s = 2 * float(np.median(durations)) if durations else 0.0
        # a hold exercise's held position is the exercise: held to the end, it is a hold as long as
        # the spec lets one last, whatever hold was prescribed (0: none), never a new resting position
        max_active_s = (self.spec.rep.max_duration_s if self.spec.kind == "hold"
                        else max(usual_s, self.spec.target.hold_s + 5.0))
        # a rep cut off by the end counts only if the person was still in position at the end
        max_active_s = max_active_s if self._in_posture_at_end() else 0.0
        for counter in self._counters.values():
            while (cand := counter.finish(max_active_s)) is not None:
                self._pending.append(cand)
        self._resolve_pending()
        self._take_in_posture(self._pending, final=True)  # nothing is active any more
        self._pending = []
        self._count_found_late()
        for counter in self._counters.values():
            self._take_rejected(counter)
        self._judge_against_the_set()
        self._count_position_holds()
        self._follow_the_working_leg()
        self._say_why_nothing_counted()
        if any(r.began_before for r in self._reps):
            self._notices.append("The recording starts during a rep or in the held position: that rep is counted "
                                 "from the first frame (marked in the rep table). Start recording before you begin.")
        self._notices.extend(self._view.finish())
        if self._view.view_mismatch:
            self._drop_view_dependent_faults()
        else:
            self._say_what_was_not_judged()
        frames = max(self._frames, 1)
        duration_s = 0.0 if self._first_ms is None else (self._last_ms - self._first_ms) / 1000
        quality = {
            "frames": self._frames,
            "duration_s": round(duration_s, 3),
            "detected_fraction": round(self._detected / frames, 4),
            "driver_unseen_fraction": round(self._unseen / frames, 4),
            "posture_mismatch_fraction": round(self._posture_bad / frames, 4),
            "faults_not_judged": list(self._not_judged),
        }
        seen = self._features.posture.overall()
        quality["posture_seen"] = seen.posture
        quality["posture_confidence"] = round(seen.confidence, 2)
        if self._detected and duration_s < SHORT_CLIP_S:
            self._notices.append(
                f"The recording is only {duration_s:.1f} s long: too short to count a rep. Record the whole set."
            )
        if self._frames and self._detected == 0:
            self._notices.append("Nobody was seen in this recording: check that the whole body is in view.")
        elif self._detected and (self._posture_bad > 0.8 * self._detected or (not self._reps and self._posture_differs(seen))):
            self._notices.append(self._posture_notice(seen))
        if source and source.get("ends_early"):
            # the file decoded short of its own frame count: the counts cover only what was read
            self._notices.insert(0, (
                f"The video ends early: {source.get('frames_decoded')} of {source.get('frame_count')} frames could "
                "be decoded, so reps after that are missing: the file may be cut short; copy it again."
            ))
            incomplete = True
        series = FeatureSeries(np.array(self._series_t), {k: np.array(v) for k, v in self._series.items()})
        return SessionReport(
            exercise=self.spec.id,
            exercise_title=self.spec.title,
            spec_version=self.spec.version,
            kind=self.spec.kind,
            sides=self.spec.sides,
            target=self.spec.target.model_dump(),
            source=source or {},
            reps=tuple(sorted(self._reps, key=lambda r: r.end_ms)),
            faults=tuple(sorted(self._faults, key=lambda f: f.start_ms)),
            rejected=tuple(sorted(self._rejected, key=lambda r: r.start_ms)),
            notices=tuple(dict.fromkeys(self._notices)),
            quality=quality,
            incomplete=incomplete,
            series=series,
            prescribed_by=self.prescribed_by, sets=self.sets,
            units={"range": unit_of(self.spec.features[self.spec.rep.driver].measure),
                   **{name: unit_of(fs.measure) for name, fs in self.spec.features.items()}},
        )

    def _count_found_late(self) -> None:
        """The reps found late (a recording started at the top of a rep under way) count at the end.

        Found only when the driver came to rest after the recording's first still moment, they are
        counted here, not as found: another leg's reps meanwhile may already have been shown, and a
        count shown live never goes down at the end (the 3D twin's report may then stand in). Such a
        rep spans the first frame to that rest; one that lasted through another leg's whole rep, or
        went on while another leg moved more (counted or not), was no rep of this leg (one leg works
        at a time: it settled late, after the set, or echoed the working leg). In the spec's
        posture, as any rep (``_take_in_posture``).
        """
        fx = self._features
        for event, seen in self._found_late:
            # another leg's movement at the time, counted or not (a top seen only coming down is a
            # movement all the same): the larger one is the working leg's
            moved = [*self._reps, *(m for m in self._rejected if np.isfinite(m.rom_deg))]
            others = [o for o in moved if o.side != event.side and _overlap(o, event)
                      and (o.rom_deg >= event.rom_deg or event.start_ms <= o.start_ms and o.end_ms <= event.end_ms)]
            if others:
                self._rejected.append(RejectedMovement(event.side, event.start_ms, event.end_ms, event.rom_deg,
                                                       "other_leg_working",
                                                       f"the {others[0].side} leg moved {others[0].rom_deg:.0f} meanwhile"))
            elif self._in_posture(seen):
                self._record_event(event)
            else:
                kind = "wrong_posture" if rules_out(seen, self.spec.posture, **fx.posture_terms) else "posture_not_seen"
                self._rejected.append(RejectedMovement(event.side, event.start_ms, event.end_ms, event.rom_deg, kind))
        self._found_late = []

    def _posture_differs(self, seen: PostureGuess) -> bool:
        """The clip was surely in another posture than the spec's, or never seen in the spec's."""
        fx = self._features
        return rules_out(seen, self.spec.posture, **fx.posture_terms) or not fx.posture_established

    def _posture_notice(self, seen: PostureGuess) -> str:
        """Name what the clip looks like when it is a posture other than the spec's."""
        if seen.posture in POSTURES and not alike(seen.posture, self.spec.posture, **self._features.posture_terms):
            return (f"The movement did not match. This looks like {PLAIN_NAMES[seen.posture]}, not "
                    f"{PLAIN_NAMES[self.spec.posture]} ({self.spec.title}): is this the right exercise?")
        return (f"The movement did not match: {self.spec.title} is done {self.spec.posture.replace('_', ' ')}, "
                "and the person was seldom in that position. Is this the right exercise?")

    def _judge_against_the_set(self) -> None:
        """Sizes judged against the whole set, per side: tiny stray reps go, a set of small lifts counts.

        Then the reps are numbered in time order again (and their faults with them).
        """
        reps = list(self._reps)
        rep_faults = {id(r): [f for f in r.faults if f.scope == "rep"] for r in reps}
        for side in self._counters:
            way = self._against_the_set(reps, side)
            counted = [r.rom_deg for r in reps if r.side == side]
            small = [(rej, ev) for rej, ev, seen in self._small if rej.side == side
                     and not any(_overlap(ev, r) for r in reps if r.side != side)  # not an echo of another leg
                     and self._in_posture(seen) and ev.direction == (way or ev.direction)]
            if small and len(small) >= SMALL_SET_MIN:
                typical = float(np.median([ev.rom_deg for _, ev in small]))
                alike = all(0.5 * typical <= ev.rom_deg <= 2 * typical for _, ev in small)
                if alike and (not counted or float(np.median(counted)) <= 2 * typical):
                    for rej, ev in small:
                        reps.append(ev)
                        rep_faults[id(ev)] = list(ev.faults)
                        self._rejected.remove(rej)
            side_reps = [r for r in reps if r.side == side]
            for r in [r for r in side_reps if r.began_before]:
                others = [o for o in side_reps if o is not r]
                differs = self._different_position(r, others)
                if differs is not None:
                    reps.remove(r)
                    side_reps.remove(r)
                    self._rejected.append(RejectedMovement(side, r.start_ms, r.end_ms, r.rom_deg, "began_before", differs))
        # a rep begun before the recording is seen only in part: it is not a size the set is judged by
        whole_set = [r.rom_deg for r in reps if not r.began_before]
        for side in self._counters:
            whole = [r for r in reps if r.side == side and not r.began_before]
            if not whole:
                continue
            if len(whole) >= SET_TYPICAL_MIN:
                typical, ceiling = float(np.median([r.rom_deg for r in whole])), np.inf
            elif len(whole_set) >= SET_TYPICAL_MIN:
                typical, ceiling = float(np.median(whole_set)), SET_SMALL_FRACTION * max(r.rom_deg for r in whole)
            else:
                continue
            for r in whole:
                if r.rom_deg < SET_SMALL_FRACTION * typical and r.rom_deg < ceiling:
                    reps.remove(r)
                    self._rejected.append(RejectedMovement(side, r.start_ms, r.end_ms, r.rom_deg, "small_next_to_set",
                                                           f"{r.rom_deg:.0f} against a typical {typical:.0f}"))
        self._renumber(reps, rep_faults)

    def _renumber(self, reps: list[RepEvent], rep_faults: dict[int, list[Fault]] | None = None) -> None:
        """The reps in time order, numbered again, their rep faults with them (``rep_faults``: by id(rep))."""
        reps = sorted(reps, key=lambda r: r.end_ms)
        renumbered, faults = [], [f for f in self._faults if f.scope != "rep"]
        for i, r in enumerate(reps):
            mine = rep_faults[id(r)] if rep_faults is not None else [f for f in r.faults if f.scope == "rep"]
            own = [replace(f, rep_index=i) for f in mine]
            others = [f for f in r.faults if f.scope != "rep"]
            renumbered.append(replace(r, index=i, faults=tuple(own + others)))
            faults.extend(own)
        self._reps, self._faults = renumbered, faults

    def _follow_the_working_leg(self) -> None:
        """Reps whose labels went over with the lifted leg are put on the leg that really worked.

        The side the user named stands; so do the model's labels unless the resting foot clearly says
        otherwise (``limbs.SupportFootCheck``). A rep's faults, and the frame faults during it, go
        with it. When every rep changes side, the movements not counted and the per-side series do
        too. One leg cannot lift twice at once: two reps of one side that now overlap in time are one
        lift seen under both labels, and the larger stands (the other is listed as an echo).
        """
        # side-on only: seen from the front the legs lie side by side in the image, and the model
        # does not mistake one for the other (on the rendered front-view clips, a hip rotation moves
        # both feet, so a resting foot there is no evidence)
        if self.side_override is not None or self.spec.sides != "per_side" or self.spec.view != "side" or not self._reps:
            return
        reps = sorted(self._reps, key=lambda r: r.end_ms)
        physical = self._support.sides(reps)
        moved = [(r, s) for r, s in zip(reps, physical) if s != r.side]
        if not moved:
            return
        flip = lambda side: other_side(side) if side in SIDES else side  # noqa: E731
        windows = [(r.start_ms, r.end_ms) for r, _ in moved]
        during = lambda f: any(f.start_ms >= a and f.end_ms <= b for a, b in windows)  # noqa: E731
        everything = len(moved) == len(reps)
        self._faults = [replace(f, side=flip(f.side)) if everything or (f.scope != "rep" and during(f)) else f
                        for f in self._faults if f.scope != "rep"]
        relabelled = [replace(r, side=s, faults=tuple(replace(f, side=flip(f.side)) if s != r.side else f
                                                      for f in r.faults))
                      for r, s in zip(reps, physical)]
        kept = []
        for r in sorted(relabelled, key=lambda r: -r.rom_deg):
            if any(k.side == r.side and min(k.end_ms, r.end_ms) > max(k.start_ms, r.start_ms) for k in kept):
                self._rejected.append(RejectedMovement(r.side, r.start_ms, r.end_ms, r.rom_deg, "echo"))
                continue
            kept.append(r)
        if everything:
            self._rejected = [replace(r, side=flip(r.side)) for r in self._rejected]
            self._series = {str(FeatureKey(k.name, flip(k.side))) if k.side in SIDES else key: v
                            for key, v in self._series.items() for k in [FeatureKey.parse(key)]}
        self._renumber(kept)
        self._notices.append("Side-on, the pose model gave a lifting leg the other leg's name: "
                             f"{len(moved)} rep(s) are put on the leg that moved, as the resting foot shows.")

    def _count_position_holds(self) -> None:
        """The spec's position held without the driver ever reaching a rep's depth: one hold each, too shallow.

        A stretch held shallow is still a stretch held: a side with no rep whose time in the position
        lasted the prescribed hold, or ``POSITION_HOLD_MIN_S`` if that is less, counts it once, with
        the ``too_shallow`` fault (and ``short_hold`` if held shorter than prescribed) and a notice.
        Without the depth, time is the only sign that the person was doing the exercise and not
        setting up, so a shorter stay is listed as a movement that did not count. A side that reached
        the depth (a rep, or a deep movement with its own reason) was in position around it to set up.
        The time needed does not grow with the prescription: the count is the same whatever the dose.
        """
        if self.spec.position is None:
            return
        needed_s = max(min(HOLD_TOLERANCE * self.spec.target.hold_s, POSITION_HOLD_MIN_S), self.spec.rep.min_duration_s)
        held = []
        for side, tracker in self._positions.items():
            tracker.finish()
            if any(r.side == side for r in self._reps):
                continue
            for run in tracker.runs:
                if run.deepest_deg >= self.spec.rep.min_rom_deg:
                    continue
                depth = max(run.deepest_deg, 0.0) if np.isfinite(run.deepest_deg) else np.nan
                if run.duration_s >= needed_s:
                    held.append((run, depth))
                elif run.duration_s >= self.spec.rep.min_duration_s:
                    self._rejected.append(RejectedMovement(
                        side, run.start_ms, run.end_ms, depth, "position_too_short",
                        f"{self.spec.position.name} for {_seconds(run.duration_s)}, under the {needed_s:g} s a hold needs"))
        if not held:
            return
        for run, depth in held:
            self._record_event(self._position_hold(run, depth))
        self._renumber(self._reps)
        driver, unit = self.spec.rep.driver, unit_of(self.spec.features[self.spec.rep.driver].measure)
        # rules judged only in the rep's active phase never applied: say so, a clean hold is not proof
        unjudged = [r.id for r in self._frame_rules if r.when == "active"]
        for run, depth in held:
            moved = f"moved at most {depth:.0f} {unit}" if np.isfinite(depth) else "was not measured"
            self._notices.append(
                f"The depth was not reached: the {self.spec.position.name} position was held for "
                f"{_seconds(run.duration_s)} ({run.side}), but the {driver} {moved} of the "
                f"{self.spec.rep.min_rom_deg:g} {unit} the exercise needs. Counted as one hold, flagged "
                f"{TOO_SHALLOW_ID}: {self.spec.position.cue}."
                + (f" Not checked in that hold: {', '.join(unjudged)} (judged only in the "
                   f"{self.spec.rep.phase_names[1].replace('_', ' ')} phase)." if unjudged else "")
            )

    def _position_hold(self, run: PositionRun, depth: float) -> RepEvent:
        """A run in the position as a rep (to record): timed by its length, with the too_shallow fault."""
        peak_ms = run.deepest_ms if np.isfinite(run.deepest_ms) else run.start_ms
        frames = [f for f in self._history if run.start_ms <= f.timestamp_ms <= run.end_ms]
        peak_frame = min(frames, key=lambda f: abs(f.timestamp_ms - peak_ms), default=None)
        peak_values = {name: feature_value(peak_frame, name, run.side) for name in self.spec.features} if peak_frame else {}
        shallow = Fault(id=TOO_SHALLOW_ID, cue=self.spec.position.cue, scope="rep", side=run.side,
                        start_ms=run.start_ms, end_ms=run.end_ms, value=depth, limit=self.spec.rep.min_rom_deg)
        short = judge_short_hold(self.spec, FinishedRep(
            side=run.side, frames=frames, start_ms=run.start_ms, peak_ms=peak_ms, end_ms=run.end_ms,
            rom_deg=depth, hold_s=run.duration_s, complete=not run.open, index=len(self._reps)))
        return RepEvent(
            index=len(self._reps),
            side=run.side,
            start_ms=run.start_ms,
            peak_ms=peak_ms,
            end_ms=run.end_ms,
            rom_deg=depth,
            peak_values=peak_values,
            hold_s=run.duration_s,
            confidence=run.seen_fraction,
            faults=(shallow,) if short is None else (shallow, short),
            complete=not run.open,
            # in the position from the first moment it could be judged: held before the recording began
            began_before=self._first_usable_ms is not None and run.start_ms <= self._first_usable_ms,
        )

    def _against_the_set(self, reps: list[RepEvent], side: str) -> str | None:
        """Counted either way: keep the set's way (``set_direction``), list the reps the other way.

        Returns the set's way (None when the spec has one way, or the side has no reps; then its
        too-small cycles, if they are the whole set, decide).
        """
        if self.spec.rep.direction != "either":
            return None
        side_reps = [r for r in reps if r.side == side]
        way = set_direction(side_reps) or set_direction([ev for rej, ev, _ in self._small if rej.side == side])
        driver = self.spec.rep.driver
        for r in [r for r in side_reps if r.direction != way]:
            reps.remove(r)
            self._rejected.append(RejectedMovement(
                side, r.start_ms, r.end_ms, r.rom_deg, "against_set",
                f"{driver} {_went(r.direction)}; in the set's reps it {_went(way)}"))
        return way

    def _different_position(self, rep: RepEvent, others: list[RepEvent]) -> str | None:
        """Is this rep's top somewhere else than the other reps' tops? Says where, or None.

        Every measure in the driver's unit is compared (the driver alone cannot tell legs stretched
        out from knees dropped open), against half the set's typical range.
        """
        if not others:
            return None
        unit = unit_of(self.spec.features[self.spec.rep.driver].measure)
        tolerance = BEGUN_PEAK_TOLERANCE * float(np.median([o.rom_deg for o in others]))
        for name, fs in self.spec.features.items():
            if unit_of(fs.measure) != unit:
                continue
            seen = [o.peak_values.get(name, np.nan) for o in others]
            seen = [v for v in seen if np.isfinite(v)]
            value = rep.peak_values.get(name, np.nan)
            if seen and np.isfinite(value) and abs(value - float(np.median(seen))) > tolerance:
                return f"its {name} at {value:.0f}, the set's reps at {np.median(seen):.0f}"
        return None

    def _say_why_nothing_counted(self) -> None:
        """Never a bare 0: say what moved and why it did not count, or how far it was from a rep."""
        if self._reps or not self._detected:
            return
        if self._rejected:
            n = len(self._rejected)
            self._notices.append(f"No rep counted: {n} movement{'s' if n != 1 else ''} did not qualify "
                                 f"({describe_rejections(self._rejected)}).")
        elif np.isfinite(self._largest_excursion):
            unit = unit_of(self.spec.features[self.spec.rep.driver].measure)
            self._notices.append(
                f"No rep counted: the {self.spec.rep.driver} moved at most {max(self._largest_excursion, 0):.0f} {unit} "
                f"from its rest position; a rep starts at {self.spec.rep.enter_deg:g} and needs {self.spec.rep.min_rom_deg:g}."
            )

    def _say_what_was_not_judged(self) -> None:
        """A fault whose landmarks stayed hidden during the reps was not checked: say so, don't imply "no fault"."""
        if not self._reps or not self._series_t:
            return
        t_ms = np.array(self._series_t) * 1000
        blind = []
        for rule in self.spec.faults:
            if rule.feature is None or rule.id in {f.id for f in self._faults}:
                continue
            seen = total = 0
            for rep in self._reps:
                sided = str(FeatureKey(rule.feature, rep.side))
                key = sided if sided in self._series else str(FeatureKey(rule.feature))
                inside = (t_ms >= rep.start_ms) & (t_ms <= rep.end_ms)
                values = np.asarray(self._series[key])[inside]
                seen += int(np.isfinite(values).sum())
                total += int(inside.sum())
            if total and seen < NOT_JUDGED_BELOW * total:
                blind.append(rule.id)
        if blind:
            self._not_judged = tuple(blind)
            self._notices.append(
                f"Not checked: {', '.join(blind)}. The landmarks these need were hidden during the reps "
                "(for example the far hip and leg, seen side-on); see the exercise's camera advice."
            )
        flagged = {f.id for f in self._faults}
        for rule in self.spec.faults:
            if rule.limits and rule.id not in flagged and rule.id not in blind:
                self._notices.append(f"Not reliable: {rule.id} was not found, but {rule.limits}")

    def _drop_view_dependent_faults(self) -> None:
        """Angles seen from the wrong side are not the angles the rules are about: keep counts, drop those faults."""
        dependent = {r.id for r in self.spec.faults if r.feature is not None}
        self._not_judged = tuple(sorted(dependent))
        if not any(f.id in dependent for f in self._faults):
            return
        self._faults = [f for f in self._faults if f.id not in dependent]
        self._reps = [replace(r, faults=tuple(f for f in r.faults if f.id not in dependent)) for r in self._reps]
        self._notices.append(
            f"Form faults that need the {self.spec.view} view ({', '.join(sorted(dependent))}) were not judged from this camera angle."
        )


def in_position(spec: ExerciseSpec, frame: FeatureFrame, side: str) -> bool | None:
    """Is ``side`` in the spec's held position in this frame? Every check within its limits.

    None: no check is out of its limits but some value was not seen (a hidden far leg), so it cannot be told.
    """
    if spec.position is None:
        return False
    unseen = False
    for check in spec.position.checks:
        leg = side if check.side == "working" or side not in SIDES else _other_side(side)
        value = feature_value(frame, check.feature, leg)
        if not np.isfinite(value):
            unseen = True
        elif not check.between[0] <= value <= check.between[1]:
            return False
    return None if unseen else True


def legs_apart(pose: PoseSample) -> float:
    """How far apart the two legs are in 3D: knees' and ankles' mean distance over the hips' width.

    About 1 for legs side by side, about a half for legs pressed together, near 0 when the model
    puts both legs' labels on one leg (its echo of a working leg); NaN without 3D landmarks.
    """
    w = pose.world_xyz_m
    hips = float(np.linalg.norm(w[Landmark.LEFT_HIP] - w[Landmark.RIGHT_HIP]))
    if not np.isfinite(hips) or hips < 1e-6:
        return np.nan
    gaps = [float(np.linalg.norm(w[Landmark[f"LEFT_{p}"]] - w[Landmark[f"RIGHT_{p}"]])) for p in ("KNEE", "ANKLE")]
    return float(np.mean(gaps)) / hips


def world_driver_variant(spec: ExerciseSpec) -> ExerciseSpec | None:
    """The spec with its driver measured on the 3D world landmarks, for a side-view exercise whose driver can be."""
    driver = spec.features[spec.rep.driver]
    if spec.view != "side" or driver.space == "world" or not MEASURES[driver.measure].world_capable:
        return None
    data = spec.model_dump()
    data["features"][spec.rep.driver]["space"] = "world"
    return ExerciseSpec.model_validate(data)


def describe_rejections(rejected) -> str:
    """Movements that did not count, grouped by why: "too small (largest 9.5 of the 12 needed) x3; ..."."""
    parts = []
    for kind in dict.fromkeys(r.kind for r in rejected):
        of_kind = [r for r in rejected if r.kind == kind]
        largest = max(of_kind, key=lambda r: r.rom_deg if np.isfinite(r.rom_deg) else -np.inf)
        detail = f" ({'largest ' if len(of_kind) > 1 and kind == 'too_small' else ''}{largest.detail})" if largest.detail else ""
        parts.append(f"{REJECTION_KINDS[kind]}{detail}" + (f" x{len(of_kind)}" if len(of_kind) > 1 else ""))
    return "; ".join(parts)


def _other_side(side: str) -> str:
    return "right" if side == "left" else "left"


def _went(direction: str) -> str:
    return {"increase": "rose", "decrease": "fell"}.get(direction, direction)


def _overlap(a, b) -> bool:
    """Two reps (candidates or events) that share more than half of the shorter one's time."""
    inter = min(a.end_ms, b.end_ms) - max(a.start_ms, b.start_ms)
    return inter > 0.5 * min(a.end_ms - a.start_ms, b.end_ms - b.start_ms)
