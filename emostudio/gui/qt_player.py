"""The pure :class:`~emostudio.playback.Player` adapted to Qt: its callbacks become signals.

The player reports from its own thread; each callback only emits a private signal, delivered by a
queued connection to a slot on the GUI thread, which emits the public signal. Timing stays in the
pure player; nothing here keeps time. The adapter also owns the sink (the output) it was given and
closes it when it is replaced, and creates the player lazily: without an output there is nothing
to play into, and the rest of the app works without one.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal, Slot

from emostudio.midi import Song
from emostudio.playback import PlaybackError, Player, Sink

log = logging.getLogger(__name__)


class QtPlayer(QObject):
    position_changed = Signal(float)  # seconds from the start of the song
    playing_changed = Signal(bool)
    finished = Signal()
    error = Signal(str)

    _relay = Signal(str, object)  # emitted on the player's thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._player: Player | None = None
        self._sink: Sink | None = None
        self._song: Song | None = None
        self._growing = False
        self._loop = False
        self._loop_range: tuple[float, float] | None = None
        self._relay.connect(self._deliver, Qt.QueuedConnection)

    # ---- output ----------------------------------------------------------------------------
    @property
    def sink(self) -> Sink | None:
        return self._sink

    def set_sink(self, sink: Sink) -> None:
        """Play into ``sink`` from now on (the player owns it and closes the previous one)."""
        old = self._sink
        self._sink = sink
        if self._player is None:
            self._player = Player(sink)
            self._player.on_position(lambda seconds: self._relay.emit("position", seconds))
            self._player.on_finished(lambda: self._relay.emit("finished", None))
            self._player.on_error(lambda message: self._relay.emit("error", message))
            self._player.loop = self._loop
            self._player.loop_range = self._loop_range
            self._player.set_song(self._song, growing=self._growing)
        else:
            self._player.set_sink(sink)
        if old is not None and old is not sink:
            _close(old)

    # ---- song and transport ----------------------------------------------------------------
    @property
    def song(self) -> Song | None:
        return self._song

    def set_song(self, song: Song | None, growing: bool = False) -> None:
        """The song to play; while playing, playback goes on from the current position."""
        self._song, self._growing = song, growing
        if self._player is not None:
            self._player.set_song(song, growing=growing)

    @property
    def loop(self) -> bool:
        return self._loop

    def set_loop(self, on: bool) -> None:
        self._loop = bool(on)
        if self._player is not None:
            self._player.loop = self._loop

    @property
    def loop_range(self) -> tuple[float, float] | None:
        return self._loop_range

    def set_loop_range(self, span: tuple[float, float] | None) -> None:
        """The seconds a loop repeats (the selected bars); None: the whole song."""
        self._loop_range = span
        if self._player is not None:
            self._player.loop_range = span

    @property
    def is_playing(self) -> bool:
        return self._player is not None and self._player.is_playing

    @property
    def position(self) -> float:
        return self._player.position if self._player is not None else 0.0

    def play(self, start_seconds: float = 0.0) -> None:
        """Start playing; PlaybackError when there is no output or nothing to play."""
        if self._player is None:
            raise PlaybackError("no sound output chosen")
        if self._song is None or self._song.note_count == 0:
            raise PlaybackError("nothing to play: open a MIDI file or make a take")
        self._player.play(start_seconds)
        self.playing_changed.emit(True)

    def stop(self) -> None:
        if self._player is not None:
            was_playing = self._player.is_playing
            self._player.stop()
            if was_playing:
                self.playing_changed.emit(False)

    def close(self) -> None:
        if self._player is not None:
            self._player.close()
            self._player = None
        if self._sink is not None:
            _close(self._sink)
            self._sink = None

    @Slot(str, object)
    def _deliver(self, kind: str, payload: object) -> None:
        if kind == "position":
            self.position_changed.emit(payload)
        elif kind == "finished":
            self.playing_changed.emit(False)
            self.finished.emit()
        else:
            self.playing_changed.emit(False)
            self.error.emit(payload)


def _close(sink: Sink) -> None:
    try:
        sink.close()
    except Exception:
        log.warning("closing the output failed", exc_info=True)
