"""The in-memory music type every stage hands on: :class:`Song` with :class:`Track` s of :class:`Note` s.

A track also keeps its channel's controller changes (:class:`ControlChange`: the sustain pedal,
volume, expression, ...) and pitch-wheel moves (:class:`PitchBend`) as the performance data
around the notes: the model neither reads nor
writes them, but a piece read from a file keeps them through every edit that keeps its tracks,
and they are written and played with it (a pianist's pedalling is most of how a piano piece
sounds).

Times are integer ticks at a fixed resolution of :data:`TICKS_PER_BEAT` (480 per quarter note);
:func:`emostudio.midi.io.read_midi` rescales any file to it. The model's grid is 16 sub-beats per
bar of four quarter notes, 120 ticks per sub-beat (MODEL.md section 1).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property

from emostudio.midi.families import Family, family_for_track
from emostudio.midi.tempo import DEFAULT_BPM, TICKS_PER_BEAT, TempoMap

SUBBEATS_PER_BAR = 16
TICKS_PER_SUBBEAT = TICKS_PER_BEAT // 4  # 120: a sixteenth note
TICKS_PER_BAR = TICKS_PER_SUBBEAT * SUBBEATS_PER_BAR  # 1920: four quarter notes


@dataclass(frozen=True, slots=True)
class Note:
    """One note: MIDI pitch 0-127, start/end in ticks (end > start), velocity 1-127."""

    pitch: int
    start: int
    end: int
    velocity: int

    @property
    def duration(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class ControlChange:
    """A MIDI controller change on a track's channel: controller 0-127, value 0-127, at a tick."""

    tick: int
    control: int
    value: int


#: the sustain pedal's controller number (values of 64 and more hold it down)
SUSTAIN = 64
#: the pedals (sustain, portamento, sostenuto, soft, legato, hold 2): released (0) where a piece is
#: cut or ends, so that a pedal held at a cut does not hold what comes after it
PEDALS = frozenset({64, 65, 66, 67, 68, 69})


def controls_in(controls: tuple[ControlChange, ...], lo: int, hi: int) -> tuple[ControlChange, ...]:
    """``controls`` of ticks [lo, hi) moved to start at 0: each controller's value at ``lo``
    first (its last change before ``lo``), then the changes inside; a pedal still down at ``hi`` is
    released there (at ``hi - lo``)."""
    state: dict[int, int] = {}
    inside: list[ControlChange] = []
    for c in controls:
        if c.tick < lo:
            state[c.control] = c.value
        elif c.tick < hi:
            inside.append(ControlChange(c.tick - lo, c.control, c.value))
    cut = [ControlChange(0, control, value) for control, value in state.items()]
    held = dict(state)
    for c in inside:
        held[c.control] = c.value
    release = [
        ControlChange(hi - lo, control, 0)
        for control, value in sorted(held.items())
        if control in PEDALS and value >= 64
    ]
    return tuple(cut + inside + release)


@dataclass(frozen=True, slots=True)
class PitchBend:
    """A move of the pitch wheel on a track's channel: -8192..8191 (0: centred), at a tick."""

    tick: int
    value: int


def bends_in(bends: tuple[PitchBend, ...], lo: int, hi: int) -> tuple[PitchBend, ...]:
    """``bends`` of ticks [lo, hi) moved to start at 0: the wheel's position at ``lo`` first (when
    it is off centre), then the moves inside; a wheel still off centre at ``hi`` is centred there."""
    at_lo = 0
    inside = []
    for b in bends:
        if b.tick < lo:
            at_lo = b.value
        elif b.tick < hi:
            inside.append(PitchBend(b.tick - lo, b.value))
    first = [PitchBend(0, at_lo)] if at_lo else []
    last = inside[-1].value if inside else at_lo
    end = [PitchBend(hi - lo, 0)] if last else []
    return tuple(first + inside + end)


@dataclass(frozen=True, slots=True)
class TempoChange:
    tick: int
    bpm: float


@dataclass(frozen=True, slots=True)
class TimeSignature:
    tick: int
    numerator: int
    denominator: int


#: the key signatures MIDI can state, by sharps (negative: flats) -7..7 + 7: major, then minor
MAJOR_SIGNATURES = (
    "Cb",
    "Gb",
    "Db",
    "Ab",
    "Eb",
    "Bb",
    "F",
    "C",
    "G",
    "D",
    "A",
    "E",
    "B",
    "F#",
    "C#",
)
MINOR_SIGNATURES = tuple(
    f"{tonic}m"
    for tonic in ("Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#")
)


