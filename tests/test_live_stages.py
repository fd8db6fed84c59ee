"""The live stages one at a time, on scripted frames (no threads, no clock, no window): the stream's
keys, pause and set-up gating, the telemetry's counts, the display's previews and the coach's cues."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.live_capture import Captured, LivePose
from formcheck.live_coach import CoachSink, Voice
from formcheck.live_display import LiveDisplay
from formcheck.live_setup import SetupState
from formcheck.live_stream import NEXT, QUIT, CurrentExercise, LiveStream, Restart
from formcheck.live_telemetry import FrameCounts, Meter, Telemetry
from formcheck.render import LiveOverlay
from formcheck.spec import load_spec
from formcheck.speech import PRIORITY_COUNT
from formcheck.types import FeatureFrame, Frame, FrameResult, RepEvent
from kinematics import pose_2d, sample

BRIDGE = load_spec("bridge")


def live_pose(seq: int, *, captured_s: float | None = None, model_ms: float = 20.0) -> LivePose:
    t_s = seq / 30 if captured_s is None else captured_s
    pose = sample(seq * 1000 / 30, pose_2d(posture="supine"))
    return LivePose(Captured(Frame(np.zeros((4, 4, 3), np.uint8), pose.timestamp_ms, seq), seq, t_s), pose,
                    t_s + 0.001, t_s + 0.001 + model_ms / 1000)


def stream_for(*, setup=None, last_seq: int = -1, total: int = 1, events=None, said=None) -> LiveStream:
    exercise = CurrentExercise(BRIDGE, 1, total)
    return LiveStream(exercise, setup=setup, last_seq=last_seq, say=(said if said is not None else []).append,
                      on_event=lambda kind, text: (events if events is not None else []).append((kind, text)))


def test_stream_holds_back_paused_frames_and_counts_them_apart():
    events = []
    stream = stream_for(last_seq=9, events=events)  # an exercise before this one took frames 0-9
    gated = {}
    for seq in range(10, 24, 2):  # every other frame reaches the stream: the rest were dropped
        if seq == 14:
            assert stream.command("pause") is None and stream.gating
        if seq == 18:
            assert stream.command("pause") is None and not stream.gating
        gated[seq] = stream.update(live_pose(seq))
    analysed = [s for s, overlay in gated.items() if overlay is None]
    assert analysed == [10, 12, 18, 20, 22]
    assert gated[14].tone == "paused" and gated[16].tone == "paused" and "space to go on" in gated[14].message
    assert events == [("stage", "paused"), ("stage", "going on")]
    # frames 10-22 captured; 13-17 (after the last analysed one up to the last paused) were shown paused
    assert stream.counts() == FrameCounts(captured=13 - 5, analysed=5, paused=5)
    assert stream.last_seq == 22


def test_stream_keys_end_or_restart_the_exercise():
    stream = stream_for()
    assert stream.command("quit") == QUIT and stream.command("next") == NEXT
    with pytest.raises(Restart):
        stream.command("reset")
    with pytest.raises(ValueError, match="valid: quit, pause, reset, next"):
        stream.command("jump")


class ScriptedGuide:
    """Set-up states in a fixed order, one per pose."""

    def __init__(self, states):
        self.states = list(states)

    def update(self, pose) -> SetupState:
        return self.states.pop(0)


def test_stream_counts_only_from_the_frame_set_up_says_go():
    events, said = [], []
    guide = ScriptedGuide([SetupState("setup", "Step into the camera's view"), SetupState("setup", "Good, hold still"),
                           SetupState("countdown", "Lie on your back", 2.0), SetupState("countdown", "Lie on your back", 1.0),
                           SetupState("go", "Go")])
    stream = stream_for(setup=guide, total=3, events=events, said=said)
    overlays = [stream.update(live_pose(seq)) for seq in range(7)]
    assert [o is None for o in overlays] == [False] * 4 + [True] * 3
    assert overlays[0].tone == "guide" and overlays[0].header == "Exercise 1 of 3" and overlays[0].gauges
    assert [o.countdown_s for o in overlays[2:4]] == [2.0, 1.0]
    assert [u.text for u in said] == ["Step into the camera's view", "Lie on your back. Get ready.", "Go"]  # not "hold still"
    assert events == [("stage", "set up: counting down"), ("stage", "counting")]
    assert stream.counts() == FrameCounts(captured=3, analysed=3, paused=0)  # set-up frames are not captured ones


def test_telemetry_tallies_analysed_frames_and_smooths_the_corner():
    timings = []
    telemetry = Telemetry(timings)
    first = telemetry.update(live_pose(0, captured_s=1.0).frame, 1.04)  # shown in set-up: not in the report's figures
    assert first == Meter(None, pytest.approx(40.0))
    for i in range(1, 5):
        meter = telemetry.update(live_pose(i, captured_s=1.0 + i * 0.1, model_ms=30).frame, 1.0 + i * 0.1 + 0.04,
                                 analysed=True)
    assert meter == Meter(pytest.approx(10.0), pytest.approx(40.0))
    stats = telemetry.stats(FrameCounts(captured=6, analysed=4, paused=1))
    assert stats["frames_dropped"] == 2 and stats["dropped_fraction"] == pytest.approx(0.3333)
    assert stats["latency_ms_mean"] == 40.0 and stats["model_ms_mean"] == 30.0 and stats["analysed_fps"] == 10.0
    assert len(timings) == 4 and timings[0][3] == pytest.approx(1.14)
    assert Telemetry().stats(FrameCounts(0, 0, 0))["analysed_fps"] is None


class Slot:
    def __init__(self):
        self.views = []

    def put(self, view) -> None:
        self.views.append(view)


def result_at(seq: int, counts: dict, *, new_reps=(), hold_s: float = 0.0, pose=None) -> FrameResult:
    pose = live_pose(seq).pose if pose is None else pose
    return FrameResult(pose, FeatureFrame(pose.timestamp_ms, {}, True, True), {"both": "up"}, counts, hold_s,
                       new_reps=tuple(new_reps))


def test_display_previews_with_the_counts_so_far_and_shows_the_last_result_again():
    slot = Slot()
    display = LiveDisplay(slot, BRIDGE, {"both": 0})
    assert not display.again(LiveOverlay(message="done"))  # nothing analysed yet
    lp = live_pose(0)
    display.update(lp.frame, lp.pose, LiveOverlay(message="set up"), Meter())
    assert slot.views[-1].result.counts == {"both": 0} and slot.views[-1].result.phases == {}
    lp = live_pose(1)
    display.update(lp.frame, result_at(1, {"both": 2}, pose=lp.pose), LiveOverlay(), Meter(30.0, 40.0))
    paused = live_pose(2)
    display.update(paused.frame, paused.pose, LiveOverlay(tone="paused"), Meter(29.0, 41.0))
    assert slot.views[-1].result.counts == {"both": 2} and slot.views[-1].result.pose is paused.pose
    assert display.again(LiveOverlay(message="done"))
    end = slot.views[-1]
    assert end.result.pose is lp.pose and end.overlay.message == "done" and (end.fps, end.latency_ms) == (29.0, 41.0)


class Speaker:
    def __init__(self):
        self.said = []

    def say(self, u) -> None:
        self.said.append(u)


def rep(index: int) -> RepEvent:
    return RepEvent(index, "both", 0.0, 500.0, 1000.0, 40.0, {}, 1.5, 1.0)


def test_coach_counts_out_loud_and_ends_the_set_with_its_summary():
    speaker, events = Speaker(), []
    exercise = CurrentExercise(load_spec("bridge"), 1, 2, next_title="Mini squat")
    target = exercise.spec.target.reps
    coach = CoachSink(exercise, Voice(speaker, clock=lambda: 0.0), lambda kind, text: events.append((kind, text)))
    for n in range(1, target):
        coached = coach.update(result_at(n, {"both": n}, new_reps=[rep(n - 1)]), now_s=float(n))
        assert coached.summary is None and coach.done_at_s is None
    coached = coach.update(result_at(target, {"both": target}, new_reps=[rep(target - 1)]), now_s=99.0)
    assert coach.done_at_s == 99.0 and coached.summary is not None
    assert coached.summary.reps == (("both", target, target),) and "Mini squat" in coached.summary.next_step
    assert speaker.said[0].text == "1" and speaker.said[0].priority == PRIORITY_COUNT
    assert speaker.said[-1].text == f"{target}. That's the set, well done."
    assert events[-1] == ("done", f"target reached: {target} reps")
