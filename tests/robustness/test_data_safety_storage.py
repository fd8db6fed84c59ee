"""Data safety, part A (issue 16, cases 1, 2, 3, 7, 8, 10): paths, the history database, publishing.

Each case runs the real command line in a fresh interpreter and checks what the user sees (one
line that says what to do), the exit code, and that no file of the user's was changed or left
half-written. Clips are poses files built from joint angles (no model), except case 3, which
refuses before the model would run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

import cli_checks

from clinic_helpers import bridge_poses, nobody_poses

ROOT = Path(__file__).resolve().parents[2]
BRIDGE_CLIP = ROOT / "sample_videos" / "bridge_correct.mp4"

# the disk fills as soon as the history database grows by one more page
DB_DISK_FULL = """
import sqlite3
_connect = sqlite3.connect
def _full_soon(*args, **kwargs):
    conn = _connect(*args, **kwargs)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {max(pages, 1) + 1}")
    return conn
sqlite3.connect = _full_soon
"""

# the disk fills after the first file of a command is written in full
SECOND_FILE_DISK_FULL = """
import errno, os
_fsync = os.fsync
_calls = []
def _fsync_then_full(fd):
    _calls.append(fd)
    if len(_calls) > 1:
        raise OSError(errno.ENOSPC, "No space left on device")
    return _fsync(fd)
os.fsync = _fsync_then_full
"""


def formcheck(*args: str, env: dict | None = None, prelude: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh interpreter; ``prelude`` is Python run first (to break the machine)."""
    code = f"{prelude}\nimport sys\nfrom formcheck.cli import main\nsys.argv = ['formcheck', *sys.argv[1:]]\nmain()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def one_line_error(proc: subprocess.CompletedProcess, *words: str, code: int = 1) -> str:
    return cli_checks.one_line_error(proc, code, *words)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def session_folders(out: Path) -> list[Path]:
    return sorted(p.parent for p in out.glob("*/report.html"))


def index_links(out: Path) -> int:
    return (out / "index.html").read_text(encoding="utf-8").count('/report.html"')


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("clips")
    bridge_poses(d / "b1.npz", 2, seed=1)
    bridge_poses(d / "b2.npz", 3, seed=2)
    return d


@pytest.fixture(scope="module")
def clinic(clips, tmp_path_factory) -> dict:
    """A finished batch: two clips of patient alice, its reports and database (copy before changing)."""
    work = tmp_path_factory.mktemp("clinic")
    out, db = work / "reports", work / "clinic.db"
    r = formcheck("batch", str(clips), "-e", "bridge", "--video", "none", "--patient", "alice", "--db", str(db), "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    return {"out": out, "db": db}


@pytest.fixture
def own_db(clinic, tmp_path) -> Path:
    """A copy of the finished batch's database (for commands that need no report folder)."""
    db = tmp_path / "clinic.db"
    shutil.copy(clinic["db"], db)
    return db


@pytest.fixture
def fresh(clips, tmp_path) -> dict:
    """A batch of its own, which this test may change: its folders record its database."""
    out, db = tmp_path / "reports", tmp_path / "clinic.db"
    r = formcheck("batch", str(clips), "-e", "bridge", "--video", "none", "--patient", "alice", "--db", str(db), "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    return {"out": out, "db": db, "default": tmp_path / "default" / "history.sqlite3"}


def corrupt_pages(db: Path) -> None:
    """Keep the header and the schema page, overwrite every other page (a damaged disk)."""
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    assert len(data) > page, "the database has more than one page"
    data[page:] = b"\x5a" * (len(data) - page)
    db.write_bytes(bytes(data))


@contextmanager
def read_only_place(folder: Path):
    """Make ``folder`` read-only as a read-only filesystem is: a read-only bind mount when we are
    root (root writes through file permissions), else permissions."""
    if os.geteuid() != 0:
        files = [p for p in folder.iterdir() if p.is_file()]
        for p in files:
            p.chmod(0o444)
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
            for p in files:
                p.chmod(0o644)
        return
    view = folder.parent / f"{folder.name}-ro"
    view.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(folder), str(view)], capture_output=True).returncode == 0
    if mounted and subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], capture_output=True).returncode != 0:
        subprocess.run(["umount", str(view)], capture_output=True)
        mounted = False
    if not mounted:
        view.rmdir()
        pytest.skip("cannot make a read-only place here (root without mount rights)")
    try:
        yield view
    finally:
        subprocess.run(["umount", str(view)], capture_output=True)
        view.rmdir()


# --- case 1: export never writes over the database, never creates one -------------------------------


