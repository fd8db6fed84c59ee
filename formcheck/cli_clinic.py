"""Clinician commands: batch, history, export, review."""

from __future__ import annotations


def register(app) -> None:
    """Add the clinician commands to the formcheck app."""
