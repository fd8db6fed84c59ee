"""Coming back from leaning the other way is not a rep (issue 17, double hip rotation).

In a two-way exercise the other side's turn leans this side's driver the other way, beyond the
spec's rest range (the shins tilt toward the knees). Coming back to the middle takes about a
second. The rest was the most rest-like value of the last seconds, which then were the way back:
measured from a value passed on the way, the rest itself read as a rep's excursion once that
value was inside the rest range. From an oblique camera, whose rest sits near the range's far
edge, the false start swallowed the real turn that followed and, having begun inside the other
side's rep, was dropped as its echo: the second side was never counted. Pure: driver values, and
the synthetic body's own landmarks (no model).
"""

from __future__ import annotations

import numpy as np

from formcheck import synth
from formcheck.evaluator import ExerciseEvaluator
from formcheck.phases import RepCounter
from formcheck.spec import load_spec
from kinematics import smooth_step
from test_specs_on_synth import replay

FPS = 15.0


def test_a_rest_after_leaning_the_other_way_is_taken_where_the_driver_comes_to_rest():
    """The right shin rests at 100 (the range is 78-102), leans to 45 while the left side turns,
    comes back in a second, rests 2.5 s, then turns 18 deg and holds: one rep, from its rest."""
    counter = RepCounter(load_spec("double_hip_rotation").rep, "right")
    rng = np.random.default_rng(0)
    t = np.arange(0, 26, 1 / FPS)
    lean = smooth_step((t - 2.0) / 1.0) - smooth_step((t - 10.0) / 1.0)  # other side: 2-11 s
    turn = smooth_step((t - 13.5) / 1.0) - smooth_step((t - 21.5) / 1.0)  # this side: 13.5-22.5 s
    value = 100.0 - 55.0 * lean + 18.0 * turn + rng.normal(0, 0.3, t.size)
    done = [st.completed for ts, v in zip(t, value) if (st := counter.update(ts * 1000, float(v))).completed]
    assert len(done) == 1
    assert 13.0 <= done[0].start_ms / 1000 <= 14.0  # not on the way back (10-11 s)
    assert abs(done[0].rom_deg - 18.0) <= 3.0  # not from a value passed on the way (~40)
    assert done[0].hold_s >= 6.0


def test_the_second_side_starts_where_its_knees_leave_the_middle_filmed_obliquely():
    """The synthetic body's double hip rotation, 35 deg off the feet end: each side's rep starts
    when that side's turn starts, after the other side's rep has ended."""
    spec = load_spec("double_hip_rotation").with_target(hold_s=5.0)
    for body in (1, 2):  # the two bodies whose right rest reads near the rest range's far edge
        truth = synth.generate("double_hip_rotation", reps=1, side="both", view="oblique", body_seed=body,
                               fps=FPS, seed=body, hold_s=6.0)
        ev = ExerciseEvaluator(spec)
        for pose in replay(truth, noise_px=0.5, drop=0.0, seed=body):
            ev.update(pose)
        report = ev.finish()
        assert report.reps_by_side == {"left": 1, "right": 1}
        counted = {r.side: r for r in report.reps}
        assert counted["right"].start_ms >= counted["left"].end_ms
        for rep in truth.reps:
            assert abs(counted[rep.side].start_ms / 1000 - rep.start_s) <= 1.5, (body, rep.side)
