#!/usr/bin/env bash
# The browser test of `learnsim view` (issue #27): quick runs of water-drop-2d and
# kolmogorov-2d, the viewer serving them, and headless Chromium driven by Playwright
# (crates/learnsim-view/tests/browser/view.test.mjs) clicking through the leaderboard and both
# run pages and checking the canvases' pixels against the playback files.
# Installs what it needs: Debian's chromium (apt, as root or through sudo) and playwright-core
# (npm ci; it drives the system's Chromium and downloads no browser).
# Usage: scripts/browser_test.sh [LEARNSIM_BINARY]   (default target/debug/learnsim, which
# `cargo test --workspace` builds). Screenshots: target/view-browser-test/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-target/debug/learnsim}"
[ -x "$BIN" ] || { echo "scripts/browser_test.sh: no learnsim binary at $BIN (run cargo test or cargo build first)" >&2; exit 1; }

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "scripts/browser_test.sh: installing Debian's chromium" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
export CHROMIUM

TEST_DIR=crates/learnsim-view/tests/browser
if [ ! -d "$TEST_DIR/node_modules/playwright-core" ]; then
  (cd "$TEST_DIR" && npm ci --silent --no-audit --no-fund)
fi

WORK=target/view-browser-test
rm -rf "$WORK"
mkdir -p "$WORK/runs"
"$BIN" -q run water-drop-2d --quick --out "$WORK/runs/water-drop-2d" >/dev/null
"$BIN" -q run kolmogorov-2d --quick --out "$WORK/runs/kolmogorov-2d" >/dev/null
# The static export, which the test opens from disk.
"$BIN" -q view --export "$WORK/runs/water-drop-2d" "$WORK/water-drop-2d.html" >/dev/null

"$BIN" view --root "$WORK/runs" --port 0 >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
URL=""
for _ in $(seq 100); do
  URL=$(grep -o 'http://127.0.0.1:[0-9]*/' "$WORK/server.log" || true)
  [ -n "$URL" ] && break
  kill -0 $SERVER 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { echo "scripts/browser_test.sh: the viewer did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }

node "$TEST_DIR/view.test.mjs" "$URL" "$WORK/runs" "$WORK/screenshots"
