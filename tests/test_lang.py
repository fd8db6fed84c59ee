"""The second cue language: the gettext catalogue, its compiled form, and German end to end."""

from __future__ import annotations

import gettext
import pytest

from formcheck import lang
from formcheck.errors import InputError
from formcheck.live_display import ViewLog

PO = lang.LOCALE_DIR / "de" / "LC_MESSAGES" / "formcheck.po"


@pytest.fixture
def german():
    lang.use("de")
    yield
    lang.use("en")


def test_committed_mo_matches_the_po():
    assert PO.with_suffix(".mo").read_bytes() == lang.mo_bytes(lang.parse_po(PO.read_text(encoding="utf-8")))


def test_compiled_catalogue_reads_back_through_gettext(tmp_path):
    folder = tmp_path / "xx" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "formcheck.po").write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Good rep"\nmsgstr "Gut \\"so\\" ü"\n\n#, fuzzy\nmsgid "Go"\nmsgstr "Los"\n\n'
        'msgid "Long"\nmsgstr ""\n"two "\n"parts"\n', encoding="utf-8")
    assert lang.compile_catalogues(tmp_path) == [folder / "formcheck.mo"]
    t = gettext.translation("formcheck", localedir=str(tmp_path), languages=["xx"])
    assert t.gettext("Good rep") == 'Gut "so" ü'
    assert t.gettext("Go") == "Go"  # fuzzy: not used
    assert t.gettext("Long") == "two parts"


def test_bad_po_is_one_line_error(tmp_path):
    with pytest.raises(ValueError, match="line 1"):
        lang.parse_po("msgstr \"x\"\n")


def test_unknown_language_lists_the_available_ones():
    with pytest.raises(InputError, match=r"unknown language 'xx'; available: en, de"):
        lang.translations("xx")


def test_every_english_cue_has_a_german_translation():
    from formcheck import live_setup
    from formcheck.spec import load_spec, spec_ids

    entries = lang.parse_po(PO.read_text(encoding="utf-8"))
    cues = {r.cue for sid in spec_ids() for r in load_spec(sid).faults}
    cues |= {live_setup.STEP_IN, live_setup.PAST_EDGE, live_setup.HIDDEN, *live_setup.PARTS.values(), live_setup.TURN_SIDE_ON, live_setup.FACE_CAMERA,
             live_setup.GO, *live_setup.GET_INTO_POSITION.values()}
    missing = sorted(c for c in cues if c not in entries)
    assert not missing, missing
    # placeholders survive translation
    for key, value in entries.items():
        assert set(_fields(key)) == set(_fields(value)), key


def _fields(text: str) -> list[str]:
    import string

    return [f for _, f, _, _ in string.Formatter().parse(text) if f]


def test_ascii_text_spells_out_umlauts():
    assert lang.ascii_text("Füße schließen, Hüfte") == "Fuesse schliessen, Huefte"


def test_use_and_tr(german):
    assert lang.current() == "de"
    assert lang.tr("Keep your knee straight") == "Halten Sie das Knie gestreckt"
    assert lang.tr("not in the catalogue") == "not in the catalogue"


def test_compile_command_usage():
    assert lang.main(["nonsense"]) == 2


# --- German end to end: the live session thread, a scripted pose model, the voice and the screen ------


def shallow_bridges(reps: int, lift: float):
    """Lying still, then `reps` bridges that lift the hips only `lift` of the way (joint angles, no model)."""
    import numpy as np

    from kinematics import pose_2d, rep_wave, sample

    fps = 30.0
    pts = [pose_2d(posture="supine", hip_flex=(50, 50), knee_flex=(90, 90))] * int(1.5 * fps)
    t = np.arange(int(reps * 4.5 * fps + 30)) / fps
    for x in rep_wave(t, [0.5 + 4.5 * i for i in range(reps)], 1.0, 1.5, 1.0):
        pts.append(pose_2d(posture="supine", hip_flex=(50 - 50 * lift * x,) * 2, knee_flex=(90, 90)))
    return [sample(i * 1000 / fps, p) for i, p in enumerate(pts)]


class Said:
    """Stands in for the speaker: every utterance the coach hands to the voice, in order."""

    def __init__(self):
        self.spoken = []

    def say(self, utterance) -> None:
        self.spoken.append(utterance.text)

    def close(self) -> None:
        pass


def ticking_clock(step_s: float = 1.0):
    """A clock a second further on at every call: the debouncer's spacing never hides a cue."""
    t = [0.0]

    def clock() -> float:
        t[0] += step_s
        return t[0]

    return clock


