"""Measure how well the real MediaPipe PoseLandmarker recovers a synthetic clip's ground truth.

Used by the model-marked tests and for tuning the renderer: detection rate, 2D landmark error
and hip/knee angle error. MediaPipe is imported lazily; nothing here runs at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from formcheck.skeleton import MIRROR_INDEX, Landmark
from formcheck.synth.truth import Truth, hip_flexion_deg, knee_flexion_deg

JOINTS = tuple(Landmark[f"{s}_{j}"] for j in ("SHOULDER", "HIP", "KNEE", "ANKLE") for s in ("LEFT", "RIGHT"))


@dataclass(frozen=True)
class Detections:
    """MediaPipe output per frame: image landmarks in px (N,33,2) and world landmarks (N,33,3); NaN = none."""

    image_px: np.ndarray
    world_m: np.ndarray

    @property
    def detected(self) -> np.ndarray:
        """Per frame, whether the model found a person."""
        return np.isfinite(self.image_px[:, 0, 0])


def detect(frames_bgr: Iterable[np.ndarray], fps: float, model_path: Path | None = None) -> Detections:
    """Run the pose estimator the commands use over BGR frames; the full model where formcheck finds it."""
    from formcheck.backends import pose_backend
    from formcheck.types import Frame

    img_out, world_out = [], []
    # the estimator and model file the analyses use, so the synthetic checks measure what they run
    with pose_backend(variant="full", model_path=model_path).open() as estimator:
        for i, bgr in enumerate(frames_bgr):
            rgb = np.ascontiguousarray(bgr[:, :, ::-1])
            pose = estimator.estimate(Frame(rgb, i * 1000 / fps, i))
            img_out.append(pose.image_xyz_px[:, :2])
            world_out.append(pose.world_xyz_m)
    return Detections(np.asarray(img_out, float), np.asarray(world_out, float))


def _signed_2d(lm: np.ndarray, side: str) -> np.ndarray:
    """Image-plane signed shoulder-hip-knee angle (sign orientation fixed by the caller)."""
    s, h, k = (lm[:, Landmark[f"{side.upper()}_{j}"]] for j in ("SHOULDER", "HIP", "KNEE"))
    d, b = h - s, k - h
    return np.degrees(np.arctan2(d[:, 0] * b[:, 1] - d[:, 1] * b[:, 0], np.sum(d * b, axis=1)))


def _knee_2d(lm: np.ndarray, side: str) -> np.ndarray:
    h, k, a = (lm[:, Landmark[f"{side.upper()}_{j}"]] for j in ("HIP", "KNEE", "ANKLE"))
    u, v = h - k, a - k
    cos = np.sum(u * v, axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
    return 180.0 - np.degrees(np.arccos(np.clip(cos, -1, 1)))


@dataclass(frozen=True)
class CheckResult:
    """Agreement between MediaPipe and the truth over one clip."""

    n_frames: int
    detection_rate: float
    swap_rate: float  # frames where MediaPipe's left/right labels fit the truth better swapped
    landmark_err_px: float  # mean over shoulders, hips, knees, ankles (swap-tolerant)
    near_landmark_err_px: float  # same, near-side joints only
    hip_err_deg: float  # image-plane signed hip angle vs truth, mean abs, both sides
    knee_err_deg: float
    near_hip_err_deg: float
    near_knee_err_deg: float
    hip_err_world_deg: float  # MediaPipe world landmarks through the truth's own 3D definition
    projection_hip_err_deg: float  # floor: the same 2D formula on the truth's projected landmarks
    projection_knee_err_deg: float

    def row(self) -> str:
        """One human-readable line for tables."""
        return (f"det {self.detection_rate:6.1%}  swap {self.swap_rate:5.1%}  "
                f"lm {self.landmark_err_px:5.1f}px (near {self.near_landmark_err_px:4.1f})  "
                f"hip {self.hip_err_deg:4.1f} (near {self.near_hip_err_deg:4.1f}, "
                f"world {self.hip_err_world_deg:4.1f}, proj {self.projection_hip_err_deg:3.1f})  "
                f"knee {self.knee_err_deg:4.1f} (near {self.near_knee_err_deg:4.1f}, "
                f"proj {self.projection_knee_err_deg:3.1f}) deg")


def compare(truth: Truth, det: Detections) -> CheckResult:
    """Score detections against the truth, tolerating whole-body left/right label swaps."""
    ok = det.detected
    n = truth.n_frames
    gt = truth.landmarks_2d_px
    mp_img = det.image_px.copy()
    mp_world = det.world_m.copy()
    j = np.array(JOINTS)
    e_direct = np.linalg.norm(mp_img[:, j] - gt[:, j], axis=-1).mean(1)
    e_swap = np.linalg.norm(mp_img[:, MIRROR_INDEX][:, j] - gt[:, j], axis=-1).mean(1)
    swap = ok & (e_swap < e_direct)
    mp_img[swap] = mp_img[swap][:, MIRROR_INDEX]
    mp_world[swap] = mp_world[swap][:, MIRROR_INDEX]
    near = truth.view.near_side if truth.view.near_side in ("left", "right") else "left"
    jn = np.array([Landmark[f"{near.upper()}_{x}"] for x in ("SHOULDER", "HIP", "KNEE", "ANKLE")])
    err = np.linalg.norm(mp_img - gt, axis=-1)

    hip_e, knee_e, proj_e, proj_k, world_e = {}, {}, {}, {}, {}
    for side in ("left", "right"):
        truth_hip = truth.angles_deg[f"{side}_hip_flexion_deg"]
        g2 = _signed_2d(gt, side)
        # orient the image-plane sign so it agrees with the truth's anterior-positive convention
        o = 1.0 if np.nansum(g2 * truth_hip) >= 0 else -1.0
        hip_e[side] = np.abs(o * _signed_2d(mp_img, side) - truth_hip)[ok]
        proj_e[side] = np.abs(o * g2 - truth_hip)
        knee_e[side] = np.abs(_knee_2d(mp_img, side) - truth.angles_deg[f"{side}_knee_flexion_deg"])[ok]
        proj_k[side] = np.abs(_knee_2d(gt, side) - truth.angles_deg[f"{side}_knee_flexion_deg"])
        world_e[side] = np.abs(hip_flexion_deg(mp_world, side) - truth_hip)[ok]

    def mean(*xs):
        v = np.concatenate([np.ravel(x) for x in xs])
        v = v[np.isfinite(v)]
        return float(v.mean()) if v.size else float("nan")

    return CheckResult(
        n_frames=n,
        detection_rate=float(ok.mean()),
        swap_rate=float(swap[ok].mean()) if ok.any() else float("nan"),
        landmark_err_px=mean(err[ok][:, j]),
        near_landmark_err_px=mean(err[ok][:, jn]),
        hip_err_deg=mean(hip_e["left"], hip_e["right"]),
        knee_err_deg=mean(knee_e["left"], knee_e["right"]),
        near_hip_err_deg=mean(hip_e[near]),
        near_knee_err_deg=mean(knee_e[near]),
        hip_err_world_deg=mean(world_e["left"], world_e["right"]),
        projection_hip_err_deg=mean(proj_e["left"], proj_e["right"]),
        projection_knee_err_deg=mean(proj_k["left"], proj_k["right"]),
    )


def check_truth(truth: Truth, model_path: Path | None = None, noise: float = 0.0,
                compression: int | None = None) -> CheckResult:
    """Render the truth in memory, run MediaPipe on it and score the result."""
    from formcheck.synth import render_frames

    det = detect(render_frames(truth, noise=noise, compression=compression), truth.fps, model_path)
    return compare(truth, det)


__all__ = ["Detections", "CheckResult", "detect", "compare", "check_truth", "knee_flexion_deg"]
