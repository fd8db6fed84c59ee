"""Routine files for `formcheck live --routine`: a YAML list of exercises with targets, done in order.

```yaml
- {exercise: bridge, reps: 10, hold_s: 3}
- {exercise: standing_hip_extension, reps: 8, side: left}
- mini_squat            # just an id: the spec's own target
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from formcheck.errors import InputError
from formcheck.spec import UnknownExerciseError, load_spec

MAX_ROUTINE_BYTES = 64 * 1024
MAX_ITEMS = 50
FIELDS = ("exercise", "reps", "hold_s", "side", "lang")


class RoutineError(InputError):
    """A routine file that cannot be used; the message names the file and the item."""


@dataclass(frozen=True)
class RoutineItem:
    """One exercise of a routine, with its prescribed dose (None: the spec's own)."""

    exercise: str
    reps: int | None = None
    hold_s: float | None = None
    side: str | None = None
    lang: str | None = None  # the cue language from this exercise on (None: as before)


def _number(value, kind: type, low: float, high: float, where: str, name: str):
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        ok = ok and float(value).is_integer()
    if not ok or not (low <= value <= high):
        what = "a whole number" if kind is int else "a number"
        raise RoutineError(f"{where}: {name} must be {what} from {low:g} to {high:g}, got {value!r}")
    return kind(value)


def parse_routine(text: str, source: str = "<routine>") -> tuple[RoutineItem, ...]:
    """Validate routine YAML; RoutineError (one line, naming the item) when it is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise RoutineError(f"{source}:{where}: YAML syntax error: {problem}") from None
    if not isinstance(data, list) or not data:
        raise RoutineError(f"{source}: a routine is a YAML list of exercises, e.g. - {{exercise: bridge, reps: 10}}")
    if len(data) > MAX_ITEMS:
        raise RoutineError(f"{source}: {len(data)} exercises; a routine has at most {MAX_ITEMS}")
    items = []
    for n, raw in enumerate(data, 1):
        where = f"{source}: item {n}"
        if isinstance(raw, str):
            raw = {"exercise": raw}
        if not isinstance(raw, dict):
            raise RoutineError(f"{where}: expected an exercise id or a mapping with {', '.join(FIELDS)}")
        unknown = [str(k) for k in raw if k not in FIELDS]
        if unknown:
            raise RoutineError(f"{where}: unknown key {unknown[0]!r}; valid: {', '.join(FIELDS)}")
        exercise = raw.get("exercise")
        if not isinstance(exercise, str) or not exercise.strip():
            raise RoutineError(f"{where}: exercise is missing (an id from `formcheck exercises`)")
        reps = raw.get("reps")
        hold_s = raw.get("hold_s")
        side = raw.get("side")
        if reps is not None:
            reps = _number(reps, int, 1, 100, where, "reps")
        if hold_s is not None:
            hold_s = _number(hold_s, float, 0, 300, where, "hold_s")
        if side is not None and side not in ("left", "right"):
            raise RoutineError(f"{where}: side must be left or right, got {side!r}")
        language = raw.get("lang")
        if language is not None:
            from formcheck.lang import available

            if not isinstance(language, str) or language.strip().lower() not in available():
                raise RoutineError(f"{where}: unknown lang {language!r}; available: {', '.join(available())}")
            language = language.strip().lower()
        try:
            load_spec(exercise)
        except UnknownExerciseError as e:
            raise UnknownExerciseError(f"{where}: {e}") from None
        items.append(RoutineItem(exercise.strip(), reps, hold_s, side, language))
    return tuple(items)


def load_routine(path: str | Path) -> tuple[RoutineItem, ...]:
    """Read and validate a routine file."""
    p = Path(path)
    if not p.is_file():
        raise RoutineError(f"no such routine file: {p}")
    if p.stat().st_size > MAX_ROUTINE_BYTES:
        raise RoutineError(f"{p}: larger than {MAX_ROUTINE_BYTES // 1024} KiB; is this a routine file?")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RoutineError(f"{p}: cannot read it ({e})") from None
    return parse_routine(text, str(p))
