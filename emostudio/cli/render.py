"""``emostudio render IN.mid --out OUT.wav [--soundfont SF]``: a MIDI file to audio with FluidSynth."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "render a MIDI file to a WAV file with FluidSynth and a General MIDI soundfont"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="IN.mid", help="the MIDI file to render")
    parser.add_argument(
        "--out", "-o", type=Path, metavar="OUT.wav", help="the WAV file to write (default: IN.wav)"
    )
    parser.add_argument(
        "--soundfont",
        type=Path,
        metavar="SF",
        help="a .sf2/.sf3 soundfont (default: $EMOSTUDIO_SOUNDFONT or the best one installed)",
    )
    parser.add_argument(
        "--sample-rate", type=int, default=44100, metavar="HZ", help="default 44100"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    from emostudio.cli.main import CommandError
    from emostudio.midi import MidiReadError, read_midi
    from emostudio.playback import PlaybackError, RenderDone, SoundfontNotFound, iter_render_wav

    out = args.out or args.input.with_suffix(".wav")
    try:
        song = read_midi(args.input)
    except MidiReadError as exc:
        raise CommandError(str(exc)) from exc
    done = None
    try:
        for event in iter_render_wav(song, out, args.soundfont, args.sample_rate):
            if isinstance(event, RenderDone):
                done = event
            elif not args.quiet and sys.stderr.isatty():
                print(f"\rrendering {event.fraction:4.0%}", end="", file=sys.stderr, flush=True)
    except (SoundfontNotFound, PlaybackError) as exc:
        raise CommandError(str(exc)) from exc
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from exc
    finally:
        if not args.quiet and sys.stderr.isatty():
            print(file=sys.stderr)
    if done is None:  # cannot happen without a cancel flag; never claim a file we did not write
        raise CommandError("rendering stopped before the file was written")
    print(
        f"wrote {done.path} ({done.audio_seconds:.1f} s of audio in {done.elapsed_seconds:.2f} s, "
        f"of which {done.load_seconds:.2f} s loading the soundfont)"
    )
    return 0
