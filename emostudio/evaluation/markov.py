"""A baseline generator: one Markov chain over our tokens per emotion quadrant.

:class:`MarkovChain` is an n-gram model over token ids with Witten-Bell interpolation (each order's
estimate falls back on the next shorter context in proportion to how many different tokens its
context has been followed by; order 0 is an add-one unigram), so every token of the vocabulary
has a probability after any context. One fit at the largest order serves every smaller order:
:meth:`MarkovChain.choose_order` keeps the order with the best held-out log-likelihood.

:class:`MarkovBaseline` holds a chain per quadrant, trained from a corpus cache
(:meth:`MarkovBaseline.from_cache`, the training split's labelled pieces, the order chosen on the
validation split) or from songs. It samples bar by bar under the decoder's grammar
(:class:`emostudio.generation.grammar.BarGrammar`: the chain's distribution times the mask of the
tokens that may come next), so every sample decodes; the first bar's tempo is held, as the engine
does. Its pieces are :class:`~emostudio.midi.song.Song` objects like the model's.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from emostudio.midi.song import Song
from emostudio.tokens.tokenizer import Tokenizer
from emostudio.tokens.vocab import BAR

log = logging.getLogger(__name__)

QUADRANTS = (1, 2, 3, 4)
MAX_ORDER = 8


class MarkovChain:
    """An interpolated n-gram model of token sequences (contexts up to ``max_order`` tokens)."""

    def __init__(self, vocab_size: int, max_order: int = MAX_ORDER) -> None:
        if max_order < 0:
            raise ValueError(f"order must be >= 0 (got {max_order})")
        self.vocab_size = vocab_size
        self.max_order = max_order
        self.order = max_order  # the context length used; see choose_order
        self.unigram = np.zeros(vocab_size, dtype=np.float64)
        # counts[k]: context of k tokens -> Counter of the tokens that followed it
        self.counts: list[dict[tuple[int, ...], Counter]] = [{} for _ in range(max_order + 1)]

    def fit(self, sequences: Iterable[Sequence[int]]) -> MarkovChain:
        for seq in sequences:
            seq = [int(t) for t in seq]
            np.add.at(self.unigram, seq, 1.0)
            for i, token in enumerate(seq):
                for k in range(1, min(self.max_order, i) + 1):
                    table = self.counts[k]
                    context = tuple(seq[i - k : i])
                    if context not in table:
                        table[context] = Counter()
                    table[context][token] += 1
        return self

    def probability(self, context: Sequence[int], token: int) -> float:
        """P(token | the last ``order`` tokens of context)."""
        p = (self.unigram[token] + 1.0) / (self.unigram.sum() + self.vocab_size)
        for k in range(1, min(self.order, len(context)) + 1):
            followers = self.counts[k].get(tuple(context[len(context) - k :]))
            if not followers:
                break  # a longer context containing this one was never seen either
            total, types = followers.total(), len(followers)
            p = (followers[token] + types * p) / (total + types)
        return float(p)

    def distribution(self, context: Sequence[int]) -> np.ndarray:
        """float[V]: P(next token | the last ``order`` tokens of context)."""
        p = (self.unigram + 1.0) / (self.unigram.sum() + self.vocab_size)
        for k in range(1, min(self.order, len(context)) + 1):
            followers = self.counts[k].get(tuple(context[len(context) - k :]))
            if not followers:
                break
            counts = np.zeros(self.vocab_size)
            counts[list(followers)] = list(followers.values())
            total, types = followers.total(), len(followers)
            p = (counts + types * p) / (total + types)
        return p

    def log_likelihood(self, sequences: Iterable[Sequence[int]]) -> float:
        """Mean log-probability (nats) per token of the sequences at the current order."""
        total, n = 0.0, 0
        for seq in sequences:
            seq = [int(t) for t in seq]
            for i, token in enumerate(seq):
                total += np.log(self.probability(seq[max(0, i - self.order) : i], token))
                n += 1
        return total / max(1, n)

    def choose_order(self, validation: Sequence[Sequence[int]]) -> dict[int, float]:
        """Set :attr:`order` to the one (0..max) with the best held-out log-likelihood; returns
        order -> mean log-likelihood per token."""
        scores = {}
        for k in range(self.max_order + 1):
            self.order = k
            scores[k] = self.log_likelihood(validation)
        self.order = max(scores, key=scores.__getitem__)
        return scores


class MarkovBaseline:
    """One :class:`MarkovChain` per quadrant and a sampler under the bar grammar."""

    def __init__(
        self, chains: dict[int, MarkovChain], tokenizer: Tokenizer, bar_len: int = 96
    ) -> None:
        self.chains = chains
        self.tokenizer = tokenizer
        self.bar_len = bar_len
        self.validation: dict[int, dict[int, float]] = {}  # quadrant -> order -> log-likelihood

    @classmethod
    def fit(
        cls,
        train: dict[int, list[Sequence[int]]],
        validation: dict[int, list[Sequence[int]]],
        tokenizer: Tokenizer,
        bar_len: int = 96,
        max_order: int = MAX_ORDER,
    ) -> MarkovBaseline:
        """Chains from each quadrant's training sequences (one per piece: its bars in a row),
        each order chosen on that quadrant's validation sequences."""
        chains, scores = {}, {}
        for q in QUADRANTS:
            if not train.get(q):
                raise ValueError(f"no training pieces for quadrant {q}")
            chain = MarkovChain(tokenizer.vocab.size, max_order).fit(train[q])
            scores[q] = chain.choose_order(validation.get(q) or train[q])
            log.info(
                "Q%d: order %d (held-out log-likelihood %.3f)",
                q,
                chain.order,
                scores[q][chain.order],
            )
            chains[q] = chain
        baseline = cls(chains, tokenizer, bar_len)
        baseline.validation = scores
        return baseline

    @classmethod
    def from_songs(
        cls,
        train: Sequence[tuple[Song, int]],
        validation: Sequence[tuple[Song, int]],
        tokenizer: Tokenizer | None = None,
        bar_len: int = 96,
        max_order: int = MAX_ORDER,
    ) -> MarkovBaseline:
        """From (song, quadrant) pairs."""
        tokenizer = tokenizer or Tokenizer()

        def by_quadrant(pairs):
            out: dict[int, list[np.ndarray]] = {q: [] for q in QUADRANTS}
            for song, q in pairs:
                out[q].append(np.concatenate(tokenizer.encode_bars(song)))
            return out

        return cls.fit(by_quadrant(train), by_quadrant(validation), tokenizer, bar_len, max_order)

    @classmethod
    def from_cache(
        cls,
        cache,
        bar_len: int = 96,
        max_order: int = MAX_ORDER,
        sources: tuple[str, ...] | None = None,
    ) -> MarkovBaseline:
        """From a :class:`~emostudio.corpus.cache.CorpusCache`'s labelled training pieces
        (optionally only some sources), orders chosen on its validation pieces."""

        def by_quadrant(split):
            out: dict[int, list[np.ndarray]] = {q: [] for q in QUADRANTS}
            for i in cache.split_indices(split):
                piece = cache.pieces[i]
                if piece.labelled and (sources is None or piece.source in sources):
                    out[piece.quadrant].append(np.concatenate(cache.bars(i)).astype(np.int64))
            return out

        tokenizer = Tokenizer(cache.tokenizer_config)
        return cls.fit(by_quadrant("train"), by_quadrant("val"), tokenizer, bar_len, max_order)

    def sample(self, quadrant: int, bars: int, rng: np.random.Generator) -> Song:
        """A piece of ``bars`` bars from the quadrant's chain; every bar holds a note."""
        import torch

        from emostudio.generation.grammar import BarGrammar

        chain = self.chains[quadrant]
        grammar = BarGrammar(self.tokenizer.vocab, self.bar_len)
        history: list[int] = []
        out: list[np.ndarray] = []
        tempo: torch.Tensor | None = None
        for _ in range(bars):
            state = grammar.start(1, forced_tempo=tempo, need_note=torch.ones(1, dtype=torch.bool))
            bar = [BAR]
            history.append(BAR)
            while True:
                allowed = grammar.allowed(state)[0].cpu().numpy()
                p = chain.distribution(history[-chain.order :] if chain.order else []) * allowed
                if p.sum() <= 0:
                    p = allowed.astype(np.float64)
                token = int(rng.choice(len(p), p=p / p.sum()))
                grammar.advance(state, [token])
                if state.done[0]:
                    break
                bar.append(token)
                history.append(token)
            if tempo is None:
                tempo = torch.tensor([bar[1]])
            out.append(np.asarray(bar, dtype=np.int32))
        song = self.tokenizer.decode(np.concatenate(out)).song
        return song.slice_bars(0, bars)

    def sample_many(self, quadrants: Sequence[int], bars: int, seed: int = 0) -> list[Song]:
        rng = np.random.default_rng(seed)
        return [self.sample(q, bars, rng) for q in quadrants]
