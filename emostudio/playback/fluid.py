"""FluidSynth through pyfluidsynth: a loaded synthesiser, message dispatch, and the live-audio sink.

pyfluidsynth loads ``libfluidsynth`` when imported (and raises ImportError when the library is
missing), so it is imported here only inside functions: ``import emostudio.playback`` works on a
machine without FluidSynth, and only playing or rendering through it reports the problem.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mido

from emostudio.playback.alsa import log_alsa_messages, route_alsa_errors_to_log
from emostudio.playback.sinks import PlaybackError
from emostudio.playback.soundfont import resolve_soundfont

log = logging.getLogger(__name__)

_FLUID_ERR, _FLUID_WARN = 1, 2
_LOG_FUNCTION = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
_log_capture_lock = threading.Lock()  # FluidSynth's log function is process-wide


def load_fluidsynth():
    """The pyfluidsynth module, or :class:`PlaybackError` when libfluidsynth is not installed."""
    try:
        import fluidsynth
    except (ImportError, OSError) as exc:
        raise PlaybackError(
            f"FluidSynth is not available ({exc}); install it with 'sudo apt install libfluidsynth3'"
        ) from exc
    return fluidsynth


def fluidsynth_problem() -> str | None:
    """Why FluidSynth cannot be used here (library or soundfont missing), or None when it can."""
    from emostudio.playback.soundfont import SoundfontNotFound, default_soundfont

    try:
        load_fluidsynth()
        default_soundfont()
    except (PlaybackError, SoundfontNotFound) as exc:
        return str(exc)
    return None


def open_synth(soundfont: str | os.PathLike | None, sample_rate: int = 44100, gain: float = 0.5):
    """A ``fluidsynth.Synth`` with ``soundfont`` (None: the default one) loaded and no audio driver.

    Raises :class:`~emostudio.playback.soundfont.SoundfontNotFound` or :class:`PlaybackError`."""
    path = resolve_soundfont(soundfont)
    fluidsynth = load_fluidsynth()
    synth = fluidsynth.Synth(gain=gain, samplerate=float(sample_rate))
    with _captured_fluid_errors() as errors:
        sfid = synth.sfload(str(path))
    if sfid < 0:
        synth.delete()
        reason = errors[-1] if errors else "not a valid soundfont"
        raise PlaybackError(f"cannot load soundfont {path}: {reason}")
    log.debug("loaded soundfont %s", path)
    return synth


def send_to_synth(synth, message: mido.Message) -> None:
    """Apply one MIDI message to a ``fluidsynth.Synth`` (messages it has no use for are ignored)."""
    kind = message.type
    if kind == "note_on" and message.velocity > 0:
        synth.noteon(message.channel, message.note, message.velocity)
    elif kind in ("note_off", "note_on"):
        synth.noteoff(message.channel, message.note)
    elif kind == "program_change":
        synth.program_change(message.channel, message.program)
    elif kind == "control_change":
        synth.cc(message.channel, message.control, message.value)
    elif kind == "pitchwheel":
        synth.pitch_bend(message.channel, message.pitch)


def silence_synth(synth) -> None:
    for channel in range(16):
        synth.cc(channel, 64, 0)
        synth.all_notes_off(channel)


class FluidSynthSink:
    """Live audio: FluidSynth playing through an audio driver (``driver`` None: FluidSynth's default
    for the platform, ``alsa`` on Linux; ``device`` e.g. ``"null"`` with ALSA for tests).

    FluidSynth does not raise when no driver can start (no sound card): it returns no driver and
    writes the reason to stderr. That reason is captured and raised as
    ``PlaybackError("no sound output: ...")``."""

    def __init__(
        self,
        soundfont: str | os.PathLike | None = None,
        driver: str | None = None,
        device: str | None = None,
        sample_rate: int = 44100,
        gain: float = 0.5,
    ) -> None:
        self.soundfont: Path = resolve_soundfont(soundfont)
        fluidsynth = load_fluidsynth()
        synth = fluidsynth.Synth(gain=gain, samplerate=float(sample_rate))
        driver = driver or synth.get_setting("audio.driver")
        synth.setting("audio.driver", driver)
        if device:
            synth.setting(f"audio.{driver}.device", device)
        # Only the audio driver: Synth.start() would also open a MIDI input driver we do not use.
        route_alsa_errors_to_log()
        with _captured_fluid_errors() as errors:
            synth.audio_driver = fluidsynth.new_fluid_audio_driver(synth.settings, synth.synth)
        log_alsa_messages()
        if not synth.audio_driver:
            synth.delete()
            reason = errors[-1] if errors else f"the {driver!r} audio driver did not start"
            raise PlaybackError(f"no sound output: {reason}; choose a MIDI port, or export a WAV")
        with _captured_fluid_errors() as errors:
            sfid = synth.sfload(str(self.soundfont))
        if sfid < 0:
            synth.delete()
            reason = errors[-1] if errors else "not a valid soundfont"
            raise PlaybackError(f"cannot load soundfont {self.soundfont}: {reason}")
        self.driver = driver
        self._synth = synth
        log.info("FluidSynth playing through %s with %s", driver, self.soundfont.name)

    def send(self, message: mido.Message) -> None:
        if self._synth is not None:
            send_to_synth(self._synth, message)

    def panic(self) -> None:
        if self._synth is not None:
            silence_synth(self._synth)

    def close(self) -> None:
        if self._synth is not None:
            synth, self._synth = self._synth, None
            synth.delete()


@contextmanager
def _captured_fluid_errors() -> Iterator[list[str]]:
    """Collect FluidSynth's error and warning messages (normally printed to stderr) meanwhile."""
    fluidsynth = load_fluidsynth()
    set_log = getattr(fluidsynth._fl, "fluid_set_log_function", None)
    messages: list[str] = []
    if set_log is None:
        yield messages
        return
    set_log.restype = ctypes.c_void_p
    set_log.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)

    def collect(level: int, text: bytes | None, _data) -> None:
        message = (text or b"").decode(errors="replace").strip()
        messages.append(message)
        log.debug("fluidsynth: %s", message)

    callback = _LOG_FUNCTION(collect)  # kept alive until restored below
    pointer = ctypes.cast(callback, ctypes.c_void_p)
    with _log_capture_lock:
        previous = {level: set_log(level, pointer, None) for level in (_FLUID_ERR, _FLUID_WARN)}
        try:
            yield messages
        finally:
            for level, function in previous.items():
                set_log(level, function, None)
