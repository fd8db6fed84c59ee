"""SessionReport: what one analysed recording amounts to; ``to_dict`` is the one serialisation."""

from __future__ import annotations

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
        def clean(a: np.ndarray) -> list:
            return [None if not np.isfinite(x) else round(float(x), 2) for x in a]

        return {"t_s": [round(float(t), 3) for t in self.t_s], **{k: clean(v) for k, v in self.values.items()}}


@dataclass(frozen=True, eq=False)
class SessionReport:
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

    @property
    def reps_by_side(self) -> dict[str, int]:
        keys = ("left", "right") if self.sides == "per_side" else ("both",)
        counts = Counter(r.side for r in self.reps)
        return {k: counts.get(k, 0) for k in keys}

    def summary(self) -> dict:
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
        """One row per rep, for spreadsheets (peak angles as extra columns)."""
        rows = []
        for r in self.reps:
            d = r.to_dict()
            row = {k: d.get(k) for k in REP_CSV_COLUMNS}
            row["faults"] = ";".join(d["faults"])
            row.update({f"peak_{k}_deg": v for k, v in d["peak_deg"].items()})
            rows.append(row)
        return rows

