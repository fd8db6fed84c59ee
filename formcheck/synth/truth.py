"""Ground truth of a synthetic clip, the angle definitions it is measured with, and its JSON sidecar.

The angle helpers are the reference definitions the engine uses; the sidecar's per-frame angles
are exactly these functions applied to the sidecar's own 3D landmarks (world frame, y up).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from formcheck.io import atomic_write
from formcheck.skeleton import Landmark

SCHEMA_VERSION = 1
WORLD_UP = np.array([0.0, 1.0, 0.0])
ANGLE_NAMES = ("left_hip_flexion_deg", "right_hip_flexion_deg", "left_knee_flexion_deg",
               "right_knee_flexion_deg", "trunk_lean_deg")

# --------------------------------------------------------------------------- angle definitions


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _lm(lm: np.ndarray, name: str) -> np.ndarray:
    return lm[..., Landmark[name.upper()], :]


def lateral_axis(lm3d: np.ndarray) -> np.ndarray:
    """Unit vector from the left hip to the right hip (..., 3): the normal of the sagittal plane."""
    return _unit(_lm(lm3d, "right_hip") - _lm(lm3d, "left_hip"))


def hip_flexion_deg(lm3d: np.ndarray, side: str) -> np.ndarray:
    """Signed sagittal hip angle: trunk-down (shoulder->hip) to thigh (hip->knee); + = knee anterior.

    Both vectors are projected on the plane normal to the hip axis; the sign is the rotation
    sense about the (right-pointing) hip axis, which is toward anterior for a right-handed frame.
    """
    r = lateral_axis(lm3d)
    d = _lm(lm3d, f"{side}_hip") - _lm(lm3d, f"{side}_shoulder")
    b = _lm(lm3d, f"{side}_knee") - _lm(lm3d, f"{side}_hip")
    d = d - np.sum(d * r, axis=-1, keepdims=True) * r
    b = b - np.sum(b * r, axis=-1, keepdims=True) * r
    return np.degrees(np.arctan2(np.sum(np.cross(d, b) * r, axis=-1), np.sum(d * b, axis=-1)))


def joint_angle_deg(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Unsigned angle at b between b->a and b->c (degrees)."""
    u, v = a - b, c - b
    cos = np.sum(u * v, axis=-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def knee_flexion_deg(lm3d: np.ndarray, side: str) -> np.ndarray:
    """180 - angle(hip, knee, ankle): 0 = straight knee."""
    return 180.0 - joint_angle_deg(_lm(lm3d, f"{side}_hip"), _lm(lm3d, f"{side}_knee"), _lm(lm3d, f"{side}_ankle"))


def trunk_lean_deg(lm3d: np.ndarray, up: np.ndarray = WORLD_UP) -> np.ndarray:
    """Mid-hip -> mid-shoulder against world up in the sagittal plane; + = leaning anterior."""
    r = lateral_axis(lm3d)
    r_h = _unit(r - np.sum(r * up, axis=-1, keepdims=True) * up)
    fwd = np.cross(up, r_h)  # up x right = anterior (right-handed)
    mid_hip = 0.5 * (_lm(lm3d, "left_hip") + _lm(lm3d, "right_hip"))
    mid_sh = 0.5 * (_lm(lm3d, "left_shoulder") + _lm(lm3d, "right_shoulder"))
    trunk = mid_sh - mid_hip
    return np.degrees(np.arctan2(np.sum(trunk * fwd, axis=-1), np.sum(trunk * up, axis=-1)))


def pelvis_drop_m(lm3d: np.ndarray, up: np.ndarray = WORLD_UP) -> np.ndarray:
    """Left hip height minus right hip height along world up (metres)."""
    return (_lm(lm3d, "left_hip") - _lm(lm3d, "right_hip")) @ up


def compute_angles(lm3d: np.ndarray) -> dict[str, np.ndarray]:
    """Every truth angle channel from 3D landmarks (N,33,3)."""
    return {
        "left_hip_flexion_deg": hip_flexion_deg(lm3d, "left"),
        "right_hip_flexion_deg": hip_flexion_deg(lm3d, "right"),
        "left_knee_flexion_deg": knee_flexion_deg(lm3d, "left"),
        "right_knee_flexion_deg": knee_flexion_deg(lm3d, "right"),
        "trunk_lean_deg": trunk_lean_deg(lm3d),
    }


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class ViewInfo:
    """Where the camera is, relative to the body's heading, and how the person appears."""

    azimuth_deg: float
    elevation_deg: float
    facing: str  # image direction of the person's anterior: left | right | up | down | toward | away
    near_side: str  # body side nearer the camera: left | right
    head: str  # image direction from mid-hip to the head: up | down | left | right
    camera: dict = field(default_factory=dict)  # position_m, look_at_m, focal_px

    def to_dict(self) -> dict:
        """The view as JSON-safe values."""
        return {"azimuth_deg": round(self.azimuth_deg, 2), "elevation_deg": round(self.elevation_deg, 2),
                "facing": self.facing, "near_side": self.near_side, "head": self.head, "camera": self.camera}


@dataclass(frozen=True)
class RepTruth:
    """One repetition: movement start, the middle of the top hold, movement end, time held at the top."""

    index: int
    side: str
    start_s: float
    peak_s: float
    end_s: float
    hold_s: float
    peak_deg: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The rep as JSON-safe values."""
        return {"index": self.index, "side": self.side, "start_s": round(self.start_s, 3),
                "peak_s": round(self.peak_s, 3), "end_s": round(self.end_s, 3), "hold_s": round(self.hold_s, 3),
                "peak_deg": {k: round(v, 2) for k, v in self.peak_deg.items()}}


@dataclass(frozen=True)
class HoldTruth:
    """One held position (for hold exercises)."""

    side: str
    start_s: float
    end_s: float

    @property
    def held_s(self) -> float:
        """How long the hold lasted."""
        return self.end_s - self.start_s

    def to_dict(self) -> dict:
        """The hold as JSON-safe values."""
        return {"side": self.side, "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
                "held_s": round(self.held_s, 3)}


@dataclass(frozen=True)
class FaultTruth:
    """One occurrence of an injected fault."""

    id: str
    side: str
    rep_index: int
    start_s: float
    end_s: float
    metric: str = ""

    def to_dict(self) -> dict:
        """The fault as JSON-safe values."""
        return {"id": self.id, "side": self.side, "rep_index": self.rep_index, "start_s": round(self.start_s, 3),
                "end_s": round(self.end_s, 3), "metric": self.metric}


def _r(a: np.ndarray, nd: int) -> list:
    return np.round(np.asarray(a, float), nd).tolist()


@dataclass(frozen=True, eq=False)  # arrays inside: compare with to_json() or field by field
class Truth:
    """Everything known about a synthetic clip; pixels come later from ``render_clip``."""

    exercise: str
    fault: str | None
    params: dict[str, Any]
    view: ViewInfo
    fps: float
    size: tuple[int, int]
    t_s: np.ndarray  # (N,)
    landmarks_2d_px: np.ndarray  # (N,33,2)
    landmarks_3d_m: np.ndarray  # (N,33,3) world frame, y up, floor at 0
    in_frame: np.ndarray  # (N,33) bool
    angles_deg: dict[str, np.ndarray]
    pelvis_drop_m: np.ndarray  # (N,)
    reps: tuple[RepTruth, ...]
    holds: tuple[HoldTruth, ...]
    faults: tuple[FaultTruth, ...]
    expected: dict[str, Any]
    keyframed: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    scene: Any = field(default=None, repr=False, compare=False)  # what render_clip needs; not serialised

    @property
    def n_frames(self) -> int:
        """Number of frames in the clip."""
        return int(self.t_s.shape[0])

    @property
    def duration_s(self) -> float:
        """The clip's length in seconds."""
        return self.n_frames / self.fps

    @property
    def body_seed(self) -> int:
        """The seed the body shape was drawn with."""
        return int(self.params.get("body_seed", 0))

    @property
    def seed(self) -> int:
        """The seed the clip was generated with."""
        return int(self.params.get("seed", 0))

    def camera(self):
        """The render camera rebuilt from the view record."""
        from formcheck.synth.render import Camera

        c = self.view.camera
        return Camera(tuple(c["position_m"]), tuple(c["look_at_m"]), float(c["focal_px"]), *self.size)

    def landmarks_normalized(self) -> np.ndarray:
        """Image landmarks as MediaPipe reports them: x/width, y/height (N,33,2)."""
        return self.landmarks_2d_px / np.asarray(self.size, float)

    def landmarks_world_mp(self) -> np.ndarray:
        """3D landmarks in MediaPipe's world-landmark convention: hip-centred, camera axes, y down, z away."""
        c = self.camera().to_camera(self.landmarks_3d_m)
        mid = 0.5 * (c[:, Landmark.LEFT_HIP] + c[:, Landmark.RIGHT_HIP])
        return c - mid[:, None, :]

    def to_dict(self) -> dict:
        """The sidecar as plain JSON data (floats rounded to keep files small)."""
        by_side = {"left": 0, "right": 0, "both": 0}
        for r in self.reps:
            by_side[r.side] += 1
        return {
            "schema_version": SCHEMA_VERSION,
            "generator": "formcheck.synth",
            "exercise": self.exercise,
            "fault": self.fault,
            "body_seed": self.body_seed,
            "seed": self.seed,
            "params": self.params,
            "view": self.view.to_dict(),
            "fps": self.fps,
            "size": list(self.size),
            "n_frames": self.n_frames,
            "duration_s": round(self.duration_s, 3),
            "expected": self.expected,
            "reps": [r.to_dict() for r in self.reps],
            "holds": [h.to_dict() for h in self.holds],
            "faults": [f.to_dict() for f in self.faults],
            "frames": {
                "t_s": _r(self.t_s, 4),
                "angles_deg": {k: _r(v, 1) for k, v in self.angles_deg.items()},
                "pelvis_drop_m": _r(self.pelvis_drop_m, 4),
                "landmarks_2d_px": _r(self.landmarks_2d_px, 1),  # 0.1 px and 1 mm: far below the model error
                "landmarks_3d_m": _r(self.landmarks_3d_m, 3),
                "in_frame": self.in_frame.astype(bool).tolist(),
            },
        }

    def to_json(self) -> str:
        """The truth as compact JSON."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict) -> "Truth":
        """A truth from its dict, refusing another schema version."""
        if d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"unsupported sidecar schema_version {d.get('schema_version')!r}; "
                             f"this reader knows {SCHEMA_VERSION}")
        fr = d["frames"]
        v = d["view"]
        return cls(
            exercise=d["exercise"],
            fault=d["fault"],
            params=dict(d.get("params", {"body_seed": d.get("body_seed", 0), "seed": d.get("seed", 0)})),
            view=ViewInfo(float(v["azimuth_deg"]), float(v["elevation_deg"]), v["facing"], v["near_side"],
                          v.get("head", ""), dict(v.get("camera", {}))),
            fps=float(d["fps"]),
            size=(int(d["size"][0]), int(d["size"][1])),
            t_s=np.asarray(fr["t_s"], float),
            landmarks_2d_px=np.asarray(fr["landmarks_2d_px"], float).reshape(-1, 33, 2),
            landmarks_3d_m=np.asarray(fr["landmarks_3d_m"], float).reshape(-1, 33, 3),
            in_frame=np.asarray(fr["in_frame"], bool).reshape(-1, 33),
            angles_deg={k: np.asarray(a, float) for k, a in fr["angles_deg"].items()},
            pelvis_drop_m=np.asarray(fr["pelvis_drop_m"], float),
            reps=tuple(RepTruth(r["index"], r["side"], r["start_s"], r["peak_s"], r["end_s"], r["hold_s"],
                                dict(r.get("peak_deg", {}))) for r in d["reps"]),
            holds=tuple(HoldTruth(h["side"], h["start_s"], h["end_s"]) for h in d["holds"]),
            faults=tuple(FaultTruth(f["id"], f["side"], f["rep_index"], f["start_s"], f["end_s"],
                                    f.get("metric", "")) for f in d["faults"]),
            expected=d["expected"],
        )

    @classmethod
    def from_json(cls, text: str) -> "Truth":
        """A truth from its JSON text."""
        return cls.from_dict(json.loads(text))

    def save(self, path: Path) -> Path:
        """Write the sidecar atomically (temp file in the same folder, then rename)."""
        path = Path(path)
        data = self.to_json().encode()
        atomic_write(path, lambda fh: fh.write(data), binary=True)
        return path

    @classmethod
    def load(cls, path: Path) -> "Truth":
        """From a ``.json`` sidecar, or a gzipped ``.json.gz`` one (the bundled samples)."""
        path = Path(path)
        if path.suffix == ".gz":
            import gzip

            return cls.from_json(gzip.decompress(path.read_bytes()).decode())
        return cls.from_json(path.read_text())
