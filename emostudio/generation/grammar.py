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
"""

from __future__ import annotations

import torch

from emostudio.tokens.vocab import BAR, PAD, Vocabulary

# kinds, as in Vocabulary.kinds
K_BAR, K_BEAT, K_TEMPO, K_PITCH, K_VEL, K_DUR = 2, 3, 4, 5, 6, 7
N_FAMILIES = 5


class BarGrammar:
    """The grammar tables of one vocabulary on one device, and the batched state machine."""

    def __init__(self, vocab: Vocabulary, bar_len: int, device: torch.device | str = "cpu") -> None:
        self.vocab = vocab
        self.bar_len = bar_len
        self.device = torch.device(device)
        kinds = torch.as_tensor(vocab.kinds, dtype=torch.long, device=self.device)  # [V]
        fams = torch.as_tensor(vocab.family_of_id, dtype=torch.long, device=self.device)  # [V]
        values = torch.as_tensor(vocab.value_of_id, dtype=torch.long, device=self.device)  # [V]
        self.kinds, self.fams, self.values = kinds, fams, values
        self.tempo = kinds == K_TEMPO  # [V]
        self.end = torch.zeros(vocab.size, dtype=torch.bool, device=self.device)
        self.end[BAR] = True
        family_ids = torch.arange(N_FAMILIES, device=self.device)[:, None]  # [F, 1]
        self.pitch_of_family = (kinds == K_PITCH)[None] & (fams[None] == family_ids)  # [F, V]
        self.velocity_of_family = (kinds == K_VEL)[None] & (fams[None] == family_ids)  # [F, V]
        self.duration_of_family = (kinds == K_DUR)[None] & (fams[None] == family_ids)  # [F, V]
        positions = torch.arange(-1, vocab.config.subbeats_per_bar, device=self.device)[:, None]  # [S+1, 1]
        # beat_after[p + 1]: the Beat tokens strictly after position p
        self.beat_after = (kinds == K_BEAT)[None] & (values[None] > positions)  # [S+1, V]

    def start(self, batch: int, families: torch.Tensor | None = None,
              forced_tempo: torch.Tensor | None = None, need_note: torch.Tensor | None = None) -> "GrammarState":
        """The state of ``batch`` bars right after their ``Bar`` token.

        ``families`` bool[B, 5]: the families each row may use (default all); ``forced_tempo``
        long[B]: the Tempo token id each row must take (default: the model's choice);
        ``need_note`` bool[B]: rows whose bar may not end without a note."""
        dev = self.device
        if families is None:
            families = torch.ones(batch, N_FAMILIES, dtype=torch.bool, device=dev)
        pitch_ok = (families.to(dev).float() @ self.pitch_of_family.float()) > 0  # [B, V]
        if forced_tempo is None:
            tempo = self.tempo[None].expand(batch, -1)
        else:
            tempo = torch.zeros(batch, self.vocab.size, dtype=torch.bool, device=dev)
            tempo[torch.arange(batch, device=dev), forced_tempo.to(dev)] = True
        return GrammarState(
            kind=torch.full((batch,), K_BAR, dtype=torch.long, device=dev),
            pos=torch.full((batch,), -1, dtype=torch.long, device=dev),
            family=torch.zeros(batch, dtype=torch.long, device=dev),
            length=torch.ones(batch, dtype=torch.long, device=dev),
            done=torch.zeros(batch, dtype=torch.bool, device=dev),
            pitch_ok=pitch_ok,
            tempo=tempo,
            need_note=torch.zeros(batch, dtype=torch.bool, device=dev) if need_note is None else need_note.to(dev),
        )

    def allowed(self, s: "GrammarState") -> torch.Tensor:
        """bool[B, V]: the tokens each row may take next (a finished row: only PAD)."""
        L = self.bar_len
        kind = s.kind[:, None]  # [B, 1]
        room_note = (s.length + 3 <= L)[:, None]  # a Pitch, Velocity, Duration still fit
        room_beat = (s.length + 4 <= L)[:, None]  # ... with a Beat before them
        may_end_empty = (~s.need_note)[:, None] | ~room_beat
        after_tempo = room_beat & self.beat_after[0][None] | may_end_empty & self.end[None]
        after_duration = (room_note & s.pitch_ok) | (room_beat & self.beat_after[s.pos + 1]) | self.end[None]
        mask = (
            (kind == K_BAR) & s.tempo
            | (kind == K_TEMPO) & after_tempo
            | (kind == K_BEAT) & s.pitch_ok
            | (kind == K_PITCH) & self.velocity_of_family[s.family]
            | (kind == K_VEL) & self.duration_of_family[s.family]
            | (kind == K_DUR) & after_duration
        )
        mask[s.done] = False
        mask[s.done, PAD] = True
        return mask

    def advance(self, s: "GrammarState", tokens: torch.Tensor) -> None:
        """Take one token per row (long[B]); ``Bar`` ends a row's bar; finished rows ignore theirs."""
        live = ~s.done
        ended = live & (tokens == BAR)
        s.done |= ended
        step = live & ~ended
        kind = self.kinds[tokens]
        s.kind = torch.where(step, kind, s.kind)
        s.pos = torch.where(step & (kind == K_BEAT), self.values[tokens], s.pos)
        s.family = torch.where(step & (kind == K_PITCH), self.fams[tokens], s.family)
        s.length = s.length + step.long()


class GrammarState:
    """Per-row decoding state of one bar (all tensors [B] unless noted)."""

    def __init__(self, kind, pos, family, length, done, pitch_ok, tempo, need_note) -> None:
        self.kind = kind  # kind of the last token
        self.pos = pos  # position of the last Beat (-1 before any)
        self.family = family  # family of the note in progress
        self.length = length  # tokens in the bar so far, its Bar included
        self.done = done  # the bar has ended
        self.pitch_ok = pitch_ok  # [B, V] Pitch tokens of the row's allowed families
        self.tempo = tempo  # [B, V] the Tempo tokens the row may take
        self.need_note = need_note
