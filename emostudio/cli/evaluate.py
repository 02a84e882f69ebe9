"""``emostudio evaluate [--model DIR] --data DATA_DIR --out REPORT_DIR``: measure a model.

Trains (or loads, ``--judge``) the reference emotion judge on EMOPIA's training split, then
generates, transfers and recognises with the model and writes ``EVALUATION.md``,
``results.json``, ``judge.json`` and PNG figures to REPORT_DIR (see
:mod:`emostudio.evaluation.report`). ``--markdown PATH`` also writes the report there, with
figure links relative to it. ``--render-only RESULTS.json`` measures nothing: it writes the
report again from a stored results file (its EVALUATION.md, and the ``--markdown`` copy).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emostudio.cli.generate import add_cadence_argument, add_prior_argument
from emostudio.cli.main import seed_value
from emostudio.decoding import (
    DEFAULT_BASS,
    DEFAULT_CONTINUITY,
    DEFAULT_LATENT_DRAWS,
    DEFAULT_LATENT_TEMPERATURE,
    DEFAULT_RHYTHM_PERSISTENCE,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
)

HELP = "evaluate a model: judged emotion accuracy, transfer, disentanglement, realism, copying"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", type=Path, metavar="DIR", help="model folder (default: the shipped model)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DATA_DIR",
        help="the corpus folder (e.g. ../shared/data)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        metavar="CACHE_DIR",
        help="take the splits from this corpus cache (default: assign them as prepare does)",
    )
    parser.add_argument(
        "--out", "-o", type=Path, metavar="REPORT_DIR", help="where the report goes"
    )
    parser.add_argument(
        "--render-only",
        type=Path,
        metavar="RESULTS.json",
        help="measure nothing: write the report again from this results file (beside it, and "
        "to --markdown)",
    )
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="also write the report here")
    parser.add_argument(
        "--judge", type=Path, metavar="JUDGE.json", help="use this judge instead of training one"
    )
    parser.add_argument(
        "--pieces-per-quadrant", type=int, default=100, metavar="N", help="default 100"
    )
    parser.add_argument(
        "--bars", type=int, default=16, metavar="N", help="bars per piece, default 16"
    )
    parser.add_argument(
        "--transfer-pieces",
        type=int,
        default=0,
        metavar="N",
        help="test clips to transfer (default 0: all)",
    )
    parser.add_argument(
        "--sweep-pieces", type=int, default=24, metavar="N", help="clips in the strength sweep"
    )
    parser.add_argument(
        "--seam-pieces", type=int, default=24, metavar="N", help="clips continued and filled"
    )
    parser.add_argument(
        "--swap-pairs", type=int, default=40, metavar="N", help="pairs in the latent swap test"
    )
    parser.add_argument(
        "--fidelity-pieces",
        type=int,
        default=24,
        metavar="N",
        help="clips in the fidelity section (each method, each strength)",
    )
    parser.add_argument(
        "--element-pairs",
        type=int,
        default=16,
        metavar="N",
        help="(recipient, donor) pairs in the element transfer",
    )
    parser.add_argument("--seed", type=seed_value, default=0, metavar="S")
    parser.add_argument(
        "--temperature",
        type=float,
        default=DEFAULT_TEMPERATURE,
        metavar="T",
        help=f"default {DEFAULT_TEMPERATURE}",
    )
    parser.add_argument(
        "--top-p", type=float, default=DEFAULT_TOP_P, metavar="P", help=f"default {DEFAULT_TOP_P}"
    )
    parser.add_argument(
        "--bass",
        type=float,
        default=DEFAULT_BASS,
        metavar="B",
        help=f"bass bias: each bar's first note drawn into the bass (default {DEFAULT_BASS:g})",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=64,
        metavar="B",
        help="pieces decoded together, default 64",
    )
    parser.add_argument(
        "--continuity",
        type=float,
        default=DEFAULT_CONTINUITY,
        metavar="RHO",
        help="correlation of neighbouring bars' key-latent noise in generation "
        f"(default {DEFAULT_CONTINUITY}; 0: an independent draw per bar)",
    )
    parser.add_argument(
        "--latent-temperature",
        type=float,
        default=DEFAULT_LATENT_TEMPERATURE,
        metavar="TAU",
        help=f"scale of the prior draw's spread in generation (default {DEFAULT_LATENT_TEMPERATURE})",
    )
    parser.add_argument(
        "--rhythm-persistence",
        type=float,
        default=DEFAULT_RHYTHM_PERSISTENCE,
        metavar="P",
        help="with a fitted prior, the probability that a bar keeps the previous bar's rhythm "
        f"component (default {DEFAULT_RHYTHM_PERSISTENCE}; 0: a component drawn every bar)",
    )
    parser.add_argument(
        "--latent-draws",
        type=int,
        default=DEFAULT_LATENT_DRAWS,
        metavar="K",
        help="latent candidates drawn per generated piece, the one the model hears as most "
        f"typical of the target decoded (default {DEFAULT_LATENT_DRAWS}; 1: the first draw)",
    )
    add_cadence_argument(parser)
    add_prior_argument(parser)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="torch CPU threads while decoding (default 1: fastest for token-by-token "
        "decoding, and safe on a busy machine; 0: torch's choice)",
    )


def run(args: argparse.Namespace) -> int:
    from emostudio.cli.generate import decoding_settings
    from emostudio.cli.main import CommandError
    from emostudio.corpus.cache import CacheError
    from emostudio.corpus.sources import CorpusError
    from emostudio.evaluation.data import EvaluationCorpus
    from emostudio.evaluation.judge import JudgeError
    from emostudio.evaluation.report import EvaluationDone, EvaluationSettings, evaluate
    from emostudio.generation import Engine, EngineError
    from emostudio.model.store import ModelLoadError

    if args.render_only is not None:
        return _render_only(args.render_only, args.markdown)
    if args.data is None or args.out is None:
        raise CommandError("--data and --out are needed (or --render-only RESULTS.json)")
    for name in ("pieces_per_quadrant", "bars", "batch_size"):
        if getattr(args, name) < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be at least 1")
    if args.out.exists() and not args.out.is_dir():
        raise CommandError(f"{args.out} exists and is not a folder")
    if args.judge is not None and not args.judge.is_file():
        raise CommandError(f"{args.judge}: no such judge file")
    decoding = decoding_settings(args)
    try:
        engine = Engine.load(
            args.model,
            device=args.device,
            threads=args.threads or None,
            settings=decoding,
            prior=args.prior,
        )
    except ModelLoadError as exc:
        raise CommandError(str(exc)) from exc
    try:
        corpus = EvaluationCorpus(args.data, args.cache)
    except (CorpusError, CacheError) as exc:
        raise CommandError(str(exc)) from exc
    settings = EvaluationSettings(
        pieces_per_quadrant=args.pieces_per_quadrant,
        bars=args.bars,
        transfer_pieces=args.transfer_pieces,
        sweep_pieces=args.sweep_pieces,
        swap_pairs=args.swap_pairs,
        seam_pieces=args.seam_pieces,
        fidelity_pieces=args.fidelity_pieces,
        element_pairs=args.element_pairs,
        seed=args.seed,
        batch_size=args.batch_size,
    )
    done = None
    try:
        for event in evaluate(engine, corpus, args.out, args.judge, settings, args.markdown):
            if isinstance(event, EvaluationDone):
                done = event
            else:
                print(f"[{event.stage}] {event.text}", file=sys.stderr, flush=True)
    except (JudgeError, EngineError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    assert done is not None
    r = done.results
    j, g, t = r.judge.test, r.generation, r.transfer
    print(
        f"judge (EMOPIA test): quadrant {j.quadrant:.3f}, arousal {j.arousal:.3f}, "
        f"valence {j.valence:.3f}"
    )
    print(f"generated: quadrant {g.quadrant:.3f}, arousal {g.arousal:.3f}, valence {g.valence:.3f}")
    print(
        f"transfer at strength 1: quadrant {t.quadrant:.3f} "
        f"({t.quadrant_changed_targets:.3f} on changed targets)"
    )
    print(
        f"copying: longest {r.copy.generated_max_bars} bars; wrote {len(done.files)} files to {args.out}"
    )
    return 0


def _render_only(results: Path, markdown: Path | None) -> int:
    import json

    from emostudio.cli.main import CommandError
    from emostudio.evaluation.report import render_report

    try:
        files = render_report(results, markdown)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CommandError(f"{results}: cannot render the report ({exc})") from exc
    for path in files:
        print(f"wrote {path}")
    return 0
