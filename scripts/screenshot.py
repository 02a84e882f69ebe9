"""Take docs/screenshot.png: the main window with a piece loaded, bars 5-8 selected on the piano
roll and filled (``--fill A-B`` selects others); with ``--transfer``: the piece transferred
towards sad instead, for docs/screenshot-transfer.png; with ``--continue``: the piece continued
by ``--bars`` bars, the view on the join.

Run under a real X server (Xvfb), as the README says:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshot.py

The input is a POP909 piece from ../shared/data when that folder is there (it is read, not
copied), else a piece this script writes. The model is the shipped default one unless --model
names another folder. Settings go to a temporary folder, so the user's are left alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_PIECE = ROOT.parent / "shared" / "data" / "pop909" / "001.mid"
SHARED_DONOR = ROOT.parent / "shared" / "data" / "pop909" / "027.mid"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument(
        "--model", type=Path, default=None, help="model folder (default: the shipped model)"
    )
    parser.add_argument(
        "--input", type=Path, default=None, help="MIDI file to load (default: a POP909 piece)"
    )
    parser.add_argument(
        "--donor",
        type=Path,
        default=SHARED_DONOR,
        help="MIDI file shown as the donor piece (default: a POP909 piece, skipped when absent)",
    )
    parser.add_argument("--size", default="1600x1000", help="window size WIDTHxHEIGHT")
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--fill", metavar="A-B", default="5-8", help="the bars (1-based) selected and filled"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--continue",
        dest="continue_piece",
        action="store_true",
        help="continue the piece by --bars bars instead of filling",
    )
    mode.add_argument(
        "--transfer", action="store_true", help="transfer the piece towards sad instead of filling"
    )
    args = parser.parse_args()
    os.environ["EMOSTUDIO_CONFIG_DIR"] = tempfile.mkdtemp(prefix="emostudio-shot-")

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtGui import QGuiApplication

    from emostudio.emotion import Emotion
    from emostudio.gui.app import create_app
    from emostudio.gui.main_window import MainWindow
    from emostudio.midi import write_midi
    from emostudio.settings import Settings

    _app = create_app([sys.argv[0]])  # kept alive for the whole script
    width, height = (int(x) for x in args.size.split("x"))
    window = MainWindow(settings=Settings())
    window.resize(width, height)
    window.move(0, 0)
    window.show()

    def wait_until(condition, what: str, timeout_s: float = 300.0) -> None:
        """Run the event loop (the window stays live) until ``condition()`` or a timeout."""
        loop = QEventLoop()
        poll = QTimer()
        poll.timeout.connect(lambda: condition() and loop.quit())
        poll.start(50)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()
        poll.stop()
        if not condition():
            raise SystemExit(f"screenshot: gave up waiting for {what}: {window.status.message()}")

    window.model.load(args.model)
    wait_until(
        lambda: window.model.engine is not None or "cannot load" in window.status.message(),
        "the model",
    )
    if window.model.engine is None:
        raise SystemExit(f"screenshot: {window.status.message()}")

    piece = args.input or (SHARED_PIECE if SHARED_PIECE.is_file() else None)
    if piece is None:
        sys.path.insert(0, str(ROOT / "tests" / "gui"))
        from gui_songs import make_song

        piece = Path(tempfile.mkdtemp()) / "arpeggio.mid"
        write_midi(make_song(8), piece)
    window.open_file(piece)
    wait_until(lambda: window.document.input_song is not None, "the input piece")
    wait_until(lambda: window.document.input_recognition is not None, "recognising the input")
    if args.donor.exists():  # the donor panel shows a second piece, ready to give its rhythm
        window.files.open_donor(args.donor)
        wait_until(lambda: window.document.donor_song is not None, "the donor piece")

    window.target_panel.pad.set_target(Emotion(-0.62, -0.55))  # sad
    window.transform.set_strength(0.85)
    window.transform.bars_spin.setValue(args.bars)
    window.transform.seed_spin.setValue(args.seed)
    window.listen_box.setChecked(False)
    if args.transfer:
        window.model.transfer(window.transform.options())
    elif args.continue_piece:
        wait_until(window.transform.continue_button.isEnabled, "the Continue button")
        window.transform.continue_button.click()
    else:
        first, last = (int(x) - 1 for x in args.fill.split("-"))
        window.roll.select_bars(first, last)
        wait_until(window.roll.fill_button.isEnabled, "the Fill button")
        window.roll.fill_button.click()
    wait_until(
        lambda: bool(window.document.takes) and window.document.takes[-1].complete, "the take"
    )
    wait_until(lambda: window.document.takes[-1].recognition is not None, "recognising the take")
    window.roll.frame()
    if args.transfer:
        window.roll.set_playhead(9.0)
    elif args.continue_piece:
        end = window.document.input_song.n_bars
        window.roll.main.view.setXRange((end - 6) * 4, (end + args.bars) * 4, padding=0)
    else:
        window.roll.frame_bars(args.bars)
    window.target_panel.pad.setFocus()
    wait_until(lambda: not window.workers.active, "the workers")
    QTimer.singleShot(300, lambda: None)
    wait_until(lambda: True, "a repaint", 0.3)

    screen = QGuiApplication.primaryScreen()
    if QGuiApplication.platformName() == "xcb":
        image = screen.grabWindow(
            0, 0, 0, window.frameGeometry().width(), window.frameGeometry().height()
        )
    else:
        image = window.grab()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(args.out)):
        raise SystemExit(f"screenshot: cannot write {args.out}")
    print(
        f"wrote {args.out} ({image.width()}x{image.height()}, platform {QGuiApplication.platformName()})"
    )
    window.document.takes.clear()  # nothing to ask about on close: this was a demonstration
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
