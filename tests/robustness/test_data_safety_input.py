"""Data safety, part B (issue 16, cases 4, 5, 6, 9 and 11): input checks and escaping.

Each case runs the real command line (a fresh process) where the user would meet it, and checks
the one line the user sees, the exit code, and that nothing of theirs was changed or half-written.
The rows of README.md's section "Data safety: input and escaping" list them.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
BRIDGE = ROOT / "sample_videos" / "bridge_correct.mp4"  # 143 frames, 3 bridges
WIDE = {"COLUMNS": "250"}  # tables wide enough that no cell is folded across lines

sys.path.insert(0, str(TESTS))
from clinic_helpers import bridge_poses  # noqa: E402


def formcheck(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "formcheck", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


def one_line_error(proc: subprocess.CompletedProcess, code: int, *words: str) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout[-1500:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for w in words:
        assert w.lower() in lines[0].lower(), lines[0]
    return lines[0]


def nothing_written(out: Path) -> None:
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()], sorted(out.rglob("*"))


def session_ids(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM sessions ORDER BY id")]


def review_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM reviews").fetchone()[0]


# --------------------------------------------------------------------------- case 4: a clip cut short


def test_a_container_a_few_frames_off_is_not_called_short():
    from formcheck.sources import ends_early

    assert not ends_early(455, 453)  # a real clip: the index says 455, 453 decode
    assert not ends_early(203, 202)
    assert not ends_early(143, 143) and not ends_early(None, 10) and not ends_early(0, 0)
    assert not ends_early(143, 138)  # 5 missing: within the tolerance
    assert ends_early(143, 137)
    assert ends_early(143, 82)  # `head -c 70%`
    assert ends_early(10_000, 9_790) and not ends_early(10_000, 9_810)  # 2% of a long clip


def test_the_decoder_counts_the_frames_a_truncated_file_gives(tmp_path):
    from formcheck.sources import DecodeCount, video_frames

    cut = tmp_path / "cut.mp4"
    cut.write_bytes(BRIDGE.read_bytes()[: BRIDGE.stat().st_size * 70 // 100])
    whole, short = DecodeCount(), DecodeCount()
    list(video_frames(BRIDGE, max_fps=5.0, count=whole))  # sampled: the skipped frames are decoded too
    list(video_frames(cut, max_fps=5.0, count=short))
    assert whole == DecodeCount(frames=143, ended=True)
    assert short.ended and 50 < short.frames < 110


@pytest.fixture(scope="module")
def truncated_clip(tmp_path_factory) -> Path:
    clip = tmp_path_factory.mktemp("cut") / "bridge cut.mp4"
    clip.write_bytes(BRIDGE.read_bytes()[: BRIDGE.stat().st_size * 70 // 100])
    return clip


@pytest.mark.model
def test_truncated_clip_is_reported_incomplete_with_a_notice(truncated_clip, tmp_path):
    out = tmp_path / "out"
    proc = formcheck("analyze", str(truncated_clip), "-e", "bridge", "-o", str(out), "-q")
    one_line_error(proc, 1, "ends early", "of 143 frames", "copy it again")
    report = json.loads((out / "report.json").read_text())
    assert report["incomplete"] is True
    assert report["source"]["ends_early"] is True and report["source"]["frame_count"] == 143
    assert report["source"]["frames_decoded"] < 143 * 0.8
    assert re.match(r"The video ends early: \d+ of 143 frames could be decoded", report["notices"][0])
    assert "copy it again" in report["notices"][0]
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "reps.csv"]


@pytest.mark.model
def test_batch_records_a_truncated_clip_as_incomplete_not_analysed(truncated_clip, tmp_path):
    db, out = tmp_path / "h.db", tmp_path / "out"
    proc = formcheck("batch", str(truncated_clip), "-e", "bridge", "--video", "none", "--db", str(db), "--out", str(out),
                     env=WIDE)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "0 analysed, 0 skipped (already done), 1 incomplete, 0 failed" in proc.stdout
    assert "incomplete" in proc.stdout.split("0 analysed")[0]  # the table's result column
    assert "end early" in proc.stderr and "copy it again" in proc.stderr
    history = json.loads(formcheck("history", "--db", str(db), "--json").stdout)
    assert len(history) == 1
    folder = Path(history[0]["report_dir"])
    report = json.loads((folder / "report.json").read_text())
    assert report["incomplete"] is True and report["notices"][0].startswith("The video ends early")


@pytest.mark.model
def test_poses_saved_from_a_truncated_clip_carry_the_shortfall_into_the_analysis(truncated_clip, tmp_path):
    poses = tmp_path / "cut.npz"
    proc = formcheck("poses", str(truncated_clip), "-o", str(poses))
    one_line_error(proc, 1, "ends early", "of 143 frames", "copy it again")
    proc = formcheck("analyze", str(poses), "-e", "bridge", "-o", str(tmp_path / "out"), "-q")
    one_line_error(proc, 1, "saved from a clip that ends early", "of 143 frames")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["incomplete"] is True and report["notices"][0].startswith("The video ends early")


def test_a_poses_header_claiming_a_shortfall_must_say_it_in_numbers(tmp_path):
    bad = _poses_npz(tmp_path / "p.npz", {**HEADER, "ends_early": "yes", "frame_count": 143}, np.array([0, 100, 200.0]))
    proc = formcheck("analyze", str(bad), "-e", "bridge", "-o", str(tmp_path / "out"))
    one_line_error(proc, 1, "not a usable poses file", "ends_early")
    nothing_written(tmp_path / "out")


# --------------------------------------------------------------------------- case 5: user text in the terminal


def test_names_notes_and_files_are_shown_literally_and_never_break_a_command(tmp_path):
    clip = bridge_poses(tmp_path / "c [bold]x.npz", 1, seed=4)
    db, out = tmp_path / "h.db", tmp_path / "out"
    patient = "Doe [ward b] [/]"
    proc = formcheck("batch", str(clip), "-e", "bridge", "--patient", patient, "--video", "none",
                     "--db", str(db), "--out", str(out), env=WIDE)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert patient in proc.stdout and "c [bold]x.npz" in proc.stdout
    (sid,) = session_ids(db)

    review = formcheck("review", str(sid), "--reps", "1", "--by", "[/]", "--note", "[red]rep 1[/red]", "--db", str(db),
                       env=WIDE)
    assert review.returncode == 0, review.stderr
    assert "Traceback" not in review.stderr + review.stdout
    assert "by [/]," in review.stdout and "c [bold]x.npz" in review.stdout
    assert review_count(db) == 1  # stored once, and the command did not fail after storing it

    history = formcheck("history", "--db", str(db), env=WIDE)
    assert history.returncode == 0, history.stderr
    assert "Traceback" not in history.stderr + history.stdout
    assert patient in history.stdout and "c [bold]x.npz" in history.stdout and "([/])" in history.stdout


def test_an_error_line_shows_the_file_name_literally(tmp_path):
    proc = formcheck("analyze", str(tmp_path / "[/]gone [red].mp4"), "-e", "bridge", "-o", str(tmp_path / "out"))
    line = one_line_error(proc, 1, "no such file")
    assert "[/]gone [red].mp4" in line
    nothing_written(tmp_path / "out")


# --------------------------------------------------------------------------- case 6: CSV cells


def test_csv_cells_that_start_like_formulas_are_defused_and_numbers_stay_numbers(tmp_path):
    from formcheck.sinks import write_csv_atomic

    row = {"formula": "=1+2", "plus": "+1-555", "minus": "-2+3", "at": "@SUM(A1)", "tab": "\t=1", "cr": "\r=1",
           "number": -3.5, "number_text": "-3.5", "exp": "-1e-3", "int": -7, "name": "Doe", "none": None}
    path = write_csv_atomic(tmp_path / "x.csv", [row], list(row))
    with open(path, newline="") as fh:
        got = next(csv.DictReader(fh))
    assert got["formula"] == "'=1+2" and got["plus"] == "'+1-555" and got["minus"] == "'-2+3"
    assert got["at"] == "'@SUM(A1)" and got["tab"] == "'\t=1" and got["cr"] == "'\r=1"
    assert got["number"] == "-3.5" and got["number_text"] == "-3.5" and got["exp"] == "-1e-3" and got["int"] == "-7"
    assert got["name"] == "Doe" and got["none"] == ""


def test_export_writes_no_live_formula_from_a_patient_or_manifest_column(tmp_path):
    clip = bridge_poses(tmp_path / "b.npz", 2, seed=5)
    manifest = tmp_path / "clips.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["clip", "exercise", "patient", "link", "delta"])
        w.writerow([str(clip), "bridge", "=1+2", '=HYPERLINK("http://example.invalid","click")', "-3.5"])
    db, out, rows_csv = tmp_path / "h.db", tmp_path / "out", tmp_path / "rows.csv"
    assert formcheck("batch", "--manifest", str(manifest), "--video", "none", "--db", str(db), "--out", str(out),
                     "-q").returncode == 0
    proc = formcheck("export", "--csv", str(rows_csv), "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    with open(rows_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2
    for r in rows:
        assert r["patient"] == "'=1+2"
        assert r["extra_link"].startswith("'=HYPERLINK(")
        assert r["extra_delta"] == "-3.5"
        float(r["start_s"]), float(r["rom_deg"])  # numbers are still numbers
        for cell in r.values():
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            assert not cell.startswith("-") or re.fullmatch(r"-[\d.e+-]+", cell), cell


# --------------------------------------------------------------------------- case 9: numbers that must be finite


@pytest.fixture()
def tiny_poses(tmp_path) -> Path:
    from formcheck.posesfile import PosesWriter
    from kinematics import SIZE, pose_2d, stream

    path = tmp_path / "p.npz"
    with PosesWriter(path, {"fps": 10.0, "frame_size_px": list(SIZE), "model_variant": "synthetic"}) as w:
        for s in stream([pose_2d(posture="supine", hip_flex=(50, 50), knee_flex=(90, 90))] * 5, 10.0):
            w.update(s)
    return path


def _bridge_with(change) -> str:
    doc = yaml.safe_load((ROOT / "exercise_specs" / "bridge.yaml").read_text())
    change(doc)
    return yaml.safe_dump(doc)


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d["faults"][0].update(above=float("nan")), "faults.0.above"),
    (lambda d: d["rep"].update(rest_range_deg=[float("nan"), float("nan")]), "rep.rest_range_deg"),
    (lambda d: d["rep"].update(max_duration_s=float("inf")), "rep.max_duration_s"),
    (lambda d: d["faults"][0].update(below=float("-inf")), "faults.0.below"),
    (lambda d: d["rep"].update(peak_limit_deg=float("-inf")), "rep.peak_limit_deg"),
], ids=["nan fault limit", "nan rest range", "inf duration", "-inf fault limit", "-inf peak limit"])
def test_spec_with_a_non_finite_number_is_refused_naming_the_field(tmp_path, tiny_poses, change, field):
    spec = tmp_path / "my_spec.yaml"
    spec.write_text(_bridge_with(change))
    assert ".nan" in spec.read_text() or ".inf" in spec.read_text()
    proc = formcheck("analyze", str(tiny_poses), "-e", str(spec), "-o", str(tmp_path / "out"))
    one_line_error(proc, 1, "my_spec.yaml", field, "finite")
    nothing_written(tmp_path / "out")


def test_spec_with_a_huge_version_is_refused_before_any_batch_work(tmp_path, tiny_poses):
    spec = tmp_path / "my_spec.yaml"
    spec.write_text(_bridge_with(lambda d: d.update(version=10**30)))
    db, out = tmp_path / "h.db", tmp_path / "out"
    proc = formcheck("batch", str(tiny_poses), "-e", str(spec), "--db", str(db), "--out", str(out))
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "version" in proc.stderr and "less than or equal" in proc.stderr
    assert not list(out.glob("*/report.json"))


def _poses_npz(path: Path, header: dict, t: np.ndarray) -> Path:
    n = len(t)
    np.savez_compressed(path, header=np.array(json.dumps(header)), timestamp_ms=t.astype(np.float64),
                        image_xyz_px=np.full((n, 33, 3), np.nan, np.float32),
                        world_xyz_m=np.full((n, 33, 3), np.nan, np.float32),
                        visibility=np.zeros((n, 33), np.float16))
    return path


HEADER = {"format": "formcheck-poses", "schema_version": 1, "fps": 10.0, "frame_size_px": [640, 480], "n_frames": 3}


@pytest.mark.parametrize(("header", "t", "words"), [
    ({"frame_size_px": [float("inf"), 480]}, [0, 100, 200], ["frame_size_px"]),
    ({"frame_size_px": [1e12, 480]}, [0, 100, 200], ["frame_size_px"]),
    ({"fps": float("nan")}, [0, 100, 200], ["fps"]),
    ({"n_frames": 10**20}, [0, 100, 200], ["n_frames"]),
    ({}, [200, 100, 0], ["timestamp_ms", "backwards"]),
    ({}, [0, 100, 1e300], ["timestamp_ms", "24 h"]),
    ({}, [0, float("nan"), 200], ["timestamp_ms", "nan"]),
], ids=["infinite frame size", "absurd frame size", "nan fps", "absurd frame count", "reversed times",
        "absurd times", "nan time"])
def test_poses_file_with_impossible_numbers_is_refused(tmp_path, header, t, words):
    poses = _poses_npz(tmp_path / "p.npz", {**HEADER, **header}, np.array(t, dtype=float))
    proc = formcheck("analyze", str(poses), "-e", "bridge", "-o", str(tmp_path / "out"))
    one_line_error(proc, 1, "not a usable poses file", *words)
    nothing_written(tmp_path / "out")


def test_zip_bomb_poses_file_is_refused_from_its_directory(tmp_path, tiny_poses):
    """Members that would inflate far past what their frame count holds are refused unread."""
    bomb = tmp_path / "bomb.npz"
    n_rows = 200_000  # 79 MB of zeros that deflate to well under 1 MB
    with zipfile.ZipFile(tiny_poses) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            if name != "image_xyz_px.npy":
                dst.writestr(name, src.read(name))
        with dst.open("image_xyz_px.npy", "w", force_zip64=True) as fh:
            head = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({n_rows}, 33, 3), }}"
            head += " " * (63 - (10 + len(head)) % 64) + "\n"
            fh.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode())
            block = bytes(1 << 20)
            left = n_rows * 33 * 3 * 4
            while left:
                fh.write(block[: min(left, len(block))])
                left -= min(left, len(block))
    assert bomb.stat().st_size < 2_000_000
    proc = formcheck("analyze", str(bomb), "-e", "bridge", "-o", str(tmp_path / "out"))
    one_line_error(proc, 1, "not a usable poses file", "image_xyz_px would inflate to 79 MB", "5 frames")
    nothing_written(tmp_path / "out")


@pytest.mark.parametrize("sid", ["99999999999999999999999", "9999999999999999999", "1" * 5000])
def test_review_of_a_session_id_out_of_range_is_one_line(tmp_path, sid):
    from formcheck.history import History

    db = tmp_path / "h.db"
    History(db).close()  # a real, empty history: review looks the id up there
    proc = formcheck("review", sid, "--reps", "2", "--db", str(db))
    one_line_error(proc, 1, "no session", "formcheck history")


@pytest.mark.parametrize(("doc", "words"), [
    ({"exercise": "../../etc/passwd", "summary": {"reps_by_side": {"both": 2}}}, ["exercise"]),
    ({"exercise": "bridge", "summary": {"reps_by_side": {"both": "x"}, "reps_total": "x"}}, ["reps_by_side"]),
    ({"summary": []}, ["exercise"]),
    ({"exercise": "bridge", "summary": []}, ["summary"]),
    ([1, 2], ["json object"]),
    ('{"exercise": "bridge", "summary": {"reps_by_side": {"both": NaN}}}', ["nan"]),
    ({"exercise": "bridge", "summary": {"reps_by_side": {"both": 1}},
      "reps": [{"side": "both", "index": 0, "start_s": "soon", "end_s": 1.0}]}, ["reps.0.start_s"]),
], ids=["path as exercise", "text count", "summary a list", "summary a list, with exercise", "not an object",
        "nan count", "bad rep time"])
def test_review_refuses_a_hand_made_report_json(tmp_path, doc, words):
    folder = tmp_path / "made"
    folder.mkdir()
    (folder / "report.json").write_text(doc if isinstance(doc, str) else json.dumps(doc))
    before = (folder / "report.json").read_bytes()
    db = tmp_path / "h.db"
    proc = formcheck("review", str(folder), "--reps", "2", "--db", str(db))
    one_line_error(proc, 1, "is not a formcheck report", *words)
    assert session_ids(db) == [] and review_count(db) == 0
    assert (folder / "report.json").read_bytes() == before and sorted(p.name for p in folder.iterdir()) == ["report.json"]


def test_review_still_imports_a_real_analyze_folder(tmp_path):
    clip = bridge_poses(tmp_path / "b.npz", 2, seed=6)
    out, db = tmp_path / "out", tmp_path / "h.db"
    assert formcheck("analyze", str(clip), "-e", "bridge", "-o", str(out), "-q").returncode == 0
    proc = formcheck("review", str(out), "--reps", "2", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert len(session_ids(db)) == 1 and review_count(db) == 1


# --------------------------------------------------------------------------- case 11: no test waits a fixed time


def test_no_test_waits_a_fixed_time_for_something_else_to_happen():
    """A sleep of a second or more in a test waits for another process to get somewhere: wait for
    the event instead (tests/waiting.py), or the test depends on how fast the machine is. Short
    sleeps inside a loop that polls for the event are fine."""
    long_sleep = re.compile(r"\btime\.sleep\(\s*(\d+(?:\.\d*)?)\s*\)")
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in long_sleep.finditer(line):
                if float(m.group(1)) >= 1.0:
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
