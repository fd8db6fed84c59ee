"""Lying on the back and standing stretches: supine figure four, double hip rotation, standing IT band stretch."""

from __future__ import annotations

PROGRAMS: tuple = ()
