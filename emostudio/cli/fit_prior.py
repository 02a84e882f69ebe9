"""``emostudio fit-prior``: fit a trained model's generation prior on its corpus cache.

``emostudio fit-prior --model DIR --cache CACHE_DIR [--components C] [--confidence P]``
encodes the cache's labelled training pieces in every transposition and writes
``DIR/fitted_prior.safetensors`` (see :mod:`emostudio.model.fitted_prior`). From then on the
engine samples generation latents from it; ``--prior learned`` on the engine's commands goes back
to the model's own prior.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "fit a trained model's generation prior on a corpus cache"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", type=Path, required=True, metavar="DIR", help="the model folder to fit for"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        required=True,
        metavar="CACHE_DIR",
        help="the corpus cache it was trained on (emostudio prepare)",
    )
    # defaults come from FitSettings inside run(): importing it here would load torch for every command
    parser.add_argument(
        "--components",
        type=int,
        metavar="C",
        help="mixture components per class (default: the shipped model's setting, 12)",
    )
    parser.add_argument(
        "--confidence",
        type=float,
        metavar="P",
        help="keep windows the model recognises as their labelled class with at least "
        "this probability (default: the shipped model's setting, 0.8)",
    )
    parser.add_argument(
        "--device", default="auto", choices=("auto", "cpu", "cuda"), help="default: auto"
    )
    parser.add_argument(
        "--threads", type=int, default=0, metavar="N", help="torch CPU threads (0: default)"
    )


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from emostudio.cli.main import CommandError
    from emostudio.corpus import CacheError, load_cache
    from emostudio.model.fitted_prior import FittedPriorError
    from emostudio.model.store import (
        ModelLoadError,
        load_model,
        prior_fingerprint,
        save_fitted_prior,
    )
    from emostudio.training.fit_prior import FitSettings, fit_prior

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        given = {"components": args.components, "confidence": args.confidence}
        settings = FitSettings(
            **{name: value for name, value in given.items() if value is not None}
        )
        model, tokenizer = load_model(args.model, args.device)
        cache = load_cache(args.cache)
    except (FittedPriorError, ModelLoadError, CacheError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    if cache.tokenizer_config != tokenizer.config:
        raise CommandError(f"{args.cache} was prepared with another tokenizer than {args.model}")
    bar = tqdm(total=0, unit="window", desc="encoding", file=sys.stderr, disable=None)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        prior = fit_prior(model, cache, prior_fingerprint(args.model), settings, progress)
    except FittedPriorError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        bar.close()
    path = save_fitted_prior(args.model, prior)
    bars = prior.info["bars"]
    print(
        f"wrote {path}: {settings.components} components per class; bars fitted "
        f"arousal {bars['arousal']['low_bars']} low / {bars['arousal']['high_bars']} high, "
        f"valence {bars['valence']['low_bars']} low / {bars['valence']['high_bars']} high"
    )
    return 0
