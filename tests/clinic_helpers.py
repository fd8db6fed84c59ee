"""Poses files for the clinician-workflow tests, built from joint angles (no model, a second each)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from formcheck.posesfile import PosesWriter
from formcheck.types import PoseSample
from kinematics import SIZE, pose_2d, rep_wave, stream

FPS = 30.0


def _write(path: Path, samples: list[PoseSample]) -> Path:
    with PosesWriter(path, {"fps": FPS, "frame_size_px": list(SIZE), "model_variant": "synthetic"}) as w:
        for s in samples:
            w.update(s)
    return path


def bridge_poses(path: Path, reps: int = 2, *, seed: int = 0, depth_deg: float = 50.0) -> Path:
    """Glute bridges: lying still, then ``reps`` lifts (1 s up, 1.5 s held, 1 s down)."""
    frames = [pose_2d(posture="supine", hip_flex=(50, 50), knee_flex=(90, 90))] * int(1.5 * FPS)
    t = np.arange(int(reps * 4.5 * FPS + 30)) / FPS
    for x in rep_wave(t, [0.5 + 4.5 * i for i in range(reps)], 1.0, 1.5, 1.0):
        h = 50 - depth_deg * x
        frames.append(pose_2d(posture="supine", hip_flex=(h, h), knee_flex=(90, 90)))
    return _write(path, stream(frames, FPS, noise_px=1.0, seed=seed))


def hip_extension_poses(path: Path, reps_per_side: int = 1, *, seed: int = 0) -> Path:
    """Standing hip extensions, alternating left and right legs, 25 deg back."""
    frames = [pose_2d(posture="standing")] * int(1.5 * FPS)
    n = 2 * reps_per_side
    for k in range(n):
        t = np.arange(int(3.5 * FPS)) / FPS
        for x in rep_wave(t, [0.5], 0.8, 0.5, 0.8):
            hip = (-25 * x, 0.0) if k % 2 == 0 else (0.0, -25 * x)
            frames.append(pose_2d(posture="standing", hip_flex=hip))
    frames += [pose_2d(posture="standing")] * int(FPS)
    return _write(path, stream(frames, FPS, noise_px=0.5, seed=seed))


def nobody_poses(path: Path, seconds: float = 2.0) -> Path:
    """A recording in which nobody is ever seen."""
    return _write(path, [PoseSample.missing(i * 1000 / FPS, SIZE) for i in range(int(seconds * FPS))])
