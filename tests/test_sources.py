"""Frame sources: timestamps, rotation, downscale, bad inputs, camera loop."""

from __future__ import annotations

import math
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from formcheck.errors import CameraLost, InputError
from formcheck.sources import (
    FrameRateLimiter,
    PtsClock,
    VideoInfo,
    camera_frames,
    camera_stream,
    image_kind,
    prefetched,
    probe_video,
    scaled_size,
    video_frames,
)

cv2 = pytest.importorskip("cv2")

CLIPS = Path(__file__).resolve().parents[1].parent / "shared" / "clips"


def write_clip(path: Path, n: int = 12, fps: float = 25.0, size_wh=(64, 48), fourcc="mp4v", frame=None) -> Path:
    """A tiny synthetic clip: a grey ramp over time, or `frame(i)` (BGR) if given."""
    w, h = size_wh
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened()
    for i in range(n):
        img = frame(i) if frame else np.full((h, w, 3), (i * 17) % 256, np.uint8)
        writer.write(img)
    writer.release()
    return path


def one_line_input_error(excinfo) -> str:
    msg = str(excinfo.value)
    assert msg and "\n" not in msg
    return msg


# --- timestamps -----------------------------------------------------------------------------------


def test_cfr_clip_timestamps_strictly_increasing_and_near_index_over_fps(tmp_path):
    clip = write_clip(tmp_path / "cfr.mp4", n=20, fps=25.0)
    frames = list(video_frames(clip))
    assert [f.index for f in frames] == list(range(20))
    ts = np.array([f.timestamp_ms for f in frames])
    assert np.all(np.diff(ts) > 0)
    assert np.allclose(ts, np.arange(20) * 40.0, atol=1.0)


def test_pts_clock_passes_true_variable_times_through():
    clock = PtsClock(30.0)
    pts = [0.0, 33.3, 70.0, 140.0, 150.0]  # a phone clip that dropped frames
    assert [clock.update(p, i) for i, p in enumerate(pts)] == pts


def test_pts_clock_forces_strictly_increasing():
    clock = PtsClock(30.0)
    out = [clock.update(p, i) for i, p in enumerate([0.0, 40.0, 40.0, 39.0, 80.0])]
    assert out == [0.0, 40.0, 41.0, 42.0, 80.0]


def test_pts_clock_falls_back_to_index_over_fps_without_pts():
    clock = PtsClock(25.0)
    out = [clock.update(0.0, i) for i in range(5)]  # OpenCV reports 0 when a file has no PTS
    assert out == pytest.approx([0.0, 40.0, 80.0, 120.0, 160.0])
    clock = PtsClock(float("nan"))  # no frame rate either: assume 30
    assert [clock.update(math.nan, i) for i in range(3)] == pytest.approx([0.0, 1000 / 30, 2000 / 30])


def test_pts_clock_bridges_a_gap_in_pts_from_the_last_good_one():
    clock = PtsClock(10.0)
    out = [clock.update(p, i) for i, p in enumerate([0.0, 100.0, 0.0, 0.0, 400.0])]
    assert out == pytest.approx([0.0, 100.0, 200.0, 300.0, 400.0])


@pytest.mark.clips
def test_real_variable_frame_rate_clip_keeps_its_presentation_times():
    clip = CLIPS / "sagor_squat.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} is absent (real clips live in ../shared/clips)")
    ts = np.array([f.timestamp_ms for f in video_frames(clip, max_side_px=160)])
    d = np.diff(ts)
    assert len(ts) == 303 and np.all(d > 0)
    # The stts table gives 53 frames of 3225/90000 s, then one of 6446/90000 s (a dropped frame):
    # index/fps would hide it.
    assert d[53] == pytest.approx(71.6, abs=0.2)
    assert d[:53] == pytest.approx(35.83, abs=0.2)


# --- size, colour, rotation -----------------------------------------------------------------------


def test_scaled_size():
    assert scaled_size(1920, 1080, 960) == (960, 540)
    assert scaled_size(1080, 1920, 640) == (360, 640)
    assert scaled_size(640, 480, 960) == (640, 480)  # never enlarges
    assert scaled_size(640, 480, None) == (640, 480)


