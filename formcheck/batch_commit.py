"""Committing a batch's clips: the output folder's lock, publishing a clip's folder together with
its history row (the commit point), recorded failures, copies of finished sessions, and the pages
that follow the history (the index and a redrawn clip page)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from formcheck.batch_manifest import ClipJob, ClipPlan, ManifestError, slug
from formcheck.batch_worker import one_line
from formcheck.errors import InputError
from formcheck.history import History, SessionRow, current_sessions
from formcheck.htmlreport import PAGE_JSON
from formcheck.io import OutputKind, head_contains
from formcheck.outputs import REVIEW_VIDEO_MODES

VIDEO_MODES = REVIEW_VIDEO_MODES
STAGING = ".staging"
LOCK_NAME = ".formcheck-batch.lock"


# an index.html formcheck wrote names formcheck (newer pages also say so in a generator tag)
INDEX_KIND = OutputKind("formcheck batch", "--out", lambda p: head_contains(p, '<meta name="generator" content="formcheck">')
                        or head_contains(p, "<title>formcheck: "))


@dataclass(frozen=True, eq=False)
class ClipResult:
    """What happened to one clip: analysed, skipped (already in the history) or failed."""

    job: ClipJob
    status: str
    session_id: int | None = None
    report_dir: Path | None = None
    reps_by_side: dict = field(default_factory=dict)
    clinician: dict = field(default_factory=dict)
    error: str = ""
    elapsed_s: float = 0.0



def batch_lock(out_dir: Path):
    """One batch at a time per output folder."""
    from formcheck.io import exclusive_lock

    return exclusive_lock(out_dir / LOCK_NAME, lambda: ManifestError(
        f"another formcheck batch is writing into {out_dir}: wait for it or choose another --out"))


def _publish(staging: Path, final: Path):
    """Move a finished clip folder into place, replacing an older one whole (kept until ``finish``)."""
    from formcheck.io import publish_folder

    return publish_folder(staging, final, aside=final.parent / STAGING)


def _record_and_publish(history: History, staging: Path, final: Path, **row) -> int:
    """The commit point of one clip: its row is written, its folder moved into place, then the row
    committed; if anything fails, neither stays (no folder without its row, no row without its folder)."""
    published: list = []  # the PublishedFolder, once moved into place
    try:
        sid = history.record(**row, report_dir=str(final),
                             before_commit=lambda: published.append(_publish(staging, final)))
    except BaseException:
        for p in published:
            try:
                p.undo()
            except OSError:  # cannot even move it back: the row is not there, so the next run replaces it
                pass
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for p in published:
        p.finish()
    return sid


def own_folder(plan: ClipPlan, slugs: dict[str, Path], out: Path, history: History) -> ClipPlan:
    """The plan with a report folder no other clip has (in this run, or in the history)."""
    owner = slugs.get(plan.slug)
    if owner is None:
        there = history.session_for_dir(out / plan.slug)
        owner = Path(there.clip_path) if there is not None else None
    if owner is not None and owner != plan.job.path:
        plan = replace(plan, slug=slug(plan.job.path, plan.job.exercise, plan.run_key, by_path=True))
    slugs[plan.slug] = plan.job.path
    return plan


def copy_session(plan: ClipPlan, row: SessionRow, out: Path, history: History,
                  same_clip: Sequence[SessionRow] = ()) -> ClipResult:
    """Publish a finished analysis of the same content and settings into this --out, as this clip's
    session: its folder copied and a row of its own (no model time). The reviews of this clip's
    earlier sessions (``same_clip``) come along; another file's do not."""
    from formcheck.sinks import write_json_atomic

    job = plan.job
    staging, final = out / STAGING / plan.slug, out / plan.slug
    try:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(row.report_dir, staging)
        page = json.loads((staging / PAGE_JSON).read_text(encoding="utf-8")) if (staging / PAGE_JSON).is_file() else {}
        write_json_atomic(staging / PAGE_JSON, {**page, "history_db": str(history.path.resolve())})
    except (OSError, ValueError, InputError) as e:
        shutil.rmtree(staging, ignore_errors=True)
        detail = e.strerror if isinstance(e, OSError) and e.strerror else one_line(e)
        return record_failure(history, job, out, f"cannot copy the finished report {row.report_dir} ({detail})", plan)
    sid = _record_and_publish(
        history, staging, final, run_key=row.run_key, status="done", clip_path=str(job.path),
        clip_sha256=row.clip_sha256, exercise=row.exercise, spec_version=row.spec_version,
        spec_sha256=row.spec_sha256, spec=history.spec(row.id), model=row.model, patient=job.patient,
        session_date=job.session_date, side=job.side or "", extra=job.extra, report=history.report(row.id),
        elapsed_s=row.elapsed_s, analysed_at=row.analysed_at,
    )
    reviews = {(r.reviewed_at, r.side, r.reps, r.note, r.reviewer): r for s in same_clip for r in s.reviews}
    for _, r in sorted(reviews.items(), key=lambda kv: (kv[0][0], kv[1].id)):  # in the order they were made
        history.add_review(sid, side=r.side, reps=r.reps, note=r.note, reviewer=r.reviewer, reviewed_at=r.reviewed_at)
    session = history.session(sid)
    rerender_session(history, session)  # the page names its new folder, session and database
    return skip_result(plan, session)


def skip_result(plan: ClipPlan, row: SessionRow) -> ClipResult:
    """The result of a clip whose finished session ``row`` is reused."""
    return ClipResult(plan.job, "skipped", row.id, Path(row.report_dir), row.reps_by_side,
                      {s: r.reps for s, r in row.clinician_counts.items()})



