"""Synthetic exercise clips with exact ground truth.

``generate`` builds the truth (landmarks, angles, reps, faults) without pixels; ``render_clip``
draws it with a small numpy ray caster and writes the video plus a JSON sidecar.

    truth = generate("bridge", reps=3, fault="hips_low")
    render_clip(truth, Path("bridge_hips_low.mp4"))
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from formcheck.io import atomic_write
from formcheck.synth.body import BodyShape, forward_kinematics
from formcheck.synth.exercises import EXERCISES, ExerciseProgram, make_plan, top_windows
from formcheck.synth.render import (Renderer, Scene, body_primitives, finish_image, fit_camera,
                                    shadow_samples)
from formcheck.synth.truth import FaultTruth, RepTruth, Truth, ViewInfo, compute_angles, pelvis_drop_m

__all__ = ["generate", "render_clip", "render_frames", "list_exercises", "list_faults", "load_truth",
           "Truth", "EXERCISES"]

VIEWS = ("side", "front", "oblique", "angled")
ANGLED_OFF_DEG, ANGLED_ELEVATION_DEG = 20.0, 20.0  # "angled": off the spec's view and raised, within its camera advice
SYNTH_VIDEO_CRF = 18  # H.264 quality of a rendered .mp4: visually lossless


def list_exercises() -> tuple[str, ...]:
    """Ids of the exercises the generator can produce."""
    return tuple(EXERCISES)


def _program(exercise: str) -> ExerciseProgram:
    try:
        return EXERCISES[exercise]
    except KeyError:
        import difflib

        near = difflib.get_close_matches(exercise, EXERCISES, n=2)
        hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
        raise ValueError(f"unknown exercise {exercise!r}; valid: {', '.join(sorted(EXERCISES))}{hint}") from None


def spec_view(exercise: str) -> str:
    """The camera view the exercise's spec asks for ("side" or "front")."""
    return _program(exercise).view


def list_faults(exercise: str) -> tuple[str, ...]:
    """Fault ids one exercise can inject; ValueError listing valid exercises on a bad name."""
    return _program(exercise).fault_ids


def _resolve_side(program: ExerciseProgram, side: str | None) -> str:
    valid = ("left", "right", "both") if program.unilateral else ("both",)
    side = side or "both"
    if side not in valid:
        raise ValueError(f"side {side!r} is not valid for {program.id!r}; valid: {', '.join(valid)}")
    return side


def _resolve_view(program: ExerciseProgram, view, near: str) -> tuple[float, float]:
    """(azimuth, elevation) in degrees; azimuth 0 = the body's front/feet end, 90 = its left side."""
    sign = 1.0 if near == "left" else -1.0
    if isinstance(view, str):
        if view == "side":
            return 90.0 * sign, program.side_elevation_deg
        if view == "front":
            return program.front_azimuth_deg, program.side_elevation_deg
        if view == "oblique":
            return program.oblique_deg[0] * sign, program.oblique_deg[1]
        if view == "angled":
            if program.angled_deg is not None:
                return program.angled_deg[0] * sign, program.angled_deg[1]
            az = 90.0 - ANGLED_OFF_DEG if program.view == "side" else abs(program.front_azimuth_deg - ANGLED_OFF_DEG)
            return az * sign, max(program.side_elevation_deg, ANGLED_ELEVATION_DEG)
        raise ValueError(f"unknown view {view!r}; valid: {', '.join(VIEWS)} or (azimuth_deg, elevation_deg)")
    try:
        az, el = (float(v) for v in view)
    except (TypeError, ValueError):
        raise ValueError(f"view must be one of {', '.join(VIEWS)} or (azimuth_deg, elevation_deg); "
                         f"got {view!r}") from None
    if not -89.0 <= el <= 89.0:
        raise ValueError(f"elevation_deg must be within -89..89; got {el}")
    return az, el


def _image_direction(cam, origin: np.ndarray, direction: np.ndarray) -> str:
    """Name of the dominant image direction of a world vector drawn at ``origin``."""
    (p0, p1), (z0, z1) = cam.project(np.stack([origin, origin + 0.3 * direction]))
    dx, dy = p1 - p0
    dz = (z1 - z0) * cam.focal_px / max(z0, 1e-6)
    if max(abs(dx), abs(dy)) < 0.5 * abs(dz):
        return "toward" if dz < 0 else "away"
    if abs(dx) >= abs(dy):
        return "right" if dx > 0 else "left"
    return "down" if dy > 0 else "up"


