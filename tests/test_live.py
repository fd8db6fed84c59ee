"""`formcheck live`: newest-frame capture, speech debouncing, set-up, routines, camera loss, and the
live loop against `analyze` on a sample clip (the only model-driven runs here)."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from formcheck.errors import CameraLost, InputError
from formcheck.live import LiveCoach, LiveOptions, run_live
from formcheck.live_capture import Captured, EndOfStream, FrameGrabber, LivePose, NewestFrame, PoseFailed, StreamEnd
from formcheck.live_stream import CAMERA_LOST, INTERRUPTED, NEXT, QUIT, SOURCE_END
from formcheck.live_window import LiveWindow, display_size
from formcheck.live_routine import RoutineError, RoutineItem, load_routine, parse_routine
from formcheck.live_setup import GO, STEP_IN, TURN_SIDE_ON, SetupGuide
from formcheck.pipeline import build_evaluator
from formcheck.render import LiveOverlay, draw_overlay, target_bands
from formcheck.skeleton import NUM_LANDMARKS, Landmark
from formcheck.sources import paced_frames
from formcheck.spec import UnknownExerciseError, load_spec
from formcheck.speech import PRIORITY_COUNT, PRIORITY_CUE, CueDebouncer, Speaker, Utterance, VoiceError
from formcheck.types import Frame, PoseSample, SourceInfo
from kinematics import SIZE, pose_2d, rep_wave, sample
from formcheck.live_display import ViewLog

ROOT = Path(__file__).resolve().parents[1]
FPS = 30.0
# Waits end when the awaited thing happens; this limit only stops a hung thread from hanging the suite
# (a short one would be a timing threshold on a loaded machine).
HANG_S = 600.0


def formcheck(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "formcheck", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def one_line_error(proc: subprocess.CompletedProcess, code: int) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def frame(i: int, t_ms: float | None = None) -> Frame:
    return Frame(np.zeros((48, 64, 3), np.uint8), i * 1000 / FPS if t_ms is None else t_ms, i)


# --- newest-frame capture ------------------------------------------------------------------------


def test_newest_frame_keeps_only_the_newest_and_counts_the_dropped():
    slot = NewestFrame()
    for i in range(3):
        slot.put(i)
    assert slot.take(0) == 2  # the newest, not the oldest: nothing queues
    assert (slot.put_count, slot.dropped, slot.taken) == (3, 2, 1)
    assert slot.take(0) is None  # each item once
    slot.put(3)
    slot.close()
    assert slot.take(0) == 3  # what was waiting is still delivered after close
    with pytest.raises(EndOfStream):
        slot.take(0)


def test_newest_frame_hands_the_producers_error_to_the_consumer():
    slot = NewestFrame()
    slot.put("last good frame")
    slot.close(CameraLost("camera 0 stopped sending frames"))
    assert slot.take(0) == "last good frame"
    with pytest.raises(CameraLost):
        slot.take(0)


def test_grabber_with_a_slow_consumer_drops_stale_frames_and_never_queues():
    import threading

    n = 150
    given = threading.Semaphore(0)  # one permit per frame the grabber has put in the slot

    def camera():
        for i in range(n):
            yield frame(i)
            given.release()  # resumed by the grabber: frame i is in the slot

    grabber = FrameGrabber(camera()).start()
    slot, got, waited = grabber.slot, [], 0
    while True:
        before = slot.put_count  # frames the camera had given before this take
        try:
            item = slot.take(1.0)
        except EndOfStream:
            break
        if item is None:
            continue
        assert isinstance(item, Captured)
        assert item.seq >= before - 1  # the newest frame, never an old one from a queue
        got.append(item.seq)
        # a slow model: the camera gives two more frames before the next take (waited for, not slept)
        for _ in range(min(2, n - waited)):
            assert given.acquire(timeout=60)  # only a hung grabber stops this
            waited += 1
    grabber.stop()
    assert got == sorted(set(got)) and got[-1] == n - 1  # in order, never repeated, the last one delivered
    assert len(got) < n  # the slow consumer skipped frames ...
    assert slot.taken + slot.dropped == slot.put_count == n  # ... and every frame is accounted for


def test_grabber_stamps_arrival_times_from_its_clock_and_releases_the_source():
    released = []

    def source():
        try:
            for i in range(3):
                yield frame(i)
        finally:
            released.append(True)

    ticks = iter(range(100))
    grabber = FrameGrabber(source(), clock=lambda: float(next(ticks))).start()
    items = []
    while True:
        try:
            item = grabber.slot.take(1.0)
        except EndOfStream:
            break
        if item is not None:
            items.append(item)
    assert all(b.captured_s > a.captured_s for a, b in zip(items, items[1:]))
    assert released == [True]


def test_paced_frames_play_at_the_files_own_rate():
    now = [100.0]
    waits = []

    def sleep(s):
        waits.append(round(s, 6))
        now[0] += s

    frames = [frame(i, t) for i, t in enumerate([0.0, 100.0, 250.0])]
    out = list(paced_frames(iter(frames), clock=lambda: now[0], sleep=sleep))
    assert [f.timestamp_ms for f in out] == [0.0, 100.0, 250.0]
    assert waits == [0.1, 0.15]
    now[0], waits[:] = 0.0, []
    fast = list(paced_frames(iter(frames), speed=2.0, clock=lambda: now[0], sleep=sleep))
    assert [f.timestamp_ms for f in fast] == [0.0, 50.0, 125.0] and waits == [0.05, 0.075]


# --- speech ----------------------------------------------------------------------------------------


def test_debouncer_does_not_repeat_a_cue_every_frame():
    d = CueDebouncer(repeat_s=8.0, gap_s=1.0)
    cue = Utterance("Keep your knee straight", "cue:knee", PRIORITY_CUE)
    said = [t for t in np.arange(0, 20, 1 / FPS) if d.update(float(t), [cue]) is not None]
    assert len(said) == 3  # at 0 s, after 8 s, after 16 s: not 600 times
    assert said[0] == 0 and 8.0 <= said[1] - said[0] < 8.1


def test_debouncer_spaces_utterances_keeps_the_newest_count_and_puts_cues_first():
    d = CueDebouncer(repeat_s=8.0, gap_s=1.0, stale_s=4.0)
    assert d.update(0.0, [Utterance("1", "count", PRIORITY_COUNT)]).text == "1"
    # within the gap nothing is said; the newer count replaces the older one waiting
    assert d.update(0.3, [Utterance("2", "count", PRIORITY_COUNT)]) is None
    assert d.update(0.6, [Utterance("3", "count", PRIORITY_COUNT), Utterance("Slow down", "cue:fast", PRIORITY_CUE)]) is None
    assert d.update(1.0).text == "Slow down"  # the form cue first
    assert d.update(2.0).text == "3"  # then the newest count; "2" was never said
    assert d.update(3.0) is None
    d.update(3.5, [Utterance("4", "count", PRIORITY_COUNT)])  # said at once (gap passed)
    assert d.update(3.6, [Utterance("5", "count", PRIORITY_COUNT)]) is None
    assert d.update(9.0) is None  # too late: a count from 5 s ago is stale


class FakeVoice:
    def __init__(self, fail: str | None = None, gate: threading.Event | None = None):
        self.fail, self.gate, self.said = fail, gate, []
        self.entered = threading.Event()

    def say(self, text: str, priority: int) -> None:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(HANG_S)
        if self.fail:
            raise VoiceError(self.fail)
        self.said.append(text)


def test_speaker_never_blocks_the_caller_and_falls_back_to_the_next_voice():
    gate = threading.Event()
    broken, working = FakeVoice("no audio device", gate), FakeVoice()
    notices = []
    speaker = Speaker([lambda: broken, lambda: working], on_notice=notices.append)
    speaker.say(Utterance("Lift your hips", "cue"))
    assert broken.entered.wait(HANG_S)  # the voice thread is now stuck in `broken` ...
    speaker.say(Utterance("3", "count", PRIORITY_COUNT))  # ... and say() still returns at once
    gate.set()
    speaker.close(HANG_S)
    assert working.said == ["Lift your hips", "3"]  # retried on the next voice, then the count
    assert notices == []


def test_speaker_without_any_audio_gives_one_notice_and_goes_quiet():
    notices = []

    def no_library():
        raise VoiceError("no sound library (PortAudio library not found)")

    speaker = Speaker([lambda: FakeVoice("cannot play sound"), no_library], on_notice=notices.append)
    for i in range(5):
        speaker.say(Utterance(str(i), f"k{i}"))
    speaker.close(HANG_S)
    speaker.say(Utterance("after close", "x"))
    assert len(notices) == 1 and "no audio output" in notices[0] and "PortAudio" in notices[0]
    assert speaker.silent and speaker.spoken == []


# --- set-up guidance ------------------------------------------------------------------------------


def lying(t_ms: float, **kw) -> PoseSample:
    return sample(t_ms, pose_2d(posture="supine", hip_flex=(50, 50), knee_flex=(90, 90)), **kw)


def facing_camera(t_ms: float) -> PoseSample:
    p = lying(t_ms)
    world = np.zeros((NUM_LANDMARKS, 3))
    for name in ("HIP", "SHOULDER"):  # the body's left-right axis across the image: facing the camera
        world[Landmark[f"LEFT_{name}"]] = (0.15, 0, 0)
        world[Landmark[f"RIGHT_{name}"]] = (-0.15, 0, 0)
    return PoseSample(t_ms, p.image_xyz_px, world, p.visibility, p.frame_size_px)


def test_setup_guide_asks_to_step_in_step_back_turn_then_counts_down():
    guide = SetupGuide(load_spec("bridge"), settle_s=0.5, countdown_s=2.0)
    assert guide.update(PoseSample.missing(0, SIZE)).message == STEP_IN
    half_out = lying(33)
    xyz = half_out.image_xyz_px.copy()
    xyz[[Landmark.LEFT_ANKLE, Landmark.RIGHT_ANKLE], 0] = SIZE[0] + 50  # feet beyond the frame
    cut = PoseSample(33, xyz, half_out.world_xyz_m, half_out.visibility, SIZE)
    assert guide.update(cut).message == "Your feet are past the right edge of the picture: step back, or move toward the middle"
    assert guide.update(facing_camera(66)).message == TURN_SIDE_ON
    guide = SetupGuide(load_spec("bridge"), settle_s=0.5, countdown_s=2.0)
    states = [guide.update(lying(t)) for t in np.arange(0, 3000, 1000 / FPS)]
    stages = [s.stage for s in states]
    assert stages[0] == "setup" and "countdown" in stages and stages[-1] == "go"
    first_go = stages.index("go")
    assert 2.4 <= first_go / FPS <= 2.6 and states[first_go].message == GO
    counting = [s.countdown_s for s in states if s.stage == "countdown"]
    assert counting[0] <= 2.0 and all(b < a for a, b in zip(counting, counting[1:]))


# --- routines ---------------------------------------------------------------------------------------


def test_routine_parsing(tmp_path):
    items = parse_routine("- {exercise: bridge, reps: 5, hold_s: 2}\n- {exercise: standing_hip_extension, side: left}\n- mini_squat\n")
    assert items == (
        RoutineItem("bridge", 5, 2.0, None), RoutineItem("standing_hip_extension", None, None, "left"),
        RoutineItem("mini_squat"),
    )
    for text, words in [
        ("- {exercise: bridge, rep: 3}", "item 1: unknown key 'rep'"),
        ("- {exercise: bridge, reps: 0}", "reps must be a whole number from 1 to 100"),
        ("- {exercise: bridge, reps: 2.5}", "reps must be a whole number"),
        ("- {exercise: bridge, side: up}", "side must be left or right"),
        ("- bridge\n- {reps: 3}", "item 2: exercise is missing"),
        ("exercise: bridge", "a routine is a YAML list"),
        ("- [bridge", "YAML syntax error"),
        ("", "a routine is a YAML list"),
    ]:
        with pytest.raises(RoutineError) as e:
            parse_routine(text, "r.yaml")
        assert words in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(UnknownExerciseError, match="r.yaml: item 1: unknown exercise 'bridgex'; valid: .*bridge"):
        parse_routine("- bridgex", "r.yaml")
    with pytest.raises(RoutineError, match="no such routine file"):
        load_routine(tmp_path / "missing.yaml")


def test_bad_routine_file_is_one_line_and_exit_1_or_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {exercise: bridge, rep: 3}\n")
    assert "unknown key 'rep'" in one_line_error(formcheck("live", "--routine", str(bad), "--no-window", "-q"), 1)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("- bridge\n- squatz\n")
    assert "item 2: unknown exercise 'squatz'" in one_line_error(formcheck("live", "--routine", str(unknown), "--no-window"), 2)
    assert "--exercise" in one_line_error(formcheck("live", "--no-window"), 2)


def test_camera_not_available_is_one_line_exit_1(tmp_path):
    line = one_line_error(formcheck("live", "-e", "bridge", "--camera", "97", "--no-window", "-q", "-o", str(tmp_path / "o")), 1)
    assert "no camera at index 97" in line and "--camera" in line


# --- the session thread, with a fake camera and a fake model --------------------------------------


def bridge_poses(reps: int) -> list[PoseSample]:
    """Lying still 1.5 s, then `reps` bridges of 4.5 s each (joint angles, no model)."""
    pts = [pose_2d(posture="supine", hip_flex=(50, 50), knee_flex=(90, 90))] * int(1.5 * FPS)
    t = np.arange(int(reps * 4.5 * FPS + 30)) / FPS
    for x in rep_wave(t, [0.5 + 4.5 * i for i in range(reps)], 1.0, 1.5, 1.0):
        pts.append(pose_2d(posture="supine", hip_flex=(50 - 50 * x, 50 - 50 * x), knee_flex=(90, 90)))
    return [sample(i * 1000 / FPS, p) for i, p in enumerate(pts)]


class ScriptedModel:
    """Stands in for the pose model: the pose scripted for the frame's index, at the frame's time."""

    def __init__(self, poses: list[PoseSample]):
        self.poses = poses
        self.ready = threading.Semaphore(1)  # a camera in step with the model: fast, and no frame dropped

    def estimate(self, f: Frame) -> PoseSample:
        self.ready.release()
        p = self.poses[f.index % len(self.poses)]
        return PoseSample(f.timestamp_ms, p.image_xyz_px, p.world_xyz_m, p.visibility, p.frame_size_px)


def make_evaluator(item: RoutineItem):
    return build_evaluator(item.exercise, item.side, reps=item.reps, hold_s=item.hold_s)


def test_camera_lost_mid_session_saves_a_partial_report_marked_incomplete(tmp_path):
    poses = bridge_poses(3)
    # after two bridges, 1.2 s into the third one's 1.5 s hold (lying 1.5 s, two 4.5 s bridges, 0.5 s, 1 s up)
    lost_at = int((1.5 + 2 * 4.5 + 0.5 + 1.0 + 1.2) * FPS)

    model = ScriptedModel(poses)

    def camera():
        for i in range(lost_at):
            model.ready.acquire()
            yield frame(i)
        raise CameraLost("camera 0 stopped sending frames: check its connection and start again")

    events = []
    outcome = run_live([RoutineItem("bridge")], make_evaluator, camera(), model,
                       source=SourceInfo(kind="camera", camera=0), out_dir=tmp_path,
                       options=LiveOptions(setup=False), on_event=lambda k, t: events.append((k, t)))
    assert outcome.ended_by == CAMERA_LOST and isinstance(outcome.camera_error, InputError)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["incomplete"] is True
    assert sum(k == "rep" for k, _ in events) == 2  # counted live
    # the third, cut off while held at its top, is kept as analyze keeps it, marked as not finished
    assert report["summary"]["reps_total"] == 3 and [r["complete"] for r in report["reps"]] == [True, True, False]
    live = report["source"]["live"]
    assert live["ended_by"] == CAMERA_LOST
    assert live["frames_captured"] == lost_at == live["frames_analysed"] + live["frames_dropped"]
    assert (tmp_path / "reps.csv").is_file()


def coach_for(plan, poses_q, tmp_path, on_event=None) -> LiveCoach:
    return LiveCoach(plan, make_evaluator, poses_q, source=SourceInfo(kind="camera", camera=0), out_dir=tmp_path,
                     options=LiveOptions(setup=False), on_event=on_event)


def feed(q: queue.Queue, poses: list[PoseSample], start: int = 0, stop: int | None = None, *, skip: int = 1) -> None:
    for i in range(start, len(poses) if stop is None else stop, skip):
        f = frame(i, poses[i].timestamp_ms)
        q.put(LivePose(Captured(f, i, i / FPS), poses[i], i / FPS, i / FPS + 0.01))


def drained(coach: LiveCoach, q: queue.Queue) -> None:
    while not q.empty():
        coach.join(0.02)


def test_keys_reset_and_next_walk_a_routine(tmp_path):
    poses = bridge_poses(2)
    q: queue.Queue = queue.Queue()
    plan = [RoutineItem("bridge", reps=2), RoutineItem("mini_squat")]
    restarted = threading.Event()
    coach = coach_for(plan, q, tmp_path, on_event=lambda kind, text: text.startswith("reset") and restarted.set())
    coach.start()
    feed(q, poses[: len(poses) // 2])  # one bridge ...
    drained(coach, q)
    coach.command("reset")  # ... thrown away: the exercise starts again
    assert restarted.wait(HANG_S)
    feed(q, poses)
    drained(coach, q)
    coach.command("next")
    while len(coach.runs) < 1:
        coach.join(0.02)
    coach.command("next")  # past the last exercise: the session ends
    coach.join(HANG_S)
    assert not coach.alive() and coach.error is None
    runs = coach.outcome().runs
    assert [r.spec.id for r in runs] == ["bridge", "mini_squat"] and runs[0].ended_by == NEXT
    bridge = json.loads((tmp_path / "01-bridge" / "report.json").read_text())
    assert bridge["summary"]["reps_total"] == 2 and bridge["incomplete"] is False
    assert bridge["quality"]["frames"] == len(poses)  # only the frames after the reset
    assert bridge["source"]["live"]["routine_position"] == [1, 2]
    assert runs[1].report is None and not (tmp_path / "02-mini_squat").exists()  # never saw a frame


def test_pause_stops_counting_and_paused_frames_are_not_dropped(tmp_path):
    poses = bridge_poses(2)
    half = len(poses) // 2
    q: queue.Queue = queue.Queue()
    said = {"paused": threading.Event(), "going on": threading.Event()}
    coach = coach_for([RoutineItem("bridge")], q, tmp_path,
                      on_event=lambda kind, text: text in said and said[text].set()).start()
    feed(q, poses, 0, half)
    drained(coach, q)
    coach.command("pause")
    assert said["paused"].wait(HANG_S)
    feed(q, poses, half, half + 30)  # one second shown, not analysed
    drained(coach, q)
    coach.command("pause")
    assert said["going on"].wait(HANG_S)
    feed(q, poses, half + 30)
    q.put(StreamEnd())
    coach.join(HANG_S)
    live = json.loads((tmp_path / "report.json").read_text())["source"]["live"]
    assert live["frames_paused"] == 30 and live["frames_dropped"] == 0
    assert live["frames_analysed"] == live["frames_captured"] == len(poses) - 30


def test_ctrl_c_cuts_the_session_and_marks_it_incomplete(tmp_path):
    poses = bridge_poses(2)
    q: queue.Queue = queue.Queue()
    coach = coach_for([RoutineItem("bridge")], q, tmp_path)
    feed(q, poses, skip=2)  # every other frame: as if the model were half as fast as the camera
    coach.start()
    drained(coach, q)
    coach.cut(INTERRUPTED)
    coach.join(HANG_S)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["incomplete"] is True and report["summary"]["reps_total"] == 2
    live = report["source"]["live"]
    assert live["frames_dropped"] == live["frames_captured"] - live["frames_analysed"] > 0


def test_quit_and_source_end_are_complete(tmp_path):
    for end, expected in (("quit", QUIT), (StreamEnd(), SOURCE_END)):
        q: queue.Queue = queue.Queue()
        coach = coach_for([RoutineItem("bridge")], q, tmp_path / str(expected))
        feed(q, bridge_poses(1))
        coach.start()
        if end == "quit":
            drained(coach, q)
            coach.command("quit")
        else:
            q.put(end)
        coach.join(HANG_S)
        report = json.loads((tmp_path / str(expected) / "report.json").read_text())
        assert report["incomplete"] is False and report["source"]["live"]["ended_by"] == expected


def test_a_model_error_is_not_swallowed(tmp_path):
    q: queue.Queue = queue.Queue()
    coach = coach_for([RoutineItem("bridge")], q, tmp_path)
    q.put(PoseFailed(RuntimeError("graph failed")))
    coach.start()
    coach.join(HANG_S)
    assert isinstance(coach.error, RuntimeError)


# --- the overlay's live extras ----------------------------------------------------------------------


def test_target_bands_come_from_the_fault_limits():
    assert target_bands(load_spec("bridge")) == {"hip": (-15.0, 20.0)}
    assert target_bands(load_spec("mini_squat"))["thigh"] == (-np.inf, 45.0)  # not the driver (knee): no band there
    prone = target_bands(load_spec("prone_hip_extension"))
    assert list(prone) == ["hip", "knee"] and prone["hip"] == (-25.0, np.inf)  # the driver first


def test_live_overlay_draws_guidance_and_countdown_at_640x480():
    spec, ev = build_evaluator("bridge", None)
    result = ev.update(lying(0))
    img = np.full((480, 640, 3), 90, np.uint8)
    plain = draw_overlay(img, result, spec)
    guided = draw_overlay(img, result, spec, fps=12, latency_ms=80,
                          live=LiveOverlay(message="Step back until your whole body is visible", countdown_s=2.2,
                                           header="Exercise 1 of 2"))
    assert guided.shape == img.shape and guided.dtype == np.uint8
    centre = (slice(200, 280), slice(280, 360))
    assert not np.array_equal(plain[centre], guided[centre])  # the message box sits in the middle
    assert display_size(480, 360) == (640, 480) and display_size(1920, 1080) == (1280, 720)


# --- the real thing: live on a sample clip against analyze -------------------------------------------


@pytest.mark.model
def test_live_on_a_sample_clip_counts_as_analyze_does(model_path, tmp_path):
    clip = ROOT / "sample_videos" / "bridge_correct.mp4"
    live = formcheck("live", "-e", "bridge", "--source", str(clip), "--no-window", "--quiet", "-o", str(tmp_path / "live"))
    assert live.returncode == 0, live.stderr
    assert "Traceback" not in live.stderr and "reps 3" in live.stdout
    offline = formcheck("analyze", str(clip), "-e", "bridge", "-q", "-o", str(tmp_path / "analyze"))
    assert offline.returncode == 0, offline.stderr
    lr = json.loads((tmp_path / "live" / "report.json").read_text())
    ar = json.loads((tmp_path / "analyze" / "report.json").read_text())
    stats = lr["source"]["live"]
    assert lr["incomplete"] is False and stats["ended_by"] == SOURCE_END
    # every frame of the clip was either analysed or (when the model fell behind) dropped, and says so
    assert stats["frames_captured"] == ar["quality"]["frames"]
    assert stats["frames_analysed"] + stats["frames_dropped"] == stats["frames_captured"]
    assert lr["quality"]["frames"] == stats["frames_analysed"]
    if stats["dropped_fraction"] <= 0.2:  # a few dropped frames cannot hide a 2.5 s rep
        assert lr["summary"]["reps_by_side"] == ar["summary"]["reps_by_side"]
    else:  # a badly overloaded machine: within one rep per side
        for side, n in ar["summary"]["reps_by_side"].items():
            assert abs(lr["summary"]["reps_by_side"][side] - n) <= 1
    assert {r["index"] for r in lr["reps"]} == {r["index"] for r in ar["reps"]} or stats["frames_dropped"]


def test_live_modules_import_without_cv2_mediapipe_or_sounddevice():
    code = (
        "import sys\n"
        "for m in ('cv2', 'mediapipe', 'sounddevice'):\n"
        "    sys.modules[m] = None\n"
        "import formcheck.live, formcheck.speech, formcheck.live_setup, formcheck.live_routine, formcheck.cli\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


# --- live coaching: cues that name the side, at the moment of the fault, cleared at the next rep ----


def _result(spec_id_phase: str, t_ms: float, values: dict, *, counts=None, new_reps=(), new_faults=(),
            active_cues=(), hold_s=0.0, phase_side="left"):
    """A FrameResult by hand: ``spec_id_phase`` the left counter's phase (the right one at rest)."""
    from formcheck.types import FeatureFrame, FrameResult

    pose = sample(t_ms, pose_2d(posture="standing"))
    return FrameResult(pose=pose, features=FeatureFrame(t_ms, values, True, True),
                       phases={"left": spec_id_phase if phase_side == "left" else "down",
                               "right": spec_id_phase if phase_side == "right" else "down"},
                       counts=counts or {"left": 0, "right": 0}, hold_s=hold_s, new_reps=tuple(new_reps),
                       new_faults=tuple(new_faults), active_cues=tuple(active_cues))


