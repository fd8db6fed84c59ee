"""The live coach: what is said and printed for each result (reps, faults, holds, the end of the set),
and the cue state the window shows (``coaching``), spoken through one debounced ``Voice``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from formcheck.coaching import CoachState, CueBoard, SetSummary, set_summary
from formcheck.lang import tr
from formcheck.live_stream import CurrentExercise
from formcheck.speech import PRIORITY_COUNT, PRIORITY_CUE, CueDebouncer, Speaker, Utterance
from formcheck.types import FrameResult


class Voice:
    """The session's speech: offered utterances go through one debouncer to the speaker (None: silent)."""

    def __init__(self, speaker: Speaker | None, clock: Callable[[], float]):
        self._speaker = speaker
        self._clock = clock
        self._debouncer = CueDebouncer()

    def update(self, offered: Sequence[Utterance], now_s: float | None = None) -> None:
        """Offer utterances at ``now_s`` (None: now); the one the debouncer lets through is said."""
        u = self._debouncer.update(self._clock() if now_s is None else now_s, offered)
        if u is not None and self._speaker is not None:
            self._speaker.say(u)

    def say(self, utterance: Utterance) -> None:
        """Offer one utterance now."""
        self.update([utterance])

    def reset(self) -> None:
        """Forget what was said (a new exercise may repeat it)."""
        self._debouncer.reset()


@dataclass(frozen=True, eq=False)
class Coached:
    """What the coach made of a result for the window: the cue state, and the end-of-set summary once done."""

    state: CoachState
    summary: SetSummary | None


class CoachSink:
    """One exercise's coach: ``update`` takes each result as it is ready, speaks, and says what to show.

    ``done_at_s`` is when the target was reached (None: not yet).
    """

    def __init__(self, exercise: CurrentExercise, voice: Voice, on_event: Callable[[str, str], None]):
        self.exercise = exercise
        self._voice = voice
        self._on_event = on_event
        self._board = CueBoard(exercise.spec)
        self._active: set[str] = set()
        self._held = False
        self._holding = False
        self.done_at_s: float | None = None
        self._tally: dict = {"reps": [], "faults": []}  # what the end-of-set screen shows mid-session

    def update(self, result: FrameResult, now_s: float) -> Coached:
        """Coach one result at ``now_s``: the cue state, and (once the set is done) the summary kept up to date."""
        state = self._board.update(result)
        self._coach(result, state, now_s)
        summary = None
        if self.done_at_s is not None:  # the set is done: the end-of-set screen, kept up to date
            ex = self.exercise
            summary = set_summary(self._tally_report(result), ex.spec, next_title=ex.next_title if ex.more else None,
                                  only_side=ex.only_side)
        return Coached(state, summary)

    def _tally_report(self, result: FrameResult) -> dict:
        """The part of a report the end-of-set screen reads, from what this set has shown so far."""
        spec = self.exercise.spec
        return {"summary": {"target_reps_per_side": spec.target.reps, "target_hold_s": spec.target.hold_s,
                            "reps_by_side": dict(result.counts)},
                "reps": self._tally["reps"], "faults": self._tally["faults"]}

    def _coach(self, result: FrameResult, state: CoachState, now: float) -> None:
        """What to say and print for this result: reps, faults, holds, the end of the set."""
        spec = self.exercise.spec
        offered = []
        self._tally["reps"] += [{"side": r.side, "hold_s": r.hold_s} for r in result.new_reps]
        self._tally["faults"] += [{"id": f.id, "cue": f.cue, "side": f.side} for f in result.new_faults]
        for rep in result.new_reps:
            n = result.counts.get(rep.side, 0)
            side = "" if rep.side == "both" else f"{rep.side} "
            self._on_event("rep", f"{'hold' if spec.kind == 'hold' else 'rep'} {side}{n}/{spec.target.reps}"
                           + (f"  ({', '.join(f.id for f in rep.faults)})" if rep.faults else ""))
            offered.append(Utterance(f"{tr(rep.side.capitalize())} {n}" if side else str(n), "count", PRIORITY_COUNT))
        if result.counts and self.done_at_s is None and all(n >= spec.target.reps for n in result.counts.values()):
            self.done_at_s = now
            self._on_event("done", f"target reached: {spec.target.reps} {'holds' if spec.kind == 'hold' else 'reps'}")
            text = offered[-1].text + ". " if offered else ""
            offered = [Utterance(text + tr("That's the set, well done."), "count", PRIORITY_COUNT)]
        for fault in result.new_faults:
            said = self._board.fault_cue(fault.id, fault.cue, fault.side).text
            self._on_event("fault", f"{said}  ({fault.id}, {fault.side})")
            offered.append(Utterance(said, f"cue:{fault.id}", PRIORITY_CUE))
        fresh = [c for c in result.active_cues if c not in self._active]
        self._active = set(result.active_cues)
        sided = {f.fault_id: f.text for f in state.firing}
        by_cue = {r.cue: r.id for r in spec.faults}
        for c in fresh:  # said as the screen shows it: the side named
            offered.append(Utterance(sided.get(by_cue.get(c, ""), c), f"cue:{c}", PRIORITY_CUE))
        for notice in result.notices:
            self._on_event("notice", notice)
        target_hold = spec.target.hold_s
        if target_hold > 0:
            if 0 < result.hold_s < target_hold and not self._holding:  # a short hold no longer passes silently
                offered.append(Utterance(tr("Keep holding, {seconds} seconds").format(seconds=f"{target_hold:g}"), "hold", PRIORITY_COUNT))
            self._holding = result.hold_s > 0
            if result.hold_s >= target_hold and not self._held:
                offered.append(Utterance(tr("Good hold, and release"), "hold", PRIORITY_COUNT))
            self._held = result.hold_s >= target_hold if result.hold_s > 0 else False
        self._voice.update(offered, now)
