"""Frame sources: video files and cameras, as generators that release the device in ``finally``.

Video timestamps are the frames' own presentation times (phone clips have variable frame rate);
camera timestamps come from a monotonic clock. Both are forced strictly increasing, which the
pose model's VIDEO mode requires. Frames are RGB, upright (rotation metadata applied) and, when
asked, downscaled once here, before inference.

OpenCV is imported lazily so the rest of formcheck imports without it.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from formcheck.errors import CameraLost, InputError
from formcheck.types import Frame

VIDEO_FORMATS = ("mp4", "mov", "avi", "mkv", "webm")
DEFAULT_FPS = 30.0  # used only when a file does not say its frame rate
PREFETCH_FRAMES = 4  # decoded frames waiting for the model: enough to hide decoding, little memory
CAMERA_LOST_AFTER_S = 1.0
# A container's frame count may be off by a frame or two in a whole file (one real clip says 455
# frames and decodes 453), so a clip "ends early" only when more than this is missing.
ENDS_EARLY_MIN_FRAMES = 5
ENDS_EARLY_FRACTION = 0.02

# File signatures of still images, which FFmpeg would happily "play" as a one-frame video.
_IMAGE_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"BM", "BMP"),
    (8, b"WEBP", "WebP"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
)


def load_cv2():
    """Import OpenCV, with FFmpeg's own console messages off (formcheck reports errors itself)."""
    # FFmpeg prints e.g. "moov atom not found" for every unreadable file; we raise one clear line
    # instead. setdefault keeps a user's own OPENCV_FFMPEG_LOGLEVEL for debugging.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    import cv2

    return cv2


@contextlib.contextmanager
def quiet_opencv(cv2) -> Iterator[None]:
    """OpenCV's own log off while opening: formcheck reports a failed open itself, in one line."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        yield
        return
    old = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(old)


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence C-level stderr for a moment: native libraries print noise we cannot turn off.

    OpenCV warns about WebM's VP80 tag although it then uses it; MediaPipe logs TFLite set-up
    lines. Used only around single calls, as it silences the whole process meanwhile.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


@dataclass(frozen=True)
class VideoInfo:
    """What a clip is: its upright size (after rotation metadata), frame rate and length."""

    path: Path
    fps: float
    frame_count: int | None  # None when the container does not say
    width_px: int
    height_px: int
    rotation_deg: int  # clockwise rotation the file asks for (and that decoding applies)
    duration_s: float | None


@dataclass
class DecodeCount:
    """How far a decoder got: frames decoded, and whether it reached the end of the stream itself
    (rather than being stopped by its reader)."""

    frames: int = 0
    ended: bool = False


# --- pure helpers -----------------------------------------------------------------------------


def ends_early(frame_count: int | None, frames_decoded: int) -> bool:
    """True when decoding stopped well short of the container's frame count: a file cut short."""
    if not frame_count:
        return False
    missing = frame_count - frames_decoded
    return missing > max(ENDS_EARLY_MIN_FRAMES, ENDS_EARLY_FRACTION * frame_count)


class PtsClock:
    """Turns decoder presentation times into strictly increasing milliseconds.

    A valid PTS is used as is. A PTS that is missing (the decoder reports 0 past the first frame,
    or NaN/negative) is replaced by counting frame periods from the last valid one, which is
    index/fps when a file has no PTS at all. A PTS that does not advance becomes previous + 1 ms.
    """

    def __init__(self, fps: float):
        self.period_ms = 1000.0 / fps if math.isfinite(fps) and fps > 0 else 1000.0 / DEFAULT_FPS
        self.last_ms: float | None = None
        self._anchor_ms = 0.0
        self._anchor_index = 0

    def update(self, pts_ms: float, index: int) -> float:
        """This frame's time in ms, from its presentation timestamp when that is usable, else from its index."""
        valid = math.isfinite(pts_ms) and (pts_ms > 0 or (pts_ms == 0 and index == 0))
        if valid:
            t = float(pts_ms)
            self._anchor_ms, self._anchor_index = t, index
        else:
            t = self._anchor_ms + (index - self._anchor_index) * self.period_ms
        if self.last_ms is not None and t <= self.last_ms:
            t = self.last_ms + 1.0
        self.last_ms = t
        return t


