"""Pictures of an exercise's two positions (start, top), drawn from the synthetic body and cached.

A patient reads the instructions better beside a picture of where to start and how far to go.
The pictures are rendered from the same programs the synthetic clips come from (the frame just
before the first rep, and the frame at its peak), so they show what the spec counts. They go to
the user cache (never into the package), keyed by spec id and version, and are re-used; a picture
written by an older drawing (``PICTURE_REVISION``) is redrawn.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from formcheck.errors import OutputError
from formcheck.io import OutputKind, check_output, head_contains, write_files_together

POSITIONS = ("start", "top")
PICTURE_REVISION = 1  # bump when the drawing changes: older cached pictures are then redrawn
_MARKER_PREFIX = "formcheck exercise picture"
MARKER = f"{_MARKER_PREFIX} r{PICTURE_REVISION}"
SCENE_HEIGHT_PX = (280, 400)  # the body is framed to 80% of the picture (synth.fit_camera); the
SCENE_WIDTH_PX = (360, 720)  # picture is narrow for a standing body, wide for a lying one
BANNER_PX = 48
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def is_our_picture(path: Path) -> bool:
    """A PNG formcheck drew (any revision): its text chunk right after the header says so."""
    return head_contains(path, _MARKER_PREFIX, within_bytes=256)


PICTURE_KIND = OutputKind("formcheck exercises", "--pictures", is_our_picture)


@dataclass(frozen=True)
class PositionPicture:
    """One drawn position: its name (start, top), the title drawn on it, and the PNG."""

    position: str
    title: str
    png: bytes


def can_draw(spec_id: str) -> bool:
    """True when the synthetic body has a program for this exercise (every bundled spec has one)."""
    from formcheck.synth import EXERCISES

    return spec_id in EXERCISES


def picture_paths(spec_id: str, version: int, folder: str | Path) -> dict[str, Path]:
    """Where the start and top pictures of one spec version live in ``folder``."""
    return {p: Path(folder) / f"{spec_id}-v{version}-{p}.png" for p in POSITIONS}


def default_folder() -> Path:
    """Where the exercise pictures are kept (beside the cached models)."""
    from formcheck.models import cache_dir

    return cache_dir() / "pictures"


def _titles(kind: str) -> dict[str, str]:
    top = "2. Hold here" if kind == "hold" else "2. Top of the movement"
    return {"start": "1. Start position", "top": top}


def _with_marker(png: bytes) -> bytes:
    """The PNG with a tEXt chunk after its header that marks it as ours (how is_our_picture knows)."""
    if not png.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG")
    ihdr_end = 8 + 4 + 4 + 13 + 4  # signature, then length, type, 13 data bytes and CRC of IHDR
    data = b"Software\x00" + MARKER.encode("ascii")
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def _titled(bgr: np.ndarray, title: str) -> np.ndarray:
    """The frame under a white banner carrying ``title`` (ASCII: OpenCV's fonts have no others)."""
    import cv2

    h, w = bgr.shape[:2]
    out = np.full((h + BANNER_PX, w, 3), 255, np.uint8)
    out[BANNER_PX:] = bgr
    cv2.line(out, (0, BANNER_PX - 1), (w, BANNER_PX - 1), (190, 190, 190), 1)
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.95
    text_w = cv2.getTextSize(title, font, scale, 2)[0][0]
    scale *= min(1.0, (w - 32) / text_w)  # a narrow picture still shows the whole title
    cv2.putText(out, title, (16, BANNER_PX - 15), font, scale, (40, 40, 40), 2, cv2.LINE_AA)
    return out


def draw_positions(spec_id: str, kind: str = "reps") -> list[PositionPicture]:
    """Render the start and top of one rep of ``spec_id`` from the synthetic body, as PNGs.

    One-sided exercises are drawn with the left leg working and the camera on the left, the view
    the spec asks for, so the moving leg is the near one. ValueError for an id synth cannot draw.
    """
    import cv2

    from formcheck.synth import EXERCISES, generate
    from formcheck.synth.body import forward_kinematics
    from formcheck.synth.render import Renderer, body_primitives, finish_image, shadow_samples

    if spec_id not in EXERCISES:
        raise ValueError(f"no pictures for {spec_id!r}: the synthetic body has no program for it")
    program = EXERCISES[spec_id]
    fps = 10.0  # only two frames are drawn; the plan's timing needs no more

    def clip(size: tuple[int, int]):
        return generate(spec_id, reps=1, side="left" if program.unilateral else None, view=program.view,
                        size=size, fps=fps)

    # the picture takes the shape of the body in view (standing: tall, lying: wide), so the camera
    # framing fills it with the body rather than with floor and wall
    probe = clip((SCENE_HEIGHT_PX[1], SCENE_HEIGHT_PX[1]))
    seen = probe.landmarks_2d_px[probe.in_frame]
    aspect = float(np.ptp(seen[:, 0]) / max(np.ptp(seen[:, 1]), 1.0))
    width = int(np.clip(SCENE_HEIGHT_PX[1] * aspect * 1.15, *SCENE_WIDTH_PX)) // 2 * 2
    height = int(np.clip(width / max(aspect, 1e-3) * 1.3, *SCENE_HEIGHT_PX)) // 2 * 2
    truth = clip((width, height))
    rep = truth.reps[0]
    last = truth.n_frames - 1
    frames = {"start": min(int(round(rep.start_s * fps)), last), "top": min(int(round(rep.peak_s * fps)), last)}
    scene = truth.scene
    sk = forward_kinematics(scene.body, scene.pose)
    prims = body_primitives(scene.body, sk)
    shadow_pts, shadow_radii = shadow_samples(scene.body, sk)
    renderer = Renderer(scene.camera, scene.props, scene.room)
    titles = _titles(kind)
    out = []
    for position in POSITIONS:
        k = frames[position]
        bgr = _titled(finish_image(renderer.render(prims, k, shadow_pts[k], shadow_radii)), titles[position])
        ok, buf = cv2.imencode(".png", bgr)
        if not ok:
            raise OutputError("OpenCV could not encode a PNG")
        out.append(PositionPicture(position, titles[position], _with_marker(buf.tobytes())))
    return out


def _is_current(path: Path) -> bool:
    """Drawn by this revision and complete (atomic writes end with IEND; anything else is redrawn)."""
    if not head_contains(path, MARKER, within_bytes=256):
        return False
    try:
        with open(path, "rb") as fh:
            fh.seek(-len(_IEND), 2)
            return fh.read() == _IEND
    except OSError:
        return False


def ensure_pictures(spec_id: str, version: int, kind: str = "reps", folder: str | Path | None = None) -> dict[str, Path]:
    """The start and top pictures of a spec version in ``folder`` (default: the user cache), drawn
    if missing or outdated. Never replaces a file formcheck did not draw (OutputError, naming
    --pictures); ValueError for an id synth cannot draw."""
    paths = picture_paths(spec_id, version, folder if folder is not None else default_folder())
    if all(_is_current(p) for p in paths.values()):
        return paths
    for p in paths.values():
        check_output(p, PICTURE_KIND)
    drawn = {pic.position: pic.png for pic in draw_positions(spec_id, kind)}

    def writer(png: bytes):
        return lambda fh: fh.write(png)

    write_files_together({paths[p]: writer(drawn[p]) for p in POSITIONS}, binary=True, option="--pictures")
    return paths


def picture_bytes(spec_id: str, version: int, kind: str = "reps") -> dict[str, bytes]:
    """The PNGs for a report page: from the cache (filled if need be); drawn in memory when the
    cache cannot be written, since a page must not fail for want of a cache. Empty when the
    exercise has no synthetic program (a user's own spec)."""
    if not can_draw(spec_id):
        return {}
    try:
        paths = ensure_pictures(spec_id, version, kind)
        return {p: path.read_bytes() for p, path in paths.items()}
    except (OutputError, OSError):
        return {pic.position: pic.png for pic in draw_positions(spec_id, kind)}
