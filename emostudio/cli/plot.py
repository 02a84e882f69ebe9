"""``emostudio plot RUN_DIR``: draw a training run's loss and accuracy curves to a PNG."""

from __future__ import annotations

import argparse

HELP = "draw the loss and accuracy curves of a training run to PNG"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="run folder written by 'emostudio train'")
    p.add_argument("--out", help="PNG path (default: RUN_DIR/curves.png)")


def run(args) -> int:
    from emostudio.cli.main import CommandError
    from emostudio.training.plot import plot_run

    try:
        path = plot_run(args.run_dir, args.out)
    except (FileNotFoundError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    print(path)
    return 0
