"""The live session thread: walks the plan, and runs each exercise through the one session loop.

For each exercise the stream (``live_stream``) decides which frames the evaluator sees; the results
go to one live sink (telemetry, then the coach, then the display) and to the report files.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from formcheck.coaching import set_summary
from formcheck.errors import InputError
from formcheck.evaluator import ExerciseEvaluator
from formcheck.lang import tr, use
from formcheck.live_capture import POLL_S, LiveFrame, NewestFrame, PoseFailed, StreamEnd
from formcheck.live_coach import CoachSink, Voice
from formcheck.live_display import LiveDisplay
from formcheck.live_routine import RoutineItem
from formcheck.live_setup import SetupGuide
from formcheck.live_stream import (
    CAMERA_LOST, COMMANDS, INTERRUPTED, NEXT, QUIT, SOURCE_END, TARGET_REACHED, CurrentExercise, LiveStream, Restart,
)
from formcheck.live_telemetry import Telemetry
from formcheck.outputs import ClipPage, OutputPlan, build_sinks
from formcheck.render import LiveOverlay
from formcheck.report import SessionReport
from formcheck.session import SessionCut, run_session
from formcheck.spec import ExerciseSpec, load_spec
from formcheck.speech import PRIORITY_GUIDE, Speaker, Utterance
from formcheck.types import Frame, FrameResult, PoseSample, SourceInfo

if TYPE_CHECKING:
    from formcheck.htmlreport import ClipMeta

ADVANCE_AFTER_S = 4.0  # in a routine, move on this long after the target is reached


@dataclass(frozen=True)
class LiveOptions:
    """How a live session runs: set-up guide and countdown, when a routine moves on, what it records."""

    setup: bool = True  # guide the person into view and count down before counting
    countdown_s: float = 3.0
    settle_s: float = 1.0
    advance_after_s: float = ADVANCE_AFTER_S  # routine: next exercise this long after the target
    record_timings: bool = False  # keep per-frame times (benchmarks)
    # live --patient: each exercise's folder also gets the clinician's page (thumbnails, video, report.html)
    page: ClipMeta | None = None


@dataclass(frozen=True, eq=False)
class ExerciseRun:
    """One exercise of a live session: its report (None when counting never began) and where it went."""

    item: RoutineItem
    spec: ExerciseSpec
    report: SessionReport | None
    ended_by: str
    out_dir: Path | None


@dataclass(frozen=True, eq=False)
class LiveOutcome:
    """What a live session did: each exercise's run, how it ended, a lost camera, and per-frame times."""

    runs: tuple[ExerciseRun, ...]
    ended_by: str
    camera_error: InputError | None = None  # the camera was lost (or the file stopped decoding)
    timings: tuple[tuple[float, float, float, float], ...] = ()  # captured, picked, estimated, result (s)


class _LiveSink:
    """The session sink of one exercise: each result is timed, coached, then shown, at the moment it is ready."""

    def __init__(self, exercise: CurrentExercise, telemetry: Telemetry, coach: CoachSink, display: LiveDisplay,
                 clock: Callable[[], float]):
        self.exercise, self.telemetry, self.coach, self.display = exercise, telemetry, coach, display
        self._clock = clock

    def update(self, frame: LiveFrame, result: FrameResult) -> None:
        """Sink: time, coach and show one result."""
        now = self._clock()
        meter = self.telemetry.update(frame, now, analysed=True)
        coached = self.coach.update(result, now)
        overlay = LiveOverlay(header=self.exercise.header, coach=coached.state, summary=coached.summary)
        self.display.update(frame, result, overlay, meter)

    def close(self, report: SessionReport) -> None:
        """Sink: nothing to do, the session's report comes back from run_session."""

    def abort(self) -> None:
        """Sink: nothing to do when the session is aborted."""


