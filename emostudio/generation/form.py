"""Musical form over per-bar latents: phrases that return, with variation, and phrase ends.

A piece is cut into phrases of :data:`PHRASE_BARS` bars; a form names each phrase with a section
letter (``AABA``: the first, second and fourth phrases are the same section). :func:`plan_form`
turns (form, number of bars) into one :class:`BarPlan` per bar: its section, the earlier bar it
repeats (the same position in the section's first phrase) or ``None``, how much it varies, and
whether it ends a phrase. The letters of a form repeat when the piece has more phrases than the
form has letters, and a last, shorter phrase takes the first bars of its section.

:func:`apply_form` works on latents the engine has already drawn (one row per bar): a returning bar
takes its source bar's latents moved towards its own fresh draw by its variation (0: the same
latents, so the decoder is asked for the same bar again; 1: its own draw, as through-composed), and
a phrase's last bar can have its key latent pulled towards the piece's first bar's (``key_pull``)
so phrases close in the key the piece opened in (measured: it does not make them land on the
tonic, so it is off). The cadence that is used works on tokens: :func:`cadence_kinds` says which
phrase ends close (tonic) and which stay open (dominant), and :func:`cadence_chord` gives the
pitch classes the decoder's grammar lets such a bar's notes take (``DecodingSettings.cadence``).
Pure numpy: no torch, no model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from emostudio.decoding import DEFAULT_FORM, FORMS
from emostudio.midi.families import Family
from emostudio.midi.song import TICKS_PER_BAR, Song
from emostudio.tokens.features import key_scores
from emostudio.tokens.vocab import TokenKind, Vocabulary

__all__ = [
    "DEFAULT_FORM",
    "DEFAULT_KEY_PULL",
    "DEFAULT_VARIATION",
    "DOMINANT",
    "FORMS",
    "PHRASE_BARS",
    "TONIC",
    "BarPlan",
    "FormError",
    "apply_form",
    "cadence_chord",
    "cadence_kinds",
    "pitch_class_table",
    "plan_form",
    "repeat_bars",
]

PHRASE_BARS = 4

# FORMS (form name -> section letter per phrase) and DEFAULT_FORM live in emostudio.decoding, which
# the argument parsers read without loading torch
#: measured defaults (benchmarks/results/realism.md): a returning phrase opens exactly as its
#: first occurrence (its notes repeated: :func:`repeat_bars`) and goes on anew; this repeats 2 of 16
#: bars, the upper quartile of real EMOPIA clips. Whole phrases repeated overshoot (0.25-0.5).
DEFAULT_VARIATION = (0.0, 1.0, 1.0, 1.0)
#: pulling phrase ends' key latent to the first bar's did not move their tonic share: off
DEFAULT_KEY_PULL = 0.0


class FormError(ValueError):
    """An unknown form or an impossible plan (one line)."""


@dataclass(frozen=True)
class BarPlan:
    """What one bar of a planned piece is."""

    section: str  # the section letter of its phrase
    source: int | None  # the earlier bar (0-based) whose latents it reuses, or None (a new bar)
    variation: float  # 0..1: how far a returning bar moves from its source towards a fresh draw
    phrase_end: bool  # the last bar of a phrase (or of the piece)


def plan_form(
    form: str,
    n_bars: int,
    variation: float | Sequence[float] = 0.0,
    phrase_bars: int = PHRASE_BARS,
) -> list[BarPlan]:
    """One :class:`BarPlan` per bar of an ``n_bars`` piece in ``form`` (a key of :data:`FORMS`).

    ``variation``: one amount for every returning bar, or one per position in the phrase (e.g.
    ``(0, 1, 1, 1)``: a returning phrase opens exactly as its first occurrence and goes on anew)."""
    if form not in FORMS:
        raise FormError(f"unknown form {form!r}: use one of {', '.join(FORMS)}")
    if n_bars < 1 or phrase_bars < 1:
        raise FormError(f"a form needs at least one bar and one bar per phrase (got {n_bars})")
    if isinstance(variation, (int, float)):
        per_position = [float(variation)] * phrase_bars
    else:
        per_position = [float(v) for v in variation]
    if len(per_position) != phrase_bars or not all(0.0 <= v <= 1.0 for v in per_position):
        raise FormError(
            f"variation must be in [0, 1], one value or one per phrase bar (got {variation})"
        )
    letters = FORMS[form]
    first_phrase: dict[str, int] = {}  # section letter -> its first phrase
    plan = []
    for t in range(n_bars):
        phrase, pos = divmod(t, phrase_bars)
        # through-composed: a new letter per phrase (A, B, ..., Z, then a, b, ...)
        section = letters[phrase % len(letters)] if letters else _nth_letter(phrase)
        start = first_phrase.setdefault(section, phrase)
        source = None if start == phrase else start * phrase_bars + pos
        plan.append(
            BarPlan(
                section=section,
                source=source,
                variation=per_position[pos] if source is not None else 1.0,
                phrase_end=pos == phrase_bars - 1 or t == n_bars - 1,
            )
        )
    return plan


def apply_form(
    z_r: np.ndarray, z_k: np.ndarray, plan: list[BarPlan], key_pull: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Latents (z_r [T, l_r], z_k [T, l_k]) that follow ``plan``, from fresh per-bar draws.

    A returning bar is ``z[source] + variation * (z[t] - z[source])`` on both latents; then every
    phrase end's key latent moves by ``key_pull`` (0..1) towards the first bar's. The inputs are
    not changed."""
    if len(z_r) != len(plan) or len(z_k) != len(plan):
        raise FormError(f"the plan has {len(plan)} bars, the latents {len(z_r)} and {len(z_k)}")
    if not 0.0 <= key_pull <= 1.0:
        raise FormError(f"the key pull must be in [0, 1] (got {key_pull})")
    out_r, out_k = np.array(z_r, copy=True), np.array(z_k, copy=True)
    for t, bar in enumerate(plan):
        if bar.source is None:
            continue
        if bar.source >= t:
            raise FormError(f"bar {t} repeats bar {bar.source}, which does not come before it")
        # sources are first occurrences, already final: chains never form
        for out, fresh in ((out_r, z_r), (out_k, z_k)):
            out[t] = out[bar.source] + bar.variation * (fresh[t] - out[bar.source])
    if key_pull > 0.0:
        ends = [t for t, bar in enumerate(plan) if bar.phrase_end and t > 0]
        out_k[ends] += key_pull * (out_k[0] - out_k[ends])
    return out_r, out_k


