"""``emostudio prepare DATA_DIR --out CACHE_DIR [--jobs N]``: build the training cache."""

from __future__ import annotations

import argparse
import os

from emostudio.cli.main import CommandError

HELP = "tokenise a folder of MIDI files into a training cache (incremental)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "data_dir", metavar="DATA_DIR", help="folder of MIDI files (with manifest.csv if any)"
    )
    parser.add_argument(
        "--out", required=True, metavar="CACHE_DIR", help="cache folder to create or update"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="worker processes (default: 2, or 1 on a one-core machine)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from emostudio.corpus import CorpusError, Finished, Progress, prepare

    if args.jobs < 1:
        raise CommandError(f"--jobs must be at least 1 (got {args.jobs})")
    bars: dict[str, tqdm] = {}
    report = None
    try:
        for event in prepare(args.data_dir, args.out, jobs=args.jobs):
            if isinstance(event, Progress):
                bar = bars.get(event.stage)
                if bar is None:
                    bar = bars[event.stage] = tqdm(
                        total=event.total,
                        desc=event.stage,
                        unit="file",
                        disable=args.no_progress,
                        leave=False,
                    )
                bar.update(event.done - bar.n)
            elif isinstance(event, Finished):
                report = event.report
    except CorpusError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"{args.out}: cannot write the cache ({exc.strerror or exc})") from None
    finally:
        for bar in bars.values():
            bar.close()
    if report is None:
        raise CommandError("cancelled")
    print(f"cache: {args.out}")
    for line in report.lines():
        print(line)
    return 0
