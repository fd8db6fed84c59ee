"""Live coaching: capture, pose and session threads around the one session loop, and the window.

```
capture thread   camera (or a file played at its own rate) -> NewestFrame: one slot, stale frames dropped
pose thread      newest frame -> pose model (VIDEO mode, monotonic ms) -> FIFO of poses (none dropped)
session thread   set-up guidance and countdown, then run_session(evaluator) -> display slot, speech
main thread      the window (overlay, imshow, keys) or, with --no-window, waiting for Ctrl-C
```
Inference always gets the newest frame; nothing downstream of it ever makes it wait: the
evaluator runs beside the next inference, drawing happens in the main thread, speech in its own.
The evaluator is the same ``ExerciseEvaluator`` `analyze` uses, fed by the same ``run_session``.
OpenCV is imported lazily, and only ``LiveWindow`` calls imshow/waitKey.
"""

from __future__ import annotations

import math
import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from formcheck.coaching import CoachState, CueBoard, set_summary
from formcheck.errors import InputError
from formcheck.evaluator import ExerciseEvaluator
from formcheck.lang import tr, use
from formcheck.live_routine import RoutineItem
from formcheck.live_setup import GO, SetupGuide
from formcheck.outputs import ClipPage, OutputPlan, build_sinks
from formcheck.render import LiveOverlay
from formcheck.report import SessionReport
from formcheck.session import SessionCut, interrupt_requested, run_session
from formcheck.spec import ExerciseSpec
from formcheck.speech import PRIORITY_COUNT, PRIORITY_CUE, PRIORITY_GUIDE, CueDebouncer, Speaker, Utterance
from formcheck.types import FeatureFrame, Frame, FrameResult, PoseSample, SourceInfo

if TYPE_CHECKING:
    from formcheck.htmlreport import ClipMeta

POLL_S = 0.1  # threads look at their stop flags at least this often
DISPLAY_MIN_WIDTH_PX = 640  # small camera frames are shown enlarged so the overlay stays readable
DISPLAY_MAX_WIDTH_PX = 1280
END_SCREEN_S = 15.0  # the last end-of-set screen stays in the window this long, or until a key
ADVANCE_AFTER_S = 4.0  # in a routine, move on this long after the target is reached
FPS_SMOOTHING = 0.1  # weight of the newest frame in the FPS and latency shown in the corner

# how a live exercise ended
QUIT, NEXT, TARGET_REACHED, SOURCE_END, INTERRUPTED, CAMERA_LOST = (
    "quit", "next", "target_reached", "source_end", "interrupted", "camera_lost")
COMMANDS = ("quit", "pause", "reset", "next")


class EndOfStream(Exception):
    """The frame source has ended and every frame it gave has been taken."""


# --- the newest-frame mailbox and the capture thread -------------------------------------------


@dataclass(frozen=True, eq=False)
class Captured:
    """A frame as the capture thread received it: its capture order and monotonic arrival time."""

    frame: Frame
    seq: int
    captured_s: float


class NewestFrame:
    """A one-slot mailbox between a producer and a slower consumer: stale items are dropped, never queued.

    ``put`` replaces an item still waiting (counted in ``dropped``); ``take`` returns the newest
    item once. After ``close`` the consumer gets what is waiting, then EndOfStream (or the
    producer's error, raised in the consumer's thread).
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._item = None
        self._closed = False
        self._error: BaseException | None = None
        self.put_count = 0
        self.dropped = 0
        self.taken = 0

    def put(self, item) -> None:
        """Offer an item, replacing one still waiting (ignored once closed)."""
        with self._cond:
            if self._closed:
                return
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self.put_count += 1
            self._cond.notify_all()

    def take(self, timeout_s: float | None = None):
        """The newest unread item; None when nothing new arrived within `timeout_s`."""
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout_s)
            if self._item is not None:
                item, self._item = self._item, None
                self.taken += 1
                return item
            if self._closed:
                if self._error is not None:
                    raise self._error
                raise EndOfStream
            return None

    def close(self, error: BaseException | None = None) -> None:
        """End the stream, with the producer's error if it failed; the consumer is woken."""
        with self._cond:
            if not self._closed:
                self._closed, self._error = True, error
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """Whether the stream has been closed."""
        return self._closed


