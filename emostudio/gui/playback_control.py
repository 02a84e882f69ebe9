"""Playback in the window: what plays (A: the input, B: the current take), where, and the playhead.

It owns the :class:`~emostudio.gui.qt_player.QtPlayer` and opens outputs (FluidSynth or a MIDI
port) in a worker, so a slow soundfont load never blocks the window and a machine without a sound
card gets a message while everything else keeps working. A take still being generated plays as it
grows; switching A/B while playing carries on from the same position. With bars selected on
the piano roll, Play starts at the selection and Loop repeats it (the selection's seconds follow
the tempo map of what plays).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from emostudio.gui import jobs
from emostudio.gui.document import Document, Take
from emostudio.gui.piano_roll import PianoRoll
from emostudio.gui.qt_player import QtPlayer
from emostudio.gui.roll_data import seconds_to_beat
from emostudio.gui.transport import FLUIDSYNTH, TransportBar
from emostudio.gui.worker import Worker, Workers
from emostudio.midi import TICKS_PER_BAR, Song
from emostudio.playback import PlaybackError, Sink


class PlaybackControl(QObject):
    message = Signal(str, bool)  # text, is an error
    settings_changed = Signal(dict)  # fields of Settings to change

    def __init__(
        self,
        document: Document,
        transport: TransportBar,
        roll: PianoRoll,
        workers: Workers,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.transport = transport
        self.roll = roll
        self.workers = workers
        self.player = QtPlayer(self)
        self._song: Song | None = None  # what the player has
        self._opening: Worker | None = None
        self._play_when_open = False
        self._selection: tuple[int, int] | None = None  # bars (first, last) selected on the roll

        transport.play_requested.connect(self.toggle)
        transport.stop_requested.connect(self.stop)
        transport.loop_toggled.connect(self.player.set_loop)
        transport.source_changed.connect(lambda _source: self.follow_source())
        transport.output_changed.connect(self._on_output_changed)
        transport.soundfont_chosen.connect(self._on_soundfont_chosen)
        self.player.position_changed.connect(self._on_position)
        self.player.playing_changed.connect(self._on_playing_changed)
        self.player.error.connect(lambda text: self.message.emit(text, True))
        document.input_changed.connect(
            lambda: self.transport.source == "input" and self.follow_source()
        )
        document.current_changed.connect(
            lambda _take: self.transport.source == "take" and self.follow_source()
        )
        document.take_updated.connect(self._on_take_updated)
        roll.selection_changed.connect(self._on_selection)

    # ---- what plays ------------------------------------------------------------------------
    def source_song(self) -> Song | None:
        if self.transport.source == "input":
            return self.document.input_song
        take = self.document.current
        return take.song if take is not None else None

    def selection_seconds(self, song: Song | None) -> tuple[float, float] | None:
        """The selected bars in ``song``'s seconds; None without a selection inside it."""
        if self._selection is None or song is None:
            return None
        first, last = self._selection
        if first >= song.n_bars:
            return None
        end = min(last + 1, song.n_bars)
        return (
            song.tick_to_seconds(first * TICKS_PER_BAR),
            song.tick_to_seconds(end * TICKS_PER_BAR),
        )

    def _start(self, song: Song, growing: bool) -> float:
        """Where Play starts: the selection's first bar (not in a take still being made)."""
        span = None if growing else self.selection_seconds(song)
        return span[0] if span is not None else 0.0

    def _on_selection(self, selected: tuple[int, int] | None) -> None:
        self._selection = selected
        self._apply_selection()

    def _apply_selection(self) -> None:
        self.player.set_loop_range(self.selection_seconds(self._song))

    def _load(self, song: Song | None, growing: bool = False) -> None:
        """``song`` into the player (playing on from the position when it plays), with the
        selection's loop in its seconds."""
        self._song = song
        self._apply_selection()
        self.player.set_song(song, growing=growing)

    def _growing(self) -> bool:
        take = self.document.current
        return self.transport.source == "take" and take is not None and not take.complete

    def follow_source(self) -> None:
        """The source or its song changed: A/B carries on from the same position while playing."""
        song = self.source_song()
        if not self.player.is_playing:
            self._load(song)
            self.transport.set_time(0.0, song.duration_seconds if song is not None else 0.0)
            return
        if song is None:
            self.stop()
            return
        position = self.player.position
        self._load(song, growing=self._growing())
        if position > song.duration_seconds:
            self.player.play(0.0)

    def _on_take_updated(self, take: Take) -> None:
        if (
            take is self.document.current
            and self.transport.source == "take"
            and take.song is not None
        ):
            if self.player.is_playing:
                self._load(take.song, growing=not take.complete)
            else:
                self.transport.set_time(0.0, take.song.duration_seconds)

    # ---- transport ---------------------------------------------------------------------------
    def toggle(self) -> None:
        """Space: stop when playing, else play the chosen source from the start (from the
        selected bars when there are)."""
        if self.player.is_playing:
            self.stop()
            return
        song = self.source_song()
        if song is None:
            other = "input" if self.transport.source == "take" else "take"
            self.message.emit(
                f"nothing to play as {self.transport.source}: try {other} (Tab)", True
            )
            return
        self.play(song, growing=self._growing())

    def play(self, song: Song, growing: bool = False) -> None:
        """Play ``song`` from the start, or from the selected bars; the output is opened first
        when there is none."""
        self._load(song, growing=growing)
        if self.player.sink is None:
            self._play_when_open = True
            self.open_output()
            return
        try:
            self.player.play(self._start(song, growing))
        except PlaybackError as exc:
            self.message.emit(str(exc), True)

    def play_take_as_it_grows(self, take: Take) -> None:
        """Generation's first bars exist: switch to B and play while the rest arrives."""
        if take is self.document.current and take.song is not None:
            self.transport.set_source("take")
            self.play(take.song, growing=not take.complete)

    def stop(self) -> None:
        self.player.stop()
        self.roll.set_playhead(None)

    def switch_source(self) -> None:
        self.transport.set_source("input" if self.transport.source == "take" else "take")

    # ---- outputs -----------------------------------------------------------------------------
    def set_sink(self, sink: Sink) -> None:
        """Use an already-open output (tests and benchmarks give a RecordingSink)."""
        self.player.set_sink(sink)

    def open_output(self) -> Worker:
        """Open the output the transport names, in the background; a failure is a message."""
        if self._opening is not None:
            return self._opening
        kind, port = self.transport.output
        what = "FluidSynth" if kind == FLUIDSYNTH else f"MIDI port {port}"
        self.message.emit(f"opening {what}…", False)

        def opened(sink: Sink) -> None:
            self.player.set_sink(sink)
            self.message.emit(f"playing through {what}", False)
            if self._play_when_open and self._song is not None:
                try:
                    self.player.play(self._start(self._song, self._growing()))
                except PlaybackError as exc:
                    self.message.emit(str(exc), True)

        def done() -> None:
            self._opening = None
            self._play_when_open = False

        worker = self.workers.run(
            jobs.open_output_job(kind, port, self.transport.soundfont),
            "open output",
            on_result=opened,
            on_error=lambda reason: self.message.emit(f"{reason} (export still works)", True),
        )
        worker.finished.connect(done)
        self._opening = worker
        return worker

    def _on_output_changed(self, kind: str, port: str) -> None:
        self.settings_changed.emit({"output": kind, "midi_port": port})
        was_playing = self.player.is_playing
        self.stop()
        if self.player.sink is not None or was_playing:
            self.open_output()
            self._play_when_open = was_playing

    def _on_soundfont_chosen(self, path: str) -> None:
        self.settings_changed.emit({"soundfont": path})
        if self.transport.output[0] == FLUIDSYNTH and self.player.sink is not None:
            was_playing = self.player.is_playing
            self.stop()
            self.open_output()
            self._play_when_open = was_playing

    # ---- the player's reports ---------------------------------------------------------------------
    def _on_position(self, seconds: float) -> None:
        if self._song is None:
            return
        self.transport.set_time(seconds, self._song.duration_seconds)
        if self.player.is_playing:
            self.roll.set_playhead(seconds_to_beat(self._song, seconds))

    def _on_playing_changed(self, playing: bool) -> None:
        self.transport.set_playing(playing)
        if not playing:
            self.roll.set_playhead(None)

    def close(self) -> None:
        self.player.close()
