"""SessionReport: what one analysed recording amounts to; ``to_dict`` is the one serialisation."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from formcheck.phases import RejectedMovement
from formcheck.types import Fault, RepEvent

SCHEMA_VERSION = 1
DISCLAIMER = (
    "formcheck gives feedback on exercise form, not medical advice. Stop if an exercise hurts and "
    "ask your clinician before starting or changing a programme."
)
REP_CSV_COLUMNS = (
    "index", "side", "start_s", "peak_s", "end_s", "duration_s", "rom_deg", "hold_s", "confidence",
    "complete", "faults",
)


@dataclass(frozen=True, eq=False)
class FeatureSeries:
    """Per-frame feature values, for charts and re-checks (NaN where unseen)."""

    t_s: np.ndarray
    values: dict[str, np.ndarray]

    def to_dict(self) -> dict:
        """The series as JSON-safe lists (NaN as null)."""
        def clean(a: np.ndarray) -> list:
            return [None if not np.isfinite(x) else round(float(x), 2) for x in a]

        return {"t_s": [round(float(t), 3) for t in self.t_s], **{k: clean(v) for k, v in self.values.items()}}


@dataclass(frozen=True, eq=False)
class SessionReport:
    """The outcome of one session: reps, holds, faults, per-side counts, the source and the series."""
    exercise: str
    exercise_title: str
    spec_version: int
    kind: str
    sides: str
    target: dict
    source: dict
    reps: tuple[RepEvent, ...]
    faults: tuple[Fault, ...]
    notices: tuple[str, ...]
    quality: dict
    incomplete: bool = False
    series: FeatureSeries | None = field(default=None)
    units: dict = field(default_factory=dict)  # feature -> "deg", "% torso" or "torso lengths"; range is the driver's
    rejected: tuple[RejectedMovement, ...] = ()  # movements that left rest but did not count, with the reason
    prescribed_by: str = "spec"  # where the dose came from: 'spec', 'options' (--reps/--hold) or 'programme'
    sets: int | None = None  # the programme's sets, when it prescribed the dose

    @property
    def reps_by_side(self) -> dict[str, int]:
        """Counted reps per side ("both" for an exercise done with both legs)."""
        keys = ("left", "right") if self.sides == "per_side" else ("both",)
        counts = Counter(r.side for r in self.reps)
        return {k: counts.get(k, 0) for k in keys}

    def summary(self) -> dict:
        """The headline numbers: reps per side against the target, holds and faults."""
        holds = [r.hold_s for r in self.reps]
        return {
            "reps_total": len(self.reps),
            "reps_by_side": self.reps_by_side,
            "target_reps_per_side": self.target.get("reps"),
            "target_hold_s": self.target.get("hold_s"),
            "mean_hold_s": round(float(np.mean(holds)), 2) if holds else 0.0,
            "faults_by_id": dict(Counter(f.id for f in self.faults)),
            "reps_with_faults": sum(1 for r in self.reps if r.faults),
            "movements_not_counted": len(self.rejected),
        }

    def to_dict(self, include_series: bool = False) -> dict:
        """The report as a JSON-safe dict (what report.json holds), with the per-frame series if asked."""
        d = {
            "schema_version": SCHEMA_VERSION,
            "exercise": self.exercise,
            "exercise_title": self.exercise_title,
            "spec_version": self.spec_version,
            "kind": self.kind,
            "sides": self.sides,
            "source": self.source,
            "incomplete": self.incomplete,
            "summary": self.summary(),
            "prescription": {"reps_per_side": self.target.get("reps"), "hold_s": self.target.get("hold_s"),
                             "sets": self.sets, "from": self.prescribed_by},
            "reps": [r.to_dict() for r in self.reps],
            "faults": [f.to_dict() for f in self.faults],
            "notices": list(self.notices),
            "not_counted": [r.to_dict() for r in self.rejected],
            "quality": self.quality,
            "units": self.units,
            "disclaimer": DISCLAIMER,
        }
        if include_series and self.series is not None:
            d["series"] = self.series.to_dict()
        return d

    def csv_rows(self) -> list[dict]:
        """One row per rep, for spreadsheets (peak angles as extra columns), numbered from 1 as the
        summary table, the report page and the history export number them."""
        rows = []
        for r in self.reps:
            d = r.to_dict()
            row = {k: d.get(k) for k in REP_CSV_COLUMNS}
            row["index"] = r.index + 1
            row["faults"] = ";".join(d["faults"])
            row.update({f"peak_{k}_deg": v for k, v in d["peak_deg"].items()})
            rows.append(row)
        return rows



# --- reports read back (a report folder handed to `review`) -------------------------------------

_SIDE_KEYS = ("both", "left", "right")
_MAX_COUNT = 100_000  # reps in one recording: far above any real session


def _is_int(v, low: int = 0, high: int = _MAX_COUNT) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def check_report_dict(data: object) -> dict:
    """``data`` if it has the shape ``to_dict`` writes, else ValueError naming the first bad field.

    For a report.json read back from a folder the user points at: the history, the index and the
    export trust these fields (a side, an integer count, a safe exercise id), so a hand-made or
    damaged file is refused here rather than stored.
    """
    from formcheck.spec import ID_PATTERN, MAX_SPEC_VERSION

    def need(ok: bool, where: str, what: str) -> None:
        if not ok:
            raise ValueError(f"{where} must be {what}")

    need(isinstance(data, dict), "the file", "a JSON object")
    exercise = data.get("exercise")
    need(isinstance(exercise, str) and len(exercise) <= 64 and re.match(ID_PATTERN, exercise) is not None,
         "exercise", "an exercise id (lower_snake_case, as `formcheck exercises` lists)")
    version = data.get("spec_version")
    need(version is None or _is_int(version, 1, MAX_SPEC_VERSION), "spec_version", f"an integer 1..{MAX_SPEC_VERSION}")
    for key in ("exercise_title", "kind", "sides"):
        need(isinstance(data.get(key, ""), str), key, "text")
    need(isinstance(data.get("incomplete", False), bool), "incomplete", "true or false")
    source = data.get("source", {})
    need(isinstance(source, dict), "source", "an object")
    need(isinstance(source.get("path") or "", str), "source.path", "text")
    summary = data.get("summary")
    need(isinstance(summary, dict), "summary", "an object")
    by_side = summary.get("reps_by_side")
    need(isinstance(by_side, dict) and all(k in _SIDE_KEYS and _is_int(v) for k, v in by_side.items()),
         "summary.reps_by_side", "counts (whole numbers) for both, left or right")
    need(_is_int(summary.get("reps_total", 0)), "summary.reps_total", "a whole number")
    target = summary.get("target_reps_per_side")
    need(target is None or _is_int(target), "summary.target_reps_per_side", "a whole number")
    faults_by_id = summary.get("faults_by_id", {})
    need(isinstance(faults_by_id, dict) and all(isinstance(k, str) and _is_int(v) for k, v in faults_by_id.items()),
         "summary.faults_by_id", "counts (whole numbers) by fault id")
    reps = data.get("reps", [])
    need(isinstance(reps, list), "reps", "a list")
    for i, r in enumerate(reps):
        where = f"reps.{i}"
        need(isinstance(r, dict), where, "an object")
        need(r.get("side") in _SIDE_KEYS, f"{where}.side", "both, left or right")
        need(_is_int(r.get("index")), f"{where}.index", "a whole number")
        for key in ("start_s", "end_s"):
            need(_is_number(r.get(key)), f"{where}.{key}", "a number of seconds")
        for key in ("peak_s", "duration_s", "rom_deg", "hold_s", "confidence"):
            need(r.get(key) is None or _is_number(r[key]), f"{where}.{key}", "a number")
        need(isinstance(r.get("faults", []), list) and all(isinstance(f, str) for f in r.get("faults", [])),
             f"{where}.faults", "a list of fault ids")
        peak = r.get("peak_deg", {})
        need(isinstance(peak, dict) and all(v is None or _is_number(v) for v in peak.values()),
             f"{where}.peak_deg", "numbers by feature")
    for key in ("faults", "notices"):
        need(isinstance(data.get(key, []), list), key, "a list")
    need(all(isinstance(f, dict) for f in data.get("faults", [])), "faults", "a list of objects")
    need(all(isinstance(n, str) for n in data.get("notices", [])), "notices", "a list of text")
    return data
