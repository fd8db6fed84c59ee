"""A parametric mannequin: body shape, joint-angle pose, forward kinematics and the 33 landmarks.

World frame (metres): x and z horizontal, y up, floor at y = 0. The body's own frame is
x anterior, y superior, z to the person's right (right-handed: anterior x superior = right).
A standing person with a zero pose faces +x with their right side toward +z.

Every function here is vectorised over time: a ``Pose`` holds floats or arrays of shape (N,),
and forward kinematics returns arrays with a leading N axis.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Iterator

import numpy as np

from formcheck.skeleton import NUM_LANDMARKS, Landmark

SIDES = ("left", "right")
# lateral sign of each side in the body frame (+z is the person's right)
SIDE_SIGN = {"left": -1.0, "right": 1.0}

# --------------------------------------------------------------------------- rotations


def _rot(axis: int, angle_rad: np.ndarray) -> np.ndarray:
    """Rotation matrices (N,3,3) about a body axis (0=x, 1=y, 2=z) by a right-handed angle."""
    a = np.atleast_1d(np.asarray(angle_rad, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    m = np.zeros(a.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m[..., axis, axis] = 1.0
    m[..., i, i] = c
    m[..., j, j] = c
    m[..., i, j] = -s
    m[..., j, i] = s
    return m


def rot_x(deg) -> np.ndarray:
    """Rotation about x (the anterior axis)."""
    return _rot(0, np.radians(deg))


def rot_y(deg) -> np.ndarray:
    """Rotation about y (the superior axis)."""
    return _rot(1, np.radians(deg))


def rot_z(deg) -> np.ndarray:
    """Rotation about z (the lateral axis); +angle turns anterior (x) toward superior (y)."""
    return _rot(2, np.radians(deg))


def apply(r: np.ndarray, v) -> np.ndarray:
    """Rotate vectors: r (N,3,3) times v (3,) or (N,3) -> (N,3)."""
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 1:
        return r @ v
    return np.einsum("nij,nj->ni", r, v)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


# --------------------------------------------------------------------------- body shape

_SKIN = ((0.96, 0.80, 0.69), (0.89, 0.70, 0.56), (0.80, 0.60, 0.45), (0.67, 0.47, 0.33),
         (0.52, 0.36, 0.25), (0.40, 0.27, 0.19))
_SHIRT = ((0.15, 0.35, 0.78), (0.80, 0.15, 0.15), (0.12, 0.55, 0.30), (0.90, 0.50, 0.10),
          (0.50, 0.20, 0.65), (0.05, 0.55, 0.60), (0.85, 0.20, 0.50), (0.90, 0.80, 0.15))
_SHORTS = ((0.18, 0.18, 0.20), (0.12, 0.16, 0.35), (0.05, 0.05, 0.06), (0.55, 0.48, 0.35),
           (0.30, 0.30, 0.32))
_SHOES = ((0.15, 0.15, 0.17), (0.92, 0.92, 0.92), (0.35, 0.35, 0.40), (0.15, 0.25, 0.60),
          (0.60, 0.10, 0.10))
_HAIR = ((0.22, 0.14, 0.08), (0.06, 0.05, 0.05), (0.40, 0.26, 0.13), (0.78, 0.64, 0.38),
         (0.60, 0.60, 0.60), (0.55, 0.25, 0.10))


@dataclass(frozen=True)
class BodyShape:
    """Sizes (metres) and colours (RGB 0-1) of one mannequin; ``from_seed(0)`` is a plain average adult."""

    height_m: float = 1.70
    girth: float = 1.0  # width scale of trunk and limbs
    leg_ratio: float = 1.0  # scales thigh and shank lengths (trunk absorbs the difference)
    skin_rgb: tuple[float, float, float] = _SKIN[1]
    shirt_rgb: tuple[float, float, float] = _SHIRT[0]
    shorts_rgb: tuple[float, float, float] = _SHORTS[0]
    shoe_rgb: tuple[float, float, float] = _SHOES[0]
    hair_rgb: tuple[float, float, float] = _HAIR[0]
    sleeve_frac: float = 0.45  # fraction of the upper arm covered by the sleeve
    shorts_frac: float = 0.50  # fraction of the thigh covered by the shorts

    @classmethod
    def from_seed(cls, body_seed: int) -> "BodyShape":
        """Seed 0 is the default average adult; other seeds vary size, build and colours."""
        if body_seed == 0:
            return cls()
        rng = np.random.default_rng([body_seed, 7177])
        pick = lambda pal: pal[int(rng.integers(len(pal)))]  # noqa: E731
        skin = pick(_SKIN)
        shirt = pick(_SHIRT)
        return cls(
            height_m=float(np.clip(rng.normal(1.71, 0.09), 1.52, 1.95)),
            girth=float(rng.uniform(0.9, 1.2)),
            leg_ratio=float(rng.uniform(0.96, 1.04)),
            skin_rgb=skin,
            shirt_rgb=shirt,
            shorts_rgb=pick(_SHORTS),
            shoe_rgb=pick(_SHOES),
            hair_rgb=pick(_HAIR),
            sleeve_frac=float(rng.uniform(0.3, 0.7)),
            shorts_frac=float(rng.uniform(0.35, 0.75)),
        )

    # segment lengths, proportional to height (Winter's anthropometric ratios)
    @property
    def thigh_m(self) -> float:
        """Thigh length in metres."""
        return 0.245 * self.height_m * self.leg_ratio

    @property
    def shank_m(self) -> float:
        """Shank length in metres."""
        return 0.246 * self.height_m * self.leg_ratio

    @property
    def ankle_height_m(self) -> float:
        """Ankle height above the floor in metres."""
        return 0.039 * self.height_m

    @property
    def hip_height_m(self) -> float:
        """Hip height above the floor when standing, in metres."""
        return self.ankle_height_m + self.thigh_m + self.shank_m

    @property
    def trunk_m(self) -> float:
        """Mid-hip to neck base; the trunk absorbs leg-ratio changes so the height stays exact."""
        return 0.825 * self.height_m - self.hip_height_m

    @property
    def upper_arm_m(self) -> float:
        """Upper arm length in metres."""
        return 0.186 * self.height_m

    @property
    def forearm_m(self) -> float:
        """Forearm length in metres."""
        return 0.146 * self.height_m

    @property
    def hip_sep_m(self) -> float:
        """Distance between the hip joints in metres."""
        return 0.115 * self.height_m * (0.5 + 0.5 * self.girth)

    @property
    def shoulder_sep_m(self) -> float:
        """Distance between the shoulder joints in metres."""
        return 0.215 * self.height_m * (0.6 + 0.4 * self.girth)

    def scaled(self, k: float) -> float:
        """A length given as a fraction of height."""
        return k * self.height_m


# --------------------------------------------------------------------------- pose


@dataclass(frozen=True)
class Pose:
    """Joint angles (degrees) and root position (metres); floats or arrays of shape (N,).

    Conventions (all relative to the parent segment, in the parent's body frame):
    pelvis_pitch + tips the body forward (supine = -90, prone = +90); pelvis_obliquity + raises
    the left hip (rotation about the anterior axis); pelvis_roll + rolls the body about its long
    axis so the right hip moves anterior. Flexions are + toward anterior (knee: shank backward).
    Abduction moves a limb away from the midline; rotation + is internal rotation.
    """

    root_x_m: float | np.ndarray = 0.0
    root_y_m: float | np.ndarray = 0.0
    root_z_m: float | np.ndarray = 0.0
    pelvis_pitch_deg: float | np.ndarray = 0.0
    pelvis_obliquity_deg: float | np.ndarray = 0.0
    pelvis_roll_deg: float | np.ndarray = 0.0
    spine_flexion_deg: float | np.ndarray = 0.0
    spine_lateral_deg: float | np.ndarray = 0.0  # + bends toward the right
    spine_rotation_deg: float | np.ndarray = 0.0  # + turns the chest toward the right
    neck_flexion_deg: float | np.ndarray = 0.0
    neck_rotation_deg: float | np.ndarray = 0.0  # + turns the face toward the right
    left_hip_flexion_deg: float | np.ndarray = 0.0
    left_hip_abduction_deg: float | np.ndarray = 0.0
    left_hip_rotation_deg: float | np.ndarray = 0.0
    left_knee_flexion_deg: float | np.ndarray = 0.0
    left_ankle_dorsiflexion_deg: float | np.ndarray = 0.0
    left_shoulder_flexion_deg: float | np.ndarray = 0.0
    left_shoulder_abduction_deg: float | np.ndarray = 0.0
    left_shoulder_rotation_deg: float | np.ndarray = 0.0
    left_elbow_flexion_deg: float | np.ndarray = 0.0
    right_hip_flexion_deg: float | np.ndarray = 0.0
    right_hip_abduction_deg: float | np.ndarray = 0.0
    right_hip_rotation_deg: float | np.ndarray = 0.0
    right_knee_flexion_deg: float | np.ndarray = 0.0
    right_ankle_dorsiflexion_deg: float | np.ndarray = 0.0
    right_shoulder_flexion_deg: float | np.ndarray = 0.0
    right_shoulder_abduction_deg: float | np.ndarray = 0.0
    right_shoulder_rotation_deg: float | np.ndarray = 0.0
    right_elbow_flexion_deg: float | np.ndarray = 0.0

    def side(self, side: str, name: str):
        """One side's value, e.g. ``pose.side("left", "knee_flexion_deg")``."""
        return getattr(self, f"{side}_{name}")

    def with_side(self, side: str, **values) -> "Pose":
        """A copy with one side's fields replaced (names without the side prefix)."""
        return replace(self, **{f"{side}_{k}": v for k, v in values.items()})

    def broadcast(self, n: int) -> "Pose":
        """Every field as a float array of shape (n,)."""
        return Pose(**{f.name: np.broadcast_to(np.asarray(getattr(self, f.name), float), (n,)).copy()
                       for f in fields(self)})

    def items(self) -> Iterator[tuple[str, float | np.ndarray]]:
        """(field name, value) pairs of the pose's joint angles."""
        for f in fields(self):
            yield f.name, getattr(self, f.name)


def blend(a: Pose, b: Pose, w) -> Pose:
    """Per-field linear mix (1-w)*a + w*b; w is a float or an (N,) array."""
    w = np.asarray(w, dtype=np.float64)
    return Pose(**{f.name: (1.0 - w) * np.asarray(getattr(a, f.name), float)
                   + w * np.asarray(getattr(b, f.name), float) for f in fields(Pose)})


# --------------------------------------------------------------------------- kinematics


@dataclass(frozen=True)
class Skeleton:
    """World positions (N,3) of the joints and world rotations (N,3,3) of the segments."""

    joints: dict[str, np.ndarray]
    frames: dict[str, np.ndarray]
    landmarks_m: np.ndarray  # (N,33,3)
    body: BodyShape = field(repr=False)

    @property
    def n(self) -> int:
        """Number of landmarks."""
        return self.landmarks_m.shape[0]


def pelvis_rotation(pitch_deg, obliquity_deg, roll_deg) -> np.ndarray:
    """World rotation of the pelvis: pitch about the lateral axis, then obliquity, then long-axis roll."""
    return rot_z(-np.asarray(pitch_deg)) @ rot_x(obliquity_deg) @ rot_y(roll_deg)


def _limb_frames(parent: np.ndarray, flex, abd, rot, side: str) -> np.ndarray:
    """Proximal segment frame for a limb hanging along -y at rest (hip or shoulder)."""
    s = SIDE_SIGN[side]
    return parent @ rot_z(flex) @ rot_x(-s * np.asarray(abd)) @ rot_y(s * np.asarray(rot))


def forward_kinematics(body: BodyShape, pose: Pose) -> Skeleton:
    """Joint positions, segment frames and the 33 BlazePose landmarks for every frame."""
    h = body.height_m
    n = max(np.size(v) for _, v in pose.items())
    p = pose.broadcast(n)
    root = np.stack([p.root_x_m, p.root_y_m, p.root_z_m], axis=-1)
    r_pelvis = pelvis_rotation(p.pelvis_pitch_deg, p.pelvis_obliquity_deg, p.pelvis_roll_deg)
    half = rot_z(-p.spine_flexion_deg / 2) @ rot_x(p.spine_lateral_deg / 2) @ rot_y(-p.spine_rotation_deg / 2)
    r_lumbar = r_pelvis @ half
    r_chest = r_lumbar @ half
    r_head = r_chest @ rot_z(-p.neck_flexion_deg) @ rot_y(-p.neck_rotation_deg)

    trunk = body.trunk_m
    j: dict[str, np.ndarray] = {"pelvis": root}
    j["lumbar"] = root + apply(r_pelvis, [0, 0.34 * trunk, 0])
    j["chest"] = j["lumbar"] + apply(r_lumbar, [0, 0.34 * trunk, 0])
    j["neck"] = j["chest"] + apply(r_chest, [0, 0.32 * trunk, 0])
    j["head"] = j["neck"] + apply(r_head, [0.012 * h, 0.105 * h, 0])
    frames = {"pelvis": r_pelvis, "lumbar": r_lumbar, "chest": r_chest, "head": r_head}

    for side in SIDES:
        s = SIDE_SIGN[side]
        g = lambda name: p.side(side, name)  # noqa: E731
        # legs
        hip = root + apply(r_pelvis, [0, 0, s * body.hip_sep_m / 2])
        r_thigh = _limb_frames(r_pelvis, g("hip_flexion_deg"), g("hip_abduction_deg"), g("hip_rotation_deg"), side)
        knee = hip + apply(r_thigh, [0, -body.thigh_m, 0])
        r_shank = r_thigh @ rot_z(-g("knee_flexion_deg"))
        ankle = knee + apply(r_shank, [0, -body.shank_m, 0])
        r_foot = r_shank @ rot_z(g("ankle_dorsiflexion_deg"))
        j[f"{side}_hip"], j[f"{side}_knee"], j[f"{side}_ankle"] = hip, knee, ankle
        j[f"{side}_heel"] = ankle + apply(r_foot, [-0.030 * h, -0.030 * h, 0])
        j[f"{side}_toe"] = ankle + apply(r_foot, [0.110 * h, -0.030 * h, -s * 0.004 * h])
        frames[f"{side}_thigh"], frames[f"{side}_shank"], frames[f"{side}_foot"] = r_thigh, r_shank, r_foot
        # arms
        shoulder = j["neck"] + apply(r_chest, [0, -0.007 * h, s * body.shoulder_sep_m / 2])
        r_upper = _limb_frames(r_chest, g("shoulder_flexion_deg"), g("shoulder_abduction_deg"),
                               g("shoulder_rotation_deg"), side)
        elbow = shoulder + apply(r_upper, [0, -body.upper_arm_m, 0])
        r_fore = r_upper @ rot_z(g("elbow_flexion_deg"))
        wrist = elbow + apply(r_fore, [0, -body.forearm_m, 0])
        j[f"{side}_shoulder"], j[f"{side}_elbow"], j[f"{side}_wrist"] = shoulder, elbow, wrist
        frames[f"{side}_upper_arm"], frames[f"{side}_forearm"] = r_upper, r_fore

    return Skeleton(joints=j, frames=frames, landmarks_m=_landmarks(body, j, frames), body=body)


def _landmarks(body: BodyShape, j: dict[str, np.ndarray], fr: dict[str, np.ndarray]) -> np.ndarray:
    """The 33 BlazePose landmarks (N,33,3) from joints and segment frames."""
    h = body.height_m
    n = j["pelvis"].shape[0]
    out = np.zeros((n, NUM_LANDMARKS, 3))
    head, rh = j["head"], fr["head"]
    hl = lambda v: head + apply(rh, np.asarray(v) * h)  # noqa: E731  (head-local, fractions of height)
    out[:, Landmark.NOSE] = hl([0.068, -0.010, 0])
    for side, sign in SIDE_SIGN.items():
        up = side.upper()
        out[:, Landmark[f"{up}_EYE_INNER"]] = hl([0.053, 0.008, sign * 0.011])
        out[:, Landmark[f"{up}_EYE"]] = hl([0.051, 0.008, sign * 0.019])
        out[:, Landmark[f"{up}_EYE_OUTER"]] = hl([0.046, 0.008, sign * 0.027])
        out[:, Landmark[f"{up}_EAR"]] = hl([-0.004, 0.000, sign * 0.046])
        out[:, Landmark[f"MOUTH_{up}"]] = hl([0.050, -0.032, sign * 0.013])
        out[:, Landmark[f"{up}_SHOULDER"]] = j[f"{side}_shoulder"]
        out[:, Landmark[f"{up}_ELBOW"]] = j[f"{side}_elbow"]
        out[:, Landmark[f"{up}_WRIST"]] = j[f"{side}_wrist"]
        rf = fr[f"{side}_forearm"]
        wrist = j[f"{side}_wrist"]
        # hand hangs along the forearm's -y; thumb side is anterior (+x) in the forearm frame
        out[:, Landmark[f"{up}_PINKY"]] = wrist + apply(rf, np.array([-0.012, -0.050, 0]) * h)
        out[:, Landmark[f"{up}_INDEX"]] = wrist + apply(rf, np.array([0.010, -0.055, 0]) * h)
        out[:, Landmark[f"{up}_THUMB"]] = wrist + apply(rf, np.array([0.022, -0.030, 0]) * h)
        out[:, Landmark[f"{up}_HIP"]] = j[f"{side}_hip"]
        out[:, Landmark[f"{up}_KNEE"]] = j[f"{side}_knee"]
        out[:, Landmark[f"{up}_ANKLE"]] = j[f"{side}_ankle"]
        out[:, Landmark[f"{up}_HEEL"]] = j[f"{side}_heel"]
        out[:, Landmark[f"{up}_FOOT_INDEX"]] = j[f"{side}_toe"]
    return out


# --------------------------------------------------------------------------- inverse kinematics


def two_bone_ik(root: np.ndarray, target: np.ndarray, l1: float, l2: float, pole: np.ndarray) -> np.ndarray:
    """Middle-joint positions (N,3) reaching from root toward target, bending toward ``pole``."""
    d = target - root
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    e = d / np.maximum(dist, 1e-9)
    dist = np.clip(dist, abs(l1 - l2) + 1e-6, l1 + l2 - 1e-6)
    a = (l1 * l1 - l2 * l2 + dist * dist) / (2 * dist)
    hgt = np.sqrt(np.maximum(l1 * l1 - a * a, 0.0))
    q = pole - np.sum(pole * e, axis=-1, keepdims=True) * e
    q = _unit(q)
    return root + a * e + hgt * q


def limb_angles(parent: np.ndarray, root: np.ndarray, mid: np.ndarray, end: np.ndarray, side: str,
                bend_anterior: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Invert ``_limb_frames``: (flexion, abduction, rotation, bend) in degrees for a two-bone limb.

    ``bend_anterior`` is True for an elbow (forearm folds forward) and False for a knee.
    """
    s = SIDE_SIGN[side]
    rt = np.swapaxes(parent, -1, -2)
    u = apply(rt, _unit(mid - root))
    abd = np.degrees(np.arcsin(np.clip(s * u[:, 2], -1, 1)))
    flex = np.degrees(np.arctan2(u[:, 0], -u[:, 1]))
    f0 = parent @ rot_z(flex) @ rot_x(-s * abd)
    l0 = apply(np.swapaxes(f0, -1, -2), _unit(end - mid))
    if bend_anterior:
        phi = np.arctan2(-l0[:, 2], l0[:, 0])
    else:
        phi = np.arctan2(l0[:, 2], -l0[:, 0])
    straight = np.hypot(l0[:, 0], l0[:, 2]) < 1e-6  # bend plane undefined: keep rotation 0
    phi = np.where(straight, 0.0, phi)
    rot = np.degrees(phi) * s
    v = apply(rot_y(-np.degrees(phi)), l0)
    bend = np.degrees(np.arctan2(np.abs(v[:, 0]), -v[:, 1]))
    return flex, abd, rot, bend


def solve_leg(body: BodyShape, pose: Pose, side: str, ankle_target: np.ndarray, pole: np.ndarray,
              foot_dir: np.ndarray | None = None) -> Pose:
    """Set one leg's hip and knee angles (and ankle, if ``foot_dir`` is given) to reach ``ankle_target``."""
    n = ankle_target.shape[0]
    p = pose.broadcast(n)
    r_pelvis = pelvis_rotation(p.pelvis_pitch_deg, p.pelvis_obliquity_deg, p.pelvis_roll_deg)
    root = np.stack([p.root_x_m, p.root_y_m, p.root_z_m], axis=-1)
    hip = root + apply(r_pelvis, [0, 0, SIDE_SIGN[side] * body.hip_sep_m / 2])
    knee = two_bone_ik(hip, ankle_target, body.thigh_m, body.shank_m, pole)
    ankle = knee + _unit(ankle_target - knee) * body.shank_m
    flex, abd, rot, bend = limb_angles(r_pelvis, hip, knee, ankle, side, bend_anterior=False)
    p = p.with_side(side, hip_flexion_deg=flex, hip_abduction_deg=abd, hip_rotation_deg=rot,
                    knee_flexion_deg=bend)
    if foot_dir is not None:
        r_shank = _limb_frames(r_pelvis, flex, abd, rot, side) @ rot_z(-bend)
        f = apply(np.swapaxes(r_shank, -1, -2), _unit(np.broadcast_to(foot_dir, (n, 3))))
        p = p.with_side(side, ankle_dorsiflexion_deg=np.degrees(np.arctan2(f[:, 1], f[:, 0])))
    return p


def solve_arm(body: BodyShape, pose: Pose, side: str, wrist_target: np.ndarray, pole: np.ndarray) -> Pose:
    """Set one arm's shoulder and elbow angles so the wrist reaches ``wrist_target``."""
    n = wrist_target.shape[0]
    p = pose.broadcast(n)
    sk = forward_kinematics(body, p)
    r_chest = sk.frames["chest"]
    shoulder = sk.joints[f"{side}_shoulder"]
    elbow = two_bone_ik(shoulder, wrist_target, body.upper_arm_m, body.forearm_m, pole)
    wrist = elbow + _unit(wrist_target - elbow) * body.forearm_m
    flex, abd, rot, bend = limb_angles(r_chest, shoulder, elbow, wrist, side, bend_anterior=True)
    return p.with_side(side, shoulder_flexion_deg=flex, shoulder_abduction_deg=abd,
                       shoulder_rotation_deg=rot, elbow_flexion_deg=bend)