def test_downscale_once_at_decode(tmp_path):
    clip = write_clip(tmp_path / "big.mp4", n=3, size_wh=(320, 240))
    info = probe_video(clip)
    assert (info.width_px, info.height_px) == (320, 240)  # probe reports the file's own size
    frames = list(video_frames(clip, max_side_px=160))
    assert all(f.image_rgb.shape == (120, 160, 3) for f in frames)
    assert all(f.image_rgb.dtype == np.uint8 and f.image_rgb.flags["C_CONTIGUOUS"] for f in frames)
    assert list(video_frames(clip, max_side_px=1000))[0].image_rgb.shape == (240, 320, 3)


def test_frames_are_rgb(tmp_path):
    red_bgr = lambda i: np.tile(np.array([0, 0, 255], np.uint8), (48, 64, 1))  # noqa: E731
    frame = next(iter(video_frames(write_clip(tmp_path / "red.mp4", n=2, frame=red_bgr))))
    r, g, b = frame.image_rgb[24, 32].astype(int)
    assert r > 200 and g < 60 and b < 60


def test_probe_video_info(tmp_path):
    info = probe_video(write_clip(tmp_path / "p.mp4", n=10, fps=20.0, size_wh=(80, 60)))
    assert isinstance(info, VideoInfo)
    assert (info.width_px, info.height_px, info.rotation_deg) == (80, 60, 0)
    assert info.fps == pytest.approx(20.0)
    assert info.frame_count == 10
    assert info.duration_s == pytest.approx(0.5)


def _set_mp4_rotation(path: Path, degrees: int) -> None:
    """Write a display matrix into the (first) tkhd box, as a phone does for portrait video."""
    data = bytearray(path.read_bytes())
    i = data.find(b"tkhd")
    assert i > 0
    version = data[i + 4]
    matrix_at = i + 4 + 4 + (32 if version == 1 else 20) + 8 + 8
    one = 1 << 16
    a, b, c, d = {90: (0, one, -one, 0), 180: (-one, 0, 0, -one), 270: (0, -one, one, 0)}[degrees]
    data[matrix_at : matrix_at + 36] = struct.pack(">9i", a, b, 0, c, d, 0, 0, 0, 1 << 30)
    path.write_bytes(bytes(data))


def test_rotation_metadata_is_applied_and_reported(tmp_path):
    # ffmpeg is not needed: the rotation is patched into the MP4 header directly.
    def marked(i):
        img = np.zeros((48, 64, 3), np.uint8)
        img[:24, :32] = (0, 0, 255)  # red top-left quadrant (BGR)
        return img

    clip = write_clip(tmp_path / "portrait.mp4", n=4, frame=marked)
    _set_mp4_rotation(clip, 90)
    info = probe_video(clip)
    assert info.rotation_deg == 90
    assert (info.width_px, info.height_px) == (48, 64)
    frames = list(video_frames(clip))
    assert all(f.image_rgb.shape == (64, 48, 3) for f in frames)  # upright, matches probe
    img = frames[0].image_rgb
    # Rotated 90 degrees clockwise: the red quadrant is now top-right.
    assert img[5, 40, 0] > 200 and img[5, 5, 0] < 60 and img[58, 5, 0] < 60


@pytest.mark.clips
def test_real_portrait_clip_with_rotation_metadata_is_upright():
    clip = CLIPS / "kanat_partial_squat_side.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} is absent (real clips live in ../shared/clips)")
    info = probe_video(clip)
    assert (info.rotation_deg, info.width_px, info.height_px) == (90, 480, 640)
    assert next(iter(video_frames(clip))).image_rgb.shape == (640, 480, 3)


# --- bad inputs -----------------------------------------------------------------------------------


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = write_clip(tmp_path / "good.mp4", n=30, size_wh=(160, 120), frame=lambda i: np.random.default_rng(i).integers(0, 255, (120, 160, 3), np.uint8))
    half = tmp_path / "half.mp4"
    half.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("these are my exercise notes\n" * 20)
    png = tmp_path / "still.png"
    cv2.imwrite(str(png), np.zeros((40, 50, 3), np.uint8))
    png_as_mp4 = tmp_path / "still.mp4"
    png_as_mp4.write_bytes(png.read_bytes())
    folder = tmp_path / "folder.mp4"
    folder.mkdir()
    return {
        "missing": (tmp_path / "nope.mp4", "no such file"),
        "directory": (folder, "folder"),
        "zero bytes": (empty, "empty"),
        "text renamed .mp4": (text, "cannot read"),
        "png image": (png, "image"),
        "png renamed .mp4": (png_as_mp4, "image"),
        "truncated mp4": (half, "cannot read"),
    }


