"""Exercise specs: YAML files validated by pydantic v2, loaded by id or by path."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from formcheck.faults import ENGINE_FAULTS, check_kind
from formcheck.measures import measure, world_measures  # what each measure takes: its registry entry
from formcheck.skeleton import LANDMARK_NAMES, SIDES

MAX_SPEC_BYTES = 256 * 1024  # a spec is a page of YAML; anything this big is a mistake
# far above any real revision count, and small enough for SQLite's 64-bit integers and for JSON
MAX_SPEC_VERSION = 1_000_000

SIDED_POINT = re.compile(r"^\{side\}_|^\{other\}_")
ID_PATTERN = r"^[a-z][a-z0-9_]*$"

Posture = Literal["standing", "sitting", "kneeling", "supine", "prone", "side_lying", "quadruped", "any"]
UPRIGHT_POSTURES = ("standing", "sitting", "kneeling")


class SpecError(ValueError):
    """A spec that cannot be used; the message names the file and the field."""


class UnknownExerciseError(SpecError):
    """An exercise id that no bundled spec has; the message lists the valid ids."""


class _Strict(BaseModel):
    # NaN or infinity in a limit makes a rule that can never fire (NaN compares false): refuse it
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Target(_Strict):
    """The prescribed dose: reps (or holds) per side and how long to hold."""
    reps: int = Field(default=10, ge=1, le=100, description="reps (or holds) per side")
    hold_s: float = Field(default=0.0, ge=0, le=300, description="time to hold at the peak of each rep")


class FeatureSpec(_Strict):
    """One feature a spec measures: a measure, its points and side."""
    measure: str
    # working: each side for its own counter; both: the mean of the sides seen; difference: left - right
    side: Literal["working", "left", "right", "both", "difference"] | None = None
    points: tuple[str, ...] = ()
    # image: 2D landmarks (what the camera shows); world: MediaPipe's 3D landmarks, for motion toward
    # or away from the camera (noisier in depth)
    space: Literal["image", "world"] = "image"
    description: str = ""

    @field_validator("measure")
    @classmethod
    def _known_measure(cls, v: str) -> str:
        measure(v)  # a bad name lists the valid ones
        return v

    @field_validator("points")
    @classmethod
    def _known_points(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for p in v:
            name = SIDED_POINT.sub("left_", p)
            if name not in LANDMARK_NAMES:
                raise ValueError(
                    f"unknown landmark {p!r}; valid: {', '.join(LANDMARK_NAMES)} "
                    "(or {side}_/{other}_ + a sided name)"
                )
        return v

    @model_validator(mode="after")
    def _shape(self) -> FeatureSpec:
        m = measure(self.measure)
        sided, n_points = m.sided, m.n_points
        if m.chain:
            if len(self.points) < n_points:
                raise ValueError(f"measure {self.measure!r} takes a chain of at least {n_points} points, got {len(self.points)}")
        elif len(self.points) != n_points:
            raise ValueError(f"measure {self.measure!r} takes {n_points} points, got {len(self.points)}")
        templated = any(SIDED_POINT.match(p) for p in self.points)
        if (sided or templated) and self.side is None:
            raise ValueError(f"measure {self.measure!r} needs side: working, left, right, both or difference")
        if not (sided or templated) and self.side is not None:
            raise ValueError(f"measure {self.measure!r} has no side; remove side")
        if self.space == "world" and not m.world_capable:
            raise ValueError(f"measure {self.measure!r} is image-only; space: world works for {', '.join(world_measures())}")
        return self

    @property
    def sided(self) -> bool:
        """Whether the feature is taken on one side."""
        return self.side is not None


class RepSpec(_Strict):
    """One rep = leave the rest position, pass the peak, come back (hysteresis + dwell)."""

    driver: str = Field(description="the feature whose excursion from rest makes a rep")
    # either: the movement goes one way or the other depending on the person and the camera (a
    # pelvic tilt); both ways are counted and the set's own way is kept (see TwoWayCounter)
    direction: Literal["increase", "decrease", "either"]
    enter_deg: float = Field(gt=0, le=120, description="excursion from rest that starts the active phase")
    exit_deg: float = Field(ge=0, le=120, description="back within this of rest ends the rep")
    return_fraction: float = Field(
        default=0.6, gt=0, le=1, description="or: came back this share of the rep's own excursion"
    )
    min_rom_deg: float = Field(gt=0, le=180, description="smallest excursion that counts as a rep")
    peak_limit_deg: float | None = Field(
        default=None, description="absolute value the driver must pass at the peak (e.g. hips up to a line)"
    )
    rest_range_deg: tuple[float, float] | None = Field(
        default=None, description="where the rest position may be (e.g. standing hip -15..30)"
    )
    min_dwell_s: float = Field(default=0.12, ge=0, le=2)
    min_duration_s: float = Field(default=0.5, gt=0)
    max_duration_s: float = Field(default=20.0, gt=0)
    hold_band_deg: float = Field(default=6.0, gt=0, le=45, description="within this of the peak counts as held")
    # Which half of the cycle is the work: out (lifting away from rest: bridges, leg raises, a
    # stretch) or back (rising back to rest: a squat, standing up from a chair). A rep cut by the
    # start or the end of the recording counts when its working half was seen.
    effort: Literal["out", "back"] = "out"
    phase_names: tuple[str, str] = ("rest", "active")

    @model_validator(mode="after")
    def _sane(self) -> RepSpec:
        if self.enter_deg - self.exit_deg < 3:
            raise ValueError(
                f"enter_deg ({self.enter_deg}) must exceed exit_deg ({self.exit_deg}) by at least 3 degrees "
                "(the hysteresis gap that keeps jitter from counting)"
            )
        if self.min_rom_deg < self.enter_deg:
            raise ValueError(f"min_rom_deg ({self.min_rom_deg}) must be at least enter_deg ({self.enter_deg})")
        if self.max_duration_s <= self.min_duration_s:
            raise ValueError("max_duration_s must exceed min_duration_s: no rep could ever complete")
        if self.rest_range_deg is not None and self.rest_range_deg[0] >= self.rest_range_deg[1]:
            raise ValueError("rest_range_deg must be [low, high] with low < high")
        if self.phase_names[0] == self.phase_names[1]:
            raise ValueError("phase_names must be two different names")
        if self.direction == "either" and self.peak_limit_deg is not None:
            raise ValueError("peak_limit_deg needs direction: increase or decrease (with either it has no side to be passed on)")
        return self


class FaultSpec(_Strict):
    """One fault rule: its id, the check, the cue and why its limit is what it is."""
    id: str = Field(pattern=ID_PATTERN)
    cue: str = Field(min_length=3, max_length=80, description="short and plain, said to the patient")
    scope: Literal["rep", "frame"]
    feature: str | None = None
    rep_measure: Literal["duration_s", "rom_deg", "hold_s"] | None = None
    stat: Literal["peak", "max", "min", "mean"] = "peak"  # rep scope: which value over the rep
    when: Literal["active", "rest", "always"] = "active"  # frame scope: in which phase it applies
    absolute: bool = False  # compare |value|
    # frame scope, when: active: judge the change from the value at rest just before the rep
    from_rest: bool = False
    above: float | None = None
    below: float | None = None
    min_duration_s: float = Field(default=0.3, ge=0, le=10, description="frame scope: how long it must persist")
    why: str = ""
    # what the pose model cannot see of this fault: said in the report whenever the fault is not
    # flagged, so a clean report is not read as proof (e.g. one hip lower than the other)
    limits: str = ""
    # the exercise is this movement done without this fault (a clamshell keeps the feet together):
    # a movement that shows it on every rep is more likely another exercise (see recognise.py)
    defines_exercise: bool = False

    @model_validator(mode="after")
    def _shape(self) -> FaultSpec:
        if (self.feature is None) == (self.rep_measure is None):
            raise ValueError("give exactly one of feature or rep_measure")
        if self.from_rest and self.scope != "frame":
            raise ValueError("from_rest judges frames against the rest before the rep: set scope: frame")
        check_kind(self).validate(self)  # the fields its kind needs
        if self.above is None and self.below is None:
            raise ValueError("give above and/or below")
        if self.above is not None and self.below is not None and self.below >= self.above:
            raise ValueError(f"below ({self.below}) must be less than above ({self.above}): the fault would always fire")
        return self



class PositionCheck(_Strict):
    """One measure of the held position: a feature's value between two limits."""

    feature: str
    # for a feature measured per side: the working leg's value or the other leg's
    side: Literal["working", "other"] = "working"
    between: tuple[float, float]
    why: str = ""

    @model_validator(mode="after")
    def _range(self) -> PositionCheck:
        if self.between[0] >= self.between[1]:
            raise ValueError("between must be [low, high] with low < high")
        return self


