"""The rule-based emotion transformation: the same notes, moved towards another emotion.

After Livingstone et al.'s CMERS (Computational Music Emotion Rule System, 2010): emotion lives in
a few performance and structural cues, each changed by a rule. Here, per note of the source:

============  =================================================  ==================  ============
rule          what it does                                       driven by           element
============  =================================================  ==================  ============
mode          major <-> minor inside each bar's detected key     valence (sign)      melody /
              (``features.bar_keys``): scale degrees 3, 6, 7                         accompaniment
              lowered (to natural minor) or raised (to major),
              degree 3 first, then 6, then 7 as the move grows
register      the pitched notes an octave up (valence up) or     valence (towards    melody /
              down                                               low arousal: its    accompaniment
                                                                 own share)
tempo         the tempo map faster (arousal up) or slower        arousal             tempo
velocity      louder (arousal up) or softer                      arousal             dynamics
articulation  shorter notes (staccato, arousal up) or longer     arousal             rhythm
              (legato, up to the track's next onset at most)
density       accompaniment notes doubled an octave below        arousal             accompaniment
              (arousal up) or dropped, weakest sub-beats first                       (+ rhythm to
              (arousal down; never on the downbeat; positions                        drop)
              on the piece's own beats, ``beat_phase``)
============  =================================================  ==================  ============

Each rule's amount is ``λ × (its RuleStrengths weight) × move``, where the move along an axis is
the target's coordinate minus the source's, clipped to [-1, 1] (half the pad's width is a full
move; the four quadrant points, at ±0.8, are a full move apart), and at least the axis's floor
(``RuleStrengths.min_move_valence``, ``RuleStrengths.min_move_arousal``) towards the target's side
of the axis (the sign of its coordinate): with a floor, a piece whose source emotion is already on
the target's side still moves further there ("calmer" makes it calmer, whatever the source was
recognised as). Each axis has its own floor because its rules cost the piece differently: the
valence rules move whole octaves and scale degrees, the arousal rules only loudness, tempo,
lengths and accompaniment density. The register rule has its own share towards low arousal
(``RuleStrengths.register_low_arousal``, a factor on ``register`` where the target's arousal is
below 0, calm or sad): in EMOPIA a low register goes with tension more than with sadness (see
``benchmarks/results/edit_transfer.md``). The source's emotion is passed
in (the engine recognises it); an axis not in ``dims`` does not move. At λ = 0 every amount is
zero and the result equals the input; as λ grows the changes grow gradually (more scale degrees
change mode, more notes are doubled or dropped, in nested sets: what changes at a smaller λ also
changes at a larger one).

Element locks: only the elements in ``free`` may change; a locked one stays exactly (see
:mod:`~emostudio.transform.elements`). Drum notes are never pitch-mapped, lengthened or dropped;
their velocity follows the dynamics rule.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection
from dataclasses import dataclass, replace

import numpy as np

from emostudio.emotion import Emotion
from emostudio.midi.song import TICKS_PER_BAR, TICKS_PER_SUBBEAT, Note, Song, TempoChange, Track
from emostudio.tokens.features import bar_keys
from emostudio.tokens.signatures import parallel_keys
from emostudio.transform.elements import (
    ALL_ELEMENTS,
    Element,
    NoteRef,
    VoiceSplit,
    beat_phase,
    split_voices,
)

#: scale degrees (semitones above the tonic) a mode change alters, in the order they change
MAJOR_TO_MINOR = ((4, 3), (9, 8), (11, 10))
MINOR_TO_MAJOR = ((3, 4), (8, 9), (10, 11))
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


@dataclass(frozen=True)
class RuleStrengths:
    """Each rule's amount at λ = 1 and a full move (see the module docstring); 0 switches a rule off.

    The defaults were tuned on EMOPIA's validation split with the reference judge
    (``benchmarks/rule_transfer.py --tune``; results in benchmarks/results/rule_transfer.md): among
    the settings that keep issue 12's fidelity targets at λ = 1, those within 0.015 (about five
    transfers) of the highest judged target quadrant, the one keeping most of the piece (mean of
    contour, pitch-class cosine and onset similarity). Tempo is not tuned (the judge ignores tempo: EMOPIA's clips all run at 120 BPM).
    Register moves in whole octaves, so it switches in at half a full move."""

    mode: float = 1.0  # share of the three mode degrees changed
    register: float = 1.0  # octaves
    register_low_arousal: float = 1.0  # share of ``register`` for a target of low arousal
    tempo: float = 0.3  # relative tempo change: x(1 + w) faster, /(1 + w) slower
    velocity: float = 60.0  # MIDI velocity units
    articulation: float = 0.2  # relative change of note lengths
    density: float = 0.4  # share of accompaniment notes doubled or dropped
    min_move_valence: float = 0.0  # the least move towards the target's side of valence
    min_move_arousal: float = 0.0  # the least move towards the target's side of arousal


DEFAULT_RULES = RuleStrengths()


def _move(source: float, target: float, floor: float) -> float:
    """``target - source`` clipped to [-1, 1], and at least ``floor`` towards the target's side."""
    move = float(np.clip(target - source, -1.0, 1.0))
    side = float(np.sign(target))
    return side * max(side * move, floor) if side and floor > 0.0 else move


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _chosen(k: int, share: float) -> bool:
    """Whether the k-th candidate is in the share ``share`` (a low-discrepancy, nested selection)."""
    return share > 0.0 and ((k + 1) * _GOLDEN) % 1.0 < share


#: metrical weakness of a sub-beat in a bar of 16, weakest first: odd sixteenths, off-beat eighths,
#: beats 2 and 4, beat 3 (the downbeat is never dropped)
_WEAKNESS_LEVELS = 4


def _drop_rank(start: int, k: int, phase: int) -> float:
    """In [0, 1] (1: never): a note is dropped when its rank is below the drop share, so weaker
    positions go first and within a level a low-discrepancy sequence spreads the choice. Positions
    are on the piece's own beats (``phase`` ticks after the grid's, :func:`elements.beat_phase`)."""
    sub = round((start - phase) / TICKS_PER_SUBBEAT) % 16
    if sub == 0:
        return 1.0
    level = 0 if sub % 2 else 1 if sub % 4 else 2 if sub % 8 else 3
    return (level + ((k + 1) * _GOLDEN) % 1.0) / _WEAKNESS_LEVELS


def mode_map(keys: np.ndarray, amount: float) -> list[dict[int, int]]:
    """Per bar, {pitch class: new pitch class} for a mode change of ``amount`` in [-1, 1].

    ``amount`` < 0 moves major bars towards minor, > 0 minor bars towards major; ``|amount|`` × 3
    (rounded half up) scale degrees change. Bars already in the target mode are unchanged."""
    n_degrees = min(3, _round_half_up(3.0 * abs(amount)))
    maps: list[dict[int, int]] = []
    for key in keys.tolist():
        tonic, minor = key % 12, key >= 12
        table: dict[int, int] = {}
        if n_degrees and ((amount < 0 and not minor) or (amount > 0 and minor)):
            steps = MAJOR_TO_MINOR if amount < 0 else MINOR_TO_MAJOR
            for old, new in steps[:n_degrees]:
                table[(tonic + old) % 12] = (tonic + new) % 12
        maps.append(table)
    return maps


def _shift_octaves(pitch: int, octaves: int) -> int:
    shifted = pitch + 12 * octaves
    while shifted > 127:
        shifted -= 12
    while shifted < 0:
        shifted += 12
    return shifted


@dataclass(frozen=True)
class _Amounts:
    mode: float  # signed share of degrees: < 0 towards minor
    octaves: int
    tempo_factor: float
    velocity: int
    length_factor: float
    density: float  # signed share: > 0 doublings, < 0 drops


def _amounts(
    source: Emotion, target: Emotion, strength: float, rules: RuleStrengths, dims: Collection[str]
) -> _Amounts:
    dv = (
        strength * _move(source.valence, target.valence, rules.min_move_valence)
        if "valence" in dims
        else 0.0
    )
    da = (
        strength * _move(source.arousal, target.arousal, rules.min_move_arousal)
        if "arousal" in dims
        else 0.0
    )
    tempo = rules.tempo * da
    register = rules.register * (rules.register_low_arousal if target.arousal < 0 else 1.0)
    return _Amounts(
        mode=float(np.clip(rules.mode * dv, -1.0, 1.0)),
        octaves=int(np.sign(dv)) * _round_half_up(abs(register * dv)),
        tempo_factor=1.0 + tempo if tempo >= 0 else 1.0 / (1.0 - tempo),
        velocity=int(np.sign(da)) * _round_half_up(abs(rules.velocity * da)),
        length_factor=max(0.05, 1.0 - rules.articulation * da),
        density=float(np.clip(rules.density * da, -1.0, 1.0)),
    )


def transform(
    song: Song,
    source: Emotion,
    target: Emotion,
    strength: float,
    free: frozenset[Element] = ALL_ELEMENTS,
    rules: RuleStrengths = DEFAULT_RULES,
    dims: Collection[str] = ("arousal", "valence"),
) -> Song:
    """``song`` moved from the ``source`` emotion towards ``target`` by ``strength`` λ in [0, 1].

    Only the elements in ``free`` change, and only the axes in ``dims`` ("arousal", "valence")
    move. λ = 0 (or nothing free) returns a song equal to the input."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    free = frozenset(free)
    amounts = _amounts(source, target, strength, rules, dims)
    voices = split_voices(song)
    phase = beat_phase(song) if amounts.density < 0 else 0
    n_bars = max(1, song.n_bars)
    mode_moves = bool(amounts.mode and (free & {Element.MELODY, Element.ACCOMPANIMENT}))
    keys = bar_keys(song, n_bars) if mode_moves else np.zeros(n_bars, dtype=np.int8)
    pitch_maps = mode_map(keys, amounts.mode if mode_moves else 0.0)
    tracks = []
    candidate = 0  # running index of accompaniment notes for the density selection
    for i, track in enumerate(song.tracks):
        notes, candidate = _transform_track(
            track, i, voices, pitch_maps, amounts, free, candidate, phase
        )
        tracks.append(track if notes == list(track.notes) else track.with_notes(notes))
    tempos = song.tempos
    if Element.TEMPO in free and amounts.tempo_factor != 1.0:
        tempos = tuple(TempoChange(t.tick, t.bpm * amounts.tempo_factor) for t in song.tempos)
    if tempos == song.tempos and all(a is b for a, b in zip(tracks, song.tracks)):
        return song
    # the bars moved to the other mode state it (when the piece states its key at all)
    moved = [b for b, table in enumerate(pitch_maps) if table]
    return parallel_keys(replace(song, tracks=tuple(tracks), tempos=tempos), moved, keys)


def _transform_track(
    track: Track,
    index: int,
    voices: VoiceSplit,
    pitch_maps: list[dict[int, int]],
    amounts: _Amounts,
    free: frozenset[Element],
    candidate: int,
    phase: int,
) -> tuple[list[Note], int]:
    """The track's new notes (in the input's order when nothing is added or dropped)."""
    can_time = Element.RHYTHM in free
    can_velocity = Element.DYNAMICS in free
    notes: list[Note] = []
    doublings: list[Note] = []
    legato_limit = _legato_limits(track.notes)
    for j, note in enumerate(track.notes):
        ref: NoteRef = (index, j)
        if track.is_drum:
            velocity = note.velocity + amounts.velocity if can_velocity else note.velocity
            notes.append(replace(note, velocity=int(np.clip(velocity, 1, 127))))
            continue
        melody = voices.is_melody(*ref)
        part_free = Element.MELODY in free if melody else Element.ACCOMPANIMENT in free
        if not melody and not part_free:
            notes.append(note)  # a locked accompaniment stays exactly, times and velocity too
            continue
        pitch, start, end, velocity = note.pitch, note.start, note.end, note.velocity
        if part_free:
            bar = min(start // TICKS_PER_BAR, len(pitch_maps) - 1)
            table = pitch_maps[bar]
            mapped = table.get(pitch % 12)
            if mapped is not None:
                pitch += (mapped - pitch % 12 + 6) % 12 - 6
            pitch = _shift_octaves(pitch, amounts.octaves)
        if can_time and amounts.length_factor != 1.0:
            length = max(1, round((end - start) * amounts.length_factor))
            end = start + length
            if amounts.length_factor > 1.0:
                end = max(note.end, min(end, legato_limit[j]))
        if can_velocity:
            velocity = int(np.clip(velocity + amounts.velocity, 1, 127))
        changed = Note(pitch, start, end, velocity)
        if melody or amounts.density == 0.0:
            notes.append(changed)
            continue
        k, candidate = candidate, candidate + 1
        if amounts.density < 0:
            if can_time and _drop_rank(start, k, phase) < -amounts.density:
                continue  # dropped: a weak-beat accompaniment note
            notes.append(changed)
        else:
            notes.append(changed)
            # an octave below: a fuller bass, never over the melody
            if _chosen(k, amounts.density) and changed.pitch >= 12:
                doublings.append(replace(changed, pitch=changed.pitch - 12))
    if doublings:
        sounding = {(n.pitch, n.start) for n in notes}
        notes += [d for d in doublings if (d.pitch, d.start) not in sounding]
    return notes, candidate


def _legato_limits(notes: tuple[Note, ...]) -> list[int]:
    """For each note, the next later onset in its track: legato joins notes, it never overlaps the next."""
    starts = sorted({n.start for n in notes})
    following = dict(itertools.pairwise(starts))
    return [following.get(n.start, n.end) for n in notes]


__all__ = [
    "DEFAULT_RULES",
    "MAJOR_TO_MINOR",
    "MINOR_TO_MAJOR",
    "RuleStrengths",
    "mode_map",
    "transform",
]
