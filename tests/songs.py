"""Songs and MIDI files the tests make themselves (shared by every test module: ``import songs``).

- hypothesis strategies: :func:`grid_songs` (notes on the model's grid: what a token round trip
  must keep exactly) and :func:`any_songs` (any ticks, overlapping notes, tempo changes);
- hand-made music: :func:`song_of`, :func:`scale_song`, :func:`cadence_song`, :func:`chord_song`;
- raw MIDI files through mido with full control of the format (type 0/1, resolution, channels,
  tempo and metre events, many tracks): :func:`midi_bytes`, :func:`write_midi_file`;
- a tiny corpus folder, with or without a ``manifest.csv``: :func:`write_corpus`;
- what a song holds in some bars: :func:`notes_in`, :func:`bar_pitch_classes` (against
  :data:`TRIADS`).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mido
from hypothesis import strategies as st

from emostudio.midi import (
    TICKS_PER_BAR,
    TICKS_PER_SUBBEAT,
    Family,
    Note,
    Song,
    TempoChange,
    TimeSignature,
    Track,
)

# one program per family, so a track's family is its program's (drums: the drum flag)
FAMILY_PROGRAMS = {Family.PIANO: 0, Family.GUITAR: 25, Family.BASS: 33, Family.STRINGS: 48}

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
HARMONIC_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 11)
MAJOR_TRIAD = (0, 4, 7)


# ---- hypothesis strategies ---------------------------------------------------------------------
@st.composite
def grid_notes(draw, max_bars: int = 4, max_notes: int = 40, pitches=None) -> list[Note]:
    """Notes whose onset and length are whole sub-beats (1-16), in ``max_bars`` bars."""
    pitches = st.integers(0, 127) if pitches is None else pitches
    n = draw(st.integers(0, max_notes))
    notes = []
    for _ in range(n):
        onset = draw(st.integers(0, max_bars * 16 - 1))
        length = draw(st.integers(1, 16))
        notes.append(
            Note(
                draw(pitches),
                onset * TICKS_PER_SUBBEAT,
                (onset + length) * TICKS_PER_SUBBEAT,
                draw(st.integers(1, 127)),
            )
        )
    return notes


@st.composite
def grid_songs(
    draw, max_bars: int = 4, max_notes_per_track: int = 40, with_drums: bool = True
) -> Song:
    """Songs of 1-5 tracks, one per family, notes on the grid; a tempo per bar (the token grammar's)."""
    families = [Family.PIANO, Family.GUITAR, Family.BASS, Family.STRINGS] + (
        [Family.DRUMS] if with_drums else []
    )
    chosen = draw(
        st.lists(st.sampled_from(families), min_size=1, max_size=len(families), unique=True)
    )
    tracks = []
    for fam in chosen:
        notes = draw(grid_notes(max_bars, max_notes_per_track))
        if fam is Family.DRUMS:
            tracks.append(Track(program=0, is_drum=True, name="drums").with_notes(notes))
        else:
            tracks.append(Track(program=FAMILY_PROGRAMS[fam], name=fam.label).with_notes(notes))
    bpm = draw(st.sampled_from([60.0, 90.0, 120.0, 150.0]))
    changes = [TempoChange(0, bpm)]
    for bar in sorted(
        draw(st.sets(st.integers(1, max_bars - 1), max_size=2)) if max_bars > 1 else []
    ):
        changes.append(
            TempoChange(bar * TICKS_PER_BAR, draw(st.sampled_from([70.0, 100.0, 180.0])))
        )
    return Song(tracks=tuple(tracks), tempos=tuple(changes))


@st.composite
def any_songs(
    draw, max_ticks: int = 8 * TICKS_PER_BAR, max_tracks: int = 6, max_notes: int = 30
) -> Song:
    """Songs with notes at any tick and length (overlaps, tiny and very long notes), any programs,
    drums, tempo and time-signature changes anywhere."""
    tracks = []
    for _ in range(draw(st.integers(0, max_tracks))):
        notes = []
        for _ in range(draw(st.integers(0, max_notes))):
            start = draw(st.integers(0, max_ticks))
            notes.append(
                Note(
                    draw(st.integers(0, 127)),
                    start,
                    start + draw(st.integers(1, 3 * TICKS_PER_BAR)),
                    draw(st.integers(1, 127)),
                )
            )
        tracks.append(
            Track(
                program=draw(st.integers(0, 127)),
                is_drum=draw(st.booleans()),
                name=draw(st.sampled_from(["", "MELODY", "BRIDGE", "PIANO", "Bass"])),
            ).with_notes(notes)
        )
    tempo_ticks = sorted(draw(st.sets(st.integers(1, max_ticks), max_size=3)))
    tempos = [TempoChange(t, draw(st.floats(20.0, 300.0))) for t in [0, *tempo_ticks]]
    signatures = [
        TimeSignature(
            0, draw(st.sampled_from([1, 2, 3, 4, 5, 6, 7, 12])), draw(st.sampled_from([2, 4, 8]))
        )
    ]
    return Song(tracks=tuple(tracks), tempos=tuple(tempos), time_signatures=tuple(signatures))


# ---- hand-made songs ----------------------------------------------------------------------------
def song_of(
    notes: Iterable[tuple[int, int, int]],
    program: int = 0,
    drums: bool = False,
    velocity: int = 80,
    bpm: float = 120.0,
) -> Song:
    """A one-track song from (pitch, onset sub-beat, length in sub-beats) triples."""
    track = Track(program=program, is_drum=drums, name="drums" if drums else "").with_notes(
        [Note(p, o * TICKS_PER_SUBBEAT, (o + d) * TICKS_PER_SUBBEAT, velocity) for p, o, d in notes]
    )
    return Song(tracks=(track,), tempos=(TempoChange(0, bpm),))


def scale_song(tonic: int, minor: bool = False, octave: int = 4, bars: int = 4) -> Song:
    """The scale of a key (harmonic minor for minor), up and down in quarter notes, tonic held at the end."""
    steps = HARMONIC_MINOR_SCALE if minor else MAJOR_SCALE
    base = 12 * (octave + 1) + tonic % 12
    up = [base + s for s in steps] + [base + 12]
    line = up + up[-2::-1]
    notes = [(p, 4 * i, 4) for i, p in enumerate(line)]
    notes.append((base, 4 * len(line), 8))
    notes.append((base - 12, 4 * len(line), 8))
    n = max(bars * 4, len(line) + 2)
    return song_of(notes[:n])


def cadence_song(tonic: int, minor: bool = False, repeats: int = 2) -> Song:
    """I-IV-V-I (i-iv-V-i in minor) as whole-bar block chords with the root in the bass."""
    third = 3 if minor else 4
    chords = [(0, third, 7), (5, 5 + (3 if minor else 4), 12), (7, 11, 14), (0, third, 7)]
    root = 60 + tonic % 12
    notes = []
    for r in range(repeats):
        for i, chord in enumerate(chords):
            bar = r * len(chords) + i
            notes += [(root + iv, 16 * bar, 16) for iv in chord]
            notes.append((root - 24 + chord[0], 16 * bar, 16))
    return song_of(notes)


def chord_song(
    bars: int, onsets_per_bar: int, minor: bool = False, root: int = 60, velocity: int = 80
) -> Song:
    """A tonic triad repeated ``onsets_per_bar`` times per bar (a simple busy/calm, major/minor piece)."""
    triad = (0, 3 if minor else 4, 7)
    step = max(1, 16 // onsets_per_bar)
    notes = [
        (root + iv, 16 * b + step * k, step)
        for b in range(bars)
        for k in range(onsets_per_bar)
        for iv in triad
    ]
    return song_of(notes, velocity=velocity)


# ---- raw MIDI files ------------------------------------------------------------------------------
@dataclass
class RawTrack:
    """One MIDI track for :func:`midi_bytes`: notes as (pitch, start tick, end tick, velocity)."""

    notes: Sequence[tuple[int, int, int, int]] = ()
    channel: int = 0
    program: int | None = 0
    name: str = ""
    meta: Sequence[tuple[int, mido.MetaMessage]] = field(default_factory=list)  # (tick, message)


def midi_bytes(
    tracks: Sequence[RawTrack],
    midi_type: int = 1,
    ticks_per_beat: int = 480,
    tempos: Sequence[tuple[int, float]] = ((0, 120.0),),
    time_signatures: Sequence[tuple[int, int, int]] = ((0, 4, 4),),
) -> bytes:
    """A standard MIDI file. Type 1: a conductor track with tempo and metre, then ``tracks``.
    Type 0: everything merged into one track. Ticks are at ``ticks_per_beat``."""
    import io

    conductor: list[tuple[int, mido.MetaMessage | mido.Message]] = []
    for tick, bpm in tempos:
        conductor.append((tick, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    for tick, num, den in time_signatures:
        conductor.append((tick, mido.MetaMessage("time_signature", numerator=num, denominator=den)))
    timed_tracks = []
    for t in tracks:
        events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []
        if t.name:
            events.append((0, 0, mido.MetaMessage("track_name", name=t.name)))
        if t.program is not None:
            events.append(
                (0, 0, mido.Message("program_change", channel=t.channel, program=t.program))
            )
        for tick, msg in t.meta:
            events.append((tick, 0, msg))
        for pitch, start, end, velocity in t.notes:
            events.append(
                (
                    start,
                    2,
                    mido.Message("note_on", channel=t.channel, note=pitch, velocity=velocity),
                )
            )
            events.append(
                (end, 1, mido.Message("note_off", channel=t.channel, note=pitch, velocity=0))
            )
        events.sort(key=lambda e: (e[0], e[1]))
        timed_tracks.append([(tick, msg) for tick, _, msg in events])

    midi = mido.MidiFile(type=midi_type, ticks_per_beat=ticks_per_beat)
    if midi_type == 0:
        merged = sorted(conductor + [e for tr in timed_tracks for e in tr], key=lambda e: e[0])
        midi.tracks.append(_delta(merged))
    else:
        midi.tracks.append(_delta(sorted(conductor, key=lambda e: e[0])))
        for tr in timed_tracks:
            midi.tracks.append(_delta(tr))
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def _delta(timed: list[tuple[int, object]]) -> mido.MidiTrack:
    track = mido.MidiTrack()
    last = 0
    for tick, msg in timed:
        track.append(msg.copy(time=tick - last))
        last = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def write_midi_file(path: str | Path, tracks: Sequence[RawTrack], **kwargs) -> Path:
    """:func:`midi_bytes` written to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(midi_bytes(tracks, **kwargs))
    return path


def piece(seed: int, bars: int = 4, ticks_per_beat: int = 480) -> list[RawTrack]:
    """A small deterministic two-hand piano piece (different for each ``seed``), as raw tracks."""
    q = ticks_per_beat  # a quarter note
    root = 48 + seed % 12
    minor = seed % 2 == 1
    triad = (0, 3 if minor else 4, 7)
    right = [
        (
            root + 12 + triad[(i + seed) % 3] + 12 * (i % 2),
            i * q,
            (i + 1) * q,
            60 + (i * 7 + seed) % 50,
        )
        for i in range(4 * bars)
    ]
    left = [(root + iv, b * 4 * q, (b + 1) * 4 * q, 70) for b in range(bars) for iv in triad]
    return [RawTrack(right, channel=0, name="right"), RawTrack(left, channel=1, name="left")]


def calm_piece(bars: int = 8, q: int = 480) -> list[RawTrack]:
    """Calm (low arousal, high valence): major I-IV-V-I, a soft held triad per bar under a quiet
    half-note melody. Write it at a slow tempo (66 bpm)."""
    progression = (60, 65, 67, 60)
    melody, chords = [], []
    for b in range(bars):
        root = progression[b % 4]
        chords += [(root - 12 + iv, b * 4 * q, (b + 1) * 4 * q, 40) for iv in MAJOR_TRIAD]
        for k in range(2):
            pitch = root + 12 + MAJOR_TRIAD[(b + k) % 3]
            melody.append((pitch, b * 4 * q + k * 2 * q, b * 4 * q + (k + 1) * 2 * q, 45))
    return [RawTrack(melody, channel=0, name="melody"), RawTrack(chords, channel=1, name="chords")]


def tense_piece(bars: int = 8, q: int = 480) -> list[RawTrack]:
    """Tense (high arousal, low valence): loud sixteenth-note minor and tritone clusters over a
    pounding low octave. Write it at a fast tempo (168 bpm)."""
    s = q // 4
    right, left = [], []
    for b in range(bars):
        root = 57 + b % 2
        for k in range(16):
            start = b * 4 * q + k * s
            for iv in (0, 1, 6) if k % 2 else (0, 3, 6):
                right.append((root + 12 + iv + k % 4, start, start + s, 115))
            if k % 2 == 0:
                left += [(root - 24, start, start + s, 120), (root - 12, start, start + s, 120)]
    return [RawTrack(right, channel=0, name="right"), RawTrack(left, channel=1, name="left")]


def pop_piece(bars: int = 8, q: int = 480) -> list[RawTrack]:
    """A pop song's texture as POP909 writes it: a quaver MELODY, a held BRIDGE line and a PIANO
    accompaniment (bass on the beat, a chord note on its first half), I-vi-IV-V, all program 0 (the
    track names give the family slots: strings, guitar, piano). Write it at 100 bpm."""
    melody, bridge, piano = [], [], []
    for b in range(bars):
        root, t0 = (60, 57, 65, 67)[b % 4], b * 4 * q
        for k, iv in enumerate((7, 4, 12, 7, 4, 2, 0, 4)):
            melody.append((root + 12 + iv, t0 + k * q // 2, t0 + (k + 1) * q // 2, 90))
        for k, iv in enumerate((4, 7)):
            bridge.append((root + iv, t0 + 2 * k * q, t0 + (2 * k + 2) * q, 70))
        for k in range(4):
            piano.append((root - 12, t0 + k * q, t0 + (k + 1) * q, 75))
            piano.append((root - 5 + (k % 2) * 4, t0 + k * q, t0 + k * q + q // 2, 65))
    return [
        RawTrack(melody, channel=0, name="MELODY"),
        RawTrack(bridge, channel=1, name="BRIDGE"),
        RawTrack(piano, channel=2, name="PIANO"),
    ]


def write_corpus(
    folder: str | Path, manifest: bool = True, n_emopia: int = 8, n_other: int = 4, bad: bool = True
) -> list[Path]:
    """A tiny corpus like ../shared/data: ``emopia/Q<n>_<id>_<clip>.mid`` clips of 4 songs (all four
    quadrants), ``other/piece_<i>.mid``, optionally a corrupt ``other/broken.mid``, and (if
    ``manifest``) a ``manifest.csv`` with labels and song ids. Returns the MIDI paths written."""
    folder = Path(folder)
    paths, rows = [], []
    song_ids = ["_abcdefghij", "-klmnopqrst", "uvwxyzABCDE", "FGHIJKLMNOP"]
    for i in range(n_emopia):
        quadrant = i % 4 + 1
        song_id = song_ids[i % len(song_ids)]
        path = write_midi_file(
            folder / "emopia" / f"Q{quadrant}_{song_id}_{i}.mid", piece(i), ticks_per_beat=384
        )
        paths.append(path)
        valence, arousal = {1: (1, 1), 2: (-1, 1), 3: (-1, -1), 4: (1, -1)}[quadrant]
        rows.append((path, "emopia", song_id, f"Q{quadrant}", valence, arousal))
    for i in range(n_other):
        path = write_midi_file(
            folder / "other" / f"piece_{i}.mid", piece(100 + i, bars=6), midi_type=i % 2
        )
        paths.append(path)
        rows.append((path, "other", f"piece{i}", "", "", ""))
    if bad:
        path = folder / "other" / "broken.mid"
        path.write_bytes(midi_bytes(piece(7))[:40])
        paths.append(path)
        rows.append((path, "other", "broken", "", "", ""))
    if manifest:
        with (folder / "manifest.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["path", "source", "song_id", "quadrant", "valence", "arousal", "bytes", "sha256"]
            )
            for path, source, song_id, quadrant, valence, arousal in rows:
                data = path.read_bytes()
                writer.writerow(
                    [
                        path.relative_to(folder).as_posix(),
                        source,
                        song_id,
                        quadrant,
                        valence,
                        arousal,
                        len(data),
                        hashlib.sha256(data).hexdigest(),
                    ]
                )
    return paths


def drain(generator, on_event=None):
    """Run a progress-event generator to its end -> (the events it yielded, its return value)."""
    events = []
    while True:
        try:
            item = next(generator)
        except StopIteration as stop:
            return events, stop.value
        events.append(item)
        if on_event is not None:
            on_event(item)


def notes_in(song: Song, first: int, last: int) -> list[tuple[int, int, int, int, int]]:
    """(program, pitch, start, end, velocity) of the notes starting in bars first..last (0-based)."""
    lo, hi = first * TICKS_PER_BAR, (last + 1) * TICKS_PER_BAR
    return sorted(
        (t.program, n.pitch, n.start, n.end, n.velocity)
        for t in song.tracks
        for n in t.notes
        if lo <= n.start < hi
    )


# ---- chords --------------------------------------------------------------------------------------
#: every major and minor triad's pitch classes (12 bits: bit k for pitch class k)
TRIADS = {
    (1 << r) | (1 << (r + third) % 12) | (1 << (r + 7) % 12) for r in range(12) for third in (3, 4)
}


def bar_pitch_classes(song: Song, bar: int, since: int = 0) -> int:
    """The pitch classes (12 bits) of the pitched notes starting in ``bar`` at sub-beat ``since``
    or later."""
    lo, hi = bar * TICKS_PER_BAR + since * TICKS_PER_SUBBEAT, (bar + 1) * TICKS_PER_BAR
    bits = 0
    for track in song.tracks:
        if not track.is_drum:
            for n in track.notes:
                if lo <= n.start < hi:
                    bits |= 1 << n.pitch % 12
    return bits