class FrameGrabber:
    """Reads a frame source in its own thread into a NewestFrame, stamping each with its arrival time."""

    def __init__(self, frames: Iterator[Frame], *, clock: Callable[[], float] = time.monotonic):
        self.frames = frames
        self.slot = NewestFrame()
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="formcheck-capture", daemon=True)

    def start(self) -> FrameGrabber:
        """Start reading frames in the capture thread; returns self."""
        self._thread.start()
        return self

    def _run(self) -> None:
        error = None
        try:
            for seq, frame in enumerate(self.frames):
                if self._stop.is_set():
                    break
                self.slot.put(Captured(frame, seq, self._clock()))
        except Exception as exc:  # handed to the consumer's thread, which raises it there
            error = exc
        finally:
            close = getattr(self.frames, "close", None)
            if close is not None:
                close()  # releases the camera or the file, in the thread that read it
            self.slot.close(error)

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop reading, close the slot and wait up to ``timeout_s`` for the thread."""
        self._stop.set()
        self.slot.close()
        if self._thread.is_alive():
            self._thread.join(timeout_s)


# --- the pose thread -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LivePose:
    """A pose with the times it went through: captured, picked up by the model, estimated."""

    captured: Captured
    pose: PoseSample
    picked_s: float
    estimated_s: float


@dataclass(frozen=True)
class _End:
    pass


@dataclass(frozen=True, eq=False)
class _Failed:
    error: BaseException


class PoseWorker:
    """Takes the newest frame, runs the pose model on it, and queues the pose for the session."""

    def __init__(self, slot: NewestFrame, estimator, *, clock: Callable[[], float] = time.monotonic):
        self.slot = slot
        self.estimator = estimator
        self.out: queue.Queue = queue.Queue()
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="formcheck-pose", daemon=True)

    def start(self) -> PoseWorker:
        """Start the pose thread; returns self."""
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                captured = self.slot.take(POLL_S)
                if captured is None:
                    continue
                picked = self._clock()
                pose = self.estimator.estimate(captured.frame)
                self.out.put(LivePose(captured, pose, picked, self._clock()))
        except EndOfStream:
            self.out.put(_End())
        except Exception as exc:  # handed to the session thread, which raises it there
            self.out.put(_Failed(exc))

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the pose thread and wait up to ``timeout_s`` for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)


# --- the session thread ---------------------------------------------------------------------------


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
class View:
    """One frame for the window: the image, what the evaluator made of it, and the live extras."""

    image_rgb: np.ndarray
    result: FrameResult
    spec: ExerciseSpec
    overlay: LiveOverlay
    fps: float | None
    latency_ms: float | None


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


class _Restart(Exception):
    """The person pressed r: this exercise starts again from nothing."""


class LiveCoach:
    """The session thread: walks the plan, guides set-up, runs the evaluator, feeds window and voice.

    It is also the session's sink (``update``/``close``/``abort``), so it sees every result the
    evaluator gives, at the moment it is ready.
    """

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
        self.speaker = speaker
        self.display = display
        self.on_event = on_event or (lambda kind, text: None)
        self._clock = clock
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._cut_reason: str | None = None
        self._debouncer = CueDebouncer()
        self._last_seq = -1
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
        self._debouncer.reset()
        self.on_event("exercise", f"{spec.title}: {target}")
        self._say(Utterance(f"{spec.title}. {spoken}.", "guide", PRIORITY_GUIDE))
        folder = self._folder(number, spec)
        while True:
            self._begin(number, spec, evaluator)
            # the report files are a sink like the coach: written as the session closes, unless it never counted
            outputs = build_sinks(self._output_plan(folder), spec, self.source)
            try:
                report = run_session(self._stream(), evaluator, [self, *outputs], source=self._source_info)
            except _Restart:
                spec, evaluator = self.make_evaluator(item)
                self.on_event("stage", "reset: starting this exercise again")
                self._say(Utterance(tr("Starting again"), "guide", PRIORITY_GUIDE))
                continue
            break
        if report.quality["frames"] == 0:
            return ExerciseRun(item, spec, None, self.ended_by, None)
        if self._current is not None and self._last_result is not None and self.ended_by != QUIT:
            last_one = number == len(self.plan) or self.ended_by not in (NEXT, TARGET_REACHED)
            summary = set_summary(report.to_dict(), spec, next_title=None if last_one else self._next_title(),
                                  only_side=evaluator.side_override)
            self._show(self._current, self._last_result, LiveOverlay(summary=summary, header=self._header()))
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

    def _begin(self, number: int, spec: ExerciseSpec, evaluator: ExerciseEvaluator) -> None:
        self._number = number
        self._spec = spec
        self._evaluator = evaluator
        self._guide = SetupGuide(spec, settle_s=self.options.settle_s, countdown_s=self.options.countdown_s)
        self._stage = "setup" if self.options.setup else "counting"
        self._paused = False
        self._pause_from: int | None = None
        self._paused_frames = 0
        self._current: LivePose | None = None
        self._last_result: FrameResult | None = None
        self._count_from = self._last_seq + 1
        self._counted = 0
        self._last_counted_seq = self._last_seq
        self._first_result_s = self._last_result_s = None
        self._latencies: deque[float] = deque(maxlen=10_000)
        self._model_ms_sum = 0.0
        self._fps: float | None = None
        self._latency_ms: float | None = None
        self._tick_s: float | None = None
        self._active: set[str] = set()
        self._held = False
        self._holding = False
        self._done_at: float | None = None
        self._board = CueBoard(spec)
        self._coach_state: CoachState | None = None
        self._tally: dict = {"reps": [], "faults": []}  # what the end-of-set screen shows mid-session
        self.ended_by = QUIT

    def _source_info(self) -> SourceInfo:
        """The source description with this exercise's frame counts (called once the stream ended)."""
        captured = max(0, self._last_counted_seq - self._count_from + 1 - self._paused_frames)
        dropped = max(0, captured - self._counted)
        span_s = (self._last_result_s - self._first_result_s) if self._first_result_s is not None else 0.0
        lat = np.array(self._latencies)
        live = {
            "frames_captured": captured,
            "frames_analysed": self._counted,
            "frames_dropped": dropped,
            "dropped_fraction": round(dropped / captured, 4) if captured else 0.0,
            "frames_paused": self._paused_frames,
            "analysed_fps": round((self._counted - 1) / span_s, 2) if span_s > 0 else None,
            "latency_ms_mean": _r(float(np.mean(lat))) if len(lat) else None,
            "latency_ms_p95": _r(float(np.percentile(lat, 95))) if len(lat) else None,
            "model_ms_mean": _r(self._model_ms_sum / self._counted) if self._counted else None,
            "ended_by": self.ended_by,
        }
        if len(self.plan) > 1:
            live["routine_position"] = [self._number, len(self.plan)]
        return replace(self.source, live=live)

    # --- the stream run_session reads -------------------------------------------------------------
    def _stream(self) -> Iterator[tuple[Frame, PoseSample]]:
        while True:
            if self._handle_commands():
                return
            if self._cut_reason is not None:
                self.ended_by = self._cut_reason
                raise SessionCut(self._cut_reason)
            try:
                item = self.poses.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if isinstance(item, _End):
                self.ended_by = SOURCE_END
                return
            if isinstance(item, _Failed):
                if isinstance(item.error, InputError):
                    self.camera_error = item.error
                    self.ended_by = CAMERA_LOST
                    raise SessionCut(str(item.error))
                raise item.error
            lp: LivePose = item
            if self._paused:
                if self._pause_from is None:
                    self._pause_from = self._last_seq + 1
                self._last_seq = lp.captured.seq
                self._tick(lp, self._clock())
                self._show(lp, self._preview(lp.pose), LiveOverlay(
                    message=tr("Paused: space to go on, r to start again, q to quit"), tone="paused"))
                continue
            if self._pause_from is not None:  # frames shown while paused are neither analysed nor dropped
                if self._stage == "counting":
                    self._paused_frames += lp.captured.seq - self._pause_from
                self._pause_from = None
            if self._stage != "counting":
                self._tick(lp, self._clock())
                if not self._set_up(lp):
                    self._last_seq = lp.captured.seq
                    continue
                self._count_from = self._last_seq + 1
            self._last_seq = self._last_counted_seq = lp.captured.seq
            self._counted += 1
            self._current = lp
            yield lp.captured.frame, lp.pose
            if (self._done_at is not None and len(self.plan) > 1 and self._number < len(self.plan)
                    and self._clock() - self._done_at >= self.options.advance_after_s):
                self.ended_by = TARGET_REACHED
                return

    def _handle_commands(self) -> bool:
        """Act on the keys pressed since the last frame; True when this exercise ends here."""
        while True:
            try:
                name = self._commands.get_nowait()
            except queue.Empty:
                return False
            if name == "quit":
                self.ended_by = QUIT
                return True
            if name == "next":
                self.ended_by = NEXT
                return True
            if name == "reset":
                raise _Restart
            if name == "pause":
                self._paused = not self._paused
                self.on_event("stage", "paused" if self._paused else "going on")

    def _set_up(self, lp: LivePose) -> bool:
        """One frame of set-up guidance; True when counting starts with this frame."""
        state = self._guide.update(lp.pose)
        before, self._stage = self._stage, state.stage if state.stage != "go" else "counting"
        if state.stage == "setup":
            if state.message != "Good, hold still":
                self._say(Utterance(tr(state.message), "guide", PRIORITY_GUIDE))
            card = self._setup_card()  # the card takes the gauges' place: nothing is measured yet
            overlay = LiveOverlay(message=tr(state.message), tone="guide", header=self._header(), card=card, gauges=card is None)
        elif state.stage == "countdown":
            if before != "countdown":
                self.on_event("stage", "set up: counting down")
                self._say(Utterance(tr("{position}. Get ready.").format(position=tr(state.message)), "guide", PRIORITY_GUIDE))
            overlay = LiveOverlay(message=tr(state.message), countdown_s=state.countdown_s, tone="good", header=self._header())
        else:
            self.on_event("stage", "counting")
            self._say(Utterance(tr(GO), "guide", PRIORITY_CUE))
            return True
        self._show(lp, self._preview(lp.pose), overlay)
        return False

    def _setup_card(self):
        """The set-up card of this exercise (instructions, camera, pictures), built once it is first shown."""
        if self.display is None:
            return None
        if getattr(self, "_card_for", None) is not self._spec:
            from formcheck.setup_card import setup_card

            self._card, self._card_for = setup_card(self._spec), self._spec
        return self._card

    def _preview(self, pose: PoseSample) -> FrameResult:
        """A result for a frame the evaluator does not see (set-up, pause): the pose and the counts so far."""
        last = self._last_result
        return FrameResult(
            pose=pose,
            features=FeatureFrame(pose.timestamp_ms, {}, False, pose.detected),
            phases=dict(last.phases) if last is not None else {},
            counts=dict(last.counts) if last is not None else self._evaluator.counts(),
            hold_s=0.0,
        )

    def _header(self) -> str | None:
        return f"Exercise {self._number} of {len(self.plan)}" if len(self.plan) > 1 else None

    # --- the sink run_session feeds ---------------------------------------------------------------
    def update(self, frame: Frame | None, result: FrameResult) -> None:
        """Sink: take one result as it is ready; coach, speak and show the frame with its overlay."""
        now = self._clock()
        lp = self._current
        latency_s = now - lp.captured.captured_s
        self._latencies.append(latency_s * 1000)
        self._model_ms_sum += (lp.estimated_s - lp.picked_s) * 1000
        if self.options.record_timings:
            self.timings.append((lp.captured.captured_s, lp.picked_s, lp.estimated_s, now))
        self._tick(lp, now)
        self._first_result_s = now if self._first_result_s is None else self._first_result_s
        self._last_result_s = now
        self._last_result = result
        self._coach_state = self._board.update(result)
        self._coach(result, now)
        summary = None
        if self._done_at is not None:  # the set is done: the end-of-set screen, kept up to date
            more = len(self.plan) > 1 and self._number < len(self.plan)
            summary = set_summary(self._tally_report(result), self._spec, next_title=self._next_title() if more else None,
                                  only_side=self._evaluator.side_override)
        self._show(lp, result, LiveOverlay(header=self._header(), coach=self._coach_state, summary=summary))

    def _tally_report(self, result: FrameResult) -> dict:
        """The part of a report the end-of-set screen reads, from what this set has shown so far."""
        spec = self._spec
        return {"summary": {"target_reps_per_side": spec.target.reps, "target_hold_s": spec.target.hold_s,
                            "reps_by_side": dict(result.counts)},
                "reps": self._tally["reps"], "faults": self._tally["faults"]}

    def _tick(self, lp: LivePose, now: float) -> None:
        """The FPS and latency shown in the corner (smoothed), for every frame the window gets."""
        if self._tick_s is not None and now > self._tick_s:
            fps = 1.0 / (now - self._tick_s)
            self._fps = fps if self._fps is None else self._fps + FPS_SMOOTHING * (fps - self._fps)
        self._tick_s = now
        latency_ms = (now - lp.captured.captured_s) * 1000
        self._latency_ms = latency_ms if self._latency_ms is None else (
            self._latency_ms + FPS_SMOOTHING * (latency_ms - self._latency_ms))

    def _next_title(self) -> str:
        from formcheck.spec import load_spec

        return load_spec(self.plan[self._number].exercise).title

    def close(self, report: SessionReport) -> None:
        """Sink: nothing to do, the session's report comes back from run_session."""
        pass

    def abort(self) -> None:
        """Sink: nothing to do when the session is aborted."""
        pass

    def _coach(self, result: FrameResult, now: float) -> None:
        """What to say and print for this result: reps, faults, holds, the end of the set."""
        spec = self._spec
        offered = []
        self._tally["reps"] += [{"side": r.side, "hold_s": r.hold_s} for r in result.new_reps]
        self._tally["faults"] += [{"id": f.id, "cue": f.cue, "side": f.side} for f in result.new_faults]
        for rep in result.new_reps:
            n = result.counts.get(rep.side, 0)
            side = "" if rep.side == "both" else f"{rep.side} "
            self.on_event("rep", f"{'hold' if spec.kind == 'hold' else 'rep'} {side}{n}/{spec.target.reps}"
                          + (f"  ({', '.join(f.id for f in rep.faults)})" if rep.faults else ""))
            offered.append(Utterance(f"{tr(rep.side.capitalize())} {n}" if side else str(n), "count", PRIORITY_COUNT))
        if result.counts and self._done_at is None and all(n >= spec.target.reps for n in result.counts.values()):
            self._done_at = now
            self.on_event("done", f"target reached: {spec.target.reps} {'holds' if spec.kind == 'hold' else 'reps'}")
            text = offered[-1].text + ". " if offered else ""
            offered = [Utterance(text + tr("That's the set, well done."), "count", PRIORITY_COUNT)]
        for fault in result.new_faults:
            said = self._board.fault_cue(fault.id, fault.cue, fault.side).text
            self.on_event("fault", f"{said}  ({fault.id}, {fault.side})")
            offered.append(Utterance(said, f"cue:{fault.id}", PRIORITY_CUE))
        fresh = [c for c in result.active_cues if c not in self._active]
        self._active = set(result.active_cues)
        sided = {f.fault_id: f.text for f in self._coach_state.firing} if self._coach_state is not None else {}
        by_cue = {r.cue: r.id for r in spec.faults}
        for c in fresh:  # said as the screen shows it: the side named
            offered.append(Utterance(sided.get(by_cue.get(c, ""), c), f"cue:{c}", PRIORITY_CUE))
        for notice in result.notices:
            self.on_event("notice", notice)
        target_hold = spec.target.hold_s
        if target_hold > 0:
            if 0 < result.hold_s < target_hold and not self._holding:  # a short hold no longer passes silently
                offered.append(Utterance(tr("Keep holding, {seconds} seconds").format(seconds=f"{target_hold:g}"), "hold", PRIORITY_COUNT))
            self._holding = result.hold_s > 0
            if result.hold_s >= target_hold and not self._held:
                offered.append(Utterance(tr("Good hold, and release"), "hold", PRIORITY_COUNT))
            self._held = result.hold_s >= target_hold if result.hold_s > 0 else False
        self._say(*offered, now=now)

    def _say(self, *offered: Utterance, now: float | None = None) -> None:
        u = self._debouncer.update(self._clock() if now is None else now, offered)
        if u is not None and self.speaker is not None:
            self.speaker.say(u)

    def _show(self, lp: LivePose, result: FrameResult, overlay: LiveOverlay) -> None:
        if self.display is not None:
            self.display.put(View(lp.captured.frame.image_rgb, result, self._spec, overlay, self._fps, self._latency_ms))


