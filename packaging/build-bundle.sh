#!/usr/bin/env bash
# Build the self-contained Linux desktop bundle: dist/emostudio/ (PyInstaller one-folder), then
# validate the desktop entry and AppStream metainfo and run the smoke test.
# Usage: packaging/build-bundle.sh [PYTHON]   (PYTHON: an environment with emostudio's
# dependencies and the 'bundle' extra; default .venv/bin/python)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${1:-.venv/bin/python}"
"$python" -c "import PyInstaller" 2>/dev/null || "$python" -m pip install -q "pyinstaller>=6.10"  # the bundle extra
start=$(date +%s)
"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/emostudio.spec
# the desktop files travel with the bundle, for a system package or an install script
mkdir -p dist/emostudio/share/applications dist/emostudio/share/metainfo dist/emostudio/share/icons/hicolor/scalable/apps
cp packaging/emostudio.desktop dist/emostudio/share/applications/
cp packaging/io.github.emostudio.emostudio.metainfo.xml dist/emostudio/share/metainfo/
cp resources/icons/emostudio.svg dist/emostudio/share/icons/hicolor/scalable/apps/
echo "built dist/emostudio in $(( $(date +%s) - start )) s: $(du -sh dist/emostudio | cut -f1)"
if command -v desktop-file-validate >/dev/null; then desktop-file-validate packaging/emostudio.desktop; fi
if command -v appstreamcli >/dev/null; then
    appstreamcli validate --no-net packaging/io.github.emostudio.emostudio.metainfo.xml
fi
bash packaging/smoke-test.sh dist/emostudio
