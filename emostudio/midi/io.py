"""Read and write MIDI files as :class:`~emostudio.midi.song.Song` (through mido).

Reading accepts type 0 and type 1 files at any resolution: ticks are rescaled to 480 per quarter
note, notes are split into tracks by (MIDI track, channel, program), channel 10 is drums, overlapping
notes of one pitch are closed first-in-first-out, and notes never closed end at their track's end.
Controller changes (:data:`KEPT_CONTROLS`: the pedals, volume, expression, pan, ...) and
pitch-wheel moves go with the tracks of their MIDI track and channel (or, where that MIDI track has
no notes on the channel, with every track on it) and are written back on the track's channel.
Key signatures are read and written as the file states them (:class:`KeySignature`; one that
states no key is left out, with a warning, and the music read), and so are
its copyright notice, free texts and markers (:class:`TextEvent`, :data:`TEXT_KINDS`: written to
the conductor track).
Anything unreadable raises :class:`MidiReadError` with the file and the reason in one line.
"""

from __future__ import annotations

import io
import logging
import os
from collections import defaultdict, deque
from dataclasses import replace
from pathlib import Path

import mido

from emostudio.atomic import atomic_write
from emostudio.midi.song import (
    DEFAULT_BPM,
    TEXT_KINDS,
    TICKS_PER_BEAT,
    ControlChange,
    KeySignature,
    Note,
    PitchBend,
    Song,
    TempoChange,
    TextEvent,
    TimeSignature,
    Track,
    key_changes,
)

log = logging.getLogger(__name__)

#: Longer files are refused (a guard against absurd delta times that would make millions of bars).
MAX_SECONDS = 2 * 3600
MAX_FILE_BYTES = 64 * 1024 * 1024
DRUM_CHANNEL = 9
#: the controllers a piece keeps: every one but bank select (0, 32: a track has a program, not a
#: bank) and the channel-mode messages (120-127: all notes off, reset, ...)
KEPT_CONTROLS = frozenset(range(1, 120)) - {32}


class MidiReadError(ValueError):
    """A MIDI file that cannot be used; ``str(error)`` is one line naming the file and the reason."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


def read_midi(path: str | os.PathLike) -> Song:
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MidiReadError(str(path), f"cannot open file ({exc.strerror or exc})") from exc
    if size > MAX_FILE_BYTES:
        raise MidiReadError(str(path), f"file too large ({size / 2**20:.0f} MiB)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MidiReadError(str(path), f"cannot read file ({exc.strerror or exc})") from exc
    return song_from_bytes(data, source=str(path), name=path.stem)


def _plain_reason(exc: Exception) -> str:
    """What mido's exception means, in words a user can act on."""
    if isinstance(exc, EOFError):
        return "file ends early (truncated)"
    if isinstance(exc, KeyError):  # mido's table of message types has no such status byte
        return f"corrupt MIDI data (unknown event {exc.args[0] if exc.args else ''})".replace(
            " )", ")"
        )
    reason = str(exc).strip()
    return (
        f"corrupt MIDI data ({reason})" if reason else f"corrupt MIDI data ({type(exc).__name__})"
    )


def song_from_bytes(data: bytes, source: str = "<bytes>", name: str = "") -> Song:
    if len(data) < 14 or not data.startswith(b"MThd"):
        raise MidiReadError(source, "not a MIDI file (no MThd header)")
    try:
        midi = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except mido.KeySignatureError:
        # a key signature no key has (sharps outside -7..7, a mode neither major nor minor): the
        # music is read without it rather than refused
        log.warning("%s: a key signature no key has is left out", source)
        try:
            midi = mido.MidiFile(file=io.BytesIO(_without_bad_key_signatures(data)), clip=True)
        except Exception as exc:
            raise MidiReadError(source, _plain_reason(exc)) from exc
    except Exception as exc:  # mido raises OSError, EOFError, KeyError, ValueError, ...
        raise MidiReadError(source, _plain_reason(exc)) from exc
    try:
        return _song_from_midifile(midi, source, name)
    except MidiReadError:
        raise
    except Exception as exc:
        raise MidiReadError(source, f"unusable MIDI content ({type(exc).__name__}: {exc})") from exc


def _without_bad_key_signatures(data: bytes) -> bytes:
    """``data`` with each key signature meta event that states no key (``FF 59 02 sf mi``, sf
    outside -7..7 or mi neither 0 nor 1) turned into a sequencer-specific one of the same length,
    which the reader ignores."""
    out = bytearray(data)
    i = out.find(b"\xff\x59\x02")
    while i >= 0 and i + 4 < len(out):
        sharps = out[i + 3] - 256 if out[i + 3] > 127 else out[i + 3]
        if not -7 <= sharps <= 7 or out[i + 4] not in (0, 1):
            out[i + 1] = 0x7F
        i = out.find(b"\xff\x59\x02", i + 3)
    return bytes(out)