def generate(exercise: str, *, reps: int = 5, side: str | None = None, fault: str | None = None,
             view: str | tuple[float, float] = "side", body_seed: int = 0, fps: float = 30.0,
             size: tuple[int, int] = (640, 480), rep_s: float | None = None, seed: int = 0,
             hold_s: float | None = None) -> Truth:
    """Ground truth of one clip: landmarks, angles, reps and faults; no pixels (cheap)."""
    program = _program(exercise)
    if fault is not None and fault not in program.fault_ids:
        raise ValueError(f"unknown fault {fault!r} for {exercise!r}; valid: {', '.join(program.fault_ids)}")
    if reps < 1:
        raise ValueError(f"reps must be >= 1; got {reps}")
    if fps <= 0 or size[0] < 16 or size[1] < 16:
        raise ValueError(f"need fps > 0 and size >= 16x16; got fps={fps}, size={size}")
    if rep_s is not None and rep_s <= 0.1:
        raise ValueError(f"rep_s must be > 0.1 s; got {rep_s}")
    if hold_s is not None and not 0 <= hold_s <= 300:
        raise ValueError(f"hold_s must be within 0..300 s; got {hold_s}")
    side = _resolve_side(program, side)
    plan = make_plan(program, reps, side, fault, rep_s, fps, seed, hold_s)
    body = BodyShape.from_seed(body_seed)
    motion = program.motion(body, plan)
    sk = forward_kinematics(body, motion.pose)
    lm3d = sk.landmarks_m

    near = plan.reps[0].side if program.unilateral else "left"
    az, el = _resolve_view(program, view, near)
    # frame every pose of the clip (tripod camera): landmarks plus the top of the head
    head_top = sk.joints["head"] + np.einsum("nij,j->ni", sk.frames["head"], [0, 0.075 * body.height_m, 0])
    pts = np.concatenate([lm3d[::3].reshape(-1, 3), head_top[::3]])
    cam = fit_camera(pts, az, el, (int(size[0]), int(size[1])))
    lm2d, depth = cam.project(lm3d)
    in_frame = (lm2d[..., 0] >= 0) & (lm2d[..., 0] < size[0]) & (lm2d[..., 1] >= 0) & (lm2d[..., 1] < size[1]) \
        & (depth > 0)

    sin_az = np.sin(np.radians(az))
    near_side = "left" if sin_az > 0.05 else "right" if sin_az < -0.05 else "none"
    mid = plan.t_s.size // 2
    rp = sk.frames["pelvis"][mid]
    centre = sk.joints["pelvis"][mid]
    view_info = ViewInfo(az, el, _image_direction(cam, centre, rp[:, 0]), near_side,
                         _image_direction(cam, centre, rp[:, 1]), cam.to_dict())

    angles = compute_angles(lm3d)
    drop = pelvis_drop_m(lm3d)
    t = plan.t_s
    rep_truth = []
    for r in plan.reps:
        k = int(np.clip(np.round(r.peak_s * fps), 0, t.size - 1))
        peak = {name: float(a[k]) for name, a in angles.items()}
        rep_truth.append(RepTruth(r.index, r.side, float(r.start_s), float(r.peak_s), float(r.end_s),
                                  float(r.hold_s), peak))

    fault_truth = []
    if fault is not None:
        spec = program.fault(fault)
        tops = top_windows(plan)
        for r, (a, b) in zip(plan.reps, tops):
            fs = motion.fault_side or "both"
            if fs == "working":
                fs = r.side
            who = r.side if r.side != "both" else fs
            # a fault on both sides names the side-less channel ("hip_flexion_deg" = left and right)
            metric = spec.metric.replace("{side}_", "" if who == "both" else f"{who}_")
            if who in ("left", "right"):
                metric = metric.replace("{other}_", f"{'right' if who == 'left' else 'left'}_")
            start, end = (r.start_s, r.end_s) if spec.window == "rep" else (a, b)
            fault_truth.append(FaultTruth(fault, fs, r.index, float(start), float(end), metric))

    by_side = {"left": 0, "right": 0, "both": 0}
    for r in plan.reps:
        by_side[r.side] += 1
    expected = {"reps_total": len(plan.reps), "reps_by_side": by_side, "faults": [fault] if fault else []}
    params = {"exercise": exercise, "reps": reps, "side": side, "fault": fault,
              "view": view if isinstance(view, str) else [az, el], "body_seed": body_seed, "fps": fps,
              "size": [int(size[0]), int(size[1])], "rep_s": rep_s, "hold_s": hold_s, "seed": seed}
    return Truth(
        exercise=exercise, fault=fault, params=params, view=view_info, fps=float(fps),
        size=(int(size[0]), int(size[1])), t_s=t, landmarks_2d_px=lm2d, landmarks_3d_m=lm3d, in_frame=in_frame,
        angles_deg=angles, pelvis_drop_m=drop, reps=tuple(rep_truth), holds=(), faults=tuple(fault_truth),
        expected=expected, keyframed=dict(motion.keyframed),
        scene=Scene(body, motion.pose, tuple(motion.props), cam),
    )


