"""Key signatures that say what key the music is in, for notation programs and DAWs.

A piece read from a file keeps the key signatures it states (:class:`~emostudio.midi.song.KeySignature`)
wherever its notes are kept. Where the music is new or moved to the other mode, the signature
follows the key heard (:func:`~emostudio.tokens.features.bar_keys`):

- :func:`stated_keys`: music the model wrote (a generated piece, a rewrite, a continuation of a
  piece that states its key) is given its keys from a bar on: its first bar's key, then a
  signature where the key heard changes its number of sharps or flats (a move to the relative
  key states nothing new, and a continuation keeps the piece's signature until its key moves);
- :func:`parallel_keys`: bars a transfer moved to the other mode state its key in that mode
  (C major made minor: C minor), the piece's own signatures kept around them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

import numpy as np

from emostudio.midi.song import TICKS_PER_BAR, KeySignature, Song, key_changes, signature_at
from emostudio.tokens.features import bar_keys


def stated_keys(song: Song, first_bar: int = 0) -> Song:
    """``song`` with the keys of its bars from ``first_bar`` on stated as key signatures, its own
    signatures before that bar kept: bar ``first_bar`` keeps the signature in force before it
    unless its key heard has other accidentals than the bar before's. A piece that states no key
    before ``first_bar > 0`` (a continued piece without a signature) is returned as it is."""
    n_bars = song.n_bars
    before = signature_at(song.key_signatures, first_bar * TICKS_PER_BAR - 1) if first_bar else None
    if first_bar >= n_bars or (first_bar and before is None):
        return song
    heard = [
        KeySignature.of_key(b * TICKS_PER_BAR, int(k)) for b, k in enumerate(bar_keys(song, n_bars))
    ]
    want = _in_force(song, n_bars)
    for b in range(first_bar, n_bars):
        previous = want[b - 1] if b else None
        same = b > 0 and heard[b].sharps == heard[b - 1].sharps
        want[b] = previous if previous is not None and same else heard[b]
    return _restated(song, want, range(first_bar, n_bars))


def parallel_keys(song: Song, moved: Collection[int], keys: np.ndarray) -> Song:
    """``song`` with bars ``moved`` stating the parallel mode of their key ``keys[bar]`` (0-23,
    as :func:`~emostudio.tokens.features.bar_keys` numbers them); unchanged when the song states
    no key (a file without a signature gets none from a transfer)."""
    if not song.key_signatures or not moved:
        return song
    want = _in_force(song, len(keys))
    for b in moved:
        key = int(keys[b])
        want[b] = KeySignature.of_key(b * TICKS_PER_BAR, (key % 12) + (0 if key >= 12 else 12))
    return _restated(song, want, moved)


def _in_force(song: Song, n_bars: int) -> list[KeySignature | None]:
    """The signature in force at the start of each bar (``None`` before the first)."""
    return [signature_at(song.key_signatures, b * TICKS_PER_BAR) for b in range(n_bars)]


def _restated(song: Song, want: Sequence[KeySignature | None], changed: Collection[int]) -> Song:
    """``song`` whose bars ``changed`` state ``want[bar]``: a signature at each changed bar's start
    and the piece's own signature restated at the first unchanged bar after them (those that say
    nothing new are left out); the piece's signatures outside changed bars stay."""
    changed = set(changed)
    out = [k for k in song.key_signatures if k.tick // TICKS_PER_BAR not in changed]
    out += [
        KeySignature(b * TICKS_PER_BAR, k.sharps, k.minor)
        for b, k in enumerate(want)
        if k is not None and (b in changed or b - 1 in changed)
    ]
    kept = key_changes(out)
    return song if kept == song.key_signatures else replace(song, key_signatures=kept)
