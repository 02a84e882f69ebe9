"""Offline rendering of a :class:`~emostudio.midi.Song` to a WAV file with FluidSynth.

No audio driver is involved: the synthesiser is driven by the same message schedule as live
playback (:func:`~emostudio.playback.events.song_schedule`) and asked for exactly the samples
between messages, so timing is sample-accurate and rendering runs far faster than real time.

Samples are rendered as 32-bit floats (``fluid_synth_write_float``; pyfluidsynth's
``get_samples`` gives 16-bit integers that clip before they can be normalised) into a scratch
file, then peak-normalised to -1 dBFS and written as 16-bit stereo PCM with the stdlib ``wave``
module to a temporary file beside the target, renamed into place at the end: a cancelled or
failed render leaves no file behind.

Like all long work in emostudio, rendering is a generator of progress events that honours a
cancel flag (:func:`iter_render_wav`); :func:`render_wav` runs it with an optional callback.
"""

from __future__ import annotations

import ctypes
import math
import os
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emostudio.atomic import atomic_path
from emostudio.midi.song import Song
from emostudio.playback.events import (
    CONTROL,
    NOTE_OFF,
    NOTE_ON,
    PITCH,
    PITCH_CENTRE,
    song_schedule,
)
from emostudio.playback.fluid import load_fluidsynth, open_synth
from emostudio.playback.sinks import PlaybackError

TAIL_SECONDS = 1.5  # after the last note: releases and reverb ring out
TARGET_PEAK = 10 ** (-1.0 / 20.0)  # -1 dBFS
SILENCE_PEAK = 1e-4  # -80 dBFS: below this a render is silence (the synth's numeric noise: ~1e-8)
BLOCK_FRAMES = 16384  # frames rendered per synth call (at most)
PROGRESS_EVERY_SECONDS = 2.0  # of audio, between progress events


@dataclass(frozen=True)
class RenderProgress:
    seconds_done: float  # of audio rendered so far
    seconds_total: float

    @property
    def fraction(self) -> float:
        return min(1.0, self.seconds_done / self.seconds_total) if self.seconds_total else 1.0


@dataclass(frozen=True)
class RenderDone:
    path: Path
    audio_seconds: float
    elapsed_seconds: float  # wall-clock time the whole render took
    load_seconds: float  # of which loading the soundfont (FluidR3: ~1 s, once per render)
    peak: float  # the raw peak before normalisation (below SILENCE_PEAK: written as silence)

    @property
    def speed(self) -> float:
        """How many times faster than real time the whole render ran."""
        return self.audio_seconds / self.elapsed_seconds if self.elapsed_seconds else math.inf

    @property
    def synthesis_speed(self) -> float:
        """The same, not counting the soundfont load."""
        synthesis = self.elapsed_seconds - self.load_seconds
        return self.audio_seconds / synthesis if synthesis > 0 else math.inf


