"""The clinician's HTML report: one self-contained page per clip, and an index across clips.

A clip page is a rendering of its report folder (report.json with the per-frame series,
annotated.mp4, thumbs/rep-NN.jpg) plus what the history knows (patient, date, reviews): charts
are inline SVG drawn by matplotlib, thumbnails and the video are inlined as data URIs, nothing is
fetched from the network. Pages are rendered with jinja2 (autoescaped: patient names and notes
are text, never markup). matplotlib and jinja2 are imported lazily.
"""

from __future__ import annotations

import base64
import io
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from formcheck.measures import MEASURES
from formcheck.report import DISCLAIMER
from formcheck.sinks import report_document, write_json_atomic, write_text_atomic
from formcheck.types import FeatureKey
from formcheck.words import date_text, duration_text, plural, readable, session_date_text

PAGE_JSON = "page.json"  # in each report folder: the page's video mode and the history database
EMBED_VIDEO_MAX_BYTES = 64 * 1024 * 1024  # larger videos are linked beside the page, not inlined
SIDE_COLOURS = {"left": "#e8870e", "right": "#1f8fe0", "both": "#4a4f57"}
FAULT_COLOUR = "#c62828"
MAX_OTHER_FEATURES = 4


@dataclass(frozen=True)
class ClipMeta:
    """What the page says about where a report came from."""

    clip_path: str
    clip_sha256: str = ""
    model: str = ""
    patient: str = ""
    session_date: str = ""
    extra: dict = field(default_factory=dict)
    analysed_at: str = ""
    elapsed_s: float | None = None
    session_id: int | None = None
    report_dir: str = ""  # where the page lives once published (for the review command)
    formcheck_version: str = ""
    history_db: str = ""  # the database the session is in (the review command names it)


# --- numbers ---------------------------------------------------------------------------------------


def _angle(measure: str | None) -> bool:
    """A measure in degrees, for the angle chart (one this version does not know is drawn as before)."""
    entry = MEASURES.get(measure)
    return entry is None or entry.angle


def _series(report: dict, name: str, side: str) -> np.ndarray | None:
    s = report.get("series") or {}
    values = s.get(str(FeatureKey(name, side)), s.get(str(FeatureKey(name))))
    if values is None:
        return None
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _series_sides(report: dict, name: str) -> list[str]:
    s = report.get("series") or {}
    sided = [side for side in ("left", "right") if str(FeatureKey(name, side)) in s]
    return sided or (["both"] if str(FeatureKey(name)) in s else [])


def hold_span(report: dict, spec: dict, rep: dict) -> tuple[float, float] | None:
    """The stretch around a rep's peak where the driver stayed within the spec's hold band."""
    driver = spec["rep"]["driver"]
    values = _series(report, driver, rep["side"])
    t = np.array(report.get("series", {}).get("t_s", []), dtype=float)
    if values is None or not len(t):
        return None
    peak_i = int(np.argmin(np.abs(t - rep["peak_s"])))
    peak = values[peak_i]
    if not np.isfinite(peak):
        return None
    direction = spec["rep"]["direction"]
    if direction == "either":  # counted either way: each rep says its own
        direction = rep.get("direction", "increase")
    sign = 1.0 if direction == "increase" else -1.0
    band = float(spec["rep"].get("hold_band_deg", 5.0))
    near = np.isfinite(values) & ((values - peak) * sign >= -band)
    inside = (t >= rep["start_s"]) & (t <= rep["end_s"] + 1e-6)
    ok = near & inside
    lo = hi = peak_i
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    while hi < len(t) - 1 and ok[hi + 1]:
        hi += 1
    if t[hi] - t[lo] < 0.1:
        return None
    return float(t[lo]), float(t[hi])


def _mean(xs) -> float | None:
    vals = [x for x in xs if x is not None and math.isfinite(x)]
    return float(np.mean(vals)) if vals else None


