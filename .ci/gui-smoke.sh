#!/usr/bin/env bash
# Opens the release binary in a real window under Xvfb with --autorun on the embedded default
# suite, waits until the suite has finished (the app writes its frame statistics then), takes a
# screenshot of the screen and fails if the window died, the suite did not complete or the
# screenshot is blank. Usage: .ci/gui-smoke.sh [BINARY] [OUT_DIR]
set -euo pipefail
binary=${1:-target/release/phasebench}
out=${2:-$(mktemp -d)}
mkdir -p "$out"
display=":$((50 + RANDOM % 40))"

Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp >"$out/xvfb.log" 2>&1 &
xvfb=$!
app=""
cleanup() { [ -n "$app" ] && kill "$app" 2>/dev/null; kill "$xvfb" 2>/dev/null; true; }
trap cleanup EXIT
sleep 1

# A fresh data folder: no remembered suite or window state from earlier runs.
XDG_DATA_HOME="$out/data" DISPLAY="$display" "$binary" --autorun --default-suite \
  --results "$out/results" --frame-stats "$out/frames.json" >"$out/app.log" 2>&1 &
app=$!

for _ in $(seq 1 600); do
  [ -s "$out/frames.json" ] && break
  if ! kill -0 "$app" 2>/dev/null; then
    echo "the window died before the suite finished; its log:" >&2
    cat "$out/app.log" >&2
    exit 1
  fi
  sleep 0.5
done
[ -s "$out/frames.json" ] || { echo "the suite did not finish within 300 s" >&2; exit 1; }
sleep 2 # let the compare view draw
kill -0 "$app" 2>/dev/null || { echo "the window died after the suite finished" >&2; cat "$out/app.log" >&2; exit 1; }
DISPLAY="$display" import -window root "$out/screenshot.png"

result=$(ls "$out"/results/*/result.json)
grep -q '"status": "Completed"' "$result" || { echo "the suite did not complete: $result" >&2; exit 1; }
# A blank (single-colour) screen has no spread; the app's panels, text and plots do.
spread=$(convert "$out/screenshot.png" -colorspace Gray -format '%[fx:standard_deviation]' info:)
colours=$(convert "$out/screenshot.png" -format '%k' info:)
echo "screenshot $out/screenshot.png: grey spread $spread, $colours colours"
awk -v s="$spread" -v c="$colours" 'BEGIN { exit !(s > 0.03 && c > 50) }' || { echo "the screenshot is blank" >&2; exit 1; }
stats=$(tr -d '\n ' <"$out/frames.json" | grep -oE '"(frames|p50_ms|p99_ms|max_ms|frames_over_16_ms)":[0-9.]+' | tr '\n' ' ')
echo "frame times while running: $stats"

# The startup probe the gui_overhead bench relies on: the app draws a frame, writes the time and
# closes itself.
kill "$app" 2>/dev/null; wait "$app" 2>/dev/null || true; app=""
before=$(date +%s%N)
XDG_DATA_HOME="$out/data-startup" DISPLAY="$display" timeout 60 "$binary" gui --default-suite \
  --first-frame-file "$out/first-frame" >"$out/startup.log" 2>&1 \
  || { echo "the startup probe did not close the window by itself" >&2; cat "$out/startup.log" >&2; exit 1; }
drawn=$(cat "$out/first-frame")
[ "$drawn" -gt "$before" ] || { echo "bad first-frame time: $drawn" >&2; exit 1; }
echo "startup to first frame: $(( (drawn - before) / 1000000 )) ms"
