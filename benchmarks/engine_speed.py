"""Engine speed: model load, 16-bar generation (total and first bar) with the reference decoder
step and the FastDecoder side by side (same seeds, same tokens), 4 pieces in one batch against
one, 16-bar transfer and recognition, KV-cached decoding against recomputing the whole prefix, the
`transformers` GPT-2 of the same width/depth/vocabulary as a peer (if installed: the ``bench``
extra), and a size curve (random weights at 1x, 2x, 4x, 8x the parameters), all in one run.

    .venv/bin/python benchmarks/engine_speed.py [--model DIR] [--repeats 7] [--bars 16]
        [--no-sizes] [--no-peer] [--no-kv] [--device cpu|cuda]

Without ``--model`` the shipped default model (models/default) is used; ``--untrained`` builds
a model of the default ModelConfig size with random weights (its bars run to the full L tokens,
so it is a worst case for generation time). Prints a markdown table and a profile of one
16-bar generation (where the time goes).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
from pathlib import Path

import torch

from emostudio.emotion import Emotion
from emostudio.generation import Engine
from emostudio.generation.decode import ModelSteps
from emostudio.model.fast_decode import FastDecoder
from emostudio.tokens.vocab import PAD

#: d_model of the size curve: about 1x, 2x, 4x and 8x the shipped model's parameters
SIZE_WIDTHS = (128, 192, 280, 408)


def untrained_model_dir(**changes) -> Path:
    """A model folder with random weights: the default ModelConfig with ``changes``."""
    from emostudio.model import CDGMVAE, ModelConfig, save_model
    from emostudio.tokens import TokenizerConfig

    torch.manual_seed(0)
    tc = TokenizerConfig()
    folder = Path(tempfile.mkdtemp()) / "untrained"
    return save_model(CDGMVAE(ModelConfig.for_tokenizer(tc, **changes)), tc, folder)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def generation_times(engine: Engine, bars: int, seed: int) -> tuple[float, float, list[int]]:
    """(total seconds, seconds to the first bar, the piece's tokens) of one generation."""
    t0 = time.perf_counter()
    first = None
    for event in engine.generate(Emotion.from_quadrant(seed % 4 + 1), bars=bars, seed=seed):  # noqa: B007
        if first is None:
            first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    return total, first, list(engine.tokenizer.encode(event.song))


def old_and_new(
    engine: Engine, bars: int, seeds, names: tuple[str, ...] = ("reference", "fast")
) -> dict[str, list]:
    """The same generations (same seeds) with the reference step and the FastDecoder (or those of
    ``names``), alternating per seed so that both see the same machine load; -> per decoder a
    list of generation_times."""
    steps = {"reference": ModelSteps, "fast": FastDecoder}
    decoders = {name: steps[name](engine.model) for name in names}
    out: dict[str, list] = {name: [] for name in decoders}
    for decoder in decoders.values():  # warm-up
        engine.steps = decoder
        list(engine.generate(Emotion.from_quadrant(1), bars=2, seed=123))
    for seed in seeds:
        for name, decoder in decoders.items():
            engine.steps = decoder
            out[name].append(generation_times(engine, bars, seed))
    engine.steps = decoders["fast"]
    return out


def batch_times(engine: Engine, bars: int, seeds, size: int = 4) -> tuple[list, list]:
    """Seconds of ``generate_many`` for one piece and for ``size`` pieces in one batch."""
    ones, many = [], []
    targets = [Emotion.from_quadrant(q % 4 + 1) for q in range(size)]
    for seed in seeds:
        ones.append(timed(lambda s=seed: engine.generate_many(targets[:1], bars, seed=s))[0])
        many.append(timed(lambda s=seed: engine.generate_many(targets, bars, seed=s))[0])
    return ones, many


def peer_tokens_per_second(engine: Engine, n_tokens: int, repeats: int) -> float | None:
    """Tokens per second of ``transformers``' GPT-2 (the width, depth, heads and vocabulary of our
    decoder; random weights) sampling ``n_tokens`` with its KV-cached ``generate`` (top-p 0.95,
    batch 1); None when transformers is not installed."""
    try:
        from transformers import GPT2Config, GPT2LMHeadModel
    except ImportError:
        return None
    c = engine.model.config
    config = GPT2Config(
        vocab_size=c.vocab_size,
        n_positions=max(1024, n_tokens + 1),
        n_embd=c.d_model,
        n_layer=c.n_dec_layers,
        n_head=c.n_heads,
        n_inner=c.ff_mult * c.d_model,
        bos_token_id=None,
        eos_token_id=None,
    )
    model = GPT2LMHeadModel(config).eval().to(engine.device)
    prompt = torch.tensor([[2]], device=engine.device)
    kwargs = dict(
        max_new_tokens=n_tokens,
        min_new_tokens=n_tokens,
        do_sample=True,
        top_p=0.95,
        top_k=0,
        use_cache=True,
        pad_token_id=0,
        eos_token_id=None,
    )
    times = []
    with torch.inference_mode():
        model.generate(prompt, **{**kwargs, "max_new_tokens": 20, "min_new_tokens": 20})  # warm-up
        for _ in range(repeats):
            seconds, out = timed(lambda: model.generate(prompt, **kwargs))
            assert out.shape[1] == n_tokens + 1
            times.append(seconds)
    return n_tokens / statistics.median(times)


def size_curve(bars: int, repeats: int, device: str) -> list[dict]:
    """Per width in SIZE_WIDTHS: parameters, and 16-bar generation with both decoders (random
    weights: bars run to the grammar's limit, a worst case); on the CPU also the FastDecoder with
    2 threads (the engine decodes with 1 by default, leaving a core for playback)."""
    rows = []
    base = None
    for width in SIZE_WIDTHS:
        folder = untrained_model_dir(d_model=width)
        engine = Engine.load(folder, device=device)
        params = sum(p.numel() for p in engine.model.parameters())
        base = base or params
        runs = old_and_new(engine, bars, range(repeats))
        if device == "cpu":
            two = Engine.load(folder, device=device, threads=2)
            runs["fast, 2 threads"] = old_and_new(two, bars, range(repeats), ("fast",))["fast"]
        row = {"width": width, "params": params, "ratio": params / base}
        for name, gens in runs.items():
            totals, firsts, tokens = zip(*gens)
            row[name] = {
                "total": statistics.median(totals),
                "first": statistics.median(firsts),
                "per_token": statistics.median(t / len(k) for t, k in zip(totals, tokens)),
                "tokens": statistics.median(len(k) for k in tokens),
            }
        rows.append(row)
    return rows


def kv_versus_recompute(engine: Engine, bars: int, seed: int) -> dict:
    """Decode the same token sequence (one generated piece) two ways, timing every next-token step.

    Cached: ``decoder_step`` one token at a time with the KV cache and bar memory. Recompute:
    for every token, ``decoder_logits`` over every bar so far (the prefix padded to L per bar),
    keeping only the last position's logits: what decoding costs without a cache."""
    model = engine.model
    song = list(engine.generate(Emotion.from_quadrant(1), bars=bars, seed=seed))[-1].song
    bar_ids = [b[: engine.bar_len] for b in engine.tokenizer.encode_bars(song, bars)]
    z = torch.randn(1, bars, model.config.latent, generator=torch.Generator().manual_seed(seed))
    z = z.to(engine.device)
    n_tokens = sum(len(b) for b in bar_ids)
    with engine._decoding():
        t0 = time.perf_counter()
        state = model.decoder_start(1)
        cached_last = []
        for t, bar in enumerate(bar_ids):
            for token in bar:
                token_in = torch.tensor([[int(token)]], device=engine.device)
                logits, state = model.decoder_step(token_in, z[:, t], state)
                cached_last.append(logits[0, -1])
            state = model.decoder_next_bar(state)
        cached = time.perf_counter() - t0

        grid = torch.full((1, bars, engine.bar_len), PAD, dtype=torch.long, device=engine.device)
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
    parser.add_argument("--no-kv", action="store_true", help="skip cached-vs-recompute")
    parser.add_argument("--no-peer", action="store_true", help="skip the GPT-2 peer")
    parser.add_argument("--no-sizes", action="store_true", help="skip the size curve")
    parser.add_argument("--size-repeats", type=int, default=3)
    parser.add_argument(
        "--device", default="cpu", help="cpu or cuda (the engine's; default cpu, the budget's)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    folder = untrained_model_dir() if args.untrained else args.model

    loads = []
    for _ in range(args.repeats):
        seconds, engine = timed(lambda: Engine.load(folder, device=args.device))
        loads.append(seconds)

    runs = old_and_new(engine, args.bars, range(args.repeats))
    same_tokens = sum(a[2] == b[2] for a, b in zip(runs["reference"], runs["fast"]))
    ones, fours = batch_times(engine, args.bars, range(args.repeats))

    sources = [
        list(engine.generate(Emotion.from_quadrant(2), bars=args.bars, seed=100 + i))[-1].song
        for i in range(args.repeats)
    ]
    transfers = [  # the shipped method: edit (the rules steered by the model)
        timed(lambda s=s: list(engine.transfer(s, Emotion.from_quadrant(4), seed=1)))[0]
        for s in sources
    ]
    rewrites = [
        timed(
            lambda s=s: list(engine.transfer(s, Emotion.from_quadrant(4), seed=1, method="rewrite"))
        )[0]
        for s in sources
    ]
    recognise = [timed(lambda s=s: engine.recognise(s))[0] for s in sources]

    med = statistics.median
    c = engine.model.config
    print(
        f"model: {engine.model_dir} (d_model {c.d_model}, decoder layers {c.n_dec_layers}, "
        f"L {engine.bar_len}); torch {torch.__version__}, threads 1; repeats {args.repeats}; "
        f"device {engine.device}"
    )
    print()
    print("| what | reference step | FastDecoder | ratio | target |")
    print("|---|---|---|---|---|")
    stats = {}
    for name, gens in runs.items():
        totals, firsts, tokens = zip(*gens)
        stats[name] = {
            "total": med(totals),
            "first": med(firsts),
            "per_token": med(t / len(k) for t, k in zip(totals, tokens)),
            "tokens": med(len(k) for k in tokens),
        }
    ref, fast = stats["reference"], stats["fast"]
    print(
        f"| generate {args.bars} bars (median) | {ref['total']:.3f} s | {fast['total']:.3f} s | "
        f"{ref['total'] / fast['total']:.2f}x | ≤ 0.25 s |"
    )
    print(
        f"| first bar ready (median) | {1000 * ref['first']:.1f} ms | {1000 * fast['first']:.1f} ms "
        f"| {ref['first'] / fast['first']:.2f}x | ≤ 25 ms |"
    )
    print(
        f"| per token, whole loop (median) | {1000 * ref['per_token']:.3f} ms | "
        f"{1000 * fast['per_token']:.3f} ms | {ref['per_token'] / fast['per_token']:.2f}x | ≥ 3x |"
    )
    print()
    print(
        f"same tokens from both steps: {same_tokens} of {args.repeats} pieces (median "
        f"{fast['tokens']:.0f} tokens per piece)"
    )
    print()
    print("| what (FastDecoder) | median | min | max | target |")
    print("|---|---|---|---|---|")
    print(
        f"| model load (`Engine.load`) | {med(loads):.3f} s | {min(loads):.3f} | {max(loads):.3f} | ≤ 0.1 s |"
    )
    print(f"| 1 piece, `generate_many` | {med(ones):.3f} s | {min(ones):.3f} | {max(ones):.3f} | |")
    print(
        f"| 4 pieces in one batch | {med(fours):.3f} s | {min(fours):.3f} | {max(fours):.3f} | "
        f"≤ 1.5x one: **{med(fours) / med(ones):.2f}x** |"
    )
    print(
        f"| transfer {args.bars} bars (edit) | {med(transfers):.3f} s | {min(transfers):.3f} | "
        f"{max(transfers):.3f} | ≤ 0.6 s |"
    )
    print(
        f"| transfer {args.bars} bars (rewrite) | {med(rewrites):.3f} s | {min(rewrites):.3f} | "
        f"{max(rewrites):.3f} | |"
    )
    print(
        f"| recognise {args.bars} bars | {1000 * med(recognise):.1f} ms | {1000 * min(recognise):.1f} | "
        f"{1000 * max(recognise):.1f} | ≤ 30 ms |"
    )

    if not args.no_peer:
        n_peer = int(fast["tokens"])
        peer = peer_tokens_per_second(engine, n_peer, args.repeats)
        ours = 1 / fast["per_token"]
        print()
        if peer is None:
            print("peer: transformers is not installed (pip install -e .[bench])")
        else:
            print(
                f"peer, {n_peer} tokens at batch 1: transformers GPT-2 `generate` (width "
                f"{c.d_model}, {c.n_dec_layers} layers, {c.n_heads} heads, vocabulary "
                f"{c.vocab_size}, KV cache, top-p 0.95) **{peer:.0f} tokens/s**; ours (whole "
                f"loop: grammar, sampling, bar memory) **{ours:.0f} tokens/s** "
                f"({ours / peer:.2f}x); reference step {1 / ref['per_token']:.0f} tokens/s"
            )

    if not args.no_kv:
        kv = kv_versus_recompute(engine, args.kv_bars, seed=5)
        print()
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
    pstat = pstats.Stats(profile)
    parts = {
        "decoder step (FastDecoder.step)": ("fast_decode.py", "step"),
        "bar memory (FastDecoder.next_bar)": ("fast_decode.py", "next_bar"),
        "sampling (mask, softmax, top-p, draw)": ("sampling.py", "sample_next"),
        "grammar masks (the allowed columns)": ("grammar.py", "choices"),
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
        seconds = sum(v[3] for k, v in pstat.stats.items() if k[0].endswith(file) and k[2] == func)
        accounted += seconds
        print(f"| {label} | {seconds:.3f} | {seconds / wall:.0%} |")
    print(
        f"| rest (loop, tensors to lists) | {wall - accounted:.3f} | {(wall - accounted) / wall:.0%} |"
    )

    if not args.no_sizes:
        print()
        print(
            f"size curve: random weights (bars run to the grammar's limit: a worst case), "
            f"{args.bars} bars, median of {args.size_repeats}"
        )
        print()
        print(
            "| d_model | parameters | x shipped | tokens | reference ms/token | fast ms/token "
            f"| ratio | fast {args.bars} bars | fast first bar | fast, 2 threads: ms/token "
            f"| {args.bars} bars |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for row in size_curve(args.bars, args.size_repeats, args.device):
            r, f = row["reference"], row["fast"]
            two = row.get("fast, 2 threads")
            print(
                f"| {row['width']} | {row['params'] / 1e6:.2f} M | {row['ratio']:.2f} | "
                f"{f['tokens']:.0f} | {1000 * r['per_token']:.3f} | {1000 * f['per_token']:.3f} | "
                f"{r['per_token'] / f['per_token']:.2f}x | {f['total']:.3f} s | "
                f"{1000 * f['first']:.1f} ms | "
                + (f"{1000 * two['per_token']:.3f} | {two['total']:.3f} s |" if two else "| |")
            )


if __name__ == "__main__":
    main()
