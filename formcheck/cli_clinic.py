"""Clinician commands: batch, history, export, review.

No ``from __future__ import annotations`` here: typer reads the options' annotations at
registration, and they name objects imported inside ``register``.
"""

from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

from formcheck.defaults import ANALYSIS_FPS_HELP, DEFAULT_ANALYSIS_FPS


class VideoMode(str, Enum):
    """Where the report puts the annotated video: embedded in the page, a file beside it, or nowhere."""

    embed = "embed"
    file = "file"
    none = "none"


class ReviewSide(str, Enum):
    """Which side a clinician's counted reps are for."""

    both = "both"
    left = "left"
    right = "right"


def _reviewer() -> str:
    import getpass
    import os

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers): say so rather than guess
        return os.environ.get("USER") or "unknown"


def _counts(by_side: dict) -> str:
    if not by_side:
        return "-"
    return ", ".join(str(n) if side == "both" else f"{side[0].upper()} {n}" for side, n in by_side.items())


class _BatchBar:
    """A rich progress display: one bar across clips, one line per clip being analysed."""

    def __init__(self, progress, console):
        self.progress = progress
        self.console = console
        self.overall = progress.add_task("checking clips", total=None)
        self.tasks: dict[int, int] = {}

    def planned(self, total: int, to_analyse: int) -> None:
        skipped = total - to_analyse
        note = f" ({skipped} already done)" if skipped else ""
        self.progress.update(self.overall, total=total, description=f"clips{note}")

    def clip_started(self, key: int, name: str) -> None:
        from formcheck.cli_common import esc

        self.tasks[key] = self.progress.add_task(f"  {esc(name)}", total=None)

    def clip_progress(self, key: int, done: int, total: int | None) -> None:
        if key in self.tasks:
            self.progress.update(self.tasks[key], completed=done, total=total)

    def clip_finished(self, key: int, result) -> None:
        task = self.tasks.pop(key, None)
        if task is not None:
            self.progress.remove_task(task)
        self.progress.advance(self.overall)
        if result.status == "failed":
            from formcheck.cli_common import esc

            self.console.print(f"[red]failed[/] {esc(result.job.path.name)}: {esc(result.error)}", soft_wrap=True)


