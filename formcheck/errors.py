"""Errors about the user's files and devices; each message is one line that says what to do."""

from __future__ import annotations


class InputError(Exception):
    """Bad user input: a missing, corrupt or unsupported file, no camera, an unwritable output.

    The CLI prints the message as one line and exits with code 1.
    """


class OutputError(InputError):
    """An output that cannot be written (unwritable folder, no video encoder, disk full)."""


class CameraLost(InputError):
    """The camera stopped delivering frames in the middle of a session."""
