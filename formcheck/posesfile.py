"""Poses files: a clip's landmarks saved once, so re-analysis costs no model time.

A poses file is a NumPy ``.npz`` (zip) with a JSON ``header`` (a 0-d string array) and four
arrays, one row per frame; frames where nobody was found are NaN rows:

- ``timestamp_ms`` (N,) float64
- ``image_xyz_px`` (N, 33, 3) float32: x, y in pixels of the upright frame, z scaled like x
- ``world_xyz_m`` (N, 33, 3) float32: metres, origin between the hips
- ``visibility`` (N, 33) float16
"""

from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from formcheck import __version__
from formcheck.errors import InputError
from formcheck.io import atomic_write
from formcheck.io import AtomicOutput, sha256_file  # noqa: F401  (sha256_file: imported from here too)
from formcheck.skeleton import NUM_LANDMARKS
from formcheck.types import PoseSample

FORMAT = "formcheck-poses"
SCHEMA_VERSION = 1
ARRAYS = ("timestamp_ms", "image_xyz_px", "world_xyz_m", "visibility")
_CHUNK = 4096  # frames per preallocated block: ~3.5 MB, a couple of minutes of video

# What a real poses file can hold. Anything past these is a damaged or hostile file, refused
# with one line before it is inflated or converted (an absurd size overflows int()).
MAX_FRAME_SIDE_PX = 16384  # 16K video
MAX_FPS = 1000.0
MAX_DURATION_MS = 24 * 3600 * 1000.0  # a day
MAX_FRAMES = 24 * 3600 * 240  # a day at 240 fps
MAX_HEADER_BYTES = 1 << 20  # the JSON header is a few hundred bytes
# the most an array member may inflate to per frame: 8-byte floats, the widest a reader accepts,
# plus room for the .npy header; a zip bomb declares far more than this for its frame count
_VALUES_PER_FRAME = {"timestamp_ms": 1, "image_xyz_px": NUM_LANDMARKS * 3, "world_xyz_m": NUM_LANDMARKS * 3,
                     "visibility": NUM_LANDMARKS}
_NPY_HEADER_BYTES = 4096


def source_entry(path: str | os.PathLike, *, with_sha256: bool = True) -> dict:
    """The header's ``source``: the clip's file name and (optionally) its sha256."""
    p = Path(path)
    entry: dict = {"name": p.name}
    if with_sha256:
        entry["sha256"] = sha256_file(p)
    return entry


class PosesWriter(AtomicOutput):
    """Collects PoseSamples and writes the poses file atomically on ``close``.

    ``header`` holds what the caller knows: source ({"name", "sha256"?}), fps, frame_size_px
    [w, h], model_variant, model_sha256. format, schema_version, n_frames and created_by are
    filled in here. As a context manager, an exception inside the block writes nothing.
    """

    def __init__(self, path: str | os.PathLike, header: dict):
        self.path = Path(path)
        self.header = dict(header)
        self._t: list[np.ndarray] = []
        self._img: list[np.ndarray] = []
        self._world: list[np.ndarray] = []
        self._vis: list[np.ndarray] = []
        self._n = 0  # frames written into the last block
        self._total = 0
        self._closed = False
        self._frame_size: tuple[int, int] | None = None

    def update(self, pose: PoseSample) -> None:
        """Append one frame's pose (a missing pose becomes a NaN row)."""
        if self._closed:
            raise RuntimeError("this PosesWriter is closed")
        if not self._t or self._n == _CHUNK:
            self._t.append(np.empty(_CHUNK, np.float64))
            self._img.append(np.empty((_CHUNK, NUM_LANDMARKS, 3), np.float32))
            self._world.append(np.empty((_CHUNK, NUM_LANDMARKS, 3), np.float32))
            self._vis.append(np.empty((_CHUNK, NUM_LANDMARKS), np.float16))
            self._n = 0
        i = self._n
        self._t[-1][i] = pose.timestamp_ms
        if pose.detected:
            self._img[-1][i] = pose.image_xyz_px
            self._world[-1][i] = pose.world_xyz_m
            self._vis[-1][i] = pose.visibility
        else:
            self._img[-1][i] = np.nan
            self._world[-1][i] = np.nan
            self._vis[-1][i] = np.nan
        if self._frame_size is None:
            self._frame_size = (int(pose.frame_size_px[0]), int(pose.frame_size_px[1]))
        self._n += 1
        self._total += 1

    def __len__(self) -> int:
        return self._total

    def _arrays(self) -> dict[str, np.ndarray]:
        def join(blocks: list[np.ndarray]) -> np.ndarray:
            if not blocks:
                return None
            parts = blocks[:-1] + [blocks[-1][: self._n]]
            return np.concatenate(parts) if len(parts) > 1 else parts[0].copy()

        if not self._t:
            return {
                "timestamp_ms": np.empty(0, np.float64),
                "image_xyz_px": np.empty((0, NUM_LANDMARKS, 3), np.float32),
                "world_xyz_m": np.empty((0, NUM_LANDMARKS, 3), np.float32),
                "visibility": np.empty((0, NUM_LANDMARKS), np.float16),
            }
        return {
            "timestamp_ms": join(self._t),
            "image_xyz_px": join(self._img),
            "world_xyz_m": join(self._world),
            "visibility": join(self._vis),
        }

    def _full_header(self) -> dict:
        header = dict(self.header)
        if "frame_size_px" not in header and self._frame_size is not None:
            header["frame_size_px"] = list(self._frame_size)
        header.update(
            {
                "format": FORMAT,
                "schema_version": SCHEMA_VERSION,
                "n_frames": self._total,
                "created_by": f"formcheck {__version__}",
            }
        )
        return header

    def close(self) -> None:
        """Write the file: a temp file in the same folder, fsynced, then renamed over `path` (formcheck.io)."""
        if self._closed:
            return
        self._closed = True
        header_json = json.dumps(self._full_header(), allow_nan=False)
        arrays = self._arrays()
        self._t, self._img, self._world, self._vis = [], [], [], []
        # a file object, so numpy does not append ".npz" to the name
        atomic_write(self.path, lambda fh: np.savez_compressed(fh, header=np.array(header_json), **arrays),
                     binary=True, option="--output")

    def abort(self) -> None:
        """Discard everything; nothing is written."""
        self._closed = True
        self._t, self._img, self._world, self._vis = [], [], [], []



