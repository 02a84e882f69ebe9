"""Diagnostic: is valence lost in the decoder or in where the valence components sit?

    .venv/bin/python benchmarks/posterior_bank.py --model models/default \\
        --judge docs/evaluation/judge.json --data ../shared/data --cache cache/corpus

Generates ``--pieces`` pieces per quadrant of 16 bars as the engine does, except that each piece's
z_k is not drawn from the valence component: it is the posterior mean, bar by bar, of a real
EMOPIA training clip with the target's valence (every third labelled training clip is encoded).
z_r is drawn from the arousal component as usual; decoding uses the default settings. The judged
accuracy is then what the decoder makes of a real piece's key latent.
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--judge", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--cache", required=True)
    p.add_argument("--pieces", type=int, default=32, help="per quadrant")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    import torch

    from emostudio.emotion import Emotion
    from emostudio.evaluation.data import EvaluationCorpus
    from emostudio.evaluation.judge import EmotionJudge, score
    from emostudio.evaluation.realism import metrics_table
    from emostudio.generation import Engine
    from emostudio.generation.batches import draw
    from emostudio.tokens.window import clip_to_bars

    bars = 16
    torch.set_num_threads(1)
    engine = Engine.load(args.model, device="cpu")
    judge = EmotionJudge.load(args.judge)
    bank: dict[bool, list[np.ndarray]] = {False: [], True: []}  # high valence -> z_k sequences
    for piece in EvaluationCorpus(args.data, args.cache).pieces("train", labelled_only=True)[::3]:
        z_k = engine.encode(clip_to_bars(piece.song, bars)).z_k
        if len(z_k) >= bars:
            bank[piece.file.quadrant in (1, 4)].append(z_k[:bars])
    rng = np.random.default_rng(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    quadrants = np.repeat([1, 2, 3, 4], args.pieces)
    latents = []
    for q in quadrants:
        targets = [[Emotion.from_quadrant(int(q))] * bars]
        z = draw(engine, targets, generator, engine.settings)  # what generate draws
        z = z[0].detach().numpy()
        pool = bank[int(q) in (1, 4)]
        latents.append((z[:, : engine.model.config.latent_r], pool[rng.integers(len(pool))]))
    songs = engine.decode_many(latents, seed=args.seed)
    verdicts, kept = judge.judge(songs)
    s = score(verdicts, quadrants[kept])
    entropy = float(metrics_table(songs)["pitch_class_entropy"].mean())
    print(f"clips in the bank: {len(bank[False])} low valence, {len(bank[True])} high")
    print(
        f"z_k from real clips: quadrant {s.quadrant:.3f}, arousal {s.arousal:.3f}, valence {s.valence:.3f}, "
        f"pitch-class entropy {entropy:.2f} ({s.n} pieces)"
    )


if __name__ == "__main__":
    main()
