"""`formcheck live`: coaching from a webcam (or a file standing in for one)."""

from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app) -> None:
    """Add the live command to the formcheck app."""
    from formcheck.cli_common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, Side, Variant, console, err_console, esc, fail, user_errors

    @app.command()
    def live(
        exercise: Annotated[Optional[str], typer.Option("--exercise", "-e", help="Exercise id (see `formcheck exercises`) or a spec file.")] = None,
        camera: Annotated[int, typer.Option(min=0, help="Camera index.")] = 0,
        side: Annotated[Optional[Side], typer.Option(help="Count only this side (one-sided exercises).")] = None,
        model: Annotated[Optional[str], typer.Option(help="A pose model .task file (default: the fetched one).")] = None,
        variant: Annotated[Variant, typer.Option(help="Which pose model to use: lite (fastest), full or heavy.")] = Variant.full,
        source: Annotated[Optional[Path], typer.Option("--source", help="Play this video file as a stand-in camera, at its own frame rate.")] = None,
        no_window: Annotated[bool, typer.Option("--no-window", metavar="", help="Run headless: no window (the summary and report as usual).")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="Do not speak counts and cues.")] = False,
        routine: Annotated[Optional[Path], typer.Option(help="A YAML list of {exercise, reps, hold_s, side}, done in order (n: next).")] = None,
        reps: Annotated[Optional[int], typer.Option("--reps", min=1, max=100, help="Prescribed reps per side (default: the spec's).")] = None,
        hold: Annotated[Optional[float], typer.Option("--hold", min=0, max=300, help="Prescribed hold in seconds (default: the spec's).")] = None,
        out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default: formcheck-out/live-DATE-TIME).")] = None,
        setup: Annotated[Optional[bool], typer.Option("--setup/--no-setup", metavar="", help="Guide into view and count down before counting (default: on for a camera, off for --source).")] = None,
        countdown: Annotated[float, typer.Option(min=0, max=30, help="Countdown after set-up, in seconds.")] = 3.0,
        patient: Annotated[Optional[str], typer.Option(help="Run this patient's programme (without --exercise) and record the session in the history as a home session.")] = None,
        db: Annotated[Optional[Path], typer.Option("--db", help="History database for --patient (default: the user data folder).")] = None,
        lang: Annotated[str, typer.Option("--lang", help="Language of the cues, spoken and shown: en or de (a routine item's lang: changes it).")] = "en",
        screenshot: Annotated[Optional[Path], typer.Option(hidden=True, help="Save the last composed frame as PNG (debug).")] = None,
    ) -> None:
        """Coach an exercise live from a webcam: reps per side, hold timer, spoken cues.

        Keys in the window: q or Esc quit, space pause, r start the exercise again, n next exercise, f full screen.

        Quit, Ctrl-C or a lost camera print the summary and save report.json (a session cut off is marked incomplete).
        """
        import time
        from dataclasses import replace

        from formcheck import pipeline
        from formcheck.backends import backend_for_options
        from formcheck.live_routine import RoutineItem, load_routine

        if exercise is not None and routine is not None:
            raise fail("give --exercise ID or --routine FILE (one of them)", EXIT_USAGE)
        if exercise is None and routine is None and patient is None:
            raise fail("give --exercise ID, --routine FILE, or --patient P to run the patient's programme", EXIT_USAGE)
        if patient is not None and not patient.strip():
            raise fail("--patient is empty: pass the patient's name or id", EXIT_USAGE)
        if db is not None and patient is None:
            raise fail("--db goes with --patient (the session is recorded for a patient)", EXIT_USAGE)
        programme = None
        if routine is not None and (reps is not None or hold is not None or side is not None):
            raise fail("with --routine, set reps, hold_s and side per exercise in the routine file", EXIT_USAGE)
        with user_errors():
            from formcheck.lang import use

            use(lang)
            if patient is not None:
                from formcheck.history import History

                with History(db) as h:
                    programme, _ = h.programme(patient)
            if exercise is None and routine is None:
                from formcheck.programme import routine_items

                if programme is None:
                    raise fail(f"no programme for patient {patient!r}: set one with `formcheck programme set "
                               f"--patient {patient} --file programme.yaml`, or pass --exercise", EXIT_USAGE)
                if reps is not None or hold is not None or side is not None:
                    raise fail("the programme sets reps, hold_s and sides; change it with `formcheck programme set`",
                               EXIT_USAGE)
                plan = routine_items(programme)
            elif routine is not None:
                plan = load_routine(routine)
            else:
                plan = (RoutineItem(exercise, reps, hold, side.value if side else None),)
            specs = [pipeline.build_evaluator(i.exercise, i.side, reps=i.reps, hold_s=i.hold_s, programme=programme)[0]
                     for i in plan]
        from formcheck.live import LiveOptions, LiveWindow, run_live
        from formcheck.live_window import display_available

        if not no_window and not display_available():
            raise fail("no display for the live window: run with --no-window (headless), or set DISPLAY")
        from formcheck.session import interrupts_between_frames

        out_dir = out or Path("formcheck-out") / time.strftime("live-%Y%m%d-%H%M%S")
        # Ctrl-C cuts the session thread between frames; the main thread never gets KeyboardInterrupt
        # mid-way through starting or stopping the camera, model and speech threads
        with user_errors(), interrupts_between_frames():
            pipeline.check_writable(out_dir)
            frames, source_info, release = _open_source(source, camera)
            try:
                backend = backend_for_options(model, variant.value)
                estimator = backend.open()
            except BaseException:
                release()
                raise
            speaker = None
            if not quiet:
                from formcheck.speech import Speaker

                speaker = Speaker(on_notice=lambda msg: err_console.print(f"[yellow]note:[/] {esc(msg)}", soft_wrap=True))
            source_info = replace(source_info, model_variant=backend.variant, model=backend.model_path.name)
            what = f"camera {camera}" if source is None else f"{source} (played as a camera)"
            titles = ", ".join(s.title for s in specs)
            console.print(f"[bold]formcheck live[/]: {esc(titles)} from {esc(what)}")
            if not no_window:
                console.print("[dim]keys: q/Esc quit, space pause, r start again, n next, f full screen; Ctrl-C ends and saves[/]")
            window = None if no_window else LiveWindow(f"formcheck live: {specs[0].title}" if len(specs) == 1 else "formcheck live")
            try:
                outcome = run_live(
                    plan,
                    lambda item: pipeline.build_evaluator(item.exercise, item.side, reps=item.reps, hold_s=item.hold_s,
                                                          programme=programme),
                    frames, estimator, source=source_info, out_dir=out_dir,
                    options=LiveOptions(setup=source is None if setup is None else setup, countdown_s=countdown,
                                        page=_page_meta(patient, db, source, camera, backend) if patient else None),
                    window=window, speaker=speaker, on_event=_print_event(console), screenshot=screenshot,
                )
            finally:
                estimator.close()
        _print_outcome(outcome, console)
        if programme is not None and exercise is None and routine is None:
            _print_against_programme(outcome, programme, console)
        if patient is not None:
            with user_errors():
                _record_home(outcome, patient, db, source, camera, backend.model_path.name)
        if outcome.camera_error is not None:
            saved = " (the report covers the session so far, marked incomplete)" if any(r.report for r in outcome.runs) else ""
            raise fail(f"{outcome.camera_error}{saved}", EXIT_ERROR)
        if outcome.ended_by == "interrupted":
            err_console.print("interrupted: the report covers the session so far (marked incomplete)")
            raise typer.Exit(EXIT_INTERRUPTED)