def symmetry(report: dict, spec: dict) -> dict:
    """Left against right: per-side means for one-sided exercises, the hip difference for bilateral ones."""
    reps = report.get("reps", [])
    driver = spec["rep"]["driver"]
    unit = report.get("units", {}).get("range", "deg")
    if report.get("sides") == "per_side":
        rows = []
        per = {s: [r for r in reps if r["side"] == s] for s in ("left", "right")}
        for label, fmt, get in (
            ("reps", "int", lambda rs: float(len(rs))),
            (f"mean range of motion ({unit})", "num1", lambda rs: _mean(r.get("rom_deg") for r in rs)),
            (f"mean peak {driver} ({unit})", "num1", lambda rs: _mean(r.get("peak_deg", {}).get(driver) for r in rs)),
            ("mean hold (s)", "num1", lambda rs: _mean(r.get("hold_s") for r in rs)),
            ("mean rep time (s)", "num1", lambda rs: _mean(r.get("duration_s") for r in rs)),
            ("mean confidence", "pct", lambda rs: _mean(r.get("confidence") for r in rs)),
        ):
            left, right = get(per["left"]), get(per["right"])
            diff = None
            if left is not None and right is not None and max(abs(left), abs(right)) > 1e-9:
                diff = 100.0 * abs(left - right) / max(abs(left), abs(right))
            rows.append({"label": label, "fmt": fmt, "left": left, "right": right, "diff_pct": diff})
        return {"kind": "per_side", "rows": rows}
    diff_names = [n for n, f in spec.get("features", {}).items() if f.get("side") == "difference"]
    if not diff_names:
        return {"kind": "none", "text": "Both legs move together and are measured together in this exercise."}
    name = diff_names[0]
    at_peaks = [abs(r["peak_deg"][name]) for r in reps if r.get("peak_deg", {}).get(name) is not None]
    return {
        "kind": "difference", "feature": name,
        "description": spec["features"][name].get("description") or f"{name}: left minus right",
        "mean_abs": _mean(at_peaks), "max_abs": max(at_peaks) if at_peaks else None, "n": len(at_peaks),
    }


def tempo(rep: dict) -> dict:
    """A rep's up and down times in seconds (None where the rep has no peak)."""
    up = rep["peak_s"] - rep["start_s"] if rep.get("peak_s") is not None else None
    down = rep["end_s"] - rep["peak_s"] if rep.get("peak_s") is not None else None
    return {"up_s": up, "down_s": down, "duration_s": rep.get("duration_s")}


# --- the chart -------------------------------------------------------------------------------------


def chart_svg(report: dict, spec: dict) -> str:
    """The angles over time, with rep spans, hold spans and fault markers, as an inline SVG."""
    import matplotlib

    from matplotlib.figure import Figure

    t = np.array(report.get("series", {}).get("t_s", []), dtype=float)
    driver = spec["rep"]["driver"]
    features = spec.get("features", {})
    others = [n for n, f in features.items() if n != driver and _angle(f.get("measure"))
              and f.get("side") != "difference"][:MAX_OTHER_FEATURES]
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "formcheck", "font.size": 9,
                                "axes.spines.top": False, "axes.spines.right": False}):
        fig = Figure(figsize=(10, 4.6 if others else 3.2), layout="constrained")
        axes = fig.subplots(2 if others else 1, 1, sharex=True, squeeze=False, height_ratios=[3, 2] if others else [1])[:, 0]
        ax = axes[0]
        for side in _series_sides(report, driver):
            v = _series(report, driver, side)
            ax.plot(t, v, color=SIDE_COLOURS[side], lw=1.4, label=f"{driver} ({side})" if side != "both" else driver)
        for rep in report.get("reps", []):
            colour = SIDE_COLOURS.get(rep["side"], "#888888")
            for a in axes:
                a.axvspan(rep["start_s"], rep["end_s"], color=colour, alpha=0.10, lw=0)
            span = hold_span(report, spec, rep)
            if span is not None:
                ax.axvspan(span[0], span[1], ymin=0.0, ymax=0.05, color=colour, alpha=0.85, lw=0)
            ax.annotate(str(rep["index"] + 1), (rep["peak_s"], 1.0), xycoords=("data", "axes fraction"),
                        ha="center", va="bottom", fontsize=8, color=colour, fontweight="bold")
            peak = rep.get("peak_deg", {}).get(driver)
            if peak is not None:
                ax.plot([rep["peak_s"]], [peak], marker="o", ms=4, color=colour)
        peaks = {r["index"]: r["peak_s"] for r in report.get("reps", [])}
        for i, fault in enumerate(report.get("faults", [])):
            # a rep's fault is marked at that rep's peak; a held fault (frame scope) shades its span
            at = peaks.get(fault.get("rep_index"), fault["start_s"]) if fault.get("scope") == "rep" else fault["start_s"]
            if fault.get("scope") != "rep" and fault["end_s"] - fault["start_s"] > 0.05:
                for a in axes:
                    a.axvspan(fault["start_s"], fault["end_s"], color=FAULT_COLOUR, alpha=0.10, lw=0)
            ax.axvline(at, color=FAULT_COLOUR, lw=0.9, ls="--")
            ax.annotate(f"\u25bc {fault['id']}", (at, 0.93 - 0.07 * (i % 3)), xycoords=("data", "axes fraction"),
                        fontsize=7, color=FAULT_COLOUR, ha="left")
        units = report.get("units", {})
        ax.set_ylabel(f"{driver} ({units.get(driver, 'deg')})")
        ax.grid(alpha=0.25)
        ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7, frameon=False)
        if others:
            b = axes[1]
            palette = ["#6a3d9a", "#33a02c", "#b15928", "#e31a1c"]
            for colour, name in zip(palette, others):
                for side in _series_sides(report, name):
                    v = _series(report, name, side)
                    ls = {"left": "-", "right": "--", "both": "-"}[side]
                    b.plot(t, v, color=colour, lw=1.0, ls=ls, label=name if side == "both" else f"{name} ({side})")
            b.set_ylabel(", ".join(sorted({units.get(n, "deg") for n in others})))
            b.grid(alpha=0.25)
            b.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7, frameon=False)
        axes[-1].set_xlabel("time (s)")
        if len(t):
            axes[-1].set_xlim(float(t[0]), float(t[-1]))
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    return svg.replace("<svg ", '<svg role="img" aria-label="angles over time" class="chart" ', 1)


