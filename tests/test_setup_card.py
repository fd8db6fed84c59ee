"""The live set-up screen: the exercise's instructions, camera advice and pictures, and set-up
checks that say what to move (in the chosen language)."""

from __future__ import annotations

import queue

import numpy as np
import pytest

from formcheck import lang
from formcheck.live_setup import SetupGuide, out_of_view, what_to_move
from formcheck.skeleton import Landmark
from formcheck.spec import load_spec
from formcheck.types import PoseSample
from kinematics import SIZE, pose_2d, sample
from formcheck.live_display import ViewLog


def lying(t_ms: float) -> PoseSample:
    return sample(t_ms, pose_2d(posture="supine", hip_flex=(50, 50), knee_flex=(90, 90)))


def moved(pose: PoseSample, lms, dx: float = 0.0, dy: float = 0.0, visibility: float | None = None) -> PoseSample:
    xyz, vis = pose.image_xyz_px.copy(), pose.visibility.copy()
    xyz[list(lms), 0] += dx
    xyz[list(lms), 1] += dy
    if visibility is not None:
        vis[list(lms)] = visibility
    return PoseSample(pose.timestamp_ms, xyz, pose.world_xyz_m, vis, pose.frame_size_px)


FEET = (Landmark.LEFT_ANKLE, Landmark.RIGHT_ANKLE)
SHOULDERS = (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)


def test_set_up_says_which_part_is_out_of_view_and_where():
    p = lying(0)
    assert out_of_view(p) is None
    assert out_of_view(moved(p, FEET, dx=SIZE[0])) == ("feet", "right")
    assert out_of_view(moved(p, SHOULDERS, dx=-SIZE[0])) == ("shoulders", "left")
    assert out_of_view(moved(p, FEET, dy=SIZE[1])) == ("feet", "bottom")
    assert out_of_view(moved(p, FEET, visibility=0.0)) == ("feet", "hidden")
    guide = SetupGuide(load_spec("bridge"))
    assert guide.update(moved(p, FEET, dx=SIZE[0])).message == (
        "Your feet are past the right edge of the picture: step back, or move toward the middle")
    assert guide.update(moved(p, FEET, visibility=0.0)).message == (
        "Your feet are out of sight: step back, or move what hides them")


def test_set_up_message_in_german():
    lang.use("de")
    try:
        assert what_to_move("feet", "right") == "Ihre Füße sind am rechten Bildrand abgeschnitten: gehen Sie zurück oder zur Mitte"
        assert lang.tr("Turn side-on to the camera") == "Stellen Sie sich seitlich zur Kamera"
    finally:
        lang.use("en")


def test_setup_card_has_the_specs_instructions_camera_and_pictures():
    from formcheck.setup_card import setup_card

    spec = load_spec("bridge")
    card = setup_card(spec)
    assert card.instructions == spec.instructions.strip() and card.camera == spec.camera.strip()
    assert [c for c, _ in card.pictures] == ["Start", "Top"]
    assert all(img.ndim == 3 and img.shape[2] == 3 and img.std() > 0 for _, img in card.pictures)


def test_live_set_up_screen_shows_the_card_and_draws_it(tmp_path):
    from dataclasses import replace

    from formcheck.live import LiveCoach, LiveOptions
    from formcheck.live_capture import Captured, LivePose, StreamEnd
    from formcheck.live_window import Composer
    from formcheck.live_routine import RoutineItem
    from formcheck.pipeline import build_evaluator
    from formcheck.types import Frame, SourceInfo

    q: queue.Queue = queue.Queue()
    for i in range(20):  # feet out of the picture: set-up never ends
        p = moved(lying(i * 1000 / 30), FEET, dx=SIZE[0])
        f = Frame(np.full((SIZE[1], SIZE[0], 3), 90, np.uint8), p.timestamp_ms, i)
        q.put(LivePose(Captured(f, i, i / 30), p, i / 30, i / 30))
    q.put(StreamEnd())
    log = ViewLog()
    coach = LiveCoach([RoutineItem("bridge")], lambda it: build_evaluator(it.exercise, None), q,
                      source=SourceInfo(kind="camera", camera=0), out_dir=tmp_path, options=LiveOptions(setup=True),
                      display=log)
    coach.start()
    coach.join()
    assert coach.error is None
    view = log.views[-1]
    assert view.overlay.card is not None and view.overlay.card.title == "Glute bridge"
    assert "right edge" in view.overlay.message
    with_card = Composer().update(view)
    without = Composer().update(replace(view, overlay=replace(view.overlay, card=None)))
    right = slice(int(with_card.shape[1] * 0.6), None)
    assert np.abs(with_card[:, right].astype(int) - without[:, right].astype(int)).mean() > 5


@pytest.mark.parametrize("size", [(640, 480), (1280, 720), (1920, 1080)])
def test_card_fits_the_frame_at_every_size(size):
    from formcheck.render import LiveOverlay, draw_overlay
    from formcheck.setup_card import setup_card
    from formcheck.types import FeatureFrame, FrameResult

    spec = load_spec("bridge")
    w, h = size
    pose = lying(0)
    result = FrameResult(pose=pose, features=FeatureFrame(0, {}, False, True), phases={}, counts={}, hold_s=0.0)
    img = draw_overlay(np.zeros((h, w, 3), np.uint8), result, spec,
                       live=LiveOverlay(message="Stand tall", card=setup_card(spec), gauges=False))
    assert img.shape == (h, w, 3) and img[:, int(w * 0.6):].any()