class FrameRateLimiter:
    """Keeps the first frame of every 1/max_fps window of presentation time (all frames when None).

    Windows are counted from the first frame, so a 30 fps clip at 10 fps keeps every third frame
    and a 15 fps clip alternates gaps of 2 and 1 frames, 10 a second on average. Works on
    timestamps, so variable-frame-rate phone clips are sampled evenly too.
    """

    _SLACK_MS = 1.0  # rounding in container timestamps must not push a frame into the next window

    def __init__(self, max_fps: float | None):
        if max_fps is not None and not (math.isfinite(max_fps) and max_fps > 0):
            raise ValueError(f"max_fps must be positive, got {max_fps}")
        self.period_ms = None if max_fps is None else 1000.0 / max_fps
        self._first_ms: float | None = None
        self._window = -1

    def update(self, timestamp_ms: float) -> bool:
        """True when the frame at `timestamp_ms` is to be analysed."""
        if self.period_ms is None:
            return True
        if self._first_ms is None:
            self._first_ms = timestamp_ms
        window = math.floor((timestamp_ms - self._first_ms + self._SLACK_MS) / self.period_ms)
        if window <= self._window:
            return False
        self._window = window
        return True


def scaled_size(width_px: int, height_px: int, max_side_px: int | None) -> tuple[int, int]:
    """(width, height) after shrinking so the longer side is at most `max_side_px` (never enlarges)."""
    if max_side_px is None or max_side_px <= 0 or max(width_px, height_px) <= max_side_px:
        return width_px, height_px
    scale = max_side_px / max(width_px, height_px)
    return max(1, round(width_px * scale)), max(1, round(height_px * scale))


def image_kind(head: bytes) -> str | None:
    """The still-image format whose signature starts `head`, or None."""
    for offset, magic, name in _IMAGE_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            if name == "WebP" and head[:4] != b"RIFF":
                continue
            return name
    return None


# --- video files ------------------------------------------------------------------------------


def _cannot_read(path: Path) -> InputError:
    return InputError(
        f"cannot read {path} as a video: is it a video file? (formats: {', '.join(VIDEO_FORMATS)})"
    )


def _check_path(path: str | os.PathLike) -> Path:
    """Cheap checks before any decoding: exists, is a non-empty readable file, is not an image."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"no such file: {p}")
    if p.is_dir():
        raise InputError(f"{p} is a folder, not a video: pass a video file")
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            head = fh.read(16)
    except PermissionError:
        raise InputError(f"cannot read {p}: permission denied; check the file's permissions") from None
    except OSError as exc:
        raise InputError(f"cannot read {p} ({exc.strerror or exc}); check the file") from None
    if size == 0:
        raise InputError(f"{p} is empty (0 bytes): copy or record the clip again")
    kind = image_kind(head)
    if kind is not None:
        raise InputError(f"{p} is a {kind} image, not a video: pass a video clip ({', '.join(VIDEO_FORMATS)})")
    return p


_ROTATE_CODES = {90: "ROTATE_90_CLOCKWISE", 180: "ROTATE_180", 270: "ROTATE_90_COUNTERCLOCKWISE"}


@dataclass
class _Opened:
    cap: object  # cv2.VideoCapture
    info: VideoInfo
    first_bgr: object  # np.ndarray, upright
    first_pts_ms: float
    rotate_code: int | None  # set when OpenCV did not apply the rotation itself


def _open_video(path: Path) -> _Opened:
    """Open `path` with OpenCV and decode its first frame; InputError if either fails."""
    cv2 = load_cv2()
    api = cv2.CAP_FFMPEG if cv2.videoio_registry.hasBackend(cv2.CAP_FFMPEG) else cv2.CAP_ANY
    with quiet_opencv(cv2):
        cap = cv2.VideoCapture(str(path), api)
    try:
        if not cap.isOpened():
            raise _cannot_read(path)
        # OpenCV >= 4.5 applies rotation metadata itself (CAP_PROP_ORIENTATION_AUTO, on by default
        # for FFmpeg); a backend that cannot gets the frames rotated here instead.
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
        rotation = int(round(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0)) % 360
        auto = bool(cap.get(cv2.CAP_PROP_ORIENTATION_AUTO))
        rotate_code = None
        if rotation in _ROTATE_CODES and not auto:
            rotate_code = getattr(cv2, _ROTATE_CODES[rotation])
        try:
            ok, bgr = cap.read()
        except cv2.error:
            ok, bgr = False, None
        if not ok or bgr is None or bgr.size == 0:
            raise _cannot_read(path)
        pts = cap.get(cv2.CAP_PROP_POS_MSEC)
        if rotate_code is not None:
            bgr = cv2.rotate(bgr, rotate_code)
        fps = cap.get(cv2.CAP_PROP_FPS)
        fps = float(fps) if math.isfinite(fps) and fps > 0 else DEFAULT_FPS
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        frame_count = int(count) if math.isfinite(count) and count >= 1 else None
        height, width = bgr.shape[:2]  # the decoded, upright frame is the truth, not the header
        info = VideoInfo(
            path=path,
            fps=fps,
            frame_count=frame_count,
            width_px=int(width),
            height_px=int(height),
            rotation_deg=rotation,
            duration_s=frame_count / fps if frame_count is not None else None,
        )
        return _Opened(cap, info, bgr, pts, rotate_code)
    except BaseException:
        cap.release()
        raise


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Describe a clip (upright size, fps, frame count, rotation); InputError if it is not a readable video."""
    opened = _open_video(_check_path(path))
    opened.cap.release()
    return opened.info


