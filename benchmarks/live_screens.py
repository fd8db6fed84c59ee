"""Screenshots of the live coaching window: set-up, mid-set with a fault, and the end-of-set screen.

A synthetic standing hip extension (left leg, knee bent on every rep: a fault with a side) is
rendered at each screen size and driven through `formcheck live`'s own session thread, its poses
taken from the clip's ground truth (no model needed). The window's pictures are composed exactly
as the live window composes them, then shown as a full-screen window would show them:

- ``--xvfb``: in a real OpenCV window, full-screen on an Xvfb display of that size, grabbed from the
  X server (needs Xvfb and xwd: ``apt-get install xvfb x11-apps``);
- otherwise offscreen: the composed picture scaled to the screen, which is what the full-screen
  window shows.

    python benchmarks/live_screens.py [--out formcheck-screens] [--sizes 1280x720,1920x1080] [--xvfb]
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXERCISE, FAULT, SIDE = "standing_hip_extension", "knee_bent", "left"


def session_views(size: tuple[int, int]):
    """Every view the live session thread gives the window for the synthetic set, the clip's
    truth, and which clip frame each view shows (by its timestamp).

    The views carry a plain canvas: rendering every frame of the clip takes minutes, so only the
    frames a screenshot shows are rendered (``with_picture``).
    """
    from formcheck import pipeline, synth
    from formcheck.live import LiveCoach, LiveOptions
    from formcheck.live_capture import Captured, LivePose, StreamEnd
    from formcheck.live_display import ViewLog
    from formcheck.live_routine import RoutineItem
    from formcheck.types import Frame, PoseSample, SourceInfo

    truth = synth.generate(EXERCISE, reps=3, side=SIDE, fault=FAULT, view=synth.spec_view(EXERCISE), fps=15, size=size)
    world = truth.landmarks_world_mp()
    q: queue.Queue = queue.Queue()
    log = ViewLog()
    item = RoutineItem(EXERCISE, reps=3, side=SIDE)
    coach = LiveCoach([item], lambda it: pipeline.build_evaluator(it.exercise, it.side, reps=it.reps, hold_s=it.hold_s),
                      q, source=SourceInfo(kind="camera", camera=0), out_dir=None,
                      options=LiveOptions(setup=True, settle_s=0.5, countdown_s=1.0), display=log)
    # stand still for the set-up first (the clip's first frame), then the set, then stand still again
    order = [0] * int(2.5 * truth.fps) + list(range(truth.n_frames)) + [truth.n_frames - 1] * int(1.0 * truth.fps)
    canvas = np.full((size[1], size[0], 3), 60, np.uint8)
    shown = {}
    for seq, i in enumerate(order):
        t_ms = seq * 1000.0 / truth.fps
        shown[t_ms] = i
        xyz = np.concatenate([truth.landmarks_2d_px[i], world[i][:, 2:3] * size[0] / 2], axis=1)
        pose = PoseSample(t_ms, xyz, world[i], np.ones(33), truth.size)
        q.put(LivePose(Captured(Frame(canvas, t_ms, seq), seq, seq / truth.fps), pose, seq / truth.fps, seq / truth.fps))
    q.put(StreamEnd())
    coach.start()
    coach.join(600)
    if coach.error is not None:
        raise coach.error
    return log.views, truth, shown


def with_picture(view, truth, shown: dict):
    """The view with the clip's own rendered frame in place of the canvas."""
    from dataclasses import replace

    from formcheck.synth import _scene_of
    from formcheck.synth.body import forward_kinematics
    from formcheck.synth.render import Renderer, body_primitives, finish_image, shadow_samples

    i = shown[view.result.pose.timestamp_ms]
    scene = _scene_of(truth)
    sk = forward_kinematics(scene.body, scene.pose)
    sp, sr = shadow_samples(scene.body, sk)
    bgr = finish_image(Renderer(scene.camera, scene.props, scene.room).render(body_primitives(scene.body, sk), i, sp[i], sr),
                       0.0, None, np.random.default_rng(0))
    # the corner's frame rate and latency describe this script's replay, not a camera: left out
    return replace(view, image_rgb=np.ascontiguousarray(bgr[..., ::-1]), fps=None, latency_ms=None)


def pick(views) -> dict[str, object]:
    """The three moments: set-up guidance, a fault's cue on screen, the end-of-set screen."""
    setup = next(v for v in views if v.overlay.message and v.overlay.countdown_s is None)
    faults = [v for v in views if v.overlay.coach is not None and v.overlay.coach.cue is not None
              and v.overlay.coach.cue.tone == "fault" and v.overlay.summary is None
              and any(p != "down" for p in v.result.phases.values())]  # mid-rep
    end = [v for v in views if v.overlay.summary is not None][-1]
    return {"setup": setup, "fault": faults[min(len(faults) - 1, 4)], "end": end}


def compose(view) -> np.ndarray:
    from formcheck.live_window import Composer

    return Composer().update(view)


def fit_screen(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """What a full-screen window (shape kept) shows: the picture scaled to the screen, black bars."""
    import cv2

    w, h = size
    ih, iw = image.shape[:2]
    scale = min(w / iw, h / ih)
    sw, sh = int(round(iw * scale)), int(round(ih * scale))
    out = np.zeros((h, w, 3), np.uint8)
    x, y = (w - sw) // 2, (h - sh) // 2
    out[y:y + sh, x:x + sw] = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_LINEAR)
    return out


