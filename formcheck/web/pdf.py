"""One-click PDFs of a session and of a patient's progress, drawn server side with matplotlib's PDF backend.

Every piece of user text (patient, notes, names) is drawn with ``parse_math=False``, so a ``$`` in a
note is a dollar sign, never mathtext. matplotlib is imported lazily: only a PDF request pays for it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from formcheck.history import SessionRow, latest_verdicts
from formcheck.web.views import WeekRow, effective_counts, kept_reps, session_day

A4_IN = (8.27, 11.69)
LINE_PT = 10  # font size of the text lines
LINES_PER_PAGE = 62


def _pages(lines: Sequence[str], title: str) -> list:
    """Text lines as A4 figures, ``LINES_PER_PAGE`` to a page."""
    from matplotlib.figure import Figure

    figs = []
    chunks = [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    for n, chunk in enumerate(chunks, 1):
        fig = Figure(figsize=A4_IN)
        fig.text(0.06, 0.965, title, fontsize=14, weight="bold", va="top", parse_math=False)
        fig.text(0.94, 0.02, f"page {n} of {len(chunks)}", fontsize=8, ha="right", color="#666666", parse_math=False)
        for i, line in enumerate(chunk):
            fig.text(0.06, 0.93 - i * 0.0145, line, fontsize=LINE_PT * 0.85, family="monospace", va="top",
                     parse_math=False)
        figs.append(fig)
    return figs


def _to_pdf(figs: Sequence, title: str) -> bytes:
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    # a fixed creation date: the same session gives the same bytes
    with PdfPages(buf, metadata={"Title": title, "Creator": "formcheck", "CreationDate": None}) as pdf:
        for fig in figs:
            pdf.savefig(fig)
    return buf.getvalue()


def session_pdf(session: SessionRow, report: dict | None) -> bytes:
    """The session's counts, verdicts, reps, faults and cues, and its range of motion per rep."""
    from matplotlib.figure import Figure

    title = f"formcheck session {session.id}: {session.exercise}"
    lines = [f"Patient: {session.patient or '-'}    Date: {session_day(session)}    Clip: {session.clip_name}",
             f"Analysed {session.analysed_at} by formcheck {session.formcheck_version} ({session.model})", ""]
    if report is None:
        lines.append(f"The analysis failed: {session.error}")
        return _to_pdf(_pages(lines, title), title)
    target = report.get("summary", {}).get("target_reps_per_side")
    lines.append("Count      machine  clinician  prescribed")
    for side, n in effective_counts(session).items():
        review = session.clinician_counts.get(side)
        lines.append(f"{side:<10} {session.reps_by_side.get(side, 0):>7}  {review.reps if review else '-':>9}  "
                     f"{target if target is not None else '-':>10}")
    lines += ["", "Rep  side   start s  end s  range deg  hold s  faults                verdict"]
    verdicts = latest_verdicts(session.verdicts, "rep")
    for r in report.get("reps", []):
        n = r["index"] + 1
        v = verdicts.get(str(n))
        rom, hold = r.get("rom_deg"), r.get("hold_s")
        lines.append(f"{n:>3}  {r['side']:<6} {r['start_s']:>7.2f} {r['end_s']:>6.2f}  "
                     f"{'-' if rom is None else f'{rom:.0f}':>9}  {'-' if hold is None else f'{hold:.1f}':>6}  "
                     f"{', '.join(r.get('faults', [])) or '-':<21} {f'{v.verdict}ed by {v.reviewer}' if v else ''}")
    cues = {f["id"]: f.get("cue", "") for f in report.get("faults", [])}
    faults = report.get("summary", {}).get("faults_by_id", {})
    if faults:
        lines += ["", "Faults"]
        wrong = session.rejected_faults
        lines += [f"  {fid} x{n}{' (rejected by the clinician)' if fid in wrong else ''}: {cues.get(fid, '')}"
                  for fid, n in faults.items()]
    trail = sorted([(r.reviewed_at, f"{r.reviewer}: count {r.side} = {r.reps}" + (f" ({r.note})" if r.note else ""))
                    for r in session.reviews] +
                   [(v.reviewed_at, f"{v.reviewer}: {v.verdict}ed {v.kind} {v.target}" + (f" ({v.note})" if v.note else ""))
                    for v in session.verdicts])
    if trail:
        lines += ["", "Clinician review"] + [f"  {when}  {text}" for when, text in trail]
    figs = _pages(lines, title)
    reps = report.get("reps", [])
    if any(r.get("rom_deg") is not None for r in reps):
        kept = {r["index"] for r in kept_reps(session, report)}
        fig = Figure(figsize=(A4_IN[0], 4))
        ax = fig.add_subplot()
        ax.bar([r["index"] + 1 for r in reps], [r.get("rom_deg") or 0 for r in reps],
               color=["#4477aa" if r["index"] in kept else "#bbbbbb" for r in reps])
        ax.set_xlabel("rep (grey: rejected by the clinician)")
        ax.set_ylabel("range of motion, deg")
        ax.set_title("Range of motion per rep")
        figs.append(fig)
    return _to_pdf(figs, title)


# (title, WeekRow field, scale to the shown unit, prescription field), as on the progress page
_CHARTS = (
    ("reps per side", "reps_per_side", 1.0, "target_reps"),
    ("hold, s", "hold_s", 1.0, "target_hold_s"),
    ("range of motion, deg", "rom_deg", 1.0, None),
    ("reps with a fault, %", "fault_rate", 100.0, None),
)


def progress_pdf(patient: str, rows: Sequence[WeekRow]) -> bytes:
    """A page per exercise: its four weekly charts with the prescription as a dashed line, and the table."""
    from matplotlib.figure import Figure

    title = f"formcheck progress: {patient or 'no name'}"
    figs = []
    for exercise in dict.fromkeys(r.exercise for r in rows):
        mine = [r for r in rows if r.exercise == exercise]
        fig = Figure(figsize=A4_IN, layout="constrained")
        fig.suptitle(f"{title}\n{exercise}", fontsize=12, parse_math=False)
        axes = fig.subplots(3, 2).ravel()
        for ax, (name, field, scale, target) in zip(axes, _CHARTS):
            values = [0 if getattr(r, field) is None else getattr(r, field) * scale for r in mine]
            ax.bar(range(len(mine)), values, color="#4477aa")
            ax.set_xticks(range(len(mine)), [r.week for r in mine], rotation=45, fontsize=7)
            ax.set_title(name, fontsize=9)
            targets = [getattr(r, target) for r in mine if target and getattr(r, target)]
            if targets:
                ax.axhline(max(targets), color="#aa3333", ls="--", lw=1, label="prescribed")
                ax.legend(fontsize=7)
        table = axes[4]
        for ax in axes[4:]:
            ax.axis("off")
        text = ["week      sessions reps hold s ROM  fault% reviewed"] + [
            f"{r.week:<9} {r.sessions:>8} {_fmt(r.reps_per_side):>4} {_fmt(r.hold_s):>6} {_fmt(r.rom_deg):>4} "
            f"{_fmt(None if r.fault_rate is None else r.fault_rate * 100):>6} {r.reviewed:>8}" for r in mine]
        table.text(0, 1, "\n".join(text), family="monospace", fontsize=7, va="top", parse_math=False,
                   transform=table.transAxes)
        figs.append(fig)
    if not figs:
        figs = _pages(["No finished session for this patient yet."], title)
    return _to_pdf(figs, title)


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}"
