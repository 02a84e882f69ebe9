"""Entry point: ``emostudio [SUBCOMMAND] ...``; without a subcommand, the desktop app."""

from __future__ import annotations

import argparse
import importlib
import logging
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
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


if __name__ == "__main__":
    raise SystemExit(main())