def video_frames(path: str | os.PathLike, *, max_side_px: int | None = None,
                 max_fps: float | None = None, count: DecodeCount | None = None) -> Iterator[Frame]:
    """Decode a clip into upright RGB frames with presentation-time timestamps.

    ``max_fps`` keeps at most that many frames a second (see FrameRateLimiter); the others are
    decoded (H.264 needs them as references) but never converted, scaled or copied. Frames keep
    their index in the clip. Path problems raise InputError at once; a file that cannot be
    decoded raises it at the first ``next``. A stream cut short ends cleanly at the last good frame;
    ``count`` (if given) then says how many frames were decoded, to compare with the container's.
    """
    return _decode(_check_path(path), max_side_px, FrameRateLimiter(max_fps), count or DecodeCount())


def _decode(path: Path, max_side_px: int | None, limiter: FrameRateLimiter, count: DecodeCount) -> Iterator[Frame]:
    cv2 = load_cv2()
    opened = _open_video(path)
    cap = opened.cap
    try:
        clock = PtsClock(opened.info.fps)
        size = scaled_size(opened.info.width_px, opened.info.height_px, max_side_px)
        bgr, pts, index = opened.first_bgr, opened.first_pts_ms, 0
        opened.first_bgr = None
        t = clock.update(pts, index)
        limiter.update(t)
        count.frames = 1
        while True:
            yield Frame(_to_rgb(cv2, bgr, size), t, index)
            bgr = None
            while bgr is None:
                index += 1
                try:
                    if not cap.grab():
                        count.ended = True
                        return
                    t = clock.update(cap.get(cv2.CAP_PROP_POS_MSEC), index)
                    if not limiter.update(t):
                        count.frames += 1
                        continue  # decoded as a reference, never converted
                    ok, bgr = cap.retrieve()
                except cv2.error:
                    count.ended = True
                    return  # a corrupt packet mid-stream: keep what was decoded
                if not ok or bgr is None or bgr.size == 0:
                    count.ended = True
                    return
                count.frames += 1
            if opened.rotate_code is not None:
                bgr = cv2.rotate(bgr, opened.rotate_code)
    finally:
        cap.release()


