"""The one output factory: every output a session sink, built from the report object, never from a
file read back; the clip page shows what report.json says (NaN as the page showed it before)."""

from __future__ import annotations

import enum
import json
from pathlib import Path

import numpy as np
import pytest

from clinic_helpers import bridge_poses
from formcheck.htmlreport import ClipMeta, clip_page_html
from formcheck.outputs import ClipPage, OutputPlan, build_sinks
from formcheck.pipeline import PoseRecorder, build_evaluator
from formcheck.posesfile import read_poses, read_poses_header
from formcheck.session import replay, run_session
from formcheck.sinks import json_ready, report_document
from formcheck.types import PoseSample, SourceInfo

SOURCE = SourceInfo(kind="poses", path="bridge.npz", fps=30.0, frame_size_px=(640, 480), model_variant="synthetic")


def _with_gaps(poses: list[PoseSample]) -> list[PoseSample]:
    """Every 7th frame unseen: NaN in the series, the rep peaks and the quality numbers."""
    return [PoseSample.missing(p.timestamp_ms, p.frame_size_px) if i % 7 == 3 else p for i, p in enumerate(poses)]


@pytest.fixture(scope="module")
def gappy_poses(tmp_path_factory) -> list[PoseSample]:
    return _with_gaps(list(read_poses(bridge_poses(tmp_path_factory.mktemp("clip") / "bridge.npz", reps=2))))


def _session(poses, plan: OutputPlan):
    spec, evaluator = build_evaluator("bridge", None)
    return run_session(replay(poses), evaluator, build_sinks(plan, spec, SOURCE), source=SOURCE), spec


def _has_null(obj) -> bool:
    if isinstance(obj, dict):
        return any(_has_null(v) for v in obj.values())
    if isinstance(obj, list):
        return any(_has_null(v) for v in obj)
    return obj is None


def test_the_clip_page_is_the_page_of_report_json_read_back(gappy_poses, tmp_path, monkeypatch):
    """The page is built from the report, and equals the page the batch used to build from the file."""
    import formcheck.history

    monkeypatch.setattr(formcheck.history, "utc_now", lambda: "2026-01-02T03:04:05Z")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")  # the chart's SVG is dated by matplotlib otherwise
    meta = ClipMeta(clip_path="bridge.npz", patient="p1", report_dir=str(tmp_path), history_db="h.sqlite3")
    report, spec = _session(gappy_poses, OutputPlan(folder=tmp_path, include_series=True, review_media=True,
                                                    page=ClipPage(meta, "embed")))
    assert report.reps, "the gaps must leave reps to show"
    written = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert _has_null(written["series"]), "the report must hold NaN (as null): the chart draws the gaps"
    assert report_document(report, include_series=True) == written
    assert json.loads((tmp_path / "page.json").read_text(encoding="utf-8")) == {"video": "embed",
                                                                               "history_db": "h.sqlite3"}
    # the old way: report.json read back, the page drawn from it (with the thumbnails beside it)
    old_way = clip_page_html(report=written, spec=spec.model_dump(mode="json"),
                             meta=ClipMeta(**{**meta.__dict__, "analysed_at": "2026-01-02T03:04:05Z"}),
                             folder=tmp_path, video="embed", pictures=_pictures(spec))
    assert "data:image/jpeg" in old_way
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == old_way


def _pictures(spec):
    from formcheck.pictures import picture_bytes

    return picture_bytes(spec.id, spec.version, spec.kind)


def test_json_ready_gives_exactly_what_the_json_file_reads_back():
    """Enums, numpy values, NaN, tuples and paths come out as the plain values json.loads gives."""

    class Side(str, enum.Enum):
        LEFT = "left"

    class Level(enum.IntEnum):
        HIGH = 2

    obj = {"side": Side.LEFT, "level": Level.HIGH, 3: (np.float32(1.5), np.nan, np.int64(4)),
           "arr": np.array([1.0, np.inf]), "path": Path("a/b"), "ok": np.bool_(True), "none": None}
    ready = json_ready(obj)
    assert ready == json.loads(json.dumps(ready, allow_nan=False))
    assert type(ready["side"]) is str and str(ready["side"]) == "left"  # a page shows "left", not "Side.LEFT"
    assert type(ready["level"]) is int and type(ready["ok"]) is bool
    assert ready["3"] == [1.5, None, 4] and ready["arr"] == [1.0, None] and ready["path"] == "a/b"


