"""Render the bundled sample clips: one correct and one faulty clip per exercise with a spec.

    python sample_videos/make_samples.py        # rewrites sample_videos/*.mp4, *.json, README.md

Deterministic: the same code gives the same clips. Each clip has a ground-truth sidecar (.json).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# exercise -> the fault shown in its faulty sample (one the real model can see from the side)
FAULTY = {"bridge": "hips_low", "standing_hip_extension": "knee_bent", "mini_squat": "too_deep"}
REPS = {"bridge": 3, "standing_hip_extension": 2, "mini_squat": 3}
FPS = 15.0
SIZE = (640, 480)


def main() -> int:
    from formcheck import synth
    from formcheck.spec import load_spec, spec_ids

    rows = []
    for exercise in [e for e in synth.list_exercises() if e in spec_ids()]:
        spec = load_spec(exercise)
        side = "both" if spec.sides == "per_side" else None
        for fault in (None, FAULTY.get(exercise)):
            name = f"{exercise}_{fault or 'correct'}.mp4"
            truth = synth.generate(exercise, reps=REPS.get(exercise, 3), side=side, fault=fault, view="side",
                                   body_seed=2, fps=FPS, size=SIZE, seed=2)
            synth.render_clip(truth, HERE / name)
            e = truth.expected
            by_side = ", ".join(f"{k} {v}" for k, v in e["reps_by_side"].items() if v)
            rows.append(f"| [{name}]({name}) | {exercise} | {e['reps_total']} ({by_side}) | {', '.join(e['faults']) or '-'} | "
                        f"{truth.duration_s:.1f} s |")
            print(name, e)
    readme = HERE / "README.md"
    readme.write_text(
        "# Sample clips\n\n"
        "Rendered by formcheck's own generator (`formcheck synth`), not filmed: a mannequin doing each\n"
        "exercise with exact ground truth in the `.json` sidecar beside each clip (per-frame joint\n"
        "angles and 2D/3D landmarks in BlazePose order, rep intervals per side, injected faults with\n"
        f"their time ranges). Side view, {SIZE[0]}x{SIZE[1]}, {FPS:g} fps. Regenerate with\n"
        "`python sample_videos/make_samples.py`.\n\n"
        "| clip | exercise | reps (truth) | fault injected | length |\n|---|---|---|---|---|\n"
        + "\n".join(rows) + "\n\n"
        "Try one: `formcheck analyze sample_videos/bridge_correct.mp4 --exercise bridge --annotate`.\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
