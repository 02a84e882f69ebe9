"""``emostudio tokens IN.mid [--decode OUT.mid] [--ids]``: show a file's event tokens, or round-trip it."""

from __future__ import annotations

import argparse

from emostudio.cli.main import CommandError

HELP = "print a MIDI file's event tokens, one bar per line (or write the decoded round trip)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="IN.mid", help="MIDI file to tokenise")
    parser.add_argument(
        "--decode",
        metavar="OUT.mid",
        help="decode the tokens again and write the result here instead of printing them",
    )
    parser.add_argument("--ids", action="store_true", help="print token ids instead of names")


def run(args: argparse.Namespace) -> int:
    from emostudio.midi import MidiReadError, read_midi, write_midi
    from emostudio.tokens import Tokenizer

    try:
        song = read_midi(args.input)
    except MidiReadError as exc:
        raise CommandError(str(exc)) from None
    tokenizer = Tokenizer()
    bars = tokenizer.encode_bars(song)
    if args.decode is None:
        for bar in bars:
            print(
                " ".join(map(str, bar.tolist()))
                if args.ids
                else " ".join(tokenizer.vocab.to_names(bar))
            )
        print(tokenizer.vocab.eos if args.ids else "EOS")
        return 0

    ids = tokenizer.encode(song)
    result = tokenizer.decode(ids, template=song)
    try:
        write_midi(result.song, args.decode)
    except OSError as exc:
        raise CommandError(f"{args.decode}: cannot write ({exc.strerror or exc})") from None
    original = song.note_count
    on_grid = tokenizer.quantise(song).as_set()
    kept = len(on_grid & tokenizer.quantise(result.song).as_set())
    print(f"wrote {args.decode}: {len(bars)} bars, {len(ids)} tokens")
    print(
        f"notes: {original} in {args.input}, {len(on_grid)} on the grid, {kept} kept, "
        f"{original - kept} skipped (merged by quantisation or lost)"
    )
    if result.n_skipped:
        print(f"decoder skipped {result.n_skipped} tokens: {result.reasons}")
    return 0
