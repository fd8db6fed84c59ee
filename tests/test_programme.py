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


# --- progress: adherence and the weekly trend ------------------------------------------------------


def _report(reps: list[tuple[float | None, float, list[str]]]) -> dict:
    return {"summary": {"reps_total": len(reps), "reps_by_side": {"both": len(reps)}},
            "reps": [{"index": i, "side": "both", "start_s": 0.0, "end_s": 1.0, "hold_s": h, "rom_deg": rom,
                      "faults": f, "complete": True} for i, (h, rom, f) in enumerate(reps)]}


def test_adherence_counts_days_per_week_against_the_programme():
    from datetime import date

    from formcheck.progress import adherence, session_point

    def point(day: str, exercise: str = "bridge"):
        return session_point(session_date=day, analysed_at="2026-01-01T00:00:00+00:00", exercise=exercise,
                             kind="home", report=_report([(2.0, 40.0, [])]))

    # Mon 5 Jan: two exercises on one day are one session; Wed 7 Jan another; nothing the week of 12 Jan
    points = [point("2026-01-05"), point("2026-01-05", "clamshell"), point("2026-01-07"), point("2026-01-20")]
    weeks = adherence(points, 3, today=date(2026, 1, 21))
    assert [(w.week_start.isoformat(), w.sessions_done) for w in weeks] == [
        ("2026-01-05", 2), ("2026-01-12", 0), ("2026-01-19", 1)]
    assert weeks[0].fraction == pytest.approx(2 / 3) and weeks[1].fraction == 0
    assert len(adherence(points, 3, today=date(2026, 1, 21), weeks=2)) == 2
    assert adherence([], 3, today=date(2026, 1, 21)) == ()


def test_weekly_trend_per_exercise_reps_hold_range_faults():
    from formcheck.progress import session_point, weekly_trend

    a = session_point(session_date="2026-01-05", analysed_at="", exercise="bridge", kind="home",
                      report=_report([(2.0, 40.0, []), (4.0, 50.0, ["hips_low"])]))
    b = session_point(session_date="2026-01-06", analysed_at="", exercise="bridge", kind="clinic",
                      report=_report([(3.0, 60.0, []), (3.0, 60.0, []), (3.0, 60.0, [])]))
    c = session_point(session_date="2026-01-13", analysed_at="", exercise="bridge", kind="home", report=_report([]))
    week1, week2 = weekly_trend([c, a, b])
    assert week1.sessions == 2 and week1.reps_per_session == 2.5
    assert week1.hold_s_mean == pytest.approx((3.0 + 3.0) / 2) and week1.rom_deg_mean == pytest.approx(52.5)
    assert week1.fault_rate == pytest.approx(1 / 5)
    assert week2.reps_per_session == 0 and week2.fault_rate is None and week2.hold_s_mean is None


def test_history_patient_prints_adherence_and_trend_in_80_columns(tmp_path):
    from datetime import date, timedelta

    from formcheck.progress import week_start
    from formcheck.spec import load_spec
    from formcheck.words import date_text

    db = tmp_path / "h.sqlite3"
    spec = load_spec("side_lying_hip_abduction")
    monday = week_start(date.today()) - timedelta(weeks=1)  # last week: Monday and Wednesday
    with history.History(db) as h:
        h.set_programme("ann", parse_programme(PROGRAMME_YAML))
        for day, kind in ((monday.isoformat(), "home"), ((monday + timedelta(days=2)).isoformat(), "clinic")):
            h.record(run_key=day, status="done", clip_path=f"/clips/{day}.mp4", clip_sha256="", exercise=spec.id,
                     spec_version=spec.version, spec_sha256="", spec=spec.model_dump(mode="json"), model="full",
                     patient="ann", session_date=day, report=_report([(1.5, 35.0, ["hip_rolls_back"])]), kind=kind)
    proc = formcheck("history", "--patient", "ann", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Adherence" in out and date_text(monday) in out and "40%" in out  # 2 of the 5 a week
    assert "Weekly trend" in out and spec.title in out and "100%" in out and "35°" in out
    assert "home" in out
    assert "2 sessions;" in out
    wide = subprocess.run([sys.executable, "-m", "formcheck", "history", "--db", str(db)], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "COLUMNS": "200"}).stdout
    assert spec.title in wide and spec.id not in wide  # the list names the exercise by its title, not its id
    assert all(len(line) <= 80 for line in out.splitlines()), out


# --- the programme as the prescription of analyze and batch -----------------------------------------


def test_build_evaluator_says_where_the_dose_came_from():
    from formcheck.pipeline import build_evaluator

    programme = parse_programme(PROGRAMME_YAML)
    spec, ev = build_evaluator("bridge", None, programme=programme)
    assert (spec.target.reps, spec.target.hold_s, ev.prescribed_by, ev.sets) == (3, 2, "programme", 2)
    spec, ev = build_evaluator("bridge", None, reps=7, programme=programme)
    assert (spec.target.reps, ev.prescribed_by) == (7, "options")
    spec, ev = build_evaluator("pelvic_tilt", None, programme=programme)  # not in the programme
    assert ev.prescribed_by == "spec"


