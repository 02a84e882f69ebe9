"""``emostudio generate``: a new piece in a chosen emotion, as MIDI (and WAV).

``--emotion happy|tense|sad|calm|Q1..Q4`` or ``--valence V --arousal A`` (each in [-1, 1]);
``--bars N``, ``--form AABA|ABAB|...|none`` (phrases that return; default the measured
AABA), ``--cadence C`` (phrase ends on the dominant or tonic triad), ``--variations K`` (OUT-1.mid .. OUT-K.mid, one batch), ``--seed S``, ``--temperature T``, ``--top-p P``, ``--bass B`` (each bar's first note drawn into the bass), ``--model DIR`` (default: the
shipped model), ``--out OUT.mid`` and optionally ``--wav OUT.wav``. Outputs are written only once
everything has succeeded, each atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emostudio.cli.main import seed_value
from emostudio.decoding import (
    DEFAULT_BASS,
    DEFAULT_PEDAL,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
    MAX_BASS,
)

HELP = "generate a new piece in a chosen emotion (MIDI, optionally WAV)"


def add_prior_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prior",
        default="auto",
        choices=("auto", "fitted", "learned"),
        help="the latent prior to sample from: the model folder's fitted prior if it has "
        "one (auto, the default), it or an error (fitted), or the model's own (learned)",
    )


def add_cadence_argument(parser: argparse.ArgumentParser) -> None:
    from emostudio.decoding import DEFAULT_CADENCE

    parser.add_argument(
        "--cadence",
        type=float,
        default=DEFAULT_CADENCE,
        metavar="C",
        help="phrase ends cadence: the notes in the last C of each 4-bar phrase's last bar land "
        "on the dominant (1st, 3rd phrase) or tonic triad (2nd, 4th, the new music's last bar); "
        f"0: none, 1: the whole bar (default {DEFAULT_CADENCE})",
    )


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by the commands that run the engine."""
    parser.add_argument(
        "--model", type=Path, metavar="DIR", help="model folder (default: the shipped model)"
    )
    add_prior_argument(parser)
    parser.add_argument(
        "--device", default="auto", choices=("auto", "cpu", "cuda"), help="default: auto"
    )
    parser.add_argument(
        "--seed", type=seed_value, metavar="S", help="random seed (same seed, same piece)"
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=DEFAULT_TEMPERATURE,
        metavar="T",
        help=f"default {DEFAULT_TEMPERATURE}",
    )
    parser.add_argument(
        "--top-p",
        type=float,
        default=DEFAULT_TOP_P,
        metavar="P",
        help=f"nucleus sampling mass, default {DEFAULT_TOP_P}",
    )
    parser.add_argument(
        "--bass",
        type=float,
        default=DEFAULT_BASS,
        metavar="B",
        help="draw each bar's first note into the bass register (below C3) and hold it longer: "
        f"0 not at all, up to {MAX_BASS:g} (default {DEFAULT_BASS:g})",
    )
    parser.add_argument(
        "--pedal",
        action=argparse.BooleanOptionalAction,
        default=DEFAULT_PEDAL,
        help="sustain pedal on newly written piano parts (changed every bar and at new bass "
        "notes; a continuation only where the piece is pedalled); a piece's own pedalling is "
        "always kept (default: on)",
    )
    parser.add_argument(
        "--out", "-o", type=Path, required=True, metavar="OUT.mid", help="the MIDI file to write"
    )
    parser.add_argument("--wav", type=Path, metavar="OUT.wav", help="also render to this WAV file")
    parser.add_argument("--soundfont", type=Path, metavar="SF", help="soundfont for --wav")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--emotion",
        "-e",
        metavar="EMOTION",
        help="happy, tense, sad, calm, Q1..Q4, or 'valence,arousal'",
    )
    parser.add_argument(
        "--valence", type=float, metavar="V", help="valence in [-1, 1] (with --arousal)"
    )
    parser.add_argument(
        "--arousal", type=float, metavar="A", help="arousal in [-1, 1] (with --valence)"
    )
    parser.add_argument(
        "--bars", type=int, default=16, metavar="N", help="bars to generate, default 16"
    )
    from emostudio.cli.pieces import add_variations_argument
    from emostudio.decoding import DEFAULT_FORM, FORMS

    parser.add_argument(
        "--form",
        default=DEFAULT_FORM,
        choices=tuple(FORMS),
        help=f"4-bar phrases in this form (none: through-composed), default {DEFAULT_FORM}",
    )
    add_cadence_argument(parser)
    add_variations_argument(parser)
    add_model_arguments(parser)


