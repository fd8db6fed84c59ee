"""The FastAPI app: pages over the history, corrections, uploads analysed in the background, exports.

Data safety: pages open the database read-only for each request; the two things that write (a
correction, a finished upload) go through ``History`` opened for writing, by the same functions the
CLI uses (``History.add_review`` as ``formcheck review``, ``run_batch`` as ``formcheck batch``).
No path is ever taken from a request: files are found from the session's row in the database.
"""

from __future__ import annotations

import hmac
import io
import ipaddress
import json
import os
import queue
import re
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from formcheck.history import History, HistoryError, current_sessions, latest_verdicts
from formcheck.io import atomic_path
from formcheck.web import views  # a submodule: the package itself imports nothing

TOKEN_COOKIE = "formcheck_token"
MAX_UPLOAD_BYTES = 500 * 1024 * 1024  # a 10-minute phone clip at a high bitrate fits; a disk-filling upload does not
MAX_TEXT_CHARS = 500  # a note or a name
UPLOADS = "uploads"  # inside the reports folder: the uploaded clips, under generated names
JOBS = "jobs"  # inside UPLOADS: one JSON file per upload job, so a restart finds them again
MAX_WAITING_JOBS = 8  # analyses run one at a time; more waiting than this is a queue nobody will wait for
_JOB_ID = re.compile(r"[0-9a-f]{32}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
LOCAL_NAMES = ("localhost",)


def is_local_host(host: str) -> bool:
    """True for a loopback address or ``localhost``: nobody else on the network can connect."""
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --- upload checks ---------------------------------------------------------------------------------


class UploadRefused(ValueError):
    """An upload that is not stored; the message says why, for the person uploading."""


def sniff_video(head: bytes) -> str | None:
    """The container a file's first bytes show (``.mp4``, ``.mov``, ``.mkv``, ``.avi``), or None.

    The type comes from the content, never from the name or the browser's Content-Type, both of
    which the client chooses.
    """
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return ".mov" if head[8:12] == b"qt  " else ".mp4"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return ".mov"  # an old QuickTime file without a file-type box
    if head[:4] == b"\x1aE\xdf\xa3":
        return ".mkv"  # Matroska or WebM (EBML): the decoder reads either
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return ".avi"
    return None


def check_upload_name(name: str | None) -> None:
    """A browser sends a bare file name; one with a folder in it was crafted, and is refused."""
    if not name:
        raise UploadRefused("no file chosen: pick a video clip to upload")
    if "/" in name or "\\" in name or "\0" in name or name.strip() in (".", ".."):
        raise UploadRefused(f"the file name {name!r} contains a folder path; send the clip itself "
                            "(it is stored under a name formcheck chooses)")


# --- background analysis ----------------------------------------------------------------------------


@dataclass
class UploadJob:
    """One uploaded clip's analysis, as the progress endpoint reports it."""

    id: str
    clip_name: str
    state: str = "queued"  # queued | running | done | failed
    frames_done: int = 0
    frames_total: int | None = None
    session_id: int | None = None
    error: str = ""

    def to_dict(self) -> dict:
        """The job as the progress endpoint sends it; ``fraction`` reaches 1 only when all is written."""
        fraction = None
        if self.state == "done":
            fraction = 1.0
        elif self.frames_total:
            # full only when done: after the last frame the report, video and history row are still being written
            fraction = min(0.99, self.frames_done / self.frames_total)
        return {"id": self.id, "clip": self.clip_name, "state": self.state, "frames_done": self.frames_done,
                "frames_total": self.frames_total, "fraction": fraction, "session_id": self.session_id,
                "error": self.error}


@dataclass(frozen=True)
class _Request:
    job_id: str
    clip: Path
    exercise: str
    side: str | None
    patient: str
    session_date: str
    reps: int | None
    hold_s: float | None
    original_name: str


class Analyser:
    """Analyses uploads one at a time in a daemon thread, through ``run_batch`` (as `formcheck batch`).

    A daemon thread: stopping the server mid-clip must not wait for the clip; nothing half-done is
    kept, because the batch commits a clip's folder and row together or not at all.
    """

    def __init__(self, db_path: Path, reports_dir: Path, *, model_path: Path | None = None,
                 max_waiting: int = MAX_WAITING_JOBS):
        self.db_path = db_path
        self.reports_dir = reports_dir
        self.model_path = model_path
        self.max_waiting = max_waiting
        self._jobs: dict[str, UploadJob] = {}
        self._requests: dict[str, _Request] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._resume()

    @property
    def jobs_dir(self) -> Path:
        """The folder where upload jobs are saved."""
        return self.reports_dir / UPLOADS / JOBS

    def _resume(self) -> None:
        """Jobs a stopped server left: finished ones are shown again, unfinished ones analysed again
        (the batch publishes a clip's folder and row together, so an interrupted one left nothing)."""
        if not self.jobs_dir.is_dir():
            return
        waiting = []
        for path in sorted(self.jobs_dir.glob("*.json"), key=lambda p: p.stat().st_mtime):
            if not _JOB_ID.fullmatch(path.stem):
                continue  # not a file this app wrote
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
                job = UploadJob(**saved["job"])
                r = saved["request"]
                request = _Request(r["job_id"], Path(r["clip"]), r["exercise"], r["side"], r["patient"],
                                   r["session_date"], r["reps"], r["hold_s"], r["original_name"])
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a damaged job file: its clip is still in the uploads folder
            if job.id != path.stem or request.clip.parent != self.reports_dir / UPLOADS:
                continue  # paths only ever point into our own uploads folder
            self._jobs[job.id], self._requests[job.id] = job, request
            if job.state in ("queued", "running"):
                if request.clip.is_file():
                    job.state, job.frames_done = "queued", 0
                    waiting.append(request)
                else:
                    job.state, job.error = "failed", "the uploaded clip was gone when the server restarted"
                    self._save(job.id)
        for request in waiting:
            self._save(request.job_id)
            self._enqueue(request)

    def waiting(self) -> int:
        """Jobs queued and not yet started."""
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.state == "queued")

    def full(self) -> bool:
        """Whether as many clips are waiting as the queue takes (refuse more uploads)."""
        return self.waiting() >= self.max_waiting

    def submit(self, request: _Request, clip_name: str) -> UploadJob:
        """Record and queue one uploaded clip for analysis; returns its job."""
        job = UploadJob(request.job_id, clip_name)
        with self._lock:
            self._jobs[job.id], self._requests[job.id] = job, request
        self._save(job.id)
        self._enqueue(request)
        return job

    def _enqueue(self, request: _Request) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="formcheck-serve-analysis", daemon=True)
                self._thread.start()
        self._queue.put(request)

    def job(self, job_id: str) -> dict | None:
        """One job's progress as a dict, or None when there is no such job."""
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else job.to_dict()

    def _save(self, job_id: str) -> None:
        """The job and what to analyse, on disk: a restarted server takes it up again."""
        from formcheck.io import atomic_write

        with self._lock:
            job, r = self._jobs[job_id], self._requests[job_id]
            saved = {"job": {k: getattr(job, k) for k in UploadJob.__dataclass_fields__},
                     "request": {**{k: getattr(r, k) for k in _Request.__dataclass_fields__}, "clip": str(r.clip)}}
        atomic_write(self.jobs_dir / f"{job_id}.json", lambda fh: json.dump(saved, fh), binary=False, option="--reports")

    def _set(self, job_id: str, **changes) -> None:
        with self._lock:
            job = self._jobs[job_id]
            new_state = changes.get("state", job.state) != job.state
            for k, v in changes.items():
                setattr(job, k, v)
        if new_state:  # frame counts stay in memory: a restart starts the clip again anyway
            self._save(job_id)

    def _run(self) -> None:
        while True:
            request = self._queue.get()
            self._analyse(request)

    def _analyse(self, r: _Request) -> None:
        from formcheck.batch import BatchOptions, ClipJob, run_batch

        analyser = self

        class Observer:
            def planned(self, total: int, to_analyse: int) -> None:
                pass

            def clip_started(self, key: int, name: str) -> None:
                analyser._set(r.job_id, state="running")

            def clip_progress(self, key: int, done: int, total: int | None) -> None:
                analyser._set(r.job_id, frames_done=done, frames_total=total)

            def clip_finished(self, key: int, result) -> None:
                if result.status == "failed":
                    analyser._set(r.job_id, state="failed", error=result.error, session_id=result.session_id)
                else:
                    analyser._set(r.job_id, state="done", session_id=result.session_id)

        # the name the clinician's file had is kept as text beside the session, never as a path
        extra = {"uploaded": "formcheck serve", "original_name": r.original_name}
        job = ClipJob(r.clip, r.exercise, r.side, r.patient, r.session_date, extra, r.reps, r.hold_s, origin="upload")
        options = BatchOptions(out_dir=self.reports_dir, model_path=self.model_path, video="file")
        try:
            with History(self.db_path) as history:
                run_batch([job], options, history, Observer())
            with self._lock:
                unfinished = self._jobs[r.job_id].state in ("queued", "running")
            if unfinished:  # never left spinning: a batch that returns without a result says so
                self._set(r.job_id, state="failed", error="the analysis ended without a result")
        except Exception as e:  # noqa: BLE001  the upload's page says what went wrong; the server goes on
            from formcheck.errors import InputError
            from formcheck.models import ModelError

            known = isinstance(e, (InputError, ModelError))
            text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            self._set(r.job_id, state="failed", error=text if known else f"internal error ({type(e).__name__}: {text})")


