"""Hearing a :class:`~emostudio.midi.Song`: live playback and offline WAV rendering (no Qt here).

Modules, in the order data passes through them:

- ``events``     :func:`song_to_events` -> ``list[TimedMessage(seconds, message)]``, sorted, on the
                 song's tempo map; program changes per track at 0 s; drums on channel 10 (index
                 9); channels as in MIDI files (:func:`emostudio.midi.io.track_channels`).
                 :func:`song_schedule` -> :class:`Schedule`, the same as numpy arrays (what the
                 player and the renderer use: fast for long songs). :func:`panic_messages`,
                 :func:`loop_end_seconds`.
- ``player``     :class:`Player` ``(sink, clock=time.monotonic)``: the pure timing player on its own
                 thread. ``set_song(song, growing=False)`` (also while playing: playback goes on
                 seamlessly; ``growing=True`` while generation is still adding bars makes it wait
                 for them instead of finishing), ``set_sink(sink)``, ``play(start_seconds=0.0)``,
                 ``stop()`` (sends a panic), ``close()``; properties ``loop`` (settable),
                 ``position``, ``duration``, ``loop_end``, ``is_playing``; callbacks (called on the
                 player's thread) ``on_position(cb(seconds))`` ~30 Hz, ``on_finished(cb())``,
                 ``on_error(cb(message))``.
- ``sinks``      the :class:`Sink` protocol (``send(msg)``, ``panic()``, ``close()``);
                 :class:`MidiPortSink` ``(port_name)`` or ``(port=<open mido output>)``;
                 :func:`list_output_ports` -> :class:`PortListing` ``(names, error)`` (never
                 raises; ``.message`` is "no MIDI ports: <reason>" when empty);
                 :class:`RecordingSink` for tests (``messages``: ``(clock time, msg)``, ``panics``,
                 ``wait_for(predicate, timeout)``); :class:`PlaybackError` (one-line message).
- ``fluid``      :class:`FluidSynthSink` ``(soundfont=None, driver=None, device=None)``: live audio;
                 raises ``PlaybackError("no sound output: <reason>")`` when no audio driver starts
                 (``driver="alsa", device="null"`` works without a sound card).
                 :func:`fluidsynth_problem` -> why FluidSynth cannot be used here, or None.
- ``soundfont``  :func:`find_soundfonts`, :func:`default_soundfont`, :func:`resolve_soundfont`,
                 :class:`SoundfontNotFound` (its message names the apt package).
- ``render``     :func:`render_wav` ``(song, path, soundfont=None, sample_rate=44100,
                 progress=None, cancel=None) -> RenderDone | None`` (None when cancelled) and the
                 generator it runs, :func:`iter_render_wav`, yielding :class:`RenderProgress` then
                 :class:`RenderDone`: peak-normalised 16-bit stereo WAV, written atomically.

FluidSynth (``libfluidsynth``) is loaded only when a FluidSynth sink or a render is made, so this
package imports, and MIDI-out playback works, on machines without it.
"""

from emostudio.playback.events import (
    Schedule,
    TimedMessage,
    loop_end_seconds,
    panic_messages,
    song_schedule,
    song_to_events,
)
from emostudio.playback.fluid import FluidSynthSink, fluidsynth_problem
from emostudio.playback.player import Player
from emostudio.playback.render import RenderDone, RenderProgress, iter_render_wav, render_wav
from emostudio.playback.sinks import (
    MidiPortSink,
    PlaybackError,
    PortListing,
    RecordingSink,
    Sink,
    list_output_ports,
)
from emostudio.playback.soundfont import (
    SoundfontNotFound,
    default_soundfont,
    find_soundfonts,
    resolve_soundfont,
)

__all__ = [
    "FluidSynthSink",
    "MidiPortSink",
    "PlaybackError",
    "Player",
    "PortListing",
    "RecordingSink",
    "RenderDone",
    "RenderProgress",
    "Schedule",
    "Sink",
    "SoundfontNotFound",
    "TimedMessage",
    "default_soundfont",
    "find_soundfonts",
    "fluidsynth_problem",
    "iter_render_wav",
    "list_output_ports",
    "loop_end_seconds",
    "panic_messages",
    "render_wav",
    "resolve_soundfont",
    "song_schedule",
    "song_to_events",
]
