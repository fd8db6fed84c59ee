"""FeatureExtractor: a spec's named measurements from one pose, visibility-gated."""

from __future__ import annotations

import statistics

from collections import deque
from collections.abc import Callable

import numpy as np

from formcheck.geometry import segment_angle_3d_from_vertical_deg, segment_angle_from_vertical_deg
from formcheck.limbs import SWAP_RATIO, kept_and_crossed_px
from formcheck.measures import MEASURES, nanmean2 as _nanmean2
from formcheck.phases import MAX_GAP_S
from formcheck.posture import PostureGuess, PostureTracker, classify_pose, filmed_end_on, rules_out, supports
from formcheck.skeleton import SIDES, Landmark
from formcheck.spec import UPRIGHT_POSTURES, ExerciseSpec, FeatureSpec
from formcheck.types import FeatureFrame, FeatureKey, PoseSample

L = Landmark
VISIBILITY_MIN = 0.5  # below this MediaPipe is guessing: the landmark does not count as seen
# A one-sided exercise seen side-on is done half the time with the far leg, which the near leg
# hides: MediaPipe gives it visibility 0.2-0.5 while still placing it well (thigh within ~5 deg
# on rendered clips). Per-side measures accept it; anything below is out of frame or lost.
WORKING_SIDE_VISIBILITY_MIN = 0.2
UPRIGHT_MAX_INCLINE_DEG = 60.0  # trunk within 60 deg of vertical: standing (a squat leans ~45), sitting, kneeling
LYING_MIN_INCLINE_DEG = 45.0  # trunk beyond 45 deg: lying, all fours (a bridge top is ~55-60 deg)
KNEES_UP_M = 0.05  # knees this far above the hips (world y): lying on the back with knees bent
_FACING_MEMORY = 0.9  # the facing direction changes rarely; smooth its evidence over frames
_SWAP_MEMORY = 0.8  # a label swap lasts a while once the model makes it; a single frame does not flip it
# While the model's leg labels plainly stay on their legs in the image, it has not exchanged them
# (that shows as each label jumping over to the other leg): the hips' depth order flipping then is
# the depth's wobble (the model draws the hips' depths together while one leg is held up, ~0.1
# torso each way), so it changes the decision only once the evidence is this clear.
LABELS_KEPT_EVIDENCE = 0.5
ACROSS_MIN_LENGTH = 0.5  # a line across the body shorter than half its usual length is mid-swap
_ACROSS_MEMORY = 0.9  # the usual length of such a line follows the body slowly
SIDE_ON_MAX_RATIO = 0.6  # shoulder width / torso length below this: the camera sees the body side-on
_LEG_PARTS = ("HIP", "KNEE", "ANKLE", "HEEL", "FOOT_INDEX")
_LEFT_LEG = [Landmark[f"LEFT_{p}"] for p in _LEG_PARTS]
_RIGHT_LEG = [Landmark[f"RIGHT_{p}"] for p in _LEG_PARTS]
_LEGS_TRACKED = [Landmark.LEFT_KNEE, Landmark.LEFT_ANKLE, Landmark.RIGHT_KNEE, Landmark.RIGHT_ANKLE]


