"""Live capture: the capture and pose threads, and the newest-frame mailbox between them.

```
capture thread   camera (or a file played at its own rate) -> NewestFrame: one slot, stale frames dropped
pose thread      newest frame -> pose model (VIDEO mode, monotonic ms) -> FIFO of poses (none dropped)
```
Inference always gets the newest frame; what comes after it (``live``'s session thread) never makes it wait.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from formcheck.types import Frame, PoseSample

POLL_S = 0.1  # threads look at their stop flags at least this often


class EndOfStream(Exception):
    """The frame source has ended and every frame it gave has been taken."""


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

    @property
    def frame(self) -> LiveFrame:
        """The frame, carrying these times to the session's sinks (telemetry reads them)."""
        f = self.captured.frame
        return LiveFrame(f.image_rgb, f.timestamp_ms, f.index, self.captured.seq, self.captured.captured_s,
                         self.picked_s, self.estimated_s)


@dataclass(frozen=True, eq=False)
class LiveFrame(Frame):
    """A camera frame with its capture order and the times it went through the capture and pose threads."""

    seq: int
    captured_s: float
    picked_s: float
    estimated_s: float


@dataclass(frozen=True)
class StreamEnd:
    """Put in the pose queue after the last pose: the frame source has ended."""


@dataclass(frozen=True, eq=False)
class PoseFailed:
    """Put in the pose queue when reading or estimating failed; the session thread raises ``error``."""

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
            self.out.put(StreamEnd())
        except Exception as exc:  # handed to the session thread, which raises it there
            self.out.put(PoseFailed(exc))

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the pose thread and wait up to ``timeout_s`` for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