def test_a_german_cue_end_to_end_spoken_and_on_screen(tmp_path, german):
    import queue

    import numpy as np

    from formcheck.live import LiveCoach, LiveOptions
    from formcheck.live_capture import Captured, LivePose, StreamEnd
    from formcheck.live_window import Composer
    from formcheck.live_routine import RoutineItem
    from formcheck.pipeline import build_evaluator
    from formcheck.types import Frame, SourceInfo

    poses = shallow_bridges(2, 0.6)
    q: queue.Queue = queue.Queue()
    for i, p in enumerate(poses):
        f = Frame(np.zeros((480, 640, 3), np.uint8), p.timestamp_ms, i)
        q.put(LivePose(Captured(f, i, i / 30), p, i / 30, i / 30 + 0.01))
    q.put(StreamEnd())
    speaker, log = Said(), ViewLog()
    coach = LiveCoach([RoutineItem("bridge", reps=2)], lambda item: build_evaluator(item.exercise, None, reps=item.reps), q,
                      source=SourceInfo(kind="camera", camera=0), out_dir=tmp_path, options=LiveOptions(setup=False),
                      speaker=speaker, display=log, clock=ticking_clock())
    coach.start()
    coach.join()
    assert coach.error is None
    german_cue = "Heben Sie die Hüfte höher, bis zu einer geraden Linie"
    assert any(german_cue in s for s in speaker.spoken), speaker.spoken  # spoken as written, umlauts and all
    assert speaker.spoken[0] == "Glute bridge. 2 Wiederholungen, 3 Sekunden halten."  # the exercise said in German
    shown = [v for v in log.views if v.overlay.coach is not None and v.overlay.coach.cue is not None
             and v.overlay.coach.cue.text == german_cue]
    assert shown, "the German cue never reached the screen"
    last = [v.overlay.summary for v in log.views if v.overlay.summary is not None][-1]
    assert last.next_step == "Jetzt ausruhen, und aufhören, wenn etwas schmerzt"
    assert dict(last.faults).get("Heben Sie die Hüfte höher, bis zu einer geraden Linie")
    # on screen: the German words drawn (not the English ones, and not nothing)
    from dataclasses import replace

    from formcheck.coaching import Cue

    view = shown[0]
    drawn = Composer().update(view)
    coach = view.overlay.coach
    english = replace(coach, cue=Cue("Lift your right hip higher, into a straight line", "fault", coach.cue.joints))
    in_english = Composer().update(replace(view, overlay=replace(view.overlay, coach=english)))
    blank = Composer().update(replace(view, overlay=replace(view.overlay, coach=replace(coach, cue=None))))
    assert not np.array_equal(drawn, in_english) and not np.array_equal(drawn, blank)


def test_screen_text_spells_out_umlauts_only_where_opencv_cannot_draw_them():
    from types import SimpleNamespace

    from formcheck.render import screen_text

    assert screen_text(SimpleNamespace(__version__="4.10.0"), "Hüfte höher") == "Huefte hoeher"
    assert screen_text(SimpleNamespace(__version__="5.1.0"), "Hüfte höher") == "Hüfte höher"


def test_routine_item_lang_is_checked_and_kept():
    from formcheck.live_routine import RoutineError, parse_routine

    assert parse_routine("- {exercise: bridge, lang: DE}")[0].lang == "de"
    with pytest.raises(RoutineError, match=r"item 1: unknown lang 'fr'; available: en, de"):
        parse_routine("- {exercise: bridge, lang: fr}")


def test_espeak_gets_the_german_voice(german):
    from formcheck.speech import espeak_voice_args

    assert espeak_voice_args() == ["-v", "de"]
    lang.use("en")
    assert espeak_voice_args() == []


def test_live_unknown_lang_is_one_line_error(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "formcheck", "live", "-e", "bridge", "--lang", "xx", "--no-window",
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "unknown language 'xx'; available: en, de" in lines[0], proc.stderr
    assert not (tmp_path / "o").exists()


def test_analyze_lang_de_says_the_cues_in_german(tmp_path):
    import subprocess
    import sys

    from formcheck.posesfile import PosesWriter
    from kinematics import SIZE

    path = tmp_path / "shallow.npz"
    with PosesWriter(path, {"fps": 30.0, "frame_size_px": list(SIZE), "model_variant": "synthetic"}) as w:
        for s in shallow_bridges(2, 0.6):
            w.update(s)
    args = [sys.executable, "-m", "formcheck", "analyze", str(path), "-e", "bridge", "-o"]
    de = subprocess.run(args + [str(tmp_path / "de"), "--lang", "de"], capture_output=True, text=True, timeout=300)
    en = subprocess.run(args + [str(tmp_path / "en")], capture_output=True, text=True, timeout=300)
    assert de.returncode == en.returncode == 0, de.stderr
    assert "Lift your hips higher" in en.stdout and "Lift your hips higher" not in de.stdout
    assert "Heben Sie die Hüfte höher" in de.stdout
    bad = subprocess.run(args + [str(tmp_path / "xx"), "--lang", "xx"], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "available: en, de" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "xx").exists()
