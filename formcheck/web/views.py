"""What the pages show, worked out from history rows and reports: no web framework, no database.

Each function takes ``SessionRow``s and report dicts and returns plain data for a template or an
export, so it is tested without a server.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from formcheck.history import SessionRow


@dataclass(frozen=True)
class SessionFilter:
    """The sessions list's filters; empty strings mean "any"."""

    patient: str = ""
    exercise: str = ""
    date_from: str = ""  # YYYY-MM-DD, inclusive
    date_to: str = ""
    needs_review: bool = False


def effective_counts(session: SessionRow) -> dict[str, int]:
    """Reps per side as they stand: a clinician's latest count where there is one, else the machine's."""
    counts = dict(session.reps_by_side)
    counts.update({side: r.reps for side, r in session.clinician_counts.items()})
    return counts


def review_reasons(session: SessionRow, report: dict | None) -> tuple[str, ...]:
    """Why a clinician should look at this session; empty once it is reviewed, or when nothing stands out.

    No threshold of our own decides this: only what the analysis already reported (a count away from
    the prescription, a flagged fault, a clip that ended early) or that it failed.
    """
    if session.status != "done":
        return ("analysis failed",)
    if session.reviews or session.verdicts or report is None:
        return ()
    reasons = []
    summary = report.get("summary", {})
    target = summary.get("target_reps_per_side")
    if target is not None and any(n != target for n in session.reps_by_side.values()):
        reasons.append("count differs from the prescription")
    if summary.get("faults_by_id"):
        reasons.append("faults flagged")
    if report.get("incomplete"):
        reasons.append("clip ends early")
    return tuple(reasons)


def session_day(session: SessionRow) -> str:
    """The session's date: the one the clinic gave, else the day it was analysed."""
    return session.session_date or session.analysed_at[:10]


def newest_first(sessions: Sequence[SessionRow]) -> list[SessionRow]:
    """The sessions sorted newest first: by day, then analysis time, then id."""
    return sorted(sessions, key=lambda s: (session_day(s), s.analysed_at, s.id), reverse=True)


def keep_session(session: SessionRow, f: SessionFilter, reasons: tuple[str, ...]) -> bool:
    """Whether a session passes the filter (patient, exercise, dates; needs review: has a reason)."""
    day = session_day(session)
    if f.patient and session.patient != f.patient:
        return False
    if f.exercise and session.exercise != f.exercise:
        return False
    if f.date_from and day < f.date_from:
        return False
    if f.date_to and day > f.date_to:
        return False
    return not (f.needs_review and not reasons)


def iso_week(day: str) -> str:
    """``2025-03-03`` -> ``2025-W10``; an unreadable date is its own group, shown as given."""
    try:
        y, w, _ = date.fromisoformat(day).isocalendar()
    except ValueError:
        return day or "undated"
    return f"{y}-W{w:02d}"


