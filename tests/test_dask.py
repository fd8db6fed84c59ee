"""`formcheck batch --dask ADDRESS` against a Dask LocalCluster on this machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinic_helpers import bridge_poses
from formcheck.history import History
from test_clinic import SAMPLES, formcheck, write_manifest

distributed = pytest.importorskip("distributed", reason="needs formcheck[distributed]")


@pytest.fixture(scope="module")
def cluster():
    # two single-threaded worker processes, as two machines would be; no dashboard to serve
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=50) as c:
        yield c


@pytest.mark.model
def test_dask_batch_lands_in_the_same_history_and_resumes(cluster, model_path, tmp_path):
    manifest = {m["clip"]: m for m in json.loads((SAMPLES / "manifest.json").read_text())}
    sample = "standing_hip_extension_knee_bent.mp4"
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000)
    rows = [
        {"clip": str(SAMPLES / sample), "exercise": manifest[sample]["exercise"], "patient": "p1"},
        {"clip": str(bridge_poses(tmp_path / "bridge.npz", reps=2)), "exercise": "bridge", "patient": "p2"},
        {"clip": str(broken), "exercise": "bridge", "patient": "p3"},
    ]
    m = write_manifest(tmp_path / "m.csv", rows)
    db, out = tmp_path / "h.sqlite3", tmp_path / "out"
    address = cluster.scheduler_address

    r = formcheck("batch", "--manifest", str(m), "--dask", address, "--out", str(out), "--db", str(db), "--video", "file")
    assert r.returncode != 0  # one clip failed, so the batch says so
    assert "2 analysed, 0 skipped (already done), 1 failed" in r.stdout, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    with History(db) as h:
        done = {s.clip_name: s for s in h.sessions(status="done")}
        failed = h.sessions(status="failed")
        assert done[sample].reps_total == manifest[sample]["expected"]["reps_total"]
        assert sorted(h.report(done[sample].id)["summary"]["faults_by_id"]) == sorted(manifest[sample]["expected"]["faults"])
        assert done["bridge.npz"].reps_total == 2
        assert [s.clip_name for s in failed] == ["broken.mp4"] and "cannot read" in failed[0].error
        for s in done.values():  # the worker's files came back whole, into the client's folder
            folder = Path(s.report_dir)
            assert folder.parent == out.resolve()
            assert {"report.json", "reps.csv", "report.html"} <= {p.name for p in folder.iterdir()}
        assert (Path(done[sample].report_dir) / "annotated.mp4").stat().st_size > 10_000
    assert not (out / ".staging").exists() or not any((out / ".staging").iterdir())
    assert (out / "index.html").is_file()

    again = formcheck("batch", "--manifest", str(m), "--dask", address, "--out", str(out), "--db", str(db))
    assert "0 analysed, 2 skipped (already done), 1 failed" in again.stdout, again.stdout + again.stderr


def test_unreachable_scheduler_is_one_line_and_writes_nothing(tmp_path):
    clip = bridge_poses(tmp_path / "bridge.npz", reps=1)
    db, out = tmp_path / "h.sqlite3", tmp_path / "out"
    r = formcheck("batch", str(clip), "-e", "bridge", "--dask", "tcp://127.0.0.1:9", "--out", str(out), "--db", str(db),
                  timeout=120)
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in lines[0], r.stderr
    with History(db) as h:
        assert h.sessions(status="done") == []
