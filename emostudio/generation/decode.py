"""The batched bar-by-bar decoder: latents [B, T, l] -> one token array per row and bar.

The decode loop's only contact with the model is :class:`ModelSteps` (the model's
``decoder_start`` / ``decoder_step`` / ``decoder_next_bar``): a faster decoder with the same three
calls is swapped in there. :class:`DecodePlan` holds the constraints of a batch (forced tempo per
bar, allowed instrument families, bars that must hold a note); :func:`template_plan` derives them
from a source piece's tokens so that a transfer keeps the source's shape.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from emostudio.generation.form import cadence_chord
from emostudio.generation.grammar import ALL_PITCH_CLASSES, BarGrammar, Choices
from emostudio.generation.sampling import sample_next
from emostudio.midi.families import Family
from emostudio.model import CDGMVAE
from emostudio.tokens.vocab import BAR, PAD, TokenKind, Vocabulary


class DecodeSteps(Protocol):
    """The three decoder calls the loop makes: :class:`ModelSteps` (the model's own) or
    :class:`emostudio.model.fast_decode.FastDecoder` (the same logits, faster)."""

    def start(self, batch: int) -> Any: ...

    def step(
        self,
        tokens: torch.Tensor,
        z_bar: torch.Tensor,
        state: Any,
        columns: tuple[int, int] | None = None,
    ) -> tuple[torch.Tensor, Any]:
        """logits [B, n, V] (or of token ids ``columns[0] .. columns[1] - 1`` only), state."""
        ...

    def next_bar(self, state: Any) -> Any: ...


@runtime_checkable
class RaggedSteps(DecodeSteps, Protocol):
    """Steps whose rows can each be at their own bar and slot
    (:class:`emostudio.model.fast_decode.FastDecoder`; see its ``RaggedState``)."""

    def ragged(self, state: Any) -> Any: ...

    def expand(self, state: Any, batch: int) -> Any: ...

    def step_ragged(
        self,
        tokens: torch.Tensor,
        z_bars: torch.Tensor,
        rs: Any,
        columns: tuple[int, int] | None = None,
    ) -> torch.Tensor: ...

    def feed_row(self, rs: Any, i: int, tokens: torch.Tensor, z_bar: torch.Tensor) -> None: ...

    def next_bar_row(self, rs: Any, i: int) -> None: ...

    def keep_rows(self, rs: Any, rows: list[int]) -> None: ...


class ModelSteps:
    """The model's own three decoder calls (the reference the fast decoder is tested against)."""

    def __init__(self, model: CDGMVAE) -> None:
        self.start = model.decoder_start
        self.next_bar = model.decoder_next_bar
        self._step = model.decoder_step

    def step(
        self,
        tokens: torch.Tensor,
        z_bar: torch.Tensor,
        state: Any,
        columns: tuple[int, int] | None = None,
    ) -> tuple[torch.Tensor, Any]:
        logits, state = self._step(tokens, z_bar, state)
        return (logits if columns is None else logits[..., columns[0] : columns[1]]), state


@dataclass(frozen=True)
class DecodePlan:
    """Constraints of a batch: ``tempo`` long[B, T] forced Tempo token per bar (None: the model
    picks the first bar's and, with ``hold_tempo``, it holds for every later bar); ``families``
    bool[B, 5] allowed instrument families (None: all); ``need_note`` bool[B, T] bars that must
    hold a note (None: none must).

    Teacher-forced bars (their tokens fed to the decoder instead of sampled, so the memory the
    next bar decodes with is that of those tokens): ``given`` per row, bar -> its tokens (a
    piece's context bars: continue, fill); ``repeats`` bar -> an earlier bar whose tokens, as this
    row decoded them, the bar repeats (a form's exact returns).

    Cadences: ``cadences`` bar -> its chord (``"tonic"`` or ``"dominant"``); that bar's pitched
    notes from sub-beat ``cadence_from`` on take the chord's pitch classes in the key of the row's
    bars so far (``pitch_class_of``: each Pitch token's pitch class, -1 for drums and other
    tokens; see :func:`~emostudio.generation.form.cadence_chord`)."""

    tempo: torch.Tensor | None = None
    families: torch.Tensor | None = None
    need_note: torch.Tensor | None = None
    hold_tempo: bool = True
    given: Sequence[Mapping[int, np.ndarray]] | None = None
    repeats: Mapping[int, int] = field(default_factory=dict)
    cadences: Mapping[int, str] = field(default_factory=dict)
    cadence_from: int = 0
    pitch_class_of: np.ndarray | None = None

    def forced(self, t: int, decoded: Sequence[Sequence[np.ndarray]]) -> list[np.ndarray | None]:
        """Each row's tokens for bar ``t`` if it is teacher-forced, else None (``decoded``: each
        row's bars so far)."""
        return [self.forced_row(i, t, bars) for i, bars in enumerate(decoded)]

    def forced_row(self, i: int, t: int, bars: Sequence[np.ndarray]) -> np.ndarray | None:
        """Row ``i``'s tokens for bar ``t`` if it is teacher-forced, else None (``bars``: the
        row's bars so far)."""
        tokens = None if self.given is None else self.given[i].get(t)
        if tokens is None and t in self.repeats:
            tokens = bars[self.repeats[t]]
        return tokens

    def bar_rules(self, i: int, t: int, bars: Sequence[np.ndarray]) -> tuple[int, bool, int, int]:
        """(the Tempo token row ``i``'s bar ``t`` must take or -1, whether it must hold a note,
        the pitch classes (12 bits) its pitched notes must take, the sub-beat from which they
        must); ``bars``: the row's bars so far (with ``hold_tempo``, its first bar's tempo holds).
        The arguments of :meth:`~emostudio.generation.grammar.GrammarState.restart`."""
        if self.tempo is not None:
            tempo = int(self.tempo[i, t])
        elif self.hold_tempo and bars:
            tempo = int(bars[0][1])  # every bar is "Bar Tempo ..."
        else:
            tempo = -1
        need_note = bool(self.need_note is not None and self.need_note[i, t])
        chord = None
        if t in self.cadences and self.pitch_class_of is not None:
            chord = cadence_chord(bars, self.pitch_class_of, self.cadences[t])
        if chord is None:
            return tempo, need_note, ALL_PITCH_CLASSES, 0
        return tempo, need_note, chord, self.cadence_from

    @classmethod
    def free(cls, lengths: Sequence[int]) -> DecodePlan:
        """No template: a note in every real bar of each row (row i has ``lengths[i]`` bars)."""
        need = torch.zeros(len(lengths), max(lengths), dtype=torch.bool)
        for i, n in enumerate(lengths):
            need[i, :n] = True
        return cls(need_note=need)


def template_plan(tokens: torch.Tensor, lengths: Sequence[int], vocab: Vocabulary) -> DecodePlan:
    """The constraints that keep each source's shape (``tokens`` long[B, T, L], row i with
    ``lengths[i]`` bars): its tempo per bar, its families, and a note in every bar that had one
    (and in its last bar, so the bar count holds)."""
    kinds = torch.as_tensor(vocab.kinds, dtype=torch.long, device=tokens.device)
    fams = torch.as_tensor(vocab.family_of_id, dtype=torch.long, device=tokens.device)
    b = tokens.shape[0]
    tempo = tokens[:, :, 1].clone()  # [B, T]: every real bar is "Bar Tempo ..."
    is_pitch = kinds[tokens] == TokenKind.PITCH  # [B, T, L]
    families = torch.zeros(b, len(Family), dtype=torch.bool, device=tokens.device)
    for f in Family:
        families[:, int(f)] = (is_pitch & (fams[tokens] == int(f))).flatten(1).any(dim=1)
    need = is_pitch.any(dim=2)  # [B, T]
    for i, n in enumerate(lengths):
        tempo[i, n:] = tempo[i, 0]
        need[i, n - 1] = True
        need[i, n:] = False
    return DecodePlan(tempo=tempo, families=families, need_note=need.cpu())


def decode_bars(
    steps: DecodeSteps,
    grammar: BarGrammar,
    z: torch.Tensor,
    plan: DecodePlan,
    temperature: float,
    top_p: float,
    generator: torch.Generator,
    scope: Callable[[], AbstractContextManager],
    cancel: threading.Event | None = None,
    lengths: Sequence[int] | None = None,
    bass: float = 0.0,
) -> Iterator[tuple[int, list[np.ndarray]]]:
    """Decode z [B, T, l] bar by bar; yield (t, one int32 token array per row for bar t).

    ``lengths``: each row's bar count (default T); a row may be decoded no further than its
    count, and its bars after it are then empty arrays.

    Each bar's tokens are sampled under the grammar's mask (with ``plan``'s constraints) at
    ``temperature`` and ``top_p``, with the bass bias ``bass`` (``DecodingSettings.bass``: the
    grammar's :attr:`~emostudio.generation.grammar.Choices.bias` times it; 0 for none).
    ``scope()`` wraps the decoding (the engine's lock, inference
    mode and thread count; released while the caller handles a bar). Stops (returns) at the next
    token boundary once ``cancel`` is set.

    The rows go in lock-step (every row at the same bar and slot) while all are teacher-forced
    and whenever the batch is one row or ``steps`` cannot go ragged (the model's reference
    steps); otherwise each row goes on at its own pace (:func:`_ragged_bars`), so a batch costs
    its longest row, not the sum of each bar's longest row. Teacher-forced bars that every row
    shares with the same latent (the context of continue's and fill's variations) are decoded
    once, in one row, until the rows part."""
    b, n_bars, _ = z.shape
    decoded: list[list[np.ndarray]] = [[] for _ in range(b)]
    ragged = steps if b > 1 and isinstance(steps, RaggedSteps) else None
    sampling = (temperature, top_p, bass)
    shared = ragged is not None  # the rows are one row so far (their state: one row)
    with scope():
        state = steps.start(1 if shared else b)
    for t in range(n_bars):
        forced = plan.forced(t, decoded)
        every_row_forced = all(f is not None for f in forced)
        if shared and not (every_row_forced and _one_row(forced, z[:, t])):
            assert ragged is not None
            with scope():
                state = ragged.expand(state, b)
            shared = False
        if shared:
            with scope():
                rows, state = _forced_bar(steps, forced[:1], z[:1, t], state)  # type: ignore[arg-type]
                state = steps.next_bar(state)
            shared_bar = np.asarray(rows[0], dtype=np.int32)
            bars = [shared_bar.copy() for _ in range(b)]  # each row its own, as in lock-step
            for row_bars, bar in zip(decoded, bars):
                row_bars.append(bar)
            yield t, bars
            continue
        if ragged is not None and not every_row_forced:
            start = (t, state, decoded, lengths or [n_bars] * b)
            yield from _ragged_bars(
                ragged, grammar, z, plan, start, sampling, generator, scope, cancel
            )
            return
        with scope():
            if every_row_forced:
                rows, state = _forced_bar(steps, forced, z[:, t], state)  # type: ignore[arg-type]
            else:
                rows, state = _sampled_bar(
                    steps,
                    grammar,
                    plan,
                    decoded,
                    forced,
                    z[:, t],
                    state,
                    t,
                    sampling,
                    generator,
                    cancel,
                )
            if rows is None:
                return
            state = steps.next_bar(state)
        bars = [np.asarray(row, dtype=np.int32) for row in rows]
        for row_bars, bar in zip(decoded, bars):
            row_bars.append(bar)
        yield t, bars


def _ragged_bars(
    steps: RaggedSteps,
    grammar: BarGrammar,
    z: torch.Tensor,
    plan: DecodePlan,
    start: tuple[int, Any, list[list[np.ndarray]], Sequence[int]],
    sampling: tuple[float, float, float],
    generator: torch.Generator,
    scope: Callable[[], AbstractContextManager],
    cancel: threading.Event | None,
) -> Iterator[tuple[int, list[np.ndarray]]]:
    """Bars ``t0 ..`` of every row, each row at its own pace: a row that ends its bar starts its
    next one at once (a teacher-forced bar fed in one step for that row alone), and a row whose
    piece is done leaves the batch. ``start``: (t0, the lock-step state after bar t0 - 1, each
    row's bars so far, each row's bar count). Yields bar t once every row has it (an empty array
    for a row whose piece is shorter)."""
    t0, state, decoded, counts = start
    b, n_bars, _ = z.shape
    empty = np.zeros(0, dtype=np.int32)
    rows = list(range(b))  # the batch's rows still decoding (their index in z)
    bar = [t0] * b  # each row's bar
    tokens: list[list[int]] = [[] for _ in range(b)]  # each row's bar so far (begin() starts it)
    emitted = t0  # the bars yielded so far

    def begin(p: int) -> None:
        """Batch row ``p`` is at the start of its bar: its teacher-forced bars fed, then its
        grammar set for the bar it samples (if any is left)."""
        i = rows[p]
        while bar[i] < counts[i]:
            forced = plan.forced_row(i, bar[i], decoded[i])
            if forced is None:
                g.restart(p, *plan.bar_rules(i, bar[i], decoded[i]))
                tokens[i] = [BAR]
                return
            feed = torch.as_tensor(np.asarray(forced, dtype=np.int64), device=z.device)
            steps.feed_row(rs, p, feed, z[i, bar[i]])
            steps.next_bar_row(rs, p)
            decoded[i].append(np.asarray(forced, dtype=np.int32))
            bar[i] += 1

    def drop_finished(feed: torch.Tensor) -> torch.Tensor:
        """Rows whose piece is done leave the batch; -> the feed of those left."""
        nonlocal rows
        keep = [p for p, i in enumerate(rows) if bar[i] < counts[i]]
        if len(keep) == len(rows):
            return feed
        steps.keep_rows(rs, keep)
        g.keep(keep)
        rows = [rows[p] for p in keep]
        return feed[keep]

    with scope():
        rs = steps.ragged(state)
        g = grammar.start(b, families=plan.families, bass=sampling[2] != 0)
        for p in range(b):
            begin(p)
        feed = drop_finished(torch.full((b,), BAR, dtype=torch.long, device=z.device))

    def ready() -> int:
        """The bars every row has (a finished row has them all)."""
        return min(n_bars if bar[i] >= counts[i] else len(decoded[i]) for i in range(b))

    z_bars = None
    while emitted < n_bars:
        with scope():
            done = ready() > emitted
            while not done:  # until a bar every row has is done
                if cancel is not None and cancel.is_set():
                    return
                if z_bars is None:  # some row changed bar: the rows' latents anew
                    z_bars = z[rows, [bar[i] for i in rows]]
                choices = grammar.choices(g)  # the logits of these columns only
                logits = steps.step_ragged(feed, z_bars, rs, (choices.lo, choices.hi))
                feed = _sample(logits, choices, sampling, generator, grammar.vocab.size)
                sampled = feed.tolist()
                grammar.advance(g, sampled)
                ended = False
                for p, (i, token) in enumerate(zip(rows, sampled)):
                    if not g.done[p]:
                        tokens[i].append(token)
                        continue
                    decoded[i].append(np.asarray(tokens[i], dtype=np.int32))
                    steps.next_bar_row(rs, p)
                    bar[i] += 1
                    begin(p)
                    feed[p] = BAR
                    ended = True
                if ended:  # some row changed bar or finished its piece
                    z_bars = None
                    feed = drop_finished(feed)
                    done = ready() > emitted
        while emitted < ready():
            yield emitted, [d[emitted] if emitted < len(d) else empty for d in decoded]
            emitted += 1


def _sample(
    logits: torch.Tensor,
    choices: Choices,
    sampling: tuple[float, float, float],
    generator: torch.Generator,
    vocab_size: int,
) -> torch.Tensor:
    """One token per row from ``logits`` [B, hi - lo] of ``choices``' columns: under its mask,
    its cadence groups and, scaled by the bass setting, its bias (``sampling``: temperature,
    top-p, bass)."""
    temperature, top_p, bass = sampling
    bias = None if choices.bias is None else choices.bias * bass
    return sample_next(
        logits,
        choices.mask,
        temperature,
        top_p,
        generator,
        choices.lo,
        vocab_size,
        choices.group,
        bias,
    )


def _one_row(forced: Sequence[np.ndarray | None], z_bar: torch.Tensor) -> bool:
    """Whether every row takes the same forced tokens with the same latent z_bar [B, l]."""
    first = forced[0]
    return (
        first is not None
        and all(f is not None and np.array_equal(f, first) for f in forced[1:])
        and bool((z_bar == z_bar[:1]).all())
    )


def _forced_bar(steps: DecodeSteps, forced: Sequence[np.ndarray], z_bar: torch.Tensor, state):
    """Every row teacher-forced: the bar's tokens fed in one step (PAD-filled to the longest)."""
    n = max(len(f) for f in forced)
    feed = torch.full((len(forced), n), PAD, dtype=torch.long, device=z_bar.device)
    for i, tokens in enumerate(forced):
        feed[i, : len(tokens)] = torch.as_tensor(np.asarray(tokens, dtype=np.int64))
    _, state = steps.step(feed, z_bar, state)
    return [[int(x) for x in tokens] for tokens in forced], state


def _sampled_bar(
    steps: DecodeSteps,
    grammar: BarGrammar,
    plan: DecodePlan,
    decoded: Sequence[Sequence[np.ndarray]],
    forced: Sequence[np.ndarray | None],
    z_bar: torch.Tensor,
    state,
    t: int,
    sampling: tuple[float, float, float],
    generator: torch.Generator,
    cancel: threading.Event | None,
):
    """Bar ``t`` of every row token by token (``decoded``: each row's bars so far): sampled
    under the grammar's mask (``sampling``: temperature, top-p and the bass bias), except in the rows of
    ``forced`` that have tokens, which take theirs (and end with them). -> (rows, state), or
    (None, state) once ``cancel`` is set."""
    b = z_bar.shape[0]
    device = z_bar.device
    g = grammar.start(b, families=plan.families, bass=sampling[2] != 0)
    for i, bars in enumerate(decoded):
        g.restart(i, *plan.bar_rules(i, t, bars))
    feed = torch.full((b, 1), BAR, dtype=torch.long, device=device)
    rows: list[list[int]] = [[BAR] for _ in range(b)]
    teach = [(i, f) for i, f in enumerate(forced) if f is not None]
    while True:
        if cancel is not None and cancel.is_set():
            return None, state
        choices = grammar.choices(g)  # the logits of these columns only
        logits, state = steps.step(feed, z_bar, state, (choices.lo, choices.hi))
        sampled = _sample(logits.select(1, -1), choices, sampling, generator, grammar.vocab.size)
        if teach:
            for i, f in teach:
                k = len(rows[i])
                sampled[i] = int(f[k]) if k < len(f) else BAR
        tokens = sampled.tolist()
        grammar.advance(g, tokens)
        if g.all_done:
            return rows, state
        for row, token, done in zip(rows, tokens, g.done):
            if not done:
                row.append(token)
        if any(g.done):
            tokens = [PAD if done else token for token, done in zip(tokens, g.done)]
            feed = torch.tensor(tokens, dtype=torch.long, device=device)[:, None]
        else:
            feed = sampled[:, None]
