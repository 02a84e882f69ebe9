"""Transfer through the engine: the edit and rewrite methods, element locks, element transfer.

A tiny untrained model for what holds whatever the model says (strength 0, locks, refusals); the
shipped model for a donor's element really reaching the result.
"""

from __future__ import annotations

from dataclasses import astuple, replace
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from songs import grid_songs
from tiny_models import save_tiny_model

from emostudio.emotion import Emotion
from emostudio.generation import Engine, EngineError
from emostudio.midi import Note, Song, TempoChange, Track
from emostudio.midi.song import TICKS_PER_BAR, TICKS_PER_SUBBEAT
from emostudio.tokens.features import global_key
from emostudio.transform import Element, split_voices

SB = TICKS_PER_SUBBEAT
SHIPPED = Path(__file__).resolve().parents[1] / "models" / "default"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    torch.set_num_threads(1)
    folder = save_tiny_model(tmp_path_factory.mktemp("models") / "tiny")
    return Engine.load(folder, device="cpu")


def piece(n_bars: int = 4) -> Song:
    """A C-major melody over half-note chords and a bass, at 100 BPM with a tempo change."""
    melody, chords = [], []
    line = (64, 67, 72, 71, 69, 67, 65, 64)
    for bar in range(n_bars):
        base = bar * TICKS_PER_BAR
        for k, pitch in enumerate(line):
            melody.append(Note(pitch, base + 2 * k * SB, base + (2 * k + 1) * SB, 90))
        for half in (0, 8):
            for p in (48, 52, 55):
                chords.append(Note(p, base + half * SB, base + (half + 8) * SB, 70))
            chords.append(Note(52, base + (half + 2) * SB, base + (half + 4) * SB, 60))
            chords.append(Note(55, base + (half + 6) * SB, base + (half + 7) * SB, 60))
    return Song(
        tracks=(
            Track(0, False, "MELODY").with_notes(melody),
            Track(0, False, "PIANO").with_notes(chords),
        ),
        tempos=(TempoChange(0, 100.0), TempoChange(2 * TICKS_PER_BAR, 110.0)),
    )


def away_from(engine: Engine, song: Song) -> Emotion:
    """The pad corner opposite the model's verdict on ``song``: every rule has something to do."""
    heard = engine.recognise(song).emotion
    return Emotion(
        valence=-0.8 if heard.valence >= 0 else 0.8, arousal=-0.8 if heard.arousal >= 0 else 0.8
    )


def edited(
    engine: Engine, song: Song, keep=frozenset(), strength: float = 1.0, target=None
) -> Song:
    target = away_from(engine, song) if target is None else target
    events = list(engine.transfer(song, target, strength, keep=keep))
    assert [e.index for e in events] == list(range(song.n_bars))
    assert all(e.total == song.n_bars and e.song.n_bars <= e.index + 1 for e in events[:-1])
    return events[-1].song


# ---- strength 0 --------------------------------------------------------------------------------
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(grid_songs(), st.sampled_from(["edit", "rewrite"]), st.sampled_from([1, 2, 3, 4]))
def test_strength_zero_returns_the_input_for_every_method(engine, song, method, quadrant):
    assume(song.note_count > 0)
    target = Emotion.from_quadrant(quadrant)
    events = list(engine.transfer(song, target, 0.0, method=method))
    assert events[-1].song is song
    assert engine.transfer_many([song], [target], 0.0, method=method)[0] is song


def test_strength_zero_returns_the_input_on_a_generated_song(engine):
    song = engine.generate_many([Emotion.from_quadrant(2)], bars=3, seed=1)[0]
    for method in ("edit", "rewrite"):
        assert (
            list(engine.transfer(song, Emotion.from_quadrant(4), 0.0, method=method))[-1].song
            is song
        )


# ---- the edit method ---------------------------------------------------------------------------
def test_edit_keeps_every_onset_bar_count_and_instruments_and_changes_the_piece(engine):
    song = piece()
    result = edited(engine, song)
    assert result != song
    assert result.n_bars == song.n_bars
    assert [(t.program, t.name) for t in result.tracks] == [
        (t.program, t.name) for t in song.tracks
    ]
    assert result.time_signatures == song.time_signatures
    onsets = {n.start for t in song.tracks for n in t.notes}
    assert {n.start for t in result.tracks for n in t.notes} <= onsets  # doublings share onsets


def test_edit_grows_with_strength(engine):
    song = piece()
    changed = []
    for strength in (0.25, 1.0):
        result = edited(engine, song, strength=strength)
        before = {(n.pitch, n.start, n.velocity) for t in song.tracks for n in t.notes}
        after = {(n.pitch, n.start, n.velocity) for t in result.tracks for n in t.notes}
        changed.append(len(after - before))
    assert 0 < changed[0] < changed[1]


