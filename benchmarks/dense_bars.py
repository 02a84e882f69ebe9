"""Where in the bar do generated notes fall, and do dense bars run into the token cap?
(benchmarks/results/realism.md, "Dense bars").

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python benchmarks/dense_bars.py \\
        --data ../shared/data --cache cache/corpus --models models/default [RUN/last ...] \\
        --pieces 100 --seed 11 [--form none]

For EMOPIA's validation clips (cut to 16 bars) and for each model's through-composed pieces
(``Engine.generate_many``, ``--pieces`` per quadrant), every bar is tokenised and split into
*dense* bars (at least ``--dense`` tokens, near the shipped ``bar_len`` of 96) and the rest. Per
set: the share of dense bars, onsets per bar, the mean position of a bar's last onset, and the
share of onsets at each of the 16 positions relative to a uniform spread (1.00 = 1/16).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realism import QUADRANTS


def bar_rows(tokenizer, songs, bars: int) -> list[tuple[int, np.ndarray]]:
    """(token count, onset positions) of every bar of every song."""
    from emostudio.tokens.vocab import TokenKind

    kinds, beat = tokenizer.vocab.kinds, tokenizer.vocab.beat
    rows = []
    for song in songs:
        for bar in tokenizer.encode_bars(song, bars):
            bar = np.asarray(bar)
            rows.append((len(bar), bar[kinds[bar] == TokenKind.BEAT] - beat))
    return rows


def report(name: str, rows, dense: int) -> None:
    for part, kept in (
        ("dense", [r for r in rows if r[0] >= dense]),
        ("other", [r for r in rows if r[0] < dense]),
    ):
        if not kept:
            continue
        positions = np.concatenate([r[1] for r in kept])
        spread = np.bincount(positions, minlength=16) / max(1, len(positions)) * 16
        onsets = np.mean([len(r[1]) for r in kept])
        last = np.mean([r[1].max() for r in kept if len(r[1])])
        print(
            f"{name:28s} {part:5s} share {len(kept) / len(rows):.3f}  onsets/bar {onsets:5.2f}  "
            f"last onset {last:5.2f}  positions 0-15: {' '.join(f'{x:.2f}' for x in spread)}",
            flush=True,
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--cache", default=None)
    p.add_argument("--models", nargs="+", default=[None])
    p.add_argument("--pieces", type=int, default=100, help="per quadrant")
    p.add_argument("--bars", type=int, default=16)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--form", default="none")
    p.add_argument("--dense", type=int, default=90, help="tokens from which a bar counts as dense")
    args = p.parse_args()

    import torch

    from emostudio.emotion import Emotion
    from emostudio.evaluation.data import EvaluationCorpus
    from emostudio.generation import Engine
    from emostudio.tokens import Tokenizer

    torch.set_num_threads(1)
    tokenizer = Tokenizer()
    corpus = EvaluationCorpus(args.data, args.cache)
    real = [
        c.song.slice_bars(0, args.bars)
        for c in corpus.pieces("val", labelled_only=True, sources=("emopia",))
    ]
    report("real EMOPIA validation", bar_rows(tokenizer, real, args.bars), args.dense)
    targets = [Emotion.from_quadrant(int(q)) for q in np.repeat(QUADRANTS, args.pieces)]
    for model in args.models:
        engine = Engine.load(model, device="cpu")
        songs = engine.generate_many(
            targets, bars=args.bars, seed=args.seed, batch_size=64, form=args.form
        )
        report(str(model or "shipped"), bar_rows(tokenizer, songs, args.bars), args.dense)


if __name__ == "__main__":
    main()
