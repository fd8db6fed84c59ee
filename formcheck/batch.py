"""Batch analysis: many clips in worker processes, resumable, each result committed atomically.

A clip is analysed into a staging folder by a worker; the main process then moves the folder
into place and records the session in the history database in one transaction. That record is
the commit point: a batch killed at any moment (even SIGKILL) keeps every clip committed before
it, and the next run redoes only the rest, because a clip whose content hash, spec (id, version
and content), model and analysis settings match a finished session is skipped.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Protocol

from formcheck.defaults import DEFAULT_ANALYSIS_FPS
from formcheck.errors import InputError
from formcheck.history import History, SessionRow, current_sessions
from formcheck.htmlreport import PAGE_JSON
from formcheck.io import OutputKind, check_output, head_contains
from formcheck.outputs import REVIEW_VIDEO_MODES

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm")
POSES_SUFFIXES = (".npz",)
MANIFEST_COLUMNS = ("clip", "exercise", "side", "patient", "date", "reps", "hold_s")
VIDEO_MODES = REVIEW_VIDEO_MODES
STAGING = ".staging"
LOCK_NAME = ".formcheck-batch.lock"
PROGRESS_EVERY_S = 0.25  # workers report frame progress at most this often


# an index.html formcheck wrote names formcheck (newer pages also say so in a generator tag)
INDEX_KIND = OutputKind("formcheck batch", "--out", lambda p: head_contains(p, '<meta name="generator" content="formcheck">')
                        or head_contains(p, "<title>formcheck: "))


class ManifestError(InputError):
    """A manifest or batch argument that cannot be used (the CLI exits with the usage code)."""


@dataclass(frozen=True, eq=False)
class ClipJob:
    """One clip to analyse, with what the manifest says about it."""

    path: Path
    exercise: str
    side: str | None = None
    patient: str = ""
    session_date: str = ""
    extra: dict = field(default_factory=dict)
    reps: int | None = None
    hold_s: float | None = None
    origin: str = ""  # "clips.csv line 4", or the path given


@dataclass(frozen=True)
class BatchOptions:
    out_dir: Path
    workers: int = 1
    model_path: Path | None = None
    variant: str = "full"
    max_side_px: int | None = 960
    video: str = "embed"  # embed | file | none
    force: bool = False
    analysis_fps: float | None = DEFAULT_ANALYSIS_FPS
    dask_address: str | None = None  # a Dask distributed scheduler: run the clips there, not in local processes


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


@dataclass(frozen=True, eq=False)
class BatchSummary:
    results: tuple[ClipResult, ...]
    index_path: Path
    elapsed_s: float

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


class BatchObserver(Protocol):
    """What the CLI's progress display hears about (all calls come from the main process)."""

    def planned(self, total: int, to_analyse: int) -> None: ...

    def clip_started(self, key: int, name: str) -> None: ...

    def clip_progress(self, key: int, done: int, total: int | None) -> None: ...

    def clip_finished(self, key: int, result: ClipResult) -> None: ...


# --- which clips --------------------------------------------------------------------------------


def clip_files(path: Path) -> list[Path]:
    """A clip or poses file, or the clips and poses files directly inside a folder (sorted)."""
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                      and p.suffix.lower() in VIDEO_SUFFIXES + POSES_SUFFIXES)
    raise ManifestError(f"no such file or folder: {path}")


def _check_job(job: ClipJob, specs: dict) -> ClipJob:
    """Validate the exercise, side, date and dosage now, not after hours of analysis."""
    from formcheck.spec import SpecError, load_spec

    where = f"{job.origin}: " if job.origin else ""
    if not job.exercise:
        raise ManifestError(f"{where}no exercise: give it in the manifest's exercise column or with --exercise")
    if job.exercise not in specs:
        try:
            specs[job.exercise] = load_spec(job.exercise)
        except SpecError as e:
            raise ManifestError(f"{where}{e}") from None
    spec = specs[job.exercise]
    side = job.side
    if side in ("", "both"):
        side = None
    if side is not None:
        if side not in ("left", "right"):
            raise ManifestError(f"{where}side {job.side!r} is not one of left, right, both")
        if spec.sides != "per_side":
            raise ManifestError(f"{where}{spec.id} is done with both legs together; leave its side empty")
    if job.session_date:
        try:
            date.fromisoformat(job.session_date)
        except ValueError:
            raise ManifestError(f"{where}date {job.session_date!r} is not a date like 2025-03-31") from None
    if job.reps is not None and not 1 <= job.reps <= 100:
        raise ManifestError(f"{where}reps {job.reps} must be within 1..100")
    if job.hold_s is not None and not 0 <= job.hold_s <= 300:
        raise ManifestError(f"{where}hold_s {job.hold_s} must be within 0..300")
    return ClipJob(job.path, job.exercise, side, job.patient, job.session_date, job.extra, job.reps, job.hold_s, job.origin)