def _item_language(item: RoutineItem) -> None:
    """A routine item's own language (``lang:``) holds from that exercise on."""
    if getattr(item, "lang", None):
        use(item.lang)


def _r(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, 1)


# --- the window (main thread) ----------------------------------------------------------------------


def display_available() -> bool:
    """Whether a window can open here (on Linux, Qt aborts the process without a display)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def display_size(width_px: int, height_px: int) -> tuple[int, int]:
    """The size a frame is shown at: small frames enlarged to 640 wide, big ones shrunk to 1280."""
    scale = 1.0
    if width_px < DISPLAY_MIN_WIDTH_PX:
        scale = DISPLAY_MIN_WIDTH_PX / width_px
    elif width_px > DISPLAY_MAX_WIDTH_PX:
        scale = DISPLAY_MAX_WIDTH_PX / width_px
    return max(1, round(width_px * scale)), max(1, round(height_px * scale))


class Composer:
    """Turns a View into the picture the window shows (one overlay renderer per exercise)."""

    def __init__(self):
        self._renderer = None

    def update(self, view: View) -> np.ndarray:
        """Draw the view's overlay on its frame, scaled to the display size; returns the picture."""
        from formcheck.render import OverlayRenderer
        from formcheck.sources import load_cv2

        cv2 = load_cv2()
        if self._renderer is None or self._renderer.spec is not view.spec:
            self._renderer = OverlayRenderer(view.spec)
        h, w = view.image_rgb.shape[:2]
        size = display_size(w, h)
        image = view.image_rgb if size == (w, h) else cv2.resize(view.image_rgb, size, interpolation=cv2.INTER_LINEAR)
        if image is view.image_rgb:
            image = image.copy()
        return self._renderer.update(image, view.result, fps=view.fps, latency_ms=view.latency_ms,
                                     inplace=True, live=view.overlay)


