"""The small public API: load a spec, analyse a clip or a stream of poses, read a report back.

Everything here works in memory and writes nothing; the CLI's commands add the output files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from formcheck.defaults import DEFAULT_ANALYSIS_FPS
from formcheck.report import SessionReport
from formcheck.spec import ExerciseSpec, load_spec
from formcheck.types import PoseSample


def _evaluator(exercise: str | ExerciseSpec, side: str | None, reps: int | None, hold_s: float | None):
    from formcheck.evaluator import ExerciseEvaluator

    spec = exercise if isinstance(exercise, ExerciseSpec) else load_spec(exercise)
    return ExerciseEvaluator(spec.with_target(reps=reps, hold_s=hold_s), side=side)


def analyse_clip(
    path: str | os.PathLike, exercise: str | ExerciseSpec, *, side: str | None = None,
    reps: int | None = None, hold_s: float | None = None, model_path: str | os.PathLike | None = None,
    variant: str = "full", analysis_fps: float | None = DEFAULT_ANALYSIS_FPS,
) -> SessionReport:
    """Count and check one recorded clip (a video or a saved poses file) with the real pose model.

    ``exercise`` is a spec id (``formcheck exercises`` lists them), a spec file or a loaded spec;
    ``reps`` and ``hold_s`` are the prescription (the spec's target by default). Raises
    ``formcheck.errors.InputError`` for a missing, unreadable or empty clip.
    """
    from formcheck.pipeline import run_clip

    evaluator = _evaluator(exercise, side, reps, hold_s)
    return run_clip(Path(path), evaluator, model_path=None if model_path is None else Path(model_path),
                    variant=variant, analysis_fps=analysis_fps)


def analyse_poses(
    poses: Iterable[PoseSample], exercise: str | ExerciseSpec, *, side: str | None = None,
    reps: int | None = None, hold_s: float | None = None, source: dict | None = None,
) -> SessionReport:
    """Count and check a stream of poses (from your own pose model, or ``read_poses``), in order."""
    from formcheck.session import replay, run_session

    return run_session(replay(poses), _evaluator(exercise, side, reps, hold_s), source=source or {"kind": "poses"})


def read_report(path: str | os.PathLike) -> dict:
    """A report.json written by formcheck (or its folder), checked for the shape formcheck writes.

    Raises ValueError naming the first bad field of a damaged or hand-made file.
    """
    from formcheck.report import check_report_dict

    p = Path(path)
    if p.is_dir():
        p = p / "report.json"
    with open(p, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{p}: not a formcheck report ({e.msg} at line {e.lineno})") from None
    return check_report_dict(data)
