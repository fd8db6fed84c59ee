"""Pure drawing: skeleton, joint angles, rep counter, hold timer and fault cue over a frame.

``draw_overlay`` draws one frame from one FrameResult; ``OverlayRenderer`` adds the little memory
an overlay needs (a cue stays up for a couple of seconds after it was raised). Sizes scale with
the frame, so the overlay reads the same at 640x480 and at 1920x1080. OpenCV is imported lazily.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from formcheck.coaching import CoachState, SetSummary, SetupCard
from formcheck.lang import ascii_text, tr
from formcheck.faults import check_kind
from formcheck.features import VISIBILITY_MIN
from formcheck.measures import MEASURES
from formcheck.skeleton import EDGES, Landmark
from formcheck.spec import ExerciseSpec
from formcheck.types import FeatureKey, FrameResult

CUE_HOLD_S = 2.0  # a fault cue stays on screen this long after it was last raised
# The live window is read from 2-3 m away, not from a desk: every size of its overlay is this much
# larger than an annotated video's (the count is then ~7% and the smallest text ~3% of the frame height).
LIVE_SIZE = 1.5
NOTICE_HOLD_S = 6.0  # one-off notices (wrong view, out of frame) are longer sentences

# Colours are RGB: frames are RGB throughout formcheck.
LEFT_RGB = (255, 150, 30)  # orange
RIGHT_RGB = (40, 170, 255)  # blue
MID_RGB = (235, 235, 235)
DIM_RGB = (150, 150, 150)
TEXT_RGB = (255, 255, 255)
MUTED_RGB = (200, 200, 200)
PANEL_RGB = (20, 20, 20)
CUE_RGB = (200, 25, 25)
NOTICE_RGB = (250, 190, 40)
GOOD_RGB = (70, 200, 90)
SIDE_RGB = {"left": LEFT_RGB, "right": RIGHT_RGB, "both": MID_RGB}
SIDE_ABBREV = {"left": "L", "right": "R"}

_DRAWN = sorted({int(i) for edge in EDGES for i in edge} | {int(Landmark.NOSE)})
_FACE = {int(lm) for lm in Landmark if lm <= Landmark.MOUTH_RIGHT}


@dataclass(frozen=True)
class _Style:
    """Sizes for one frame size: everything is a multiple of the frame's scale."""

    s: float

    @staticmethod
    def for_image(width: int, height: int) -> _Style:
        # Reference 640x480. Portrait frames are limited by their width.
        return _Style(max(0.7, min(height / 480, width / 640)))

    def px(self, v: float) -> int:
        return max(1, int(round(v * self.s)))

    def font(self, size: float) -> float:
        return size * self.s

    def thick(self, base: float) -> int:
        return max(1, int(round(base * self.s)))


def _cv2():
    from formcheck.sources import load_cv2

    return load_cv2()


# --- primitives ---------------------------------------------------------------------------------


def _shade(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, rgb=PANEL_RGB, alpha: float = 0.6) -> None:
    """Blend a rectangle into `img` in place (only the rectangle is touched)."""
    h, w = img.shape[:2]
    x0, x1 = max(0, x0), min(w, x1)
    y0, y1 = max(0, y0), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        return
    roi = img[y0:y1, x0:x1]
    # OpenCV's saturating blend: several times faster than float numpy (the live window draws every frame)
    cv2 = _cv2()
    roi[:] = cv2.add(cv2.multiply(roi, (1 - alpha,) * 3 + (0,)), tuple(c * alpha for c in rgb) + (0,))


def screen_text(cv2, text: str) -> str:
    """``text`` as this OpenCV can draw it: OpenCV 5's fonts draw umlauts; the Hershey fonts of
    OpenCV 4 draw ASCII only (an umlaut comes out as "??"), so there it is spelled out (ae, oe, ss)."""
    if text.isascii() or int(cv2.__version__.split(".")[0]) >= 5:
        return text
    return ascii_text(text)


def _text_size(cv2, text: str, scale: float, thick: int) -> tuple[int, int, int]:
    (w, h), base = cv2.getTextSize(screen_text(cv2, text), cv2.FONT_HERSHEY_DUPLEX, scale, thick)
    return w, h, base


def _put(cv2, img, text: str, org: tuple[int, int], scale: float, thick: int, rgb=TEXT_RGB) -> None:
    cv2.putText(img, screen_text(cv2, text), org, cv2.FONT_HERSHEY_DUPLEX, scale, rgb, thick, cv2.LINE_AA)


