"""Transfer with a fitted prior: which anchors should a bar move between, per dimension?

    .venv/bin/python benchmarks/transfer_anchors.py --model models/default \\
        --judge docs/evaluation/judge.json --data ../shared/data --cache cache/corpus \\
        --settings nearest,nearest mean,nearest mean,mean

Each setting is ``AROUSAL,VALENCE``: ``nearest`` anchors a bar at its nearest component of each
class, ``mean`` at each class's mixture mean (:data:`emostudio.model.fitted_prior.NEAREST_ANCHORS`
holds the shipped choice). Every second held-out EMOPIA test clip (first 16 bars) is transferred to
each of the four quadrants at strength 1 with the default decoding (seed 1) and judged by the
reference judge.
"""

from __future__ import annotations

import argparse


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--judge", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--cache", required=True)
    p.add_argument("--settings", nargs="+", required=True, metavar="AROUSAL,VALENCE")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    import numpy as np
    import torch

    from emostudio.emotion import Emotion
    from emostudio.evaluation.data import EvaluationCorpus
    from emostudio.evaluation.judge import EmotionJudge, score
    from emostudio.generation import Engine
    from emostudio.model import fitted_prior
    from emostudio.tokens.window import clip_to_bars

    torch.set_num_threads(1)
    judge = EmotionJudge.load(args.judge)
    clips = [
        clip_to_bars(p.song, 16)
        for p in EvaluationCorpus(args.data, args.cache).pieces("test", labelled_only=True)[::2]
    ]
    sources = [song for song in clips for _ in range(4)]
    targets = np.tile([1, 2, 3, 4], len(clips))
    engine = Engine.load(args.model, device="cpu", prior="fitted")
    print("| arousal anchors | valence anchors | transfers | quadrant | arousal | valence |")
    print("|---|---|---|---|---|---|")
    for setting in args.settings:
        arousal, valence = setting.split(",")
        fitted_prior.NEAREST_ANCHORS.update(
            arousal=arousal == "nearest", valence=valence == "nearest"
        )
        songs = engine.transfer_many(  # the latent anchors matter to the rewrite only
            sources,
            [Emotion.from_quadrant(int(q)) for q in targets],
            seed=args.seed,
            method="rewrite",
        )
        verdicts, kept = judge.judge(songs)
        s = score(verdicts, targets[kept])
        print(
            f"| {arousal} | {valence} | {s.n} | {s.quadrant:.3f} | {s.arousal:.3f} | {s.valence:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