def _number(text: str, kind, where: str, column: str):
    if text in ("", None):
        return None
    try:
        return kind(text)
    except ValueError:
        raise ManifestError(f"{where}: {column} {text!r} is not a number") from None


def _find_clip(name: str, manifest: Path, search_dirs: Sequence[Path]) -> Path:
    """A manifest's clip: absolute, or relative to the manifest, a given folder, or the current folder."""
    p = Path(name).expanduser()
    if p.is_absolute():
        return p
    for base in (manifest.parent, *search_dirs, Path.cwd()):
        if (base / p).exists():
            return (base / p).resolve()
    return (manifest.parent / p).resolve()  # missing: reported as that clip's failure


def read_manifest(path: Path, *, search_dirs: Sequence[Path] = (), exercise: str | None = None,
                  side: str | None = None, patient: str = "", session_date: str = "") -> list[ClipJob]:
    """Jobs from a CSV manifest (clip, exercise, side, patient, date, reps, hold_s; other columns kept).

    Empty cells take the command line's values (--exercise, --side, --patient, --date).
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            if "clip" not in header:
                raise ManifestError(f"{path}: the manifest needs a 'clip' column (columns: {', '.join(MANIFEST_COLUMNS)}, plus any of your own)")
            rows = [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: the manifest is not UTF-8 text; save it as CSV (UTF-8)") from None
    except csv.Error as e:
        raise ManifestError(f"{path}: not a readable CSV file ({e})") from None
    except OSError as e:
        raise ManifestError(f"cannot read the manifest {path} ({e.strerror or e})") from None
    jobs = []
    for line, raw in rows:
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        where = f"{path.name} line {line}"
        if not row.get("clip"):
            raise ManifestError(f"{where}: the clip cell is empty")
        jobs.append(ClipJob(
            path=_find_clip(row["clip"], path, search_dirs),
            exercise=row.get("exercise") or exercise or "",
            side=row.get("side") or side,
            patient=row.get("patient") or patient,
            session_date=row.get("date") or session_date,
            extra={k: v for k, v in row.items() if k not in MANIFEST_COLUMNS and k},
            reps=_number(row.get("reps", ""), int, where, "reps"),
            hold_s=_number(row.get("hold_s", ""), float, where, "hold_s"),
            origin=where,
        ))
    if not jobs:
        raise ManifestError(f"{path}: the manifest lists no clips")
    return jobs


def plan_jobs(paths: Sequence[Path], *, manifest: Path | None = None, exercise: str | None = None,
              side: str | None = None, patient: str = "", session_date: str = "",
              reps: int | None = None, hold_s: float | None = None) -> tuple[list[ClipJob], list[str]]:
    """The jobs of a batch, validated, and notes about clips left out."""
    notes: list[str] = []
    jobs: list[ClipJob] = []
    if manifest is None and not exercise:
        raise ManifestError("say which exercise: --exercise ID for every clip, or --manifest clips.csv")
    if manifest is None and not paths:
        raise ManifestError("give clips or folders to analyse, or --manifest clips.csv")
    search_dirs = [p for p in paths if p.is_dir()]
    if manifest is not None:
        jobs = read_manifest(manifest, search_dirs=search_dirs, exercise=exercise, side=side, patient=patient,
                             session_date=session_date)
        jobs = [ClipJob(j.path, j.exercise, j.side, j.patient, j.session_date, j.extra,
                        j.reps if j.reps is not None else reps, j.hold_s if j.hold_s is not None else hold_s, j.origin)
                for j in jobs]
    listed = {j.path.resolve() for j in jobs}
    unlisted = []
    for p in paths:
        for f in clip_files(p):
            if f.resolve() in listed:
                continue
            if manifest is not None and not exercise:
                unlisted.append(f)
                continue
            listed.add(f.resolve())
            jobs.append(ClipJob(f.resolve(), exercise or "", side, patient, session_date, {}, reps, hold_s, str(f)))
    if manifest is not None and paths:
        # the folders given with a manifest choose which of its clips to analyse
        inside = [p.resolve() for p in paths]
        jobs = [j for j in jobs if any(j.path == d or d in j.path.parents for d in inside)]
    if unlisted:
        names = ", ".join(f.name for f in unlisted[:5]) + (" ..." if len(unlisted) > 5 else "")
        notes.append(f"{len(unlisted)} clip(s) not in the manifest were left out (add them, or give --exercise): {names}")
    if not jobs:
        raise ManifestError("no clips to analyse" + (f"; {notes[0]}" if notes else ""))
    specs: dict = {}
    checked = [_check_job(j, specs) for j in jobs]
    seen: dict[tuple, str] = {}
    unique = []
    for j in checked:
        key = (str(j.path), j.exercise, j.side, j.patient, j.session_date, j.reps, j.hold_s)
        if key in seen:
            notes.append(f"{j.origin}: the same clip and settings as {seen[key]}; analysed once")
            continue
        seen[key] = j.origin
        unique.append(j)
    return unique, notes


# --- identity: what makes two analyses the same ---------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    key: int
    job: ClipJob
    clip_sha256: str
    run_key: str
    spec_version: int
    spec_sha256: str
    model: str
    slug: str
    is_poses: bool


def _slug(path: Path, exercise: str, run_key: str, *, by_path: bool = False) -> str:
    """The report folder's name: the clip's name made safe, the exercise and a key. When making
    the name safe changed it (``a b`` and ``a_b``), or ``by_path`` (two clips with one name), the
    key also covers the original name or path, so two clips never share a folder."""
    import re

    original = path.name.split(".")[0]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", original).strip("._") or "clip"
    key = run_key
    if by_path or stem != original:
        key = hashlib.sha256(f"{run_key}\0{path if by_path else original}".encode()).hexdigest()
    return f"{stem[:60]}-{exercise}-{key[:8]}"


class _Models:
    """The pose model's identity (file hash), worked out once per batch."""

    def __init__(self, options: BatchOptions):
        self.options = options
        self._video: tuple[str, str] | None = None

    def video(self) -> tuple[str, str]:
        if self._video is None:
            from formcheck.backends import pose_backend

            backend = pose_backend(variant=self.options.variant, model_path=self.options.model_path)
            self._video = (backend.identity(), backend.digest)
        return self._video


