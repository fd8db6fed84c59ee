"""LimbSwapGuard: undoes the pose model's brief swaps of the knee and foot labels (or of the
elbow, wrist and hand labels, when it mirrors the upper body), by continuity.

Side-on, the model now and then calls the working leg's knee and foot by the other leg's names
for a sample or two, while the hips keep their labels (so the hip-depth swap tracker in
``features`` never sees it; a swap the hips share, in place or in depth, is left to it). Between neighbouring samples a knee or a foot travels a short way;
swapped, each label jumps across to the other leg. When the labels as given travel several times
further than the same points crossed over, and the labels had been plainly continuous for a
moment before (``TRUST_S``: just after the legs separate, the model's first labelling is as often
the one it then corrects), the labels are put back. A swap the model keeps up for longer than
``MAX_SWAP_S`` is its settled view, not a glitch: from then on its labels stand, and the
hip-depth tracker judges whole-leg swaps.

SupportFootCheck: a swap that lasts whole lifts (the far leg lifted under the near leg's labels),
judged once the set is over from where the resting foot stands (see below).
"""

from __future__ import annotations

import warnings

import numpy as np

from formcheck.skeleton import MIRROR_INDEX, NUM_LANDMARKS, Landmark
from formcheck.types import PoseSample

# the joints whose travel decides; the heel and toes go with the ankle
_LEFT_TRACKED = [Landmark.LEFT_KNEE, Landmark.LEFT_ANKLE]
_RIGHT_TRACKED = [Landmark.RIGHT_KNEE, Landmark.RIGHT_ANKLE]
_HIPS = [Landmark.LEFT_HIP, Landmark.RIGHT_HIP]
_SHOULDERS = [Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER]
_LEFT_LOWER = [Landmark[f"LEFT_{p}"] for p in ("KNEE", "ANKLE", "HEEL", "FOOT_INDEX")]
_RIGHT_LOWER = [Landmark[f"RIGHT_{p}"] for p in ("KNEE", "ANKLE", "HEEL", "FOOT_INDEX")]
# the arms: mirroring the upper body, the model puts each elbow, wrist and hand near the other arm's
# places, but draws the shoulders (near the middle) where a mirrored body would have them, not at the
# other shoulder's place: the forearms decide and go back; the hands go with the wrist
_ARM_TRACKED = ("ELBOW", "WRIST")
_ARM_PARTS = _ARM_TRACKED + ("PINKY", "INDEX", "THUMB")
_ORDER = np.arange(NUM_LANDMARKS)


def _swap_order(left: list[Landmark], right: list[Landmark]) -> np.ndarray:
    """Landmark order with ``left`` and ``right`` exchanged."""
    order = _ORDER.copy()
    order[left + right] = _ORDER[right + left]
    return order


_SWAPPED = _swap_order(_LEFT_LOWER, _RIGHT_LOWER)
# limb -> (left tracked, right tracked, order with the limb's labels exchanged)
_LIMBS = {
    "legs": (_LEFT_TRACKED, _RIGHT_TRACKED, _SWAPPED),
    "arms": ([Landmark[f"LEFT_{p}"] for p in _ARM_TRACKED], [Landmark[f"RIGHT_{p}"] for p in _ARM_TRACKED],
             _swap_order([Landmark[f"LEFT_{p}"] for p in _ARM_PARTS], [Landmark[f"RIGHT_{p}"] for p in _ARM_PARTS])),
}
# travel as labelled this many times the crossed travel: a swap. Continuous motion between
# neighbouring samples keeps each joint far nearer its own last place than the other leg's;
# legs together (crossing, or side by side at rest) give ratios near 1 and decide nothing.
SWAP_RATIO = 3.0
MAX_SWAP_S = 0.25  # the model's glitches last a sample or two (0.07-0.13 s); longer is its settled view
MAX_STEP_S = 0.2  # samples further apart than this are not neighbours: motion between them is unknown
TRUST_S = 0.1  # labels plainly continuous this long are the reference a jump is judged against


