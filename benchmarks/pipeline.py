"""Where the time goes, measured side by side in one run on the same clips.

For each clip, at the default settings (the analysis rate of `formcheck analyze`): the per-frame
cost of decoding, the model alone, the evaluator alone and the overlay, each on its own; then
`analyze` end to end. Prints the two ratios that matter:

- pipeline overhead: analyze's steady per-frame time (first analysed frame to last, so model
  loading is left out and reported as start-up) against the model alone on the same frames;
- offline real-time factor: clip duration / analyze's whole wall time (start-up included).

Default clips: a bundled sample (480x360, 10 fps) and a rendered 640x480, 30 fps bridge (cached in
benchmarks/.cache/pipeline), the shape of a webcam or phone recording.

Shared machines drift by 10% from minute to minute, so each clip gets several rounds, each
round measuring the model alone and analyze back to back, and the fastest of each is kept.

    python benchmarks/pipeline.py [CLIP ...] [--exercise bridge] [--variant full] [--repeat 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache" / "pipeline"


def per_frame_ms(seconds: float, frames: int) -> float:
    return 1000 * seconds / max(frames, 1)


def webcam_like_clip() -> Path:
    """A 640x480, 30 fps rendered bridge (3 reps), made once."""
    from formcheck import synth

    out = CACHE / "bridge-640x480-30fps.mp4"
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        truth = synth.generate("bridge", reps=3, view=synth.spec_view("bridge"), fps=30.0, size=(640, 480))
        synth.render_clip(truth, out)
    return out


def measure(clip: Path, exercise: str, variant: str) -> dict:
    """One pass of every measurement on `clip`; seconds and frame counts."""
    from formcheck.defaults import DEFAULT_ANALYSIS_FPS
    from formcheck.estimator import MediaPipePoseEstimator
    from formcheck.evaluator import ExerciseEvaluator
    from formcheck.models import resolve_model
    from formcheck.pipeline import analyze, build_evaluator
    from formcheck.render import OverlayRenderer
    from formcheck.sources import probe_video, video_frames
    from formcheck.spec import load_spec

    info = probe_video(clip)
    model = resolve_model(variant)
    spec = load_spec(exercise)

    t = time.perf_counter()
    frames = list(video_frames(clip, max_side_px=960, max_fps=DEFAULT_ANALYSIS_FPS))
    decode_s = time.perf_counter() - t  # every frame of the clip is decoded; only the analysed ones converted
    n = len(frames)

    t = time.perf_counter()
    est = MediaPipePoseEstimator(model, variant=variant)
    poses = [est.estimate(frames[0])]
    load_s = time.perf_counter() - t  # model load and the graph's first run: start-up, not per-frame cost
    t = time.perf_counter()
    poses += [est.estimate(f) for f in frames[1:]]
    model_s = time.perf_counter() - t
    est.close()

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

    ticks: list[float] = []
    with tempfile.TemporaryDirectory() as out:
        spec2, ev2 = build_evaluator(exercise, None)
        t = time.perf_counter()
        analyze(clip, spec2, ev2, Path(out), model_path=model, variant=variant,
                progress=lambda done, total: ticks.append(time.perf_counter()))
        end = time.perf_counter()
    # a tick is taken as each frame is handed to the model: tick k+1 - tick k is frame k's whole cost
    return {
        "clip": clip, "info": info, "n": n, "decode_s": decode_s, "load_s": load_s, "model_s": model_s,
        "evaluate_s": evaluate_s, "draw_s": draw_s, "steady_s": ticks[-1] - ticks[0], "steady_n": len(ticks) - 1,
        "startup_s": ticks[0] - t, "finish_s": end - ticks[-1], "analyze_s": end - t,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*", type=Path)
    ap.add_argument("--exercise", default="bridge")
    ap.add_argument("--variant", default="full")
    ap.add_argument("--repeat", type=int, default=4, help="rounds per clip; the fastest of each measurement is kept")
    args = ap.parse_args()
    from formcheck.defaults import DEFAULT_ANALYSIS_FPS

    clips = args.clips or [ROOT / "sample_videos" / "bridge_correct.mp4", webcam_like_clip()]
    print(f"model: {args.variant}; analysis rate: {DEFAULT_ANALYSIS_FPS:g} fps (the default); fastest of {args.repeat} rounds")
    for clip in clips:
        runs = [measure(clip, args.exercise, args.variant) for _ in range(max(1, args.repeat))]
        best = {k: min(r[k] for r in runs) if k.endswith("_s") else runs[0][k] for k in runs[0]}
        info, n = best["info"], best["n"]
        duration_s = (info.frame_count or n) / info.fps
        model_ms = per_frame_ms(best["model_s"], n - 1)
        steady_ms = per_frame_ms(best["steady_s"], best["steady_n"])
        print(f"\n{clip.name}: {info.width_px}x{info.height_px}, {info.fps:g} fps, {duration_s:.1f} s; {n} frames analysed")
        print(f"  decode (all frames)   {per_frame_ms(best['decode_s'], n):7.2f} ms per analysed frame (in a thread in analyze)")
        print(f"  model only            {model_ms:7.2f} ms/frame")
        print(f"  evaluator only        {per_frame_ms(best['evaluate_s'], n):7.2f} ms/frame")
        print(f"  overlay drawing       {per_frame_ms(best['draw_s'], n):7.2f} ms/frame (only with --annotate)")
        print(f"  analyze, steady       {steady_ms:7.2f} ms/frame")
        print(f"  analyze, start-up     {best['startup_s']:7.2f} s to the first frame (model load alone: {best['load_s']:.2f} s)")
        print(f"  analyze, report files {best['finish_s'] * 1000:7.1f} ms after the last frame")
        print(f"  pipeline overhead (analyze steady / model only - 1): {steady_ms / model_ms - 1:+.1%} "
              f"(the evaluator alone: {per_frame_ms(best['evaluate_s'], n) / model_ms:.1%})")
        print(f"  offline real-time factor (clip duration / whole analyze time): {duration_s / best['analyze_s']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
