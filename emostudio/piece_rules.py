"""The rules for pieces the engine hears, shared by the app and the CLI (one place, one wording).

- **One bar count:** a piece has :attr:`Song.n_bars` bars (16 sub-beats each, enough to hold every
  note to its end): what the engine encodes, the app shows and ``analyze`` reports.
- **Long pieces:** a piece of more than :data:`LONG_PIECE_BARS` bars loads, plays and is analysed
  whole, but is heard (recognised) and transferred on its first :data:`LONG_PIECE_BARS` bars.
- **Unpitched pieces:** valence is heard in pitch (mode, key); a piece with no pitched notes (drums
  only) gets no valence judgement, only a note saying why.
"""

from __future__ import annotations

from emostudio.decoding import LONG_PIECE_BARS
from emostudio.midi.song import Song

UNPITCHED_NOTE = "no pitched notes (drums only): drums carry no key, so valence is not judged"


def first_bars(song: Song, n: int) -> Song:
    """``song`` itself when it has at most ``n`` bars, else its first ``n``."""
    return song.slice_bars(0, n) if song.n_bars > n else song


def heard_part(song: Song) -> Song:
    """The part of ``song`` the engine hears and transfers: its first LONG_PIECE_BARS bars."""
    return first_bars(song, LONG_PIECE_BARS)


def long_piece_note(name: str, n_bars: int) -> str | None:
    """One line for a long piece, naming it (a file name); ``None`` when it is not long."""
    if n_bars <= LONG_PIECE_BARS:
        return None
    return f"{name} has {n_bars} bars: its first {LONG_PIECE_BARS} are heard and transferred"


def is_unpitched(song: Song) -> bool:
    """Whether ``song`` has notes but none with a pitch (only drum tracks)."""
    return song.note_count > 0 and all(t.is_drum for t in song.tracks if t.notes)