class LimbSwapGuard:
    """``update`` once per pose: the pose with a brief label swap of one pair of limbs undone.

    ``limb``: "legs" (knees and feet; a swap the hips share is the hip-depth tracker's) or "arms"
    (elbows, wrists and hands: nothing else judges them, so any brief swap is put back). For the
    arms, a sample whose forearms ``ArmMergeGuard`` hid says nothing of the labels and is passed over.
    """

    def __init__(self, limb: str = "legs") -> None:
        if limb not in _LIMBS:
            raise ValueError(f"unknown limb {limb!r}; valid: {', '.join(_LIMBS)}")
        self._left, self._right, self._swapped = _LIMBS[limb]
        self._check_hips = limb == "legs"
        self._hide_keeps = limb == "arms"
        self._skipping = False  # samples passed over since the last output remembered
        self._last: np.ndarray | None = None  # the previous output's tracked points, (2 sides, joints, 2)
        self._last_hips: np.ndarray | None = None  # the previous hips, x y and depth, (2, 3)
        self._last_ms = -np.inf
        self._clear_since_ms: float | None = None  # the outputs have been plainly continuous since then
        self._swapped_since_ms: float | None = None
        self.undone = 0  # samples put back, for the curious

    def update(self, pose: PoseSample) -> PoseSample:
        """The pose with left and right limbs swapped back when the model swapped them briefly."""
        t = pose.timestamp_ms
        points = np.stack([pose.image_xyz_px[self._left, :2], pose.image_xyz_px[self._right, :2]])
        hips, last_hips = pose.image_xyz_px[_HIPS], self._last_hips
        self._last_hips = hips
        if not np.isfinite(points).all() and self._hide_keeps:
            self._skipping = True  # hidden for a moment (ArmMergeGuard): no word on the labels, the last output stands
            return pose
        # while samples are passed over, the last output is as old as they are (as in LegMergeGuard)
        reach_ms = (MAX_STEP_S + (MAX_MERGE_S if self._skipping else 0)) * 1000
        if not np.isfinite(points).all() or t - self._last_ms > reach_ms or self._last is None:
            self._remember(points, t, clear=False)
            return pose
        kept, crossed = kept_and_crossed_px(points, self._last)
        # the hips swapped too: the whole leg's labels, the hip-depth tracker's to judge
        hips_kept = True
        if self._check_hips and last_hips is not None and np.isfinite([hips, last_hips]).all():
            hips_moved, hips_crossed = kept_and_crossed_px(hips, last_hips)
            hips_kept = hips_moved <= hips_crossed
        glitch = self._swapped_since_ms is None or t - self._swapped_since_ms <= MAX_SWAP_S * 1000
        trusted = self._clear_since_ms is not None and self._last_ms - self._clear_since_ms >= TRUST_S * 1000
        if trusted and kept > SWAP_RATIO * crossed and glitch and hips_kept:
            self._swapped_since_ms = t if self._swapped_since_ms is None else self._swapped_since_ms
            self.undone += 1
            self._remember(points[::-1], t, clear=True)
            order = self._swapped
            return PoseSample(t, pose.image_xyz_px[order], pose.world_xyz_m[order], pose.visibility[order],
                              pose.frame_size_px)
        if kept <= SWAP_RATIO * crossed:
            self._swapped_since_ms = None  # the model's labels agree with the last output again
        self._remember(points, t, clear=crossed > SWAP_RATIO * kept)
        return pose

    def _remember(self, points: np.ndarray, t_ms: float, clear: bool) -> None:
        """The output's tracked points; ``clear``: plainly continuous with the previous output."""
        if not clear:
            self._clear_since_ms = None
        elif self._clear_since_ms is None:
            self._clear_since_ms = self._last_ms  # continuous from the previous sample on
        self._last, self._last_ms = points, t_ms
        self._skipping = False