def register(app) -> None:
    """Add the clinician commands to the formcheck app."""
    import typer

    from formcheck.cli_common import EXIT_ERROR, EXIT_USAGE, Side, Variant, console, err_console, esc, exercise_title, fail, user_errors

    @contextmanager
    def clinic_errors():
        from formcheck.batch import ManifestError

        with user_errors():
            try:
                yield
            except ManifestError as e:
                raise fail(str(e), EXIT_USAGE) from None

    @app.command()
    def batch(
        paths: Annotated[Optional[list[Path]], typer.Argument(help="Clips, poses files, or folders of them.", show_default=False)] = None,
        exercise: Annotated[Optional[str], typer.Option("--exercise", "-e", help="Exercise id for clips the manifest does not name.")] = None,
        manifest: Annotated[Optional[Path], typer.Option("--manifest", "-m", help="CSV: clip, exercise, side, patient, date (reps, hold_s; other columns kept).")] = None,
        side: Annotated[Optional[Side], typer.Option(help="Count only this side (one-sided exercises).")] = None,
        patient: Annotated[str, typer.Option(help="Patient for clips the manifest does not name.")] = "",
        date: Annotated[str, typer.Option("--date", help="Session date (YYYY-MM-DD) for clips the manifest does not date.")] = "",
        reps: Annotated[Optional[int], typer.Option("--reps", min=1, max=100, help="Prescribed reps per side (default: the spec's).")] = None,
        hold: Annotated[Optional[float], typer.Option("--hold", min=0, max=300, help="Prescribed hold in seconds (default: the spec's).")] = None,
        workers: Annotated[int, typer.Option("--workers", "-j", min=1, max=32, help="Clips analysed at once, each in its own process.")] = 1,
        dask: Annotated[Optional[str], typer.Option("--dask", metavar="ADDRESS", help="Run the clips on a Dask distributed cluster (e.g. tcp://host:8786) instead of local processes; needs the distributed extra (pip install formcheck with it), the clips at the same paths on the workers and a fetched model there.")] = None,
        out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the per-clip reports and index.html.")] = Path("formcheck-batch"),
        db: Annotated[Optional[Path], typer.Option("--db", help="History database (default: $XDG_DATA_HOME/formcheck/history.sqlite3).")] = None,
        video: Annotated[VideoMode, typer.Option(help="Annotated video: embed in the page, file beside it, or none.")] = VideoMode.embed,
        force: Annotated[bool, typer.Option(metavar="", help="Analyse again even clips already in the history.")] = False,
        model: Annotated[Optional[Path], typer.Option(help="A pose model .task file (default: the fetched one).")] = None,
        variant: Annotated[Variant, typer.Option(help="Which pose model to use: lite (fastest), full or heavy.")] = Variant.full,
        max_side: Annotated[int, typer.Option(help="Downscale frames so the longer side is at most this (0: never).")] = 960,
        analysis_fps: Annotated[float, typer.Option(min=0, max=240, help=ANALYSIS_FPS_HELP)] = DEFAULT_ANALYSIS_FPS,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="No progress bar or table; failures and the index path only.")] = False,
    ) -> None:
        """Analyse many clips: reports per clip, an index page, every session in the history database.

        Resumable: a clip already analysed with the same content, spec and model is skipped.
        """
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.table import Table

        from formcheck.batch import BatchOptions, plan_jobs, run_batch
        from formcheck.history import History
        from formcheck.words import duration_text

        with clinic_errors():
            jobs, notes = plan_jobs(
                list(paths or []), manifest=manifest, exercise=exercise, side=side.value if side else None,
                patient=patient, session_date=date, reps=reps, hold_s=hold,
            )
            for note in notes:
                err_console.print(f"[yellow]note:[/] {esc(note)}", soft_wrap=True)
            options = BatchOptions(out_dir=out, workers=workers, model_path=model, variant=variant.value,
                                   max_side_px=max_side or None, video=video.value, force=force,
                                   analysis_fps=analysis_fps or None, dask_address=dask)
            with History(db) as history, Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TimeRemainingColumn(), console=err_console, disable=quiet, transient=True,
            ) as progress:
                summary = run_batch(jobs, options, history, _BatchBar(progress, err_console))
        if not quiet:
            t = Table(show_edge=False, header_style="bold", pad_edge=False)
            for col in ("clip", "exercise", "patient", "result", "reps", "time s"):
                t.add_column(col, justify="right" if col in ("reps", "time s") else "left", overflow="fold")
            for r in summary.results:
                status = {"analysed": "[green]analysed[/]", "skipped": "[dim]skipped[/]",
                          "failed": "[red]failed[/]", "incomplete": "[yellow]incomplete[/]"}[r.status]
                t.add_row(esc(r.job.path.name), esc(exercise_title(r.job.exercise)), esc(r.job.patient or "-"), status, _counts(r.reps_by_side),
                          f"{r.elapsed_s:.1f}" if r.status in ("analysed", "incomplete") else "-")
            console.print(t)
        failed = [r for r in summary.results if r.status == "failed"]
        if failed:
            err_console.print(f"[bold red]{len(failed)} clip(s) failed[/] (recorded in the history; rerun to retry):")
            for r in failed:
                err_console.print(f"  {esc(r.job.origin or r.job.path)}: {esc(r.error)}", soft_wrap=True)
        short = [r for r in summary.results if r.status == "incomplete"]
        if short:
            err_console.print(f"[bold yellow]{len(short)} clip(s) end early[/] (kept, marked incomplete):")
            for r in short:
                err_console.print(f"  {esc(r.job.origin or r.job.path)}: {esc(r.error)}", soft_wrap=True)
        console.print(
            f"{summary.count('analysed')} analysed, {summary.count('skipped')} skipped (already done), "
            + (f"{len(short)} incomplete, " if short else "")
            + f"{len(failed)} failed in {duration_text(summary.elapsed_s)}. Index: {esc(summary.index_path)}", soft_wrap=True,
        )
        if failed or short:
            raise typer.Exit(EXIT_ERROR)

    @app.command()
    def history(
        patient: Annotated[Optional[str], typer.Option(help="Only this patient.")] = None,
        exercise: Annotated[Optional[str], typer.Option("--exercise", "-e", help="Only this exercise.")] = None,
        db: Annotated[Optional[Path], typer.Option("--db", help="History database (default: the user data folder).")] = None,
        as_json: Annotated[bool, typer.Option("--json", metavar="", help="Print JSON instead of a table.")] = False,
        every: Annotated[bool, typer.Option("--all", metavar="", help="Also re-analyses and failed attempts that were superseded.")] = False,
    ) -> None:
        """List analysed sessions: machine and clinician counts, faults, where the report is."""
        import json

        from rich.table import Table

        from formcheck.history import History, current_sessions
        from formcheck.words import plural, readable, session_date_text

        with clinic_errors(), History(db, read_only=True) as h:
            sessions = h.sessions(patient=patient, exercise=exercise)
            if not every:
                sessions = current_sessions(sessions)
            faults = {s.id: h.report(s.id).get("summary", {}).get("faults_by_id", {}) for s in sessions if s.status == "done"}
        if as_json:
            console.print_json(json.dumps([{**s.to_dict(), "faults_by_id": faults.get(s.id, {})} for s in sessions]))
            return
        if not sessions:
            console.print("No sessions" + (" match" if patient or exercise else " yet: run `formcheck batch`") + ".")
            return
        t = Table(show_edge=False, header_style="bold", pad_edge=False)
        for col in ("id", "date", "patient", "clip", "exercise", "machine", "clinician", "faults"):
            t.add_column(col, justify="right" if col == "id" else "left", overflow="fold")
        for s in sessions:
            if s.status != "done":
                t.add_row(str(s.id), esc(session_date_text(s.session_date, s.analysed_at)), esc(s.patient or "-"), esc(s.clip_name), esc(exercise_title(s.exercise)),
                          "[red]failed[/]", "-", f"[red]{esc(s.error)}[/]")
                continue
            reviews = s.clinician_counts
            clin = ", ".join(
                (f"{r.reps}" if side == "both" else f"{side[0].upper()} {r.reps}") + f" ({esc(r.reviewer)})"
                for side, r in reviews.items()
            ) or "-"
            f = esc(", ".join(f"{readable(k)} x{n}" for k, n in faults.get(s.id, {}).items()) or "-")
            t.add_row(str(s.id), esc(session_date_text(s.session_date, s.analysed_at)), esc(s.patient or "-"),
                      ("[cyan]home[/] " if s.kind == "home" else "") + esc(s.clip_name), esc(exercise_title(s.exercise)),
                      _counts(s.reps_by_side), f"[green]{clin}[/]" if reviews else clin, f)
        console.print(t)
        console.print(f"[dim]{plural(len(sessions), 'session')}; machine = formcheck's count, clinician = the latest review "
                      "(`formcheck review`); `--json` gives report folders and every review[/]")
        if patient is not None:
            with clinic_errors():
                _print_progress(db, patient, sessions)

    @app.command()
    def export(
        csv_path: Annotated[Path, typer.Option("--csv", help="CSV file to write: one row per rep.")],
        patient: Annotated[Optional[str], typer.Option(help="Only this patient.")] = None,
        exercise: Annotated[Optional[str], typer.Option("--exercise", "-e", help="Only this exercise.")] = None,
        db: Annotated[Optional[Path], typer.Option("--db", help="History database (default: the user data folder).")] = None,
    ) -> None:
        """Write every rep of the history to a spreadsheet, with machine and clinician counts."""
        from formcheck.history import EXPORT_COLUMNS, History, export_rows
        from formcheck.io import OutputKind, check_output, csv_starts_with
        from formcheck.sinks import write_csv_atomic

        # only an earlier export is replaced: never the database, nor any other file
        ours = OutputKind("formcheck export", "--csv", lambda p: csv_starts_with(p, EXPORT_COLUMNS))
        with clinic_errors(), History(db, read_only=True) as h:
            check_output(csv_path, ours, database=h.path)
            rows = export_rows(h, patient=patient, exercise=exercise)
            write_csv_atomic(csv_path, rows, EXPORT_COLUMNS)
        sessions = len({r["session_id"] for r in rows})
        console.print(f"Wrote {esc(csv_path)} ({len(rows)} rows from {sessions} sessions)")

    @app.command()
    def review(
        report: Annotated[str, typer.Argument(help="A session id (see `formcheck history`), or a report folder, report.html or report.json.")],
        reps: Annotated[Optional[int], typer.Option("--reps", min=0, max=500, help="The reps you counted.")] = None,
        side: Annotated[Optional[ReviewSide], typer.Option(help="Which side you counted (needed for one-sided exercises).")] = None,
        reject_rep: Annotated[Optional[str], typer.Option("--reject-rep", metavar="N", help="Reject rep N (numbered from 1, as in the report); its side's count drops by one.")] = None,
        accept_rep: Annotated[Optional[str], typer.Option("--accept-rep", metavar="N", help="Accept rep N; a rep rejected before counts again.")] = None,
        reject_fault: Annotated[Optional[str], typer.Option("--reject-fault", metavar="ID", help="Reject a fault the machine flagged, by its id (for example hip_drop).")] = None,
        note: Annotated[str, typer.Option("--note", help="Why: e.g. 'rep 3 was a partial lift'.")] = "",
        by: Annotated[Optional[str], typer.Option("--by", help="Who reviewed (default: your login name).")] = None,
        db: Annotated[Optional[Path], typer.Option("--db", help="History database (default: the user data folder).")] = None,
    ) -> None:
        """Store your rep count beside the machine's (which is kept), or accept or reject one rep or fault, with who and when."""
        from formcheck.batch import rerender_session
        from formcheck.history import History, HistoryError

        verdicts = [(k, v, t) for k, v, t in (("rep", "reject", reject_rep), ("rep", "accept", accept_rep),
                                               ("fault", "reject", reject_fault)) if t is not None]
        if reps is None and not verdicts:
            raise fail("say what you reviewed: --reps N, --reject-rep N, --accept-rep N or --reject-fault ID", EXIT_USAGE)
        for kind, _, target in verdicts:
            if kind == "rep" and not (target.isdigit() and 1 <= int(target) <= 999):
                raise fail(f"a rep number is a whole number from 1 (see the report's rep table), not {target[:20]!r}",
                           EXIT_USAGE)
        with clinic_errors():
            db = _review_db(report, db)
        with clinic_errors(), History(db) as h:
            session = _find_session(h, report)
            reviewer = by or _reviewer()
            for kind, verdict, target in verdicts:
                try:
                    h.add_verdict(session.id, kind=kind, target=str(int(target)) if kind == "rep" else target,
                                  verdict=verdict, note=note, reviewer=reviewer)
                except HistoryError as e:
                    raise fail(str(e)) from None
                console.print(f"Session {session.id}: {verdict}ed {kind} {esc(target)} (by {esc(reviewer)})", soft_wrap=True)
            stored = None
            if reps is not None:
                sides = list(session.reps_by_side) or ["both"]
                chosen = side.value if side else ("both" if sides == ["both"] else None)
                if chosen is None:
                    raise fail(f"{session.exercise} is counted per side: give --side {' or --side '.join(sides)}", EXIT_USAGE)
                if chosen not in sides:
                    raise fail(f"{session.exercise} is counted as {', '.join(sides)}; --side {chosen} does not apply", EXIT_USAGE)
                try:
                    stored = h.add_review(session.id, side=chosen, reps=reps, note=note, reviewer=reviewer)
                except HistoryError as e:
                    raise fail(str(e)) from None
            session = h.session(session.id)
            page = rerender_session(h, session)
        if stored is not None:
            machine = session.reps_by_side.get(stored.side, 0)
            console.print(
                f"Session {session.id} ({esc(session.clip_name)}, {esc(session.exercise)}), {stored.side}: machine {machine}, "
                f"clinician {stored.reps} (by {esc(stored.reviewer)}, {stored.reviewed_at})", soft_wrap=True,
            )
        else:
            counts = ", ".join(f"{s} {r.reps}" for s, r in session.clinician_counts.items()) or "unchanged"
            console.print(f"Clinician count now: {counts}")
        if page is not None:
            console.print(f"Updated {esc(page)}")

    @app.command()
    def serve(
        db: Annotated[Optional[Path], typer.Option("--db", help="History database (default: the user data folder).")] = None,
        reports: Annotated[Path, typer.Option("--reports", help="The batch's report folder; uploads are analysed into it.")] = Path("formcheck-batch"),
        host: Annotated[str, typer.Option("--host", help="Address to listen on; anything but this computer needs the token.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free one).")] = 8000,
        token_file: Annotated[Optional[Path], typer.Option("--token-file", help="A file holding the access token (default: a new one, printed).")] = None,
        model: Annotated[Optional[Path], typer.Option(help="A pose model .task file for uploads (default: the fetched one).")] = None,
    ) -> None:
        """The clinic web app: sessions, review by click, corrections, uploads and progress, in a browser."""
        import secrets
        import socket

        from formcheck.history import History

        with clinic_errors(), History(db, read_only=True) as h:
            db_path = h.path  # missing, foreign, damaged or newer: one line here, before anything listens
        from formcheck.web.app import create_app, is_local_host

        local = is_local_host(host)
        token = None
        if token_file is not None:
            try:
                token = token_file.expanduser().read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as e:
                raise fail(f"cannot read the token file {token_file} ({getattr(e, 'strerror', None) or e})", EXIT_USAGE) from None
            if len(token) < 16:
                raise fail(f"the token in {token_file} is shorter than 16 characters: use a long random one", EXIT_USAGE)
        elif not local:
            token = secrets.token_urlsafe(24)  # anyone on the network could connect: a token, always
        allowed = ["127.0.0.1", "localhost", "::1", "[::1]"] if local else None
        app_ = create_app(db_path, reports, token, allowed_hosts=allowed, model_path=model)
        try:
            family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host.strip("[]"), port))
            sock.listen(128)
        except OSError as e:
            raise fail(f"cannot listen on {host}:{port} ({e.strerror or e}): choose another --port or --host") from None
        # listening before the address is printed: a browser (or a test) reading it can connect at
        # once; a connection made before uvicorn starts waits in the backlog instead of being refused
        bound_port = sock.getsockname()[1]
        shown = f"[{host.strip('[]')}]" if family == socket.AF_INET6 else host
        url = f"http://{shown}:{bound_port}/" + (f"?token={token}" if token else "")
        console.print(f"formcheck serve: {esc(url)}", soft_wrap=True)
        console.print(f"[dim]history {esc(db_path)}, reports {esc(reports.expanduser().resolve())}; Ctrl-C stops[/]", soft_wrap=True)
        _run_server(app_, sock)


