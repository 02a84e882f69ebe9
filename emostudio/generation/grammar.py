"""Grammar-aware masking: which tokens may come next in a bar, for a batch of bars being decoded.

A bar is ``Bar Tempo (Beat (Pitch-f Velocity-f Duration-f)+)*``: the kinds that may come next are
those of the one token grammar, :data:`emostudio.tokens.vocab.FOLLOWS`. While decoding, every row keeps the kind of its last token, the position of its last ``Beat``,
the family of a note in progress and how many tokens its bar holds; :meth:`BarGrammar.allowed`
turns that into a mask over the vocabulary:

- after ``Bar``: a ``Tempo`` (or the one tempo a row is forced to keep);
- after ``Tempo``: a ``Beat``, or the end of the bar (unless the bar must hold a note);
- after ``Beat``: a ``Pitch`` of an allowed family;
- after ``Pitch-f``: a ``Velocity-f``; after ``Velocity-f``: a ``Duration-f``;
- after ``Duration``: another ``Pitch`` at the same position, a ``Beat`` further on (positions
  never go backwards), or the end of the bar;
- a bar never exceeds ``bar_len`` tokens: a note is only started when its three tokens fit (four
  with its ``Beat``), so the bar ends on a complete note;
- a row may be given pitch classes that its pitched notes (not drums) from a position on must
  take (a cadence: a phrase's last bar landing on its dominant or tonic triad).

With bass tracking on (``BarGrammar.start(..., bass=True)``) the state also marks where a bar's
bass goes: the first note of a bar's first onset (the onset's lowest: a chord's pitches go
upwards), and whether that note is in the bass register. Those situations carry a logit bias
(:attr:`Choices.bias`): the sampler adds ``DecodingSettings.bass`` times it, raising the bass
register's pitches for that note and, when it is in that register, its longer durations
(:data:`BASS_BIAS_BELOW`).

The end of a bar is the ``Bar`` token (the decoder predicts the next bar's ``Bar``); ``EOS`` is
never allowed (the caller decides how many bars a piece has).

Each mask is the union, over the kinds the table lets follow, of what this row may take of that
kind. The state lives in small Python lists (one entry per row) and each distinct situation's mask is
built once and cached: decoding one token then costs a dictionary lookup per row instead of a
dozen vocabulary-wide tensor operations (and a batch's stacked masks are cached too, by the rows'
situations).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import NamedTuple

import numpy as np
import torch

from emostudio.midi.families import Family
from emostudio.tokens.vocab import BAR, FOLLOWS, PAD, TokenKind, Vocabulary

N_FAMILIES = len(Family)
ALL_FAMILIES = (1 << N_FAMILIES) - 1
#: a 12-bit set of pitch classes (bit k: pitch class k) that allows every pitch
ALL_PITCH_CLASSES = (1 << 12) - 1

#: the register (MIDI pitches below it: C3) the bass bias raises for a bar's first note
BASS_BIAS_BELOW = 48
#: the bass bias on that note's Duration, per unit of log(duration in sub-beats), against the
#: bias on its pitch (1): a longer-held bass, as real music's (benchmarks/results/realism.md)
BASS_DURATION_BIAS = 0.5


class Bias(IntEnum):
    """A situation's logit bias (a row of :attr:`BarGrammar.biases`), scaled by the bass setting."""

    NONE = 0
    BASS_PITCH = 1  # the bar's first note: the bass register's pitches raised
    BASS_DURATION = 2  # that note, in the bass register: its longer durations raised


