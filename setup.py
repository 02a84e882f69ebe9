"""Build step (all metadata is in pyproject.toml): the wheel carries the shipped model and icon.

``models/`` and ``resources/`` stay at the repository's top level; ``build_py`` copies them into
the built package as ``emostudio/_shipped/`` (read by :mod:`emostudio.shipped`). An editable
install needs no copy: the package finds them beside itself.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = {  # source under the repository root -> destination under emostudio/_shipped
    "models/default": "models/default",
    "resources/icons": "resources/icons",
}


class BuildWithShippedFiles(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "emostudio" / "_shipped"
        for source, destination in SHIPPED.items():
            if not (ROOT / source).is_dir():
                raise SystemExit(f"setup.py: {source} is missing; the wheel must ship it")
            shutil.copytree(ROOT / source, target / destination, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithShippedFiles})
