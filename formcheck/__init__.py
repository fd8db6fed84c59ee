"""formcheck: check hip-rehabilitation exercise form from a camera.

The core (types, geometry, smoothing, spec, features, phases, faults, evaluator, report) is pure
Python + numpy; the edges (sources, estimator, models, render, sinks, cli) import OpenCV and
MediaPipe lazily.
"""

__version__ = "0.1.0"