class LiveWindow:
    """The OpenCV window: the only place that calls imshow and waitKey."""

    KEYS = {ord("q"): "quit", ord("Q"): "quit", 27: "quit", ord(" "): "pause", ord("p"): "pause",
            ord("r"): "reset", ord("R"): "reset", ord("n"): "next", ord("N"): "next",
            ord("f"): "fullscreen", ord("F"): "fullscreen"}

    def __init__(self, title: str = "formcheck live"):
        from formcheck.sources import load_cv2

        self.title = title
        self._cv2 = load_cv2()
        self._open = False
        self.fullscreen = False

    def show(self, image_rgb: np.ndarray) -> None:
        """Show an RGB picture, opening the window on the first one."""
        cv2 = self._cv2
        if not self._open:
            # resizable (the picture scales with the window, its shape kept): seen from 2-3 m away,
            # the person makes it as big as the screen allows
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | getattr(cv2, "WINDOW_GUI_NORMAL", 0))
            cv2.resizeWindow(self.title, image_rgb.shape[1], image_rgb.shape[0])
            self._open = True
        cv2.imshow(self.title, cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))

    def toggle_fullscreen(self) -> None:
        """The f key: fill the screen, or back to a window."""
        if not self._open:
            return
        cv2 = self._cv2
        self.fullscreen = not self.fullscreen
        cv2.setWindowProperty(self.title, cv2.WND_PROP_FULLSCREEN,
                              cv2.WINDOW_FULLSCREEN if self.fullscreen else cv2.WINDOW_NORMAL)

    def key(self, wait_ms: int = 1) -> str | None:
        """The command of a key pressed (None: none), waiting at most `wait_ms`."""
        k = self._cv2.waitKey(wait_ms)
        return None if k < 0 else self.KEYS.get(k & 0xFF)

    def closed(self) -> bool:
        """The person closed the window with its close button."""
        if not self._open:
            return False
        return self._cv2.getWindowProperty(self.title, self._cv2.WND_PROP_VISIBLE) < 1

    def close(self) -> None:
        """Close the window if it is open."""
        if self._open:
            self._cv2.destroyWindow(self.title)
            self._cv2.waitKey(1)
            self._open = False