def kept_and_crossed_px(points: np.ndarray, last: np.ndarray) -> tuple[float, float]:
    """How far a left-right pair of point sets (2, ...) travelled from ``last``, pixels: as
    labelled, and with the two sides' labels exchanged (a swap travels far as labelled)."""
    return (float(np.linalg.norm(points - last, axis=-1).sum()),
            float(np.linalg.norm(points[::-1] - last, axis=-1).sum()))


# --- the whole body mirrored ------------------------------------------------------------------
# Facing the camera (or half turned), the model now and then mirrors the body for a few samples: it
# takes the person to face away, and the left labels trade places with the right ones at once. A
# person cannot turn round that fast: turning, the line across the shoulders shortens and lengthens
# again reversed over many samples. So a shoulder line that reverses, long, faster than a body turns
# (TURN_MAX_PER_S), its two points staying where they were with their labels exchanged (SWAP_RATIO:
# a cut in an edited video moves them), is the model's mirror: the upper body's labels go back until
# the model's own line runs along the direction again. The legs, hips included, often go over with
# it, but not always (a blended hip, legs left as they were): they go back when, as labelled, they
# travelled further from the last output than crossed over. The direction is the body's own,
# settled: a line that kept its way for SETTLE_S with the hips running the same way (a mirror does
# not last that long); it is dropped after MIRROR_JUMP_S without a clear sample (maybe a turn).
FACING_MIN = 0.5  # shoulder width / torso length at least this to judge (rendered: side-on 0.02-0.4, facing 0.5-1.4)
ACROSS_CLEAR = 0.5  # the shoulder line along the direction, in its usual lengths: clear either way
# the shoulder line's reading along its direction, in usual lengths, changes at most at the turning
# speed (rad/s) about the body's axis: a quick pivot, 360 deg/s, is 6 per second; a mirror, 20-30
TURN_MAX_PER_S = 10.0
MIRROR_JUMP_S = 0.25  # no clear sample for this long: the direction is dropped (the body may be turning)
SETTLE_S = 0.5  # a new direction is taken from a line that kept its way this long
MAX_MIRROR_S = 1.0  # a mirror kept up longer is the model's settled view, and stands
_ACROSS_MEMORY = 0.9  # the usual shoulder width follows the body slowly
_LOWER_LEFT = [Landmark.LEFT_HIP] + _LEFT_LOWER
_LOWER_RIGHT = [Landmark.RIGHT_HIP] + _RIGHT_LOWER
_UPPER_MIRRORED = np.where(np.isin(_ORDER, _LOWER_LEFT + _LOWER_RIGHT), _ORDER, MIRROR_INDEX)
_LOWER_TRACKED = [Landmark.LEFT_HIP] + _LEFT_TRACKED + [Landmark.RIGHT_HIP] + _RIGHT_TRACKED


def _lower_points(image_xyz_px: np.ndarray) -> np.ndarray:
    """The hips, knees and ankles in the image, left and right: (2 sides, 3 joints, 2)."""
    return image_xyz_px[_LOWER_TRACKED, :2].reshape(2, -1, 2)


