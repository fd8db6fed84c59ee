"""Sitting and kneeling: butterfly stretch, seated figure four, kneeling hip flexor stretch."""

from __future__ import annotations

PROGRAMS: tuple = ()