@pytest.mark.parametrize(
    "case",
    ["missing", "directory", "zero bytes", "text renamed .mp4", "png image", "png renamed .mp4", "truncated mp4"],
)
@pytest.mark.parametrize("reader", ["probe", "frames"])
def test_bad_input_is_one_line_input_error(tmp_path, case, reader):
    path, words = _bad_inputs(tmp_path)[case]
    with pytest.raises(InputError) as excinfo:
        if reader == "probe":
            probe_video(path)
        else:
            list(video_frames(path))
    msg = one_line_input_error(excinfo)
    assert words in msg and str(path) in msg


def test_unreadable_file_message_lists_formats(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 10)
    with pytest.raises(InputError, match=r"is it a video file\? \(formats: mp4, mov, avi, mkv, webm\)"):
        probe_video(text)


def test_stream_cut_mid_way_stops_cleanly_at_last_good_frame(tmp_path):
    noise = lambda i: np.random.default_rng(i).integers(0, 255, (48, 64, 3), np.uint8)  # noqa: E731
    clip = write_clip(tmp_path / "long.mkv", n=40, fourcc="VP80", frame=noise)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    frames = list(video_frames(cut))  # no exception
    assert 5 < len(frames) < 40
    assert np.all(np.diff([f.timestamp_ms for f in frames]) > 0)


def test_image_kind():
    assert image_kind(b"\x89PNG\r\n\x1a\n....") == "PNG"
    assert image_kind(b"\xff\xd8\xff\xe0") == "JPEG"
    assert image_kind(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "WebP"
    assert image_kind(b"RIFF\x00\x00\x00\x00AVI LIST") is None
    assert image_kind(b"\x00\x00\x00\x20ftypisom") is None


def test_partially_consumed_generator_can_be_closed(tmp_path):
    gen = video_frames(write_clip(tmp_path / "c.mp4", n=10))
    first = next(gen)
    assert first.index == 0
    gen.close()  # runs the finally: releases the capture
    with pytest.raises(StopIteration):
        next(gen)


# --- analysis rate and decoding ahead --------------------------------------------------------------


def _kept(times_ms, max_fps) -> list[int]:
    limiter = FrameRateLimiter(max_fps)
    return [i for i, t in enumerate(times_ms) if limiter.update(t)]


@pytest.mark.parametrize("fps, every", [(30.0, 3), (60.0, 6), (20.0, 2), (29.97, 3)])
def test_rate_limiter_keeps_every_nth_frame_of_a_fast_clip(fps, every):
    n = int(10 * fps)
    kept = _kept(np.arange(n) * 1000 / fps, 10.0)
    assert kept == list(range(0, n, every))[: len(kept)]
    assert abs(len(kept) - 100) <= 1


def test_rate_limiter_spreads_an_uneven_ratio_and_never_exceeds_the_rate():
    t = np.arange(150) * 1000 / 15.0  # 10 s at 15 fps to 10 fps: gaps of 2 and 1 frames
    kept = _kept(t, 10.0)
    assert len(kept) == 100
    assert set(np.diff(kept)) == {1, 2}
    assert np.min(np.diff(t[kept])) >= 1000 / 15 - 1e-6  # no two kept frames in one 100 ms window
    windows = np.floor(t[kept] / 100.0)
    assert len(set(windows)) == len(windows)


def test_rate_limiter_keeps_everything_from_a_slow_clip_or_without_a_limit():
    t = np.arange(50) * 200.0  # 5 fps
    assert _kept(t, 10.0) == list(range(50))
    assert _kept(np.arange(50) * 10.0, None) == list(range(50))


def test_rate_limiter_on_variable_frame_rate_with_jitter():
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(20, 50, size=600))  # 20-50 fps, uneven
    kept = _kept(t, 10.0)
    span_s = (t[-1] - t[0]) / 1000
    assert abs(len(kept) - span_s * 10) <= 2
    assert np.all(np.diff(t[kept]) < 200)  # no holes: one frame in every 100 ms window that has one


