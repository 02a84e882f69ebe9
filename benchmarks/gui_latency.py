"""Event-loop latency of the desktop app while the model generates (the window must never freeze).

A QTimer probe fires every 10 ms on the GUI thread; its lateness (time since the last tick minus
10 ms) is how long the event loop was kept from running. Measured in the same run:

- **baseline**: the window idle (nothing loaded), the probe alone;
- **loading the model**: the window up while the worker imports torch and loads the model (once
  per run: the first thing the app does after its window shows);
- **generating**: the window generating a take with the model, drawing it in the piano roll as bars
  arrive and playing it at once into a recording MIDI sink (the player's thread running too);
- **transfer**: a transfer of a piece (the same path through the worker).

Usage: ``.venv/bin/python benchmarks/gui_latency.py [--model DIR] [--bars 16] [--repeats 3]``
(offscreen Qt; the default model unless --model names another folder).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["EMOSTUDIO_CONFIG_DIR"] = tempfile.mkdtemp(prefix="emostudio-bench-")

PROBE_MS = 10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--verbose", action="store_true", help="list the ticks later than 20 ms")
    parser.add_argument(
        "--untuned",
        action="store_true",
        help="for comparison: Python's default 5 ms GIL switch interval and workers at normal priority",
    )
    args = parser.parse_args()

    import numpy as np
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    from emostudio.emotion import Emotion
    from emostudio.gui.app import create_app
    from emostudio.gui.main_window import MainWindow
    from emostudio.midi import Note, Song, TempoChange, Track, write_midi
    from emostudio.playback import RecordingSink
    from emostudio.settings import Settings

    app = create_app([sys.argv[0]])
    if args.untuned:
        from emostudio.gui import worker

        sys.setswitchinterval(0.005)
        worker.WORKER_NICENESS = 0
    window = MainWindow(settings=Settings())
    window.resize(1600, 1000)
    window.show()

    def run_until(condition, timeout_s=600.0):
        loop = QEventLoop()
        poll = QTimer()
        poll.timeout.connect(lambda: condition() and loop.quit())
        poll.start(5)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()
        poll.stop()
        if not condition():
            raise SystemExit(f"gui_latency: timed out: {window.status.message()}")

    class Probe:
        def __init__(self):
            self.clock = QElapsedTimer()
            self.timer = QTimer()
            self.timer.setInterval(PROBE_MS)
            self.timer.timeout.connect(self.tick)
            self.lateness: list[float] = []

        def start(self):
            self.lateness = []
            self.clock.start()
            self.last = self.clock.nsecsElapsed()
            self.timer.start()

        def tick(self):
            now = self.clock.nsecsElapsed()
            self.lateness.append(max(0.0, (now - self.last) / 1e6 - PROBE_MS))
            self.last = now

        def stop(self) -> list[float]:
            self.timer.stop()
            return self.lateness

    probe = Probe()
    probe.start()  # the window is up; torch is imported and the model loaded in the worker
    t0 = time.perf_counter()
    window.model.load(args.model)
    run_until(lambda: window.model.engine is not None or "cannot load" in window.status.message())
    loading, loading_wall = probe.stop(), time.perf_counter() - t0
    if window.model.engine is None:
        raise SystemExit(f"gui_latency: {window.status.message()}")
    window.playback.set_sink(RecordingSink())
    window.transform.bars_spin.setValue(args.bars)
    window.transform.seed_spin.setValue(1)

    results: dict[str, list[float]] = {
        "baseline (idle)": [],
        "loading the model (once)": loading,
        "generating + playing": [],
        "transfer": [],
    }
    walls: dict[str, list[float]] = {k: [] for k in results}
    walls["loading the model (once)"].append(loading_wall)
    piece = Path(tempfile.mkdtemp()) / "piece.mid"
    notes = tuple(
        Note(48 + (b * 5 + i * 7) % 30, b * 1920 + i * 240, b * 1920 + (i + 2) * 240, 70 + i * 5)
        for b in range(args.bars)
        for i in range(8)
    )
    write_midi(
        Song(tracks=(Track(program=0, notes=notes),), tempos=(TempoChange(0, 110.0),)), piece
    )
    window.open_file(piece)
    run_until(lambda: window.document.input_song is not None and not window.workers.active)

    load_before = f"{os.getloadavg()[0]:.2f}"
    for _ in range(args.repeats):
        probe.start()
        t0 = time.perf_counter()
        run_until(lambda t0=t0: time.perf_counter() - t0 >= args.idle_seconds)
        results["baseline (idle)"] += probe.stop()
        walls["baseline (idle)"].append(time.perf_counter() - t0)

        window.listen_box.setChecked(True)
        window.target_panel.pad.set_target(Emotion(0.7, 0.6))
        probe.start()
        t0 = time.perf_counter()
        window.model.generate(window.transform.options())
        run_until(lambda: window.document.takes[-1].complete)
        results["generating + playing"] += probe.stop()
        walls["generating + playing"].append(time.perf_counter() - t0)
        window.playback.stop()
        run_until(lambda: not window.workers.active)

        window.listen_box.setChecked(False)
        window.target_panel.pad.set_target(Emotion(-0.6, -0.6))
        probe.start()
        t0 = time.perf_counter()
        window.model.transfer(window.transform.options())
        run_until(lambda: window.document.takes[-1].complete)
        results["transfer"] += probe.stop()
        walls["transfer"].append(time.perf_counter() - t0)
        run_until(lambda: not window.workers.active)

    base = results["baseline (idle)"]
    base_p95 = float(np.percentile(base, 95))
    print(f"load average before/after: {load_before} / {os.getloadavg()[0]:.2f}")
    print(
        f"{'UNTUNED ' if args.untuned else ''}model {window.model.engine.model_dir} on {window.model.engine.device}; "
        f"{args.bars} bars, {args.repeats} repeats;"
        f" probe every {PROBE_MS} ms; lateness in ms"
    )
    print(
        "| condition | median | p95 | p99 | max | ticks | ticks > 50 ms | wall s (median) | p95 / baseline p95 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, values in results.items():
        v = np.asarray(values)
        ratio = float(np.percentile(v, 95)) / base_p95 if base_p95 > 0 else float("nan")
        print(
            f"| {name} | {np.median(v):.2f} | {np.percentile(v, 95):.2f} | {np.percentile(v, 99):.2f} | "
            f"{v.max():.2f} | {len(v)} | {int((v > 50).sum())} | {statistics.median(walls[name]):.2f} | {ratio:.2f} |"
        )
        if args.verbose:
            print(
                "   late ticks (index: ms):",
                [(i, round(x, 1)) for i, x in enumerate(values) if x > 20],
            )
    window.document.takes.clear()
    window.close()
    app.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
