"""Assembles sources, the estimator, the evaluator and sinks for the commands (analyze, poses)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from formcheck.defaults import DEFAULT_ANALYSIS_FPS
from formcheck.errors import InputError
from formcheck.evaluator import ExerciseEvaluator
from formcheck.outputs import OutputPlan, build_sinks
from formcheck.report import SessionReport
from formcheck.session import close_stream, estimate, interrupt_requested, replay, run_session
from formcheck.spec import ExerciseSpec, load_spec, spec_ids
from formcheck.types import FeatureFrame, FrameResult, PoseSample, SourceInfo

Progress = Callable[[int, int | None], None]


def build_evaluator(exercise: str, side: str | None, *, reps: int | None = None,
                    hold_s: float | None = None, programme=None) -> tuple[ExerciseSpec, ExerciseEvaluator]:
    """The spec (with the prescribed reps/hold if given) and an evaluator for it.

    With no reps or hold given, a patient's ``programme`` item for this exercise is the
    prescription; the report says which it was.
    """
    prescribed_by, sets = ("options" if reps is not None or hold_s is not None else "spec"), None
    spec = load_spec(exercise)
    item = programme.item_for(spec.id) if programme is not None else None
    # the programme's own dose (live runs it item by item) counts as the programme's
    if item is not None and (reps, hold_s) in ((None, None), (item.reps, item.hold_s)):
        reps, hold_s, sets, prescribed_by = item.reps, item.hold_s, item.sets, "programme"
    spec = spec.with_target(reps=reps, hold_s=hold_s)
    evaluator = ExerciseEvaluator(spec, side=side)
    evaluator.prescribed_by, evaluator.sets = prescribed_by, sets
    return spec, evaluator


def is_poses(path: Path) -> bool:
    """Whether the input is a poses file rather than a video."""
    from formcheck.posesfile import is_poses_file

    return path.is_file() and is_poses_file(path)


def _counted(items: Iterable, total: int | None, progress: Progress | None) -> Iterator:
    try:
        for i, item in enumerate(items, 1):
            if progress is not None:
                progress(i, total)
            yield item
    finally:
        close_stream(items)


def _frames_done(frames: Iterable, total: int | None, progress: Progress | None) -> Iterator:
    """Progress in the clip's own frames, so a reduced analysis rate still ends at 100%."""
    try:
        for frame in frames:
            if progress is not None:
                progress(frame.index + 1 if total is None else min(frame.index + 1, total), total)
            yield frame
    finally:
        close_stream(frames)  # stops and joins the decode thread now, not when collected


def open_pose_stream(path: Path, *, model_path: Path | None, variant: str, max_side_px: int | None,
                     progress: Progress | None = None, analysis_fps: float | None = DEFAULT_ANALYSIS_FPS):
    """(stream of (frame, pose), source description, estimator to close or None, final source).

    Video is decoded ahead in a thread and sampled at ``analysis_fps`` (None: every frame), and
    the model runs in another; close the stream before the estimator. ``final source()``, called
    once the stream has ended, is the description with ``frames_decoded`` and, for a file that
    decoded well short of its container's frame count, ``ends_early: true``.
    """
    from formcheck.posesfile import read_poses, read_poses_header

    if is_poses(path):
        header = read_poses_header(path)
        size = header.get("frame_size_px")
        source = SourceInfo(
            kind="poses", path=str(path), recorded_from=header.get("source"), fps=header.get("fps"),
            frame_size_px=None if size is None else tuple(size), model_variant=header.get("model_variant"),
            analysis_fps=header.get("analysis_fps"),
        )
        if header.get("ends_early") is True:  # saved from a clip cut short: its analysis says so too
            source = replace(source, frame_count=header["frame_count"], frames_decoded=header["frames_decoded"],
                             ends_early=True)
        return replay(_counted(read_poses(path), header.get("n_frames"), progress)), source, None, lambda: source
    from formcheck.backends import pose_backend
    from formcheck.sources import DecodeCount, ends_early, prefetched, probe_video, video_frames

    info = probe_video(path)
    backend = pose_backend(variant=variant, model_path=model_path)
    estimator = backend.open()
    source = SourceInfo(
        kind="video", path=str(path), fps=round(info.fps, 3), frame_count=info.frame_count,
        frame_size_px=(info.width_px, info.height_px), rotation_deg=info.rotation_deg,
        model_variant=variant, model=backend.model_path.name,
        analysis_fps=None if analysis_fps is None else round(min(analysis_fps, info.fps), 3),
    )
    decoded = DecodeCount()
    frames = prefetched(video_frames(path, max_side_px=max_side_px, max_fps=analysis_fps, count=decoded),
                        name="formcheck-decode")

    def final_source() -> SourceInfo:
        # only a decoder that reached the end by itself says the file is short (Ctrl-C stops it early)
        short = decoded.ended and ends_early(info.frame_count, decoded.frames)
        return replace(source, frames_decoded=decoded.frames, ends_early=True if short else None)

    # the model runs in a thread of its own too: the caller's evaluator and sinks then work on the
    # other core instead of between inferences, where they would also cool the model's caches
    poses = prefetched(estimate(_frames_done(frames, info.frame_count, progress), estimator), name="formcheck-model")
    return poses, source, estimator, final_source


