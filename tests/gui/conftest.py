"""GUI tests run offscreen (set before any QApplication exists) with settings in a temp folder."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402

from emostudio.midi import Song, write_midi  # noqa: E402
from gui_songs import make_song  # noqa: E402


@pytest.fixture(autouse=True)
def _config_dir(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    monkeypatch.setenv("EMOSTUDIO_CONFIG_DIR", str(config))
    return config


@pytest.fixture
def song() -> Song:
    return make_song()


@pytest.fixture
def midi_file(tmp_path, song):
    path = tmp_path / "arpeggio.mid"
    write_midi(song, path)
    return path
