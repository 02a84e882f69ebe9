"""The form plan and its latents (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest
from songs import scale_song, song_of

from emostudio.generation.form import (
    DOMINANT,
    FORMS,
    TONIC,
    FormError,
    apply_form,
    cadence_chord,
    cadence_kinds,
    pitch_class_table,
    plan_form,
    repeat_bars,
)
from emostudio.midi.song import TICKS_PER_BAR
from emostudio.tokens import Tokenizer

TOKENIZER = Tokenizer()


def test_aaba_repeats_the_a_phrase_and_not_the_b_phrase():
    plan = plan_form("AABA", 16, variation=0.2)
    assert "".join(b.section for b in plan[::4]) == "AABA"
    assert [b.source for b in plan[:4]] == [None] * 4  # the first A is new
    assert [b.source for b in plan[4:8]] == [0, 1, 2, 3]
    assert [b.source for b in plan[8:12]] == [None] * 4  # B is new
    assert [b.source for b in plan[12:16]] == [0, 1, 2, 3]
    assert [b.variation for b in plan[4:8]] == [0.2] * 4
    assert [t for t, b in enumerate(plan) if b.phrase_end] == [3, 7, 11, 15]


def test_the_form_cycles_and_a_short_last_phrase_takes_its_sections_first_bars():
    plan = plan_form("ABAB", 18)
    assert [b.source for b in plan[8:12]] == [0, 1, 2, 3]  # third phrase: A again
    assert [b.source for b in plan[12:16]] == [4, 5, 6, 7]  # fourth: B again
    assert [b.source for b in plan[16:]] == [0, 1]  # fifth (2 bars): A's first two
    assert plan[17].phrase_end


def test_through_composed_repeats_nothing():
    plan = plan_form("none", 12)
    assert all(b.source is None for b in plan)
    assert len({b.section for b in plan}) == 3


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_form_only_repeats_earlier_bars_at_the_same_phrase_position(form):
    for t, bar in enumerate(plan_form(form, 24)):
        if bar.source is not None:
            assert bar.source < t and bar.source % 4 == t % 4


def test_variation_zero_gives_identical_latents_for_returning_bars():
    rng = np.random.default_rng(0)
    z_r, z_k = rng.normal(size=(16, 8)), rng.normal(size=(16, 6))
    before = z_r.copy()
    plan = plan_form("AABA", 16, variation=0.0)
    out_r, out_k = apply_form(z_r, z_k, plan, key_pull=0.5)
    for t, bar in enumerate(plan):
        if bar.source is not None:
            np.testing.assert_array_equal(out_r[t], out_r[bar.source])
            np.testing.assert_array_equal(out_k[t], out_k[bar.source])
    np.testing.assert_array_equal(out_r[8:12], z_r[8:12])  # the B phrase keeps its own rhythm
    assert not np.allclose(out_r[4:8], z_r[4:8])
    np.testing.assert_array_equal(z_r, before)  # the input is not changed


def test_variation_moves_returning_bars_part_of_the_way_to_their_own_draw():
    rng = np.random.default_rng(1)
    z_r, z_k = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
    plan = plan_form("AABB", 8, variation=0.25)
    out_r, _ = apply_form(z_r, z_k, plan)
    np.testing.assert_allclose(out_r[5], z_r[1] + 0.25 * (z_r[5] - z_r[1]))
    out_r1, _ = apply_form(z_r, z_k, plan_form("AABB", 8, variation=1.0))
    np.testing.assert_allclose(out_r1, z_r)


def test_key_pull_moves_phrase_ends_key_latent_to_the_first_bar():
    rng = np.random.default_rng(2)
    z_r, z_k = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
    out_r, out_k = apply_form(z_r, z_k, plan_form("none", 8), key_pull=1.0)
    np.testing.assert_allclose(out_k[[3, 7]], np.stack([z_k[0], z_k[0]]))
    np.testing.assert_allclose(out_k[[1, 2, 4, 5, 6]], z_k[[1, 2, 4, 5, 6]])
    np.testing.assert_allclose(out_r, z_r)


def test_bad_requests_are_form_errors():
    with pytest.raises(FormError, match="unknown form"):
        plan_form("rondo", 8)
    with pytest.raises(FormError):
        plan_form("AABA", 0)
    with pytest.raises(FormError):
        plan_form("AABA", 8, variation=1.5)
    with pytest.raises(FormError, match="plan has 8 bars"):
        apply_form(np.zeros((4, 2)), np.zeros((4, 2)), plan_form("AABA", 8))


def test_repeat_bars_copies_the_notes_of_exact_returns_only():
    song = song_of([(60 + t, 16 * t, 4) for t in range(8)] + [(40, 12, 8)])  # one note held over
    copied = repeat_bars(song, plan_form("AABB", 8, variation=0.0))
    starts = {(n.start // TICKS_PER_BAR, n.pitch) for n in copied.tracks[0].notes}
    # 8 bars of AABB are two A phrases: bars 4-7 are bars 0-3 again, the held bass note too
    assert starts == {(t, 60 + t % 4) for t in range(8)} | {(0, 40), (4, 40)}
    varied = repeat_bars(song, plan_form("AABB", 8, variation=0.3))
    assert varied.tracks[0].notes == song.tracks[0].notes


def test_variation_per_phrase_position():
    plan = plan_form("AABA", 16, variation=(0.0, 1.0, 1.0, 0.5))
    assert [b.variation for b in plan[12:16]] == [0.0, 1.0, 1.0, 0.5]
    assert [b.variation for b in plan[8:12]] == [1.0] * 4  # new bars: their own draw
    with pytest.raises(FormError):
        plan_form("AABA", 16, variation=(0.0, 1.0))


def test_phrase_ends_close_and_open_in_turn_and_the_piece_closes():
    assert cadence_kinds(plan_form("AABA", 16)) == {
        3: DOMINANT,
        7: TONIC,
        11: DOMINANT,
        15: TONIC,
    }
    assert cadence_kinds(plan_form("none", 6)) == {3: DOMINANT, 5: TONIC}
    assert cadence_kinds(plan_form("none", 3)) == {2: TONIC}


def scale_tokens(tonic: int, minor: bool) -> list[np.ndarray]:
    """The tokens of a scale (harmonic minor for minor), one array per bar."""
    return TOKENIZER.encode_bars(scale_song(tonic, minor=minor))


@pytest.mark.parametrize(
    "tonic, minor, closes, opens",
    [
        (0, False, {0, 4, 7}, {7, 11, 2}),  # C major: C E G, then G B D
        (9, True, {9, 0, 4}, {4, 7, 11}),  # A minor: A C E, then E G B (diatonic)
        (2, False, {2, 6, 9}, {9, 1, 4}),  # D major
    ],
)
def test_a_cadence_chord_is_the_tonic_or_dominant_triad_of_the_bars_key(
    tonic, minor, closes, opens
):
    bars = scale_tokens(tonic, minor)
    table = pitch_class_table(TOKENIZER.vocab)
    assert cadence_chord(bars, table, TONIC) == sum(1 << pc for pc in closes)
    assert cadence_chord(bars, table, DOMINANT) == sum(1 << pc for pc in opens)


def test_no_pitched_note_no_cadence_chord():
    table = pitch_class_table(TOKENIZER.vocab)
    drums = TOKENIZER.encode_bars(song_of([(36, 0, 2), (42, 4, 2)], drums=True))
    assert cadence_chord(drums, table, TONIC) is None
    assert cadence_chord([], table, TONIC) is None
