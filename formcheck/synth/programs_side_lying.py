"""Side-lying exercises: hip abduction, clamshell, abductor stretch."""

from __future__ import annotations

PROGRAMS: tuple = ()
