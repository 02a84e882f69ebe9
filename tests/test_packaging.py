"""The wheel is the app, and the desktop files pass their validators.

The wheel test builds the wheel from a copy of the source tree, installs it with ``--no-deps``
into a fresh venv that borrows this environment's dependencies through a ``.pth`` file (a full
install of torch and PySide6 would take minutes), and generates a piece from another folder with
the model that came inside the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "runs", "cache", "*.egg-info", "__pycache__", ".*_cache"
)


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMOSTUDIO_", "PYTHON"))}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_generates_from_another_folder(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=SKIP)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(source),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
        ],
        check=True,
        env=_clean_env(),
    )
    (wheel,) = wheels.glob("emostudio-*.whl")

    fresh = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(fresh)
    python = fresh / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # the dependencies come from this environment; emostudio itself only from the wheel
    (purelib / "borrowed_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        check=True,
        env=_clean_env(),
    )

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [str(python), "-c", "import emostudio; print(emostudio.__file__)"],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
        env=_clean_env(),
    ).stdout.strip()
    assert Path(where).is_relative_to(fresh), where
    done = subprocess.run(
        [
            str(fresh / "bin" / "emostudio"),
            "generate",
            "--emotion",
            "happy",
            "--bars",
            "2",
            "--seed",
            "1",
            "--device",
            "cpu",
            "--out",
            "piece.mid",
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (elsewhere / "piece.mid").stat().st_size > 0
    shipped = purelib / "emostudio" / "_shipped"
    assert (shipped / "models" / "default" / "model.safetensors").is_file()
    assert (shipped / "resources" / "icons" / "emostudio.svg").is_file()


def _validator(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt packages appstream, desktop-file-utils)")
    return path


def test_desktop_entry_passes_desktop_file_validate():
    done = subprocess.run(
        [_validator("desktop-file-validate"), str(ROOT / "packaging" / "emostudio.desktop")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_metainfo_passes_appstreamcli_validate():
    metainfo = ROOT / "packaging" / "io.github.emostudio.emostudio.metainfo.xml"
    done = subprocess.run(
        [_validator("appstreamcli"), "validate", "--no-net", "--pedantic", str(metainfo)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


BUNDLE = ROOT / "dist" / "emostudio"


@pytest.mark.skipif(
    not (BUNDLE / "emostudio").is_file(),
    reason="no built bundle (packaging/build-bundle.sh builds dist/emostudio in ~10 min)",
)
def test_the_built_bundle_passes_its_smoke_test():
    done = subprocess.run(
        ["bash", str(ROOT / "packaging" / "smoke-test.sh"), str(BUNDLE)],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "smoke test passed" in done.stdout