def _clip_name(source: Path | None, camera: int) -> str:
    return str(source.resolve()) if source is not None else f"camera {camera}"


def _page_meta(patient: str, db: Path | None, source: Path | None, camera: int, backend):
    """What each exercise's clinician page says: the patient, the day, the camera, the database."""
    from datetime import date

    from formcheck import __version__
    from formcheck.history import default_db_path
    from formcheck.htmlreport import ClipMeta

    path = (db if db is not None else default_db_path()).expanduser().resolve()
    return ClipMeta(clip_path=_clip_name(source, camera), model=backend.model_path.name, patient=patient,
                    session_date=date.today().isoformat(), extra={"kind": "home"},
                    formcheck_version=__version__, history_db=str(path))


def _record_home(outcome, patient: str, db: Path | None, source: Path | None, camera: int, model: str) -> None:
    """Each exercise that counted becomes a 'home' session in the history, its page naming the session."""
    from formcheck.batch import rerender_session
    from formcheck.cli_common import console, esc
    from formcheck.history import History
    from formcheck.programme import record_home_session
    from formcheck.sinks import report_document

    with History(db) as h:
        for run in outcome.runs:
            if run.report is None or run.out_dir is None:
                continue
            sid = record_home_session(h, patient=patient, report=report_document(run.report), spec=run.spec,
                                      folder=run.out_dir, clip=_clip_name(source, camera), model=model,
                                      side=run.item.side or "")
            rerender_session(h, h.session(sid))
            console.print(f"Recorded home session {sid} for {esc(patient)}: {esc(run.out_dir)}/report.html")


