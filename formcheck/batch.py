"""Batch analysis: many clips in worker processes, resumable, each result committed atomically.

A clip is analysed into a staging folder by a worker; the main process then moves the folder
into place and records the session in the history database in one transaction. That record is
the commit point: a batch killed at any moment (even SIGKILL) keeps every clip committed before
it, and the next run redoes only the rest, because a clip whose content hash, spec (id, version
and content), model and analysis settings match a finished session is skipped.

This module is the orchestration; the concerns live beside it: `batch_manifest` (which clips, and
their identity), `batch_worker` (one clip's analysis), `batch_runners` (in-process, process pool,
Dask) and `batch_commit` (lock, publish, history, index).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from formcheck.batch_commit import (
    INDEX_KIND, STAGING, VIDEO_MODES, ClipResult, batch_lock, commit_clip, copy_session, own_folder, recorded_db,
    record_failure, refresh_index, rerender_session, skip_result,
)
from formcheck.batch_manifest import (
    POSES_SUFFIXES, BatchOptions, ClipJob, ClipPlan, ManifestError, ModelIdentity, plan_clip, plan_jobs, read_manifest,
)
from formcheck.batch_runners import run_in_pool, run_in_process, run_on_dask
from formcheck.batch_worker import clip_task, one_line
from formcheck.errors import InputError
from formcheck.history import History
from formcheck.io import check_output

# the names the CLI, the web app and the tests import from here
__all__ = ["BatchObserver", "BatchOptions", "BatchSummary", "ClipJob", "ClipResult", "ManifestError", "plan_jobs",
           "read_manifest", "recorded_db", "refresh_index", "rerender_session", "run_batch"]


@dataclass(frozen=True, eq=False)
class BatchSummary:
    """What a batch did: one result per clip in the order given, the index page and the time taken."""
    results: tuple[ClipResult, ...]
    index_path: Path
    elapsed_s: float

    def count(self, status: str) -> int:
        """How many clips ended with this status (analysed, incomplete, skipped or failed)."""
        return sum(1 for r in self.results if r.status == status)


class BatchObserver(Protocol):
    """What the CLI's progress display hears about (all calls come from the main process)."""

    def planned(self, total: int, to_analyse: int) -> None:
        """The batch has ``total`` clips, of which ``to_analyse`` need the model."""

    def clip_started(self, key: int, name: str) -> None:
        """A clip's analysis began."""

    def clip_progress(self, key: int, done: int, total: int | None) -> None:
        """A clip has ``done`` of ``total`` frames analysed (total None: unknown)."""

    def clip_finished(self, key: int, result: ClipResult) -> None:
        """A clip was committed, skipped or recorded as failed."""


def run_batch(jobs: Sequence[ClipJob], options: BatchOptions, history: History,
              observer: BatchObserver | None = None) -> BatchSummary:
    """Analyse the jobs not already in the history; commit each as it finishes; write the index."""
    from formcheck.evaluator import SideOverrideError
    from formcheck.spec import SpecError

    if options.video not in VIDEO_MODES:
        raise ManifestError(f"unknown video mode {options.video!r}; valid: {', '.join(VIDEO_MODES)}")
    t0 = time.monotonic()
    out = options.out_dir.expanduser().resolve()
    check_output(out / "index.html", INDEX_KIND, database=history.path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot write to {out} ({e.strerror or e}): choose another --out") from None
    results: dict[int, ClipResult] = {}
    with batch_lock(out):
        staging_root = out / STAGING
        shutil.rmtree(staging_root, ignore_errors=True)  # what a killed batch left half-done
        staging_root.mkdir()
        try:
            models = ModelIdentity(options)
            if any(j.path.suffix.lower() not in POSES_SUFFIXES for j in jobs):
                models.video()  # a missing model stops the batch before it starts, not clip by clip
            plans: dict[int, ClipPlan] = {}
            todo: list[tuple[int, dict]] = []
            slugs: dict[str, Path] = {}  # report folder name -> the clip that has it in this run
            for key, job in enumerate(jobs):
                try:
                    job = _programme_dose(job, history)  # the patient's programme is the prescription
                    plan = plan_clip(key, job, options, models)
                except (InputError, SpecError, SideOverrideError) as e:
                    results[key] = record_failure(history, job, out, one_line(e))
                    continue
                except OSError as e:
                    results[key] = record_failure(history, job, out, f"cannot read {job.path} ({e.strerror or e})")
                    continue
                plan = own_folder(plan, slugs, out, history)
                done = [] if options.force else [
                    s for s in history.done_sessions(plan.run_key) if (Path(s.report_dir) / "report.html").is_file()]
                mine = [s for s in done if s.clip_path == str(job.path) and Path(s.report_dir).parent == out]
                if mine:
                    results[key] = skip_result(plan, mine[0])
                    continue
                if done:  # analysed before, reported elsewhere (another --out, or the same content under another name)
                    same_clip = [s for s in done if s.clip_path == str(job.path)]
                    results[key] = copy_session(plan, (same_clip or done)[0], out, history, same_clip)
                    continue
                plans[key] = plan
                programme = history.programme(job.patient)[0] if job.patient else None
                todo.append((key, clip_task(plan, options, staging=out / STAGING / plan.slug, final=out / plan.slug,
                                             history_db=history.path.resolve(),
                                             programme=programme.model_dump(mode="json") if programme is not None else None)))
            if observer is not None:
                observer.planned(len(jobs), len(todo))
                for key, result in results.items():
                    observer.clip_finished(key, result)

            def on_outcome(key: int, outcome: dict) -> None:
                plan = plans[key]
                results[key] = commit_clip(plan, outcome, out, history)
                refresh_index(history, out)
                if observer is not None:
                    observer.clip_finished(key, results[key])

            if options.dask_address and todo:
                run_on_dask(todo, options.dask_address, on_outcome)
            elif options.workers <= 1 or len(todo) <= 1:
                run_in_process(todo, observer, on_outcome)
            else:
                run_in_pool(todo, min(options.workers, len(todo)), observer, on_outcome)
            index = refresh_index(history, out)
        finally:
            shutil.rmtree(staging_root, ignore_errors=True)  # also when the database or the disk failed
    ordered = tuple(results[k] for k in sorted(results))
    return BatchSummary(ordered, index, time.monotonic() - t0)


def _programme_dose(job: ClipJob, history: History) -> ClipJob:
    """A row with a patient and no reps/hold takes its dose from the patient's programme."""
    item = history.programme(job.patient)[0] if job.patient and job.reps is None and job.hold_s is None else None
    item = item.item_for(job.exercise) if item is not None else None
    return job if item is None else replace(job, reps=item.reps, hold_s=item.hold_s)