def _print_progress(db, patient: str, sessions) -> None:
    """Adherence (sessions per week against the programme) and each exercise's weekly trend."""
    from datetime import date

    from rich.table import Table

    from formcheck.cli_common import console, esc, exercise_title
    from formcheck.history import History
    from formcheck.progress import adherence, session_point, weekly_trend
    from formcheck.words import date_text

    with History(db, read_only=True) as h:
        programme, _ = h.programme(patient)
        points = [session_point(session_date=s.session_date, analysed_at=s.analysed_at, exercise=s.exercise,
                                kind=s.kind, report=h.report(s.id)) for s in sessions if s.status == "done"]
    if not points:
        return
    if programme is not None:
        a = Table(title="Adherence", show_edge=False, header_style="bold", pad_edge=False)
        for col in ("week of", "sessions", "planned", ""):
            a.add_column(col, justify="left" if col in ("week of", "") else "right")
        for w in adherence(points, programme.sessions_per_week, today=date.today(), weeks=12):
            style = "green" if w.fraction >= 1 else "yellow" if w.fraction >= 0.5 else "red"
            a.add_row(date_text(w.week_start), str(w.sessions_done), str(w.sessions_planned),
                      f"[{style}]{w.fraction:.0%}[/]")
        console.print(a)
    else:
        console.print(f"[dim]no programme for {esc(patient)}: `formcheck programme set` gives adherence[/]")
    t = Table(title="Weekly trend", show_edge=False, header_style="bold", pad_edge=False)
    for col in ("exercise", "week of", "done", "reps", "hold", "range", "faults"):
        t.add_column(col, justify="left" if col in ("exercise", "week of") else "right", overflow="fold")
    last = None
    for w in weekly_trend(points):
        t.add_row(esc(exercise_title(w.exercise)) if w.exercise != last else "", date_text(w.week_start), str(w.sessions),
                  f"{w.reps_per_session:.1f}", "-" if w.hold_s_mean is None else f"{w.hold_s_mean:.1f} s",
                  "-" if w.rom_deg_mean is None else f"{w.rom_deg_mean:.0f}°",
                  "-" if w.fault_rate is None else f"{w.fault_rate:.0%}")
        last = w.exercise
    console.print(t)
    console.print("[dim]done = sessions that week; reps per session; hold, range of motion and the share of "
                  "faulty reps over that week's reps[/]")


