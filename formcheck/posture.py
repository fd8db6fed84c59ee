"""Which position the whole body is in, from one pose's skeleton, and a tracker that smooths it.

Pure numpy. The cues are principles, not values fitted to a clip:

- the trunk's inclination (image and 3D): upright for standing, sitting and kneeling, lying for
  the rest (a bridge top, ~55-60 deg, still leans toward lying, and its knees are up);
- which way the body's front faces: the nose is in front of the ears in every posture, and the
  chest's normal (trunk x the shoulders' left-right axis) agrees unless the labels are swapped:
  toward the ceiling is supine, toward the floor prone or on all fours;
- the shoulders' and hips' left-right axis vertical in 3D, or the shoulders stacked in the image
  across a lying trunk: side-lying;
- knees and wrists under the hips and shoulders with the trunk level: on all fours;
- thighs level with the trunk upright: sitting; a shin lying on the floor (level, the knee low)
  with the trunk upright: kneeling.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
import math

import numpy as np

from formcheck.skeleton import Landmark
from formcheck.types import PoseSample

L = Landmark
POSTURES = ("standing", "sitting", "kneeling", "supine", "prone", "side_lying", "quadruped")
UPRIGHT = ("standing", "sitting", "kneeling")
LYING = ("supine", "prone", "side_lying", "quadruped")
PLAIN_NAMES = {  # for sentences: "This looks like side-lying, not lying on your back"
    "standing": "standing",
    "sitting": "sitting",
    "kneeling": "kneeling",
    "supine": "lying on your back",
    "prone": "lying face down",
    "side_lying": "side-lying",
    "quadruped": "kneeling on all fours",
}
SEEN_MIN = 0.3  # landmarks below this visibility are not used (MediaPipe places hidden limbs loosely)
UPRIGHT_MID_DEG = 50.0  # trunk inclination halfway between upright (a squat leans ~45) and lying (a bridge top ~55-60)
_SOFT_DEG = 8.0
_UP = np.array([0.0, -1.0, 0.0])  # MediaPipe world landmarks: y points down
TRACKER_WINDOW_S = 2.0  # postures change rarely: judge on the last two seconds
SURE_AFTER_S = 1.0  # a posture seen for less than this is not yet sure (confidence scaled down)
UNCLEAR_SCORE = 0.1  # a frame where every posture scores low is unclear, not sure of the best
GUESS_MIN_CONFIDENCE = 0.4  # below this the tracker says "unknown" rather than name a posture
RULE_OUT_CONFIDENCE = 0.7  # the gate turns a frame away only on a posture this sure ...
PLAUSIBLE_SCORE = 0.1  # ... and only when the spec's posture scores below this
SUPPORT_SHARE = 0.5  # a posture is shown when it (with those alike it) holds most of the evidence


@dataclass(frozen=True)
class PostureCues:
    """The measurements a posture is judged from; NaN where the landmarks were not seen."""

    trunk_incline_deg: float  # 0 upright, 90 level (the larger of the image and 3D readings)
    lateral_vertical: float  # 0..1, how vertical the body's left-right axis is (side-lying ~1)
    front_up: float  # -1..1, the body's front toward the ceiling (+) or the floor (-)
    chest_vertical: float  # 0..1, how vertical the chest's normal is (lying on the back or front ~1)
    knees_below_hips: float  # the lower knee under the hips, in thigh lengths (all fours ~1, prone ~0)
    wrists_below_shoulders: float  # the lower wrist under the shoulders, in arm lengths
    thighs_level: float  # 0..1, the less level of the seen thighs, 1 = both level (sitting)
    standing_leg: float  # 0..1, a leg straight down under the hips: thigh and shin pointing down
    knee_down: float  # 0..1, a leg on its knee: thigh pointing down, shin level, knee on the floor


@dataclass(frozen=True)
class PostureGuess:
    """A posture with a confidence in 0..1; ``posture`` is "unknown" when nothing is clear."""

    posture: str
    confidence: float
    scores: tuple[tuple[str, float], ...] = ()

    def score(self, posture: str) -> float:
        """This guess's score for one posture (0 if it was not scored)."""
        return dict(self.scores).get(posture, 0.0)


UNKNOWN = PostureGuess("unknown", 0.0)


