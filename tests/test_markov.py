"""The Markov baseline: n-gram probabilities, order choice, grammatical samples per quadrant."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from songs import chord_song, scale_song

from emostudio.evaluation.markov import MarkovBaseline, MarkovChain
from emostudio.evaluation.structure import piano_roll
from emostudio.tokens.tokenizer import Tokenizer


def test_probabilities_sum_to_one_and_follow_the_counts():
    chain = MarkovChain(vocab_size=6, max_order=2).fit([[1, 2, 3, 1, 2, 3, 1, 2, 4]])
    for context in ([], [1], [1, 2], [5, 5]):
        p = chain.distribution(context)
        assert p.sum() == pytest.approx(1.0)
        assert all(chain.probability(context, t) == pytest.approx(p[t]) for t in range(6))
    after_12 = chain.distribution([1, 2])
    assert after_12[3] > after_12[4] > after_12[5] > 0  # seen twice, once, never
    assert np.argmax(chain.distribution([3])) == 1


def test_order_is_chosen_on_held_out_data():
    pattern = [1, 2, 3, 1, 2, 4] * 20  # what follows 2 depends on the token before it
    chain = MarkovChain(vocab_size=8, max_order=4).fit([pattern])
    scores = chain.choose_order([pattern[:60]])
    assert chain.order >= 2
    assert scores[2] > scores[1] > scores[0]
    chain.order = 0
    assert chain.log_likelihood([[1, 2]]) == pytest.approx(
        np.log(chain.probability([], 1)) / 2 + np.log(chain.probability([], 2)) / 2
    )


def _pieces():
    tense = [chord_song(8, 8, minor=True, root=57 + i) for i in range(3)]
    calm = [scale_song(i, bars=8) for i in range(3)]
    return (
        [(s, 2) for s in tense]
        + [(s, 4) for s in calm]
        + [(chord_song(8, 4, root=60 + i), q) for i, q in enumerate((1, 3))]
    )


def test_samples_decode_to_the_requested_bars_and_sound_like_their_quadrant():
    pieces = _pieces()
    baseline = MarkovBaseline.from_songs(pieces, pieces, max_order=4)
    songs = baseline.sample_many([2, 2, 4, 4], bars=6, seed=0)
    tokenizer = Tokenizer()
    for song in songs:
        bars = tokenizer.encode_bars(song, 6)
        assert len(bars) == 6
        assert all(len(bar) > 2 for bar in bars)  # every bar holds a note
        assert song.n_bars <= 6
    # tense: triads; calm: one scale note at a time
    per_onset = [s.note_count / piano_roll(s).onsets.sum() for s in songs]
    assert min(per_onset[:2]) > max(per_onset[2:]) + 1.0
    again = baseline.sample_many([2, 2, 4, 4], bars=6, seed=0)
    assert [s.tracks for s in again] == [s.tracks for s in songs]


def test_a_quadrant_without_training_pieces_is_an_error():
    pieces = [p for p in _pieces() if p[1] != 3]
    with pytest.raises(ValueError, match="quadrant 3"):
        MarkovBaseline.from_songs(pieces, pieces)


@dataclass
class _Piece:
    split: str
    quadrant: int | None
    source: str = "emopia"

    @property
    def labelled(self) -> bool:
        return self.quadrant is not None


class _Cache:
    """The part of a CorpusCache the baseline reads."""

    def __init__(self, pieces):
        tokenizer = Tokenizer()
        self.tokenizer_config = tokenizer.config
        self.pieces = [_Piece(split, q) for (_, q), split in zip(pieces, ["train", "val"] * 9)]
        self.pieces += [_Piece("train", q) for _, q in pieces] + [_Piece("train", None)]
        songs = [s for s, _ in pieces] * 2 + [pieces[0][0]]
        self._bars = [tokenizer.encode_bars(s) for s in songs]

    def split_indices(self, name):
        return np.array([i for i, p in enumerate(self.pieces) if p.split == name])

    def bars(self, i):
        return [b.astype(np.int16) for b in self._bars[i]]


def test_from_cache_trains_on_labelled_training_pieces():
    baseline = MarkovBaseline.from_cache(_Cache(_pieces()), max_order=3)
    assert set(baseline.chains) == {1, 2, 3, 4}
    assert all(0 <= c.order <= 3 for c in baseline.chains.values())
    # quadrant 2 is pieces 0-2: in the first block 0 and 2 are training pieces, 1 validation;
    # the second block is all training
    pieces, tokenizer = _pieces(), Tokenizer()
    tokens = [len(np.concatenate(tokenizer.encode_bars(s))) for s, _ in pieces[:3]]
    assert baseline.chains[2].unigram.sum() == tokens[0] + tokens[2] + sum(tokens)