def test_rate_limiter_rejects_a_nonsense_rate():
    for bad in (0.0, -5.0, math.nan, math.inf):
        with pytest.raises(ValueError):
            FrameRateLimiter(bad)


def test_video_frames_at_a_reduced_rate_keep_their_clip_index_and_time(tmp_path):
    clip = write_clip(tmp_path / "c30.mp4", n=30, fps=30.0)
    every = list(video_frames(clip))
    sampled = list(video_frames(clip, max_fps=10.0))
    assert [f.index for f in sampled] == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]
    for f in sampled:
        assert f.timestamp_ms == every[f.index].timestamp_ms
        assert np.array_equal(f.image_rgb, every[f.index].image_rgb)


def test_prefetched_gives_the_same_frames_in_order(tmp_path):
    clip = write_clip(tmp_path / "c.mp4", n=25)
    direct = list(video_frames(clip))
    ahead = list(prefetched(video_frames(clip), depth=2))
    assert [f.index for f in ahead] == [f.index for f in direct]
    assert all(np.array_equal(a.image_rgb, b.image_rgb) for a, b in zip(ahead, direct))


def test_prefetched_raises_decoding_errors_in_the_reader():
    def frames():
        yield "a"
        raise InputError("cannot read x.mp4 as a video")

    gen = prefetched(frames())
    assert next(gen) == "a"
    with pytest.raises(InputError, match="cannot read"):
        next(gen)


def test_closing_prefetched_stops_its_thread_and_closes_the_source(tmp_path):
    import threading

    closed = []

    def frames():
        try:
            for i in range(10_000):
                yield i
        finally:
            closed.append(True)

    gen = prefetched(frames(), depth=2)
    assert next(gen) == 0
    gen.close()
    assert closed == [True]
    assert not [t for t in threading.enumerate() if t.name == "formcheck-decode"]


# --- camera ---------------------------------------------------------------------------------------


class FakeCamera:
    def __init__(self, script):
        self.script = list(script)  # True: a frame, False: a failed read

    def read(self):
        ok = self.script.pop(0) if self.script else False
        return (True, np.zeros((4, 4, 3), np.uint8)) if ok else (False, None)


class FakeClock:
    def __init__(self, step_s: float):
        self.t, self.step = 100.0, step_s

    def __call__(self) -> float:
        self.t += self.step
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def test_camera_stream_monotonic_timestamps_from_start():
    clock = FakeClock(0.0)  # a clock that does not move: timestamps must still increase
    frames = camera_stream(FakeCamera([True] * 5), clock=clock, sleep=clock.sleep)
    got = [next(frames) for _ in range(5)]
    ts = [f.timestamp_ms for f in got]
    assert ts[0] == 0.0 and all(b > a for a, b in zip(ts, ts[1:]))
    assert [f.index for f in got] == list(range(5))


def test_camera_stream_survives_a_short_hiccup_and_raises_camera_lost_after_a_second():
    clock = FakeClock(0.1)
    frames = camera_stream(FakeCamera([True, False, False, True]), 3, clock=clock, sleep=clock.sleep)
    assert [next(frames).index, next(frames).index] == [0, 1]  # two failed reads (~0.2 s) are fine
    with pytest.raises(CameraLost) as excinfo:
        next(frames)
    assert isinstance(excinfo.value, InputError)
    assert "camera 3" in one_line_input_error(excinfo)


def test_no_camera_at_index_is_input_error():
    with pytest.raises(InputError) as excinfo:
        next(iter(camera_frames(97)))
    msg = one_line_input_error(excinfo)
    assert "no camera at index 97" in msg and "--camera" in msg


# --- lazy heavy imports ---------------------------------------------------------------------------


def test_edge_modules_import_with_cv2_and_mediapipe_blocked():
    code = (
        "import sys\n"
        "sys.modules['cv2'] = None\n"
        "sys.modules['mediapipe'] = None\n"
        "import formcheck.errors, formcheck.sources, formcheck.estimator, formcheck.posesfile,"
        " formcheck.render, formcheck.sinks\n"
        "from formcheck.estimator import to_pose_sample, pick_subject\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