def test_analyze_patient_uses_the_programme_dose_in_report_json(tmp_path):
    from tests.clinic_helpers import bridge_poses

    db, f = tmp_path / "h.sqlite3", tmp_path / "programme.yaml"
    f.write_text(PROGRAMME_YAML)
    assert formcheck("programme", "set", "--patient", "ann", "--file", str(f), "--db", str(db)).returncode == 0
    poses = bridge_poses(tmp_path / "b.poses.json.gz", reps=2)
    proc = formcheck("analyze", str(poses), "-e", "bridge", "--patient", "ann", "--db", str(db), "-q",
                     "-o", str(tmp_path / "a"))
    assert proc.returncode == 0, proc.stderr
    p = json.loads((tmp_path / "a" / "report.json").read_text())["prescription"]
    assert p == {"reps_per_side": 3, "hold_s": 2.0, "sets": 2, "from": "programme"}
    proc = formcheck("analyze", str(poses), "-e", "bridge", "--patient", "ann", "--db", str(db), "--reps", "4",
                     "-q", "-o", str(tmp_path / "b"))
    p = json.loads((tmp_path / "b" / "report.json").read_text())["prescription"]
    assert p["from"] == "options" and p["reps_per_side"] == 4
    one_line_error(formcheck("analyze", str(poses), "-e", "bridge", "--patient", "bob", "--db", str(db), "-q",
                             "-o", str(tmp_path / "c")), 2, "no programme", "bob")
    assert not (tmp_path / "c").exists()


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_web_progress_shows_adherence_and_the_list_tags_home_sessions(tmp_path):
    from datetime import date, timedelta

    from fastapi.testclient import TestClient

    from formcheck.progress import week_start
    from formcheck.spec import load_spec
    from formcheck.web.app import create_app

    db = tmp_path / "h.sqlite3"
    spec = load_spec("bridge")
    monday = week_start(date.today()) - timedelta(weeks=1)
    with history.History(db) as h:
        h.set_programme("ann", parse_programme(PROGRAMME_YAML))
        for n, kind in enumerate(("home", "clinic")):
            h.record(run_key=str(n), status="done", clip_path=f"/clips/{kind}.mp4", clip_sha256="", exercise="bridge",
                     spec_version=spec.version, spec_sha256="", spec=spec.model_dump(mode="json"), model="full",
                     patient="ann", session_date=(monday + timedelta(days=n)).isoformat(),
                     report=_report([(2.0, 40.0, [])]), kind=kind)
    c = TestClient(create_app(db, tmp_path / "reports"), follow_redirects=False)
    page = c.get("/progress", params={"patient": "ann"})
    assert page.status_code == 200
    text = page.text
    assert 'id="adherence"' in text and "5 sessions a week" in text and "1 home and 1 clinic" in text
    assert f"<td>{monday.isoformat()}</td><td>2</td><td>5</td><td>40%</td>" in text
    listing = c.get("/").text
    assert listing.count('class="tag home"') == 1
    # a patient with no programme: no adherence section, the page still works
    assert 'id="adherence"' not in c.get("/progress", params={"patient": "bob"}).text


def test_batch_row_with_a_patient_takes_the_programme_dose(tmp_path):
    import csv

    from tests.clinic_helpers import bridge_poses

    db, f, out = tmp_path / "h.sqlite3", tmp_path / "programme.yaml", tmp_path / "out"
    f.write_text(PROGRAMME_YAML)
    assert formcheck("programme", "set", "--patient", "ann", "--file", str(f), "--db", str(db)).returncode == 0
    poses = bridge_poses(tmp_path / "b.poses.json.gz", reps=2)
    with open(tmp_path / "clips.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, ["clip", "exercise", "patient", "reps"])
        w.writeheader()
        w.writerow({"clip": str(poses), "exercise": "bridge", "patient": "ann", "reps": ""})
        w.writerow({"clip": str(poses), "exercise": "bridge", "patient": "bob", "reps": ""})  # no programme
    proc = formcheck("batch", "--manifest", str(tmp_path / "clips.csv"), "--workers", "1", "--out", str(out),
                     "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert "Glute bridge" in proc.stdout and "│ bridge" not in proc.stdout  # the batch table names titles
    with history.History(db, read_only=True) as h:
        by_patient = {s.patient: h.report(s.id) for s in h.sessions(status="done")}
    assert by_patient["ann"]["prescription"] == {"reps_per_side": 3, "hold_s": 2.0, "sets": 2, "from": "programme"}
    assert by_patient["bob"]["prescription"]["from"] == "spec"
