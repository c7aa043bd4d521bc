#!/usr/bin/env bash
# Regenerates the README screenshots under assets/screenshots/ with the release binary in a real
# window under Xvfb: the live view part-way through the quickstart suite, then the compare view
# when it has finished. Needs xvfb, xdotool and imagemagick (apt-get install -y xvfb xdotool imagemagick).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/release/phasebench}
out=$(mktemp -d)
display=":$((50 + RANDOM % 40))"
Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
app=""
trap '[ -n "$app" ] && kill "$app" 2>/dev/null; kill "$xvfb" 2>/dev/null; rm -rf "$out"' EXIT
sleep 1
XDG_DATA_HOME="$out/data" DISPLAY="$display" "$binary" --autorun --default-suite --results "$out/results" \
  --frame-stats "$out/frames.json" >"$out/app.log" 2>&1 &
app=$!
sleep 3.5 # part-way through: a few runs finished, one measuring
window=$(DISPLAY="$display" xdotool search --sync --name phasebench | head -1)
DISPLAY="$display" import -window "$window" assets/screenshots/live.png
for _ in $(seq 1 600); do [ -s "$out/frames.json" ] && break; sleep 0.5; done
sleep 2
DISPLAY="$display" import -window "$window" assets/screenshots/compare.png
echo "wrote assets/screenshots/live.png and assets/screenshots/compare.png"
