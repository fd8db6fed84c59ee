"""The pure core runs with OpenCV and MediaPipe unavailable; the edges import them lazily."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCK = textwrap.dedent(
    """
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in ('cv2', 'mediapipe'):
                raise ImportError(f'{name} is blocked in this test')
            return None
    sys.meta_path.insert(0, Block())
    """
)


def run_blocked(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_core_imports_and_runs_without_cv2_and_mediapipe():
    proc = run_blocked(
        """
        import numpy as np
        from formcheck import types, skeleton, geometry, smoothing, spec, features, phases, faults, evaluator, report, session
        from formcheck import posture, recognise, measures, coaching, words, limbs
        from formcheck.web import views
        from formcheck.evaluator import ExerciseEvaluator
        from formcheck.spec import load_spec
        ev = ExerciseEvaluator(load_spec("bridge"))
        for i in range(30):
            ev.update(types.PoseSample.missing(i * 33.3, (640, 480)))
        r = ev.finish()
        assert r.summary()["reps_total"] == 0
        assert "cv2" not in sys.modules and "mediapipe" not in sys.modules
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_edges_import_lazily():
    proc = run_blocked(
        """
        import formcheck.sources, formcheck.estimator, formcheck.render, formcheck.sinks, formcheck.posesfile
        import formcheck.models, formcheck.pipeline, formcheck.cli, formcheck.outputs, formcheck.web.app
        assert "cv2" not in sys.modules and "mediapipe" not in sys.modules
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
