"""Keep the best of K decoded pieces by the model's own recognition: judged emotion and realism
against taking the first (benchmarks/results/realism.md, "Run 9").

    PYTHONPATH=$PWD .venv/bin/python benchmarks/best_of_decoded.py --data ../shared/data \\
        --cache cache/corpus --judge docs/evaluation/judge.json --model MODEL --k 4 \\
        --pieces 100 --seed 2 [--form none] [--latent-draws N]

For each target quadrant, ``--pieces`` groups of K pieces are generated (the engine's
``generate_many``, one batch); of each group the piece whose recognised arousal and valence
(``Engine.recognise_many``) give the target's classes the highest joint probability is kept.
The kept pieces and the first of each group are summarised as ``realism.py`` does (judged
emotion, mean overlap and two-sample AUC against EMOPIA's validation clips). The evaluation's
judge plays no part in the choice.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realism import QUADRANTS, _print, summarise


def target_agreement(heard, targets) -> np.ndarray:
    """float[n]: the probability the model's own recognition gives each piece's target classes
    (high or low arousal, times high or low valence)."""
    out = []
    for r, target in zip(heard, targets, strict=True):
        arousal = r.overall_arousal if target.arousal > 0 else 1.0 - r.overall_arousal
        valence = r.overall_valence if target.valence > 0 else 1.0 - r.overall_valence
        out.append(arousal * valence)
    return np.asarray(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--cache", default=None)
    p.add_argument("--judge", required=True)
    p.add_argument("--model", default=None)
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--pieces", type=int, default=100, help="per quadrant")
    p.add_argument("--bars", type=int, default=16)
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--form", default="none")
    p.add_argument("--latent-draws", type=int, default=None)
    args = p.parse_args()

    import torch

    from emostudio.emotion import Emotion
    from emostudio.evaluation.data import EvaluationCorpus
    from emostudio.evaluation.judge import EmotionJudge
    from emostudio.evaluation.structure import realism_table
    from emostudio.generation import Engine

    torch.set_num_threads(1)
    judge = EmotionJudge.load(args.judge)
    corpus = EvaluationCorpus(args.data, args.cache)
    held = corpus.pieces("val", labelled_only=True, sources=("emopia",))
    real_table = realism_table([p.song.slice_bars(0, args.bars) for p in held])
    engine = Engine.load(args.model, device="cpu")
    settings = engine.settings
    if args.latent_draws is not None:
        settings = settings.replace(latent_draws=args.latent_draws)
    quadrants = np.repeat(QUADRANTS, args.pieces)
    targets = [Emotion.from_quadrant(int(q)) for q in quadrants]
    t0 = time.perf_counter()
    songs = engine.generate_many(
        [t for t in targets for _ in range(args.k)],
        bars=args.bars,
        seed=args.seed,
        settings=settings,
        batch_size=64,
        form=args.form,
    )
    agreement = target_agreement(
        engine.recognise_many(songs), [t for t in targets for _ in range(args.k)]
    )
    seconds = time.perf_counter() - t0

    for k in sorted({1, args.k}):
        kept = [
            songs[max(range(i * args.k, i * args.k + k), key=lambda j: agreement[j])]
            for i in range(len(targets))
        ]
        name = f"{args.form}, best of {k} decoded"
        _print(summarise(name, kept, quadrants, real_table, judge, args.bars, seconds))


if __name__ == "__main__":
    main()
