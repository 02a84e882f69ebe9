"""What one matrix product of the decode step costs as the weights it cycles through outgrow the
core's L2 cache, in fp32 and in bf16 (BENCHMARKS.md, "Why the step is not faster").

    PYTHONPATH=. .venv/bin/python benchmarks/weight_streaming.py [--repeats 2000]

A decoder layer of the shipped width (128) has four products per token: q/k/v (128 x 384), the
attention's projection (128 x 128), the MLP's up (128 x 512) and down (512 x 128). The script
runs those of 1, 2, 3 and 6 layers in turn, one token (batch 1) and four (batch 4), 1 torch
thread, and prints the mean time of one product; then the shipped decoder's 13 products (three
layers and the output head, 128 x 923) with the weights in fp32 and in bf16 (the activations
converted to bf16 before each product, as a bf16 step would have to).
"""

from __future__ import annotations

import argparse
import timeit

import torch

LAYER = [(128, 384), (128, 128), (128, 512), (512, 128)]
HEAD = (128, 923)


def per_product(shapes, dtype: torch.dtype, batch: int, repeats: int) -> float:
    """Mean µs of one product, cycling through weights of ``shapes`` in ``dtype``."""
    weights = [torch.randn(*s).to(dtype) for s in shapes]
    inputs = {n: torch.randn(batch, n) for n in {s[0] for s in shapes}}

    def step() -> None:
        for w in weights:
            torch.mm(inputs[w.shape[0]].to(dtype), w)

    with torch.inference_mode():
        step()
        seconds = timeit.timeit(step, number=repeats)
    return seconds / repeats / len(weights) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| layers | fp32 weights | µs a product, batch 1 | batch 4 |\n|---|---|---|---|")
    for layers in (1, 2, 3, 6):
        shapes = LAYER * layers
        mb = sum(a * b for a, b in shapes) * 4 / 1e6
        one = per_product(shapes, torch.float32, 1, args.repeats)
        four = per_product(shapes, torch.float32, 4, args.repeats)
        print(f"| {layers} | {mb:.2f} MB | {one:.1f} | {four:.1f} |")
    shipped = LAYER * 3 + [HEAD]
    print(
        "\n| the shipped decoder's 13 products | weights | µs, batch 1 | batch 4 |\n|---|---|---|---|"
    )
    for dtype, size in ((torch.float32, 4), (torch.bfloat16, 2)):
        mb = sum(a * b for a, b in shipped) * size / 1e6
        one = per_product(shipped, dtype, 1, args.repeats) * len(shipped)
        four = per_product(shipped, dtype, 4, args.repeats) * len(shipped)
        print(f"| {str(dtype).removeprefix('torch.')} | {mb:.2f} MB | {one:.0f} | {four:.0f} |")


if __name__ == "__main__":
    main()
