"""Starting postures for exercise programs, planted on the floor (or a chair) with their props.

Each returns a one-frame ``Pose`` (broadcast it to N frames) and the props to draw. The body
heading follows the convention of ``render.orbit_position``: azimuth 90 looks at the body's
left side, so a ``"side"`` view sees a lying body along its length.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from formcheck.synth.body import SIDE_SIGN, BodyShape, Pose, forward_kinematics
from formcheck.synth.render import Box, body_primitives, chair, mat

POSTURES = ("standing", "supine", "prone", "side_lying", "quadruped", "sitting", "kneeling", "half_kneeling")
MAT_Y_M = 0.008  # exercise mat thickness: floor postures lie on it


def lowest_y(body: BodyShape, pose: Pose, parts: tuple[str, ...] | None = None) -> np.ndarray:
    """Lowest surface height (N,) over the named parts (all parts if None)."""
    sk = forward_kinematics(body, pose)
    prims = [pr for pr in body_primitives(body, sk) if parts is None or pr.part in parts]
    return np.min(np.stack([pr.lowest_y() for pr in prims]), axis=0)


def plant(body: BodyShape, pose: Pose, floor_y_m: float = 0.0, parts: tuple[str, ...] | None = None) -> Pose:
    """Shift the root vertically so the lowest point (of ``parts``) rests at ``floor_y_m``."""
    return replace(pose, root_y_m=np.asarray(pose.root_y_m, float) - lowest_y(body, pose, parts) + floor_y_m)


def _floor_mat(body: BodyShape, pose: Pose) -> tuple[Box, ...]:
    sk = forward_kinematics(body, pose)
    xs = sk.landmarks_m[..., 0]
    return tuple(mat(float(xs.min()) - 0.25, float(xs.max()) + 0.25))


def posture(body: BodyShape, name: str, side: str = "left") -> tuple[Pose, tuple[Box, ...]]:
    """A planted starting pose and its props; ``side`` picks the down side (side-lying) or front knee."""
    s = SIDE_SIGN[side]
    other = "right" if side == "left" else "left"
    if name == "standing":
        pose = Pose(root_y_m=body.hip_height_m, neck_flexion_deg=5.0).broadcast(1)
        return plant(body, pose), ()
    if name == "supine":
        pose = Pose(pelvis_pitch_deg=-90.0, root_y_m=0.2, left_shoulder_abduction_deg=12.0,
                    right_shoulder_abduction_deg=12.0, left_ankle_dorsiflexion_deg=-25.0,
                    right_ankle_dorsiflexion_deg=-25.0, neck_flexion_deg=-8.0).broadcast(1)
        pose = plant(body, pose, MAT_Y_M)
        return pose, _floor_mat(body, pose)
    if name == "prone":
        # face turned toward the camera side (left), arms along the body, toes pointing down
        pose = Pose(pelvis_pitch_deg=90.0, root_y_m=0.2, neck_rotation_deg=-70.0, neck_flexion_deg=-10.0,
                    left_shoulder_abduction_deg=15.0, right_shoulder_abduction_deg=15.0,
                    left_ankle_dorsiflexion_deg=-70.0, right_ankle_dorsiflexion_deg=-70.0).broadcast(1)
        pose = plant(body, pose, MAT_Y_M)
        return pose, _floor_mat(body, pose)
    if name == "side_lying":
        # lying on `side`, facing the camera on the body's front; lower arm under the head
        pose = Pose(pelvis_pitch_deg=-90.0, pelvis_roll_deg=90.0 * s, root_y_m=0.3,
                    **{f"{side}_shoulder_flexion_deg": 160.0, f"{side}_elbow_flexion_deg": 20.0,
                       f"{other}_shoulder_flexion_deg": 10.0, f"{side}_hip_flexion_deg": 10.0,
                       f"{other}_hip_flexion_deg": 5.0, f"{side}_knee_flexion_deg": 15.0,
                       "left_ankle_dorsiflexion_deg": -20.0, "right_ankle_dorsiflexion_deg": -20.0}).broadcast(1)
        pose = plant(body, pose, MAT_Y_M)
        return pose, _floor_mat(body, pose)
    if name == "quadruped":
        # hands under shoulders, knees under hips (limbs vertical: flexion = trunk pitch); the trunk
        # tilts until hands and knees both touch, since arms and thighs differ in length
        def at(pitch):
            return Pose(pelvis_pitch_deg=pitch, root_y_m=0.6, neck_flexion_deg=-20.0,
                        left_hip_flexion_deg=pitch, right_hip_flexion_deg=pitch,
                        left_knee_flexion_deg=90.0, right_knee_flexion_deg=90.0,
                        left_ankle_dorsiflexion_deg=-60.0, right_ankle_dorsiflexion_deg=-60.0,
                        left_shoulder_flexion_deg=pitch, right_shoulder_flexion_deg=pitch).broadcast(1)

        hands, knees = ("left_hand", "right_hand"), ("left_shank", "right_shank")
        lo, hi = 60.0, 100.0
        for _ in range(30):  # bisection: hands lower than knees -> pitch the trunk up (smaller pitch)
            mid = 0.5 * (lo + hi)
            p = at(mid)
            if lowest_y(body, p, hands)[0] < lowest_y(body, p, knees)[0]:
                hi = mid
            else:
                lo = mid
        pose = plant(body, at(0.5 * (lo + hi)), MAT_Y_M)
        return pose, _floor_mat(body, pose)
    if name == "sitting":
        # thighs level on a chair seat at knee height, feet flat on the floor, backrest behind (-x)
        pose = Pose(root_y_m=0.5, left_hip_flexion_deg=90.0, right_hip_flexion_deg=90.0,
                    left_knee_flexion_deg=90.0, right_knee_flexion_deg=90.0,
                    left_shoulder_flexion_deg=12.0, right_shoulder_flexion_deg=12.0,
                    left_shoulder_abduction_deg=8.0, right_shoulder_abduction_deg=8.0,
                    left_elbow_flexion_deg=62.0, right_elbow_flexion_deg=62.0, neck_flexion_deg=5.0).broadcast(1)
        pose = plant(body, pose, 0.0, ("left_foot", "right_foot", "left_shoe_top", "right_shoe_top"))
        seat = float(lowest_y(body, pose, ("pelvis", "left_thigh", "right_thigh"))[0])
        k = body.height_m / 1.7
        return pose, tuple(chair(-0.16 * k, 0.0, 1.0, seat_h_m=seat, back_h_m=seat + 0.45, depth_m=0.42 * k))
    if name == "kneeling":
        pose = Pose(root_y_m=0.6, left_knee_flexion_deg=90.0, right_knee_flexion_deg=90.0,
                    left_ankle_dorsiflexion_deg=-40.0, right_ankle_dorsiflexion_deg=-40.0).broadcast(1)
        pose = plant(body, pose, MAT_Y_M)
        return pose, _floor_mat(body, pose)
    if name == "half_kneeling":
        # `side` foot in front, the other knee down
        pose = Pose(root_y_m=0.6, **{f"{side}_hip_flexion_deg": 90.0, f"{side}_knee_flexion_deg": 90.0,
                                     f"{other}_knee_flexion_deg": 90.0,
                                     f"{other}_ankle_dorsiflexion_deg": -40.0}).broadcast(1)
        pose = plant(body, pose, MAT_Y_M)
        return pose, _floor_mat(body, pose)
    raise ValueError(f"unknown posture {name!r}; valid: {', '.join(POSTURES)}")