# --- putting it together -----------------------------------------------------------------------------


@dataclass
class _Screen:
    window: LiveWindow | None
    composer: Composer = field(default_factory=Composer)
    last: np.ndarray | None = None
    shown: int = 0


def _wait(coach: LiveCoach) -> None:
    """Wait for the session thread; Ctrl-C cuts the session (reports are still saved)."""
    while coach.alive():
        if interrupt_requested():
            coach.cut(INTERRUPTED)
        try:
            coach.join(POLL_S)
        except KeyboardInterrupt:
            coach.cut(INTERRUPTED)


def _ui(screen: _Screen, display: NewestFrame, coach: LiveCoach) -> None:
    """The main thread's loop: draw the newest view, show it, turn keys into commands."""
    while True:
        if interrupt_requested():
            coach.cut(INTERRUPTED)
        try:
            view = display.take(0.02)
        except EndOfStream:
            return
        try:
            if view is not None:
                screen.last = screen.composer.update(view)
                screen.shown += 1
                if screen.window is not None:
                    screen.window.show(screen.last)
            if screen.window is not None:
                command = screen.window.key(1)
                if command == "fullscreen":
                    screen.window.toggle_fullscreen()
                elif command is not None:
                    coach.command(command)
                if screen.window.closed():
                    coach.command("quit")
        except KeyboardInterrupt:
            coach.cut(INTERRUPTED)