def _rep(index: int, side: str, t_ms: float, faults=()):
    from formcheck.types import RepEvent

    return RepEvent(index, side, t_ms - 1500, t_ms - 700, t_ms, 15.0, {}, 0.4, 1.0, tuple(faults))


def _knee_fault(side: str, t_ms: float):
    from formcheck.types import Fault

    return Fault("knee_bent", "Keep your knee straight", "rep", side, t_ms - 1500, t_ms, 31.0, 20.0, 0)


def test_sided_cue_names_the_side_of_the_body_the_cue_is_about():
    from formcheck.coaching import fault_body_side, sided_cue

    assert sided_cue("Keep your knee straight", "left") == "Keep your left knee straight"
    assert sided_cue("Keep your other foot flat on the floor", "right") == "Keep your right foot flat on the floor"
    assert sided_cue("Keep the lifted leg straight", "left") == "Keep the left leg straight"
    assert sided_cue("Slow down; lift and lower with control", "right") == "Right leg: slow down; lift and lower with control"
    assert sided_cue("Keep your knee straight", None) == "Keep your knee straight"  # a fault with no side
    assert sided_cue("Keep your left knee straight", "right") == "Keep your left knee straight"  # already said
    # the standing leg's knee is measured on the other leg ({other}_ points): the opposite side
    assert fault_body_side(load_spec("standing_hip_flexion"), "standing_knee_bent", "left") == "right"
    assert fault_body_side(load_spec("standing_hip_extension"), "knee_bent", "left") == "left"
    assert fault_body_side(load_spec("standing_hip_extension"), "trunk_lean", "left") is None  # the back has no side