def _plan(key: int, job: ClipJob, options: BatchOptions, models: _Models) -> _Plan:
    from formcheck.pipeline import build_evaluator, is_poses
    from formcheck.io import sha256_file
    from formcheck.posesfile import read_poses_header

    if not job.path.is_file():
        raise InputError(f"no such file: {job.path}")
    spec, _ = build_evaluator(job.exercise, job.side, reps=job.reps, hold_s=job.hold_s)
    spec_sha = hashlib.sha256(json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
    poses = is_poses(job.path)
    if poses:
        header = read_poses_header(job.path)
        model, model_id = f"poses file ({header.get('model_variant') or 'model unknown'})", json.dumps(
            [header.get("model_variant"), header.get("model_sha256")])
    else:
        model, model_id = models.video()
    clip_sha = sha256_file(job.path)
    identity = {
        "clip_sha256": clip_sha, "exercise": spec.id, "spec_version": spec.version, "spec_sha256": spec_sha,
        "model": model_id, "side": job.side, "patient": job.patient, "date": job.session_date,
        "max_side_px": None if poses else options.max_side_px,
        "analysis_fps": None if poses else options.analysis_fps,
    }
    run_key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return _Plan(key, job, clip_sha, run_key, spec.version, spec_sha, model, _slug(job.path, spec.id, run_key), poses)


# --- the work of one clip (in a worker process, or in-process with one worker) ----------------------


def _one_line(exc: BaseException) -> str:
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
        return {"ok": False, "error": _one_line(e), "elapsed_s": time.monotonic() - t0}
    except MemoryError:
        return {"ok": False, "error": "ran out of memory: try --max-side 640 or fewer --workers", "elapsed_s": time.monotonic() - t0}
    except OSError as e:
        return {"ok": False, "error": f"{e.strerror or e}: {e.filename or ''}".rstrip(": "), "elapsed_s": time.monotonic() - t0}
    except Exception as e:  # noqa: BLE001  a bug on one clip is that clip's failure, never the batch's end
        return {"ok": False, "error": f"internal error ({type(e).__name__}: {_one_line(e)})", "elapsed_s": time.monotonic() - t0}


_PROGRESS_QUEUE = None


def _die_with_parent(parent_pid: int) -> None:
    """A worker whose batch was killed (even with SIGKILL) must not run on as an orphan."""
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass  # the watchdog below still ends us within a second
    if os.getppid() != parent_pid:
        os._exit(1)

    def watchdog() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watchdog, name="formcheck-parent-watchdog", daemon=True).start()