# Scalar maths on tiny vectors: numpy's per-call overhead was most of the engine's time per frame.
def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-min(max(float(x), -30.0), 30.0)))


def _norm(v: np.ndarray) -> float:
    """The length of a 2- or 3-vector; NaN if any part is NaN."""
    return math.hypot(*v.tolist())


def _nanmax(xs) -> float:
    finite = [x for x in xs if math.isfinite(x)]
    return max(finite) if finite else math.nan


def _nanmedian2(xs) -> float:
    """The median of two readings, ignoring a NaN one (as ``np.nanmedian``)."""
    finite = [x for x in xs if math.isfinite(x)]
    return (finite[0] + finite[1]) / 2 if len(finite) == 2 else (finite[0] if finite else math.nan)


def _unit(v: np.ndarray) -> np.ndarray:
    n = _norm(v)
    return v / n if math.isfinite(n) and n > 1e-9 else np.full_like(v, np.nan)


def _mid(pts: np.ndarray, a: Landmark, b: Landmark) -> np.ndarray:
    pa, pb = pts[a], pts[b]
    if not math.isfinite(pa.sum()):
        return pb
    if not math.isfinite(pb.sum()):
        return pa
    return (pa + pb) / 2


def _incline_deg(v: np.ndarray, up: np.ndarray) -> float:
    u = _unit(v)
    d = float(np.dot(u, up))
    return math.degrees(math.acos(min(max(d, -1.0), 1.0))) if math.isfinite(d) else np.nan


_FEET = [L[f"{sd}_{p}"] for sd in ("LEFT", "RIGHT") for p in ("ANKLE", "HEEL", "FOOT_INDEX", "KNEE")]


