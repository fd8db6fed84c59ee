"""Counts on the hand-counted real clips in ../shared/clips against catalog.csv.

Each clip goes through the full model once (poses cached in benchmarks/.cache/poses), then is
analysed with the specs that match its movement; negatives (upper-body clips, other movements)
must count 0. Prints a Markdown table and the exact-count rate, analysed at the default analysis
rate, and whether every frame gives the same counts and faults.

    python benchmarks/real_clips.py [--clips ../shared/clips] [--analysis-fps 10]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache" / "poses"

# clip -> [(spec, expected count or None for the catalog count)]
PLAN: dict[str, list[tuple[str, int | None]]] = {
    "sebitzu_hip_thrust.mp4": [("bridge", None), ("standing_hip_extension", 0), ("mini_squat", 0)],
    "randy_cable_standing_hip_abduction.mp4": [("standing_hip_abduction", None)],
    "rohit_squat_side.mp4": [("mini_squat", None), ("bridge", 0)],
    "kanat_partial_squat_side.mp4": [("mini_squat", None)],
    "yuyoujiang_squat.mp4": [("mini_squat", None)],
    "formfit_squat.mp4": [("mini_squat", None)],
    "sagor_squat.mp4": [("mini_squat", None)],
    "rjsong_squat2.mp4": [("mini_squat", None)],
    "postop_squat.mp4": [("mini_squat", None)],
    "frailty_chair_stand_test.mp4": [("mini_squat", None), ("bridge", 0)],
    "kanat_standing_hamstring_curl.mp4": [("standing_hip_extension", 0)],
    "orthosense_shoulder_abd1.mp4": [("bridge", 0), ("mini_squat", 0), ("standing_hip_extension", 0)],
    "wissem_bicep_curl_outdoor.mp4": [("bridge", 0), ("mini_squat", 0)],
    "rjsong_pushup_front2.mp4": [("bridge", 0), ("mini_squat", 0)],
}


def poses_for(clip: Path, analysis_fps: float | None) -> Path:
    from formcheck.pipeline import save_poses

    out = CACHE / (f"{clip.name}.npz" if analysis_fps is None else f"{clip.name}.a{analysis_fps:g}.npz")
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        save_poses(clip, out, analysis_fps=analysis_fps)
    return out


def analyse(poses: Path, spec_id: str):
    from formcheck.evaluator import ExerciseEvaluator
    from formcheck.posesfile import read_poses
    from formcheck.spec import load_spec

    ev = ExerciseEvaluator(load_spec(spec_id))
    for pose in read_poses(poses):
        ev.update(pose)
    report = ev.finish()
    return report.reps_by_side, sorted({f.id for f in report.faults})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "clips")
    from formcheck.defaults import DEFAULT_ANALYSIS_FPS

    ap.add_argument("--analysis-fps", type=float, default=DEFAULT_ANALYSIS_FPS)
    args = ap.parse_args()
    if not (args.clips / "catalog.csv").is_file():
        print(f"no clips at {args.clips}: nothing to measure")
        return 0
    catalog = {r["file"]: r for r in csv.DictReader(open(args.clips / "catalog.csv", newline=""))}
    rate = f"{args.analysis_fps:g} fps"
    print(f"| clip | fps | view | spec | counted at {rate} | truth | confidence | exact | at every frame |")
    print("|---|---|---|---|---|---|---|---|---|")
    exact = exact_every = total = same = 0
    for name, plan in PLAN.items():
        row = catalog.get(name)
        if row is None or not (args.clips / name).is_file():
            continue
        sampled = poses_for(args.clips / name, args.analysis_fps)
        every = poses_for(args.clips / name, None)
        for spec_id, expected in plan:
            by_side, faults = analyse(sampled, spec_id)
            got = sum(by_side.values())
            want = int(row["reps"]) if expected is None else expected
            conf = row["confidence"] if expected is None else "negative"
            every_by_side, every_faults = analyse(every, spec_id)
            identical = (by_side, faults) == (every_by_side, every_faults)
            total += 1
            exact += got == want
            exact_every += sum(every_by_side.values()) == want
            same += identical
            differs = "" if identical else f"differs: {sum(every_by_side.values())} reps, faults {', '.join(every_faults) or 'none'} (here {', '.join(faults) or 'none'})"
            print(f"| {name} | {row['fps']} | {row['view']} | {spec_id} | {got} | {want} | {conf} | "
                  f"{'yes' if got == want else 'no'} | {differs or 'same'} |")
    print(f"\nexact counts at {rate}: {exact}/{total} ({exact / max(total, 1):.0%}); at every frame: {exact_every}/{total}; "
          f"counts per side and faults identical: {same}/{total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
