"""``emostudio transfer IN.mid --to EMOTION [--strength L] [--only arousal|valence] --out OUT.mid``.

Re-writes a piece towards a target emotion, keeping its bar count, tempo and instruments. Prints
the emotion the model recognises in the piece before and after.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emostudio.cli.generate import add_model_arguments

HELP = "move the emotion of an existing MIDI piece towards a target emotion"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="IN.mid", help="the MIDI file to transfer")
    parser.add_argument(
        "--to",
        required=True,
        metavar="EMOTION",
        help="happy, tense, sad, calm, Q1..Q4, or 'valence,arousal'",
    )
    parser.add_argument(
        "--strength",
        type=float,
        default=1.0,
        metavar="L",
        help="how far to move, 0 (not at all) .. 1 (all the way), default 1",
    )
    parser.add_argument("--only", choices=("arousal", "valence"), help="move only this dimension")
    from emostudio.cli.pieces import add_variations_argument

    add_variations_argument(parser)
    add_model_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from emostudio.cli.generate import check_outputs, load_engine, run_engine, write_outputs
    from emostudio.cli.main import CommandError
    from emostudio.decoding import check_piece
    from emostudio.emotion import Emotion, EmotionError
    from emostudio.generation import DIMENSIONS, EngineError
    from emostudio.midi import MidiReadError, read_midi
    from emostudio.piece_rules import UNPITCHED_NOTE, heard_part, is_unpitched, long_piece_note

    try:
        target = Emotion.parse(args.to)
    except EmotionError as exc:
        raise CommandError(str(exc)) from exc
    if not 0.0 <= args.strength <= 1.0:
        raise CommandError(f"--strength must be in [0, 1], got {args.strength}")
    try:
        song = read_midi(args.input)
    except MidiReadError as exc:
        raise CommandError(str(exc)) from exc
    try:
        check_piece(song, f"{args.input}: the MIDI file", max_bars=None)
    except EngineError as exc:
        raise CommandError(str(exc)) from exc
    from emostudio.cli.pieces import check_variations, summary, write_variations

    k = check_variations(args)
    name = Path(args.input).name
    note = long_piece_note(name, song.n_bars)
    if note is not None:
        print(note, file=sys.stderr)
    if is_unpitched(song):
        print(f"{name}: {UNPITCHED_NOTE}", file=sys.stderr)
    song = heard_part(song)  # as the app does (emostudio.piece_rules)
    check_outputs(args)
    engine = load_engine(args)
    dims = (args.only,) if args.only else DIMENSIONS
    try:
        before = engine.recognise(song)
    except EngineError as exc:
        raise CommandError(f"{name}: {exc}") from exc
    if k > 1:
        songs = engine.transfer_many([song] * k, [target] * k, args.strength, dims, seed=args.seed)
        print(f"{name}: recognised {before.emotion}")
        print(f"{summary(write_variations(songs, args), songs)}, moved towards {target}")
        return 0
    result = run_engine(
        engine.transfer(
            song,
            target,
            strength=args.strength,
            dims=dims,
            seed=args.seed,
        ),
        "transferring",
    )
    write_outputs(result, args)
    after = engine.recognise(result)
    print(f"{args.input}: recognised {before.emotion}")
    extra = f" and {args.wav}" if args.wav is not None else ""
    print(
        f"wrote {args.out}{extra}: {result.n_bars} bars, moved {'/'.join(dims)} towards {target} "
        f"(strength {args.strength:g}); recognised {after.emotion}"
    )
    return 0
