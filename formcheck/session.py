"""The one session loop shared by recorded clips, replayed poses files and the camera."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from formcheck.evaluator import ExerciseEvaluator
from formcheck.report import SessionReport
from formcheck.types import Frame, FrameResult, PoseSample, SourceInfo


class SessionCut(Exception):
    """Raised by a stream that was cut off (camera lost, Ctrl-C caught by another thread).

    ``run_session`` ends the session as it does on Ctrl-C: the report is built and marked incomplete.
    """


# Set by the first Ctrl-C or SIGTERM inside ``interrupts_between_frames``.
_interrupted = threading.Event()


def interrupt_requested() -> bool:
    """True once Ctrl-C or SIGTERM asked the session to end (see ``interrupts_between_frames``)."""
    return _interrupted.is_set()


def _request(signum, frame) -> None:
    if _interrupted.is_set():
        raise KeyboardInterrupt
    _interrupted.set()


@contextmanager
def interrupts_between_frames() -> Iterator[threading.Event]:
    """Ctrl-C and SIGTERM end the session after the frame in hand, not at whatever bytecode runs.

    A KeyboardInterrupt raised by the signal can land anywhere (inside generator machinery, between
    a thread's start and its join) and leave the decode or model thread running when the
    interpreter exits, which then aborts in native code. Here the first signal only sets an event
    that session loops check between frames; a second one raises KeyboardInterrupt at once (the
    user insists). The previous handlers come back on exit. Off the main thread (where handlers
    cannot be set) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is _request:
        yield _interrupted  # off the main thread, or already inside: nothing to install
        return
    _interrupted.clear()
    previous = {sig: signal.signal(sig, _request) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield _interrupted
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _interrupted.clear()


def _stop_here() -> bool:
    # the signal is the main thread's: a session run in another thread is cut by its owner (live)
    return _interrupted.is_set() and threading.current_thread() is threading.main_thread()


def close_stream(stream) -> None:
    """Close a generator now (running its ``finally``: threads joined, devices released), not when collected."""
    close = getattr(stream, "close", None)
    if close is not None:
        close()


class Sink(Protocol):
    """Receives every frame's result; ``close`` gets the final report, ``abort`` discards output."""

    def update(self, frame: Frame | None, result: FrameResult) -> None:
        """Take one analysed frame (None for replayed poses, which have no pixels)."""

    def close(self, report: SessionReport) -> None:
        """Write the outputs from the finished report."""

    def abort(self) -> None:
        """Leave nothing behind: the session did not finish."""


class Stage(Protocol):
    """What a session feeds every pose to: an ``ExerciseEvaluator``, or the pose-only recorder of
    `formcheck poses`. ``finish`` builds what the sinks are closed with."""

    def update(self, pose: PoseSample) -> FrameResult:
        """Analyse one pose."""

    def finish(self, source: dict | None = None, incomplete: bool = False):
        """The session's report (or run), given the source description."""


class PoseEstimatorLike(Protocol):
    """Anything that turns a frame into a pose."""

    def estimate(self, frame: Frame) -> PoseSample:
        """The pose in one frame."""


def estimate(frames: Iterable[Frame], estimator: PoseEstimatorLike) -> Iterator[tuple[Frame, PoseSample]]:
    """Run the pose model over decoded frames."""
    try:
        for frame in frames:
            yield frame, estimator.estimate(frame)
    finally:
        close_stream(frames)  # the decode thread is joined before the caller closes the estimator


def replay(poses: Iterable[PoseSample]) -> Iterator[tuple[None, PoseSample]]:
    """Saved poses, with no pixels behind them."""
    try:
        for pose in poses:
            yield None, pose
    finally:
        close_stream(poses)


def run_session(
    stream: Iterable[tuple[Frame | None, PoseSample]],
    evaluator: ExerciseEvaluator | Stage,
    sinks: Sequence[Sink] = (),
    *,
    source: SourceInfo | dict | Callable[[], SourceInfo | dict] | None = None,
    on_result: Callable[[FrameResult], None] | None = None,
    check: Callable[[SessionReport], None] | None = None,
) -> SessionReport:
    """Feed every pose to the evaluator and the sinks; always ends with a report.

    Ctrl-C ends the session early: the report is still built, marked incomplete, and handed to the
    sinks so nothing analysed so far is lost. Any other error aborts the sinks (no half-written
    files) and propagates, and so does an error raised by ``check`` on the finished report.
    ``source`` describes the input; a function is called once the stream has ended (a live source
    knows how many frames it dropped only then). A stream that raises ``SessionCut`` ends like Ctrl-C.
    Inside ``interrupts_between_frames`` (main thread) Ctrl-C ends the session after the frame in
    hand; the caller closes the stream.
    """
    incomplete = False
    try:
        for frame, pose in stream:
            result = evaluator.update(pose)
            for sink in sinks:
                sink.update(frame, result)
            if on_result is not None:
                on_result(result)
            if _stop_here():
                incomplete = True
                break
    except (KeyboardInterrupt, SessionCut):
        incomplete = True
    except BaseException:
        for sink in sinks:
            sink.abort()
        raise
    if callable(source):
        try:
            source = source()
        except BaseException:
            for sink in sinks:
                sink.abort()
            raise
    if isinstance(source, SourceInfo):
        source = source.to_dict()  # the report keeps the plain object report.json has
    report = evaluator.finish(source=source, incomplete=incomplete)
    try:
        if check is not None:
            check(report)
        for sink in sinks:
            sink.close(report)
    except BaseException:
        for sink in sinks:
            sink.abort()
        raise
    return report
