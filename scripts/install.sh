#!/usr/bin/env bash
# Idempotent install for Debian/Ubuntu: system libraries (apt), a virtual environment in .venv,
# and emostudio with its Python dependencies. Usage: scripts/install.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."
extras="[plots]"  # figures of evaluate and plot
[ "${1:-}" = "--test" ] && extras="[test]"  # includes plots

apt_pkgs=(python3-venv libasound2 libfluidsynth3 fluid-soundfont-gm
          libgl1 libegl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3
          libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxkbcommon-x11-0 xvfb xauth)
# the tests also validate the desktop entry and the AppStream metainfo
[ "${1:-}" = "--test" ] && apt_pkgs+=(desktop-file-utils appstream)
missing=()
for p in "${apt_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch first and pinned, so nothing else pulls a CUDA build.
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".${extras}"
echo "emostudio installed in $(pwd)/.venv"