def _wrap(cv2, text: str, scale: float, thick: int, max_w: int) -> list[str]:
    """Greedy word wrap so each line fits in `max_w` pixels (a single long word stays whole)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and _text_size(cv2, trial, scale, thick)[0] > max_w:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines or [""]


def _fit_scale(cv2, lines: list[str], scale: float, thick: int, max_w: int) -> float:
    widest = max(_text_size(cv2, line, scale, thick)[0] for line in lines)
    return scale if widest <= max_w else scale * max_w / widest


# --- pieces -------------------------------------------------------------------------------------


def _points_px(result: FrameResult, width: int, height: int) -> np.ndarray | None:
    """Landmark x, y in this image's pixels (the pose may come from a downscaled frame)."""
    pose = result.pose
    if not pose.detected:
        return None
    fw, fh = pose.frame_size_px
    sx = width / fw if fw else 1.0
    sy = height / fh if fh else 1.0
    xy = pose.image_xyz_px[:, :2] * np.array([sx, sy])
    limit = 4 * max(width, height)  # keep far-off guesses inside int range; cv2 clips the rest
    return np.clip(xy, -limit, limit)


def _edge_rgb(a: int, b: int):
    na, nb = Landmark(a).name, Landmark(b).name
    if na.startswith("LEFT_") and nb.startswith("LEFT_"):
        return LEFT_RGB
    if na.startswith("RIGHT_") and nb.startswith("RIGHT_"):
        return RIGHT_RGB
    return MID_RGB


def _point_rgb(i: int):
    name = Landmark(i).name
    return LEFT_RGB if name.startswith("LEFT_") else RIGHT_RGB if name.startswith("RIGHT_") else MID_RGB


