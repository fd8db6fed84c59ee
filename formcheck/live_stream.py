"""The live stream stage: which of an exercise's frames the evaluator sees.

Frames wait for the set-up (whole body in view, the spec's camera view, a countdown) and are held
back while paused; the keys (pause, reset, next, quit) act between frames. Frames it holds back are
shown with a preview overlay; the rest go to ``run_session``. Pure apart from the set-up's wording:
no threads, no clock, no window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from formcheck.lang import tr
from formcheck.live_capture import LivePose
from formcheck.live_setup import GO, SetupGuide
from formcheck.live_telemetry import FrameCounts
from formcheck.render import LiveOverlay
from formcheck.spec import ExerciseSpec
from formcheck.speech import PRIORITY_CUE, PRIORITY_GUIDE, Utterance

# how a live exercise ended
QUIT, NEXT, TARGET_REACHED, SOURCE_END, INTERRUPTED, CAMERA_LOST = (
    "quit", "next", "target_reached", "source_end", "interrupted", "camera_lost")
COMMANDS = ("quit", "pause", "reset", "next")


class Restart(Exception):
    """The person pressed r: this exercise starts again from nothing."""


@dataclass(frozen=True, eq=False)
class CurrentExercise:
    """The exercise in hand, as the live stages need it: passed to each, never shared through an attribute."""

    spec: ExerciseSpec
    number: int  # its place in the plan, from 1
    total: int  # exercises in the plan
    next_title: str | None = None  # the next exercise's title (None: this is the last)
    only_side: str | None = None  # the side the routine item names (None: as the spec says)

    @property
    def header(self) -> str | None:
        """'Exercise 2 of 3' in a routine; None for a single exercise."""
        return f"Exercise {self.number} of {self.total}" if self.total > 1 else None

    @property
    def more(self) -> bool:
        """Whether another exercise follows in the plan."""
        return self.total > 1 and self.number < self.total


class LiveStream:
    """One exercise's gate: ``update`` takes each pose in capture order and says whether it is analysed.

    ``last_seq`` is the capture order of the last frame before this exercise; ``say`` and ``on_event``
    get the set-up's guidance; ``card`` shows the exercise's set-up card while setting up.
    """

    def __init__(self, exercise: CurrentExercise, *, setup: SetupGuide | None, last_seq: int,
                 say: Callable[[Utterance], None], on_event: Callable[[str, str], None], card: bool = False):
        self.exercise = exercise
        self._guide = setup
        self._say = say
        self._on_event = on_event
        self._card = card
        self._built_card = None
        self._stage = "setup" if setup is not None else "counting"
        self.paused = False
        self._pause_from: int | None = None
        self._paused_frames = 0
        self.last_seq = last_seq
        self._count_from = last_seq + 1
        self._last_counted_seq = last_seq
        self._counted = 0

    @property
    def gating(self) -> bool:
        """Whether the next frame may be held back (paused, or still setting up)."""
        return self.paused or self._stage != "counting"

    def command(self, name: str) -> str | None:
        """Act on a key: how the exercise ends (quit, next), None (pause toggles); Restart for reset."""
        if name not in COMMANDS:
            raise ValueError(f"unknown command {name!r}; valid: {', '.join(COMMANDS)}")
        if name == "quit":
            return QUIT
        if name == "next":
            return NEXT
        if name == "reset":
            raise Restart
        self.paused = not self.paused
        self._on_event("stage", "paused" if self.paused else "going on")
        return None

    def update(self, lp: LivePose) -> LiveOverlay | None:
        """One pose: None when the evaluator takes it, else the overlay it is shown with (set-up, pause)."""
        seq = lp.captured.seq
        if self.paused:
            if self._pause_from is None:
                self._pause_from = self.last_seq + 1
            self.last_seq = seq
            return LiveOverlay(message=tr("Paused: space to go on, r to start again, q to quit"), tone="paused")
        if self._pause_from is not None:  # frames shown while paused are neither analysed nor dropped
            if self._stage == "counting":
                self._paused_frames += seq - self._pause_from
            self._pause_from = None
        if self._stage != "counting":
            overlay = self._set_up(lp)
            if overlay is not None:
                self.last_seq = seq
                return overlay
            self._count_from = self.last_seq + 1
        self.last_seq = self._last_counted_seq = seq
        self._counted += 1
        return None

    def counts(self) -> FrameCounts:
        """The frames captured since counting began (less those paused), analysed, and paused."""
        captured = max(0, self._last_counted_seq - self._count_from + 1 - self._paused_frames)
        return FrameCounts(captured, self._counted, self._paused_frames)

    def _set_up(self, lp: LivePose) -> LiveOverlay | None:
        """One frame of set-up guidance: its overlay, or None when counting starts with this frame."""
        state = self._guide.update(lp.pose)
        before, self._stage = self._stage, state.stage if state.stage != "go" else "counting"
        header = self.exercise.header
        if state.stage == "setup":
            if state.message != "Good, hold still":  # shown, not said: the countdown that follows says it
                self._say(Utterance(tr(state.message), "guide", PRIORITY_GUIDE))
            card = self._setup_card()  # the card takes the gauges' place: nothing is measured yet
            return LiveOverlay(message=tr(state.message), tone="guide", header=header, card=card, gauges=card is None)
        if state.stage == "countdown":
            if before != "countdown":
                self._on_event("stage", "set up: counting down")
                self._say(Utterance(tr("{position}. Get ready.").format(position=tr(state.message)), "guide", PRIORITY_GUIDE))
            return LiveOverlay(message=tr(state.message), countdown_s=state.countdown_s, tone="good", header=header)
        self._on_event("stage", "counting")
        self._say(Utterance(tr(GO), "guide", PRIORITY_CUE))
        return None

    def _setup_card(self):
        """The exercise's set-up card (instructions, camera, pictures), built when it is first shown."""
        if not self._card:
            return None
        if self._built_card is None:
            from formcheck.setup_card import setup_card

            self._built_card = setup_card(self.exercise.spec)
        return self._built_card
