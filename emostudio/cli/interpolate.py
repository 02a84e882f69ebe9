"""``emostudio interpolate A.mid B.mid --bars N [--variations K] --out X.mid``: N bars whose
latents move from A's to B's."""

from __future__ import annotations

import argparse
from pathlib import Path

from emostudio.cli.generate import add_model_arguments
from emostudio.cli.pieces import add_variations_argument

HELP = "write N bars that move from one MIDI piece's latents to another's"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("first", type=Path, metavar="A.mid", help="the piece to start from")
    parser.add_argument("second", type=Path, metavar="B.mid", help="the piece to end at")
    parser.add_argument("--bars", type=int, default=8, metavar="N", help="bars, default 8")
    add_variations_argument(parser)
    add_model_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from emostudio.cli.generate import check_outputs, load_engine
    from emostudio.cli.main import CommandError
    from emostudio.cli.pieces import check_variations, read_piece, summary, write_variations
    from emostudio.generation import EngineError

    k = check_variations(args)
    a, b = read_piece(args.first), read_piece(args.second)
    check_outputs(args)
    engine = load_engine(args)
    try:
        songs = engine.interpolate(a, b, args.bars, variations=k, seed=args.seed)
    except EngineError as exc:
        raise CommandError(str(exc)) from exc
    paths = write_variations(songs, args)
    print(f"{summary(paths, songs)}: from {args.first} to {args.second}")
    return 0
