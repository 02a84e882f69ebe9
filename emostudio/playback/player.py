"""The pure timing player: plays a :class:`~emostudio.midi.Song` into a :class:`Sink` on its own
thread, and reports through callbacks (the GUI re-emits them as Qt signals).

Timing: the thread sleeps on a condition variable until the next message is due (or the next
position report, ~30 per second), so it never busy-waits, and wakes at once when the song, the
loop flag or the state changes. All state is guarded by one lock; the sink is only ever called
with that lock held, so a :meth:`Player.stop` can never be overtaken by a late note.
Callbacks run on the player's thread, outside the lock (they may call back into the player).

A song may be replaced while it plays (:meth:`Player.set_song`): messages already sent are not
sent again, the rest of the new song plays on from the current position without a gap, notes
that the new song no longer releases are released, and changed instruments are re-sent. This is
how a song that grows bar by bar during generation is played; pass ``growing=True`` while more
bars are coming, and if playback catches up with generation it waits (position held) instead of
finishing, and resumes when the next bars arrive.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable

import mido
import numpy as np

from emostudio.midi.song import Song
from emostudio.playback.events import (
    NOTE_OFF,
    PROGRAM,
    Schedule,
    controls_at,
    loop_end_seconds,
    song_schedule,
)
from emostudio.playback.sinks import PlaybackError, Sink

log = logging.getLogger(__name__)

POSITION_INTERVAL = 1.0 / 30.0  # seconds between position callbacks while playing
CATCH_UP_S = 0.05  # a replaced song's messages at most this overdue still play


class Player:
    """Plays songs into a sink. ``clock`` must advance with real time (sleeps are real)."""

    def __init__(self, sink: Sink, clock: Callable[[], float] = time.monotonic) -> None:
        self._sink = sink
        self._clock = clock
        self._lock = threading.Condition()
        self._version = 0  # bumped by every change the thread must notice
        # the song
        self._setup: list[mido.Message] = []  # program changes, sent when playback starts
        self._schedule = Schedule.empty()  # everything else, by time
        self._times: list[float] = []  # self._schedule.seconds, as a list for fast bisects
        self._duration = 0.0
        self._loop_end = 0.0
        self._growing = False
        # the state
        self._loop = False
        self._loop_range: tuple[float, float] | None = None  # None: the whole song
        self._playing = False
        self._stalled = False  # a growing song ran out: waiting for more bars
        self._origin = 0.0  # clock time of position 0 while playing
        self._held_position = 0.0  # the position while stopped or stalled
        self._index = 0  # next message of the schedule to send
        self._last_sent_time = -math.inf
        self._sent_at_last_time: Counter = Counter()  # messages sent at _last_sent_time
        self._played_from = 0.0  # where this run of playback started (or the loop wrapped)
        self._sounding: set[tuple[int, int]] = set()  # (channel, note) switched on, not yet off
        self._programs: dict[int, int] = {}
        self._closed = False
        self._position_callbacks: list[Callable[[float], None]] = []
        self._finished_callbacks: list[Callable[[], None]] = []
        self._error_callbacks: list[Callable[[str], None]] = []
        self._thread = threading.Thread(target=self._run, name="emostudio-player", daemon=True)
        self._thread.start()

    # ---- callbacks ------------------------------------------------------------------------------
    def on_position(self, callback: Callable[[float], None]) -> None:
        """``callback(seconds)`` about 30 times a second while playing, and when playback ends."""
        self._position_callbacks.append(callback)

    def on_finished(self, callback: Callable[[], None]) -> None:
        """``callback()`` when playback reaches the end of the song (not after :meth:`stop`)."""
        self._finished_callbacks.append(callback)

    def on_error(self, callback: Callable[[str], None]) -> None:
        """``callback(message)`` when the sink fails; playback has stopped by then."""
        self._error_callbacks.append(callback)

    # ---- state ----------------------------------------------------------------------------------
    @property
    def is_playing(self) -> bool:
        with self._lock:
            return self._playing

    @property
    def position(self) -> float:
        """Seconds from the start of the song."""
        with self._lock:
            return self._position()

    @property
    def duration(self) -> float:
        """Seconds to the end of the last note (0 without a song)."""
        with self._lock:
            return self._duration

    @property
    def loop_end(self) -> float:
        """Where looping wraps round: the end of the last bar with a note."""
        with self._lock:
            return self._loop_end

    @property
    def loop(self) -> bool:
        with self._lock:
            return self._loop

    @loop.setter
    def loop(self, value: bool) -> None:
        with self._lock:
            self._loop = bool(value)
            self._changed()

    @property
    def loop_range(self) -> tuple[float, float] | None:
        """The seconds (start, end) a loop repeats (e.g. the selected bars); None: the whole
        song, from 0 to :attr:`loop_end`. A range beyond the song's end stops there."""
        with self._lock:
            return self._loop_range

    @loop_range.setter
    def loop_range(self, span: tuple[float, float] | None) -> None:
        if span is not None:
            start, end = float(span[0]), float(span[1])
            if not 0.0 <= start < end:
                raise ValueError(f"a loop range needs 0 <= start < end, not {span}")
            span = (start, end)
        with self._lock:
            self._loop_range = span
            self._changed()

    # ---- control --------------------------------------------------------------------------------
    def set_song(self, song: Song | None, growing: bool = False) -> None:
        """Play ``song`` from now on (None: nothing). While playing, playback goes on seamlessly
        from the current position. ``growing``: more bars are coming (see the module docstring)."""
        full = song_schedule(song) if song is not None else Schedule.empty()
        is_setup = full.kind == PROGRAM
        setup = [full.message(i) for i in np.flatnonzero(is_setup)]
        schedule = full.select(~is_setup)
        times = schedule.seconds.tolist()
        duration = song.duration_seconds if song is not None else 0.0
        loop_end = loop_end_seconds(song) if song is not None else 0.0
        error = None
        with self._lock:
            self._guard_open()
            self._setup, self._schedule = setup, schedule
            self._times = times
            self._duration, self._loop_end, self._growing = duration, loop_end, growing
            if self._playing:
                try:
                    self._continue_with_new_song()
                except Exception as exc:
                    error = self._fail(exc)
            self._changed()
        if error is not None:
            for callback in list(self._error_callbacks):
                _try(callback, error)

    def set_sink(self, sink: Sink) -> None:
        """Send to ``sink`` from now on; the old sink is silenced (not closed: its owner closes it)."""
        with self._lock:
            self._guard_open()
            old, self._sink = self._sink, sink
            self._sounding.clear()
            _try(old.panic)
            if self._playing:
                self._programs.clear()
                self._send_setup()
            self._changed()

    def play(self, start_seconds: float = 0.0) -> None:
        """Start (or restart) playing at ``start_seconds``."""
        with self._lock:
            self._guard_open()
            self._release_sounding()
            self._programs.clear()
            try:
                self._send_setup()
            except Exception as exc:
                raise PlaybackError(f"cannot play: {exc}") from exc
            start = max(0.0, float(start_seconds))
            self._index = bisect.bisect_left(self._times, start)
            try:
                self._send_controls()
            except Exception as exc:
                raise PlaybackError(f"cannot play: {exc}") from exc
            self._last_sent_time = -math.inf
            self._sent_at_last_time = Counter()
            self._played_from = start
            self._origin = self._clock() - start
            self._playing, self._stalled = True, False
            self._changed()

    def stop(self) -> None:
        """Stop playing and silence the sink (a panic is sent even when already stopped)."""
        with self._lock:
            if self._playing:
                self._held_position = self._position()
                self._playing = self._stalled = False
            self._sounding.clear()
            if not self._closed:
                _try(self._sink.panic)
            self._changed()

    def close(self) -> None:
        """Stop and end the player's thread. The sink is left open for its owner to close."""
        self.stop()
        with self._lock:
            self._closed = True
            self._changed()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5.0)

    # ---- the thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        next_report = 0.0
        while True:
            notices: list[tuple[list, tuple]] = []
            with self._lock:
                if self._closed:
                    return
                if not self._playing or self._stalled:
                    self._lock.wait()
                    next_report = 0.0
                    continue
                now = self._clock()
                position = now - self._origin
                try:
                    span = self._loop_span()
                    self._send_due(position, before=math.inf if span is None else span[1])
                    if span is not None and position >= span[1]:
                        position = self._wrap(position, span)
                    if self._index >= len(self._schedule):
                        position = self._at_end(position, notices)
                except Exception as exc:  # a port unplugged, a synth gone, ...
                    notices.append((self._error_callbacks, (self._fail(exc),)))
                if self._playing and not self._stalled and now >= next_report:
                    notices.append((self._position_callbacks, (max(0.0, position),)))
                    next_report = now + POSITION_INTERVAL
                version = self._version
                wake = self._next_wake(next_report)
            for callbacks, args in notices:
                for callback in list(callbacks):
                    _try(callback, *args)
            with self._lock:
                if self._version == version and self._playing and not self._stalled:
                    timeout = wake - self._clock()
                    if timeout > 0:
                        self._lock.wait(timeout)

    def _at_end(self, position: float, notices: list) -> float:
        """Every message is sent: wait for more bars (growing), for the loop's end, or finish."""
        if self._growing:
            if position >= self._duration:
                self._stalled, self._held_position = True, position
            return position
        if self._loop_span() is not None:
            return position  # _run wraps at the loop's end
        if position >= self._duration:
            self._playing = False
            self._held_position = self._duration
            notices.append((self._position_callbacks, (self._duration,)))
            notices.append((self._finished_callbacks, ()))
        return position

    def _next_wake(self, next_report: float) -> float:
        span = self._loop_span()
        if self._index < len(self._schedule):
            due = self._times[self._index]
            if span is not None:
                due = min(due, span[1])
        else:
            due = span[1] if span is not None else self._duration
        return min(self._origin + due, next_report)

    def _loop_span(self) -> tuple[float, float] | None:
        """Where playback wraps now, (start, end) seconds; None when it does not loop."""
        if not self._loop or self._growing or self._loop_end <= 0:
            return None
        if self._loop_range is None:
            return (0.0, self._loop_end)
        start, end = self._loop_range
        end = min(end, self._loop_end)
        return (start, end) if start < end else (0.0, self._loop_end)

    def _wrap(self, position: float, span: tuple[float, float]) -> float:
        """Back to the loop's start; what still sounds at its end is released there."""
        start, end = span
        while position >= end:  # keep the bar grid exact across wraps
            self._origin += end - start
            position -= end - start
        self._release_sounding()
        self._index = bisect.bisect_left(self._times, start)
        self._last_sent_time = -math.inf
        self._sent_at_last_time = Counter()
        self._played_from = start
        self._send_controls()  # a pedal held at the loop's end is lifted for its start
        self._send_due(position)
        return position

    # ---- helpers (lock held) --------------------------------------------------------------------
    def _changed(self) -> None:
        self._version += 1
        self._lock.notify_all()

    def _fail(self, exc: Exception) -> str:
        """Stop after the sink failed; returns the message for the error callbacks."""
        message = f"playback stopped: {exc}"
        log.error("%s", message)
        self._held_position = self._position()
        self._playing = self._stalled = False
        self._sounding.clear()
        _try(self._sink.panic)
        return message

    def _guard_open(self) -> None:
        if self._closed:
            raise PlaybackError("the player is closed")

    def _position(self) -> float:
        if not self._playing or self._stalled:
            return self._held_position
        position = self._clock() - self._origin
        span = self._loop_span()
        if span is not None:
            start, end = span
            return start + (position - start) % (end - start) if position >= end else position
        return max(0.0, min(position, self._duration)) if not self._growing else max(0.0, position)

    def _send(self, message: mido.Message) -> None:
        self._sink.send(message)
        if message.type == "note_on" and message.velocity > 0:
            self._sounding.add((message.channel, message.note))
        elif message.type in ("note_off", "note_on"):
            self._sounding.discard((message.channel, message.note))

    def _send_due(self, position: float, before: float = math.inf) -> None:
        """Send what is due at ``position``, all but what is due at ``before`` or later (a
        loop's end: what starts there belongs to the bar after the loop)."""
        times = self._times
        while (
            self._index < len(self._schedule)
            and times[self._index] <= position
            and times[self._index] < before
        ):
            seconds = self._times[self._index]
            self._send(self._schedule.message(self._index))
            if seconds != self._last_sent_time:
                self._last_sent_time, self._sent_at_last_time = seconds, Counter()
            self._sent_at_last_time[self._schedule.key(self._index)] += 1
            self._index += 1

    def _send_setup(self) -> None:
        for message in self._setup:
            if self._programs.get(message.channel) != message.program:
                self._sink.send(message)
                self._programs[message.channel] = message.program

    def _send_controls(self) -> None:
        """The controllers' values where playback goes on (at ``self._index``): a pedal held
        there is held, one lifted is lifted."""
        for message in controls_at(self._schedule, self._index):
            self._sink.send(message)

    def _release_sounding(self) -> None:
        for channel, note in sorted(self._sounding):
            _try(self._sink.send, mido.Message("note_off", channel=channel, note=note, velocity=0))
        self._sounding.clear()

    def _continue_with_new_song(self) -> None:
        """After the schedule was replaced mid-play: skip what was sent, keep what was not."""
        self._send_setup()
        position = self._held_position if self._stalled else self._clock() - self._origin
        # Messages more than CATCH_UP_S overdue are skipped (a replaced song must not burst out
        # what it would have played before now); nearer ones still play, a little late.
        catch_up_from = max(self._played_from, position - CATCH_UP_S)
        last = self._last_sent_time
        unsent_at_last = []
        if last >= catch_up_from:  # messages at exactly `last`: send those not sent yet
            already = Counter(self._sent_at_last_time)
            start = bisect.bisect_left(self._times, last)
            for i in range(start, bisect.bisect_right(self._times, last)):
                key = self._schedule.key(i)
                if already[key] > 0:
                    already[key] -= 1
                else:
                    unsent_at_last.append(i)
        self._index = max(
            bisect.bisect_right(self._times, last), bisect.bisect_left(self._times, catch_up_from)
        )
        # notes the new song will not release (it changed under them) are released now
        rest = self._schedule.select(np.arange(len(self._schedule)) >= self._index)
        is_off = rest.kind == NOTE_OFF
        released_later = set(zip(rest.channel[is_off].tolist(), rest.data1[is_off].tolist()))
        for channel, note in sorted(self._sounding - released_later):
            self._send(mido.Message("note_off", channel=channel, note=note, velocity=0))
        self._send_controls()  # the new song's pedals and volumes where it goes on
        for i in unsent_at_last:
            self._send(self._schedule.message(i))
            self._sent_at_last_time[self._schedule.key(i)] += 1
        if self._stalled:
            self._origin = self._clock() - self._held_position
            self._stalled = False


def _try(function: Callable, *args) -> None:
    try:
        function(*args)
    except Exception:
        log.exception("error in %s", getattr(function, "__qualname__", function))
