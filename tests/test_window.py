"""tokens/window: one truncation rule, and songs rebuilt bar by bar as the whole decode rebuilds them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from emostudio.midi import Note, Song, TempoChange, Track
from emostudio.midi.song import TICKS_PER_BAR, TICKS_PER_SUBBEAT, TimeSignature
from emostudio.tokens import Tokenizer, TokenizerConfig
from emostudio.tokens.vocab import PAD
from emostudio.tokens.window import SongBuilder, clip_to_bars, encode_window, fit_bar

TOKENIZER = Tokenizer(TokenizerConfig())
KINDS = TOKENIZER.vocab.kinds
SUB = TICKS_PER_SUBBEAT


def crossing_song() -> Song:
    """Four bars, 72 then 140 BPM: held notes that cross bar lines, a dense bar, a late family."""
    piano, strings = [], []
    for bar in range(4):
        t0 = bar * TICKS_PER_BAR
        for sub in range(0, 16, 1 if bar == 1 else 4):
            piano.append(Note(60 + sub % 5, t0 + sub * SUB, t0 + (sub + 3) * SUB, 80))
        piano.append(Note(48, t0 + 12 * SUB, t0 + 28 * SUB, 70))  # into the next bar
        piano.append(Note(48, t0 + 12 * SUB, t0 + 14 * SUB, 60))  # same start and pitch, shorter
    strings.append(Note(67, 2 * TICKS_PER_BAR + 8 * SUB, 3 * TICKS_PER_BAR + 4 * SUB, 90))
    return Song(
        tracks=(
            Track(48, False, "Strings").with_notes(strings),
            Track(2, False, "Piano").with_notes(piano),
        ),
        tempos=(TempoChange(0, 72.0), TempoChange(2 * TICKS_PER_BAR, 140.0)),
        time_signatures=(TimeSignature(0, 3, 4),),
        name="crossing",
    )


def whole_decode(bars: list[np.ndarray], template: Song | None) -> Song:
    """The engine's former rebuild: decode all bars at once, clip, reorder like the template."""
    song = TOKENIZER.decode(np.concatenate(bars), template=template).song
    song = clip_to_bars(song, len(bars))
    if template is None:
        return song
    order: dict = {}
    for i, track in enumerate(template.tracks):
        order.setdefault(track.family, i)
    tracks = sorted(song.tracks, key=lambda t: order.get(t.family, len(order)))
    return replace(song, tracks=tuple(tracks), tempos=template.slice_bars(0, len(bars)).tempos)


@pytest.mark.parametrize("with_template", [False, True])
def test_the_song_grows_bar_by_bar_as_the_whole_decode_rebuilds_it(with_template):
    song = crossing_song()
    template = song if with_template else None
    bars = TOKENIZER.encode_bars(song, song.n_bars)
    builder = SongBuilder(TOKENIZER, template)
    for n, bar in enumerate(bars, start=1):
        builder.add(bar)
        assert builder.song() == whole_decode(bars[:n], template), n
    # one note per (start, pitch, family) survives tokenising: the shorter of each pair goes
    assert builder.song().note_count == song.note_count - 4
    if with_template:
        assert [t.name for t in builder.song().tracks] == ["Strings", "Piano"]
        assert builder.song().time_signatures == song.time_signatures


def test_adding_a_bar_decodes_only_that_bar(monkeypatch):
    bars = TOKENIZER.encode_bars(crossing_song(), 4)
    seen: list[int] = []
    decode = Tokenizer.decode

    def counting(self, ids, template=None):
        seen.append(len(ids))
        return decode(self, ids, template)

    monkeypatch.setattr(Tokenizer, "decode", counting)
    builder = SongBuilder(TOKENIZER)
    for bar in bars:
        builder.add(bar)
        builder.song()
    assert seen == [len(b) for b in bars]


def test_a_long_bar_is_cut_after_its_last_whole_note():
    bar = TOKENIZER.encode_bars(crossing_song(), 4)[1]
    assert len(bar) > 40
    cut = fit_bar(bar, 40, KINDS)
    assert len(cut) <= 40 and KINDS[cut[-1]] == 7  # ends on a Duration
    assert cut.tolist() == bar[: len(cut)].tolist()
    assert len(cut) > 40 - 3  # no whole note more would have fitted (a note is 3 tokens)
    report = TOKENIZER.check(cut)
    assert report.ok, report.reasons
    assert fit_bar(bar, len(bar), KINDS) is bar  # a bar that fits is kept as it is
    assert fit_bar(bar, 2, KINDS).tolist() == bar[:2].tolist()  # Bar Tempo: the bar's tempo


def test_the_window_is_pad_filled_and_uses_the_cut():
    song = crossing_song()
    window = encode_window(TOKENIZER, [song, song.slice_bars(0, 2)], [4, 2], 40)
    assert window.shape == (2, 4, 40)
    for t, bar in enumerate(TOKENIZER.encode_bars(song, 4)):
        cut = fit_bar(bar, 40, KINDS)
        assert window[0, t, : len(cut)].tolist() == cut.tolist()
        assert (window[0, t, len(cut) :] == PAD).all()
    assert (window[1, 2:] == PAD).all()