class BodyMirrorGuard:
    """``update`` once per pose: the pose with the body's labels put back when the model mirrored it."""

    def __init__(self) -> None:
        self._ref: np.ndarray | None = None  # the body's shoulder line direction (left to right label), unit
        self._usual_px = np.nan  # its usual length
        self._agreed_ms = -np.inf  # the last output whose shoulder line clearly ran along the direction
        # a direction on trial: its unit line, since when, its last sample, its usual length
        self._candidate: tuple[np.ndarray, float, float, float] | None = None
        self._mirrored_since_ms: float | None = None
        self._last_along: tuple[float, float] | None = None  # the model's last facing reading along the direction, and when
        self._last_shoulders: np.ndarray | None = None  # the last facing output's shoulder points, (2, 2)
        self._last_lower: tuple[np.ndarray, float] | None = None  # the last output's hips, knees and ankles
        self.undone = 0  # samples put back, for the curious

    def update(self, pose: PoseSample) -> PoseSample:
        """The pose, or with its labels mirrored back when the model mirrored the body for a moment."""
        out, facing = self._judged(pose)
        if facing:
            self._last_shoulders = out.image_xyz_px[_SHOULDERS, :2]
        lower = _lower_points(out.image_xyz_px)
        self._last_lower = (lower, out.timestamp_ms) if np.isfinite(lower).all() else None
        return out

    def _judged(self, pose: PoseSample) -> tuple[PoseSample, bool]:
        """The output pose, and whether its shoulder line could be read (the body facing the camera)."""
        t = pose.timestamp_ms
        xy = pose.image_xyz_px[:, :2]
        shoulders, hips = xy[_SHOULDERS[0]] - xy[_SHOULDERS[1]], xy[_HIPS[0]] - xy[_HIPS[1]]
        torso_px = float(np.linalg.norm(xy[_SHOULDERS].mean(axis=0) - xy[_HIPS].mean(axis=0)))
        width_px = float(np.linalg.norm(shoulders))
        if not (np.isfinite([width_px, torso_px]).all() and np.isfinite(hips).all() and torso_px > 0):
            return pose, False
        facing = width_px >= FACING_MIN * torso_px
        if self._ref is not None and t - self._agreed_ms > MIRROR_JUMP_S * 1000:
            self._take_direction(None, t)  # no clear sample for a while: maybe a turn
        if self._ref is None:
            self._settle(shoulders, hips, facing, t)
            return pose, facing
        along = float(np.dot(shoulders, self._ref)) / self._usual_px
        # against the last sample the line could be read from (a blended one between says nothing)
        last, last_points = self._last_along, self._last_shoulders
        if facing:
            self._last_along = (along, t)
        dt_ms = t - last[1] if last is not None else np.inf
        jumped = 0 < dt_ms <= MAX_STEP_S * 1000 and (last[0] - along) / dt_ms * 1000 > TURN_MAX_PER_S
        if jumped and last_points is not None:
            kept, crossed = kept_and_crossed_px(xy[_SHOULDERS], last_points)
            jumped = kept > SWAP_RATIO * crossed  # exchanged in place, not moved (a cut)
        if self._mirrored_since_ms is not None:
            if t - self._mirrored_since_ms > MAX_MIRROR_S * 1000:
                self._take_direction(shoulders / width_px, t)  # kept up this long: the model's view stands
                return pose, facing
            if along > ACROSS_CLEAR:
                self._mirrored_since_ms = None  # the model's labels run along again
            else:
                return self._mirrored(pose, facing and -along > ACROSS_CLEAR, -shoulders), facing
        elif facing and along < -ACROSS_CLEAR and jumped:
            self._mirrored_since_ms = t
            return self._mirrored(pose, True, -shoulders), facing
        if facing and along > ACROSS_CLEAR:
            self._agree(shoulders, t)
        return pose, facing

    def _mirrored(self, pose: PoseSample, clear: bool, shoulders: np.ndarray) -> PoseSample:
        """The pose with the upper body's labels mirrored back, and the legs' if they went over too."""
        t = pose.timestamp_ms
        self.undone += 1
        if clear:
            self._agree(shoulders, t)
        order = _UPPER_MIRRORED
        lower = _lower_points(pose.image_xyz_px)
        if self._last_lower is not None and t - self._last_lower[1] <= MAX_STEP_S * 1000 and np.isfinite(lower).all():
            kept, crossed = kept_and_crossed_px(lower, self._last_lower[0])
            if crossed < kept:
                order = MIRROR_INDEX
        return PoseSample(t, pose.image_xyz_px[order], pose.world_xyz_m[order], pose.visibility[order],
                          pose.frame_size_px)

    def _agree(self, shoulders: np.ndarray, t_ms: float) -> None:
        """An output's shoulder line, clearly along the direction: the direction follows it."""
        width = float(np.linalg.norm(shoulders))
        self._usual_px = _ACROSS_MEMORY * self._usual_px + (1 - _ACROSS_MEMORY) * width
        self._ref, self._agreed_ms = shoulders / width, t_ms

    def _settle(self, shoulders: np.ndarray, hips: np.ndarray, facing: bool, t_ms: float) -> None:
        """Without a direction: try the line until it has kept its way, hips along, for SETTLE_S."""
        if not facing:
            return
        width = float(np.linalg.norm(shoulders))
        unit = shoulders / width
        along_hips = float(np.dot(hips, shoulders)) > 0
        kept = (self._candidate is not None and float(np.dot(unit, self._candidate[0])) > ACROSS_CLEAR
                and t_ms - self._candidate[2] <= MIRROR_JUMP_S * 1000)
        if not (along_hips and kept):
            self._candidate = (unit, t_ms, t_ms, width) if along_hips else None
            return
        _, since, _, usual = self._candidate
        usual = _ACROSS_MEMORY * usual + (1 - _ACROSS_MEMORY) * width
        self._candidate = (unit, since, t_ms, usual)
        if t_ms - since >= SETTLE_S * 1000:
            self._usual_px, self._candidate = usual, None
            self._take_direction(unit, t_ms)

    def _take_direction(self, unit: np.ndarray | None, t_ms: float) -> None:
        """A new direction (None: none until one settles): readings along the old one say nothing of it."""
        self._ref, self._agreed_ms = unit, t_ms
        self._mirrored_since_ms, self._last_along = None, None


