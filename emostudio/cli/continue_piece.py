"""``emostudio continue PIECE.mid --bars N [--emotion E] [--variations K] --out X.mid``.

The piece followed by N new bars: its last bars are the context (the decoder's memory and the
latents the new bars start from), moving towards E or keeping the piece's emotion.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from emostudio.cli.generate import add_cadence_argument, add_model_arguments
from emostudio.cli.pieces import add_emotion_argument, add_variations_argument

HELP = "continue a MIDI piece by N bars (towards an emotion, or keeping its own)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="PIECE.mid", help="the piece to continue")
    parser.add_argument("--bars", type=int, default=8, metavar="N", help="new bars, default 8")
    add_emotion_argument(parser, "where the continuation moves to")
    add_cadence_argument(parser)
    add_variations_argument(parser)
    add_model_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from emostudio.cli.generate import check_outputs, load_engine
    from emostudio.cli.main import CommandError
    from emostudio.cli.pieces import (
        check_variations,
        parse_emotion,
        read_piece,
        summary,
        write_variations,
    )
    from emostudio.generation import EngineError

    target = parse_emotion(args.emotion)
    k = check_variations(args)
    song = read_piece(args.input)
    check_outputs(args)
    engine = load_engine(args)
    try:
        songs = engine.continue_piece(song, args.bars, target, variations=k, seed=args.seed)
    except EngineError as exc:
        raise CommandError(str(exc)) from exc
    paths = write_variations(songs, args)
    print(f"{summary(paths, songs)}: {song.n_bars} bars of {args.input} + {args.bars} new")
    return 0