def test_cue_board_shows_a_rep_fault_when_it_happens_and_clears_it_at_the_next_rep():
    from formcheck.coaching import CueBoard

    board = CueBoard(load_spec("standing_hip_extension"))
    knee = int(Landmark.LEFT_KNEE)
    assert board.update(_result("down", 0, {"knee.left": 3.0})).cue is None
    assert board.update(_result("back", 100, {"knee.left": 12.0})).cue is None  # in the rep, knee still straight
    bent = board.update(_result("back", 200, {"knee.left": 31.0}))  # the knee bends past 20: said now
    assert bent.cue.text == "Keep your left knee straight" and bent.cue.tone == "fault"
    assert knee in bent.red_joints and int(Landmark.RIGHT_KNEE) not in bent.red_joints
    judged = board.update(_result("down", 1500, {"knee.left": 3.0}, counts={"left": 1, "right": 0},
                                  new_reps=[_rep(0, "left", 1500, [_knee_fault("left", 1500)])],
                                  new_faults=[_knee_fault("left", 1500)]))
    assert judged.cue.text == "Keep your left knee straight"  # the rep is judged: still up, not said twice
    assert board.update(_result("down", 2500, {"knee.left": 3.0})).cue is not None  # resting: stays up
    nxt = board.update(_result("back", 2600, {"knee.left": 4.0}))
    assert nxt.cue is None and nxt.red_joints == ()  # the next rep began: gone


