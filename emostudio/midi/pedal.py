"""The sustain pedal for piano parts that come without one: the model's tokens hold how long a
key is down, not the pedal, so its piano music is pedalled as a pianist would.

The rule: the pedal is changed (lifted, then pressed again one sub-beat later, as a legato
pedal) at every bar's start and, inside a bar, where a new bass note (below :data:`BASS_BELOW`)
is struck at least :data:`MIN_GAP` after the last change; it is lifted at the part's end. Chosen
on the notes' sounding lengths and sounding polyphony against EMOPIA's clips played with their
own pedalling (docs/ARCHITECTURE.md, ``emostudio.midi``; ``benchmarks/pedal_use.py --generated``).
"""

from __future__ import annotations

from collections.abc import Sequence

from emostudio.midi.song import (
    SUSTAIN,
    TICKS_PER_BAR,
    TICKS_PER_SUBBEAT,
    ControlChange,
    Note,
)

#: a note below this pitch (G3) struck inside a bar changes the pedal (the harmony moved)
BASS_BELOW = 55
#: the least time between two changes of the pedal inside a bar (two beats)
MIN_GAP = 8 * TICKS_PER_SUBBEAT


def pedal_changes(notes: Sequence[Note], lo: int, hi: int) -> list[ControlChange]:
    """The sustain pedal's changes for ``notes`` in ticks [lo, hi) (``lo`` on a bar line), by the
    module's rule, ending with the pedal lifted at ``hi``."""
    lowest: dict[int, int] = {}
    for n in notes:
        if lo <= n.start < hi:
            lowest[n.start] = min(lowest.get(n.start, 128), n.pitch)
    bar_starts = set(range(lo, hi, TICKS_PER_BAR))
    points: list[int] = []
    for tick in sorted(bar_starts | set(lowest)):
        if tick in bar_starts or (
            lowest.get(tick, 128) < BASS_BELOW and tick - points[-1] >= MIN_GAP
        ):
            points.append(tick)
    changes = []
    for tick in points:
        changes += [
            ControlChange(tick, SUSTAIN, 0),
            ControlChange(tick + TICKS_PER_SUBBEAT, SUSTAIN, 127),
        ]
    changes.append(ControlChange(hi, SUSTAIN, 0))
    return changes


def sustain_spans(controls: Sequence[ControlChange], end: int) -> list[tuple[int, int]]:
    """(press, lift) ticks of each time the sustain pedal in ``controls`` is down, in order; one
    never lifted is down until ``end``."""
    spans = []
    down: int | None = None
    for c in controls:
        if c.control != SUSTAIN:
            continue
        if c.value >= 64 and down is None:
            down = c.tick
        elif c.value < 64 and down is not None:
            spans.append((down, c.tick))
            down = None
    if down is not None:
        spans.append((down, max(down, end)))
    return spans


def sustain_use(controls: Sequence[ControlChange], end: int) -> tuple[float, float]:
    """(share of ticks [0, end) with the sustain pedal down, presses per bar) of ``controls``."""
    spans = sustain_spans(controls, end)
    down = sum(lift - press for press, lift in spans)
    return down / max(end, 1), len(spans) * TICKS_PER_BAR / max(end, 1)
