"""Qt stops at emostudio/gui: nothing else imports PySide6 or pyqtgraph (STYLE.md rule 2)."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import emostudio

PACKAGE = Path(emostudio.__file__).parent
QT = {"PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6"}
#: gui modules that must stay importable without Qt (the jobs run in the worker, the pure arrays)
QT_FREE_GUI = {"jobs.py", "roll_data.py", "curve.py", "__init__.py"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_module_outside_gui_imports_qt():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        in_gui = relative.parts[0] == "gui"
        if in_gui and relative.name not in QT_FREE_GUI:
            continue
        if imported_roots(path) & QT:
            offenders.append(str(relative))
    assert offenders == []


def test_importing_the_core_and_the_cli_loads_no_qt():
    code = (
        "import sys, emostudio.midi, emostudio.tokens, emostudio.emotion, emostudio.playback, "
        "emostudio.settings, emostudio.cli.main, emostudio.cli.app, emostudio.gui.jobs, emostudio.gui.roll_data, "
        "emostudio.gui.curve; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {QT!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_import_linter_contract_holds():
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists() and shutil.which("lint-imports") is None:
        pytest.skip("import-linter is not installed")
    root = PACKAGE.parent
    out = subprocess.run(
        [str(lint if lint.exists() else "lint-imports")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Qt stops at emostudio.gui KEPT" in out.stdout, out.stdout[-2000:]


def test_import_linter_contract_covers_every_module_outside_gui():
    """A new top-level module is forbidden Qt too only if the contract names it: fail until it does."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = pyproject["tool"]["importlinter"]["contracts"]
    (qt,) = [c for c in contracts if c["name"] == "Qt stops at emostudio.gui"]
    top_level = {
        f"emostudio.{p.stem}" if p.is_file() else f"emostudio.{p.name}"
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    assert top_level - {"emostudio.gui"} == set(qt["source_modules"])
