"""Counts on the hand-counted real clips in ../shared/clips, planned from catalog.csv.

Every clip whose `formcheck_exercise` names a spec is analysed with that spec and the clip's
`hold_s` as the prescription, as a clinician would; every clip is also analysed with two specs of
other postures, which must count 0 (negatives). The totals give the clips of hold specs apart
("holds"), with how far each counted rep's hold time is from the catalog's. Beside formcheck, a naive counter written here
(the spec's driver angle, raw, two fixed thresholds, no smoothing or gating) counts the same
poses. Poses come from the full model once per clip, cached in benchmarks/.cache/poses.

    python benchmarks/real_clips.py [--clips ../shared/clips] [--analysis-fps 15] [--only NAME ...] [--mirror]
    [--speed 1.5] [--start-before-first-rep 0.1] [--jitter 0.03] [--other-side-after 2] [--hold spec|0]

``--mirror`` runs every clip flipped left-right (copies made once in benchmarks/.cache/mirrored),
with the catalogue's left and right counts exchanged: the same people facing the other way, so a
count that changes shows a rule that depends on the direction the person faces, not on the movement.
``--speed`` plays every clip faster (or slower, below 1), the prescribed hold with it: people do the
same exercise at their own pace.
``--start-before-first-rep S`` cuts the start of every clip whose notes give its first rep's start
(``first_rep_within_0.5s=no (~X s)``) so that it begins S seconds before that rep, as if the person
pressed record just then; the other clips are left out, and the truth is unchanged.
``--jitter F`` adds Gaussian noise to every landmark, F torso lengths in the image (the clip's median
shoulders-to-hips distance) and F x 0.5 m in 3D, drawn anew each frame from a seed per clip: a
shakier model, a lower-resolution or darker camera than these clips had.
``--other-side-after S`` follows every clip with S seconds of nobody in view and then the clip
mirrored (the model run on the flipped frames): the same set done again with the other leg, as a
patient does both sides in one recording. The truth doubles, each side getting the other's reps too.
``--hold spec`` leaves every clip at its spec's own prescribed hold (30 s for most stretches and
holds, as a clinician who sets nothing), ``--hold S`` prescribes S seconds for every clip: the count
must not depend on the prescription, only the short_hold faults may.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache" / "poses"
MIRRORED = ROOT / "benchmarks" / ".cache" / "mirrored"

# Two specs of other postures per posture: the ones a clinician could pick by mistake and that a
# posture gate must tell apart (side-lying from supine, quadruped from supine, lying from upright).
NEGATIVES = {
    "standing": ("bridge", "clamshell"),
    "sitting": ("bridge", "clamshell"),
    "kneeling": ("bridge", "clamshell"),
    "supine": ("clamshell", "quadruped_hip_extension"),
    "side_lying": ("bridge", "quadruped_hip_extension"),
    "quadruped": ("bridge", "clamshell"),
    "prone": ("bridge", "clamshell"),
    "any": ("bridge", "clamshell"),
}


@dataclass(frozen=True)
class Count:
    total: int
    left: int
    right: int


def poses_for(clip: Path, analysis_fps: float | None) -> Path:
    """The clip's poses, from the cache or from one run of the full model."""
    from formcheck.pipeline import save_poses

    out = CACHE / (f"{clip.name}.npz" if analysis_fps is None else f"{clip.name}.a{analysis_fps:g}.npz")
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        save_poses(clip, out, analysis_fps=analysis_fps)
    return out


def then_after_a_gap(first: list, then: list, gap_s: float) -> list:
    """``first``, ``gap_s`` of frames with nobody found, then ``then`` (its clock moved on to follow)."""
    from formcheck.types import PoseSample

    if not first or not then:
        return first + then
    step_ms = float(np.median(np.diff([p.timestamp_ms for p in first]))) if len(first) > 1 else 1000 / 15
    nobody = np.full((33, 3), np.nan)
    gap = [PoseSample(first[-1].timestamp_ms + k * step_ms, nobody, nobody, np.zeros(33), first[-1].frame_size_px)
           for k in range(1, int(gap_s * 1000 / step_ms) + 1)]
    t0_ms = (gap[-1].timestamp_ms if gap else first[-1].timestamp_ms) + step_ms - then[0].timestamp_ms
    return first + gap + [replace(p, timestamp_ms=p.timestamp_ms + t0_ms) for p in then]