def _mean(values: Sequence[float]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return round(sum(vals) / len(vals), 1) if vals else None


@dataclass(frozen=True)
class WeekRow:
    """One exercise in one ISO week for one patient."""

    exercise: str
    week: str
    sessions: int
    reps_per_side: float | None  # mean over the week's sessions and sides, clinician counts first
    target_reps: int | None
    hold_s: float | None  # mean hold of the week's reps
    target_hold_s: float | None
    rom_deg: float | None  # mean range of motion of the week's reps
    fault_rate: float | None  # share of the week's reps with a fault
    reviewed: int  # sessions with a clinician count or verdict

    def to_dict(self) -> dict:
        """The row's fields as a dict."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def kept_reps(session: SessionRow, report: dict) -> list[dict]:
    """The report's reps less those the clinician rejected, each without the faults the clinician rejected."""
    rejected, wrong = session.rejected_reps, session.rejected_faults
    return [{**r, "faults": [f for f in r.get("faults", []) if f not in wrong]}
            for r in report.get("reps", []) if r["index"] + 1 not in rejected]


def progress_rows(sessions: Sequence[tuple[SessionRow, dict]]) -> list[WeekRow]:
    """Per exercise and ISO week: reps against the prescription, hold, range of motion, fault rate."""
    groups: dict[tuple[str, str], list[tuple[SessionRow, dict]]] = {}
    for s, report in sessions:
        if s.status == "done":
            groups.setdefault((s.exercise, iso_week(session_day(s))), []).append((s, report))
    rows = []
    for (exercise, week), items in sorted(groups.items()):
        per_side = [n for s, _ in items for n in effective_counts(s).values()]
        reps = [r for s, report in items for r in kept_reps(s, report)]  # a rejected rep is no evidence
        targets = [report.get("summary", {}).get("target_reps_per_side") for _, report in items]
        hold_targets = [report.get("summary", {}).get("target_hold_s") for _, report in items]
        rows.append(WeekRow(
            exercise=exercise, week=week, sessions=len(items), reps_per_side=_mean(per_side),
            target_reps=max((t for t in targets if t is not None), default=None),
            hold_s=_mean([r.get("hold_s") for r in reps]),
            target_hold_s=max((t for t in hold_targets if t), default=None), rom_deg=_mean([r.get("rom_deg") for r in reps]),
            fault_rate=round(sum(1 for r in reps if r.get("faults")) / len(reps), 2) if reps else None,
            reviewed=sum(1 for s, _ in items if s.reviews or s.verdicts),
        ))
    return rows


# --- FHIR R4 ------------------------------------------------------------------------------------------

_UCUM = {"count": ("{reps}", "{reps}"), "s": ("s", "s"), "deg": ("deg", "deg")}


def _quantity(value, unit: str) -> dict:
    code, text = _UCUM[unit]
    return {"value": value, "unit": text, "system": "http://unitsofmeasure.org", "code": code}


def fhir_observations(session: SessionRow, report: dict) -> dict:
    """The session as a FHIR R4 Bundle (collection) of one Observation per exercise: reps per side,
    mean hold and mean range of motion as components. Counts are the clinician's where reviewed, and
    the means leave out the reps the clinician rejected."""
    reps = kept_reps(session, report)
    components = []
    for side, n in effective_counts(session).items():
        components.append({
            "code": {"text": f"repetitions ({side})"},
            "valueQuantity": _quantity(n, "count"),
        })
    if (hold := _mean([r.get("hold_s") for r in reps])) is not None:
        components.append({"code": {"text": "mean hold"}, "valueQuantity": _quantity(hold, "s")})
    if (rom := _mean([r.get("rom_deg") for r in reps])) is not None:
        components.append({"code": {"text": "mean range of motion"}, "valueQuantity": _quantity(rom, "deg")})
    observation = {
        "resourceType": "Observation",
        "id": f"formcheck-session-{session.id}",
        "status": "amended" if session.reviews or session.verdicts else "final",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "exam", "display": "Exam"}]}],
        "code": {"text": f"{report.get('exercise_title') or session.exercise} (formcheck exercise {session.exercise})"},
        "subject": {"display": session.patient or "unknown patient"},
        "effectiveDateTime": session_day(session),
        "issued": session.analysed_at,
        "method": {"text": f"formcheck {session.formcheck_version}, pose model {session.model}"},
        "component": components,
    }
    notes = []
    if session.reviews:
        last = session.reviews[-1]
        notes.append({"authorString": last.reviewer, "time": last.reviewed_at, "text": last.note or "count reviewed"})
    for v in session.verdicts:  # each accept or reject, as the clinician gave it
        text = f"{v.verdict}ed {v.kind} {v.target}" + (f": {v.note}" if v.note else "")
        notes.append({"authorString": v.reviewer, "time": v.reviewed_at, "text": text})
    if notes:
        observation["note"] = notes
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": observation}]}