# --- pages -----------------------------------------------------------------------------------------


def _env():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("formcheck", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.filters["pct"] = lambda v: "-" if v is None else f"{100 * v:.0f}%"
    env.filters["unit"] = _unit_suffix
    env.filters["readable"] = readable
    env.filters["plural"] = plural
    env.filters["date"] = date_text
    env.filters["duration"] = duration_text
    env.globals["session_date_text"] = session_date_text
    return env


def _unit_suffix(unit: str | None) -> str:
    """"°" after an angle, " (unit)" after a length: headers of the rep table."""
    return "°" if unit in (None, "deg") else f" ({unit})"


def _num(v, nd: int = 0) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    out = f"{v:.{nd}f}"
    return f"{0:.{nd}f}" if float(out) == 0 else out  # never a negative zero


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _shell_quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def _counts_view(report: dict, reviews: dict) -> list[dict]:
    summary = report.get("summary", {})
    target = summary.get("target_reps_per_side")
    out = []
    for side, n in summary.get("reps_by_side", {}).items():
        r = reviews.get(side)
        out.append({"side": side, "machine": n, "target": target,
                    "clinician": r.reps if r else None, "review": r})
    return out


def clip_page_html(*, report: dict, spec: dict, meta: ClipMeta, reviews=(), folder: Path | None = None,
                   video: str = "embed", pictures: Mapping[str, bytes] | None = None) -> str:
    """The HTML of one clip's report (``video``: embed, file or none; ``pictures``: PNGs of the
    exercise's start and top positions, embedded like the rep thumbnails)."""
    folder = Path(folder) if folder is not None else None
    latest = {}
    for r in reviews:
        latest[r.side] = r
    thumbs = {}
    video_src = None
    video_note = ""
    if folder is not None:
        for rep in report.get("reps", []):
            p = folder / "thumbs" / f"rep-{rep['index'] + 1:02d}.jpg"
            if p.is_file():
                thumbs[rep["index"]] = _data_uri(p, "image/jpeg")
        mp4 = folder / "annotated.mp4"
        if video != "none" and mp4.is_file():
            if video == "embed" and mp4.stat().st_size <= EMBED_VIDEO_MAX_BYTES:
                video_src = _data_uri(mp4, "video/mp4")
            else:
                video_src = "annotated.mp4"
                video_note = "The video is the file annotated.mp4 beside this page; keep them together."
    driver = spec["rep"]["driver"]
    peak_names = list(report["reps"][0]["peak_deg"]) if report.get("reps") else []
    from formcheck.lang import tr

    fault_cues = {f["id"]: tr(f["cue"]) for f in report.get("faults", [])}
    for rule in spec.get("faults", []):
        fault_cues.setdefault(rule["id"], tr(rule["cue"]))
    rep_rows = []
    for rep in report.get("reps", []):
        rep_rows.append({**rep, "tempo": tempo(rep), "hold_span": hold_span(report, spec, rep),
                         "thumb": thumbs.get(rep["index"])})
    review_target = meta.report_dir or (str(folder) if folder is not None else meta.clip_path)
    return _env().get_template("clip.html.j2").render(
        report=report, spec=spec, meta=meta, title=report.get("exercise_title", report.get("exercise", "")),
        counts=_counts_view(report, latest), reviews=list(reviews), chart=chart_svg(report, spec),
        rep_rows=rep_rows, peak_names=peak_names, driver=driver, fault_cues=fault_cues, units=report.get("units", {}),
        symmetry=symmetry(report, spec), video_src=video_src, video_note=video_note,
        review_target=_shell_quote(review_target),
        review_db=_shell_quote(meta.history_db) if meta.history_db else "", disclaimer=DISCLAIMER, clip_name=Path(meta.clip_path).name,
        pictures=_picture_views(spec, pictures or {}),
    )


def _picture_views(spec: dict, pictures: Mapping[str, bytes]) -> list[dict]:
    from formcheck.pictures import POSITIONS

    top = "the position held" if spec.get("kind") == "hold" else "the top of the movement"
    captions = {"start": "the start", "top": top}
    return [{"src": f"data:image/png;base64,{base64.b64encode(pictures[p]).decode('ascii')}", "caption": captions[p]}
            for p in POSITIONS if p in pictures]


def write_clip_report(folder: str | os.PathLike, *, report: dict, spec: dict, meta: ClipMeta, reviews=(),
                      video: str = "embed") -> Path:
    """Render the folder's report.html atomically."""
    from formcheck.pictures import picture_bytes

    folder = Path(folder)
    pictures = picture_bytes(spec["id"], spec["version"], spec.get("kind", "reps"))
    page = clip_page_html(report=report, spec=spec, meta=meta, reviews=reviews, folder=folder, video=video,
                          pictures=pictures)
    return write_text_atomic(folder / "report.html", page)


class ClipPageSink:
    """Writes a batch clip's report.html (and its page.json) from the report when the session ends.

    The page shows what report.json (with series) holds, built from the report itself, and
    embeds the thumbnails and video in ``folder``: it comes after the review media in the sink list.
    ``meta.analysed_at`` is stamped at close.
    """

    def __init__(self, folder: str | os.PathLike, spec, meta: ClipMeta, *, video: str = "embed"):
        self.folder = Path(folder)
        self.spec = spec
        self.meta = meta
        self.video = video

    def update(self, frame, result) -> None:
        """Nothing per frame: the page is drawn from the finished report."""
        pass

    def close(self, report) -> None:
        """Write report.html (and page.json) from the report object."""
        from dataclasses import replace

        from formcheck.history import utc_now

        # the page's settings, and which database holds this session (so `review` finds it)
        write_json_atomic(self.folder / PAGE_JSON, {"video": self.video, "history_db": self.meta.history_db})
        write_clip_report(self.folder, report=report_document(report, include_series=True),
                          spec=self.spec.model_dump(mode="json"), meta=replace(self.meta, analysed_at=utc_now()),
                          video=self.video)

    def abort(self) -> None:
        """Nothing to undo: the page is written only at close."""
        pass


@dataclass(frozen=True)
class IndexEntry:
    """One row of the index: a finished session (with its report summary) or a failed clip."""

    session: object  # history.SessionRow
    summary: dict | None
    title: str = ""
    mean_rom_deg: float | None = None
    min_confidence: float | None = None
    notices: int = 0
    range_unit: str = "deg"  # the exercise driver's unit (a height for the lying figure-four stretch)


def index_entry(session, report: dict | None) -> IndexEntry:
    """The index row of a history session (its report None for a failed one)."""
    if report is None:
        return IndexEntry(session, None)
    reps = report.get("reps", [])
    return IndexEntry(
        session, report.get("summary"), report.get("exercise_title", session.exercise),
        _mean(r.get("rom_deg") for r in reps), min((r["confidence"] for r in reps), default=None),
        len(report.get("notices", [])), report.get("units", {}).get("range", "deg"),
    )


def trend_svg(entries: list[IndexEntry]) -> str:
    """One patient's sessions of one exercise over time: reps (machine and clinician) and range of motion."""
    import matplotlib

    from matplotlib.figure import Figure

    rows = sorted(entries, key=lambda e: (e.session.session_date or e.session.analysed_at[:10], e.session.id))
    labels = [e.session.session_date or e.session.analysed_at[:10] for e in rows]
    x = np.arange(len(rows))
    machine = [e.session.reps_total or 0 for e in rows]
    clinician = [sum(r.reps for r in e.session.clinician_counts.values()) if e.session.clinician_counts else np.nan
                 for e in rows]
    rom = [np.nan if e.mean_rom_deg is None else e.mean_rom_deg for e in rows]
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "formcheck", "font.size": 8,
                                "axes.spines.top": False}):
        fig = Figure(figsize=(6.4, 1.9), layout="constrained")
        ax = fig.subplots()
        ax.plot(x, machine, marker="o", color=SIDE_COLOURS["both"], label="reps (machine)")
        if np.isfinite(clinician).any():
            ax.plot(x, clinician, marker="s", ls="none", color="#2e7d32", label="reps (clinician)")
        ax.set_ylabel("reps")
        ax2 = ax.twinx()
        unit = rows[0].range_unit if rows else "deg"  # one exercise per chart, so one unit
        ax2.plot(x, rom, marker="^", ls="--", color="#6a3d9a", label=f"mean range ({unit})")
        ax2.set_ylabel(f"range ({unit})")
        if np.isfinite(rom).any():
            ax2.set_ylim(0, 1.15 * np.nanmax(rom) + 1)  # from zero: a 0.2 deg wobble is not a trend
        ax.set_ylim(0, 1.15 * max(machine + [0 if np.isnan(c) else c for c in clinician]) + 1)
        ax.set_xticks(x, labels, rotation=0)
        handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.12, 1.0), fontsize=7, frameon=False)
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    svg = svg[svg.find("<svg"):]
    return svg.replace("<svg ", '<svg role="img" aria-label="sessions over time" class="trend" ', 1)