class FeatureExtractor:
    """Turns PoseSamples into the spec's named measurements (degrees, or torso lengths)."""

    def __init__(self, spec: ExerciseSpec, classify_posture: Callable[[PoseSample], PostureGuess] = classify_pose):
        self.spec = spec
        self._forget_the_body()
        self._last_legs: np.ndarray | None = None  # the model's knees and ankles last frame, (2 legs, 2, 2)
        self._last_seen_ms: float | None = None
        self._torso_px: deque[float] = deque(maxlen=90)
        self._across_held: set[tuple[str, str]] = set()  # lines seen since the person was last found
        self.posture = PostureTracker(classify=classify_posture)  # the whole body's posture, for the gate and the report
        # what the spec's camera lets the posture classifier tell apart (see posture.alike)
        self.posture_terms = {"camera_level": spec.view != "any", "end_on": filmed_end_on(spec)}
        # the tracker has named the spec's posture at some point: until then the gate has only
        # the absence of a sure other posture, which an ambiguous start (a second of "unknown")
        # also gives, so a rep needs its own frames to show the posture (see the evaluator)
        self.posture_established = False

    def _forget_the_body(self) -> None:
        """What is kept about how the body lies: which way it faces, which leg is near, the labels."""
        self._facing_evidence = 0.0
        self._swap_evidence = 0.0
        self.legs_swapped = False
        self._swap_clear = False  # the depth evidence has clearly agreed with the current decision
        self._near_evidence = 0.0
        self.near_side: str | None = None  # the leg nearer the camera, from how the body lies (side view)
        self._across: dict[tuple[str, str], tuple[np.ndarray, float]] = {}  # line -> (direction, usual length)

    # --- per-frame context -------------------------------------------------------------------
    def _points(self, pose: PoseSample, min_visibility: float = VISIBILITY_MIN) -> np.ndarray:
        pts = pose.image_xyz_px[:, :2].copy()
        pts[~(pose.visibility >= min_visibility)] = np.nan
        return pts

    @staticmethod
    def _gated(points: np.ndarray, visibility: np.ndarray, min_visibility: float) -> np.ndarray:
        out = points.copy()
        out[~(visibility >= min_visibility)] = np.nan
        return out

    def _update_facing(self, pts: np.ndarray, trunk_up: np.ndarray) -> np.ndarray:
        """Unit vector in the image pointing to the body's front (perpendicular to the trunk)."""
        perp = np.array([-trunk_up[1], trunk_up[0]])
        perp = perp / (np.linalg.norm(perp) or 1.0)
        ear = _nanmean2(pts[L.LEFT_EAR], pts[L.RIGHT_EAR])
        evidence = np.nan
        if np.isfinite(ear).all() and np.isfinite(pts[L.NOSE]).all():
            # the nose is in front of the ears in every posture: standing, lying, on all fours
            evidence = float(np.dot(pts[L.NOSE] - ear, perp)) / (np.linalg.norm(trunk_up) or 1.0)
        else:
            toe = _nanmean2(pts[L.LEFT_FOOT_INDEX], pts[L.RIGHT_FOOT_INDEX])
            heel = _nanmean2(pts[L.LEFT_HEEL], pts[L.RIGHT_HEEL])
            if np.isfinite(toe).all() and np.isfinite(heel).all():
                evidence = float(np.dot(toe - heel, perp)) / (np.linalg.norm(trunk_up) or 1.0)
        if np.isfinite(evidence):
            self._facing_evidence = _FACING_MEMORY * self._facing_evidence + (1 - _FACING_MEMORY) * np.clip(
                evidence, -1, 1
            )
        return perp if self._facing_evidence >= 0 else -perp

    # --- measures ----------------------------------------------------------------------------
    def _measure(self, fs: FeatureSpec, side: str | None, pts: np.ndarray, ctx: dict) -> float:
        m = MEASURES[fs.measure]
        if fs.space == "world":
            return m.world(self, fs, side, ctx["world_points"], ctx)
        return m.image(self, fs, side, pts, ctx)

    def steady_across(self, start: str, end: str, vector: np.ndarray, keep_unseen: bool = True) -> np.ndarray:
        """A line across the body (a left landmark to a right one) with its direction kept.

        Such a line turns round only when the model swaps the two sides' labels (it mirrors the
        upper body now and then when the head turns); turning the body over takes many frames.
        A reversal against the previous frame is undone. While the line is short (one label has
        jumped, the other not yet), or an end is unseen (``keep_unseen``), the previous line stands in for it.
        """
        length = float(np.linalg.norm(vector))
        ref = self._across.get((start, end))
        if not np.isfinite(length) and keep_unseen and ref is not None and (start, end) in self._across_held:
            # an end unseen (the model unsure of a wrist lying still on the floor): the line last
            # seen stands in while the person stays in view
            return ref[0] * ref[1]
        if not np.isfinite(length) or length == 0:
            return vector
        if ref is not None and length < ACROSS_MIN_LENGTH * ref[1]:
            return ref[0] * ref[1]
        if ref is not None and float(np.dot(vector, ref[0])) < 0:
            vector = -vector
        usual = length if ref is None else _ACROSS_MEMORY * ref[1] + (1 - _ACROSS_MEMORY) * length
        self._across[(start, end)] = (vector / length, usual)
        self._across_held.add((start, end))
        return vector

    def _both(self, fs: FeatureSpec, pts: np.ndarray, ctx: dict) -> float:
        vals = [self._measure(fs, s, pts, ctx) for s in SIDES]
        seen = [v for v in vals if np.isfinite(v)]
        return float(np.mean(seen)) if seen else np.nan

    # --- the verb ----------------------------------------------------------------------------
    def update(self, pose: PoseSample) -> FeatureFrame:
        """The spec's feature values for one pose (NaN where the points were not seen)."""
        values: dict[str, float] = {}
        if not pose.detected:
            for name, fs in self.spec.features.items():
                for key in self._keys(name, fs):
                    values[key] = np.nan
            self._last_legs = None
            self._across_held.clear()
            return FeatureFrame(pose.timestamp_ms, values, posture_ok=False, detected=False)
        if self._last_seen_ms is not None and pose.timestamp_ms - self._last_seen_ms > MAX_GAP_S * 1000:
            # nobody in view for longer than the counters bridge: the person may be back facing the
            # other way or lying on the other side, and the memories of the body would misread them
            self._forget_the_body()
        self._last_seen_ms = pose.timestamp_ms
        pts = self._points(pose)
        ctx = self._context(pts)
        self.posture.update(pose)
        self.posture_established = self.posture_established or self.supports(self.posture.guess)
        working_pts = self._points(pose, WORKING_SIDE_VISIBILITY_MIN)
        world = np.asarray(pose.world_xyz_m, float)
        world_pts = self._gated(world, pose.visibility, VISIBILITY_MIN)
        working_world = self._gated(world, pose.visibility, WORKING_SIDE_VISIBILITY_MIN)
        if self.spec.working_side == "near_camera":
            self._update_near_side(ctx)
        if self.spec.view == "side":
            self._resolve_leg_labels(pts, pose.image_xyz_px[:, 2], ctx, labels_kept=self._labels_kept(pose))
            for other_pts in (working_pts, world_pts, working_world):
                self._resolve_leg_labels(other_pts, pose.image_xyz_px[:, 2], ctx, decide=False)
        ctx["world_points"] = world_pts
        working_ctx = {**ctx, "world_points": working_world}
        for name, fs in self.spec.features.items():
            if fs.side == "working":
                for s in SIDES:
                    values[str(FeatureKey(name, s))] = self._measure(fs, s, working_pts, working_ctx)
            elif fs.side == "both":
                values[str(FeatureKey(name))] = self._both(fs, pts, ctx)
            elif fs.side == "difference":
                values[str(FeatureKey(name))] = self._measure(fs, "left", pts, ctx) - self._measure(fs, "right", pts, ctx)
            else:
                values[str(FeatureKey(name))] = self._measure(fs, fs.side, pts, ctx)
        return FeatureFrame(pose.timestamp_ms, values, posture_ok=self._posture_ok(ctx, pose.world_xyz_m), detected=True)

    def _update_near_side(self, ctx: dict) -> None:
        """Which physical leg faces the camera, from how the body lies (ctx["left_far"])."""
        if not np.isfinite(ctx["left_far"]):
            return
        self._near_evidence = _FACING_MEMORY * self._near_evidence + (1 - _FACING_MEMORY) * float(np.clip(ctx["left_far"], -1, 1))
        if self._near_evidence != 0:
            self.near_side = "right" if self._near_evidence > 0 else "left"

    def _labels_kept(self, pose: PoseSample) -> bool:
        """The model's knee and ankle labels plainly stayed on their legs since the last frame.

        Each labelled joint is far nearer its own last place than the other leg's (SWAP_RATIO, as
        the LimbSwapGuard judges a swap); legs side by side give ratios near 1 and say nothing.
        """
        legs = pose.image_xyz_px[_LEGS_TRACKED, :2].reshape(2, 2, 2)
        last, self._last_legs = self._last_legs, legs
        if last is None or not np.isfinite([legs, last]).all():
            return False
        kept, crossed = kept_and_crossed_px(legs, last)
        return kept * SWAP_RATIO < crossed

    def _resolve_leg_labels(self, pts: np.ndarray, z: np.ndarray, ctx: dict, decide: bool = True,
                            labels_kept: bool = False) -> None:
        """Side-on, the model sometimes swaps which leg it calls left; put the labels back.

        Which physical side faces the camera follows from where the body's front and head point
        (left = head x front, pointing into the scene means the left side is the far one); the
        model's depth of the two hips says which labelled leg is near. When they disagree for a while, the leg
        labels are swapped in place. ``labels_kept``: the model's labels plainly stayed on their
        legs in the image since the last frame, so a decision the evidence once clearly backed
        changes only on clear evidence (LABELS_KEPT_EVIDENCE).
        """
        sh = np.linalg.norm(pts[L.LEFT_SHOULDER] - pts[L.RIGHT_SHOULDER])
        side_on = np.isfinite(sh) and sh < SIDE_ON_MAX_RATIO * ctx["torso_px"]
        # the hips' depth order is fixed by the stance; a swinging leg changes its knee and foot depth
        z_left, z_right = z[L.LEFT_HIP], z[L.RIGHT_HIP]
        if decide and side_on and np.isfinite([z_left, z_right]).all() and np.isfinite(ctx["left_far"]):
            labelled_left_far = z_left > z_right
            disagree = (ctx["left_far"] > 0) != labelled_left_far
            # weigh by how clearly the model separates the legs in depth
            weight = min(abs(z_left - z_right) / (0.1 * ctx["torso_px"]), 1.0)
            self._swap_evidence = _SWAP_MEMORY * self._swap_evidence + (1 - _SWAP_MEMORY) * weight * (1 if disagree else -1)
            swapped = self._swap_evidence > 0
            clear = abs(self._swap_evidence) >= LABELS_KEPT_EVIDENCE
            if swapped != self.legs_swapped and labels_kept and self._swap_clear and not clear:
                swapped = self.legs_swapped  # the depth's wobble against a clear decision: labels kept
            if swapped != self.legs_swapped or not labels_kept:
                self._swap_clear = False  # a new decision, or labels that may have jumped: earned afresh
            elif clear and swapped == (self._swap_evidence > 0):
                self._swap_clear = True
            self.legs_swapped = swapped
        if self.legs_swapped:
            pts[_LEFT_LEG + _RIGHT_LEG] = pts[_RIGHT_LEG + _LEFT_LEG]

    def _keys(self, name: str, fs: FeatureSpec) -> list[str]:
        return [str(FeatureKey(name, s)) for s in SIDES] if fs.side == "working" else [str(FeatureKey(name))]

    def _context(self, pts: np.ndarray) -> dict:
        mid_sh = _nanmean2(pts[L.LEFT_SHOULDER], pts[L.RIGHT_SHOULDER])
        mid_hip = _nanmean2(pts[L.LEFT_HIP], pts[L.RIGHT_HIP])
        trunk_up = mid_sh - mid_hip
        torso = float(np.linalg.norm(trunk_up))
        if np.isfinite(torso) and torso > 1:
            self._torso_px.append(torso)
        # statistics.median: the same value as np.median, a tenth of the cost on 90 floats every frame
        torso_px = float(statistics.median(self._torso_px)) if self._torso_px else np.nan
        anterior = self._update_facing(pts, trunk_up) if np.isfinite(trunk_up).all() else np.full(2, np.nan)
        facing_x = np.array([np.sign(anterior[0]) if np.isfinite(anterior[0]) and anterior[0] != 0 else 1.0, 0.0])
        # z of (head x front), in torso lengths: > 0 when the body's left side is the far one
        left_far = float(trunk_up[0] * anterior[1] - trunk_up[1] * anterior[0]) / torso_px
        return {
            "left_far": left_far,
            "facing_x": facing_x,  # the image-horizontal direction the body faces
            "trunk_up": trunk_up,
            "trunk_down": -trunk_up,
            "anterior": anterior,
            "torso_px": torso_px,
            "trunk_incline": float(segment_angle_from_vertical_deg(mid_hip, mid_sh)),
        }

    def supports(self, guess) -> bool:
        """Does a posture guess name the spec's posture (or one this camera cannot tell from it)?"""
        return supports(guess, self.spec.posture, **self.posture_terms)

    def _posture_ok(self, ctx: dict, world: np.ndarray) -> bool:
        """Is the body in the spec's posture? Not when the whole-body posture is surely another
        (side-lying is not on the back); else upright vs lying, from the image and 3D landmarks."""
        # a spec filmed from anywhere may be filmed from high up, where lying postures look alike
        if rules_out(self.posture.guess, self.spec.posture, **self.posture_terms):
            return False
        return self._upright_or_lying_ok(ctx, world)

    def _upright_or_lying_ok(self, ctx: dict, world: np.ndarray) -> bool:
        """Upright vs lying, from the image and the 3D landmarks.

        Seen end-on (camera at the feet) a lying trunk looks upright in the image, so lying is
        also recognised from the 3D trunk, or, on the back, from knees raised above the hips.
        """
        posture = self.spec.posture
        incline_deg = ctx["trunk_incline"]
        if posture == "any":
            return True
        if posture in UPRIGHT_POSTURES:
            return bool(np.isfinite(incline_deg) and incline_deg <= UPRIGHT_MAX_INCLINE_DEG)
        if np.isfinite(incline_deg) and incline_deg >= LYING_MIN_INCLINE_DEG:
            return True
        trunk_3d = (world[L.LEFT_SHOULDER] + world[L.RIGHT_SHOULDER] - world[L.LEFT_HIP] - world[L.RIGHT_HIP]) / 2
        incline_3d = float(segment_angle_3d_from_vertical_deg(trunk_3d))
        if np.isfinite(incline_3d) and incline_3d >= LYING_MIN_INCLINE_DEG:
            return True
        if posture == "supine":
            knees_y = (world[L.LEFT_KNEE][1] + world[L.RIGHT_KNEE][1]) / 2
            hips_y = (world[L.LEFT_HIP][1] + world[L.RIGHT_HIP][1]) / 2
            return bool(hips_y - knees_y >= KNEES_UP_M)  # world y points down
        return False
