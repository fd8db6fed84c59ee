"""`formcheck live`: coaching from a webcam (or a file standing in for one)."""

from __future__ import annotations


def register(app) -> None:
    """Add the live command to the formcheck app."""
