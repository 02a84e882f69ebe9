"""Features: polyphony per sub-beat on hand-made bars, key finding on scales and cadences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from songs import cadence_song, chord_song, grid_songs, scale_song, song_of

from emostudio.midi import Song, TempoChange
from emostudio.tokens import Tokenizer
from emostudio.tokens.features import bar_keys, global_key, key_name, parse_key, polyphony, relation

TONICS = [0, 2, 5, 7, 9, 10, 11]  # C, D, F, G, A, Bb, B


# ---- polyphony -----------------------------------------------------------------------------------
def test_polyphony_counts_onsets_and_held_notes():
    # C held for a half bar, E from sub-beat 4 for 2, G at 4 and 12 for 1 each
    song = song_of([(60, 0, 8), (64, 4, 2), (67, 4, 1), (67, 12, 1)])
    expected = [1, 1, 1, 1, 3, 2, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0]
    assert polyphony(song, 1).tolist() == [expected]


def test_polyphony_carries_notes_over_the_bar_line_and_pads():
    song = song_of([(60, 14, 4)])  # sub-beats 14-17: two in bar 0, two in bar 1
    poly = polyphony(song, 3)
    assert poly.dtype == np.uint8 and poly.shape == (3, 16)
    assert poly[0].tolist() == [0] * 14 + [1, 1]
    assert poly[1].tolist() == [1, 1] + [0] * 14
    assert not poly[2].any()
    assert polyphony(song, 0).shape == (0, 16)


def test_polyphony_ignores_drums_and_cuts_at_n_bars():
    melodic = song_of([(60, 0, 16), (64, 16, 16)])
    drums = song_of([(36, s, 1) for s in range(32)], drums=True)
    song = Song(tracks=melodic.tracks + drums.tracks, tempos=(TempoChange(0, 120.0),))
    assert polyphony(song, 1).tolist() == [[1] * 16]


def test_polyphony_uses_the_tokenizer_grid():
    # durations longer than a bar are cut to 16 sub-beats; duplicates of a (pitch, onset) merge
    song = song_of([(60, 0, 40), (60, 0, 2), (62, 0, 2)])
    poly = polyphony(song, 3)
    assert poly[0].tolist() == [2, 2] + [1] * 14
    assert not poly[1:].any()


def test_polyphony_clips_at_255():
    song = song_of([(p, 0, 4) for p in range(128)])
    wide = Song(
        tracks=tuple(
            song_of([(p, 0, 4) for p in range(128)], program=prog).tracks[0] for prog in (0, 25, 33)
        ),
        tempos=(TempoChange(0, 120.0),),
    )
    assert polyphony(song, 1)[0, 0] == 128
    assert polyphony(wide, 1)[0, 0] == 255  # 384 notes clipped


@settings(max_examples=60)
@given(grid_songs(max_bars=3))
def test_polyphony_of_a_song_equals_that_of_its_token_round_trip(song):
    tokenizer = Tokenizer()
    bars = tokenizer.encode_bars(song)
    decoded = tokenizer.decode(tokenizer.encode(song)).song
    assert np.array_equal(polyphony(song, len(bars)), polyphony(decoded, len(bars)))


# ---- key -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("tonic", TONICS)
@pytest.mark.parametrize("minor", [False, True])
def test_scales_give_their_key(tonic, minor):
    expected = tonic + (12 if minor else 0)
    song = scale_song(tonic, minor)
    assert global_key(song) == expected, key_name(global_key(song))


@pytest.mark.parametrize("tonic", TONICS)
@pytest.mark.parametrize("minor", [False, True])
def test_cadences_give_their_key_in_every_bar(tonic, minor):
    expected = tonic + (12 if minor else 0)
    song = cadence_song(tonic, minor)
    assert global_key(song) == expected
    keys = bar_keys(song, song.n_bars)
    assert keys.dtype == np.int8 and keys.tolist() == [expected] * song.n_bars


def test_a_modulation_is_followed_per_bar():
    # four cadences in C major, then four in Eb major (eight bars each)
    first, second = cadence_song(0, repeats=4), cadence_song(3, repeats=4)
    shifted = [
        (n.pitch, n.start // 120 + 16 * 16, n.duration // 120) for n in second.tracks[0].notes
    ]
    notes = [(n.pitch, n.start // 120, n.duration // 120) for n in first.tracks[0].notes] + shifted
    keys = bar_keys(song_of(notes), 32)
    assert keys[:13].tolist() == [0] * 13
    assert keys[19:].tolist() == [3] * 13


def test_silent_bars_take_a_neighbours_key():
    song = song_of(
        [
            (n.pitch, n.start // 120 + 3 * 16, n.duration // 120)
            for n in cadence_song(9, minor=True).tracks[0].notes
        ]
    )  # starts at bar 3
    keys = bar_keys(song, 14)  # 3 silent bars, 8 bars of A minor, 3 silent bars
    assert keys.tolist() == [21] * 14


def test_songs_without_pitched_notes():
    drums = song_of([(36, 0, 1)], drums=True)
    assert bar_keys(drums, 2).shape == (2,)
    assert bar_keys(Song(), 0).shape == (0,)
    assert 0 <= global_key(Song()) < 24


def test_minor_and_major_triads_are_told_apart():
    assert global_key(chord_song(4, 4, minor=False, root=62)) == 2  # D major
    assert global_key(chord_song(4, 4, minor=True, root=62)) == 14  # D minor


def test_key_names_parse_back():
    for key in range(24):
        assert parse_key(key_name(key)) == key
    assert parse_key("Gb:maj") == 6 and parse_key("F#:min") == 18 and parse_key("a minor") == 21
    with pytest.raises(ValueError):
        parse_key("H major")
    with pytest.raises(ValueError):
        key_name(24)


def test_key_relations():
    c_major, a_minor, c_minor, g_major, f_major = 0, 21, 12, 7, 5
    assert relation(c_major, c_major) == "same"
    assert relation(a_minor, c_major) == "relative" and relation(c_major, a_minor) == "relative"
    assert relation(c_minor, c_major) == "parallel"
    assert relation(g_major, c_major) == "fifth" and relation(f_major, c_major) == "fifth"
    assert relation(2, c_major) == "other"


@pytest.mark.corpus
def test_global_key_on_pop909_annotations(shared_data):
    """A sample of 60 POP909 songs: the estimated global key matches the annotated (longest) key
    in at least 75% (the whole set: benchmarks/key_accuracy.py)."""
    from emostudio.midi import read_midi

    paths = sorted((shared_data / "pop909").glob("*.mid"))[::15]
    right = 0
    for path in paths:
        segments = [
            line.split("\t")
            for line in path.with_suffix(".key.txt").read_text().splitlines()
            if line
        ]
        truth = parse_key(max(segments, key=lambda s: float(s[1]) - float(s[0]))[2])
        right += global_key(read_midi(path)) == truth
    assert right / len(paths) >= 0.75, (right, len(paths))
