"""New bars around a piece's own: continue it, fill a span of it, interpolate between two pieces.

Continue and fill teacher-force the piece's last :data:`CONTEXT_BARS` bars before the new ones
(``DecodePlan.given``: the decoder's memory), decode only the new bars (``Batch.first``) and splice
them into the piece (:func:`~emostudio.generation.splice.replace_bars`), so every other bar keeps
its notes exactly. ``variations`` K are K rows of one batch. The engine validates the arguments;
these functions take them checked (``n``: the piece's bar count, ``k``: the variations).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from emostudio.decoding import MAX_VARIATIONS, DecodingSettings, EngineError
from emostudio.emotion import Emotion
from emostudio.evaluation.structure import bar_jumps
from emostudio.generation.batches import Batch, cadences, finish, given_bars, move, posterior
from emostudio.generation.decode import DecodePlan, template_plan
from emostudio.generation.form import cadence_kinds, plan_form
from emostudio.generation.latents import DIMENSIONS, blend, cycled
from emostudio.generation.splice import pedal_on, replace_bars
from emostudio.midi.song import Song
from emostudio.tokens.signatures import stated_keys

if TYPE_CHECKING:
    from emostudio.generation.engine import Engine

#: the piece's bars continue and fill take as context (a phrase): teacher-forced, and for continue
#: the latents its new bars go round
CONTEXT_BARS = 4
#: fill decodes this many candidates per result and keeps the one whose joins jump least
#: (:func:`seam_distance`)
FILL_CANDIDATES = 3
#: continue decodes this many candidates of its first new bar per result and keeps the one with
#: the smallest jumps at its join with the piece
CONTINUE_CANDIDATES = 3
#: continue's latents ramp from the piece's to the target's over this share of the new bars, then
#: hold the target (benchmarks/continue_emotion.py, 8 new bars: judged in the target's quadrant
#: 0.47 -> 0.62 on validation clips and 0.45 -> 0.65 on test clips against a ramp to the last bar,
#: the clips themselves 0.25; the joins' pitch jump from the 35th-42nd to the 44th-45th
#: percentile of real neighbouring bars', still under a typical join's 50th)
RAMP_SHARE = 0.5


def check_variations(variations: int) -> int:
    if isinstance(variations, bool) or not 1 <= int(variations) <= MAX_VARIATIONS:
        raise EngineError(f"variations must be in 1..{MAX_VARIATIONS} (got {variations})")
    return int(variations)


def continued(
    engine: Engine,
    song: Song,
    n: int,
    bars: int,
    target: Emotion | None,
    k: int,
    seed: int | None,
    s: DecodingSettings,
    candidates: int = CONTINUE_CANDIDATES,
) -> list[Song]:
    """:meth:`Engine.continue_piece <emostudio.generation.engine.Engine.continue_piece>`: the
    piece followed by ``bars`` new bars, ``k`` times (one batch).

    The piece's last :data:`CONTEXT_BARS` bars are the context: their tokens are teacher-forced
    (the decoder's memory) and their posterior means go round as the new bars' latents, moved
    from the piece's towards ``target`` (reaching it after :data:`RAMP_SHARE` of the new bars and
    holding it; ``None``: kept). The new bars keep the last bar's tempo and the piece's instrument
    families. With ``s.cadence``, the new bars that end a 4-bar phrase of the piece's bar grid
    cadence, and the last one on the tonic. The first new bar is decoded ``candidates`` times per
    result and the one whose join with the piece jumps least (:func:`seam_distance`) is kept; the
    other new bars follow it."""
    ctx = min(CONTEXT_BARS, n)
    with engine._decoding():
        tokens = engine._window([song], [n])
        # the context and the bar before it (its memory) are encoded, not the whole piece
        z0, z1 = piece_latents(engine, tokens[:, max(0, n - ctx - 1) :], target, s)
        z0, z1 = z0[-ctx:], z1[-ctx:]
        ramp = math.ceil(bars * RAMP_SHARE)
        weights = [min(1.0, (j + 1) / ramp) for j in range(bars)]
        new = blend(cycled(z0, bars), cycled(z1, bars), weights)
        z = torch.cat([z0, new])[None]
    shape = template_plan(tokens, [n], engine.tokenizer.vocab)
    assert shape.tempo is not None and shape.families is not None
    families = shape.families
    tempo = torch.cat([shape.tempo[0, n - ctx :], shape.tempo[0, n - 1].repeat(bars)])
    need = torch.zeros(ctx + bars, dtype=torch.bool)
    need[ctx:] = True
    ends = cadence_kinds(plan_form("none", n + bars))  # bar of the whole -> its cadence
    kinds = cadences(engine, {t - (n - ctx): c for t, c in ends.items() if t >= n}, s)
    context = given_bars(tokens[0], n - ctx, ctx)
    generator = engine._generator(seed)

    def decoded(given: list[dict], length: int) -> list[Song]:
        """The new bars of len(given) rows (each with its teacher-forced bars) up to bar
        ``length`` of the context and the new bars."""
        rows = len(given)
        plan = DecodePlan(
            tempo=tempo[None, :length].expand(rows, -1),
            families=families.expand(rows, -1),
            need_note=need[None, :length].expand(rows, -1),
            given=given,
            **kinds,
        )
        batch = Batch(z[:, :length].expand(rows, -1, -1), plan, [length] * rows, [song] * rows, ctx)
        return finish(engine, iter([(s, generator, batch)]))

    given = [context] * k
    if candidates > 1:
        firsts = [
            replace_bars(song, n, 1, part)
            for part in decoded([context] * (k * candidates), ctx + 1)
        ]
        kept = [
            min(firsts[i : i + candidates], key=lambda f: seam_distance(f, [n - 1]))
            for i in range(0, len(firsts), candidates)
        ]
        with engine._decoding():
            window = engine._window(kept, [n + 1] * k)
        given = [{**context, ctx: given_bars(row, n, 1)[0]} for row in window]
    return [
        stated_keys(pedal_on(replace_bars(song, n, bars, part), n, bars, s.pedal), n)
        for part in decoded(given, ctx + bars)
    ]


def filled(
    engine: Engine,
    song: Song,
    n: int,
    first: int,
    last: int,
    target: Emotion | None,
    k: int,
    seed: int | None,
    s: DecodingSettings,
    candidates: int,
) -> list[Song]:
    """:meth:`Engine.fill <emostudio.generation.engine.Engine.fill>`: the piece with bars
    ``first``..``last`` re-written, ``k`` times.

    Left side: its last :data:`CONTEXT_BARS` bars are teacher-forced (the decoder's memory). The
    new bars' latents move from the left neighbour's posterior mean to the right neighbour's
    (moved towards ``target`` when given); of ``candidates`` decodings per result the one with the
    smallest bar distance at its joins is kept. Tempo per bar and instrument families are the
    piece's."""
    m = last - first + 1
    ctx = min(CONTEXT_BARS, first)
    with engine._decoding():
        tokens = engine._window([song], [n])
        lo = max(0, first - ctx - 1)  # encoded: the context, its memory, the span, its right
        z0, z1 = piece_latents(engine, tokens[:, lo : last + 2], target, s)
        left = z1[first - 1 - lo] if first > 0 else None
        right = z1[last + 1 - lo] if last + 1 < n else None
        if left is None and right is None:
            new = z1[first - lo : last + 1 - lo]  # the whole piece: its own latents, moved
        else:
            a = left if left is not None else right
            b = right if right is not None else left
            assert a is not None and b is not None
            new = blend(a, b, [(j + 1) / (m + 1) for j in range(m)])
        rows = k * candidates
        z = torch.cat([z0[first - ctx - lo : first - lo], new])[None].expand(rows, -1, -1)
    shape = template_plan(tokens, [n], engine.tokenizer.vocab)
    assert shape.tempo is not None and shape.families is not None
    need = torch.zeros(ctx + m, dtype=torch.bool)
    need[ctx:] = True
    plan = DecodePlan(
        tempo=shape.tempo[:, first - ctx : last + 1].expand(rows, -1),
        families=shape.families.expand(rows, -1),
        need_note=need[None].expand(rows, -1),
        given=[given_bars(tokens[0], first - ctx, ctx)] * rows,
    )
    batch = Batch(z, plan, [ctx + m] * rows, [song] * rows, first=ctx)
    results = [
        replace_bars(song, first, m, part)
        for part in finish(engine, iter([(s, engine._generator(seed), batch)]))
    ]
    return [
        min(results[i : i + candidates], key=lambda f: seam_distance(f, [first - 1, last]))
        for i in range(0, rows, candidates)
    ]


def interpolated(
    engine: Engine,
    song_a: Song,
    n_a: int,
    song_b: Song,
    n_b: int,
    bars: int,
    k: int,
    seed: int | None,
    s: DecodingSettings,
) -> list[Song]:
    """:meth:`Engine.interpolate <emostudio.generation.engine.Engine.interpolate>`."""
    with engine._decoding():
        z_a = posterior(engine, engine._window([song_a], [n_a]))[0]
        z_b = posterior(engine, engine._window([song_b], [n_b]))[0]
        weights = [j / (bars - 1) if bars > 1 else 0.5 for j in range(bars)]
        z = blend(cycled(z_a, bars), cycled(z_b, bars), weights)[None].expand(k, -1, -1)
    lengths = [bars] * k
    batch = Batch(z.contiguous(), DecodePlan.free(lengths), lengths, [None] * k)
    return finish(engine, iter([(s, engine._generator(seed), batch)]))


def piece_latents(
    engine: Engine, tokens: torch.Tensor, target: Emotion | None, s: DecodingSettings
) -> tuple[torch.Tensor, torch.Tensor]:
    """A one-piece window's posterior means z [T, l], and them moved all the way to ``target``
    (the same when ``target`` is None)."""
    z0 = posterior(engine, tokens)[0]
    if target is None:
        return z0, z0
    targets = [[target] * tokens.shape[1]]
    return z0, move(engine, tokens, targets, 1.0, DIMENSIONS, s)[0]


#: what a typical join of two neighbouring bars of real music measures, per column of
#: :func:`~emostudio.evaluation.structure.bar_jumps` (bar distance, pitch jump in semitones,
#: polyphony jump in notes): the medians over EMOPIA's validation clips' 1,563 neighbouring bars
#: (benchmarks/realism.py --seams). A seam's jumps are counted in these units, so that a jump of
#: register weighs as much as a change of chroma and onsets.
TYPICAL_JUMPS = (0.41, 2.3, 0.8)


def seam_distance(song: Song, joins: Sequence[int]) -> float:
    """How far the song jumps at ``joins`` (row ``j``: between bars ``j`` and ``j + 1``; those
    outside the song are skipped): each join's :func:`~emostudio.evaluation.structure.bar_jumps`
    in units of :data:`TYPICAL_JUMPS`, summed."""
    jumps = bar_jumps(song)
    if jumps is None:
        return float("inf")
    return float(sum((jumps[j] / TYPICAL_JUMPS).sum() for j in joins if 0 <= j < len(jumps)))