class LiveCoach:
    """The session thread: walks the plan; for each exercise, runs the session loop over the stream's
    frames with the coach, the display and the telemetry as its live sink, and the report files."""

    def __init__(
        self,
        plan: Sequence[RoutineItem],
        make_evaluator: Callable[[RoutineItem], tuple[ExerciseSpec, ExerciseEvaluator]],
        poses: queue.Queue,
        *,
        source: SourceInfo,
        out_dir: Path | None,
        options: LiveOptions = LiveOptions(),
        speaker: Speaker | None = None,
        display: NewestFrame | None = None,
        on_event: Callable[[str, str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.plan = tuple(plan)
        self.make_evaluator = make_evaluator
        self.poses = poses
        self.source = source
        self.out_dir = out_dir
        self.options = options
        self.display = display
        self.on_event = on_event or (lambda kind, text: None)
        self._clock = clock
        self._voice = Voice(speaker, clock)
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._cut_reason: str | None = None
        self._last_seq = -1  # capture order of the last frame any exercise took
        self.runs: list[ExerciseRun] = []
        self.ended_by = QUIT
        self.camera_error: InputError | None = None
        self.error: BaseException | None = None
        self.timings: list[tuple[float, float, float, float]] = []
        self._thread = threading.Thread(target=self._run, name="formcheck-session", daemon=True)

    # --- control from the main thread -----------------------------------------------------------
    def start(self) -> LiveCoach:
        """Start the session thread; returns self."""
        self._thread.start()
        return self

    def command(self, name: str) -> None:
        """quit, pause (toggles), reset or next; acted on at the next frame."""
        if name not in COMMANDS:
            raise ValueError(f"unknown command {name!r}; valid: {', '.join(COMMANDS)}")
        self._commands.put(name)

    def cut(self, reason: str = INTERRUPTED) -> None:
        """End at once, the report marked incomplete (Ctrl-C)."""
        self._cut_reason = reason

    def alive(self) -> bool:
        """Whether the session thread is still running."""
        return self._thread.is_alive()

    def join(self, timeout_s: float | None = None) -> None:
        """Wait for the session thread to end (at most ``timeout_s``)."""
        self._thread.join(timeout_s)

    def outcome(self) -> LiveOutcome:
        """What the session did so far: its runs, how it ended, any camera error and the timings."""
        return LiveOutcome(tuple(self.runs), self.ended_by, self.camera_error, tuple(self.timings))

    # --- the thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            for number, item in enumerate(self.plan, 1):
                self.runs.append(self._exercise(number, item))
                if self.ended_by not in (NEXT, TARGET_REACHED):
                    break
        except Exception as exc:  # re-raised by run_live in the main thread
            self.error = exc
        finally:
            if self.display is not None:
                self.display.close()

    def _exercise(self, number: int, item: RoutineItem) -> ExerciseRun:
        _item_language(item)
        spec, evaluator = self.make_evaluator(item)
        unit = "holds" if spec.kind == "hold" else "reps"
        per_side = " per side" if spec.sides == "per_side" and not item.side else ""
        target = f"{spec.target.reps} {unit}{per_side}"
        spoken = tr(f"{{count}} {unit}{per_side}").format(count=spec.target.reps)
        if spec.target.hold_s > 0:
            target += f", hold {spec.target.hold_s:g} s"
            spoken += tr(", hold {seconds} seconds").format(seconds=f"{spec.target.hold_s:g}")
        self._voice.reset()
        self.on_event("exercise", f"{spec.title}: {target}")
        self._voice.say(Utterance(f"{spec.title}. {spoken}.", "guide", PRIORITY_GUIDE))
        folder = self._folder(number, spec)
        next_title = load_spec(self.plan[number].exercise).title if number < len(self.plan) else None
        while True:
            exercise = CurrentExercise(spec, number, len(self.plan), next_title, evaluator.side_override)
            guide = SetupGuide(spec, settle_s=self.options.settle_s, countdown_s=self.options.countdown_s)
            stream = LiveStream(exercise, setup=guide if self.options.setup else None, last_seq=self._last_seq,
                                say=self._voice.say, on_event=self.on_event, card=self.display is not None)
            telemetry = Telemetry(self.timings if self.options.record_timings else None)
            display = LiveDisplay(self.display, spec, evaluator.counts())
            coach = CoachSink(exercise, self._voice, self.on_event)
            live = _LiveSink(exercise, telemetry, coach, display, self._clock)
            # the report files are a sink like the coach: written as the session closes, unless it never counted
            outputs = build_sinks(self._output_plan(folder), spec, self.source)
            self.ended_by = QUIT
            try:
                report = run_session(self._frames(stream, telemetry, display, coach), evaluator, [live, *outputs],
                                     source=partial(self._source_info, exercise, stream, telemetry))
            except Restart:
                spec, evaluator = self.make_evaluator(item)
                self.on_event("stage", "reset: starting this exercise again")
                self._voice.say(Utterance(tr("Starting again"), "guide", PRIORITY_GUIDE))
                continue
            finally:
                self._last_seq = stream.last_seq
            break
        if report.quality["frames"] == 0:
            return ExerciseRun(item, spec, None, self.ended_by, None)
        if self.ended_by != QUIT:
            last_one = number == len(self.plan) or self.ended_by not in (NEXT, TARGET_REACHED)
            summary = set_summary(report.to_dict(), spec, next_title=None if last_one else next_title,
                                  only_side=evaluator.side_override)
            display.again(LiveOverlay(summary=summary, header=exercise.header))
        return ExerciseRun(item, spec, report, self.ended_by, folder)

    def _output_plan(self, folder: Path | None) -> OutputPlan:
        """report.json and reps.csv; with a patient, the clinician's page too, like an analysed clip."""
        meta = self.options.page
        if meta is None or folder is None:
            return OutputPlan(folder=folder, skip_empty=True)
        page = ClipPage(replace(meta, report_dir=str(folder.resolve())), video="file")
        return OutputPlan(folder=folder, skip_empty=True, include_series=True, review_media=True, page=page)

    def _folder(self, number: int, spec: ExerciseSpec) -> Path | None:
        if self.out_dir is None:
            return None
        return self.out_dir if len(self.plan) == 1 else self.out_dir / f"{number:02d}-{spec.id}"

    def _source_info(self, exercise: CurrentExercise, stream: LiveStream, telemetry: Telemetry) -> SourceInfo:
        """The source description with this exercise's frame counts (called once the stream ended)."""
        live = {**telemetry.stats(stream.counts()), "ended_by": self.ended_by}
        if exercise.total > 1:
            live["routine_position"] = [exercise.number, exercise.total]
        return replace(self.source, live=live)

    # --- the stream run_session reads -------------------------------------------------------------
    def _frames(self, stream: LiveStream, telemetry: Telemetry, display: LiveDisplay,
                coach: CoachSink) -> Iterator[tuple[Frame, PoseSample]]:
        """The poses the stream lets through, until a key, a cut, the source's end or the routine moves on."""
        while True:
            while not self._commands.empty():  # the keys pressed since the last frame
                ended_by = stream.command(self._commands.get_nowait())
                if ended_by is not None:
                    self.ended_by = ended_by
                    return
            if self._cut_reason is not None:
                self.ended_by = self._cut_reason
                raise SessionCut(self._cut_reason)
            try:
                item = self.poses.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if isinstance(item, StreamEnd):
                self.ended_by = SOURCE_END
                return
            if isinstance(item, PoseFailed):
                if isinstance(item.error, InputError):
                    self.camera_error = item.error
                    self.ended_by = CAMERA_LOST
                    raise SessionCut(str(item.error))
                raise item.error
            frame = item.frame
            meter = telemetry.update(frame, self._clock()) if stream.gating else None
            overlay = stream.update(item)
            if overlay is not None:  # set-up or pause: shown, not analysed
                display.update(frame, item.pose, overlay, meter)
                continue
            yield frame, item.pose
            done_at_s = coach.done_at_s
            if (done_at_s is not None and stream.exercise.more
                    and self._clock() - done_at_s >= self.options.advance_after_s):
                self.ended_by = TARGET_REACHED
                return


def _item_language(item: RoutineItem) -> None:
    """A routine item's own language (``lang:``) holds from that exercise on."""
    if getattr(item, "lang", None):
        use(item.lang)