def _init_worker(queue, parent_pid: int) -> None:
    import signal

    global _PROGRESS_QUEUE
    _PROGRESS_QUEUE = queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _die_with_parent(parent_pid)


def _worker_entry(key: int, task: dict) -> dict:
    last = [0.0]

    def progress(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or (total and done >= total):
            last[0] = now
            try:
                _PROGRESS_QUEUE.put_nowait((key, done, total))
            except Exception:  # noqa: BLE001  progress is a nicety: a full or closed queue is ignored
                pass

    return analyse_clip(task, progress)


# --- running them -----------------------------------------------------------------------------------


def _run_in_process(tasks: list[tuple[int, dict]], observer, on_outcome) -> None:
    from formcheck.session import interrupt_requested, interrupts_between_frames

    # Ctrl-C ends the clip in hand after its current frame (never committed), not at any bytecode
    with interrupts_between_frames():
        for key, task in tasks:
            if interrupt_requested():
                raise KeyboardInterrupt  # between clips
            if observer is not None:
                observer.clip_started(key, Path(task["path"]).name)
            progress = (lambda done, total, k=key: observer.clip_progress(k, done, total)) if observer else None
            on_outcome(key, analyse_clip(task, progress))


def _run_in_pool(tasks: list[tuple[int, dict]], workers: int, observer, on_outcome) -> None:
    import multiprocessing
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")  # no fork: MediaPipe and OpenCV hold threads
    progress_queue = ctx.Queue()
    pending = list(tasks)
    in_flight: dict = {}  # future -> (key, task)
    executor = None

    def drain() -> None:
        while True:
            try:
                key, done, total = progress_queue.get_nowait()
            except queue_mod.Empty:
                return
            if observer is not None:
                observer.clip_progress(key, done, total)

    attempts: dict[int, int] = {}
    broken = False
    try:
        while pending or in_flight:
            if executor is None:
                executor = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                               initargs=(progress_queue, os.getpid()))
            while not broken and pending and len(in_flight) < workers:
                key, task = pending[0]
                try:
                    fut = executor.submit(_worker_entry, key, task)
                except BrokenProcessPool:
                    broken = True
                    break
                pending.pop(0)
                attempts[key] = attempts.get(key, 0) + 1
                if observer is not None and attempts[key] == 1:
                    observer.clip_started(key, Path(task["path"]).name)
                in_flight[fut] = (key, task)
            done, _ = wait(list(in_flight), timeout=0.2, return_when=FIRST_COMPLETED)
            drain()
            for fut in done:
                key, task = in_flight.pop(fut)
                try:
                    outcome = fut.result()
                except BrokenProcessPool:
                    # a worker died (killed, out of memory, a crash in native code); every clip in
                    # the pool fails with it, so each gets one more try in a fresh pool
                    broken = True
                    if attempts[key] < 2:
                        pending.insert(0, (key, task))
                        continue
                    outcome = {"ok": False, "error": "the analysis process died twice on this clip (out of memory, or a crash in the pose model)"}
                on_outcome(key, outcome)
            if broken and not in_flight:
                executor.shutdown(wait=False, cancel_futures=True)
                executor, broken = None, False
    except BaseException:
        for child in multiprocessing.active_children():
            child.terminate()
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        if executor is not None:
            executor.shutdown(wait=True)
    finally:
        progress_queue.close()