def record_failure(history: History, job: ClipJob, out: Path, error: str, plan: ClipPlan | None = None,
                    elapsed_s: float | None = None) -> ClipResult:
    """Record a clip that could not be analysed (a failed session row) and say why."""
    from formcheck.spec import SpecError, load_spec

    spec_version = plan.spec_version if plan else None
    if spec_version is None:
        try:
            spec_version = load_spec(job.exercise).version
        except SpecError:
            spec_version = None
    # a clip that fails before it can be hashed fails under one key per path and exercise, so
    # retrying it does not pile up rows
    fallback_key = "failed:" + hashlib.sha256(f"{job.path}\0{job.exercise}".encode()).hexdigest()
    sid = history.record(
        run_key=plan.run_key if plan else fallback_key, status="failed", clip_path=str(job.path),
        clip_sha256=plan.clip_sha256 if plan else "", exercise=job.exercise, spec_version=spec_version,
        spec_sha256=plan.spec_sha256 if plan else "", spec=None, model=plan.model if plan else "",
        patient=job.patient, session_date=job.session_date, side=job.side or "", extra=job.extra,
        report_dir=str(out / plan.slug) if plan else str(out / job.path.name), error=error, elapsed_s=elapsed_s,
    )
    return ClipResult(job, "failed", sid, None, {}, {}, error, elapsed_s or 0.0)


def commit_clip(plan: ClipPlan, outcome: dict, out: Path, history: History) -> ClipResult:
    """Publish one analysed clip: its folder and its session row together, or a recorded failure."""
    staging = out / STAGING / plan.slug
    if not outcome.get("ok"):
        shutil.rmtree(staging, ignore_errors=True)
        return record_failure(history, plan.job, out, outcome.get("error", "unknown error"), plan, outcome.get("elapsed_s"))
    final = out / plan.slug
    job = plan.job
    report = outcome["report"]
    try:
        sid = _record_and_publish(
            history, staging, final, run_key=plan.run_key, status="done", clip_path=str(job.path),
            clip_sha256=plan.clip_sha256, exercise=job.exercise, spec_version=plan.spec_version,
            spec_sha256=plan.spec_sha256, spec=outcome["spec"], model=plan.model, patient=job.patient,
            session_date=job.session_date, side=job.side or "", extra=job.extra, report=report,
            elapsed_s=round(outcome.get("elapsed_s", 0.0), 3),
        )
    except OSError as e:  # the folder could not be moved into place (the row was rolled back)
        return record_failure(history, plan.job, out, f"cannot publish {final} ({e.strerror or e})", plan)
    # a clip that decoded short of its own length is kept (its report says so) but not called analysed
    status, note = ("incomplete", _ends_early_note(report)) if report.get("incomplete") else ("analysed", "")
    return ClipResult(job, status, sid, final, report["summary"]["reps_by_side"], {}, note,
                      outcome.get("elapsed_s", 0.0))


def _ends_early_note(report: dict) -> str:
    source = report.get("source", {})
    return (f"ends early: {source.get('frames_decoded')} of {source.get('frame_count')} frames could be decoded "
            "(report marked incomplete): the file may be cut short; copy it again")


# --- pages that follow the history ------------------------------------------------------------------


def refresh_index(history: History, out_dir: Path) -> Path:
    """Rewrite out_dir/index.html from the history: the latest session of each clip analysed there."""
    from formcheck.htmlreport import index_entry, write_index

    out = Path(out_dir).resolve()
    # a finished session whose folder was removed is left out: no broken links
    sessions = current_sessions(history.sessions(under_dir=out),
                                keep=lambda s: (Path(s.report_dir) / "report.html").is_file())
    entries = [index_entry(s, history.report(s.id) if s.status == "done" else None) for s in sessions]
    return write_index(out, entries)


def recorded_db(folder: Path) -> Path | None:
    """The history database a batch recorded this report folder in (None: not a batch folder, or
    written before formcheck recorded it)."""
    try:
        recorded = json.loads((Path(folder) / PAGE_JSON).read_text(encoding="utf-8")).get("history_db")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(recorded) if isinstance(recorded, str) and recorded else None


def rerender_session(history: History, session: SessionRow) -> Path | None:
    """Redraw a session's report.html (after a review) and its folder's index; None if it is gone."""
    from formcheck.htmlreport import ClipMeta, write_clip_report
    from formcheck.io import same_file

    folder = Path(session.report_dir)
    if not (folder / "report.html").is_file():
        return None  # only pages formcheck batch wrote are redrawn
    recorded = recorded_db(folder)
    if recorded is not None and not same_file(recorded, history.path):
        return None  # another database's page: never redrawn (or its index cut) from this one
    try:
        video = json.loads((folder / PAGE_JSON).read_text()).get("video", "embed")
    except (OSError, ValueError, AttributeError):
        video = "embed"
    meta = ClipMeta(
        clip_path=session.clip_path, clip_sha256=session.clip_sha256, model=session.model, patient=session.patient,
        session_date=session.session_date, extra=session.extra, analysed_at=session.analysed_at,
        elapsed_s=session.elapsed_s, session_id=session.id, report_dir=str(folder),
        formcheck_version=session.formcheck_version, history_db=str(history.path.resolve()),
    )
    spec = history.spec(session.id)
    if spec is None:
        return None
    page = write_clip_report(folder, report=history.report(session.id), spec=spec, meta=meta,
                             reviews=session.reviews, video=video if video in VIDEO_MODES else "embed")
    if (folder.parent / "index.html").is_file():
        refresh_index(history, folder.parent)
    return page
