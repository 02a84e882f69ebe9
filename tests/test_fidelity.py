"""Fidelity measures between a source piece and a transformed one."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from songs import chord_song, grid_songs, scale_song, song_of

from emostudio.evaluation.fidelity import bar_fidelity, fidelity
from emostudio.midi import Song


@settings(max_examples=60)
@given(grid_songs(with_drums=False))
def test_a_song_against_itself_is_one_on_every_measure(song):
    f = fidelity(song, song)
    if song.note_count == 0:
        assert all(math.isnan(v) for v in f.as_dict().values())
    else:
        assert f.as_dict() == pytest.approx(
            {"contour": 1.0, "pc_cosine": 1.0, "onset_similarity": 1.0, "note_f1": 1.0}
        )


def test_unrelated_songs_score_low():
    rising = scale_song(0, bars=4)  # C major up and down in quarters
    other = song_of([(61 + (7 * i) % 11, 2 * i + 1, 1) for i in range(32)])  # off-beat, other pcs
    f = fidelity(rising, other)
    assert f.note_f1 == 0.0
    assert f.onset_similarity < 0.6
    assert f.pc_cosine < 0.6
    assert abs(f.contour) < 0.5


def test_transposition_keeps_the_contour_but_not_the_notes():
    song = scale_song(0)
    up = Song(
        tracks=tuple(
            t.with_notes([type(n)(n.pitch + 5, n.start, n.end, n.velocity) for n in t.notes])
            for t in song.tracks
        )
    )
    f = fidelity(song, up)
    assert f.contour == pytest.approx(1.0)
    assert f.onset_similarity == 1.0
    assert f.note_f1 == 0.0
    assert f.pc_cosine < 0.9


def test_measures_on_a_hand_made_bar():
    source = song_of([(60, 0, 4), (62, 4, 4), (64, 8, 4), (67, 12, 4)])
    # same onsets, pitches 60, 62, 63, 65: contour rises in both; two of four notes kept
    result = song_of([(60, 0, 4), (62, 4, 4), (63, 8, 4), (65, 12, 4)])
    per_bar = bar_fidelity(source, result)
    assert per_bar.note_f1.tolist() == [0.5]
    assert per_bar.onset_similarity.tolist() == [1.0]
    top = np.repeat([60, 62, 64, 67], 4), np.repeat([60, 62, 63, 65], 4)
    assert per_bar.contour[0] == pytest.approx(np.corrcoef(*top)[0, 1])
    # onsets at 0, 4 and 12 only: 15 of 16 sub-beats agree
    sparse = song_of([(60, 0, 4), (62, 4, 4), (67, 12, 4)])
    assert bar_fidelity(source, sparse).onset_similarity.tolist() == [15 / 16]


def test_bars_where_neither_sounds_are_left_out_and_one_silent_side_scores_zero():
    a = song_of([(60, 0, 4), (60, 32, 4)])  # bars 0 and 2
    b = song_of([(60, 0, 4), (60, 16, 4)])  # bars 0 and 1
    per_bar = bar_fidelity(a, b)
    assert per_bar.note_f1.tolist() == [1.0, 0.0, 0.0]
    assert per_bar.pc_cosine.tolist() == [1.0, 0.0, 0.0]
    empty = song_of([(60, 0, 4), (60, 48, 4)])  # bars 1 and 2 silent in both
    assert np.isnan(bar_fidelity(empty, empty).note_f1[1:3]).all()


def test_pitch_class_profile_ignores_octaves():
    low, high = chord_song(2, 4, root=48), chord_song(2, 4, root=72)
    assert fidelity(low, high).pc_cosine == pytest.approx(1.0)