def _song_from_midifile(midi: mido.MidiFile, source: str, name: str) -> Song:
    if midi.type == 2:
        raise MidiReadError(source, "type 2 (asynchronous) MIDI files are not supported")
    tpb = midi.ticks_per_beat
    if not tpb or tpb <= 0:
        raise MidiReadError(source, f"invalid resolution ({tpb} ticks per beat)")
    scale = TICKS_PER_BEAT / tpb

    tempos: dict[int, float] = {}
    signatures: dict[int, tuple[int, int]] = {}
    key_signatures: list[KeySignature] = []
    texts: list[TextEvent] = []
    # (midi track, channel, program) -> notes; per (track, channel): current program & names
    notes: dict[tuple[int, int, int], list[Note]] = defaultdict(list)
    controls: dict[tuple[int, int], list[ControlChange]] = defaultdict(list)  # (track, channel)
    bends: dict[tuple[int, int], list[PitchBend]] = defaultdict(list)
    track_names: dict[int, str] = {}
    max_tick = 0

    for ti, mtrack in enumerate(midi.tracks):
        tick = 0
        program = [0] * 16
        open_notes: dict[tuple[int, int], deque] = defaultdict(deque)
        for msg in mtrack:
            tick += msg.time
            t = round(tick * scale)
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                open_notes[(msg.channel, msg.note)].append((t, msg.velocity, program[msg.channel]))
            elif kind == "note_off" or (kind == "note_on" and msg.velocity == 0):
                queue = open_notes.get((msg.channel, msg.note))
                if queue:
                    start, vel, prog = queue.popleft()
                    _add_note(notes[(ti, msg.channel, prog)], msg.note, start, t, vel)
            elif kind == "program_change":
                program[msg.channel] = msg.program
            elif kind == "control_change" and msg.control in KEPT_CONTROLS:
                controls[(ti, msg.channel)].append(ControlChange(t, msg.control, msg.value))
            elif kind == "pitchwheel":
                bends[(ti, msg.channel)].append(PitchBend(t, msg.pitch))
            elif kind == "set_tempo":
                tempos[t] = mido.tempo2bpm(msg.tempo) if msg.tempo > 0 else DEFAULT_BPM
            elif kind == "time_signature":
                signatures[t] = (msg.numerator, msg.denominator)
            elif kind == "key_signature":
                key_signatures.append(KeySignature.parse(t, msg.key))
            elif kind in TEXT_KINDS:
                texts.append(TextEvent(t, kind, _from_midi_text(msg.text)))
            elif kind == "track_name" and ti not in track_names:
                track_names[ti] = _from_midi_text(msg.name)
        end = round(tick * scale)
        max_tick = max(max_tick, end)
        for (channel, pitch), queue in open_notes.items():  # never closed: end at the track's end
            for start, vel, prog in queue:
                _add_note(notes[(ti, channel, prog)], pitch, start, max(end, start + 1), vel)

    tempo_list = [TempoChange(t, float(b)) for t, b in sorted(tempos.items()) if 1.0 <= b <= 1000.0]
    if not tempo_list or tempo_list[0].tick != 0:
        first = tempo_list[0].bpm if tempo_list else DEFAULT_BPM
        tempo_list.insert(0, TempoChange(0, first if tempo_list else DEFAULT_BPM))
    sig_list = [
        TimeSignature(t, n, d) for t, (n, d) in sorted(signatures.items()) if n > 0 and d > 0
    ]
    if not sig_list or sig_list[0].tick != 0:
        sig_list.insert(0, TimeSignature(0, 4, 4))

    tracks = []
    keys = sorted(key for key, track_notes in notes.items() if track_notes)
    with_notes = {key[:2] for key in keys}
    for ti, channel, prog in keys:
        is_drum = channel == DRUM_CHANNEL
        track = Track(program=prog, is_drum=is_drum, name=track_names.get(ti, ""))
        tracks.append(
            replace(
                track.with_notes(notes[(ti, channel, prog)]),
                controls=_channel_events(controls, ti, channel, with_notes),
                bends=_channel_events(bends, ti, channel, with_notes),
            )
        )
    song = Song(
        tracks=tuple(tracks),
        tempos=tuple(tempo_list),
        time_signatures=tuple(sig_list),
        name=name,
        key_signatures=key_changes(key_signatures),
        texts=tuple(sorted(texts, key=lambda e: e.tick)),
    )
    if song.duration_seconds > MAX_SECONDS:
        raise MidiReadError(
            source,
            f"too long ({song.duration_seconds / 3600:.1f} h; at most {MAX_SECONDS // 3600} h)",
        )
    return song


def _channel_events(events: dict[tuple[int, int], list], ti: int, channel: int, with_notes):
    """The controller changes or wheel moves of MIDI track ``ti``'s ``channel``, with those of
    the channel in MIDI tracks that have no notes on it (a controller track of its own plays on
    every track of its channel), in time order."""
    mine = events.get((ti, channel), [])
    others = [
        e
        for (cti, cch), changes in events.items()
        if cch == channel and cti != ti and (cti, cch) not in with_notes
        for e in changes
    ]
    return tuple(sorted(mine + others, key=lambda e: e.tick) if others else mine)


