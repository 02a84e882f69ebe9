#!/usr/bin/env bash
# Add emostudio to the desktop's application menu for the current user (after scripts/install.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/scalable/apps"
mkdir -p "$apps" "$icons"
cp "$root/resources/icons/emostudio.svg" "$icons/emostudio.svg"
sed "s|^Exec=emostudio|Exec=$root/.venv/bin/emostudio|" "$root/packaging/emostudio.desktop" > "$apps/emostudio.desktop"
echo "installed $apps/emostudio.desktop"
