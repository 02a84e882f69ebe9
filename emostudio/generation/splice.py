"""Decoded bars put back into the user's piece: continue appends them, fill replaces a span.

The engine decodes only the new bars (the piece's own bars are teacher-forced context, never
re-decoded into the result), so every bar outside the span keeps the piece's notes exactly. The
piece's controller changes (its pedalling, volumes) stay as they are; a continuation of a
pedalled piece is pedalled too (:func:`pedal_on`).
"""

from __future__ import annotations

from dataclasses import replace

from emostudio.midi.pedal import pedal_changes, sustain_use
from emostudio.midi.song import (
    PEDALS,
    SUSTAIN,
    TICKS_PER_BAR,
    ControlChange,
    Song,
    Track,
    bends_in,
)


def replace_bars(song: Song, first: int, n_bars: int, new: Song) -> Song:
    """``song`` with the notes that start in bars [first, first + n_bars) replaced by ``new``'s
    (which starts at bar 0), shifted to bar ``first``.

    Each new track's notes go to the song's track of the same family (the model's voice slot:
    a melody and a piano part may share a program, as POP909's do) and, among several, of the
    same program and drum flag, else the first of that family; a family the song lacks gets a new
    track. The song's notes outside the span, its tempo map, time signatures and name are
    unchanged (a note sounding into the span from before it stays)."""
    lo, hi = first * TICKS_PER_BAR, (first + n_bars) * TICKS_PER_BAR
    shift = lo
    tracks = [t.with_notes([n for n in t.notes if not lo <= n.start < hi]) for t in song.tracks]
    for track in new.tracks:
        notes = [replace(n, start=n.start + shift, end=n.end + shift) for n in track.notes]
        notes = [n for n in notes if n.start < hi]
        if not notes:
            continue
        i = _matching_track(tracks, track)
        if i is None:
            tracks.append(track.with_notes(notes))
        else:
            tracks[i] = tracks[i].with_notes([*tracks[i].notes, *notes])
    return song.with_tracks([t for t in tracks if t.notes])


def _matching_track(tracks: list[Track], track: Track) -> int | None:
    same_family = [i for i, t in enumerate(tracks) if t.family == track.family]
    for i in same_family:
        if (tracks[i].program, tracks[i].is_drum) == (track.program, track.is_drum):
            return i
    return same_family[0] if same_family else None


def pedal_on(song: Song, first: int, n_bars: int, pedal: bool = True) -> Song:
    """``song`` with its new bars [first, first + n_bars) (after its bar ``first - 1``) pedalled
    as the piece before them is: where a track's sustain pedal is down for at least
    :data:`PEDALLED_SHARE` of the piece, the new bars' notes get the pedal
    :func:`~emostudio.midi.pedal.pedal_changes` gives them (unless ``pedal`` is false);
    otherwise they are unpedalled: a pedal still down at the join is lifted there. The
    track's controller changes at or after bar ``first`` (a pedal lifted after the piece's last
    note) give way to these, and a pitch wheel left off centre is centred at the join; tracks
    without controller changes or wheel moves are unchanged."""
    if first < 1 or n_bars < 1:
        return song
    lo = first * TICKS_PER_BAR
    hi = lo + n_bars * TICKS_PER_BAR
    tracks = []
    for track in song.tracks:
        if track.bends:
            track = replace(track, bends=bends_in(track.bends, 0, lo))
        if not track.controls:
            tracks.append(track)
            continue
        kept = [c for c in track.controls if c.tick < lo]
        new: list[ControlChange] = []
        if pedal and sustain_use(kept, lo)[0] >= PEDALLED_SHARE:
            new = pedal_changes(track.notes, lo, hi)  # lifts the sustain at lo first, and at hi
        held: dict[int, int] = {}
        for c in kept:
            if c.control in PEDALS:
                held[c.control] = c.value
        lifted = [
            ControlChange(lo, p, 0)
            for p, v in sorted(held.items())
            if v >= 64 and not (new and p == SUSTAIN)
        ]
        tracks.append(replace(track, controls=tuple(kept + lifted + new)))
    return song.with_tracks(tracks)


#: a piece whose sustain pedal is down this share of its length has its continuation pedalled
PEDALLED_SHARE = 0.25
