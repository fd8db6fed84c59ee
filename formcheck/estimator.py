"""Pose estimation: the PoseEstimator protocol, the MediaPipe Tasks adapter, and pure converters.

``to_pose_sample``, ``pick_subject`` and ``next_detect_ms`` are plain numpy, testable without
MediaPipe. ``MediaPipePoseEstimator`` imports MediaPipe when it is constructed, never at import,
and never downloads anything: it is handed the path of a ``.task`` bundle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from formcheck.models import VARIANTS, ModelError, validate_bundle
from formcheck.skeleton import NUM_LANDMARKS, Landmark
from formcheck.types import Frame, PoseSample


@runtime_checkable
class PoseEstimator(Protocol):
    """Finds one person's landmarks in a frame; a frame with nobody gives a missing PoseSample."""

    def estimate(self, frame: Frame) -> PoseSample:
        """The pose in one frame (not detected when nobody is found)."""

    def close(self) -> None:
        """Free the model."""

    def __enter__(self) -> PoseEstimator: ...

    def __exit__(self, *exc) -> None: ...


# --- pure helpers -------------------------------------------------------------------------------


def _attr(lm, name: str) -> float:
    v = getattr(lm, name, None)
    return float(v) if v is not None else math.nan


def to_pose_sample(landmarks, world_landmarks, timestamp_ms: float, frame_size_px: tuple[int, int]) -> PoseSample:
    """Convert MediaPipe landmarks (objects with .x .y .z .visibility) into a PoseSample.

    Normalised x, y become pixels (x*w, y*h); z is scaled by the width, as MediaPipe's z is scaled
    like x. World landmarks are already metres. Visibility None counts as 0. No landmarks (None or
    empty) means nobody was found.
    """
    w, h = int(frame_size_px[0]), int(frame_size_px[1])
    if not landmarks:
        return PoseSample.missing(timestamp_ms, (w, h))
    if len(landmarks) != NUM_LANDMARKS:
        raise ValueError(f"expected {NUM_LANDMARKS} landmarks, got {len(landmarks)}")
    image = np.array([[_attr(lm, "x"), _attr(lm, "y"), _attr(lm, "z")] for lm in landmarks], dtype=np.float64)
    image *= np.array([w, h, w], dtype=np.float64)
    visibility = np.nan_to_num(np.array([_attr(lm, "visibility") for lm in landmarks]), nan=0.0)
    visibility = np.clip(visibility, 0.0, 1.0)
    if world_landmarks and len(world_landmarks) == NUM_LANDMARKS:
        world = np.array([[_attr(lm, "x"), _attr(lm, "y"), _attr(lm, "z")] for lm in world_landmarks], dtype=np.float64)
    else:
        world = np.full((NUM_LANDMARKS, 3), np.nan)
    return PoseSample(
        timestamp_ms=float(timestamp_ms),
        image_xyz_px=image,
        world_xyz_m=world,
        visibility=visibility,
        frame_size_px=(w, h),
    )


def next_detect_ms(timestamp_ms: float, previous_ms: int | None) -> int:
    """The integer ms to hand MediaPipe: the frame's time rounded, bumped to stay strictly increasing."""
    ms = int(round(timestamp_ms))
    if previous_ms is not None and ms <= previous_ms:
        ms = previous_ms + 1
    return ms


def _centre(pose: PoseSample) -> np.ndarray:
    """Mid-hip in pixels, or the mean of the seen landmarks when a hip is missing."""
    xy = pose.image_xyz_px[:, :2]
    hips = xy[[Landmark.LEFT_HIP, Landmark.RIGHT_HIP]]
    if np.isfinite(hips).all():
        return hips.mean(axis=0)
    seen = xy[np.isfinite(xy).all(axis=1)]
    return seen.mean(axis=0) if len(seen) else np.full(2, np.nan)


def _bbox_area(pose: PoseSample) -> float:
    xy = pose.image_xyz_px[:, :2]
    seen = xy[np.isfinite(xy).all(axis=1) & (pose.visibility >= 0.5)]
    if len(seen) < 2:
        seen = xy[np.isfinite(xy).all(axis=1)]
    if len(seen) < 2:
        return 0.0
    span = seen.max(axis=0) - seen.min(axis=0)
    return float(span[0] * span[1])


