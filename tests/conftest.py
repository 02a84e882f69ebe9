"""Shared test set-up: hypothesis settings, the shared-corpus fixture, and ``tests/songs.py`` helpers.

Test modules import the helpers directly (``import songs`` / ``from songs import ...``): pytest puts
this folder on ``sys.path``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Deterministic and without per-example deadlines: the machine is shared and its timing noisy.
settings.register_profile(
    "emostudio", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("emostudio")

#: the training corpus beside the repository (tests that need it are marked ``corpus``)
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip the test when it is absent."""
    if not (SHARED_DATA / "manifest.csv").is_file():
        pytest.skip(f"shared corpus not found at {SHARED_DATA}")
    return SHARED_DATA