def test_edit_follows_an_emotion_curve_bar_by_bar(engine):
    song = piece()
    heard = engine.recognise(song).emotion
    far = Emotion(valence=-0.8 if heard.valence >= 0 else 0.8, arousal=heard.arousal)
    result = list(engine.transfer(song, [heard, heard, far, far], 1.0))[-1].song
    to_heard = list(engine.transfer(song, heard, 1.0))[-1].song
    to_far = list(engine.transfer(song, far, 1.0))[-1].song

    def bars(s: Song, first: int, last: int) -> set[tuple[int, int, int]]:
        return {
            (n.pitch, n.start, n.velocity)
            for t in s.tracks
            for n in t.notes
            if first * TICKS_PER_BAR <= n.start < last * TICKS_PER_BAR
        }

    # each run of bars is its own target's edit
    assert bars(result, 0, 2) == bars(to_heard, 0, 2) != bars(to_far, 0, 2)
    assert bars(result, 2, 4) == bars(to_far, 2, 4) != bars(to_heard, 2, 4)


def test_edit_moves_a_piece_the_model_already_hears_in_the_target_quadrant(engine):
    """The floor: asking for the quadrant the model hears still moves the piece further there."""
    song = piece()
    heard = engine.recognise(song).emotion
    side = 1 if heard.arousal >= 0 else -1
    same = Emotion(valence=0.8 if heard.valence >= 0 else -0.8, arousal=0.8 * side)
    result = list(engine.transfer(song, same, 1.0))[-1].song
    before = [n.velocity for t in song.tracks for n in t.notes]
    after = [n.velocity for t in result.tracks for n in t.notes]
    # at least the arousal floor (min_move_arousal, >= 0.5) of the velocity rule's 60 units, towards the target's side
    assert side * (sum(after) / len(after) - sum(before) / len(before)) >= 30


# ---- element locks through the engine ----------------------------------------------------------
def _rhythm(s: Song) -> list[set[tuple[int, int]]]:
    return [{(n.start, n.end) for n in t.notes} for t in s.tracks]


def _melody(s: Song) -> list[tuple[int, int]]:
    split = split_voices(s)
    return sorted((s.tracks[i].notes[j].start, s.tracks[i].notes[j].pitch) for i, j in split.melody)


def _accompaniment(s: Song) -> list[tuple]:
    split = split_voices(s)
    return sorted(astuple(s.tracks[i].notes[j]) for i, j in split.accompaniment)


def _velocities(s: Song) -> list[set[tuple[int, int, int]]]:
    return [{(n.start, n.pitch % 12, n.velocity) for n in t.notes} for t in s.tracks]


LOCKS = {
    Element.RHYTHM: _rhythm,
    Element.MELODY: _melody,
    Element.ACCOMPANIMENT: _accompaniment,
    Element.TEMPO: lambda s: s.tempos,
}


def with_offbeat_sixteenths(song: Song) -> Song:
    """``song`` with an accompaniment note on the second sixteenth of each beat: the weakest
    positions, the first the density rule drops."""
    extra = [
        Note(
            60,
            bar * TICKS_PER_BAR + (4 * beat + 1) * SB,
            bar * TICKS_PER_BAR + (4 * beat + 2) * SB,
            50,
        )
        for bar in range(song.n_bars)
        for beat in range(4)
    ]
    piano = song.tracks[1]
    notes = sorted([*piano.notes, *extra], key=lambda n: (n.start, n.pitch))
    return replace(song, tracks=(song.tracks[0], piano.with_notes(notes), *song.tracks[2:]))


@pytest.mark.parametrize("element", list(LOCKS), ids=lambda e: e.value)
def test_each_lock_keeps_its_element_exactly(engine, element):
    song = piece()
    target = None
    if element is Element.RHYTHM:
        # the edit changes rhythm only by dropping weak accompaniment notes (lower arousal; its
        # articulation rule is off): a calmer target and notes on the weakest sixteenths
        song = with_offbeat_sixteenths(song)
        target = Emotion(valence=away_from(engine, song).valence, arousal=-0.8)
    of = LOCKS[element]
    free = edited(engine, song, target=target)
    assert of(free) != of(song)  # without the lock the element moves
    locked = edited(engine, song, keep={element}, target=target)
    assert locked != song
    assert of(locked) == of(song)


def test_the_dynamics_lock_keeps_every_velocity(engine):
    song = piece()
    locked = edited(engine, song, keep={Element.DYNAMICS, Element.ACCOMPANIMENT})
    assert sorted(n.velocity for t in locked.tracks for n in t.notes) == sorted(
        n.velocity for t in song.tracks for n in t.notes
    )
    free = edited(engine, song, keep={Element.ACCOMPANIMENT})
    assert sorted(n.velocity for t in free.tracks for n in t.notes) != sorted(
        n.velocity for t in song.tracks for n in t.notes
    )


def test_every_lock_at_once_returns_the_input(engine):
    song = piece()
    assert edited(engine, song, keep=set(Element)) is song


