"""The one place a command's outputs are chosen: each is a session sink, built from the report.

A command says which outputs it wants in an ``OutputPlan``; ``build_sinks`` turns the plan into
the sinks ``session.run_session`` feeds and closes with the report object. No output is built
from another output's file read back. Adding an output format is a sink class (sinks.py) and a
field here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from formcheck.types import SourceInfo

if TYPE_CHECKING:
    from formcheck.htmlreport import ClipMeta
    from formcheck.spec import ExerciseSpec

REVIEW_VIDEO_MODES = ("embed", "file", "none")  # the clip page's video: inlined, linked beside it, or none


def analysed_fps(source: SourceInfo) -> float:
    """The rate of the analysed frames: what videos drawn from them play at."""
    return source.analysis_fps or source.fps or 30.0


@dataclass(frozen=True)
class ClipPage:
    """The clinician's page of one clip (batch): what it says about the clip, and its video mode."""

    meta: ClipMeta  # its analysed_at is stamped when the page is written
    video: str = "embed"


@dataclass(frozen=True)
class OutputPlan:
    """Which outputs a command wants, and where.

    ``folder`` gets report.json and reps.csv (``include_series``: with the per-frame values;
    ``skip_empty``: not for a session that analysed no frame), and, when asked, annotated.mp4
    drawn on every frame (``annotated_video``), the review media (``review_media``: thumbnails of
    every rep, and an H.264 annotated.mp4 unless the page's video is "none") and the clip's
    report.html (``page``). ``poses_file`` saves the poses a session sees; it is written by the
    pose-only session of `formcheck poses` (an exercise evaluator hands on smoothed poses), so it
    never comes with a report folder.
    """

    folder: Path | None = None
    include_series: bool = False
    skip_empty: bool = False
    annotated_video: bool = False
    review_media: bool = False
    page: ClipPage | None = None
    poses_file: Path | None = None

    def __post_init__(self) -> None:
        wants_folder = self.annotated_video or self.review_media or self.page is not None or self.include_series
        if self.folder is None and wants_folder:
            raise ValueError("annotated video, review media, series and the page go into a report folder: name one")
        if self.poses_file is not None and self.folder is not None:
            raise ValueError("a poses file is saved by a pose-only session (`formcheck poses`), not beside a report")
        if self.annotated_video and self.review_media:
            raise ValueError("the annotated video and the review media would both write annotated.mp4: choose one")
        if self.page is not None and self.page.video not in REVIEW_VIDEO_MODES:
            raise ValueError(f"unknown video mode {self.page.video!r}; valid: {', '.join(REVIEW_VIDEO_MODES)}")


def build_sinks(plan: OutputPlan, spec: ExerciseSpec | None, source: SourceInfo) -> list:
    """The session sinks that write ``plan``'s outputs for ``spec`` over ``source``, in closing order.

    The page comes last: it embeds the thumbnails and video the review media have written by then.
    ``spec`` is None for a pose-only session (a poses file needs no exercise).
    """
    from formcheck.sinks import AnnotatedVideoSink, PosesFileSink, ReportFilesSink, ReviewMediaSink

    sinks: list = []
    folder = plan.folder
    if folder is not None:
        sinks.append(ReportFilesSink(folder, include_series=plan.include_series, skip_empty=plan.skip_empty))
        if plan.review_media:
            video = plan.page is None or plan.page.video != "none"
            sinks.append(ReviewMediaSink(folder, spec, fps=analysed_fps(source), video=video))
        if plan.annotated_video:
            # one image per analysed frame, played at the rate they were analysed
            sinks.append(AnnotatedVideoSink(folder / "annotated.mp4", spec, fps=analysed_fps(source)))
        if plan.page is not None:
            from formcheck.htmlreport import ClipPageSink

            sinks.append(ClipPageSink(folder, spec, plan.page.meta, video=plan.page.video))
    if plan.poses_file is not None:
        header = {"source": {"name": Path(source.path or "").name}, "fps": source.fps,
                  "model_variant": source.model_variant, "analysis_fps": source.analysis_fps}
        sinks.append(PosesFileSink(plan.poses_file, header))
    return sinks
