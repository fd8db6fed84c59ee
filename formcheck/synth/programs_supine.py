"""Lying on the back: supine leg raise, pelvic tilt, knee to chest."""

from __future__ import annotations

PROGRAMS: tuple = ()
