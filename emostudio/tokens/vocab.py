"""The token vocabulary, derived from a :class:`TokenizerConfig` (never typed in).

Layout (ids in this order): ``PAD``, ``EOS``, ``Bar``, ``Beat_0..S-1``, ``Tempo_0..B-1``, then for
each family (drums, piano, guitar, bass, strings): ``Pitch-<family>_0..127``,
``Velocity-<family>_0..V-1``, ``Duration-<family>_1..D``.

The token grammar lives here too, once: :class:`TokenKind` names each id's kind and
:data:`FOLLOWS` says which kind may follow which. The decoder's masks
(:class:`emostudio.generation.grammar.BarGrammar`) and :meth:`Tokenizer.decode`'s skip rules both
read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property

import numpy as np

from emostudio.midi.families import Family
from emostudio.tokens.config import TokenizerConfig

PAD, EOS, BAR = 0, 1, 2


class TokenKind(IntEnum):
    """The kind of a token id (the values are those of :attr:`Vocabulary.kinds`)."""

    PAD = 0
    EOS = 1
    BAR = 2
    BEAT = 3
    TEMPO = 4
    PITCH = 5
    VELOCITY = 6
    DURATION = 7


#: The token grammar, ``Bar Tempo (Beat (Pitch-f Velocity-f Duration-f)+)* ... EOS``, as which kind
#: may follow which. Two rules on values sit beside it: a note's Velocity and Duration are of its
#: Pitch's family, and a bar's Beat positions go forwards.
FOLLOWS: Mapping[TokenKind, frozenset[TokenKind]] = {
    TokenKind.BAR: frozenset({TokenKind.TEMPO}),
    TokenKind.TEMPO: frozenset({TokenKind.BEAT, TokenKind.BAR, TokenKind.EOS}),
    TokenKind.BEAT: frozenset({TokenKind.PITCH}),
    TokenKind.PITCH: frozenset({TokenKind.VELOCITY}),
    TokenKind.VELOCITY: frozenset({TokenKind.DURATION}),
    TokenKind.DURATION: frozenset({TokenKind.PITCH, TokenKind.BEAT, TokenKind.BAR, TokenKind.EOS}),
    TokenKind.EOS: frozenset({TokenKind.PAD}),
    TokenKind.PAD: frozenset({TokenKind.PAD}),
}
#: the kinds that continue a note once its Pitch is out
NOTE_CONTINUATIONS = FOLLOWS[TokenKind.PITCH] | FOLLOWS[TokenKind.VELOCITY]


@dataclass(frozen=True)
class FamilyRange:
    pitch: int  # id of Pitch-<family>_0
    velocity: int  # id of Velocity-<family>_0
    duration: int  # id of Duration-<family>_1


class Vocabulary:
    def __init__(self, config: TokenizerConfig) -> None:
        self.config = config
        self.pad, self.eos, self.bar = PAD, EOS, BAR
        self.beat = 3
        self.tempo = self.beat + config.subbeats_per_bar
        start = self.tempo + config.tempo_bins
        per_family = config.pitch_count + config.velocity_bins + config.max_duration
        self.families: dict[Family, FamilyRange] = {}
        for f in Family:
            base = start + int(f) * per_family
            self.families[f] = FamilyRange(
                base, base + config.pitch_count, base + config.pitch_count + config.velocity_bins
            )
        self.size = start + len(Family) * per_family
        self.family_start = start
        self.per_family = per_family

    def __len__(self) -> int:
        return self.size

    @cached_property
    def names(self) -> list[str]:
        c = self.config
        out = ["PAD", "EOS", "Bar"]
        out += [f"Beat_{i}" for i in range(c.subbeats_per_bar)]
        out += [f"Tempo_{i}" for i in range(c.tempo_bins)]
        for f in Family:
            out += [f"Pitch-{f.label}_{p}" for p in range(c.pitch_count)]
            out += [f"Velocity-{f.label}_{v}" for v in range(c.velocity_bins)]
            out += [f"Duration-{f.label}_{d}" for d in range(1, c.max_duration + 1)]
        assert len(out) == self.size
        return out

    @cached_property
    def _index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def id_of(self, name: str) -> int:
        return self._index[name]

    def to_names(self, ids: Iterable[int]) -> list[str]:
        return [
            self.names[int(i)] if 0 <= int(i) < self.size else f"<invalid {int(i)}>" for i in ids
        ]

    @cached_property
    def kinds(self) -> np.ndarray:
        """The :class:`TokenKind` value of each id."""
        k = np.full(self.size, TokenKind.PAD, dtype=np.int8)
        k[EOS], k[BAR] = TokenKind.EOS, TokenKind.BAR
        k[self.beat : self.tempo] = TokenKind.BEAT
        k[self.tempo : self.family_start] = TokenKind.TEMPO
        c = self.config
        for r in self.families.values():
            k[r.pitch : r.pitch + c.pitch_count] = TokenKind.PITCH
            k[r.velocity : r.velocity + c.velocity_bins] = TokenKind.VELOCITY
            k[r.duration : r.duration + c.max_duration] = TokenKind.DURATION
        return k

    @cached_property
    def kind_list(self) -> list[TokenKind]:
        """:attr:`kinds` as a list of :class:`TokenKind` (for loops over single tokens)."""
        return [TokenKind(k) for k in self.kinds.tolist()]

    @cached_property
    def family_of_id(self) -> np.ndarray:
        """Family of each id (-1 for the shared tokens)."""
        out = np.full(self.size, -1, dtype=np.int8)
        out[self.family_start :] = (
            np.arange(self.size - self.family_start) // self.per_family
        ).astype(np.int8)
        return out

    @cached_property
    def value_of_id(self) -> np.ndarray:
        """The number in each token's name (position, tempo bin, pitch, velocity bin, duration)."""
        v = np.zeros(self.size, dtype=np.int16)
        c = self.config
        v[self.beat : self.tempo] = np.arange(c.subbeats_per_bar)
        v[self.tempo : self.family_start] = np.arange(c.tempo_bins)
        for r in self.families.values():
            v[r.pitch : r.pitch + c.pitch_count] = np.arange(c.pitch_count)
            v[r.velocity : r.velocity + c.velocity_bins] = np.arange(c.velocity_bins)
            v[r.duration : r.duration + c.max_duration] = np.arange(1, c.max_duration + 1)
        return v