def test_cue_board_praises_a_good_rep_briefly_and_never_over_a_fault():
    from formcheck.coaching import GOOD_REP_CUE, CueBoard

    board = CueBoard(load_spec("standing_hip_extension"), good_s=1.0)
    board.update(_result("back", 0, {"knee.left": 3.0}))
    good = board.update(_result("down", 1000, {"knee.left": 3.0}, new_reps=[_rep(0, "left", 1000)]))
    assert good.cue.text == GOOD_REP_CUE and good.cue.tone == "good"
    assert board.update(_result("down", 1900, {"knee.left": 3.0})).cue.tone == "good"
    assert board.update(_result("down", 2100, {"knee.left": 3.0})).cue is None  # short: gone after good_s
    # a right rep without faults while the left one's fault cue is up: the fault stays
    board.update(_result("back", 3000, {"knee.left": 30.0}))
    right_done = board.update(_result("down", 3500, {"knee.left": 3.0}, new_reps=[_rep(1, "right", 3500)]))
    assert right_done.cue.tone == "fault"


def test_cue_board_withdraws_an_early_cue_the_judged_rep_was_not_flagged_for():
    from formcheck.coaching import CueBoard

    board = CueBoard(load_spec("standing_hip_extension"))
    board.update(_result("back", 0, {"knee.left": 25.0}))  # past the limit for a moment, not at the peak
    judged = board.update(_result("down", 1000, {"knee.left": 3.0}, new_reps=[_rep(0, "left", 1000)]))
    assert judged.cue is None or judged.cue.tone == "good"