def pick_subject(candidates: Sequence[PoseSample], previous: PoseSample | None) -> int:
    """Index of the candidate to follow: nearest the previous subject's mid-hip, else the largest.

    With no previous subject (the first frame, or after a gap) the person taking up most of the
    frame is taken to be the patient; afterwards continuity wins, so someone walking past does
    not steal the analysis.
    """
    if not candidates:
        raise ValueError("pick_subject needs at least one candidate")
    if len(candidates) == 1:
        return 0
    if previous is not None and previous.detected:
        ref = _centre(previous)
        if np.isfinite(ref).all():
            dists = [float(np.linalg.norm(_centre(c) - ref)) for c in candidates]
            dists = [d if math.isfinite(d) else math.inf for d in dists]
            if math.isfinite(min(dists)):
                return int(np.argmin(dists))
    return int(np.argmax([_bbox_area(c) for c in candidates]))


# --- MediaPipe adapter --------------------------------------------------------------------------


class MediaPipePoseEstimator:
    """MediaPipe Tasks PoseLandmarker in VIDEO mode, fed strictly increasing integer milliseconds."""

    def __init__(
        self,
        model_path: Path,
        *,
        variant: str = "full",
        num_poses: int = 1,
        min_detection_confidence: float = 0.5,
        min_presence: float = 0.5,
        min_tracking: float = 0.5,
    ):
        if variant not in VARIANTS:
            raise ModelError(f"unknown pose model variant {variant!r}; use one of: {', '.join(VARIANTS)}")
        if num_poses < 1:
            raise ValueError("num_poses must be at least 1")
        self.model_path = Path(model_path)
        self.variant = variant
        self.num_poses = int(num_poses)
        self._last_ms: int | None = None
        self._previous: PoseSample | None = None
        self._landmarker = None
        self._quiet_next = True
        if not self.model_path.is_file():
            raise ModelError(
                f"pose model {self.model_path} does not exist; "
                f"run `formcheck model fetch --variant {variant}` or pass --model"
            )
        validate_bundle(self.model_path)  # a clear ModelError for a truncated or foreign file

        from mediapipe.tasks.python.core.base_options import BaseOptions
        from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

        options = PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=RunningMode.VIDEO,
            num_poses=self.num_poses,
            min_pose_detection_confidence=float(min_detection_confidence),
            min_pose_presence_confidence=float(min_presence),
            min_tracking_confidence=float(min_tracking),
            output_segmentation_masks=False,
        )
        from formcheck.sources import quiet_native_stderr

        try:
            with quiet_native_stderr():  # TFLite/glog set-up chatter, not for users
                self._landmarker = PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError, OSError) as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(
                f"pose model {self.model_path} could not be loaded ({detail}); "
                f"run `formcheck model fetch --variant {variant} --force`"
            ) from exc

    def estimate(self, frame: Frame) -> PoseSample:
        """Landmarks of the followed person in `frame` (a missing PoseSample when nobody is found)."""
        if self._landmarker is None:
            raise RuntimeError("this MediaPipePoseEstimator is closed")
        from mediapipe import Image, ImageFormat

        rgb = frame.image_rgb
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.dtype} {rgb.shape}")
        h, w = rgb.shape[:2]
        ms = next_detect_ms(frame.timestamp_ms, self._last_ms)
        self._last_ms = ms
        image = Image(image_format=ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self._quiet_next:
            from formcheck.sources import quiet_native_stderr

            self._quiet_next = False
            with quiet_native_stderr():  # the graph's first run logs warnings of its own
                result = self._landmarker.detect_for_video(image, ms)
        else:
            result = self._landmarker.detect_for_video(image, ms)
        people = result.pose_landmarks or []
        worlds = result.pose_world_landmarks or []
        if not people:
            pose = PoseSample.missing(frame.timestamp_ms, (w, h))
        else:
            candidates = [
                to_pose_sample(lms, worlds[i] if i < len(worlds) else None, frame.timestamp_ms, (w, h))
                for i, lms in enumerate(people)
            ]
            pose = candidates[pick_subject(candidates, self._previous)]
        if pose.detected:
            self._previous = pose
        return pose

    def close(self) -> None:
        """Free the MediaPipe landmarker (safe to call twice)."""
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> MediaPipePoseEstimator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
