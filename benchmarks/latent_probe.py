"""Where a model's posteriors sit against its mixture priors (the geometry behind generation).

    .venv/bin/python benchmarks/latent_probe.py --model models/default --cache cache/corpus --pieces 60

On the first window (T bars) of each labelled validation clip: the posterior sigma; how much the
posterior mean of z_k moves within a piece and between pieces; the component means' distance;
where the clips of each valence label project on the line between the two valence components;
and what the key head reads (share of minor keys) from the posteriors of low- and high-valence
clips, from draws of each prior component, and from the key finder on the music itself.
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--cache", required=True)
    p.add_argument("--pieces", type=int, default=60)
    p.add_argument("--bars", type=int, default=8)
    args = p.parse_args()

    import torch

    from emostudio.corpus.cache import load_cache
    from emostudio.model.store import load_model
    from emostudio.training.config import TrainConfig
    from emostudio.training.data import Window, WindowData, label_of

    torch.manual_seed(0)
    model, _ = load_model(args.model)
    cache = load_cache(args.cache)
    data = WindowData(cache, model.config, TrainConfig(bars_per_sample=args.bars))
    pieces = [
        int(i) for i in cache.split_indices("val") if cache.pieces[int(i)].valence is not None
    ][: args.pieces]
    mus, logvars, keys, labels = [], [], [], []
    with torch.no_grad():
        for i in pieces:
            tokens, _, _, key = data.window_arrays(Window(i, 0))
            post = model.encode(torch.from_numpy(tokens)[None])
            mus.append(post.mu_k[0].numpy())
            logvars.append(post.logvar_k[0].numpy())
            keys.append(key)
            labels.append(label_of(cache.pieces[i].valence))
        mus, logvars, keys, labels = (
            np.stack(mus),
            np.stack(logvars),
            np.stack(keys),
            np.array(labels),
        )
        means = model.prior_k.means.numpy()
        stds = np.exp(0.5 * model.prior_k.logvars.numpy())
        axis = (means[1] - means[0]) / np.linalg.norm(means[1] - means[0])
        projection = (mus.mean(1) - means.mean(0)) @ axis
        heard = model.key_head(torch.from_numpy(mus)).argmax(-1).numpy()
        n = 40
        drawn = model.prior_k.sample(torch.tensor([0] * n + [1] * n), (args.bars,))
        drawn_keys = model.key_head(drawn).argmax(-1).numpy()
    print(f"clips: {len(pieces)} ({(labels == 0).sum()} low valence, {(labels == 1).sum()} high)")
    print(f"posterior sigma (mean): {np.exp(0.5 * logvars).mean():.3f}")
    print(
        f"posterior mean of z_k: std within a piece {mus.std(1).mean():.3f}, "
        f"between pieces {mus.mean(1).std(0).mean():.3f}, |mu| {np.linalg.norm(mus, axis=-1).mean():.2f}"
    )
    separation = np.sqrt((((means[1] - means[0]) / stds.mean(0)) ** 2).sum())
    print(
        f"valence components: distance {np.linalg.norm(means[1] - means[0]):.2f}, prior sigma {stds.mean():.2f}, "
        f"distance in sigmas {separation:.2f}"
    )
    print(
        f"projection on the low->high axis (half distance {np.linalg.norm(means[1] - means[0]) / 2:.2f}): "
        f"low-valence clips {projection[labels == 0].mean():+.2f}, high {projection[labels == 1].mean():+.2f}"
    )
    print(
        f"key head on posteriors: accuracy {np.mean(heard == keys):.3f}, distinct keys per window "
        f"{np.mean([len(set(r)) for r in heard]):.2f} (key finder: {np.mean([len(set(r)) for r in keys]):.2f})"
    )
    print(
        f"minor share - key finder: low {np.mean(keys[labels == 0] >= 12):.2f}, high {np.mean(keys[labels == 1] >= 12):.2f}; "
        f"key head on posteriors: low {np.mean(heard[labels == 0] >= 12):.2f}, high {np.mean(heard[labels == 1] >= 12):.2f}; "
        f"on prior draws: low component {np.mean(drawn_keys[:n] >= 12):.2f}, high {np.mean(drawn_keys[n:] >= 12):.2f}"
    )
    print(
        f"distinct keys per window of prior draws: {np.mean([len(set(r)) for r in drawn_keys]):.2f}"
    )


if __name__ == "__main__":
    main()
