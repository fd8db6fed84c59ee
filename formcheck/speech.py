"""Spoken cues: what to say when (``CueDebouncer``, pure) and a voice thread that says it.

The live loop never waits for speech: ``Speaker.say`` hands the newest utterance to the voice's own
thread and returns. Voices, in order: espeak-ng (or espeak) when installed, else a short tone
through ``sounddevice``; a machine with no audio output gets one notice and silence, never a crash.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

REPEAT_S = 8.0  # the same words are not said again within this
GAP_S = 1.0  # at least this between two utterances, so they do not pile up
STALE_S = 4.0  # an utterance that could not be said within this is dropped: it is about the past

# priorities: a form cue beats a count, a count beats set-up guidance
PRIORITY_GUIDE = 1
PRIORITY_COUNT = 2
PRIORITY_CUE = 3


@dataclass(frozen=True)
class Utterance:
    """Something to say. A newer utterance with the same `key` replaces one still waiting."""

    text: str
    key: str
    priority: int = PRIORITY_CUE


class CueDebouncer:
    """Chooses what to say and when, so a cue is not repeated every frame.

    ``update(t_s, offered)`` takes the utterances this frame offers and returns at most one to say
    now: the most important one waiting (newest first among equals), no sooner than `gap_s` after
    the previous one, never the same words twice within `repeat_s`, and nothing older than `stale_s`.
    """

    def __init__(self, *, repeat_s: float = REPEAT_S, gap_s: float = GAP_S, stale_s: float = STALE_S):
        self.repeat_s, self.gap_s, self.stale_s = repeat_s, gap_s, stale_s
        self._waiting: dict[str, tuple[float, Utterance]] = {}
        self._said_at: dict[str, float] = {}  # text -> when
        self._last_s = -math.inf

    def update(self, t_s: float, offered: Sequence[Utterance] = ()) -> Utterance | None:
        """Offer this frame's utterances at time ``t_s``; return the one to say now, or None."""
        for u in offered:
            if t_s - self._said_at.get(u.text, -math.inf) < self.repeat_s:
                continue  # just said: do not queue a repeat
            self._waiting[u.key] = (t_s, u)
        self._waiting = {k: (t, u) for k, (t, u) in self._waiting.items() if t_s - t <= self.stale_s}
        if not self._waiting or t_s - self._last_s < self.gap_s:
            return None
        key, (_, best) = max(self._waiting.items(), key=lambda kv: (kv[1][1].priority, kv[1][0]))
        del self._waiting[key]
        self._said_at[best.text] = t_s
        self._last_s = t_s
        return best

    def reset(self) -> None:
        """Forget what is waiting (a new exercise); what was said recently stays remembered."""
        self._waiting.clear()


# --- voices ----------------------------------------------------------------------------------------


class VoiceError(Exception):
    """A voice that cannot make sound on this machine."""