def test_export_refuses_to_write_the_csv_over_the_database(own_db, tmp_path):
    db = own_db
    before = digest(db)
    one_line_error(formcheck("export", "--csv", str(db), "--db", str(db)), "is the history database", "--csv")
    # the two paths swapped: the "database" is a CSV, the "CSV" the database
    rows_csv = tmp_path / "rows.csv"
    assert formcheck("export", "--csv", str(rows_csv), "--db", str(db)).returncode == 0
    one_line_error(formcheck("export", "--csv", str(db), "--db", str(rows_csv)), "not a formcheck history database")
    # the same database by another name (a link) is still the database
    link = tmp_path / "link.csv"
    link.symlink_to(db)
    one_line_error(formcheck("export", "--csv", str(link), "--db", str(db)), "is the history database")
    assert digest(db) == before and rows(db, "SELECT count(*) FROM sessions WHERE status = 'done'") == [(2,)]


def test_export_replaces_only_an_earlier_export(own_db, tmp_path):
    db = own_db
    notes = tmp_path / "notes.csv"
    notes.write_text("my own notes, not an export\n")
    one_line_error(formcheck("export", "--csv", str(notes), "--db", str(db)), "was not written by formcheck export",
                   "choose another --csv")
    assert notes.read_text() == "my own notes, not an export\n"
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE mine (x)")
    conn.commit()
    conn.close()
    before = digest(other)
    one_line_error(formcheck("export", "--csv", str(other), "--db", str(db)), "is an SQLite database")
    assert digest(other) == before
    # an earlier export is ours: exporting again replaces it
    out = tmp_path / "reps.csv"
    assert formcheck("export", "--csv", str(out), "--db", str(db)).returncode == 0
    again = formcheck("export", "--csv", str(out), "--db", str(db))
    assert again.returncode == 0, again.stderr
    assert out.read_text().startswith("session_id,patient,")


@pytest.mark.parametrize("command", [["history"], ["export", "--csv", "x.csv"]])
def test_read_only_commands_never_create_a_database(tmp_path, command):
    typo = tmp_path / "typo.db"
    one_line_error(formcheck(*command, "--db", str(typo), cwd=tmp_path), f"no history database at {typo}",
                   "run `formcheck batch` first, or pass --db")
    assert sorted(tmp_path.iterdir()) == []


# --- case 8: read-only commands open the database read-only ------------------------------------------


def test_another_programs_sqlite_file_is_refused_and_left_as_it_was(tmp_path, clips):
    other = tmp_path / "app.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (x)")
    conn.execute("PRAGMA user_version = 7")
    conn.commit()
    conn.close()
    before = digest(other)
    for command in (["history"], ["export", "--csv", str(tmp_path / "x.csv")],
                    ["batch", str(clips / "b1.npz"), "-e", "bridge", "--out", str(tmp_path / "out"), "-q"]):
        one_line_error(formcheck(*command, "--db", str(other)), "not a formcheck history database")
    assert digest(other) == before
    assert rows(other, "PRAGMA user_version") == [(7,)]
    assert rows(other, "SELECT name FROM sqlite_master") == [("notes",)]
    assert not (tmp_path / "x.csv").exists()


def test_history_and_export_work_on_a_read_only_filesystem(clinic, tmp_path):
    place = tmp_path / "archive"
    place.mkdir()
    shutil.copy(clinic["db"], place / "clinic.db")
    with read_only_place(place) as ro:
        listed = formcheck("history", "--db", str(ro / "clinic.db"), "--json")
        exported = formcheck("export", "--csv", str(tmp_path / "rows.csv"), "--db", str(ro / "clinic.db"))
        assert sorted(p.name for p in ro.iterdir()) == ["clinic.db"]  # no journal, no -shm, nothing new
    assert listed.returncode == 0, listed.stderr
    assert '"patient": "alice"' in listed.stdout
    assert exported.returncode == 0, exported.stderr
    assert len((tmp_path / "rows.csv").read_text().splitlines()) == 1 + 2 + 3


# --- case 7: database errors are one line; a folder and its row are published together ----------------


def test_a_damaged_database_is_one_line_in_every_command(fresh, clips, tmp_path):
    db = fresh["db"]
    corrupt_pages(db)
    folder = session_folders(fresh["out"])[0]
    out = tmp_path / "out"
    for command in (["history"], ["export", "--csv", str(tmp_path / "x.csv")], ["review", str(folder), "--reps", "2"],
                    ["batch", str(clips), "-e", "bridge", "--out", str(out), "-q"]):
        one_line_error(formcheck(*command, "--db", str(db)), str(db), "damaged", "restore it from a backup")
    assert not (out / ".staging").exists() and session_folders(out) == []
    assert not (tmp_path / "x.csv").exists()


