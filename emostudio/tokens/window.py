"""A song as a window of bars of at most L tokens, and bars of tokens back as a song.

The model sees a piece as ``T`` bars of at most ``L`` (``bar_len``) tokens each. A longer bar is
cut by :func:`fit_bar`, the one truncation rule that training (``training/data.py``) and inference
(the engine) share: the bar keeps its longest prefix of at most ``L`` tokens that ends at a note
boundary (after a Duration, or after the bar's Tempo), so a cut bar holds only whole notes.

:class:`SongBuilder` goes the other way, one bar at a time: each bar is decoded on its own and the
song grows by that bar (notes end by the last bar), so streaming a piece costs one bar's decoding
per bar. With a template (transfer) the result keeps the template's track order, tempo map, time
signatures and name. :func:`song_from_bars` is the same for a finished list of bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from emostudio.midi.families import Family
from emostudio.midi.pedal import pedal_changes
from emostudio.midi.song import (
    TICKS_PER_BAR,
    ControlChange,
    Note,
    Song,
    TempoChange,
    Track,
    controls_in,
    texts_in,
)
from emostudio.tokens.tokenizer import Tokenizer
from emostudio.tokens.vocab import BAR, PAD, TokenKind

# token kinds, as in Vocabulary.kinds


def fit_bar(bar: np.ndarray, bar_len: int, kinds: np.ndarray) -> np.ndarray:
    """``bar`` cut to at most ``bar_len`` tokens at the last note boundary (after a Duration or the
    Tempo) within them; a bar that fits is returned as it is. A bar with no boundary in its first
    ``bar_len`` tokens (not a tokenizer's bar) is cut at ``bar_len``."""
    if len(bar) <= bar_len:
        return bar
    head = kinds[np.asarray(bar[:bar_len])]
    ends = np.flatnonzero((head == TokenKind.DURATION) | (head == TokenKind.TEMPO))
    return bar[: int(ends[-1]) + 1] if len(ends) else bar[:bar_len]


def encode_window(
    tokenizer: Tokenizer, songs: Sequence[Song], lengths: Sequence[int], bar_len: int
) -> np.ndarray:
    """int64[B, T_max, L]: the first ``lengths[i]`` bars of each song, each cut by
    :func:`fit_bar`, PAD-filled (T_max = max(lengths))."""
    out = np.full((len(songs), max(lengths), bar_len), PAD, dtype=np.int64)
    kinds = tokenizer.vocab.kinds
    for i, (song, n) in enumerate(zip(songs, lengths)):
        for t, bar in enumerate(tokenizer.encode_bars(song, n)):
            bar = fit_bar(bar, bar_len, kinds)
            out[i, t, : len(bar)] = bar
    return out


def clip_to_bars(song: Song, n_bars: int) -> Song:
    """The song with notes starting at or after bar ``n_bars`` dropped and the rest ending by it."""
    end = n_bars * TICKS_PER_BAR
    tracks = []
    for track in song.tracks:
        notes = [replace(n, end=min(n.end, end)) for n in track.notes if n.start < end]
        if notes:
            tracks.append(track.with_notes(notes))
    return song.with_tracks(tracks)


class SongBuilder:
    """Bars of tokens (each ``Bar Tempo ...``, as the decoder writes them) -> the song so far.

    :meth:`add` decodes only the new bar; :meth:`song` assembles the bars so far with every note
    ending by the last bar. The result is the song :meth:`Tokenizer.decode` makes of all the bars
    at once, clipped to them; with a template, in the template's track order and with its tempo
    map, time signatures, name and each track's controller changes. Without a template and with
    ``pedal``, its piano part is pedalled (:mod:`emostudio.midi.pedal`)."""

    def __init__(
        self, tokenizer: Tokenizer, template: Song | None = None, pedal: bool = False
    ) -> None:
        self.tokenizer = tokenizer
        self.template = template
        self.pedal = pedal
        self.n_bars = 0
        # per family: the notes of each bar so far, in tokenizer order (start, pitch, end), unclipped
        self._bars: dict[int, list[list[Note]]] = {}
        self._bases: dict[int, Track] = {}  # per family: its track without notes
        self._settled: dict[int, tuple[Note, ...]] = {}  # per family: bars that no clip changes
        self._n_settled = 0  # bars in _settled
        self._tempos: list[TempoChange] = []
        order: dict[Family, int] = {}
        if template is not None:
            for i, track in enumerate(template.tracks):
                order.setdefault(track.family, i)
        self._order = order

    def add(self, bar: np.ndarray) -> None:
        """Append one bar of tokens."""
        t = self.n_bars
        decoded = self.tokenizer.decode(bar, template=self.template).song
        offset = t * TICKS_PER_BAR
        for track in decoded.tracks:
            fam = int(track.family)
            if fam not in self._bases:
                self._bases[fam] = replace(track, notes=())
                self._bars[fam] = [[] for _ in range(t)]
                self._settled[fam] = ()
            self._bars[fam].append(
                [Note(n.pitch, n.start + offset, n.end + offset, n.velocity) for n in track.notes]
            )
        for bars in self._bars.values():
            if len(bars) == t:
                bars.append([])
        bpm = self._bar_tempo(bar)
        if bpm is not None and (not self._tempos or self._tempos[-1].bpm != bpm):
            self._tempos.append(TempoChange(offset, bpm))
        self.n_bars = t + 1

    def _bar_tempo(self, bar: np.ndarray) -> float | None:
        """The bpm of the bar's Tempo token when it follows its Bar (as Tokenizer.decode reads it)."""
        vocab = self.tokenizer.vocab
        ids = [int(i) for i in np.asarray(bar).ravel() if int(i) != PAD]
        if len(ids) < 2 or ids[0] != BAR or not 0 <= ids[1] < vocab.size:
            return None
        if vocab.kinds[ids[1]] != TokenKind.TEMPO:
            return None
        return self.tokenizer.config.tempo_of_bin(int(vocab.value_of_id[ids[1]]))

    def song(self) -> Song:
        """The bars so far as a song, every note ending by the last bar."""
        end = self.n_bars * TICKS_PER_BAR
        self._settle(end)
        tracks = []
        for fam in sorted(self._bars):
            tail: list[Note] = []
            for bar_notes in self._bars[fam][self._n_settled :]:
                clipped = [n if n.end <= end else replace(n, end=end) for n in bar_notes]
                tail += sorted(clipped, key=lambda n: (n.start, n.pitch, n.end))
            notes = self._settled[fam] + tuple(tail)
            if notes:
                tracks.append(
                    replace(self._bases[fam], notes=notes, controls=self._controls(fam, notes, end))
                )
        if self.template is not None:
            tracks.sort(key=lambda tr: self._order.get(tr.family, len(self._order)))
            return Song(
                tracks=tuple(tracks),
                tempos=self._template_tempos(end),
                time_signatures=self.template.time_signatures,
                name=self.template.name,
                texts=texts_in(self.template.texts, 0, end),
            )
        tempos = list(self._tempos)
        if not tempos or tempos[0].tick != 0:
            tempos.insert(0, TempoChange(0, tempos[0].bpm if tempos else 120.0))
        return Song(tracks=tuple(tracks), tempos=tuple(tempos))

    def _controls(self, fam: int, notes: tuple[Note, ...], end: int) -> tuple[ControlChange, ...]:
        """The controller changes of family ``fam``'s track up to ``end``: with a template, its
        track's (a rewrite keeps the piece's pedalling and volumes); without, for a piano part
        when ``pedal`` is set, the sustain pedal for ``notes`` (:mod:`emostudio.midi.pedal`)."""
        if self.template is None:
            if self.pedal and fam == int(Family.PIANO):
                return tuple(pedal_changes(notes, 0, end))
            return ()
        if Family(fam) not in self._order:
            return ()
        return controls_in(self.template.tracks[self._order[Family(fam)]].controls, 0, end)

    def _settle(self, end: int) -> None:
        """Move the leading bars whose notes all end by ``end`` into ``_settled`` (no later clip
        changes them)."""
        while self._n_settled < self.n_bars and all(
            all(n.end <= end for n in bars[self._n_settled]) for bars in self._bars.values()
        ):
            t = self._n_settled
            for fam, bars in self._bars.items():
                self._settled[fam] += tuple(bars[t])
            self._n_settled += 1

    def _template_tempos(self, end: int) -> tuple[TempoChange, ...]:
        """The template's tempo map cut to ``end`` (as ``Song.slice_bars(0, n)`` keeps it)."""
        tpl = self.template
        assert tpl is not None
        return (TempoChange(0, tpl.bpm_at(0)), *(c for c in tpl.tempos if 0 < c.tick < end))


def song_from_bars(
    tokenizer: Tokenizer,
    bars: Sequence[np.ndarray],
    template: Song | None = None,
    pedal: bool = False,
) -> Song:
    """Bars of tokens -> a song (:class:`SongBuilder` fed all of them)."""
    builder = SongBuilder(tokenizer, template, pedal)
    for bar in bars:
        builder.add(bar)
    return builder.song()