def test_cue_board_frame_fault_is_up_while_it_fires_with_its_joints_red():
    from formcheck.coaching import CueBoard

    spec = load_spec("standing_hip_flexion")
    rule = next(r for r in spec.faults if r.id == "standing_knee_bent")
    board = CueBoard(spec)
    state = board.update(_result("up", 0, {}, active_cues=[rule.cue]))
    assert state.cue.text == sided_standing_cue(rule.cue) and int(Landmark.RIGHT_KNEE) in state.red_joints


def sided_standing_cue(cue: str) -> str:
    from formcheck.coaching import sided_cue

    return sided_cue(cue, "right")  # the left leg lifts: the standing leg is the right one


def test_hold_prompt_counts_down_then_says_release():
    from formcheck.coaching import CueBoard

    board = CueBoard(load_spec("bridge"))  # a 3 s hold at the top
    from formcheck.types import FeatureFrame, FrameResult

    def at(hold_s):
        pose = sample(0.0, pose_2d(posture="supine"))
        return FrameResult(pose, FeatureFrame(0.0, {}, True, True), {"both": "up"}, {"both": 0}, hold_s)

    assert board.update(at(0.0)).hold is None
    assert board.update(at(0.4)).hold.text == "Keep holding: 3"
    assert board.update(at(2.2)).hold.text == "Keep holding: 1"
    assert board.update(at(3.1)).hold.text == "Good hold, and release"


