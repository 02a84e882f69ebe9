"""Recognising a piece's emotion: q(y|z) of each bar's posterior mean and q(y|x) of the whole
piece (:class:`~emostudio.generation.results.Recognition`), and its posterior means with q(y|x)
(:class:`~emostudio.generation.results.Encoding`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from emostudio.decoding import check_piece
from emostudio.generation.results import Encoding, Recognition
from emostudio.midi.song import Song

if TYPE_CHECKING:
    from emostudio.generation.engine import Engine


def recognised(engine: Engine, songs: Sequence[Song], batch_size: int) -> list[Recognition]:
    """:meth:`Engine.recognise_many <emostudio.generation.engine.Engine.recognise_many>`."""
    out: list[Recognition] = []
    for lo in range(0, len(songs), batch_size):
        chunk = list(songs[lo : lo + batch_size])
        lengths = [check_piece(song) for song in chunk]
        with engine._decoding(), engine._encoding():
            post = engine.model.encode(engine._window(chunk, lengths))
            per_bar_r = engine.model.prior_r.q_y(post.mu_r)[..., 1].cpu().numpy()  # [B, T]
            per_bar_k = engine.model.prior_k.q_y(post.mu_k)[..., 1].cpu().numpy()
            q_r, q_k = engine.model.q_y(post)  # [B, K] each
        out += [
            Recognition(
                arousal=per_bar_r[i, :n].astype(np.float64),
                valence=per_bar_k[i, :n].astype(np.float64),
                overall_arousal=float(q_r[i, 1]),
                overall_valence=float(q_k[i, 1]),
            )
            for i, n in enumerate(lengths)
        ]
    return out


def encoded(engine: Engine, song: Song) -> Encoding:
    """:meth:`Engine.encode <emostudio.generation.engine.Engine.encode>`."""
    n_bars = check_piece(song)
    with engine._decoding(), engine._encoding():
        post = engine.model.encode(engine._window([song], [n_bars]))
        q_r, q_k = engine.model.q_y(post)
    return Encoding(
        z_r=post.mu_r[0].cpu().numpy(),
        z_k=post.mu_k[0].cpu().numpy(),
        q_arousal=q_r[0].cpu().numpy().astype(np.float64),
        q_valence=q_k[0].cpu().numpy().astype(np.float64),
    )
