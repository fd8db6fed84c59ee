"""Which catalogue exercise a stream of poses most likely shows (``--exercise auto``).

Pure: poses and specs in, a named guess with a confidence out. The clip's posture narrows the
catalogue to the specs done in it; each of those is run on the same poses (no second model run),
and the one whose driver shows the clearest movement wins: a large swing for that spec's range,
smooth against the frame-to-frame noise, in the posture, seen. Not the one that counts most: a
noisy driver of the wrong exercise can count many small "reps".
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from formcheck.evaluator import ExerciseEvaluator
from formcheck.features import FeatureExtractor
from formcheck.posture import POSTURES, ClassifiedOnce, PostureGuess, PostureTracker, classify_pose
from formcheck.report import SessionReport
from formcheck.spec import ExerciseSpec
from formcheck.types import FeatureKey, PoseSample

CANDIDATE_POSTURE_MIN = 0.2  # a posture this likely for the clip brings its exercises in as well
ANY_POSTURE_WEIGHT = 0.25  # a spec done in any posture is a weaker candidate than a matching one
SMOOTH_S = 0.4  # a movement is what is left after smoothing over this long; the rest is noise
NOISE_WEIGHT = 4.0
MIN_SEEN = 0.3  # a driver seen in less of the clip says nothing
NO_REP_FACTOR = 0.7  # a driver that never made a rep is a little less clear
# side-on the model often echoes the working leg on the far one, so legs moving together only
# halves a one-sided exercise's clarity rather than ruling it out
TOGETHER_WEIGHT = 0.5
WRONG_VIEW_FACTOR = 0.6  # a spec whose camera view the clip does not have measures its driver worse
# A movement showing, on every rep, a fault whose absence defines the exercise (``defines_exercise``:
# a clamshell with the feet apart) is at most half as likely that exercise: a side-lying leg raise
# lifts a clamshell's thigh as clearly as a clamshell opens it.
DEFINING_FAULT_WEIGHT = 0.5
KEEP_FPS = 10.0  # poses kept for a later suggestion: this rate ...
KEEP_S = 180.0  # ... for the first three minutes (memory stays flat on long sessions)


@dataclass(frozen=True)
class Candidate:
    """One exercise tried on the clip: how clear its driver's movement was, and what it counted."""

    exercise: str
    title: str
    clarity: float
    reps: int


@dataclass(frozen=True)
class Recognition:
    """The likely exercise (None when nothing fits), its confidence 0..1, and what was tried."""

    exercise: str | None
    title: str
    confidence: float
    posture: PostureGuess
    candidates: tuple[Candidate, ...]