def cues(pose: PoseSample) -> PostureCues:
    """The posture cues of one pose (image pixels, y down; world metres, y down)."""
    seen = pose.visibility >= SEEN_MIN
    w = np.where(seen[:, None], np.asarray(pose.world_xyz_m, float), np.nan)
    img = np.where(seen[:, None], np.asarray(pose.image_xyz_px, float)[:, :2], np.nan)
    sh, hip = _mid(w, L.LEFT_SHOULDER, L.RIGHT_SHOULDER), _mid(w, L.LEFT_HIP, L.RIGHT_HIP)
    trunk = sh - hip
    inc3 = _incline_deg(trunk, _UP)
    trunk2 = _mid(img, L.LEFT_SHOULDER, L.RIGHT_SHOULDER) - _mid(img, L.LEFT_HIP, L.RIGHT_HIP)
    inc2 = _incline_deg(trunk2, _UP[:2])
    # seen end-on a lying trunk looks upright in the image, and MediaPipe's depth is loose: a
    # level reading from either space is the stronger evidence
    incline = _nanmax([inc2, inc3])

    lateral = (w[L.RIGHT_SHOULDER] - w[L.LEFT_SHOULDER]) + (w[L.RIGHT_HIP] - w[L.LEFT_HIP])
    lat_u = _unit(lateral)
    lat3 = abs(float(lat_u[1])) if math.isfinite(lat_u.sum()) else np.nan
    # in the image: shoulders stacked one above the other across a lying trunk
    sh2 = img[L.RIGHT_SHOULDER] - img[L.LEFT_SHOULDER]
    torso2 = _norm(trunk2)
    lat2 = abs(float(sh2[1])) / torso2 if math.isfinite(sh2.sum()) and torso2 > 1e-6 else np.nan
    lat2 = min(lat2, 1.0) if math.isfinite(lat2) else np.nan
    # the image is the fallback only: from a raised camera a level left-right axis also looks stacked
    lateral_vertical = lat3 if math.isfinite(lat3) else lat2

    front_up, chest_up = _front_up(w, trunk, lateral)
    if not math.isfinite(front_up):
        # no 3D estimate: the face in the image (y down), as the camera sees up
        face2 = img[L.NOSE] - _mid(img, L.LEFT_EAR, L.RIGHT_EAR)
        n2 = _norm(face2)
        front_up = float(-face2[1] / n2) if math.isfinite(n2) and n2 > 1e-6 else np.nan

    thigh = [_norm(w[k] - w[h]) for h, k in ((L.LEFT_HIP, L.LEFT_KNEE), (L.RIGHT_HIP, L.RIGHT_KNEE))]
    thigh_m = _nanmedian2(thigh)
    knees_below = [float(w[k][1] - w[h][1]) for h, k in ((L.LEFT_HIP, L.LEFT_KNEE), (L.RIGHT_HIP, L.RIGHT_KNEE))]
    knees_below_max = _nanmax(knees_below)
    knees_below_hips = knees_below_max / thigh_m if math.isfinite(knees_below_max) and thigh_m > 1e-6 else np.nan
    arm = [_norm(w[e] - w[s]) + _norm(w[r] - w[e])
           for s, e, r in ((L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST), (L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST))]
    arm_m = _nanmedian2(arm)
    wrists_below = [float(w[r][1] - w[s][1]) for s, r in ((L.LEFT_SHOULDER, L.LEFT_WRIST), (L.RIGHT_SHOULDER, L.RIGHT_WRIST))]
    wrists_below_max = _nanmax(wrists_below)
    wrists_below_shoulders = wrists_below_max / arm_m if math.isfinite(wrists_below_max) and arm_m > 1e-6 else np.nan

    levels, standing, on_knee = [], [], []
    floor_y = _nanmax(w[_FEET, 1].tolist())
    for side in ("LEFT", "RIGHT"):
        h, k, a = w[L[f"{side}_HIP"]], w[L[f"{side}_KNEE"]], w[L[f"{side}_ANKLE"]]
        thigh_len, shin_len = _norm(k - h), _norm(a - k)
        if not math.isfinite(thigh_len) or thigh_len < 1e-6:
            continue
        thigh_down = float(k[1] - h[1]) / thigh_len  # 1 = pointing straight down
        levels.append(1.0 - _sig((abs(thigh_down) - 0.45) / 0.1))
        if not math.isfinite(shin_len) or shin_len < 1e-6:
            continue
        shin_down = float(a[1] - k[1]) / shin_len
        thigh_under, shin_level = _sig((thigh_down - 0.55) / 0.1), 1.0 - _sig((abs(shin_down) - 0.45) / 0.1)
        standing.append(thigh_under * _sig((shin_down - 0.6) / 0.1))
        # the knee on the floor: MediaPipe's 3D floor is loose (a kneeling knee reads 0.1-0.6
        # thighs above the front heel), so this only strengthens a level shin under a thigh
        knee_low = _sig((0.4 - (floor_y - float(k[1])) / thigh_len) / 0.1) if math.isfinite(floor_y) else 0.5
        on_knee.append(thigh_under * shin_level * (0.3 + 0.7 * knee_low))
    return PostureCues(
        trunk_incline_deg=incline,
        lateral_vertical=lateral_vertical,
        front_up=front_up,
        chest_vertical=abs(chest_up) if math.isfinite(chest_up) else np.nan,
        knees_below_hips=knees_below_hips,
        wrists_below_shoulders=wrists_below_shoulders,
        thighs_level=float(min(levels)) if levels else np.nan,
        standing_leg=float(max(standing)) if standing else np.nan,
        knee_down=float(max(on_knee)) if on_knee else np.nan,
    )


def _front_up(w: np.ndarray, trunk: np.ndarray, lateral: np.ndarray) -> tuple[float, float]:
    """How much the body's front faces the ceiling (the face's direction, else the chest's
    normal), and the chest normal's own reading."""
    face = w[L.NOSE] - _mid(w, L.LEFT_EAR, L.RIGHT_EAR)
    face_u = _unit(face)
    (ax, ay, az), (bx, by, bz) = _unit(trunk).tolist(), _unit(lateral).tolist()
    chest = _unit(np.array([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx]))  # up x right = front
    face_up = float(np.dot(face_u, _UP))  # NaN when the face was not seen
    chest_up = float(np.dot(chest, _UP))
    if math.isfinite(face_up) and abs(face_up) > 0.3:
        # the face is the surer sign (left-right labels may be swapped); the chest says how much
        front = face_up if not math.isfinite(chest_up) else math.copysign(max(abs(face_up), abs(chest_up)), face_up)
    else:
        front = chest_up if math.isfinite(chest_up) else (face_up if math.isfinite(face_up) else np.nan)
    return front, chest_up


def _n(x: float, default: float = 0.5) -> float:
    return default if not math.isfinite(x) else x


