#!/usr/bin/env bash
# Regenerates the README screenshots under assets/screenshots/ with the release binary in a real
# window under Xvfb: the live view part-way through the quickstart suite, then the compare view
# when it has finished, then — clicked and typed as a user would, with xdotool — the Decide view,
# the editor with typos outlined on their fields, and the diff of two results picked in History
# after a second run. The app runs in a scratch folder with a relative results folder, so no
# temporary path shows in the pictures. Clicks go to fixed places of the 1400×900 window.
# Needs xvfb, xdotool, imagemagick and python3 (apt-get install -y xvfb xdotool imagemagick python3).
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
# The editor: the first workload, then typos in three fields (each outlined, with its message).
x() { DISPLAY="$display" xdotool "$@"; }
x windowfocus --sync "$window"
x mousemove --window "$window" 76 212 click 1
sleep 0.5
x mousemove --window "$window" 147 583 click 1 key ctrl+a type --delay 40 "1, 8x"
x mousemove --window "$window" 102 467 click 1 key ctrl+a type --delay 40 "51x"
x mousemove --window "$window" 205 385 click 1 key ctrl+a type --delay 40 "matmul"
sleep 1
DISPLAY="$display" import -window "$window" "$shots/editor.png"
# Fixed again (the batch-sizes field moves up as the messages above it go), then a second run.
x mousemove --window "$window" 205 385 click 1 key ctrl+a type --delay 40 "mlp"
x mousemove --window "$window" 102 467 click 1 key ctrl+a type --delay 40 "512"
sleep 0.5
x mousemove --window "$window" 147 583 click 1 key ctrl+a type --delay 40 "1, 8"
sleep 0.5
x key ctrl+r
completed() {
  python3 -c 'import json, sys; print(sum(json.load(open(f)).get("status") == "Completed" for f in sys.argv[1:]))' \
    "$out"/results/*/result.json 2>/dev/null || echo 0
}
for _ in $(seq 1 600); do
  [ "$(completed)" -ge 2 ] && break
  sleep 0.5
done
sleep 1
# History: the older result as before, the newer as after; the diff opens in Compare.
x mousemove --window "$window" 347 35 click 1
sleep 1.5
x mousemove --window "$window" 471 156 click 1
sleep 1.5
x mousemove --window "$window" 530 131 click 1
sleep 2
DISPLAY="$display" import -window "$window" "$shots/diff.png"
echo "wrote live.png, compare.png, decide.png, editor.png and diff.png in $shots"