# --- the app ----------------------------------------------------------------------------------------


@dataclass
class _Settings:
    db_path: Path
    reports_dir: Path
    token: str | None
    csrf: str
    max_upload_bytes: int
    analyser: Analyser
    env: Environment = field(repr=False, default=None)


def _env() -> Environment:
    env = Environment(loader=PackageLoader("formcheck.web", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["num"] = lambda v, nd=0: "-" if v is None else f"{v:.{nd}f}"
    return env


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(db_path: str | os.PathLike, reports_dir: str | os.PathLike, token: str | None = None, *,
               allowed_hosts: list[str] | None = None, max_upload_bytes: int = MAX_UPLOAD_BYTES,
               model_path: str | os.PathLike | None = None, max_waiting_jobs: int = MAX_WAITING_JOBS) -> FastAPI:
    """The clinic web app over the history database ``db_path`` and the report folders in ``reports_dir``.

    ``token``: when given, every request must carry it (the ``?token=`` link printed at start sets a
    cookie); ``allowed_hosts``: the Host names accepted (a local bind lists only loopback names, so a
    web page cannot reach the app through a rebound DNS name).
    """
    db = Path(db_path).expanduser().resolve()
    reports = Path(reports_dir).expanduser().resolve()
    s = _Settings(db, reports, token, secrets.token_urlsafe(32), int(max_upload_bytes),
                  Analyser(db, reports, model_path=Path(model_path) if model_path else None,
                           max_waiting=max_waiting_jobs), _env())
    app = FastAPI(title="formcheck", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = s
    if allowed_hosts:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if s.token is not None:
            given = (request.cookies.get(TOKEN_COOKIE) or request.query_params.get("token")
                     or request.headers.get("authorization", "").removeprefix("Bearer ").strip())
            if not given or not hmac.compare_digest(given.encode(), s.token.encode()):
                return PlainTextResponse("formcheck serve needs its access token: open the link it printed "
                                         "when it started (or ask whoever runs it).", status_code=401)
            if request.method == "GET" and "token" in request.query_params:
                # the token leaves the address bar (and the history) at once; the cookie carries it on
                rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                response = RedirectResponse(request.url.path + (f"?{urlencode(rest)}" if rest else ""), status_code=303)
                response.set_cookie(TOKEN_COOKIE, s.token, httponly=True, samesite="strict")
                return response
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "media-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(_Refused)
    async def refused(request: Request, exc: _Refused):
        return _page(s, "message.html.j2", status_code=exc.status, title="Not done", message=exc.message)

    @app.exception_handler(HistoryError)
    async def history_error(request: Request, exc: HistoryError):
        status = 404 if str(exc).startswith("no session") else 503
        return _page(s, "message.html.j2", status_code=status, title="History database", message=str(exc))

    static = Path(__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)  # none: browsers ask anyway, and a 404 reads as an error

    @app.get("/", response_class=HTMLResponse)
    def sessions_list(patient: str = "", exercise: str = "", date_from: str = "", date_to: str = "",
                      needs_review: str = "") -> HTMLResponse:
        f = views.SessionFilter(patient, exercise, date_from, date_to, needs_review in ("1", "on", "true"))
        with _read(s) as h:
            all_sessions = current_sessions(h.sessions())
            rows = []
            for sess in views.newest_first(all_sessions):
                report = h.report(sess.id) if sess.status == "done" else None
                reasons = views.review_reasons(sess, report)
                if views.keep_session(sess, f, reasons):
                    rows.append({"s": sess, "reasons": reasons, "counts": views.effective_counts(sess),
                                 "faults": (report or {}).get("summary", {}).get("faults_by_id", {})})
        patients: dict[str, dict] = {}
        for sess in all_sessions:
            p = patients.setdefault(sess.patient, {"name": sess.patient, "sessions": 0, "last": ""})
            p["sessions"] += 1
            p["last"] = max(p["last"], views.session_day(sess))
        return _page(s, "index.html.j2", title="Sessions", rows=rows, f=f,
                     patients=sorted(patients.values(), key=lambda p: p["last"], reverse=True),
                     exercises=sorted({x.exercise for x in all_sessions}), spec_ids=_spec_ids(),
                     today=date.today().isoformat())

    @app.get("/sessions/{session_id}", response_class=HTMLResponse)
    def session_page(session_id: int) -> HTMLResponse:
        from formcheck.htmlreport import chart_svg

        with _read(s) as h:
            sess = h.session(session_id)
            report = h.report(sess.id) if sess.status == "done" else None
            spec = h.spec(sess.id) if report is not None else None
        cues: dict[str, str] = {}
        chart = None
        if report is not None:
            cues = {f["id"]: f["cue"] for f in report.get("faults", [])}
            for rule in (spec or {}).get("faults", []):
                cues.setdefault(rule["id"], rule["cue"])
            if spec is not None and report.get("series"):
                chart = Markup(chart_svg(report, spec))  # our own SVG from numbers; spec text escaped by matplotlib
        folder = Path(sess.report_dir)
        has_video = (folder / "annotated.mp4").is_file()
        sides = list(sess.reps_by_side) or ["both"]
        return _page(s, "session.html.j2", title=f"Session {sess.id}", s=sess, report=report, spec=spec, cues=cues,
                     rep_verdicts=latest_verdicts(sess.verdicts, "rep"),
                     fault_verdicts=latest_verdicts(sess.verdicts, "fault"),
                     chart=chart, has_video=has_video, sides=sides, counts=views.effective_counts(sess),
                     reasons=views.review_reasons(sess, report),
                     thumbs={r["index"] for r in (report or {}).get("reps", [])
                             if (folder / "thumbs" / f"rep-{r['index'] + 1:02d}.jpg").is_file()})

    @app.get("/sessions/{session_id}/video")
    def session_video(session_id: int) -> Response:
        with _read(s) as h:
            folder = Path(h.session(session_id).report_dir)
        path = folder / "annotated.mp4"
        if not path.is_file():
            raise _Refused(404, f"session {session_id} has no browser video (the batch ran with --video none or embed)")
        return FileResponse(path, media_type="video/mp4", headers={"Cache-Control": "private, max-age=60"})

    @app.get("/sessions/{session_id}/thumbs/{rep}")
    def session_thumb(session_id: int, rep: int) -> Response:
        with _read(s) as h:
            folder = Path(h.session(session_id).report_dir)
        path = folder / "thumbs" / f"rep-{rep:02d}.jpg"
        if not 1 <= rep <= 999 or not path.is_file():
            raise _Refused(404, f"session {session_id} has no picture of rep {rep}")
        return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"})

    @app.post("/sessions/{session_id}/review")
    def review(session_id: int, csrf: str = Form(""), side: str = Form(""), reps: str = Form(""),
               reject: list[str] = Form(default=[]), note: str = Form(""), reviewer: str = Form("")) -> Response:
        from formcheck.batch import rerender_session

        _check_csrf(s, csrf)
        reviewer = reviewer.strip()
        if not reviewer:
            raise _Refused(400, "say who reviewed: fill in your name")
        if len(reviewer) > 80 or len(note) > MAX_TEXT_CHARS:
            raise _Refused(400, f"the name is at most 80 characters and the note {MAX_TEXT_CHARS}")
        with _write(s) as h:
            sess = h.session(session_id)
            if sess.status != "done":
                raise _Refused(400, f"session {session_id} failed to analyse; there is no count to correct")
            sides = list(sess.reps_by_side) or ["both"]
            if side not in sides:
                raise _Refused(400, f"{sess.exercise} is counted as {', '.join(sides)}; choose one of them")
            report = h.report(sess.id)
            on_side = {r["index"] + 1 for r in report.get("reps", []) if r["side"] == side}
            try:
                rejected = sorted({int(x) for x in reject})
            except ValueError:
                raise _Refused(400, "a rejected rep must be a rep number") from None
            if not set(rejected) <= on_side:
                raise _Refused(400, f"only reps of the {side} side can be rejected here: {sorted(on_side)}")
            count = _count(reps, sess.reps_by_side.get(side, 0) - len(rejected))
            text = "; ".join(x for x in (
                f"rejected rep{'s' if len(rejected) > 1 else ''} {', '.join(map(str, rejected))}" if rejected else "",
                note.strip()) if x)
            h.add_review(sess.id, side=side, reps=count, note=text, reviewer=reviewer)
            rerender_session(h, h.session(sess.id))  # the static report page shows the review too
        return RedirectResponse(f"/sessions/{session_id}#review", status_code=303)

    @app.post("/sessions/{session_id}/verdict")
    def verdict(session_id: int, csrf: str = Form(""), item: str = Form(""), note: str = Form(""),
                reviewer: str = Form("")) -> Response:
        """Accept or reject one rep or fault (``item`` is ``rep:N:reject``, ``fault:ID:accept``...)."""
        _check_csrf(s, csrf)
        kind, target, choice = _verdict_item(item)
        reviewer = _reviewer_name(reviewer, note)
        with _write(s) as h:
            _record_verdict(h, session_id, kind, target, choice, note.strip(), reviewer)
        return RedirectResponse(f"/sessions/{session_id}#verdicts", status_code=303)

    @app.post("/upload")
    async def upload(request: Request) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > s.max_upload_bytes + 64 * 1024:
            raise _Refused(413, _too_big(s))
        if s.analyser.full():  # refused before a byte of the clip is stored
            raise _Refused(429, f"{s.analyser.waiting()} uploads are already waiting to be analysed (at most "
                                f"{s.analyser.max_waiting}): send this clip when one has finished")
        form = await request.form(max_files=1, max_fields=20)
        try:
            _check_csrf(s, str(form.get("csrf", "")))
            r, name = await _store_upload(s, form)
        finally:
            await form.close()
        job = s.analyser.submit(r, name)
        return RedirectResponse(f"/uploads/{job.id}", status_code=303)

    @app.get("/uploads/{job_id}", response_class=HTMLResponse)
    def upload_page(job_id: str) -> HTMLResponse:
        job = s.analyser.job(job_id)
        if job is None:
            raise _Refused(404, "no such upload: open it from the link the upload form gave")
        return _page(s, "upload.html.j2", title="Analysing upload", job=job)

    @app.get("/uploads/{job_id}/progress")
    def upload_progress(job_id: str) -> JSONResponse:
        job = s.analyser.job(job_id)
        if job is None:
            return JSONResponse({"error": "no such upload"}, status_code=404)
        return JSONResponse(job)

    @app.get("/progress", response_class=HTMLResponse)
    def progress_page(patient: str = "") -> HTMLResponse:
        rows = _progress(s, patient)
        charts = {ex: [_week_chart([r for r in rows if r.exercise == ex], *chart) for chart in WEEK_CHARTS]
                  for ex in dict.fromkeys(r.exercise for r in rows)}
        return _page(s, "progress.html.j2", title=f"Progress: {patient or 'no name'}", patient=patient, rows=rows,
                     charts=charts, adherence=_adherence(s, patient))

    @app.get("/progress.json")
    def progress_json(patient: str = "") -> JSONResponse:
        return JSONResponse({"patient": patient, "weeks": [r.to_dict() for r in _progress(s, patient)]})

    @app.get("/progress.csv")
    def progress_csv(patient: str = "") -> Response:
        from formcheck.sinks import csv_writer

        rows = [r.to_dict() for r in _progress(s, patient)]
        return _csv(csv_writer(rows, list(views.WeekRow.__dataclass_fields__)), f"progress-{_safe(patient)}.csv")

    @app.get("/sessions/{session_id}/export.json")
    def session_json(session_id: int) -> JSONResponse:
        with _read(s) as h:
            sess = h.session(session_id)
            report = h.report(sess.id) if sess.status == "done" else None
        return JSONResponse({"session": sess.to_dict(), "report": report},
                            headers={"Content-Disposition": f'attachment; filename="session-{session_id}.json"'})

    @app.get("/sessions/{session_id}/export.csv")
    def session_csv(session_id: int) -> Response:
        from formcheck.history import EXPORT_COLUMNS, export_rows
        from formcheck.sinks import csv_writer

        with _read(s) as h:
            sess = h.session(session_id)
            rows = [r for r in export_rows(h, patient=sess.patient, exercise=sess.exercise) if r["session_id"] == sess.id]
        return _csv(csv_writer(rows, EXPORT_COLUMNS), f"session-{session_id}.csv")

    @app.get("/sessions/{session_id}/report.pdf")
    def session_pdf(session_id: int) -> Response:
        from formcheck.web.pdf import session_pdf

        with _read(s) as h:
            sess = h.session(session_id)
            report = h.report(sess.id) if sess.status == "done" else None
        return _pdf(session_pdf(sess, report), f"session-{session_id}.pdf")

    @app.get("/progress.pdf")
    def progress_pdf(patient: str = "") -> Response:
        from formcheck.web.pdf import progress_pdf

        return _pdf(progress_pdf(patient, _progress(s, patient)), f"progress-{_safe(patient)}.pdf")

    @app.get("/sessions/{session_id}/fhir.json")
    def session_fhir(session_id: int) -> JSONResponse:
        with _read(s) as h:
            sess = h.session(session_id)
            if sess.status != "done":
                raise _Refused(404, f"session {session_id} failed to analyse; it has no observations")
            bundle = views.fhir_observations(sess, h.report(sess.id))
        return JSONResponse(bundle, media_type="application/fhir+json",
                            headers={"Content-Disposition": f'attachment; filename="session-{session_id}-fhir.json"'})

    return app


# --- helpers ----------------------------------------------------------------------------------------


@contextmanager
def _read(s: _Settings) -> Iterator[History]:
    """The database for one page: read-only, so a page can never change or create it."""
    with History(s.db_path, read_only=True) as h:
        yield h


@contextmanager
def _write(s: _Settings) -> Iterator[History]:
    """The one write path (corrections); uploads write through run_batch in the analysis thread."""
    with History(s.db_path) as h:
        yield h


def _page(settings: _Settings, template: str, *, status_code: int = 200, **context) -> HTMLResponse:
    html = settings.env.get_template(template).render(csrf=settings.csrf, **context)
    return HTMLResponse(html, status_code=status_code)


def _check_csrf(s: _Settings, given: str) -> None:
    if not given or not hmac.compare_digest(given.encode(), s.csrf.encode()):
        raise _Refused(403, "this form is out of date or did not come from this app (no valid CSRF token): "
                            "reload the page and send it again")


_ITEM = re.compile(r"(rep|fault):([A-Za-z0-9_.-]{1,80}):(accept|reject)")


def _verdict_item(item: str) -> tuple[str, str, str]:
    m = _ITEM.fullmatch(item)
    if m is None:
        raise _Refused(400, "press accept or reject beside a rep or a fault (the form named none)")
    kind, target, choice = m.groups()
    if kind == "rep" and not target.isdigit():
        raise _Refused(400, f"a rep is named by its number, not {target[:20]!r}")
    return kind, target, choice


def _reviewer_name(reviewer: str, note: str) -> str:
    reviewer = reviewer.strip()
    if not reviewer:
        raise _Refused(400, "say who reviewed: fill in your name")
    if len(reviewer) > 80 or len(note) > MAX_TEXT_CHARS:
        raise _Refused(400, f"the name is at most 80 characters and the note {MAX_TEXT_CHARS}")
    return reviewer


def _record_verdict(h: History, session_id: int, kind: str, target: str, choice: str, note: str, reviewer: str) -> None:
    """The verdict through ``History.add_verdict`` (as `formcheck review --reject-rep`), then the static page redrawn."""
    from formcheck.batch import rerender_session

    sess = h.session(session_id)  # an unknown session: 404 through the HistoryError handler
    try:
        h.add_verdict(sess.id, kind=kind, target=str(int(target)) if kind == "rep" else target, verdict=choice,
                      note=note, reviewer=reviewer)
    except HistoryError as e:
        raise _Refused(400, str(e)) from None
    rerender_session(h, h.session(sess.id))


def _count(text: str, default: int) -> int:
    text = text.strip()
    if not text:
        return max(0, default)
    if not text.isdigit() or int(text) > 500:
        raise _Refused(400, f"the count must be a whole number from 0 to 500, not {text[:20]!r}")
    return int(text)


def _too_big(s: _Settings) -> str:
    return f"the file is larger than the upload limit of {s.max_upload_bytes // (1024 * 1024)} MB: trim or compress the clip"


def _spec_ids() -> tuple[str, ...]:
    from formcheck.spec import spec_ids

    return spec_ids()


def _optional_number(text: str, kind, low: float, high: float, what: str):
    text = text.strip()
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        raise _Refused(400, f"{what} must be a number from {low:g} to {high:g}, not {text[:20]!r}") from None
    if not low <= value <= high:
        raise _Refused(400, f"{what} must be from {low:g} to {high:g}; got {value:g}")
    return value


async def _store_upload(s: _Settings, form) -> tuple[_Request, str]:
    """Check the form and save the clip under a generated name; refuses with a message, keeping nothing."""
    from starlette.datastructures import UploadFile

    exercise = str(form.get("exercise", ""))
    ids = _spec_ids()
    if exercise not in ids:
        raise _Refused(400, f"unknown exercise {exercise[:40]!r}; valid: {', '.join(ids)}")
    side = str(form.get("side", "")) or None
    if side not in (None, "left", "right"):
        raise _Refused(400, "side must be left, right or empty (both sides)")
    day = str(form.get("date", "")).strip()
    if day and not _DATE.fullmatch(day):
        raise _Refused(400, f"the date must be YYYY-MM-DD, not {day[:20]!r}")
    patient = str(form.get("patient", "")).strip()
    if len(patient) > 80:
        raise _Refused(400, "the patient name is at most 80 characters")
    reps = _optional_number(str(form.get("reps", "")), int, 1, 100, "prescribed reps")
    hold_s = _optional_number(str(form.get("hold_s", "")), float, 0, 300, "prescribed hold")
    clip = form.get("clip")
    if not isinstance(clip, UploadFile):
        raise _Refused(400, "no file chosen: pick a video clip to upload")
    try:
        check_upload_name(clip.filename)
    except UploadRefused as e:
        raise _Refused(400, str(e)) from None
    head = await clip.read(64)
    suffix = sniff_video(head)
    if suffix is None:
        raise _Refused(415, f"{clip.filename} is not a video formcheck can read (MP4, MOV, MKV/WebM or AVI, "
                            "judged from its content)")
    folder = s.reports_dir / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    job_id = uuid.uuid4().hex
    target = folder / f"{job_id}{suffix}"
    size = len(head)
    with atomic_path(target) as part:  # the one atomic writer: no half-uploaded clip is ever listed
        with open(part, "wb") as out:
            out.write(head)
            while chunk := await clip.read(1024 * 1024):
                size += len(chunk)
                if size > s.max_upload_bytes:
                    raise _Refused(413, _too_big(s))
                out.write(chunk)
    return _Request(job_id, target, exercise, side, patient, day, reps, hold_s, clip.filename[:200]), clip.filename


def _progress(s: _Settings, patient: str) -> list[views.WeekRow]:
    with _read(s) as h:
        sessions = current_sessions(h.sessions(patient=patient, status="done"))
        return views.progress_rows([(x, h.report(x.id)) for x in sessions])


def _adherence(s: _Settings, patient: str) -> dict | None:
    """Sessions per week against the patient's programme (None without a programme)."""
    from formcheck.progress import adherence, session_point

    with _read(s) as h:
        programme, _ = h.programme(patient)
        if programme is None:
            return None
        points = [session_point(session_date=x.session_date, analysed_at=x.analysed_at, exercise=x.exercise,
                                kind=x.kind, report=h.report(x.id))
                  for x in current_sessions(h.sessions(patient=patient, status="done"))]
    weeks = adherence(points, programme.sessions_per_week, today=date.today(), weeks=12)
    return {"per_week": programme.sessions_per_week, "weeks": weeks,
            "home": sum(1 for p in points if p.kind == "home"), "clinic": sum(1 for p in points if p.kind == "clinic")}


# what each weekly chart shows: (title, WeekRow field, scale to the shown unit, prescription field)
WEEK_CHARTS = (
    ("reps per side", "reps_per_side", 1.0, "target_reps"),
    ("hold s", "hold_s", 1.0, "target_hold_s"),
    ("range of motion deg", "rom_deg", 1.0, None),
    ("reps with a fault %", "fault_rate", 100.0, None),
)


def _week_chart(rows: list[views.WeekRow], title: str, name: str, scale: float, target: str | None) -> dict:
    """Bar geometry for one measure of one exercise by week, with its prescription as a line."""
    width, height, pad = 360, 150, 24
    values = [None if getattr(r, name) is None else round(getattr(r, name) * scale, 1) for r in rows]
    targets = [getattr(r, target) for r in rows if target and getattr(r, target)]
    top = max([v or 0 for v in values] + targets + [1])
    step = (width - 2 * pad) / max(1, len(rows))
    bars = []
    for i, (r, v) in enumerate(zip(rows, values)):
        h = (v or 0) / top * (height - 2 * pad)
        bars.append({"x": pad + i * step + step * 0.15, "w": step * 0.7, "y": height - pad - h, "h": h,
                     "label": r.week, "value": "-" if v is None else f"{v:g}"})
    target_y = height - pad - max(targets) / top * (height - 2 * pad) if targets else None
    return {"title": title, "width": width, "height": height, "pad": pad, "bars": bars, "target_y": target_y,
            "target": max(targets) if targets else None}


def _csv(write, filename: str) -> Response:
    buf = io.StringIO()
    write(buf)
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _pdf(data: bytes, filename: str) -> Response:
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name)[:40] or "patient"

