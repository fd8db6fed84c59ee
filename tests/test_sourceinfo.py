"""SourceInfo: the typed description of what a session analysed, written as report.json's ``source``."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from formcheck.types import SourceInfo

# report.json's source objects as the commands wrote them before SourceInfo, keys in their order
VIDEO = {"path": "clips/a.mp4", "kind": "video", "fps": 29.97, "frame_count": 300, "frame_size_px": [960, 540],
         "rotation_deg": 0, "model_variant": "full", "model": "pose_landmarker_full.task", "analysis_fps": None,
         "frames_decoded": 280, "ends_early": True}
POSES = {"path": "a.npz", "kind": "poses", "source": {"name": "a.mp4"}, "fps": 30.0, "frame_size_px": [640, 480],
         "model_variant": "lite", "analysis_fps": 15.0, "frame_count": 100, "frames_decoded": 90, "ends_early": True}
OLD_POSES = {"path": "old.npz", "kind": "poses", "source": None, "fps": 30.0, "frame_size_px": None,
             "model_variant": None, "analysis_fps": None}
PLAYED = {"path": "b.mp4", "kind": "video", "played": "live", "fps": 30.0, "frame_count": 90,
          "frame_size_px": [640, 360], "rotation_deg": 90, "model_variant": "lite", "model": "m.task",
          "live": {"frames_analysed": 80, "ended_by": "quit"}}
CAMERA = {"kind": "camera", "camera": 0, "frame_size_px": [640, 480], "model_variant": "full", "model": "m.task",
          "live": {"frames_analysed": 10}}
AUTO = {"path": "c.mp4", "kind": "video", "fps": 25.0, "frame_count": 50, "frame_size_px": [640, 480],
        "rotation_deg": 0, "model_variant": "full", "model": "m.task", "analysis_fps": 15.0, "frames_decoded": 50,
        "exercise_auto": {"exercise": "bridge", "confidence": 0.9}}


@pytest.mark.parametrize("d", [VIDEO, POSES, OLD_POSES, PLAYED, CAMERA, AUTO], ids=lambda d: d.get("path", "camera"))
def test_to_dict_round_trips_with_the_keys_in_report_order(d):
    info = SourceInfo.from_dict(d)
    assert json.dumps(info.to_dict()) == json.dumps(d)  # same keys, same order, same values


def test_a_video_source_as_the_analysis_builds_it():
    info = SourceInfo(kind="video", path="clips/a.mp4", fps=29.97, frame_count=300, frame_size_px=(960, 540),
                      rotation_deg=0, model_variant="full", model="pose_landmarker_full.task", analysis_fps=None)
    first = info.to_dict()
    assert "analysis_fps" in first and first["analysis_fps"] is None  # null: every frame was analysed
    assert "frames_decoded" not in first and "ends_early" not in first
    whole = replace(info, frames_decoded=300).to_dict()
    assert whole["frames_decoded"] == 300 and "ends_early" not in whole  # only a short file says so
    assert json.dumps(replace(info, frames_decoded=280, ends_early=True).to_dict()) == json.dumps(VIDEO)


def test_a_live_camera_gains_its_model_and_counts():
    info = SourceInfo(kind="camera", camera=0, frame_size_px=(640, 480))
    assert info.to_dict() == {"kind": "camera", "camera": 0, "frame_size_px": [640, 480]}
    done = replace(info, model_variant="full", model="m.task", live={"frames_analysed": 10})
    assert json.dumps(done.to_dict()) == json.dumps(CAMERA)


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        SourceInfo(kind="test").to_dict()