def _add_note(bucket: list[Note], pitch: int, start: int, end: int, velocity: int) -> None:
    if end <= start:  # a zero-length note (on and off in the same tick) still sounds briefly
        end = start + 1
    bucket.append(Note(int(pitch), int(start), int(end), max(1, min(127, int(velocity)))))


def track_channels(song: Song) -> tuple[int, ...]:
    """The MIDI channel (0-15) of each track, in track order: drums on channel 10 (index 9), the
    other tracks on the remaining 15 channels in turn (wrapping round after 15 tracks).

    The one channel assignment shared by MIDI files and live playback (:mod:`emostudio.playback`)."""
    melodic = [c for c in range(16) if c != DRUM_CHANNEL]
    channels = []
    next_channel = 0
    for track in song.tracks:
        if track.is_drum:
            channels.append(DRUM_CHANNEL)
        else:
            channels.append(melodic[next_channel % len(melodic)])
            next_channel += 1
    return tuple(channels)


def song_to_midifile(song: Song) -> mido.MidiFile:
    """A type 1 file: a conductor track (tempo, time and key signatures, texts) and one track per
    :class:`Track`."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor = [
        mido.MetaMessage("track_name", name=_to_midi_text(song.name or "emostudio"), time=0)
    ]
    for tick, bpm in song.tempo_map.changes:  # from tick 0, so every player starts at our tempo
        conductor.append((tick, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    for s in song.time_signatures:
        conductor.append(
            (
                s.tick,
                mido.MetaMessage(
                    "time_signature", numerator=s.numerator, denominator=_pow2(s.denominator)
                ),
            )
        )
    for k in song.key_signatures:
        conductor.append((k.tick, mido.MetaMessage("key_signature", key=k.name)))
    for e in song.texts:
        conductor.append((e.tick, mido.MetaMessage(e.kind, text=_to_midi_text(e.text))))
    # tempo changes, signatures and texts interleave by tick (a stable sort keeps each list's order)
    midi.tracks.append(_to_delta([conductor[0]], sorted(conductor[1:], key=lambda e: e[0])))
    for track, channel in zip(song.tracks, track_channels(song)):
        name = _to_midi_text(track.name or track.family.label)
        header = [mido.MetaMessage("track_name", name=name, time=0)]
        if not track.is_drum:
            header.append(
                mido.Message("program_change", channel=channel, program=track.program, time=0)
            )
        # at one instant: note-offs, then controller changes and wheel moves (a pedal pressed as a
        # note is released does not hold it; a note starts at the wheel's new pitch), then note-ons
        events = [
            (
                c.tick,
                1,
                mido.Message("control_change", channel=channel, control=c.control, value=c.value),
            )
            for c in track.controls
        ]
        events += [
            (b.tick, 1, mido.Message("pitchwheel", channel=channel, pitch=b.value))
            for b in track.bends
        ]
        for n in track.notes:
            events.append(
                (
                    n.start,
                    2,
                    mido.Message("note_on", channel=channel, note=n.pitch, velocity=n.velocity),
                )
            )
            events.append(
                (n.end, 0, mido.Message("note_off", channel=channel, note=n.pitch, velocity=0))
            )
        events.sort(key=lambda e: (e[0], e[1]))
        midi.tracks.append(_to_delta(header, [(tick, msg) for tick, _, msg in events]))
    return midi


def _to_midi_text(text: str) -> str:
    """Text for a meta event, which mido writes as latin-1: text beyond it (a take's name, "1 ·
    001 → sad", as a song's name) goes as its UTF-8 bytes, which most programs read as UTF-8 (it
    raised UnicodeEncodeError: no export, no crash-recovery copy); :func:`_from_midi_text` reads
    them back."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8").decode("latin-1")
    return text


def _from_midi_text(text: str) -> str:
    """A meta event's text as mido reads it (latin-1), with UTF-8 bytes read as UTF-8 (a file's
    bytes are kept either way: written back, the text gives the same bytes)."""
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _pow2(denominator: int) -> int:
    """mido only writes power-of-two denominators; round anything else to the nearest one."""
    power = 1
    while power * 2 <= denominator:
        power *= 2
    return power


def _to_delta(header: list, timed: list) -> mido.MidiTrack:
    track = mido.MidiTrack(header)
    last = 0
    for tick, msg in timed:
        track.append(msg.copy(time=tick - last))
        last = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def song_to_bytes(song: Song) -> bytes:
    buffer = io.BytesIO()
    song_to_midifile(song).save(file=buffer)
    return buffer.getvalue()


def write_midi(song: Song, path: str | os.PathLike) -> None:
    """Write atomically: a temporary file beside the target, then a rename (nothing half-written)."""
    atomic_write(path, song_to_bytes(song))