def _print_against_programme(outcome, programme, console) -> None:
    """The end-of-set summary against the programme: each item's dose and the reps done per side."""
    from rich.table import Table

    from formcheck.cli_common import esc, exercise_title

    done: dict[str, list[dict]] = {}
    for run in outcome.runs:
        if run.report is not None:
            done.setdefault(run.spec.id, []).append(run.report.to_dict()["summary"]["reps_by_side"])
    t = Table(title="Against the programme", show_edge=False, header_style="bold", pad_edge=False)
    for col in ("exercise", "programme", "done"):
        t.add_column(col, overflow="fold")
    for item in programme.items:
        sets = done.get(item.exercise, [])
        text = "; ".join(
            ", ".join(f"{side} {n}/{item.reps}" if item.reps else f"{side} {n}" for side, n in by_side.items())
            for by_side in sets
        ) or "not done"
        t.add_row(esc(exercise_title(item.exercise)), esc(item.dose_text()), esc(text))
    console.print(t)


def _open_source(path: Path | None, camera: int):
    """(frames, source description, release) for a camera or a file played at its own rate."""
    from formcheck.sources import open_camera, opened_camera_frames, paced_frames, probe_video, video_frames
    from formcheck.types import SourceInfo

    if path is None:
        cap = open_camera(camera, width=640, height=480)
        from formcheck.sources import load_cv2

        cv2 = load_cv2()
        size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        return opened_camera_frames(cap, camera), SourceInfo(kind="camera", camera=camera, frame_size_px=size), cap.release
    info = probe_video(path)
    source = SourceInfo(
        kind="video", path=str(path), played="live", fps=round(info.fps, 3), frame_count=info.frame_count,
        frame_size_px=(info.width_px, info.height_px), rotation_deg=info.rotation_deg,
    )
    return paced_frames(video_frames(path, max_side_px=960)), source, lambda: None


def _print_event(console):
    from formcheck.cli_common import esc

    styles = {"rep": "green", "fault": "red", "notice": "yellow", "done": "bold green", "exercise": "bold"}

    def show(kind: str, text: str) -> None:
        style = styles.get(kind, "dim")
        console.print(f"  [{style}]{esc(text)}[/]", soft_wrap=True)

    return show


def _print_outcome(outcome, console) -> None:
    from formcheck.cli_common import esc, print_summary

    for run in outcome.runs:
        if run.report is None:
            console.print(f"[dim]{esc(run.spec.title)}: counting never started, nothing saved[/]")
            continue
        print_summary(run.report)
        live = run.report.source.get("live", {})
        fps = live.get("analysed_fps")
        console.print(
            f"[dim]live: {live.get('frames_analysed')} frames analysed, {live.get('frames_dropped')} dropped "
            f"({live.get('dropped_fraction', 0):.0%})"
            + (f", {fps:.1f} fps" if fps else "")
            + (f", latency {live['latency_ms_mean']:.0f} ms" if live.get("latency_ms_mean") is not None else "")
            + "[/]"
        )
        if run.out_dir is not None:
            console.print(f"Wrote {esc(run.out_dir)}/report.json, reps.csv")