@dataclass(frozen=True, slots=True)
class KeySignature:
    """A key signature as a MIDI file states it: ``sharps`` -7..7 (negative: flats) and the mode,
    from a tick on. Notation programs draw the staff's accidentals from it; the music's sound does
    not depend on it."""

    tick: int
    sharps: int
    minor: bool = False

    def __post_init__(self) -> None:
        if not -7 <= self.sharps <= 7:
            raise ValueError(f"a key signature has -7..7 sharps, got {self.sharps}")

    @property
    def key(self) -> int:
        """The key as the tokens' key features number it: 0-11 major C..B, 12-23 minor C..B."""
        tonic = (7 * self.sharps + (9 if self.minor else 0)) % 12
        return tonic + (12 if self.minor else 0)

    @property
    def name(self) -> str:
        """The key as MIDI tools spell it ("Eb", "F#m")."""
        names = MINOR_SIGNATURES if self.minor else MAJOR_SIGNATURES
        return names[self.sharps + 7]

    @property
    def label(self) -> str:
        """The key in words, spelled as the signature is ("C# minor", "Eb major")."""
        name = self.name
        return f"{name[:-1]} minor" if self.minor else f"{name} major"

    @classmethod
    def parse(cls, tick: int, name: str) -> KeySignature:
        """From a spelled key ("Eb", "F#m"); ``ValueError`` for anything else."""
        for minor, names in ((False, MAJOR_SIGNATURES), (True, MINOR_SIGNATURES)):
            if name in names:
                return cls(tick, names.index(name) - 7, minor)
        raise ValueError(f"not a key signature: {name!r}")

    @classmethod
    def of_key(cls, tick: int, key: int) -> KeySignature:
        """Key 0-23 (see :attr:`key`) spelled with the fewest accidentals (flats at six)."""
        if not 0 <= key < 24:
            raise ValueError(f"key must be 0-23, got {key}")
        minor = key >= 12
        major_tonic = (key + (3 if minor else 0)) % 12  # a minor key shares its relative major's
        sharps = (7 * major_tonic) % 12  # the circle of fifths: C 0, G 1, ..., F 11 -> -1
        return cls(tick, sharps - 12 if sharps >= 6 else sharps, minor)


#: the text meta events a piece keeps: its copyright notice, free text (credits, notes) and markers
TEXT_KINDS = ("copyright", "text", "marker", "cue_marker")


@dataclass(frozen=True, slots=True)
class TextEvent:
    """A text a MIDI file carries beside the music, at a tick: ``kind`` is one of
    :data:`TEXT_KINDS` (a copyright notice, free text such as credits, a marker naming a section,
    a cue)."""

    tick: int
    kind: str
    text: str


def texts_in(texts: tuple[TextEvent, ...], lo: int, hi: int) -> tuple[TextEvent, ...]:
    """``texts`` of ticks [lo, hi) moved to start at 0, with every copyright notice (wherever the
    file put it, it is the whole piece's) at 0."""
    return tuple(
        replace(t, tick=0) if t.kind == "copyright" else replace(t, tick=t.tick - lo)
        for t in texts
        if t.kind == "copyright" or lo <= t.tick < hi
    )


def key_changes(signatures: Iterable[KeySignature]) -> tuple[KeySignature, ...]:
    """``signatures`` in time order, the later of two at one tick kept, and each one that
    restates the key in force before it left out."""
    at_tick = {k.tick: k for k in sorted(signatures, key=lambda k: k.tick)}
    kept: list[KeySignature] = []
    for k in at_tick.values():
        if not kept or (k.sharps, k.minor) != (kept[-1].sharps, kept[-1].minor):
            kept.append(k)
    return tuple(kept)


def signature_at(signatures: tuple[KeySignature, ...], tick: int) -> KeySignature | None:
    """The key signature in force at ``tick`` (the last stated at or before it), if any."""
    current = None
    for s in signatures:
        if s.tick > tick:
            break
        current = s
    return current


@dataclass(frozen=True)
class Track:
    """One instrument: General MIDI program, drum flag, name, notes sorted by (start, pitch), and
    its channel's controller changes (``controls``) and pitch-wheel moves (``bends``) in time
    order."""

    program: int = 0
    is_drum: bool = False
    name: str = ""
    notes: tuple[Note, ...] = ()
    family_override: Family | None = None
    controls: tuple[ControlChange, ...] = ()
    bends: tuple[PitchBend, ...] = ()

    @property
    def family(self) -> Family:
        if self.family_override is not None:
            return self.family_override
        return family_for_track(self.program, self.is_drum, self.name)

    def with_notes(self, notes: list[Note] | tuple[Note, ...]) -> Track:
        return replace(self, notes=tuple(sorted(notes, key=lambda n: (n.start, n.pitch, n.end))))