def _linger(window: LiveWindow, image_rgb: np.ndarray, *, clock: Callable[[], float] = time.monotonic) -> None:
    """Keep the end-of-set screen up until a key, the window's close button or END_SCREEN_S."""
    until = clock() + END_SCREEN_S
    window.show(image_rgb)
    while clock() < until and not interrupt_requested():
        command = window.key(100)
        if command == "fullscreen":
            window.toggle_fullscreen()
        elif command is not None or window.closed():
            return


def run_live(
    plan: Sequence[RoutineItem],
    make_evaluator: Callable[[RoutineItem], tuple[ExerciseSpec, ExerciseEvaluator]],
    frames: Iterator[Frame],
    estimator,
    *,
    source: SourceInfo,
    out_dir: Path | None,
    options: LiveOptions = LiveOptions(),
    window: LiveWindow | None = None,
    speaker: Speaker | None = None,
    on_event: Callable[[str, str], None] | None = None,
    screenshot: Path | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> LiveOutcome:
    """Run a live session over `frames` until the plan is done, q, Ctrl-C or the source ends.

    Each exercise's report.json and reps.csv are written (atomically) as it ends; Ctrl-C and a lost
    camera mark the one cut off incomplete. Errors other than a lost camera are re-raised here.
    """
    grabber = FrameGrabber(frames, clock=clock)
    worker = PoseWorker(grabber.slot, estimator, clock=clock)
    drawing = window is not None or screenshot is not None
    display = NewestFrame() if drawing else None
    coach = LiveCoach(plan, make_evaluator, worker.out, source=source, out_dir=out_dir, options=options,
                      speaker=speaker, display=display, on_event=on_event, clock=clock)
    screen = _Screen(window)
    try:
        grabber.start()
        worker.start()
        coach.start()
        if display is not None:
            try:
                _ui(screen, display, coach)
            except KeyboardInterrupt:
                coach.cut(INTERRUPTED)
        _wait(coach)
        if window is not None and screen.last is not None and coach.ended_by in (TARGET_REACHED, SOURCE_END, NEXT):
            _linger(window, screen.last)
    finally:
        _wait(coach)
        worker.stop()
        grabber.stop()
        if window is not None:
            window.close()
        if speaker is not None:
            speaker.close()
    if screenshot is not None and screen.last is not None:
        write_png(screenshot, screen.last)
    if coach.error is not None:
        raise coach.error
    return coach.outcome()


def write_png(path: Path, image_rgb: np.ndarray) -> Path:
    """Save an RGB image as PNG, atomically."""
    from formcheck.errors import OutputError
    from formcheck.io import atomic_write
    from formcheck.sources import load_cv2

    cv2 = load_cv2()
    ok, data = cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OutputError(f"cannot encode {path} as PNG")
    return atomic_write(Path(path), lambda fh: fh.write(data.tobytes()), binary=True)