def _close(stream, estimator) -> None:
    """Stop the stream's threads before the model they use is closed."""
    close_stream(stream)
    if estimator is not None:
        estimator.close()


def check_writable(out_dir: Path) -> None:
    """Fail before the analysis, not after it, when the outputs cannot be written there."""
    import tempfile

    from formcheck.errors import OutputError

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as e:
        raise OutputError(f"cannot write to {out_dir} ({e.strerror or e}): choose another --out") from None


def _is_report_json(path: Path) -> bool:
    import json

    try:
        if path.stat().st_size > 512 * 1024 * 1024:
            return False
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(d, dict) and "schema_version" in d and "summary" in d and "exercise" in d


def _check_report_outputs(path: Path, out_dir: Path, annotate: bool) -> None:
    """The files analyze writes may replace only an earlier report (and never the input)."""
    from formcheck.io import OutputKind, check_output, csv_starts_with
    from formcheck.report import REP_CSV_COLUMNS

    report = out_dir / "report.json"
    check_output(report, OutputKind("formcheck analyze", "--out", _is_report_json), inputs=[path])
    check_output(out_dir / "reps.csv", OutputKind("formcheck analyze", "--out",
                                                  lambda p: csv_starts_with(p, REP_CSV_COLUMNS)), inputs=[path])
    if annotate:  # a video is known as ours by the report written beside it
        check_output(out_dir / "annotated.mp4", OutputKind("formcheck analyze", "--out",
                                                           lambda p: _is_report_json(report)), inputs=[path])


def _check_frames(path: Path, frames: int, detected: int) -> None:
    """Nothing to report is an input problem, not an empty report."""
    if frames == 0:
        raise InputError(f"{path}: no frames could be read; is the file complete?")
    if detected == 0:
        raise InputError(f"nobody was seen in {path}: film the whole body, well lit, and try again")


def _someone_seen(path: Path) -> Callable[[SessionReport], None]:
    def check(report: SessionReport) -> None:
        _check_frames(path, report.quality["frames"], int(report.quality["detected_fraction"] > 0))

    return check


def analyze(
    path: Path, spec: ExerciseSpec, evaluator: ExerciseEvaluator, outputs: Path | OutputPlan, *,
    model_path: Path | None = None, variant: str = "full", max_side_px: int | None = 960,
    progress: Progress | None = None, analysis_fps: float | None = DEFAULT_ANALYSIS_FPS,
    keep: Callable[[PoseSample], None] | None = None,
) -> SessionReport:
    """Analyse a clip or poses file into the outputs planned (a folder: report.json and reps.csv there).

    Every output is written atomically when the analysis ends. ``analysis_fps`` samples the video
    (None: every frame); a poses file is replayed as saved. ``keep(pose)`` sees every raw pose
    (for a suggestion afterwards).
    """
    from formcheck.io import missing_folders, remove_if_empty

    plan = outputs if isinstance(outputs, OutputPlan) else OutputPlan(folder=Path(outputs))
    if plan.folder is None:
        raise ValueError("analyze writes a report: the plan needs a folder")
    out_dir = plan.folder
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if plan.annotated_video and is_poses(path):
        raise InputError("--annotate needs the video clip: a poses file has no pixels to draw on")
    _check_report_outputs(path, out_dir, plan.annotated_video)
    created = missing_folders(out_dir)
    try:
        check_writable(out_dir)
        return run_clip(path, evaluator, lambda source: build_sinks(plan, spec, source), model_path=model_path,
                        variant=variant, max_side_px=max_side_px, progress=progress, analysis_fps=analysis_fps,
                        keep=keep)
    except BaseException:
        remove_if_empty(created)  # a failed analysis leaves no empty --out folder behind
        raise


def run_clip(
    path: Path, evaluator: ExerciseEvaluator, sinks_for: Callable[[SourceInfo], list] = lambda source: [], *,
    model_path: Path | None = None, variant: str = "full", max_side_px: int | None = 960,
    progress: Progress | None = None, analysis_fps: float | None = DEFAULT_ANALYSIS_FPS,
    keep: Callable[[PoseSample], None] | None = None,
) -> SessionReport:
    """One session over a clip or poses file into the sinks ``sinks_for(source)`` builds (none: in
    memory); the stream's threads and the model are closed whatever happens."""
    stream, source, estimator, final_source = open_pose_stream(
        path, model_path=model_path, variant=variant, max_side_px=max_side_px, progress=progress,
        analysis_fps=analysis_fps,
    )
    if keep is not None:
        stream = _tapped(stream, keep)
    try:
        return run_session(stream, evaluator, sinks_for(source), source=final_source, check=_someone_seen(path))
    finally:
        _close(stream, estimator)


def _tapped(stream, keep: Callable[[PoseSample], None]) -> Iterator:
    try:
        for frame, pose in stream:
            keep(pose)
            yield frame, pose
    finally:
        close_stream(stream)  # closing the tap closes (and joins) what it taps