def jittered(poses: list, fraction: float, seed: int) -> list:
    """The poses with Gaussian noise on every landmark: ``fraction`` of the median torso length in
    the image, ``fraction`` x 0.5 m in 3D (a torso's length), independent per frame."""
    from formcheck.skeleton import Landmark as L

    rng = np.random.default_rng(seed)
    shoulders = [(p.image_xyz_px[L.LEFT_SHOULDER, :2] + p.image_xyz_px[L.RIGHT_SHOULDER, :2]) / 2 for p in poses]
    hips = [(p.image_xyz_px[L.LEFT_HIP, :2] + p.image_xyz_px[L.RIGHT_HIP, :2]) / 2 for p in poses]
    torso_px = float(np.nanmedian([np.linalg.norm(s - h) for s, h in zip(shoulders, hips)] or [np.nan]))
    if not np.isfinite(torso_px):
        return poses  # nobody seen: nothing to shake
    return [replace(p, image_xyz_px=p.image_xyz_px + rng.normal(0, fraction * torso_px, p.image_xyz_px.shape),
                    world_xyz_m=p.world_xyz_m + rng.normal(0, fraction * 0.5, p.world_xyz_m.shape))
            for p in poses]


def mirrored(clip: Path) -> Path:
    """The clip flipped left-right, made once (written aside, then moved into place)."""
    import cv2

    out = MIRRORED / f"mirrored_{clip.name}"
    if out.exists():
        return out
    MIRRORED.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f"part_{out.name}")
    cap = cv2.VideoCapture(str(clip))
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    writer = cv2.VideoWriter(str(part), cv2.VideoWriter_fourcc(*"mp4v"), cap.get(cv2.CAP_PROP_FPS), size)
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        writer.write(cv2.flip(frame, 1))
    writer.release()
    cap.release()
    part.replace(out)
    return out


def formcheck_count(poses: list, spec):
    """The count per side, and the session report (its reps' hold times go in the holds line)."""
    from formcheck.evaluator import ExerciseEvaluator

    ev = ExerciseEvaluator(spec)
    for pose in poses:
        ev.update(pose)
    report = ev.finish()
    by_side = report.reps_by_side
    total = sum(by_side.values())
    return Count(total, by_side.get("left", 0), by_side.get("right", 0)), report


def naive_count(poses: list, spec) -> Count:
    """One angle, two fixed thresholds: the spec's driver, raw, per side; no smoothing or gating.

    The thresholds are the spec's own enter and exit excursions from the clip's rest level (the
    10th percentile toward rest of the whole clip), fixed for the clip. A spec counted either way
    (``direction: either``) is counted one way, fixed for the clip by a plain rule: the way the
    driver first moves the enter excursion away from its median over the clip.
    """
    from formcheck.features import FeatureExtractor
    from formcheck.types import feature_value

    fx = FeatureExtractor(spec)
    sides = ("left", "right") if spec.sides == "per_side" else ("both",)
    series = {s: [] for s in sides}
    for pose in poses:
        ff = fx.update(pose)
        for s in sides:
            series[s].append(feature_value(ff, spec.rep.driver, s))
    counts = {}
    for s, values in series.items():
        v = np.asarray(values, float)
        v = v[np.isfinite(v)]
        v = _naive_sign(v, spec.rep) * v
        if v.size == 0:
            counts[s] = 0
            continue
        rest = float(np.percentile(v, 10))
        enter, leave = rest + spec.rep.enter_deg, rest + spec.rep.exit_deg
        n, up = 0, False
        for x in v:
            if not up and x >= enter:
                up = True
            elif up and x <= leave:
                up, n = False, n + 1
        counts[s] = n
    return Count(sum(counts.values()), counts.get("left", 0), counts.get("right", 0))


