"""Standing exercises beyond the first three: hip flexion, hip circles, hip abduction."""

from __future__ import annotations

PROGRAMS: tuple = ()
