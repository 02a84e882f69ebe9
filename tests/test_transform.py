"""The rule-based transformation: λ = 0 is the identity, locks keep their element, mode change."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from songs import any_songs, grid_songs, scale_song, song_of

from emostudio.emotion import Emotion
from emostudio.midi import Note, Song, TempoChange, Track, song_from_bytes, song_to_bytes
from emostudio.midi.song import TICKS_PER_SUBBEAT
from emostudio.tokens.features import global_key
from emostudio.transform import ALL_ELEMENTS, Element, RuleStrengths, split_voices, transform
from emostudio.transform.elements import beat_phase
from emostudio.transform.rules import mode_map

HAPPY, TENSE, SAD, CALM = (Emotion.from_quadrant(q) for q in (1, 2, 3, 4))
NATURAL_MINOR = (0, 2, 3, 5, 7, 8, 10)
MAJOR = (0, 2, 4, 5, 7, 9, 11)
emotions = st.builds(Emotion, st.floats(-1, 1), st.floats(-1, 1))


def scale_of(steps: tuple[int, ...], tonic: int = 60) -> Song:
    """A scale up and down in quarter notes over a held tonic and its octave below."""
    line = [tonic + s for s in steps] + [tonic + 12]
    line += line[-2::-1]
    notes = [(p, 4 * i, 4) for i, p in enumerate(line)]
    notes += [(tonic - 12, 0, 4 * len(line)), (tonic - 24, 0, 4 * len(line))]
    return song_of(notes)


def melody_piece() -> Song:
    """A POP909-like piece: a MELODY track over a PIANO track with chords on and off the beat, and drums."""
    melody = [
        Note(72 + s, 240 * i, 240 * i + 200, 90) for i, s in enumerate([0, 2, 4, 5, 7, 9, 7, 4] * 2)
    ]
    chords = [
        Note(48 + iv, 480 * b + off, 480 * b + off + 360, 60)
        for b in range(8)
        for off in (0, 240)
        for iv in (0, 4, 7)
    ]
    drums = [Note(36, 480 * b, 480 * b + 60, 100) for b in range(8)]
    return Song(
        tracks=(
            Track(program=0, name="MELODY").with_notes(melody),
            Track(program=0, name="PIANO").with_notes(chords),
            Track(program=0, is_drum=True, name="drums").with_notes(drums),
        ),
        tempos=(TempoChange(0, 100.0), TempoChange(1920, 110.0)),
    )


def pitches(song: Song, track: int = 0) -> list[int]:
    return [n.pitch for n in song.tracks[track].notes]


def rhythm(song: Song) -> list[set[tuple[int, int]]]:
    return [{(n.start, n.end) for n in t.notes} for t in song.tracks]


def assert_round_trips(song: Song) -> None:
    again = song_from_bytes(song_to_bytes(song))

    def onsets(s: Song) -> list:
        return sorted((n.pitch, n.start, n.velocity, t.is_drum) for t in s.tracks for n in t.notes)

    def releases(s: Song) -> list:
        return sorted((n.pitch, n.end, t.is_drum) for t in s.tracks for n in t.notes)

    assert onsets(again) == onsets(song)
    assert releases(again) == releases(song)
    assert [t.bpm for t in again.tempos] == pytest.approx([t.bpm for t in song.tempos], rel=1e-5)


# ---- λ = 0 and gradual change ----------------------------------------------------------------------
@settings(max_examples=80)
@given(any_songs(max_tracks=4, max_notes=15), emotions, emotions)
def test_strength_zero_is_the_identity(song, source, target):
    assert transform(song, source, target, 0.0) == song


@settings(max_examples=60)
@given(grid_songs(), emotions, emotions, st.floats(0, 1))
def test_nothing_free_is_the_identity_at_any_strength(song, source, target, strength):
    assert transform(song, source, target, strength, free=frozenset()) == song


@settings(max_examples=60)
@given(any_songs(max_tracks=4, max_notes=15), emotions, emotions, st.floats(0, 1))
def test_every_result_is_a_valid_song_that_round_trips_through_midi(song, source, target, strength):
    result = transform(song, source, target, strength)
    for track in result.tracks:
        assert all(
            0 <= n.pitch <= 127 and n.end > n.start and 1 <= n.velocity <= 127 for n in track.notes
        )
        assert list(track.notes) == sorted(track.notes, key=lambda n: (n.start, n.pitch, n.end))
    assert [t.tick for t in result.tempos] == [t.tick for t in song.tempos]
    assert result.time_signatures == song.time_signatures
    assert_round_trips(result)


def test_the_change_grows_with_strength():
    song = melody_piece()
    changed = []
    for strength in (0.0, 0.25, 0.5, 0.75, 1.0):
        result = transform(song, HAPPY, SAD, strength)
        changed.append(sum(a != b for a, b in zip(pitches(song), pitches(result))))
    assert changed[0] == 0
    assert changed == sorted(changed) and changed[-1] > changed[1] > 0


def test_mode_change_alters_more_degrees_as_it_grows():
    keys = pytest.importorskip("numpy").array([0])  # C major
    sizes = [len(mode_map(keys, -a)[0]) for a in (0.0, 0.2, 0.5, 0.8, 1.0)]
    assert sizes == [0, 1, 2, 2, 3]


def test_strength_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="strength"):
        transform(melody_piece(), HAPPY, SAD, 1.5)


# ---- the floor on each axis's move ---------------------------------------------------------------------
FLOOR = RuleStrengths(min_move_valence=0.625, min_move_arousal=0.625)
floors = st.builds(
    RuleStrengths,
    min_move_valence=st.sampled_from([0.0, 0.25, 0.625, 1.0]),
    min_move_arousal=st.sampled_from([0.0, 0.625, 1.0, 1.5]),
    register_low_arousal=st.sampled_from([0.0, 1.0]),
)


def test_the_floor_moves_an_axis_the_source_already_matches():
    song = melody_piece()
    # calm to sad: both low arousal, so without a floor arousal does not move
    plain = transform(song, CALM, SAD, 1.0, free=ALL_ELEMENTS - {Element.MELODY})
    floored = transform(song, CALM, SAD, 1.0, free=ALL_ELEMENTS - {Element.MELODY}, rules=FLOOR)
    assert [n.velocity for n in plain.tracks[0].notes] == [n.velocity for n in song.tracks[0].notes]
    assert all(
        a.velocity < b.velocity for a, b in zip(floored.tracks[0].notes, plain.tracks[0].notes)
    )
    assert all(  # legato, up to the next onset (the last note has none)
        a.end - a.start > b.end - b.start
        for a, b in zip(floored.tracks[0].notes[:-1], plain.tracks[0].notes[:-1])
    )
    assert floored.tempos[0].bpm < plain.tempos[0].bpm == song.tempos[0].bpm


def test_the_floor_goes_towards_the_targets_side_even_from_beyond_it():
    song = melody_piece()
    very_sad = Emotion(valence=-1.0, arousal=-1.0)  # past SAD (-0.8): the plain move is upwards
    plain = transform(song, very_sad, SAD, 1.0)
    floored = transform(song, very_sad, SAD, 1.0, rules=FLOOR)
    velocity = song.tracks[0].notes[0].velocity
    assert plain.tracks[0].notes[0].velocity > velocity > floored.tracks[0].notes[0].velocity


def test_the_floor_leaves_a_full_move_as_it_is():
    song = melody_piece()
    assert transform(song, HAPPY, SAD, 1.0, rules=FLOOR) == transform(song, HAPPY, SAD, 1.0)


def test_an_axis_not_in_dims_does_not_move_even_with_a_floor():
    song = melody_piece()
    result = transform(song, CALM, SAD, 1.0, rules=FLOOR, dims=("arousal",))
    assert pitches(result) == pitches(song)  # no mode change, no register: valence stays
    assert result.tracks[0].notes[0].velocity < song.tracks[0].notes[0].velocity
    assert transform(song, CALM, SAD, 1.0, rules=FLOOR, dims=()) == song


def test_each_axis_has_its_own_floor():
    """Sad to sad moves nothing without a floor; each axis's floor moves that axis alone."""
    song = melody_piece()
    assert transform(song, SAD, SAD, 1.0) == song
    arousal = transform(song, SAD, SAD, 1.0, rules=RuleStrengths(min_move_arousal=0.625))
    valence = transform(song, SAD, SAD, 1.0, rules=RuleStrengths(min_move_valence=0.625))
    # the arousal floor: softer, slower, legato; no pitch moves (density only drops notes)
    assert pitches(arousal) == pitches(song)
    assert set(pitches(arousal, 1)) <= set(pitches(song, 1))
    assert all(
        a.velocity < b.velocity for a, b in zip(arousal.tracks[0].notes, song.tracks[0].notes)
    )
    assert [t.bpm for t in arousal.tempos] < [t.bpm for t in song.tempos]
    # the valence floor: an octave down (and minor); times, velocities and tempo as they were
    assert all(a <= b - 12 for a, b in zip(pitches(valence), pitches(song)))
    assert rhythm(valence) == rhythm(song)
    assert [n.velocity for t in valence.tracks for n in t.notes] == [
        n.velocity for t in song.tracks for n in t.notes
    ]
    assert valence.tempos == song.tempos
    # together: the two moves at once
    both = transform(song, SAD, SAD, 1.0, rules=FLOOR)
    assert pitches(both) == pitches(valence) and both.tempos == arousal.tempos


