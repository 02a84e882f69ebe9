"""Moving a piece: the transfer methods (edit, rewrite) and element transfer from a donor.

- **edit** (the shipped method): the rules of :mod:`emostudio.transform` edit the piece's own
  notes with :data:`~emostudio.generation.edit.EDIT_RULES` from the model's recognition of the
  source; with several :data:`~emostudio.generation.edit.EDIT_SCALES` the model, recognising each
  candidate, chooses (:mod:`emostudio.generation.edit` is its core); batched over pieces.
- **rewrite**: the piece's posterior means moved towards the target
  (:func:`~emostudio.generation.latents.moved_latents`), decoded with the piece as template.
- **element from a donor**: the donor's rhythm (z_r) or key (z_k) posterior means in place of
  the piece's, decoded with the piece as template.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from emostudio.decoding import DecodingSettings, EngineError, check_piece
from emostudio.emotion import Emotion
from emostudio.generation import edit
from emostudio.generation.batches import Batch, Job, move, split
from emostudio.generation.decode import template_plan
from emostudio.generation.edit import METHODS
from emostudio.generation.latents import check_transfer, targets_per_bar
from emostudio.midi.song import Song
from emostudio.transform import ALL_ELEMENTS, Element

if TYPE_CHECKING:
    from emostudio.generation.engine import Engine

log = logging.getLogger(__name__)

#: what ``transfer_element`` can take from a donor piece: its rhythm latents (z_r) or key latents (z_k)
DONOR_ELEMENTS = ("rhythm", "key")


def check_method(
    method: str, keep: Collection[Element], strength: float, dims: Sequence[str]
) -> tuple[str, frozenset[Element]]:
    """The method and the free elements; an :class:`EngineError` for a bad combination."""
    check_transfer(strength, dims)
    if method not in METHODS:
        raise EngineError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    kept = frozenset(keep)
    if method == "rewrite" and kept - {Element.TEMPO}:
        names = ", ".join(sorted(e.value for e in kept - {Element.TEMPO}))
        raise EngineError(f"a rewrite cannot keep {names}: use the edit method")
    return method, ALL_ELEMENTS - kept


def edited(
    engine: Engine,
    songs: Sequence[Song],
    targets: Sequence[Emotion | Sequence[Emotion]],
    strength: float,
    dims: tuple[str, ...],
    free: frozenset[Element],
) -> list[Song]:
    """The edit transfer: recognise, edit, steer; batched."""
    lengths = [check_piece(song) for song in songs]
    sources = [r.emotion for r in engine.recognise_many(songs)]
    per_bar = [targets_per_bar(t, n) for t, n in zip(targets, lengths)]
    candidates = [
        [
            edit.edit_per_bar(
                song, src, aim, strength, free, edit.scaled(edit.EDIT_RULES, scale), dims
            )
            for scale in edit.EDIT_SCALES
        ]
        for song, src, aim in zip(songs, sources, per_bar)
    ]
    # a piece whose candidates are all one song (nothing free, or nothing to move) needs no steer
    steered = [i for i, c in enumerate(candidates) if len({id(x) for x in c}) > 1]
    flat = [x for i in steered for x in candidates[i]]
    recognitions = iter(engine.recognise_many(flat)) if flat else iter(())
    out = [c[0] for c in candidates]
    for i in steered:
        recs = [next(recognitions) for _ in edit.EDIT_SCALES]
        choice = edit.choose(songs[i], candidates[i], edit.EDIT_SCALES, recs, per_bar[i], dims)
        log.debug(
            "edit transfer: scales %s (P %.3f, keep %.3f)",
            choice.scale,
            choice.p_target,
            choice.keep,
        )
        out[i] = choice.song
    return out


def rewrite_batches(
    engine: Engine,
    songs: Sequence[Song],
    targets: Sequence[Emotion | Sequence[Emotion]],
    strength: float,
    dims: Sequence[str],
    seed: int | None,
    s: DecodingSettings,
    batch_size: int,
) -> Iterator[Job]:
    """The rewrite's batches: each piece's moved latents, the piece as template."""
    dims = check_transfer(strength, dims)
    generator = engine._generator(seed)
    for lo in range(0, len(songs), batch_size):
        chunk = list(songs[lo : lo + batch_size])
        lengths = [check_piece(song) for song in chunk]
        per_bar = [targets_per_bar(t, n) for t, n in zip(targets[lo : lo + batch_size], lengths)]
        with engine._decoding():
            tokens = engine._window(chunk, lengths)
            z = move(engine, tokens, per_bar, strength, dims, s)
        plan = template_plan(tokens, lengths, engine.tokenizer.vocab)
        yield s, generator, Batch(z, plan, lengths, list(chunk))


def rewrite_latents(
    engine: Engine,
    song: Song,
    target: Emotion | Sequence[Emotion],
    strength: float,
    dims: Sequence[str],
    s: DecodingSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """The moved latents (z_r, z_k) a rewrite of ``song`` decodes (Engine.transfer_latents)."""
    n_bars = check_piece(song)
    targets = targets_per_bar(target, n_bars)
    dims = check_transfer(strength, dims)
    with engine._decoding():
        z = move(engine, engine._window([song], [n_bars]), [targets], strength, dims, s)
    return split(z[0], engine.model.config.latent_r)


def donor_latents(
    engine: Engine, song: Song, donor: Song, element: str
) -> tuple[np.ndarray, np.ndarray]:
    """``song``'s (z_r, z_k) with the ``donor``'s of ``element`` (its bars cycled, or cut, to the
    song's length)."""
    if element not in DONOR_ELEMENTS:
        raise EngineError(f"element must be one of {', '.join(DONOR_ELEMENTS)}, got {element!r}")
    n_bars = check_piece(song)
    mine, theirs = engine.encode(song), engine.encode(donor)
    cycle = np.arange(n_bars) % len(theirs.z_r)
    z_r = theirs.z_r[cycle] if element == "rhythm" else mine.z_r
    z_k = theirs.z_k[cycle] if element == "key" else mine.z_k
    return z_r, z_k
