"""The command line as a user meets it: real subprocesses, exit codes, one-line errors, outputs."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from formcheck.posesfile import PosesWriter
from kinematics import SIZE, pose_2d, rep_wave, stream

FPS = 30.0


def formcheck(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "formcheck", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def assert_one_line_error(proc: subprocess.CompletedProcess, code: int | None = None) -> str:
    assert proc.returncode != 0 if code is None else proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def bridge_poses(tmp_path_factory) -> Path:
    """A poses file of 4 bridges with setup, built from joint angles (no model)."""
    frames = [pose_2d(posture="supine", hip_flex=(50, 50), knee_flex=(90, 90))] * int(1.5 * FPS)
    t = np.arange(int(4 * 4.5 * FPS + 30)) / FPS
    for x in rep_wave(t, [0.5 + 4.5 * i for i in range(4)], 1.0, 1.5, 1.0):
        h = 50 - 50 * x
        frames.append(pose_2d(posture="supine", hip_flex=(h, h), knee_flex=(90, 90)))
    path = tmp_path_factory.mktemp("poses") / "bridge.npz"
    with PosesWriter(path, {"fps": FPS, "frame_size_px": list(SIZE), "model_variant": "synthetic"}) as w:
        for s in stream(frames, FPS, noise_px=1.0, drop=0.05):
            w.update(s)
    return path


def test_analyze_poses_file_writes_report_and_csv(bridge_poses, tmp_path):
    out = tmp_path / "out"
    proc = formcheck("analyze", str(bridge_poses), "-e", "bridge", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Glute bridge" in proc.stdout and "reps 4" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["schema_version"] == 1
    assert report["exercise"] == "bridge"
    assert report["summary"]["reps_total"] == 4
    assert report["summary"]["reps_by_side"] == {"both": 4}
    assert report["source"]["kind"] == "poses"
    for rep in report["reps"]:
        assert {"side", "start_s", "end_s", "peak_deg", "hold_s", "faults"} <= set(rep)
        assert rep["end_s"] > rep["start_s"]
    assert isinstance(report["faults"], list)
    rows = list(csv.DictReader(open(out / "reps.csv")))
    assert len(rows) == 4 and rows[0]["side"] == "both" and "peak_hip_deg" in rows[0]
    assert [r["index"] for r in rows] == ["1", "2", "3", "4"]  # as the summary table numbers them
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "reps.csv"]


def test_prescribed_reps_and_hold_reach_the_report(bridge_poses, tmp_path):
    proc = formcheck("analyze", str(bridge_poses), "-e", "bridge", "--reps", "4", "--hold", "1.2", "-o", str(tmp_path), "-q")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "report.json").read_text())["summary"]
    assert (summary["target_reps_per_side"], summary["target_hold_s"]) == (4, 1.2)
    assert summary["reps_total"] == 4


def test_missing_file(tmp_path):
    line = assert_one_line_error(formcheck("analyze", str(tmp_path / "missing.mp4"), "-e", "bridge"), 1)
    assert "no such file" in line
    assert not (tmp_path / "formcheck-out").exists()


def test_text_file_renamed_mp4(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 20)
    out = tmp_path / "out"
    line = assert_one_line_error(formcheck("analyze", str(fake), "-e", "bridge", "--out", str(out)), 1)
    assert "video" in line
    assert not out.exists() or not any(out.iterdir())


def test_unknown_exercise_lists_valid_ids(bridge_poses):
    line = assert_one_line_error(formcheck("analyze", str(bridge_poses), "-e", "nosuch"), 2)
    assert "nosuch" in line and "bridge" in line and "standing_hip_extension" in line


def test_side_on_bilateral_exercise_is_a_usage_error(bridge_poses):
    line = assert_one_line_error(formcheck("analyze", str(bridge_poses), "-e", "bridge", "--side", "left"), 2)
    assert "one-sided" in line


def test_annotate_needs_a_video(bridge_poses, tmp_path):
    line = assert_one_line_error(formcheck("analyze", str(bridge_poses), "-e", "bridge", "--annotate", "--out", str(tmp_path / "o")), 1)
    assert "video" in line


def test_exercises_table_and_markdown():
    proc = formcheck("exercises")
    assert proc.returncode == 0
    assert "bridge" in proc.stdout and "standing_hip_extension" in proc.stdout
    md = formcheck("exercises", "--markdown").stdout.splitlines()
    assert md[0].startswith("| id | title")
    assert any(line.startswith("| bridge | Glute bridge |") for line in md)


def test_spec_check_good_and_bad(tmp_path):
    root = Path(__file__).resolve().parents[1]
    ok = formcheck("spec", "check", str(root / "exercise_specs" / "bridge.yaml"))
    assert ok.returncode == 0 and "ok" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\ntitle: [unclosed\n")
    proc = formcheck("spec", "check", str(bad))
    assert proc.returncode == 1
    assert "line" in proc.stderr and "bad.yaml" in proc.stderr and "Traceback" not in proc.stderr


def test_version_and_module_entry():
    proc = formcheck("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("formcheck ")


@pytest.mark.model
def test_nobody_in_view_is_an_error_and_writes_nothing(model_path, tmp_path):
    import cv2

    clip = tmp_path / "empty_room.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for _ in range(20):
        writer.write(np.full((240, 320, 3), 128, np.uint8))
    writer.release()
    out = tmp_path / "out"
    line = assert_one_line_error(formcheck("analyze", str(clip), "-e", "bridge", "--out", str(out)), 1)
    assert "nobody was seen" in line
    assert not out.exists() or not any(out.iterdir())


def test_readme_embeds_the_current_exercise_table():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = formcheck("exercises", "--markdown").stdout
    assert table.strip() in readme, "README's exercise table is stale: paste `formcheck exercises --markdown`"


@pytest.mark.model
def test_reduced_analysis_rate_end_to_end_with_annotation(model_path, tmp_path):
    """Half the sample's frames analysed: same count, the report says the rate, the video keeps its length."""
    import cv2

    clip = Path(__file__).resolve().parents[1] / "sample_videos" / "bridge_correct.mp4"
    out = tmp_path / "out"
    proc = formcheck("analyze", str(clip), "-e", "bridge", "--analysis-fps", "5", "--annotate", "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    cap = cv2.VideoCapture(str(clip))
    clip_frames, clip_fps = cap.get(cv2.CAP_PROP_FRAME_COUNT), cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    assert report["source"]["analysis_fps"] == 5
    assert abs(report["quality"]["frames"] - clip_frames / 2) <= 1
    assert report["summary"]["reps_total"] == 3
    video = cv2.VideoCapture(str(out / "annotated.mp4"))
    frames, fps = video.get(cv2.CAP_PROP_FRAME_COUNT), video.get(cv2.CAP_PROP_FPS)
    video.release()
    assert frames == report["quality"]["frames"] and fps == pytest.approx(5, abs=0.01)
    assert frames / fps == pytest.approx(clip_frames / clip_fps, abs=0.3)


# --- exercises ID: one exercise for the patient ------------------------------------------------------


def formcheck_env(*args: str, cache: Path, columns: int = 80) -> subprocess.CompletedProcess:
    """formcheck with its user cache in ``cache`` and a terminal ``columns`` wide."""
    import os

    env = {**os.environ, "FORMCHECK_CACHE_DIR": str(cache), "COLUMNS": str(columns)}
    env.pop("FORCE_COLOR", None)
    return subprocess.run([sys.executable, "-m", "formcheck", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def _words(text: str) -> str:
    return " ".join(text.split())


def _assert_position_picture(path: Path) -> np.ndarray:
    import cv2

    assert path.is_file(), path
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    img = cv2.imread(str(path))
    assert img is not None and min(img.shape[:2]) >= 300, path
    assert float(img.std()) > 20, "a blank picture"
    return img


def test_exercises_id_shows_the_exercise_at_80_columns_and_writes_its_two_pictures(tmp_path):
    from formcheck.spec import load_spec

    spec = load_spec("bridge")
    cache = tmp_path / "cache"
    proc = formcheck_env("exercises", "bridge", cache=cache)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.rstrip("\n").splitlines()
    paths = [Path(ln.strip()) for ln in lines if ln.strip().endswith(".png")]
    assert len(paths) == 2 and all(p.parent == cache / "pictures" for p in paths), proc.stdout
    prose = [ln for ln in lines if not ln.strip().endswith(".png")]
    assert max(len(ln.rstrip()) for ln in prose) <= 80, proc.stdout
    text = _words(proc.stdout)
    assert spec.title in text
    assert _words(spec.instructions) in text and _words(spec.camera) in text
    assert "10 reps, both legs together; hold 3 s at the top of each" in text
    for fault in spec.faults:  # what is checked: each fault with its cue
        assert _words(fault.cue) in text
    assert _words(next(f.limits for f in spec.faults if f.limits)) in text  # what it cannot see
    start, top = (_assert_position_picture(p) for p in paths)
    assert [p.name for p in paths] == ["bridge-v1-start.png", "bridge-v1-top.png"]
    assert float(np.abs(start.astype(int) - top.astype(int)).mean()) > 1, "start and top are one picture"
    stamp = [p.stat().st_mtime_ns for p in paths]
    again = formcheck_env("exercises", "bridge", cache=cache)
    assert again.returncode == 0 and [p.stat().st_mtime_ns for p in paths] == stamp  # re-used, not redrawn


def test_exercises_pictures_option_writes_elsewhere_and_never_over_a_file_not_ours(tmp_path):
    out = tmp_path / "pics"
    proc = formcheck_env("exercises", "clamshell", "--pictures", str(out), cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["clamshell-v1-start.png", "clamshell-v1-top.png"]
    assert not (tmp_path / "cache").exists()
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "bridge-v1-top.png").write_bytes(b"my holiday photo")
    line = assert_one_line_error(formcheck_env("exercises", "bridge", "--pictures", str(theirs), cache=tmp_path / "cache"), 1)
    assert "not written by formcheck" in line and "--pictures" in line
    assert (theirs / "bridge-v1-top.png").read_bytes() == b"my holiday photo"
    assert sorted(p.name for p in theirs.iterdir()) == ["bridge-v1-top.png"]


def test_exercises_unknown_id_is_one_line_with_a_suggestion(tmp_path):
    line = assert_one_line_error(formcheck_env("exercises", "bridges", cache=tmp_path / "cache", columns=80), 2)
    assert "unknown exercise 'bridges'" in line and "did you mean 'bridge'" in line and "valid: bird_dog" in line
    assert not (tmp_path / "cache").exists()


def test_exercises_id_shows_spec_text_literally(tmp_path, monkeypatch):
    """Spec text reaches the terminal as written: "[/]" or "[bold]" in it is text, never Rich markup."""
    from typer.testing import CliRunner

    import formcheck.spec
    from formcheck.cli import app

    bridge = formcheck.spec.load_spec("bridge")
    odd = bridge.model_copy(update={"instructions": "Lie [bold]down[/] and lift [/]", "title": "Bridge [ward b]"})
    monkeypatch.setattr(formcheck.spec, "load_spec", lambda name: odd)
    monkeypatch.setenv("FORMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    result = CliRunner().invoke(app, ["exercises", "bridge"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "Lie [bold]down[/] and lift [/]" in _words(result.output)
    assert "Bridge [ward b]" in result.output


def test_help_text_is_shown_literally_with_no_text_lost_to_markup():
    """Flags show no <bool>. Rich reads "[default: the spec's]" or "formcheck[distributed]" in a help string as markup and drops
    it, leaving "per side ." in `--help`; help text says "(default: ...)" and carries no brackets."""
    import re

    from formcheck import cli, cli_clinic, cli_live  # noqa: F401  (registers every command)

    sources = "".join(Path(m.__file__).read_text() for m in (cli, cli_clinic, cli_live))
    helps = re.findall(r'help="([^"]*)"', sources)
    assert len(helps) > 30
    assert [h for h in helps if "[" in h] == []
    import os

    env = {**os.environ, "COLUMNS": "250"}
    for command in ([], ["analyze"], ["batch"], ["live"], ["poses"], ["review"], ["export"], ["history"], ["exercises"], ["serve"]):
        out = subprocess.run([sys.executable, "-m", "formcheck", *command, "--help"], capture_output=True,
                             text=True, env=env).stdout
        if command in (["analyze"], ["batch"]):
            assert "Prescribed reps per side (default: the spec's)." in out
        assert not re.search(r"\w [.;](\s|$)", out), out  # text dropped before a full stop or semicolon
        # an on/off flag takes no value, --help included
        assert "<bool>" not in out, command


def test_help_at_80_columns_shows_no_bool_on_any_command():
    import os

    env = {**os.environ, "COLUMNS": "80"}
    for command in ([], ["analyze"], ["synth"], ["model"], ["model", "fetch"], ["spec", "check"], ["live"], ["history"]):
        out = subprocess.run([sys.executable, "-m", "formcheck", *command, "--help"], capture_output=True,
                             text=True, env=env).stdout
        assert "--help" in out and "<bool>" not in out, command


def _option_help(command: str) -> dict[str, str]:
    """{--option: its help words} from `formcheck COMMAND --help` at a wide terminal."""
    import os

    out = subprocess.run([sys.executable, "-m", "formcheck", command, "--help"], capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "300"}).stdout
    found = {}
    for line in out.splitlines():
        m = re.match(r"[│|]\s+(--[a-z-]+)\S*\s+(?:-\w\s+)?(?:<[^>]*>\s+)?(.*?)\s*[│|]?$", line)
        if m:
            found[m.group(1)] = " ".join(m.group(2).split())
    return found


def test_live_and_analyze_name_the_pose_model_the_same_way():
    live, analyze = _option_help("live"), _option_help("analyze")
    assert live["--variant"] == analyze["--variant"] and "lite" in live["--variant"]
    assert live["--model"] == analyze["--model"] and ".task" in live["--model"]


def test_live_model_option_still_takes_a_variant_name(monkeypatch):
    """`live --model lite` (the old spelling) still means the lite model; a path is a model file."""
    from formcheck import backends

    seen = []
    monkeypatch.setattr(backends, "pose_backend", lambda name="mediapipe", **kw: seen.append(kw) or kw)
    backends.backend_for_options("lite", "full")
    backends.backend_for_options(None, "heavy")
    backends.backend_for_options("mine.task", "full")
    assert seen == [{"variant": "lite"}, {"variant": "heavy", "model_path": None},
                    {"variant": "full", "model_path": Path("mine.task")}]


def test_synth_mistyped_exercise_suggests_the_nearest(tmp_path):
    line = assert_one_line_error(formcheck("synth", "brige", "-o", str(tmp_path / "x.mp4")), 2)
    assert "did you mean 'bridge'" in line and "valid: bird_dog" in line


def test_batch_index_and_history_date_a_session_nobody_dated(bridge_poses, tmp_path):
    db, out = tmp_path / "h.sqlite3", tmp_path / "batch"
    proc = formcheck("batch", str(bridge_poses), "-e", "bridge", "--db", str(db), "--out", str(out), "--video", "none", "-q")
    assert proc.returncode == 0, proc.stderr
    cells = re.findall(r"<tr>\s*<td>([^<]*)</td>", (out / "index.html").read_text())
    assert cells and all(c.startswith("analysed ") and re.search(r"\d{4}$", c) for c in cells), cells
    history = formcheck("history", "--db", str(db))
    assert "analysed " in history.stdout, history.stdout


def test_exercises_table_at_80_columns_cuts_no_name(tmp_path):
    """Every title and fault name whole (wrapped between words), faults as words, not snake_case ids."""
    from formcheck.spec import load_spec, spec_ids
    from formcheck.words import readable

    out = formcheck_env("exercises", cache=tmp_path, columns=80).stdout
    assert "…" not in out
    words = set(re.findall(r"[A-Za-z_-]+", out))
    for i in spec_ids():
        spec = load_spec(i)
        assert i in words  # the id a patient types, never wrapped
        expected = spec.title.split() + [w for f in spec.faults for w in readable(f.id).split()]
        assert [w for w in expected if w.strip("(),") not in words] == [], i