def classify(c: PostureCues) -> PostureGuess:
    """Scores for each posture from the cues; confidence = the best one's share."""
    if not math.isfinite(c.trunk_incline_deg):
        return UNKNOWN
    trunk_up = _sig((UPRIGHT_MID_DEG - c.trunk_incline_deg) / _SOFT_DEG)
    # knees well above the hips only happen lying on the back (a bridge, knees bent up)
    knees_up = _sig((-_n(c.knees_below_hips, 0.0) - 0.3) / 0.1)
    level = _n(c.thighs_level)
    # legs out of view (framed head to thighs): standing or sitting, as far as the thighs say
    stand = c.standing_leg if math.isfinite(c.standing_leg) else 1.0 - level
    knee = _n(c.knee_down, 0.0)
    # a leg seen straight down under the hips is standing on it, however far the trunk leans (a hinge)
    upright = max(trunk_up * (1.0 - knees_up), _n(c.standing_leg, 0.0))
    lying = 1.0 - upright
    # side-lying: the left-right axis more vertical than the chest's normal (a comparison, so a
    # camera raised up to 45 deg, which tilts both, does not turn lying on the back into it)
    if math.isfinite(c.chest_vertical) and math.isfinite(c.lateral_vertical):
        side = _sig((c.lateral_vertical - c.chest_vertical) / 0.15)
    else:
        side = _sig((_n(c.lateral_vertical, 0.3) - 0.7) / 0.1)
    face_up = max(_sig(_n(c.front_up, 0.0) / 0.2), knees_up)
    hands_down = _sig((_n(c.wrists_below_shoulders, 0.0) - 0.5) / 0.12)
    on_all_fours = knee * hands_down
    along = _sig((0.35 - _n(c.knees_below_hips, 0.0)) / 0.1)
    scores = {
        "standing": upright * stand,
        "sitting": upright * (1 - stand) * level * (1 - knee),
        "kneeling": upright * (1 - stand) * knee,
        "supine": lying * (1 - side) * face_up,
        # lying face down, the thighs lie along the body (a plank too); a deep squat's are under it
        "prone": lying * (1 - side) * (1 - face_up) * (1 - on_all_fours) * along,
        "quadruped": lying * (1 - side) * (1 - face_up) * on_all_fours,
        "side_lying": lying * side,
    }
    total = sum(scores.values()) + UNCLEAR_SCORE
    if total <= UNCLEAR_SCORE + 1e-9:
        return UNKNOWN
    ranked = tuple(sorted(((k, v / total) for k, v in scores.items()), key=lambda kv: -kv[1]))
    return PostureGuess(ranked[0][0], ranked[0][1], ranked)


def classify_pose(pose: PoseSample) -> PostureGuess:
    """The posture of one pose; "unknown" when nobody was found."""
    return classify(cues(pose)) if pose.detected else UNKNOWN


class ClassifiedOnce:
    """``classify_pose`` that works each distinct pose out once.

    Recognition runs every candidate spec over the same poses; each evaluator smooths them into
    equal but new objects, so the memo is keyed by the landmarks' values, not by identity.
    """

    def __init__(self):
        self._seen: dict[bytes, PostureGuess] = {}

    def __call__(self, pose: PoseSample) -> PostureGuess:
        if not pose.detected:
            return UNKNOWN
        key = b"".join(np.ascontiguousarray(a, dtype=float).tobytes()
                       for a in (pose.image_xyz_px, pose.world_xyz_m, pose.visibility))
        guess = self._seen.get(key)
        if guess is None:
            guess = self._seen[key] = classify_pose(pose)
        return guess


def _ranked(mean: dict[str, float]) -> PostureGuess:
    ranked = tuple(sorted(mean.items(), key=lambda kv: -kv[1]))
    best, conf = ranked[0]
    return PostureGuess(best if conf >= GUESS_MIN_CONFIDENCE else "unknown", conf, ranked)


def alike(seen: str, posture: str, camera_level: bool = True, end_on: bool = False) -> bool:
    """Is ``seen`` the spec's ``posture``, or one the classifier cannot tell from it with this camera?

    The upright postures are not told apart (a squat passes through sitting; upright against
    lying is the trunk's business). ``camera_level=False`` (a spec filmed from high up) does not
    tell the lying postures apart either: a camera raised past 45 deg tilts the body's left-right
    and front-back axes past each other, so lying on the front looks like side-lying.
    ``end_on=True`` (a body lying or on all fours, filmed from behind or the head end) does not tell
    upright from lying: the trunk points at the camera, so the image shows no incline and the 3D
    landmarks little (on all fours from behind they read 40-60 deg).
    """
    if posture not in POSTURES or seen == posture:
        return True
    if seen not in POSTURES:
        return False
    if seen in UPRIGHT and posture in UPRIGHT:
        return True
    if end_on and (seen in UPRIGHT) != (posture in UPRIGHT):
        return True
    return not camera_level and seen in LYING and posture in LYING


