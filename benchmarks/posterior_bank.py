"""Diagnostic: is the emotion lost in the decoder or in the latents generation draws?

    .venv/bin/python benchmarks/posterior_bank.py --model models/default \\
        --judge docs/evaluation/judge.json --data ../shared/data --cache cache/corpus

Generates ``--pieces`` pieces per quadrant of 16 bars three ways, decoded alike (default
settings, the same seed) and judged: with the latents the engine draws (``drawn``); with z_k
replaced by the posterior means, bar by bar, of a real EMOPIA training clip of the target's
valence (``real z_k``: z_r drawn as usual); and with both z_r and z_k from one real clip of the
target's quadrant (``real z_r and z_k``). Every third labelled training clip is encoded into the
bank. Where the real latents are judged in the target far more often than the drawn ones, the
prior's draws, not the decoder, lose the emotion.
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
    bank: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {q: [] for q in (1, 2, 3, 4)}
    for piece in EvaluationCorpus(args.data, args.cache).pieces("train", labelled_only=True)[::3]:
        code = engine.encode(clip_to_bars(piece.song, bars))
        if len(code.z_k) >= bars:
            bank[piece.file.quadrant].append((code.z_r[:bars], code.z_k[:bars]))
    rng = np.random.default_rng(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    quadrants = np.repeat([1, 2, 3, 4], args.pieces)
    l_r = engine.model.config.latent_r
    sets: dict[str, list] = {"drawn": [], "real z_k": [], "real z_r and z_k": []}
    for q in quadrants:
        targets = [[Emotion.from_quadrant(int(q))] * bars]
        z = draw(engine, targets, generator, engine.settings)[0].detach().numpy()  # as generate
        same_valence = bank[int(q)] + bank[{1: 4, 2: 3, 3: 2, 4: 1}[int(q)]]
        sets["drawn"].append((z[:, :l_r], z[:, l_r:]))
        sets["real z_k"].append((z[:, :l_r], same_valence[rng.integers(len(same_valence))][1]))
        sets["real z_r and z_k"].append(bank[int(q)][rng.integers(len(bank[int(q)]))])
    print(f"clips in the bank by quadrant: {[len(bank[q]) for q in (1, 2, 3, 4)]}")
    print("\n| latents | quadrant | arousal | valence | pitch-class entropy | pieces |")
    print("|---|---|---|---|---|---|")
    for name, latents in sets.items():
        songs = engine.decode_many(latents, seed=args.seed)
        verdicts, kept = judge.judge(songs)
        s = score(verdicts, quadrants[kept])
        entropy = float(metrics_table(songs)["pitch_class_entropy"].mean())
        print(
            f"| {name} | {s.quadrant:.3f} | {s.arousal:.3f} | {s.valence:.3f} | {entropy:.2f} "
            f"| {s.n} |"
        )


if __name__ == "__main__":
    main()