# --- which physical leg did a one-leg set -----------------------------------------------------
# Side-on, the model can give the lifted far leg the near leg's labels for whole lifts, settled
# and continuous, so no per-frame check sees it: the labels stand, and the set is reported on the
# wrong side. The leg that stays put tells. Its foot keeps its place on the floor (or mat, or bed)
# while the other leg works; at rest between lifts the model labels both feet where they are (the
# legs are apart and still, and the hip-depth tracker keeps those labels to the body's handedness).
# If, at a lift's peak, the foot labelled as the resting leg stands where the working leg's foot
# rested, the labels went over with the lifted leg: the physical working leg is the other one.
_FEET = {side: [Landmark[f"{side.upper()}_{p}"] for p in ("ANKLE", "HEEL", "FOOT_INDEX")] for side in ("left", "right")}
REST_S = 1.0  # rest frames this long before a lift's start and after its end place each foot
MIN_FRAMES = 2  # of rest and of peak, for a rep to give evidence
# the two feet must rest this far apart (torso lengths, per point) to tell their places apart:
# the model's feet jitter by a few hundredths of a torso at rest
FEET_APART_MIN = 0.1
# ... and further apart than the feet wobble at rest, several times over: a foot that never settles
# (a working foot kept hovering between reps, or labels trading places at rest) has no rest place,
# so where the other foot stands says nothing (real clips whose feet do settle: 2-7 times; rendered: 6-70)
PLACES_APART_WOBBLES = 3.0
CLEARLY_NEARER = 2.0  # the resting leg's foot is this many times nearer one rest place than the other: evidence


def other_side(side: str) -> str:
    """The other leg's side name."""
    return "right" if side == "left" else "left"


