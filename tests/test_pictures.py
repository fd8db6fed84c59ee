"""The exercise's position pictures: drawn once per spec version, redrawn when the drawing changes,
never over a file formcheck did not write; and the report page that shows them."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from formcheck import pictures
from formcheck.errors import OutputError
from formcheck.evaluator import ExerciseEvaluator
from formcheck.spec import load_spec, spec_ids
from kinematics import pose_2d, rep_wave, stream

FPS = 30.0


def _two_bridges() -> dict:
    """The report of two bridges, from joint angles (no model, no video)."""
    t = np.arange(int(9 * FPS)) / FPS
    frames = [pose_2d(posture="supine", hip_flex=(h, h), knee_flex=(90, 90))
              for h in 50 - 50 * rep_wave(t, [1.0, 5.0], 1.0, 1.5, 1.0)]
    ev = ExerciseEvaluator(load_spec("bridge"))
    for s in stream(frames, FPS, noise_px=1.0):
        ev.update(s)
    return ev.finish().to_dict(include_series=True)


def test_every_bundled_exercise_can_be_drawn():
    assert all(pictures.can_draw(i) for i in spec_ids())


def test_a_picture_of_an_older_drawing_is_redrawn_and_a_current_one_is_kept(tmp_path, monkeypatch):
    paths = pictures.ensure_pictures("bridge", 1, "reps", tmp_path)
    kept = {p: path.read_bytes() for p, path in paths.items()}
    assert all(pictures.MARKER.encode() in png[:256] for png in kept.values())

    def no_drawing(*args, **kwargs):
        raise AssertionError("drew again although the pictures are current")

    monkeypatch.setattr(pictures, "draw_positions", no_drawing)
    assert pictures.ensure_pictures("bridge", 1, "reps", tmp_path) == paths
    monkeypatch.undo()
    old = kept["top"].replace(pictures.MARKER.encode(), f"{pictures._MARKER_PREFIX} r0".encode())
    paths["top"].write_bytes(old)  # what an earlier revision of the drawing left in the cache
    pictures.ensure_pictures("bridge", 1, "reps", tmp_path)
    assert paths["top"].read_bytes() == kept["top"]


def test_a_file_not_ours_is_never_replaced(tmp_path):
    theirs = pictures.picture_paths("bridge", 1, tmp_path)["start"]
    theirs.write_bytes(b"\x89PNG\r\n\x1a\n someone else's picture")
    with pytest.raises(OutputError, match="not written by formcheck"):
        pictures.ensure_pictures("bridge", 1, "reps", tmp_path)
    assert theirs.read_bytes() == b"\x89PNG\r\n\x1a\n someone else's picture"
    assert not pictures.picture_paths("bridge", 1, tmp_path)["top"].exists()


def test_report_page_shows_the_instructions_the_camera_advice_and_both_pictures(tmp_path, monkeypatch):
    import cv2

    from formcheck.htmlreport import ClipMeta, write_clip_report

    monkeypatch.setenv("FORMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    spec = load_spec("bridge").model_dump(mode="json")
    spec["instructions"] = spec["instructions"] + " <b>Breathe</b> & relax."  # text, never markup
    report = _two_bridges()
    page = write_clip_report(tmp_path / "clip", report=report, spec=spec, meta=ClipMeta(clip_path="a.mp4"),
                             video="none").read_text()
    section = page.split('<section id="exercise">')[1].split("</section>")[0]
    assert "Lie on your back with your knees bent" in section and "&lt;b&gt;Breathe&lt;/b&gt; &amp; relax." in section
    assert "Put the camera side-on to you" in section
    sources = re.findall(r'<img src="data:image/png;base64,([^"]+)"', section)
    assert len(sources) == 2
    cached = pictures.picture_paths("bridge", 1, tmp_path / "cache" / "pictures")
    for src, path in zip(sources, cached.values()):
        png = base64.b64decode(src)
        assert png == path.read_bytes()
        assert cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR).std() > 20
