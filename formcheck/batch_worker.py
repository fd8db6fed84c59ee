"""The work of one batch clip, in a worker process or in-process: its analysis and report folder."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from formcheck.errors import InputError

if TYPE_CHECKING:
    from formcheck.batch_manifest import BatchOptions, ClipPlan


# --- the work of one clip (in a worker process, or in-process with one worker) ----------------------


def clip_task(plan: ClipPlan, options: BatchOptions, *, staging: Path, final: Path, history_db: Path,
              programme: dict | None = None) -> dict:
    """What a worker needs to analyse one clip, as plain values (it crosses to another process or machine).

    ``programme`` is the patient's programme as JSON-safe data, or None.
    """
    job = plan.job
    return {
        "history_db": str(history_db),
        "programme": programme,
        "path": str(job.path), "exercise": job.exercise, "side": job.side, "reps": job.reps, "hold_s": job.hold_s,
        "patient": job.patient, "date": job.session_date, "extra": job.extra, "clip_sha256": plan.clip_sha256,
        "model": plan.model, "model_path": str(options.model_path) if options.model_path else None,
        "variant": options.variant, "max_side_px": options.max_side_px, "video": options.video,
        "analysis_fps": options.analysis_fps,
        "staging": str(staging), "final": str(final),
    }


def one_line(exc: BaseException) -> str:
    """The first line of an error's message (its type's name if it has none)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def analyse_clip(task: dict, progress: Callable[[int, int | None], None] | None = None) -> dict:
    """Analyse one clip into ``task['staging']``: report.json (with series), reps.csv, media, report.html.

    Returns {"ok": True, "report", "spec", "elapsed_s"} or {"ok": False, "error"}; never raises for
    a problem with the clip, so one bad clip cannot stop a batch.
    """
    from formcheck import __version__, pipeline
    from formcheck.evaluator import SideOverrideError
    from formcheck.htmlreport import ClipMeta
    from formcheck.models import ModelError
    from formcheck.outputs import ClipPage, OutputPlan
    from formcheck.sinks import report_document
    from formcheck.spec import SpecError

    t0 = time.monotonic()
    staging = Path(task["staging"])
    try:
        spec, evaluator = pipeline.build_evaluator(task["exercise"], task["side"], reps=task["reps"], hold_s=task["hold_s"],
                                                   programme=_task_programme(task))
        staging.mkdir(parents=True, exist_ok=True)
        meta = ClipMeta(
            clip_path=task["path"], clip_sha256=task["clip_sha256"], model=task["model"], patient=task["patient"],
            session_date=task["date"], extra=task["extra"], report_dir=task["final"],
            formcheck_version=__version__, history_db=task["history_db"],
        )
        plan = OutputPlan(folder=staging, include_series=True, review_media=True, page=ClipPage(meta, task["video"]))
        report = pipeline.analyze(
            Path(task["path"]), spec, evaluator, plan, model_path=task["model_path"], variant=task["variant"],
            max_side_px=task["max_side_px"], progress=progress, analysis_fps=task["analysis_fps"],
        )
        if report.incomplete and not report.source.get("ends_early"):
            raise KeyboardInterrupt  # interrupted in-process: an unfinished clip is never committed
        # what report.json and the page hold, from the report itself (never the file read back)
        report_dict = report_document(report, include_series=True)
        return {"ok": True, "report": report_dict, "spec": spec.model_dump(mode="json"),
                "elapsed_s": time.monotonic() - t0}
    except (InputError, SpecError, ModelError, SideOverrideError) as e:
        return {"ok": False, "error": one_line(e), "elapsed_s": time.monotonic() - t0}
    except MemoryError:
        return {"ok": False, "error": "ran out of memory: try --max-side 640 or fewer --workers", "elapsed_s": time.monotonic() - t0}
    except OSError as e:
        return {"ok": False, "error": f"{e.strerror or e}: {e.filename or ''}".rstrip(": "), "elapsed_s": time.monotonic() - t0}
    except Exception as e:  # noqa: BLE001  a bug on one clip is that clip's failure, never the batch's end
        return {"ok": False, "error": f"internal error ({type(e).__name__}: {one_line(e)})", "elapsed_s": time.monotonic() - t0}


def _task_programme(task: dict):
    """The task's programme (None without one), validated again on this side of the process boundary."""
    from formcheck.programme import Programme

    return Programme.model_validate(task["programme"]) if task.get("programme") else None
