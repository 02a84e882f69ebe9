"""``emostudio app`` (and ``emostudio`` alone): the desktop app."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from emostudio.cli.main import CommandError

HELP = "open the desktop app (the default command)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="*",
        type=Path,
        help="a MIDI file to open as the input, or a saved session (.emostudio)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="DIR",
        help="model folder to load (default: the shipped model, or the one last chosen)",
    )
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default=None,
        help="where the model runs (default: as last chosen, else auto)",
    )
    parser.add_argument("--no-model", action="store_true", help="start without loading a model")


def display_problem(environ=None, platform: str | None = None) -> str | None:
    """Why the app cannot open a window here (one line), or ``None``.

    On Linux without ``$DISPLAY`` or ``$WAYLAND_DISPLAY`` (and no ``QT_QPA_PLATFORM`` chosen), Qt
    would abort (SIGABRT) blaming a missing libxcb-cursor0, whatever is really wrong."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux") or environ.get("QT_QPA_PLATFORM"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "no display: the desktop app needs a graphical session ($DISPLAY or $WAYLAND_DISPLAY); "
        "the command-line tools work without one (emostudio --help)"
    )


def run(args: argparse.Namespace) -> int:
    problem = display_problem()
    if problem is not None:
        raise CommandError(problem)
    for path in args.files:
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
    if args.model is not None and not args.model.is_dir():
        raise CommandError(f"{args.model}: not a model folder")
    try:
        from emostudio.gui.app import run_app
    except ImportError as exc:  # PySide6 / pyqtgraph missing, or a Qt library of the system
        raise CommandError(f"the desktop app cannot start: {exc}") from exc
    return run_app(
        files=list(args.files),
        model_dir=args.model,
        device=args.device,
        load_model=not args.no_model,
    )
