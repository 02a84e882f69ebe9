"""The evaluation's only contact with the model: each stage reaches the engine through these
small functions (the engine's keyword arguments with the evaluation's seed and batch size), so a
change to the engine's signatures is a change here."""

from __future__ import annotations

import numpy as np

from emostudio.emotion import Emotion
from emostudio.evaluation.results import EvaluationSettings
from emostudio.midi.song import Song
from emostudio.transform import transform


def generate(engine, targets: list[int], s: EvaluationSettings, form: str = "none") -> list[Song]:
    return engine.generate_many(
        [Emotion.from_quadrant(q) for q in targets],
        bars=s.bars,
        seed=s.seed,
        batch_size=s.batch_size,
        form=form,
    )


def continue_piece(engine, song: Song, bars: int, s: EvaluationSettings) -> Song:
    return engine.continue_piece(song, bars, seed=s.seed)[0]


def fill(engine, song: Song, first: int, last: int, s: EvaluationSettings) -> Song:
    return engine.fill(song, first, last, seed=s.seed)[0]


def transfer(
    engine,
    songs: list[Song],
    targets: list[int],
    strength: float,
    s: EvaluationSettings,
    method: str = "edit",
) -> list[Song]:
    return engine.transfer_many(
        songs,
        [Emotion.from_quadrant(q) for q in targets],
        strength=strength,
        seed=s.seed,
        batch_size=s.batch_size,
        method=method,
    )


def rules(engine, songs: list[Song], targets: list[int], strength: float) -> list[Song]:
    """The plain rules (the baseline), the model's recognition as the source emotion."""
    heard = [r.emotion for r in engine.recognise_many(songs)]
    return [
        transform(song, src, Emotion.from_quadrant(q), strength)
        for song, src, q in zip(songs, heard, targets, strict=True)
    ]


def take_elements(
    engine, pairs: list[tuple[Song, Song]], element: str, s: EvaluationSettings
) -> list[Song]:
    """Each recipient with its donor's rhythm (z_r) or key (z_k) latents, donor bars cycled (the
    engine's ``transfer_element`` latents, decoded in batches)."""
    from emostudio.generation.transfer import donor_latents  # torch: imported when a model runs

    latents = [donor_latents(engine, a, b, element) for a, b in pairs]
    return engine.decode_many(
        latents, seed=s.seed, batch_size=s.batch_size, templates=[a for a, _ in pairs]
    )


def encode(engine, song: Song):
    return engine.encode(song)


def decode(engine, latents: list[tuple[np.ndarray, np.ndarray]], s: EvaluationSettings):
    return engine.decode_many(latents, seed=s.seed, batch_size=s.batch_size)
