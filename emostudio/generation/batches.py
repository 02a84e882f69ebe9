"""The engine's one decoding path: a :class:`Batch` (latents, constraints, templates) decoded bar
by bar (:func:`~emostudio.generation.decode.decode_bars`) into songs, streamed as
:class:`~emostudio.generation.results.BarEvent` s or finished as a list; a finished song states
the keys it is heard in (:func:`~emostudio.tokens.signatures.stated_keys`).

Also the batches of the plain calls (generate, decode given latents) and the tensor helpers every
call shares: a window of tokens on the model's device, posterior means, teacher-forced bars.
Each function takes the :class:`~emostudio.generation.engine.Engine` whose model, tokenizer,
prior and decoding scope (``engine._decoding``) it uses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from emostudio.decoding import DecodingSettings, EngineError, check_piece
from emostudio.emotion import Emotion
from emostudio.generation.decode import DecodePlan, decode_bars, template_plan
from emostudio.generation.form import (
    DEFAULT_KEY_PULL,
    DEFAULT_VARIATION,
    BarPlan,
    FormError,
    apply_form,
    cadence_kinds,
    plan_form,
)
from emostudio.generation.latents import moved_latents, target_latents, targets_per_bar
from emostudio.generation.results import BarEvent
from emostudio.midi.song import Song
from emostudio.tokens.signatures import stated_keys
from emostudio.tokens.vocab import PAD
from emostudio.tokens.window import SongBuilder

if TYPE_CHECKING:
    import threading

    from emostudio.generation.engine import Engine


@dataclass(frozen=True)
class Batch:
    """One batch for the decoder: latents, constraints, each row's bar count and template, and
    the first bar that goes into the result (the bars before it are teacher-forced context)."""

    z: torch.Tensor  # [B, T, l]
    plan: DecodePlan
    lengths: list[int]
    templates: list[Song | None]
    first: int = 0


#: a batch with the settings and the generator it decodes with
Job = tuple[DecodingSettings, torch.Generator, Batch]


# ---- decoding ------------------------------------------------------------------------------------
def decode_batch(
    engine: Engine,
    batch: Batch,
    settings: DecodingSettings,
    generator: torch.Generator,
    cancel: threading.Event | None = None,
) -> Iterator[tuple[int, list[SongBuilder]]]:
    """Decode a batch bar by bar; after bar t, yield (t, each row's song builder)."""
    builders = [
        SongBuilder(engine.tokenizer, template, settings.pedal) for template in batch.templates
    ]
    for t, rows in decode_bars(
        engine.steps,
        engine.grammar,
        batch.z,
        batch.plan,
        settings.temperature,
        settings.top_p,
        generator,
        engine._decoding,
        cancel,
        batch.lengths,
        bass=settings.bass,
    ):
        if t < batch.first:
            continue
        for builder, n, tokens in zip(builders, batch.lengths, rows):
            if t < n:
                builder.add(tokens)
        yield t, builders


def stream(
    engine: Engine, jobs: Iterator[Job], cancel: threading.Event | None
) -> Iterator[BarEvent]:
    """A batch of one as :class:`BarEvent` s: each bar decoded, then the song grown by it."""
    for settings, generator, batch in jobs:
        (total,) = batch.lengths
        for t, (builder,) in decode_batch(engine, batch, settings, generator, cancel):
            song = builder.song()
            yield BarEvent(t, total, stated_keys(song) if t == total - 1 else song)


def finish(engine: Engine, jobs: Iterator[Job]) -> list[Song]:
    """Every batch decoded to the end; the songs in order."""
    songs: list[Song] = []
    for settings, generator, batch in jobs:
        builders: list[SongBuilder] = []
        for _, builders in decode_batch(engine, batch, settings, generator):  # noqa: B007
            pass
        songs += [stated_keys(b.song()) for b in builders]
    return songs


def bar_events(result: Song, n_bars: int) -> Iterator[BarEvent]:
    """A finished result as one :class:`BarEvent` per bar (bars 0..t), the last one ``result`` itself."""
    for t in range(n_bars - 1):
        yield BarEvent(t, n_bars, result.slice_bars(0, t + 1))
    yield BarEvent(n_bars - 1, n_bars, result)


# ---- the plain calls' batches --------------------------------------------------------------------
def generate_batches(
    engine: Engine,
    targets: Sequence[Emotion | Sequence[Emotion]],
    bars: int,
    seed: int | None,
    s: DecodingSettings,
    batch_size: int,
    form: str = "none",
) -> Iterator[Job]:
    """Generate's batches: latents drawn for each piece's targets, laid out by ``form``."""
    per_piece = [targets_per_bar(t, bars) for t in targets]
    try:
        bar_plans = plan_form(form, bars, DEFAULT_VARIATION)
    except FormError as exc:
        raise EngineError(str(exc)) from exc
    repeats = {
        t: p.source for t, p in enumerate(bar_plans) if p.source is not None and p.variation == 0
    }
    generator = engine._generator(seed)
    for lo in range(0, len(per_piece), batch_size):
        chunk = per_piece[lo : lo + batch_size]
        with engine._decoding():
            z = draw(engine, chunk, generator, s)
        if form != "none":
            z = formed(z, bar_plans, engine.model.config.latent_r)
        lengths = [bars] * len(chunk)
        plan = dataclasses.replace(
            DecodePlan.free(lengths),
            repeats=repeats,
            **cadences(engine, cadence_kinds(bar_plans), s),
        )
        yield s, generator, Batch(z, plan, lengths, [None] * len(chunk))


def cadences(engine: Engine, kinds: dict[int, str], s: DecodingSettings) -> dict:
    """The cadence fields of a :class:`DecodePlan` for ``s.cadence``: the notes of each bar of
    ``kinds`` (bar -> its cadence's chord: ``form.cadence_kinds``) in its last ``s.cadence`` of a
    bar on that chord (none when it is 0)."""
    if s.cadence <= 0.0:
        return {}
    subbeats = engine.model.config.subbeats_per_bar
    return dict(
        cadences=kinds,
        cadence_from=round((1.0 - s.cadence) * subbeats),
        pitch_class_of=engine.pitch_class_of,
    )


def decode_batches(
    engine: Engine,
    latents: Sequence[tuple[np.ndarray, np.ndarray]],
    templates: Sequence[Song] | None,
    seed: int | None,
    s: DecodingSettings,
    batch_size: int,
) -> Iterator[Job]:
    """Given (z_r, z_k) pairs' batches; with ``templates``, constrained as a transfer of each."""
    lengths = [len(z_r) for z_r, _ in latents]
    if any(len(z_r) != len(z_k) or len(z_r) == 0 for z_r, z_k in latents):
        raise EngineError("each z_r and z_k need the same number of bars (at least one)")
    if templates is not None:
        for template, n in zip(templates, lengths):
            if check_piece(template) != n:
                raise EngineError(f"template has {template.n_bars} bars, latents have {n}")
    generator = engine._generator(seed)
    for lo in range(0, len(latents), batch_size):
        chunk, sizes = latents[lo : lo + batch_size], lengths[lo : lo + batch_size]
        z = np.zeros((len(chunk), max(sizes), engine.model.config.latent), dtype=np.float32)
        for i, (z_r, z_k) in enumerate(chunk):
            z[i, : sizes[i]] = np.concatenate([z_r, z_k], axis=1)
        z_t = torch.as_tensor(z, device=engine.model.device)
        if templates is None:
            yield s, generator, Batch(z_t, DecodePlan.free(sizes), sizes, [None] * len(chunk))
            continue
        sources = list(templates[lo : lo + batch_size])
        with engine._decoding():
            plan = template_plan(engine._window(sources, sizes), sizes, engine.tokenizer.vocab)
        yield s, generator, Batch(z_t, plan, sizes, list(sources))


# ---- latents and tokens --------------------------------------------------------------------------
def draw(
    engine: Engine, targets: list[list[Emotion]], generator: torch.Generator, s: DecodingSettings
) -> torch.Tensor:
    """:func:`~emostudio.generation.latents.target_latents` with the engine's model and prior."""
    return target_latents(
        engine.model,
        engine.fitted_prior,
        targets,
        generator,
        s.continuity,
        s.latent_temperature,
        s.rhythm_persistence,
        s.latent_draws,
    )


def move(
    engine: Engine,
    tokens: torch.Tensor,
    targets: list[list[Emotion]],
    strength: float,
    dims: tuple[str, ...],
    s: DecodingSettings,
) -> torch.Tensor:
    """:func:`~emostudio.generation.latents.moved_latents` with the engine's model and prior
    (the encoders' thread count)."""
    with engine._encoding():
        return moved_latents(
            engine.model, engine.fitted_prior, tokens, targets, strength, dims, s.latent_temperature
        )


def target_split(
    engine: Engine, targets: list[Emotion], generator: torch.Generator, s: DecodingSettings
) -> tuple[np.ndarray, np.ndarray]:
    """One piece's drawn latents as (z_r, z_k): what generate decodes (Engine.target_latents)."""
    with engine._decoding():
        z = draw(engine, [targets], generator, s)
    return split(z[0], engine.model.config.latent_r)


def formed(z: torch.Tensor, bar_plans: list[BarPlan], l_r: int) -> torch.Tensor:
    """z [B, T, l] following a form's bar plans (:func:`~emostudio.generation.form.apply_form`)."""
    rows = []
    for row in z.cpu().numpy():
        z_r, z_k = apply_form(row[:, :l_r], row[:, l_r:], bar_plans, DEFAULT_KEY_PULL)
        rows.append(np.concatenate([z_r, z_k], axis=1))
    return torch.as_tensor(np.stack(rows), device=z.device)


def posterior(engine: Engine, tokens: torch.Tensor) -> torch.Tensor:
    """The posterior means z [B, T, l] of a window (the encoders' thread count)."""
    with engine._encoding():
        post = engine.model.encode(tokens)
    return torch.cat([post.mu_r, post.mu_k], dim=-1)


def given_bars(bars: torch.Tensor, start: int, count: int) -> dict[int, np.ndarray]:
    """Bars ``start`` .. ``start + count - 1`` of a window row [T, L] as teacher-forced bars
    0 .. count - 1 (their PAD dropped)."""
    out = {}
    for j in range(count):
        row = bars[start + j].cpu().numpy()
        out[j] = row[row != PAD]
    return out


def split(z: torch.Tensor, l_r: int) -> tuple[np.ndarray, np.ndarray]:
    """z [T, l] -> (z_r, z_k) numpy arrays."""
    z_np = z.cpu().numpy()
    return z_np[:, :l_r], z_np[:, l_r:]