class GrammarState:
    """Per-row decoding state of one bar (lists with one entry per row)."""

    def __init__(
        self, batch: int, families: list[int], tempo: list[int], need_note: list[bool]
    ) -> None:
        self.kind = [TokenKind.BAR] * batch  # kind of the last token
        self.pos = [-1] * batch  # position of the last Beat (-1 before any)
        self.family = [0] * batch  # family of the note in progress
        self.length = [1] * batch  # tokens in the bar so far, its Bar included
        self.done = [False] * batch  # the bar has ended
        self.families = families  # bit mask of the families a row may use
        self.tempo = tempo  # the Tempo token a row must take, or -1 (the model's choice)
        self.need_note = need_note  # the bar may not end without a note
        # pitch classes (12 bits) a row's pitched notes must take from position ``cadence_from``
        self.pitch_classes = [ALL_PITCH_CLASSES] * batch
        self.cadence_from = [0] * batch
        # with bass tracking: the note in progress is its bar's first and in the bass register
        self.bass_note: list[bool] | None = None

    @property
    def all_done(self) -> bool:
        return all(self.done)

    def restart(
        self,
        i: int,
        tempo: int,
        need_note: bool,
        pitch_classes: int = ALL_PITCH_CLASSES,
        cadence_from: int = 0,
    ) -> None:
        """Row ``i`` starts a new bar (right after its ``Bar``): ``tempo`` the Tempo token it must
        take or -1, ``need_note`` whether the bar may not end without a note, ``pitch_classes``
        (12 bits) the pitch classes its pitched notes at positions ``cadence_from`` and later
        must take."""
        self.kind[i], self.pos[i], self.family[i] = TokenKind.BAR, -1, 0
        self.length[i], self.done[i] = 1, False
        self.tempo[i], self.need_note[i] = tempo, need_note
        self.pitch_classes[i], self.cadence_from[i] = pitch_classes, cadence_from
        if self.bass_note is not None:
            self.bass_note[i] = False

    def keep(self, rows: Sequence[int]) -> None:
        """Only ``rows`` go on (in this order)."""
        for name in (
            "kind",
            "pos",
            "family",
            "length",
            "done",
            "families",
            "tempo",
            "need_note",
            "pitch_classes",
            "cadence_from",
        ):
            values = getattr(self, name)
            setattr(self, name, [values[i] for i in rows])
        if self.bass_note is not None:
            self.bass_note = [self.bass_note[i] for i in rows]


class Situation(NamedTuple):
    """Everything a row's next-token mask depends on (fields that do not matter keep defaults)."""

    kind: TokenKind  # of the last token
    tempo: int = -1  # after Bar: the Tempo token the row must take, or -1
    families: int = 0  # bit mask of the families a new note may use
    family: int = 0  # the family of the note in progress
    pos: int = -1  # the position of the bar's last Beat
    room_note: bool = False  # a Pitch, Velocity, Duration still fit in the bar
    room_beat: bool = False  # ... with a Beat before them
    need_note: bool = False  # the bar may not end yet: it must hold a note and has none
    pitch_classes: int = ALL_PITCH_CLASSES  # the pitch classes a new pitched note may take
    bias: Bias = Bias.NONE  # the logit bias of the next token (with bass tracking)


DONE = "done"  # the situation of a row whose bar has ended


class Entry(NamedTuple):
    """A situation's mask (bool[V], on the device), the run ``lo .. hi - 1`` of ids that holds its
    allowed tokens (and its ``group``'s), its row in the grammar's table, the table row of the
    pitches its cadence chose among (-1: it restricts no pitch), and its logit bias."""

    mask: torch.Tensor
    lo: int
    hi: int
    row: int
    group: int
    bias: Bias


class Choices(NamedTuple):
    """What a batch may take next, as columns ``lo .. hi - 1`` of the vocabulary: ``mask``
    bool[B, hi - lo]; ``group`` bool[B, hi - lo], for rows whose pitches a cadence restricts,
    every pitch the row could have taken without it (the sampler gives the allowed pitches the
    probability of all of them, so that the cadence chooses which pitch, not whether a note comes),
    or None when no row's are; ``bias`` float[B, hi - lo], the rows' logit bias per unit of the
    bass setting (:class:`Bias`), or None when no row has one."""

    mask: torch.Tensor
    lo: int
    hi: int
    group: torch.Tensor | None
    bias: torch.Tensor | None = None


#: a row's situation as the plain tuple of a :class:`Situation`'s fields (the caches' key: cheaper
#: to make than the named tuple, and equal to it), or :data:`DONE`
SituationKey = tuple[TokenKind, int, int, int, int, bool, bool, bool, int, Bias] | str

