"""A patient's programme: which exercises, in what order, at what dose.

A YAML file a clinician can write by hand, validated by pydantic; stored in the history database
(``History.set_programme``) so live coaching and analysis can use it without retyping the dose.

    sessions_per_week: 5
    lang: en
    items:
      - exercise: bridge
        reps: 10
        hold_s: 3
        sets: 2
      - exercise: clamshell
        sides: [left, right]
        reps: 12
"""

from __future__ import annotations

from typing import Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from formcheck.errors import InputError
from formcheck.spec import validation_error_text, yaml_error_text

MAX_PROGRAMME_BYTES = 64 * 1024



def _known_language(v: str | None) -> str | None:
    """A cue language formcheck has a catalogue for (None: English, or as before)."""
    from formcheck.lang import available

    if v is None:
        return None
    code = v.strip().lower()
    if code not in available():
        raise ValueError(f"unknown language {v!r}; available: {', '.join(available())}")
    return code

class ProgrammeError(InputError):
    """A programme file that cannot be used: names the field and what to write instead."""


class ProgrammeItem(BaseModel):
    """One exercise of the programme and its dose."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exercise: str
    variant: Optional[Literal["lite", "full", "heavy"]] = None  # the pose model for this exercise
    sides: tuple[Literal["left", "right"], ...] = ()  # empty: the spec's own sides
    reps: Optional[int] = Field(default=None, ge=1, le=500)
    hold_s: Optional[float] = Field(default=None, ge=0, le=600)
    sets: int = Field(default=1, ge=1, le=20)
    lang: Optional[str] = None

    @field_validator("lang")
    @classmethod
    def _item_language(cls, v: str | None) -> str | None:
        return _known_language(v)

    @field_validator("exercise")
    @classmethod
    def _known_exercise(cls, v: str) -> str:
        from formcheck.spec import spec_ids, unknown_exercise_message

        if v not in spec_ids():
            raise ValueError(unknown_exercise_message(v))
        return v

    @field_validator("sides")
    @classmethod
    def _distinct_sides(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v):
            raise ValueError("each side once: [left], [right] or [left, right]")
        return v

    def dose_text(self) -> str:
        """'2 x 10 reps, hold 3 s, left and right' for people."""
        parts = []
        if self.reps is not None:
            parts.append(f"{self.sets} x {self.reps} reps" if self.sets > 1 else f"{self.reps} reps")
        elif self.sets > 1:
            parts.append(f"{self.sets} sets")
        if self.hold_s:
            parts.append(f"hold {self.hold_s:g} s")
        if self.sides:
            parts.append(" and ".join(self.sides))
        return ", ".join(parts) or "as the exercise prescribes"


class Programme(BaseModel):
    """The ordered items of a patient's programme."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: tuple[ProgrammeItem, ...] = Field(min_length=1, max_length=50)
    sessions_per_week: int = Field(default=7, ge=1, le=21)
    lang: Optional[str] = None

    @field_validator("lang")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        return _known_language(v)

    def item_for(self, exercise: str) -> ProgrammeItem | None:
        """The first item of this exercise, if the programme has one."""
        return next((i for i in self.items if i.exercise == exercise), None)

    def to_yaml(self) -> str:
        """The programme as a YAML file a clinician can edit and set again."""
        return yaml.safe_dump(self.model_dump(mode="json", exclude_none=True), sort_keys=False)


def _valid_fields(loc: tuple) -> tuple[str, ...]:
    """The fields a programme (or, under ``items``, an item) may have."""
    return tuple(ProgrammeItem.model_fields if "items" in loc else Programme.model_fields)


def parse_programme(text: str, source: str = "<programme>") -> Programme:
    """Validate YAML text as a Programme; ProgrammeError names the source and the field."""
    if len(text.encode()) > MAX_PROGRAMME_BYTES:
        raise ProgrammeError(f"{source}: larger than {MAX_PROGRAMME_BYTES // 1024} KiB; is this the right file?")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ProgrammeError(f"{source}: {yaml_error_text(e)}") from None
    if isinstance(data, list):  # a bare list of items is a programme too
        data = {"items": data}
    if not isinstance(data, dict):
        raise ProgrammeError(f"{source}: expected a mapping with 'items' (a list of exercises), "
                             f"got {type(data).__name__}")
    try:
        return Programme.model_validate(data)
    except ValidationError as e:
        raise ProgrammeError(f"{source}: {validation_error_text(e, _valid_fields)}") from None


def read_programme(path) -> Programme:
    """Read and validate a programme file; one-line ProgrammeError when it cannot be used."""
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise ProgrammeError(f"{p}: no such programme file; write one (see `formcheck programme --help`)")
    if p.stat().st_size > MAX_PROGRAMME_BYTES:
        raise ProgrammeError(f"{p}: larger than {MAX_PROGRAMME_BYTES // 1024} KiB; is this the right file?")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ProgrammeError(f"{p}: cannot read it ({e}); save it as UTF-8 text") from None
    return parse_programme(text, str(p))


def routine_items(programme: Programme) -> tuple:
    """The live plan: each item once per set, in order; one side named when the item names one."""
    from formcheck.live_routine import RoutineItem

    plan = []
    for item in programme.items:
        side = item.sides[0] if len(item.sides) == 1 else None
        language = item.lang or programme.lang  # the cue language, as a routine item's lang: sets it
        plan.extend(RoutineItem(item.exercise, item.reps, item.hold_s, side, language) for _ in range(item.sets))
    return tuple(plan)


def record_home_session(history, *, patient: str, report: dict, spec, folder, clip: str, model: str,
                        side: str = "") -> int:
    """Store one exercise of a live session in the history as a 'home' session, beside clinic clips."""
    import hashlib
    from datetime import date, datetime, timezone
    from pathlib import Path

    from formcheck.io import digest_json

    at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    spec_doc = spec.model_dump(mode="json")
    spec_sha = digest_json(spec_doc)
    # every live session is its own: nothing to skip or replace on a rerun, so the key is unique
    run_key = hashlib.sha256(f"home\0{patient}\0{Path(folder).resolve()}\0{at}".encode()).hexdigest()
    return history.record(
        run_key=run_key, status="done", clip_path=clip, clip_sha256="", exercise=spec.id,
        spec_version=spec.version, spec_sha256=spec_sha, spec=spec_doc, model=model, patient=patient,
        session_date=date.today().isoformat(), side=side, report=report, report_dir=str(Path(folder).resolve()),
        analysed_at=at, kind="home",
    )
