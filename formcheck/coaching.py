"""What the live screen says about the movement, as pure data: which cue, for which side and joints.

``sided_cue`` names the side in a spec's cue ("Keep your knee straight" -> "Keep your left knee
straight"); ``CueBoard`` decides, frame by frame, which cue is up: a fault's cue from the moment
the fault is known until the next rep begins, a short word of praise for a rep without faults,
and the hold countdown. ``SetSummary`` is the end-of-set screen's content. No drawing here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from formcheck.faults import breaches
from formcheck.lang import ENGLISH, current, tr
from formcheck.skeleton import Landmark
from formcheck.spec import ExerciseSpec
from formcheck.types import FrameResult, feature_value

GOOD_REP_CUE = "Good rep"
GOOD_HOLD_CUE = "Good hold, and release"
KEEP_HOLDING_CUE = "Keep holding"
GOOD_CUE_S = 1.5  # praise is short: it never outstays the moment it is about

_SIDES = ("left", "right")
_OPPOSITE = {"left": "right", "right": "left"}
# a body part of one leg (or arm) that a cue may name, and the words that say which one
_PART = r"knee|leg|hip|foot|thigh|heel|ankle|shoulder|arm|wrist"
_WHICH = r"other|standing|top|lifted|lifting|moving|working|bottom|bent"
_SLOT = re.compile(rf"\b(your|the)\s+(?:({_WHICH})\s+)?({_PART})\b", re.IGNORECASE)
# landmarks of the measures that name no points (their geometry is fixed in features.py)
_IMPLICIT_PARTS = {
    "hip_flexion": ("SHOULDER", "HIP", "KNEE"),
    "planted_hip_flexion": ("SHOULDER", "HIP", "KNEE"),
    "knee_flexion": ("HIP", "KNEE", "ANKLE"),
    "thigh_angle": ("HIP", "KNEE"),
    "foot_height": ("ANKLE",),
}
_TRUNK = ("LEFT_SHOULDER", "RIGHT_SHOULDER", "LEFT_HIP", "RIGHT_HIP")
_IMPLICIT_BOTH = {"trunk_lean": _TRUNK, "trunk_incline": _TRUNK, "pelvis_tilt": ("LEFT_HIP", "RIGHT_HIP")}


def fault_body_side(spec: ExerciseSpec, fault_id: str, side: str) -> str | None:
    """Which side of the body a fault on counter side ``side`` is about, or None when it has none.

    A feature measured on the other leg ({other}_ points: the standing leg) is about the opposite
    side; one measured across the body (the trunk, the pelvis) is about neither.
    """
    if side not in _SIDES:
        return None
    rule = next((r for r in spec.faults if r.id == fault_id), None)
    if rule is None or rule.feature is None:
        return side  # the rep itself (its pace, its hold): the side that did it
    fs = spec.features.get(rule.feature)
    if fs is None or fs.side in (None, "both", "difference"):
        return None
    if fs.side in _SIDES:
        return fs.side
    if fs.points and all(p.startswith("{other}_") for p in fs.points):
        return _OPPOSITE[side]
    return side


def sided_cue(cue: str, side: str | None) -> str:
    """The cue with its side named: "Keep your knee straight" -> "Keep your left knee straight".

    "your other foot" becomes "your left foot" (``side`` is already the body side the cue is
    about); a cue with no body part to name ("Slow down; ...") is said for that side's leg. A cue
    that names a side already, or a fault with no side, is left as written.
    """
    if current() != ENGLISH:
        return translated_cue(cue, side)
    if side not in _SIDES or re.search(r"\b(left|right)\b", cue, re.IGNORECASE):
        return cue
    m = _SLOT.search(cue)
    if m is None:
        return f"{side.capitalize()} leg: {cue[:1].lower()}{cue[1:]}"
    # "your top leg", "the lifted leg", "your standing leg": the side says which leg more plainly
    return cue[: m.start()] + " ".join([m.group(1), side, m.group(3)]) + cue[m.end():]


def translated_cue(cue: str, side: str | None) -> str:
    """The cue in the active language, its side said before it (word order differs by language)."""
    text = tr(cue)
    if side not in _SIDES:
        return text
    return tr(f"{side.capitalize()} side: {{cue}}").format(cue=text)


def fault_joints(spec: ExerciseSpec, fault_id: str, body_side: str | None) -> tuple[int, ...]:
    """The landmarks a fault is measured on (drawn red), on the side it is about; () for none."""
    rule = next((r for r in spec.faults if r.id == fault_id), None)
    if rule is None or rule.feature is None or rule.feature not in spec.features:
        return ()
    fs = spec.features[rule.feature]
    sides = (body_side,) if body_side in _SIDES else _SIDES
    names: list[str] = []
    if fs.points:
        for p in fs.points:
            if "{" not in p:
                names.append(p.upper())
                continue
            # the points are written for the counter side; body_side may be the other leg's
            counter = [_OPPOSITE[s] for s in sides] if all(q.startswith("{other}_") for q in fs.points) else sides
            names += [p.replace("{side}", s).replace("{other}", _OPPOSITE[s]).upper() for s in counter]
    elif fs.measure in _IMPLICIT_BOTH:
        names += _IMPLICIT_BOTH[fs.measure]
    else:
        names += [f"{s.upper()}_{part}" for s in sides for part in _IMPLICIT_PARTS.get(fs.measure, ())]
    return tuple(dict.fromkeys(int(Landmark[n]) for n in names if n in Landmark.__members__))


@dataclass(frozen=True)
class Cue:
    """One line for the person: a fault to correct (``tone`` fault), praise (good) or a hold prompt."""

    text: str
    tone: str
    joints: tuple[int, ...] = ()  # landmarks to draw red
    fault_id: str = ""


@dataclass(frozen=True)
class HoldPrompt:
    """The hold countdown: seconds still to hold (0: the hold is done, release)."""

    remaining_s: float
    target_s: float

    @property
    def text(self) -> str:
        """The words shown for the hold: keep holding with the seconds left, or the good-hold cue once done."""
        if self.remaining_s <= 0:
            return tr(GOOD_HOLD_CUE)
        return f"{tr(KEEP_HOLDING_CUE)}: {math.ceil(self.remaining_s - 1e-9)}"


@dataclass(frozen=True)
class CoachState:
    """What to show on one frame: the cue that is up, the hold countdown, the joints to draw red and the frame faults firing."""

    cue: Cue | None
    hold: HoldPrompt | None
    red_joints: tuple[int, ...]  # the cue's joints and any fault firing now
    firing: tuple[Cue, ...] = ()  # frame faults firing now, their side named


class CueBoard:
    """Which cue is up, frame by frame (timestamps are the frames' own).

    A fault's cue goes up the moment the fault happens and comes down when the next rep begins,
    so it never lingers into a rep it is not about. A frame fault is up while it fires; a rep
    fault judged on an extreme of the rep (its peak, max or min) is up from the first frame of the
    rep that breaks its limit, and is withdrawn if the judged rep is not flagged after all. A rep
    without faults gets ``GOOD_REP_CUE`` for ``good_s``; praise never covers a fault's cue.
    """

    def __init__(self, spec: ExerciseSpec, *, good_s: float = GOOD_CUE_S):
        self.spec = spec
        self.good_ms = good_s * 1000
        self._rest = spec.rep.phase_names[0]
        self._cue: Cue | None = None
        self._raised_ms = -math.inf
        self._phases: dict[str, str] = {}
        self._firing: set[str] = set()
        self._by_cue = {r.cue: r.id for r in spec.faults}
        # rep rules whose verdict an extreme of the rep decides: a frame past the limit shows it now
        self._early = [r for r in spec.faults if r.scope == "rep" and r.feature is not None and r.stat != "mean"]
        self._warned: dict[str, set[str]] = {}  # counter side -> rep rules already cued in its current rep

    def fault_cue(self, fault_id: str, cue: str, side: str) -> Cue:
        """A fault's cue on counter side ``side``, its body side named, with the joints to mark."""
        body = fault_body_side(self.spec, fault_id, side)
        return Cue(sided_cue(cue, body), "fault", fault_joints(self.spec, fault_id, body), fault_id)

    def update(self, result: FrameResult) -> CoachState:
        """Take one frame's result and return what to show on it."""
        t = result.pose.timestamp_ms
        started = [s for s, p in result.phases.items() if p != self._rest and self._phases.get(s, self._rest) == self._rest]
        self._phases = dict(result.phases)
        if started and self._cue is not None and t > self._raised_ms:
            self._cue = None  # the next rep has begun: the last one's cue is done
        for side in started:
            self._warned[side] = set()
        active = [s for s, p in result.phases.items() if p != self._rest]
        early = []
        for side in active:
            warned = self._warned.setdefault(side, set())
            for rule in self._early:
                if rule.id not in warned and breaches(rule, feature_value(result.features, rule.feature, side))[0]:
                    warned.add(rule.id)
                    early.append(self.fault_cue(rule.id, rule.cue, side))
        for rep in result.new_reps:  # judged: an early cue the rep was not flagged for comes down
            flagged = {f.id for f in rep.faults}
            if self._cue is not None and self._cue.fault_id in self._warned.get(rep.side, ()) and self._cue.fault_id not in flagged:
                self._cue = None
        firing_side = active[0] if len(active) == 1 else "both"
        firing = []
        for text in result.active_cues:  # frame faults firing now: known before their episode ends
            fault_id = self._by_cue.get(text)
            if fault_id is not None:
                firing.append(self.fault_cue(fault_id, text, firing_side))
        fresh = [c for c in firing if c.fault_id not in self._firing]
        self._firing = {c.fault_id for c in firing}
        raised = early + fresh + [self.fault_cue(f.id, f.cue, f.side) for f in result.new_faults
                                  if not (self._cue is not None and self._cue.fault_id == f.id)]
        if raised:
            self._cue, self._raised_ms = raised[-1], t
        elif result.new_reps and not any(r.faults for r in result.new_reps) and (self._cue is None or self._cue.tone != "fault"):
            word = "Good hold" if self.spec.kind == "hold" else GOOD_REP_CUE
            self._cue, self._raised_ms = Cue(tr(word), "good"), t
        if self._cue is not None and self._cue.tone == "good" and t - self._raised_ms > self.good_ms:
            self._cue = None
        red = tuple(dict.fromkeys((self._cue.joints if self._cue else ()) + tuple(j for c in firing for j in c.joints)))
        return CoachState(self._cue, self._hold(result), red, tuple(firing))

    def _hold(self, result: FrameResult) -> HoldPrompt | None:
        target = self.spec.target.hold_s
        if target <= 0 or result.hold_s <= 0:
            return None
        return HoldPrompt(max(0.0, target - result.hold_s), target)


# --- the end-of-set screen -----------------------------------------------------------------------


@dataclass(frozen=True)
class SetSummary:
    """The end-of-set screen: reps per side against the prescription, holds, faults, what next."""

    title: str
    reps: tuple[tuple[str, int, int], ...]  # (side, done, prescribed)
    holds: tuple[tuple[str, float, float], ...]  # (side, mean hold s, prescribed s); () without a hold
    faults: tuple[tuple[str, int], ...]  # (cue, times)
    next_step: str


def set_summary(report: dict, spec: ExerciseSpec, *, next_title: str | None = None,
                only_side: str | None = None) -> SetSummary:
    """The end-of-set screen from a report (``SessionReport.to_dict()``); ``only_side``: the one side prescribed."""
    s = report["summary"]
    target = s.get("target_reps_per_side") or spec.target.reps
    by_side = {k: v for k, v in (s.get("reps_by_side") or {}).items() if only_side is None or k == only_side}
    reps = tuple((side, int(n), int(target)) for side, n in by_side.items())
    hold_target = s.get("target_hold_s") or 0.0
    holds = ()
    if hold_target > 0:
        rows = []
        for side in by_side:
            got = [r["hold_s"] for r in report.get("reps", []) if r["side"] == side and r.get("hold_s") is not None]
            rows.append((side, sum(got) / len(got) if got else 0.0, float(hold_target)))
        holds = tuple(rows)
    counted: dict[tuple[str, str], list] = {}  # (fault id, side) -> [cue as first said, times]
    for f in report.get("faults", []):
        entry = counted.setdefault((f["id"], f["side"]), [sided_cue(f["cue"], fault_body_side(spec, f["id"], f["side"])), 0])
        entry[1] += 1
    short = [(side, n, t) for side, n, t in reps if n < t]
    unit = "holds" if spec.kind == "hold" else "reps"
    if short:
        side, n, t = short[0]
        where = "" if side == "both" else f" on the {side}"
        next_step = tr(f"Do {{count}} more {unit}{where}, or rest and try again").format(count=t - n)
    elif next_title:
        next_step = tr("Rest a moment. Next: {title}").format(title=next_title)
    else:
        next_step = tr("Rest now, and stop if anything hurts")
    faults = tuple(sorted(((text, n) for text, n in counted.values()), key=lambda kv: -kv[1]))
    return SetSummary(spec.title, reps, holds, faults, next_step)


# --- the set-up screen's card ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SetupCard:
    """What the set-up screen shows of a spec, in the active language; pictures as (caption, RGB)."""

    title: str
    instructions: str
    camera: str
    pictures: tuple[tuple[str, np.ndarray], ...] = ()
