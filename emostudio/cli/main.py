"""Entry point: ``emostudio [SUBCOMMAND] ...``; without a subcommand, the desktop app."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys

# subcommand name -> module under emostudio.cli; each module defines ``HELP``, ``add_arguments(p)``
# and ``run(args) -> int``. Modules are imported only when their command runs.
COMMANDS: dict[str, str] = {
    "app": "app",
    "train": "train",
    "fit-prior": "fit_prior",
    "plot": "plot",
    "render": "render",
    "prepare": "prepare",
    "tokens": "tokens",
    "analyze": "analyze",
    "generate": "generate",
    "transfer": "transfer",
    "continue": "continue_piece",
    "fill": "fill",
    "interpolate": "interpolate",
    "evaluate": "evaluate",
}


#: modules only an extra installs -> the extra (``pip install 'emostudio[EXTRA]'``)
OPTIONAL_MODULES = {"matplotlib": "plots", "miditok": "bench"}

#: the exit status of a command whose reader went away (``| head``): 128 + SIGPIPE, as a shell's
EXIT_BROKEN_PIPE = 141

#: the range of ``--seed`` (what a torch generator accepts)
SEED_MAX = 2**64 - 1


def seed_value(text: str) -> int:
    """argparse type of ``--seed``: an integer in [0, SEED_MAX]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"{text} is out of range (0 to {SEED_MAX})")
    return value


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the exit's flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)


class CommandError(Exception):
    """A user-facing error: printed as one line, exit code 1 (or ``code``)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    from emostudio import __version__

    parser = argparse.ArgumentParser(
        prog="emostudio",
        description="Write MIDI music in a chosen emotion and move the emotion of existing pieces.",
    )
    parser.add_argument("--version", action="version", version=f"emostudio {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"emostudio.cli.{module_name}")
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


# a 'valence,arousal' pair whose valence is negative ("-0.5,0.3"): argparse takes it for an option
_NEGATIVE_PAIR = re.compile(r"^-\d*\.?\d+\s*,\s*[-+]?\d*\.?\d+$")


def attach_negative_pairs(argv: list[str]) -> list[str]:
    """``--emotion -0.5,0.3`` as ``--emotion=-0.5,0.3`` (``-e -0.5,0.3`` as ``-e-0.5,0.3``): argparse
    reads a word starting with '-' as an option unless it is a plain negative number, so without
    this the pair was refused ("expected one argument")."""
    out: list[str] = []
    for word in argv:
        prev = out[-1] if out else ""
        option = prev.startswith("-") and "=" not in prev and not _NEGATIVE_PAIR.match(prev)
        if _NEGATIVE_PAIR.match(word) and option and prev != "--":
            out[-1] = f"{prev}={word}" if prev.startswith("--") else prev + word
        else:
            out.append(word)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = attach_negative_pairs(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        args = parser.parse_args([*argv, "app"])  # global options (-v) stay before the command
    try:
        return int(args._module.run(args) or 0)
    except CommandError as exc:
        print(f"emostudio {args.command}: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        if type(exc).__name__ != "OutOfMemoryError":  # torch's, for a GPU (no torch import here)
            raise
        reason = (str(exc).strip().splitlines() or ["out of memory"])[0]
        print(
            f"emostudio {args.command}: error: the GPU ran out of memory ({reason}); "
            "run it on the CPU (--device cpu), or with a smaller batch or model",
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:  # the reader stopped early (``| head``): nothing more to say
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except ModuleNotFoundError as exc:
        extra = OPTIONAL_MODULES.get((exc.name or "").partition(".")[0])
        if extra is None:
            raise
        print(
            f"emostudio {args.command}: error: this needs {exc.name}, which comes with an extra: "
            f"pip install 'emostudio[{extra}]'",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