def grab_xvfb(images: dict[str, np.ndarray], size: tuple[int, int], out: Path, suffix: str = "") -> dict[str, Path]:
    """Show each picture full-screen in the live window on an Xvfb display and grab the screen."""
    w, h = size
    display = f":{97 + (w % 7)}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{w}x{h}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        socket = Path(f"/tmp/.X11-unix/X{display[1:]}")
        for _ in range(600):  # until the server listens (polled)
            if socket.exists() or xvfb.poll() is not None:
                break
            time.sleep(0.05)
        if xvfb.poll() is not None:
            raise SystemExit(f"Xvfb {display} did not start")
        env = {**os.environ, "DISPLAY": display}
        with tempfile.TemporaryDirectory() as tmp:
            paths = {}
            for name, image in images.items():
                src = Path(tmp) / f"{name}.npy"
                np.save(src, image)
                xwd = Path(tmp) / f"{name}.xwd"
                subprocess.run([sys.executable, __file__, "--show", str(src), "--grab", str(xwd), "--screen", f"{w}x{h}"],
                               env=env, check=True, timeout=300)
                paths[name] = _xwd_to_png(xwd, out / f"live-{name}-{w}x{h}{suffix}.png")
            return paths
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def _show_and_grab(src: Path, xwd: Path, screen_wh: tuple[int, int]) -> None:
    """In the Xvfb display: the live window, full-screen, showing the picture; then xwd of the screen.

    Xvfb has no window manager to honour the f key's full-screen request, so the window is sized
    to the screen, which is what full-screen does. The X server draws when it gets to it: the
    screen is grabbed until it shows the picture (polled, never a fixed wait).
    """
    import cv2

    from formcheck.live_window import LiveWindow

    image = np.load(src)
    window = LiveWindow("formcheck live")
    for _ in range(400):
        window.show(image)
        cv2.resizeWindow(window.title, *screen_wh)
        window.key(50)
        subprocess.run(["xwd", "-root", "-silent", "-out", str(xwd)], check=True, timeout=60)
        screen = _read_xwd(xwd)
        small = cv2.resize(screen, (64, 36), interpolation=cv2.INTER_AREA).astype(int)
        want = cv2.resize(fit_screen(image, screen_wh), (64, 36), interpolation=cv2.INTER_AREA).astype(int)
        if np.abs(small - want).mean() < 12:
            break
    else:
        raise SystemExit(f"the window never showed the picture on the Xvfb screen (mean difference "
                         f"{np.abs(small - want).mean():.1f}; last screen in {xwd})")
    window.close()


def _read_xwd(xwd: Path) -> np.ndarray:
    """An xwd screen dump (ZPixmap, 32 bits per pixel, either byte order) as RGB."""
    import struct

    data = xwd.read_bytes()
    header = struct.unpack(">25I", data[:100])
    header_size, width, height, byte_order = header[0], header[4], header[5], header[7]
    bytes_per_line, ncolors = header[12], header[19]
    start = header_size + ncolors * 12
    pixels = np.frombuffer(data, np.uint8, count=bytes_per_line * height, offset=start).reshape(height, bytes_per_line)
    px = pixels[:, : width * 4].reshape(height, width, 4)
    rgb = px[..., 2::-1] if byte_order == 0 else px[..., 1:4]  # LSBFirst: B G R X; MSBFirst: X R G B
    return np.ascontiguousarray(rgb)


def _xwd_to_png(xwd: Path, png: Path) -> Path:
    from formcheck.live_window import write_png

    return write_png(png, _read_xwd(xwd))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("formcheck-screens"))
    ap.add_argument("--sizes", default="1280x720,1920x1080")
    ap.add_argument("--xvfb", action="store_true", help="grab a real full-screen window on Xvfb")
    ap.add_argument("--lang", default="en", help="cue language (files get a -LANG suffix unless en)")
    ap.add_argument("--show", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--grab", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--screen", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.show is not None:
        return _show_and_grab(args.show, args.grab, tuple(int(v) for v in args.screen.split("x")))
    from formcheck.lang import ENGLISH, use
    from formcheck.live_window import write_png

    suffix = "" if use(args.lang) == ENGLISH else f"-{args.lang}"
    if args.xvfb and not (shutil.which("Xvfb") and shutil.which("xwd")):
        sys.exit("--xvfb needs Xvfb and xwd: apt-get install xvfb x11-apps")
    for size_text in args.sizes.split(","):
        w, h = (int(v) for v in size_text.lower().split("x"))
        t0 = time.monotonic()
        views, truth, shown = session_views((w, h))
        shots = {name: compose(with_picture(v, truth, shown)) for name, v in pick(views).items()}
        if args.xvfb:
            saved = grab_xvfb(shots, (w, h), args.out, suffix)
        else:
            saved = {name: write_png(args.out / f"live-{name}-{w}x{h}{suffix}.png", fit_screen(img, (w, h)))
                     for name, img in shots.items()}
        how = "Xvfb window" if args.xvfb else "offscreen"
        print(f"{w}x{h} ({how}, {time.monotonic() - t0:.0f} s): " + ", ".join(str(p) for p in saved.values()))


if __name__ == "__main__":
    main()
