"""A stand-in for the live window's newest-view slot that keeps every view (tests pick their moment)."""

from __future__ import annotations


class ViewLog:
    """The window's view slot, keeping every view."""

    def __init__(self):
        self.views = []

    def put(self, view) -> None:
        self.views.append(view)

    def close(self) -> None:
        pass