def rules_out(guess: PostureGuess, posture: str, camera_level: bool = True, end_on: bool = False) -> bool:
    """Does ``guess`` say the body is surely not in ``posture`` (a spec's posture)?

    Only a sure guess of a posture not ``alike`` the spec's, with the spec's own scoring low.
    """
    if posture not in POSTURES or guess.posture not in POSTURES:
        return False
    if guess.confidence < RULE_OUT_CONFIDENCE or guess.score(posture) >= PLAUSIBLE_SCORE:
        return False
    return not alike(guess.posture, posture, camera_level, end_on)


def supports(guess: PostureGuess, posture: str, camera_level: bool = True, end_on: bool = False) -> bool:
    """Does ``guess`` name the spec's ``posture`` (with those ``alike`` it)?

    The positive evidence a posture gate needs where the guess is not sure enough to rule out:
    the alike postures hold most of the evidence, more than every other posture and the unclear
    share together (a tie between side-lying and standing is no evidence of standing).
    """
    if posture not in POSTURES:
        return True
    return sum(v for p, v in guess.scores if alike(p, posture, camera_level, end_on)) > SUPPORT_SHARE


def mean_guess(guesses) -> PostureGuess:
    """The posture of a stretch of frames (a rep): each posture's mean score over the frames that had one."""
    seen = [g for g in guesses if g.posture != "unknown"]
    if not seen:
        return UNKNOWN
    return _ranked({p: sum(g.score(p) for g in seen) / len(seen) for p in POSTURES})


def filmed_end_on(spec) -> bool:
    """A spec lying or on all fours whose camera faces the body (from behind, as the fire hydrant): the trunk points at it."""
    return spec.view == "front" and spec.posture in ("supine", "prone", "quadruped")


class PostureTracker:
    """Smooths per-frame posture scores over the last seconds: postures change rarely.

    ``guess`` is the posture now; ``overall()`` the one the whole stream was mostly in.
    """

    def __init__(self, window_s: float = TRACKER_WINDOW_S, classify: Callable[[PoseSample], PostureGuess] = classify_pose):
        self._window_ms = window_s * 1000
        self._classify = classify
        self._recent: deque[tuple[float, dict[str, float]]] = deque()
        self._totals = dict.fromkeys(POSTURES, 0.0)
        self._frames = 0
        self.guess = UNKNOWN
        self.frame = UNKNOWN  # the latest frame's own guess, not smoothed (a rep's frames are judged from these)

    def overall(self) -> PostureGuess:
        """The posture guessed from every frame seen so far."""
        if not self._frames:
            return UNKNOWN
        return _ranked({p: v / self._frames for p, v in self._totals.items()})

    def update(self, pose: PoseSample) -> PostureGuess:
        """Add one pose; return the posture guessed from the recent frames."""
        t = pose.timestamp_ms
        frame = self.frame = self._classify(pose)
        if frame.posture != "unknown":
            self._recent.append((t, dict(frame.scores)))
            self._frames += 1
            for p, v in frame.scores:
                self._totals[p] += v
        while self._recent and t - self._recent[0][0] > self._window_ms:
            self._recent.popleft()
        if not self._recent:
            self.guess = UNKNOWN
            return self.guess
        n = len(self._recent)
        # sure only after a second of evidence: a moment of an odd reading is not a posture
        sure = min(1.0, (self._recent[-1][0] - self._recent[0][0]) / (SURE_AFTER_S * 1000))
        self.guess = _ranked({p: sure * sum(s.get(p, 0.0) for _, s in self._recent) / n for p in POSTURES})
        return self.guess


def clip_posture(poses) -> PostureGuess:
    """The posture a whole stream of poses is mostly in."""
    tracker = PostureTracker()
    for pose in poses:
        tracker.update(pose)
    return tracker.overall()
