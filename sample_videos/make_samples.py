"""Render the bundled sample clips: one correct and one faulty clip per exercise with a spec.

    python sample_videos/make_samples.py [EXERCISE ...]   # rewrites those clips (default: all),
                                                          # manifest.json and README.md

Deterministic: the same code gives the same clips. Each clip has its ground truth beside it as
gzipped JSON (``<clip>.json.gz``; ``formcheck.synth.load_truth`` reads it). Clips are kept small
(480x360, 10 fps, H.264, few reps, holds shortened) so the whole set fits in the 15 MB budget; holds are
analysed against the shortened hold given in ``manifest.json`` (``formcheck analyze --hold S``).
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# exercise -> the fault shown in its faulty sample: one the real model sees at the spec's view
FAULTY = {
    "bridge": "hips_low",
    "standing_hip_extension": "knee_bent",
    "mini_squat": "too_deep",
    "standing_hip_flexion": "trunk_lean_back",
    "standing_hip_circles": "knee_low",
    "standing_hip_abduction": "trunk_lean",
    "prone_hip_extension": "pelvis_lifts",
    "quadruped_hip_extension": "thigh_too_high",
    "supine_leg_raise": "knee_bent",
    "knee_to_chest": "other_leg_bent",
    "pelvic_tilt": "hips_lift",
    "butterfly_stretch": "back_rounded",
    "seated_figure_four": "bent_at_waist",
    "kneeling_hip_flexor_stretch": "trunk_lean",
    "side_lying_hip_abduction": "knee_bent",
    "clamshell": "feet_apart",
    "side_lying_abductor_stretch": "knee_bent",
    "supine_figure_four": "shoulders_lift",
    "double_hip_rotation": "shoulders_lift",
    "standing_it_band_stretch": "hip_not_pushed_out",
}
# one-sided exercises whose spec asks for the working leg nearest the camera (turn round for the
# other side): the sample shows one side, as a patient would film one set
ONE_SIDE = {"standing_hip_flexion": "left"}
# body seed per exercise where the default body's bent knee is too slight for the model at 480x360
BODY = {"side_lying_abductor_stretch": 0, "double_hip_rotation": 0}
FPS = 10.0
SIZE = (480, 360)
REPS_BILATERAL, REPS_PER_SIDE = 3, 2
SAMPLE_HOLD_S = 6.0  # holds in the samples last this long (jittered +-10%) ...
ANALYSE_HOLD_S = 5.0  # ... and are analysed against this target (a hold counts at >= 90% of it)
REPS_HOLD_S = 1.0  # the prescribed hold of the rendered reps, which pause about a second at the top


def sample_plan(exercise: str) -> dict:
    """How one exercise's samples are made and analysed."""
    from formcheck import synth
    from formcheck.spec import load_spec

    spec = load_spec(exercise)
    hold = spec.kind == "hold"
    faults = [f for f in synth.list_faults(exercise) if f != "too_fast"] or list(synth.list_faults(exercise))
    return {
        "side": ONE_SIDE.get(exercise, "both") if spec.sides == "per_side" else None,
        "reps": 1 if hold else REPS_PER_SIDE if spec.sides == "per_side" else REPS_BILATERAL,
        "view": synth.spec_view(exercise),
        "fault": FAULTY.get(exercise, faults[0] if faults else None),
        "hold_s": SAMPLE_HOLD_S if hold else None,
        # reps are rendered with a ~1 s pause at the top: that is their prescription (a longer one is
        # judged, rightly, as a short hold: `short_hold`)
        "analyse_hold_s": ANALYSE_HOLD_S if hold else REPS_HOLD_S if spec.target.hold_s else None,
    }


def to_h264(clip: Path) -> None:
    """Re-encode in place as H.264 (about a quarter of OpenCV's mp4v size; plays in browsers too)."""
    import subprocess

    import imageio_ffmpeg

    tmp = clip.with_name(f".{clip.stem}.h264.mp4")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(clip), "-c:v", "libx264",
                    "-preset", "slow", "-crf", "26", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-an",
                    "-map_metadata", "-1", "-fflags", "+bitexact", str(tmp)], check=True)
    tmp.replace(clip)