def test_set_summary_against_the_prescription_and_what_next():
    from formcheck.coaching import set_summary

    spec = load_spec("standing_hip_extension")
    report = {"summary": {"target_reps_per_side": 10, "target_hold_s": 0, "reps_by_side": {"left": 10, "right": 7}},
              "reps": [], "faults": [{"id": "knee_bent", "cue": "Keep your knee straight", "side": "right"}] * 2}
    s = set_summary(report, spec)
    assert s.reps == (("left", 10, 10), ("right", 7, 10)) and s.faults == (("Keep your right knee straight", 2),)
    assert s.next_step.startswith("Do 3 more reps on the right")
    done = set_summary(report, spec, only_side="left", next_title="Bridge")
    assert done.reps == (("left", 10, 10),) and done.next_step == "Rest a moment. Next: Bridge"


def test_live_session_ends_on_the_end_of_set_screen(tmp_path):
    poses = bridge_poses(2)
    q: queue.Queue = queue.Queue()
    log = ViewLog()
    coach = LiveCoach([RoutineItem("bridge", reps=2, hold_s=1.0)], make_evaluator, q,
                      source=SourceInfo(kind="camera", camera=0), out_dir=tmp_path, options=LiveOptions(setup=False),
                      display=log)
    feed(q, poses)
    q.put(StreamEnd())
    coach.start()
    coach.join(HANG_S)
    assert coach.error is None
    summaries = [v.overlay.summary for v in log.views if v.overlay.summary is not None]
    assert summaries, "no end-of-set screen"
    assert summaries[-1].reps == (("both", 2, 2),) and summaries[-1].holds[0][2] == 1.0
    coached = [v.overlay.coach for v in log.views if v.overlay.coach is not None]
    assert any(c.hold is not None for c in coached)  # the hold counted down on screen