class EspeakVoice:
    """Speaks through the espeak-ng (or espeak) program."""

    name = "espeak-ng"

    def __init__(self, exe: str, *, words_per_min: int = 160):
        self.exe = exe
        self.words_per_min = words_per_min

    @staticmethod
    def find() -> EspeakVoice | None:
        """The espeak-ng (or espeak) voice on this machine, or None when neither is installed."""
        exe = shutil.which("espeak-ng") or shutil.which("espeak")
        return EspeakVoice(exe) if exe else None

    def say(self, text: str, priority: int) -> None:
        """Speak the text aloud, waiting until done; raise VoiceError when it cannot play."""
        try:
            proc = subprocess.run(
                [self.exe, "-s", str(self.words_per_min), *espeak_voice_args(), "--", text],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=20, check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise VoiceError(f"{self.name} failed ({exc})") from None
        err = proc.stderr.decode("utf-8", "replace")
        # espeak-ng exits 0 even when it has no audio device; it says so only on stderr
        if proc.returncode != 0 or "error" in err.lower():
            last = next((ln for ln in reversed(err.strip().splitlines()) if ln.strip()), f"exit code {proc.returncode}")
            raise VoiceError(f"{self.name} cannot play sound ({last.strip()})")


class ToneVoice:
    """No speech synthesiser: a short beep (two lower ones for a form cue) through sounddevice."""

    name = "tones"
    rate_hz = 22050

    def __init__(self):
        try:
            import sounddevice
        except (ImportError, OSError) as exc:  # OSError: the PortAudio library is missing
            raise VoiceError(f"no sound library ({exc})") from None
        self._sd = sounddevice

    def _tone(self, freq_hz: float, dur_s: float) -> np.ndarray:
        t = np.arange(int(self.rate_hz * dur_s)) / self.rate_hz
        fade = np.minimum(1.0, np.minimum(t, dur_s - t) / 0.01)
        return (0.3 * np.sin(2 * np.pi * freq_hz * t) * fade).astype(np.float32)

    def say(self, text: str, priority: int) -> None:
        """Beep for the text (two lower beeps for a form cue), waiting until done; raise VoiceError when it cannot play."""
        if priority >= PRIORITY_CUE:
            gap = np.zeros(int(0.08 * self.rate_hz), np.float32)
            wave = np.concatenate([self._tone(440, 0.15), gap, self._tone(440, 0.15)])
        else:
            wave = self._tone(880, 0.12)
        try:
            self._sd.play(wave, self.rate_hz, blocking=True)
        except (self._sd.PortAudioError, OSError, ValueError, RuntimeError) as exc:
            raise VoiceError(f"cannot play sound ({exc})") from None


def espeak_voice_args() -> list[str]:
    """espeak-ng's voice for the active cue language (its own default, English, otherwise)."""
    from formcheck.lang import ENGLISH, current

    code = current()
    return [] if code == ENGLISH else ["-v", code]


def default_voices() -> list[Callable[[], object]]:
    """Voice factories in order of preference; each returns a voice or raises VoiceError."""

    def espeak():
        voice = EspeakVoice.find()
        if voice is None:
            raise VoiceError("espeak-ng is not installed")
        return voice

    return [espeak, ToneVoice]


class Speaker:
    """Says utterances in its own thread; ``say`` never blocks and the newest waiting one wins.

    The first voice that works is kept; when none works, `on_notice` is called once and the
    speaker goes quiet for good.
    """

    def __init__(self, voices: Sequence[Callable[[], object]] | None = None, *,
                 on_notice: Callable[[str], None] | None = None):
        self._factories = list(default_voices() if voices is None else voices)
        self._on_notice = on_notice
        self._voice = None
        self._why: list[str] = []
        self._cond = threading.Condition()
        self._next: Utterance | None = None
        self._closed = False
        self.silent = False
        self.spoken: list[str] = []  # what was said, for tests and the log
        self._thread = threading.Thread(target=self._run, name="formcheck-speech", daemon=True)
        self._thread.start()

    def say(self, utterance: Utterance) -> None:
        """Queue the utterance without blocking; it replaces a waiting one of no higher priority."""
        with self._cond:
            if self._closed or self.silent:
                return
            if self._next is None or utterance.priority >= self._next.priority:
                self._next = utterance
            self._cond.notify()

    def close(self, timeout_s: float = 2.0) -> None:
        """Say what is still waiting (for at most `timeout_s`), then stop."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._next is None and not self._closed:
                    self._cond.wait()
                if self._next is None:
                    return
                u, self._next = self._next, None
            self._speak(u)

    def _speak(self, u: Utterance) -> None:
        while not self.silent:
            if self._voice is None:
                if not self._factories:
                    self._go_quiet()
                    return
                try:
                    self._voice = self._factories.pop(0)()
                except VoiceError as exc:
                    self._why.append(str(exc))
                    continue
            try:
                self._voice.say(u.text, u.priority)
                self.spoken.append(u.text)
                return
            except VoiceError as exc:
                self._why.append(str(exc))
                self._voice = None  # try the next voice with the same words

    def _go_quiet(self) -> None:
        self.silent = True
        if self._on_notice is not None:
            why = "; ".join(dict.fromkeys(self._why)) or "no voice"
            self._on_notice(f"no audio output, so cues are shown but not spoken ({why})")