def test_the_register_has_its_own_share_towards_low_arousal():
    """``register_low_arousal`` 0: no octave for a calm or sad target; a tense one still goes down."""
    song = melody_piece()
    rules = RuleStrengths(register_low_arousal=0.0)
    sad = transform(song, HAPPY, SAD, 1.0, rules=rules)
    assert all(abs(a - b) <= 1 for a, b in zip(pitches(sad), pitches(song)))  # the mode only
    assert pitches(sad) != pitches(song)
    assert all(
        a <= b - 12 for a, b in zip(pitches(transform(song, HAPPY, SAD, 1.0)), pitches(song))
    )
    tense = transform(song, HAPPY, TENSE, 1.0, rules=rules)
    assert tense == transform(song, HAPPY, TENSE, 1.0)
    assert all(a <= b - 11 for a, b in zip(pitches(tense), pitches(song)))
    calm = transform(song, SAD, CALM, 1.0, rules=rules)
    assert all(abs(a - b) <= 1 for a, b in zip(pitches(calm), pitches(song)))
    assert any(a >= b + 12 for a, b in zip(pitches(transform(song, SAD, CALM, 1.0)), pitches(song)))


@settings(max_examples=40)
@given(
    grid_songs(),
    emotions,
    emotions,
    st.sampled_from([("arousal", "valence"), ("arousal",), ("valence",)]),
    floors,
)
def test_with_a_floor_strength_zero_is_the_identity_and_locks_hold(
    song, source, target, dims, rules
):
    assert transform(song, source, target, 0.0, rules=rules, dims=dims) == song
    free = ALL_ELEMENTS - {Element.RHYTHM, Element.DYNAMICS, Element.TEMPO}
    result = transform(song, source, target, 1.0, free=free, rules=rules, dims=dims)
    assert result.tempos == song.tempos
    for before, after in zip(song.tracks, result.tracks):
        assert {(n.start, n.end) for n in after.notes} == {(n.start, n.end) for n in before.notes}
        assert {(n.start, n.velocity) for n in after.notes} == {
            (n.start, n.velocity) for n in before.notes
        }


