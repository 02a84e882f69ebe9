"""Labels fit at the default window size (issue 15: "Whole piece" was cut to "Whole piec")."""

import pytest
from gui_songs import make_song


@pytest.mark.parametrize("font_scale", [1.0, 1.25])
def test_every_button_and_box_label_fits_at_the_default_size(qtbot, font_scale):
    from PySide6.QtWidgets import QAbstractButton, QApplication

    from emostudio.gui.main_window import MainWindow
    from emostudio.gui.theme import apply_theme

    app = QApplication.instance()
    apply_theme(app)  # as the app starts (the style sets the widgets' sizes), whatever ran before
    font = app.font()
    scaled = type(font)(font)
    scaled.setPointSizeF(font.pointSizeF() * font_scale)
    app.setFont(scaled)
    try:
        window = MainWindow()
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        assert (window.width(), window.height()) == (1500, 900)
        cut = [
            (button.text(), button.width(), button.sizeHint().width())
            for button in window.findChildren(QAbstractButton)
            if button.isVisible() and button.text() and button.width() < button.sizeHint().width()
        ]
        assert cut == []
        whole = window.transform.whole_box
        assert whole.isVisible() and whole.width() >= whole.sizeHint().width()
        # the settings may scroll; the buttons that act on them are always in view, whole
        for button in (window.transform.generate_button, window.transform.transfer_button):
            assert button.visibleRegion().boundingRect().size() == button.size(), button.text()
        # the roll's note counts beside the legend, Fill and Continue (a 4-digit piece): what
        # is shown fits, shortened rather than cut
        big = make_song(400)
        window.roll.set_input(big)
        window.roll.set_take(big)
        summary = window.roll.summary
        assert summary.text().startswith(f"{big.note_count:,} → {big.note_count:,}")
        assert summary.fontMetrics().horizontalAdvance(summary.text()) <= summary.width()
    finally:
        app.setFont(font)


def test_the_app_routes_alsa_messages_to_the_log(monkeypatch):
    import emostudio.gui.app as gui_app

    called = []
    monkeypatch.setattr(gui_app, "route_alsa_errors_to_log", lambda: called.append(True))
    gui_app.create_app()
    assert called == [True]


def test_the_input_and_donor_boxes_show_every_line_of_a_long_description(qtbot):
    """A piece with a long file name, pedalled, stating its key and heard: the boxes grow to
    their text at the window's width (their last line was cut) and the name wraps."""
    from dataclasses import replace
    from types import SimpleNamespace

    from PySide6.QtWidgets import QApplication

    from emostudio.emotion import Emotion
    from emostudio.gui.input_panel import describe_input
    from emostudio.gui.main_window import MainWindow
    from emostudio.gui.theme import apply_theme
    from emostudio.midi import ControlChange
    from emostudio.midi.song import KeySignature

    apply_theme(QApplication.instance())
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    song = make_song(32)
    pedal = (ControlChange(0, 64, 127), ControlChange(480, 64, 0))
    song = replace(
        song.with_tracks([replace(song.tracks[0], controls=pedal), *song.tracks[1:]]),
        key_signatures=(KeySignature(0, -3), KeySignature(1920, 0, True)),
    )
    name = "Castlevania_2_Simons_Quest_BloodyTears_arranged.mid"
    text = describe_input(name, song, SimpleNamespace(emotion=Emotion(-0.83, 0.91)))
    window.input_panel.label.setText(text)
    window.donor_panel.set_donor(text)
    qtbot.wait(50)
    for label in (window.input_panel.label, window.donor_panel.label):
        needed = label.heightForWidth(label.width())
        assert label.height() >= needed, (label.height(), needed)
        assert (
            label.sizeHint().width() <= label.width()
            or label.minimumSizeHint().width() <= label.width()
        )
