"""Programme commands: set and show a patient's programme (exercises, sides, reps, holds, sets).

No ``from __future__ import annotations`` here: typer reads the options' annotations at
registration.
"""

from pathlib import Path
from typing import Annotated, Optional


def programme_table(programme):
    """The programme as a Rich table: readable titles, the dose in words."""
    from rich.table import Table

    from formcheck.cli_common import esc, exercise_title

    t = Table(show_edge=False, header_style="bold", pad_edge=False)
    for col in ("#", "exercise", "dose", "model", "lang"):
        t.add_column(col, justify="right" if col == "#" else "left", overflow="fold")
    for n, item in enumerate(programme.items, 1):
        t.add_row(str(n), esc(exercise_title(item.exercise)), esc(item.dose_text()), esc(item.variant or "-"),
                  esc(item.lang or programme.lang or "-"))
    return t


def register(app) -> None:
    """Add `formcheck programme set|show` to the formcheck app."""
    import typer

    from formcheck.cli_common import App, console, fail, user_errors

    programme_app = App(help="Set and show a patient's programme (exercises, sides, reps, holds, sets).",
                        no_args_is_help=True)
    app.add_typer(programme_app, name="programme")
    db_help = "History database (default: the user data folder)."

    @programme_app.command("set")
    def programme_set(
        patient: Annotated[str, typer.Option(help="The patient this programme is for.")],
        file: Annotated[Path, typer.Option("--file", "-f", help="Programme YAML: items of exercise, sides, reps, hold_s, sets.")],
        db: Annotated[Optional[Path], typer.Option("--db", help=db_help)] = None,
    ) -> None:
        """Store a patient's programme from a YAML file (the earlier one is kept in the history)."""
        from formcheck.cli_clinic import _reviewer
        from formcheck.history import History
        from formcheck.programme import read_programme

        if not patient.strip():
            raise fail("--patient is empty: pass the patient's name or id")
        with user_errors():
            programme = read_programme(file)
            with History(db) as h:
                h.set_programme(patient, programme, set_by=_reviewer())
        console.print(programme_table(programme))
        console.print(f"[green]Programme set[/] for {len(programme.items)} exercises, "
                      f"{programme.sessions_per_week} sessions a week; "
                      "`formcheck live --patient` runs it in order.", highlight=False)

    @programme_app.command("show")
    def programme_show(
        patient: Annotated[str, typer.Option(help="Whose programme.")],
        db: Annotated[Optional[Path], typer.Option("--db", help=db_help)] = None,
        as_yaml: Annotated[bool, typer.Option("--yaml", metavar="", help="Print the YAML (to edit and set again).")] = False,
    ) -> None:
        """Show a patient's current programme."""
        from formcheck.history import History
        from formcheck.words import date_text

        with user_errors(), History(db, read_only=True) as h:
            programme, set_at = h.programme(patient)
        if programme is None:
            raise fail(f"no programme for patient {patient!r}: set one with `formcheck programme set --patient "
                       f"{patient} --file programme.yaml`")
        if as_yaml:
            console.print(programme.to_yaml(), markup=False, highlight=False, end="")
            return
        console.print(programme_table(programme))
        console.print(f"[dim]{programme.sessions_per_week} sessions a week; set "
                      f"{date_text(set_at[:10])}[/]", highlight=False)
