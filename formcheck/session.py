"""The one session loop shared by recorded clips, replayed poses files and the camera."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from formcheck.evaluator import ExerciseEvaluator
from formcheck.report import SessionReport
from formcheck.types import Frame, FrameResult, PoseSample


class SessionCut(Exception):
    """Raised by a stream that was cut off (camera lost, Ctrl-C caught by another thread).

    ``run_session`` ends the session as it does on Ctrl-C: the report is built and marked incomplete.
    """


class Sink(Protocol):
    """Receives every frame's result; ``close`` gets the final report, ``abort`` discards output."""

    def update(self, frame: Frame | None, result: FrameResult) -> None: ...

    def close(self, report: SessionReport) -> None: ...

    def abort(self) -> None: ...


class PoseEstimatorLike(Protocol):
    def estimate(self, frame: Frame) -> PoseSample: ...


def estimate(frames: Iterable[Frame], estimator: PoseEstimatorLike) -> Iterator[tuple[Frame, PoseSample]]:
    """Run the pose model over decoded frames."""
    for frame in frames:
        yield frame, estimator.estimate(frame)


def replay(poses: Iterable[PoseSample]) -> Iterator[tuple[None, PoseSample]]:
    """Saved poses, with no pixels behind them."""
    for pose in poses:
        yield None, pose


def run_session(
    stream: Iterable[tuple[Frame | None, PoseSample]],
    evaluator: ExerciseEvaluator,
    sinks: Sequence[Sink] = (),
    *,
    source: dict | Callable[[], dict] | None = None,
    on_result: Callable[[FrameResult], None] | None = None,
    check: Callable[[SessionReport], None] | None = None,
) -> SessionReport:
    """Feed every pose to the evaluator and the sinks; always ends with a report.

    Ctrl-C ends the session early: the report is still built, marked incomplete, and handed to the
    sinks so nothing analysed so far is lost. Any other error aborts the sinks (no half-written
    files) and propagates, and so does an error raised by ``check`` on the finished report.
    ``source`` describes the input; a function is called once the stream has ended (a live source
    knows how many frames it dropped only then). A stream that raises ``SessionCut`` ends like Ctrl-C.
    """
    incomplete = False
    try:
        for frame, pose in stream:
            result = evaluator.update(pose)
            for sink in sinks:
                sink.update(frame, result)
            if on_result is not None:
                on_result(result)
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
