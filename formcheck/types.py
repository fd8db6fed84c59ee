"""Frozen value types that flow through a session: frames, poses, features, reps, faults."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from formcheck.skeleton import NUM_LANDMARKS


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded image with its presentation time."""

    image_rgb: np.ndarray  # (H, W, 3) uint8
    timestamp_ms: float
    index: int


@dataclass(frozen=True, eq=False)
class PoseSample:
    """Landmarks of one person in one frame; all-NaN arrays when nobody was found.

    ``image_xyz_px``: x, y in pixels of the (upright) frame; z is MediaPipe's relative depth
    scaled like x (smaller = nearer the camera). ``world_xyz_m``: metres, origin between the hips.
    """

    timestamp_ms: float
    image_xyz_px: np.ndarray  # (33, 3)
    world_xyz_m: np.ndarray  # (33, 3)
    visibility: np.ndarray  # (33,) in [0, 1]
    frame_size_px: tuple[int, int]  # (width, height)

    @property
    def detected(self) -> bool:
        """Whether the model found a person in this frame."""
        return bool(np.isfinite(self.image_xyz_px[:, :2]).any())

    @staticmethod
    def missing(timestamp_ms: float, frame_size_px: tuple[int, int]) -> PoseSample:
        """A frame in which no person was found."""
        nan3 = np.full((NUM_LANDMARKS, 3), np.nan)
        return PoseSample(
            timestamp_ms=timestamp_ms,
            image_xyz_px=nan3,
            world_xyz_m=nan3.copy(),
            visibility=np.zeros(NUM_LANDMARKS),
            frame_size_px=frame_size_px,
        )


@dataclass(frozen=True)
class Fault:
    """A form fault: what, where, when, and the measured value against its limit."""

    id: str
    cue: str
    scope: str  # "rep" | "frame"
    side: str  # "left" | "right" | "both"
    start_ms: float
    end_ms: float
    value: float
    limit: float
    rep_index: int | None = None

    def to_dict(self) -> dict:
        """The fault as report.json holds it."""
        return {
            "id": self.id,
            "cue": self.cue,
            "scope": self.scope,
            "side": self.side,
            "start_s": round(self.start_ms / 1000, 3),
            "end_s": round(self.end_ms / 1000, 3),
            "value": _round(self.value),
            "limit": _round(self.limit),
            "rep_index": self.rep_index,
        }


@dataclass(frozen=True)
class RepEvent:
    """One counted repetition (or one completed hold) on one side."""

    index: int  # 0-based across the session
    side: str  # "left" | "right" | "both"
    start_ms: float
    peak_ms: float
    end_ms: float
    rom_deg: float  # driver excursion from the rest position to the peak
    peak_values: dict[str, float]  # every feature at the peak frame
    hold_s: float  # time spent near the peak
    confidence: float  # share of the rep's frames where the driver's landmarks were seen
    faults: tuple[Fault, ...] = ()
    complete: bool = True  # False: the recording ended while this rep was at its peak
    began_before: bool = False  # True: under way, or held, when the recording started
    direction: str = "increase"  # which way the driver went (a spec with direction: either counts both)

    @property
    def duration_s(self) -> float:
        """The rep's duration in seconds."""
        return (self.end_ms - self.start_ms) / 1000

    def to_dict(self) -> dict:
        """The rep as report.json holds it."""
        return {
            "index": self.index,
            "side": self.side,
            "start_s": round(self.start_ms / 1000, 3),
            "peak_s": round(self.peak_ms / 1000, 3),
            "end_s": round(self.end_ms / 1000, 3),
            "duration_s": round(self.duration_s, 3),
            "rom_deg": _round(self.rom_deg),
            "peak_deg": {k: _round(v) for k, v in self.peak_values.items()},
            "hold_s": round(self.hold_s, 2),
            "confidence": round(self.confidence, 3),
            "faults": [f.id for f in self.faults],
            "complete": self.complete,
            "began_before_recording": self.began_before,
            "direction": self.direction,
        }


@dataclass(frozen=True)
class FeatureKey:
    """A feature's name and, for one measured on each leg, which leg: ``str()`` is its written form.

    The written form ("hip_flexion.left", or "trunk_lean" for a side-less feature) keys the per-frame
    values and the report's series, so it is built and read here and nowhere else.
    """

    name: str
    side: str | None = None

    def __str__(self) -> str:
        return self.name if self.side is None else f"{self.name}.{self.side}"

    @classmethod
    def parse(cls, text: str) -> FeatureKey:
        """The key a written form names (feature names have no dots: see the spec's ID_PATTERN)."""
        name, dot, side = text.partition(".")
        return cls(name, side if dot else None)


