"""The history database: every batch analysis and every clinician correction, in one SQLite file.

Stdlib ``sqlite3``; the schema version is SQLite's ``user_version`` and each migration moves it
forward by one inside its own transaction, so an old database is upgraded in place the first
time a newer formcheck opens it, and a crash mid-upgrade leaves the old version intact.

A finished analysis (``status = 'done'``) is never changed (a trigger refuses it): a clinician's
count is a separate row in ``reviews``, beside the machine count, with who and when. A rerun of
the same clip makes a new session; the latest review of each side wins, and all are kept.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from formcheck.errors import InputError

DB_ENV = "FORMCHECK_DB"
DB_NAME = "history.sqlite3"
SQLITE_MAX_INT = 2**63 - 1
BUSY_TIMEOUT_MS = 30_000  # another formcheck writing (a batch, a review): wait for it, do not fail

# Each entry moves the schema from version i to i + 1: statements run in one transaction.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: one row per analysed (or failed) clip, with the whole report as JSON
    (
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            run_key TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
            clip_path TEXT NOT NULL,
            clip_name TEXT NOT NULL,
            clip_sha256 TEXT NOT NULL,
            exercise TEXT NOT NULL,
            spec_version INTEGER,
            model TEXT NOT NULL,
            patient TEXT NOT NULL DEFAULT '',
            session_date TEXT NOT NULL DEFAULT '',
            side TEXT NOT NULL DEFAULT '',
            report_json TEXT,
            reps_total INTEGER,
            report_dir TEXT NOT NULL DEFAULT '',
            analysed_at TEXT NOT NULL,
            error TEXT NOT NULL DEFAULT '',
            formcheck_version TEXT NOT NULL
        )""",
        "CREATE INDEX sessions_run_key ON sessions (run_key, status)",
    ),
    # 2: the spec as used and its hash, the manifest's extra columns, counts by side, timing
    (
        "ALTER TABLE sessions ADD COLUMN spec_sha256 TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE sessions ADD COLUMN spec_json TEXT",
        "ALTER TABLE sessions ADD COLUMN extra_json TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE sessions ADD COLUMN reps_by_side_json TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE sessions ADD COLUMN elapsed_s REAL",
        """UPDATE sessions SET reps_by_side_json = json_extract(report_json, '$.summary.reps_by_side')
           WHERE report_json IS NOT NULL AND json_extract(report_json, '$.summary.reps_by_side') IS NOT NULL""",
        "CREATE INDEX sessions_patient ON sessions (patient, exercise)",
    ),
    # 3: clinician corrections beside the machine count; finished analyses become immutable
    (
        """CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id),
            side TEXT NOT NULL CHECK (side IN ('both', 'left', 'right')),
            reps INTEGER NOT NULL CHECK (reps >= 0),
            note TEXT NOT NULL DEFAULT '',
            reviewer TEXT NOT NULL,
            reviewed_at TEXT NOT NULL
        )""",
        "CREATE INDEX reviews_session ON reviews (session_id, side, id)",
        """CREATE TRIGGER sessions_done_are_final BEFORE UPDATE ON sessions
           WHEN OLD.status = 'done'
           BEGIN SELECT RAISE(ABORT, 'a finished analysis is never changed; add a review instead'); END""",
        """CREATE TRIGGER sessions_done_are_kept BEFORE DELETE ON sessions
           WHEN OLD.status = 'done'
           BEGIN SELECT RAISE(ABORT, 'a finished analysis is never deleted'); END""",
    ),
    # 4: a clinician's accept or reject of one rep or one fault, with who, when and a note
    (
        """CREATE TABLE verdicts (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id),
            kind TEXT NOT NULL CHECK (kind IN ('rep', 'fault')),
            target TEXT NOT NULL,
            verdict TEXT NOT NULL CHECK (verdict IN ('accept', 'reject')),
            note TEXT NOT NULL DEFAULT '',
            reviewer TEXT NOT NULL,
            reviewed_at TEXT NOT NULL
        )""",
        "CREATE INDEX verdicts_session ON verdicts (session_id, kind, target, id)",
    ),
    # 5: a programme per patient (every version kept, the latest wins); home sessions beside clinic clips
    (
        """CREATE TABLE programmes (
            id INTEGER PRIMARY KEY,
            patient TEXT NOT NULL,
            programme_json TEXT NOT NULL,
            set_by TEXT NOT NULL DEFAULT '',
            set_at TEXT NOT NULL
        )""",
        "CREATE INDEX programmes_patient ON programmes (patient, id)",
        "ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'clinic' CHECK (kind IN ('clinic', 'home'))",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class HistoryError(InputError):
    """The history database cannot be used (newer schema, unreadable file, unknown session)."""


def default_db_path() -> Path:
    """$FORMCHECK_DB, else $XDG_DATA_HOME/formcheck/history.sqlite3, else ~/.local/share/formcheck/..."""
    explicit = os.environ.get(DB_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "formcheck" / DB_NAME


def utc_now() -> str:
    """The time now in UTC, as ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _newer(version: int) -> HistoryError:
    return HistoryError(
        f"the history database was written by a newer formcheck (schema {version}, this one "
        f"knows {SCHEMA_VERSION}): upgrade formcheck or choose another --db"
    )


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the schema forward to ``target``, one transaction per step; returns the version."""
    while True:
        conn.execute("BEGIN IMMEDIATE")  # one migrator at a time; re-read the version under the lock
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise _newer(version)
            if version >= target:
                conn.execute("COMMIT")
                return version
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


@dataclass(frozen=True)
class Review:
    """A clinician's count for one side of one session."""

    id: int
    session_id: int
    side: str
    reps: int
    note: str
    reviewer: str
    reviewed_at: str

    def to_dict(self) -> dict:
        """The review as plain JSON-ready values."""
        return {"side": self.side, "reps": self.reps, "note": self.note, "by": self.reviewer, "at": self.reviewed_at}


@dataclass(frozen=True)
class Verdict:
    """A clinician's accept or reject of one rep (``target`` is its number) or one fault (its id)."""

    id: int
    session_id: int
    kind: str
    target: str
    verdict: str
    note: str
    reviewer: str
    reviewed_at: str

    def to_dict(self) -> dict:
        """The verdict as plain JSON-ready values."""
        return {"kind": self.kind, "target": self.target, "verdict": self.verdict, "note": self.note,
                "by": self.reviewer, "at": self.reviewed_at}


def latest_verdicts(verdicts: Sequence[Verdict], kind: str) -> dict[str, Verdict]:
    """The latest verdict on each rep or fault of one kind (later ones win; all are kept)."""
    latest: dict[str, Verdict] = {}
    for v in verdicts:  # in id order
        if v.kind == kind:
            latest[v.target] = v
    return latest


@dataclass(frozen=True)
class SessionRow:
    """One analysis (or failed attempt) as stored."""

    id: int
    run_key: str
    status: str
    clip_path: str
    clip_name: str
    clip_sha256: str
    exercise: str
    spec_version: int | None
    spec_sha256: str
    model: str
    patient: str
    session_date: str
    side: str
    extra: dict
    reps_total: int | None
    reps_by_side: dict
    report_dir: str
    analysed_at: str
    elapsed_s: float | None
    error: str
    formcheck_version: str
    kind: str = "clinic"  # 'clinic' (an analysed clip) or 'home' (live coaching with --patient)
    reviews: tuple[Review, ...] = field(default=())
    verdicts: tuple[Verdict, ...] = field(default=())

    @property
    def rejected_reps(self) -> frozenset[int]:
        """Rep numbers (from 1) whose latest verdict is a rejection."""
        return frozenset(int(t) for t, v in latest_verdicts(self.verdicts, "rep").items() if v.verdict == "reject")

    @property
    def rejected_faults(self) -> frozenset[str]:
        """The fault ids whose latest verdict is reject."""
        return frozenset(t for t, v in latest_verdicts(self.verdicts, "fault").items() if v.verdict == "reject")

    @property
    def clinician_counts(self) -> dict[str, Review]:
        """The latest review of each side."""
        latest: dict[str, Review] = {}
        for r in self.reviews:  # in id order: later ones win
            latest[r.side] = r
        return latest

    def to_dict(self) -> dict:
        """The session as plain JSON-ready values, machine and clinician counts side by side."""
        return {
            "id": self.id, "status": self.status, "clip": self.clip_path, "clip_sha256": self.clip_sha256,
            "exercise": self.exercise, "spec_version": self.spec_version, "model": self.model,
            "patient": self.patient, "date": self.session_date, "side": self.side, "extra": self.extra,
            "reps_total": self.reps_total, "machine_reps_by_side": self.reps_by_side,
            "clinician_reps_by_side": {s: r.reps for s, r in self.clinician_counts.items()},
            "reviews": [r.to_dict() for r in self.reviews], "verdicts": [v.to_dict() for v in self.verdicts],
            "rejected_reps": sorted(self.rejected_reps), "rejected_faults": sorted(self.rejected_faults),
            "report_dir": self.report_dir,
            "analysed_at": self.analysed_at, "error": self.error, "formcheck_version": self.formcheck_version,
            "kind": self.kind,
        }


_SESSION_COLUMNS = (
    "id", "run_key", "status", "clip_path", "clip_name", "clip_sha256", "exercise", "spec_version", "spec_sha256",
    "model", "patient", "session_date", "side", "extra_json", "reps_total", "reps_by_side_json", "report_dir",
    "analysed_at", "elapsed_s", "error", "formcheck_version", "kind",
)


def _row_to_session(row: sqlite3.Row, reviews: Sequence[Review] = (), verdicts: Sequence[Verdict] = ()) -> SessionRow:
    d = dict(zip(_SESSION_COLUMNS, row))
    return SessionRow(
        id=d["id"], run_key=d["run_key"], status=d["status"], clip_path=d["clip_path"], clip_name=d["clip_name"],
        clip_sha256=d["clip_sha256"], exercise=d["exercise"], spec_version=d["spec_version"],
        spec_sha256=d["spec_sha256"], model=d["model"], patient=d["patient"], session_date=d["session_date"],
        side=d["side"], extra=json.loads(d["extra_json"] or "{}"), reps_total=d["reps_total"],
        reps_by_side=json.loads(d["reps_by_side_json"] or "{}"), report_dir=d["report_dir"],
        analysed_at=d["analysed_at"], elapsed_s=d["elapsed_s"], error=d["error"],
        formcheck_version=d["formcheck_version"], kind=d["kind"], reviews=tuple(reviews), verdicts=tuple(verdicts),
    )


def database_error(path: Path, exc: sqlite3.Error) -> HistoryError:
    """One line for an SQLite failure: which file, what happened, what to do."""
    text = str(exc).strip() or type(exc).__name__
    low = text.lower()
    if "full" in low:
        why = "free some space on its disk, then run the command again"
    elif "readonly" in low or "read-only" in low:
        why = "it cannot be written here; use a writable copy with --db"
    elif "locked" in low or "busy" in low:
        why = "another formcheck is using it; try again when it has finished"
    elif "malformed" in low or "not a database" in low or "corrupt" in low:
        why = "it is damaged; restore it from a backup, or choose another --db"
    else:
        why = "check the file and its disk, or choose another --db"
    return HistoryError(f"the history database {path} failed ({text}): {why}")


def _db_errors(method):
    """Any SQLite failure inside ``method`` becomes a one-line HistoryError naming the file."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise database_error(self.path, exc) from None

    return wrapper


def missing_database(path: Path) -> HistoryError:
    """The error for a history database that is not there, saying how to make one."""
    return HistoryError(f"no history database at {path}: run `formcheck batch` first, or pass --db")


class History:
    """The history database; open with ``History(path)`` (created and migrated as needed).

    ``read_only=True`` (history, export): the file must exist and is opened read-only, so nothing
    is created, migrated or changed; an older schema is upgraded in a copy in memory.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, read_only: bool = False):
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.read_only = read_only
        if read_only:
            self._conn = self._open_read_only()
            return
        if (error := self._not_sqlite()) is not None:
            raise error
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"cannot open the history database {self.path} ({exc}): choose another --db") from None
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._check_ours(self._conn)
            self._conn.execute("PRAGMA foreign_keys = ON")
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode and str(mode[0]).lower() != "wal":
                self._conn.execute("PRAGMA synchronous = FULL")
            migrate(self._conn)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise HistoryError(f"{self.path} is not a usable formcheck history database ({exc}): choose another --db") from None
        except BaseException:
            self._conn.close()
            raise

    def _check_ours(self, conn: sqlite3.Connection) -> int:
        """The schema version; refuses another program's SQLite file (never adds our tables to it)."""
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if (version == 0 and tables) or (version > 0 and "sessions" not in tables):
            raise HistoryError(f"{self.path} is not a formcheck history database: pass the --db that "
                               "`formcheck batch` wrote, or a new file name")
        return version

    def _not_sqlite(self) -> HistoryError | None:
        from formcheck.io import is_sqlite

        if self.path.is_file() and self.path.stat().st_size > 0 and not is_sqlite(self.path):
            return HistoryError(f"{self.path} is not a formcheck history database (not an SQLite file): "
                                "pass the --db that `formcheck batch` wrote")
        return None

    def _open_read_only(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise missing_database(self.path)
        if (error := self._not_sqlite()) is not None:
            raise error
        uri = self.path.resolve().as_uri() + "?mode=ro"
        conn = None
        try:
            try:
                conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
                conn.execute("PRAGMA user_version").fetchone()
            except sqlite3.OperationalError as exc:
                if conn is not None:
                    conn.close()
                    conn = None
                if "unable to open" not in str(exc):
                    raise
                # a WAL database on a read-only filesystem: nobody can be writing it there, and
                # SQLite cannot make its shared-memory file, so read the file as it stands
                conn = sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            version = self._check_ours(conn)
            if version == 0:
                raise HistoryError(f"{self.path} is an empty database, not a formcheck history: pass the "
                                   "--db that `formcheck batch` wrote")
            if version > SCHEMA_VERSION:
                raise _newer(version)
            if version < SCHEMA_VERSION:
                # an older formcheck's database: upgrade a copy in memory, leave the file as it is
                memory = sqlite3.connect(":memory:", isolation_level=None)
                conn.backup(memory)
                conn.close()
                conn = memory
                migrate(conn)
            return conn
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise database_error(self.path, exc) from None
        except BaseException:
            if conn is not None:
                conn.close()
            raise

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise HistoryError(f"{self.path} was opened read-only")  # a bug, not a user error
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                self._conn.execute("ROLLBACK")
            raise

    @property
    @_db_errors
    def schema_version(self) -> int:
        """The database's schema version (SQLite's user_version)."""
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    # --- writing ---------------------------------------------------------------------------
    @_db_errors
    def record(self, *, run_key: str, status: str, clip_path: str, clip_sha256: str, exercise: str,
               spec_version: int | None, spec_sha256: str, spec: dict | None, model: str, patient: str = "",
               session_date: str = "", side: str = "", extra: dict | None = None, report: dict | None = None,
               report_dir: str = "", elapsed_s: float | None = None, error: str = "",
               analysed_at: str | None = None, kind: str = "clinic", before_commit: Callable[[], None] | None = None) -> int:
        """Store one analysis (status 'done', with its report) or a failed attempt; returns its id.

        ``before_commit`` runs after the row is written and before it is committed (batch moves the
        report folder into place there): if it raises, the row is rolled back; if the commit then
        fails, the caller undoes what it did, so a folder and its row are published together.
        """
        from formcheck import __version__

        summary = (report or {}).get("summary", {})
        values = {
            "run_key": run_key, "status": status, "clip_path": clip_path, "clip_name": Path(clip_path).name,
            "clip_sha256": clip_sha256, "exercise": exercise, "spec_version": spec_version,
            "spec_sha256": spec_sha256, "spec_json": json.dumps(spec) if spec is not None else None,
            "model": model, "patient": patient, "session_date": session_date, "side": side,
            "extra_json": json.dumps(extra or {}, ensure_ascii=False),
            "report_json": json.dumps(report, ensure_ascii=False, allow_nan=False) if report is not None else None,
            "reps_total": summary.get("reps_total"),
            "reps_by_side_json": json.dumps(summary.get("reps_by_side", {})),
            "report_dir": report_dir, "analysed_at": analysed_at or utc_now(), "elapsed_s": elapsed_s,
            "error": error, "formcheck_version": __version__, "kind": kind,
        }
        cols = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        with self._transaction() as conn:
            cur = conn.execute(f"INSERT INTO sessions ({cols}) VALUES ({marks})", values)
            if before_commit is not None:
                before_commit()
            return int(cur.lastrowid)

    @_db_errors
    def set_programme(self, patient: str, programme, *, set_by: str = "", set_at: str | None = None) -> int:
        """Store a patient's programme (a ``formcheck.programme.Programme``); earlier ones are kept."""
        if not patient.strip():
            raise HistoryError("a programme needs a patient: pass --patient")
        with self._transaction() as conn:
            cur = conn.execute(
                "INSERT INTO programmes (patient, programme_json, set_by, set_at) VALUES (?, ?, ?, ?)",
                (patient, programme.model_dump_json(exclude_none=True), set_by, set_at or utc_now()),
            )
            return int(cur.lastrowid)

    @_db_errors
    def add_review(self, session_id: int, *, side: str, reps: int, note: str, reviewer: str,
                   reviewed_at: str | None = None) -> Review:
        """Store a clinician's count for one side; the machine count stays as it was."""
        when = reviewed_at or utc_now()
        with self._transaction() as conn:
            status = conn.execute("SELECT status FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if status is None:
                raise HistoryError(f"no session {session_id} in {self.path}")
            if status[0] != "done":
                raise HistoryError(f"session {session_id} failed to analyse; there is no count to correct")
            cur = conn.execute(
                "INSERT INTO reviews (session_id, side, reps, note, reviewer, reviewed_at) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, side, int(reps), note, reviewer, when),
            )
            return Review(int(cur.lastrowid), session_id, side, int(reps), note, reviewer, when)

    @_db_errors
    def add_verdict(self, session_id: int, *, kind: str, target: str, verdict: str, note: str, reviewer: str,
                    reviewed_at: str | None = None) -> Verdict:
        """Accept or reject one rep (``target`` its number from 1) or one fault (its id).

        A rep's rejection lowers its side's count, and accepting it again raises it back, through a
        review row in the same transaction (the same trail as ``formcheck review --reps``).
        """
        if kind not in ("rep", "fault") or verdict not in ("accept", "reject"):
            raise HistoryError(f"a verdict is accept or reject of a rep or a fault, not {verdict} {kind}")
        when = reviewed_at or utc_now()
        with self._transaction() as conn:
            row = conn.execute("SELECT status, report_json, reps_by_side_json FROM sessions WHERE id = ?",
                               (session_id,)).fetchone()
            if row is None:
                raise HistoryError(f"no session {session_id} in {self.path}")
            if row[0] != "done" or not row[1]:
                raise HistoryError(f"session {session_id} failed to analyse; it has no reps or faults to judge")
            report = json.loads(row[1])
            before = self._select("WHERE id = ?", (session_id,))[0]  # inside this transaction
            if kind == "rep":
                sides = {str(r["index"] + 1): r["side"] for r in report.get("reps", [])}
                if target not in sides:
                    valid = f"1 to {len(sides)}" if sides else "none: the machine counted no rep"
                    raise HistoryError(f"session {session_id} has no rep {target}; its reps are {valid}")
            else:
                ids = sorted({*report.get("summary", {}).get("faults_by_id", {}),
                              *(f for r in report.get("reps", []) for f in r.get("faults", []))})
                if target not in ids:
                    raise HistoryError(f"session {session_id} has no fault {target!r}; its faults: "
                                       f"{', '.join(ids) or 'none'}")
            cur = conn.execute(
                "INSERT INTO verdicts (session_id, kind, target, verdict, note, reviewer, reviewed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", (session_id, kind, target, verdict, note, reviewer, when))
            stored = Verdict(int(cur.lastrowid), session_id, kind, target, verdict, note, reviewer, when)
            was_rejected = int(target) in before.rejected_reps if kind == "rep" else False
            if kind == "rep" and was_rejected != (verdict == "reject"):
                side = sides[target]
                latest = before.clinician_counts.get(side)
                count = latest.reps if latest else json.loads(row[2] or "{}").get(side, 0)
                count = max(0, count + (-1 if verdict == "reject" else 1))
                text = "; ".join(x for x in (f"{verdict}ed rep {target}", note) if x)
                conn.execute(
                    "INSERT INTO reviews (session_id, side, reps, note, reviewer, reviewed_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (session_id, side, count, text, reviewer, when))
            return stored

    # --- reading ---------------------------------------------------------------------------
    def _verdicts_for(self, ids: Sequence[int]) -> dict[int, list[Verdict]]:
        return self._rows_by_session("verdicts", ("id", "session_id", "kind", "target", "verdict", "note", "reviewer",
                                                  "reviewed_at"), ids, Verdict)

    def _reviews_for(self, ids: Sequence[int]) -> dict[int, list[Review]]:
        return self._rows_by_session("reviews", ("id", "session_id", "side", "reps", "note", "reviewer", "reviewed_at"),
                                     ids, Review)

    def _rows_by_session(self, table: str, columns: tuple[str, ...], ids: Sequence[int], make) -> dict[int, list]:
        """Each session's rows of a trail table (reviews, verdicts), oldest first, made into ``make(*row)``."""
        out: dict[int, list] = {i: [] for i in ids}
        if not ids:
            return out
        rows = self._conn.execute(
            f"SELECT {', '.join(columns)} FROM {table} "
            f"WHERE session_id IN ({', '.join('?' * len(ids))}) ORDER BY id", tuple(ids),
        ).fetchall()
        for r in rows:
            out[r[1]].append(make(*r))
        return out

    def _select(self, where: str = "", params: Sequence = (), order: str = "id") -> list[SessionRow]:
        rows = self._conn.execute(
            f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessions {where} ORDER BY {order}", tuple(params)
        ).fetchall()
        reviews = self._reviews_for([r[0] for r in rows])
        verdicts = self._verdicts_for([r[0] for r in rows])
        return [_row_to_session(r, reviews[r[0]], verdicts[r[0]]) for r in rows]

    @_db_errors
    def find_done(self, run_key: str) -> SessionRow | None:
        """The latest finished analysis with this key, if any."""
        rows = self._select("WHERE run_key = ? AND status = 'done'", (run_key,), order="id DESC LIMIT 1")
        return rows[0] if rows else None

    @_db_errors
    def done_sessions(self, run_key: str) -> list[SessionRow]:
        """Every finished analysis with this key (the same clip content and settings), latest first."""
        return self._select("WHERE run_key = ? AND status = 'done'", (run_key,), order="id DESC")

    @_db_errors
    def session(self, session_id: int) -> SessionRow:
        """One session by id; HistoryError when there is no such session."""
        # an id past SQLite's 64-bit integers cannot be stored, so it names no session
        rows = self._select("WHERE id = ?", (session_id,)) if 0 < session_id <= SQLITE_MAX_INT else []
        if not rows:
            raise HistoryError(f"no session {session_id} in {self.path}; `formcheck history` lists them")
        return rows[0]

    @_db_errors
    def session_for_dir(self, report_dir: str | os.PathLike) -> SessionRow | None:
        """The latest finished analysis whose report is in this folder."""
        rows = self._select("WHERE report_dir = ? AND status = 'done'", (str(Path(report_dir).resolve()),),
                            order="id DESC LIMIT 1")
        return rows[0] if rows else None

    @_db_errors
    def sessions(self, *, patient: str | None = None, exercise: str | None = None,
                 status: str | None = None, under_dir: str | os.PathLike | None = None) -> list[SessionRow]:
        """Sessions by patient, date and time of analysis."""
        where, params = [], []
        if patient is not None:
            where.append("patient = ?")
            params.append(patient)
        if exercise is not None:
            where.append("exercise = ?")
            params.append(exercise)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if under_dir is not None:
            prefix = str(Path(under_dir).resolve()).rstrip(os.sep) + os.sep
            where.append("substr(report_dir, 1, ?) = ?")
            params.extend([len(prefix), prefix])
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        return self._select(clause, params, order="patient, session_date, analysed_at, id")

    @_db_errors
    def programme(self, patient: str):
        """The patient's latest programme and when it was set, or (None, '') if none was set."""
        from formcheck.programme import Programme

        row = self._conn.execute(
            "SELECT programme_json, set_at FROM programmes WHERE patient = ? ORDER BY id DESC LIMIT 1", (patient,)
        ).fetchone()
        if row is None:
            return None, ""
        return Programme.model_validate_json(row[0]), row[1]

    @_db_errors
    def report(self, session_id: int) -> dict:
        """The report stored with a session; HistoryError when it has none."""
        row = self._conn.execute("SELECT report_json FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None or row[0] is None:
            raise HistoryError(f"session {session_id} has no report")
        return json.loads(row[0])

    @_db_errors
    def spec(self, session_id: int) -> dict | None:
        """The exercise spec stored with a session, or None when none was."""
        row = self._conn.execute("SELECT spec_json FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None


def current_sessions(sessions: Sequence[SessionRow], *, keep=lambda s: True) -> list[SessionRow]:
    """The latest finished session of each clip file and analysis key, and each clip's latest
    failure when nothing finished after it (older attempts stay in the database, out of the way).
    Two files with the same content are two sessions."""
    done: dict[tuple, SessionRow] = {}
    failed: dict[tuple, SessionRow] = {}
    for s in sorted(sessions, key=lambda s: s.id):
        if s.status == "done":
            if keep(s):
                done[(s.run_key, s.clip_path)] = s
        else:
            failed[(s.clip_path, s.exercise)] = s
    last_done: dict[tuple, int] = {}
    for s in done.values():
        k = (s.clip_path, s.exercise)
        last_done[k] = max(s.id, last_done.get(k, 0))
    out = list(done.values()) + [s for k, s in failed.items() if s.id > last_done.get(k, 0)]
    order = {s.id: i for i, s in enumerate(sessions)}
    return sorted(out, key=lambda s: order[s.id])


EXPORT_COLUMNS = (
    "session_id", "patient", "date", "clip", "clip_sha256", "exercise", "spec_version", "model", "analysed_at",
    "count_side", "machine_count", "clinician_count", "reviewed_by", "reviewed_at", "review_note",
    "target_reps", "rep", "rep_side", "start_s", "peak_s", "end_s", "duration_s", "rom_deg", "hold_s",
    "confidence", "complete", "faults", "rep_verdict", "rejected_faults",
)


def export_rows(history: History, *, patient: str | None = None, exercise: str | None = None) -> list[dict]:
    """One row per rep of every finished session, with the machine and clinician counts of its side.

    A side with no machine rep still gets one row when it has a target or a clinician count, so
    a rep the machine missed shows up in the spreadsheet.
    """
    rows: list[dict] = []
    for s in history.sessions(patient=patient, exercise=exercise, status="done"):
        report = history.report(s.id)
        target = report.get("summary", {}).get("target_reps_per_side")
        reviews = s.clinician_counts
        rep_verdicts = latest_verdicts(s.verdicts, "rep")
        sides = list(dict.fromkeys([*s.reps_by_side, *reviews]))
        base = {
            "session_id": s.id, "patient": s.patient, "date": s.session_date, "clip": s.clip_path,
            "clip_sha256": s.clip_sha256, "exercise": s.exercise, "spec_version": s.spec_version, "model": s.model,
            "analysed_at": s.analysed_at, "target_reps": target,
            "rejected_faults": ";".join(sorted(s.rejected_faults)),
            **{f"extra_{k}": v for k, v in s.extra.items()},
        }
        for side in sides:
            review = reviews.get(side)
            counts = {
                "count_side": side, "machine_count": s.reps_by_side.get(side, 0),
                "clinician_count": review.reps if review else None,
                "reviewed_by": review.reviewer if review else None,
                "reviewed_at": review.reviewed_at if review else None,
                "review_note": review.note if review else None,
            }
            reps = [r for r in report.get("reps", []) if r["side"] == side]
            if not reps:
                rows.append({**base, **counts})
            for r in reps:
                rows.append({
                    **base, **counts, "rep": r["index"] + 1, "rep_side": r["side"], "start_s": r["start_s"],
                    "peak_s": r.get("peak_s"), "end_s": r["end_s"], "duration_s": r.get("duration_s"),
                    "rom_deg": r.get("rom_deg"), "hold_s": r.get("hold_s"), "confidence": r.get("confidence"),
                    "complete": r.get("complete"), "faults": ";".join(r.get("faults", [])),
                    "rep_verdict": v.verdict if (v := rep_verdicts.get(str(r["index"] + 1))) else None,
                    **{f"peak_{k}_deg": v for k, v in r.get("peak_deg", {}).items()},
                })
    return rows
