#!/usr/bin/env bash
# Regenerates the README screenshots under assets/screenshots/ with the release binary in a real
# window under Xvfb: the live view part-way through the quickstart suite, then the compare view
# when it has finished, then the Decide view (clicked as a user would, with xdotool). The app runs
# in a scratch folder with a relative results folder, so no temporary path shows in the pictures.
# Needs xvfb, xdotool and imagemagick (apt-get install -y xvfb xdotool imagemagick).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "${1:-target/release/phasebench}")
shots=$(pwd)/assets/screenshots
out=$(mktemp -d)
display=":$((50 + RANDOM % 40))"
Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
app=""
trap '[ -n "$app" ] && kill "$app" 2>/dev/null; kill "$xvfb" 2>/dev/null; rm -rf "$out"' EXIT
sleep 1
(cd "$out" && XDG_DATA_HOME="$out/data" DISPLAY="$display" exec "$binary" --autorun --default-suite \
  --results results --frame-stats frames.json >app.log 2>&1) &
app=$!
sleep 3.5 # part-way through: a few runs finished, one measuring
window=$(DISPLAY="$display" xdotool search --sync --name phasebench | head -1)
DISPLAY="$display" import -window "$window" "$shots/live.png"
for _ in $(seq 1 600); do [ -s "$out/frames.json" ] && break; sleep 0.5; done
sleep 2
DISPLAY="$display" import -window "$window" "$shots/compare.png"
# The toolbar's "Decide" tab (its place in the window's fixed toolbar).
DISPLAY="$display" xdotool mousemove --window "$window" 282 35 click 1
sleep 1
DISPLAY="$display" import -window "$window" "$shots/decide.png"
echo "wrote live.png, compare.png and decide.png in $shots"