def repeat_bars(song: Song, plan: list[BarPlan]) -> Song:
    """The song with every returning bar whose variation is 0 replaced by an exact copy of its
    source bar's notes (those starting in it, shifted; cut at the piece's end).

    Why: the decoder samples, so the same latents decode to a different bar (measured in
    benchmarks/results/realism.md: latents alone repeat almost no bar); an exact return has to
    repeat the notes."""
    copies = {t: bar.source for t, bar in enumerate(plan) if bar.source is not None}
    copies = {t: src for t, src in copies.items() if plan[t].variation == 0.0}
    end = len(plan) * TICKS_PER_BAR
    tracks = []
    for track in song.tracks:
        kept = [n for n in track.notes if n.start // TICKS_PER_BAR not in copies]
        for t, src in copies.items():
            shift = (t - src) * TICKS_PER_BAR
            kept += [
                replace(n, start=n.start + shift, end=min(n.end + shift, end))
                for n in track.notes
                if n.start // TICKS_PER_BAR == src
            ]
        tracks.append(track.with_notes(sorted(kept, key=lambda n: (n.start, n.pitch))))
    return song.with_tracks(tracks)


def pitch_class_table(vocab: Vocabulary) -> np.ndarray:
    """int64[V]: the pitch class of each pitched family's Pitch token, -1 for every other token
    (a drum's pitch is an instrument)."""
    pitched = (vocab.kinds == TokenKind.PITCH) & (vocab.family_of_id != int(Family.DRUMS))
    return np.where(pitched, vocab.value_of_id % 12, -1).astype(np.int64)


#: a cadence's chord: the tonic triad (an authentic cadence's arrival) or the triad on the dominant
#: (a half cadence: the phrase ends open, wanting the next)
TONIC, DOMINANT = "tonic", "dominant"


def cadence_kinds(plan: list[BarPlan]) -> dict[int, str]:
    """The cadence of each phrase end of ``plan``: a half cadence (:data:`DOMINANT`) after the
    1st, 3rd, ... phrase, an authentic one (:data:`TONIC`) after the 2nd, 4th, ... and at the
    piece's end (antecedent and consequent: AABA closes open, closed, open, closed)."""
    out: dict[int, str] = {}
    phrase = 0
    for t, bar in enumerate(plan):
        if bar.phrase_end:
            last = t == len(plan) - 1
            out[t] = TONIC if last or phrase % 2 == 1 else DOMINANT
            phrase += 1
    return out


def cadence_chord(bars: Sequence[np.ndarray], pitch_class_of: np.ndarray, kind: str) -> int | None:
    """The pitch classes (12 bits: bit k for pitch class k) of the ``kind`` chord
    (:data:`TONIC` or :data:`DOMINANT`) in the key that the pitched notes of ``bars`` (token
    arrays) are in, found from the onsets' pitch-class profile against the major and minor key
    profiles; None when they hold no pitched note. Both triads are the key's own (diatonic): in a
    minor key the dominant's is minor too (a major one's leading tone made the pieces measurably
    less diatonic than real music: benchmarks/results/realism.md, "Run 10")."""
    tokens = np.concatenate([np.asarray(b, dtype=np.int64) for b in bars]) if bars else None
    if tokens is None or not len(tokens):
        return None
    pcs = pitch_class_of[tokens]
    pcs = pcs[pcs >= 0]
    if not len(pcs):
        return None
    key = int(np.argmax(key_scores(np.bincount(pcs, minlength=12).astype(np.float64))))
    tonic, third = key % 12, (3 if key >= 12 else 4)  # 0-11 major, 12-23 minor
    root = tonic if kind == TONIC else (tonic + 7) % 12
    return (1 << root) | (1 << (root + third) % 12) | (1 << (root + 7) % 12)


def _nth_letter(i: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return alphabet[i % len(alphabet)]
