#!/usr/bin/env bash
# The editor's cost per keystroke, as a user types: opens the release binary under Xvfb on the
# embedded quickstart suite, clicks the Warm-up field and types 150 keys (every one leaves a valid
# value, so every one changes the draft and is checked), restores the value, closes through
# File ▸ Quit, and prints the app's --frame-stats: the frames that handled a key press
# ("typing") and the other frames outside runs (key releases, the control: the same window
# without an edit). Their difference is what an edit costs the UI thread.
# Usage: benches/editor_typing.sh [BINARY] [ROUNDS]   Needs: xvfb, xdotool, python3.
# The clicks assume the default 1400×900 window: Warm-up at (112, 367), File at (19, 12), Quit
# at (30, 195).
set -euo pipefail
binary=${1:-target/release/phasebench}
rounds=${2:-3}
display=":$((50 + RANDOM % 40))"
Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
out=$(mktemp -d)
trap 'kill "$xvfb" 2>/dev/null; rm -rf "$out"' EXIT
export DISPLAY=$display
sleep 1
echo "| round | typing frames | typing p50 ms | typing p99 ms | other frames | other p50 ms | other p99 ms |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for round in $(seq 1 "$rounds"); do
    rm -rf "$out/data" "$out/frames.json"
    XDG_DATA_HOME="$out/data" "$binary" --default-suite --results "$out/results" --frame-stats "$out/frames.json" \
        >"$out/app.log" 2>&1 &
    app=$!
    sleep 4
    window=$(xdotool search --sync --name phasebench | head -1)
    xdotool windowfocus --sync "$window"
    xdotool mousemove 112 367 click 1
    sleep 0.3
    xdotool key ctrl+a
    xdotool type --delay 80 "1"
    for _ in $(seq 1 25); do
        xdotool type --delay 80 "234"
        xdotool key --delay 80 BackSpace BackSpace BackSpace
    done
    xdotool key ctrl+a
    xdotool type --delay 80 "20"
    sleep 0.5
    xdotool mousemove 19 12 click 1
    sleep 0.5
    xdotool mousemove 30 195 click 1
    for _ in $(seq 1 20); do [ -s "$out/frames.json" ] && break; sleep 0.5; done
    kill "$app" 2>/dev/null || true
    wait "$app" 2>/dev/null || true
    python3 -c "
import json, sys
d = json.load(open('$out/frames.json'))
print('| $round | {} | {:.2f} | {:.2f} | {} | {:.2f} | {:.2f} |'.format(d['typing_frames'], d['typing_p50_ms'],
      d['typing_p99_ms'], d['other_frames'], d['other_p50_ms'], d['other_p99_ms']))"
done