class PositionSpec(_Strict):
    """The held position itself (e.g. half-kneeling), told from measures the spec already takes.

    Held for the prescribed time without the driver reaching a rep's depth, it is one timed hold
    with the ``too_shallow`` fault: a stretch held shallow is still a stretch held, said as such.
    """

    name: str = Field(min_length=3, max_length=40, description="the position in plain words, e.g. half-kneeling")
    checks: tuple[PositionCheck, ...] = Field(min_length=1)
    cue: str = Field(min_length=3, max_length=80, description="said when the position is held without the depth")


class ExerciseSpec(_Strict):
    """An exercise spec: its features, how reps are counted, its fault rules and target."""
    id: str = Field(pattern=ID_PATTERN)
    version: int = Field(ge=1, le=MAX_SPEC_VERSION)
    title: str
    kind: Literal["reps", "hold"] = "reps"
    sides: Literal["per_side", "bilateral"]
    # labels: each side's counter follows the model's left/right leg. near_camera: the working leg
    # is the one nearer the camera (the camera advice has the person turn round for the other
    # side), so the side comes from which way the person lies, not from leg labels the model
    # confuses; the driver may then be measured on either leg.
    working_side: Literal["labels", "near_camera"] = "labels"
    # both legs may be lifted at once (a double-leg raise): two legs' reps at once that are alike,
    # together and apart in 3D count on each leg. Elsewhere (and always without it) two legs "in a
    # rep" at once are the model echoing the working leg: through the model a hidden far leg
    # follows a small prone lift at 70-100% of its size for the whole rep.
    double_lift: bool = False
    view: Literal["side", "front", "any"]
    posture: Posture
    camera: str = Field(description="where to put the camera, in plain words")
    instructions: str
    follows: str = ""  # which article's description the spec follows where they differ
    sources: tuple[str, ...] = ()
    target: Target = Target()
    features: dict[str, FeatureSpec]
    rep: RepSpec
    faults: tuple[FaultSpec, ...] = ()
    position: PositionSpec | None = None

    @field_validator("features")
    @classmethod
    def _feature_names(cls, v: dict[str, FeatureSpec]) -> dict[str, FeatureSpec]:
        for name in v:
            if not re.match(ID_PATTERN, name):
                raise ValueError(f"feature name {name!r} must be lower_snake_case")
        if not v:
            raise ValueError("at least one feature is needed")
        return v

    @model_validator(mode="after")
    def _references(self) -> ExerciseSpec:
        names = ", ".join(self.features)
        if self.rep.driver not in self.features:
            raise ValueError(f"rep.driver {self.rep.driver!r} is not a feature; features: {names}")
        driver = self.features[self.rep.driver]
        if self.double_lift and (self.sides != "per_side" or self.working_side != "labels"):
            raise ValueError("double_lift counts each leg's rep of a lift of both: it needs sides: per_side, "
                             "with the legs told apart by their labels")
        if self.working_side == "near_camera" and (self.sides != "per_side" or self.view != "side"):
            raise ValueError("working_side: near_camera needs sides: per_side and view: side (the near leg is judged side-on)")
        if self.sides == "per_side" and driver.side != "working" and self.working_side != "near_camera":
            raise ValueError("a per_side exercise needs a driver with side: working (it is measured on each side)")
        if self.sides == "bilateral" and driver.side == "working":
            raise ValueError("a bilateral exercise cannot use side: working; use both, left or right")
        if self.sides == "bilateral" and any(f.side == "working" for f in self.features.values()):
            raise ValueError("side: working needs sides: per_side")
        ids = [f.id for f in self.faults]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"fault ids must be unique; repeated: {', '.join(sorted(dup))}")
        for f in self.faults:
            if f.feature is not None and f.feature not in self.features:
                raise ValueError(f"fault {f.id!r} uses unknown feature {f.feature!r}; features: {names}")
            if f.id in ENGINE_FAULTS:
                raise ValueError(f"fault id {f.id!r} is reserved: formcheck raises it itself ({ENGINE_FAULTS[f.id].meaning})")
        if self.position is not None:
            if self.kind != "hold":
                raise ValueError("position is for hold exercises (a position held without the depth is one hold)")
            for c in self.position.checks:
                if c.feature not in self.features:
                    raise ValueError(f"position check uses unknown feature {c.feature!r}; features: {names}")
                if c.side == "other" and self.features[c.feature].side != "working":
                    raise ValueError(f"position check side: other needs a feature measured per side "
                                     f"(side: working); {c.feature!r} is not")
        if self.rep.max_duration_s < self.target.hold_s + self.rep.min_duration_s:
            raise ValueError(
                f"rep.max_duration_s ({self.rep.max_duration_s}) is shorter than the target hold "
                f"({self.target.hold_s} s): a held rep could never complete"
            )
        return self

    @property
    def counter_sides(self) -> tuple[str, ...]:
        """The sides reps are counted on ("left", "right", or "both" together)."""
        return SIDES if self.sides == "per_side" else ("both",)

    def with_target(self, reps: int | None = None, hold_s: float | None = None) -> ExerciseSpec:
        """The same spec with a prescribed dosage (a clinician's reps per side or hold time).

        A longer hold than the spec allows for stretches the rep's time limit with it.
        """
        update = {k: v for k, v in (("reps", reps), ("hold_s", hold_s)) if v is not None}
        if not update:
            return self
        data = self.model_dump()
        data["target"].update(update)
        rep = data["rep"]
        rep["max_duration_s"] = max(rep["max_duration_s"], data["target"]["hold_s"] + rep["min_duration_s"] + 15.0)
        try:
            return ExerciseSpec.model_validate(data)
        except ValidationError as e:
            raise SpecError(f"{self.id}: {validation_error_text(e)}") from None