class SupportFootCheck:
    """``update`` once per pose (as the model gave it); ``swapped(reps)``: did a one-leg set's labels
    follow the lifted leg over, so that the other label is the leg that really worked?"""

    def __init__(self) -> None:
        self._t_ms: list[float] = []
        self._feet: list[np.ndarray] = []  # per pose: (2 legs [left, right], 3 points, 2) image px
        self._torso_px: list[float] = []

    def update(self, pose: PoseSample, legs_swapped: bool = False) -> None:
        """Remember where the pose puts each foot (nothing for a pose without a person).

        ``legs_swapped``: the features read the legs the other way round (their hip-depth tracker),
        so the reps' sides are in those labels and the feet are kept in them too.
        """
        if not pose.detected:
            return
        xy = pose.image_xyz_px[:, :2]
        self._t_ms.append(pose.timestamp_ms)
        feet = np.stack([xy[_FEET["left"]], xy[_FEET["right"]]])
        self._feet.append(feet[::-1] if legs_swapped else feet)
        trunk = (xy[Landmark.LEFT_SHOULDER] + xy[Landmark.RIGHT_SHOULDER] - xy[Landmark.LEFT_HIP] - xy[Landmark.RIGHT_HIP]) / 2
        self._torso_px.append(float(np.linalg.norm(trunk)))

    def votes(self, reps: list) -> list[int]:
        """Per rep: +1 the labels went over with the lifted leg, -1 they stayed, 0 no clear evidence."""
        if not self._t_ms:
            return [0] * len(reps)
        t = np.array(self._t_ms)
        feet = np.array(self._feet)
        torso = float(np.nanmedian(self._torso_px))
        inside = np.zeros(len(t), bool)
        for r in reps:
            inside |= (t >= r.start_ms) & (t <= r.end_ms)
        out = []
        for r in reps:
            work = 0 if r.side == "left" else 1
            rest = ~inside & (((t >= r.start_ms - REST_S * 1000) & (t < r.start_ms)) | ((t > r.end_ms) & (t <= r.end_ms + REST_S * 1000)))
            quarter = (r.end_ms - r.start_ms) / 4
            peak = (t >= r.peak_ms - quarter) & (t <= r.peak_ms + quarter)
            out.append(_vote(feet[rest], feet[peak], work, torso) if r.side in ("left", "right") else 0)
        return out

    def sides(self, reps: list) -> list[str]:
        """Each rep's physical side: where the resting foot clearly says the labels went over with the
        lifted leg, the other label's side; else the label's, as the model gave it.

        A rep without clear evidence goes the way the clear reps of its label went (one label, one
        leg, within a set), and a lone dissent among three or more clear reps of a label is noise
        (a one-leg set is one side). Ties keep the model's labels.
        """
        votes = self.votes(reps)
        out = []
        for rep, vote in zip(reps, votes):
            mine = [v for r, v in zip(reps, votes) if r.side == rep.side and v != 0]
            over, stayed = mine.count(1), mine.count(-1)
            if len(mine) >= 3 and min(over, stayed) == 1:
                vote = 1 if over > stayed else -1  # the one dissent is the outlier
            elif vote == 0:
                vote = 1 if over > stayed else -1
            out.append(other_side(rep.side) if vote == 1 and rep.side in ("left", "right") else rep.side)
        return out


def _vote(rest: np.ndarray, peak: np.ndarray, work: int, torso_px: float) -> int:
    """+1 / -1 / 0 for one rep from its rest and peak frames' feet (frames, 2 legs, 3 points, 2)."""
    if len(rest) < MIN_FRAMES or len(peak) < MIN_FRAMES or not np.isfinite(torso_px) or torso_px <= 0:
        return 0
    with warnings.catch_warnings():  # a point never seen is NaN here, and no evidence below
        warnings.simplefilter("ignore", RuntimeWarning)
        rest_at = np.nanmedian(rest, axis=0) / torso_px  # (2 legs, 3 points, 2)
        support_at_peak = np.nanmedian(peak[:, 1 - work], axis=0) / torso_px
        wobble = np.nanmedian(np.linalg.norm(rest / torso_px - rest_at, axis=-1), axis=0)  # (2 legs, 3 points)
        apart = float(np.nanmean(np.linalg.norm(rest_at[0] - rest_at[1], axis=-1)))
        wobble_max = float(np.nanmax(np.nanmean(wobble, axis=-1)))
        to_own = float(np.nanmean(np.linalg.norm(support_at_peak - rest_at[1 - work], axis=-1)))
        to_working = float(np.nanmean(np.linalg.norm(support_at_peak - rest_at[work], axis=-1)))
    if not np.isfinite([apart, to_own, to_working, wobble_max]).all():
        return 0
    if apart < max(FEET_APART_MIN, PLACES_APART_WOBBLES * wobble_max):
        return 0
    if min(to_own, to_working) > apart / 2:
        return 0  # standing at neither rest place (the model misplaced it, or it moved): no evidence
    if to_working * CLEARLY_NEARER < to_own:
        return 1
    if to_own * CLEARLY_NEARER < to_working:
        return -1
    return 0