@dataclass(frozen=True, eq=False)
class FeatureFrame:
    """The spec's named measurements for one frame (NaN where the landmarks were not seen)."""

    timestamp_ms: float
    values: dict[str, float]
    posture_ok: bool  # body in the spec's posture (e.g. lying for a bridge)
    detected: bool


def feature_value(frame: FeatureFrame, name: str, side: str) -> float:
    """A feature's value for a counter side ("left", "right" or "both"): its own leg's, else the side-less one."""
    v = frame.values.get(str(FeatureKey(name, side)))
    return frame.values.get(str(FeatureKey(name)), np.nan) if v is None else v


@dataclass(frozen=True)
class PhaseChange:
    """The rep counter moved from one phase to another at this time."""
    timestamp_ms: float
    side: str
    phase: str


@dataclass(frozen=True, eq=False)
class FrameResult:
    """Everything the evaluator knows after one frame: what the overlay and sinks draw."""

    pose: PoseSample
    features: FeatureFrame
    phases: dict[str, str]  # counter side -> phase name
    counts: dict[str, int]  # counter side -> reps so far
    hold_s: float  # current time held in the target position (0 when not holding)
    new_reps: tuple[RepEvent, ...] = ()
    new_faults: tuple[Fault, ...] = ()
    active_cues: tuple[str, ...] = field(default=())
    notices: tuple[str, ...] = ()  # one-off warnings (wrong view, out of frame)


def _round(x: float, nd: int = 1) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


# which keys each kind of source writes, in report.json's order; a starred key is written even
# when None (its null means something: no analysis rate, an older poses file), the rest only when set
_SOURCE_LAYOUT = {
    "video": ("path*", "kind*", "fps*", "frame_count*", "frame_size_px*", "rotation_deg*", "model_variant*",
              "model*", "analysis_fps*", "frames_decoded", "ends_early", "exercise_auto"),
    "poses": ("path*", "kind*", "source*", "fps*", "frame_size_px*", "model_variant*", "analysis_fps*",
              "frame_count", "frames_decoded", "ends_early", "exercise_auto"),
    "played": ("path*", "kind*", "played*", "fps*", "frame_count*", "frame_size_px*", "rotation_deg*",
               "model_variant", "model", "live"),
    "camera": ("kind*", "camera*", "frame_size_px*", "model_variant", "model", "live"),
}


@dataclass(frozen=True)
class SourceInfo:
    """What a session analysed: a video file, a poses file, or a camera (or a file played as one).

    ``to_dict`` is the report's ``source`` object; ``recorded_from`` is a poses file's own
    ``source`` (the clip it was saved from), ``played`` is "live" for a file standing in for a camera.
    """

    kind: str  # "video", "poses" or "camera"
    path: str | None = None
    camera: int | None = None
    played: str | None = None
    recorded_from: dict | None = None
    fps: float | None = None
    frame_count: int | None = None
    frame_size_px: tuple[int, int] | None = None
    rotation_deg: int | None = None
    model_variant: str | None = None
    model: str | None = None  # the model file's name
    analysis_fps: float | None = None
    frames_decoded: int | None = None
    ends_early: bool | None = None  # True, or None: only a short file says so
    live: dict | None = None  # a live session's frame counts and latencies
    exercise_auto: dict | None = None  # the exercise recognised when none was named

    def _layout(self) -> tuple[str, ...]:
        if self.kind == "video" and self.played is not None:
            return _SOURCE_LAYOUT["played"]
        if self.kind not in _SOURCE_LAYOUT:
            raise ValueError(f"unknown source kind {self.kind!r}")
        return _SOURCE_LAYOUT[self.kind]

    def to_dict(self) -> dict:
        """The report's ``source`` object (keys in the order report.json has always had)."""
        out = {}
        for entry in self._layout():
            key = entry.rstrip("*")
            value = getattr(self, "recorded_from" if key == "source" else key)
            if value is None and not entry.endswith("*"):
                continue
            out[key] = list(value) if key == "frame_size_px" and value is not None else value
        return out

    @classmethod
    def from_dict(cls, d: dict) -> SourceInfo:
        """The inverse of ``to_dict`` (a report's ``source`` object read back)."""
        fields = {("recorded_from" if k == "source" else k): v for k, v in d.items()}
        if fields.get("frame_size_px") is not None:
            fields["frame_size_px"] = tuple(fields["frame_size_px"])
        return cls(**fields)