def prefetched(items: Iterator, depth: int = PREFETCH_FRAMES, name: str = "formcheck-decode") -> Iterator:
    """Run `items` ahead in a thread of its own, at most `depth` items ahead of the caller.

    Used for decoding (OpenCV decodes without the GIL) and for the model (MediaPipe infers without
    it), so on two cores they overlap with the caller's work. Errors raised in the thread are
    raised here, in order; closing this generator stops the thread and closes `items`.
    """
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(end)
        except BaseException as exc:  # handed over to the consumer, which re-raises it
            put(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=run, name=name, daemon=True)
    try:
        worker.start()  # inside the try: a KeyboardInterrupt just after it must not skip the join
        while True:
            item = handoff.get()
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        if worker.ident is not None:  # started
            worker.join()


def _to_rgb(cv2, bgr, size_wh: tuple[int, int]):
    """Downscale (if asked) then convert in place: one new array per frame at most."""
    if (bgr.shape[1], bgr.shape[0]) != size_wh:
        bgr = cv2.resize(bgr, size_wh, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=bgr)


# --- cameras ----------------------------------------------------------------------------------


def open_camera(index: int, *, width: int | None = None, height: int | None = None):
    """Open camera `index` (an OpenCV VideoCapture the caller releases); InputError if there is none."""
    cv2 = load_cv2()
    with quiet_opencv(cv2):
        cap = cv2.VideoCapture(int(index))
    if not cap.isOpened():
        cap.release()
        raise InputError(
            f"no camera at index {index}: check it is connected, or pass --camera with another index"
        )
    if width:
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, int(width))
    if height:
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, int(height))
    return cap


def opened_camera_frames(cap, index: int = 0) -> Iterator[Frame]:
    """RGB frames from a camera opened by `open_camera`; releases it when the generator ends."""
    cv2 = load_cv2()
    try:
        yield from camera_stream(cap, index, to_rgb=lambda bgr: cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=bgr))
    finally:
        cap.release()


def camera_frames(index: int, *, width: int | None = None, height: int | None = None) -> Iterator[Frame]:
    """Frames from camera `index`, timestamped by a monotonic clock from the first frame.

    InputError if the camera does not open; CameraLost if it stops delivering for over a second.
    """
    yield from opened_camera_frames(open_camera(index, width=width, height=height), index)


def paced_frames(
    frames: Iterator[Frame],
    *,
    speed: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Frame]:
    """Deliver decoded frames at their own presentation times, as a camera would (a stand-in camera).

    The schedule starts when the first frame is taken. `speed` plays faster (2.0: twice as fast);
    timestamps are scaled with it, so the stream stays self-consistent. A slow reader makes this
    generator late, never early; dropping frames is the reader's business (as with a camera).
    """
    if not (math.isfinite(speed) and speed > 0):
        raise ValueError(f"speed must be positive, got {speed}")
    start_s: float | None = None
    first_ms: float | None = None
    try:
        for frame in frames:
            if start_s is None:
                start_s, first_ms = clock(), frame.timestamp_ms
            due_s = start_s + (frame.timestamp_ms - first_ms) / 1000.0 / speed
            wait_s = due_s - clock()
            if wait_s > 0:
                sleep(wait_s)
            if speed != 1.0:
                frame = Frame(frame.image_rgb, first_ms + (frame.timestamp_ms - first_ms) / speed, frame.index)
            yield frame
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()


def camera_stream(
    cap,
    index: int = 0,
    *,
    to_rgb: Callable = lambda img: img,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    lost_after_s: float = CAMERA_LOST_AFTER_S,
) -> Iterator[Frame]:
    """The read loop of `camera_frames`, over anything with ``read() -> (ok, image)``."""
    start = clock()
    last_good = start
    last_ms: float | None = None
    n = 0
    while True:
        ok, bgr = cap.read()
        now = clock()
        if not ok or bgr is None or bgr.size == 0:
            if now - last_good > lost_after_s:
                raise CameraLost(
                    f"camera {index} stopped sending frames: check its connection and start again"
                )
            sleep(0.005)
            continue
        last_good = now
        t = (now - start) * 1000.0
        if last_ms is not None and t <= last_ms:
            t = last_ms + 1.0
        last_ms = t
        yield Frame(to_rgb(bgr), t, n)
        n += 1
