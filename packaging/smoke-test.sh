#!/usr/bin/env bash
# Smoke test of a built bundle: from an empty folder, generate a piece through its CLI with the
# model inside the bundle, then start the app offscreen and end it with SIGTERM. Exits 0 on success.
# Usage: packaging/smoke-test.sh [BUNDLE_DIR]   (default dist/emostudio)
set -euo pipefail
bundle="$(cd "${1:-dist/emostudio}" && pwd)"
exe="$bundle/emostudio"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
unset EMOSTUDIO_MODEL_DIR PYTHONPATH
export QT_QPA_PLATFORM=offscreen HOME="$work"

t0=$(date +%s.%N)
"$exe" --version
t1=$(date +%s.%N)
"$exe" generate --emotion happy --bars 4 --seed 1 --device cpu --out piece.mid
t2=$(date +%s.%N)
test -s piece.mid
"$exe" analyze piece.mid | head -3

"$exe" app --no-model 2> app.log &
pid=$!
sleep 8
kill -0 "$pid"  # still running: the window came up
kill -TERM "$pid"
wait "$pid"   # the app's SIGTERM handler quits cleanly: exit status 0
if grep -q "No module named" app.log; then  # a module loaded by name (a MIDI backend) is missing
    cat app.log >&2
    echo "smoke test failed: the bundle lacks a module the app loads" >&2
    exit 1
fi
t3=$(date +%s.%N)
printf 'smoke test passed: --version %.1f s, generate 4 bars %.1f s, app up and down %.1f s\n' \
    "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$(echo "$t3 - $t2" | bc)"
