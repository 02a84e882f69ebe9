"""Grammar-aware masking: which tokens may come next in a bar, for a batch of bars being decoded.

A bar is ``Bar Tempo (Beat (Pitch-f Velocity-f Duration-f)+)*`` (see :mod:`emostudio.tokens`).
While decoding, every row keeps the kind of its last token, the position of its last ``Beat``,
the family of a note in progress and how many tokens its bar holds; :meth:`BarGrammar.allowed`
turns that into a mask over the vocabulary:

- after ``Bar``: a ``Tempo`` (or the one tempo a row is forced to keep);
- after ``Tempo``: a ``Beat``, or the end of the bar (unless the bar must hold a note);
- after ``Beat``: a ``Pitch`` of an allowed family;
- after ``Pitch-f``: a ``Velocity-f``; after ``Velocity-f``: a ``Duration-f``;
- after ``Duration``: another ``Pitch`` at the same position, a ``Beat`` further on (positions
  never go backwards), or the end of the bar;
- a bar never exceeds ``bar_len`` tokens: a note is only started when its three tokens fit (four
  with its ``Beat``), so the bar ends on a complete note.

The end of a bar is the ``Bar`` token (the decoder predicts the next bar's ``Bar``); ``EOS`` is
never allowed (the caller decides how many bars a piece has).

The state lives in small Python lists (one entry per row) and each distinct situation's mask is
built once and cached: decoding one token then costs a dictionary lookup per row instead of a
dozen vocabulary-wide tensor operations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from emostudio.tokens.vocab import BAR, PAD, Vocabulary

# kinds, as in Vocabulary.kinds
K_BAR, K_BEAT, K_TEMPO, K_PITCH, K_VEL, K_DUR = 2, 3, 4, 5, 6, 7
N_FAMILIES = 5
ALL_FAMILIES = (1 << N_FAMILIES) - 1


class GrammarState:
    """Per-row decoding state of one bar (lists with one entry per row)."""

    def __init__(
        self, batch: int, families: list[int], tempo: list[int], need_note: list[bool]
    ) -> None:
        self.kind = [K_BAR] * batch  # kind of the last token
        self.pos = [-1] * batch  # position of the last Beat (-1 before any)
        self.family = [0] * batch  # family of the note in progress
        self.length = [1] * batch  # tokens in the bar so far, its Bar included
        self.done = [False] * batch  # the bar has ended
        self.families = families  # bit mask of the families a row may use
        self.tempo = tempo  # the Tempo token a row must take, or -1 (the model's choice)
        self.need_note = need_note  # the bar may not end without a note

    @property
    def all_done(self) -> bool:
        return all(self.done)


class BarGrammar:
    """The grammar tables of one vocabulary on one device, and the batched state machine."""

    def __init__(self, vocab: Vocabulary, bar_len: int, device: torch.device | str = "cpu") -> None:
        self.vocab = vocab
        self.bar_len = bar_len
        self.device = torch.device(device)
        kinds, fams, values = vocab.kinds, vocab.family_of_id, vocab.value_of_id
        self._kinds = kinds.tolist()
        self._fams = fams.tolist()
        self._values = values.tolist()
        self._tempo = kinds == K_TEMPO
        self._pitch = [(kinds == K_PITCH) & (fams == f) for f in range(N_FAMILIES)]
        self._velocity = [(kinds == K_VEL) & (fams == f) for f in range(N_FAMILIES)]
        self._duration = [(kinds == K_DUR) & (fams == f) for f in range(N_FAMILIES)]
        self._beat = kinds == K_BEAT
        self._cache: dict[tuple, torch.Tensor] = {}

    def start(
        self,
        batch: int,
        families: torch.Tensor | None = None,
        forced_tempo: torch.Tensor | None = None,
        need_note: torch.Tensor | None = None,
    ) -> GrammarState:
        """The state of ``batch`` bars right after their ``Bar`` token.

        ``families`` bool[B, 5]: the families each row may use (default all); ``forced_tempo``
        long[B]: the Tempo token id each row must take (default: the model's choice);
        ``need_note`` bool[B]: rows whose bar may not end without a note."""
        if families is None:
            bits = [ALL_FAMILIES] * batch
        else:
            weights = torch.tensor([1 << f for f in range(N_FAMILIES)])
            bits = (families.cpu().long() * weights).sum(dim=1).tolist()
        tempo = [-1] * batch if forced_tempo is None else [int(t) for t in forced_tempo.tolist()]
        need = [False] * batch if need_note is None else [bool(n) for n in need_note.tolist()]
        return GrammarState(batch, bits, tempo, need)

    def allowed(self, s: GrammarState) -> torch.Tensor:
        """bool[B, V]: the tokens each row may take next (a finished row: only PAD)."""
        rows = [self._mask(self._situation(s, i)) for i in range(len(s.kind))]
        return rows[0][None] if len(rows) == 1 else torch.stack(rows)

    def advance(self, s: GrammarState, tokens: Sequence[int]) -> None:
        """Take one token per row; ``Bar`` ends a row's bar; finished rows ignore theirs."""
        for i, token in enumerate(tokens):
            if s.done[i]:
                continue
            if token == BAR:
                s.done[i] = True
                continue
            kind = self._kinds[token]
            s.kind[i] = kind
            if kind == K_BEAT:
                s.pos[i] = self._values[token]
            elif kind == K_PITCH:
                s.family[i] = self._fams[token]
            s.length[i] += 1

    # ---- masks ----------------------------------------------------------------------------------
    def _situation(self, s: GrammarState, i: int) -> tuple:
        """Everything row ``i``'s next-token mask depends on, as a hashable key."""
        if s.done[i]:
            return ("done",)
        kind = s.kind[i]
        room_note = s.length[i] + 3 <= self.bar_len  # a Pitch, Velocity, Duration still fit
        room_beat = s.length[i] + 4 <= self.bar_len  # ... with a Beat before them
        if kind == K_BAR:
            return (kind, s.tempo[i])
        if kind == K_TEMPO:
            return (kind, room_beat, s.need_note[i])
        if kind == K_BEAT:
            return (kind, s.families[i])
        if kind in (K_PITCH, K_VEL):
            return (kind, s.family[i])
        return (kind, s.families[i], s.pos[i], room_note, room_beat)  # after a Duration

    def _mask(self, key: tuple) -> torch.Tensor:
        mask = self._cache.get(key)
        if mask is None:
            mask = torch.as_tensor(self._build(key), device=self.device)
            self._cache[key] = mask
        return mask

    def _build(self, key: tuple) -> np.ndarray:
        m = np.zeros(self.vocab.size, dtype=bool)
        kind = key[0]
        if kind == "done":
            m[PAD] = True
        elif kind == K_BAR:
            if key[1] >= 0:
                m[key[1]] = True
            else:
                m |= self._tempo
        elif kind == K_TEMPO:
            _, room_beat, need_note = key
            if room_beat:
                m |= self._beat
            if not need_note or not room_beat:
                m[BAR] = True
        elif kind == K_BEAT:
            m |= self._pitches(key[1])
        elif kind == K_PITCH:
            m |= self._velocity[key[1]]
        elif kind == K_VEL:
            m |= self._duration[key[1]]
        else:
            _, families, pos, room_note, room_beat = key
            if room_note:
                m |= self._pitches(families)
            if room_beat:
                m |= self._beat & (self.vocab.value_of_id > pos)
            m[BAR] = True
        return m

    def _pitches(self, families: int) -> np.ndarray:
        m = np.zeros(self.vocab.size, dtype=bool)
        for f in range(N_FAMILIES):
            if families >> f & 1:
                m |= self._pitch[f]
        return m
