"""A limb held out is held while it stays out and still, even when the reading drifts from its first peak."""

from __future__ import annotations

import numpy as np

from formcheck.phases import RepCounter, held_samples
from formcheck.spec import load_spec

FPS = 15.0


def driver(segments: list[tuple[float, float]], rest: float = 60.0) -> tuple[np.ndarray, np.ndarray]:
    """A bird dog's hip angle: from ``rest``, each (seconds, value) segment moves linearly to value."""
    t, v = [0.0], [rest]
    for seconds, value in [(2.0, rest)] + segments + [(2.0, rest)]:
        n = int(round(seconds * FPS))
        t += list(t[-1] + np.arange(1, n + 1) * 1000 / FPS)
        v += list(np.linspace(v[-1], value, n + 1)[1:])
    return np.array(t), np.array(v)


def count(segments) -> list:
    counter = RepCounter(load_spec("bird_dog").rep, "left")
    reps = [s.completed for t, v in zip(*driver(segments)) if (s := counter.update(t, v)).completed is not None]
    return reps


def test_a_hold_whose_reading_drifts_back_from_its_peak_is_held_the_whole_time():
    # reach to -15 in 1 s, the 3D reading then drifts 13 deg back within 0.8 s while the leg stays
    # out (as the model reads a bird dog's hip off side-on), held there 2.5 s, then back down
    reps = count([(1.0, -15.0), (0.8, -2.0), (2.5, -2.0), (1.0, 60.0)])
    assert len(reps) == 1
    assert reps[0].hold_s >= 2.5  # in the band of the first peak only about 0.5 s


def test_a_reach_straight_back_down_is_not_a_hold():
    reps = count([(1.0, -20.0), (1.0, 60.0)])
    assert len(reps) == 1 and reps[0].hold_s < 0.5


def test_a_leg_sinking_steadily_from_the_top_is_not_held_while_it_sinks():
    # reached, held 1 s, then sinking 40 deg over 2 s (20 deg/s: faster than a drift, slower than a return)
    reps = count([(1.0, -20.0), (1.0, -20.0), (2.0, 20.0), (1.0, 60.0)])
    assert len(reps) == 1 and reps[0].hold_s < 2.0  # the 1 s at the top and the arrival; the sink would add 2 s


def test_held_samples_needs_a_wobbles_time_before_it_judges_stillness():
    t = np.arange(0, 400, 1000 / FPS)
    e = np.full(len(t), 50.0)  # parked half way from the first sample: too soon to call it still
    assert not held_samples(t, e, level=72.0, peak=80.0, band=8.0, start_ms=0.0).any()
    later = held_samples(t + 1000, e, level=72.0, peak=80.0, band=8.0, start_ms=0.0)
    assert later.all()