# --- reading ------------------------------------------------------------------------------------


def _bad(path: Path, why: str) -> InputError:
    return InputError(f"{path} is not a usable poses file ({why}): save it again with `formcheck poses`")


def is_poses_file(path: str | os.PathLike) -> bool:
    """True when `path` is a zip with a ``header`` member saying format formcheck-poses."""
    p = Path(path)
    try:
        if not p.is_file():
            return False
        with open(p, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                return False
        with zipfile.ZipFile(p) as zf:
            if "header.npy" not in zf.namelist():
                return False
        return _load_header(p).get("format") == FORMAT
    except (OSError, zipfile.BadZipFile, InputError):
        return False


def _member_sizes(path: Path) -> dict[str, int]:
    """Each member's inflated size as the zip directory declares it (read without inflating)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return {info.filename: info.file_size for info in zf.infolist()}
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise _bad(path, _why(exc)) from None


def _check_member_sizes(path: Path, n_frames: int) -> None:
    """Refuse members that would inflate far past what `n_frames` frames can hold (a zip bomb)."""
    sizes = _member_sizes(path)
    for name, per_frame in _VALUES_PER_FRAME.items():
        size = sizes.get(f"{name}.npy", 0)
        if size > n_frames * per_frame * 8 + _NPY_HEADER_BYTES:
            raise _bad(path, f"{name} would inflate to {size / 1e6:.0f} MB, far more than {n_frames} frames hold")


def _finite_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _load_header(path: Path) -> dict:
    try:
        is_zip = zipfile.is_zipfile(path)
    except OSError as exc:
        raise _bad(path, _why(exc)) from None
    if not is_zip:
        raise _bad(path, "not an .npz (zip) file")
    if _member_sizes(path).get("header.npy", 0) > MAX_HEADER_BYTES:
        raise _bad(path, f"header is larger than {MAX_HEADER_BYTES >> 20} MB")
    try:
        with np.load(path, allow_pickle=False) as z:
            if "header" not in z.files:
                raise _bad(path, "no header")
            raw = z["header"]
    except InputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
        raise _bad(path, _why(exc)) from None
    try:
        header = json.loads(str(raw[()]) if raw.dtype.kind == "U" else bytes(raw).decode("utf-8"))
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise _bad(path, f"unreadable header: {_why(exc)}") from None
    if not isinstance(header, dict):
        raise _bad(path, "header is not a JSON object")
    return header


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_poses_header(path: str | os.PathLike) -> dict:
    """The header of a poses file; InputError if it is not one or its version is unsupported."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"no such file: {p}")
    if p.is_dir():
        raise InputError(f"{p} is a folder, not a poses file: pass the .npz written by `formcheck poses`")
    header = _load_header(p)
    if header.get("format") != FORMAT:
        raise _bad(p, f"format is {header.get('format')!r}, not {FORMAT!r}")
    version = header.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError(
            f"{p} is a poses file of schema version {version}; this formcheck reads version {SCHEMA_VERSION}: "
            "upgrade formcheck or save the poses again"
        )
    size = header.get("frame_size_px")
    if not (isinstance(size, list | tuple) and len(size) == 2
            and all(_finite_number(v) and 1 <= v <= MAX_FRAME_SIDE_PX for v in size)):
        raise _bad(p, f"header has no valid frame_size_px: {size!r} (two sizes of 1..{MAX_FRAME_SIDE_PX} px)")
    n = header.get("n_frames")
    if n is not None and not (isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_FRAMES):
        raise _bad(p, f"header has an impossible n_frames: {n!r}")
    if "ends_early" in header and not (
        header["ends_early"] is True
        and all(isinstance(header.get(k), int) and not isinstance(header.get(k), bool)
                and 0 <= header[k] <= MAX_FRAMES for k in ("frame_count", "frames_decoded"))
    ):
        raise _bad(p, "header's ends_early needs true and whole frame_count and frames_decoded")
    for key in ("fps", "analysis_fps"):
        v = header.get(key)
        if v is not None and not (_finite_number(v) and 0 < v <= MAX_FPS):
            raise _bad(p, f"header has an impossible {key}: {v!r}")
    return header


def _load_arrays(path: Path, header: dict) -> dict[str, np.ndarray]:
    declared = header.get("n_frames")
    if declared is None:  # an older header: the timestamps bound the frame count instead
        declared = min(_member_sizes(path).get("timestamp_ms.npy", 0) // 8, MAX_FRAMES)
    _check_member_sizes(path, declared)
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ARRAYS if k not in z.files]
            if missing:
                raise _bad(path, f"missing {', '.join(missing)}")
            arrays = {k: z[k] for k in ARRAYS}
    except InputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
        raise _bad(path, _why(exc)) from None
    n = arrays["timestamp_ms"].shape[0] if arrays["timestamp_ms"].ndim == 1 else -1
    shapes = {
        "timestamp_ms": (n,),
        "image_xyz_px": (n, NUM_LANDMARKS, 3),
        "world_xyz_m": (n, NUM_LANDMARKS, 3),
        "visibility": (n, NUM_LANDMARKS),
    }
    for k, shape in shapes.items():
        if arrays[k].shape != shape or arrays[k].dtype.kind != "f":
            raise _bad(path, f"{k} has shape {arrays[k].shape} {arrays[k].dtype}, expected {shape} floats")
    if header.get("n_frames") not in (None, n):
        raise _bad(path, f"header says {header.get('n_frames')} frames, arrays hold {n}")
    _check_timestamps(path, arrays["timestamp_ms"])
    return arrays


def _check_timestamps(path: Path, t: np.ndarray) -> None:
    """Frame times must be real, in order and within a day: the analysis divides by them."""
    if not t.size:
        return
    if not np.isfinite(t).all():
        raise _bad(path, "timestamp_ms holds NaN or infinite times")
    if t.size > 1 and not (np.diff(t) > 0).all():
        i = int(np.argmax(np.diff(t) <= 0))
        raise _bad(path, f"timestamp_ms goes backwards or repeats at frame {i + 1} ({t[i]:.1f} -> {t[i + 1]:.1f} ms)")
    if t[0] < 0 or t[-1] > MAX_DURATION_MS:
        raise _bad(path, f"timestamp_ms runs from {t[0]:.0f} to {t[-1]:.0f} ms, outside 0 ms .. 24 h")


def read_poses(path: str | os.PathLike) -> Iterator[PoseSample]:
    """The saved PoseSamples, in order (NaN rows come back as missing poses).

    The file is checked (header, version, array shapes) before the first pose is yielded, and
    problems raise InputError at the call, not at the first ``next``.
    """
    p = Path(path)
    header = read_poses_header(p)
    arrays = _load_arrays(p, header)
    size = (int(header["frame_size_px"][0]), int(header["frame_size_px"][1]))
    return _iter_poses(arrays, size)


def _iter_poses(arrays: dict[str, np.ndarray], size: tuple[int, int]) -> Iterator[PoseSample]:
    t, img, world, vis = (arrays[k] for k in ARRAYS)
    for i in range(t.shape[0]):
        image = img[i].astype(np.float64)
        if not np.isfinite(image[:, :2]).any():
            yield PoseSample.missing(float(t[i]), size)
            continue
        yield PoseSample(
            timestamp_ms=float(t[i]),
            image_xyz_px=image,
            world_xyz_m=world[i].astype(np.float64),
            visibility=np.nan_to_num(vis[i].astype(np.float64), nan=0.0),
            frame_size_px=size,
        )
