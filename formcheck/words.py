"""Words for people: plurals, readable names for ids, dates and durations.

Every table, page and screen goes through these, so a patient or clinician never reads
``knee_bent``, "the 1 reps" or ``2026-03-31T14:05:09+00:00``. Stdlib only.
"""

from __future__ import annotations

import math
from datetime import date, datetime


def plural(n: float, word: str, many: str | None = None) -> str:
    """``1 rep``, ``3 reps`` (``many``: an irregular plural)."""
    count = f"{n:g}" if isinstance(n, float) else str(n)
    return f"{count} {word if n == 1 else (many or word + 's')}"


def readable(identifier: str) -> str:
    """An id as words: ``knee_bent`` -> ``Knee bent`` (a spec's titles are already words)."""
    text = identifier.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def duration_text(seconds: float | None) -> str:
    """``8.5 s``, ``2 min 05 s``, ``1 h 03 min``; ``-`` for an unknown time."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    whole = int(round(seconds))
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s"


def date_text(value: str | date | datetime | None) -> str:
    """A date as people write it, ``31 Mar 2026``; a time of day is kept as ``31 Mar 2026 14:05``.

    Accepts ISO text (what the history stores); text that is not ISO is returned as given, and
    nothing as ``-``.
    """
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value.strip() else date.fromisoformat(value)
        except ValueError:
            return value
    day = f"{value.day} {value.strftime('%b %Y')}"
    if isinstance(value, datetime):
        zone = " UTC" if value.utcoffset() is not None and value.utcoffset().total_seconds() == 0 else ""
        return f"{day} {value.strftime('%H:%M')}{zone}"
    return day


def session_date_text(session_date: str, analysed_at: str) -> str:
    """The session's date, or when it was analysed (said so) when nobody gave one."""
    if session_date:
        return date_text(session_date)
    return f"analysed {date_text(analysed_at[:10])}" if analysed_at else "-"
