"""Ctrl-C and SIGTERM end a session between frames, and every thread is joined before the model closes."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

from formcheck.evaluator import ExerciseEvaluator
from formcheck.session import close_stream, estimate, interrupt_requested, interrupts_between_frames, run_session
from formcheck.spec import load_spec
from formcheck.types import Frame, PoseSample, SourceInfo

SIZE = (64, 48)


def pose(i: int) -> PoseSample:
    return PoseSample.missing(i * 100.0, SIZE)


def frame(i: int) -> Frame:
    return Frame(np.zeros((SIZE[1], SIZE[0], 3), np.uint8), i * 100.0, i)


class Signalling:
    """A stream of poses that sends the process `signum` as it hands over frame `at` (1-based)."""

    def __init__(self, n: int, at: int, signum: int = signal.SIGINT):
        self.n, self.at, self.signum = n, at, signum
        self.pulled = 0
        self.closed = False

    def __iter__(self):
        try:
            for i in range(self.n):
                self.pulled += 1
                if self.pulled == self.at:
                    os.kill(os.getpid(), self.signum)
                yield None, pose(i)
        finally:
            self.closed = True


class Counting:
    def __init__(self):
        self.updates = 0
        self.closed_with = None

    def update(self, frame, result) -> None:
        self.updates += 1

    def close(self, report) -> None:
        self.closed_with = report

    def abort(self) -> None:
        raise AssertionError("an interrupted session keeps its report")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_the_session_after_the_frame_in_hand(signum):
    stream, sink = Signalling(50, at=7, signum=signum), Counting()
    with interrupts_between_frames():
        report = run_session(iter(stream), ExerciseEvaluator(load_spec("bridge")), [sink])
        assert interrupt_requested()
    assert report.incomplete
    assert sink.updates == report.quality["frames"] == 7  # the 7th was evaluated, none after it
    assert stream.pulled == 7
    assert sink.closed_with is report
    assert not interrupt_requested()  # the next session starts afresh


def test_a_second_signal_raises_at_once():
    with pytest.raises(KeyboardInterrupt):
        with interrupts_between_frames():
            os.kill(os.getpid(), signal.SIGINT)
            assert interrupt_requested()
            os.kill(os.getpid(), signal.SIGINT)
            raise AssertionError("the second Ctrl-C did not interrupt")


def test_the_previous_handlers_come_back():
    def mine(signum, frame):
        raise AssertionError("not expected")

    old_int, old_term = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, mine)
        with interrupts_between_frames():
            assert signal.getsignal(signal.SIGINT) not in (old_int, mine)
            with interrupts_between_frames():  # nested: still the same handler, the request kept
                os.kill(os.getpid(), signal.SIGTERM)
            assert interrupt_requested()
        assert signal.getsignal(signal.SIGINT) is old_int and signal.getsignal(signal.SIGTERM) is mine
        with pytest.raises(ValueError):
            with interrupts_between_frames():
                raise ValueError
        assert signal.getsignal(signal.SIGINT) is old_int and signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, old_term)


def test_off_the_main_thread_it_does_nothing_and_a_session_there_runs_on():
    """Signals are the main thread's; a session in another thread (live) is cut by its owner."""
    seen = {}

    def elsewhere():
        before = signal.getsignal(signal.SIGINT)
        with interrupts_between_frames():
            seen["handler kept"] = signal.getsignal(signal.SIGINT) is before
        report = run_session(((None, pose(i)) for i in range(20)), ExerciseEvaluator(load_spec("bridge")))
        seen["frames"] = report.quality["frames"]
        seen["incomplete"] = report.incomplete

    with interrupts_between_frames():
        os.kill(os.getpid(), signal.SIGINT)
        worker = threading.Thread(target=elsewhere)
        worker.start()
        worker.join()
    assert seen == {"handler kept": True, "frames": 20, "incomplete": False}


class FakeEstimator:
    def estimate(self, f: Frame) -> PoseSample:
        return pose(f.index)


def test_close_stream_closes_the_stream_inside_estimate():
    closed = []

    def frames():
        try:
            for i in range(10):
                yield frame(i)
        finally:
            closed.append(True)

    inner = frames()  # held here too, so only an explicit close ends it
    outer = estimate(inner, FakeEstimator())
    next(outer)
    close_stream(outer)
    assert closed == [True]
    close_stream(object())  # a plain iterable: nothing to close


def test_closing_the_pose_stream_joins_the_decode_and_model_threads():
    from formcheck.pipeline import _frames_done, _tapped
    from formcheck.sources import prefetched

    def frames():
        for i in range(1000):
            yield frame(i)

    decode = prefetched(frames(), name="test-decode")  # held here too, as above
    poses = prefetched(estimate(_frames_done(decode, 1000, None), FakeEstimator()), name="test-model")
    stream = _tapped(poses, lambda p: None)
    next(stream)
    workers = [t for t in threading.enumerate() if t.name in ("test-decode", "test-model")]
    assert sorted(t.name for t in workers) == ["test-decode", "test-model"]
    close_stream(stream)
    assert not [t for t in workers if t.is_alive()]  # joined by the close itself, not left to the collector


def test_save_poses_stops_at_a_frame_boundary_and_keeps_no_file(tmp_path, monkeypatch):
    from formcheck import pipeline

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not read: the stream is faked")
    stream = Signalling(50, at=5)
    poses = iter(stream)

    def fake_open(path, **kwargs):
        source = SourceInfo(kind="video", fps=10.0, analysis_fps=10.0)
        return poses, source, None, lambda: source

    monkeypatch.setattr(pipeline, "open_pose_stream", fake_open)
    out = tmp_path / "poses" / "clip.npz"
    with pytest.raises(KeyboardInterrupt), interrupts_between_frames():
        pipeline.save_poses(clip, out)
    assert stream.pulled == 5 and stream.closed
    assert not out.exists() and not out.parent.exists()


def test_live_a_signal_cuts_the_session_thread_and_says_interrupted(tmp_path):
    """The live session runs in a thread of its own: the main thread sees the request and cuts it."""
    from formcheck.live import INTERRUPTED, LiveOptions, run_live
    from formcheck.live_routine import RoutineItem
    from formcheck.pipeline import build_evaluator

    ready = threading.Semaphore(1)
    given = []

    class Model:
        def estimate(self, f: Frame) -> PoseSample:
            ready.release()
            return pose(f.index)

    def camera():
        for i in range(20_000):  # the end is only reached if Ctrl-C is ignored
            ready.acquire(timeout=0.1)  # in step with the model while it runs
            if i == 10:
                os.kill(os.getpid(), signal.SIGINT)
            given.append(i)
            yield frame(i)

    with interrupts_between_frames():
        outcome = run_live([RoutineItem("bridge")], lambda item: build_evaluator(item.exercise, item.side), camera(),
                           Model(), source=SourceInfo(kind="camera", camera=0), out_dir=tmp_path,
                           options=LiveOptions(setup=False))
    assert outcome.ended_by == INTERRUPTED and [r.ended_by for r in outcome.runs] == [INTERRUPTED]
    assert given[-1] < 20_000 - 1
