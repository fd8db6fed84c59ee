"""Pose estimation: pure conversion, timestamps, subject choice; the real model on real frames."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from formcheck.estimator import (
    MediaPipePoseEstimator,
    PoseEstimator,
    next_detect_ms,
    pick_subject,
    to_pose_sample,
)
from formcheck.models import ModelError
from formcheck.skeleton import NUM_LANDMARKS, Landmark
from formcheck.types import Frame, PoseSample

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "clips" / "rohit_squat_side.mp4"


def fake_landmarks(n=NUM_LANDMARKS, *, x=0.5, y=0.25, z=-0.1, visibility=0.9):
    return [SimpleNamespace(x=x + i * 0.001, y=y, z=z, visibility=visibility) for i in range(n)]


# --- to_pose_sample -------------------------------------------------------------------------------


def test_to_pose_sample_converts_normalised_to_pixels():
    lms = fake_landmarks()
    world = [SimpleNamespace(x=0.1, y=-0.5, z=0.02, visibility=0.9) for _ in range(NUM_LANDMARKS)]
    pose = to_pose_sample(lms, world, 123.5, (640, 480))
    assert pose.detected and pose.timestamp_ms == 123.5 and pose.frame_size_px == (640, 480)
    assert pose.image_xyz_px.shape == (33, 3) and pose.world_xyz_m.shape == (33, 3) and pose.visibility.shape == (33,)
    assert pose.image_xyz_px[0] == pytest.approx([320.0, 120.0, -64.0])  # z scaled by the width, like x
    assert pose.image_xyz_px[10, 0] == pytest.approx((0.5 + 0.01) * 640)
    assert pose.world_xyz_m[0] == pytest.approx([0.1, -0.5, 0.02])  # metres, untouched
    assert np.all(pose.visibility == pytest.approx(0.9))


def test_to_pose_sample_visibility_none_is_zero_and_world_missing_is_nan():
    lms = fake_landmarks(visibility=None)
    pose = to_pose_sample(lms, None, 0.0, (100, 200))
    assert np.all(pose.visibility == 0.0)
    assert np.isnan(pose.world_xyz_m).all()
    assert pose.detected


@pytest.mark.parametrize("empty", [None, []])
def test_to_pose_sample_no_landmarks_is_missing(empty):
    pose = to_pose_sample(empty, empty, 40.0, (64, 48))
    assert not pose.detected
    assert pose.timestamp_ms == 40.0 and pose.frame_size_px == (64, 48)
    assert np.isnan(pose.image_xyz_px).all() and np.all(pose.visibility == 0)


def test_to_pose_sample_rejects_wrong_landmark_count():
    with pytest.raises(ValueError, match="33"):
        to_pose_sample(fake_landmarks(17), None, 0.0, (64, 48))


# --- timestamps -----------------------------------------------------------------------------------


def test_next_detect_ms_rounds_and_stays_strictly_increasing():
    prev = None
    out = []
    for t in [0.0, 0.4, 0.6, 33.3, 33.4, 66.7, 66.2]:
        prev = next_detect_ms(t, prev)
        out.append(prev)
    assert out == [0, 1, 2, 33, 34, 67, 68]
    assert all(isinstance(v, int) for v in out)


# --- pick_subject ---------------------------------------------------------------------------------


def person(cx: float, cy: float, half: float = 50.0, t: float = 0.0) -> PoseSample:
    """A crude person: landmarks spread in a square of side 2*half around (cx, cy)."""
    rng = np.random.default_rng(int(cx + cy))
    xy = np.column_stack([cx + rng.uniform(-half, half, 33), cy + rng.uniform(-half, half, 33)])
    xy[Landmark.LEFT_HIP] = (cx - 5, cy)
    xy[Landmark.RIGHT_HIP] = (cx + 5, cy)
    img = np.column_stack([xy, np.zeros(33)])
    return PoseSample(t, img, np.zeros((33, 3)), np.ones(33), (1000, 1000))


def test_pick_subject_follows_the_previous_person():
    previous = person(200, 500)
    candidates = [person(800, 500, half=200), person(230, 510, half=40)]
    assert pick_subject(candidates, previous) == 1


def test_pick_subject_without_history_takes_the_largest_person():
    candidates = [person(200, 500, half=30), person(700, 500, half=150), person(500, 500, half=60)]
    assert pick_subject(candidates, None) == 1
    assert pick_subject(candidates, PoseSample.missing(0.0, (1000, 1000))) == 1


def test_pick_subject_single_and_empty():
    assert pick_subject([person(1, 1)], None) == 0
    with pytest.raises(ValueError):
        pick_subject([], None)


# --- the adapter without the model ----------------------------------------------------------------


def test_missing_model_file_is_model_error(tmp_path):
    with pytest.raises(ModelError) as excinfo:
        MediaPipePoseEstimator(tmp_path / "nope.task")
    msg = str(excinfo.value)
    assert "\n" not in msg and "formcheck model fetch" in msg


def test_corrupt_model_file_is_model_error(tmp_path):
    bad = tmp_path / "bad.task"
    bad.write_bytes(b"this is not a model" * 100)
    with pytest.raises(ModelError) as excinfo:
        MediaPipePoseEstimator(bad)
    assert "\n" not in str(excinfo.value)


def test_unknown_variant_is_model_error(tmp_path):
    with pytest.raises(ModelError, match="lite, full, heavy"):
        MediaPipePoseEstimator(tmp_path / "x.task", variant="huge")


class FakeLandmarker:
    """Stands in for PoseLandmarker: records the timestamps it is given."""

    def __init__(self, people):
        self.people, self.seen_ms, self.closed = people, [], False

    def detect_for_video(self, image, ms):
        assert isinstance(ms, int)
        self.seen_ms.append(ms)
        return SimpleNamespace(pose_landmarks=self.people, pose_world_landmarks=[None] * len(self.people))

    def close(self):
        self.closed = True


def _with_fake(people) -> MediaPipePoseEstimator:
    est = object.__new__(MediaPipePoseEstimator)
    est._landmarker, est._last_ms, est._previous, est._quiet_next = FakeLandmarker(people), None, None, True
    return est


def test_estimate_feeds_strictly_increasing_integer_ms_and_keeps_true_times():
    pytest.importorskip("mediapipe")
    est = _with_fake([fake_landmarks()])
    image = np.zeros((48, 64, 3), np.uint8)
    poses = [est.estimate(Frame(image, t, i)) for i, t in enumerate([0.0, 0.3, 0.6, 40.0])]
    assert est._landmarker.seen_ms == [0, 1, 2, 40]
    assert [p.timestamp_ms for p in poses] == [0.0, 0.3, 0.6, 40.0]  # the pose keeps the frame's time
    assert poses[0].frame_size_px == (64, 48)
    with est:
        pass
    assert est._landmarker is None  # closed by the context manager
    assert isinstance(MediaPipePoseEstimator.__new__(MediaPipePoseEstimator), PoseEstimator)


def test_estimate_with_nobody_is_a_missing_pose():
    pytest.importorskip("mediapipe")
    est = _with_fake([])
    pose = est.estimate(Frame(np.zeros((48, 64, 3), np.uint8), 10.0, 0))
    assert not pose.detected and pose.frame_size_px == (64, 48)


# --- the real model -------------------------------------------------------------------------------


def _model_path() -> Path:
    from formcheck.models import resolve_model

    try:
        return resolve_model("full")
    except ModelError as exc:
        pytest.skip(f"the pose model is not installed ({exc})")


@pytest.fixture(scope="module")
def real_estimator():
    pytest.importorskip("mediapipe")
    est = MediaPipePoseEstimator(_model_path())
    yield est
    est.close()


@pytest.mark.model
@pytest.mark.clips
def test_real_model_finds_the_person_in_a_real_clip(real_estimator):
    if not CLIP.is_file():
        pytest.skip(f"{CLIP} is absent (real clips live in ../shared/clips)")
    from formcheck.sources import video_frames

    frames = video_frames(CLIP, max_side_px=640)
    for _, frame in zip(range(4), frames):
        pose = real_estimator.estimate(frame)
        h, w = frame.image_rgb.shape[:2]
        assert pose.detected
        assert pose.frame_size_px == (w, h)
        xy = pose.image_xyz_px[:, :2]
        assert xy.shape == (33, 2) and np.isfinite(xy).all()
        assert np.all((xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h))
        assert np.isfinite(pose.world_xyz_m).all() and np.abs(pose.world_xyz_m).max() < 2.0
        # side view: at least the near hip and knee are seen
        assert pose.visibility[[Landmark.LEFT_HIP, Landmark.RIGHT_HIP]].max() > 0.5
        assert pose.visibility[[Landmark.LEFT_KNEE, Landmark.RIGHT_KNEE]].max() > 0.5
    frames.close()


@pytest.mark.model
def test_real_model_blank_image_is_missing_not_an_error(real_estimator):
    grey = np.full((480, 640, 3), 128, np.uint8)
    t0 = (real_estimator._last_ms or 0) + 1000.0
    pose = real_estimator.estimate(Frame(grey, t0, 0))
    assert not pose.detected and pose.frame_size_px == (640, 480)
