"""The live window, the edge of the live display: composing a ``View`` into a picture, the OpenCV
window (the only place that calls imshow and waitKey), the main thread's loop, and screenshots.

OpenCV is imported lazily.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from formcheck.live_capture import EndOfStream, NewestFrame
from formcheck.live_display import View
from formcheck.session import interrupt_requested

DISPLAY_MIN_WIDTH_PX = 640  # small camera frames are shown enlarged so the overlay stays readable
DISPLAY_MAX_WIDTH_PX = 1280
END_SCREEN_S = 15.0  # the last end-of-set screen stays in the window this long, or until a key


def display_available() -> bool:
    """Whether a window can open here (on Linux, Qt aborts the process without a display)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def display_size(width_px: int, height_px: int) -> tuple[int, int]:
    """The size a frame is shown at: small frames enlarged to 640 wide, big ones shrunk to 1280."""
    scale = 1.0
    if width_px < DISPLAY_MIN_WIDTH_PX:
        scale = DISPLAY_MIN_WIDTH_PX / width_px
    elif width_px > DISPLAY_MAX_WIDTH_PX:
        scale = DISPLAY_MAX_WIDTH_PX / width_px
    return max(1, round(width_px * scale)), max(1, round(height_px * scale))


class Composer:
    """Turns a View into the picture the window shows (one overlay renderer per exercise)."""

    def __init__(self):
        self._renderer = None

    def update(self, view: View) -> np.ndarray:
        """Draw the view's overlay on its frame, scaled to the display size; returns the picture."""
        from formcheck.render import OverlayRenderer
        from formcheck.sources import load_cv2

        cv2 = load_cv2()
        if self._renderer is None or self._renderer.spec is not view.spec:
            self._renderer = OverlayRenderer(view.spec)
        h, w = view.image_rgb.shape[:2]
        size = display_size(w, h)
        image = view.image_rgb if size == (w, h) else cv2.resize(view.image_rgb, size, interpolation=cv2.INTER_LINEAR)
        if image is view.image_rgb:
            image = image.copy()
        return self._renderer.update(image, view.result, fps=view.fps, latency_ms=view.latency_ms,
                                     inplace=True, live=view.overlay)


class LiveWindow:
    """The OpenCV window: the only place that calls imshow and waitKey."""

    KEYS = {ord("q"): "quit", ord("Q"): "quit", 27: "quit", ord(" "): "pause", ord("p"): "pause",
            ord("r"): "reset", ord("R"): "reset", ord("n"): "next", ord("N"): "next",
            ord("f"): "fullscreen", ord("F"): "fullscreen"}

    def __init__(self, title: str = "formcheck live"):
        from formcheck.sources import load_cv2

        self.title = title
        self._cv2 = load_cv2()
        self._open = False
        self.fullscreen = False

    def show(self, image_rgb: np.ndarray) -> None:
        """Show an RGB picture, opening the window on the first one."""
        cv2 = self._cv2
        if not self._open:
            # resizable (the picture scales with the window, its shape kept): seen from 2-3 m away,
            # the person makes it as big as the screen allows
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | getattr(cv2, "WINDOW_GUI_NORMAL", 0))
            cv2.resizeWindow(self.title, image_rgb.shape[1], image_rgb.shape[0])
            self._open = True
        cv2.imshow(self.title, cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))

    def toggle_fullscreen(self) -> None:
        """The f key: fill the screen, or back to a window."""
        if not self._open:
            return
        cv2 = self._cv2
        self.fullscreen = not self.fullscreen
        cv2.setWindowProperty(self.title, cv2.WND_PROP_FULLSCREEN,
                              cv2.WINDOW_FULLSCREEN if self.fullscreen else cv2.WINDOW_NORMAL)

    def key(self, wait_ms: int = 1) -> str | None:
        """The command of a key pressed (None: none), waiting at most `wait_ms`."""
        k = self._cv2.waitKey(wait_ms)
        return None if k < 0 else self.KEYS.get(k & 0xFF)

    def closed(self) -> bool:
        """The person closed the window with its close button."""
        if not self._open:
            return False
        return self._cv2.getWindowProperty(self.title, self._cv2.WND_PROP_VISIBLE) < 1

    def close(self) -> None:
        """Close the window if it is open."""
        if self._open:
            self._cv2.destroyWindow(self.title)
            self._cv2.waitKey(1)
            self._open = False


@dataclass
class Screen:
    """The main thread's picture state: the window (None: screenshots only) and the last picture composed."""

    window: LiveWindow | None
    composer: Composer = field(default_factory=Composer)
    last: np.ndarray | None = None
    shown: int = 0


def show_views(screen: Screen, display: NewestFrame, session) -> None:
    """The main thread's loop until the views end: draw the newest, show it, turn keys into ``session.command``s.

    Ctrl-C and the window's close button reach the session as ``cut()`` and ``command("quit")``.
    """
    while True:
        if interrupt_requested():
            session.cut()
        try:
            view = display.take(0.02)
        except EndOfStream:
            return
        try:
            if view is not None:
                screen.last = screen.composer.update(view)
                screen.shown += 1
                if screen.window is not None:
                    screen.window.show(screen.last)
            if screen.window is not None:
                command = screen.window.key(1)
                if command == "fullscreen":
                    screen.window.toggle_fullscreen()
                elif command is not None:
                    session.command(command)
                if screen.window.closed():
                    session.command("quit")
        except KeyboardInterrupt:
            session.cut()


def linger(window: LiveWindow, image_rgb: np.ndarray, *, clock: Callable[[], float] = time.monotonic) -> None:
    """Keep the end-of-set screen up until a key, the window's close button or END_SCREEN_S."""
    until = clock() + END_SCREEN_S
    window.show(image_rgb)
    while clock() < until and not interrupt_requested():
        command = window.key(100)
        if command == "fullscreen":
            window.toggle_fullscreen()
        elif command is not None or window.closed():
            return


def write_png(path: Path, image_rgb: np.ndarray) -> Path:
    """Save an RGB image as PNG, atomically."""
    from formcheck.errors import OutputError
    from formcheck.io import atomic_write
    from formcheck.sources import load_cv2

    cv2 = load_cv2()
    ok, data = cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OutputError(f"cannot encode {path} as PNG")
    return atomic_write(Path(path), lambda fh: fh.write(data.tobytes()), binary=True)
