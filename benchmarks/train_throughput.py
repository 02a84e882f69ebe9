"""Training throughput of candidate model sizes on this machine (tokens/s, samples/s, peak memory,
time per epoch of the corpus).

    .venv/bin/python benchmarks/train_throughput.py --cache cache/corpus --threads 2 --steps 12
        [--device cuda] [--batch-size 16]

Each size runs in its own subprocess (so its peak RSS is its own): a few warm-up steps, then
``--steps`` timed optimizer steps on random training windows of the cache (the real sampler,
augmentation included). Reports the median step time. Without ``--cache`` it uses the synthetic
corpus (then the epoch time is of that corpus, not of the real one).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

SIZES = {
    "S": dict(
        d_model=128, n_heads=4, n_enc_layers=2, n_dec_layers=2, latent_r=16, latent_k=16, bar_len=96
    ),
    "M": dict(
        d_model=192, n_heads=4, n_enc_layers=2, n_dec_layers=3, latent_r=16, latent_k=16, bar_len=96
    ),
    "L": dict(
        d_model=256, n_heads=4, n_enc_layers=3, n_dec_layers=3, latent_r=32, latent_k=32, bar_len=96
    ),
    # the shipped size, without and with the pitch-class parts (key_chroma, pitch_class_tokens)
    "S3-plain": dict(
        d_model=128,
        n_heads=4,
        n_enc_layers=2,
        n_dec_layers=3,
        latent_r=16,
        latent_k=16,
        bar_len=96,
        key_chroma=False,
        pitch_class_tokens=False,
    ),
    "S3": dict(
        d_model=128, n_heads=4, n_enc_layers=2, n_dec_layers=3, latent_r=16, latent_k=16, bar_len=96
    ),
}


def run_one(args) -> dict:
    import numpy as np
    import torch

    from emostudio.model import CDGMVAE, ModelConfig
    from emostudio.model.objective import total_loss
    from emostudio.training import TrainConfig
    from emostudio.training.data import TrainSampler, WindowData
    from emostudio.training.loop import limit_heap_fragmentation, make_optimizer

    limit_heap_fragmentation()  # as `emostudio train` does
    torch.set_num_threads(args.threads)
    if args.cache:
        from emostudio.corpus import load_cache

        cache = load_cache(args.cache)
    else:
        from emostudio.training.synthetic import synthetic_cache

        cache = synthetic_cache(n_pieces=64)
    overrides = dict(SIZES[args.one])
    if args.bar_len:
        overrides["bar_len"] = args.bar_len
    mc = ModelConfig.for_tokenizer(cache.tokenizer_config, **overrides)
    tc = TrainConfig(batch_size=args.batch_size, bars_per_sample=args.bars)
    torch.manual_seed(0)
    device = torch.device(args.device)
    model = CDGMVAE(mc).to(device)
    opt = make_optimizer(model, tc)
    data = WindowData(cache, mc, tc)
    sampler = TrainSampler(cache, data, tc)
    times, tokens, sampling = [], [], []
    for step in range(args.warmup + args.steps):
        t_sample = time.perf_counter()
        batch = sampler.batch(step)
        t0 = time.perf_counter()
        batch = batch.to(device)
        _, losses = model(batch)
        loss = total_loss(losses, mc, 0.5)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        if step >= args.warmup:
            times.append(dt)
            sampling.append(t0 - t_sample)
            tokens.append(int((batch.tokens != 0).sum()))
    med = statistics.median(times)
    samples_s = args.batch_size / med
    windows_per_epoch = sampler.total_bars / args.bars
    return {
        "size": args.one,
        "config": overrides,
        "params": sum(p.numel() for p in model.parameters()),
        "median_step_s": round(med, 4),
        "median_sampling_s": round(statistics.median(sampling), 4),  # the batch, on the CPU
        "tokens_per_s": round(float(np.mean(tokens)) / med, 1),
        "samples_per_s": round(samples_s, 2),
        "device": str(device),
        "batch_size": args.batch_size,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "epoch_minutes": round(windows_per_epoch / samples_s / 60, 1),
        "truncated_bars": round(data.truncation_rate, 4),
        "train_bars": sampler.total_bars,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", help="corpus cache (default: a synthetic corpus)")
    p.add_argument("--sizes", default="S,M,L")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--bars", type=int, default=8, help="T, bars per sample")
    p.add_argument("--bar-len", type=int, default=0, help="override L for every size")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(run_one(args)))
        return
    results = []
    for size in args.sizes.split(","):
        cmd = [
            sys.executable,
            __file__,
            "--one",
            size,
            "--threads",
            str(args.threads),
            "--steps",
            str(args.steps),
            "--warmup",
            str(args.warmup),
            "--batch-size",
            str(args.batch_size),
            "--bars",
            str(args.bars),
            "--bar-len",
            str(args.bar_len),
            "--device",
            args.device,
        ] + (["--cache", args.cache] if args.cache else [])
        out = (
            subprocess.run(cmd, capture_output=True, text=True, check=True)
            .stdout.strip()
            .splitlines()[-1]
        )
        results.append(json.loads(out))
        print(json.dumps(results[-1]), flush=True)
    base = results[0]
    print(
        "\n| size | config | params | median step (s) | tokens/s | samples/s | peak RSS (MB) | epoch (min) | bars cut | vs first |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        c = r["config"]
        desc = f"d{c['d_model']} enc{c['n_enc_layers']} dec{c['n_dec_layers']} l{c['latent_r']} L{c['bar_len']}"
        print(
            f"| {r['size']} | {desc} | {r['params'] / 1e6:.2f}M | {r['median_step_s']} | {r['tokens_per_s']} | "
            f"{r['samples_per_s']} | {r['peak_rss_mb']} | {r['epoch_minutes']} | {r['truncated_bars']:.1%} | "
            f"{base['median_step_s'] / r['median_step_s']:.2f}x |"
        )


if __name__ == "__main__":
    main()