def parse_target(args: argparse.Namespace):
    from emostudio.cli.main import CommandError
    from emostudio.emotion import Emotion, EmotionError

    given_point = args.valence is not None or args.arousal is not None
    if args.emotion is not None and given_point:
        raise CommandError("give either --emotion or --valence/--arousal, not both")
    try:
        if args.emotion is not None:
            return Emotion.parse(args.emotion)
        if args.valence is None or args.arousal is None:
            raise CommandError("give --emotion, or both --valence and --arousal")
        return Emotion(args.valence, args.arousal)
    except EmotionError as exc:
        raise CommandError(str(exc)) from exc


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse outputs that cannot be written before any work is done."""
    from emostudio.cli.main import CommandError

    for path in (args.out, args.wav):
        if path is None:
            continue
        if path.is_dir():
            raise CommandError(f"{path} is a folder, not a file")
        if not path.parent.is_dir():
            raise CommandError(f"cannot write {path}: folder {path.parent} does not exist")
    if args.wav is not None:
        from emostudio.playback import SoundfontNotFound, resolve_soundfont

        try:
            resolve_soundfont(args.soundfont)
        except SoundfontNotFound as exc:
            raise CommandError(str(exc)) from exc


def decoding_settings(args: argparse.Namespace):
    """The :class:`~emostudio.decoding.DecodingSettings` of the options (``--temperature``,
    ``--top-p``, ``--bass``, and ``--continuity`` / ``--latent-temperature`` / ``--rhythm-persistence`` /
    ``--latent-draws`` / ``--cadence`` / ``--pedal`` where a command has them)."""
    from emostudio.cli.main import CommandError
    from emostudio.decoding import DecodingSettings, DecodingSettingsError

    given = {
        name: getattr(args, name)
        for name in (
            "temperature",
            "top_p",
            "bass",
            "continuity",
            "latent_temperature",
            "rhythm_persistence",
            "latent_draws",
            "cadence",
            "pedal",
        )
        if getattr(args, name, None) is not None
    }
    try:
        return DecodingSettings(**given)
    except DecodingSettingsError as exc:
        raise CommandError(str(exc)) from exc


def load_engine(args: argparse.Namespace):
    """The engine of ``--model`` / ``--device`` / ``--prior``, decoding with the options' settings."""
    from emostudio.cli.main import CommandError
    from emostudio.generation import Engine
    from emostudio.model.store import ModelLoadError

    settings = decoding_settings(args)
    try:
        return Engine.load(args.model, device=args.device, settings=settings, prior=args.prior)
    except ModelLoadError as exc:
        raise CommandError(str(exc)) from exc


def run_engine(events, what: str):
    """Drive a generate/transfer generator, showing progress on a terminal; the last song."""
    from emostudio.cli.main import CommandError
    from emostudio.generation import EngineError

    last = None
    show = sys.stderr.isatty()
    try:
        for event in events:
            last = event
            if show:
                print(
                    f"\r{what} bar {event.index + 1}/{event.total}",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
    except EngineError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        if show:
            print(file=sys.stderr)
    if last is None:
        raise CommandError(f"{what} produced nothing")
    return last.song


def write_outputs(song, args: argparse.Namespace) -> None:
    """WAV first (it can fail on the synthesiser), then MIDI: nothing is left half-done."""
    from emostudio.cli.main import CommandError
    from emostudio.midi import write_midi

    if args.wav is not None:
        from emostudio.playback import PlaybackError, SoundfontNotFound, render_wav

        try:
            render_wav(song, args.wav, args.soundfont)
        except (SoundfontNotFound, PlaybackError) as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"cannot write {args.wav}: {exc.strerror or exc}") from exc
    try:
        write_midi(song, args.out)
    except OSError as exc:
        if args.wav is not None:
            args.wav.unlink(missing_ok=True)
        raise CommandError(f"cannot write {args.out}: {exc.strerror or exc}") from exc


def run(args: argparse.Namespace) -> int:
    from emostudio.cli.main import CommandError
    from emostudio.decoding import MAX_BARS

    target = parse_target(args)
    if not 1 <= args.bars <= MAX_BARS:
        raise CommandError(f"--bars must be in 1..{MAX_BARS}, got {args.bars}")
    from emostudio.cli.pieces import check_variations, summary, write_variations

    k = check_variations(args)
    check_outputs(args)
    engine = load_engine(args)
    if k > 1:
        songs = engine.generate_many([target] * k, bars=args.bars, seed=args.seed, form=args.form)
        print(f"{summary(write_variations(songs, args), songs)}, {target}")
        return 0
    song = run_engine(
        engine.generate(target, bars=args.bars, seed=args.seed, form=args.form),
        "generating",
    )
    write_outputs(song, args)
    extra = f" and {args.wav}" if args.wav is not None else ""
    print(f"wrote {args.out}{extra}: {song.n_bars} bars, {song.note_count} notes, {target}")
    return 0
