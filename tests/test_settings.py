"""App settings: JSON round trip, validation, recent files, corrupt or foreign files -> defaults."""

import json
import logging
from dataclasses import fields

import pytest

from emostudio.jsonconfig import ConfigError
from emostudio.model.config import ModelConfig
from emostudio.settings import (
    CONFIG_DIR_ENV,
    MAX_RECENT_FILES,
    SETTINGS_FORMAT_VERSION,
    Settings,
    SettingsError,
    load_settings,
    save_settings,
    settings_path,
)
from emostudio.tokens import TokenizerConfig
from emostudio.training.config import TrainConfig


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))
    return tmp_path / "config"


def _custom() -> Settings:
    return Settings(
        soundfont="/usr/share/sounds/sf2/FluidR3_GM.sf2",
        output="midi",
        midi_port="Synth A:0",
        device="cpu",
        model_dir="/models/mine",
        last_open_dir="/music/in",
        last_export_dir="/music/out",
        recent_files=("/music/a.mid", "/music/b.mid"),
        window_geometry="AdnQywADAAA=",
        window_state="AAAA/wAAAAD9",
        panel={"bars": 16, "form": "ABAB", "keep": ["melody"]},
        target=(-0.5, 0.25),
        generate_on_pick=True,
    )


def test_round_trip_in_the_config_dir(config_dir):
    settings = _custom()
    path = save_settings(settings)
    assert path == settings_path() == config_dir / "settings.json"
    loaded = load_settings()
    assert loaded == settings
    assert isinstance(loaded.recent_files, tuple)
    data = json.loads(path.read_text())
    assert data["format_version"] == SETTINGS_FORMAT_VERSION
    assert set(data) == {f.name for f in fields(Settings)}
    assert [p.name for p in config_dir.iterdir()] == ["settings.json"]  # no temporary file left


def test_missing_file_gives_defaults_quietly(config_dir, caplog):
    with caplog.at_level(logging.WARNING):
        assert load_settings() == Settings()
    assert caplog.records == []


@pytest.mark.parametrize(
    "content, reason",
    [
        ("{not json", "Expecting property name"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps({"format_version": 99}), "version 99 is not supported"),
        (json.dumps({"output": "speakers"}), "output must be one of"),
        (json.dumps({"device": "tpu"}), "device must be one of"),
        (json.dumps({"colour": "blue"}), "unknown fields"),
        (json.dumps({"recent_files": "a.mid"}), "recent_files must be a list"),
        (json.dumps({"target": [0.5, 2.0]}), "target must be [valence, arousal]"),
        (json.dumps({"target": "happy"}), "target must be [valence, arousal]"),
        (json.dumps({"panel": [16]}), "panel must be a JSON object"),
        (json.dumps({"generate_on_pick": "yes"}), "generate_on_pick must be true or false"),
        (b"\xff\xfe\x00garbage", "codec"),
    ],
)
def test_unusable_file_gives_defaults_with_a_warning_and_keeps_it(
    config_dir, caplog, content, reason
):
    path = config_dir / "settings.json"
    config_dir.mkdir()
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with caplog.at_level(logging.WARNING, logger="emostudio.settings"):
        assert load_settings() == Settings()
    [record] = caplog.records
    assert reason in record.getMessage() and "using the defaults" in record.getMessage()
    backup = config_dir / "settings.json.bad"
    assert backup.exists() and not path.exists()  # the user's file is kept, not overwritten
    save_settings(_custom())
    assert load_settings() == _custom()


def test_recent_files_newest_first_without_repeats_at_most_ten():
    settings = Settings()
    for i in range(12):
        settings = settings.with_recent_file(f"/music/{i}.mid")
    assert len(settings.recent_files) == MAX_RECENT_FILES
    assert (
        settings.recent_files[0] == "/music/11.mid" and settings.recent_files[-1] == "/music/2.mid"
    )
    settings = settings.with_recent_file("/music/5.mid")
    assert settings.recent_files[0] == "/music/5.mid"
    assert settings.recent_files.count("/music/5.mid") == 1 and len(settings.recent_files) == 10
    long = Settings.from_dict({"recent_files": [f"/{i}.mid" for i in range(15)]})
    assert len(long.recent_files) == MAX_RECENT_FILES


def test_settings_are_frozen_and_validated():
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.device = "cuda"
    with pytest.raises(SettingsError, match="device"):
        Settings(device="gpu")
    with pytest.raises(SettingsError, match="soundfont must be a string"):
        Settings.from_dict({"soundfont": 3})


def test_explicit_path_and_atomic_overwrite(tmp_path):
    path = tmp_path / "deep" / "folder" / "s.json"
    save_settings(Settings(device="cuda"), path)
    save_settings(Settings(device="cpu"), path)
    assert load_settings(path).device == "cpu"
    assert sorted(p.name for p in path.parent.iterdir()) == ["s.json"]


@pytest.mark.parametrize(
    "make, what",
    [
        (lambda v: TokenizerConfig(format_version=v), "tokenizer"),
        (lambda v: ModelConfig.for_tokenizer(TokenizerConfig(), format_version=v), "model"),
        (lambda v: TrainConfig(format_version=v), "training"),
        (lambda v: Settings(format_version=v), "settings"),
    ],
)
def test_every_config_refuses_another_format_version_in_the_same_words(make, what):
    with pytest.raises(ConfigError) as raised:
        make(99)
    assert str(raised.value).startswith(f"{what} format version 99 is not supported (this")
