"""A patient's progress, from their sessions: adherence to the programme and a weekly trend.

Pure: takes sessions as small records (``SessionPoint``, built from a stored report) and returns
frozen rows; the CLI and the web page only format them. Weeks are ISO weeks, starting on Monday.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import fmean


@dataclass(frozen=True)
class SessionPoint:
    """What one finished session adds to the trend."""

    day: date
    exercise: str
    kind: str  # 'clinic' or 'home'
    reps: int
    hold_s_mean: float | None
    rom_deg_mean: float | None
    faulty_reps: int


@dataclass(frozen=True)
class WeekAdherence:
    """Sessions done in one week against the programme's sessions per week."""

    week_start: date
    sessions_done: int
    sessions_planned: int

    @property
    def fraction(self) -> float:
        """Sessions done as a share of those planned, at most 1."""
        return min(1.0, self.sessions_done / self.sessions_planned) if self.sessions_planned else 0.0


@dataclass(frozen=True)
class WeekTrend:
    """One exercise in one week: mean reps per session, hold, range of motion, share of faulty reps."""

    exercise: str
    week_start: date
    sessions: int
    reps_per_session: float
    hold_s_mean: float | None
    rom_deg_mean: float | None
    fault_rate: float | None  # faulty reps / reps; None with no rep


def week_start(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return fmean(values) if values else None


def session_point(*, session_date: str, analysed_at: str, exercise: str, kind: str, report: dict) -> SessionPoint:
    """A stored session as a trend point: its day (the session's date, else when it was analysed)."""
    try:
        day = date.fromisoformat(session_date[:10])
    except ValueError:  # no date, or one written another way in a manifest: when it was analysed
        day = date.fromisoformat(analysed_at[:10])
    reps = [r for r in report.get("reps", []) if r.get("complete", True)]
    return SessionPoint(
        day=day, exercise=exercise, kind=kind, reps=len(reps),
        hold_s_mean=_mean(r.get("hold_s") for r in reps),
        rom_deg_mean=_mean(r.get("rom_deg") for r in reps),
        faulty_reps=sum(1 for r in reps if r.get("faults")),
    )


def adherence(points: Sequence[SessionPoint], sessions_per_week: int, *, today: date,
              weeks: int | None = None) -> tuple[WeekAdherence, ...]:
    """Each week from the first session (or the last ``weeks``) to ``today``: the days with a
    session (one exercise or several on a day is one session) against ``sessions_per_week``."""
    if not points:
        return ()
    days_by_week: dict[date, set[date]] = {}
    for p in points:
        days_by_week.setdefault(week_start(p.day), set()).add(p.day)
    last = week_start(today)
    first = min(days_by_week)
    if weeks is not None:
        first = max(first, last - timedelta(weeks=weeks - 1))
    out = []
    w = first
    while w <= last:
        out.append(WeekAdherence(w, len(days_by_week.get(w, ())), sessions_per_week))
        w += timedelta(weeks=1)
    return tuple(out)


def weekly_trend(points: Sequence[SessionPoint]) -> tuple[WeekTrend, ...]:
    """Per exercise (in first-seen order) and week (oldest first)."""
    groups: dict[tuple[str, date], list[SessionPoint]] = {}
    for p in sorted(points, key=lambda p: p.day):
        groups.setdefault((p.exercise, week_start(p.day)), []).append(p)
    order = {e: i for i, e in enumerate(dict.fromkeys(p.exercise for p in points))}
    out = []
    for (exercise, w), ps in sorted(groups.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        reps = sum(p.reps for p in ps)
        out.append(WeekTrend(
            exercise=exercise, week_start=w, sessions=len(ps), reps_per_session=reps / len(ps),
            hold_s_mean=_mean(p.hold_s_mean for p in ps), rom_deg_mean=_mean(p.rom_deg_mean for p in ps),
            fault_rate=(sum(p.faulty_reps for p in ps) / reps) if reps else None,
        ))
    return tuple(out)