#: at most this many batches' stacked masks are cached (each a few hundred bytes)
STACKS_CACHED = 4096


class BarGrammar:
    """The grammar tables of one vocabulary on one device, and the batched state machine."""

    def __init__(self, vocab: Vocabulary, bar_len: int, device: torch.device | str = "cpu") -> None:
        self.vocab = vocab
        self.bar_len = bar_len
        self.device = torch.device(device)
        kinds, fams, values = vocab.kinds, vocab.family_of_id, vocab.value_of_id
        self._kinds = vocab.kind_list
        self._fams = fams.tolist()
        self._values = values.tolist()
        self._tempo = kinds == TokenKind.TEMPO
        self._pitch = [(kinds == TokenKind.PITCH) & (fams == f) for f in range(N_FAMILIES)]
        self._velocity = [(kinds == TokenKind.VELOCITY) & (fams == f) for f in range(N_FAMILIES)]
        self._duration = [(kinds == TokenKind.DURATION) & (fams == f) for f in range(N_FAMILIES)]
        self._beat = kinds == TokenKind.BEAT
        self._pitch_class = values % 12  # of a Pitch token (its value is its MIDI pitch)
        pitched = (kinds == TokenKind.PITCH) & (fams != int(Family.DRUMS))
        bass_pitch = pitched & (values < BASS_BIAS_BELOW)
        self._bass_pitch = bass_pitch.tolist()
        log_duration = np.log(np.maximum(values, 1)) * (kinds == TokenKind.DURATION)
        #: each :class:`Bias`'s logits per unit of the bass setting (float[3, V], on the device)
        self.biases = torch.tensor(
            np.stack([0.0 * log_duration, bass_pitch, BASS_DURATION_BIAS * log_duration]),
            dtype=torch.float32,
            device=self.device,
        )
        # each situation's :class:`Entry`: its mask, the run of ids that holds its allowed
        # tokens, and its rows in ``_table`` (every mask so far, on the device, so that a batch's
        # masks are one ``index_select``; row 0 allows nothing)
        self._cache: dict[SituationKey, Entry] = {}
        self._table = torch.zeros(64, vocab.size, dtype=torch.bool, device=self.device)
        self._rows = 1
        # the rows' table rows -> their stacked choices (see ``choices``)
        self._stacks: dict[tuple[int, ...], Choices] = {}

    def start(
        self,
        batch: int,
        families: torch.Tensor | None = None,
        forced_tempo: torch.Tensor | None = None,
        need_note: torch.Tensor | None = None,
        bass: bool = False,
    ) -> GrammarState:
        """The state of ``batch`` bars right after their ``Bar`` token.

        ``families`` bool[B, 5]: the families each row may use (default all); ``forced_tempo``
        long[B]: the Tempo token id each row must take (default: the model's choice);
        ``need_note`` bool[B]: rows whose bar may not end without a note; ``bass``: track where
        the bars' bass goes (the situations then carry the bass bias)."""
        if families is None:
            bits = [ALL_FAMILIES] * batch
        else:
            weights = torch.tensor([1 << f for f in range(N_FAMILIES)])
            bits = (families.cpu().long() * weights).sum(dim=1).tolist()
        tempo = [-1] * batch if forced_tempo is None else [int(t) for t in forced_tempo.tolist()]
        need = [False] * batch if need_note is None else [bool(n) for n in need_note.tolist()]
        state = GrammarState(batch, bits, tempo, need)
        if bass:
            state.bass_note = [False] * batch
        return state

    def allowed(self, s: GrammarState) -> torch.Tensor:
        """bool[B, V]: the tokens each row may take next (a finished row: only PAD)."""
        rows = [self._entry(self._situation(s, i)) for i in range(len(s.kind))]
        if len(rows) == 1:
            return rows[0].mask[None]
        return self._stacked([e.row for e in rows], 0, self.vocab.size)

    def choices(self, s: GrammarState) -> Choices:
        """The columns ``lo .. hi - 1`` of :meth:`allowed` that hold every row's allowed tokens
        (and the pitches a cadence chose among): see :class:`Choices`. The vocabulary groups each
        kind (and each family's velocities and durations) in one run of ids, so after a ``Pitch``
        only a family's 32 velocities are looked at, after a ``Velocity`` its 16 durations: the
        decoder computes the logits of those columns only."""
        entries = [self._entry(self._situation(s, i)) for i in range(len(s.kind))]
        if len(entries) == 1:
            e = entries[0]
            group = None if e.group < 0 else self._table[e.group, None, e.lo : e.hi]
            bias = None if e.bias == Bias.NONE else self.biases[e.bias, None, e.lo : e.hi]
            return Choices(e.mask[None, e.lo : e.hi], e.lo, e.hi, group, bias)
        rows = tuple(e.row for e in entries)
        stacked = self._stacks.get(rows)
        if stacked is None:
            lo, hi = min(e.lo for e in entries), max(e.hi for e in entries)
            group = bias = None
            if any(e.group >= 0 for e in entries):
                group = self._stacked([max(e.group, 0) for e in entries], lo, hi)
            if any(e.bias != Bias.NONE for e in entries):
                index = torch.tensor([int(e.bias) for e in entries], device=self.device)
                bias = self.biases.index_select(0, index).narrow(1, lo, hi - lo)
            stacked = Choices(self._stacked(list(rows), lo, hi), lo, hi, group, bias)
            if len(self._stacks) < STACKS_CACHED:
                self._stacks[rows] = stacked
        return stacked

    def _stacked(self, rows: list[int], lo: int, hi: int) -> torch.Tensor:
        """The table ``rows``' columns ``lo .. hi - 1`` as bool[B, hi - lo] (one gather from the
        table: a fraction of stacking them)."""
        index = torch.from_numpy(np.array(rows)).to(self.device)
        return self._table.index_select(0, index).narrow(1, lo, hi - lo)

    def advance(self, s: GrammarState, tokens: Sequence[int]) -> None:
        """Take one token per row; ``Bar`` ends a row's bar; finished rows ignore theirs."""
        for i, token in enumerate(tokens):
            if s.done[i]:
                continue
            if token == BAR:
                s.done[i] = True
                continue
            kind = self._kinds[token]
            if kind == TokenKind.BEAT:
                s.pos[i] = self._values[token]
            elif kind == TokenKind.PITCH:
                s.family[i] = self._fams[token]
                if s.bass_note is not None:  # the bar's first note (Bar Tempo Beat Pitch)?
                    first = s.kind[i] == TokenKind.BEAT and s.length[i] == 3
                    s.bass_note[i] = first and self._bass_pitch[token]
            s.kind[i] = kind
            s.length[i] += 1

    # ---- masks ----------------------------------------------------------------------------------
    def _situation(self, s: GrammarState, i: int) -> SituationKey:
        """Row ``i``'s situation (a :class:`Situation`'s fields, in order), with only the fields
        its last token's kind needs (so that few distinct situations occur)."""
        if s.done[i]:
            return DONE
        kind = s.kind[i]
        every, none = ALL_PITCH_CLASSES, Bias.NONE
        if kind == TokenKind.BAR:
            return (kind, s.tempo[i], 0, 0, -1, False, False, False, every, none)
        # room for a Pitch, Velocity, Duration (+ 3); ... with a Beat before them (+ 4)
        length = s.length[i]
        if kind == TokenKind.TEMPO:
            room = length + 4 <= self.bar_len
            return (kind, -1, 0, 0, -1, False, room, s.need_note[i], every, none)
        if kind == TokenKind.PITCH:
            return (kind, -1, 0, s.family[i], -1, False, False, False, every, none)
        bass = s.bass_note
        if kind == TokenKind.VELOCITY:  # the Duration next: a bass note's longer
            bias = Bias.BASS_DURATION if bass is not None and bass[i] else none
            return (kind, -1, 0, s.family[i], -1, False, False, False, every, bias)
        # a new note (of a Beat, or another at a Duration's position) takes the row's pitch
        # classes from its cadence's position on
        pcs = s.pitch_classes[i] if s.pos[i] >= s.cadence_from[i] else every
        if kind == TokenKind.BEAT:  # a Beat is only placed where its note fits
            bias = Bias.BASS_PITCH if bass is not None and length == 3 else none  # the first
            return (kind, -1, s.families[i], 0, -1, True, False, False, pcs, bias)
        # after a Duration: the bar holds a note
        room_note, room_beat = length + 3 <= self.bar_len, length + 4 <= self.bar_len
        return (kind, -1, s.families[i], 0, s.pos[i], room_note, room_beat, False, pcs, none)

    def _entry(self, key: SituationKey) -> Entry:
        """The situation's mask and where it lies (built and cached the first time)."""
        entry = self._cache.get(key)
        if entry is None:
            situation = key if isinstance(key, str) else Situation(*key)
            mask = self._build(situation)
            group = -1
            ids = np.flatnonzero(mask)
            if isinstance(situation, Situation) and situation.pitch_classes != ALL_PITCH_CLASSES:
                free = self._build(situation._replace(pitch_classes=ALL_PITCH_CLASSES))
                pitches = free & (self.vocab.kinds == TokenKind.PITCH)
                group = self._add_row(pitches)
                ids = np.flatnonzero(mask | pitches)
            row = self._add_row(mask)
            bias = situation.bias if isinstance(situation, Situation) else Bias.NONE
            entry = Entry(self._table[row], int(ids[0]), int(ids[-1]) + 1, row, group, bias)
            self._cache[key] = entry
        return entry

    def _add_row(self, mask: np.ndarray) -> int:
        """A new row of the table holding ``mask``; -> its index."""
        row = self._rows
        if row == len(self._table):  # full: twice the rows (earlier masks: views of the old)
            self._table = torch.cat([self._table, torch.zeros_like(self._table)])
        self._table[row] = torch.as_tensor(mask, device=self.device)
        self._rows += 1
        return row

    def _build(self, key: Situation | str) -> np.ndarray:
        m = np.zeros(self.vocab.size, dtype=bool)
        if not isinstance(key, Situation):  # the bar has ended
            m[PAD] = True
            return m
        for follower in FOLLOWS[key.kind]:
            m |= self._may_take(follower, key)
        return m

    def _may_take(self, kind: TokenKind, s: Situation) -> np.ndarray:
        """The tokens of ``kind`` a row in situation ``s`` may take (the table allows the kind)."""
        none = np.zeros(self.vocab.size, dtype=bool)
        if kind == TokenKind.TEMPO:
            if s.tempo < 0:
                return self._tempo
            none[s.tempo] = True
            return none
        if kind == TokenKind.BEAT:
            return self._beat & (self.vocab.value_of_id > s.pos) if s.room_beat else none
        if kind == TokenKind.PITCH:
            return self._pitches(s.families, s.pitch_classes) if s.room_note else none
        if kind == TokenKind.VELOCITY:
            return self._velocity[s.family]
        if kind == TokenKind.DURATION:
            return self._duration[s.family]
        if kind == TokenKind.BAR:  # the end of the bar
            if not (s.need_note and s.room_beat):
                none[BAR] = True
            return none
        return none  # EOS: the caller decides how many bars a piece has

    def _pitches(self, families: int, pitch_classes: int = ALL_PITCH_CLASSES) -> np.ndarray:
        """The Pitch tokens of ``families`` (bit mask), those of the pitched families only in
        ``pitch_classes`` (12 bits; a drum's pitch is an instrument, never restricted)."""
        m = np.zeros(self.vocab.size, dtype=bool)
        pc_ok = (pitch_classes >> self._pitch_class) & 1 == 1
        for f in range(N_FAMILIES):
            if families >> f & 1:
                m |= self._pitch[f] if f == Family.DRUMS else self._pitch[f] & pc_ok
        return m
