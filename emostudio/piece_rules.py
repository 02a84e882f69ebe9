"""The rules for pieces the engine hears, shared by the app and the CLI (one place, one wording).

- **One bar count:** a piece has :attr:`Song.n_bars` bars (16 sub-beats each, enough to hold every
  note to its end): what the engine encodes, the app shows and ``analyze`` reports.
- **Long pieces:** a piece of more than :data:`LONG_PIECE_BARS` bars loads, plays and is analysed
  whole, but is heard (recognised) and transferred on its first :data:`LONG_PIECE_BARS` bars.
- **Unpitched pieces:** valence is heard in pitch (mode, key); a piece with no pitched notes (drums
  only) gets no valence judgement, only a note saying why.
- **Meter:** the model's bar is four quarter notes (EMOPIA's pop piano is in 4/4). A piece mostly
  in a meter whose beats do not group in twos (3/4, 6/8, 5/4, ...) loads and is heard, with a note
  that its bars here are not its own and that new bars come out in 4/4.
"""

from __future__ import annotations

from emostudio.decoding import LONG_PIECE_BARS
from emostudio.midi.song import Song, TimeSignature

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


def main_meter(song: Song) -> tuple[int, int]:
    """(numerator, denominator) of the time signature that covers most of the piece (MIDI's 4/4
    before the first one, and for a piece without any)."""
    sigs = list(song.time_signatures)
    if not sigs or sigs[0].tick > 0:
        sigs.insert(0, TimeSignature(0, 4, 4))
    end = song.end_tick
    spans: dict[tuple[int, int], int] = {}
    for sig, after in zip(sigs, [*sigs[1:], None]):
        stop = end if after is None else min(after.tick, end)
        meter = (sig.numerator, sig.denominator)
        spans[meter] = spans.get(meter, 0) + max(0, stop - sig.tick)
    return max(spans, key=lambda m: (spans[m], m == (4, 4)))


def meter_note(song: Song) -> str | None:
    """One line for a piece mostly in a meter that is not duple (see the module docstring);
    ``None`` for 4/4, 2/4, 2/2 and the like."""
    numerator, denominator = main_meter(song)
    if numerator & (numerator - 1) == 0:  # 1, 2, 4, 8 beats: whole bars of four beats
        return None
    return (
        f"in {numerator}/{denominator}: read in bars of four beats (bar numbers differ from "
        "your DAW's; new bars come out in 4/4)"
    )
