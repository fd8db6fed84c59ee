"""Where the time goes, measured side by side in one run on the same clip.

Prints per-frame costs of decoding, the model alone, the evaluator alone and the overlay, the
end-to-end `analyze` time, and the ratios that matter: pipeline overhead against model time and
the offline real-time factor (clip duration / analysis time).

    python benchmarks/pipeline.py [CLIP] [--exercise bridge] [--variant full]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def per_frame_ms(seconds: float, frames: int) -> float:
    return 1000 * seconds / max(frames, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", nargs="?", type=Path, default=ROOT / "sample_videos" / "bridge_correct.mp4")
    ap.add_argument("--exercise", default="bridge")
    ap.add_argument("--variant", default="full")
    args = ap.parse_args()

    from formcheck.estimator import MediaPipePoseEstimator
    from formcheck.evaluator import ExerciseEvaluator
    from formcheck.models import resolve_model
    from formcheck.pipeline import analyze, build_evaluator
    from formcheck.render import OverlayRenderer
    from formcheck.sources import probe_video, video_frames
    from formcheck.spec import load_spec

    info = probe_video(args.clip)
    model = resolve_model(args.variant)
    spec = load_spec(args.exercise)

    t = time.perf_counter()
    frames = list(video_frames(args.clip, max_side_px=960))
    decode_s = time.perf_counter() - t
    n = len(frames)

    with MediaPipePoseEstimator(model, variant=args.variant) as est:
        est.estimate(frames[0])  # load and warm up outside the timing
    with MediaPipePoseEstimator(model, variant=args.variant) as est:
        t = time.perf_counter()
        poses = [est.estimate(f) for f in frames]
        model_s = time.perf_counter() - t

    ev = ExerciseEvaluator(spec)
    t = time.perf_counter()
    results = [ev.update(p) for p in poses]
    ev.finish()
    evaluate_s = time.perf_counter() - t

    renderer = OverlayRenderer(spec)
    t = time.perf_counter()
    for f, r in zip(frames, results):
        renderer.update(f.image_rgb, r)
    draw_s = time.perf_counter() - t

    with tempfile.TemporaryDirectory() as out:
        spec2, ev2 = build_evaluator(args.exercise, None)
        t = time.perf_counter()
        analyze(args.clip, spec2, ev2, Path(out), model_path=model, variant=args.variant)
        end_to_end_s = time.perf_counter() - t

    duration_s = n / info.fps if info.fps else float("nan")
    print(f"clip: {args.clip.name}, {n} frames, {info.width_px}x{info.height_px}, {duration_s:.1f} s; model: {args.variant}")
    print(f"decode            {per_frame_ms(decode_s, n):7.2f} ms/frame")
    print(f"model only        {per_frame_ms(model_s, n):7.2f} ms/frame")
    print(f"evaluator only    {per_frame_ms(evaluate_s, n):7.2f} ms/frame")
    print(f"overlay drawing   {per_frame_ms(draw_s, n):7.2f} ms/frame (only with --annotate)")
    print(f"analyze, end to end {per_frame_ms(end_to_end_s, n):5.2f} ms/frame (includes model load)")
    print(f"evaluator / model: {evaluate_s / model_s:.3f}")
    print(f"end to end / (decode + model): {end_to_end_s / (decode_s + model_s):.3f}")
    print(f"offline real-time factor (clip duration / analyze time): {duration_s / end_to_end_s:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