def _run_server(app, sock) -> None:
    """Serve on an already bound socket until Ctrl-C or SIGTERM (uvicorn handles both)."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])


def _review_db(report: str, db: Optional[Path]) -> Optional[Path]:
    """The database to review in: the one the batch recorded in the report folder, unless none was."""
    from formcheck.batch import recorded_db
    from formcheck.history import HistoryError, default_db_path, missing_database
    from formcheck.io import same_file

    if report.isdigit():  # a session id, never a path (however long)
        target = (db or default_db_path()).expanduser()
        if not target.exists():
            raise missing_database(target)
        return db
    path = Path(report).expanduser()
    folder = path.parent if path.is_file() else path
    recorded = recorded_db(folder)
    chosen = db
    if recorded is not None and not (db is not None and same_file(db, recorded)):
        if recorded.is_file() and db is None:
            chosen = recorded
        elif recorded.is_file():
            raise HistoryError(f"{report} is in the history database {recorded}, not {db}: leave out --db, "
                               f"or pass --db {recorded}")
        elif db is None:
            raise HistoryError(f"{report} was analysed into the history database {recorded}, which is gone: "
                               "pass --db with where that database is now")
    # only a plain `analyze` folder may start a new database (it is imported into it); a session
    # id or a batch's folder needs the database that already holds it
    importable = (folder / "report.json").is_file() and not (folder / "report.html").is_file()
    target = (chosen or default_db_path()).expanduser()
    if not importable and not target.exists():
        raise missing_database(target)
    return chosen


def _find_session(history, report: str):
    """A session by id, or by its report folder (a plain `analyze` folder is added to the history)."""
    from formcheck.history import HistoryError

    if report.isdigit():
        if len(report) > 19:  # past any SQLite id (and Python's int() digit limit)
            raise HistoryError(f"no session {report[:20]}... in {history.path}; `formcheck history` lists them")
        return history.session(int(report))
    path = Path(report).expanduser()
    folder = path.parent if path.is_file() else path
    if not folder.is_dir():
        raise HistoryError(f"no such report folder or session id: {report}")
    found = history.session_for_dir(folder)
    if found is not None:
        return found
    if (folder / "report.html").is_file() or (folder / "page.json").is_file():
        # a batch's folder is never imported as a new session: that would redraw its page and
        # index from the wrong database
        raise HistoryError(f"{folder} was written by `formcheck batch`, but {history.path} has no session "
                           "for it: pass the --db that batch used")
    if (folder / "report.json").is_file():
        return _import_report(history, folder)
    raise HistoryError(f"{folder} holds no formcheck report; give a session id from `formcheck history`")


def _import_report(history, folder: Path):
    """Add a report folder written by `formcheck analyze` to the history, so it can be reviewed."""
    import hashlib
    import json

    from formcheck.history import HistoryError
    from formcheck.io import sha256_file
    from formcheck.report import check_report_dict
    from formcheck.spec import SpecError, load_spec

    def no_constants(name: str):
        raise ValueError(f"{name} is not a number JSON allows")

    raw = (folder / "report.json").read_bytes()
    try:
        report = check_report_dict(json.loads(raw, parse_constant=no_constants))
    except (ValueError, RecursionError) as e:
        raise HistoryError(
            f"{folder / 'report.json'} is not a formcheck report ({e}): review a folder `formcheck analyze` wrote"
        ) from None
    exercise = report["exercise"]
    source = report.get("source", {})
    run_key = "imported:" + hashlib.sha256(raw).hexdigest()
    existing = history.find_done(run_key)
    if existing is not None:
        return existing
    clip = Path(source.get("path") or folder / "report.json")
    clip_sha = sha256_file(clip) if clip.is_file() else ""
    try:
        spec = load_spec(exercise)
        spec_dict = spec.model_dump(mode="json") if spec.version == report.get("spec_version") else None
    except SpecError:
        spec_dict = None
    sid = history.record(
        run_key=run_key, status="done", clip_path=str(clip), clip_sha256=clip_sha, exercise=exercise,
        spec_version=report.get("spec_version"), spec_sha256="", spec=spec_dict,
        model=source.get("model") or source.get("model_variant") or "unknown", report=report,
        report_dir=str(folder.resolve()),
    )
    return history.session(sid)
