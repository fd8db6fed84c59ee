"""Live coaching: ``run_live`` starts the capture, pose and session threads and runs the window.

```
capture thread   camera (or a file played at its own rate) -> newest-frame slot       (live_capture)
pose thread      newest frame -> pose model -> FIFO of poses, none dropped           (live_capture)
session thread   per exercise: the stream's gating (live_stream), then run_session(evaluator) with
                 the coach (live_coach), the display (live_display) and telemetry (live_telemetry)
main thread      the window (overlay, imshow, keys) or, with --no-window, waiting for Ctrl-C (live_window)
```
Inference always gets the newest frame; nothing downstream of it ever makes it wait: the
evaluator runs beside the next inference, drawing happens in the main thread, speech in its own.
The evaluator is the same ``ExerciseEvaluator`` `analyze` uses, fed by the same ``run_session``.
OpenCV is imported lazily, and only ``LiveWindow`` calls imshow/waitKey.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from formcheck.evaluator import ExerciseEvaluator
from formcheck.live_capture import POLL_S, FrameGrabber, NewestFrame, PoseWorker
from formcheck.live_routine import RoutineItem
from formcheck.live_session import LiveCoach, LiveOptions, LiveOutcome
from formcheck.live_stream import INTERRUPTED, NEXT, SOURCE_END, TARGET_REACHED
from formcheck.live_window import LiveWindow, Screen, linger, show_views, write_png
from formcheck.session import interrupt_requested
from formcheck.speech import Speaker
from formcheck.spec import ExerciseSpec
from formcheck.types import Frame, SourceInfo


def _wait(coach: LiveCoach) -> None:
    """Wait for the session thread; Ctrl-C cuts the session (reports are still saved)."""
    while coach.alive():
        if interrupt_requested():
            coach.cut(INTERRUPTED)
        try:
            coach.join(POLL_S)
        except KeyboardInterrupt:
            coach.cut(INTERRUPTED)


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
    screen = Screen(window)
    try:
        grabber.start()
        worker.start()
        coach.start()
        if display is not None:
            try:
                show_views(screen, display, coach)
            except KeyboardInterrupt:
                coach.cut(INTERRUPTED)
        _wait(coach)
        if window is not None and screen.last is not None and coach.ended_by in (TARGET_REACHED, SOURCE_END, NEXT):
            linger(window, screen.last)
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