@dataclass(frozen=True)
class Song:
    """A piece of music: tracks, tempo map, time signatures, key signatures (none when the
    piece states no key) and the texts its file carries (copyright, credits, markers), at
    :data:`TICKS_PER_BEAT`."""

    tracks: tuple[Track, ...] = ()
    tempos: tuple[TempoChange, ...] = (TempoChange(0, DEFAULT_BPM),)
    time_signatures: tuple[TimeSignature, ...] = (TimeSignature(0, 4, 4),)
    name: str = ""
    key_signatures: tuple[KeySignature, ...] = ()
    texts: tuple[TextEvent, ...] = ()

    # ---- sizes -------------------------------------------------------------------------------
    @property
    def note_count(self) -> int:
        return sum(len(t.notes) for t in self.tracks)

    @property
    def end_tick(self) -> int:
        """Tick at which the last note ends (0 for a song without notes)."""
        return max((n.end for t in self.tracks for n in t.notes), default=0)

    @property
    def n_bars(self) -> int:
        """Number of 16-sub-beat bars needed to hold every note."""
        return -(-self.end_tick // TICKS_PER_BAR)

    @property
    def initial_bpm(self) -> float:
        return self.tempos[0].bpm if self.tempos else DEFAULT_BPM

    def bpm_at(self, tick: int) -> float:
        ticks = [t.tick for t in self.tempos]
        i = bisect.bisect_right(ticks, tick) - 1
        return self.tempos[i].bpm if i >= 0 else self.initial_bpm

    # ---- time ----------------------------------------------------------------------------------
    @cached_property
    def tempo_map(self) -> TempoMap:
        """Ticks <-> seconds following :attr:`tempos` (built once per song)."""
        return TempoMap(self.tempos)

    def tick_to_seconds(self, tick: float) -> float:
        """Seconds from the start at a tick, following the tempo map."""
        return self.tempo_map.seconds(tick)

    @property
    def duration_seconds(self) -> float:
        return self.tick_to_seconds(self.end_tick)

    # ---- editing (all return new songs) ----------------------------------------------------------
    def with_tracks(self, tracks: list[Track] | tuple[Track, ...]) -> Song:
        return replace(self, tracks=tuple(tracks))

    def transposed(self, semitones: int) -> Song:
        """Every pitched note moved by ``semitones`` (drum tracks stay as they are); a note the
        move would take out of MIDI's 0..127 moves an octave less. Key signatures name the new
        key, spelled with the fewest accidentals."""

        def moved(pitch: int) -> int:
            p = pitch + semitones
            while p > 127:
                p -= 12
            while p < 0:
                p += 12
            return p

        tracks = [
            t if t.is_drum else t.with_notes([replace(n, pitch=moved(n.pitch)) for n in t.notes])
            for t in self.tracks
        ]
        keys = tuple(
            KeySignature.of_key(k.tick, (k.key % 12 + semitones) % 12 + (12 if k.minor else 0))
            for k in self.key_signatures
        )
        return replace(self, tracks=tuple(tracks), key_signatures=key_changes(keys))

    def slice_bars(self, first_bar: int, n_bars: int) -> Song:
        """Bars [first_bar, first_bar + n_bars) as a new song starting at tick 0.

        Notes are kept when they start inside the range, cut at its end; controllers and the pitch
        wheel start from their values at the range's start, and pedals are released and the wheel
        centred at its end (:func:`controls_in`, :func:`bends_in`); the time and key signatures in
        force at the start are stated there; texts inside the range move with it, and the
        copyright notice stays at its start (:func:`texts_in`)."""
        lo, hi = first_bar * TICKS_PER_BAR, (first_bar + n_bars) * TICKS_PER_BAR
        tracks = []
        for t in self.tracks:
            notes = [
                Note(n.pitch, n.start - lo, min(n.end, hi) - lo, n.velocity)
                for n in t.notes
                if lo <= n.start < hi
            ]
            tracks.append(
                replace(
                    t.with_notes(notes),
                    controls=controls_in(t.controls, lo, hi),
                    bends=bends_in(t.bends, lo, hi),
                )
            )
        tempos = [TempoChange(0, self.bpm_at(lo))] + [
            TempoChange(c.tick - lo, c.bpm) for c in self.tempos if lo < c.tick < hi
        ]
        sigs = [TimeSignature(0, *self._signature_at(lo))] + [
            TimeSignature(s.tick - lo, s.numerator, s.denominator)
            for s in self.time_signatures
            if lo < s.tick < hi
        ]
        first_key = signature_at(self.key_signatures, lo)
        keys = ([replace(first_key, tick=0)] if first_key is not None else []) + [
            replace(k, tick=k.tick - lo) for k in self.key_signatures if lo < k.tick < hi
        ]
        return replace(
            self,
            tracks=tuple(tracks),
            tempos=tuple(tempos),
            time_signatures=tuple(sigs),
            key_signatures=tuple(keys),
            texts=texts_in(self.texts, lo, hi),
        )

    def _signature_at(self, tick: int) -> tuple[int, int]:
        current = (4, 4)
        for s in self.time_signatures:
            if s.tick <= tick:
                current = (s.numerator, s.denominator)
        return current

    def tracks_by_family(self) -> dict[Family, list[Track]]:
        groups: dict[Family, list[Track]] = {}
        for t in self.tracks:
            groups.setdefault(t.family, []).append(t)
        return groups