def index_html(out_dir: Path, entries: list[IndexEntry]) -> str:
    """The index page over every session reported in ``out_dir``, grouped by patient."""
    out_dir = Path(out_dir).resolve()
    done = [e for e in entries if e.session.status == "done"]
    failed = [e for e in entries if e.session.status != "done"]
    patients: dict[str, list] = {}
    for e in sorted(done, key=lambda e: (e.session.patient, e.session.session_date, e.session.clip_name)):
        link = os.path.relpath(Path(e.session.report_dir) / "report.html", out_dir)
        patients.setdefault(e.session.patient, []).append({"e": e, "link": link})
    trends: dict[str, list[tuple[str, str]]] = {}
    for patient, rows in patients.items():
        by_exercise: dict[str, list[IndexEntry]] = {}
        for row in rows:
            by_exercise.setdefault(row["e"].session.exercise, []).append(row["e"])
        trends[patient] = [(es[0].title or ex, trend_svg(es)) for ex, es in sorted(by_exercise.items()) if len(es) >= 2]
    return _env().get_template("index.html.j2").render(
        patients=patients, trends=trends, failed=failed, n_done=len(done), n_failed=len(failed), disclaimer=DISCLAIMER,
        out_dir=str(out_dir),
    )


def write_index(out_dir: str | os.PathLike, entries: list[IndexEntry]) -> Path:
    """Write ``out_dir/index.html`` listing the entries, atomically; return its path."""
    return write_text_atomic(Path(out_dir) / "index.html", index_html(Path(out_dir), entries))