# ---- mode change ---------------------------------------------------------------------------------------
PITCH_ONLY = frozenset({Element.MELODY, Element.ACCOMPANIMENT})
NO_REGISTER = RuleStrengths(register=0.0)


def test_a_major_scale_becomes_natural_minor_at_full_strength():
    major = scale_of(MAJOR)
    assert global_key(major) == 0  # C major
    result = transform(major, HAPPY, TENSE, 1.0, free=PITCH_ONLY, rules=NO_REGISTER)
    assert pitches(result) == pitches(scale_of(NATURAL_MINOR))


def test_a_natural_minor_scale_becomes_major_at_full_strength():
    minor = scale_of(NATURAL_MINOR)
    assert global_key(minor) == 12  # C minor
    result = transform(minor, SAD, CALM, 1.0, free=PITCH_ONLY, rules=NO_REGISTER)
    assert pitches(result) == pitches(scale_of(MAJOR))


def test_no_mode_change_when_valence_is_kept():
    major = scale_of(MAJOR)
    result = transform(major, HAPPY, CALM, 1.0, free=PITCH_ONLY, rules=NO_REGISTER)
    assert result == major


def test_drums_are_never_pitch_mapped():
    song = melody_piece()
    for target in (TENSE, SAD, CALM):
        result = transform(song, HAPPY, target, 1.0)
        assert pitches(result, 2) == pitches(song, 2)
        assert rhythm(result)[2] == rhythm(song)[2]


