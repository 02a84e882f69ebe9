"""``emostudio fill PIECE.mid --bars A-B [--emotion E] [--variations K] --out X.mid``.

Bars A..B (1-based, inclusive) re-written with both sides as context; every other bar keeps its
notes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from emostudio.cli.generate import add_model_arguments
from emostudio.cli.pieces import add_emotion_argument, add_variations_argument

HELP = "re-write bars A..B of a MIDI piece, seamless with the bars around them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="PIECE.mid", help="the piece to fill")
    parser.add_argument(
        "--bars", required=True, metavar="A-B", help="the bars to re-write, 1-based: 5-8, or 5"
    )
    add_emotion_argument(parser, "what the filled bars move to")
    add_variations_argument(parser)
    add_model_arguments(parser)


def parse_span(text: str) -> tuple[int, int]:
    """'A-B' or 'A' (1-based, inclusive) -> (first, last), 0-based."""
    from emostudio.cli.main import CommandError

    parts = text.split("-")
    try:
        first, last = (int(parts[0]), int(parts[-1])) if len(parts) <= 2 else (0, -1)
    except ValueError:
        first, last = 0, -1
    if first < 1 or last < first:
        raise CommandError(f"--bars must be A-B with 1 <= A <= B (got {text!r})")
    return first - 1, last - 1


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

    first, last = parse_span(args.bars)
    target = parse_emotion(args.emotion)
    k = check_variations(args)
    song = read_piece(args.input)
    check_outputs(args)
    engine = load_engine(args)
    try:
        songs = engine.fill(song, first, last, target, variations=k, seed=args.seed)
    except EngineError as exc:
        raise CommandError(f"{args.input}: {exc}") from exc
    paths = write_variations(songs, args)
    print(f"{summary(paths, songs)}: bars {first + 1}-{last + 1} of {args.input} re-written")
    return 0