def _naive_sign(v: np.ndarray, rep) -> float:
    """+1 to count increases, -1 decreases; either way: the way of the first enter excursion from the median."""
    if rep.direction != "either":
        return 1.0 if rep.direction == "increase" else -1.0
    away = v - np.median(v) if v.size else v
    first = np.flatnonzero(np.abs(away) >= rep.enter_deg)
    return 1.0 if not first.size or away[first[0]] > 0 else -1.0


def _int(s: str) -> int | None:
    return int(s) if s.strip() else None


def main() -> int:
    from formcheck.defaults import DEFAULT_ANALYSIS_FPS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "clips")
    ap.add_argument("--analysis-fps", type=float, default=DEFAULT_ANALYSIS_FPS)
    ap.add_argument("--only", nargs="*", help="clip file names to run (default: every clip in the catalog)")
    ap.add_argument("--mirror", action="store_true", help="every clip flipped left-right, its sides exchanged")
    ap.add_argument("--start-before-first-rep", type=float, metavar="S",
                    help="start each clip S seconds before its first rep (clips whose notes give it)")
    ap.add_argument("--speed", type=float, default=1.0,
                    help="play every clip this many times faster (its poses' clock and its hold_s divided by it)")
    ap.add_argument("--other-side-after", type=float, metavar="S",
                    help="follow each clip with S s of nobody in view, then the clip mirrored (the other side)")
    ap.add_argument("--jitter", type=float, default=0.0, metavar="F",
                    help="noise on every landmark, F torso lengths in the image (F x 0.5 m in 3D), per frame")
    ap.add_argument("--hold", default="catalog", metavar="catalog|spec|S",
                    help="the prescribed hold: the catalog's hold_s (default), the spec's own target, or S seconds "
                         "for every clip (a count must not depend on it)")
    args = ap.parse_args()
    if args.hold not in ("catalog", "spec"):
        try:
            if not 0 <= float(args.hold) <= 300:
                raise ValueError
        except ValueError:
            ap.error(f"--hold takes catalog, spec or seconds from 0 to 300, not {args.hold!r}")
    if args.mirror and args.other_side_after is not None:
        ap.error("--other-side-after already adds the mirrored clip: leave out --mirror")
    if not (args.clips / "catalog.csv").is_file():
        print(f"no clips at {args.clips}: nothing to measure")
        return 0
    from formcheck.posesfile import read_poses
    from formcheck.spec import load_spec

    rows = list(csv.DictReader(open(args.clips / "catalog.csv", newline="", encoding="utf-8")))
    if args.only:
        rows = [r for r in rows if r["file"] in set(args.only)]
    print("| clip | spec | hold s | conf. | truth L/R | formcheck L/R | naive L/R | exact | negatives (spec: count) |")
    print("|---|---|---|---|---|---|---|---|---|")
    tally = {"sure": [], "unsure": []}  # (truth, formcheck, naive, sides_ok or None)
    negative_misses = []
    holds, hold_errors = [], []  # clips of hold specs; |measured - catalog hold_s| per counted rep
    for row in rows:
        clip = args.clips / row["file"]
        if not clip.is_file():
            continue
        if args.mirror:
            clip = mirrored(clip)
            row = {**row, "file": clip.name, "reps_left": row["reps_right"], "reps_right": row["reps_left"]}
        cut_ms = 0.0
        if args.start_before_first_rep is not None:
            first = re.search(r"first_rep_within_0\.5s=no[^(;]*\(~?([\d.]+) s", row["notes"])
            if first is None or float(first.group(1)) <= args.start_before_first_rep:
                continue
            cut_ms = (float(first.group(1)) - args.start_before_first_rep) * 1000
        poses = [replace(p, timestamp_ms=(p.timestamp_ms - cut_ms) / args.speed)
                 for p in read_poses(poses_for(clip, args.analysis_fps or None)) if p.timestamp_ms >= cut_ms]
        if args.other_side_after is not None:
            other_side = [replace(p, timestamp_ms=p.timestamp_ms / args.speed)
                          for p in read_poses(poses_for(mirrored(clip), args.analysis_fps or None))]
            poses = then_after_a_gap(poses, other_side, args.other_side_after)
            if row["reps"].strip():
                row = {**row, "reps": str(2 * int(row["reps"]))}
            if row["reps_left"].strip() and row["reps_right"].strip():
                both = str(int(row["reps_left"]) + int(row["reps_right"]))
                row = {**row, "reps_left": both, "reps_right": both}
        if args.jitter:
            poses = jittered(poses, args.jitter, seed=zlib.crc32(row["file"].encode()))
        name = row["formcheck_exercise"]
        spec = load_spec(name) if name != "none" else None
        posture = spec.posture if spec else "standing"
        negatives = []
        for other in NEGATIVES[posture]:
            got, _ = formcheck_count(poses, load_spec(other))
            negatives.append(f"{other}: {got.total}")
            if got.total:
                negative_misses.append(f"{row['file']} as {other}: {got.total}")
        if spec is None:
            print(f"| {row['file']} | none | | | | | | | {'; '.join(negatives)} |")
            continue
        if args.hold == "spec":
            hold = spec.target.hold_s
        else:
            hold = (float(args.hold) if args.hold != "catalog"
                    else round(float(row["hold_s"]) / args.speed, 2) if row["hold_s"].strip() else None)
            spec = spec.with_target(hold_s=hold)
        truth = int(row["reps"])
        left, right = _int(row["reps_left"]), _int(row["reps_right"])
        fc, report = formcheck_count(poses, spec)
        nv = naive_count(poses, spec)
        # sides right: no rep went to the wrong leg (per-side errors add up to the total's error)
        sides_ok = None if left is None or right is None else abs(fc.left - left) + abs(fc.right - right) == abs(fc.total - truth)
        tally.setdefault(row["confidence"], []).append((truth, fc.total, nv.total, sides_ok))
        if spec.kind == "hold":
            holds.append((truth, fc.total, nv.total, sides_ok))
            if hold and args.hold == "catalog":
                hold_errors += [abs(r.hold_s - hold) for r in report.reps]
        truth_s = f"{truth}" + (f" ({left}/{right})" if left is not None else "")
        fc_s = f"{fc.total}" + (f" ({fc.left}/{fc.right})" if spec.sides == "per_side" else "")
        nv_s = f"{nv.total}" + (f" ({nv.left}/{nv.right})" if spec.sides == "per_side" else "")
        exact = "yes" if fc.total == truth else "no"
        if sides_ok is False:
            exact += " (sides wrong)"
        print(f"| {row['file']} | {name} | {hold if hold is not None else ''} | {row['confidence']} | "
              f"{truth_s} | {fc_s} | {nv_s} | {exact} | {'; '.join(negatives)} |")
    print()
    everything = [t for rows_ in tally.values() for t in rows_]
    for label, items in (("sure", tally.get("sure", [])), ("unsure", tally.get("unsure", [])), ("all", everything),
                         ("holds", holds)):
        if not items:
            continue
        truth = np.array([t[0] for t in items])
        for who, col in (("formcheck", 1), ("naive", 2)):
            got = np.array([t[col] for t in items])
            err = np.abs(got - truth)
            print(f"{label:6s} {who:9s}: exact {np.mean(err == 0):.0%} ({int(np.sum(err == 0))}/{len(items)}), "
                  f"within one {np.mean(err <= 1):.0%}, mean abs error {err.sum() / max(truth.sum(), 1):.0%} of the true count")
        sided = [t[3] for t in items if t[3] is not None]
        if sided:
            print(f"{label:6s} formcheck: sides right on {sum(sided)}/{len(sided)} one-sided clips")
    if hold_errors:
        print(f"holds  formcheck: hold time off the catalog's by {np.median(hold_errors):.1f} s median, "
              f"{np.mean(hold_errors):.1f} s mean ({len(hold_errors)} reps)")
    worse = [t for t in everything if abs(t[1] - t[0]) > abs(t[2] - t[0])]
    print(f"clips where formcheck is further from the truth than the naive counter: {len(worse)}")
    print(f"negatives counted as reps: {len(negative_misses)}" + (f" ({'; '.join(negative_misses)})" if negative_misses else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