# ---- element locks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("target", [TENSE, SAD, CALM])
def test_rhythm_locked_keeps_every_onset_and_duration(target):
    song = melody_piece()
    result = transform(song, HAPPY, target, 1.0, free=ALL_ELEMENTS - {Element.RHYTHM})
    assert result != song
    assert rhythm(result) == rhythm(song)


@pytest.mark.parametrize("target", [SAD, CALM])
def test_dynamics_locked_keeps_every_velocity(target):
    song = melody_piece()
    result = transform(song, HAPPY, target, 1.0, free=ALL_ELEMENTS - {Element.DYNAMICS})
    moved = transform(song, HAPPY, target, 1.0)

    def velocities(s: Song, track: int) -> set[tuple[int, int]]:
        return {(n.start, n.velocity) for n in s.tracks[track].notes}

    assert velocities(moved, 0) != velocities(song, 0)
    # notes keep their starts here (articulation moves only ends), so each keeps its velocity;
    # density may double (same velocity) or drop accompaniment notes
    assert velocities(result, 0) == velocities(song, 0)
    assert velocities(result, 1) <= velocities(song, 1)
    assert velocities(result, 2) == velocities(song, 2)


@pytest.mark.parametrize("target", [SAD, CALM])
def test_tempo_locked_keeps_the_tempo_map(target):
    song = melody_piece()
    result = transform(song, HAPPY, target, 1.0, free=ALL_ELEMENTS - {Element.TEMPO})
    assert result.tempos == song.tempos
    moved = transform(song, HAPPY, target, 1.0)
    assert moved.tempos != song.tempos  # both targets move arousal


@pytest.mark.parametrize("target", [TENSE, SAD, CALM])
def test_melody_locked_keeps_the_melody_pitches(target):
    song = melody_piece()
    result = transform(song, HAPPY, target, 1.0, free=ALL_ELEMENTS - {Element.MELODY})
    assert result.tracks[1] != song.tracks[1]
    assert pitches(result, 0) == pitches(song, 0)


@pytest.mark.parametrize("target", [TENSE, SAD, CALM])
def test_accompaniment_locked_keeps_the_accompaniment_notes(target):
    song = melody_piece()
    result = transform(song, HAPPY, target, 1.0, free=ALL_ELEMENTS - {Element.ACCOMPANIMENT})
    assert result.tracks[0] != song.tracks[0]
    assert result.tracks[1] == song.tracks[1]


@settings(max_examples=40)
@given(grid_songs(), emotions, emotions, st.floats(0, 1))
def test_rhythm_and_dynamics_locks_hold_on_any_song(song, source, target, strength):
    free = ALL_ELEMENTS - {Element.RHYTHM, Element.DYNAMICS}
    result = transform(song, source, target, strength, free=free)
    for before, after in zip(song.tracks, result.tracks):
        assert {(n.start, n.end) for n in after.notes} == {(n.start, n.end) for n in before.notes}
        assert {(n.start, n.velocity) for n in after.notes} == {
            (n.start, n.velocity) for n in before.notes
        }