def _catalogue() -> list[ExerciseSpec]:
    return [load_spec(i) for i in spec_ids()]


def recognise_clip(path: Path, *, model_path: Path | None = None, variant: str = "full", max_side_px: int | None = 960,
                   progress: Progress | None = None, analysis_fps: float | None = DEFAULT_ANALYSIS_FPS):
    """One model run over the clip: (its poses, their source description, the likely exercise)."""
    from formcheck.recognise import recognise

    if not path.exists():
        raise InputError(f"no such file: {path}")
    stream, _, estimator, final_source = open_pose_stream(path, model_path=model_path, variant=variant,
                                                          max_side_px=max_side_px, progress=progress,
                                                          analysis_fps=analysis_fps)
    poses = []
    try:
        for _, pose in stream:
            poses.append(pose)
            if interrupt_requested():
                raise KeyboardInterrupt  # at a frame boundary, with the threads closed below
    finally:
        _close(stream, estimator)
    _check_frames(path, len(poses), sum(p.detected for p in poses))
    source = final_source() if callable(final_source) else final_source
    recognition = recognise(poses, _catalogue())
    if recognition.exercise is None:
        raise InputError(f"could not tell which exercise {path.name} shows: name it with --exercise (see `formcheck exercises`)")
    return poses, source, recognition


def analyze_poses(poses: list[PoseSample], source: SourceInfo, evaluator: ExerciseEvaluator, out_dir: Path) -> SessionReport:
    """Analyse poses already in memory (from ``recognise_clip``); writes report.json and reps.csv."""
    check_writable(out_dir)
    sinks = build_sinks(OutputPlan(folder=out_dir), evaluator.spec, source)
    return run_session(replay(poses), evaluator, sinks, source=source)


def suggest(poses: Iterable[PoseSample], spec: ExerciseSpec, report: SessionReport) -> str | None:
    """When the given exercise counted nothing in a posture it is not done in, the likely one."""
    from formcheck.recognise import recognise, suggestion

    seen = report.quality.get("posture_seen", "unknown")
    if report.reps or spec.posture == "any" or seen in ("unknown", spec.posture):
        return None
    return suggestion(report, spec, recognise(list(poses), _catalogue()))


class PoseRecorder:
    """The session stage of `formcheck poses`: no exercise, each pose handed on as the model gave it."""

    def __init__(self):
        self.frames = 0
        self.detected = 0
        self.frame_size_px: tuple[int, int] | None = None

    def update(self, pose: PoseSample) -> FrameResult:
        """Count the frame (and whether someone was detected); no analysis."""
        self.frames += 1
        self.detected += pose.detected
        self.frame_size_px = pose.frame_size_px
        return FrameResult(pose=pose, features=FeatureFrame(pose.timestamp_ms, {}, False, pose.detected),
                           phases={}, counts={}, hold_s=0.0)

    def finish(self, source: dict | None = None, incomplete: bool = False) -> PosesRun:
        """The run's counts, with its source description."""
        return PosesRun(source or {}, incomplete, self.frames, self.detected, self.frame_size_px)


@dataclass(frozen=True)
class PosesRun:
    """What a pose-only session saw: the source (final counts), frames, frames with someone in them."""

    source: dict
    incomplete: bool
    frames: int
    detected: int
    frame_size_px: tuple[int, int] | None


def save_poses(path: Path, output: Path, *, model_path: Path | None = None, variant: str = "full",
               max_side_px: int | None = 960, progress: Progress | None = None,
               analysis_fps: float | None = DEFAULT_ANALYSIS_FPS) -> dict:
    """Run the model over a clip (sampled at ``analysis_fps``) and save its landmarks; returns frame counts."""
    from formcheck.io import OutputKind, check_output, missing_folders, remove_if_empty
    from formcheck.posesfile import is_poses_file

    if not path.exists():
        raise InputError(f"no such file: {path}")
    if is_poses(path):
        raise InputError(f"{path} is already a poses file")
    # never the clip itself, and only an earlier poses file is replaced
    check_output(output, OutputKind("formcheck poses", "--output", is_poses_file), inputs=[path])

    def check(run: PosesRun) -> None:
        if run.incomplete:
            raise KeyboardInterrupt  # at a frame boundary: no half-written file is kept
        _check_frames(path, run.frames, run.detected)

    created = missing_folders(output.parent)
    try:
        check_writable(output.parent)
        stream, source, estimator, final_source = open_pose_stream(
            path, model_path=model_path, variant=variant, max_side_px=max_side_px, progress=progress,
            analysis_fps=analysis_fps,
        )
        try:
            run = run_session(stream, PoseRecorder(), build_sinks(OutputPlan(poses_file=output), None, source),
                              source=final_source, check=check)
        finally:
            _close(stream, estimator)
    except BaseException:
        remove_if_empty(created)
        raise
    short = ({k: run.source.get(k) for k in ("frame_count", "frames_decoded")} | {"ends_early": True}
             if run.source.get("ends_early") else {})
    return {"frames": run.frames, "detected": run.detected / run.frames, "frame_size_px": run.frame_size_px, **short}
