"""Output writers: annotated video and atomic JSON/CSV/text files.

Every file is written to a temp file in its own folder and renamed into place (the one writer,
``formcheck.io.atomic_write``), so a crash or an abort never leaves a half-written output behind.
OpenCV is imported lazily.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from formcheck.errors import OutputError
from formcheck.io import (
    AtomicOutput,
    atomic_write,
    make_parent,
    publish,
    temp_path,
    write_files_together,
)

# suffix -> codec. The pip OpenCV has no H.264 encoder and browsers refuse its mp4v, so .mp4 is
# H.264 through ffmpeg (BrowserVideoSink); the others are OpenCV fourccs.
VIDEO_CODECS = {".mp4": "h264", ".webm": "VP80", ".avi": "MJPG", ".mkv": "VP80"}



def json_ready(obj):
    """``obj`` as the plain values its JSON file reads back as: numpy scalars and arrays become
    Python ones, NaN/inf become None, tuples lists, keys and paths strings.

    Subclasses of str, int and float (enums) become the plain type too, so whatever is built from
    this (the report page) sees exactly what the file says.
    """
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist())
    if isinstance(obj, np.generic):
        return json_ready(obj.item())
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, str):
        return str.__str__(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def report_document(report, *, include_series: bool = False) -> dict:
    """What report.json holds for ``report``: every output built from a report reads this."""
    return json_ready(report.to_dict(include_series=include_series))


def json_writer(obj):
    """A writer of `obj` as indented UTF-8 JSON (NaN as null), for ``formcheck.io``."""
    text = json.dumps(json_ready(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return lambda fh: fh.write(text)


def write_json_atomic(path: str | os.PathLike, obj) -> Path:
    """Write `obj` as indented UTF-8 JSON (NaN as null), atomically."""
    return atomic_write(path, json_writer(obj), binary=False)


# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def csv_cell(v):
    """One CSV cell a spreadsheet shows as data: empty for None/NaN, numbers kept, formulas defused.

    Text that starts like a formula (``=1+2``, ``@SUM(..)``, ``-2+3``) gets a leading ``'``; a
    number, or text that is a plain number such as ``-3.5``, stays a number.
    """
    if v is None:
        return ""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return ""
    if isinstance(v, bool | int | float):
        return v
    text = str(v)
    if text.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text



def write_csv_atomic(path: str | os.PathLike, rows: list[dict], columns: Sequence[str]) -> Path:
    """Write rows as CSV: `columns` first, then any other keys in first-seen order; atomically."""
    return atomic_write(path, csv_writer(rows, columns), binary=False)


def csv_writer(rows: list[dict], columns: Sequence[str]):
    """A writer of rows as CSV (`columns` first, then other keys in first-seen order), for ``formcheck.io``."""
    header = list(dict.fromkeys(columns))
    seen = set(header)
    for row in rows:
        for k in row:
            if k not in seen:
                seen.add(k)
                header.append(k)

    def write(fh) -> None:
        w = csv.writer(fh)
        w.writerow([csv_cell(k) for k in header])
        for row in rows:
            w.writerow([csv_cell(row.get(k)) for k in header])

    return write


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return atomic_write(path, lambda fh: fh.write(text), binary=False)


class VideoSink(AtomicOutput):
    """Writes RGB frames to a video file; the file appears only when ``close`` succeeds.

    ``.mp4`` is H.264 (through the ffmpeg of imageio-ffmpeg: the pip OpenCV can only write mp4v,
    which browsers refuse); the other containers use OpenCV's encoders. ``crf`` is the H.264
    quality (lower is better and larger).
    """

    def __init__(self, path: str | os.PathLike, fps: float, size_wh: tuple[int, int], *,
                 crf: int | None = None):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in VIDEO_CODECS:
            raise OutputError(f"cannot write video {self.path.name}: use one of {', '.join(VIDEO_CODECS)}")
        if suffix == ".mp4":
            self._writer = BrowserVideoSink(self.path, fps, size_wh, crf=BROWSER_VIDEO_CRF if crf is None else crf)
        else:
            self._writer = _OpenCVVideoWriter(self.path, fps, size_wh)
        self.size_wh = self._writer.size_wh
        self.fps = self._writer.fps

    @property
    def frames(self) -> int:
        """How many frames were written."""
        return self._writer.frames

    def update(self, image_rgb: np.ndarray) -> None:
        """Append one RGB frame (resized if it does not match the sink's size)."""
        self._writer.update(image_rgb)

    def close(self) -> None:
        """Finish the file and move it into place."""
        self._writer.close()

    def abort(self) -> None:
        """Stop and delete the partial file."""
        self._writer.abort()


class _OpenCVVideoWriter(AtomicOutput):
    """OpenCV's encoder for the containers browsers need no H.264 for (WebM/VP8, AVI/MJPG, MKV)."""

    def __init__(self, path: Path, fps: float, size_wh: tuple[int, int]):
        from formcheck.sources import load_cv2, quiet_native_stderr

        cv2 = load_cv2()
        self.path = path
        suffix = self.path.suffix.lower()
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be positive, got {fps}")
        w, h = int(size_wh[0]), int(size_wh[1])
        if w < 2 or h < 2:
            raise ValueError(f"video size must be at least 2x2, got {w}x{h}")
        # Encoders want even sizes (OpenCV would silently crop); drop the odd last row/column.
        self.size_wh = (w - w % 2, h - h % 2)
        self.fps = float(fps)
        self.frames = 0
        self._cv2 = cv2
        parent = make_parent(self.path)
        # The temp keeps the real suffix: OpenCV picks the container from it.
        self._tmp = temp_path(parent, self.path.stem, suffix=suffix)
        with quiet_native_stderr():
            fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[suffix])
            self._writer = cv2.VideoWriter(str(self._tmp), fourcc, self.fps, self.size_wh)
        if not self._writer.isOpened():
            self._writer.release()
            self._writer = None
            self._tmp.unlink(missing_ok=True)
            raise OutputError(
                f"cannot open a {VIDEO_CODECS[suffix]} video writer for {self.path}: "
                "try a .webm or .mp4 name, or another --out"
            )

    def update(self, image_rgb: np.ndarray) -> None:
        if self._writer is None:
            raise RuntimeError("this VideoSink is closed")
        cv2 = self._cv2
        w, h = self.size_wh
        iw, ih = image_rgb.shape[1], image_rgb.shape[0]
        if (iw, ih) != (w, h):
            if 0 <= iw - w <= 1 and 0 <= ih - h <= 1:
                image_rgb = image_rgb[:h, :w]
            else:
                image_rgb = cv2.resize(image_rgb, (w, h), interpolation=cv2.INTER_AREA)
        self._writer.write(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        try:
            if self._tmp.stat().st_size == 0:
                raise OutputError(f"the video writer produced an empty file for {self.path}: try a .webm name")
            publish(self._tmp, self.path)
        except OSError as exc:
            raise OutputError(f"cannot write {self.path} ({exc.strerror or exc}): choose another --out") from None
        finally:
            self._tmp.unlink(missing_ok=True)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self._tmp.unlink(missing_ok=True)



# --- session sinks: update(frame, result) / close(report) / abort(), as run_session drives them ----


class AnnotatedVideoSink:
    """Draws the overlay on every frame and writes the annotated video.

    The writer opens on the first frame (its size is known only then); nothing is left on disk
    unless ``close`` is reached.
    """

    def __init__(self, path: str | os.PathLike, spec, *, fps: float):
        from formcheck.render import OverlayRenderer

        self.path = Path(path)
        self.fps = float(fps) if fps and math.isfinite(fps) and fps > 0 else 30.0
        self._renderer = OverlayRenderer(spec)
        self._video: VideoSink | None = None

    def update(self, frame, result) -> None:
        """Draw the overlay on this frame and add it to the video."""
        if frame is None:  # replayed poses have no pixels
            return
        image = self._renderer.update(frame.image_rgb, result)
        if self._video is None:
            h, w = image.shape[:2]
            self._video = VideoSink(self.path, self.fps, (w, h))
        self._video.update(image)

    def close(self, report=None) -> None:
        """Finish the video and move it into place."""
        if self._video is not None:
            self._video.close()
            self._video = None

    def abort(self) -> None:
        """Remove the unfinished video."""
        if self._video is not None:
            self._video.abort()
            self._video = None


class ReportFilesSink:
    """Writes report.json and reps.csv into `out_dir` when the session ends (nothing before).

    ``skip_empty``: a session that analysed no frame (live, counting never began) writes nothing.
    """

    def __init__(self, out_dir: str | os.PathLike, *, include_series: bool = False, skip_empty: bool = False):
        self.out_dir = Path(out_dir)
        self.include_series = include_series
        self.skip_empty = skip_empty

    def update(self, frame, result) -> None:
        """Nothing per frame: the files are written from the finished report."""
        pass

    def close(self, report) -> None:
        """Write report.json and reps.csv together from the report object."""
        from formcheck.report import REP_CSV_COLUMNS

        if self.skip_empty and report.quality["frames"] == 0:
            return
        # published together: a full disk never leaves a report.json without its reps.csv
        write_files_together({
            self.out_dir / "report.json": json_writer(report_document(report, include_series=self.include_series)),
            self.out_dir / "reps.csv": csv_writer(report.csv_rows(), REP_CSV_COLUMNS),
        })

    def abort(self) -> None:
        """Nothing to undo: the files are written only at close."""
        pass


class PosesFileSink:
    """Saves every result's pose to a poses file, written when the session ends (nothing before).

    It saves ``result.pose`` as given: fed by ``pipeline.PoseRecorder`` that is the model's own
    landmarks (an exercise evaluator hands on smoothed ones). ``header`` is what the caller knows
    (see ``posesfile.PosesWriter``); a clip that decoded short of its length says so in it.
    """

    def __init__(self, path: str | os.PathLike, header: dict):
        from formcheck.posesfile import PosesWriter

        self.path = Path(path)
        self._writer = PosesWriter(self.path, header)

    def update(self, frame, result) -> None:
        """Add this frame's pose to the poses file."""
        self._writer.update(result.pose)

    def close(self, report) -> None:
        """Finish the poses file with the session's source description."""
        source = report.source
        if source.get("ends_early") is True:  # saved from a clip cut short: its replays say so too
            self._writer.header.update({"frame_count": source.get("frame_count"),
                                        "frames_decoded": source.get("frames_decoded"), "ends_early": True})
        self._writer.close()

    def abort(self) -> None:
        """Remove the unfinished poses file."""
        self._writer.abort()


# --- browser-playable video and the review media of the clinician report ---------------------------

BROWSER_VIDEO_CRF = 28  # H.264 quality: the overlay text stays sharp and a minute of 720p is ~5 MB
BROWSER_VIDEO_PRESET = "veryfast"


def _ffmpeg_exe() -> str:
    """The ffmpeg shipped by imageio-ffmpeg (a static build with libx264 and libvpx)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise OutputError(
            "writing a browser-playable video needs the imageio-ffmpeg package: pip install imageio-ffmpeg"
        ) from None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        raise OutputError(f"no ffmpeg found for browser-playable video ({exc}); set IMAGEIO_FFMPEG_EXE") from None


class BrowserVideoSink(AtomicOutput):
    """Writes RGB frames as H.264 MP4 (yuv420p, moov atom first) that every browser plays.

    OpenCV's pip build can only write mp4v, which browsers refuse; this pipes raw frames to the
    ffmpeg binary of imageio-ffmpeg instead (a subprocess: no second copy of the codec libraries
    in our process). The file appears only when ``close`` succeeds.
    """

    def __init__(self, path: str | os.PathLike, fps: float, size_wh: tuple[int, int], *,
                 crf: int = BROWSER_VIDEO_CRF, preset: str = BROWSER_VIDEO_PRESET):
        _ffmpeg_exe()  # a clear error when imageio-ffmpeg is missing
        self.path = Path(path)
        if self.path.suffix.lower() != ".mp4":
            raise OutputError(f"cannot write browser video {self.path.name}: use a .mp4 name")
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be positive, got {fps}")
        w, h = int(size_wh[0]), int(size_wh[1])
        if w < 2 or h < 2:
            raise ValueError(f"video size must be at least 2x2, got {w}x{h}")
        self.size_wh = (w - w % 2, h - h % 2)  # yuv420p needs even sizes
        self.fps = float(fps)
        self.frames = 0
        parent = make_parent(self.path)
        self._tmp = temp_path(parent, self.path.stem, suffix=".mp4")
        import imageio_ffmpeg as iio

        self._gen = iio.write_frames(
            str(self._tmp), self.size_wh, fps=self.fps, codec="libx264", pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p", quality=None, macro_block_size=1, ffmpeg_log_level="error",
            output_params=["-crf", str(int(crf)), "-preset", preset, "-movflags", "+faststart"],
        )
        try:
            self._gen.send(None)  # starts ffmpeg
        except (OSError, RuntimeError) as exc:
            self._gen = None
            self._tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot start ffmpeg for {self.path} ({exc})") from None

    def update(self, image_rgb: np.ndarray) -> None:
        """Append one RGB frame (resized if it does not match the sink's size)."""
        if self._gen is None:
            raise RuntimeError("this BrowserVideoSink is closed")
        w, h = self.size_wh
        if image_rgb.shape[1] != w or image_rgb.shape[0] != h:
            from formcheck.sources import load_cv2

            cv2 = load_cv2()
            iw, ih = image_rgb.shape[1], image_rgb.shape[0]
            if 0 <= iw - w <= 1 and 0 <= ih - h <= 1:
                image_rgb = image_rgb[:h, :w]
            else:
                image_rgb = cv2.resize(image_rgb, (w, h), interpolation=cv2.INTER_AREA)
        try:
            self._gen.send(np.ascontiguousarray(image_rgb, dtype=np.uint8))
        except (OSError, RuntimeError) as exc:
            self.abort()
            raise OutputError(f"ffmpeg stopped while writing {self.path} ({exc}): is the disk full?") from None
        self.frames += 1

    def close(self) -> None:
        """Finish the file and move it into place."""
        if self._gen is None:
            return
        gen, self._gen = self._gen, None
        try:
            gen.close()
            if self.frames == 0 or self._tmp.stat().st_size == 0:
                raise OutputError(f"no video frames were written for {self.path}")
            publish(self._tmp, self.path)
        except (OSError, RuntimeError) as exc:
            raise OutputError(f"cannot write {self.path} ({exc}): choose another --out") from None
        finally:
            self._tmp.unlink(missing_ok=True)

    def abort(self) -> None:
        """Stop ffmpeg and delete the partial file."""
        if self._gen is not None:
            gen, self._gen = self._gen, None
            try:
                gen.close()
            except (OSError, RuntimeError):
                pass  # the partial file is deleted below whatever ffmpeg said
        self._tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write bytes atomically."""
    return atomic_write(path, lambda fh: fh.write(data), binary=True)


def _scaled(width: int, height: int, max_side_px: int) -> tuple[int, int]:
    scale = min(1.0, max_side_px / max(width, height))
    w, h = max(2, int(round(width * scale))), max(2, int(round(height * scale)))
    return w - w % 2, h - h % 2


REVIEW_CANVAS_RGB = (48, 52, 58)  # a poses file has no pixels: the skeleton is drawn on this


class ReviewMediaSink:
    """The evidence a clinician looks at: the annotated video (H.264) and a thumbnail of every rep
    at its peak, written into ``out_dir`` as ``annotated.mp4`` and ``thumbs/rep-NN.jpg``.

    Replayed poses (no pixels) are drawn on a plain canvas, so the movement can still be seen.
    Thumbnails cost one overlay per rep, not per frame: while a side is mid-rep the frame where its
    driver angle is most extreme is kept (the rep's peak), and drawn when the rep ends.
    """

    def __init__(self, out_dir: str | os.PathLike, spec, *, fps: float, video: bool = True,
                 max_side_px: int = 720, thumb_width_px: int = 320):
        from formcheck.render import OverlayRenderer

        self.out_dir = Path(out_dir)
        self.spec = spec
        self.fps = float(fps) if fps and math.isfinite(fps) and fps > 0 else 30.0
        self.video = video
        self.max_side_px = int(max_side_px)
        self.thumb_width_px = int(thumb_width_px)
        self._renderer = OverlayRenderer(spec) if video else None
        self._writer: BrowserVideoSink | None = None
        # counted either way (direction: either) both extremes are kept, one each way, and the one
        # further from where the rep came back to is its peak
        self._signs = {"increase": (1.0,), "decrease": (-1.0,)}.get(spec.rep.direction, (1.0, -1.0))
        self._rest_phase = spec.rep.phase_names[0]
        # (side, sign) -> (score, t, image, result)
        self._best: dict[tuple[str, float], tuple[float, float, np.ndarray, object]] = {}
        self._peaks: dict[str, list[tuple[float, bytes]]] = {}  # side -> [(t_ms, jpeg)] of finished spans
        self._thumbs: dict[int, bytes] = {}
        self._canvas: np.ndarray | None = None

    def _image(self, frame, result) -> np.ndarray:
        if frame is not None:
            return frame.image_rgb
        w, h = result.pose.frame_size_px
        if self._canvas is None or self._canvas.shape[:2] != (h, w):
            self._canvas = np.empty((int(h), int(w), 3), np.uint8)
            self._canvas[:] = REVIEW_CANVAS_RGB
        return self._canvas

    def _thumb(self, image: np.ndarray, result) -> bytes | None:
        from formcheck.render import draw_overlay
        from formcheck.sources import load_cv2

        cv2 = load_cv2()
        drawn = draw_overlay(image, result, self.spec)
        h, w = drawn.shape[:2]
        tw = min(self.thumb_width_px, w)
        th = max(2, int(round(h * tw / w)))
        small = cv2.resize(drawn, (tw, th), interpolation=cv2.INTER_AREA)
        ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 82])
        return jpg.tobytes() if ok else None

    def _track_peaks(self, image: np.ndarray, result) -> None:
        from formcheck.types import feature_value

        for side, phase in result.phases.items():
            value = feature_value(result.features, self.spec.rep.driver, side)
            if phase != self._rest_phase:
                if np.isfinite(value):
                    for sign in self._signs:
                        best = self._best.get((side, sign))
                        if best is None or value * sign > best[0]:
                            self._best[(side, sign)] = (value * sign, result.pose.timestamp_ms, image.copy(), result)
            elif any(k[0] == side for k in self._best):
                self._keep_peak(side, value)

    def _keep_peak(self, side: str, back_at: float = np.nan) -> None:
        """The side's rep ended (back at ``back_at``): keep its peak frame, the extreme furthest from there."""
        kept = [(sign, self._best.pop((side, sign))) for sign in self._signs if (side, sign) in self._best]
        if np.isfinite(back_at):  # the value is score * sign
            kept.sort(key=lambda k: -abs(k[1][0] * k[0] - back_at))
        _, t, image, result = kept[0][1]
        jpg = self._thumb(image, result)
        if jpg is not None:
            self._peaks.setdefault(side, []).append((t, jpg))
            del self._peaks[side][:-50]  # only recent reps can still be waiting for their thumbnail

    def update(self, frame, result) -> None:
        """Track the peak frame of each side's rep in progress, draw finished reps' thumbnails, add the frame to the video."""
        image = self._image(frame, result)
        self._track_peaks(image, result)
        for rep in result.new_reps:
            self._grab(rep)
        if not self.video:
            return
        from formcheck.sources import load_cv2

        cv2 = load_cv2()
        drawn = self._renderer.update(image, result)
        h, w = drawn.shape[:2]
        vw, vh = _scaled(w, h, self.max_side_px)
        small = drawn if (vw, vh) == (w, h) else cv2.resize(drawn, (vw, vh), interpolation=cv2.INTER_AREA)
        if self._writer is None:
            self._writer = BrowserVideoSink(self.out_dir / "annotated.mp4", self.fps, (vw, vh))
        self._writer.update(small)

    def _grab(self, rep) -> None:
        if rep.index in self._thumbs:
            return
        candidates = self._peaks.get(rep.side) or [c for cs in self._peaks.values() for c in cs]
        if not candidates:
            return
        t, jpg = min(candidates, key=lambda c: abs(c[0] - rep.peak_ms))
        if abs(t - rep.peak_ms) <= 1000:
            self._thumbs[rep.index] = jpg

    def close(self, report) -> None:
        """Write the thumbnails of the reps still open and finish the video."""
        for side in dict.fromkeys(side for side, _ in self._best):  # a rep the recording ended in
            self._keep_peak(side)
        for rep in report.reps:
            self._grab(rep)
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for index, jpg in sorted(self._thumbs.items()):
            write_bytes_atomic(self.out_dir / "thumbs" / f"rep-{index + 1:02d}.jpg", jpg)

    def abort(self) -> None:
        """Remove the unfinished video and pictures."""
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