# --- both legs read at one place -----------------------------------------------------------------
# With one leg out (a bird dog's far leg reaching back with its knee bent), the model now and then
# puts both knees at one place between the two legs for a few samples, then back: it has lost which
# leg is where, and each leg's angles read half way to the other's (a held reach reads as dips toward
# rest, and its hold as short). A body cannot do it: between neighbouring samples both knees would
# jump a quarter of a thigh toward each other, the supporting one included. Such samples show neither
# leg: their lower legs are unseen (NaN), so no angle, no smoothing and no count takes them in.
_KNEES = [Landmark.LEFT_KNEE, Landmark.RIGHT_KNEE]
MERGE_JUMP_THIGHS = 0.25  # each knee jumped at least this far (thigh lengths) from its last place
MERGE_APART_THIGHS = 0.5  # the knees had been at least this far apart (one leg out) ...
MERGE_CLOSER = 0.5  # ... and came at least this much closer at once
MAX_MERGE_S = 0.5  # the model's merges last a few samples; longer is its settled view, which stands


class _MomentaryMergeGuard:
    """``update`` once per pose: the pose with ``HIDDEN`` points unseen while the model merges a pair for a moment.

    A subclass names the pair of points with their scale (``_pair``) and what a merge of them looks
    like against the last kept sample (``_merged``); a merge is hidden for at most MAX_MERGE_S.
    """

    HIDDEN: list[int] = []

    def __init__(self) -> None:
        self._last: tuple[np.ndarray, float] | None = None  # the last kept sample's pair (2, 2) and scale
        self._last_ms = -np.inf
        self._merged_since_ms: float | None = None
        self.hidden = 0  # samples hidden, for the curious

    def _pair(self, xy: np.ndarray) -> tuple[np.ndarray, float]:
        raise NotImplementedError

    def _merged(self, last: np.ndarray, last_scale: float, pair: np.ndarray, dt_ms: float) -> bool:
        raise NotImplementedError

    def update(self, pose: PoseSample) -> PoseSample:
        """The pose, or with the ``HIDDEN`` points set unseen if the model merged the pair."""
        t = pose.timestamp_ms
        xy = pose.image_xyz_px
        pair, scale = self._pair(xy)
        # while a merge lasts, the last kept sample is as old as the merge
        reach_ms = (MAX_STEP_S + (0 if self._merged_since_ms is None else MAX_MERGE_S)) * 1000
        if not np.isfinite(pair).all() or self._last is None or t - self._last_ms > reach_ms:
            self._keep(pair, scale, t)
            return pose
        last, last_scale = self._last
        merged = self._merged(last, last_scale, pair, t - self._last_ms)
        if merged and (self._merged_since_ms is None or t - self._merged_since_ms <= MAX_MERGE_S * 1000):
            self._merged_since_ms = t if self._merged_since_ms is None else self._merged_since_ms
            self.hidden += 1
            image, world = xy.copy(), pose.world_xyz_m.copy()
            image[self.HIDDEN] = np.nan
            world[self.HIDDEN] = np.nan
            return PoseSample(t, image, world, pose.visibility, pose.frame_size_px)
        self._keep(pair, scale, t)
        return pose

    def _keep(self, pair: np.ndarray, scale: float, t_ms: float) -> None:
        ok = np.isfinite(pair).all() and np.isfinite(scale) and scale > 0
        self._last = (pair, scale) if ok else None
        self._last_ms, self._merged_since_ms = t_ms, None


