"""The clinician workflow: batch (resumable, SIGKILL-safe), history database, HTML report, corrections.

Most clips here are poses files built from joint angles (no model); the session's one batch of the
sample clips through the real model (conftest.sample_batch) is checked here too. The HTML pages are
opened in the system Chromium through Playwright when /usr/bin/chromium exists (conftest.py points
pytest-playwright at it).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from clinic_helpers import bridge_poses, hip_extension_poses, nobody_poses
from conftest import CLINIC_SAMPLES
from formcheck.batch import BatchOptions, ManifestError, plan_jobs, read_manifest, run_batch
from formcheck.history import SCHEMA_VERSION, History, HistoryError, export_rows, migrate

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_videos"
CHROMIUM = Path("/usr/bin/chromium")


def formcheck(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "formcheck", *args], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=timeout)


def write_manifest(path: Path, rows: list[dict]) -> Path:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, cols)
        w.writeheader()
        w.writerows(rows)
    return path


def done_rows(db: Path) -> list[tuple]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT run_key, clip_name, report_dir FROM sessions WHERE status = 'done'").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    return {
        "b1": bridge_poses(d / "b1.npz", 2, seed=1),
        "b2": bridge_poses(d / "b2.npz", 3, seed=2),
        "h1": hip_extension_poses(d / "h1.npz", 1, seed=3),
        "nobody": nobody_poses(d / "nobody.npz"),
    }


@pytest.fixture(scope="module")
def batch_run(clips, tmp_path_factory) -> dict:
    """One CLI batch with two workers over a manifest: three good clips, one empty, one missing."""
    work = tmp_path_factory.mktemp("batch")
    manifest = write_manifest(work / "clips.csv", [
        {"clip": str(clips["b1"]), "exercise": "bridge", "side": "", "patient": "alice", "date": "2025-03-03", "therapist": "dr x"},
        {"clip": str(clips["b2"]), "exercise": "bridge", "side": "", "patient": "alice", "date": "2025-03-10", "therapist": "dr x"},
        {"clip": str(clips["h1"]), "exercise": "standing_hip_extension", "side": "", "patient": "bob", "date": "2025-03-04", "therapist": "dr y"},
        {"clip": str(clips["nobody"]), "exercise": "bridge", "side": "", "patient": "bob", "date": "2025-03-04", "therapist": "dr y"},
        {"clip": "gone.npz", "exercise": "bridge", "side": "", "patient": "carol", "date": "", "therapist": ""},
    ])
    out, db = work / "out", work / "history.sqlite3"
    t0 = time.monotonic()
    first = formcheck("batch", "--manifest", str(manifest), "--workers", "2", "--out", str(out), "--db", str(db))
    first_s = time.monotonic() - t0
    second = formcheck("batch", "--manifest", str(manifest), "--workers", "2", "--out", str(out), "--db", str(db))
    return {"work": work, "out": out, "db": db, "manifest": manifest, "first": first, "second": second, "first_s": first_s}


# --- manifests ---------------------------------------------------------------------------------------


def test_manifest_keeps_extra_columns_and_finds_clips(clips, tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    m = write_manifest(tmp_path / "sub" / "m.csv", [
        {"clip": clips["b1"].name, "exercise": "bridge", "patient": "alice", "date": "2025-01-02", "room": "3", "reps": "8"},
        {"clip": str(clips["h1"]), "exercise": "standing_hip_extension", "side": "left", "patient": "", "date": "", "room": "", "reps": ""},
    ])
    jobs = read_manifest(m, search_dirs=[clips["b1"].parent])
    assert jobs[0].path == clips["b1"].resolve()  # a bare name, found in the folder given on the command line
    assert jobs[0].extra == {"room": "3"} and jobs[0].reps == 8 and jobs[0].patient == "alice"
    assert jobs[1].side == "left" and jobs[1].reps is None
    # relative to the current folder too (a manifest kept elsewhere, paths written from the repo root)
    monkeypatch.chdir(clips["b1"].parent.parent)
    rel = write_manifest(tmp_path / "sub" / "rel.csv", [{"clip": f"{clips['b1'].parent.name}/b1.npz", "exercise": "bridge"}])
    assert read_manifest(rel)[0].path == clips["b1"].resolve()


@pytest.mark.parametrize("row, message", [
    ({"clip": "x.npz", "exercise": "squats"}, "unknown exercise 'squats'; valid: "),
    ({"clip": "x.npz", "exercise": "bridge", "side": "left"}, "bridge is done with both legs together"),
    ({"clip": "x.npz", "exercise": "standing_hip_extension", "side": "up"}, "side 'up' is not one of"),
    ({"clip": "x.npz", "exercise": "bridge", "date": "03/04/2025"}, "is not a date like"),
    ({"clip": "x.npz", "exercise": "bridge", "reps": "ten"}, "reps 'ten' is not a number"),
    ({"clip": "", "exercise": "bridge"}, "the clip cell is empty"),
])
def test_bad_manifest_rows_are_caught_before_any_analysis(tmp_path, row, message):
    m = write_manifest(tmp_path / "m.csv", [row])
    with pytest.raises(ManifestError, match="m.csv line 2") as e:
        plan_jobs([], manifest=m)
    assert message in str(e.value)


def test_batch_without_exercise_or_manifest_is_a_usage_error(clips):
    proc = formcheck("batch", str(clips["b1"]))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "--exercise" in proc.stderr


# --- the batch ---------------------------------------------------------------------------------------


def test_batch_writes_reports_index_and_history(batch_run):
    first, out = batch_run["first"], batch_run["out"]
    assert first.returncode == 1, first.stderr  # two clips failed: the batch finished, and says so
    assert "Traceback" not in first.stderr + first.stdout
    assert "3 analysed, 0 skipped (already done), 2 failed" in first.stdout
    assert "nobody was seen" in first.stderr and "gone.npz" in first.stderr
    pages = sorted(out.glob("*/report.html"))
    assert len(pages) == 3 and (out / "index.html").is_file()
    for page in pages:
        folder = page.parent
        assert (folder / "report.json").is_file() and (folder / "annotated.mp4").is_file()
        report = json.loads((folder / "report.json").read_text())
        assert len(list((folder / "thumbs").glob("rep-*.jpg"))) == report["summary"]["reps_total"]
        assert "series" in report  # the chart's data
    assert not (out / ".staging").exists()
    index = (out / "index.html").read_text()
    assert "alice" in index and "bob" in index and "nobody was seen" in index and "gone.npz" in index
    with History(batch_run["db"]) as h:
        done = h.sessions(status="done")
        assert sorted((s.clip_name, s.reps_total) for s in done) == [("b1.npz", 2), ("b2.npz", 3), ("h1.npz", 2)]
        h1 = next(s for s in done if s.clip_name == "h1.npz")
        assert h1.reps_by_side == {"left": 1, "right": 1}
        assert h1.extra == {"therapist": "dr y"} and h1.patient == "bob" and h1.session_date == "2025-03-04"
        assert h1.spec_version == 1 and h1.model == "poses file (synthetic)" and len(h1.clip_sha256) == 64
        assert h.spec(h1.id)["id"] == "standing_hip_extension"
        errors = sorted({s.error for s in h.sessions(status="failed")})  # (the fixture ran the batch twice)
        assert len(errors) == 2 and errors[0].startswith("no such file") and errors[1].startswith("nobody was seen")


def test_second_run_skips_every_finished_clip(batch_run):
    second = batch_run["second"]
    assert second.returncode == 1  # the two bad clips are tried again, and fail again
    assert "0 analysed, 3 skipped (already done), 2 failed" in second.stdout
    assert len(done_rows(batch_run["db"])) == 3


def test_rerun_analyses_only_what_changed(clips, tmp_path):
    db, out = tmp_path / "h.sqlite3", tmp_path / "out"

    def statuses(paths, **kw) -> list[str]:
        force = kw.pop("force", False)
        jobs, _ = plan_jobs(paths, exercise="bridge", **kw)
        return [r.status for r in run_batch(jobs, BatchOptions(out, video="none", force=force), h).results]

    with History(db) as h:
        assert statuses([clips["b1"], clips["b2"]]) == ["analysed", "analysed"]
        # a prescribed dose is another analysis of the same clip
        assert statuses([clips["b1"]], reps=5) == ["analysed"]
        # a new clip beside the old ones: only it runs
        assert statuses([clips["b1"], clips["b2"], clips["h1"]]) == ["skipped", "skipped", "analysed"]
        assert statuses([clips["b1"]], force=True) == ["analysed"]
        # the same content under another name is not analysed again: the finished report is
        # published as that file's own session, in its own folder (issue 16, case 10)
        copy = tmp_path / "b1_copy.npz"
        copy.write_bytes(clips["b1"].read_bytes())
        assert statuses([copy]) == ["skipped"]
        assert statuses([copy]) == ["skipped"]
        done = h.sessions(status="done")
        copy_dirs = {s.report_dir for s in done if s.clip_path == str(copy.resolve())}
        b1_dirs = {s.report_dir for s in done if s.clip_path == str(clips["b1"].resolve())}
        assert len(done) == 6 and len(copy_dirs) == 1 and copy_dirs.isdisjoint(b1_dirs)


def _descendants(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for k in map(int, kids):
                if k not in out:
                    out.add(k)
                    todo.append(k)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc to follow the worker processes")
def test_sigkill_midway_loses_nothing_and_rerun_redoes_only_the_rest(tmp_path):
    clips = [bridge_poses(tmp_path / f"c{i}.npz", 2, seed=10 + i) for i in range(5)]
    db, out = tmp_path / "h.sqlite3", tmp_path / "out"
    args = ("batch", *map(str, clips), "-e", "bridge", "--workers", "2", "--video", "none", "--out", str(out), "--db", str(db), "-q")
    proc = subprocess.Popen([sys.executable, "-m", "formcheck", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    workers: set[int] = set()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        workers |= _descendants(proc.pid)
        if done_rows(db):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the batch finished before it could be killed: " + proc.stderr.read().decode()
    workers |= _descendants(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    before = done_rows(db)
    assert 1 <= len(before) < len(clips), before
    for folder in (Path(r[2]) for r in before):
        assert (folder / "report.html").is_file() and (folder / "report.json").is_file()
    # the workers die with their batch (no orphan keeps analysing)
    gone_by = time.monotonic() + 300  # only a hung test waits this long: the loop ends when they are gone
    while time.monotonic() < gone_by and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert workers and not [p for p in workers if _alive(p)]
    rerun = formcheck(*args[:-1])
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(clips) - len(before)} analysed, {len(before)} skipped" in rerun.stdout
    after = done_rows(db)
    assert len(after) == len(clips) and len({r[0] for r in after}) == len(clips)  # each clip once
    assert set(before) <= set(after)
    assert not (out / ".staging").exists()
    assert len(list(out.glob("*/report.html"))) == len(clips)


def test_one_bad_clip_does_not_stop_the_others_in_process(clips, tmp_path):
    with History(tmp_path / "h.sqlite3") as h:
        jobs, _ = plan_jobs([clips["nobody"], clips["b1"]], exercise="bridge")
        summary = run_batch(jobs, BatchOptions(tmp_path / "out", video="none"), h)
    assert [r.status for r in summary.results] == ["failed", "analysed"]
    assert "nobody was seen" in summary.results[0].error


# --- history, corrections, export ----------------------------------------------------------------------


def test_review_keeps_the_machine_count_and_shows_everywhere(batch_run, tmp_path):
    db, out = batch_run["db"], batch_run["out"]
    folder = next(p.parent for p in out.glob("b2-bridge-*/report.html"))
    r = formcheck("review", str(folder), "--reps", "4", "--note", "rep 4 was a partial lift", "--by", "dr x", "--db", str(db))
    assert r.returncode == 0, r.stderr
    assert "machine 3, clinician 4 (by dr x" in r.stdout
    # a per-side exercise needs --side; a session id works as well as a folder
    h1 = json.loads(formcheck("history", "--patient", "bob", "--json", "--db", str(db)).stdout)
    h1_id = next(s["id"] for s in h1 if s["status"] == "done")
    bad = formcheck("review", str(h1_id), "--reps", "2", "--db", str(db))
    assert bad.returncode == 2 and "give --side left or --side right" in bad.stderr
    assert formcheck("review", str(h1_id), "--reps", "2", "--side", "left", "--db", str(db)).returncode == 0
    # history: both counts
    sessions = json.loads(formcheck("history", "--patient", "alice", "--json", "--db", str(db)).stdout)
    b2 = next(s for s in sessions if s["clip"].endswith("b2.npz"))
    assert b2["machine_reps_by_side"] == {"both": 3} and b2["clinician_reps_by_side"] == {"both": 4}
    assert b2["reviews"][0]["by"] == "dr x" and b2["reviews"][0]["note"] == "rep 4 was a partial lift"
    table = formcheck("history", "--db", str(db)).stdout
    assert "4 (dr x)" in table
    # export: one row per rep, machine and clinician counts on each
    csv_path = tmp_path / "reps.csv"
    ex = formcheck("export", "--csv", str(csv_path), "--db", str(db))
    assert ex.returncode == 0, ex.stderr
    rows = list(csv.DictReader(open(csv_path)))
    b2_rows = [row for row in rows if row["clip"].endswith("b2.npz")]
    assert len(b2_rows) == 3 and {(row["machine_count"], row["clinician_count"], row["reviewed_by"]) for row in b2_rows} == {("3", "4", "dr x")}
    assert {row["rep"] for row in b2_rows} == {"1", "2", "3"} and b2_rows[0]["extra_therapist"] == "dr x"
    h1_rows = [row for row in rows if row["clip"].endswith("h1.npz")]
    assert {(row["count_side"], row["machine_count"], row["clinician_count"]) for row in h1_rows} == {("left", "1", "2"), ("right", "1", "")}
    # the report page and the index were redrawn with the clinician's count
    page = (folder / "report.html").read_text()
    assert 'class="clinician-count">4<' in page and "rep 4 was a partial lift" in page and "dr x" in page
    assert "4</td>" in (out / "index.html").read_text().split("b2.npz")[1].split("</tr>")[0]
    # the machine count is never overwritten, not even by hand
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError, match="never changed"):
        conn.execute("UPDATE sessions SET reps_total = 4 WHERE clip_name = 'b2.npz' AND status = 'done'")
    conn.close()


def test_review_of_an_analyze_folder_adds_it_to_the_history(clips, tmp_path):
    out = tmp_path / "single"
    assert formcheck("analyze", str(clips["b1"]), "-e", "bridge", "-o", str(out), "-q").returncode == 0
    db = tmp_path / "h.sqlite3"
    r = formcheck("review", str(out / "report.json"), "--reps", "3", "--db", str(db))
    assert r.returncode == 0, r.stderr
    assert "machine 2, clinician 3" in r.stdout
    with History(db) as h:
        (s,) = h.sessions()
        assert s.reps_by_side == {"both": 2} and s.clinician_counts["both"].reps == 3
        assert s.report_dir == str(out.resolve())


def test_default_database_is_in_the_user_data_folder(clips, tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path), "FORMCHECK_DB": ""}
    default = tmp_path / "formcheck" / "history.sqlite3"
    r = formcheck("history", env=env)
    assert r.returncode == 1 and f"no history database at {default}" in r.stderr
    assert not default.exists()  # a read-only command creates nothing
    b = formcheck("batch", str(clips["b1"]), "-e", "bridge", "--video", "none", "--out", str(tmp_path / "out"), "-q", env=env)
    assert b.returncode == 0, b.stderr
    assert default.is_file()
    r = formcheck("history", env=env)
    assert r.returncode == 0 and "b1.npz" in r.stdout


def test_export_of_a_session_without_reps_still_has_a_row(clips, tmp_path):
    with History(tmp_path / "h.sqlite3") as h:
        jobs, _ = plan_jobs([clips["h1"]], exercise="bridge")  # standing: no bridge is counted
        (res,) = run_batch(jobs, BatchOptions(tmp_path / "out", video="none"), h).results
        h.add_review(res.session_id, side="both", reps=1, note="", reviewer="me")
        rows = export_rows(h)
    assert len(rows) == 1 and rows[0]["machine_count"] == 0 and rows[0]["clinician_count"] == 1 and "rep" not in rows[0]


def test_migration_from_the_first_schema_keeps_the_data(tmp_path):
    db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    assert migrate(conn, target=1) == 1
    report = {"exercise": "bridge", "summary": {"reps_total": 2, "reps_by_side": {"both": 2}}, "reps": []}
    conn.execute(
        "INSERT INTO sessions (run_key, status, clip_path, clip_name, clip_sha256, exercise, spec_version, model,"
        " report_json, reps_total, report_dir, analysed_at, formcheck_version)"
        " VALUES ('k', 'done', '/c/a.mp4', 'a.mp4', 'abc', 'bridge', 1, 'm', ?, 2, '/r', '2024-01-01T00:00:00+00:00', '0.0.1')",
        (json.dumps(report),),
    )
    conn.close()
    with History(db) as h:
        assert h.schema_version == SCHEMA_VERSION
        (s,) = h.sessions()
        assert s.reps_by_side == {"both": 2} and s.extra == {} and s.clip_name == "a.mp4"
        h.add_review(s.id, side="both", reps=3, note="old session", reviewer="me")
        assert h.session(s.id).clinician_counts["both"].reps == 3
    # a database from a newer formcheck is refused, not damaged
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(HistoryError, match="newer formcheck"):
        History(db)
    r = formcheck("history", "--db", str(db))
    assert r.returncode == 1 and "newer formcheck" in r.stderr and "Traceback" not in r.stderr


# --- the HTML report in a browser -----------------------------------------------------------------------


# Resolves when the page's video can play (readyState >= 2) or after the timeout, with what a
# reviewer would see: the charts and thumbnails drawn, at a size.
PAGE_CHECK = """
() => new Promise(resolve => {
  const v = document.querySelector('video');
  const started = performance.now();
  function visible(el) { const r = el.getBoundingClientRect(); return r.width > 50 && r.height > 30; }
  function report() {
    const imgs = Array.from(document.querySelectorAll('figure.thumb img'));
    resolve({
      title: document.title,
      charts: Array.from(document.querySelectorAll('svg.chart')).filter(visible).length,
      chartPaths: document.querySelectorAll('svg.chart path').length,
      thumbs: imgs.length,
      thumbsDecoded: imgs.filter(i => i.complete && i.naturalWidth > 0 && visible(i)).length,
      video: v ? {readyState: v.readyState, duration: v.duration, width: v.videoWidth, error: v.error && v.error.code} : null,
      repRows: document.querySelectorAll('tr.rep').length,
      clinician: Array.from(document.querySelectorAll('.clinician-count')).map(e => e.textContent),
      command: (document.getElementById('review-cmd') || {}).textContent || null,
    });
  }
  function poll() {
    if (!v || v.readyState >= 2 || (v.error) || performance.now() - started > 20000) { report(); return; }
    setTimeout(poll, 100);
  }
  poll();
})
"""


def _check_page(browser_page, page: Path, shot: Path | None = None) -> dict:
    """Open a report page in Chromium: what it shows, and no console error, exception or failed load."""
    errors: list[str] = []

    def on_console(message) -> None:
        if message.type in ("error", "assert"):  # a failed load is reported here too
            errors.append(f"console: {message.text}")

    def on_error(exc) -> None:
        errors.append(f"exception: {exc}")

    browser_page.on("console", on_console)
    browser_page.on("pageerror", on_error)
    try:
        browser_page.goto(page.resolve().as_uri())
        state = browser_page.evaluate(PAGE_CHECK)
    finally:
        browser_page.remove_listener("console", on_console)
        browser_page.remove_listener("pageerror", on_error)
    assert errors == [], errors
    if shot is not None:
        browser_page.screenshot(path=shot, full_page=True)
    return state


def test_report_pages_work_in_a_browser(batch_run, tmp_path, page):
    browser_page = page
    browser_page.set_viewport_size({"width": 1280, "height": 900})
    out = batch_run["out"]
    for html in sorted(out.glob("*/report.html")):
        report = json.loads((html.parent / "report.json").read_text())
        state = _check_page(browser_page, html, tmp_path / f"{html.parent.name}.png")
        assert state["charts"] == 1 and state["chartPaths"] > 10
        n = report["summary"]["reps_total"]
        assert state["repRows"] == n and state["thumbs"] == n and state["thumbsDecoded"] == n
        assert state["video"] is not None and state["video"]["readyState"] >= 2, state
        assert state["video"]["duration"] == pytest.approx(report["quality"]["duration_s"], abs=0.5)
        assert state["command"].startswith("formcheck review ")
        png = (tmp_path / f"{html.parent.name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    index = _check_page(browser_page, out / "index.html")
    assert index["title"].startswith("formcheck: 3 sessions")
    links = browser_page.evaluate("Array.from(document.querySelectorAll('a')).map(a => a.href)")
    assert len(links) == 3 and all(Path(link.removeprefix("file://")).is_file() for link in links)


# --- the browser-playable video ---------------------------------------------------------------------------


def test_browser_video_is_h264_and_atomic(tmp_path):
    import imageio_ffmpeg

    from formcheck.sinks import BrowserVideoSink

    path = tmp_path / "v.mp4"
    sink = BrowserVideoSink(path, 15.0, (161, 120))  # odd width: cropped to even for yuv420p
    for i in range(20):
        sink.update(np.full((120, 161, 3), i * 10, np.uint8))
    assert not path.exists()  # nothing public before close
    sink.close()
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    frames = sum(1 for _ in reader)
    assert meta["codec"] == "h264" and tuple(meta["size"]) == (160, 120) and frames == 20
    assert path.read_bytes()[4:8] == b"ftyp"
    aborted = BrowserVideoSink(tmp_path / "a.mp4", 15.0, (64, 64))
    aborted.update(np.zeros((64, 64, 3), np.uint8))
    aborted.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]


# --- the real model -------------------------------------------------------------------------------------


@pytest.mark.model
def test_real_model_batch_over_the_sample_clips(sample_batch, request):
    """The session's one batch of the samples (conftest.sample_batch): two clips with their video,
    then every sample into the same history, the two already done skipped."""
    first, rest, out, db = sample_batch.first, sample_batch.rest, sample_batch.out, sample_batch.db
    n = len(sample_batch.manifest)
    assert first.returncode == 0, first.stderr
    assert "2 analysed, 0 skipped" in first.stdout
    assert rest.returncode == 0, rest.stderr
    assert f"{n - 2} analysed, 2 skipped" in rest.stdout
    with History(db, read_only=True) as h:
        done = h.sessions(status="done")
        assert sorted(s.clip_name for s in done) == sorted(sample_batch.manifest)
        for s in done:
            expected = sample_batch.manifest[s.clip_name]["expected"]
            assert s.reps_total == expected["reps_total"], s.clip_name
            assert sorted(h.report(s.id)["summary"]["faults_by_id"]) == sorted(expected["faults"])
            assert "sha256" in s.model and s.model.startswith("pose_landmarker_full")
    again = formcheck("batch", "--manifest", str(sample_batch.clinic_manifest), "--out", str(out), "--db", str(db))
    assert "0 analysed, 2 skipped" in again.stdout, again.stdout + again.stderr
    if CHROMIUM.exists():
        browser_page = request.getfixturevalue("page")  # only here: the counts above need no browser
        for name in CLINIC_SAMPLES:  # the two batched with their video
            html = Path(sample_batch.sessions[name].report_dir) / "report.html"
            state = _check_page(browser_page, html)
            assert state["video"]["readyState"] >= 2 and state["video"]["width"] > 0
            assert state["thumbsDecoded"] == state["repRows"] > 0


def test_review_rejects_and_accepts_reps_and_faults(clips, tmp_path):
    """A rejected rep lowers its side's count like `review --reps`; accepting it again restores it."""
    out, db = tmp_path / "out", tmp_path / "h.sqlite3"
    assert formcheck("batch", str(clips["b2"]), "--exercise", "bridge", "--out", str(out), "--db", str(db)).returncode == 0
    sid = str(json.loads(formcheck("history", "--json", "--db", str(db)).stdout)[0]["id"])
    r = formcheck("review", sid, "--reject-rep", "2", "--note", "half lift", "--by", "dr x", "--db", str(db))
    assert r.returncode == 0, r.stderr
    s = json.loads(formcheck("history", "--json", "--db", str(db)).stdout)[0]
    assert s["machine_reps_by_side"] == {"both": 3} and s["clinician_reps_by_side"] == {"both": 2}
    assert s["rejected_reps"] == [2] and s["verdicts"][0]["by"] == "dr x" and s["verdicts"][0]["note"] == "half lift"
    # rejecting the same rep twice does not lower the count twice; accepting it restores it
    assert formcheck("review", sid, "--reject-rep", "2", "--db", str(db)).returncode == 0
    assert json.loads(formcheck("history", "--json", "--db", str(db)).stdout)[0]["clinician_reps_by_side"] == {"both": 2}
    assert formcheck("review", sid, "--accept-rep", "2", "--db", str(db)).returncode == 0
    s = json.loads(formcheck("history", "--json", "--db", str(db)).stdout)[0]
    assert s["clinician_reps_by_side"] == {"both": 3} and s["rejected_reps"] == []
    # bad input: one line, usage exit, nothing stored
    for args, code, text in ((["--reject-rep", "x"], 2, "whole number"), (["--reject-rep", "9"], 1, "its reps are 1 to 3"),
                             (["--reject-fault", "nope"], 1, "no fault 'nope'"), ([], 2, "say what you reviewed")):
        bad = formcheck("review", sid, *args, "--db", str(db))
        assert bad.returncode == code and text in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
    with History(db, read_only=True) as h:
        assert h.schema_version == SCHEMA_VERSION and len(h.session(int(sid)).verdicts) == 3
        rows = export_rows(h)
    assert {r["rep"]: r["rep_verdict"] for r in rows} == {1: None, 2: "accept", 3: None}
