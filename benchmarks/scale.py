"""How formcheck scales, measured side by side in one run: batch workers, clip length, start-up.

Prints numbers and ratios, never a pass or fail (the machine's load is part of every number,
so the load average is printed with them):

  batch    the same sample clips through run_batch with 1 worker, then 2; wall times, their ratio,
           and whether both runs counted the same reps on every clip.
  memory   peak RSS of `formcheck analyze` on a long clip against a short one (a sample clip
           looped), each in a fresh process; wall times and real-time factors.
  startup  import cost, time from command to first analysed frame, model load and first
           estimate() through the estimator API, and start-up as a share of a short clip's analysis.

    python benchmarks/scale.py [--only batch|memory|startup] [--clips 8] [--video none|embed]
                               [--long-min 30] [--short-min 1] [--clip bridge_correct.mp4]
                               [--variant full]

Looped and cut clips are cached in benchmarks/.cache/scale.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_videos"
CACHE = ROOT / "benchmarks" / ".cache" / "scale"
PARTS = ("batch", "memory", "startup")
IMPORT_RUNS = 3  # interpreter start-up is short and noisy: best of a few


# --- shared helpers ------------------------------------------------------------------------------


def load_manifest() -> list[dict]:
    return json.loads((SAMPLES / "manifest.json").read_text(encoding="utf-8"))


def dose_of(entry: dict) -> dict:
    """The manifest's analyze_args (--hold 5, ...) as plan_jobs keywords: reps, hold_s, side."""
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--reps", type=int)
    ap.add_argument("--hold", type=float, dest="hold_s")
    ap.add_argument("--side")
    known, rest = ap.parse_known_args(entry.get("analyze_args", []))
    if rest:
        raise SystemExit(f"{entry['clip']}: analyze_args {rest} not understood by this benchmark")
    return vars(known)


def dose_args(dose: dict) -> list[str]:
    """The same dose as `formcheck analyze` options."""
    out = []
    for key, flag in (("reps", "--reps"), ("hold_s", "--hold"), ("side", "--side")):
        if dose.get(key) is not None:
            out += [flag, f"{dose[key]:g}" if isinstance(dose[key], float) else str(dose[key])]
    return out


