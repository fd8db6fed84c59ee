"""The pose backend, chosen by name: which model file an analysis uses, its identity, its estimator.

``pose_backend`` is the one place the estimator is built from a name, a variant and an optional
model file; the analysis commands, live, batch's identity and the synthetic checks all go through
it, so they agree on which file is used and how it is named in reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from formcheck.models import DEFAULT_VARIANT, VARIANTS, ModelError, resolve_model

BACKENDS = ("mediapipe",)


@dataclass(frozen=True)
class MediaPipeBackend:
    """MediaPipe Tasks PoseLandmarker with a resolved ``.task`` bundle."""

    variant: str
    model_path: Path

    name = "mediapipe"

    @cached_property
    def digest(self) -> str:
        """The model file's hash (read once: batch keys every clip on it)."""
        from formcheck.io import sha256_file

        return sha256_file(self.model_path)

    def identity(self) -> str:
        """How batch and the history name the model: file name, variant and the hash's start."""
        return f"{self.model_path.name} ({self.variant}, sha256 {self.digest[:12]})"

    def open(self):
        """A new estimator on this model (the caller closes it)."""
        from formcheck.estimator import MediaPipePoseEstimator

        return MediaPipePoseEstimator(self.model_path, variant=self.variant)


def pose_backend(name: str = "mediapipe", *, variant: str = DEFAULT_VARIANT,
                 model_path: str | Path | None = None) -> MediaPipeBackend:
    """The backend `name` on `variant`'s model, or on `model_path` when given (resolved offline)."""
    if name not in BACKENDS:
        raise ModelError(f"unknown pose backend {name!r}; use one of: {', '.join(BACKENDS)}")
    return MediaPipeBackend(variant, resolve_model(variant, model_path))


def parse_model_option(value: str) -> tuple[str, Path | None]:
    """(variant, model file) for a ``--model`` value: a variant name, or a ``.task`` file run as full."""
    if value in VARIANTS:
        return value, None
    return DEFAULT_VARIANT, Path(value)


def backend_for_model_option(value: str, name: str = "mediapipe") -> MediaPipeBackend:
    """The backend a ``--model`` value (variant or ``.task`` file) asks for."""
    variant, path = parse_model_option(value)
    return pose_backend(name, variant=variant, model_path=path)


def backend_for_options(model: str | Path | None, variant: str = DEFAULT_VARIANT,
                        name: str = "mediapipe") -> MediaPipeBackend:
    """The backend of the ``--model FILE`` / ``--variant NAME`` pair every command takes.

    ``--model lite`` (a variant name, live's old spelling) still means that variant.
    """
    if model is not None and str(model) in VARIANTS:
        return pose_backend(name, variant=str(model))
    return pose_backend(name, variant=variant, model_path=Path(model) if model is not None else None)