def analyse_clip_remote(task: dict) -> dict:
    """`analyse_clip` on a Dask worker: into a folder of its own, returning the files' bytes.

    Workers need the clips at the same paths (a shared drive) and a provisioned model, but not the
    output folder or the history database: the client writes what comes back and commits it.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="formcheck-") as tmp:
        staging = Path(tmp) / "clip"
        outcome = analyse_clip({**task, "staging": str(staging)})
        if outcome.get("ok"):
            outcome["files"] = {f.relative_to(staging).as_posix(): f.read_bytes()
                                for f in sorted(staging.rglob("*")) if f.is_file()}
    return outcome


def _unpack(files: dict[str, bytes], staging: Path) -> None:
    for name, data in files.items():
        target = (staging / name).resolve()
        if staging.resolve() not in target.parents:
            raise InputError(f"a Dask worker returned a file outside its folder: {name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _dask_client(address: str):
    try:
        from distributed import Client
    except ImportError:
        raise ManifestError("--dask needs Dask distributed: pip install 'formcheck[distributed]'") from None
    try:
        return Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        detail = _one_line(e)
        raise InputError(f"cannot reach the Dask scheduler at {address} ({detail}): "
                         "check the address and that `dask scheduler` is running") from None


def _run_on_dask(tasks: list[tuple[int, dict]], address: str, on_outcome) -> None:
    """Submit every clip to the cluster; commit each as it comes back, in finishing order."""
    from distributed import as_completed

    client = _dask_client(address)
    futures: dict = {}
    try:
        for key, task in tasks:
            # retries: a worker that dies (out of memory, killed) gets the clip again elsewhere
            fut = client.submit(analyse_clip_remote, task, key=f"formcheck-clip-{Path(task['staging']).name}",
                                pure=False, retries=1)
            futures[fut] = (key, task)  # no clip_started: the cluster, not us, decides when a clip starts
        for fut in as_completed(futures, loop=client.loop):
            key, task = futures[fut]
            try:
                outcome = fut.result()
            except Exception as e:  # noqa: BLE001  a worker's failure is this clip's failure, not the batch's
                outcome = {"ok": False, "error": f"the Dask worker failed on this clip ({type(e).__name__}: {_one_line(e)})"}
            files = outcome.pop("files", None)
            if files is not None:
                _unpack(files, Path(task["staging"]))
            on_outcome(key, outcome)
    except BaseException:
        client.cancel(list(futures), force=True)
        raise
    finally:
        client.close()


def _locked(out_dir: Path):
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


def _own_folder(plan: _Plan, slugs: dict[str, Path], out: Path, history: History) -> _Plan:
    """The plan with a report folder no other clip has (in this run, or in the history)."""
    owner = slugs.get(plan.slug)
    if owner is None:
        there = history.session_for_dir(out / plan.slug)
        owner = Path(there.clip_path) if there is not None else None
    if owner is not None and owner != plan.job.path:
        plan = replace(plan, slug=_slug(plan.job.path, plan.job.exercise, plan.run_key, by_path=True))
    slugs[plan.slug] = plan.job.path
    return plan


def _copy_session(plan: _Plan, row: SessionRow, out: Path, history: History,
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
        detail = e.strerror if isinstance(e, OSError) and e.strerror else _one_line(e)
        return _record_failure(history, job, out, f"cannot copy the finished report {row.report_dir} ({detail})", plan)
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
    return _skip_result(plan, session)


def _skip_result(plan: _Plan, row: SessionRow) -> ClipResult:
    return ClipResult(plan.job, "skipped", row.id, Path(row.report_dir), row.reps_by_side,
                      {s: r.reps for s, r in row.clinician_counts.items()})


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
    with _locked(out):
        staging_root = out / STAGING
        shutil.rmtree(staging_root, ignore_errors=True)  # what a killed batch left half-done
        staging_root.mkdir()
        try:
            models = _Models(options)
            if any(j.path.suffix.lower() not in POSES_SUFFIXES for j in jobs):
                models.video()  # a missing model stops the batch before it starts, not clip by clip
            plans: dict[int, _Plan] = {}
            todo: list[tuple[int, dict]] = []
            slugs: dict[str, Path] = {}  # report folder name -> the clip that has it in this run
            for key, job in enumerate(jobs):
                try:
                    job = _programme_dose(job, history)  # the patient's programme is the prescription
                    plan = _plan(key, job, options, models)
                except (InputError, SpecError, SideOverrideError) as e:
                    results[key] = _record_failure(history, job, out, _one_line(e))
                    continue
                except OSError as e:
                    results[key] = _record_failure(history, job, out, f"cannot read {job.path} ({e.strerror or e})")
                    continue
                plan = _own_folder(plan, slugs, out, history)
                done = [] if options.force else [
                    s for s in history.done_sessions(plan.run_key) if (Path(s.report_dir) / "report.html").is_file()]
                mine = [s for s in done if s.clip_path == str(job.path) and Path(s.report_dir).parent == out]
                if mine:
                    results[key] = _skip_result(plan, mine[0])
                    continue
                if done:  # analysed before, reported elsewhere (another --out, or the same content under another name)
                    same_clip = [s for s in done if s.clip_path == str(job.path)]
                    results[key] = _copy_session(plan, (same_clip or done)[0], out, history, same_clip)
                    continue
                plans[key] = plan
                todo.append((key, _task(plan, options, out, history)))
            if observer is not None:
                observer.planned(len(jobs), len(todo))
                for key, result in results.items():
                    observer.clip_finished(key, result)

            def on_outcome(key: int, outcome: dict) -> None:
                plan = plans[key]
                results[key] = _commit(plan, outcome, out, history)
                refresh_index(history, out)
                if observer is not None:
                    observer.clip_finished(key, results[key])

            if options.dask_address and todo:
                _run_on_dask(todo, options.dask_address, on_outcome)
            elif options.workers <= 1 or len(todo) <= 1:
                _run_in_process(todo, observer, on_outcome)
            else:
                _run_in_pool(todo, min(options.workers, len(todo)), observer, on_outcome)
            index = refresh_index(history, out)
        finally:
            shutil.rmtree(staging_root, ignore_errors=True)  # also when the database or the disk failed
    ordered = tuple(results[k] for k in sorted(results))
    return BatchSummary(ordered, index, time.monotonic() - t0)


def _task_programme(task: dict):
    from formcheck.programme import Programme

    return Programme.model_validate(task["programme"]) if task.get("programme") else None


def _programme_dose(job: ClipJob, history: History) -> ClipJob:
    """A row with a patient and no reps/hold takes its dose from the patient's programme."""
    item = history.programme(job.patient)[0] if job.patient and job.reps is None and job.hold_s is None else None
    item = item.item_for(job.exercise) if item is not None else None
    return job if item is None else replace(job, reps=item.reps, hold_s=item.hold_s)


