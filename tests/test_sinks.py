"""Output writers: video round trips, atomic files, clear errors."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from formcheck.errors import InputError, OutputError
from formcheck.sinks import (
    AnnotatedVideoSink,
    ReportFilesSink,
    VideoSink,
    write_csv_atomic,
    write_json_atomic,
    write_text_atomic,
)
from formcheck.spec import load_spec
from formcheck.types import Frame

cv2 = pytest.importorskip("cv2")
sys.path.insert(0, str(Path(__file__).parent))  # share the hand-made pose of test_render
from test_render import hip_ext_result, stick_pose  # noqa: E402


def read_back(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    return frames


def rgb_frames(n=8, size=(96, 64)):
    w, h = size
    out = []
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        img[:, : w // 2] = (220, 30, 30)  # red left half (RGB)
        img[:, w // 2 :] = (i * 25 % 256,) * 3
        out.append(img)
    return out


@pytest.mark.parametrize("name", ["out.mp4", "out.webm"])
def test_video_round_trip(tmp_path, name):
    path = tmp_path / "sub" / name  # parent folders are created
    with VideoSink(path, 25.0, (96, 64)) as sink:
        for img in rgb_frames():
            sink.update(img)
    assert sorted(p.name for p in path.parent.iterdir()) == [name]  # no temp left behind
    back = read_back(path)
    assert len(back) == 8 and back[0].shape == (64, 96, 3)
    b, g, r = back[3][32, 10].astype(int)  # decoded BGR: the left half is still red
    assert r > 150 and g < 90 and b < 90
    assert cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS) == pytest.approx(25.0)


def test_odd_size_is_written_even_without_losing_frames(tmp_path):
    path = tmp_path / "odd.webm"
    with VideoSink(path, 10.0, (97, 65)) as sink:
        for img in rgb_frames(5, (97, 65)):
            sink.update(img)
        sink.update(rgb_frames(1, (200, 130))[0])  # another size is resized
    back = read_back(path)
    assert len(back) == 6 and back[0].shape == (64, 96, 3)


def test_abort_leaves_nothing(tmp_path):
    sink = VideoSink(tmp_path / "a.mp4", 25.0, (96, 64))
    for img in rgb_frames(3):
        sink.update(img)
    sink.abort()
    assert list(tmp_path.iterdir()) == []


def test_exception_inside_context_leaves_existing_file_intact(tmp_path):
    path = tmp_path / "a.webm"
    with VideoSink(path, 25.0, (96, 64)) as sink:
        sink.update(rgb_frames(1)[0])
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with VideoSink(path, 25.0, (96, 64)) as sink:
            sink.update(rgb_frames(1)[0])
            raise RuntimeError("boom")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.webm"]


def test_unsupported_video_suffix_is_output_error(tmp_path):
    with pytest.raises(OutputError, match=r"\.mp4, \.webm"):
        VideoSink(tmp_path / "out.gif", 25.0, (96, 64))
    assert list(tmp_path.iterdir()) == []


def _blocked_dir(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    return blocker / "out"  # a folder that cannot exist: its parent is a file


@pytest.mark.parametrize(
    "write",
    [
        lambda d: VideoSink(d / "v.mp4", 25.0, (96, 64)),
        lambda d: write_json_atomic(d / "r.json", {}),
        lambda d: write_csv_atomic(d / "r.csv", [], ["a"]),
        lambda d: write_text_atomic(d / "r.html", "<p>"),
    ],
    ids=["video", "json", "csv", "text"],
)
def test_unwritable_folder_is_one_line_output_error(tmp_path, write):
    with pytest.raises(OutputError) as excinfo:
        write(_blocked_dir(tmp_path))
    msg = str(excinfo.value)
    assert isinstance(excinfo.value, InputError)
    assert "\n" not in msg and "cannot write to" in msg and "choose another --out" in msg


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_folder_is_output_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputError):
            write_json_atomic(ro / "r.json", {"a": 1})
    finally:
        ro.chmod(0o700)


def test_json_atomic_round_trip_with_nan_and_numpy(tmp_path):
    path = tmp_path / "deep" / "report.json"
    obj = {"a": float("nan"), "b": np.float32(1.5), "c": np.arange(3), "d": [np.int64(4), float("inf")], "e": "é"}
    write_json_atomic(path, obj)
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text and "é" in text
    assert json.loads(text) == {"a": None, "b": 1.5, "c": [0, 1, 2], "d": [4, None], "e": "é"}
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.json"]


def test_json_atomic_replaces_and_keeps_old_on_failure(tmp_path):
    path = tmp_path / "r.json"
    write_json_atomic(path, {"v": 1})
    write_json_atomic(path, {"v": 2})
    assert json.loads(path.read_text()) == {"v": 2}
    with pytest.raises(TypeError):
        write_json_atomic(path, {"v": object()})  # not serialisable: fails before anything is written
    assert json.loads(path.read_text()) == {"v": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_csv_union_of_columns_in_first_seen_order(tmp_path):
    rows = [
        {"index": 0, "side": "left", "peak_hip_deg": -12.5},
        {"index": 1, "side": "right", "peak_knee_deg": 4.0, "note": None},
        {"side": "left", "index": 2, "peak_hip_deg": float("nan"), "extra": "x"},
    ]
    path = write_csv_atomic(tmp_path / "reps.csv", rows, ["index", "side", "faults"])
    with open(path, newline="", encoding="utf-8") as fh:
        got = list(csv.reader(fh))
    assert got[0] == ["index", "side", "faults", "peak_hip_deg", "peak_knee_deg", "note", "extra"]
    assert got[1] == ["0", "left", "", "-12.5", "", "", ""]
    assert got[2] == ["1", "right", "", "", "4.0", "", ""]
    assert got[3] == ["2", "left", "", "", "", "", "x"]


def test_csv_with_no_rows_has_a_header(tmp_path):
    path = write_csv_atomic(tmp_path / "reps.csv", [], ["index", "side"])
    assert path.read_text(encoding="utf-8").strip() == "index,side"


def test_text_atomic(tmp_path):
    path = write_text_atomic(tmp_path / "a" / "b" / "report.html", "<h1>Bridge ✓</h1>\n")
    assert path.read_text(encoding="utf-8") == "<h1>Bridge ✓</h1>\n"


# --- session sinks --------------------------------------------------------------------------------


def test_annotated_video_sink_draws_and_writes_every_frame(tmp_path):
    out = tmp_path / "out"
    sink = AnnotatedVideoSink(out / "annotated.mp4", load_spec("standing_hip_extension"), fps=20.0)
    sink.update(None, hip_ext_result(stick_pose(0.0)))  # a replayed pose: nothing to draw on
    assert not out.exists()  # nothing on disk before the first frame
    for i in range(6):
        sink.update(Frame(np.full((480, 640, 3), 90, np.uint8), i * 50.0, i), hip_ext_result(stick_pose(i * 50.0)))
    sink.close(None)
    back = read_back(out / "annotated.mp4")
    assert len(back) == 6 and back[0].shape == (480, 640, 3)
    assert np.any(back[0] != 90)  # the overlay is in the video
    assert sorted(p.name for p in out.iterdir()) == ["annotated.mp4"]


def test_annotated_video_sink_abort_leaves_nothing(tmp_path):
    sink = AnnotatedVideoSink(tmp_path / "annotated.webm", load_spec("standing_hip_extension"), fps=20.0)
    sink.update(Frame(np.zeros((48, 64, 3), np.uint8), 0.0, 0), hip_ext_result(stick_pose(0.0, size=(64, 48))))
    sink.abort()
    assert list(tmp_path.iterdir()) == []


def test_report_files_sink_writes_only_on_close(tmp_path):
    from formcheck.report import REP_CSV_COLUMNS

    class FakeReport:
        def to_dict(self, include_series=False):
            return {"exercise": "bridge", "series": include_series, "x": float("nan")}

        def csv_rows(self):
            return [{"index": 0, "side": "both", "peak_hip_deg": 3.5}]

    out = tmp_path / "out"
    sink = ReportFilesSink(out)
    sink.update(None, None)
    sink.abort()
    assert not out.exists()
    sink.close(FakeReport())
    assert json.loads((out / "report.json").read_text()) == {"exercise": "bridge", "series": False, "x": None}
    header = (out / "reps.csv").read_text().splitlines()[0].split(",")
    assert header == list(REP_CSV_COLUMNS) + ["peak_hip_deg"]


# --- every .mp4 the project writes is H.264 (browsers refuse mp4v) --------------------------------


def video_codec(path) -> str:
    """The video codec ffmpeg reads in `path` (the bundled ffmpeg: this machine has no ffprobe)."""
    import re
    import subprocess

    import imageio_ffmpeg

    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                          capture_output=True, text=True)
    found = re.search(r"Video: (\w+)", proc.stderr)
    assert found, proc.stderr
    return found.group(1)


def test_video_sink_writes_mp4_as_h264(tmp_path):
    path = tmp_path / "v.mp4"
    with VideoSink(path, 25.0, (96, 64)) as sink:
        for img in rgb_frames():
            sink.update(img)
    assert video_codec(path) == "h264"
    webm = tmp_path / "v.webm"
    with VideoSink(webm, 25.0, (96, 64)) as sink:
        sink.update(rgb_frames(1)[0])
    assert video_codec(webm) == "vp8"


def test_annotated_video_is_h264(tmp_path):
    path = tmp_path / "annotated.mp4"
    sink = AnnotatedVideoSink(path, load_spec("standing_hip_extension"), fps=20.0)
    for i in range(4):
        sink.update(Frame(np.full((240, 320, 3), 90, np.uint8), i * 50.0, i), hip_ext_result(stick_pose(i * 50.0, size=(320, 240))))
    sink.close(None)
    assert video_codec(path) == "h264"


def test_synth_clip_is_h264(tmp_path):
    import subprocess

    out = tmp_path / "clip.mp4"
    proc = subprocess.run([sys.executable, "-m", "formcheck", "synth", "bridge", "-o", str(out), "--reps", "1",
                           "--fps", "5", "--size", "160x120"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert video_codec(out) == "h264"
