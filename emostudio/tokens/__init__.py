"""Song <-> event tokens, and the two emotion features.

Modules, in the order data passes through them:

- ``config``     :class:`TokenizerConfig` (frozen, versioned JSON)
- ``vocab``      :class:`Vocabulary`, derived from the config (923 tokens by default)
- ``tokenizer``  :class:`Tokenizer`: ``encode_bars``/``encode``, ``decode`` (never raises), ``check``,
  ``transpose``
- ``window``     a song as bars of at most L tokens (one truncation rule: ``fit_bar``), and bars
  of tokens back as a song (``SongBuilder``, ``song_from_bars``, ``clip_to_bars``)
- ``features``   polyphony per sub-beat (rhythm feature f_r) and key per bar (key feature f_k)
"""

from emostudio.tokens.config import ConfigError, TokenizerConfig
from emostudio.tokens.tokenizer import DecodeResult, GrammarReport, QuantisedNotes, Tokenizer
from emostudio.tokens.vocab import BAR, EOS, PAD, Vocabulary

__all__ = [
    "BAR",
    "EOS",
    "PAD",
    "ConfigError",
    "DecodeResult",
    "GrammarReport",
    "QuantisedNotes",
    "Tokenizer",
    "TokenizerConfig",
    "Vocabulary",
]