def test_window_is_resizable_and_f_toggles_fullscreen(monkeypatch):
    import formcheck.sources

    calls = []

    class FakeCV2:
        WINDOW_NORMAL, WINDOW_KEEPRATIO, WINDOW_GUI_NORMAL, WINDOW_AUTOSIZE = 0x0, 0x0, 0x10, 0x1
        WND_PROP_FULLSCREEN, WINDOW_FULLSCREEN, COLOR_RGB2BGR = 0, 1, 4

        def namedWindow(self, title, flags):
            calls.append(("named", flags))

        def resizeWindow(self, title, w, h):
            calls.append(("resize", w, h))

        def imshow(self, title, image):
            pass

        def cvtColor(self, image, code):
            return image

        def setWindowProperty(self, title, prop, value):
            calls.append(("prop", prop, value))

        def waitKey(self, ms):
            return ord("f")

    monkeypatch.setattr(formcheck.sources, "load_cv2", lambda: FakeCV2())
    window = LiveWindow("t")
    window.show(np.zeros((720, 1280, 3), np.uint8))
    assert calls[0] == ("named", FakeCV2.WINDOW_GUI_NORMAL) and ("resize", 1280, 720) in calls  # not AUTOSIZE: resizable
    assert window.key() == "fullscreen"
    window.toggle_fullscreen()
    window.toggle_fullscreen()
    assert [c for c in calls if c[0] == "prop"] == [("prop", 0, 1), ("prop", 0, 0)]
