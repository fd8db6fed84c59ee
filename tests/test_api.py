"""The public API in ``formcheck/__init__.py``: what the README's Python example uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import formcheck

SAMPLES = Path(__file__).resolve().parents[1] / "sample_videos"


def test_the_package_exports_its_api_lazily_and_names_the_valid_ones_for_a_typo():
    assert set(formcheck.__all__) <= set(dir(formcheck)) | {"SessionReport", "analyse_clip", "analyse_poses",
                                                           "load_spec", "read_report", "spec_ids"}
    assert "bridge" in formcheck.spec_ids()
    with pytest.raises(AttributeError, match="public: SessionReport, analyse_clip"):
        formcheck.analyse  # noqa: B018


def test_analyse_poses_counts_a_stream_from_any_source_with_the_prescription_given():
    from formcheck import synth
    from test_specs_on_synth import replay

    truth = synth.generate("bridge", reps=3, fault=None, view="side", body_seed=1, fps=20.0, seed=1)
    poses = replay(truth)
    report = formcheck.analyse_poses(poses, "bridge", hold_s=0)
    assert isinstance(report, formcheck.SessionReport)
    assert report.summary()["reps_total"] == 3
    assert report.target["hold_s"] == 0
    # a hold longer than the clip's: every lift is still a rep, each flagged as held too short
    strict = formcheck.analyse_poses(poses, formcheck.load_spec("bridge"), hold_s=30)
    assert strict.summary()["reps_total"] == 3
    assert all("short_hold" in {f.id for f in r.faults} for r in strict.reps)


def test_read_report_checks_the_shape_and_reads_a_folder(tmp_path):
    from formcheck import synth
    from test_specs_on_synth import replay

    truth = synth.generate("bridge", reps=2, fault=None, view="side", body_seed=1, fps=20.0, seed=1)
    report = formcheck.analyse_poses(iter(replay(truth)), "bridge", hold_s=0)
    (tmp_path / "report.json").write_text(json.dumps(report.to_dict()))
    assert formcheck.read_report(tmp_path)["summary"]["reps_total"] == 2
    (tmp_path / "report.json").write_text('{"summary": []}')
    with pytest.raises(ValueError):
        formcheck.read_report(tmp_path / "report.json")
    (tmp_path / "report.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a formcheck report"):
        formcheck.read_report(tmp_path)


@pytest.mark.model
def test_analyse_clip_runs_the_real_model_and_writes_nothing(model_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    entry = next(e for e in json.loads((SAMPLES / "manifest.json").read_text()) if e["clip"] == "bridge_correct.mp4")
    before = sorted(p.name for p in SAMPLES.iterdir())
    report = formcheck.analyse_clip(SAMPLES / entry["clip"], entry["exercise"], hold_s=1, model_path=model_path)
    assert report.summary()["reps_total"] == entry["expected"]["reps_total"]
    assert report.source["kind"] == "video" and not report.incomplete
    assert sorted(p.name for p in SAMPLES.iterdir()) == before and not any(tmp_path.iterdir())
    from formcheck.errors import InputError

    with pytest.raises(InputError, match="no such file"):
        formcheck.analyse_clip(tmp_path / "missing.mp4", "bridge")