def _task(plan: _Plan, options: BatchOptions, out: Path, history: History) -> dict:
    job = plan.job
    programme = history.programme(job.patient)[0] if job.patient else None
    return {
        "history_db": str(history.path.resolve()),
        "programme": programme.model_dump(mode="json") if programme is not None else None,
        "path": str(job.path), "exercise": job.exercise, "side": job.side, "reps": job.reps, "hold_s": job.hold_s,
        "patient": job.patient, "date": job.session_date, "extra": job.extra, "clip_sha256": plan.clip_sha256,
        "model": plan.model, "model_path": str(options.model_path) if options.model_path else None,
        "variant": options.variant, "max_side_px": options.max_side_px, "video": options.video,
        "analysis_fps": options.analysis_fps,
        "staging": str(out / STAGING / plan.slug), "final": str(out / plan.slug),
    }


def _record_failure(history: History, job: ClipJob, out: Path, error: str, plan: _Plan | None = None,
                    elapsed_s: float | None = None) -> ClipResult:
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


def _commit(plan: _Plan, outcome: dict, out: Path, history: History) -> ClipResult:
    """Publish one analysed clip: its folder and its session row together, or a recorded failure."""
    staging = out / STAGING / plan.slug
    if not outcome.get("ok"):
        shutil.rmtree(staging, ignore_errors=True)
        return _record_failure(history, plan.job, out, outcome.get("error", "unknown error"), plan, outcome.get("elapsed_s"))
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
        return _record_failure(history, plan.job, out, f"cannot publish {final} ({e.strerror or e})", plan)
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
