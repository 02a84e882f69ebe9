"""A :class:`~emostudio.midi.Song` as a time-ordered schedule of MIDI messages in seconds.

The schedule both the live :class:`~emostudio.playback.player.Player` and the offline renderer
(:mod:`emostudio.playback.render`) play from. Channels come from
:func:`emostudio.midi.io.track_channels`, the same assignment MIDI files use, so a song sounds the
same through a DAW, a MIDI port and FluidSynth.

:func:`song_schedule` builds a :class:`Schedule` of numpy arrays (a 30-minute piece of 100,000
notes in a few tens of milliseconds, so replacing the song of a playing player never stalls its
caller); mido messages are made one at a time when sent. :func:`song_to_events` gives the same
schedule as a list of :class:`TimedMessage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import mido
import numpy as np

from emostudio.midi.io import track_channels
from emostudio.midi.song import TICKS_PER_BAR, Song

# Message kinds, also their order at the same instant: set-up first, then note-offs (so a
# repeated note is released before it is struck again), then controller changes (a pedal pressed
# as a note is released does not hold it) and pitch-wheel moves (a note starts at the wheel's new
# pitch), then note-ons.
PROGRAM, NOTE_OFF, CONTROL, PITCH, NOTE_ON = 0, 1, 2, 3, 4
#: a pitch-wheel move's ``data1`` is its value plus this (0..16383: no negative numbers)
PITCH_CENTRE = 8192


class TimedMessage(NamedTuple):
    """One MIDI message and the time in seconds from the start of the song at which it sounds."""

    seconds: float
    message: mido.Message


@dataclass(frozen=True)
class Schedule:
    """Every message of a song, sorted by time, as parallel arrays of length n.

    ``kind`` is :data:`PROGRAM`, :data:`NOTE_OFF`, :data:`CONTROL`, :data:`PITCH` or
    :data:`NOTE_ON`; ``data1`` the program, note or controller number, or the wheel's value plus
    :data:`PITCH_CENTRE`; ``data2`` the velocity or controller value (else 0)."""

    seconds: np.ndarray  # float64[n], non-decreasing
    kind: np.ndarray  # int8[n]
    channel: np.ndarray  # int8[n], 0-15
    data1: np.ndarray  # int16[n], 0-127
    data2: np.ndarray  # int16[n], 0-127

    @classmethod
    def empty(cls) -> Schedule:
        none = np.zeros(0, dtype=np.int8)
        return cls(np.zeros(0), none, none, none.astype(np.int16), none.astype(np.int16))

    def __len__(self) -> int:
        return len(self.seconds)

    def select(self, mask: np.ndarray) -> Schedule:
        """The messages where ``mask`` is true (still sorted)."""
        return Schedule(
            self.seconds[mask],
            self.kind[mask],
            self.channel[mask],
            self.data1[mask],
            self.data2[mask],
        )

    def key(self, i: int) -> tuple[int, int, int, int]:
        """What message ``i`` is, as plain ints (for comparing messages of two schedules)."""
        return int(self.kind[i]), int(self.channel[i]), int(self.data1[i]), int(self.data2[i])

    def message(self, i: int) -> mido.Message:
        return make_message(*self.key(i))

    def events(self) -> list[TimedMessage]:
        return [TimedMessage(float(self.seconds[i]), self.message(i)) for i in range(len(self))]


def make_message(kind: int, channel: int, data1: int, data2: int) -> mido.Message:
    """A mido message from schedule values (valid by construction, so mido's checks are skipped)."""
    if kind == NOTE_ON:
        return mido.Message(
            "note_on", skip_checks=True, channel=channel, note=data1, velocity=data2
        )
    if kind == NOTE_OFF:
        return mido.Message("note_off", skip_checks=True, channel=channel, note=data1, velocity=0)
    if kind == CONTROL:
        return mido.Message(
            "control_change", skip_checks=True, channel=channel, control=data1, value=data2
        )
    if kind == PITCH:
        return mido.Message(
            "pitchwheel", skip_checks=True, channel=channel, pitch=data1 - PITCH_CENTRE
        )
    return mido.Message("program_change", skip_checks=True, channel=channel, program=data1)


def song_schedule(song: Song) -> Schedule:
    """The :class:`Schedule` of ``song``: a program change at 0 s for each melodic track (drums on
    channel 10, index 9, get none, as in the MIDI files :func:`~emostudio.midi.write_midi`
    writes), then each note's on and off, each controller change and each pitch-wheel move on
    its track's channel."""
    parts: list[tuple[np.ndarray, ...]] = []  # (ticks, kind, channel, data1, data2)
    for track, channel in zip(song.tracks, track_channels(song)):
        if not track.is_drum:
            parts.append(
                _columns([0.0], PROGRAM, channel, [max(0, min(127, int(track.program)))], [0])
            )
        if track.notes:
            values = np.array(
                [(n.start, n.end, n.pitch, n.velocity) for n in track.notes], dtype=np.int64
            )
            starts, ends = values[:, 0].astype(np.float64), values[:, 1].astype(np.float64)
            pitches, velocities = np.clip(values[:, 2], 0, 127), np.clip(values[:, 3], 1, 127)
            parts.append(_columns(starts, NOTE_ON, channel, pitches, velocities))
            parts.append(_columns(ends, NOTE_OFF, channel, pitches, np.zeros_like(pitches)))
        if track.controls:
            values = np.array([(c.tick, c.control, c.value) for c in track.controls], np.int64)
            parts.append(
                _columns(
                    values[:, 0].astype(np.float64),
                    CONTROL,
                    channel,
                    np.clip(values[:, 1], 0, 127),
                    np.clip(values[:, 2], 0, 127),
                )
            )
        if track.bends:
            values = np.array([(b.tick, b.value) for b in track.bends], np.int64)
            wheel = np.clip(values[:, 1], -PITCH_CENTRE, PITCH_CENTRE - 1) + PITCH_CENTRE
            parts.append(
                _columns(
                    values[:, 0].astype(np.float64), PITCH, channel, wheel, np.zeros_like(wheel)
                )
            )
    if not parts:
        return Schedule.empty()
    ticks, kind, channel, data1, data2 = (np.concatenate(column) for column in zip(*parts))
    seconds = song.tempo_map.seconds_of(ticks)
    # by time, then kind (set-up, offs, ons); a stable sort keeps track order within those
    order = np.lexsort((kind, seconds))
    return Schedule(seconds[order], kind[order], channel[order], data1[order], data2[order])


def controls_at(schedule: Schedule, index: int) -> list[mido.Message]:
    """What playing from message ``index`` on must send first: each (channel, controller)'s
    value there, for every controller ``schedule`` changes (its last change among the messages
    before ``index``, or, for one not changed yet, its reset value from :data:`CONTROL_RESETS`;
    others are left alone until their first change), and the pitch wheel's position on every
    channel it moves on (centred before its first move)."""
    before = np.arange(len(schedule)) < index
    values: dict[tuple[int, int, int], int] = {}  # (kind, channel, controller or 0) -> value
    for kind in (CONTROL, PITCH):
        of_kind = schedule.kind == kind
        channels = schedule.channel[of_kind].tolist()
        numbers = schedule.data1[of_kind].tolist() if kind == CONTROL else [0] * len(channels)
        for channel, number in zip(channels, numbers):
            if kind == PITCH:
                values.setdefault((kind, channel, 0), PITCH_CENTRE)
            elif number in CONTROL_RESETS:
                values.setdefault((kind, channel, number), CONTROL_RESETS[number])
        done = of_kind & before
        for channel, data1, data2 in zip(
            schedule.channel[done].tolist(),
            schedule.data1[done].tolist(),
            schedule.data2[done].tolist(),
        ):
            if kind == PITCH:
                values[(kind, channel, 0)] = data1  # in time order: the last one stays
            else:
                values[(kind, channel, data1)] = data2
    return [
        make_message(kind, channel, number, value)
        if kind == CONTROL
        else make_message(kind, channel, value, 0)
        for (kind, channel, number), value in values.items()
    ]


#: controllers' values after a MIDI "reset all controllers" (the General MIDI defaults): where
#: playback starts before a piece's first change of one of these, it starts from this value
CONTROL_RESETS = {1: 0, 7: 100, 10: 64, 11: 127, 64: 0, 65: 0, 66: 0, 67: 0, 68: 0, 69: 0}


def song_to_events(song: Song) -> list[TimedMessage]:
    """Every message needed to play ``song``, sorted by time (see :func:`song_schedule`)."""
    return song_schedule(song).events()


def loop_end_seconds(song: Song) -> float:
    """Where a loop wraps: the end of the last bar that holds a note (so loops keep the metre)."""
    return song.tick_to_seconds(song.n_bars * TICKS_PER_BAR)


def panic_messages() -> list[mido.Message]:
    """Messages that silence every channel: sustain pedal up, all notes off, all sounds off."""
    messages = []
    for channel in range(16):
        messages.append(mido.Message("control_change", channel=channel, control=64, value=0))
        messages.append(mido.Message("control_change", channel=channel, control=123, value=0))
        messages.append(mido.Message("control_change", channel=channel, control=120, value=0))
    return messages


def _columns(ticks, kind: int, channel: int, data1, data2) -> tuple[np.ndarray, ...]:
    ticks = np.asarray(ticks, dtype=np.float64)
    n = len(ticks)
    return (
        ticks,
        np.full(n, kind, dtype=np.int8),
        np.full(n, channel, dtype=np.int8),
        np.asarray(data1, dtype=np.int16),
        np.asarray(data2, dtype=np.int16),
    )
