"""What ``emostudio`` runs: the QApplication, the theme, the main window; the model loads behind it."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from emostudio import __version__
from emostudio.gui.main_window import MainWindow
from emostudio.gui.theme import apply_theme
from emostudio.playback.alsa import route_alsa_errors_to_log
from emostudio.shipped import icon_path

log = logging.getLogger(__name__)

ICON = icon_path()  # in the package (wheel, bundle) or the source checkout


#: Seconds a thread may hold the GIL while another waits for it (Python's default is 0.005). The
#: GUI thread shares the GIL with the model worker; each Qt call releases and re-takes it, so with
#: the default a slot making a dozen Qt calls could wait ~5 ms a call. 1 ms keeps the window smooth
#: during generation (benchmarks/gui_latency.py) at no measurable cost to generation speed.
GIL_SWITCH_INTERVAL = 0.001


def create_app(argv: list[str] | None = None) -> QApplication:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("emostudio")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("emostudio")
    app.setDesktopFileName("emostudio")
    if ICON.is_file():
        app.setWindowIcon(QIcon(str(ICON)))
    apply_theme(app)
    route_alsa_errors_to_log()  # listing MIDI ports or starting audio without a sound card
    return app


#: how often the event loop lets Python run its signal handlers (Qt's loop holds them otherwise)
SIGNAL_POLL_MS = 200


def quit_on_signals(app: QApplication) -> QTimer:
    """Ctrl-C (SIGINT) and SIGTERM close the window and quit the event loop, as the window's own
    Quit does: the normal exit path, so temporary folders are removed. Returns the timer that wakes
    Python up to notice a signal (keep a reference to it)."""

    def on_signal(signum, frame) -> None:
        log.info("signal %d: quitting", signum)
        for widget in app.topLevelWidgets():
            if isinstance(widget, MainWindow):  # no question: the takes are kept for next time
                widget.close_keeping_takes()
        app.closeAllWindows()
        app.quit()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    timer = QTimer()
    timer.timeout.connect(lambda: None)  # a Python call: pending signal handlers run now
    timer.start(SIGNAL_POLL_MS)
    return timer


def run_app(
    files: list[Path] | None = None,
    model_dir: Path | None = None,
    device: str | None = None,
    load_model: bool = True,
) -> int:
    """Open the window at once, then load the model (and any file given) in the background."""
    app = create_app()
    window = MainWindow(model_dir=model_dir, device=device)
    window.show()
    signal_timer = quit_on_signals(app)  # noqa: F841 (kept alive while the loop runs)
    if load_model:
        QTimer.singleShot(0, lambda: window.load_model(window.model.model_dir))
    QTimer.singleShot(0, lambda: window.offer_recovery(reopen_input=not files))
    for path in (files or [])[:1]:
        QTimer.singleShot(0, lambda p=path: window.open_file(Path(p)))
    return app.exec()
