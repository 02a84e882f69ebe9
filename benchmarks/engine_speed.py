"""Engine speed: model load, 16-bar generation (total and first bar), 16-bar transfer, and
KV-cached decoding against recomputing the whole prefix for every token (same run).

    .venv/bin/python benchmarks/engine_speed.py [--model DIR] [--repeats 7] [--bars 16]

Without ``--model`` the shipped default model (models/default) is used; ``--untrained`` builds
a model of the default ModelConfig size with random weights (its bars run to the full L tokens,
so it is a worst case for generation time). Prints a markdown table and a profile of one
16-bar generation (where the time goes).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import tempfile
import time
from pathlib import Path

import torch

from emostudio.emotion import Emotion
from emostudio.generation import Engine
from emostudio.tokens.vocab import PAD


def untrained_model_dir() -> Path:
    from emostudio.model import CDGMVAE, ModelConfig, save_model
    from emostudio.tokens import TokenizerConfig

    torch.manual_seed(0)
    tc = TokenizerConfig()
    folder = Path(tempfile.mkdtemp()) / "untrained"
    return save_model(CDGMVAE(ModelConfig.for_tokenizer(tc)), tc, folder)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def generation_times(engine: Engine, bars: int, seed: int) -> tuple[float, float, int]:
    """(total seconds, seconds to the first bar, tokens) of one generation."""
    t0 = time.perf_counter()
    first = None
    for event in engine.generate(Emotion.from_quadrant(seed % 4 + 1), bars=bars, seed=seed):  # noqa: B007
        if first is None:
            first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    return total, first, len(engine.tokenizer.encode(event.song))


def kv_versus_recompute(engine: Engine, bars: int, seed: int) -> dict:
    """Decode the same token sequence (one generated piece) two ways, timing every next-token step.

    Cached: ``decoder_step`` one token at a time with the KV cache and bar memory. Recompute:
    for every token, ``decoder_logits`` over every bar so far (the prefix padded to L per bar),
    keeping only the last position's logits: what decoding costs without a cache."""
    model = engine.model
    song = list(engine.generate(Emotion.from_quadrant(1), bars=bars, seed=seed))[-1].song
    bar_ids = [b[: engine.bar_len] for b in engine.tokenizer.encode_bars(song, bars)]
    z = torch.randn(1, bars, model.config.latent, generator=torch.Generator().manual_seed(seed))
    n_tokens = sum(len(b) for b in bar_ids)
    with engine._decoding():
        t0 = time.perf_counter()
        state = model.decoder_start(1)
        cached_last = []
        for t, bar in enumerate(bar_ids):
            for token in bar:
                logits, state = model.decoder_step(torch.tensor([[int(token)]]), z[:, t], state)
                cached_last.append(logits[0, -1])
            state = model.decoder_next_bar(state)
        cached = time.perf_counter() - t0

        grid = torch.full((1, bars, engine.bar_len), PAD, dtype=torch.long)
        t0 = time.perf_counter()
        recomputed_last = []
        for t, bar in enumerate(bar_ids):
            for j, token in enumerate(bar):
                grid[0, t, j] = int(token)
                logits = model.decoder_logits(grid[:, : t + 1], z[:, : t + 1])  # [1, t+1, L, V]
                recomputed_last.append(logits[0, t, j])
        recompute = time.perf_counter() - t0
    diff = float(torch.stack(cached_last).sub(torch.stack(recomputed_last)).abs().max())
    return {"tokens": n_tokens, "cached": cached, "recompute": recompute, "max_logit_diff": diff}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model folder (default: models/default)")
    parser.add_argument(
        "--untrained", action="store_true", help="a random model of the default size"
    )
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument(
        "--kv-bars", type=int, default=8, help="bars in the cached-vs-recompute comparison"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    folder = untrained_model_dir() if args.untrained else args.model

    loads = []
    for _ in range(args.repeats):
        seconds, engine = timed(lambda: Engine.load(folder, device="cpu"))
        loads.append(seconds)
    list(engine.generate(Emotion.from_quadrant(1), bars=2, seed=123))  # warm-up

    gens = [generation_times(engine, args.bars, seed) for seed in range(args.repeats)]
    totals, firsts, tokens = zip(*gens)

    sources = [
        list(engine.generate(Emotion.from_quadrant(2), bars=args.bars, seed=100 + i))[-1].song
        for i in range(args.repeats)
    ]
    transfers = [
        timed(lambda s=s: list(engine.transfer(s, Emotion.from_quadrant(4), seed=1)))[0]
        for s in sources
    ]
    recognise = [timed(lambda s=s: engine.recognise(s))[0] for s in sources]

    kv = kv_versus_recompute(engine, args.kv_bars, seed=5)

    med = statistics.median
    print(
        f"model: {engine.model_dir} (d_model {engine.model.config.d_model}, decoder layers "
        f"{engine.model.config.n_dec_layers}, L {engine.bar_len}); torch threads 1; repeats {args.repeats}"
    )
    print()
    print("| what | median | min | max | target |")
    print("|---|---|---|---|---|")
    print(
        f"| model load (`Engine.load`) | {med(loads):.3f} s | {min(loads):.3f} | {max(loads):.3f} | ≤ 2 s |"
    )
    print(
        f"| generate {args.bars} bars | {med(totals):.3f} s | {min(totals):.3f} | {max(totals):.3f} | ≤ 1.0 s |"
    )
    print(
        f"| first bar ready | {1000 * med(firsts):.0f} ms | {1000 * min(firsts):.0f} | "
        f"{1000 * max(firsts):.0f} | ≤ 150 ms |"
    )
    print(
        f"| transfer {args.bars} bars | {med(transfers):.3f} s | {min(transfers):.3f} | {max(transfers):.3f} | ≤ 1.5 s |"
    )
    print(
        f"| recognise {args.bars} bars | {1000 * med(recognise):.0f} ms | {1000 * min(recognise):.0f} | "
        f"{1000 * max(recognise):.0f} | |"
    )
    print()
    print(
        f"tokens per generated piece: median {med(tokens):.0f} "
        f"({1000 * med(t / n for t, n in zip(totals, tokens)):.2f} ms per token)"
    )
    print(
        f"KV cache vs recomputing the prefix, {args.kv_bars} bars, {kv['tokens']} tokens: cached "
        f"{kv['cached']:.3f} s ({1000 * kv['cached'] / kv['tokens']:.2f} ms/token), recompute "
        f"{kv['recompute']:.3f} s ({1000 * kv['recompute'] / kv['tokens']:.2f} ms/token): "
        f"**{kv['recompute'] / kv['cached']:.1f}x** faster with the cache; max |logit diff| "
        f"{kv['max_logit_diff']:.2e}"
    )

    profile = cProfile.Profile()
    t0 = time.perf_counter()
    profile.enable()
    list(engine.generate(Emotion.from_quadrant(3), bars=args.bars, seed=99))
    profile.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(profile)
    parts = {
        "decoder step (model.decoder_step)": ("cdgmvae.py", "decoder_step"),
        "bar memory (model.decoder_next_bar)": ("cdgmvae.py", "decoder_next_bar"),
        "sampling (mask, softmax, top-p, multinomial)": ("sampling.py", "sample_next"),
        "grammar masks": ("grammar.py", "allowed"),
        "grammar state": ("grammar.py", "advance"),
        "decode each new bar's tokens (SongBuilder.add)": ("window.py", "add"),
        "the song so far for each BarEvent (SongBuilder.song)": ("window.py", "song"),
        "latent sampling": ("latents.py", "target_latents"),
    }
    print(
        f"\nwhere the time goes in one {args.bars}-bar generation ({wall:.3f} s under the profiler):"
    )
    print("| part | seconds | share |")
    print("|---|---|---|")
    accounted = 0.0
    for label, (file, func) in parts.items():
        seconds = sum(v[3] for k, v in stats.stats.items() if k[0].endswith(file) and k[2] == func)
        accounted += seconds
        print(f"| {label} | {seconds:.3f} | {seconds / wall:.0%} |")
    print(
        f"| rest (loop, tensors to lists) | {wall - accounted:.3f} | {(wall - accounted) / wall:.0%} |"
    )
    buffer = io.StringIO()
    pstats.Stats(profile, stream=buffer).sort_stats("tottime").print_stats(10)
    print("\ntop functions by internal time:")
    print("\n".join(line for line in buffer.getvalue().splitlines() if line.strip())[:3000])


if __name__ == "__main__":
    main()
