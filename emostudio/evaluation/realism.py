"""Structure of generated music against real music (MODEL.md section 5, "Structure").

Four per-piece metrics on the tokenizer's grid, drums excluded: pitch range (semitones between the
lowest and highest note), polyphony (mean notes sounding per sub-beat where anything sounds),
rhythm density (note onsets per bar) and pitch-class entropy (bits, duration-weighted). Two sets of
pieces are compared by their means and standard deviations and by the overlapping area of their
distributions (Yang & Lerch 2020: 1.0 = the same distribution, 0.0 = disjoint).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emostudio.evaluation.descriptors import pitched_notes
from emostudio.midi.song import Song
from emostudio.tokens.features import bar_chroma, polyphony

METRICS = ("pitch_range", "polyphony", "rhythm_density", "pitch_class_entropy")


def piece_metrics(song: Song) -> dict[str, float] | None:
    """The four metrics of one piece, or ``None`` if it has no pitched notes."""
    q = pitched_notes(song)
    if len(q) == 0:
        return None
    n_bars = int(q.onset.max()) // 16 + 1
    poly = polyphony(song, n_bars).ravel()
    chroma = bar_chroma(song, n_bars).sum(axis=0)
    p = chroma / chroma.sum() if chroma.sum() > 0 else np.full(12, 1 / 12)
    p = p[p > 0]
    return {
        "pitch_range": float(q.pitch.max() - q.pitch.min()),
        "polyphony": float(poly[poly > 0].mean()) if (poly > 0).any() else 0.0,
        "rhythm_density": len(np.unique(q.onset)) / n_bars,
        "pitch_class_entropy": float(-(p * np.log2(p)).sum()),
    }


def metrics_table(songs) -> dict[str, np.ndarray]:
    """metric name -> float[n] over the songs that have pitched notes."""
    rows = [m for m in (piece_metrics(s) for s in songs) if m is not None]
    return {name: np.asarray([r[name] for r in rows], dtype=np.float64) for name in METRICS}


def overlapping_area(a: np.ndarray, b: np.ndarray, bins: int = 30) -> float:
    """Shared area of the two samples' normalised histograms on a common range (0..1)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) == 0 or len(b) == 0:
        return 0.0
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    if hi <= lo:
        return 1.0
    edges = np.linspace(lo, hi, bins + 1)
    ha, _ = np.histogram(a, edges)
    hb, _ = np.histogram(b, edges)
    return float(np.minimum(ha / ha.sum(), hb / hb.sum()).sum())


@dataclass(frozen=True)
class MetricComparison:
    name: str
    generated_mean: float
    generated_std: float
    real_mean: float
    real_std: float
    overlap: float


def compare(generated, real) -> list[MetricComparison]:
    """Per metric: generated vs real mean/std and the overlapping area."""
    g, r = metrics_table(generated), metrics_table(real)
    out = []
    for name in METRICS:
        out.append(
            MetricComparison(
                name=name,
                generated_mean=float(g[name].mean()) if len(g[name]) else float("nan"),
                generated_std=float(g[name].std()) if len(g[name]) else float("nan"),
                real_mean=float(r[name].mean()) if len(r[name]) else float("nan"),
                real_std=float(r[name].std()) if len(r[name]) else float("nan"),
                overlap=overlapping_area(g[name], r[name]),
            )
        )
    return out
