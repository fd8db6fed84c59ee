"""Overlay drawing: draws something sensible at any size, never touches the input, cue memory."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.render import OverlayRenderer, _angle_labels, _count_text, draw_overlay, latest_cue
from formcheck.skeleton import Landmark
from formcheck.spec import load_spec
from formcheck.types import Fault, FeatureFrame, FrameResult, PoseSample

pytest.importorskip("cv2")

L = Landmark
# A standing person seen side-on, in a 640x480 frame (x right, y down).
STICK = {
    L.NOSE: (330, 80), L.LEFT_EYE: (335, 75), L.RIGHT_EYE: (335, 75), L.LEFT_EAR: (318, 78), L.RIGHT_EAR: (318, 78),
    L.MOUTH_LEFT: (334, 92), L.MOUTH_RIGHT: (334, 92),
    L.LEFT_SHOULDER: (320, 130), L.RIGHT_SHOULDER: (316, 132), L.LEFT_ELBOW: (325, 190), L.RIGHT_ELBOW: (322, 192),
    L.LEFT_WRIST: (345, 240), L.RIGHT_WRIST: (342, 242), L.LEFT_HIP: (318, 250), L.RIGHT_HIP: (314, 252),
    L.LEFT_KNEE: (300, 340), L.RIGHT_KNEE: (322, 345), L.LEFT_ANKLE: (275, 425), L.RIGHT_ANKLE: (320, 430),
    L.LEFT_HEEL: (268, 435), L.RIGHT_HEEL: (312, 440), L.LEFT_FOOT_INDEX: (290, 440), L.RIGHT_FOOT_INDEX: (340, 442),
}


def stick_pose(t_ms: float = 0.0, size=(640, 480), far_side_hidden=True) -> PoseSample:
    xy = np.full((33, 2), np.nan)
    for lm, p in STICK.items():
        xy[lm] = p
    xy = np.where(np.isnan(xy), np.nanmean(xy, axis=0), xy)  # hands etc. near the body
    xy *= np.array(size) / np.array([640, 480])
    vis = np.full(33, 0.95)
    if far_side_hidden:
        vis[[L.RIGHT_KNEE, L.RIGHT_ANKLE, L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX]] = 0.2
    img = np.column_stack([xy, np.zeros(33)])
    return PoseSample(t_ms, img, np.zeros((33, 3)), vis, size)


def hip_ext_result(pose: PoseSample, **kw) -> FrameResult:
    values = {"hip.left": -12.0, "hip.right": 3.0, "knee.left": 4.0, "knee.right": float("nan"), "trunk": 2.0}
    defaults = dict(
        pose=pose,
        features=FeatureFrame(pose.timestamp_ms, values, posture_ok=True, detected=pose.detected),
        phases={"left": "back", "right": "down"},
        counts={"left": 3, "right": 0},
        hold_s=0.0,
    )
    defaults.update(kw)
    return FrameResult(**defaults)


@pytest.fixture(scope="module")
def hip_ext():
    return load_spec("standing_hip_extension")


@pytest.fixture(scope="module")
def bridge():
    return load_spec("bridge")


def frame(size=(640, 480)) -> np.ndarray:
    w, h = size
    return np.full((h, w, 3), 90, np.uint8)


@pytest.mark.parametrize("size", [(640, 480), (1920, 1080), (480, 854)])
def test_draws_and_keeps_shape_dtype_and_input(hip_ext, size):
    image = frame(size)
    before = image.copy()
    out = draw_overlay(image, hip_ext_result(stick_pose(size=size)), hip_ext, fps=24.0, latency_ms=41.0)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(image, before)  # pure: the input is untouched
    changed = np.any(out != image, axis=2)
    assert changed.mean() > 0.02
    # the skeleton is drawn along the thigh (left hip -> left knee), away from the panels
    mid = ((np.array(STICK[L.LEFT_HIP]) + STICK[L.LEFT_KNEE]) / 2 * np.array(size) / [640, 480]).astype(int)
    assert changed[mid[1] - 3 : mid[1] + 4, mid[0] - 3 : mid[0] + 4].any()


@pytest.mark.parametrize("size", [(640, 480), (1920, 1080)])
def test_missing_pose_still_draws_the_panel(hip_ext, size):
    pose = PoseSample.missing(100.0, size)
    result = hip_ext_result(pose, phases={"left": "down", "right": "down"})
    image = frame(size)
    out = draw_overlay(image, result, hip_ext)
    assert out.shape == image.shape
    changed = np.any(out != image, axis=2)
    assert changed[: size[1] // 4, : size[0] // 3].any()  # the counter panel, top-left
    assert not changed[size[1] // 2 :, size[0] // 3 : 2 * size[0] // 3].any()  # no skeleton


def test_cue_banner_is_red_at_the_bottom(hip_ext):
    out = draw_overlay(frame(), hip_ext_result(stick_pose(), active_cues=("Keep your knee straight",)), hip_ext)
    strip = out[-8:, :, :].reshape(-1, 3).astype(int)
    assert (strip[:, 0] > strip[:, 1] + 60).mean() > 0.8  # mostly red
    plain = draw_overlay(frame(), hip_ext_result(stick_pose()), hip_ext)
    assert np.all(plain[-8:, :40] == 90)


def test_long_cue_and_notice_fit_a_small_frame(hip_ext):
    long = "Keep your back straight and do not lean forward while swinging the leg backwards slowly"
    result = hip_ext_result(stick_pose(), active_cues=(long,))
    out = draw_overlay(frame(), result, hip_ext, notice="The camera is not side-on: turn side-on to the camera.")
    assert out.shape == (480, 640, 3)


def test_inplace_draws_on_the_given_image(hip_ext):
    image = frame()
    out = draw_overlay(image, hip_ext_result(stick_pose()), hip_ext, inplace=True)
    assert out is image and np.any(image != 90)


def test_pose_from_a_downscaled_frame_is_drawn_at_full_size(hip_ext):
    pose = stick_pose(size=(320, 240))  # estimated on a half-size frame
    image = frame((640, 480))
    out = draw_overlay(image, hip_ext_result(pose), hip_ext)
    changed = np.any(out != image, axis=2)
    mid = ((np.array(STICK[L.LEFT_HIP]) + STICK[L.LEFT_KNEE]) / 2).astype(int)  # full-size coordinates
    assert changed[mid[1] - 3 : mid[1] + 4, mid[0] - 3 : mid[0] + 4].any()


def test_rejects_non_rgb_images(hip_ext):
    with pytest.raises(ValueError):
        draw_overlay(np.zeros((48, 64), np.uint8), hip_ext_result(stick_pose()), hip_ext)


def test_hold_bar_for_a_bilateral_exercise(bridge):
    pose = stick_pose()
    result = FrameResult(
        pose=pose,
        features=FeatureFrame(0.0, {"hip": 2.0, "knee": 80.0, "hips_level": 0.01}, True, True),
        phases={"both": "up"},
        counts={"both": 4},
        hold_s=1.5,
    )
    out = draw_overlay(frame(), result, bridge)
    assert out.shape == (480, 640, 3)
    assert _count_text(result, bridge) == "Reps 4/10"


def test_count_and_angle_labels(hip_ext, bridge):
    result = hip_ext_result(stick_pose())
    assert _count_text(result, hip_ext) == "L 3/10  R 0/10"
    labels = {(name, side): value for name, value, _, side in _angle_labels(result, hip_ext)}
    assert labels[("hip", "left")] == -12.0 and labels[("knee", "left")] == 4.0
    assert ("trunk", "both") not in labels  # only hip and knee angles are drawn at joints
    bridge_result = FrameResult(stick_pose(), FeatureFrame(0.0, {"hip": 5.0, "knee": 80.0}, True, True), {"both": "up"}, {"both": 0}, 0.0)
    names = [(n, j) for n, _, j, _ in _angle_labels(bridge_result, bridge)]
    assert ("hip", [int(L.LEFT_HIP), int(L.RIGHT_HIP)]) in names  # "both": drawn between the two hips
    one_side = hip_ext_result(stick_pose(), counts={"right": 2}, phases={"right": "down"})
    assert _count_text(one_side, hip_ext) == "R 2/10"


def _fault(cue: str, t: float) -> Fault:
    return Fault("knee_bent", cue, "rep", "left", t - 500, t, 30.0, 20.0, 0)


def test_latest_cue_prefers_a_new_fault():
    pose = stick_pose()
    r = hip_ext_result(pose, new_faults=(_fault("Keep your knee straight", 0.0),), active_cues=("Don't lean",))
    assert latest_cue(r) == "Keep your knee straight"
    assert latest_cue(hip_ext_result(pose, active_cues=("Don't lean",))) == "Don't lean"
    assert latest_cue(hip_ext_result(pose)) is None


def test_renderer_keeps_a_cue_for_two_seconds(hip_ext):
    rr = OverlayRenderer(hip_ext)
    at = lambda t, **kw: rr.cue_at(hip_ext_result(stick_pose(t), **kw))  # noqa: E731
    assert at(0.0) is None
    assert at(100.0, new_faults=(_fault("Keep your knee straight", 100.0),)) == "Keep your knee straight"
    assert at(1000.0) == "Keep your knee straight"
    assert at(2100.0) == "Keep your knee straight"
    assert at(2200.0) is None


def test_renderer_keeps_a_firing_cue_and_lets_a_new_one_take_over(hip_ext):
    rr = OverlayRenderer(hip_ext)
    at = lambda t, cues=(), faults=(): rr.cue_at(hip_ext_result(stick_pose(t), active_cues=cues, new_faults=faults))  # noqa: E731
    lean = "Keep your back straight; don't lean forward"
    assert at(0.0, (lean,)) == lean
    assert at(3000.0, (lean,)) == lean  # still firing: stays up
    knee = "Keep your knee straight"
    assert at(3100.0, (lean,), (_fault(knee, 3100.0),)) == knee  # a newly raised cue wins
    assert at(3200.0, (lean,)) == knee  # and is not hidden at once by the one still firing
    assert at(5200.0, ()) is None  # both ended long enough ago... knee raised at 3100 -> gone after 5100


def test_renderer_update_draws_the_remembered_cue(hip_ext):
    rr = OverlayRenderer(hip_ext)
    rr.update(frame(), hip_ext_result(stick_pose(0.0), new_faults=(_fault("Keep your knee straight", 0.0),)))
    out = rr.update(frame(), hip_ext_result(stick_pose(1500.0)), fps=30.0)
    strip = out[-8:, :, :].reshape(-1, 3).astype(int)
    assert (strip[:, 0] > strip[:, 1] + 60).mean() > 0.8
    rr.update(frame(), hip_ext_result(stick_pose(1600.0), notices=("Move back so your whole body is visible.",)))
    assert rr.notice_at(hip_ext_result(stick_pose(5000.0))) is not None
    assert rr.notice_at(hip_ext_result(stick_pose(9000.0))) is None


def test_renderer_resets_when_time_goes_back(hip_ext):
    rr = OverlayRenderer(hip_ext)
    rr.cue_at(hip_ext_result(stick_pose(5000.0), active_cues=("Slow down",)))
    assert rr.cue_at(hip_ext_result(stick_pose(0.0))) is None


# --- the live coaching display: sized for 2-3 m, the faulty joint red, the cue board, the end screen ----


def _panel_bottom(img: np.ndarray) -> int:
    """The last row of the top-left counter panel (its shade, darker than the plain frame, at x=40)."""
    column = img[:, 40, 0].astype(int)
    rows = np.nonzero(column < 70)[0]
    return int(rows[rows < img.shape[0] // 2].max())


def test_live_overlay_is_sized_for_two_to_three_metres(hip_ext):
    from formcheck.render import LiveOverlay

    video = draw_overlay(frame(), hip_ext_result(stick_pose()), hip_ext)
    live = draw_overlay(frame(), hip_ext_result(stick_pose()), hip_ext, live=LiveOverlay(gauges=False))
    assert _panel_bottom(live) > 1.3 * _panel_bottom(video)
    # and it scales with the frame: at 1080p the panel takes the same share of the height
    big = draw_overlay(frame((1440, 1080)), hip_ext_result(stick_pose(size=(1440, 1080))), hip_ext,
                       live=LiveOverlay(gauges=False))
    assert _panel_bottom(big) / 1080 == pytest.approx(_panel_bottom(live) / 480, rel=0.1)


def test_live_overlay_draws_the_faulty_joint_red_and_the_board_cue(hip_ext):
    from formcheck.coaching import CoachState, Cue
    from formcheck.render import LiveOverlay

    knee = STICK[L.LEFT_KNEE]
    cue = Cue("Keep your left knee straight", "fault", (int(L.LEFT_HIP), int(L.LEFT_KNEE), int(L.LEFT_ANKLE)), "knee_bent")
    out = draw_overlay(frame(), hip_ext_result(stick_pose()), hip_ext,
                       live=LiveOverlay(gauges=False, coach=CoachState(cue, None, cue.joints)))
    r, g, b = out[knee[1], knee[0] + 3].astype(int)
    assert r > 150 and g < 60 and b < 60  # the knee is red
    strip = out[-8:].reshape(-1, 3).astype(int)
    assert (strip[:, 0] > strip[:, 1] + 60).mean() > 0.8  # the cue's banner is red
    plain = draw_overlay(frame(), hip_ext_result(stick_pose()), hip_ext, live=LiveOverlay(gauges=False))
    r, g, b = plain[knee[1], knee[0] + 3].astype(int)
    assert not (r > 150 and g < 60 and b < 60)
    # the board decides: a cue the result raises is not drawn over it (it would linger into the next rep)
    quiet = draw_overlay(frame(), hip_ext_result(stick_pose(), active_cues=("Keep your knee straight",)), hip_ext,
                         live=LiveOverlay(gauges=False, coach=CoachState(None, None, ())))
    assert np.all(quiet[-8:, :40] == 90)
    good = draw_overlay(frame(), hip_ext_result(stick_pose()), hip_ext,
                        live=LiveOverlay(gauges=False, coach=CoachState(Cue("Good rep", "good"), None, ())))
    strip = good[-8:].reshape(-1, 3).astype(int)
    assert (strip[:, 1] > strip[:, 0] + 60).mean() > 0.8  # praise is green


def test_end_of_set_screen_covers_the_frame(hip_ext):
    from formcheck.coaching import SetSummary
    from formcheck.render import LiveOverlay

    summary = SetSummary("Standing hip extension", (("left", 10, 10), ("right", 7, 10)), (),
                         (("Keep your right knee straight", 2),), "Do 3 more reps on the right")
    out = draw_overlay(frame(), hip_ext_result(stick_pose()), hip_ext, live=LiveOverlay(summary=summary))
    assert np.median(out) < 40  # the frame is dimmed behind the summary
    pixels = out.reshape(-1, 3).astype(int)
    assert ((pixels[:, 1] > 150) & (pixels[:, 0] < 120)).sum() > 200  # the finished side in green
    assert ((pixels[:, 0] > 200) & (pixels[:, 1] > 150) & (pixels[:, 2] < 100)).sum() > 200  # the short one in amber
