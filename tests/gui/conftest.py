"""GUI tests run offscreen (set before any QApplication exists) with settings in a temp folder."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest
from gui_songs import make_song

from emostudio.midi import Song, write_midi


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


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A real model folder with tiny, untrained weights (seeded): fast, and its output is noise."""
    import torch

    from emostudio.model import CDGMVAE, ModelConfig, save_model
    from emostudio.tokens.config import TokenizerConfig

    torch.set_num_threads(1)
    tokenizer_config = TokenizerConfig()
    config = ModelConfig.for_tokenizer(
        tokenizer_config,
        bar_len=48,
        d_model=32,
        n_heads=2,
        n_enc_layers=1,
        n_dec_layers=1,
        latent_r=4,
        latent_k=4,
        feature_hidden=16,
        dropout=0.0,
    )
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("models") / "tiny"
    save_model(CDGMVAE(config), tokenizer_config, folder)
    return folder