def validation_error_text(err: ValidationError, valid_fields: Callable[[tuple], Iterable[str]] | None = None) -> str:
    """pydantic's first error as one line naming the field (``valid_fields(loc)`` lists the fields an
    unknown one could have been, for models that forbid extra fields)."""
    first = err.errors()[0]
    # a field name the user wrote may hold a line break or a tab: shown quoted, the error stays one line
    where = ".".join(str(p) if str(p).isprintable() else repr(p) for p in first["loc"]) or "(top level)"
    msg = " ".join(first["msg"].removeprefix("Value error, ").split())
    if first["type"] == "extra_forbidden" and valid_fields is not None:
        msg = f"unknown field; valid: {', '.join(valid_fields(first['loc']))}"
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{where}: {msg}{more}"


def yaml_error_text(err: yaml.YAMLError) -> str:
    """A YAML syntax error as one line: where (line, column) and what."""
    mark = getattr(err, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    return f"{where}YAML syntax error: {problem}"


def parse_spec(text: str, source: str = "<spec>") -> ExerciseSpec:
    """Validate YAML text as an ExerciseSpec; SpecError names the source and the field."""
    if len(text.encode()) > MAX_SPEC_BYTES:
        raise SpecError(f"{source}: spec is larger than {MAX_SPEC_BYTES // 1024} KiB; is this the right file?")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SpecError(f"{source}: {yaml_error_text(e)}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{source}: expected a mapping of spec fields, got {type(data).__name__}")
    try:
        return ExerciseSpec.model_validate(data)
    except ValidationError as e:
        raise SpecError(f"{source}: {validation_error_text(e)}") from None


def _bundled_dir():
    return resources.files("formcheck.specs")


def spec_ids() -> tuple[str, ...]:
    """Ids of the specs shipped with formcheck."""
    return tuple(sorted(p.name[:-5] for p in _bundled_dir().iterdir() if p.name.endswith(".yaml")))


@cache
def _load_bundled(spec_id: str) -> ExerciseSpec:
    path = _bundled_dir() / f"{spec_id}.yaml"
    spec = parse_spec(path.read_text(encoding="utf-8"), f"{spec_id}.yaml")
    if spec.id != spec_id:
        raise SpecError(f"{spec_id}.yaml: id {spec.id!r} does not match the file name")
    return spec


def unknown_exercise_message(name: str) -> str:
    """One line naming the valid ids, and the nearest ones when the name looks like a typo."""
    near = difflib.get_close_matches(name, spec_ids(), n=2)
    hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
    return f"unknown exercise {name!r}; valid: {', '.join(spec_ids())}{hint}"


def load_spec(id_or_path: str | Path) -> ExerciseSpec:
    """Load a bundled spec by id, or a spec file by path."""
    s = str(id_or_path)
    if s.endswith((".yaml", ".yml")) or "/" in s or Path(s).is_file():
        path = Path(s)
        if not path.is_file():
            raise SpecError(f"{path}: no such spec file")
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise SpecError(f"{path}: spec is larger than {MAX_SPEC_BYTES // 1024} KiB; is this the right file?")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise SpecError(f"{path}: cannot read spec: {e}") from None
        return parse_spec(text, str(path))
    if s not in spec_ids():
        raise UnknownExerciseError(unknown_exercise_message(s))
    return _load_bundled(s)
