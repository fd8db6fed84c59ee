"""What every command module shares: the consoles, exit codes, escaping, errors and the summary.

cli, cli_live and cli_clinic import from here and never from each other.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from enum import Enum

import typer
from typer.core import TyperCommand, TyperGroup
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from formcheck.words import duration_text, plural, readable

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class Variant(str, Enum):
    """The pose model variants a command accepts."""
    lite = "lite"
    full = "full"
    heavy = "heavy"


class Side(str, Enum):
    """The side a one-sided set is done on."""
    left = "left"
    right = "right"


class _HelpTakesNoValue:
    """``--help`` is an on/off flag: shown without Typer's ``<bool>``, as our own flags are."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option


class HelpCommand(_HelpTakesNoValue, TyperCommand):
    """A command whose ``--help`` takes no value."""
    pass


class HelpGroup(_HelpTakesNoValue, TyperGroup):
    """A command group whose ``--help`` takes no value."""
    pass


class App(typer.Typer):
    """A Typer app whose groups and commands show ``--help`` without ``<bool>``."""

    def __init__(self, **kwargs):
        super().__init__(cls=HelpGroup, **kwargs)

    def command(self, *args, cls=HelpCommand, **kwargs):
        """A command registered with `HelpCommand`."""
        return super().command(*args, cls=cls, **kwargs)


def esc(text) -> str:
    """Text from the user or their files (a name, note, path, spec title), shown literally.

    Everything such text reaches the terminal through goes through here: Rich would otherwise read
    "Doe [ward b]" as a style and drop it, and raise MarkupError on "[/]".
    """
    return escape(str(text))


@lru_cache(maxsize=None)
def exercise_title(exercise_id: str) -> str:
    """The exercise's title as people read it; the id itself for one no spec has (dropped or renamed)."""
    from formcheck.spec import SpecError, load_spec

    try:
        return load_spec(exercise_id).title
    except SpecError:  # unknown, or a spec file that does not load: its failure is reported elsewhere
        return exercise_id


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    """Print a one-line error (escaped) and return the exit to raise with ``code``."""
    err_console.print(f"[bold red]error:[/] {esc(message)}", soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def user_errors():
    """Known problems become one line and an exit code, never a traceback."""
    from formcheck.errors import InputError
    from formcheck.evaluator import SideOverrideError
    from formcheck.models import ModelError
    from formcheck.spec import SpecError, UnknownExerciseError

    try:
        yield
    except UnknownExerciseError as e:
        raise fail(str(e), EXIT_USAGE) from None
    except SideOverrideError as e:
        raise fail(str(e), EXIT_USAGE) from None
    except (SpecError, ModelError, InputError) as e:
        raise fail(str(e)) from None
    except KeyboardInterrupt:
        raise fail("interrupted", EXIT_INTERRUPTED) from None
    except MemoryError:
        raise fail("ran out of memory: try --max-side 640 or a shorter clip") from None
    except OSError as e:
        raise fail(f"{e.strerror or e}: {e.filename or ''}".rstrip(": ")) from None


def _with_unit(name: str, unit: str) -> str:
    return f"{name}°" if unit == "deg" else f"{name} ({unit})"


def _fmt(v) -> str:
    return "-" if v is None else str(round(v))


def print_summary(report) -> None:
    """The rich summary a person reads after `analyze`."""
    from formcheck.lang import tr

    d = report.to_dict()
    s = d["summary"]
    target = s["target_reps_per_side"]
    by_side = "  ".join(f"{k}: {v}/{target}" for k, v in s["reps_by_side"].items())
    console.print(f"[bold]{esc(d['exercise_title'])}[/]  reps {s['reps_total']}  ({by_side})")
    if d["reps"]:
        peak_names = list(d["reps"][0]["peak_deg"])
        t = Table(show_edge=False, header_style="bold", pad_edge=False)
        t.add_column("#", justify="right")
        t.add_column("side")
        t.add_column("time s", no_wrap=True)
        units = d.get("units", {})
        for n in peak_names + ["range"]:
            t.add_column(_with_unit(n, units.get(n, "deg")), justify="right")
        hold_target = s["target_hold_s"]
        t.add_column(f"hold s (of {hold_target:g})" if hold_target else "hold s", justify="right")
        # titles, not ids, so a narrow terminal wraps the column between words and never mid-word
        t.add_column("faults", overflow="fold")
        for r in d["reps"]:
            end = f"{r['end_s']:.1f}" + ("" if r["complete"] else "*")
            start = ("^" if r.get("began_before_recording") else "") + f"{r['start_s']:.1f}"
            t.add_row(
                str(r["index"] + 1), r["side"], f"{start}-{end}",
                *[_fmt(r["peak_deg"].get(n)) for n in peak_names], _fmt(r["rom_deg"]), f"{r['hold_s']:.1f}",
                esc(", ".join(readable(f) for f in r["faults"]) or "-"),
            )
        console.print(t)
        console.print("[dim]values at each rep's peak; range = movement from the rest position[/]")
        if any(not r["complete"] for r in d["reps"]):
            console.print("[dim]* the recording ended during this rep (counted: it reached its peak)[/]")
        if any(r.get("began_before_recording") for r in d["reps"]):
            console.print("[dim]^ the recording started during this rep, or in the held position[/]")
    if d["reps"] and d.get("not_counted"):
        n = len(d["not_counted"])
        reasons = "; ".join(dict.fromkeys(m["reason"] for m in d["not_counted"]))
        console.print(f"[dim]{plural(n, 'other movement')} did not count: {escape(reasons)}[/]")
    if d["faults"]:
        console.print("[bold]Form faults[/]")
        for f in d["faults"]:
            console.print(f"  {f['start_s']:5.1f}s  [red]{esc(tr(f['cue']))}[/]  [dim]{esc(readable(f['id']))} ({f['side']}): {f['value']} vs limit {f['limit']}[/]")
    for n in d["notices"]:
        console.print(f"[yellow]note:[/] {esc(n)}")
    q = d["quality"]
    console.print(
        f"[dim]{plural(q['frames'], 'frame')}, {duration_text(q['duration_s'])}; person seen in {q['detected_fraction']:.0%}, "
        f"key joints unseen {q['driver_unseen_fraction']:.0%} of frames. {esc(d['disclaimer'])}[/]"
    )
