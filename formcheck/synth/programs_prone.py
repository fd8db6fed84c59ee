"""Prone and all-fours exercises: prone hip extension, quadruped hip extension, prone leg abduction."""

from __future__ import annotations

PROGRAMS: tuple = ()
