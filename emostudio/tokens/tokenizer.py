"""Song <-> event tokens (MODEL.md section 1), a grammar check and token-level transposition.

A bar is ``Bar Tempo_t (Beat_p (Pitch-f_x Velocity-f_v Duration-f_d)+)*``: every bar carries its
tempo, so any window of bars stands alone. Notes sit on a grid of 16 sub-beats per bar (120 ticks
each), are ordered by position, family, pitch, and last 1-16 sub-beats. A piece ends with ``EOS``.

:meth:`Tokenizer.decode` never raises on a malformed sequence: it skips what does not fit the
grammar (:data:`emostudio.tokens.vocab.FOLLOWS`) and reports how many tokens it skipped (a model's
output is not trusted). It tolerates two omissions that lose nothing: a bar without its Tempo (the
tempo carries on) and a Beat without notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emostudio.midi.families import Family
from emostudio.midi.song import (
    TICKS_PER_SUBBEAT,
    Note,
    Song,
    TempoChange,
    TimeSignature,
    Track,
)
from emostudio.tokens.config import TokenizerConfig
from emostudio.tokens.vocab import (
    BAR,
    EOS,
    FOLLOWS,
    NOTE_CONTINUATIONS,
    PAD,
    TokenKind,
    Vocabulary,
)


@dataclass(frozen=True)
class QuantisedNotes:
    """A song's notes on the grid, one row each, sorted by (onset, family, pitch).

    ``onset`` and ``duration`` are in sub-beats; ``velocity`` is the velocity bin."""

    family: np.ndarray
    pitch: np.ndarray
    onset: np.ndarray
    duration: np.ndarray
    velocity: np.ndarray

    def __len__(self) -> int:
        return len(self.pitch)

    def as_set(self) -> set[tuple[int, int, int, int]]:
        """{(family, pitch, onset, duration)}: what a round trip must keep."""
        return set(
            zip(
                self.family.tolist(),
                self.pitch.tolist(),
                self.onset.tolist(),
                self.duration.tolist(),
            )
        )


@dataclass
class DecodeResult:
    song: Song
    n_tokens: int
    n_skipped: int  # tokens that did not fit the grammar and were ignored
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def n_notes(self) -> int:
        return self.song.note_count


@dataclass(frozen=True)
class GrammarReport:
    n_tokens: int
    n_invalid: int
    n_bars: int
    n_notes: int
    reasons: dict[str, int]

    @property
    def ok(self) -> bool:
        return self.n_invalid == 0


class Tokenizer:
    def __init__(self, config: TokenizerConfig | None = None) -> None:
        self.config = config or TokenizerConfig()
        self.vocab = Vocabulary(self.config)

    # ---- encoding ------------------------------------------------------------------------------
    def quantise(self, song: Song) -> QuantisedNotes:
        c = self.config
        rows = []
        for track in song.tracks:
            if not track.notes:
                continue
            fam = int(track.family)
            arr = np.array(
                [(n.pitch, n.start, n.end, n.velocity) for n in track.notes], dtype=np.int64
            )
            onset = np.rint(arr[:, 1] / TICKS_PER_SUBBEAT).astype(np.int64)
            dur = np.clip(
                np.rint((arr[:, 2] - arr[:, 1]) / TICKS_PER_SUBBEAT), 1, c.max_duration
            ).astype(np.int64)
            vel = np.minimum(c.velocity_bins - 1, arr[:, 3] * c.velocity_bins // 128)
            pitch = np.clip(arr[:, 0], 0, c.pitch_count - 1)
            rows.append(np.stack([np.full(len(arr), fam), pitch, onset, dur, vel], axis=1))
        if not rows:
            empty = np.zeros(0, dtype=np.int64)
            return QuantisedNotes(empty, empty, empty, empty, empty)
        m = np.concatenate(rows)
        # sort by onset, family, pitch, then longest first so the dedup below keeps the longest
        order = np.lexsort((-m[:, 3], m[:, 1], m[:, 0], m[:, 2]))
        m = m[order]
        key = m[:, [2, 0, 1]]
        keep = np.ones(len(m), dtype=bool)
        keep[1:] = np.any(key[1:] != key[:-1], axis=1)
        m = m[keep]
        return QuantisedNotes(m[:, 0], m[:, 1], m[:, 2], m[:, 3], m[:, 4])

    def encode_bars(self, song: Song, n_bars: int | None = None) -> list[np.ndarray]:
        """One int32 array per bar (each starts with ``Bar``); ``n_bars`` pads or cuts the song."""
        c, v = self.config, self.vocab
        q = self.quantise(song)
        spb = c.subbeats_per_bar
        total = (
            n_bars
            if n_bars is not None
            else max(1, -(-int(q.onset.max() + 1) // spb) if len(q) else 1)
        )
        bar_of = q.onset // spb
        bounds = np.searchsorted(bar_of, np.arange(total + 1))
        fam_ranges = [v.families[Family(f)] for f in range(len(Family))]
        bars = []
        for b in range(total):
            tokens = [BAR, v.tempo + c.tempo_bin(song.bpm_at(b * spb * TICKS_PER_SUBBEAT))]
            last_pos = -1
            for i in range(bounds[b], bounds[b + 1]):
                pos = int(q.onset[i] - b * spb)
                if pos != last_pos:
                    tokens.append(v.beat + pos)
                    last_pos = pos
                r = fam_ranges[q.family[i]]
                tokens += (
                    r.pitch + int(q.pitch[i]),
                    r.velocity + int(q.velocity[i]),
                    r.duration + int(q.duration[i]) - 1,
                )
            bars.append(np.asarray(tokens, dtype=np.int32))
        return bars

    def encode(self, song: Song) -> np.ndarray:
        """The whole piece: all bars, then ``EOS``."""
        return np.concatenate([*self.encode_bars(song), np.array([EOS], dtype=np.int32)])

    # ---- decoding -------------------------------------------------------------------------------
    def decode(self, ids, template: Song | None = None) -> DecodeResult:
        """Tokens -> Song, skipping (and counting) whatever breaks the grammar.

        ``template`` supplies each family's program and name and the time signatures (so a
        transferred piece keeps its instruments); otherwise each family's default program.

        A family's pitch at one position is one note, as :meth:`quantise` makes it: a second
        note there (which sampling can write) is merged into the first, the longer kept."""
        c, v = self.config, self.vocab
        kinds, fams, vals = v.kind_list, v.family_of_id.tolist(), v.value_of_id.tolist()
        spb = c.subbeats_per_bar
        notes: dict[int, list[Note]] = {}
        at: dict[tuple[int, int, int], int] = {}  # (family, pitch, start) -> its index in notes
        tempos: list[TempoChange] = []
        reasons: dict[str, int] = {}

        def skip(why: str) -> None:
            reasons[why] = reasons.get(why, 0) + 1

        bar = -1
        pos = -1
        last = TokenKind.PAD  # kind of the last token that counts (neither PAD nor out of range)
        note: list[int] = []  # the note in progress: family, pitch, then velocity
        note_kind: TokenKind | None = None  # the kind of that note's last token
        n = 0
        for raw in np.asarray(ids).ravel().tolist():
            n += 1
            if not 0 <= raw < v.size:
                skip("out-of-vocabulary id")
                continue
            kind = kinds[raw]
            if note_kind is not None and kind not in NOTE_CONTINUATIONS:
                skip("incomplete note")
                note_kind = None
            if kind == TokenKind.PAD:
                continue
            if kind == TokenKind.EOS:
                break
            prev, last = last, kind
            if kind == TokenKind.BAR:
                bar += 1
                pos = -1
                continue
            if bar < 0:
                skip("event before the first Bar")
                continue
            if kind == TokenKind.TEMPO:
                if kind in FOLLOWS[prev]:
                    bpm = c.tempo_of_bin(vals[raw])
                    if not tempos or tempos[-1].bpm != bpm:
                        tempos.append(TempoChange(bar * spb * TICKS_PER_SUBBEAT, bpm))
                else:
                    skip("Tempo not right after Bar")
            elif kind == TokenKind.BEAT:
                # tolerated: a Beat without notes, and a bar without its Tempo
                if vals[raw] < pos:
                    skip("Beat going backwards")
                else:
                    pos = vals[raw]
            elif kind == TokenKind.PITCH:
                # tolerated: a Pitch after a skipped token, once the bar has had a Beat
                if pos < 0:
                    skip("Pitch before any Beat")
                else:
                    note, note_kind = [fams[raw], vals[raw]], kind
            elif note_kind is not None and kind in FOLLOWS[note_kind] and fams[raw] == note[0]:
                if kind == TokenKind.VELOCITY:
                    note.append(c.velocity_of_bin(vals[raw]))
                    note_kind = kind
                else:  # the Duration completes the note
                    fam, pitch, vel = note
                    start = (bar * spb + pos) * TICKS_PER_SUBBEAT
                    end = start + vals[raw] * TICKS_PER_SUBBEAT
                    made = notes.setdefault(fam, [])
                    first = at.setdefault((fam, pitch, start), len(made))
                    if first == len(made):
                        made.append(Note(pitch, start, end, vel))
                    elif end > made[first].end:  # the same note again, longer: the longer kept
                        made[first] = Note(pitch, start, end, vel)
                    note_kind = None
            else:
                skip(
                    "Velocity without its Pitch"
                    if kind == TokenKind.VELOCITY
                    else "Duration without its Pitch and Velocity"
                )
                note_kind = None
        if note_kind is not None:
            skip("incomplete note")
        song = self._song_from_notes(notes, tempos, template)
        return DecodeResult(song=song, n_tokens=n, n_skipped=sum(reasons.values()), reasons=reasons)

    def _song_from_notes(
        self, notes: dict[int, list[Note]], tempos: list[TempoChange], template: Song | None
    ) -> Song:
        sources: dict[Family, Track] = {}
        if template is not None:
            for t in template.tracks:
                sources.setdefault(t.family, t)
        tracks = []
        for fam in sorted(notes):
            family = Family(fam)
            src = sources.get(family)
            if src is not None:
                base = Track(
                    program=src.program, is_drum=src.is_drum, name=src.name, family_override=family
                )
            else:
                base = Track(
                    program=family.default_program,
                    is_drum=family is Family.DRUMS,
                    name=family.label,
                    family_override=family,
                )
            tracks.append(base.with_notes(notes[fam]))
        if not tempos or tempos[0].tick != 0:
            tempos.insert(0, TempoChange(0, tempos[0].bpm if tempos else 120.0))
        sigs = template.time_signatures if template is not None else (TimeSignature(0, 4, 4),)
        return Song(
            tracks=tuple(tracks),
            tempos=tuple(tempos),
            time_signatures=tuple(sigs),
            name=template.name if template is not None else "",
            texts=template.texts if template is not None else (),
        )

    # ---- checks and transforms --------------------------------------------------------------------
    def check(self, ids) -> GrammarReport:
        """How well a token sequence follows the grammar (the decoder's own rules)."""
        ids = np.asarray(ids).ravel()
        result = self.decode(ids)
        n_bars = int(np.sum(ids == BAR))
        return GrammarReport(
            len(ids), result.n_skipped, n_bars, result.n_notes, dict(result.reasons)
        )

    def transpose(self, ids: np.ndarray, semitones: int) -> np.ndarray | None:
        """Shift every pitched (non-drum) Pitch token; ``None`` if a pitch would leave 0-127."""
        if semitones == 0:
            return ids
        v = self.vocab
        kinds, fams, vals = v.kinds, v.family_of_id, v.value_of_id
        ids = np.asarray(ids)
        valid = (ids >= 0) & (ids < v.size)  # ids outside the vocabulary are left as they are
        safe = np.where(valid, ids, 0)
        mask = valid & (kinds[safe] == TokenKind.PITCH) & (fams[safe] != int(Family.DRUMS))
        if not mask.any():
            return ids.copy()
        new_pitch = vals[ids[mask]].astype(np.int64) + semitones
        if new_pitch.min() < 0 or new_pitch.max() >= self.config.pitch_count:
            return None
        out = ids.copy()
        out[mask] = ids[mask] + semitones
        return out

    def bar_token_counts(self, bars: list[np.ndarray]) -> np.ndarray:
        return np.array([len(b) for b in bars], dtype=np.int64)


__all__ = ["BAR", "EOS", "PAD", "DecodeResult", "GrammarReport", "QuantisedNotes", "Tokenizer"]