def test_a_full_disk_while_committing_publishes_neither_the_folder_nor_the_row(clips, tmp_path):
    from formcheck.history import History

    db, out = tmp_path / "h.db", tmp_path / "out"
    History(db).close()  # an empty history: the next page written does not fit
    r = formcheck("batch", str(clips / "b1.npz"), "-e", "bridge", "--video", "none", "--db", str(db), "--out", str(out), "-q",
                  prelude=DB_DISK_FULL)
    one_line_error(r, str(db), "database or disk is full", "free some space")
    assert sorted(p.name for p in out.iterdir()) == [".formcheck-batch.lock"]  # no report folder, no .staging
    assert rows(db, "SELECT count(*) FROM sessions") == [(0,)]


# --- case 2: review finds the database the batch used --------------------------------------------------


def test_review_stores_the_count_in_the_database_the_batch_used(fresh):
    db, out, default = fresh["db"], fresh["out"], fresh["default"]
    folder = next(f for f in session_folders(out) if f.name.startswith("b1-"))
    # the command as the page builds it: run from anywhere, with another default database
    r = formcheck("review", str(folder), "--reps", "3", "--note", "one partial", env={"FORMCHECK_DB": str(default)})
    assert r.returncode == 0, r.stderr
    assert not default.exists()
    assert rows(db, "SELECT reps, note FROM reviews") == [(3, "one partial")]
    # the redrawn index still lists both of alice's sessions, and the page keeps her name
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "b1.npz" in index and "b2.npz" in index and "alice" in index and "(no patient given)" not in index
    assert index_links(out) == 2
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "alice" in page and 'class="clinician-count">3<' in page


def test_the_page_builds_the_review_command_with_its_database(clinic):
    folder = session_folders(clinic["out"])[0]
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert f'data-db="&#39;{clinic["db"].resolve()}&#39;"' in page
    assert '" --db " + out.getAttribute("data-db")' in page


def test_review_without_the_recorded_database_refuses(fresh):
    out, db, default = fresh["out"], fresh["db"], fresh["default"]
    folder = session_folders(out)[0]
    index = (out / "index.html").read_bytes()
    db.rename(db.with_name("moved.db"))
    one_line_error(formcheck("review", str(folder), "--reps", "3", env={"FORMCHECK_DB": str(default)}),
                   str(db.resolve()), "which is gone", "pass --db")
    one_line_error(formcheck("review", str(folder), "--reps", "3", "--db", str(default)), "no history database")
    assert not default.exists() and (out / "index.html").read_bytes() == index


def test_review_with_another_database_than_the_recorded_one_refuses(fresh, tmp_path):
    out, db = fresh["out"], fresh["db"]
    other = tmp_path / "other.db"
    shutil.copy(db, other)
    folder = session_folders(out)[0]
    one_line_error(formcheck("review", str(folder), "--reps", "3", "--db", str(other)),
                   f"is in the history database {db.resolve()}", "leave out --db")
    assert rows(other, "SELECT count(*) FROM reviews") == [(0,)] and rows(db, "SELECT count(*) FROM reviews") == [(0,)]


# --- case 3: poses never writes over its input or a file it did not write ---------------------------------


def test_poses_refuses_to_write_over_its_input(tmp_path):
    clip = tmp_path / "self.mp4"
    shutil.copy(BRIDGE_CLIP, clip)
    before = digest(clip)
    one_line_error(formcheck("poses", str(clip), "-o", str(clip)), "is the input itself", "choose another --output")
    link = tmp_path / "link.npz"
    link.symlink_to(clip)
    one_line_error(formcheck("poses", str(clip), "-o", str(link)), "is the input", "choose another --output")
    assert digest(clip) == before and sorted(p.name for p in tmp_path.iterdir()) == ["link.npz", "self.mp4"]


def test_poses_never_overwrites_a_file_it_did_not_write(tmp_path):
    clip = tmp_path / "clip.mp4"
    shutil.copy(BRIDGE_CLIP, clip)
    notes = tmp_path / "notes.npz"
    notes.write_bytes(b"PK\x03\x04 not a poses file")
    one_line_error(formcheck("poses", str(clip), "-o", str(notes)), "was not written by formcheck poses",
                   "choose another --output")
    assert notes.read_bytes() == b"PK\x03\x04 not a poses file"


# --- case 10: analyze leaves nothing half-done; batch folders are per clip and follow --out ---------------


