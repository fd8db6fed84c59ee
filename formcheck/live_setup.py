"""Set-up guidance before a live exercise counts: whole body in view, the spec's camera view, a countdown.

Pure: poses in, a ``SetupState`` out, times from the poses' own timestamps.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from formcheck.evaluator import KEY_LANDMARKS, MIN_SIDE_ON, max_side_on_for_front
from formcheck.features import VISIBILITY_MIN
from formcheck.lang import tr
from formcheck.skeleton import Landmark
from formcheck.spec import ExerciseSpec
from formcheck.types import PoseSample

SETTLE_S = 1.0  # set up right for this long before the countdown starts
GRACE_S = 0.7  # during the countdown, a moment out of view (getting down onto a mat) is forgiven
VIEW_FRAMES = 10  # judge the camera view on the median of the latest frames, not one noisy one

STEP_IN = "Step into the camera's view"
STEP_BACK = "Step back until your whole body is visible"
TURN_SIDE_ON = "Turn side-on to the camera"
FACE_CAMERA = "Face the camera"
GO = "Go"
PAST_EDGE = "{part} past the {edge} edge of the picture: step back, or move toward the middle"
HIDDEN = "{part} out of sight: step back, or move what hides them"
PARTS = {"shoulders": "Your head and shoulders are", "hips": "Your hips are", "knees": "Your knees are",
         "feet": "Your feet are"}

GET_INTO_POSITION = {
    "standing": "Stand tall",
    "sitting": "Sit down",
    "kneeling": "Kneel down",
    "supine": "Lie on your back",
    "prone": "Lie face down",
    "side_lying": "Lie on your side",
    "quadruped": "Get on your hands and knees",
    "any": "Get into position",
}


@dataclass(frozen=True)
class SetupState:
    """Where set-up stands: ``stage`` is "setup", "countdown" or "go" (counting may start)."""

    stage: str
    message: str
    countdown_s: float | None = None  # seconds left, during the countdown

    @property
    def ready(self) -> bool:
        """Whether set-up is done and counting can start."""
        return self.stage == "go"


def side_on(pose: PoseSample) -> float:
    """How side-on the camera sees the body: 1 exactly side-on, 0 facing it (NaN when unknown)."""
    w = pose.world_xyz_m
    lateral = w[Landmark.LEFT_HIP] - w[Landmark.RIGHT_HIP] + w[Landmark.LEFT_SHOULDER] - w[Landmark.RIGHT_SHOULDER]
    norm = float(np.linalg.norm(lateral))
    if np.isfinite(norm) and norm > 1e-6:
        return abs(float(lateral[2])) / norm
    # no 3D landmarks: the shoulders' image width against the torso's length (small when side-on)
    xy = pose.image_xyz_px[:, :2]
    sh = np.linalg.norm(xy[Landmark.LEFT_SHOULDER] - xy[Landmark.RIGHT_SHOULDER])
    torso = np.linalg.norm((xy[Landmark.LEFT_SHOULDER] + xy[Landmark.RIGHT_SHOULDER]
                            - xy[Landmark.LEFT_HIP] - xy[Landmark.RIGHT_HIP]) / 2)
    ratio = sh / max(torso, 1e-6)
    return float(np.clip(1.0 - ratio, 0.0, 1.0)) if np.isfinite(ratio) else float("nan")


def out_of_view(pose: PoseSample) -> tuple[str, str] | None:
    """The first body part not seen (shoulders, hips, knees, feet) and where it went: the picture's
    left, right, top or bottom edge, or "hidden" inside it; None when the whole body is in view."""
    xy, (w, h) = pose.image_xyz_px[:, :2], pose.frame_size_px
    for part, lms in KEY_LANDMARKS.items():
        p = xy[list(lms)]
        inside = (p[:, 0] >= 0) & (p[:, 0] < w) & (p[:, 1] >= 0) & (p[:, 1] < h)
        if (inside & (pose.visibility[list(lms)] >= VISIBILITY_MIN)).any():
            continue
        x, y = np.nanmean(p[:, 0]), np.nanmean(p[:, 1])
        beyond = {"left": -x, "right": x - w, "top": -y, "bottom": y - h}
        edge, by = max(beyond.items(), key=lambda kv: kv[1] if np.isfinite(kv[1]) else -np.inf)
        return part, edge if np.isfinite(by) and by >= 0 else "hidden"
    return None


def whole_body_visible(pose: PoseSample) -> bool:
    """Shoulders, hips, knees and feet each seen (at least one of the pair) inside the frame."""
    return pose.detected and out_of_view(pose) is None


def what_to_move(part: str, edge: str) -> str:
    """The set-up message for a part out of view, in the active language."""
    if edge == "hidden":
        return tr(HIDDEN).format(part=tr(PARTS[part]))
    return tr(PAST_EDGE).format(part=tr(PARTS[part]), edge=tr(edge))


class SetupGuide:
    """Tells the person how to set up, then counts down; ``update(pose)`` once per frame."""

    def __init__(self, spec: ExerciseSpec, *, settle_s: float = SETTLE_S, countdown_s: float = 3.0):
        self.spec = spec
        self.settle_ms = settle_s * 1000
        self.countdown_ms = max(0.0, countdown_s) * 1000
        self._side_on: deque[float] = deque(maxlen=VIEW_FRAMES)
        self._good_since: float | None = None
        self._bad_since: float | None = None
        self.position = GET_INTO_POSITION.get(spec.posture, GET_INTO_POSITION["any"])

    def problem(self, pose: PoseSample) -> str | None:
        """What is wrong with the set-up in this frame (None: nothing)."""
        if not pose.detected:
            self._side_on.clear()
            return STEP_IN
        missing = out_of_view(pose)
        if missing is not None:
            return what_to_move(*missing)
        value = side_on(pose)
        if np.isfinite(value):
            self._side_on.append(value)
        if self._side_on:
            view = float(np.median(self._side_on))
            if self.spec.view == "side" and view < MIN_SIDE_ON:
                return TURN_SIDE_ON
            if self.spec.view == "front" and view > max_side_on_for_front(self.spec):
                return FACE_CAMERA
        return None

    def update(self, pose: PoseSample) -> SetupState:
        """Take one pose and return where set-up stands (stage, message, countdown)."""
        t = pose.timestamp_ms
        problem = self.problem(pose)
        counting_down = self._good_since is not None and t - self._good_since >= self.settle_ms
        if problem is not None:
            self._bad_since = t if self._bad_since is None else self._bad_since
            if not counting_down or t - self._bad_since > GRACE_S * 1000:
                self._good_since = None
                return SetupState("setup", problem)
        else:
            self._bad_since = None
        if self._good_since is None:
            self._good_since = t
        settled_ms = t - self._good_since
        if settled_ms < self.settle_ms:
            return SetupState("setup", "Good, hold still")
        left_ms = self.settle_ms + self.countdown_ms - settled_ms
        if left_ms > 0:
            return SetupState("countdown", self.position, left_ms / 1000)
        return SetupState("go", GO)
