"""A folder of MIDI files -> a compact training cache of tokens, features, labels and splits.

Modules, in the order data passes through them:

- ``sources``  which files a folder holds (``manifest.csv`` with labels and song ids, or every
  ``.mid``/``.midi``, unlabelled, song id = file stem)
- ``prepare``  :func:`prepare`: a generator of progress events that tokenises new or changed files
  on worker processes and writes the cache (``emostudio prepare DATA_DIR --out CACHE_DIR``)
- ``split``    song-level 8:1:1 split, stratified by quadrant, keeping duplicate groups together
- ``cache``    :func:`load_cache`, the one reader

Cache layout (``CACHE_DIR``)::

    files/<sha256>.npz   one result per distinct input file (tokens per bar, features, or the reason
                         it was rejected) - what makes a second run only process new/changed files
    arrays.npz           the consolidated arrays (no pickle)
    cache.json           format_version, tokenizer config, feature settings, split_seed,
                         pieces (the piece table), rejected [{path, reason}], report

``arrays.npz``:

- ``tokens``            int16[n_tokens_total]: all bars of all pieces, concatenated
- ``bar_offsets``       int64[n_bars_total + 1]: bar b is ``tokens[bar_offsets[b]:bar_offsets[b+1]]``
                        (each bar starts with ``Bar``, then ``Tempo_*``; no ``EOS`` is stored)
- ``piece_bar_offsets`` int64[n_pieces + 1]: piece i owns bars ``piece_bar_offsets[i]:[i+1]``
- ``polyphony``         uint8[n_bars_total, 16]: pitched notes sounding per sub-beat
- ``key``               int8[n_bars_total]: key per bar, 0-11 major C..B, 12-23 minor C..B

Reading it::

    from emostudio.corpus import load_cache
    cache = load_cache("cache/corpus")          # CacheError if missing, damaged or another version
    cache.tokenizer_config                      # TokenizerConfig -> Tokenizer(cache.tokenizer_config)
    for i in cache.split_indices("train"):      # int64 array of piece indices
        info = cache.pieces[i]                  # PieceInfo: path, song_id, source, split,
                                                #   quadrant 1-4|None, valence ±1|None, arousal ±1|None,
                                                #   n_bars, n_tokens, seconds, sha256
        bars = cache.bars(i)                    # list of int16 arrays, one per bar
        poly = cache.polyphony(i)               # uint8[n_bars, 16]
        keys = cache.keys(i)                    # int8[n_bars]

The flat arrays are also attributes (``tokens``, ``bar_offsets``, ``piece_bar_offsets``,
``polyphony_all``, ``key_all``) for vectorised sampling; ``report`` and ``rejected`` hold the last
run's report.
"""

from emostudio.corpus.cache import CacheError, CorpusCache, PieceInfo, load_cache
from emostudio.corpus.prepare import Finished, PrepareReport, prepare
from emostudio.corpus.sources import CorpusError, SourceFile, discover, emopia_song_id
from emostudio.corpus.split import NEAR_DUPLICATE_GROUPS, SPLITS, assign_splits
from emostudio.progress import Progress

__all__ = [
    "NEAR_DUPLICATE_GROUPS",
    "SPLITS",
    "CacheError",
    "CorpusCache",
    "CorpusError",
    "Finished",
    "PieceInfo",
    "PrepareReport",
    "Progress",
    "SourceFile",
    "assign_splits",
    "discover",
    "emopia_song_id",
    "load_cache",
    "prepare",
]