def test_a_failed_analyze_leaves_no_empty_out_folder(tmp_path):
    empty = nobody_poses(tmp_path / "nobody.npz")
    out = tmp_path / "new" / "deeper" / "out"
    one_line_error(formcheck("analyze", str(empty), "-e", "bridge", "-o", str(out), "-q"), "nobody was seen")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nobody.npz"]


def test_a_full_disk_leaves_no_report_json_without_reps_csv(clips, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    r = formcheck("analyze", str(clips / "b1.npz"), "-e", "bridge", "-o", str(out), "-q", prelude=SECOND_FILE_DISK_FULL)
    one_line_error(r, "No space left on device", "reps.csv")
    assert sorted(out.iterdir()) == []  # neither file, and no temp file


def test_clips_whose_names_sanitise_alike_get_their_own_folders(clips, tmp_path):
    same = tmp_path / "same"
    same.mkdir()
    for name in ("a b.npz", "a_b.npz", "a-b.npz"):  # one recording, saved three times
        shutil.copy(clips / "b1.npz", same / name)
    out, db = tmp_path / "out", tmp_path / "h.db"
    r = formcheck("batch", str(same), "-e", "bridge", "--video", "none", "--db", str(db), "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    assert "3 analysed" in r.stdout
    assert len(session_folders(out)) == 3 and index_links(out) == 3
    assert sorted(n for (n,) in rows(db, "SELECT DISTINCT report_dir FROM sessions")) == sorted(map(str, session_folders(out)))
    again = formcheck("batch", str(same), "-e", "bridge", "--video", "none", "--db", str(db), "--out", str(out), "-q")
    assert "0 analysed, 3 skipped" in again.stdout and index_links(out) == 3


def test_a_new_out_gets_the_finished_reports(fresh, clips, tmp_path):
    db = fresh["db"]
    first = session_folders(fresh["out"])
    review = formcheck("review", str(first[0]), "--reps", "5", "--by", "dr x")
    assert review.returncode == 0, review.stderr
    new_out = tmp_path / "new-out"
    r = formcheck("batch", str(clips), "-e", "bridge", "--video", "none", "--patient", "alice", "--db", str(db), "--out", str(new_out), "-q")
    assert r.returncode == 0, r.stderr
    assert "0 analysed, 2 skipped" in r.stdout and "0 failed" in r.stdout
    copied = session_folders(new_out)
    assert [f.name for f in copied] == [f.name for f in first] and index_links(new_out) == 2
    assert "alice" in (new_out / "index.html").read_text(encoding="utf-8")
    # the copy is a session of its own, in its new folder, with the clip's review
    page = (copied[0] / "report.html").read_text(encoding="utf-8")
    assert 'class="clinician-count">5<' in page and str(new_out.resolve()) in page
    # and the first --out is as it was
    assert index_links(fresh["out"]) == 2


def test_batch_never_overwrites_an_index_it_did_not_write(clips, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html>my own page</html>")
    r = formcheck("batch", str(clips / "b1.npz"), "-e", "bridge", "--video", "none", "--db", str(tmp_path / "h.db"), "--out", str(site), "-q")
    one_line_error(r, "index.html exists and was not written by formcheck batch", "choose another --out")
    assert sorted(p.name for p in site.iterdir()) == ["index.html"]
    assert (site / "index.html").read_text() == "<html>my own page</html>"


def test_a_commit_that_fails_after_the_folder_moved_in_puts_the_old_folder_back(clips, tmp_path, monkeypatch):
    from formcheck.batch import BatchOptions, plan_jobs, run_batch
    from formcheck.history import History, HistoryError

    out = tmp_path / "out"
    jobs, _ = plan_jobs([clips / "b1.npz"], exercise="bridge")
    with History(tmp_path / "h.db") as h:
        (first,) = run_batch(jobs, BatchOptions(out, video="none"), h).results
        (first.report_dir / "published-first").write_text("")  # tells the old folder from the new one
        record = History.record

        def commit_fails(self, **row):
            def publish_then_fail():
                row["before_commit"]()
                assert not (first.report_dir / "published-first").exists()  # the new folder is in place
                raise HistoryError("the history database h.db failed (database or disk is full)")

            return record(self, **{**row, "before_commit": publish_then_fail if row.get("before_commit") else None})

        monkeypatch.setattr(History, "record", commit_fails)
        with pytest.raises(HistoryError, match="disk is full"):
            run_batch(jobs, BatchOptions(out, video="none", force=True), h)
        monkeypatch.undo()
        assert (first.report_dir / "published-first").exists()  # the published one is back
        assert sorted(p.name for p in out.iterdir()) == [".formcheck-batch.lock", first.report_dir.name, "index.html"]
        assert [s.id for s in h.sessions()] == [first.session_id]
