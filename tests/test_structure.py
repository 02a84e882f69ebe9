"""Structure descriptors, realism comparisons and seams on pieces the tests make."""

from __future__ import annotations

import numpy as np
import pytest
from songs import song_of

from emostudio.evaluation.structure import (
    REALISM_NAMES,
    STRUCTURE_NAMES,
    bar_jumps,
    overlapping_area_kde,
    realism_table,
    seam_percentiles,
    structure_descriptors,
    two_sample_auc,
)


def _bar(t: int, pitches: tuple[int, ...], onsets=(0, 4, 8, 12), length: int = 4):
    return [(p, 16 * t + o, length) for o in onsets for p in pitches]


C, F, G = (48, 60, 64, 67), (53, 65, 69, 72), (43, 67, 71, 74)


def test_bar_repetition_counts_bars_that_return():
    # C F C G: bar 3 repeats bar 1 -> 1 of 4 bars
    song = song_of(_bar(0, C) + _bar(1, F) + _bar(2, C) + _bar(3, G))
    assert structure_descriptors(song)["bar_repetition"] == pytest.approx(0.25)
    # a different rhythm is not a repeat
    song = song_of(_bar(0, C) + _bar(1, F) + _bar(2, C, onsets=(0, 2, 3, 6, 10, 14)) + _bar(3, G))
    assert structure_descriptors(song)["bar_repetition"] == 0.0


def test_groove_empty_beats_bass_and_scale():
    steady = song_of(_bar(0, C) + _bar(1, F) + _bar(2, G))
    d = structure_descriptors(steady)
    assert d["groove_consistency"] == 1.0  # the same onsets every bar
    assert d["empty_beat_rate"] == 0.0
    assert d["bass_presence"] == 1.0  # 48, 53, 43 are below G3 (55)
    assert d["scale_consistency"] == 1.0  # C major only
    gappy = song_of([(72, 0, 2), (73, 8, 2), (74, 16, 1), (78, 30, 1)])  # no bass, gaps, chromatic
    d = structure_descriptors(gappy)
    assert d["empty_beat_rate"] == pytest.approx(4 / 8)  # beats 2, 4, 5, 7 of 8 silent
    assert d["bass_presence"] == 0.0
    assert d["scale_consistency"] == pytest.approx(3 / 4)
    assert d["groove_consistency"] < 1.0


def test_consonance_and_top_voice():
    triads = song_of(_bar(0, (60, 64, 67)))
    clusters = song_of(_bar(0, (60, 61, 62)))
    assert structure_descriptors(triads)["consonance"] == 1.0
    assert structure_descriptors(clusters)["consonance"] == 0.0
    leaps = song_of([(60, 0, 4), (72, 4, 4), (60, 8, 4), (72, 12, 4)])
    d = structure_descriptors(leaps)
    assert d["top_voice_leap"] == 12.0
    assert d["pc_transition_entropy"] == 0.0  # C -> C every time
    steps = song_of([(60, 0, 4), (62, 4, 4), (64, 8, 4), (65, 12, 4)])
    d = structure_descriptors(steps)
    assert d["top_voice_leap"] == pytest.approx(5 / 3)
    assert d["pc_transition_entropy"] == pytest.approx(np.log2(3))


def test_empty_song_has_no_descriptors_and_tables_skip_it():
    assert structure_descriptors(song_of([])) is None
    table = realism_table([song_of(_bar(0, C)), song_of([])])
    assert table.shape == (1, len(REALISM_NAMES))
    assert REALISM_NAMES[-len(STRUCTURE_NAMES) :] == STRUCTURE_NAMES


def test_overlapping_area_is_one_for_the_same_sample_and_small_for_distant_ones():
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    assert overlapping_area_kde(a, a) == pytest.approx(1.0, abs=1e-3)
    assert overlapping_area_kde(a, rng.normal(size=200)) > 0.85
    assert overlapping_area_kde(a, rng.normal(6.0, 1.0, size=200)) < 0.05
    assert overlapping_area_kde(np.zeros(5), np.ones(5)) < 0.01  # constant samples: narrow bumps


def test_two_sample_auc_separates_different_sets_and_not_equal_ones():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(60, 4))
    assert two_sample_auc(a, rng.normal(size=(60, 4))) < 0.7
    assert two_sample_auc(a, rng.normal(2.0, 1.0, size=(60, 4))) > 0.95


def test_bar_jumps_find_a_seam():
    smooth = _bar(0, C) + _bar(1, C) + _bar(2, C)
    song = song_of(smooth + _bar(3, (80, 85, 90), onsets=(1, 3, 7)))
    jumps = bar_jumps(song)
    assert jumps.shape == (3, 3)
    np.testing.assert_allclose(jumps[:2], 0.0, atol=1e-9)
    assert jumps[2, 0] > 0.5 and jumps[2, 1] > 20
    pct = seam_percentiles(jumps[2:], jumps[:2])
    assert (pct == 100.0).all()
    assert bar_jumps(song_of(_bar(0, C))) is None
