"""The live loop against the model alone, side by side in one run on the same clip.

Prints, interleaved over a few rounds (so a busy machine slows both alike):
- model-only FPS: the pose model over the decoded frames, back to back;
- live-loop FPS: `formcheck live`'s threads (capture -> newest frame -> model -> evaluator) fed by
  a stand-in camera faster than the model, so inference is never starved; the ratio to model-only
  (goal >= 0.95), also with the overlay drawn as the window would;
- added latency per frame: capture-to-result time minus the model's own time (frame age when the
  model picks it up + evaluator and hand-offs);
- dropped-frame share, for that fast camera and for the clip played at its own rate, where the
  counts are compared with `analyze`'s.

    python benchmarks/live.py [CLIP] [--exercise bridge] [--variant full] [--camera-fps 60] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def fps_of(ends_s: list[float]) -> float:
    """Frames per second from completion times (the first frame only starts the clock)."""
    return (len(ends_s) - 1) / (ends_s[-1] - ends_s[0]) if len(ends_s) > 1 else float("nan")


def model_only(frames, model, variant) -> dict:
    """FPS, mean ms per frame and process CPU ms per frame of the model alone."""
    from formcheck.estimator import MediaPipePoseEstimator

    with MediaPipePoseEstimator(model, variant=variant) as est:
        est.estimate(frames[0])  # graph start-up outside the timing
        ends, costs = [], []
        cpu = time.process_time()
        for f in frames[1:]:
            t = time.monotonic()
            est.estimate(f)
            ends.append(time.monotonic())
            costs.append(ends[-1] - t)
        cpu = time.process_time() - cpu
    return {"fps": fps_of(ends), "model_ms": 1000 * float(np.mean(costs)), "cpu_ms": 1000 * cpu / len(costs)}


def camera(frames, fps: float, duration_s: float):
    """The clip looped as a camera delivering `fps` frames per second for `duration_s`."""
    from formcheck.sources import paced_frames
    from formcheck.types import Frame

    def looped():
        for i in range(int(duration_s * fps)):
            yield Frame(frames[i % len(frames)].image_rgb, i * 1000.0 / fps, i)

    return paced_frames(looped())


def live_loop(frames_iter, frames_warmup, model, variant, exercise, *, draw: bool):
    """Run the live loop headless; returns (outcome, live stats dict)."""
    from formcheck.estimator import MediaPipePoseEstimator
    from formcheck.live import LiveOptions, run_live
    from formcheck.live_routine import RoutineItem
    from formcheck.pipeline import build_evaluator
    from formcheck.types import SourceInfo

    with MediaPipePoseEstimator(model, variant=variant) as est:
        est.estimate(frames_warmup)  # graph start-up outside the timing, as for model-only
        with tempfile.TemporaryDirectory() as tmp:
            cpu = time.process_time()
            outcome = run_live(
                [RoutineItem(exercise)],
                lambda item: build_evaluator(item.exercise, item.side),
                frames_iter, est, source=SourceInfo(kind="camera"), out_dir=None,
                options=LiveOptions(setup=False, record_timings=True),
                screenshot=Path(tmp) / "last.png" if draw else None,  # composes every frame, as the window would
            )
            cpu = time.process_time() - cpu
    report = outcome.runs[0].report
    live = dict(report.source["live"], cpu_ms=1000 * cpu / max(1, report.source["live"]["frames_analysed"]))
    return outcome, live, report


def summarise(outcome) -> dict:
    t = np.array(outcome.timings[1:])  # captured, picked, estimated, result
    latency = (t[:, 3] - t[:, 0]) * 1000
    model = (t[:, 2] - t[:, 1]) * 1000
    return {
        "fps": fps_of(list(t[:, 3])),
        "latency_ms": float(np.mean(latency)),
        "model_ms": float(np.mean(model)),
        "added_ms": float(np.mean(latency - model)),
        "age_ms": float(np.mean((t[:, 1] - t[:, 0]) * 1000)),
        "after_ms": float(np.mean((t[:, 3] - t[:, 2]) * 1000)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", nargs="?", type=Path, default=ROOT / "sample_videos" / "bridge_correct.mp4")
    ap.add_argument("--exercise", default="bridge")
    ap.add_argument("--variant", default="full")
    ap.add_argument("--camera-fps", type=float, default=30.0, help="the stand-in camera's rate; above the model's")
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()

    from formcheck.models import resolve_model
    from formcheck.pipeline import analyze, build_evaluator
    from formcheck.sources import paced_frames, probe_video, video_frames

    info = probe_video(args.clip)
    model = resolve_model(args.variant)
    frames = list(video_frames(args.clip, max_side_px=960))
    print(f"{args.clip.name}: {len(frames)} frames {info.width_px}x{info.height_px} at {info.fps:g} fps; "
          f"model {args.variant}; stand-in camera {args.camera_fps:g} fps; {args.rounds} rounds")

    rows = {"model": [], "live": [], "drawn": []}
    ratios = {"live": [], "drawn": []}
    for r in range(args.rounds):
        m = model_only(frames, model, args.variant)
        rows["model"].append(m)
        duration = len(frames) / m["fps"]  # about as many analysed frames as model-only
        for key, draw in (("live", False), ("drawn", True)):
            outcome, live, _ = live_loop(camera(frames, args.camera_fps, duration), frames[0], model, args.variant,
                                         args.exercise, draw=draw)
            rows[key].append({**summarise(outcome), "dropped": live["dropped_fraction"], "cpu_ms": live["cpu_ms"]})
            ratios[key].append(rows[key][-1]["fps"] / m["fps"])
        print(f"  round {r + 1}: model {m['fps']:5.1f} fps  live {rows['live'][-1]['fps']:5.1f} fps "
              f"(ratio {ratios['live'][-1]:.2f})  live+overlay {rows['drawn'][-1]['fps']:5.1f} fps "
              f"(ratio {ratios['drawn'][-1]:.2f})")

    def med(key, field):
        return statistics.median(row[field] for row in rows[key])

    print()
    print(f"{'median of rounds':28} {'FPS':>6} {'ratio':>6} {'latency ms':>11} {'model ms':>9} {'added ms':>9} "
          f"{'CPU ms/fr':>10} {'dropped':>8}")
    print(f"{'model only':28} {med('model', 'fps'):6.1f} {1.0:6.2f} {'':>11} {med('model', 'model_ms'):9.1f} "
          f"{'':>9} {med('model', 'cpu_ms'):10.1f}")
    for key, label in (("live", "live loop (headless)"), ("drawn", "live loop + overlay drawn")):
        print(f"{label:28} {med(key, 'fps'):6.1f} {statistics.median(ratios[key]):6.2f} {med(key, 'latency_ms'):11.1f} "
              f"{med(key, 'model_ms'):9.1f} {med(key, 'added_ms'):9.1f} {med(key, 'cpu_ms'):10.1f} {med(key, 'dropped'):8.0%}")
    print(f"  ratio = live FPS / model-only FPS of the same round; added latency = frame age when the model picks "
          f"it up ({med('live', 'age_ms'):.1f} ms) + evaluator and hand-offs after it ({med('live', 'after_ms'):.1f} ms)")
    print(f"  dropped: the {args.camera_fps:g} fps camera outpaces the model, so the frames it cannot take are skipped")

    # the clip at its own rate, as `formcheck live --source` plays it, against `analyze`
    outcome, live, report = live_loop(paced_frames(iter(frames)), frames[0], model, args.variant, args.exercise,
                                      draw=False)
    s = summarise(outcome)
    spec, ev = build_evaluator(args.exercise, None)
    with tempfile.TemporaryDirectory() as tmp:
        offline = analyze(args.clip, spec, ev, Path(tmp), model_path=model, variant=args.variant)
    print()
    print(f"at the clip's own {info.fps:g} fps: {live['frames_analysed']}/{live['frames_captured']} frames analysed, "
          f"dropped {live['dropped_fraction']:.1%}, latency {s['latency_ms']:.0f} ms "
          f"(model {s['model_ms']:.0f} + added {s['added_ms']:.1f}); "
          f"reps live {report.reps_by_side} vs analyze {offline.reps_by_side}")
    print(f"RATIO live/model FPS = {statistics.median(ratios['live']):.3f} (goal >= 0.95); "
          f"with overlay {statistics.median(ratios['drawn']):.3f}; added latency {med('live', 'added_ms'):.1f} ms/frame; "
          f"dropped share {med('live', 'dropped'):.0%} at {args.camera_fps:g} fps, {live['dropped_fraction']:.0%} at {info.fps:g} fps")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
