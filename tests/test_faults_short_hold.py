"""A held rep is not split by the model exchanging the legs' labels for a moment (issue 17).

On rendered clips through the model (a standing hip abduction filmed obliquely), the labels of
the two legs were exchanged for about a quarter of a second in the middle of a held rep: the
working leg's driver read rest for a frame and the other leg's read the lift. That split one rep
into two with a false ``short_hold`` (and ``too_fast``) on each, and gave the other leg a rep.
Rest, like the top, is a position held for ``min_dwell_s``: a frame or two read there is no
lowering. Pure: joint angles in, counts out.
"""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.evaluator import ExerciseEvaluator
from formcheck.spec import load_spec
from kinematics import pose_2d, rep_wave, stream, swap_leg_labels

FPS = 15.0  # the rendered clips' rate, the default analysis rate
RISE_S, HOLD_S, FALL_S = 0.8, 1.4, 0.8


def extensions(n: int, *, exchanged: list[tuple[float, float]] = ()) -> list[np.ndarray]:
    """Standing hip extensions of the right leg held HOLD_S; ``exchanged``: (start s, length s) spans
    in which the model gives each leg the other's labels."""
    period = RISE_S + HOLD_S + FALL_S + 1.5
    t = np.arange(int((1.5 + n * period) * FPS)) / FPS
    wave = rep_wave(t, [1.5 + i * period for i in range(n)], RISE_S, HOLD_S, FALL_S)
    frames = []
    for ti, x in zip(t, wave):
        pts = pose_2d(posture="standing", hip_flex=(0.0, -25.0 * x))
        if any(s <= ti < s + length for s, length in exchanged):
            pts = swap_leg_labels(pts)
        frames.append(pts)
    return frames


def analyse(frames):
    ev = ExerciseEvaluator(load_spec("standing_hip_extension").with_target(hold_s=1.0))
    for s in stream(frames, FPS, noise_px=0.8):
        ev.update(s)
    return ev.finish()


def _exchange_in_hold(rep: int) -> tuple[float, float]:
    """Four frames of exchanged labels 0.6 s into the hold of rep ``rep`` (0-based)."""
    period = RISE_S + HOLD_S + FALL_S + 1.5
    return 1.5 + rep * period + RISE_S + 0.6, 4 / FPS


def test_clean_holds_count_one_rep_each_without_faults():
    report = analyse(extensions(2))
    assert report.reps_by_side == {"left": 0, "right": 2}
    assert not report.faults


@pytest.mark.parametrize("reps", [[0], [0, 1]])
def test_labels_exchanged_for_a_moment_in_a_hold_neither_split_it_nor_count_the_other_leg(reps):
    report = analyse(extensions(2, exchanged=[_exchange_in_hold(i) for i in reps]))
    assert report.reps_by_side == {"left": 0, "right": 2}
    assert not [f.id for f in report.faults if f.id in ("short_hold", "too_fast")]
    assert all(r.hold_s >= 1.0 for r in report.reps)


def test_a_real_lowering_between_two_holds_still_ends_the_first():
    """Lowered to rest and lifted again, however quickly: two reps."""
    period = RISE_S + HOLD_S + FALL_S + 1.5
    t = np.arange(int(6 * FPS)) / FPS
    # the first lift falls back to rest 0.6 s into its hold and rests 0.5 s before the next lift
    wave = np.maximum(rep_wave(t, [1.0], RISE_S, 0.6, 0.4), rep_wave(t, [1.0 + RISE_S + 0.6 + 0.4 + 0.5], RISE_S, HOLD_S, FALL_S))
    assert period > 0 and wave.max() > 0.99
    report = analyse([pose_2d(posture="standing", hip_flex=(0.0, -25.0 * x)) for x in wave])
    assert report.reps_by_side == {"left": 0, "right": 2}