def _scene_of(truth: Truth) -> Scene:
    """The truth's scene; a truth read back from JSON is regenerated from its recorded params."""
    if truth.scene is not None:
        return truth.scene
    p = dict(truth.params)
    p.pop("exercise", None)
    view = p.pop("view")
    fresh = generate(truth.exercise, view=view if isinstance(view, str) else tuple(view),
                     size=tuple(p.pop("size")), **p)
    if fresh.n_frames != truth.n_frames or not np.allclose(fresh.landmarks_3d_m, truth.landmarks_3d_m, atol=1e-3):
        raise ValueError("cannot rebuild this clip's scene: the generator's output changed since it was written")
    return fresh.scene


def render_frames(truth: Truth, *, noise: float = 0.0, compression: int | None = None) -> Iterator[np.ndarray]:
    """Yield every frame as a uint8 BGR image (H,W,3); noise is a sigma in grey levels, compression a JPEG quality."""
    scene = _scene_of(truth)
    sk = forward_kinematics(scene.body, scene.pose)
    prims = body_primitives(scene.body, sk)
    sp, sr = shadow_samples(scene.body, sk)
    renderer = Renderer(scene.camera, scene.props, scene.room)
    rng = np.random.default_rng([truth.seed, 31337])
    for i in range(truth.n_frames):
        yield finish_image(renderer.render(prims, i, sp[i], sr), noise, compression, rng)


def render_clip(truth: Truth, out_path: Path, *, noise: float = 0.0, compression: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> Path:
    """Render every frame to a video (H.264 for .mp4, VP8 for .webm) and write the sidecar ``<stem>.json``.

    ``noise``: Gaussian sensor noise, sigma in grey levels (0-255); ``compression``: JPEG quality
    (e.g. 70) applied to each frame before encoding; ``progress(done, total)`` after each frame.
    """
    import cv2  # lazy: generating truth needs no OpenCV

    from formcheck.sinks import VIDEO_CODECS, VideoSink

    out_path = Path(out_path)
    suffix = out_path.suffix.lower()
    if suffix not in VIDEO_CODECS:
        raise ValueError(f"unsupported video suffix {suffix!r}; valid: {', '.join(VIDEO_CODECS)}")
    # The clip stands in for a camera: encode near-losslessly so the codec adds no artefacts of its own
    with VideoSink(out_path, truth.fps, truth.size, crf=SYNTH_VIDEO_CRF) as writer:
        n = truth.n_frames
        for i, frame in enumerate(render_frames(truth, noise=noise, compression=compression)):
            writer.update(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            if progress is not None:
                progress(i + 1, n)
    sidecar = truth.to_json().encode()
    atomic_write(out_path.with_suffix(".json"), lambda fh: fh.write(sidecar), binary=True)
    return out_path


def load_truth(path: Path) -> Truth:
    """Read a sidecar (``clip.json`` or ``clip.json.gz``, or the clip path whose sidecar it is)."""
    path = Path(path)
    if path.suffix not in (".json", ".gz"):
        plain = path.with_suffix(".json")
        path = plain if plain.exists() or not path.with_suffix(".json.gz").exists() else path.with_suffix(".json.gz")
    return Truth.load(path)
