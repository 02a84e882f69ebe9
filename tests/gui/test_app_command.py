"""``emostudio app``: arguments, clear errors, and the window it opens."""

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from emostudio.cli.main import CommandError, build_parser
from emostudio.gui.main_window import MainWindow


def _args(*argv):
    return build_parser().parse_args(["app", *argv])


def test_missing_files_and_model_folders_are_one_line_errors(tmp_path):
    from emostudio.cli import app

    with pytest.raises(CommandError, match="no such file"):
        app.run(_args(str(tmp_path / "nope.mid")))
    with pytest.raises(CommandError, match="not a model folder"):
        app.run(_args("--model", str(tmp_path / "nothing")))


def test_the_window_opens_at_once_and_loads_the_file(qtbot, monkeypatch, midi_file, tiny_model_dir):
    from emostudio.cli import app

    seen = {}
    earlier = set(QApplication.topLevelWidgets())  # windows of earlier tests not yet deleted

    def fake_exec():  # instead of the event loop: look at the window, let the jobs finish, close
        window = next(
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, MainWindow) and w not in earlier
        )
        seen["visible_at_once"] = window.isVisible()
        qtbot.waitUntil(
            lambda: window.model.engine is not None and window.document.input_song is not None,
            timeout=20_000,
        )
        seen["model"] = window.model.engine.model_dir
        seen["input"] = window.document.input_path
        monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
        window.close()
        window.deleteLater()
        return 0

    monkeypatch.setattr(QApplication, "exec", staticmethod(fake_exec))
    assert app.run(_args(str(midi_file), "--model", str(tiny_model_dir), "--device", "cpu")) == 0
    assert seen == {"visible_at_once": True, "model": tiny_model_dir, "input": midi_file}