def _draw_skeleton(cv2, img, xy: np.ndarray, vis: np.ndarray, st: _Style) -> None:
    seen = np.isfinite(xy).all(axis=1)
    sure = seen & (vis >= VISIBILITY_MIN)
    thick, thin = st.thick(3), st.thick(1.2)
    # Unsure limbs first, thin and grey, so sure ones draw on top.
    for a, b in EDGES:
        if seen[a] and seen[b] and not (sure[a] and sure[b]):
            cv2.line(img, _pt(xy[a]), _pt(xy[b]), DIM_RGB, thin, cv2.LINE_AA)
    for a, b in EDGES:
        if sure[a] and sure[b]:
            cv2.line(img, _pt(xy[a]), _pt(xy[b]), _edge_rgb(a, b), thick, cv2.LINE_AA)
    for i in _DRAWN:
        if not seen[i]:
            continue
        r = st.px(3 if i in _FACE else 5)
        if sure[i]:
            cv2.circle(img, _pt(xy[i]), r, _point_rgb(i), -1, cv2.LINE_AA)
            cv2.circle(img, _pt(xy[i]), r, PANEL_RGB, max(1, st.thick(1) // 2 + 1), cv2.LINE_AA)
        else:
            cv2.circle(img, _pt(xy[i]), r, DIM_RGB, st.thick(1.2), cv2.LINE_AA)  # hollow: a guess


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _angle_labels(result: FrameResult, spec: ExerciseSpec) -> list[tuple[str, float, list[int], str]]:
    """(feature name, value, joint landmarks to place it at, colour side) for hip/knee features."""
    out = []
    values = result.features.values
    for name, fs in spec.features.items():
        part = MEASURES[fs.measure].joint
        if part is None:
            continue
        if fs.side == "working":
            for side in ("left", "right"):
                out.append((name, values.get(str(FeatureKey(name, side)), math.nan), [int(Landmark[f"{side.upper()}_{part}"])], side))
        elif fs.side in ("both", None):  # both legs, or a measure that picks its leg (planted_hip_flexion)
            joints = [int(Landmark[f"LEFT_{part}"]), int(Landmark[f"RIGHT_{part}"])]
            out.append((name, values.get(name, math.nan), joints, "both"))
        elif fs.side in ("left", "right"):
            out.append((name, values.get(name, math.nan), [int(Landmark[f"{fs.side.upper()}_{part}"])], fs.side))
    return out


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _place(anchor: np.ndarray, box_w: int, box_h: int, w: int, h: int, taken: list, st: _Style) -> tuple[int, int]:
    """Top-left corner for a label beside `anchor` that overlaps no earlier label or panel."""
    ax, ay = int(anchor[0]), int(anchor[1])
    right, left = ax + st.px(12), ax - st.px(12) - box_w
    step = box_h + st.px(2)
    candidates = []
    for k in (0, 1, -1, 2, -2, 3, -3):  # beside the joint first, then stacked above/below it
        for x in ((right, left) if right + box_w <= w else (left, right)):
            candidates.append((x, ay - box_h // 2 + k * step))
    for x, y in candidates:
        x = min(max(0, x), max(0, w - box_w))
        y = min(max(0, y), max(0, h - box_h))
        if not any(_overlaps((x, y, x + box_w, y + box_h), t) for t in taken):
            return x, y
    x, y = candidates[0]
    return min(max(0, x), max(0, w - box_w)), min(max(0, y), max(0, h - box_h))


def _draw_angles(
    cv2, img, xy: np.ndarray, vis: np.ndarray, result: FrameResult, spec: ExerciseSpec, st: _Style, taken: list
) -> None:
    h, w = img.shape[:2]
    scale, thick = st.font(0.55), st.thick(1)
    for name, value, joints, side in _angle_labels(result, spec):
        if value is None or not math.isfinite(value):
            continue
        usable = [j for j in joints if np.isfinite(xy[j]).all() and vis[j] >= VISIBILITY_MIN]
        if not usable:
            continue
        anchor = xy[usable].mean(axis=0)
        prefix = f"{SIDE_ABBREV[side]} " if side in SIDE_ABBREV and spec.sides == "per_side" else ""
        text = f"{prefix}{name} {round(value):d}"
        tw, th, base = _text_size(cv2, text, scale, thick)
        deg_r = max(3, round(th * 0.2))  # Hershey fonts have no degree sign: draw a small ring
        bar = st.px(4)
        box_w = bar + st.px(6) + tw + 2 * deg_r + st.px(8)
        box_h = th + base + st.px(8)
        x, y = _place(anchor, box_w, box_h, w, h, taken, st)
        taken.append((x, y, x + box_w, y + box_h))
        _shade(img, x, y, x + box_w, y + box_h, alpha=0.7)
        cv2.rectangle(img, (x, y), (x + bar - 1, y + box_h - 1), SIDE_RGB.get(side, MID_RGB), -1)
        tx, ty = x + bar + st.px(6), y + st.px(4) + th
        _put(cv2, img, text, (tx, ty), scale, thick)
        cv2.circle(img, (tx + tw + deg_r + st.px(2), ty - th + deg_r), deg_r, TEXT_RGB, max(1, thick), cv2.LINE_AA)


def _count_text(result: FrameResult, spec: ExerciseSpec) -> str:
    target = spec.target.reps
    word = tr("Holds" if spec.kind == "hold" else "Reps")
    sides = list(result.counts) or list(result.phases)
    if sides and all(s in SIDE_ABBREV for s in sides):
        return "  ".join(f"{SIDE_ABBREV[s]} {result.counts.get(s, 0)}/{target}" for s in sides)
    total = sum(result.counts.values())
    return f"{word} {total}/{target}"


def _phase_text(result: FrameResult) -> str:
    if not result.phases:
        return ""
    if len(result.phases) == 1 and next(iter(result.phases)) == "both":
        return str(next(iter(result.phases.values())))
    return "  ".join(f"{SIDE_ABBREV.get(s, s)} {p}" for s, p in result.phases.items())


def _draw_panel(cv2, img, result: FrameResult, spec: ExerciseSpec, st: _Style) -> tuple[int, int, int, int]:
    """Top-left panel: exercise, rep counter, phase, hold timer. Returns its rectangle."""
    h, w = img.shape[:2]
    pad, gap = st.px(10), st.px(8)
    max_w = int(w * 0.56) - 2 * pad
    rows: list[tuple[str, float, int, tuple]] = []  # text, scale, thickness, colour
    title_scale = _fit_scale(cv2, [spec.title], st.font(0.5), st.thick(1), max_w)
    rows.append((spec.title, title_scale, st.thick(1), MUTED_RGB))
    count = _count_text(result, spec)
    rows.append((count, _fit_scale(cv2, [count], st.font(1.0), st.thick(2), max_w), st.thick(2), TEXT_RGB))
    phase = _phase_text(result)
    if not result.pose.detected:
        rows.append((tr("No person in view"), st.font(0.55), st.thick(1), NOTICE_RGB))
    elif phase:
        rows.append((phase, _fit_scale(cv2, [phase], st.font(0.55), st.thick(1), max_w), st.thick(1), MUTED_RGB))
    target_hold = spec.target.hold_s
    show_hold = target_hold > 0 or result.hold_s > 0
    if show_hold:
        hold = f"{tr('Hold')} {result.hold_s:.1f} / {target_hold:.0f} s" if target_hold > 0 else f"{tr('Hold')} {result.hold_s:.1f} s"
        rows.append((hold, st.font(0.6), st.thick(1), TEXT_RGB))
    sizes = [_text_size(cv2, t, sc, th) for t, sc, th, _ in rows]
    inner_w = max(s[0] for s in sizes)
    bar_h = st.px(10) if target_hold > 0 else 0
    if bar_h:
        inner_w = max(inner_w, st.px(170))
    total_h = sum(s[1] + s[2] for s in sizes) + gap * (len(rows) - 1) + (bar_h + gap if bar_h else 0)
    x0, y0 = st.px(8), st.px(8)
    x1, y1 = x0 + inner_w + 2 * pad, y0 + total_h + 2 * pad
    _shade(img, x0, y0, x1, y1, alpha=0.6)
    y = y0 + pad
    for (text, sc, th, rgb), (tw, tht, base) in zip(rows, sizes):
        y += tht
        _put(cv2, img, text, (x0 + pad, y), sc, th, rgb)
        y += base + gap
    if bar_h:
        frac = min(max(result.hold_s / target_hold, 0.0), 1.0)
        bx0, bx1 = x0 + pad, x0 + pad + inner_w
        cv2.rectangle(img, (bx0, y), (bx1, y + bar_h), (90, 90, 90), -1)
        if frac > 0:
            fill_x = bx0 + int(round(frac * (bx1 - bx0)))
            cv2.rectangle(img, (bx0, y), (fill_x, y + bar_h), GOOD_RGB if frac >= 1 else NOTICE_RGB, -1)
    return (x0, y0, x1, y1)


def _draw_banner(
    cv2, img, text: str, bottom: int, st: _Style, *, rgb, text_rgb, size: float, thick: float, alpha: float
) -> int:
    """A full-width banner whose bottom edge is at `bottom`; wraps long text. Returns its top edge."""
    h, w = img.shape[:2]
    pad = st.px(10)
    scale, th = st.font(size), st.thick(thick)
    lines = _wrap(cv2, text, scale, th, w - 2 * pad)
    scale = _fit_scale(cv2, lines, scale, th, w - 2 * pad)
    sizes = [_text_size(cv2, line, scale, th) for line in lines]
    line_gap = st.px(6)
    total = sum(s[1] + s[2] for s in sizes) + line_gap * (len(lines) - 1)
    top = bottom - total - 2 * pad
    _shade(img, 0, top, w, bottom, rgb=rgb, alpha=alpha)
    y = top + pad
    for line, (tw, tht, base) in zip(lines, sizes):
        y += tht
        _put(cv2, img, line, ((w - tw) // 2, y), scale, th, text_rgb)
        y += base + line_gap
    return top


def _draw_perf(cv2, img, fps: float | None, latency_ms: float | None, st: _Style) -> tuple[int, int, int, int] | None:
    parts = []
    if fps is not None and math.isfinite(fps):
        parts.append(f"{fps:.0f} fps")
    if latency_ms is not None and math.isfinite(latency_ms):
        parts.append(f"{latency_ms:.0f} ms")
    if not parts:
        return None
    text = "  ".join(parts)
    scale, th = st.font(0.45), st.thick(1)
    tw, tht, base = _text_size(cv2, text, scale, th)
    pad = st.px(6)
    w = img.shape[1]
    x1, y0 = w - st.px(8), st.px(8)
    x0, y1 = x1 - tw - 2 * pad, y0 + tht + base + 2 * pad
    _shade(img, x0, y0, x1, y1, alpha=0.55)
    _put(cv2, img, text, (x0 + pad, y0 + pad + tht), scale, th, MUTED_RGB)
    return (x0, y0, x1, y1)


def _draw_red_joints(cv2, img, xy: np.ndarray, joints: tuple[int, ...], st: _Style) -> None:
    """The joints a fault is about, in red over the skeleton: the limb to correct, at a glance."""
    seen = {j for j in joints if np.isfinite(xy[j]).all()}
    for a, b in EDGES:
        if int(a) in seen and int(b) in seen:
            cv2.line(img, _pt(xy[a]), _pt(xy[b]), CUE_RGB, st.thick(6), cv2.LINE_AA)
    for j in seen:
        cv2.circle(img, _pt(xy[j]), st.px(9), CUE_RGB, -1, cv2.LINE_AA)
        cv2.circle(img, _pt(xy[j]), st.px(9), TEXT_RGB, st.thick(1.5), cv2.LINE_AA)


def _draw_summary(cv2, img, summary: SetSummary, st: _Style) -> None:
    """The end-of-set screen over a dimmed frame: reps against the prescription, holds, faults, next."""
    h, w = img.shape[:2]
    _shade(img, 0, 0, w, h, alpha=0.82)
    rows: list[tuple[str, float, int, tuple]] = [(tr("Set complete" if all(n >= t for _, n, t in summary.reps) else "Set ended"),
                                                  1.3, 3, TEXT_RGB), (summary.title, 0.8, 2, MUTED_RGB)]
    for side, n, target in summary.reps:
        who = tr("Reps" if side == "both" else f"{side.capitalize()} side")
        rows.append((tr("{who}: {done} of {target}").format(who=who, done=n, target=target), 1.0, 2, GOOD_RGB if n >= target else NOTICE_RGB))
    for side, held_s, target_s in summary.holds:
        who = tr("Hold" if side == "both" else f"{side.capitalize()} hold")
        rows.append((tr("{who}: {held} s on average, of {target} s").format(who=who, held=f"{held_s:.1f}", target=f"{target_s:g}"), 0.8, 2,
                     GOOD_RGB if held_s >= target_s - 0.05 else NOTICE_RGB))
    if summary.faults:
        rows.append((tr("To work on:"), 0.8, 2, TEXT_RGB))
        rows += [(f"- {text}" + (f"  (x{n})" if n > 1 else ""), 0.75, 2, (255, 120, 110)) for text, n in summary.faults[:4]]
    else:
        rows.append((tr("No form faults: well done"), 0.8, 2, GOOD_RGB))
    rows.append((summary.next_step, 0.85, 2, TEXT_RGB))
    max_w = int(w * 0.9)
    lines: list[tuple[str, float, int, tuple]] = []
    for text, size, thick, rgb in rows:
        lines += [(line, st.font(size), st.thick(thick), rgb) for line in _wrap(cv2, text, st.font(size), st.thick(thick), max_w)]
    gap = st.px(10)
    sizes = [_text_size(cv2, t, sc, th) for t, sc, th, _ in lines]
    total = sum(s[1] + s[2] for s in sizes) + gap * (len(lines) - 1)
    fit = min(1.0, 0.92 * h / total, *(max_w / max(1, s[0]) for s in sizes))
    if fit < 1.0:  # a long list on a small frame: everything shrinks together
        lines = [(t, sc * fit, max(1, int(round(th * fit))), rgb) for t, sc, th, rgb in lines]
        sizes = [_text_size(cv2, t, sc, th) for t, sc, th, _ in lines]
        gap = max(2, int(gap * fit))
        total = sum(s[1] + s[2] for s in sizes) + gap * (len(lines) - 1)
    x = (w - max(s[0] for s in sizes)) // 2
    y = (h - total) // 2
    for (text, sc, th, rgb), (tw, tht, base) in zip(lines, sizes):
        y += tht
        _put(cv2, img, text, (x, y), sc, th, rgb)
        y += base + gap


def latest_cue(result: FrameResult) -> str | None:
    """The cue this frame raises: a fault just found, else the newest one still firing."""
    if result.new_faults:
        return tr(result.new_faults[-1].cue)
    if result.active_cues:
        return tr(result.active_cues[-1])
    return None


# --- live-only extras: target gauges, routine header, set-up guidance and countdown ------------

MAX_GAUGES = 2
PAUSED_RGB = (120, 120, 120)


@dataclass(frozen=True)
class LiveOverlay:
    """What the live window adds to the overlay. ``tone`` colours the message: guide, good or paused."""

    message: str | None = None  # set-up guidance or status, centred and large
    countdown_s: float | None = None  # seconds left before counting starts
    tone: str = "guide"
    header: str | None = None  # e.g. "Exercise 2 of 3", top right
    gauges: bool = True  # the key angles against their target bands
    coach: CoachState | None = None  # the cue, hold countdown and red joints (replaces the video's cue memory)
    summary: SetSummary | None = None  # the end-of-set screen
    card: SetupCard | None = None  # set-up: how to do it, where the camera goes, start and top pictures


def target_bands(spec: ExerciseSpec) -> dict[str, tuple[float, float]]:
    """The range each angle feature should stay in, from the limits of the fault rules on it.

    The rep driver comes first when it has one; (-inf, hi) or (lo, inf) when one side is free.
    """
    bands: dict[str, list[float]] = {}
    for rule in spec.faults:
        fs = spec.features.get(rule.feature) if check_kind(rule).band else None
        if fs is None or not MEASURES[fs.measure].angle or fs.side == "difference":
            continue
        lo, hi = bands.setdefault(rule.feature, [-math.inf, math.inf])
        if rule.absolute:
            if rule.above is None:
                continue  # "|x| below a limit" is not a band
            lo, hi = max(lo, -rule.above), min(hi, rule.above)
        else:
            if rule.above is not None:
                hi = min(hi, rule.above)
            if rule.below is not None:
                lo = max(lo, rule.below)
        bands[rule.feature] = [lo, hi]
    ordered = sorted(bands, key=lambda n: n != spec.rep.driver)
    return {n: (bands[n][0], bands[n][1]) for n in ordered if bands[n][0] < bands[n][1]}


def _band_text(lo: float, hi: float) -> str:
    if math.isfinite(lo) and math.isfinite(hi):
        return f"target {lo:g} to {hi:g}"
    return f"target up to {hi:g}" if math.isfinite(hi) else f"target {lo:g} or more"


def _gauge_values(result: FrameResult, spec: ExerciseSpec, name: str) -> list[tuple[str, float]]:
    fs = spec.features[name]
    values = result.features.values
    if fs.side == "working":
        return [(side, values.get(str(FeatureKey(name, side)), math.nan)) for side in ("left", "right")]
    return [(fs.side or "both", values.get(name, math.nan))]


def _draw_gauges(cv2, img, result: FrameResult, spec: ExerciseSpec, st: _Style, top: int) -> tuple[int, int, int, int] | None:
    """Right-hand gauges: each banded angle as a bar with its green target band and a marker."""
    bands = list(target_bands(spec).items())[:MAX_GAUGES]
    if not bands:
        return None
    h, w = img.shape[:2]
    pad, bar_h = st.px(8), st.px(9)
    box_w = min(st.px(210), int(w * 0.38))  # beside the counter panel, never over it
    scale, th = st.font(0.45), st.thick(1)
    line_h = _text_size(cv2, "Hg", scale, th)[1] + st.px(6)
    row_h = line_h + bar_h + st.px(10)
    x1 = w - st.px(8)
    x0 = x1 - box_w
    y0 = top
    y1 = y0 + pad + row_h * len(bands)
    _shade(img, x0, y0, x1, y1, alpha=0.6)
    y = y0 + pad
    for name, (lo, hi) in bands:
        vals = _gauge_values(result, spec, name)
        a = lo if math.isfinite(lo) else hi - 60
        b = hi if math.isfinite(hi) else lo + 60
        margin = max(15.0, 0.5 * (b - a))
        s_lo, s_hi = a - margin, b + margin
        seen = [(side, v) for side, v in vals if math.isfinite(v)]
        now = "  ".join(f"{SIDE_ABBREV.get(side, '')} {round(v):d}".strip() for side, v in seen) or "-"
        label = f"{name} {now}"
        _put(cv2, img, label, (x0 + pad, y + line_h - st.px(6)), scale, th, TEXT_RGB)
        band = _band_text(lo, hi)
        # the target goes right of the reading, smaller if it must; never over it (the green band says it too)
        room = (x1 - pad) - (x0 + pad + _text_size(cv2, label, scale, th)[0] + st.px(8))
        band_scale = st.font(0.42)
        bw = _text_size(cv2, band, band_scale, th)[0]
        if bw > room:
            band_scale *= max(room, 0) / bw
            bw = _text_size(cv2, band, band_scale, th)[0]
        if band_scale >= st.font(0.42) * 0.6:
            _put(cv2, img, band, (x1 - pad - bw, y + line_h - st.px(6)), band_scale, th, MUTED_RGB)
        by = y + line_h
        bx0, bx1 = x0 + pad, x1 - pad

        def to_x(v: float) -> int:
            return int(round(bx0 + (min(max(v, s_lo), s_hi) - s_lo) / (s_hi - s_lo) * (bx1 - bx0)))

        cv2.rectangle(img, (bx0, by), (bx1, by + bar_h), (80, 80, 80), -1)
        cv2.rectangle(img, (to_x(lo if math.isfinite(lo) else s_lo), by), (to_x(hi if math.isfinite(hi) else s_hi), by + bar_h), GOOD_RGB, -1)
        for side, v in seen:
            mx = to_x(v)
            inside = lo <= v <= hi
            rgb = SIDE_RGB.get(side, MID_RGB) if len(seen) > 1 else (TEXT_RGB if inside else NOTICE_RGB)
            cv2.rectangle(img, (mx - st.px(2), by - st.px(4)), (mx + st.px(2), by + bar_h + st.px(4)), rgb, -1)
            cv2.rectangle(img, (mx - st.px(2), by - st.px(4)), (mx + st.px(2), by + bar_h + st.px(4)), PANEL_RGB, 1)
        y += row_h
    return (x0, y0, x1, y1)


def _draw_header(cv2, img, text: str, st: _Style, top: int) -> tuple[int, int, int, int]:
    scale, th = st.font(0.45), st.thick(1)
    tw, tht, base = _text_size(cv2, text, scale, th)
    pad = st.px(6)
    x1 = img.shape[1] - st.px(8)
    x0, y1 = x1 - tw - 2 * pad, top + tht + base + 2 * pad
    _shade(img, x0, top, x1, y1, alpha=0.55)
    _put(cv2, img, text, (x0 + pad, top + pad + tht), scale, th, TEXT_RGB)
    return (x0, top, x1, y1)


def _draw_card(cv2, img, card: SetupCard, st: _Style, top: int, bottom: int) -> int:
    """The set-up card in the right-hand column between ``top`` and ``bottom``; returns its left edge."""
    h, w = img.shape[:2]
    pad, gap = st.px(10), st.px(6)
    x0, x1 = int(w * 0.56), w - st.px(8)
    inner = x1 - x0 - 2 * pad
    rows: list[tuple[str, float, int, tuple]] = [(tr("How to do it"), st.font(0.5), st.thick(1.5), GOOD_RGB)]
    body_scale, body_th = st.font(0.36), st.thick(1)
    rows += [(line, body_scale, body_th, TEXT_RGB) for line in _wrap(cv2, card.instructions, body_scale, body_th, inner)]
    rows.append((tr("Camera"), st.font(0.5), st.thick(1.5), GOOD_RGB))
    rows += [(line, body_scale, body_th, TEXT_RGB) for line in _wrap(cv2, card.camera, body_scale, body_th, inner)]
    sizes = [_text_size(cv2, t, sc, th) for t, sc, th, _ in rows]
    text_h = sum(s[1] + s[2] + gap for s in sizes)
    # the pictures share the room the text leaves, side by side, their shape kept
    room_h = bottom - top - 2 * pad - text_h - gap
    pics = []
    if card.pictures and room_h > st.px(40):
        n = len(card.pictures)
        side_w, side_h = (inner - gap * (n - 1)) // n, room_h  # side by side ...
        stack_w, stack_h = inner, (room_h - gap * (n - 1)) // n  # ... or one above the other
        ph, pw = card.pictures[0][1].shape[:2]
        across = min(side_w / pw, side_h / ph) >= min(stack_w / pw, stack_h / ph)
        each_w, each_h = (side_w, side_h) if across else (stack_w, stack_h)
        for caption, rgb in card.pictures:
            ph, pw = rgb.shape[:2]
            scale = min(each_w / pw, each_h / ph)
            if scale > 0:
                pics.append((caption, cv2.resize(rgb, (max(1, int(pw * scale)), max(1, int(ph * scale))),
                                                 interpolation=cv2.INTER_AREA)))
    if pics and not across:
        pics_h = sum(p.shape[0] for _, p in pics) + gap * (len(pics) - 1)
    else:
        pics_h = max((p.shape[0] for _, p in pics), default=0)
    y1 = min(bottom, top + 2 * pad + text_h + (pics_h + gap if pics else 0))
    _shade(img, x0, top, x1, y1, alpha=0.75)
    y = top + pad
    for (text, sc, th, rgb), (tw, tht, base) in zip(rows, sizes):
        if y + tht + base > y1:
            break  # a long text on a small frame: what fits is shown
        y += tht
        _put(cv2, img, text, (x0 + pad, y), sc, th, rgb)
        y += base + gap
    x = x0 + pad
    for _caption, pic in pics:  # the pictures carry their own titles
        ph, pw = pic.shape[:2]
        if y + ph <= h and x + pw <= w:
            img[y:y + ph, x:x + pw] = pic
        if across:
            x += pw + gap
        else:
            y += ph + gap
    return x0


def _draw_centre(cv2, img, live: LiveOverlay, st: _Style, area_w: int | None = None) -> None:
    """The set-up message (wrapped, large) and the countdown number, centred (in the left ``area_w``)."""
    h, full_w = img.shape[:2]
    w = area_w or full_w
    rgb, text_rgb = {"good": (GOOD_RGB, (15, 15, 15)), "paused": (PAUSED_RGB, TEXT_RGB)}.get(
        live.tone, (NOTICE_RGB, (25, 25, 25)))
    pad = st.px(14)
    max_w = int(w * 0.8) - 2 * pad
    rows: list[tuple[str, float, int]] = []
    if live.message:
        scale, th = st.font(0.9), st.thick(2)
        lines = _wrap(cv2, live.message, scale, th, max_w)
        scale = _fit_scale(cv2, lines, scale, th, max_w)
        rows += [(line, scale, th) for line in lines]
    if live.countdown_s is not None:
        rows.append((str(max(1, math.ceil(live.countdown_s))), st.font(3.0), st.thick(6)))
    if not rows:
        return
    sizes = [_text_size(cv2, t, sc, th) for t, sc, th in rows]
    gap = st.px(8)
    box_w = max(s[0] for s in sizes) + 2 * pad
    box_h = sum(s[1] + s[2] for s in sizes) + gap * (len(rows) - 1) + 2 * pad
    x0, y0 = (w - box_w) // 2, (h - box_h) // 2
    _shade(img, x0, y0, x0 + box_w, y0 + box_h, rgb=rgb, alpha=0.85)
    y = y0 + pad
    for (text, sc, th), (tw, tht, base) in zip(rows, sizes):
        y += tht
        _put(cv2, img, text, ((w - tw) // 2, y), sc, th, text_rgb)
        y += base + gap


# --- the pure function ----------------------------------------------------------------------------


def draw_overlay(
    image_rgb: np.ndarray,
    result: FrameResult,
    spec: ExerciseSpec,
    *,
    fps: float | None = None,
    latency_ms: float | None = None,
    cue: str | None = None,
    notice: str | None = None,
    inplace: bool = False,
    live: LiveOverlay | None = None,
) -> np.ndarray:
    """Draw skeleton, angles, counter panel, hold timer, cue banner and FPS on an RGB frame.

    `cue` is the fault cue to show (default: the one `result` raises); `notice` a one-off
    warning shown above it; `live` the live window's extras. Returns a new image unless `inplace`.
    """
    cv2 = _cv2()
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image_rgb.dtype} {image_rgb.shape}")
    img = image_rgb if inplace else image_rgb.copy()
    h, w = img.shape[:2]
    st = _Style.for_image(w, h)
    if live is not None:
        st = _Style(st.s * LIVE_SIZE)
    coach = live.coach if live is not None else None
    xy = _points_px(result, w, h)
    vis = np.nan_to_num(np.asarray(result.pose.visibility, dtype=np.float64), nan=0.0)
    if xy is not None:
        _draw_skeleton(cv2, img, xy, vis, st)
        if coach is not None and coach.red_joints:
            _draw_red_joints(cv2, img, xy, coach.red_joints, st)
    taken = [_draw_panel(cv2, img, result, spec, st)]
    perf = _draw_perf(cv2, img, fps, latency_ms, st)
    if perf is not None:
        taken.append(perf)
    if live is not None:
        top = perf[3] + st.px(6) if perf is not None else st.px(8)
        if live.header:
            taken.append(_draw_header(cv2, img, live.header, st, top))
            top = taken[-1][3] + st.px(6)
        gauges = _draw_gauges(cv2, img, result, spec, st, top) if live.gauges else None
        if gauges is not None:
            taken.append(gauges)
    bottom = h
    if coach is not None:  # live coaching: the cue board says what is up, and in which colour
        if coach.cue is not None:
            good = coach.cue.tone == "good"
            bottom = _draw_banner(cv2, img, coach.cue.text, bottom, st, rgb=GOOD_RGB if good else CUE_RGB,
                                  text_rgb=(15, 15, 15) if good else TEXT_RGB, size=1.0, thick=2, alpha=0.88)
        if coach.hold is not None:
            done = coach.hold.remaining_s <= 0
            bottom = _draw_banner(cv2, img, coach.hold.text, bottom, st, rgb=GOOD_RGB if done else NOTICE_RGB,
                                  text_rgb=(15, 15, 15), size=1.1, thick=2, alpha=0.88)
    else:
        cue = cue if cue is not None else latest_cue(result)
        if cue:
            bottom = _draw_banner(cv2, img, cue, bottom, st, rgb=CUE_RGB, text_rgb=TEXT_RGB, size=1.0, thick=2, alpha=0.85)
    if notice:
        bottom = _draw_banner(
            cv2, img, notice, bottom, st, rgb=NOTICE_RGB, text_rgb=(25, 25, 25), size=0.55, thick=1, alpha=0.85
        )
    if bottom < h:
        taken.append((0, bottom, w, h))
    if xy is not None:  # labels last, so they stay readable and dodge the panels
        _draw_angles(cv2, img, xy, vis, result, spec, st, taken)
    if live is not None:
        if live.summary is not None:
            _draw_summary(cv2, img, live.summary, st)
        else:
            card_x = None
            if live.card is not None:
                card_top = max((r[3] for r in taken if r[2] > int(w * 0.56)), default=0) + st.px(6)
                card_x = _draw_card(cv2, img, live.card, st, card_top, bottom - st.px(6))
            _draw_centre(cv2, img, live, st, card_x)
    return img


# --- the stateful wrapper -----------------------------------------------------------------------


class OverlayRenderer:
    """Draws each frame's overlay and keeps a raised cue on screen for ``cue_hold_s``.

    Times are the frames' own timestamps, so an annotated video shows cues for the same span
    however fast it was rendered.
    """

    def __init__(self, spec: ExerciseSpec, *, cue_hold_s: float = CUE_HOLD_S, notice_hold_s: float = NOTICE_HOLD_S):
        self.spec = spec
        self.cue_hold_ms = cue_hold_s * 1000
        self.notice_hold_ms = notice_hold_s * 1000
        self._cue: str | None = None
        self._cue_seen_ms = -math.inf
        self._cue_raised_ms = -math.inf
        self._active: set[str] = set()
        self._notice: str | None = None
        self._notice_ms = -math.inf
        self._last_ms = -math.inf

    def cue_at(self, result: FrameResult) -> str | None:
        """Advance the cue memory by one frame and return the cue to show (None: no banner)."""
        t = result.pose.timestamp_ms
        if t < self._last_ms:  # a new session or a rewind: forget
            self.__init__(self.spec, cue_hold_s=self.cue_hold_ms / 1000, notice_hold_s=self.notice_hold_ms / 1000)
        self._last_ms = t
        active = list(result.active_cues)
        raised = [f.cue for f in result.new_faults] + [c for c in active if c not in self._active]
        self._active = set(active)
        if raised:
            self._cue, self._cue_raised_ms, self._cue_seen_ms = raised[-1], t, t
        elif self._cue is not None and self._cue in self._active:
            self._cue_seen_ms = t  # still firing: keep it up
        elif active and t - self._cue_seen_ms > self.cue_hold_ms:
            self._cue, self._cue_raised_ms, self._cue_seen_ms = active[-1], t, t
        if self._cue is not None and t - self._cue_seen_ms <= self.cue_hold_ms:
            return self._cue
        self._cue = None
        return None

    def notice_at(self, result: FrameResult) -> str | None:
        """The notice shown at this frame (set-up or visibility advice), if any."""
        t = result.pose.timestamp_ms
        if result.notices:
            self._notice, self._notice_ms = result.notices[-1], t
        if self._notice is not None and t - self._notice_ms <= self.notice_hold_ms:
            return self._notice
        self._notice = None
        return None

    def update(
        self,
        image_rgb: np.ndarray,
        result: FrameResult,
        *,
        fps: float | None = None,
        latency_ms: float | None = None,
        inplace: bool = False,
        live: LiveOverlay | None = None,
    ) -> np.ndarray:
        """The image with the overlay of one analysed frame drawn on it (a copy unless ``inplace``)."""
        cue = self.cue_at(result)
        notice = self.notice_at(result)
        return draw_overlay(
            image_rgb, result, self.spec, fps=fps, latency_ms=latency_ms, cue=cue, notice=notice, inplace=inplace,
            live=live,
        )