def iter_render_wav(
    song: Song,
    path: str | os.PathLike,
    soundfont: str | os.PathLike | None = None,
    sample_rate: int = 44100,
    cancel: threading.Event | None = None,
) -> Iterator[RenderProgress | RenderDone]:
    """Render ``song`` to ``path`` (a WAV file), yielding :class:`RenderProgress` events and,
    unless ``cancel`` was set (then nothing is written), a final :class:`RenderDone`.

    Raises :class:`~emostudio.playback.soundfont.SoundfontNotFound` or
    :class:`~emostudio.playback.sinks.PlaybackError` before rendering when FluidSynth or a
    soundfont is missing, and ``OSError`` when the file cannot be written."""
    started = time.perf_counter()
    path = Path(path)
    if not path.parent.is_dir():
        raise PlaybackError(f"cannot write {path}: folder {path.parent} does not exist")
    if sample_rate < 8000 or sample_rate > 192000:
        raise PlaybackError(f"sample rate {sample_rate} Hz is out of range (8000-192000)")
    synth = open_synth(soundfont, sample_rate=sample_rate)
    load_seconds = time.perf_counter() - started
    try:
        write_float = _float_writer(synth)
        audio_seconds = song.duration_seconds + TAIL_SECONDS
        total_frames = math.ceil(audio_seconds * sample_rate)
        with tempfile.TemporaryFile(prefix="emostudio-render-") as scratch:
            peak = 0.0
            frames_done = 0
            next_report = 0.0

            def render_until(frame: int):
                nonlocal frames_done, peak, next_report
                while frames_done < frame:
                    if cancel is not None and cancel.is_set():
                        raise _Cancelled
                    n = min(BLOCK_FRAMES, frame - frames_done)
                    block = write_float(n)
                    peak = max(peak, float(np.abs(block).max()))
                    scratch.write(block.tobytes())
                    frames_done += n
                    seconds_done = frames_done / sample_rate
                    if seconds_done >= next_report:
                        next_report = seconds_done + PROGRESS_EVERY_SECONDS
                        yield RenderProgress(seconds_done, audio_seconds)

            try:
                schedule = song_schedule(song)
                frames = np.minimum(np.round(schedule.seconds * sample_rate), total_frames)
                for i, frame in enumerate(frames.astype(np.int64).tolist()):
                    yield from render_until(frame)
                    _apply(synth, *schedule.key(i))
                yield from render_until(total_frames)
            except _Cancelled:
                return
            scratch.seek(0)
            _write_wav(
                scratch, path, sample_rate, TARGET_PEAK / peak if peak > SILENCE_PEAK else 0.0
            )
    finally:
        synth.delete()
    yield RenderProgress(audio_seconds, audio_seconds)
    yield RenderDone(path, audio_seconds, time.perf_counter() - started, load_seconds, peak)


def render_wav(
    song: Song,
    path: str | os.PathLike,
    soundfont: str | os.PathLike | None = None,
    sample_rate: int = 44100,
    progress: Callable[[RenderProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> RenderDone | None:
    """Render ``song`` to a WAV file; None when cancelled. See :func:`iter_render_wav`."""
    done = None
    for event in iter_render_wav(song, path, soundfont, sample_rate, cancel):
        if isinstance(event, RenderDone):
            done = event
        elif progress is not None:
            progress(event)
    return done


def _apply(synth, kind: int, channel: int, data1: int, data2: int) -> None:
    if kind == NOTE_ON:
        synth.noteon(channel, data1, data2)
    elif kind == NOTE_OFF:
        synth.noteoff(channel, data1)
    elif kind == CONTROL:
        synth.cc(channel, data1, data2)
    elif kind == PITCH:
        synth.pitch_bend(channel, data1 - PITCH_CENTRE)
    else:
        synth.program_change(channel, data1)


class _Cancelled(Exception):
    pass


def _float_writer(synth) -> Callable[[int], np.ndarray]:
    """``write(n)`` -> the next ``n`` stereo frames as float32, interleaved (shape ``[2 * n]``)."""
    function = load_fluidsynth()._fl.fluid_synth_write_float
    function.restype = ctypes.c_int
    function.argtypes = (ctypes.c_void_p, ctypes.c_int) + (
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
    ) * 2

    def write(n: int) -> np.ndarray:
        block = np.zeros(2 * n, dtype=np.float32)  # [L0, R0, L1, R1, ...]
        pointer = block.ctypes.data
        if function(synth.synth, n, pointer, 0, 2, pointer, 1, 2) != 0:
            raise PlaybackError("FluidSynth failed to render audio")
        return block

    return write


def _write_wav(scratch, path: Path, sample_rate: int, gain: float) -> None:
    """Float samples from ``scratch`` scaled by ``gain`` -> 16-bit stereo WAV at ``path``, atomically."""
    # the file is opened here, not by wave.open: a Wave_write whose own open failed prints a
    # traceback from its __del__ after the error has been reported
    with atomic_path(path) as tmp, open(tmp, "wb") as fh, wave.open(fh, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        while chunk := scratch.read(BLOCK_FRAMES * 2 * 4 * 8):
            samples = np.frombuffer(chunk, dtype=np.float32) * gain
            pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
            out.writeframes(pcm.tobytes())