def pick_clips(entries: list[dict], n: int) -> list[dict]:
    """n clips spread evenly over the manifest, which lists rep exercises first, then holds.

    Evenly spaced picks mix exercises, side and front views, correct and faulty clips, rep
    counting and hold timing, without hand-picking.
    """
    n = max(1, min(n, len(entries)))
    return [entries[(2 * i + 1) * len(entries) // (2 * n)] for i in range(n)]


def manifest_entry(clip: str) -> dict:
    for entry in load_manifest():
        if entry["clip"] == clip:
            return entry
    raise SystemExit(f"{clip} is not in {SAMPLES / 'manifest.json'}")


def load_line() -> str:
    cpus = os.cpu_count()
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "n/a"
    return f"cpus: {cpus}; load average (1, 5, 15 min): {load}"


def header(title: str, args: argparse.Namespace) -> None:
    print(f"\n== {title} ==")
    print("command:", shlex.join(["python", "benchmarks/scale.py", *args.argv]))
    print(load_line(), flush=True)


def looped_clip(src: Path, seconds: float) -> Path:
    """`src` played on a loop (or cut) to `seconds`, cached; same size and frame rate as `src`.

    Stream copy is instant and keeps the frames bit-identical; re-encoding is the fallback
    for a file whose packets cannot be copied across the loop seams.
    """
    import imageio_ffmpeg

    from formcheck.sources import probe_video

    out = CACHE / f"{src.stem}-{seconds:g}s.mp4"
    if out.is_file():
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    want = probe_video(src)
    part = out.with_name(out.stem + ".part.mp4")
    head = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", "-1", "-i", str(src),
            "-t", f"{seconds:g}", "-an"]
    codecs = (["-c", "copy"],
              ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-r", f"{want.fps:g}"])
    errors = []
    for codec in codecs:
        done = subprocess.run([*head, *codec, str(part)], capture_output=True, text=True)
        if done.returncode == 0:
            got = probe_video(part)
            # the container must say what the analysis will see: the size, rate and length asked for
            if ((got.width_px, got.height_px) == (want.width_px, want.height_px) and abs(got.fps - want.fps) < 0.01
                    and got.duration_s is not None and abs(got.duration_s - seconds) <= 2.5 / want.fps):
                os.replace(part, out)
                return out
            errors.append(f"{codec[1]}: got {got}")
        else:
            errors.append(f"{codec[1]}: {done.stderr.strip()[-300:]}")
    part.unlink(missing_ok=True)
    raise SystemExit(f"cannot make a {seconds:g} s clip from {src}:\n  " + "\n  ".join(errors))


_FORMCHECK: list[str] | None = None


def formcheck_command() -> list[str]:
    """`python -m formcheck` with this interpreter, else the console script installed beside it."""
    global _FORMCHECK
    if _FORMCHECK is None:
        candidates = ([sys.executable, "-m", "formcheck"], [str(Path(sys.executable).parent / "formcheck")])
        for cmd in candidates:
            try:
                if subprocess.run([*cmd, "--version"], capture_output=True).returncode == 0:
                    _FORMCHECK = cmd
                    break
            except OSError:
                continue
        else:
            raise SystemExit("cannot run formcheck: neither `python -m formcheck` nor the formcheck script works")
    return _FORMCHECK


def measured(cmd: list[str]) -> tuple[float, float, str]:
    """Run `cmd`; (wall seconds, peak RSS MiB of that process alone, its stderr).

    os.wait4 returns the rusage of the one child it reaps, so each measurement is that child's
    own peak; RUSAGE_CHILDREN would be the maximum over every child this script has run.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)  # files, not pipes: nothing to drain while waiting
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {shlex.join(cmd)}\n{stderr.strip()[-1000:]}")
    # ru_maxrss is KiB on Linux, bytes on macOS
    mib = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    return wall, mib, stderr


def analyze_run(clip: Path, entry: dict, variant: str) -> dict:
    """`formcheck analyze` on `clip` in a fresh process: wall s, peak RSS MiB, frames analysed."""
    with tempfile.TemporaryDirectory(prefix="formcheck-scale-") as tmp:
        cmd = [*formcheck_command(), "analyze", str(clip), "-e", entry["exercise"], *dose_args(dose_of(entry)),
               "-o", tmp, "-q", "--variant", variant]
        wall, mib, _ = measured(cmd)
        report = json.loads((Path(tmp) / "report.json").read_text(encoding="utf-8"))
    return {"wall_s": wall, "rss_mib": mib, "frames": report["quality"]["frames"], "cmd": cmd}


def clip_seconds(clip: Path) -> float:
    from formcheck.sources import probe_video

    info = probe_video(clip)
    return info.duration_s or (info.frame_count or 0) / info.fps


# --- the parts -----------------------------------------------------------------------------------


def part_batch(args: argparse.Namespace) -> None:
    """1 worker against 2 on the same clips, each run into a fresh output folder and history."""
    from formcheck.batch import BatchOptions, plan_jobs, run_batch
    from formcheck.history import History

    entries = pick_clips(load_manifest(), args.clips)
    jobs = []
    for entry in entries:
        planned, _ = plan_jobs([SAMPLES / entry["clip"]], exercise=entry["exercise"], **dose_of(entry))
        jobs.extend(planned)
    total_s = sum(clip_seconds(j.path) for j in jobs)

    header("batch: run_batch with 1 worker, then 2, on the same clips", args)
    print(f"clips: {len(jobs)} ({total_s:.0f} s of video): {', '.join(j.path.name for j in jobs)}")
    print(f"video: {args.video}; model: {args.variant}", flush=True)
    walls: dict[int, float] = {}
    counts: dict[int, list] = {}
    for workers in (1, 2):
        # fresh folder and database: nothing skipped as already analysed
        with tempfile.TemporaryDirectory(prefix="formcheck-scale-") as tmp:
            history = History(Path(tmp) / "history.sqlite3")
            options = BatchOptions(out_dir=Path(tmp) / "out", workers=workers, variant=args.variant, video=args.video)
            try:
                t = time.perf_counter()
                summary = run_batch(jobs, options, history)
                walls[workers] = time.perf_counter() - t
            finally:
                history.close()
        counts[workers] = [(r.job.path.name, r.status, r.reps_by_side) for r in summary.results]
        failed = [f"{r.job.path.name}: {r.error}" for r in summary.results if r.status != "analysed"]
        print(f"{workers} worker{'s' if workers > 1 else ' '}  {walls[workers]:7.1f} s wall, "
              f"{summary.count('analysed')}/{len(jobs)} analysed, "
              f"real-time factor {total_s / walls[workers]:.2f}x", flush=True)
        for line in failed:
            print(f"  not analysed: {line}")
    print(f"1-worker time / 2-worker time: {walls[1] / walls[2]:.2f}")
    same = counts[1] == counts[2]
    print(f"identical counts: {'yes' if same else 'no'}")
    if not same:
        for (name, s1, c1), (_, s2, c2) in zip(counts[1], counts[2]):
            if (s1, c1) != (s2, c2):
                print(f"  {name}: 1 worker {s1} {c1}; 2 workers {s2} {c2}")


def part_memory(args: argparse.Namespace) -> None:
    """Peak RSS of analysing a long clip against a short one, each in a fresh process."""
    entry = manifest_entry(args.clip)
    src = SAMPLES / args.clip
    clips = {"short": looped_clip(src, args.short_min * 60), "long": looped_clip(src, args.long_min * 60)}

    header("memory: peak RSS of `formcheck analyze`, long clip against short, fresh process each", args)
    print(f"clip: {args.clip} looped ({entry['exercise']}); model: {args.variant}")
    runs: dict[str, dict] = {}
    for name, clip in clips.items():
        seconds = clip_seconds(clip)
        if name == "long":
            expect_s = runs["short"]["wall_s"] * seconds / clip_seconds(clips["short"])
            print(f"(the long run takes about {expect_s / 60:.1f} min at the short run's rate)", flush=True)
        run = runs[name] = analyze_run(clip, entry, args.variant)
        if name == "short":
            print("child:", shlex.join(run["cmd"]))
        print(f"{name:5s} {seconds / 60:5.1f} min {run['frames']:6d} frames  peak RSS {run['rss_mib']:7.1f} MiB  "
              f"wall {run['wall_s']:7.1f} s  real-time factor {seconds / run['wall_s']:6.2f}x", flush=True)
    print(f"peak RSS long / short: {runs['long']['rss_mib'] / runs['short']['rss_mib']:.3f}")


def part_startup(args: argparse.Namespace) -> None:
    """Command to first analysed frame, from a 1-second and a short clip; model load on its own."""
    entry = manifest_entry(args.clip)
    src = SAMPLES / args.clip
    tiny, short = looped_clip(src, 1), looped_clip(src, args.short_min * 60)

    header("start-up: time from command to first analysed frame", args)

    def row(tag: str, label: str, seconds: float, note: str) -> None:
        print(f"{tag:3s} {label:<34s} {seconds:7.2f} s  ({note})", flush=True)

    bare = min(measured([sys.executable, "-c", "pass"])[0] for _ in range(IMPORT_RUNS))
    imported = min(measured([sys.executable, "-c", "import formcheck.cli"])[0] for _ in range(IMPORT_RUNS))
    row("(a)", "python -c pass", bare, f"best of {IMPORT_RUNS}")
    row("", 'python -c "import formcheck.cli"', imported, f"best of {IMPORT_RUNS}; import cost {imported - bare:.2f} s")
    b = analyze_run(tiny, entry, args.variant)
    row("(b)", f"analyze, {clip_seconds(tiny):g} s clip", b["wall_s"], f"{b['frames']} frames")
    c = analyze_run(short, entry, args.variant)
    row("(c)", f"analyze, {clip_seconds(short) / 60:g} min clip", c["wall_s"], f"{c['frames']} frames")
    # the two runs differ only in frames analysed, so their difference is the per-frame cost
    # and what the short run spends beyond its frames is the fixed start-up
    per_frame = (c["wall_s"] - b["wall_s"]) / max(c["frames"] - b["frames"], 1)
    first = b["wall_s"] - b["frames"] * per_frame
    print(f"per analysed frame, ((c) - (b)) / {c['frames'] - b['frames']} frames: {1000 * per_frame:.1f} ms")
    print(f"time to first frame, (b) - {b['frames']} x per frame: {first:.2f} s")
    print(f"start-up / {clip_seconds(short) / 60:g}-minute clip's analysis time: {first / c['wall_s']:.3f}", flush=True)

    # in a fresh interpreter, after the children (one model at a time): the batch part may
    # already have imported MediaPipe into this one
    cmd = [sys.executable, str(Path(__file__).resolve()), "--model-timings", "--clip", args.clip, "--variant", args.variant]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {shlex.join(cmd)}\n{done.stderr.strip()[-1000:]}")
    m = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"estimator API, fresh interpreter: import mediapipe {m['import_s']:.2f} s, model load (MediaPipePoseEstimator) {m['load_s']:.2f} s, "
          f"first estimate() {m['first_s']:.3f} s, later estimate() {m['later_s']:.3f} s (median of {m['later_n']})")


def model_timings(args: argparse.Namespace) -> dict:
    """In this (fresh) process: import MediaPipe, load the model, first and later estimate() calls."""
    from formcheck.models import resolve_model
    from formcheck.sources import video_frames

    frames = [f for f, _ in zip(video_frames(SAMPLES / args.clip, max_side_px=960, max_fps=10.0), range(12))]
    t = time.perf_counter()
    importlib.import_module("mediapipe.tasks.python.vision")  # the import the estimator does first

    import_s = time.perf_counter() - t
    from formcheck.estimator import MediaPipePoseEstimator

    t = time.perf_counter()
    est = MediaPipePoseEstimator(resolve_model(args.variant), variant=args.variant)
    load_s = time.perf_counter() - t
    try:
        t = time.perf_counter()
        est.estimate(frames[0])
        first_s = time.perf_counter() - t
        later = []
        for frame in frames[1:]:
            t = time.perf_counter()
            est.estimate(frame)
            later.append(time.perf_counter() - t)
    finally:
        est.close()
    return {"import_s": import_s, "load_s": load_s, "first_s": first_s,
            "later_s": statistics.median(later), "later_n": len(later)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=PARTS, help="run one part [default: all]")
    ap.add_argument("--clips", type=int, default=8, help="sample clips in the batch part")
    ap.add_argument("--video", choices=("none", "embed"), default="none",
                    help="batch review video: none measures the analysis alone")
    ap.add_argument("--long-min", type=float, default=30.0, help="long clip, minutes (memory)")
    ap.add_argument("--short-min", type=float, default=1.0, help="short clip, minutes (memory, start-up)")
    ap.add_argument("--clip", default="bridge_correct.mp4", help="sample clip looped for memory and start-up")
    ap.add_argument("--variant", default="full")
    ap.add_argument("--model-timings", action="store_true", help=argparse.SUPPRESS)  # the start-up part's child
    args = ap.parse_args()
    args.argv = sys.argv[1:]
    if args.model_timings:
        print(json.dumps(model_timings(args)))
        return 0

    parts = {"batch": part_batch, "memory": part_memory, "startup": part_startup}
    for name in ([args.only] if args.only else PARTS):
        parts[name](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