def test_density_doubles_for_arousal_up_and_drops_weak_beat_notes_for_arousal_down():
    song = melody_piece()
    busier = transform(song, CALM, HAPPY, 1.0)
    calmer = transform(song, HAPPY, CALM, 1.0)
    assert len(busier.tracks[1].notes) > len(song.tracks[1].notes)
    assert len(calmer.tracks[1].notes) < len(song.tracks[1].notes)

    # calm keeps valence: no pitch moves, so a note is known by (pitch, start)
    def onsets(s: Song) -> set[tuple[int, int]]:
        return {(n.pitch, n.start) for n in s.tracks[1].notes}

    dropped = onsets(song) - onsets(calmer)
    assert dropped and all((start // TICKS_PER_SUBBEAT) % 16 != 0 for _, start in dropped)
    # weaker positions go first: at a smaller share only off-beat eighths, no beat
    fewer = onsets(song) - onsets(
        transform(song, HAPPY, CALM, 1.0, rules=RuleStrengths(density=0.5))
    )
    assert fewer and all((start // TICKS_PER_SUBBEAT) % 4 != 0 for _, start in fewer)
    more = onsets(song) - onsets(
        transform(song, HAPPY, CALM, 1.0, rules=RuleStrengths(density=1.0))
    )
    assert fewer < more and any((start // TICKS_PER_SUBBEAT) % 4 == 0 for _, start in more)


# ---- voices --------------------------------------------------------------------------------------------
def test_a_melody_track_is_the_melody():
    split = split_voices(melody_piece())
    assert split.method == "named track"
    assert {t for t, _ in split.melody} == {0} and {t for t, _ in split.accompaniment} == {1}


def test_skyline_takes_the_top_note_of_each_onset_unless_a_higher_melody_note_is_held():
    # a held high C over two lower onsets, then a chord whose top note is the melody
    song = song_of([(72, 0, 8), (60, 0, 4), (64, 4, 4), (67, 8, 4), (60, 8, 4)])
    split = split_voices(song)
    assert split.method == "skyline"
    notes = song.tracks[0].notes
    melody = sorted(notes[j].pitch for _, j in split.melody)
    assert melody == [67, 72]
    assert len(split.accompaniment) == 3


def test_strings_are_the_melody_beside_other_families():
    song = Song(
        tracks=(
            Track(program=48).with_notes([Note(60, 0, 480, 80)]),
            Track(program=0).with_notes([Note(72, 0, 480, 80)]),
        )
    )
    split = split_voices(song)
    assert split.method == "strings family" and split.melody == frozenset({(0, 0)})


def test_element_names_parse():
    assert Element.parse(" Rhythm ") is Element.RHYTHM
    with pytest.raises(ValueError, match="melody"):
        Element.parse("timbre")


def test_scale_song_helper_is_major():
    assert global_key(scale_song(0)) == 0


def shifted(song: Song, ticks: int) -> Song:
    return song.with_tracks(
        [
            t.with_notes(
                [Note(n.pitch, n.start + ticks, n.end + ticks, n.velocity) for n in t.notes]
            )
            for t in song.tracks
        ]
    )


def offbeat_piece() -> Song:
    """A melody in quarters over a bass held each bar and short chords off the beat."""
    melody = [Note(72 + (i % 5), 480 * i, 480 * i + 400, 90) for i in range(16)]
    piano = [Note(36, 1920 * b, 1920 * b + 1920, 70) for b in range(4)]
    piano += [
        Note(60 + iv, 1920 * b + 120 * sub, 1920 * b + 120 * sub + 120 * length, 60)
        for b in range(4)
        for sub, length in ((2, 2), (3, 1), (6, 2), (7, 1), (10, 2), (14, 2))
        for iv in (0, 4, 7)
    ]
    return Song(
        tracks=(
            Track(program=0, name="MELODY").with_notes(melody),
            Track(program=0, name="PIANO").with_notes(piano),
        )
    )


def test_beat_phase_finds_the_pieces_own_beats():
    song = offbeat_piece()
    assert beat_phase(song) == 0
    assert beat_phase(shifted(song, 1920 + 2 * 120 + 60)) == 300  # off the grid by 2.5 sub-beats
    assert beat_phase(Song()) == 0


def test_a_piece_off_the_grid_drops_the_same_notes_as_on_it():
    song = offbeat_piece()
    offset = 1920 + 300  # a bar of rest plus 2.5 sub-beats: no onset is on the grid's beats
    free = frozenset({Element.ACCOMPANIMENT, Element.RHYTHM})
    calm = transform(song, HAPPY, CALM, 1.0, free=free)
    calm_off = transform(shifted(song, offset), HAPPY, CALM, 1.0, free=free)
    assert len(calm.tracks[1].notes) < len(song.tracks[1].notes)
    assert calm_off == shifted(calm, offset)