def _fill(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    idx = np.arange(len(x))
    return np.interp(idx, idx[ok], x[ok])


def _moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 1 or len(x) < n:
        return x
    pad = np.pad(x, (n // 2, n - 1 - n // 2), mode="edge")
    return np.convolve(pad, np.ones(n) / n, mode="valid")


def series_clarity(t_s: np.ndarray, x: np.ndarray, rom_ref: float) -> float:
    """0..1: how clearly one driver series moves (against ``rom_ref``, the spec's smallest rep)."""
    x = np.asarray(x, float)
    seen = float(np.isfinite(x).mean()) if len(x) else 0.0
    if seen < MIN_SEEN or len(x) < 4:
        return 0.0
    x = _fill(x)
    dt = float(np.median(np.diff(t_s))) if len(t_s) > 1 else 0.1
    smooth = _moving_mean(x, max(1, int(round(SMOOTH_S / max(dt, 1e-3)))))
    amp = float(np.percentile(smooth, 95) - np.percentile(smooth, 5))
    noise = float(np.std(x - smooth))
    if amp <= 0:
        return 0.0
    return seen * float(np.tanh(amp / rom_ref)) * amp / (amp + NOISE_WEIGHT * noise)


def together(a: np.ndarray, b: np.ndarray) -> float:
    """0..1: how much two sides' series move together (1: as one, 0: independently or in turn)."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 4 or np.std(a[ok]) < 1e-9 or np.std(b[ok]) < 1e-9:
        return 0.0
    return max(0.0, float(np.corrcoef(a[ok], b[ok])[0, 1]))


def _sided_driver(poses: Sequence[PoseSample], spec: ExerciseSpec,
                  classify: Callable[[PoseSample], PostureGuess] = classify_pose) -> list[np.ndarray]:
    """A both-legs driver (the mean of the sides) measured on each side on its own."""
    fs = spec.features[spec.rep.driver]
    if fs.side != "both":
        return []
    probe = spec.model_copy(update={"features": {spec.rep.driver: fs.model_copy(update={"side": "working"})}})
    fx = FeatureExtractor(probe, classify)
    frames = [fx.update(p).values for p in poses]
    return [np.array([f.get(str(FeatureKey(spec.rep.driver, s)), np.nan) for f in frames]) for s in ("left", "right")]


def driver_clarity(report: SessionReport, spec: ExerciseSpec, view_mismatch: bool = False,
                   both_sides: Sequence[np.ndarray] = ()) -> float:
    """The clearest movement of the spec's driver over the sides, in the spec's posture.

    A one-sided exercise moves one leg at a time: when its two sides' drivers move together
    (both knees bending in a squat) that is not the exercise, however clear the movement; and
    a both-legs exercise whose legs move in turn (marching) is not that one. ``both_sides``:
    a both-legs driver measured on each side.
    """
    series = report.series
    if series is None or not len(series.t_s):
        return 0.0
    driver = spec.rep.driver
    keys = [k for k in series.values if FeatureKey.parse(k).name == driver]
    best = max((series_clarity(series.t_s, series.values[k], spec.rep.min_rom_deg) for k in keys), default=0.0)
    sides = [series.values[k] for k in (str(FeatureKey(driver, s)) for s in ("left", "right")) if k in series.values]
    if spec.sides == "per_side" and len(sides) == 2:
        best *= 1.0 - TOGETHER_WEIGHT * together(*sides)
    elif spec.sides != "per_side" and len(both_sides) == 2:
        best *= 1.0 - TOGETHER_WEIGHT * (1.0 - together(*both_sides))
    in_posture = 1.0 - float(report.quality.get("posture_mismatch_fraction", 0.0))
    unlike = 1.0 - DEFINING_FAULT_WEIGHT * _share_breaking_the_definition(report, spec)
    return (best * in_posture * unlike * (1.0 if report.reps else NO_REP_FACTOR)
            * (WRONG_VIEW_FACTOR if view_mismatch else 1.0))


def _share_breaking_the_definition(report: SessionReport, spec: ExerciseSpec) -> float:
    """The share of the reps that showed a fault whose absence defines the exercise."""
    defining = {f.id for f in spec.faults if f.defines_exercise}
    if not defining or not report.reps:
        return 0.0
    return sum(any(f.id in defining for f in r.faults) for r in report.reps) / len(report.reps)


def _weights(posture: PostureGuess, specs: Sequence[ExerciseSpec]) -> dict[str, float]:
    """How likely each spec's posture is for the clip (0 for postures it is surely not in)."""
    out = {}
    for spec in specs:
        if spec.posture == "any":
            out[spec.id] = ANY_POSTURE_WEIGHT
            continue
        w = posture.score(spec.posture)
        if spec.posture == posture.posture or w >= CANDIDATE_POSTURE_MIN:
            out[spec.id] = w
    return out


def recognise(poses: Sequence[PoseSample], specs: Iterable[ExerciseSpec]) -> Recognition:
    """The catalogue exercise the poses most likely show, with its confidence."""
    specs = list(specs)
    classify = ClassifiedOnce()  # every spec's evaluator sees the same poses: classify each once
    tracker = PostureTracker(classify=classify)
    for pose in poses:
        tracker.update(pose)
    posture = tracker.overall()
    if posture.posture not in POSTURES and not posture.scores:
        return Recognition(None, "", 0.0, posture, ())
    weights = _weights(posture, specs)
    tried = []
    for spec in specs:
        if spec.id not in weights:
            continue
        ev = ExerciseEvaluator(spec, classify_posture=classify)
        for pose in poses:
            ev.update(pose)
        report = ev.finish()
        clarity = driver_clarity(report, spec, view_mismatch=ev.view_mismatch, both_sides=_sided_driver(poses, spec, classify))
        tried.append((weights[spec.id] * clarity, spec, report.summary()["reps_total"]))
    tried.sort(key=lambda c: -c[0])
    candidates = tuple(Candidate(s.id, s.title, round(c, 3), n) for c, s, n in tried)
    total = sum(c for c, _, _ in tried)
    if not tried or total <= 0:
        return Recognition(None, "", 0.0, posture, candidates)
    score, spec, _ = tried[0]
    # sure of the posture and of this exercise among that posture's
    share = score / total
    confidence = (1.0 if spec.posture == "any" else posture.score(spec.posture)) * share
    return Recognition(spec.id, spec.title, round(confidence, 2), posture, candidates)


class PoseKeeper:
    """Keeps a bounded sample of a session's poses (for a suggestion at the end)."""

    def __init__(self, max_fps: float = KEEP_FPS, max_s: float = KEEP_S):
        self._gap_ms = 1000.0 / max_fps
        self._max = int(max_fps * max_s)
        self._last_ms = -np.inf
        self.poses: deque[PoseSample] = deque()

    def update(self, pose: PoseSample) -> None:
        """Keep the pose if there is room and it is far enough after the last kept one."""
        if len(self.poses) >= self._max or pose.timestamp_ms - self._last_ms < self._gap_ms * 0.999:
            return
        self._last_ms = pose.timestamp_ms
        self.poses.append(pose)


def suggestion(report: SessionReport, spec: ExerciseSpec, recognition: Recognition) -> str | None:
    """A line for the summary when the given exercise counted nothing and another fits better."""
    if report.reps or recognition.exercise is None or recognition.exercise == spec.id:
        return None
    name = recognition.title.lower() if recognition.title else recognition.exercise
    article = "an" if name[:1] in "aeiou" else "a"
    return f"This looks like {article} {name}: try --exercise {recognition.exercise}"