class LegMergeGuard(_MomentaryMergeGuard):
    """``update`` once per pose: the pose with both lower legs unseen when the model merged the two legs for a moment."""

    HIDDEN = _LEFT_LOWER + _RIGHT_LOWER

    def _pair(self, xy: np.ndarray) -> tuple[np.ndarray, float]:
        knees = xy[_KNEES, :2]
        return knees, float(np.mean(np.linalg.norm(knees - xy[_HIPS, :2], axis=-1)))  # thigh length

    def _merged(self, last: np.ndarray, last_thigh: float, knees: np.ndarray, dt_ms: float) -> bool:
        apart_before = float(np.linalg.norm(last[0] - last[1]))
        return bool(apart_before >= MERGE_APART_THIGHS * last_thigh
                    and float(np.linalg.norm(knees[0] - knees[1])) <= MERGE_CLOSER * apart_before
                    and (np.linalg.norm(knees - last, axis=-1) >= MERGE_JUMP_THIGHS * last_thigh).all())


# --- both arms drawn in toward the middle ----------------------------------------------------------
# Now and then the model, unsure which way the upper body faces, draws both arms in toward the middle
# for a sample or two and then puts them back: the wrists' span shrinks by a quarter or more within
# a sample, faster than hands can close. Arms resting out to the sides cannot do it, and a line
# across the body from such a sample (the wrists') turns by tens of degrees; smoothed in, it drags
# the held line round for the next samples. Such samples show neither forearm: elbows, wrists and
# hands unseen (NaN), so the line last seen stands; for at most MAX_MERGE_S, longer is the model's view.
_WRISTS = [Landmark.LEFT_WRIST, Landmark.RIGHT_WRIST]
_FOREARMS = [Landmark[f"{s}_{p}"] for s in ("LEFT", "RIGHT") for p in ("ELBOW", "WRIST", "PINKY", "INDEX", "THUMB")]
ARMS_OUT_SHOULDERS = 1.5  # the wrists had been this many shoulder widths apart or more (arms out) ...
ARMS_CLOSER = 0.75  # ... came closer, losing at least a quarter of their span ...
# ... faster than hands can close: a clap from arms wide closes about 5 m/s, 13 shoulder widths a second
ARMS_CLOSING_MAX = 20.0  # shoulder widths per second


class ArmMergeGuard(_MomentaryMergeGuard):
    """``update`` once per pose: the pose with both forearms unseen when the model drew the arms in for a moment."""

    HIDDEN = _FOREARMS

    def _pair(self, xy: np.ndarray) -> tuple[np.ndarray, float]:
        return xy[_WRISTS, :2], float(np.linalg.norm(xy[_SHOULDERS[0], :2] - xy[_SHOULDERS[1], :2]))

    def _merged(self, last: np.ndarray, last_shoulder_px: float, wrists: np.ndarray, dt_ms: float) -> bool:
        apart_before = float(np.linalg.norm(last[0] - last[1]))
        apart = float(np.linalg.norm(wrists[0] - wrists[1]))
        closing = (apart_before - apart) / last_shoulder_px / max(dt_ms, 1.0) * 1000  # widths/s
        # the closing speed starts a merge; while it lasts, wrists still drawn in are part of it
        return (apart_before >= ARMS_OUT_SHOULDERS * last_shoulder_px and apart <= ARMS_CLOSER * apart_before
                and (closing > ARMS_CLOSING_MAX or self._merged_since_ms is not None))
