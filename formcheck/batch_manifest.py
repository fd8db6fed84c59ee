"""Which clips a batch analyses, and what makes two analyses the same.

The manifest (a CSV of clips with their exercise, side, patient, date and dose) and the command
line become validated `ClipJob`s; each job's identity (clip content, spec, pose model and
settings, hashed into a run key) decides whether a finished analysis can be reused.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from formcheck.defaults import DEFAULT_ANALYSIS_FPS
from formcheck.errors import InputError

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm")
POSES_SUFFIXES = (".npz",)
MANIFEST_COLUMNS = ("clip", "exercise", "side", "patient", "date", "reps", "hold_s")


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
    """How a batch runs: where it writes, how many workers, which model, video and analysis settings."""
    out_dir: Path
    workers: int = 1
    model_path: Path | None = None
    variant: str = "full"
    max_side_px: int | None = 960
    video: str = "embed"  # embed | file | none
    force: bool = False
    analysis_fps: float | None = DEFAULT_ANALYSIS_FPS
    dask_address: str | None = None  # a Dask distributed scheduler: run the clips there, not in local processes



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
class ClipPlan:
    """One job with its identity: clip hash, run key (what makes two analyses the same) and report folder."""
    key: int
    job: ClipJob
    clip_sha256: str
    run_key: str
    spec_version: int
    spec_sha256: str
    model: str
    slug: str
    is_poses: bool


def slug(path: Path, exercise: str, run_key: str, *, by_path: bool = False) -> str:
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


class ModelIdentity:
    """The pose model's identity (file hash), worked out once per batch."""

    def __init__(self, options: BatchOptions):
        self.options = options
        self._video: tuple[str, str] | None = None

    def video(self) -> tuple[str, str]:
        """The video model's (description, file hash); the model file is hashed on first use."""
        if self._video is None:
            from formcheck.backends import pose_backend

            backend = pose_backend(variant=self.options.variant, model_path=self.options.model_path)
            self._video = (backend.identity(), backend.digest)
        return self._video


def plan_clip(key: int, job: ClipJob, options: BatchOptions, models: ModelIdentity) -> ClipPlan:
    """Hash a job's clip, spec, model and settings into its identity and report folder name."""
    from formcheck.pipeline import build_evaluator, is_poses
    from formcheck.io import digest_json, sha256_file
    from formcheck.posesfile import read_poses_header

    if not job.path.is_file():
        raise InputError(f"no such file: {job.path}")
    spec, _ = build_evaluator(job.exercise, job.side, reps=job.reps, hold_s=job.hold_s)
    spec_sha = digest_json(spec.model_dump(mode="json"))
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
    run_key = digest_json(identity)
    return ClipPlan(key, job, clip_sha, run_key, spec.version, spec_sha, model, slug(job.path, spec.id, run_key), poses)

