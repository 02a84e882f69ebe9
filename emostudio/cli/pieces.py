"""What the commands that work with pieces share: reading a piece, an optional emotion, and
``--variations K`` (X.mid -> X-1.mid ... X-K.mid, decoded as one batch)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_variations_argument(parser: argparse.ArgumentParser) -> None:
    from emostudio.decoding import MAX_VARIATIONS

    parser.add_argument(
        "--variations",
        type=int,
        default=1,
        metavar="K",
        help=f"write K alternatives (OUT-1.mid .. OUT-K.mid), decoded as one batch; "
        f"1..{MAX_VARIATIONS}, default 1 (OUT.mid)",
    )


def check_variations(args: argparse.Namespace) -> int:
    from emostudio.cli.main import CommandError
    from emostudio.decoding import MAX_VARIATIONS

    if not 1 <= args.variations <= MAX_VARIATIONS:
        raise CommandError(f"--variations must be in 1..{MAX_VARIATIONS}, got {args.variations}")
    return int(args.variations)


def variation_path(path: Path | None, i: int, k: int) -> Path | None:
    """``path`` itself for a single result (k = 1), else ``stem-i.suffix`` (i from 1)."""
    if path is None or k == 1:
        return path
    return path.with_name(f"{path.stem}-{i}{path.suffix}")


def write_variations(songs, args: argparse.Namespace) -> list[Path]:
    """Each song to its :func:`variation_path` (and WAV beside it with ``--wav``); the MIDI paths."""
    from emostudio.cli.generate import write_outputs

    k = len(songs)
    written = []
    for i, song in enumerate(songs, start=1):
        one = argparse.Namespace(**vars(args))
        one.out, one.wav = variation_path(args.out, i, k), variation_path(args.wav, i, k)
        write_outputs(song, one)
        written.append(one.out)
    return written


def read_piece(path: Path):
    """The MIDI file as a song (a note on stderr when it is not in bars of four beats:
    :func:`~emostudio.piece_rules.meter_note`); a :class:`CommandError` if unreadable or without
    notes."""
    from emostudio.cli.main import CommandError
    from emostudio.decoding import EngineError, check_piece
    from emostudio.midi import MidiReadError, read_midi
    from emostudio.piece_rules import meter_note

    try:
        song = read_midi(path)
        check_piece(song, f"{path}: the MIDI file")
    except (MidiReadError, EngineError) as exc:
        raise CommandError(str(exc)) from exc
    meter = meter_note(song)
    if meter is not None:
        print(f"{Path(path).name}: {meter}", file=sys.stderr)
    return song


def parse_emotion(text: str | None):
    """``--emotion`` as an :class:`~emostudio.emotion.Emotion`, or None when not given."""
    from emostudio.cli.main import CommandError
    from emostudio.emotion import Emotion, EmotionError

    if text is None:
        return None
    try:
        return Emotion.parse(text)
    except EmotionError as exc:
        raise CommandError(str(exc)) from exc


def add_emotion_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--emotion",
        "-e",
        metavar="EMOTION",
        help=f"happy, tense, sad, calm, Q1..Q4, or 'valence,arousal': {what} "
        "(default: the piece's own)",
    )


def summary(paths: list[Path], songs) -> str:
    """One line: what was written."""
    names = ", ".join(str(p) for p in paths)
    sizes = ", ".join(f"{s.n_bars} bars" for s in songs[:1])
    return f"wrote {names}: {sizes}" + (
        f" each ({len(songs)} variations)" if len(songs) > 1 else ""
    )