# ---- the rewrite method and refusals -----------------------------------------------------------
def test_rewrite_streams_bars_and_keeps_the_tempo_map(engine):
    song = piece()
    events = list(engine.transfer(song, Emotion.from_quadrant(3), 1.0, seed=3, method="rewrite"))
    assert [e.index for e in events] == list(range(song.n_bars))
    assert events[-1].song.tempos == song.tempos


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "rewrite", "keep": {Element.MELODY}}, "rewrite cannot keep melody"),
        ({"method": "morph"}, "method must be one of"),
        ({"strength": 1.5}, "strength must be in"),
    ],
)
def test_bad_combinations_are_refused(engine, kwargs, message):
    with pytest.raises(EngineError, match=message):
        list(engine.transfer(piece(), Emotion.from_quadrant(3), **kwargs))


def test_element_transfer_keeps_the_recipients_length_and_refuses_other_elements(engine):
    song, donor = piece(4), piece(2)  # the donor's bars cycle
    result = list(engine.transfer_element(song, donor, "rhythm", seed=1))[-1].song
    assert result.n_bars == song.n_bars
    with pytest.raises(EngineError, match="rhythm, key"):
        list(engine.transfer_element(song, donor, "melody"))


# ---- a donor's element, with the shipped model -------------------------------------------------
def block_chords(root: int, minor: bool, step: int) -> Song:
    """Four bars of triads on ``root``, one every ``step`` sub-beats."""
    notes = []
    for bar in range(4):
        for k in range(0, 16, step):
            start = bar * TICKS_PER_BAR + k * SB
            notes += [
                Note(root + i, start, start + step * SB, 80) for i in (0, 3 if minor else 4, 7)
            ]
    return Song(tracks=(Track(0, False, "Piano").with_notes(notes),))


def onsets_per_bar(s: Song) -> float:
    return len({round(n.start / SB) for t in s.tracks for n in t.notes}) / s.n_bars


@pytest.fixture(scope="module")
def shipped():
    return Engine.load(SHIPPED, device="cpu")


@pytest.mark.slow
def test_rhythm_from_a_donor_takes_its_rhythm(shipped):
    recipient = block_chords(60, minor=False, step=8)  # C major, half notes: 2 onsets a bar
    donor = block_chords(66, minor=True, step=2)  # F# minor, eighths: 8 onsets a bar
    result = list(shipped.transfer_element(recipient, donor, "rhythm", seed=0))[-1].song
    assert result.n_bars == recipient.n_bars
    mine, theirs, got = map(onsets_per_bar, (recipient, donor, result))
    assert abs(got - theirs) < abs(got - mine)


@pytest.mark.slow
def test_key_from_a_donor_takes_its_key(shipped):
    """Over six seeds most results are in the donor's key (F# minor), the others in its relative
    major (the same pitch classes), none in the recipient's (C major)."""
    recipient = block_chords(60, minor=False, step=8)
    donor = block_chords(66, minor=True, step=2)
    keys = [
        global_key(list(shipped.transfer_element(recipient, donor, "key", seed=s))[-1].song)
        for s in range(6)
    ]
    f_sharp_minor, a_major = global_key(donor), 9
    assert f_sharp_minor == 12 + 6 and global_key(recipient) == 0
    assert keys.count(f_sharp_minor) >= 4
    assert set(keys) <= {f_sharp_minor, a_major}


# ---- the steering's pure parts -----------------------------------------------------------------
def test_target_probability_counts_only_the_moved_dimensions():
    import numpy as np

    from emostudio.generation.edit import target_probability

    arousal, valence = np.array([0.9, 0.7]), np.array([0.2, 0.4])
    sad = [Emotion.from_quadrant(3)] * 2
    # sad: low arousal (0.1, 0.3) and low valence (0.8, 0.6)
    assert target_probability(arousal, valence, sad, ("arousal", "valence")) == pytest.approx(
        (0.1 * 0.8 + 0.3 * 0.6) / 2
    )
    assert target_probability(arousal, valence, sad, ("valence",)) == pytest.approx(0.7)


def test_choose_takes_the_candidate_the_model_hears_closest_and_ties_go_to_the_first():
    import numpy as np

    from emostudio.generation.edit import choose
    from emostudio.generation.results import Recognition

    song = piece(2)
    gentle, strong = piece(2), piece(3)

    def heard(p_high_valence: float) -> Recognition:
        v = np.full(2, p_high_valence)
        return Recognition(np.full(2, 0.5), v, 0.5, p_high_valence)

    sad = [Emotion.from_quadrant(3)] * 2
    scales = [(1.0, 1.0), (1.5, 1.5)]
    pick = choose(song, [gentle, strong], scales, [heard(0.6), heard(0.3)], sad, ("valence",))
    assert pick.song is strong and pick.p_target == pytest.approx(0.7)
    tie = choose(song, [gentle, strong], scales, [heard(0.3), heard(0.3)], sad, ("valence",))
    assert tie.song is gentle
    kept = choose(song, [song, strong], scales, [heard(0.3), heard(0.31)], sad, ("valence",), 1.0)
    assert kept.song is song and kept.keep == 1.0  # the weight on keeping the piece decides