def render(exercise: str) -> list[dict]:
    from formcheck import synth
    from formcheck.synth.truth import write_atomic

    plan = sample_plan(exercise)
    entries = []
    for fault in (None, plan["fault"]):
        name = f"{exercise}_{fault or 'correct'}"
        truth = synth.generate(exercise, reps=plan["reps"], side=plan["side"], fault=fault, view=plan["view"],
                               body_seed=BODY.get(exercise, 2), fps=FPS, size=SIZE, seed=2, hold_s=plan["hold_s"])
        synth.render_clip(truth, HERE / f"{name}.mp4")
        to_h264(HERE / f"{name}.mp4")
        (HERE / f"{name}.json").unlink()  # the plain sidecar render_clip wrote; the sample keeps it gzipped
        write_atomic(HERE / f"{name}.json.gz", gzip.compress(truth.to_json().encode(), 9, mtime=0))
        args = ["--hold", f"{plan['analyse_hold_s']:g}"] if plan["analyse_hold_s"] else []
        entries.append({"clip": f"{name}.mp4", "truth": f"{name}.json.gz", "exercise": exercise,
                        "fault": fault, "view": plan["view"], "analyze_args": args,
                        "expected": truth.expected, "duration_s": round(truth.duration_s, 1)})
        print(name, truth.expected, flush=True)
    return entries


def write_index(entries: list[dict]) -> None:
    (HERE / "manifest.json").write_text(json.dumps(entries, indent=1) + "\n")
    rows = []
    for e in entries:
        by_side = ", ".join(f"{k} {v}" for k, v in e["expected"]["reps_by_side"].items() if v)
        cmd = f"`formcheck analyze sample_videos/{e['clip']} -e {e['exercise']}{' ' + ' '.join(e['analyze_args']) if e['analyze_args'] else ''}`"
        rows.append(f"| [{e['clip']}]({e['clip']}) | {e['exercise']} | {e['view']} | {e['expected']['reps_total']} ({by_side}) | "
                    f"{e['fault'] or '-'} | {e['duration_s']:.1f} s | {cmd} |")
    (HERE / "README.md").write_text(
        "# Sample clips\n\n"
        "Rendered by formcheck's own generator (`formcheck synth`), not filmed: a mannequin doing each\n"
        "exercise with exact ground truth beside each clip in `<clip>.json.gz` (gzipped JSON: per-frame joint\n"
        "angles and 2D/3D landmarks in BlazePose order, rep intervals per side, injected faults with\n"
        f"their time ranges). {SIZE[0]}x{SIZE[1]}, {FPS:g} fps, H.264, filmed from the view each spec asks for.\n"
        f"Holds are shortened to about {SAMPLE_HOLD_S:g} s and analysed with `--hold {ANALYSE_HOLD_S:g}` (the prescribed\n"
        "hold; the spec's default is the articles' dosage). Reps pause about a second at the top and\n"
        f"are analysed with `--hold {REPS_HOLD_S:g}` where the spec prescribes a hold (longer would flag `short_hold`).\n"
        "`manifest.json` lists every clip with its\n"
        "analysis arguments and expected result; `tests/test_samples.py` checks them all through the real model.\n"
        "Regenerate with `python sample_videos/make_samples.py`.\n\n"
        "| clip | exercise | view | reps (truth) | fault injected | length | analyse with |\n|---|---|---|---|---|---|---|\n"
        + "\n".join(rows) + "\n"
    )


def main(argv: list[str]) -> int:
    from formcheck import synth
    from formcheck.spec import spec_ids

    if argv[:1] == ["--recompress"]:  # re-encode committed mp4v clips without rendering them again
        import cv2

        for e in json.loads((HERE / "manifest.json").read_text()):
            cap = cv2.VideoCapture(str(HERE / e["clip"]))
            fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode(errors="replace")
            cap.release()
            if fourcc.lower() not in ("avc1", "h264"):
                to_h264(HERE / e["clip"])
        return 0

    everything = [e for e in synth.list_exercises() if e in spec_ids()]
    chosen = argv or everything
    unknown = sorted(set(chosen) - set(everything))
    if unknown:
        print(f"no spec + synth program for {', '.join(unknown)}; valid: {', '.join(everything)}", file=sys.stderr)
        return 2
    manifest = HERE / "manifest.json"
    kept = [e for e in json.loads(manifest.read_text()) if e["exercise"] not in chosen] if manifest.exists() else []
    for ex in chosen:
        for fault in ("correct", *synth.list_faults(ex)):
            for p in HERE.glob(f"{ex}_{fault}.*"):
                p.unlink()
    entries = kept + [e for ex in chosen for e in render(ex)]
    order = {ex: i for i, ex in enumerate(everything)}
    entries = sorted((e for e in entries if e["exercise"] in order), key=lambda e: (order[e["exercise"]], e["fault"] is not None))
    write_index(entries)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
