"""formcheck: check hip-rehabilitation exercise form from a camera.

The core (types, geometry, smoothing, spec, features, phases, faults, evaluator, report) is pure
Python + numpy; the edges (sources, estimator, models, render, sinks, cli) import OpenCV and
MediaPipe lazily.

Use it from Python::

    import formcheck

    report = formcheck.analyse_clip("clip.mp4", "bridge", reps=10, hold_s=2)
    print(report.summary())          # reps per side, mean hold, faults
    for rep in report.reps:          # RepEvent: side, start/peak/end times, range, hold, faults
        print(rep.side, rep.rom_deg, rep.hold_s, [f.id for f in rep.faults])

``analyse_poses`` counts poses from any source, ``load_spec``/``spec_ids`` read the exercise
library and ``read_report`` reads a report.json back. Heavy modules load on first use.
"""

__version__ = "0.1.0"

__all__ = ["SessionReport", "analyse_clip", "analyse_poses", "load_spec", "read_report", "spec_ids"]

_EXPORTS = {
    "analyse_clip": "formcheck.api", "analyse_poses": "formcheck.api", "read_report": "formcheck.api",
    "load_spec": "formcheck.spec", "spec_ids": "formcheck.spec", "SessionReport": "formcheck.report",
}


def __getattr__(name: str):
    # lazy: `import formcheck` stays cheap for the CLI's --help and for the pure-core tests
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'formcheck' has no attribute {name!r}; public: {', '.join(__all__)}")
    import importlib

    return getattr(importlib.import_module(module), name)