def test_a_pose_only_session_saves_the_poses_it_sees(gappy_poses, tmp_path):
    """`formcheck poses` is the session loop with a poses-file sink: every pose kept, missed ones as NaN."""
    out = tmp_path / "saved.npz"
    source = SourceInfo(kind="video", path="/clips/bridge.mp4", fps=30.0, frame_count=len(gappy_poses) + 9,
                        frames_decoded=len(gappy_poses), ends_early=True, model_variant="full", analysis_fps=15.0)
    run = run_session(replay(gappy_poses), PoseRecorder(), build_sinks(OutputPlan(poses_file=out), None, source),
                      source=source)
    assert (run.frames, run.detected) == (len(gappy_poses), sum(p.detected for p in gappy_poses))
    header = read_poses_header(out)
    assert header["source"] == {"name": "bridge.mp4"} and header["model_variant"] == "full"
    assert (header["fps"], header["analysis_fps"], header["n_frames"]) == (30.0, 15.0, len(gappy_poses))
    assert (header["ends_early"], header["frames_decoded"], header["frame_count"]) == (
        True, len(gappy_poses), len(gappy_poses) + 9)  # a replay of a clip cut short says so
    saved = list(read_poses(out))
    assert [p.detected for p in saved] == [p.detected for p in gappy_poses]
    seen = [(a, b) for a, b in zip(saved, gappy_poses) if b.detected]
    assert all(np.allclose(a.image_xyz_px, b.image_xyz_px, atol=1e-3) for a, b in seen)


def test_a_pose_only_session_that_fails_saves_nothing(gappy_poses, tmp_path):
    out = tmp_path / "saved.npz"

    def broken():
        yield from replay(gappy_poses[:10])
        raise RuntimeError("decoder died")

    with pytest.raises(RuntimeError):
        run_session(broken(), PoseRecorder(), build_sinks(OutputPlan(poses_file=out), None, SOURCE), source=SOURCE)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_plan_that_cannot_be_written_is_refused_at_once():
    with pytest.raises(ValueError, match="report folder"):
        OutputPlan(review_media=True)
    with pytest.raises(ValueError, match="poses"):
        OutputPlan(folder=Path("out"), poses_file=Path("p.npz"))
    with pytest.raises(ValueError, match="annotated.mp4"):
        OutputPlan(folder=Path("out"), annotated_video=True, review_media=True)
    with pytest.raises(ValueError, match="embed, file, none"):
        OutputPlan(folder=Path("out"), review_media=True, page=ClipPage(ClipMeta(clip_path="a"), "inline"))


def test_an_empty_live_session_writes_no_report(tmp_path):
    """Live: an exercise that never began counting leaves no report folder behind."""
    spec, evaluator = build_evaluator("bridge", None)
    sinks = build_sinks(OutputPlan(folder=tmp_path / "live", skip_empty=True), spec, SOURCE)
    report = run_session(iter(()), evaluator, sinks, source=SOURCE)
    assert report.quality["frames"] == 0 and not (tmp_path / "live").exists()


def test_the_batch_worker_never_reads_a_report_file_back(tmp_path, monkeypatch):
    """The history row and the page come from the report object: reading report.json fails the clip."""
    from formcheck.batch import BatchOptions, plan_jobs, run_batch
    from formcheck.history import History

    clip = bridge_poses(tmp_path / "bridge.npz", reps=2)
    read_text, open_ = Path.read_text, Path.open

    def guard(name):
        if name == "report.json":
            raise AssertionError("report.json was read back")

    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: guard(self.name) or read_text(self, *a, **k))
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: guard(self.name) or open_(self, *a, **k))
    with History(tmp_path / "h.sqlite3") as h:
        jobs, _ = plan_jobs([clip], exercise="bridge")
        (res,) = run_batch(jobs, BatchOptions(tmp_path / "out", video="none"), h).results
        assert res.status == "analysed", res.error
        row = h.session(res.session_id)
        monkeypatch.undo()
        on_disk = json.loads((res.report_dir / "report.json").read_text(encoding="utf-8"))
        assert h.report(row.id) == on_disk  # the history holds what the file says
    assert (res.report_dir / "report.html").is_file()
