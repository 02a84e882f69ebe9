"""How long saving and opening a session file takes (File ▸ Save session / Open session), and its
size, for a session of real pieces: POP909 001 (1,556 notes) as the input and K takes of it.

    PYTHONPATH=. .venv/bin/python benchmarks/session_file.py --data ../shared/data [--takes 8]

Both run in a worker in the app; the figures say how long the status bar shows "saving…".
Baseline in the same run: File ▸ Export all takes (the same takes written as .mid files, one
``write_midi`` each). Median of --repeats runs each; a markdown row per take count.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from emostudio.emotion import Emotion
from emostudio.gui.document import Take
from emostudio.gui.session_file import SessionContents, read_session_file, write_session_file
from emostudio.midi import read_midi, write_midi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--takes", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    piece = read_midi(args.data / "pop909" / "001.mid")
    print(f"input: {piece.note_count} notes, {piece.n_bars} bars; median of {args.repeats}")
    print(
        "| takes | export all takes s | save session s | save / export | open session s | file KB |"
    )
    print("|---|---|---|---|---|---|")
    folder = Path(tempfile.mkdtemp())
    for count in args.takes:
        takes = [
            Take(i + 1, f"{i + 1} · happy", "transfer", Emotion(0.8, 0.8), piece, complete=True)
            for i in range(count)
        ]
        contents = SessionContents(piece, Path("001.mid"), takes=takes, current=0)
        path = folder / f"s{count}.emostudio"
        saves, opens, exports = [], [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for take in takes:
                write_midi(take.song, folder / f"take-{take.number}.mid")
            exports.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            write_session_file(path, contents)
            saves.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            back = read_session_file(path)
            opens.append(time.perf_counter() - t0)
            assert len(back.takes) == count
        size = path.stat().st_size / 1024
        save, export = statistics.median(saves), statistics.median(exports)
        print(
            f"| {count} | {export:.3f} | {save:.3f} | {save / export:.2f} "
            f"| {statistics.median(opens):.3f} | {size:.0f} |"
        )


if __name__ == "__main__":
    main()
