"""``emostudio transfer IN.mid --to EMOTION [--strength L] [--only arousal|valence] [--method
edit|rewrite] [--keep melody,rhythm,...] --out OUT.mid``, or ``emostudio transfer IN.mid
--rhythm-from B.mid | --key-from B.mid --out OUT.mid``.

Moves a piece towards a target emotion. The shipped method, ``edit``, edits the piece's own notes
(mode, register, tempo, velocity, density) from the model's hearing of it; ``rewrite``
re-writes it from its moved latents, keeping its bar count, tempo and instruments. ``--keep`` locks
elements (edit only). Strength 0 returns the input unchanged. With a donor, the piece takes B's
rhythm latents (z_r) or key latents (z_k) and keeps its own other latents (decoded with the piece as
template). Prints the emotion the model recognises in the piece before and after.
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
        "--emotion",
        dest="to",
        metavar="EMOTION",
        help="happy, tense, sad, calm, Q1..Q4, or 'valence,arousal' (needed unless a donor is "
        "given; --emotion as generate, continue and fill spell it)",
    )
    parser.add_argument(
        "--strength",
        type=float,
        default=1.0,
        metavar="L",
        help="how far to move, 0 (not at all) .. 1 (all the way), default 1",
    )
    parser.add_argument("--only", choices=("arousal", "valence"), help="move only this dimension")
    parser.add_argument(
        "--method",
        choices=("edit", "rewrite"),
        default="edit",
        help="edit the piece's notes (default) or re-write it from moved latents",
    )
    parser.add_argument(
        "--keep",
        default="",
        metavar="ELEMENTS",
        help="comma-separated elements that stay exactly: melody, rhythm, accompaniment, "
        "dynamics, tempo (edit method)",
    )
    donor = parser.add_mutually_exclusive_group()
    donor.add_argument(
        "--rhythm-from",
        type=Path,
        metavar="B.mid",
        help="take B's rhythm (its rhythm latents) and keep this piece's key",
    )
    donor.add_argument(
        "--key-from",
        type=Path,
        metavar="B.mid",
        help="take B's key (its key latents) and keep this piece's rhythm",
    )
    from emostudio.cli.pieces import add_variations_argument

    add_variations_argument(parser)
    add_model_arguments(parser)


def _read(path: Path, what: str):
    """The part of the MIDI file at ``path`` the engine hears (emostudio.piece_rules, as the app
    does), notes about a long, drums-only or not-4/4 piece on stderr; a CommandError for a bad file."""
    from emostudio.cli.main import CommandError
    from emostudio.decoding import check_piece
    from emostudio.generation import EngineError
    from emostudio.midi import MidiReadError, read_midi
    from emostudio.piece_rules import (
        UNPITCHED_NOTE,
        heard_part,
        is_unpitched,
        long_piece_note,
        meter_note,
    )

    try:
        song = read_midi(path)
        check_piece(song, f"{path}: {what}", max_bars=None)
    except (MidiReadError, EngineError) as exc:
        raise CommandError(str(exc)) from exc
    name = Path(path).name
    note = long_piece_note(name, song.n_bars)
    if note is not None:
        print(note, file=sys.stderr)
    if is_unpitched(song):
        print(f"{name}: {UNPITCHED_NOTE}", file=sys.stderr)
    meter = meter_note(song)
    if meter is not None:
        print(f"{name}: {meter}", file=sys.stderr)
    return heard_part(song)


def _keep(text: str):
    from emostudio.cli.main import CommandError
    from emostudio.transform import Element

    try:
        return frozenset(Element.parse(t) for t in text.split(",") if t.strip())
    except ValueError as exc:
        raise CommandError(f"--keep: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    from emostudio.cli.generate import check_outputs, load_engine, run_engine, write_outputs
    from emostudio.cli.main import CommandError
    from emostudio.emotion import Emotion, EmotionError
    from emostudio.generation import DIMENSIONS, EngineError

    donor_path = args.rhythm_from or args.key_from
    element = "rhythm" if args.rhythm_from else "key"
    if donor_path is not None and args.to is not None:
        raise CommandError(f"--{element}-from takes the donor's {element}: leave out --to")
    if donor_path is None and args.to is None:
        raise CommandError(
            "say where to move: --to EMOTION (or take a donor's element: --rhythm-from / --key-from)"
        )
    keep = _keep(args.keep)
    from emostudio.cli.pieces import check_variations, summary, write_variations

    k = check_variations(args)
    if k > 1 and (donor_path is not None or args.method != "rewrite"):
        raise CommandError(
            "--variations needs --to and --method rewrite (edit and the donor's element give one "
            "result)"
        )
    if not 0.0 <= args.strength <= 1.0:
        raise CommandError(f"--strength must be in [0, 1], got {args.strength}")
    target = None
    if args.to is not None:
        try:
            target = Emotion.parse(args.to)
        except EmotionError as exc:
            raise CommandError(str(exc)) from exc
    song = _read(args.input, "the MIDI file")
    donor = _read(donor_path, "the donor MIDI file") if donor_path is not None else None
    check_outputs(args)
    engine = load_engine(args)
    dims = (args.only,) if args.only else DIMENSIONS
    try:
        before = engine.recognise(song)
    except EngineError as exc:
        raise CommandError(f"{Path(args.input).name}: {exc}") from exc
    if k > 1:
        songs = engine.transfer_many(
            [song] * k, [target] * k, args.strength, dims, seed=args.seed, method="rewrite"
        )
        print(f"{args.input}: recognised {before.emotion}")
        print(f"{summary(write_variations(songs, args), songs)}, re-written towards {target}")
        return 0
    if donor is not None:
        events = engine.transfer_element(song, donor, element, seed=args.seed)
        result = run_engine(events, f"taking the {element}")
    else:
        events = engine.transfer(
            song,
            target,
            strength=args.strength,
            dims=dims,
            seed=args.seed,
            method=args.method,
            keep=keep,
        )
        result = run_engine(events, "transferring")
    write_outputs(result, args)
    after = engine.recognise(result)
    print(f"{args.input}: recognised {before.emotion}")
    extra = f" and {args.wav}" if args.wav is not None else ""
    if donor is not None:
        did = f"took the {element} of {donor_path}"
    elif args.strength == 0.0:
        did = "strength 0: the input unchanged"
    else:
        kept = f", kept {', '.join(sorted(e.value for e in keep))}" if keep else ""
        did = (
            f"moved {'/'.join(dims)} towards {target} "
            f"(strength {args.strength:g}, {args.method}{kept})"
        )
    print(f"wrote {args.out}{extra}: {result.n_bars} bars, {did}; recognised {after.emotion}")
    return 0
