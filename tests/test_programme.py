"""Issue 19 points 3 and 4: a programme per patient, home sessions in the history."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from formcheck import history
from formcheck.programme import ProgrammeError, parse_programme
from tests.cli_checks import one_line_error

PROGRAMME_YAML = """\
sessions_per_week: 5
items:
  - exercise: bridge
    reps: 3
    hold_s: 2
    sets: 2
  - exercise: clamshell
    sides: [left, right]
    reps: 12
"""


def formcheck(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "80"}
    return subprocess.run([sys.executable, "-m", "formcheck", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_parse_programme_keeps_order_and_dose():
    p = parse_programme(PROGRAMME_YAML)
    assert [i.exercise for i in p.items] == ["bridge", "clamshell"]
    assert p.items[0].sets == 2 and p.items[0].hold_s == 2 and p.items[1].sides == ("left", "right")
    assert p.sessions_per_week == 5
    assert p.item_for("clamshell").reps == 12 and p.item_for("pelvic_tilt") is None
    assert parse_programme(p.to_yaml()) == p


@pytest.mark.parametrize("text, words", [
    ("items:\n  - exercise: brigde\n", ["items.0.exercise", "brigde", "valid:", "bridge"]),
    ("items:\n  - exercise: bridge\n    reps: 0\n", ["items.0.reps"]),
    ("items:\n  - exercise: bridge\n    repz: 3\n", ["items.0.repz", "unknown field", "reps"]),
    ("items:\n  - exercise: bridge\n    sides: [left, left]\n", ["items.0.sides", "each side once"]),
    ("items: []\n", ["items"]),
    ("items: [", ["YAML syntax error"]),
    ("just text", ["expected a mapping"]),
])
def test_bad_programme_names_the_field(text, words):
    with pytest.raises(ProgrammeError) as e:
        parse_programme(text, "p.yaml")
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_migration_adds_programmes_and_session_kind(tmp_path):
    db = tmp_path / "h.sqlite3"
    with history.History(db) as h:
        assert h.schema_version == history.SCHEMA_VERSION
        sid = h.record(run_key="k", status="done", clip_path="/x/a.mp4", clip_sha256="0" * 64, exercise="bridge",
                       spec_version=1, spec_sha256="", spec=None, model="full", patient="ann",
                       report={"summary": {"reps_total": 1}}, kind="home")
        assert h.session(sid).kind == "home"
        assert h.programme("ann") == (None, "")
        h.set_programme("ann", parse_programme(PROGRAMME_YAML))
        h.set_programme("ann", parse_programme("items:\n  - exercise: pelvic_tilt\n"))
        assert [i.exercise for i in h.programme("ann")[0].items] == ["pelvic_tilt"]  # the latest wins
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM programmes").fetchone()[0] == 2  # earlier ones are kept
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO sessions (run_key, status, clip_path, clip_name, clip_sha256, exercise, model, "
                     "analysed_at, formcheck_version, kind) VALUES ('k', 'failed', '', '', '', 'b', 'm', '', '', 'gym')")
    conn.close()


def test_old_database_sessions_become_clinic(tmp_path):
    db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    history.migrate(conn, target=history.SCHEMA_VERSION - 1)
    conn.execute("INSERT INTO sessions (run_key, status, clip_path, clip_name, clip_sha256, exercise, model, "
                 "analysed_at, formcheck_version) VALUES ('k', 'done', '/a.mp4', 'a.mp4', '', 'bridge', 'full', "
                 "'2026-01-01T00:00:00+00:00', '0')")
    conn.close()
    with history.History(db) as h:
        assert [s.kind for s in h.sessions()] == ["clinic"]


def test_programme_set_and_show_cli(tmp_path):
    db, f = tmp_path / "h.sqlite3", tmp_path / "programme.yaml"
    f.write_text(PROGRAMME_YAML)
    proc = formcheck("programme", "set", "--patient", "ann", "--file", str(f), "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert "Glute bridge" in proc.stdout and "Programme set" in proc.stdout
    proc = formcheck("programme", "show", "--patient", "ann", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert "2 x 3 reps, hold 2 s" in proc.stdout and "left and right" in proc.stdout
    assert all(len(line) <= 80 for line in proc.stdout.splitlines())
    proc = formcheck("programme", "show", "--patient", "ann", "--db", str(db), "--yaml")
    assert parse_programme(proc.stdout) == parse_programme(PROGRAMME_YAML)


def test_programme_cli_errors(tmp_path):
    db, f = tmp_path / "h.sqlite3", tmp_path / "programme.yaml"
    f.write_text("items:\n  - exercise: brigde\n")
    one_line_error(formcheck("programme", "set", "--patient", "ann", "--file", str(f), "--db", str(db)), 1,
                   "brigde", "bridge")
    assert not db.exists()  # nothing half-written
    one_line_error(formcheck("programme", "set", "--patient", "ann", "--file", str(tmp_path / "no.yaml"),
                             "--db", str(db)), 1, "no such programme file")
    f.write_text(PROGRAMME_YAML)
    assert formcheck("programme", "set", "--patient", "ann", "--file", str(f), "--db", str(db)).returncode == 0
    one_line_error(formcheck("programme", "show", "--patient", "bob", "--db", str(db)), 1, "no programme", "bob")


def test_routine_items_expand_sets_in_order():
    from formcheck.programme import routine_items

    plan = routine_items(parse_programme(PROGRAMME_YAML + "  - exercise: standing_hip_extension\n    sides: [left]\n"))
    assert [(i.exercise, i.reps, i.hold_s, i.side) for i in plan] == [
        ("bridge", 3, 2, None), ("bridge", 3, 2, None), ("clamshell", 12, None, None),
        ("standing_hip_extension", None, None, "left"),
    ]


def test_live_patient_without_programme_is_one_line(tmp_path):
    one_line_error(formcheck("live", "--patient", "zoe", "--db", str(tmp_path / "h.sqlite3"), "--no-window", "-q"),
                   2, "no programme", "zoe")


# --- acceptance (issue 19): live coaching on a rendered clip as the camera, for a patient ----------


@pytest.mark.model
def test_live_patient_session_reaches_the_history_with_its_page(model_path, tmp_path):
    clip = Path(__file__).resolve().parents[1] / "sample_videos" / "bridge_correct.mp4"  # rendered: 3 bridges
    db, f, out = tmp_path / "h.sqlite3", tmp_path / "programme.yaml", tmp_path / "live"
    f.write_text("items:\n  - exercise: bridge\n    reps: 5\n")
    assert formcheck("programme", "set", "--patient", "ann", "--file", str(f), "--db", str(db)).returncode == 0
    proc = formcheck("live", "--patient", "ann", "--db", str(db), "--source", str(clip), "--no-window", "--quiet",
                     "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    # the end-of-set summary lists the reps against the programme's dose
    assert "Against the programme" in proc.stdout and "Glute bridge" in proc.stdout
    assert "both 3/5" in proc.stdout, proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["target_reps_per_side"] == 5 and report["summary"]["reps_total"] == 3
    page = (out / "report.html").read_text()
    assert "ann" in page
    with history.History(db, read_only=True) as h:
        [s] = h.sessions(patient="ann")
    assert s.kind == "home" and s.exercise == "bridge" and s.reps_total == 3
    assert Path(s.report_dir) == out.resolve()
    listed = formcheck("history", "--patient", "ann", "--db", str(db))
    assert listed.returncode == 0, listed.stderr
    assert "Glute bridge" in listed.stdout or "bridge" in listed.stdout
    as_json = json.loads(formcheck("history", "--patient", "ann", "--db", str(db), "--json").stdout)
    assert as_json[0]["kind"] == "home" and as_json[0]["report_dir"] == str(out.resolve())
